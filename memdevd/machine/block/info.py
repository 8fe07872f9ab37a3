"""What the block queries report of nodes and backends (block/qapi.c).

Builders return every member any emulated release has, in declared order;
the command layer shapes them to the release's schema
(:func:`memdevd.qapi.source_schema.shape`), so ``active`` (10.0) or the
``file`` format-specific info (8.0+) appear exactly where the release's
types have them.
"""

from __future__ import annotations

import os
from typing import Any

from memdevd.machine.block.graph import FILTER_DRIVERS, BlockBackend, BlockLayer, BlockNode
from memdevd.machine.block.image import (
    AUTOCLEAR_DATA_FILE_RAW,
    COMPAT_LAZY_REFCOUNTS,
    INCOMPAT_CORRUPT,
    INCOMPAT_DATA_FILE,
    INCOMPAT_DIRTY,
    INCOMPAT_EXTL2,
)

COMPRESSION_TYPES = ("zlib", "zstd")


def format_specific(node: BlockNode) -> dict[str, Any] | None:
    """``bdrv_get_specific_info``: qcow2's header facts, a file's (empty) info."""
    h = node.qcow2
    if h is not None:
        if h.qcow_version == 2:
            data: dict[str, Any] = {"compat": "0.10", "refcount-bits": 1 << h.refcount_order}
        else:
            data = {"compat": "1.1"}
            if h.data_file:
                data["data-file"] = h.data_file
            if h.incompatible & INCOMPAT_DATA_FILE:
                data["data-file-raw"] = bool(h.autoclear & AUTOCLEAR_DATA_FILE_RAW)
            data["extended-l2"] = bool(h.incompatible & INCOMPAT_EXTL2)
            data["lazy-refcounts"] = bool(h.compatible & COMPAT_LAZY_REFCOUNTS)
            data["corrupt"] = bool(h.incompatible & INCOMPAT_CORRUPT)
            data["refcount-bits"] = 1 << h.refcount_order
        data["compression-type"] = COMPRESSION_TYPES[min(h.compression_type, 1)]
        return {"type": "qcow2", "data": data}
    if node.driver in ("file", "host_device", "host_cdrom"):
        # raw_get_specific_info (8.0+); shaped away where the release lacks it.
        return {"type": "file", "data": {}}
    # raw-format has no bdrv_get_specific_info: nothing, whatever its file.
    return None


def _dirty_flag(node: BlockNode) -> bool | None:
    """``bdrv_get_info``'s is_dirty, None where the driver has no get_info."""
    if node.qcow2 is not None:
        return bool(node.qcow2.incompatible & INCOMPAT_DIRTY)
    if node.driver in ("file", "host_device", "host_cdrom"):
        return False
    if (node.driver == "raw" or node.driver in FILTER_DRIVERS) and node.file is not None:
        # raw and the filters forward bdrv_get_info to their child
        return _dirty_flag(node.file)
    return None


def full_backing_filename(node: BlockNode) -> str | None:
    """``bdrv_get_full_backing_filename``: the image's backing file name
    made absolute against the directory of the image file."""
    assert node.qcow2 is not None
    name = node.qcow2.backing_file
    if os.path.isabs(name) or "://" in name:
        return name
    if node.file is None or not node.file.exact_filename:
        return None
    return os.path.join(os.path.dirname(node.file.exact_filename), name)


#: Protocol drivers (leaves): their limits come from the host file.
_LEAF_DRIVERS = ("file", "host_device", "host_cdrom")
_SECTOR = 512


def limits(node: BlockNode) -> dict[str, Any]:
    """BlockLimitsInfo of ``bs->bl`` (ImageInfo.limits, the releases that
    have it; values as seen on QEMU 11.1): a leaf aligns requests and
    buffers to sectors with O_DIRECT (a host CD-ROM its requests always), a
    format takes the buffer alignment of its file child, a probed raw
    aligns requests to sectors, qcow2 discards and zeroes whole clusters;
    a node without a child (null-co) aligns buffers to sectors."""
    direct = node.cache_direct
    if node.driver in _LEAF_DRIVERS:
        request = _SECTOR if direct or node.driver == "host_cdrom" else 1
        min_mem = _SECTOR if direct else 1
    else:
        # Without a child, block.c's default buffer alignment (a sector).
        below = limits(node.file) if node.file is not None else {}
        request = _SECTOR if node.driver == "raw" and node.probed else 1
        min_mem = below.get("min-mem-alignment", _SECTOR)
    out: dict[str, Any] = {"request-alignment": request}
    if node.qcow2 is not None:
        cluster = 1 << node.qcow2.cluster_bits
        out["discard-alignment"] = cluster
        out["write-zeroes-alignment"] = cluster
    out.update({"max-iov": 1024, "min-mem-alignment": min_mem, "opt-mem-alignment": 4096})
    return out


