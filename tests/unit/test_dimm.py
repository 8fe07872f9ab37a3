"""pc-dimm and nvdimm: error precedence, exact texts, and "a failure changes nothing".

Every expected reply was recorded from a live QEMU 7.2.22 and 10.0.2
(``-S -nodefaults -display none -accel tcg``).  The failing device_add was
sent without an id, and the anonymous-device counter was then read by
hot-plugging an anonymous ``virtio-rng-pci`` and listing
``/machine/peripheral-anon``: it showed ``device[1]`` (counter advanced) for
every failure after ``qdev_set_id``, ``device[0]`` for the three failures
before it (no driver, unknown driver, wrong bus).

Setups (QEMU command line, then QMP):

``std``
    ``-M pc -m 1G,slots=2,maxmem=4G``; memory-backend-ram m0 1G, m1 512M, m3 3G,
    r1m 1M, r4097k 4097K; memory-backend-memfd f1m 1M;
    ``device_add pc-dimm id=d0 memdev=m0 slot=1`` (at 0x100000000) - qemu-semantics §5.2.
``nv``
    ``-M pc,nvdimm=on -m 1G,slots=4,maxmem=8G``; ram n2m 2M, n3m 3M, n128m 128M,
    n8g 8G; memfd f128m 128M; file nro 128M (``mem-path``, ``readonly=on``).
``noacpi`` / ``noacpi-q35``
    ``-M pc,acpi=off`` / ``-M q35,acpi=off``, ``-m 1G,slots=2,maxmem=4G``; ram m1 1G.
``nomaxmem`` / ``noslots``
    ``-M pc,nvdimm=on -m 1G`` / ``-M pc,nvdimm=on -m 1G,maxmem=2G``; ram m1 1G.
``full``
    ``-M pc -m 1G,slots=2,maxmem=4G``; DIMMs a and b (1G) fill both slots; ram c 1G.
"""

# QEMU's answers stay one per line in the tables below, so they can be grepped.
# ruff: noqa: E501

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from conftest import (
    GiB,
    MiB,
    assert_unchanged,
    backend,
    backing_file,
    device_add,
    device_add_error,
    dimm,
    layout,
    make_machine,
    snapshot,
    unplug,
)

from memdevd.machine.errors import CoreError
from memdevd.machine.machine import Machine

G = "GenericError"
DNF = "DeviceNotFound"


def _std(version: str) -> Machine:
    m = make_machine(version, "pc", "1G", slots=2, maxmem="4G")
    for bid, sz in (("m0", "1G"), ("m1", "512M"), ("m3", "3G"), ("r1m", "1M"), ("r4097k", "4097K")):
        backend(m, bid, sz)
    backend(m, "f1m", "1M", "memfd")
    dimm(m, "d0", "m0", slot=1)
    return m


def _nv(version: str) -> Machine:
    m = make_machine(version, "pc", "1G", slots=4, maxmem="8G", nvdimm=True)
    for bid, sz in (("n2m", "2M"), ("n3m", "3M"), ("n128m", "128M"), ("n8g", "8G")):
        backend(m, bid, sz)
    backend(m, "f128m", "128M", "memfd")
    backend(m, "nro", "128M", "file", **{"mem-path": backing_file(), "readonly": True})
    return m


def _noacpi(machine: str) -> Callable[[str], Machine]:
    def setup(version: str) -> Machine:
        m = make_machine(version, machine, "1G", slots=2, maxmem="4G", acpi=False)
        backend(m, "m1", "1G")
        return m

    return setup


def _nomaxmem(maxmem: str | None) -> Callable[[str], Machine]:
    def setup(version: str) -> Machine:
        m = make_machine(version, "pc", "1G", slots=0, maxmem=maxmem, nvdimm=True)
        backend(m, "m1", "1G")
        return m

    return setup


def _full(version: str) -> Machine:
    m = make_machine(version, "pc", "1G", slots=2, maxmem="4G")
    for bid in "abc":
        backend(m, bid, "1G")
    dimm(m, "a", "a")
    dimm(m, "b", "b")
    return m


SETUPS: dict[str, Callable[[str], Machine]] = {
    "std": _std,
    "nv": _nv,
    "noacpi": _noacpi("pc"),
    "noacpi-q35": _noacpi("q35"),
    "nomaxmem": _nomaxmem(None),
    "noslots": _nomaxmem("2G"),
    "full": _full,
}

Reply = tuple[str, str] | None  # (class, desc); None = success


