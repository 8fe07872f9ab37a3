"""The netdev types: what each init function checks, makes and keeps.

One function per ``net_client_init_fun[]`` entry of the release's binary
(``user``, ``tap``, ``bridge``, ``socket``, ``stream``, ``dgram``,
``l2tpv3``, ``vde``, ``hubport``, ``vhost-user``, ``vhost-vdpa``,
11.1's ``passt`` and ``-net nic``), in the order of QEMU's checks and with its texts.  Where
QEMU asks the host, :mod:`~memdevd.machine.net.host` and
:mod:`~memdevd.machine.net.sockets` ask it the same way; what a backend
keeps of the host (a tap descriptor, a bound port) is released by its
``cleanup()``, when QEMU's ``NetClientInfo.cleanup`` would.  No packet is
ever forwarded, and no program (script, helper, smbd) is run.
"""

from __future__ import annotations

import contextlib
import errno as E
import ipaddress
import os
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from memdevd import messages as M
from memdevd.machine.errors import CoreError
from memdevd.machine.net import host, slirp
from memdevd.machine.net import sockets as S
from memdevd.machine.net.clients import NIC, NetClient, NicInfo, parse_macaddr

if TYPE_CHECKING:
    from memdevd.machine.net.clients import NetLayer

#: include/net/net.h (Debian's paths, for both releases)
DEFAULT_NETWORK_SCRIPT: Final = "/etc/qemu-ifup"
DEFAULT_NETWORK_DOWN_SCRIPT: Final = "/etc/qemu-ifdown"
DEFAULT_BRIDGE_HELPER: Final = "/usr/lib/qemu/qemu-bridge-helper"
DEFAULT_BRIDGE_INTERFACE: Final = "br0"
BRIDGE_ACL_FILE: Final = "/etc/qemu/bridge.conf"
MAX_TAP_QUEUES: Final = 1024
#: include/net/net.h MAX_QUEUE_NUM (vhost-user queues)
MAX_QUEUE_NUM: Final = 1024
#: a script execv cannot start exits 1: waitpid's status 256
EXEC_FAILED_STATUS: Final = 256


def _strerror(errno: int) -> str:
    return os.strerror(errno)


def fd_param(layer: NetLayer, fdname: str) -> int:
    """``monitor_fd_param``: a number, or (from a monitor) a name given with
    ``getfd``; memdevd keeps no named descriptors."""
    if not fdname[:1].isdigit() and layer.monitor:
        raise CoreError(M.FD_NOT_FOUND.format(fdname))
    from memdevd.util.cutils import strtoll

    value, end, errno = strtoll(fdname, 10)
    if end == 0 or errno or end != len(fdname) or value < 0 or value > 0x7FFFFFFF:
        raise CoreError(M.FD_INVALID_NUMBER.format(fdname))
    return value


# -- tap and bridge -------------------------------------------------------------------


class TapState:
    """A tap backend's host side: its descriptor (passed or opened), a
    vhost descriptor.  Closed at cleanup, as tap_cleanup() closes them."""

    def __init__(self, fd: int, own: bool) -> None:
        self.fd = fd
        self.own = own
        self.vhostfd = -1
        self.vhost_own = False

    def cleanup(self) -> None:
        for fd, own in ((self.vhostfd, self.vhost_own), (self.fd, self.own)):
            if fd < 0:
                continue
            if own:
                host.close_own(fd)
            else:
                host.close_fd(fd)
        self.fd = self.vhostfd = -1


def _probe_vnet_hdr(fd: int) -> int:
    """``tap_probe_vnet_hdr``: 1 with IFF_VNET_HDR, 0 without; raises."""
    err, flags = host.tun_flags(fd)
    if err:
        raise CoreError(M.TAP_TUNGETIFF_FAILED.format(fd, _strerror(err)))
    return 1 if flags & host.IFF_VNET_HDR else 0


def _tap_fd_init(
    layer: NetLayer, peer: NetClient | None, model: str, name: str, fd: int, own: bool
) -> NetClient:
    """``net_tap_fd_init``."""
    nc = layer.new_client("tap", model, name, peer)
    nc.backend = TapState(fd, own)
    return nc


def _init_tap_one(
    layer: NetLayer,
    tap: dict[str, Any],
    peer: NetClient | None,
    model: str,
    name: str,
    ifname: str | None,
    script: str | None,
    downscript: str | None,
    vhostfdname: str | None,
    fd: int,
    own: bool,
) -> None:
    """``net_init_tap_one``: the client, sndbuf, its info line, vhost."""
    nc = _tap_fd_init(layer, peer, model, name, fd, own)
    state: TapState = nc.backend
    try:
        if "sndbuf" in tap and fd >= 0:
            err = host.tun_set_sndbuf(fd, min(int(tap["sndbuf"]), 0x7FFFFFFF) or 0x7FFFFFFF)
            if err:
                raise CoreError(M.TAP_SNDBUF_FAILED.format(_strerror(err)))
        if "fd" in tap or "fds" in tap:
            nc.info_str = f"fd={fd}"
        elif "helper" in tap:
            nc.info_str = f"helper={tap['helper']}"
        else:
            nc.info_str = f"ifname={ifname},script={script},downscript={downscript}"
        _tap_vhost(layer, tap, name, fd, vhostfdname, state)
    except CoreError:
        layer.del_client(nc)
        raise


