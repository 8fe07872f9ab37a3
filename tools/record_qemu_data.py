#!/usr/bin/env python3
"""Record what a real QEMU answers about its memory-device subsystem.

memdevd answers QOM introspection (qom-list, qom-get, qom-set errors,
device-list-properties, qom-list-properties, qom-list-types) and a number of
capability queries from data recorded from a real QEMU.  This tool makes that
recording.  It starts ``qemu-system-x86_64`` (stopped, ``-S``, TCG, no default
devices) in a handful of *scenarios* (machine ``pc`` and ``q35``, memory
devices cold-plugged on the command line or hot-plugged over QMP), talks QMP to
it over a UNIX socket, and writes JSON files under ``--out``::

    meta.json        provenance: QEMU binary, version, file list, placeholders
    scenarios.json   per scenario: machine, argv, the QMP set-up commands and
                     their replies, what QEMU printed on stderr
    instances.json   per object of interest: qom-list verbatim, qom-get of
                     every listed property, qom-set attempts and their replies
    types.json       qom-list-types variants, device-list-properties,
                     qom-list-properties
    queries.json     capability queries with their argv, arguments and reply
    qmp-schema.json  query-qmp-schema (kept apart: it is large)
    probe.json       libvirt 9.0's capability probe, asked of a QEMU started
                     as libvirt starts it (``-machine none``), with TCG and,
                     where /dev/kvm is usable, KVM; replies equal to ones
                     recorded above are ``same-as`` references to them
    cpus.json        the vCPUs of libvirt-like domains (-cpu qemu64/max/host,
                     -smp 1/2): query-hotpluggable-cpus, query-cpus-fast,
                     the /machine/unattached numbering, each vCPU's qom-list,
                     qom-get and qom-set
    samples.json     the instances memdevd reads: one per QOM type and
                     machine family, chosen from instances.json
    index.json       what every machine reads at start-up, from queries.json,
                     types.json and cpus.json: the command names, the device
                     type names, each recorded vCPU model's qom-get values
    key-order.json   QEMU's key order where the sorted keys of the files
                     would print differently (keys sharing a QDict bucket)
    devices.json     the device catalog: every non-abstract device type
                     with its device-list-properties and qom-list-properties
                     (a shared table of property entries), whether its class
                     is hot-pluggable (device_add probes; for the types no
                     probe can ask, the source tree given with --source),
                     its ``info qdm`` fields and aliases, the ``-device
                     help`` text and samples of ``-device TYPE,help``, as
                     QEMU printed them

Output is deterministic: keys are sorted, lists keep QEMU's order, the per-run
temporary directory (QMP socket, backing files) is written as ``@TMPDIR@`` and
argv[0] as ``qemu-system-x86_64``.  Values that still change from run to run
(thread ids) are recorded and their JSON pointers, relative to the dict
holding them, listed in that dict's ``volatile`` list; ``--check`` ignores them.
The KVM parts describe the recording host (its CPU model, what its KVM
supports) and are all marked volatile.

Usage::

    tools/record_qemu_data.py --qemu /usr/bin/qemu-system-x86_64 \\
        --version-label 7.2 --out memdevd/targets/x86_64/data/qemu-7.2
    tools/record_qemu_data.py --qemu ... --version-label 7.2 \\
        --out memdevd/targets/x86_64/data/qemu-7.2 --check     # exit 1 if the data is stale
    tools/record_qemu_data.py ... --only devices.json    # that file alone, the others kept
    tools/record_qemu_data.py ... --source TREE    # hot-plug flags no probe finds, from source
    tools/record_qemu_data.py --target aarch64 --qemu /usr/bin/qemu-system-aarch64 \\
        --version-label 7.2 --out memdevd/targets/aarch64/data/qemu-7.2

``--target aarch64`` records ``qemu-system-aarch64``'s ``virt`` board instead
(see :data:`AARCH64` and memdevd/targets/aarch64/data/README.md).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

#: A decoded JSON value.  QMP replies are arbitrary JSON, so this stays ``Any``.
JSON = Any

FORMAT_VERSION = 1
TMP_PLACEHOLDER = "@TMPDIR@"
ARGV0 = "qemu-system-x86_64"
QMP_SOCKET_NAME = "qmp.sock"

#: Options every QEMU gets.  ``-rtc ...,clock=vm`` pins /machine's rtc-time:
#: the virtual clock does not advance while the VM has never run (-S), so the
#: value is the base date instead of the host's wall clock.
COMMON_ARGS: list[str] = [
    "-S",
    "-nodefaults",
    "-display",
    "none",
    "-accel",
    "tcg",
    "-rtc",
    "base=2000-01-01T00:00:00,clock=vm",
]

MEMORY_ARGS = ["-m", "1G,slots=4,maxmem=16G"]

MiB = 1024 * 1024
GiB = 1024 * MiB

#: Memory-related queries run in every scenario (label: "<command>@<scenario>").
MEMORY_QUERIES: list[tuple[str, dict[str, JSON]]] = [
    ("query-memory-devices", {}),
    ("query-memdev", {}),
    ("query-memory-size-summary", {}),
    ("query-acpi-ospm-status", {}),
    ("query-pci", {}),
    ("x-query-virtio", {}),
]

#: qom-get of /machine properties recorded as queries in every scenario.
MACHINE_PROPERTIES = ["device-memory-region-size", "nvdimm", "nvdimm-persistence"]

#: Capability queries run once, in the "default" scenario.
CAPABILITY_QUERIES: list[tuple[str, str, dict[str, JSON]]] = [
    ("query-commands", "query-commands", {}),
    ("query-machines", "query-machines", {}),
    ("query-version", "query-version", {}),
    ("query-status", "query-status", {}),
    ("query-kvm", "query-kvm", {}),
    ("query-name", "query-name", {}),
    ("query-uuid", "query-uuid", {}),
    ("query-current-machine", "query-current-machine", {}),
    ("query-cpus-fast", "query-cpus-fast", {}),
    ("query-command-line-options", "query-command-line-options", {}),
    ("query-cpu-definitions", "query-cpu-definitions", {}),
    ("query-target", "query-target", {}),
    ("query-hotpluggable-cpus", "query-hotpluggable-cpus", {}),
    ("query-balloon", "query-balloon", {}),
    ("query-iothreads", "query-iothreads", {}),
    ("query-jobs", "query-jobs", {}),
    ("query-sgx", "query-sgx", {}),
    ("query-sgx-capabilities", "query-sgx-capabilities", {}),
    ("query-events", "query-events", {}),
    ("query-migrate-capabilities", "query-migrate-capabilities", {}),
    ("query-tpm-models", "query-tpm-models", {}),
    ("query-tpm-types", "query-tpm-types", {}),
    ("query-sev-capabilities", "query-sev-capabilities", {}),
]


def _expansion_label(arguments: dict[str, JSON]) -> str:
    """``query-cpu-model-expansion:<type>:<model>[,prop=value...]``."""
    model = arguments["model"]
    props = "".join(f",{k}={json.dumps(v)}" for k, v in sorted(model.get("props", {}).items()))
    return f"query-cpu-model-expansion:{arguments['type']}:{model['name']}{props}"


#: The query-cpu-model-expansion questions libvirt 9.0 asks
#: (virQEMUCapsProbeQMPHostCPU): a static expansion, the same without
#: migratable features, and with KVM a full hv-passthrough one.  Model
#: "host" when the probe's query-kvm says enabled, "max" otherwise; both
#: models are recorded with all three questions.
CPU_MODEL_EXPANSIONS: list[dict[str, JSON]] = [
    q
    for name in ("host", "max")
    for q in (
        {"type": "static", "model": {"name": name}},
        {"type": "static", "model": {"name": name, "props": {"migratable": False}}},
        {
            "type": "full",
            "model": {"name": name, "props": {"migratable": False, "hv-passthrough": True}},
        },
    )
]

CAPABILITY_QUERIES += [
    (_expansion_label(a), "query-cpu-model-expansion", a) for a in CPU_MODEL_EXPANSIONS
]

#: queries.json label of query-command-line-options asked after qom-list-types
#: (which loads every QEMU module; modules can register options).
MODULES_LOADED_OPTIONS = "query-command-line-options@modules-loaded"

#: Per-command JSON pointers (relative to the query entry) of values that
#: change between runs or hosts.  They are recorded, and ignored by --check.
QUERY_VOLATILE: dict[str, list[str]] = {
    # host thread ids of the vCPU threads
    "query-cpus-fast": ["/reply/return/*/thread-id"],
    # whether /dev/kvm exists on the recording host
    "query-kvm": ["/reply/return/present"],
    # names the host's missing /dev/sgx_vepc (10.0) or KVM's SGX support (7.2)
    "query-sgx-capabilities": ["/reply/error/desc"],
}

QOM_LIST_TYPES_VARIANTS: dict[str, dict[str, JSON]] = {
    "all": {},
    "abstract": {"abstract": True},
    "implements=memory-device": {"implements": "memory-device"},
    "implements=memory-device,abstract": {"implements": "memory-device", "abstract": True},
    "implements=memory-backend": {"implements": "memory-backend"},
    "implements=memory-backend,abstract": {"implements": "memory-backend", "abstract": True},
    "implements=pc-dimm,abstract": {"implements": "pc-dimm", "abstract": True},
    "implements=virtio-md-pci,abstract": {"implements": "virtio-md-pci", "abstract": True},
    "implements=virtio-device,abstract": {"implements": "virtio-device", "abstract": True},
}

DEVICE_LIST_PROPERTIES_TYPES = [
    "pc-dimm",
    "nvdimm",
    "virtio-mem-pci",
    "virtio-mem",
    "virtio-pmem-pci",
    "virtio-pmem",
    "sgx-epc",
    "hv-balloon",
    "pcie-root-port",
    # abstract bases and non-devices: QEMU refuses, and the texts are data
    "virtio-mem-pci-base",
    "virtio-pmem-pci-base",
    "virtio-md-pci",
    "memory-backend-ram",
    "memory-device",
    "no-such-type",
]

#: The types libvirt 9.0's capability probe asks device-list-properties of,
#: in its order (virQEMUCapsDeviceProps); the s390 ones answer DeviceNotFound.
LIBVIRT_DEVICE_TYPES = [
    "virtio-blk-pci",
    "virtio-net-pci",
    "virtio-scsi-pci",
    "virtio-net-ccw",
    "virtio-scsi-ccw",
    "vfio-pci",
    "scsi-hd",
    "ide-hd",
    "PIIX4_PM",
    "usb-redir",
    "usb-storage",
    "kvm-pit",
    "VGA",
    "vmware-svga",
    "qxl",
    "virtio-gpu-pci",
    "virtio-gpu-device",
    "ICH9-LPC",
    "virtio-balloon-pci",
    "virtio-balloon-ccw",
    "virtio-balloon-device",
    "intel-iommu",
    "mch",
    "nvdimm",
    "pcie-root-port",
    "usb-host",
    "vhost-user-fs-device",
    "virtio-mem-pci",
    "virtio-iommu-pci",
]
DEVICE_LIST_PROPERTIES_TYPES += [
    t for t in LIBVIRT_DEVICE_TYPES if t not in DEVICE_LIST_PROPERTIES_TYPES
]

QOM_LIST_PROPERTIES_TYPES = [
    "memory-backend",
    "memory-backend-ram",
    "memory-backend-file",
    "memory-backend-memfd",
    "memory-backend-epc",
    "memory-backend-shm",
    "thread-context",
    "pc-dimm",
    "nvdimm",
    "virtio-mem-pci",
    "virtio-mem",
    "virtio-pmem-pci",
    "virtio-pmem",
    "sgx-epc",
    "hv-balloon",
    "memory-device",
    "device",
    "no-such-type",
    # asked by libvirt's probe
    "max-x86_64-cpu",
    "none-machine",
]


@dataclass
class Scenario:
    """One QEMU configuration: a command line plus QMP commands run after start."""

    name: str
    machine: str
    args: list[str]
    setup: list[tuple[str, dict[str, JSON]]] = field(default_factory=list)
    capability_queries: bool = False
    #: what comes before -qmp: COMMON_ARGS, or a command line of its own
    #: (libvirt's probe, a libvirt-like domain)
    base_args: list[str] = field(default_factory=lambda: list(COMMON_ARGS))
    #: files made in the run's directory before QEMU starts: name -> size
    #: (zeros; e.g. the dummy firmware that gives aarch64's virt its ACPI GED)
    files: dict[str, int] = field(default_factory=dict)

    def argv(self, qemu: str, tmpdir: Path) -> list[str]:
        qmp = f"unix:{tmpdir / QMP_SOCKET_NAME},server=on,wait=off"
        args = [a.replace(TMP_PLACEHOLDER, str(tmpdir)) for a in self.args]
        return [qemu, *self.base_args, "-qmp", qmp, *args]


def _cold_plug_args(machine: str) -> list[str]:
    """Everything plugged on the command line, backends with default properties."""
    bus = "pci.0" if machine == "pc" else "pcie.0"
    return [
        "-machine",
        f"{machine},nvdimm=on",
        *MEMORY_ARGS,
        "-object",
        "memory-backend-ram,id=mem-dimm0,size=128M",
        "-device",
        "pc-dimm,id=dimm0,memdev=mem-dimm0",
        "-object",
        f"memory-backend-file,id=mem-nv0,mem-path={TMP_PLACEHOLDER}/nv0.img,size=128M",
        "-device",
        "nvdimm,id=nv0,memdev=mem-nv0,label-size=128K",
        "-object",
        "memory-backend-ram,id=mem-anon0,size=128M",
        "-device",
        "pc-dimm,memdev=mem-anon0",
        "-object",
        "memory-backend-memfd,id=mem-vmem0,size=512M",
        "-device",
        f"virtio-mem-pci,id=vmem0,memdev=mem-vmem0,bus={bus}",
        "-object",
        f"memory-backend-file,id=mem-vpmem0,mem-path={TMP_PLACEHOLDER}/vpmem0.img,size=128M",
        "-device",
        f"virtio-pmem-pci,id=vpmem0,memdev=mem-vpmem0,bus={bus}",
    ]


def _hot_plug_setup(machine: str) -> list[tuple[str, dict[str, JSON]]]:
    """Everything hot-plugged over QMP, backends with non-default properties."""
    buses = ["pci.0", "pci.0", "pci.0"] if machine == "pc" else ["rp0", "rp1", "rp2"]

    def obj(qom_type: str, oid: str, **props: JSON) -> tuple[str, dict[str, JSON]]:
        return ("object-add", {"qom-type": qom_type, "id": oid, **props})

    def dev(driver: str, **props: JSON) -> tuple[str, dict[str, JSON]]:
        return ("device_add", {"driver": driver, **props})

    return [
        obj("memory-backend-ram", "mem-dimm1", size=256 * MiB, merge=False, dump=False),
        dev("pc-dimm", id="dimm1", memdev="mem-dimm1"),
        obj(
            "memory-backend-file",
            "mem-nv1",
            size=256 * MiB,
            **{"mem-path": "/dev/shm"},
            share=True,
            **{"discard-data": True},
        ),
        dev("nvdimm", id="nv1", memdev="mem-nv1"),
        obj("memory-backend-memfd", "mem-vmem1", size=1 * GiB, seal=False, reserve=False),
        dev("virtio-mem-pci", id="vmem1", memdev="mem-vmem1", bus=buses[0]),
        obj("memory-backend-memfd", "mem-vmem2", size=1 * GiB, share=False),
        dev(
            "virtio-mem-pci",
            id="vmem2",
            memdev="mem-vmem2",
            bus=buses[1],
            **{"block-size": 4 * MiB, "requested-size": 64 * MiB},
        ),
        obj(
            "memory-backend-file",
            "mem-vpmem1",
            size=128 * MiB,
            **{"mem-path": f"{TMP_PLACEHOLDER}/vpmem1.img"},
            share=True,
            align=2 * MiB,
        ),
        dev("virtio-pmem-pci", id="vpmem1", memdev="mem-vpmem1", bus=buses[2]),
        obj("memory-backend-ram", "mem-anon1", size=128 * MiB, prealloc=True),
        dev("pc-dimm", memdev="mem-anon1"),
        # new in QEMU 9.1; left unplugged.  Older QEMUs refuse it, which is data too.
        obj("memory-backend-shm", "mem-shm1", size=64 * MiB),
    ]


def _root_ports(count: int) -> list[str]:
    args: list[str] = []
    for i in range(count):
        args += ["-device", f"pcie-root-port,id=rp{i},bus=pcie.0,chassis={i + 1}"]
    return args


SCENARIOS: list[Scenario] = [
    Scenario("default", "default", [], capability_queries=True),
    Scenario("pc-empty", "pc", ["-machine", "pc,nvdimm=on", *MEMORY_ARGS]),
    Scenario("q35-empty", "q35", ["-machine", "q35,nvdimm=on", *MEMORY_ARGS]),
    Scenario("pc-cold", "pc", _cold_plug_args("pc")),
    Scenario(
        "pc-hot",
        "pc",
        ["-machine", "pc,nvdimm=on", *MEMORY_ARGS],
        _hot_plug_setup("pc"),
    ),
    Scenario("q35-cold", "q35", _cold_plug_args("q35")),
    Scenario(
        "q35-hot",
        "q35",
        ["-machine", "q35,nvdimm=on", *MEMORY_ARGS, *_root_ports(3)],
        _hot_plug_setup("q35"),
    ),
]


class QMPConnectionLost(Exception):
    """QEMU closed the QMP connection (it exited)."""


class QMP:
    """A minimal synchronous QMP client that returns replies verbatim."""

    def __init__(self, path: Path, timeout: float = 30.0) -> None:
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        self._sock.connect(str(path))
        self._file = self._sock.makefile("rb")
        self.greeting: JSON = self._read()
        self.events: list[JSON] = []

    def _read(self) -> JSON:
        try:
            line = self._file.readline()
        except OSError as exc:
            raise QMPConnectionLost(str(exc)) from exc
        if not line:
            raise QMPConnectionLost("QMP connection closed")
        return json.loads(line)

    def execute(self, command: str, arguments: dict[str, JSON] | None = None) -> JSON:
        """Send one command; return its reply, ``{"return": ...}`` or ``{"error": ...}``."""
        msg: dict[str, JSON] = {"execute": command}
        if arguments:
            msg["arguments"] = arguments
        try:
            self._sock.sendall(json.dumps(msg).encode() + b"\n")
        except OSError as exc:
            raise QMPConnectionLost(str(exc)) from exc
        while True:
            reply = self._read()
            if "event" in reply:
                # timestamps are volatile: keep only what happened
                self.events.append({k: v for k, v in reply.items() if k != "timestamp"})
                continue
            return reply

    def close(self) -> None:
        self._file.close()
        self._sock.close()


@dataclass
class Host:
    """Where and how QEMU runs for one recording."""

    qemu: str
    tmpdir: Path
    #: directories hidden (an empty directory bind-mounted over them, in a
    #: private mount namespace) from every QEMU started; see --mask-dir
    mask_dirs: list[str] = field(default_factory=list)
    #: what is recorded: the target's scenarios, questions and machines
    target: Target = field(default_factory=lambda: X86_64)

    def sibling(self, tmpdir: Path) -> Host:
        """The same QEMU, masks and target, in another directory."""
        return Host(self.qemu, tmpdir, self.mask_dirs, self.target)

    def command(self, argv: list[str]) -> list[str]:
        """The command that runs ``argv``, wrapped in ``unshare`` when dirs are masked."""
        if not self.mask_dirs:
            return argv
        empty = self.tmpdir / "empty"
        empty.mkdir(exist_ok=True)
        mounts = " && ".join(
            f"mount --bind {shlex.quote(str(empty))} {shlex.quote(d)}" for d in self.mask_dirs
        )
        return [
            "unshare", "--mount", "--propagation", "private",
            "sh", "-c", f'{mounts} && exec "$@"', "sh", *argv,
        ]  # fmt: skip


class QemuProcess:
    """A stopped QEMU for one scenario, with its QMP connection."""

    def __init__(self, host: Host, scenario: Scenario) -> None:
        self.host = host
        self.scenario = scenario
        self.tmpdir = tmpdir = host.tmpdir
        self.argv = scenario.argv(host.qemu, tmpdir)
        self.proc: subprocess.Popen[bytes] | None = None
        self.qmp: QMP | None = None
        #: QEMU's exit status once stopped (negative: the signal that ended it)
        self.returncode: int | None = None
        self._stderr_path = tmpdir / "stderr.txt"

    def __enter__(self) -> QemuProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        sock = self.tmpdir / QMP_SOCKET_NAME
        sock.unlink(missing_ok=True)
        # backing files are created afresh by each QEMU
        for child in self.tmpdir.glob("*.img"):
            child.unlink()
        for name, size in self.scenario.files.items():
            (self.tmpdir / name).write_bytes(bytes(size))
        with open(self._stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                self.host.command(self.argv), stdin=subprocess.DEVNULL, stdout=err, stderr=err
            )
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"QEMU exited with {self.proc.returncode} before QMP was up: "
                    f"{' '.join(self.argv)}\n{self.stderr()}"
                )
            if sock.exists():
                try:
                    self.qmp = QMP(sock)
                    break
                except OSError:
                    pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"QMP socket of {' '.join(self.argv)} did not come up")
            time.sleep(0.02)
        reply = self.qmp.execute("qmp_capabilities")
        if "return" not in reply:
            raise RuntimeError(f"qmp_capabilities failed: {reply}")

    def stderr(self) -> str:
        try:
            return self._stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        if self.qmp is not None:
            with contextlib.suppress(QMPConnectionLost, OSError):
                self.qmp.execute("quit")
            self.qmp.close()
            self.qmp = None
        if self.proc is not None:
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.returncode = self.proc.returncode
            self.proc = None

    def stop_quietly(self) -> None:
        """:meth:`stop`, also after a failed :meth:`start` (QEMU gone or going)."""
        if self.qmp is None and self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        self.stop()

    def execute(self, command: str, arguments: dict[str, JSON] | None = None) -> JSON:
        assert self.qmp is not None
        return self.qmp.execute(command, arguments)

    def run_setup(self) -> list[JSON]:
        steps: list[JSON] = []
        assert self.qmp is not None
        for command, arguments in self.scenario.setup:
            arguments = _substitute(arguments, TMP_PLACEHOLDER, str(self.tmpdir))
            self.qmp.events.clear()
            reply = self.execute(command, arguments)
            steps.append(
                {
                    "execute": command,
                    "arguments": arguments,
                    "reply": reply,
                    "events": list(self.qmp.events),
                }
            )
        return steps

    def recorded_argv(self) -> list[str]:
        return [self.host.target.argv0, *self.argv[1:]]


def _substitute(value: JSON, old: str, new: str) -> JSON:
    """Replace ``old`` by ``new`` in every string inside a JSON value (keys too)."""
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, list):
        return [_substitute(v, old, new) for v in value]
    if isinstance(value, dict):
        return {_substitute(k, old, new): _substitute(v, old, new) for k, v in value.items()}
    return value


# --------------------------------------------------------------------------- QOM walk


@dataclass
class ObjectOfInterest:
    path: str
    role: str
    qom_list: JSON


def _children(listing: JSON) -> Iterator[tuple[str, str]]:
    """(name, type) of the child<...> properties in a qom-list reply."""
    for prop in listing.get("return", []):
        if prop["type"].startswith("child<"):
            yield prop["name"], prop["type"][len("child<") : -1]


def discover(q: QemuProcess) -> list[ObjectOfInterest]:
    """Objects recorded for a scenario, in a deterministic order."""
    found: list[ObjectOfInterest] = []

    def add(path: str, role: str) -> JSON:
        listing = q.execute("qom-list", {"path": path})
        found.append(ObjectOfInterest(path, role, listing))
        return listing

    machine = add("/machine", "machine")
    for name, _ in _children(machine):
        if name.startswith("device-memory"):
            add(f"/machine/{name}", "memory-region")
    add("/machine/unattached", "container")
    for container in ("/machine/peripheral", "/machine/peripheral-anon"):
        listing = add(container, "container")
        for name, _ in _children(listing):
            dev_path = f"{container}/{name}"
            dev_listing = add(dev_path, "device")
            for child, _ctype in _children(dev_listing):
                if child == "virtio-backend":
                    add(f"{dev_path}/{child}", "virtio-backend")
                elif child.startswith("nvdimm-memory"):
                    add(f"{dev_path}/{child}", "memory-region")
    objects = add("/objects", "container")
    for name, ctype in _children(objects):
        obj_path = f"/objects/{name}"
        role = "backend" if ctype.startswith("memory-backend") else "object"
        obj_listing = add(obj_path, role)
        for child, ctype2 in _children(obj_listing):
            if ctype2 == "memory-region":
                add(f"{obj_path}/{child}", "memory-region")
    return found


#: roles whose properties get qom-set attempts
SET_ROLES = {"device", "virtio-backend", "backend"}


def _plausible_value(prop_type: str) -> JSON:
    """A value of the right JSON type, for properties whose getter failed."""
    if prop_type == "bool":
        return False
    if prop_type.startswith(("int", "uint", "size")) or prop_type in {"int", "size"}:
        return 0
    if prop_type.startswith(("link<", "child<")):
        return ""
    return "x"


class _Restore:
    """Probe value meaning: the value the property had before the probes."""

    def __repr__(self) -> str:
        return "RESTORE"


RESTORE = _Restore()


@dataclass(frozen=True)
class Probe:
    """A qom-set with a value other than the current one, and what to read after it."""

    prop: str
    value: JSON
    observe: tuple[str, ...] = ()


_BACKEND_PROBES = [
    Probe("dump", "x"),
    Probe("prealloc-threads", 0, ("prealloc-threads",)),
    Probe("prealloc-threads", RESTORE, ("prealloc-threads",)),
    Probe("policy", "interleave", ("policy",)),
    Probe("policy", RESTORE, ("policy",)),
    Probe("host-nodes", [0], ("host-nodes",)),
    Probe("host-nodes", RESTORE, ("host-nodes",)),
]

#: Value-changing qom-set attempts per QOM type, run after the same-value ones.
#: They capture validation and type-mismatch texts of the properties that stay
#: writable after realize, and end by restoring the original value.
PROBES: dict[str, list[Probe]] = {
    "virtio-mem-pci": [
        Probe("requested-size", 128 * MiB, ("requested-size", "size")),
        Probe("requested-size", 3 * MiB, ("requested-size",)),
        Probe("requested-size", 2 * GiB, ("requested-size",)),
        Probe("requested-size", "x"),
        Probe("requested-size", -1),
        Probe("requested-size", RESTORE, ("requested-size", "size")),
    ],
    "nvdimm": [
        Probe("uuid", "x"),
        Probe("uuid", "12345678-1234-1234-1234-123456789abc", ("uuid",)),
        Probe("uuid", RESTORE, ("uuid",)),
    ],
    "memory-backend-ram": _BACKEND_PROBES,
    "memory-backend-file": _BACKEND_PROBES,
    "memory-backend-memfd": _BACKEND_PROBES,
    "memory-backend-shm": _BACKEND_PROBES,
}


@dataclass
class SetTarget:
    path: str
    qom_type: str | None
    qom_list: list[JSON]
    gets: dict[str, JSON]


def _is_error(value: JSON) -> bool:
    return isinstance(value, dict) and set(value) == {"error"}


def record_sets(
    host: Host, scenario: Scenario, targets: list[SetTarget]
) -> tuple[dict[str, dict[str, JSON]], dict[str, list[JSON]]]:
    """qom-set every property of every target, in a QEMU of its own.

    The value sent is the one read back, or a plausible one of the property's
    type if the getter failed, so that writable properties keep their state
    and the refusals (read-only, after-realize, not-writable) are captured.
    Then the PROBES of the target's type run.  Returns (sets, probes), each
    keyed by QOM path.
    """
    sets: dict[str, dict[str, JSON]] = {}
    probes: dict[str, list[JSON]] = {}
    q = QemuProcess(host, scenario)
    q.start()

    def qom_set(path: str, name: str, value: JSON) -> JSON:
        try:
            return q.execute("qom-set", {"path": path, "property": name, "value": value})
        except QMPConnectionLost:
            reply = {"qemu-exited": True, "stderr": q.stderr()}
            q.stop()
            q.start()
            q.run_setup()
            return reply

    try:
        q.run_setup()
        for t in targets:
            per_prop: dict[str, JSON] = {}
            for prop in t.qom_list:
                name = prop["name"]
                got = t.gets.get(name)
                value = _plausible_value(prop["type"]) if _is_error(got) else got
                per_prop[name] = {"sent": value, "reply": qom_set(t.path, name, value)}
            sets[t.path] = per_prop
        for t in targets:
            runs: list[JSON] = []
            for probe in PROBES.get(t.qom_type or "", []):
                if probe.prop not in t.gets:
                    continue
                value = t.gets[probe.prop] if probe.value is RESTORE else probe.value
                assert q.qmp is not None
                q.qmp.events.clear()
                reply = qom_set(t.path, probe.prop, value)
                after: dict[str, JSON] = {}
                for name in probe.observe:
                    got = q.execute("qom-get", {"path": t.path, "property": name})
                    after[name] = got.get("return", got)
                runs.append(
                    {
                        "property": probe.prop,
                        "sent": value,
                        "reply": reply,
                        "qom-get-after": after,
                        "events": list(q.qmp.events) if q.qmp is not None else [],
                    }
                )
            if runs:
                probes[t.path] = runs
    finally:
        q.stop()
    return sets, probes


# --------------------------------------------------------------------------- recording


@dataclass
class Recording:
    scenarios: dict[str, JSON] = field(default_factory=dict)
    instances: dict[str, JSON] = field(default_factory=dict)
    types: dict[str, JSON] = field(default_factory=dict)
    queries: dict[str, JSON] = field(default_factory=dict)
    schema: dict[str, JSON] = field(default_factory=dict)
    probe: dict[str, JSON] = field(default_factory=dict)
    cpus: dict[str, JSON] = field(default_factory=dict)
    #: devices.json: written beside the others, outside :meth:`documents`
    #: (nothing refers to it, and it needs no key order)
    devices: dict[str, JSON] = field(default_factory=dict)

    def documents(self) -> dict[str, JSON]:
        """The recorded data by file name (same-as references name these)."""
        return {
            "scenarios.json": self.scenarios,
            "instances.json": self.instances,
            "types.json": self.types,
            "queries.json": self.queries,
            "qmp-schema.json": self.schema,
            "probe.json": self.probe,
            "cpus.json": self.cpus,
        }


def _query_entry(
    q: QemuProcess, scenario: Scenario, command: str, arguments: dict[str, JSON]
) -> JSON:
    entry: dict[str, JSON] = {
        "command": command,
        "scenario": scenario.name,
        "argv": q.recorded_argv(),
        "arguments": arguments,
        "reply": q.execute(command, arguments or None),
    }
    volatile = _expand_volatile(entry, QUERY_VOLATILE.get(command, []))
    if volatile:
        entry["volatile"] = volatile
    return entry


def _expand_volatile(doc: JSON, patterns: list[str]) -> list[str]:
    """Expand ``*`` segments of JSON pointers against ``doc``; keep only existing ones."""
    out: list[str] = []

    def walk(node: JSON, segments: list[str], prefix: str) -> None:
        if not segments:
            out.append(prefix)
            return
        head, rest = segments[0], segments[1:]
        if head == "*":
            keys: list[str] = []
            if isinstance(node, list):
                keys = [str(i) for i in range(len(node))]
            elif isinstance(node, dict):
                keys = sorted(node)
            for k in keys:
                walk(node[int(k)] if isinstance(node, list) else node[k], rest, f"{prefix}/{k}")
        elif isinstance(node, dict) and head in node:
            walk(node[head], rest, f"{prefix}/{head}")
        elif isinstance(node, list) and head.isdigit() and int(head) < len(node):
            walk(node[int(head)], rest, f"{prefix}/{head}")

    for pattern in patterns:
        walk(doc, pattern.split("/")[1:], "")
    return out


def record_scenario(host: Host, scenario: Scenario, rec: Recording) -> None:
    with QemuProcess(host, scenario) as q:
        assert q.qmp is not None
        setup = q.run_setup()
        argv = q.recorded_argv()

        if scenario.capability_queries:
            rec.queries["qmp-greeting"] = {
                "command": None,
                "scenario": scenario.name,
                "argv": argv,
                "arguments": None,
                "reply": q.qmp.greeting,
            }
            for label, command, arguments in q.host.target.capability_queries:
                rec.queries[label] = _query_entry(q, scenario, command, arguments)
            rec.schema["query-qmp-schema"] = _query_entry(q, scenario, "query-qmp-schema", {})
            record_types(q, rec)
            # qom-list-types has loaded every module: the options modules
            # register (7.2's spice) are listed from now on.
            rec.queries[MODULES_LOADED_OPTIONS] = _query_entry(
                q, scenario, "query-command-line-options", {}
            )

        for command, arguments in q.host.target.memory_queries:
            label = f"{command}@{scenario.name}"
            rec.queries[label] = _query_entry(q, scenario, command, arguments)
        for prop in q.host.target.machine_properties:
            label = f"qom-get:/machine:{prop}@{scenario.name}"
            rec.queries[label] = _query_entry(
                q, scenario, "qom-get", {"path": "/machine", "property": prop}
            )

        objects = discover(q)
        set_targets: list[SetTarget] = []
        for obj in objects:
            gets: dict[str, JSON] = {}
            for prop in obj.qom_list.get("return", []):
                reply = q.execute("qom-get", {"path": obj.path, "property": prop["name"]})
                gets[prop["name"]] = reply.get("return", reply)
            qom_type = gets.get("type")
            entry: dict[str, JSON] = {
                "scenario": scenario.name,
                "machine": scenario.machine,
                "argv": argv,
                "path": obj.path,
                "role": obj.role,
                "qom-type": qom_type if isinstance(qom_type, str) else None,
                "qom-list": obj.qom_list.get("return", obj.qom_list),
                "qom-get": gets,
            }
            rec.instances[f"{scenario.name}:{obj.path}"] = entry
            if obj.role in SET_ROLES:
                set_targets.append(SetTarget(obj.path, entry["qom-type"], entry["qom-list"], gets))
        stderr_text = q.stderr()

    sets, probes = record_sets(host, scenario, set_targets)
    for path, per_prop in sets.items():
        rec.instances[f"{scenario.name}:{path}"]["qom-set"] = per_prop
    for path, runs in probes.items():
        rec.instances[f"{scenario.name}:{path}"]["qom-set-probes"] = runs

    rec.scenarios[scenario.name] = {
        "machine": scenario.machine,
        "argv": argv,
        "setup": setup,
        "stderr": stderr_text.splitlines(),
    }


def record_types(q: QemuProcess, rec: Recording) -> None:
    argv = q.recorded_argv()
    rec.types["argv"] = argv
    rec.types["qom-list-types"] = {
        label: {"arguments": arguments, "reply": q.execute("qom-list-types", arguments or None)}
        for label, arguments in QOM_LIST_TYPES_VARIANTS.items()
    }
    rec.types["device-list-properties"] = {
        t: q.execute("device-list-properties", {"typename": t})
        for t in q.host.target.device_list_properties_types
    }
    types = q.host.target.qom_list_properties_types
    machines = q.execute("query-machines") if any(_is_canonical(t) for t in types) else None
    resolved = [_resolve_canonical({"typename": t}, machines)["typename"] for t in types]
    rec.types["qom-list-properties"] = {
        t: q.execute("qom-list-properties", {"typename": t}) for t in resolved
    }


# --------------------------------------------------------------------------- libvirt's probe

#: How libvirt 9.0 runs an emulator to probe it (virQEMUCapsInitQMPSingle),
#: without -pidfile and -daemonize, which change nothing QMP answers.
#: ``accel=kvm:tcg`` is recorded as the two accelerators it can end up with.
PROBE_BASE_ARGS = ["-S", "-no-user-config", "-nodefaults", "-nographic", "-machine"]

#: The questions of libvirt 9.0's capability probe (virQEMUCapsInitQMPMonitor
#: and the functions it calls), in its order, after qmp_capabilities.  libvirt
#: asks the "host" expansions when query-kvm says enabled and then a second,
#: TCG-only session with query-cpu-definitions, the "max" expansions and
#: query-machines; otherwise the "max" expansions in its only session.  Every
#: session here asks all of them.
LIBVIRT_PROBE: list[tuple[str, dict[str, JSON]]] = [
    ("query-version", {}),
    ("query-target", {}),
    ("query-qmp-schema", {}),
    ("query-commands", {}),
    ("query-kvm", {}),
    ("qom-list-types", {}),
    *[("device-list-properties", {"typename": t}) for t in LIBVIRT_DEVICE_TYPES],
    ("qom-list-properties", {"typename": "memory-backend-file"}),
    ("qom-list-properties", {"typename": "memory-backend-memfd"}),
    ("qom-list-properties", {"typename": "max-x86_64-cpu"}),
    ("query-machines", {}),
    ("qom-list-properties", {"typename": "none-machine"}),
    ("query-cpu-definitions", {}),
    ("query-tpm-models", {}),
    ("query-tpm-types", {}),
    ("query-command-line-options", {}),
    ("query-migrate-capabilities", {}),
    ("query-sev-capabilities", {}),
    ("query-sgx-capabilities", {}),
    *[("query-cpu-model-expansion", a) for a in CPU_MODEL_EXPANSIONS],
]

#: A probe question's typename that names a machine type by its alias:
#: libvirt asks the properties of the type the alias stands for in the
#: session's query-machines reply (virQEMUCapsGetCanonicalMachine, then
#: "<name>-machine").
_CANONICAL_PREFIX = "@canonical:"


def canonical_machine_type(alias: str) -> str:
    """A typename placeholder for :func:`record_probe`: the QOM type of the
    machine type ``alias`` stands for (``virt`` -> ``virt-7.2-machine``)."""
    return f"{_CANONICAL_PREFIX}{alias}"


def _is_canonical(typename: JSON) -> bool:
    return isinstance(typename, str) and typename.startswith(_CANONICAL_PREFIX)


def _resolve_canonical(arguments: dict[str, JSON], machines: JSON) -> dict[str, JSON]:
    typename = arguments.get("typename")
    if not isinstance(typename, str) or not _is_canonical(typename):
        return arguments
    alias = typename[len(_CANONICAL_PREFIX) :]
    if not isinstance(machines, dict) or "return" not in machines:
        raise SystemExit(f"probe: {typename} asked before query-machines answered")
    for entry in machines["return"]:
        if entry.get("alias") == alias:
            return {**arguments, "typename": f"{entry['name']}-machine"}
    raise SystemExit(f"probe: no machine type has the alias {alias!r}")


#: The accelerators a probe session is recorded with.  KVM's answers describe
#: the recording host (its CPU, its KVM), so they are marked volatile.
PROBE_ACCELS = ["tcg", "kvm"]


def _probe_scenario(accel: str) -> Scenario:
    return Scenario(
        f"probe-{accel}", "none", [], base_args=[*PROBE_BASE_ARGS, f"none,accel={accel}"]
    )


def _pointer_part(text: str) -> str:
    return text.replace("~", "~0").replace("/", "~1")


def _question_key(command: str, arguments: JSON) -> tuple[str, str]:
    return command, json.dumps(arguments or {}, sort_keys=True)


def _reply_index(rec: Recording) -> dict[tuple[str, str], list[str]]:
    """Where the default scenario's replies are: (command, arguments) -> references.

    A reference is ``<file>#<JSON pointer>``, resolved by :func:`resolve_reference`.
    A question can have several recorded answers (query-command-line-options
    before and after the modules were loaded).
    """
    index: dict[tuple[str, str], list[str]] = {}

    def add(command: str, arguments: JSON, reference: str) -> None:
        index.setdefault(_question_key(command, arguments), []).append(reference)

    for label, entry in rec.queries.items():
        if entry["scenario"] == "default" and entry["command"]:
            add(entry["command"], entry["arguments"], f"queries.json#/{_pointer_part(label)}/reply")
    for label, entry in rec.types.get("qom-list-types", {}).items():
        reference = f"types.json#/qom-list-types/{_pointer_part(label)}/reply"
        add("qom-list-types", entry["arguments"], reference)
    for table in ("device-list-properties", "qom-list-properties"):
        for typename in rec.types.get(table, {}):
            add(table, {"typename": typename}, f"types.json#/{table}/{_pointer_part(typename)}")
    if "query-qmp-schema" in rec.schema:
        add("query-qmp-schema", {}, "qmp-schema.json#/query-qmp-schema/reply")
    return index


def resolve_reference(documents: dict[str, JSON], reference: str) -> JSON:
    """The value a ``same-as`` reference (``<file>#<JSON pointer>``) names."""
    name, _, pointer = reference.partition("#")
    node = documents[name]
    for part in pointer.split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def record_probe(host: Host, accel: str, rec: Recording) -> None:
    """libvirt's probe questions to a QEMU started as libvirt starts it.

    A reply equal to the one the default scenario recorded is written as a
    ``same-as`` reference to it: the probe's machine (``none``) answers
    these questions as ``pc`` does, and the big blobs are stored once.
    """
    documents = rec.documents()
    index = _reply_index(rec)
    host_dependent = accel == "kvm"
    exchanges: list[JSON] = []

    def entry_for(command: str | None, arguments: JSON, reply: JSON) -> dict[str, JSON]:
        entry: dict[str, JSON] = {"command": command, "arguments": arguments}
        if command is None:
            candidates = ["queries.json#/qmp-greeting/reply"]
        else:
            candidates = index.get(_question_key(command, arguments), [])
        same = [r for r in candidates if resolve_reference(documents, r) == reply]
        # Another question of this session with the same answer ("host" and
        # "max" expand to the same static model).
        same += [
            f"probe.json#/{accel}/exchanges/{i}/reply"
            for i, earlier in enumerate(exchanges)
            if earlier.get("reply") == reply
        ]
        if same:
            entry["same-as"] = same[0]
        else:
            entry["reply"] = reply
            if host_dependent:
                entry["volatile"] = ["/reply"]
        return entry

    scenario = _probe_scenario(accel)
    with QemuProcess(host, scenario) as q:
        assert q.qmp is not None
        greeting = entry_for(None, None, q.qmp.greeting)
        machines: JSON = None
        for command, arguments in host.target.libvirt_probe:
            arguments = _resolve_canonical(arguments, machines)
            reply = q.execute(command, arguments or None)
            if command == "query-machines":
                machines = reply
            exchanges.append(entry_for(command, arguments, reply))
        rec.probe[accel] = {
            "accel": accel,
            "argv": q.recorded_argv(),
            "greeting": greeting,
            "exchanges": exchanges,
        }


# --------------------------------------------------------------------------- vCPUs

#: How libvirt 9.0 starts a domain, as far as the vCPUs can tell
#: (argv-b-domain-start.txt: a type='qemu' domain with one NUMA cell).
DOMAIN_BASE_ARGS = ["-S", "-no-user-config", "-nodefaults", "-display", "none"]


@dataclass
class CpuScenario:
    """A libvirt-like domain with ``cpus`` vCPUs of ``model`` under ``accel``."""

    name: str
    accel: str
    model: str
    cpus: int
    #: where the model's full property record (qom-list, qom-get) is kept;
    #: the other scenarios of the model record their differences
    sample: bool
    #: qom-set of every property (in a QEMU of its own).  Done once: which
    #: properties refuse, and how, is the same for every x86 CPU model and
    #: accelerator (only the type name in the texts differs)
    qom_set: bool = False
    #: the domain's machine type
    machine: str = "pc"

    def scenario(self) -> Scenario:
        cpus = "0" if self.cpus == 1 else f"0-{self.cpus - 1}"
        args = [
            "-machine", self.machine, "-accel", self.accel, "-cpu", self.model,
            "-m", "size=1048576k,slots=16,maxmem=16777216k",
            "-smp", f"{self.cpus},sockets={self.cpus},cores=1,threads=1",
            "-object", "memory-backend-ram,id=ram-node0,size=1073741824",
            "-numa", f"node,nodeid=0,cpus={cpus},memdev=ram-node0",
        ]  # fmt: skip
        return Scenario(f"cpu-{self.name}", self.machine, args, base_args=list(DOMAIN_BASE_ARGS))


#: qemu64 is libvirt's CPU for type='qemu' domains without <cpu>, and QEMU's
#: default for pc/q35; max is libvirt's maximum / host-model under TCG; with
#: KVM, host-passthrough gives "host".
CPU_SCENARIOS = [
    CpuScenario("tcg-qemu64", "tcg", "qemu64", 1, sample=True, qom_set=True),
    CpuScenario("tcg-max", "tcg", "max", 1, sample=True),
    CpuScenario("tcg-qemu64-smp2", "tcg", "qemu64", 2, sample=False),
    CpuScenario("kvm-qemu64", "kvm", "qemu64", 1, sample=True),
    CpuScenario("kvm-host", "kvm", "host", 1, sample=True),
]


def _device_index(name: str) -> int:
    return int(name[len("device[") : -1])


def record_cpu_scenario(host: Host, cs: CpuScenario, rec: Recording) -> None:
    """The vCPU objects of a libvirt-like domain and the two CPU queries."""
    scenario = cs.scenario()
    sample_scenario = next(
        c
        for c in host.target.cpu_scenarios
        if c.sample and (c.accel, c.model) == (cs.accel, cs.model)
    )
    sample = None if cs.sample else next(iter(rec.cpus[sample_scenario.name]["objects"].values()))
    with QemuProcess(host, scenario) as q:
        hotpluggable = q.execute("query-hotpluggable-cpus")
        fast = q.execute("query-cpus-fast")
        unattached = q.execute("qom-list", {"path": "/machine/unattached"})
        devices = sorted(
            (
                [p["name"], p["type"][len("child<") : -1]]
                for p in unattached["return"]
                if p["name"].startswith("device[")
            ),
            key=lambda item: _device_index(item[0]),
        )
        objects: dict[str, JSON] = {}
        for cpu in fast["return"]:
            path = cpu["qom-path"]
            listing = q.execute("qom-list", {"path": path})["return"]
            gets: dict[str, JSON] = {}
            for prop in listing:
                reply = q.execute("qom-get", {"path": path, "property": prop["name"]})
                gets[prop["name"]] = reply.get("return", reply)
            if sample is None:
                sample = {"qom-type": gets.get("type"), "qom-list": listing, "qom-get": gets}
                objects[path] = sample
                continue
            entry: dict[str, JSON] = {
                "qom-type": gets.get("type"),
                "qom-get-differences": {
                    k: v for k, v in gets.items() if sample["qom-get"].get(k, None) != v
                },
            }
            if listing != sample["qom-list"]:
                entry["qom-list"] = listing
            objects[path] = entry
        argv = q.recorded_argv()
    volatile = _expand_volatile({"query-cpus-fast": fast}, ["/query-cpus-fast/return/*/thread-id"])
    if cs.accel == "kvm":
        # the CPU KVM gives a guest is the host's, filtered by what KVM supports
        volatile.append("/objects")
    if cs.qom_set:
        path, record = next(iter(objects.items()))
        target = SetTarget(path, record["qom-type"], record["qom-list"], record["qom-get"])
        sets, _ = record_sets(host, scenario, [target])
        record["qom-set"] = sets[path]
    rec.cpus[cs.name] = {
        "accel": cs.accel,
        "cpu-model": cs.model,
        "cpus": cs.cpus,
        "argv": argv,
        "sample": sample_scenario.name,
        "query-hotpluggable-cpus": hotpluggable,
        "query-cpus-fast": fast,
        "unattached-devices": devices,
        "objects": objects,
        "volatile": volatile,
    }


def kvm_problem(host: Host, scenario: Scenario) -> str | None:
    """Why KVM does not work on this host for ``scenario``, or None if it does.

    Asked before each KVM part is recorded, of that part's own command line:
    its QEMU is started and asked ``query-kvm``.  KVM can fail at any stage
    on a host: no /dev/kvm or no permission (QEMU exits at start), a device
    that does not initialise (QEMU exits), or nested virtualization that
    initialises but aborts when a vCPU is reset (``-cpu host``: "failed to
    set MSR ..." and an assertion, after the greeting).
    """
    q = QemuProcess(host, scenario)
    reply: JSON = None
    problem = None
    try:
        q.start()
        reply = q.execute("query-kvm")
    except (RuntimeError, QMPConnectionLost) as exc:
        problem = str(exc).splitlines()[0]
    finally:
        q.stop_quietly()
    if problem is None and reply.get("return", {}).get("enabled") is True:
        return None
    if problem is None:
        problem = f"query-kvm answered {json.dumps(reply)}"
    elif q.returncode is not None and q.returncode < 0:
        problem = f"QEMU was killed by {signal.Signals(-q.returncode).name}"
    lines = [line for line in q.stderr().splitlines() if line.strip()]
    return "; ".join([problem, *lines[-3:]])


# --------------------------------------------------------------------------- the device catalog

DEVICES_FILE = "devices.json"
#: The part of a check that compares devices.json.
DEVICES_PART = "devices"

#: The device catalog's QEMU: the default scenario's command line.  The
#: catalog is asked over QMP (qom-list-types, device-list-properties, HMP's
#: ``info qdm``); ``-device help`` and ``-device TYPE,help`` are each run
#: as a process of their own, as a user runs them.
DEVICES_SCENARIO = Scenario("devices", "default", [])

#: The aliases of QEMU's qdev_alias_table (system/qdev-monitor.c, 7.2's
#: softmmu/qdev-monitor.c), every release's, whatever the architecture.
#: ``-device ALIAS,help`` is asked of each: which type it names on x86 is
#: data (``find_typename_by_alias`` takes the first entry of the target's
#: architectures, whether that type was built or not: 10.0's
#: virtio-gpu-rutabaga names virtio-gpu-rutabaga-pci, which this build
#: lacks), and an alias the release does not have is simply not found.
DEVICE_ALIAS_CANDIDATES = [
    "ac97",
    "ahci",
    "e1000-82540em",
    "es1370",
    "lsi",
    "virtio-9p",
    "virtio-balloon",
    "virtio-blk",
    "virtio-gpu",
    "virtio-gpu-gl",
    "virtio-gpu-rutabaga",
    "virtio-input-host",
    "virtio-iommu",
    "virtio-keyboard",
    "virtio-mouse",
    "virtio-net",
    "virtio-rng",
    "virtio-scsi",
    "virtio-serial",
    "virtio-sound",
    "virtio-tablet",
]

#: ``-device NAME,help`` recorded as QEMU printed it, for a test to compare
#: with what memdevd derives from the catalog: representative types, names
#: that are aliases, and the errors (an unknown name, an abstract device
#: type, a type that is no device).  The first type without properties and
#: every type whose device-list-properties makes QEMU exit are added.
DEVICE_HELP_SAMPLES = [
    "virtio-blk-pci",
    "pc-dimm",
    "nvdimm",
    "virtio-mem-pci",
    "usb-tablet",
    "isa-serial",
    "virtio-net-pci",
    "virtio-blk",
    "lsi",
    "virtio-gpu-rutabaga",
    "no-such-type",
    "virtio-pci",
    "memory-backend-ram",
]

#: A line of ``info qdm`` / ``-device help`` (qdev_print_devinfo()).
_DEVINFO_LINE = re.compile(
    r'name "(?P<name>[^"]*)"(?:, bus (?P<bus>[^,]*))?(?:, alias "(?P<alias>[^"]*)")?'
    r'(?:, desc "(?P<desc>.*)")?(?P<nouser>, no-user)?'
)
_DEVINFO_HEADING = re.compile(r"(?P<category>.*) devices:")


def _devinfo_line(name: str, fields: JSON) -> str:
    """qdev_print_devinfo() of one type, from its recorded fields."""
    line = f'name "{name}"'
    if "bus" in fields:
        line += f", bus {fields['bus']}"
    if "alias" in fields:
        line += f', alias "{fields["alias"]}"'
    if "desc" in fields:
        line += f', desc "{fields["desc"]}"'
    if not fields["user-creatable"]:
        line += ", no-user"
    return line


def parse_devinfos(text: str) -> tuple[list[str], dict[str, JSON]]:
    """``info qdm`` (qdev_print_devinfos(true)): the category headings in
    QEMU's order, and each type's bus, alias, desc, categories and whether
    it is user-creatable.  Raises SystemExit on a line it cannot read back."""
    categories: list[str] = []
    types: dict[str, JSON] = {}
    category = None
    for line in text.split("\n"):
        heading = _DEVINFO_HEADING.fullmatch(line)
        if heading is not None:
            category = heading["category"]
            categories.append(category)
            continue
        if not line:
            continue
        m = _DEVINFO_LINE.fullmatch(line)
        if m is None or category is None:
            raise SystemExit(f"info qdm: cannot read {line!r}")
        fields = types.get(m["name"])
        if fields is None:
            fields = {k: m[k] for k in ("bus", "alias", "desc") if m[k] is not None}
            fields["user-creatable"] = m["nouser"] is None
            fields["categories"] = []
            types[m["name"]] = fields
        fields["categories"].append(category)
        if _devinfo_line(m["name"], fields) != line:
            raise SystemExit(f"info qdm: {line!r} does not read back as it was printed")
    return categories, types


def run_once(host: Host, args: list[str]) -> JSON:
    """QEMU run as a process of its own: argv, stdout, stderr, exit status
    (negative: the signal that ended it)."""
    proc = subprocess.run(
        host.command([host.qemu, *args]),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
        check=False,
    )
    return {
        "argv": [host.target.argv0, *args],
        "stdout": proc.stdout.decode("utf-8"),
        "stderr": proc.stderr.decode("utf-8"),
        "status": proc.returncode,
    }


def _help_subject(run: JSON) -> str | None:
    """The type ``-device NAME,help`` answered for (an alias resolved), if it says."""
    first = run["stdout"].split("\n", 1)[0]
    for pattern in (r"(.*) options:", r"There are no options for (.*)\."):
        if (m := re.fullmatch(pattern, first)) is not None:
            return m[1]
    m = re.search(r"Device '(.*)' not found$", run["stderr"].rstrip("\n"))
    return m[1] if m is not None else None


def _check_key_order(typename: str, prop: JSON) -> None:
    """devices.json keeps no key order: no property entry may need one."""
    from memdevd.qapi.qdict import qdict_key_order

    if list(qdict_key_order(sorted(prop))) != list(prop):
        raise SystemExit(
            f"device-list-properties {typename}: QEMU printed {list(prop)}, which sorted keys"
            " would not reproduce; devices.json would need key-order.json entries"
        )


# --------------------------------------------------------------------------- hotpluggable

#: The property every hot-plug probe sets.  No device type has it: a
#: ``device_add`` that passes QEMU's hot-plug checks fails on it before the
#: device is realized, so no probe leaves a device behind and one QEMU can
#: answer any number of probes.
HOTPLUG_PROBE_PROPERTY = "x-memdevd-probe"
#: QEMUs asking the probes of one machine at once: every failed device_add
#: waits for QEMU's RCU callbacks (drain_call_rcu(), some 60 ms).
HOTPLUG_WORKERS = 8


@dataclass(frozen=True)
class HotplugProbeMachine:
    """A machine the hot-plug probes are asked on (see :func:`probe_hotpluggable`)."""

    name: str
    #: ``-device`` arguments plugged on the command line for the buses their
    #: devices bring; each only where the build has its type
    bus_providers: tuple[str, ...] = ()

    def scenario(self, types: Collection[str]) -> Scenario:
        args = ["-machine", self.name]
        for device in self.bus_providers:
            if device.split(",", 1)[0] in types:
                args += ["-device", device]
        return Scenario(f"hotplug-{self.name}", self.name, args)


#: Where a type is probed: on the first machine whose QEMU gets as far as
#: the class's flag (a bus of the type's kind exists, a sysbus type is one
#: the machine takes).  Whether that bus is hot-pluggable does not matter:
#: QEMU asks the class first.
HOTPLUG_PROBE_MACHINES = [
    # pc: pci.0, isa.0, ide.1, floppy-bus.0, the SMBus's i2c, main-system-bus,
    # and the buses of these devices
    HotplugProbeMachine(
        "pc",
        (
            "qemu-xhci",  # usb-bus
            "usb-ccid",  # ccid-bus
            "virtio-scsi-pci",  # SCSI
            "intel-hda",  # HDA
            "virtio-serial-pci",  # virtio-serial-bus
            "tpci200",  # IndustryPack
            "nvme,serial=probe",  # nvme-bus
            "sdhci-pci",  # sd-bus
            "ufs",  # ufs-bus (10.0)
        ),
    ),
    # virtio-bus: microvm's virtio-mmio transports (a PCI proxy's bus holds
    # its own device and is full)
    HotplugProbeMachine("microvm"),
    # the sysbus types only q35 takes (intel-iommu, amd-iommu)
    HotplugProbeMachine("q35"),
]


def hotplug_answer(name: str, reply: JSON) -> bool | None:
    """What a probe's reply says of the type's ``DeviceClass.hotpluggable``;
    None where QEMU stopped before asking it.

    ``device_add`` of a user-creatable type on a machine past start-up asks
    the class's flag early: 7.2 in ``qdev_get_device_class()`` ("Parameter
    'driver' expects a pluggable device type", the ``user_creatable`` text),
    10.0 in ``qdev_hotplug_allowed()`` ("Device 'T' does not support
    hotplugging").  10.0 looks for the bus first ("No 'X' bus found...")
    and refuses a sysbus type the machine does not take: no answer.  Every
    later refusal (the bus is not hot-pluggable, the machine has no handler
    for a bus-less device, the probe's property does not exist) says the
    flag is set.  Raises SystemExit on a success or an unknown text.
    """
    if "error" not in reply:
        raise SystemExit(f"device_add {name} (hot-plug probe) succeeded: {reply}")
    desc = reply["error"]["desc"]
    if desc in (
        f"Device '{name}' does not support hotplugging",
        "Parameter 'driver' expects a pluggable device type",
    ):
        return False
    if desc == "Parameter 'driver' expects a dynamic sysbus device type for the machine":
        return None
    if re.fullmatch(rf"No '[^']*' bus found for device '{re.escape(name)}'", desc):
        return None
    # 11.1 looks for a free bus before the flag too (a proxy's own bus is full).
    if re.fullmatch(r"A '[^']*' bus was found but is full", desc):
        return None
    if desc in (
        f"Property '{name}.{HOTPLUG_PROBE_PROPERTY}' not found",
        f"Device '{name}' can not be hotplugged on this machine",
    ) or re.fullmatch(r"Bus '[^']*' does not support hotplugging", desc):
        return True
    raise SystemExit(f"device_add {name} (hot-plug probe): an answer not understood: {desc!r}")


def _probe_batch(host: Host, scenario: Scenario, names: list[str]) -> dict[str, bool | None]:
    """Probe ``names`` in one QEMU (a new one after a probe that made it exit)."""
    answers: dict[str, bool | None] = {}
    q = QemuProcess(host, scenario)
    q.start()
    try:
        for name in names:
            seen = len(q.stderr())
            try:
                reply = q.execute("device_add", {"driver": name, HOTPLUG_PROBE_PROPERTY: "on"})
            except QMPConnectionLost:
                q.stop()
                print(
                    f"  device_add {name} on {scenario.machine}: QEMU exited with"
                    f" {q.returncode}: {q.stderr()[seen:].strip()}",
                    file=sys.stderr,
                )
                answers[name] = None
                q.start()
                continue
            answers[name] = hotplug_answer(name, reply)
    finally:
        q.stop()
    return answers


def probe_hotpluggable(
    host: Host, names: list[str], types: Collection[str]
) -> tuple[dict[str, bool], list[list[str]]]:
    """``DeviceClass.hotpluggable`` of the user-creatable types ``names``,
    as ``device_add`` shows it (:func:`hotplug_answer`): each type is asked
    on the machines of :data:`HOTPLUG_PROBE_MACHINES` in turn until one
    answers.  Returns the answers and the command lines (argv) of the
    machines asked.  ``types``: every device type of the build."""
    answers: dict[str, bool] = {}
    argvs: list[list[str]] = []
    pending = list(names)
    argv0 = host.target.argv0
    for machine in host.target.hotplug_machines:
        if not pending:
            break
        scenario = machine.scenario(types)
        argvs.append([argv0, *scenario.argv(argv0, Path(TMP_PLACEHOLDER))[1:]])
        workers = min(HOTPLUG_WORKERS, len(pending))
        hosts = []
        for i in range(workers):
            tmpdir = host.tmpdir / f"hotplug-{machine.name}-{i}"
            tmpdir.mkdir()
            hosts.append(host.sibling(tmpdir))
        batches = [pending[i::workers] for i in range(workers)]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(_probe_batch, hosts, [scenario] * workers, batches))
        for result in results:
            answers.update({n: v for n, v in result.items() if v is not None})
        answered = len(pending)
        pending = [n for n in pending if n not in answers]
        print(
            f"  hot-plug probes on {machine.name}: {answered - len(pending)} answered",
            file=sys.stderr,
        )
    if pending:
        print(f"  hot-plug probes: no machine answered for {' '.join(pending)}", file=sys.stderr)
    return answers, argvs


