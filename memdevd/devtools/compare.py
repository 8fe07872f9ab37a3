"""``memdevd compare`` / ``memdevd record``: run QMP scenarios and diff them against QEMU.

Thin command-line wrappers over :mod:`memdevd.devtools.scenario`.  ``memdevd.app.cli``
dispatches ``memdevd compare ...`` and ``memdevd record ...`` here; until it
does, ``python -m memdevd.devtools.compare compare|record ...`` works the same.

Stdlib only (argparse), so that the comparison tooling starts quickly and does
not depend on the daemon being importable.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from memdevd.devtools.scenario import (
    DEFAULT_QEMU,
    CommandTarget,
    Comparison,
    RunError,
    Scenario,
    ScenarioError,
    SocketTarget,
    Target,
    Transcript,
    TranscriptError,
    compare_live,
    compare_recorded,
    discover_scenarios,
    expected_path,
    load_scenario,
    memdevd_target,
    qemu_binary_version,
    qemu_target,
    run_scenario,
)
from memdevd.records import record

FORMATS_HELP = """\
scenario file (JSON):
  {"name": "...", "argv": [QEMU argv without program and -qmp], "notes": "...",
   "steps": [STEP, ...]}
  STEP has exactly one of "send" (a JSON value, sent as json.dumps + newline) or
  "raw" (text sent verbatim + newline unless "no_newline": true), and optionally
  "expect_responses" (1), "response_timeout_ms" (3000), "wait_event" NAME,
  "event_timeout_ms" (3000), "settle_ms" (150; ~1000 shows an event does not
  come), "keep_names" [names] (filter a list-of-{name} return, sorted by name),
  "unordered" true (compare a list return as a multiset).

transcript (NAME.expected.jsonl or NAME.expected-SUFFIX.jsonl beside NAME.json):
  one JSON object per line, keys sorted:
  {"type": "scenario", "name", "argv"}
  {"type": "start", "status": "ok", "greeting"} or
  {"type": "start", "status": "failed", "exit_status", "stderr"}
  {"type": "step", "send"|"raw", "responses", "events", "closed"?} per step
  {"type": "end", "exit_status"} if the target closed the connection
  Event timestamps, QEMU micro version and package string are normalised;
  "PROG: " prefixes are stripped from start-up stderr.

target template (--target): words, with {argv} = scenario argv words,
  {qmp} = "-qmp unix:SOCK,server=on,wait=off", {socket} = the socket path;
  without {socket}/{qmp} the -qmp pair is appended, without {argv} the argv is.
  Default target: python -m memdevd -memdevd version=MAJOR.MINOR {argv}, the
  version taken from the transcript's greeting or from `QEMU --version`
  (a scenario with "target": "aarch64": target=aarch64 too, and
  qemu-system-aarch64 unless --qemu names another binary).
"""


def _default_qemu() -> str:
    return os.environ.get("MEMDEVD_QEMU", DEFAULT_QEMU)


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "scenarios",
        nargs="+",
        metavar="SCENARIO",
        help="scenario .json files, or directories (searched recursively for *.json)",
    )
    p.add_argument(
        "--qemu",
        default=_default_qemu(),
        metavar="PATH",
        help="real QEMU binary (default: $MEMDEVD_QEMU or %(default)s)",
    )
    p.add_argument(
        "--expect-suffix",
        metavar="S",
        help="use NAME.expected-S.jsonl instead of NAME.expected.jsonl",
    )
    p.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=4,
        metavar="N",
        help="scenarios run at once (default: %(default)s)",
    )
    p.add_argument(
        "--prog-name",
        action="append",
        default=[],
        metavar="P",
        help="extra program name stripped as 'P: ' from start-up stderr (repeatable)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="memdevd",
        description="Replay QMP scenarios against real QEMU and memdevd and diff the answers.",
        epilog=FORMATS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{compare,record}")
    cmp_ = sub.add_parser(
        "compare",
        help="compare a target with stored transcripts or with live QEMU",
        description=(
            "Run each scenario against the target and compare with NAME.expected[-S].jsonl "
            "if it exists, else with --qemu run live at the same time. Prints PASS/FAIL "
            "per scenario and 'N passed, M failed'; exits 0 only if nothing failed."
        ),
        epilog=FORMATS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_common(cmp_)
    where = cmp_.add_mutually_exclusive_group()
    where.add_argument(
        "--target",
        metavar="TEMPLATE",
        help="command to test, e.g. 'qemu-system-x86_64 {argv} {qmp}' (default: memdevd)",
    )
    where.add_argument(
        "--target-socket",
        metavar="PATH",
        help="QMP socket of an already-running target (exit statuses not compared; -j 1)",
    )
    rec = sub.add_parser(
        "record",
        help="record transcripts from real QEMU",
        description="Run each scenario against --qemu and write NAME.expected[-S].jsonl.",
        epilog=FORMATS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_common(rec)
    return parser


@record
class _Outcome:
    path: Path
    ok: bool
    message: str


def _qemu(args: argparse.Namespace, scenario: Scenario) -> str:
    """--qemu, or for a scenario of another target than the default's, that
    target's binary in place of the default x86 one."""
    if scenario.target != "x86_64" and args.qemu == DEFAULT_QEMU:
        return f"qemu-system-{scenario.target}"
    return str(args.qemu)


