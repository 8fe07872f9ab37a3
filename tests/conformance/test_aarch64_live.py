"""The arm virt machine against live qemu-system-aarch64 (issue 21).

The same command line and QMP commands go to the live binary of each
release and to ``memdevd-qemu-system-aarch64 -memdevd version=V``; the
replies (and start-up errors) must be the same.  Skipped where the binary
is absent, and until the aarch64 recording of the release exists
(memdevd/targets/aarch64/data/qemu-<release>/, tools/record_qemu_data.py).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from live_qemu import (
    TARGET_BINARIES,
    mask_problem,
    qemu_binary,
    qemu_binary_candidate,
    qemu_command,
)

pytestmark = [pytest.mark.live_qemu, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "memdevd" / "targets" / "aarch64" / "data"
MEMDEVD = [sys.executable, "-c", "import sys; from memdevd.app.libvirt_emulator import "
           "main_aarch64; sys.exit(main_aarch64())"]  # fmt: skip
GiB = 1 << 30
#: how long to wait for late events after the last reply (seconds)
SETTLE = 0.5


def _live(version: str, argv: list[str]) -> list[str]:
    """The live binary's command (with the recording's masked module
    directories hidden, as tests/live_qemu.py runs it)."""
    if qemu_binary(version, "aarch64") is None:
        pytest.skip(f"{qemu_binary_candidate(version, 'aarch64')} is absent")
    if not (DATA / f"qemu-{version}").is_dir():
        pytest.skip(f"no aarch64 recording of {version} yet")
    problem = mask_problem(version, "aarch64")
    if problem is not None:
        pytest.skip(problem)
    return qemu_command(version, argv, "aarch64")


def _session(command: list[str], commands: list[dict]) -> tuple[list[dict], str]:
    """Start ``command`` paused with a QMP socket; the replies to ``commands``
    (and the events before each) and stderr, or ([], stderr) when it exits
    at start-up."""
    tmp = tempfile.mkdtemp(prefix="memdevd-arm-")
    path = os.path.join(tmp, "qmp.sock")
    err_path = os.path.join(tmp, "stderr")
    argv = [*command, "-S", "-display", "none", "-qmp", f"unix:{path},server=on,wait=off"]
    with open(err_path, "wb") as err:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        sock = None
        while sock is None:
            if proc.poll() is not None:
                return [], Path(err_path).read_text()
            try:
                sock = socket.socket(socket.AF_UNIX)
                sock.connect(path)
            except OSError:
                sock = None
                assert time.monotonic() < deadline
                time.sleep(0.05)
        f = sock.makefile("rw")
        replies = []
        try:
            if not f.readline():
                raise ConnectionResetError
            for cmd in [{"execute": "qmp_capabilities"}, *commands]:
                f.write(json.dumps(cmd) + "\n")
                f.flush()
                while True:
                    reply = json.loads(f.readline())
                    if "event" not in reply:
                        break
                    # events as they come, without their timestamps
                    replies.append({"event": reply["event"], "data": reply.get("data")})
                replies.append(reply)
            # Events that come late (10.0 sends an unplug's DEVICE_DELETED
            # once RCU finalized the device): whatever arrives in a moment.
            sock.settimeout(SETTLE)
            try:
                while line := f.readline():
                    late = json.loads(line)
                    replies.append({"event": late["event"], "data": late.get("data")})
            except TimeoutError:
                pass
        except (OSError, ValueError):
            # It exited at start-up after its socket was made.
            proc.wait(30)
            return [], Path(err_path).read_text()
        sock.close()
        return replies[1:], Path(err_path).read_text()  # (qmp_capabilities' reply)
    finally:
        proc.kill()
        proc.wait()


def _stderr_lines(text: str) -> list[str]:
    return [line.split(": ", 1)[-1] for line in text.splitlines() if "terminating" not in line]


def _compare(version: str, argv: list[str], commands: list[dict]) -> list[dict]:
    theirs, their_err = _session(_live(version, argv), commands)
    ours, our_err = _session(
        [*MEMDEVD, "-memdevd", f"version={version},guest=none", *argv], commands
    )
    # Replies in order; the events in order among themselves (QEMU may send
    # one a device's finalization emits after the reply that caused it).
    assert _replies(ours) == _replies(theirs), our_err
    assert _events(ours) == _events(theirs)
    assert _stderr_lines(our_err) == _stderr_lines(their_err)
    return _replies(theirs)


def _replies(messages: list[dict]) -> list[dict]:
    return [m for m in messages if "event" not in m]


def _events(messages: list[dict]) -> list[dict]:
    return [m for m in messages if "event" in m]


def _dimm(memdev: str, dev: str, size: int = GiB) -> list[dict]:
    return [
        {"execute": "object-add",
         "arguments": {"qom-type": "memory-backend-ram", "id": memdev, "size": size}},
        {"execute": "device_add", "arguments": {"driver": "pc-dimm", "id": dev, "memdev": memdev}},
    ]  # fmt: skip


QUERIES = [{"execute": "query-memory-size-summary"}, {"execute": "query-memory-devices"}]
VERSIONS = sorted(TARGET_BINARIES["aarch64"])


@pytest.mark.parametrize("version", VERSIONS)
def test_dimm_without_ged(version: str) -> None:
    """No firmware: no acpi-ged, so no DIMM (the issue's first example)."""
    argv = ["-machine", "virt", "-cpu", "max", "-m", "1G,slots=4,maxmem=8G", "-nodefaults"]
    replies = _compare(version, argv, [*QUERIES, *_dimm("m0", "d0"), *QUERIES])
    assert replies[3]["error"]["desc"] == "memory hotplug is not enabled: missing acpi-ged device"


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("machine", ["virt", "virt-7.1", "virt-4.1"])
def test_dimm_with_firmware(version: str, machine: str, tmp_path: Path) -> None:
    firmware = tmp_path / "fw.bin"
    firmware.write_bytes(bytes(65536))
    argv = ["-machine", machine, "-cpu", "max", "-m", "1G,slots=4,maxmem=8G", "-nodefaults",
            "-bios", str(firmware)]  # fmt: skip
    commands = [*_dimm("m0", "d0"), *_dimm("m1", "d1", 2 * GiB), *QUERIES,
                {"execute": "query-acpi-ospm-status"}]  # fmt: skip
    _compare(version, argv, commands)


@pytest.mark.parametrize("version", VERSIONS)
def test_virtio_mem_on_root_port(version: str) -> None:
    argv = ["-machine", "virt", "-cpu", "max", "-m", "1G,slots=4,maxmem=8G", "-nodefaults",
            "-device", "pcie-root-port,id=rp0,chassis=1"]  # fmt: skip
    mem = {"execute": "object-add",
           "arguments": {"qom-type": "memory-backend-ram", "id": "m1", "size": GiB}}  # fmt: skip
    on_root = {"execute": "device_add",
               "arguments": {"driver": "virtio-mem-pci", "id": "vm0", "memdev": "m1"}}  # fmt: skip
    on_port = {"execute": "device_add",
               "arguments": {"driver": "virtio-mem-pci", "id": "vm0", "memdev": "m1",
                             "bus": "rp0", "requested-size": GiB // 2}}  # fmt: skip
    # (Debian's qemu-system-aarch64 has no virtio-pmem-pci)
    pmem = {"execute": "device_add",
            "arguments": {"driver": "virtio-pmem-pci", "id": "pm0", "memdev": "m1"}}  # fmt: skip
    _compare(version, argv, [mem, on_root, on_port, pmem, *QUERIES])


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    "extra",
    [
        ["-cpu", "cortex-a9"],
        ["-cpu", "cortex-a53", "-m", "1G,slots=4,maxmem=2000G"],
        ["-cpu", "cortex-a57", "-m", "1G,slots=4,maxmem=20T"],
        ["-cpu", "max", "-m", "1G,slots=300,maxmem=2G"],
        ["-cpu", "max", "-machine", "highmem=off", "-m", "1G,slots=2,maxmem=3G"],
        ["-m", "1G,slots=4,maxmem=2000G"],  # cortex-a15: 40 bits
        # the GIC: its default per release, its vCPU limits and texts
        ["-cpu", "max", "-smp", "9"],
        ["-cpu", "max", "-smp", "9", "-machine", "gic-version=2"],
        ["-cpu", "max", "-smp", "4", "-machine", "gic-version=4"],
        ["-cpu", "max", "-smp", "4", "-machine", "gic-version=host"],
        ["-cpu", "max", "-smp", "130", "-machine", "gic-version=3,highmem=off"],
        ["-cpu", "max", "-smp", "2,maxcpus=130", "-machine", "gic-version=3,highmem=off"],
        ["-cpu", "max", "-smp", "70", "-machine", "gic-version=4,virtualization=on,highmem=off"],
    ],
)
def test_startup_errors(version: str, extra: list[str]) -> None:
    _compare(version, ["-machine", "virt", "-nodefaults", *extra], QUERIES)


@pytest.mark.parametrize("version", VERSIONS)
def test_native_pcie_unplug(version: str) -> None:
    """Root ports on virt use native PCIe hot-plug: a device hot-added to a
    slot no guest powered on goes at once (DEVICE_DELETED), a cold-plugged
    one waits for the guest (a second request is refused); 7.2 refuses."""
    argv = ["-machine", "virt", "-cpu", "max", "-m", "1G,slots=4,maxmem=8G", "-nodefaults",
            "-device", "pcie-root-port,id=rp0,chassis=1",
            "-device", "pcie-root-port,id=rp1,chassis=2",
            "-object", "memory-backend-ram,id=m3,size=1G",
            "-device", "virtio-mem-pci,id=vm1,memdev=m3,bus=rp0"]  # fmt: skip
    commands = [
        {"execute": "object-add",
         "arguments": {"qom-type": "memory-backend-ram", "id": "m2", "size": GiB}},
        {"execute": "device_add",
         "arguments": {"driver": "virtio-mem-pci", "id": "vm0", "memdev": "m2", "bus": "rp1"}},
        {"execute": "device_del", "arguments": {"id": "vm0"}},
        {"execute": "device_del", "arguments": {"id": "vm1"}},
        {"execute": "device_del", "arguments": {"id": "vm1"}},
        *QUERIES,
    ]  # fmt: skip
    _compare(version, argv, commands)


#: Random start-ups per release (MEMDEVD_LIVE_SWEEP=all: many more).
RANDOM_RUNS = 40 if os.environ.get("MEMDEVD_LIVE_SWEEP") == "all" else 6
_RANDOM_TYPES = {
    "7.2": ["virt", "virt-7.2", "virt-7.1", "virt-6.1", "virt-5.0", "virt-4.1", "virt-2.12"],
    "10.0": ["virt", "virt-9.2", "virt-8.0", "virt-7.1", "virt-6.1", "virt-4.1", "virt-2.12"],
    "11.1": ["virt", "virt-11.0", "virt-10.0", "virt-8.0", "virt-7.1", "virt-6.0", "virt-5.2"],
}
_ACPI_SIZE_WARNING = ("warning: ACPI table size", "Try removing CPUs, NUMA nodes")


def _random_case(version: str, seed: int) -> tuple[list[str], list[dict]]:
    """A start-up and a hot-plug sequence drawn from ``seed``."""
    import random

    from memdevd.releases.table import RELEASES

    rnd = random.Random(seed)
    ram = rnd.choice([128, 512, 1024, 2048, 3072, 5000]) << 20
    slots = rnd.choice([0, 1, 4, 16, 256])
    extra = rnd.choice([0, 1, 8, 100, 250, 500, 1000, 2000, 10000, 16000, 300000, 5000000])
    maxmem = ram + extra * GiB
    if slots and maxmem == ram:
        maxmem += GiB
    mem = f"{ram >> 20}M" + (f",slots={slots},maxmem={maxmem >> 20}M" if maxmem > ram else "")
    release = RELEASES[version]
    options = ["", ",highmem=off", ",acpi=off", ",nvdimm=on", ",gic-version=3"]
    options += [f",{o}=off" for o in sorted(release.virt_highmem_options - {"highmem-mmio-size"})]
    argv = [
        "-machine", rnd.choice(_RANDOM_TYPES[version]) + rnd.choice(options),
        "-cpu", rnd.choice(release.virt_valid_cpus),
        "-m", mem,
        "-smp", rnd.choice(["1", "2", "4,sockets=2", "12", "2,maxcpus=8"]),
        "-nodefaults", *rnd.choice([["-bios", "/dev/null"], []]),
        "-device", "pcie-root-port,id=rp0,chassis=1",
    ]  # fmt: skip
    commands = list(QUERIES)
    if maxmem > ram:
        size = min(GiB, maxmem - ram)
        vmem = {"driver": "virtio-mem-pci", "id": "vm0", "memdev": "m1", "bus": "rp0"}
        commands += [
            *_dimm("m0", "d0", size),
            {"execute": "object-add",
             "arguments": {"qom-type": "memory-backend-ram", "id": "m1", "size": size}},
            {"execute": "device_add", "arguments": vmem},
            {"execute": "device_del", "arguments": {"id": "d0"}},
            *QUERIES,
            {"execute": "query-acpi-ospm-status"},
            {"execute": "human-monitor-command", "arguments": {"command-line": "info numa"}},
            {"execute": "qom-get",
             "arguments": {"path": "/machine/peripheral/rp0", "property": "parent_bus"}},
        ]  # fmt: skip
    return argv, commands


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("seed", range(RANDOM_RUNS))
def test_random_startups(version: str, seed: int) -> None:
    """Random -m/maxmem/slots, CPU models, versioned types, -smp, memory-map
    switches, firmware or not; a DIMM, virtio-mem on a root port, an unplug:
    the same replies, events and start-up errors as live QEMU (but for the
    ACPI table size warning memdevd does not print, docs/divergences.md)."""
    argv, commands = _random_case(version, 1000 * seed + 7)
    theirs, their_err = _session(_live(version, argv), commands)
    ours, our_err = _session(
        [*MEMDEVD, "-memdevd", f"version={version},guest=none", *argv], commands
    )
    assert _replies(ours) == _replies(theirs), (argv, our_err)
    assert _events(ours) == _events(theirs), argv
    expected = [ln for ln in _stderr_lines(their_err) if not ln.startswith(_ACPI_SIZE_WARNING)]
    assert _stderr_lines(our_err) == expected, argv


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("argv", [["-machine", "help"], ["-cpu", "help"]], ids=["machine", "cpu"])
def test_help_like_qemu(version: str, argv: list[str]) -> None:
    """``-machine help`` (every board of the binary, QEMU's order and marks)
    and ``-cpu help``: stdout and exit status as qemu-system-aarch64's."""
    live = _live(version, argv)
    ours = [*MEMDEVD, "-memdevd", f"version={version}", *argv]
    want = subprocess.run(live, capture_output=True, text=True, timeout=60, check=False)
    got = subprocess.run(ours, capture_output=True, text=True, timeout=60, check=False)
    assert (got.returncode, got.stdout) == (want.returncode, want.stdout)
