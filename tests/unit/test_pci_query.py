"""``query-pci`` (machine/pci_info.py) and its recorded per-type data (pci.json).

What QEMU answers is compared live by the ``pci_*`` scenarios
(tests/conformance/scenarios/) and the corpus; these check the loader, the
reply for built machines and the command through a socket.
"""

from __future__ import annotations

import pytest
from qemu.qmp import ExecuteError

from memdevd.machine.pci_info import query_pci, type_identity
from memdevd.releases.recorded import recording
from memdevd.releases.table import get_release
from memdevd.testing import MemdevdProcess
from tests.unit.conftest import backend, device_add, device_add_error, make_machine

VERSIONS = ("7.2", "8.2", "10.0")


def _devices(reply: list[dict[str, object]]) -> list[dict[str, object]]:
    assert len(reply) == 1 and reply[0]["bus"] == 0
    devices = reply[0]["devices"]
    assert isinstance(devices, list)
    return devices


@pytest.mark.parametrize("version", VERSIONS)
def test_recorded_table_has_the_board_and_the_memory_devices(version: str) -> None:
    table = recording("x86_64", get_release(version)).pci_table()
    assert [(e["slot"], e["function"]) for e in table["board"]["pc"]] == [
        (0, 0),
        (1, 0),
        (1, 1),
        (1, 3),
    ]
    assert [(e["slot"], e["function"]) for e in table["board"]["q35"]] == [
        (0, 0),
        (31, 0),
        (31, 2),
        (31, 3),
    ]
    vmem = type_identity(table, "virtio-mem-pci", "pc")
    assert vmem is not None and vmem["id"]["vendor"] == 0x1AF4
    assert type_identity(table, "no-such-type", "pc") is None
    # A type QEMU would not create here is named with its error.
    assert "vfio-pci" in table["skipped"] and "vfio-pci" not in table["types"]


def test_default_pc_lists_the_board_functions_by_devfn() -> None:
    devices = _devices(query_pci(make_machine("10.0", "pc")))
    assert [(d["slot"], d["function"], d["class_info"]["desc"]) for d in devices] == [
        (0, 0, "Host bridge"),
        (1, 0, "ISA bridge"),
        (1, 1, "IDE controller"),
        (1, 3, "Bridge"),
    ]
    pm = devices[3]
    # QAPI member order (the JSON writer turns it into QEMU's QDict order).
    assert list(pm) == [
        "bus",
        "slot",
        "function",
        "class_info",
        "id",
        "irq",
        "irq_pin",
        "qdev_id",
        "regions",
    ]
    assert (pm["irq"], pm["irq_pin"], pm["qdev_id"]) == (0, 1, "")
    assert "irq" not in devices[0]


def test_pc_without_acpi_has_no_piix4_pm() -> None:
    devices = _devices(query_pci(make_machine("7.2", "pc", acpi=False)))
    assert [(d["slot"], d["function"]) for d in devices] == [(0, 0), (1, 0), (1, 1)]


@pytest.mark.parametrize("version", ["7.2", "10.0"])
def test_devices_are_placed_and_sorted_by_devfn(version: str) -> None:
    m = make_machine(version, "q35", ready=False)
    backend(m, "m0", "1G")
    device_add(m, driver="virtio-mem-pci", id="vm0", memdev="m0", addr="0x9")
    device_add(m, driver="pcie-root-port", id="rp0", chassis=1, addr="0x3")
    device_add(m, driver="e1000", id="nic")
    # Behind a root port: not listed before the firmware numbered the bus.
    device_add(m, driver="virtio-rng-pci", id="rng", bus="rp0")
    devices = _devices(query_pci(m))
    assert [(d["slot"], d["qdev_id"]) for d in devices] == [
        (0, ""),
        (1, "nic"),
        (3, "rp0"),
        (9, "vm0"),
        (31, ""),
        (31, ""),
        (31, ""),
    ]
    port = devices[2]
    bus = port["pci_bridge"]["bus"]  # type: ignore[index]
    assert (bus["number"], bus["secondary"], bus["subordinate"]) == (0, 0, 0)
    assert "devices" not in port["pci_bridge"]  # type: ignore[operator]
    assert "subsystem" not in port["id"]  # type: ignore[operator]
    vmem = devices[3]
    # 10.0 adds an MSI-X BAR 1 (virtio-mem-pci's vectors); the virtio modern BAR 4 in both.
    assert vmem["regions"][-1] == {
        "bar": 4,
        "type": "memory",
        "address": -1,
        "size": 16384,
        "prefetch": True,
        "mem_type_64": True,
    }


