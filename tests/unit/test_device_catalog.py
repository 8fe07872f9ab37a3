"""The device catalog (devices.json) through Recording's typed accessors.

No QEMU is needed: the catalog is the committed recording.  Checked here:
every device type reads back with QEMU's property list (against the
replies types.json recorded separately, for ``device-list-properties``
and ``qom-list-properties``), aliases resolve as QEMU's
``qdev_get_device_class()`` resolves them, a default of ``false`` is not
a missing default, the classes' hot-plug flags, the types QEMU cannot
list say how it exits, 8.2 reads 10.0's catalog, and a machine starts
without reading devices.json.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from memdevd.app import cli
from memdevd.releases import recorded
from memdevd.releases.recorded import (
    NO_DEFAULT,
    DeviceAbort,
    DevicePropertyInfo,
    Recording,
    format_index_ranges,
    parse_index_ranges,
    recording,
)
from memdevd.releases.table import get_release

DATA = Path(__file__).resolve().parents[2] / "memdevd" / "targets" / "x86_64" / "data"
VERSIONS = ("7.2", "10.0")
params = pytest.mark.parametrize("version", VERSIONS)


def x86(version: str) -> Recording:
    return recording("x86_64", get_release(version))


def as_reply(props: tuple[DevicePropertyInfo, ...]) -> list[dict[str, Any]]:
    """Properties as device-list-properties returns them."""
    out = []
    for p in props:
        entry: dict[str, Any] = {"name": p.name, "type": p.type}
        if p.description is not None:
            entry["description"] = p.description
        if p.has_default:
            entry["default-value"] = p.default_value
        out.append(entry)
    return out


def test_index_ranges() -> None:
    assert parse_index_ranges("") == []
    assert parse_index_ranges("0-2 5 7-8") == [0, 1, 2, 5, 7, 8]
    assert parse_index_ranges("432-433 12") == [432, 433, 12]
    for indices in ([], [3], [0, 1, 2, 5, 7, 8], [432, 433, 12, 11, 13, 14]):
        assert parse_index_ranges(format_index_ranges(indices)) == indices
    assert format_index_ranges([432, 433, 12, 11, 13, 14]) == "432-433 12 11 13-14"


@params
def test_every_device_type_is_listed(version: str) -> None:
    rec = x86(version)
    names = rec.device_type_names()
    assert list(names) == sorted(names)
    doc = json.loads((DATA / f"qemu-{version}" / "devices.json").read_text(encoding="utf-8"))
    assert set(names) == set(doc["types"])
    assert len(names) == {"7.2": 445, "10.0": 495}[version]
    for name in names:
        info = rec.device_type(name)
        assert info is not None and info.name == name
        assert info.parents[-1] == "object" and "device" in info.parents, name
        assert info.categories, name


@params
def test_properties_are_qemus_replies(version: str) -> None:
    """The catalog agrees with the device-list-properties replies types.json
    recorded (libvirt's types and the memory devices), order included."""
    replies = x86(version).type_replies("device-list-properties")
    compared = 0
    for name, reply in replies.items():
        info = x86(version).device_type(name)
        if "return" not in reply:
            # an unknown, abstract or non-device name: no catalog entry
            assert info is None or info.name != name, name
            continue
        assert info is not None, name
        assert as_reply(info.properties) == reply["return"], name
        compared += 1
    assert compared >= 25


@params
def test_qom_properties_are_qemus_replies(version: str) -> None:
    """``qom_properties`` agrees with the qom-list-properties replies
    types.json recorded of device types (the memory devices, sgx-epc,
    libvirt's max-x86_64-cpu...), order included: QEMU's hash-table order."""
    replies = x86(version).type_replies("qom-list-properties")
    compared = 0
    for name, reply in replies.items():
        info = x86(version).device_type(name)
        if info is None or info.name != name:
            continue
        assert as_reply(info.qom_properties) == reply["return"], name
        compared += 1
    assert compared >= {"7.2": 8, "10.0": 9}[version]


#: What device-list-properties leaves out of qom-list-properties
#: (qmp_device_list_properties(): Object's and DeviceState's own, legacy-*)
_NOT_DEVICE_PROPERTIES = {"type", "realized", "hotpluggable", "hotplugged", "parent_bus"}


@params
def test_device_properties_are_qom_properties_filtered(version: str) -> None:
    """Both commands walk the same new object's properties: device-list-
    properties is qom-list-properties without a few, in the same order.
    7.2's qom-list-properties reports no default value at all."""
    rec = x86(version)
    for name in rec.device_type_names():
        info = rec.device_type(name)
        assert info is not None
        if info.aborts is not None:
            assert info.qom_aborts == info.aborts and info.qom_properties == (), name
            continue
        assert info.qom_aborts is None, name
        kept = [
            p
            for p in info.qom_properties
            if p.name not in _NOT_DEVICE_PROPERTIES and not p.name.startswith("legacy-")
        ]
        assert [p.name for p in kept] == [p.name for p in info.properties], name
        for q, d in zip(kept, info.properties, strict=True):
            assert (q.type, q.description) == (d.type, d.description), (name, q.name)
            if version == "7.2":
                assert not q.has_default, (name, q.name)
            else:
                assert q == d, (name, q.name)
        assert [p.name for p in info.qom_properties[:5]] == [
            *("type", "parent_bus", "realized", "hotplugged", "hotpluggable")
        ], name


@params
def test_hotpluggable(version: str) -> None:
    """DeviceClass.hotpluggable: display adapters, host bridges, IOMMUs and
    the board's chipset are not hot-pluggable; most devices are."""
    rec = x86(version)
    expected = {
        # probed with device_add
        "VGA": False,
        "cirrus-vga": False,
        "virtio-vga": False,
        "virtio-gpu-pci": False,
        "intel-iommu": False,
        "piix3-ide": False,
        "pxb-pcie": False,
        "vmgenid": False,
        "i6300esb": True,
        "virtio-blk-pci": True,
        "virtio-net-pci": True,
        "virtio-mem-pci": True,
        "pcie-root-port": True,
        "pc-dimm": True,
        "nvdimm": True,
        "qemu64-x86_64-cpu": True,
        "isa-serial": True,
        "usb-tablet": True,
        "virtio-blk-device": True,
        # not user-creatable: from the source
        "PIIX3": False,
        "i440FX": False,
        "PIIX4_PM": False,
        "sgx-epc": False,
        "ICH9-LPC": True,
        "hpet": True,
    }
    for name, flag in expected.items():
        info = rec.device_type(name)
        assert info is not None and info.hotpluggable is flag, name
    # sysbus devices a machine may take on its command line: 10.0 made
    # them not hot-pluggable (dynamic-sysbus-device), 7.2 had no such class
    ramfb = rec.device_type("ramfb")
    assert ramfb is not None and ramfb.hotpluggable is (version == "7.2")
    # 7.2's nvme-subsys was not hot-pluggable; 10.0's is
    subsys = rec.device_type("nvme-subsys")
    assert subsys is not None and subsys.hotpluggable is (version == "10.0")
    infos = [rec.device_type(name) for name in rec.device_type_names()]
    flags = [info.hotpluggable for info in infos if info is not None]
    assert len(flags) == len(infos) and None not in flags
    assert flags.count(False) == {"7.2": 44, "10.0": 43}[version]


@params
def test_type_fields(version: str) -> None:
    rec = x86(version)
    blk = rec.device_type("virtio-blk-pci")
    assert blk is not None
    assert blk.parents == ("virtio-blk-pci-base", "virtio-pci", "pci-device", "device", "object")
    assert (blk.user_creatable, blk.bus, blk.alias, blk.description, blk.categories) == (
        True,
        "PCI",
        "virtio-blk",
        None,
        ("Storage",),
    )
    dimm = rec.device_type("pc-dimm")
    assert dimm is not None
    assert (dimm.bus, dimm.alias, dimm.description, dimm.categories) == (
        None,
        None,
        "DIMM memory module",
        ("Uncategorized",),
    )
    assert [p.name for p in dimm.properties] == ["memdev", "node", "addr", "slot", "size"]
    ged = rec.device_type("acpi-ged")
    assert ged is not None and not ged.user_creatable and ged.bus == "System"
    assert rec.device_categories() == (
        *("Controller/Bridge/Hub", "USB", "Storage", "Network", "Input", "Display"),
        *("Sound", "Misc", "CPU", "Watchdog", "Uncategorized"),
    )


@params
def test_absent_and_false_defaults_differ(version: str) -> None:
    dimm = x86(version).device_type("pc-dimm")
    assert dimm is not None
    props = {p.name: p for p in dimm.properties}
    assert props["memdev"].default_value is NO_DEFAULT and not props["memdev"].has_default
    assert props["node"].default_value == 0 and props["node"].has_default
    cpu = x86(version).device_type("qemu64-x86_64-cpu")
    assert cpu is not None
    emsr = next(p for p in cpu.properties if p.name == "hv-emsr-bitmap")
    assert emsr.has_default and emsr.default_value is False
    assert emsr.description == "on/off"
    assert repr(NO_DEFAULT) == "NO_DEFAULT"


@params
def test_aliases_resolve_as_qemu(version: str) -> None:
    rec = x86(version)
    assert rec.device_type("virtio-blk") is rec.device_type("virtio-blk-pci")
    assert rec.resolve_device_name("lsi") == "lsi53c895a"
    assert rec.resolve_device_name("e1000-82540em") == "e1000"
    assert rec.resolve_device_name("virtio-blk-pci") == "virtio-blk-pci"
    assert rec.resolve_device_name("no-such-type") == "no-such-type"
    for alias, typename in rec.device_aliases().items():
        info = rec.device_type(typename)
        assert info is None or info.alias == alias, alias
    # 10.0's table has rutabaga, whose type this build lacks; 7.2's has not.
    rutabaga = {"7.2": "virtio-gpu-rutabaga", "10.0": "virtio-gpu-rutabaga-pci"}[version]
    assert rec.resolve_device_name("virtio-gpu-rutabaga") == rutabaga
    assert rec.device_type("virtio-gpu-rutabaga") is None


@params
def test_names_that_are_no_listable_type(version: str) -> None:
    rec = x86(version)
    for name in ("no-such-type", "virtio-pci", "device", "memory-backend-ram", "memory-device"):
        assert rec.device_type(name) is None, name


def test_types_that_make_qemu_exit() -> None:
    gl = x86("7.2").device_type("virtio-gpu-gl-pci")
    assert gl is not None and gl.properties == () and gl.user_creatable
    assert gl.aborts == DeviceAbort("missing object type 'virtio-gpu-gl-device'\n", 1)
    assert gl.aborts.message == "missing object type 'virtio-gpu-gl-device'"
    assert gl.qom_properties == () and gl.qom_aborts == gl.aborts
    # device_add asks the class before it makes an instance: no exit
    assert gl.hotpluggable is False
    assert x86("7.2").device_type("virtio-gpu-gl") is gl
    assert all(
        info is not None and info.aborts is None and info.qom_aborts is None
        for info in map(x86("10.0").device_type, x86("10.0").device_type_names())
    )


def test_8_2_reads_10_0s_catalog() -> None:
    assert x86("8.2") is x86("10.0")
    assert x86("8.2").device_type_names() == x86("10.0").device_type_names()


def test_a_machine_starts_without_reading_the_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    """devices.json is read on the first question about device types only
    (with -nodefaults: without it QEMU's default parallel port is made, an
    isa-parallel from the catalog)."""
    read: list[str] = []
    original = Recording.read

    def spy(self: Recording, name: str) -> Any:
        read.append(name)
        return original(self, name)

    monkeypatch.setattr(Recording, "read", spy)
    recorded.recording.cache_clear()
    recorded._recording.cache_clear()
    try:
        for version in ("7.2", "10.0"):
            argv = ["-memdevd", f"version={version}", "-machine", "q35", "-nodefaults"]
            argv += ["-m", "1G,slots=4,maxmem=8G"]
            argv += ["-object", "memory-backend-ram,id=m0,size=128M"]
            argv += ["-device", "pc-dimm,id=d0,memdev=m0"]
            parsed = cli.parse(argv, "qemu-system-x86_64")
            daemon, _ = cli.build_daemon(parsed, "qemu-system-x86_64", handle_signals=False)
            daemon.registry.get("qom-list-types")
        assert "devices" not in read, read
        x86("10.0").device_type("pc-dimm")
        assert read.count("devices") == 1
        x86("10.0").device_type("nvdimm")
        assert read.count("devices") == 1
    finally:
        recorded.recording.cache_clear()
        recorded._recording.cache_clear()


@params
def test_instance_qom_lists(version: str) -> None:
    """qom_list: a realized instance's qom-list, each qom-list-properties
    entry once and what realize added (children); none for vCPUs and the
    types that are not user-creatable; qom_list_hot where hot-plugging
    lists another order (PCI devices), else the same list."""
    rec = x86(version)
    made = 0
    for name in rec.device_type_names():
        info = rec.device_type(name)
        assert info is not None
        if info.qom_list is None:
            assert info.qom_list_hot is None, name
            continue
        made += 1
        assert info.user_creatable and "cpu" not in info.parents, name
        assert info.qom_list_hot is not None
        for listed in (info.qom_list, info.qom_list_hot):
            names = [p.name for p in listed]
            assert len(names) == len(set(names)), name
            added = [p for p in listed if p.name not in {q.name for q in info.qom_properties}]
            assert {p.name for p in listed} - {p.name for p in added} == {
                p.name for p in info.qom_properties
            }, name
            assert all(not p.has_default for p in added), name
    assert made >= 180
    i6300esb = rec.device_type("i6300esb")
    assert i6300esb is not None and i6300esb.qom_list is not None
    assert [p.name for p in i6300esb.qom_list if p.type == "child<memory-region>"] == [
        "bus master[0]",
        "bus master container[0]",
        "i6300esb[0]",
    ]
    cpu = rec.device_type("qemu64-x86_64-cpu")
    assert cpu is not None and cpu.qom_list is None
