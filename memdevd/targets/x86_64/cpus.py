"""x86 vCPUs: topology, APIC ids, CPU models and the vCPU objects.

* the x86 topology (include/hw/i386/topology.h): APIC ids and the
  socket/die/module/core/thread ids of every possible CPU
  (``x86_possible_cpu_arch_ids``);
* ``-cpu`` (``parse_cpu_option``): the CPU models of the recorded release;
* :class:`X86CPU`: a vCPU object at ``/machine/unattached/device[N]``
  whose properties are QEMU's, recorded per model and accelerator
  (``cpus.json``), its topology properties its own.  The first vCPU's
  APIC creates the ``kvmvapic`` device right after it, so the vCPUs are
  ``device[0]``, ``device[2]``, ``device[3]``... as in QEMU.

Only the models recorded for the accelerator in use are emulated (qemu64
and max under TCG, qemu64 and host under KVM); others are refused by name
at start-up, unknown ones with QEMU's text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memdevd import messages as M
from memdevd.machine.errors import CoreError
from memdevd.machine.qdev import Device
from memdevd.machine.smp import UNSET_NODE_ID, CpuHotplug, CpuSlot, SmpConfig
from memdevd.qapi.visitor import parse_bool_text
from memdevd.records import record
from memdevd.releases.recorded import InstanceSample, Recording, recording
from memdevd.targets.x86_64.machine_types import machine_list

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine
    from memdevd.releases.table import Release
    from memdevd.targets.x86_64.cpu_models import VcpuState

TARGET = "x86_64"


def max_cpus_of(release: Release, machine_name: str) -> int:
    """``MachineClass.max_cpus``, as query-machines reported it (cpu-max)."""
    for entry in machine_list(release):
        if entry["name"] == machine_name:
            return int(entry["cpu-max"])
    return 1


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


# --- -cpu: parse_cpu_option ------------------------------------------------------


def cpu_model_exists(release: Release, model: str) -> bool:
    """``cpu_class_by_name``: ``<model>-x86_64-cpu`` is a (10.0: concrete) type
    of the release (8.2 lacks the models of 9.0 and later)."""
    if model in release.cpu_models_absent:
        return False
    entry = recording(TARGET, release).type_table.get(f"{model}-x86_64-cpu")
    if entry is None:
        return False
    return not (release.cpu_class_rejects_abstract and entry.get("abstract", False))


def cpu_help_text(release: Release) -> str:
    """``-cpu help``: ``x86_cpu_list`` as the release prints it."""
    from memdevd.targets.x86_64.cpu_models import cpu_models

    return cpu_models(release).help_text()


def resolve_cpu_model(
    release: Release, option: str | None, default: str | None, accel: str
) -> tuple[str | None, list[str]]:
    """The vCPUs' model: ``-cpu``'s (checked as ``parse_cpu_option``) or the board's.

    Returns the model and the warnings QEMU prints while parsing the
    options.  Raises CoreError: QEMU's texts for an empty or unknown model
    and bad options; memdevd's for a model not recorded under KVM (``host``
    under TCG passes: QEMU refuses it when the vCPU is realized).
    """
    if option is None:
        return default, []
    if not option:
        raise CoreError(M.CPU_OPTION_EMPTY)
    model, _, features = option.partition(",")
    rec = recording(TARGET, release)
    recorded_models = {*rec.cpu_models("tcg"), *rec.cpu_models("kvm")}
    # (the type list is read only for a model that was not recorded)
    if model not in recorded_models and not cpu_model_exists(release, model):
        raise CoreError(M.CPU_MODEL_NOT_FOUND_CLI.format(model))
    warnings: list[str] = []
    if features:
        from memdevd.targets.x86_64.cpu_models import parse_featurestr

        _, warnings = parse_featurestr(features)
    if model == "host" and accel != "kvm":
        return model, warnings
    if accel == "kvm":
        models = rec.cpu_models(accel)
        if model not in models:
            raise CoreError(
                M.CPU_MODEL_NOT_RECORDED.format(model, accel.upper(), ", ".join(models))
            )
        if features and not _features_as_recorded(rec, accel, model, features):
            raise CoreError(M.CPU_FEATURES_NOT_EMULATED_KVM.format(option))
    return model, warnings


def _features_as_recorded(rec: Recording, accel: str, model: str, features: str) -> bool:
    """Whether every ``-cpu`` feature only restates the recorded vCPU's value.

    libvirt's ``host-passthrough`` asks for ``-cpu host,migratable=on``,
    which is the host model's default: the recorded vCPU is that vCPU.
    Under KVM, anything that would change a property is refused by the
    caller (the recorded values are the recording host's).
    """
    values = rec.cpu_values(accel, model) or {}
    for token in features.split(","):
        if token.partition("=")[0] in _HOST_WIDTH_OPTIONS:
            continue  # the width options apply to any vCPU (a host fact)
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


#: The ``-cpu`` options about the physical address width, emulated under KVM.
_HOST_WIDTH_OPTIONS = frozenset({"phys-bits", "host-phys-bits", "host-phys-bits-limit"})


def _sample_base(values: dict[str, Any]) -> tuple[set[str], dict[str, Any]]:
    """A recorded vCPU's values as a model's flags and properties (phys-bits unset)."""
    flags = {name for name, value in values.items() if value is True}
    props = {name: value for name, value in values.items() if not isinstance(value, bool)}
    props.update({n: v for n, v in values.items() if isinstance(v, bool)})
    props["phys-bits"] = 0
    return flags, props


def realize_cpu_model(machine: Machine, model: str, accel: str, warnings: list[str]) -> VcpuState:
    """One vCPU of ``model`` with ``-cpu``'s options, realized."""
    from memdevd.targets.x86_64.cpu_compat import cpu_compat_globals
    from memdevd.targets.x86_64.cpu_models import FeatureString, parse_featurestr, realize_vcpu

    option = machine.config.cpu_option or ""
    features = FeatureString((), (), ())
    if "," in option:
        features, _ = parse_featurestr(option.partition(",")[2])
    base = None
    values = machine.recording.cpu_values(accel, model)
    if values is not None:
        # (realized: what realize adds, such as max's family, is in it)
        base = _sample_base(values)
    return realize_vcpu(
        machine.release,
        model,
        features,
        accel=accel,
        host_phys_bits=machine.host.phys_bits,
        warnings=warnings,
        base=base,
        # (under KVM the recorded host vCPU is the recording's machine type's)
        compat=cpu_compat_globals(machine.release, machine.config.machine_type)
        if accel == "tcg"
        else (),
        extended_topology=accel == "tcg" and _extended_topology(machine),
        threads_per_package=_threads_per_package(machine) if accel == "tcg" else 1,
    )


def _threads_per_package(machine: Machine) -> int:
    """``x86_threads_per_pkg``."""
    smp = machine.config.smp
    return smp.dies * smp.modules * smp.cores * smp.threads


def _extended_topology(machine: Machine) -> bool:
    """``x86_has_extended_topo``: dies or modules in ``-smp``."""
    smp = machine.config.smp
    return smp.dies > 1 or smp.modules > 1


# --- the vCPU objects -----------------------------------------------------------------


class X86CPU(Device):
    """A vCPU: QEMU's recorded properties, its own topology.

    The properties, their order, values and qom-set behaviour are those of
    the recorded vCPU of the same model and accelerator; what differs
    between vCPUs (APIC id, topology ids, NUMA node) is this vCPU's, and its
    children (``lapic``, ``memory[N]``, ``smram[0]``) read as paths below it.
    """

    type_chain = ("x86_64-cpu", "cpu", "device", "object")
    hotpluggable = True

    def __init__(
        self, machine: Machine, model: str, accel: str, slot: CpuSlot, vcpu: VcpuState
    ) -> None:
        super().__init__(machine)
        self.typename = f"{model}-x86_64-cpu"
        self.type_chain = (self.typename, *X86CPU.type_chain)  # type: ignore[misc,assignment]
        # Model and accelerator name the recorded vCPU (looked up, not kept:
        # snapshots deep-copy the machine); a model recorded with no vCPU
        # object reads qemu64's, with its own values below.
        self.model = model
        self.accel = accel
        self.slot = slot
        self.vcpu = vcpu
        own: dict[str, Any] = {}
        # (a KVM vCPU with a recorded object reads it: its values are the
        # recording host's, which the TCG tables do not describe)
        has_options = "," in (machine.config.cpu_option or "")
        recorded = machine.recording.cpu_values(accel, model) is not None
        if recorded and accel == "kvm" and has_options:
            own["phys-bits"] = vcpu.phys_bits  # (only width options pass under KVM)
        expanded = (
            has_options
            or vcpu.compat_set
            or _extended_topology(machine)
            or (machine.release.cpu_ht_in_features and _threads_per_package(machine) > 1)
        )
        if not recorded or (accel == "tcg" and expanded):
            listing = machine.recording.cpu_values(accel, model) or machine.recording.cpu_values(
                accel, "qemu64"
            )
            assert listing is not None
            for name, value in listing.items():
                if isinstance(value, bool):
                    canonical = _flag_name(machine.release, name)
                    if canonical is not None:
                        own[name] = canonical in vcpu.flags
                    elif name in vcpu.props:
                        own[name] = bool(vcpu.props[name])
                elif name in vcpu.props and (name in _MODEL_PROPS or name in vcpu.compat_set):
                    own[name] = vcpu.props[name]
            own["phys-bits"] = vcpu.phys_bits
            own["unavailable-features"] = list(vcpu.filtered)
            own.update(_feature_words(machine.release, listing, vcpu))
        own.update(
            {
                "apic-id": slot.arch_id,
                "socket-id": slot.topo.pkg,
                "die-id": slot.topo.die,
                "module-id": slot.topo.module,
                "core-id": slot.topo.core,
                "thread-id": slot.topo.smt,
                "node-id": slot.props.get("node-id", UNSET_NODE_ID),
            }
        )
        # The recorded properties read these instead of the sample's values
        # (qom/_recorded_prop keeps qom-set values in the same place); a
        # name the model does not list (7.2's module-id) is never read.
        self.__dict__["_recorded_overrides"] = own

    @property
    def cpu_index(self) -> int:
        return self.slot.index

    @property
    def sample(self) -> InstanceSample:
        rec = self.machine.recording
        sample = rec.cpu_sample(self.accel, self.model)
        if sample is None:
            sample = _renamed_sample(rec, self.accel, self.model)
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


def plan_cpus(machine: Machine) -> list[str]:
    """The possible CPUs and their NUMA nodes, before the board is built.

    ``machine_run_board_init`` does this after completing the NUMA
    configuration; returns QEMU's warnings about the mapping.
    """
    from memdevd.machine.numa import finish_cpus, possible_cpus

    possible_cpus(machine)
    return finish_cpus(machine, machine.config.board.default_cpu_node)


def create_cpus(machine: Machine, warnings: list[str]) -> None:
    """``x86_cpus_init``: realize the vCPUs.

    Appends the warnings each vCPU's realize prints to ``warnings``; raises
    CoreError with QEMU's texts for what fails when a vCPU is realized.
    """
    config = machine.config
    model = config.cpu_model
    if model is None:
        return
    accel = "kvm" if machine.kvm_enabled else "tcg"
    slots = machine.cpu_slots
    if machine.release.tcg_apic_id_limit and accel == "tcg" and slots and slots[-1].arch_id > 254:
        raise CoreError(M.SMP_NEEDS_X2APIC_7_2)
    if model == "host" and accel != "kvm":
        raise CoreError(M.CPU_MODEL_NEEDS_KVM.format(model))
    for slot in slots[: config.smp.cpus]:
        vcpu = realize_cpu_model(machine, model, accel, warnings)
        cpu = X86CPU(machine, model, accel, slot, vcpu)
        machine.realize_unattached(cpu)
        machine.cpus.append(cpu)
        if len(machine.cpus) == 1 and config.ram_size >= 1024 * 1024:
            # apic_common_realize(): the first APIC creates "kvmvapic", the
            # next /machine/unattached/device[N]; memdevd does not model it.
            machine.unattached_counter += 1
    if machine.kvm_enabled:
        # kvmclock_create() after the vCPUs (qemu64 and host have kvmclock).
        machine.unattached_counter += 1


#: The model's own properties a vCPU object shows (the rest is the sample's).
_MODEL_PROPS = frozenset(
    {
        "vendor", "family", "model", "stepping", "model-id", "level", "xlevel",
        "xlevel2", "min-level", "min-xlevel", "min-xlevel2", "level-func7",
        "host-phys-bits", "host-phys-bits-limit", "tsc-frequency", "hv-vendor-id",
        "ucode-rev",
    }
)  # fmt: skip


_RENAMED: dict[tuple[int, str, str], InstanceSample] = {}


def _renamed_sample(rec: Recording, accel: str, model: str) -> InstanceSample:
    """qemu64's recorded vCPU with ``model``'s type name in its texts."""
    key = (id(rec), accel, model)
    found = _RENAMED.get(key)
    if found is None:
        import json

        base = rec.cpu_sample(accel, "qemu64")
        assert base is not None
        text = json.dumps(base).replace("'qemu64-x86_64-cpu", f"'{model}-x86_64-cpu")
        found = _RENAMED[key] = json.loads(text)
    return found


def _feature_words(release: Release, recorded: dict[str, Any], vcpu: VcpuState) -> dict[str, Any]:
    """``feature-words`` and ``filtered-features`` of ``vcpu``: the recorded
    vCPU's, with the bits of its flags replaced by those of ``vcpu``'s."""
    from memdevd.targets.x86_64.cpu_models import cpu_models

    bits: dict[str, list[int]] = cpu_models(release).data["flag-bits"]
    had = {
        flag
        for name, value in recorded.items()
        if value is True and (flag := _flag_name(release, name)) is not None
    }
    out: dict[str, Any] = {}
    for prop, old_flags, new_flags in (
        ("feature-words", had, vcpu.flags),
        ("filtered-features", set(), set(vcpu.filtered)),
    ):
        words = recorded.get(prop)
        if not isinstance(words, list):
            continue
        values = [int(w["features"]) for w in words]
        for flag in old_flags:
            if flag in bits:
                index, bit = bits[flag]
                values[index] &= ~(1 << bit)
        for flag in new_flags:
            if flag in bits:
                index, bit = bits[flag]
                values[index] |= 1 << bit
        if prop == "feature-words":
            _derived_words(release, words, values, vcpu)
        out[prop] = [{**w, "features": v} for w, v in zip(words, values, strict=True)]
    return out


#: CPUID_EXT2_AMD_ALIASES: leaf 1 EDX bits an AMD vCPU repeats in 0x80000001 EDX.
_AMD_ALIASES = 0x0183F3FF
#: x86_ext_save_areas: the XCR0 components each flag enables (with xsave).
_XSAVE_COMPONENTS = {
    "avx": 1 << 2,
    "mpx": 0x18,
    "avx512f": 0xE0,
    "pku": 1 << 9,
    "amx-tile": 0x60000,
}


def _derived_words(
    release: Release, words: list[dict[str, Any]], values: list[int], vcpu: VcpuState
) -> None:
    """The feature words x86_cpu_realizefn derives from the flags: the AMD
    aliases and the XSAVE components (``x86_cpu_enable_xsave_components``)."""

    def index(eax: int, reg: str, ecx: int | None = None) -> int | None:
        for i, w in enumerate(words):
            same = w["cpuid-input-eax"] == eax and w["cpuid-register"] == reg
            if same and (ecx is None or w.get("cpuid-input-ecx") == ecx):
                return i
        return None

    leaf1, ext = index(1, "EDX"), index(0x80000001, "EDX")
    if leaf1 is not None and ext is not None:
        values[ext] &= ~_AMD_ALIASES
        if vcpu.is_amd:
            values[ext] |= values[leaf1] & _AMD_ALIASES
    xcr0 = index(0xD, "EAX", 0)
    if xcr0 is not None:
        mask = 0
        flags = set(vcpu.flags)
        if not release.xsave_components_after_filter:
            flags.update(vcpu.filtered)
        if "xsave" in flags:
            mask = 3
            for flag, bits in _XSAVE_COMPONENTS.items():
                if flag in flags:
                    mask |= bits
        values[xcr0] = mask


def _flag_name(release: Release, name: str) -> str | None:
    """The flag a boolean vCPU property is (itself or an alias), or None."""
    from memdevd.targets.x86_64.cpu_models import cpu_models

    return cpu_models(release).flag_of(name)