def _tap_vhost(
    layer: NetLayer,
    tap: dict[str, Any],
    name: str,
    fd: int,
    vhostfdname: str | None,
    state: TapState,
) -> None:
    force = bool(tap.get("vhostforce"))
    wanted = tap.get("vhost", vhostfdname is not None or force)
    soft = layer.release.tap_vhost_failure_warns and not force
    if not wanted:
        if vhostfdname is not None:
            raise CoreError(M.TAP_VHOSTFD_WITHOUT_VHOST)
        return
    if vhostfdname is not None:
        try:
            vhostfd = fd_param(layer, vhostfdname)
        except CoreError as exc:
            if soft:
                layer.warn(exc.desc)
                raise _Dropped() from None
            raise
        err = host.set_nonblocking(vhostfd)
        if err:
            # Sic: QEMU names the tap's descriptor here.
            raise CoreError(layer.release.fd_nonblocking_text.format(name, fd, _strerror(err)))
        state.vhostfd, state.vhost_own = vhostfd, False
    else:
        vhostfd, err = host.open_device("/dev/vhost-net")
        if vhostfd < 0:
            if soft:
                layer.warn(layer.release.tap_vhost_open_text.format(_strerror(err)))
                raise _Dropped()
            raise CoreError(layer.release.tap_vhost_open_text.format(_strerror(err)))
        state.vhostfd, state.vhost_own = vhostfd, True
    # vhost_net_init(): the first ioctl a vhost-net descriptor answers.
    err = host.vhost_features(state.vhostfd)
    if err:
        layer.report(M.VHOST_SET_OWNER_FAILED.format(_strerror(err)))
        if soft:
            layer.warn(M.VHOST_NET_INIT_FAILED)
            raise _Dropped()
        raise CoreError(M.VHOST_NET_INIT_FAILED)


class _Dropped(CoreError):
    """QEMU 7.2: a vhost failure without vhostforce deletes the tap after a
    warning and reports no error (and then fails an assertion)."""

    def __init__(self) -> None:
        super().__init__(M.NET_DEVICE_NOT_INITIALIZED.format("tap"))


def _get_fds(text: str, limit: int) -> list[str]:
    """``get_fds``: the colon-separated names (at most ``limit``)."""
    out: list[str] = []
    pos = 0
    while len(out) < limit and pos < len(text):
        colon = text.find(":", pos)
        if colon < 0:
            out.append(text[pos:])
            break
        out.append(text[pos:colon])
        pos = colon + 1
    return out


def init_tap(layer: NetLayer, tap: dict[str, Any], name: str, peer: NetClient | None) -> None:
    """``net_init_tap``."""
    queues = int(tap.get("queues", 1))
    vhostfdname = tap.get("vhostfd")
    script, downscript = tap.get("script"), tap.get("downscript")
    if peer is not None and ("queues" in tap or "fds" in tap or "vhostfds" in tap):
        raise CoreError(M.TAP_MULTIQUEUE_HUBS)
    if "fd" in tap:
        if any(
            k in tap
            for k in ("ifname", "script", "downscript", "vnet_hdr", "helper", "queues", "fds",
                      "vhostfds")
        ):  # fmt: skip
            raise CoreError(M.TAP_INVALID_WITH_FD)
        fd = fd_param(layer, str(tap["fd"]))
        err = host.set_nonblocking(fd)
        if err:
            host.close_fd(fd)
            raise CoreError(layer.release.fd_nonblocking_text.format(name, fd, _strerror(err)))
        try:
            _probe_vnet_hdr(fd)
        except CoreError:
            host.close_fd(fd)
            raise
        try:
            _init_tap_one(layer, tap, peer, "tap", name, None, script, downscript,
                          vhostfdname, fd, False)  # fmt: skip
        except _Dropped:
            return
        except CoreError:
            host.close_fd(fd)
            raise
        return
    if "fds" in tap:
        if any(
            k in tap
            for k in ("ifname", "script", "downscript", "vnet_hdr", "helper", "queues",
                      "vhostfd")
        ):  # fmt: skip
            raise CoreError(M.TAP_INVALID_WITH_FDS)
        fds = _get_fds(str(tap["fds"]), MAX_TAP_QUEUES)
        vhost_fds: list[str] = []
        if "vhostfds" in tap:
            vhost_fds = _get_fds(str(tap["vhostfds"]), MAX_TAP_QUEUES)
            if len(fds) != len(vhost_fds):
                raise CoreError(M.TAP_FDS_VHOSTFDS_MISMATCH)
        vnet_hdr = 0
        for i, fdname in enumerate(fds):
            fd = fd_param(layer, fdname)
            err = host.set_nonblocking(fd)
            if err:
                raise CoreError(layer.release.fd_nonblocking_text.format(name, fd, _strerror(err)))
            if i == 0:
                vnet_hdr = _probe_vnet_hdr(fd)
            else:
                err, flags = host.tun_flags(fd)
                if err or (1 if flags & host.IFF_VNET_HDR else 0) != vnet_hdr:
                    raise CoreError(M.TAP_VNET_HDR_INCONSISTENT)
            try:
                _init_tap_one(layer, tap, peer, "tap", name, "", script, downscript,
                              vhost_fds[i] if vhost_fds else None, fd, False)  # fmt: skip
            except _Dropped:
                continue
        return
    if "helper" in tap:
        if any(
            k in tap for k in ("ifname", "script", "downscript", "vnet_hdr", "queues", "vhostfds")
        ):
            raise CoreError(M.TAP_INVALID_WITH_HELPER)
        run_bridge_helper(layer, str(tap["helper"]), str(tap.get("br", DEFAULT_BRIDGE_INTERFACE)))
        with contextlib.suppress(_Dropped):
            _init_tap_one(layer, tap, peer, "bridge", name, "", script, downscript,
                          vhostfdname, -1, True)  # fmt: skip
        return
    if "vhostfds" in tap:
        raise CoreError(M.TAP_VHOSTFDS_WITHOUT_FDS)
    script = script if script is not None else DEFAULT_NETWORK_SCRIPT
    downscript = downscript if downscript is not None else DEFAULT_NETWORK_DOWN_SCRIPT
    ifname = str(tap.get("ifname", ""))
    for i in range(queues):
        setup = "no" if i >= 1 else script
        fd, ifname, _ = _tap_open(layer, tap, ifname, setup, queues > 1)
        try:
            _init_tap_one(
                layer, tap, peer, "tap", name, ifname,
                "no" if i >= 1 else script, "no" if i >= 1 else downscript,
                vhostfdname, fd, True,
            )  # fmt: skip
        except _Dropped:
            continue
        except CoreError:
            host.close_own(fd)
            raise


