"""Readline (HMP) monitors on their chardevs: ``-monitor``, ``-mon
mode=readline``.

A monitor whose chardev can carry bytes (a socket server or client, a
pty, stdio) is served as QEMU serves it: the banner and ``(qemu) `` prompt
when the chardev opens (each client of a socket server), QEMU's readline
(util/readline.c: the echo and redraw escape sequences byte for byte, line
editing, history) and the commands of memdevd's HMP
(:func:`memdevd.commands.hmp.run_command_line`), ``\\n`` sent as ``\\r\\n``
(monitor_puts).  Tab completion is not emulated (the tab is ignored).
On other chardevs (null, file, ringbuf...) the output would go nowhere
a client could read it, so nothing is served.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from typing import Any

READLINE_CMD_BUF_SIZE = 4095
READLINE_MAX_CMDS = 64
PROMPT = "(qemu) "
_NORM, _ESC, _CSI, _SS3 = range(4)


class ReadLine:
    """util/readline.c's ReadLineState: what it prints for each byte."""

    def __init__(
        self, out: Callable[[str], None], run: Callable[[str], None], ctrl_npu: bool = True
    ) -> None:
        self.out = out
        # ^N, ^P and ^U (Release.readline_ctrl_npu).
        self.ctrl_npu = ctrl_npu
        self.run = run
        self.buf: list[str] = []
        self.index = 0
        self.last: list[str] = []
        self.last_index = 0
        self.esc_state = _NORM
        self.esc_param = 0
        self.history: list[str] = []
        self.hist_entry = -1

    def restart(self) -> None:
        self.buf, self.index = [], 0

    def show_prompt(self) -> None:
        self.out(PROMPT)
        self.last, self.last_index = [], 0
        self.esc_state = _NORM

    def handle_byte(self, ch: int) -> None:
        state = self.esc_state
        if state == _NORM:
            self._norm(ch)
        elif state == _ESC:
            if ch == ord("["):
                self.esc_state, self.esc_param = _CSI, 0
            elif ch == ord("O"):
                self.esc_state, self.esc_param = _SS3, 0
            else:
                self.esc_state = _NORM
        elif state == _CSI:
            c = chr(ch)
            if c in "AF":
                self._up()
            elif c in "BE":
                self._down()
            elif c == "D":
                self.index = max(self.index - 1, 0)
            elif c == "C":
                self.index = min(self.index + 1, len(self.buf))
            elif c.isdigit():
                self.esc_param = self.esc_param * 10 + int(c)
                self._update()
                return
            elif c == "~":
                if self.esc_param == 1:
                    self.index = 0
                elif self.esc_param == 3:
                    self._delete()
                elif self.esc_param == 4:
                    self.index = len(self.buf)
            self.esc_state = _NORM
        else:  # SS3
            if ch == ord("F"):
                self.index = len(self.buf)
            elif ch == ord("H"):
                self.index = 0
            self.esc_state = _NORM
        self._update()

    def _norm(self, ch: int) -> None:
        if ch == 1:
            self.index = 0
        elif ch == 4:
            self._delete()
        elif ch == 5:
            self.index = len(self.buf)
        elif ch in (10, 13):
            line = "".join(self.buf)
            self._hist_add(line)
            self.out("\n")
            self.buf, self.index, self.last, self.last_index = [], 0, [], 0
            self.run(line)
        elif ch == 14 and self.ctrl_npu:
            self._down()
        elif ch == 16 and self.ctrl_npu:
            self._up()
        elif ch == 21 and self.ctrl_npu:
            while self.index > 0:
                self.index -= 1
                self._delete()
        elif ch == 23:
            self._backword()
        elif ch == 27:
            self.esc_state = _ESC
        elif ch in (127, 8):
            if self.index > 0:
                self.index -= 1
                self._delete()
        elif ch == 155:
            self.esc_state = _CSI
        elif ch >= 32 and ch not in (9, 12) and len(self.buf) < READLINE_CMD_BUF_SIZE:
            self.buf.insert(self.index, chr(ch))
            self.index += 1

    def _delete(self) -> None:
        if self.index < len(self.buf):
            del self.buf[self.index]

    def _backword(self) -> None:
        if self.index == 0 or self.index > len(self.buf):
            return
        start = self.index - 1
        while start > 0 and self.buf[start].isspace():
            start -= 1
        while start > 0:
            if self.buf[start].isspace():
                start += 1
                break
            start -= 1
        if start < self.index:
            del self.buf[start : self.index]
            self.index = start

    def _up(self) -> None:
        if self.hist_entry == 0:
            return
        if self.hist_entry == -1:
            self.hist_entry = len(self.history)
        self.hist_entry -= 1
        if self.hist_entry >= 0:
            self.buf = list(self.history[self.hist_entry])
            self.index = len(self.buf)

    def _down(self) -> None:
        if self.hist_entry == -1:
            return
        self.hist_entry += 1
        if self.hist_entry < READLINE_MAX_CMDS and self.hist_entry < len(self.history):
            self.buf = list(self.history[self.hist_entry])
        else:
            self.buf = []
            self.hist_entry = -1
        self.index = len(self.buf)

    def _hist_add(self, line: str) -> None:
        if not line:
            return
        if line in self.history:
            idx = self.history.index(line)
            if idx == READLINE_MAX_CMDS - 1:
                return
            self.history.pop(idx)
        elif len(self.history) == READLINE_MAX_CMDS:
            self.history.pop(0)
        self.history.append(line)
        self.hist_entry = -1

    def _update(self) -> None:
        """``readline_update``: redraw the line if it changed, move the cursor."""
        if self.buf != self.last:
            self.out("\033[D" * self.last_index + "".join(self.buf) + "\033[K")
            self.last = list(self.buf)
            self.last_index = len(self.buf)
        if self.index != self.last_index:
            delta = self.index - self.last_index
            self.out(("\033[C" * delta) if delta > 0 else ("\033[D" * -delta))
            self.last_index = self.index


