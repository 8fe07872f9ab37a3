"""The simulated guest OS: what a paused QEMU cannot show.

A real QEMU without a guest (``-S``, or firmware only) never completes a
DIMM unplug: the ACPI eject request waits for a guest that never answers.
memdevd's default guest, ``none``, behaves exactly like that.  The other
behaviours stand in for a Linux guest with ACPI memory hot-plug:

``cooperative``
    While the VM runs, the guest scans the ACPI memory slots on every
    notification (QEMU's ``MSCN`` method), onlines inserted DIMMs and
    ejects DIMMs it is asked to remove.  The events follow Linux's
    ``acpi_device_hotplug()`` and QEMU's ``acpi_memory_hotplug_write()``:
    an eject sends ``ACPI_DEVICE_OST`` (source 3, status 0x84 "eject in
    progress"), then ``DEVICE_DELETED`` once ``_EJ0`` runs, then
    ``ACPI_DEVICE_OST`` (source 3, status 0) for the now empty slot; an
    insert sends ``ACPI_DEVICE_OST`` (source 1, status 0).
``slow:SECONDS``
    The same, SECONDS after each notification.
``refuse``
    The guest cannot offline the memory: ``ACPI_DEVICE_OST`` with status
    0x84, then status 0x82 ("device busy"); the DIMM stays.
``polls:N``
    The cooperative guest, but it acts only when the N-th QMP command after
    the request arrives (before that command runs, so the N-th poll of a
    management tool sees the result), as moto's "after N describe calls".

Independently, ``virtio_mem_driver`` says whether the guest has a
virtio-mem driver at all (without one, virtio-mem's ``size`` never moves).
Each behaviour applies machine-wide or to one device (by its ``id``), as
``-memdevd guest=``, ``vmem-driver=`` and ``x-memdevd-set-guest`` set it.

While the VM is paused no guest acts; pending requests are handled after
``cont``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

from memdevd.machine.clock import Timer
from memdevd.records import record

if TYPE_CHECKING:
    from memdevd.machine.machine import AcpiSlot, Machine

ACPI_NOTIFY_DEVICE_CHECK = 1
ACPI_NOTIFY_EJECT_REQUEST = 3
ACPI_OST_SC_SUCCESS = 0
ACPI_OST_SC_DEVICE_BUSY = 0x82
ACPI_OST_SC_EJECT_IN_PROGRESS = 0x84

GUEST_MODES = ("none", "cooperative", "slow", "refuse", "polls")


@record(frozen=True)
class VirtioMemGuestRate:
    """How fast the simulated virtio-mem driver plugs or unplugs memory:
    at most ``bytes_per_step`` every ``step_ns`` (default 1 GiB per 100 ms)."""

    bytes_per_step: int = 1 << 30
    step_ns: int = 100_000_000

    @classmethod
    def parse(cls, text: str) -> VirtioMemGuestRate:
        """``SIZE[/SECONDS]``, e.g. ``1G/0.1`` (per step of SECONDS, default 0.1)."""
        from memdevd.util.cutils import strtosz

        size_text, _, seconds_text = text.partition("/")
        size = strtosz(size_text)
        seconds = float(seconds_text) if seconds_text else 0.1
        if not size or seconds <= 0:
            raise ValueError(text)
        return cls(size, int(seconds * 1e9))


@record
class GuestConfig:
    mode: str = "none"
    delay_s: float = 0.0
    virtio_mem_rate: VirtioMemGuestRate | None = None
    polls: int = 0
    virtio_mem_driver: bool = True

    @classmethod
    def parse(cls, text: str) -> GuestConfig:
        """``none``, ``cooperative``, ``refuse``, ``slow:SECONDS`` or ``polls:N``."""
        if text.startswith("slow:"):
            seconds = float(text[5:])
            if not 0 <= seconds < 1e9:
                raise ValueError(text)
            return cls("slow", seconds)
        if text == "slow":
            return cls("slow", 1.0)
        if text.startswith("polls:"):
            count = text[6:]
            if not count.isdigit() or not 0 < int(count) < 1 << 31:
                raise ValueError(text)
            return cls("polls", polls=int(count))
        if text not in GUEST_MODES or text in ("slow", "polls"):
            raise ValueError(text)
        return cls(text, 0.0)

    def with_behaviour(self, other: GuestConfig) -> GuestConfig:
        """This configuration with ``other``'s behaviour (mode, delay, polls)."""
        return replace(self, mode=other.mode, delay_s=other.delay_s, polls=other.polls)

    def describe(self) -> str:
        if self.mode == "slow":
            return f"slow:{self.delay_s:g}"
        if self.mode == "polls":
            return f"polls:{self.polls}"
        return self.mode

    @property
    def active(self) -> bool:
        return self.mode != "none"


class GuestAction:
    """A guest reaction waiting for its time (a timer) or for N polls."""

    def __init__(self, callback: Callable[[], None], polls: int = 0) -> None:
        self.callback = callback
        self.polls_left = polls
        self.timer: Timer | None = None
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True
        if self.timer is not None:
            self.timer.cancel()


