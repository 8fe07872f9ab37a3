"""Legacy drives: the BlockBackend a ``-drive`` makes (blockdev.c blockdev_init).

The command line's side of ``drive_new`` (option renames, ``cache=``, the
legacy options, the interface and address) is in ``memdevd.app.drive``;
what it hands here is a :class:`DriveRequest` with every common option
already checked.  This module opens the image as ``blk_new_open`` does
with a filename and flat string options (``bdrv_open_inherit``: the
protocol node of the filename first, the format probed from its header
when none is given, with QEMU's warning for a probed raw image, then the
format node, then the options nobody took), and names the backend
(``monitor_add_blk``).

It also answers what QEMU keeps per backend that management tools see:
``DriveInfo`` (``drive_get``), throttling (``block_set_io_throttle``) and
the statistics (``query-blockstats``, all zero: memdevd does no I/O).
"""

from __future__ import annotations

import os
import stat
from dataclasses import field
from typing import TYPE_CHECKING, Any, Final

from memdevd import messages as M
from memdevd.machine.block import image
from memdevd.machine.block.graph import (
    FORMAT_DRIVERS,
    PROTOCOL_DRIVERS,
    BlockBackend,
    BlockLayer,
    BlockNode,
    _Opening,
)
from memdevd.machine.block.throttle import ThrottleConfig, validate
from memdevd.machine.errors import CoreError, ErrorClass
from memdevd.qapi.qdict import qdict_key_order
from memdevd.records import record
from memdevd.util.cutils import id_wellformed

if TYPE_CHECKING:
    from memdevd.machine.qdev import Device
    from memdevd.qapi.source_schema import SourceSchema

#: if_name[], in BlockInterfaceType order
IF_NAMES: Final = ("none", "ide", "scsi", "floppy", "pflash", "mtd", "sd", "virtio", "xen")
#: if_max_devs[]: units per bus (0: no buses)
IF_MAX_DEVS: Final = {"ide": 2, "scsi": 7}
#: protocol prefixes of drivers memdevd does not model (bdrv_find_protocol
#: knows them; memdevd refuses them by name)
KNOWN_PROTOCOLS: Final = frozenset(
    {
        "nbd",
        "nbd+unix",
        "http",
        "https",
        "ftp",
        "ftps",
        "ssh",
        "iscsi",
        "gluster",
        "rbd",
        "nfs",
        "vvfat",
        "blkdebug",
        "blkverify",
        "null-co",
        "null-aio",
        "host_device",
        "host_cdrom",
        "file",
        "json",
    }
)


@record
class DriveInfo:
    """``DriveInfo``: where a -drive goes (interface, bus, unit)."""

    type: str
    bus: int
    unit: int
    media_cd: bool = False
    # the -drive's command-line location (drive_check_orphaned reports there)
    location: str | None = None
    is_default: bool = False


@record
class DriveRequest:
    """What ``drive_new`` hands ``blockdev_init``, its options checked."""

    id: str
    dinfo: DriveInfo
    filename: str | None
    # the options left for bdrv_open (flat, string values, QemuOpts order)
    bs_opts: dict[str, str]
    read_only: bool = False
    writethrough: bool = False
    copy_on_read: bool = False
    throttle: ThrottleConfig | None = None
    throttling_group: str | None = None
    detect_zeroes: str = "off"
    on_read_error: str = "report"
    on_write_error: str = "enospc"
    account_invalid: bool = True
    account_failed: bool = True
    # stats-intervals.N, as given (checked once the image is open)
    intervals: list[str] = field(default_factory=list)
    # snapshot=on (BDRV_O_SNAPSHOT): a temporary qcow2 overlay on the image
    snapshot: bool = False


def drive_get(layer: BlockLayer, if_type: str, bus: int, unit: int) -> DriveInfo | None:
    """``drive_get``."""
    for blk in layer.backends:
        d = blk.dinfo
        if d is not None and d.type == if_type and d.bus == bus and d.unit == unit:
            return d
    return None


def drives(layer: BlockLayer, if_type: str) -> list[BlockBackend]:
    """The backends of -drive if=``if_type``, in creation order."""
    return [b for b in layer.backends if b.dinfo is not None and b.dinfo.type == if_type]