def _tap_open(
    layer: NetLayer, tap: dict[str, Any], ifname: str, script: str, mq: bool
) -> tuple[int, str, int]:
    """``net_tap_init``: open the tap, then (QEMU) run the setup script."""
    if "vnet_hdr" in tap:
        vnet_hdr = bool(tap["vnet_hdr"])
        required = vnet_hdr
    else:
        vnet_hdr, required = True, False
    try:
        fd, got, has_hdr, warning = host.open_tun(ifname, vnet_hdr, required, mq)
    except host.TunFailure as exc:
        if exc.step == "open":
            raise CoreError(
                layer.release.tap_open_tun_text.format(host.PATH_NET_TUN, _strerror(exc.errno))
            ) from None
        if exc.step == "vnet_hdr":
            raise CoreError(M.TAP_VNET_HDR_REQUIRED) from None
        if exc.step == "multiqueue":
            raise CoreError(M.TAP_MQ_REQUIRED) from None
        if ifname:
            raise CoreError(
                M.TAP_CONFIGURE_NAMED_FAILED.format(
                    host.PATH_NET_TUN, exc.ifname, _strerror(exc.errno)
                )
            ) from None
        raise CoreError(
            M.TAP_CONFIGURE_FAILED.format(host.PATH_NET_TUN, _strerror(exc.errno))
        ) from None
    if warning:
        layer.warn(M.TAP_GETFEATURES_FAILED.format(warning))
    if script and script != "no" and not host.executable(script):
        # launch_script(): execv fails, the child exits 1.
        host.close_own(fd)
        raise CoreError(M.TAP_SCRIPT_FAILED.format(script, EXEC_FAILED_STATUS))
    return fd, got, 1 if has_hdr else 0


def run_bridge_helper(layer: NetLayer, helper: str, bridge: str) -> None:
    """``net_bridge_run_helper``, without running it: QEMU's helper
    (qemu-bridge-helper) is followed step by step (its messages on
    stderr, as the helper prints them); another program must exist."""
    program = helper.split()[0] if (" " in helper or "\t" in helper) else helper
    if " " in helper or "\t" in helper:
        program = "/bin/sh"
    if not host.executable(program):
        # execv fails, the child exits 1 without sending a descriptor.
        raise CoreError(M.BRIDGE_HELPER_FAILED)
    if os.path.realpath(helper) != os.path.realpath(DEFAULT_BRIDGE_HELPER):
        return
    failure = bridge_helper_outcome(bridge)
    if failure is not None:
        layer.report_plain(failure)
        raise CoreError(M.BRIDGE_HELPER_FAILED)


def bridge_helper_outcome(bridge: str) -> str | None:
    """What qemu-bridge-helper --br=BRIDGE prints when it fails, or None."""
    if len(bridge.encode()) >= host.IFNAMSIZ:
        return M.BRIDGE_HELPER_NAME_TOO_LONG.format(bridge, len(bridge.encode()))
    rules: list[tuple[str, str]] = []
    error = _parse_acl(BRIDGE_ACL_FILE, rules)
    if error is not None:
        return error + M.BRIDGE_HELPER_ACL_PARSE_FAILED.format(BRIDGE_ACL_FILE)
    allowed = denied = False
    for action, iface in rules:
        if action == "allow" and iface in ("all", bridge):
            allowed = True
        if action == "deny" and iface in ("all", bridge):
            denied = True
    if not allowed or denied:
        return M.BRIDGE_HELPER_ACCESS_DENIED
    fd, err = host.open_device(host.PATH_NET_TUN)
    if fd < 0:
        return M.BRIDGE_HELPER_TUN_OPEN_FAILED.format(_strerror(err))
    host.close_own(fd)
    if not host.interface_exists(bridge):
        return M.BRIDGE_HELPER_MTU_FAILED.format(bridge, _strerror(E.ENODEV))
    if not host.is_bridge(bridge):
        return M.BRIDGE_HELPER_ADD_FAILED.format("tap0", bridge, _strerror(E.EOPNOTSUPP))
    return None


def _parse_acl(path: str, rules: list[tuple[str, str]]) -> str | None:
    """``parse_acl_file``: None, or what it printed before failing ("" when
    the file cannot be opened)."""
    text = host.read_text(path)
    if text is None:
        return ""
    for raw in text.splitlines(keepends=True):
        line = raw.lstrip(" \t\n\v\f\r")
        if not line or line.startswith("#"):
            continue
        cut = line.find(" ")
        if cut < 0:
            cut = line.find("\t")
        if cut < 0:
            return M.BRIDGE_HELPER_INVALID_LINE.format(raw)
        cmd, arg = line[:cut], line[cut + 1 :].strip(" \t\n\v\f\r")
        if cmd != "include" and len(arg.encode()) >= host.IFNAMSIZ:
            return M.BRIDGE_HELPER_NAME_TOO_LONG.format(arg, len(arg.encode())) + "\n"
        if cmd in ("allow", "deny"):
            rules.append((cmd, arg))
        elif cmd == "include":
            _parse_acl(arg, rules)
        else:
            return M.BRIDGE_HELPER_UNKNOWN_COMMAND.format(cmd) + "\n"
    return None


def init_bridge(layer: NetLayer, bridge: dict[str, Any], name: str, peer: NetClient | None) -> None:
    """``net_init_bridge``."""
    helper = str(bridge.get("helper", DEFAULT_BRIDGE_HELPER))
    br = str(bridge.get("br", DEFAULT_BRIDGE_INTERFACE))
    run_bridge_helper(layer, helper, br)
    nc = _tap_fd_init(layer, peer, "bridge", name, -1, True)
    nc.info_str = f"helper={helper},br={br}"


# -- socket (the legacy socket backend) -------------------------------------------------


class SocketState:
    """A socket backend: its listening and connected sockets."""

    def __init__(self, layer: NetLayer, nc: NetClient) -> None:
        self.layer = layer
        self.nc = nc
        self.listen: S.Handle | None = None
        self.conn: S.Handle | None = None

    def owns(self, fd: int) -> bool:
        return any(h is not None and h.fd == fd for h in (self.listen, self.conn))

    def io_ready(self, fd: int, readable: bool) -> None:
        if self.listen is not None and fd == self.listen.fd:
            try:
                sock, addr = self.listen.sock.accept()
            except OSError:
                return
            # net_socket_accept(): one connection; the listener is left alone.
            self.layer.io.unwatch(fd)
            sock.setblocking(False)
            self.conn = S.Handle(sock)
            self.nc.link_down = False
            self.nc.info_str = f"socket: connection from {addr[0]}:{addr[1]}"
            self.layer.io.watch(self.conn.fd)
            return
        if self.conn is not None and fd == self.conn.fd and not _drain(self.conn):
            # net_socket_send(): end of connection (or a connect that
            # failed): closed, link down, no info; a listener listens again.
            self.layer.io.unwatch(fd)
            self.conn.close()
            self.conn = None
            self.nc.link_down = True
            self.nc.info_str = ""
            if self.listen is not None:
                self.layer.io.watch(self.listen.fd)

    def cleanup(self) -> None:
        for h in (self.conn, self.listen):
            if h is not None:
                self.layer.io.unwatch(h.fd)
                h.close()
        self.conn = self.listen = None


