"""Display commands: VNC and SPICE servers, the local display, audiodevs.

``query-vnc``, ``query-vnc-servers``, ``set_password``, ``expire_password``,
``change-vnc-password``, ``display-reload``, ``display-update``,
``query-display-options``, ``query-spice`` and (8.2 on) ``query-audiodevs``,
as ui/vnc.c, ui/ui-qmp-cmds.c (monitor/qmp-cmds.c in 7.2), ui/spice-core.c
and audio/audio.c answer them.  Arguments are visited from the release's
QAPI schema and replies shaped to it; the state is the core's
(:mod:`memdevd.machine.display`).  No command here makes an event; VNC
clients do (VNC_CONNECTED, VNC_DISCONNECTED: memdevd/app/display_sockets.py).
"""

from __future__ import annotations

import time
from typing import Any

from memdevd import messages as M
from memdevd.commands.base import Runtime, arguments, command, core
from memdevd.machine.display import SocketAddr, parse_expire_time
from memdevd.qmp.errors import QMPError
from memdevd.qmp.session import Session


def _shaped(rt: Runtime, type_name: str, value: Any) -> Any:
    from memdevd.qapi.source_schema import schema_of, shape

    return shape(schema_of(rt.machine.recording), type_name, value)


@command("query-vnc")
def query_vnc(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    arguments(rt, "query-vnc", args)
    return _shaped(rt, "VncInfo", rt.machine.display.query_vnc())


@command("query-vnc-servers")
def query_vnc_servers(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    arguments(rt, "query-vnc-servers", args)
    return _shaped(rt, "VncInfo2List", rt.machine.display.query_vnc_servers())


@command("set_password")
def set_password(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    """``qmp_set_password``."""
    opts = arguments(rt, "set_password", args)
    display = rt.machine.display
    connected = opts.get("connected", "keep")
    if opts["protocol"] == "spice":
        core(display.spice_check_in_use)
        ok = display.spice_set_password(opts["password"])
    else:
        if connected != "keep":
            # vnc supports "connected=keep" only
            raise QMPError(rt.release.set_password_vnc_connected_text)
        if not display.vnc_password(opts.get("display"), opts["password"]):
            raise QMPError(display.vnc_password_failure(opts.get("display")))
        return
    if not ok:
        raise QMPError(M.SET_PASSWORD_FAILED)


@command("expire_password")
def expire_password(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    """``qmp_expire_password``: the time first, then the protocol."""
    opts = arguments(rt, "expire_password", args)
    display = rt.machine.display
    when = core(
        parse_expire_time, opts["time"], rt.release.expire_password_checks_time, int(time.time())
    )
    if opts["protocol"] == "spice":
        spice = core(display.spice_check_in_use)
        spice.expires = when
        return
    if not display.vnc_expire(opts.get("display"), when):
        raise QMPError(M.SET_PASSWORD_EXPIRE_FAILED)


@command("change-vnc-password")
def change_vnc_password(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    opts = arguments(rt, "change-vnc-password", args)
    if not rt.machine.display.vnc_password(None, opts["password"]):
        raise QMPError(rt.machine.display.vnc_password_failure(None))


@command("display-reload")
def display_reload(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    """``qmp_display_reload``: TLS certificates of the first VNC display."""
    opts = arguments(rt, "display-reload", args)
    if opts.get("tls-certs"):
        core(rt.machine.display.vnc_reload_certs)


@command("display-update")
def display_update(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    """``qmp_display_update``: the first VNC display listens elsewhere."""
    opts = arguments(rt, "display-update", args)
    addresses = opts.get("addresses")
    parsed = [_socket_address(a) for a in addresses] if addresses is not None else None
    core(rt.machine.display.vnc_update, parsed)


def _socket_address(value: dict[str, Any]) -> SocketAddr:
    """A visited QAPI SocketAddress."""
    kind = value["type"]
    if kind == "inet":
        return SocketAddr(
            "inet",
            host=value["host"],
            port=value["port"],
            to=value.get("to"),
            ipv4=value.get("ipv4"),
            ipv6=value.get("ipv6"),
            numeric=bool(value.get("numeric", False)),
            keep_alive=bool(value.get("keep-alive", False)),
        )
    if kind == "unix":
        return SocketAddr("unix", path=value["path"])
    if kind == "fd":
        return SocketAddr("fd", name=value["str"])
    return SocketAddr("vsock", host=value.get("cid", ""), port=value.get("port", ""))


@command("query-display-options")
def query_display_options(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    arguments(rt, "query-display-options", args)
    return _shaped(rt, "DisplayOptions", rt.machine.display.query_display_options())


@command("query-spice")
def query_spice(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    arguments(rt, "query-spice", args)
    return _shaped(rt, "SpiceInfo", rt.machine.display.query_spice())


@command("query-audiodevs", only_if="has_query_audiodevs")
def query_audiodevs(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    arguments(rt, "query-audiodevs", args)
    return _shaped(rt, "AudiodevList", rt.machine.display.query_audiodevs())
