"""vCPUs: the ``-smp`` topology, the x86 CPU objects and the CPU queries.

memdevd emulates no instruction, but management software looks at the
vCPUs: libvirt reads ``query-hotpluggable-cpus`` and ``query-cpus-fast``
at domain start (QOM path, topology properties and host thread id of each
vCPU), then ``qom-list`` and ``qom-get`` of every property of the first one
to check the guest CPU it asked for.  This module gives it what QEMU gives:

* :func:`parse_smp`: ``machine_parse_smp_config`` (hw/core/machine-smp.c),
  QEMU's defaults and texts, per release;
* the x86 topology (include/hw/i386/topology.h): APIC ids and the
  socket/die/module/core/thread ids of every possible CPU
  (``x86_possible_cpu_arch_ids``), NUMA nodes from ``-numa node,cpus=`` or
  the board's default (``machine_numa_finish_cpu_init``, with its warnings);
* :class:`X86CPU`: a vCPU object at ``/machine/unattached/device[N]``
  whose properties are QEMU's, recorded per model and accelerator
  (``cpus.json``), its topology properties its own.  The first vCPU's
  APIC creates the ``kvmvapic`` device right after it, so the vCPUs are
  ``device[0]``, ``device[2]``, ``device[3]``... as in QEMU;
* :func:`vcpu_thread_id`: a real host thread per vCPU for ``thread-id``.

Only the models recorded for the accelerator in use are emulated (qemu64
and max under TCG, qemu64 and host under KVM); others are refused by name
at start-up, unknown ones with QEMU's text.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import field
from typing import TYPE_CHECKING, Any

from memdevd import messages as M
from memdevd.machine.errors import CoreError
from memdevd.machine.qdev import Device
from memdevd.qapi.visitor import parse_bool_text
from memdevd.records import record
from memdevd.releases.recorded import InstanceSample, Recording, recording
from memdevd.util.qemu_opts import Diagnostic, OptionError

#: x86 vCPUs (this module moves to targets/x86_64 with the board seam).
TARGET = "x86_64"

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine
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


def smp_support(release: Release, family: str, compat: dict[str, Any]) -> SmpSupport:
    """pc/q35 support dies (and modules where the release has them); the
    none machine nothing.

    Machine types before 6.2 fill sockets before cores (``prefer_sockets``).
    """
    if family not in ("pc", "q35"):
        return SmpSupport()
    prefer_sockets = bool(compat.get("machine.smp-prefer-sockets", False))
    return SmpSupport(dies=True, modules=release.smp_modules, prefer_sockets=prefer_sockets)


def max_cpus_of(release: Release, machine_name: str) -> int:
    """``MachineClass.max_cpus``, as query-machines reported it (cpu-max)."""
    from memdevd.targets.x86_64.machine_types import machine_list

    for entry in machine_list(release):
        if entry["name"] == machine_name:
            return int(entry["cpu-max"])
    return 1


def _number(value: Any) -> int:
    if isinstance(value, int):
        return value
    text = str(value)
    try:
        return int(text, 0)
    except ValueError:
        return int(text)


#: No pc/q35 type of 7.2 or 10.0 has fewer (the none machine has 1).
MIN_X86_MAX_CPUS = 255


def parse_smp(
    options: dict[str, Any],
    release: Release,
    support: SmpSupport,
    machine_name: str,
    max_cpus: Callable[[], int],
) -> tuple[SmpConfig, list[Diagnostic]]:
    """``machine_parse_smp_config``: compute what was omitted, then check.

    ``options`` are the ``-smp`` values as given (strings); omitted ones are
    absent; ``max_cpus`` gives the machine type's limit (looked up only for
    a topology that could exceed it).  Raises OptionError with QEMU's
    texts; returns the warnings QEMU prints (7.2's deprecated zero values).
    """
    given = {k: _number(options[k]) for k in release.smp_keys if k in options}
    notes: list[Diagnostic] = []
    if any(v == 0 for v in given.values()):
        if release.smp_zero_deprecated:
            notes.append(Diagnostic(M.SMP_ZERO_DEPRECATED_7_2, kind="warning"))
        else:
            raise OptionError(M.SMP_ZERO_INVALID)
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
            raise OptionError(release.smp_level_not_supported_text.format(name))
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
        raise OptionError(M.SMP_PRODUCT_MISMATCH.format(hierarchy(smp, support), maxcpus))
    if maxcpus < cpus:
        raise OptionError(M.SMP_MAXCPUS_BELOW_CPUS.format(hierarchy(smp, support), maxcpus, cpus))
    if maxcpus > 1 and (maxcpus > MIN_X86_MAX_CPUS or machine_name == "none"):
        limit = max_cpus()
        if maxcpus > limit:
            raise OptionError(M.SMP_TOO_MANY_CPUS.format(maxcpus, machine_name, limit))
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


# --- x86 topology (include/hw/i386/topology.h) --------------------------------------


def _width(count: int) -> int:
    """``apicid_bitwidth_for_count``."""
    return (count - 1).bit_length()


@record(frozen=True)
class TopoIds:
    pkg: int
    die: int
    module: int
    core: int
    smt: int


def topo_ids(smp: SmpConfig, index: int) -> TopoIds:
    """``x86_topo_ids_from_idx`` (7.2 has no modules: one per die)."""
    dies, modules, cores, threads = smp.dies, smp.modules, smp.cores, smp.threads
    return TopoIds(
        pkg=index // (dies * modules * cores * threads),
        die=index // (modules * cores * threads) % dies,
        module=index // (cores * threads) % modules,
        core=index // threads % cores,
        smt=index % threads,
    )


def apic_id(smp: SmpConfig, ids: TopoIds) -> int:
    """``x86_apicid_from_topo_ids``: each level in its own bit field."""
    core_offset = _width(smp.threads)
    module_offset = core_offset + _width(smp.cores)
    die_offset = module_offset + _width(smp.modules)
    pkg_offset = die_offset + _width(smp.dies)
    return (
        (ids.pkg << pkg_offset)
        | (ids.die << die_offset)
        | (ids.module << module_offset)
        | (ids.core << core_offset)
        | ids.smt
    )


@record
class CpuSlot:
    """A possible CPU (``CPUArchId``): its APIC id and instance properties."""

    index: int
    apic_id: int
    ids: TopoIds
    #: CpuInstanceProperties, in the QAPI member order (node-id first)
    props: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        """``cpu_slot_to_string``: the ids, without node-id."""
        return ", ".join(f"{k}: {v}" for k, v in self.props.items() if k != "node-id")


def possible_cpus(smp: SmpConfig) -> list[CpuSlot]:
    """``x86_possible_cpu_arch_ids``: every CPU up to maxcpus."""
    slots = []
    for index in range(smp.max_cpus):
        ids = topo_ids(smp, index)
        props = {"socket-id": ids.pkg}
        if smp.dies > 1:
            props["die-id"] = ids.die
        if smp.modules > 1:
            props["module-id"] = ids.module
        props["core-id"] = ids.core
        props["thread-id"] = ids.smt
        slots.append(CpuSlot(index, apic_id(smp, ids), ids, props))
    return slots


def assign_numa_cpu(machine: Machine, cpu: int, nodeid: int) -> None:
    """``-numa node,cpus=``: ``machine_set_cpu_numa_node`` for one CPU index."""
    max_cpus = machine.config.smp.max_cpus
    if cpu >= max_cpus:
        raise CoreError(M.NUMA_CPU_INDEX.format(cpu, max_cpus))
    assigned = machine.numa.cpu_nodes
    if cpu in assigned and assigned[cpu] != nodeid:
        raise CoreError(M.NUMA_CPU_ALREADY_ASSIGNED.format(assigned[cpu]))
    assigned[cpu] = nodeid


def finish_numa_cpus(machine: Machine, slots: list[CpuSlot]) -> list[Diagnostic]:
    """``machine_numa_finish_cpu_init``: every possible CPU gets a node.

    Only when the machine has NUMA nodes (the implicit node 0 of memory
    hot-plug included).  Without any ``cpus=`` the board's default applies
    (the package modulo the nodes); with some, the others go to node 0 and
    QEMU warns.
    """
    nodes = machine.numa.num_nodes
    if not nodes:
        return []
    assigned = machine.numa.cpu_nodes
    unmapped = []
    for slot in slots:
        node = assigned.get(slot.index)
        if node is None:
            if assigned:
                unmapped.append(f"CPU {slot.index} [{slot.describe()}]")
                node = 0
            else:
                node = slot.ids.pkg % nodes
        slot.props = {"node-id": node, **slot.props}
    if not unmapped:
        return []
    return [
        Diagnostic(M.NUMA_CPUS_NOT_MAPPED.format(", ".join(unmapped)), kind="warning"),
        Diagnostic(M.NUMA_PARTIAL_MAPPING, kind="warning"),
    ]


# --- -cpu: parse_cpu_option ------------------------------------------------------


def cpu_model_exists(release: Release, model: str) -> bool:
    """``cpu_class_by_name``: ``<model>-x86_64-cpu`` is a (10.0: concrete) type."""
    entry = recording(TARGET, release).type_table.get(f"{model}-x86_64-cpu")
    if entry is None:
        return False
    return not (release.cpu_class_rejects_abstract and entry.get("abstract", False))


def resolve_cpu_model(
    release: Release, option: str | None, default: str | None, accel: str
) -> str | None:
    """The vCPUs' model: ``-cpu``'s (checked as ``parse_cpu_option``) or the board's.

    Raises OptionError: QEMU's texts for an empty or unknown model; memdevd's
    for CPU features and for models that were not recorded with ``accel``
    (``host`` under TCG passes: QEMU refuses it when the vCPU is realized).
    """
    if option is None:
        return default
    if option in ("help", "?"):
        raise OptionError(M.CPU_HELP_NOT_EMULATED)
    if not option:
        raise OptionError(M.CPU_OPTION_EMPTY)
    model, sep, features = option.partition(",")
    rec = recording(TARGET, release)
    recorded_models = {*rec.cpu_models("tcg"), *rec.cpu_models("kvm")}
    # (the type list is read only for a model that was not recorded)
    if model not in recorded_models and not cpu_model_exists(release, model):
        raise OptionError(M.CPU_MODEL_NOT_FOUND_CLI.format(model))
    if model == "host" and accel != "kvm":
        if sep:
            raise OptionError(M.CPU_FEATURES_NOT_EMULATED.format(option))
        return model
    models = rec.cpu_models(accel)
    if model not in models:
        raise OptionError(M.CPU_MODEL_NOT_RECORDED.format(model, accel.upper(), ", ".join(models)))
    if sep and not _features_as_recorded(rec, accel, model, features):
        raise OptionError(M.CPU_FEATURES_NOT_EMULATED.format(option))
    return model


def _features_as_recorded(rec: Recording, accel: str, model: str, features: str) -> bool:
    """Whether every ``-cpu`` feature only restates the recorded vCPU's value.

    libvirt's ``host-passthrough`` asks for ``-cpu host,migratable=on``,
    which is the host model's default: the recorded vCPU is that vCPU.
    Anything that would change a property is refused by the caller.
    """
    sample = rec.cpu_sample(accel, model)
    values = sample["qom-get"] if sample is not None else {}
    for token in features.split(","):
        if token.startswith(("+", "-")):
            name, wanted = token[1:], token[0] == "+"
        else:
            name, eq, text = token.partition("=")
            parsed = parse_bool_text(text.lower()) if eq else None
            if parsed is None:
                return False
            wanted = parsed
        if values.get(name) is not wanted:
            return False
    return True


# --- the vCPU objects -----------------------------------------------------------------


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


class X86CPU(Device):
    """A vCPU: QEMU's recorded properties, its own topology.

    The properties, their order, values and qom-set behaviour are those of
    the recorded vCPU of the same model and accelerator; what differs
    between vCPUs (APIC id, topology ids, NUMA node) is this vCPU's, and its
    children (``lapic``, ``memory[N]``, ``smram[0]``) read as paths below it.
    """

    type_chain = ("x86_64-cpu", "cpu", "device", "object")
    hotpluggable = True

    def __init__(self, machine: Machine, model: str, accel: str, slot: CpuSlot) -> None:
        super().__init__(machine)
        self.typename = f"{model}-x86_64-cpu"
        self.type_chain = (self.typename, *X86CPU.type_chain)  # type: ignore[misc,assignment]
        # Model and accelerator name the recorded vCPU (looked up, not kept:
        # snapshots deep-copy the machine).
        self.model = model
        self.accel = accel
        self.slot = slot
        own = {
            "apic-id": slot.apic_id,
            "socket-id": slot.ids.pkg,
            "die-id": slot.ids.die,
            "module-id": slot.ids.module,
            "core-id": slot.ids.core,
            "thread-id": slot.ids.smt,
            "node-id": slot.props.get("node-id", UNSET_NODE_ID),
        }
        # The recorded properties read these instead of the sample's values
        # (qom/_recorded_prop keeps qom-set values in the same place); a
        # name the model does not list (7.2's module-id) is never read.
        self.__dict__["_recorded_overrides"] = own

    @property
    def cpu_index(self) -> int:
        return self.slot.index

    @property
    def sample(self) -> InstanceSample:
        sample = self.machine.recording.cpu_sample(self.accel, self.model)
        assert sample is not None
        return sample

    def recorded_sample(self) -> InstanceSample | None:
        return self.sample

    def check_settable(self, name: str) -> None:
        """QEMU's refusal as recorded (a link property words it differently)."""
        reply = self.sample["qom-set"].get(name, {}).get("reply", {})
        desc = reply.get("error", {}).get("desc", "") if isinstance(reply, dict) else ""
        if desc.startswith("Attempt to set"):
            raise CoreError(desc)
        super().check_settable(name)

    def hotplug_handler(self, machine: Machine) -> CpuHotplug:
        return CpuHotplug(machine)


def plan_cpus(machine: Machine) -> list[Diagnostic]:
    """The possible CPUs and their NUMA nodes, before the board is built.

    ``machine_run_board_init`` does this after completing the NUMA
    configuration; returns QEMU's warnings about the mapping.
    """
    if machine.config.board.family not in ("pc", "q35"):
        # The none machine has no possible_cpu_arch_ids.
        return []
    machine.cpu_slots = possible_cpus(machine.config.smp)
    return finish_numa_cpus(machine, machine.cpu_slots)


def create_cpus(machine: Machine) -> None:
    """``x86_cpus_init`` (or the none machine's single vCPU): realize the vCPUs.

    Raises CoreError with QEMU's texts for what fails when a vCPU is realized.
    """
    config = machine.config
    model = config.cpu_model
    if model is None:
        return
    accel = "kvm" if machine.kvm_enabled else "tcg"
    slots = machine.cpu_slots
    if config.board.family == "none":
        # No board hands the vCPU its topology: realize refuses it.
        raise CoreError(M.CPU_APIC_ID_UNSET)
    if machine.release.tcg_apic_id_limit and accel == "tcg" and slots and slots[-1].apic_id > 254:
        raise CoreError(M.SMP_NEEDS_X2APIC_7_2)
    if model == "host" and accel != "kvm":
        raise CoreError(M.CPU_MODEL_NEEDS_KVM.format(model))
    models = machine.recording.cpu_models(accel)
    if model not in models:
        raise CoreError(M.CPU_MODEL_NOT_RECORDED.format(model, accel.upper(), ", ".join(models)))
    for slot in slots[: config.smp.cpus]:
        cpu = X86CPU(machine, model, accel, slot)
        machine.realize_unattached(cpu)
        machine.cpus.append(cpu)
        if len(machine.cpus) == 1 and config.ram_size >= 1024 * 1024:
            # apic_common_realize(): the first APIC creates "kvmvapic", the
            # next /machine/unattached/device[N]; memdevd does not model it.
            machine.unattached_counter += 1
    if machine.kvm_enabled:
        # kvmclock_create() after the vCPUs (qemu64 and host have kvmclock).
        machine.unattached_counter += 1


# --- the CPU queries ---------------------------------------------------------------------


def hotpluggable_cpus(machine: Machine) -> list[dict[str, Any]]:
    """``machine_query_hotpluggable_cpus``: every possible CPU, last first.

    Raises CoreError for the none machine, which has no CPU hot-plug.
    """
    if machine.config.board.family not in ("pc", "q35"):
        raise CoreError(machine.release.hotpluggable_cpus_unsupported_text)
    present = {cpu.cpu_index: cpu for cpu in machine.cpus}
    out: list[dict[str, Any]] = []
    typename = f"{machine.config.cpu_model}-x86_64-cpu"
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
            "qom-path": cpu.canonical_path(),
            "thread-id": vcpu_thread_id(cpu.cpu_index, accel),
            "props": dict(cpu.slot.props),
            "target": "x86_64",
        }
        for cpu in machine.cpus
    ]


