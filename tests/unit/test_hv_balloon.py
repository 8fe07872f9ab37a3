"""hv-balloon and vmbus-bridge (hw/hyperv/hv-balloon.c, hw/hyperv/vmbus.c, hw/i386/pc.c).

Known answers marked *live* were taken from QEMU 7.2.22
(/usr/bin/qemu-system-x86_64) and 10.0.2 (/opt/qemu-10.0/bin/...), run as
``-S -nodefaults -display none -accel tcg`` plus the options in the test.
Under TCG QEMU has no Hyper-V SynIC, so no VMBus and no hv-balloon can be
created; everything with a VMBus (memdevd: KVM in use) follows the QEMU
function named in the test (10.0.2 source).  8.2 was not available; its
hv-balloon is the 10.0 one except for the memory-device core differences
(no region-size check in memory_device_pre_plug).
"""

from __future__ import annotations

import pytest

from memdevd.app import cli
from memdevd.app.startup import build_machine
from memdevd.commands.base import Runtime
from memdevd.commands.memdevd_extras import memslot_report
from memdevd.machine.clock import VirtualClock
from memdevd.machine.errors import CoreError
from memdevd.machine.machine import Machine
from memdevd.machine.memory_device import MemoryDeviceClass
from memdevd.releases.table import get_release
from memdevd.targets.x86_64.devices.hv_balloon import (
    HV_BALLOON_HA_MEMSLOT_SIZE_ALIGN,
    HvBalloon,
    decide_memslots,
    query_hv_balloon_status_report,
)
from memdevd.util import qemu_opts as Q

MiB = 1024 * 1024
GiB = 1024 * MiB
NEW = ("8.2", "10.0")
KVM = ["-memdevd", "kvm=on", "-accel", "kvm"]
BRIDGE = ["-device", "vmbus-bridge,id=vb"]


def _start(version: str, argv: list[str]) -> Machine:
    parsed = cli.parse(
        ["-memdevd", f"version={version}", "-display", "none", *argv], "qemu-system-x86_64"
    )
    machine, _ = build_machine(
        parsed.request, get_release(version), parsed.settings, clock=VirtualClock()
    )
    machine.runstate = "prelaunch"
    return machine


def start(version: str, *argv: str) -> Machine:
    return _start(version, list(argv))


def start_error(version: str, *argv: str) -> str:
    with pytest.raises(Q.OptionError) as info:
        _start(version, list(argv))
    return Q.format_error("qemu-system-x86_64", info.value).rstrip("\n")


def balloon_machine(version: str, *devices: str, mem: str = "-m 1G,maxmem=65G") -> Machine:
    """q35 on KVM with a VMBus and a 32 GiB ram backend m0."""
    return start(
        version,
        *KVM,
        "-M",
        "q35",
        *mem.split(),
        "-object",
        "memory-backend-ram,id=m0,size=32G",
        *BRIDGE,
        *devices,
    )


def hv_device(m: Machine) -> HvBalloon:
    [dev] = [d for d in m.devices() if isinstance(d, HvBalloon)]
    return dev


# --- what exists where (live) ------------------------------------------------------------


def test_7_2_has_no_hv_balloon() -> None:
    # live: the type is new in 8.2.
    printed = start_error("7.2", "-M", "q35", *BRIDGE, "-device", "hv-balloon")
    assert printed.splitlines()[-1] == (
        "qemu-system-x86_64: -device hv-balloon: 'hv-balloon' is not a valid device model name"
    )


@pytest.mark.parametrize("version", NEW)
def test_no_vmbus_without_bridge(version: str) -> None:
    # live (10.0): qdev_device_add finds no bus of the device's bus type.
    printed = start_error(version, "-M", "q35", "-m", "1G,maxmem=64G", "-device", "hv-balloon")
    assert printed == (
        "qemu-system-x86_64: -device hv-balloon: No 'vmbus' bus found for device 'hv-balloon'"
    )


