"""Guest NUMA nodes (hw/core/numa.c): every ``-numa`` type, and completion.

``set_numa_options`` takes one visited ``-numa`` (``NumaOptions`` as a
dict of QAPI member names, after the ``-object`` backends exist) and does
what QEMU's does for its type, with QEMU's checks in QEMU's order:

* ``node``: ``parse_numa_node`` (node id, ``initiator=`` with HMAT,
  ``cpus=``, ``memdev=``);
* ``dist``: ``parse_numa_distance``;
* ``cpu``: ``machine_set_cpu_numa_node`` over the board's possible CPUs
  (hw/core/machine.c), matching by the topology ids given;
* ``hmat-lb`` and ``hmat-cache``: ``parse_numa_hmat_lb`` (the compressed
  latency/bandwidth base and range that decide QEMU's range errors; a node
  is an initiator by its CPUs or, from 9.0, an ``acpi-generic-initiator``
  object) and ``parse_numa_hmat_cache``.

``complete_numa`` is ``numa_complete_configuration`` (the implicit node,
sparse ids, total size, the distance table's validation and symmetric
filling) and ``finish_cpus`` the NUMA half of
``machine_numa_finish_cpu_init`` (default mapping, HMAT initiators).
"""

from __future__ import annotations

from dataclasses import field
from typing import TYPE_CHECKING, Any

from memdevd import messages as M
from memdevd.machine.errors import CoreError
from memdevd.records import record

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine
    from memdevd.machine.smp import CpuSlot

MAX_NODES = 128
NUMA_DISTANCE_MIN = 10
#: HMAT_LB_LEVELS: memory and three cache levels
HMAT_LB_LEVELS = 4
UINT16_MAX = 0xFFFF
UINT64_MAX = (1 << 64) - 1
MIB = 1 << 20

#: HmatLBDataType, in QAPI order: the first three are latencies.
HMAT_LB_DATA_TYPES = (
    "access-latency",
    "read-latency",
    "write-latency",
    "access-bandwidth",
    "read-bandwidth",
    "write-bandwidth",
)
#: The topology ids ``machine_set_cpu_numa_node`` refuses when the board's
#: slots lack them, in its order; and the order it skips mismatches in.
_CPU_SUPPORT_ORDER = ("thread-id", "core-id", "module-id", "cluster-id", "socket-id", "die-id")
_CPU_MATCH_ORDER = ("thread-id", "core-id", "module-id", "cluster-id", "die-id", "socket-id")


@record
class NumaNodeOptions:
    nodeid: int | None = None
    mem: int | None = None
    memdev: str | None = None
    cpus: tuple[int, ...] = ()
    initiator: int | None = None


@record
class HmatLB:
    """``HMAT_LB_Info`` of one (hierarchy, data type): base, range and the
    (initiator, target, value) entries in the order given."""

    base: int = 0
    range_bitmap: int = 0
    entries: list[tuple[int, int, int]] = field(default_factory=list)


def node_options(opts: dict[str, Any]) -> NumaNodeOptions:
    """A visited ``NumaNodeOptions`` (QAPI member names) as a record."""
    return NumaNodeOptions(
        nodeid=opts.get("nodeid"),
        mem=opts.get("mem"),
        memdev=opts.get("memdev"),
        cpus=tuple(opts.get("cpus", ())),
        initiator=opts.get("initiator"),
    )


def set_numa_options(machine: Machine, opts: dict[str, Any]) -> list[str]:
    """``set_numa_options``: one ``-numa``.

    Raises CoreError with QEMU's text; returns what QEMU prints with
    error_report() without failing (an out-of-range ``initiator=``), and
    its warnings (:class:`NumaWarning`).
    """
    if not machine.config.board.numa:
        raise CoreError(M.NUMA_NOT_SUPPORTED)
    kind = opts["type"]
    state = machine.numa
    if kind == "node":
        return parse_numa_node(machine, node_options(opts))
    if kind == "dist":
        parse_numa_distance(machine, opts["src"], opts["dst"], opts["val"])
    elif kind == "cpu":
        if "node-id" not in opts:
            raise CoreError(M.NUMA_CPU_NODE_ID_MISSING)
        node_id = opts["node-id"]
        if node_id not in state.nodes:
            raise CoreError(M.NUMA_CPU_NODE_UNDEFINED.format(node_id))
        props = {k: v for k, v in opts.items() if k not in ("type", "node-id")}
        set_cpu_numa_node(machine, props, node_id)
    elif kind == "hmat-lb":
        if not machine.config.hmat:
            raise CoreError(M.HMAT_DISABLED)
        parse_numa_hmat_lb(machine, opts)
    else:
        if not machine.config.hmat:
            raise CoreError(M.HMAT_DISABLED)
        parse_numa_hmat_cache(machine, opts)
    return []


