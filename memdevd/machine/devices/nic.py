"""NICs: the catalog devices with a ``netdev`` property, on ``machine.net``.

QEMU's NIC devices keep a ``NICConf`` (``mac``, ``netdev``): the
``netdev`` property setter (``set_netdev``) checks that the backend
exists, that none of its queues has a peer and that the backend accepts
the device type; realize takes the default MAC address if none was given
(``qemu_macaddr_default_if_unset``) and makes the NIC's queues, peered
with the backend's (``qemu_new_nic``); unrealize (``qemu_del_nic``)
frees the backend for another NIC, or finishes deleting one
``netdev_del`` removed meanwhile.  A virtio-net proxy names its NIC after
itself (``virtio_net_set_netclient_name``).  The device sends and receives
nothing; ``query-rx-filter`` of a virtio-net answers what QEMU answers
before a guest driver set any filter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memdevd import messages as M
from memdevd.machine.errors import CoreError

if TYPE_CHECKING:
    from memdevd.machine.net.clients import Nic, Peers
    from memdevd.releases.recorded import DeviceTypeInfo

#: qdev_prop_netdev's description (device-list-properties)
NETDEV_DESCRIPTION = "ID of a netdev to use as a backend"
#: hw/net/virtio-net.c
MAX_VLAN = 1 << 12


def netdev_prop(*infos: DeviceTypeInfo | None) -> str | None:
    """The name of the type's ``netdev`` property, None if it is no NIC."""
    for info in infos:
        if info is None:
            continue
        for prop in info.properties:
            if prop.description == NETDEV_DESCRIPTION:
                return prop.name
    return None


def _state(dev: Any) -> dict[str, Any]:
    state: dict[str, Any] | None = getattr(dev, "nic_state", None)
    if state is None:
        state = {"peers": None, "nic": None}
        dev.nic_state = state
    return state


def set_netdev(dev: Any, pname: str, value: str, owner: str) -> None:
    """``set_netdev``: the backend ``value`` names, claimed for realize."""
    state = _state(dev)
    net = dev.machine.net
    if state["peers"] is not None:
        # check_prop_still_unset(), after the backend's own checks: a
        # second value is refused.
        net.claim_peers(owner, pname, value, virtio_net=True)
        raise CoreError(M.NIC_NETDEV_OVERRIDE.format(pname, value))
    state["peers"] = net.claim_peers(owner, pname, value, virtio_net=owner.startswith("virtio-net"))


def realize(dev: Any, mac_prop: str = "mac") -> None:
    """``qemu_macaddr_default_if_unset`` and ``qemu_new_nic``."""
    from memdevd.machine.net.clients import format_mac

    net = dev.machine.net
    state = _state(dev)
    text = dev.values.get(mac_prop)
    mac = _parse_mac(text) if text else (0,) * 6
    peers: Peers | None = state["peers"]
    mac = net.macaddr_default_if_unset(mac)
    nic = net.new_nic(dev.typename, dev.id, peers, mac)
    dev.values[mac_prop] = format_mac(mac)
    if dev.typename.startswith("virtio-net"):
        nic.query_rx_filter = lambda: _virtio_net_rx_filter(nic)
    state["nic"] = nic


def unrealize(dev: Any) -> None:
    """``qemu_del_nic``: the queues go, the backend is free again."""
    state = getattr(dev, "nic_state", None)
    if state is None:
        return
    nic: Nic | None = state["nic"]
    if nic is not None:
        dev.machine.net.del_nic(nic)
    state["nic"] = None
    state["peers"] = None


def _parse_mac(text: str) -> tuple[int, ...]:
    return tuple(int(part, 16) for part in text.replace("-", ":").split(":"))


def _virtio_net_rx_filter(nic: Nic) -> dict[str, Any]:
    """``virtio_net_query_rxfilter`` before a guest driver ran: promiscuous
    (for compatibility), no MAC table; VIRTIO_NET_F_CTRL_VLAN not
    negotiated, so ``virtio_net_set_features`` set every VLAN bit (listed
    from the highest, as QAPI_LIST_PREPEND builds it)."""
    from memdevd.machine.net.clients import format_mac

    return {
        "name": nic.queues[0].name,
        "promiscuous": True,
        "multicast": "normal",
        "unicast": "normal",
        "vlan": "all",
        # virtio-net reports its nobcast flag here
        "broadcast-allowed": False,
        "multicast-overflow": False,
        "unicast-overflow": False,
        "main-mac": format_mac(nic.macaddr),
        "vlan-table": list(range(MAX_VLAN - 1, -1, -1)),
        "unicast-table": [],
        "multicast-table": [],
    }
