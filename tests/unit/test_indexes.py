"""The lookup structures that keep a plug's cost flat agree with a full walk.

A plug used to walk the whole QOM tree (resolving the ``memdev`` partial
path, which must detect ambiguity) and every realized memory device (the
allocator, 7.2's space and memslot checks, the free DIMM slot).  Three
structures now answer those questions, kept current as the machine
changes: the QOM :class:`~memdevd.machine.qom.NameIndex` of the tree's
root, the core's :class:`~memdevd.machine.memory_device.PlacedRanges` and
the machine's taken DIMM slots.  Every test here compares them with the
straightforward computation they replace:

* random QOM trees and operations: index-based resolution equals the walk,
  and the maintained index equals one built from scratch;
* random command sequences (backends, DIMMs with and without address and
  slot hints, nvdimms, virtio-mem, unplugs, object-del, snapshot and
  restore) on two machines, one with the structures and one made to walk:
  every answer and error is the same, and after every step each structure
  equals its recomputation from the live machine;
* resolution after a restore finds the restored objects, not the ones a
  snapshot copied or the ones thrown away.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections import Counter
from typing import Any, ClassVar

import pytest
from conftest import CORE_SETTINGS
from hypothesis import given
from hypothesis import strategies as st

import memdevd.machine
from memdevd import messages as M
from memdevd.app import cli
from memdevd.app.startup import build_machine
from memdevd.machine import snapshot
from memdevd.machine.clock import VirtualClock
from memdevd.machine.errors import CoreError
from memdevd.machine.machine import Machine
from memdevd.machine.memory_device import (
    MemoryDeviceCore,
    MemoryDeviceMixin,
    MemoryRegion,
    PlacedRanges,
    is_empty,
    region_size,
)
from memdevd.machine.memslots import MemslotLimits
from memdevd.machine.qom import (
    Container,
    NameIndex,
    QOMObject,
    _resolve_indexed,
    _resolve_walk,
    resolve_path,
)
from memdevd.releases.table import get_release

MiB = 1 << 20
GiB = 1 << 30


# --- checks shared by the tests -------------------------------------------------------


def check_name_index(root: QOMObject) -> None:
    """The root's index is exact and equals one built from the live tree."""
    index = root._name_index
    assert index is not None and index.exact
    assert index.as_ids() == NameIndex.build(root).as_ids()


def check_placed(m: Machine) -> None:
    """The placed ranges, sums and slots equal a walk over the realized devices."""
    core = m.memory
    placed = core.placed
    # Nothing these tests do is irregular: the fast path must be the one tested.
    assert placed.exact
    devs = core.realized_devices()
    assert list(placed.tracked) == devs
    assert placed.region_total == sum(region_size(md) for md in devs)
    assert placed.nonempty == sum(1 for md in devs if not is_empty(md))
    skip_empty = m.release.memslot_accounting
    ranges = sorted(
        (md.get_addr(), md.get_addr() + region_size(md), id(md))
        for md in devs
        if not (skip_empty and is_empty(md))
    )
    placed_ranges = zip(placed.starts, placed.ends, placed.owners, strict=True)
    assert [(s, e, id(o)) for s, e, o in placed_ranges] == ranges
    runs: list[list[int]] = []
    for start, end, _ in ranges:
        if runs and runs[-1][1] == start:
            runs[-1][1] = end
        else:
            runs.append([start, end])
    assert [list(r) for r in zip(placed.run_starts, placed.run_ends, strict=True)] == runs
    slots = Counter(d.slot for d in m.devices() if d.is_a("pc-dimm"))  # type: ignore[attr-defined]
    assert m.dimm_slots_used == dict(slots)
    floor = 0
    while floor in slots:
        floor += 1
    assert m.dimm_slot_floor == floor


def check_resolution(root: QOMObject, paths: list[str]) -> None:
    """Index-based partial path resolution equals the walk, for every type filter."""
    index = root._name_index
    assert index is not None
    for path in paths:
        parts = path.split("/")
        if not parts[0]:
            continue
        for typename in TYPENAMES:
            assert _resolve_indexed(index, parts, typename) == _resolve_walk(
                root, parts, typename
            ), (path, typename)