class Guest:
    def __init__(self, machine: Machine, config: GuestConfig) -> None:
        self.machine = machine
        self.config = config
        # Per-device behaviour, by qdev id; set before or after the plug.
        self.overrides: dict[str, GuestConfig] = {}
        self._slot_actions: dict[int, GuestAction] = {}
        self._poll_waiters: list[GuestAction] = []

    @property
    def active(self) -> bool:
        return self.config.active

    def config_for(self, dev: Any) -> GuestConfig:
        """The behaviour towards one device: its override, else the machine's."""
        return self.config_for_id(getattr(dev, "id", None))

    def config_for_id(self, dev_id: str | None) -> GuestConfig:
        if dev_id is not None and dev_id in self.overrides:
            return self.overrides[dev_id]
        return self.config

    def set_config(self, config: GuestConfig, device: str | None = None) -> None:
        if device is None:
            self.config = config
        else:
            self.overrides[device] = config
        self.machine.guest_reconfigured()

    def clear_override(self, device: str) -> None:
        if self.overrides.pop(device, None) is not None:
            self.machine.guest_reconfigured()

    # -- reactions -------------------------------------------------------------

    def after(self, config: GuestConfig, callback: Callable[[], None]) -> GuestAction:
        """Run ``callback`` when a guest with ``config`` reacts to a request."""
        if config.mode == "polls":
            action = GuestAction(callback, config.polls)
            self._poll_waiters.append(action)
            return action
        action = GuestAction(callback)
        delay_ns = int(config.delay_s * 1e9)
        action.timer = self.machine.clock.call_later(delay_ns, partial(_fire, action))
        return action

    def poll(self) -> None:
        """A QMP command arrived: count it for guests that act after N polls."""
        if not self._poll_waiters:
            return
        due: list[GuestAction] = []
        waiting: list[GuestAction] = []
        for action in self._poll_waiters:
            if action.cancelled:
                continue
            action.polls_left -= 1
            (due if action.polls_left <= 0 else waiting).append(action)
        self._poll_waiters = waiting
        for action in due:
            _fire(action)

    # -- notifications ---------------------------------------------------------

    def acpi_notify(self) -> None:
        """QEMU raised the memory hot-plug GPE."""
        self._schedule()

    def on_resume(self) -> None:
        self._schedule()

    def on_stop(self) -> None:
        for action in self._slot_actions.values():
            action.cancel()
        self._slot_actions.clear()

    def _schedule(self) -> None:
        if not self.machine.running:
            return
        for index, slot in enumerate(self.machine.acpi_slots):
            if not (slot.is_inserting or slot.is_removing) or index in self._slot_actions:
                continue
            config = self.config_for(slot.dimm)
            if not config.active:
                continue
            self._slot_actions[index] = self.after(config, partial(self._scan, index))

    def power_button(self) -> None:
        """An ACPI guest shuts down when the power button is pressed."""
        if not self.active or not self.machine.running:
            return
        self.after(self.config, self._shutdown)

    def _shutdown(self) -> None:
        if self.machine.running and self.machine.shutdown_hook is not None:
            self.machine.shutdown_hook("guest-shutdown")

    # -- the guest's MSCN ------------------------------------------------------

    def _scan(self, index: int) -> None:
        """The guest handles one slot's notification."""
        self._slot_actions.pop(index, None)
        if not self.machine.running or index >= len(self.machine.acpi_slots):
            return
        slot = self.machine.acpi_slots[index]
        config = self.config_for(slot.dimm)
        if not config.active:
            return
        if slot.is_inserting:
            slot.is_inserting = False
            self._ost(index, slot, ACPI_NOTIFY_DEVICE_CHECK, ACPI_OST_SC_SUCCESS)
        if slot.is_removing:
            slot.is_removing = False
            self._eject(index, slot, config)
        # Notifications that arrived while this one was handled.
        self._schedule()

    def _eject(self, index: int, slot: AcpiSlot, config: GuestConfig) -> None:
        self._ost(index, slot, ACPI_NOTIFY_EJECT_REQUEST, ACPI_OST_SC_EJECT_IN_PROGRESS)
        if config.mode == "refuse":
            self._ost(index, slot, ACPI_NOTIFY_EJECT_REQUEST, ACPI_OST_SC_DEVICE_BUSY)
            return
        if slot.is_enabled and slot.dimm is not None:
            self.machine.remove_device(slot.dimm)
        self._ost(index, slot, ACPI_NOTIFY_EJECT_REQUEST, ACPI_OST_SC_SUCCESS)

    def _ost(self, index: int, slot: AcpiSlot, event: int, status: int) -> None:
        """The guest's ``_OST``: QEMU records it and sends ACPI_DEVICE_OST."""
        slot.ost_event = event
        slot.ost_status = status
        info: dict[str, Any] = {}
        if slot.dimm is not None and slot.dimm.id is not None:
            info["device"] = slot.dimm.id
        info["slot"] = str(index)
        info["slot-type"] = "DIMM"
        info["source"] = event
        info["status"] = status
        self.machine.emit("ACPI_DEVICE_OST", {"info": info})


def _fire(action: GuestAction) -> None:
    if action.cancelled:
        return
    action.cancelled = True
    action.callback()
