"""vl.c ``configure_blockdev``'s -drive half and ``drive_check_orphaned``.

Each -drive is made in command-line order after the -blockdev nodes
(:func:`memdevd.app.drive.drive_new`); an error stops start-up at the
-drive's location with what was printed before it.  After the board is
built, a drive of an interface nothing claimed fails start-up as QEMU's
``drive_check_orphaned`` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memdevd import messages as M
from memdevd.util.qemu_opts import Diagnostic, OptionError, QemuOpt, QemuOpts

if TYPE_CHECKING:
    from memdevd.app.startup import DeviceSpec
    from memdevd.machine.machine import Machine
    from memdevd.releases.table import Release
    from memdevd.targets import Target

#: drive_check_orphaned ignores these: if=none waits for a device,
#: virtio and xen were turned into -device options
_NEVER_ORPHANED = frozenset({"none", "virtio", "xen"})


def configure_drives(
    machine: Machine,
    drives: list[tuple[str, str | None, list[tuple[str, str]]]],
    target: Target,
    release: Release,
    notes: list[Diagnostic],
    snapshot: bool = False,
) -> list[DeviceSpec]:
    """Every -drive, in order; the -device options if=virtio adds.
    ``snapshot`` (-snapshot): vl.c ``drive_enable_snapshot``, snapshot=on
    for each drive that does not say."""
    from memdevd.app.drive import drive_new
    from memdevd.app.startup import DeviceSpec
    from memdevd.util.qemu_opts import new_opts_lists

    lists = new_opts_lists(target.syntax(release))
    default_type = machine.config.board.block_default_type
    devices: list[DeviceSpec] = []
    for location, drive_id, items in drives:
        opts = QemuOpts(lists["drive"], drive_id)
        opts.opts = [QemuOpt(key, value) for key, value in items]
        if snapshot and opts.get("snapshot") is None:
            opts.set("snapshot", "on")
        printed: list[Diagnostic] = []
        try:
            _, device = drive_new(machine, opts, lists, default_type, location, printed)
        except OptionError as err:
            err.at(location)
            err.preceding[:0] = [*notes, *printed]
            raise err from None
        notes.extend(printed)
        if device is not None:
            devices.append(DeviceSpec(location, device, False))
    return devices


def check_orphaned(machine: Machine, notes: list[Diagnostic]) -> None:
    """``drive_check_orphaned``: every unclaimed drive is reported, then exit."""
    orphans: list[Diagnostic] = []
    for blk in machine.block.backends:
        d: Any = blk.dinfo
        if d is None or d.is_default or d.type in _NEVER_ORPHANED or blk.device is not None:
            continue
        orphans.append(
            Diagnostic(M.DRIVE_ORPHANED.format(d.type, d.bus, d.unit), location=d.location)
        )
    if orphans:
        last = orphans.pop()
        raise OptionError(last.message, location=last.location, preceding=[*notes, *orphans])


class _InfoAfter(OptionError):
    """An error_report() followed by an info_report() line (QEMU exits after both)."""

    def diagnostic(self) -> Diagnostic:
        return Diagnostic(self.message, self.hint, self.location, "info")


def system_flash(machine: Machine, notes: list[Diagnostic]) -> None:
    """``pc_system_firmware_init`` on a board with a system flash."""
    if not machine.config.board.system_flash:
        return
    from memdevd.machine.block.pflash import DriveClash, firmware_init
    from memdevd.machine.errors import CoreError

    props = {k: v for k, v in machine.config.board_options.items() if k.startswith("pflash")}
    info: list[str] = []
    try:
        firmware_init(machine, props, info)
    except DriveClash as exc:
        raise OptionError(exc.desc, location=exc.location, preceding=notes) from None
    except CoreError as exc:
        if info:
            raise _InfoAfter(info[0], preceding=[*notes, Diagnostic(exc.desc)]) from None
        raise OptionError(exc.desc, exc.hint or None, preceding=notes) from None
