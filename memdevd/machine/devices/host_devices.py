"""The realize of catalog devices that need something of the host.

``vhost-vsock-device`` (hw/virtio/vhost-vsock.c) and
``vhost-user-fs-device`` (hw/virtio/vhost-user-fs.c) check their
properties, then need the host: the vsock backend opens
``/dev/vhost-vsock`` (looked at here as QEMU does, then closed: memdevd
claims no CID), the virtio-fs backend talks vhost-user over its chardev
(memdevd's socket chardevs connect or listen as QEMU's do; nothing is
said on them).  ``vfio-pci`` (hw/vfio/pci.c) finds its host device in
sysfs and its IOMMU group, failing as QEMU fails on a host without them;
a device that has both is refused by name (nothing is assigned).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from memdevd import messages as M
from memdevd.machine.errors import CoreError

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine

# include/hw/virtio/virtio.h, include/standard-headers/linux/virtio_fs.h
VIRTQUEUE_MAX_SIZE = 1024
VIRTIO_FS_TAG_SIZE = 36


def _vhost_vsock(machine: Machine, values: dict[str, Any]) -> None:
    """``vhost_vsock_device_realize``."""
    cid = int(values.get("guest-cid", 0))
    if cid <= 2:
        raise CoreError(M.VSOCK_GUEST_CID_RESERVED)
    if cid > 0xFFFFFFFF:
        raise CoreError(M.VSOCK_GUEST_CID_32BIT)
    if values.get("vhostfd"):
        # monitor_fd_param: memdevd holds no descriptor a monitor passed.
        raise CoreError(M.OPTION_NOT_EMULATED.format("vhost-vsock vhostfd="))
    from memdevd.machine.net import host

    fd, err = host.open_device("/dev/vhost-vsock")
    if fd < 0:
        raise CoreError(machine.release.vsock_vhost_open_failed_text.format(os.strerror(err)))
    host.close_own(fd)


def _vhost_user_fs(machine: Machine, values: dict[str, Any]) -> None:
    """``vuf_device_realize``: its checks, then ``vhost_dev_init`` over the
    chardev, whose first message cannot go out on a socket nobody has
    connected to yet."""
    label = values.get("chardev")
    if not label:
        raise CoreError(M.VHOST_USER_FS_MISSING_CHARDEV)
    tag = values.get("tag")
    if tag is None:
        raise CoreError(M.VHOST_USER_FS_MISSING_TAG)
    if not tag:
        raise CoreError(M.VHOST_USER_FS_EMPTY_TAG)
    if len(str(tag).encode()) > VIRTIO_FS_TAG_SIZE:
        raise CoreError(M.VHOST_USER_FS_TAG_TOO_LONG.format(VIRTIO_FS_TAG_SIZE))
    if int(values.get("num-request-queues", 1)) == 0:
        raise CoreError(M.VHOST_USER_FS_NO_QUEUES)
    size = int(values.get("queue-size", 128))
    if size & (size - 1) or size == 0:
        raise CoreError(M.VHOST_USER_FS_QUEUE_SIZE_POW2)
    if size > VIRTQUEUE_MAX_SIZE:
        raise CoreError(M.VHOST_USER_FS_QUEUE_SIZE_MAX.format(VIRTQUEUE_MAX_SIZE))
    from memdevd.machine.chardev.core import Chardev

    chardev = machine.chardevs.children.get(str(label))
    if not (isinstance(chardev, Chardev) and chardev.connected()):
        # vhost_user_write(): qemu_chr_fe_set_msgfds() fails unconnected.
        err = CoreError(M.VHOST_BACKEND_INIT_FAILED.format(os.strerror(errno.EPROTO)))
        err.reported = (M.VHOST_USER_SET_MSG_FDS_FAILED,)
        raise err


def parse_pci_host_devaddr(text: str) -> str | None:
    """``set_pci_host_devaddr``: ``[domain:]bus:slot.function`` as QEMU
    prints it back (``%04x:%02x:%02x.%d``), or None if invalid."""
    from memdevd.util.cutils import strtoull

    def number(pos: int, base: int) -> tuple[int, int] | None:
        value, end, _ = strtoull(text[pos:], base)
        return None if end == 0 else (value, pos + end)

    first = number(0, 16)
    if first is None or text[first[1] : first[1] + 1] != ":":
        return None
    dom, (bus, pos) = 0, first
    second = number(pos + 1, 16)
    if second is None:
        return None
    val, pos = second
    if text[pos : pos + 1] == ":":
        dom, bus = bus, val
        third = number(pos + 1, 16)
        if third is None:
            return None
        val, pos = third
    slot = val
    if text[pos : pos + 1] != ".":
        return None
    fourth = number(pos + 1, 10)
    if fourth is None:
        return None
    func, pos = fourth
    if dom > 0xFFFF or bus > 0xFF or slot > 0x1F or func > 7 or pos != len(text):
        return None
    return f"{dom:04x}:{bus:02x}:{slot:02x}.{func}"


def _vfio_pci(machine: Machine, values: dict[str, Any]) -> None:
    """``vfio_realize`` up to the host device's IOMMU group."""
    sysfsdev = values.get("sysfsdev")
    if values.get("fd"):
        # vfio_device_get_name(): a passed descriptor needs iommufd.
        raise CoreError(M.VFIO_FD_NEEDS_IOMMUFD)
    if not sysfsdev:
        host = values.get("host")
        if not host:
            raise CoreError(M.VFIO_NO_HOST_DEVICE, hint=machine.release.vfio_no_host_hint)
        sysfsdev = f"/sys/bus/pci/devices/{host}"
    sysfsdev = str(sysfsdev)
    try:
        os.stat(sysfsdev)
    except OSError as exc:
        raise CoreError(
            M.VFIO_NO_SUCH_HOST_DEVICE.format(sysfsdev, os.strerror(exc.errno or errno.ENOENT))
        ) from None
    name = os.path.basename(sysfsdev)
    group = os.path.join(sysfsdev, "iommu_group")
    try:
        os.readlink(group)
    except OSError as exc:
        raise CoreError(
            M.VFIO_NO_IOMMU_GROUP.format(name, os.strerror(exc.errno or errno.ENOENT))
        ) from None
    raise CoreError(M.VFIO_NOT_EMULATED.format(name))


#: backend type (a virtio proxy's inner device, else the type itself) ->
#: its realize (on the device's property values).
def _virtio_9p(machine: Machine, values: dict[str, Any]) -> None:
    """``virtio_9p_device_realize``: its fsdev and share (machine/fsdev.py)."""
    from memdevd.machine.fsdev import realize_9p

    realize_9p(machine, values)


REALIZE_CHECKS: dict[str, Callable[[Machine, dict[str, Any]], None]] = {
    "virtio-9p-device": _virtio_9p,
    "vhost-vsock-device": _vhost_vsock,
    "vhost-user-fs-device": _vhost_user_fs,
    "vfio-pci": _vfio_pci,
}
