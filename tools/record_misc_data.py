"""Record what the misc command-line options need from a QEMU binary.

Writes ``misc.json`` of a release's data directory: ``trace-events`` (what
``-trace help`` lists: the names ``-trace NAME`` and ``-d trace:NAME`` are
checked against) and ``log-usage`` (what ``-d help`` prints on stdout, also
printed for a bad ``-d`` item).  Run from the repository root::

    .venv/bin/python tools/record_misc_data.py --qemu /usr/bin/qemu-system-x86_64 \\
        --out memdevd/targets/x86_64/data/qemu-7.2
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
    return {"trace-events": events, "log-usage": run("-d", "help")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qemu", required=True)
    parser.add_argument("--out", required=True, help="the release's data directory")
    args = parser.parse_args()
    data = record(args.qemu)
    with open(os.path.join(args.out, "misc.json"), "w", encoding="utf-8") as f:
        json.dump(data, f, indent=0)
        f.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
