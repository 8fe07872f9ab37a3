"""Network commands: netdevs, links, receive filters, announcements.

``netdev_add``/``netdev_del`` (:mod:`memdevd.machine.net.clients`),
``set_link``, ``query-rx-filter`` and ``announce-self``.  Arguments are
visited from the release's QAPI schema, so a netdev type or member a
release adds or drops needs no code here.  Lines QEMU would print on its
stderr meanwhile (warnings, a bridge helper's messages) are logged.
"""

from __future__ import annotations

import logging
from typing import Any

from memdevd.commands.base import Runtime, arguments, command, core
from memdevd.qmp.session import Session

log = logging.getLogger("memdevd.net")


def _flush(rt: Runtime) -> None:
    for kind, text in rt.machine.net.take_printed():
        log.warning("%s: %s", kind, text)


@command("netdev_add", allow_preconfig=True)
def netdev_add(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    netdev = arguments(rt, "netdev_add", args)
    try:
        core(rt.machine.net.netdev_add, netdev)
    finally:
        _flush(rt)


@command("netdev_del", allow_preconfig=True)
def netdev_del(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    parsed = arguments(rt, "netdev_del", args)
    core(rt.machine.net.netdev_del, parsed["id"])


@command("set_link")
def set_link(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    parsed = arguments(rt, "set_link", args)
    core(rt.machine.net.set_link, parsed["name"], parsed["up"])


@command("query-rx-filter")
def query_rx_filter(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    from memdevd.qapi.source_schema import schema_of, shape

    parsed = arguments(rt, "query-rx-filter", args)
    filters = core(rt.machine.net.query_rx_filter, parsed.get("name"))
    return shape(schema_of(rt.machine.recording), "RxFilterInfoList", filters)


@command("announce-self")
def announce_self(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    # qemu_announce_self(): the NICs would send gratuitous ARPs on a timer;
    # memdevd sends no packet, so the arguments' check is all there is.
    arguments(rt, "announce-self", args)
