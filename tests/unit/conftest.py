"""Helpers for unit tests of the machine core (no sockets, no QEMU).

A :class:`~memdevd.machine.machine.Machine` is built the way the daemon
builds one from a QEMU command line: a :class:`MachineConfig` for the board
and ``-m``, the release release, a :class:`VirtualClock` so that a guest's
reactions (ACPI eject) happen only when a test advances time, then board
init and ``finish_init`` (everything after that is a hot-plug).

``device_add`` goes through the path the emulated release uses: 7.2 turns
the QMP arguments into QemuOpts strings (``from_json=False``), 10.0 keeps the
JSON types (``from_json=True``).  :func:`qemu_opts` reproduces QemuOpts'
stringification (``qemu_opts_from_qdict_entry``).

:func:`snapshot` collects everything a client could observe about memory
devices, so that a failed command can be checked to change nothing.
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from memdevd.machine.clock import VirtualClock
from memdevd.machine.errors import CoreError
from memdevd.machine.guest import GuestConfig
from memdevd.machine.host import HostFacts
from memdevd.machine.machine import Machine, MachineConfig
from memdevd.machine.qdev import Device
from memdevd.releases.table import get_release
from memdevd.targets.x86_64.board import PC, Q35
from memdevd.targets.x86_64.machine_types import pc_alias, q35_alias

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
TiB = 1024 * GiB

VERSIONS = ("7.2", "10.0")

# Hypothesis settings for the machine-core property tests.  Not loaded as a
# global release: other test modules keep their own settings.  Set
# MEMDEVD_HYPOTHESIS_EXAMPLES to run more examples locally.
CORE_SETTINGS = settings(
    max_examples=int(os.environ.get("MEMDEVD_HYPOTHESIS_EXAMPLES", "100")),
    deadline=None,
    derandomize=not os.environ.get("MEMDEVD_HYPOTHESIS_EXAMPLES"),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_SIZE_RE = re.compile(r"^(\d+)([KMGT]?)$")
_SUFFIX = {"": 1, "K": KiB, "M": MiB, "G": GiB, "T": TiB}


def size(text: str | int) -> int:
    """``"1G"`` -> 1073741824 (QEMU's binary suffixes); ints pass through."""
    if isinstance(text, int):
        return text
    m = _SIZE_RE.match(text)
    if m is None:
        raise ValueError(text)
    return int(m.group(1)) * _SUFFIX[m.group(2)]


def make_machine(
    version: str = "7.2",
    machine: str = "pc",
    ram: str | int = "1G",
    slots: int = 4,
    maxmem: str | int | None = "8G",
    *,
    nvdimm: bool = False,
    acpi: bool = True,
    guest: str = "none",
    paused: bool = True,
    host: HostFacts | None = None,
    ready: bool = True,
    max_ram_below_4g: int = 0,
) -> Machine:
    """A machine as ``qemu-system-x86_64 -S -M machine -m ram,slots=,maxmem=`` starts it.

    ``maxmem=None`` means ``-m ram`` alone (no slots, maxmem = ram).
    With ``ready=False`` the machine is left before ``finish_init`` so that
    ``device_add`` calls are cold plugs (``-device``).
    Start-up errors raise :class:`CoreError` with QEMU's text.
    """
    release = get_release(version)
    board = PC if machine == "pc" else Q35
    ram_size = size(ram)
    maxram = size(maxmem) if maxmem is not None else ram_size
    config = MachineConfig(
        cpu_model="qemu64",  # the pc/q35 default (the target resolves it)
        machine_type=pc_alias(release) if machine == "pc" else q35_alias(release),
        alias=machine,
        board=board,
        ram_size=ram_size,
        maxram_size=maxram,
        ram_slots=slots if maxmem is not None else 0,
        nvdimm=nvdimm,
        acpi=acpi,
        board_options={"max-ram-below-4g": max_ram_below_4g} if max_ram_below_4g else {},
        start_paused=paused,
        guest=GuestConfig.parse(guest),
    )
    m = Machine(config, release, host=host, clock=VirtualClock())
    init_board = getattr(m, "init_board", None)
    if init_board is not None:
        init_board()
    else:  # pragma: no cover - older Machine API: layout computed in __init__
        m.create_machine_ram()
    if ready:
        m.finish_init()
    return m


def qemu_opts(args: Mapping[str, Any]) -> dict[str, str]:
    """QemuOpts' view of QMP arguments (``qemu_opts_from_qdict_entry``).

    Numbers become decimal strings, booleans ``on``/``off``, strings stay;
    objects, arrays and null are dropped silently, as QEMU 7.2 does.  An
    integer outside int64/uint64 is a double for QEMU's JSON parser.
    """
    out: dict[str, str] = {}
    for key, value in args.items():
        if isinstance(value, bool):
            out[key] = "on" if value else "off"
        elif isinstance(value, int) and -(1 << 63) <= value < (1 << 64):
            out[key] = str(value)
        elif isinstance(value, int):
            out[key] = f"{float(value):.17g}"
        elif isinstance(value, float):
            out[key] = f"{value:.17g}"
        elif isinstance(value, str):
            out[key] = value
    return out


def device_add(m: Machine, **args: Any) -> Device:
    """``device_add`` as the emulated release parses its arguments."""
    if m.release.strict_device_add:
        return m.device_add(dict(args), from_json=True)
    return m.device_add(qemu_opts(args), from_json=False)


def device_add_error(m: Machine, **args: Any) -> CoreError:
    """``device_add`` that must fail; returns the error."""
    with pytest.raises(CoreError) as info:
        device_add(m, **args)
    return info.value


def backend(m: Machine, bid: str, sz: str | int, qom_type: str = "ram", /, **props: Any) -> None:
    """``object-add`` of ``memory-backend-<qom_type>`` with a JSON-typed size."""
    m.object_add(f"memory-backend-{qom_type}", bid, {"size": size(sz), **props})


def dimm(m: Machine, dev_id: str | None, memdev: str, **args: Any) -> Device:
    """A ram backend named ``memdev`` must exist; plugs a pc-dimm on it."""
    if dev_id is not None:
        args["id"] = dev_id
    return device_add(m, driver="pc-dimm", memdev=memdev, **args)


_BACKING_FILE: list[str] = []


def backing_file() -> str:
    """An existing, writable file for memory-backend-file ``mem-path``.

    memdevd never opens it, but it stat()s the path as QEMU's
    ``file_ram_open`` would fail on it, so the file must exist.
    """
    if not _BACKING_FILE:
        directory = tempfile.mkdtemp(prefix="memdevd-unit-")
        path = os.path.join(directory, "backing")
        with open(path, "wb") as f:
            f.truncate(256 * MiB)
        atexit.register(shutil.rmtree, directory, True)
        _BACKING_FILE.append(path)
    return _BACKING_FILE[0]


def layout(m: Machine) -> list[tuple[str | None, int, int, int]]:
    """(id, addr, size, slot) of every DIMM in query-memory-devices order."""
    return [
        (d["data"].get("id"), d["data"]["addr"], d["data"]["size"], d["data"]["slot"])
        for d in m.memory.device_list()
        if d["type"] in ("dimm", "nvdimm")
    ]


def unplug(m: Machine, dev_id: str, *, seconds: float = 1.0) -> None:
    """``device_del`` and let a cooperative guest complete the eject.

    The machine must have been made with ``guest="cooperative"``; a paused
    machine is resumed first (guests act only while running).
    """
    m.device_del(dev_id)
    if not m.running:
        m.cont()
    assert isinstance(m.clock, VirtualClock)
    m.clock.advance(int(seconds * 1e9))


def snapshot(m: Machine) -> dict[str, Any]:
    """Every observable piece of memory-device state (plus core accounting)."""
    dm = m.device_memory
    return {
        "query-memory-devices": m.memory.device_list(),
        "query-memdev": sorted(m.memdev_list(), key=lambda b: str(b.get("id"))),
        "query-memory-size-summary": m.memory_size_summary(),
        "peripheral": m.qom_list("/machine/peripheral"),
        "peripheral-anon": m.qom_list("/machine/peripheral-anon"),
        "anon_counter": m.anon_counter,
        "mapped": {b.id: b.mapped for b in m.backends()},
        "acpi-ospm": m.acpi_ospm_status(),
        "device_memory": None
        if dm is None
        else (dm.used_region_size, dm.required_memslots, dm.used_memslots, dm.dimm_size),
        "devices": [d.canonical_path() for d in m.devices()],
    }


def assert_unchanged(
    before: Mapping[str, Any], after: Mapping[str, Any], *, anon_advanced: bool = False
) -> None:
    """``after`` equals ``before`` except QEMU's own anon counter side effect."""
    expected = dict(before)
    if anon_advanced:
        expected["anon_counter"] = before["anon_counter"] + 1
    assert dict(after) == expected


@pytest.fixture(params=VERSIONS)
def version(request: pytest.FixtureRequest) -> str:
    return str(request.param)