def parse_numa_node(machine: Machine, node: NumaNodeOptions) -> list[str]:
    """``parse_numa_node``."""
    from memdevd.machine.backends import HostMemoryBackend
    from memdevd.machine.machine import NumaNode
    from memdevd.machine.qom import resolve_path

    state = machine.numa
    if not machine.config.board.numa:
        raise CoreError(M.NUMA_NOT_SUPPORTED)
    warnings: list[str] = []
    nodenr = node.nodeid if node.nodeid is not None else state.num_nodes
    if nodenr >= MAX_NODES:
        raise CoreError(M.NUMA_MAX_NODES.format(nodenr))
    if nodenr in state.nodes:
        raise CoreError(M.NUMA_DUPLICATE_NODEID.format(nodenr))
    # Unset: MAX_NODES (with HMAT a node without CPUs then fails later).
    initiator = MAX_NODES
    if node.initiator is not None:
        if not machine.config.hmat:
            raise CoreError(M.HMAT_DISABLED)
        if node.initiator >= MAX_NODES:
            # QEMU reports it with error_report() and returns without an
            # error: the node is not declared, start-up goes on.
            return [M.HMAT_INITIATOR_ID_RANGE.format(node.initiator, MAX_NODES - 1)]
        initiator = node.initiator
    entry = NumaNode(nodenr, initiator=initiator)
    # numa_info[] is QEMU's array: the node's fields exist before it is
    # "present" (CPU mapping below reads and sets them).
    state.pending = entry
    try:
        max_cpus = machine.config.smp.max_cpus
        for cpu in node.cpus:
            if cpu >= max_cpus:
                raise CoreError(M.NUMA_CPU_INDEX.format(cpu, max_cpus))
            # mc->cpu_index_to_instance_props: the slot's own ids.
            slot = possible_cpus(machine)[cpu]
            props = {k: v for k, v in slot.props.items() if k != "node-id"}
            set_cpu_numa_node(machine, props, nodenr)
    finally:
        state.pending = None
    state.have_memdevs = state.have_memdevs or node.memdev is not None
    state.have_mem = state.have_mem or node.mem is not None
    if (node.mem is not None and state.have_memdevs) or (
        node.memdev is not None and state.have_mem
    ):
        raise CoreError(M.NUMA_MEM_MIXED)
    if node.mem is not None:
        # No machine type of the emulated releases' boards supports it (pc
        # and q35 dropped it with 5.1): QEMU's text, and a board field for
        # a target whose types still do.
        # (MachineClass fields a versioned type changes are compat entries)
        board = machine.config.board
        if not machine.compat.get("machine.numa-mem-supported", board.numa_mem_supported):
            raise CoreError(M.NUMA_MEM_NOT_SUPPORTED, hint=M.NUMA_MEM_NOT_SUPPORTED_HINT)
        entry.mem = node.mem
        # (only a machine type that still supports it gets this far)
        warnings.append(NumaWarning(M.NUMA_MEM_DEPRECATED))
    if node.memdev is not None:
        obj, _ = resolve_path(machine.root, node.memdev, "memory-backend")
        if not isinstance(obj, HostMemoryBackend):
            raise CoreError(M.NUMA_MEMDEV_AMBIGUOUS.format(node.memdev))
        entry.memdev = obj
        entry.mem = obj.size
    state.nodes[nodenr] = entry
    return warnings


class NumaWarning(str):
    """A text :func:`set_numa_options` returns that QEMU prints with
    warn_report() (the others are error_report()'s)."""

    __slots__ = ()


def parse_numa_distance(machine: Machine, src: int, dst: int, val: int) -> None:
    """``parse_numa_distance``."""
    nodes = machine.numa.nodes
    if src >= MAX_NODES or dst >= MAX_NODES:
        raise CoreError(
            M.NUMA_DIST_RANGE.format("src" if src >= MAX_NODES else "dst", MAX_NODES - 1)
        )
    if src not in nodes or dst not in nodes:
        raise CoreError(M.NUMA_DIST_NODE_MISSING)
    if val < NUMA_DISTANCE_MIN:
        raise CoreError(M.NUMA_DIST_TOO_SMALL.format(val, NUMA_DISTANCE_MIN))
    if src == dst and val != NUMA_DISTANCE_MIN:
        raise CoreError(M.NUMA_DIST_LOCAL.format(src, NUMA_DISTANCE_MIN))
    nodes[src].distance[dst] = val
    machine.numa.have_numa_distance = True


