"""Scenario runner: replay one QMP exchange against QEMU or memdevd and diff the answers.

memdevd's product is fidelity to real QEMU, so its conformance suite is a set of
*scenarios*: a QEMU command line plus a list of things to write to the QMP
socket.  This module loads scenarios, runs them against a *target* (a command
started once per scenario, or an already-running socket), records what came
back as a *transcript*, normalises the parts that legitimately vary (event
timestamps, QEMU's micro version and package string, host thread ids, the
random digits of generated ids such as "#block12345"), and reports the first
difference between two transcripts.

It is deliberately stdlib-only and import-cheap: ``memdevd compare`` and the
test-suite import it, and neither should pay for pydantic or the daemon.

Scenario file (JSON)::

    {"name": "...", "argv": ["-machine", "pc", ...], "notes": "...",
     "steps": [{"send": {"execute": "qmp_capabilities"}},
               {"raw": "{\\"execute\\": ", "no_newline": true, "expect_responses": 0},
               ...]}

Step keys: exactly one of ``send`` (any JSON value, written as ``json.dumps``
+ newline) or ``raw`` (text written verbatim + newline unless ``no_newline``);
optional ``expect_responses`` (1), ``response_timeout_ms`` (3000),
``wait_event``, ``event_timeout_ms`` (3000), ``settle_ms`` (150),
``keep_names`` and ``unordered``.  Scenario key ``stderr`` (false): also
compare what a run that started printed (warnings; the "terminating on
signal" line left out), not only the stderr of a start that failed.
Scenario key ``target`` ("x86_64"): the QEMU system emulator the scenario
is for (memdevd/targets/<target>: "aarch64" runs qemu-system-aarch64 and
``memdevd -memdevd target=aarch64``).

Transcript (``NAME.expected.jsonl``, one ``json.dumps(rec, sort_keys=True)`` per
line): a ``scenario`` record, a ``start`` record (``ok`` with the greeting, or
``failed`` with exit status and stderr), one ``step`` record per step and, if
the target closed the connection, an ``end`` record with its exit status.

Typical use::

    scenario = load_scenario("tests/conformance/scenarios/dimm_basic.json")
    result = await compare_live(scenario, qemu_target("/usr/bin/qemu-system-x86_64"),
                                memdevd_target("7.2"))
    assert result.ok, result.message
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import field
from pathlib import Path
from typing import Any, Final, TypeAlias, TypeVar

from memdevd import records

__all__ = [
    "DEFAULT_QEMU",
    "CommandTarget",
    "Comparison",
    "RunError",
    "Scenario",
    "ScenarioError",
    "SocketTarget",
    "Step",
    "Target",
    "Transcript",
    "TranscriptError",
    "canonical",
    "compare_live",
    "compare_recorded",
    "diff_transcripts",
    "discover_scenarios",
    "expected_path",
    "load_scenario",
    "memdevd_target",
    "normalise_message",
    "normalise_stderr",
    "parse_scenario",
    "qemu_binary_version",
    "qemu_target",
    "record",
    "run_many",
    "run_scenario",
]

JSON: TypeAlias = Any
"""A decoded JSON value (dict, list, str, int, float, bool or None)."""

T = TypeVar("T")

DEFAULT_QEMU: Final = "qemu-system-x86_64"
"""Program name QEMU prefixes its messages with, and the default ``--qemu``."""

TIMESTAMP_PLACEHOLDER: Final = "<timestamp>"
MICRO_PLACEHOLDER: Final = "<micro>"
PACKAGE_PLACEHOLDER: Final = "<package>"

# Generous: QEMU binds its socket in well under a second, but CI runs many
# targets at once on two cores and memdevd pays for a Python start-up.
DEFAULT_START_TIMEOUT: Final = 30.0
# How long a target that closed the connection gets to exit before we give up
# on its exit status (and kill it).
EXIT_TIMEOUT: Final = 10.0
# QMP lines can be long (qom-list, query-qmp-schema); asyncio's default 64 KiB
# line limit would turn a long answer into a spurious error.
LINE_LIMIT: Final = 64 * 1024 * 1024


# --------------------------------------------------------------------------- #
# Scenarios
# --------------------------------------------------------------------------- #


class ScenarioError(ValueError):
    """A scenario file that cannot be used: the message names file and place."""


@records.record(frozen=True)
class Step:
    """One write to the QMP socket and how to collect what it provokes."""

    send: JSON = None
    raw: str | None = None
    no_newline: bool = False
    expect_responses: int = 1
    response_timeout_ms: int = 3000
    wait_event: str | None = None
    event_timeout_ms: int = 3000
    settle_ms: int = 150
    keep_names: tuple[str, ...] | None = None
    unordered: bool = False

    @property
    def is_raw(self) -> bool:
        return self.raw is not None

    def payload(self) -> bytes:
        """The exact bytes written to the socket."""
        if self.raw is not None:
            text = self.raw if self.no_newline else self.raw + "\n"
        else:
            text = json.dumps(self.send) + "\n"
        return text.encode("utf-8")

    def describe(self) -> str:
        """What was sent, for diff messages."""
        if self.raw is not None:
            return "raw " + json.dumps(self.raw)
        return "send " + json.dumps(self.send, sort_keys=True)


@records.record(frozen=True)
class Scenario:
    """A QEMU command line (without program and ``-qmp``) and the steps to replay."""

    name: str
    argv: tuple[str, ...]
    steps: tuple[Step, ...]
    notes: str = ""
    path: Path | None = None
    # Compare what a started run printed (warnings), not only a failed start's.
    stderr: bool = False
    # The QEMU system emulator it runs (memdevd/targets/<target>).
    target: str = "x86_64"

    @property
    def label(self) -> str:
        return str(self.path) if self.path is not None else self.name


_STEP_KEYS: Final = frozenset(
    {
        "send",
        "raw",
        "no_newline",
        "expect_responses",
        "response_timeout_ms",
        "wait_event",
        "event_timeout_ms",
        "settle_ms",
        "keep_names",
        "unordered",
    }
)
_SCENARIO_KEYS: Final = frozenset({"name", "argv", "steps", "notes", "stderr", "target"})


def _type_name(value: object) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def _check_int(where: str, key: str, value: object, *, minimum: int) -> int:
    # bool is an int subclass; "expect_responses": true is a typo, not 1.
    if not isinstance(value, int) or isinstance(value, bool):
        raise ScenarioError(f"{where}: '{key}' must be an integer, not {_type_name(value)}")
    if value < minimum:
        raise ScenarioError(f"{where}: '{key}' must be >= {minimum}, not {value}")
    return value


def _check_bool(where: str, key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ScenarioError(f"{where}: '{key}' must be true or false, not {_type_name(value)}")
    return value


def _parse_step(where: str, data: object) -> Step:
    if not isinstance(data, dict):
        raise ScenarioError(f"{where}: a step must be an object, not {_type_name(data)}")
    # Unknown keys are almost always typos ("expect_response") that would
    # otherwise silently change what the step waits for.
    unknown = sorted(set(data) - _STEP_KEYS)
    if unknown:
        raise ScenarioError(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(sorted(_STEP_KEYS))}"
        )
    has_send, has_raw = "send" in data, "raw" in data
    if has_send == has_raw:
        raise ScenarioError(f"{where}: a step needs exactly one of 'send' or 'raw'")
    raw: str | None = None
    if has_raw:
        if not isinstance(data["raw"], str):
            raise ScenarioError(f"{where}: 'raw' must be a string, not {_type_name(data['raw'])}")
        raw = data["raw"]
    no_newline = False
    if "no_newline" in data:
        if not has_raw:
            raise ScenarioError(f"{where}: 'no_newline' only applies to 'raw' steps")
        no_newline = _check_bool(where, "no_newline", data["no_newline"])
    wait_event = data.get("wait_event")
    if wait_event is not None and (not isinstance(wait_event, str) or not wait_event):
        raise ScenarioError(f"{where}: 'wait_event' must be an event name")
    keep_names: tuple[str, ...] | None = None
    if "keep_names" in data:
        names = data["keep_names"]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ScenarioError(f"{where}: 'keep_names' must be a list of strings")
        keep_names = tuple(names)
    return Step(
        send=data.get("send"),
        raw=raw,
        no_newline=no_newline,
        expect_responses=_check_int(
            where, "expect_responses", data.get("expect_responses", 1), minimum=0
        ),
        response_timeout_ms=_check_int(
            where, "response_timeout_ms", data.get("response_timeout_ms", 3000), minimum=1
        ),
        wait_event=wait_event,
        event_timeout_ms=_check_int(
            where, "event_timeout_ms", data.get("event_timeout_ms", 3000), minimum=1
        ),
        settle_ms=_check_int(where, "settle_ms", data.get("settle_ms", 150), minimum=0),
        keep_names=keep_names,
        unordered=_check_bool(where, "unordered", data.get("unordered", False)),
    )


def parse_scenario(
    data: object, *, source: str = "<scenario>", path: Path | None = None
) -> Scenario:
    """Validate decoded scenario JSON; raise :class:`ScenarioError` naming the fault."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: a scenario must be a JSON object, not {_type_name(data)}")
    unknown = sorted(set(data) - _SCENARIO_KEYS)
    if unknown:
        raise ScenarioError(
            f"{source}: unknown key(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(sorted(_SCENARIO_KEYS))}"
        )
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise ScenarioError(f"{source}: 'name' must be a non-empty string")
    argv = data.get("argv")
    if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
        raise ScenarioError(f"{source}: 'argv' must be a list of strings")
    if "-qmp" in argv:
        # The runner owns the monitor socket; a second -qmp would make the
        # transcript depend on which monitor we happen to talk to.
        raise ScenarioError(f"{source}: 'argv' must not contain -qmp (the runner adds it)")
    steps = data.get("steps")
    if not isinstance(steps, list):
        raise ScenarioError(f"{source}: 'steps' must be a list")
    notes = data.get("notes", "")
    if not isinstance(notes, str):
        raise ScenarioError(f"{source}: 'notes' must be a string")
    stderr = _check_bool(source, "stderr", data.get("stderr", False))
    target = data.get("target", "x86_64")
    from memdevd.targets import TARGET_NAMES

    if target not in TARGET_NAMES:
        raise ScenarioError(f"{source}: 'target' must be one of {', '.join(TARGET_NAMES)}")
    parsed = tuple(_parse_step(f"{source}: steps[{i}]", s) for i, s in enumerate(steps))
    return Scenario(
        name=name,
        argv=tuple(argv),
        steps=parsed,
        notes=notes,
        path=path,
        stderr=stderr,
        target=target,
    )


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read and validate a scenario file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{p}: cannot read: {exc.strerror or exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"{p}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from exc
    return parse_scenario(data, source=str(p), path=p)


def expected_path(scenario_path: str | os.PathLike[str], suffix: str | None = None) -> Path:
    """``dir/NAME.json`` -> ``dir/NAME.expected.jsonl`` (or ``NAME.expected-SUFFIX.jsonl``)."""
    p = Path(scenario_path)
    tail = f".expected-{suffix}.jsonl" if suffix else ".expected.jsonl"
    return p.with_name(p.stem + tail) if p.suffix == ".json" else p.with_name(p.name + tail)


def discover_scenarios(args: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Expand directories to every ``*.json`` below them (sorted); files pass through."""
    found: list[Path] = []
    for arg in args:
        p = Path(arg)
        if p.is_dir():
            found.extend(
                q for q in sorted(p.rglob("*.json")) if q.is_file() and ".expected" not in q.name
            )
        else:
            found.append(p)
    return found


# --------------------------------------------------------------------------- #
# Normalisation
# --------------------------------------------------------------------------- #


def canonical(value: JSON) -> str:
    """The comparison key: exact on types (1, 1.0 and true differ), key order ignored."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _is_version_info(value: dict[str, Any]) -> bool:
    qemu = value.get("qemu")
    return "package" in value and isinstance(qemu, dict) and "micro" in qemu


THREAD_ID_PLACEHOLDER: Final = "<thread-id>"

#: ids QEMU generates with two random digits (util/id.c ``id_generate``):
#: "#block123" + "45"; memdevd's digits differ, so both are masked.
GENERATED_ID = re.compile(r"#(block|qdev|chr|net)\d{3,}")


def _normalise_value(value: JSON) -> JSON:
    if isinstance(value, str) and "#" in value:
        return GENERATED_ID.sub(r"#\1<id>", value)
    if isinstance(value, dict):
        out = {k: _normalise_value(v) for k, v in value.items()}
        if isinstance(out.get("thread-id"), int):
            # A host thread id (vCPUs, iothreads): differs from run to run.
            out["thread-id"] = THREAD_ID_PLACEHOLDER
        if _is_version_info(out):
            # Distribution builds differ in micro version and package string;
            # memdevd emulates a major.minor, so only those are compared.
            out["qemu"] = dict(out["qemu"], micro=MICRO_PLACEHOLDER)
            out["package"] = PACKAGE_PLACEHOLDER
        return out
    if isinstance(value, list):
        return [_normalise_value(v) for v in value]
    return value


def normalise_message(message: JSON) -> JSON:
    """Mask event timestamps, VersionInfo micro/package, host thread ids and
    generated ids ("#block<id>")."""
    out = _normalise_value(message)
    if isinstance(out, dict) and "event" in out and "timestamp" in out:
        out["timestamp"] = TIMESTAMP_PLACEHOLDER
    return out


def apply_step_options(message: JSON, step: Step | None) -> JSON:
    """Apply a step's ``keep_names`` / ``unordered`` to a response's ``return``."""
    if step is None or not isinstance(message, dict) or "return" not in message:
        return message
    ret = message["return"]
    if not isinstance(ret, list):
        return message
    if step.keep_names is not None and all(
        isinstance(item, dict) and "name" in item for item in ret
    ):
        wanted = set(step.keep_names)
        ret = sorted(
            (item for item in ret if item["name"] in wanted),
            key=lambda item: canonical(item["name"]),
        )
    if step.unordered:
        ret = sorted(ret, key=canonical)
    if ret is message["return"]:
        return message
    return {**message, "return": ret}


def normalise_stderr(text: str, prog_names: Iterable[str] = ()) -> str:
    """Strip ``PROG: `` line prefixes, trailing blanks per line and trailing blank lines."""
    progs = {p for p in prog_names if p}
    progs.add(DEFAULT_QEMU)
    progs |= {os.path.basename(p) for p in list(progs)}
    # Longest first so "/usr/bin/qemu-system-x86_64: " is not half-stripped
    # by a shorter name that happens to be its suffix.
    prefixes = sorted((p + ": " for p in progs), key=len, reverse=True)
    lines: list[str] = []
    for line in text.splitlines():
        for prefix in prefixes:
            if line.startswith(prefix):
                line = line[len(prefix) :]
                break
        lines.append(line.rstrip())
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


# --------------------------------------------------------------------------- #
# Transcripts
# --------------------------------------------------------------------------- #


class TranscriptError(ValueError):
    """A transcript file that cannot be read."""


@records.record
class Transcript:
    """The recorded exchange: a list of records as written to ``*.expected.jsonl``.

    ``stderr`` holds the target's whole (normalised) stderr even when start-up
    succeeded; it is not part of the file and is never compared, but helps
    explain a difference.
    """

    records: list[dict[str, Any]]
    stderr: str = ""
    # Whether exit statuses mean anything (False for an already-running socket).
    has_process: bool = True

    @property
    def start(self) -> dict[str, Any] | None:
        return next((r for r in self.records if r.get("type") == "start"), None)

    @property
    def started(self) -> bool:
        start = self.start
        return start is not None and start.get("status") == "ok"

    @property
    def greeting(self) -> JSON:
        start = self.start
        return None if start is None else start.get("greeting")

    @property
    def steps(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r.get("type") == "step"]

    @property
    def end(self) -> dict[str, Any] | None:
        return next((r for r in self.records if r.get("type") == "end"), None)

    def qemu_version(self) -> str | None:
        """``MAJOR.MINOR`` from the greeting, if the target greeted."""
        try:
            info = self.greeting["QMP"]["version"]["qemu"]
            return f"{int(info['major'])}.{int(info['minor'])}"
        except (TypeError, KeyError, ValueError):
            return None

    def to_jsonl(self) -> str:
        return "".join(json.dumps(rec, sort_keys=True) + "\n" for rec in self.records)

    def save(self, path: str | os.PathLike[str]) -> None:
        # Write-then-rename so an interrupted `record` never leaves half a file.
        p = Path(path)
        tmp = p.with_name(p.name + ".tmp")
        tmp.write_text(self.to_jsonl(), encoding="utf-8")
        tmp.replace(p)

    @classmethod
    def from_jsonl(cls, text: str, *, source: str = "<transcript>") -> Transcript:
        records: list[dict[str, Any]] = []
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise TranscriptError(f"{source}:{lineno}: invalid JSON: {exc.msg}") from exc
            if not isinstance(rec, dict) or rec.get("type") not in {
                "scenario",
                "start",
                "step",
                "end",
            }:
                raise TranscriptError(f"{source}:{lineno}: not a transcript record")
            records.append(rec)
        if not any(r["type"] == "start" for r in records):
            raise TranscriptError(f"{source}: no start record")
        return cls(records)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Transcript:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise TranscriptError(f"{p}: cannot read: {exc.strerror or exc}") from exc
        return cls.from_jsonl(text, source=str(p))


# --------------------------------------------------------------------------- #
# Targets
# --------------------------------------------------------------------------- #


class RunError(RuntimeError):
    """The run itself could not be carried out (not a difference in behaviour)."""


@records.record(frozen=True)
class CommandTarget:
    """A program started once per scenario, in its own session.

    ``template`` words: ``{argv}`` becomes the scenario's argv words, ``{qmp}``
    the two words ``-qmp unix:SOCK,server=on,wait=off``, and ``{socket}`` (also
    inside a word) the socket path.  Without ``{socket}``/``{qmp}`` the -qmp
    pair is appended; without ``{argv}`` the argv is appended.
    """

    template: tuple[str, ...]
    prog_names: tuple[str, ...] = ()
    env: Mapping[str, str] | None = None
    cwd: str | None = None
    start_timeout: float = DEFAULT_START_TIMEOUT

    @classmethod
    def from_string(cls, template: str, **kwargs: Any) -> CommandTarget:
        return cls(tuple(shlex.split(template)), **kwargs)

    def command(self, argv: Sequence[str], socket_path: str) -> list[str]:
        qmp = ["-qmp", f"unix:{socket_path},server=on,wait=off"]
        words: list[str] = []
        has_argv = has_socket = False
        for word in self.template:
            if word == "{argv}":
                words.extend(argv)
                has_argv = True
            elif word == "{qmp}":
                words.extend(qmp)
                has_socket = True
            elif "{socket}" in word:
                words.append(word.replace("{socket}", socket_path))
                has_socket = True
            else:
                words.append(word)
        if not has_argv:
            words.extend(argv)
        if not has_socket:
            words.extend(qmp)
        if not words:
            raise RunError("empty target command")
        return words

    def describe(self) -> str:
        return shlex.join(self.template)


@records.record(frozen=True)
class SocketTarget:
    """A QMP socket some already-running process listens on (no exit statuses)."""

    path: str
    connect_timeout: float = 5.0

    def describe(self) -> str:
        return f"socket {self.path}"


Target: TypeAlias = CommandTarget | SocketTarget


def qemu_target(binary: str = DEFAULT_QEMU, *, prog_names: Sequence[str] = ()) -> CommandTarget:
    """Real QEMU: ``BINARY {argv} -qmp ...``."""
    return CommandTarget((binary, "{argv}"), prog_names=tuple(prog_names))


def memdevd_target(
    version: str,
    *,
    python: str = sys.executable,
    prog_names: Sequence[str] = ("memdevd",),
    target: str = "x86_64",
) -> CommandTarget:
    """memdevd emulating QEMU ``version``: ``python -m memdevd -memdevd version=V {argv}``
    (``,target=T`` for another target than x86_64).

    PYTHONPATH is pointed at the tree this module was imported from, so the
    daemon under test is the same checkout as the runner whatever the cwd.
    """
    root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    settings = f"version={version}" if target == "x86_64" else f"version={version},target={target}"
    return CommandTarget(
        (python, "-m", "memdevd", "-memdevd", settings, "{argv}"),
        prog_names=tuple(prog_names),
        env=env,
    )


_VERSION_RE: Final = re.compile(r"version\s+(\d+)\.(\d+)")
_version_cache: dict[str, str] = {}


def qemu_binary_version(binary: str = DEFAULT_QEMU) -> str:
    """``MAJOR.MINOR`` as printed by ``BINARY --version``; RunError if unknown."""
    if binary not in _version_cache:
        try:
            out = subprocess.run(
                [binary, "--version"], capture_output=True, text=True, timeout=30, check=False
            ).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            raise RunError(f"cannot run {binary} --version: {exc}") from exc
        m = _VERSION_RE.search(out)
        if m is None:
            raise RunError(f"{binary} --version printed no version: {out.strip()!r}")
        _version_cache[binary] = f"{m.group(1)}.{m.group(2)}"
    return _version_cache[binary]


# --------------------------------------------------------------------------- #
# Running
# --------------------------------------------------------------------------- #

_EOF: Final = object()


class _Connection:
    """A QMP stream: a reader task turns lines into messages on a queue."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.queue: asyncio.Queue[object] = asyncio.Queue()
        self.closed = False
        self._task = asyncio.create_task(self._read(reader))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                text = line.decode("utf-8", errors="replace").strip()
                if not text:
                    continue
                try:
                    msg: JSON = json.loads(text)
                except json.JSONDecodeError:
                    # A target that prints non-JSON is wrong; keep what it said
                    # so the difference is visible instead of crashing the run.
                    msg = {"<non-json>": text}
                self.queue.put_nowait(msg)
        except (OSError, ValueError, asyncio.IncompleteReadError):
            pass
        finally:
            self.queue.put_nowait(_EOF)

    async def next(self, timeout: float) -> object:
        """The next message, ``_EOF``, or None on timeout."""
        if self.closed:
            return _EOF
        try:
            item = await asyncio.wait_for(self.queue.get(), max(timeout, 0.0))
        except TimeoutError:
            return None
        if item is _EOF:
            self.closed = True
        return item

    async def send(self, data: bytes) -> None:
        try:
            self.writer.write(data)
            await self.writer.drain()
        except (OSError, RuntimeError):
            # The peer is gone; the reader will report EOF.
            pass

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError, RuntimeError):
            await self.writer.wait_closed()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def _collect(conn: _Connection, step: Step) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    begin = loop.time()
    response_deadline = begin + step.response_timeout_ms / 1000
    event_deadline = begin + step.event_timeout_ms / 1000
    responses: list[JSON] = []
    events: list[JSON] = []
    seen_event = step.wait_event is None
    while not conn.closed:
        now = loop.time()
        pending = []
        if len(responses) < step.expect_responses and now < response_deadline:
            pending.append(response_deadline)
        if not seen_event and now < event_deadline:
            pending.append(event_deadline)
        # While something is still awaited, wait for it (up to its deadline);
        # then keep listening until the stream has been quiet for settle_ms.
        timeout = max(pending) - now if pending else step.settle_ms / 1000
        msg = await conn.next(timeout)
        if msg is None:
            if pending:
                continue
            break
        if msg is _EOF:
            break
        msg = normalise_message(msg)
        if isinstance(msg, dict) and "event" in msg:
            events.append(msg)
            if msg.get("event") == step.wait_event:
                seen_event = True
        else:
            responses.append(apply_step_options(msg, step))
    rec: dict[str, Any] = {"type": "step", "responses": responses, "events": events}
    if conn.closed:
        rec["closed"] = True
    return rec


def _step_record(step: Step, body: dict[str, Any]) -> dict[str, Any]:
    if step.raw is not None:
        return {"type": "step", "raw": step.raw, **body}
    return {"type": "step", "send": copy.deepcopy(step.send), **body}


async def _run_steps(
    conn: _Connection, scenario: Scenario, on_step: Callable[[dict[str, Any]], None]
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for step in scenario.steps:
        if conn.closed:
            rec = _step_record(step, {"responses": [], "events": [], "closed": True})
        else:
            await conn.send(step.payload())
            body = await _collect(conn, step)
            del body["type"]
            rec = _step_record(step, body)
        out.append(rec)
        on_step(rec)
    return out


_MISSING: Final = object()


class _Recorder:
    """A run's records in order, plus live notifications for :func:`compare_live`.

    ``records`` is the transcript.  With a queue, ``(side, kind, value)``
    items are also posted as things happen: the greeting and each step record
    at once, the start record once it is final, and ``done`` at the end, so
    two runs can be diffed while they go and stopped at the first difference.
    """

    def __init__(self, queue: asyncio.Queue[tuple[int, str, Any]] | None = None, side: int = 0):
        self.records: list[dict[str, Any]] = []
        self._queue = queue
        self._side = side
        self._greeting: Any = _MISSING
        self._steps: list[dict[str, Any]] = []

    def partial(self) -> list[dict[str, Any]]:
        """The records so far, with provisional start/steps if start-up is undecided."""
        if any(r.get("type") == "start" for r in self.records) or self._greeting is _MISSING:
            return list(self.records)
        start = {"type": "start", "status": "ok", "greeting": self._greeting}
        return [*self.records, start, *self._steps]

    def _post(self, kind: str, value: Any) -> None:
        if self._queue is not None:
            self._queue.put_nowait((self._side, kind, value))

    def emit(self, rec: dict[str, Any]) -> None:
        self.records.append(rec)
        if rec.get("type") == "start":
            self._post("start", rec)

    def greeting(self, greeting: JSON) -> None:
        self._greeting = greeting
        self._post("greeting", greeting)

    def step(self, rec: dict[str, Any]) -> None:
        self._steps.append(rec)
        self._post("step", rec)

    def done(self) -> None:
        self._post("done", None)


def _scenario_record(scenario: Scenario) -> dict[str, Any]:
    return {"type": "scenario", "name": scenario.name, "argv": list(scenario.argv)}


async def _read_greeting(conn: _Connection, timeout: float) -> JSON | None:
    msg = await conn.next(timeout)
    if msg is None:
        raise RunError(f"no QMP greeting within {timeout:g}s")
    if msg is _EOF:
        return None
    return normalise_message(msg)


async def _run_socket(scenario: Scenario, target: SocketTarget, recorder: _Recorder) -> Transcript:
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_unix_connection(target.path, limit=LINE_LIMIT), target.connect_timeout
        )
    except (OSError, TimeoutError) as exc:
        raise RunError(f"cannot connect to {target.path}: {exc}") from exc
    conn = _Connection(reader, writer)
    try:
        greeting = await _read_greeting(conn, target.connect_timeout)
        if greeting is None:
            raise RunError(f"{target.path} closed the connection without a greeting")
        recorder.emit(_scenario_record(scenario))
        recorder.greeting(greeting)
        recorder.emit({"type": "start", "status": "ok", "greeting": greeting})

        def on_step(rec: dict[str, Any]) -> None:
            recorder.step(rec)
            recorder.emit(rec)

        await _run_steps(conn, scenario, on_step)
        if conn.closed:
            recorder.emit({"type": "end", "exit_status": None})
        return Transcript(recorder.records, has_process=False)
    finally:
        await conn.close()


async def _connect_to_process(
    exited: asyncio.Task[int], path: str, timeout: float
) -> _Connection | None:
    """Connect once the target listens; None if it exited first."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    delay = 0.005
    while True:
        if exited.done():
            return None
        try:
            reader, writer = await asyncio.open_unix_connection(path, limit=LINE_LIMIT)
            return _Connection(reader, writer)
        except (FileNotFoundError, ConnectionRefusedError):
            pass
        if loop.time() >= deadline:
            raise RunError(f"target did not listen on {path} within {timeout:g}s")
        # Sleeping on the exit task keeps start-up failures fast.
        await asyncio.wait({exited}, timeout=delay)
        delay = min(delay * 2, 0.05)


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    # start_new_session made the target a group leader (pgid == pid), so this
    # also ends anything it forked.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


async def _run_command(
    scenario: Scenario, target: CommandTarget, recorder: _Recorder
) -> Transcript:
    # A short private directory: AF_UNIX paths are limited to ~107 bytes and
    # concurrent runs must never share a socket.
    with tempfile.TemporaryDirectory(prefix="memdevd-sc-", dir="/tmp") as tmp:
        sock = os.path.join(tmp, "qmp.sock")
        cmd = target.command(scenario.argv, sock)
        try:
            proc = await asyncio.create_subprocess_exec(
                *cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,
                env=dict(target.env) if target.env is not None else None,
                cwd=target.cwd,
            )
        except OSError as exc:
            raise RunError(f"cannot start {cmd[0]}: {exc.strerror or exc}") from exc
        assert proc.stderr is not None
        stderr_task = asyncio.create_task(proc.stderr.read())
        exited = asyncio.create_task(proc.wait())
        conn: _Connection | None = None
        prog_names = (cmd[0], *target.prog_names)
        recorder.emit(_scenario_record(scenario))
        start_ok: dict[str, Any] = {"type": "start", "status": "ok"}
        # Whether start-up succeeded is only certain once the target answered
        # something (QEMU 7.2 greets and then may still fail machine init), so
        # step records are held back until then.
        held: list[dict[str, Any]] = []
        confirmed = False

        def on_step(rec: dict[str, Any]) -> None:
            nonlocal confirmed
            recorder.step(rec)
            if confirmed:
                recorder.emit(rec)
                return
            held.append(rec)
            if rec["responses"] or rec["events"]:
                confirmed = True
                recorder.emit(start_ok)
                for h in held:
                    recorder.emit(h)
                held.clear()

        try:
            conn = await _connect_to_process(exited, sock, target.start_timeout)
            greeting = None
            if conn is not None:
                greeting = await _read_greeting(conn, target.start_timeout)
                start_ok["greeting"] = greeting
                if greeting is not None:
                    recorder.greeting(greeting)
                    await _run_steps(conn, scenario, on_step)
            closed = conn is None or conn.closed
            exit_status: int | None = None
            if closed:
                with contextlib.suppress(TimeoutError):
                    exit_status = await asyncio.wait_for(asyncio.shield(exited), EXIT_TIMEOUT)
            failed = greeting is None or (
                closed and not confirmed and exit_status is not None and exit_status != 0
            )
            if failed:
                _kill_group(proc)
                if exit_status is None:
                    exit_status = await exited
        finally:
            try:
                if conn is not None:
                    await conn.close()
            finally:
                # Even when cancelled inside close() (a comparison stopped at
                # its first difference), nothing is left running.
                _kill_group(proc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(exited), EXIT_TIMEOUT)
            try:
                raw_err = await asyncio.wait_for(stderr_task, EXIT_TIMEOUT)
            except TimeoutError:
                raw_err = b""
        stderr = normalise_stderr(raw_err.decode("utf-8", errors="replace"), prog_names)
        if failed:
            recorder.emit(
                {"type": "start", "status": "failed", "exit_status": exit_status, "stderr": stderr}
            )
        else:
            if not confirmed:
                recorder.emit(start_ok)
                for h in held:
                    recorder.emit(h)
            if closed:
                recorder.emit({"type": "end", "exit_status": exit_status})
        return Transcript(recorder.records, stderr=stderr)


async def _run(scenario: Scenario, target: Target, recorder: _Recorder) -> Transcript:
    try:
        if isinstance(target, SocketTarget):
            return await _run_socket(scenario, target, recorder)
        return await _run_command(scenario, target, recorder)
    finally:
        recorder.done()


async def run_scenario(scenario: Scenario, target: Target) -> Transcript:
    """Replay ``scenario`` against ``target`` and return the normalised transcript.

    Raises :class:`RunError` only when the run could not happen at all (program
    missing, socket never appeared); behaviour, including start-up failure, is
    always recorded in the transcript.
    """
    return await _run(scenario, target, _Recorder())


def record(scenario: Scenario, target: Target) -> Transcript:
    """Synchronous :func:`run_scenario` for scripts."""
    return asyncio.run(run_scenario(scenario, target))


async def run_many(thunks: Iterable[Callable[[], Awaitable[T]]], limit: int = 4) -> list[T]:
    """Await every thunk with at most ``limit`` running at once; results in input order.

    Thunks (not coroutines) so that nothing starts before its turn.  Make them
    catch their own errors if one failure must not cancel the rest.
    """
    sem = asyncio.Semaphore(max(1, limit))

    async def one(thunk: Callable[[], Awaitable[T]]) -> T:
        async with sem:
            return await thunk()

    return list(await asyncio.gather(*(one(t) for t in thunks)))


# --------------------------------------------------------------------------- #
# Diffing
# --------------------------------------------------------------------------- #

_MAX_SHOWN: Final = 2000


def _show(value: JSON) -> str:
    text = canonical(value)
    return text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + "...(truncated)"


def _show_stderr(text: str) -> str:
    return json.dumps(text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + "...")


def _diff_list(what: str, expected: list[JSON], actual: list[JSON]) -> str | None:
    exp = [canonical(v) for v in expected]
    act = [canonical(v) for v in actual]
    if exp == act:
        return None
    for i, (e, a) in enumerate(zip(expected, actual, strict=False)):
        if canonical(e) != canonical(a):
            return f"{what}[{i}] differs\n  expected: {_show(e)}\n  actual:   {_show(a)}"
    if len(expected) > len(actual):
        missing = expected[len(actual)]
        return f"expected {len(expected)} {what}, got {len(actual)}\n  missing:  {_show(missing)}"
    extra = actual[len(expected)]
    return f"expected {len(expected)} {what}, got {len(actual)}\n  extra:    {_show(extra)}"


def _sent(rec: dict[str, Any]) -> str:
    if "raw" in rec:
        return "raw " + json.dumps(rec["raw"])
    return "send " + canonical(rec.get("send"))


def _renormalise(rec: dict[str, Any], key: str, step: Step | None) -> list[JSON]:
    # Idempotent, and makes transcripts recorded by hand or by older runners
    # comparable too.
    return [apply_step_options(normalise_message(m), step) for m in rec.get(key, [])]


def _describe_start(start: dict[str, Any] | None) -> str:
    if start is None:
        return "no start record"
    if start.get("status") == "ok":
        return "started"
    return (
        f"start-up failed (exit status {start.get('exit_status')}, "
        f"stderr {_show_stderr(str(start.get('stderr', '')))})"
    )


def _diff_start(
    es: dict[str, Any] | None, as_: dict[str, Any] | None, compare_exit: bool
) -> str | None:
    e_ok = es is not None and es.get("status") == "ok"
    a_ok = as_ is not None and as_.get("status") == "ok"
    if e_ok != a_ok or es is None or as_ is None:
        return (
            f"start-up differs\n  expected: {_describe_start(es)}\n"
            f"  actual:   {_describe_start(as_)}"
        )
    if not e_ok:
        if compare_exit and es.get("exit_status") != as_.get("exit_status"):
            return (
                f"start-up failure exit status: expected {es.get('exit_status')}, "
                f"actual {as_.get('exit_status')}"
            )
        e_err = normalise_stderr(str(es.get("stderr", "")))
        a_err = normalise_stderr(str(as_.get("stderr", "")))
        if e_err != a_err:
            return (
                "start-up failure stderr differs\n"
                f"  expected: {_show_stderr(e_err)}\n  actual:   {_show_stderr(a_err)}"
            )
        return None
    e_greet = normalise_message(es.get("greeting"))
    a_greet = normalise_message(as_.get("greeting"))
    if canonical(e_greet) != canonical(a_greet):
        return f"greeting differs\n  expected: {_show(e_greet)}\n  actual:   {_show(a_greet)}"
    return None


def _diff_step(
    i: int, e: dict[str, Any], a: dict[str, Any], scenario: Scenario | None
) -> str | None:
    step = scenario.steps[i] if scenario is not None and i < len(scenario.steps) else None
    where = f"steps[{i}] ({_sent(e)})"
    if _sent(e) != _sent(a):
        return (
            f"steps[{i}]: the transcripts sent different things "
            f"(was the scenario edited after recording?)\n"
            f"  expected: {_sent(e)}\n  actual:   {_sent(a)}"
        )
    for key in ("responses", "events"):
        d = _diff_list(key, _renormalise(e, key, step), _renormalise(a, key, step))
        if d is not None:
            return f"{where}: {d}"
    if bool(e.get("closed")) != bool(a.get("closed")):
        want = "closed" if e.get("closed") else "open"
        got = "closed" if a.get("closed") else "still open"
        return f"{where}: connection expected {want}, actually {got}"
    return None


def diff_transcripts(
    expected: Transcript,
    actual: Transcript,
    *,
    scenario: Scenario | None = None,
    compare_exit: bool | None = None,
) -> str | None:
    """The first difference between two transcripts, or None when they agree.

    Checked in order: start (status, then greeting or exit status and stderr),
    each step (what was sent, responses, events, closed), then the end record.
    ``compare_exit`` defaults to comparing exit statuses only when both sides
    were processes we started.  With ``scenario`` its step options are
    re-applied, so stored transcripts are compared under the current options.
    """
    if compare_exit is None:
        compare_exit = expected.has_process and actual.has_process
    d = _diff_start(expected.start, actual.start, compare_exit)
    if d is not None or not expected.started:
        return d
    e_steps, a_steps = expected.steps, actual.steps
    if len(e_steps) != len(a_steps):
        return f"expected {len(e_steps)} step records, got {len(a_steps)}"
    for i, (e, a) in enumerate(zip(e_steps, a_steps, strict=True)):
        d = _diff_step(i, e, a, scenario)
        if d is not None:
            return d
    e_end, a_end = expected.end, actual.end
    if (e_end is None) != (a_end is None):
        return (
            f"end: expected the connection to {'close' if e_end else 'stay open'}, "
            f"but it {'closed' if a_end else 'stayed open'}"
        )
    if (
        compare_exit
        and e_end is not None
        and a_end is not None
        and e_end.get("exit_status") != a_end.get("exit_status")
    ):
        return (
            f"end: exit status expected {e_end.get('exit_status')}, "
            f"actual {a_end.get('exit_status')}"
        )
    if scenario is not None and scenario.stderr:
        e_err, a_err = _run_stderr(expected.stderr), _run_stderr(actual.stderr)
        if e_err != a_err:
            return (
                "stderr of the run differs\n"
                f"  expected: {_show_stderr(e_err)}\n  actual:   {_show_stderr(a_err)}"
            )
    return None


def _run_stderr(text: str) -> str:
    """A started run's stderr without how it was stopped (QEMU names the
    sender of the signal that stopped it)."""
    lines = normalise_stderr(text).splitlines()
    return "\n".join(line for line in lines if not line.startswith("terminating on signal"))


# --------------------------------------------------------------------------- #
# Comparing
# --------------------------------------------------------------------------- #


@records.record
class Comparison:
    """The outcome of comparing one scenario: ``ok`` or a ``message`` saying why not."""

    scenario_label: str
    expected: Transcript | None = field(default=None, repr=False)
    actual: Transcript | None = field(default=None, repr=False)
    difference: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.difference is None and self.error is None

    @property
    def message(self) -> str:
        if self.error is not None:
            return f"error: {self.error}"
        return self.difference or ""


async def compare_recorded(
    scenario: Scenario, expected: Transcript, candidate: Target
) -> Comparison:
    """Run ``candidate`` and diff it against a stored transcript."""
    result = Comparison(scenario.label, expected=expected)
    try:
        result.actual = await run_scenario(scenario, candidate)
    except RunError as exc:
        result.error = str(exc)
        return result
    result.difference = diff_transcripts(expected, result.actual, scenario=scenario)
    return result


async def _first_live_difference(
    queue: asyncio.Queue[tuple[int, str, Any]], scenario: Scenario, compare_exit: bool
) -> str | None:
    """Watch two runs (side 0 = expected) and return their first difference, if any.

    Only differences the complete diff would also report first are returned:
    start records once both are final, and a step once both sides have
    recorded it with the connection still open, equal greetings and equal
    earlier steps (an open connection cannot later become "start-up failed",
    short of a target that greets, stays silent and then exits non-zero).
    Returns None when both runs are done without such a difference; the
    caller then diffs the complete transcripts.
    """
    greeting: list[Any] = [_MISSING, _MISSING]
    start: list[dict[str, Any] | None] = [None, None]
    steps: list[list[dict[str, Any]]] = [[], []]
    done = [False, False]
    checked = 0
    steps_comparable = True
    while not all(done):
        side, kind, value = await queue.get()
        if kind == "done":
            done[side] = True
        elif kind == "greeting":
            greeting[side] = value
        elif kind == "start":
            start[side] = value
        elif kind == "step":
            steps[side].append(value)
        es, as_ = start
        if es is not None and as_ is not None:
            d = _diff_start(es, as_, compare_exit)
            if d is not None or es.get("status") != "ok":
                return d
        if _MISSING in greeting or canonical(greeting[0]) != canonical(greeting[1]):
            continue
        while steps_comparable and checked < min(len(steps[0]), len(steps[1])):
            e, a = steps[0][checked], steps[1][checked]
            if e.get("closed") or a.get("closed"):
                steps_comparable = False
                break
            d = _diff_step(checked, e, a, scenario)
            if d is not None:
                return d
            checked += 1
    return None


async def compare_live(
    scenario: Scenario,
    reference: Target,
    candidate: Target,
    *,
    stop_at_first_difference: bool = True,
) -> Comparison:
    """Run both targets concurrently and diff them (``reference`` plays "expected").

    With ``stop_at_first_difference`` both runs are diffed while they go and
    are stopped (their processes killed) at the first difference, so a
    broken or hung candidate costs one step's timeout rather than the whole
    scenario's.  The reported difference is the one a complete diff reports
    first (see :func:`_first_live_difference` for the one corner where it may
    not be); ``expected`` and ``actual`` then hold the records made so far.
    """
    result = Comparison(scenario.label)
    compare_exit = isinstance(reference, CommandTarget) and isinstance(candidate, CommandTarget)
    queue: asyncio.Queue[tuple[int, str, Any]] | None = (
        asyncio.Queue() if stop_at_first_difference else None
    )
    recorders = [_Recorder(queue, side) for side in (0, 1)]
    tasks = [
        asyncio.create_task(_run(scenario, target, rec))
        for target, rec in zip((reference, candidate), recorders, strict=True)
    ]
    if queue is not None:
        try:
            early = await _first_live_difference(queue, scenario, compare_exit)
        except BaseException:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        if early is not None:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            result.expected = Transcript(recorders[0].partial(), has_process=compare_exit)
            result.actual = Transcript(recorders[1].partial(), has_process=compare_exit)
            result.difference = early
            return result
    got = await asyncio.gather(*tasks, return_exceptions=True)
    errors = []
    for side, value in zip(("reference", "candidate"), got, strict=True):
        if isinstance(value, RunError):
            errors.append(f"{side}: {value}")
        elif isinstance(value, BaseException):
            raise value
    if errors:
        result.error = "; ".join(errors)
        return result
    expected, actual = got
    assert isinstance(expected, Transcript) and isinstance(actual, Transcript)
    result.expected, result.actual = expected, actual
    result.difference = diff_transcripts(expected, actual, scenario=scenario)
    return result