@pytest.mark.parametrize("version", NEW)
def test_bridge_without_synic_under_tcg(version: str) -> None:
    # live: vmbus_bridge_realize() error_report()s and returns without a bus.
    printed = start_error(version, "-M", "q35", *BRIDGE, "-device", "hv-balloon")
    assert printed.splitlines() == [
        "qemu-system-x86_64: -device vmbus-bridge,id=vb: VMBus requires usable Hyper-V SynIC"
        " and VP_INDEX",
        "qemu-system-x86_64: -device hv-balloon: No 'vmbus' bus found for device 'hv-balloon'",
    ]


@pytest.mark.parametrize("version", ("7.2", "8.2", "10.0"))
def test_bridge_rules(version: str) -> None:
    # live: the SynIC message, then the uniqueness check of the second bridge.
    printed = start_error(version, "-M", "pc", "-device", "vmbus-bridge", "-device", "vmbus-bridge")
    assert printed.splitlines() == [
        "qemu-system-x86_64: -device vmbus-bridge: VMBus requires usable Hyper-V SynIC and"
        " VP_INDEX",
        "qemu-system-x86_64: -device vmbus-bridge: there can be at most one vmbus-bridge in the"
        " system",
    ]
    # live: machine "none" does not allow it as a dynamic sysbus device.
    printed = start_error(version, "-M", "none", "-device", "vmbus-bridge")
    assert printed == (
        "qemu-system-x86_64: -device vmbus-bridge: Parameter 'driver' expects a dynamic sysbus"
        " device type for the machine"
    )


@pytest.mark.parametrize("version", ("7.2", "8.2", "10.0"))
def test_bridge_on_tcg_starts_and_stays(version: str) -> None:
    # live: the machine starts; main-system-bus refuses hot-plug and unplug.
    m = start(version, "-M", "pc", *BRIDGE)
    m.finish_init()
    assert m.qom_list("/machine/peripheral/vb") == [
        {"name": "type", "type": "string"},
        {"name": "parent_bus", "type": "link<bus>"},
        {"name": "realized", "type": "bool"},
        {"name": "hotplugged", "type": "bool"},
        {"name": "hotpluggable", "type": "bool"},
        {"name": "irq", "type": "uint8"},
    ]
    assert m.qom_get("/machine/peripheral/vb", "parent_bus") == "/machine/unattached/sysbus"
    for call in (
        lambda: m.device_del("vb"),
        lambda: m.device_add({"driver": "vmbus-bridge"}, from_json=m.release.strict_device_add),
    ):
        with pytest.raises(CoreError) as info:
            call()
        assert info.value.desc == "Bus 'main-system-bus' does not support hotplugging"
    assert m.memory.device_list() == []


def test_device_add_without_vmbus_10_0() -> None:
    # live (10.0): device_add looks for the bus first.
    m = start("10.0", "-M", "q35", "-m", "1G,maxmem=64G")
    m.finish_init()
    with pytest.raises(CoreError) as info:
        m.device_add({"driver": "hv-balloon"}, from_json=True)
    assert info.value.desc == "No 'vmbus' bus found for device 'hv-balloon'"


# --- with a VMBus (KVM) ---------------------------------------------------------------------


@pytest.mark.parametrize("version", NEW)
def test_hv_balloon_with_memdev(version: str) -> None:
    m = balloon_machine(version, "-device", "hv-balloon,id=hv,memdev=m0")
    # hv_balloon_md_get_min_alignment(): 32 GiB, so the first fit in
    # [4 GiB, 68 GiB) is 32 GiB (memory_device_get_free_addr).
    # hv_balloon_md_fill_device_info(): HvBalloonDeviceInfo member order.
    [info] = m.memory.device_list()
    assert info == {
        "type": "hv-balloon",
        "data": {"id": "hv", "memaddr": 32 * GiB, "max-size": 32 * GiB, "memdev": "/objects/m0"},
    }
    assert list(info["data"]) == ["id", "memaddr", "max-size", "memdev"]
    # mdc->get_plugged_size = memory_device_get_region_size: the whole memdev.
    assert m.memory_size_summary() == {"base-memory": GiB, "plugged-memory": 32 * GiB}
    dev = hv_device(m)
    assert isinstance(dev, MemoryDeviceClass)
    assert m.qom_get("/objects/m0", "size") == 32 * GiB
    region = "/machine/peripheral/hv/hv-balloon[0]"
    assert m.qom_get(region, "container") == "/machine/device-memory[0]"
    assert m.qom_get(region, "addr") == 28 * GiB


