"""Displays and audio: memdevd against real QEMU 7.2 and 10.0, live.

Each case is a command line with ``-vnc``, ``-display``, ``-spice``,
``-vga``, ``-audiodev``... and the QMP commands a management tool sends
about them.  Both emulators run it the same way, through the corpus
harness's ``corpus_exec.py`` (as root: a private network namespace, so the
ports QEMU binds, 5900 + N, are the ones memdevd must bind, and QEMU 10.0
without Debian 7.2's module directory); the test compares whether it
started, its exit status and stderr (program name and run directory
normalised), stdout, and every reply.

A case whose command line is refused is the CLI check (text and status);
a case that starts shows what ``query-vnc``, ``query-vnc-servers``,
``query-spice``, ``query-display-options``, ``query-audiodevs``,
``set_password``/``expire_password``/``change-vnc-password`` and
``display-update``/``display-reload`` answer.  ``port_in_use`` occupies a
port in the host's namespace first.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from corpus_runner import EXEC_HELPER, PROG, _ask, _Closed, _connect, command
from live_qemu import QEMU_VERSIONS, qemu_binary

pytestmark = [pytest.mark.live_qemu]

BASE = ["-S", "-nodefaults", "-accel", "tcg", "-machine", "q35"]
JOBS = int(os.environ.get("MEMDEVD_LIVE_JOBS", "6"))

#: The questions every started case is asked after its own commands.
QUERIES: list[tuple[str, dict[str, Any] | None]] = [
    ("query-vnc", None),
    ("query-vnc-servers", None),
    ("query-spice", None),
    ("query-display-options", None),
    ("query-audiodevs", None),
]

Step = tuple[str, "dict[str, Any] | None"]

VNC_PASSWORD_STEPS: list[Step] = [
    ("set_password", {"protocol": "vnc", "password": "secret"}),
    ("set_password", {"protocol": "vnc", "password": "x", "connected": "fail"}),
    ("set_password", {"protocol": "vnc", "password": "x", "display": "nope"}),
    ("change-vnc-password", {"password": "other"}),
    ("expire_password", {"protocol": "vnc", "time": "+60"}),
    ("expire_password", {"protocol": "vnc", "time": "never"}),
    ("expire_password", {"protocol": "vnc", "time": "now", "display": "nope"}),
    ("expire_password", {"protocol": "vnc", "time": "soon"}),
    ("expire_password", {"protocol": "vnc", "time": "+12x"}),
    ("set_password", {"protocol": "spice", "password": "x"}),
    ("expire_password", {"protocol": "spice", "time": "now"}),
]

#: name -> (extra argv, QMP steps); "@TMPDIR@" is the run's directory.
CASES: dict[str, tuple[list[str], list[Step]]] = {
    # -vnc addresses and what QMP shows of them
    "vnc_display_1": (["-vnc", ":1"], VNC_PASSWORD_STEPS),
    "vnc_address": (["-vnc", "127.0.0.1:2"], []),
    "vnc_password": (["-vnc", "127.0.0.1:3,password=on"], VNC_PASSWORD_STEPS),
    "vnc_password_secret": (
        ["-object", "secret,id=s0,data=pw", "-vnc", ":4,password-secret=s0"],
        VNC_PASSWORD_STEPS,
    ),
    "vnc_password_secret_missing": (["-vnc", ":4,password-secret=nope"], []),
    "vnc_password_and_secret": (
        ["-object", "secret,id=s0,data=pw", "-vnc", ":4,password-secret=s0,password=on"],
        [],
    ),
    "vnc_localhost_to": (["-vnc", "localhost:5,to=8"], []),
    "vnc_unix": (["-vnc", "unix:@TMPDIR@/vnc.sock"], VNC_PASSWORD_STEPS),
    "vnc_websocket": (["-vnc", "127.0.0.1:6,websocket=on"], []),
    "vnc_websocket_port": (["-vnc", ":7,websocket=5790"], []),
    "vnc_two_ids": (["-vnc", ":1,id=main", "-vnc", ":2"], VNC_PASSWORD_STEPS),
    "vnc_none": (["-vnc", "none"], VNC_PASSWORD_STEPS),
    "vnc_duplicate_id": (["-vnc", ":1,id=a", "-vnc", ":2,id=a"], []),
    "vnc_three_default_ids": (["-vnc", ":1", "-vnc", ":2", "-vnc", ":3"], VNC_PASSWORD_STEPS),
    "vnc_share": (["-vnc", ":1,share=force-shared"], []),
    "vnc_share_bad": (["-vnc", ":1,share=bogus"], []),
    "vnc_no_port": (["-vnc", "127.0.0.1"], []),
    "vnc_port_empty": (["-vnc", "127.0.0.1:"], []),
    "vnc_port_not_number": (["-vnc", ":abc"], []),
    "vnc_port_range": (["-vnc", ":60000"], []),
    "vnc_unknown_key": (["-vnc", ":1,bogus=on"], []),
    "vnc_bad_bool": (["-vnc", ":1,password=maybe"], []),
    "vnc_same_port_twice": (["-vnc", ":1", "-vnc", ":1,id=two"], []),
    "vnc_tls_creds_missing": (["-vnc", ":1,tls-creds=nope"], []),
    "vnc_tls_authz_without_tls": (["-vnc", ":1,tls-authz=a"], []),
    "vnc_sasl_authz_without_sasl": (["-vnc", ":1,sasl-authz=a"], []),
    "vnc_audiodev_missing": (["-vnc", ":1,audiodev=nope"], []),
    "vnc_audiodev": (["-audiodev", "none,id=snd0", "-vnc", ":1,audiodev=snd0"], []),
    "vnc_display_device": (
        ["-device", "VGA,id=video0", "-vnc", ":1,display=video0"],
        [],
    ),
    "vnc_display_device_missing": (["-vnc", ":1,display=nope"], []),
    "vnc_keymap": (["-k", "de", "-vnc", ":1"], []),
    "vnc_keymap_missing": (["-k", "nope", "-vnc", ":1"], []),
    "vnc_display_update": (
        ["-vnc", ":1"],
        [
            (
                "display-update",
                {
                    "type": "vnc",
                    "addresses": [{"type": "inet", "host": "127.0.0.1", "port": "5909"}],
                },
            ),
            ("display-reload", {"type": "vnc", "tls-certs": True}),
        ],
    ),
    "vnc_help": (["-vnc", "help"], []),
    "vnc_websocket_unix": (["-vnc", ":1,websocket=unix:@TMPDIR@/ws.sock"], []),
    "vnc_unix_to": (["-vnc", "unix:@TMPDIR@/v.sock,to=3"], []),
    "vnc_websocket_no_port": (["-vnc", "127.0.0.1:1,127.0.0.1:2"], []),
    "vnc_ipv4_off_ipv6_off": (["-vnc", ":1,ipv4=off,ipv6=off"], []),
    "vnc_ipv6": (["-vnc", ":1,ipv6=on"], []),
    "vnc_reverse_refused": (["-vnc", "127.0.0.1:5999,reverse=on"], []),
    "vnc_connections": (["-vnc", ":1,connections=2,lossy=on,non-adaptive=on"], []),
    "vnc_tls_anon": (
        ["-object", "tls-creds-anon,id=t0,endpoint=server", "-vnc", ":1,tls-creds=t0"],
        [("display-reload", {"type": "vnc", "tls-certs": True}), *VNC_PASSWORD_STEPS],
    ),
    "vnc_tls_anon_password_websocket": (
        [
            "-object",
            "tls-creds-anon,id=t0,endpoint=server",
            "-vnc",
            ":1,tls-creds=t0,password=on,websocket=on",
        ],
        [],
    ),
    "vnc_tls_client_endpoint": (
        ["-object", "tls-creds-anon,id=t0,endpoint=client", "-vnc", ":1,tls-creds=t0"],
        [],
    ),
    "vnc_tls_not_creds": (["-object", "secret,id=t0,data=x", "-vnc", ":1,tls-creds=t0"], []),
    # -display, -nographic
    "display_none": (["-display", "none"], VNC_PASSWORD_STEPS),
    "display_vnc": (["-display", "vnc=:2"], []),
    "display_vnc_bad": (["-display", "vncx"], []),
    "display_default": ([], []),
    "display_gtk": (["-display", "gtk"], []),
    "display_sdl": (["-display", "sdl"], []),
    "display_egl_headless": (["-display", "egl-headless"], []),
    "display_unknown": (["-display", "bogus"], []),
    "display_help": (["-display", "help"], []),
    "display_curses": (["-display", "curses"], []),
    "display_dbus": (["-display", "dbus"], []),
    "display_spice_app": (["-display", "spice-app"], []),
    "display_egl_headless_gl": (["-display", "egl-headless,gl=on"], []),
    "display_none_json": (["-display", '{"type": "none", "gl": "off"}'], []),
    "display_none_gl": (["-display", "none,gl=on"], []),
    "display_window_close": (["-display", "none,window-close=off"], []),
    "nographic": (["-nographic"], []),
    # -vga and display devices
    "vga_std_pc": (["-machine", "pc", "-vga", "std", "-display", "none"], []),
    "vga_unknown": (["-vga", "bogus", "-display", "none"], []),
    "vga_help": (["-vga", "help", "-display", "none"], []),
    "vga_qxl": (["-vga", "qxl", "-display", "none"], []),
    "vga_machine_none": (["-machine", "none", "-vga", "std", "-display", "none"], []),
    "devices_display": (
        [
            "-display",
            "none",
            "-device",
            "bochs-display,id=b0",
            "-device",
            "virtio-gpu-pci,id=g0",
            "-device",
            "ramfb,id=r0",
            "-vnc",
            ":1,display=g0",
        ],
        [
            ("qom-get", {"path": "/machine/peripheral/b0", "property": "type"}),
            ("qom-get", {"path": "/machine/peripheral/r0", "property": "type"}),
            ("qom-get", {"path": "/machine/peripheral/r0", "property": "parent_bus"}),
        ],
    ),
    "vnc_display_ramfb_head": (
        ["-display", "none", "-device", "ramfb,id=r0", "-vnc", ":1,display=r0,head=1"],
        [],
    ),
    "vnc_display_ramfb": (
        ["-display", "none", "-device", "ramfb,id=r0", "-vnc", ":1,display=r0"],
        [],
    ),
    "vnc_display_virtio_heads": (
        [
            "-display",
            "none",
            "-device",
            "virtio-gpu-pci,id=g0,max_outputs=2",
            "-vnc",
            ":1,display=g0,head=1",
        ],
        [],
    ),
    "vnc_default_console_vga": (["-machine", "pc", "-vga", "std", "-vnc", ":1"], []),
    "ramfb_machine_none": (["-machine", "none", "-display", "none", "-device", "ramfb"], []),
    # -spice (7.2's build has the module, 10.0's reference build has not)
    "spice_port": (
        ["-display", "none", "-spice", "port=5930,addr=127.0.0.1,disable-ticketing=on"],
        VNC_PASSWORD_STEPS,
    ),
    "spice_ticketing": (
        ["-object", "secret,id=s0,data=pw", "-spice", "port=5931,password-secret=s0"],
        VNC_PASSWORD_STEPS,
    ),
    "spice_port_range": (["-spice", "port=70000"], []),
    "spice_unix": (
        ["-spice", "unix=on,addr=@TMPDIR@/spice.sock,disable-ticketing=on"],
        VNC_PASSWORD_STEPS,
    ),
    "spice_tls_port_without_certificates": (
        ["-spice", "tls-port=5932,x509-dir=@TMPDIR@,disable-ticketing=on"],
        [],
    ),
    "spice_and_vnc_on_one_port": (
        ["-spice", "port=5901,addr=127.0.0.1,disable-ticketing=on", "-vnc", "127.0.0.1:1"],
        [],
    ),
    "spice_password_deprecated": (["-spice", "port=5933,password=pw"], VNC_PASSWORD_STEPS),
    "spice_audiodev": (
        ["-spice", "port=5934,disable-ticketing=on", "-audiodev", "spice,id=a1"],
        [],
    ),
    "spice_secret_and_password": (
        ["-object", "secret,id=s0,data=pw", "-spice", "port=5931,password-secret=s0,password=x"],
        [],
    ),
    "spice_bad_compression": (["-spice", "port=5931,image-compression=bogus"], []),
    "spice_tls_channel_without_port": (["-spice", "port=5931,tls-channel=main"], []),
    # -audiodev
    "audiodev_none_wav": (
        [
            "-display",
            "none",
            "-audiodev",
            "none,id=a1",
            "-audiodev",
            "wav,id=a2,path=@TMPDIR@/out.wav,out.frequency=22050",
        ],
        [],
    ),
    "audiodev_no_id": (["-audiodev", "none"], []),
    "audiodev_unknown_driver": (["-audiodev", "bogus,id=a"], []),
    "audiodev_pa": (["-display", "none", "-audiodev", "pa,id=a"], []),
    "audiodev_spice_without_spice": (["-display", "none", "-audiodev", "spice,id=a"], []),
    "audiodev_fixed_settings": (
        ["-audiodev", "none,id=a,out.fixed-settings=off,out.frequency=8000"],
        [],
    ),
    "audiodev_help": (["-audiodev", "help"], []),
    "audiodev_ac97_missing": (["-display", "none", "-device", "AC97,audiodev=nope"], []),
}


@dataclass(frozen=True)
class Run:
    started: bool
    status: int | None
    stdout: str
    stderr: str
    answers: list[Any]


def _normalise(text: str, tmp: str) -> str:
    text = text.replace(tmp, "@TMPDIR@")
    # spice-app's fresh directory (g_dir_make_tmp: /tmp/.XXXXXX)
    text = re.sub(r"/tmp/\.[A-Za-z0-9]{6}/", "/tmp/.@RANDOM@/", text)
    return "\n".join(
        f"{PROG}: " + line.split(": ", 1)[1] if line.startswith("memdevd: ") else line
        for line in text.split("\n")
    )


def run(impl: str, release: str, case: str) -> Run:
    extra, steps = CASES[case]
    return run_argv(impl, release, extra, steps)


def run_argv(
    impl: str, release: str, extra: list[str], steps: list[Step], *, netns: bool = True
) -> Run:
    """Run ``BASE + extra`` (in a private network namespace unless ``netns``
    is false), ask ``steps`` then :data:`QUERIES` if it starts."""
    tmp = tempfile.mkdtemp(prefix="memdevd-display-live-")
    try:
        qmp = os.path.join(tmp, "qmp.sock")
        argv = [a.replace("@TMPDIR@", tmp) for a in [*BASE, *extra]]
        argv += ["-qmp", f"unix:{qmp},server=on,wait=off"]
        program, masks = command(impl, release, argv)
        spec = {"net": netns, "fds": [], "mask": masks}
        full = [sys.executable, "-I", str(EXEC_HELPER), json.dumps(spec), "--", *program]
        out_path, err_path = os.path.join(tmp, "out"), os.path.join(tmp, "err")
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen(
                full,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                cwd=tmp,
                env={**os.environ, "LC_ALL": "C"},
                start_new_session=True,
            )
        answers: list[Any] = []
        started = False
        status: int | None = None
        try:
            try:
                sock = _connect(qmp, proc, False)
            except OSError:
                sock = None
            if sock is not None:
                with sock:
                    buf = bytearray()
                    try:
                        _ask(sock, buf, "qmp_capabilities", None)
                        for execute, arguments in [*steps, *QUERIES]:
                            answers.append(_ask(sock, buf, execute, arguments))
                        started = True
                    except (_Closed, ConnectionError):
                        answers = []
                time.sleep(0.2)  # what is printed after the greeting
            if not started:
                status = proc.wait(30)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        with open(out_path, errors="replace") as f:
            stdout = f.read()
        with open(err_path, errors="replace") as f:
            stderr = f.read()
        norm_answers = json.loads(_normalise(json.dumps(answers), tmp))
        return Run(started, status, _normalise(stdout, tmp), _normalise(stderr, tmp), norm_answers)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _can_run(release: str) -> str | None:
    if qemu_binary(release) is None:
        return f"QEMU {release} is not installed"
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return "needs root (private network and mount namespaces)"
    return None


@pytest.fixture(scope="module")
def runs() -> dict[tuple[str, str, str], Run]:
    jobs = [
        (impl, release, case)
        for case in CASES
        for release in QEMU_VERSIONS
        if _can_run(release) is None
        for impl in ("qemu", "memdevd")
    ]
    with concurrent.futures.ThreadPoolExecutor(JOBS) as pool:
        futures = {job: pool.submit(run, *job) for job in jobs}
        return {job: f.result() for job, f in futures.items()}


@pytest.mark.parametrize("release", QEMU_VERSIONS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_display_case(runs: dict[tuple[str, str, str], Run], case: str, release: str) -> None:
    reason = _can_run(release)
    if reason is not None:
        pytest.skip(reason)
    real = runs[("qemu", release, case)]
    ours = runs[("memdevd", release, case)]
    assert (ours.started, ours.status) == (real.started, real.status), (real, ours)
    assert ours.stderr == real.stderr
    assert ours.stdout == real.stdout
    steps = [name for name, _ in [*CASES[case][1], *QUERIES]] if real.started else []
    for name, want, have in zip(steps, real.answers, ours.answers, strict=True):
        assert have == want, f"{name}: QEMU {want}, memdevd {have}"


def _free_display() -> tuple[int, socket.socket]:
    """A display number whose port 5900+N this process holds (listening)."""
    for n in range(40, 99):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", 5900 + n))
            sock.listen(1)
        except OSError:
            sock.close()
            continue
        return n, sock
    raise RuntimeError("no free VNC port")


@pytest.mark.parametrize("release", QEMU_VERSIONS)
def test_port_in_use(release: str) -> None:
    """A VNC port another program listens on: QEMU's text and exit status."""
    reason = _can_run(release)
    if reason is not None:
        pytest.skip(reason)
    n, holder = _free_display()
    with holder:
        argv = ["-display", "none", "-vnc", f"127.0.0.1:{n}"]
        real = run_argv("qemu", release, argv, [], netns=False)
        ours = run_argv("memdevd", release, argv, [], netns=False)
    assert real.status == 1 and not real.started
    assert "Failed to find an available port: Address already in use" in real.stderr
    assert (ours.started, ours.status, ours.stderr) == (real.started, real.status, real.stderr)