def _drain(handle: S.Handle) -> bool:
    """Read and drop what arrived (no guest takes packets): False at EOF."""
    try:
        data = handle.sock.recv(65536)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return bool(data)


def _host_port(text: str) -> tuple[str, int]:
    """``parse_host_port``: (IPv4 address, port)."""
    host_part, sep, port_part = text.partition(":")
    if not sep:
        raise CoreError(M.HOST_PORT_NO_COLON.format(text))
    return _convert_host_port(host_part, port_part)


def _convert_host_port(host_part: str, port_part: str) -> tuple[str, int]:
    """``convert_host_port``."""
    if host_part == "":
        address = "0.0.0.0"
    elif host_part[:1].isdigit():
        parsed = _inet_aton(host_part)
        if parsed is None:
            raise CoreError(M.HOST_ADDRESS_NOT_IPV4.format(host_part))
        address = parsed
    else:
        try:
            address = socket.gethostbyname(host_part)
        except OSError:
            raise CoreError(M.HOST_ADDRESS_UNRESOLVED.format(host_part)) from None
    from memdevd.util.cutils import qemu_strtoi64

    err, port, _ = qemu_strtoi64(port_part, 0, want_end=False)
    if err:
        raise CoreError(M.PORT_NUMBER_INVALID.format(port_part))
    return address, port & 0xFFFF


def _inet_aton(text: str) -> str | None:
    """glibc ``inet_aton``: dotted forms with 1-4 parts, each any base."""
    from memdevd.util.cutils import strtoull

    parts = text.split(".")
    if not 1 <= len(parts) <= 4 or any(p == "" for p in parts):
        return None
    values = []
    for p in parts:
        value, end, errno = strtoull(p, 0)
        if errno or end != len(p) or p[:1] in "+- ":
            return None
        values.append(value)
    limits = {1: [1 << 32], 2: [256, 1 << 24], 3: [256, 256, 1 << 16], 4: [256] * 4}
    if any(v >= lim for v, lim in zip(values, limits[len(parts)], strict=True)):
        return None
    number = 0
    shifts = {1: [0], 2: [24, 0], 3: [24, 16, 0], 4: [24, 16, 8, 0]}
    for v, shift in zip(values, shifts[len(parts)], strict=True):
        number |= v << shift
    return str(ipaddress.IPv4Address(number))


def init_socket(layer: NetLayer, sock: dict[str, Any], name: str, peer: NetClient | None) -> None:
    """``net_init_socket``."""
    chosen = sum(1 for k in ("fd", "listen", "connect", "mcast", "udp") if k in sock)
    if chosen != 1:
        raise CoreError(M.SOCKET_EXACTLY_ONE)
    if "localaddr" in sock and "mcast" not in sock and "udp" not in sock:
        raise CoreError(M.SOCKET_LOCALADDR_ONLY)
    if "fd" in sock:
        fd = fd_param(layer, str(sock["fd"]))
        err, so_type = host.socket_type(fd)
        if err:
            raise CoreError(M.SOCKET_SO_TYPE)
        if so_type not in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
            raise CoreError(M.SOCKET_BAD_TYPE.format(so_type, fd))
        err = host.set_nonblocking(fd)
        if err:
            raise CoreError(layer.release.fd_nonblocking_text.format(name, fd, _strerror(err)))
        handle = S.Handle(socket.socket(fileno=fd))
        host.inherited_fds().discard(fd)
        nc = layer.new_client("socket", "socket", name, peer)
        state = SocketState(layer, nc)
        state.conn = handle
        nc.backend = state
        kind = "unix" if handle.sock.family == socket.AF_UNIX else "inet"
        nc.info_str = (
            f"socket: fd={fd}" if so_type == socket.SOCK_STREAM else (f"socket: fd={fd} {kind}")
        )
        layer.io.watch(handle.fd)
        return
    if "listen" in sock:
        address, port = _host_port(str(sock["listen"]))
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((address, port))
        except OSError as exc:
            s.close()
            raise CoreError(
                M.SOCKET_BIND_IP_FAILED.format(address, _strerror(exc.errno or 0))
            ) from None
        try:
            s.listen(0)
        except OSError as exc:
            s.close()
            raise CoreError(M.SOCKET_LISTEN_ON_FAILED.format(_strerror(exc.errno or 0))) from None
        nc = layer.new_client("socket", "socket", name, peer)
        state = SocketState(layer, nc)
        state.listen = S.Handle(s)
        nc.backend = state
        nc.link_down = True
        layer.io.watch(state.listen.fd)
        return
    if "connect" in sock:
        address, port = _host_port(str(sock["connect"]))
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        err = s.connect_ex((address, port))
        if err not in (0, E.EINPROGRESS, E.EALREADY, E.EWOULDBLOCK, E.EINTR):
            s.close()
            raise CoreError(M.SOCKET_CONNECT_FAILED.format(_strerror(err)))
        nc = layer.new_client("socket", "socket", name, peer)
        state = SocketState(layer, nc)
        state.conn = S.Handle(s)
        nc.backend = state
        nc.info_str = f"socket: connect to {address}:{port}"
        layer.io.watch(state.conn.fd)
        return
    if "mcast" in sock:
        address, port = _host_port(str(sock["mcast"]))
        local = None
        if "localaddr" in sock:
            local = _inet_aton(str(sock["localaddr"]))
            if local is None:
                raise CoreError(M.SOCKET_LOCALADDR_INVALID.format(sock["localaddr"]))
        handle = _mcast_create(address, port, local)
        nc = layer.new_client("socket", "socket", name, peer)
        state = SocketState(layer, nc)
        state.conn = handle
        nc.backend = state
        nc.info_str = f"socket: mcast={address}:{port}"
        return
    if "localaddr" not in sock:
        raise CoreError(M.SOCKET_LOCALADDR_MANDATORY)
    laddr, lport = _host_port(str(sock["localaddr"]))
    raddr, rport = _host_port(str(sock["udp"]))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((laddr, lport))
    except OSError as exc:
        s.close()
        raise CoreError(M.SOCKET_BIND_IP_FAILED.format(laddr, _strerror(exc.errno or 0))) from None
    s.setblocking(False)
    nc = layer.new_client("socket", "socket", name, peer)
    state = SocketState(layer, nc)
    state.conn = S.Handle(s)
    nc.backend = state
    nc.info_str = f"socket: udp={raddr}:{rport}"


