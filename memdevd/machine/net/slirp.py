"""The user-mode network (``-netdev user``): ``net/slirp.c``'s checks.

memdevd has no slirp: nothing is routed, no DHCP or DNS answers.  What a
management tool sees of a user netdev is kept: the address checks of
``net_slirp_init`` in their order, the ``hostfwd``/``guestfwd`` rule
syntax, the host ports a ``hostfwd`` binds (really bound, so a port in use
fails as in QEMU, and never accepted from), ``smb``'s checks, and the
``info network`` line.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import field
from typing import TYPE_CHECKING, Any

from memdevd import messages as M
from memdevd.machine.errors import CoreError
from memdevd.machine.net.sockets import Handle
from memdevd.records import record

if TYPE_CHECKING:
    from memdevd.releases.table import Release

#: CONFIG_SMBD_COMMAND of Debian's builds
SMBD_COMMAND = "/usr/sbin/smbd"


@record
class Config:
    """What net_slirp_init settled (IPv4 addresses as integers)."""

    restricted: bool
    network: str
    net: int
    mask: int
    host: int
    dhcp: int
    dns: int
    prefix6: str = "fec0::"
    prefix6_len: int = 64


@record
class SlirpState:
    """A user netdev's host side: the forwarded ports it holds."""

    config: Config
    handles: list[Handle] = field(default_factory=list)
    # guestfwd targets already taken: (address, port)
    guestfwd: list[tuple[int, int]] = field(default_factory=list)

    def cleanup(self) -> None:
        for h in self.handles:
            h.close()
        self.handles.clear()


def _aton(text: str) -> int | None:
    from memdevd.machine.net.backends import _inet_aton

    parsed = _inet_aton(text)
    return None if parsed is None else int(ipaddress.IPv4Address(parsed))


def _ntoa(value: int) -> str:
    return str(ipaddress.IPv4Address(value & 0xFFFFFFFF))


def _class_mask(addr: int) -> int:
    if not addr & 0x80000000:
        return 0xFF000000
    if addr & 0xFFF00000 == 0xAC100000:
        return 0xFFF00000
    if addr & 0xC0000000 == 0x80000000:
        return 0xFFFF0000
    if addr & 0xFFFF0000 == 0xC0A80000:
        return 0xFFFF0000
    if addr & 0xFFFF0000 == 0xC6120000:
        return 0xFFFE0000
    if addr & 0xE0000000 == 0xE0000000:
        return 0xFFFFFF00
    return 0xFFFFFFF0


def _in6(text: str) -> ipaddress.IPv6Address | None:
    try:
        return ipaddress.IPv6Address(text)
    except ValueError:
        return None


def _same_net6(a: ipaddress.IPv6Address, b: ipaddress.IPv6Address, length: int) -> bool:
    shift = 128 - length
    return int(a) >> shift == int(b) >> shift


