"""``-cpu`` models and options (targets/x86_64/cpu_models.py): the vCPUs,
QEMU's warnings and the memory map they decide.  The same outcomes are
compared with real QEMU in tests/conformance/test_cpu_models_live.py."""

from __future__ import annotations

from typing import Any

import pytest

from memdevd.app import cli
from memdevd.releases.recorded import recording
from memdevd.releases.table import get_release
from memdevd.targets.x86_64 import cpu_models
from memdevd.util.qemu_opts import OptionError

TCG = "TCG doesn't support requested feature: "


def _start(version: str, *argv: str) -> Any:
    parsed = cli.parse(
        ["-memdevd", f"version={version}", "-display", "none", *argv], "qemu-system-x86_64"
    )
    return cli.build_daemon(parsed, "qemu-system-x86_64")


def _error(version: str, *argv: str) -> OptionError:
    with pytest.raises(OptionError) as info:
        _start(version, *argv)
    return info.value


def _warnings(notes: list[Any]) -> list[str]:
    return [n.message for n in notes if n.kind == "warning"]


@pytest.mark.parametrize("version", ["7.2", "10.0"])
def test_model_options_make_the_vcpu(version: str) -> None:
    daemon, notes = _start(version, "-cpu", "Skylake-Server,phys-bits=41,+sse4_2,-avx2")
    vcpu = daemon.machine.cpus[0]
    assert vcpu.typename == "Skylake-Server-x86_64-cpu"
    state = vcpu.vcpu
    assert state.phys_bits == 41
    assert state.vendor == "GenuineIntel"
    assert not state.is_amd
    assert "sse4.2" in state.flags and "avx2" not in state.flags
    # TCG filters pcid and warns, in QEMU's order (CPUID.01H first)
    assert "pcid" not in state.flags and "pcid" in state.filtered
    assert _warnings(notes)[0] == TCG + "CPUID.01H:ECX.pcid [bit 17]"


def test_vcpu_object_shows_its_model() -> None:
    daemon, _ = _start("10.0", "-cpu", "EPYC,phys-bits=43")
    cpu = daemon.machine.cpus[0]
    values = cpu.__dict__["_recorded_overrides"]
    assert values["phys-bits"] == 43
    assert values["vendor"] == "AuthenticAMD"
    assert values["model-id"].startswith("AMD EPYC")
    assert values["lm"] is True and values["pcid"] is False


@pytest.mark.parametrize(("version", "bits"), [("7.2", 32), ("10.0", 36)])
def test_pae_alone_gives_36_bits_from_8_2(version: str, bits: int) -> None:
    daemon, _ = _start(version, "-cpu", "pentium,pae=on")
    assert daemon.machine.cpus[0].vcpu.phys_bits == bits
    daemon, _ = _start(version, "-cpu", "pentium,pse36=on")
    assert daemon.machine.cpus[0].vcpu.phys_bits == 36
    daemon, _ = _start(version, "-cpu", "pentium")
    assert daemon.machine.cpus[0].vcpu.phys_bits == 32


@pytest.mark.parametrize("version", ["7.2", "10.0"])
def test_the_vendor_decides_the_amd_hole(version: str) -> None:
    mem = ["-machine", "q35", "-m", "512,slots=1,maxmem=980G"]
    _start(version, *mem, "-cpu", "qemu64,vendor=GenuineIntel")
    error = _error(version, *mem, "-cpu", "qemu64")
    assert error.message.endswith("phys-bits too low (40)")
    # ... from 7.1 machine types on
    _start(version, "-machine", "pc-q35-7.0", "-m", "512,slots=1,maxmem=987.5G")


def test_warnings_once_per_vcpu_and_ambiguity() -> None:
    _, notes = _start("10.0", "-smp", "2", "-cpu", "qemu64,+pcid,pcid=off")
    assert _warnings(notes) == [
        'Ambiguous CPU model string. Don\'t mix both "+pcid" and "pcid=off"',
        "Compatibility of ambiguous CPU model strings won't be kept on future QEMU versions",
        TCG + "CPUID.01H:ECX.pcid [bit 17]",
        TCG + "CPUID.01H:ECX.pcid [bit 17]",
    ]