TYPENAMES = [None, "memory-backend", "pc-dimm", "memory-region", "device", "container"]


def test_no_class_overrides_link_target() -> None:
    """The index lists link names from ``link_attrs``: a coded link would escape it."""
    for info in pkgutil.walk_packages(memdevd.machine.__path__, "memdevd.machine."):
        importlib.import_module(info.name)
    pending: list[type[QOMObject]] = [QOMObject]
    seen = []
    while pending:
        cls = pending.pop()
        seen.append(cls)
        assert cls.link_target is QOMObject.link_target, cls
        pending.extend(cls.__subclasses__())
    assert any(cls.link_attrs for cls in seen)


# --- random QOM trees -----------------------------------------------------------------


class Linker(QOMObject):
    """A test object with two links, one named like a child elsewhere."""

    type_chain: ClassVar[tuple[str, ...]] = ("linker", "object")
    link_attrs: ClassVar[dict[str, str]] = {"peer": "peer", "b": "other"}

    def __init__(self) -> None:
        super().__init__()
        self.peer: QOMObject | None = None
        self.other: QOMObject | None = None


NAMES = ["a", "b", "c", "peer", "a[0]"]
# (op, i, j, name): add a fresh container or linker under node i; remove node i;
# point node i's link at node j; detach node i's subtree and add it back under j.
tree_ops = st.tuples(
    st.sampled_from(["add", "add", "add-linker", "remove", "link", "move"]),
    st.integers(0, 40),
    st.integers(0, 40),
    st.sampled_from(NAMES),
)


@CORE_SETTINGS
@given(st.lists(tree_ops, max_size=40))
def test_index_resolution_equals_walk_on_random_trees(
    ops: list[tuple[str, int, int, str]],
) -> None:
    root = Container()
    root.enable_name_index()
    for op, i, j, name in ops:
        nodes = list(root.walk())
        node = nodes[i % len(nodes)]
        target = nodes[j % len(nodes)]
        if op in ("add", "add-linker"):
            child = Linker() if op == "add-linker" else Container()
            if name not in node.children:
                # A subtree built while detached is indexed when it joins.
                child.add_child("a", Container())
                node.add_child(name, child)
        elif op == "remove" and node.parent is not None:
            assert node.name is not None
            node.parent.remove_child(node.name)
        elif op == "link" and isinstance(node, Linker):
            if name == "b":
                node.other = target
            else:
                node.peer = target
        elif (
            op == "move"
            and node.parent is not None
            and node.name is not None
            and not _inside(target, node)
            and name not in target.children
        ):
            # Detach a subtree and attach it elsewhere (never below itself).
            node.parent.remove_child(node.name)
            target.add_child(name, node)
        check_name_index(root)
        check_resolution(root, [*NAMES, "a/a", "peer/a", "b/a", "a/b/a", "peer/peer", "x"])


def _inside(obj: QOMObject, top: QOMObject) -> bool:
    while obj is not None:
        if obj is top:
            return True
        obj = obj.parent  # type: ignore[assignment]
    return False


def test_adding_an_attached_object_turns_the_index_off() -> None:
    # QOM never does this (QEMU asserts !child->parent); if memdevd ever
    # did, the walk answers again rather than a stale index.
    root = Container()
    root.enable_name_index()
    shared = Container()
    root.add_child("x", Container())
    root.children["x"].add_child("s", shared)
    root.add_child("y", Container())
    root.children["y"].add_child("s", shared)
    assert root._name_index is not None and not root._name_index.exact
    assert resolve_path(root, "s") == (None, True)


# --- placed ranges against the allocator's walk ------------------------------------------


class FakeDevice(MemoryDeviceMixin):
    """Just what the allocator reads of a realized memory device."""

    def __init__(self, addr: int, size: int, name: str) -> None:
        self.addr, self.size, self.name = addr, size, name

    def get_addr(self) -> int:
        return self.addr

    def get_memory_region(self) -> MemoryRegion | None:
        return MemoryRegion(self.size, 1)

    def device_id(self) -> str | None:
        return self.name

    def is_realized(self) -> bool:
        return True


def _walk_answer(core: MemoryDeviceCore, hint: int | None, new: int, size: int, align: int) -> Any:
    try:
        return core._walk_free_addr(hint, new, size, None, align)  # type: ignore[arg-type]
    except CoreError as exc:
        return exc.desc


