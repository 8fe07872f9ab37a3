"""Snapshots of the machine core: a restored machine is the machine it was.

The property: run a prefix of operations, snapshot, run anything, restore,
then run a continuation; a twin machine that ran only the prefix and the
same continuation must answer every query and emit every event exactly as
the restored one. It fails if any object of the restored graph still points
into the state that was thrown away, or if a pending reaction (a slow
guest's eject, a virtio-mem driver step, a held event) is lost or doubled.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memdevd.app import cli
from memdevd.app.startup import build_machine
from memdevd.machine import snapshot
from memdevd.machine.clock import VirtualClock
from memdevd.machine.errors import CoreError
from memdevd.machine.guest import GuestConfig
from memdevd.machine.machine import Machine
from memdevd.releases.table import get_release

GiB = 1 << 30
MiB = 1 << 20
ARGV = [
    "-machine",
    "q35",
    "-m",
    "1G,slots=3,maxmem=16G",
    "-S",
    "-object",
    "memory-backend-ram,id=vm,size=2G",
    "-device",
    "pcie-root-port,id=rp0,chassis=1",
    "-device",
    "virtio-mem-pci,id=vmem0,memdev=vm,bus=rp0",
]


class Harness:
    def __init__(self, guest: str) -> None:
        parsed = cli.parse(["-memdevd", f"guest={guest}", *ARGV], "qemu-system-x86_64")
        self.clock = VirtualClock()
        self.machine, _ = build_machine(
            parsed.request, get_release("10.0"), parsed.settings, clock=self.clock
        )
        self.events: list[tuple[str, Any]] = []
        self.machine.set_event_sink(lambda name, data, _ts: self.events.append((name, data)))

    def run(self, op: tuple[Any, ...]) -> Any:
        m: Machine = self.machine
        kind, n = op[0], op[1]
        try:
            if kind == "backend":
                m.object_add("memory-backend-ram", f"m{n}", {"size": (n % 3 + 1) * 512 * MiB})
            elif kind == "dimm":
                m.device_add(
                    {"driver": "pc-dimm", "id": f"d{n}", "memdev": f"m{n}"}, from_json=True
                )
            elif kind == "del":
                m.device_del(f"d{n}")
            elif kind == "object-del":
                m.object_del(f"m{n}")
            elif kind == "resize":
                m.qom_set("/machine/peripheral/vmem0", "requested-size", n * 256 * MiB)
            elif kind == "cont":
                m.cont()
            elif kind == "stop":
                m.stop()
            elif kind == "advance":
                self.clock.advance(n * 100_000_000)
            elif kind == "guest":
                mode = ("cooperative", "refuse", "slow:0.5", "polls:2", "none")[n % 5]
                m.guest.set_config(m.guest.config.with_behaviour(GuestConfig.parse(mode)))
            elif kind == "poll":
                m.guest.poll()
        except CoreError as exc:
            return ("error", exc.desc)
        return None

    def observe(self) -> Any:
        m = self.machine
        return (
            m.memory.device_list(),
            m.memdev_list(),
            m.memory_size_summary(),
            m.runstate,
            m.qom_list("/objects"),
            m.qom_list("/machine/peripheral"),
            m.qom_get("/machine/peripheral/vmem0", "size"),
        )


ops = st.tuples(
    st.sampled_from(
        [
            "backend",
            "dimm",
            "del",
            "object-del",
            "resize",
            "cont",
            "stop",
            "advance",
            "guest",
            "poll",
        ]
    ),
    st.integers(0, 4),
)


guests = st.sampled_from(["cooperative", "slow:0.3", "refuse", "polls:1", "none"])


def run_alike(a: Harness, b: Harness, ops: list[tuple[Any, ...]], observe: bool = True) -> None:
    """Run ``ops`` on both harnesses: same answers, and same state if ``observe``."""
    for op in ops:
        assert a.run(op) == b.run(op)
        if observe:
            assert a.observe() == b.observe()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    guest=guests,
    prefix=st.lists(ops, max_size=10),
    detour=st.lists(ops, max_size=8),
    continuation=st.lists(ops, max_size=10),
)
def test_restored_machine_behaves_as_if_nothing_happened(
    guest: str,
    prefix: list[tuple[Any, ...]],
    detour: list[tuple[Any, ...]],
    continuation: list[tuple[Any, ...]],
) -> None:
    restored, twin = Harness(guest), Harness(guest)
    run_alike(restored, twin, prefix, observe=False)
    snap = snapshot.take(restored.machine)
    for op in detour:
        restored.run(op)
    snapshot.restore(restored.machine, snap)
    assert restored.observe() == twin.observe()
    restored.events.clear()
    twin.events.clear()
    run_alike(restored, twin, continuation)
    assert restored.events == twin.events


def test_snapshot_is_independent_of_later_changes() -> None:
    h = Harness("none")
    h.run(("backend", 1))
    snap = snapshot.take(h.machine)
    before = h.observe()
    h.run(("dimm", 1))
    h.run(("backend", 2))
    # Changing the live machine changed nothing in the snapshot.
    assert [d["data"]["id"] for d in snap.machine.memory.device_list()] == ["vmem0"]
    snapshot.restore(h.machine, snap)
    assert h.observe() == before
    # Restoring twice from the same snapshot gives the same machine.
    h.run(("dimm", 1))
    snapshot.restore(h.machine, snap)
    assert h.observe() == before


def test_hooks_survive_a_restore() -> None:
    h = Harness("cooperative")
    shutdowns: list[str] = []
    h.machine.shutdown_hook = shutdowns.append
    snap = snapshot.take(h.machine)
    snapshot.restore(h.machine, snap)
    h.run(("cont", 0))
    h.machine.system_powerdown()
    h.clock.advance(0)
    assert ("RESUME", None) in h.events and ("POWERDOWN", None) in h.events
    assert shutdowns == ["guest-shutdown"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    guest=guests,
    prefix=st.lists(ops, max_size=8),
    on_scratch=st.lists(ops, max_size=8),
    continuation=st.lists(ops, max_size=8),
)
def test_a_scratch_copy_never_touches_the_live_machine(
    guest: str,
    prefix: list[tuple[Any, ...]],
    on_scratch: list[tuple[Any, ...]],
    continuation: list[tuple[Any, ...]],
) -> None:
    """What the daemon's idle-time hot-plug rehearsal relies on: anything
    done to a scratch copy, its events and its guest's timers included,
    leaves the live machine as a twin that never had a copy."""
    live, twin = Harness(guest), Harness(guest)
    run_alike(live, twin, prefix, observe=False)
    live.events.clear()
    twin.events.clear()
    copy_harness = Harness("none")
    copy_harness.machine = snapshot.scratch(live.machine)
    copy_harness.clock = copy_harness.machine.clock  # type: ignore[assignment]
    assert copy_harness.machine.clock is not live.machine.clock
    for op in on_scratch:
        copy_harness.run(op)
    assert live.events == []
    assert live.observe() == twin.observe()
    run_alike(live, twin, continuation)
    assert live.events == twin.events


def test_copies_share_the_constants() -> None:
    """The release, the board and the recorded data are read-only and
    megabytes once loaded: snapshots, restores and scratch copies share
    them instead of copying them (a copy costs the machine's own state)."""
    h = Harness("none")
    h.run(("backend", 1))
    h.machine.recording.load("types")  # loaded data a copy must not duplicate
    snap = snapshot.take(h.machine)
    copy = snapshot.scratch(h.machine)
    for other in (snap.machine, copy):
        assert other.recording is h.machine.recording
        assert other.release is h.machine.release
        assert other.config.board is h.machine.config.board
    recording = h.machine.recording
    snapshot.restore(h.machine, snap)
    assert h.machine.recording is recording
