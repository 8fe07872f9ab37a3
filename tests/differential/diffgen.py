"""Differential random testing: memdevd against real QEMU, scenario by scenario.

:func:`generate` turns a seed into a scenario (the format of
:mod:`memdevd.devtools.scenario`): a random but plausible machine configuration (pc or
q35, optionally ``nvdimm=on``, RAM sizes around the below/above-4G split,
slots, maxmem, optional ``-numa`` nodes and cold-plugged DIMMs) and a random
sequence of QMP commands on memory backends and memory devices; with
``target="aarch64"`` a qemu-system-aarch64 ``virt`` configuration
(:func:`_virt_argv`) and virtio-mem-pci/virtio-pmem-pci on PCIe root ports
and their resizes besides.  The same seed
always gives the same scenario, whatever the Python hash seed or the date.

:func:`run_seeds` replays each scenario against real QEMU and memdevd at the
same time (:func:`memdevd.devtools.scenario.compare_live`) and saves every difference
as a reproducible case (:func:`save_failure`): ``NAME.json`` (the scenario,
cut after the first differing step, the difference in its notes),
``NAME.expected.jsonl`` (QEMU's transcript, so ``memdevd compare NAME.json``
replays memdevd against it), ``NAME.memdevd.jsonl`` and ``NAME.diff.txt``.
:func:`minimise` shrinks a failing scenario by dropping steps and
command-line parts while the same step still differs.

Extending the generator: a command is an *action*, a function
``(Gen) -> dict`` (one step) registered with :func:`action` and a weight.
The :class:`Gen` passed in holds the random source and a rough model of the
machine (backends, devices, free slots, the device-memory region) so that
actions can pick existing, used, missing or bogus ids and interesting
addresses.  The model is optimistic and approximate on purpose: it only
steers the choices, the comparison decides what is right.

Kept out of the generated scenarios, each place saying why:

* what docs/divergences.md lists as deliberate: qom-list and query-memdev
  order (compared as multisets, and so are the introspection lists, which
  come from hash tables too), several unexpected members in one command
  (at most one bogus property), qom-set realized=false, host facts memdevd
  takes from its settings (hugetlb, KVM: no query-kvm, no accel kvm);
* what depends on the host or on timing rather than on QEMU: backends larger
  than the host's memory (QEMU's mmap fails under the kernel's overcommit
  heuristic; sizes stay at most 2 GiB), prealloc of large backends (really
  allocates), /machine rtc-time (the clock), starting without -S (RESUME
  races with the negotiation), system_reset once the firmware has run
  (SeaBIOS resets again, a varying number of times);
* qom-list-types on the installed QEMU 10.0 (it aborts loading a module of
  the system's 7.2, see introspect()).

Differences found and reported as memdevd bugs stay in (so the tests show
them) under a tag of :data:`KNOWN_DIVERGENCES`; ``avoid`` leaves a tag's
inputs out so that a long run can look past it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import random
import re
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

from memdevd.devtools.scenario import (
    CommandTarget,
    Comparison,
    Scenario,
    compare_live,
    memdevd_target,
    parse_scenario,
    qemu_target,
    run_many,
)

JSONDict: TypeAlias = dict[str, Any]

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30

QEMU_BINARIES: dict[str, tuple[str, str]] = {
    "7.2": ("MEMDEVD_QEMU_7_2", "/usr/bin/qemu-system-x86_64"),
    "10.0": ("MEMDEVD_QEMU_10_0", "/opt/qemu-10.0/bin/qemu-system-x86_64"),
}
#: qemu-system-aarch64 of each release (the ``virt`` board), as tests/live_qemu.py
#: finds it ($MEMDEVD_QEMU_AARCH64_7_2 ...).
AARCH64_BINARIES: dict[str, tuple[str, str]] = {
    "7.2": ("MEMDEVD_QEMU_AARCH64_7_2", "/usr/bin/qemu-system-aarch64"),
    "10.0": ("MEMDEVD_QEMU_AARCH64_10_0", "/opt/qemu-10.0/bin/qemu-system-aarch64"),
    "11.1": ("MEMDEVD_QEMU_AARCH64_11_1", "/opt/qemu-11.1/bin/qemu-system-aarch64"),
}
TARGET_BINARIES: dict[str, dict[str, tuple[str, str]]] = {
    "x86_64": QEMU_BINARIES,
    "aarch64": AARCH64_BINARIES,
}
#: The x86 releases compared (the default target's).
VERSIONS: tuple[str, ...] = tuple(QEMU_BINARIES)
TARGETS: tuple[str, ...] = tuple(TARGET_BINARIES)


def versions_of(target: str) -> tuple[str, ...]:
    """The releases the differential test compares for ``target``."""
    return tuple(TARGET_BINARIES[target])


def qemu_path(version: str, target: str = "x86_64") -> str:
    env, default = TARGET_BINARIES[target][version]
    return os.environ.get(env) or default


def qemu_available(version: str, target: str = "x86_64") -> bool:
    path = qemu_path(version, target)
    return os.path.isfile(path) and os.access(path, os.X_OK)


# --------------------------------------------------------------------------- #
# Settings of the generated scenarios
# --------------------------------------------------------------------------- #

# Sizes that straddle both boards' RAM split: pc keeps up to 3.5 GiB below 4G
# (then 3 GiB), q35 up to 2.75 GiB (then 2 GiB).
RAM_SIZES: tuple[int, ...] = (
    512 * MiB,
    1 * GiB,
    2 * GiB,
    2816 * MiB,
    3 * GiB,
    3584 * MiB,
    4 * GiB,
)
# Versioned machine types: both releases know these; older 7.2-only ones
# (no 1 GiB per slot, no gigabyte alignment) and 10.0-only ones per release.
VERSIONED_TYPES: dict[str, tuple[str, ...]] = {
    "pc": ("pc-i440fx-7.2", "pc-i440fx-5.0", "pc-i440fx-4.2", "pc-i440fx-2.12", "pc-i440fx-2.4"),
    "q35": ("pc-q35-7.2", "pc-q35-6.0", "pc-q35-4.2", "pc-q35-2.12", "pc-q35-2.4"),
    "7.2": ("pc-i440fx-2.2", "pc-i440fx-2.1", "pc-i440fx-2.0", "pc-i440fx-1.7", "pc-i440fx-1.4"),
    "10.0": ("pc-i440fx-9.2", "pc-q35-9.2", "pc-i440fx-8.0", "pc-q35-10.0"),
}


def _type_version(machine_type: str) -> tuple[int, ...]:
    """``pc-q35-4.0.1`` -> (4, 0, 1)."""
    return tuple(int(n) for n in machine_type.rsplit("-", 1)[1].split("."))


MAX_RAM_BELOW_4G: tuple[int, ...] = (
    512 * MiB,
    1 * GiB,
    2 * GiB,
    2560 * MiB,
    3 * GiB,
    3584 * MiB,
    4 * GiB,
    4097 * MiB,
    5 * GiB,
)
MAXMEM_EXTRA: tuple[int, ...] = (0, 1 * GiB, 3 * GiB, 7 * GiB, 15 * GiB, 63 * GiB)
# At most 2 GiB: QEMU really mmaps a backend, which the kernel's overcommit
# heuristic refuses beyond the host's RAM + swap, a limit memdevd does not
# model (its backends cost nothing).
BACKEND_SIZES: tuple[int, ...] = (
    1 * MiB,
    2 * MiB,
    3 * MiB,
    4 * MiB,
    128 * MiB,
    256 * MiB,
    512 * MiB,
    1 * GiB,
    1 * GiB + 2 * MiB,
    2 * GiB,
    4097,
)
# prealloc really allocates (and touches) the memory in QEMU: only on small
# backends, so that parallel runs do not eat the host's RAM.
PREALLOC_MAX = 4 * MiB

BACKEND_IDS: tuple[str, ...] = ("m0", "m1", "m2", "m3", "m4", "m5")
DEVICE_IDS: tuple[str, ...] = ("d0", "d1", "d2", "d3", "d4")
DEFAULT_STEPS = 15

# Responses to these commands come at once; a short settle is enough and keeps
# runs fast.  Commands that may be followed by events (stop, cont,
# device_del) keep the runner's default settle.
FAST_SETTLE_MS = 25
EVENT_SETTLE_MS = 150


def fmt_size(n: int) -> str:
    """A QEMU size string: ``2816M``, ``1G``, or plain bytes."""
    for unit, mult in (("G", GiB), ("M", MiB), ("K", KiB)):
        if n % mult == 0:
            return f"{n // mult}{unit}"
    return str(n)


def ram_split(board: str, ram: int, max_below_4g: int | None = None) -> tuple[int, int]:
    """(below 4G, above 4G) as QEMU's pc/q35 split ``ram`` (gigabyte-aligned types).

    Only steers the generator (interesting addresses), so old machine types'
    variations are not modelled.
    """
    if board == "q35":
        lowmem = 0x80000000 if ram >= 0xB0000000 else 0xB0000000
        if max_below_4g is not None:
            lowmem = min(lowmem, max_below_4g)
    else:
        lowmem = 0xE0000000 if max_below_4g is None else max_below_4g
        if ram >= lowmem:
            lowmem = min(lowmem, 0xC0000000)
    if ram >= lowmem:
        return lowmem, ram - lowmem
    return ram, 0


def _round_up(n: int, align: int) -> int:
    return (n + align - 1) // align * align


@dataclass
class Backend:
    id: str
    size: int
    used_by: str | None = None  # a device id/path, "numa", or None
    cmdline: bool = False


@dataclass
class Device:
    id: str | None
    path: str
    driver: str
    memdev: str
    size: int
    addr: int
    slot: int | None
    unplug_requested: bool = False


@dataclass
class Gen:
    """The random source and a rough model of the machine under test."""

    rng: random.Random
    version: str | None
    board: str = "pc"
    nvdimm: bool = False
    ram: int = 1 * GiB
    max_below_4g: int | None = None
    cpus: int = 1
    ever_ran: bool = False
    no_cont: bool = False
    slots: int = 4
    maxmem: int = 8 * GiB
    numa_nodes: int = 0
    running: bool = False
    backends: dict[str, Backend] = field(default_factory=dict)
    devices: list[Device] = field(default_factory=list)
    anon_count: int = 0
    avoid: frozenset[str] = frozenset()
    #: the QEMU system emulator: "x86_64" (pc/q35) or "aarch64" (virt)
    target: str = "x86_64"
    #: whether DIMMs can be plugged (virt: only through its acpi-ged)
    ged: bool = True
    #: virt: the pcie-root-ports on the command line, and those taken
    root_ports: list[str] = field(default_factory=list)
    busy_ports: set[str] = field(default_factory=set)

    def avoids(self, tag: str) -> bool:
        """Whether inputs of the known divergence ``tag`` are to be left out."""
        return tag in self.avoid

    # -- the device-memory region ------------------------------------------ #

    @property
    def region_base(self) -> int:
        if self.target == "aarch64":
            # virt: RAM at 1 GiB, device memory at its 1 GiB-aligned end.
            return _round_up(GiB + self.ram, GiB)
        _, above = ram_split(self.board, self.ram, self.max_below_4g)
        return _round_up(4 * GiB + above, GiB)

    @property
    def region_size(self) -> int:
        if self.maxmem <= self.ram:
            return 0
        return self.maxmem - self.ram + self.slots * GiB

    def used_slots(self) -> set[int]:
        return {d.slot for d in self.devices if d.slot is not None}

    def free_slot(self) -> int | None:
        used = self.used_slots()
        return next((s for s in range(self.slots) if s not in used), None)

    def first_fit(self, size: int, align: int = 2 * MiB) -> int | None:
        addr = self.region_base
        end = self.region_base + self.region_size
        for d in sorted(self.devices, key=lambda d: d.addr):
            if addr + size <= d.addr:
                break
            addr = max(addr, _round_up(d.addr + d.size, align))
        return addr if addr + size <= end else None

    def plugged_size(self) -> int:
        return sum(d.size for d in self.devices)

    # -- picking ------------------------------------------------------------ #

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def pick(self, seq: Sequence[Any]) -> Any:
        return seq[self.rng.randrange(len(seq))]

    def device_ids(self) -> list[str]:
        return [d.id for d in self.devices if d.id is not None]

    def device_paths(self) -> list[str]:
        return [d.path for d in self.devices]

    def some_path(self) -> str:
        """A QOM path, full or partial, of something that may or may not exist."""
        choices: list[str] = ["/nope", "/objects/nope", "/machine/peripheral/nope", "nope"]
        for b in self.backends:
            choices += [f"/objects/{b}", b]
        for d in self.devices:
            choices.append(d.path)
            if d.id is not None:
                choices.append(d.id)
        choices += ["/machine", "/objects", "/machine/peripheral", "/machine/peripheral-anon"]
        choices += ["/objects/pc.ram", "pc.ram", "peripheral", "/machine/peripheral/"]
        choices += ["/", "/chardevs"]
        if not self.avoids("qom-tree"):
            choices += ["/machine/unattached", "/machine/unattached/device[0]"]
        elif self.target == "aarch64":
            # virt's board devices are there (only their own lists lack
            # their IRQs and memory regions)
            choices += ["/machine/unattached", "/machine/unattached/sysbus"]
        return str(self.pick(choices))

    def new_backend_id(self) -> str:
        free = [i for i in BACKEND_IDS if i not in self.backends]
        if free and not self.chance(0.1):
            return str(self.pick(free))
        return str(self.pick(BACKEND_IDS))


# --------------------------------------------------------------------------- #
# Known divergences
# --------------------------------------------------------------------------- #

# Differences found by this generator and reported as memdevd bugs (not in
# docs/divergences.md).  They stay in the generated scenarios by default, so
# the tests keep failing until memdevd is fixed; ``avoid`` (--avoid in
# tools/differential.py) leaves a class out to look for others behind it.
KNOWN_DIVERGENCES: dict[str, str] = {
    "qom-tree": (
        "the board's devices, IRQs and memory regions in /machine/unattached (the "
        "i440fx/q35 host bridges, ISA devices, kvmvapic, ...) are not modelled: qom-list "
        "/machine/unattached lists only system[0], the vCPUs and SGX EPC sections, and "
        "the other /machine/unattached/device[N] are not found; virt's are there, but "
        "their own qom-list lacks their IRQs and memory regions"
    ),
    "nvdimm-set-crash": (
        "qom-set /machine nvdimm true on a machine started without nvdimm, then cont: "
        "QEMU 7.2 and 10.0 crash (SIGSEGV, the connection closes), memdevd runs on"
    ),
    "introspection-gaps": (
        "qom-list-properties of a machine type (pc-q35-7.2-machine) says \"Class 'X' "
        'not found" where QEMU lists its properties; qom-list-types implements=pc-dimm '
        "(without abstract=true) or implements=device says 'memdevd: qom-list-types for "
        "... was not recorded'"
    ),
    "startup-warnings": (
        "QEMU's start-up warnings are missing from memdevd's stderr (seen when start-up "
        "then fails): \"warning: Machine type 'pc-i440fx-4.2' is deprecated: machines "
        'more than 3 years old ..." (10.0: pc-*-7.0 and older; 7.2: pc-i440fx-1.x), and '
        '7.2\'s "warning: Unknown firmware file in legacy mode: etc/acpi/nvdimm-mem" '
        "(pc-i440fx-2.2 and older with nvdimm=on)"
    ),
    "ram-gap-abort": (
        "object-add memory-backend-ram with a size so close to 2^64 that it does not fit "
        "in the RAM address space above QEMU's RAM blocks (e.g. -2097152): QEMU aborts "
        "('Failed to find gap of requested size: N', the connection closes), memdevd "
        "answers 'cannot set up guest memory', as QEMU does for the other sizes >= 2^63"
    ),
}

# --------------------------------------------------------------------------- #
# Actions
# --------------------------------------------------------------------------- #

Action: TypeAlias = Callable[[Gen], JSONDict]


Weight: TypeAlias = float | Callable[[Gen], float]


@dataclass(frozen=True)
class ActionSpec:
    name: str
    weight: Weight
    fn: Action
    versions: tuple[str, ...] | None = None
    targets: tuple[str, ...] | None = None

    def weight_now(self, g: Gen) -> float:
        return self.weight(g) if callable(self.weight) else self.weight


ACTIONS: list[ActionSpec] = []


def action(
    weight: Weight,
    *,
    versions: tuple[str, ...] | None = None,
    targets: tuple[str, ...] | None = None,
) -> Callable[[Action], Action]:
    """Register a step generator.

    ``weight`` is a number or a function of the model (so that, say, devices
    are added mostly once there are backends); ``versions`` limits the action
    to some QEMU releases, ``targets`` to some system emulators.
    """

    def deco(fn: Action) -> Action:
        ACTIONS.append(ActionSpec(fn.__name__, weight, fn, versions, targets))
        return fn

    return deco


def cmd(execute: str, arguments: JSONDict | None = None, **step: Any) -> JSONDict:
    send: JSONDict = {"execute": execute}
    if arguments is not None:
        send["arguments"] = arguments
    return {"send": send, "settle_ms": FAST_SETTLE_MS, **step}


def _number(g: Gen, n: int, *, size: bool = False) -> Any:
    """``n`` as JSON: mostly an integer; sometimes a string or a wrong type.

    QEMU 7.2's device_add goes through QemuOpts, so "0x100000000", "3" or
    (for size properties) "128K" are accepted there; 10.0 takes strict JSON
    types and refuses them.  Both are compared, so both releases see some
    strings, and rarely a boolean, a float or a list.
    """
    r = g.rng.random()
    if r < (0.08 if g.version == "7.2" else 0.03):
        forms = [str(n)]
        if n >= 0:
            forms.append(hex(n))
        if size or g.chance(0.2):
            forms.append(fmt_size(n))
        return g.pick(forms)
    if r < 0.1:
        return g.pick([True, float(n), [n], n + 0.5])
    return n


def _flag(g: Gen, b: bool) -> Any:
    """A boolean: mostly JSON, sometimes QemuOpts' spellings (on/off/yes/...)."""
    r = g.rng.random()
    if r < (0.1 if g.version == "7.2" else 0.03):
        return g.pick(["on", "off", "yes", "no", "true", "false"] if b else ["off", "no"])
    if r < 0.12:
        return g.pick([1, 0, "bogus"])
    return b


