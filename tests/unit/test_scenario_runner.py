"""Self-tests of the scenario runner (memdevd.devtools.scenario and .compare) without QEMU.

A tiny fake QMP program, written to a temporary file and started like QEMU
(``python fake.py ARGV -qmp unix:S,server=on,wait=off``), provides the target:
it greets, answers a handful of made-up commands, emits events on request and
can fail at start-up the ways QEMU does.  That exercises the real process
handling (sessions, stderr capture, exit statuses) as well as the protocol
logic, in well under a second per test.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from memdevd.devtools import compare as compare_cli
from memdevd.devtools.scenario import (
    CommandTarget,
    RunError,
    Scenario,
    ScenarioError,
    SocketTarget,
    Step,
    Transcript,
    apply_step_options,
    compare_live,
    compare_recorded,
    diff_transcripts,
    discover_scenarios,
    expected_path,
    load_scenario,
    normalise_message,
    normalise_stderr,
    parse_scenario,
    run_many,
    run_scenario,
)

FAKE_QMP = r"""
import asyncio, json, os, subprocess, sys, time

args = sys.argv[1:]
path = args[args.index("-qmp") + 1].split(",")[0][len("unix:"):]

def opt(name):
    for a in args:
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return None

major = int(opt("--major") or 7)
GREETING = {"QMP": {"version": {"qemu": {"micro": 9, "minor": 2, "major": major},
                                "package": "fake build"}, "capabilities": ["oob"]}}

if opt("--fail-before-listen"):
    sys.stderr.write(sys.argv[0] + ": " + opt("--fail-before-listen") + "   \nsecond line\n\n\n")
    sys.exit(int(opt("--code") or 1))
if opt("--spawn-child"):
    child = subprocess.Popen(["sleep", "60"])
    with open(opt("--spawn-child"), "w") as f:
        f.write(str(child.pid))

def ts():
    return {"seconds": int(time.time()), "microseconds": 123}

async def handle(reader, writer):
    def send(obj):
        writer.write((json.dumps(obj) + "\r\n").encode())
    send(GREETING)
    await writer.drain()
    if opt("--greet-then-fail"):
        sys.stderr.write("qemu-system-x86_64: " + opt("--greet-then-fail") + "\n")
        sys.stderr.flush()
        os._exit(1)
    while True:
        line = await reader.readline()
        if not line:
            break
        try:
            msg = json.loads(line)
        except ValueError:
            send({"error": {"class": "GenericError", "desc": "JSON parse error"}})
            await writer.drain()
            continue
        cmd = msg.get("execute")
        a = msg.get("arguments", {})
        if opt("--mute"):
            continue

        def reply(ret):
            r = {"return": ret}
            if "id" in msg:
                r["id"] = msg["id"]
            send(r)

        if cmd == "qmp_capabilities":
            reply({})
        elif cmd == "echo":
            reply(a.get("value"))
        elif cmd == "version":
            reply(GREETING["QMP"]["version"])
        elif cmd == "event":
            async def later(a=a):
                await asyncio.sleep(a.get("delay_ms", 0) / 1000)
                send({"event": a["name"], "timestamp": ts(), "data": {"n": 1}})
                await writer.drain()
            asyncio.ensure_future(later())
            reply({})
        elif cmd == "slow":
            await asyncio.sleep(a["delay_ms"] / 1000)
            reply({})
        elif cmd == "silent":
            pass
        elif cmd == "quit":
            reply({})
            send({"event": "SHUTDOWN", "timestamp": ts(), "data": {"guest": False}})
            await writer.drain()
            writer.close()
            os._exit(a.get("code", 0))
        elif cmd == "close":
            writer.close()
            os._exit(a.get("code", 0))
        else:
            send({"error": {"class": "CommandNotFound",
                            "desc": "The command %s has not been found" % cmd}})
        await writer.drain()

async def main():
    server = await asyncio.start_unix_server(handle, path)
    async with server:
        await server.serve_forever()

