"""libvirt 9.0 driving ``memdevd-qemu-system-aarch64``: an arm64 ``virt`` domain.

Owns the libvirt promise of the aarch64 target: unmodified libvirt probes
the emulator (its ``qom-list-properties`` of the type ``virt`` stands for
among the questions), defines and starts a type='qemu' ``virt`` domain
with UEFI-style firmware (``<loader type='pflash'>``: libvirt passes the
images as ``-machine pflash0=,pflash1=``; firmware is what makes virt
create the acpi-ged DIMM hot-plug needs, and libvirt requires UEFI for
``<acpi/>`` on aarch64), hot-plugs a DIMM and a virtio-mem (on a PCIe root
port: pcie.0 takes no hot-plug), resizes the virtio-mem
(``virsh update-memory-device --requested-size``) and destroys it.  The
same steps run on the real qemu-system-aarch64 7.2 in the same libvirtd,
and memdevd emulating 7.2 must give libvirt the same answers: the QMP
replies of the memory commands and the live XML's addresses.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from libvirt_harness import LibvirtHarness, memory_devices
from live_qemu import qemu_binary

pytestmark = [pytest.mark.libvirt, pytest.mark.slow]

#: QEMU's virt flash: two devices of 64 MiB (base_memmap[VIRT_FLASH])
FLASH_SIZE = 64 << 20
#: what libvirt asks when memory devices change, compared reply by reply
MEMORY_COMMANDS = ("object-add", "device_add", "query-memory-devices", "qom-set")


def aarch64_domain(lv: LibvirtHarness, emulator: str, name: str) -> str:
    """A virt domain: cortex-a57 (64-bit, 44-bit physical addresses), 1 GiB
    in one NUMA cell, 16 memory slots up to 16 GiB, pflash firmware (empty
    images: with -S nothing runs), ACPI, three PCIe root ports."""
    code = lv.write_file(f"{name}-code.fd", "")
    nvram = lv.write_file(f"{name}-vars.fd", "")
    for image in (code, nvram):
        os.truncate(image, FLASH_SIZE)
    ports = "".join(
        f"<controller type='pci' index='{i}' model='pcie-root-port'/>" for i in (1, 2, 3)
    )
    return f"""<domain type='qemu'>
  <name>{name}</name>
  <memory unit='GiB'>1</memory>
  <maxMemory slots='16' unit='GiB'>16</maxMemory>
  <vcpu>1</vcpu>
  <os>
    <type arch='aarch64' machine='virt'>hvm</type>
    <loader readonly='yes' type='pflash'>{code}</loader>
    <nvram>{nvram}</nvram>
  </os>
  <features><acpi/></features>
  <cpu mode='custom' match='exact'>
    <model fallback='forbid'>cortex-a57</model>
    <numa><cell id='0' cpus='0' memory='1' unit='GiB'/></numa>
  </cpu>
  <devices>
    <emulator>{emulator}</emulator>
    <controller type='pci' index='0' model='pcie-root'/>
    {ports}
  </devices>
