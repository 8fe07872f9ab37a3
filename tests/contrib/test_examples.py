"""The runnable examples in contrib/ work against memdevd over a real socket."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml
from qemu.qmp import QMPClient

from memdevd.testing import MemdevdProcess

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def vm(tmp_path: Path) -> AsyncIterator[tuple[str, QMPClient]]:
    sock = str(tmp_path / "qmp.sock")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "memdevd",
            "-machine",
            "pc",
            "-m",
            "1G,maxmem=9G",
            "-memdevd",
            "guest=cooperative,vmem-rate=512M/0.05",
            "-qmp",
            f"unix:{sock},server=on,wait=off",
        ],
        cwd=ROOT,
        stderr=subprocess.PIPE,
    )
    qmp = QMPClient("test")
    for _ in range(100):
        if os.path.exists(sock):
            break
        await asyncio.sleep(0.05)
    await qmp.connect(sock)
    try:
        yield sock, qmp
    finally:
        await qmp.disconnect()
        proc.terminate()
        proc.wait(10)


async def test_virtio_mem_resize_example(vm: tuple[str, QMPClient]) -> None:
    sock, qmp = vm
    await qmp.execute("object-add", {"qom-type": "memory-backend-ram", "id": "m0", "size": 4 << 30})
    await qmp.execute("device_add", {"driver": "virtio-mem-pci", "id": "vm0", "memdev": "m0"})
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "contrib" / "virtio_mem_resize.py"),
        sock,
        "vm0",
        "3G",
        "--timeout",
        "20",
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0, out
    lines = out.decode().splitlines()
    assert lines[-1] == "vm0: resized to 3221225472"
    # MEMORY_DEVICE_SIZE_CHANGE reported intermediate sizes on the way.
    assert any(line.startswith("vm0: size ") for line in lines)
    devices = await qmp.execute("query-memory-devices")
    assert devices[0]["data"]["size"] == 3 << 30


async def test_virtio_mem_resize_times_out_on_a_paused_vm(vm: tuple[str, QMPClient]) -> None:
    sock, qmp = vm
    await qmp.execute("object-add", {"qom-type": "memory-backend-ram", "id": "m0", "size": 4 << 30})
    await qmp.execute("device_add", {"driver": "virtio-mem-pci", "id": "vm0", "memdev": "m0"})
    await qmp.execute("stop")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "contrib" / "virtio_mem_resize.py"),
        sock,
        "vm0",
        "1G",
        "--timeout",
        "1",
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    assert proc.returncode == 1
    assert b"timed out: vm0 has 0 of 1073741824 bytes" in err


# --- libvirt-style DIMM hot-plug with rollback, Proxmox-style unplug polling ---------


def run_example(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "contrib" / script), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def backends(vm: MemdevdProcess) -> list[str]:
    return sorted(m["id"] for m in vm.cmd("query-memdev"))


def dimms(vm: MemdevdProcess) -> list[str]:
    return [d["data"]["id"] for d in vm.cmd("query-memory-devices")]


DIMM_MACHINE = ("-machine", "pc", "-m", "1G,slots=1,maxmem=9G")


def test_dimm_attach_rolls_back_the_backend_on_failure() -> None:
    with MemdevdProcess(*DIMM_MACHINE) as vm:
        ok = run_example("dimm_hotplug.py", vm.socket, "attach", "dimm0", "1G")
        assert ok.returncode == 0 and ok.stdout == "attached dimm0\n"
        # The only slot is taken: QEMU's error, and no backend left behind.
        failed = run_example("dimm_hotplug.py", vm.socket, "attach", "dimm1", "1G")
        assert failed.returncode == 1
        assert failed.stderr == "error: no free slots available\n"
        assert backends(vm) == ["memdimm0", "pc.ram"]
        assert dimms(vm) == ["dimm0"]


def test_dimm_attach_rollback_after_an_injected_fault() -> None:
    with MemdevdProcess(*DIMM_MACHINE) as vm:
        vm.inject_fault("device_add", desc="Memory hotplug is not enabled")
        failed = run_example("dimm_hotplug.py", vm.socket, "attach", "dimm0", "1G")
        assert failed.returncode == 1
        assert failed.stderr == "error: Memory hotplug is not enabled\n"
        assert backends(vm) == ["pc.ram"]


@pytest.mark.parametrize(
    ("guest", "status", "message"),
    [
        ("cooperative", 0, "detached dimm0\n"),
        ("refuse", 1, "error: unplug of dimm0 was rejected by the guest\n"),
        ("none", 2, "unplug of dimm0 was requested but the guest did not finish it\n"),
    ],
)
def test_dimm_detach_waits_for_the_guest(guest: str, status: int, message: str) -> None:
    with MemdevdProcess(*DIMM_MACHINE, guest=guest) as vm:
        assert run_example("dimm_hotplug.py", vm.socket, "attach", "dimm0", "1G").returncode == 0
        done = run_example("dimm_hotplug.py", vm.socket, "detach", "dimm0", "--timeout", "1")
        assert done.returncode == status
        assert (done.stdout + done.stderr) == message
        assert dimms(vm) == ([] if status == 0 else ["dimm0"])
        assert ("memdimm0" in backends(vm)) == (status != 0)


def plug_proxmox_dimms(vm: MemdevdProcess, count: int) -> list[str]:
    ids = []
    for i in range(count):
        vm.cmd(
            "object-add",
            {"qom-type": "memory-backend-ram", "id": f"mem-dimm{i}", "size": 512 << 20},
        )
        vm.cmd("device_add", {"driver": "pc-dimm", "id": f"dimm{i}", "memdev": f"mem-dimm{i}"})
        ids.append(f"dimm{i}")
    return ids


def test_proxmox_unplug_polling_succeeds_when_the_guest_acts() -> None:
    # The guest acts on the 3rd command after each request: the 2nd poll.
    with MemdevdProcess("-machine", "pc", "-m", "1G,slots=4,maxmem=9G", guest="polls:3") as vm:
        ids = plug_proxmox_dimms(vm, 2)
        done = run_example(
            "proxmox_dimm_unplug.py", vm.socket, *reversed(ids), "--interval", "0.01"
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout == "unplugged dimm1\nunplugged dimm0\n"
        assert dimms(vm) == [] and backends(vm) == ["pc.ram"]


def test_proxmox_unplug_polling_gives_up() -> None:
    with MemdevdProcess("-machine", "pc", "-m", "1G,slots=4,maxmem=9G", guest="refuse") as vm:
        ids = plug_proxmox_dimms(vm, 2)
        done = run_example(
            "proxmox_dimm_unplug.py",
            vm.socket,
            *reversed(ids),
            "--retries",
            "3",
            "--interval",
            "0.01",
        )
        assert done.returncode == 1
        assert done.stderr == "error unplug memory module dimm1\n"
        assert dimms(vm) == ["dimm0", "dimm1"]


# --- the systemd unit and the compose file, checked statically -----------------------


def test_systemd_unit_verifies() -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not installed")
    unit = ROOT / "contrib" / "memdevd.service"
    result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    exec_start = next(
        line for line in unit.read_text().splitlines() if line.startswith("ExecStart=")
    )
    argv = exec_start.removeprefix("ExecStart=/usr/bin/env ").split()
    assert argv[0] == "memdevd"
    check_memdevd_argv(argv[1:], {"${RUNTIME_DIRECTORY}": "/run/memdevd"})


def check_memdevd_argv(argv: list[str], substitutions: dict[str, str]) -> None:
    """The argv parses as a memdevd command line and builds its machine."""
    from memdevd.app import cli
    from memdevd.app.startup import build_machine
    from memdevd.releases.table import get_release

    text = list(argv)
    for old, new in substitutions.items():
        text = [a.replace(old, new) for a in text]
    parsed = cli.parse(text, "memdevd")
    build_machine(parsed.request, get_release(parsed.settings.version), parsed.settings)
    assert [addr.describe() for addr in parsed.listen] == ["unix:/run/memdevd/qmp.sock"]


def test_compose_file() -> None:
    compose = yaml.safe_load((ROOT / "contrib" / "compose.yaml").read_text())
    service = compose["services"]["memdevd"]
    assert service["build"]["dockerfile"] == "Dockerfile"
    context = (ROOT / "contrib" / service["build"]["context"]).resolve()
    assert context == ROOT and (context / "Dockerfile").exists()
    check_memdevd_argv(service["command"], {})
    assert "qmp:/run/memdevd" in service["volumes"]
    assert "qmp:/run/memdevd" in compose["services"]["manager"]["volumes"]
    assert "qmp" in compose["volumes"]


def test_fleet_compose_file() -> None:
    from memdevd.app import cli, fleet

    compose = yaml.safe_load((ROOT / "contrib" / "fleet-compose.yaml").read_text())
    shards = compose["services"]
    assert len(shards) >= 2
    for name, shard in shards.items():
        assert shard["command"][0] == "fleet"
        args = fleet.parse_args(shard["command"][1:])
        vms = fleet.initial_vms(args)
        assert len(vms) == int(shard["command"][shard["command"].index("--count") + 1])
        # Every VM's argv is a valid memdevd command line.
        cli.parse(vms[0][1], "memdevd")
        assert f"{name}:{args.dir}" in shard["volumes"]


def test_fleet_kubernetes_manifest(tmp_path: Path) -> None:
    """contrib/fleet-k8s.yaml: the shard's arguments start a valid fleet,
    both containers share its socket directory, the readiness probe waits
    for the control socket, and the example client, run against a real
    fleet in that layout, lists its VMs."""
    from memdevd.app import cli, fleet

    docs = list(yaml.safe_load_all((ROOT / "contrib" / "fleet-k8s.yaml").read_text()))
    [sts] = [d for d in docs if d["kind"] == "StatefulSet"]
    pod = sts["spec"]["template"]["spec"]
    containers = {c["name"]: c for c in pod["containers"]}
    shard, client = containers["fleet"], containers["tests"]
    assert shard["args"][0] == "fleet"
    args = fleet.parse_args(shard["args"][1:])
    vms = fleet.initial_vms(args)
    assert len(vms) == int(shard["args"][shard["args"].index("--count") + 1])
    cli.parse(vms[0][1], "memdevd")
    [volume] = pod["volumes"]
    assert "emptyDir" in volume
    for c in (shard, client):
        assert {"name": volume["name"], "mountPath": args.dir} in c["volumeMounts"]
    probe = shard["readinessProbe"]["exec"]["command"]
    assert probe == ["test", "-S", f"{args.dir}/fleet.sock"]

    # The example client against a fleet laid out the same way (3 VMs).
    directory = tmp_path / "fleet"
    directory.mkdir()
    argv = [a.replace(args.dir, str(directory)) for a in shard["args"]]
    argv[argv.index("--count") + 1] = "3"
    proc = subprocess.Popen(
        [sys.executable, "-m", "memdevd", *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        script = client["args"][0].replace(args.dir, str(directory))
        script = script.replace("time.sleep(10**9)", "pass")
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "3 VMs"
    finally:
        proc.terminate()
        proc.wait(30)
