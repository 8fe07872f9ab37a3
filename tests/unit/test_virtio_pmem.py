"""virtio-pmem-pci on the machine core: errors, placement, queries, unplug.

Known answers come from live QEMU 7.2.22 (/usr/bin/qemu-system-x86_64) and
10.0.2 (/opt/qemu-10.0/bin/qemu-system-x86_64), run as
``-S -nodefaults -display none -accel tcg -qmp unix:...`` with the
``-machine``/``-m`` named in each test, backends from object-add and
devices from device_add, exactly as below.
"""

from __future__ import annotations

from typing import Any

import pytest

from memdevd.machine.clock import VirtualClock
from memdevd.machine.devices.virtio_pmem import VirtioPMEMPCI
from memdevd.machine.errors import CoreError
from memdevd.machine.guest import GuestConfig
from memdevd.machine.machine import Machine, MachineConfig
from memdevd.machine.qdev import Device
from memdevd.releases.table import get_release
from memdevd.targets.x86_64.board import PC, Q35
from memdevd.targets.x86_64.machine_types import pc_alias, q35_alias

MiB = 1024 * 1024
GiB = 1024 * MiB
BASE = 0x100000000
VERSIONS = ("7.2", "10.0")
PC_CMDLINE = "-machine pc -m 1G,slots=2,maxmem=8G"


def make_machine(
    version: str,
    board: str = "pc",
    *,
    maxmem: int | None = 8 * GiB,
    ready: bool = True,
    guest: str = "none",
    paused: bool = True,
) -> Machine:
    """``qemu-system-x86_64 -S -machine BOARD -m 1G,slots=2,maxmem=MAXMEM``."""
    release = get_release(version)
    config = MachineConfig(
        cpu_model="qemu64",  # the pc/q35 default (the target resolves it)
        machine_type=pc_alias(release) if board == "pc" else q35_alias(release),
        alias=board,
        board=PC if board == "pc" else Q35,
        ram_size=GiB,
        maxram_size=maxmem if maxmem is not None else GiB,
        ram_slots=2 if maxmem is not None else 0,
        start_paused=paused,
        guest=GuestConfig.parse(guest),
    )
    m = Machine(config, release, clock=VirtualClock())
    init_board = getattr(m, "init_board", None)
    if init_board is not None:
        init_board()
    else:  # pragma: no cover - Machine before init_board()
        m.create_machine_ram()
    if ready:
        m.finish_init()
    return m


def add(m: Machine, **args: Any) -> Device:
    """``device_add`` as the release parses it (7.2: QemuOpts strings)."""
    if m.release.strict_device_add:
        return m.device_add(dict(args), from_json=True)
    return m.device_add({k: str(v) for k, v in args.items()}, from_json=False)


def error_of(fn: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(CoreError) as info:
        fn(*args, **kwargs)
    return info.value.desc


def backend(m: Machine, bid: str, size: int, kind: str = "ram") -> None:
    m.object_add(f"memory-backend-{kind}", bid, {"size": size})


def snapshot(m: Machine) -> dict[str, Any]:
    dm = m.device_memory
    return {
        "devices": m.memory.device_list(),
        "summary": m.memory_size_summary(),
        "peripheral": m.qom_list("/machine/peripheral"),
        "anon_counter": m.anon_counter,
        "mapped": {b.id: b.mapped for b in m.backends()},
        "accounting": None
        if dm is None
        else (dm.used_region_size, dm.required_memslots, dm.used_memslots),
    }


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("args", "text"),
    [
        # Live (PC_CMDLINE), pc-dimm d0 on m0 (1G), m1 (1G), m3 (ram 3M).
        ({}, "'memdev' property must be set"),
        ({"memdev": "m0"}, "can't use already busy memdev: m0"),
        ({"memdev": "pc.ram"}, "can't use already busy memdev: pc.ram"),
        ({"memdev": "m3"}, "backend memory size must be multiple of 0x200000"),
        ({"memdev": "m1", "memaddr": 0x100100000}, "address must be aligned to 0x200000 bytes"),
        (
            {"memdev": "m1", "addr": "0"},
            "PCI: slot 0 function 0 not available for virtio-pmem-pci, in use by i440FX,id=(null)",
        ),
        ({"memdev": "nope"}, "Device 'nope' not found"),
        ({"memdev": "m1", "size": 1}, "Property 'virtio-pmem-pci.size' not found"),
    ],
)
def test_device_add_errors(version: str, args: dict[str, Any], text: str) -> None:
    m = make_machine(version)
    backend(m, "m0", GiB)
    backend(m, "m1", GiB)
    backend(m, "m3", 3 * MiB)
    add(m, driver="pc-dimm", id="d0", memdev="m0")
    before = snapshot(m)
    assert error_of(add, m, driver="virtio-pmem-pci", id="p", **args) == text
    assert snapshot(m) == before


