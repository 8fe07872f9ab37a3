"""-compat: QMP's policy on deprecated and unstable interfaces (qapi/compat.py).

The checker over a small introspection schema (QEMU's visit order and
texts), then a daemon started with -compat as a client sees it.  The same
against real QEMU: tests/conformance/test_compat_live.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from memdevd.app import cli
from memdevd.qapi.compat import CompatPolicy, PolicyChecker, PolicyRejected, zap_deprecated
from memdevd.testing import MemdevdError, MemdevdProcess

SCHEMA: list[dict[str, Any]] = [
    {
        "name": "old",
        "meta-type": "command",
        "arg-type": "0",
        "ret-type": "0",
        "features": ["deprecated"],
    },
    {
        "name": "x-new",
        "meta-type": "command",
        "arg-type": "0",
        "ret-type": "0",
        "features": ["unstable"],
    },
    {"name": "cmd", "meta-type": "command", "arg-type": "1", "ret-type": "3"},
    {"name": "EV", "meta-type": "event", "arg-type": "3", "features": ["deprecated"]},
    {"name": "EV2", "meta-type": "event", "arg-type": "3"},
    {"name": "0", "meta-type": "object", "members": []},
    {
        "name": "1",
        "meta-type": "object",
        "members": [
            {"name": "a", "type": "int"},
            {"name": "legacy", "type": "int", "default": None, "features": ["deprecated"]},
            {"name": "mode", "type": "2", "default": None},
            {"name": "list", "type": "[1]", "default": None},
        ],
    },
    {
        "name": "2",
        "meta-type": "enum",
        "values": ["good", "bad"],
        "members": [{"name": "good"}, {"name": "bad", "features": ["unstable"]}],
    },
    {"name": "[1]", "meta-type": "array", "element-type": "1"},
    {
        "name": "3",
        "meta-type": "object",
        "members": [
            {"name": "kept", "type": "int"},
            {"name": "x-gone", "type": "int", "default": None, "features": ["unstable"]},
            {"name": "old", "type": "int", "default": None, "features": ["deprecated"]},
        ],
    },
    {"name": "int", "meta-type": "builtin", "json-type": "int"},
]

REJECT = CompatPolicy(deprecated_input="reject", unstable_input="reject")


def rejected(checker: PolicyChecker, command: str, args: dict[str, Any]) -> str:
    with pytest.raises(PolicyRejected) as exc:
        checker.check_command(command)
        checker.check_arguments(command, args)
    return exc.value.desc


def test_input_rejected_in_visit_order() -> None:
    checker = PolicyChecker(SCHEMA, REJECT)
    assert rejected(checker, "old", {}) == "Deprecated command old disabled by policy"
    assert rejected(checker, "x-new", {}) == "Unstable command x-new disabled by policy"
    assert rejected(checker, "cmd", {"a": 1, "legacy": 2}) == (
        "Deprecated parameter legacy disabled by policy"
    )
    assert rejected(checker, "cmd", {"a": 1, "mode": "bad"}) == (
        "Unstable value bad disabled by policy"
    )
    # inside a list, after the members before it
    assert rejected(checker, "cmd", {"a": 1, "list": [{"a": 2}, {"a": 3, "legacy": 1}]}) == (
        "Deprecated parameter legacy disabled by policy"
    )
    checker.check_arguments("cmd", {"a": 1, "mode": "good", "list": [{"a": 2}]})
    # only what the policy names
    only = PolicyChecker(SCHEMA, CompatPolicy(unstable_input="reject"))
    only.check_command("old")
    only.check_arguments("cmd", {"a": 1, "legacy": 2})
    assert rejected(only, "cmd", {"a": 1, "mode": "bad"}).startswith("Unstable value")


def test_output_hidden() -> None:
    checker = PolicyChecker(SCHEMA, CompatPolicy(unstable_output="hide"))
    reply = {"kept": 1, "x-gone": 2, "old": 3}
    assert checker.hide_reply("cmd", reply) == {"kept": 1, "old": 3}
    both = PolicyChecker(SCHEMA, CompatPolicy(deprecated_output="hide", unstable_output="hide"))
    assert both.hide_reply("cmd", reply) == {"kept": 1}
    assert both.event("EV", {"kept": 1}) == (False, {"kept": 1})
    assert both.event("EV2", reply) == (True, {"kept": 1})
    assert reply == {"kept": 1, "x-gone": 2, "old": 3}  # not changed in place
    zapped = zap_deprecated([dict(e) for e in SCHEMA])
    assert "old" not in [e["name"] for e in zapped] and "EV" not in [e["name"] for e in zapped]
    obj = next(e for e in zapped if e["name"] == "1")
    assert [m["name"] for m in obj["members"]] == ["a", "mode", "list"]


def test_policy_from_the_option() -> None:
    policy = CompatPolicy.from_visited({"unstable-input": "crash"})
    assert policy == CompatPolicy(unstable_input="crash") and not policy.is_default
    assert CompatPolicy.from_visited({}).is_default


@pytest.mark.parametrize(
    ("arg", "error"),
    [
        ("deprecated-input=foo", "Parameter 'deprecated-input' does not accept value 'foo'"),
        ("foo=1", "Parameter 'foo' is unexpected"),
        (
            '{"deprecated-input":1}',
            "Invalid parameter type for 'deprecated-input', expected: string",
        ),
        ("help", "Help is not available for this option"),
    ],
)
def test_bad_compat_option(arg: str, error: str, capsys: pytest.CaptureFixture[str]) -> None:
    status = cli.main(["-machine", "q35", "-nodefaults", "-compat", arg], "qemu-system-x86_64")
    assert status == 1
    assert capsys.readouterr().err == f"qemu-system-x86_64: -compat {arg}: {error}\n"


def test_a_daemon_under_the_policy() -> None:
    argv = [
        "-machine",
        "q35",
        "-nodefaults",
        "-compat",
        "unstable-input=reject,deprecated-output=hide",
    ]
    with MemdevdProcess(*argv) as vm:
        with pytest.raises(MemdevdError) as exc:
            vm.cmd("x-blockdev-set-iothread", {"node-name": "n", "iothread": "i"})
        assert (exc.value.error_class, exc.value.desc) == (
            "CommandNotFound",
            "Unstable command x-blockdev-set-iothread disabled by policy",
        )
        caps = [{"capability": "x-colo", "state": False}]
        with pytest.raises(MemdevdError) as exc:
            vm.cmd("migrate-set-capabilities", {"capabilities": caps})
        assert (exc.value.error_class, exc.value.desc) == (
            "GenericError",
            "Unstable value x-colo disabled by policy",
        )
        assert vm.cmd("query-status")["status"] == "running"
        schema = vm.cmd("query-qmp-schema")
        assert not [e for e in schema if "deprecated" in e.get("features", ())]
        # memdevd's own test controls are not under the policy
        vm.cmd("x-memdevd-query-faults")
