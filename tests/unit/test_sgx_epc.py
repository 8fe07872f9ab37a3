"""sgx-epc: the -machine sgx-epc.N option, EPC placement, queries (hw/i386/sgx*.c).

Known answers marked *live* were taken from QEMU 7.2.22
(/usr/bin/qemu-system-x86_64) and 10.0.2 (/opt/qemu-10.0/bin/...) run as
``-S -nodefaults -display none -accel tcg`` plus the options in the test, on
a host without /dev/sgx_vepc: they cover everything up to the point where a
``memory-backend-epc`` would be needed (QEMU registers that type only when
/dev/sgx_vepc opens).  Everything after that point follows the QEMU function
named in the test (10.0.2 source; 7.2 where it differs); 8.2 was not
available and is expected to answer as its source-derived release says.
"""

from __future__ import annotations

from typing import Any

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
from memdevd.targets.x86_64.devices.sgx_epc import (
    EMULATED_HOST_SGX,
    SgxEPC,
    query_sgx,
    query_sgx_capabilities,
    sgx_epc_state,
)
from memdevd.util import qemu_opts as Q

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
VERSIONS = ("7.2", "8.2", "10.0")
LIVE = ("7.2", "10.0")
SGX_ON = ["-memdevd", "sgx=on"]


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
    """The machine ``qemu-system-x86_64 -S ARGV`` creates (nothing hot-plugged)."""
    return _start(version, list(argv))


def start_error(version: str, *argv: str) -> str:
    """What QEMU prints on stderr (without the final newline) before exit(1)."""
    with pytest.raises(Q.OptionError) as info:
        _start(version, list(argv))
    return Q.format_error("qemu-system-x86_64", info.value).rstrip("\n")


def epc_machine(version: str, *extra: str, ram: str = "1G", maxmem: str = "8G") -> Machine:
    """q35 with two EPC sections of 64 MiB (node 0) and 28 MiB (node 1)."""
    return start(
        version,
        *SGX_ON,
        "-M",
        "q35,sgx-epc.0.memdev=e0,sgx-epc.0.node=0,sgx-epc.1.memdev=e1,sgx-epc.1.node=1",
        "-m",
        f"{ram},slots=2,maxmem={maxmem}",
        "-object",
        "memory-backend-epc,id=e0,size=64M",
        "-object",
        "memory-backend-epc,id=e1,size=28M",
        *extra,
    )


# --- the machine option (x86.c machine_set_sgx_epc, visit_type_SgxEPCList) -------------


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("option", "printed"),
    [
        # live: SgxEPC has two mandatory members (qapi/machine.json).
        ("q35,sgx-epc.0.memdev=e0", "Parameter 'sgx-epc.0.node' is missing"),
        ("q35,sgx-epc.0.node=0", "Parameter 'sgx-epc.0.memdev' is missing"),
        ("q35,sgx-epc.0.memdev=e0,sgx-epc.0.node=x", "Parameter 'sgx-epc.0.node' expects integer"),
        (
            "q35,sgx-epc.0.memdev=e0,sgx-epc.0.node=0,sgx-epc.0.foo=1",
            "Parameter 'sgx-epc.0.foo' is unexpected",
        ),
        ("q35,sgx-epc.memdev=e0", "Invalid parameter type for 'sgx-epc', expected: array"),
        # live: keyval_parse's list check, while parsing the option (with its location).
        (
            "q35,sgx-epc.1.memdev=e0,sgx-epc.1.node=0",
            "-M q35,sgx-epc.1.memdev=e0,sgx-epc.1.node=0: Parameter 'sgx-epc.0' missing",
        ),
        # live: only X86MachineState has the property.
        ("none,sgx-epc.0.memdev=e0,sgx-epc.0.node=0", "Property 'none-machine.sgx-epc' not found"),
        # live: sgx.c pc_machine_init_sgx_epc, object_property_parse() of the link.
        ("pc,sgx-epc.0.memdev=e0,sgx-epc.0.node=0", "Device 'e0' not found"),
    ],
)
def test_machine_option_errors(version: str, option: str, printed: str) -> None:
    assert start_error(version, "-M", option) == f"qemu-system-x86_64: {printed}"


