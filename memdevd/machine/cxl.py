"""The machine's CXL state (hw/cxl/cxl-host.c, include/hw/cxl/cxl.h ``CXLState``).

A pc or q35 machine has the properties ``cxl`` (on/off) and ``cxl-fmw``,
the list of fixed memory windows (``-machine
cxl-fmw.0.targets.0=cxl.1,cxl-fmw.0.size=4G``).  Setting the list visits
it (the visitor's "Parameter 'cxl-fmw.0.targets' is missing"), then checks
each window as ``cxl_fixed_memory_window_config`` does, in its order: the
number of targets (an interleave of 1, 2, 3, 4, 6, 8, 12 or 16 ways), the
size (a multiple of 256 MiB), the interleave granularity (a power of two
from 256 to 16 KiB).  The board places the host register region (1 MiB)
and the windows above device memory (``pc_memory_init``); once the
command line's devices exist (``pc_machine_done``) a ``pxb-cxl`` without
``cxl=on`` is refused and each window's targets must name a ``pxb-cxl``.

Nothing is accessible through the windows: memdevd models where they are,
not CXL decoding (docs/divergences.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from memdevd import messages as M
from memdevd.machine.errors import CoreError
from memdevd.machine.qom import Prop, QOMObject

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine
    from memdevd.qapi.visitor import InputVisitor
    from memdevd.releases.table import Release

MiB = 1 << 20
#: pc_memory_init: the CXL host bridges' register region.
CXL_HOST_REG_SIZE = MiB
#: CXL2_COMPONENT_BLOCK_SIZE: each host bridge's registers in that region.
CXL_COMPONENT_BLOCK_SIZE = 64 << 10
#: The windows start 256 MiB aligned after it; each is a multiple of that.
CXL_FMW_ALIGN = 256 * MiB
#: cxl_interleave_ways_enc: the interleaves a window may have.
INTERLEAVE_WAYS = (1, 2, 4, 8, 16, 3, 6, 12)
#: cxl_interleave_granularity_enc: 256 bytes to 16 KiB.
INTERLEAVE_GRANULARITIES = (256, 512, 1024, 2048, 4096, 8192, 16384)


@dataclass
class CXLFixedWindow:
    """``CXLFixedWindow`` with the option it came from."""

    size: int
    targets: list[str]
    interleave_granularity: int | None = None
    # Set by the board (pc_memory_init).
    base: int = 0
    # 11.1: the window's cxl-fmw device, which owns its memory region.
    device: Any = None


@dataclass
class CXLState:
    """``CXLState``: what ``-machine cxl=,cxl-fmw.*`` set."""

    is_enabled: bool = False
    fixed_windows: list[CXLFixedWindow] = field(default_factory=list)
    # cfmw_list: the list last set, as QOM reads it (kept even when a
    # window of it was refused).
    cfmw_list: list[CXLFixedWindow] = field(default_factory=list)
    # The host register region's base (pc_get_cxl_range_start), once placed.
    host_reg_base: int | None = None


class CXLFixedWindowDevice(QOMObject):
    """11.1's ``cxl-fmw``: each fixed memory window as a sysbus device
    under /machine/unattached, owning ``cxl-fixed-memory-region[0]``."""

    type_chain: ClassVar[tuple[str, ...]] = ("cxl-fmw", "sys-bus-device", "device", "object")

    def __init__(self) -> None:
        super().__init__()
        # A realized sysbus device's qdev properties (seen live).
        for name, ptype, value in (
            ("parent_bus", "link<bus>", "/machine/unattached/sysbus"),
            ("realized", "bool", True),
            ("hotplugged", "bool", False),
            ("hotpluggable", "bool", False),
        ):
            self.add_prop(Prop(name, ptype, _constant(value)))


def _constant(value: Any) -> Any:
    def get(obj: QOMObject) -> Any:
        return value

    return get


def create_window_devices(machine: Machine, state: CXLState) -> None:
    """``Release.cxl_fmw_devices``: a ``cxl-fmw`` device per window, made
    before the board's vCPUs (they take the first device[N])."""
    for window in state.fixed_windows:
        window.device = CXLFixedWindowDevice()
        machine.unattached.add_child(f"device[{machine.unattached_counter}]", window.device)
        machine.unattached_counter += 1


def visit_cfmw_list(v: InputVisitor, name: str) -> list[CXLFixedWindow]:
    """``visit_type_CXLFixedMemoryWindowOptionsList``: members in QAPI order."""
    v.start_list(name)
    out: list[CXLFixedWindow] = []
    while v.has_next():
        v.start_struct(None)
        size = v.type_size("size")
        granularity = (
            v.type_size("interleave-granularity") if v.optional("interleave-granularity") else None
        )
        v.start_list("targets")
        targets: list[str] = []
        while v.has_next():
            targets.append(v.type_str(None))
        v.end_list()
        v.check_struct()
        v.end_struct()
        out.append(CXLFixedWindow(size, targets, granularity))
    v.end_list()
    return out


