"""Command-line syntax errors: memdevd's formatting against real QEMU's stderr.

Each case is a command line QEMU must reject while *parsing* (bad sizes for
-m, unknown keys, bad JSON, ``,,`` mistakes, unknown options...).  The test
runs the real binary with ``-S -nodefaults -display none -accel tcg`` plus
the case, and compares stderr (program name included) and the exit status
with what ``memdevd.util.qemu_opts``/``memdevd.util.cmdline`` produce, driven by a
small model of vl.c's option loop below (only the syntax-level steps).

Also checked against the binaries: the option table (every option exists,
takes an argument or not as the table says, options of other targets are
rejected) and size values (``-numa node,mem=SIZE`` makes QEMU print the
parsed size).

All QEMU runs happen once, in parallel, in a module fixture; each is killed
after a few seconds (a case QEMU accepts would otherwise start a VM).
"""

from __future__ import annotations

import concurrent.futures
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from live_qemu import QEMU_VERSIONS

from memdevd.app.cmdline_json import parse_keyval_or_json, qobject_from_json
from memdevd.releases.table import get_release
from memdevd.targets import options_table as table
from memdevd.targets.x86_64.cmdline import syntax
from memdevd.util.cmdline import CliItem, tokenize
from memdevd.util.option_defs import Syntax
from memdevd.util.qemu_opts import (
    Diagnostic,
    HelpRequested,
    KeyvalValue,
    OptionError,
    QemuOptsList,
    SizeContext,
    SizeError,
    format_diagnostic,
    format_error,
    keyval_parse,
    monitor_parse,
    new_opts_lists,
    parse_size,
    qemu_strtosz,
)

pytestmark = pytest.mark.live_qemu

PROG = "qemu-system-x86_64"
COMMON = ["-S", "-nodefaults", "-display", "none", "-accel", "tcg"]
TIMEOUT = 8.0


def _binary(env: str, default: str) -> str | None:
    path = os.environ.get(env, default)
    return path if Path(path).exists() or shutil.which(path) else None


BINARIES: dict[str, str | None] = {
    "7.2": _binary("MEMDEVD_QEMU_7_2", "/usr/bin/qemu-system-x86_64"),
    "10.0": _binary("MEMDEVD_QEMU_10_0", "/opt/qemu-10.0/bin/qemu-system-x86_64"),
    "11.1": _binary("MEMDEVD_QEMU_11_1", "/opt/qemu-11.1/bin/qemu-system-x86_64"),
}
# qemu-system-x86_64's command-line syntax of each live release.
PROFILES: dict[str, Syntax] = {v: syntax(get_release(v)) for v in ("7.2", "10.0", "11.1")}
# Each profile's JSON parser (11.1's push parser locates its errors).
_PUSH_PARSER = {PROFILES[v].name: get_release(v).json_push_parser for v in PROFILES}


@dataclass(frozen=True)
class Outcome:
    stdout: str
    stderr: str
    status: int | None  # None: still running after TIMEOUT (QEMU accepted it)


def run_qemu(binary: str, argv: Sequence[str]) -> Outcome:
    env = dict(os.environ, LC_ALL="C")
    args: list[str | bytes] = [binary, *(os.fsencode(a) for a in argv)]
    with subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,  # so that a kill reaches the wrapper's child too
    ) as proc:
        try:
            out, err = proc.communicate(timeout=TIMEOUT)
            status: int | None = proc.returncode
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            out, err = proc.communicate()
            status = None
    return Outcome(os.fsdecode(out), os.fsdecode(err), status)


# ---------------------------------------------------------------------------
# A model of vl.c's option loop, syntax steps only


def emulate(argv: Sequence[str], release: Syntax) -> Outcome:
    """What QEMU prints for ``argv``, as far as the syntax layer decides it."""
    printed: list[Diagnostic] = []

    def stderr(err: OptionError | None = None) -> str:
        text = "".join(format_diagnostic(PROG, d) for d in printed)
        return text + (format_error(PROG, err) if err else "")

    try:
        parsed = tokenize(argv, syntax=release)
    except OptionError as err:
        return Outcome("", stderr(err), 1)
    lists = new_opts_lists(release)
    machine: dict[str, KeyvalValue] = {}
    monitors = 0
    for item in parsed.items:
        warnings: list[Diagnostic] = []
        try:
            item.check_target()
            monitors += _emulate_item(item, release, lists, machine, warnings, monitors)
        except HelpRequested as help_:
            return Outcome(help_.text, stderr(), help_.exit_status)
        except OptionError as err:
            err.at(item.location)
            for w in warnings:
                if w not in err.preceding:
                    w.location = w.location or item.location
                    printed.append(w)
            return Outcome("", stderr(err), 1)
        for w in warnings:
            w.location = w.location or item.location
            printed.append(w)
    return Outcome("", stderr(), None)  # the syntax layer found nothing wrong