# --- CPUs ----------------------------------------------------------------------------


def possible_cpus(machine: Machine) -> list[CpuSlot]:
    """``mc->possible_cpu_arch_ids``: made on first use, as QEMU forces it."""
    if not machine.cpu_slots:
        machine.cpu_slots = machine.config.board.possible_cpus(machine)
    return machine.cpu_slots


def set_cpu_numa_node(machine: Machine, props: dict[str, int], node_id: int) -> None:
    """``machine_set_cpu_numa_node``: every possible CPU matching ``props``
    (topology ids; none matches all) goes to ``node_id``."""
    state = machine.numa
    match = False
    for slot in possible_cpus(machine):
        for key in _CPU_SUPPORT_ORDER:
            if key in props and key not in slot.props:
                raise CoreError(M.NUMA_CPU_PROP_UNSUPPORTED.format(key))
        if any(key in props and props[key] != slot.props[key] for key in _CPU_MATCH_ORDER):
            continue
        current = slot.props.get("node-id")
        if current is not None and current != node_id:
            raise CoreError(M.NUMA_CPU_ALREADY_ASSIGNED.format(current))
        match = True
        rest = {k: v for k, v in slot.props.items() if k != "node-id"}
        slot.props = {"node-id": node_id, **rest}
        if machine.config.hmat:
            info = state.node_info(node_id)
            initiator = info.initiator if info is not None else MAX_NODES
            if initiator < MAX_NODES and initiator != node_id:
                raise CoreError(M.HMAT_CPU_INITIATOR_NOT_SELF.format(node_id, initiator))
            if info is not None:
                info.has_cpu = True
                info.initiator = node_id
    if not match:
        raise CoreError(M.NUMA_CPU_NO_MATCH)


def finish_cpus(machine: Machine, default_node: Any) -> list[str]:
    """``machine_numa_finish_cpu_init``: every possible CPU gets a node.

    Only when the machine has NUMA nodes (the implicit node 0 of memory
    hot-plug included).  Without any mapping the board's default applies
    (``default_node(slot, nodes)``); with some, the others go to node 0
    and QEMU warns (the warnings are returned, printed after the HMAT
    initiators were checked).
    """
    state = machine.numa
    nodes = state.num_nodes
    if not nodes:
        return []
    slots = possible_cpus(machine)
    default_mapping = not any("node-id" in slot.props for slot in slots)
    unmapped = []
    for slot in slots:
        if "node-id" in slot.props:
            continue
        node = default_node(slot, nodes)
        if not default_mapping:
            unmapped.append(f"CPU {slot.index} [{slot.describe()}]")
            node = 0
        set_cpu_numa_node(machine, dict(slot.props), node)
    if machine.config.hmat:
        validate_initiators(machine)
    if not unmapped:
        return []
    return [M.NUMA_CPUS_NOT_MAPPED.format(", ".join(unmapped)), M.NUMA_PARTIAL_MAPPING]


def validate_initiators(machine: Machine) -> None:
    """``numa_validate_initiator``: with HMAT, each node's initiator is a
    declared node that has CPUs."""
    state = machine.numa
    for i in range(state.num_nodes):
        info = state.nodes.get(i)
        if info is None or info.initiator == MAX_NODES:
            continue
        target = state.nodes.get(info.initiator)
        if target is None:
            raise CoreError(M.HMAT_INITIATOR_NODE_MISSING.format(info.initiator))
        if not target.has_cpu:
            raise CoreError(M.HMAT_INITIATOR_INVALID.format(i))


# --- HMAT ----------------------------------------------------------------------------