@dataclass(frozen=True)
class Case:
    name: str
    setup: str
    args: dict[str, Any]
    reply_7_2: Reply
    reply_10_0: Reply | str = "same"
    # False for failures before qdev_set_id (device[N] not consumed)
    anon_advances: bool = True

    def reply(self, version: str) -> Reply:
        if version == "7.2" or self.reply_10_0 == "same":
            return self.reply_7_2
        assert not isinstance(self.reply_10_0, str)
        return self.reply_10_0


def _pd(**kw: Any) -> dict[str, Any]:
    return {"driver": "pc-dimm", **kw}


def _nvd(**kw: Any) -> dict[str, Any]:
    return {"driver": "nvdimm", **kw}


CASES: list[Case] = [
    # -- before qdev_set_id: the anonymous counter does not move
    Case("no driver", "std", {"memdev": "m1"}, (G, "Parameter 'driver' is missing"), anon_advances=False),
    Case("unknown driver", "std", {"driver": "pc-dimmx"}, (G, "'pc-dimmx' is not a valid device model name"), anon_advances=False),
    Case("backend as driver", "std", {"driver": "memory-backend-ram"}, (G, "'memory-backend-ram' is not a valid device model name"), anon_advances=False),
    Case("bus pci.0", "std", _pd(bus="pci.0", memdev="m1"), (G, "Device 'pc-dimm' can't go on PCI bus"), anon_advances=False),
    # -- property values (qdev_device_add_from_qdict, after qdev_set_id)
    Case("slot 'x'", "std", _pd(memdev="m1", slot="x"), (G, "Parameter 'slot' expects integer"), (G, "Invalid parameter type for 'slot', expected: integer")),
    Case("slot 99999999999", "std", _pd(memdev="m1", slot=99999999999), (G, "Parameter 'slot' expects int32_t")),
    Case("node -1", "std", _pd(memdev="m1", node=-1), (G, "Parameter 'node' expects uint32_t")),
    Case("addr true", "std", _pd(memdev="m1", addr=True), (G, "Parameter 'addr' expects integer"), (G, "Parameter 'addr' expects uint64")),
    Case("addr hex string", "std", _pd(memdev="m1", addr="0x180000000"), None, (G, "Parameter 'addr' expects uint64")),
    Case("slot string", "std", _pd(memdev="m1", slot="0"), None, (G, "Invalid parameter type for 'slot', expected: integer")),
    Case("addr -1", "std", _pd(memdev="m1", addr=-1), (G, "address must be aligned to 0x200000 bytes")),
    Case("addr 2^64-2M", "std", _pd(memdev="m1", addr=2**64 - 2 * MiB), (G, "can't add memory device [0xffffffffffe00000:0x20000000], usable range for memory devices [0x100000000:0x140000000]")),
    Case("addr 2^64", "std", _pd(memdev="m1", addr=2**64), (G, "Parameter 'addr' expects integer"), (G, "Parameter 'addr' expects uint64")),
    Case("node 2^32", "std", _pd(memdev="m1", node=2**32), (G, "Parameter 'node' expects uint32_t")),
    Case("addr string 0", "std", _pd(memdev="m1", addr="0"), None, (G, "Parameter 'addr' expects uint64")),
    Case("unknown property", "std", _pd(memdev="m1", foo="1"), (G, "Property 'pc-dimm.foo' not found")),
    Case("size property", "std", _pd(memdev="m1", size="1G"), (G, "Property 'pc-dimm.size' is not writable")),
    Case("memdev unknown", "std", _pd(memdev="nope"), (DNF, "Device 'nope' not found")),
    Case("memdev /machine", "std", _pd(memdev="/machine"), (G, "Invalid parameter type for 'memdev', expected: memory-backend")),
    Case("memdev object", "std", _pd(memdev={"a": 1}), (G, "'memdev' property must be set"), (G, "Invalid parameter type for 'memdev', expected: string")),
    # -- pc_memory_pre_plug / pc_dimm_pre_plug
    Case("slot busy", "std", _pd(memdev="m1", slot=1), (G, "slot 1 is busy")),
    Case("slot 2", "std", _pd(memdev="m1", slot=2), (G, "invalid slot number 2, valid range is [0-1]")),
    Case("slot -5", "std", _pd(memdev="m1", slot=-5), (G, "invalid slot number -5, valid range is [0-1]")),
    Case("no memdev", "std", _pd(), (G, "'memdev' property must be set")),
    Case("memdev 3G", "std", _pd(memdev="m3"), (G, "not enough space, currently 0x40000000 in use of total space for memory devices 0xc0000000")),
    Case("addr conflict", "std", _pd(memdev="m1", addr=0x100000000), (G, "address range conflicts with memory device id='d0'")),
    Case("addr unaligned", "std", _pd(memdev="m1", addr=0x100000001), (G, "address must be aligned to 0x200000 bytes")),
    Case("addr 1T", "std", _pd(memdev="m1", addr=1 << 40), (G, "can't add memory device [0x10000000000:0x20000000], usable range for memory devices [0x100000000:0x140000000]")),
    Case("ram 1M", "std", _pd(memdev="r1m"), (G, "backend memory size must be multiple of 0x200000")),
    Case("ram 4097K", "std", _pd(memdev="r4097k"), (G, "backend memory size must be multiple of 0x200000")),
    Case("memfd addr 2K", "std", _pd(memdev="f1m", addr=0x180000800), (G, "address must be aligned to 0x1000 bytes")),
    # -- pc_dimm_realize
    Case("node 3", "std", _pd(memdev="m1", node=3), (G, "'DIMM property node has value 3' which exceeds the number of numa nodes: 1")),
    Case("memdev busy", "std", _pd(memdev="m0"), (G, "can't use already busy memdev: m0")),
    Case("memdev pc.ram", "std", _pd(memdev="pc.ram"), (G, "can't use already busy memdev: pc.ram")),
    Case("nvdimm=off", "std", _nvd(memdev="m1"), (G, "nvdimm is not enabled: missing 'nvdimm' in '-M'")),
    # -- precedence between two faults
    Case("slot busy + no memdev", "std", _pd(slot=1), (G, "slot 1 is busy")),
    Case("busy memdev + slot 2", "std", _pd(memdev="m0", slot=2), (G, "invalid slot number 2, valid range is [0-1]")),
    Case("busy memdev + addr conflict", "std", _pd(memdev="m0", addr=0x100000000), (G, "address range conflicts with memory device id='d0'")),
    Case("busy memdev + node 3", "std", _pd(memdev="m0", node=3), (G, "'DIMM property node has value 3' which exceeds the number of numa nodes: 1")),
    Case("node 3 + addr conflict", "std", _pd(memdev="m1", node=3, addr=0x100000000), (G, "address range conflicts with memory device id='d0'")),
    Case("memdev 3G + addr unaligned", "std", _pd(memdev="m3", addr=0x100000001), (G, "not enough space, currently 0x40000000 in use of total space for memory devices 0xc0000000")),
    Case("ram 1M + addr 1T", "std", _pd(memdev="r1m", addr=1 << 40), (G, "backend memory size must be multiple of 0x200000")),
    # 7.2 checks the hint alignment first (in get_free_addr); 9.0+ the size in pre_plug
    Case("ram 1M + addr unaligned", "std", _pd(memdev="r1m", addr=0x100100000), (G, "address must be aligned to 0x200000 bytes"), (G, "backend memory size must be multiple of 0x200000")),
    Case("nvdimm=off + slot 7", "std", _nvd(memdev="m1", slot=7), (G, "nvdimm is not enabled: missing 'nvdimm' in '-M'")),
    # -- no ACPI
    Case("acpi=off", "noacpi", _pd(memdev="m1"), (G, "memory hotplug is not enabled: missing acpi device or acpi disabled")),
    Case("acpi=off + slot 7", "noacpi", _pd(slot=7), (G, "memory hotplug is not enabled: missing acpi device or acpi disabled")),
    Case("acpi=off q35", "noacpi-q35", _pd(memdev="m1"), (G, "memory hotplug is not enabled: missing acpi device or acpi disabled")),
    # -- no slots
    Case("-m 1G", "nomaxmem", _pd(memdev="m1"), (G, "no slots where allocated, please specify the 'slots' option")),
    Case("-m 1G slot 0", "nomaxmem", _pd(memdev="m1", slot=0), (G, "invalid slot number 0, valid range is [0-18446744073709551615]")),
    Case("-m 1G no memdev", "nomaxmem", _pd(), (G, "no slots where allocated, please specify the 'slots' option")),
    Case("-m 1G nvdimm", "nomaxmem", _nvd(memdev="m1"), (G, "no slots where allocated, please specify the 'slots' option")),
    Case("maxmem, no slots", "noslots", _pd(memdev="m1"), (G, "no slots where allocated, please specify the 'slots' option")),
    Case("maxmem, no slots, slot 0", "noslots", _pd(memdev="m1", slot=0), (G, "invalid slot number 0, valid range is [0-18446744073709551615]")),
    Case("maxmem, no slots, slot -1", "noslots", _pd(memdev="m1", slot=-1), (G, "no slots where allocated, please specify the 'slots' option")),
    # -- all slots used
    Case("no free slot", "full", _pd(memdev="c"), (G, "no free slots available")),
    Case("full, slot 1", "full", _pd(memdev="c", slot=1), (G, "slot 1 is busy")),
    Case("full, memdev unknown", "full", _pd(memdev="zz"), (DNF, "Device 'zz' not found")),
    Case("full, addr far", "full", _pd(memdev="c", addr=0xFFFFFFFFFFE00000), (G, "no free slots available")),
    # -- nvdimm (nvdimm_prepare_memory_region runs in pre_plug, after the slot checks)
    Case("label-size 0", "nv", _nvd(memdev="n128m", **{"label-size": 0}), (G, "Property 'nvdimm.label-size' (0x0) is required at least 0x20000")),
    Case("label-size 64K", "nv", _nvd(memdev="n128m", **{"label-size": 64 * 1024}), (G, "Property 'nvdimm.label-size' (0x10000) is required at least 0x20000")),
    Case("label = size", "nv", _nvd(memdev="n2m", **{"label-size": 2 * MiB}), (G, "the size of memdev n2m (0x200000) is too small to contain nvdimm label (0x200000) and aligned PMEM (0x200000)")),
    Case("label 1M of 2M", "nv", _nvd(memdev="n2m", **{"label-size": MiB}), (G, "the size of memdev n2m (0x200000) is too small to contain nvdimm label (0x100000) and aligned PMEM (0x200000)")),
    Case("label > size", "nv", _nvd(memdev="n2m", **{"label-size": 4 * MiB}), (G, "the size of memdev n2m (0x200000) is too small to contain nvdimm label (0x400000) and aligned PMEM (0x200000)")),
    Case("label 9G of 8G", "nv", _nvd(memdev="n8g", **{"label-size": 9 * GiB}), (G, "the size of memdev n8g (0x200000000) is too small to contain nvdimm label (0x240000000) and aligned PMEM (0x200000)")),
    Case("nvdimm 8G no label", "nv", _nvd(memdev="n8g"), (G, "not enough space, currently 0x0 in use of total space for memory devices 0x1c0000000")),
    Case("bad uuid", "nv", _nvd(memdev="n128m", uuid="xyz"), (G, "Property 'nvdimm.uuid' has invalid value")),
    Case("read-only memdev", "nv", _nvd(memdev="nro"), (G, "'unarmed' property must be 'on' since memdev nro is read-only")),
    Case("nvdimm no memdev", "nv", _nvd(), (G, "'memdev' property must be set")),
    Case("nvdimm slot 9 + label too big", "nv", _nvd(memdev="n2m", slot=9, **{"label-size": 4 * MiB}), (G, "invalid slot number 9, valid range is [0-3]")),
]  # fmt: skip


