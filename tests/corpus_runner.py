"""Run a corpus entry's command line on real QEMU or on memdevd and record what happens.

Owns the corpus (``tests/corpus/{libvirt,handwritten}/*.json``, format and
placeholders in tests/corpus/README.md), turning an entry into a runnable
command line (temporary files, descriptors, ports), running it, asking the
running emulator the questions of :data:`QUERIES`, and the normalisation
that makes two runs comparable.  ``tests/conformance/test_corpus_live.py``
compares real QEMU with memdevd on every entry; ``python
tests/corpus_runner.py`` prints what each does (the table in the README).

One run (:func:`run`):

1. a temporary directory stands for ``@TMPDIR@``; the entry's ``files`` are
   created in it (``qemu-img create`` for images);
2. ``@FD:NAME@`` placeholders become fixed descriptor numbers (20, 21, ...
   in order of appearance), set up by ``corpus_exec.py`` just before the
   exec: a listening unix socket in @TMPDIR@ for ``unix-listen``, a real tap
   for ``tap`` (QEMU checks with TUNGETIFF);
3. as root, the run gets a private network namespace (taps, ports) and, for
   QEMU 10.0, a private mount namespace hiding Debian 7.2's module
   directory (tests/conformance/test_capabilities_live.py says why); then
   ``@VNC_DISPLAY@`` is 0 and ``@PORT:NAME@`` 5901, 5902, ...; without root
   free ports are picked, and entries needing taps or 10.0 are not run;
4. the command line gets ``-S`` if it lacks it and a QMP socket of the
   harness's own (``-qmp unix:@TMPDIR@/harness-qmp.sock,server=on,wait=off``);
5. the outcome: if the process exits (or closes the QMP connection) before
   the QMP greeting, its exit status and stderr; otherwise the answers to
   :data:`QUERIES` (only those the real QEMU of that release has: see
   :func:`compared_commands`) and what it printed by then.  ``-daemonize``
   entries are followed through their ``-pidfile``.

Normalisation (:func:`normalise`), and nothing else:

* ``@TMPDIR@`` for the run's directory, ``/dev/pts/@PTY@`` for pty numbers;
* the program name at the start of an error line (``memdevd:`` ->
  ``qemu-system-x86_64:``) and the time stamps ``-msg timestamp=on`` puts
  before error lines;
* ``@PORT@`` for a port chosen per run (only without a network namespace);
* ``@THREAD_ID@`` for ``query-iothreads``' thread ids;
* ``@RND@`` for the two random digits that end QEMU's generated node names
  (``#block194`` -> ``#block1@RND@``);
* ``qom-list`` sorted by name and ``query-memdev`` by id (QEMU lists both
  in GLib hash-table order, memdevd in a stable one: docs/divergences.md).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from live_qemu import QEMU_VERSIONS, qemu_binary

CORPUS = Path(__file__).resolve().parent / "corpus"
EXEC_HELPER = Path(__file__).resolve().parent / "corpus_exec.py"
REPO = Path(__file__).resolve().parents[1]
MODULE_DIR = "/usr/lib/x86_64-linux-gnu/qemu"
PROG = "qemu-system-x86_64"
START_TIMEOUT = 30.0
REPLY_TIMEOUT = 30.0
FIRST_FD = 20

#: The questions asked of a started emulator: (label, command, arguments).
#: Only those the real QEMU of the release knows are compared.
QUERIES: tuple[tuple[str, str, dict[str, Any] | None], ...] = (
    ("query-status", "query-status", None),
    ("query-block", "query-block", None),
    ("query-named-block-nodes", "query-named-block-nodes", None),
    ("query-pci", "query-pci", None),
    ("query-chardev", "query-chardev", None),
    ("qom-list /machine/peripheral", "qom-list", {"path": "/machine/peripheral"}),
    ("qom-list /machine/peripheral-anon", "qom-list", {"path": "/machine/peripheral-anon"}),
    ("query-memory-devices", "query-memory-devices", None),
    ("query-memdev", "query-memdev", None),
    ("query-iothreads", "query-iothreads", None),
    ("query-balloon", "query-balloon", None),
    ("query-rx-filter", "query-rx-filter", None),
    ("query-mice", "query-mice", None),
    ("query-vnc", "query-vnc", None),
    ("query-spice", "query-spice", None),
    ("query-display-options", "query-display-options", None),
)


# --------------------------------------------------------------------------
# The corpus


@dataclass(frozen=True)
class Entry:
    """One corpus file: ``name`` is ``libvirt/virt-install-q35-7.2`` etc."""

    name: str
    path: Path
    data: dict[str, Any]

    @property
    def argv(self) -> list[str]:
        return list(self.data["argv"])

    @property
    def fds(self) -> dict[str, dict[str, Any]]:
        return dict(self.data.get("fds", {}))

    @property
    def files(self) -> dict[str, dict[str, Any]]:
        return dict(self.data.get("files", {}))


def load_entries() -> list[Entry]:
    entries = []
    for path in sorted(CORPUS.glob("*/*.json")):
        name = f"{path.parent.name}/{path.stem}"
        entries.append(Entry(name, path, json.loads(path.read_text())))
    return entries


PLACEHOLDER_RE = re.compile(r"@(?:TMPDIR|VNC_DISPLAY|PORT:[\w.-]+|FD:[\w.-]+)@")


def placeholders(entry: Entry) -> set[str]:
    """Every placeholder the argv uses (@TMPDIR@ once for any path in it)."""
    return {m.group(0) for arg in entry.argv for m in PLACEHOLDER_RE.finditer(arg)}


# --------------------------------------------------------------------------
# Running


@dataclass
class Outcome:
    """What one command line did: started (answers) or not (status, stderr)."""

    started: bool
    status: int | None  # exit status when it did not start; None if it did
    stderr: str
    stdout: str
    answers: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None  # why this run could not be made here
    seconds: float = 0.0

    def summary(self) -> str:
        if self.skipped:
            return f"not run: {self.skipped}"
        if self.started:
            return "starts"
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        return f"exits {self.status}: {lines[0] if lines else ''}"

    def comparable(self, commands: set[str] | None = None) -> dict[str, Any]:
        """The parts compared, answers restricted to ``commands`` (labels)."""
        answers = {k: v for k, v in self.answers.items() if commands is None or k in commands}
        return {
            "started": self.started,
            "status": self.status,
            "stderr": self.stderr,
            "stdout": self.stdout,
            "answers": answers,
        }


def is_root() -> bool:
    return os.geteuid() == 0


@functools.cache
def empty_dir() -> str:
    path = tempfile.mkdtemp(prefix="memdevd-corpus-empty-")
    atexit.register(shutil.rmtree, path, True)
    return path


def why_not_runnable(entry: Entry, release: str) -> str | None:
    """Why ``entry`` cannot be run for ``release`` on this host, or None."""
    if qemu_binary(release) is None:
        return f"QEMU {release} is not installed"
    if release != "7.2" and not is_root():
        return f"QEMU {release} needs its module directory hidden: root"
    if any(d.get("kind") == "tap" for d in entry.fds.values()) and not is_root():
        return "its tap descriptors need root (a tap in a private network namespace)"
    if shutil.which("qemu-img") is None and any(
        f.get("create") in ("qcow2", "raw") for f in entry.files.values()
    ):
        return "qemu-img is not installed"
    return None


# Ports handed out to runs without a network namespace: never twice in one
# process, or two parallel runs could pick the same free port.
_GIVEN_PORTS: set[int] = set()
_PORTS_LOCK = threading.Lock()


def _unused(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(first: int = 20000, last: int = 30000) -> int:
    """A free TCP port on 127.0.0.1 not given to another run of this process."""
    with _PORTS_LOCK:
        for port in range(first, last):
            if port not in _GIVEN_PORTS and _unused(port):
                _GIVEN_PORTS.add(port)
                return port
    raise RuntimeError(f"no free port in {first}-{last}")


def create_files(entry: Entry, tmp: str) -> None:
    for key, spec in entry.files.items():
        path = key.replace("@TMPDIR@", tmp)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        kind = spec["create"]
        if kind in ("qcow2", "raw"):
            subprocess.run(
                ["qemu-img", "create", "-q", "-f", kind, path, spec["size"]],
                check=True,
                capture_output=True,
            )
        elif kind == "zero":
            with open(path, "wb") as f:
                f.truncate(parse_size(spec["size"]))
        elif kind == "hex":
            Path(path).write_bytes(bytes.fromhex(spec["hex"]))
        elif kind == "random":
            Path(path).write_bytes(os.urandom(parse_size(spec["size"])))
        elif kind == "dir":
            os.makedirs(path, exist_ok=True)
        elif kind == "script":
            Path(path).write_text(spec.get("text", "#!/bin/sh\nexit 0\n"))
            os.chmod(path, 0o755)
        elif kind == "text":
            Path(path).write_text(spec["text"])
        else:
            raise ValueError(f"{entry.name}: unknown file kind {kind!r}")


def parse_size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)


@dataclass
class Prepared:
    """A runnable command line for one run of an entry."""

    argv: list[str]
    spec: dict[str, Any]
    ports: dict[str, int]
    qmp_path: str
    pidfile: str | None


def prepare(entry: Entry, tmp: str, netns: bool) -> Prepared:
    """Substitute the placeholders of ``entry`` for a run in ``tmp``."""
    fd_numbers: dict[str, int] = {}
    fds: list[dict[str, Any]] = []
    ports: dict[str, int] = {}

    def fd_for(name: str) -> str:
        if name not in fd_numbers:
            number = FIRST_FD + len(fd_numbers)
            fd_numbers[name] = number
            decl = dict(entry.fds[name])
            item: dict[str, Any] = {"fd": number, "kind": decl["kind"]}
            if decl["kind"] == "unix-listen":
                item["path"] = os.path.join(tmp, f"fd-{name.strip('@').split(':')[1]}.sock")
            elif decl["kind"] == "tap":
                item["vnet_hdr"] = bool(decl.get("vnet_hdr"))
            fds.append(item)
        return str(fd_numbers[name])

    def port_for(token: str) -> str:
        if token == "@VNC_DISPLAY@":
            if token not in ports:
                ports[token] = 5900 if netns else free_port(6000, 6900)
            return str(ports[token] - 5900)
        if token not in ports:
            ports[token] = 5901 + len(ports) if netns else free_port()
        return str(ports[token])

    def sub(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "@TMPDIR@":
            return tmp
        if token.startswith("@FD:"):
            return fd_for(token)
        return port_for(token)

    argv = [PLACEHOLDER_RE.sub(sub, arg) for arg in entry.argv]
    if "-S" not in argv:
        argv.append("-S")
    qmp_path = os.path.join(tmp, "harness-qmp.sock")
    argv += ["-qmp", f"unix:{qmp_path},server=on,wait=off"]
    pidfile = None
    if "-daemonize" in argv and "-pidfile" in argv:
        pidfile = argv[argv.index("-pidfile") + 1]
    spec: dict[str, Any] = {"net": netns, "fds": fds}
    return Prepared(argv, spec, ports, qmp_path, pidfile)


def command(impl: str, release: str, argv: Sequence[str]) -> tuple[list[str], list[list[str]]]:
    """(program + args, mount masks) for ``impl`` ("memdevd" or "qemu...")."""
    if impl == "memdevd":
        return [sys.executable, "-m", "memdevd", "-memdevd", f"version={release}", *argv], []
    binary = qemu_binary(release)
    assert binary is not None
    masks = [[empty_dir(), MODULE_DIR]] if release != "7.2" else []
    return [binary, *argv], masks


def _read(path: str) -> str:
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return ""


class _Closed(Exception):
    """The emulator closed the QMP connection (it is exiting)."""


def _connect(path: str, proc: subprocess.Popen[bytes], daemonize: bool) -> socket.socket | None:
    """A connection that has read the greeting; None if the emulator exits first."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        status = proc.poll()
        if status is not None and (not daemonize or status != 0):
            return None
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
        except OSError:
            sock.close()
            time.sleep(0.01)
            continue
        sock.settimeout(START_TIMEOUT)
        try:
            line = _readline(sock, bytearray())
        except (_Closed, OSError):
            sock.close()
            return None
        if b'"QMP"' in line:
            sock.settimeout(REPLY_TIMEOUT)
            return sock
        sock.close()
        return None
    raise TimeoutError(f"no QMP greeting within {START_TIMEOUT} s")