def parse_numa_hmat_lb(machine: Machine, opts: dict[str, Any]) -> None:
    """``parse_numa_hmat_lb``: one latency or bandwidth entry."""
    state = machine.numa
    initiator, target = opts["initiator"], opts["target"]
    count = state.num_nodes
    # QEMU compares with '>': the id equal to the count passes these two.
    if initiator > count:
        raise CoreError(M.HMAT_LB_INITIATOR_RANGE.format(initiator, count))
    if target > count:
        raise CoreError(M.HMAT_LB_TARGET_RANGE.format(target, count))
    info = state.nodes.get(initiator)
    has_cpu = info is not None and info.has_cpu
    if not has_cpu and not has_generic_initiator(machine, initiator):
        raise CoreError(M.HMAT_LB_NOT_INITIATOR.format(initiator))
    if target not in state.nodes:
        raise CoreError(M.HMAT_LB_TARGET_MISSING.format(target))
    key = (opts["hierarchy"], opts["data-type"])
    lb = state.hmat_lb.setdefault(key, HmatLB())
    latency, bandwidth = opts.get("latency"), opts.get("bandwidth")
    if HMAT_LB_DATA_TYPES.index(opts["data-type"]) <= 2:
        if latency is None:
            raise CoreError(M.HMAT_LB_LATENCY_MISSING)
        if bandwidth is not None:
            raise CoreError(M.HMAT_LB_BANDWIDTH_FOR_LATENCY)
        _check_duplicate(lb, "latency", initiator, target)
        lb.base = lb.base or UINT64_MAX
        if latency:
            max_entry, temp_base = latency, 1
            while max_entry % 10 == 0:
                max_entry //= 10
                temp_base *= 10
            temp_base = min(lb.base, temp_base)
            max_entry = max(lb.range_bitmap, latency // lb.base)
            if max_entry >= UINT16_MAX:
                raise CoreError(
                    M.HMAT_LB_LATENCY_RANGE.format(latency, initiator, target, UINT16_MAX - 1)
                )
            lb.base, lb.range_bitmap = temp_base, max_entry
            state.nodes[target].lb_info_provided |= 1
        lb.entries.append((initiator, target, latency))
        return
    if bandwidth is None:
        raise CoreError(M.HMAT_LB_BANDWIDTH_MISSING)
    if latency is not None:
        raise CoreError(M.HMAT_LB_LATENCY_FOR_BANDWIDTH)
    if bandwidth % MIB:
        raise CoreError(M.HMAT_LB_BANDWIDTH_UNALIGNED.format(bandwidth, initiator, target))
    _check_duplicate(lb, "bandwidth", initiator, target)
    lb.base = lb.base or 1
    if bandwidth:
        bitmap = lb.range_bitmap | bandwidth
        first_bit = (bitmap & -bitmap).bit_length() - 1
        temp_base = 1 << first_bit
        max_entry = bandwidth // temp_base
        last_bit = bitmap.bit_length()
        if last_bit - first_bit > 16 or max_entry >= UINT16_MAX:
            raise CoreError(
                M.HMAT_LB_BANDWIDTH_RANGE.format(bandwidth, initiator, target, UINT16_MAX - 1)
            )
        lb.base, lb.range_bitmap = temp_base, bitmap
        state.nodes[target].lb_info_provided |= 2
    lb.entries.append((initiator, target, bandwidth))


def has_generic_initiator(machine: Machine, nodeid: int) -> bool:
    """``NodeInfo.has_gi``: an ``acpi-generic-initiator`` object (QEMU 9.0+)
    names the node (its ``node`` setter marks it, declared or not)."""
    return any(
        obj.typename == "acpi-generic-initiator"
        and getattr(obj, "values", {}).get("node") == nodeid
        for obj in machine.objects.children.values()
    )


def check_generic_initiators(machine: Machine) -> str | None:
    """``build_acpi_generic_initiator`` for the SRAT, built when the machine
    is done if it has ACPI and NUMA nodes: what QEMU prints (no program
    name) before it exits, or None."""
    from memdevd.machine.qom import resolve_path

    state = machine.numa
    if not machine.config.acpi or not state.num_nodes:
        return None
    for obj in list(machine.objects.children.values()):
        if obj.typename != "acpi-generic-initiator":
            continue
        values = getattr(obj, "values", {})
        node = values.get("node", MAX_NODES)
        if node >= state.num_nodes:
            return M.GENERIC_INITIATOR_NODE_INVALID.format(node)
        dev, _ = resolve_path(machine.root, str(values.get("pci-dev", "")), "pci-device")
        if dev is None:
            return M.GENERIC_INITIATOR_NOT_PCI
    return None


def _check_duplicate(lb: HmatLB, what: str, initiator: int, target: int) -> None:
    for i, t, _ in lb.entries:
        if i == initiator and t == target:
            raise CoreError(M.HMAT_LB_DUPLICATE.format(what, initiator, target))


def parse_numa_hmat_cache(machine: Machine, opts: dict[str, Any]) -> None:
    """``parse_numa_hmat_cache``: one memory side cache level of a node."""
    state = machine.numa
    node_id, level, size = opts["node-id"], opts["level"], opts["size"]
    count = state.num_nodes
    if node_id >= count:
        raise CoreError(M.HMAT_CACHE_NODE_RANGE.format(node_id, count))
    info = state.nodes.get(node_id)
    if info is None or info.lb_info_provided != 3:
        raise CoreError(M.HMAT_CACHE_LB_FIRST.format(node_id))
    if level < 1 or level >= HMAT_LB_LEVELS:
        raise CoreError(M.HMAT_CACHE_LEVEL_RANGE.format(level, HMAT_LB_LEVELS - 1))
    caches = state.hmat_cache
    if (node_id, level) in caches:
        raise CoreError(M.HMAT_CACHE_DUPLICATE.format(node_id, level))
    below = caches.get((node_id, level - 1))
    if level > 1 and below is None:
        raise CoreError(M.HMAT_CACHE_LEVEL_FIRST.format(level - 1))
    if level > 1 and below is not None and size <= below["size"]:
        raise CoreError(M.HMAT_CACHE_SIZE_BELOW.format(size, level, below["size"], level - 1))
    above = caches.get((node_id, level + 1))
    if level < HMAT_LB_LEVELS - 1 and above is not None and size >= above["size"]:
        raise CoreError(M.HMAT_CACHE_SIZE_ABOVE.format(size, level, above["size"], level + 1))
    caches[(node_id, level)] = {k: v for k, v in opts.items() if k != "type"}


# --- completion ----------------------------------------------------------------------


def complete_numa(machine: Machine) -> None:
    """``numa_complete_configuration``."""
    from memdevd.machine.machine import NumaNode

    config = machine.config
    state = machine.numa
    if not config.board.numa:
        return
    board = config.board
    compat = machine.compat
    memhp = compat.get("machine.auto-enable-numa-with-memhp", board.auto_enable_numa_with_memhp)
    memdev = compat.get("machine.auto-enable-numa-with-memdev", board.auto_enable_numa_with_memdev)
    if state.num_nodes == 0 and (
        (config.ram_slots and memhp) or (config.maxram_size > config.ram_size and memdev)
    ):
        state.nodes[0] = NumaNode(0, mem=config.ram_size)
    max_nodeid = max(state.nodes) + 1 if state.nodes else 0
    for i in range(max_nodeid - 1, -1, -1):
        if i not in state.nodes:
            raise CoreError(M.NUMA_NODE_MISSING.format(i))
    if not state.num_nodes:
        return
    total = sum(n.mem for n in state.nodes.values())
    if total != config.ram_size:
        raise CoreError(M.NUMA_TOTAL_MISMATCH.format(total, config.ram_size))
    if state.have_memdevs and board.default_ram_id and machine.ram_memdev is not None:
        raise CoreError(M.NUMA_MACHINE_MEMDEV_EXCLUSIVE)
    if state.have_numa_distance:
        _validate_distances(machine)
        _complete_distances(machine)


def _validate_distances(machine: Machine) -> None:
    """``validate_numa_distance``: each pair has a distance; an asymmetric
    pair needs both directions of every pair."""
    nodes = machine.numa.nodes
    count = machine.numa.num_nodes
    asymmetric = False
    for src in range(count):
        for dst in range(src, count):
            there = nodes[src].distance.get(dst, 0)
            back = nodes[dst].distance.get(src, 0)
            if not there and not back and src != dst:
                raise CoreError(M.NUMA_DIST_MISSING.format(src, dst))
            if there and back and there != back:
                asymmetric = True
    if asymmetric:
        for src in range(count):
            for dst in range(count):
                if src != dst and not nodes[src].distance.get(dst, 0):
                    raise CoreError(M.NUMA_DIST_ASYMMETRIC)


def _complete_distances(machine: Machine) -> None:
    """``complete_init_numa_distance``: local 10, the other direction's value."""
    nodes = machine.numa.nodes
    count = machine.numa.num_nodes
    for src in range(count):
        for dst in range(count):
            if not nodes[src].distance.get(dst, 0):
                nodes[src].distance[dst] = (
                    NUMA_DISTANCE_MIN if src == dst else nodes[dst].distance.get(src, 0)
                )
