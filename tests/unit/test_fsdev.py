"""-fsdev, -virtfs and the 9p device's realize (machine/fsdev.py, app/cli.py).

QEMU's checks in QEMU's order, pinned here; the same command lines against
the real binaries are in tests/conformance/test_fsdev_live.py.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from memdevd.app import cli
from memdevd.machine.errors import CoreError
from memdevd.machine.fsdev import FsDev, fsdev_add, realize_9p
from memdevd.releases.table import get_release
from memdevd.testing import MemdevdError, MemdevdProcess

PROG = "qemu-system-x86_64"


def add_error(fsdev_id: str | None, opts: list[tuple[str, str]], version: str = "10.0") -> str:
    with pytest.raises(CoreError) as exc:
        fsdev_add({}, fsdev_id, opts, get_release(version))
    return exc.value.desc + (f"\n{exc.value.hint}" if exc.value.hint else "")


def test_fsdev_add_checks_in_qemus_order(tmp_path: Path) -> None:
    assert add_error(None, [("fsdriver", "local")]) == "fsdev: No id specified"
    assert add_error("f", []) == "fsdev: No fsdriver specified"
    assert add_error("f", [("fsdriver", "proxy")]) == "fsdev: fsdriver proxy not found"
    assert add_error("f", [("fsdriver", "proxy")], "7.2") == (
        "both socket and sock_fd properties are missing"
    )
    assert add_error("f", [("fsdriver", "local"), ("socket", "x"), ("path", "/")]) == (
        "'socket' is invalid for fsdriver 'local'"
    )
    assert add_error("f", [("fsdriver", "local")]).startswith(
        "security_model property not set\nValid options are: security_model="
    )
    local = [("fsdriver", "local"), ("security_model", "none")]
    assert add_error("f", local) == "path property not set"
    assert add_error("f", [*local, ("path", "/"), ("multidevs", "x")]).startswith(
        "invalid multidevs property 'x'\n"
    )
    assert add_error("f", [*local, ("path", "/"), ("dmode", "0700")]) == (
        "dmode is only valid for mapped security modes"
    )
    throttled = [("throttling.bps-total", "1"), ("throttling.bps-read", "1")]
    assert add_error("f", [*local, ("path", "/"), *throttled]).startswith(
        "invalid throttle configuration: bps/iops/max total values and read/write values"
    )
    fsdevs: dict[str, FsDev] = {}
    fsdev_add(fsdevs, "f", [*local, ("path", str(tmp_path))], get_release("10.0"))
    assert fsdevs["f"].path == str(tmp_path) and fsdevs["f"].driver == "local"


def test_9p_realize(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    fsdevs = {
        "ok": FsDev("ok", "local", str(tmp_path)),
        "file": FsDev("file", "local", str(tmp_path / "file")),
        "gone": FsDev("gone", "local", str(tmp_path / "gone")),
        "synth": FsDev("synth", "synth"),
    }

    def error(values: dict[str, str], version: str = "10.0") -> str:
        machine = SimpleNamespace(fsdevs=fsdevs, release=get_release(version))
        with pytest.raises(CoreError) as exc:
            realize_9p(machine, values)  # type: ignore[arg-type]
        return exc.value.desc

    assert error({}) == "9pfs device couldn't find fsdev with the id = NULL"
    assert error({"fsdev": "x"}) == "9pfs device couldn't find fsdev with the id = x"
    assert error({"fsdev": "ok"}) == "fsdev with id ok needs mount_tag arguments"
    assert error({"fsdev": "ok", "mount_tag": "t" * 32}) == (
        f"mount tag '{'t' * 32}' (32 bytes) is longer than maximum (31 bytes)"
    )
    gone = tmp_path / "gone"
    assert error({"fsdev": "gone", "mount_tag": "t"}) == (
        f"cannot initialize fsdev 'gone': failed to open '{gone}': No such file or directory"
    )
    assert error({"fsdev": "gone", "mount_tag": "t"}, "11.1") == (
        f"cannot initialize fsdev 'gone': Could not open '{gone}': No such file or directory"
    )
    assert error({"fsdev": "file", "mount_tag": "t"}).endswith("Not a directory")
    machine = SimpleNamespace(fsdevs=fsdevs, release=get_release("10.0"))
    for fsdev_id in ("ok", "synth"):
        realize_9p(machine, {"fsdev": fsdev_id, "mount_tag": "t"})  # type: ignore[arg-type]


def test_virtfs_usage(capsys: pytest.CaptureFixture[str]) -> None:
    status = cli.main(["-machine", "q35", "-nodefaults", "-virtfs", "local,path=/tmp"], PROG)
    assert status == 1
    assert capsys.readouterr().err == (
        f"{PROG}: -virtfs local,path=/tmp: Usage: -virtfs fsdriver,mount_tag=tag\n"
    )


def test_virtfs_device_as_a_client_sees_it(tmp_path: Path) -> None:
    argv = [
        "-machine",
        "pc",
        "-nodefaults",
        "-virtfs",
        f"local,path={tmp_path},mount_tag=share,security_model=none",
        "-fsdev",
        "synth,id=s",
    ]
    with MemdevdProcess(*argv) as vm:
        backend = "/machine/peripheral-anon/device[0]/virtio-backend"
        assert vm.cmd("qom-get", {"path": backend, "property": "mount_tag"}) == "share"
        assert vm.cmd("qom-get", {"path": backend, "property": "fsdev"}) == "share"
        devices = vm.cmd("query-pci")[0]["devices"]
        assert any(d["id"]["device"] == 0x1009 for d in devices)
        with pytest.raises(MemdevdError) as exc:
            vm.cmd("device_add", {"driver": "virtio-9p-pci", "fsdev": "nosuch", "mount_tag": "t"})
        assert exc.value.desc == "9pfs device couldn't find fsdev with the id = nosuch"
        vm.cmd("device_add", {"driver": "virtio-9p-pci", "fsdev": "s", "mount_tag": "t", "id": "h"})
        assert (
            vm.cmd("qom-get", {"path": "/machine/peripheral/h/virtio-backend", "property": "fsdev"})
            == "s"
        )
