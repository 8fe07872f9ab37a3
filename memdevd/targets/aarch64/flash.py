"""virt's two flash devices and their drives (``hw/arm/virt.c``:
``virt_flash_create``, ``virt_firmware_init``, ``virt_flash_map1``).

The flash decides whether firmware is loaded, and so whether the board has
the acpi-ged that DIMM hot-plug needs: flash0 with a drive (``-machine
pflash0=NODE``, libvirt's ``<loader type='pflash'>``, or ``-drive
if=pflash,unit=0``) or ``-bios``.  A flash with a drive claims it (no
"machine type does not support if=pflash" for it) and shows it in
``query-block`` as QEMU does, at ``/machine/virt.flash0``; the image must be
the flash's size (64 MiB).  Nothing is read: the guest never runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from memdevd import messages as M
from memdevd.machine.block.pflash import PFlashCFI01, realize_flash
from memdevd.machine.errors import CoreError

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine

#: base_memmap[VIRT_FLASH]: two flashes of 64 MiB each
FLASH_SIZE = 64 << 20
#: VIRT_FLASH_SECTOR_SIZE
SECTOR = 256 << 10
#: the machine properties aliasing each flash's "drive"
FLASH_PROPS = ("pflash0", "pflash1")


def firmware_init(machine: Machine) -> bool:
    """``virt_firmware_init`` up to the firmware decision: the drives of
    the two flashes; returns whether firmware is loaded (flash0 has a
    drive, or ``-bios``).  Raises CoreError with QEMU's texts."""
    from memdevd.machine.block.drive import drive_get

    layer = machine.block
    options = machine.config.board_options
    flashes: list[PFlashCFI01] = []
    for i, prop in enumerate(FLASH_PROPS):
        flash = PFlashCFI01(machine, i)
        # virt_flash_create1's settings; num-blocks from virt_flash_map1
        flash.values.update(
            {
                "sector-length": SECTOR,
                "width": 4,
                "device-width": 2,
                "name": f"virt.flash{i}",
                "num-blocks": FLASH_SIZE // SECTOR,
            }
        )
        flashes.append(flash)
        # qemu_apply_machine_options(): the aliased "drive" property
        value = options.get(prop)
        if value:
            flash.blk = layer.attach_drive(str(value), flash, "cfi.pflash01", "drive")
    # pflash_cfi01_legacy_drive() for -drive if=pflash,unit=0/1
    for i, flash in enumerate(flashes):
        dinfo = drive_get(layer, "pflash", 0, i)
        if dinfo is None:
            continue
        if flash.blk is not None:
            raise CoreError(M.PFLASH_CLASHES_WITH_MACHINE)
        legacy = next(b for b in layer.backends if b.dinfo is dinfo)
        flash.blk = layer.attach_drive(legacy.name, flash, "cfi.pflash01", "drive")
    if "firmware" in options and flashes[0].blk is not None:
        raise CoreError(M.VIRT_BIOS_AND_PFLASH)
    for flash in flashes:
        blk = flash.blk
        if blk is None:
            continue
        # pflash_cfi01_realize: blk_check_size_and_read_all()
        size = blk.root.length if blk.root is not None else 0
        _place(machine, flash)
        if size != FLASH_SIZE:
            text = machine.release.block_size_mismatch_text
            raise CoreError(
                text.format(
                    typename=flash.typename,
                    device=flash.canonical_path(),
                    size=FLASH_SIZE,
                    backend=blk.name,
                    length=size,
                )
            )
        realize_flash(machine, flash, blk)
    return flashes[0].blk is not None or "firmware" in options


def _place(machine: Machine, flash: PFlashCFI01) -> None:
    """The flash's place, ``/machine/virt.flashN``, for the paths QEMU
    reports (``query-block``'s ``qdev``).  ``/machine`` lists its recorded
    ``virt.flashN`` children already, in QEMU's order (virt_instance_init
    creates both flashes, with or without a drive): inserting the object
    would move them, so the flash knows its parent and the parent's list
    stays the recorded one."""
    flash.parent = machine.machine_obj
    flash.name = f"virt.flash{flash.index}"