# The class flag as QEMU's source sets it, for the types no probe can ask:
# those that are not user-creatable (QEMU refuses them before it looks) and
# those whose bus no probe machine has (Xen's; VMBus, which needs KVM).

#: ``<class>->hotpluggable = true|false;``: the statements that set the flag
_HOTPLUGGABLE_SET = re.compile(
    r"^(?P<indent>[ \t]*)\w+->hotpluggable\s*=\s*(?P<value>true|false)\s*;", re.M
)
_C_FUNCTION = re.compile(
    r"^(?:static\s+)?(?:inline\s+)?void\s+(?P<name>\w+)\s*\([^;{)]*\)\s*\{", re.M
)
_C_DEFINE = re.compile(r'^#define\s+(?P<macro>\w+)\s+(?P<value>"[^"\n]*"|\w+)[ \t]*$', re.M)
#: the fields of a TypeInfo (or VirtioPCIDeviceTypeInfo) initializer that name types
_TYPE_NAME_FIELD = re.compile(
    r"\.(?P<key>name|base_name|generic_name|transitional_name|non_transitional_name)"
    r"\s*=\s*(?P<value>\"[^\"\n]*\"|\w+)"
)
_CLASS_INIT_FIELD = re.compile(r"\.class_init\s*=\s*(?P<fn>\w+)")
#: OBJECT_DEFINE_TYPE(ModuleObjName, module_obj_name, MODULE_OBJ_NAME, ...) and its variants
_OBJECT_DEFINE = re.compile(
    r"\bOBJECT_DEFINE_(?:SIMPLE_|ABSTRACT_)?TYPE(?:_WITH_INTERFACES)?\s*\(\s*\w+\s*,"
    r"\s*(?P<lower>\w+)\s*,\s*(?P<upper>\w+)"
)
#: parts of a QEMU tree that declare no device type of the system emulator
_SOURCE_SKIP = {"tests", "roms", "subprojects", "linux-user", "bsd-user", "build", "debian"}