@pytest.mark.parametrize("version", NEW)
def test_memslots_decided_and_reserved(version: str) -> None:
    # memory_device_memslot_decision_limit(): 256 * 32 GiB / 64 GiB = 128;
    # hv_balloon_decide_memslots(): ALIGN_UP(32 GiB / 128, 128 MiB) = 256 MiB,
    # 128 memslots.  Nothing is hot-added without a guest: all are reserved,
    # and memory_device_plug() counts an auto decision (memslots > 1).
    m = balloon_machine(version, "-device", "hv-balloon,id=hv,memdev=m0")
    dev = hv_device(m)
    assert (dev.memslot_count, dev.memslot_size) == (128, 256 * MiB)
    report = memslot_report(Runtime(m, m.release))
    assert (report["used-memslots"], report["required-memslots"]) == (0, 128)
    assert report["reserved-memslots"] == 128
    assert report["auto-decision-active"] == 1
    assert report["devices"][0]["used-memslots"] == 0


def test_decide_memslots_arithmetic() -> None:
    # hv_balloon_decide_memslots(): no minimum memslot size beyond the
    # 128 MiB alignment, the last memslot may be smaller, limit 1 = one
    # memslot as large as the region.
    assert decide_memslots(8 * GiB, 256) == (64, 128 * MiB)
    assert decide_memslots(8 * GiB, 1) == (1, 8 * GiB)
    assert decide_memslots(1000 * MiB, 3) == (3, 384 * MiB)
    assert decide_memslots(100 * MiB, 256) == (1, 100 * MiB)
    assert (HV_BALLOON_HA_MEMSLOT_SIZE_ALIGN >> 20) == 128


@pytest.mark.parametrize("version", NEW)
def test_empty_hv_balloon(version: str) -> None:
    # Without memdev get_memory_region() returns NULL: memory_device_is_empty().
    # memory_device_pre_plug() returns early (no "not prepared" error even
    # without maxmem), plug/plugged size skip it, the query lists it.
    m = start(version, *KVM, "-M", "q35", *BRIDGE, "-device", "hv-balloon,id=hv")
    assert m.device_memory is None
    assert m.memory.device_list() == [{"type": "hv-balloon", "data": {"id": "hv", "max-size": 0}}]
    assert m.memory_size_summary() == {"base-memory": 128 * MiB, "plugged-memory": 0}
    assert "hv-balloon[0]" not in hv_device(m).children


@pytest.mark.parametrize("version", NEW)
def test_empty_device_sorts_first(version: str) -> None:
    # memory_device_build_list(): address 0 of the empty device sorts first;
    # the allocator skips it (memory_device_get_free_addr).
    m = balloon_machine(
        version,
        "-device",
        "hv-balloon",
        "-device",
        "pc-dimm,id=d0,memdev=m1",
        mem="-m 1G,slots=1,maxmem=65G -object memory-backend-ram,id=m1,size=1G",
    )
    assert [(d["type"], d["data"].get("addr")) for d in m.memory.device_list()] == [
        ("hv-balloon", None),
        ("dimm", 4 * GiB),
    ]


@pytest.mark.parametrize("version", NEW)
def test_memdev_without_maxmem(version: str) -> None:
    # memory_device_pre_plug() (8.2+): no device memory.
    printed = start_error(
        version,
        *KVM,
        "-M",
        "q35",
        "-object",
        "memory-backend-ram,id=m0,size=1G",
        *BRIDGE,
        "-device",
        "hv-balloon,memdev=m0",
    )
    assert printed == (
        "qemu-system-x86_64: -device hv-balloon,memdev=m0: the configuration is not prepared for"
        " memory devices (e.g., for memory hotplug), consider specifying the maxmem option"
    )


