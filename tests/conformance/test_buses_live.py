"""Storage and peripheral buses against real QEMU 7.2 and 10.0 ("buses").

The board's own buses (pc: PIIX3 IDE ide.0/ide.1; q35: AHCI ide.0-ide.5;
``-usb``), controllers added with -device/device_add and the buses they
own (IDE, SCSI, USB, virtio-serial), the devices on them with their
addresses, QOM paths and errors, hot-plug where QEMU allows it, and
removable media (the tray commands, DEVICE_TRAY_MOVED, query-block).
Each sequence runs against QEMU and memdevd emulating the same release;
the transcripts must be equal.  Command lines QEMU refuses are compared
by exit status and stderr.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from memdevd.devtools.scenario import compare_live, memdevd_target, parse_scenario, qemu_target
from tests.live_qemu import QEMU_VERSIONS, qemu_binary

pytestmark = pytest.mark.live_qemu

BASE = ["-S", "-nodefaults", "-display", "none"]
Step = tuple[str, "dict[str, Any] | None"] | tuple[str, "dict[str, Any] | None", dict[str, Any]]


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("bus-images")
    for name, size in (
        ("hd.raw", 4 << 20),
        ("cd1.iso", 1 << 20),
        ("cd2.iso", 2 << 20),
        ("fd144.img", 1474560),
        ("fd720.img", 737280),
        ("fd288.img", 2949120),
    ):
        (d / name).write_bytes(bytes(size))
    return d


def _steps(commands: list[Any]) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = [{"send": {"execute": "qmp_capabilities"}}]
    for item in commands:
        name, args = item[0], item[1]
        msg: dict[str, Any] = {"execute": name}
        if args is not None:
            msg["arguments"] = args
        step: dict[str, Any] = {"send": msg}
        if len(item) > 2:
            step.update(item[2])
        steps.append(step)
    return steps


def _get(path: str, prop: str) -> tuple[str, dict[str, Any]]:
    return ("qom-get", {"path": path, "property": prop})


def _bus_of(dev_id: str) -> tuple[str, dict[str, Any]]:
    return _get(f"/machine/peripheral/{dev_id}", "parent_bus")


DELETED = {"wait_event": "DEVICE_DELETED"}


def scenarios(d: Path) -> dict[str, tuple[list[str], list[Any]]]:
    hd = f"driver=file,node-name=hd0,filename={d / 'hd.raw'}"
    cd1, cd2 = str(d / "cd1.iso"), str(d / "cd2.iso")
    return {
        # pc: the IDE function's buses, -usb's UHCI, where devices land.
        "pc-board": (
            [
                *BASE,
                "-machine",
                "pc",
                "-usb",
                "-blockdev",
                hd,
                "-device",
                "ide-hd,id=disk,drive=hd0,bus=ide.0,unit=1",
                "-device",
                "ide-cd,id=cd",
                "-device",
                "ide-cd,id=cd2",
                "-device",
                "usb-tablet,id=tab",
                "-device",
                "usb-kbd,id=kbd",
            ],
            [
                _bus_of("disk"),
                _bus_of("cd"),
                _bus_of("cd2"),
                _get("/machine/peripheral/cd", "unit"),
                _get("/machine/peripheral/cd2", "unit"),
                _bus_of("tab"),
                _get("/machine/peripheral/tab", "port"),
                ("query-mice", None),
                ("query-block", None),
                ("device_add", {"driver": "ide-cd", "id": "x"}),
                ("device_add", {"driver": "ide-cd", "id": "x", "bus": "ide.0"}),
                ("device_del", {"id": "cd"}),
                ("device_add", {"driver": "usb-mouse", "id": "m", "port": "7"}),
                ("device_add", {"driver": "usb-mouse", "id": "m"}),
                ("query-mice", None),
                ("device_del", {"id": "tab"}, DELETED),
                ("query-mice", None),
            ],
        ),
        # q35: AHCI ports (one unit each) and -usb's EHCI with companions.
        "q35-board": (
            [
                *BASE,
                "-machine",
                "q35",
                "-usb",
                "-blockdev",
                hd,
                "-device",
                "ide-hd,id=disk,drive=hd0,bus=ide.2",
                "-device",
                "ide-cd,id=cd",
                "-device",
                "usb-tablet,id=tab",
            ],
            [
                _bus_of("disk"),
                _bus_of("cd"),
                _bus_of("tab"),
                ("qom-get", {"path": "/machine/peripheral/disk", "property": "unit"}),
                ("query-block", None),
                ("device_add", {"driver": "ide-cd", "id": "x", "bus": "ide.3"}),
                ("device_add", {"driver": "usb-storage", "id": "st"}),
                ("device_add", {"driver": "usb-tablet", "id": "t2", "bus": "ide.0"}),
                ("device_add", {"driver": "usb-tablet", "id": "t2", "bus": "nope.0"}),
            ],
        ),
        # Controllers added on the command line and hot-plugged.
        "controllers": (
            [
                *BASE,
                "-machine",
                "q35",
                "-blockdev",
                hd,
                "-device",
                "pcie-root-port,id=rp1,chassis=1",
                "-device",
                "pcie-root-port,id=rp2,chassis=2",
                "-device",
                "pcie-root-port,id=rp3,chassis=3",
                "-device",
                "virtio-scsi-pci,id=scsi0,bus=rp1",
                "-device",
                "qemu-xhci,id=xhci,bus=rp2",
                "-device",
                "ich9-ahci,id=sata",
                "-device",
                "ide-cd,id=cd,bus=sata.3",
                "-device",
                "usb-tablet,id=tab,bus=xhci.0,port=3",
            ],
            [
                _bus_of("cd"),
                _bus_of("tab"),
                ("device_add", {"driver": "scsi-hd", "id": "sd0", "drive": "hd0"}),
                _bus_of("sd0"),
                _get("/machine/peripheral/sd0", "scsi-id"),
                _get("/machine/peripheral/sd0", "lun"),
                ("device_add", {"driver": "scsi-cd", "id": "sd1", "scsi-id": 0, "lun": 0}),
                ("device_add", {"driver": "scsi-cd", "id": "sd1", "scsi-id": 256}),
                ("device_add", {"driver": "scsi-cd", "id": "sd1", "channel": 1}),
                ("device_add", {"driver": "scsi-cd", "id": "sd1"}),
                _get("/machine/peripheral/sd1", "scsi-id"),
                ("device_add", {"driver": "scsi-hd", "id": "sd2"}),
                ("query-block", None),
                ("device_del", {"id": "sd0"}, DELETED),
                ("query-block", None),
                ("device_add", {"driver": "usb-storage", "id": "us", "drive": "hd0"}),
                ("query-block", None),
                _get("/machine/peripheral/us/us.0/legacy[0]", "parent_bus"),
                ("device_add", {"driver": "usb-kbd", "id": "k", "bus": "xhci.0", "port": "3"}),
                ("device_add", {"driver": "usb-kbd", "id": "k", "bus": "xhci.0"}),
                _get("/machine/peripheral/k", "port"),
                ("device_add", {"driver": "usb-host", "id": "h", "hostbus": 1, "hostaddr": 99}),
                ("device_add", {"driver": "lsi53c895a", "id": "lsi", "bus": "rp3"}),
                ("device_add", {"driver": "scsi-cd", "id": "lcd", "bus": "lsi.0"}),
                _bus_of("lcd"),
                ("device_add", {"driver": "scsi-cd", "id": "l2", "bus": "lsi.0", "scsi-id": 8}),
                ("device_del", {"id": "scsi0"}),
                ("device_add", {"driver": "virtio-serial-pci", "id": "vser", "bus": "pcie.0"}),
            ],
        ),
        # virtio-serial ports and their numbers.
        "virtio-serial": (
            [
                *BASE,
                "-machine",
                "pc",
                "-chardev",
                "null,id=c1",
                "-chardev",
                "null,id=c2",
                "-chardev",
                "null,id=c3",
                "-device",
                "virtio-serial-pci,id=vser,max_ports=4",
                "-device",
                "virtserialport,id=ga,chardev=c1,name=org.qemu.guest_agent.0",
            ],
            [
                _bus_of("ga"),
                _get("/machine/peripheral/ga", "nr"),
                _get("/machine/peripheral/ga", "name"),
                ("device_add", {"driver": "virtserialport", "id": "p0", "nr": 0}),
                ("device_add", {"driver": "virtserialport", "id": "p1", "nr": 1}),
                ("device_add", {"driver": "virtserialport", "id": "p5", "nr": 5}),
                ("device_add", {"driver": "virtconsole", "id": "con", "chardev": "c2"}),
                _get("/machine/peripheral/con", "nr"),
                (
                    "device_add",
                    {"driver": "virtserialport", "id": "dup", "name": "org.qemu.guest_agent.0"},
                ),
                ("device_add", {"driver": "virtserialport", "id": "p2", "chardev": "c3"}),
                _get("/machine/peripheral/p2", "nr"),
                ("device_add", {"driver": "virtserialport", "id": "p3"}),
                ("device_del", {"id": "p2"}, DELETED),
                ("device_add", {"driver": "virtserialport", "id": "p4"}),
                _get("/machine/peripheral/p4", "nr"),
            ],
        ),
        # A SCSI disk with removable=on has a tray too.
        "removable-disk": (
            [
                *BASE,
                "-machine",
                "q35",
                "-blockdev",
                hd,
                "-device",
                "virtio-scsi-pci,id=vs",
                "-device",
                "scsi-hd,id=rd,drive=hd0,removable=on",
            ],
            [
                ("query-block", None),
                ("eject", {"id": "rd"}),
                ("query-block", None),
                ("blockdev-insert-medium", {"id": "rd", "node-name": "hd0"}),
                ("blockdev-close-tray", {"id": "rd"}),
                ("query-block", None),
                ("blockdev-del", {"node-name": "hd0"}),
            ],
        ),
        # The tray and medium commands on an empty ide-cd and a scsi-cd.
        "trays": (
            [
                *BASE,
                "-machine",
                "pc",
                "-blockdev",
                hd,
                "-device",
                "ide-hd,id=disk,drive=hd0",
                "-device",
                "ide-cd,id=cd",
                "-device",
                "virtio-scsi-pci,id=vs",
                "-device",
                "scsi-cd,id=scd",
                "-device",
                "usb-ehci,id=ehci",
                "-device",
                "usb-tablet,id=tab",
            ],
            [
                ("blockdev-open-tray", {"id": "cd"}),
                ("blockdev-open-tray", {"id": "cd"}),
                ("query-block", None),
                ("blockdev-change-medium", {"id": "cd", "filename": cd1, "format": "raw"}),
                ("query-block", None),
                ("eject", {"id": "cd"}),
                ("blockdev-close-tray", {"id": "cd"}),
                (
                    "blockdev-add",
                    {
                        "driver": "raw",
                        "node-name": "m2",
                        "read-only": True,
                        "file": {"driver": "file", "filename": cd2, "read-only": True},
                    },
                ),
                ("blockdev-insert-medium", {"id": "cd", "node-name": "m2"}),
                ("blockdev-open-tray", {"id": "cd", "force": True}),
                ("blockdev-insert-medium", {"id": "cd", "node-name": "nope"}),
                ("blockdev-insert-medium", {"id": "cd", "node-name": "m2"}),
                ("blockdev-insert-medium", {"id": "cd", "node-name": "m2"}),
                ("blockdev-insert-medium", {"id": "scd", "node-name": "m2"}),
                ("blockdev-close-tray", {"id": "cd"}),
                ("query-block", None),
                ("blockdev-del", {"node-name": "m2"}),
                ("blockdev-remove-medium", {"id": "cd"}),
                ("blockdev-open-tray", {"id": "cd"}),
                ("blockdev-remove-medium", {"id": "cd"}),
                ("blockdev-remove-medium", {"id": "cd"}),
                ("blockdev-del", {"node-name": "m2"}),
                ("blockdev-change-medium", {"id": "scd", "filename": cd2}),
                ("query-block", None),
                ("blockdev-change-medium", {"id": "scd", "filename": "/nonexistent.iso"}),
                ("blockdev-open-tray", {"id": "disk"}),
                ("blockdev-close-tray", {"id": "disk"}),
                ("blockdev-remove-medium", {"id": "disk"}),
                ("eject", {"id": "disk"}),
                ("eject", {"device": "nope"}),
                ("eject", {"id": "nope"}),
                ("eject", {"id": "tab"}),
                ("blockdev-open-tray", {}),
                ("blockdev-open-tray", {"id": "cd", "device": "x"}),
            ],
        ),
    }


def hda_scenario() -> tuple[list[str], list[Any]]:
    """Two HDA controllers (one named, one anonymous), codecs with and
    without ``cad``, QOM of the bus and the codecs, hot-plug refused."""
    return (
        [
            *BASE,
            "-machine",
            "q35",
            "-audiodev",
            "none,id=a",
            "-device",
            "intel-hda,id=snd",
            "-device",
            "hda-duplex,id=c1,audiodev=a,cad=3",
            "-device",
            "hda-micro,id=c2,audiodev=a",
            "-device",
            "ich9-intel-hda,id=snd2,bus=pcie.0,addr=0x1b",
            "-device",
            "hda-output,id=c3,audiodev=a,bus=snd2.0",
            "-device",
            "ich9-intel-hda",
            "-device",
            "hda-output,id=c4,audiodev=a,bus=hda.0",
        ],
        [
            ("qom-list", {"path": "/machine/peripheral/snd/snd.0"}),
            ("qom-list", {"path": "/machine/peripheral/c2"}),
            _get("/machine/peripheral/c1", "cad"),
            _get("/machine/peripheral/c2", "cad"),
            _get("/machine/peripheral/c3", "cad"),
            _get("/machine/peripheral/c2", "audiodev"),
            _bus_of("c1"),
            _bus_of("c3"),
            _bus_of("c4"),
            _get("/machine/peripheral/snd/snd.0", "child[1]"),
            ("device_add", {"driver": "hda-output", "bus": "snd.0", "audiodev": "a"}),
            ("device_add", {"driver": "hda-duplex", "audiodev": "a"}),
            ("device_del", {"id": "c1"}),
            ("device_del", {"id": "snd"}),
            ("query-pci", None),
        ],
    )


def floppy_scenarios(d: Path) -> dict[str, tuple[list[str], list[Any]]]:
    """The board's floppy controller: -drive if=floppy and -fda units, a
    -device floppy, drive types, media changes, no tray, no hot-plug; an
    isa-fdc on q35 with its own bus."""
    fd144, fd720, fd288 = (str(d / n) for n in ("fd144.img", "fd720.img", "fd288.img"))
    return {
        "floppy-pc": (
            [
                *BASE,
                "-machine",
                "pc",
                "-drive",
                f"if=floppy,file={fd720},format=raw,index=1",
                "-device",
                "floppy,id=f",
            ],
            [
                ("query-block", None),
                _get("/machine/peripheral/f", "drive-type"),
                _get("/machine/peripheral/f", "unit"),
                _bus_of("f"),
                ("qom-list", {"path": "/machine/peripheral/f"}),
                ("device_add", {"driver": "floppy", "id": "g"}),
                ("blockdev-change-medium", {"id": "f", "filename": fd144, "format": "raw"}),
                ("query-block", None),
                ("blockdev-open-tray", {"id": "f"}),
                ("eject", {"id": "f"}),
                ("eject", {"device": "floppy1"}),
                ("query-block", None),
                ("device_del", {"id": "f"}),
            ],
        ),
        "floppy-q35": (
            [
                *BASE,
                "-machine",
                "q35",
                "-fda",
                fd288,
                "-device",
                "isa-fdc,id=fdc",
                "-blockdev",
                f"driver=file,node-name=f1,filename={fd144}",
                "-device",
                "floppy,id=f,drive-type=120,drive=f1",
                "-device",
                "floppy,id=g,bus=floppy-bus.0",
            ],
            [
                ("query-block", None),
                _bus_of("f"),
                _bus_of("g"),
                _get("/machine/peripheral/f", "drive-type"),
                _get("/machine/peripheral/g", "drive-type"),
                _get("/machine/peripheral/g", "unit"),
                _get("/machine/peripheral/fdc/fdc.0", "child[0]"),
            ],
        ),
    }


def audio_hda_scenario() -> tuple[list[str], list[Any]]:
    """``-audio model=hda``: the board's intel-hda with its hda-duplex
    (cad 0), a -device codec after it on its bus (cad 1)."""
    return (
        [
            *BASE,
            "-machine",
            "q35",
            "-audio",
            "none,model=hda",
            "-device",
            "hda-output,id=c,audiodev=audiodev0",
        ],
        [
            ("query-pci", None),
            _get("/machine/peripheral/c", "cad"),
            _get("/machine/peripheral/c", "audiodev"),
            ("query-audiodevs", None),
        ],
    )


#: command lines QEMU refuses: exit status and stderr compared
REFUSED: dict[str, list[str]] = {
    "ide-unit-too-big": ["-machine", "pc", "-device", "ide-cd,unit=2"],
    "ide-unit-in-use": [
        "-machine",
        "pc",
        "-device",
        "ide-cd,bus=ide.0",
        "-device",
        "ide-cd,bus=ide.0,unit=0",
    ],
    "ahci-one-unit": ["-machine", "q35", "-device", "ide-cd", "-device", "ide-cd"],
    "ide-hd-no-drive": ["-machine", "q35", "-device", "ide-hd"],
    "no-usb-bus": ["-machine", "pc", "-device", "usb-tablet"],
    "no-scsi-bus": ["-machine", "q35", "-device", "scsi-cd"],
    "bus-not-found": ["-machine", "pc", "-device", "ide-cd,bus=ide.7"],
    "usb-port": ["-machine", "pc", "-usb", "-device", "usb-tablet,port=3"],
    "hda-no-bus": ["-machine", "q35", "-device", "hda-duplex"],
    "floppy-no-bus": ["-machine", "q35", "-device", "floppy"],
    "floppy-unit-2": ["-machine", "pc", "-device", "floppy,unit=2"],
    "floppy-unit-in-use": [
        "-machine",
        "pc",
        "-blockdev",
        "driver=null-co,node-name=n0,size=1474560",
        "-device",
        "floppy,drive=n0",
        "-device",
        "floppy,unit=0",
    ],
    "floppy-three": [
        "-machine",
        "pc",
        "-device",
        "floppy",
        "-device",
        "floppy",
        "-device",
        "floppy",
    ],
    "floppy-block-size": ["-machine", "pc", "-device", "floppy,logical_block_size=4096"],
    "floppy-block-sizes": [
        "-machine",
        "pc",
        "-device",
        "floppy,logical_block_size=4096,physical_block_size=4096",
    ],
    "floppy-min-io": ["-machine", "pc", "-device", "floppy,min_io_size=100"],
    "floppy-discard": ["-machine", "pc", "-device", "floppy,discard_granularity=100"],
    "floppy-werror": [
        "-machine",
        "pc",
        "-drive",
        "if=none,id=d,driver=null-co,werror=stop",
        "-device",
        "floppy,drive=d",
    ],
    "floppy-drive-werror": ["-machine", "pc", "-drive", "if=floppy,driver=null-co,werror=stop"],
    "floppy-index-2": ["-machine", "pc", "-drive", "if=floppy,driver=null-co,index=2"],
    "fdc-twice": ["-machine", "pc", "-device", "isa-fdc"],
    "fdc-twice-q35": [
        "-machine",
        "q35",
        "-drive",
        "if=floppy,driver=null-co",
        "-device",
        "isa-fdc",
        "-device",
        "isa-fdc,iobase=0x370",
    ],
    "hda-cad-full": [
        "-machine",
        "pc",
        "-audiodev",
        "none,id=a",
        "-device",
        "intel-hda",
        "-device",
        "hda-duplex,audiodev=a,cad=14",
        "-device",
        "hda-micro,audiodev=a",
    ],
    "hda-cad-too-big": [
        "-machine",
        "pc",
        "-audiodev",
        "none,id=a",
        "-device",
        "intel-hda",
        "-device",
        "hda-output,audiodev=a,cad=15",
    ],
    "hda-audiodev-missing": [
        "-machine",
        "pc",
        "-device",
        "intel-hda",
        "-device",
        "hda-output,audiodev=nope",
    ],
    "vser-port0": [
        "-machine",
        "pc",
        "-device",
        "virtio-serial-pci",
        "-device",
        "virtserialport,nr=0",
    ],
}


@pytest.mark.parametrize("version", QEMU_VERSIONS)
@pytest.mark.parametrize(
    "name",
    [
        "pc-board",
        "q35-board",
        "controllers",
        "virtio-serial",
        "removable-disk",
        "trays",
        "hda",
        "audio-hda",
        "floppy-pc",
        "floppy-q35",
    ],
)
def test_buses_match_qemu(images: Path, version: str, name: str) -> None:
    binary = qemu_binary(version)
    if binary is None:
        pytest.skip(f"QEMU {version} is not installed")
    extra = {"hda": hda_scenario, "audio-hda": audio_hda_scenario}
    if name in extra:
        argv, commands = extra[name]()
    elif name.startswith("floppy"):
        argv, commands = floppy_scenarios(images)[name]
    else:
        argv, commands = scenarios(images)[name]
    scenario = parse_scenario({"name": f"buses-{name}", "argv": argv, "steps": _steps(commands)})
    result = asyncio.run(compare_live(scenario, qemu_target(binary), memdevd_target(version)))
    assert result.ok, result.difference or result.error


@pytest.mark.parametrize("version", QEMU_VERSIONS)
@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_command_lines_match_qemu(version: str, name: str) -> None:
    binary = qemu_binary(version)
    if binary is None:
        pytest.skip(f"QEMU {version} is not installed")
    steps = _steps([("query-status", None)])
    scenario = parse_scenario(
        {"name": f"buses-{name}", "argv": [*BASE, *REFUSED[name]], "steps": steps}
    )
    result = asyncio.run(compare_live(scenario, qemu_target(binary), memdevd_target(version)))
    assert result.ok, result.difference or result.error