def _emulate_item(
    item: CliItem,
    release: Syntax,
    lists: dict[str, QemuOptsList],
    machine: dict[str, KeyvalValue],
    warnings: list[Diagnostic],
    monitors: int,
) -> int:
    arg = item.arg or ""
    name = item.name
    if name == "m":
        lists["memory"].parse_noisily(arg, True, warnings=warnings)
    elif name in ("machine", "M"):
        keyval_parse(arg, "type", into=machine)
    elif name in ("object", "device"):
        if arg.startswith("{"):
            qobject_from_json(arg, push=_PUSH_PARSER[release.name])
        else:
            opts = lists[name].parse_noisily(arg, True, warnings=warnings)
            if name == "object" and opts.get("qom-type") is None:
                raise OptionError("Parameter 'qom-type' is missing")
    elif name in ("numa", "chardev", "accel"):
        lists[name].parse_noisily(arg, True, warnings=warnings)
    elif name == "qmp":
        monitor_parse(arg, lists, mode="control", device_index=monitors)
        return 1
    elif name == "display":
        parse_keyval_or_json(arg, "type", push=_PUSH_PARSER[release.name])
    return 0


# ---------------------------------------------------------------------------
# Cases


NESTED = '{"a":' + "[" * 1024 + "]" * 1024 + "}"