def _readline(sock: socket.socket, buf: bytearray) -> bytes:
    while b"\n" not in buf:
        chunk = sock.recv(1 << 16)
        if not chunk:
            raise _Closed()
        buf += chunk
    index = buf.index(b"\n")
    line = bytes(buf[: index + 1])
    del buf[: index + 1]
    return line


def _ask(sock: socket.socket, buf: bytearray, execute: str, arguments: Any) -> Any:
    message: dict[str, Any] = {"execute": execute}
    if arguments is not None:
        message["arguments"] = arguments
    sock.sendall(json.dumps(message).encode() + b"\n")
    while True:
        reply = json.loads(_readline(sock, buf))
        if "event" not in reply:
            return reply


def _kill_pidfile(pidfile: str | None, tmp: str) -> None:
    """Kill the daemon named by ``pidfile`` if it is one of this run's."""
    if pidfile is None:
        return
    text = _read(pidfile).strip()
    if not text.isdigit():
        return
    pid = int(text)
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if tmp.encode() not in f.read():
                return
        os.kill(pid, signal.SIGKILL)
    except OSError:
        return
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                if f.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                    return
        except OSError:
            return
        time.sleep(0.01)


@contextlib.contextmanager
def _tmpdir() -> Iterator[str]:
    tmp = tempfile.mkdtemp(prefix="memdevd-corpus-")
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(entry: Entry, release: str, impl: str) -> Outcome:
    """Run ``entry`` on memdevd (``impl`` "memdevd") or the real QEMU of ``release``."""
    reason = why_not_runnable(entry, release)
    if reason is not None:
        return Outcome(False, None, "", "", skipped=reason)
    netns = is_root() and shutil.which("unshare") is not None
    t0 = time.monotonic()
    with _tmpdir() as tmp:
        create_files(entry, tmp)
        prepared = prepare(entry, tmp, netns)
        program, masks = command(impl, release, prepared.argv)
        spec = {**prepared.spec, "mask": masks}
        full = [sys.executable, "-I", str(EXEC_HELPER), json.dumps(spec), "--", *program]
        stderr_path = os.path.join(tmp, "harness-stderr")
        stdout_path = os.path.join(tmp, "harness-stdout")
        env = {**os.environ, "LC_ALL": "C"}
        with open(stderr_path, "wb") as err, open(stdout_path, "wb") as out:
            proc = subprocess.Popen(
                full,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                cwd=tmp,
                env=env,
                start_new_session=True,
            )
        answers: dict[str, Any] = {}
        started = False
        status: int | None = None
        note = ""  # what went wrong on the harness's side, appended to stderr
        try:
            try:
                sock = _connect(prepared.qmp_path, proc, prepared.pidfile is not None)
            except TimeoutError as exc:
                sock, note = None, f"[corpus_runner: {exc}]\n"
            if sock is not None:
                with sock:
                    buf = bytearray()
                    label = "qmp_capabilities"
                    try:
                        _ask(sock, buf, "qmp_capabilities", None)
                        for label, execute, arguments in QUERIES:
                            answers[label] = _ask(sock, buf, execute, arguments)
                        started = True
                    except _Closed:
                        answers = {}
                    except OSError as exc:  # no reply in time: the rest is not asked
                        answers[label] = {"harness-error": f"no reply: {exc}"}
                        started = True
            if not started and not note:
                try:
                    status = proc.wait(START_TIMEOUT)
                except subprocess.TimeoutExpired:
                    note = "[corpus_runner: closed QMP but did not exit]\n"
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            _kill_pidfile(prepared.pidfile, tmp)
        outcome = Outcome(
            started,
            status,
            _read(stderr_path) + note,
            _read(stdout_path),
            answers,
            seconds=time.monotonic() - t0,
        )
        # In a network namespace the ports are fixed: nothing to normalise.
        return normalise(outcome, tmp, {} if netns else prepared.ports)


