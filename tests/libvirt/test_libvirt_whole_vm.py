"""libvirt 9.0 running a whole VM (disks, NIC, console, VNC, USB, RNG...) on memdevd.

Owns the promise that a domain as virt-install writes it starts on memdevd
as on QEMU and answers libvirt's everyday commands: ``domblklist``,
``domiflist``, ``domstats``, ``vncdisplay``, ``ttyconsole``, memory, disk and
NIC hot-plug and unplug, suspend/resume and destroy.  The same steps run
on the real QEMU 7.2 as the baseline; where the outcome depends on a guest
(an unplug needs its consent), QEMU's has none (firmware only) and
memdevd's libvirt entry point runs a cooperative one.
"""

from __future__ import annotations

import os
import re

import pytest
from libvirt_harness import LibvirtHarness, virsh_table

pytestmark = [pytest.mark.libvirt, pytest.mark.slow]

NAME = "wholevm"


def _stats(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep:
            out[key] = value
    return out


def _memory_models(lv: LibvirtHarness) -> list[str]:
    return [str(m.get("model")) for m in lv.live_xml(NAME).iter("memory") if m.get("model")]


def test_virt_install_domain_lifecycle(
    libvirt_harness: LibvirtHarness, vm_emulator: tuple[str, bool]
) -> None:
    lv = libvirt_harness
    emulator, guest_acks = vm_emulator
    xml, images = lv.whole_vm_xml(emulator, name=NAME)
    lv.define(xml)
    lv.start_domain(NAME)
    assert lv.domain_state(NAME) == "running"

    blk = virsh_table(lv.virsh("domblklist", NAME).stdout)
    assert blk == [["vda", str(images["disk"])], ["sda", str(images["cdrom"])]]
    nics = virsh_table(lv.virsh("domiflist", NAME).stdout)
    assert [row[1:] for row in nics] == [["user", "-", "virtio", "52:54:00:6b:3c:58"]]

    stats = _stats(lv.virsh("domstats", NAME).stdout)
    assert stats["state.state"] == "1"
    assert stats["block.count"] == "2"
    assert stats["block.0.name"] == "vda" and stats["block.0.path"] == str(images["disk"])
    # QEMU's firmware reads the boot sector; memdevd's counters stay zero.
    assert stats["block.0.rd.reqs"] in ("0", "1") and stats["block.0.wr.bytes"] == "0"
    assert stats["block.0.capacity"] == str(1 << 30)
    assert stats["net.count"] == "1"
    assert stats["balloon.maximum"] == str(1 << 20)
    assert stats["vcpu.current"] == "2"

    display = lv.virsh("vncdisplay", NAME).stdout.strip()
    assert re.fullmatch(r"127\.0\.0\.1:\d+", display), display
    tty = lv.virsh("ttyconsole", NAME).stdout.strip()
    assert tty.startswith("/dev/pts/") and os.path.exists(tty)

    # Memory: a DIMM and a virtio-mem beside the rest of the VM.
    lv.attach_device(NAME, lv.memory_device_xml("dimm"))
    lv.attach_device(NAME, lv.memory_device_xml("virtio-mem"))
    assert _memory_models(lv) == ["dimm", "virtio-mem"]

    # A disk and a NIC hot-plugged into the spare root ports.
    disk_xml = (
        "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
        f"<source file='{images['extra']}'/><target dev='vdb' bus='virtio'/></disk>"
    )
    nic_xml = (
        "<interface type='user'><mac address='52:54:00:00:00:02'/>"
        "<model type='virtio'/></interface>"
    )
    lv.attach_device(NAME, disk_xml)
    lv.attach_device(NAME, nic_xml)
    assert [row[0] for row in virsh_table(lv.virsh("domblklist", NAME).stdout)] == [
        "vda",
        "vdb",
        "sda",
    ]
    assert len(virsh_table(lv.virsh("domiflist", NAME).stdout)) == 2

    # Unplug.  virsh says "detached successfully" once the request is sent
    # (libvirt waits 5 s for DEVICE_DELETED, then leaves the device listed).
    # QEMU's SeaBIOS-only guest never acknowledges: the devices stay;
    # memdevd's libvirt entry point runs a cooperative guest: they go.
    detached = [
        lv.detach_device(NAME, disk_xml),
        lv.detach_device(NAME, nic_xml),
        lv.detach_device(NAME, lv.memory_device_xml("dimm")),
    ]
    assert all("detached successfully" in out for out in detached), detached
    disks = [row[0] for row in virsh_table(lv.virsh("domblklist", NAME).stdout)]
    nics = virsh_table(lv.virsh("domiflist", NAME).stdout)
    if guest_acks:
        assert (disks, len(nics), _memory_models(lv)) == (["vda", "sda"], 1, ["virtio-mem"])
    else:
        assert (disks, len(nics), _memory_models(lv)) == (
            ["vda", "vdb", "sda"],
            2,
            ["dimm", "virtio-mem"],
        )

    lv.virsh("suspend", NAME)
    assert lv.domain_state(NAME) == "paused"
    lv.virsh("resume", NAME)
    assert lv.domain_state(NAME) == "running"
    lv.destroy(NAME)
    assert lv.domain_state(NAME) == "shut off"
