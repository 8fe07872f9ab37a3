"""``memdevd-qemu-system-x86_64`` as libvirt runs it, without libvirt.

The two ways libvirt 9.0 executes its emulator, replayed here with libvirt's
own argv: the capability probe (``-daemonize`` returns only once the socket
listens and the pidfile is written; ``query-kvm`` agrees with whether this
process can open /dev/kvm, as libvirt checks) and the domain process (the
monitor is an already listening socket passed as ``fd=N``, accepted again
after the client goes away as when libvirtd restarts; ``query-chardev``
names the socket's path; SIGTERM gives SHUTDOWN ``host-signal``, a
time-stamped line on stderr with ``-msg timestamp=on`` and exit 0; a bad
option is reported on stderr before any greeting).  The entry point's
guest is cooperative: it ejects DIMMs, acknowledges the balloon and plugs
virtio-mem blocks, unless ``-memdevd guest=none`` says otherwise.

The full libvirt round trip is tests/libvirt/.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from protocol_harness import (
    REPLY_TIMEOUT,
    START_TIMEOUT,
    RawQMP,
    kill_quietly,
    mask_event,
    wait_gone,
)

ENTRY = [sys.executable, "-m", "memdevd.app.libvirt_emulator"]
GiB = 1 << 30

# The domain command line of libvirt 9.0 for a 1 GiB i440fx domain with ACPI
# (argv of "virsh start"), minus the monitor, which each test adds.
DOMAIN_ARGV = [
    "-name",
    "guest=memtest,debug-threads=on",
    "-S",
    "-machine",
    "pc,usb=off,dump-guest-core=off",
    "-accel",
    "tcg",
    "-cpu",
    "qemu64",
    "-m",
    "size=1048576k,slots=16,maxmem=16777216k",
    "-overcommit",
    "mem-lock=off",
    "-smp",
    "1,sockets=1,cores=1,threads=1",
    "-object",
    '{"qom-type":"memory-backend-ram","id":"ram-node0","size":1073741824}',
    "-numa",
    "node,nodeid=0,cpus=0,memdev=ram-node0",
    "-uuid",
    "d6801580-7244-4ae3-b026-ceb7b27a0838",
    "-display",
    "none",
    "-no-user-config",
    "-nodefaults",
    "-rtc",
    "base=utc",
    "-no-shutdown",
    "-boot",
    "strict=on",
    "-device",
    '{"driver":"piix3-usb-uhci","id":"usb","bus":"pci.0","addr":"0x1.0x2"}',
    "-audiodev",
    '{"id":"audio1","driver":"none"}',
    "-device",
    '{"driver":"virtio-balloon-pci","id":"balloon0","bus":"pci.0","addr":"0x2"}',
    "-sandbox",
    "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
    "-msg",
    "timestamp=on",
]


async def run_entry(workdir: Path, argv: list[str], **kwargs: Any) -> asyncio.subprocess.Process:
    with open(workdir / "stderr", "wb") as err:
        return await asyncio.create_subprocess_exec(
            *ENTRY,
            *argv,
            cwd=workdir,
            stdin=asyncio.subprocess.DEVNULL,
            # libvirt gives QEMU its domain log as both stdout and stderr.
            stdout=err,
            stderr=err,
            **kwargs,
        )


# -- the capability probe ---------------------------------------------------------


async def test_capability_probe_argv(workdir: Path) -> None:
    """libvirt's probe command line: exit 0 only once listening, pidfile written."""
    qmpdir = workdir / "qmp-XYZ"
    qmpdir.mkdir()
    sock, pidfile = qmpdir / "qmp.monitor", qmpdir / "qmp.pid"
    argv = [
        "-S",
        "-no-user-config",
        "-nodefaults",
        "-nographic",
        "-machine",
        "none,accel=kvm:tcg",
        "-qmp",
        f"unix:{sock},server=on,wait=off",
        "-pidfile",
        str(pidfile),
        "-daemonize",
    ]
    proc = await run_entry(workdir, argv)
    assert await asyncio.wait_for(proc.wait(), START_TIMEOUT) == 0
    pid = int(pidfile.read_text())
    try:
        client = await RawQMP.connect(sock)
        await client.negotiate()
        version = await client.ok("query-version")
        assert (version["qemu"]["major"], version["qemu"]["minor"]) >= (4, 2)
        kvm = os.access("/dev/kvm", os.R_OK | os.W_OK)
        assert await client.ok("query-kvm") == {"enabled": kvm, "present": True}
        types = {t["name"] for t in await client.ok("qom-list-types")}
        assert {"pc-dimm", "nvdimm", "virtio-mem-pci", "virtio-pmem-pci"} <= types
        assert {"memory-backend-ram", "memory-backend-file", "memory-backend-memfd"} <= types
    finally:
        # libvirt kills the probe with SIGKILL.
        kill_quietly(pid)
        await wait_gone(pid)


