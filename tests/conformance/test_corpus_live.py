"""Live: the real-world command-line corpus on real QEMU 7.2/10.0 and on memdevd.

Every entry of ``tests/corpus/`` (libvirt 9.0's command lines for whole VMs,
and hand-written ones in the style of Proxmox, virt-install and Kata) is
run on the real QEMU of each release and on ``python -m memdevd -memdevd
version=R`` with the same argv (``tests/corpus_runner.py``: placeholders,
``-S``, a QMP socket of the harness's own, the questions asked, the
normalisation).  The outcomes must be equal: both refuse to start with the
same exit status and stderr, or both start, print the same and answer the
same.

memdevd does not emulate most of a VM yet: entries it cannot run are in
:data:`PENDING` with the reason, and their test asserts that memdevd
*still differs* from QEMU, so whoever makes one pass must move it out.
Queries memdevd does not have at all are in :data:`MEMDEVD_LACKS`: they are
asked of both but not compared while memdevd answers ``CommandNotFound``
(a test checks that it still does).

All runs happen once, in parallel (``MEMDEVD_CORPUS_JOBS``, default 4), in a
module fixture; QEMU 10.0 and the entries with taps need root (private
mount and network namespaces).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from corpus_runner import (
    QUERIES,
    Entry,
    Outcome,
    compared_commands,
    load_entries,
    run_all,
)
from live_qemu import QEMU_VERSIONS

ENTRIES = load_entries()
JOBS = int(os.environ.get("MEMDEVD_CORPUS_JOBS", "4"))

#: Entries (``NAME`` for every release, ``NAME@RELEASE`` for one) memdevd
#: cannot run like QEMU yet, with what it lacks first.  A pending entry's
#: test fails once memdevd matches QEMU on it: then remove it from here.
PENDING: dict[str, str] = {}

#: Queries memdevd does not have: asked, not compared (see the module docstring).
MEMDEVD_LACKS: dict[str, str] = {}


def pending_reason(entry: str, release: str) -> str | None:
    return PENDING.get(f"{entry}@{release}") or PENDING.get(entry)


@pytest.fixture(scope="module")
def outcomes() -> dict[tuple[str, str, str], Outcome]:
    return run_all(ENTRIES, QEMU_VERSIONS, JOBS)


def comparable(real: Outcome, ours: Outcome) -> tuple[dict[str, Any], dict[str, Any]]:
    commands = compared_commands(real) - MEMDEVD_LACKS.keys()
    return real.comparable(commands), ours.comparable(commands)


def first_difference(want: dict[str, Any], have: dict[str, Any]) -> str:
    for key in want:
        if key == "answers":
            for label in want["answers"]:
                if want["answers"][label] != have["answers"].get(label):
                    return (
                        f"{label}:\n  QEMU:    {want['answers'][label]}\n"
                        f"  memdevd: {have['answers'].get(label)}"
                    )
        elif want[key] != have[key]:
            return f"{key}:\n  QEMU:    {want[key]!r}\n  memdevd: {have[key]!r}"
    return "no difference"


@pytest.mark.live_qemu
@pytest.mark.slow
@pytest.mark.parametrize("release", QEMU_VERSIONS)
@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_corpus_entry(
    outcomes: dict[tuple[str, str, str], Outcome], entry: Entry, release: str
) -> None:
    real = outcomes[(entry.name, release, "qemu")]
    ours = outcomes[(entry.name, release, "memdevd")]
    if real.skipped:
        pytest.skip(real.skipped)
    want, have = comparable(real, ours)
    reason = pending_reason(entry.name, release)
    if reason is not None:
        assert have != want, (
            f"{entry.name} on {release} now runs as on QEMU: remove it from PENDING ({reason})"
        )
        return
    assert have == want, (
        f"{entry.name} on QEMU {release}: QEMU {real.summary()}, memdevd {ours.summary()}; "
        f"first difference: {first_difference(want, have)}"
    )


@pytest.mark.live_qemu
@pytest.mark.slow
def test_two_runs_of_qemu_compare_equal(outcomes: dict[tuple[str, str, str], Outcome]) -> None:
    """The harness adds no noise: what differs between two runs of the same
    QEMU (ptys, thread ids, temporary paths...) is normalised."""
    noisy = []
    for entry in ENTRIES:
        for release in QEMU_VERSIONS:
            first = outcomes[(entry.name, release, "qemu")]
            again = outcomes[(entry.name, release, "qemu-again")]
            if first.skipped:
                continue
            want, have = comparable(first, again)
            if have != want:
                noisy.append(f"{entry.name} on {release}: {first_difference(want, have)}")
    assert not noisy, "\n".join(noisy)


@pytest.mark.live_qemu
@pytest.mark.slow
def test_memdevd_still_lacks_the_uncompared_queries(
    outcomes: dict[tuple[str, str, str], Outcome],
) -> None:
    started = [o for (_, _, impl), o in outcomes.items() if impl == "memdevd" and o.started]
    if not started:
        pytest.skip("no corpus entry started on memdevd")
    for label in MEMDEVD_LACKS:
        classes = {o.answers[label].get("error", {}).get("class") for o in started}
        assert classes == {"CommandNotFound"}, (
            f"memdevd now answers {label}: remove it from MEMDEVD_LACKS so that it is compared"
        )


def test_pending_and_lacking_names_exist() -> None:
    names = {e.name for e in ENTRIES}
    for key in PENDING:
        name, _, release = key.partition("@")
        assert name in names, f"PENDING names {name}, which is not in tests/corpus"
        assert release in ("", *QEMU_VERSIONS), key
        if release:
            assert name not in PENDING, f"{key} and {name} both in PENDING"
    labels = {label for label, _, _ in QUERIES}
    assert MEMDEVD_LACKS.keys() <= labels
