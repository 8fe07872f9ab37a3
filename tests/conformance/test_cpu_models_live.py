"""Live: ``-cpu`` models and options on real QEMU 7.2/10.0 and on memdevd.

Each case is a command line (after ``-nodefaults -display none -accel
tcg``) run on the real QEMU of each release and on ``python -m memdevd
-memdevd version=R``: the outcome (started, or the exit status), stdout and
stderr must be the same (warnings of a VM that starts are those printed
before its QMP monitor answers; the harness then kills both).

The first fifteen cases are QEMU 10.0's functional test
tests/functional/test_mem_addr_space.py (each its ``-m``, ``-cpu`` and
``-machine``): on 10.0 all fifteen end as the test expects, on 7.2 as 7.2
ends them (``EPYC-v4`` does not exist there, PAE alone gives 32 bits).
Then real command lines (Proxmox's ``kvm64`` with features, Kata's
``max,pmu=off``) and QEMU's option errors.  ``test_every_model_like_qemu``
starts every model of each release (slow).
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from live_qemu import (
    DATA,
    QEMU_VERSIONS,
    Outcome,
    ask,
    ask_both,
    ask_or_exit,
    compare_startup,
    compare_startups,
    qemu_command,
    runnable,
)

pytestmark = pytest.mark.live_qemu

COMMON = ["-nodefaults", "-display", "none", "-accel", "tcg"]
JOBS = int(os.environ.get("MEMDEVD_LIVE_JOBS", "2"))
TIMEOUT = 30.0
MEM = "-m 512,slots=1,maxmem="
CXL = "-device pxb-cxl,bus_nr=12,bus=pcie.0,id=cxl.1"

#: (id, arguments): every case runs on both releases.
CASES: list[tuple[str, str]] = [
    # tests/functional/test_mem_addr_space.py (QEMU 10.0), in its order
    ("low_pse36", f"-S -machine q35 {MEM}59.6G -cpu pentium,pse36=on"),
    ("low_pae", f"-S -machine q35 {MEM}59.6G -cpu pentium,pae=on"),
    ("ok_pentium_pse36", f"-machine q35 {MEM}59.5G -cpu pentium,pse36=on"),
    ("ok_pentium_pae", f"-machine q35 {MEM}59.5G -cpu pentium,pae=on"),
    ("ok_pentium2", f"-machine q35 {MEM}59.5G -cpu pentium2"),
    ("low_nonpse36", f"-S -machine q35 {MEM}4G -cpu pentium"),
    ("low_tcg_q35_70_amd", f"-S -machine pc-q35-7.0 {MEM}988G"),
    ("low_tcg_q35_71_amd", f"-S -machine pc-q35-7.1 {MEM}976G"),
    ("ok_tcg_q35_70_amd", f"-S -machine pc-q35-7.0 {MEM}987.5G"),
    ("ok_tcg_q35_71_amd", f"-S -machine pc-q35-7.1 {MEM}975.5G"),
    ("ok_tcg_q35_71_intel", f"-S -cpu Skylake-Server -machine pc-q35-7.1 {MEM}976G"),
    ("low_tcg_q35_71_amd_41bits", f"-S -cpu EPYC-v4,phys-bits=41 -machine pc-q35-7.1 {MEM}992G"),
    ("ok_tcg_q35_71_amd_41bits", f"-S -cpu EPYC-v4,phys-bits=41 -machine pc-q35-7.1 {MEM}990G"),
    (
        "low_tcg_q35_intel_cxl",
        f"-S -cpu Skylake-Server,phys-bits=40 -machine q35,cxl=on {MEM}987G {CXL} "
        "-M cxl-fmw.0.targets.0=cxl.1,cxl-fmw.0.size=1G",
    ),
    (
        "ok_tcg_q35_intel_cxl",
        f"-S -cpu Skylake-Server,phys-bits=40 -machine q35,cxl=on {MEM}987G {CXL}",
    ),
    # real command lines
    ("proxmox", "-S -machine pc -cpu kvm64,enforce,+kvm_pv_eoi,+kvm_pv_unhalt,+lahf_lm,+sep"),
    ("kata", "-S -machine q35 -cpu max,pmu=off"),
    ("libvirt-custom", "-S -machine q35 -cpu Skylake-Client-IBRS,pcid=on,ss=off,vmx=off"),
    # the AMD hole follows the vendor
    ("intel-qemu64", f"-S -machine q35 -cpu qemu64,vendor=GenuineIntel {MEM}980G"),
    ("amd-qemu64", f"-S -machine q35 -cpu qemu64 {MEM}980G"),
    ("amd-epyc-41bits", f"-S -machine q35 -cpu EPYC,phys-bits=41 {MEM}1500G"),
    # 32-bit machine types up to 8.1 (broken_32bit_mem_addr_check)
    ("pentium-q35-8.1", f"-S -machine pc-q35-8.1 {MEM}4G -cpu pentium"),
    # option errors, in QEMU's order
    ("unknown-model", "-S -cpu nosuch,foo=on"),
    ("unknown-global", "-S -cpu qemu64,-foo,nosuch=on,+bar"),
    ("unknown-plus", "-S -cpu qemu64,-foo,+bar"),
    ("bad-bool", "-S -cpu qemu64,pcid=maybe"),
    ("bad-uint", "-S -cpu qemu64,level=x"),
    ("big-uint32", "-S -cpu qemu64,phys-bits=5000000000"),
    ("bad-vendor", "-S -cpu qemu64,vendor=foo"),
    ("phys-bits-range", "-S -cpu qemu64,phys-bits=53"),
    ("phys-bits-32bit", "-S -cpu pentium,phys-bits=36"),
    ("enforce", "-S -cpu qemu64,pcid=on,enforce"),
    ("enforce-model", "-S -cpu Skylake-Server,enforce"),
    ("check-off", "-S -cpu Skylake-Server,check=off"),
    ("ambiguous", "-S -cpu qemu64,+pcid,pcid=off,-x2apic,x2apic=on"),
    ("aliases", "-S -cpu qemu64,sse4_1=on,+sse4.2,lahf_lm,i64=off"),
    ("smp-warnings", "-S -smp 2 -cpu qemu64,+pcid"),
    ("tsc-freq", "-S -cpu qemu64,tsc-freq=1G"),
    ("tsc-freq-bad", "-S -cpu qemu64,tsc-freq=x"),
    ("hv-and-kvm", "-S -cpu qemu64,hv-relaxed,kvm=off,migratable=off"),
    ("model-version", "-S -cpu Cascadelake-Server-v5"),
    ("model-alias", "-S -cpu Broadwell-IBRS"),
    ("avx10-version", "-S -cpu qemu64,avx10-version=1"),
    ("help", "-cpu help"),
    # feature_dependencies: asked for without what it depends on (warned
    # before TCG's filter), enforce, a definition's flags +vmx brings back
    ("depends", "-S -cpu qemu64,+vmx-ept,+vmx-ept-2mb"),
    ("depends-enforce", "-S -cpu qemu64,+vmx-ept,enforce"),
    ("depends-svm", "-S -cpu qemu64,+svm,+npt,-svm"),
    ("depends-definition", "-S -cpu coreduo,+vmx"),
    # 11.1: MPX and APX conflict (both go off, warned, before TCG's filter);
    # apx-nci-ndd-nf depends on apxf; DiamondRapids lists apxf, TCG filters
    # it (7.2 and 10.0 know neither apxf nor the model)
    ("apx-mpx-conflict", "-S -cpu qemu64,mpx=on,apxf=on"),
    ("apx-conflict-max-enforce", "-S -cpu max,apxf=on,enforce"),
    ("apx-conflict-check-off", "-S -cpu qemu64,+mpx,+apxf,check=off"),
    ("apx-depends", "-S -cpu qemu64,apx-nci-ndd-nf=on"),
    ("diamondrapids", "-S -cpu DiamondRapids"),
    ("diamondrapids-apxf-off", "-S -cpu DiamondRapids,apxf=off"),
    # x-intel-pt-auto-level off up to 3.1: intel-pt below leaf 0x14 is filtered
    ("intel-pt-3.1", "-S -machine pc-i440fx-3.1 -cpu qemu64,+intel-pt"),
    ("intel-pt-3.1-enforce", "-S -machine pc-i440fx-3.1 -cpu qemu64,+intel-pt,enforce"),
]

#: Cases that need what another part of memdevd models (strict: they fail
#: once it does, and the marker goes).
XFAIL: dict[tuple[str, str], str] = {}


def _normalise(text: str) -> str:
    return re.sub(r"^memdevd(-qemu-system-x86_64)?:", "qemu-system-x86_64:", text, flags=re.M)


def _all(cases: list[tuple[str, str]]) -> dict[tuple[str, str], tuple[Outcome, Outcome]]:
    split = [(case, [*COMMON, *args.split()]) for case, args in cases]
    return compare_startups(split, QEMU_VERSIONS, JOBS, _normalise, TIMEOUT)


def _compare(args: str, version: str) -> tuple[Outcome, Outcome]:
    return compare_startup(version, [*COMMON, *args.split()], _normalise, TIMEOUT)


@pytest.fixture(scope="module")
def outcomes() -> dict[tuple[str, str], tuple[Outcome, Outcome]]:
    return _all(CASES)


@pytest.mark.parametrize("version", QEMU_VERSIONS)
@pytest.mark.parametrize("case", [c for c, _ in CASES])
def test_cpu_option_like_qemu(
    request: pytest.FixtureRequest,
    case: str,
    version: str,
    outcomes: dict[tuple[str, str], tuple[Outcome, Outcome]],
) -> None:
    if not runnable(version):
        pytest.skip(f"QEMU {version} not runnable here")
    reason = XFAIL.get((case, version))
    if reason is not None:
        request.applymarker(pytest.mark.xfail(reason=reason, strict=True))
    qemu, memdevd = outcomes[(case, version)]
    assert memdevd == qemu


def test_mem_addr_space_expectations(
    outcomes: dict[tuple[str, str], tuple[Outcome, Outcome]],
) -> None:
    """QEMU 10.0 ends each functional-test case as the test expects (so the
    comparison above compares what the test checks)."""
    if "10.0" not in QEMU_VERSIONS or not runnable("10.0"):
        pytest.skip("QEMU 10.0 not compared in this run (MEMDEVD_LIVE_VERSIONS) or not runnable")
    for case, _ in CASES[:15]:
        qemu, _memdevd = outcomes[(case, "10.0")]
        if case.startswith("low_"):
            assert qemu[0] == "exit 1" and "phys-bits too low" in qemu[2], case
        else:
            assert qemu[0] == "started" and "phys-bits too low" not in qemu[2], case


def _models(version: str) -> list[str]:
    data = json.loads((DATA / f"qemu-{version}" / "cpu-models.json").read_text(encoding="utf-8"))
    return [d["name"] for d in data["definitions"]]


#: The sweeps over every model and every machine type take minutes per
#: release: CI runs every SWEEP_STEP-th item (a different spread for each
#: sweep, always the first and the last), ``MEMDEVD_LIVE_SWEEP=all`` every one
#: (README, "Long runs").
SWEEP_STEP = 1 if os.environ.get("MEMDEVD_LIVE_SWEEP") == "all" else 6


def _sample(items: list[str]) -> list[str]:
    if SWEEP_STEP == 1 or len(items) <= 2:
        return items
    return sorted({items[0], items[-1], *items[::SWEEP_STEP]}, key=items.index)


@pytest.mark.slow
@pytest.mark.parametrize("version", QEMU_VERSIONS)
def test_every_model_like_qemu(version: str) -> None:
    """Every model of the release starts (or fails) as on QEMU, with its warnings."""
    if not runnable(version):
        pytest.skip(f"QEMU {version} not runnable here")
    cases = [(m, f"-S -machine q35 -cpu {m}") for m in _sample(_models(version))]
    args = dict(cases)
    with concurrent.futures.ThreadPoolExecutor(JOBS) as pool:
        futures = {m: pool.submit(_compare, args[m], version) for m, _ in cases}
        differ = [m for m, f in futures.items() if f.result()[0] != f.result()[1]]
    assert differ == []


def _machine_types(version: str) -> list[str]:
    """The release's versioned pc and q35 types, as query-machines lists them."""
    data = json.loads((DATA / f"qemu-{version}" / "queries.json").read_text(encoding="utf-8"))
    machines = data["query-machines"]["reply"]["return"]
    names = [m["name"] for m in machines]
    return sorted(n for n in names if n.startswith(("pc-i440fx-", "pc-q35-")))