# --- vCPU threads -------------------------------------------------------------------------

# One idle host thread per vCPU index, for the whole process, started when a
# thread id is first asked for.  Real and distinct ids matter: libvirt reads
# /proc/PID/task/TID/stat of each vCPU (domstats), and pins vCPU threads or
# moves them into cgroups when the domain says so; with ids of threads that
# do nothing, that touches neither memdevd's event loop nor its other vCPUs.
# Lazy, so that -daemonize's fork (threads do not survive it) and processes
# nobody asks pay nothing; process-wide, so that a rebuilt or restored
# machine keeps its vCPUs' ids (QEMU's do not change on reset).
_threads_lock = threading.Lock()
_thread_ids: dict[int, int] = {}
_park = threading.Event()


def vcpu_thread_id(index: int, accel: str = "TCG") -> int:
    """The host thread id of vCPU ``index``'s thread (named as QEMU's are)."""
    with _threads_lock:
        tid = _thread_ids.get(index)
        if tid is None:
            started = threading.Event()
            ids: list[int] = []

            def idle() -> None:
                ids.append(threading.get_native_id())
                started.set()
                _park.wait()

            name = f"CPU {index}/{accel}"
            threading.Thread(target=idle, name=name, daemon=True).start()
            started.wait()
            tid = _thread_ids[index] = ids[0]
        return tid


def _forget_threads() -> None:
    # A forked child has none of the parent's threads (and the lock may
    # have been held by one of them).
    global _threads_lock
    _threads_lock = threading.Lock()
    _thread_ids.clear()


os.register_at_fork(after_in_child=_forget_threads)
