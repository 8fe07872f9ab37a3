"""The device catalog's hot-plug flags and qom-list-properties, sampled from real QEMU.

devices.json (memdevd/targets/x86_64/data/README.md) records per device
type ``DeviceClass.hotpluggable`` (asked with a device_add that cannot
succeed, or for the types QEMU refuses before it looks, read from the
release's source) and the ``qom-list-properties`` reply.  Checked here
against QEMU 7.2 and 10.0 another way, on a paused ``pc``:

* real hot-plugs: ``VGA`` is refused with the release's text, ``i6300esb``
  and ``virtio-blk-pci`` (on a null block node) are plugged and read
  ``hotpluggable`` true;
* the board's devices: an instance's ``hotpluggable`` property is the
  class's flag when the device has no bus or sits on a hot-pluggable one
  (``pci.0`` here, witnessed by a cold-plugged ``i6300esb``), which tests
  the flags derived from source (``PIIX3``, ``PIIX4_PM``, ``i440FX``);
* ``qom-list-properties`` of a few types, order included;
* memdevd against QEMU (scenarios replayed on both): hot ``device_add``
  of a sample of catalog types (refused by class, by bus, or plugged) and
  ``qom-list`` of the devices, hot- and cold-plugged, in QEMU's order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from memdevd.devtools.scenario import compare_live, memdevd_target, parse_scenario, qemu_target
from memdevd.releases.recorded import DevicePropertyInfo, Recording, recording
from memdevd.releases.table import get_release

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from live_qemu import QEMU_VERSIONS, mask_problem, qemu_binary, qemu_command

pytestmark = pytest.mark.live_qemu

ARGV = ["-S", "-nodefaults", "-display", "none", "-accel", "tcg", "-machine", "pc"]
TIMEOUT = 30.0
#: Types whose qom-list-properties is compared: PCI, a virtio proxy, the
#: board's chipset (no-user), a DIMM, a vCPU, USB, ISA
QOM_SAMPLES = [
    "VGA",
    "i6300esb",
    "virtio-blk-pci",
    "PIIX3",
    "pc-dimm",
    "qemu64-x86_64-cpu",
    "usb-tablet",
    "isa-serial",
]


def x86(version: str) -> Recording:
    return recording("x86_64", get_release(version))


class QMP:
    """A QEMU with a QMP socket, asked one command at a time."""

    def __init__(self, version: str, extra: list[str]) -> None:
        if qemu_binary(version) is None:
            pytest.skip(f"QEMU {version} is not installed")
        if (problem := mask_problem(version)) is not None:
            pytest.skip(problem)
        self.tmp = tempfile.mkdtemp(prefix="memdevd-catalog-")
        path = os.path.join(self.tmp, "qmp.sock")
        argv = [*ARGV, *extra, "-qmp", f"unix:{path},server=on,wait=off"]
        self.proc = subprocess.Popen(
            qemu_command(version, argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + TIMEOUT
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(TIMEOUT)
        while True:
            try:
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.close()
                    raise RuntimeError(f"QEMU {version} did not start: {argv}") from None
                time.sleep(0.02)
        self.file = self.sock.makefile("rb")
        self.file.readline()  # the greeting
        assert self.execute("qmp_capabilities") == {"return": {}}

    def execute(self, command: str, arguments: dict[str, Any] | None = None) -> Any:
        msg: dict[str, Any] = {"execute": command}
        if arguments is not None:
            msg["arguments"] = arguments
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = json.loads(self.file.readline())
            if "event" not in reply:
                return reply

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        assert self.proc.stderr is not None
        self.proc.stderr.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


@contextlib.contextmanager
def qemu(version: str, *extra: str) -> Iterator[QMP]:
    q = QMP(version, list(extra))
    try:
        yield q
    finally:
        q.close()


def as_reply(props: tuple[DevicePropertyInfo, ...]) -> list[dict[str, Any]]:
    out = []
    for p in props:
        entry: dict[str, Any] = {"name": p.name, "type": p.type}
        if p.description is not None:
            entry["description"] = p.description
        if p.has_default:
            entry["default-value"] = p.default_value
        out.append(entry)
    return out


def flag(version: str, name: str) -> bool | None:
    info = x86(version).device_type(name)
    assert info is not None, name
    return info.hotpluggable


@pytest.mark.parametrize("version", QEMU_VERSIONS)
def test_hot_plugs_as_the_catalog_says(version: str) -> None:
    assert flag(version, "VGA") is False
    assert flag(version, "i6300esb") is True
    assert flag(version, "virtio-blk-pci") is True
    with qemu(version) as q:
        refused = q.execute("device_add", {"driver": "VGA", "id": "vga"})
        assert (
            refused["error"]["desc"]
            == {
                # 7.2: qdev_get_device_class(); 10.0: qdev_hotplug_allowed()
                "7.2": "Parameter 'driver' expects a pluggable device type",
                "10.0": "Device 'VGA' does not support hotplugging",
                "11.1": "Device 'VGA' does not support hotplugging",
            }[version]
        )
        assert q.execute("device_add", {"driver": "i6300esb", "id": "wdt"}) == {"return": {}}
        node = {"driver": "null-co", "node-name": "null0", "size": 1 << 20}
        assert q.execute("blockdev-add", node) == {"return": {}}
        disk = {"driver": "virtio-blk-pci", "id": "disk", "drive": "null0"}
        assert q.execute("device_add", disk) == {"return": {}}
        for dev in ("wdt", "disk"):
            path = f"/machine/peripheral/{dev}"
            reply = q.execute("qom-get", {"path": path, "property": "hotpluggable"})
            assert reply == {"return": True}, dev


@pytest.mark.parametrize("version", QEMU_VERSIONS)
def test_board_devices_read_the_class_flag(version: str) -> None:
    """An instance's ``hotpluggable`` is the class's flag and its bus's:
    where the device has no bus or a hot-pluggable one, it is the class's."""
    with qemu(version, "-device", "i6300esb,id=wdt") as q:
        wdt = q.execute("qom-get", {"path": "/machine/peripheral/wdt", "property": "parent_bus"})
        pci0 = wdt["return"]
        witness = {"path": "/machine/peripheral/wdt", "property": "hotpluggable"}
        assert q.execute("qom-get", witness) == {"return": True}  # pci.0 is hot-pluggable
        checked: dict[str, bool] = {}
        # the board's devices and their device children (10.0's PIIX4_PM
        # is a child of PIIX3)
        pending = ["/machine", "/machine/unattached"]
        while pending:
            parent = pending.pop()
            for child in q.execute("qom-list", {"path": parent})["return"]:
                if not child["type"].startswith("child<"):
                    continue
                info = x86(version).device_type(child["type"][len("child<") : -1])
                if info is None:
                    continue  # no device: a container, a memory region, a bus...
                path = f"{parent}/{child['name']}"
                pending.append(path)
                bus = q.execute("qom-get", {"path": path, "property": "parent_bus"})["return"]
                value = q.execute("qom-get", {"path": path, "property": "hotpluggable"})
                if value["return"] or bus in ("", pci0):
                    assert info.hotpluggable is value["return"], path
                    checked[info.name] = value["return"]
    assert {"PIIX3", "PIIX4_PM", "i440FX"} <= {n for n, v in checked.items() if not v}
    assert checked["qemu64-x86_64-cpu"] is True