@pytest.mark.parametrize("version", NEW)
def test_32g_alignment_needs_room(version: str) -> None:
    # Device memory [4 GiB, 12 GiB): ALIGN_UP(4 GiB, 32 GiB) lies beyond it.
    printed = start_error(
        version,
        *KVM,
        "-M",
        "q35",
        "-m",
        "1G,maxmem=9G",
        "-object",
        "memory-backend-ram,id=m0,size=4G",
        *BRIDGE,
        "-device",
        "hv-balloon,memdev=m0",
    )
    assert printed.endswith(
        "could not find position in guest address space for memory device - memory fragmented"
        " due to alignments"
    )


@pytest.mark.parametrize("version", NEW)
@pytest.mark.parametrize(
    ("device", "error"),
    [
        # memory_device_get_free_addr(): the hint must be 32 GiB aligned.
        ("hv-balloon,memdev=m0,addr=0x100000000", "address must be aligned to 0x800000000 bytes"),
        # hv_balloon_vmdev_realize(): sic, "memdev" for the addr property.
        ("hv-balloon,addr=0x800000000", "'memdev' property must not be set without a memdev"),
        # set_uuid(): error_set_from_qdev_prop_error(EINVAL).
        ("hv-balloon,instanceid=x", "Property 'hv-balloon.instanceid' doesn't take value 'x'"),
    ],
)
def test_realize_errors(version: str, device: str, error: str) -> None:
    printed = start_error(
        version,
        *KVM,
        "-M",
        "q35",
        "-m",
        "1G,maxmem=65G",
        "-object",
        "memory-backend-ram,id=m0,size=1G",
        *BRIDGE,
        "-device",
        device,
    )
    assert printed == f"qemu-system-x86_64: -device {device}: {error}"


@pytest.mark.parametrize("version", NEW)
def test_explicit_addr(version: str) -> None:
    m = balloon_machine(version, "-device", "hv-balloon,id=hv,memdev=m0,addr=0x800000000")
    assert m.memory.device_list()[0]["data"]["memaddr"] == 32 * GiB


@pytest.mark.parametrize("version", NEW)
def test_only_one_balloon(version: str) -> None:
    # hv_balloon_vmdev_realize(): qemu_add_balloon_handler() fails.
    printed = start_error(
        version, *KVM, "-M", "q35", *BRIDGE, "-device", "hv-balloon", "-device", "hv-balloon"
    )
    assert printed == "qemu-system-x86_64: -device hv-balloon: Only one balloon device is supported"


@pytest.mark.parametrize("version", NEW)
def test_busy_memdev(version: str) -> None:
    # hv_balloon_vmdev_realize(): the DIMM mapped m1 first.
    printed = start_error(
        version,
        *KVM,
        "-M",
        "q35",
        "-m",
        "1G,slots=1,maxmem=65G",
        "-object",
        "memory-backend-ram,id=m1,size=1G",
        *BRIDGE,
        "-device",
        "pc-dimm,memdev=m1",
        "-device",
        "hv-balloon,memdev=m1",
    )
    assert printed == (
        "qemu-system-x86_64: -device hv-balloon,memdev=m1: 'memdev' property specifies a busy"
        " memdev: m1"
    )


