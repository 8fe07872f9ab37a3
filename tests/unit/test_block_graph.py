"""The block graph without QEMU: opening, naming, permissions, deletion.

Images are written here byte by byte (a raw file, qcow2 v2/v3 headers with
and without a backing file), so the quick layer needs no qemu-img; the same
behaviour is compared with real QEMU in tests/conformance/test_block_live.py.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from memdevd.machine.block import perms
from memdevd.machine.block.graph import BlockLayer
from memdevd.machine.block.info import named_nodes
from memdevd.machine.errors import CoreError


def qcow2(path: Path, size: int, *, version: int = 3, backing: str = "", fmt: str = "") -> None:
    """A minimal qcow2 image header (what qcow2_do_open reads)."""
    cluster_bits = 16
    header_length = 104 if version == 3 else 72
    ext = b""
    if fmt:
        body = fmt.encode()
        ext += struct.pack(">II", 0xE2792ACA, len(body)) + body + bytes(-len(body) % 8)
    ext += struct.pack(">II", 0, 0)
    backing_offset = header_length + len(ext) if backing else 0
    head = b"QFI\xfb" + struct.pack(
        ">IQIIQIIQQIIQ",
        version,
        backing_offset,
        len(backing),
        cluster_bits,
        size,
        0,
        0,
        0,
        0x10000,
        1,
        0,
        0,
    )
    if version == 3:
        head += struct.pack(">QQQII", 0, 0, 0, 4, header_length)
    path.write_bytes(head + ext + backing.encode() + bytes(4096))


@pytest.fixture
def images(tmp_path: Path) -> Path:
    (tmp_path / "disk.raw").write_bytes(bytes(1 << 20))
    qcow2(tmp_path / "disk.qcow2", 1 << 30)
    qcow2(tmp_path / "old.qcow2", 1 << 29, version=2)
    qcow2(tmp_path / "overlay.qcow2", 1 << 20, backing="disk.raw", fmt="raw")
    qcow2(tmp_path / "broken.qcow2", 1 << 20, backing="missing.qcow2")
    (tmp_path / "text.txt").write_text("hello\n")
    return tmp_path


def file(d: Path, name: str, **extra: Any) -> dict[str, Any]:
    return {"driver": "file", "filename": str(d / name), **extra}


def state(layer: BlockLayer) -> Any:
    """Everything a failed command must leave as it was."""
    return (
        [n.node_name for n in layer.nodes.values()],
        {n.node_name: (n.refcnt, [e.user for e in n.parents]) for n in layer.nodes.values()},
        named_nodes(layer, flat=False),
    )


def test_format_over_file_reads_the_header(images: Path) -> None:
    layer = BlockLayer()
    layer.blockdev_add({"driver": "qcow2", "node-name": "q", "file": file(images, "disk.qcow2")})
    q, f = layer.nodes["q"], next(n for n in layer.nodes.values() if n.driver == "file")
    assert (q.length, q.filename, q.read_only) == (1 << 30, str(images / "disk.qcow2"), False)
    assert f.implicit_name and f.node_name.startswith("#block")
    # The file child was opened first; the list is newest first.
    assert [n.node_name for n in layer.nodes.values()] == [f.node_name, "q"]
    assert [d["node-name"] for d in named_nodes(layer, flat=True)] == ["q", f.node_name]
    # qcow2 needs write and resize on a writable image and shares neither.
    assert (f.parents[0].perm, f.parents[0].shared) == (
        perms.CONSISTENT_READ | perms.WRITE | perms.RESIZE,
        perms.ALL & ~(perms.WRITE | perms.RESIZE),
    )


def test_backing_chain_from_the_header(images: Path) -> None:
    layer = BlockLayer()
    layer.blockdev_add({"driver": "qcow2", "node-name": "o", "file": file(images, "overlay.qcow2")})
    o = layer.nodes["o"]
    assert o.backing is not None and o.backing.driver == "raw" and o.backing.read_only
    assert o.backing.filename == str(images / "disk.raw")
    info = next(i for i in named_nodes(layer, flat=False) if i["node-name"] == "o")
    assert info["backing_file_depth"] == 1
    assert info["image"]["full-backing-filename"] == str(images / "disk.raw")
    # An implicit backing file is no override: the plain filename stays.
    assert info["file"] == str(images / "overlay.qcow2")


@pytest.mark.parametrize(
    ("options", "text"),
    [
        ({"driver": "file", "filename": "/x"}, "'node-name' must be specified for the root node"),
        (
            {"driver": "file", "filename": "/nonexistent", "node-name": "a"},
            "Could not open '/nonexistent': No such file or directory",
        ),
        (
            {"driver": "qcow2", "node-name": "a", "file": "nosuch"},
            "Cannot find device='nosuch' nor node-name='nosuch'",
        ),
        (
            {"driver": "qcow2", "node-name": "1a", "file": {"driver": "null-co"}},
            "Invalid node-name: '1a'",
        ),
        (
            {"driver": "vmdk", "node-name": "a", "file": {"driver": "null-co"}},
            "memdevd: block driver 'vmdk' is not emulated",
        ),
        (
            {
                "driver": "raw",
                "node-name": "a",
                "file": {"driver": "null-co", "size": 512},
                "offset": 1024,
            },
            "Offset (1024) cannot be greater than size of the containing file (512)",
        ),
        (
            {"driver": "file", "filename": "/dev/null", "node-name": "a"},
            "'file' driver requires '/dev/null' to be a regular file",
        ),
        (
            {"driver": "null-co", "node-name": "a", "force-share": True},
            "force-share=on can only be used with read-only images",
        ),
    ],
)
def test_errors_leave_the_graph_as_it_was(images: Path, options: dict[str, Any], text: str) -> None:
    layer = BlockLayer()
    layer.blockdev_add(file(images, "disk.raw", **{"node-name": "keep"}))
    before = state(layer)
    with pytest.raises(CoreError) as err:
        layer.blockdev_add(options)
    assert err.value.desc == text
    assert state(layer) == before


def test_header_errors(images: Path) -> None:
    layer = BlockLayer()
    for name, text in [
        ("text.txt", "Image is not in qcow2 format"),
        (
            "broken.qcow2",
            "Could not open backing file: Could not open "
            f"'{images / 'missing.qcow2'}': No such file or directory",
        ),
    ]:
        with pytest.raises(CoreError) as err:
            layer.blockdev_add({"driver": "qcow2", "node-name": "q", "file": file(images, name)})
        assert err.value.desc == text
    assert layer.nodes == {}
    # Failed opens still used generated names (the image files' nodes), as
    # id_generate() counts on; the missing backing file got none.
    assert layer.generated == 2


def test_locks_between_nodes_of_one_file(images: Path) -> None:
    layer = BlockLayer()
    layer.blockdev_add({"driver": "qcow2", "node-name": "a", "file": file(images, "disk.qcow2")})
    with pytest.raises(CoreError) as err:
        layer.blockdev_add(
            {"driver": "qcow2", "node-name": "b", "file": file(images, "disk.qcow2")}
        )
    assert err.value.desc == 'Failed to get "write" lock'
    assert err.value.hint == f"Is another process using the image [{images / 'disk.qcow2'}]?\n"
    layer.blockdev_add(
        {
            "driver": "qcow2",
            "node-name": "c",
            "read-only": True,
            "force-share": True,
            "file": file(images, "disk.qcow2"),
        }
    )
    # locking=off takes no locks, so nobody refuses it.
    layer.blockdev_add(
        {"driver": "qcow2", "node-name": "d", "file": file(images, "disk.qcow2", locking="off")}
    )
    layer.blockdev_del("a")
    layer.blockdev_add({"driver": "qcow2", "node-name": "e", "file": file(images, "disk.qcow2")})


def test_permission_conflict_between_parents(images: Path) -> None:
    layer = BlockLayer()
    layer.blockdev_add(file(images, "disk.qcow2", **{"node-name": "f"}))
    layer.blockdev_add({"driver": "qcow2", "node-name": "a", "file": "f"})
    with pytest.raises(CoreError) as err:
        layer.blockdev_add({"driver": "qcow2", "node-name": "b", "file": "f"})
    assert err.value.desc == (
        "Permission conflict on node 'f': permissions 'write, resize' are both required by "
        "node 'a' (uses node 'f' as 'file' child) and unshared by node 'b' (uses node 'f' "
        "as 'file' child)."
    )
    assert [e.user for e in layer.nodes["f"].parents] == ["node 'a'"]


def test_delete_order(images: Path) -> None:
    layer = BlockLayer()
    layer.blockdev_add(file(images, "disk.raw", **{"node-name": "f"}))
    layer.blockdev_add({"driver": "raw", "node-name": "r", "file": "f"})
    for name, text in [
        ("nosuch", "Failed to find node with node-name='nosuch'"),
        ("f", "Block device f is in use"),
    ]:
        with pytest.raises(CoreError) as err:
            layer.blockdev_del(name)
        assert err.value.desc == text
    layer.blockdev_del("r")
    layer.blockdev_del("f")
    assert layer.nodes == {}


def test_json_filename_for_strong_options(images: Path) -> None:
    layer = BlockLayer()
    layer.blockdev_add({"driver": "null-co", "node-name": "n", "size": 4096})
    layer.blockdev_add(
        {"driver": "raw", "node-name": "r", "offset": 512, "file": file(images, "disk.raw")}
    )
    assert layer.nodes["n"].filename == 'json:{"driver": "null-co", "size": 4096}'
    # QDict order, as QEMU prints it (compared live in test_block_live.py).
    assert layer.nodes["r"].filename == (
        'json:{"offset": 512, "driver": "raw", "file": {"driver": "file", "filename": "'
        + str(images / "disk.raw")
        + '"}}'
    )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["add-file", "add-raw", "add-qcow2", "add-bad", "del"]),
            st.sampled_from(["a", "b", "c"]),
            st.sampled_from(["a", "b", "c", "new"]),
        ),
        max_size=12,
    )
)
# a qcow2 over raw over raw: its header is read through both raw nodes
@example(ops=[("add-raw", "a", "new"), ("add-raw", "c", "a"), ("add-qcow2", "b", "c")])
def test_any_sequence_keeps_the_graph_consistent(tmp_path_factory: Any, ops: list[Any]) -> None:
    """Whatever is added and deleted: refcounts equal the parents that
    hold a node, every child is in the graph, failures change nothing."""
    d = tmp_path_factory.mktemp("seq")
    (d / "disk.raw").write_bytes(bytes(4096))
    qcow2(d / "disk.qcow2", 1 << 20)
    layer = BlockLayer()
    for op, name, ref in ops:
        options: dict[str, Any] = {
            "add-file": file(d, "disk.raw", **{"node-name": name}),
            "add-raw": {
                "driver": "raw",
                "node-name": name,
                "file": ref if ref != "new" else file(d, "disk.raw"),
            },
            "add-qcow2": {
                "driver": "qcow2",
                "node-name": name,
                "file": ref if ref != "new" else file(d, "disk.qcow2"),
            },
            "add-bad": {"driver": "qcow2", "node-name": name, "file": file(d, "missing")},
        }.get(op, {})
        before = state(layer)
        try:
            if op == "del":
                layer.blockdev_del(name)
            else:
                layer.blockdev_add(options)
        except CoreError:
            assert state(layer) == before
        for node in layer.nodes.values():
            holders = [e for e in node.parents]
            assert node.refcnt == len(holders)
            for child in node.children():
                assert child.node_name in layer.nodes
