"""Network backends as QEMU presents them: netdevs, hubs, NICs' peers.

``machine.net`` (a :class:`~memdevd.machine.net.clients.NetLayer`) holds
every net client in QEMU's order: netdevs (``-netdev``, ``netdev_add``),
the ``-net`` hub and its ports, ``-nic``/``-net nic``'s table of NICs the
board makes, and the NICs devices create.  ``clients`` is net.c and hub.c,
``backends`` the netdev types with their checks, ``slirp`` the user
network's checks, ``host``/``sockets`` what they ask of the host (the same
system calls as QEMU: a bad fd, a missing ``/dev/net/tun`` or a port in use
fail as in QEMU), ``io`` the seam that lets the daemon wake a backend whose
socket is ready.  No packet is ever sent and no program is ever run.

The API a NIC device uses (QEMU: the ``netdev`` qdev property, then
``qemu_new_nic`` at realize and ``qemu_del_nic`` at unrealize)::

    net = machine.net

    # the property setter: the backend's queues, each free, or QEMU's error
    # ("Property 'e1000.netdev' can't find value 'n0'", "... can't take
    # value 'n0', it's in use", vhost-user's "requires frontend driver
    # virtio-net-*" unless virtio_net=True)
    peers = net.claim_peers("e1000", "netdev", "n0", virtio_net=False)

    # realize: the NIC's queues linked to the backend (name: the device
    # id, None for "e1000.0"); the MAC from the "mac" property, or QEMU's
    # default 52:54:00:12:34:56 onwards
    mac = net.macaddr_default_if_unset(parsed_mac_or_zeros)
    nic = net.new_nic("e1000", dev_id, peers, mac)
    nic.link_status_changed = callback      # set_link on it or its backend
    nic.query_rx_filter = callback          # virtio-net only: RxFilterInfo

    # unrealize: the queues go; a backend netdev_del'ed meanwhile is freed
    net.del_nic(nic)

    net.find_netdev("n0")                   # the NetClient, or None
    nic.link_down                           # set_link's state (or the backend's deletion)

``-nic`` and ``-net nic`` leave :class:`~memdevd.machine.net.clients.NicInfo`
entries (``net.nic_infos()``) for the board to create at machine init;
one it creates is marked ``instantiated``.
"""

from __future__ import annotations

import os

#: The descriptors the process was given (None: not recorded); only these
#: may be named by number (``fd=``), as QEMU's are the ones its caller passed.
inherited: set[int] | None = None


def note_inherited_fds() -> None:
    """Record the descriptors open now as the ones the process was given.

    Called by the process's entry point before it opens any of its own
    (cheap: no module beyond ``os`` is imported).
    """
    global inherited
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        names = []
    fds = set()
    for name in names:
        if name.isdigit():
            fd = int(name)
            try:
                os.fstat(fd)
            except OSError:
                continue  # listdir's own descriptor, closed by now
            fds.add(fd)
    inherited = fds
