"""The default serial, parallel and monitor without -nodefaults, through a
real socket (vl.c ``qemu_create_default_devices``).

The QMP monitor is a ``-readconfig`` ``[mon]`` group where the default
monitor should show: a config file's monitor does not clear
``default_monitor`` (only the option loop's ``-mon`` does).  The answers
are QEMU's, as tests/conformance/test_default_devices_live.py compares
them live.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from protocol_harness import RawQMP, memdevd_command, run_memdevd

COMMON = ("-S", "-accel", "tcg", "-nic", "none")


def _config(workdir: Path) -> Path:
    config = workdir / "qmp.cfg"
    config.write_text(
        f'[chardev "qmp0"]\n  backend = "socket"\n  path = "{workdir / "qmp.sock"}"\n'
        '  server = "on"\n  wait = "off"\n\n'
        '[mon]\n  mode = "control"\n  chardev = "qmp0"\n'
    )
    return config


async def _ask(workdir: Path, version: str, target: str, *argv: str) -> dict[str, Any]:
    """query-chardev (labels: (filename, frontend-open)), /objects, and
    each serial or parallel device's chardev, by type."""
    memdevd = f"version={version},target={target}"
    args = ["-memdevd", memdevd, *COMMON, *argv, "-readconfig", str(_config(workdir))]
    async with run_memdevd(workdir, args, socket_name=None) as md:
        md.socket_path = workdir / "qmp.sock"
        qmp: RawQMP = await md.connect()
        try:
            await qmp.negotiate()
            chardevs = await qmp.ok("query-chardev")
            objects = await qmp.ok("qom-list", {"path": "/objects"})
            ports = []
            for child in await qmp.ok("qom-list", {"path": "/machine/unattached"}):
                if child["type"] in ("child<isa-serial>", "child<isa-parallel>", "child<pl011>"):
                    path = f"/machine/unattached/{child['name']}"
                    chardev = await qmp.ok("qom-get", {"path": path, "property": "chardev"})
                    ports.append((child["type"][6:-1], chardev))
        finally:
            await qmp.close()
    return {
        "chardevs": [(c["label"], c["filename"], c["frontend-open"]) for c in chardevs],
        "objects": sorted(o["name"] for o in objects if o["type"].startswith("child<monitor")),
        "ports": sorted(ports),
    }


def _qmp0(workdir: Path) -> tuple[str, str, bool]:
    return ("qmp0", f"unix:{workdir}/qmp.sock,server=on", True)


@pytest.mark.parametrize("version", ["7.2", "10.0", "11.1"])
async def test_pc_vc_ports_and_monitor(workdir: Path, version: str) -> None:
    got = await _ask(workdir, version, "x86_64", "-machine", "pc", "-display", "none")
    assert got["chardevs"] == [
        _qmp0(workdir),
        ("parallel0", "vc", True),
        ("compat_monitor0", "vc", True),
        ("serial0", "vc", True),
    ]
    assert got["ports"] == [("isa-parallel", "parallel0"), ("isa-serial", "serial0")]
    # 11.1: the default monitor is compat_monitor0 (monitor_parse's label),
    # the id-less [mon] group is named after it.
    expected = ["compat_monitor0", "compat_monitor1"] if version == "11.1" else []
    assert got["objects"] == expected


async def test_nographic_mux_monitor_on_stdio(workdir: Path) -> None:
    got = await _ask(workdir, "11.1", "x86_64", "-machine", "q35", "-nographic")
    assert got["chardevs"] == [
        _qmp0(workdir),
        ("parallel0", "null", True),
        ("serial0", "mux", True),
        ("serial0-base", "stdio", True),
    ]
    # the [mon] group is made first, then serial0's mux monitor
    assert got["objects"] == ["compat_monitor0", "compat_monitor1"]


async def test_nographic_with_a_serial_has_a_stdio_monitor(workdir: Path) -> None:
    got = await _ask(workdir, "10.0", "x86_64", "-machine", "pc", "-nographic", "-serial", "null")
    assert got["chardevs"] == [
        _qmp0(workdir),
        ("parallel0", "null", True),
        ("compat_monitor0", "stdio", True),
        ("serial0", "null", True),
    ]


async def test_nodefaults_and_given_monitors_leave_them_out(workdir: Path) -> None:
    got = await _ask(workdir, "10.0", "x86_64", "-machine", "pc", "-nodefaults")
    assert got["chardevs"] == [_qmp0(workdir)]
    assert got["ports"] == []
    # -serial mon: clears the default monitor; -parallel none the port.
    got = await _ask(
        workdir, "10.0", "x86_64", "-display", "none", "-serial", "mon:null", "-parallel", "none"
    )
    assert [c[0] for c in got["chardevs"]] == ["qmp0", "serial0", "serial0-base"]


