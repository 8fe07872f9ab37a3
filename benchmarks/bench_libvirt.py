#!/usr/bin/env python3
"""libvirt 9.0 with memdevd against libvirt 9.0 with real QEMU 7.2, in one run.

    python benchmarks/bench_libvirt.py            # 5 rounds each (about a minute)
    python benchmarks/bench_libvirt.py --rounds 2 --json out.json

Runs a private libvirtd (tests/libvirt/libvirt_harness.py: as root, in a
mount namespace of its own, nothing left behind) and, for each emulator,
times what a tool on top of libvirt waits for: ``virsh define`` the first
time (it includes libvirt's capability probe of the emulator), then per
round ``virsh start --paused``, ``virsh attach-device --live`` of a 512 MiB
DIMM and ``virsh destroy``; then the same for a whole VM as virt-install
writes it (tests/libvirt/vm/virt-install.xml: disks, NIC, console, VNC,
USB, RNG, balloon): ``virsh start --paused`` and destroy.  Prints medians
and memdevd/QEMU ratios.  Each
figure includes the ~20 ms a virsh process takes to start, and destroy is
dominated by libvirt polling the process: compare start and hot-plug.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "libvirt"), str(ROOT / "tests")]

from libvirt_harness import LibvirtHarness, unavailable_reason  # noqa: E402
from live_qemu import qemu_binary  # noqa: E402

STEPS = ("start_s", "dimm_plug_s", "destroy_s")


def measure(lv: LibvirtHarness, emulator: str, rounds: int) -> dict[str, Any]:
    first = lv.time_domain_start_and_dimm_plug(emulator, name="bench")
    runs = [first] + [
        lv.time_domain_start_and_dimm_plug(emulator, name="bench") for _ in range(rounds - 1)
    ]
    out: dict[str, Any] = {"define-with-probe_s": first["define_s"]}
    for step in STEPS:
        out[step] = statistics.median(r[step] for r in runs)
    vm_runs = [lv.time_whole_vm_start(emulator) for _ in range(rounds)]
    out["vm_start_s"] = statistics.median(r["start_s"] for r in vm_runs)
    out["vm_destroy_s"] = statistics.median(r["destroy_s"] for r in vm_runs)
    return out


def report(res: dict[str, dict[str, Any]]) -> str:
    memdevd, qemu = res["memdevd"], res["qemu"]
    lines = [
        "| step (libvirt 9.0, virsh) | memdevd | QEMU 7.2 | memdevd/QEMU |",
        "|---|---|---|---|",
    ]
    for key, label in (
        ("define-with-probe_s", "first define (capability probe)"),
        ("start_s", "start --paused (median)"),
        ("dimm_plug_s", "attach-device DIMM --live (median)"),
        ("destroy_s", "destroy (median)"),
        ("vm_start_s", "whole VM (virt-install domain): start --paused (median)"),
        ("vm_destroy_s", "whole VM: destroy (median)"),
    ):
        m, q = memdevd[key], qemu[key]
        lines.append(f"| {label} | {m * 1000:.0f} ms | {q * 1000:.0f} ms | {m / q:.2f}x |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="domain starts per emulator")
    parser.add_argument("--json", help="also write the raw numbers here")
    args = parser.parse_args(argv)
    reason = unavailable_reason()
    if reason is not None:
        print(f"bench_libvirt: {reason}", file=sys.stderr)
        return 1
    qemu = qemu_binary("7.2")
    if qemu is None:
        print("bench_libvirt: QEMU 7.2 not installed", file=sys.stderr)
        return 1
    memdevd = str(Path(sys.executable).parent / "memdevd-qemu-system-x86_64")
    res: dict[str, dict[str, Any]] = {}
    # One libvirtd per emulator: each starts from an empty capability cache.
    for name, emulator in (("qemu", qemu), ("memdevd", memdevd)):
        with LibvirtHarness() as lv:
            res[name] = measure(lv, emulator, max(1, args.rounds))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    sys.stdout.write(report(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
