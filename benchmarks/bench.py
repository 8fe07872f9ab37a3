#!/usr/bin/env python3
"""memdevd against real QEMU 7.2 (and a bare asyncio server), in one run.

    python benchmarks/bench.py                 # the full run (a few minutes)
    python benchmarks/bench.py --quick         # small sizes, seconds (what CI runs)
    python benchmarks/bench.py --json out.json # also keep the numbers

Starts QEMU, memdevd and the floor (benchmarks/floor_server.py) with the
same argv and measures, as ratios memdevd/QEMU (and memdevd/floor where the
floor can do the same thing): start-to-greeting time, RSS after start and
after plugging DIMMs, query-version round trips (p50/p99), pipelined
throughput, object-add+device_add pairs at the 1st, 16th, 64th and 250th
DIMM, query-memory-devices latency and reply size at 0/16/64/250 DIMMs,
qom-set requested-size on virtio-mem, 16 clients at once; then the cost
curves up to 256 DIMMs, what a test fixture's VM costs (QEMU, a memdevd
process, a fleet VM) and fleet mode (VMs in one process: RSS, time to add
a VM, a VM's query latency as the fleet grows).  Prints a markdown
report with the targets of issue 7 marked as held or not.  Nothing here is
a test: numbers vary from machine to machine; compare ratios from one run.

Start-up is the median of several starts of each program (7; 2 with
``--quick``), the first reply's time the median of all but the last
start, whose RSS is read half a second after it greets (QEMU's keeps
growing for a while) and again after the first reply.

Sequential latencies (round trips, plug pairs, queries, qom-set) are
measured with the benchmark and the server pinned to one CPU: on a VM, where
the scheduler puts the two decides a round trip more than either program
does (the same floor server measured 18 us or 75 us from run to run), and
one CPU makes every program pay the same context switches.  The round trip
is also measured with client and server on two different CPUs, for
reference.  Start-up, throughput and fleet measures run unpinned.
``--no-pin`` measures everything unpinned.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memdevd.testing import MemdevdFleet, MemdevdProcess, rss_kib

ROOT = Path(__file__).resolve().parents[1]
QEMU = os.environ.get("MEMDEVD_QEMU_7_2", "/usr/bin/qemu-system-x86_64")
GiB = 1 << 30
MiB = 1 << 20
COMMON = ["-S", "-nodefaults", "-display", "none"]
DIMM_ARGV = [*COMMON, "-machine", "pc", "-m", "1G,slots=256,maxmem=40G"]
VMEM_ARGV = [
    *COMMON,
    "-machine",
    "q35",
    "-m",
    "1G,slots=2,maxmem=9G",
    "-object",
    "memory-backend-ram,id=vm,size=8G",
    "-device",
    "pcie-root-port,id=rp0,chassis=1",
    "-device",
    "virtio-mem-pci,id=vmem0,memdev=vm,bus=rp0",
]


# --- processes and a minimal QMP client ---------------------------------------------


def memdevd_cmd() -> list[str]:
    return [sys.executable, "-m", "memdevd", "-memdevd", "version=7.2"]


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    sockets: list[str]
    greet_s: float = 0.0
    ready_s: float = 0.0

    def rss(self) -> int:
        return rss_kib(self.popen.pid)

    def stop(self) -> None:
        self.popen.kill()
        self.popen.wait()


class Client:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.last_size = 0

    @classmethod
    async def connect(cls, path: str, negotiate: bool = True) -> Client:
        reader, writer = await asyncio.open_unix_connection(path, limit=1 << 26)
        client = cls(reader, writer)
        await reader.readline()  # greeting
        if negotiate:
            await client.cmd("qmp_capabilities")
        return client

    async def cmd(self, name: str, args: dict[str, Any] | None = None) -> Any:
        req: dict[str, Any] = {"execute": name}
        if args is not None:
            req["arguments"] = args
        self.writer.write(json.dumps(req).encode() + b"\n")
        while True:
            line = await self.reader.readline()
            if not line:
                raise ConnectionError("closed")
            msg = json.loads(line)
            if "event" in msg:
                continue
            self.last_size = len(line)
            if "error" in msg:
                raise RuntimeError(f"{name}: {msg['error']}")
            return msg.get("return")

    async def pipelined(self, count: int) -> float:
        """Seconds to send ``count`` query-version at once and read every reply."""
        payload = b'{"execute": "query-version"}\n' * count
        started = time.perf_counter()
        self.writer.write(payload)
        got = 0
        while got < count:
            line = await self.reader.readline()
            if not line:
                raise ConnectionError("closed")
            if b'"return"' in line:
                got += 1
        return time.perf_counter() - started

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()


async def start(
    name: str, argv: list[str], tmp: str, sockets: int = 1, negotiate: bool = True
) -> Proc:
    paths = [os.path.join(tmp, f"{name}-{i}.sock") for i in range(sockets)]
    if name == "floor":
        cmd = [sys.executable, str(ROOT / "benchmarks" / "floor_server.py"), *paths]
    else:
        qmp = []
        only = paths if name == "qemu" else paths[:1]
        for p in only:
            qmp += ["-qmp", f"unix:{p},server=on,wait=off"]
        base = [QEMU] if name == "qemu" else memdevd_cmd()
        cmd = [*base, *argv, *qmp]
    started = time.perf_counter()
    popen = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    proc = Proc(name, popen, paths if name != "memdevd" else paths[:1])
    while True:
        if popen.poll() is not None:
            raise RuntimeError(f"{name} exited with {popen.returncode}: {shlex.join(cmd)}")
        try:
            reader, writer = await asyncio.open_unix_connection(paths[0])
            greeting = await reader.readline()
            proc.greet_s = time.perf_counter() - started
            if not greeting.startswith(b'{"QMP"'):
                raise RuntimeError(f"{name} did not greet: {greeting!r}")
            if negotiate:
                # Ready for work: the first command answered (memdevd loads
                # its command table then).
                writer.write(b'{"execute": "qmp_capabilities"}\n')
                reply = await reader.readline()
                proc.ready_s = time.perf_counter() - started
                if not reply.startswith(b'{"return"'):
                    raise RuntimeError(f"{name}: qmp_capabilities: {reply!r}")
            writer.close()
            break
        except (FileNotFoundError, ConnectionRefusedError):
            await asyncio.sleep(0.0005)
    return proc


class Placement:
    """Which CPUs the benchmark and the servers run on during a measure."""

    def __init__(self, pin: bool) -> None:
        self.everywhere = os.sched_getaffinity(0)
        cpus = sorted(self.everywhere)
        self.pin = pin
        self.one = {cpus[-1]}
        self.another = {cpus[0]} if len(cpus) > 1 else None

    @staticmethod
    def _set(pid: int, cpus: set[int]) -> None:
        # Every thread: QEMU's monitor runs in its main loop thread, but
        # threads created later inherit the creator's set.
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            for tid in os.listdir(f"/proc/{pid}/task"):
                with contextlib.suppress(ProcessLookupError):
                    os.sched_setaffinity(int(tid), cpus)

    @contextlib.contextmanager
    def on(self, procs: Sequence[Proc], client: set[int], server: set[int]) -> Any:
        if not self.pin:
            yield
            return
        try:
            os.sched_setaffinity(0, client)
            for p in procs:
                self._set(p.popen.pid, server)
            yield
        finally:
            os.sched_setaffinity(0, self.everywhere)
            for p in procs:
                self._set(p.popen.pid, self.everywhere)

    def same_cpu(self, *procs: Proc) -> Any:
        return self.on(procs, self.one, self.one)

    def two_cpus(self, *procs: Proc) -> Any:
        return self.on(procs, self.one, self.another or self.one)


# --- measurements -----------------------------------------------------------------------


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def round_trips(client: Client, n: int) -> tuple[float, float]:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        await client.cmd("query-version")
        times.append(time.perf_counter() - t)
    return pct(times, 0.5), pct(times, 0.99)


async def clients_throughput(proc: Proc, clients: int, per_client: int) -> float:
    socks = [proc.sockets[i % len(proc.sockets)] for i in range(clients)]
    conns = [await Client.connect(s) for s in socks]
    started = time.perf_counter()

    async def work(c: Client) -> None:
        for _ in range(per_client):
            await c.cmd("query-version")

    await asyncio.gather(*(work(c) for c in conns))
    elapsed = time.perf_counter() - started
    for c in conns:
        await c.close()
    return clients * per_client / elapsed


async def median_latency(client: Client, name: str, args: dict[str, Any] | None, n: int) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        await client.cmd(name, args)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


async def plug_workload(
    client: Client, total: int, marks: Sequence[int], every: int, pid: int
) -> dict[str, Any]:
    """Plug ``total`` DIMM pairs; pair times near the marks, query cost at marks.

    RSS is sampled after the first pair (code loaded on first use, the
    query reply buffers warm) and after the last, so the growth between
    them is what the DIMMs themselves cost.
    """
    rss_first = 0
    pair: dict[int, float] = {}
    query: dict[int, tuple[float, int]] = {}
    curve: list[tuple[int, float, float]] = []
    query[0] = (await median_latency(client, "query-memory-devices", None, 20), client.last_size)
    for k in range(1, total + 1):
        t = time.perf_counter()
        await client.cmd(
            "object-add", {"qom-type": "memory-backend-ram", "id": f"m{k}", "size": 128 * MiB}
        )
        await client.cmd("device_add", {"driver": "pc-dimm", "id": f"d{k}", "memdev": f"m{k}"})
        pair[k] = time.perf_counter() - t
        if k == 1:
            await median_latency(client, "query-memory-devices", None, 3)
            rss_first = rss_kib(pid)
        if k in marks:
            q = await median_latency(client, "query-memory-devices", None, 20)
            query[k] = (q, client.last_size)
        if k % every == 0:
            q = await median_latency(client, "query-memory-devices", None, 5)
            window = [pair[i] for i in range(max(1, k - 3), k + 1)]
            curve.append((k, statistics.mean(window), q))
    pairs = {
        m: statistics.mean(pair[i] for i in range(max(1, m - 2), m + 1))
        for m in marks
        if m <= total
    }
    return {"pair": pairs, "query": query, "curve": curve, "rss-first-kib": rss_first}


# --- a test's VM through memdevd.testing ------------------------------------------


def fixture_cycles(n: int) -> dict[str, float]:
    """Median seconds for what a test fixture does: start a VM, one query,
    stop it; for real QEMU, a memdevd process and a VM of a running fleet
    (``--memdevd-fleet``), all through memdevd.testing.MemdevdProcess."""
    argv = DIMM_ARGV

    def cycle(**kwargs: Any) -> float:
        t = time.perf_counter()
        with MemdevdProcess(*argv, **kwargs) as vm:
            vm.cmd("query-memory-devices")
        return time.perf_counter() - t

    out = {
        "qemu": statistics.median(cycle(executable=[QEMU]) for _ in range(n)),
        "memdevd": statistics.median(cycle() for _ in range(n)),
    }
    with MemdevdFleet() as fleet:
        cycle(fleet=fleet)  # the fleet's first VM loads the command table
        out["fleet"] = statistics.median(cycle(fleet=fleet) for _ in range(n))
    return out


# --- fleet ---------------------------------------------------------------------------


async def fleet_run(
    sizes: Sequence[int], dimms: int, tmp: str, idle_vms: int = 100
) -> dict[str, Any]:
    directory = os.path.join(tmp, "fleet")
    os.makedirs(directory)
    template = "-S -nodefaults -machine pc -m 1G,slots=32,maxmem=64G"
    cmd = [sys.executable, "-m", "memdevd", "fleet", "--dir", directory]
    popen = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    control_path = os.path.join(directory, "fleet.sock")
    while True:
        try:
            control = await Client.connect(control_path)
            break
        except (FileNotFoundError, ConnectionRefusedError):
            # The file exists from bind(), connections succeed from listen().
            await asyncio.sleep(0.01)
    idle_rss = rss_kib(popen.pid)
    out: dict[str, Any] = {"sizes": [], "idle-rss-kib": idle_rss}
    count = 0
    add_times: list[float] = []
    try:
        for size in sizes:
            while count < size:
                t = time.perf_counter()
                await control.cmd(
                    "x-memdevd-fleet-add", {"name": f"vm{count}", "argv": shlex.split(template)}
                )
                add_times.append(time.perf_counter() - t)
                vm = await Client.connect(os.path.join(directory, f"vm{count}.sock"))
                for k in range(dimms):
                    await vm.cmd(
                        "object-add",
                        {"qom-type": "memory-backend-ram", "id": f"m{k}", "size": 128 * MiB},
                    )
                    await vm.cmd(
                        "device_add", {"driver": "pc-dimm", "id": f"d{k}", "memdev": f"m{k}"}
                    )
                await vm.close()
                count += 1
            probe = await Client.connect(os.path.join(directory, "vm0.sock"))
            q = await median_latency(probe, "query-memory-devices", None, 20)
            await probe.close()
            out["sizes"].append({"vms": size, "rss-kib": rss_kib(popen.pid), "query-s": q})
        out["add-p50-s"] = statistics.median(add_times)
        # What one more VM without DIMMs costs, once the fleet is warm.
        before = rss_kib(popen.pid)
        for i in range(idle_vms):
            await control.cmd(
                "x-memdevd-fleet-add", {"name": f"idle{i}", "argv": shlex.split(template)}
            )
        out["idle-vm-kib"] = (rss_kib(popen.pid) - before) / idle_vms
    finally:
        with contextlib.suppress(ConnectionError, RuntimeError):
            await control.cmd("quit")
        popen.wait(30)
    return out


# --- the report ----------------------------------------------------------------------


@dataclass
class Row:
    what: str
    memdevd: float | None
    qemu: float | None
    floor: float | None = None
    unit: str = ""
    target: str = ""
    held: bool | None = None
    notes: list[str] = field(default_factory=list)


def fmt(v: float | None, unit: str) -> str:
    if v is None:
        return "-"
    if unit == "s":
        return f"{v * 1e6:.0f} us" if v < 0.01 else f"{v * 1e3:.1f} ms"
    if unit == "KiB":
        return f"{v / 1024:.1f} MiB" if v > 4096 else f"{v:.0f} KiB"
    if unit == "/s":
        return f"{v:,.0f}/s"
    if unit == "B":
        return f"{v / 1024:.1f} KB"
    return f"{v:g}"


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a is not None and b else "-"


async def run(quick: bool, pin: bool = True) -> dict[str, Any]:
    n_rt = 300 if quick else 3000
    n_pipe = 1000
    n_starts = 2 if quick else 7
    total = 20 if quick else 256
    marks = [1, 16] if quick else [1, 16, 64, 250]
    every = 10 if quick else 32
    per_client = 50 if quick else 500
    fleet_sizes = [1, 5, 20] if quick else [1, 10, 100, 1000]
    fleet_dimms = 4 if quick else 16
    tmp = tempfile.mkdtemp(prefix="memdevd-bench-")
    res: dict[str, Any] = {"quick": quick, "dimms": total}
    # As after a regular (non-editable) pip install: bytecode compiled, so
    # start-up does not measure the compiler (PYTHONDONTWRITEBYTECODE may
    # be set, and an editable install compiles nothing).
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "memdevd")],
        check=False,
        stdout=subprocess.DEVNULL,
    )
    try:
        if not shutil.which(QEMU):
            raise SystemExit(f"bench: QEMU 7.2 not found at {QEMU} (MEMDEVD_QEMU_7_2)")
        # Start-up is one sample per process: take the median of several
        # starts, the three programs in turn.
        greet: dict[str, list[float]] = {"qemu": [], "memdevd": [], "floor": []}
        ready: dict[str, list[float]] = {name: [] for name in greet}
        for _ in range(n_starts - 1):
            for name in greet:
                p = await start(name, DIMM_ARGV, tmp, sockets=16)
                greet[name].append(p.greet_s)
                ready[name].append(p.ready_s)
                p.stop()
                for path in p.sockets:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(path)
        procs = {}
        for name in greet:
            # No command yet: "RSS after start" is read once start-up has
            # settled (QEMU's RSS still grows for a while after it greets).
            procs[name] = await start(name, DIMM_ARGV, tmp, sockets=16, negotiate=False)
            greet[name].append(procs[name].greet_s)
        await asyncio.sleep(0.5)
        place = Placement(pin)
        res["pinned"] = pin
        res["starts"] = n_starts
        for name, p in procs.items():
            r: dict[str, Any] = {
                "greet-s": statistics.median(greet[name]),
                "greet-all-s": greet[name],
                "ready-s": statistics.median(ready[name]),
                "rss-start-kib": p.rss(),
            }
            c = await Client.connect(p.sockets[0])
            r["rss-ready-kib"] = p.rss()
            with place.same_cpu(p):
                r["rt-p50"], r["rt-p99"] = await round_trips(c, n_rt)
            with place.two_cpus(p):
                r["rt2-p50"], _ = await round_trips(c, n_rt)
            if place.another is None:
                r["rt2-p50"] = None  # one CPU: no second one to measure across
            r["pipelined-per-s"] = n_pipe / await c.pipelined(n_pipe)
            await c.close()
            r["clients16-per-s"] = await clients_throughput(p, 16, per_client)
            if name != "floor":
                c = await Client.connect(p.sockets[0])
                with place.same_cpu(p):
                    r["plug"] = await plug_workload(c, total, marks, every, p.popen.pid)
                await c.close()
                r["rss-plugged-kib"] = p.rss()
            res[name] = r
        for p in procs.values():
            p.stop()
        for name in ("qemu", "memdevd"):
            p = await start(name, VMEM_ARGV, tmp)
            c = await Client.connect(p.sockets[0])
            times = []
            with place.same_cpu(p):
                for i in range(50 if quick else 500):
                    size = (1 + i % 2) * GiB
                    t = time.perf_counter()
                    await c.cmd(
                        "qom-set", {"path": "vmem0", "property": "requested-size", "value": size}
                    )
                    times.append(time.perf_counter() - t)
            res[name]["qom-set-s"] = statistics.median(times)
            await c.close()
            p.stop()
        res["fixture"] = fixture_cycles(3 if quick else 10)
        res["fleet"] = await fleet_run(fleet_sizes, fleet_dimms, tmp, 10 if quick else 200)
        res["fleet"]["dimms-per-vm"] = fleet_dimms
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return res


def report(res: dict[str, Any]) -> str:
    q, m, f = res["qemu"], res["memdevd"], res["floor"]
    mp, qp = m["plug"], q["plug"]
    marks = sorted(mp["pair"])
    big = max(marks)
    dimms = res.get("dimms", big)
    rows = [
        Row(
            "start to greeting",
            m["greet-s"],
            q["greet-s"],
            f["greet-s"],
            "s",
            "<= 1.3x floor",
            m["greet-s"] <= 1.3 * f["greet-s"],
        ),
        Row(
            "start to first reply (qmp_capabilities)",
            m["ready-s"],
            q["ready-s"],
            f["ready-s"],
            "s",
        ),
        Row(
            "RSS after start",
            m["rss-start-kib"],
            q["rss-start-kib"],
            f["rss-start-kib"],
            "KiB",
            "<= 0.8x QEMU",
            m["rss-start-kib"] <= 0.8 * q["rss-start-kib"],
        ),
        Row(
            "RSS after the first reply",
            m["rss-ready-kib"],
            q["rss-ready-kib"],
            f["rss-ready-kib"],
            "KiB",
            "<= 0.8x QEMU",
            m["rss-ready-kib"] <= 0.8 * q["rss-ready-kib"],
        ),
        Row(
            "query-version p50",
            m["rt-p50"],
            q["rt-p50"],
            f["rt-p50"],
            "s",
            "<= 0.35x QEMU, <= 1.5x floor",
            m["rt-p50"] <= 0.35 * q["rt-p50"] and m["rt-p50"] <= 1.5 * f["rt-p50"],
        ),
        Row("query-version p99", m["rt-p99"], q["rt-p99"], f["rt-p99"], "s"),
        Row(
            "query-version p50, client and server on two CPUs",
            m["rt2-p50"],
            q["rt2-p50"],
            f["rt2-p50"],
            "s",
        ),
        Row(
            "pipelined throughput",
            m["pipelined-per-s"],
            q["pipelined-per-s"],
            f["pipelined-per-s"],
            "/s",
            ">= 20x QEMU",
            m["pipelined-per-s"] >= 20 * q["pipelined-per-s"],
        ),
        Row(
            "16 clients aggregate",
            m["clients16-per-s"],
            q["clients16-per-s"],
            f["clients16-per-s"],
            "/s",
            ">= 3x QEMU",
            m["clients16-per-s"] >= 3 * q["clients16-per-s"],
        ),
    ]
    for k in marks:
        rows.append(
            Row(
                f"object-add+device_add pair #{k}",
                mp["pair"][k],
                qp["pair"][k],
                None,
                "s",
                "<= 0.2x QEMU",
                mp["pair"][k] <= 0.2 * qp["pair"][k],
            )
        )
    if 16 in mp["pair"] and big > 16:
        rows.append(
            Row(
                f"pair #{big} / pair #16",
                mp["pair"][big] / mp["pair"][16],
                qp["pair"][big] / qp["pair"][16],
                None,
                "",
                "<= 1.5",
                mp["pair"][big] / mp["pair"][16] <= 1.5,
            )
        )
    for k in sorted(mp["query"]):
        lat, size = mp["query"][k]
        qlat, qsize = qp["query"][k]
        ok = lat <= 0.25 * qlat if k == big else None
        rows.append(
            Row(
                f"query-memory-devices, {k} DIMMs",
                lat,
                qlat,
                None,
                "s",
                "<= 0.25x QEMU" if k == big else "",
                ok,
                [f"reply {size} B vs QEMU {qsize} B"],
            )
        )
    # From the first DIMM on: what each further DIMM costs.
    per_dimm_m = (m["rss-plugged-kib"] - mp["rss-first-kib"]) / (dimms - 1)
    per_dimm_q = (q["rss-plugged-kib"] - qp["rss-first-kib"]) / (dimms - 1)
    rows.append(
        Row(
            f"RSS after {dimms} DIMMs",
            m["rss-plugged-kib"],
            q["rss-plugged-kib"],
            None,
            "KiB",
            "<= 0.8x QEMU",
            m["rss-plugged-kib"] <= 0.8 * q["rss-plugged-kib"],
        )
    )
    rows.append(
        Row("RSS per DIMM", per_dimm_m, per_dimm_q, None, "KiB", "<= 8 KB", per_dimm_m <= 8)
    )
    rows.append(
        Row(
            "qom-set requested-size",
            m["qom-set-s"],
            q["qom-set-s"],
            None,
            "s",
            "<= 0.4x QEMU",
            m["qom-set-s"] <= 0.4 * q["qom-set-s"],
        )
    )
    out = [
        f"memdevd benchmark ({'quick' if res['quick'] else 'full'} run), "
        f"{time.strftime('%Y-%m-%d')}, {platform.node()},"
        f" {platform.processor() or platform.machine()},"
        f" {os.cpu_count()} CPUs, Python {platform.python_version()},"
        f" sequential latencies {'on one CPU' if res.get('pinned') else 'unpinned'},"
        f" start-up: median of {res.get('starts', 1)} starts",
        "",
        "| measure | memdevd | QEMU 7.2 | floor | memdevd/QEMU | memdevd/floor | target | held |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        held = "" if r.held is None else ("yes" if r.held else "**no**")
        note = f" ({'; '.join(r.notes)})" if r.notes else ""
        out.append(
            f"| {r.what}{note} | {fmt(r.memdevd, r.unit)} | {fmt(r.qemu, r.unit)} | "
            f"{fmt(r.floor, r.unit)} | {ratio(r.memdevd, r.qemu)} | {ratio(r.memdevd, r.floor)} | "
            f"{r.target} | {held} |"
        )
    out += ["", "Cost growth (DIMMs: pair time, query-memory-devices time):", ""]
    out.append("| DIMMs | memdevd pair | QEMU pair | memdevd query | QEMU query |")
    out.append("|---|---|---|---|---|")
    for (k, mpair, mq), (_, qpair, qq) in zip(mp["curve"], qp["curve"], strict=False):
        out.append(
            f"| {k} | {fmt(mpair, 's')} | {fmt(qpair, 's')} | {fmt(mq, 's')} | {fmt(qq, 's')} |"
        )
    fx = res["fixture"]
    out += [
        "",
        "A test's VM through memdevd.testing (start, one query-memory-devices, stop; median):",
        "",
        "| QEMU 7.2 process | memdevd process | memdevd fleet VM (--memdevd-fleet) |",
        "|---|---|---|",
        f"| {fmt(fx['qemu'], 's')} | {fmt(fx['memdevd'], 's')} | {fmt(fx['fleet'], 's')} |",
    ]
    fl = res["fleet"]
    out += [
        "",
        f"Fleet ({fl['dimms-per-vm']} DIMMs per VM; add a VM: p50 {fmt(fl['add-p50-s'], 's')}"
        f" incl. the round trip):",
        "",
    ]
    sizes = fl["sizes"]
    if len(sizes) >= 2:
        a, b = sizes[-2], sizes[-1]
        marginal = (b["rss-kib"] - a["rss-kib"]) / (b["vms"] - a["vms"])
        out += [
            f"One more VM with {fl['dimms-per-vm']} DIMMs costs {fmt(marginal, 'KiB')} "
            f"(from {a['vms']} to {b['vms']} VMs); one more idle VM, "
            f"{fmt(fl['idle-vm-kib'], 'KiB')}.",
            "",
        ]
    out.append("| VMs | RSS | RSS per VM | vm0 query-memory-devices |")
    out.append("|---|---|---|---|")
    for s in fl["sizes"]:
        per_vm = (s["rss-kib"] - fl["idle-rss-kib"]) / s["vms"]
        rss, query = fmt(s["rss-kib"], "KiB"), fmt(s["query-s"], "s")
        out.append(f"| {s['vms']} | {rss} | {fmt(per_vm, 'KiB')} | {query} |")
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    parser.add_argument("--json", help="also write the raw numbers here")
    parser.add_argument(
        "--no-pin",
        dest="pin",
        action="store_false",
        help="measure sequential latencies unpinned too (see above)",
    )
    args = parser.parse_args(argv)
    try:
        import uvloop

        res = uvloop.run(run(args.quick, args.pin))
    except ImportError:  # pragma: no cover
        res = asyncio.run(run(args.quick, args.pin))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1, default=str))
    sys.stdout.write(report(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