async def test_query_pci_through_the_socket() -> None:
    async with MemdevdProcess("-machine", "pc", "-device", "e1000,id=n0", version="7.2") as vm:
        client = await vm.connect()
        try:
            reply = await client.execute("query-pci")
            devices = _devices(reply)  # type: ignore[arg-type]
            # Without -nodefaults the board's VGA takes slot 2 (as in QEMU).
            assert devices[-2]["class_info"]["desc"] == "VGA controller"  # type: ignore[index]
            assert devices[-1]["qdev_id"] == "n0" and devices[-1]["slot"] == 3
            with pytest.raises(ExecuteError) as info:
                await client.execute("query-pci", {"bus": 0})
            assert info.value.error.error.desc == "Parameter 'bus' is unexpected"
        finally:
            await client.disconnect()


@pytest.mark.parametrize("version", ["7.2", "10.0"])
def test_option_rom_bar_follows_rombar_and_romfile(version: str) -> None:
    m = make_machine(version, "pc", ready=False)
    device_add(m, driver="e1000", id="plain")
    device_add(m, driver="e1000", id="nobar", rombar=0)
    device_add(m, driver="e1000", id="norom", romfile="")
    bars = {d["qdev_id"]: [r["bar"] for r in d["regions"]] for d in _devices(query_pci(m))}
    assert (bars["plain"], bars["nobar"], bars["norom"]) == ([0, 1, 6], [0, 1], [0, 1])
    m.finish_init()
    # Hot-plugged, the ROM could only go through fw_cfg: refused, nothing left behind.
    error = device_add_error(m, driver="e1000", id="hot", rombar=0)
    assert str(error) == "Hot-plugged device without ROM bar can't have an option ROM"
    assert "hot" not in {d["qdev_id"] for d in _devices(query_pci(m))}
    device_add(m, driver="e1000", id="hot", rombar=0, romfile="")


@pytest.mark.parametrize(("version", "bars"), [("7.2", [4]), ("8.2", [4]), ("10.0", [1, 4])])
def test_virtio_mem_msix_bar_by_release(version: str, bars: list[int]) -> None:
    # 8.2 reads 10.0's recording; its machine types get hw_compat_9_2 (vectors 0).
    m = make_machine(version, "pc", ready=False)
    backend(m, "m0", "1G")
    device_add(m, driver="virtio-mem-pci", id="vm", memdev="m0")
    vmem = _devices(query_pci(m))[-1]
    assert [r["bar"] for r in vmem["regions"]] == bars  # type: ignore[union-attr]


@pytest.mark.parametrize(("family", "anon_bus"), [("pc", "pci.1"), ("q35", "pci.0")])
def test_bridges_have_a_bus_whose_devices_query_pci_does_not_show(
    family: str, anon_bus: str
) -> None:
    m = make_machine("10.0", family, ready=False)
    device_add(m, driver="pci-bridge", id="br", chassis_nr=1, addr="0x6")
    device_add(m, driver="pcie-pci-bridge")
    nic = device_add(m, driver="e1000", id="n0", bus="br", addr="0x3")
    anon = device_add(m, driver="e1000", id="n1", bus=anon_bus)
    assert nic.devfn == 3 << 3 and anon.devfn == 0
    assert m.qom_get("/machine/peripheral/n1", "parent_bus").endswith(f"/{anon_bus}")
    ids = [d["qdev_id"] for d in _devices(query_pci(m))]
    assert "br" in ids and "n0" not in ids and "n1" not in ids
