"""``-chardev``, ``-serial``, ``-parallel`` and ``-monitor`` as vl.c and
chardev/char.c read them: a ``chardev`` QemuOpts into the QAPI
``ChardevBackend`` (``qemu_chr_parse_opts`` and each backend's ``parse``),
``mux=on`` as a base chardev plus a mux, and the legacy specs of
``-serial``/``-parallel`` (``qemu_chr_new_mux_mon``).  The chardevs are
opened later, by the machine (:mod:`memdevd.machine.chardev`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from memdevd import messages as M
from memdevd.util.qemu_opts import OptionError, QemuOpts

MAX_PARALLEL_PORTS = 3
#: qapi/char.json ChardevVCEncoding (11.1's recorded schema)
_VC_ENCODINGS = ("cp437", "utf8")


def _common(opts: QemuOpts) -> dict[str, Any]:
    """``qemu_chr_parse_common``."""
    out: dict[str, Any] = {}
    if opts.get("logfile") is not None:
        out["logfile"] = opts.get("logfile")
    out["logappend"] = opts.get_bool("logappend", False)
    return out


def _path_backend(opts: QemuOpts, missing: str, key: str = "device") -> dict[str, Any]:
    path = opts.get("path")
    if path is None:
        raise OptionError(missing)
    return {**_common(opts), key: path}


def parse_backend(opts: QemuOpts, release: Any) -> dict[str, Any]:
    """``qemu_chr_parse_opts``: the ChardevBackend (type and data)."""
    name = opts.get("backend")
    if name is None:
        raise OptionError(M.CHARDEV_MISSING_BACKEND.format(opts.id))
    if name not in release.chardev_backend_kinds:
        raise OptionError(M.CHARDEV_NOT_DRIVER_NAME.format(name))
    encoding = opts.get("encoding")
    if encoding is not None and name not in release.chardev_encoding_kinds:
        raise OptionError(M.CHARDEV_NO_ENCODING.format(opts.id))
    data: dict[str, Any]
    if name == "file":
        path = opts.get("path")
        if path is None:
            raise OptionError(M.CHARDEV_FILE_NO_PATH)
        data = {**_common(opts), "out": path}
        if opts.get("input-path") is not None:
            data["in"] = opts.get("input-path")
        data["append"] = opts.get_bool("append", False)
    elif name == "pipe":
        data = _path_backend(opts, M.CHARDEV_PIPE_NO_PATH)
    elif name == "serial":
        data = _path_backend(opts, M.CHARDEV_SERIAL_NO_PATH)
    elif name == "parallel":
        data = _path_backend(opts, M.CHARDEV_PARALLEL_NO_PATH)
    elif name == "socket":
        data = _parse_socket(opts)
    elif name == "udp":
        data = _parse_udp(opts)
    elif name == "mux":
        chardev = opts.get("chardev")
        if chardev is None:
            raise OptionError(M.CHARDEV_MUX_NO_CHARDEV)
        data = {**_common(opts), "chardev": chardev}
    elif name == "hub":
        labels = [opts.get(f"chardevs.{i}") for i in range(4)]
        data = {**_common(opts), "chardevs": [x for x in labels if x is not None]}
    elif name == "stdio":
        data = {**_common(opts), "signal": opts.get_bool("signal", True)}
    elif name == "vc":
        data = _common(opts)
        for key in ("width", "height", "cols", "rows"):
            if opts.get(key) is not None:
                data[key] = opts.get_number(key, 0)
        if encoding is not None:
            # qemu_chr_parse_vc(): qapi_enum_parse() of ChardevVCEncoding
            if encoding not in _VC_ENCODINGS:
                raise OptionError(M.ENUM_INVALID_PARAMETER_VALUE.format(encoding))
            data["encoding"] = encoding
    elif name in ("ringbuf", "memory"):
        data = _common(opts)
        size = opts.get_size("size", 0)
        if size != 0:
            data["size"] = size
    elif name == "spicevmc":
        channel = opts.get("name")
        if channel is None:
            raise OptionError(M.CHARDEV_SPICE_CHANNEL_NO_NAME)
        data = {**_common(opts), "type": channel}
    elif name == "spiceport":
        fqdn = opts.get("name")
        if fqdn is None:
            raise OptionError(M.CHARDEV_SPICE_PORT_NO_NAME)
        data = {**_common(opts), "fqdn": fqdn}
    elif name == "pty" and release.chardev_pty_path:
        data = _common(opts)
        if opts.get("path") is not None:
            data["path"] = opts.get("path")
    elif name == "qemu-vdagent":
        data = _common(opts)
        if opts.get("mouse") is not None:
            data["mouse"] = opts.get_bool("mouse", True)
        if opts.get("clipboard") is not None:
            data["clipboard"] = opts.get_bool("clipboard", False)
    else:
        data = _common(opts)
    return {"type": name, "data": data}


def _parse_socket(opts: QemuOpts) -> dict[str, Any]:
    """char-socket.c ``qemu_chr_parse_socket``."""
    path, host, port, fd = (opts.get(k) for k in ("path", "host", "port", "fd"))
    if sum(1 for x in (path, fd, host) if x) > 1:
        raise OptionError(M.CHARDEV_SOCKET_ONE_OF)
    if host and not port:
        raise OptionError(M.CHARDEV_SOCKET_NO_PORT)
    data = _common(opts)
    if opts.get("delay") is not None and opts.get("nodelay") is not None:
        raise OptionError(M.CHARDEV_SOCKET_DELAY_NODELAY)
    if opts.get("delay") is not None or opts.get("nodelay") is not None:
        data["nodelay"] = not opts.get_bool("delay", True) or opts.get_bool("nodelay", False)
    server = opts.get_bool("server", False)
    data["server"] = server
    for key in ("telnet", "tn3270", "websocket"):
        if opts.get(key) is not None:
            data[key] = opts.get_bool(key, False)
    if opts.find("wait") is not None or server:
        data["wait"] = opts.get_bool("wait", True)
    if opts.find("reconnect") is not None:
        data["reconnect"] = opts.get_number("reconnect", 0)
    if opts.find("reconnect-ms") is not None:
        data["reconnect-ms"] = opts.get_number("reconnect-ms", 0)
    for key in ("tls-creds", "tls-authz"):
        if opts.get(key) is not None:
            data[key] = opts.get(key)
    if path:
        addr = {
            "type": "unix",
            "data": {
                "path": path,
                "tight": opts.get_bool("tight", True),
                "abstract": opts.get_bool("abstract", False),
            },
        }
    elif host:
        inet: dict[str, Any] = {"host": host, "port": port}
        if opts.get("to") is not None:
            inet["to"] = opts.get_number("to", 0)
        for key in ("ipv4", "ipv6"):
            if opts.get(key) is not None:
                inet[key] = opts.get_bool(key, False)
        addr = {"type": "inet", "data": inet}
    else:
        addr = {"type": "fd", "data": {"str": fd}}
    data["addr"] = addr
    return data


def _parse_udp(opts: QemuOpts) -> dict[str, Any]:
    """char-udp.c ``qemu_chr_parse_udp``."""
    host = opts.get("host") or "localhost"
    port = opts.get("port")
    if not port:
        raise OptionError(M.CHARDEV_UDP_NO_PORT)
    localport = opts.get("localport") or ""
    localaddr = opts.get("localaddr") or ""
    has_local = bool(localport or localaddr)
    data = _common(opts)
    remote: dict[str, Any] = {"host": host, "port": port}
    for key in ("ipv4", "ipv6"):
        if opts.get(key) is not None:
            remote[key] = opts.get_bool(key, False)
    data["remote"] = {"type": "inet", "data": remote}
    if has_local:
        data["local"] = {"type": "inet", "data": {"host": localaddr, "port": localport or "0"}}
    return data


def help_text(release: Any) -> str:
    """``-chardev help``: the class names, as ``chardev_name_foreach`` walks them."""
    modules = dict(release.chardev_module_kinds)
    listed = [name for name in release.chardev_backends_listed if name not in modules]
    names = "".join(f"\n  {name}" for name in reversed(listed))
    return M.CHARDEV_BACKEND_HELP.format(names) + "\n"


def creations(opts: QemuOpts, release: Any) -> list[tuple[str, dict[str, Any]]]:
    """``do_qemu_chr_new_from_opts``: the chardev(s) to create, in order:
    with ``mux=on`` the backend as ``ID-base`` and a mux named ``ID``."""
    label = opts.id
    if label is None:
        raise OptionError(M.CHARDEV_NO_ID)
    backend = parse_backend(opts, release)
    if opts.get_bool("mux", False):
        base = f"{label}-base"
        mux = {"type": "mux", "data": {"chardev": base}}
        return [(base, backend), (label, mux)]
    return [(label, backend)]


#: What QEMU says when a -serial/-parallel/-debugcon spec's chardev fails.
_PORT_FAILED = {
    "serial": M.SERIAL_CONNECT_FAILED,
    "parallel": M.PARALLEL_CONNECT_FAILED,
    "debugcon": M.DEBUGCON_INVALID_BACKEND,
}


def serial_ports(lists: Any, request: Any, release: Any) -> None:
    """vl.c ``add_device_config(DEV_SERIAL|DEV_PARALLEL|DEV_DEBUGCON)``:
    each spec's chardev (``qemu_chr_parse_compat``) as ``serialN``,
    ``parallelN`` or ``debugcon``, resolved now so the machine only opens
    them (``serial_parse``, ``debugcon_parse``).  A -debugcon also makes
    the -device ``isa-debugcon,chardev=debugcon`` with the id ``debugcon``,
    after the command line's own -device options."""
    from memdevd.util import qemu_opts as Q

    serial_index = 0
    parallel_index = 0
    resolved: list[Any] = []
    for kind, spec, loc in request.serial_ports:
        if kind == "debugcon":
            label = "debugcon"
        elif kind == "serial":
            label = f"serial{serial_index}"
            serial_index += 1
        else:
            if spec == "none":
                resolved.append((kind, spec, loc, None, None, False))
                continue
            if parallel_index == MAX_PARALLEL_PORTS:
                raise OptionError(M.PARALLEL_TOO_MANY, location=loc)
            label = f"parallel{parallel_index}"
            parallel_index += 1
        if spec == "none" and kind != "debugcon":
            resolved.append((kind, spec, loc, None, None, False))
            continue
        if spec.startswith("chardev:"):
            resolved.append((kind, spec, loc, spec[len("chardev:") :], None, False))
            _debugcon_device(kind, loc, request)
            continue
        failed = _PORT_FAILED[kind]
        try:
            opts = Q.qemu_chr_parse_compat(label, spec, lists, permit_mux_mon=True)
            made = creations(opts, release)
        except Q.ChardevSpecError as err:
            printed = [replace(d, location=d.location or loc) for d in err.printed]
            raise OptionError(failed.format(spec), location=loc, preceding=printed) from None
        except OptionError as err:
            raise OptionError(
                failed.format(spec), location=loc, preceding=[err.at(loc).diagnostic()]
            ) from None
        opts.delete()
        resolved.append((kind, spec, loc, label, made, opts.get_bool("mux", False)))
        _debugcon_device(kind, loc, request)
    request.serial_ports = resolved