def _fast_answer(placed: PlacedRanges, hint: int | None, new: int, size: int, align: int) -> Any:
    if hint is None:
        return placed.first_fit(new, size, align)
    other = placed.conflict(hint, size)
    if other is None:
        return hint
    return M.ADDRESS_CONFLICT.format(other.device_id())


UINT64_MAX = (1 << 64) - 1


@CORE_SETTINGS
@given(
    base=st.sampled_from([0, 1 << 32, UINT64_MAX - 4096]),
    ops=st.lists(st.tuples(st.booleans(), st.integers(0, 600), st.integers(0, 90)), max_size=40),
    queries=st.lists(
        st.tuples(
            st.booleans(),
            st.integers(0, 700),
            st.integers(1, 200),
            st.sampled_from([1, 2, 4, 8, 16, 64, 256, 1024]),
        ),
        min_size=1,
        max_size=12,
    ),
)
def test_placed_ranges_answer_as_the_walk(
    base: int,
    ops: list[tuple[bool, int, int]],
    queries: list[tuple[bool, int, int, int]],
) -> None:
    """Unaligned, touching and far ranges, near the top of the address space too."""
    devices: list[FakeDevice] = []
    core = MemoryDeviceCore(
        get_release("10.0"), 0, 0, None, MemslotLimits(None, None), lambda: devices
    )
    placed = core.placed
    for n, (add, offset, size) in enumerate(ops):
        if add:
            dev = FakeDevice(base + offset, size, f"x{n}")
            free = size > 0 and all(
                not (d.addr < dev.addr + size and dev.addr < d.addr + d.size) for d in devices
            )
            if not free:
                # Realized devices never overlap (see the test below).
                continue
            devices.append(dev)
            placed.add(dev)
        elif devices:
            dev = devices.pop(offset % len(devices))
            placed.remove(dev)
        assert placed.exact
        for use_hint, offset, size, align in queries:
            new = base + offset
            hint = new if use_hint else None
            assert _fast_answer(placed, hint, new, size, align) == _walk_answer(
                core, hint, new, size, align
            ), (hint, new, size, align)


@pytest.mark.parametrize("second", [(150, 100), (300, 0), (100, 100)])
def test_placed_ranges_leave_irregular_layouts_to_the_walk(second: tuple[int, int]) -> None:
    # An overlap, an empty range or the same device twice: never seen on a
    # real machine, and the sorted ranges could not answer as the walk does.
    devices = [FakeDevice(100, 100, "a"), FakeDevice(*second, "b")]
    placed = PlacedRanges(skip_empty=False)
    placed.add(devices[0])
    placed.add(devices[1] if second != (100, 100) else devices[0])
    assert not placed.exact and not placed.tracked and not placed.starts
    placed.remove(devices[0])
    placed.add(FakeDevice(1000, 10, "c"))
    assert not placed.exact and not placed.tracked


# --- machines: the structures against walking machines --------------------------------

ARGV = [
    "-machine",
    "q35,nvdimm=on",
    "-m",
    "1G,slots=6,maxmem=20G",
    "-S",
    "-memdevd",
    "guest=cooperative",
    "-object",
    "memory-backend-ram,id=vm,size=1G",
    "-device",
    "pcie-root-port,id=rp0,chassis=1",
    "-device",
    "pcie-root-port,id=rp1,chassis=2",
    "-device",
    "virtio-mem-pci,id=vmem0,memdev=vm,bus=rp0",
]
SIZES = [128 * MiB, 256 * MiB, GiB, 2 * MiB, 6 * MiB, 12 * 1024]
PATHS = [
    "m0",
    "m1",
    "m2",
    "d0",
    "d1",
    "m0[0]",
    "m1/m1[0]",
    "memdev",
    "memdev/m1[0]",
    "d1/memdev",
    "d0/memdev/m0[0]",
    "peripheral",
    "objects",
    "vm",
    "vm[0]",
    "virtio-backend",
    "virtio-backend/memdev",
    "vmem0",
    "vmem1",
    "device[0]",
    "nvdimm-memory[0]",
    "system[0]",
    "nope",
]