def _mcast_create(address: str, port: int, local: str | None) -> S.Handle:
    """``net_socket_mcast_create`` / ``net_dgram_mcast_create``."""
    number = int(ipaddress.IPv4Address(address))
    if not ipaddress.IPv4Address(address).is_multicast:
        raise CoreError(M.MCAST_NOT_MULTICAST.format(address, number))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def fail(text: str, exc: OSError) -> CoreError:
        s.close()
        return CoreError(text.format(_strerror(exc.errno or 0)))

    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    except OSError as exc:
        raise fail(M.SOCKET_SO_REUSEADDR_FAILED, exc) from None
    try:
        s.bind((address, port))
    except OSError as exc:
        raise fail(M.SOCKET_BIND_IP_FAILED.replace("{}", address, 1), exc) from None
    iface = socket.inet_aton(local or "0.0.0.0")
    try:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(address) + iface)
    except OSError as exc:
        raise fail(M.MCAST_ADD_MEMBERSHIP_FAILED.replace("{}", address, 1), exc) from None
    try:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
    except OSError as exc:
        raise fail(M.MCAST_LOOP_FAILED, exc) from None
    if local is not None:
        try:
            s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, iface)
        except OSError as exc:
            raise fail(M.MCAST_IF_FAILED, exc) from None
    s.setblocking(False)
    return S.Handle(s)


# -- stream ------------------------------------------------------------------------------


