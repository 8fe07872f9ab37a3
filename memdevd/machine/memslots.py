"""KVM and vhost memslot limits, as the memory-device core sees them.

QEMU asks KVM (``kvm_get_max_memslots``/``kvm_get_free_memslots``) and every
vhost device (``vhost_get_max_memslots``/``vhost_get_free_memslots``) how
many memory slots remain.  memdevd has neither, so both are emulated from
``-memdevd`` settings: ``kvm-memslots=N`` makes KVM present with N slots,
``vhost-memslots=N`` adds a vhost backend with N.  Unset, there is no KVM
and no vhost, so both report "unlimited" (``UINT_MAX``) as a TCG QEMU
without vhost devices does.

Slots used outside device memory (boot RAM, ROMs) are a fixed per-machine
count, ``base``, documented in docs/divergences.md: QEMU's real count
depends on the firmware's memory map.
"""

from __future__ import annotations

from memdevd.records import record

UINT_MAX = 0xFFFFFFFF


@record
class MemslotLimits:
    kvm_slots: int | None = None
    vhost_slots: int | None = None
    # Memslots taken by boot memory and ROMs (KVM) / RAM regions (vhost).
    kvm_base: int = 0
    vhost_base: int = 0

    @property
    def kvm_enabled(self) -> bool:
        return self.kvm_slots is not None

    def kvm_max(self) -> int:
        return self.kvm_slots if self.kvm_slots is not None else UINT_MAX

    def kvm_free(self, device_used: int) -> int:
        if self.kvm_slots is None:
            return UINT_MAX
        return max(0, self.kvm_slots - self.kvm_base - device_used)

    def vhost_max(self) -> int:
        return self.vhost_slots if self.vhost_slots is not None else UINT_MAX

    def vhost_free(self, device_used: int) -> int:
        if self.vhost_slots is None:
            return UINT_MAX
        return max(0, self.vhost_slots - self.vhost_base - device_used)