@pytest.mark.parametrize("version", QEMU_VERSIONS)
def test_qom_list_properties_in_qemus_order(version: str) -> None:
    with qemu(version) as q:
        for name in QOM_SAMPLES:
            info = x86(version).device_type(name)
            assert info is not None, name
            reply = q.execute("qom-list-properties", {"typename": name})
            assert as_reply(info.qom_properties) == reply["return"], name


#: Hot device_add of catalog types on a paused pc: refused by the class
#: (VGA, cirrus-vga), by the bus (the ib700 watchdog on isa.0), by the missing bus
#: (usb-tablet), or plugged (a watchdog, a NIC, a virtio proxy, an HDA
#: controller with its bus named after the id, an anonymous one).
HOT_SAMPLES: list[dict[str, Any]] = [
    {"driver": "VGA", "id": "vga0"},
    {"driver": "cirrus-vga", "id": "vga1"},
    {"driver": "ib700", "id": "wdt1"},
    {"driver": "usb-tablet", "id": "tab0"},
    {"driver": "i6300esb", "id": "wdt0"},
    {"driver": "e1000", "id": "nic0"},
    {"driver": "virtio-rng-pci", "id": "rng0"},
    {"driver": "virtio-net-pci", "id": "net0"},
    {"driver": "intel-hda", "id": "dev0"},
    {"driver": "virtio-rng-pci"},
]
#: Cold-plugged: what only the command line can plug.  A device owning a
#: bus has the recorder's id: QEMU's order depends on the bus's name.
COLD_ARGV = ["-device", "VGA,id=vga2", "-device", "ib700,id=wdt1"]


def _plug_steps(samples: list[dict[str, Any]], cold: list[str]) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = [{"send": {"execute": "qmp_capabilities"}}]
    for args in samples:
        steps.append({"send": {"execute": "device_add", "arguments": args}})
    ids = [a["id"] for a in samples if "id" in a]
    ids += [arg.split("id=")[1] for arg in cold if "id=" in arg]
    for dev in ids:
        path = f"/machine/peripheral/{dev}"
        steps.append({"send": {"execute": "qom-list", "arguments": {"path": path}}})
    for path in ("/machine/peripheral/rng0/virtio-backend", "/machine/peripheral-anon/device[0]"):
        steps.append({"send": {"execute": "qom-list", "arguments": {"path": path}}})
    return steps


@pytest.mark.parametrize("version", QEMU_VERSIONS)
def test_memdevd_plugs_and_lists_as_qemu(version: str) -> None:
    binary = qemu_binary(version)
    if binary is None:
        pytest.skip(f"QEMU {version} is not installed")
    argv = [*ARGV, *COLD_ARGV]
    scenario = parse_scenario(
        {
            "name": "catalog-hotplug",
            "argv": argv,
            "steps": _plug_steps(HOT_SAMPLES, COLD_ARGV),
        }
    )
    result = asyncio.run(compare_live(scenario, qemu_target(binary), memdevd_target(version)))
    assert result.ok, result.difference or result.error
