#!/usr/bin/env python3
"""Record what a real QEMU's ``query-pci`` says of each PCI device type.

memdevd answers ``query-pci`` from its own placement of devices (bus,
slot, function, ``qdev_id``) and, per device type, from QEMU's identity of
the type as this tool records it: vendor/device and subsystem ids, the
class and its description, the interrupt pin, the BARs (index, type,
size, prefetch, 64-bit) and a bridge's window registers, all as QEMU
shows them on a stopped machine before any firmware ran (``-S``: BAR
addresses -1, bus numbers and ``irq`` 0).

For each machine family (``pc``, ``q35``; with ``--target aarch64``
``virt``, its root bus the gpex host bridge's ``pcie.0``) the tool starts
``qemu-system-x86_64 -S -nodefaults`` once bare (the board's own
functions) and then with every user-creatable PCI type of the release's
device catalog (``devices.json``) cold-plugged on the root bus, one slot
each, in batches of 29.  A type QEMU refuses is retried alone; if it fails
alone too it is left out with QEMU's error (``skipped``).  Types that need
a backend get a minimal one (a ``null-co`` node for ``drive``, a RAM
backend for ``memdev``, a builtin crypto backend, a local fsdev, an IPMI
BMC); types that would need host resources (vhost, vfio, evdev, a chardev
server) are simply left to fail.  Output, ``pci.json``::

    board    family -> the query-pci entries of the bare machine
    types    type -> {"": entry} when pc and q35 agree, else
             {"pc": entry, "q35": entry} (a family where QEMU refused the
             type is absent)
    skipped  type -> family -> QEMU's error text

An entry is QEMU's ``PciDeviceInfo`` without what memdevd decides itself
(``bus``, ``slot``, ``function``, ``qdev_id``).  The output is
deterministic (sorted keys, QEMU's list order, the temporary directory as
``@TMPDIR@``).

Usage::

    tools/record_pci_data.py --qemu /usr/bin/qemu-system-x86_64 \\
        --out memdevd/targets/x86_64/data/qemu-7.2
    tools/record_pci_data.py --qemu /opt/qemu-10.0/bin/qemu-system-x86_64 \\
        --out memdevd/targets/x86_64/data/qemu-10.0 --mask-dir /usr/lib/x86_64-linux-gnu/qemu
    tools/record_pci_data.py --target aarch64 --qemu /usr/bin/qemu-system-aarch64 \\
        --out memdevd/targets/aarch64/data/qemu-7.2
    ... --check      # exit 1 if pci.json is stale
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from record_qemu_data import QMP, Host, QMPConnectionLost

FAMILIES = ("pc", "q35")
# The -machine option of each family: q35 with CXL, so that pxb-cxl is created.
MACHINE_OPTION = {"pc": "pc", "q35": "q35,cxl=on", "virt": "virt"}
# The root bus of each family: aarch64's virt has a PCIe host bridge (gpex).
ROOT_BUS = {"pc": "pci.0", "q35": "pcie.0", "virt": "pcie.0"}
# The families recorded per target (--target).
TARGET_FAMILIES = {"x86_64": FAMILIES, "aarch64": ("virt",)}
# Root-bus slots free on both -nodefaults boards (pc: 0 and 1 taken; q35: 0 and 31).
FREE_SLOTS = tuple(range(2, 31))
BASE_ARGV = [
    "-S",
    "-nodefaults",
    "-display",
    "none",
    "-accel",
    "tcg",
    "-m",
    "512M,maxmem=64G,slots=1",
]
# What memdevd decides itself; the rest of an entry is the type's identity.
# A type QEMU created but query-pci does not list on the root bus.
NOT_LISTED = "(not listed on the root bus)"
PLACEMENT = ("bus", "slot", "function", "qdev_id")


def _extra(driver: str, n: int, tmp: str) -> tuple[list[str], str]:
    """The backend ``driver`` needs (command-line options) and its extra properties."""
    args: list[str] = []
    props = ""
    if driver.startswith("virtio-blk-pci") or driver == "nvme":
        args += ["-blockdev", f"null-co,node-name=null{n}"]
        props += f",drive=null{n}"
        if driver == "nvme":
            props += ",serial=s{n}"
    if driver in ("virtio-mem-pci", "virtio-pmem-pci", "ivshmem-plain"):
        args += ["-object", f"memory-backend-ram,id=mem{n},size=1G,share=on"]
        props += f",memdev=mem{n}"
    if driver == "virtio-crypto-pci":
        args += ["-object", f"cryptodev-backend-builtin,id=crypto{n}"]
        props += f",cryptodev=crypto{n}"
    if driver.startswith("virtio-9p-pci"):
        args += ["-fsdev", f"local,id=fs{n},path={tmp},security_model=none"]
        props += f",fsdev=fs{n},mount_tag=tag{n}"
    if driver.startswith("pci-ipmi-"):
        args += ["-device", f"ipmi-bmc-sim,id=bmc{n}"]
        props += f",bmc=bmc{n}"
    if driver in ("pci-bridge", "pci-bridge-seat"):
        props += f",chassis_nr={n + 1}"
    if driver in ("pcie-root-port", "ioh3420", "cxl-rp"):
        props += f",chassis={n + 1},slot={n + 1}"
    if driver == "cxl-type3":
        # memdev and lsa: a persistent device in every release (7.2 has no other).
        args += ["-object", f"memory-backend-ram,id=mem{n},size=256M"]
        args += ["-object", f"memory-backend-ram,id=lsa{n},size=1M"]
        props += f",memdev=mem{n},lsa=lsa{n}"
    if driver in ("pxb", "pxb-pcie", "pxb-cxl"):
        # An expander's bus number must differ from every other root-bus child's.
        props += f",bus_nr={n + 100}"
    return args, props


class Recorder:
    def __init__(self, host: Host) -> None:
        self.host = host

    def run(self, family: str, drivers: list[str]) -> tuple[list[Any] | None, str]:
        """Start QEMU with ``drivers`` on slots 2.. of the root bus; query-pci's
        device list, or None and QEMU's error."""
        tmp = str(self.host.tmpdir)
        root = ROOT_BUS[family]
        argv = [self.host.qemu, *BASE_ARGV, "-machine", MACHINE_OPTION[family]]
        for n, driver in enumerate(drivers):
            extra, props = _extra(driver, n, tmp)
            slot = FREE_SLOTS[n]
            argv += [*extra, "-device", f"{driver},id=t{n},bus={root},addr={slot:#x}{props}"]
        sock = self.host.tmpdir / "pci.sock"
        sock.unlink(missing_ok=True)
        argv += ["-qmp", f"unix:{sock},server=on,wait=off"]
        proc = subprocess.Popen(
            self.host.command(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                if proc.poll() is not None:
                    assert proc.stderr is not None
                    return None, proc.stderr.read().decode(errors="replace")
                if time.monotonic() > deadline:
                    return None, "QMP socket did not come up"
                if sock.exists():
                    try:
                        qmp = QMP(sock)
                        break
                    except (OSError, QMPConnectionLost):
                        pass  # bound but not yet listening, or exiting
                time.sleep(0.02)
            try:
                qmp.execute("qmp_capabilities")
                reply = qmp.execute("query-pci")
                qmp.close()
            except (OSError, QMPConnectionLost):
                # QEMU listens before it creates the devices, then exits.
                proc.wait(timeout=30)
                assert proc.stderr is not None
                return None, proc.stderr.read().decode(errors="replace")
            # An expander's host bridge comes first: the main one has bus 0.
            main = next(b for b in reply["return"] if b["bus"] == 0)
            return main["devices"], ""
        finally:
            proc.kill()
            proc.wait()

    @staticmethod
    def _alone(
        driver: str,
        devices: list[Any] | None,
        error: str,
        entries: dict[str, Any],
        skipped: dict[str, str],
    ) -> None:
        if devices is None:
            skipped[driver] = _error_text(error)
            return
        found = [_identity(d) for d in devices if d["qdev_id"] == "t0"]
        if found:
            entries[driver] = found[0]
        else:
            skipped[driver] = NOT_LISTED

    def record_family(
        self, family: str, drivers: list[str]
    ) -> tuple[list[Any], dict[str, Any], dict[str, str]]:
        board, error = self.run(family, [])
        if board is None:
            raise RuntimeError(error)
        entries: dict[str, Any] = {}
        skipped: dict[str, str] = {}
        pending = list(drivers)
        batch_size = len(FREE_SLOTS)
        while pending:
            batch = pending[:batch_size]
            pending = pending[batch_size:]
            while batch:
                devices, error = self.run(family, batch)
                if devices is not None:
                    for dev in devices:
                        qdev_id = dev["qdev_id"]
                        if qdev_id.startswith("t"):
                            entries[batch[int(qdev_id[1:])]] = _identity(dev)
                    break
                failing = _failing(error, batch)
                if failing is None or len(batch) == 1:
                    # Not one of ours named (or alone): try each alone.
                    for driver in batch:
                        alone, err = self.run(family, [driver]) if len(batch) > 1 else (None, error)
                        self._alone(driver, alone, err, entries, skipped)
                    break
                batch.remove(failing)
                alone, err = self.run(family, [failing])
                self._alone(failing, alone, err, entries, skipped)
        return [_board_entry(d) for d in board], entries, skipped


def _identity(dev: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in dev.items() if k not in PLACEMENT}


def _board_entry(dev: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in dev.items() if k not in ("bus", "qdev_id")}


def _failing(error: str, batch: list[str]) -> str | None:
    """The driver QEMU's start-up error names (``-device DRIVER,id=tN,...:``)."""
    for line in error.splitlines():
        marker = "-device "
        if marker in line:
            spec = line.split(marker, 1)[1]
            for part in spec.split(","):
                if part.startswith("id=t") and part[4:].split(":")[0].isdigit():
                    n = int(part[4:].split(":")[0])
                    if n < len(batch):
                        return batch[n]
    return None


def _error_text(error: str) -> str:
    lines = [line for line in error.strip().splitlines() if line]
    text = lines[-1] if lines else "QEMU exited"
    # "qemu-system-x86_64: -device X,id=t0,bus=...,addr=0x2: reason" -> the reason
    if ": -device " in text:
        text = text.split(": -device ", 1)[1].split(": ", 1)[-1]
    elif text.startswith(("qemu-system-x86_64: ", "qemu-system-aarch64: ", "/")):
        text = text.split(": ", 1)[-1]
    return text


def pci_drivers(data_dir: Path) -> list[str]:
    """The user-creatable PCI types of the release's device catalog."""
    devices = json.loads((data_dir / "devices.json").read_text(encoding="utf-8"))
    names = []
    for name, info in devices["types"].items():
        if info.get("bus") == "PCI" and info.get("user-creatable", True) and not info.get("aborts"):
            names.append(name)
    return sorted(names)


def record(
    qemu: str, data_dir: Path, mask_dirs: list[str], families: tuple[str, ...] = FAMILIES
) -> str:
    with tempfile.TemporaryDirectory(prefix="memdevd-pci-") as tmp:
        recorder = Recorder(Host(qemu, Path(tmp), mask_dirs))
        drivers = pci_drivers(data_dir)
        board: dict[str, Any] = {}
        per_family: dict[str, dict[str, Any]] = {}
        skipped: dict[str, dict[str, str]] = {}
        for family in families:
            board[family], per_family[family], fam_skipped = recorder.record_family(family, drivers)
            for driver, error in fam_skipped.items():
                skipped.setdefault(driver, {})[family] = error.replace(tmp, "@TMPDIR@")
    types: dict[str, Any] = {}
    for driver in drivers:
        seen = {f: per_family[f][driver] for f in families if driver in per_family[f]}
        if not seen:
            continue
        values = list(seen.values())
        if len(seen) == len(families) and all(v == values[0] for v in values):
            types[driver] = {"": values[0]}
        else:
            types[driver] = seen
    doc = {"board": board, "types": types, "skipped": skipped}
    return json.dumps(doc, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--qemu", required=True, help="path of qemu-system-<target>")
    parser.add_argument(
        "--target",
        choices=sorted(TARGET_FAMILIES),
        default="x86_64",
        help="x86_64: pc and q35; aarch64: virt (pcie.0)",
    )
    parser.add_argument("--out", required=True, help="the release's data directory")
    parser.add_argument("--mask-dir", action="append", default=[], help="see record_qemu_data.py")
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    out = Path(args.out)
    text = record(args.qemu, out, args.mask_dir, TARGET_FAMILIES[args.target])
    target = out / "pci.json"
    if args.check:
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            print(f"{target} is stale", file=sys.stderr)
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
