"""The QOM name index that keeps a plug's cost flat agrees with a full walk.

A plug used to walk the whole QOM tree to resolve its ``memdev`` partial
path (which must detect ambiguity).  The tree's root now keeps a
:class:`~memdevd.machine.qom.NameIndex`, kept current as the tree changes.
Every test here compares it with the walk it replaces:

* random QOM trees and operations: index-based resolution equals the walk,
  and the maintained index equals one built from scratch;
* random command sequences (backends, DIMMs with and without address and
  slot hints, nvdimms, virtio-mem, unplugs, object-del, snapshot and
  restore) on two machines, one with the index and one made to walk:
  every answer and error is the same, and after every step the index
  equals one built from the live tree;
* resolution after a restore finds the restored objects, not the ones a
  snapshot copied or the ones thrown away.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any, ClassVar

import pytest
from conftest import CORE_SETTINGS
from hypothesis import given
from hypothesis import strategies as st

import memdevd.machine
from memdevd import cli
from memdevd.compat import get_profile
from memdevd.machine import snapshot
from memdevd.machine.clock import VirtualClock
from memdevd.machine.errors import CoreError
from memdevd.machine.machine import Machine
from memdevd.machine.qom import (
    Container,
    NameIndex,
    QOMObject,
    _resolve_indexed,
    _resolve_walk,
    resolve_path,
)
from memdevd.startup import build_machine

MiB = 1 << 20
GiB = 1 << 30


# --- checks shared by the tests -------------------------------------------------------


def check_name_index(root: QOMObject) -> None:
    """The root's index is exact and equals one built from the live tree."""
    index = root._name_index
    assert index is not None and index.exact
    assert index.as_ids() == NameIndex.build(root).as_ids()


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
        parsed.request, get_profile(version), parsed.settings, clock=VirtualClock()
    )
    if not fast:
        # The reference: resolution walks the tree.
        m.root._name_index = None
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
    # The snapshot itself was not touched by the restore or the plugs after it.
    assert snap.machine.root._name_index is not None
    assert snap.machine.root._name_index.as_ids() == NameIndex.build(snap.machine.root).as_ids()
    assert "d2" not in snap.machine.peripheral.children
