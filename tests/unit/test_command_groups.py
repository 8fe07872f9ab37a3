"""The command table loads a module when one of its commands is first used.

``memdevd.commands.COMMAND_GROUPS`` names every module's commands so that
the table knows them all without importing the handlers: these tests check
that list against what the modules register, for every QEMU version, and
that a lazily loaded table answers and lists exactly as the eager one.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from memdevd import cli
from memdevd.commands import COMMAND_GROUPS, declare_all, register_all, register_group
from memdevd.qmp.registry import Registry
from memdevd.runtime import Runtime

VERSIONS = ("7.2", "8.2", "10.0")


def runtime(version: str, board: str = "q35") -> Runtime:
    parsed = cli.parse(
        ["-memdevd", f"version={version}", "-machine", board, "-m", "1G,slots=4,maxmem=8G"],
        "memdevd",
    )
    daemon, _ = cli.build_daemon(parsed, "memdevd")
    return daemon.runtime


def test_groups_name_exactly_what_the_modules_register() -> None:
    seen: dict[str, set[str]] = {group: set() for group in COMMAND_GROUPS}
    for version in VERSIONS:
        for board in ("pc", "q35"):
            rt = runtime(version, board)
            for group, names in COMMAND_GROUPS.items():
                reg = Registry()
                register_group(group, rt, reg)
                registered = [c.name for c in reg]
                # In the declared order, a version possibly lacking some.
                assert registered == [n for n in names if n in registered]
                seen[group] |= set(registered)
    assert seen == {group: set(names) for group, names in COMMAND_GROUPS.items()}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("first", [None, "qom-get", "x-memdevd-reset", "query-cpus-fast"])
def test_lazy_table_answers_and_lists_as_the_eager_one(version: str, first: str | None) -> None:
    eager, lazy = Registry(), Registry()
    register_all(eager, runtime(version))
    declare_all(lazy, runtime(version))
    if first is not None:
        # Whichever module loads first, the listing's order is the same.
        assert lazy.get(first) is not None
    assert [c.name for c in lazy] == [c.name for c in eager]
    for cmd in eager:
        got = lazy.get(cmd.name)
        assert got is not None
        assert (got.allow_oob, got.allow_preconfig, got.extra) == (
            cmd.allow_oob,
            cmd.allow_preconfig,
            cmd.extra,
        )
    assert lazy.get("no-such-command") is None
    assert "no-such-command" not in lazy


def test_a_version_without_a_declared_command_does_not_have_it() -> None:
    lazy = Registry()
    declare_all(lazy, runtime("7.2"))
    assert "query-hv-balloon-status-report" not in lazy  # 8.2 on
    assert lazy.get("query-memory-devices") is not None


def test_a_daemon_loads_only_the_modules_its_commands_need() -> None:
    # A fresh interpreter: other tests have imported every module already.
    code = textwrap.dedent(
        """
        import sys
        from memdevd import cli
        from memdevd.qmp.session import Session
        parsed = cli.parse(["-machine", "pc", "-m", "1G,slots=4,maxmem=8G"], "memdevd")
        daemon, _ = cli.build_daemon(parsed, "memdevd")
        session = Session(daemon.server)
        for line in (b'{"execute": "qmp_capabilities"}', b'{"execute": "query-version"}'):
            for item in session.streamer.feed(line + b"\\n"):
                assert "return" in session.dispatch(item)
        before = "memdevd.commands.hmp" in sys.modules
        for item in session.streamer.feed(
            b'{"execute": "human-monitor-command", "arguments": {"command-line": "info status"}}\\n'
        ):
            assert "return" in session.dispatch(item)
        print(before, "memdevd.commands.hmp" in sys.modules)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == ["False", "True"]