async def test_a_command_line_mon_clears_the_default_monitor(workdir: Path) -> None:
    sock = workdir / "qmp.sock"
    args = [
        "-memdevd",
        "version=10.0",
        *COMMON,
        "-display",
        "none",
        "-chardev",
        f"socket,id=qmp0,path={sock},server=on,wait=off",
        "-mon",
        "chardev=qmp0,mode=control",
    ]
    async with run_memdevd(workdir, args, socket_name=None) as md:
        md.socket_path = sock
        qmp = await md.connect()
        try:
            await qmp.negotiate()
            labels = [c["label"] for c in await qmp.ok("query-chardev")]
        finally:
            await qmp.close()
    assert labels == ["qmp0", "parallel0", "serial0"]


async def test_virt_pl011_takes_serial0(workdir: Path) -> None:
    got = await _ask(workdir, "10.0", "aarch64", "-machine", "virt", "-display", "none")
    # virt has no parallel port: parallel0 has no front end
    assert got["chardevs"] == [
        _qmp0(workdir),
        ("parallel0", "vc", False),
        ("compat_monitor0", "vc", True),
        ("serial0", "vc", True),
    ]
    assert got["ports"] == [("pl011", "serial0")]


async def test_none_machine_has_no_ports(workdir: Path) -> None:
    got = await _ask(workdir, "10.0", "aarch64", "-machine", "none", "-display", "none")
    assert got["chardevs"] == [_qmp0(workdir), ("compat_monitor0", "vc", True)]


def test_a_clashing_chardev_id_fails_as_qemu(workdir: Path) -> None:
    """The default serial port's chardev takes the id serial0 (a
    -chardev of that id is there already): no location, as QEMU."""
    args = ["-memdevd", "version=10.0", *COMMON, "-display", "none"]
    done = subprocess.run(
        memdevd_command(*args, "-chardev", "null,id=serial0"),
        cwd=workdir,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stderr.decode()) == (
        1,
        "memdevd: Duplicate ID 'serial0' for chardev\n"
        "memdevd: could not connect serial device to character backend 'vc:80Cx24C'\n",
    )


def test_serial_ports_are_made_before_parallel_ones(workdir: Path) -> None:
    args = ["-memdevd", "version=10.0", *COMMON, "-nodefaults", "-display", "none"]
    done = subprocess.run(
        memdevd_command(
            *args, "-parallel", "file:/nonexistent/x", "-serial", "file:/nonexistent/y"
        ),
        cwd=workdir,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "could not connect serial device" in done.stderr.decode()


def _start_failure(workdir: Path, *argv: str) -> tuple[int, str]:
    done = subprocess.run(
        memdevd_command("-memdevd", "version=10.0", *COMMON, "-nodefaults", *argv),
        cwd=workdir,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
        check=False,
    )
    return done.returncode, done.stderr.decode()


@pytest.mark.parametrize("option", ["-serial", "-parallel"])
def test_a_board_port_on_a_chardev_in_use_aborts(workdir: Path, option: str) -> None:
    """serial_hds_isa_init(): qdev_prop_set_chr(..., &error_abort)."""
    taken = ["-chardev", "null,id=c", "-monitor", "chardev:c"]
    assert _start_failure(workdir, "-display", "none", *taken, option, "chardev:c") == (
        -6,
        "Unexpected error in qemu_chr_fe_init() at chardev/char-fe.c:204:\n"
        "memdevd: chardev 'c' is already in use\n",
    )


def test_each_mon_takes_its_chardev(workdir: Path) -> None:
    """Two readline -mon on one chardev: the second fails at its option."""
    assert _start_failure(workdir, "-chardev", "null,id=m", "-mon", "m", "-mon", "m") == (
        1,
        "memdevd: -mon m: chardev 'm' is already in use\n",
    )


@pytest.mark.parametrize(
    ("version", "uarts"), [("7.2", ["serial0"]), ("10.0", ["serial1", "serial0"])]
)
async def test_virt_second_serial_is_a_second_pl011(
    workdir: Path, version: str, uarts: list[str]
) -> None:
    """10.0's machvirt_init: serial_hd(1) is a second UART, made first."""
    argv = ["-machine", "virt", "-nodefaults", "-display", "none", "-serial", "null"]
    got = await _ask(workdir, version, "aarch64", *argv, "-serial", "null")
    assert got["ports"] == sorted(("pl011", label) for label in uarts)
    opened = {label: is_open for label, _, is_open in got["chardevs"]}
    assert opened["serial1"] is (len(uarts) == 2)