@pytest.mark.parametrize("anon", [True, False], ids=["anon", "named"])
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_device_add_reply_and_state(version: str, case: Case, anon: bool) -> None:
    m = SETUPS[case.setup](version)
    args = dict(case.args)
    if not anon:
        args["id"] = "x"
    before = snapshot(m)
    expected = case.reply(version)
    if expected is None:
        device_add(m, **args)
        assert len(snapshot(m)["query-memory-devices"]) == len(before["query-memory-devices"]) + 1
        return
    err = device_add_error(m, **args)
    assert (err.error_class.value, err.desc) == expected
    assert_unchanged(before, snapshot(m), anon_advanced=anon and case.anon_advances)


def test_duplicate_id(version: str) -> None:
    # std setup, device_add pc-dimm id=d0 memdev=m1 -> "Duplicate device ID 'd0'"
    m = _std(version)
    before = snapshot(m)
    err = device_add_error(m, driver="pc-dimm", id="d0", memdev="m1")
    assert (err.error_class.value, err.desc) == (G, "Duplicate device ID 'd0'")
    assert_unchanged(before, snapshot(m))


def test_anon_counter_after_failures(version: str) -> None:
    # QEMU: a failed anonymous pc-dimm takes device[0]; the next one is device[1]
    m = _std(version)
    device_add_error(m, driver="pc-dimm", memdev="m3")
    device_add_error(m, driver="pc-dimmx")
    dimm(m, None, "m1")
    names = [p["name"] for p in m.qom_list("/machine/peripheral-anon")]
    assert names == ["type", "device[1]"]
    assert layout(m)[1] == (None, 0x140000000, 512 * MiB, 0)


