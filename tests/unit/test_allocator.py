"""The address allocator and slot assignment of memory-device.c / pc-dimm.c.

Known answers first: every layout below was produced by a live QEMU 7.2.22
and 10.0.2 (``-S -nodefaults -display none -accel tcg``, the ``-machine`` and
``-m`` shown, backends added with object-add, DIMMs with device_add); both
releases gave identical answers.  A QEMU without a guest never completes an
unplug, so a gap "left by an unplug" was recorded on QEMU as the same gap
made with explicit addresses and slots: the allocator only sees the list of
realized devices, so the two are the same input.

Then a reference model: ``get_free_addr`` transcribed line by line from the
Python pseudo-code of qemu-semantics.md §1.6 (7.2), wrapped in the pc-dimm
pre_plug order (slot, memdev, space, alignment, placement, busy memdev),
run side by side with memdevd over random plug/unplug sequences.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from conftest import (
    CORE_SETTINGS,
    GiB,
    KiB,
    MiB,
    backend,
    device_add,
    device_add_error,
    dimm,
    layout,
    make_machine,
    snapshot,
    unplug,
)
from hypothesis import event, given, settings
from hypothesis import strategies as st

from memdevd.machine.errors import CoreError
from memdevd.machine.machine import Machine

BASE = 0x100000000


def test_first_dimms_pc(version: str) -> None:
    # -M pc -m 1G,slots=4,maxmem=8G; pc-dimm 1G then 512M ->
    # addr 4294967296 slot 0, addr 5368709120 slot 1
    m = make_machine(version, "pc", "1G", slots=4, maxmem="8G")
    # query-memory-size-summary before: {"base-memory": 1073741824, "plugged-memory": 0}
    assert m.memory_size_summary() == {"base-memory": GiB, "plugged-memory": 0}
    backend(m, "m0", "1G")
    backend(m, "m1", "512M")
    dimm(m, "d0", "m0")
    dimm(m, "d1", "m1")
    assert layout(m) == [("d0", 0x100000000, GiB, 0), ("d1", 0x140000000, 512 * MiB, 1)]
    assert m.memory_size_summary() == {"base-memory": GiB, "plugged-memory": 1610612736}


def test_first_dimms_q35(version: str) -> None:
    # -M q35 -m 2G,slots=2,maxmem=6G; 1G, 512M, then a third: "no free slots available";
    # summary {"base-memory": 2147483648, "plugged-memory": 1610612736}
    m = make_machine(version, "q35", "2G", slots=2, maxmem="6G")
    for bid, sz in (("a", "1G"), ("b", "512M"), ("c", "1G")):
        backend(m, bid, sz)
    dimm(m, "a", "a")
    dimm(m, "b", "b")
    assert device_add_error(m, driver="pc-dimm", id="c", memdev="c").desc == (
        "no free slots available"
    )
    assert layout(m) == [("a", 0x100000000, GiB, 0), ("b", 0x140000000, 512 * MiB, 1)]
    assert m.memory_size_summary() == {"base-memory": 2 * GiB, "plugged-memory": 1610612736}


def test_mixed_backend_alignment(version: str) -> None:
    # -M pc -m 1G,slots=6,maxmem=8G; memfd f1 1M, memfd f2 4K, ram r 2M, memfd f3 12K,
    # ram r2 4M, plugged in that order:
    # f1 0x100000000 s0, f2 0x100100000 s1, r 0x100200000 s2 (2 MiB aligned),
    # f3 0x100101000 s3 (fills the 4K-aligned gap before r), r2 0x100400000 s4;
    # plugged-memory 7356416
    m = make_machine(version, "pc", "1G", slots=6, maxmem="8G")
    backend(m, "f1", "1M", "memfd")
    backend(m, "f2", "4K", "memfd")
    backend(m, "r", "2M")
    backend(m, "f3", "12K", "memfd")
    backend(m, "r2", "4M")
    for bid in ("f1", "f2", "r", "f3", "r2"):
        dimm(m, bid, bid)
    assert layout(m) == [
        ("f1", 0x100000000, MiB, 0),
        ("f2", 0x100100000, 4 * KiB, 1),
        ("f3", 0x100101000, 12 * KiB, 3),
        ("r", 0x100200000, 2 * MiB, 2),
        ("r2", 0x100400000, 4 * MiB, 4),
    ]
    assert m.memory_size_summary()["plugged-memory"] == 7356416


def test_memfd_hint_alignment_is_page_size(version: str) -> None:
    # -M pc -m 1G,slots=2,maxmem=4G, memfd 1M with addr=0x180000800:
    # "address must be aligned to 0x1000 bytes"; addr 0x180001000 is accepted
    m = make_machine(version, "pc", "1G", slots=2, maxmem="4G")
    backend(m, "f", "1M", "memfd")
    err = device_add_error(m, driver="pc-dimm", id="x", memdev="f", addr=0x180000800)
    assert err.desc == "address must be aligned to 0x1000 bytes"
    dimm(m, "x", "f", addr=0x180001000)
    assert layout(m) == [("x", 0x180001000, MiB, 0)]


def test_auto_placement_fills_gap_before_explicit(version: str) -> None:
    # -M pc -m 1G,slots=4,maxmem=8G; a 1G auto; b 1G addr=base+2G; d 2G auto; c 512M auto:
    # a 0x100000000 s0, c 0x140000000 s3, b 0x180000000 s1, d 0x1c0000000 s2
    m = make_machine(version, "pc", "1G", slots=4, maxmem="8G")
    for bid, sz in (("a", "1G"), ("b", "1G"), ("c", "512M"), ("d", "2G")):
        backend(m, bid, sz)
    dimm(m, "a", "a")
    dimm(m, "b", "b", addr=BASE + 2 * GiB)
    dimm(m, "d", "d")
    dimm(m, "c", "c")
    assert layout(m) == [
        ("a", 0x100000000, GiB, 0),
        ("c", 0x140000000, 512 * MiB, 3),
        ("b", 0x180000000, GiB, 1),
        ("d", 0x1C0000000, 2 * GiB, 2),
    ]


def test_explicit_slots(version: str) -> None:
    # -M pc -m 1G,slots=4,maxmem=8G; a slot=2, b auto, c slot=-1, d auto:
    # addresses in plug order, slots a2 b0 c1 d3
    m = make_machine(version, "pc", "1G", slots=4, maxmem="8G")
    for bid in "abcd":
        backend(m, bid, "1G")
    dimm(m, "a", "a", slot=2)
    dimm(m, "b", "b")
    dimm(m, "c", "c", slot=-1)
    dimm(m, "d", "d")
    assert layout(m) == [
        ("a", 0x100000000, GiB, 2),
        ("b", 0x140000000, GiB, 0),
        ("c", 0x180000000, GiB, 1),
        ("d", 0x1C0000000, GiB, 3),
    ]


def test_explicit_addr_edges(version: str) -> None:
    # -M pc -m 1G,slots=2,maxmem=4G (region [0x100000000, +0x140000000)):
    # a 1G at base+4G (the last GiB) ok; a2 at base+4G-2M -> conflicts with 'a';
    # a3 at base-2M -> "can't add memory device [0xffe00000:0x40000000], usable range
    # for memory devices [0x100000000:0x140000000]"; a4 at base+3G on busy memdev a ->
    # "can't use already busy memdev: a"; b at base+3G-2M ok; then "no free slots available"
    m = make_machine(version, "pc", "1G", slots=2, maxmem="4G")
    backend(m, "a", "1G")
    backend(m, "b", "1G")
    dimm(m, "a", "a", addr=BASE + 4 * GiB)

    def fails(dev_id: str, memdev: str, addr: int) -> str:
        return device_add_error(m, driver="pc-dimm", id=dev_id, memdev=memdev, addr=addr).desc

    assert fails("a2", "a", BASE + 4 * GiB - 2 * MiB) == (
        "address range conflicts with memory device id='a'"
    )
    assert fails("a3", "a", BASE - 2 * MiB) == (
        "can't add memory device [0xffe00000:0x40000000], "
        "usable range for memory devices [0x100000000:0x140000000]"
    )
    assert fails("a4", "a", BASE + 3 * GiB) == "can't use already busy memdev: a"
    dimm(m, "b", "b", addr=BASE + 3 * GiB - 2 * MiB)
    assert fails("b2", "b", 0xFFFFFFFFFFE00000) == "no free slots available"
    assert layout(m) == [("b", 0x1BFE00000, GiB, 1), ("a", 0x200000000, GiB, 0)]


def test_region_limit_explicit_addr_beyond_maxmem(version: str) -> None:
    # README observation 8: -m 1G,slots=4,maxmem=8G: addr base+10G accepted (region is
    # maxmem-ram + 4 x 1G = 0x2c0000000); addr 1 TiB refused with [start:size] in the text
    m = make_machine(version, "pc", "1G", slots=4, maxmem="8G")
    backend(m, "a", "1G")
    err = device_add_error(m, driver="pc-dimm", id="x", memdev="a", addr=0x4000000000)
    assert err.desc == (
        "can't add memory device [0x4000000000:0x40000000], "
        "usable range for memory devices [0x100000000:0x2c0000000]"
    )
    dimm(m, "a", "a", addr=BASE + 10 * GiB)
    assert layout(m) == [("a", BASE + 10 * GiB, GiB, 0)]


def test_fragmented(version: str) -> None:
    # -M pc -m 1G,slots=5,maxmem=3G (space 2G, region 7G); four 2M DIMMs at
    # base+1400M, +2800M, +4200M, +5600M split the region into holes < 2040M;
    # a 2040M DIMM fits the space but no hole:
    # "could not find position in guest address space for memory device -
    #  memory fragmented due to alignments"
    m = make_machine(version, "pc", "1G", slots=5, maxmem="3G")
    for i in range(1, 5):
        backend(m, f"x{i}", "2M")
        dimm(m, f"x{i}", f"x{i}", addr=BASE + i * 1400 * MiB)
    backend(m, "big", "2040M")
    before = snapshot(m)
    err = device_add_error(m, driver="pc-dimm", id="big", memdev="big")
    assert err.desc == (
        "could not find position in guest address space for memory device"
        " - memory fragmented due to alignments"
    )
    assert snapshot(m) == before
    assert [a for _, a, _, _ in layout(m)] == [0x157800000, 0x1AF000000, 0x206800000, 0x25E000000]


def test_fill_space_then_one_more(version: str) -> None:
    # -M pc -m 1G,slots=4,maxmem=4G: 1G + 2G fill maxmem-ram exactly; a 2M more ->
    # "not enough space, currently 0xc0000000 in use of total space for memory devices
    # 0xc0000000"; plugged-memory 3221225472
    m = make_machine(version, "pc", "1G", slots=4, maxmem="4G")
    backend(m, "a", "1G")
    backend(m, "b", "2G")
    backend(m, "c", "2M")
    dimm(m, "a", "a")
    dimm(m, "b", "b")
    assert device_add_error(m, driver="pc-dimm", id="c", memdev="c").desc == (
        "not enough space, currently 0xc0000000 in use of total space for memory devices 0xc0000000"
    )
    assert m.memory_size_summary()["plugged-memory"] == 3 * GiB


def test_anonymous_devices_sorted_and_unnamed_conflict(version: str) -> None:
    # -M pc -m 1G,slots=3,maxmem=8G: anon a at base+2G, b auto, anon c auto ->
    # query order b (base, slot 1), c (0x140000000, slot 2, no id), a (0x180000000, slot 0);
    # qom-list /machine/peripheral-anon: device[0], device[1]
    m = make_machine(version, "pc", "1G", slots=3, maxmem="8G")
    for bid in "abc":
        backend(m, bid, "1G")
    dimm(m, None, "a", addr=BASE + 2 * GiB)
    dimm(m, "b", "b")
    dimm(m, None, "c")
    assert layout(m) == [
        ("b", 0x100000000, GiB, 1),
        (None, 0x140000000, GiB, 2),
        (None, 0x180000000, GiB, 0),
    ]
    anon = [p["name"] for p in m.qom_list("/machine/peripheral-anon")]
    assert anon == ["type", "device[0]", "device[1]"]


def test_conflict_with_unnamed_device(version: str) -> None:
    # -M pc -m 1G,slots=4,maxmem=8G: anon 1G DIMM at base, then addr=base+1G-2M ->
    # "address range conflicts with memory device id='(unnamed)'"
    m = make_machine(version, "pc", "1G", slots=4, maxmem="8G")
    backend(m, "a", "1G")
    backend(m, "b", "1G")
    dimm(m, None, "a")
    err = device_add_error(m, driver="pc-dimm", id="x", memdev="b", addr=BASE + GiB - 2 * MiB)
    assert err.desc == "address range conflicts with memory device id='(unnamed)'"


def test_gap_reused_after_unplug(version: str) -> None:
    # memdevd with a cooperative guest: a, b, c (1G each) auto, unplug b, then d 512M and
    # e 1G auto.  QEMU (no guest, so the same device list built with explicit addresses):
    # a auto, c addr=base+2G slot=2, d 512M auto, e 1G auto ->
    # a 0x100000000 s0, d 0x140000000 s1, c 0x180000000 s2, e 0x1c0000000 s3
    m = make_machine(version, "pc", "1G", slots=4, maxmem="8G", guest="cooperative")
    for bid, sz in (("a", "1G"), ("b", "1G"), ("c", "1G"), ("d", "512M"), ("e", "1G")):
        backend(m, bid, sz)
    for bid in "abc":
        dimm(m, bid, bid)
    unplug(m, "b")
    assert [d for d, *_ in layout(m)] == ["a", "c"]
    dimm(m, "d", "d")
    dimm(m, "e", "e")
    assert layout(m) == [
        ("a", 0x100000000, GiB, 0),
        ("d", 0x140000000, 512 * MiB, 1),
        ("c", 0x180000000, GiB, 2),
        ("e", 0x1C0000000, GiB, 3),
    ]


def test_unplug_frees_id_slot_backend_and_space(version: str) -> None:
    m = make_machine(version, "pc", "1G", slots=1, maxmem="2G", guest="cooperative")
    ev: list[tuple[str, object]] = []
    m.set_event_sink(lambda name, data, _ts: ev.append((name, data)))
    backend(m, "a", "1G")
    backend(m, "b", "1G")
    dimm(m, "d", "a")
    assert device_add_error(m, driver="pc-dimm", id="e", memdev="b").desc == (
        "no free slots available"
    )
    unplug(m, "d")
    assert ("DEVICE_DELETED", {"device": "d", "path": "/machine/peripheral/d"}) in ev
    assert layout(m) == []
    assert m.memory_size_summary()["plugged-memory"] == 0
    m.object_del("a")  # no longer in use
    dimm(m, "d", "b")  # id, slot and space are free again
    assert layout(m) == [("d", BASE, GiB, 0)]


def test_paused_guest_never_completes_unplug(version: str) -> None:
    # README observation 1: device_del returns {} (again and again), the DIMM stays,
    # its id, slot and backend stay busy.
    m = make_machine(version, "pc", "1G", slots=2, maxmem="4G")
    backend(m, "a", "1G")
    dimm(m, "d", "a")
    before = snapshot(m)
    m.device_del("d")
    m.device_del("d")
    m.clock.advance(10**10)  # type: ignore[attr-defined]
    assert layout(m) == [("d", BASE, GiB, 0)]
    assert snapshot(m)["query-memory-devices"] == before["query-memory-devices"]
    with pytest.raises(CoreError) as info:
        m.object_del("a")
    assert info.value.desc == "object 'a' is in use, can not be deleted"


# --- the reference model (qemu-semantics.md §1.6, verbatim) --------------------------


class Err(Exception):
    pass


def get_free_addr(
    base: int,
    region_size: int,
    devs_sorted: list[tuple[int, int, str | None]],
    hint: int | None,
    align: int,
    size: int,
) -> int:
    # devs_sorted: [(addr, size, id_or_None)] realized memory devices, sorted by addr
    as_lo, as_hi = base, base + region_size  # as_hi exclusive
    if hint is not None and hint % align:
        raise Err(f"address must be aligned to 0x{align:x} bytes")
    if size % align:
        raise Err(f"backend memory size must be multiple of 0x{align:x}")  # 7.2 only
    new: int | None
    if hint is not None:
        if size == 0 or hint + size > 2**64 or not (as_lo <= hint and hint + size <= as_hi):
            raise Err(
                f"can't add memory device [0x{hint:x}:0x{size:x}], usable range for memory"
                f" devices [0x{as_lo:x}:0x{region_size:x}]"
            )
        new = hint
    else:
        new = -(-as_lo // align) * align
        if size == 0 or new + size > 2**64:
            raise Err("can't add memory device, device too big")
    for a, s, did in devs_sorted:
        assert new is not None
        if a < new + size and new < a + s:  # overlap
            if hint is not None:
                raise Err(f"address range conflicts with memory device id='{did or '(unnamed)'}'")
            new = -(-(a + s) // align) * align
            if new == 0 or new + size > 2**64:
                new = None
                break
        elif a > new + size - 1:
            break
    if new is None or not (as_lo <= new and new + size <= as_hi):
        raise Err(
            "could not find position in guest address space for memory device"
            " - memory fragmented due to alignments"
        )
    return new


@dataclass
class RefDimm:
    id: str | None
    path: str
    addr: int
    size: int
    slot: int
    memdev: str


@dataclass
class RefMachine:
    """pc-dimm plugging as QEMU does it, around the §1.6 allocator."""

    version: str
    base: int
    region_size: int
    space: int  # maxmem - ram
    slots: int
    backends: dict[str, tuple[int, int]] = field(default_factory=dict)  # id -> (size, align)
    dimms: list[RefDimm] = field(default_factory=list)
    anon: int = 0

    def plug(self, dev_id: str | None, memdev: str, addr: int | None, slot: int | None) -> RefDimm:
        if dev_id is not None and any(d.id == dev_id for d in self.dimms):
            raise Err(f"Duplicate device ID '{dev_id}'")
        if dev_id is None:
            path = f"/machine/peripheral-anon/device[{self.anon}]"
            self.anon += 1
        else:
            path = f"/machine/peripheral/{dev_id}"
        # pc_dimm_pre_plug: slot property, then pc_dimm_get_free_slot
        if slot is not None and (slot < 0 or slot >= self.slots) and slot != -1:
            raise Err(f"invalid slot number {slot}, valid range is [0-{self.slots - 1}]")
        used_slots = {d.slot for d in self.dimms}
        if slot is not None and slot != -1:
            if slot in used_slots:
                raise Err(f"slot {slot} is busy")
            new_slot = slot
        else:
            free = [s for s in range(self.slots) if s not in used_slots]
            if not free:
                raise Err("no free slots available")
            new_slot = free[0]
        size, align = self.backends[memdev]
        used = sum(d.size for d in self.dimms)
        if used + size > self.space:
            raise Err(
                f"not enough space, currently 0x{used:x} in use of total space for memory"
                f" devices 0x{self.space:x}"
            )
        if self.version != "7.2" and size % align:
            # 9.0+: pre_plug checks the size against the backend alignment first
            raise Err(f"backend memory size must be multiple of 0x{align:x}")
        devs = sorted(((d.addr, d.size, d.id) for d in self.dimms), key=lambda t: t[0])
        new = get_free_addr(self.base, self.region_size, devs, addr or None, align, size)
        # pc_dimm_realize: busy memdev
        if any(d.memdev == memdev for d in self.dimms):
            raise Err(f"can't use already busy memdev: {memdev}")
        dev = RefDimm(dev_id, path, new, size, new_slot, memdev)
        self.dimms.append(dev)
        return dev

    def unplug(self, path: str) -> None:
        self.dimms = [d for d in self.dimms if d.path != path]

    def layout(self) -> list[tuple[str | None, int, int, int]]:
        return [(d.id, d.addr, d.size, d.slot) for d in sorted(self.dimms, key=lambda d: d.addr)]


ALIGN = {"ram": 2 * MiB, "memfd": 4 * KiB}
# Backend sizes: aligned for both types, aligned for memfd only, odd sizes.
SIZES = [
    2 * MiB,
    4 * MiB,
    6 * MiB,
    128 * MiB,
    510 * MiB,
    512 * MiB,
    1 * GiB,
    1 * GiB + 2 * MiB,
    2 * GiB,
    3 * GiB,
    1 * MiB,
    3 * MiB,
    4097 * KiB,
    12 * KiB,
    4 * KiB,
]


@st.composite
def machine_configs(draw: st.DrawFn) -> tuple[str, str, int, int, int]:
    machine = draw(st.sampled_from(["pc", "q35"]))
    ram = draw(st.sampled_from([512 * MiB, 1 * GiB, 2 * GiB, 2816 * MiB, 3 * GiB, 4 * GiB]))
    slots = draw(st.integers(1, 6))
    extra = draw(
        st.sampled_from([2 * MiB, 512 * MiB, 1 * GiB, 1 * GiB + 6 * MiB, 3 * GiB, 5 * GiB])
    )
    return draw(st.sampled_from(["7.2", "10.0"])), machine, ram, slots, ram + extra


Op = tuple[str, int, int, int, int, bool]


@st.composite
def operations(draw: st.DrawFn, n_backends: int) -> Op:
    kind = draw(st.sampled_from(["plug", "plug", "plug", "unplug"]))
    which = draw(st.integers(0, n_backends - 1))
    # hint: 0 = auto; otherwise an offset picked from the region in 4K units
    hint_mode = draw(st.sampled_from(["auto", "auto", "aligned", "page", "odd", "far"]))
    hint_units = draw(st.integers(0, 6 * 512))  # in 2 MiB or 4 KiB steps
    slot = draw(st.sampled_from([-1] * 8 + [-2, 0, 1, 2, 7]))
    named = draw(st.booleans())
    code = {"auto": 0, "aligned": 1, "page": 2, "odd": 3, "far": 4}[hint_mode]
    return kind, which, code, hint_units, slot, named


def _hint(base: int, code: int, units: int) -> int | None:
    if code == 0:
        return None
    if code == 1:
        return base + units * 2 * MiB
    if code == 2:
        return base + units * 4 * KiB
    if code == 3:
        return base + units * 2 * MiB + 1
    return base - 2 * MiB if units % 2 else (1 << 40) + units * 2 * MiB


@settings(CORE_SETTINGS, max_examples=CORE_SETTINGS.max_examples * 5)
@given(
    config=machine_configs(),
    pool=st.lists(
        st.tuples(st.sampled_from(["ram", "memfd"]), st.sampled_from(SIZES)),
        min_size=2,
        max_size=8,
    ),
    data=st.data(),
)
def test_reference_model_7_2_pseudocode(
    config: tuple[str, str, int, int, int],
    pool: list[tuple[str, int]],
    data: st.DataObject,
) -> None:
    """memdevd's placements and errors equal the §1.6 allocator in QEMU's pre_plug order."""
    version, machine, ram, slots, maxmem = config
    m = make_machine(version, machine, ram, slots=slots, maxmem=maxmem, guest="cooperative")
    assert m.device_memory is not None
    ref = RefMachine(version, m.device_memory.base, m.device_memory.size, maxmem - ram, slots)
    for i, (kind, sz) in enumerate(pool):
        if kind == "memfd" and sz % (4 * KiB):
            sz = sz - sz % (4 * KiB) + 4 * KiB
        backend(m, f"b{i}", sz, kind)
        ref.backends[f"b{i}"] = (sz, ALIGN[kind])
    ops = data.draw(st.lists(operations(len(pool)), min_size=1, max_size=25))
    counter = 0
    for kind, which, code, units, slot_choice, named in ops:
        if kind == "unplug":
            if not ref.dimms:
                continue
            victim = ref.dimms[which % len(ref.dimms)]
            unplug(m, victim.path)
            ref.unplug(victim.path)
        else:
            memdev = f"b{which}"
            hint = _hint(ref.base, code, units)
            slot = None if slot_choice == -1 and named else slot_choice
            dev_id = f"d{counter}" if named else None
            counter += 1
            args: dict[str, object] = {"driver": "pc-dimm", "memdev": memdev}
            if dev_id is not None:
                args["id"] = dev_id
            if hint is not None:
                args["addr"] = hint
            if slot is not None:
                args["slot"] = slot
            try:
                expected: object = ref.plug(dev_id, memdev, hint, slot)
            except Err as exc:
                expected = str(exc)
            try:
                device_add(m, **args)
                got: object = "ok"
            except CoreError as exc:
                got = exc.desc
            event(f"{version} {re.sub(r'0x[0-9a-f]+|b[0-9]+|-?[0-9]+', 'N', str(got))[:48]}")
            if isinstance(expected, str):
                assert got == expected, (args, ref.layout())
            else:
                assert got == "ok", (args, ref.layout())
        assert layout(m) == ref.layout()
        assert m.anon_counter == ref.anon


@CORE_SETTINGS
@given(
    base_gib=st.integers(4, 12),
    region_mib=st.integers(1, 8 * 1024),
    devs=st.lists(
        st.tuples(st.integers(0, 4096), st.sampled_from([1, 2, 3, 64, 512, 1024])),
        max_size=6,
    ),
    align_mib=st.sampled_from([1, 2, 4, 1024]),
    size_mib=st.sampled_from([1, 2, 4, 6, 512, 1024, 2048]),
    hint=st.one_of(st.none(), st.integers(0, 8 * 1024)),
)
def test_model_allocator_properties(
    base_gib: int,
    region_mib: int,
    devs: list[tuple[int, int]],
    align_mib: int,
    size_mib: int,
    hint: int | None,
) -> None:
    """Sanity of the transcribed model itself: a result fits, is aligned, overlaps nothing."""
    base = base_gib * GiB
    region = region_mib * MiB
    align, sz = align_mib * MiB, size_mib * MiB
    placed: list[tuple[int, int, str | None]] = []
    for off, s in devs:  # non-overlapping existing devices
        a, s = base + off * MiB, s * MiB
        if all(not (a < b + t and b < a + s) for b, t, _ in placed):
            placed.append((a, s, None))
    placed.sort()
    h = None if hint is None else base + hint * MiB
    try:
        addr = get_free_addr(base, region, placed, h, align, sz)
    except Err:
        return
    assert addr % align == 0 and base <= addr and addr + sz <= base + region
    assert all(not (a < addr + sz and addr < a + s) for a, s, _ in placed)
    if h is not None:
        assert addr == h


def _plug_all(m: Machine, sizes: list[int]) -> None:
    for i, sz in enumerate(sizes):
        backend(m, f"m{i}", sz)
        dimm(m, f"d{i}", f"m{i}")


def test_reference_model_known_sequence(version: str) -> None:
    # The model and memdevd agree on the oracle sequence of test_auto_placement_fills_gap...
    m = make_machine(version, "pc", "1G", slots=4, maxmem="8G")
    _plug_all(m, [GiB, 512 * MiB])
    assert m.device_memory is not None
    ref = RefMachine(version, m.device_memory.base, m.device_memory.size, 7 * GiB, 4)
    ref.backends = {"m0": (GiB, 2 * MiB), "m1": (512 * MiB, 2 * MiB)}
    ref.plug("d0", "m0", None, None)
    ref.plug("d1", "m1", None, None)
    assert layout(m) == ref.layout()


def test_addr_zero_means_auto(version: str) -> None:
    # -M pc -m 1G,slots=2,maxmem=4G: addr=0 -> placed at 0x100000000 (0 = "auto");
    # 7.2 also takes addr="0" (QemuOpts string) -> 0x140000000; 10.0 refuses the string:
    # "Parameter 'addr' expects uint64"
    m = make_machine(version, "pc", "1G", slots=2, maxmem="4G")
    backend(m, "a", "1G")
    backend(m, "b", "1G")
    dimm(m, "d", "a", addr=0)
    assert layout(m) == [("d", 0x100000000, GiB, 0)]
    if version == "7.2":
        dimm(m, "e", "b", addr="0")
        assert layout(m)[1] == ("e", 0x140000000, GiB, 1)
    else:
        err = device_add_error(m, driver="pc-dimm", id="e", memdev="b", addr="0")
        assert err.desc == "Parameter 'addr' expects uint64"
