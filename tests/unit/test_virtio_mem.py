"""virtio-mem-pci, pcie-root-port and the event throttle, on the machine core.

Known answers were taken from live QEMU 7.2.22 (/usr/bin/qemu-system-x86_64)
and 10.0.2 (/opt/qemu-10.0/bin/qemu-system-x86_64), both run as
``-S -nodefaults -display none -accel tcg -qmp unix:...`` plus the
``-machine``/``-m`` named beside each test; backends came from object-add,
devices from device_add, as the tests do here.  8.2 was not available; its
release shares 10.0's answers wherever the two releases agree in the source.

Guest activity cannot be observed on a QEMU without a guest (with the VM
running but only firmware, ``size`` stays 0 and no event comes: checked on
both releases); the driver, throttle and memslot-activation tests follow the
QEMU functions named in them.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memdevd.machine.clock import VirtualClock
from memdevd.machine.devices.pcie_root_port import parse_pci_devfn
from memdevd.machine.devices.virtio_mem import (
    VirtioMemGuestRate,
    VirtioMEMPCI,
    decide_memslots,
)
from memdevd.machine.errors import CoreError, ErrorClass
from memdevd.machine.event_throttle import EventThrottle
from memdevd.machine.guest import GuestConfig
from memdevd.machine.host import HostFacts
from memdevd.machine.machine import Machine, MachineConfig
from memdevd.machine.qdev import Device
from memdevd.releases.table import get_release
from memdevd.targets.x86_64.board import PC, Q35
from memdevd.targets.x86_64.machine_types import pc_alias, q35_alias

# Long enough for any pending guest action to have happened.
GUEST_IDLE_POLL_NS = 1_000_000_000
KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
MS = 1_000_000
SEC = 1_000_000_000
BASE = 0x100000000
VERSIONS = ("7.2", "10.0")
ALL_VERSIONS = ("7.2", "8.2", "10.0")
PC_CMDLINE = "-machine pc -m 1G,slots=2,maxmem=8G"

Events = list[tuple[int, str, Any]]


# --- helpers -------------------------------------------------------------------


def make_machine(
    version: str = "10.0",
    board: str = "pc",
    ram: int = GiB,
    maxmem: int | None = 8 * GiB,
    slots: int = 2,
    *,
    guest: str = "none",
    paused: bool = True,
    ready: bool = True,
    machine_type: str | None = None,
    host: HostFacts | None = None,
) -> Machine:
    """``qemu-system-x86_64 [-S] -machine BOARD -m RAM,slots=,maxmem=``."""
    release = get_release(version)
    alias = pc_alias(release) if board == "pc" else q35_alias(release)
    config = MachineConfig(
        cpu_model="qemu64",  # the pc/q35 default (the target resolves it)
        machine_type=machine_type or alias,
        alias=board,
        board=PC if board == "pc" else Q35,
        ram_size=ram,
        maxram_size=maxmem if maxmem is not None else ram,
        ram_slots=slots if maxmem is not None else 0,
        start_paused=paused,
        guest=GuestConfig.parse(guest),
    )
    m = Machine(config, release, host=host, clock=VirtualClock())
    init_board = getattr(m, "init_board", None)
    if init_board is not None:
        init_board()
    else:  # pragma: no cover - Machine before init_board()
        m.create_machine_ram()
    if ready:
        m.finish_init()
    return m


def record(m: Machine) -> Events:
    """Collect (time, name, data) of every event the machine sends."""
    events: Events = []
    clock = m.clock
    m.set_event_sink(lambda name, data, _ts: events.append((clock.now_ns(), name, data)))
    return events


def add(m: Machine, **args: Any) -> Device:
    """``device_add`` as the release parses it (7.2: QemuOpts strings)."""
    if m.release.strict_device_add:
        return m.device_add(dict(args), from_json=True)
    opts: dict[str, Any] = {}
    for key, value in args.items():
        if isinstance(value, bool):
            opts[key] = "on" if value else "off"
        else:
            opts[key] = str(value)
    return m.device_add(opts, from_json=False)


def add_error(m: Machine, **args: Any) -> str:
    with pytest.raises(CoreError) as info:
        add(m, **args)
    return info.value.desc


def error_of(fn: Any, *args: Any) -> str:
    with pytest.raises(CoreError) as info:
        fn(*args)
    return info.value.desc


def backend(m: Machine, bid: str, size: int, kind: str = "ram", **props: Any) -> None:
    m.object_add(f"memory-backend-{kind}", bid, {"size": size, **props})


def vmem(m: Machine, dev_id: str) -> VirtioMEMPCI:
    dev = m.find_device(dev_id)
    assert isinstance(dev, VirtioMEMPCI)
    return dev


def advance(m: Machine, ns: int) -> None:
    clock = m.clock
    assert isinstance(clock, VirtualClock)
    clock.advance(ns)


def set_rate(m: Machine, bytes_per_step: int, step_ns: int) -> None:
    # The field a GuestConfig can carry (see VirtioMemGuestRate).
    m.guest.config.virtio_mem_rate = VirtioMemGuestRate(bytes_per_step, step_ns)


def snapshot(m: Machine) -> dict[str, Any]:
    dm = m.device_memory
    return {
        "devices": m.memory.device_list(),
        "summary": m.memory_size_summary(),
        "peripheral": m.qom_list("/machine/peripheral"),
        "anon": m.qom_list("/machine/peripheral-anon"),
        "anon_counter": m.anon_counter,
        "mapped": {b.id: b.mapped for b in m.backends()},
        "accounting": None
        if dm is None
        else (dm.used_region_size, dm.required_memslots, dm.used_memslots),
        "qom-devices": [d.canonical_path() for d in m.devices()],
    }


# --- realize and pre_plug errors, in QEMU's order ----------------------------------

# Live: PC_CMDLINE; backends m0, m1 (ram 1G), m3M (ram 3M), f3M (memfd 3M),
# f1G (memfd 1G), pre (ram 1G, prealloc=on); pc-dimm d0 on m0.
_ERRORS: list[tuple[dict[str, Any], str, str]] = [
    ({}, "'memdev' property must be set", "'memdev' property must be set"),
    (
        {"memdev": "m0"},
        "'memdev' property specifies a busy memdev: m0",
        "'memdev' property specifies a busy memdev: m0",
    ),
    (
        {"memdev": "pc.ram"},
        "'memdev' property specifies a busy memdev: pc.ram",
        "'memdev' property specifies a busy memdev: pc.ram",
    ),
    (
        {"memdev": "pre"},
        "",  # 7.2 accepts a preallocated memdev
        "'memdev' property specifies a memdev with preallocation enabled: pre."
        " Instead, specify 'prealloc=on' for the virtio-mem device. ",
    ),
    (
        {"memdev": "m1", "node": 1},
        "'node' property has value '1', which exceedsthe number of numa nodes: 1",
        "'node' property has value '1', which exceedsthe number of numa nodes: 1",
    ),
    (
        {"memdev": "m1", "block-size": 3 * MiB},
        "'block-size' property has to be a power of two",
        "'block-size' property has to be a power of two",
    ),
    (
        {"memdev": "m1", "block-size": 512 * KiB},
        "'block-size' property has to be at least 0x100000",
        "'block-size' property has to be at least 0x100000",
    ),
    (
        {"memdev": "m1", "block-size": 2 * GiB},
        "backend memory size must be multiple of 0x80000000",
        "'memdev' property memdev size has to be multiples of'block-size' (0x80000000)",
    ),
    (
        {"memdev": "m1", "requested-size": 1 * MiB},
        "'requested-size' property has to be multiples of 'block-size' (0x200000)",
        "'requested-size' property has to be multiples of 'block-size' (0x200000)",
    ),
    (
        {"memdev": "m1", "memaddr": 0x100100000},
        "address must be aligned to 0x200000 bytes",
        "address must be aligned to 0x200000 bytes",
    ),
    (
        {"memdev": "m3M"},
        "backend memory size must be multiple of 0x200000",
        "backend memory size must be multiple of 0x200000",
    ),
    (
        # memfd: 4 KiB backend alignment, so 10.0 fails in realize instead.
        {"memdev": "f3M"},
        "backend memory size must be multiple of 0x200000",
        "'memdev' property memdev size has to be multiples of'block-size' (0x200000)",
    ),
    (
        {"memdev": "f1G", "memaddr": 0x100100000},
        "address must be aligned to 0x200000 bytes",
        "address must be aligned to 0x200000 bytes",
    ),
    (
        {"memdev": "m1", "dynamic-memslots": True, "unplugged-inaccessible": "off"},
        "Property 'virtio-mem-pci.dynamic-memslots' not found",
        "'dynamic-memslots' property set to 'on' requires 'unplugged-inaccessible' to be 'on'",
    ),
    ({"memdev": "nope"}, "Device 'nope' not found", "Device 'nope' not found"),
    (
        {"memdev": "/machine"},
        "Invalid parameter type for 'memdev', expected: memory-backend",
        "Invalid parameter type for 'memdev', expected: memory-backend",
    ),
    (
        {"memdev": "m1", "unplugged-inaccessible": "bad"},
        "Parameter 'unplugged-inaccessible' does not accept value 'bad'",
        "Parameter 'unplugged-inaccessible' does not accept value 'bad'",
    ),
    ({"memdev": "m1", "size": 0}, "Property 'virtio-mem.size' is not writable", ""),
]


def _error_machine(version: str) -> Machine:
    m = make_machine(version)
    backend(m, "m0", GiB)
    backend(m, "m1", GiB)
    backend(m, "m3M", 3 * MiB)
    backend(m, "f3M", 3 * MiB, "memfd")
    backend(m, "f1G", GiB, "memfd")
    backend(m, "pre", GiB, prealloc=True)
    add(m, driver="pc-dimm", id="d0", memdev="m0")
    return m


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("args", "text72", "text100"), _ERRORS)
def test_device_add_errors(version: str, args: dict[str, Any], text72: str, text100: str) -> None:
    m = _error_machine(version)
    expected = text72 if version == "7.2" else text100
    if not expected:
        if version == "10.0" and "size" in args:
            # 10.0's strict JSON path reaches the same setter.
            expected = "Property 'virtio-mem.size' is not writable"
        else:
            add(m, driver="virtio-mem-pci", id="x", **args)
            return
    before = snapshot(m)
    assert add_error(m, driver="virtio-mem-pci", id="x", **args) == expected
    assert snapshot(m) == before


def test_memdev_not_found_is_device_not_found() -> None:
    m = _error_machine("10.0")
    with pytest.raises(CoreError) as info:
        add(m, driver="virtio-mem-pci", id="x", memdev="nope")
    assert info.value.error_class == ErrorClass.DEVICE_NOT_FOUND


def test_size_strings_per_release() -> None:
    # 7.2's device_add goes through QemuOpts: "1G" is a size; 10.0 is JSON-typed.
    m72 = _error_machine("7.2")
    add(m72, driver="virtio-mem-pci", id="x", memdev="m1", **{"requested-size": "512M"})
    assert vmem(m72, "x").mem.requested_size == 512 * MiB
    m10 = _error_machine("10.0")
    assert (
        add_error(m10, driver="virtio-mem-pci", id="x", memdev="m1", **{"requested-size": "1G"})
        == "Parameter 'requested-size' expects uint64"
    )
    assert (
        add_error(m10, driver="virtio-mem-pci", id="x", memdev="m1", **{"block-size": "4M"})
        == "Parameter 'block-size' expects uint64"
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_requested_size_above_backend_accepted_at_realize(version: str) -> None:
    # Live (PC_CMDLINE): requested-size 2G on a 1G memdev is accepted by both.
    m = _error_machine(version)
    add(m, driver="virtio-mem-pci", id="x17", memdev="m1", **{"requested-size": 2 * GiB})
    assert m.memory.device_list()[-1] == {
        "type": "virtio-mem",
        "data": {
            "id": "x17",
            "memaddr": 0x140000000,
            "requested-size": 2 * GiB,
            "size": 0,
            "max-size": GiB,
            "block-size": 2 * MiB,
            "node": 0,
            "memdev": "/objects/m1",
        },
    }


@pytest.mark.parametrize(
    ("version", "text"),
    [
        (
            "7.2",
            "memory devices (e.g. for memory hotplug) are not enabled,"
            " please specify the maxmem option",
        ),
        (
            "10.0",
            "the configuration is not prepared for memory devices (e.g., for memory hotplug),"
            " consider specifying the maxmem option",
        ),
    ],
)
def test_no_maxmem(version: str, text: str) -> None:
    m = make_machine(version, maxmem=None)
    backend(m, "m1", GiB)
    assert add_error(m, driver="virtio-mem-pci", id="v", memdev="m1") == text


# --- placement, block size, unplugged-inaccessible ---------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_addresses_and_pci_slots(version: str) -> None:
    # Live (PC_CMDLINE), the successful devices of _ERRORS in order: 7.2 places
    # x4 (pre) at 0x140000000 / addr 16, x15 (1M blocks) 0x180000000 / 24,
    # x16 (memfd, 1M) 0x1c0000000 / 32; 10.0 refuses x4, so x15 and x16 move
    # down one slot and 1 GiB.
    m = _error_machine(version)
    added = [("x4", {"memdev": "pre"})] if version == "7.2" else []
    added += [
        ("x15", {"memdev": "m1", "block-size": MiB}),
        ("x16", {"memdev": "f1G", "block-size": MiB}),
    ]
    for dev_id, args in added:
        add(m, driver="virtio-mem-pci", id=dev_id, **args)
    got = [
        (d["data"]["id"], d["data"]["memaddr"], d["data"]["block-size"])
        for d in m.memory.device_list()
        if d["type"] == "virtio-mem"
    ]
    addrs = [m.qom_get(f"/machine/peripheral/{i}", "addr") for i, _ in added]
    if version == "7.2":
        assert got == [
            ("x4", 0x140000000, 2 * MiB),
            ("x15", 0x180000000, MiB),
            ("x16", 0x1C0000000, MiB),
        ]
        assert addrs == [16, 24, 32]
    else:
        assert got == [("x15", 0x140000000, MiB), ("x16", 0x180000000, MiB)]
        assert addrs == [16, 24]
    # memfd has no shared zeropage: unplugged-inaccessible "auto" becomes "on".
    assert m.qom_get("/machine/peripheral/x16", "unplugged-inaccessible") == "on"


@pytest.mark.parametrize(
    ("version", "kind", "props", "expected"),
    [
        # Live pc: a ram backend reads "off" on 7.2 (auto, shared zeropage), "on" on 10.0.
        ("7.2", "ram", {}, "off"),
        ("10.0", "ram", {}, "on"),
        ("7.2", "memfd", {}, "on"),
        # virtio_mem_has_shared_zeropage(): shared RAM has none.
        ("7.2", "ram", {"share": True}, "on"),
    ],
)
def test_unplugged_inaccessible_resolution(
    version: str, kind: str, props: dict[str, Any], expected: str
) -> None:
    m = make_machine(version)
    backend(m, "b", GiB, kind, **props)
    add(m, driver="virtio-mem-pci", id="v", memdev="b")
    assert m.qom_get("/machine/peripheral/v", "unplugged-inaccessible") == expected


@pytest.mark.parametrize(
    ("machine_type", "kind", "inaccessible", "early"),
    # Live 10.0, -machine TYPE -m 1G,maxmem=8G, ram backend: pc_compat_6_2
    # ("off"), pc_compat_8_0 ("auto", resolved at realize), hw_compat_7_2
    # (x-early-migration off).  Live 7.2 pc-i440fx-6.2 with memfd: "off" too.
    [
        ("pc-i440fx-6.2", "ram", "off", False),
        ("pc-i440fx-6.2", "memfd", "off", False),
        ("pc-i440fx-7.2", "ram", "off", False),
        ("pc-i440fx-8.0", "ram", "off", True),
        ("pc-i440fx-8.0", "memfd", "on", True),
        ("pc-i440fx-8.1", "ram", "on", True),
    ],
)
def test_virtio_mem_machine_compat(
    machine_type: str, kind: str, inaccessible: str, early: bool
) -> None:
    m = make_machine("10.0", machine_type=machine_type)
    backend(m, "b", GiB, kind)
    add(m, driver="virtio-mem-pci", id="v", memdev="b")
    assert m.qom_get("/machine/peripheral/v", "unplugged-inaccessible") == inaccessible
    assert m.qom_get("/machine/peripheral/v", "x-early-migration") is early


def test_virtio_mem_machine_compat_7_2() -> None:
    m = make_machine("7.2", machine_type="pc-i440fx-6.2")
    backend(m, "b", GiB, "memfd")
    add(m, driver="virtio-mem-pci", id="v", memdev="b")
    assert m.qom_get("/machine/peripheral/v", "unplugged-inaccessible") == "off"


@pytest.mark.parametrize(
    ("thp", "mount_page", "kind", "block"),
    [
        # virtio_mem_default_block_size(): the THP size for backends on host
        # pages, the page size (at least 1 MiB) on hugetlbfs.
        (2 * MiB, None, "ram", 2 * MiB),
        (1 * MiB, None, "ram", 1 * MiB),
        (2 * MiB, None, "memfd", 2 * MiB),
        (2 * MiB, 2 * MiB, "file", 2 * MiB),
        (2 * MiB, 1 * GiB, "file", 1 * GiB),
    ],
)
def test_default_block_size(
    tmp_path: Any, thp: int, mount_page: int | None, kind: str, block: int
) -> None:
    mounts = {str(tmp_path): mount_page} if mount_page else {}
    m = make_machine("10.0", host=HostFacts(thp_size=thp, hugetlbfs_mounts=mounts))
    props = {"mem-path": str(tmp_path / "x")} if kind == "file" else {}
    backend(m, "b", 2 * GiB, kind, **props)
    add(m, driver="virtio-mem-pci", id="v", memdev="b")
    assert m.qom_get("/machine/peripheral/v", "block-size") == block


def test_block_size_below_backend_page(tmp_path: Any) -> None:
    # realize: 'block-size' below a hugetlbfs page size.
    m = make_machine("10.0", host=HostFacts(hugetlbfs_mounts={str(tmp_path): GiB}))
    backend(m, "b", 2 * GiB, "file", **{"mem-path": str(tmp_path / "x")})
    assert (
        add_error(m, driver="virtio-mem-pci", id="v", memdev="b", **{"block-size": 2 * MiB})
        == "'block-size' property has to be at least the page size (0x40000000)"
    )


# --- QOM ---------------------------------------------------------------------------

# Live (PC_CMDLINE): x17 on ram m1 (1G) with requested-size 2G, then qom-set on
# /machine/peripheral/x17.
_QOM_SET: list[tuple[str, Any, str | None, str | None]] = [
    ("requested-size", 2 * MiB, None, None),
    (
        "requested-size",
        1 * MiB,
        "'requested-size' has to be multiples of 'block-size' (0x200000)",
        "'requested-size' has to be multiples of 'block-size' (0x200000)",
    ),
    (
        "requested-size",
        2 * GiB,
        "'requested-size' cannot exceed the memory backend size(0x40000000)",
        "'requested-size' cannot exceed the memory backend size(0x40000000)",
    ),
    (
        "requested-size",
        "1G",
        "Parameter 'requested-size' expects uint64",
        "Parameter 'requested-size' expects uint64",
    ),
    (
        "requested-size",
        -1,
        "'requested-size' has to be multiples of 'block-size' (0x200000)",
        "'requested-size' has to be multiples of 'block-size' (0x200000)",
    ),
    ("block-size", 2 * MiB, "'block-size' cannot be changed", "'block-size' cannot be changed"),
    ("block-size", "x", "'block-size' cannot be changed", "'block-size' cannot be changed"),
    (
        "size",
        0,
        "Property 'virtio-mem.size' is not writable",
        "Property 'virtio-mem.size' is not writable",
    ),
    (
        "memaddr",
        0,
        "Attempt to set property 'memaddr' on anonymous device (type 'virtio-mem')"
        " after it was realized",
        "Attempt to set property 'memaddr' on anonymous device (type 'virtio-mem')"
        " after it was realized",
    ),
    (
        "memdev",
        "m2",
        "Attempt to set link property 'memdev' on device '(null)' (type 'virtio-mem')"
        " after it was realized",
        "Attempt to set link property 'memdev' on device '(null)' (type 'virtio-mem')"
        " after it was realized",
    ),
    ("memdev", "nope", "Device 'nope' not found", "Device 'nope' not found"),
    (
        "node",
        "x",
        "Attempt to set property 'node' on anonymous device (type 'virtio-mem')"
        " after it was realized",
        "Attempt to set property 'node' on anonymous device (type 'virtio-mem')"
        " after it was realized",
    ),
    (
        "unplugged-inaccessible",
        "on",
        "Attempt to set property 'unplugged-inaccessible' on anonymous device"
        " (type 'virtio-mem') after it was realized",
        "Attempt to set property 'unplugged-inaccessible' on anonymous device"
        " (type 'virtio-mem') after it was realized",
    ),
    (
        "dynamic-memslots",
        False,
        "Property 'virtio-mem-pci.dynamic-memslots' not found",
        "Attempt to set property 'dynamic-memslots' on anonymous device (type 'virtio-mem')"
        " after it was realized",
    ),
    (
        "x-early-migration",
        False,
        "Property 'virtio-mem-pci.x-early-migration' not found",
        "Attempt to set property 'x-early-migration' on anonymous device (type 'virtio-mem')"
        " after it was realized",
    ),
    (
        "addr",
        5,
        "Attempt to set property 'addr' on device 'x17' (type 'virtio-mem-pci')"
        " after it was realized",
        "Attempt to set property 'addr' on device 'x17' (type 'virtio-mem-pci')"
        " after it was realized",
    ),
    (
        # An unmodelled virtio feature bit, from the recorded data: still an
        # alias into the inner device.
        "indirect_desc",
        False,
        "Attempt to set property 'indirect_desc' on anonymous device (type 'virtio-mem')"
        " after it was realized",
        "Attempt to set property 'indirect_desc' on anonymous device (type 'virtio-mem')"
        " after it was realized",
    ),
    (
        "romfile",
        "",
        "Attempt to set property 'romfile' on device 'x17' (type 'virtio-mem-pci')"
        " after it was realized",
        "Attempt to set property 'romfile' on device 'x17' (type 'virtio-mem-pci')"
        " after it was realized",
    ),
    (
        "legacy-addr",
        "",
        "Property 'virtio-mem-pci.legacy-addr' is not writable",
        "Property 'virtio-mem-pci.legacy-addr' is not writable",
    ),
]


def _qom_machine(version: str) -> Machine:
    m = make_machine(version)
    backend(m, "m1", GiB)
    backend(m, "m2", GiB)
    add(m, driver="virtio-mem-pci", id="x17", memdev="m1", **{"requested-size": 2 * GiB})
    return m


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("prop", "value", "text72", "text100"), _QOM_SET)
def test_qom_set(
    version: str, prop: str, value: Any, text72: str | None, text100: str | None
) -> None:
    m = _qom_machine(version)
    expected = text72 if version == "7.2" else text100
    path = "/machine/peripheral/x17"
    if expected is None:
        m.qom_set(path, prop, value)
        assert m.qom_get(path, prop) == value
        return
    before = snapshot(m)
    assert error_of(m.qom_set, path, prop, value) == expected
    assert snapshot(m) == before


@pytest.mark.parametrize("version", VERSIONS)
def test_qom_get(version: str) -> None:
    m = _qom_machine(version)
    p = "/machine/peripheral/x17"
    inner = p + "/virtio-backend"
    # The inner device's setter works directly, bypassing the proxy (live, both).
    m.qom_set(inner, "requested-size", 4 * MiB)
    assert m.qom_get(p, "requested-size") == 4 * MiB
    assert m.qom_get(p, "parent_bus") == "/machine/i440fx/pci.0"
    assert m.qom_get(inner, "parent_bus") == "/machine/peripheral/x17/virtio-bus"
    assert m.qom_get(p, "hotpluggable") is True
    assert m.qom_get(inner, "hotpluggable") is False
    assert m.qom_get(inner, "hotplugged") is True
    assert m.qom_get(inner, "memdev") == m.qom_get(p, "memdev") == "/objects/m1"
    assert m.qom_get(p, "addr") == 16
    assert m.qom_get(p, "legacy-addr") == "02.0"
    assert m.qom_get(p, "size") == 0
    assert m.qom_get(inner, "type") == "virtio-mem"
    names = {e["name"]: e["type"] for e in m.qom_list(p)}
    assert names["virtio-backend"] == "child<virtio-mem>"
    assert names["virtio-bus"] == "child<virtio-pci-bus>"
    # 10.0 types the PCI addr as str (7.2: int32) though qom-get reads an int.
    assert names["addr"] == ("int32" if version == "7.2" else "str")
    if version == "7.2":
        assert "x-early-migration" not in names
        assert "dynamic-memslots" not in names
    else:
        assert m.qom_get(p, "x-early-migration") is True
        assert m.qom_get(p, "dynamic-memslots") is False


# --- PCI placement ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "devfn"),
    [
        ("5", 40),
        ("0x5", 40),
        ("1.2", 10),
        ("1f.7", 255),
        ("0x1f.0x7", 255),
        (" 5", 40),
        ("16", 0xB0),  # hex: 7.2 turns "addr": 16 into this (live: qom-get -> 176)
        ("20", None),
        ("5.", None),
        ("5.8", None),
        ("zz", None),
        ("", None),
        ("-1", None),
    ],
)
def test_parse_pci_devfn(text: str, devfn: int | None) -> None:
    # set_pci_devfn's sscanf("%x.%x%n") / sscanf("%x%n") parsing.
    assert parse_pci_devfn(text) == devfn


# Live (PC_CMDLINE): x17 (auto, slot 2), y1 at addr "0x5", then y2 on m3 with
# these addr values.
_PCI_ADDR: list[tuple[Any, str | int, str | int]] = [
    (
        "0x5",
        "PCI: slot 5 function 0 not available for virtio-mem-pci, in use by virtio-mem-pci,id=y1",
        "PCI: slot 5 function 0 not available for virtio-mem-pci, in use by virtio-mem-pci,id=y1",
    ),
    (
        0,
        "PCI: slot 0 function 0 not available for virtio-mem-pci, in use by i440FX,id=(null)",
        "PCI: slot 0 function 0 not available for virtio-mem-pci, in use by i440FX,id=(null)",
    ),
    (
        "1.1",
        "PCI: slot 1 function 1 not available for virtio-mem-pci, in use by piix3-ide,id=(null)",
        "PCI: slot 1 function 1 not available for virtio-mem-pci, in use by piix3-ide,id=(null)",
    ),
    (
        "1.3",
        "PCI: slot 1 function 3 not available for virtio-mem-pci, in use by PIIX4_PM,id=(null)",
        "PCI: slot 1 function 3 not available for virtio-mem-pci, in use by PIIX4_PM,id=(null)",
    ),
    (
        "1.2",
        "PCI: slot 1 function 0 already occupied by PIIX3, new func virtio-mem-pci"
        " cannot be exposed to guest.",
        "PCI: slot 1 function 0 already occupied by PIIX3, new func virtio-mem-pci"
        " cannot be exposed to guest.",
    ),
    (
        "zz",
        "Property 'virtio-mem-pci.addr' doesn't take value 'zz'",
        "Property 'virtio-mem-pci.addr' doesn't take value 'zz'",
    ),
    (
        256,
        "Property 'virtio-mem-pci.addr' doesn't take value '256'",
        "Parameter 'addr' expects a value between -1 and 255",
    ),
    (
        "5.1",
        "PCI: slot 5 function 0 already occupied by virtio-mem-pci, new func virtio-mem-pci"
        " cannot be exposed to guest.",
        "PCI: slot 5 function 0 already occupied by virtio-mem-pci, new func virtio-mem-pci"
        " cannot be exposed to guest.",
    ),
    (
        16,
        176,
        "PCI: slot 2 function 0 not available for virtio-mem-pci, in use by virtio-mem-pci,id=x17",
    ),
]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("addr", "out72", "out100"), _PCI_ADDR)
def test_pci_addr(version: str, addr: Any, out72: str | int, out100: str | int) -> None:
    m = make_machine(version)
    for b in ("m1", "m2", "m3"):
        backend(m, b, GiB)
    add(m, driver="virtio-mem-pci", id="x17", memdev="m1")
    add(m, driver="virtio-mem-pci", id="y1", memdev="m2", addr="0x5")
    expected = out72 if version == "7.2" else out100
    if isinstance(expected, int):
        add(m, driver="virtio-mem-pci", id="y2", memdev="m3", addr=addr)
        assert m.qom_get("/machine/peripheral/y2", "addr") == expected
        return
    before = snapshot(m)
    assert add_error(m, driver="virtio-mem-pci", id="y2", memdev="m3", addr=addr) == expected
    assert snapshot(m) == before


@pytest.mark.parametrize("version", VERSIONS)
def test_pci_multifunction(version: str) -> None:
    # Live (PC_CMDLINE): "7.1" is accepted in an empty slot, then a
    # single-function "7.0" is refused, a multifunction one accepted.
    m = make_machine(version)
    for b in ("m1", "m2", "m3"):
        backend(m, b, GiB)
    add(m, driver="virtio-mem-pci", id="q", memdev="m1", addr="7.1")
    assert (
        add_error(m, driver="virtio-mem-pci", id="r", memdev="m2", addr="7.0")
        == "PCI: 7.0 indicates single function, but 7.1 is already populated."
    )
    add(m, driver="virtio-mem-pci", id="r", memdev="m2", addr="7.0", multifunction=True)
    add(m, driver="virtio-mem-pci", id="s", memdev="m3")
    assert m.qom_get("/machine/peripheral/s", "addr") == 16


@pytest.mark.parametrize("version", VERSIONS)
def test_pci_single_function_cold(version: str) -> None:
    # Live: -device virtio-mem-pci,addr=6.0 -device virtio-mem-pci,addr=6.1 ->
    # "PCI: single function device can't be populated in function 6.1".
    m = make_machine(version, ready=False)
    backend(m, "a", GiB)
    backend(m, "b", GiB)
    add(m, driver="virtio-mem-pci", memdev="a", addr="6.0")
    assert (
        add_error(m, driver="virtio-mem-pci", memdev="b", addr="6.1")
        == "PCI: single function device can't be populated in function 6.1"
    )


@pytest.mark.parametrize(("version", "error"), [("7.2", None), ("10.0", True)])
def test_pci_slot_31_quirk(version: str, error: bool | None) -> None:
    # Live (PC_CMDLINE): a device at addr 0x1f, then one without addr.  10.0
    # looks for "function 0" with the unset devfn -1 (slot 31) and refuses;
    # 7.2 places it in slot 2.
    m = make_machine(version)
    backend(m, "m1", GiB)
    backend(m, "m2", GiB)
    add(m, driver="virtio-mem-pci", id="q", memdev="m1", addr="0x1f")
    if error:
        assert add_error(m, driver="virtio-mem-pci", id="r", memdev="m2") == (
            "PCI: slot 31 function 0 already occupied by virtio-mem-pci,"
            " new func virtio-mem-pci cannot be exposed to guest."
        )
    else:
        add(m, driver="virtio-mem-pci", id="r", memdev="m2")
        assert m.qom_get("/machine/peripheral/r", "addr") == 16


def _q35(version: str) -> Machine:
    """Live: -machine q35 -m 1G,slots=2,maxmem=8G -object memory-backend-ram,id=cm,size=1G
    -device virtio-mem-pci,id=cold,memdev=cm -device pcie-root-port,id=rp0,chassis=1
    -device pcie-root-port,id=rp1,chassis=2 -device pcie-root-port,chassis=3
    -object memory-backend-ram,id=cp,size=1G -device virtio-pmem-pci,id=cvp,memdev=cp,bus=rp1
    """
    m = make_machine(version, "q35", ready=False)
    backend(m, "cm", GiB)
    backend(m, "cp", GiB)
    add(m, driver="virtio-mem-pci", id="cold", memdev="cm")
    add(m, driver="pcie-root-port", id="rp0", chassis=1)
    add(m, driver="pcie-root-port", id="rp1", chassis=2)
    add(m, driver="pcie-root-port", chassis=3)
    add(m, driver="virtio-pmem-pci", id="cvp", memdev="cp", bus="rp1")
    m.finish_init()
    for b in ("m1", "m2", "m3"):
        backend(m, b, GiB)
    return m


@pytest.mark.parametrize("version", VERSIONS)
def test_q35_cold_plug_and_ports(version: str) -> None:
    m = _q35(version)
    # q35 -nodefaults: slot 0 (mch) and 0x1f (ICH9 LPC, AHCI, SMBus) are taken.
    got = {
        p: (m.qom_get(p, "addr"), m.qom_get(p, "hotpluggable"), m.qom_get(p, "parent_bus"))
        for p in (
            "/machine/peripheral/cold",
            "/machine/peripheral/rp0",
            "/machine/peripheral/rp1",
            "/machine/peripheral-anon/device[0]",
        )
    }
    assert got == {
        "/machine/peripheral/cold": (8, False, "/machine/q35/pcie.0"),
        "/machine/peripheral/rp0": (16, False, "/machine/q35/pcie.0"),
        "/machine/peripheral/rp1": (24, False, "/machine/q35/pcie.0"),
        "/machine/peripheral-anon/device[0]": (32, False, "/machine/q35/pcie.0"),
    }
    # An id-less port's bus takes the PCIE bus class's automatic name "pcie.0".
    children = [e for e in m.qom_list("/machine/peripheral-anon/device[0]")]
    assert {"name": "pcie.0", "type": "child<PCIE>"} in children
    assert m.qom_get("/machine/peripheral/cvp", "parent_bus") == "/machine/peripheral/rp1/rp1"
    assert m.qom_get("/machine/peripheral/cvp", "addr") == 0
    assert m.qom_get("/machine/peripheral/cvp", "hotpluggable") is True


@pytest.mark.parametrize("version", VERSIONS)
def test_q35_hotplug(version: str) -> None:
    m = _q35(version)
    no_hotplug = "Bus 'pcie.0' does not support hotplugging"
    assert add_error(m, driver="virtio-mem-pci", id="v1", memdev="m1") == no_hotplug
    assert add_error(m, driver="virtio-mem-pci", id="v1", memdev="m1", bus="pcie.0") == no_hotplug
    assert add_error(m, driver="pcie-root-port", id="rp9", bus="pcie.0", chassis=9) == no_hotplug
    add(m, driver="virtio-mem-pci", id="v1", memdev="m1", bus="rp0")
    assert m.qom_get("/machine/peripheral/v1", "addr") == 0
    assert m.qom_get("/machine/peripheral/v1", "parent_bus") == "/machine/peripheral/rp0/rp0"
    occupied_v1 = (
        "PCI: slot 0 function 0 already occupied by virtio-mem-pci,"
        " new func virtio-mem-pci cannot be exposed to guest."
    )
    if version == "7.2":
        # 7.2 checks function 0 only for an explicit addr: slot 1 of the port.
        add(m, driver="virtio-mem-pci", id="v2", memdev="m2", bus="rp0")
        assert m.qom_get("/machine/peripheral/v2", "addr") == 8
    else:
        assert add_error(m, driver="virtio-mem-pci", id="v2", memdev="m2", bus="rp0") == occupied_v1
    occupied_pmem = (
        "PCI: slot 0 function 0 already occupied by virtio-pmem-pci,"
        " new func virtio-mem-pci cannot be exposed to guest."
    )
    for addr in ("0x1", "0.1"):
        assert (
            add_error(m, driver="virtio-mem-pci", id="v3", memdev="m3", bus="rp1", addr=addr)
            == occupied_pmem
        )
    assert [d["data"]["memaddr"] for d in m.memory.device_list()] == [
        BASE,
        BASE + GiB,
        BASE + 2 * GiB,
        *([BASE + 3 * GiB] if version == "7.2" else []),
    ]


def test_root_port_errors() -> None:
    # Live (both): two ports with the default chassis 0 / slot 0:
    # "-device pcie-root-port,id=b: Can't add chassis slot, error -16".
    m = make_machine("10.0", "q35", ready=False)
    add(m, driver="pcie-root-port", id="a")
    assert add_error(m, driver="pcie-root-port", id="b") == "Can't add chassis slot, error -16"
    assert (
        add_error(m, driver="pcie-root-port", id="c", chassis=1, addr="0x1f")
        == "PCI: slot 31 function 0 not available for pcie-root-port, in use by ICH9-LPC,id=(null)"
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_root_port_without_hotplug(version: str) -> None:
    # Live: -device pcie-root-port,id=rp0,chassis=1,hotplug=off ->
    # device_add ... bus=rp0: "Bus 'rp0' does not support hotplugging".
    m = make_machine(version, "q35", ready=False)
    add(m, driver="pcie-root-port", id="rp0", chassis=1, hotplug=False)
    m.finish_init()
    backend(m, "m1", GiB)
    assert (
        add_error(m, driver="virtio-mem-pci", id="q", memdev="m1", bus="rp0")
        == "Bus 'rp0' does not support hotplugging"
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_root_port_on_pc(version: str) -> None:
    # Live: -machine pc -device pcie-root-port,id=a -> addr 16; hot-plugged
    # ports: chassis 5 again fails, hotpluggable on pci.0, device_del accepted.
    m = make_machine(version, ready=False)
    add(m, driver="pcie-root-port", id="a")
    m.finish_init()
    add(m, driver="pcie-root-port", id="b", chassis=5)
    assert add_error(m, driver="pcie-root-port", id="c", chassis=5) == (
        "Can't add chassis slot, error -16"
    )
    add(m, driver="pcie-root-port", id="d", slot=1)
    assert m.qom_get("/machine/peripheral/a", "addr") == 16
    assert m.qom_get("/machine/peripheral/b", "addr") == 24
    assert m.qom_get("/machine/peripheral/b", "hotpluggable") is True
    m.device_del("b")


# --- device_del --------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_device_del_q35(version: str) -> None:
    m = _q35(version)
    add(m, driver="virtio-mem-pci", id="v1", memdev="m1", bus="rp0")
    no_hotplug = "Bus 'pcie.0' does not support hotplugging"
    assert error_of(m.device_del, "cold") == no_hotplug
    assert error_of(m.device_del, "rp1") == no_hotplug
    if version == "7.2":
        text = "virtio based memory devices cannot be unplugged."
        assert error_of(m.device_del, "v1") == text
        assert error_of(m.device_del, "cvp") == text
        return
    # Live 10.0 (-S, never continued): the first request is accepted and
    # nothing happens without a guest; the second is refused, and so is a
    # change of requested-size through the proxy (not through the inner device).
    m.device_del("v1")
    assert error_of(m.device_del, "v1") == "Device v1 is already in the process of unplug"
    assert error_of(m.qom_set, "/machine/peripheral/v1", "requested-size", 2 * MiB) == (
        "'requested-size' cannot be changed if the device is in the process of unplug"
    )
    m.qom_set("/machine/peripheral/v1/virtio-backend", "requested-size", 2 * MiB)
    assert error_of(m.device_del, "v1") == "Device v1 is already in the process of unplug"
    assert error_of(m.device_del, "cvp") == "this virtio based memory devices cannot be unplugged"
    assert [d["data"]["id"] for d in m.memory.device_list()] == ["cold", "cvp", "v1"]


@pytest.mark.parametrize("version", ["8.2", "10.0"])
def test_virtio_mem_unplug_checks(version: str) -> None:
    # virtio_mem_unplug_request_check(), in its order.
    m = make_machine(version, guest="cooperative", paused=False)
    backend(m, "m1", GiB)
    backend(m, "m2", GiB)
    add(m, driver="virtio-mem-pci", id="off", memdev="m1", **{"unplugged-inaccessible": "off"})
    add(m, driver="virtio-mem-pci", id="v", memdev="m2", **{"requested-size": 4 * MiB})
    assert error_of(m.device_del, "off") == (
        "virtio-mem device cannot get unplugged while 'unplugged-inaccessible' != 'on'"
    )
    advance(m, 1)
    assert vmem(m, "v").mem.size == 4 * MiB
    m.qom_set("/machine/peripheral/v/virtio-backend", "requested-size", 0)
    # Live 10.0: requested-size != 0 is the message while nothing is plugged.
    m.qom_set("/machine/peripheral/v/virtio-backend", "requested-size", 2 * MiB)
    assert error_of(m.device_del, "v") == (
        "virtio-mem device cannot get unplugged while some of its memory is still plugged"
    )


def test_requested_size_blocks_unplug_live() -> None:
    # Live 10.0 (PC_CMDLINE): requested-size 2M, nothing plugged (no guest).
    m = make_machine("10.0")
    backend(m, "m1", GiB)
    add(m, driver="virtio-mem-pci", id="v", memdev="m1", **{"requested-size": 2 * MiB})
    assert error_of(m.device_del, "v") == (
        "virtio-mem device cannot get unplugged while 'requested-size' != '0'"
    )


def test_device_del_pending_expiry() -> None:
    # Live 10.0, pc: started without -S (the virtual clock runs), device_del
    # twice -> {} twice; the device stays (no guest).  pending_deleted_expires_ms
    # is "now", so only a clock still at 0 (-S before the first cont) refuses.
    m = make_machine("10.0", paused=False)
    backend(m, "m1", GiB)
    add(m, driver="virtio-mem-pci", id="v1", memdev="m1")
    m.device_del("v1")
    m.device_del("/machine/peripheral/v1")
    assert error_of(m.qom_set, "/machine/peripheral/v1", "requested-size", 2 * MiB) == (
        "'requested-size' cannot be changed if the device is in the process of unplug"
    )
    assert len(m.memory.device_list()) == 1


@pytest.mark.parametrize("board", ["pc", "q35"])
def test_device_del_with_guest(board: str) -> None:
    m = make_machine("10.0", board, guest="cooperative", paused=False, ready=False)
    if board == "q35":
        add(m, driver="pcie-root-port", id="rp0", chassis=1)
    m.finish_init()
    events = record(m)
    backend(m, "m1", GiB)
    bus = {"bus": "rp0"} if board == "q35" else {}
    add(m, driver="virtio-mem-pci", id="v1", memdev="m1", **bus)
    dm = m.device_memory
    assert dm is not None
    assert (dm.used_region_size, dm.required_memslots, dm.used_memslots) == (GiB, 1, 1)
    m.device_del("v1")
    advance(m, 1)
    # The inner device (no id) is finalized first, then the proxy.
    assert [(n, d) for _, n, d in events] == [
        ("DEVICE_DELETED", {"path": "/machine/peripheral/v1/virtio-backend"}),
        ("DEVICE_DELETED", {"device": "v1", "path": "/machine/peripheral/v1"}),
    ]
    assert m.memory.device_list() == []
    assert (dm.used_region_size, dm.required_memslots, dm.used_memslots) == (0, 0, 0)
    assert not m.objects.children["m1"].mapped  # type: ignore[attr-defined]
    assert m.qom_get("/objects/m1/m1[0]", "container") == ""
    # The slot and the address are free again.
    add(m, driver="virtio-mem-pci", id="v2", memdev="m1", **bus)
    assert m.qom_get("/machine/peripheral/v2", "addr") == (0 if board == "q35" else 16)
    assert m.memory.device_list()[0]["data"]["memaddr"] == BASE


def test_device_del_waits_for_running_guest() -> None:
    m = make_machine("10.0", guest="slow:2")
    backend(m, "m1", GiB)
    add(m, driver="virtio-mem-pci", id="v1", memdev="m1")
    m.device_del("v1")
    advance(m, 10 * SEC)
    assert len(m.memory.device_list()) == 1  # paused: nobody ejects
    m.cont()
    advance(m, 1 * SEC)
    assert len(m.memory.device_list()) == 1  # the slow guest acts 2 s after cont
    advance(m, 1 * SEC)
    assert m.memory.device_list() == []


# --- query-memory-size-summary and the guest driver ----------------------------------


def _running(version: str = "10.0", guest: str = "cooperative", **kw: Any) -> Machine:
    return make_machine(version, maxmem=9 * GiB, guest=guest, paused=False, **kw)


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_driver_converges_and_events_are_throttled(version: str) -> None:
    m = _running(version)
    events = record(m)
    backend(m, "m0", 4 * GiB)
    add(m, driver="virtio-mem-pci", id="v0", memdev="m0")
    m.qom_set("/machine/peripheral/v0", "requested-size", 3 * GiB)
    # Nothing happens inside the command: the guest acts afterwards.
    assert events == []
    advance(m, 0)
    # 1 GiB per 100 ms: 1G at once (sent), 2G at 100 ms, 3G at 200 ms (held).
    assert vmem(m, "v0").mem.size == GiB
    advance(m, 200 * MS)
    assert m.memory_size_summary() == {"base-memory": GiB, "plugged-memory": 3 * GiB}
    advance(m, 2 * SEC)
    data = {"id": "v0", "qom-path": "/machine/peripheral/v0"}
    assert events == [
        (0, "MEMORY_DEVICE_SIZE_CHANGE", {"id": "v0", "size": GiB, "qom-path": data["qom-path"]}),
        (
            SEC,
            "MEMORY_DEVICE_SIZE_CHANGE",
            {"id": "v0", "size": 3 * GiB, "qom-path": data["qom-path"]},
        ),
    ]
    assert list(events[0][2]) == ["id", "size", "qom-path"]
    # Shrinking goes the same way.
    m.qom_set("/machine/peripheral/v0", "requested-size", 1 * GiB)
    advance(m, 5 * SEC)
    assert [e[2]["size"] for e in events[2:]] == [2 * GiB, GiB]
    assert m.memory.device_list()[0]["data"]["size"] == GiB
    assert m.event_throttle.pending_keys() == []


def test_anonymous_device_event_has_no_id() -> None:
    m = _running()
    events = record(m)
    backend(m, "m0", GiB)
    add(m, driver="virtio-mem-pci", memdev="m0", **{"requested-size": 2 * MiB})
    advance(m, 0)
    assert events == [
        (
            0,
            "MEMORY_DEVICE_SIZE_CHANGE",
            {"size": 2 * MiB, "qom-path": "/machine/peripheral-anon/device[0]"},
        )
    ]


@pytest.mark.parametrize("version", VERSIONS)
def test_no_guest_no_change(version: str) -> None:
    # Live (both, VM running without -S, only firmware): requested-size set,
    # 2 s later size is still 0 and no MEMORY_DEVICE_SIZE_CHANGE came.
    m = _running(version, guest="none")
    events = record(m)
    backend(m, "m0", GiB)
    add(m, driver="virtio-mem-pci", id="v0", memdev="m0", **{"requested-size": 512 * MiB})
    m.qom_set("/machine/peripheral/v0", "requested-size", 256 * MiB)
    advance(m, 10 * SEC)
    m.system_reset()
    advance(m, 10 * SEC)
    assert [n for _, n, _ in events] == ["RESET"]
    assert m.memory.device_list()[0]["data"]["size"] == 0


def test_paused_vm_waits() -> None:
    m = make_machine("10.0", maxmem=9 * GiB, guest="cooperative", paused=True)
    backend(m, "m0", GiB)
    add(m, driver="virtio-mem-pci", id="v0", memdev="m0", **{"requested-size": 512 * MiB})
    advance(m, 10 * SEC)
    assert vmem(m, "v0").mem.size == 0
    m.cont()
    advance(m, GUEST_IDLE_POLL_NS)
    assert vmem(m, "v0").mem.size == 512 * MiB
    m.qom_set("/machine/peripheral/v0", "requested-size", 0)
    m.stop()
    advance(m, 10 * SEC)
    assert vmem(m, "v0").mem.size == 512 * MiB


def test_slow_and_refusing_guests() -> None:
    m = _running(guest="slow:3")
    backend(m, "m0", GiB)
    add(m, driver="virtio-mem-pci", id="v0", memdev="m0", **{"requested-size": 64 * MiB})
    advance(m, 3 * SEC - 1)
    assert vmem(m, "v0").mem.size == 0
    advance(m, 1)
    assert vmem(m, "v0").mem.size == 64 * MiB
    # "refuse": the guest cannot offline memory, so it never unplugs.
    m.guest.set_config(GuestConfig.parse("refuse"))
    m.qom_set("/machine/peripheral/v0", "requested-size", 0)
    advance(m, 30 * SEC)
    assert vmem(m, "v0").mem.size == 64 * MiB


def test_requested_size_above_region_plugs_all_7_2() -> None:
    # 7.2's realize accepts requested-size > max-size (live); the guest can
    # only plug what the usable region holds.
    m = _running("7.2")
    backend(m, "m0", GiB)
    add(m, driver="virtio-mem-pci", id="v0", memdev="m0", **{"requested-size": 2 * GiB})
    advance(m, 5 * SEC)
    assert vmem(m, "v0").mem.size == GiB


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_system_reset_unplugs_all(version: str) -> None:
    # virtio_mem_unplug_all() from the system reset handler: size 0 with an
    # event, then the rebooted guest plugs again.
    m = _running(version)
    events = record(m)
    backend(m, "m0", GiB)
    add(m, driver="virtio-mem-pci", id="v0", memdev="m0", **{"requested-size": 256 * MiB})
    advance(m, 5 * SEC)
    events.clear()
    m.stop()
    m.system_reset()
    assert vmem(m, "v0").mem.size == 0
    assert [(t, n, d.get("size") if d else None) for t, n, d in events] == [
        (5 * SEC, "STOP", None),
        (5 * SEC, "RESET", None),
        (5 * SEC, "MEMORY_DEVICE_SIZE_CHANGE", 0),
    ]
    m.cont()
    advance(m, 5 * SEC)
    assert vmem(m, "v0").mem.size == 256 * MiB


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    blocks=st.integers(min_value=1, max_value=4096),
    block_shift=st.integers(min_value=20, max_value=24),
    targets=st.lists(st.integers(min_value=0, max_value=4096), min_size=1, max_size=4),
    rate_blocks=st.integers(min_value=1, max_value=2048),
    step_ms=st.integers(min_value=1, max_value=500),
    version=st.sampled_from(ALL_VERSIONS),
)
def test_driver_converges_property(
    blocks: int,
    block_shift: int,
    targets: list[int],
    rate_blocks: int,
    step_ms: int,
    version: str,
) -> None:
    """Any requested size is reached, by whole blocks, never overshooting."""
    block = 1 << block_shift
    region = blocks * block
    m = make_machine(version, maxmem=GiB + 64 * GiB, guest="cooperative", paused=False)
    set_rate(m, rate_blocks * block, step_ms * MS)
    events = record(m)
    m.object_add("memory-backend-memfd", "b", {"size": region})
    add(m, driver="virtio-mem-pci", id="v", memdev="b", **{"block-size": block})
    dev = vmem(m, "v").mem
    for target in targets:
        requested = min(target, blocks) * block
        previous = dev.size
        m.qom_set("/machine/peripheral/v", "requested-size", requested)
        seen: list[int] = []
        dev.size_change_notifiers.append(seen.append)
        steps = -(-abs(requested - previous) // (rate_blocks * block)) + 1
        advance(m, steps * step_ms * MS)
        dev.size_change_notifiers.remove(seen.append)
        assert dev.size == requested
        # Every change moves toward the target by at most one step's worth.
        path = [previous, *seen]
        for a, b in itertools.pairwise(path):
            assert 0 < abs(b - a) <= rate_blocks * block
            assert min(previous, requested) <= b <= max(previous, requested)
        advance(m, 2 * SEC)
        # After the throttle settles, the last event reports the final size.
        sizes = [d["size"] for _, n, d in events if n == "MEMORY_DEVICE_SIZE_CHANGE"]
        if seen:
            assert sizes[-1] == requested
    assert m.memory_size_summary()["plugged-memory"] == dev.size


# --- the throttle ---------------------------------------------------------------


def _throttle() -> tuple[VirtualClock, EventThrottle, Events]:
    clock = VirtualClock()
    out: Events = []
    throttle = EventThrottle(clock, lambda n, d, _ts: out.append((clock.now_ns(), n, d)))
    return clock, throttle, out


def _size_event(path: str, size: int) -> dict[str, Any]:
    return {"size": size, "qom-path": path}


def test_throttle_sequence() -> None:
    # monitor_qapi_event_queue_no_reenter / monitor_qapi_event_handler.
    clock, t, out = _throttle()
    name = "MEMORY_DEVICE_SIZE_CHANGE"
    t.emit(name, _size_event("/a", 1), 0)  # sent, timer at 1 s
    clock.advance(100 * MS)
    t.emit(name, _size_event("/a", 2), 0)  # held
    clock.advance(100 * MS)
    t.emit(name, _size_event("/a", 3), 0)  # replaces 2
    clock.advance(800 * MS)  # t = 1 s: 3 sent, timer re-armed to 2 s
    clock.advance(500 * MS)
    t.emit(name, _size_event("/a", 4), 0)  # held until 2 s
    clock.advance(500 * MS)  # t = 2 s: 4 sent, timer to 3 s
    clock.advance(SEC)  # t = 3 s: nothing held, state dropped
    assert t.pending_keys() == []
    clock.advance(SEC // 2)
    t.emit(name, _size_event("/a", 5), 0)  # new state: sent at once
    assert [(time, d["size"]) for time, _, d in out] == [
        (0, 1),
        (SEC, 3),
        (2 * SEC, 4),
        (3 * SEC + SEC // 2, 5),
    ]


def test_throttle_keys() -> None:
    clock, t, out = _throttle()
    t.emit("MEMORY_DEVICE_SIZE_CHANGE", _size_event("/a", 1), 0)
    t.emit("MEMORY_DEVICE_SIZE_CHANGE", _size_event("/b", 1), 0)  # other qom-path
    t.emit("MEMORY_DEVICE_SIZE_CHANGE", _size_event("/a", 2), 0)  # held
    t.emit("BALLOON_CHANGE", {"actual": 1}, 0)  # keyed by name only
    t.emit("BALLOON_CHANGE", {"actual": 2}, 0)  # held
    t.emit("RESUME", None, 0)  # not throttled
    t.emit("RESUME", None, 0)
    assert [(n, d) for _, n, d in out] == [
        ("MEMORY_DEVICE_SIZE_CHANGE", _size_event("/a", 1)),
        ("MEMORY_DEVICE_SIZE_CHANGE", _size_event("/b", 1)),
        ("BALLOON_CHANGE", {"actual": 1}),
        ("RESUME", None),
        ("RESUME", None),
    ]
    assert sorted(t.pending_keys(), key=str) == sorted(
        [
            ("MEMORY_DEVICE_SIZE_CHANGE", "/a"),
            ("MEMORY_DEVICE_SIZE_CHANGE", "/b"),
            ("BALLOON_CHANGE", None),
        ],
        key=str,
    )
    clock.advance(SEC)
    assert [d for _, _, d in out[5:]] in (
        [_size_event("/a", 2), {"actual": 2}],
        [{"actual": 2}, _size_event("/a", 2)],
    )
    t.close()
    assert t.pending_keys() == []


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=3 * SEC), min_size=1, max_size=30))
def test_throttle_property(gaps: list[int]) -> None:
    """At most one event per second, the first at once, the last always delivered."""
    clock, t, out = _throttle()
    for i, gap in enumerate(gaps):
        clock.advance(gap)
        t.emit("MEMORY_DEVICE_SIZE_CHANGE", _size_event("/a", i), 0)
    clock.advance(2 * SEC)
    times = [time for time, _, _ in out]
    assert times[0] == gaps[0]
    assert all(b - a >= SEC for a, b in itertools.pairwise(times))
    assert out[-1][2]["size"] == len(gaps) - 1
    assert t.pending_keys() == []


# --- memslots (8.2+) -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "block", "page", "limit", "expected"),
    [
        # virtio_mem_decide_memslots(): (nb_memslots, memslot_size or 0 for one).
        (8 * GiB, 2 * MiB, 4 * KiB, 256, (8, GiB)),  # 32 MiB raised to the 1 GiB minimum
        (8 * GiB, 2 * GiB, 4 * KiB, 256, (4, 2 * GiB)),  # ... or to the block size
        (512 * GiB, 2 * MiB, 4 * KiB, 256, (256, 2 * GiB)),
        (600 * GiB, 4 * MiB, 4 * KiB, 256, (256, 2516582400)),  # ALIGN_UP to 4 MiB
        (GiB, 2 * MiB, 4 * KiB, 256, (1, 0)),
        (10 * GiB, 2 * MiB, 4 * KiB, 4, (4, 2684354560)),
        (8 * GiB, 2 * MiB, 4 * KiB, 1, (1, 0)),  # limit <= 1
        (8 * GiB, 2 * MiB, GiB, 256, (1, 0)),  # block below the page: realize will fail
        (8 * GiB + 2 * MiB, 4 * MiB, 4 * KiB, 256, (1, 0)),  # region not a block multiple
        (3 * GiB + 512 * MiB, 2 * MiB, 4 * KiB, 256, (4, GiB)),  # last memslot smaller
    ],
)
def test_decide_memslots(
    region: int, block: int, page: int, limit: int, expected: tuple[int, int]
) -> None:
    assert decide_memslots(region, block, page, limit) == expected


def _memslots(m: Machine, dev_id: str) -> tuple[int, list[int]]:
    inner = f"/machine/peripheral/{dev_id}/virtio-backend"
    names = [e["name"] for e in m.qom_list(inner) if e["name"].startswith("memslot-")]
    names.sort(key=lambda n: int(n[len("memslot-") :].split("[")[0]))
    return len(names), [m.qom_get(f"{inner}/{n}", "size") for n in names]


# Live 10.0: -machine pc -m MEM, memory-backend-ram of each size, virtio-mem-pci
# with dynamic-memslots=on (plus the props shown); the number and sizes of the
# memslot-N[0] children of virtio-backend (qom-list / qom-get size).  Values
# follow memory_device_memslot_decision_limit() + virtio_mem_decide_memslots().
_MEMSLOT_CASES: list[tuple[str, int, list[tuple[int, dict[str, Any], int, int, int]]]] = [
    ("1G,maxmem=9G", 0, [(8 * GiB, {}, 8, GiB, GiB)]),
    ("1G,maxmem=9G", 0, [(8 * GiB, {"block-size": 2 * GiB}, 4, 2 * GiB, 2 * GiB)]),
    ("1G,maxmem=9G", 0, [(4 * GiB, {}, 4, GiB, GiB), (4 * GiB, {}, 4, GiB, GiB)]),
    ("1G,maxmem=513G", 0, [(512 * GiB, {}, 256, 2 * GiB, 2 * GiB)]),
    (
        "1G,maxmem=513G",
        0,
        [(256 * GiB, {}, 128, 2 * GiB, 2 * GiB), (256 * GiB, {}, 128, 2 * GiB, 2 * GiB)],
    ),
    (
        "1G,maxmem=601G",
        0,
        [
            (100 * GiB, {}, 42, 2558525440, 2474639360),
            (300 * GiB, {}, 128, 2516582400, 2516582400),
            (200 * GiB, {}, 86, 2497708032, 2443182080),
        ],
    ),
    ("1G,maxmem=601G", 0, [(600 * GiB, {"block-size": 4 * MiB}, 256, 2516582400, 2516582400)]),
    ("1G,maxmem=601G", 0, [(300 * GiB + 2 * MiB, {}, 128, 2518679552, 2252341248)]),
    ("1G,maxmem=9G", 0, [(1 * GiB, {}, 1, GiB, GiB)]),
    ("1G,maxmem=9G", 0, [(3 * GiB, {}, 3, GiB, GiB), (2 * GiB, {"block-size": GiB}, 2, GiB, GiB)]),
    (
        "1G,slots=4,maxmem=513G",
        4,
        [
            (256 * GiB, {"dynamic-memslots": False}, 0, 0, 0),
            (200 * GiB, {}, 199, 1080033280, 901775360),
        ],
    ),
    (
        "1G,maxmem=600G",
        0,
        [(10 * GiB, {}, 4, 2684354560, 2684354560), (20 * GiB, {}, 8, 2684354560, 2684354560)],
    ),
]


@pytest.mark.parametrize(("mem", "slots", "devices"), _MEMSLOT_CASES)
def test_memslot_decisions_live(
    mem: str, slots: int, devices: list[tuple[int, dict[str, Any], int, int, int]]
) -> None:
    maxmem = int(mem.split("maxmem=")[1][:-1]) * GiB
    m = make_machine("10.0", maxmem=maxmem, slots=slots)
    for i, (sz, extra, count, first, last) in enumerate(devices):
        backend(m, f"m{i}", sz)
        args = {"dynamic-memslots": True, **extra}
        add(m, driver="virtio-mem-pci", id=f"v{i}", memdev=f"m{i}", **args)
        n, sizes = _memslots(m, f"v{i}")
        assert n == count
        if count:
            assert (sizes[0], sizes[-1]) == (first, last)
    dm = m.device_memory
    assert dm is not None
    assert dm.required_memslots == sum(max(1, d[2]) for d in devices)


@pytest.mark.parametrize("version", ["8.2", "10.0"])
def test_dynamic_memslots_follow_plugged_blocks(version: str) -> None:
    m = _running(version)
    backend(m, "m0", 8 * GiB)
    add(m, driver="virtio-mem-pci", id="v", memdev="m0", **{"dynamic-memslots": True})
    dm = m.device_memory
    assert dm is not None
    # 8 memslots required, none mapped: all 8 reserved.
    assert (dm.required_memslots, dm.used_memslots) == (8, 0)
    assert m.memory.reserved_memslots() == 8
    assert dm.memslot_auto_decision_active == 1
    inner = "/machine/peripheral/v/virtio-backend"
    assert m.qom_get(f"{inner}/virtio-mem[0]", "container") == "/machine/device-memory[0]"
    m.qom_set("/machine/peripheral/v", "requested-size", 3 * GiB + 2 * MiB)
    advance(m, SEC)
    # Blocks in memslots 0..3 plugged: those four are mapped.
    assert dm.used_memslots == 4
    assert m.memory.reserved_memslots() == 4
    assert m.qom_get(f"{inner}/memslot-3[0]", "container") == f"{inner}/virtio-mem[0]"
    assert m.qom_get(f"{inner}/memslot-3[0]", "addr") == 3 * GiB
    assert m.qom_get(f"{inner}/memslot-4[0]", "container") == ""
    m.qom_set("/machine/peripheral/v", "requested-size", GiB)
    advance(m, SEC)
    assert dm.used_memslots == 1
    assert m.qom_get(f"{inner}/memslot-1[0]", "container") == ""
    m.system_reset()
    assert dm.used_memslots == 0


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_static_memslot(version: str) -> None:
    # Without dynamic-memslots the whole memdev is one memslot, mapped at plug.
    m = _running(version)
    backend(m, "m0", 8 * GiB)
    add(m, driver="virtio-mem-pci", id="v", memdev="m0", **{"requested-size": 4 * GiB})
    dm = m.device_memory
    assert dm is not None
    assert dm.used_memslots == 1
    assert m.qom_get("/objects/m0/m0[0]", "container") == "/machine/device-memory[0]"
    advance(m, SEC)
    assert dm.used_memslots == 1
    if m.release.memslot_accounting:
        assert (dm.required_memslots, dm.used_region_size) == (1, 8 * GiB)


def test_held_event_keeps_the_time_it_was_raised() -> None:
    # QEMU stores the whole event QDict (timestamp included) while throttled.
    clock = VirtualClock()
    sent: list[tuple[str, int]] = []
    t = EventThrottle(clock, lambda n, d, ts: sent.append((n, ts)))
    t.emit("MEMORY_DEVICE_SIZE_CHANGE", _size_event("/a", 1), 100)
    t.emit("MEMORY_DEVICE_SIZE_CHANGE", _size_event("/a", 2), 200)
    clock.advance(1_000_000_000)
    assert sent == [("MEMORY_DEVICE_SIZE_CHANGE", 100), ("MEMORY_DEVICE_SIZE_CHANGE", 200)]