# --- successful nvdimm plugs --------------------------------------------------------


@pytest.mark.parametrize(
    ("memdev", "label", "expected_size"),
    [
        # -M pc,nvdimm=on -m 1G,slots=4,maxmem=8G: query-memory-devices "size"
        ("n128m", 128 * 1024, 132120576),  # ram 128M, label 128K: ALIGN_DOWN(.., 2M)
        ("f128m", 128 * 1024, 134086656),  # memfd 128M, label 128K: ALIGN_DOWN(.., 4K)
        ("n3m", None, 2 * MiB),  # ram 3M (unaligned!) without label: accepted, 2M
        ("n3m", MiB, 2 * MiB),
        ("n8g", GiB, 7 * GiB),  # exactly fills maxmem - ram
        ("n8g", GiB + 128 * 1024, 7 * GiB - 2 * MiB),
        ("n128m", None, 128 * MiB),
    ],
)
def test_nvdimm_label_shrinks_size(
    version: str, memdev: str, label: int | None, expected_size: int
) -> None:
    m = _nv(version)
    args: dict[str, Any] = {"driver": "nvdimm", "id": "nv0", "memdev": memdev}
    if label is not None:
        args["label-size"] = label
    device_add(m, **args)
    info = m.memory.device_list()
    assert info == [
        {
            "type": "nvdimm",
            "data": {
                "id": "nv0",
                "addr": 0x100000000,
                "size": expected_size,
                "slot": 0,
                "node": 0,
                "memdev": f"/objects/{memdev}",
                "hotplugged": True,
                "hotpluggable": True,
            },
        }
    ]
    assert m.memory_size_summary()["plugged-memory"] == expected_size
    assert m.qom_get("/machine/peripheral/nv0", "size") == expected_size


