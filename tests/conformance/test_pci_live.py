"""``query-pci`` against real QEMU with every recorded PCI type cold-plugged.

For each release and machine family, the PCI types of the release's
``pci.json`` go on the root bus in batches (one slot each, ``id=tN``,
minimal backends), and QEMU 7.2/10.0 and memdevd emulating the same
release must answer ``query-pci`` alike: the board's functions, each
type's identity as recorded, memdevd's placement.  The ``pci_*``
scenarios (tests/conformance/scenarios/) cover memory devices, root ports,
hot-plug, versioned machine types and option ROMs.
"""

from __future__ import annotations

import asyncio
import json
from functools import cache

import pytest

from memdevd.devtools.scenario import compare_live, memdevd_target, parse_scenario, qemu_target
from tests.live_qemu import DATA, QEMU_VERSIONS, qemu_binary

pytestmark = pytest.mark.live_qemu

FAMILIES = ("pc", "q35")
SLOTS = tuple(range(2, 31))

_ONE_BALLOON = "QEMU allows one balloon; memdevd checks only virtio-balloon-pci"

#: Types memdevd cannot create as QEMU does yet (not query-pci's doing).
NOT_COMPARED: dict[str, str] = {
    "virtio-crypto-pci": "needs a cryptodev backend object",
    "virtio-9p-pci": "needs -fsdev",
    "virtio-9p-pci-transitional": "needs -fsdev",
    "virtio-9p-pci-non-transitional": "needs -fsdev",
    "pci-ipmi-bt": "needs an ipmi-bmc-sim device",
    "pci-ipmi-kcs": "needs an ipmi-bmc-sim device",
    # Found by this test, other areas' divergences (device catalog):
    "qxl-vga": "QEMU: must be the first display device (console 0); memdevd does not check",
    "virtio-balloon-pci-transitional": _ONE_BALLOON,
    "virtio-balloon-pci-non-transitional": _ONE_BALLOON,
    "igb": "10.0 registers its SR-IOV VFs (igbvf) at realize, taking devfns memdevd leaves free",
    "pxb": "its internal pci-bridge and host bridge are not made (docs/divergences.md)",
}


@cache
def _types(version: str) -> tuple[str, ...]:
    table = json.loads((DATA / f"qemu-{version}" / "pci.json").read_text(encoding="utf-8"))
    return tuple(sorted(t for t in table["types"] if t not in NOT_COMPARED))


def _device_args(driver: str, n: int) -> list[str]:
    args: list[str] = []
    props = ""
    if driver.startswith("virtio-blk-pci") or driver == "nvme":
        args += ["-blockdev", f"null-co,node-name=null{n}"]
        props += f",drive=null{n}" + (f",serial=s{n}" if driver == "nvme" else "")
    if driver in ("virtio-mem-pci", "virtio-pmem-pci", "ivshmem-plain"):
        args += ["-object", f"memory-backend-ram,id=mem{n},size=1G,share=on"]
        props += f",memdev=mem{n}"
    if driver in ("pci-bridge", "pci-bridge-seat"):
        props += f",chassis_nr={n + 1}"
    if driver in ("pcie-root-port", "ioh3420", "cxl-rp"):
        props += f",chassis={n + 1},slot={n + 1}"
    if driver == "cxl-type3":
        args += ["-object", f"memory-backend-ram,id=mem{n},size=256M"]
        args += ["-object", f"memory-backend-ram,id=lsa{n},size=1M"]
        props += f",memdev=mem{n},lsa=lsa{n}"
    if driver in ("pxb-pcie", "pxb-cxl"):
        props += f",bus_nr={n + 100}"
    return [*args, "-device", f"{driver},id=t{n},addr={SLOTS[n]:#x}{props}"]


def _batches(version: str) -> list[tuple[str, ...]]:
    types = _types(version)
    return [types[i : i + len(SLOTS)] for i in range(0, len(types), len(SLOTS))]


CASES = [
    (version, family, index)
    for version in QEMU_VERSIONS
    for family in FAMILIES
    for index in range(len(_batches(version)))
]


@pytest.mark.parametrize(("version", "family", "index"), CASES)
def test_catalog_types_in_query_pci(version: str, family: str, index: int) -> None:
    binary = qemu_binary(version)
    if binary is None:
        pytest.skip(f"QEMU {version} is not installed")
    batch = _batches(version)[index]
    # q35 with CXL, as tools/record_pci_data.py records it (pxb-cxl needs it).
    machine = "q35,cxl=on" if family == "q35" else family
    argv = ["-machine", machine, "-nodefaults", "-display", "none", "-S"]
    argv += ["-m", "512M,maxmem=64G,slots=1"]
    for n, driver in enumerate(batch):
        argv += _device_args(driver, n)
    steps = [{"send": {"execute": "qmp_capabilities"}}, {"send": {"execute": "query-pci"}}]
    scenario = parse_scenario(
        {"name": f"pci-{family}-{index}", "notes": " ".join(batch), "argv": argv, "steps": steps}
    )
    result = asyncio.run(compare_live(scenario, qemu_target(binary), memdevd_target(version)))
    assert result.ok, f"{' '.join(batch)}\n{result.message}"
