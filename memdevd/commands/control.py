"""Control commands: negotiation, version, status, run state, quit.

``qmp_capabilities``, ``query-version``, ``query-commands``, ``query-status``,
``stop``, ``cont``, ``quit``, ``query-name``, ``query-machines``, ``query-kvm``,
``system_reset``, ``system_powerdown`` and the one out-of-band command QEMU
offers everywhere, ``migrate-recover``.
"""

from __future__ import annotations

from typing import Any

from memdevd import messages as M
from memdevd.commands.base import Runtime, core, no_args, parse_args
from memdevd.qmp.encoder import JSONText, to_json
from memdevd.qmp.errors import QMPError
from memdevd.qmp.registry import Registry
from memdevd.qmp.session import Session
from memdevd.releases import recorded


def register(reg: Registry, rt: Runtime) -> None:
    machine = rt.machine
    release = rt.release

    def qmp_capabilities(session: Session, args: dict[str, Any]) -> None:
        if not args:
            # The first command of every client: no models for it.
            session.negotiate([])
            return
        from memdevd.qapi.control import QmpCapabilitiesArgs

        parsed = parse_args(QmpCapabilitiesArgs, args)
        session.negotiate(list(parsed.enable or []))

    # The version never changes: encoded once, as the greeting is.
    version_text = JSONText(to_json(release.version_info))

    def query_version(session: Session, args: dict[str, Any]) -> Any:
        no_args(args)
        return version_text

    def query_commands(session: Session, args: dict[str, Any]) -> Any:
        no_args(args)
        order = recorded.command_order(release.version)
        last = len(order)
        names = [c.name for c in reg if c.enabled]
        # QEMU's own order for its commands; memdevd's extra ones at the end.
        names.sort(key=lambda n: (order.get(n, last), n))
        return [{"name": n} for n in names]

    schema_cache: dict[tuple[str, ...], list[dict[str, Any]]] = {}

    def query_qmp_schema(session: Session, args: dict[str, Any]) -> Any:
        no_args(args)
        names = tuple(c.name for c in reg if c.enabled)
        if names not in schema_cache:
            from memdevd.qapi.introspect import build_schema

            own = {c.name: c.extra["qapi"] for c in reg if "qapi" in c.extra}
            schema_cache[names] = build_schema(release.version, list(names), own)
        return schema_cache[names]

    def query_status(session: Session, args: dict[str, Any]) -> Any:
        no_args(args)
        out: dict[str, Any] = {"running": machine.running}
        if release.status_has_singlestep:
            out["singlestep"] = False
        out["status"] = machine.runstate
        return out

    def stop(session: Session, args: dict[str, Any]) -> None:
        no_args(args)
        machine.stop()

    def cont(session: Session, args: dict[str, Any]) -> None:
        no_args(args)
        core(machine.cont)

    def quit_(session: Session, args: dict[str, Any]) -> None:
        no_args(args)
        rt.request_shutdown("host-qmp-quit")

    def query_name(session: Session, args: dict[str, Any]) -> Any:
        no_args(args)
        name = machine.config.name
        return {"name": name} if name is not None else {}

    def query_kvm(session: Session, args: dict[str, Any]) -> Any:
        no_args(args)
        return machine.kvm_info()

    def query_machines(session: Session, args: dict[str, Any]) -> Any:
        no_args(args)
        from memdevd.targets.x86_64.machine_types import machine_list

        return machine_list(release)

    def system_reset(session: Session, args: dict[str, Any]) -> None:
        no_args(args)
        machine.system_reset()

    def system_powerdown(session: Session, args: dict[str, Any]) -> None:
        no_args(args)
        machine.system_powerdown()

    def migrate_recover(session: Session, args: dict[str, Any]) -> None:
        from memdevd.qapi.control import MigrateRecoverArgs

        parse_args(MigrateRecoverArgs, args)
        raise QMPError(M.MIGRATE_RECOVER_NOT_PAUSED)

    reg.register("qmp_capabilities", qmp_capabilities, allow_preconfig=True)
    reg.register("query-version", query_version, allow_preconfig=True)
    reg.register("query-commands", query_commands, allow_preconfig=True)
    reg.register("query-status", query_status, allow_preconfig=True)
    reg.register("query-qmp-schema", query_qmp_schema, allow_preconfig=True)
    reg.register("stop", stop)
    reg.register("cont", cont)
    reg.register("quit", quit_, allow_preconfig=True)
    reg.register("query-name", query_name, allow_preconfig=True)
    reg.register("query-kvm", query_kvm)
    reg.register("query-machines", query_machines, allow_preconfig=True)
    reg.register("system_reset", system_reset)
    reg.register("system_powerdown", system_powerdown)
    reg.register("migrate-recover", migrate_recover, allow_oob=True)
