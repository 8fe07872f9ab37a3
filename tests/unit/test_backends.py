"""Memory backends: object-add/object-del errors, query-memdev, qom-set after creation.

Expected replies were recorded from a live QEMU 7.2.22 and 10.0.2 started with
``-S -nodefaults -display none -accel tcg -M pc -m 1G,slots=4,maxmem=8G``;
arguments are QMP ``object-add`` members (JSON typed).  ``memory-backend-file``
used an existing 256 MiB file as ``mem-path`` (memdevd never opens it).
Every failure must leave the observable state unchanged.

QAPI argument validation of ``object-add`` (a missing ``size``/``mem-path``,
unknown members) belongs to the command layer and is not tested here.
"""

# QEMU's answers stay one per line in the tables below, so they can be grepped.
# ruff: noqa: E501

from __future__ import annotations

from typing import Any

import pytest
from conftest import (
    GiB,
    MiB,
    assert_unchanged,
    backend,
    backing_file,
    dimm,
    make_machine,
    snapshot,
)

from memdevd.machine.errors import CoreError

MEM_PATH = "@backing-file@"  # replaced by conftest.backing_file() at run time
Reply = str | None  # error desc (GenericError) or None for success


def _add(version: str, qom_type: str, bid: str, props: dict[str, Any]) -> tuple[Reply, Any]:
    if props.get("mem-path") == MEM_PATH:
        props["mem-path"] = backing_file()
    m = make_machine(version, "pc", "1G", slots=4, maxmem="8G")
    before = snapshot(m)
    try:
        m.object_add(f"memory-backend-{qom_type}", bid, props)
    except CoreError as exc:
        assert exc.error_class.value == "GenericError"
        assert_unchanged(before, snapshot(m))
        return exc.desc, m
    return None, m