asyncio.run(main())
"""

CAPS: dict[str, Any] = {"send": {"execute": "qmp_capabilities"}}


@pytest.fixture(scope="module")
def fake_prog(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("fake") / "fake_qmp.py"
    path.write_text(FAKE_QMP)
    return str(path)


@pytest.fixture
def fake(fake_prog: str) -> CommandTarget:
    return CommandTarget((sys.executable, fake_prog, "{argv}"), start_timeout=20)


def make(steps: list[dict[str, Any]], argv: list[str] | None = None, name: str = "t") -> Scenario:
    return parse_scenario({"name": name, "argv": argv or [], "steps": steps})


def ex(cmd: str, **arguments: Any) -> dict[str, Any]:
    msg: dict[str, Any] = {"execute": cmd}
    if arguments:
        msg["arguments"] = arguments
    return msg


def run(scenario: Scenario, target: CommandTarget | SocketTarget) -> Transcript:
    return asyncio.run(run_scenario(scenario, target))


# --------------------------------------------------------------------------- #
# Loading and validation
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ([], "must be a JSON object"),
        ({"argv": [], "steps": []}, "'name'"),
        ({"name": "x", "argv": "-m 1G", "steps": []}, "'argv' must be a list of strings"),
        ({"name": "x", "argv": ["-qmp", "stdio"], "steps": []}, "must not contain -qmp"),
        ({"name": "x", "argv": [], "steps": {}}, "'steps' must be a list"),
        ({"name": "x", "argv": [], "steps": [], "extra": 1}, "unknown key(s) 'extra'"),
        ({"name": "x", "argv": [], "steps": [1]}, "steps[0]: a step must be an object"),
        ({"name": "x", "argv": [], "steps": [{}]}, "exactly one of 'send' or 'raw'"),
        ({"name": "x", "argv": [], "steps": [{"send": 1, "raw": "x"}]}, "exactly one of"),
        ({"name": "x", "argv": [], "steps": [{"raw": 5}]}, "'raw' must be a string"),
        ({"name": "x", "argv": [], "steps": [{"send": {}, "no_newline": True}]}, "only applies"),
        ({"name": "x", "argv": [], "steps": [{"send": {}, "expect_response": 1}]}, "unknown key"),
        (
            {"name": "x", "argv": [], "steps": [{"send": {}, "expect_responses": True}]},
            "'expect_responses' must be an integer",
        ),
        (
            {"name": "x", "argv": [], "steps": [{"send": {}, "settle_ms": -1}]},
            "'settle_ms' must be >= 0",
        ),
        ({"name": "x", "argv": [], "steps": [{"send": {}, "keep_names": "a"}]}, "keep_names"),
        ({"name": "x", "argv": [], "steps": [{"send": {}, "unordered": 1}]}, "true or false"),
        ({"name": "x", "argv": [], "steps": [{"send": {}, "wait_event": ""}]}, "wait_event"),
    ],
)
def test_parse_scenario_rejects_malformed(data: object, fragment: str) -> None:
    with pytest.raises(ScenarioError) as err:
        parse_scenario(data, source="f.json")
    assert fragment in str(err.value)
    assert str(err.value).startswith("f.json")


def test_load_scenario_reports_json_position(tmp_path: Path) -> None:
    p = tmp_path / "bad.json"
    p.write_text('{"name": "x",\n "argv": [}')
    with pytest.raises(ScenarioError, match=r"bad\.json:2:\d+: invalid JSON"):
        load_scenario(p)
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "missing.json")


def test_load_scenario_defaults(tmp_path: Path) -> None:
    p = tmp_path / "ok.json"
    p.write_text(json.dumps({"name": "ok", "argv": ["-S"], "steps": [{"raw": "x"}, CAPS]}))
    sc = load_scenario(p)
    assert sc.path == p and sc.notes == "" and sc.argv == ("-S",)
    raw, send = sc.steps
    assert raw.payload() == b"x\n" and send.payload() == b'{"execute": "qmp_capabilities"}\n'
    assert (send.expect_responses, send.response_timeout_ms, send.settle_ms) == (1, 3000, 150)
    assert Step(raw="ab", no_newline=True).payload() == b"ab"


def test_expected_path_and_discovery(tmp_path: Path) -> None:
    assert expected_path("d/a.json") == Path("d/a.expected.jsonl")
    assert expected_path("d/a.json", "7.2") == Path("d/a.expected-7.2.jsonl")
    (tmp_path / "sub").mkdir()
    for name in ("b.json", "a.json", "a.expected.jsonl", "sub/c.json", "x.expected.json"):
        (tmp_path / name).write_text("{}")
    found = discover_scenarios([tmp_path, tmp_path / "explicit.json"])
    assert found == [
        tmp_path / "a.json",
        tmp_path / "b.json",
        tmp_path / "sub/c.json",
        tmp_path / "explicit.json",
    ]


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (["prog"], ["prog", "-m", "1G", "-qmp", "unix:/s,server=on,wait=off"]),
        (
            ["prog", "{argv}", "-x"],
            ["prog", "-m", "1G", "-x", "-qmp", "unix:/s,server=on,wait=off"],
        ),
        (["prog", "{qmp}", "{argv}"], ["prog", "-qmp", "unix:/s,server=on,wait=off", "-m", "1G"]),
        (["prog", "--sock={socket}"], ["prog", "--sock=/s", "-m", "1G"]),
    ],
)
def test_command_template(template: list[str], expected: list[str]) -> None:
    assert CommandTarget(tuple(template)).command(["-m", "1G"], "/s") == expected
    assert CommandTarget.from_string(" ".join(template)).template == tuple(template)


# --------------------------------------------------------------------------- #
# Normalisation
# --------------------------------------------------------------------------- #


def test_normalise_message_masks_timestamps_and_versions() -> None:
    event = {"event": "STOP", "timestamp": {"seconds": 1, "microseconds": 2}}
    assert normalise_message(event) == {"event": "STOP", "timestamp": "<timestamp>"}
    version = {"qemu": {"major": 7, "minor": 2, "micro": 22}, "package": "Debian"}
    masked = {"qemu": {"major": 7, "minor": 2, "micro": "<micro>"}, "package": "<package>"}
    assert normalise_message({"return": version, "id": 1}) == {"return": masked, "id": 1}
    assert normalise_message({"QMP": {"version": version}}) == {"QMP": {"version": masked}}
    # A dict that merely has a "package" key is left alone.
    assert normalise_message({"return": {"package": "x"}}) == {"return": {"package": "x"}}
    assert normalise_message(normalise_message(event)) == normalise_message(event)


def test_normalise_stderr() -> None:
    text = (
        "/usr/bin/qemu-system-x86_64: -m foo: bad   \n"
        "qemu-system-x86_64: second\n"
        "memdevd: third\n"
        "Optional suffix k\n"
        "  \n\n"
    )
    got = normalise_stderr(text, ["/usr/bin/qemu-system-x86_64", "memdevd"])
    assert got == "-m foo: bad\nsecond\nthird\nOptional suffix k"
    # Only one leading prefix is stripped, and only known program names.
    assert normalise_stderr("qemu-system-x86_64: qemu-system-x86_64: x") == (
        "qemu-system-x86_64: x"
    )
    assert normalise_stderr("other: x") == "other: x"


def test_step_options_keep_names_and_unordered() -> None:
    ret = {"return": [{"name": "b", "t": 1}, {"name": "a", "t": 2}, {"name": "c", "t": 3}]}
    keep = Step(send={}, keep_names=("c", "a", "zz"))
    assert apply_step_options(ret, keep) == {
        "return": [{"name": "a", "t": 2}, {"name": "c", "t": 3}]
    }
    unordered = Step(send={}, unordered=True)
    assert apply_step_options({"return": [3, 1, 2]}, unordered) == {"return": [1, 2, 3]}
    # Non-list returns and errors are untouched.
    assert apply_step_options({"error": {}}, keep) == {"error": {}}
    assert apply_step_options({"return": {}}, unordered) == {"return": {}}


# --------------------------------------------------------------------------- #
# Running against the fake program
# --------------------------------------------------------------------------- #


def test_basic_exchange(fake: CommandTarget) -> None:
    sc = make(
        [
            CAPS,
            {"send": {**ex("echo", value=[1, 2.5, True, None]), "id": {"k": "v"}}},
            {"send": ex("version")},
            {"send": ex("nope")},
            {"raw": "{not json"},
        ]
    )
    t = run(sc, fake)
    assert [r["type"] for r in t.records] == ["scenario", "start"] + ["step"] * 5
    assert t.records[0] == {"type": "scenario", "name": "t", "argv": []}
    assert t.greeting["QMP"]["version"] == {
        "qemu": {"micro": "<micro>", "minor": 2, "major": 7},
        "package": "<package>",
    }
    assert t.qemu_version() == "7.2"
    steps = t.steps
    assert steps[1]["responses"] == [{"return": [1, 2.5, True, None], "id": {"k": "v"}}]
    assert steps[2]["responses"][0]["return"]["qemu"]["micro"] == "<micro>"
    assert steps[3]["responses"][0]["error"]["class"] == "CommandNotFound"
    assert steps[4]["raw"] == "{not json" and "send" not in steps[4]
    assert all("closed" not in s for s in steps)
    assert t.end is None
    # The file form is sorted-key JSON lines and reads back identically.
    text = t.to_jsonl()
    assert all(line == json.dumps(json.loads(line), sort_keys=True) for line in text.splitlines())
    assert Transcript.from_jsonl(text).records == t.records


def test_step_options_apply_while_recording(fake: CommandTarget) -> None:
    names = [{"name": "b", "type": "x"}, {"name": "a", "type": "y"}, {"name": "zz", "type": "z"}]
    sc = make(
        [
            CAPS,
            {"send": ex("echo", value=names), "keep_names": ["a", "b", "missing"]},
            {"send": ex("echo", value=[3, {"k": 1}, 1, "s"]), "unordered": True},
            {"send": ex("echo", value=[3, 1])},
        ]
    )
    s = run(sc, fake).steps
    assert s[1]["responses"] == [
        {"return": [{"name": "a", "type": "y"}, {"name": "b", "type": "x"}]}
    ]
    # Sorted by canonical JSON text: the order itself is arbitrary but stable.
    assert s[2]["responses"] == [{"return": ["s", 1, 3, {"k": 1}]}]
    assert s[3]["responses"] == [{"return": [3, 1]}]


def test_response_timeout_records_nothing_and_moves_on(fake: CommandTarget) -> None:
    sc = make(
        [
            CAPS,
            {"send": ex("silent"), "response_timeout_ms": 200, "settle_ms": 0},
            {"send": ex("slow", delay_ms=500), "response_timeout_ms": 100, "settle_ms": 0},
            {"send": ex("echo", value=1), "response_timeout_ms": 2000},
        ]
    )
    begin = time.monotonic()
    t = run(sc, fake)
    assert time.monotonic() - begin < 5
    s = t.steps
    assert s[1]["responses"] == [] and s[2]["responses"] == []
    # The late answer of "slow" arrives during the next step; it is kept there.
    assert s[3]["responses"] == [{"return": {}}, {"return": 1}]


def test_settle_and_wait_event(fake: CommandTarget) -> None:
    sc = make(
        [
            CAPS,
            # Settle long enough: the event is attributed to this step.
            {"send": ex("event", name="A", delay_ms=100), "settle_ms": 400},
            # wait_event waits past a short settle.
            {"send": ex("event", name="B", delay_ms=300), "settle_ms": 20, "wait_event": "B"},
            # Too short a settle: the event lands in the following step.
            {"send": ex("event", name="C", delay_ms=300), "settle_ms": 20},
            {"send": ex("echo", value=0), "settle_ms": 600},
            # wait_event that never comes gives up after event_timeout_ms.
            {"send": ex("echo", value=1), "wait_event": "NEVER", "event_timeout_ms": 200},
            {"send": ex("echo", value=2), "expect_responses": 0, "settle_ms": 300},
        ]
    )
    t = run(sc, fake)
    s = t.steps
    event = {"event": "A", "timestamp": "<timestamp>", "data": {"n": 1}}
    assert s[1]["events"] == [event]
    assert [e["event"] for e in s[2]["events"]] == ["B"]
    assert s[3]["events"] == [] and [e["event"] for e in s[4]["events"]] == ["C"]
    assert s[5]["events"] == [] and s[5]["responses"] == [{"return": 1}]
    assert s[6]["responses"] == [{"return": 2}]


def test_quit_closes_and_records_end(fake: CommandTarget) -> None:
    sc = make([CAPS, {"send": ex("quit", code=3), "wait_event": "SHUTDOWN"}, {"send": ex("echo")}])
    t = run(sc, fake)
    quit_step, after = t.steps[1], t.steps[2]
    assert quit_step["closed"] is True and quit_step["responses"] == [{"return": {}}]
    assert quit_step["events"][0]["event"] == "SHUTDOWN"
    assert after == {
        "type": "step",
        "send": {"execute": "echo"},
        "responses": [],
        "events": [],
        "closed": True,
    }
    assert t.end == {"type": "end", "exit_status": 3}
    assert t.started


def test_close_without_answer_exit_zero_is_not_a_startup_failure(fake: CommandTarget) -> None:
    t = run(make([{"send": ex("close")}, {"send": ex("echo")}]), fake)
    assert t.started
    assert [s.get("closed") for s in t.steps] == [True, True]
    assert t.end == {"type": "end", "exit_status": 0}


def test_startup_failure_before_listening(fake_prog: str) -> None:
    sc = make([CAPS, {"send": ex("echo")}], argv=["--fail-before-listen=-m foo: bad size"])
    # The fake prints its script path as PROG; say so, as --prog-name would.
    target = CommandTarget((sys.executable, fake_prog), prog_names=(fake_prog,))
    t = run(sc, target)
    assert t.records[1:] == [
        {
            "type": "start",
            "status": "failed",
            "exit_status": 1,
            # "PROG: " stripped (PROG = the script path), lines rstripped,
            # trailing blank lines dropped.
            "stderr": "-m foo: bad size\nsecond line",
        }
    ]
    assert not t.started


def test_startup_failure_after_greeting(fake: CommandTarget) -> None:
    # QEMU 7.2 greets before machine init fails: greeting, EOF, exit 1.
    sc = make(
        [CAPS, {"send": ex("echo")}], argv=["--greet-then-fail=slots specified but no max-size"]
    )
    t = run(sc, fake)
    assert t.records[1:] == [
        {
            "type": "start",
            "status": "failed",
            "exit_status": 1,
            "stderr": "slots specified but no max-size",
        }
    ]


def test_missing_program_is_a_run_error() -> None:
    with pytest.raises(RunError, match="cannot start"):
        run(make([CAPS]), CommandTarget(("/nonexistent/qemu",)))


def test_process_group_is_killed(fake: CommandTarget, tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    t = run(make([CAPS], argv=[f"--spawn-child={pidfile}"]), fake)
    assert t.started and t.end is None
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        # Dead means gone or a zombie: reaping the orphan is init's business
        # and may take a while in a container.
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            break
        if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
            break
        time.sleep(0.02)
    else:
        pytest.fail(f"child {pid} of the target survived the run")


# --------------------------------------------------------------------------- #
# Diffing
# --------------------------------------------------------------------------- #


def _transcript(*steps: dict[str, Any], start: dict[str, Any] | None = None) -> Transcript:
    recs: list[dict[str, Any]] = [{"type": "scenario", "name": "t", "argv": []}]
    recs.append(start or {"type": "start", "status": "ok", "greeting": {"QMP": {}}})
    recs.extend({"type": "step", "events": [], **s} for s in steps)
    return Transcript(recs)


def test_diff_equal_and_exact_types() -> None:
    base = _transcript({"send": ex("a"), "responses": [{"return": 1}]})
    assert diff_transcripts(base, base) is None
    for other in (1.0, True, "1"):
        changed = _transcript({"send": ex("a"), "responses": [{"return": other}]})
        msg = diff_transcripts(base, changed)
        assert msg is not None
        assert msg.startswith('steps[0] (send {"execute": "a"}): responses[0] differs')
        assert '"return": 1}' in msg and json.dumps(other) in msg
    # Object key order is irrelevant.
    a = _transcript({"send": ex("a"), "responses": [{"return": {"x": 1, "y": 2}}]})
    b = _transcript({"send": ex("a"), "responses": [{"return": {"y": 2, "x": 1}}]})
    assert diff_transcripts(a, b) is None


def test_diff_counts_events_and_closed() -> None:
    exp = _transcript({"send": ex("a"), "responses": [{"return": {}}], "events": [{"event": "X"}]})
    fewer = _transcript({"send": ex("a"), "responses": [], "events": [{"event": "X"}]})
    msg = diff_transcripts(exp, fewer)
    assert msg is not None and "expected 1 responses, got 0" in msg and "missing:" in msg
    no_event = _transcript({"send": ex("a"), "responses": [{"return": {}}]})
    msg = diff_transcripts(exp, no_event)
    assert msg is not None and msg.startswith("steps[0]") and "events" in msg
    closed = _transcript(
        {"send": ex("a"), "responses": [{"return": {}}], "events": [{"event": "X"}], "closed": True}
    )
    msg = diff_transcripts(exp, closed)
    assert msg is not None and "connection expected open, actually closed" in msg
    # Responses and events are compared separately: their interleaving is not.
    raw = _transcript({"raw": "x", "responses": []})
    assert "sent different things" in (diff_transcripts(exp, raw) or "")


def test_diff_start_greeting_and_end() -> None:
    ok = _transcript()
    failed = _transcript(
        start={"type": "start", "status": "failed", "exit_status": 1, "stderr": "boom"}
    )
    msg = diff_transcripts(ok, failed)
    assert msg is not None and msg.startswith("start-up differs") and '"boom"' in msg
    other_err = _transcript(
        start={"type": "start", "status": "failed", "exit_status": 1, "stderr": "bang"}
    )
    assert "stderr differs" in (diff_transcripts(failed, other_err) or "")
    other_code = _transcript(
        start={"type": "start", "status": "failed", "exit_status": 2, "stderr": "boom"}
    )
    assert "exit status: expected 1, actual 2" in (diff_transcripts(failed, other_code) or "")
    greet = _transcript(start={"type": "start", "status": "ok", "greeting": {"QMP": {"v": 1}}})
    assert (diff_transcripts(ok, greet) or "").startswith("greeting differs")
    ended = Transcript([*ok.records, {"type": "end", "exit_status": 0}])
    ended_1 = Transcript([*ok.records, {"type": "end", "exit_status": 1}])
    assert "to stay open, but it closed" in (diff_transcripts(ok, ended) or "")
    assert "exit status expected 0, actual 1" in (diff_transcripts(ended, ended_1) or "")
    # Against an already-running socket exit statuses mean nothing.
    assert diff_transcripts(ended, ended_1, compare_exit=False) is None
    ended_1.has_process = False
    assert diff_transcripts(ended, ended_1) is None


def test_diff_reapplies_step_options() -> None:
    sc = make([{"send": ex("q"), "unordered": True}])
    a = _transcript({"send": ex("q"), "responses": [{"return": [2, 1]}]})
    b = _transcript({"send": ex("q"), "responses": [{"return": [1, 2]}]})
    assert diff_transcripts(a, b) is not None
    assert diff_transcripts(a, b, scenario=sc) is None
    # Raw (unnormalised) timestamps in a hand-made transcript compare equal.
    c = _transcript({"send": ex("q"), "responses": [], "events": [{"event": "E", "timestamp": 1}]})
    d = _transcript({"send": ex("q"), "responses": [], "events": [{"event": "E", "timestamp": 2}]})
    assert diff_transcripts(c, d) is None


# --------------------------------------------------------------------------- #
# Comparing, sockets, concurrency
# --------------------------------------------------------------------------- #


def test_compare_live_and_recorded(fake: CommandTarget, fake_prog: str) -> None:
    sc = make(
        [CAPS, {"send": ex("echo", value="x")}, {"send": ex("quit"), "wait_event": "SHUTDOWN"}]
    )
    same = asyncio.run(compare_live(sc, fake, fake))
    assert same.ok, same.message
    assert same.expected is not None
    other = CommandTarget((sys.executable, fake_prog, "{argv}", "--major=10"))
    differ = asyncio.run(compare_live(sc, fake, other))
    assert not differ.ok and differ.message.startswith("greeting differs")
    again = asyncio.run(compare_recorded(sc, same.expected, fake))
    assert again.ok, again.message


def test_compare_live_stops_at_first_difference(fake: CommandTarget, fake_prog: str) -> None:
    steps: list[dict[str, Any]] = [{**CAPS, "response_timeout_ms": 500}]
    steps += [{"send": ex("echo", value=i), "response_timeout_ms": 500} for i in range(5)]
    sc = make(steps)
    mute = CommandTarget((sys.executable, fake_prog, "{argv}", "--mute=1"))
    begin = time.monotonic()
    early = asyncio.run(compare_live(sc, fake, mute))
    quick = time.monotonic() - begin
    assert early.message.startswith('steps[0] (send {"execute": "qmp_capabilities"})')
    assert early.actual is not None and len(early.actual.steps) == 1
    # Without stopping early every step of the mute target times out.
    begin = time.monotonic()
    full = asyncio.run(compare_live(sc, fake, mute, stop_at_first_difference=False))
    assert time.monotonic() - begin > quick + 1.5
    assert full.message == early.message
    assert full.actual is not None and len(full.actual.steps) == 6


def test_socket_target(fake: CommandTarget) -> None:
    async def scenario() -> Transcript:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b'{"QMP": {"version": {}, "capabilities": []}}\n')
            while line := await reader.readline():
                msg = json.loads(line)
                writer.write(json.dumps({"return": msg["execute"]}).encode() + b"\n")
                if msg["execute"] == "bye":
                    writer.close()
                    return
                await writer.drain()

        path = f"/tmp/memdevd-test-{os.getpid()}.sock"
        server = await asyncio.start_unix_server(handle, path)
        try:
            async with server:
                return await run_scenario(
                    make([{"send": ex("hi")}, {"send": ex("bye")}, {"send": ex("late")}]),
                    SocketTarget(path),
                )
        finally:
            os.unlink(path)

    t = asyncio.run(scenario())
    assert not t.has_process
    assert [s["responses"] for s in t.steps] == [[{"return": "hi"}], [{"return": "bye"}], []]
    assert t.steps[1].get("closed") and t.end == {"type": "end", "exit_status": None}


def test_run_many_limits_concurrency_and_keeps_order() -> None:
    running = peak = 0

    async def job(i: int) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01 * (5 - i % 5))
        running -= 1
        return i

    got = asyncio.run(run_many([lambda i=i: job(i) for i in range(12)], limit=3))  # type: ignore[misc]
    assert got == list(range(12)) and peak == 3


# --------------------------------------------------------------------------- #
# CLI
# --------------------------------------------------------------------------- #


def test_cli_compare_record_and_fail(tmp_path: Path, fake_prog: str) -> None:
    d = tmp_path / "sc"
    d.mkdir()
    good = {"name": "good", "argv": [], "steps": [CAPS, {"send": ex("echo", value=1)}]}
    (d / "good.json").write_text(json.dumps(good))
    (d / "broken.json").write_text("{")
    template = f"{sys.executable} {fake_prog} {{argv}}"
    # --qemu is a single program path; a wrapper script stands in for QEMU.
    wrapper = tmp_path / "qemu"
    wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} {fake_prog} "$@"\n')
    wrapper.chmod(0o755)

    out = io.StringIO()
    rc = compare_cli.main(
        ["compare", str(d), "--target", template, "--qemu", str(wrapper)], out=out
    )
    text = out.getvalue()
    assert rc == 1
    assert f"FAIL {d / 'broken.json'}: error: " in text
    assert f"PASS {d / 'good.json'}" in text
    assert text.endswith("1 passed, 1 failed\n")

    (d / "broken.json").unlink()
    out = io.StringIO()
    rc = compare_cli.main(
        ["record", str(d), "--qemu", str(wrapper), "--expect-suffix", "s"], out=out
    )
    assert rc == 0, out.getvalue()
    recorded = d / "good.expected-s.jsonl"
    assert recorded.exists() and out.getvalue().endswith("1 recorded, 0 failed\n")

    # Compare against the stored transcript, then against a tampered one.
    out = io.StringIO()
    args = ["compare", str(d / "good.json"), "--expect-suffix", "s", "--target", template]
    assert compare_cli.main(args, out=out) == 0, out.getvalue()
    lines = recorded.read_text().splitlines()
    step = json.loads(lines[3])
    step["responses"] = [{"return": 2}]
    lines[3] = json.dumps(step, sort_keys=True)
    recorded.write_text("\n".join(lines) + "\n")
    out = io.StringIO()
    assert compare_cli.main(args, out=out) == 1
    assert (
        'steps[1] (send {"arguments": {"value": 1}, "execute": "echo"}): responses[0] differs'
        in (out.getvalue())
    )


def test_cli_help_documents_formats(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        compare_cli.main(["compare", "--help"])
    assert exc.value.code == 0
    help_text = capsys.readouterr().out
    for word in ("expect_responses", "settle_ms", "keep_names", "{argv}", "{qmp}", "expected"):
        assert word in help_text
