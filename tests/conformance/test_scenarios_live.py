"""Conformance: every scenario gives the same transcript from memdevd as from real QEMU.

For each scenario in ``scenarios/`` and each QEMU version (7.2, 10.0, 11.1) the
scenario is replayed against that QEMU and against
``python -m memdevd -memdevd version=V ARGV`` at the same time, and the two
live transcripts must be equal; the failure message is the runner's first
difference.  No expected transcripts are stored: QEMU is the oracle, run live.

All selected comparisons run up front in one session fixture, a few at a
time (``MEMDEVD_LIVE_JOBS``, default 4), because each one mostly waits on
settle timers; the individual tests then just report their own result.

Binaries: ``$MEMDEVD_QEMU_7_2`` or /usr/bin/qemu-system-x86_64 and
``$MEMDEVD_QEMU_10_0`` or /opt/qemu-10.0/bin/qemu-system-x86_64,
``$MEMDEVD_QEMU_11_1`` or /opt/qemu-11.1/bin/qemu-system-x86_64; a version
whose binary is missing is skipped.  A scenario with ``"target": "aarch64"``
(named ``virt_*``) runs qemu-system-aarch64 beside them (tests/live_qemu.py)
and is skipped until memdevd has the aarch64 recording of the release.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from live_qemu import (
    SCENARIO_VERSIONS,
    TARGETS,
    mask_problem,
    module_masks,
    qemu_binary_candidate,
    qemu_command,
)

from memdevd.devtools.scenario import (
    CommandTarget,
    Comparison,
    Scenario,
    compare_live,
    load_scenario,
    memdevd_target,
    qemu_target,
    run_many,
)

pytestmark = pytest.mark.live_qemu

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"
SCENARIOS = sorted(p.stem for p in SCENARIO_DIR.glob("*.json"))
QEMU_DEFAULTS = {
    "7.2": ("MEMDEVD_QEMU_7_2", "/usr/bin/qemu-system-x86_64"),
    "10.0": ("MEMDEVD_QEMU_10_0", "/opt/qemu-10.0/bin/qemu-system-x86_64"),
    "11.1": ("MEMDEVD_QEMU_11_1", "/opt/qemu-11.1/bin/qemu-system-x86_64"),
}
VERSIONS = [v for v in QEMU_DEFAULTS if v in SCENARIO_VERSIONS]
JOBS = int(os.environ.get("MEMDEVD_LIVE_JOBS", "4"))

# A few scenarios covering events, settle, start-up failure, unordered lists
# and connection close, replayed QEMU against the same QEMU: shows the runner
# itself adds no noise.
DETERMINISM_SCENARIOS = [
    "proto_stop_cont_no_event",
    "proto_quit",
    "proto_id_echo_types",
    "cli_slots_without_maxmem",
    "backend_ram_add_del",
    "vmem_defaults",
]


def qemu_path(version: str, target: str = "x86_64") -> str:
    if target != "x86_64":
        return qemu_binary_candidate(version, target)
    env, default = QEMU_DEFAULTS[version]
    return os.environ.get(env) or default


def qemu_available(version: str, target: str = "x86_64") -> bool:
    path = qemu_path(version, target)
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _recorded(version: str, target: str) -> bool:
    """Whether memdevd has the target's recording of the release (8.2's is 10.0's)."""
    from memdevd.releases.table import get_release

    recorded_as = get_release(version).recorded_as
    return (TARGETS / target / "data" / f"qemu-{recorded_as}").is_dir()


def _scenario(name: str) -> Scenario:
    return load_scenario(SCENARIO_DIR / f"{name}.json")


def _selected(session: pytest.Session, test_name: str) -> list[tuple[str, str]]:
    """(scenario, version) pairs of the collected items of ``test_name`` in this module.

    Only what will actually run is started, so ``-k dimm_qom`` stays fast.
    """
    pairs = []
    for item in session.items:
        callspec = getattr(item, "callspec", None)
        if (
            callspec is None
            or getattr(item, "originalname", None) != test_name
            or Path(str(item.fspath)).resolve() != Path(__file__).resolve()
        ):
            continue
        pairs.append((str(callspec.params["scenario"]), str(callspec.params["version"])))
    return pairs


def _reference(version: str, target: str = "x86_64") -> CommandTarget:
    """Real QEMU as its recording ran it: with the module directories the
    recording masked hidden (11.1 would load Debian 7.2's modules there and
    abort), where this machine can hide them."""
    # (what QEMU prints starts with its program name, whatever runs it)
    prog = (f"qemu-system-{target}",)
    if mask_problem(version, target) is not None or not module_masks(version, target):
        return qemu_target(qemu_path(version, target), prog_names=prog)
    return CommandTarget(tuple(qemu_command(version, ["{argv}"], target)), prog_names=prog)


