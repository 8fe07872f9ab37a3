"""Opening a chardev from its QAPI ``ChardevBackend`` (chardev/char*.c).

``open_chardev(machine, label, backend)`` is ``chardev_new()``: the
backend's ``open`` with QEMU's checks and texts, the ``filename``
``query-chardev`` shows.  What memdevd really does per backend:

* ``socket``: a server really binds and listens (a UNIX path is unlinked
  first, as QEMU does); a connection is accepted when memdevd next looks
  at the chardev (``query-chardev``, ``qom-get``), what it sends is read
  and dropped, nothing is ever written to it.  A client really connects.
* ``udp``: a datagram socket really bound and connected; nothing is sent.
* ``pty``: a pseudo-terminal really opened (libvirt reads its path).
* ``file``, ``pipe``, ``serial``, ``parallel``: opened as QEMU opens them
  to give its errors, but a file is never created nor truncated (the
  checks QEMU's ``open()`` would fail are made on the path instead).
* ``ringbuf``/``memory``: the ring buffer, with ``ringbuf-write`` and
  ``ringbuf-read`` as QEMU.
* the others (null, stdio, vc, msmouse, wctablet, testdev, qemu-vdagent,
  mux, hub, spicevmc, spiceport, braille, dbus): QEMU's checks only.
"""

from __future__ import annotations

import errno
import os
from typing import TYPE_CHECKING, Any

from memdevd import messages as M
from memdevd.machine.errors import CoreError
from memdevd.machine.qom import ChardevBackend, Prop, QOMObject
from memdevd.util.sockets import connect_first, connect_unix

if TYPE_CHECKING:
    import socket

    from memdevd.machine.machine import Machine

# chardev/char.c: the TYPE_CHARDEV_* parents (for qom-get type and is_a).
_PARENTS = {
    "file": ("chardev-fd",),
    "pipe": ("chardev-fd",),
    "serial": ("chardev-fd",),
    "stdio": ("chardev-fd",),
    "memory": ("chardev-ringbuf",),
}
MAX_MUX = 4
# What a snapshot shares rather than copies.
_HOST_RESOURCES = frozenset({"listener", "client", "udp", "pty_fd"})


class _SharedFd:
    """A descriptor a chardev and its snapshot copies hold together."""

    def __init__(self, fd: int) -> None:
        self.fd = fd


RINGBUF_DEFAULT_SIZE = 65536


def _strerror(code: int) -> str:
    return os.strerror(code)