def _candidate(args: argparse.Namespace, version: str | None, target: str = "x86_64") -> Target:
    prog_names = tuple(args.prog_name)
    if args.target_socket:
        return SocketTarget(args.target_socket)
    if args.target:
        return CommandTarget.from_string(args.target, prog_names=prog_names)
    if version is None:
        raise RunError("cannot tell which QEMU version memdevd should emulate")
    return memdevd_target(version, prog_names=("memdevd", *prog_names), target=target)


async def _compare_one(args: argparse.Namespace, path: Path) -> _Outcome:
    try:
        scenario = load_scenario(path)
        exp_file = expected_path(path, args.expect_suffix)
        result: Comparison
        if exp_file.exists():
            expected = Transcript.load(exp_file)
            version = expected.qemu_version()
            if version is None and not (args.target or args.target_socket):
                # A start-up failure transcript has no greeting to read it from.
                version = await asyncio.to_thread(qemu_binary_version, _qemu(args, scenario))
            candidate = _candidate(args, version, scenario.target)
            result = await compare_recorded(scenario, expected, candidate)
        else:
            version = None
            if not (args.target or args.target_socket):
                version = await asyncio.to_thread(qemu_binary_version, _qemu(args, scenario))
            reference = qemu_target(_qemu(args, scenario), prog_names=args.prog_name)
            candidate = _candidate(args, version, scenario.target)
            result = await compare_live(scenario, reference, candidate)
    except (ScenarioError, TranscriptError, RunError) as exc:
        return _Outcome(path, False, f"error: {exc}")
    return _Outcome(path, result.ok, result.message)


async def _record_one(args: argparse.Namespace, path: Path) -> _Outcome:
    try:
        scenario: Scenario = load_scenario(path)
        reference = qemu_target(_qemu(args, scenario), prog_names=args.prog_name)
        transcript = await run_scenario(scenario, reference)
        out = expected_path(path, args.expect_suffix)
        transcript.save(out)
    except (ScenarioError, RunError, OSError) as exc:
        return _Outcome(path, False, f"error: {exc}")
    return _Outcome(path, True, str(out))


async def _run_all(args: argparse.Namespace, paths: list[Path], out: TextIO) -> tuple[int, int]:
    runner = _record_one if args.command == "record" else _compare_one
    jobs = 1 if getattr(args, "target_socket", None) else max(1, args.jobs)
    sem = asyncio.Semaphore(jobs)

    async def guarded(path: Path) -> _Outcome:
        async with sem:
            return await runner(args, path)

    # Started together (bounded by the semaphore) but reported in argument
    # order, so the output is stable whatever finishes first.
    tasks = [asyncio.create_task(guarded(p)) for p in paths]
    passed = failed = 0
    for task in tasks:
        o = await task
        if o.ok:
            passed += 1
            if args.command == "record":
                print(f"RECORDED {o.path} -> {o.message}", file=out, flush=True)
            else:
                print(f"PASS {o.path}", file=out, flush=True)
        else:
            failed += 1
            print(f"FAIL {o.path}: {o.message}", file=out, flush=True)
    return passed, failed


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """Entry point; ``argv`` starts with the subcommand: ``["compare", "dir/", "-j", "2"]``.

    Returns the exit status: 0 when nothing failed, 1 otherwise, 2 for usage.
    """
    stream = out if out is not None else sys.stdout
    args = build_parser().parse_args(list(argv) if argv is not None else sys.argv[1:])
    paths = discover_scenarios(args.scenarios)
    if not paths:
        print("no scenarios found", file=sys.stderr)
        return 2
    passed, failed = asyncio.run(_run_all(args, paths, stream))
    word = "recorded" if args.command == "record" else "passed"
    print(f"{passed} {word}, {failed} failed", file=stream)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