def test_nvdimm_1g_label(version: str) -> None:
    # README observation 15: 1G ram with a 128K label -> 0x3fe00000
    m = make_machine(version, "pc", "1G", slots=4, maxmem="8G", nvdimm=True)
    backend(m, "n0", "1G")
    device_add(m, driver="nvdimm", id="nv0", memdev="n0", **{"label-size": 128 * 1024})
    assert layout(m) == [("nv0", 0x100000000, 0x3FE00000, 0)]


def test_nvdimm_then_dimm(version: str) -> None:
    # -M pc,nvdimm=on -m 1G,slots=4,maxmem=8G: nvdimm 128M label 128K, pc-dimm 1G:
    # nv0 addr 4294967296 size 132120576 slot 0, d0 addr 4427087872 slot 1;
    # plugged-memory 1205862400; device_del nv0 ->
    # "nvdimm device hot unplug is not supported yet."
    m = _nv(version)
    backend(m, "m0", "1G")
    device_add(m, driver="nvdimm", id="nv0", memdev="n128m", **{"label-size": 128 * 1024})
    dimm(m, "d0", "m0")
    assert layout(m) == [("nv0", 4294967296, 132120576, 0), ("d0", 4427087872, GiB, 1)]
    assert m.memory_size_summary() == {"base-memory": GiB, "plugged-memory": 1205862400}
    before = snapshot(m)
    with pytest.raises(CoreError) as info:
        m.device_del("nv0")
    assert info.value.desc == "nvdimm device hot unplug is not supported yet."
    assert_unchanged(before, snapshot(m))


def test_nvdimm_busy_memdev_loses_to_label(version: str) -> None:
    # pc-dimm d0 on n2m, then nvdimm on n2m with label 4M: prepare (pre_plug) fails first:
    # "the size of memdev n2m (0x200000) is too small to contain nvdimm label (0x400000)
    # and aligned PMEM (0x200000)"
    m = _nv(version)
    dimm(m, "d0", "n2m")
    err = device_add_error(m, driver="nvdimm", id="nv", memdev="n2m", **{"label-size": 4 * MiB})
    assert err.desc == (
        "the size of memdev n2m (0x200000) is too small to contain nvdimm label (0x400000)"
        " and aligned PMEM (0x200000)"
    )