def test_enforce_prints_the_warnings_then_fails() -> None:
    error = _error("10.0", "-cpu", "qemu64,pcid=on,enforce")
    assert error.message == "TCG doesn't support requested features"
    assert [n.message for n in error.preceding][-1] == TCG + "CPUID.01H:ECX.pcid [bit 17]"


def test_vendor_text_by_release() -> None:
    assert _error("7.2", "-cpu", "qemu64,vendor=x").message == (
        "can't apply global qemu64-x86_64-cpu.vendor=x: Property '.vendor' doesn't take value 'x'"
    )
    assert _error("10.0", "-cpu", "qemu64,vendor=x").message == (
        "can't apply global qemu64-x86_64-cpu.vendor=x: "
        "value of property 'vendor' must consist of exactly 12 characters"
    )


def test_8_2_lacks_the_models_of_later_releases() -> None:
    assert _error("8.2", "-cpu", "SierraForest").message == (
        "unable to find CPU model 'SierraForest'"
    )
    _start("10.0", "-cpu", "SierraForest")
    _start("8.2", "-cpu", "SapphireRapids-v2")
    text = cpu_models.cpu_models(get_release("8.2")).help_text()
    assert "  SapphireRapids-v2 " in text and "SierraForest" not in text
    names = {d["name"] for d in cpu_models.cpu_models(get_release("8.2")).definitions()}
    assert "YongFeng" not in names and "EPYC-v4" in names


def test_default_cpu_does_not_read_the_model_table() -> None:
    rec = recording("x86_64", get_release("10.0"))
    rec._files.pop("cpu-models", None)
    cpu_models._MODELS.clear()
    daemon, _ = _start("10.0", "-machine", "q35", "-m", "1G,slots=2,maxmem=4G")
    assert daemon.machine.cpus[0].vcpu.phys_bits == 40
    _start("10.0", "-cpu", "max")
    assert "cpu-models" not in rec._files


def test_8_2_definitions_lack_later_models() -> None:
    daemon, _ = _start("8.2", "-machine", "none,accel=tcg")
    definitions = daemon.registry.get("query-cpu-definitions").handler(None, {})
    names = {d["name"] for d in definitions}
    assert "SierraForest" not in names and "SapphireRapids-v2" in names
    daemon, _ = _start("10.0", "-machine", "none,accel=tcg")
    definitions = daemon.registry.get("query-cpu-definitions").handler(None, {})
    assert "SierraForest" in {d["name"] for d in definitions}


def test_host_phys_bits_under_kvm() -> None:
    kvm = ["-memdevd", "kvm=on,phys-bits=46", "-accel", "kvm", "-cpu"]
    daemon, _ = _start("10.0", *kvm, "qemu64")
    assert daemon.machine.cpus[0].vcpu.phys_bits == 40
    daemon, _ = _start("10.0", *kvm, "qemu64,host-phys-bits=on")
    assert daemon.machine.cpus[0].vcpu.phys_bits == 46
    daemon, _ = _start("10.0", *kvm, "qemu64,host-phys-bits=on,host-phys-bits-limit=42")
    assert daemon.machine.cpus[0].vcpu.phys_bits == 42
    daemon, _ = _start("10.0", *kvm, "host")
    assert daemon.machine.cpus[0].vcpu.phys_bits == 46
    daemon, notes = _start("10.0", "-smp", "2", *kvm, "qemu64,phys-bits=41")
    assert daemon.machine.cpus[0].vcpu.phys_bits == 41
    assert _warnings(notes) == ["Host physical bits (46) does not match phys-bits property (41)"]
    # the width decides the memory map: 46 bits take 2 TiB of maxmem
    _start("10.0", *kvm, "qemu64,host-phys-bits=on", "-m", "1G,slots=1,maxmem=2T")
    error = _error("10.0", *kvm, "qemu64", "-m", "1G,slots=1,maxmem=2T")
    assert error.message.endswith("phys-bits too low (40)")