def configure(opts: dict[str, Any], release: Release) -> Config:
    """``net_init_slirp`` up to ``slirp_new``: every check, in order."""
    has4, has6 = "ipv4" in opts, "ipv6" in opts
    ipv4 = ipv6 = True
    if (has6 and opts["ipv6"] and not has4) or (has4 and not opts["ipv4"]):
        ipv4 = False
    if (has4 and opts["ipv4"] and not has6) or (has6 and not opts["ipv6"]):
        ipv6 = False
    vnet = opts.get("net")
    if vnet is None and "ip" in opts:
        vnet = f"{opts['ip']}/24"
    restricted = bool(opts.get("restrict", False))
    if not ipv4 and (vnet is not None or "host" in opts or "dns" in opts):
        raise CoreError(M.SLIRP_IPV4_DISABLED)
    if not ipv6 and ("ipv6-prefix" in opts or "ipv6-host" in opts or "ipv6-dns" in opts):
        raise CoreError(M.SLIRP_IPV6_DISABLED)
    if not ipv4 and not ipv6:
        raise CoreError(M.SLIRP_BOTH_DISABLED)
    net, mask = 0x0A000200, 0xFFFFFF00
    hostaddr, dhcp, dns = 0x0A000202, 0x0A00020F, 0x0A000203
    if vnet is not None:
        vnet = str(vnet)
        if "/" not in vnet:
            parsed = _aton(vnet)
            if parsed is None:
                raise CoreError(M.SLIRP_NETMASK)
            net = parsed
            mask = _class_mask(net)
        else:
            # get_str_sep() into a 20-byte buffer: the address is cut there.
            addr_text, _, rest = vnet.partition("/")
            parsed = _aton(addr_text[:19])
            if parsed is None:
                raise CoreError(M.SLIRP_NETMASK)
            net = parsed
            from memdevd.util.cutils import strtoll

            shift, end, _ = strtoll(rest, 10)
            if end == len(rest):
                if shift < 4 or shift > 32:
                    raise CoreError(M.SLIRP_NETMASK_RANGE)
                mask = (0xFFFFFFFF << (32 - shift)) & 0xFFFFFFFF
            else:
                parsed_mask = _aton(rest)
                if parsed_mask is None:
                    raise CoreError(M.SLIRP_NETMASK_TRAILING)
                mask = parsed_mask
        net &= mask
        hostaddr = net | (0x0202 & ~mask & 0xFFFFFFFF)
        dhcp = net | (0x020F & ~mask & 0xFFFFFFFF)
        dns = net | (0x0203 & ~mask & 0xFFFFFFFF)
    if "host" in opts:
        parsed = _aton(str(opts["host"]))
        if parsed is None:
            raise CoreError(M.SLIRP_HOST)
        hostaddr = parsed
    if hostaddr & mask != net:
        raise CoreError(M.SLIRP_HOST_NETWORK)
    if "dns" in opts:
        parsed = _aton(str(opts["dns"]))
        if parsed is None:
            raise CoreError(M.SLIRP_DNS)
        dns = parsed
    if restricted and dns & mask != net:
        raise CoreError(M.SLIRP_DNS_NETWORK)
    if dns == hostaddr:
        raise CoreError(M.SLIRP_DNS_HOST)
    if "dhcpstart" in opts:
        parsed = _aton(str(opts["dhcpstart"]))
        if parsed is None:
            raise CoreError(M.SLIRP_DHCP)
        dhcp = parsed
    if dhcp & mask != net:
        raise CoreError(M.SLIRP_DHCP_NETWORK)
    if dhcp in (hostaddr, dns):
        raise CoreError(M.SLIRP_DHCP_HOST_DNS)
    if "smbserver" in opts and _aton(str(opts["smbserver"])) is None:
        raise CoreError(M.SLIRP_SMB_ADDRESS)
    prefix_text = str(opts.get("ipv6-prefix", "fec0::"))
    prefix = _in6(prefix_text)
    if prefix is None:
        raise CoreError(M.SLIRP_IPV6_PREFIX)
    length = int(opts.get("ipv6-prefixlen", 0)) or 64
    if length < 0 or length > 126:
        raise CoreError(M.SLIRP_IPV6_PREFIXLEN)
    if "ipv6-host" in opts:
        host6 = _in6(str(opts["ipv6-host"]))
        if host6 is None:
            raise CoreError(M.SLIRP_IPV6_HOST)
        if not _same_net6(prefix, host6, length):
            raise CoreError(M.SLIRP_IPV6_HOST_NETWORK)
    if "ipv6-dns" in opts:
        dns6 = _in6(str(opts["ipv6-dns"]))
        if dns6 is None:
            raise CoreError(M.SLIRP_IPV6_DNS)
        if restricted and not _same_net6(prefix, dns6, length):
            raise CoreError(M.SLIRP_IPV6_DNS_NETWORK)
    domain = opts.get("domainname")
    if domain is not None and not str(domain):
        raise CoreError(M.SLIRP_DOMAIN_EMPTY)
    if domain is not None and len(str(domain).encode()) > 255:
        raise CoreError(M.SLIRP_DOMAIN_LONG)
    if len(str(opts.get("hostname", "")).encode()) > 255:
        raise CoreError(M.SLIRP_HOSTNAME_LONG)
    if len(str(opts.get("tftp-server-name", "")).encode()) > 255:
        raise CoreError(M.SLIRP_TFTP_NAME_LONG)
    return Config(restricted, _ntoa(net), net, mask, hostaddr, dhcp, dns, prefix_text, length)


def add_forwards(state: SlirpState, opts: dict[str, Any], release: Release) -> None:
    """The forwarding rules in QEMU's order (each list reversed, the guest
    forwards first: net_init_slirp_configs prepends), then ``smb``."""
    rules = [("guest", str(r["str"])) for r in reversed(opts.get("guestfwd", []))]
    rules += [("host", str(r["str"])) for r in reversed(opts.get("hostfwd", []))]
    for kind, text in rules:
        if kind == "host":
            hostfwd(state, text, release)
        else:
            guestfwd(state, text)
    if "smb" in opts:
        smb(state, str(opts["smb"]))


def _sep(text: str, sep: str) -> tuple[str, str] | None:
    """``get_str_sep``: (before, after) the first ``sep``, or None."""
    cut = text.find(sep)
    if cut < 0:
        return None
    return text[:cut], text[cut + 1 :]