def build(version: str, fast: bool, argv: list[str] = ARGV) -> Machine:
    parsed = cli.parse(["-memdevd", f"version={version}", *argv], "qemu-system-x86_64")
    m, _ = build_machine(
        parsed.request, get_release(version), parsed.settings, clock=VirtualClock()
    )
    if not fast:
        # The reference: resolution walks the tree, the allocator every device.
        m.root._name_index = None
        m.memory.placed._give_up()
    return m


def run(m: Machine, op: tuple[Any, ...], snaps: list[snapshot.Snapshot]) -> Any:
    kind, n, code = op
    try:
        if kind == "backend":
            size = SIZES[code % len(SIZES)]
            qom_type = "memory-backend-memfd" if size % (2 * MiB) else "memory-backend-ram"
            m.object_add(qom_type, f"m{n}", {"size": size})
        elif kind in ("dimm", "nvdimm", "vmem") and f"m{n}" not in m.objects.children:
            # A plug makes its backend if missing (the "link" op tries missing ones).
            run(m, ("backend", n, code), snaps)
        if kind in ("dimm", "nvdimm"):
            opts: dict[str, Any] = {"driver": "pc-dimm" if kind == "dimm" else "nvdimm"}
            if code % 3:
                opts["id"] = f"d{n}"
            opts["memdev"] = f"m{n}"
            assert m.device_memory is not None
            if code % 4 == 1:
                # Past vmem0 (1 GiB at the base), sometimes on a DIMM.
                opts["addr"] = m.device_memory.base + GiB + (code % 9) * 128 * MiB
            if code % 5 == 2:
                opts["slot"] = code % 6
            m.device_add(opts, from_json=True)
        elif kind == "vmem":
            m.device_add(
                {"driver": "virtio-mem-pci", "id": f"vmem{n}", "memdev": f"m{n}", "bus": "rp1"},
                from_json=True,
            )
        elif kind == "del":
            # One of the devices there are (both machines have the same ones).
            names = sorted(m.peripheral.children) or ["d0"]
            m.device_del(names[(n + code) % len(names)])
            if not m.running:
                m.cont()
            assert isinstance(m.clock, VirtualClock)
            m.clock.advance(10**9)
        elif kind == "object-del":
            m.object_del(f"m{n}")
        elif kind == "qom":
            path = PATHS[(n * 7 + code) % len(PATHS)]
            obj, ambiguous = resolve_path(m.root, path, TYPENAMES[code % len(TYPENAMES)])
            return (obj.canonical_path() if obj is not None else None, ambiguous)
        elif kind == "link":
            # A link value resolved as device_add resolves memdev.
            return m.resolve_link(PATHS[code % len(PATHS)], "memory-backend", "memdev").name
        elif kind == "snap":
            snaps.append(snapshot.take(m))
        elif kind == "restore" and snaps:
            snapshot.restore(m, snaps[n % len(snaps)])
    except CoreError as exc:
        return ("error", exc.desc)
    return None


def observe(m: Machine) -> Any:
    return (
        m.memory.device_list(),
        m.memdev_list(),
        m.memory_size_summary(),
        m.qom_list("/objects"),
        m.qom_list("/machine/peripheral"),
        m.qom_list("/machine/peripheral-anon"),
    )


machine_ops = st.tuples(
    st.sampled_from(
        [
            "backend",
            "backend",
            "dimm",
            "dimm",
            "dimm",
            "nvdimm",
            "vmem",
            "del",
            "object-del",
            "qom",
            "link",
            "snap",
            "restore",
        ]
    ),
    st.integers(0, 5),
    st.integers(0, 60),
)


@CORE_SETTINGS
@given(st.sampled_from(["7.2", "10.0"]), st.lists(machine_ops, max_size=30))
def test_machine_with_structures_equals_walking_machine(
    version: str, ops: list[tuple[Any, ...]]
) -> None:
    fast, walking = build(version, True), build(version, False)
    fast_snaps: list[snapshot.Snapshot] = []
    walking_snaps: list[snapshot.Snapshot] = []
    for op in ops:
        assert run(fast, op, fast_snaps) == run(walking, op, walking_snaps), op
        assert observe(fast) == observe(walking)
        check_name_index(fast.root)
        check_placed(fast)
        check_resolution(fast.root, PATHS)