@pytest.mark.slow
@pytest.mark.parametrize("version", QEMU_VERSIONS)
def test_every_machine_type_like_qemu(version: str) -> None:
    """Every versioned machine type of the release, with memory hot-plug
    asked for below and above the address-space limit of the default CPU
    (qemu64's 40 bits under TCG: 1 TiB, the AMD hole from 7.1's types):
    the start or its failure (old types without slots/maxmem, deprecation
    warnings, the phys-bits check) as on QEMU."""
    if not runnable(version):
        pytest.skip(f"QEMU {version} not runnable here")
    cases = [
        (f"{t}-{maxmem}", f"-S -machine {t} {MEM}{maxmem}")
        for t in _sample(_machine_types(version))
        for maxmem in ("4G", "975G", "1000G")
    ]
    args = dict(cases)
    with concurrent.futures.ThreadPoolExecutor(JOBS) as pool:
        futures = {c: pool.submit(_compare, args[c], version) for c, _ in cases}
        differ = {c: f.result() for c, f in futures.items() if f.result()[0] != f.result()[1]}
    assert differ == {}


def _expansion(kind: str, name: str, **props: object) -> dict[str, object]:
    model: dict[str, object] = {"name": name}
    if props:
        model["props"] = props
    return {"execute": "query-cpu-model-expansion", "arguments": {"type": kind, "model": model}}