def new_drive(
    layer: BlockLayer, schema: SourceSchema, req: DriveRequest, printed: list[str]
) -> BlockBackend:
    """``blockdev_init`` from "init" on: open (or an empty drive), the
    statistics intervals, then the name.  ``printed`` receives what QEMU
    prints to stderr on the way (kept even when it fails after)."""
    opts = dict(req.bs_opts)
    opening = _Opening()
    intervals: list[int] = []
    if (not req.filename) and not opts:
        blk = BlockBackend(req.id, None)
        blk.root_read_only = req.read_only
        blk.root_detect_zeroes = req.detect_zeroes
    else:
        filename = req.filename or None
        opts.setdefault("cache.direct", "off")
        opts.setdefault("cache.no-flush", "off")
        opts.setdefault("read-only", "on" if req.read_only else "off")
        opts.setdefault("auto-read-only", "on")
        if req.snapshot:
            # bdrv_open_inherit with BDRV_O_SNAPSHOT: the image is opened as
            # the overlay's backing file (bdrv_inherited_options, COW), so
            # read-only whatever the drive said.
            opts["read-only"] = "on"
        try:
            root = legacy_open(layer, schema, filename, opts, opening, printed)
            if req.snapshot:
                root = layer.append_temp_snapshot(root, req.read_only, opening)
            if req.copy_on_read and root.read_only:
                raise CoreError(M.BLOCK_COPY_ON_READ_READ_ONLY)
            intervals = _intervals(req.intervals)
            _check_name(layer, req.id, opening)
        except CoreError:
            for child, edge in opening.edges:
                child.parents.remove(edge)
            raise
        root.options = {**root.options, "detect-zeroes": req.detect_zeroes}
        blk = BlockBackend(req.id, root)
    if blk.root is None:
        _check_name(layer, req.id, opening)
    layer._commit(opening)
    if blk.root is not None:
        blk.edge = _root_edge(blk, blk.root)
        blk.root.refcnt += 1
    blk.dinfo = req.dinfo
    blk.write_cache = not req.writethrough
    blk.on_read_error, blk.on_write_error = req.on_read_error, req.on_write_error
    blk.account_invalid, blk.account_failed = req.account_invalid, req.account_failed
    blk.intervals = intervals
    cfg = req.throttle
    if cfg is not None and cfg.enabled():
        io_limits_enable(layer, blk, req.throttling_group or req.id)
        set_io_limits(blk, cfg)
    layer.backends.append(blk)
    return blk


def _intervals(texts: list[str]) -> list[int]:
    """``parse_stats_intervals`` (-drive: the lengths are strings)."""
    out = []
    for text in texts:
        if not (text.isdigit() and 0 < int(text) <= 0xFFFFFFFF):
            raise CoreError(M.DRIVE_INVALID_INTERVAL_LENGTH.format(text))
        out.append(int(text))
    return out


def _root_edge(blk: BlockBackend, root: BlockNode) -> Any:
    """``blk_insert_bs`` of a -drive: it needs what a guest device will
    (``blk_new_open``: read, and write unless read-only)."""
    from memdevd.machine.block import perms
    from memdevd.machine.block.graph import Edge

    perm = perms.CONSISTENT_READ | (0 if root.read_only else perms.WRITE | perms.RESIZE)
    shared = perms.CONSISTENT_READ | perms.WRITE_UNCHANGED | perms.WRITE | perms.RESIZE
    edge = Edge(blk.user(), "root", blk, 0, perm, shared)
    root.parents.insert(0, edge)
    return edge


def _check_name(layer: BlockLayer, name: str, opening: _Opening) -> None:
    """``monitor_add_blk``."""
    if not id_wellformed(name):
        raise CoreError(M.DRIVE_INVALID_DEVICE_NAME)
    if layer.backend_by_name(name) is not None:
        raise CoreError(M.DRIVE_DEVICE_EXISTS.format(name))
    if name in layer.nodes or any(n.node_name == name for n in opening.nodes):
        raise CoreError(M.DRIVE_NAME_CONFLICTS_NODE.format(name))


# -- bdrv_open with a filename and flat options ----------------------------------


