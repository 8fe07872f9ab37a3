"""A private libvirtd for end-to-end tests: libvirt 9.0 driving an emulator.

Owns running Debian 12's libvirtd (9.0, monolithic daemon) and virtlogd
fully isolated from the host's libvirt: their own configuration, state,
cache, logs and sockets, in one temporary directory that is removed
afterwards together with every process the daemons started (emulators,
capability probes).  Also owns the test domain XML (``domain.xml`` and the
memory device snippets in ``memory/`` beside this file), the ``virsh``
helpers the tests use, and reading libvirtd's monitor debug log back as QMP
messages.

Isolation: a private mount namespace (``unshare --mount --propagation
private``) is held by a small *anchor* process (this file run as a script);
in it, directories of the temporary root are bind-mounted over the paths
libvirt's system mode hard-codes::

    ROOT/etc    -> /etc/libvirt         (a copy of the installed configuration)
    ROOT/lib    -> /var/lib/libvirt     (domain dirs, monitor sockets, master keys)
    ROOT/cache  -> /var/cache/libvirt   (the QEMU capabilities cache)
    ROOT/log    -> /var/log/libvirt     (domain logs written by virtlogd)
    ROOT/run    -> /run                 (sockets, pid files, /run/libvirt/qemu)

``/run`` as a whole rather than ``/run/libvirt``: on a host without systemd
``/run/libvirt`` does not exist, and creating it as a mount point would
leave it behind; libvirtd and virtlogd also write their pid files directly
in ``/run``.  virtlogd and libvirtd are entered into the namespace with
``nsenter`` and run in the foreground as children of the test process,
tracked by pid.  Clients stay outside: ``virsh`` connects to
``ROOT/run/libvirt/libvirt-sock`` (the same inode as ``/run/libvirt/...``
inside) via :attr:`LibvirtHarness.uri`.

Everything libvirt starts inherits the namespace, so "what did we leave
running" is exactly "which processes share the anchor's mount namespace".
If the test process dies, the anchor sees EOF on its stdin, kills every
process in the namespace and removes the temporary root.

Only libvirt's QEMU driver module is loaded (``LIBVIRT_DRIVER_DIR`` points
at a directory holding just ``libvirt_driver_qemu.so``): the network and
nwfilter drivers would otherwise probe the host's firewall at start-up, and
nothing here uses them.  Test domains therefore have no NICs.

Needs root, ``unshare``/``nsenter``/``mount`` (util-linux) and the Debian
packages installed by ``tools/install-test-deps.sh``;
:func:`unavailable_reason` says why not when something is missing.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

HERE = Path(__file__).resolve().parent
DOMAIN_TEMPLATE = HERE / "domain.xml"
WHOLE_VM_TEMPLATE = HERE / "vm" / "virt-install.xml"
MEMORY_DEVICE_DIR = HERE / "memory"
MEMORY_DEVICE_KINDS: tuple[str, ...] = ("dimm", "virtio-mem", "nvdimm", "virtio-pmem")

# Debian installs the daemons in /usr/sbin, which a non-root PATH may lack.
SEARCH_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# The host paths libvirt 9.0's system mode uses, and the ROOT subdirectory
# bound over each (see the module docstring).
BIND_MOUNTS: tuple[tuple[str, str], ...] = (
    ("etc", "/etc/libvirt"),
    ("lib", "/var/lib/libvirt"),
    ("cache", "/var/cache/libvirt"),
    ("log", "/var/log/libvirt"),
    ("run", "/run"),
)

# Additions to the installed qemu.conf (the same as in the captured setup
# plus user/group):
# - security_driver "none": no AppArmor/SELinux labelling (none in a container).
# - cgroup_controllers/namespaces empty: no cgroup placement and no private
#   /dev per domain, which a container without systemd cannot provide.
# - user/group "root" unless a test asks for Debian's default, libvirt-qemu
#   (DEBIAN_QEMU_USER).  libvirt checks /dev/kvm access as that user, but
#   runs its capability probe with CAP_DAC_OVERRIDE (PROBE_CAPS), so on a
#   host whose /dev/kvm only root may open (containers without udev's
#   root:kvm 0660) libvirt-qemu's probe reports KVM, libvirt's check says
#   no, and every lookup finds the cache invalid and probes again (~2 s
#   each, the same with real QEMU): root keeps the tests' view consistent
#   and quick wherever root can use KVM.  See tests/kvm_host.py and
#   expected_probe_sessions().
QEMU_CONF_ADDITIONS = """
# --- added by tests/libvirt/libvirt_harness.py ---
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
user = "{user}"
group = "{group}"
"""

# The user Debian's libvirt runs emulators as (qemu.conf's commented default).
DEBIAN_QEMU_USER = "libvirt-qemu"
# What libvirt 9.0 grants its capability probe beyond that user's rights
# (qemuProcessQMPLaunch: virCommandAllowCap(cmd, CAP_DAC_OVERRIDE)), as
# setpriv names it.
PROBE_CAPS: tuple[str, ...] = ("dac_override",)

# Debug messages of the QEMU driver parts that show the QMP traffic
# (qemu_monitor*), the process and probe lifecycle; warnings from the rest.
LOG_FILTERS = (
    "1:qemu.qemu_monitor 1:qemu.qemu_monitor_json 1:qemu.qemu_process "
    "1:qemu.qemu_capabilities 1:qemu.qemu_hotplug 1:qemu.qemu_driver 3:*"
)

# How long a daemon gets between SIGTERM and SIGKILL.  libvirtd needs ~1 s to
# shut its workers down.
STOP_GRACE = 15.0


class HarnessError(RuntimeError):
    """The harness could not set up, run or clean up libvirt."""


class VirshError(HarnessError):
    """A virsh command failed; the message carries the daemon and domain logs."""

    def __init__(self, message: str, result: subprocess.CompletedProcess[str]) -> None:
        super().__init__(message)
        self.result = result


# --------------------------------------------------------------------------
# Availability


def find_program(name: str) -> str | None:
    """``name`` on PATH or in the sbin directories."""
    return shutil.which(name, path=os.environ.get("PATH", "") + ":" + SEARCH_PATH)


def qemu_driver_module() -> str | None:
    """Path of libvirt's QEMU driver module (multiarch directory)."""
    hits = sorted(glob.glob("/usr/lib/*/libvirt/connection-driver/libvirt_driver_qemu.so"))
    return hits[0] if hits else None


