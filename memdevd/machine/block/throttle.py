"""I/O throttling as management tools see it (util/throttle.c, block/throttle-groups.c).

A BlockBackend with limits is a member of a named throttle group; the
group holds the configuration (``throttle_group_get_config``), so every
member reports the same limits in ``query-block`` and the last
``blk_set_io_limits`` wins for all of them.  A group lives while it has
members or is a ``throttle-group`` object.  Nothing is ever throttled:
memdevd does no I/O.
"""

from __future__ import annotations

from dataclasses import field
from typing import Final

from memdevd import messages as M
from memdevd.machine.errors import CoreError
from memdevd.records import record

#: THROTTLE_VALUE_MAX
VALUE_MAX: Final = 1000000000000000
#: BucketType order: (query-block name, -drive/QMP name stem)
BUCKETS: Final = ("bps", "bps_rd", "bps_wr", "iops", "iops_rd", "iops_wr")
#: -drive's throttling.* names, in BUCKETS order
DRIVE_NAMES: Final = (
    "bps-total",
    "bps-read",
    "bps-write",
    "iops-total",
    "iops-read",
    "iops-write",
)


@record
class Bucket:
    """A LeakyBucket's configuration: rate, burst rate, burst length (s)."""

    avg: float = 0
    max: float = 0
    burst_length: int = 1


@record
class ThrottleConfig:
    """``ThrottleConfig`` (``throttle_config_init``: all zero, bursts of 1 s)."""

    buckets: list[Bucket] = field(default_factory=lambda: [Bucket() for _ in BUCKETS])
    op_size: int = 0

    def enabled(self) -> bool:
        """``throttle_enabled``: some rate is set."""
        return any(b.avg > 0 for b in self.buckets)

    def copy(self) -> ThrottleConfig:
        return ThrottleConfig(
            [Bucket(b.avg, b.max, b.burst_length) for b in self.buckets], self.op_size
        )


def validate(cfg: ThrottleConfig) -> None:
    """``throttle_is_valid``, its checks in its order."""
    b = cfg.buckets
    bps, bps_rd, bps_wr, ops, ops_rd, ops_wr = b
    if (
        (bps.avg and (bps_rd.avg or bps_wr.avg))
        or (ops.avg and (ops_rd.avg or ops_wr.avg))
        or (bps.max and (bps_rd.max or bps_wr.max))
        or (ops.max and (ops_rd.max or ops_wr.max))
    ):
        raise CoreError(M.THROTTLE_TOTAL_AND_RW)
    if cfg.op_size and not ops.avg and not ops_rd.avg and not ops_wr.avg:
        raise CoreError(M.THROTTLE_IOPS_SIZE_NEEDS_IOPS)
    for bkt in b:
        if bkt.avg > VALUE_MAX or bkt.max > VALUE_MAX:
            raise CoreError(M.THROTTLE_VALUE_RANGE.format(VALUE_MAX))
        if not bkt.burst_length:
            raise CoreError(M.THROTTLE_BURST_LENGTH_ZERO)
        if bkt.burst_length > 1 and not bkt.max:
            raise CoreError(M.THROTTLE_BURST_LENGTH_WITHOUT_RATE)
        if bkt.max and bkt.burst_length > VALUE_MAX / bkt.max:
            raise CoreError(M.THROTTLE_BURST_LENGTH_TOO_HIGH)
        if bkt.max and not bkt.avg:
            raise CoreError(M.THROTTLE_MAX_NEEDS_AVG)
        if bkt.max and bkt.max < bkt.avg:
            raise CoreError(M.THROTTLE_MAX_BELOW_AVG)


@record
class ThrottleGroup:
    """A named group: its configuration and how many hold it."""

    name: str
    config: ThrottleConfig = field(default_factory=ThrottleConfig)
    refcnt: int = 0
    # made by -object/object-add throttle-group (kept without members)
    is_object: bool = False


class ThrottleGroups:
    """``throttle_groups``: the groups by name."""

    def __init__(self) -> None:
        self.groups: dict[str, ThrottleGroup] = {}

    def incref(self, name: str) -> ThrottleGroup:
        """``throttle_group_incref``: the group, made if it does not exist."""
        group = self.groups.get(name)
        if group is None:
            group = self.groups[name] = ThrottleGroup(name)
        group.refcnt += 1
        return group

    def unref(self, group: ThrottleGroup) -> None:
        group.refcnt -= 1
        if group.refcnt <= 0 and not group.is_object:
            self.groups.pop(group.name, None)


def info_fields(cfg: ThrottleConfig, group: str) -> dict[str, object]:
    """``bdrv_block_device_info``'s throttling members (BlockDeviceInfo order
    of the rates; the optional ones only where their burst rate is set)."""
    out: dict[str, object] = {}
    for name, bkt in zip(BUCKETS, cfg.buckets, strict=True):
        out[name] = int(bkt.avg)
    for name, bkt in zip(BUCKETS, cfg.buckets, strict=True):
        if bkt.max:
            out[f"{name}_max"] = int(bkt.max)
    for name, bkt in zip(BUCKETS, cfg.buckets, strict=True):
        if bkt.max:
            out[f"{name}_max_length"] = bkt.burst_length
    if cfg.op_size:
        out["iops_size"] = cfg.op_size
    out["group"] = group
    return out


def object_config(values: dict[str, object]) -> ThrottleConfig:
    """A throttle-group object's configuration: ``limits`` (ThrottleLimits)
    and the legacy ``x-*`` properties, as its setters fill it."""
    cfg = ThrottleConfig()
    limits = values.get("limits")
    merged: dict[str, object] = dict(limits) if isinstance(limits, dict) else {}
    for key, value in values.items():
        if key.startswith("x-"):
            merged[key[2:]] = value
    for name, bkt in zip(DRIVE_NAMES, cfg.buckets, strict=True):
        bkt.avg = float(_int(merged.get(name), 0))
        bkt.max = float(_int(merged.get(f"{name}-max"), 0))
        bkt.burst_length = _int(merged.get(f"{name}-max-length"), 1)
    cfg.op_size = _int(merged.get("iops-size"), 0)
    return cfg


def _int(value: object, default: int) -> int:
    return value if isinstance(value, int) else default
