"""Unit tests of memdevd.util.cmdline: argv split as QEMU's lookup_opt() does."""

from __future__ import annotations

import os
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memdevd.releases.table import get_release
from memdevd.targets import options_table as table
from memdevd.targets.x86_64.cmdline import syntax
from memdevd.util.cmdline import (
    MEMDEVD_OPTION,
    CliItem,
    option_table,
    qemu_has_option,
)
from memdevd.util.cmdline import (
    tokenize as _tokenize,
)
from memdevd.util.option_defs import OptionDef
from memdevd.util.qemu_opts import OptionError, format_error

PROG = "qemu-system-x86_64"
QEMU_7_2 = syntax(get_release("7.2"))
QEMU_10_0 = syntax(get_release("10.0"))
# qemu-system-x86_64 10.0's syntax unless a test names another.
tokenize = partial(_tokenize, syntax=QEMU_10_0)


def error_text(argv: list[str], **kwargs: object) -> str:
    with pytest.raises(OptionError) as exc:
        tokenize(argv, **kwargs)  # type: ignore[arg-type]
    assert exc.value.exit_status == 1
    return format_error(PROG, exc.value)


def test_items_in_order() -> None:
    parsed = tokenize(
        ["-machine", "pc", "--m", "1G,slots=2", "-S", "disk.img", "-memdevd", "version=7.2"]
    )
    assert parsed.pairs() == [
        ("machine", "pc"),
        ("m", "1G,slots=2"),
        ("S", None),
        ("hda", "disk.img"),
        (MEMDEVD_OPTION, "version=7.2"),
    ]
    m = parsed.items[1]
    assert (m.location, m.index, m.kind) == ("--m 1G,slots=2", 2, "option")
    image = parsed.items[3]
    assert (image.location, image.kind) == ("disk.img", "image")
    assert parsed.items[4].memdevd_only and not m.memdevd_only
    assert [i.arg for i in parsed.find("m")] == ["1G,slots=2"]


def test_argument_may_look_like_an_option() -> None:
    assert tokenize(["-name", "-foo", "-m", "-1"]).pairs() == [("name", "-foo"), ("m", "-1")]
    assert tokenize(["", "-S"]).pairs() == [("hda", ""), ("S", None)]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["-foo"], "-foo: invalid option"),
        (["--foo"], "--foo: invalid option"),
        (["-m=1G"], "-m=1G: invalid option"),
        (["-"], "-: invalid option"),
        (["--"], "--: invalid option"),
        (["---m", "1G"], "---m: invalid option"),
        (["-m"], "-m: requires an argument"),
        (["-S", "--m"], "--m: requires an argument"),
        # The first pass finds these wherever they are.
        (["-m", "1Q", "-foo"], "-foo: invalid option"),
        (["disk.img", "-nodefaults", "-bar", "-foo"], "-bar: invalid option"),
    ],
)
def test_first_pass_errors(argv: list[str], expected: str) -> None:
    assert error_text(argv) == f"{PROG}: {expected}\n"


def test_version_specific_options() -> None:
    assert tokenize(["-no-hpet"], syntax=QEMU_7_2).pairs() == [("no-hpet", None)]
    assert error_text(["-no-hpet"], syntax=QEMU_10_0) == f"{PROG}: -no-hpet: invalid option\n"
    assert tokenize(["-run-with", "user=x"], syntax=QEMU_10_0).pairs() == [("run-with", "user=x")]
    assert error_text(["-run-with", "x"], syntax=QEMU_7_2) == f"{PROG}: -run-with: invalid option\n"
    assert qemu_has_option("singlestep", QEMU_7_2) and not qemu_has_option("singlestep", QEMU_10_0)
    assert not qemu_has_option(MEMDEVD_OPTION, QEMU_10_0)
    assert MEMDEVD_OPTION in option_table(QEMU_10_0)
    assert MEMDEVD_OPTION not in option_table(QEMU_10_0, with_memdevd=False)


def test_options_of_other_targets() -> None:
    item = tokenize(["-prom-env", "x"]).items[0]
    assert item.spec is not None and not item.spec.for_target
    with pytest.raises(OptionError) as exc:
        item.check_target()
    assert format_error(PROG, exc.value) == (
        f"{PROG}: -prom-env x: Option not supported for this target\n"
    )
    tokenize(["-m", "1G"]).items[0].check_target()  # no error


def test_item_error_helper() -> None:
    item = tokenize(["-device", "pc-dimm,id=d0,memdev=m0"]).items[0]
    err = item.error("no slots where allocated for memory device", "a hint\n")
    assert format_error(PROG, err) == (
        f"{PROG}: -device pc-dimm,id=d0,memdev=m0: no slots where allocated for memory device\n"
        "a hint\n"
    )