@pytest.mark.parametrize("version", VERSIONS)
def test_plug_query_and_qom(version: str) -> None:
    # Live (PC_CMDLINE): d0 (1G dimm) then p on m1.
    m = make_machine(version)
    backend(m, "m0", GiB)
    backend(m, "m1", GiB)
    add(m, driver="pc-dimm", id="d0", memdev="m0")
    add(m, driver="virtio-pmem-pci", id="p", memdev="m1")
    assert m.memory.device_list()[1] == {
        "type": "virtio-pmem",
        "data": {"id": "p", "memaddr": 0x140000000, "size": GiB, "memdev": "/objects/m1"},
    }
    assert list(m.memory.device_list()[1]["data"]) == ["id", "memaddr", "size", "memdev"]
    assert m.memory_size_summary() == {"base-memory": GiB, "plugged-memory": 2 * GiB}
    p = "/machine/peripheral/p"
    assert m.qom_get(p, "memaddr") == 0x140000000
    assert m.qom_get(p, "addr") == 16
    assert m.qom_get(p + "/virtio-backend", "type") == "virtio-pmem"
    assert error_of(m.qom_get, p, "size") == "Property 'virtio-pmem-pci.size' not found"
    assert error_of(m.qom_set, p, "memaddr", 0) == (
        "Attempt to set property 'memaddr' on anonymous device (type 'virtio-pmem')"
        " after it was realized"
    )
    assert error_of(m.qom_set, p, "memdev", "") == (
        "Attempt to set link property 'memdev' on device '(null)' (type 'virtio-pmem')"
        " after it was realized"
    )
    assert m.qom_get("/objects/m1/m1[0]", "container") == "/machine/device-memory[0]"
    assert m.qom_get("/objects/m1/m1[0]", "addr") == GiB
    assert m.objects.children["m1"].mapped  # type: ignore[attr-defined]
    dm = m.device_memory
    assert dm is not None
    assert dm.used_memslots == 2


@pytest.mark.parametrize("version", VERSIONS)
def test_backend_alignment_only(version: str) -> None:
    # Live (PC_CMDLINE): memfd 3M (4 KiB alignment) is fine for virtio-pmem
    # (no minimum alignment of its own); a 2 MiB-aligned ram backend follows
    # at the next 2 MiB; an explicit address inside it conflicts.
    m = make_machine(version)
    backend(m, "f3", 3 * MiB, "memfd")
    backend(m, "m1", GiB)
    backend(m, "f4", 4 * MiB, "memfd")
    add(m, driver="virtio-pmem-pci", id="p0", memdev="f3")
    add(m, driver="virtio-pmem-pci", id="p1", memdev="m1")
    assert error_of(
        add, m, driver="virtio-pmem-pci", id="p2", memdev="f4", memaddr=0x100400000
    ) == ("address range conflicts with memory device id='p1'")
    add(m, driver="virtio-pmem-pci", id="p3", memdev="f4")
    assert [(d["data"]["id"], d["data"]["memaddr"]) for d in m.memory.device_list()] == [
        ("p0", BASE),
        ("p1", 0x100400000),
        ("p3", 0x140400000),
    ]
    assert m.memory_size_summary()["plugged-memory"] == 3 * MiB + GiB + 4 * MiB
    assert m.qom_get("/machine/peripheral/p3", "addr") == 32