def test_nvdimm_readonly_unarmed(version: str) -> None:
    # file backend readonly=on: nvdimm without unarmed fails, with unarmed=on plugs, size 128M
    m = _nv(version)
    device_add(m, driver="nvdimm", id="nv1", memdev="nro", unarmed=True)
    assert layout(m) == [("nv1", 0x100000000, 128 * MiB, 0)]


def test_nvdimm_qom_set_after_realize(version: str) -> None:
    # qom-set nv0 label-size 256K -> "cannot change property value";
    # qom-set nv0 unarmed true -> "Attempt to set property 'unarmed' on device 'nv0'
    # (type 'nvdimm') after it was realized"; qom-get label-size -> 0; size -> 134217728
    m = _nv(version)
    device_add(m, driver="nvdimm", id="nv0", memdev="n128m")
    with pytest.raises(CoreError) as info:
        m.qom_set("/machine/peripheral/nv0", "label-size", 256 * 1024)
    assert info.value.desc == "cannot change property value"
    with pytest.raises(CoreError) as info:
        m.qom_set("/machine/peripheral/nv0", "unarmed", True)
    assert info.value.desc == (
        "Attempt to set property 'unarmed' on device 'nv0' (type 'nvdimm') after it was realized"
    )
    assert m.qom_get("/machine/peripheral/nv0", "label-size") == 0
    assert m.qom_get("/machine/peripheral/nv0", "size") == 128 * MiB


# --- the DIMM's QOM view --------------------------------------------------------------

DIMM_QOM_LIST = [
    ("type", "string"),
    ("parent_bus", "link<bus>"),
    ("realized", "bool"),
    ("hotplugged", "bool"),
    ("hotpluggable", "bool"),
    ("memdev", "link<memory-backend>"),
    ("node", "uint32"),
    ("addr", "uint64"),
    ("legacy-memdev", "str"),
    ("slot", "int32"),
    ("size", "uint64"),
]


def test_dimm_qom(version: str) -> None:
    # -M pc,nvdimm=on -m 1G,slots=4,maxmem=8G, pc-dimm d0 on 1G m0 (same on 7.2 and 10.0)
    m = make_machine(version, "pc", "1G", slots=4, maxmem="8G", nvdimm=True)
    backend(m, "m0", "1G")
    dimm(m, "d0", "m0")
    path = "/machine/peripheral/d0"
    names = sorted((p["name"], p["type"]) for p in m.qom_list(path))
    assert names == sorted(DIMM_QOM_LIST)
    assert m.qom_get(path, "addr") == 4294967296
    assert m.qom_get(path, "slot") == 0
    assert m.qom_get(path, "size") == GiB
    assert m.qom_get(path, "memdev") == "/objects/m0"
    assert m.qom_get(path, "node") == 0
    assert m.qom_get(path, "hotplugged") is True
    assert m.qom_get(path, "hotpluggable") is True
    assert m.qom_get(path, "realized") is True
    before = snapshot(m)
    for prop, value, text in [
        ("addr", 0, "Attempt to set property 'addr' on device 'd0' (type 'pc-dimm') after it was realized"),
        ("slot", 3, "Attempt to set property 'slot' on device 'd0' (type 'pc-dimm') after it was realized"),
        ("node", 0, "Attempt to set property 'node' on device 'd0' (type 'pc-dimm') after it was realized"),
        ("size", 5, "Property 'pc-dimm.size' is not writable"),
        ("memdev", "m0", "Attempt to set link property 'memdev' on device 'd0' (type 'pc-dimm') after it was realized"),
    ]:  # fmt: skip
        with pytest.raises(CoreError) as info:
            m.qom_set(path, prop, value)
        assert info.value.desc == text
    assert_unchanged(before, snapshot(m))


def test_cold_plugged_flags_and_counter(version: str) -> None:
    # -device pc-dimm,memdev=c0 (anon) -device pc-dimm,id=c1,memdev=c1, then device_add h:
    # hotplugged false, false, true; c0 is device[0]; c0 at base, c1 at 0x140000000
    m = make_machine(version, "pc", "1G", slots=4, maxmem="8G", ready=False)
    for bid in ("c0", "c1", "h"):
        backend(m, bid, "1G")
    dimm(m, None, "c0")
    dimm(m, "c1", "c1")
    m.finish_init()
    dimm(m, "h", "h")
    flags = [(d["data"].get("id"), d["data"]["hotplugged"]) for d in m.memory.device_list()]
    assert flags == [(None, False), ("c1", False), ("h", True)]
    assert [p["name"] for p in m.qom_list("/machine/peripheral-anon")] == ["type", "device[0]"]
    assert [a for _, a, _, _ in layout(m)] == [0x100000000, 0x140000000, 0x180000000]


