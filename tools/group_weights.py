"""Write tests/group_weights.json from a test run's timing report.

The report is what ``MEMDEVD_GROUP_TIMES=PATH`` makes each pytest process
append (tests/conftest.py): a JSON line per test file with its xdist group,
its tests and their wall seconds.  The table sums them by group (given
several runs' reports, the mean of the runs); under ``-n 2 --dist
loadgroup`` the workers collect the groups longest first by it.

    MEMDEVD_GROUP_TIMES=/tmp/times.jsonl .venv/bin/pytest -n 2 --dist loadgroup
    .venv/bin/python tools/group_weights.py /tmp/times.jsonl

``--top N`` prints the N longest groups instead of writing the table.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

TABLE = Path(__file__).resolve().parent.parent / "tests" / "group_weights.json"


def weights(lines: list[str]) -> dict[str, dict[str, float]]:
    """One report's lines: each group's seconds and tests, longest first."""
    groups: dict[str, dict[str, float]] = {}
    for line in lines:
        if not line.strip():
            continue
        entry = json.loads(line)
        group = groups.setdefault(entry["group"], {"seconds": 0.0, "tests": 0})
        group["seconds"] += entry["seconds"]
        group["tests"] += entry["tests"]
    return _longest_first(groups)


def mean(tables: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Several runs' tables: each group's mean over the runs that ran it."""
    runs: dict[str, list[dict[str, float]]] = {}
    for table in tables:
        for name, group in table.items():
            runs.setdefault(name, []).append(group)
    return _longest_first(
        {
            name: {
                "seconds": sum(group["seconds"] for group in groups) / len(groups),
                "tests": groups[-1]["tests"],
            }
            for name, groups in runs.items()
        }
    )


def _longest_first(groups: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    return {
        name: {"seconds": round(group["seconds"], 1), "tests": int(group["tests"])}
        for name, group in sorted(groups.items(), key=lambda kv: (-kv[1]["seconds"], kv[0]))
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "reports", nargs="+", type=Path, help="MEMDEVD_GROUP_TIMES reports, one a run"
    )
    parser.add_argument("--top", type=int, help="print the N longest groups, write nothing")
    args = parser.parse_args()
    table = mean([weights(report.read_text().splitlines()) for report in args.reports])
    if args.top:
        for name, group in list(table.items())[: args.top]:
            print(f"{group['seconds']:8.1f} s {group['tests']:6d} tests  {name}")
        total = sum(group["seconds"] for group in table.values())
        print(f"{total:8.1f} s in all, {len(table)} groups")
        return
    # one line a group, longest first
    rows = [f"  {json.dumps(name)}: {json.dumps(group)}" for name, group in table.items()]
    TABLE.write_text("{\n" + ",\n".join(rows) + "\n}\n")


if __name__ == "__main__":
    main()