@pytest.mark.parametrize("version", ["7.2", "10.0"])
def test_old_machine_types_give_the_vcpu_their_compat_properties(version: str) -> None:
    """pc_compat_X_Y's entries on TYPE_X86_CPU and on the model's own type
    (hw/i386/pc.c): Skylake-Server on pc-i440fx-2.11 has mpx on, pku and
    clflushopt off; the versioned model's type is another type."""
    daemon, _ = _start(version, "-machine", "pc-i440fx-2.11", "-cpu", "Skylake-Server")
    values = daemon.machine.cpus[0].__dict__["_recorded_overrides"]
    assert values["mpx"] is True and values["pku"] is False and values["clflushopt"] is False
    assert values["x-migrate-smi-count"] is False and values["hv-version-id-build"] == 0x1BBC
    daemon, _ = _start(version, "-machine", "pc-i440fx-2.11", "-cpu", "Skylake-Server-v1")
    values = daemon.machine.cpus[0].__dict__["_recorded_overrides"]
    assert values["mpx"] is False and values["pku"] is True
    assert values["x-migrate-smi-count"] is False


def test_check_off_on_2_4_types_silences_tcg_warnings() -> None:
    """pc_compat_2_4 sets check=off on every vCPU: no TCG warnings."""
    _, notes = _start("10.0", "-machine", "pc-q35-2.4", "-cpu", "Skylake-Server")
    assert not [w for w in _warnings(notes) if w.startswith(TCG)]
    _, notes = _start("10.0", "-machine", "pc-q35-2.5", "-cpu", "Skylake-Server")
    assert [w for w in _warnings(notes) if w.startswith(TCG)]


def test_legacy_cpu_version_types_list_no_alias_of() -> None:
    from memdevd.targets.x86_64.cpu_compat import legacy_cpu_version

    assert legacy_cpu_version("pc-q35-4.0.1") and legacy_cpu_version("pc-i440fx-4.0")
    assert not legacy_cpu_version("pc-q35-4.1") and not legacy_cpu_version("q35")
    daemon, _ = _start("10.0", "-machine", "pc-q35-4.0.1")
    machine = daemon.machine
    recorded = [{"name": "EPYC", "typename": "EPYC-x86_64-cpu", "alias-of": "EPYC-v1",
                 "unavailable-features": ["fxsr-opt"]}]  # fmt: skip
    (entry,) = machine.config.board.cpu_definitions(machine, recorded)
    assert "alias-of" not in entry


@pytest.mark.parametrize("version", ["7.2", "10.0"])
def test_feature_dependencies_turn_dependents_off(version: str) -> None:
    """feature_dependencies: without vmx, the vmx-* flags asked for go
    (filtered, with QEMU's warning, before TCG's); coreduo's definition has
    vmx-* flags that only +vmx brings back."""
    daemon, notes = _start(version, "-cpu", "qemu64,+vmx-ept")
    state = daemon.machine.cpus[0].vcpu
    assert "vmx-ept" not in state.flags and state.filtered == ["vmx-ept"]
    assert _warnings(notes) == [
        "This feature depends on other features that were not requested: MSR(48BH).vmx-ept [bit 1]"
    ]
    daemon, _ = _start(version, "-cpu", "coreduo,+vmx")
    state = daemon.machine.cpus[0].vcpu
    assert "vmx-hlt-exit" in state.filtered or "vmx-hlt-exit" in state.flags
    daemon, _ = _start(version, "-cpu", "coreduo")
    assert "vmx-hlt-exit" not in daemon.machine.cpus[0].vcpu.flags