class Chardev(ChardevBackend):
    """A chardev that is not a QMP monitor's socket."""

    def __init__(self, kind: str, label: str) -> None:
        # ChardevBackend opens the pty of a "pty" chardev.
        super().__init__(kind)
        self.chain = (f"chardev-{kind}", *_PARENTS.get(kind, ()), "chardev", "object")
        self.kind = kind
        self.label = label
        self._filename = kind
        # The front ends (a device, a monitor, a mux): one slot, or a mux's four.
        self.frontends: list[object | None] = []
        # 7.2's mux counts the front ends it ever had (mux_cnt).
        self.mux_count = 0
        self.base: Chardev | None = None  # a mux's (hub's) chardev(s)
        self.bases: list[Chardev] = []
        # ringbuf
        self.ring = bytearray()
        self.prod = 0
        self.cons = 0
        # socket
        self.is_listen = False
        self.is_telnet = False
        self.is_websock = False
        self.address: dict[str, Any] = {}
        self.listener: socket.socket | None = None
        self.client: socket.socket | None = None
        self.peer: tuple[str, str] | None = None
        self.udp: socket.socket | None = None

        self.reconnect_error = ""
        self.pty_fd = _SharedFd(self._master)
        # A -chardev server without wait=off: the process waits for a client.
        self.wait_connect = False
        # Served by the process (a readline monitor's socket): it accepts.
        self.served = False
        # A client with reconnect=/reconnect-ms=: it keeps trying.
        self.reconnect = False

    @property
    def frontend_open(self) -> bool:
        return self._frontend_open

    @frontend_open.setter
    def frontend_open(self, value: bool) -> None:
        """A mux opening for a front end opens its base (char-mux.c
        ``mux_chr_update_read_handlers``: ``qemu_chr_fe_set_handlers(...,
        set_open=true)`` on the mux's own front end)."""
        self._frontend_open = value
        if value and getattr(self, "kind", None) == "mux":
            for base in self.bases:
                base.frontend_open = True

    def __deepcopy__(self, memo: dict[int, Any]) -> Chardev:
        """Snapshots copy the chardev's state but share its host resources
        (sockets): a copy restored later uses the same connections."""
        import copy

        new = type(self).__new__(type(self))
        memo[id(self)] = new
        for key, value in self.__dict__.items():
            shared = key in _HOST_RESOURCES
            new.__dict__[key] = value if shared else copy.deepcopy(value, memo)
        return new

    def adopt(self, other: ChardevBackend) -> None:
        """x-memdevd-reset: keep ``other``'s pty (its path is in libvirt's
        XML); nothing else is taken over."""
        if self.kind == "pty" and other.backend == "pty" and other is not self:
            self.close()
            self.path, self._master = other.path, other._master
            if isinstance(other, Chardev):
                self.pty_fd = other.pty_fd

    def release_host(self) -> None:
        """Close the sockets (x-memdevd-reset opens the start-up ones again)."""
        for sock in (self.client, self.listener, self.udp):
            if sock is not None:
                sock.close()
        self.client = self.listener = self.udp = None

    # -- QOM ------------------------------------------------------------------

    def is_a(self, typename: str) -> bool:
        return typename in self.chain or typename in self.interfaces

    def class_props(self) -> list[Prop]:
        if self.kind != "socket":
            return []
        return [
            Prop("addr", "SocketAddress", lambda o: dict(_core(o).address), None),
            Prop("connected", "bool", lambda o: _core(o).connected(), None),
        ]

    @property
    def filename(self) -> str:
        if self.kind == "pty":
            return f"pty:{self.path}"
        if self.kind == "socket":
            return self.socket_filename()
        return self._filename

    # -- front ends -----------------------------------------------------------

    def attach(self, owner: object, release: Any) -> None:
        """``qemu_chr_fe_init`` for this chardev."""
        if self.kind == "mux":
            if release.chardev_mux_bitset:
                if None not in self.frontends and len(self.frontends) >= MAX_MUX:
                    raise CoreError(M.CHARDEV_MUX_TOO_MANY.format(self.label))
                if None in self.frontends:
                    self.frontends[self.frontends.index(None)] = owner
                else:
                    self.frontends.append(owner)
            else:
                if self.mux_count >= MAX_MUX:
                    raise CoreError(release.chardev_in_use_text.format(self.label))
                self.frontends.append(owner)
                self.mux_count += 1
            return
        if any(fe is not None for fe in self.frontends):
            raise CoreError(release.chardev_in_use_text.format(self.label))
        self.frontends = [owner]
        self.frontend_open = False

    def detach(self, owner: object) -> None:
        """``qemu_chr_fe_deinit``."""
        for i, fe in enumerate(self.frontends):
            if fe is owner:
                self.frontends[i] = None
        if self.kind != "mux" and not any(fe is not None for fe in self.frontends):
            self.frontends = []
            self.frontend_open = False

    def busy(self, release: Any) -> bool:
        """``qemu_chr_is_busy``: 7.2's mux is always busy."""
        if self.kind == "mux" and not release.chardev_mux_bitset:
            return True
        return any(fe is not None for fe in self.frontends)

    def has_frontend(self) -> bool:
        return any(fe is not None for fe in self.frontends)

    # -- socket -----------------------------------------------------------------

    def socket_address(self, prefix: str) -> str:
        """``qemu_chr_socket_address``."""
        addr = self.address
        listen = ",server=on" if self.is_listen else ""
        kind = addr.get("type")
        if kind == "inet":
            proto = "websocket" if self.is_websock else "telnet" if self.is_telnet else "tcp"
            return f"{prefix}{proto}:{addr['host']}:{addr['port']}{listen}"
        if kind == "unix":
            extra = ""
            if addr.get("abstract"):
                extra = ",abstract=on" + (",tight=on" if addr.get("tight", True) else "")
            return f"{prefix}unix:{addr['path']}{extra}{listen}"
        if kind == "fd":
            return f"{prefix}fd:{addr['str']}{listen}"
        return f"{prefix}vsock:{addr.get('cid')}:{addr.get('port')}"

    def socket_filename(self) -> str:
        if not self.connected():
            return self.socket_address("disconnected:")
        addr = self.address
        if addr.get("type") == "unix":
            return f"unix:{addr['path']}" + (",server=on" if self.is_listen else "")
        if addr.get("type") == "inet" and self.client is not None:
            proto = "websocket" if self.is_websock else "telnet" if self.is_telnet else "tcp"
            try:
                local = self.client.getsockname()
                remote = self.client.getpeername()
            except OSError:
                return "unknown"
            lhost, lport = str(local[0]), str(local[1])
            rhost, rport = str(remote[0]), str(remote[1])
            left, right = ("[", "]") if ":" in lhost else ("", "")
            rl, rr = ("[", "]") if ":" in rhost else ("", "")
            listen = ",server=on" if self.is_listen else ""
            return f"{proto}:{left}{lhost}{right}:{lport}{listen} <-> {rl}{rhost}{rr}:{rport}"
        return "unknown"

    def accept_blocking(self) -> None:
        """Wait for the first client (start-up, ``wait=on``)."""
        if self.listener is None:
            return
        self.listener.setblocking(True)
        try:
            conn, _ = self.listener.accept()
        finally:
            self.listener.setblocking(False)
        conn.setblocking(False)
        self.client = conn

    def connected(self) -> bool:
        """``connected``: accept a pending client, notice a departed one."""
        if not self.served:
            self.poll()
        return self.client is not None

    def poll(self) -> None:
        """What QEMU's main loop would have done since: a listener accepts
        one client at a time; a client that left is dropped (what it sent
        is read and discarded)."""
        if self.client is not None:
            try:
                data = self.client.recv(65536)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if data:
                return
            self.client.close()
            self.client = None
            self.frontend_open_socket = False
        if self.reconnect and self.listener is None and self.client is None:
            # The reconnect timer would have fired since: try again now.
            try:
                self.client = _connect(self.address, timeout=0.5)
            except CoreError:
                return
        if self.listener is not None and self.client is None:
            try:
                conn, _ = self.listener.accept()
            except (BlockingIOError, OSError):
                return
            conn.setblocking(False)
            self.client = conn

    # -- ringbuf (chardev/char-ringbuf.c) -----------------------------------------

    def ring_count(self) -> int:
        return (self.prod - self.cons) & 0xFFFFFFFF

    def ring_write(self, data: bytes) -> None:
        size = len(self.ring)
        for byte in data:
            if size:
                self.ring[self.prod & (size - 1)] = byte
            self.prod = (self.prod + 1) & 0xFFFFFFFF
            if self.ring_count() > size:
                self.cons = (self.prod - size) & 0xFFFFFFFF

    def ring_read(self, count: int) -> bytes:
        size = len(self.ring)
        out = bytearray()
        for _ in range(count):
            if self.ring_count() == 0:
                break
            out.append(self.ring[self.cons & (size - 1)])
            self.cons = (self.cons + 1) & 0xFFFFFFFF
        return bytes(out)

    # -- teardown ---------------------------------------------------------------

    def close(self) -> None:
        # The pty's descriptor is shared with snapshot copies: closed once.
        holder = self.pty_fd
        if holder.fd >= 0:
            os.close(holder.fd)
            holder.fd = -1
        self._master = -1
        for sock in (self.client, self.listener, self.udp):
            if sock is not None:
                sock.close()
        self.client = self.listener = self.udp = None
        for base in self.bases:
            base.detach(self)


