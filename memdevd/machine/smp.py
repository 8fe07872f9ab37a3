"""vCPUs as the core sees them: the ``-smp`` topology, possible CPUs, queries.

memdevd emulates no instruction, but management software looks at the
vCPUs: libvirt reads ``query-hotpluggable-cpus`` and ``query-cpus-fast``
at domain start (QOM path, topology properties and host thread id of each
vCPU).  What is target-independent here is QEMU's generic code:

* :func:`parse_smp`: ``machine_parse_smp_config`` (hw/core/machine-smp.c),
  QEMU's defaults and texts, per release;
* :class:`CpuSlot`: a possible CPU (``CPUArchId``) as the board lays them
  out; its NUMA node (``node-id`` in its props) is set by machine/numa.py
  (``-numa node,cpus=``, ``-numa cpu``, the board's default);
* the two CPU queries, and :func:`vcpu_thread_id`: a real host thread per
  vCPU for ``thread-id``.

The vCPU objects themselves, their CPU models and how a board numbers its
possible CPUs are the target's (x86: ``memdevd/targets/x86_64/cpus.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import field
from typing import TYPE_CHECKING, Any

from memdevd import messages as M
from memdevd.machine.errors import CoreError
from memdevd.records import record

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine
    from memdevd.machine.qdev import Device
    from memdevd.releases.table import Release

#: QEMU's CPU_UNSET_NUMA_NODE_ID: the node-id of a vCPU without NUMA.
UNSET_NODE_ID = -1

# --- -smp: machine_parse_smp_config ------------------------------------------------


@record(frozen=True)
class SmpConfig:
    """``MachineState.smp`` once parsed (levels a release lacks stay 1)."""

    cpus: int = 1
    drawers: int = 1
    books: int = 1
    sockets: int = 1
    dies: int = 1
    clusters: int = 1
    modules: int = 1
    cores: int = 1
    threads: int = 1
    max_cpus: int = 1


@record(frozen=True)
class SmpSupport:
    """``MachineClass.smp_props``: the optional topology levels of a board."""

    dies: bool = False
    clusters: bool = False
    modules: bool = False
    books: bool = False
    drawers: bool = False
    prefer_sockets: bool = False


def _number(value: Any) -> int:
    if isinstance(value, int):
        return value
    text = str(value)
    try:
        return int(text, 0)
    except ValueError:
        return int(text)


def parse_smp(
    options: dict[str, Any],
    release: Release,
    support: SmpSupport,
    machine_name: str,
    max_cpus: Callable[[], int],
    max_cpus_floor: int = 1,
) -> tuple[SmpConfig, list[str]]:
    """``machine_parse_smp_config``: compute what was omitted, then check.

    ``options`` are the ``-smp`` values as given (strings); omitted ones are
    absent; ``max_cpus`` gives the machine type's limit, looked up only for
    a topology that could exceed it: above ``max_cpus_floor``, the fewest a
    type of the board has (the none machine: 1).  Raises CoreError with
    QEMU's texts; returns the warnings QEMU prints (7.2's deprecated zero
    values).
    """
    given = {k: _number(options[k]) for k in release.smp_keys if k in options}
    notes: list[str] = []
    if any(v == 0 for v in given.values()):
        if release.smp_zero_deprecated:
            notes.append(M.SMP_ZERO_DEPRECATED_7_2)
        else:
            raise CoreError(M.SMP_ZERO_INVALID)
    cpus = given.get("cpus", 0)
    sockets = given.get("sockets", 0)
    cores = given.get("cores", 0)
    threads = given.get("threads", 0)
    maxcpus = given.get("maxcpus", 0)
    levels = {name: given.get(name, 0) for name in ("drawers", "books", "dies", "clusters")}
    levels["modules"] = given.get("modules", 0)
    supported = {
        "modules": support.modules,
        "clusters": support.clusters,
        "dies": support.dies,
        "books": support.books,
        "drawers": support.drawers,
    }
    # QEMU's order of the checks differs between releases.
    for name in release.smp_level_checks:
        if not supported[name] and levels[name] > 1:
            raise CoreError(release.smp_level_not_supported_text.format(name))
    drawers, books, dies, clusters, modules = (
        max(levels[name], 1) for name in ("drawers", "books", "dies", "clusters", "modules")
    )
    above = drawers * books * dies * clusters * modules
    if cpus == 0 and maxcpus == 0:
        sockets = sockets or 1
        cores = cores or 1
        threads = threads or 1
    else:
        maxcpus = maxcpus or cpus
        if support.prefer_sockets:
            if sockets == 0:
                cores = cores or 1
                threads = threads or 1
                sockets = maxcpus // (above * cores * threads)
            elif cores == 0:
                threads = threads or 1
                cores = maxcpus // (above * sockets * threads)
        else:
            if cores == 0:
                sockets = sockets or 1
                threads = threads or 1
                cores = maxcpus // (above * sockets * threads)
            elif sockets == 0:
                threads = threads or 1
                sockets = maxcpus // (above * cores * threads)
        if threads == 0:
            threads = maxcpus // (above * sockets * cores)
    total = above * sockets * cores * threads
    maxcpus = maxcpus or total
    cpus = cpus or maxcpus
    smp = SmpConfig(cpus, drawers, books, sockets, dies, clusters, modules, cores, threads, maxcpus)
    if total != maxcpus:
        raise CoreError(M.SMP_PRODUCT_MISMATCH.format(hierarchy(smp, support), maxcpus))
    if maxcpus < cpus:
        raise CoreError(M.SMP_MAXCPUS_BELOW_CPUS.format(hierarchy(smp, support), maxcpus, cpus))
    if maxcpus > max_cpus_floor:
        limit = max_cpus()
        if maxcpus > limit:
            raise CoreError(M.SMP_TOO_MANY_CPUS.format(maxcpus, machine_name, limit))
    return smp, notes


def hierarchy(smp: SmpConfig, support: SmpSupport) -> str:
    """``cpu_hierarchy_to_string``: the levels the machine supports."""
    text = ""
    if support.drawers:
        text += f"drawers ({smp.drawers}) * "
    if support.books:
        text += f"books ({smp.books}) * "
    text += f"sockets ({smp.sockets})"
    if support.dies:
        text += f" * dies ({smp.dies})"
    if support.clusters:
        text += f" * clusters ({smp.clusters})"
    if support.modules:
        text += f" * modules ({smp.modules})"
    return text + f" * cores ({smp.cores}) * threads ({smp.threads})"


# --- possible CPUs and NUMA ---------------------------------------------------------


@record
class CpuSlot:
    """A possible CPU (``CPUArchId``): its arch id and instance properties."""

    index: int
    #: the id the board gives it (x86: the APIC id)
    arch_id: int
    #: the board's topology ids of this CPU (x86: TopoIds)
    topo: Any
    #: CpuInstanceProperties, in the QAPI member order (node-id first)
    props: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        """``cpu_slot_to_string``: the ids, without node-id."""
        return ", ".join(f"{k}: {v}" for k, v in self.props.items() if k != "node-id")


# --- vCPUs and the CPU queries -------------------------------------------------------


class CpuHotplug:
    """The board's hotplug handler for a vCPU: plugged at start-up only."""

    def __init__(self, machine: Machine) -> None:
        self.machine = machine

    def pre_plug(self, dev: Device) -> None:
        return None

    def commit(self, dev: Device, addr: Any) -> None:
        pass

    def plug(self, dev: Device) -> None:
        pass

    def unplug_request(self, dev: Device) -> None:
        raise CoreError(M.CPU_UNPLUG_NOT_EMULATED)


