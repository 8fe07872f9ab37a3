"""Chardev commands (chardev/char.c, char-ringbuf.c): ``chardev-add``,
``chardev-change``, ``chardev-remove``, ``chardev-send-break``,
``query-chardev-backends``, ``ringbuf-write`` and ``ringbuf-read``.

Arguments are visited from the release's QAPI schema (``ChardevBackend``
and its wrappers), the work is :mod:`memdevd.machine.chardev.ops`.
``query-chardev`` is with the other management queries.
"""

from __future__ import annotations

from typing import Any

from memdevd.commands.base import Runtime, arguments, command, core
from memdevd.qmp.session import Session


def _backend(parsed: dict[str, Any]) -> dict[str, Any]:
    """ChardevBackend as visited: {"type": KIND, "data": {...}}."""
    backend = dict(parsed["backend"])
    data = backend.get("data")
    backend["data"] = dict(data) if isinstance(data, dict) else {}
    return backend


@command("chardev-add")
def chardev_add(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    from memdevd.machine.chardev import ops

    parsed = arguments(rt, "chardev-add", args)
    return core(ops.chardev_add, rt.machine, parsed["id"], _backend(parsed))


@command("chardev-change")
def chardev_change(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    from memdevd.machine.chardev import ops

    parsed = arguments(rt, "chardev-change", args)
    return core(ops.chardev_change, rt.machine, parsed["id"], _backend(parsed))


@command("chardev-remove")
def chardev_remove(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    from memdevd.machine.chardev import ops

    parsed = arguments(rt, "chardev-remove", args)
    core(ops.chardev_remove, rt.machine, parsed["id"])


@command("chardev-send-break")
def chardev_send_break(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    from memdevd.machine.chardev import ops

    parsed = arguments(rt, "chardev-send-break", args)
    core(ops.send_break, rt.machine, parsed["id"])


@command("query-chardev-backends")
def query_chardev_backends(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    from memdevd.machine.chardev import ops

    arguments(rt, "query-chardev-backends", args)
    return ops.query_backends(rt.machine)


@command("ringbuf-write")
def ringbuf_write(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    from memdevd.machine.chardev import ops

    parsed = arguments(rt, "ringbuf-write", args)
    core(ops.ringbuf_write, rt.machine, parsed["device"], parsed["data"], parsed.get("format"))


@command("ringbuf-read")
def ringbuf_read(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    from memdevd.machine.chardev import ops

    parsed = arguments(rt, "ringbuf-read", args)
    return core(
        ops.ringbuf_read, rt.machine, parsed["device"], parsed["size"], parsed.get("format")
    )
