"""Device types made from the recorded catalog (machine/devices/generic.py).

Properties parsed as QEMU's qdev types parse them, PCI placement, virtio
proxies with their inner device, drives attached and released; compared
with real QEMU in tests/conformance/test_block_live.py ("disks").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from memdevd.machine.devices.generic import CatalogPCIDevice, CatalogVirtioPCIDevice
from memdevd.machine.errors import CoreError
from tests.unit.conftest import device_add, device_add_error, make_machine


@pytest.fixture
def disk(tmp_path: Path) -> str:
    path = tmp_path / "disk.raw"
    path.write_bytes(bytes(1 << 20))
    return str(path)


@pytest.mark.parametrize("version", ["7.2", "10.0"])
def test_pci_devices_of_the_catalog_are_placed(version: str) -> None:
    m = make_machine(version, "pc", ready=False)
    vga = device_add(m, driver="VGA", id="video0")
    wdt = device_add(m, driver="i6300esb", id="wdt0")
    assert isinstance(vga, CatalogPCIDevice) and isinstance(wdt, CatalogPCIDevice)
    # pc's pci.0: the board takes 0.0, 1.0-1.3; then the first free slots.
    assert (vga.devfn >> 3, wdt.devfn >> 3) == (2, 3)
    assert m.qom_get("/machine/peripheral/video0", "vgamem_mb") == 16
    assert m.qom_get("/machine/peripheral/wdt0", "type") == "i6300esb"


def test_aliases_resolve_to_their_type() -> None:
    m = make_machine("10.0", "q35", ready=False)
    dev = device_add(m, driver="virtio-rng", id="rng0", bus="pcie.0")
    assert dev.typename == "virtio-rng-pci"
    assert isinstance(dev, CatalogVirtioPCIDevice)
    assert m.qom_get("/machine/peripheral/rng0/virtio-backend", "type") == "virtio-rng-device"


@pytest.mark.parametrize(
    ("args", "text"),
    [
        # What "-device VGA,..." prints on QEMU 7.2 and 10.0 alike.
        ({"vgamem_mb": "x"}, "Parameter 'vgamem_mb' expects integer"),
        ({"vgamem_mb": 1 << 33}, "Parameter 'vgamem_mb' expects uint32_t"),
        ({"global-vmstate": "maybe"}, "Parameter 'global-vmstate' expects 'on' or 'off'"),
        ({"nope": 1}, "Property 'VGA.nope' not found"),
        (
            {"addr": "0x1"},
            "PCI: slot 1 function 0 not available for VGA, in use by PIIX3,id=(null)",
        ),
    ],
)
def test_bad_properties_leave_nothing_behind(args: dict[str, object], text: str) -> None:
    # Cold plug on 7.2, which parses device options as -device does (strings).
    m = make_machine("7.2", "pc", ready=False)
    before = m.qom_list("/machine/peripheral")
    err = device_add_error(m, driver="VGA", id="v", **args)
    assert err.desc == text
    assert m.qom_list("/machine/peripheral") == before


def test_enum_properties_take_their_values() -> None:
    m = make_machine("10.0", "q35", ready=False)
    dev = device_add(m, driver="virtio-net-pci", id="n0", bus="pcie.0", rx_queue_size=512)
    assert m.qom_get("/machine/peripheral/n0", "rx_queue_size") == 512
    err = device_add_error(m, driver="virtio-net-pci", id="n1", bus="pcie.0", mac="zz")
    assert err.desc == "Property 'virtio-net-device.mac' doesn't take value 'zz'"
    assert dev.realized


def test_a_drive_is_attached_and_released(disk: str) -> None:
    m = make_machine("10.0", "q35", ready=False)
    m.block.blockdev_add({"driver": "file", "filename": disk, "node-name": "f"})
    m.block.blockdev_add({"driver": "raw", "node-name": "r", "file": "f"})
    with pytest.raises(CoreError) as err:
        device_add(m, driver="virtio-blk-pci", id="d0")
    assert err.value.desc == "drive property not set"
    # A failed device_add (its slot is taken) lets the drive go again.
    err2 = device_add_error(
        m, driver="virtio-blk-pci", id="d0", drive="r", bus="pcie.0", addr="0x0"
    )
    assert err2.desc.startswith("PCI: slot 0 function 0 not available for virtio-blk-pci")
    assert m.block.backends == [] and m.block.nodes["r"].parents == []
    dev = device_add(m, driver="virtio-blk-pci", id="d0", drive="r", bus="pcie.0")
    assert [b.device for b in m.block.backends] == [dev.vdev]  # type: ignore[attr-defined]
    err3 = device_add_error(m, driver="virtio-blk-pci", id="d1", drive="r", bus="pcie.0")
    assert err3.desc.startswith("Permission conflict on node 'r'")
    with pytest.raises(CoreError) as busy:
        m.block.blockdev_del("r")
    assert busy.value.desc == "Node r is in use"
    m.remove_device(dev)
    m.block.blockdev_del("r")
    m.block.blockdev_del("f")
    assert m.block.nodes == {} and m.block.backends == []


def test_types_on_buses_the_machine_lacks() -> None:
    m = make_machine("10.0", "q35")
    err = device_add_error(m, driver="usb-tablet", id="t")
    assert err.desc == "No 'usb-bus' bus found for device 'usb-tablet'"
    err = device_add_error(m, driver="usb-tablet", id="t", bus="pcie.0")
    assert err.desc == "Device 'usb-tablet' can't go on PCIE bus"
    err = device_add_error(m, driver="no-such-device")
    assert err.desc == "'no-such-device' is not a valid device model name"


@pytest.mark.parametrize(
    ("version", "text"),
    [
        # 7.2: qdev_get_device_class(), the user_creatable text
        ("7.2", "Parameter 'driver' expects a pluggable device type"),
        # 10.0: qdev_hotplug_allowed()
        ("10.0", "Device 'VGA' does not support hotplugging"),
    ],
)
def test_a_class_that_is_not_hotpluggable_is_refused_hot(version: str, text: str) -> None:
    """The catalog's DeviceClass.hotpluggable: VGA only on the command line."""
    m = make_machine(version, "pc")
    before = m.qom_list("/machine/peripheral")
    assert device_add_error(m, driver="VGA", id="video0").desc == text
    assert m.qom_list("/machine/peripheral") == before
    # the same type before the machine is ready; a hot-pluggable one hot
    cold = make_machine(version, "pc", ready=False)
    assert device_add(cold, driver="VGA", id="video0").hotpluggable is False
    assert cold.qom_get("/machine/peripheral/video0", "hotpluggable") is False
    wdt = device_add(m, driver="i6300esb", id="wdt0")
    assert wdt.hotplugged and m.qom_get("/machine/peripheral/wdt0", "hotpluggable") is True


