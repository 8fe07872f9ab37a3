"""arm vCPUs on ``virt``: CPU models, their physical address range, topology.

* ``-cpu`` (``parse_cpu_option``): a model of the release's binary
  (``<model>-arm-cpu`` in the recorded type list), then the ``virt``
  machine's ``valid_cpu_types`` (``Release.virt_valid_cpus``);
* :data:`PAMAX`: what ``arm_pamax()`` (target/arm/ptw.c) gives a model
  under TCG: ``ID_AA64MMFR0.PARANGE`` of an AArch64 model
  (target/arm/cpu64.c, tcg/cpu64.c) through ``pamax_map``, 40 bits for an
  LPAE 32-bit model, 32 otherwise.  ``virt_set_memmap`` lays the memory map
  out in that many bits;
* the possible CPUs (``virt_possible_cpu_arch_ids``): MPIDR affinities as
  arch ids, socket/cluster/core/thread ids, node ``socket-id % nodes``;
* :class:`ARMCPU`: the vCPU objects at ``/machine/unattached/device[N]``,
  their properties as recorded for the model where the recording has one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memdevd import messages as M
from memdevd.machine.errors import CoreError
from memdevd.machine.qdev import Device
from memdevd.machine.smp import UNSET_NODE_ID, CpuHotplug, CpuSlot, SmpConfig
from memdevd.releases.recorded import InstanceSample, recording

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine
    from memdevd.releases.table import Release

TARGET = "aarch64"

#: pamax_map (target/arm/ptw.c): ID_AA64MMFR0.PARANGE -> bits.
PAMAX_MAP = (32, 36, 40, 42, 44, 48, 52)

#: ``arm_pamax`` of each model virt takes, under TCG: (bits, AArch64).
#: PARANGE is the low nibble of each model's id_aa64mmfr0; ``max`` sets
#: FEAT_LPA (PARANGE 6); cortex-a7/a15 are 32-bit with LPAE.
PAMAX: dict[str, tuple[int, bool]] = {
    "cortex-a7": (40, False),
    "cortex-a15": (40, False),
    "cortex-a35": (PAMAX_MAP[2], True),  # 0x00101122
    "cortex-a53": (PAMAX_MAP[2], True),  # 0x00001122
    "cortex-a55": (PAMAX_MAP[2], True),  # 0x0000000000101122
    "cortex-a57": (PAMAX_MAP[4], True),  # 0x00001124
    "cortex-a72": (PAMAX_MAP[4], True),  # 0x00001124
    "cortex-a76": (PAMAX_MAP[2], True),  # 0x0000000000101122
    "cortex-a710": (PAMAX_MAP[2], True),  # 0x0000022200101122
    "a64fx": (PAMAX_MAP[2], True),  # 0x0000000000001122
    "neoverse-n1": (PAMAX_MAP[5], True),  # 0x0000000000101125
    "neoverse-v1": (PAMAX_MAP[5], True),  # 0x0000000000101125
    "neoverse-n2": (PAMAX_MAP[5], True),  # 0x0000022200101125
    "max": (PAMAX_MAP[6], True),  # aarch64_max_tcg_initfn: FEAT_LPA
}

#: mc->default_cpu_type of virt in a TCG build.
DEFAULT_CPU = "cortex-a15"
#: ``MachineClass.max_cpus`` of virt (virt-2.12 and older: 255).
VIRT_MAX_CPUS = 512


def cpu_type(model: str) -> str:
    return f"{model}-arm-cpu"


def cpu_model_exists(release: Release, model: str) -> bool:
    """``cpu_class_by_name``: the release's binary has ``<model>-arm-cpu``."""
    entry = recording(TARGET, release).type_table.get(cpu_type(model))
    return entry is not None and not entry.get("abstract", False)


def pamax(model: str) -> tuple[int, bool]:
    """``arm_pamax`` of a model virt takes, and whether it is AArch64."""
    return PAMAX[model]


def resolve_cpu_model(
    release: Release, option: str | None, default: str | None, accel: str
) -> tuple[str | None, list[str]]:
    """The vCPUs' model from ``-cpu`` (``parse_cpu_option``) or the board's default."""
    if option is None:
        return default, []
    if not option:
        raise CoreError(M.CPU_OPTION_EMPTY)
    model, _, features = option.partition(",")
    if model not in PAMAX and not cpu_model_exists(release, model):
        raise CoreError(M.CPU_MODEL_NOT_FOUND_CLI.format(model))
    if features:
        # memdevd models no arm CPU property (sve=, pauth=...).
        raise CoreError(M.OPTION_NOT_EMULATED.format(f"-cpu {option}"))
    return model, []


