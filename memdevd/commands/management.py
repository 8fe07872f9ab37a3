"""What management tools ask every VM, beyond its memory devices.

libvirt (and tools modelled on it) sends these at domain start, after
each hot-plug, on reconnect and for statistics: ``balloon`` and
``query-balloon`` (the virtio balloon, :mod:`memdevd.machine.devices.virtio_balloon`),
``query-chardev`` (the monitor sockets), ``migrate-set-capabilities`` and
``query-migrate-capabilities`` (libvirt turns on ``events``), and queries
of subsystems memdevd's VMs never have, answered as QEMU answers for a VM
without them: no jobs, no statistics
providers under TCG (``query-stats``, ``query-stats-schemas``) and no
dirty-rate measurement (``query-dirty-rate``).

Enum values that differ between releases are read from the emulated
release's recorded schema (:func:`memdevd.qapi.introspect.argument_enum`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memdevd import messages as M
from memdevd.commands.base import Runtime, command, core, no_args
from memdevd.qapi.introspect import argument_enum
from memdevd.qapi.visitor import InputVisitor, VisitError
from memdevd.qmp.errors import QMPError
from memdevd.qmp.session import Session

if TYPE_CHECKING:
    from memdevd.releases.recorded import Recording
    from memdevd.releases.table import Release


def _visit(args: dict[str, Any], body: Any) -> Any:
    """Run a hand-written QAPI visit of ``args``; QEMU's texts on failure."""
    v = InputVisitor(args)
    try:
        v.start_struct(None)
        out = body(v)
        v.check_struct()
        v.end_struct()
    except VisitError as exc:
        raise QMPError(exc.desc) from None
    return out


def _no_args(v: InputVisitor) -> None:
    return None


# -- balloon -------------------------------------------------------------------------