@pytest.mark.parametrize(
    ("version", "error"),
    [
        # 8.2 has no region-size check in memory_device_pre_plug (dropped by
        # eb1b7c4bd413 for hv-balloon): realize's own 4 KiB check refuses it.
        ("8.2", "'memdev' property memdev size has to be a multiple of 0x1000"),
        # 9.0 "memory-device: reintroduce memory region size check": the
        # ram backend's 2 MiB alignment, before the address search.
        ("10.0", "backend memory size must be multiple of 0x200000"),
    ],
)
def test_odd_memdev_size(version: str, error: str) -> None:
    printed = start_error(
        version,
        *KVM,
        "-M",
        "q35",
        "-m",
        "1G,maxmem=65G",
        "-object",
        "memory-backend-ram,id=m0,size=6000",
        *BRIDGE,
        "-device",
        "hv-balloon,memdev=m0",
    )
    assert printed == f"qemu-system-x86_64: -device hv-balloon,memdev=m0: {error}"


@pytest.mark.parametrize("version", NEW)
def test_never_hot_plugged_or_unplugged(version: str) -> None:
    # The vmbus has no hotplug handler: qdev_device_add / qdev_unplug refuse.
    m = balloon_machine(version, "-device", "hv-balloon,id=hv,memdev=m0")
    m.finish_init()
    with pytest.raises(CoreError) as info:
        m.device_add({"driver": "hv-balloon", "id": "h2"}, from_json=m.release.strict_device_add)
    assert info.value.desc == "Bus 'vmbus' does not support hotplugging"
    with pytest.raises(CoreError) as info:
        m.device_del("hv")
    assert info.value.desc == "Bus 'vmbus' does not support hotplugging"


@pytest.mark.parametrize("version", NEW)
def test_qom_view(version: str) -> None:
    m = balloon_machine(version, "-device", "hv-balloon,id=hv,memdev=m0")
    path = "/machine/peripheral/hv"
    # The recorded qom-list-properties of hv-balloon (10.0), then the region.
    assert [p["name"] for p in m.qom_list(path)] == [
        "type",
        "parent_bus",
        "realized",
        "hotplugged",
        "hotpluggable",
        "instanceid",
        "memdev",
        "addr",
        "legacy-memdev",
        "status-report",
        "hv-balloon[0]",
    ]
    assert m.qom_get(path, "parent_bus") == "/machine/peripheral/vb/vmbus"
    assert len(m.qom_get(path, "instanceid")) == 36
    assert m.qom_get(path, "addr") == 32 * GiB
    assert m.qom_get(path, "status-report") is False
    with pytest.raises(CoreError) as info:
        m.qom_set(path, "addr", 0)
    assert info.value.desc == (
        "Attempt to set property 'addr' on device 'hv' (type 'hv-balloon') after it was realized"
    )
    assert m.qom_get("/machine/peripheral/vb/vmbus", "type") == "vmbus"


@pytest.mark.parametrize("version", NEW)
def test_status_report_query(version: str) -> None:
    # qmp_query_hv_balloon_status_report(); live (10.0) for the first text.
    # No guest ever sends DM_STATUS_REPORT here.
    def desc(m: Machine) -> str:
        with pytest.raises(CoreError) as info:
            query_hv_balloon_status_report(m)
        return info.value.desc

    assert desc(start(version, "-M", "q35")) == "no hv-balloon device present"
    m = start(version, *KVM, "-M", "q35", *BRIDGE, "-device", "hv-balloon")
    assert desc(m) == "guest memory status reporting not enabled"
    m = start(version, *KVM, "-M", "q35", *BRIDGE, "-device", "hv-balloon,status-report=on")
    assert desc(m) == "no guest memory status report received yet"


@pytest.mark.parametrize("version", ("7.2", "8.2", "10.0"))
def test_main_system_bus_exists(version: str) -> None:
    # live: the bus vmbus-bridge sits on is findable by name; a bus-less
    # device cannot go on it (qdev_device_add: object_dynamic_cast fails).
    m = start(version, "-M", "pc", "-m", "1G,slots=2,maxmem=4G")
    m.object_add("memory-backend-ram", "m0", {"size": GiB})
    with pytest.raises(CoreError) as info:
        m.device_add(
            {"driver": "pc-dimm", "memdev": "m0", "bus": "main-system-bus"},
            from_json=m.release.strict_device_add,
        )
    assert info.value.desc == "Device 'pc-dimm' can't go on System bus"