QUESTIONS = [
    {"execute": "query-cpu-definitions"},
    _expansion("static", "Skylake-Client-IBRS"),
    _expansion("full", "Skylake-Client-IBRS"),
    _expansion("static", "Skylake-Client", pcid=False, avx2=False, **{"sse4.2": False}),
    _expansion("full", "EPYC", **{"phys-bits": 43, "vendor": "GenuineIntel"}),
    _expansion("static", "pentium", pse36=True, sse4_1=True),
    _expansion("full", "qemu64"),
    _expansion("static", "max"),
    _expansion("static", "Skylake-Client", nosuch=True),
    _expansion("static", "Skylake-Client", pcid=1),
    _expansion("static", "Cascadelake-Server-v5"),
    _expansion("full", "Broadwell-IBRS"),
    _expansion("static", "nosuch"),
    # 11.1's MPX/APX conflict: both off, apx-nci-ndd-nf (asked) stays, no
    # level raised by it
    _expansion("full", "base", mpx=True, apxf=True, **{"apx-nci-ndd-nf": True}),
    _expansion("full", "DiamondRapids", apxf=False),
]


@pytest.mark.parametrize("version", QEMU_VERSIONS)
def test_cpu_queries_like_qemu(version: str) -> None:
    """query-cpu-definitions and expansions of any model under TCG, byte for byte."""
    if not runnable(version):
        pytest.skip(f"QEMU {version} not runnable here")
    argv = ["-S", "-nodefaults", "-display", "none", "-machine", "none,accel=tcg"]
    qemu, memdevd = ask_both(version, argv, QUESTIONS)
    for question, want, got in zip(QUESTIONS, qemu, memdevd, strict=True):
        assert got == want, question