def _enclosing_braces(text: str, pos: int) -> tuple[int, int]:
    """Where the innermost ``{...}`` around ``pos`` starts and ends."""
    depth, start = 0, pos
    while start > 0:
        start -= 1
        if text[start] == "}":
            depth += 1
        elif text[start] == "{":
            if depth == 0:
                break
            depth -= 1
    depth, end = 0, pos
    while end < len(text):
        if text[end] == "{":
            depth += 1
        elif text[end] == "}":
            if depth == 0:
                break
            depth -= 1
        end += 1
    return start, end + 1


def _enclosing_function(text: str, pos: int) -> str | None:
    """The C function (``void name(...) {``) whose body holds ``pos``."""
    best = None
    for m in _C_FUNCTION.finditer(text, 0, pos):
        best = m
    if best is None or text.find("\n}", best.end()) < pos:
        return None
    return best["name"]


@dataclass
class SourceClasses:
    """What a QEMU tree's class_init functions do with ``DeviceClass.hotpluggable``."""

    #: the QEMU version of the tree (its VERSION file, and the Debian
    #: package's version where the tree has debian/changelog)
    version: str
    #: every type a TypeInfo-like initializer declares with its class_init
    declared: set[str]
    #: type -> (value, "file:line") where its class_init sets the flag;
    #: value None: conditionally (the USB controllers' class data), or two
    #: declarations of the type disagree
    sets: dict[str, tuple[bool | None, str]]