def _split(flat: dict[str, str], prefix: str) -> dict[str, str]:
    """``qdict_extract_subqdict``: the ``prefix.*`` keys, removed from ``flat``."""
    out = {}
    for key in [k for k in flat if k.startswith(prefix)]:
        out[key[len(prefix) :]] = flat.pop(key)
    return out


def find_protocol(filename: str) -> str:
    """``bdrv_find_protocol``: host devices first, then a ``proto:`` prefix."""
    if filename.startswith("/dev/cd"):
        return "host_cdrom"
    try:
        st = os.stat(filename)
    except OSError:
        st = None
    if st is not None and (stat.S_ISBLK(st.st_mode) or stat.S_ISCHR(st.st_mode)):
        return "host_device"
    colon = filename.find(":")
    slash = filename.find("/")
    if colon < 0 or (0 <= slash < colon):
        return "file"
    protocol = filename[:colon][:127]
    if protocol in KNOWN_PROTOCOLS:
        return protocol
    raise CoreError(M.BLOCK_UNKNOWN_PROTOCOL.format(protocol))


def _nest(flat: dict[str, str]) -> dict[str, Any]:
    """``qdict_crumple`` of flat options (one level per dot)."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        parts = key.split(".")
        cur = out
        for part in parts[:-1]:
            nxt = cur.setdefault(part, {})
            if not isinstance(nxt, dict):
                nxt = cur[part] = {}
            cur = nxt
        cur[parts[-1]] = value
    return out


def _known(schema: SourceSchema, type_name: str, parts: list[str]) -> bool:
    """Whether the dotted path names a member of ``type_name`` (a variant's
    members count, whatever the tag: the caller picked the branch)."""
    t = schema.types.get(type_name)
    if t is None:
        return False
    meta = t["meta"]
    if meta == "alternate":
        return any(_known(schema, alt, parts) for alt in t["alternatives"])
    if meta != "object":
        return not parts
    if not parts:
        return True
    if _known_member(schema, t["members"], parts):
        return True
    return any(_known(schema, v, parts) for v in (t.get("variants") or {}).values())


def _unknown_keys(schema: SourceSchema, driver: str, flat: dict[str, str]) -> list[str]:
    """The flat keys the driver and bdrv_open_common would leave over."""
    base = schema.types["BlockdevOptions"]
    branch = base["variants"].get(driver)
    out = []
    for key in flat:
        parts = key.split(".")
        if _known_member(schema, base["members"], parts):
            continue
        if branch is not None and _known(schema, branch, parts):
            continue
        out.append(key)
    return out


def _known_member(schema: SourceSchema, members: Any, parts: list[str]) -> bool:
    for name, mtype, _ in members:
        if name == parts[0]:
            return _known(schema, mtype, parts[1:])
    return False


def _typed(schema: SourceSchema, nested: dict[str, Any]) -> dict[str, Any]:
    """The options visited as BlockdevOptions (keyval: strings parsed)."""
    from memdevd.qapi.source_schema import visit
    from memdevd.qapi.visitor import InputVisitor, VisitError

    v = InputVisitor(nested, keyval=True, key_order=qdict_key_order)
    try:
        return dict(visit(schema, v, None, "BlockdevOptions"))
    except VisitError as exc:
        raise CoreError(exc.desc) from None


def _discard(flat: dict[str, str]) -> None:
    """``bdrv_parse_discard_flags``: -drive also takes on/off."""
    value = flat.get("discard")
    if value is None:
        return
    if value in ("off", "ignore"):
        flat["discard"] = "ignore"
    elif value in ("on", "unmap"):
        flat["discard"] = "unmap"
    else:
        raise CoreError(M.BLOCK_INVALID_DISCARD)


def _check_driver(schema: SourceSchema, driver: str) -> None:
    if driver not in schema.enum_values("BlockdevDriver"):
        raise CoreError(M.BLOCK_UNKNOWN_DRIVER.format(driver))
    if driver not in PROTOCOL_DRIVERS and driver not in FORMAT_DRIVERS:
        raise CoreError(M.BLOCK_DRIVER_NOT_EMULATED.format(driver))


def _leftover(kind: str, driver: str, keys: list[str]) -> None:
    if keys:
        first = qdict_key_order(keys)[0]
        text = (
            M.BLOCK_PROTOCOL_UNSUPPORTED_OPTION
            if kind == "protocol"
            else M.BLOCK_FORMAT_UNSUPPORTED_OPTION
        )
        raise CoreError(text.format(driver, first))


def _open_protocol(
    layer: BlockLayer,
    schema: SourceSchema,
    filename: str | None,
    flat: dict[str, str],
    opening: _Opening,
) -> BlockNode:
    """A protocol node from a filename and flat options."""
    driver = flat.get("driver")
    if filename is not None:
        if "filename" in flat:
            raise CoreError(M.BLOCK_FILE_AND_FILENAME)
        if driver is None:
            driver = find_protocol(filename)
            if driver == "file" and filename.startswith("file:"):
                filename = filename[5:]
        flat["filename"] = filename
    if driver is None:
        raise CoreError(M.BLOCK_DRIVER_OR_FILE)
    if driver not in PROTOCOL_DRIVERS:
        raise CoreError(M.BLOCK_DRIVER_NOT_EMULATED.format(driver))
    flat["driver"] = driver
    _discard(flat)
    unknown = _unknown_keys(schema, driver, flat)
    for key in unknown:
        flat.pop(key)
    options = _typed(schema, _nest(flat))
    node = layer._open(options, opening)
    _leftover("protocol", driver, unknown)
    return node


def legacy_open(
    layer: BlockLayer,
    schema: SourceSchema,
    filename: str | None,
    flat: dict[str, str],
    opening: _Opening,
    printed: list[str],
) -> BlockNode:
    """``bdrv_open_inherit(filename, NULL, options, 0, NULL, ...)``."""
    flat = dict(flat)
    driver = flat.get("driver")
    if driver is not None:
        _check_driver(schema, driver)
        if driver in PROTOCOL_DRIVERS:
            return _open_protocol(layer, schema, filename, flat, opening)
    child_flat = _split(flat, "file.")
    file_node = None
    if filename is not None or child_flat:
        # bdrv_inherited_options(BDRV_CHILD_IMAGE): what the file child
        # takes from its format parent when it does not say.
        for key in ("cache.direct", "cache.no-flush", "read-only", "auto-read-only"):
            if key in flat and key not in child_flat:
                child_flat[key] = flat[key]
        child_flat.setdefault("discard", "unmap")
        if "force-share" in flat:
            child_flat.setdefault("force-share", flat["force-share"])
        file_node = _open_protocol(layer, schema, filename, child_flat, opening)
    probed = driver is None
    if driver is None:
        if file_node is None:
            raise CoreError(M.BLOCK_DRIVER_OR_FILE)
        driver = _probe(file_node)
        _check_driver(schema, driver)
    flat["driver"] = driver
    _discard(flat)
    unknown = _unknown_keys(schema, driver, flat)
    for key in unknown:
        flat.pop(key)
    nested = _nest(flat)
    if file_node is not None:
        nested["file"] = file_node.node_name
    options = _typed(schema, nested)
    if probed and driver == "raw" and not options.get("read-only"):
        assert file_node is not None
        printed.append(M.DRIVE_RAW_PROBED.format(file_node.filename))
    node = layer._open(options, opening, opened_file=file_node)
    node.probed = probed
    _leftover("format", driver, unknown)
    return node


def _probe(file_node: BlockNode) -> str:
    """``find_image_format``: raw for an empty file, else by its header."""
    if file_node.length == 0 or file_node.driver not in ("file", "host_device", "host_cdrom"):
        return "raw"
    return image.probe_format(file_node.filename)


# -- throttling ---------------------------------------------------------------------


def io_limits_enable(layer: BlockLayer, blk: BlockBackend, group: str) -> None:
    """``blk_io_limits_enable``: join (or make) the group."""
    blk.throttle = layer.throttle_groups.incref(group)


def io_limits_disable(layer: BlockLayer, blk: BlockBackend) -> None:
    if blk.throttle is not None:
        layer.throttle_groups.unref(blk.throttle)
        blk.throttle = None


def set_io_limits(blk: BlockBackend, cfg: ThrottleConfig) -> None:
    """``blk_set_io_limits``: the group's configuration for every member."""
    assert blk.throttle is not None
    blk.throttle.config = cfg.copy()


