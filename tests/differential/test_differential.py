"""Differential random test, the bounded CI run: memdevd against real QEMU.

For each QEMU version installed (7.2, 10.0), :data:`SEEDS_PER_VERSION`
generated scenarios (diffgen.generate: random machine configuration, about
15 QMP steps on memory backends and DIMMs) are run against real QEMU and
``memdevd -memdevd version=V`` side by side, a few at a time, and every
response must be equal (query-memdev and qom-list as multisets).

The seeds are fixed, so CI is reproducible: :data:`FIXED_SEEDS` plus a few
derived from a counter (sha256 of "memdevd-differential:BASE:i", BASE "ci"),
never from the date or the clock.  Setting ``MEMDEVD_DIFF_SEED`` changes
BASE, and so the derived seeds, to explore further.  A difference is saved
under pytest's tmp_path (the path is in the failure message); replay it with
``memdevd compare PATH`` or ``python tools/differential.py --version V --only SEED``.

Known, reported memdevd bugs (diffgen.KNOWN_DIVERGENCES) are generated like
everything else, so this test fails while they exist;
``MEMDEVD_DIFF_AVOID=TAG,TAG`` (or ``all``) leaves their inputs out, to see
whether anything else differs.  Minimal cases of them: tests/differential/known/.

The same runs for qemu-system-aarch64's ``virt`` (diffgen.generate with
``target="aarch64"``: machine versions and properties, CPU models, firmware,
root ports with virtio-mem-pci/virtio-pmem-pci, DIMMs, NUMA) against its 7.2,
10.0 and 11.1, with fewer seeds (:data:`AARCH64_SEEDS`): a few seconds per
release.

The long run is ``python tools/differential.py`` (``--target aarch64`` for virt).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import diffgen

FIXED_SEEDS: tuple[int, ...] = tuple(range(1, 17))
DERIVED_SEEDS = 4
SEEDS_PER_VERSION = len(FIXED_SEEDS) + DERIVED_SEEDS
STEPS = 15
#: aarch64 (virt): fewer, shorter scenarios, to stay within CI's time.
AARCH64_FIXED_SEEDS: tuple[int, ...] = tuple(range(1, 7))
AARCH64_DERIVED_SEEDS = 2
AARCH64_STEPS = 12
JOBS = int(os.environ.get("MEMDEVD_LIVE_JOBS", "4"))


# Known classes memdevd answers differently on purpose (docs/divergences.md):
# QEMU's crash after qom-set /machine nvdimm=true + cont and its abort on RAM
# sizes just below 2^64 are not reproduced, type properties that were not
# recorded are not invented, start-up warnings QEMU prints before a later
# start-up error are not printed, and the board's devices in
# /machine/unattached are not modelled.
DOCUMENTED = frozenset(
    {"nvdimm-set-crash", "ram-gap-abort", "introspection-gaps", "startup-warnings", "qom-tree"}
)


def ci_avoid() -> frozenset[str]:
    tags = {t.strip() for t in os.environ.get("MEMDEVD_DIFF_AVOID", "").split(",") if t.strip()}
    tags |= DOCUMENTED
    if "all" in tags:
        return frozenset(diffgen.KNOWN_DIVERGENCES)
    unknown = tags - set(diffgen.KNOWN_DIVERGENCES)
    if unknown:
        raise pytest.UsageError(f"MEMDEVD_DIFF_AVOID: unknown tag(s) {', '.join(sorted(unknown))}")
    return frozenset(tags)


def ci_seeds(target: str = "x86_64") -> list[int]:
    base = os.environ.get("MEMDEVD_DIFF_SEED", "ci")
    if target == "aarch64":
        fixed, derived = AARCH64_FIXED_SEEDS, AARCH64_DERIVED_SEEDS
    else:
        fixed, derived = FIXED_SEEDS, DERIVED_SEEDS
    return [*fixed, *(diffgen.derived_seed(base, i) for i in range(derived))]


def test_generator_is_deterministic() -> None:
    """Quick (no QEMU): same seed, same scenario; every scenario is valid."""
    for seed in (*FIXED_SEEDS, 2**32 - 1):
        for version in (None, *diffgen.VERSIONS):
            first = diffgen.generate(seed, version=version)
            assert first == diffgen.generate(seed, version=version)
            assert first["steps"][0]["send"] == {"execute": "qmp_capabilities"}
            assert len(first["steps"]) == diffgen.DEFAULT_STEPS + 1
            diffgen.to_scenario(first)  # a valid scenario
    # sha256-based, so the same on every machine and Python (not hash()).
    assert diffgen.derived_seed("ci", 0) == 3730164956
    all_known = frozenset(diffgen.KNOWN_DIVERGENCES)
    for seed in FIXED_SEEDS:
        diffgen.generate(seed, version="7.2", avoid=all_known)
    with pytest.raises(ValueError):
        diffgen.generate(1, avoid=frozenset({"no-such-tag"}))
    assert len(set(ci_seeds())) == SEEDS_PER_VERSION
    # aarch64: virt scenarios, marked with their target, for every release.
    for seed in (*AARCH64_FIXED_SEEDS, 2**32 - 1):
        for version in diffgen.versions_of("aarch64"):
            first = diffgen.generate(seed, version=version, target="aarch64")
            assert first == diffgen.generate(seed, version=version, target="aarch64")
            assert first["target"] == "aarch64"
            assert first["argv"][:2] == ["-machine", first["argv"][1]]
            assert first["argv"][1].startswith("virt")
            assert diffgen.to_scenario(first).target == "aarch64"
    kinds = {
        step["send"]["arguments"].get("driver")
        for seed in range(40)
        for step in diffgen.generate(seed, version="10.0", target="aarch64")["steps"]
        if step["send"]["execute"] == "device_add"
    }
    assert {"virtio-mem-pci", "virtio-pmem-pci", "pc-dimm"} <= kinds
    with pytest.raises(ValueError):
        diffgen.generate(1, target="s390x")


@pytest.mark.live_qemu
@pytest.mark.slow
@pytest.mark.parametrize("version", diffgen.VERSIONS)
def test_memdevd_matches_qemu_on_random_scenarios(version: str, tmp_path: Path) -> None:
    if not diffgen.qemu_available(version):
        pytest.skip(f"QEMU {version} not found at {diffgen.qemu_path(version)}")
    summary = diffgen.run_seeds_sync(
        ci_seeds(), version, tmp_path, steps=STEPS, jobs=JOBS, avoid=ci_avoid()
    )
    assert summary.scenarios == SEEDS_PER_VERSION
    if summary.failures:
        details = "\n\n".join(f"seed {o.seed}: {o.path}\n{o.difference}" for o in summary.failures)
        pytest.fail(f"{summary.text()}\n\n{details}", pytrace=False)


@pytest.mark.live_qemu
@pytest.mark.slow
@pytest.mark.parametrize("version", diffgen.versions_of("aarch64"))
def test_memdevd_matches_qemu_aarch64_on_random_scenarios(version: str, tmp_path: Path) -> None:
    if not diffgen.qemu_available(version, "aarch64"):
        pytest.skip(f"QEMU {version} not found at {diffgen.qemu_path(version, 'aarch64')}")
    seeds = ci_seeds("aarch64")
    summary = diffgen.run_seeds_sync(
        seeds,
        version,
        tmp_path,
        steps=AARCH64_STEPS,
        jobs=JOBS,
        avoid=ci_avoid(),
        target="aarch64",
    )
    assert summary.scenarios == len(seeds)
    if summary.failures:
        details = "\n\n".join(f"seed {o.seed}: {o.path}\n{o.difference}" for o in summary.failures)
        pytest.fail(f"{summary.text()}\n\n{details}", pytrace=False)