@pytest.mark.parametrize("version", ["7.2", "10.0"])
def test_qom_list_is_in_qemus_order(version: str) -> None:
    """qom-list of a catalog device: the recorded instance's list (a new
    object's properties and what realize added, QEMU's hash-table order),
    its memory regions read as their paths, a bus named after the id.  A
    hot-plugged PCI device makes its bus master regions at once, not when
    the machine is done: another order."""
    m = make_machine(version, "pc")
    cold = make_machine(version, "pc", ready=False)
    rec = m.recording
    for driver, dev_id in (("i6300esb", "wdt0"), ("virtio-rng-pci", "rng0"), ("intel-hda", "hda")):
        info = rec.device_type(driver)
        assert info is not None and info.qom_list is not None and info.qom_list_hot is not None
        for machine, recorded in ((m, info.qom_list_hot), (cold, info.qom_list)):
            device_add(machine, driver=driver, id=dev_id)
            listed = machine.qom_list(f"/machine/peripheral/{dev_id}")
            expected = [
                {"name": p.name.replace("dev0.", f"{dev_id}."), "type": p.type} for p in recorded
            ]
            assert listed == expected, driver
            names = [p["name"] for p in listed]
            assert len(names) == len(set(names)), driver
    rng = rec.device_type("virtio-rng-pci")
    assert rng is not None and rng.qom_list_hot != rng.qom_list
    path = "/machine/peripheral/wdt0"
    assert m.qom_get(path, "bus master[0]") == f"{path}/bus master[0]"
    assert m.qom_get(path, "type") == "i6300esb"
    hda = [p["name"] for p in m.qom_list("/machine/peripheral/hda")]
    assert "hda.0" in hda and "dev0.0" not in hda
    # the inner virtio device too
    inner = rec.device_type("virtio-rng-device")
    assert inner is not None and inner.qom_list is not None
    listed = m.qom_list("/machine/peripheral/rng0/virtio-backend")
    assert [p["name"] for p in listed][: len(inner.qom_properties)] == [
        p.name for p in inner.qom_list
    ][: len(inner.qom_properties)]
    assert "bus master[0]" in [p["name"] for p in m.qom_list("/machine/peripheral/rng0")]


def test_qom_list_of_a_type_no_instance_was_recorded_of() -> None:
    """No instance recorded (the recorder gives no CAN bus object): the
    type's qom-list-properties order and types, no memory regions."""
    m = make_machine("10.0", "pc")
    info = m.recording.device_type("ctucan_pci")
    assert info is not None and info.qom_list is None
    device_add(m, driver="ctucan_pci", id="can0")
    listed = m.qom_list("/machine/peripheral/can0")
    assert listed == [{"name": p.name, "type": p.type} for p in info.qom_properties]
    assert listed[:5] == [
        {"name": "type", "type": "string"},
        {"name": "parent_bus", "type": "link<bus>"},
        {"name": "realized", "type": "bool"},
        {"name": "hotplugged", "type": "bool"},
        {"name": "hotpluggable", "type": "bool"},
    ]
    assert m.qom_get("/machine/peripheral/can0", "legacy-addr") == "02.0"


@pytest.mark.parametrize("version", ["7.2", "10.0"])
def test_an_isa_device_reads_its_bus(version: str) -> None:
    """device_get_hotpluggable(): the class's flag and its bus's (isa.0
    has no hotplug handler); parent_bus is the bus's path."""
    m = make_machine(version, "pc", ready=False)
    device_add(m, driver="ib700", id="wdt")
    assert m.qom_get("/machine/peripheral/wdt", "hotpluggable") is False
    assert (
        m.qom_get("/machine/peripheral/wdt", "parent_bus") == "/machine/unattached/device[3]/isa.0"
    )
    hot = make_machine(version, "pc")
    err = device_add_error(hot, driver="ib700", id="wdt")
    assert err.desc == "Bus 'isa.0' does not support hotplugging"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("00:01.0", "0000:00:01.0"),
        ("1:2:3.4", "0001:02:03.4"),
        ("ffff:ff:1f.7", "ffff:ff:1f.7"),
        ("0000:00:1f.8", None),  # function is decimal, at most 7
        ("0000:100:00.0", None),
        ("00:20.0", None),
        ("zz", None),
        ("00:01", None),
        ("00:01.0x", None),
        ("", None),
    ],
)
def test_pci_host_address_syntax(text: str, expected: str | None) -> None:
    """vfio-pci's host=: set_pci_host_devaddr's syntax, printed back as QEMU does."""
    from memdevd.machine.devices.host_devices import parse_pci_host_devaddr

    assert parse_pci_host_devaddr(text) == expected