def find_blk(
    layer: BlockLayer, machine: Any, device: str | None, qdev_id: str | None
) -> BlockBackend:
    """``qmp_get_blk``: by backend name or by the device using it."""
    if (device is None) == (qdev_id is None):
        raise CoreError(M.BLOCK_NEED_DEVICE_OR_ID)
    if qdev_id is not None:
        dev: Device = machine.find_device(qdev_id)
        for candidate in layer.backends:
            if candidate.device is dev:
                return candidate
        raise CoreError(M.BLOCK_NO_BACKEND)
    assert device is not None
    blk = layer.backend_by_name(device)
    if blk is None:
        raise CoreError(M.DEVICE_NOT_FOUND.format(device), ErrorClass.DEVICE_NOT_FOUND)
    return blk


def set_io_throttle(layer: BlockLayer, machine: Any, args: dict[str, Any]) -> None:
    """``qmp_block_set_io_throttle``."""
    from memdevd.machine.block.throttle import BUCKETS

    blk = find_blk(layer, machine, args.get("device"), args.get("id"))
    if blk.root is None:
        raise CoreError(M.BLOCK_NO_MEDIUM)
    cfg = ThrottleConfig()
    for name, bkt in zip(BUCKETS, cfg.buckets, strict=True):
        bkt.avg = args[name]
        if f"{name}_max" in args:
            bkt.max = args[f"{name}_max"]
        if f"{name}_max_length" in args:
            bkt.burst_length = args[f"{name}_max_length"]
    if "iops_size" in args:
        cfg.op_size = args["iops_size"]
    validate(cfg)
    group = args.get("group")
    if cfg.enabled():
        if blk.throttle is None:
            io_limits_enable(layer, blk, str(group or args.get("device") or args.get("id")))
        elif group is not None and group != blk.throttle.name:
            io_limits_disable(layer, blk)
            io_limits_enable(layer, blk, group)
        set_io_limits(blk, cfg)
    elif blk.throttle is not None:
        io_limits_disable(layer, blk)