def children(node: BlockNode) -> list[dict[str, Any]]:
    """BlockDeviceInfo.children: ``bs->children``, newest first (the backing
    file is attached after the file child)."""
    return [
        {"child": name, "node-name": child.node_name}
        for name, child in (("backing", node.backing), ("file", node.file))
        if child is not None
    ]


def image_info(node: BlockNode, flat: bool) -> dict[str, Any]:
    """``bdrv_query_image_info``."""
    info: dict[str, Any] = {
        "filename": node.filename,
        "format": node.driver,
    }
    dirty = _dirty_flag(node)
    if dirty is not None:
        info["dirty-flag"] = dirty
    if node.allocated is not None and node.allocated >= 0:
        info["actual-size"] = node.allocated
    info["virtual-size"] = node.length
    if node.qcow2 is not None:
        info["cluster-size"] = 1 << node.qcow2.cluster_bits
        if node.qcow2.backing_file:
            info["backing-filename"] = node.qcow2.backing_file
            full = full_backing_filename(node)
            if full is not None:
                info["full-backing-filename"] = full
            if node.qcow2.backing_format:
                info["backing-filename-format"] = node.qcow2.backing_format
    specific = format_specific(node)
    if specific is not None:
        info["format-specific"] = specific
    info["limits"] = limits(node)
    # bdrv_filter_or_cow_bs(): a filter's child, else the backing file
    below = node.file if node.driver in FILTER_DRIVERS else node.backing
    if not flat and below is not None:
        info["backing-image"] = image_info(below, False)
    return info


def node_info(node: BlockNode, blk: BlockBackend | None, flat: bool) -> dict[str, Any]:
    """``bdrv_block_device_info`` (BlockDeviceInfo)."""
    image = image_info(node, flat)
    depth = 0
    backing = image.get("backing-image")
    while backing is not None:
        depth += 1
        backing = backing.get("backing-image")
    info: dict[str, Any] = {
        "file": node.filename,
        "node-name": node.node_name,
        "ro": node.read_only,
        "drv": node.driver,
    }
    if node.backing is not None:
        info["backing_file"] = node.backing.filename
    info["children"] = children(node)
    info.update(
        {
            "backing_file_depth": depth,
            "active": True,
            "encrypted": False,
            "detect_zeroes": node.detect_zeroes,
            "bps": 0,
            "bps_rd": 0,
            "bps_wr": 0,
            "iops": 0,
            "iops_rd": 0,
            "iops_wr": 0,
            "image": image,
            "cache": {
                "writeback": blk.write_cache if blk is not None else True,
                "direct": node.cache_direct,
                "no-flush": node.cache_no_flush,
            },
            "write_threshold": node.write_threshold,
        }
    )
    if blk is not None and blk.throttle is not None:
        from memdevd.machine.block.throttle import info_fields

        info.update(info_fields(blk.throttle.config, blk.throttle.name))
    return info


def named_nodes(layer: BlockLayer, flat: bool) -> list[dict[str, Any]]:
    """``bdrv_named_nodes_list``: every node, the newest first (prepended)."""
    return [node_info(node, None, flat) for node in reversed(layer.nodes.values())]


def block_info(blk: BlockBackend) -> dict[str, Any]:
    """``bdrv_query_info`` (BlockInfo) of a backend."""
    dev = blk.device
    info: dict[str, Any] = {"device": blk.name}
    if dev is not None:
        info["qdev"] = dev.id or dev.canonical_path()
    info["type"] = "unknown"
    # blk_dev_has_removable_media(): no device, or one with change_media_cb
    info["removable"] = dev is None or bool(getattr(dev, "removable_media", False))
    info["locked"] = False
    if blk.root is not None:
        info["inserted"] = node_info(blk.root, blk, False)
    if dev is not None and getattr(dev, "has_tray", False):
        info["tray_open"] = bool(getattr(dev, "tray_open", False))
    if dev is not None and getattr(dev, "iostatus", True):
        info["io-status"] = "ok"
    return info


