"""Time for the emulated machine: a clock and one-shot timers.

QEMU's simulated activity (a guest acknowledging an eject, a virtio-mem
driver plugging blocks, event throttling) happens *later*.  The core never
sleeps: it schedules callbacks on a :class:`Clock`.  The daemon drives a
:class:`RealClock` from the event loop, and ``x-memdevd-advance-clock``
skips it ahead; with ``-memdevd clock=virtual`` it runs a
:class:`VirtualClock` that only ``x-memdevd-advance-clock`` moves, so
nothing in a test waits and every run is the same.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import field

from memdevd.records import record


@record(order=True)
class Timer:
    deadline_ns: int
    seq: int
    callback: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class Clock:
    """Monotonic nanoseconds plus a timer heap; subclasses decide what 'now' is."""

    def __init__(self) -> None:
        self._timers: list[Timer] = []
        self._seq = itertools.count()
        # Called when the earliest deadline changes, so a driver can re-arm.
        self.on_schedule: Callable[[int], None] | None = None

    def now_ns(self) -> int:
        raise NotImplementedError

    def call_at(self, deadline_ns: int, callback: Callable[[], None]) -> Timer:
        timer = Timer(deadline_ns, next(self._seq), callback)
        heapq.heappush(self._timers, timer)
        if self.on_schedule is not None and self._timers[0] is timer:
            self.on_schedule(deadline_ns)
        return timer

    def call_later(self, delay_ns: int, callback: Callable[[], None]) -> Timer:
        return self.call_at(self.now_ns() + max(0, delay_ns), callback)

    def next_deadline(self) -> int | None:
        while self._timers and self._timers[0].cancelled:
            heapq.heappop(self._timers)
        return self._timers[0].deadline_ns if self._timers else None

    def run_due(self) -> int:
        """Run every timer whose deadline has passed; return how many ran."""
        ran = 0
        now = self.now_ns()
        while self._timers and self._timers[0].deadline_ns <= now:
            timer = heapq.heappop(self._timers)
            if not timer.cancelled:
                timer.callback()
                ran += 1
            now = self.now_ns()
        return ran

    def clear(self) -> None:
        self._timers.clear()

    def pending(self) -> list[Timer]:
        """Live timers (for snapshots), earliest first."""
        return sorted(t for t in self._timers if not t.cancelled)

    def replace_pending(self, timers: list[Timer]) -> None:
        """Drop every timer and schedule ``timers`` (restored from a snapshot)."""
        self._timers = list(timers)
        heapq.heapify(self._timers)
        if self.on_schedule is not None:
            self.on_schedule(self.next_deadline() or 0)

    def _skip(self, delta_ns: int) -> None:
        """Move "now" forward by ``delta_ns`` (>= 0) without running timers."""
        raise NotImplementedError

    def advance(self, delta_ns: int) -> int:
        """Move time forward, firing timers in deadline order; return timers run."""
        target = self.now_ns() + max(0, delta_ns)
        ran = 0
        while True:
            deadline = self.next_deadline()
            if deadline is None or deadline > target:
                break
            # Each callback sees the time its timer was due (or later).
            self._skip(max(0, deadline - self.now_ns()))
            ran += self.run_due()
        self._skip(max(0, target - self.now_ns()))
        if self.on_schedule is not None:
            self.on_schedule(self.next_deadline() or 0)
        return ran


class RealClock(Clock):
    """Monotonic time, plus whatever ``advance`` has skipped."""

    def __init__(self) -> None:
        super().__init__()
        self._skew_ns = 0

    def now_ns(self) -> int:
        return time.monotonic_ns() + self._skew_ns

    def _skip(self, delta_ns: int) -> None:
        self._skew_ns += delta_ns


class VirtualClock(Clock):
    """A clock that only moves when told to."""

    def __init__(self, start_ns: int = 0) -> None:
        super().__init__()
        self._now = start_ns

    def now_ns(self) -> int:
        return self._now

    def _skip(self, delta_ns: int) -> None:
        self._now += delta_ns