@pytest.mark.parametrize("version", QEMU_VERSIONS)
def test_cpu_queries_with_cpu_options_like_qemu(version: str) -> None:
    """-cpu's +feat/-feat reach every x86 CPU object QEMU makes (plus_features
    and minus_features), its name=value the -cpu model's type: the
    definitions' unavailable-features and the expansions show them."""
    if not runnable(version):
        pytest.skip(f"QEMU {version} not runnable here")
    argv = ["-S", "-nodefaults", "-display", "none", "-machine", "pc,accel=tcg"]
    argv += ["-cpu", "Skylake-Server,+vmx-ept,-avx2,pcid=off,+svm"]
    questions = [
        {"execute": "query-cpu-definitions"},
        _expansion("full", "Skylake-Server"),
        _expansion("static", "Skylake-Server", pcid=True),
        _expansion("full", "EPYC"),
        _expansion("static", "coreduo", vmx=True),
    ]
    qemu, memdevd = ask_both(version, argv, questions)
    for question, want, got in zip(questions, qemu, memdevd, strict=True):
        assert got == want, question


@pytest.mark.parametrize("version", [v for v in QEMU_VERSIONS if v == "11.1"])
def test_apx_conflict_in_definitions_like_qemu(version: str) -> None:
    """-cpu's +apxf reaches every model's object: those with MPX lose both
    (unavailable-features in QEMU's order), the vCPU's filtered-features
    and feature-words show the conflict (11.1 only: the others lack apxf)."""
    if not runnable(version):
        pytest.skip(f"QEMU {version} not runnable here")
    argv = ["-S", "-nodefaults", "-display", "none", "-machine", "pc,accel=tcg"]
    argv += ["-cpu", "max,+apxf"]
    questions = [
        {"execute": "query-cpu-definitions"},
        _expansion("full", "max", apxf=True),
        {"execute": "qom-get", "arguments": {"path": VCPU, "property": "filtered-features"}},
        {"execute": "qom-get", "arguments": {"path": VCPU, "property": "feature-words"}},
        {"execute": "qom-get", "arguments": {"path": VCPU, "property": "level"}},
    ]
    qemu, memdevd = ask_both(version, argv, questions)
    for question, want, got in zip(questions, qemu, memdevd, strict=True):
        assert got == want, question