class HmpMonitor:
    """One readline monitor on its chardev's descriptors."""

    def __init__(self, daemon: Any, chardev: Any) -> None:
        self.daemon = daemon
        self.chardev = chardev
        self.loop = asyncio.get_running_loop()
        self.out_fd = -1
        self.in_fd = -1
        release = daemon.machine.release
        self.readline = ReadLine(self._print, self._run, release.readline_ctrl_npu)

    # -- output ------------------------------------------------------------------

    def _print(self, text: str) -> None:
        if self.out_fd < 0:
            return
        data = text.replace("\n", "\r\n").encode("utf-8", "replace")
        with contextlib.suppress(OSError):
            while data:
                n = os.write(self.out_fd, data)
                data = data[n:]

    def _run(self, line: str) -> None:
        from memdevd.commands.hmp import run_command_line

        self._print(run_command_line(self.daemon.runtime, line))
        self.readline.show_prompt()

    def _opened(self) -> None:
        """monitor_event(CHR_EVENT_OPENED): the banner and the prompt."""
        release = self.daemon.machine.release
        version = f"{release.major}.{release.minor}.{release.micro}"
        self._print(f"QEMU {version} monitor - type 'help' for more information\n")
        self.readline.restart()
        self.readline.show_prompt()

    # -- input -------------------------------------------------------------------

    def attach(self, in_fd: int, out_fd: int) -> None:
        self.in_fd, self.out_fd = in_fd, out_fd
        self._opened()
        try:
            self.loop.add_reader(in_fd, self._readable)
        except OSError:
            # epoll refuses a regular file (stdin from /dev/null or a file):
            # it is always readable, to its end.
            self.loop.call_soon(self._read_file)

    def _read_file(self) -> None:
        while self.in_fd >= 0:
            self._readable()

    def _readable(self) -> None:
        try:
            data = os.read(self.in_fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._closed()
            return
        for byte in data:
            self.readline.handle_byte(byte)

    def _closed(self) -> None:
        self.loop.remove_reader(self.in_fd)
        chardev = self.chardev
        if chardev.client is not None and self.in_fd == chardev.client.fileno():
            chardev.client.close()
            chardev.client = None
            if chardev.listener is not None:
                self.loop.add_reader(chardev.listener.fileno(), self._accept)
        self.in_fd = self.out_fd = -1

    def _accept(self) -> None:
        chardev = self.chardev
        try:
            conn, _ = chardev.listener.accept()
        except (BlockingIOError, OSError):
            return
        conn.setblocking(False)
        chardev.client = conn
        # One client at a time, as QEMU's socket chardev.
        self.loop.remove_reader(chardev.listener.fileno())
        self.attach(conn.fileno(), conn.fileno())


def start(daemon: Any, labels: list[str]) -> list[HmpMonitor]:
    """Serve the readline monitors of ``labels`` that can carry bytes."""
    from memdevd.machine.chardev.core import Chardev

    monitors = []
    for label in labels:
        chardev = daemon.machine.chardevs.children.get(label)
        if not isinstance(chardev, Chardev):
            continue
        mon = HmpMonitor(daemon, chardev)
        if chardev.kind == "socket":
            chardev.served = True
            if chardev.client is not None:
                mon.attach(chardev.client.fileno(), chardev.client.fileno())
            elif chardev.listener is not None:
                mon.loop.add_reader(chardev.listener.fileno(), mon._accept)
            else:
                continue
        elif chardev.kind == "pty" and chardev._master >= 0:
            os.set_blocking(chardev._master, False)
            mon.attach(chardev._master, chardev._master)
        elif chardev.kind == "stdio":
            mon.attach(0, 1)
        else:
            continue
        monitors.append(mon)
    return monitors