CASES: list[list[str]] = [
    # sizes for -m; "-m X -m 1Q" fails in both versions even where X is valid
    *(
        ["-m", size, "-m", "1Q"]
        for size in (
            "1Q",
            "-1",
            "-1G",
            "-0",
            "1.5",
            "1e3",
            "1.5e3G",
            "18446744073709551616",
            "18446744073709551616k",
            "16E",
            "16Ek",
            "0x10M",
            "0x10k",
            "0x1.8",
            "0x",
            "0xfffffffffffffffff",
            ".5G",
            "+.5G",
            "-.5G",
            "-.5",
            "1.k",
            "1..",
            " 1G",
            "1G ",
            "",
            ",",
            "1 G",
            "inf",
            "nan.",
            "1b",
            "1B",
            "1t",
            "0.0000000000000000000000001G",
            "12345678901234567890",
        )
    ),
    ["-m", "1G,foo"],
    ["-m", "1G,nofoo"],
    ["-m", "1G,slots"],
    ["-m", "1G,slots=x"],
    ["-m", "1G,slots=18446744073709551616"],
    ["-m", "1G,slots=0x"],
    ["-m", "1G,maxmem=1Q"],
    ["-m", "1G,maxmem=-5"],
    ["-m", "size=1G,id=x"],
    ["-m", "id=x"],
    ["-m", "1G,,2"],
    ["-m", "1G,,slots=2"],
    ["-m", "1G,help"],
    ["-m", "1G,?"],
    ["-m", "help"],
    ["-m", "1G,size=2G,size=1Q"],
    ["-m", "slots=2,1G"],
    # unknown and malformed options
    ["-foo"],
    ["--foo"],
    ["-m=1G"],
    ["-"],
    ["--"],
    ["-m"],
    ["--m"],
    ["-m", "1G", "-foo"],
    ["-m", "1Q", "-foo"],
    ["disk.img", "-foo"],
    ["-m", "1G", "-object"],
    ["-prom-env", "x"],
    ["-m", "1Q", "-prom-env", "x"],
    ["-g", "800x600", "-m", "1Q"],
    # -machine (keyval)
    ["-machine", "pc,foo"],
    ["-machine", "pc,=1"],
    ["-machine", "pc,,x"],
    ["-machine", "pc,a.b=1,a=2"],
    ["-machine", "pc,a=1,a.b=2"],
    ["-machine", "pc,sgx-epc.0.memdev=m0,sgx-epc.2.memdev=x"],
    ["-machine", "pc,sgx-epc.1.memdev=x"],
    ["-machine", "pc,sgx-epc.0.memdev=m0,sgx-epc.x=1"],
    ["-machine", "pc,1a=2"],
    ["-machine", "pc,a.1b=2"],
    ["-machine", "pc,a..b=2"],
    ["-machine", "pc,a b=2"],
    ["-machine", "pc,x.y"],
    ["-machine", "pc,memory.size"],
    ["-machine", "pc," + "k" * 130 + "=1"],
    ["-machine", "pc,a." + "k" * 130 + "=1"],
    ["-machine", "pc,a.b=1", "-machine", "a=2"],
    ["-machine", "pc,sgx-epc.0.memdev=m0", "-machine", "sgx-epc.1.memdev=m1"],
    ["-M", "pc,foo=1,bar"],
    # JSON for -object and -device
    *(
        [opt, text]
        for opt, text in (
            ("-object", "{"),
            ("-object", '{"a":1} x'),
            ("-object", '{"a":1}}'),
            ("-object", "{}{}"),
            ("-device", '{"driver":x}'),
            ("-device", '{"driver":"pc-dimm",}'),
            ("-object", "{'qom-type':1, 'a':}"),
            ("-object", '{"a" 1}'),
            ("-object", '{"a":1 "b":2}'),
            ("-object", "{1:2}"),
            ("-object", "{null:2}"),
            ("-object", '{"a":1,"a":2}'),
            ("-object", '{"a":"\\q"}'),
            ("-object", '{"a":"\\uD800"}'),
            ("-object", '{"a":"\\uD800\\u0041"}'),
            ("-object", '{"a":"\\u12"}'),
            ("-object", '{"a":"\\uZZZZ"}'),
            ("-object", '{"a":[1 2]}'),
            ("-object", '{"a":[1,]}'),
            ("-object", '{"a":[,]}'),
            ("-object", '{"a":tru}'),
            ("-object", "{@}"),
            ("-object", '{"a":"b'),
            ("-object", '{"a":"b\x01"}'),
            ("-object", '{"a":01}'),
            ("-object", '{"a":-}'),
            ("-object", '{"a":1.}'),
            ("-object", '{"a":1e}'),
            ("-object", '{"a":"\udcff"}'),
            ("-object", NESTED),
            ("-device", '{"a":1} {"b":2}'),
            ("-device", "{]"),
        )
    ),
    # QemuOpts -object/-device/-numa/-chardev
    ["-object", "id=x"],
    ["-object", "memory-backend-ram,id=0x"],
    ["-object", "memory-backend-ram,id=m0,size=1M", "-object", "memory-backend-ram,id=m0"],
    ["-device", "pc-dimm,id=d0", "-device", "pc-dimm,id=d0"],
    ["-device", "pc-dimm,id=0d"],
    ["-device", "pc-dimm,id="],
    ["-device", "a,,id=x", "-device", "b,id=x"],
    ["-device", "pc-dimm,nofoo", "-m", "1Q"],
    ["-device", "pc-dimm,id", "-m", "1Q"],
    ["-numa", "node,id=1"],
    ["-chardev", "socket,id=c0,bogus=1"],
    ["-chardev", "socket,id=c0,nodelay", "-m", "1Q"],
    ["-chardev", "socket,id=c0,delay", "-m", "1Q"],
    ["-chardev", "socket,id=c0,server=maybe"],
    ["-chardev", "socket,id=c0,to=x"],
    ["-chardev", "socket,id=c0,help"],
    # -qmp chardev specs
    ["-qmp", "foo:bar"],
    ["-qmp", "unix:/nonexistent-memdevd-dir/x,server=on,bogus=1"],
    ["-qmp", "unix:/nonexistent-memdevd-dir/x,server,nowait", "-m", "1Q"],
    ["-qmp", "tcp:1"],
    ["-qmp", "tcp::1,server=on,foo=bar"],
    ["-qmp", "vc:abc"],
    ["-qmp", "mon:foo"],
    ["-qmp", "udp:"],
    ["-qmp", "chardev:x", "-qmp", "chardev:x"],
    ["-chardev", "null,id=compat_monitor0", "-qmp", "stdio"],
    # -display (keyval or JSON)
    ["-display", "none,foo"],
    ["-display", "{"],
]


@dataclass(frozen=True)
class TableCheck:
    version: str
    argv: tuple[str, ...]
    expected: str


def table_checks() -> list[TableCheck]:
    """Each option as the table describes it, and each option of the other version."""
    checks = []
    for version, options, absent in (
        ("7.2", table.OPTIONS_7_2, table.ONLY_IN_10_0),
        ("10.0", table.OPTIONS_10_0, table.ONLY_IN_7_2),
    ):
        for opt in options:
            if opt.has_arg:
                # As the last word: QEMU's first pass stops before doing anything.
                checks.append(
                    TableCheck(version, (f"-{opt.name}",), f"-{opt.name}: requires an argument")
                )
                if not opt.arch_mask & table.ARCH_I386:
                    checks.append(
                        TableCheck(
                            version,
                            (f"-{opt.name}", "x"),
                            f"-{opt.name} x: Option not supported for this target",
                        )
                    )
            else:
                # Followed by an invalid option: the first pass stops there.
                checks.append(
                    TableCheck(version, (f"-{opt.name}", "-zz-none"), "-zz-none: invalid option")
                )
        for name in sorted(absent):
            checks.append(TableCheck(version, (f"-{name}",), f"-{name}: invalid option"))
    return checks