# (id, qom-type, props, reply 7.2, reply 10.0 or "same", marks)
ADD_CASES: list[tuple[str, str, dict[str, Any], Reply, Reply | str, list[Any]]] = [
    ("ram size 0", "ram", {"size": 0}, "property 'size' of memory-backend-ram doesn't take value '0'", "same", []),
    ("ram size 4097", "ram", {"size": 4097}, None, "same", []),
    ("ram 1M", "ram", {"size": MiB}, None, "same", []),
    ("memfd 4097", "memfd", {"size": 4097}, "backing store size 0x1001 does not match 'size' option 0x2000", "b backing store size 0x1001 is too small for 'size' option 0x2000 plus 'offset' option 0x0", []),
    ("memfd 1000", "memfd", {"size": 1000}, "backing store size 0x3e8 does not match 'size' option 0x1000", "b backing store size 0x3e8 is too small for 'size' option 0x1000 plus 'offset' option 0x0", []),
    ("memfd 4K", "memfd", {"size": 4096}, None, "same", []),
    ("memfd hugetlbsize 3M", "memfd", {"size": 4 * MiB, "hugetlb": True, "hugetlbsize": 3 * MiB}, "Hugepage size must be a power of 2", "same", []),
    ("memfd hugetlbsize 4M", "memfd", {"size": 4 * MiB, "hugetlb": True, "hugetlbsize": 4 * MiB}, "failed to create memfd with flags 0x58000007: No such device", "same", []),
    ("memfd hugetlbsize 0", "memfd", {"size": 4 * MiB, "hugetlbsize": 0}, "Property 'memory-backend-memfd.hugetlbsize' doesn't take value '0'", "same", []),
    ("file align 3K", "file", {"size": 4 * MiB, "mem-path": MEM_PATH, "align": 3 * 1024}, "alignment 0xc00 must be multiples of page size 0x1000", "same", []),
    ("file align 12K", "file", {"size": 4 * MiB, "mem-path": MEM_PATH, "align": 12 * 1024}, "alignment 0x3000 must be a power of two", "same", []),
    ("file size 1000", "file", {"size": 1000, "mem-path": MEM_PATH}, None, "backend 'memory-backend-file' memory size must be multiple of 4 KiB", []),
    ("file size 4097", "file", {"size": 4097, "mem-path": MEM_PATH}, None, "backend 'memory-backend-file' memory size must be multiple of 4 KiB", []),
    ("host-nodes with default policy", "ram", {"size": MiB, "host-nodes": [0]}, "host-nodes must be empty for policy default, or you should explicitly specify a policy other than default", "same", []),
    ("bind without host-nodes", "ram", {"size": MiB, "policy": "bind"}, "host-nodes must be set for policy bind", "same", []),
    ("host-nodes 200", "ram", {"size": MiB, "host-nodes": [200], "policy": "bind"}, "Invalid host-nodes value: 200", "same", []),
    ("host node 7 absent", "ram", {"size": MiB, "host-nodes": [7], "policy": "bind"}, "cannot bind memory to host NUMA nodes: Invalid argument", "same", []),
    ("prealloc without reserve", "ram", {"size": MiB, "prealloc": True, "reserve": False}, "'prealloc=on' and 'reserve=off' are incompatible", "same", []),
    ("prealloc-threads 0", "ram", {"size": MiB, "prealloc-threads": 0}, "property 'prealloc-threads' of memory-backend-ram doesn't take value '0'", "same", []),
    ("size string", "ram", {"size": "1G"}, "Parameter 'size' expects uint64", "same", []),
    ("size float", "ram", {"size": 1.5}, "Parameter 'size' expects uint64", "same", []),
    ("size bool", "ram", {"size": True}, "Parameter 'size' expects uint64", "same", []),
    ("size null", "ram", {"size": None}, "Parameter 'size' expects uint64", "same", []),
    ("ram size 2^64-2G", "ram", {"size": -2 * GiB}, "cannot set up guest memory 'b': Cannot allocate memory", "same", []),
    ("ram size 2^63", "ram", {"size": -(2**63)}, "cannot set up guest memory 'b': Cannot allocate memory", "same", []),
    ("ram size 2^47", "ram", {"size": 2**47}, "cannot set up guest memory 'b': Cannot allocate memory", "same", []),
    ("memfd size 2^47", "memfd", {"size": 2**47}, "unable to map backing store for guest RAM: Cannot allocate memory", "same", []),
    ("memfd size 2^63-4K", "memfd", {"size": 2**63 - 4096}, "unable to map backing store for guest RAM: Cannot allocate memory", "same", []),
    # MEM_PATH is a 256 MiB file: a larger backend is refused before anything is mapped.
    ("file size 2^64-2M", "file", {"size": -2 * MiB, "mem-path": MEM_PATH}, "backing store size 0x10000000 does not match 'size' option 0xffffffffffe00000", "b backing store size 0x10000000 is too small for 'size' option 0xffffffffffe00000 plus 'offset' option 0x0", []),
    ("file larger than its file", "file", {"size": 512 * MiB, "mem-path": MEM_PATH}, "backing store size 0x10000000 does not match 'size' option 0x20000000", "b backing store size 0x10000000 is too small for 'size' option 0x20000000 plus 'offset' option 0x0", []),
    ("file offset past its file", "file", {"size": 128 * MiB, "offset": 192 * MiB, "mem-path": MEM_PATH}, "Property 'memory-backend-file.offset' not found", "b backing store size 0x10000000 is too small for 'size' option 0x8000000 plus 'offset' option 0xc000000", []),
    ("memfd size 2^64-2M", "memfd", {"size": -2 * MiB}, "failed to resize memfd to 18446744073707454464: Invalid argument", "same", []),
    ("memfd size 2^63", "memfd", {"size": 2**63}, "failed to resize memfd to 9223372036854775808: Invalid argument", "same", []),
]  # fmt: skip


def _add_params() -> list[Any]:
    params = []
    for name, qom_type, props, r72, r100, marks in ADD_CASES:
        for version, reply in (("7.2", r72), ("10.0", r72 if r100 == "same" else r100)):
            params.append(
                pytest.param(version, qom_type, props, reply, marks=marks, id=f"{version}-{name}")
            )
    return params


