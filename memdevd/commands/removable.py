"""Removable media and input devices: the tray and medium commands, query-mice.

The work is :mod:`memdevd.machine.block.media` (block/qapi-system.c) and
the machine's input handlers (ui/input.c); arguments are visited from the
release's schema.
"""

from __future__ import annotations

from typing import Any

from memdevd.commands.base import Runtime, arguments, command, core
from memdevd.qmp.session import Session


@command("blockdev-open-tray")
def blockdev_open_tray(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    from memdevd.machine.block import media

    a = arguments(rt, "blockdev-open-tray", args)
    core(media.open_tray, rt.machine, a.get("device"), a.get("id"), bool(a.get("force", False)))


@command("blockdev-close-tray")
def blockdev_close_tray(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    from memdevd.machine.block import media

    a = arguments(rt, "blockdev-close-tray", args)
    core(media.close_tray, rt.machine, a.get("device"), a.get("id"))


@command("blockdev-remove-medium")
def blockdev_remove_medium(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    from memdevd.machine.block import media

    a = arguments(rt, "blockdev-remove-medium", args)
    core(media.remove_medium, rt.machine, a.get("device"), a.get("id"))


@command("blockdev-insert-medium")
def blockdev_insert_medium(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    from memdevd.machine.block import media

    a = arguments(rt, "blockdev-insert-medium", args)
    core(media.insert_medium, rt.machine, a.get("id"), a["node-name"])


@command("blockdev-change-medium")
def blockdev_change_medium(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    from memdevd.machine.block import media

    a = arguments(rt, "blockdev-change-medium", args)
    core(
        media.change_medium,
        rt.machine,
        a.get("device"),
        a.get("id"),
        a["filename"],
        a.get("format"),
        bool(a.get("force", False)),
        a.get("read-only-mode"),
    )


@command("eject")
def eject(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    from memdevd.machine.block import media

    a = arguments(rt, "eject", args)
    core(media.eject, rt.machine, a.get("device"), a.get("id"), bool(a.get("force", False)))


@command("query-mice")
def query_mice(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    arguments(rt, "query-mice", args)
    return rt.machine.query_mice()
