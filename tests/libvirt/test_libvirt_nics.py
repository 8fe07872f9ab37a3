"""libvirt 9.0 managing a domain's NICs on memdevd, with real QEMU 7.2 as the baseline.

A domain with a user-mode NIC (``-netdev``/``-device`` as libvirt builds
them), then what virsh does with interfaces: ``domiflist``, ``domif-setlink``
(``set_link``), ``domif-getlink``, a NIC hot-plugged into a spare root port
(``netdev_add`` then ``device_add``) and unplugged (``device_del``; once
the guest ejects it, libvirt's ``netdev_del``).  QEMU's firmware never
ejects, so there the NIC stays; memdevd's libvirt entry point runs a
cooperative guest.
"""

from __future__ import annotations

import time

import pytest
from libvirt_harness import LibvirtHarness, domain_xml, virsh_table

pytestmark = [pytest.mark.libvirt, pytest.mark.slow]

NAME = "nics"
NIC = "<interface type='user'><mac address='52:54:00:6b:3c:58'/><model type='virtio'/></interface>"
HOTPLUGGED = (
    "<interface type='user'><mac address='52:54:00:00:00:02'/><model type='e1000e'/></interface>"
)
ROOT = "<controller type='pci' index='0' model='pcie-root'/>"
ROOT_PORTS = [f"<controller type='pci' index='{i}' model='pcie-root-port'/>" for i in range(1, 9)]


def test_nics_through_virsh(libvirt_harness: LibvirtHarness, vm_emulator: tuple[str, bool]) -> None:
    lv = libvirt_harness
    emulator, guest_acks = vm_emulator
    xml = domain_xml(emulator, name=NAME, machine="q35", devices=[ROOT, *ROOT_PORTS, NIC])
    lv.define(xml)
    lv.start_domain(NAME)
    nics = virsh_table(lv.virsh("domiflist", NAME).stdout)
    assert [row[1:] for row in nics] == [["user", "-", "virtio", "52:54:00:6b:3c:58"]]
    lv.virsh("domif-setlink", NAME, "52:54:00:6b:3c:58", "down")
    assert "down" in lv.virsh("domif-getlink", NAME, "52:54:00:6b:3c:58").stdout
    lv.virsh("domif-setlink", NAME, "52:54:00:6b:3c:58", "up")

    lv.attach_device(NAME, HOTPLUGGED)
    nics = virsh_table(lv.virsh("domiflist", NAME).stdout)
    assert [row[3:] for row in nics] == [
        ["virtio", "52:54:00:6b:3c:58"],
        ["e1000e", "52:54:00:00:00:02"],
    ]

    lv.detach_device(NAME, HOTPLUGGED)
    deadline = time.monotonic() + 10
    while True:
        count = len(virsh_table(lv.virsh("domiflist", NAME).stdout))
        if count == (1 if guest_acks else 2) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert count == (1 if guest_acks else 2)
    if guest_acks:
        # The netdev was freed with the NIC: the same interface plugs again.
        lv.attach_device(NAME, HOTPLUGGED)
        assert len(virsh_table(lv.virsh("domiflist", NAME).stdout)) == 2
    lv.destroy(NAME)
