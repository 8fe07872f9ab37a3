#!/usr/bin/env python3
"""The long-run fuzzer, by hand: millions of inputs, in process, no hypothesis.

    python tools/fuzz_long.py [--parser N] [--arguments N] [--sequences N] [--seed S]

Three targets, each with a plain random generator (fast enough for
millions of inputs; tests/unit/test_fuzz.py is the shrinking, bounded
version in CI):

* parser: mutated QMP requests and random bytes fed to the JSON stream
  parser in random splits; it must never raise;
* arguments: every command with random arguments; the reply must be a
  value or a QMP error of QEMU's classes, never an internal error;
* sequences: random plug/unplug/resize/run-state commands against one
  machine per sequence; after a failing command nothing visible changes,
  and the core's invariants hold after every command.

Prints the inputs run and any finding (with the seed to replay it); exit
status 1 on a finding.  docs/robustness.md records the runs.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
import time
from typing import Any

GiB = 1 << 30
MiB = 1 << 20
VALID = [
    b'{"execute": "qmp_capabilities"}',
    b'{"execute": "device_add", "arguments": {"driver": "pc-dimm", "id": "d0", "memdev": "m0"}}',
    b'{"execute": "object-add", "arguments": {"qom-type": "memory-backend-ram", "size": 4096}}',
    b"{'execute': 'query-status', 'id': [1, {\"a\": null}]}",
    b'{"exec-oob": "migrate-recover", "arguments": {"uri": "x"}, "id": 1.5e300}',
]
ALPHABET = b"{}[]\":,\\'\n \t0123456789abcdefnulltrue-+.eE\xff\x00\xc3\xa9\xed\xa0\x80u"


def mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        op = rng.random()
        pos = rng.randint(0, len(b))
        if op < 0.4 and b:
            del b[min(pos, len(b) - 1)]
        elif op < 0.8:
            b.insert(pos, rng.choice(ALPHABET))
        else:
            b[pos:pos] = rng.choice(VALID)
    return bytes(b)


def fuzz_parser(rng: random.Random, count: int) -> int:
    from memdevd.qmp.framing import JSONStreamer

    streamer = JSONStreamer()
    for n in range(count):
        if n % 1000 == 0:
            streamer = JSONStreamer()
        if rng.random() < 0.7:
            data = mutate(rng, rng.choice(VALID)) + b"\n"
        else:
            data = bytes(rng.choice(ALPHABET) for _ in range(rng.randint(1, 40)))
        split = rng.randint(1, 16)
        for i in range(0, len(data), split):
            streamer.feed(data[i : i + split])
    return count


def random_value(rng: random.Random, depth: int = 0) -> Any:
    r = rng.random()
    if r < 0.2:
        return rng.choice([0, 1, -1, 4096, GiB, 1 << 63, 1 << 64, 2**53 + 1])
    if r < 0.4:
        return rng.choice(
            ["", "m0", "d0", "pc-dimm", "/machine", "virtio-mem-pci", "x" * 300, "\u00e9"]
        )
    if r < 0.5:
        return rng.choice([True, False, None, 1.5, -0.0])
    if r < 0.7 and depth < 3:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if depth < 3:
        keys = [
            "id",
            "driver",
            "memdev",
            "size",
            "path",
            "property",
            "value",
            "qom-type",
            "name",
            "x",
        ]
        return {rng.choice(keys): random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    return None


def harness() -> Any:
    from memdevd.app import cli
    from memdevd.app.startup import build_machine
    from memdevd.commands import register_all
    from memdevd.commands.runtime import Runtime
    from memdevd.machine.clock import VirtualClock
    from memdevd.qmp.registry import Registry
    from memdevd.releases.table import get_release

    argv = [
        "-machine",
        "q35,nvdimm=on",
        "-m",
        "1G,slots=4,maxmem=16G",
        "-memdevd",
        "guest=cooperative",
        "-device",
        "pcie-root-port,id=rp0,chassis=1",
    ]
    parsed = cli.parse(argv, "memdevd")
    clock = VirtualClock()
    release = get_release(parsed.settings.version)
    machine, _ = build_machine(parsed.request, release, parsed.settings, clock=clock)
    rt = Runtime(machine, release)
    reg = Registry()
    register_all(reg, rt)
    return machine, rt, reg


def run(reg: Any, name: str, args: Any) -> dict[str, Any]:
    import inspect

    from memdevd.qmp.errors import QMPError

    try:
        ret = reg.get(name).handler(None, args)
        if inspect.isawaitable(ret):
            import asyncio

            ret = asyncio.new_event_loop().run_until_complete(ret)
    except QMPError as err:
        return err.to_wire()
    return {"return": ret}


CLASSES = {"GenericError", "CommandNotFound", "DeviceNotActive", "DeviceNotFound", "KVMMissingCap"}


def fuzz_arguments(rng: random.Random, count: int) -> int:
    _, _, reg = harness()
    names = sorted(
        c.name for c in reg if c.name not in ("quit", "qmp_capabilities", "x-memdevd-reset")
    )
    for n in range(count):
        if n % 500 == 0:
            _, _, reg = harness()
        name = rng.choice(names)
        args = random_value(rng)
        if not isinstance(args, dict):
            args = {}
        reply = run(reg, name, args)
        if "error" in reply:
            err = reply["error"]
            if err["class"] not in CLASSES or "internal error" in err["desc"]:
                raise AssertionError(f"{name} {args!r}: {reply}")
    return count


def fuzz_sequences(rng: random.Random, count: int) -> int:
    from memdevd.commands.memdevd_extras import memslot_report

    commands = 0
    ids = ["a", "b", "c", "rp0", ""]
    sizes = [0, 4096, 2 * MiB, 512 * MiB, GiB, 3 * GiB, 1 << 62]
    for _ in range(count):
        machine, rt, reg = harness()
        for _ in range(rng.randint(1, 30)):
            kind = rng.random()
            if kind < 0.25:
                name, args = (
                    "object-add",
                    {
                        "qom-type": rng.choice(["memory-backend-ram", "memory-backend-memfd"]),
                        "id": rng.choice(ids),
                        "size": rng.choice(sizes),
                    },
                )
            elif kind < 0.5:
                args = {
                    "driver": rng.choice(
                        ["pc-dimm", "nvdimm", "virtio-mem-pci", "virtio-pmem-pci"]
                    ),
                    "id": rng.choice(ids),
                    "memdev": rng.choice(ids),
                }
                if rng.random() < 0.3:
                    args["bus"] = "rp0"
                if rng.random() < 0.2:
                    args["addr"] = rng.choice([4 * GiB, 5 * GiB, 6 * GiB + 4096])
                name = "device_add"
            elif kind < 0.65:
                name, args = rng.choice(["device_del", "object-del"]), {"id": rng.choice(ids)}
            elif kind < 0.8:
                name, args = (
                    "qom-set",
                    {
                        "path": f"/machine/peripheral/{rng.choice(ids)}",
                        "property": "requested-size",
                        "value": rng.choice(sizes),
                    },
                )
            elif kind < 0.9:
                name, args = rng.choice(["cont", "stop", "system_reset"]), {}
            else:
                name, args = "x-memdevd-advance-clock", {"seconds": rng.choice([0, 0.5, 3])}
            before = (
                machine.memory.device_list(),
                machine.memdev_list(),
                machine.memory_size_summary(),
                memslot_report(rt),
                machine.runstate,
            )
            reply = run(reg, name, args)
            commands += 1
            if "error" in reply:
                after = (
                    machine.memory.device_list(),
                    machine.memdev_list(),
                    machine.memory_size_summary(),
                    memslot_report(rt),
                    machine.runstate,
                )
                if after != before:
                    raise AssertionError(f"{name} {args!r} failed ({reply}) but changed state")
            check_invariants(machine)
    return commands


def check_invariants(machine: Any) -> None:
    dm = machine.device_memory
    ranges, slots, plugged = [], [], 0
    for info in machine.memory.device_list():
        d = info["data"]
        if info["type"] in ("dimm", "nvdimm"):
            slots.append(d["slot"])
        addr, size = d.get("addr", d.get("memaddr")), d.get("max-size", d.get("size"))
        plugged += d["size"]
        assert dm.base <= addr and addr + size <= dm.end, info
        ranges.append((addr, addr + size))
    ranges.sort()
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(ranges)), ranges
    assert len(slots) == len(set(slots)), slots
    assert machine.memory_size_summary().get("plugged-memory", 0) == plugged


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parser", type=int, default=10_000_000)
    parser.add_argument("--arguments", type=int, default=1_000_000)
    parser.add_argument("--sequences", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 32)
    total = 0
    for name, fn, count in (
        ("parser", fuzz_parser, args.parser),
        ("arguments", fuzz_arguments, args.arguments),
        ("sequences", fuzz_sequences, args.sequences),
    ):
        rng = random.Random(seed)
        started = time.monotonic()
        try:
            ran = fn(rng, count)
        except AssertionError as exc:
            print(f"FINDING in {name} (seed {seed}): {exc}", flush=True)
            return 1
        total += ran
        print(
            f"{name}: {ran:,} inputs in {time.monotonic() - started:.0f} s, no finding", flush=True
        )
    print(f"total {total:,} inputs (seed {seed})")
    json.dumps(total)
    return 0


if __name__ == "__main__":
    sys.exit(main())