VCPU = "/machine/unattached/device[0]"
VCPU_OPTIONS = [
    "Skylake-Server,phys-bits=41",
    # the automatic CPUID levels and the dependencies
    "pentium,+avx512f,+svm",
    "Skylake-Client,level=5,+avx512f",
    "qemu64,min-level=3,-sse,+vmx-ept",
    "coreduo,+vmx",
    "pentium,pae=on",
    "EPYC,vendor=GenuineIntel",
    "kvm64,+kvm_pv_eoi,+lahf_lm,-sep",
    "max,pmu=off,-pcid",
    "qemu64,-lm,pae=off,+pcid",
    "Cascadelake-Server-v5,check=off",
]


@pytest.mark.parametrize("version", QEMU_VERSIONS)
@pytest.mark.parametrize("cpu", VCPU_OPTIONS)
def test_vcpu_properties_like_qemu(version: str, cpu: str) -> None:
    """qom-get of every property of the first vCPU (phys-bits, vendor,
    family, model-id, feature-words, filtered-features, every flag...)."""
    if not runnable(version):
        pytest.skip(f"QEMU {version} not runnable here")
    assert _vcpu_differ(version, "pc", cpu) == []


#: Old machine types' compat properties on vCPUs (pc_compat_X_Y in
#: hw/i386/pc.c): on every vCPU (check=off on 2.4, cpuid-0xb on 2.6,
#: hv-version-id-* on 6.1...) and on one model's type (Skylake-Server's mpx,
#: pku and clflushopt; EPYC's npt, xlevel; qemu64's family on 6.0), not on
#: the versioned models' types.
MACHINE_VCPUS = [
    ("pc-i440fx-2.11", "Skylake-Server"),
    ("pc-q35-3.0", "Skylake-Server-v1"),
    ("pc-q35-2.12", "EPYC-IBPB"),
    ("pc-i440fx-3.1", "EPYC,+topoext"),
    ("pc-q35-2.4", "Haswell"),
    ("pc-i440fx-2.6", "qemu64"),
    ("pc-q35-6.0", "qemu64,pcid=on"),
    ("pc-q35-4.0.1", "Cascadelake-Server"),
    # full-cpuid-auto-level off up to 2.7: the definition's xlevel
    ("pc-i440fx-2.6", "Opteron_G3"),
    ("pc-q35-2.7", "Skylake-Client,+avx512f"),
    # pc_compat_9_0 (10.0, 11.1) and 11.1's pc_compat_10_0
    ("pc-i440fx-9.0", "EPYC"),
    ("pc-q35-10.0", "Skylake-Server,-pcid,phys-bits=42"),
]


@pytest.mark.parametrize("version", QEMU_VERSIONS)
@pytest.mark.parametrize(("machine", "cpu"), MACHINE_VCPUS)
def test_vcpu_on_old_machine_types_like_qemu(version: str, machine: str, cpu: str) -> None:
    """qom-get of every property of the first vCPU on an old machine type."""
    if not runnable(version):
        pytest.skip(f"QEMU {version} not runnable here")
    if machine not in _machine_types(version):
        pytest.skip(f"QEMU {version} has no {machine}")  # (11.1: none before 5.2)
    assert _vcpu_differ(version, machine, cpu) == []


@pytest.mark.slow
@pytest.mark.parametrize("version", QEMU_VERSIONS)
def test_cpu_queries_on_every_machine_type_like_qemu(version: str) -> None:
    """query-cpu-definitions (alias-of only after 4.0's CPU_VERSION_LEGACY,
    unavailable-features after the compat properties) and expansions of the
    models the compat properties touch, on every versioned type."""
    if not runnable(version):
        pytest.skip(f"QEMU {version} not runnable here")
    questions = [
        {"execute": "query-cpu-definitions"},
        _expansion("full", "Skylake-Server"),
        _expansion("static", "EPYC"),
        _expansion("full", "qemu64"),
        _expansion("static", "Opteron_G4", npt=True),
    ]
    differ = []
    for machine in _sample(_machine_types(version))[1::2]:
        argv = ["-S", "-nodefaults", "-display", "none", "-machine", f"{machine},accel=tcg"]
        qemu, memdevd = ask_both(version, argv, questions)
        differ += [(machine, q) for q, a, b in zip(questions, qemu, memdevd, strict=True) if a != b]
    assert differ == []