def test_subcommand_hook() -> None:
    parsed = tokenize(["compare", "-m", "x"], subcommands={"compare", "map", "fleet"})
    assert (parsed.subcommand, parsed.subcommand_args, parsed.items) == (
        "compare",
        ["-m", "x"],
        [],
    )
    # a word that is not a subcommand stays a disk image, as in QEMU
    assert tokenize(["other.img"], subcommands={"compare"}).pairs() == [("hda", "other.img")]
    # only the first word counts
    assert tokenize(["-S", "map"], subcommands={"map"}).pairs() == [("S", None), ("hda", "map")]
    assert tokenize(["fleet"], subcommands=lambda w: w == "fleet").subcommand == "fleet"
    assert tokenize(["fleet"]).subcommand is None


def test_tables() -> None:
    assert len(option_table(QEMU_7_2, with_memdevd=False)) == len(table.OPTIONS_7_2)
    assert len(option_table(QEMU_10_0, with_memdevd=False)) == len(table.OPTIONS_10_0)
    names72 = {o.name for o in table.OPTIONS_7_2}
    names100 = {o.name for o in table.OPTIONS_10_0}
    assert names72 - names100 == table.ONLY_IN_7_2
    assert names100 - names72 == table.ONLY_IN_10_0
    for names in (names72, names100):
        assert {"m", "machine", "M", "object", "device", "numa", "qmp", "S", "h"} <= names
    spec = option_table(QEMU_10_0).get("qmp")
    assert spec is not None and spec.has_arg and spec.for_target
    nodefaults = option_table(QEMU_10_0).get("nodefaults")
    assert nodefaults is not None and not nodefaults.has_arg


OPTIONS_10_0 = [o for o in table.OPTIONS_10_0]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(OPTIONS_10_0), st.text(max_size=10), st.booleans()), max_size=8
    )
)
def test_tokenize_round_trip(items: list[tuple[OptionDef, str, bool]]) -> None:
    """Options written out with their arguments come back as written."""
    argv: list[str] = []
    expected: list[tuple[str, str | None]] = []
    for opt, arg, double_dash in items:
        argv.append(("--" if double_dash else "-") + opt.name)
        if opt.has_arg:
            argv.append(arg)
        expected.append((opt.name, arg if opt.has_arg else None))
    parsed = tokenize(argv, syntax=QEMU_10_0)
    assert parsed.pairs() == expected
    assert all(isinstance(i, CliItem) for i in parsed.items)


# --- the documentation follows the code -----------------------------------------------


def test_readme_lists_every_memdevd_setting() -> None:
    from pathlib import Path

    from memdevd.app.settings import SETTINGS

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("### memdevd's own settings", 1)[1].split("\n## ", 1)[0]
    for key in SETTINGS:
        assert f"`{key}`" in section, key


def test_every_control_command_is_documented() -> None:
    from pathlib import Path

    from memdevd.app import cli

    daemon, _ = cli.build_daemon(cli.parse([], "memdevd"), "memdevd")
    reg = daemon.registry
    root = Path(__file__).resolve().parents[2]
    docs = (root / "docs" / "test-controls.md").read_text() + (root / "README.md").read_text()
    controls = [c.name for c in reg if c.name.startswith("x-memdevd-")]
    assert len(controls) >= 10
    for name in controls:
        assert f"`{name}`" in docs, name


# The QEMU source trees the table was generated from (tools/gen_qemu_option_table.py).
TABLE_SOURCES = {
    "7.2": Path(os.environ.get("MEMDEVD_QEMU_SRC_7_2", "/work/src/q72p")),
    "10.0": Path(os.environ.get("MEMDEVD_QEMU_SRC_10_0", "/work/src/q10")),
}


def test_the_generated_table_is_current() -> None:
    """memdevd/targets/options_table.py is what its generator writes from the
    sources: one table for every target (no per-target copy to drift)."""
    if not all((path / "qemu-options.hx").exists() for path in TABLE_SOURCES.values()):
        pytest.skip("the QEMU 7.2 and 10.0 source trees are not here")
    root = Path(__file__).resolve().parents[2]
    sources = [f"--source={ver}={path}" for ver, path in TABLE_SOURCES.items()]
    proc = subprocess.run(
        [sys.executable, str(root / "tools" / "gen_qemu_option_table.py"), *sources, "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert not list((root / "memdevd" / "targets").glob("*/options.py"))
