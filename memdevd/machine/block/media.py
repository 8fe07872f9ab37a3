"""Removable media: the tray and medium commands (block/qapi-system.c, blockdev.c).

``blockdev-open-tray``, ``blockdev-close-tray``, ``blockdev-remove-medium``,
``blockdev-insert-medium``, ``blockdev-change-medium`` and ``eject`` as
QEMU runs them on a machine without a guest: a drive with a tray (ide-cd,
scsi-cd, scsi-hd with ``removable=on``) is never locked (only a guest
locks it), so the tray opens at once and DEVICE_TRAY_MOVED says so; a
command on a device without removable media gets QEMU's text.

A device with removable media has ``removable_media`` (``change_media_cb``)
and ``has_tray`` (``is_tray_open``), and keeps ``tray_open``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memdevd import messages as M
from memdevd.machine.block import image, perms
from memdevd.machine.block.graph import BlockBackend, BlockNode, Edge, _Opening
from memdevd.machine.errors import CoreError

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine

#: do_open_tray()'s return codes that callers look at
ENOSYS = 38
EINPROGRESS = 115


def get_blk(machine: Machine, device: str | None, qdev_id: str | None) -> BlockBackend:
    """``qmp_get_blk``."""
    from memdevd.machine.block.drive import find_blk

    return find_blk(machine.block, machine, device, qdev_id)


def removable(blk: BlockBackend) -> bool:
    """``blk_dev_has_removable_media``: no device, or one with change_media_cb."""
    return blk.device is None or bool(getattr(blk.device, "removable_media", False))


def has_tray(blk: BlockBackend) -> bool:
    return blk.device is not None and bool(getattr(blk.device, "has_tray", False))


def tray_open(blk: BlockBackend) -> bool:
    return has_tray(blk) and bool(getattr(blk.device, "tray_open", False))


def change_media(machine: Machine, blk: BlockBackend, load: bool) -> None:
    """``blk_dev_change_media_cb``: the device's tray follows; an event if it moved."""
    dev = blk.device
    if dev is None or not getattr(dev, "removable_media", False):
        return
    was_open = tray_open(blk)
    dev.tray_open = not load  # type: ignore[attr-defined]
    is_open = tray_open(blk)
    if was_open != is_open:
        machine.emit(
            "DEVICE_TRAY_MOVED",
            {"device": blk.name, "id": dev.id or dev.canonical_path(), "tray-open": is_open},
        )


def do_open_tray(machine: Machine, device: str | None, qdev_id: str | None, force: bool) -> int:
    """``do_open_tray``: 0, or -ENOSYS for a device without a tray (raised
    as CoreError with ``errno`` for the other failures)."""
    blk = get_blk(machine, device, qdev_id)
    name = qdev_id if qdev_id is not None else device
    if not removable(blk):
        raise CoreError(M.MEDIA_NOT_REMOVABLE.format(name))
    if not has_tray(blk):
        return -ENOSYS
    if tray_open(blk):
        return 0
    # Never locked without a guest: the tray opens.
    change_media(machine, blk, False)
    return 0


def open_tray(machine: Machine, device: str | None, qdev_id: str | None, force: bool) -> None:
    """``qmp_blockdev_open_tray``: a device without a tray is no error."""
    do_open_tray(machine, device, qdev_id, force)


def close_tray(machine: Machine, device: str | None, qdev_id: str | None) -> None:
    """``qmp_blockdev_close_tray``."""
    blk = get_blk(machine, device, qdev_id)
    if not removable(blk):
        raise CoreError(M.MEDIA_NOT_REMOVABLE.format(device or qdev_id))
    if not has_tray(blk) or not tray_open(blk):
        return
    change_media(machine, blk, True)


def remove_medium(machine: Machine, device: str | None, qdev_id: str | None) -> None:
    """``blockdev_remove_medium``."""
    blk = get_blk(machine, device, qdev_id)
    attached = blk.device is not None
    if attached and not removable(blk):
        raise CoreError(M.MEDIA_NOT_REMOVABLE.format(device or qdev_id))
    if attached and has_tray(blk) and not tray_open(blk):
        raise CoreError(M.MEDIA_TRAY_NOT_OPEN.format(device or qdev_id))
    node = blk.root
    if node is None:
        return
    _remove_bs(machine, blk, node)
    if not has_tray(blk):
        change_media(machine, blk, False)