# --- device_del -----------------------------------------------------------------------

DEL_CASES: list[tuple[str, Reply, Reply]] = [
    # -M pc,nvdimm=on -m 1G,slots=4,maxmem=8G; d0 (m0), anon device[0] (m1), nvdimm nv (n0)
    ("nope", (DNF, "Device 'nope' not found"), (DNF, "Device 'nope' not found")),
    ("/objects/m0", (G, "/objects/m0 is not a hotpluggable device"), (G, "/objects/m0 is not a device")),
    ("/machine", (G, "/machine is not a hotpluggable device"), (G, "/machine is not a device")),
    ("/machine/peripheral", (G, "/machine/peripheral is not a hotpluggable device"), (G, "/machine/peripheral is not a device")),
    ("", (G, " is not a hotpluggable device"), (G, " is not a device")),
    ("device[0]", (DNF, "Device 'device[0]' not found"), (DNF, "Device 'device[0]' not found")),
    ("nv", (G, "nvdimm device hot unplug is not supported yet."), (G, "nvdimm device hot unplug is not supported yet.")),
    ("d0", None, None),
    ("/machine/peripheral/d0", None, None),
    ("/machine/peripheral-anon/device[0]", None, None),
]  # fmt: skip


def _del_setup(version: str, guest: str = "none") -> Machine:
    m = make_machine(version, "pc", "1G", slots=4, maxmem="8G", nvdimm=True, guest=guest)
    for bid in ("m0", "m1", "n0"):
        backend(m, bid, "1G")
    dimm(m, "d0", "m0")
    dimm(m, None, "m1")
    device_add(m, driver="nvdimm", id="nv", memdev="n0")
    return m


def _del_params() -> list[Any]:
    return [
        pytest.param(version, dev_id, reply, id=f"{version}-{dev_id}")
        for dev_id, reply_7_2, reply_10_0 in DEL_CASES
        for version, reply in (("7.2", reply_7_2), ("10.0", reply_10_0))
    ]


@pytest.mark.parametrize(("ver", "dev_id", "expected"), _del_params())
def test_device_del(ver: str, dev_id: str, expected: Reply) -> None:
    m = _del_setup(ver)
    before = snapshot(m)
    if expected is None:
        m.device_del(dev_id)  # ACPI eject request; nothing happens without a guest
        m.device_del(dev_id)  # and again: no "already in the process of unplug"
    else:
        with pytest.raises(CoreError) as info:
            m.device_del(dev_id)
        assert (info.value.error_class.value, info.value.desc) == expected
    assert_unchanged(before, snapshot(m))


def test_device_del_by_path_with_guest(version: str) -> None:
    # device_del accepts a full QOM path; with a cooperative guest the anon DIMM goes away
    m = _del_setup(version, guest="cooperative")
    unplug(m, "/machine/peripheral-anon/device[0]")
    assert [d for d, *_ in layout(m)] == ["d0", "nv"]
    assert [p["name"] for p in m.qom_list("/machine/peripheral-anon")] == ["type"]
    assert m.anon_counter == 1  # never reused


def test_space_check_precedes_busy_memdev(version: str) -> None:
    # -M pc -m 1G,slots=4,maxmem=8G; pc-dimm a on 4G m4; pc-dimm b on m4 again ->
    # "not enough space, currently 0x100000000 in use of total space for memory devices
    # 0x1c0000000" (pre_plug's space check runs before realize's busy check)
    m = make_machine(version, "pc", "1G", slots=4, maxmem="8G")
    backend(m, "m4", "4G")
    dimm(m, "a", "m4")
    before = snapshot(m)
    err = device_add_error(m, driver="pc-dimm", id="b", memdev="m4")
    assert err.desc == (
        "not enough space, currently 0x100000000 in use of total space for memory devices"
        " 0x1c0000000"
    )
    assert_unchanged(before, snapshot(m))


# --- query-acpi-ospm-status --------------------------------------------------------------