def check_window(window: CXLFixedWindow, release: Release) -> None:
    """``cxl_fixed_memory_window_config``'s checks, in its order."""
    ways = len(window.targets)
    if ways not in INTERLEAVE_WAYS:
        raise CoreError(M.CXL_INTERLEAVE_WAYS.format(ways))
    if window.size % CXL_FMW_ALIGN:
        raise CoreError(release.cxl_fmw_size_text)
    granularity = window.interleave_granularity
    if granularity is not None and granularity not in INTERLEAVE_GRANULARITIES:
        raise CoreError(M.CXL_INTERLEAVE_GRANULARITY.format(granularity))


def parse_cfmw_option(value: Any, *, keyval: bool = True) -> list[CXLFixedWindow]:
    """``visit_type_CXLFixedMemoryWindowOptionsList`` of ``-machine
    cxl-fmw.*`` (keyval) or a JSON value; :func:`set_cfmw` checks them."""
    from memdevd.qapi.visitor import InputVisitor, VisitError

    v = InputVisitor({"cxl-fmw": value}, keyval=keyval)
    try:
        v.start_struct(None)
        windows = visit_cfmw_list(v, "cxl-fmw")
    except VisitError as exc:
        raise CoreError(exc.desc) from None
    return windows


def parse_cxl_option(value: Any, *, keyval: bool = True) -> bool:
    """``machine_set_cxl``: a bool."""
    from memdevd.qapi.visitor import InputVisitor, VisitError

    v = InputVisitor({"cxl": value}, keyval=keyval)
    try:
        v.start_struct(None)
        return v.type_bool("cxl")
    except VisitError as exc:
        raise CoreError(exc.desc) from None


def state_of(options: dict[str, Any]) -> CXLState:
    """The machine's CXLState, kept in the board options."""
    state = options.get("cxl")
    if not isinstance(state, CXLState):
        state = options["cxl"] = CXLState()
    return state


def set_cfmw(state: CXLState, windows: list[CXLFixedWindow], release: Release) -> None:
    """``machine_set_cfmw`` after the visit: each window is checked and
    appended to the machine's windows (until the board placed them); the
    list is kept as the property's value even when one is refused, and
    the first refusal is the error."""
    error: CoreError | None = None
    for window in windows:
        try:
            check_window(window, release)
        except CoreError as exc:
            error = error or exc
            continue
        if state.host_reg_base is None:
            state.fixed_windows.append(window)
    state.cfmw_list = windows
    if error is not None:
        raise error


def cfmw_list_value(windows: list[CXLFixedWindow]) -> list[dict[str, Any]]:
    """``machine_get_cfmw``: the list as QOM reads it (QAPI member order)."""
    out: list[dict[str, Any]] = []
    for w in windows:
        item: dict[str, Any] = {"size": w.size}
        if w.interleave_granularity is not None:
            item["interleave-granularity"] = w.interleave_granularity
        item["targets"] = list(w.targets)
        out.append(item)
    return out


def cxl_range_end(start: int, windows: list[CXLFixedWindow]) -> int:
    """``pc_get_cxl_range_end``: the register region, then the windows."""
    end = start + CXL_HOST_REG_SIZE
    if windows:
        end = -(-end // CXL_FMW_ALIGN) * CXL_FMW_ALIGN
        end += sum(w.size for w in windows)
    return end


def place_windows(state: CXLState, start: int) -> int:
    """``pc_memory_init``: the register region at ``start``, the windows
    after it (256 MiB aligned); returns the end of the reservation."""
    state.host_reg_base = start
    end = start + CXL_HOST_REG_SIZE
    if state.fixed_windows:
        base = -(-end // CXL_FMW_ALIGN) * CXL_FMW_ALIGN
        for window in state.fixed_windows:
            window.base = base
            base += window.size
        end = base
    return end


def machine_done(machine: Machine, state: CXLState) -> None:
    """``pc_machine_done``: ``cxl_hook_up_pxb_registers`` (refuses CXL host
    bridges without ``cxl=on``), then ``cxl_fmws_link_targets``."""
    from memdevd.machine.qom import resolve_path

    bridges = [d for d in machine.devices() if d.is_a("pxb-cxl") and d.realized]
    if bridges and not state.is_enabled:
        raise CoreError(M.CXL_HOST_BRIDGES_CXL_OFF)
    # pxb_cxl_hook_up_registers: a 64 KiB block each in the 1 MiB region
    # (the check lets a 17th start at its very end).
    if (len(bridges) - 1) * CXL_COMPONENT_BLOCK_SIZE > CXL_HOST_REG_SIZE:
        raise CoreError(M.PXB_CXL_NO_SPACE)
    if not state.is_enabled:
        return
    for window in state.fixed_windows:
        for target in window.targets:
            # object_resolve_path_type(target, TYPE_PXB_CXL_DEV): a partial
            # path (an id) resolves when exactly one pxb-cxl has it.
            found, _ = resolve_path(machine.root, target, "pxb-cxl")
            if found is None:
                raise CoreError(M.CXL_FMW_TARGET_UNRESOLVED.format(target))