@functools.cache
def unavailable_reason() -> str | None:
    """Why a private libvirtd cannot run here, or None if it can (checked once)."""
    if os.geteuid() != 0:
        return "needs root (bind mounts, libvirt's system mode)"
    for program in ("libvirtd", "virtlogd", "virsh", "unshare", "nsenter", "mount"):
        if find_program(program) is None:
            return f"{program} not installed (sh tools/install-test-deps.sh as root)"
    if qemu_driver_module() is None:
        return "libvirt's QEMU driver is not installed (libvirt-daemon-driver-qemu)"
    unshare = find_program("unshare")
    assert unshare is not None
    try:
        probe = subprocess.run(
            [unshare, "--mount", "--propagation", "private", "true"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unshare --mount failed: {exc}"
    if probe.returncode != 0:
        return f"unshare --mount failed (no CAP_SYS_ADMIN?): {probe.stderr.strip()}"
    return None


# --------------------------------------------------------------------------
# Processes and namespaces


def _mount_ns(pid: int | str) -> tuple[int, int] | None:
    """Identity (device, inode) of a process's mount namespace; None if gone."""
    try:
        st = os.stat(f"/proc/{pid}/ns/mnt")
    except OSError:  # exited, or a zombie (no namespaces left)
        return None
    return (st.st_dev, st.st_ino)


def _alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    # The state follows the parenthesised command name, which may contain ")".
    return stat[stat.rindex(b")") + 2 : stat.rindex(b")") + 3] not in (b"Z", b"X")


def processes_in_namespace(ns: tuple[int, int]) -> list[int]:
    """Live pids whose mount namespace is ``ns``."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and _mount_ns(entry) == ns and _alive(int(entry)):
            pids.append(int(entry))
    return sorted(pids)


def process_cmdline(pid: int) -> str:
    """The command line of ``pid`` for messages ("?" if gone)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def terminate_pids(pids: Iterable[int], grace: float = STOP_GRACE) -> list[int]:
    """SIGTERM ``pids``, SIGKILL what is left after ``grace``; returns survivors.

    Works for processes that are not our children (emulators are re-parented
    by libvirt's double fork): liveness is polled through /proc.
    """
    pids = [p for p in pids if _alive(p)]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.05)
    for pid in pids:
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if _alive(p)]