def _debugcon_device(kind: str, loc: str, request: Any) -> None:
    """debugcon_parse(): the device QemuOpts of id ``debugcon`` (once: a
    second -debugcon fails on its chardev first)."""
    from memdevd.app.startup import DeviceSpec

    if kind != "debugcon" or any(d.from_debugcon for d in request.devices):
        return
    device = {"id": "debugcon", "driver": "isa-debugcon", "chardev": "debugcon"}
    request.devices.append(DeviceSpec(loc, device, False, from_debugcon=True))


class Monitor:
    """A readline (HMP) monitor, the front end of its chardev."""

    def __init__(self, label: str) -> None:
        self.label = label


def create_late(machine: Any, request: Any, lines: list[str]) -> list[Any]:
    """``qemu_create_late_backends``: the readline monitors take their
    chardevs (``mon_init_func``), then ``serial_parse``/``parallel_parse``
    open the -serial/-parallel chardevs.  Returns ``serial_hds`` and
    ``parallel_hds`` as (kind, label or None) pairs; a pty's line goes to
    ``lines``."""
    from memdevd.machine.errors import CoreError

    release = machine.release
    if release.qom_monitor_objects:
        from memdevd.machine.monitors import add_command_line_monitors

        add_command_line_monitors(machine, request.monitors)
    for label in request.readline_monitors:
        _monitor_claims(machine, label, release, request.monitor_locations.get(label) or None)
    hds: list[Any] = []
    for kind, spec, loc, label, made, mux_monitor in request.serial_ports:
        failed = _PORT_FAILED[kind]
        if label is None:
            hds.append((kind, None))
            continue
        if made is None:
            if label not in machine.chardevs.children:
                raise OptionError(failed.format(spec), location=loc)
            hds.append((kind, label))
            continue
        try:
            for name, backend in made:
                line = machine.add_backend_chardev(name, backend)
                if line:
                    lines.append(line)
        except CoreError as exc:
            first = OptionError(exc.desc, exc.hint or None, loc).diagnostic()
            raise OptionError(failed.format(spec), location=loc, preceding=[first]) from None
        if mux_monitor:
            _monitor_claims(machine, label, release, loc)
        if kind == "debugcon":
            # qemu_opts_create(device, "debugcon", fail_if_exists): a -device
            # of that id (JSON ones are kept apart) is there already.
            ids = [d.opts.get("id") for d in request.devices if not d.from_json]
            if ids.count("debugcon") > 1:
                raise OptionError(M.DEBUGCON_DEVICE_EXISTS, location=loc)
        hds.append((kind, label))
    return hds