# -- the domain process ---------------------------------------------------------------


@asynccontextmanager
async def domain(
    workdir: Path, *extra: str
) -> AsyncIterator[tuple[asyncio.subprocess.Process, Path]]:
    """The domain process with its monitor on an inherited listening socket, as libvirt does."""
    path = workdir / "monitor.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)
    fd = listener.fileno()
    argv = [
        *DOMAIN_ARGV,
        "-chardev",
        f"socket,id=charmonitor,fd={fd},server=on,wait=off",
        "-mon",
        "chardev=charmonitor,id=monitor,mode=control",
        *extra,
    ]
    proc = await run_entry(workdir, argv, pass_fds=(fd,))
    # The child has its copy; libvirt closes its own too.
    listener.close()
    try:
        yield proc, path
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def connect(path: Path) -> RawQMP:
    client = await RawQMP.connect(path)
    await client.negotiate()
    return client


async def test_domain_monitor_fd_reconnect_and_sigterm(workdir: Path) -> None:
    async with domain(workdir) as (proc, path):
        client = await connect(path)
        chardevs = await client.ok("query-chardev")
        assert chardevs == [
            {"frontend-open": True, "filename": f"unix:{path},server=on", "label": "charmonitor"}
        ]
        await client.ok(
            "migrate-set-capabilities", {"capabilities": [{"capability": "events", "state": True}]}
        )
        assert await client.ok("query-status") == {"status": "prelaunch", "running": False}
        await client.close()
        # libvirtd restarted: a new connection on the same listening socket.
        client = await connect(path)
        assert await client.ok("query-jobs") == []
        assert await client.ok("query-status") == {"status": "prelaunch", "running": False}
        proc.send_signal(signal.SIGTERM)
        assert mask_event(await client.recv()) == {
            "event": "SHUTDOWN",
            "data": {"guest": False, "reason": "host-signal"},
        }
        assert await asyncio.wait_for(proc.wait(), REPLY_TIMEOUT) == 0
    stderr = (workdir / "stderr").read_text()
    # -msg timestamp=on: "2026-11-25T15:21:17.865640Z qemu-system-x86_64: ..."
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z \S+: "
        r"terminating on signal 15 from pid \d+ \(.*\)\n",
        stderr,
    ), stderr


async def test_disconnected_chardev_filename(workdir: Path) -> None:
    """QEMU renames a socket chardev "disconnected:..." while no client is there."""
    async with domain(workdir, "-qmp", f"unix:{workdir}/second.sock,server=on,wait=off") as (
        _,
        path,
    ):
        client = await connect(workdir / "second.sock")
        chardevs = {c["label"]: c["filename"] for c in await client.ok("query-chardev")}
        assert chardevs == {
            "charmonitor": f"disconnected:unix:{path},server=on",
            "compat_monitor0": f"unix:{workdir}/second.sock,server=on",
        }


async def test_bad_option_is_reported_before_any_greeting(workdir: Path) -> None:
    async with domain(workdir, "-device", '{"driver":"pc-dimm"}') as (proc, _):
        assert await asyncio.wait_for(proc.wait(), START_TIMEOUT) == 1
    stderr = (workdir / "stderr").read_text()
    assert re.fullmatch(
        r"\S+Z \S+: -device \{\"driver\":\"pc-dimm\"\}: 'memdev' property must be set\n", stderr
    ), stderr


# -- the cooperative guest -------------------------------------------------------------