def _flag_setters(rel: str, text: str) -> dict[str, tuple[bool | None, str]]:
    """The functions of one C file that set ``hotpluggable``, directly or
    through a function of the file they call: (value, "file:line"), the
    value None when the statement is conditional (indented in a block)."""
    sets: dict[str, tuple[bool | None, str]] = {}
    for m in _HOTPLUGGABLE_SET.finditer(text):
        fn = _enclosing_function(text, m.start())
        where = f"{rel}:{text.count(chr(10), 0, m.start()) + 1}"
        if fn is None:
            raise SystemExit(f"{where}: hotpluggable set outside a function")
        conditional = len(m["indent"].expandtabs(8)) > 4
        sets[fn] = (None if conditional else m["value"] == "true", where)
    for _ in range(3):
        for fn, effect in list(sets.items()):
            for call in re.finditer(rf"\b{fn}\s*\(", text):
                caller = _enclosing_function(text, call.start())
                if caller is not None and caller != fn:
                    sets.setdefault(caller, effect)
    return sets


def _type_declarations(
    text: str, resolve: Callable[[str, str], str | None]
) -> list[tuple[str, str | None]]:
    """(type, its class_init function or None) of every TypeInfo-like
    initializer of one C file; ``resolve`` makes a type name of a string
    literal or macro."""
    found: list[tuple[str | None, str | None]] = []
    blocks = {_enclosing_braces(text, m.start()) for m in _TYPE_NAME_FIELD.finditer(text)}
    for start, end in sorted(blocks):
        block = text[start:end]
        fields: dict[str, str | None] = {}
        for m in _TYPE_NAME_FIELD.finditer(block):
            # the block's own fields, not those of a block inside it
            if _enclosing_braces(block, m.start()) == (0, len(block)):
                fields.setdefault(m["key"], resolve(m["value"], text))
        class_init = _CLASS_INIT_FIELD.search(block)
        fn = class_init["fn"] if class_init is not None else None
        if ".parent" not in block and fn is None and "base_name" not in fields:
            continue  # a VMStateDescription or the like
        if "base_name" in fields:
            # VirtioPCIDeviceTypeInfo: virtio_pci_types_register() gives the
            # class_init to the base type, or to the generic type when there
            # is none (under an intermediate "<generic>-base-type")
            found += [(fields["base_name"], fn), (fields.get("generic_name"), None)]
        elif "generic_name" in fields:
            generic = fields["generic_name"]
            found += [(generic, fn), (f"{generic}-base-type" if generic else None, None)]
        else:
            found.append((fields.get("name"), fn))
        found.append((fields.get("transitional_name"), None))
        found.append((fields.get("non_transitional_name"), None))
    for m in _OBJECT_DEFINE.finditer(text):
        found.append((resolve(f"TYPE_{m['upper']}", text), f"{m['lower']}_class_init"))
    return [(name, fn) for name, fn in found if name is not None]