def _free_backends(g: Gen) -> int:
    return sum(1 for b in g.backends.values() if b.used_by is None)


@action(lambda g: 24 if _free_backends(g) == 0 else 12)
def object_add(g: Gen) -> JSONDict:
    qom_type = "memory-backend-memfd" if g.chance(0.3) else "memory-backend-ram"
    bid = g.new_backend_id()
    if g.chance(0.03):
        bid = str(g.pick(["9m", "m-", "m.x", "", *DEVICE_IDS]))
    room = g.maxmem - g.ram - g.plugged_size()
    fitting = [n for n in BACKEND_SIZES if n <= room and n % (2 * MiB) == 0]
    size = int(g.pick(fitting if fitting and g.chance(0.6) else BACKEND_SIZES))
    args: JSONDict = {"qom-type": qom_type, "id": bid, "size": size}
    ok = bid not in g.backends and bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]*", bid))
    r = g.rng.random()
    if r < 0.03:
        del args["size"]
        ok = False
    elif r < 0.05:
        args["size"] = 0
        ok = False
    elif r < 0.07:
        args["size"] = fmt_size(size)  # a string: QAPI wants an integer
        ok = False
    elif r < 0.09:
        # >= 2^63 as QEMU's uint64.  Just below 2^64 QEMU aborts on RAM
        # ("Failed to find gap of requested size", docs/divergences.md), so
        # RAM gets such sizes only when that tag is not avoided.
        near_top = qom_type == "memory-backend-memfd" or not g.avoids("ram-gap-abort")
        args["size"] = -size if near_top and g.chance(0.5) else size - 2**63
        ok = False
    elif r < 0.1:
        args["size"] = g.pick([float(size), True, [size], None])
        ok = False
    # Optional properties, at most one bad one (several unexpected members
    # are reported in hash-table order by QEMU, in QDict order by memdevd:
    # a documented divergence).
    if g.chance(0.15):
        args["share"] = g.chance(0.5) if g.chance(0.95) else g.pick(["on", 1])
    if g.chance(0.1):
        args["merge"] = g.chance(0.5)
    if g.chance(0.1):
        args["dump"] = g.chance(0.5)
    if g.chance(0.08):
        args["reserve"] = g.chance(0.5)
    if g.chance(0.1) and size <= PREALLOC_MAX:
        args["prealloc"] = True
        if g.chance(0.5):
            args["prealloc-threads"] = g.pick([1, 2, 4])
    if g.chance(0.1):
        policy = g.pick(["default", "preferred", "bind", "interleave"])
        args["policy"] = policy
        if policy != "default" and g.chance(0.7):
            args["host-nodes"] = g.pick([[0], [0], [1], [0, 1], [1, 0]])
    elif g.chance(0.04):
        args["host-nodes"] = [0]
    if qom_type == "memory-backend-memfd" and g.chance(0.2):
        args["seal"] = g.chance(0.5)
    if g.chance(0.04):
        # hugetlb=on depends on the host's huge pages, which memdevd takes
        # from its settings, not the host (documented under "Host facts").
        key, val = g.pick(
            [("bogus", 1), ("policy", "bogus"), ("share", "on"), ("prealloc-threads", 0)]
        )
        args[key] = val
        ok = False
    if ok and isinstance(args.get("size"), int) and args["size"] > 0:
        g.backends[bid] = Backend(bid, args["size"])
    return cmd("object-add", args)


