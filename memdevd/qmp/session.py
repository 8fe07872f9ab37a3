"""One QMP connection: greeting, negotiation, request checks, dispatch.

This is ``monitor/qmp.c`` plus ``qapi/qmp-dispatch.c`` for a single client.
A session is an :class:`asyncio.Protocol`: bytes arrive in
``data_received``, go through QEMU's streaming JSON parser, and each
complete request is checked and dispatched strictly in order.  Handlers
normally run inline (no task switch on the common path); a handler that
returns an awaitable suspends the session, as QEMU suspends a monitor while
a command runs, and the session resumes with the next queued request once
the reply is written.

Flow control mirrors QEMU's monitor suspension: while the client does not
read its replies (the transport's write buffer is above its high-water
mark) or a command is in progress, the session stops reading input, so a
client can never make the daemon queue unbounded work.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import json
import logging
import os
import socket
from collections import deque
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, Final, cast

from memdevd import messages as M
from memdevd.qapi.json_writer import encode
from memdevd.qapi.qdict import qdict_key_order
from memdevd.qmp.errors import COMMAND_NOT_FOUND, GENERIC_ERROR, QMPError
from memdevd.qmp.faults import Fault
from memdevd.qmp.framing import JSONError, JSONStreamer

if TYPE_CHECKING:
    from memdevd.qmp.server import Server

log = logging.getLogger("memdevd.qmp")

#: Arguments and error texts are cut to this many characters in the log, so
#: a 64 MiB request never lands in one.
MAX_ARGS_CHARS: Final = 200
#: char-socket.c TCP_MAX_FDS: the descriptors one read may bring
MAX_MSGFDS: Final = 16


def cut(text: str) -> str:
    """``text`` as it may appear in a log: at most ``MAX_ARGS_CHARS`` of it."""
    if len(text) > MAX_ARGS_CHARS:
        return f"{text[:MAX_ARGS_CHARS]}... ({len(text)} chars)"
    return text


def brief(value: Any) -> str:
    """A log-safe rendering of a request's arguments."""
    try:
        text = json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return cut(text)


def _isawaitable(value: object) -> bool:
    # inspect.isawaitable() without importing inspect at start-up.
    return hasattr(value, "__await__")


# What to do with the reply of a request: write it, or nothing (no id case
# still writes; QCO_NO_SUCCESS_RESP commands do not exist here).
_NEGOTIATION_COMMANDS = frozenset({"qmp_capabilities"})
# _check_request's default for a missing "arguments" (a null one is an error).
_NO_ARGUMENTS: Any = object()


