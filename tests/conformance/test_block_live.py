"""The block graph against real QEMU: blockdev-add/-del and the node queries.

Images are made for each session with ``qemu-img`` (Debian's qemu-utils,
installed by tools/install-test-deps.sh): raw, qcow2 v3 and v2, a qcow2
with a relative backing file and one with a backing format, a file that is
not an image, an empty one, a directory, a file of an odd size.  Each
sequence is replayed against real QEMU 7.2 and 10.0 and against memdevd
emulating the same release, and the transcripts must be equal (generated
node names "#block..." are masked: QEMU draws two random digits).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from memdevd.devtools.scenario import compare_live, memdevd_target, parse_scenario, qemu_target
from tests.live_qemu import QEMU_VERSIONS, qemu_binary

pytestmark = pytest.mark.live_qemu

ARGV = ["-S", "-nodefaults", "-display", "none", "-machine", "q35"]


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    qemu_img = shutil.which("qemu-img")
    if qemu_img is None:
        pytest.skip("qemu-img is not installed (tools/install-test-deps.sh installs qemu-utils)")
    d = tmp_path_factory.mktemp("images")

    def img(*args: str) -> None:
        subprocess.run([qemu_img, *args], cwd=d, check=True, capture_output=True)

    img("create", "-f", "raw", "disk.raw", "64M")
    img("create", "-f", "qcow2", "disk.qcow2", "1G")
    img("create", "-f", "qcow2", "-o", "compat=0.10", "old.qcow2", "512M")
    img("create", "-f", "qcow2", "-o", "lazy_refcounts=on,cluster_size=4096", "lazy.qcow2", "2G")
    img("create", "-f", "raw", "base.raw", "32M")
    img("create", "-f", "qcow2", "-b", "base.raw", "-F", "raw", "overlay.qcow2")
    img("create", "-f", "qcow2", "-b", "disk.qcow2", "-F", "qcow2", "chain.qcow2")
    img("create", "-f", "qcow2", "-b", "missing.qcow2", "-F", "qcow2", "-u", "broken.qcow2", "1G")
    img("create", "-f", "raw", "code.fd", "2M")
    img("create", "-f", "raw", "vars.fd", "128K")
    img("create", "-f", "raw", "big.fd", "6M")
    (d / "text.txt").write_text("not an image\n" * 10)
    (d / "empty").write_bytes(b"")
    (d / "odd.bin").write_bytes(b"x" * 1000)
    (d / "subdir").mkdir()
    return d


def _steps(commands: list[tuple[str, dict[str, Any] | None]]) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = [{"send": {"execute": "qmp_capabilities"}}]
    for name, args in commands:
        msg: dict[str, Any] = {"execute": name}
        if args is not None:
            msg["arguments"] = args
        steps.append({"send": msg})
    return steps


def _file(d: Path, name: str, **extra: Any) -> dict[str, Any]:
    return {"driver": "file", "filename": str(d / name), **extra}


def sequences(d: Path) -> dict[str, list[tuple[str, dict[str, Any] | None]]]:
    nodes = ("query-named-block-nodes", None)
    flat = ("query-named-block-nodes", {"flat": True})
    return {
        "arguments": [
            ("blockdev-add", {}),
            ("blockdev-add", {"driver": "nope"}),
            ("blockdev-add", {"driver": "file"}),
            ("blockdev-add", {"driver": "file", "filename": 5}),
            ("blockdev-add", {"driver": "file", "filename": "/x", "bogus": 1}),
            ("blockdev-add", {"driver": "raw", "node-name": "r"}),
            ("blockdev-add", {"driver": "raw", "node-name": "r", "file": 3}),
            ("blockdev-add", _file(d, "disk.raw", **{"node-name": "f", "cache": {"direct": 1}})),
            ("blockdev-add", _file(d, "disk.raw", **{"node-name": "f", "discard": "maybe"})),
            ("blockdev-add", _file(d, "disk.raw", **{"node-name": "f", "aio": "nope"})),
            ("blockdev-del", {}),
            ("blockdev-del", {"node-name": 1}),
            nodes,
        ],
        "names": [
            ("blockdev-add", _file(d, "disk.raw")),
            ("blockdev-add", _file(d, "disk.raw", **{"node-name": ""})),
            ("blockdev-add", _file(d, "disk.raw", **{"node-name": "1bad"})),
            ("blockdev-add", _file(d, "disk.raw", **{"node-name": "a" * 31})),
            ("blockdev-add", _file(d, "disk.raw", **{"node-name": "b" * 32})),
            ("blockdev-add", _file(d, "disk.raw", **{"node-name": "f0"})),
            ("blockdev-add", _file(d, "disk.raw", **{"node-name": "f0"})),
            nodes,
        ],
        "files": [
            ("blockdev-add", _file(d, "missing", **{"node-name": "m"})),
            ("blockdev-add", _file(d, "subdir", **{"node-name": "dir"})),
            ("blockdev-add", _file(d, "subdir", **{"node-name": "dir", "read-only": True})),
            ("blockdev-add", _file(d, "odd.bin", **{"node-name": "odd"})),
            ("blockdev-add", _file(d, "empty", **{"node-name": "empty"})),
            (
                "blockdev-add",
                {"driver": "host_device", "filename": str(d / "disk.raw"), "node-name": "hd"},
            ),
            (
                "blockdev-add",
                _file(
                    d,
                    "disk.raw",
                    **{
                        "node-name": "opts",
                        "read-only": True,
                        "auto-read-only": True,
                        "cache": {"direct": False, "no-flush": True},
                        "detect-zeroes": "unmap",
                        "discard": "unmap",
                    },
                ),
            ),
            ("blockdev-add", {"driver": "null-co", "node-name": "n0"}),
            ("blockdev-add", {"driver": "null-aio", "node-name": "n1", "size": 4096}),
            nodes,
            flat,
        ],
        "formats": [
            ("blockdev-add", _file(d, "disk.raw", **{"node-name": "f0"})),
            ("blockdev-add", {"driver": "qcow2", "node-name": "q0", "file": "f0"}),
            ("blockdev-add", {"driver": "raw", "node-name": "r0", "file": "f0"}),
            (
                "blockdev-add",
                {"driver": "raw", "node-name": "r1", "file": "f0", "offset": 512, "size": 1024},
            ),
            ("blockdev-add", {"driver": "raw", "node-name": "r2", "file": "f0", "offset": 1 << 40}),
            (
                "blockdev-add",
                {"driver": "raw", "node-name": "r3", "file": "f0", "offset": 512, "size": 64 << 20},
            ),
            ("blockdev-add", {"driver": "raw", "node-name": "r4", "file": "f0", "size": 1000}),
            ("blockdev-add", {"driver": "raw", "node-name": "r5", "file": "nosuch"}),
            (
                "blockdev-add",
                {"driver": "qcow2", "node-name": "q1", "file": _file(d, "disk.qcow2")},
            ),
            ("blockdev-add", {"driver": "qcow2", "node-name": "q2", "file": _file(d, "old.qcow2")}),
            (
                "blockdev-add",
                {"driver": "qcow2", "node-name": "q3", "file": _file(d, "lazy.qcow2")},
            ),
            ("blockdev-add", {"driver": "qcow2", "node-name": "q4", "file": _file(d, "text.txt")}),
            ("blockdev-add", {"driver": "qcow2", "node-name": "q5", "file": _file(d, "empty")}),
            ("blockdev-add", {"driver": "raw", "node-name": "r6", "file": _file(d, "disk.qcow2")}),
            nodes,
            flat,
        ],
        "backing": [
            (
                "blockdev-add",
                {"driver": "qcow2", "node-name": "o0", "file": _file(d, "overlay.qcow2")},
            ),
            (
                "blockdev-add",
                {"driver": "qcow2", "node-name": "c0", "file": _file(d, "chain.qcow2")},
            ),
            (
                "blockdev-add",
                {"driver": "qcow2", "node-name": "b0", "file": _file(d, "broken.qcow2")},
            ),
            (
                "blockdev-add",
                {
                    "driver": "qcow2",
                    "node-name": "b1",
                    "backing": None,
                    "file": _file(d, "broken.qcow2"),
                },
            ),
            ("blockdev-add", _file(d, "base.raw", **{"node-name": "base"})),
            (
                "blockdev-add",
                {
                    "driver": "qcow2",
                    "node-name": "o1",
                    "backing": "base",
                    "file": _file(d, "overlay.qcow2"),
                },
            ),
            nodes,
            flat,
            ("blockdev-del", {"node-name": "base"}),
            ("blockdev-del", {"node-name": "o1"}),
            ("blockdev-del", {"node-name": "base"}),
            flat,
        ],
        "locks": [
            ("blockdev-add", _file(d, "disk.qcow2", **{"node-name": "f0"})),
            ("blockdev-add", {"driver": "qcow2", "node-name": "q0", "file": "f0"}),
            ("blockdev-add", {"driver": "qcow2", "node-name": "q1", "file": "f0"}),
            (
                "blockdev-add",
                {"driver": "qcow2", "node-name": "q2", "file": "f0", "read-only": True},
            ),
            ("blockdev-add", {"driver": "raw", "node-name": "r0", "file": "f0"}),
            (
                "blockdev-add",
                {"driver": "qcow2", "node-name": "q3", "file": _file(d, "disk.qcow2")},
            ),
            (
                "blockdev-add",
                {
                    "driver": "qcow2",
                    "node-name": "q4",
                    "read-only": True,
                    "file": _file(d, "disk.qcow2"),
                },
            ),
            (
                "blockdev-add",
                {
                    "driver": "qcow2",
                    "node-name": "q5",
                    "read-only": True,
                    "force-share": True,
                    "file": _file(d, "disk.qcow2"),
                },
            ),
            (
                "blockdev-add",
                {
                    "driver": "qcow2",
                    "node-name": "q6",
                    "force-share": True,
                    "file": _file(d, "disk.qcow2"),
                },
            ),
            (
                "blockdev-add",
                {
                    "driver": "qcow2",
                    "node-name": "q7",
                    "file": _file(d, "disk.qcow2", locking="off"),
                },
            ),
            (
                "blockdev-add",
                {"driver": "qcow2", "node-name": "c0", "file": _file(d, "chain.qcow2")},
            ),
            ("blockdev-del", {"node-name": "q0"}),
            (
                "blockdev-add",
                {"driver": "qcow2", "node-name": "q8", "file": _file(d, "disk.qcow2")},
            ),
            ("blockdev-del", {"node-name": "c0"}),
            (
                "blockdev-add",
                {"driver": "qcow2", "node-name": "q9", "file": _file(d, "disk.qcow2")},
            ),
            ("query-named-block-nodes", {"flat": True}),
        ],
        "disks": [
            ("blockdev-add", _file(d, "disk.qcow2", **{"node-name": "f0"})),
            ("blockdev-add", {"driver": "qcow2", "node-name": "q0", "file": "f0"}),
            (
                "blockdev-add",
                {
                    "driver": "qcow2",
                    "node-name": "ro",
                    "read-only": True,
                    "file": _file(d, "old.qcow2", **{"read-only": True}),
                },
            ),
            ("device_add", {"driver": "virtio-blk-pci", "id": "vd0"}),
            ("device_add", {"driver": "virtio-blk-pci", "id": "vd0", "drive": "nosuch"}),
            (
                "device_add",
                {
                    "driver": "virtio-blk-pci",
                    "id": "vd0",
                    "drive": "q0",
                    "bus": "pcie.0",
                    "addr": "0x5",
                },
            ),
            ("device_add", {"driver": "virtio-blk-pci", "id": "vd1", "drive": "q0"}),
            (
                "device_add",
                {"driver": "virtio-blk-pci", "id": "vd1", "drive": "f0", "bus": "pcie.0"},
            ),
            (
                "device_add",
                {
                    "driver": "virtio-blk",
                    "id": "vd2",
                    "drive": "ro",
                    "bus": "pcie.0",
                    "addr": "0x6",
                },
            ),
            ("device_add", {"driver": "virtio-blk-pci", "drive": "ro", "bus": "pcie.0"}),
            ("query-block", None),
            ("query-named-block-nodes", {"flat": True}),
            ("qom-list", {"path": "/machine/peripheral/vd0"}),
            ("qom-get", {"path": "/machine/peripheral/vd0", "property": "drive"}),
            ("qom-get", {"path": "/machine/peripheral/vd2/virtio-backend", "property": "drive"}),
            ("blockdev-del", {"node-name": "q0"}),
            ("device_del", {"id": "vd0"}),
            ("blockdev-del", {"node-name": "q0"}),
            ("query-block", None),
        ],
        # What libvirt and users change on a running disk: its boot index
        # (not a qdev property: settable after realize, one device per
        # index) and its drive (qdev_prop_drive: the backend moves).
        "runtime": [
            ("blockdev-add", _file(d, "disk.raw", **{"node-name": "f0"})),
            ("blockdev-add", {"driver": "raw", "node-name": "r0", "file": "f0"}),
            ("blockdev-add", _file(d, "old.qcow2", **{"node-name": "ro", "read-only": True})),
            ("blockdev-add", _file(d, "disk.qcow2", **{"node-name": "q"})),
            (
                "device_add",
                {"driver": "virtio-blk-pci", "id": "vd0", "drive": "r0", "bootindex": 2},
            ),
            ("device_add", {"driver": "virtio-blk-pci", "id": "vd1", "drive": "q", "bootindex": 2}),
            ("device_add", {"driver": "virtio-blk-pci", "id": "vd1", "drive": "q", "bootindex": 1}),
            ("qom-set", {"path": "/machine/peripheral/vd0", "property": "bootindex", "value": 1}),
            ("qom-set", {"path": "/machine/peripheral/vd0", "property": "bootindex", "value": 2}),
            ("qom-set", {"path": "/machine/peripheral/vd0", "property": "bootindex", "value": 2}),
            ("qom-set", {"path": "/machine/peripheral/vd1", "property": "bootindex", "value": -7}),
            (
                "qom-set",
                {
                    "path": "/machine/peripheral/vd0/virtio-backend",
                    "property": "bootindex",
                    "value": 5,
                },
            ),
            ("qom-get", {"path": "/machine/peripheral/vd0", "property": "bootindex"}),
            ("qom-get", {"path": "/machine/peripheral/vd1", "property": "bootindex"}),
            ("qom-set", {"path": "/machine/peripheral/vd0", "property": "serial", "value": "x"}),
            (
                "qom-set",
                {"path": "/machine/peripheral/vd0", "property": "drive", "value": "nosuch"},
            ),
            ("qom-set", {"path": "/machine/peripheral/vd0", "property": "drive", "value": "ro"}),
            ("qom-set", {"path": "/machine/peripheral/vd0", "property": "drive", "value": "f0"}),
            ("qom-get", {"path": "/machine/peripheral/vd0", "property": "drive"}),
            ("query-block", None),
            ("query-named-block-nodes", {"flat": True}),
            ("blockdev-del", {"node-name": "r0"}),
            ("device_del", {"id": "vd1"}),
            ("query-block", None),
        ],
        "delete": [
            ("blockdev-add", _file(d, "disk.raw", **{"node-name": "f0"})),
            ("blockdev-add", {"driver": "raw", "node-name": "r0", "file": "f0"}),
            (
                "blockdev-add",
                {
                    "driver": "raw",
                    "node-name": "r1",
                    "file": _file(d, "disk.raw", **{"node-name": "inner"}),
                },
            ),
            ("blockdev-del", {"node-name": "nosuch"}),
            ("blockdev-del", {"node-name": "f0"}),
            ("blockdev-del", {"node-name": "inner"}),
            ("blockdev-del", {"node-name": "r0"}),
            ("blockdev-del", {"node-name": "r0"}),
            ("blockdev-del", {"node-name": "f0"}),
            ("blockdev-del", {"node-name": "r1"}),
            flat,
        ],
        "filters": [
            ("blockdev-add", _file(d, "disk.raw", **{"node-name": "f"})),
            ("blockdev-add", {"driver": "throttle", "throttle-group": "nope", "file": "f"}),
            (
                "blockdev-add",
                {"driver": "throttle", "throttle-group": "nope", "file": "f", "node-name": "t"},
            ),
            (
                "object-add",
                {
                    "qom-type": "throttle-group",
                    "id": "tg",
                    "limits": {"bps-total": 1, "bps-read": 1},
                },
            ),
            (
                "object-add",
                {
                    "qom-type": "throttle-group",
                    "id": "tg",
                    "x-iops-total": 5,
                    "x-iops-total-max": 4,
                },
            ),
            ("object-add", {"qom-type": "throttle-group", "id": "tg", "limits": {"iops-total": 9}}),
            ("blockdev-add", {"driver": "throttle", "throttle-group": "tg", "node-name": "t"}),
            (
                "blockdev-add",
                {"driver": "throttle", "throttle-group": "tg", "file": "f", "node-name": "t"},
            ),
            ("blockdev-add", {"driver": "copy-on-read", "file": "t", "node-name": "c"}),
            (
                "blockdev-add",
                {"driver": "copy-on-read", "file": _file(d, "disk.qcow2"), "node-name": "c2"},
            ),
            ("object-del", {"id": "tg"}),
            ("device_add", {"driver": "virtio-blk-pci", "drive": "c", "id": "vb"}),
            ("query-block", None),
            ("query-blockstats", None),
            ("query-blockstats", {"query-nodes": True}),
            nodes,
            flat,
            ("blockdev-del", {"node-name": "c2"}),
            ("blockdev-del", {"node-name": "t"}),
            flat,
        ],
        "iothread": [
            ("object-add", {"qom-type": "iothread", "id": "io0"}),
            ("blockdev-add", {"driver": "null-co", "node-name": "n0"}),
            ("blockdev-add", {"driver": "null-co", "node-name": "n1"}),
            ("device_add", {"driver": "virtio-blk-pci", "drive": "n1", "id": "vb"}),
            ("blockdev-add", _file(d, "disk.qcow2", **{"node-name": "qf"})),
            ("blockdev-add", {"driver": "qcow2", "file": "qf", "node-name": "q"}),
            ("x-blockdev-set-iothread", {"node-name": "nope", "iothread": "io0"}),
            ("x-blockdev-set-iothread", {"node-name": "n0", "iothread": "nope"}),
            ("x-blockdev-set-iothread", {"node-name": "n0", "iothread": "io0"}),
            ("x-blockdev-set-iothread", {"node-name": "n0", "iothread": None}),
            ("x-blockdev-set-iothread", {"node-name": "n1", "iothread": "io0"}),
            ("x-blockdev-set-iothread", {"node-name": "n1", "iothread": "io0", "force": True}),
            ("x-blockdev-set-iothread", {"node-name": "n1", "iothread": None, "force": True}),
            ("x-blockdev-set-iothread", {"node-name": "qf", "iothread": "io0"}),
            ("x-blockdev-set-iothread", {"node-name": "qf", "iothread": "io0", "force": True}),
            ("x-blockdev-set-iothread", {"node-name": "q", "iothread": None}),
            nodes,
        ],
        "write-threshold": [
            ("blockdev-add", {"driver": "null-co", "node-name": "n0"}),
            ("blockdev-add", _file(d, "disk.raw", **{"node-name": "f0"})),
            ("block-set-write-threshold", {"node-name": "nope", "write-threshold": 5}),
            ("block-set-write-threshold", {"node-name": "n0"}),
            ("block-set-write-threshold", {"node-name": "n0", "write-threshold": 1 << 20}),
            ("block-set-write-threshold", {"node-name": "f0", "write-threshold": -1}),
            nodes,
            ("block-set-write-threshold", {"node-name": "n0", "write-threshold": 0}),
            flat,
        ],
    }


SEQUENCES = [
    "arguments",
    "names",
    "files",
    "formats",
    "backing",
    "locks",
    "disks",
    "runtime",
    "delete",
    "write-threshold",
    "filters",
    "iothread",
]


@pytest.mark.parametrize("version", QEMU_VERSIONS)
@pytest.mark.parametrize("sequence", SEQUENCES)
def test_block_graph_matches_qemu(images: Path, version: str, sequence: str) -> None:
    binary = qemu_binary(version)
    if binary is None:
        pytest.skip(f"QEMU {version} is not installed")
    scenario = parse_scenario(
        {"name": f"block-{sequence}", "argv": ARGV, "steps": _steps(sequences(images)[sequence])}
    )
    result = asyncio.run(compare_live(scenario, qemu_target(binary), memdevd_target(version)))
    assert result.ok, result.difference or result.error


def command_lines(d: Path) -> dict[str, list[str]]:
    """-blockdev in both syntaxes, accepted and refused (exit status and
    message compared), then the nodes as query-named-block-nodes lists them."""
    raw, qcow = str(d / "disk.raw"), str(d / "disk.qcow2")
    return {
        "keyval": [
            "-blockdev",
            f"driver=file,filename={qcow},node-name=f0,auto-read-only=on",
            "-blockdev",
            "driver=qcow2,node-name=q0,file=f0,cache.direct=off",
            "-blockdev",
            f"driver=raw,node-name=r0,file.driver=file,file.filename={raw}",
        ],
        "json": [
            "-blockdev",
            '{"driver":"file","filename":"' + qcow + '","node-name":"libvirt-1-storage",'
            '"auto-read-only":true,"discard":"unmap"}',
            "-blockdev",
            '{"node-name":"libvirt-1-format","read-only":false,"driver":"qcow2",'
            '"file":"libvirt-1-storage"}',
        ],
        "missing-file": ["-blockdev", "driver=file,filename=/nonexistent,node-name=f"],
        "no-node-name": ["-blockdev", f"driver=file,filename={raw}"],
        "bad-driver": ["-blockdev", "driver=nope"],
        "bad-type": ["-blockdev", '{"driver":"file","filename":5}'],
        "unexpected": ["-blockdev", f"driver=file,filename={raw},node-name=f,bogus=1"],
        "not-qcow2": [
            "-blockdev",
            f"driver=qcow2,node-name=q,file.driver=file,file.filename={raw}",
        ],
        "bad-int": ["-blockdev", "driver=null-co,node-name=n,size=abc"],
        "duplicate": [
            "-blockdev",
            "driver=null-co,node-name=n",
            "-blockdev",
            "driver=null-co,node-name=n",
        ],
        "after-a-good-one": [
            "-blockdev",
            "driver=null-co,node-name=n",
            "-blockdev",
            f"driver=raw,node-name=r,file={raw}",
        ],
    }


@pytest.mark.parametrize("version", QEMU_VERSIONS)
@pytest.mark.parametrize("case", sorted(command_lines(Path("/")).keys()))
def test_blockdev_option_matches_qemu(images: Path, version: str, case: str) -> None:
    binary = qemu_binary(version)
    if binary is None:
        pytest.skip(f"QEMU {version} is not installed")
    argv = [*ARGV, *command_lines(images)[case]]
    steps = _steps([("query-named-block-nodes", {"flat": True})])
    scenario = parse_scenario({"name": f"blockdev-{case}", "argv": argv, "steps": steps})
    result = asyncio.run(compare_live(scenario, qemu_target(binary), memdevd_target(version)))
    assert result.ok, result.difference or result.error


def test_the_images_are_what_the_sequences_expect(images: Path) -> None:
    """The fixture made the files the sequences name (a missing one would
    make both sides fail alike and prove nothing)."""
    names = {p.name for p in images.iterdir()}
    assert {"disk.raw", "disk.qcow2", "overlay.qcow2", "chain.qcow2", "subdir"} <= names
    assert os.path.getsize(images / "odd.bin") == 1000


def drive_lines(d: Path) -> dict[str, list[str]]:
    """-drive as libvirt, Proxmox and scripts write it, and its errors in
    QEMU's order (start-up failures: exit status and stderr compared, the
    probed-raw warning included)."""
    raw, qcow, overlay = str(d / "disk.raw"), str(d / "disk.qcow2"), str(d / "overlay.qcow2")
    return {
        "none-probed": ["-drive", f"file={raw},if=none,id=d0"],
        "none-formats": [
            "-drive",
            f"file={raw},format=raw,if=none,id=d0,cache=none,aio=native,discard=unmap",
            "-drive",
            f"file={qcow},if=none,id=d1,readonly=on,detect-zeroes=on,cache=writethrough",
            "-drive",
            f"file={overlay},format=qcow2,if=none,id=d2,cache=unsafe,werror=stop,rerror=ignore",
        ],
        "none-auto-ids": ["-drive", f"file={raw},if=none,format=raw", "-drive", "if=none"],
        "none-node-name": [
            "-drive",
            f"file={raw},if=none,format=raw,node-name=fmt,file.node-name=proto,file.locking=off",
        ],
        "empty": ["-drive", "if=none,id=cd0,media=cdrom"],
        "virtio": [
            "-device",
            "pcie-root-port,id=rp1,chassis=1",
            "-drive",
            f"file={qcow},if=virtio,format=qcow2",
            "-drive",
            f"file={raw},if=none,id=d1,format=raw",
            "-device",
            "virtio-blk-pci,drive=d1,id=vd1,bus=rp1",
        ],
        "throttled": [
            "-drive",
            f"file={raw},if=none,id=t0,format=raw,iops=100,bps_rd=5000,iops_max=200,"
            "iops_max_length=10,iops_size=4096,group=g",
            "-drive",
            f"file={qcow},if=none,id=t1,throttling.bps-total=1000,throttling.group=g",
            "-drive",
            f"file={overlay},if=none,id=t2,stats-intervals.0=60,stats-account-failed=off",
        ],
        "bad-media": ["-drive", f"file={raw},if=none,media=tape"],
        "bad-if": ["-drive", f"file={raw},if=usb"],
        "bad-cache": ["-drive", f"file={raw},if=none,cache=fast"],
        "bad-aio": ["-drive", f"file={raw},if=none,aio=posix"],
        "bad-werror": ["-drive", f"file={raw},if=none,werror=retry"],
        "bad-rerror": ["-drive", f"file={raw},if=none,rerror=enospc"],
        "bad-detect-zeroes": ["-drive", f"file={raw},if=none,detect-zeroes=maybe"],
        "unknown-option": ["-drive", f"file={raw},if=none,bogus=1"],
        "unknown-protocol-option": ["-drive", f"file={raw},if=none,format=raw,file.bogus=1"],
        "not-qcow2": ["-drive", f"file={raw},if=none,format=qcow2"],
        "unknown-format": ["-drive", f"file={raw},if=none,format=nope"],
        "missing-file": ["-drive", f"file={d}/missing.img,if=none"],
        "index-and-bus": ["-drive", f"file={raw},if=none,index=1,bus=1"],
        "alias-twice": ["-drive", f"file={raw},if=none,iops=1,throttling.iops-total=2"],
        "throttle-range": ["-drive", f"file={raw},if=none,iops=-1"],
        "throttle-total-and-read": ["-drive", f"file={raw},if=none,bps=1,bps_rd=1"],
        "throttle-burst": ["-drive", f"file={raw},if=none,bps=10,bps_max=5"],
        "throttle-iops-size": ["-drive", f"file={raw},if=none,bps=10,iops_size=512"],
        "werror-floppy": ["-drive", f"file={raw},if=floppy,werror=stop"],
        "driver-and-format": ["-drive", f"file={raw},if=none,format=raw,driver=raw"],
        "duplicate-id": ["-drive", "if=none,id=x", "-drive", "if=none,id=x"],
        "id-is-a-node": [
            "-blockdev",
            "driver=null-co,node-name=n",
            "-drive",
            f"file={raw},if=none,id=n,format=raw",
        ],
        "same-unit": ["-drive", "if=none,unit=1", "-drive", "if=none,unit=1"],
        "orphan-sd": ["-drive", f"file={raw},if=sd,format=raw"],
        "orphan-scsi": ["-drive", f"file={raw},if=scsi,format=raw,index=9"],
        "read-only-copy-on-read": ["-drive", f"file={raw},if=none,readonly=on,copy-on-read=on"],
        "bad-interval": ["-drive", f"file={raw},if=none,format=raw,stats-intervals.0=0"],
        "bad-interval-key": ["-drive", f"file={raw},if=none,stats-intervals.x=1"],
        "pflash-drives": [
            "-drive",
            f"if=pflash,format=raw,file={d}/code.fd,readonly=on",
            "-drive",
            f"if=pflash,format=raw,file={d}/vars.fd",
        ],
        "pflash-machine": [
            "-blockdev",
            f"driver=file,filename={d}/code.fd,node-name=c,read-only=on",
            "-blockdev",
            "driver=raw,file=c,node-name=cf,read-only=on",
            "-blockdev",
            f"driver=file,filename={d}/vars.fd,node-name=v",
            "-blockdev",
            "driver=raw,file=v,node-name=vf",
            "-machine",
            "q35,pflash0=cf,pflash1=vf",
        ],
        "pflash-unknown-node": ["-machine", "q35,pflash0=nope"],
        "pflash-gap": ["-drive", f"if=pflash,format=raw,file={d}/vars.fd,unit=1"],
        "pflash-unit-2": ["-drive", f"if=pflash,format=raw,file={d}/vars.fd,unit=2"],
        "pflash-odd-size": [
            "-blockdev",
            f"driver=file,filename={d}/odd.bin,node-name=c",
            "-machine",
            "q35,pflash0=c",
        ],
        "pflash-too-big": [
            "-pflash",
            f"{d}/big.fd",
            "-drive",
            f"if=pflash,file={d}/big.fd,readonly=on,format=raw",
        ],
        "pflash-clash": [
            "-blockdev",
            f"driver=file,filename={d}/code.fd,node-name=c",
            "-machine",
            "q35,pflash0=c",
            "-drive",
            f"if=pflash,file={d}/vars.fd,format=raw,unit=0",
        ],
        "pflash-shared-with-a-disk": [
            "-blockdev",
            f"driver=file,filename={d}/code.fd,node-name=c",
            "-machine",
            "q35,pflash0=c",
            "-device",
            "virtio-blk-pci,drive=c",
        ],
        # The board's IDE (pc: two buses of two units) and AHCI (q35: six
        # ports of one unit, units_per_default_bus) units.
        "ide-shorthands-q35": ["-hda", qcow, "-cdrom", raw],
        "ide-shorthands-pc": ["-machine", "pc", "-hda", qcow, "-hdb", raw, "-cdrom", raw],
        "ide-index-and-bus": [
            "-drive",
            f"file={qcow},index=3",
            "-drive",
            f"file={raw},media=cdrom,if=ide,bus=1,format=raw",
        ],
        "ide-unit-too-big-q35": ["-drive", f"file={raw},if=ide,unit=1,format=raw"],
        "ide-unit-pc": ["-machine", "pc", "-drive", f"file={raw},if=ide,unit=1,format=raw"],
        "ide-same-unit": ["-hda", qcow, "-drive", f"file={raw},index=0,format=raw"],
        "ide-no-such-bus": ["-drive", f"file={raw},if=ide,bus=7,format=raw"],
        "discard-on": ["-drive", f"file={raw},if=none,format=raw,discard=on"],
        "bad-discard": ["-drive", f"file={raw},if=none,format=raw,discard=sometimes"],
    }


@pytest.mark.parametrize("version", QEMU_VERSIONS)
@pytest.mark.parametrize("case", sorted(drive_lines(Path("/")).keys()))
def test_drive_option_matches_qemu(images: Path, version: str, case: str) -> None:
    binary = qemu_binary(version)
    if binary is None:
        pytest.skip(f"QEMU {version} is not installed")
    argv = [*ARGV, *drive_lines(images)[case]]
    steps = _steps(
        [
            ("query-block", None),
            ("query-named-block-nodes", None),
            ("query-blockstats", None),
            ("query-blockstats", {"query-nodes": True}),
            ("qom-list", {"path": "/machine/system.flash0"}),
            ("qom-get", {"path": "/machine/system.flash0", "property": "drive"}),
            ("qom-get", {"path": "/machine/system.flash1", "property": "num-blocks"}),
        ]
    )
    scenario = parse_scenario({"name": f"drive-{case}", "argv": argv, "steps": steps})
    result = asyncio.run(compare_live(scenario, qemu_target(binary), memdevd_target(version)))
    assert result.ok, result.difference or result.error


def _throttle(**limits: Any) -> tuple[str, dict[str, Any]]:
    args = {"bps": 0, "bps_rd": 0, "bps_wr": 0, "iops": 0, "iops_rd": 0, "iops_wr": 0}
    args.update(limits)
    return ("block_set_io_throttle", args)


def test_throttling_sequence_matches_qemu_both_releases(images: Path) -> None:
    """block_set_io_throttle: lookups, every throttle_is_valid check,
    enabling, group changes and disabling, as query-block shows them."""
    raw, qcow = str(images / "disk.raw"), str(images / "disk.qcow2")
    argv = [
        *ARGV,
        "-drive",
        f"file={raw},if=none,id=r,format=raw",
        "-drive",
        f"file={qcow},if=none,id=q,iops=5",
        "-drive",
        "if=none,id=empty",
        "-blockdev",
        "driver=null-co,node-name=n0",
        "-device",
        "virtio-blk-pci,drive=n0,id=vb",
    ]
    commands = [
        _throttle(device="nope"),
        _throttle(),
        _throttle(device="r", id="vb"),
        _throttle(device="empty", bps=1),
        _throttle(id="nodev", bps=1),
        _throttle(id="vb", bps=1000),
        _throttle(id="/machine/peripheral/vb/virtio-backend", iops=10, group="g1"),
        _throttle(device="r", bps=10, bps_rd=10),
        _throttle(device="r", bps=10, iops_size=5),
        _throttle(device="r", bps=10, bps_max=5),
        _throttle(device="r", bps=10, bps_max=50, bps_max_length=0),
        _throttle(device="r", bps=10, bps_max_length=3),
        _throttle(device="r", bps=1 << 60),
        _throttle(device="r", bps=10, iops=3, bps_max=50, bps_max_length=3, iops_size=4096),
        ("query-block", None),
        _throttle(device="r", iops=7, group="g1"),
        ("query-block", None),
        _throttle(device="q"),
        _throttle(device="r", iops_rd=1, group="g2"),
        ("query-block", None),
        ("query-blockstats", None),
    ]
    for version in QEMU_VERSIONS:
        binary = qemu_binary(version)
        if binary is None:
            continue
        scenario = parse_scenario(
            {"name": "block-throttling", "argv": argv, "steps": _steps(commands)}
        )
        result = asyncio.run(compare_live(scenario, qemu_target(binary), memdevd_target(version)))
        assert result.ok, (version, result.difference or result.error)
