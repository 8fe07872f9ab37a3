"""``-device help`` and ``-device TYPE,help`` as the emulated release prints them.

No QEMU is needed: ``-device help`` must be the recorded text byte for
byte, and ``-device NAME,help`` must be what the recording's samples show
(``type-help`` in devices.json: representative types, aliases, errors),
exit status included; memdevd derives the latter from the catalog.  Every
device type against the real binaries: tests/conformance/test_device_help_live.py.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from memdevd.app import cli
from memdevd.app.device_help import device_list_text, property_help
from memdevd.releases.recorded import NO_DEFAULT, DevicePropertyInfo, recording
from memdevd.releases.table import get_release

DATA = Path(__file__).resolve().parents[2] / "memdevd" / "targets" / "x86_64" / "data"
PROG = "qemu-system-x86_64"
VERSIONS = ("7.2", "10.0")
params = pytest.mark.parametrize("version", VERSIONS)


def catalog(version: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(
        (DATA / f"qemu-{version}" / "devices.json").read_text(encoding="utf-8")
    )
    return doc


def memdevd(version: str, *argv: str) -> tuple[str, str, int]:
    """stdout, stderr and exit status of ``memdevd ARGV`` (in this process)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(["-memdevd", f"version={version}", *argv], prog=PROG)
    return out.getvalue(), err.getvalue(), status


def recorded_run(version: str, name: str) -> tuple[str, str, int]:
    run = catalog(version)["type-help"][name]
    return run["stdout"], run["stderr"], run["status"]


@params
def test_device_help_is_the_recorded_text(version: str) -> None:
    run = catalog(version)["device-help"]
    assert memdevd(version, "-device", "help") == (run["stdout"], "", 0)


@params
@pytest.mark.parametrize(
    "argv", [["-device", "?"], ["-device", "driver=help"], ["--device", "help,id=x"]]
)
def test_device_help_spellings(version: str, argv: list[str]) -> None:
    """is_help_option(): "help" and "?", as the implied driver or driver=."""
    assert memdevd(version, *argv) == memdevd(version, "-device", "help")


@params
def test_device_help_derives_from_the_catalog(version: str) -> None:
    """The catalog's fields hold everything -device help prints (and info qdm)."""
    rec = recording("x86_64", get_release(version))
    types = [rec.device_type(n) for n in rec.device_type_names()]
    derived = device_list_text(rec.device_categories(), filter(None, types), show_no_user=False)
    assert derived == rec.device_help_text()
    everything = device_list_text(rec.device_categories(), filter(None, types), show_no_user=True)
    assert everything.count('name "') == len(types)
    assert ", no-user\n" in everything and ", no-user" not in derived


def _samples() -> list[tuple[str, str]]:
    return [(v, name) for v in VERSIONS for name in catalog(v)["type-help"]]


@pytest.mark.parametrize(("version", "name"), _samples())
def test_type_help_is_qemus(version: str, name: str) -> None:
    """-device NAME,help as QEMU printed it: options, aliases, errors, exit status."""
    assert memdevd(version, "-device", f"{name},help") == recorded_run(version, name)


@params
@pytest.mark.parametrize(
    "spelling", ["virtio-blk,?", "virtio-blk,help=off", "driver=virtio-blk,help"]
)
def test_type_help_spellings(version: str, spelling: str) -> None:
    """qemu_opt_has_help_opt(): any "help" or "?" key, whatever its value."""
    assert memdevd(version, "-device", spelling) == recorded_run(version, "virtio-blk")


def test_8_2_lists_10_0s_types_with_json_defaults() -> None:
    """8.2 answers from 10.0's catalog, with 8.2's object_property_help()."""
    out, err, status = memdevd("8.2", "-device", "help")
    assert (out, err, status) == (catalog("10.0")["device-help"]["stdout"], "", 0)
    out, _, _ = memdevd("8.2", "-device", "virtio-blk-pci,help")
    ten, _, _ = recorded_run("10.0", "virtio-blk-pci")
    assert '  account-failed=<OnOffAuto> - on/off/auto (default: "auto")\n' in out
    assert "  account-failed=<OnOffAuto> - on/off/auto (default: auto)\n" in ten
    assert out.splitlines()[0] == ten.splitlines()[0] == "virtio-blk-pci options:"
    assert len(out.splitlines()) == len(ten.splitlines())


