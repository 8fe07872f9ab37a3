"""Guest NUMA nodes (hw/core/numa.c): -numa node parsing and completion.

``parse_numa_node`` checks one ``-numa node,...`` as QEMU does (after the
``-object`` backends exist); ``complete_numa`` is
``numa_complete_configuration``: the implicit node that pc/q35 add when
memory hot-plug is configured, the contiguity and total-size checks, and
binding NUMA memdevs as the machine's RAM.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from memdevd import messages as M
from memdevd.machine.errors import CoreError
from memdevd.records import record

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine

MAX_NODES = 128


@record
class NumaNodeOptions:
    nodeid: int | None = None
    mem: int | None = None
    memdev: str | None = None
    cpus: tuple[int, ...] = ()


def parse_numa_node(machine: Machine, node: NumaNodeOptions) -> None:
    """``parse_numa_node``."""
    from memdevd.machine.backends import HostMemoryBackend
    from memdevd.machine.machine import NumaNode
    from memdevd.machine.qom import resolve_path
    from memdevd.machine.smp import assign_numa_cpu

    state = machine.numa
    if not machine.config.board.numa:
        raise CoreError(M.NUMA_NOT_SUPPORTED)
    nodenr = node.nodeid if node.nodeid is not None else state.num_nodes
    if nodenr >= MAX_NODES:
        raise CoreError(M.NUMA_MAX_NODES.format(nodenr))
    if nodenr in state.nodes:
        raise CoreError(M.NUMA_DUPLICATE_NODEID.format(nodenr))
    for cpu in node.cpus:
        assign_numa_cpu(machine, cpu, nodenr)
    state.have_memdevs = state.have_memdevs or node.memdev is not None
    state.have_mem = state.have_mem or node.mem is not None
    if (node.mem is not None and state.have_memdevs) or (
        node.memdev is not None and state.have_mem
    ):
        raise CoreError(M.NUMA_MEM_MIXED)
    entry = NumaNode(nodenr)
    if node.mem is not None:
        # No machine type of the emulated releases' boards supports it (pc
        # and q35 dropped it with 5.1): QEMU's text, and a board field for
        # a target whose types still do.
        if not machine.config.board.numa_mem_supported:
            raise CoreError(M.NUMA_MEM_NOT_SUPPORTED, hint=M.NUMA_MEM_NOT_SUPPORTED_HINT)
        entry.mem = node.mem
    if node.memdev is not None:
        obj, _ = resolve_path(machine.root, node.memdev, "memory-backend")
        if not isinstance(obj, HostMemoryBackend):
            raise CoreError(M.NUMA_MEMDEV_AMBIGUOUS.format(node.memdev))
        entry.memdev = obj
        entry.mem = obj.size
    state.nodes[nodenr] = entry


def complete_numa(machine: Machine) -> None:
    """``numa_complete_configuration``."""
    from memdevd.machine.machine import NumaNode

    config = machine.config
    state = machine.numa
    if not config.board.numa:
        return
    board = config.board
    if state.num_nodes == 0 and (
        (config.ram_slots and board.auto_enable_numa_with_memhp)
        or (config.maxram_size > config.ram_size and board.auto_enable_numa_with_memdev)
    ):
        state.nodes[0] = NumaNode(0, mem=config.ram_size)
    max_nodeid = max(state.nodes) + 1 if state.nodes else 0
    for i in range(max_nodeid - 1, -1, -1):
        if i not in state.nodes:
            raise CoreError(M.NUMA_NODE_MISSING.format(i))
    if state.num_nodes:
        total = sum(n.mem for n in state.nodes.values())
        if total != config.ram_size:
            raise CoreError(M.NUMA_TOTAL_MISMATCH.format(total, config.ram_size))
