"""Live: ``-compat`` (QMP's policy on deprecated and unstable interfaces) on
real QEMU and memdevd.

The option as QEMU parses it (keyval or JSON visited as ``CompatPolicy``,
its errors), then what a client sees under each policy: commands, arguments
and enum values refused (or the process aborted), reply members hidden,
query-qmp-schema without its deprecated parts.  Each release is asked the
same questions; the replies must be the same.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from live_qemu import (
    QEMU_VERSIONS,
    ask_both,
    compare_startup,
    connect_monitor,
    memdevd_command,
    qemu_command,
    runnable,
)

pytestmark = pytest.mark.live_qemu

COMMON = ["-S", "-nodefaults", "-display", "none", "-accel", "tcg", "-machine", "q35"]

#: (id, -compat argument): start-up outcomes
STARTUPS: list[tuple[str, str]] = [
    ("bad-value", "deprecated-input=foo"),
    ("bad-output-value", "deprecated-output=reject"),
    ("unknown-key", "foo=1"),
    ("json-type", '{"deprecated-input":1}'),
    ("json-syntax", "{"),
    ("help", "help"),
    ("empty", ""),
    (
        "all",
        "deprecated-input=reject,deprecated-output=hide,unstable-input=crash,unstable-output=hide",
    ),
    ("json", '{"unstable-input":"reject"}'),
]


def _normalise(text: str) -> str:
    return re.sub(r"^memdevd:", "qemu-system-x86_64:", text, flags=re.M)


@pytest.mark.parametrize("version", QEMU_VERSIONS)
@pytest.mark.parametrize("case", [c for c, _ in STARTUPS])
def test_compat_option_like_qemu(case: str, version: str) -> None:
    if not runnable(version):
        pytest.skip(f"QEMU {version} is not installed")
    argv = [*COMMON, "-compat", dict(STARTUPS)[case]]
    qemu, ours = compare_startup(version, argv, _normalise)
    assert ours == qemu


def _chardev(**extra: object) -> dict[str, object]:
    data = {"addr": {"type": "unix", "data": {"path": "/nonexistent/c.sock"}}, **extra}
    return {
        "execute": "chardev-add",
        "arguments": {"id": "c", "backend": {"type": "socket", "data": data}},
    }


#: commands memdevd does not have, deprecated in every release: asked only
#: where the policy refuses them before QEMU would run them
MISSING_DEPRECATED: list[dict[str, object]] = [
    {"execute": "nbd-server-add", "arguments": {"device": "x"}},
]

#: an argument memdevd does not take, unstable in 10.0 and 11.1 (7.2 lacks it)
MISSING_UNSTABLE: list[dict[str, object]] = [
    {"execute": "query-machines", "arguments": {"compat-props": True}},
]

QUESTIONS: list[dict[str, object]] = [
    # commands: unstable (x-), deprecated in 11.1
    {"execute": "x-blockdev-set-iothread", "arguments": {"node-name": "nosuch", "iothread": "x"}},
    {"execute": "query-kvm"},
    # arguments: deprecated reconnect (10.0)
    _chardev(reconnect=1),
    # enum values: x-colo is unstable, zero-blocks deprecated in 10.0
    {
        "execute": "migrate-set-capabilities",
        "arguments": {"capabilities": [{"capability": "x-colo", "state": False}]},
    },
    {
        "execute": "migrate-set-capabilities",
        "arguments": {"capabilities": [{"capability": "zero-blocks", "state": False}]},
    },
    # what has no feature still works
    {"execute": "query-status"},
    {"execute": "query-migrate-capabilities"},
]

#: (id, -compat argument, questions)
QMP_CASES: list[tuple[str, str, list[dict[str, object]]]] = [
    (
        "reject-all",
        "deprecated-input=reject,unstable-input=reject",
        [*MISSING_DEPRECATED, *MISSING_UNSTABLE, *QUESTIONS],
    ),
    ("reject-deprecated", "deprecated-input=reject", [*MISSING_DEPRECATED, *QUESTIONS]),
    ("reject-unstable", '{"unstable-input":"reject"}', [*MISSING_UNSTABLE, *QUESTIONS]),
    ("last-one-wins", "unstable-input=reject -compat deprecated-input=reject", QUESTIONS[1:]),
    ("accept", "deprecated-input=accept", QUESTIONS[1:2]),
    (
        "hide",
        "deprecated-output=hide,unstable-output=hide",
        [{"execute": "query-migrate-capabilities"}, {"execute": "query-kvm"}],
    ),
]


@pytest.mark.parametrize("version", QEMU_VERSIONS)
@pytest.mark.parametrize("case", [c for c, _, _ in QMP_CASES])
def test_compat_policy_like_qemu(case: str, version: str) -> None:
    if not runnable(version):
        pytest.skip(f"QEMU {version} is not installed")
    _, policy, questions = next(c for c in QMP_CASES if c[0] == case)
    argv = [*COMMON]
    for one in policy.split(" -compat "):
        argv += ["-compat", one]
    qemu, ours = ask_both(version, argv, questions)
    for question, theirs, mine in zip(questions, qemu, ours, strict=True):
        assert json.loads(mine) == json.loads(theirs), question


def _crash(cmd: list[str], sock: str) -> tuple[str, int]:
    """query-status's reply, then the exit status after x-query-numa."""
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        connected = connect_monitor(sock, proc, time.monotonic() + 30)
        assert connected is not None, f"{cmd[0]} did not start"
        with connected as s:
            stream = s.makefile("rwb")
            stream.readline()
            for q in ({"execute": "qmp_capabilities"}, {"execute": "query-status"}):
                stream.write(json.dumps(q).encode() + b"\n")
                stream.flush()
                reply = stream.readline().decode()
            stream.write(b'{"execute": "x-query-numa"}\n')
            stream.flush()
            return reply, proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("version", QEMU_VERSIONS)