def read_source_classes(tree: Path) -> SourceClasses:
    """Read ``tree``: which type's class_init sets ``hotpluggable``, and to what.

    A reading of C good for QEMU's idioms (TypeInfo initializers and arrays
    of them, VirtioPCIDeviceTypeInfo, OBJECT_DEFINE_TYPE; a flag set by a
    function the class_init calls), not a C parser: a statement it cannot
    attribute to a declared type stops the recording.
    """
    texts: dict[str, str] = {}
    for path in sorted(tree.rglob("*.[ch]")):
        parts = path.relative_to(tree).parts
        if parts[0] in _SOURCE_SKIP or not path.is_file():
            continue
        texts["/".join(parts)] = path.read_text(encoding="utf-8", errors="replace")
    defines: dict[str, set[str]] = {}
    for text in texts.values():
        for m in _C_DEFINE.finditer(text):
            defines.setdefault(m["macro"], set()).add(m["value"])

    def resolve(value: str, text: str) -> str | None:
        for _ in range(5):
            if value.startswith('"'):
                return value[1:-1]
            local = {m["value"] for m in _C_DEFINE.finditer(text) if m["macro"] == value}
            found = local or defines.get(value, set())
            if len(found) != 1:
                return None
            value = next(iter(found))
        return None

    declared: set[str] = set()
    effects: dict[str, list[tuple[bool | None, str] | None]] = {}
    unattributed: set[str] = set()
    for rel, text in texts.items():
        if not rel.endswith(".c"):
            continue
        sets = _flag_setters(rel, text)
        declarations = _type_declarations(text, resolve)
        for name, fn in declarations:
            declared.add(name)
            effects.setdefault(name, []).append(sets.get(fn) if fn is not None else None)
        attributed = {sets[fn][1] for _, fn in declarations if fn is not None and fn in sets}
        unattributed.update(
            f"{where} ({fn})"
            for fn, (value, where) in sets.items()
            if value is not None and where not in attributed
        )
    if unattributed:
        raise SystemExit(
            "hotpluggable set where no declared type's class_init is seen to set it: "
            + ", ".join(sorted(unattributed))
        )
    result: dict[str, tuple[bool | None, str]] = {}
    for name, found in effects.items():
        if all(e is None for e in found):
            continue
        if len(set(found)) > 1:
            result[name] = (None, "; ".join(sorted(e[1] if e else "unset" for e in found)))
        else:
            effect = found[0]
            assert effect is not None
            result[name] = effect
    version = (tree / "VERSION").read_text(encoding="utf-8").strip()
    changelog = tree / "debian" / "changelog"
    if changelog.exists():
        first = changelog.read_text(encoding="utf-8").split("\n", 1)[0]
        if (debian := re.match(r"\S+ \((?P<version>[^)]+)\)", first)) is not None:
            version += f" (Debian {debian['version']})"
    return SourceClasses(version, declared, result)


def derive_hotpluggable(
    classes: SourceClasses, parents: dict[str, str | None], name: str
) -> tuple[bool | None, str]:
    """The flag the class of ``name`` gets from the class_init functions of
    its QOM chain: the nearest that sets it (``device_class_init()`` sets
    true for every device), and which type's class_init that is.  None
    where a type of the chain has no class_init the tree shows (its
    TypeInfo is made at run time: CPU models, the USB controllers' tables)
    or sets it conditionally."""
    current: str | None = name
    while current is not None:
        if current in classes.sets:
            return classes.sets[current][0], current
        if current not in classes.declared:
            return None, current
        current = parents.get(current)
    return None, name


#: The id every instance of :func:`record_instances` gets: the names of the
#: buses it owns start with it ("dev0.0"), which memdevd replaces by the id
#: of its device.
INSTANCE_ID = "dev0"
#: What a type whose instance cannot be made without them is given, on a
#: second try: the backends its properties of this name link to.
INSTANCE_BACKENDS = {
    "drive": (["-blockdev", "null-co,node-name=probe-disk,size=1048576"], "probe-disk"),
    "chardev": (["-chardev", "null,id=probe-chr"], "probe-chr"),
    "serial": ([], "probe"),
    "audiodev": (["-audiodev", "none,id=probe-snd"], "probe-snd"),
    "memdev": (["-object", "memory-backend-ram,id=probe-mem,size=1048576"], "probe-mem"),
    "chassis_nr": ([], "1"),
}


def _instance_try(
    host: Host,
    machine: HotplugProbeMachine,
    types: Collection[str],
    device: dict[str, str],
    extra: list[str],
) -> JSON:
    """``qom-list`` of ``-device DEVICE,id=dev0`` on a paused ``machine``,
    or ``{"error": what QEMU printed}`` when it did not start; where it
    did, ``hot``: the ``qom-list`` of the same device hot-plugged on that
    machine (``device_add``), or its refusal."""
    base = machine.scenario(types)
    option = ",".join([device["driver"], *(f"{k}={v}" for k, v in device.items() if k != "driver")])
    args = [*base.args, *extra, "-device", option]
    q = QemuProcess(host, Scenario(base.name, base.machine, args))
    try:
        q.start()
    except (RuntimeError, QMPConnectionLost):
        q.stop_quietly()
        return {"error": q.stderr().strip()}
    try:
        reply = q.execute("qom-list", {"path": f"/machine/peripheral/{INSTANCE_ID}"})
    finally:
        q.stop()
    q = QemuProcess(host, Scenario(base.name, base.machine, [*base.args, *extra]))
    q.start()
    try:
        added = q.execute("device_add", device)
        if "return" in added:
            added = q.execute("qom-list", {"path": f"/machine/peripheral/{INSTANCE_ID}"})
    finally:
        q.stop()
    return {**reply, "hot": added}


def _instance_of(host: Host, name: str, fills: list[str], types: Collection[str]) -> JSON:
    """The ``qom-list`` of a realized instance of ``name``: cold-plugged on the
    first probe machine that takes it, with the backends of ``fills``
    (:data:`INSTANCE_BACKENDS`) on a second try; ``{"error": ...}`` else.
    With it (``hot``) the same device hot-plugged: a PCI device's bus master
    regions are made at once rather than once the machine is done, and
    the hash table comes out in another order."""
    reply: JSON = {}
    for extra_try in ([], fills) if fills else ([],):
        extra: list[str] = []
        device = {"driver": name, "id": INSTANCE_ID}
        for prop in extra_try:
            args, value = INSTANCE_BACKENDS[prop]
            extra += args
            device[prop] = value
        for machine in host.target.hotplug_machines:
            reply = _instance_try(host, machine, types, device, extra)
            if "return" in reply:
                return reply
    return reply