def test_mpx_and_apx_conflict_in_11_1() -> None:
    """11.1's x86_cpu_expand_features: MPX and APX both on both go off,
    each warned (asked for or not, check=off too), before TCG's filter;
    enforce then refuses. Without apxf its dependent apx-nci-ndd-nf goes
    silently (DiamondRapids,apxf=off); asked for, with QEMU's warning."""
    conflict = [
        "this feature conflicts with APX: CPUID[eax=07h,ecx=00h].EBX.mpx [bit 14]",
        "this feature conflicts with MPX: CPUID[eax=07h,ecx=01h].EDX.apxf [bit 21]",
    ]
    daemon, notes = _start("11.1", "-cpu", "max,apxf=on")
    state = daemon.machine.cpus[0].vcpu
    assert _warnings(notes) == conflict
    assert "mpx" not in state.flags and "apxf" not in state.flags
    assert state.filtered == ["mpx", "apxf"]
    _, notes = _start("11.1", "-cpu", "qemu64,mpx=on,apxf=on,check=off")
    assert _warnings(notes) == conflict
    err = _error("11.1", "-cpu", "max,apxf=on,enforce")
    assert err.message == "TCG doesn't support requested features"
    _, notes = _start("11.1", "-cpu", "DiamondRapids,apxf=off")
    assert not any("apx" in w for w in _warnings(notes))
    _, notes = _start("11.1", "-cpu", "qemu64,apx-nci-ndd-nf=on")
    assert _warnings(notes) == [
        "This feature depends on other features that were not requested: "
        "CPUID[eax=29h,ecx=00h].EBX.apx-nci-ndd-nf [bit 0]"
    ]
    # 10.0 has neither the conflict nor the flags
    assert cpu_models.cpu_models(get_release("10.0")).conflicts == []


@pytest.mark.parametrize("version", ["7.2", "10.0"])
def test_levels_follow_the_flags(version: str) -> None:
    """x86_cpu_expand_features raises min-level/level to what a flag needs
    (avx512f: leaf 7 is below qemu64's 0xd; svm: xlevel 0x8000000A), not a
    level given explicitly; dies raise an Intel vCPU's level to 0x1F; with
    full-cpuid-auto-level off (types up to 2.7) only leaf 7's EBX flags do."""
    daemon, _ = _start(version, "-cpu", "pentium,+avx512f")
    props = daemon.machine.cpus[0].vcpu.props
    assert props["level"] == 7 and props["min-level"] == 7
    daemon, _ = _start(version, "-cpu", "pentium,+avx512f,level=3")
    props = daemon.machine.cpus[0].vcpu.props
    assert props["level"] == 3 and props["min-level"] == 7
    daemon, _ = _start(version, "-smp", "4,dies=2", "-cpu", "Skylake-Client")
    assert daemon.machine.cpus[0].vcpu.props["level"] == 0x1F
    daemon, _ = _start(version, "-machine", "pc-i440fx-2.6", "-cpu", "Opteron_G3")
    assert daemon.machine.cpus[0].vcpu.props["xlevel"] == 0x80000008


def test_ht_in_the_features_of_10_0_only() -> None:
    daemon, _ = _start("10.0", "-smp", "2", "-cpu", "EPYC")
    flags = daemon.machine.cpus[0].vcpu.flags
    assert "ht" in flags and "cmp-legacy" in flags
    daemon, _ = _start("7.2", "-smp", "2", "-cpu", "EPYC")
    assert "ht" not in daemon.machine.cpus[0].vcpu.flags


def test_8_2_lacks_the_models_of_9_1_and_later() -> None:
    """8.2 (Ubuntu 24.04) answers from 10.0's models without those 9.1-10.0
    added: Icelake-Server-v7 (9.1) is unknown, 8.1's EPYC-Genoa is there."""
    err = _error("8.2", "-cpu", "Icelake-Server-v7")
    assert "unable to find CPU model 'Icelake-Server-v7'" in str(err)
    daemon, _ = _start("8.2", "-cpu", "EPYC-Genoa")
    assert daemon.machine.cpus[0].vcpu.vendor == "AuthenticAMD"
    assert "Icelake-Server-v7" not in cpu_models.cpu_models(get_release("8.2")).help_text()


def test_intel_pt_below_leaf_0x14_on_3_1_types() -> None:
    """x-intel-pt-auto-level=off (pc_compat_3_1): intel-pt does not raise the
    level; below leaf 0x14 it is filtered with QEMU's own warning."""
    daemon, notes = _start("10.0", "-machine", "pc-i440fx-3.1", "-cpu", "qemu64,+intel-pt")
    state = daemon.machine.cpus[0].vcpu
    assert state.filtered == ["intel-pt"] and state.props["level"] == 0xD
    assert _warnings(notes)[-1].startswith("Intel PT need CPUID leaf 0x14")
    daemon, _ = _start("10.0", "-machine", "pc-i440fx-4.0", "-cpu", "qemu64,+intel-pt")
    assert daemon.machine.cpus[0].vcpu.props["level"] == 0x14
