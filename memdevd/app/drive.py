"""``-drive``: blockdev.c ``drive_new`` and the option half of ``blockdev_init``.

vl.c keeps each ``-drive`` as QemuOpts of the "drive" list (any key) and
acts on them in ``configure_blockdev``, after the ``-blockdev`` nodes:
``drive_new`` renames the legacy throttling names, expands ``cache=``,
takes the legacy options (``if``, ``bus``, ``unit``, ``index``, ``media``,
``file``...) and picks the interface and address; ``blockdev_init`` takes
the options common with blockdev-add (error actions, throttling,
detect-zeroes, ``format``...) and leaves the rest to ``bdrv_open``.  Every
check here is QEMU's, in QEMU's order, with its text; the image is opened
by :func:`memdevd.machine.block.drive.new_drive`.

``if=virtio`` adds a ``virtio-blk`` ``-device`` (after the ones on the
command line, before the JSON ones, as QEMU's QemuOpts list has it).
Interfaces whose controllers memdevd does not model are refused by name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memdevd import messages as M
from memdevd.machine.block.drive import IF_MAX_DEVS, IF_NAMES, DriveInfo, DriveRequest
from memdevd.machine.block.throttle import DRIVE_NAMES, ThrottleConfig, validate
from memdevd.machine.errors import CoreError
from memdevd.qapi.qdict import qdict_key_order
from memdevd.util.qemu_opts import Diagnostic, OptionError, QemuOpts, QemuOptsList

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine

#: drive_new's opt_renames
RENAMES = (
    ("iops", "throttling.iops-total"),
    ("iops_rd", "throttling.iops-read"),
    ("iops_wr", "throttling.iops-write"),
    ("bps", "throttling.bps-total"),
    ("bps_rd", "throttling.bps-read"),
    ("bps_wr", "throttling.bps-write"),
    ("iops_max", "throttling.iops-total-max"),
    ("iops_rd_max", "throttling.iops-read-max"),
    ("iops_wr_max", "throttling.iops-write-max"),
    ("bps_max", "throttling.bps-total-max"),
    ("bps_rd_max", "throttling.bps-read-max"),
    ("bps_wr_max", "throttling.bps-write-max"),
    ("iops_size", "throttling.iops-size"),
    ("group", "throttling.group"),
    ("readonly", "read-only"),
)
#: bdrv_parse_cache_mode: (writethrough, O_NOCACHE, O_NO_FLUSH)
CACHE_MODES = {
    "off": (False, True, False),
    "none": (False, True, False),
    "directsync": (True, True, False),
    "writeback": (False, False, False),
    "unsafe": (False, False, True),
    "writethrough": (True, False, False),
}
#: interfaces memdevd builds (pflash: the pc board's system flash; ide:
#: the board's IDE/AHCI units); on
#: pc/q35 nothing claims sd, mtd and scsi drives (drive_check_orphaned
#: fails after the board is built); the rest need controllers memdevd does
#: not model and are refused by name
EMULATED_IFS = frozenset({"none", "virtio", "pflash", "sd", "mtd", "scsi", "ide", "floppy"})
DETECT_ZEROES = ("off", "on", "unmap")


def _absorb(opts: QemuOpts, qdict: dict[str, str]) -> None:
    """``qemu_opts_absorb_qdict``: the keys ``opts`` knows move over, typed."""
    for key in qdict_key_order(list(qdict)):
        if opts.list.find_desc(key) is not None:
            opts.set(key, qdict.pop(key))


def _rename(opts: QemuOpts, old: str, new: str) -> None:
    """``qemu_opt_rename``."""
    if opts.get(old) is not None and opts.find(new) is not None:
        raise OptionError(M.DRIVE_OPT_ALIAS_CONFLICT.format(new, old))
    while (value := opts.get(old)) is not None:
        opts.set(new, value)
        opts.unset(old)


def _error_action(text: str, is_read: bool) -> str:
    """``parse_block_error_action``."""
    if text in ("ignore", "stop", "report") or (not is_read and text == "enospc"):
        return text
    raise OptionError(M.DRIVE_INVALID_ERROR_ACTION.format(text, "read" if is_read else "write"))


def drive_new(
    machine: Machine,
    all_opts: QemuOpts,
    lists: dict[str, QemuOptsList],
    default_type: str,
    location: str | None,
    printed: list[Diagnostic],
) -> tuple[str, dict[str, Any] | None]:
    """``drive_new``: the backend made, and the ``-device`` options an
    ``if=virtio`` drive adds (else None).  Raises OptionError."""
    for old, new in RENAMES:
        _rename(all_opts, old, new)
    value = all_opts.get("cache")
    if value is not None:
        mode = CACHE_MODES.get(value)
        if mode is None:
            raise OptionError(M.DRIVE_INVALID_CACHE)
        writethrough, nocache, noflush = mode
        if all_opts.get("cache.writeback") is None:
            all_opts.set("cache.writeback", "off" if writethrough else "on")
        if all_opts.get("cache.direct") is None:
            all_opts.set("cache.direct", "on" if nocache else "off")
        if all_opts.get("cache.no-flush") is None:
            all_opts.set("cache.no-flush", "on" if noflush else "off")
        all_opts.unset("cache")
    bs_opts = all_opts.to_dict()
    legacy = QemuOpts(lists["drive:legacy"], None)
    _absorb(legacy, bs_opts)

    media = "disk"
    read_only = False
    value = legacy.get("media")
    if value is not None:
        if value == "cdrom":
            media, read_only = "cdrom", True
        elif value != "disk":
            raise OptionError(M.DRIVE_INVALID_MEDIA.format(value))
    read_only |= legacy.get_bool("read-only", False)
    copy_on_read = legacy.get_bool("copy-on-read", False)
    if read_only and copy_on_read:
        printed.append(
            Diagnostic(M.DRIVE_COPY_ON_READ_READ_ONLY, location=location, kind="warning")
        )
        copy_on_read = False
    bs_opts["read-only"] = "on" if read_only else "off"
    bs_opts["copy-on-read"] = "on" if copy_on_read else "off"

    value = legacy.get("if")
    if value is not None:
        if value not in IF_NAMES:
            raise OptionError(M.DRIVE_UNSUPPORTED_BUS.format(value))
        if_type = value
    else:
        if_type = default_type

    bus_id = legacy.get_number("bus", 0)
    unit_id = _signed(legacy.get_number("unit", (1 << 64) - 1))
    index = _signed(legacy.get_number("index", (1 << 64) - 1))
    max_devs = IF_MAX_DEVS.get(if_type, 0)
    board = machine.config.board
    if if_type == board.block_default_type and board.units_per_default_bus:
        # vl.c override_max_devs() for the machine's default interface.
        max_devs = board.units_per_default_bus
    if index != -1:
        if bus_id != 0 or unit_id != -1:
            raise OptionError(M.DRIVE_INDEX_WITH_BUS_UNIT)
        bus_id = index // max_devs if max_devs else 0
        unit_id = index % max_devs if max_devs else index
    layer = machine.block
    from memdevd.machine.block.drive import drive_get

    if unit_id == -1:
        unit_id = 0
        while drive_get(layer, if_type, bus_id, unit_id) is not None:
            unit_id += 1
            if max_devs and unit_id >= max_devs:
                unit_id -= max_devs
                bus_id += 1
    if max_devs and unit_id >= max_devs:
        raise OptionError(M.DRIVE_UNIT_TOO_BIG.format(unit_id, max_devs - 1))
    if drive_get(layer, if_type, bus_id, unit_id) is not None:
        raise OptionError(M.DRIVE_EXISTS.format(bus_id, unit_id, index))

    if all_opts.id is None:
        mediastr = ""
        if if_type in ("ide", "scsi"):
            mediastr = "-cd" if media == "cdrom" else "-hd"
        if max_devs:
            bs_opts["id"] = f"{if_type}{bus_id}{mediastr}{unit_id}"
        else:
            bs_opts["id"] = f"{if_type}{mediastr}{unit_id}"
    device: dict[str, Any] | None = None
    if if_type == "virtio":
        device = {"driver": "virtio-blk", "drive": bs_opts["id"]}
    elif if_type == "xen":
        device = {"driver": "xen-cdrom" if media == "cdrom" else "xen-disk"}

    filename = legacy.get("file")
    werror = legacy.get("werror")
    if werror is not None:
        if if_type not in ("ide", "scsi", "virtio", "none"):
            raise OptionError(M.DRIVE_WERROR_BUS)
        bs_opts["werror"] = werror
    rerror = legacy.get("rerror")
    if rerror is not None:
        if if_type not in ("ide", "virtio", "scsi", "none"):
            raise OptionError(M.DRIVE_RERROR_BUS)
        bs_opts["rerror"] = rerror

    dinfo = DriveInfo(if_type, bus_id, unit_id, location=location)
    if if_type in ("ide", "scsi", "xen", "none"):
        dinfo.media_cd = media == "cdrom"
    req = _blockdev_init(filename, bs_opts, lists, dinfo)
    from memdevd.machine.block.drive import new_drive
    from memdevd.qapi.source_schema import schema_of

    texts: list[str] = []
    try:
        new_drive(layer, schema_of(machine.recording), req, texts)
    except CoreError as exc:
        raise OptionError(exc.desc, exc.hint or None) from None
    finally:
        printed.extend(Diagnostic(text, kind="plain") for text in texts)
    if if_type in ("ide", "floppy"):
        # The board makes the IDE/AHCI unit, the floppy drive (machine/qbus.py).
        from memdevd.machine.qbus import LegacyDrive

        machine.legacy_drives.append(
            LegacyDrive(if_type, bus_id, unit_id, req.id, cdrom=media == "cdrom")
        )
    if if_type not in EMULATED_IFS:
        # The controllers that would take it are not modelled (the drive
        # opened as QEMU opens it: its errors come first).
        raise OptionError(M.DRIVE_IF_NOT_EMULATED.format(if_type))
    return req.id, device


def _signed(value: int) -> int:
    """A QemuOpts number read into an int (-1 stays -1)."""
    return value - (1 << 64) if value >= 1 << 63 else value


def _blockdev_init(
    filename: str | None,
    bs_opts: dict[str, str],
    lists: dict[str, QemuOptsList],
    dinfo: DriveInfo,
) -> DriveRequest:
    """``blockdev_init`` up to "init": the common options, checked."""
    drive_id = bs_opts.get("id")
    opts = QemuOpts(lists["drive:common"], drive_id)
    _absorb(opts, bs_opts)
    bs_opts.pop("id", None)
    snapshot = opts.get_bool("snapshot", False)
    account_invalid = opts.get_bool("stats-account-invalid", True)
    account_failed = opts.get_bool("stats-account-failed", True)
    writethrough = not opts.get_bool("cache.writeback", True)
    prefix = "stats-intervals."
    intervals = {k[len(prefix) :]: bs_opts.pop(k) for k in list(bs_opts) if k.startswith(prefix)}
    listed: list[str] = []
    n = 0
    while str(n) in intervals:
        listed.append(intervals.pop(str(n)))
        n += 1
    if intervals:
        raise OptionError(
            M.DRIVE_INVALID_STATS_INTERVALS_OPTION.format(qdict_key_order(list(intervals))[0])
        )
    # extract_common_blockdev_options
    aio = opts.get("aio")
    if aio is not None and aio not in ("threads", "native", "io_uring"):
        raise OptionError(M.DRIVE_INVALID_AIO)
    group = opts.get("throttling.group")
    cfg = ThrottleConfig()
    for bkt, name in zip(cfg.buckets, DRIVE_NAMES, strict=True):
        bkt.avg = opts.get_number(f"throttling.{name}", 0)
    for bkt, name in zip(cfg.buckets, DRIVE_NAMES, strict=True):
        bkt.max = opts.get_number(f"throttling.{name}-max", 0)
    for bkt, name in zip(cfg.buckets, DRIVE_NAMES, strict=True):
        bkt.burst_length = opts.get_number(f"throttling.{name}-max-length", 1)
    cfg.op_size = opts.get_number("throttling.iops-size", 0)
    try:
        validate(cfg)
    except CoreError as exc:
        raise OptionError(exc.desc) from None
    detect_zeroes = opts.get("detect-zeroes") or "off"
    if detect_zeroes not in DETECT_ZEROES:
        raise OptionError(M.DRIVE_INVALID_ENUM_VALUE.format(detect_zeroes))
    fmt = opts.get("format")
    if fmt is not None:
        from memdevd.util.qemu_opts import is_help_option

        if is_help_option(fmt):
            raise OptionError(M.DRIVE_FORMAT_HELP_NOT_EMULATED)
        if "driver" in bs_opts:
            raise OptionError(M.DRIVE_DRIVER_AND_FORMAT)
        bs_opts["driver"] = fmt
    on_write_error = "enospc"
    value = opts.get("werror")
    if value is not None:
        on_write_error = _error_action(value, False)
    on_read_error = "report"
    value = opts.get("rerror")
    if value is not None:
        on_read_error = _error_action(value, True)
    read_only = opts.get_bool("read-only", False)
    assert drive_id is not None
    return DriveRequest(
        id=drive_id,
        dinfo=dinfo,
        filename=filename,
        bs_opts=bs_opts,
        read_only=read_only,
        writethrough=writethrough,
        copy_on_read=opts.get_bool("copy-on-read", False),
        throttle=cfg,
        throttling_group=group,
        detect_zeroes=detect_zeroes,
        on_read_error=on_read_error,
        on_write_error=on_write_error,
        account_invalid=account_invalid,
        account_failed=account_failed,
        intervals=listed,
        snapshot=snapshot,
    )