@pytest.mark.parametrize(("ver", "qom_type", "props", "expected"), _add_params())
def test_object_add(ver: str, qom_type: str, props: dict[str, Any], expected: Reply) -> None:
    reply, m = _add(ver, qom_type, "b", dict(props))
    assert reply == expected
    if expected is None:
        assert any(b["id"] == "b" for b in m.memdev_list())


def test_duplicate_ids(version: str) -> None:
    # object-add b twice -> "attempt to add duplicate property 'b' to object (type 'container')";
    # memfd named pc.ram -> "... 'pc.ram' to object (type 'container')"
    m = make_machine(version)
    backend(m, "b", "1M")
    before = snapshot(m)
    for bid, qom_type in (("b", "ram"), ("pc.ram", "memfd")):
        with pytest.raises(CoreError) as info:
            backend(m, bid, "2M", qom_type)
        assert info.value.desc == (
            f"attempt to add duplicate property '{bid}' to object (type 'container')"
        )
        assert_unchanged(before, snapshot(m))


def test_query_memdev_values(version: str) -> None:
    # query-memdev after object-add of r (ram 4M), f (memfd 4M), fi (file 4M),
    # x (ram, merge/dump off, prealloc, bind [0]), y (reserve off), z (share, interleave [0]),
    # fs (memfd share=off seal=off); pc.ram is listed too.  (Order is GLib hash order in
    # QEMU; compared sorted by id.)
    m = make_machine(version)
    backend(m, "r", "4M")
    backend(m, "f", "4M", "memfd")
    backend(m, "fi", "4M", "file", **{"mem-path": backing_file()})
    backend(
        m, "x", "4M", merge=False, dump=False, prealloc=True, policy="bind", **{"host-nodes": [0]}
    )
    backend(m, "y", "4M", reserve=False)
    backend(m, "z", "4M", share=True, policy="interleave", **{"host-nodes": [0]})
    backend(m, "fs", "4M", "memfd", share=False, seal=False)

    def info(bid: str, size: int = 4 * MiB, /, **kw: Any) -> dict[str, Any]:
        base: dict[str, Any] = {
            "dump": True, "host-nodes": [], "id": bid, "merge": True, "policy": "default",
            "prealloc": False, "reserve": True, "share": False, "size": size,
        }  # fmt: skip
        base.update(kw)
        return base

    expected = [
        info("f", share=True),
        info("fi"),
        info("fs"),
        info("pc.ram", GiB),
        info("r"),
        info("x", dump=False, merge=False, prealloc=True, policy="bind", **{"host-nodes": [0]}),
        info("y", reserve=False),
        info("z", share=True, policy="interleave", **{"host-nodes": [0]}),
    ]
    assert sorted(m.memdev_list(), key=lambda b: b["id"]) == expected


# (object, property, value, reply) for qom-set on /objects/<object> after creation;
# y = ram 4M reserve=off, f = memfd 4M, fi = file 4M, x = ram bind [0]
QOM_SET_CASES: list[Any] = [
    ("y", "merge", True, None),
    ("y", "dump", True, None),
    ("y", "share", True, "cannot change property value"),
    ("y", "reserve", True, "cannot change property value"),
    ("y", "prealloc", True, "'prealloc=on' and 'reserve=off' are incompatible"),
    ("y", "prealloc", False, None),
    ("y", "policy", "default", None),
    ("y", "size", 8 * MiB, "cannot change property size of memory-backend-ram "),
    ("y", "size", "1G", "cannot change property size of memory-backend-ram "),
    pytest.param("f", "seal", False, None),
    pytest.param("f", "hugetlb", True, None),
    ("f", "hugetlbsize", 2 * MiB, "cannot change property value"),
    ("fi", "mem-path", "/tmp/x", "cannot change property 'mem-path' of memory-backend-file"),
    ("fi", "align", 2 * MiB, "cannot change property 'align' of memory-backend-file"),
    ("fi", "readonly", True, "cannot change property 'readonly' of memory-backend-file."),
    ("fi", "discard-data", True, None),
    ("x", "host-nodes", [200], "Invalid host-nodes value: 200"),
    ("x", "prealloc-threads", 0, "property 'prealloc-threads' of memory-backend-ram doesn't take value '0'"),
    ("x", "prealloc-threads", 4, None),
    ("x", "policy", "bogus", "Parameter 'policy' does not accept value 'bogus'"),
    ("x", "merge", "yes", "Invalid parameter type for 'merge', expected: boolean"),
]  # fmt: skip


