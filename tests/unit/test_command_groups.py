"""The command table loads a module when one of its commands is first used.

``memdevd.commands.index.COMMANDS``, generated from the ``@command``
declarations, names every module's commands so that the table knows them
all without importing the handlers: these tests check that the committed
index is what the declarations generate, that it names what the modules
register for every QEMU version, and that a lazily loaded table answers and
lists exactly as the eager one.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from types import MethodType

import pytest

from memdevd.app import cli
from memdevd.commands import declare, declare_all, register_all, register_group
from memdevd.commands.declare import declarations
from memdevd.commands.index import COMMANDS
from memdevd.commands.runtime import Runtime
from memdevd.devtools import command_index
from memdevd.qmp.registry import Registry
from memdevd.releases.table import RELEASES

ROOT = Path(__file__).resolve().parents[2]
VERSIONS = ("7.2", "8.2", "10.0")
#: (target, machine) pairs whose runtimes register every declared command
#: between them (query-gic-capabilities is arm's before 11.1).
BOARDS = (("x86_64", "pc"), ("x86_64", "q35"), ("aarch64", "virt"))


def runtime(version: str, board: str = "q35", target: str = "x86_64") -> Runtime:
    parsed = cli.parse(
        [
            "-memdevd",
            f"version={version},target={target}",
            "-machine",
            board,
            "-m",
            "1G,slots=4,maxmem=8G",
        ],
        "memdevd",
    )
    daemon, _ = cli.build_daemon(parsed, "memdevd")
    return daemon.runtime


def test_committed_index_is_current() -> None:
    committed = (ROOT / command_index.INDEX_PATH).read_text()
    assert committed == command_index.generated_index(), (
        f"stale: {command_index.INDEX_PATH}; run python tools/gen_schemas.py"
    )


def test_the_index_follows_the_declarations() -> None:
    for group, names in COMMANDS.items():
        declared = declarations(f"memdevd.commands.{group}")
        assert names == tuple(d.name for d in declared)


def test_a_new_declaration_makes_the_index_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    committed = (ROOT / command_index.INDEX_PATH).read_text()
    hmp = declarations("memdevd.commands.hmp")
    added = declare.Declaration("x-memdevd-new", hmp[0].handler, False, False, False, None, {})
    monkeypatch.setitem(declare._DECLARED, "memdevd.commands.hmp", [*hmp, added])
    generated = command_index.generated_index()
    assert generated != committed
    assert (
        '"hmp": (\n        "human-monitor-command",\n        "x-memdevd-new",\n    ),' in generated
    )


def test_the_generator_knows_every_command_module(monkeypatch: pytest.MonkeyPatch) -> None:
    order = command_index.MODULE_ORDER
    monkeypatch.setattr(command_index, "MODULE_ORDER", tuple(m for m in order if m != "hmp"))
    with pytest.raises(ValueError, match=r"missing from MODULE_ORDER: \['hmp'\]"):
        command_index.declared_commands()
    monkeypatch.setattr(command_index, "MODULE_ORDER", (*order, "base"))
    with pytest.raises(ValueError, match=r"declare no command: \['base'\]"):
        command_index.declared_commands()


def test_groups_name_exactly_what_the_modules_register() -> None:
    seen: dict[str, set[str]] = {group: set() for group in COMMANDS}
    for version in VERSIONS:
        for target, board in BOARDS:
            rt = runtime(version, board, target)
            for group, names in COMMANDS.items():
                reg = Registry()
                register_group(group, rt, reg)
                registered = [c.name for c in reg]
                # In the declared order, a version possibly lacking some.
                assert registered == [n for n in names if n in registered]
                seen[group] |= set(registered)
    assert seen == {group: set(names) for group, names in COMMANDS.items()}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("target", "board"), [BOARDS[1], BOARDS[2]])
def test_a_release_offers_a_command_exactly_when_its_declaration_says(
    version: str, target: str, board: str
) -> None:
    """The release field the declaration names, and the target's binary
    having the command (its recording lists it; memdevd's own everywhere)."""
    rt = runtime(version, board, target)
    reg = Registry()
    register_all(reg, rt)
    listed = rt.machine.recording.command_order
    for group in COMMANDS:
        for decl in declarations(f"memdevd.commands.{group}"):
            offered = decl.only_if is None or getattr(RELEASES[version], decl.only_if)
            offered = offered and (decl.name.startswith("x-memdevd-") or decl.name in listed)
            assert (decl.name in reg) == offered, decl.name
    assert ("query-gic-capabilities" in reg) == (target == "aarch64")
    if target == "aarch64":
        return
    assert ("query-hv-balloon-status-report" in reg) == RELEASES[version].has_hv_balloon


@pytest.mark.parametrize("field", ["version", "major", "no_such_field"])
def test_a_release_condition_is_a_bool_field_of_the_release(field: str) -> None:
    # Never a version comparison: only a Release field that says yes or no.
    with pytest.raises(TypeError, match="not a bool field of Release"):
        declare.command("x-memdevd-conditional", only_if=field)


def test_handlers_are_bound_to_their_runtime() -> None:
    rt = runtime("10.0")
    reg = Registry()
    register_all(reg, rt)
    for cmd in reg:
        # A bound method (no closure per runtime): the declared function, rt first.
        assert isinstance(cmd.handler, MethodType), cmd.name
        assert cmd.handler.__self__ is rt
    assert rt.registry is reg


def one_per_group_reversed() -> list[str]:
    return [names[0] for names in reversed(COMMANDS.values())]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    "first",
    [[], ["qom-get"], ["x-memdevd-reset"], ["query-cpus-fast"], one_per_group_reversed()],
)
def test_lazy_table_answers_and_lists_as_the_eager_one(version: str, first: list[str]) -> None:
    eager, lazy = Registry(), Registry()
    register_all(eager, runtime(version))
    declare_all(lazy, runtime(version))
    for name in first:
        # Whichever modules load first (all of them, one by one, included),
        # the listing's order is the same.
        assert lazy.get(name) is not None
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
        from memdevd.app import cli
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