@pytest.mark.parametrize(
    ("version", "text"),
    [
        # 7.2's pre_plug asks for the region first; 8.2+ checks device memory first.
        ("7.2", "'memdev' property must be set"),
        (
            "10.0",
            "the configuration is not prepared for memory devices (e.g., for memory hotplug),"
            " consider specifying the maxmem option",
        ),
    ],
)
def test_no_maxmem_without_memdev(version: str, text: str) -> None:
    m = make_machine(version, maxmem=None)
    assert error_of(add, m, driver="virtio-pmem-pci", id="p") == text


@pytest.mark.parametrize(
    ("version", "text"),
    [
        ("7.2", "virtio based memory devices cannot be unplugged."),
        ("8.2", "this virtio based memory devices cannot be unplugged"),
        ("10.0", "this virtio based memory devices cannot be unplugged"),
    ],
)
def test_device_del(version: str, text: str) -> None:
    # Live (PC_CMDLINE) for 7.2 and 10.0; repeated, the text stays.
    m = make_machine(version, guest="cooperative", paused=False)
    backend(m, "m1", GiB)
    add(m, driver="virtio-pmem-pci", id="p", memdev="m1")
    assert error_of(m.device_del, "p") == text
    assert error_of(m.device_del, "p") == text
    assert len(m.memory.device_list()) == 1


@pytest.mark.parametrize("version", VERSIONS)
def test_q35_port(version: str) -> None:
    # Live: -machine q35 -m 1G,slots=2,maxmem=8G -device pcie-root-port,id=rp1,chassis=2
    # -object memory-backend-ram,id=cp,size=1G -device virtio-pmem-pci,id=cvp,memdev=cp,bus=rp1
    m = make_machine(version, "q35", ready=False)
    add(m, driver="pcie-root-port", id="rp1", chassis=2)
    backend(m, "cp", GiB)
    add(m, driver="virtio-pmem-pci", id="cvp", memdev="cp", bus="rp1")
    m.finish_init()
    p = "/machine/peripheral/cvp"
    assert m.qom_get(p, "parent_bus") == "/machine/peripheral/rp1/rp1"
    assert m.qom_get(p, "addr") == 0
    assert m.qom_get(p, "legacy-addr") == "00.0"
    assert m.qom_get(p, "hotpluggable") is True
    assert m.qom_get(p, "hotplugged") is False
    assert m.qom_get(p + "/virtio-backend", "parent_bus") == p + "/virtio-bus"
    expected = (
        "virtio based memory devices cannot be unplugged."
        if version == "7.2"
        else "this virtio based memory devices cannot be unplugged"
    )
    assert error_of(m.device_del, "cvp") == expected
    # Cold-plugged on pcie.0, the bus refuses first.
    m2 = make_machine(version, "q35", ready=False)
    backend(m2, "cp", GiB)
    add(m2, driver="virtio-pmem-pci", id="cvp", memdev="cp")
    m2.finish_init()
    assert m2.qom_get(p, "addr") == 8
    assert m2.qom_get(p, "hotpluggable") is False
    assert error_of(m2.device_del, "cvp") == "Bus 'pcie.0' does not support hotplugging"


def test_realize_without_memdev() -> None:
    # virtio_pmem_realize()'s own check, behind pre_plug's in device_add.
    m = make_machine("10.0")
    dev = VirtioPMEMPCI(m)
    assert error_of(dev.vdev.realize_checks) == "virtio-pmem memdev not set"