def _ancestors(parents: dict[str, str | None], name: str) -> list[str]:
    chain = []
    parent = parents.get(name)
    while parent is not None:
        chain.append(parent)
        parent = parents.get(parent)
    return chain


def record_instances(
    host: Host, names: list[str], fills: dict[str, list[str]], types: Collection[str]
) -> dict[str, JSON]:
    """``qom-list`` of a realized instance of each type of ``names`` (each in
    a QEMU of its own: an instance's properties are those of the new object
    plus what realize adds, its memory regions and buses, in the order of
    QEMU's hash table once they are in; see the data README)."""
    workers = HOTPLUG_WORKERS
    hosts = []
    for i in range(workers):
        tmpdir = host.tmpdir / f"instances-{i}"
        tmpdir.mkdir()
        hosts.append(host.sibling(tmpdir))
    batches = [names[i::workers] for i in range(workers)]

    def batch(h: Host, part: list[str]) -> dict[str, JSON]:
        return {n: _instance_of(h, n, fills.get(n, []), types) for n in part}

    out: dict[str, JSON] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for result in pool.map(batch, hosts, batches):
            out.update(result)
    made = [n for n in names if "return" in out[n]]
    hot = [n for n in made if "return" in out[n]["hot"]]
    print(
        f"  instances: {len(made)} of {len(names)} made, {len(hot)} of them hot-plugged too",
        file=sys.stderr,
    )
    return out


def encode_qom_list(
    qom: list[JSON], listing: list[JSON], table: list[JSON], where: dict[str, int]
) -> str:
    """An instance's ``qom-list`` (``listing``) as devices.json writes it:
    an entry of the type's ``qom-list-properties`` (``qom``) is its position
    there, runs of consecutive positions as ranges; another (what realize
    added) is ``c<N>``, N its index in ``table`` (appended to, ``where``
    indexes it)."""
    position = {p["name"]: i for i, p in enumerate(qom)}
    tokens: list[str] = []
    run: list[int] = []

    def flush() -> None:
        if run:
            tokens.append(format_runs(run))
            run.clear()

    for entry in listing:
        i = position.get(entry["name"])
        if i is not None and qom[i]["type"] == entry["type"] and (not run or i == run[-1] + 1):
            run.append(i)
            continue
        if i is not None and qom[i]["type"] == entry["type"]:
            flush()
            run.append(i)
            continue
        flush()
        key = json.dumps([entry["name"], entry["type"]])
        if key not in where:
            where[key] = len(table)
            table.append([entry["name"], entry["type"]])
        tokens.append(f"c{where[key]}")
    flush()
    return " ".join(tokens)


def format_runs(run: list[int]) -> str:
    return str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}"


def _without_default(prop: JSON) -> JSON:
    return {k: v for k, v in prop.items() if k != "default-value"}


def record_devices(
    host: Host,
    source: SourceClasses | None = None,
    previous: JSON | None = None,
    source_release: str | None = None,
) -> JSON:
    """devices.json: every non-abstract device type with its properties
    (``device-list-properties`` and ``qom-list-properties``), whether its
    class is hot-pluggable, ``info qdm``'s fields, the aliases, ``-device
    help`` and samples of ``-device NAME,help``.

    A type whose device-list-properties or qom-list-properties makes QEMU
    exit is recorded with what QEMU printed and its exit status, and the
    next question is asked of a new QEMU.  The hot-plug flag is probed
    (:func:`probe_hotpluggable`) for the user-creatable types; ``source``
    (the release's tree) gives it for the others where it can
    (:func:`derive_hotpluggable`) and is checked against every probe.
    Without ``source`` the flags ``previous`` (the committed devices.json)
    derived from source are kept, for types still no probe answers.
    ``source_release`` (the recorded release, e.g. "11.1"): where the tree
    is of another release, a probe that disagrees with it is kept (and
    named on stderr) rather than an error.
    """
    from memdevd.releases.recorded import format_index_ranges, parse_index_ranges

    q = QemuProcess(host, host.target.devices_scenario)

    def start() -> JSON:
        # qom-list-types loads every module, as it did for the first type
        q.start()
        return q.execute("qom-list-types", {"implements": "device", "abstract": False})

    listed = start()
    replies: dict[str, JSON] = {}
    qom_replies: dict[str, JSON] = {}
    aborts: dict[str, JSON] = {}
    qom_aborts: dict[str, JSON] = {}
    try:
        names = sorted(t["name"] for t in listed["return"])
        every = q.execute("qom-list-types", {"abstract": True})["return"]
        parents: dict[str, str | None] = {t["name"]: t.get("parent") for t in every}
        qdm = q.execute("human-monitor-command", {"command-line": "info qdm"})["return"]
        for name in names:
            for command, answers, exits in (
                ("device-list-properties", replies, aborts),
                ("qom-list-properties", qom_replies, qom_aborts),
            ):
                seen = len(q.stderr())
                try:
                    answers[name] = q.execute(command, {"typename": name})
                except QMPConnectionLost:
                    q.stop()
                    exits[name] = {"stderr": q.stderr()[seen:], "exit-status": q.returncode}
                    print(f"  {command} {name}: QEMU exited", file=sys.stderr)
                    start()
        argv = q.recorded_argv()
    finally:
        q.stop()

    # HMP output ends its lines with "\r\n" (monitor_puts).
    categories, infos = parse_devinfos(qdm.replace("\r\n", "\n"))
    if sorted(infos) != names:
        raise SystemExit(f"info qdm lists other types than qom-list-types: {sorted(infos)}")

    device_help = run_once(host, ["-device", "help"])
    _, listed_infos = parse_devinfos(device_help["stdout"])
    user_creatable = sorted(n for n, f in infos.items() if f["user-creatable"])
    if sorted(listed_infos) != user_creatable or any(
        f != infos[n] for n, f in listed_infos.items()
    ):
        raise SystemExit("-device help does not list the user-creatable types of info qdm")

    for command, answers in (
        ("device-list-properties", replies),
        ("qom-list-properties", qom_replies),
    ):
        for name, reply in answers.items():
            if "return" not in reply:
                raise SystemExit(f"{command} {name}: {reply}")
            for prop in reply["return"]:
                _check_key_order(name, prop)
    # 7.2's qom-list-properties reports no default-value at all
    # (qmp_qom_list_properties() sets none): its entries are then the
    # device-list-properties entries of the same name without it.
    qom_defaults = any("default-value" in p for r in qom_replies.values() for p in r["return"])

    table: list[JSON] = []
    where: dict[str, int] = {}

    def index(prop: JSON) -> int:
        key = json.dumps(prop, sort_keys=True)
        if key not in where:
            where[key] = len(table)
            table.append(prop)
        return where[key]

    types: dict[str, JSON] = {}
    for name in names:
        entry = dict(infos[name])
        # each type's qom-list-properties first: device-list-properties is
        # the same list without a few entries, so both share runs of indices
        props = replies[name]["return"] if name in replies else []
        by_name = {p["name"]: p for p in props}
        qom_indices: list[int] = []
        for prop in qom_replies[name]["return"] if name in qom_replies else []:
            same = by_name.get(prop["name"])
            if same is not None and (
                same == prop or (not qom_defaults and _without_default(same) == prop)
            ):
                prop = same
            qom_indices.append(index(prop))
        indices = [index(prop) for prop in props]
        entry["properties"] = format_index_ranges(indices)
        entry["qom-properties"] = format_index_ranges(qom_indices)
        assert parse_index_ranges(entry["properties"]) == indices
        assert parse_index_ranges(entry["qom-properties"]) == qom_indices
        if name in qom_replies:
            read = [table[i] if qom_defaults else _without_default(table[i]) for i in qom_indices]
            assert read == qom_replies[name]["return"], name
        if name in aborts:
            entry["aborts"] = aborts[name]
        if name in qom_aborts:
            entry["qom-aborts"] = qom_aborts[name]
        types[name] = entry

    # DeviceClass.hotpluggable: probed where QEMU tells, else from the source
    hotpluggable, probe_argvs = probe_hotpluggable(host, user_creatable, names)
    derived: dict[str, tuple[bool, str]] = {}
    if source is not None:
        for name in names:
            value, decider = derive_hotpluggable(source, parents, name)
            probed = hotpluggable.get(name)
            if value is None:
                continue
            if probed is not None and probed != value:
                found = source.sets.get(decider, (None, "no statement: device_class_init()"))[1]
                text = (
                    f"{name}: device_add says hotpluggable={probed}, but the source has"
                    f" {value} from {decider}'s class_init ({found})"
                )
                if source_release is None or source.version.startswith(source_release + "."):
                    raise SystemExit(text)
                # An older tree (11.1's binary, 10.0's source): the binary is right.
                print(f"  {text}: the probe is kept (source {source.version})", file=sys.stderr)
                continue
            if probed is None:
                derived[name] = (value, decider)
    elif previous is not None:
        for name, old in previous["types"].items():
            if "hotpluggable-from" in old and name in types and name not in hotpluggable:
                derived[name] = (old["hotpluggable"], old["hotpluggable-from"])
    for name, entry in types.items():
        if name in derived:
            entry["hotpluggable"], entry["hotpluggable-from"] = derived[name]
        else:
            entry["hotpluggable"] = hotpluggable.get(name)
    unknown = [n for n, e in types.items() if e["hotpluggable"] is None]
    print(
        f"  hotpluggable: {len(hotpluggable)} probed, {len(derived)} from source,"
        f" {len(unknown)} unknown{': ' if unknown else ''}{' '.join(unknown)}",
        file=sys.stderr,
    )

    # qom-list of a realized instance, where one can be made (vCPUs apart:
    # a -device of a CPU model needs the machine's -cpu and its topology)
    makeable = [
        n
        for n in user_creatable
        if "cpu" not in _ancestors(parents, n) and n not in aborts and n not in qom_aborts
    ]
    fills = {
        n: [p["name"] for p in replies[n]["return"] if p["name"] in INSTANCE_BACKENDS]
        for n in makeable
    }
    instances = record_instances(host, makeable, fills, names)
    children: list[JSON] = []
    child_index: dict[str, int] = {}
    for name in makeable:
        reply = instances[name]
        if "return" in reply:
            qom = qom_replies[name]["return"]
            types[name]["qom-list"] = encode_qom_list(qom, reply["return"], children, child_index)
            hot = reply["hot"]
            if "return" in hot and hot["return"] != reply["return"]:
                types[name]["qom-list-hot"] = encode_qom_list(
                    qom, hot["return"], children, child_index
                )

    by_alias = {f["alias"]: n for n, f in infos.items() if "alias" in f}
    candidates = sorted({*DEVICE_ALIAS_CANDIDATES, *by_alias})
    samples = list(host.target.device_help_samples)
    samples += [n for n in names if not types[n]["properties"] and n not in aborts][:1]
    samples += sorted(aborts)
    with ThreadPoolExecutor(max_workers=4) as pool:
        alias_runs = list(pool.map(lambda a: run_once(host, ["-device", f"{a},help"]), candidates))
        sample_runs = list(pool.map(lambda s: run_once(host, ["-device", f"{s},help"]), samples))
    aliases: dict[str, str] = {}
    for alias, run in zip(candidates, alias_runs, strict=True):
        subject = _help_subject(run) or by_alias.get(alias)
        if subject is None or subject != by_alias.get(alias, subject):
            raise SystemExit(f"-device {alias},help: which type it names is unclear: {run}")
        if subject != alias:
            aliases[alias] = subject

    doc = {
        "argv": argv,
        "categories": categories,
        "types": types,
        "properties": table,
        "qom-list-properties-defaults": qom_defaults,
        "qom-list-children": children,
        "instance-id": INSTANCE_ID,
        "hotplug-probes": probe_argvs,
        "aliases": aliases,
        "device-help": device_help,
        "type-help": dict(zip(samples, sample_runs, strict=True)),
    }
    if source is not None and derived:
        doc["hotpluggable-source"] = source.version
    elif previous is not None and derived:
        doc["hotpluggable-source"] = previous["hotpluggable-source"]
    return doc


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    """What is recorded of one QEMU target (``qemu-system-<name>``): its
    scenarios, the questions asked, the machines the catalog probes use."""

    name: str
    argv0: str
    #: the memory scenarios; the one named "default" asks the capability queries
    scenarios: list[Scenario]
    capability_queries: list[tuple[str, str, dict[str, JSON]]]
    memory_queries: list[tuple[str, dict[str, JSON]]]
    machine_properties: list[str]
    device_list_properties_types: list[str]
    qom_list_properties_types: list[str]
    libvirt_probe: list[tuple[str, dict[str, JSON]]]
    cpu_scenarios: list[CpuScenario]
    hotplug_machines: list[HotplugProbeMachine]
    devices_scenario: Scenario
    device_help_samples: list[str]
    #: the machine families samples.json chooses instances for ("": any)
    families: tuple[str, ...]


X86_64 = Target(
    name="x86_64",
    argv0=ARGV0,
    scenarios=SCENARIOS,
    capability_queries=CAPABILITY_QUERIES,
    memory_queries=MEMORY_QUERIES,
    machine_properties=MACHINE_PROPERTIES,
    device_list_properties_types=DEVICE_LIST_PROPERTIES_TYPES,
    qom_list_properties_types=QOM_LIST_PROPERTIES_TYPES,
    libvirt_probe=LIBVIRT_PROBE,
    cpu_scenarios=CPU_SCENARIOS,
    hotplug_machines=HOTPLUG_PROBE_MACHINES,
    devices_scenario=DEVICES_SCENARIO,
    device_help_samples=DEVICE_HELP_SAMPLES,
    families=("", "pc", "q35"),
)

# aarch64: the arm64 ``virt`` board.  It has no default machine type (QEMU
# refuses to start without -machine), so every scenario names ``virt``.
# Memory hot-plug of DIMMs goes through the ACPI GED, which virt creates
# only for a 64-bit CPU when firmware is loaded and ACPI is on
# (hw/arm/virt.c: ``firmware_loaded && virt_is_acpi_enabled()``); without
# it pc-dimm/nvdimm are refused ("memory hotplug is not enabled: missing
# acpi-ged device").  The ``fw`` scenarios load a dummy firmware (zeros in
# @TMPDIR@/bios.bin: with -S nothing runs) to get the GED; the others run
# without firmware, as QEMU is usually probed.  pcie.0 (gpex) takes
# cold-plugged devices but refuses hot-plug, so hot-plugged virtio devices
# get root ports.
AARCH64_ARGV0 = "qemu-system-aarch64"
AARCH64_CPU = "max"
AARCH64_BIOS = "bios.bin"
AARCH64_FILES = {AARCH64_BIOS: 64 * 1024}
AARCH64_FW = ["-bios", f"{TMP_PLACEHOLDER}/{AARCH64_BIOS}"]
AARCH64_MEMORY = ["-cpu", AARCH64_CPU, *MEMORY_ARGS]