@pytest.mark.parametrize("version", QEMU_VERSIONS)
@pytest.mark.parametrize(
    ("smp", "cpu"),
    [("4", "EPYC"), ("4,dies=2", "Skylake-Client"), ("2,threads=2", "qemu64"), ("4", "max")],
)
def test_vcpu_with_smp_like_qemu(version: str, smp: str, cpu: str) -> None:
    """More than one thread per package (10.0: CPUID_HT and, not Intel,
    cmp-legacy in the features) and dies (leaf 0x1F for Intel)."""
    if not runnable(version):
        pytest.skip(f"QEMU {version} not runnable here")
    assert _vcpu_differ(version, "q35", cpu, ["-smp", smp]) == []


def _vcpu_differ(
    version: str, machine: str, cpu: str, extra: list[str] | None = None
) -> list[dict[str, object]]:
    """The qom-get questions whose answers differ between QEMU and memdevd."""
    argv = ["-S", "-nodefaults", "-display", "none", "-machine", f"{machine},accel=tcg"]
    argv += ["-cpu", cpu, *(extra or [])]
    listing = [{"execute": "qom-list", "arguments": {"path": VCPU}}]
    with tempfile.TemporaryDirectory(prefix="memdevd-vcpu-") as tmp:
        qemu_cmd = qemu_command(version, [*argv, "-qmp", f"unix:{tmp}/l,server=on,wait=off"])
        names = [p["name"] for p in json.loads(ask(qemu_cmd, f"{tmp}/l", listing)[0])["return"]]
        questions: list[dict[str, object]] = [
            {"execute": "qom-get", "arguments": {"path": VCPU, "property": n}} for n in names
        ]
        questions.append(listing[0])
    qemu, memdevd = ask_both(version, argv, questions)
    return [q for q, a, b in zip(questions, qemu, memdevd, strict=True) if a != b]


def _dimm_questions() -> list[dict[str, object]]:
    def backend(name: str, size: int) -> dict[str, object]:
        args = {"qom-type": "memory-backend-ram", "id": name, "size": size}
        return {"execute": "object-add", "arguments": args}

    def dimm(name: str, memdev: str) -> dict[str, object]:
        args = {"driver": "pc-dimm", "id": name, "memdev": memdev}
        return {"execute": "device_add", "arguments": args}

    return [
        backend("m0", 1 << 30),
        dimm("d0", "m0"),
        backend("m1", 130 << 20),  # (not a multiple of 1 GiB: alignment shows)
        dimm("d1", "m1"),
        {"execute": "query-memory-devices"},
        {"execute": "qom-get", "arguments": {"path": "/machine/peripheral/d1", "property": "addr"}},
        {
            "execute": "qom-get",
            "arguments": {"path": "/machine", "property": "device-memory-region-size"},
        },
        {"execute": "query-memory-size-summary"},
    ]


@pytest.mark.slow
@pytest.mark.parametrize("version", QEMU_VERSIONS)
@pytest.mark.parametrize("memory", ["1G,slots=3,maxmem=4G", "5G,slots=3,maxmem=12G"])
def test_dimm_address_on_every_machine_type_like_qemu(version: str, memory: str) -> None:
    """Every versioned type: the address hot-plugged pc-dimms get (aligned
    DIMMs from 2.2, the reserved-memory end up to 2.4, RAM above 4 GiB) and
    ``device-memory-region-size`` (or the release's error for it), as QEMU;
    types too old for slots/maxmem fail on both."""
    if not runnable(version):
        pytest.skip(f"QEMU {version} not runnable here")
    questions = _dimm_questions()
    differ = []
    for machine in _sample(_machine_types(version))[::2]:
        argv = ["-S", "-nodefaults", "-display", "none", "-machine", f"{machine},accel=tcg"]
        argv += ["-m", memory]
        answers = ask_both(version, argv, questions, _ask_or_exit)
        if answers[0] != answers[1]:
            differ.append((machine, answers))
    assert differ == []


def _ask_or_exit(cmd: list[str], sock: str, questions: list[dict[str, object]]) -> list[str]:
    return ask_or_exit(cmd, sock, questions, _normalise, TIMEOUT)