class Session(asyncio.Protocol):
    """The state of one QMP client connection."""

    def __init__(self, server: Server, listener_name: str = "") -> None:
        self.server = server
        self.listener_name = listener_name
        self.transport: asyncio.Transport | None = None
        self.streamer = JSONStreamer(
            push=server.json_push_parser,
            **server.json_limits,  # type: ignore[arg-type]
        )
        self.negotiated = False
        self.capabilities: frozenset[str] = frozenset()
        self.closed = False
        self.active = False
        self._held_input = b""
        self.peer = ""
        # Replies held back while one read is processed (see data_received).
        self._cork: list[bytes] | None = None
        # In-band requests waiting while an async command runs.
        self._backlog: deque[Any] = deque()
        self._busy = False
        self._task: asyncio.Future[None] | None = None
        self._write_paused = False
        self._reading_paused = False
        # Anything a command layer wants to remember per connection.
        self.data: dict[str, Any] = {}
        # A UNIX socket's descriptors passed with SCM_RIGHTS: read here
        # (recvmsg on a duplicate of the transport's socket, whose own
        # reading stays paused), kept until a command takes them or a later
        # read brings others, as char-socket.c's read_msgfds.
        self._fd_sock: socket.socket | None = None
        self._fd_reading = False
        self.msgfds: list[int] = []

    # -- asyncio.Protocol ---------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        self._take_over_unix_reading()
        peer = transport.get_extra_info("peername")
        self.peer = str(peer) if peer else self.listener_name
        if not self.server.session_opened(self):
            # Over the client limit: wait, unread and ungreeted, as an extra
            # client of a QEMU monitor waits, until another client leaves.
            # uvloop starts reading right after connection_made(), so pause
            # again once it has, and hold anything that arrives meanwhile.
            self._pause_input()
            asyncio.get_running_loop().call_soon(self._hold_while_waiting)
            return
        self.activate()
        if self._fd_sock is not None:
            # uvloop starts its own reading after connection_made()
            asyncio.get_running_loop().call_soon(self._keep_transport_paused)

    def _hold_while_waiting(self) -> None:
        if not self.active and not self.closed and self.transport is not None:
            self._pause_input()
            self._keep_transport_paused()

    # -- input: the transport's reading, or recvmsg with descriptors --------------

    def _take_over_unix_reading(self) -> None:
        assert self.transport is not None
        sock = self.transport.get_extra_info("socket")
        if sock is None or sock.family != socket.AF_UNIX:
            return
        try:
            self._fd_sock = socket.socket(fileno=os.dup(sock.fileno()))
            self._fd_sock.setblocking(False)
        except OSError:
            self._fd_sock = None
            return
        self.transport.pause_reading()

    def _keep_transport_paused(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.pause_reading()

    def _pause_input(self) -> None:
        if self._fd_sock is None:
            assert self.transport is not None
            self.transport.pause_reading()
        elif self._fd_reading:
            self._fd_reading = False
            asyncio.get_running_loop().remove_reader(self._fd_sock.fileno())

    def _resume_input(self) -> None:
        if self._fd_sock is None:
            assert self.transport is not None
            self.transport.resume_reading()
        elif not self._fd_reading and not self.closed:
            self._fd_reading = True
            asyncio.get_running_loop().add_reader(self._fd_sock.fileno(), self._fd_readable)

    def _fd_readable(self) -> None:
        sock = self._fd_sock
        if sock is None:
            return
        if self.closed or self.transport is None or self.transport.is_closing():
            # nothing more is read once closing (level-triggered: stop now)
            self._stop_fd_reading()
            return
        if self.transport.is_reading():
            # uvloop may start the transport's reading after our pause (its
            # connection_made callback order): stop it at the first read.
            self.transport.pause_reading()
        try:
            data, ancdata, _, _ = sock.recvmsg(
                65536, socket.CMSG_SPACE(MAX_MSGFDS * 4), socket.MSG_CMSG_CLOEXEC
            )
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._stop_fd_reading()
            if self.transport is not None:
                self.transport.abort()
            return
        fds: list[int] = []
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                got = array.array("i")
                got.frombytes(payload[: len(payload) - len(payload) % got.itemsize])
                fds.extend(got)
        if fds:
            self.drop_msgfds()
            for fd in fds:
                # O_NONBLOCK travels with SCM_RIGHTS: QEMU resets it
                os.set_blocking(fd, True)
            self.msgfds = fds
        if not data:
            # EOF: close our side too (as eof_received)
            self._stop_fd_reading()
            if self.transport is not None:
                self.transport.close()
            return
        self._input(data)

    def _stop_fd_reading(self) -> None:
        if self._fd_sock is None:
            return
        if self._fd_reading:
            self._fd_reading = False
            with contextlib.suppress(RuntimeError):  # the loop is gone (shutdown)
                asyncio.get_running_loop().remove_reader(self._fd_sock.fileno())
        self._fd_sock.close()
        self._fd_sock = None

    def take_msgfd(self) -> int:
        """``qemu_chr_fe_get_msgfd``: the first descriptor of the last read
        that brought any (-1: none), the others closed."""
        if not self.msgfds:
            return -1
        fd, rest = self.msgfds[0], self.msgfds[1:]
        for other in rest:
            os.close(other)
        self.msgfds = []
        return fd

    def drop_msgfds(self) -> None:
        for fd in self.msgfds:
            os.close(fd)
        self.msgfds = []

    def activate(self) -> None:
        """Greet the client and start reading its requests."""
        assert self.transport is not None
        self.active = True
        self._resume_input()
        self.transport.write(self.server.greeting_bytes())
        if self._held_input:
            held, self._held_input = self._held_input, b""
            self._input(held)

    def data_received(self, data: bytes) -> None:
        if self._fd_sock is not None and self.transport is not None:
            # The transport read although its reading was handed over (uvloop
            # starts it after connection_made): stop it, keep what it read.
            self.transport.pause_reading()
        self._input(data)

    def _input(self, data: bytes) -> None:
        if not self.active:
            self._held_input += data
            return
        items = self.streamer.feed(data)
        if not items:
            return
        if self._busy:
            self._queue(items)
            return
        if len(items) == 1:
            # The common case, one request per read: nothing to batch.
            awaitable = self._process(items[0])
            if awaitable is not None:
                self._run_async(awaitable)
            return
        # Replies to one read go out in one write: a pipelining client gets
        # them without a system call per reply (the order is unchanged).
        self._cork = []
        try:
            for index, item in enumerate(items):
                if self.closed:
                    return
                awaitable = self._process(item)
                if awaitable is not None:
                    self._queue(items[index + 1 :])
                    self._uncork()
                    self._run_async(awaitable)
                    return
        finally:
            self._uncork()

    def eof_received(self) -> bool | None:
        return None  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_fd_reading()
        self.drop_msgfds()
        self.closed = True
        self._backlog.clear()
        self.server.session_closed(self)

    def pause_writing(self) -> None:
        self._write_paused = True
        self._update_reading()

    def resume_writing(self) -> None:
        self._write_paused = False
        self._update_reading()

    # -- output ---------------------------------------------------------------

    def send(self, message: dict[str, Any]) -> None:
        self.send_bytes(encode(message))

    def send_bytes(self, data: bytes) -> None:
        if self.transport is not None and not self.closed:
            if self._cork is not None:
                self._cork.append(data)
            else:
                self.transport.write(data)

    def _uncork(self) -> None:
        cork, self._cork = self._cork, None
        if cork and self.transport is not None and not self.closed:
            self.transport.write(b"".join(cork))

    def close(self) -> None:
        self._uncork()
        if self.transport is not None and not self.closed:
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def write_buffer_size(self) -> int:
        if self.transport is None:
            return 0
        return self.transport.get_write_buffer_size()

    # -- request processing ------------------------------------------------

    def _queue(self, items: list[Any]) -> None:
        if items:
            self._backlog.extend(items)
        self._update_reading()

    def _update_reading(self) -> None:
        if self.transport is None or self.closed:
            return
        want_pause = self._write_paused or self._busy
        if want_pause and not self._reading_paused:
            self._reading_paused = True
            self._pause_input()
        elif not want_pause and self._reading_paused:
            self._reading_paused = False
            self._resume_input()

    def _run_async(self, awaitable: Awaitable[dict[str, Any] | None]) -> None:
        self._busy = True
        self._update_reading()
        self._task = asyncio.ensure_future(self._finish_async(awaitable))

    async def _finish_async(self, awaitable: Awaitable[dict[str, Any] | None]) -> None:
        while True:
            try:
                reply = await awaitable
            except Exception:  # a bug must not kill the connection silently
                log.exception("async command failed")
                reply = QMPError(M.INTERNAL_ERROR).to_wire()
            if reply is not None:
                self.send(reply)
            nxt: Awaitable[dict[str, Any] | None] | None = None
            while self._backlog and not self.closed:
                nxt = self._process(self._backlog.popleft())
                if nxt is not None:
                    break
            if nxt is None:
                break
            awaitable = nxt
        self._busy = False
        self._update_reading()

    def _process(self, item: Any) -> Awaitable[dict[str, Any] | None] | None:
        """Handle one parser output; return an awaitable if the reply is pending."""
        if isinstance(item, JSONError):
            log.info(
                "JSON error: %s",
                item.desc,
                extra={"fields": {"event": "json-error", "peer": self.peer, "desc": item.desc}},
            )
            self.send(QMPError(item.desc).to_wire())
            return None
        result = self.dispatch(item)
        if isinstance(result, dict):
            if log.isEnabledFor(logging.INFO) and isinstance(item, dict):
                self._log_command(item, result)
            self.send(result)
            return None
        return result

    def dispatch(self, request: Any) -> dict[str, Any] | Awaitable[dict[str, Any] | None]:
        """``qmp_dispatch`` + ``monitor_qmp_dispatch``: a reply or a pending one."""
        if not isinstance(request, dict):
            return QMPError(M.QMP_INPUT_NOT_OBJECT).to_wire()
        has_id = "id" in request
        req_id = request.get("id")
        try:
            name, args, oob = self._check_request(request)
            cmd = self.server.registry.get(name)
            if not self.negotiated and name not in _NEGOTIATION_COMMANDS:
                raise QMPError(M.COMMAND_NOT_FOUND.format(name), COMMAND_NOT_FOUND)
            if self.server.command_policy is not None:
                # A command of the release's schema, whether memdevd has it
                # or not (QEMU has it: its policy answers).
                self.server.command_policy(name)
            if cmd is None:
                raise QMPError(M.COMMAND_NOT_FOUND.format(name), COMMAND_NOT_FOUND)
            if not cmd.enabled:
                reason = f": {cmd.disable_reason}" if cmd.disable_reason else ""
                raise QMPError(M.COMMAND_DISABLED.format(name, reason), COMMAND_NOT_FOUND)
            if oob and not cmd.allow_oob:
                raise QMPError(M.COMMAND_NO_OOB.format(name))
            self.server.before_command(self, name, args)
            fault = None
            if self.server.faults.rules and not cmd.extra.get("no_faults"):
                fault = self.server.faults.take(name, args)
                if fault is not None and fault.action == "error":
                    raise QMPError(fault.desc, fault.error_class)
            ret = cmd.handler(self, args)
            if fault is not None:
                return self._faulty_reply(fault, ret, has_id, req_id)
            if _isawaitable(ret):
                return self._await_reply(ret, has_id, req_id)
        except QMPError as err:
            return self._error_reply(err, has_id, req_id)
        except Exception as exc:  # a bug must cost one reply, not the connection
            log.exception("command %r failed", request.get("execute"))
            internal = QMPError(M.COMMAND_INTERNAL_ERROR.format(type(exc).__name__, exc))
            return self._error_reply(internal, has_id, req_id)
        return self._success_reply(ret, has_id, req_id)

    async def _faulty_reply(
        self, fault: Fault, ret: Any, has_id: bool, req_id: Any
    ) -> dict[str, Any] | None:
        """The reply of a command an injected ``delay`` or ``drop`` fault hit."""
        reply = (
            await self._await_reply(ret, has_id, req_id)
            if _isawaitable(ret)
            else self._success_reply(ret, has_id, req_id)
        )
        if reply is None:
            return None
        if fault.action == "delay":
            await asyncio.sleep(fault.delay_s)
            return reply
        data = encode(reply)
        self.send_bytes(data[: len(data) // 2])
        self.close()
        return None

    async def _await_reply(
        self, pending: Awaitable[Any], has_id: bool, req_id: Any
    ) -> dict[str, Any] | None:
        try:
            ret = await pending
        except QMPError as err:
            return self._error_reply(err, has_id, req_id)
        return self._success_reply(ret, has_id, req_id)

    def _success_reply(self, ret: Any, has_id: bool, req_id: Any) -> dict[str, Any]:
        reply: dict[str, Any] = {"return": {} if ret is None else ret}
        if has_id:
            reply["id"] = req_id
        return reply

    def _log_command(self, request: dict[str, Any], reply: dict[str, Any] | None) -> None:
        name = request.get("execute", request.get("exec-oob"))
        fields: dict[str, Any] = {"event": "command", "command": name, "peer": self.peer}
        if "id" in request:
            fields["id"] = brief(request["id"])
        args = brief(request.get("arguments", {}))
        if reply is not None and "error" in reply:
            error = reply["error"]
            desc = cut(error["desc"])
            fields.update(event="error", error_class=error["class"], desc=desc)
            log.info(
                "%s %s -> %s: %s",
                name,
                args,
                error["class"],
                desc,
                extra={"fields": fields},
            )
        elif log.isEnabledFor(logging.DEBUG):
            fields["arguments"] = args
            log.debug("%s %s", name, args, extra={"fields": fields})

    def _error_reply(self, err: QMPError, has_id: bool, req_id: Any) -> dict[str, Any]:
        if not self.negotiated and err.error_class == COMMAND_NOT_FOUND:
            # monitor_qmp_dispatch() replaces the text before negotiation.
            err = QMPError(M.EXPECTING_NEGOTIATION, COMMAND_NOT_FOUND)
        reply = err.to_wire()
        if has_id:
            reply["id"] = req_id
        return reply

    def _check_request(self, request: dict[str, Any]) -> tuple[str, dict[str, Any], bool]:
        """``qmp_dispatch_check_obj``: members inspected in QDict order."""
        name = request.get("execute")
        if type(name) is str:
            # Only a bad member makes the order matter (the first one found
            # is the error): a request of valid members alone skips it.
            args = request.get("arguments", _NO_ARGUMENTS)
            if len(request) == 1 + ("id" in request) + (args is not _NO_ARGUMENTS):
                if args is _NO_ARGUMENTS:
                    return name, {}, False
                if type(args) is dict:
                    return name, args, False
        return self._check_request_in_order(request)

    def _check_request_in_order(self, request: dict[str, Any]) -> tuple[str, dict[str, Any], bool]:
        oob_allowed = "oob" in self.capabilities
        exec_key: str | None = None
        for key in qdict_key_order(request):
            value = request[key]
            if key == "execute" or (key == "exec-oob" and oob_allowed):
                if not isinstance(value, str):
                    raise QMPError(M.QMP_MEMBER_NOT_STRING.format(key))
                if exec_key is not None:
                    raise QMPError(M.QMP_MEMBER_CLASH.format(key, exec_key))
                exec_key = key
            elif key == "arguments":
                if not isinstance(value, dict):
                    raise QMPError(M.QMP_ARGUMENTS_NOT_OBJECT)
            elif key != "id":
                raise QMPError(M.QMP_MEMBER_UNEXPECTED.format(key))
        if exec_key is None:
            raise QMPError(M.QMP_LACKS_EXECUTE)
        args = request.get("arguments")
        return request[exec_key], {} if args is None else args, exec_key == "exec-oob"

    # -- negotiation --------------------------------------------------------

    def negotiate(self, enable: list[str]) -> None:
        """``qmp_qmp_capabilities`` after argument validation."""
        if self.negotiated:
            raise QMPError(M.NEGOTIATION_COMPLETE, COMMAND_NOT_FOUND)
        offered = self.server.capabilities
        unavailable = [cap for cap in enable if cap not in offered]
        if unavailable:
            raise QMPError(M.CAPABILITY_NOT_AVAILABLE.format(", ".join(unavailable)))
        self.capabilities = frozenset(enable)
        self.negotiated = True


__all__ = ["GENERIC_ERROR", "Session"]
