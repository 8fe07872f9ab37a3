"""``-chardev pty`` on a host where no pseudo-terminal can be opened.

Owns the start-up error QEMU gives when ``openpty()`` fails (a container
without /dev/ptmx or with its devpts exhausted): char-pty.c's
``Failed to create PTY: <strerror>`` at the ``-chardev`` option, exit
status 1, instead of a traceback.
"""

from __future__ import annotations

import errno
import os

import pytest

from memdevd.app import cli
from memdevd.util.qemu_opts import OptionError, format_error

PROG = "qemu-system-x86_64"


@pytest.mark.parametrize("version", ["7.2", "10.0"])
def test_no_pty_is_a_start_up_error(monkeypatch: pytest.MonkeyPatch, version: str) -> None:
    def no_pty() -> tuple[int, int]:
        raise FileNotFoundError(errno.ENOENT, "No such file or directory")

    monkeypatch.setattr(os, "openpty", no_pty)
    argv = ["-memdevd", f"version={version}", "-chardev", "pty,id=charserial0"]
    parsed = cli.parse(argv, PROG)
    with pytest.raises(OptionError) as info:
        cli.build_daemon(parsed, PROG, handle_signals=False)
    assert format_error(PROG, info.value) == (
        f"{PROG}: -chardev pty,id=charserial0: Failed to create PTY: No such file or directory\n"
    )
    assert info.value.exit_status == 1