@pytest.mark.parametrize("version", VERSIONS)
def test_memdev_must_be_an_epc_backend(version: str) -> None:
    # live: the link is link<memory-backend-epc> (sgx-epc.c sgx_epc_properties).
    printed = start_error(
        version,
        "-object",
        "memory-backend-ram,id=m0,size=4M",
        "-M",
        "q35,sgx-epc.0.memdev=m0,sgx-epc.0.node=0",
    )
    assert printed == (
        "qemu-system-x86_64: Invalid parameter type for 'memdev', expected: memory-backend-epc"
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_epc_backend_type_exists_only_with_sgx_vepc(version: str) -> None:
    # live: backends/hostmem-epc.c register_types() registers the type only
    # if /dev/sgx_vepc opens; -object and object-add then fail alike.
    printed = start_error(version, "-object", "memory-backend-epc,id=e0,size=4M")
    assert printed == "qemu-system-x86_64: invalid object type: memory-backend-epc"
    m = start(version)
    with pytest.raises(CoreError) as info:
        m.object_add("memory-backend-epc", "e0", {"size": 4 * MiB})
    assert info.value.desc == "invalid object type: memory-backend-epc"
    m = start(version, *SGX_ON)
    m.object_add("memory-backend-epc", "e0", {"size": 4 * MiB})


@pytest.mark.parametrize("version", VERSIONS)
def test_same_backend_twice_is_busy(version: str) -> None:
    # sgx-epc.c sgx_epc_realize: host_memory_backend_is_mapped().
    printed = start_error(
        version,
        *SGX_ON,
        "-object",
        "memory-backend-epc,id=e0,size=4M",
        "-M",
        "q35,sgx-epc.0.memdev=e0,sgx-epc.0.node=0,sgx-epc.1.memdev=e0,sgx-epc.1.node=0",
    )
    assert printed == "qemu-system-x86_64: can't use already busy memdev: e0"


@pytest.mark.parametrize("version", VERSIONS)
def test_node_out_of_uint32(version: str) -> None:
    # sgx.c: object_property_set_uint(node) of the int64 member; the uint32
    # property's visitor refuses it (qapi-visit-core.c visit_type_uint32).
    printed = start_error(
        version,
        *SGX_ON,
        "-object",
        "memory-backend-epc,id=e0,size=4M",
        "-M",
        "q35,sgx-epc.0.memdev=e0,sgx-epc.0.node=-1",
    )
    assert printed == "qemu-system-x86_64: Parameter 'node' expects uint32_t"


@pytest.mark.parametrize("version", VERSIONS)
def test_section_too_large_to_map(version: str) -> None:
    # hostmem-epc.c maps /dev/sgx_vepc with memory_region_init_ram_from_fd:
    # a section as large as the process's address space fails in mmap()
    # before pc_machine_init_sgx_epc's "causes EPC to wrap" check can run,
    # so on a 47-bit host that check is unreachable with one section.
    size = (1 << 64) - 4 * KiB
    printed = start_error(
        version,
        *SGX_ON,
        "-object",
        f"memory-backend-epc,id=e0,size={size}",
        "-M",
        "pc,sgx-epc.0.memdev=e0,sgx-epc.0.node=0",
    )
    assert printed == (
        "qemu-system-x86_64: unable to map backing store for guest RAM: Cannot allocate memory"
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_sections_that_wrap(version: str) -> None:
    # sgx.c pc_machine_init_sgx_epc: "0x%"PRIu64 prints decimal after 0x.
    # Only a host whose address space holds such a mapping gets this far.
    size = (1 << 64) - 4 * KiB
    parsed = cli.parse(
        [
            "-memdevd",
            f"version={version}",
            "-display",
            "none",
            *SGX_ON,
            "-object",
            f"memory-backend-epc,id=e0,size={size}",
            "-M",
            "pc,sgx-epc.0.memdev=e0,sgx-epc.0.node=0",
        ],
        "qemu-system-x86_64",
    )
    parsed.settings.host.user_address_space = 1 << 64
    with pytest.raises(Q.OptionError) as info:
        build_machine(parsed.request, get_release(version), parsed.settings, clock=VirtualClock())
    printed = Q.format_error("qemu-system-x86_64", info.value).rstrip("\n")
    assert printed == f"qemu-system-x86_64: Size of all 'sgx-epc' =0x{size} causes EPC to wrap"


# --- placement (sgx.c pc_machine_init_sgx_epc, sgx-epc.c sgx_epc_realize, pc.c) -----


@pytest.mark.parametrize("version", VERSIONS)
def test_sections_follow_high_ram_and_move_device_memory(version: str) -> None:
    # q35 with 3 GiB: lowmem 2 GiB, 1 GiB above 4 GiB (pc_q35_init), so the
    # EPC base is 4 GiB + 1 GiB; e1 follows e0 directly; device memory
    # starts at ROUND_UP(5 GiB + 92 MiB, 1 GiB) (pc_get_device_memory_range).
    m = epc_machine(version, ram="3G")
    sections = [d["data"] for d in m.memory.device_list() if d["type"] == "sgx-epc"]
    assert [(s["memaddr"], s["size"], s["node"]) for s in sections] == [
        (5 * GiB, 64 * MiB, 0),
        (5 * GiB + 64 * MiB, 28 * MiB, 1),
    ]
    assert m.device_memory is not None
    assert m.device_memory.base == 6 * GiB
    state = sgx_epc_state(m)
    assert state is not None
    assert (state.base, state.size) == (5 * GiB, 92 * MiB)


@pytest.mark.parametrize("version", VERSIONS)
def test_no_rounding_between_high_ram_and_epc(version: str) -> None:
    # sgx_epc->base = above_4g_mem_start + above_4g_mem_size, unrounded;
    # pc_above_4g_end() = base + size; only the device-memory base is rounded.
    # q35 with 3.5 GiB: lowmem 2 GiB, 1.5 GiB above -> EPC at 5.5 GiB,
    # device memory at ROUND_UP(5.5 GiB + 64 MiB, 1 GiB) = 6 GiB.
    m = start(
        version,
        *SGX_ON,
        "-M",
        "q35,sgx-epc.0.memdev=e0,sgx-epc.0.node=0",
        "-m",
        "3584M,slots=1,maxmem=8G",
        "-object",
        "memory-backend-epc,id=e0,size=64M",
    )
    [epc] = m.memory.device_list()
    assert epc["data"]["memaddr"] == 5 * GiB + 512 * MiB
    assert m.device_memory is not None
    assert m.device_memory.base == 6 * GiB


@pytest.mark.parametrize("version", VERSIONS)
def test_small_ram_epc_at_4g(version: str) -> None:
    # pc with 1 GiB: nothing above 4 GiB, EPC at 4 GiB; 1 GiB of EPC ends
    # exactly at 5 GiB, where device memory starts; a DIMM goes there.
    m = start(
        version,
        *SGX_ON,
        "-M",
        "pc,sgx-epc.0.memdev=e0,sgx-epc.0.node=0",
        "-m",
        "1G,slots=2,maxmem=8G",
        "-object",
        "memory-backend-epc,id=e0,size=1G",
        "-object",
        "memory-backend-ram,id=m0,size=1G",
        "-device",
        "pc-dimm,id=d0,memdev=m0",
    )
    devices = m.memory.device_list()
    assert [(d["type"], d["data"].get("memaddr", d["data"].get("addr"))) for d in devices] == [
        ("sgx-epc", 4 * GiB),
        ("dimm", 5 * GiB),
    ]


# --- query-memory-devices / query-memory-size-summary (memory-device.c) ---------------


@pytest.mark.parametrize("version", VERSIONS)
def test_query_memory_devices_entry(version: str) -> None:
    # sgx_epc_md_fill_device_info: SgxEPCDeviceInfo without "id" (never set),
    # members in QAPI order; listed by address, before device memory.
    m = epc_machine(version, "-object", "memory-backend-ram,id=m0,size=1G")
    m.device_add({"driver": "pc-dimm", "id": "d0", "memdev": "m0"}, from_json=False)
    devices = m.memory.device_list()
    assert [d["type"] for d in devices] == ["sgx-epc", "sgx-epc", "dimm"]
    assert devices[0] == {
        "type": "sgx-epc",
        "data": {"memaddr": 4 * GiB, "size": 64 * MiB, "node": 0, "memdev": "/objects/e0"},
    }
    assert list(devices[1]["data"]) == ["memaddr", "size", "node", "memdev"]


@pytest.mark.parametrize("version", VERSIONS)
def test_epc_not_in_plugged_memory(version: str) -> None:
    # sgx_epc_md_get_plugged_size() is 0: get_plugged_memory_size adds nothing.
    m = epc_machine(version)
    assert m.memory_size_summary() == {"base-memory": GiB, "plugged-memory": 0}


@pytest.mark.parametrize(
    ("version", "error"),
    [
        # 7.2 memory_device_check_addable(): memory_device_used_region_size()
        # walks every realized memory device, the EPC sections included.
        (
            "7.2",
            "not enough space, currently 0x20000000 in use of total space for memory devices"
            " 0x40000000",
        ),
        # 8.2+: ms->device_memory->used_region_size only grows in
        # memory_device_plug(), which the sections never go through.
        ("8.2", None),
        ("10.0", None),
    ],
)
def test_epc_counts_against_maxmem_only_in_7_2(version: str, error: str | None) -> None:
    m = start(
        version,
        *SGX_ON,
        "-M",
        "pc,sgx-epc.0.memdev=e0,sgx-epc.0.node=0",
        "-m",
        "1G,slots=1,maxmem=2G",
        "-object",
        "memory-backend-epc,id=e0,size=512M",
    )
    m.finish_init()
    m.object_add("memory-backend-ram", "m0", {"size": GiB})
    if error is None:
        m.device_add({"driver": "pc-dimm", "id": "d0", "memdev": "m0"}, from_json=False)
        assert m.memory_size_summary()["plugged-memory"] == GiB
    else:
        with pytest.raises(CoreError) as info:
            m.device_add({"driver": "pc-dimm", "id": "d0", "memdev": "m0"}, from_json=False)
        assert info.value.desc == error


@pytest.mark.parametrize("version", VERSIONS)
def test_epc_backend_is_busy_for_a_dimm(version: str) -> None:
    # pc-dimm.c pc_dimm_realize: the backend is mapped by the section.
    m = epc_machine(version)
    m.finish_init()
    with pytest.raises(CoreError) as info:
        m.device_add({"driver": "pc-dimm", "id": "d0", "memdev": "e0"}, from_json=False)
    assert info.value.desc == "can't use already busy memdev: e0"


# --- qdev / QOM ------------------------------------------------------------------------------


@pytest.mark.parametrize("version", LIVE)
def test_device_add_refused(version: str) -> None:
    # live: sgx_epc_class_init sets user_creatable = false.
    m = start(version)
    m.finish_init()
    with pytest.raises(CoreError) as info:
        m.device_add({"driver": "sgx-epc"}, from_json=m.release.strict_device_add)
    assert info.value.desc == "Parameter 'driver' expects a pluggable device type"


@pytest.mark.parametrize("version", VERSIONS)
def test_device_del_refused(version: str) -> None:
    # qdev.c qdev_unplug: dc->hotpluggable is false (sgx_epc_class_init).
    m = epc_machine(version)
    m.finish_init()
    with pytest.raises(CoreError) as info:
        m.device_del("/machine/unattached/device[0]")
    assert info.value.desc == "Device 'sgx-epc' does not support hotplugging"


@pytest.mark.parametrize("version", VERSIONS)
def test_qom_view(version: str) -> None:
    # qdev.c device_set_realized: parentless devices go to
    # /machine/unattached/device[N]; the sections are the first (before the vCPUs).
    m = epc_machine(version)
    path = "/machine/unattached/device[1]"
    assert [p["name"] for p in m.qom_list(path)] == [
        # The recorded qom-list-properties of sgx-epc (both releases).
        "type",
        "parent_bus",
        "realized",
        "hotplugged",
        "hotpluggable",
        "memdev",
        "node",
        "addr",
        "legacy-memdev",
        "size",
    ]
    assert m.qom_get(path, "type") == "sgx-epc"
    assert m.qom_get(path, "memdev") == "/objects/e1"
    assert m.qom_get(path, "size") == 28 * MiB
    assert m.qom_get(path, "addr") == 4 * GiB + 64 * MiB
    assert m.qom_get(path, "node") == 1
    assert m.qom_get(path, "parent_bus") == ""
    assert m.qom_get(path, "hotplugged") is False
    with pytest.raises(CoreError) as info:
        m.qom_set(path, "node", 0)
    assert info.value.desc == (
        "Attempt to set property 'node' on anonymous device (type 'sgx-epc') after it was realized"
    )
    with pytest.raises(CoreError) as info:
        m.qom_set(path, "size", 1)
    assert info.value.desc == "Property 'sgx-epc.size' is not writable"
    # x86.c machine_get_sgx_epc; sgx.c: the "sgx-epc" container region.
    assert m.qom_get("/machine", "sgx-epc") == [
        {"memdev": "e0", "node": 0},
        {"memdev": "e1", "node": 1},
    ]
    assert m.qom_get("/machine/sgx-epc[0]", "size") == 92 * MiB
    assert m.qom_get("/machine/sgx-epc[0]", "addr") == 4 * GiB
    assert m.qom_get("/objects/e1/e1[0]", "container") == "/machine/sgx-epc[0]"
    assert m.qom_get("/objects/e1/e1[0]", "addr") == 64 * MiB


@pytest.mark.parametrize("version", VERSIONS)
def test_machine_property_without_sections(version: str) -> None:
    # The recorded default: qom-get /machine sgx-epc -> [].
    m = start(version, "-M", "pc")
    assert m.qom_get("/machine", "sgx-epc") == []


@pytest.mark.parametrize("version", VERSIONS)
def test_memory_device_interface(version: str) -> None:
    m = epc_machine(version)
    devices = [d for d in m.devices() if isinstance(d, SgxEPC)]
    assert len(devices) == 2
    for dev in devices:
        assert isinstance(dev, MemoryDeviceClass)
        assert dev.get_plugged_size() == 0
        assert not dev.hotplugged


# --- query-sgx / query-sgx-capabilities (sgx.c) ------------------------------------------


@pytest.mark.parametrize("version", LIVE)
def test_query_sgx_without_sections(version: str) -> None:
    # live: qmp_query_sgx, x86ms->sgx_epc_list is NULL.
    with pytest.raises(CoreError) as info:
        query_sgx(start(version, "-M", "q35"))
    assert info.value.desc == "No EPC regions defined, SGX not available"


def test_query_sgx_on_machine_none() -> None:
    # qmp_query_sgx: object_dynamic_cast(machine, TYPE_PC_MACHINE) fails.
    with pytest.raises(CoreError) as info:
        query_sgx(start("10.0", "-M", "none"))
    assert info.value.desc == "SGX is only supported on PC machines"


@pytest.mark.parametrize(
    ("version", "desc"),
    [
        ("7.2", "SGX is not enabled in KVM"),  # live
        # 8.2 still has qemu_open_old(); "hw/i386/sgx: Get rid of
        # qemu_open_old()" came in 9.1.
        ("8.2", "SGX is not enabled in KVM"),
        # live: qemu_open()'s error; "SGX is not enabled in KVM" is only a hint.
        ("10.0", "Could not open '/dev/sgx_vepc': No such file or directory"),
    ],
)
def test_query_sgx_capabilities_without_sgx_vepc(version: str, desc: str) -> None:
    with pytest.raises(CoreError) as info:
        query_sgx_capabilities(start(version, "-M", "q35"))
    assert info.value.desc == desc


@pytest.mark.parametrize("version", VERSIONS)
def test_query_sgx(version: str) -> None:
    # qmp_query_sgx: all four features true, the sections from the devices;
    # SGXInfo.section-size (the total) until it was removed in 8.0.
    info = query_sgx(epc_machine(version))
    expected: dict[str, Any] = {"sgx": True, "sgx1": True, "sgx2": True, "flc": True}
    if version == "7.2":
        expected["section-size"] = 92 * MiB
    expected["sections"] = [{"node": 0, "size": 64 * MiB}, {"node": 1, "size": 28 * MiB}]
    assert info == expected
    assert list(info) == list(expected)


@pytest.mark.parametrize("version", VERSIONS)
def test_query_sgx_capabilities(version: str) -> None:
    # qmp_query_sgx_capabilities reads host CPUID; memdevd's emulated host.
    info = query_sgx_capabilities(start(version, *SGX_ON, "-M", "q35"))
    sections = [{"node": n, "size": s} for n, s in EMULATED_HOST_SGX["sections"]]
    expected: dict[str, Any] = {"sgx": True, "sgx1": True, "sgx2": True, "flc": True}
    if version == "7.2":
        expected["section-size"] = sum(s["size"] for s in sections)
    expected["sections"] = sections
    assert info == expected


def test_query_sgx_follows_the_machine_property() -> None:
    # qmp_query_sgx tests x86ms->sgx_epc_list, which qom-set replaces
    # (machine_set_sgx_epc) without touching the sections already made.
    m = epc_machine("10.0")
    m.qom_set("/machine", "sgx-epc", [])
    with pytest.raises(CoreError) as info:
        query_sgx(m)
    assert info.value.desc == "No EPC regions defined, SGX not available"
    assert [d["type"] for d in m.memory.device_list()] == ["sgx-epc", "sgx-epc"]
    with pytest.raises(CoreError) as info:
        m.qom_set("/machine", "sgx-epc", [{"memdev": "e0"}])
    assert info.value.desc == "Parameter 'sgx-epc[0].node' is missing"


# --- memslots ---------------------------------------------------------------------------------


def test_sections_take_kvm_memslots_outside_device_memory() -> None:
    # 8.2+: used memslots come from the device-memory listener
    # (memory_devices_region_mod), which never sees the EPC sections; KVM
    # (kvm_get_free_memslots) and vhost do, one memslot per section.
    m = epc_machine("10.0", "-memdevd", "kvm-memslots=64")
    report = memslot_report(Runtime(m, m.release))
    assert report["kvm"] == {"max": 64, "base": 8 + 2, "free": 54}
    assert report["used-memslots"] == 0
    # 7.2 keeps no accounting; its stand-in counts every realized memory
    # device, the sections included.
    m = epc_machine("7.2", "-memdevd", "kvm-memslots=64")
    report = memslot_report(Runtime(m, m.release))
    assert report["used-memslots"] == 2
    assert report["kvm"] == {"max": 64, "base": 8, "free": 54}
