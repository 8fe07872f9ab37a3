"""The pc/q35 machine hotplug handler for memory devices (hw/i386/pc.c).

``pc_machine_device_pre_plug_cb`` and friends dispatch on the device type;
for DIMMs they run ``pc_memory_pre_plug`` (ACPI and nvdimm checks, then the
shared ``pc_dimm_pre_plug`` of :mod:`memdevd.machine.dimm_hotplug`), then
``pc_memory_plug`` (accounting and the ACPI slot state the guest sees), and
on ``device_del`` an ACPI eject request that only a guest can complete.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from memdevd import messages as M
from memdevd.machine import dimm_hotplug
from memdevd.machine.errors import CoreError

if TYPE_CHECKING:
    from memdevd.machine.devices.pc_dimm import PCDIMM
    from memdevd.targets.x86_64.board import X86Board


class DimmHotplug(dimm_hotplug.DimmHotplug):
    """``pc_memory_pre_plug`` / ``pc_memory_plug`` / unplug for pc-dimm, nvdimm."""

    def _check_acpi(self) -> None:
        if not self.machine.config.acpi:
            raise CoreError(M.MEMORY_HOTPLUG_NO_ACPI)

    def check_plug(self, dimm: PCDIMM) -> None:
        m = self.machine
        self._check_acpi()
        if dimm.is_a("nvdimm") and not m.config.nvdimm:
            raise CoreError(M.NVDIMM_NOT_ENABLED)
        if not m.compat.get("pc-machine.memory-hotplug", True):
            board: X86Board = m.config.board  # type: ignore[assignment]
            raise CoreError(M.MEMORY_HOTPLUG_SUPPORT_NOT_SET.format(board.acpi_device))

    def legacy_align(self) -> int | None:
        # enforce_aligned_dimm=false (pc-i440fx-2.1 and older): page alignment.
        aligned = self.machine.compat.get("pc-machine.enforce-aligned-dimm", True)
        return None if aligned else 4096

    def check_unplug_request(self, dimm: PCDIMM) -> None:
        self._check_acpi()
        super().check_unplug_request(dimm)