async def test_guest_ejects_dimm_acknowledges_balloon_and_plugs_virtio_mem(workdir: Path) -> None:
    async with domain(workdir) as (_, path):
        client = await connect(path)
        await client.ok("balloon", {"value": GiB})
        await client.ok("cont")
        await client.ok(
            "object-add", {"qom-type": "memory-backend-ram", "id": "memdimm0", "size": GiB // 2}
        )
        await client.ok(
            "device_add",
            {"driver": "pc-dimm", "node": 0, "memdev": "memdimm0", "id": "dimm0", "slot": 0},
        )
        assert await client.ok("query-balloon") == {"actual": GiB + GiB // 2}
        await client.ok("balloon", {"value": GiB})
        change = await client.event("BALLOON_CHANGE")
        assert change["data"] == {"actual": GiB}
        assert await client.ok("query-balloon") == {"actual": GiB}

        await client.ok(
            "object-add",
            {
                "qom-type": "memory-backend-ram",
                "id": "memvirtiomem0",
                "reserve": False,
                "size": GiB,
            },
        )
        await client.ok(
            "device_add",
            {
                "driver": "virtio-mem-pci",
                "node": 0,
                "block-size": 2097152,
                "requested-size": 268435456,
                "memdev": "memvirtiomem0",
                "id": "virtiomem0",
                "bus": "pci.0",
                "addr": "0x3",
            },
        )
        size = await client.event("MEMORY_DEVICE_SIZE_CHANGE")
        assert size["data"] == {
            "id": "virtiomem0",
            "size": 268435456,
            "qom-path": "/machine/peripheral/virtiomem0",
        }

        await client.ok("device_del", {"id": "dimm0"})
        deleted = await client.event("DEVICE_DELETED")
        assert deleted["data"] == {"device": "dimm0", "path": "/machine/peripheral/dimm0"}
        await client.ok("object-del", {"id": "memdimm0"})


async def test_guest_none_overrides_the_default(workdir: Path) -> None:
    async with domain(workdir, "-memdevd", "guest=none") as (_, path):
        client = await connect(path)
        await client.ok("cont")
        await client.ok(
            "object-add", {"qom-type": "memory-backend-ram", "id": "m", "size": GiB // 2}
        )
        await client.ok("device_add", {"driver": "pc-dimm", "memdev": "m", "id": "dimm0"})
        await client.ok("device_del", {"id": "dimm0"})
        await client.nothing_arrives()
        listing = {p["name"] for p in await client.ok("qom-list", {"path": "/machine/peripheral"})}
        assert "dimm0" in listing


async def test_no_shutdown_stops_instead_of_exiting(workdir: Path) -> None:
    """libvirt passes -no-shutdown: a guest power-off pauses the VM; libvirt then kills it."""
    async with domain(workdir) as (proc, path):
        client = await connect(path)
        await client.ok("cont")
        await client.ok("system_powerdown")
        assert (await client.event("SHUTDOWN"))["data"] == {
            "guest": True,
            "reason": "guest-shutdown",
        }
        await client.event("STOP")
        assert await client.ok("query-status") == {"status": "shutdown", "running": False}
        reply = await client.execute("cont")
        assert reply["error"] == {
            "class": "GenericError",
            "desc": "Resetting the Virtual Machine is required",
        }
        await client.ok("system_reset")
        assert await client.ok("query-status") == {"status": "prelaunch", "running": False}
        assert proc.returncode is None


async def test_second_sigterm_is_not_reported_again(workdir: Path) -> None:
    """libvirt may send SIGTERM twice; QEMU reports the first and exits once."""
    async with domain(workdir) as (proc, path):
        client = await connect(path)
        proc.send_signal(signal.SIGTERM)
        proc.send_signal(signal.SIGTERM)
        assert mask_event(await client.recv())["event"] == "SHUTDOWN"
        assert await client.read_to_eof() == b""
        assert await asyncio.wait_for(proc.wait(), REPLY_TIMEOUT) == 0
    assert (workdir / "stderr").read_text().count("terminating on signal 15") == 1


async def test_serial_console_on_a_pty(workdir: Path) -> None:
    """A domain's <serial type='pty'>: memdevd opens a pty, says where, lists it open."""
    serial = [
        "-chardev",
        "pty,id=charserial0",
        "-device",
        '{"driver":"isa-serial","chardev":"charserial0","id":"serial0","index":0}',
    ]
    async with domain(workdir, *serial) as (_, path):
        client = await connect(path)
        chardevs = {c["label"]: c for c in await client.ok("query-chardev")}
        pty = chardevs["charserial0"]
        assert pty["frontend-open"] is True
        assert pty["filename"].startswith("pty:/dev/pts/")
        assert os.path.exists(pty["filename"][4:])
        stderr = (workdir / "stderr").read_text()
        # QEMU prints this on stdout (qemu_printf), without its name or a
        # timestamp; libvirt's log has both streams.
        assert f"char device redirected to {pty['filename'][4:]} (label charserial0)\n" in stderr
        listing = {
            p["name"]: p["type"]
            for p in await client.ok("qom-list", {"path": "/machine/peripheral"})
        }
        assert listing["serial0"] == "child<isa-serial>"


async def test_pty_survives_reset(workdir: Path) -> None:
    """x-memdevd-reset rebuilds the machine but keeps the pty libvirt knows."""
    serial = [
        "-chardev",
        "pty,id=charserial0",
        "-device",
        "isa-serial,id=serial0,chardev=charserial0",
    ]
    async with domain(workdir, *serial) as (proc, path):
        client = await connect(path)
        before = await client.ok("query-chardev")
        fds = len(os.listdir(f"/proc/{proc.pid}/fd"))
        await client.ok("x-memdevd-reset")
        assert await client.ok("query-chardev") == before
        assert len(os.listdir(f"/proc/{proc.pid}/fd")) == fds