def _remove_bs(machine: Machine, blk: BlockBackend, node: BlockNode) -> None:
    """``blk_remove_bs``: the backend lets its node go (its options stay)."""
    layer = machine.block
    blk.root_read_only = node.read_only
    if blk.edge is not None and blk.edge in node.parents:
        node.parents.remove(blk.edge)
    blk.root = None
    blk.edge = None
    node.refcnt -= 1
    layer._refresh_perms(node, _Opening())
    layer._unref(node)


def insert_medium(machine: Machine, qdev_id: str | None, node_name: str) -> None:
    """``blockdev_insert_medium`` (the command names the device by id)."""
    blk = get_blk(machine, None, qdev_id)
    node = machine.block.nodes.get(node_name)
    if node is None:
        raise CoreError(M.MEDIA_NODE_NOT_FOUND.format(node_name))
    if machine.block.has_backend(node):
        raise CoreError(M.MEDIA_NODE_IN_USE.format(node_name))
    insert_anon_medium(machine, blk, node)


def insert_anon_medium(machine: Machine, blk: BlockBackend, node: BlockNode) -> None:
    """``qmp_blockdev_insert_anon_medium``: ``blk_insert_bs`` with the
    device's permissions; nothing changes if they conflict."""
    attached = blk.device is not None
    if attached and not removable(blk):
        raise CoreError(M.MEDIA_DEVICE_NOT_REMOVABLE)
    if attached and has_tray(blk) and not tray_open(blk):
        raise CoreError(M.MEDIA_TRAY_OF_DEVICE_NOT_OPEN)
    if blk.root is not None:
        raise CoreError(M.MEDIA_ALREADY_INSERTED)
    layer = machine.block
    edge = Edge(blk.user(), "root", blk, 0, 0, perms.ALL)
    node.parents.insert(0, edge)
    node.refcnt += 1
    blk.root, blk.edge = node, edge
    dev: Any = blk.device
    try:
        if dev is not None:
            cdrom = dev.typename in ("ide-cd", "scsi-cd")
            share_rw = bool(getattr(dev, "values", {}).get("share-rw", False))
            layer.realize_drive(
                blk, resizable=not cdrom, share_rw=share_rw, read_only=True if cdrom else None
            )
    except CoreError:
        node.parents.remove(edge)
        node.refcnt -= 1
        blk.root, blk.edge = None, None
        raise
    if not has_tray(blk):
        change_media(machine, blk, True)


def change_medium(
    machine: Machine,
    device: str | None,
    qdev_id: str | None,
    filename: str,
    fmt: str | None,
    force: bool,
    read_only_mode: str | None,
) -> None:
    """``qmp_blockdev_change_medium``: open the image, open the tray, swap
    the medium, close the tray; it stops at the first error, as QEMU does
    (the tray may be left open)."""
    blk = get_blk(machine, device, qdev_id)
    layer = machine.block
    if blk.root is not None:
        blk.root_read_only = blk.root.read_only
    read_only = blk.root_read_only
    if read_only_mode == "read-only":
        read_only = True
    elif read_only_mode == "read-write":
        read_only = False
    detect = blk.root.detect_zeroes if blk.root is not None else "off"
    probed = fmt is None
    if fmt is None:
        image.stat_file(filename, "file", read_only=read_only)
        fmt = image.probe_format(filename)
    file_options: dict[str, Any] = {"driver": "file", "filename": filename}
    if read_only:
        file_options["read-only"] = True
    options: dict[str, Any] = {"driver": fmt, "detect-zeroes": "on" if detect != "off" else "off"}
    if read_only:
        options["read-only"] = True
    opening = _Opening()
    if fmt == "file":
        options = {**file_options, "detect-zeroes": options["detect-zeroes"]}
    else:
        options["file"] = file_options
    try:
        medium = layer._open(options, opening)
    except CoreError:
        for child, edge in opening.edges:
            child.parents.remove(edge)
        raise
    medium.probed = probed
    layer._commit(opening)
    try:
        do_open_tray(machine, device, qdev_id, force)
        remove_medium(machine, device, qdev_id)
        insert_anon_medium(machine, blk, medium)
        close_tray(machine, device, qdev_id)
    finally:
        # bdrv_unref(medium_bs): the device holds it now, or nobody does.
        layer._unref(medium)


def eject(machine: Machine, device: str | None, qdev_id: str | None, force: bool) -> None:
    """``qmp_eject``: open the tray, then remove the medium."""
    do_open_tray(machine, device, qdev_id, force)
    remove_medium(machine, device, qdev_id)