def check_valid_cpu(release: Release, model: str) -> None:
    """virt's ``valid_cpu_types`` (machine_run_board_init, 7.2: machvirt_init)."""
    valid = release.virt_valid_cpus
    if model in valid:
        return
    if release.virt_cpu_check_in_machine:
        raise CoreError(
            M.CPU_MODEL_INVALID.format(model),
            hint=M.CPU_MODEL_VALID_LIST_HINT.format(", ".join(valid)),
        )
    raise CoreError(M.VIRT_CPU_TYPE_NOT_SUPPORTED_7_2.format(cpu_type(model)))


def cpu_help_text(release: Release) -> str:
    """``-cpu help``: ``arm_cpu_list`` as the release's binary printed it
    (cpu-models.json: its order, the deprecated models marked); 8.2, answered
    from 10.0's recording, lists every arm CPU type of the recording, sorted."""
    rec = recording(TARGET, release)
    if release.is_recorded:
        data = rec.load("cpu-models")
        text = data.get("help") if isinstance(data, dict) else None
        if isinstance(text, str):
            return text
    names = sorted(
        name.removesuffix("-arm-cpu")
        for name, entry in rec.type_table.items()
        if name.endswith("-arm-cpu") and not entry.get("abstract", False)
    )
    return "\n".join(["Available CPUs:", *(f"  {n}" for n in names)]) + "\n"


# --- possible CPUs (virt_possible_cpu_arch_ids) ------------------------------------


def mp_affinity(index: int, cluster_size: int) -> int:
    """``arm_build_mp_affinity``: Aff1 the cluster, Aff0 the CPU in it."""
    return ((index // cluster_size) << 8) | (index % cluster_size)


def possible_cpus(smp: SmpConfig, gic_version: int) -> list[CpuSlot]:
    """Every CPU up to maxcpus: MPIDR affinity (16 per cluster with GICv3,
    8 with GICv2) and the socket/cluster/core/thread ids."""
    cluster_size = 8 if gic_version == 2 else 16
    slots = []
    for n in range(smp.max_cpus):
        props = {
            "socket-id": n // (smp.clusters * smp.cores * smp.threads),
            "cluster-id": (n // (smp.cores * smp.threads)) % smp.clusters,
            "core-id": (n // smp.threads) % smp.cores,
            "thread-id": n % smp.threads,
        }
        slots.append(CpuSlot(n, mp_affinity(n, cluster_size), props["socket-id"], props))
    return slots


class ARMCPU(Device):
    """A vCPU of ``virt``: the recorded object of its model where there is one."""

    type_chain = ("arm-cpu", "cpu", "device", "object")
    hotpluggable = False

    def __init__(self, machine: Machine, model: str, slot: CpuSlot) -> None:
        super().__init__(machine)
        self.typename = cpu_type(model)
        parents = ("aarch64-cpu", *ARMCPU.type_chain) if PAMAX[model][1] else ARMCPU.type_chain
        self.type_chain = (self.typename, *parents)  # type: ignore[misc]
        self.model = model
        self.slot = slot
        own: dict[str, Any] = {
            "node-id": slot.props.get("node-id", UNSET_NODE_ID),
            "mp-affinity": slot.arch_id,
        }
        for name in ("socket-id", "cluster-id", "core-id", "thread-id"):
            own[name] = slot.props[name]
        self.__dict__["_recorded_overrides"] = own

    @property
    def cpu_index(self) -> int:
        return self.slot.index

    def recorded_sample(self) -> InstanceSample | None:
        return self.machine.recording.cpu_sample("tcg", self.model)

    def hotplug_handler(self, machine: Machine) -> CpuHotplug:
        return CpuHotplug(machine)


def create_cpus(machine: Machine) -> None:
    """machvirt_init: realize ``-smp cpus`` vCPUs of the model."""
    model = machine.config.cpu_model
    if model is None:
        return
    for slot in machine.cpu_slots[: machine.config.smp.cpus]:
        cpu = ARMCPU(machine, model, slot)
        machine.realize_unattached(cpu)
        machine.cpus.append(cpu)