def test_acpi_ospm_status_dimms(version: str) -> None:
    # -M pc -m 1G,slots=3,maxmem=8G: one entry per slot, all source/status 0;
    # anon DIMM in slot 1 (no "device"), b in slot 2; unchanged after device_del b on a
    # paused guest.  -M pc -m 1G (no slots): [].
    m = make_machine(version, "pc", "1G", slots=3, maxmem="8G")

    def entry(slot: int, dev: str | None = None) -> dict[str, Any]:
        e: dict[str, Any] = {"slot": str(slot), "slot-type": "DIMM", "source": 0, "status": 0}
        if dev is not None:
            e["device"] = dev
        return e

    assert m.acpi_ospm_status() == [entry(0), entry(1), entry(2)]
    backend(m, "a", "1G")
    backend(m, "b", "1G")
    dimm(m, None, "a", slot=1)
    dimm(m, "b", "b", slot=2)
    expected = [entry(0), entry(1), entry(2, "b")]
    assert m.acpi_ospm_status() == expected
    m.device_del("b")
    assert m.acpi_ospm_status() == expected
    assert make_machine(version, "pc", "1G", maxmem=None).acpi_ospm_status() == []


def test_acpi_ospm_status_ignores_nvdimm(version: str) -> None:
    # -M pc,nvdimm=on -m 1G,slots=3,maxmem=8G; nvdimm n (slot 0), pc-dimm b slot=2:
    # [{"source": 0, "status": 0, "slot": "0", "slot-type": "DIMM"}, {... "slot": "1" ...},
    #  {"device": "b", "source": 0, "status": 0, "slot": "2", "slot-type": "DIMM"}]
    m = make_machine(version, "pc", "1G", slots=3, maxmem="8G", nvdimm=True)
    backend(m, "n", "1G")
    backend(m, "b", "1G")
    device_add(m, driver="nvdimm", id="n", memdev="n")
    dimm(m, "b", "b", slot=2)
    assert [e.get("device") for e in m.acpi_ospm_status()] == [None, None, "b"]


def test_nvdimm_qom_list(version: str) -> None:
    # -M pc,nvdimm=on -m 1G,slots=4,maxmem=8G; pc-dimm d0, nvdimm nv0 (1G each):
    # qom-list /machine/peripheral -> type, d0 child<pc-dimm>, nv0 child<nvdimm>;
    # qom-list nv0 -> the pc-dimm list plus unarmed, uuid, label-size, nvdimm-memory[0]
    m = make_machine(version, "pc", "1G", slots=4, maxmem="8G", nvdimm=True)
    backend(m, "m0", "1G")
    backend(m, "n0", "1G")
    dimm(m, "d0", "m0")
    device_add(m, driver="nvdimm", id="nv0", memdev="n0")
    assert sorted((p["name"], p["type"]) for p in m.qom_list("/machine/peripheral")) == [
        ("d0", "child<pc-dimm>"),
        ("nv0", "child<nvdimm>"),
        ("type", "string"),
    ]
    extra = [
        ("unarmed", "bool"),
        ("uuid", "QemuUUID"),
        ("label-size", "int"),
        ("nvdimm-memory[0]", "child<memory-region>"),
    ]
    got = sorted((p["name"], p["type"]) for p in m.qom_list("/machine/peripheral/nv0"))
    assert got == sorted(DIMM_QOM_LIST + extra)


def test_memdev_link_paths(version: str) -> None:
    # -M pc -m 1G,slots=4,maxmem=8G; ram m1, m2 (1G); anonymous pc-dimms, in this order:
    sequence: list[tuple[str, Reply]] = [
        ("/objects/m1", None),
        ("/objects/pc.ram", (G, "can't use already busy memdev: pc.ram")),
        ("/objects", (G, "Invalid parameter type for 'memdev', expected: memory-backend")),
        ("objects/m2", None),  # partial path, unique
        ("/objects//m2/", (G, "can't use already busy memdev: m2")),  # empty parts skipped
        ("", (G, "'memdev' property must be set")),
        ("d0", (DNF, "Device 'd0' not found")),
    ]
    m = make_machine(version, "pc", "1G", slots=4, maxmem="8G")
    backend(m, "m1", "1G")
    backend(m, "m2", "1G")
    for memdev, expected in sequence:
        before = snapshot(m)
        if expected is None:
            dimm(m, None, memdev)
            continue
        err = device_add_error(m, driver="pc-dimm", memdev=memdev)
        assert (err.error_class.value, err.desc) == expected
        assert_unchanged(before, snapshot(m), anon_advanced=True)
    assert [d["data"]["memdev"] for d in m.memory.device_list()] == ["/objects/m1", "/objects/m2"]