def test_crash_policy_aborts_like_qemu(version: str, tmp_path: Path) -> None:
    """``crash``: the process aborts (SIGABRT) on the command; what comes
    before is answered."""
    if not runnable(version):
        pytest.skip(f"QEMU {version} is not installed")
    argv = [*COMMON, "-compat", "unstable-input=crash", "-qmp"]
    theirs = _crash(
        qemu_command(version, [*argv, f"unix:{tmp_path}/q,server=on,wait=off"]), f"{tmp_path}/q"
    )
    mine = _crash(
        memdevd_command(version, [*argv, f"unix:{tmp_path}/m,server=on,wait=off"]), f"{tmp_path}/m"
    )
    assert theirs[1] == -signal.SIGABRT
    assert (json.loads(mine[0]), mine[1]) == (json.loads(theirs[0]), theirs[1])


@pytest.mark.parametrize("version", QEMU_VERSIONS)
@pytest.mark.parametrize("policy", ["deprecated-output=hide", "unstable-output=hide"])
def test_schema_under_hide_like_qemu(policy: str, version: str) -> None:
    """query-qmp-schema: deprecated entities and members left out with
    deprecated-output=hide (zap_deprecated), and SchemaInfoEnum's deprecated
    ``values`` hidden by the output visitor.  memdevd's schema lists only
    the commands it has: the entries both list must be the same."""
    if not runnable(version):
        pytest.skip(f"QEMU {version} is not installed")
    argv = [*COMMON, "-compat", policy]
    qemu, ours = ask_both(version, argv, [{"execute": "query-qmp-schema"}])
    theirs = {e["name"]: e for e in json.loads(qemu[0])["return"]}
    mine = {e["name"]: e for e in json.loads(ours[0])["return"]}
    common = sorted(set(theirs) & set(mine))
    assert len(common) > 500
    assert [n for n in common if theirs[n] != mine[n]] == []
    if policy.startswith("deprecated"):
        featured = [
            part
            for entry in mine.values()
            for part in (entry, *(entry["members"] if entry["meta-type"] == "object" else ()))
            if isinstance(part, dict) and "deprecated" in part.get("features", ())
        ]
        assert featured == []