# --------------------------------------------------------------------------
# Normalisation

TIMESTAMP_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z ", re.M)
PTY_RE = re.compile(r"/dev/pts/\d+")
PROGRAM_RE = re.compile(r"^memdevd: ", re.M)


# QEMU's generated ids (id_generate()): "#", the subsystem, a counter and
# two random digits.
GENERATED_ID_RE = re.compile(r"#(qdev|block|pci)(\d+)\d\d\b")


def _text(text: str, tmp: str) -> str:
    text = text.replace(tmp, "@TMPDIR@")
    text = GENERATED_ID_RE.sub(r"#\1\2@RND@", text)
    return PTY_RE.sub("/dev/pts/@PTY@", text)


def _walk(value: Any, tmp: str) -> Any:
    if isinstance(value, str):
        return _text(value, tmp)
    if isinstance(value, list):
        return [_walk(v, tmp) for v in value]
    if isinstance(value, dict):
        return {k: _walk(v, tmp) for k, v in value.items()}
    return value


def normalise(outcome: Outcome, tmp: str, ports: dict[str, int]) -> Outcome:
    """Only what must differ between two runs (module docstring)."""
    stderr = TIMESTAMP_RE.sub("", outcome.stderr)
    stderr = PROGRAM_RE.sub(f"{PROG}: ", stderr)
    answers = {}
    chosen = {str(p) for p in ports.values()}
    for label, reply in outcome.answers.items():
        reply = _walk(reply, tmp)
        result = reply.get("return")
        if label.startswith("qom-list") and isinstance(result, list):
            reply = {**reply, "return": sorted(result, key=lambda p: p.get("name", ""))}
        elif label == "query-memdev" and isinstance(result, list):
            reply = {**reply, "return": sorted(result, key=lambda m: m.get("id", ""))}
        elif label == "query-iothreads" and isinstance(result, list):
            reply = {**reply, "return": [{**t, "thread-id": "@THREAD_ID@"} for t in result]}
        elif label in ("query-vnc", "query-spice") and isinstance(result, dict) and chosen:
            for key in ("service", "port", "tls-port"):
                if str(result.get(key)) in chosen:
                    result = {**result, key: "@PORT@"}
            reply = {**reply, "return": result}
        answers[label] = reply
    return Outcome(
        outcome.started,
        outcome.status,
        _text(stderr, tmp),
        _text(outcome.stdout, tmp),
        answers,
        outcome.skipped,
        outcome.seconds,
    )