def _core(obj: QOMObject) -> Chardev:
    assert isinstance(obj, Chardev)
    return obj


# -- opening -------------------------------------------------------------------------


def open_chardev(machine: Machine, label: str, backend: dict[str, Any]) -> Chardev:
    """``chardev_new``: the chardev, open, not yet in /chardevs."""
    kind = backend["type"]
    data = backend.get("data", {})
    release = machine.release
    # char_get_class(): module_object_class_by_name() loads the kind's module.
    module = dict(release.chardev_module_kinds).get(kind)
    if module is not None:
        machine.chardevs.loaded_modules.add(module)
    if kind not in release.chardev_backend_kinds:
        raise CoreError(M.CHARDEV_NOT_DRIVER_NAME.format(kind))
    opener = _OPENERS[kind]
    # ChardevCommon's logfile is opened before the backend (qemu_char_open).
    if data.get("logfile"):
        try:
            _check_write_open(data["logfile"], bool(data.get("logappend", False)))
        except CoreError as exc:
            path = data["logfile"]
            raise CoreError(
                exc.desc.replace(
                    M.CHARDEV_OPEN_FAILED.format(path, ""),
                    M.CHARDEV_LOGFILE_FAILED.format(path, ""),
                    1,
                )
            ) from None
    chardev = Chardev(kind, label)
    try:
        opener(machine, chardev, data)
    except BaseException:
        chardev.close()
        raise
    return chardev


