"""Live: QEMU's default serial, parallel and monitor without -nodefaults.

vl.c ``qemu_create_default_devices``: a serial and a parallel port on
``vc:80Cx24C`` chardevs (``serial0``, ``parallel0``), with ``-nographic``
the parallel port on ``null`` and the serial on ``mon:stdio`` (or
``stdio``), the default readline monitor ``compat_monitor0`` when no
``-monitor``/``-qmp``/``-mon`` (nor ``-serial mon:...``) was given, none of
them with ``-nodefaults`` and no ports on the ``none`` machine.  The QMP
monitor comes from a ``-readconfig`` ``[mon]`` group, which does not clear
the default monitor (only the option loop's ``-mon`` does), so the default
monitor is seen too.  Compared on real QEMU and memdevd for x86_64 pc and
q35 and aarch64 virt (``-nic none``: memdevd makes no default NIC, see
docs/divergences.md): ``query-chardev``, ``/machine/peripheral-anon``,
11.1's monitor objects under ``/objects``, the ports' ``chardev`` property
(x86: the ``isa-serial``/``isa-parallel`` devices, found by type since
memdevd numbers x86's board devices differently; virt: the whole
``/machine/unattached`` and the pl011's), ``query-pci``; and the start-up
errors the defaults can cause, and a board's UART on a chardev in use
(QEMU aborts: its ``qdev_prop_set_chr`` passes ``&error_abort``).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from live_qemu import QEMU_VERSIONS, connect_monitor, qemu_binary, qemu_command

pytestmark = [pytest.mark.live_qemu, pytest.mark.slow]

COMMON = ["-S", "-accel", "tcg", "-nic", "none"]
TIMEOUT = 30.0

#: (target, argv): what each start-up adds to COMMON and the QMP monitor.
CASES: list[tuple[str, list[str]]] = [
    ("x86_64", ["-machine", "pc", "-display", "none"]),
    ("x86_64", ["-machine", "q35", "-display", "none"]),
    ("x86_64", ["-machine", "pc", "-nographic"]),
    ("x86_64", ["-machine", "q35", "-vnc", "unix:{tmp}/vnc.sock"]),
    ("x86_64", ["-machine", "pc", "-display", "none", "-serial", "null"]),
    ("x86_64", ["-machine", "pc", "-nographic", "-serial", "null"]),
    ("x86_64", ["-machine", "pc", "-display", "none", "-serial", "mon:null"]),
    ("x86_64", ["-machine", "pc", "-display", "none", "-parallel", "none", "-monitor", "none"]),
    ("x86_64", ["-machine", "q35", "-display", "none", "-serial", "none", "-parallel", "null"]),
    ("x86_64", ["-machine", "pc", "-nodefaults", "-display", "none"]),
    ("x86_64", ["-machine", "none", "-display", "none"]),
    ("x86_64", ["-machine", "none", "-nographic"]),
    ("aarch64", ["-machine", "virt", "-display", "none"]),
    ("aarch64", ["-machine", "virt", "-nographic"]),
    ("aarch64", ["-machine", "virt", "-display", "none", "-serial", "none"]),
    ("aarch64", ["-machine", "virt", "-nodefaults", "-display", "none", "-serial", "null"]),
    ("aarch64", ["-machine", "virt", "-nodefaults", "-display", "none"]),
    # 10.0: a second -serial is a second pl011, made first
    ("aarch64", ["-machine", "virt", "-nodefaults", "-display", "none", *["-serial", "null"] * 3]),
    ("aarch64", ["-machine", "virt", "-display", "none", "-serial", "none", "-serial", "null"]),
    ("aarch64", ["-machine", "none", "-display", "none"]),
]

#: Start-ups the defaults make fail, given a -qmp monitor unless the argv
#: holds NO_QMP (started without one: the default monitor is made).
NO_QMP = "<no -qmp>"
FAILURES: list[tuple[str, list[str]]] = [
    # the default monitor's chardev id is taken: monitor_parse() fails
    (
        "x86_64",
        ["-machine", "pc", "-display", "none", "-chardev", "null,id=compat_monitor0", NO_QMP],
    ),
    (
        "x86_64",
        [
            *("-machine", "q35", "-nographic", "-serial", "null"),
            "-chardev",
            "null,id=compat_monitor0",
            NO_QMP,
        ],
    ),
    ("x86_64", ["-machine", "pc", "-display", "none", "-chardev", "null,id=serial0"]),
    ("x86_64", ["-machine", "pc", "-display", "none", "-chardev", "null,id=parallel0"]),
    ("aarch64", ["-machine", "virt", "-display", "none", "-chardev", "null,id=serial0"]),
    ("aarch64", ["-machine", "virt", "-nographic", "-daemonize"]),
    # a board's UART on a chardev in use: qdev_prop_set_chr()'s &error_abort
    *(
        (target, [*machine, "-nodefaults", "-display", "none", *taken, option, "chardev:c"])
        for target, machine in (("x86_64", ["-machine", "pc"]), ("aarch64", ["-machine", "virt"]))
        for taken in (["-chardev", "null,id=c", "-monitor", "chardev:c"],)
        for option in ("-serial", "-parallel")
        if (target, option) != ("aarch64", "-parallel")
    ),
    (
        "x86_64",
        [
            *("-machine", "q35", "-nodefaults", "-display", "none"),
            *("-chardev", "null,id=c,mux=on", *["-mon", "c"] * 4, "-serial", "chardev:c"),
        ],
    ),
    # serial_parse runs before parallel_parse, whatever the command line's order
    (
        "x86_64",
        [
            *("-machine", "pc", "-nodefaults", "-display", "none"),
            *("-parallel", "file:/nonexistent/x", "-serial", "file:/nonexistent/y"),
        ],
    ),
    # mon_init_func: a later monitor on a chardev an earlier one took (not a mux)
    *(
        ("x86_64", ["-machine", "q35", "-nodefaults", "-display", "none", *chardev, *mons])
        for chardev in (
            ["-chardev", "null,id=c"],
            ["-chardev", "socket,id=c,path={tmp}/c.sock,server=on,wait=off"],
        )
        for mons in (
            ["-mon", "c", "-mon", "c,mode=control"],
            ["-mon", "c,mode=control", "-mon", "c"],
        )
    ),
]


def _config(sock: str) -> str:
    return (
        f'[chardev "qmp0"]\n  backend = "socket"\n  path = "{sock}"\n'
        '  server = "on"\n  wait = "off"\n\n'
        '[mon]\n  mode = "control"\n  chardev = "qmp0"\n'
    )


def _memdevd(version: str, argv: Sequence[str], target: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "memdevd",
        "-memdevd",
        f"version={version},target={target}",
        *argv,
    ]


Call = Callable[[str, dict[str, Any] | None], Any]


def _session(cmd: list[str], sock: str, questions: Callable[[Call], Any]) -> Any:
    """Start ``cmd``, negotiate on its monitor at ``sock`` and answer
    ``questions(call)``; the process is killed afterwards."""
    proc = subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        connected = connect_monitor(sock, proc, time.monotonic() + TIMEOUT)
        if connected is None:
            proc.wait(TIMEOUT)
            assert proc.stderr is not None
            raise AssertionError(f"{cmd[0]} did not start: {proc.stderr.read().decode()}")
        with connected as s:
            s.settimeout(TIMEOUT)
            stream = s.makefile("rwb")
            stream.readline()

            def call(command: str, arguments: dict[str, Any] | None = None) -> Any:
                message: dict[str, Any] = {"execute": command}
                if arguments is not None:
                    message["arguments"] = arguments
                stream.write(json.dumps(message).encode() + b"\n")
                stream.flush()
                while True:
                    reply = json.loads(stream.readline())
                    if "event" not in reply:
                        return reply

            call("qmp_capabilities")
            return questions(call)
    finally:
        proc.kill()
        proc.communicate()


def _questions(target: str, tmp: str, machine: str) -> Callable[[Call], Any]:
    def ask(call: Call) -> Any:
        chardevs = call("query-chardev", None)["return"]
        seen: dict[str, Any] = {
            # (in QEMU's order: GLib's hash table of /chardevs)
            "query-chardev": [json.dumps(c, sort_keys=True).replace(tmp, "T") for c in chardevs],
            "peripheral-anon": call("qom-list", {"path": "/machine/peripheral-anon"}),
        }
        if machine != "none":
            # (7.2 makes /objects when it is first used: none does not)
            seen["objects"] = call("qom-list", {"path": "/objects"})
        unattached = call("qom-list", {"path": "/machine/unattached"})["return"]
        ports = {"child<isa-serial>", "child<isa-parallel>", "child<pl011>"}
        found = []
        for child in unattached:
            if child["type"] in ports:
                path = f"/machine/unattached/{child['name']}"
                chardev = call("qom-get", {"path": path, "property": "chardev"})
                found.append((child["type"], chardev))
        seen["ports"] = sorted(found, key=json.dumps)
        if target == "x86_64":
            seen["query-pci"] = call("query-pci", None)
        elif machine == "virt":
            # (the none machine's sysbus and io[0] are not modelled)
            seen["unattached"] = unattached
        return seen

    return ask


def _run(version: str, target: str, argv: list[str], ours: bool) -> Any:
    with tempfile.TemporaryDirectory(prefix="memdevd-defaults-") as tmp:
        sock = f"{tmp}/q.sock"
        config = Path(tmp, "qmp.cfg")
        config.write_text(_config(sock))
        full = [*COMMON, *(a.format(tmp=tmp) for a in argv), "-readconfig", str(config)]
        cmd = _memdevd(version, full, target) if ours else qemu_command(version, full, target)
        machine = argv[argv.index("-machine") + 1]
        return _session(cmd, sock, _questions(target, tmp, machine))


def _skip_missing(version: str, target: str) -> None:
    if qemu_binary(version, target) is None:
        pytest.skip(f"no QEMU {version} for {target}")


@pytest.mark.parametrize("version", QEMU_VERSIONS)
@pytest.mark.parametrize(("target", "argv"), CASES, ids=[f"{t}:{' '.join(a)}" for t, a in CASES])
def test_default_devices_as_qemu(version: str, target: str, argv: list[str]) -> None:
    _skip_missing(version, target)
    qemu = _run(version, target, argv, ours=False)
    assert _run(version, target, argv, ours=True) == qemu


def _failure(version: str, target: str, argv: list[str], ours: bool) -> tuple[int, str]:
    with tempfile.TemporaryDirectory(prefix="memdevd-defaults-") as tmp:
        # (a -qmp, but where the default monitor is the point: none)
        qmp = [] if NO_QMP in argv else ["-qmp", f"unix:{tmp}/q.sock,server=on,wait=off"]
        full = [*COMMON, *(a.format(tmp=tmp) for a in argv if a != NO_QMP), *qmp]
        cmd = _memdevd(version, full, target) if ours else qemu_command(version, full, target)
        done = subprocess.run(
            cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT, check=False
        )
        text = re.sub(r"^[^:\n]+: ", "PROG: ", done.stderr.decode(), flags=re.MULTILINE)
        return done.returncode, text


@pytest.mark.parametrize("version", QEMU_VERSIONS)
@pytest.mark.parametrize(
    ("target", "argv"), FAILURES, ids=[f"{t}:{' '.join(a)}" for t, a in FAILURES]
)
def test_default_device_errors_as_qemu(version: str, target: str, argv: list[str]) -> None:
    _skip_missing(version, target)
    qemu = _failure(version, target, argv, ours=False)
    assert qemu[0] != 0
    assert _failure(version, target, argv, ours=True) == qemu