@params
def test_first_device_asking_for_help_wins(version: str) -> None:
    dimm = recorded_run(version, "pc-dimm")
    assert memdevd(version, "-device", "pc-dimm,id=d0", "-device", "pc-dimm,help") == dimm
    assert memdevd(version, "-device", "pc-dimm,help", "-device", "help") == dimm
    # JSON -device options are not asked for help (vl.c keeps them apart).
    assert memdevd(version, "-device", '{"driver": "help"}', "-device", "pc-dimm,help") == dimm


@params
def test_help_comes_before_the_machine(version: str) -> None:
    """qemu_process_help_options() runs after the option loop, before
    select_machine() and the rest of start-up."""
    listing = memdevd(version, "-device", "help")
    assert memdevd(version, "-machine", "no-such-machine", "-device", "help") == listing
    assert memdevd(version, "-device", "help", "-m", "1G,slots=4") == listing
    # ... but after the loop: a syntax error of a later option comes first.
    out, err, status = memdevd(version, "-device", "help", "-m", "1G,foo=bar")
    assert (out, status) == ("", 1) and "Invalid parameter 'foo'" in err
    # -cpu help is looked at first.
    out, err, status = memdevd(version, "-device", "help", "-cpu", "help")
    assert (err, status) == ("", 0)
    assert out.startswith("Available CPUs:\n") and "Recognized CPUID flags:" in out


@params
def test_a_device_without_driver_asks_no_help(version: str) -> None:
    """qdev_device_help() returns 0 without a driver: start-up goes on (and
    fails later, as QEMU's does, for want of a driver)."""
    parsed = cli.parse(["-memdevd", f"version={version}", "-device", "id=x,help"], PROG)
    assert [d.opts for d in parsed.request.devices] == [{"id": "x", "help": "on"}]


def test_property_help_layout() -> None:
    release = get_release("7.2")
    ten = get_release("10.0")

    def prop(name: str, description: str | None = None, default: Any = NO_DEFAULT) -> Any:
        return DevicePropertyInfo(name, "uint32", description, default)

    assert property_help(release, prop("x")) == "  x=<uint32>"
    padded = "  x=<uint32>".ljust(24)
    assert property_help(release, prop("x", "")) == padded + " - "
    assert property_help(release, prop("x", None, 0)) == padded + " -  (default: 0)"
    long = prop("a-rather-long-name", "text", "s")
    assert property_help(release, long) == '  a-rather-long-name=<uint32> - text (default: "s")'
    assert property_help(ten, long) == "  a-rather-long-name=<uint32> - text (default: s)"
    assert property_help(release, prop("b", "on/off", True)).endswith("(default: true)")
    assert property_help(ten, prop("b", "on/off", True)).endswith("(default: on)")
    assert property_help(ten, prop("l", None, [])).endswith("(default: [])")
    assert property_help(ten, prop("n", None, None)).endswith("(default: null)")


def test_start_up_without_help_does_not_import_it() -> None:
    """A command line that asks no help neither imports the help code nor
    reads the catalog (start-up time is benchmarked, with -nodefaults:
    without it QEMU's default serial and parallel ports are made, which
    reads the catalog)."""
    code = (
        "import sys\n"
        "from memdevd.app import cli\n"
        "from memdevd.releases.recorded import recording\n"
        "from memdevd.releases.table import get_release\n"
        "argv = ['-machine', 'q35', '-nodefaults', '-m', '1G,slots=2,maxmem=4G']\n"
        "argv += ['-object', 'memory-backend-ram,id=m0,size=128M']\n"
        "p = cli.parse([*argv, '-device', 'pc-dimm,id=d0,memdev=m0'], 'memdevd')\n"
        "cli.build_daemon(p, 'memdevd', handle_signals=False)\n"
        "print('memdevd.app.device_help' in sys.modules,"
        " 'devices' in recording('x86_64', get_release('10.0'))._files)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == ["False", "False"], result.stderr