def _monitor_claims(machine: Any, label: str, release: Any, loc: str | None) -> None:
    from memdevd.machine.chardev.container import fe_init
    from memdevd.machine.chardev.core import Chardev
    from memdevd.machine.errors import CoreError

    chardev = machine.chardevs.children.get(label)
    if chardev is None:
        raise OptionError(M.CHARDEV_NOT_FOUND.format(label), location=loc)
    try:
        fe_init(chardev, Monitor(label), release)
    except CoreError as exc:
        raise OptionError(exc.desc, location=loc) from None
    if isinstance(chardev, Chardev):
        chardev.frontend_open = True


def plug_ports(machine: Any, hds: list[Any]) -> None:
    """The board's ``serial_hds_isa_init``/``parallel_hds_isa_init``: an
    isa-serial (index N) per -serial chardev N of the first four, an
    isa-parallel per -parallel chardev."""
    from memdevd.machine.devices import device_class

    serial = [label for kind, label in hds if kind == "serial"]
    parallel = [label for kind, label in hds if kind == "parallel"]
    for driver, labels, limit in (("isa-serial", serial, 4), ("isa-parallel", parallel, 3)):
        for index, label in enumerate(labels[:limit]):
            if label is None:
                continue
            cls = device_class(driver, machine.config.board, machine.recording)
            if cls is None:
                continue
            dev = cls(machine)
            dev.prop_set("index", str(index), keyval=True)
            dev.prop_set("chardev", label, keyval=True)
            dev.parent_bus = "isa.0"
            machine.realize_unattached(dev)


