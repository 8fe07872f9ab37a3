"""Record what the misc command-line options need from a QEMU binary.

Writes ``misc.json`` of a release's data directory: ``trace-events`` (what
``-trace help`` lists: the names ``-trace NAME`` and ``-d trace:NAME`` are
checked against), ``log-usage`` (what ``-d help`` prints on stdout, also
printed for a bad ``-d`` item) and ``machine-help`` (``-machine help``:
every board of the binary, in its order, with aliases, the default and the
deprecated ones marked).  Run from the repository root::

    .venv/bin/python tools/record_misc_data.py --qemu /usr/bin/qemu-system-x86_64 \\
        --out memdevd/targets/x86_64/data/qemu-7.2
    .venv/bin/python tools/record_misc_data.py --target aarch64 \\
        --qemu /usr/bin/qemu-system-aarch64 --out memdevd/targets/aarch64/data/qemu-7.2
    ... --check      # exit 1 if misc.json is stale

What is recorded is the same for every target; ``--target`` (default
x86_64) guards against recording one target's binary into another's data
(the binary's name must be ``qemu-system-<target>``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess


def record(qemu: str) -> dict[str, object]:
    def run(*args: str) -> str:
        proc = subprocess.run(
            [qemu, *args], capture_output=True, text=True, timeout=30, check=False
        )
        return proc.stdout

    events = run("-trace", "help").splitlines()
    return {
        "trace-events": events,
        "log-usage": run("-d", "help"),
        "machine-help": run("-machine", "help"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qemu", required=True)
    parser.add_argument("--target", choices=("aarch64", "x86_64"), default="x86_64")
    parser.add_argument("--out", required=True, help="the release's data directory")
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()
    if os.path.basename(args.qemu) != f"qemu-system-{args.target}":
        parser.error(f"--qemu {args.qemu} is not a qemu-system-{args.target}")
    data = record(args.qemu)
    path = os.path.join(args.out, "misc.json")
    if args.check:
        with open(path, encoding="utf-8") as f:
            committed = json.load(f)
        stale = sorted(k for k in data.keys() | committed.keys() if data.get(k) != committed.get(k))
        for key in stale:
            print(f"misc.json: {key!r} differs from what {args.qemu} answers now")
        return 1 if stale else 0
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=0)
        f.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
