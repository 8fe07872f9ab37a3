"""Net clients, hubs and NICs: QEMU's ``net/net.c`` and ``net/hub.c``.

Every netdev, hub port and NIC queue is a :class:`NetClient` in one list
(``net_clients``, creation order), each with at most one peer.  A netdev is
created by :meth:`NetLayer.client_init` (``net_client_init1``): the checks
on the type, ``-net``'s hub port, the duplicate id, then the backend's init
function (:mod:`memdevd.machine.net.backends`), which may fail after it
made clients, as QEMU's do.  NICs are made by the device that owns them
(:meth:`NetLayer.new_nic`), which claims its peer first
(:meth:`NetLayer.claim_peers`, qdev's ``netdev`` property setter).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import field
from typing import TYPE_CHECKING, Any, Final

from memdevd import messages as M
from memdevd.machine.errors import CoreError, not_found
from memdevd.records import record

if TYPE_CHECKING:
    from memdevd.machine.clock import Clock
    from memdevd.machine.net.io import IoWatcher
    from memdevd.releases.table import Release

#: include/net/net.h
MAX_QUEUE_NUM: Final = 1024
MAX_NICS: Final = 8

#: NetClientDriver values (qapi/net.json), as NetClientDriver_str() prints them.
NIC: Final = "nic"
HUBPORT: Final = "hubport"

#: The drivers net_hub_check_clients() counts as a host connection.
HOST_DRIVERS: Final = frozenset({"user", "tap", "socket", "stream", "dgram", "vde", "vhost-user"})

#: The default MAC address prefix (qemu_macaddr_default_if_unset).
MAC_BASE: Final = (0x52, 0x54, 0x00, 0x12, 0x34)

EventSink = Callable[[str, "dict[str, Any] | None"], None]


class NetClient:
    """A ``NetClientState``: one queue of a netdev, hub port or NIC."""

    def __init__(self, driver: str, model: str, name: str) -> None:
        self.driver = driver
        self.model = model
        self.name = name
        self.info_str = ""
        self.peer: NetClient | None = None
        self.queue_index = 0
        self.link_down = False
        self.is_netdev = False
        # What the backend keeps (sockets, fds); its cleanup() releases it.
        self.backend: Any = None
        # hub ports: their hub and port number
        self.hub: Hub | None = None
        self.port_id = 0
        # NIC queues: their NIC
        self.nic: Nic | None = None

    def __repr__(self) -> str:
        return f"<NetClient {self.driver} {self.name!r}>"


@record
class Hub:
    """A ``NetHub``: its id and ports (newest first, as QLIST_INSERT_HEAD)."""

    id: int
    num_ports: int = 0
    ports: list[NetClient] = field(default_factory=list)


@record
class NicInfo:
    """An ``nd_table`` entry: a NIC ``-nic`` or ``-net nic`` asked for."""

    netdev: NetClient | None
    name: str | None = None
    model: str | None = None
    devaddr: str | None = None
    macaddr: tuple[int, ...] = (0, 0, 0, 0, 0, 0)
    nvectors: int | None = None
    instantiated: bool = False


@record
class Peers:
    """A NIC's ``netdev`` property value (``NICPeers``): the backend's queues."""

    name: str
    clients: list[NetClient] = field(default_factory=list)


class Nic:
    """A ``NICState``: the device's queues, its MAC address and its hooks.

    ``link_status_changed`` is called when ``set_link`` changes the link
    (the device updates what its guest sees); ``query_rx_filter`` answers
    ``query-rx-filter`` (QEMU's virtio-net has one, other NICs do not).
    """

    def __init__(self, model: str, macaddr: tuple[int, ...]) -> None:
        self.model = model
        self.macaddr = macaddr
        self.queues: list[NetClient] = []
        self.peer_deleted = False
        self.link_status_changed: Callable[[], None] | None = None
        self.query_rx_filter: Callable[[], dict[str, Any]] | None = None

    @property
    def link_down(self) -> bool:
        return bool(self.queues) and self.queues[0].link_down


def format_mac(mac: tuple[int, ...]) -> str:
    return ":".join(f"{b:02x}" for b in mac)


def parse_macaddr(text: str) -> tuple[int, ...] | None:
    """``net_parse_macaddr`` (net/util.c): six hex bytes, or an offset."""
    from memdevd.util.cutils import strtoll

    value, end, errno = strtoll(text, 0)
    if errno == 0 and end == len(text) and end > 0 and 0 <= value <= 0xFFFFFF:
        return (0, 0, 0, (value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF)
    out: list[int] = []
    pos = 0
    for i in range(6):
        # strtol(p, &p, 16): an optional sign and "0x", then hex digits.
        byte, end, _ = strtoll(text[pos:], 16)
        pos += end
        out.append(byte & 0xFF)
        if i == 5:
            if pos != len(text):
                return None
        else:
            if pos >= len(text) or text[pos] not in ":-":
                return None
            pos += 1
    return tuple(out)


class NetLayer:
    """The machine's network: clients, hubs, the NIC table, MAC addresses."""

    def __init__(
        self,
        release: Release,
        io: IoWatcher,
        emit: EventSink,
        clock: Clock,
        chardev_kind: Callable[[str], str | None] = lambda label: None,
    ) -> None:
        self.release = release
        self.io = io
        self.emit = emit
        self.clock = clock
        # What kind of chardev a label names ("socket-unix", "socket-tcp",
        # "pty", "null"), None when there is none (vhost-user's check).
        self.chardev_kind = chardev_kind
        # monitor_cur(): a QMP command runs (descriptors may have names);
        # false while the command line is acted on.
        self.monitor = False
        self.clients: list[NetClient] = []
        # QLIST_INSERT_HEAD: the newest hub first
        self.hubs: list[Hub] = []
        self.nd_table: list[NicInfo | None] = [None] * MAX_NICS
        self.nb_nics = 0
        # mac_table: how many NICs use 52:54:00:12:34:XX, by XX
        self.mac_table = [0] * 256
        # id_generate(ID_NET)
        self.generated = 0
        # -net nic,model=help or -nic model=help (10.0): the models are
        # listed once the machine's NICs are made.
        self.nic_model_help = False
        # pc_init_ne2k_isa()'s nb_ne2k: the ISA NE2000s the board made
        self.ne2k_isa_count = 0
        # Lines QEMU prints on stderr while net clients are made (warnings,
        # a helper's messages): (kind, text); start-up prints them.
        self.printed: list[tuple[str, str]] = []

    # -- what QEMU prints, and later ------------------------------------------------

    def warn(self, text: str) -> None:
        """``warn_report``."""
        self.printed.append(("warning", text))

    def report(self, text: str) -> None:
        """``error_report`` (printed, not returned)."""
        self.printed.append(("error", text))

    def report_plain(self, text: str) -> None:
        """What a program QEMU ran printed on the stderr it shares."""
        self.printed.append(("plain", text))

    def take_printed(self) -> list[tuple[str, str]]:
        out, self.printed = self.printed, []
        return out

    def later(self, callback: Callable[[], None], delay_ns: int = 0) -> Any:
        """What QEMU completes in its main loop after the command (a
        socket's asynchronous listen or connect, a reconnect timer)."""
        return self.clock.call_later(delay_ns, callback)

    # -- lookup -------------------------------------------------------------------

    def find_netdev(self, name: str) -> NetClient | None:
        """``qemu_find_netdev``: the first client that is not a NIC."""
        for nc in self.clients:
            if nc.driver != NIC and nc.name == name:
                return nc
        return None

    def find_clients_except(self, name: str | None, driver: str | None) -> list[NetClient]:
        """``qemu_find_net_clients_except``: every queue called ``name``."""
        return [
            nc for nc in self.clients if nc.driver != driver and (name is None or nc.name == name)
        ]

    # -- clients ------------------------------------------------------------------

    def new_client(
        self, driver: str, model: str, name: str | None, peer: NetClient | None = None
    ) -> NetClient:
        """``qemu_new_net_client``: named, or named after its model."""
        nc = NetClient(driver, model, name if name is not None else self._assign_name(model))
        if peer is not None:
            assert peer.peer is None, "a net client has one peer"
            nc.peer = peer
            peer.peer = nc
        self.clients.append(nc)
        return nc

    def _assign_name(self, model: str) -> str:
        count = sum(1 for nc in self.clients if nc.model == model)
        return f"{model}.{count}"

    def generate_id(self) -> str:
        """``id_generate(ID_NET)``: "#net" + counter + two digits QEMU draws
        at random (memdevd derives them from the counter)."""
        n = self.generated
        self.generated += 1
        return f"#net{n}{(n * 37 + 11) % 100:02d}"

    def del_client(self, nc: NetClient) -> None:
        """``qemu_del_net_client`` of a netdev or hub port (all its queues)."""
        assert nc.driver != NIC
        queues = self.find_clients_except(nc.name, NIC)
        peer = nc.peer
        if peer is not None and peer.driver == NIC and peer.nic is not None:
            nic = peer.nic
            if nic.peer_deleted:
                return
            nic.peer_deleted = True
            for q in queues:
                if q.peer is not None:
                    q.peer.link_down = True
                self.clients.remove(q)
            if not self.release.netdev_del_defers_cleanup:
                for q in queues:
                    self._cleanup(q)
            if nic.link_status_changed is not None:
                nic.link_status_changed()
            return
        for q in queues:
            self.clients.remove(q)
            self._cleanup(q)
            self._free(q)

    def _cleanup(self, nc: NetClient) -> None:
        """``nc->info->cleanup``: the backend lets go of the host."""
        if nc.backend is not None and hasattr(nc.backend, "cleanup"):
            nc.backend.cleanup()
        if nc.hub is not None:
            hub = nc.hub
            if nc in hub.ports:
                hub.ports.remove(nc)

    def _free(self, nc: NetClient) -> None:
        if nc.peer is not None:
            nc.peer.peer = None

    # -- hubs -----------------------------------------------------------------------

    def hub_add_port(
        self, hub_id: int, name: str | None = None, hubpeer: NetClient | None = None
    ) -> NetClient:
        """``net_hub_add_port``: a port on hub ``hub_id`` (made if new)."""
        hub = next((h for h in self.hubs if h.id == hub_id), None)
        if hub is None:
            hub = Hub(hub_id)
            self.hubs.insert(0, hub)
        port_id = hub.num_ports
        hub.num_ports += 1
        port_name = name if name is not None else f"hub{hub.id}port{port_id}"
        nc = self.new_client(HUBPORT, "hub", port_name, hubpeer)
        nc.hub = hub
        nc.port_id = port_id
        hub.ports.insert(0, nc)
        return nc

    def hub_id_for_client(self, nc: NetClient) -> int | None:
        """``net_hub_id_for_client``."""
        if nc.driver == HUBPORT and nc.hub is not None:
            return nc.hub.id
        if nc.peer is not None and nc.peer.driver == HUBPORT and nc.peer.hub is not None:
            return nc.peer.hub.id
        return None

    # -- net_client_init1 -----------------------------------------------------------

    def client_init(self, netdev: dict[str, Any], is_netdev: bool) -> None:
        """``net_client_init1`` of a visited ``Netdev``."""
        from memdevd.machine.net.backends import INIT_FUNCTIONS

        driver = str(netdev["type"])
        init = INIT_FUNCTIONS.get(driver)
        peer = None
        if is_netdev:
            if driver == NIC or init is None:
                raise CoreError(M.NET_BACKEND_NOT_COMPILED.format(driver))
        else:
            if driver == "none":
                return
            if driver == HUBPORT:
                raise CoreError(M.NET_BACKEND_ONLY_NETDEV.format(driver))
            if init is None:
                raise CoreError(M.NET_BACKEND_NOT_COMPILED.format(driver))
            if driver != NIC or netdev.get("netdev") is None:
                peer = self.hub_add_port(0)
        name = str(netdev["id"])
        if self.find_netdev(name) is not None:
            raise CoreError(M.NET_DUPLICATE_ID.format(name))
        init(self, netdev, name, peer)
        if is_netdev:
            nc = self.find_netdev(name)
            if nc is None:
                # 7.2: a tap whose vhost could not be set up was dropped with
                # a warning; QEMU then fails an assertion and aborts.
                err = CoreError(M.NET_CLIENT_DROPPED_ABORT.format(name))
                err.assertion = M.NET_CLIENT_INIT1_ASSERTION_7_2
                raise err
            nc.is_netdev = True

    def netdev_add(self, netdev: dict[str, Any]) -> None:
        """``qmp_netdev_add``."""
        from memdevd.util.cutils import id_wellformed

        if not id_wellformed(str(netdev["id"])):
            raise CoreError(M.INVALID_PARAMETER_VALUE.format("id", "an identifier"))
        self.client_init(netdev, True)

    def netdev_del(self, name: str) -> None:
        """``qmp_netdev_del``."""
        nc = self.find_netdev(name)
        if nc is None:
            raise not_found(M.DEVICE_NOT_FOUND.format(name))
        if not nc.is_netdev:
            raise CoreError(M.NETDEV_NOT_A_NETDEV.format(name))
        self.del_client(nc)

    # -- the NIC table (-net nic, -nic) ----------------------------------------------

    def nic_free_index(self) -> int | None:
        for index, nd in enumerate(self.nd_table):
            if nd is None:
                return index
        return None

    def add_nic_info(self, nd: NicInfo) -> None:
        index = self.nic_free_index()
        assert index is not None
        self.nd_table[index] = nd
        self.nb_nics += 1

    def nic_infos(self) -> list[NicInfo]:
        return [nd for nd in self.nd_table if nd is not None]

    # -- MAC addresses ----------------------------------------------------------------

    def macaddr_default_if_unset(self, mac: tuple[int, ...]) -> tuple[int, ...]:
        """``qemu_macaddr_default_if_unset``: 52:54:00:12:34:XX, the first free XX."""
        if any(mac):
            if tuple(mac[:5]) == MAC_BASE:
                self._mac_used(mac)
            return mac
        last = next((i for i in range(0x56, 0xFF) if self.mac_table[i] == 0), 0xFF)
        out = (*MAC_BASE, last)
        self._mac_used(out)
        return out

    def _mac_used(self, mac: tuple[int, ...]) -> None:
        if 0x56 <= mac[5] < 0xFF:
            self.mac_table[mac[5]] += 1

    def macaddr_set_free(self, mac: tuple[int, ...]) -> None:
        """``qemu_macaddr_set_free``."""
        if tuple(mac[:5]) == MAC_BASE and 0x56 <= mac[5] < 0xFF:
            self.mac_table[mac[5]] -= 1

    # -- NICs: the API devices use ---------------------------------------------------

    def claim_peers(self, typename: str, prop: str, value: str, virtio_net: bool = False) -> Peers:
        """qdev's ``netdev`` property setter (``set_netdev``): the backend
        ``value`` names, every queue free; QEMU's texts otherwise.

        ``virtio_net`` says whether the device is a virtio-net, which
        vhost-user and vhost-vdpa backends require.  Nothing is linked yet:
        :meth:`new_nic` links the queues when the device realizes.
        """
        queues = self.find_clients_except(value, NIC)
        if not queues:
            raise CoreError(M.PROP_CANT_FIND_VALUE.format(typename, prop, value))
        if len(queues) > MAX_QUEUE_NUM:
            raise CoreError(M.NETDEV_QUEUES_EXCEED.format(value, len(queues), MAX_QUEUE_NUM))
        for nc in queues:
            if nc.peer is not None:
                raise CoreError(M.PROP_IN_USE.format(typename, prop, value))
            if nc.driver in ("vhost-user", "vhost-vdpa") and not virtio_net:
                text = M.VHOST_USER_NEEDS_VIRTIO_NET
                if nc.driver == "vhost-vdpa":
                    text = M.VHOST_VDPA_NEEDS_VIRTIO_NET
                raise CoreError(text)
        return Peers(value, queues)

    def new_nic(
        self,
        model: str,
        name: str | None,
        peers: Peers | None,
        macaddr: tuple[int, ...],
        queues: int = 1,
    ) -> Nic:
        """``qemu_new_nic`` at realize: the NIC's queues, linked to ``peers``.

        ``model`` is the device's type name, ``name`` its id (None: the
        model and a number, "e1000.0").  The caller formats nothing: the
        NIC's ``info network`` line is QEMU's ``model=...,macaddr=...``.
        """
        count = max(1, len(peers.clients) if peers is not None else 0, queues)
        nic = Nic(model, macaddr)
        for i in range(count):
            peer = None
            if peers is not None and i < len(peers.clients):
                peer = peers.clients[i]
                if peer.peer is not None:
                    raise CoreError(M.PROP_IN_USE.format(model, "netdev", peers.name))
            nc = self.new_client(NIC, model, name, peer)
            nc.queue_index = i
            nc.nic = nic
            nc.info_str = f"model={model},macaddr={format_mac(macaddr)}"
            nic.queues.append(nc)
        return nic

    def del_nic(self, nic: Nic) -> None:
        """``qemu_del_nic`` at unrealize: the queues go, a backend deleted
        meanwhile (netdev_del) is freed, the MAC address is free again."""
        self.macaddr_set_free(nic.macaddr)
        for nc in nic.queues:
            if nic.peer_deleted and nc.peer is not None:
                if self.release.netdev_del_defers_cleanup:
                    self._cleanup(nc.peer)
                nc.peer.peer = None
            elif nc.peer is not None:
                nc.peer.peer = None
        for nc in reversed(nic.queues):
            if nc in self.clients:
                self.clients.remove(nc)
            nc.peer = None

    # -- set_link, query-rx-filter ------------------------------------------------------

    def set_link(self, name: str, up: bool) -> None:
        """``qmp_set_link``: a NIC's or a netdev's queues (and a NIC peer's)."""
        queues = self.find_clients_except(name, None)
        if not queues:
            raise not_found(M.DEVICE_NOT_FOUND.format(name))
        first = queues[0]
        for nc in queues:
            nc.link_down = not up
        if first.nic is not None and first.nic.link_status_changed is not None:
            first.nic.link_status_changed()
        peer = first.peer
        if peer is not None:
            if peer.driver == NIC:
                for nc in queues:
                    if nc.peer is not None:
                        nc.peer.link_down = not up
            if peer.nic is not None and peer.nic.link_status_changed is not None:
                peer.nic.link_status_changed()

    def query_rx_filter(self, name: str | None) -> list[dict[str, Any]]:
        """``qmp_query_rx_filter``."""
        out: list[dict[str, Any]] = []
        for nc in self.clients:
            if name is not None and nc.name != name:
                continue
            if nc.driver != NIC:
                if name is not None:
                    raise CoreError(M.NET_CLIENT_NOT_NIC.format(name))
                continue
            if nc.queue_index != 0:
                continue
            query = nc.nic.query_rx_filter if nc.nic is not None else None
            if query is not None:
                out.append(query())
            elif name is not None:
                raise CoreError(M.NET_CLIENT_NO_RX_FILTER.format(name))
            if name is not None:
                break
        if not out and name is not None:
            raise CoreError(M.NET_CLIENT_INVALID_NAME.format(name))
        return out

    # -- info network, start-up checks ------------------------------------------------

    def info_network(self) -> str:
        """``hmp_info_network``: the hubs with their ports, then the rest."""
        lines: list[str] = []
        for hub in self.hubs:
            lines.append(f"hub {hub.id}\n")
            for port in hub.ports:
                if port.peer is not None:
                    lines.append(f" \\ {port.name}: {_client_line(port.peer)}")
                else:
                    lines.append(f" \\ {port.name}\n")
        for nc in self.clients:
            if self.hub_id_for_client(nc) is not None:
                continue
            if nc.peer is None or nc.driver == NIC:
                lines.append(_client_line(nc))
            if nc.peer is not None and nc.driver == NIC:
                lines.append(" \\ " + _client_line(nc.peer))
        return "".join(lines)

    def check_clients(self) -> list[str]:
        """``net_check_clients``: the warnings QEMU prints once the machine
        is made (only with a -net, -netdev or -nic option)."""
        out: list[str] = []
        for hub in self.hubs:
            has_nic = has_host = False
            for port in hub.ports:
                peer = port.peer
                if peer is None:
                    out.append(M.HUB_PORT_NO_PEER.format(port.name))
                    continue
                if peer.driver == NIC:
                    has_nic = True
                elif peer.driver in HOST_DRIVERS:
                    has_host = True
            if has_host and not has_nic:
                out.append(M.HUB_NO_NICS.format(hub.id))
            if has_nic and not has_host:
                out.append(M.HUB_NOT_CONNECTED.format(hub.id))
        for nc in self.clients:
            if nc.peer is None:
                out.append(
                    M.NET_CLIENT_NO_PEER.format("nic" if nc.driver == NIC else "netdev", nc.name)
                )
        for nd in self.nd_table:
            if nd is not None and not nd.instantiated:
                out.append(
                    M.NIC_NOT_CREATED.format(nd.name or "anonymous", nd.model or "unspecified")
                )
        return out

    # -- host resources ----------------------------------------------------------------

    def backends(self) -> list[Any]:
        return [nc.backend for nc in self.clients if nc.backend is not None]

    def close_host(self) -> None:
        """Let go of every host resource (x-memdevd-reset builds anew)."""
        for nc in list(self.clients):
            if nc.backend is not None and hasattr(nc.backend, "cleanup"):
                nc.backend.cleanup()

    def io_ready(self, key: Any, readable: bool) -> bool:
        """A watched descriptor is ready: the backend that owns ``key``
        handles it.  False when no client owns it any more."""
        for nc in list(self.clients):
            backend = nc.backend
            owns = getattr(backend, "owns", None)
            if owns is not None and owns(key):
                backend.io_ready(key, readable)
                return True
        return False


def _client_line(nc: NetClient) -> str:
    """``print_net_client`` (no filters: memdevd has no netfilter objects)."""
    return f"{nc.name}: index={nc.queue_index},type={nc.driver},{nc.info_str}\n"


def ipv6_net_option(items: list[tuple[str, str]], release: Release) -> list[tuple[str, str]]:
    """``net_client_init``'s ``ipv6-net=ADDR[/LEN]``: ipv6-prefix and
    ipv6-prefixlen added, the last ipv6-net removed."""
    from memdevd.util.cutils import strtou64

    value = None
    for key, text in items:
        if key == "ipv6-net":
            value = text
    if value is None:
        return items
    addr, slash, length = value.partition("/")
    if value == "":
        raise CoreError(M.INVALID_PARAMETER_VALUE.format("ipv6-net", "a valid IPv6 prefix"))
    prefix_len = 64
    if slash:
        parsed = strtou64(length, 10) if length[:1] not in "+- " else None
        if parsed is None or parsed > 0xFFFFFFFFFFFFFFFF:
            raise CoreError(release.ipv6_net_prefixlen_text)
        prefix_len = parsed
    out = list(items)
    out.append(("ipv6-prefix", addr))
    out.append(("ipv6-prefixlen", str(prefix_len)))
    last = max(i for i, (k, _) in enumerate(out) if k == "ipv6-net")
    del out[last]
    return out