def hotpluggable_cpus(machine: Machine) -> list[dict[str, Any]]:
    """``machine_query_hotpluggable_cpus``: every possible CPU, last first.

    Raises CoreError for the none machine, which has no CPU hot-plug.
    """
    board = machine.config.board
    if not board.cpu_hotplug:
        raise CoreError(machine.release.hotpluggable_cpus_unsupported_text)
    present = {cpu.cpu_index: cpu for cpu in machine.cpus}
    out: list[dict[str, Any]] = []
    typename = board.cpu_type(machine.config.cpu_model or "")
    for slot in machine.cpu_slots:
        entry: dict[str, Any] = {
            "type": typename,
            "vcpus-count": 1,
            "props": dict(slot.props),
        }
        cpu = present.get(slot.index)
        if cpu is not None:
            entry["qom-path"] = cpu.canonical_path()
        out.insert(0, entry)
    return out


def cpus_fast(machine: Machine) -> list[dict[str, Any]]:
    """``qmp_query_cpus_fast``: the present vCPUs by index, with host thread ids."""
    accel = "KVM" if machine.kvm_enabled else "TCG"
    return [
        {
            "cpu-index": cpu.cpu_index,
            "qom-type": cpu.typename,
            "qom-path": cpu.canonical_path(),
            "thread-id": (
                vcpu_thread_id(cpu.cpu_index, accel)
                if not machine.config.tcg_single_thread
                else idle_thread_id_rr()
            ),
            "props": dict(cpu.slot.props),
            "target": machine.config.board.target,
        }
        for cpu in machine.cpus
    ]


# --- vCPU threads -------------------------------------------------------------------------


# One idle host thread per vCPU index, for the whole process (see
# memdevd.machine.objects.idle_thread_id for why they are real threads).
def idle_thread_id_rr() -> int:
    """The one thread of round-robin TCG, every vCPU's (rr_start_vcpu_thread)."""
    from memdevd.machine.objects import idle_thread_id

    return idle_thread_id(("vcpu-rr",), "ALL CPUs/TCG")


def vcpu_thread_id(index: int, accel: str = "TCG") -> int:
    """The host thread id of vCPU ``index``'s thread (named as QEMU's are)."""
    from memdevd.machine.objects import idle_thread_id

    return idle_thread_id(("vcpu", index), f"CPU {index}/{accel}")