def _aarch64_cold_plug_args() -> list[str]:
    """x86's cold-plugged devices on pcie.0 but virtio-pmem-pci, which no
    qemu-system-aarch64 has (no VIRTIO_PMEM_SUPPORTED on ARM; the hot-plug
    scenarios record device_add's refusal)."""
    args = _cold_plug_args("virt")[2 + len(MEMORY_ARGS) :]
    pmem = args.index("virtio-pmem-pci,id=vpmem0,memdev=mem-vpmem0,bus=pcie.0")
    del args[pmem - 3 : pmem + 1]
    return ["-machine", "virt,nvdimm=on", *AARCH64_FW, *AARCH64_MEMORY, *args]


AARCH64_SCENARIOS: list[Scenario] = [
    Scenario("default", "virt", ["-machine", "virt"], capability_queries=True),
    Scenario("virt-empty", "virt", ["-machine", "virt,nvdimm=on", *AARCH64_MEMORY]),
    Scenario(
        "virt-fw-empty",
        "virt",
        ["-machine", "virt,nvdimm=on", *AARCH64_FW, *AARCH64_MEMORY],
        files=AARCH64_FILES,
    ),
    Scenario("virt-fw-cold", "virt", _aarch64_cold_plug_args(), files=AARCH64_FILES),
    Scenario(
        "virt-fw-hot",
        "virt",
        ["-machine", "virt,nvdimm=on", *AARCH64_FW, *AARCH64_MEMORY, *_root_ports(3)],
        _hot_plug_setup("virt"),
        files=AARCH64_FILES,
    ),
    # no firmware, no GED: the DIMMs are refused, the virtio devices plug
    Scenario(
        "virt-hot",
        "virt",
        ["-machine", "virt,nvdimm=on", *AARCH64_MEMORY, *_root_ports(3)],
        _hot_plug_setup("virt"),
    ),
]

#: The ARM CPU accepts only ``full`` expansions (the others are refused,
#: which is recorded too); ``host`` needs KVM.
AARCH64_CPU_MODEL_EXPANSIONS: list[dict[str, JSON]] = [
    {"type": "full", "model": {"name": "host"}},
    # libvirt 9.0's second "host" question (virQEMUCapsProbeQMPHostCPU, as on x86)
    {
        "type": "full",
        "model": {"name": "host", "props": {"migratable": False, "hv-passthrough": True}},
    },
    {"type": "full", "model": {"name": "max"}},
    {"type": "static", "model": {"name": "max"}},
    {"type": "full", "model": {"name": "max", "props": {"sve": False}}},
    {"type": "full", "model": {"name": "cortex-a57"}},
    {"type": "full", "model": {"name": "cortex-a15"}},
]

AARCH64_CAPABILITY_QUERIES: list[tuple[str, str, dict[str, JSON]]] = [
    *[q for q in CAPABILITY_QUERIES if not q[0].startswith("query-cpu-model-expansion:")],
    ("query-gic-capabilities", "query-gic-capabilities", {}),
    *[(_expansion_label(a), "query-cpu-model-expansion", a) for a in AARCH64_CPU_MODEL_EXPANSIONS],
]

AARCH64_MACHINE_PROPERTIES = [
    *MACHINE_PROPERTIES,
    "highmem",
    "gic-version",
    "acpi",
    "iommu",
]

AARCH64_DEVICE_LIST_PROPERTIES_TYPES = [
    *DEVICE_LIST_PROPERTIES_TYPES,
    "acpi-ged",
    "gpex-pcihost",
]

AARCH64_QOM_LIST_PROPERTIES_TYPES = [
    *(t for t in QOM_LIST_PROPERTIES_TYPES if t != "max-x86_64-cpu"),
    "max-arm-cpu",
    "cortex-a57-arm-cpu",
    "virt-machine",
    # what libvirt's probe asks (the concrete type: its instance's
    # properties, pflash0, nvdimm...; every virt-X.Y-machine has the same)
    canonical_machine_type("virt"),
    "acpi-ged",
]

#: libvirt 9.0's probe of an ARM emulator: the x86 questions with the ARM
#: CPU's type, the properties of the machine type ``virt`` stands for
#: (virQEMUCapsProbeQMPMachineProps asks them of "virt" and "none" where the
#: binary has them: ``qom-list-properties virt-7.2-machine`` of the 7.2
#: binary), its expansions, and query-gic-capabilities
#: (virQEMUCapsProbeQMPGICCapabilities, asked for ARM only).  libvirt does not
#: ask an ARM binary query-sev-capabilities nor query-sgx-capabilities: they
#: are recorded all the same (the questions after libvirt's are extra).
AARCH64_LIBVIRT_PROBE: list[tuple[str, dict[str, JSON]]] = [
    *[
        r
        for q in LIBVIRT_PROBE
        if q[0] != "query-cpu-model-expansion"
        for r in (
            [("qom-list-properties", {"typename": "max-arm-cpu"})]
            if q == ("qom-list-properties", {"typename": "max-x86_64-cpu"})
            else [("qom-list-properties", {"typename": canonical_machine_type("virt")}), q]
            if q == ("qom-list-properties", {"typename": "none-machine"})
            else [q]
        )
    ],
    ("query-gic-capabilities", {}),
    *[("query-cpu-model-expansion", a) for a in AARCH64_CPU_MODEL_EXPANSIONS],
]

#: cortex-a57 is a fixed model; max is libvirt's maximum / host-model under
#: TCG; with KVM (an arm64 host only) host-passthrough gives "host".
AARCH64_CPU_SCENARIOS = [
    CpuScenario(
        "tcg-cortex-a57", "tcg", "cortex-a57", 1, sample=True, qom_set=True, machine="virt"
    ),
    CpuScenario("tcg-max", "tcg", "max", 1, sample=True, machine="virt"),
    CpuScenario("tcg-cortex-a57-smp2", "tcg", "cortex-a57", 2, sample=False, machine="virt"),
    CpuScenario("kvm-host", "kvm", "host", 1, sample=True, machine="virt"),
]

#: virt has pcie.0, 32 virtio-mmio transports and the platform bus for the
#: dynamic sysbus devices; the same bus providers as pc's where built, and
#: an AHCI for the IDE buses.  The I2C, SSI (SPI flash), FSI and I3C
#: devices of the ARM boards get their buses on an Aspeed AST2600 board.
AARCH64_HOTPLUG_PROBE_MACHINES = [
    HotplugProbeMachine("virt", (*HOTPLUG_PROBE_MACHINES[0].bus_providers, "ich9-ahci")),
    HotplugProbeMachine("ast2600-evb"),
]

AARCH64 = Target(
    name="aarch64",
    argv0=AARCH64_ARGV0,
    scenarios=AARCH64_SCENARIOS,
    capability_queries=AARCH64_CAPABILITY_QUERIES,
    memory_queries=MEMORY_QUERIES,
    machine_properties=AARCH64_MACHINE_PROPERTIES,
    device_list_properties_types=AARCH64_DEVICE_LIST_PROPERTIES_TYPES,
    qom_list_properties_types=AARCH64_QOM_LIST_PROPERTIES_TYPES,
    libvirt_probe=AARCH64_LIBVIRT_PROBE,
    cpu_scenarios=AARCH64_CPU_SCENARIOS,
    hotplug_machines=AARCH64_HOTPLUG_PROBE_MACHINES,
    devices_scenario=Scenario("devices", "virt", ["-machine", "virt"]),
    # not acpi-ged: 7.2's -device acpi-ged,help reads uninitialised memory
    # (an assertion or a failed allocation of some GiB, by chance)
    device_help_samples=[*DEVICE_HELP_SAMPLES, "virtio-mmio"],
    families=("", "virt"),
)

TARGETS: dict[str, Target] = {t.name: t for t in (X86_64, AARCH64)}


