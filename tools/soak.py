#!/usr/bin/env python3
"""Soak: a million commands against one memdevd, memory sampled as it goes.

    python tools/soak.py [--commands 1000000] [--batch 500]

Starts memdevd (q35, 16 slots, cooperative guest), then loops a realistic
mix: plug a backend and a DIMM, query devices, memdev and sizes, qom-get,
a failing device_add, unplug, delete the backend, HMP ``info memory-devices``
and resize a virtio-mem device, pipelined in batches.  Prints RSS every
10% and the growth between the first and last sample: flat memory means
nothing accumulates per command (docs/robustness.md has the figures).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

from memdevd.testing import rss_kib

GiB = 1 << 30


def cycle(i: int) -> list[bytes]:
    """One round of the mix (11 commands)."""
    cmds = [
        ("object-add", {"qom-type": "memory-backend-ram", "id": f"m{i}", "size": GiB}),
        ("device_add", {"driver": "pc-dimm", "id": f"d{i}", "memdev": f"m{i}"}),
        ("query-memory-devices", None),
        ("query-memdev", None),
        ("query-memory-size-summary", None),
        ("qom-get", {"path": f"/machine/peripheral/d{i}", "property": "addr"}),
        ("device_add", {"driver": "pc-dimm", "id": f"d{i}", "memdev": "nope"}),
        ("human-monitor-command", {"command-line": "info memory-devices"}),
        ("qom-set", {"path": "vmem0", "property": "requested-size", "value": (i % 4) * GiB}),
        ("device_del", {"id": f"d{i}"}),
        ("x-memdevd-advance-clock", {"seconds": 1}),
    ]
    out = []
    for name, args in cmds:
        req: dict[str, object] = {"execute": name}
        if args is not None:
            req["arguments"] = args
        out.append(json.dumps(req).encode() + b"\n")
    # The DIMM is gone after the clock advance: now its backend can go.
    out.append(json.dumps({"execute": "object-del", "arguments": {"id": f"m{i}"}}).encode() + b"\n")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commands", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=40, help="cycles per pipelined batch")
    args = parser.parse_args()
    # Not memdevd.testing.MemdevdProcess: it keeps a negotiated connection
    # of its own that nobody reads here, so every event of the mix would
    # pile up unsent in the daemon and show as RSS growth (about 11 MiB per
    # 100,000 commands).  The soak's connection must be the only client.
    tmp = tempfile.mkdtemp(prefix="memdevd-soak-")
    path = os.path.join(tmp, "qmp.sock")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "memdevd",
            "-machine",
            "q35",
            # (no VNC server on the host's port 5900, which tests and other
            # programs may hold)
            "-display",
            "none",
            "-m",
            "1G,slots=16,maxmem=64G",
            "-memdevd",
            "guest=cooperative,clock=virtual",
            "-object",
            "memory-backend-ram,id=vm,size=8G",
            "-device",
            "pcie-root-port,id=rp0,chassis=1",
            "-device",
            "virtio-mem-pci,id=vmem0,memdev=vm,bus=rp0",
            "-qmp",
            f"unix:{path},server=on,wait=off",
        ],
        stdin=subprocess.DEVNULL,
    )
    try:
        return _soak(args, proc, path)
    finally:
        # (a soak that fails must not leave memdevd holding its caller's pipes)
        proc.terminate()
        proc.wait()


def _soak(args: argparse.Namespace, proc: subprocess.Popen[bytes], path: str) -> int:
    s = socket.socket(socket.AF_UNIX)
    deadline = time.monotonic() + 60
    while True:
        # The socket's file appears before it listens (bind, then listen).
        try:
            s.connect(path)
            break
        except (FileNotFoundError, ConnectionRefusedError):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b'{"execute": "qmp_capabilities"}\n')
    f.readline()
    sent = errors = 0
    samples: list[tuple[int, int]] = []
    next_sample = 0
    started = time.monotonic()
    i = 0
    while sent < args.commands:
        batch = []
        for _ in range(args.batch):
            batch.extend(cycle(i))
            i += 1
        s.sendall(b"".join(batch))
        got = 0
        while got < len(batch):
            msg = json.loads(f.readline())
            if "event" in msg:
                continue
            got += 1
            errors += "error" in msg
        sent += len(batch)
        if sent >= next_sample:
            samples.append((sent, rss_kib(proc.pid)))
            print(f"{sent:>9} commands  RSS {samples[-1][1] / 1024:.1f} MiB", flush=True)
            next_sample += args.commands // 10
    elapsed = time.monotonic() - started
    samples.append((sent, rss_kib(proc.pid)))
    s.close()
    growth = samples[-1][1] - samples[1][1] if len(samples) > 1 else 0
    print(
        f"{sent} commands in {elapsed:.1f} s ({sent / elapsed:,.0f}/s), {errors} error replies"
        f" (1 expected per cycle); RSS {samples[0][1] / 1024:.1f}"
        f" -> {samples[-1][1] / 1024:.1f} MiB,"
        f" growth after warm-up {growth} KiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