class StreamState:
    """A stream backend: a listener and its one connection (server), or a
    connection (client, reconnecting every ``reconnect_ms``)."""

    def __init__(self, layer: NetLayer, nc: NetClient, addr: dict[str, Any]) -> None:
        self.layer = layer
        self.nc = nc
        self.addr = addr
        self.listen: S.Handle | None = None
        self.conn: S.Handle | None = None
        self.connecting: S.Handle | None = None
        self.pending: list[tuple[Any, ...]] = []
        self.error = ""
        self.reconnect_ms = 0
        self.timer: Any = None

    def owns(self, fd: int) -> bool:
        return any(h is not None and h.fd == fd for h in (self.listen, self.conn, self.connecting))

    # server
    def listening(self) -> None:
        """``net_stream_server_listening`` (QEMU's listen completes later)."""
        self.timer = None
        if self.listen is None:
            self.nc.info_str = self._error_text()
            return
        self.nc.link_down = True
        if self.layer.release.stream_state_texts:
            self.nc.info_str = M.STREAM_LISTENING
        self.layer.io.watch(self.listen.fd)

    def _error_text(self) -> str:
        if self.layer.release.stream_state_texts:
            return M.STREAM_ERROR.format(self.error)
        return M.STREAM_CONNECTION_ERROR_72

    def io_ready(self, fd: int, readable: bool) -> None:
        if self.listen is not None and fd == self.listen.fd:
            self._accept()
        elif self.connecting is not None and fd == self.connecting.fd:
            self._connect_done()
        elif self.conn is not None and fd == self.conn.fd and not _drain(self.conn):
            self._disconnected()

    def _accept(self) -> None:
        assert self.listen is not None
        try:
            sock, _ = self.listen.sock.accept()
        except OSError:
            return
        self.layer.io.unwatch(self.listen.fd)
        sock.setblocking(False)
        self.conn = S.Handle(sock)
        self.nc.link_down = False
        if sock.family == socket.AF_UNIX:
            addr = S.local_address(self.conn)
        else:
            addr = S.remote_address(self.conn)
        self.nc.info_str = S.socket_uri(addr)
        self.layer.io.watch(self.conn.fd)
        self.layer.emit("NETDEV_STREAM_CONNECTED", {"netdev-id": self.nc.name, "addr": addr})

    def _disconnected(self) -> None:
        """``net_stream_send`` at the end of the connection."""
        assert self.conn is not None
        self.layer.io.unwatch(self.conn.fd)
        self.conn.close()
        self.conn = None
        self.nc.link_down = True
        if not self.layer.release.stream_state_texts:
            self.nc.info_str = ""
        elif self.listen is not None:
            self.nc.info_str = M.STREAM_LISTENING
        if self.listen is not None:
            self.layer.io.watch(self.listen.fd)
        self.layer.emit("NETDEV_STREAM_DISCONNECTED", {"netdev-id": self.nc.name})
        self._arm_reconnect()

    # client
    def connect(self) -> None:
        """``qio_channel_socket_connect_async``: start; the outcome comes later."""
        self.timer = None
        kind = self.addr.get("type")
        try:
            if kind == "inet":
                self.pending = S.inet_connect_start(self.addr)
                self._try_next(0)
                return
            if kind == "unix":
                self.conn = S.unix_connect(self.addr)
            elif kind == "fd":
                self.conn = S.fd_socket(str(self.addr["str"]), not self.layer.monitor)
            else:
                raise S.SockError(M.SOCKET_ADDRESS_TYPE_UNSUPPORTED)
        except S.SockError as exc:
            self.error = exc.text
            self.layer.later(self.connected)
            return
        self.layer.later(self.connected)

    def _try_next(self, last_errno: int) -> None:
        while self.pending:
            info = self.pending.pop(0)
            handle, err = S.connect_nonblocking(info)
            if handle is None:
                last_errno = err
                continue
            if err == 0:
                self.conn = handle
                self.layer.later(self.connected)
                return
            self.connecting = handle
            self.layer.io.watch(handle.fd, read=False, write=True)
            return
        self.error = M.SOCKET_CONNECT_INET_FAILED.format(
            self.addr["host"], self.addr["port"], _strerror(last_errno or E.ECONNREFUSED)
        )
        self.layer.later(self.connected)

    def _connect_done(self) -> None:
        handle = self.connecting
        assert handle is not None
        self.layer.io.unwatch(handle.fd)
        self.connecting = None
        err = S.pending_error(handle)
        if err:
            handle.close()
            self._try_next(err)
            return
        self.conn = handle
        self.connected()

    def connected(self) -> None:
        """``net_stream_client_connected``."""
        self.timer = None
        if self.conn is None:
            self.nc.info_str = self._error_text()
            self._arm_reconnect()
            return
        addr = S.remote_address(self.conn)
        self.nc.info_str = S.socket_uri(addr)
        self.nc.link_down = False
        self.layer.io.watch(self.conn.fd)
        self.layer.emit("NETDEV_STREAM_CONNECTED", {"netdev-id": self.nc.name, "addr": addr})

    def _arm_reconnect(self) -> None:
        if self.reconnect_ms and self.timer is None:
            self.nc.info_str = M.STREAM_CONNECTING
            self.timer = self.layer.later(self.connect, self.reconnect_ms * 1_000_000)

    def cleanup(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        for h in (self.conn, self.connecting, self.listen):
            if h is not None:
                self.layer.io.unwatch(h.fd)
                h.close()
        self.conn = self.connecting = self.listen = None


def init_stream(layer: NetLayer, opts: dict[str, Any], name: str, peer: NetClient | None) -> None:
    """``net_init_stream``."""
    addr = dict(opts["addr"])
    if not opts.get("server", False):
        reconnect_ms = 0
        if "reconnect" in opts and "reconnect-ms" in opts:
            raise CoreError(M.STREAM_RECONNECT_EXCLUSIVE)
        if "reconnect-ms" in opts:
            reconnect_ms = int(opts["reconnect-ms"]) & 0xFFFFFFFF
        elif "reconnect" in opts:
            reconnect_ms = (int(opts["reconnect"]) * 1000) & 0xFFFFFFFF
        nc = layer.new_client("stream", "stream", name, peer)
        if layer.release.stream_state_texts:
            nc.info_str = M.STREAM_CONNECTING
        nc.link_down = True
        state = StreamState(layer, nc, addr)
        state.reconnect_ms = reconnect_ms
        nc.backend = state
        state.connect()
        return
    if "reconnect" in opts or "reconnect-ms" in opts:
        raise CoreError(M.STREAM_RECONNECT_SERVER)
    nc = layer.new_client("stream", "stream", name, peer)
    if layer.release.stream_state_texts:
        nc.info_str = M.STREAM_INITIALIZING
    state = StreamState(layer, nc, addr)
    nc.backend = state
    kind = addr.get("type")
    try:
        if kind == "inet":
            state.listen = S.inet_listen(addr, 0)
        elif kind == "unix":
            state.listen = S.unix_listen(addr, 0)
        elif kind == "fd":
            handle = S.fd_socket(str(addr["str"]), not layer.monitor)
            try:
                handle.sock.listen(0)
            except OSError as exc:
                handle.close()
                raise S.SockError(
                    M.SOCKET_LISTEN_FD_FAILED.format(_strerror(exc.errno or 0))
                ) from None
            handle.sock.setblocking(False)
            state.listen = handle
        else:
            raise S.SockError(M.SOCKET_ADDRESS_TYPE_UNSUPPORTED)
    except S.SockError as exc:
        state.error = exc.text
    state.timer = layer.later(state.listening)


# -- dgram -------------------------------------------------------------------------------


class DgramState:
    """A dgram backend's socket."""

    def __init__(self, layer: NetLayer, handle: S.Handle | None, path: str = "") -> None:
        self.layer = layer
        self.handle = handle

    def cleanup(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


def _inet_of(addr: dict[str, Any]) -> tuple[str, int]:
    return _convert_host_port(str(addr["host"]), str(addr["port"]))


def init_dgram(layer: NetLayer, opts: dict[str, Any], name: str, peer: NetClient | None) -> None:
    """``net_init_dgram``."""
    remote = opts.get("remote")
    local = opts.get("local")
    if remote is not None and remote.get("type") == "inet":
        address, port = _inet_of(remote)
        if ipaddress.IPv4Address(address).is_multicast:
            _init_dgram_mcast(layer, name, peer, address, port, local)
            return
    if local is None:
        raise CoreError(M.DGRAM_REQUIRES_LOCAL)
    if remote is not None:
        if local.get("type") == "fd":
            raise CoreError(M.DGRAM_REMOTE_WITH_FD)
        if remote.get("type") != local.get("type"):
            raise CoreError(M.DGRAM_TYPES_DIFFER)
    elif local.get("type") != "fd":
        raise CoreError(M.DGRAM_REQUIRES_REMOTE)
    kind = local.get("type")
    if kind == "inet":
        assert remote is not None
        laddr, lport = _inet_of(local)
        raddr, rport = _inet_of(remote)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((laddr, lport))
        except OSError as exc:
            s.close()
            raise CoreError(
                M.SOCKET_BIND_IP_FAILED.format(laddr, _strerror(exc.errno or 0))
            ) from None
        s.setblocking(False)
        nc = layer.new_client("dgram", "dgram", name, peer)
        nc.backend = DgramState(layer, S.Handle(s))
        nc.info_str = f"udp={laddr}:{lport}/{raddr}:{rport}"
        return
    if kind == "unix":
        assert remote is not None
        lpath, rpath = str(local["path"]), str(remote["path"])
        try:
            os.unlink(lpath)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise CoreError(
                M.DGRAM_UNLINK_FAILED.format(lpath, _strerror(exc.errno or 0))
            ) from None
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            s.bind(lpath)
        except OSError as exc:
            s.close()
            raise CoreError(
                M.DGRAM_BIND_UNIX_FAILED.format(lpath, _strerror(exc.errno or 0))
            ) from None
        s.setblocking(False)
        nc = layer.new_client("dgram", "dgram", name, peer)
        nc.backend = DgramState(layer, S.Handle(s), lpath)
        nc.info_str = f"udp={lpath}:{rpath}"
        return
    if kind == "fd":
        fd = fd_param(layer, str(local["str"]))
        err = host.set_nonblocking(fd)
        if err:
            raise CoreError(layer.release.fd_nonblocking_text.format(name, fd, _strerror(err)))
        try:
            handle = S.Handle(socket.socket(fileno=fd))
        except OSError as exc:
            raise CoreError(
                M.SOCKET_LOCAL_ADDRESS_FAILED.format(_strerror(exc.errno or 0))
            ) from None
        host.inherited_fds().discard(fd)
        nc = layer.new_client("dgram", "dgram", name, peer)
        nc.backend = DgramState(layer, handle)
        family = "unix" if handle.sock.family == socket.AF_UNIX else "inet"
        nc.info_str = f"fd={fd} {family}"
        return
    raise CoreError(M.DGRAM_LOCAL_TYPES)


def _init_dgram_mcast(
    layer: NetLayer,
    name: str,
    peer: NetClient | None,
    address: str,
    port: int,
    local: dict[str, Any] | None,
) -> None:
    """``net_dgram_mcast_init``: a multicast group (model "dram", sic)."""
    local_ip = None
    if local is not None:
        if local.get("type") != "inet":
            if local.get("type") == "fd":
                raise CoreError(M.DGRAM_MCAST_FD_NOT_EMULATED)
            raise CoreError(M.DGRAM_LOCAL_TYPES)
        local_ip = _inet_aton(str(local["host"]))
        if local_ip is None:
            raise CoreError(M.SOCKET_LOCALADDR_INVALID.format(local["host"]))
    handle = _mcast_create(address, port, local_ip)
    nc = layer.new_client("dgram", "dram", name, peer)
    nc.backend = DgramState(layer, handle)
    nc.info_str = f"mcast={address}:{port}"


# -- l2tpv3, vde -------------------------------------------------------------------------


def init_l2tpv3(layer: NetLayer, opts: dict[str, Any], name: str, peer: NetClient | None) -> None:
    """``net_init_l2tpv3``: the client first, deleted again on failure."""
    nc = layer.new_client("l2tpv3", "l2tpv3", name, peer)
    try:
        _l2tpv3(layer, nc, opts)
    except CoreError:
        layer.del_client(nc)
        raise


def _l2tpv3(layer: NetLayer, nc: NetClient, opts: dict[str, Any]) -> None:
    ipv6 = bool(opts.get("ipv6"))
    if "offset" in opts and int(opts["offset"]) > 256:
        raise CoreError(M.L2TPV3_OFFSET)
    if ("rxcookie" in opts) != ("txcookie" in opts):
        raise CoreError(M.L2TPV3_COOKIES)
    udp = bool(opts.get("udp"))
    srcport = dstport = None
    if udp:
        if not (opts.get("srcport") and opts.get("dstport")):
            raise CoreError(M.L2TPV3_PORTS)
        srcport, dstport = str(opts["srcport"]), str(opts["dstport"])
    family = socket.AF_INET6 if ipv6 else socket.AF_INET
    stype = socket.SOCK_DGRAM if udp else socket.SOCK_RAW
    proto = 0 if udp else 115  # IPPROTO_L2TP
    try:
        infos = socket.getaddrinfo(str(opts["src"]), srcport, family, stype, proto)
    except socket.gaierror as exc:
        raise CoreError(M.L2TPV3_RESOLVE_SRC.format(exc.strerror)) from None
    fam, st, pr, _, sockaddr = infos[0]
    try:
        s = socket.socket(fam, st, pr)
    except OSError as exc:
        raise CoreError(M.L2TPV3_SOCKET.format(exc.errno)) from None
    try:
        s.bind(sockaddr)
    except OSError as exc:
        s.close()
        raise CoreError(M.L2TPV3_BIND.format(exc.errno)) from None
    try:
        socket.getaddrinfo(str(opts["dst"]), dstport, family, stype, proto)
    except socket.gaierror as exc:
        s.close()
        raise CoreError(M.L2TPV3_RESOLVE_DST.format(exc.strerror)) from None
    s.setblocking(False)
    nc.backend = DgramState(layer, S.Handle(s))
    nc.info_str = "l2tpv3: connected"


#: libvdeplug's default switch (VDESTDSOCK)
VDE_DEFAULT_SOCK: Final = "/var/run/vde.ctl"


def init_vde(layer: NetLayer, opts: dict[str, Any], name: str, peer: NetClient | None) -> None:
    """``net_init_vde``: ``vde_open`` must reach a switch's control socket.

    libvdeplug connects to the switch's ``ctl`` socket (or the path itself)
    and asks for a port; memdevd looks for the socket only and refuses a
    switch it would have to talk to."""
    sock = str(opts.get("sock") or VDE_DEFAULT_SOCK)
    path = os.path.join(sock, "ctl") if os.path.isdir(sock) else sock
    if not os.path.exists(path):
        raise CoreError(M.VDE_OPEN_FAILED.format(_strerror(E.ENOENT)))
    raise CoreError(M.VDE_NOT_EMULATED)


# -- passt (11.1) --------------------------------------------------------------------------


def init_passt(layer: NetLayer, opts: dict[str, Any], name: str, peer: NetClient | None) -> None:
    """``net_init_passt`` (11.1; only a release whose schema has ``passt``
    reaches it): QEMU starts the passt daemon (``path``, default ``passt``
    looked up in ``$PATH`` by GLib's spawn); a program it cannot start is
    GLib's error (seen live), one it could start memdevd refuses: it runs
    no program."""
    path = str(opts.get("path") or "passt")
    err = _spawn_error(path)
    if err is not None:
        raise CoreError(M.PASST_SPAWN_FAILED.format(path, _strerror(err)))
    raise CoreError(M.PASST_NOT_EMULATED)


def _spawn_error(program: str) -> int | None:
    """The errno ``execvp`` would fail with for ``program`` (None: it would
    run): a name without ``/`` is looked up in ``$PATH``, EACCES where only
    non-executable files of that name were found, ENOENT where none was."""
    if "/" in program:
        candidates = [program]
    else:
        dirs = os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin").split(os.pathsep)
        candidates = [os.path.join(d or ".", program) for d in dirs]
    found = E.ENOENT
    for candidate in candidates:
        if os.path.isfile(candidate):
            if os.access(candidate, os.X_OK):
                return None
            found = E.EACCES
        elif os.path.isdir(candidate):
            found = E.EACCES
    return found


# -- hubport, nic -------------------------------------------------------------------------


def init_hubport(layer: NetLayer, opts: dict[str, Any], name: str, peer: NetClient | None) -> None:
    """``net_init_hubport``."""
    assert peer is None
    hubpeer = None
    if "netdev" in opts:
        hubpeer = layer.find_netdev(str(opts["netdev"]))
        if hubpeer is None:
            raise CoreError(M.NETDEV_NOT_FOUND.format(opts["netdev"]))
        if hubpeer.peer is not None:
            # QEMU asserts (a client has one peer) and aborts.
            raise CoreError(M.HUBPORT_PEER_IN_USE.format(opts["netdev"]))
    layer.hub_add_port(int(opts["hubid"]), name, hubpeer)


def init_nic(layer: NetLayer, opts: dict[str, Any], name: str, peer: NetClient | None) -> None:
    """``net_init_nic`` (``-net nic``): an ``nd_table`` entry; the board
    makes the device."""
    if layer.nic_free_index() is None or layer.nb_nics >= len(layer.nd_table):
        raise CoreError(M.NET_TOO_MANY_NICS)
    if "netdev" in opts:
        netdev = layer.find_netdev(str(opts["netdev"]))
        if netdev is None:
            raise CoreError(M.NETDEV_NOT_FOUND.format(opts["netdev"]))
    else:
        assert peer is not None
        netdev = peer
    nd = NicInfo(netdev, name=name, model=opts.get("model"), devaddr=opts.get("addr"))
    mac: tuple[int, ...] = (0,) * 6
    if "macaddr" in opts:
        parsed = parse_macaddr(str(opts["macaddr"]))
        if parsed is None:
            raise CoreError(M.NET_INVALID_MAC)
        if parsed[0] & 1:
            raise CoreError(M.NET_MULTICAST_MAC_ODD)
        mac = parsed
    nd.macaddr = layer.macaddr_default_if_unset(mac)
    if "vectors" in opts:
        vectors = int(opts["vectors"])
        if vectors > 0x7FFFFFF:
            raise CoreError(M.NET_INVALID_VECTORS.format(vectors))
        nd.nvectors = vectors
    layer.add_nic_info(nd)


# -- vhost-user, vhost-vdpa ------------------------------------------------------------------


def init_vhost_user(
    layer: NetLayer, opts: dict[str, Any], name: str, peer: NetClient | None
) -> None:
    """``net_init_vhost_user``: the chardev must be a UNIX socket one."""
    label = str(opts["chardev"])
    kind = layer.chardev_kind(label)
    if kind is None:
        raise CoreError(M.VHOST_USER_CHARDEV_NOT_FOUND.format(label))
    if kind not in ("socket-unix", "socket-tcp"):
        raise CoreError(M.VHOST_USER_CHARDEV_NOT_RECONNECTABLE.format(label))
    if kind != "socket-unix":
        raise CoreError(M.VHOST_USER_CHARDEV_NO_FD_PASS.format(label))
    queues = int(opts.get("queues", 1))
    if queues < 1 or queues > MAX_QUEUE_NUM:
        raise CoreError(M.VHOST_USER_QUEUES.format(MAX_QUEUE_NUM))
    # qemu_chr_fe_wait_connected() and the vhost-user handshake: memdevd
    # speaks no vhost-user.
    raise CoreError(M.VHOST_USER_NOT_EMULATED)


def init_vhost_vdpa(
    layer: NetLayer, opts: dict[str, Any], name: str, peer: NetClient | None
) -> None:
    """``net_init_vhost_vdpa``: the device must answer VHOST_GET_FEATURES."""
    if "vhostdev" not in opts and "vhostfd" not in opts:
        raise CoreError(M.VDPA_NO_DEVICE)
    if "vhostdev" in opts and "vhostfd" in opts:
        raise CoreError(M.VDPA_BOTH)
    if "vhostdev" in opts:
        path = str(opts["vhostdev"])
        fd, err = host.open_device(path)
        if fd < 0:
            raise CoreError(M.COULD_NOT_OPEN.format(path, _strerror(err)))
        own = True
    else:
        try:
            fd = fd_param(layer, str(opts["vhostfd"]))
        except CoreError as exc:
            raise CoreError(M.VDPA_VHOSTFD_PREFIX + exc.desc) from None
        own = False
    err = host.vhost_features(fd)
    err_text = M.VDPA_NOT_EMULATED if err == 0 else M.VDPA_FEATURES_FAILED.format(_strerror(err))
    if own:
        host.close_own(fd)
    else:
        host.close_fd(fd)
    raise CoreError(err_text)


# -- user ----------------------------------------------------------------------------------


def init_user(layer: NetLayer, opts: dict[str, Any], name: str, peer: NetClient | None) -> None:
    """``net_init_slirp``: the checks of net_slirp_init, then the host
    forwards (ports really bound) and smb's checks."""
    config = slirp.configure(opts, layer.release)
    nc = layer.new_client("user", "user", name, peer)
    nc.info_str = f"net={config.network},restrict={'on' if config.restricted else 'off'}"
    state = slirp.SlirpState(config)
    nc.backend = state
    try:
        slirp.add_forwards(state, opts, layer.release)
    except CoreError:
        layer.del_client(nc)
        raise


INIT_FUNCTIONS: Final[
    dict[str, Callable[[NetLayer, dict[str, Any], str, NetClient | None], None]]
] = {
    NIC: init_nic,
    "user": init_user,
    "tap": init_tap,
    "socket": init_socket,
    "stream": init_stream,
    "dgram": init_dgram,
    "vde": init_vde,
    "bridge": init_bridge,
    "hubport": init_hubport,
    "vhost-user": init_vhost_user,
    "vhost-vdpa": init_vhost_vdpa,
    "passt": init_passt,
    "l2tpv3": init_l2tpv3,
}
