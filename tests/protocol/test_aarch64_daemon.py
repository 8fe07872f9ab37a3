"""memdevd as qemu-system-aarch64 (``-memdevd target=aarch64``), driven
through its QMP socket as a management tool does.

The expected answers are live qemu-system-aarch64's (7.2, 10.0, 11.1; the
live comparison is tests/conformance/test_aarch64_live.py): the arm virt
machine's memory map and DIMM rules (the acpi-ged exists only with
firmware), virtio-mem on a root port with native PCIe unplug, start-up
errors; and what only memdevd's simulated guest does: the GED eject of a
DIMM and virtio-mem resizes once the VM runs.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from protocol_harness import GiB, run_memdevd

BASE = ["-machine", "virt", "-cpu", "max", "-m", "1G,slots=4,maxmem=8G", "-nodefaults"]
BASE += ["-display", "none", "-S"]


def _argv(version: str, guest: str, *extra: str) -> list[str]:
    return ["-memdevd", f"target=aarch64,version={version},guest={guest}", *BASE, *extra]


async def _dimm(qmp, memdev: str, dev: str, size: int = GiB) -> dict:
    args = {"qom-type": "memory-backend-ram", "id": memdev, "size": size}
    assert await qmp.execute("object-add", args) == {"return": {}}
    return await qmp.execute("device_add", {"driver": "pc-dimm", "id": dev, "memdev": memdev})


@pytest.mark.parametrize("version", ["7.2", "11.1"])
def test_dimm_needs_the_acpi_ged(workdir: Path, version: str) -> None:
    async def go() -> None:
        async with run_memdevd(workdir, _argv(version, "none")) as proc:
            qmp = await proc.connect()
            await qmp.negotiate()
            summary = await qmp.ok("query-memory-size-summary")
            assert summary == {"base-memory": GiB, "plugged-memory": 0}
            rsp = await _dimm(qmp, "m0", "d0")
            assert rsp["error"]["desc"] == "memory hotplug is not enabled: missing acpi-ged device"
            assert await qmp.ok("query-memory-devices") == []
            rsp = await qmp.execute("query-acpi-ospm-status")
            assert rsp["error"]["desc"] == "command is not supported, missing ACPI device"

    asyncio.run(go())


def test_dimm_through_the_ged_and_its_eject(workdir: Path) -> None:
    """With firmware the DIMM lands at 2 GiB (device memory after RAM at
    1 GiB); the cooperative guest ejects it once the VM runs."""

    async def go() -> None:
        argv = _argv("11.1", "cooperative", "-bios", "/dev/null")
        async with run_memdevd(workdir, argv) as proc:
            qmp = await proc.connect()
            await qmp.negotiate()
            assert await _dimm(qmp, "m0", "d0") == {"return": {}}
            (dev,) = await qmp.ok("query-memory-devices")
            assert dev["data"]["addr"] == 2 * GiB and dev["data"]["slot"] == 0
            rsp = await qmp.execute("device_add", {"driver": "nvdimm", "id": "nv0", "memdev": "m0"})
            assert rsp["error"]["desc"] == "nvdimm is not enabled: add 'nvdimm=on' to '-M'"
            assert await qmp.execute("device_del", {"id": "d0"}) == {"return": {}}
            ospm = await qmp.ok("query-acpi-ospm-status")
            assert ospm[0]["device"] == "d0"
            await qmp.ok("cont")
            deleted = await qmp.event("DEVICE_DELETED", timeout=10)
            assert deleted["data"] == {"device": "d0", "path": "/machine/peripheral/d0"}
            assert await qmp.ok("query-memory-devices") == []

    asyncio.run(go())


def test_virtio_mem_on_a_root_port(workdir: Path) -> None:
    """pcie.0 takes no hot-plug; on a root port virtio-mem plugs, and a
    device hot-added to a slot no guest powered on is unplugged at once
    (native PCIe hot-plug)."""

    async def go() -> None:
        extra = ["-device", "pcie-root-port,id=rp0,chassis=1"]
        extra += ["-device", "pcie-root-port,id=rp1,chassis=2"]
        async with run_memdevd(workdir, _argv("11.1", "none", *extra)) as proc:
            qmp = await proc.connect()
            await qmp.negotiate()
            for mid in ("m1", "m2"):
                args = {"qom-type": "memory-backend-ram", "id": mid, "size": GiB}
                assert await qmp.execute("object-add", args) == {"return": {}}
            rsp = await qmp.execute(
                "device_add", {"driver": "virtio-mem-pci", "id": "vm0", "memdev": "m1"}
            )
            assert rsp["error"]["desc"] == "Bus 'pcie.0' does not support hotplugging"
            # Debian's qemu-system-aarch64 is built without virtio-pmem-pci.
            args = {"driver": "virtio-pmem-pci", "id": "pm0", "memdev": "m1", "bus": "rp0"}
            rsp = await qmp.execute("device_add", args)
            assert rsp["error"]["desc"] == "'virtio-pmem-pci' is not a valid device model name"
            args = {"driver": "virtio-mem-pci", "id": "vm0", "memdev": "m1", "bus": "rp0"}
            assert await qmp.execute("device_add", args) == {"return": {}}
            args = {"driver": "virtio-mem-pci", "id": "vm1", "memdev": "m2", "bus": "rp1"}
            assert await qmp.execute("device_add", args) == {"return": {}}
            devices = await qmp.ok("query-memory-devices")
            assert [d["data"]["memaddr"] for d in devices] == [2 * GiB, 3 * GiB]
            assert await qmp.execute("device_del", {"id": "vm1"}) == {"return": {}}
            first = await qmp.event("DEVICE_DELETED")
            assert first["data"] == {"path": "/machine/peripheral/vm1/virtio-backend"}
            second = await qmp.event("DEVICE_DELETED")
            assert second["data"] == {"device": "vm1", "path": "/machine/peripheral/vm1"}
            assert len(await qmp.ok("query-memory-devices")) == 1

    asyncio.run(go())


def test_virtio_mem_resize_with_the_guest(workdir: Path) -> None:
    async def go() -> None:
        extra = ["-device", "pcie-root-port,id=rp0,chassis=1"]
        extra += ["-object", "memory-backend-ram,id=m1,size=1G"]
        extra += ["-device", "virtio-mem-pci,id=vm0,memdev=m1,bus=rp0"]
        async with run_memdevd(workdir, _argv("10.0", "cooperative", *extra)) as proc:
            qmp = await proc.connect()
            await qmp.negotiate()
            await qmp.ok("cont")
            args = {"path": "/machine/peripheral/vm0", "property": "requested-size"}
            await qmp.ok("qom-set", {**args, "value": GiB // 2})
            event = await qmp.event("MEMORY_DEVICE_SIZE_CHANGE", timeout=10)
            assert event["data"]["id"] == "vm0"
            summary = await qmp.ok("query-memory-size-summary")
            assert summary["plugged-memory"] == event["data"]["size"] > 0

    asyncio.run(go())


@pytest.mark.parametrize(
    ("version", "extra", "text"),
    [
        ("11.1", ["-cpu", "cortex-a53", "-m", "1G,slots=4,maxmem=2000G"],
         "Addressing limited to 40 bits, but memory exceeds it by 1053340729344 bytes"),
        ("7.2", ["-machine", "highmem=off", "-m", "1G,slots=2,maxmem=3G"],
         "Addressing limited to 32 bits, but memory exceeds it by 2147483648 bytes"),
        ("11.1", ["-cpu", "cortex-a9"], "Invalid CPU model: cortex-a9"),
        ("7.2", ["-cpu", "cortex-a9"], "mach-virt: CPU type cortex-a9-arm-cpu not supported"),
        ("11.1", ["-smp", "9", "-machine", "gic-version=2"],
         "Number of SMP CPUs requested (9) exceeds max CPUs supported by machine 'mach-virt' (8)"),
    ],
)  # fmt: skip
def test_startup_errors(workdir: Path, version: str, extra: list[str], text: str) -> None:
    async def go() -> None:
        async with run_memdevd(workdir, _argv(version, "none", *extra)) as proc:
            assert await proc.wait() == 1
            assert f": {text}\n" in proc.stderr()

    asyncio.run(go())


def test_board_devices_under_unattached(workdir: Path) -> None:
    """machvirt_init's devices in its order (as qemu-system-aarch64 shows
    them, compared live in the virt_board_devices scenarios): after the
    vCPUs the GIC and its MSI controller, the UART, the RTC, the PCIe host,
    a -nic NIC, the acpi-ged with firmware (else pl061 and gpio-key), the
    virtio-mmio transports and the platform bus; the system bus links them."""

    async def types(qmp, count: int) -> list[str]:
        got = []
        for i in range(count):
            path = f"/machine/unattached/device[{i}]"
            got.append(await qmp.ok("qom-get", {"path": path, "property": "type"}))
        return got

    async def go() -> None:
        async with run_memdevd(workdir, _argv("10.0", "none", "-smp", "2")) as proc:
            qmp = await proc.connect()
            await qmp.negotiate()
            head = ["max-arm-cpu"] * 2 + ["arm_gic", "arm-gicv2m", "pl011", "pl031"]
            head += ["gpex-pcihost", "pl061", "gpio-key"]
            tail = ["virtio-mmio"] * 32 + ["platform-bus-device"]
            assert await types(qmp, 42) == head + tail
            rsp = await qmp.execute("qom-get", {"path": "/machine/unattached/device[42]"})
            assert "error" in rsp
            names = {p["name"] for p in await qmp.ok("qom-list", {"path": "/machine/unattached"})}
            assert {"sysbus", "io[0]", "system[0]", "device[41]"} <= names
            link = {"path": "/machine/unattached/sysbus", "property": "child[2]"}
            assert await qmp.ok("qom-get", link) == "/machine/unattached/device[2]"
            rsp = await qmp.execute("device_del", {"id": "/machine/unattached/device[3]"})
            assert rsp["error"]["desc"] == "Bus 'main-system-bus' does not support hotplugging"
        argv = _argv("11.1", "none", "-machine", "gic-version=3", "-bios", "/dev/null")
        argv += ["-nic", "user,model=virtio-net-pci"]
        async with run_memdevd(workdir, argv) as proc:
            qmp = await proc.connect()
            await qmp.negotiate()
            head = ["max-arm-cpu", "arm-gicv3", "arm-gicv3-its", "pl011", "pl031"]
            head += ["gpex-pcihost", "virtio-net-pci", "acpi-ged", "virtio-mmio"]
            assert await types(qmp, 9) == head

    asyncio.run(go())