def set_write_threshold(layer: BlockLayer, node_name: str, threshold: int) -> None:
    """``qmp_block_set_write_threshold`` (nothing is written: no event)."""
    node = layer.nodes.get(node_name)
    if node is None:
        raise CoreError(M.DEVICE_NOT_FOUND.format(node_name))
    # uint64 in, BlockDeviceInfo's int64 out
    node.write_threshold = threshold - (1 << 64) if threshold >= 1 << 63 else threshold


def set_iothread(
    layer: BlockLayer, machine: Any, node_name: str, iothread: str | None, force: bool
) -> None:
    """``qmp_x_blockdev_set_iothread``: the node and everything attached to
    it move to the iothread's AioContext (``bdrv_try_change_aio_context``);
    a backend a device (or nobody by name) uses refuses."""
    node = layer.nodes.get(node_name)
    if node is None:
        raise CoreError(M.BLOCK_NODE_NOT_FOUND.format(node_name))
    if not force and any(isinstance(e.parent, BlockBackend) for e in node.parents):
        raise CoreError(M.BLOCK_NODE_HAS_BACKEND.format(node_name))
    if iothread is not None:
        obj = machine.objects.children.get(iothread)
        if getattr(obj, "typename", None) != "iothread":
            raise CoreError(M.BLOCK_IOTHREAD_NOT_FOUND.format(iothread))
    if node.iothread == iothread:
        return
    component: list[BlockNode] = []
    todo = [node]
    while todo:
        cur = todo.pop()
        if any(cur is n for n in component):
            continue
        component.append(cur)
        todo.extend(cur.children())
        todo.extend(e.parent for e in cur.parents if isinstance(e.parent, BlockNode))
    for cur in component:
        for edge in cur.parents:
            blk = edge.parent
            if isinstance(blk, BlockBackend) and (not blk.name or blk.device is not None):
                raise CoreError(M.BLOCK_ACTIVE_BACKEND_IOTHREAD)
    for cur in component:
        cur.iothread = iothread