# --------------------------------------------------------------------------
# Running everything


def _run_safely(entry: Entry, release: str, impl: str) -> Outcome:
    """:func:`run`, with a harness failure as the outcome (it then differs
    from the other side's and the test says why) rather than an exception
    that would fail every test of the module."""
    try:
        return run(entry, release, impl)
    except Exception as exc:
        return Outcome(False, None, f"[corpus_runner: {exc!r}]\n", "")


#: What :func:`run_all` runs: real QEMU, memdevd, and real QEMU a second
#: time (two runs of QEMU must compare equal: the normalisation is enough).
IMPLS: tuple[str, ...] = ("qemu", "memdevd", "qemu-again")


def run_all(
    entries: Sequence[Entry],
    releases: Sequence[str] = QEMU_VERSIONS,
    workers: int = 4,
    impls: Sequence[str] = IMPLS,
) -> dict[tuple[str, str, str], Outcome]:
    """Every (entry, release, impl) run, ``workers`` at a time."""
    import concurrent.futures

    jobs = [(e, r, impl) for e in entries for r in releases for impl in impls]
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        futures = {(e.name, r, impl): pool.submit(_run_safely, e, r, impl) for e, r, impl in jobs}
        return {key: future.result() for key, future in futures.items()}


def compared_commands(real: Outcome) -> set[str]:
    """The QUERIES labels the real QEMU answered (not CommandNotFound)."""
    return {
        label
        for label, reply in real.answers.items()
        if reply.get("error", {}).get("class") != "CommandNotFound"
    }


def main() -> int:
    """Print, per entry and release, what real QEMU and memdevd do (markdown)."""
    entries = load_entries()
    t0 = time.monotonic()
    results = run_all(entries, impls=("qemu", "memdevd"))
    print("| entry | release | real QEMU | memdevd |")
    print("|---|---|---|---|")
    for entry in entries:
        for release in QEMU_VERSIONS:
            real = results[(entry.name, release, "qemu")]
            ours = results[(entry.name, release, "memdevd")]
            cell = lambda o: o.summary().replace("|", "\\|")  # noqa: E731
            print(f"| {entry.name} | {release} | {cell(real)} | {cell(ours)} |")
    print(f"\n{len(results)} runs in {time.monotonic() - t0:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
