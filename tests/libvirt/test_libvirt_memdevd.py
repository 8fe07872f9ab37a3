"""libvirt 9.0 driving memdevd as its QEMU, end to end.

Owns the promise of ``memdevd-qemu-system-x86_64``: unmodified libvirt
probes it, starts a domain on it, hot-plugs a DIMM and a virtio-mem
(``virsh attach-device --live``), resizes the virtio-mem
(``virsh update-memory-device --requested-size``: the simulated guest plugs
blocks, libvirt's ``<current>`` follows ``MEMORY_DEVICE_SIZE_CHANGE``),
unplugs the DIMM (``virsh detach-device --live``: the guest ejects it,
``DEVICE_DELETED``, libvirt's ``object-del``), reconnects after a libvirtd
restart and destroys it, leaving nothing behind (the harness checks).  The
live XML after each step shows the addresses and slots QEMU assigns (the
same as in test_libvirt_real_qemu.py).  Error paths: a guest that refuses
the eject (libvirt reports the rejection), a domain without ACPI (QEMU's
refusal of DIMM hot-plug reaches virsh), and a DIMM beyond maxMemory
(libvirt refuses it itself; memdevd's own answer to that is compared with
QEMU in the conformance scenarios).  NVDIMM and virtio-pmem hot-plug run on
a q35 domain that starts with an NVDIMM, as libvirt requires.
"""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from kvm_host import as_user, kvm_accessible, kvm_device_problem
from libvirt_harness import (
    DEBIAN_QEMU_USER,
    PROBE_CAPS,
    LibvirtHarness,
    MemoryDevice,
    VirshError,
    domain_xml,
    expected_probe_sessions,
    memory_devices,
    running_harness,
)

pytestmark = [pytest.mark.libvirt, pytest.mark.slow]

MiB_KIB = 1024
QEMU_NS = "http://libvirt.org/schemas/domain/qemu/1.0"


def with_memdevd_args(xml: str, *args: str) -> str:
    """The domain with ``<qemu:commandline>`` arguments appended to the emulator's argv."""
    ET.register_namespace("qemu", QEMU_NS)
    root = ET.fromstring(xml)
    cmdline = ET.SubElement(root, f"{{{QEMU_NS}}}commandline")
    for arg in args:
        ET.SubElement(cmdline, f"{{{QEMU_NS}}}arg", value=arg)
    return ET.tostring(root, encoding="unicode")


def without_acpi(xml: str) -> str:
    root = ET.fromstring(xml)
    features = root.find("features")
    assert features is not None
    root.remove(features)
    return ET.tostring(root, encoding="unicode")


def devices_by_alias(lv: LibvirtHarness, name: str) -> dict[str, MemoryDevice]:
    return {str(d.alias): d for d in memory_devices(lv.live_xml(name))}


