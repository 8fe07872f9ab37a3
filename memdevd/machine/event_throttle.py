"""QEMU's QMP event rate limiting (monitor/monitor.c).

Guest-triggerable events are throttled by the monitor, not by the device
that raises them: ``monitor_qapi_event_queue_no_reenter`` keys each
throttled event by its name and, for some events, one member of its data
(``MEMORY_DEVICE_SIZE_CHANGE`` and ``BLOCK_IO_ERROR``: ``qom-path``;
``VSERPORT_CHANGE``: ``id``; ``QUORUM_REPORT_BAD``: ``node-name``).  For a
key without pending state the event is sent at once and a timer armed for
the rate (1 s); events arriving while the timer is pending replace each
other, and only the latest is sent when the timer fires, which re-arms it;
a timer that fires with nothing stored drops the key's state.

:class:`EventThrottle` is that algorithm on a memdevd :class:`Clock` (QEMU
uses ``QEMU_CLOCK_REALTIME``, which runs while the VM is paused too), so
tests drive it with a virtual clock.  This module owns only the throttle;
each :class:`~memdevd.machine.machine.Machine` owns one instance in front
of its event sink, as QEMU has one throttle table per process.  An event
keeps the time it was raised: a held event goes out later with its own
timestamp, as QEMU stores the whole QDict.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from memdevd.machine.clock import Clock, Timer
from memdevd.records import record

EventSink = Callable[[str, "dict[str, Any] | None", int], None]

NS_PER_MS: Final = 1_000_000


@record(frozen=True)
class ThrottleConf:
    """``MonitorQAPIEventConf`` plus the data member that keys the state."""

    rate_ns: int
    key_member: str | None = None


# monitor_qapi_event_conf[] and qapi_event_throttle_hash/equal (QEMU 7.2 and
# 10.0 agree; HV_BALLOON_STATUS_REPORT exists from 8.2 on).
QEMU_THROTTLED_EVENTS: Final[Mapping[str, ThrottleConf]] = {
    "RTC_CHANGE": ThrottleConf(1000 * NS_PER_MS),
    "BLOCK_IO_ERROR": ThrottleConf(1000 * NS_PER_MS, "qom-path"),
    "WATCHDOG": ThrottleConf(1000 * NS_PER_MS),
    "BALLOON_CHANGE": ThrottleConf(1000 * NS_PER_MS),
    "QUORUM_REPORT_BAD": ThrottleConf(1000 * NS_PER_MS, "node-name"),
    "QUORUM_FAILURE": ThrottleConf(1000 * NS_PER_MS),
    "VSERPORT_CHANGE": ThrottleConf(1000 * NS_PER_MS, "id"),
    "MEMORY_DEVICE_SIZE_CHANGE": ThrottleConf(1000 * NS_PER_MS, "qom-path"),
    "HV_BALLOON_STATUS_REPORT": ThrottleConf(1000 * NS_PER_MS),
}


@record
class _State:
    """``MonitorQAPIEventState``: the timer and the event waiting for it."""

    timer: Timer
    pending: tuple[str, dict[str, Any] | None, int] | None = None


class EventThrottle:
    """Per-(event, key) rate limiting in front of an event sink."""

    def __init__(
        self,
        clock: Clock,
        sink: EventSink,
        conf: Mapping[str, ThrottleConf] = QEMU_THROTTLED_EVENTS,
    ) -> None:
        self.clock = clock
        self.sink = sink
        self.conf = conf
        self._states: dict[tuple[str, str | None], _State] = {}

    def key_of(self, name: str, data: Mapping[str, Any] | None) -> str | None:
        conf = self.conf[name]
        if conf.key_member is None or data is None:
            return None
        value = data.get(conf.key_member)
        return None if value is None else str(value)

    def emit(self, name: str, data: dict[str, Any] | None, timestamp_us: int) -> None:
        """``monitor_qapi_event_queue_no_reenter``: send now or hold."""
        conf = self.conf.get(name)
        if conf is None or not conf.rate_ns:
            self.sink(name, data, timestamp_us)
            return
        key = (name, self.key_of(name, data))
        state = self._states.get(key)
        if state is not None:
            # The timer is pending: keep only the latest event.
            state.pending = (name, data, timestamp_us)
            return
        self.sink(name, data, timestamp_us)
        timer = self.clock.call_later(conf.rate_ns, lambda: self._fire(key))
        self._states[key] = _State(timer)

    def _fire(self, key: tuple[str, str | None]) -> None:
        """``monitor_qapi_event_handler``."""
        state = self._states.get(key)
        if state is None:  # pragma: no cover - a cancelled timer never fires
            return
        if state.pending is None:
            del self._states[key]
            return
        name, data, timestamp_us = state.pending
        state.pending = None
        self.sink(name, data, timestamp_us)
        rate = self.conf[name].rate_ns
        state.timer = self.clock.call_later(rate, lambda: self._fire(key))

    def pending_keys(self) -> list[tuple[str, str | None]]:
        """Keys with live throttle state (a timer armed)."""
        return list(self._states)

    def close(self) -> None:
        """Drop every state and its timer without sending what is held."""
        for state in self._states.values():
            state.timer.cancel()
        self._states.clear()