SIZE_VALUES = (
    "1",
    "512",
    "1k",
    "1.5k",
    "1M",
    "0x1000",
    " 2G",
    "1.5G",
    "2.5M",
    "3.9999999999999999999M",
    "1.99999999999999999999G",
    "0.5G",
    ".5G",
    "+.5G",
    "1.G",
    "7E",
    "15.9999999999999999E",
    "0.000000000000000000001E",
    "0x10k",
    "-3",
    "1.5",
    "1e2k",
)
NUMA_ARGV = ("-machine", "pc-i440fx-5.0", "-m", "3G", "-numa")
NUMA_RE = re.compile(r"total memory for NUMA nodes \((0x[0-9a-f]+)\)")


# ---------------------------------------------------------------------------
# Running everything once


@pytest.fixture(scope="module")
def results() -> dict[tuple[str, tuple[str, ...]], Outcome]:
    jobs: dict[tuple[str, tuple[str, ...]], tuple[str, ...]] = {}
    for version, binary in BINARIES.items():
        if binary is None:
            continue
        for case in CASES:
            jobs[(version, tuple(case))] = (*COMMON, *case)
        for check in table_checks():
            if check.version == version:
                jobs[(version, check.argv)] = check.argv
        for value in SIZE_VALUES:
            argv = (*NUMA_ARGV, f"node,mem={value}")
            jobs[(version, argv)] = (*COMMON, *argv)
    out: dict[tuple[str, tuple[str, ...]], Outcome] = {}
    with concurrent.futures.ThreadPoolExecutor(
        max_workers=min(32, (os.cpu_count() or 4) * 4)
    ) as ex:
        futures = {
            ex.submit(run_qemu, BINARIES[key[0]] or "", argv): key for key, argv in jobs.items()
        }
        for fut in concurrent.futures.as_completed(futures):
            out[futures[fut]] = fut.result()
    return out


def _need(version: str) -> None:
    if BINARIES[version] is None:
        pytest.skip(f"no QEMU {version} binary (set MEMDEVD_QEMU_{version.replace('.', '_')})")


VERSIONS = [v for v in ("7.2", "10.0", "11.1") if v in QEMU_VERSIONS]
# 11.1 has no machine type up to 5.0, the only ones where -numa node,mem=
# (how the size values reach QEMU's qemu_strtosz here) is allowed; its
# size parsing is 10.0's (Release.strtosz_2023).
SIZE_VERSIONS = [v for v in VERSIONS if v != "11.1"]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: " ".join(c)[:60])
def test_syntax_error_matches_qemu(
    version: str, case: list[str], results: dict[tuple[str, tuple[str, ...]], Outcome]
) -> None:
    _need(version)
    real = results[(version, tuple(case))]
    ours = emulate([*COMMON, *case], PROFILES[version])
    assert real.status is not None, f"QEMU accepted {case!r}; stderr={real.stderr!r}"
    assert ours.status is not None, f"memdevd's syntax layer accepted {case!r}"
    assert (ours.stderr, ours.stdout, ours.status) == (real.stderr, real.stdout, real.status)


@pytest.mark.parametrize("version", VERSIONS)
def test_option_table_matches_qemu(
    version: str, results: dict[tuple[str, tuple[str, ...]], Outcome]
) -> None:
    _need(version)
    wrong = []
    for check in table_checks():
        if check.version != version:
            continue
        real = results[(version, check.argv)]
        if real.stderr != f"{PROG}: {check.expected}\n" or real.status != 1:
            wrong.append((check.argv, real.stderr, real.status))
    assert not wrong


@pytest.mark.parametrize("version", SIZE_VERSIONS)
@pytest.mark.parametrize("value", SIZE_VALUES)
def test_size_value_matches_qemu(
    version: str, value: str, results: dict[tuple[str, tuple[str, ...]], Outcome]
) -> None:
    """-numa node,mem=SIZE goes through qemu_strtosz; QEMU prints the result.

    The opts visitor parses it first (default unit byte, errors reported);
    then numa.c re-parses the string with qemu_strtosz_MiB (suffix-less means
    MiB, for compatibility) and ignores that call's result code.
    """
    _need(version)
    release = PROFILES[version]
    real = results[(version, (*NUMA_ARGV, f"node,mem={value}"))]
    try:
        parse_size(value, name="mem", context=SizeContext.OPTS_VISITOR, syntax=release)
    except SizeError as err:
        assert f": {err.message}\n" in real.stderr
        return
    ret, ours = qemu_strtosz(value, release, default_suffix="M")
    assert ret == 0
    if ours == 3 << 30:
        pytest.skip("equal to the RAM size: QEMU would start")
    m = NUMA_RE.search(real.stderr)
    assert m, real.stderr
    assert int(m.group(1), 16) == ours