def _client_session(impl: str, release: str, n: int, unix: bool = False) -> list[Any]:
    """Start ``-vnc 127.0.0.1:N`` in the host's namespace, connect a VNC
    client, and return what a QMP client sees: the RFB banner, query-vnc
    with the client, the VNC_CONNECTED event, query-vnc-servers, then the
    client hangs up: VNC_DISCONNECTED and query-vnc."""
    from corpus_runner import _readline

    tmp = tempfile.mkdtemp(prefix="memdevd-display-live-")
    qmp = os.path.join(tmp, "qmp.sock")
    vnc = os.path.join(tmp, "vnc.sock")
    where = f"unix:{vnc}" if unix else f"127.0.0.1:{n}"
    argv = [*BASE, "-display", "none", "-vnc", f"{where},share=force-shared"]
    argv += ["-qmp", f"unix:{qmp},server=on,wait=off"]
    program, masks = command(impl, release, argv)
    spec = {"net": False, "fds": [], "mask": masks}
    full = [sys.executable, "-I", str(EXEC_HELPER), json.dumps(spec), "--", *program]
    proc = subprocess.Popen(
        full,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp,
        start_new_session=True,
    )
    seen: list[Any] = []
    try:
        sock = _connect(qmp, proc, False)
        assert sock is not None, f"{impl} {release} did not start"
        with sock:
            buf = bytearray()
            _ask(sock, buf, "qmp_capabilities", None)
            if unix:
                client = socket.socket(socket.AF_UNIX)
                client.connect(vnc)
                port = "@NONE@"
            else:
                client = socket.create_connection(("127.0.0.1", 5900 + n), timeout=5)
                port = str(client.getsockname()[1])
            seen.append(client.recv(12))

            def event(name: str) -> Any:
                while True:
                    msg = json.loads(_readline(sock, buf))
                    if msg.get("event") == name:
                        return msg["data"]

            seen.append(event("VNC_CONNECTED"))
            seen.append(_ask(sock, buf, "query-vnc", None))
            seen.append(_ask(sock, buf, "query-vnc-servers", None))
            client.close()
            seen.append(event("VNC_DISCONNECTED"))
            seen.append(_ask(sock, buf, "query-vnc", None))
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    text = json.dumps(seen, default=repr).replace(f'"{port}"', '"@CLIENT_PORT@"')
    return json.loads(text.replace(tmp, "@TMPDIR@"))


@pytest.mark.parametrize("unix", [False, True], ids=["tcp", "unix"])
@pytest.mark.parametrize("release", QEMU_VERSIONS)
def test_client_connects_and_hangs_up(release: str, unix: bool) -> None:
    """A VNC client that reads the banner and goes: the same events and
    client lists as QEMU's (the client's port aside)."""
    reason = _can_run(release)
    if reason is not None:
        pytest.skip(reason)
    # The port is let go for QEMU to bind: a process of the other xdist
    # worker can take it meanwhile, and QEMU exits after its monitor came up
    # (a reset QMP connection). One more display, then the error stands.
    for attempt in (1, 2):
        n, holder = _free_display()
        holder.close()
        try:
            real = _client_session("qemu", release, n, unix)
            break
        except (ConnectionError, AssertionError):
            if attempt == 2:
                raise
    ours = _client_session("memdevd", release, n, unix)
    assert real[0] == "b'RFB 003.008\\n'"
    assert ours == real