def qemu_version_output(qemu: str) -> str:
    out = subprocess.run(
        [qemu, "--version"], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    return out.splitlines()[0] if out else ""


def _kvm_parts_that_work(
    host: Host,
    label: str,
    accels: list[str],
    cpu_scenarios: list[CpuScenario],
    skipped: dict[str, str],
) -> tuple[list[str], list[CpuScenario]]:
    """The probe sessions and vCPU scenarios to record: each KVM part first
    finds out whether KVM works here for it (those that cannot are named in
    ``skipped``); one recorded as differences from a skipped sample is
    skipped with it."""
    kvm_parts = [(f"probe-{a}", _probe_scenario(a)) for a in accels if a == "kvm"]
    kvm_parts += [(f"cpu-{c.name}", c.scenario()) for c in cpu_scenarios if c.accel == "kvm"]
    for part, scenario in kvm_parts:
        if (problem := kvm_problem(host, scenario)) is not None:
            skipped[part] = f"KVM does not work here: {problem}"
    for c in cpu_scenarios:
        sample = next(
            s
            for s in host.target.cpu_scenarios
            if s.sample and (s.accel, s.model) == (c.accel, c.model)
        )
        if f"cpu-{sample.name}" in skipped:
            skipped.setdefault(f"cpu-{c.name}", f"its sample cpu-{sample.name} is not recorded")
    for part, reason in skipped.items():
        print(f"not recording {label} {part}: {reason}", file=sys.stderr)
    accels = [a for a in accels if f"probe-{a}" not in skipped]
    cpu_scenarios = [c for c in cpu_scenarios if f"cpu-{c.name}" not in skipped]
    return accels, cpu_scenarios


def record(
    qemu: str,
    label: str,
    out: Path,
    mask_dirs: list[str],
    kvm: bool = True,
    skipped: dict[str, str] | None = None,
    only: str | None = None,
    source: Path | None = None,
    previous: Path | None = None,
    target: Target | None = None,
) -> None:
    """Record every scenario of ``target`` (default x86_64) with ``qemu`` and
    write the data files into ``out``.

    With ``kvm`` false the KVM probe session and the KVM vCPU scenarios are
    left out; with ``kvm`` true each of them that KVM cannot run on this
    host (:func:`kvm_problem`) is, and named with the reason in
    ``skipped`` (part name -> reason) and on stderr.  ``only``
    (:data:`DEVICES_FILE`) records and writes that file alone, leaving the
    other files in ``out`` as they are.  ``source``: the release's QEMU
    source tree, for the hot-plug flags no probe answers; without it those
    of ``previous`` (default: ``out``'s devices.json) are kept.
    """
    if previous is None:
        previous = out / DEVICES_FILE
    old_devices = (
        json.loads(previous.read_text(encoding="utf-8"))
        if source is None and previous.exists()
        else None
    )
    classes = read_source_classes(source) if source is not None else None
    rec = Recording()
    tmp = Path(tempfile.mkdtemp(prefix="memdevd-record-"))
    target = target or X86_64
    host = Host(qemu, tmp, mask_dirs, target)
    accels = [a for a in PROBE_ACCELS if kvm or a != "kvm"]
    cpu_scenarios = [c for c in target.cpu_scenarios if kvm or c.accel != "kvm"]
    if skipped is None:
        skipped = {}
    devices_step = (
        DEVICES_PART,
        lambda: rec.devices.update(record_devices(host, classes, old_devices, label)),
    )
    try:
        steps: list[tuple[str, Callable[[], None]]] = []
        if only is None:
            accels, cpu_scenarios = _kvm_parts_that_work(
                host, label, accels, cpu_scenarios, skipped
            )
            kvm = "kvm" in accels or any(c.accel == "kvm" for c in cpu_scenarios)
            steps += [(s.name, lambda s=s: record_scenario(host, s, rec)) for s in target.scenarios]
            steps += [(f"probe-{a}", lambda a=a: record_probe(host, a, rec)) for a in accels]
            steps += [
                (f"cpu-{c.name}", lambda c=c: record_cpu_scenario(host, c, rec))
                for c in cpu_scenarios
            ]
        elif only != DEVICES_FILE:
            raise SystemExit(f"only {DEVICES_FILE} can be recorded alone, not {only}")
        steps.append(devices_step)
        for name, step in steps:
            print(f"recording {label} {name}", file=sys.stderr)
            try:
                step()
            except QMPConnectionLost as exc:
                stderr = (tmp / "stderr.txt").read_text(errors="replace")
                raise SystemExit(
                    f"QEMU exited during scenario {name} ({exc}); its stderr:\n{stderr}"
                    + (
                        "\nQEMU loaded modules of another build: see --mask-dir"
                        if "Only modules from the same build" in stderr
                        else ""
                    )
                ) from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    tmp_str = str(tmp)
    if only is not None:
        write_document(out, DEVICES_FILE, rec.devices, tmp_str, target)
        return
    meta = {
        "format-version": FORMAT_VERSION,
        "version-label": label,
        "qemu-binary": qemu,
        "qemu-version-output": qemu_version_output(qemu),
        "tool": "tools/record_qemu_data.py",
        "regenerate": (
            f"tools/record_qemu_data.py --qemu {qemu} --version-label {label} --out {out}"
            + ("" if target is X86_64 else f" --target {target.name}")
            + "".join(f" --mask-dir {d}" for d in mask_dirs)
            + ("" if kvm else " --no-kvm")
            + (f" --source {source}" if source is not None else "")
        ),
        "placeholders": {
            TMP_PLACEHOLDER: "the recording run's temporary directory "
            "(QMP socket, memory-backend-file backing files)",
            target.argv0: "argv[0]: the QEMU binary, see qemu-binary",
        },
        "scenarios": [s.name for s in target.scenarios],
        "probe-sessions": accels,
        "cpu-scenarios": [c.name for c in cpu_scenarios],
        # what memdevd can start without reading cpus.json
        "cpu-models": {
            accel: sorted({c.model for c in cpu_scenarios if c.sample and c.accel == accel})
            for accel in sorted({c.accel for c in cpu_scenarios})
        },
        # the KVM parts describe the recording host's CPU and KVM
        "kvm": kvm,
        "mask-dirs": mask_dirs,
        # the path the binary was found at differs between hosts; not data
        "volatile": ["/qemu-binary", "/regenerate"],
    }
    documents: dict[str, JSON] = {"meta.json": meta, **rec.documents()}
    documents["key-order.json"] = key_order(rec.documents())
    documents[DEVICES_FILE] = rec.devices
    for name, doc in documents.items():
        write_document(out, name, doc, tmp_str, target)
    write_index(out, label, target)


def write_document(out: Path, name: str, doc: JSON, tmp_str: str, target: Target) -> None:
    """Write one recorded file into ``out``, the run's temporary directory
    replaced by its placeholder; ``instances.json`` brings ``samples.json``."""
    out.mkdir(parents=True, exist_ok=True)
    doc = _substitute(doc, tmp_str, TMP_PLACEHOLDER)
    (out / name).write_text(dump_json(doc), encoding="utf-8")
    if name == "instances.json":
        # What memdevd reads of them (tools/gen_schemas.py writes the
        # same from a committed instances.json).
        from memdevd.releases.recorded import choose_samples, dump_samples

        assert isinstance(doc, dict)
        text = dump_samples(choose_samples(doc, target.families))
        (out / "samples.json").write_text(text, encoding="utf-8")


def write_index(out: Path, label: str, target: Target) -> None:
    """``index.json``, what memdevd reads of the recorded files at start-up
    (tools/gen_schemas.py writes the same from committed files)."""
    from memdevd.releases.recorded import Recording, dump_index

    rec = Recording(target.name, label)
    rec.directory = str(out)
    (out / "index.json").write_text(dump_index(rec.index_entries()), encoding="utf-8")


# --------------------------------------------------------------------------- key order

#: Keys whose value is what QEMU sent (a reply, an event, a qom-get value...)
#: and keys whose every value is; the rest of the files is the recorder's.
QEMU_OUTPUT_KEYS = {"reply", "events", "qom-list", "query-hotpluggable-cpus", "query-cpus-fast"}
QEMU_OUTPUT_VALUES_KEYS = {
    "qom-get",
    "qom-get-differences",
    "qom-get-after",
    "device-list-properties",
    "qom-list-properties",
}


def key_order(documents: dict[str, JSON]) -> dict[str, JSON]:
    """Where the files' sorted keys lose QEMU's output order: ``key-order.json``.

    QEMU prints a QDict in its hash-table order, and keys that share one of
    its 512 buckets newest first: their order is their insertion order, which
    QEMU's output shows and sorted keys lose.  For every dict QEMU sent whose
    keys, inserted sorted, would print in another order than QEMU printed
    them, this records ``"<file>#<JSON pointer>"`` -> the keys of each shared
    bucket in QEMU's output order (memdevd/releases/recorded.py restores it on load).
    """
    from memdevd.qapi.qdict import QDICT_BUCKET_MAX, qdict_key_order, qstring_bytes, tdb_hash

    found: dict[str, JSON] = {}

    def check(node: dict[str, JSON], pointer: str) -> None:
        keys = list(node)
        if list(qdict_key_order(sorted(keys))) == keys:
            return
        buckets: dict[int, list[str]] = {}
        for key in keys:
            buckets.setdefault(tdb_hash(qstring_bytes(key)) % QDICT_BUCKET_MAX, []).append(key)
        found[pointer] = [group for group in buckets.values() if len(group) > 1]

    def walk(node: JSON, pointer: str, output: bool) -> None:
        if isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{pointer}/{i}", output)
        elif isinstance(node, dict):
            if output:
                check(node, pointer)
            for key, value in node.items():
                sub = f"{pointer}/{_pointer_part(key)}"
                if output or key in QEMU_OUTPUT_KEYS:
                    walk(value, sub, True)
                elif key in QEMU_OUTPUT_VALUES_KEYS and isinstance(value, dict):
                    for name, item in value.items():
                        walk(item, f"{sub}/{_pointer_part(name)}", True)
                else:
                    walk(value, sub, False)

    for name, doc in documents.items():
        walk(doc, f"{name}#", False)
    return found


def dump_json(doc: JSON) -> str:
    return json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- --check


def strip_volatile(doc: JSON) -> JSON:
    """A copy of ``doc`` without the values that dicts list in their ``volatile`` list."""
    if isinstance(doc, list):
        return [strip_volatile(v) for v in doc]
    if not isinstance(doc, dict):
        return doc
    result = {k: strip_volatile(v) for k, v in doc.items()}
    pointers = doc.get("volatile")
    if isinstance(pointers, list):
        for pointer in pointers:
            if isinstance(pointer, str):
                _delete_pointer(result, pointer)
    return result


def _delete_pointer(doc: JSON, pointer: str) -> None:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    node = doc
    for part in parts[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return
    last = parts[-1] if parts else None
    if last is None:
        return
    if isinstance(node, dict):
        node.pop(last, None)
    elif isinstance(node, list) and last.isdigit() and int(last) < len(node):
        node[int(last)] = "<volatile>"


def diff_json(old: JSON, new: JSON, pointer: str = "") -> Iterator[str]:
    """Human-readable differences between two JSON values, by JSON pointer."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            sub = f"{pointer}/{key.replace('~', '~0').replace('/', '~1')}"
            if key not in new:
                yield f"{sub}: removed (was {_short(old[key])})"
            elif key not in old:
                yield f"{sub}: added {_short(new[key])}"
            else:
                yield from diff_json(old[key], new[key], sub)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            yield from diff_json(a, b, f"{pointer}/{i}")
    elif old != new or type(old) is not type(new):
        yield f"{pointer or '/'}: {_short(old)} -> {_short(new)}"


def _short(value: JSON, limit: int = 160) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


#: The part of a check that is not a KVM part: everything recorded under TCG.
TCG_PART = "tcg"

#: Files of a data directory that are not the recorder's, and what writes
#: them: --check leaves them alone.
WRITTEN_ELSEWHERE = {
    "qapi-schema.json": "tools/gen_qapi_schema.py (from the source tree)",
    "misc.json": "tools/record_misc_data.py (-d items, trace events)",
    "pci.json": "tools/record_pci_data.py (query-pci of every PCI type)",
    "cpu-models.json": "tools/record_cpu_models.py (every CPU model under TCG)",
}

#: Files the recorder derives from the files it compares (their KVM
#: entries follow cpus.json's): --check leaves them to tools/gen_schemas.py's test.
DERIVED = {"index.json": "queries.json, types.json and cpus.json"}


def kvm_parts(meta: JSON) -> list[str]:
    """The KVM parts a recording's ``meta.json`` lists, as :func:`record` names them."""
    accel = {c.name: c.accel for t in TARGETS.values() for c in t.cpu_scenarios}
    parts = [f"probe-{a}" for a in meta.get("probe-sessions", []) if a == "kvm"]
    return parts + [f"cpu-{c}" for c in meta.get("cpu-scenarios", []) if accel.get(c) == "kvm"]


def _part_keys(part: str) -> tuple[str, str, str]:
    """(file, top-level key, key-order.json prefix) of a probe or CPU part."""
    kind, _, key = part.partition("-")
    name = "probe.json" if kind == "probe" else "cpus.json"
    return name, key, f"{name}#/{key}/"


def _only_part(name: str, doc: JSON, part: str) -> JSON:
    """What of ``doc`` belongs to the KVM ``part`` (a probe session or CPU scenario)."""
    file, key, prefix = _part_keys(part)
    if name == file:
        return {k: v for k, v in doc.items() if k == key}
    if name == "key-order.json":
        return {k: v for k, v in doc.items() if k.startswith(prefix)}
    return {}


def _without_parts(name: str, doc: JSON, parts: list[str]) -> JSON:
    """``doc`` without the KVM ``parts``: what the TCG part of a check compares."""
    if not parts:
        return doc
    keyed = [_part_keys(p) for p in parts]
    if name == "meta.json":
        doc = {k: v for k, v in doc.items() if k != "kvm"}
        sessions = {key for file, key, _ in keyed if file == "probe.json"}
        cpus = {key for file, key, _ in keyed if file == "cpus.json"}
        doc["probe-sessions"] = [a for a in doc["probe-sessions"] if a not in sessions]
        doc["cpu-scenarios"] = [c for c in doc["cpu-scenarios"] if c not in cpus]
        gone = {
            (c.accel, c.model)
            for t in TARGETS.values()
            for c in t.cpu_scenarios
            if c.sample and c.name in cpus
        }
        models = {
            accel: [m for m in names if (accel, m) not in gone]
            for accel, names in doc["cpu-models"].items()
        }
        doc["cpu-models"] = {accel: names for accel, names in models.items() if names}
        return doc
    if name in ("probe.json", "cpus.json"):
        return {k: v for k, v in doc.items() if (name, k) not in {(f, k2) for f, k2, _ in keyed}}
    if name == "key-order.json":
        prefixes = tuple(prefix for _, _, prefix in keyed)
        return {k: v for k, v in doc.items() if not k.startswith(prefixes)}
    return doc


def compare(
    committed: Path, fresh: Path, skipped: dict[str, str], only: str | None = None
) -> dict[str, JSON]:
    """Compare two recordings part by part.

    Returns part -> ``{"differences": [...]}``, or ``{"skipped": reason}``
    for a KVM part the fresh recording could not make (``skipped``).  The
    device catalog (devices.json) is a part of its own; the TCG part is
    everything else but the committed recording's KVM parts.  ``only``
    (:data:`DEVICES_FILE`): the fresh recording has that file alone, which
    is all that is compared.
    """
    old_meta = json.loads((committed / "meta.json").read_text(encoding="utf-8"))
    parts = [] if only else kvm_parts(old_meta)
    report: dict[str, JSON] = {} if only else {TCG_PART: {"differences": []}}
    for part in parts:
        report[part] = {"skipped": skipped[part]} if part in skipped else {"differences": []}
    names = sorted(
        ({p.name for p in committed.glob("*.json")} | {p.name for p in fresh.glob("*.json")})
        - set(WRITTEN_ELSEWHERE)
        - set(DERIVED)
    )
    if only:
        names = [only]
    if DEVICES_FILE in names:
        report[DEVICES_PART] = {"differences": []}
    for name in names:
        old_path, new_path = committed / name, fresh / name
        whole = DEVICES_PART if name == DEVICES_FILE else TCG_PART
        if not old_path.exists():
            report[whole]["differences"].append(f"{name}: not in the committed data")
            continue
        if not new_path.exists():
            report[whole]["differences"].append(f"{name}: no longer recorded")
            continue
        old = strip_volatile(json.loads(old_path.read_text(encoding="utf-8")))
        new = strip_volatile(json.loads(new_path.read_text(encoding="utf-8")))
        if name == DEVICES_FILE:
            report[DEVICES_PART]["differences"].extend(
                f"{name}:{line}" for line in diff_json(old, new)
            )
            continue
        pieces = [(TCG_PART, _without_parts(name, old, parts), _without_parts(name, new, parts))]
        pieces += [
            (part, _only_part(name, old, part), _only_part(name, new, part))
            for part in parts
            if part not in skipped
        ]
        for part, a, b in pieces:
            report[part]["differences"].extend(f"{name}:{line}" for line in diff_json(a, b))
    return report


def check(
    qemu: str,
    label: str,
    committed: Path,
    mask_dirs: list[str],
    max_lines: int = 200,
    kvm: bool = True,
    report_path: Path | None = None,
    only: str | None = None,
    source: Path | None = None,
    target: Target | None = None,
) -> int:
    """Re-record into a temporary directory and compare with ``committed``.

    Each KVM part is compared where it could be recorded here; one that KVM
    cannot run on this host (or every one, with ``kvm`` false) is named with
    the reason and not compared.  ``report_path`` gets the comparison as JSON
    (part -> differences or the reason it was skipped).  ``only``: record
    and compare that file alone (:data:`DEVICES_FILE`).  Without ``source``
    the hot-plug flags the committed devices.json derived from source are
    taken as they are, for the types no probe answers (with it they are
    derived again).
    """
    fresh = Path(tempfile.mkdtemp(prefix="memdevd-check-"))
    skipped: dict[str, str] = {}
    try:
        record(
            qemu,
            label,
            fresh,
            mask_dirs,
            kvm,
            skipped,
            only,
            source,
            committed / DEVICES_FILE,
            target,
        )
        if not kvm and not only:
            old_meta = json.loads((committed / "meta.json").read_text(encoding="utf-8"))
            skipped.update({part: "--no-kvm" for part in kvm_parts(old_meta)})
        report = compare(committed, fresh, skipped, only)
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
    if report_path is not None:
        report_path.write_text(json.dumps(report, indent=1, sort_keys=True), encoding="utf-8")
    differences: list[str] = []
    for part, result in report.items():
        if "skipped" in result:
            print(f"{part}: not compared: {result['skipped']}")
        differences.extend(result.get("differences", []))
    for line in differences[:max_lines]:
        print(line)
    if len(differences) > max_lines:
        print(f"... and {len(differences) - max_lines} more differences")
    if differences:
        print(f"{committed}: {len(differences)} differences: the recorded data is stale")
        return 1
    print(f"{committed}: up to date")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--qemu", required=True, help="path of qemu-system-<target>")
    parser.add_argument(
        "--target",
        choices=sorted(TARGETS),
        default="x86_64",
        help="the QEMU target recorded: its scenarios (x86_64: pc and q35; aarch64: virt)",
    )
    parser.add_argument("--version-label", required=True, help="e.g. 7.2 or 10.0")
    parser.add_argument(
        "--out", required=True, type=Path, help="e.g. memdevd/targets/x86_64/data/qemu-7.2"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="record into a temporary directory and compare with --out; exit 1 on differences",
    )
    parser.add_argument(
        "--mask-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="hide DIR from QEMU (bind-mount an empty directory over it in a private mount "
        "namespace; needs root and unshare). For a QEMU whose compiled-in module directory "
        "holds another build's modules, e.g. /usr/lib/x86_64-linux-gnu/qemu for "
        "/opt/qemu-10.0 beside Debian's 7.2: qom-list-types loads every module and QEMU "
        "aborts on a foreign one",
    )
    parser.add_argument(
        "--no-kvm",
        action="store_true",
        help="leave out the KVM probe session and vCPU scenarios (recorded by default where "
        "KVM runs each of them on this host; they describe this host's CPU)",
    )
    parser.add_argument(
        "--only",
        choices=[DEVICES_FILE],
        help="record (or with --check compare) this file alone; the other files in --out are "
        "left as they are",
    )
    parser.add_argument(
        "--source",
        type=Path,
        metavar="TREE",
        help="the release's QEMU source tree (as for tools/gen_qapi_schema.py): devices.json's "
        "hot-plug flag of the types no device_add probe can ask (not user-creatable, no bus "
        "here) is read from the class_init functions, and checked against every probe; "
        "without it the committed flags derived from source are kept",
    )
    parser.add_argument(
        "--report",
        type=Path,
        metavar="FILE",
        help="with --check: write the comparison part by part as JSON (the TCG part, each "
        "KVM part: its differences, or why KVM could not record it here)",
    )
    args = parser.parse_args(argv)
    if not os.access(args.qemu, os.X_OK):
        parser.error(f"{args.qemu} is not executable")
    kvm = not args.no_kvm
    if args.check:
        return check(
            args.qemu,
            args.version_label,
            args.out,
            args.mask_dir,
            kvm=kvm,
            report_path=args.report,
            only=args.only,
            source=args.source,
            target=TARGETS[args.target],
        )
    if args.report is not None:
        parser.error("--report goes with --check")
    record(
        args.qemu,
        args.version_label,
        args.out,
        args.mask_dir,
        kvm,
        only=args.only,
        source=args.source,
        target=TARGETS[args.target],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