# --- snapshot and restore ---------------------------------------------------------------


@pytest.mark.parametrize("version", ["7.2", "10.0"])
def test_resolution_after_restore_finds_the_restored_objects(version: str) -> None:
    m = build(version, True)
    for n in range(3):
        m.object_add("memory-backend-ram", f"m{n}", {"size": 128 * MiB})
    m.device_add({"driver": "pc-dimm", "id": "d0", "memdev": "m0"}, from_json=True)
    snap = snapshot.take(m)
    # After the snapshot: a DIMM on m1, m2 deleted, a new backend m3.
    m.device_add({"driver": "pc-dimm", "id": "d1", "memdev": "m1"}, from_json=True)
    m.object_del("m2")
    m.object_add("memory-backend-ram", "m3", {"size": 128 * MiB})
    snapshot.restore(m, snap)

    check_name_index(m.root)
    check_placed(m)
    check_resolution(m.root, [*PATHS, "m2", "m3", "d1/memdev"])
    # The restored tree's objects, not the snapshot's copies or the dropped ones.
    for name in ("m0", "m1", "m2"):
        assert resolve_path(m.root, name) == (m.objects.children[name], False)
    assert resolve_path(m.root, "m3") == (None, False)
    assert resolve_path(m.root, "d1") == (None, False)
    assert resolve_path(m.root, "memdev") == (None, True)  # d0's and vmem0's
    d0 = m.peripheral.children["d0"]
    assert resolve_path(m.root, "d0/memdev") == (m.objects.children["m0"], False)
    assert resolve_path(m.root, "d0", "pc-dimm") == (d0, False)

    # The restored machine plugs where a machine that never took the detour does.
    twin = build(version, False)
    for n in range(3):
        twin.object_add("memory-backend-ram", f"m{n}", {"size": 128 * MiB})
    twin.device_add({"driver": "pc-dimm", "id": "d0", "memdev": "m0"}, from_json=True)
    for target in (m, twin):
        target.device_add({"driver": "pc-dimm", "id": "d2", "memdev": "m2"}, from_json=True)
        target.device_add({"driver": "pc-dimm", "id": "d1", "memdev": "m1"}, from_json=True)
    assert observe(m) == observe(twin)
    check_name_index(m.root)
    check_placed(m)
    # The snapshot itself was not touched by the restore or the plugs after it.
    assert snap.machine.root._name_index is not None
    assert snap.machine.root._name_index.as_ids() == NameIndex.build(snap.machine.root).as_ids()
    assert "d2" not in snap.machine.peripheral.children


def test_plugs_keep_indexes_exact_at_scale() -> None:
    # 250 DIMMs and unplugs from the middle: a run split and merged again.
    argv = ["-machine", "pc", "-m", "1G,slots=256,maxmem=40G", "-memdevd", "guest=cooperative"]
    m = build("7.2", True, argv)
    for n in range(250):
        m.object_add("memory-backend-ram", f"m{n}", {"size": 128 * MiB})
        m.device_add({"driver": "pc-dimm", "id": f"d{n}", "memdev": f"m{n}"}, from_json=False)
    assert len(m.memory.placed.run_starts) == 1
    for n in (10, 11, 200, 0):
        m.device_del(f"d{n}")
    assert isinstance(m.clock, VirtualClock)
    m.clock.advance(10**9)
    check_placed(m)
    assert len(m.memory.placed.run_starts) == 3
    m.object_add("memory-backend-ram", "big", {"size": 256 * MiB})
    m.device_add({"driver": "pc-dimm", "id": "big", "memdev": "big"}, from_json=False)
    # Slots 0, 10, 11, 200 were free: the lowest is taken; 256 MiB fits only in
    # the gap of d10 and d11.
    assert m.peripheral.children["big"].slot == 0  # type: ignore[attr-defined]
    assert m.device_memory is not None
    assert m.peripheral.children["big"].addr == m.device_memory.base + 10 * 128 * MiB  # type: ignore[attr-defined]
    check_placed(m)
    check_name_index(m.root)
    assert resolve_path(m.root, "m249", "memory-backend") == (m.objects.children["m249"], False)
