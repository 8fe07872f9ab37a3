"""The memslot decision of QEMU 8.2+: every row of docs/memslots.md.

Each row was derived by hand from the source (the arithmetic is in the
document) and is checked here for the 8.2 release and for 10.0, which
shares the code.  The functions followed, with their lines in QEMU 10.0.2:

* hw/mem/memory-device.c:113 ``memory_device_memslot_decision_limit``
* hw/mem/memory-device.c:173 ``memory_device_check_addable``
* hw/mem/memory-device.c:410 ``memory_device_plug`` (required memslots)
* hw/virtio/virtio-mem.c:1493 ``virtio_mem_decide_memslots``
  (and virtio-mem.c:1108, realize: one memslot = the whole region)
* hw/hyperv/hv-balloon.c:1684 ``hv_balloon_decide_memslots``
* accel/kvm/kvm-all.c:231 ``kvm_get_free_memslots``,
  hw/virtio/vhost.c:70 ``vhost_get_free_memslots``

QEMU 8.2 itself could not be run; 8.2.0's memory-device.c and virtio-mem.c
have the same functions (the 8.2 reference copy in
/work/shared/reference/qemu-semantics.md §1.8).  No guest runs, so no
memslot of a dynamic device is ever mapped ("used").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from memdevd.app import cli
from memdevd.app.startup import build_machine
from memdevd.commands.base import Runtime
from memdevd.commands.memdevd_extras import memslot_report
from memdevd.machine.clock import VirtualClock
from memdevd.machine.devices.virtio_mem import VirtioMEMPCI
from memdevd.machine.machine import Machine
from memdevd.releases.table import get_release
from memdevd.targets.x86_64.devices.hv_balloon import HvBalloon
from memdevd.util import qemu_opts as Q

MiB = 1 << 20
GiB = 1 << 30
VERSIONS = ("8.2", "10.0")


def _start(version: str, argv: list[str]) -> Machine:
    parsed = cli.parse(["-memdevd", f"version={version}", *argv], "qemu-system-x86_64")
    machine, _ = build_machine(
        parsed.request, get_release(version), parsed.settings, clock=VirtualClock()
    )
    return machine


def vmem(dev_id: str, size: str, extra: str = "", *, dynamic: bool = True) -> list[str]:
    """A ram backend ``<id>-m`` and a virtio-mem-pci on it."""
    props = f"virtio-mem-pci,id={dev_id},memdev={dev_id}-m"
    if dynamic:
        props += ",dynamic-memslots=on"
    return [
        "-object",
        f"memory-backend-ram,id={dev_id}-m,size={size}",
        "-device",
        props + extra,
    ]


def dimms(count: int, size: str) -> list[str]:
    argv: list[str] = []
    for i in range(count):
        argv += ["-object", f"memory-backend-ram,id=dm{i},size={size}"]
        argv += ["-device", f"pc-dimm,id=dimm{i},memdev=dm{i}"]
    return argv


def hv_balloon(dev_id: str, size: str) -> list[str]:
    """The VMBus (KVM in use) and an hv-balloon on a ram backend."""
    return [
        "-device",
        "vmbus-bridge",
        "-object",
        f"memory-backend-ram,id={dev_id}-m,size={size}",
        "-device",
        f"hv-balloon,id={dev_id},memdev={dev_id}-m",
    ]


@dataclass(frozen=True)
class Row:
    """One row of the table in docs/memslots.md."""

    name: str
    mem: str
    devices: list[str]
    # The device whose decision the row is about and what it decided.
    device: str
    memslots: int
    memslot_size: int
    memdevd: list[str] = field(default_factory=list)
    # required_memslots of the machine afterwards.
    required: int | None = None


ROWS = [
    # D1: whole device memory -> the whole soft limit, 1 GiB minimum memslot.
    Row("D1", "1G,maxmem=9G", vmem("v", "8G"), "v", 8, 1 * GiB, required=8),
    # D2: 4 of 16 GiB -> limit 64; the 1 GiB minimum wins over 64 MiB.
    Row("D2", "1G,maxmem=17G", vmem("v", "4G"), "v", 4, 1 * GiB),
    # D3: 512 GiB whole -> 256 memslots of 2 GiB.
    Row("D3", "1G,maxmem=513G", vmem("v", "512G"), "v", 256, 2 * GiB, required=256),
    # D4: 100 of 1000 GiB -> trunc(25.6) = 25 memslots of 4 GiB.
    Row("D4", "1G,maxmem=1001G", vmem("v", "100G"), "v", 25, 4 * GiB),
    # D5: block-size 1 GiB: ALIGN_UP(1204 MiB, 1 GiB) = 2 GiB, 151 memslots.
    Row("D5", "1G,maxmem=302G", vmem("v", "301G", ",block-size=1G"), "v", 151, 2 * GiB),
    # D6: 1 of 512 GiB -> trunc(0.5) = 0 -> limit 1: one memslot.
    Row("D6", "1G,maxmem=513G", vmem("v", "1G"), "v", 1, 1 * GiB),
    # D7: dynamic-memslots=off: decide_memslots returns at once, one memslot.
    Row("D7", "1G,maxmem=9G", vmem("v", "8G", dynamic=False), "v", 1, 0, required=1),
    # D8: KVM with 508 memslots < 509 (SAFE_MAX) -> limit 1.
    Row("D8", "1G,maxmem=9G", vmem("v", "8G"), "v", 1, 8 * GiB, ["kvm-memslots=508"]),
    # D9: KVM with 509: free 501 does not bind -> as D1.
    Row("D9", "1G,maxmem=9G", vmem("v", "8G"), "v", 8, 1 * GiB, ["kvm-memslots=509"]),
    # D10: a vhost backend with 64 memslots (kernel vhost's default) -> limit 1.
    Row("D10", "1G,maxmem=9G", vmem("v", "8G"), "v", 1, 8 * GiB, ["vhost-memslots=64"]),
    # D11: first of two 8 GiB devices in 16 GiB: limit 128 -> 8 x 1 GiB.
    Row("D11", "1G,maxmem=17G", vmem("a", "8G") + vmem("b", "8G"), "a", 8, 1 * GiB),
    # D12: the second one: 248 left, 8 of 8 GiB available -> 248 -> 8 x 1 GiB.
    Row("D12", "1G,maxmem=17G", vmem("a", "8G") + vmem("b", "8G"), "b", 8, 1 * GiB, required=16),
    # D13: after a 1 GiB DIMM: 255 left, 511 of 511 GiB -> 255 x 2054 MiB.
    Row(
        "D13",
        "1G,slots=1,maxmem=513G",
        dimms(1, "1G") + vmem("v", "511G"),
        "v",
        255,
        2054 * MiB,
        required=256,
    ),
    # D14: after 250 DIMMs: 6 left of the soft limit -> 6 x 2 GiB.
    Row(
        "D14",
        "1G,slots=250,maxmem=263G",
        dimms(250, "1G") + vmem("v", "12G"),
        "v",
        6,
        2 * GiB,
        required=256,
    ),
    # D15: after 256 DIMMs the soft limit is reached -> limit 1.
    Row(
        "D15",
        "1G,slots=256,maxmem=9728M",
        dimms(256, "2M") + vmem("v", "8G"),
        "v",
        1,
        8 * GiB,
        required=257,
    ),
    # H1: hv-balloon, 32 of 64 GiB -> limit 128 -> 128 x 256 MiB.
    Row("H1", "1G,maxmem=65G", hv_balloon("h", "32G"), "h", 128, 256 * MiB, ["kvm=on"]),
    # H2: hv-balloon over the whole 40 GiB (slots give room for the
    # 32 GiB alignment) -> limit 256 -> 160 x 256 MiB (no 1 GiB minimum).
    Row(
        "H2",
        "1G,slots=28,maxmem=41G",
        hv_balloon("h", "40G"),
        "h",
        160,
        256 * MiB,
        ["kvm=on"],
        required=160,
    ),
    # H3: hv-balloon with KVM 508 -> limit 1 -> one memslot of 32 GiB.
    Row("H3", "1G,maxmem=65G", hv_balloon("h", "32G"), "h", 1, 32 * GiB, ["kvm-memslots=508"]),
]


def build(version: str, row: Row) -> Machine:
    memdevd: list[str] = []
    for setting in row.memdevd:
        memdevd += ["-memdevd", setting]
    if "kvm=on" in row.memdevd:
        memdevd += ["-accel", "kvm"]
    return _start(version, [*memdevd, "-M", "pc", "-m", row.mem, *row.devices])


def decided(m: Machine, dev_id: str) -> tuple[int, int]:
    dev = m.find_device(dev_id)
    if isinstance(dev, VirtioMEMPCI):
        return dev.get_memslots(), dev.mem.memslot_size
    assert isinstance(dev, HvBalloon)
    return dev.get_memslots(), dev.memslot_size


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_decision_row(version: str, row: Row) -> None:
    """memory_device_memslot_decision_limit (memory-device.c:113) feeding
    virtio_mem_decide_memslots (virtio-mem.c:1493) or
    hv_balloon_decide_memslots (hv-balloon.c:1684)."""
    m = build(version, row)
    assert decided(m, row.device) == (row.memslots, row.memslot_size)
    if row.required is not None:
        # memory_device_plug (memory-device.c:410): required += get_memslots.
        assert m.device_memory is not None
        assert m.device_memory.required_memslots == row.required
        # No guest: nothing of a dynamic device is mapped, all is reserved.
        report = memslot_report(Runtime(m, m.release))
        assert report["reserved-memslots"] == row.required - report["used-memslots"]


# --- the checks of memory_device_check_addable (memory-device.c:173) ------------------


def _error(version: str, argv: list[str]) -> str:
    with pytest.raises(Q.OptionError) as info:
        _start(version, argv)
    return info.value.message


@pytest.mark.parametrize("version", VERSIONS)
def test_c1_kvm_out_of_memslots(version: str) -> None:
    """C1: kvm_get_free_memslots() (kvm-all.c:231) = 20 - 8 - used; the 13th
    DIMM needs 1 + 0 reserved > 0 free (memory-device.c:193)."""
    argv = ["-memdevd", "kvm-memslots=20", "-M", "pc", "-m", "1G,slots=13,maxmem=14G"]
    _start(version, [*argv, *dimms(12, "1G")])
    assert _error(version, [*argv, *dimms(13, "1G")]) == (
        "hypervisor has not enough free memory slots left"
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_c2_vhost_out_of_memslots(version: str) -> None:
    """C2: vhost_get_free_memslots() (vhost.c:70) = 10 - 2 - used; the 9th
    DIMM fails (memory-device.c:198)."""
    argv = ["-memdevd", "vhost-memslots=10", "-M", "pc", "-m", "1G,slots=9,maxmem=10G"]
    _start(version, [*argv, *dimms(8, "1G")])
    assert _error(version, [*argv, *dimms(9, "1G")]) == (
        "a used vhost backend has not enough free memory slots left"
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_c3_reserved_memslots_count_against_kvm(version: str) -> None:
    """C3: KVM 509; a 250 GiB dynamic virtio-mem in 250.5 GiB decides
    trunc(256 * 250 / 250.5) = 255 -> 250 memslots, all reserved (required -
    used, memory-device.c:85).  The n-th 2 MiB DIMM needs 1 + 250 of
    509 - 8 - (n - 1) free: the 251st fits, the 252nd does not."""
    argv = ["-memdevd", "kvm-memslots=509", "-M", "pc", "-m", "1G,slots=256,maxmem=257536M"]
    argv += vmem("v", "250G")
    m = _start(version, [*argv, *dimms(251, "2M")])
    assert decided(m, "v") == (250, 1 * GiB)
    report = memslot_report(Runtime(m, m.release))
    assert (report["used-memslots"], report["reserved-memslots"]) == (251, 250)
    assert report["kvm"]["free"] == 509 - 8 - 251
    assert _error(version, [*argv, *dimms(252, "2M")]) == (
        "hypervisor has not enough free memory slots left"
    )
    # Without the reservation (dynamic-memslots=off) all 256 DIMMs fit.
    argv = ["-memdevd", "kvm-memslots=509", "-M", "pc", "-m", "1G,slots=256,maxmem=257536M"]
    _start(version, [*argv, *vmem("v", "250G", dynamic=False), *dimms(256, "2M")])