async def _safe(scenario: Scenario, version: str, candidate_is_qemu: bool) -> Comparison:
    reference = _reference(version, scenario.target)
    candidate = reference if candidate_is_qemu else memdevd_target(version, target=scenario.target)
    try:
        return await compare_live(scenario, reference, candidate)
    except Exception as exc:  # one broken run must not hide the others' results
        return Comparison(scenario.label, error=f"{type(exc).__name__}: {exc}")


def _run_all(
    pairs: list[tuple[str, str]], candidate_is_qemu: bool
) -> dict[tuple[str, str], Comparison]:
    runnable = [(s, v) for s, v in pairs if _runnable(s, v)]
    thunks = [lambda s=s, v=v: _safe(_scenario(s), v, candidate_is_qemu) for s, v in runnable]
    results = asyncio.run(run_many(thunks, limit=JOBS))
    return dict(zip(runnable, results, strict=True))


@pytest.fixture(scope="session")
def memdevd_results(request: pytest.FixtureRequest) -> dict[tuple[str, str], Comparison]:
    return _run_all(_selected(request.session, "test_scenario_matches_qemu"), False)


@pytest.fixture(scope="session")
def determinism_results(request: pytest.FixtureRequest) -> dict[tuple[str, str], Comparison]:
    return _run_all(_selected(request.session, "test_runner_is_deterministic"), True)


def _runnable(scenario: str, version: str) -> bool:
    target = _scenario(scenario).target
    return qemu_available(version, target) and _recorded(version, target)


def _skip_if_missing(version: str, scenario: str | None = None) -> None:
    target = _scenario(scenario).target if scenario is not None else "x86_64"
    if not qemu_available(version, target):
        pytest.skip(f"QEMU {version} not found at {qemu_path(version, target)}")
    if not _recorded(version, target):
        pytest.skip(f"no {target} recording of QEMU {version}")


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario_matches_qemu(
    scenario: str, version: str, memdevd_results: dict[tuple[str, str], Comparison]
) -> None:
    _skip_if_missing(version, scenario)
    result = memdevd_results[(scenario, version)]
    if not result.ok:
        # The runner's first-difference text is the whole story; pytest's
        # introspection of the Comparison would only bury it.
        pytest.fail(result.message, pytrace=False)


@pytest.mark.parametrize("version", ["7.2"])
@pytest.mark.parametrize("scenario", DETERMINISM_SCENARIOS)
def test_runner_is_deterministic(
    scenario: str, version: str, determinism_results: dict[tuple[str, str], Comparison]
) -> None:
    _skip_if_missing(version)
    result = determinism_results[(scenario, version)]
    if not result.ok:
        pytest.fail(result.message, pytrace=False)


def test_scenarios_are_well_formed() -> None:
    """Every scenario loads, is named after its file, has notes and an area prefix."""
    prefixes = (
        "proto_",
        "cli_",
        "backend_",
        "dimm_",
        "nvdimm_",
        "vmem_",
        "vpmem_",
        "q35_",
        "pc_",
        "qom_",
        "mixed_",
        # What management tools ask besides memory (balloon, secret, libvirt's queries).
        "mgmt_",
        # Objects of the types memdevd keeps without a model (rng, iothread, ...).
        "objects_",
        # The rest of a command line: -global, -boot, -action/set-action, -rtc, ...
        "misc_",
        # Networking: netdevs, -nic/-net, NICs and their backends.
        "net_",
        # query-pci and the PCI bridges.
        "pci_",
        # Character devices: chardev-add/remove/change, ringbuf, -chardev/-serial.
        "chardev_",
        # CXL: -machine cxl/cxl-fmw, pxb-cxl, cxl-rp, cxl-type3 and the windows' placement.
        "cxl_",
        # Guest NUMA: -numa node/dist/cpu/hmat-lb/hmat-cache, -machine hmat.
        "numa_",
        # qemu-system-aarch64's virt machine ("target": "aarch64").
        "virt_",
    )
    assert SCENARIOS, f"no scenarios in {SCENARIO_DIR}"
    for name in SCENARIOS:
        sc = _scenario(name)
        assert sc.name == name
        assert sc.notes.strip(), f"{name}: notes missing"
        assert name.startswith(prefixes), f"{name}: no area prefix"
        # (a scenario for another target says so, and only those are virt_)
        assert (sc.target == "aarch64") == name.startswith("virt_"), f"{name}: target"
