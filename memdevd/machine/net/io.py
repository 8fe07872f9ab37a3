"""Waiting on sockets without an event loop in the core.

A stream netdev learns that its peer connected or left when its socket
becomes readable.  The core knows nothing of asyncio: a backend asks the
machine's :class:`IoWatcher` to watch a descriptor, and whoever drives the
machine says when it is ready.  The daemon drives it from its event loop
(:meth:`IoWatcher.drive`); without a daemon (unit tests) :meth:`poll`
looks once.  A ready descriptor goes to ``target`` (the machine's net
layer), which finds the backend that owns it now, so a snapshot restored
in between finds the restored backends.

Like the clock, a watcher belongs to the live machine, not to its state:
snapshots share it.
"""

from __future__ import annotations

import select
from collections.abc import Callable
from typing import Any, Protocol


class LoopLike(Protocol):
    def add_reader(self, fd: int, callback: Callable[..., Any], *args: Any) -> None: ...
    def remove_reader(self, fd: int) -> bool: ...
    def add_writer(self, fd: int, callback: Callable[..., Any], *args: Any) -> None: ...
    def remove_writer(self, fd: int) -> bool: ...


class IoWatcher:
    """Descriptors to wait on: fd -> (read, write)."""

    def __init__(self) -> None:
        self._watches: dict[int, tuple[bool, bool]] = {}
        self._loop: LoopLike | None = None
        # fd, readable -> whether anyone still owns fd
        self.target: Callable[[int, bool], bool] | None = None

    def __deepcopy__(self, memo: dict[int, Any]) -> IoWatcher:
        return self

    def __copy__(self) -> IoWatcher:
        return self

    def watch(self, fd: int, read: bool = True, write: bool = False) -> None:
        self.unwatch(fd)
        self._watches[fd] = (read, write)
        if self._loop is not None:
            self._add(fd, read, write)

    def unwatch(self, fd: int) -> None:
        old = self._watches.pop(fd, None)
        if old is not None and self._loop is not None:
            if old[0]:
                self._loop.remove_reader(fd)
            if old[1]:
                self._loop.remove_writer(fd)

    def watched(self) -> dict[int, tuple[bool, bool]]:
        return dict(self._watches)

    def drive(self, loop: LoopLike | None) -> None:
        """Watch from ``loop`` from now on (None: stop)."""
        if self._loop is not None:
            for fd, (read, write) in self._watches.items():
                if read:
                    self._loop.remove_reader(fd)
                if write:
                    self._loop.remove_writer(fd)
        self._loop = loop
        if loop is not None:
            for fd, (read, write) in self._watches.items():
                self._add(fd, read, write)

    def _add(self, fd: int, read: bool, write: bool) -> None:
        assert self._loop is not None
        if read:
            self._loop.add_reader(fd, self._ready, fd, True)
        if write:
            self._loop.add_writer(fd, self._ready, fd, False)

    def _ready(self, fd: int, readable: bool) -> None:
        if fd not in self._watches:
            return
        if self.target is None or not self.target(fd, readable):
            self.unwatch(fd)

    def poll(self, timeout: float = 0.0) -> int:
        """Look once (no event loop): hand what is ready over; how many were."""
        reads = [fd for fd, (r, _) in self._watches.items() if r]
        writes = [fd for fd, (_, w) in self._watches.items() if w]
        if not reads and not writes:
            return 0
        try:
            readable, writable, _ = select.select(reads, writes, [], timeout)
        except (OSError, ValueError):
            return 0
        for fd in readable:
            self._ready(fd, True)
        for fd in writable:
            self._ready(fd, False)
        return len(readable) + len(writable)