def _open_nothing(machine: Machine, chr: Chardev, data: dict[str, Any]) -> None:
    return


def _file_open_error(path: str, code: int) -> CoreError:
    return CoreError(M.CHARDEV_OPEN_FAILED.format(path, _strerror(code)))


def _check_write_open(path: str, append: bool) -> None:
    """``open(path, O_WRONLY | O_CREAT | (O_APPEND or O_TRUNC))`` would
    fail how?  Checked on the path: memdevd creates and truncates nothing."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        parent = os.path.dirname(path) or "."
        try:
            pst = os.stat(parent)
        except FileNotFoundError:
            raise _file_open_error(path, errno.ENOENT) from None
        except NotADirectoryError:
            raise _file_open_error(path, errno.ENOTDIR) from None
        except OSError as exc:
            raise _file_open_error(path, exc.errno or errno.EIO) from None
        import stat as stat_mod

        if not stat_mod.S_ISDIR(pst.st_mode):
            raise _file_open_error(path, errno.ENOTDIR) from None
        if not os.access(parent, os.W_OK | os.X_OK):
            raise _file_open_error(path, errno.EACCES) from None
        return
    except NotADirectoryError:
        raise _file_open_error(path, errno.ENOTDIR) from None
    except OSError as exc:
        raise _file_open_error(path, exc.errno or errno.EIO) from None
    import stat as stat_mod

    if stat_mod.S_ISDIR(st.st_mode):
        raise _file_open_error(path, errno.EISDIR)
    if not os.access(path, os.W_OK):
        raise _file_open_error(path, errno.EACCES)


def _try_open(path: str, flags: int) -> None:
    """Really open ``path`` (never creating it) and close it again."""
    try:
        fd = os.open(path, flags | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise _file_open_error(path, exc.errno or errno.EIO) from None
    os.close(fd)


def _open_file(machine: Machine, chr: Chardev, data: dict[str, Any]) -> None:
    """``qmp_chardev_open_file``: the output, then the input."""
    _check_write_open(data["out"], bool(data.get("append", False)))
    if data.get("in"):
        _try_open(data["in"], os.O_RDONLY)


def _open_pipe(machine: Machine, chr: Chardev, data: dict[str, Any]) -> None:
    """``qemu_chr_open_pipe``: PATH.in and PATH.out, else PATH itself."""
    path = data["device"]
    try:
        _try_open(path + ".in", os.O_RDWR)
        _try_open(path + ".out", os.O_RDWR)
    except CoreError:
        _try_open(path, os.O_RDWR)


def _open_serial(machine: Machine, chr: Chardev, data: dict[str, Any]) -> None:
    _try_open(data["device"], os.O_RDWR)


def _open_parallel(machine: Machine, chr: Chardev, data: dict[str, Any]) -> None:
    """``qemu_chr_open_pp_fd``: the device, then PPCLAIM (a parport)."""
    path = data["device"]
    _try_open(path, os.O_RDWR)
    import stat as stat_mod

    st = os.stat(path)
    # Linux parport character devices have major 99 (ppdev).
    if not (stat_mod.S_ISCHR(st.st_mode) and os.major(st.st_rdev) == 99):
        raise CoreError(M.CHARDEV_NOT_PARALLEL.format(_strerror(errno.ENOTTY)))


def _open_pty(machine: Machine, chr: Chardev, data: dict[str, Any]) -> None:
    if data.get("path"):
        raise CoreError(M.CHARDEV_PTY_LINK_NOT_EMULATED)


def _open_stdio(machine: Machine, chr: Chardev, data: dict[str, Any]) -> None:
    container = machine.chardevs
    if container.daemonized:
        raise CoreError(M.CHARDEV_STDIO_DAEMONIZE)
    if container.stdio_in_use:
        raise CoreError(M.CHARDEV_STDIO_MULTIPLE)
    if container.stdio_closed:
        # A removed stdio chardev closed fds 0 and 1 (char-fd.c finalize).
        raise CoreError(M.CHARDEV_STDIO_NONBLOCK)
    container.stdio_in_use = True


def _open_ringbuf(machine: Machine, chr: Chardev, data: dict[str, Any]) -> None:
    size = data.get("size", RINGBUF_DEFAULT_SIZE)
    size &= 0xFFFFFFFF  # d->size is a size_t set from an int64; checked as such
    if size & (size - 1):
        raise CoreError(M.CHARDEV_RINGBUF_POWER_OF_TWO)
    chr.ring = bytearray(size)


def _open_mux(machine: Machine, chr: Chardev, data: dict[str, Any]) -> None:
    base = machine.chardevs.children.get(data["chardev"])
    if base is None:
        raise CoreError(M.CHARDEV_MUX_BASE_NOT_FOUND.format(data["chardev"]))
    from memdevd.machine.chardev.container import fe_init

    fe_init(base, chr, machine.release)
    if isinstance(base, Chardev):
        chr.bases.append(base)


def _open_hub(machine: Machine, chr: Chardev, data: dict[str, Any]) -> None:
    """char-hub.c ``qemu_chr_open_hub``."""
    from memdevd.machine.chardev.container import fe_init

    labels = data.get("chardevs", [])
    if not labels:
        raise CoreError(M.CHARDEV_HUB_NO_CHARDEVS)
    for label in labels:
        base = machine.chardevs.children.get(label)
        if base is None:
            raise CoreError(M.CHARDEV_HUB_NOT_FOUND.format(label))
        if isinstance(base, Chardev) and base.kind in ("hub", "mux"):
            raise CoreError(M.CHARDEV_HUB_NESTED.format(label))
        fe_init(base, chr, machine.release)
        if isinstance(base, Chardev):
            chr.bases.append(base)


MAX_HUB = 4


# spice-server's spice_server_char_device_recognized_subtypes().
SPICE_SUBTYPES = ("vdagent", "smartcard", "usbredir", "port")


def _open_spicevmc(machine: Machine, chr: Chardev, data: dict[str, Any]) -> None:
    kind = data["type"]
    if kind not in SPICE_SUBTYPES:
        raise CoreError(
            M.CHARDEV_SPICE_UNSUPPORTED_TYPE.format(kind),
            hint=M.CHARDEV_SPICE_UNSUPPORTED_TYPE_HINT.format(", ".join(SPICE_SUBTYPES)),
        )


def _open_spiceport(machine: Machine, chr: Chardev, data: dict[str, Any]) -> None:
    # spice.c: "spice not enabled" without -spice (memdevd emulates no spice server).
    raise CoreError(M.CHARDEV_SPICE_NOT_ENABLED)


def _open_braille(machine: Machine, chr: Chardev, data: dict[str, Any]) -> None:
    # baum.c: brlapi__openConnection() fails without a brltty daemon.
    raise CoreError(M.CHARDEV_BRLAPI)


def _open_dbus(machine: Machine, chr: Chardev, data: dict[str, Any]) -> None:
    # ui/dbus-chardev.c: a socket chardev on an fd the D-Bus display hands over.
    chr.is_listen = True
    chr.address = {"type": "fd", "str": ""}
    chr._filename = chr.socket_address("disconnected:")


def _socket_address_flatten(addr: dict[str, Any]) -> dict[str, Any]:
    """``socket_address_flatten``: SocketAddressLegacy to SocketAddress."""
    kind = addr["type"]
    return {"type": kind, **addr.get("data", {})}


def _open_socket(machine: Machine, chr: Chardev, data: dict[str, Any]) -> None:
    """``qmp_chardev_open_socket``."""
    is_listen = data.get("server", True)
    chr.is_listen = bool(is_listen)
    chr.is_telnet = bool(data.get("telnet", False) or data.get("tn3270", False))
    chr.is_websock = bool(data.get("websocket", False))
    tls_creds = data.get("tls-creds")
    if tls_creds:
        creds = machine.objects.children.get(tls_creds)
        if creds is None:
            raise CoreError(M.CHARDEV_SOCKET_NO_TLS_CREDS.format(tls_creds))
        if not creds.is_a("tls-creds"):
            raise CoreError(M.CHARDEV_SOCKET_NOT_TLS_CREDS.format(tls_creds))
    addr = _socket_address_flatten(data["addr"])
    chr.address = addr
    _validate_socket(data, addr)
    kind = addr["type"]
    if kind == "fd":
        _open_fd_socket(machine, chr, addr)
        return
    if kind not in ("unix", "inet"):
        raise CoreError(M.CHARDEV_SOCKET_KIND_NOT_EMULATED.format(kind))
    if chr.is_listen:
        _listen(chr, addr)
        chr.wait_connect = bool(data.get("wait", False)) and not machine.machine_ready
    else:
        reconnect = "reconnect" in data or "reconnect-ms" in data
        reconnect_ms = data.get("reconnect", 0) * 1000 or data.get("reconnect-ms", 0)
        chr.reconnect = reconnect and reconnect_ms > 0
        try:
            chr.client = _connect(addr)
        except CoreError as exc:
            if not chr.reconnect:
                raise
            # check_report_connect_error(): reported once, on stderr.
            chr.reconnect_error = exc.desc


def _open_fd_socket(machine: Machine, chr: Chardev, addr: dict[str, Any]) -> None:
    """``socket_get_fd``: from a monitor, a name given with getfd (memdevd
    keeps none); on the command line a descriptor number (libvirt passes
    its sockets so), which must be a socket: listened on, or connected."""
    import socket as socket_mod
    import stat as stat_mod

    text = addr["str"]
    if machine.machine_ready:
        raise CoreError(M.FD_NOT_FOUND.format(text))
    if chr.is_listen and not text:
        return  # (an empty fd: no listener at all, qmp_chardev_open_socket_server)
    try:
        fd = int(text, 10)
    except ValueError:
        raise CoreError(M.SOCKET_PARSE_FD.format(text, _strerror(errno.EINVAL))) from None
    try:
        is_socket = stat_mod.S_ISSOCK(os.fstat(fd).st_mode)
    except OSError:
        is_socket = False
    if not is_socket:
        raise CoreError(M.SOCKET_FD_NOT_SOCKET.format(text))
    sock = socket_mod.socket(fileno=fd)
    if chr.is_listen:
        try:
            sock.listen(1)
        except OSError as exc:
            sock.detach()
            raise CoreError(M.SOCKET_LISTEN_FD_FAILED.format(_strerror(exc.errno or 0))) from None
        sock.setblocking(False)
        chr.listener = sock
        local = sock.getsockname()
        # socket_local_address(): the descriptor's own address from now on.
        if sock.family == socket_mod.AF_UNIX:
            chr.address = {"type": "unix", "path": local if isinstance(local, str) else ""}
        else:
            chr.address = {"type": "inet", "host": str(local[0]), "port": str(local[1])}
        return
    sock.setblocking(False)
    chr.client = sock


def _validate_socket(data: dict[str, Any], addr: dict[str, Any]) -> None:
    """``qmp_chardev_validate_socket``."""
    kind = addr["type"]
    if kind == "fd":
        if "reconnect" in data:
            raise CoreError(M.CHARDEV_SOCKET_RECONNECT_FD)
        if data.get("tls-creds") and not data.get("server", False):
            raise CoreError(M.CHARDEV_SOCKET_TLS_FD_CLIENT)
    elif kind == "unix" and data.get("tls-creds"):
        raise CoreError(M.CHARDEV_SOCKET_TLS_UNIX)
    if data.get("tls-authz") and not data.get("tls-creds"):
        raise CoreError(M.CHARDEV_SOCKET_AUTHZ)
    if data.get("server", True):
        if "reconnect" in data:
            raise CoreError(M.CHARDEV_SOCKET_RECONNECT_SERVER)
    else:
        if data.get("websocket", False):
            raise CoreError(M.CHARDEV_SOCKET_WEBSOCKET_CLIENT)
        if "wait" in data:
            raise CoreError(M.CHARDEV_SOCKET_WAIT_CLIENT)
    if "reconnect-ms" in data and "reconnect" in data:
        raise CoreError(M.CHARDEV_SOCKET_RECONNECT_BOTH)


def _listen(chr: Chardev, addr: dict[str, Any]) -> None:
    import socket as socket_mod

    if addr["type"] == "unix":
        path = addr["path"]
        if len(path.encode()) > 108:
            raise CoreError(
                M.UNIX_PATH_TOO_LONG.format(path), hint=M.UNIX_PATH_TOO_LONG_HINT.format(108)
            )
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise CoreError(
                M.SOCKET_UNLINK_FAILED.format(path, _strerror(exc.errno or 0))
            ) from None
        sock = socket_mod.socket(socket_mod.AF_UNIX, socket_mod.SOCK_STREAM)
        try:
            sock.bind(path)
        except OSError as exc:
            sock.close()
            raise CoreError(M.UNIX_BIND_FAILED.format(path, _strerror(exc.errno or 0))) from None
        sock.listen(1)
        sock.setblocking(False)
        chr.listener = sock
        return
    host, port = addr["host"], addr["port"]
    infos = _resolve(host, port, passive=True)
    error = 0
    for family, socktype, proto, _, sockaddr in infos:
        sock = socket_mod.socket(family, socktype, proto)
        sock.setsockopt(socket_mod.SOL_SOCKET, socket_mod.SO_REUSEADDR, 1)
        try:
            sock.bind(sockaddr)
            sock.listen(1)
        except OSError as exc:
            sock.close()
            if exc.errno != errno.EADDRINUSE:
                raise CoreError(M.SOCKET_BIND_FAILED.format(_strerror(exc.errno or 0))) from None
            error = exc.errno
            continue
        sock.setblocking(False)
        chr.listener = sock
        # socket_local_address(): the address now has the real port.
        local = sock.getsockname()
        chr.address = {**addr, "host": str(local[0]), "port": str(local[1])}
        return
    raise CoreError(M.NO_AVAILABLE_PORT.format(_strerror(error or errno.EADDRINUSE)))


def _resolve(host: str, port: str, *, passive: bool) -> list[Any]:
    import socket as socket_mod

    try:
        return socket_mod.getaddrinfo(
            host or None,
            port or None,
            socket_mod.AF_UNSPEC,
            socket_mod.SOCK_STREAM,
            0,
            socket_mod.AI_PASSIVE if passive else 0,
        )
    except socket_mod.gaierror as exc:
        raise CoreError(M.ADDRESS_RESOLUTION_FAILED.format(host, port, exc.strerror)) from None


def _connect(addr: dict[str, Any], timeout: float = 5.0) -> socket.socket:
    if addr["type"] == "unix":
        path = addr["path"]
        try:
            sock = connect_unix(path)
        except OSError as exc:
            raise CoreError(
                M.SOCKET_CONNECT_UNIX_FAILED.format(path, _strerror(exc.errno or 0))
            ) from None
    else:
        host, port = addr["host"], addr["port"]
        try:
            sock = connect_first(_resolve(host, port, passive=False), timeout)
        except OSError as exc:
            raise CoreError(
                M.SOCKET_CONNECT_INET_FAILED.format(
                    host, port, _strerror(exc.errno or errno.ECONNREFUSED)
                )
            ) from None
    sock.setblocking(False)
    return sock


def _open_udp(machine: Machine, chr: Chardev, data: dict[str, Any]) -> None:
    """``qio_channel_socket_dgram_sync``: bound locally, connected to the remote."""
    import socket as socket_mod

    remote = _socket_address_flatten(data["remote"])
    local = _socket_address_flatten(data["local"]) if data.get("local") else None
    rhost, rport = remote.get("host", ""), remote.get("port", "")
    try:
        infos = socket_mod.getaddrinfo(rhost or None, rport or None, 0, socket_mod.SOCK_DGRAM)
    except socket_mod.gaierror as exc:
        raise CoreError(M.ADDRESS_RESOLUTION_FAILED.format(rhost, rport, exc.strerror)) from None
    family, socktype, proto, _, sockaddr = infos[0]
    sock = socket_mod.socket(family, socktype, proto)
    try:
        if local is not None:
            lhost, lport = local.get("host", ""), local.get("port", "")
            try:
                linfo = socket_mod.getaddrinfo(
                    lhost or None,
                    lport or None,
                    family,
                    socket_mod.SOCK_DGRAM,
                    0,
                    socket_mod.AI_PASSIVE,
                )
            except socket_mod.gaierror as exc:
                raise CoreError(
                    M.ADDRESS_RESOLUTION_FAILED.format(lhost, lport, exc.strerror)
                ) from None
            try:
                sock.bind(linfo[0][4])
            except OSError as exc:
                raise CoreError(M.SOCKET_BIND_FAILED.format(_strerror(exc.errno or 0))) from None
        try:
            sock.connect(sockaddr)
        except OSError as exc:
            raise CoreError(
                M.SOCKET_CONNECT_INET_FAILED.format(rhost, rport, _strerror(exc.errno or 0))
            ) from None
    except BaseException:
        sock.close()
        raise
    sock.setblocking(False)
    chr.udp = sock


_OPENERS = {
    "file": _open_file,
    "serial": _open_serial,
    "parallel": _open_parallel,
    "pipe": _open_pipe,
    "socket": _open_socket,
    "udp": _open_udp,
    "pty": _open_pty,
    "null": _open_nothing,
    "mux": _open_mux,
    "hub": _open_hub,
    "msmouse": _open_nothing,
    "wctablet": _open_nothing,
    "braille": _open_braille,
    "testdev": _open_nothing,
    "stdio": _open_stdio,
    "console": _open_nothing,
    "spicevmc": _open_spicevmc,
    "spiceport": _open_spiceport,
    "qemu-vdagent": _open_nothing,
    "dbus": _open_dbus,
    "vc": _open_nothing,
    "ringbuf": _open_ringbuf,
    "memory": _open_ringbuf,
}
