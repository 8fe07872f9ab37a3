#!/usr/bin/env python3
"""Differential random test, the long run: memdevd against real QEMU.

Generates COUNT scenarios (tests/differential/diffgen.py: random machine
configurations and QMP command sequences, deterministic from the seed), runs
each against real QEMU and ``memdevd -memdevd version=V`` side by side, and
saves every difference as a replayable case under --out::

    python tools/differential.py --version 7.2 --count 1000 [--seed N] [-j 4] [--out DIR]
    python tools/differential.py --target aarch64 --count 1000 [--version 11.1] ...

``--target aarch64`` generates qemu-system-aarch64 ``virt`` scenarios (machine
versions, highmem*/gic-version/acpi properties, CPU models and their address
ranges, firmware for the acpi-ged, PCIe root ports with virtio-mem-pci and
virtio-pmem-pci, DIMMs, NUMA) and compares QEMU 7.2, 10.0 and 11.1.

Scenario i uses the seed derived from (--seed, i), so a run is reproducible
and ``--only SEED`` replays one scenario.  Each saved case is NAME.json (the
scenario cut after the first differing step; its notes hold the difference),
NAME.expected.jsonl (QEMU's transcript: ``memdevd compare NAME.json``
replays memdevd against it), NAME.memdevd.jsonl and NAME.diff.txt; with
--minimise also NAME_min.* (steps and command-line parts dropped while the
same step still differs).

Binaries: $MEMDEVD_QEMU_7_2 or /usr/bin/qemu-system-x86_64, $MEMDEVD_QEMU_10_0
or /opt/qemu-10.0/bin/qemu-system-x86_64; for aarch64 $MEMDEVD_QEMU_AARCH64_7_2
or /usr/bin/qemu-system-aarch64, $MEMDEVD_QEMU_AARCH64_10_0 or
/opt/qemu-10.0/bin/qemu-system-aarch64, $MEMDEVD_QEMU_AARCH64_11_1 or
/opt/qemu-11.1/bin/qemu-system-aarch64.  Exit status: 0 if no divergence,
1 if any, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "differential"))

import diffgen  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="differential.py",
        description="Random differential test of memdevd against real QEMU.",
        epilog="Known divergence tags for --avoid: "
        + "; ".join(f"{k}: {v}" for k, v in diffgen.KNOWN_DIVERGENCES.items()),
    )
    p.add_argument(
        "--target",
        choices=diffgen.TARGETS,
        default="x86_64",
        help="the QEMU system emulator: x86_64 (pc/q35, default) or aarch64 (virt)",
    )
    p.add_argument(
        "--version",
        action="append",
        choices=sorted({v for t in diffgen.TARGETS for v in diffgen.versions_of(t)}),
        help="QEMU release to compare with (repeatable; default: every one installed)",
    )
    p.add_argument("--count", type=int, default=100, help="scenarios per version (100)")
    p.add_argument("--seed", default="0", help="base seed (any string; default 0)")
    p.add_argument("--only", type=int, action="append", help="run just this seed (repeatable)")
    p.add_argument("--steps", type=int, default=diffgen.DEFAULT_STEPS, help="steps per scenario")
    p.add_argument("-j", "--jobs", type=int, default=4, help="scenarios at once (4)")
    p.add_argument(
        "--out",
        default=str(ROOT / "tests" / "differential" / "failures"),
        help="where differences are saved (tests/differential/failures)",
    )
    p.add_argument(
        "--avoid",
        action="append",
        default=[],
        metavar="TAG",
        choices=sorted(diffgen.KNOWN_DIVERGENCES),
        help="leave out the inputs of a known divergence (repeatable, or 'all' via --avoid-all)",
    )
    p.add_argument("--avoid-all", action="store_true", help="leave out every known divergence")
    p.add_argument("--minimise", action="store_true", help="also save a minimised scenario")
    p.add_argument("--print", action="store_true", help="print the scenarios, run nothing")
    p.add_argument("-q", "--quiet", action="store_true", help="only the summary")
    args = p.parse_args(argv)
    if args.count < 0 or args.jobs < 1 or args.steps < 0:
        p.error("--count and --steps must be >= 0, --jobs >= 1")
    for v in args.version or ():
        if v not in diffgen.versions_of(args.target):
            p.error(f"--version {v}: not compared for --target {args.target}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    avoid = frozenset(diffgen.KNOWN_DIVERGENCES if args.avoid_all else args.avoid)
    target = args.target
    versions = args.version or [
        v for v in diffgen.versions_of(target) if diffgen.qemu_available(v, target)
    ]
    seeds = args.only or [diffgen.derived_seed(args.seed, i) for i in range(args.count)]
    if args.print:
        for v in versions:
            for s in seeds:
                data = diffgen.generate(s, steps=args.steps, version=v, avoid=avoid, target=target)
                print(json.dumps(data, indent=1))
        return 0
    if not versions:
        print("differential.py: no QEMU binary found", file=sys.stderr)
        return 2
    summaries: list[diffgen.Summary] = []
    began = time.monotonic()
    for v in versions:
        if not diffgen.qemu_available(v, target):
            where = diffgen.qemu_path(v, target)
            print(f"QEMU {v}: not found at {where}, skipped", file=sys.stderr)
            continue
        done = 0

        def report(o: diffgen.Outcome, v: str = v) -> None:
            nonlocal done
            done += 1
            if args.quiet:
                return
            if o.ok:
                print(f"[{v} {done}/{len(seeds)}] seed {o.seed}: ok ({o.seconds:.1f}s)", flush=True)
            else:
                print(f"[{v} {done}/{len(seeds)}] seed {o.seed}: DIFFERS -> {o.path}", flush=True)
                print("  " + (o.difference or "").replace("\n", "\n  "), flush=True)
                if o.minimised is not None:
                    print(f"  minimised: {o.minimised}", flush=True)

        summary = asyncio.run(
            diffgen.run_seeds(
                seeds,
                v,
                args.out,
                steps=args.steps,
                jobs=args.jobs,
                do_minimise=args.minimise,
                avoid=avoid,
                on_done=report,
                target=target,
            )
        )
        summaries.append(summary)
    print()
    for s in summaries:
        print(s.text())
    print(f"{time.monotonic() - began:.0f}s")
    return 1 if any(s.failures for s in summaries) else 0


if __name__ == "__main__":
    sys.exit(main())