def _port(text: str, release: Release) -> int | None:
    """A port of a hostfwd rule: 7.2 strtol() with nothing after it; 10.0
    qemu_strtoi() with an end pointer (trailing text is ignored)."""
    from memdevd.util.cutils import qemu_strtoi64, strtoll

    if release.slirp_port_qemu_strtoi:
        err, value, _ = qemu_strtoi64(text, 0, want_end=True)
        if err or not -(1 << 31) <= value < (1 << 31):
            return None
        return value
    value, end, _ = strtoll(text, 0)
    if end != len(text):
        return None
    return value


def hostfwd(state: SlirpState, rule: str, release: Release) -> None:
    """``slirp_hostfwd``: the rule's syntax, then the host port bound."""
    reason = _hostfwd_syntax(rule, release)
    if isinstance(reason, str):
        raise CoreError(M.SLIRP_HOSTFWD_INVALID.format(rule, reason))
    is_udp, address, port = reason
    kind = socket.SOCK_DGRAM if is_udp else socket.SOCK_STREAM
    sock = socket.socket(socket.AF_INET, kind)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        if not is_udp:
            sock.listen(1)
    except OSError:
        sock.close()
        raise CoreError(M.SLIRP_HOSTFWD_FAILED.format(rule)) from None
    sock.setblocking(False)
    state.handles.append(Handle(sock))


def _hostfwd_syntax(rule: str, release: Release) -> str | tuple[bool, str, int]:
    """The rule's fields, or the reason QEMU gives for refusing it."""
    cut = _sep(rule, ":")
    if cut is None:
        return "No : separators"
    proto, rest = cut
    if proto not in ("tcp", "", "udp"):
        return "Bad protocol name"
    is_udp = proto == "udp"
    cut = _sep(rest, ":")
    if cut is None:
        return "Missing : separator"
    host_text, rest = cut
    address = "0.0.0.0"
    if host_text:
        parsed = _aton(host_text[:255])
        if parsed is None:
            return "Bad host address"
        address = _ntoa(parsed)
    cut = _sep(rest, "-")
    if cut is None:
        return "Bad host port separator"
    port_text, rest = cut
    port = _port(port_text[:255], release)
    if port is None or port < 0 or port > 65535:
        return "Bad host port"
    cut = _sep(rest, ":")
    if cut is None:
        return "Missing guest address"
    guest_text, guest_port_text = cut
    if guest_text and _aton(guest_text[:255]) is None:
        return "Bad guest address"
    guest_port = _port(guest_port_text, release)
    if guest_port is None or guest_port < 1 or guest_port > 65535:
        return "Bad guest port"
    return is_udp, address, port


def guestfwd(state: SlirpState, rule: str) -> None:
    """``slirp_guestfwd``: the rule's syntax, then slirp_add_exec's checks
    (the address in the network, not the host's or DNS's, not taken)."""
    cut = _sep(rule, ":")
    if cut is None or cut[0] not in ("tcp", ""):
        raise CoreError(M.SLIRP_GUESTFWD_INVALID.format(rule))
    cut = _sep(cut[1], ":")
    if cut is None:
        raise CoreError(M.SLIRP_GUESTFWD_INVALID.format(rule))
    server_text, rest = cut
    server = 0
    if server_text:
        parsed = _aton(server_text[:127])
        if parsed is None:
            raise CoreError(M.SLIRP_GUESTFWD_INVALID.format(rule))
        server = parsed
    cut = _sep(rest, "-")
    if cut is None:
        raise CoreError(M.SLIRP_GUESTFWD_INVALID.format(rule))
    port_text, target = cut
    from memdevd.util.cutils import strtoll

    port, end, _ = strtoll(port_text[:127], 10)
    if end != len(port_text) or port < 1 or port > 65535:
        raise CoreError(M.SLIRP_GUESTFWD_INVALID.format(rule))
    if not target.startswith("cmd:"):
        raise CoreError(M.SLIRP_GUESTFWD_CHARDEV_NOT_EMULATED.format(rule))
    config = state.config
    if server == 0:
        server = config.net | (0x0204 & ~config.mask & 0xFFFFFFFF)
    if (
        server & config.mask != config.net
        or server in (config.host, config.dns)
        or (server, port) in state.guestfwd
    ):
        raise CoreError(M.SLIRP_GUESTFWD_CONFLICT.format(rule))
    state.guestfwd.append((server, port))


def smb(state: SlirpState, exported: str) -> None:
    """``slirp_smb``: smbd and the directory must be there (memdevd makes
    no samba configuration and starts no smbd)."""
    if not os.path.exists(SMBD_COMMAND):
        raise CoreError(M.SLIRP_SMBD_MISSING.format(SMBD_COMMAND))
    if not os.access(exported, os.R_OK | os.X_OK):
        try:
            os.stat(exported)
            errno = 13
        except OSError as exc:
            errno = exc.errno or 2
        raise CoreError(M.SLIRP_SMB_DIR.format(exported, os.strerror(errno)))
