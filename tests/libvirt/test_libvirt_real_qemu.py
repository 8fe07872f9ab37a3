"""libvirt 9.0 driving the real QEMU 7.2: the reference run of the libvirt harness.

Owns proving ``libvirt_harness`` against the emulator libvirt was made for,
so that the memdevd end-to-end tests (same harness, same domain and device
XML) have a known-good baseline: define and start the test domain, hot-plug
a DIMM and a virtio-mem, restart libvirtd (it must reconnect to the running
domain), destroy it, and leave nothing behind, also when libvirtd dies with
a domain running.  Prints the timings the benchmark compares memdevd with.

QEMU runs as root (see the harness).  Its capability probe is one QMP
session, or two where KVM initialises for the probe (QEMU reports it
enabled and libvirt asks again for TCG, ~4 s); libvirt caches it where its
own /dev/kvm check agrees with QEMU's ``query-kvm`` and probes again at
every lookup where they disagree (a /dev/kvm that opens but does not
initialise): ``tests/kvm_host.py`` finds out which.
"""

from __future__ import annotations

import signal

import pytest
from kvm_host import kvm_accessible, qemu_kvm_problem
from libvirt_harness import (
    PROBE_CAPS,
    LibvirtHarness,
    domain_xml,
    expected_probe_sessions,
    host_libvirt_state,
    memory_devices,
    unavailable_reason,
)
from live_qemu import qemu_binary

pytestmark = [pytest.mark.libvirt, pytest.mark.slow]


@pytest.fixture
def qemu() -> str:
    """The QEMU 7.2 binary (``$MEMDEVD_QEMU_7_2`` or /usr/bin/qemu-system-x86_64)."""
    binary = qemu_binary("7.2")
    if binary is None:
        pytest.skip("QEMU 7.2 not installed (sh tools/install-qemu.sh)")
    return binary


def test_real_qemu_domain_memory_hotplug_restart_destroy(
    libvirt_harness: LibvirtHarness, qemu: str
) -> None:
    lv = libvirt_harness
    # First, on the fresh cache: define_s includes the capability probe.
    timings = lv.time_domain_start_and_dimm_plug(qemu)
    print(f"\nlibvirt 9.0 + QEMU 7.2: {', '.join(f'{k} {v:.3f}' for k, v in timings.items())}")
    probes = [s for s in lv.qmp_sessions() if s.is_probe]
    counts = [len(s.commands()) for s in probes]
    # KVM enabled -> a second, forceTCG session for the TCG CPU models.
    kvm_reported = (
        qemu_kvm_problem(qemu, ("-machine", "none,accel=kvm"), lv.qemu_user, PROBE_CAPS) is None
    )
    assert counts == expected_probe_sessions(
        51,
        kvm_reported=kvm_reported,
        kvm_accessible=kvm_accessible(lv.qemu_user),
        probes=counts.count(51),
    )

    lv.define(domain_xml(qemu))
    lv.start_domain("memtest")
    assert lv.domain_state("memtest") == "running"
    emulators = lv.stray_pids()
    assert len(emulators) == 1

    mark = lv.log_mark()
    lv.attach_device("memtest", lv.memory_device_xml("dimm"))
    (dimm,) = memory_devices(lv.live_xml("memtest"))
    assert (dimm.model, dimm.alias) == ("dimm", "dimm0")
    assert dimm.address == {"type": "dimm", "slot": "0", "base": "0x100000000"}
    sent = lv.qmp_commands(mark)
    assert (
        "object-add",
        {"qom-type": "memory-backend-ram", "id": "memdimm0", "size": 512 << 20},
    ) in sent
    assert (
        "device_add",
        {"driver": "pc-dimm", "node": 0, "memdev": "memdimm0", "id": "dimm0", "slot": 0},
    ) in sent

    lv.attach_device("memtest", lv.memory_device_xml("virtio-mem"))
    devices = {d.alias: d for d in memory_devices(lv.live_xml("memtest"))}
    assert devices.keys() == {"dimm0", "virtiomem0"}
    virtio_mem = devices["virtiomem0"]
    assert virtio_mem.model == "virtio-mem"
    assert virtio_mem.address["type"] == "pci"
    # No guest driver plugs blocks: nothing of the requested 256 MiB is current.
    assert virtio_mem.element.findtext("target/current") == "0"

    mark = lv.log_mark()
    lv.restart_libvirtd()
    assert lv.domain_state("memtest") == "running"
    assert lv.stray_pids() == emulators
    assert {d.alias: d.address for d in memory_devices(lv.live_xml("memtest"))} == {
        alias: d.address for alias, d in devices.items()
    }
    (reconnect,) = lv.qmp_sessions(mark)
    assert ("query-jobs", None) in reconnect.commands()

    lv.destroy("memtest")
    assert lv.domain_state("memtest") == "shut off"
    assert lv.stray_pids() == []
    assert "shutting down, reason=destroyed" in lv.domain_log("memtest")


def test_close_sweeps_a_domain_libvirtd_left_running(qemu: str) -> None:
    """libvirtd killed with a domain running: close() kills the emulator."""
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    before = host_libvirt_state()
    lv = LibvirtHarness().start()
    try:
        lv.define(domain_xml(qemu, name="orphan"))
        lv.start_domain("orphan", paused=True)
        (emulator,) = lv.stray_pids()
        assert lv.libvirtd is not None
        lv.libvirtd.send_signal(signal.SIGKILL)
        lv.libvirtd.wait(10)
    finally:
        report = lv.close()
    assert list(report.strays) == [emulator]
    assert "guest=orphan" in report.strays[emulator]
    assert report.survivors == []
    assert report.root_removed
    assert host_libvirt_state() == before
