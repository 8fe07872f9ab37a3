"""``-daemonize``: detach as QEMU's os_daemonize() does.

The parent waits until the child has finished starting (its sockets listen
and the pidfile is written) and exits 0, or exits with the child's status
if start-up fails; the child moves to a new session and loses its stdio.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable


def daemonize() -> Callable[[], None]:
    """Fork; in the child return a function that signals readiness."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid > 0:
        os.close(write_fd)
        data = os.read(read_fd, 1)
        if data == b"\0":
            os._exit(0)
        # The child died before signalling: report its exit status.
        _, status = os.waitpid(pid, 0)
        os._exit(os.waitstatus_to_exitcode(status) or 1)
    os.close(read_fd)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)

    def ready() -> None:
        os.write(write_fd, b"\0")
        os.close(write_fd)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.close(devnull)
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the daemon
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115

    return ready
