"""From QEMU's monitor options to the sockets memdevd listens on.

``-qmp unix:PATH,server=on,wait=off`` and ``-chardev socket,...`` +
``-mon chardev=ID,mode=control`` both end up as a ``chardev`` and a ``mon``
QemuOpts; each control monitor becomes a listening socket: a UNIX path, a
TCP host and port, or an inherited, already-listening file descriptor
(``fd=N``, as libvirt passes its monitor socket).  Readline (HMP) monitors
are served on their chardevs by :mod:`memdevd.app.hmp_monitor`.
"""

from __future__ import annotations

from typing import Any

from memdevd import messages as M
from memdevd.qmp.server import ListenAddress
from memdevd.util.qemu_opts import OptionError


def monitor_addresses(
    lists: Any,
    locations: dict[str, str] | None = None,
    mon_locations: dict[int, str] | None = None,
    in_use_text: str = M.CHARDEV_IN_USE,
) -> list[ListenAddress]:
    """Listeners for the control monitors; ``locations`` maps chardev ids to
    the option that created them (for QEMU's error prefix), ``mon_locations``
    the ``id()`` of each "mon" QemuOpts to the option that made it;
    ``in_use_text`` the release's ``qemu_chr_fe_init`` text."""
    locations = locations or {}
    mon_locations = mon_locations or {}
    chardevs = {opts.id: opts for opts in lists["chardev"].head}
    # mon_init_func in order: a monitor's qemu_chr_fe_init claims a chardev
    # that is not a mux, and a later monitor on it is refused.
    claimed: set[str] = set()
    control: list[Any] = []
    for mon in lists["mon"].head:
        label = mon.get("chardev")
        if label is None:
            # monitor_init_opts: MonitorOptions' chardev is mandatory (a
            # -readconfig [mon] group without it; -mon mode=readline).
            raise OptionError(
                M.MISSING_PARAMETER.format("chardev"), location=mon_locations.get(id(mon))
            )
        chardev = chardevs.get(label)
        if label in claimed and chardev is not None and not chardev.get_bool("mux", False):
            raise OptionError(in_use_text.format(label), location=mon_locations.get(id(mon)))
        claimed.add(label)
        if (mon.get("mode") or "readline") != "control":
            continue
        if chardev is None:
            raise OptionError(
                M.CHARDEV_NOT_FOUND.format(label), location=mon_locations.get(id(mon))
            )
        control.append(chardev)
    # What memdevd cannot serve is refused after what QEMU would refuse.
    out: list[ListenAddress] = []
    for chardev in control:
        address = _address(chardev)
        address.location = locations.get(chardev.id or "")
        out.append(address)
    return out


def _address(chardev: Any) -> ListenAddress:
    backend = chardev.get("backend")
    name = chardev.id or ""
    if backend not in ("socket", "unix", "tcp"):
        raise OptionError(M.QMP_CHARDEV_NOT_SOCKET.format(backend))
    server = chardev.get("server")
    # qemu_chr_parse_socket: a client unless server=on.
    connect = server is None or server not in ("on", "yes", "true", "y")
    reconnect_ms = 0
    if connect:
        seconds = chardev.get("reconnect")
        millis = chardev.get("reconnect-ms")
        reconnect_ms = int(millis) if millis is not None else int(seconds or 0) * 1000
    fd = chardev.get("fd")
    if fd is not None:
        if connect:
            raise OptionError(M.QMP_CLIENT_SOCKET_NOT_EMULATED)
        return ListenAddress("fd", fd=int(fd, 0), name=name)
    path = chardev.get("path")
    if path is not None:
        return ListenAddress(
            "unix", path=path, name=name, connect=connect, reconnect_ms=reconnect_ms
        )
    host = chardev.get("host") or ""
    port = chardev.get("port")
    if port is None:
        raise OptionError(M.CHARDEV_SOCKET_NO_HOST)
    return ListenAddress(
        "tcp", host=host, port=int(port), name=name, connect=connect, reconnect_ms=reconnect_ms
    )
