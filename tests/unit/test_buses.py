"""Storage and peripheral buses (machine/qbus.py, machine/devices/bus_devices.py,
targets/x86_64/storage.py, machine/block/media.py).

The rules QEMU applies to addresses on IDE, SCSI, USB, virtio-serial,
HDA and floppy buses, the board's own buses, the -drive if=ide API and the tray
commands; compared with real QEMU in tests/conformance/test_buses_live.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from memdevd.machine.block import media
from memdevd.machine.errors import CoreError
from memdevd.machine.machine import Machine
from memdevd.machine.qbus import LegacyDrive, board_ide_buses, create_board_ide_drives
from tests.unit.conftest import device_add, device_add_error, make_machine

VERSIONS = ["7.2", "10.0"]


def _bus(m: Machine, dev_id: str) -> Any:
    return m.qom_get(f"/machine/peripheral/{dev_id}", "parent_bus")


def _image(tmp_path: Path, name: str, size: int = 1 << 20) -> str:
    path = tmp_path / name
    path.write_bytes(bytes(size))
    return str(path)


def _node(m: Machine, name: str, path: str, read_only: bool = False) -> None:
    file: dict[str, Any] = {"driver": "file", "filename": path, "read-only": read_only}
    m.block.blockdev_add({"driver": "raw", "node-name": name, "read-only": read_only, "file": file})


@pytest.mark.parametrize(
    ("version", "machine", "path"),
    [
        ("7.2", "pc", "/machine/unattached/device[17]/ide.1"),
        ("10.0", "pc", "/machine/unattached/device[3]/ide/ide.1"),
        ("7.2", "q35", "/machine/unattached/device[15]/ide.5"),
        ("10.0", "q35", "/machine/unattached/device[12]/ide.5"),
    ],
)
def test_board_ide_bus_paths(version: str, machine: str, path: str) -> None:
    m = make_machine(version, machine, ready=False)
    device_add(m, driver="ide-cd", id="cd")
    # qbus_find_recursive: the newest bus of the controller first.
    assert _bus(m, "cd") == path
    assert len(board_ide_buses(m)) == (2 if machine == "pc" else 6)


@pytest.mark.parametrize("version", VERSIONS)
def test_ide_units_on_pc(version: str) -> None:
    m = make_machine(version, "pc", ready=False)
    device_add(m, driver="ide-cd", id="a")
    device_add(m, driver="ide-cd", id="b")
    assert (
        m.qom_get("/machine/peripheral/a", "unit"),
        m.qom_get("/machine/peripheral/b", "unit"),
    ) == (0, 1)
    assert device_add_error(m, driver="ide-cd", id="c").desc == "IDE unit 1 is in use"
    err = device_add_error(m, driver="ide-cd", id="c", bus="ide.0", unit=2)
    assert err.desc == "Can't create IDE unit 2, bus supports only 2 units"
    assert device_add_error(m, driver="ide-hd", id="c", bus="ide.0").desc == "No drive specified"
    # Nothing of the failed devices is left: the id is free, the unit too.
    device_add(m, driver="ide-cd", id="c", bus="ide.0")
    assert m.qom_get("/machine/peripheral/c", "unit") == 0


@pytest.mark.parametrize("version", VERSIONS)
def test_ide_refuses_hotplug(version: str) -> None:
    m = make_machine(version, "q35", ready=False)
    device_add(m, driver="ide-cd", id="cd", bus="ide.1")
    m.finish_init()
    assert (
        device_add_error(m, driver="ide-cd", id="x").desc
        == "Bus 'ide.5' does not support hotplugging"
    )
    with pytest.raises(CoreError, match=re.escape("Bus 'ide.1' does not support hotplugging")):
        m.device_del("cd")


@pytest.mark.parametrize("version", VERSIONS)
def test_scsi_addresses(version: str, tmp_path: Path) -> None:
    m = make_machine(version, "q35", ready=False)
    device_add(m, driver="virtio-scsi-pci", id="scsi0")
    _node(m, "d0", _image(tmp_path, "d0.raw"))
    device_add(m, driver="scsi-hd", id="sd0", drive="d0")
    device_add(m, driver="scsi-cd", id="sd1")
    assert _bus(m, "sd0") == "/machine/peripheral/scsi0/virtio-backend/scsi0.0"
    assert m.qom_get("/machine/peripheral/sd1", "scsi-id") == 1
    assert device_add_error(m, driver="scsi-cd", id="x", **{"scsi-id": 0, "lun": 0}).desc == (
        "lun already used by 'sd0'"
    )
    assert device_add_error(m, driver="scsi-cd", id="x", **{"scsi-id": 256}).desc == (
        "bad scsi device id: 256"
    )
    assert device_add_error(m, driver="scsi-hd", id="x").desc == "drive property not set"
    device_add(m, driver="scsi-cd", id="lun3", **{"scsi-id": 0})
    assert m.qom_get("/machine/peripheral/lun3", "lun") == 1


@pytest.mark.parametrize("version", VERSIONS)
def test_scsi_hotplug_and_unplug(version: str) -> None:
    m = make_machine(version, "pc")
    events: list[tuple[str, Any]] = []
    m.set_event_sink(lambda name, data, ts: events.append((name, data)))
    device_add(m, driver="lsi53c895a", id="lsi")
    device_add(m, driver="scsi-cd", id="cd", bus="lsi.0")
    assert _bus(m, "cd") == "/machine/peripheral/lsi/lsi.0"
    assert device_add_error(m, driver="scsi-cd", id="x", bus="lsi.0", **{"scsi-id": 8}).desc == (
        "bad scsi device id: 8"
    )
    m.device_del("cd")
    assert [e for e, _ in events] == []  # DEVICE_DELETED follows the reply
    m.clock.run_due()
    assert [e for e, _ in events] == ["DEVICE_DELETED"]
    assert "cd" not in m.peripheral.children


@pytest.mark.parametrize("version", VERSIONS)
def test_usb_ports(version: str) -> None:
    m = make_machine(version, "q35", ready=False)
    with pytest.raises(CoreError, match="No 'usb-bus' bus found for device 'usb-tablet'"):
        device_add(m, driver="usb-tablet", id="t")
    device_add(m, driver="qemu-xhci", id="xhci")
    device_add(m, driver="usb-tablet", id="t", port="2")
    err = device_add_error(m, driver="usb-kbd", id="k", port="2")
    assert err.desc == "usb port 2 (bus xhci.0) not found (in use?)"
    device_add(m, driver="usb-mouse", id="mouse")
    assert _bus(m, "t") == "/machine/peripheral/xhci/xhci.0"
    names = [mouse["name"] for mouse in m.query_mice()]
    assert names == ["QEMU HID Mouse", "QEMU HID Tablet", "QEMU PS/2 Mouse"]
    err = device_add_error(m, driver="usb-host", id="h", hostbus=1, hostaddr=9)
    assert err.desc == "failed to find host usb device 1:9"


@pytest.mark.parametrize("version", VERSIONS)
def test_virtio_serial_ports(version: str) -> None:
    m = make_machine(version, "pc", ready=False)
    device_add(m, driver="virtio-serial-pci", id="vser", max_ports=3)
    device_add(m, driver="virtserialport", id="ga", name="org.qemu.guest_agent.0")
    assert device_add_error(m, driver="virtserialport", id="x", nr=0).desc.startswith(
        "Port number 0 on virtio-serial devices reserved"
    )
    device_add(m, driver="virtconsole", id="con")
    assert device_add_error(m, driver="virtserialport", id="x", nr=0).desc == (
        "virtio-serial-bus: A port already exists at id 0"
    )
    assert m.qom_get("/machine/peripheral/ga", "nr") == 1
    assert m.qom_get("/machine/peripheral/con", "nr") == 0
    err = device_add_error(m, driver="virtserialport", id="x", name="org.qemu.guest_agent.0")
    assert err.desc == "virtio-serial-bus: A port already exists by name org.qemu.guest_agent.0"
    err = device_add_error(m, driver="virtserialport", id="x", nr=3)
    assert err.desc == "virtio-serial-bus: Out-of-range port id specified, max. allowed: 2"


@pytest.mark.parametrize("version", VERSIONS)
def test_legacy_ide_drives_go_where_if_ide_puts_them(version: str, tmp_path: Path) -> None:
    """The API of the -drive code: drive index 2*bus+unit on pc."""
    m = make_machine(version, "pc", ready=False)
    _node(m, "d1", _image(tmp_path, "d1.raw"))
    _node(m, "c0", _image(tmp_path, "c0.iso"), read_only=True)
    m.legacy_drives.append(LegacyDrive("ide", 0, 1, "d1", False))
    m.legacy_drives.append(LegacyDrive("ide", 1, 0, "c0", True))
    assert create_board_ide_drives(m, 2) == 2
    disks = [d for d in m.devices() if d.typename in ("ide-hd", "ide-cd")]
    assert [(d.typename, d.parent_bus, d.values["unit"]) for d in disks] == [
        ("ide-hd", "ide.0", 1),
        ("ide-cd", "ide.1", 0),
    ]
    assert all(d.canonical_path().startswith("/machine/unattached/device[") for d in disks)


@pytest.mark.parametrize("version", VERSIONS)
def test_tray_and_medium(version: str, tmp_path: Path) -> None:
    m = make_machine(version, "pc", ready=False)
    events: list[tuple[str, Any]] = []
    m.set_event_sink(lambda name, data, ts: events.append((name, data)))
    _node(m, "hd", _image(tmp_path, "hd.raw"))
    device_add(m, driver="ide-hd", id="disk", drive="hd")
    device_add(m, driver="ide-cd", id="cd")
    m.finish_init()
    with pytest.raises(CoreError, match="Device 'disk' is not removable"):
        media.open_tray(m, None, "disk", False)
    with pytest.raises(CoreError, match="Need exactly one of 'device' and 'id'"):
        media.eject(m, None, None, False)
    media.change_medium(m, None, "cd", _image(tmp_path, "a.iso"), "raw", False, None)
    [blk] = [b for b in m.block.backends if b.device is not None and b.device.id == "cd"]
    assert blk.root is not None and blk.root.read_only
    media.eject(m, None, "cd", False)
    assert blk.root is None and media.tray_open(blk)
    _node(m, "n2", _image(tmp_path, "b.iso"), read_only=True)
    media.insert_medium(m, "cd", "n2")
    with pytest.raises(CoreError, match="There already is a medium in the device"):
        media.insert_anon_medium(m, blk, m.block.nodes["n2"])
    media.close_tray(m, None, "cd")
    with pytest.raises(CoreError, match="Tray of device 'cd' is not open"):
        media.remove_medium(m, None, "cd")
    moved = [data["tray-open"] for name, data in events if name == "DEVICE_TRAY_MOVED"]
    # change-medium: open + close; eject: open; close-tray: close.
    assert moved == [True, False, True, False]


# -- HDA and floppy --------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_hda_codec_addresses(version: str) -> None:
    m = make_machine(version, "q35", ready=False)
    device_add(m, driver="intel-hda", id="snd")
    assert _bus(m, "snd") == "/machine/q35/pcie.0"
    device_add(m, driver="hda-duplex", id="c1", cad=13)
    assert m.qom_get("/machine/peripheral/c1", "cad") == 13
    device_add(m, driver="hda-micro", id="c2")
    assert m.qom_get("/machine/peripheral/c2", "cad") == 14
    assert _bus(m, "c2") == "/machine/peripheral/snd/snd.0"
    err = device_add_error(m, driver="hda-output", id="c3")
    assert err.desc == "HDA audio codec address is full"
    # the failed codec changed nothing: its id is free
    assert "c3" not in m.peripheral.children


@pytest.mark.parametrize("version", VERSIONS)
def test_floppy_units_and_drive_types(version: str, tmp_path: Path) -> None:
    m = make_machine(version, "pc", ready=False)
    _node(m, "f144", _image(tmp_path, "f144.img", 1474560))
    device_add(m, driver="floppy", id="a", drive="f144")
    assert m.qom_get("/machine/peripheral/a", "drive-type") == "144"
    # the FDC after the vCPU, kvmvapic and (7.2) DMA controllers
    fdc = 12 if version == "7.2" else 9
    assert _bus(m, "a") == f"/machine/unattached/device[{fdc}]/floppy-bus.0"
    device_add(m, driver="floppy", id="b")
    # no medium: the controller's fallback
    assert m.qom_get("/machine/peripheral/b", "drive-type") == "288"
    assert m.qom_get("/machine/peripheral/b", "unit") == 1
    err = device_add_error(m, driver="floppy", id="c")
    assert err.desc == "Can't create floppy unit 2, bus supports only 2 units"


def test_floppy_bus_only_on_pc_without_drives() -> None:
    m = make_machine("10.0", "q35", ready=False)
    err = device_add_error(m, driver="floppy", id="a")
    assert err.desc == "No 'floppy-bus' bus found for device 'floppy'"