</domain>"""


def memdevd_as(lv: LibvirtHarness, emulator: str, version: str) -> str:
    """A wrapper emulator running memdevd as qemu-system-aarch64 ``version``
    (the README's way to pick a version for libvirt)."""
    path = lv.write_file(
        f"memdevd-aarch64-{version}.sh",
        f'#!/bin/sh\nexec {emulator} -memdevd version={version} "$@"\n',
    )
    path.chmod(0o755)
    return str(path)


def run_domain(lv: LibvirtHarness, emulator: str, name: str) -> dict[str, Any]:
    """Probe, define, start (paused), DIMM and virtio-mem hot-plug, resize,
    destroy; returns what libvirt saw."""
    seen: dict[str, Any] = {}
    mark = lv.log_mark()
    lv.define(aarch64_domain(lv, emulator, name))
    probes = [s for s in lv.qmp_sessions(mark) if s.is_probe]
    seen["probe"] = [c for s in probes for c in s.commands()]
    lv.start_domain(name, paused=True)
    assert lv.domain_state(name) == "paused"
    argv = lv.domain_log(name)
    assert "pflash0=libvirt-pflash0-format" in argv
    mark = lv.log_mark()
    lv.attach_device(name, lv.memory_device_xml("dimm"))
    lv.attach_device(name, lv.memory_device_xml("virtio-mem"))
    lv.virsh("update-memory-device", name, "--alias", "virtiomem0", "--requested-size", "512MiB")
    seen["memory"] = [
        (command, arguments, _without_id(session.reply_to(i)))
        for session in lv.qmp_sessions(mark)
        for i, (command, arguments) in enumerate(session.commands())
        if command in MEMORY_COMMANDS
    ]
    live = lv.live_xml(name)
    seen["devices"] = {
        d.alias: (d.model, d.address, d.element.findtext("target/requested"))
        for d in memory_devices(live)
    }
    lv.destroy(name)
    assert lv.domain_state(name) == "shut off"
    assert lv.stray_pids() == []
    return seen


def _without_id(reply: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if reply is None else {k: v for k, v in reply.items() if k != "id"}


@pytest.fixture
def aarch64_emulator(emulator: str) -> str:
    """``memdevd-qemu-system-aarch64`` beside the installed x86_64 entry point."""
    path = Path(emulator).with_name("memdevd-qemu-system-aarch64")
    assert path.is_file(), path
    return str(path)


def test_virt_domain_probe_start_dimm_virtio_mem_resize_destroy(
    libvirt_harness: LibvirtHarness, aarch64_emulator: str
) -> None:
    lv = libvirt_harness
    seen = run_domain(lv, aarch64_emulator, "armtest")
    # the question libvirt used to give up on (memdevd emulates 10.0 by default)
    assert ("qom-list-properties", {"typename": "virt-10.0-machine"}) in seen["probe"]
    assert ("query-gic-capabilities", None) in seen["probe"]
    devices = seen["devices"]
    assert devices["dimm0"][:2] == ("dimm", {"type": "dimm", "slot": "0", "base": "0x80000000"})
    model, address, requested = devices["virtiomem0"]
    assert model == "virtio-mem"
    assert (address["type"], address["bus"]) == ("pci", "0x01")  # the first root port
    assert requested == str(512 * 1024)
    sent = [(c, a) for c, a, _ in seen["memory"]]
    assert (
        "device_add",
        {"driver": "pc-dimm", "node": 0, "memdev": "memdimm0", "id": "dimm0", "slot": 0},
    ) in sent
    assert (
        "qom-set",
        {
            "path": "/machine/peripheral/virtiomem0",
            "property": "requested-size",
            "value": 512 << 20,
        },
    ) in sent
    assert all("error" not in reply for _, _, reply in seen["memory"] if reply is not None)


def test_virt_domain_as_with_real_qemu_7_2(
    libvirt_harness: LibvirtHarness, aarch64_emulator: str
) -> None:
    """The same steps on the real qemu-system-aarch64 7.2 and on memdevd as 7.2:
    libvirt asks the same and gets the same answers."""
    qemu = qemu_binary("7.2", "aarch64")
    if qemu is None:
        pytest.skip("qemu-system-aarch64 7.2 not installed (sh tools/install-qemu.sh)")
    lv = libvirt_harness
    real = run_domain(lv, qemu, "armreal")
    ours = run_domain(lv, memdevd_as(lv, aarch64_emulator, "7.2"), "armmemdevd")
    assert ("qom-list-properties", {"typename": "virt-7.2-machine"}) in real["probe"]
    assert ours["probe"] == real["probe"]
    assert ours["devices"] == real["devices"]
    assert len(real["memory"]) >= 7
    for (command, arguments, reply), want in zip(ours["memory"], real["memory"], strict=True):
        assert (command, arguments) == want[:2]
        assert reply == want[2], command


@pytest.mark.parametrize("which", ["qemu-7.2", "memdevd-7.2"])
def test_virt_domain_without_firmware_has_no_dimm_hotplug(
    libvirt_harness: LibvirtHarness, aarch64_emulator: str, which: str
) -> None:
    """Without a loader virt has no acpi-ged: QEMU's refusal reaches virsh.
    libvirt needs UEFI for <acpi/> on aarch64, so the domain has neither,
    and libvirt 9.0 asks for ``-no-acpi``, which 7.2 has and 10.0 no longer
    (``-no-acpi: invalid option``, with QEMU as with memdevd): 7.2 here."""
    lv = libvirt_harness
    if which == "qemu-7.2":
        emulator = qemu_binary("7.2", "aarch64")
        if emulator is None:
            pytest.skip("qemu-system-aarch64 7.2 not installed (sh tools/install-qemu.sh)")
    else:
        emulator = memdevd_as(lv, aarch64_emulator, "7.2")
    root = ET.fromstring(aarch64_domain(lv, emulator, "nofw"))
    os_el = root.find("os")
    assert os_el is not None
    for tag in ("loader", "nvram"):
        el = os_el.find(tag)
        assert el is not None
        os_el.remove(el)
    features = root.find("features")
    assert features is not None
    root.remove(features)
    lv.define(ET.tostring(root, encoding="unicode"))
    lv.start_domain("nofw", paused=True)
    dimm = lv.write_file("dimm.xml", lv.memory_device_xml("dimm"))
    done = lv.virsh("attach-device", "nofw", str(dimm), "--live", check=False)
    assert done.returncode != 0
    assert "memory hotplug is not enabled: missing acpi-ged device" in done.stderr
    assert lv.domain_state("nofw") == "paused"
    lv.destroy("nofw")