def stop_child(proc: subprocess.Popen[bytes], grace: float = STOP_GRACE) -> int:
    """SIGTERM our child ``proc``, SIGKILL it after ``grace``; returns its status."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait(10)


# --------------------------------------------------------------------------
# The anchor: holds the namespace, sweeps it when the test process is gone


def _anchor_main(argv: Sequence[str]) -> int:
    """Run inside ``unshare --mount``: bind ROOT's directories, then wait.

    argv: ROOT, then SRC=DST pairs.  Prints "ready" once the mounts are in
    place, then blocks on stdin.  The harness writes "bye" after its own
    orderly cleanup; EOF without it means the test process died, and the
    anchor removes ROOT itself.  Either way it kills whatever still runs in
    its namespace before exiting.
    """
    # Terminal signals are for the test process; it cleans up through us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    root, binds = argv[0], argv[1:]
    for spec in binds:
        src, dst = spec.split("=", 1)
        done = subprocess.run(["mount", "--bind", src, dst], capture_output=True, text=True)
        if done.returncode != 0:
            print(f"mount --bind {src} {dst}: {done.stderr.strip()}", flush=True)
            return 1
    print("ready", flush=True)
    orderly = sys.stdin.readline().strip() == "bye"
    own = _mount_ns("self")
    if own is not None:
        terminate_pids([p for p in processes_in_namespace(own) if p != os.getpid()], 5.0)
    if not orderly:
        shutil.rmtree(root, ignore_errors=True)
    return 0


# --------------------------------------------------------------------------
# QMP traffic from libvirtd's debug log

# libvirt 9.0 logs every monitor message verbatim (qemu_monitor*.c):
#   ...: 1234: info : qemuMonitorOpenInternal:647 : QEMU_MONITOR_NEW: mon=0x7f.. fd=19
#   ...: 1234: info : qemuMonitorSend:861 : QEMU_MONITOR_SEND_MSG: mon=0x7f.. msg={...}\r
#    fd=-1                       (the message's own CRLF ends the line)
#   ...: 1240: debug : qemuMonitorJSONIOProcessLine:189 : Line [{...}]
#   ...: 1240: info : qemuMonitorJSONIOProcessLine:208 : QEMU_MONITOR_RECV_REPLY: mon=0x7f..
#        reply={...}         (one line; EVENT: "QEMU_MONITOR_RECV_EVENT: mon=.. event={...}")
#   ...: 1234: info : qemuMonitorClose:782 : QEMU_MONITOR_CLOSE: mon=0x7f..
# Every received line is logged as "Line [...]", but only replies and events
# again with the monitor pointer; the greeting only as "Line [...]".
_HEAD = r"^(?P<ts>\S+ \S+): (?P<thread>\d+): \w+ : \w+:\d+ : "
_SEND_RE = re.compile(_HEAD + r"QEMU_MONITOR_SEND_MSG: mon=(?P<mon>\S+) msg=(?P<json>.*?)\r?$")
_RECV_RE = re.compile(
    _HEAD + r"QEMU_MONITOR_RECV_(?:REPLY|EVENT): mon=(?P<mon>\S+) (?:reply|event)=(?P<json>.*)$"
)
_GREETING_RE = re.compile(_HEAD + r"Line \[(?P<json>\{\s*\"QMP\".*)\]$")
_NEW_RE = re.compile(_HEAD + r"QEMU_MONITOR_NEW: mon=(?P<mon>\S+)")
_CLOSE_RE = re.compile(_HEAD + r"QEMU_MONITOR_CLOSE: mon=(?P<mon>\S+)")


@dataclass(frozen=True)
class QmpMessage:
    """One QMP message as libvirtd logged it."""

    direction: Literal["send", "recv"]
    msg: dict[str, Any]
    timestamp: str
    thread: int
    mon: str | None  # libvirt's monitor pointer, when the line names it


@dataclass
class QmpSession:
    """The messages of one monitor connection, greeting first."""

    mon: str | None
    messages: list[QmpMessage] = field(default_factory=list)

    def commands(self) -> list[tuple[str, dict[str, Any] | None]]:
        """(execute, arguments) of every command sent, in order."""
        return [
            (m.msg["execute"], m.msg.get("arguments"))
            for m in self.messages
            if m.direction == "send" and "execute" in m.msg
        ]

    def reply_to(self, index: int) -> dict[str, Any] | None:
        """The reply to the ``index``-th command sent (events skipped)."""
        sent = [m for m in self.messages if m.direction == "send"]
        if index >= len(sent):
            return None
        wanted = sent[index].msg.get("id")
        for m in self.messages:
            if m.direction == "recv" and m.msg.get("id") == wanted and "event" not in m.msg:
                return m.msg
        return None

    @property
    def is_probe(self) -> bool:
        """A capability probe session (not a domain's monitor).

        The first session of a probe asks query-qmp-schema; the forceTCG
        second session (after KVM was reported enabled) starts with
        query-cpu-definitions right after qmp_capabilities.  A domain's
        monitor always continues with query-migrate-capabilities.
        """
        names = [name for name, _ in self.commands()]
        return len(names) > 1 and names[1] in ("query-version", "query-cpu-definitions")


def parse_monitor_log(text: str) -> list[QmpSession]:
    """Split libvirtd's debug log into QMP sessions, in the order opened.

    A session runs from ``QEMU_MONITOR_NEW`` to ``QEMU_MONITOR_CLOSE`` of one
    monitor pointer (pointers are reused after a close, so a NEW always
    starts a new session).  The greeting, which libvirt logs without the
    pointer, goes to the oldest open session that has not been greeted yet.
    Messages of a monitor opened before the log starts (e.g. after
    :meth:`LibvirtHarness.log_mark`) get a session of their own.
    """
    sessions: list[QmpSession] = []
    open_: dict[str, QmpSession] = {}
    ungreeted: list[QmpSession] = []

    def session_of(mon: str) -> QmpSession:
        if mon not in open_:
            open_[mon] = QmpSession(mon)
            sessions.append(open_[mon])
        return open_[mon]

    # Not splitlines(): JSON strings may hold other Unicode line breaks.
    for line in text.split("\n"):
        if "QEMU_MONITOR" not in line and "Line [" not in line:
            continue
        if m := _SEND_RE.match(line):
            direction: Literal["send", "recv"] = "send"
        elif m := _RECV_RE.match(line):
            direction = "recv"
        elif m := _GREETING_RE.match(line):
            with contextlib.suppress(ValueError):
                greeting = json.loads(m["json"])
                session = ungreeted.pop(0) if ungreeted else QmpSession(None)
                if session.mon is None:
                    sessions.append(session)
                session.messages.insert(
                    0, QmpMessage("recv", greeting, m["ts"], int(m["thread"]), session.mon)
                )
            continue
        elif m := _NEW_RE.match(line):
            open_[m["mon"]] = QmpSession(m["mon"])
            sessions.append(open_[m["mon"]])
            ungreeted.append(open_[m["mon"]])
            continue
        elif m := _CLOSE_RE.match(line):
            closed = open_.pop(m["mon"], None)
            if closed in ungreeted:
                ungreeted.remove(closed)
            continue
        else:
            continue
        try:
            msg = json.loads(m["json"])
        except ValueError:
            continue
        session_of(m["mon"]).messages.append(
            QmpMessage(direction, msg, m["ts"], int(m["thread"]), m["mon"])
        )
    return sessions


# --------------------------------------------------------------------------
# Capability probes

#: Commands of libvirt 9.0's second, TCG-only probe session, which follows
#: the first when the emulator reported KVM enabled.
FORCE_TCG_SESSION = 5


def expected_probe_sessions(
    first: int, *, kvm_reported: bool, kvm_accessible: bool, probes: int = 1
) -> list[int]:
    """The command counts of the probe sessions libvirt 9.0 runs.

    One session of ``first`` commands, then a TCG-only one when the emulator
    reported KVM enabled.  libvirt keeps the result while its own /dev/kvm
    check for the emulator's user (``kvm_accessible``) agrees with the
    emulator's ``query-kvm`` (``kvm_reported``); where they disagree it finds
    its cache invalid at every lookup and probes again, ``probes`` times.
    """
    one = [first, FORCE_TCG_SESSION] if kvm_reported else [first]
    return one if kvm_reported == kvm_accessible else one * probes


# --------------------------------------------------------------------------
# XML


def domain_xml(
    emulator: str,
    *,
    name: str = "memtest",
    domain_type: str = "qemu",
    machine: str | None = None,
    devices: Sequence[str] = (),
) -> str:
    """The test domain (``domain.xml``) with ``<emulator>`` filled in.

    ``devices``: XML snippets appended to ``<devices>`` (cold-plugged memory
    devices, e.g. an NVDIMM, which also makes libvirt add ``nvdimm=on``).
    """
    tree = ET.parse(DOMAIN_TEMPLATE)
    root = tree.getroot()
    root.set("type", domain_type)
    _find(root, "name").text = name
    if machine is not None:
        _find(root, "os/type").set("machine", machine)
    devices_el = _find(root, "devices")
    _find(devices_el, "emulator").text = emulator
    for snippet in devices:
        devices_el.append(ET.fromstring(snippet))
    return ET.tostring(root, encoding="unicode")


def virsh_table(text: str) -> list[list[str]]:
    """A virsh table's rows (``domblklist``, ``domiflist``...), after its
    header and rule, split on blanks."""
    lines = [line for line in text.splitlines() if line.strip()]
    return [line.split() for line in lines[2:]]


def _find(element: ET.Element, path: str) -> ET.Element:
    found = element.find(path)
    if found is None:
        raise HarnessError(f"<{element.tag}> has no {path}")
    return found


@dataclass(frozen=True)
class MemoryDevice:
    """A ``<memory>`` element from the live XML."""

    model: str
    alias: str | None
    address: dict[str, str]
    size_kib: int | None
    element: ET.Element


def memory_devices(live: ET.Element) -> list[MemoryDevice]:
    """The memory devices of a domain's (live) XML."""
    out = []
    for mem in live.findall("devices/memory"):
        alias = mem.find("alias")
        address = mem.find("address")
        size = mem.find("target/size")
        out.append(
            MemoryDevice(
                model=mem.get("model", ""),
                alias=alias.get("name") if alias is not None else None,
                address=dict(address.attrib) if address is not None else {},
                size_kib=_kib(size) if size is not None else None,
                element=mem,
            )
        )
    return out


_UNITS = {"b": 1, "bytes": 1, "k": 1024, "kib": 1024, "m": 1024**2, "mib": 1024**2}
_UNITS.update({"g": 1024**3, "gib": 1024**3, "t": 1024**4, "tib": 1024**4})


def _kib(element: ET.Element) -> int:
    """A libvirt size element (default unit KiB) in KiB."""
    unit = element.get("unit", "KiB").lower()
    return int(element.text or "0") * _UNITS[unit] // 1024


# --------------------------------------------------------------------------
# The harness


@dataclass
class CleanupReport:
    """What :meth:`LibvirtHarness.close` found and did."""

    strays: dict[int, str]  # pid -> cmdline still in the namespace after the daemons stopped
    survivors: list[int]  # pids that outlived SIGKILL (must be empty)
    root_removed: bool


class LibvirtHarness:
    """A private libvirtd + virtlogd; see the module docstring.

    Use as a context manager (``with LibvirtHarness() as lv: ...``) or call
    :meth:`start` / :meth:`close`.  ``qemu_user`` is the ``user``/``group``
    of qemu.conf (:data:`DEBIAN_QEMU_USER` restores Debian's default).
    """

    def __init__(
        self,
        *,
        qemu_user: str = "root",
        log_filters: str = LOG_FILTERS,
        qemu_conf: str = "",
        start_timeout: float = 120.0,
    ) -> None:
        self.qemu_user = qemu_user
        self.log_filters = log_filters
        self.extra_qemu_conf = qemu_conf
        self.start_timeout = start_timeout
        self.root = Path()
        self._anchor: subprocess.Popen[bytes] | None = None
        self._ns: tuple[int, int] | None = None
        self.libvirtd: subprocess.Popen[bytes] | None = None
        self.virtlogd: subprocess.Popen[bytes] | None = None
        self._files = 0

    # --- paths ------------------------------------------------------------

    @property
    def uri(self) -> str:
        """Connection URI for clients outside the namespace."""
        return f"qemu:///system?socket={self.root}/run/libvirt/libvirt-sock"

    @property
    def debug_log_path(self) -> Path:
        """libvirtd's debug log (QMP traffic, probe and process lifecycle)."""
        return self.root / "daemon" / "libvirtd-debug.log"

    @property
    def libvirtd_log_path(self) -> Path:
        """libvirtd's warnings and errors."""
        return self.root / "daemon" / "libvirtd.log"

    def domain_log_path(self, name: str) -> Path:
        """/var/log/libvirt/qemu/NAME.log as seen from outside."""
        return self.root / "log" / "qemu" / f"{name}.log"

    def capabilities_cache(self) -> list[Path]:
        """The QEMU capabilities cache files libvirt has written."""
        return sorted((self.root / "cache" / "qemu" / "capabilities").glob("*.xml"))

    # --- lifecycle --------------------------------------------------------

    def __enter__(self) -> LibvirtHarness:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        report = self.close()
        if exc is None and (report.survivors or not report.root_removed):
            raise HarnessError(f"cleanup incomplete: {report}")

    def start(self) -> LibvirtHarness:
        """Create the root, the namespace, and start virtlogd and libvirtd."""
        reason = unavailable_reason()
        if reason is not None:
            raise HarnessError(reason)
        self.root = Path(tempfile.mkdtemp(prefix="memdevd-libvirt-"))
        try:
            self._prepare_root()
            self._start_anchor()
            self._start_virtlogd()
            self.start_libvirtd()
        except BaseException:
            self.close()
            raise
        return self

    def _prepare_root(self) -> None:
        root = self.root
        for sub, _ in BIND_MOUNTS:
            if sub != "etc":
                (root / sub).mkdir()
        for sub in ("daemon", "files", "home", "drivers"):
            (root / sub).mkdir()
        # A copy of the installed configuration, so the test runs what the
        # package ships plus the few settings below.
        shutil.copytree("/etc/libvirt", root / "etc", symlinks=True)
        # No autostarted networks (the network driver is not loaded anyway).
        shutil.rmtree(root / "etc" / "qemu" / "networks" / "autostart", ignore_errors=True)
        with open(root / "etc" / "qemu.conf", "a") as f:
            f.write(QEMU_CONF_ADDITIONS.format(user=self.qemu_user, group=self.qemu_user))
            f.write(self.extra_qemu_conf)
        with open(root / "etc" / "libvirtd.conf", "a") as f:
            f.write(
                "\n# --- added by tests/libvirt/libvirt_harness.py ---\n"
                f'log_filters="{self.log_filters}"\n'
                # Everything that passes the filters into the debug log;
                # warnings and errors alone into the short log quoted on failure.
                f'log_outputs="1:file:{self.debug_log_path} 3:file:{self.libvirtd_log_path}"\n'
            )
        if self.qemu_user != "root":
            # mkdtemp's 0700 would keep the emulator's user out of its domain
            # directory (ROOT/lib/qemu/...) and the backing files in ROOT/files.
            root.chmod(0o711)
        module = qemu_driver_module()
        assert module is not None
        os.symlink(module, root / "drivers" / os.path.basename(module))

    def _env(self) -> dict[str, str]:
        """A clean environment: nothing of the test process leaks to libvirt."""
        home = str(self.root / "home")
        return {
            "PATH": SEARCH_PATH,
            "LC_ALL": "C",
            "HOME": home,
            "XDG_CONFIG_HOME": f"{home}/.config",
            "XDG_CACHE_HOME": f"{home}/.cache",
            "XDG_RUNTIME_DIR": f"{home}/.run",
            "LIBVIRT_DRIVER_DIR": str(self.root / "drivers"),
        }

    def _start_anchor(self) -> None:
        unshare = find_program("unshare")
        assert unshare is not None
        binds = [f"{self.root / sub}={target}" for sub, target in BIND_MOUNTS]
        self._anchor = subprocess.Popen(
            [
                unshare,
                "--mount",
                "--propagation",
                "private",
                "--",
                sys.executable,
                "-I",
                str(Path(__file__).resolve()),
                "anchor",
                str(self.root),
                *binds,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=self._env(),
            start_new_session=True,  # Ctrl-C reaches pytest, which cleans up
        )
        assert self._anchor.stdout is not None
        line = self._anchor.stdout.readline().decode(errors="replace").strip()
        if line != "ready":
            rest = self._anchor.stdout.read().decode(errors="replace")
            self._anchor.wait(10)
            raise HarnessError(f"namespace anchor failed: {line} {rest}".strip())
        self._ns = _mount_ns(self._anchor.pid)
        if self._ns is None or self._ns == _mount_ns("self"):
            raise HarnessError("the anchor is not in a private mount namespace")

    def _spawn_in_namespace(self, argv: Sequence[str], log_name: str) -> subprocess.Popen[bytes]:
        """Start ``argv`` inside the namespace; our child, its pid is the daemon's.

        nsenter only forks when entering a pid namespace, so with --mount it
        execs ``argv`` in place.
        """
        assert self._anchor is not None
        nsenter = find_program("nsenter")
        assert nsenter is not None
        with open(self.root / "daemon" / log_name, "ab") as out:
            return subprocess.Popen(
                [nsenter, f"--mount=/proc/{self._anchor.pid}/ns/mnt", "--", *argv],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self._env(),
                start_new_session=True,
            )

    def _start_virtlogd(self) -> None:
        virtlogd = find_program("virtlogd")
        assert virtlogd is not None
        self.virtlogd = self._spawn_in_namespace([virtlogd], "virtlogd.out")
        self._wait_for(
            lambda: (self.root / "run" / "libvirt" / "virtlogd-sock").exists(),
            self.virtlogd,
            "virtlogd",
            30.0,
        )

    def start_libvirtd(self) -> None:
        """Start libvirtd (again) on the existing state; waits until it answers."""
        if self.libvirtd is not None and self.libvirtd.poll() is None:
            raise HarnessError("libvirtd is already running")
        libvirtd = find_program("libvirtd")
        assert libvirtd is not None
        self.libvirtd = self._spawn_in_namespace([libvirtd], "libvirtd.out")
        proc = self.libvirtd

        def answers() -> bool:
            return self.virsh("uri", check=False, timeout=30).returncode == 0

        self._wait_for(answers, proc, "libvirtd", self.start_timeout)

    def stop_libvirtd(self) -> int:
        """Stop libvirtd (SIGTERM, then SIGKILL); domains keep running."""
        if self.libvirtd is None:
            return 0
        status = stop_child(self.libvirtd)
        self.libvirtd = None
        return status

    def restart_libvirtd(self) -> None:
        """Stop and start libvirtd; it reconnects to running domains."""
        self.stop_libvirtd()
        self.start_libvirtd()

    def _wait_for(
        self,
        ready: Callable[[], bool],
        proc: subprocess.Popen[bytes],
        what: str,
        timeout: float,
    ) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if proc.poll() is not None:
                raise HarnessError(
                    f"{what} exited with status {proc.returncode}\n{self.diagnostics()}"
                )
            if time.monotonic() > deadline:
                raise HarnessError(f"{what} not ready after {timeout} s\n{self.diagnostics()}")
            time.sleep(0.05)

    def namespace_pids(self) -> list[int]:
        """Every live process in the private namespace (anchor included)."""
        return processes_in_namespace(self._ns) if self._ns is not None else []

    def stray_pids(self) -> list[int]:
        """Processes in the namespace other than the anchor and the daemons:
        emulators (domains, capability probes)."""
        ours = {p.pid for p in (self._anchor, self.libvirtd, self.virtlogd) if p is not None}
        return [p for p in self.namespace_pids() if p not in ours]

    def close(self) -> CleanupReport:
        """Destroy domains, stop the daemons, sweep the namespace, remove ROOT.

        Safe to call more than once and after a failed start.
        """
        if self.libvirtd is not None and self.libvirtd.poll() is None:
            with contextlib.suppress(HarnessError, subprocess.TimeoutExpired):
                running = self.virsh("list", "--name", check=False, timeout=30).stdout.split()
                for name in running:
                    self.virsh("destroy", name, check=False, timeout=60)
        self.stop_libvirtd()
        if self.virtlogd is not None:
            stop_child(self.virtlogd)
            self.virtlogd = None
        strays = {pid: process_cmdline(pid) for pid in self.stray_pids()}
        survivors = terminate_pids(list(strays))
        if self._anchor is not None:
            assert self._anchor.stdin is not None
            try:
                self._anchor.stdin.write(b"bye\n")
                self._anchor.stdin.flush()
            except BrokenPipeError:  # the anchor died: its namespace is swept below
                pass
            finally:
                with contextlib.suppress(BrokenPipeError):
                    self._anchor.stdin.close()
            try:
                self._anchor.wait(30)
            except subprocess.TimeoutExpired:
                self._anchor.kill()
                self._anchor.wait(10)
            if self._anchor.stdout is not None:
                self._anchor.stdout.close()
            self._anchor = None
        if self._ns is not None:
            # The anchor was the namespace's init: the kernel kills the rest,
            # which takes a moment on a busy machine.
            deadline = time.monotonic() + 10.0
            while processes_in_namespace(self._ns) and time.monotonic() < deadline:
                time.sleep(0.05)
            survivors += [p for p in processes_in_namespace(self._ns) if p not in survivors]
            self._ns = None  # the namespace is gone; its inode may be reused
        root_removed = True
        if self.root != Path() and self.root.exists():
            shutil.rmtree(self.root, ignore_errors=True)
            root_removed = not self.root.exists()
        return CleanupReport(strays, survivors, root_removed)

    # --- virsh ------------------------------------------------------------

    def virsh(
        self, *args: str, check: bool = True, timeout: float = 180.0
    ) -> subprocess.CompletedProcess[str]:
        """Run ``virsh -c URI ARGS``; raises :class:`VirshError` with logs on failure.

        Not ``-q``: virsh's messages tell e.g. "Device detached successfully"
        from "Device detach request sent successfully".
        """
        virsh = find_program("virsh")
        assert virsh is not None
        result = subprocess.run(
            [virsh, "-c", self.uri, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self._env(),
        )
        if check and result.returncode != 0:
            raise VirshError(
                f"virsh {' '.join(args)} failed with status {result.returncode}:\n"
                f"{result.stderr.strip()}\n{self.diagnostics()}",
                result,
            )
        return result

    def write_file(self, name: str, text: str) -> Path:
        """Write ``text`` to a new file in ROOT/files (visible inside and out)."""
        self._files += 1
        path = self.root / "files" / f"{self._files:03d}-{name}"
        path.write_text(text)
        return path

    def define(self, xml: str) -> str:
        """``virsh define``; returns the domain name."""
        self.virsh("define", str(self.write_file("domain.xml", xml)))
        name = ET.fromstring(xml).findtext("name")
        assert name is not None
        return name

    def start_domain(self, name: str, *, paused: bool = False) -> None:
        """``virsh start [--paused]``."""
        self.virsh("start", name, *(["--paused"] if paused else []))

    def destroy(self, name: str) -> None:
        """``virsh destroy`` (SIGTERM to the emulator, then libvirt's cleanup)."""
        self.virsh("destroy", name)

    def attach_device(self, name: str, xml: str, *, live: bool = True) -> str:
        """``virsh attach-device NAME FILE [--live]``; returns virsh's output."""
        path = self.write_file("device.xml", xml)
        return self.virsh("attach-device", name, str(path), *(["--live"] if live else [])).stdout

    def detach_device(self, name: str, xml: str, *, live: bool = True) -> str:
        """``virsh detach-device NAME FILE [--live]``."""
        path = self.write_file("device.xml", xml)
        return self.virsh("detach-device", name, str(path), *(["--live"] if live else [])).stdout

    def domain_state(self, name: str) -> str:
        """``virsh domstate`` (e.g. "running", "paused", "shut off")."""
        return self.virsh("domstate", name).stdout.strip()

    def live_xml(self, name: str) -> ET.Element:
        """The running domain's XML (``virsh dumpxml``) parsed."""
        return ET.fromstring(self.virsh("dumpxml", name).stdout)

    def memory_device_xml(self, kind: str, **target: str) -> str:
        """A memory device snippet from ``memory/KIND.xml``.

        ``target``: replaces the text of ``<target>`` children (e.g.
        ``size="256"``; the unit stays the snippet's).  NVDIMM and
        virtio-pmem get a new sparse backing file of the target size in ROOT.
        """
        if kind not in MEMORY_DEVICE_KINDS:
            raise HarnessError(f"unknown memory device {kind!r}; known: {MEMORY_DEVICE_KINDS}")
        mem = ET.parse(MEMORY_DEVICE_DIR / f"{kind}.xml").getroot()
        for key, value in target.items():
            _find(mem, f"target/{key}").text = value
        path_el = mem.find("source/path")
        if path_el is not None:
            size = _kib(_find(mem, "target/size")) * 1024
            backing = self.write_file(f"{kind}.img", "")
            os.truncate(backing, size)
            path_el.text = str(backing)
        return ET.tostring(mem, encoding="unicode")

    # --- logs -------------------------------------------------------------

    def domain_log(self, name: str) -> str:
        """/var/log/libvirt/qemu/NAME.log (header, command line, emulator stderr)."""
        return _read(self.domain_log_path(name))

    def log_mark(self) -> int:
        """The current end of the debug log, for :meth:`qmp_sessions` ``since``."""
        try:
            return self.debug_log_path.stat().st_size
        except OSError:
            return 0

    def debug_log(self, since: int = 0) -> str:
        """libvirtd's debug log from byte offset ``since``."""
        try:
            with open(self.debug_log_path, "rb") as f:
                f.seek(since)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def qmp_sessions(self, since: int = 0) -> list[QmpSession]:
        """QMP sessions in the debug log after ``since`` (see :meth:`log_mark`)."""
        return parse_monitor_log(self.debug_log(since))

    def qmp_commands(self, since: int = 0) -> list[tuple[str, dict[str, Any] | None]]:
        """Every (execute, arguments) libvirt sent after ``since``, all sessions."""
        return [c for s in self.qmp_sessions(since) for c in s.commands()]

    def diagnostics(self, lines: int = 40) -> str:
        """Tails of the daemon and domain logs, for failure messages."""
        if self.root == Path():
            return ""
        parts = []
        for path in (
            self.libvirtd_log_path,
            self.root / "daemon" / "libvirtd.out",
            self.root / "daemon" / "virtlogd.out",
            *sorted((self.root / "log" / "qemu").glob("*.log")),
        ):
            text = _read(path)
            if text.strip():
                tail = "\n".join(text.splitlines()[-lines:])
                parts.append(f"--- {path} (last {lines} lines) ---\n{tail}")
        state = [
            f"{what}: {'running' if p is not None and p.poll() is None else 'not running'}"
            for what, p in (("libvirtd", self.libvirtd), ("virtlogd", self.virtlogd))
        ]
        parts.append("--- daemons: " + ", ".join(state))
        return "\n".join(parts)

    def whole_vm_xml(self, emulator: str, *, name: str = "wholevm") -> tuple[str, dict[str, Path]]:
        """The virt-install-style domain (``vm/virt-install.xml``) with its
        images made in ROOT/files (qcow2 by ``qemu-img``, a raw CD-ROM) and
        twelve PCIe root ports for hot-plug; returns the XML and the images
        by role ("disk", "cdrom", and "extra" for a disk to attach)."""
        files = self.root / "files"
        files.mkdir(parents=True, exist_ok=True)
        images = {
            "disk": files / f"{name}-disk.qcow2",
            "cdrom": files / f"{name}-cdrom.iso",
            "extra": files / f"{name}-extra.qcow2",
        }
        for role, size in (("disk", "1G"), ("extra", "64M")):
            done = subprocess.run(
                ["qemu-img", "create", "-q", "-f", "qcow2", str(images[role]), size],
                capture_output=True,
                text=True,
                timeout=60,
            )
            if done.returncode != 0:
                raise HarnessError(f"qemu-img create failed: {done.stderr.strip()}")
        with open(images["cdrom"], "wb") as f:
            f.truncate(1 << 20)
        root = ET.parse(WHOLE_VM_TEMPLATE).getroot()
        _find(root, "name").text = name
        devices = _find(root, "devices")
        _find(devices, "emulator").text = emulator
        for source in devices.iter("source"):
            role = {"DISK": "disk", "CDROM": "cdrom"}.get(source.get("file", ""))
            if role is not None:
                source.set("file", str(images[role]))
        devices.append(ET.fromstring("<controller type='pci' index='0' model='pcie-root'/>"))
        for index in range(1, 13):
            devices.append(
                ET.fromstring(f"<controller type='pci' index='{index}' model='pcie-root-port'/>")
            )
        return ET.tostring(root, encoding="unicode"), images

    # --- measurements -----------------------------------------------------

    def time_whole_vm_start(self, emulator: str, *, name: str = "wholevm") -> dict[str, float]:
        """Wall-clock seconds of define, ``start --paused`` and destroy of the
        virt-install-style domain (:meth:`whole_vm_xml`); undefined afterwards."""
        xml, _ = self.whole_vm_xml(emulator, name=name)
        times: dict[str, float] = {}
        t0 = time.perf_counter()
        self.define(xml)
        times["define_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        self.start_domain(name, paused=True)
        times["start_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        self.destroy(name)
        times["destroy_s"] = time.perf_counter() - t0
        self.virsh("undefine", name)
        return times

    def time_domain_start_and_dimm_plug(
        self, emulator: str, *, name: str = "timing", paused: bool = True
    ) -> dict[str, float]:
        """Wall-clock seconds of define, start, a DIMM hot-plug and destroy.

        ``define`` includes the capability probe when ``emulator`` is not in
        the cache yet; ``start`` includes the cache validity check.  The
        domain is undefined afterwards.  Each figure is one virsh command,
        so ~20 ms of virsh start-up is in each.
        """
        times: dict[str, float] = {}
        t0 = time.perf_counter()
        self.define(domain_xml(emulator, name=name))
        times["define_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        self.start_domain(name, paused=paused)
        times["start_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        self.attach_device(name, self.memory_device_xml("dimm"))
        times["dimm_plug_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        self.destroy(name)
        times["destroy_s"] = time.perf_counter() - t0
        self.virsh("undefine", name)
        return times


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def host_libvirt_state() -> Mapping[str, tuple[str, ...]]:
    """What the host's libvirt paths contain, to compare before and after a test."""
    state: dict[str, tuple[str, ...]] = {}
    for _, target in BIND_MOUNTS:
        if target == "/run":
            names = os.listdir("/run") if os.path.isdir("/run") else []
            state[target] = tuple(sorted(n for n in names if "libvirt" in n or "virtlog" in n))
            continue
        entries = []
        for dirpath, dirnames, filenames in os.walk(target):
            dirnames.sort()
            for n in sorted(filenames) + dirnames:
                p = os.path.join(dirpath, n)
                with contextlib.suppress(OSError):
                    entries.append(f"{p} {os.lstat(p).st_mtime_ns}")
        state[target] = tuple(entries)
    return state


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "anchor":
        sys.exit(_anchor_main(sys.argv[2:]))
    print(f"usage: {sys.argv[0]} anchor ROOT SRC=DST...", file=sys.stderr)
    sys.exit(2)


@contextlib.contextmanager
def running_harness(qemu_user: str = "root") -> Iterator[LibvirtHarness]:
    """A started private libvirtd whose emulators run as ``qemu_user``;
    afterwards nothing it started is left and the host's libvirt paths are
    as before."""
    reason = unavailable_reason()
    if reason is not None:
        import pytest

        pytest.skip(reason)
    before = host_libvirt_state()
    harness = LibvirtHarness(qemu_user=qemu_user).start()
    try:
        yield harness
    finally:
        report = harness.close()
        assert not report.survivors, f"processes outlived SIGKILL: {report}"
        assert report.root_removed, f"{harness.root} not removed"
        assert host_libvirt_state() == before, "the host's libvirt paths changed"
