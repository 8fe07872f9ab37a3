"""Test controls: memdevd-only commands that steer the emulation (``x-memdevd-``).

What a test of management software needs and a real QEMU cannot give:

``x-memdevd-reset``
    Back to the start-up state (the machine the command line built),
    without restarting the daemon or dropping connections; injected faults
    are cleared, snapshots kept.
``x-memdevd-snapshot`` / ``x-memdevd-restore`` / ``x-memdevd-query-snapshots``
    Save the whole machine under a name and return to it later.
``x-memdevd-set-guest`` / ``x-memdevd-query-guest``
    The simulated guest's behaviour, machine-wide or for one device.
``x-memdevd-advance-clock``
    Move the emulation's clock forward: due guest reactions and held
    events happen now, in deadline order, so a test never sleeps.
``x-memdevd-inject-fault`` / ``x-memdevd-query-faults`` / ``x-memdevd-clear-faults``
    Make matching commands fail, answer late or lose the connection.

None of them is subject to injected faults or counts as a guest poll.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from memdevd import messages as M
from memdevd.commands.base import Runtime, command, no_args, parse_args
from memdevd.commands.declare import HandlerT
from memdevd.machine import snapshot
from memdevd.machine.clock import VirtualClock
from memdevd.machine.guest import GuestConfig, VirtioMemGuestRate
from memdevd.qapi.control import NoArgs
from memdevd.qapi.memdevd_control import (
    AdvanceClockArgs,
    InjectFaultArgs,
    QueryGuestArgs,
    SetGuestArgs,
    SnapshotArgs,
)
from memdevd.qapi.schema import QAPIModel
from memdevd.qmp.errors import QMPError
from memdevd.qmp.session import Session

DEFAULT_SNAPSHOT = "default"
# A billion seconds (three decades): far beyond any test, far below overflow.
MAX_ADVANCE_NS = 10**18


def describe_guest(config: GuestConfig) -> dict[str, Any]:
    out: dict[str, Any] = {
        "guest": config.describe(),
        "virtio-mem-driver": config.virtio_mem_driver,
    }
    rate = config.virtio_mem_rate
    if rate is not None:
        out["vmem-rate"] = f"{rate.bytes_per_step}/{rate.step_ns / 1e9:g}"
    return out


def control(
    name: str, args: type[QAPIModel], returns: Any = None
) -> Callable[[HandlerT], HandlerT]:
    """A test control's declaration: allowed in preconfig, never subject to
    injected faults; ``args`` and ``returns`` are what query-qmp-schema shows."""
    return command(name, allow_preconfig=True, no_faults=True, qapi=(args, returns))


# -- reset and snapshots ------------------------------------------------------------


@control("x-memdevd-reset", NoArgs)
def reset(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    no_args(args)
    if rt.rebuild is None:
        raise QMPError(M.CANNOT_REBUILD)
    if rt.machine.has_net:
        # The netdevs' host side (bound ports, taps) is made anew.
        rt.machine.net.close_host()
    fresh = rt.rebuild()
    snapshot.restore(rt.machine, snapshot.take(fresh))
    if rt.faults is not None:
        rt.faults.clear()


@control("x-memdevd-snapshot", SnapshotArgs)
def take_snapshot(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    parsed = parse_args(SnapshotArgs, args)
    rt.snapshots[parsed.name or DEFAULT_SNAPSHOT] = snapshot.take(rt.machine)


@control("x-memdevd-restore", SnapshotArgs)
def restore(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    parsed = parse_args(SnapshotArgs, args)
    name = parsed.name or DEFAULT_SNAPSHOT
    snap = rt.snapshots.get(name)
    if snap is None:
        raise QMPError(M.NO_SNAPSHOT.format(name))
    snapshot.restore(rt.machine, snap)


@control("x-memdevd-query-snapshots", NoArgs, Any)
def query_snapshots(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    no_args(args)
    return [{"name": name} for name in rt.snapshots]


# -- the simulated guest ---------------------------------------------------------------


@control("x-memdevd-set-guest", SetGuestArgs, Any)
def set_guest(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    parsed = parse_args(SetGuestArgs, args)
    guest = rt.machine.guest
    device = parsed.device
    if device is not None and parsed.guest == "default":
        # Back to the machine-wide behaviour.
        if parsed.virtio_mem_driver is not None or parsed.vmem_rate is not None:
            raise QMPError(M.GUEST_DEFAULT_ALONE)
        guest.clear_override(device)
        return describe_guest(guest.config)
    base = guest.config_for_id(device)
    config = base
    if parsed.guest is not None:
        try:
            config = config.with_behaviour(GuestConfig.parse(parsed.guest))
        except ValueError:
            raise QMPError(
                M.SETTING_BAD_VALUE.format("guest", parsed.guest, M.GUEST_CHOICES)
            ) from None
    if parsed.vmem_rate is not None:
        try:
            rate = VirtioMemGuestRate.parse(parsed.vmem_rate)
        except ValueError:
            raise QMPError(
                M.SETTING_BAD_VALUE.format("vmem-rate", parsed.vmem_rate, M.VMEM_RATE_CHOICES)
            ) from None
        config = replace(config, virtio_mem_rate=rate)
    if parsed.virtio_mem_driver is not None:
        config = replace(config, virtio_mem_driver=parsed.virtio_mem_driver)
    guest.set_config(config, device)
    return describe_guest(config)


@control("x-memdevd-query-guest", QueryGuestArgs, Any)
def query_guest(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    parsed = parse_args(QueryGuestArgs, args)
    guest = rt.machine.guest
    if parsed.device is not None:
        return describe_guest(guest.config_for_id(parsed.device))
    out = describe_guest(guest.config)
    out["devices"] = [
        {"device": dev_id, **describe_guest(config)} for dev_id, config in guest.overrides.items()
    ]
    return out


# -- time ------------------------------------------------------------------------------


@control("x-memdevd-advance-clock", AdvanceClockArgs, Any)
def advance_clock(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    parsed = parse_args(AdvanceClockArgs, args)
    if (parsed.ns is None) == (parsed.seconds is None):
        raise QMPError(M.CLOCK_NS_OR_SECONDS)
    if parsed.seconds is not None:
        if not 0 <= parsed.seconds <= MAX_ADVANCE_NS / 1e9:
            raise QMPError(M.INVALID_PARAMETER_VALUE.format("seconds", "a number from 0 to 1e9"))
        delta = int(parsed.seconds * 1e9)
    else:
        assert parsed.ns is not None
        if not 0 <= parsed.ns <= MAX_ADVANCE_NS:
            raise QMPError(M.INVALID_PARAMETER_VALUE.format("ns", "a number from 0 to 1e18"))
        delta = parsed.ns
    clock = rt.machine.clock
    ran = clock.advance(delta)
    return {
        "clock": "virtual" if isinstance(clock, VirtualClock) else "real",
        "now-ns": clock.now_ns(),
        "timers-run": ran,
    }


# -- faults ----------------------------------------------------------------------------


@control("x-memdevd-inject-fault", InjectFaultArgs, Any)
def inject_fault(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    parsed = parse_args(InjectFaultArgs, args)
    if rt.faults is None:
        raise QMPError(M.FAULTS_NEED_SERVER)
    action = parsed.action or "error"
    options: dict[str, Any] = {}
    if parsed.error_class is not None or parsed.desc is not None:
        if action != "error":
            raise QMPError(M.FAULT_ERROR_OPTIONS)
        if parsed.error_class is not None:
            options["error_class"] = parsed.error_class
        if parsed.desc is not None:
            options["desc"] = parsed.desc
    if parsed.delay is not None:
        if action != "delay":
            raise QMPError(M.FAULT_DELAY_OPTION)
        if not 0 <= parsed.delay <= 3600:
            raise QMPError(M.INVALID_PARAMETER_VALUE.format("delay", "a number from 0 to 3600"))
        options["delay_s"] = parsed.delay
    elif action == "delay":
        raise QMPError(M.MISSING_PARAMETER.format("delay"))
    if parsed.arguments is not None:
        if not isinstance(parsed.arguments, dict):
            raise QMPError(M.INVALID_PARAMETER_TYPE.format("arguments", "object"))
        options["arguments"] = parsed.arguments
    if parsed.count is not None:
        options["count"] = parsed.count
    fault = rt.faults.add(parsed.command, action, **options)
    return {"id": fault.id}


@control("x-memdevd-query-faults", NoArgs, Any)
def query_faults(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    no_args(args)
    return [f.describe() for f in rt.faults.rules] if rt.faults is not None else []


@control("x-memdevd-clear-faults", NoArgs)
def clear_faults(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    no_args(args)
    if rt.faults is not None:
        rt.faults.clear()