@pytest.mark.parametrize(("obj", "prop", "value", "expected"), QOM_SET_CASES)
def test_qom_set_after_creation(
    version: str, obj: str, prop: str, value: Any, expected: Reply
) -> None:
    m = make_machine(version)
    backend(m, "y", "4M", reserve=False)
    backend(m, "f", "4M", "memfd")
    backend(m, "fi", "4M", "file", **{"mem-path": backing_file()})
    backend(m, "x", "4M", policy="bind", **{"host-nodes": [0]})
    before = snapshot(m)
    if expected is None:
        m.qom_set(f"/objects/{obj}", prop, value)
        assert m.qom_get(f"/objects/{obj}", prop) == value
        return
    with pytest.raises(CoreError) as info:
        m.qom_set(f"/objects/{obj}", prop, value)
    assert info.value.desc == expected
    assert_unchanged(before, snapshot(m))


def test_host_nodes_accumulate(version: str) -> None:
    # x bind [0]; qom-set host-nodes [1] -> {}; qom-get host-nodes -> [0, 1]
    m = make_machine(version)
    backend(m, "x", "4M", policy="bind", **{"host-nodes": [0]})
    m.qom_set("/objects/x", "host-nodes", [1])
    assert m.qom_get("/objects/x", "host-nodes") == [0, 1]


def test_qom_get_values(version: str) -> None:
    # qom-get /objects/x size/merge/share/prealloc/policy/host-nodes/reserve/dump
    m = make_machine(version)
    backend(
        m, "x", "4M", merge=False, dump=False, prealloc=True, policy="bind", **{"host-nodes": [0]}
    )
    backend(m, "f", "4M", "memfd")
    got = {p: (m.qom_get("/objects/x", p), m.qom_get("/objects/f", p)) for p in (
        "size", "merge", "share", "prealloc", "policy", "host-nodes", "reserve", "dump")}  # fmt: skip
    assert got == {
        "size": (4 * MiB, 4 * MiB),
        "merge": (False, True),
        "share": (False, True),
        "prealloc": (True, False),
        "policy": ("bind", "default"),
        "host-nodes": ([0], []),
        "reserve": (True, True),
        "dump": (False, True),
    }


# --- object-del ---------------------------------------------------------------------


def test_object_del(version: str) -> None:
    # object-del zz -> "object 'zz' not found"; pc.ram -> "object 'pc.ram' is in use, can
    # not be deleted"; b used by a DIMM -> "object 'b' is in use, can not be deleted";
    # c unused -> {} then "object 'c' not found"
    m = make_machine(version)
    backend(m, "b", "1G")
    backend(m, "c", "1G")
    dimm(m, "d", "b")
    before = snapshot(m)
    for bid, text in (
        ("zz", "object 'zz' not found"),
        ("pc.ram", "object 'pc.ram' is in use, can not be deleted"),
        ("b", "object 'b' is in use, can not be deleted"),
    ):
        with pytest.raises(CoreError) as info:
            m.object_del(bid)
        assert info.value.desc == text
        assert_unchanged(before, snapshot(m))
    m.object_del("c")
    with pytest.raises(CoreError) as info:
        m.object_del("c")
    assert info.value.desc == "object 'c' not found"
    assert [b["id"] for b in sorted(m.memdev_list(), key=lambda b: b["id"])] == ["b", "pc.ram"]


def test_object_del_after_failed_plug(version: str) -> None:
    # a device_add that fails (here: no space) must not leave its backend busy
    m = make_machine(version, "pc", "1G", slots=2, maxmem="2G")
    backend(m, "big", "2G")
    with pytest.raises(CoreError):
        dimm(m, "d", "big")
    m.object_del("big")
