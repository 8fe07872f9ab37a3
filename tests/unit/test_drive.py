"""-drive without QEMU: start-up errors, the drives a client sees, throttling.

The same cases are compared with real QEMU 7.2 and 10.0 in
tests/conformance/test_block_live.py; here the texts are pinned so the
quick layer catches a regression without a QEMU binary.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from memdevd.app import cli
from memdevd.testing import MemdevdError, MemdevdProcess

PROG = "qemu-system-x86_64"
BASE = ["-machine", "q35", "-nodefaults"]


@pytest.fixture
def raw(tmp_path: Path) -> str:
    path = tmp_path / "disk.raw"
    path.write_bytes(bytes(1 << 20))
    return str(path)


def start_fails(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = cli.main([*BASE, *argv], PROG)
    return status, capsys.readouterr().err


PROBED = (
    "WARNING: Image format was not specified for '{}' and probing guessed raw.\n"
    "         Automatically detecting the format is dangerous for raw images, write"
    " operations on block 0 will be restricted.\n"
    "         Specify the 'raw' format explicitly to remove the restrictions.\n"
)


@pytest.mark.parametrize(
    ("opts", "message"),
    [
        ("if=none,media=tape", "'tape' invalid media"),
        ("if=usb", "unsupported bus type 'usb'"),
        ("if=none,cache=fast", "invalid cache option"),
        ("if=none,aio=posix", "invalid aio option"),
        ("if=none,werror=retry", "'retry' invalid write error action"),
        ("if=none,rerror=enospc", "'enospc' invalid read error action"),
        ("if=none,detect-zeroes=maybe", "invalid parameter value: maybe"),
        ("if=none,index=1,bus=1", "index cannot be used with bus and unit"),
        (
            "if=none,iops=1,throttling.iops-total=2",
            "'throttling.iops-total' and its alias 'iops' can't be used at the same time",
        ),
        ("if=none,iops=-1", "bps/iops/max values must be within [0, 1000000000000000]"),
        (
            "if=none,bps=1,bps_rd=1",
            "bps/iops/max total values and read/write values cannot be used at the same time",
        ),
        ("if=none,bps=10,bps_max=5", "bps_max/iops_max cannot be lower than bps/iops"),
        ("if=floppy,werror=stop", "werror is not supported by this bus type"),
        ("if=none,format=raw,driver=raw", "Cannot specify both 'driver' and 'format'"),
        ("if=none,format=qcow2", "Image is not in qcow2 format"),
        ("if=none,format=nope", "Unknown driver 'nope'"),
        (
            "if=none,format=raw,file.bogus=1",
            "Block protocol 'file' doesn't support the option 'bogus'",
        ),
        ("if=xen,format=raw", "memdevd: -drive if=xen is not emulated"),
        ("if=floppy,format=raw,index=2", "machine type does not support if=floppy,bus=0,unit=2"),
    ],
)
def test_a_bad_drive_fails_start_up_as_qemu_does(
    raw: str, capsys: pytest.CaptureFixture[str], opts: str, message: str
) -> None:
    arg = f"file={raw},{opts}"
    status, err = start_fails(["-drive", arg], capsys)
    assert status == 1
    assert err.endswith(f"{PROG}: -drive {arg}: {message}\n")


def test_a_probed_raw_image_warns_before_the_error_that_follows(
    raw: str, capsys: pytest.CaptureFixture[str]
) -> None:
    arg = f"file={raw},if=none,bogus=1"
    status, err = start_fails(["-drive", arg], capsys)
    assert status == 1
    message = "Block format 'raw' does not support the option 'bogus'"
    assert err == PROBED.format(raw) + f"{PROG}: -drive {arg}: {message}\n"


def test_shorthands_and_orphans_report_at_their_option(
    raw: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, err = start_fails(["-cdrom", "/nonexistent.iso"], capsys)
    assert (status, err) == (
        1,
        f"{PROG}: -cdrom /nonexistent.iso: Could not open '/nonexistent.iso':"
        " No such file or directory\n",
    )
    status, err = start_fails(["-sd", raw], capsys)
    assert status == 1
    assert err == PROBED.format(raw) + (
        f"{PROG}: -sd {raw}: machine type does not support if=sd,bus=0,unit=0\n"
    )


def _throttle(**limits: Any) -> dict[str, Any]:
    args = {"bps": 0, "bps_rd": 0, "bps_wr": 0, "iops": 0, "iops_rd": 0, "iops_wr": 0}
    args.update(limits)
    return args


def test_drives_as_a_client_sees_them(raw: str) -> None:
    """if=none and if=virtio drives in query-block and query-blockstats,
    throttling set and cleared over QMP."""
    argv = [
        *BASE,
        "-drive",
        f"file={raw},if=none,id=d0,format=raw,iops=100,group=grp",
        "-drive",
        f"file={raw},if=virtio,format=raw,readonly=on,cache=none",
        "-drive",
        "if=none,id=cd,media=cdrom",
    ]
    with MemdevdProcess(*argv) as vm:
        blocks = {b["device"]: b for b in vm.cmd("query-block")}
        assert list(blocks) == ["d0", "virtio0", "cd"]
        assert blocks["d0"]["inserted"]["iops"] == 100
        assert blocks["d0"]["inserted"]["group"] == "grp"
        assert "qdev" not in blocks["d0"]
        virtio = blocks["virtio0"]
        assert virtio["qdev"] == "/machine/peripheral-anon/device[0]/virtio-backend"
        assert virtio["inserted"]["ro"] is True
        assert virtio["inserted"]["cache"] == {"writeback": True, "direct": True, "no-flush": False}
        assert "inserted" not in blocks["cd"]
        stats = vm.cmd("query-blockstats")
        assert [s["device"] for s in stats] == ["d0", "virtio0", "cd"]
        assert stats[0]["parent"]["driver-specific"]["driver"] == "file"
        assert all(v == 0 for k, v in stats[0]["stats"].items() if k.endswith("_bytes"))

        with pytest.raises(MemdevdError) as exc:
            vm.cmd("block_set_io_throttle", _throttle(device="cd", iops=1))
        assert exc.value.desc == "Device has no medium"
        with pytest.raises(MemdevdError) as exc:
            vm.cmd("block_set_io_throttle", _throttle(device="nope"))
        assert (exc.value.error_class, exc.value.desc) == (
            "DeviceNotFound",
            "Device 'nope' not found",
        )
        with pytest.raises(MemdevdError) as exc:
            vm.cmd("block_set_io_throttle", _throttle(device="d0", iops=5, iops_max=4))
        assert exc.value.desc == "bps_max/iops_max cannot be lower than bps/iops"

        vm.cmd("block_set_io_throttle", _throttle(id=virtio["qdev"], bps=4096, group="grp"))
        blocks = {b["device"]: b for b in vm.cmd("query-block")}
        # One group, one configuration: the last one set is both drives'.
        assert blocks["d0"]["inserted"]["bps"] == 4096
        assert blocks["d0"]["inserted"]["iops"] == 0
        assert blocks["virtio0"]["inserted"]["group"] == "grp"
        vm.cmd("block_set_io_throttle", _throttle(device="d0"))
        blocks = {b["device"]: b for b in vm.cmd("query-block")}
        assert "group" not in blocks["d0"]["inserted"]
        assert blocks["virtio0"]["inserted"]["bps"] == 4096


def test_a_drive_goes_with_the_virtio_disk_unplugged(raw: str) -> None:
    """blockdev_mark_auto_del: once the guest lets the disk go, its -drive
    leaves query-block and its node is closed; a -blockdev node stays."""
    argv = [
        "-machine",
        "q35",
        "-device",
        "pcie-root-port,id=rp1,chassis=1",
        "-device",
        "pcie-root-port,id=rp2,chassis=2",
        "-drive",
        f"file={raw},if=none,id=d0,format=raw,iops=10",
        "-blockdev",
        "driver=null-co,node-name=n0",
    ]
    with MemdevdProcess(*argv, guest="cooperative") as vm:
        vm.cmd("device_add", {"driver": "virtio-blk-pci", "drive": "d0", "id": "vb", "bus": "rp1"})
        vm.cmd("device_add", {"driver": "virtio-blk-pci", "drive": "n0", "id": "vn", "bus": "rp2"})
        for dev in ("vb", "vn"):
            vm.cmd("device_del", {"id": dev})
        deleted: set[str] = set()
        for _ in range(50):
            deleted |= {
                e["data"].get("device", "")
                for e in vm.events(wait=0.1)
                if e["event"] == "DEVICE_DELETED"
            }
            if {"vb", "vn"} <= deleted:
                break
        assert {"vb", "vn"} <= deleted
        assert vm.cmd("query-block") == []
        nodes = [n["node-name"] for n in vm.cmd("query-named-block-nodes")]
        assert nodes == ["n0"]


def test_a_probed_format_memdevd_does_not_read_is_refused_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = tmp_path / "disk.vhd"
    image.write_bytes(b"conectix" + bytes(1 << 16))
    arg = f"file={image},if=none"
    status, err = start_fails(["-drive", arg], capsys)
    assert (status, err) == (
        1,
        f"{PROG}: -drive {arg}: memdevd: block driver 'vpc' is not emulated\n",
    )


def test_snapshot_puts_a_temporary_overlay_on_each_drive(
    raw: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """-snapshot (snapshot=on on every -drive that does not say): a qcow2
    overlay in $TMPDIR, unlinked once open, on the image opened read-only as
    its backing file (tests/conformance/test_snapshot_live.py compares it)."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    argv = [
        *BASE,
        "-snapshot",
        "-drive",
        f"file={raw},if=none,id=d0,format=raw",
        "-drive",
        f"file={raw},if=none,id=d1,format=raw,snapshot=off,read-only=on",
    ]
    with MemdevdProcess(*argv) as vm:
        blocks = {b["device"]: b["inserted"] for b in vm.cmd("query-block")}
        d0, d1 = blocks["d0"], blocks["d1"]
        assert (d0["drv"], d0["ro"], d0["backing_file"]) == ("qcow2", False, raw)
        assert d0["cache"] == {"writeback": True, "direct": False, "no-flush": True}
        assert d0["image"]["backing-image"]["filename"] == raw
        overlay = json.loads(d0["file"].removeprefix("json:"))["file"]["filename"]
        assert overlay.startswith(f"{tmp}/vl.") and len(overlay) == len(f"{tmp}/vl.") + 6
        # 3 clusters and the L1 table (one entry), rounded up to a sector
        nodes = {n["node-name"]: n for n in vm.cmd("query-named-block-nodes", {"flat": True})}
        assert [n["image"]["virtual-size"] for n in nodes.values() if n["file"] == overlay] == [
            3 * 65536 + 512
        ]
        assert [n["ro"] for n in nodes.values() if n["file"] == raw and n["drv"] == "raw"] == [
            True,
            True,
        ]
        assert (d1["drv"], "backing_file" in d1) == ("raw", False)
        assert list(tmp.iterdir()) == []


def test_snapshot_without_a_temporary_directory(
    raw: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", "/nonexistent")
    status, err = start_fails(["-drive", f"file={raw},if=none,format=raw,snapshot=on"], capsys)
    assert status == 1
    assert re.fullmatch(
        f"{PROG}: -drive file={raw},if=none,format=raw,snapshot=on: Could not open temporary"
        " file '/nonexistent/vl.[A-Za-z0-9]{6}': No such file or directory\n",
        err,
    )
