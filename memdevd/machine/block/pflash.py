"""The PC's system flash: ``-drive if=pflash`` and ``-machine pflash0=``.

hw/i386/pc_sysfw.c: a pc or q35 machine has two ``cfi.pflash01`` devices,
``system.flash0`` and ``system.flash1``, whose ``drive`` the machine
properties ``pflash0``/``pflash1`` alias (libvirt's UEFI form names a
block node there).  At board init the legacy ``-drive if=pflash,unit=N``
drives are attached (``pflash_cfi01_legacy_drive``: "clashes with
-machine" when both are given), a gap is refused, each flash's size is
checked (whole 4 KiB sectors, all of them within ``max-fw-size``) and the
used ones are realized (read, and write unless the node is read-only);
the unused ones are removed.  No firmware runs: memdevd maps nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Final

from memdevd import messages as M
from memdevd.machine.block import perms
from memdevd.machine.block.graph import BlockBackend, _Opening
from memdevd.machine.errors import CoreError
from memdevd.machine.qdev import Device
from memdevd.machine.qom import MemoryRegionObject, Prop, QOMObject

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine

#: FLASH_SECTOR_SIZE
SECTOR: Final = 4096
#: the pc machines' max-fw-size default
MAX_FW_SIZE: Final = 8 << 20
FLASH_PROPS: Final = ("pflash0", "pflash1")


class PFlashCFI01(Device):
    """A ``cfi.pflash01`` of the board (not user-creatable)."""

    typename = "cfi.pflash01"
    type_chain: ClassVar[tuple[str, ...]] = (
        "cfi.pflash01",
        "sys-bus-device",
        "device",
        "object",
    )
    user_creatable = False
    hotpluggable = False
    # no change-media callback, no I/O status
    removable_media = False
    iostatus = False

    def __init__(self, machine: Machine, index: int) -> None:
        super().__init__(machine)
        self.index = index
        self.blk: BlockBackend | None = None
        self.parent_bus = "main-system-bus"
        # pc_pflash_create's settings; num-blocks when mapped
        self.values: dict[str, Any] = {
            "sector-length": SECTOR,
            "width": 1,
            "name": f"system.flash{index}",
        }

    def class_props(self) -> list[Prop]:
        return [
            Prop("parent_bus", "link<bus>", lambda o: "/machine/unattached/sysbus", None),
            *super().class_props(),
            *self._catalog_props(),
        ]

    def _catalog_props(self) -> list[Prop]:
        info = self.machine.recording.device_type(self.typename)
        props = []
        for p in info.properties if info is not None else ():
            default = p.default_value if p.has_default else None
            props.append(
                Prop(
                    p.name,
                    p.type,
                    _getter(p.name, p.type, default),
                    _refuse,
                    p.description,
                    static=True,
                    default=default,
                    has_default=p.has_default,
                )
            )
        return props

    def drive_name(self) -> str:
        """``print_drive``: the backend's name, else its root node's."""
        blk = self.blk
        if blk is None:
            return ""
        if blk.name:
            return blk.name
        return blk.root.node_name if blk.root is not None else ""


def _getter(name: str, ptype: str, default: Any) -> Any:
    def get(obj: QOMObject) -> Any:
        assert isinstance(obj, PFlashCFI01)
        if name == "drive":
            return obj.drive_name()
        if name in obj.values:
            return obj.values[name]
        return "" if ptype == "str" and default is None else default

    return get


def _refuse(obj: QOMObject, v: Any, name: str) -> None:
    assert isinstance(obj, PFlashCFI01)
    obj.check_settable(name)


def firmware_init(machine: Machine, properties: dict[str, str], notes: list[Any]) -> None:
    """``pc_system_flash_create`` + the machine properties +
    ``pc_system_firmware_init``.  Raises CoreError (start-up fails);
    ``notes`` receives QEMU's info lines printed before such an error.
    CoreError's ``hint`` carries the drive's location for a clash."""
    from memdevd.machine.block.drive import drive_get

    layer = machine.block
    flashes = [PFlashCFI01(machine, i) for i in range(2)]
    # qemu_apply_machine_options(): the aliased "drive" property.
    for i, prop in enumerate(FLASH_PROPS):
        value = properties.get(prop)
        if value:
            flashes[i].blk = layer.attach_drive(value, flashes[i], "cfi.pflash01", "drive")
    # pflash_cfi01_legacy_drive() for -drive if=pflash,unit=0/1
    for i, flash in enumerate(flashes):
        dinfo = drive_get(layer, "pflash", 0, i)
        if dinfo is None:
            continue
        if flash.blk is not None:
            raise DriveClash(M.PFLASH_CLASHES_WITH_MACHINE, dinfo.location)
        legacy = next(b for b in layer.backends if b.dinfo is dinfo)
        flash.blk = layer.attach_drive(legacy.name, flash, "cfi.pflash01", "drive")
    for i in range(1, len(flashes)):
        if flashes[i].blk is not None and flashes[i - 1].blk is None:
            raise CoreError(M.PFLASH_REQUIRES.format(i, i - 1))
    for i, flash in enumerate(flashes):
        if flash.blk is not None:
            machine.machine_obj.add_child(f"system.flash{i}", flash)
    total = 0
    for flash in flashes:
        used = flash.blk
        if used is None:
            break
        blk = used
        size = blk.root.length if blk.root is not None else 0
        if size == 0 or size % SECTOR:
            notes.append(M.PFLASH_SIZE_INFO.format(SECTOR))
            raise CoreError(M.PFLASH_INVALID_SIZE.format(blk.name, size))
        if total + size > MAX_FW_SIZE:
            raise CoreError(M.PFLASH_TOO_BIG.format(MAX_FW_SIZE))
        total += size
        flash.values["num-blocks"] = size // SECTOR
        # sysbus_mmio_map() at 4 GiB minus what is mapped so far
        flash.add_child(f"system.flash{flash.index}[0]", MemoryRegionObject(size))
        realize_flash(machine, flash, blk)


class DriveClash(CoreError):
    """An error QEMU reports at a -drive's location."""

    def __init__(self, desc: str, location: str | None) -> None:
        super().__init__(desc)
        self.location = location


def realize_flash(machine: Machine, flash: PFlashCFI01, blk: BlockBackend) -> None:
    """``pflash_cfi01_realize``: read, and write unless the node cannot be
    written (``blk_supports_write_perm``); everything shared."""
    node = blk.root
    flash.realized = True
    if node is None or blk.edge is None:
        return
    blk.edge.user = blk.user()
    blk.edge.perm = perms.CONSISTENT_READ | (0 if node.read_only else perms.WRITE)
    blk.edge.shared = perms.ALL
    machine.block._refresh_perms(node, _Opening())