def _pick_memdev(g: Gen) -> str | None:
    """A backend id: free (mostly), used, missing, or None (no memdev)."""
    free = [b.id for b in g.backends.values() if b.used_by is None]
    used = [b.id for b in g.backends.values() if b.used_by is not None]
    r = g.rng.random()
    if free and r < 0.85:
        # A link property: QEMU resolves a full path as well as an id.
        return str(g.pick(free)) if g.chance(0.9) else f"/objects/{g.pick(free)}"
    if used and r < 0.9:
        return str(g.pick(used)) if g.chance(0.9) else "pc.ram"
    if r < 0.96:
        return str(g.pick(["nope", "m9", *DEVICE_IDS[:1]]))
    return None


def _add_memdev(g: Gen, args: JSONDict) -> tuple[Backend | None, int]:
    """Give ``args`` a memdev (:func:`_pick_memdev`): the generator's backend
    it names, if any, and that backend's size (1 GiB where there is none)."""
    memdev = _pick_memdev(g)
    if memdev is None:
        return None, 1 * GiB
    args["memdev"] = memdev
    backend = g.backends.get(memdev.removeprefix("/objects/"))
    return backend, (backend.size if backend is not None else 1 * GiB)


def _pick_addr(g: Gen, size: int) -> int:
    """An address: inside, at the edges of, outside the region, misaligned, overlapping."""
    base, rsize = g.region_base, g.region_size
    end = base + rsize
    inside = base + g.rng.randrange(max(1, rsize // (2 * MiB))) * 2 * MiB
    choices = [
        base,
        inside,
        base + GiB,
        end - size,
        end - size + 2 * MiB,
        end,
        base - 2 * MiB,
        base + 4 * KiB,
        base + 1 * MiB,
        0,
        4 * GiB,
    ]
    for d in g.devices:
        choices += [d.addr, d.addr + d.size]
        if d.size > 2 * MiB:
            choices.append(d.addr + 2 * MiB)
    return max(int(g.pick(choices)), 0)


def _pick_slot(g: Gen) -> int:
    free = g.free_slot()
    used = sorted(g.used_slots())
    r = g.rng.random()
    if free is not None and r < 0.5:
        return free
    if used and r < 0.7:
        return int(g.pick(used))
    return int(g.pick([g.slots, g.slots + 1, -1, 0, 255, 256, max(0, g.slots - 1)]))


@action(lambda g: 3 if g.slots == 0 else 30 if _free_backends(g) else 8)
def device_add(g: Gen) -> JSONDict:
    driver = "nvdimm" if (g.nvdimm and g.chance(0.35)) or g.chance(0.03) else "pc-dimm"
    args: JSONDict = {"driver": driver}
    r = g.rng.random()
    dev_id: str | None
    if r < 0.01:
        dev_id = ""
    elif r < 0.15:
        dev_id = None  # anonymous: /machine/peripheral-anon/device[N]
    elif r < 0.22 and g.device_ids():
        dev_id = str(g.pick(g.device_ids()))  # duplicate
    elif r < 0.25 and g.backends:
        dev_id = str(g.pick(list(g.backends)))  # same id as a backend: ambiguous paths
    elif r < 0.26:
        dev_id = str(g.pick(["1d", "d-", "d#", "d.x", "_d"]))
    else:
        free = [i for i in DEVICE_IDS if i not in g.device_ids()]
        dev_id = str(g.pick(free or DEVICE_IDS))
    if dev_id is not None:
        args["id"] = dev_id
    backend, size = _add_memdev(g, args)
    addr: int | None = None
    slot: int | None = None
    if g.chance(0.35):
        addr = _pick_addr(g, size)
        args["addr"] = _number(g, addr)
    if g.chance(0.25):
        slot = _pick_slot(g)
        args["slot"] = _number(g, slot)
    if g.chance(0.15):
        node = int(g.pick([0, 0, 1, 2, 3, g.numa_nodes, 64, 127, 128]))
        args["node"] = _number(g, node)
    if driver == "nvdimm":
        if g.chance(0.3):
            label = int(g.pick([0, 128 * KiB, 256 * KiB, 1000, 2 * MiB]))
            args["label-size"] = _number(g, label, size=True)
        if g.chance(0.1):
            args["uuid"] = g.pick(["1b4e28ba-2fa1-11d2-883f-0016d3cca427", "not-a-uuid"])
        if g.chance(0.1):
            args["unarmed"] = _flag(g, g.chance(0.5))
    if g.chance(0.04):
        args[str(g.pick(["bogus", "size", "hotplugged"]))] = 1
    step = cmd("device_add", args)
    # Optimistic model update: plausible success.
    plausible = (
        backend is not None
        and backend.used_by is None
        and (dev_id is None or (dev_id[:1].isalpha() and dev_id not in g.device_ids()))
        and g.region_size > 0
        and size % (2 * MiB) == 0
        and (driver == "pc-dimm" or g.nvdimm)
        and g.ged
        and "bogus" not in args
        and len(g.devices) < g.slots
        and g.plugged_size() + size <= g.maxmem - g.ram
    )
    if plausible and backend is not None:
        if slot is None or slot < 0:
            slot = g.free_slot()
        elif slot in g.used_slots() or slot >= g.slots:
            return step
        if addr is None:
            addr = g.first_fit(size)
        if slot is None or addr is None:
            return step
        if dev_id is None:
            path = f"/machine/peripheral-anon/device[{g.anon_count}]"
            g.anon_count += 1
        else:
            path = f"/machine/peripheral/{dev_id}"
        backend.used_by = path
        g.devices.append(Device(dev_id, path, driver, backend.id, size, addr, slot))
    return step


@action(5)
def device_del(g: Gen) -> JSONDict:
    choices: list[str] = ["nope", "/machine/peripheral/nope"]
    choices += g.device_ids() * 3 + g.device_paths()
    choices += list(g.backends)[:2] + [f"/objects/{b}" for b in list(g.backends)[:1]]
    target = str(g.pick(choices))
    for d in g.devices:
        if target in (d.id, d.path):
            d.unplug_requested = True
    # With the default guest (none) QEMU never completes a DIMM unplug, so
    # the device stays; the step keeps the default settle to see no event.
    return {**cmd("device_del", {"id": target}), "settle_ms": EVENT_SETTLE_MS}


@action(6)
def object_del(g: Gen) -> JSONDict:
    choices = [*g.backends, *g.backends, "nope", "pc.ram", *g.device_ids()[:1]]
    target = str(g.pick(choices))
    b = g.backends.get(target)
    if b is not None and b.used_by is None and not b.cmdline:
        del g.backends[target]
    return cmd("object-del", {"id": target})


BACKEND_PROPS = (
    "size",
    "policy",
    "host-nodes",
    "share",
    "prealloc",
    "prealloc-threads",
    "merge",
    "dump",
    "reserve",
    "type",
    "x-use-canonical-path-for-ramblock-id",
    "seal",
    "hugetlb",
    "hugetlbsize",
    "bogus",
)
DEVICE_PROPS = (
    "addr",
    "slot",
    "node",
    "size",
    "memdev",
    "type",
    "realized",
    "hotplugged",
    "hotpluggable",
    "parent_bus",
    "label-size",
    "uuid",
    "unarmed",
    "bogus",
)
# Not rtc-time: it is the host's clock at start-up.
MACHINE_PROPS = (
    "nvdimm",
    "type",
    "device-memory-region-size",
    "max-ram-below-4g",
    "bogus",
    "nvdimm-persistence",
    "memory-backend",
    "memory",
    "acpi",
    "smm",
    "hpet",
    "boot",
    "firmware",
    "acpi-device",
    "mem-merge",
    "dump-guest-core",
    "sgx-epc",
)

# virtio-mem-pci / virtio-pmem-pci (their proxies alias the virtio device's)
VIRTIO_PROPS = (
    "size",
    "requested-size",
    "block-size",
    "memaddr",
    "node",
    "memdev",
    "prealloc",
    "unplugged-inaccessible",
    "type",
    "realized",
    "hotplugged",
    "parent_bus",
    "addr",
    "bogus",
)
VIRT_MACHINE_PROPS = (
    "nvdimm",
    "type",
    "device-memory-region-size",
    "memory-backend",
    "highmem",
    "gic-version",
    "acpi",
    "its",
    "ras",
    "highmem-ecam",
    "highmem-mmio",
    "highmem-redists",
    "compact-highmem",
    "highmem-mmio-size",
    "virtualization",
    "secure",
    "iommu",
    "mem-merge",
    "bogus",
)


def _object_and_props(g: Gen) -> tuple[str, Sequence[str]]:
    r = g.rng.random()
    if r < 0.4 and g.backends:
        b = str(g.pick(list(g.backends)))
        return (f"/objects/{b}" if g.chance(0.7) else b), BACKEND_PROPS
    if r < 0.85 and g.devices:
        d = g.pick(g.devices)
        path = d.path if d.id is None or g.chance(0.6) else d.id
        return path, VIRTIO_PROPS if d.driver.startswith("virtio-") else DEVICE_PROPS
    if r < 0.92:
        return "/machine", VIRT_MACHINE_PROPS if g.target == "aarch64" else MACHINE_PROPS
    return g.some_path(), ("size", "type", "bogus")


@action(10)
def qom_get(g: Gen) -> JSONDict:
    path, props = _object_and_props(g)
    return cmd("qom-get", {"path": path, "property": str(g.pick(props))})


@action(5)
def qom_set(g: Gen) -> JSONDict:
    path, props = _object_and_props(g)
    if props is BACKEND_PROPS:
        prop, value = g.pick(
            [
                ("size", 1 * GiB),
                ("size", "1G"),
                ("share", True),
                ("policy", "bind"),
                ("host-nodes", [0]),
                ("merge", False),
                ("dump", True),
                # prealloc=true on a live backend touches all of its memory
                # in QEMU: only the harmless false.
                ("prealloc", False),
                ("prealloc-threads", 2),
                ("bogus", 1),
            ]
        )
    elif props is DEVICE_PROPS:
        # realized=false is refused by memdevd with its own message where
        # QEMU would unrealize the device (docs/divergences.md, QMP details).
        prop, value = g.pick(
            [
                ("addr", g.region_base),
                ("slot", 1),
                ("node", 0),
                ("memdev", "m0"),
                ("label-size", 0),
                ("realized", True),
                ("hotpluggable", False),
                ("bogus", 1),
            ]
        )
    elif props is VIRTIO_PROPS:
        prop, value = g.pick(
            [
                ("requested-size", g.pick([0, 2 * MiB, 128 * MiB, 1 * GiB, 3 * MiB])),
                ("requested-size", "128M"),
                ("memaddr", g.region_base),
                ("block-size", 4 * MiB),
                ("memdev", "m0"),
                ("bogus", 1),
            ]
        )
    elif props is VIRT_MACHINE_PROPS:
        prop, value = g.pick(
            [
                ("highmem", False),
                ("gic-version", "3"),
                ("acpi", "off"),
                ("its", False),
                ("type", "x"),
                ("bogus", 1),
            ]
        )
    elif props is MACHINE_PROPS:
        prop, value = g.pick(
            [
                ("nvdimm", not g.avoids("nvdimm-set-crash")),
                ("acpi", "off"),
                ("max-ram-below-4g", 2 * GiB),
                ("nvdimm-persistence", "cpu"),
                ("type", "x"),
                ("bogus", 1),
            ]
        )
    else:
        prop, value = g.pick([("size", 1), ("type", "x"), ("bogus", 1)])
    return cmd("qom-set", {"path": path, "property": prop, "value": value})


@action(6)
def qom_list(g: Gen) -> JSONDict:
    # qom-list order is GLib's hash-table order in QEMU and a stable order in
    # memdevd (documented): compared as a multiset.
    paths = [
        "/objects",
        "/machine/peripheral",
        "/machine/peripheral-anon",
        "/nope",
        g.some_path(),
        g.some_path(),
    ]
    path = str(g.pick(paths))
    return cmd("qom-list", {"path": path}, unordered=True)


@action(6)
def query_memory_devices(g: Gen) -> JSONDict:
    return cmd("query-memory-devices")


@action(3)
def query_memory_size_summary(g: Gen) -> JSONDict:
    return cmd("query-memory-size-summary")


@action(4)
def query_memdev(g: Gen) -> JSONDict:
    # Listed in hash-table order by QEMU (documented): compared as a multiset.
    return cmd("query-memdev", unordered=True)


@action(3)
def query_acpi_ospm_status(g: Gen) -> JSONDict:
    return cmd("query-acpi-ospm-status")


@action(2)
def query_status(g: Gen) -> JSONDict:
    return cmd("query-status")


@action(1)
def query_machines(g: Gen) -> JSONDict:
    return cmd("query-machines", unordered=True)


@action(lambda g: 0 if g.running else 1)
def system_reset(g: Gen) -> JSONDict:
    # Only while paused: after a host reset QEMU's firmware (SeaBIOS) resets
    # the machine again once it runs, one or more RESET events with "guest":
    # true depending on timing, and memdevd runs no firmware.  So once the
    # firmware has run, no cont follows a reset.
    if g.ever_ran:
        g.no_cont = True
    return {**cmd("system_reset"), "settle_ms": EVENT_SETTLE_MS}


@action(1)
def system_powerdown(g: Gen) -> JSONDict:
    # POWERDOWN only: neither the firmware nor memdevd's default guest acts on it.
    return {**cmd("system_powerdown"), "settle_ms": EVENT_SETTLE_MS}


# --- networking: netdevs and NICs (no model: ids from a small pool collide
# on their own; the comparison decides what is right) ---

NETDEV_IDS = ("n0", "n1", "n2")


@action(2)
def netdev_add(g: Gen) -> JSONDict:
    nid = str(g.pick([*NETDEV_IDS, "1x", ""])) if g.chance(0.1) else str(g.pick(NETDEV_IDS))
    kind = str(g.pick(["user", "user", "user", "hubport", "socket", "nope"]))
    args: JSONDict = {"type": kind, "id": nid}
    if kind == "hubport":
        args["hubid"] = int(g.pick([0, 1, -1]))
    if kind == "user" and g.chance(0.2):
        args["net"] = str(g.pick(["10.0.3.0/24", "10.0.2.0/33", "bogus"]))
    return cmd("netdev_add", args)


@action(1)
def netdev_del(g: Gen) -> JSONDict:
    return cmd("netdev_del", {"id": str(g.pick([*NETDEV_IDS, "hub0port0", "nope"]))})


@action(1)
def nic_add(g: Gen) -> JSONDict:
    # A NIC on the root bus: pc's takes hot-plugs, q35's pcie.0 refuses them
    # (the same error from both); its netdev from the pool, maybe in use.
    drivers = ["e1000", "virtio-net-pci", "rtl8139"]
    if g.target == "aarch64":
        drivers = ["virtio-net-pci"]
    args: JSONDict = {"driver": str(g.pick(drivers))}
    if g.target == "aarch64" and g.root_ports and g.chance(0.5):
        args["bus"] = str(g.pick(g.root_ports))
    if g.chance(0.8):
        args["netdev"] = str(g.pick(NETDEV_IDS))
    return cmd("device_add", args)


@action(1)
def set_link(g: Gen) -> JSONDict:
    name = str(g.pick([*NETDEV_IDS, "nope", "e1000.0", "virtio-net-pci.0"]))
    return cmd("set_link", {"name": name, "up": g.chance(0.5)})


@action(1)
def info_network(g: Gen) -> JSONDict:
    return cmd("human-monitor-command", {"command-line": "info network"})


@action(1)
def query_rx_filter(g: Gen) -> JSONDict:
    if g.chance(0.5):
        return cmd("query-rx-filter")
    return cmd("query-rx-filter", {"name": str(g.pick([*NETDEV_IDS, "virtio-net-pci.0"]))})


# Types whose introspection memdevd answers from its recorded data.
DEVICE_LIST_RECORDED = ("pc-dimm", "nvdimm", "memory-backend-ram", "memory-device", "no-such-type")
QOM_LIST_RECORDED = (
    "pc-dimm",
    "nvdimm",
    "memory-backend",
    "memory-backend-ram",
    "memory-backend-memfd",
    "memory-backend-file",
    "memory-device",
    "device",
    "no-such-type",
)
# Others: existing non-device types and a machine type (qom-list-properties
# of a machine type: "introspection-gaps").
INTROSPECTED_OTHERS = ("memory-backend-memfd", "memory-backend", "device", "pc-q35-7.2-machine")


@action(3)
def introspect(g: Gen) -> JSONDict:
    # These lists come from GHashTable walks in QEMU (type and property
    # tables), like qom-list's: compared as multisets.
    gaps = not g.avoids("introspection-gaps")
    r = g.rng.random()
    if r < 0.4:
        typename = g.pick(DEVICE_LIST_RECORDED + INTROSPECTED_OTHERS)
        return cmd("device-list-properties", {"typename": typename}, unordered=True)
    # qom-list-types makes QEMU load every module; the QEMU 10.0 unpacked by
    # tools/install-qemu.sh lacks some (ui-opengl) and aborts when it falls
    # back to the system QEMU 7.2's, so it is only asked of other releases.
    if r < 0.8 or g.version == "10.0":
        types = QOM_LIST_RECORDED + (("pc-q35-7.2-machine",) if gaps else ())
        return cmd("qom-list-properties", {"typename": g.pick(types)}, unordered=True)
    args: JSONDict = {"implements": g.pick(["memory-backend", "memory-device"])}
    if gaps and g.chance(0.3):
        args["implements"] = g.pick(["pc-dimm", "device"])
    if g.chance(0.6):
        args["abstract"] = g.chance(0.5)
    return cmd("qom-list-types", args, unordered=True)


@action(3)
def stop_cont(g: Gen) -> JSONDict:
    g.running = not g.running if g.chance(0.8) else g.running
    if g.running and g.no_cont:
        g.running = False
    g.ever_ran = g.ever_ran or g.running
    return {**cmd("cont" if g.running else "stop"), "settle_ms": EVENT_SETTLE_MS}


# --- aarch64 virt: virtio-mem-pci and virtio-pmem-pci on PCIe root ports ---

VIRTIO_IDS = ("v0", "v1", "v2", "v3")
# virtio-mem's block sizes: the default (the host's THP size, 2 MiB here),
# larger powers of two, and invalid ones.
VMEM_BLOCK_SIZES = (2 * MiB, 4 * MiB, 1 * GiB, 1 * MiB, 3 * MiB)


def _pick_bus(g: Gen) -> str | None:
    """A root port: free (mostly), taken, the root bus, a missing one, or none."""
    free = [p for p in g.root_ports if p not in g.busy_ports]
    r = g.rng.random()
    if free and r < 0.8:
        return str(g.pick(free))
    if g.busy_ports and r < 0.85:
        return str(g.pick(sorted(g.busy_ports)))
    if r < 0.9:
        return "pcie.0"
    if r < 0.93:
        return str(g.pick(["nope", "rp9"]))
    return None


def _virtio_md_add(g: Gen, driver: str) -> JSONDict:
    args: JSONDict = {"driver": driver}
    r = g.rng.random()
    dev_id: str | None
    if r < 0.1:
        dev_id = None
    elif r < 0.16 and g.device_ids():
        dev_id = str(g.pick(g.device_ids()))
    else:
        free = [i for i in VIRTIO_IDS if i not in g.device_ids()]
        dev_id = str(g.pick(free or VIRTIO_IDS))
    if dev_id is not None:
        args["id"] = dev_id
    backend, size = _add_memdev(g, args)
    bus = _pick_bus(g)
    if bus is not None:
        args["bus"] = bus
    block = 2 * MiB
    if driver == "virtio-mem-pci":
        if g.chance(0.7):
            req = int(g.pick([0, size // 2, size, 2 * MiB, size + 2 * MiB, 3 * MiB]))
            args["requested-size"] = _number(g, req, size=True)
        if g.chance(0.15):
            block = int(g.pick(VMEM_BLOCK_SIZES))
            args["block-size"] = _number(g, block, size=True)
        if g.chance(0.1):
            args["node"] = _number(g, int(g.pick([0, 1, g.numa_nodes, 128])))
        if g.chance(0.05):
            args[str(g.pick(["dynamic-memslots", "unplugged-inaccessible"]))] = g.pick(
                [True, False, "auto"]
            )
    if g.chance(0.15):
        args["memaddr"] = _number(g, _pick_addr(g, size))
    if g.chance(0.03):
        args["bogus"] = 1
    step = cmd("device_add", args)
    plausible = (
        backend is not None
        and backend.used_by is None
        and (dev_id is None or dev_id not in g.device_ids())
        and bus in g.root_ports
        and bus not in g.busy_ports
        and g.region_size > 0
        and size % block == 0
        and len(args) <= 6
        and "memaddr" not in args
        and "bogus" not in args
        and g.plugged_size() + size <= g.maxmem - g.ram
    )
    if plausible and backend is not None and bus is not None:
        addr = g.first_fit(size)
        if addr is None:
            return step
        if dev_id is None:
            path = f"/machine/peripheral-anon/device[{g.anon_count}]"
            g.anon_count += 1
        else:
            path = f"/machine/peripheral/{dev_id}"
        backend.used_by = path
        g.busy_ports.add(bus)
        g.devices.append(Device(dev_id, path, driver, backend.id, size, addr, None))
    return step


def _virtio_weight(g: Gen) -> float:
    return 14 if _free_backends(g) and g.root_ports else 3


@action(_virtio_weight, targets=("aarch64",))
def virtio_mem_add(g: Gen) -> JSONDict:
    return _virtio_md_add(g, "virtio-mem-pci")


# (qemu-system-aarch64 7.2 and 10.0 have no virtio-pmem-pci: refused by name)
@action(lambda g: _virtio_weight(g) / 5, targets=("aarch64",))
def virtio_pmem_add(g: Gen) -> JSONDict:
    return _virtio_md_add(g, "virtio-pmem-pci")


def _has_vmem(g: Gen) -> bool:
    return any(d.driver == "virtio-mem-pci" for d in g.devices)


@action(lambda g: 8 if _has_vmem(g) else 1, targets=("aarch64",))
def virtio_mem_resize(g: Gen) -> JSONDict:
    """qom-set requested-size: what a management tool resizes virtio-mem with."""
    vmems = [d for d in g.devices if d.driver == "virtio-mem-pci"]
    if vmems:
        d = g.pick(vmems)
        path = d.path if d.id is None or g.chance(0.5) else d.id
        size = d.size
    else:
        path, size = str(g.pick(["v0", "/machine/peripheral/v0", "nope"])), 1 * GiB
    value = int(g.pick([0, size // 2, size, 2 * MiB, size + 2 * MiB, 1 * MiB, 4 * MiB]))
    return cmd(
        "qom-set",
        {"path": path, "property": "requested-size", "value": _number(g, value, size=True)},
    )


@action(1, targets=("aarch64",))
def root_port_add(g: Gen) -> JSONDict:
    # pcie.0 takes no hot-plug on virt: refused whatever the port's options.
    args: JSONDict = {"driver": "pcie-root-port", "id": str(g.pick(["rp7", "rp0"]))}
    if g.chance(0.5):
        args["chassis"] = int(g.pick([7, 1]))
    return cmd("device_add", args)


@action(2, targets=("aarch64",))
def virt_hmp_info(g: Gen) -> JSONDict:
    # memdevd's HMP has the memory ones only; info memdev lists backends in
    # query-memdev's order, not QEMU's hash-table order (docs/divergences.md).
    what = str(g.pick(["memory-devices", "numa", "memory_size_summary"]))
    return cmd("human-monitor-command", {"command-line": f"info {what}"})


@action(1, targets=("aarch64",))
def query_pci(g: Gen) -> JSONDict:
    return cmd("query-pci")


# --------------------------------------------------------------------------- #
# Machine configuration
# --------------------------------------------------------------------------- #


def _machine_argv(g: Gen) -> list[str]:
    rng = g.rng
    g.board = "q35" if rng.random() < 0.45 else "pc"
    g.nvdimm = rng.random() < 0.3
    machine = g.board
    if rng.random() < 0.15:
        types = VERSIONED_TYPES[g.board] + VERSIONED_TYPES.get(g.version or "", ())
        if g.avoids("startup-warnings"):
            types = tuple(t for t in types if _type_version(t) >= (7, 1))
        machine = str(g.pick(types))
        g.board = "q35" if machine.startswith("pc-q35") else "pc"
    if g.nvdimm:
        machine += ",nvdimm=on"
    g.ram = int(g.pick(RAM_SIZES))
    if rng.random() < 0.1:
        g.max_below_4g = int(g.pick(MAX_RAM_BELOW_4G))
        machine += f",max-ram-below-4g={fmt_size(g.max_below_4g)}"
    # Mostly a valid -m: slots with maxmem above RAM, or neither.
    extra = int(g.pick(MAXMEM_EXTRA[1:])) if rng.random() < 0.9 else 0
    if extra == 0:
        g.slots = 0 if rng.random() < 0.8 else rng.randint(1, 8)
    elif rng.random() < 0.03:
        g.slots = 0
    elif rng.random() < 0.1:
        g.slots = int(g.pick([1, 2]))
    else:
        g.slots = rng.randint(1, 8)
    g.maxmem = g.ram + extra
    r = rng.random()
    # The -m syntax: mostly "1G", sometimes "size=1G" or plain MiB.
    mem = (
        f"size={fmt_size(g.ram)}" if r < 0.1 else str(g.ram // MiB) if r < 0.2 else fmt_size(g.ram)
    )
    if g.slots or g.maxmem != g.ram or rng.random() < 0.5:
        mem += f",slots={g.slots},maxmem={fmt_size(g.maxmem)}"
    else:
        g.maxmem = g.ram
    argv = ["-machine", machine, "-m", mem, "-nodefaults", "-display", "none"]
    # Always -S: without it QEMU emits RESUME as the VM starts, and a client
    # that negotiates quickly enough (a loaded host) receives it, so the
    # first step would race.  A running VM comes from a first "cont" step
    # instead (see generate()); the start-up without -S is a conformance
    # scenario (proto_running_without_S).
    argv.append("-S")
    g.running = g.ever_ran = rng.random() < 0.1
    if rng.random() < 0.15:
        g.cpus = rng.randint(1, 4)
        argv += ["-smp", str(g.cpus)]
    if rng.random() < 0.2:
        argv += _numa_argv(g)
    if rng.random() < 0.25 and g.region_size:
        argv += _coldplug_argv(g)
    return argv


# virt's versioned types: all three releases know these; then per release
# (10.0 marks the ones older than 8.0 deprecated, 11.1 has none older than 5.2).
VIRT_TYPES: dict[str, tuple[str, ...]] = {
    "all": ("virt-7.2", "virt-7.1", "virt-6.2", "virt-6.1", "virt-6.0"),
    "7.2": ("virt-5.0", "virt-4.2", "virt-4.1", "virt-2.12", "virt-2.6"),
    "10.0": ("virt-10.0", "virt-9.2", "virt-8.2", "virt-4.2", "virt-4.1", "virt-2.12"),
    "11.1": ("virt-11.1", "virt-10.1", "virt-10.0", "virt-8.2", "virt-5.2"),
}
# The oldest type each release does not call deprecated (a warning at start-up).
VIRT_DEPRECATED_BELOW: dict[str, tuple[int, ...]] = {"7.2": (0,), "10.0": (7, 1), "11.1": (8, 2)}
# CPU models and the physical address range they give (arm_pamax): 40 bits
# (cortex-a53/a57), 44 (a72), 48 (max, neoverse-n1), and 32-bit CPUs.
VIRT_CPUS: dict[str, tuple[str, ...]] = {
    "all": (
        "max",
        "max",
        "cortex-a57",
        "cortex-a53",
        "cortex-a72",
        "neoverse-n1",
        "a64fx",
        "cortex-a15",
        "cortex-a76",
    ),
    "10.0": ("neoverse-v1", "neoverse-n2", "cortex-a710", "cortex-a55"),
    "11.1": ("neoverse-v1", "neoverse-n2", "cortex-a710", "cortex-a55"),
}
AARCH32_CPUS = frozenset({"cortex-a15", "cortex-a7"})
#: A firmware of two instructions, ``wfi; b .-4``: a vCPU that sleeps.
VIRT_WFI_FIRMWARE = Path(__file__).resolve().parent / "virt-wfi.bin"
VIRT_RAM_SIZES: tuple[int, ...] = (128 * MiB, 256 * MiB, 512 * MiB, 1 * GiB, 2 * GiB, 3 * GiB)
# Past 1 TiB (40 bits) and 16 TiB (44 bits) for the address-range errors.
# (each small one several times: most start-ups should succeed)
VIRT_MAXMEM_EXTRA: tuple[int, ...] = (
    *(1 * GiB, 3 * GiB, 7 * GiB, 15 * GiB) * 4,
    63 * GiB,
    1023 * GiB,
    16 * 1024 * GiB,
)


def _virt_argv(g: Gen) -> list[str]:
    """A ``virt`` command line: machine type and properties, CPU, -m, firmware
    (the acpi-ged needs one), root ports, NUMA, cold-plugged memory devices."""
    rng = g.rng
    g.board = "virt"
    v = g.version or "7.2"
    machine = "virt"
    if rng.random() < 0.25:
        types = VIRT_TYPES["all"] + VIRT_TYPES.get(v, ())
        if g.avoids("startup-warnings"):
            types = tuple(t for t in types if _type_version(t) >= VIRT_DEPRECATED_BELOW[v])
        machine = str(g.pick(types))
    mversion = _type_version(machine) if machine != "virt" else (99, 0)
    props: list[str] = []
    if rng.random() < 0.08:
        props.append("highmem=off")
    g.nvdimm = rng.random() < 0.25
    if g.nvdimm:
        props.append("nvdimm=on")
    acpi = True
    if rng.random() < 0.1:
        acpi = False
        props.append("acpi=off")
    if rng.random() < 0.15:
        props.append(f"gic-version={g.pick(['2', '3', 'max', '2'])}")
    if rng.random() < 0.05:
        props.append("its=off")
    if v != "7.2" and rng.random() < 0.15:
        key = str(g.pick(["highmem-redists", "highmem-ecam", "highmem-mmio", "compact-highmem"]))
        props.append(f"{key}={g.pick(['off', 'on'])}")
    if v != "7.2" and rng.random() < 0.05:
        props.append(f"highmem-mmio-size={g.pick(['1T', '2T', '256G'])}")
    if props:
        machine += "," + ",".join(props)
    cpu = str(g.pick(VIRT_CPUS["all"] + VIRT_CPUS.get(v, ())))
    g.ram = int(g.pick(VIRT_RAM_SIZES))
    extra = int(g.pick(VIRT_MAXMEM_EXTRA)) if rng.random() < 0.9 else 0
    if extra == 0:
        g.slots = 0 if rng.random() < 0.8 else rng.randint(1, 4)
    elif rng.random() < 0.03:
        g.slots = int(g.pick([0, 257]))
    else:
        g.slots = rng.randint(1, 8)
    g.maxmem = g.ram + extra
    mem = fmt_size(g.ram) if rng.random() < 0.85 else str(g.ram // MiB)
    if g.slots or g.maxmem != g.ram:
        mem += f",slots={g.slots},maxmem={fmt_size(g.maxmem)}"
    argv = ["-machine", machine, "-cpu", cpu, "-m", mem, "-nodefaults", "-display", "none"]
    # Any file is firmware to virt (pflash0 is loaded from it).  Without
    # one, or with an empty one, a running vCPU executes zeroes: an exception
    # loop that takes the BQL each time round under TCG, so QEMU answers
    # late; such guests never run.  VIRT_WFI_FIRMWARE waits for interrupts.
    r = rng.random()
    firmware = "" if r < 0.3 else "/dev/null" if r < 0.65 else str(VIRT_WFI_FIRMWARE)
    if firmware:
        argv += ["-bios", firmware]
    aarch32 = cpu in AARCH32_CPUS
    # machvirt_init: the acpi-ged with firmware and ACPI on virt-4.2+ (aarch64 CPUs).
    g.ged = bool(firmware) and acpi and mversion >= (4, 2) and not aarch32
    g.no_cont = firmware != str(VIRT_WFI_FIRMWARE) or aarch32
    argv.append("-S")
    g.running = g.ever_ran = not g.no_cont and rng.random() < 0.1
    if rng.random() < 0.15:
        g.cpus = rng.randint(1, 4)
        argv += ["-smp", str(g.cpus)]
    for i in range(rng.randint(1, 4) if rng.random() < 0.85 else 0):
        port = f"rp{i}"
        argv += ["-device", f"pcie-root-port,id={port},chassis={i + 1}"]
        g.root_ports.append(port)
    if rng.random() < 0.2 and g.ram >= 512 * MiB:
        argv += _numa_argv(g)
    if rng.random() < 0.25 and g.region_size and g.ged:
        argv += _coldplug_argv(g)
    if rng.random() < 0.25 and g.region_size and g.root_ports:
        argv += _coldplug_virtio_argv(g)
    return argv


def _coldplug_virtio_argv(g: Gen) -> list[str]:
    """A virtio-mem-pci (or virtio-pmem-pci) on a root port on the command line."""
    argv: list[str] = []
    free = [p for p in g.root_ports if p not in g.busy_ports]
    for i, port in enumerate(free[: g.rng.randint(1, 2)]):
        size = int(g.pick([128 * MiB, 512 * MiB, 1 * GiB]))
        if g.plugged_size() + size > g.maxmem - g.ram:
            break
        addr = g.first_fit(size)
        if addr is None:
            break
        bid, did = f"cv{i}", f"cvd{i}"
        driver = "virtio-pmem-pci" if g.chance(0.25) else "virtio-mem-pci"
        argv += ["-object", f"memory-backend-ram,id={bid},size={fmt_size(size)}"]
        dev = f"{driver},id={did},memdev={bid},bus={port}"
        if driver == "virtio-mem-pci":
            dev += f",requested-size={fmt_size(int(g.pick([0, size // 2, size])))}"
            if g.numa_nodes and g.chance(0.5):
                dev += f",node={g.rng.randrange(g.numa_nodes)}"
        if g.chance(0.05):
            dev += str(g.pick([",requested-size=3M", ",block-size=3M", ",bus=pcie.0"]))
        argv += ["-device", dev]
        g.backends[bid] = Backend(bid, size, used_by=did, cmdline=True)
        g.busy_ports.add(port)
        g.devices.append(Device(did, f"/machine/peripheral/{did}", driver, bid, size, addr, None))
    return argv


def _numa_argv(g: Gen) -> list[str]:
    """``-numa node`` with memdev backends that add up to the RAM size."""
    unit = 256 * MiB
    units = g.ram // unit
    nodes = g.rng.randint(1, min(3, units))
    cuts = sorted(g.rng.sample(range(1, units), nodes - 1)) if nodes > 1 else []
    bounds = [0, *cuts, units]
    explicit = g.chance(0.8)  # nodeid=N, or QEMU's numbering in order
    argv: list[str] = []
    for n in range(nodes):
        size = (bounds[n + 1] - bounds[n]) * unit
        bid = f"ram-node{n}"
        argv += ["-object", f"memory-backend-ram,id={bid},size={fmt_size(size)}"]
        opts = f"node,nodeid={n},memdev={bid}" if explicit else f"node,memdev={bid}"
        if g.cpus > 1 and n < g.cpus and g.chance(0.5) and not g.avoids("startup-warnings"):
            opts += f",cpus={n}" if n < nodes - 1 else f",cpus={n}-{g.cpus - 1}"
        argv += ["-numa", opts]
        g.backends[bid] = Backend(bid, size, used_by="numa", cmdline=True)
    g.numa_nodes = nodes
    return argv


def _coldplug_argv(g: Gen) -> list[str]:
    """Backends and DIMMs (or NVDIMMs) on the command line, mostly valid."""
    argv: list[str] = []
    for i in range(g.rng.randint(1, 3)):
        bid, did = f"c{i}", f"cd{i}"
        size = int(g.pick([128 * MiB, 256 * MiB, 512 * MiB, 1 * GiB]))
        if g.plugged_size() + size > g.maxmem - g.ram or len(g.devices) >= g.slots:
            break
        driver = "nvdimm" if g.nvdimm and g.chance(0.4) else "pc-dimm"
        argv += ["-object", f"memory-backend-ram,id={bid},size={fmt_size(size)}"]
        dev = f"{driver},id={did},memdev={bid}"
        if driver == "nvdimm" and g.chance(0.5):
            dev += ",label-size=128K"
        slot = g.free_slot()
        addr = g.first_fit(size)
        if slot is None or addr is None:
            break
        if g.chance(0.3):
            slot = g.rng.randrange(g.slots)
            if slot in g.used_slots():
                break
            dev += f",slot={slot}"
        if g.chance(0.3):
            # Leave a gap for later first-fit allocations.
            span = (g.region_base + g.region_size - addr - size) // (2 * MiB)
            if span > 0:
                addr += g.rng.randrange(span + 1) * 2 * MiB
                dev += f",addr={hex(addr)}"
        if g.numa_nodes and g.chance(0.5):
            dev += f",node={g.rng.randrange(g.numa_nodes)}"
        if g.chance(0.08):
            # A start-up error: QEMU's message and exit status are compared.
            dev += str(
                g.pick(
                    [
                        f",addr={hex(g.region_base + 4 * KiB)}",
                        f",slot={g.slots}",
                        f",node={g.numa_nodes + 1}",
                        ",memdev=nope",
                        ",bogus=1",
                        f",addr={hex(g.region_base - 2 * MiB)}",
                    ]
                )
            )
        argv += ["-device", dev]
        g.backends[bid] = Backend(bid, size, used_by=did, cmdline=True)
        g.devices.append(Device(did, f"/machine/peripheral/{did}", driver, bid, size, addr, slot))
    return argv


def generate(
    seed: int,
    *,
    steps: int = DEFAULT_STEPS,
    version: str | None = None,
    avoid: frozenset[str] = frozenset(),
    target: str = "x86_64",
) -> JSONDict:
    """A scenario dict for ``seed``: deterministic, whatever the run or the date.

    ``target`` "aarch64" generates qemu-system-aarch64 ``virt`` scenarios
    (the scenario's ``target`` key), "x86_64" pc/q35 ones.

    ``version`` ("7.2", "10.0") only tunes how often release-specific inputs
    appear (QemuOpts strings for device_add); None suits any release.
    ``avoid`` names :data:`KNOWN_DIVERGENCES` whose inputs are left out, to
    look past bugs already reported (the same seed then gives another
    scenario).
    """
    unknown = avoid - set(KNOWN_DIVERGENCES)
    if unknown:
        raise ValueError(f"unknown divergence tag(s): {', '.join(sorted(unknown))}")
    # random.Random(int) is stable across runs and Python hash seeds.
    if target not in TARGET_BINARIES:
        raise ValueError(f"unknown target {target!r}")
    g = Gen(random.Random(seed), version, avoid=avoid, target=target)
    argv = _virt_argv(g) if target == "aarch64" else _machine_argv(g)
    out: list[JSONDict] = [{"send": {"execute": "qmp_capabilities"}, "settle_ms": FAST_SETTLE_MS}]
    if g.running and steps > 0:
        out.append({**cmd("cont"), "settle_ms": EVENT_SETTLE_MS})
    g.running = g.ever_ran = g.running and steps > 0
    specs = [
        a
        for a in ACTIONS
        if (a.versions is None or version in a.versions)
        and (a.targets is None or target in a.targets)
    ]
    while len(out) < steps + 1:
        spec = g.rng.choices(specs, [a.weight_now(g) for a in specs])[0]
        step = spec.fn(g)
        if g.chance(0.04):
            # Any JSON value is echoed back as the response's id.
            step["send"]["id"] = g.pick([1, "x", [1, {"a": None}], 2.5, {"k": "v"}])
        out.append(step)
    prefix = "diff" if target == "x86_64" else f"diff_{target}"
    data: JSONDict = {
        "name": f"{prefix}_{version or 'any'}_{seed}".replace(".", "_"),
        "argv": argv,
        "notes": f"differential: generate({seed}, steps={steps}, version={version!r}"
        + (f", avoid={sorted(avoid)}" if avoid else "")
        + (f", target={target!r}" if target != "x86_64" else "")
        + ")",
        "steps": out,
    }
    if target != "x86_64":
        data["target"] = target
    return data


def hypothesis_scenarios(steps: int = DEFAULT_STEPS, version: str | None = None) -> Any:
    """A hypothesis strategy of generated scenarios (shrinks towards small seeds)."""
    from hypothesis import strategies as st

    return st.integers(min_value=0, max_value=2**32 - 1).map(
        lambda s: generate(s, steps=steps, version=version)
    )


def derived_seed(base: str, index: int) -> int:
    """A seed from a counter: stable across runs and dates (sha256, not hash())."""
    digest = hashlib.sha256(f"memdevd-differential:{base}:{index}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


# --------------------------------------------------------------------------- #
# Running and saving
# --------------------------------------------------------------------------- #

_STEP_RE = re.compile(r"^steps\[(\d+)\]")


def differing_step(difference: str) -> int | None:
    """The step index a first-difference text names, or None (start-up, end)."""
    m = _STEP_RE.match(difference)
    return int(m.group(1)) if m else None


def path_of(args: JSONDict) -> str:
    return str(args.get("path", ""))


def classify(data: JSONDict, difference: str) -> str | None:
    """The :data:`KNOWN_DIVERGENCES` tag a difference looks like, if any (a heuristic)."""
    if difference.startswith("start-up failure stderr") and "warning: " in difference:
        return "startup-warnings"
    idx = differing_step(difference)
    if idx is None or idx >= len(data["steps"]):
        return None
    send = data["steps"][idx].get("send")
    if not isinstance(send, dict):
        return None
    execute, args = send.get("execute"), send.get("arguments") or {}
    if execute == "object-add" and isinstance(args.get("size"), int) and args["size"] < 0:
        return "ram-gap-abort"
    if "connection expected closed" in difference and any(
        (st.get("send") or {}).get("arguments", {}).get("property") == "nvdimm"
        for st in data["steps"][:idx]
    ):
        return "nvdimm-set-crash"
    if execute in ("device-list-properties", "qom-list-properties", "qom-list-types"):
        return "introspection-gaps"
    path = str(args.get("path", ""))
    if execute in ("qom-list", "qom-get", "qom-set") and path.startswith("/machine/unattached"):
        return "qom-tree"
    return None


def to_scenario(data: JSONDict) -> Scenario:
    return parse_scenario(data, source=str(data.get("name", "<generated>")))


# memdevd.devtools.scenario's runner can leave a target running when compare_live
# stops at a difference while that target's run is already closing its
# connection (the cancellation lands in the cleanup before the process is
# killed), and memdevd then ignores SIGTERM (its stderr pipe is gone).  So
# every target started here writes its pid to a file first (a shell that
# then execs it, same pid), and whatever is still running afterwards is
# killed: only processes these runs started.
_PID_SHIM = 'echo $$ >>"$0" && exec "$@"'


def _tracked(target: CommandTarget, pidfile: str, prog: str) -> CommandTarget:
    return CommandTarget(
        ("sh", "-c", _PID_SHIM, pidfile, *target.template),
        prog_names=(prog, *target.prog_names),
        env=target.env,
        cwd=target.cwd,
        start_timeout=target.start_timeout,
    )


def _kill_leftovers(pidfile: str) -> None:
    try:
        with open(pidfile, encoding="ascii") as f:
            pids = [int(line) for line in f if line.strip().isdigit()]
    except OSError:
        return
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue  # gone, as it should be
        # The pid may have been reused: only a target of the runner (its
        # -qmp socket lives in a memdevd-sc- directory) is ours.
        if b"memdevd-sc-" in cmdline:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def _reference(version: str, target: str) -> CommandTarget:
    """Real QEMU.  qemu-system-aarch64 10.0 and 11.1 run as their recordings
    ran them, with the module directories they masked hidden
    (tests/live_qemu.py), where this host can hide them."""
    qemu = qemu_path(version, target)
    if target == "x86_64":
        return qemu_target(qemu)
    tests_dir = str(Path(__file__).resolve().parent.parent)
    if tests_dir not in sys.path:
        sys.path.insert(0, tests_dir)
    import live_qemu

    prog = (f"qemu-system-{target}",)
    if live_qemu.mask_problem(version, target) is not None or not live_qemu.module_masks(
        version, target
    ):
        return qemu_target(qemu, prog_names=prog)
    command = live_qemu.qemu_command(version, ["{argv}"], target)
    # (qemu_command finds the binary itself: point it at the one chosen here)
    return CommandTarget(
        tuple(qemu if w == live_qemu.qemu_binary(version, target) else w for w in command),
        prog_names=prog,
    )


async def compare(data: JSONDict, version: str, *, early_stop: bool = True) -> Comparison:
    """Run one scenario dict against QEMU ``version`` and memdevd; never raises."""
    scenario = to_scenario(data)
    target = scenario.target
    qemu = qemu_path(version, target)
    with tempfile.TemporaryDirectory(prefix="memdevd-diff-") as tmp:
        pidfile = os.path.join(tmp, "pids")
        try:
            return await compare_live(
                scenario,
                _tracked(_reference(version, target), pidfile, qemu),
                _tracked(memdevd_target(version, target=target), pidfile, "memdevd"),
                stop_at_first_difference=early_stop,
            )
        except Exception as exc:  # one broken run must not hide the others
            return Comparison(scenario.label, error=f"{type(exc).__name__}: {exc}")
        finally:
            _kill_leftovers(pidfile)


def truncate(data: JSONDict, difference: str | None) -> JSONDict:
    """The scenario cut after the step the difference names."""
    idx = differing_step(difference or "")
    if idx is None:
        return data
    return {**data, "steps": data["steps"][: idx + 1]}


def signature(data: JSONDict, difference: str | None) -> str | None:
    """What must still differ for a smaller scenario to count as the same failure."""
    if difference is None:
        return None
    idx = differing_step(difference)
    if idx is None:
        # Start-up or end: the whole text, or dropping command-line parts
        # could swap the failure for another one.
        return difference
    return json.dumps(data["steps"][idx], sort_keys=True)


async def minimise(
    data: JSONDict, version: str, difference: str, *, budget: int = 60
) -> tuple[JSONDict, str]:
    """Drop steps and command-line parts while the same step still differs.

    Greedy, one element at a time from the end, at most ``budget`` runs.
    Returns the smallest failing scenario found and its difference.
    """
    current = truncate(data, difference)
    want = signature(data, difference)
    runs = 0

    async def still_fails(candidate: JSONDict) -> str | None:
        nonlocal runs
        runs += 1
        res = await compare(candidate, version)
        if res.difference is None:
            return None
        if differing_step(res.difference) != len(candidate["steps"]) - 1 and (
            differing_step(difference) is not None
        ):
            return None
        return res.difference if signature(candidate, res.difference) == want else None

    # Steps: never the first (qmp_capabilities) nor the last (the failing one).
    i = len(current["steps"]) - 2
    while i >= 1 and runs < budget:
        candidate = {**current, "steps": current["steps"][:i] + current["steps"][i + 1 :]}
        got = await still_fails(candidate)
        if got is not None:
            current, difference = candidate, got
        i -= 1
    # Command line: drop "-numa X", "-object X", "-device X", "-smp X" pairs
    # (not -S: see _machine_argv()).
    argv: list[str] = current["argv"]
    j = len(argv) - 1
    while j >= 0 and runs < budget:
        if argv[j] in ("-numa", "-object", "-device", "-smp") and j + 1 < len(argv):
            candidate = {**current, "argv": argv[:j] + argv[j + 2 :]}
        else:
            j -= 1
            continue
        got = await still_fails(candidate)
        if got is not None:
            current, difference, argv = candidate, got, candidate["argv"]
        j -= 1
    return current, difference


def save_failure(
    out_dir: str | os.PathLike[str],
    data: JSONDict,
    result: Comparison,
    version: str,
    *,
    name: str | None = None,
) -> Path:
    """Write NAME.json (+ NAME.expected.jsonl, NAME.memdevd.jsonl, NAME.diff.txt).

    ``NAME.expected.jsonl`` is QEMU's transcript, so that ``memdevd compare
    NAME.json`` replays memdevd against what QEMU answered (and
    ``memdevd compare --qemu QEMU`` after deleting it runs QEMU live again).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = name or str(data["name"])
    text = result.message
    target = str(data.get("target", "x86_64"))
    settings = "" if target == "x86_64" else f",target={target}"
    scenario = dict(data)
    scenario["name"] = name
    scenario["notes"] = (
        f"{data.get('notes', '')}; QEMU {version} ({qemu_path(version, target)}) vs memdevd "
        f"-memdevd version={version}{settings}. First difference:\n{text}"
    )
    path = out / f"{name}.json"
    path.write_text(json.dumps(scenario, indent=1) + "\n", encoding="utf-8")
    if result.expected is not None:
        result.expected.save(out / f"{name}.expected.jsonl")
    if result.actual is not None:
        result.actual.save(out / f"{name}.memdevd.jsonl")
    (out / f"{name}.diff.txt").write_text(text + "\n", encoding="utf-8")
    return path


@dataclass
class Outcome:
    seed: int
    version: str
    steps: int
    ok: bool
    difference: str | None = None
    known: str | None = None
    path: Path | None = None
    minimised: Path | None = None
    steps_compared: int = 0
    seconds: float = 0.0


@dataclass
class Summary:
    version: str
    outcomes: list[Outcome] = field(default_factory=list)
    target: str = "x86_64"

    @property
    def scenarios(self) -> int:
        return len(self.outcomes)

    @property
    def steps_compared(self) -> int:
        return sum(o.steps_compared for o in self.outcomes)

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    def text(self) -> str:
        known: dict[str, int] = {}
        for o in self.failures:
            if o.known is not None:
                known[o.known] = known.get(o.known, 0) + 1
        lines = [
            f"{'' if self.target == 'x86_64' else f'qemu-system-{self.target} '}"
            f"QEMU {self.version}: {self.scenarios} scenarios, "
            f"{self.steps_compared} steps compared, {len(self.failures)} divergences"
            + (f" ({sum(known.values())} of known kinds)" if known else "")
        ]
        for tag, n in sorted(known.items()):
            lines.append(f"  known {tag}: {n}")
        for o in self.failures:
            first = (o.difference or "").splitlines()[0] if o.difference else ""
            tag = f"[{o.known}] " if o.known else ""
            lines.append(f"  seed {o.seed}: {tag}{o.path}  {first}")
            if o.minimised is not None:
                lines.append(f"    minimised: {o.minimised}")
        return "\n".join(lines)


def _steps_compared(result: Comparison, data: JSONDict) -> int:
    """Steps whose answers were compared (all of them, or those before the difference)."""
    if result.error is not None:
        return 0
    if result.difference is None:
        if result.expected is not None and not result.expected.started:
            return 0
        return len(data["steps"])
    idx = differing_step(result.difference)
    return idx if idx is not None else 0


async def run_seed(
    seed: int,
    version: str,
    out_dir: str | os.PathLike[str],
    *,
    steps: int = DEFAULT_STEPS,
    do_minimise: bool = False,
    avoid: frozenset[str] = frozenset(),
    on_done: Callable[[Outcome], None] | None = None,
    target: str = "x86_64",
) -> Outcome:
    began = time.monotonic()
    try:
        data = generate(seed, steps=steps, version=version, avoid=avoid, target=target)
    except Exception as exc:  # a generator bug must not stop the other seeds
        outcome = Outcome(seed, version, 0, False, difference=f"generator failed: {exc!r}")
        if on_done is not None:
            on_done(outcome)
        return outcome
    result = await compare(data, version)
    outcome = Outcome(seed, version, len(data["steps"]), result.ok)
    outcome.steps_compared = _steps_compared(result, data)
    if not result.ok:
        outcome.difference = result.message
        if result.difference is not None:
            outcome.known = classify(data, result.difference)
        # Re-run only the prefix up to the differing step, without stopping
        # early, so the saved transcripts are complete and replayable.
        cut = truncate(data, result.difference)
        full = await compare(cut, version, early_stop=False)
        keep = full if not full.ok else result
        outcome.path = save_failure(out_dir, cut, keep, version)
        if do_minimise and result.difference is not None:
            small, _ = await minimise(data, version, result.difference)
            if len(small["steps"]) < len(cut["steps"]) or small["argv"] != cut["argv"]:
                final = await compare(small, version, early_stop=False)
                if not final.ok:
                    outcome.minimised = save_failure(
                        out_dir, small, final, version, name=f"{data['name']}_min"
                    )
    outcome.seconds = time.monotonic() - began
    if on_done is not None:
        on_done(outcome)
    return outcome


async def run_seeds(
    seeds: Sequence[int],
    version: str,
    out_dir: str | os.PathLike[str],
    *,
    steps: int = DEFAULT_STEPS,
    jobs: int = 4,
    do_minimise: bool = False,
    avoid: frozenset[str] = frozenset(),
    on_done: Callable[[Outcome], None] | None = None,
    target: str = "x86_64",
) -> Summary:
    """Compare every seed's scenario, ``jobs`` at a time; save the differences."""
    thunks = [
        lambda s=s: run_seed(
            s,
            version,
            out_dir,
            steps=steps,
            do_minimise=do_minimise,
            avoid=avoid,
            on_done=on_done,
            target=target,
        )
        for s in seeds
    ]
    outcomes = await run_many(thunks, limit=jobs)
    return Summary(version, list(outcomes), target=target)


def run_seeds_sync(
    seeds: Sequence[int], version: str, out_dir: str | os.PathLike[str], **kw: Any
) -> Summary:
    return asyncio.run(run_seeds(seeds, version, out_dir, **kw))