def wait_for_clients(machine: Any, request: Any, prog: str) -> None:
    """``tcp_chr_accept_server_sync``: a -chardev socket server without
    wait=off says so and waits for its first client before the machine
    goes on (memdevd waits once the machine is built, before serving QMP).
    A client with ``reconnect`` whose first attempt failed says so."""
    if not request.chardevs and not request.serial_ports:
        return  # (the common case imports nothing)
    import sys

    from memdevd.machine.chardev.core import Chardev
    from memdevd.util.qemu_opts import Diagnostic, format_diagnostic

    locations = {label: loc for label, _, loc in request.chardevs}
    for _kind, _spec, loc, _label, made, _mux in request.serial_ports:
        for name, _ in made or ():
            locations[name] = loc
    for label, chardev in list(machine.chardevs.children.items()):
        if isinstance(chardev, Chardev) and chardev.reconnect_error:
            # The first connection attempt failed: QEMU says so once (from
            # its main loop, so without the option's location).
            text = M.CHARDEV_SOCKET_UNABLE_TO_CONNECT.format(label, chardev.reconnect_error)
            sys.stderr.write(format_diagnostic(prog, Diagnostic(text)))
            sys.stderr.flush()
            chardev.reconnect_error = ""
        if not isinstance(chardev, Chardev) or not chardev.wait_connect:
            continue
        chardev.wait_connect = False
        text = M.CHARDEV_SOCKET_WAITING.format(chardev.filename)
        note = Diagnostic(text, location=locations.get(label), kind="info")
        sys.stderr.write(format_diagnostic(prog, note))
        sys.stderr.flush()
        chardev.accept_blocking()