@pytest.mark.parametrize("version", VERSIONS)
def test_hot_plug_and_queries_without_arguments_do_not_load_pydantic(version: str) -> None:
    # The QAPI models (pydantic, ~8 MiB) load with the first command whose
    # arguments need them, and then answer as before.
    code = textwrap.dedent(
        f"""
        import sys
        from memdevd.app import cli
        from memdevd.qmp.session import Session
        parsed = cli.parse(
            ["-memdevd", "version={version}", "-machine", "pc", "-m", "1G,slots=4,maxmem=8G"],
            "memdevd",
        )
        daemon, _ = cli.build_daemon(parsed, "memdevd")
        daemon._warm_up()
        session = Session(daemon.server)
        def ask(line):
            (item,) = session.streamer.feed(line.encode() + b"\\n")
            return session.dispatch(item)
        for line in (
            '{{"execute": "qmp_capabilities"}}',
            '{{"execute": "query-version"}}',
            '{{"execute": "object-add", "arguments":'
            ' {{"qom-type": "memory-backend-ram", "id": "m0", "size": 1073741824}}}}',
            '{{"execute": "device_add", "arguments":'
            ' {{"driver": "pc-dimm", "id": "d0", "memdev": "m0"}}}}',
            '{{"execute": "query-memory-devices"}}',
            '{{"execute": "query-memory-size-summary"}}',
            '{{"execute": "query-status"}}',
        ):
            assert "return" in ask(line), line
        print("pydantic" in sys.modules)
        print(ask('{{"execute": "query-status", "arguments": {{"x": 1}}}}')["error"]["desc"])
        print(ask('{{"execute": "device_del", "arguments": {{"id": 1}}}}')["error"]["desc"])
        print("pydantic" in sys.modules)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.splitlines() == [
        "False",
        "Parameter 'x' is unexpected",
        "Invalid parameter type for 'id', expected: string",
        "True",
    ]


@pytest.mark.parametrize("version", VERSIONS)
def test_query_qmp_schema_does_not_depend_on_which_command_came_first(version: str) -> None:
    def schema(first: list[str]) -> object:
        reg = Registry()
        declare_all(reg, runtime(version))
        for name in first:
            assert reg.get(name) is not None
        cmd = reg.get("query-qmp-schema")
        assert cmd is not None
        return cmd.handler(None, {})  # type: ignore[arg-type]

    assert schema(one_per_group_reversed()) == schema([])


def test_a_failing_group_stays_declared() -> None:
    calls: list[int] = []

    def loader(reg: Registry) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("first load fails")
        reg.register("late", lambda session, args: None)

    reg = Registry()
    reg.declare(["late"], loader)
    with pytest.raises(RuntimeError):
        reg.get("late")
    assert reg.get("late") is not None
    assert calls == [1, 1]