def wait_until(what: str, check: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll libvirt until ``check`` holds (events reach it asynchronously)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def current_kib(lv: LibvirtHarness, name: str, alias: str) -> int | None:
    device = devices_by_alias(lv, name).get(alias)
    if device is None:
        return None
    text = device.element.findtext("target/current")
    return int(text) if text is not None else None


def test_domain_hotplug_resize_unplug_restart_destroy(
    libvirt_harness: LibvirtHarness, emulator: str
) -> None:
    lv = libvirt_harness
    timings = lv.time_domain_start_and_dimm_plug(emulator)
    print(f"\nlibvirt 9.0 + memdevd: {', '.join(f'{k} {v:.3f}' for k, v in timings.items())}")
    probes = [s for s in lv.qmp_sessions() if s.is_probe]
    # One probe session, or two when memdevd (kvm=auto) finds KVM working
    # for the emulator's user (libvirt then asks again with accel=tcg); never
    # repeated (start, attach and destroy found the cache valid) where
    # libvirt's own /dev/kvm check agrees, as with QEMU.  Session 1 has 51
    # commands against QEMU 7.2; one device-list-properties fewer with the
    # 10.0 data, recorded without the spice modules that provide qxl
    # (memdevd/targets/x86_64/data/README.md).
    counts = [len(s.commands()) for s in probes]
    assert counts[0] in (50, 51), counts
    kvm_reported = kvm_device_problem(lv.qemu_user, caps=PROBE_CAPS) is None
    assert counts == expected_probe_sessions(
        counts[0],
        kvm_reported=kvm_reported,
        kvm_accessible=kvm_accessible(lv.qemu_user),
        probes=counts.count(counts[0]),
    )
    for session in probes:
        for index, (command, _) in enumerate(session.commands()):
            reply = session.reply_to(index) or {}
            if "error" in reply:
                # The only errors libvirt expects in a probe.
                assert command in (
                    "device-list-properties",
                    "query-sev-capabilities",
                    "query-sgx-capabilities",
                ), (command, reply)

    lv.define(domain_xml(emulator))
    mark = lv.log_mark()
    lv.start_domain("memtest")
    assert lv.domain_state("memtest") == "running"
    (emulator_pid,) = lv.stray_pids()
    (start,) = lv.qmp_sessions(mark)
    commands = [c for c, _ in start.commands()]
    assert commands[:3] == [
        "qmp_capabilities",
        "query-migrate-capabilities",
        "migrate-set-capabilities",
    ]
    assert commands[-1] == "cont"
    for index in range(len(commands)):
        assert "error" not in (start.reply_to(index) or {}), (
            commands[index],
            start.reply_to(index),
        )

    # DIMM: the address and slot QEMU assigns.
    mark = lv.log_mark()
    lv.attach_device("memtest", lv.memory_device_xml("dimm"))
    dimm = devices_by_alias(lv, "memtest")["dimm0"]
    assert dimm.address == {"type": "dimm", "slot": "0", "base": "0x100000000"}
    live = lv.live_xml("memtest")
    assert live.findtext("currentMemory") == str((1024 + 512) * MiB_KIB)

    # virtio-mem: the guest plugs the requested 256 MiB.
    lv.attach_device("memtest", lv.memory_device_xml("virtio-mem"))
    virtio_mem = devices_by_alias(lv, "memtest")["virtiomem0"]
    assert virtio_mem.model == "virtio-mem"
    assert virtio_mem.address["type"] == "pci"
    wait_until(
        "<current> 256 MiB", lambda: current_kib(lv, "memtest", "virtiomem0") == 256 * MiB_KIB
    )

    lv.virsh(
        "update-memory-device",
        "memtest",
        "--alias",
        "virtiomem0",
        "--requested-size",
        "512MiB",
        "--live",
    )
    requested = devices_by_alias(lv, "memtest")["virtiomem0"].element.findtext("target/requested")
    assert requested == str(512 * MiB_KIB)
    wait_until(
        "<current> 512 MiB", lambda: current_kib(lv, "memtest", "virtiomem0") == 512 * MiB_KIB
    )

    # DIMM unplug: the guest ejects, libvirt deletes the backend.
    mark = lv.log_mark()
    out = lv.detach_device("memtest", lv.memory_device_xml("dimm"))
    assert "Device detached successfully" in out
    assert "dimm0" not in devices_by_alias(lv, "memtest")
    sent = lv.qmp_commands(mark)
    assert ("device_del", {"id": "dimm0"}) in sent
    assert ("object-del", {"id": "memdimm0"}) in sent

    # libvirtd restart: it reconnects to the running domain.
    before = {
        a: (d.address, d.element.findtext("target/current"))
        for a, d in devices_by_alias(lv, "memtest").items()
    }
    mark = lv.log_mark()
    lv.restart_libvirtd()
    assert lv.domain_state("memtest") == "running"
    assert lv.stray_pids() == [emulator_pid]
    (reconnect,) = lv.qmp_sessions(mark)
    assert ("query-jobs", None) in reconnect.commands()
    after = {
        a: (d.address, d.element.findtext("target/current"))
        for a, d in devices_by_alias(lv, "memtest").items()
    }
    assert after == before

    lv.destroy("memtest")
    assert lv.domain_state("memtest") == "shut off"
    assert lv.stray_pids() == []
    assert "shutting down, reason=destroyed" in lv.domain_log("memtest")
    assert "terminating on signal 15" in lv.domain_log("memtest")


def test_refusing_guest_and_refused_hotplug(libvirt_harness: LibvirtHarness, emulator: str) -> None:
    lv = libvirt_harness
    # A guest that refuses every eject, chosen in the domain XML.
    lv.define(with_memdevd_args(domain_xml(emulator, name="refusing"), "-memdevd", "guest=refuse"))
    lv.start_domain("refusing")
    lv.attach_device("refusing", lv.memory_device_xml("dimm"))
    with pytest.raises(VirshError) as refused:
        lv.detach_device("refusing", lv.memory_device_xml("dimm"))
    assert "rejected by the guest" in str(refused.value.result.stderr)
    assert "dimm0" in devices_by_alias(lv, "refusing")

    # Beyond maxMemory: libvirt checks before QEMU sees anything.
    with pytest.raises(VirshError) as too_big:
        lv.attach_device("refusing", lv.memory_device_xml("dimm", size="16384"))
    assert "would exceed domain's maxMemory config" in str(too_big.value.result.stderr)
    lv.destroy("refusing")

    # No ACPI: libvirt 9.0 passes -no-acpi, which QEMU 10.0 (memdevd's
    # default) no longer has: the start fails as it would with QEMU 10.0.
    lv.define(without_acpi(domain_xml(emulator, name="noacpi")))
    with pytest.raises(VirshError) as no_option:
        lv.start_domain("noacpi")
    assert "-no-acpi: invalid option" in str(no_option.value.result.stderr)
    lv.virsh("undefine", "noacpi")

    # With QEMU 7.2 (a wrapper script, as docs/libvirt.md shows) the domain
    # starts and QEMU's refusal of DIMM hot-plug reaches virsh; libvirt
    # deletes the backend again.
    wrapper = lv.write_file("qemu-7.2", f'#!/bin/sh\nexec {emulator} -memdevd version=7.2 "$@"\n')
    wrapper.chmod(0o755)
    lv.define(without_acpi(domain_xml(str(wrapper), name="noacpi72")))
    lv.start_domain("noacpi72")
    mark = lv.log_mark()
    with pytest.raises(VirshError) as no_acpi:
        lv.attach_device("noacpi72", lv.memory_device_xml("dimm"))
    assert (
        "unable to execute QEMU command 'device_add': memory hotplug is not enabled: "
        "missing acpi device or acpi disabled"
    ) in str(no_acpi.value.result.stderr)
    assert ("object-del", {"id": "memdimm0"}) in lv.qmp_commands(mark)
    assert devices_by_alias(lv, "noacpi72") == {}
    version = lv.virsh("version").stdout
    assert "Running hypervisor: QEMU 7.2.22" in version or "7.2.22" in lv.domain_log("noacpi72")
    lv.destroy("noacpi72")


def test_nvdimm_and_virtio_pmem(libvirt_harness: LibvirtHarness, emulator: str) -> None:
    lv = libvirt_harness
    xml = domain_xml(emulator, name="pmem", machine="q35", devices=[lv.memory_device_xml("nvdimm")])
    lv.define(xml)
    lv.start_domain("pmem")
    nvdimm = devices_by_alias(lv, "pmem")["nvdimm0"]
    assert nvdimm.address == {"type": "dimm", "slot": "0", "base": "0x100000000"}
    lv.attach_device("pmem", lv.memory_device_xml("nvdimm"))
    devices = devices_by_alias(lv, "pmem")
    assert devices["nvdimm1"].address == {"type": "dimm", "slot": "1", "base": "0x107fe0000"}
    # libvirt 9.0 stops reading query-memory-devices once a virtio-pmem is
    # plugged ("not handled yet"), so it is plugged last.
    lv.attach_device("pmem", lv.memory_device_xml("virtio-pmem"))
    assert devices_by_alias(lv, "pmem")["virtiopmem0"].model == "virtio-pmem"
    lv.destroy("pmem")


def test_readme_install_runs_as_libvirt_qemu(emulator: str) -> None:
    """The README's libvirt set-up on Debian's defaults: memdevd in a venv of
    /usr/bin/python3 (the ``emulator`` fixture installs it so) runs as
    ``libvirt-qemu``; DIMM hot-plug and unplug work.  A venv of a per-user
    Python under /root cannot be run by that user: libvirt says so."""
    with running_harness(DEBIAN_QEMU_USER) as lv:
        lv.define(domain_xml(emulator))
        lv.start_domain("memtest")
        (pid,) = lv.stray_pids()
        status = Path(f"/proc/{pid}/status").read_text()
        uid = next(line.split()[1] for line in status.splitlines() if line.startswith("Uid:"))
        assert int(uid) == pwd.getpwnam(DEBIAN_QEMU_USER).pw_uid
        lv.attach_device("memtest", lv.memory_device_xml("dimm"))
        assert devices_by_alias(lv, "memtest")["dimm0"].address["base"] == "0x100000000"
        assert "Device detached successfully" in lv.detach_device(
            "memtest", lv.memory_device_xml("dimm")
        )
        lv.destroy("memtest")
        # libvirt's probe runs as libvirt-qemu with CAP_DAC_OVERRIDE; its own
        # /dev/kvm check without: where they disagree it probes again at
        # every lookup, with memdevd as with QEMU.
        counts = [len(s.commands()) for s in lv.qmp_sessions() if s.is_probe]
        assert counts == expected_probe_sessions(
            counts[0],
            kvm_reported=kvm_device_problem(DEBIAN_QEMU_USER, caps=PROBE_CAPS) is None,
            kvm_accessible=kvm_accessible(DEBIAN_QEMU_USER),
            probes=counts.count(counts[0]),
        )
        own = Path(sys.executable).parent / "memdevd-qemu-system-x86_64"
        runnable = subprocess.run(
            as_user([str(own), "--version"], DEBIAN_QEMU_USER), capture_output=True
        )
        if own.exists() and runnable.returncode != 0:
            with pytest.raises(VirshError) as refused:
                lv.define(domain_xml(str(own), name="own"))
            assert f"cannot execute binary {own}: Permission denied" in str(
                refused.value.result.stderr
            )


def kvm_user() -> str:
    """A user libvirt may run KVM domains as here: Debian's ``libvirt-qemu``
    where it can use /dev/kvm, else root (a host whose /dev/kvm only root may
    open, as in containers); skips, with each user's reason, where neither
    can initialise KVM."""
    reasons = []
    for user in (DEBIAN_QEMU_USER, "root"):
        problem = kvm_device_problem(user)
        if problem is None and kvm_accessible(user):
            return user
        reasons.append(problem or f"libvirt's check: {user} may not open /dev/kvm")
    pytest.skip("KVM is not usable here: " + "; ".join(reasons))


def test_kvm_domain_with_host_passthrough(emulator: str) -> None:
    """Where the emulator's user can use KVM, memdevd reports KVM like QEMU,
    so libvirt accepts <domain type='kvm'> (its default CPU, and host-passthrough).
    memdevd runs no vCPU: a host whose KVM aborts on a vCPU reset (nested
    virtualization) runs it as one whose KVM works."""
    user = kvm_user()
    with running_harness(user) as lv:
        xml = domain_xml(emulator, name="kvm", domain_type="kvm")
        lv.define(xml.replace("<cpu>", "<cpu mode='host-passthrough'>"))
        lv.start_domain("kvm")
        assert "-accel kvm" in lv.domain_log("kvm")
        assert "-cpu host,migratable=on" in lv.domain_log("kvm")
        lv.attach_device("kvm", lv.memory_device_xml("dimm"))
        assert devices_by_alias(lv, "kvm")["dimm0"].address == {
            "type": "dimm",
            "slot": "0",
            "base": "0x100000000",
        }
        lv.destroy("kvm")


def test_lifecycle_suspend_resume_reset_setmem_shutdown(
    libvirt_harness: LibvirtHarness, emulator: str
) -> None:
    """stop/cont, system_reset (libvirt re-reads the memory devices on RESET),
    the balloon (BALLOON_CHANGE updates libvirt's used memory) and a guest
    shutdown (-no-shutdown: the VM stops, libvirt ends the process)."""
    lv = libvirt_harness
    lv.define(domain_xml(emulator, name="life"))
    lv.start_domain("life")
    lv.attach_device("life", lv.memory_device_xml("virtio-mem"))
    wait_until("<current> 256 MiB", lambda: current_kib(lv, "life", "virtiomem0") == 256 * MiB_KIB)

    lv.virsh("suspend", "life")
    assert lv.domain_state("life") == "paused"
    lv.virsh("resume", "life")
    assert lv.domain_state("life") == "running"

    mark = lv.log_mark()
    lv.virsh("reset", "life")
    assert lv.domain_state("life") == "running"
    sent = [command for command, _ in lv.qmp_commands(mark)]
    assert sent[0] == "system_reset"
    assert "query-memory-devices" in sent[1:]
    # QEMU unplugs every virtio-mem block on reset; the guest plugs them again.
    wait_until(
        "<current> 256 MiB again", lambda: current_kib(lv, "life", "virtiomem0") == 256 * MiB_KIB
    )

    # The guest gives 512 MiB back to the balloon; libvirt counts the
    # virtio-mem's plugged 256 MiB on top of the balloon's actual size.
    lv.virsh("setmem", "life", "524288", "--live")
    wait_until(
        "used memory 786432 KiB",
        lambda: "786432 KiB" in lv.virsh("dominfo", "life").stdout.split("Used memory:")[1],
    )
    assert "actual 524288" in lv.virsh("dommemstat", "life").stdout

    lv.virsh("shutdown", "life")
    wait_until("shut off", lambda: lv.domain_state("life") == "shut off")
    assert lv.stray_pids() == []
    assert "shutting down, reason=shutdown" in lv.domain_log("life")


@pytest.mark.parametrize("version", ["7.2", "8.2", "11.1"])
def test_other_releases_through_a_wrapper_script(
    libvirt_harness: LibvirtHarness, emulator: str, version: str
) -> None:
    """docs/libvirt.md's wrapper: libvirt probes and runs the release it names."""
    lv = libvirt_harness
    wrapper = lv.write_file(
        f"qemu-{version}", f'#!/bin/sh\nexec {emulator} -memdevd version={version} "$@"\n'
    )
    wrapper.chmod(0o755)
    lv.define(domain_xml(str(wrapper), name="old"))
    lv.start_domain("old")
    assert f"-machine pc-i440fx-{version}," in lv.domain_log("old")
    lv.attach_device("old", lv.memory_device_xml("dimm"))
    assert devices_by_alias(lv, "old")["dimm0"].address["base"] == "0x100000000"
    assert "Device detached successfully" in lv.detach_device("old", lv.memory_device_xml("dimm"))
    assert devices_by_alias(lv, "old") == {}
    lv.destroy("old")


def test_serial_console(libvirt_harness: LibvirtHarness, emulator: str) -> None:
    """<serial type='pty'> and <console>: libvirt finds the pty memdevd opened."""
    lv = libvirt_harness
    xml = domain_xml(
        emulator,
        name="console",
        devices=["<serial type='pty'><target port='0'/></serial>", "<console type='pty'/>"],
    )
    lv.define(xml)
    lv.start_domain("console")
    tty = lv.virsh("ttyconsole", "console").stdout.strip()
    assert tty.startswith("/dev/pts/") and os.path.exists(tty)
    source = lv.live_xml("console").find("devices/serial/source")
    assert source is not None and source.get("path") == tty
    lv.destroy("console")


def _rfb_banner(port: int) -> bytes:
    """What a VNC client reads first from 127.0.0.1:port."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        return sock.recv(64)


def test_vnc_graphics(libvirt_harness: LibvirtHarness, emulator: str) -> None:
    """<graphics type='vnc'>: the probe reports VNC, libvirt starts the domain
    with -vnc on a port it picked, vncdisplay/domdisplay answer, a client
    reads QEMU's RFB banner there, and a password is set with set_password."""
    lv = libvirt_harness
    graphics = (
        "<graphics type='vnc' port='-1' autoport='yes' passwd='secret'>"
        "<listen type='address' address='127.0.0.1'/></graphics>"
    )
    lv.define(
        domain_xml(emulator, name="vnc", devices=[graphics, "<video><model type='vga'/></video>"])
    )
    lv.start_domain("vnc")
    display = lv.virsh("vncdisplay", "vnc").stdout.strip()
    assert display.startswith("127.0.0.1:")
    port = 5900 + int(display.rsplit(":", 1)[1])
    assert f"-vnc 127.0.0.1:{port - 5900},password=on" in lv.domain_log("vnc")
    assert lv.virsh("domdisplay", "vnc").stdout.strip() == f"vnc://127.0.0.1:{port - 5900}"
    assert _rfb_banner(port) == b"RFB 003.008\n"
    live = lv.live_xml("vnc")
    node = live.find("devices/graphics")
    assert node is not None and node.get("port") == str(port)
    # A new password (libvirt's set_password) on the running domain.
    updated = graphics.replace("passwd='secret'", "passwd='other'")
    mark = lv.log_mark()
    lv.virsh("update-device", "vnc", "--live", "--file", str(lv.write_file("g.xml", updated)))
    sent = [args for name, args in lv.qmp_commands(mark) if name == "set_password"]
    assert sent == [{"protocol": "vnc", "password": "other", "connected": "keep"}]
    lv.destroy("vnc")
    assert lv.stray_pids() == []


def test_spice_graphics_on_7_2(libvirt_harness: LibvirtHarness, emulator: str) -> None:
    """<graphics type='spice'> on a 7.2 emulator (whose build has SPICE):
    -spice on a port libvirt picked, domdisplay answers spice://."""
    lv = libvirt_harness
    wrapper = lv.write_file("qemu-7.2", f'#!/bin/sh\nexec {emulator} -memdevd version=7.2 "$@"\n')
    wrapper.chmod(0o755)
    graphics = (
        "<graphics type='spice' autoport='yes'><listen type='address' address='127.0.0.1'/>"
        "</graphics>"
    )
    lv.define(domain_xml(str(wrapper), name="spice", devices=[graphics]))
    lv.start_domain("spice")
    shown = lv.virsh("domdisplay", "spice").stdout.strip()
    assert shown.startswith("spice://127.0.0.1:")
    assert "-spice port=" in lv.domain_log("spice")
    lv.destroy("spice")