@command("balloon")
def balloon(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    from memdevd.machine.devices.virtio_balloon import find_balloon

    value = _visit(args, lambda v: v.type_int("value", "int"))
    dev = core(find_balloon, rt.machine)
    if value <= 0:
        raise QMPError(M.INVALID_PARAMETER_VALUE.format(rt.release.balloon_argument, "a size"))
    dev.to_target(value)


@command("query-balloon")
def query_balloon(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    from memdevd.machine.devices.virtio_balloon import find_balloon

    no_args(args)
    return core(find_balloon, rt.machine).info()


# -- chardevs ------------------------------------------------------------------------


@command("query-chardev", allow_preconfig=True)
def query_chardev(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    no_args(args)
    # object_child_foreach over /chardevs, each prepended to the list.
    # (GLib's hash-table order of /chardevs' children.)
    chardevs = rt.machine.chardevs
    out = [
        chardev_info(label, chardevs.children[label], rt.release) for label in chardevs.hash_order()
    ]
    out.reverse()
    return out


# -- migration capabilities ------------------------------------------------------------


def _current_capabilities(rt: Runtime) -> dict[str, bool]:
    """Every MigrationCapability in enum order and its state (QEMU's default:
    off), read from the recorded schema on first use (megabytes of JSON)."""
    capabilities = rt.migration_capabilities
    if not capabilities:
        capabilities.update(_initial_capabilities(rt.machine.recording))
    return capabilities


@command("migrate-set-capabilities")
def migrate_set_capabilities(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    values = argument_enum(
        rt.machine.recording, "migrate-set-capabilities", "capabilities", "capability"
    )

    def body(v: InputVisitor) -> list[tuple[str, bool]]:
        out: list[tuple[str, bool]] = []
        v.start_list("capabilities")
        while v.has_next():
            v.start_struct(None)
            cap = v.type_enum("capability", values)
            state = v.type_bool("state")
            v.check_struct()
            v.end_struct()
            out.append((cap, state))
        v.end_list()
        return out

    # Applied all at once after the whole list was read (new_caps[] in QEMU).
    for cap, state in _visit(args, body):
        _current_capabilities(rt)[cap] = state


@command("query-migrate-capabilities")
def query_migrate_capabilities(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    no_args(args)
    return [{"capability": c, "state": s} for c, s in _current_capabilities(rt).items()]


# -- subsystems memdevd's VMs do not have ----------------------------------------------


@command("query-iothreads", allow_preconfig=True)
def query_iothreads(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    """``qmp_query_iothreads``: the iothread objects under /objects."""
    from memdevd.machine.objects import InertObject

    no_args(args)
    # object_child_foreach(): /objects in GLib's hash-table order.
    children = rt.machine.objects.children
    return [
        obj.iothread_info()
        for obj in (children[name] for name in rt.machine.objects.hash_order())
        if isinstance(obj, InertObject) and obj.typename == "iothread"
    ]


@command("query-jobs")
def query_jobs(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    no_args(args)
    return []


@command("query-stats", allow_preconfig=True)
def query_stats(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    rec = rt.machine.recording
    targets = argument_enum(rec, "query-stats", "target")
    providers = argument_enum(rec, "query-stats", "providers", "provider")

    def body(v: InputVisitor) -> None:
        target = v.type_enum("target", targets)
        if v.optional("providers"):
            v.start_list("providers")
            while v.has_next():
                v.start_struct(None)
                v.type_enum("provider", providers)
                if v.optional("names"):
                    _str_list(v, "names")
                v.check_struct()
                v.end_struct()
            v.end_list()
        if target == "vcpu" and v.optional("vcpus"):
            _str_list(v, "vcpus")

    _visit(args, body)
    # Only KVM (and cryptodev backends) provide statistics.
    return []


@command("query-stats-schemas", allow_preconfig=True)
def query_stats_schemas(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    providers = argument_enum(rt.machine.recording, "query-stats-schemas", "provider")
    wanted = _visit(
        args, lambda v: v.type_enum("provider", providers) if v.optional("provider") else None
    )
    # 8.0+ registers the cryptodev provider at start-up, backends or not.
    if "cryptodev" in providers and wanted in (None, "cryptodev"):
        return [_cryptodev_schema()]
    return []


@command("query-dirty-rate")
def query_dirty_rate(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    # qmp_query_dirty_rate before any calc-dirty-rate.
    if not rt.release.dirty_rate_time_unit:
        _visit(args, _no_args)
        return {
            "status": "unstarted",
            "start-time": 0,
            "calc-time": 0,
            "sample-pages": 0,
            "mode": "page-sampling",
        }
    unit = _visit(
        args,
        lambda v: (
            v.type_enum("calc-time-unit", ["second", "millisecond"])
            if v.optional("calc-time-unit")
            else "second"
        ),
    )
    return {
        "status": "unstarted",
        "start-time": 0,
        "calc-time": 0,
        "calc-time-unit": unit,
        "sample-pages": 0,
        "mode": "page-sampling",
    }


def _str_list(v: InputVisitor, name: str) -> list[str]:
    v.start_list(name)
    out: list[str] = []
    while v.has_next():
        out.append(v.type_str(None))
    v.end_list()
    return out


# backends/cryptodev.c: cryptodev_backend_schemas_cb, names prepended in turn.
_CRYPTODEV_STATS = (
    "sym-encrypt-ops",
    "sym-decrypt-ops",
    "sym-encrypt-bytes",
    "sym-decrypt-bytes",
    "asym-encrypt-ops",
    "asym-decrypt-ops",
    "asym-sign-ops",
    "asym-verify-ops",
    "asym-encrypt-bytes",
    "asym-decrypt-bytes",
    "asym-sign-bytes",
    "asym-verify-bytes",
)


def _cryptodev_schema() -> dict[str, Any]:
    stats = [
        {"name": name, "type": "cumulative", "exponent": 0} for name in reversed(_CRYPTODEV_STATS)
    ]
    return {"provider": "cryptodev", "target": "cryptodev", "stats": stats}


def _initial_capabilities(rec: Recording) -> dict[str, bool]:
    """Every MigrationCapability, in enum order, off (QEMU's defaults)."""
    values = argument_enum(rec, "migrate-set-capabilities", "capabilities", "capability")
    return dict.fromkeys(values, False)


def chardev_info(label: str, dev: Any, release: Release) -> dict[str, Any]:
    """``ChardevInfo``: a monitor's socket (char-socket.c's filename rules),
    else a pty or null chardev, open when a device uses it."""
    from memdevd.machine.qom import ChardevBackend

    if isinstance(dev, ChardevBackend):
        return {"label": label, "filename": dev.filename, "frontend-open": dev.frontend_open}
    return {"label": label, "filename": chardev_filename(dev, release), "frontend-open": True}


def chardev_filename(dev: Any, release: Release) -> str:
    """``qemu_chr_compute_filename`` when a client is connected, else
    ``qemu_chr_socket_address(s, "disconnected:")``."""
    address = dev.address
    peer = dev.peer()
    kind = address.get("type")
    listen = ",server=on" if dev.listen else ""
    if kind == "unix":
        if dev.connected() and not dev.listen:
            # 7.2 names the client's own (unnamed) end of the socket.
            return f"unix:{address['path']}" if release.chardev_client_filename_peer else "unix:"
        text = f"unix:{address['path']}{listen}"
        return text if dev.connected() else "disconnected:" + text
    if kind == "inet":
        host, port = address["host"], address["port"]
        if dev.connected() and peer is not None:
            left, right = ("[", "]") if ":" in host else ("", "")
            phost, pport = peer
            return f"tcp:{left}{host}{right}:{port}{listen} <-> {left}{phost}{right}:{pport}"
        return f"disconnected:tcp:{host}:{port}{listen}"
    return f"{'' if dev.connected() else 'disconnected:'}fd:{address.get('str')}{listen}"
