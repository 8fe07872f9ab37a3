"""Control commands: negotiation, version, status, run state, quit.

``qmp_capabilities``, ``query-version``, ``query-commands``,
``query-status``, ``query-qmp-schema``, ``stop``, ``cont``, ``quit``,
``query-name``, ``query-kvm``, ``query-machines``, ``system_reset``,
``system_powerdown`` and the one out-of-band command QEMU offers
everywhere, ``migrate-recover``.
"""

from __future__ import annotations

from typing import Any

from memdevd import messages as M
from memdevd.commands.base import Runtime, command, core, no_args, parse_args
from memdevd.qapi.json_writer import JSONText, to_json
from memdevd.qmp.errors import QMPError
from memdevd.qmp.registry import Registry
from memdevd.qmp.session import Session


def _table(rt: Runtime) -> Registry:
    """The table these handlers are registered on (what is offered)."""
    assert rt.registry is not None
    return rt.registry


@command("qmp_capabilities", allow_preconfig=True)
def qmp_capabilities(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    if not args:
        # The first command of every client: no models for it.
        session.negotiate([])
        return
    from memdevd.qapi.control import QmpCapabilitiesArgs

    parsed = parse_args(QmpCapabilitiesArgs, args)
    session.negotiate(list(parsed.enable or []))


@command("query-version", allow_preconfig=True)
def query_version(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    no_args(args)
    text = rt.version_reply
    if text is None:
        # The version never changes: encoded once, as the greeting is.
        text = rt.version_reply = JSONText(to_json(rt.release.version_info))
    return text


@command("query-commands", allow_preconfig=True)
def query_commands(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    no_args(args)
    order = rt.machine.recording.command_order
    last = len(order)
    names = [c.name for c in _table(rt) if c.enabled]
    # QEMU's own order for its commands; memdevd's extra ones at the end.
    names.sort(key=lambda n: (order.get(n, last), n))
    return [{"name": n} for n in names]


@command("query-status", allow_preconfig=True)
def query_status(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    no_args(args)
    machine = rt.machine
    out: dict[str, Any] = {"running": machine.running}
    if rt.release.status_has_singlestep:
        out["singlestep"] = False
    out["status"] = machine.runstate
    return out


@command("query-qmp-schema", allow_preconfig=True)
def query_qmp_schema(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    no_args(args)
    table = _table(rt)
    names = tuple(c.name for c in table if c.enabled)
    cache = rt.schema_cache
    if names not in cache:
        from memdevd.qapi.introspect import build_schema

        own = {c.name: c.extra["qapi"] for c in table if "qapi" in c.extra}
        cache[names] = build_schema(rt.machine.recording, list(names), own)
    if rt.compat is not None and rt.compat.deprecated_output == "hide":
        from memdevd.qapi.compat import zap_deprecated

        return zap_deprecated(cache[names])
    return cache[names]


@command("stop")
def stop(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    no_args(args)
    rt.machine.stop()


@command("cont")
def cont(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    no_args(args)
    core(rt.machine.cont)


@command("quit", allow_preconfig=True)
def quit_(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    no_args(args)
    rt.request_shutdown("host-qmp-quit")


@command("query-uuid", allow_preconfig=True)
def query_uuid(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    """``qmp_query_uuid``: -uuid's (or SMBIOS type 1's), else all zeros."""
    no_args(args)
    return {"UUID": rt.machine.config.uuid or "00000000-0000-0000-0000-000000000000"}


@command("query-name", allow_preconfig=True)
def query_name(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    no_args(args)
    name = rt.machine.config.name
    return {"name": name} if name is not None else {}


@command("query-kvm")
def query_kvm(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    no_args(args)
    return rt.machine.kvm_info()


@command("query-machines", allow_preconfig=True)
def query_machines(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    no_args(args)
    from memdevd.targets import get_target

    return get_target(rt.machine.config.board.target).machine_list(rt.release)


@command("system_reset")
def system_reset(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    no_args(args)
    rt.machine.system_reset()


@command("system_powerdown")
def system_powerdown(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    no_args(args)
    rt.machine.system_powerdown()


@command("migrate-recover", allow_oob=True)
def migrate_recover(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    from memdevd.qapi.control import MigrateRecoverArgs

    parse_args(MigrateRecoverArgs, args)
    raise QMPError(M.MIGRATE_RECOVER_NOT_PAUSED)