def query_block(layer: BlockLayer) -> list[dict[str, Any]]:
    """``qmp_query_block``: named backends and those a device uses, in order."""
    return [block_info(blk) for blk in layer.backends if blk.name or blk.device is not None]


#: BlockDeviceStats' counters (every release's; shaped to the release's)
_COUNTERS = (
    "rd_bytes",
    "wr_bytes",
    "zone_append_bytes",
    "unmap_bytes",
    "rd_operations",
    "wr_operations",
    "zone_append_operations",
    "flush_operations",
    "unmap_operations",
    "rd_total_time_ns",
    "wr_total_time_ns",
    "zone_append_total_time_ns",
    "flush_total_time_ns",
    "unmap_total_time_ns",
    "wr_highest_offset",
    "rd_merged",
    "wr_merged",
    "zone_append_merged",
    "unmap_merged",
    "failed_rd_operations",
    "failed_wr_operations",
    "failed_zone_append_operations",
    "failed_flush_operations",
    "failed_unmap_operations",
    "invalid_rd_operations",
    "invalid_wr_operations",
    "invalid_zone_append_operations",
    "invalid_flush_operations",
    "invalid_unmap_operations",
)


def _device_stats(account_invalid: bool, account_failed: bool) -> dict[str, Any]:
    """A BlockDeviceStats with nothing counted (memdevd does no I/O)."""
    stats: dict[str, Any] = dict.fromkeys(_COUNTERS, 0)
    stats["account_invalid"] = account_invalid
    stats["account_failed"] = account_failed
    stats["timed_stats"] = []
    return stats


def _timed(blk: BlockBackend) -> list[dict[str, Any]]:
    """``block_acct_interval_next``: the intervals in the order given."""
    out = []
    for length in blk.intervals:
        entry: dict[str, Any] = {"interval_length": length}
        for op in ("rd", "wr", "zone_append", "flush"):
            for kind in ("min", "max", "avg"):
                entry[f"{kind}_{op}_latency_ns"] = 0
        for op in ("rd", "wr", "zone_append"):
            entry[f"avg_{op}_queue_depth"] = 0.0
        out.append(entry)
    return out


def bds_stats(node: BlockNode | None, blk_level: bool) -> dict[str, Any]:
    """``bdrv_query_bds_stats``: the node, its data child as ``parent``, and
    (backend level) its COW child as ``backing``."""
    s: dict[str, Any] = {}
    if node is None:
        s["stats"] = _device_stats(False, False)
        return s
    if node.node_name:
        s["node-name"] = node.node_name
    s["stats"] = _device_stats(False, False)
    if node.driver in ("file", "host_device"):
        s["driver-specific"] = {
            "driver": node.driver,
            "discard-nb-ok": 0,
            "discard-nb-failed": 0,
            "discard-bytes-ok": 0,
        }
    if node.file is not None:
        s["parent"] = bds_stats(node.file, blk_level)
    # bdrv_filter_or_cow_bs(): a filter's child, else the COW child
    below = node.file if node.driver in FILTER_DRIVERS else node.backing
    if blk_level and below is not None:
        s["backing"] = bds_stats(below, blk_level)
    return s


def query_blockstats(layer: BlockLayer, query_nodes: bool) -> list[dict[str, Any]]:
    """``qmp_query_blockstats``: every node, or every backend a name or a
    device makes visible."""
    if query_nodes:
        return [bds_stats(node, False) for node in layer.nodes.values()]
    out = []
    for blk in layer.backends:
        if not blk.name and blk.device is None:
            continue
        s = bds_stats(blk.root, True)
        s["device"] = blk.name
        dev = blk.device
        if dev is not None:
            s["qdev"] = dev.id or dev.canonical_path()
        s["stats"]["account_invalid"] = blk.account_invalid
        s["stats"]["account_failed"] = blk.account_failed
        s["stats"]["timed_stats"] = _timed(blk)
        out.append(s)
    return out
