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

While the VM is paused no guest acts; pending requests are handled after
``cont``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from memdevd.machine.clock import Timer

if TYPE_CHECKING:
    from memdevd.machine.machine import AcpiSlot, Machine

ACPI_NOTIFY_DEVICE_CHECK = 1
ACPI_NOTIFY_EJECT_REQUEST = 3
ACPI_OST_SC_SUCCESS = 0
ACPI_OST_SC_DEVICE_BUSY = 0x82
ACPI_OST_SC_EJECT_IN_PROGRESS = 0x84

GUEST_MODES = ("none", "cooperative", "slow", "refuse")


@dataclass(frozen=True)
class VirtioMemGuestRate:
    """How fast the simulated virtio-mem driver plugs or unplugs memory:
    at most ``bytes_per_step`` every ``step_ns`` (default 1 GiB per 100 ms)."""

    bytes_per_step: int = 1 << 30
    step_ns: int = 100_000_000

    @classmethod
    def parse(cls, text: str) -> VirtioMemGuestRate:
        """``SIZE[/SECONDS]``, e.g. ``1G/0.1`` (per step of SECONDS, default 0.1)."""
        from memdevd.cutils import strtosz

        size_text, _, seconds_text = text.partition("/")
        size = strtosz(size_text)
        seconds = float(seconds_text) if seconds_text else 0.1
        if not size or seconds <= 0:
            raise ValueError(text)
        return cls(size, int(seconds * 1e9))


@dataclass
class GuestConfig:
    mode: str = "none"
    delay_s: float = 0.0
    virtio_mem_rate: VirtioMemGuestRate | None = None

    @classmethod
    def parse(cls, text: str) -> GuestConfig:
        """``none``, ``cooperative``, ``refuse`` or ``slow:SECONDS``."""
        if text.startswith("slow:"):
            seconds = float(text[5:])
            if not seconds >= 0:
                raise ValueError(text)
            return cls("slow", seconds)
        if text == "slow":
            return cls("slow", 1.0)
        if text not in GUEST_MODES:
            raise ValueError(text)
        return cls(text, 0.0)

    def describe(self) -> str:
        return f"slow:{self.delay_s:g}" if self.mode == "slow" else self.mode


class Guest:
    def __init__(self, machine: Machine, config: GuestConfig) -> None:
        self.machine = machine
        self.config = config
        self._timer: Timer | None = None

    @property
    def active(self) -> bool:
        return self.config.mode != "none"

    def set_config(self, config: GuestConfig) -> None:
        self.config = config
        self.machine.guest_wakeup()

    # -- notifications ---------------------------------------------------------

    def acpi_notify(self) -> None:
        """QEMU raised the memory hot-plug GPE."""
        self._schedule()

    def on_resume(self) -> None:
        self._schedule()

    def on_stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _schedule(self) -> None:
        if not self.active or not self.machine.running:
            return
        if not any(s.is_inserting or s.is_removing for s in self.machine.acpi_slots):
            return
        if self._timer is not None and not self._timer.cancelled:
            return
        delay_ns = int(self.config.delay_s * 1e9)
        self._timer = self.machine.clock.call_later(delay_ns, self._scan)

    def power_button(self) -> None:
        """An ACPI guest shuts down when the power button is pressed."""
        if not self.active or not self.machine.running:
            return
        delay_ns = int(self.config.delay_s * 1e9)
        self.machine.clock.call_later(delay_ns, self._shutdown)

    def _shutdown(self) -> None:
        if self.machine.running and self.machine.shutdown_hook is not None:
            self.machine.shutdown_hook("guest-shutdown")

    # -- the guest's MSCN ------------------------------------------------------

    def _scan(self) -> None:
        self._timer = None
        if not self.active or not self.machine.running:
            return
        for index, slot in enumerate(self.machine.acpi_slots):
            if slot.is_inserting:
                slot.is_inserting = False
                self._ost(index, slot, ACPI_NOTIFY_DEVICE_CHECK, ACPI_OST_SC_SUCCESS)
            if slot.is_removing:
                slot.is_removing = False
                self._eject(index, slot)

    def _eject(self, index: int, slot: AcpiSlot) -> None:
        self._ost(index, slot, ACPI_NOTIFY_EJECT_REQUEST, ACPI_OST_SC_EJECT_IN_PROGRESS)
        if self.config.mode == "refuse":
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
