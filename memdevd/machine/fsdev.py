"""File system devices: ``-fsdev`` and ``-virtfs`` exports for 9p devices.

``qemu_fsdev_add`` (fsdev/qemu-fsdev.c) checks an fsdev's options in its
order: an id, a known driver, each option one the driver takes, then the
driver's own (``local_parse_opts``: security model, multidevs, path,
throttling, modes; 7.2's ``proxy_parse_opts``: a socket or a descriptor).
A 9p device (``virtio-9p-device``, inside ``virtio-9p-pci``) finds its
fsdev when realized (``v9fs_device_realize_common``): its mount tag, then
the driver's init (the ``local`` share opened as a directory) and the
share's ``lstat``.  Nothing is served to a guest; no file is written.
"""

from __future__ import annotations

import os
import stat
from typing import TYPE_CHECKING, Any, Final

from memdevd import messages as M
from memdevd.machine.errors import CoreError
from memdevd.records import record

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine
    from memdevd.releases.table import Release

#: COMMON_FS_DRIVER_OPTIONS and each driver's own (FsDrivers)
_COMMON: Final = ("id", "fsdriver", "readonly")
_THROTTLE: Final = (
    *(
        f"throttling.{name}{suffix}"
        for suffix in ("", "-max", "-max-length")
        for name in ("bps-total", "bps-read", "bps-write", "iops-total", "iops-read", "iops-write")
    ),
    "throttling.iops-size",
)
DRIVER_OPTIONS: Final = {
    "local": (
        *_COMMON,
        "security_model",
        "path",
        "writeout",
        "fmode",
        "dmode",
        "multidevs",
        *_THROTTLE,
    ),
    "synth": _COMMON,
    "proxy": (*_COMMON, "socket", "sock_fd", "writeout"),
}
SECURITY_MODELS: Final = ("passthrough", "mapped", "mapped-xattr", "none", "mapped-file")
MULTIDEVS: Final = ("remap", "forbid", "warn")
#: hw/9pfs/9p.h MAX_TAG_LEN
MAX_TAG_LEN: Final = 32


@record
class FsDev:
    """An ``FsDriverEntry``."""

    fsdev_id: str
    driver: str
    path: str | None = None
    readonly: bool = False


def fsdev_add(
    fsdevs: dict[str, FsDev],
    fsdev_id: str | None,
    opts: list[tuple[str, str]],
    release: Release,
) -> FsDev:
    """``qemu_fsdev_add`` of a QemuOpts (``opts``: its options in order,
    values as given; types were checked when it was parsed)."""
    values = dict(opts)
    if not fsdev_id:
        raise CoreError(M.FSDEV_NO_ID)
    driver = values.get("fsdriver")
    if driver is None:
        raise CoreError(M.FSDEV_NO_DRIVER)
    if driver not in release.fsdev_drivers:
        raise CoreError(M.FSDEV_DRIVER_NOT_FOUND.format(driver))
    for name, _ in opts:
        if name not in DRIVER_OPTIONS[driver]:
            raise CoreError(M.FSDEV_OPT_INVALID.format(name, driver))
    fsdev = FsDev(fsdev_id, driver, readonly=values.get("readonly") in ("on", "yes", "true", "y"))
    if driver == "local":
        _local_parse_opts(fsdev, values)
    elif driver == "proxy":
        socket, sock_fd = values.get("socket"), values.get("sock_fd")
        # (its hint is lost: no ERRP_GUARD under &error_fatal)
        if socket is None and sock_fd is None:
            raise CoreError(M.FSDEV_PROXY_SOCKET_MISSING)
        if socket is not None and sock_fd is not None:
            raise CoreError(M.FSDEV_PROXY_SOCKET_BOTH)
        fsdev.path = socket if socket is not None else sock_fd
    fsdevs[fsdev_id] = fsdev
    return fsdev


def _local_parse_opts(fsdev: FsDev, values: dict[str, str]) -> None:
    from memdevd.machine.block.throttle import DRIVE_NAMES, ThrottleConfig, validate

    model = values.get("security_model")
    if model is None:
        raise CoreError(M.FSDEV_SECURITY_MODEL_NOT_SET, hint=M.FSDEV_SECURITY_MODEL_HINT)
    if model not in SECURITY_MODELS:
        raise CoreError(
            M.FSDEV_SECURITY_MODEL_INVALID.format(model), hint=M.FSDEV_SECURITY_MODEL_HINT
        )
    multidevs = values.get("multidevs")
    if multidevs is not None and multidevs not in MULTIDEVS:
        raise CoreError(M.FSDEV_MULTIDEVS_INVALID.format(multidevs), hint=M.FSDEV_MULTIDEVS_HINT)
    path = values.get("path")
    if path is None:
        raise CoreError(M.FSDEV_PATH_NOT_SET)
    # fsdev_throttle_parse_opts: the numbers QemuOpts parsed
    cfg = ThrottleConfig()
    for bkt, name in zip(cfg.buckets, DRIVE_NAMES, strict=True):
        bkt.avg = float(_number(values.get(f"throttling.{name}"), 0))
        bkt.max = float(_number(values.get(f"throttling.{name}-max"), 0))
        bkt.burst_length = _number(values.get(f"throttling.{name}-max-length"), 1)
    cfg.op_size = _number(values.get("throttling.iops-size"), 0)
    try:
        validate(cfg)
    except CoreError as exc:
        raise CoreError(M.FSDEV_THROTTLE_INVALID.format(exc.desc)) from None
    if model not in ("mapped", "mapped-xattr", "mapped-file"):
        if "fmode" in values:
            raise CoreError(M.FSDEV_FMODE_NOT_MAPPED)
        if "dmode" in values:
            raise CoreError(M.FSDEV_DMODE_NOT_MAPPED)
    fsdev.path = path


def _number(text: str | None, default: int) -> int:
    """qemu_opt_get_number of a value QemuOpts parsed as a number."""
    if text is None:
        return default
    return int(text, 0)


def realize_9p(machine: Machine, values: dict[str, Any]) -> None:
    """``v9fs_device_realize_common``'s checks, in its order."""
    fsdev_id = values.get("fsdev")
    fsdev = machine.fsdevs.get(fsdev_id) if fsdev_id else None
    if fsdev is None:
        raise CoreError(M.V9FS_NO_FSDEV.format(fsdev_id if fsdev_id is not None else "NULL"))
    tag = values.get("mount_tag")
    if tag is None:
        raise CoreError(M.V9FS_NO_MOUNT_TAG.format(fsdev_id))
    length = len(str(tag).encode())
    if length > MAX_TAG_LEN - 1:
        raise CoreError(M.V9FS_TAG_TOO_LONG.format(tag, length, MAX_TAG_LEN - 1))
    if fsdev.driver == "proxy":
        # proxy_init connects to virtfs-proxy-helper, which memdevd is not
        raise CoreError(M.OPTION_NOT_EMULATED.format("-fsdev proxy"))
    if fsdev.driver == "local":
        path = str(fsdev.path)
        # local_init: open(fs_root, O_DIRECTORY | O_RDONLY)
        try:
            os.close(os.open(path, os.O_DIRECTORY | os.O_RDONLY))
        except OSError as exc:
            text = machine.release.fsdev_local_open_failed_text.format(
                path, os.strerror(exc.errno or 0)
            )
            raise CoreError(M.V9FS_INIT_FAILED.format(fsdev_id, text)) from None
        # lstat of "/" in the share: the directory just opened
        if not stat.S_ISDIR(os.stat(path).st_mode):
            raise CoreError(M.V9FS_SHARE_NOT_DIRECTORY.format(path))
