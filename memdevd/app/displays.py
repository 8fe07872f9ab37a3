"""The displays in QEMU's start-up order (system/vl.c).

``-display``, ``-nographic``, ``-vga``, ``-vnc``, ``-spice``, ``-audiodev``
and ``-k`` are parsed in the option loop (:func:`parse_display`,
:func:`parse_vnc`, :func:`parse_spice`, :func:`parse_audiodev`); after the
machine is chosen :func:`setup_displays` resolves the default display (QEMU
on a host without a GUI module: a VNC server on ``localhost:0,to=99``), the
VGA interface and the display's early initialisation; the SPICE server and
the audiodevs start with the early backends (:func:`start_spice`,
:func:`start_audio`); and once the machine, its devices and the QMP
monitors exist :func:`init_displays` does ``qemu_init_displays``: the
local display (which fails on a host without a terminal, X or a render
node, as QEMU fails), then each VNC server, bound for real.

The core (:mod:`memdevd.machine.display`) keeps the state; this module
turns its errors into what QEMU prints, with the option they came from.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import field
from typing import TYPE_CHECKING, Any

from memdevd import messages as M
from memdevd.machine.display import (
    DEFAULT_DISPLAY_PRIORITY,
    DEFAULT_VGA_DRIVERS,
    DISPLAY_TYPES,
    VGA_INTERFACES,
    DisplayStartError,
    DisplayState,
    VncDisplay,
    audio_validate_opts,
)
from memdevd.machine.errors import CoreError
from memdevd.records import record
from memdevd.util.qemu_opts import Diagnostic, HelpRequested, OptionError

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine
    from memdevd.releases.table import Release

# Debian's package of ui-spice-core (a build without it has no -spice).
SPICE_MODULE_PACKAGE = "qemu-system-modules-spice"
# Debian 7.2's util/module.c names this package for every "ui-" module.
GUI_MODULE_PACKAGE = "qemu-system-gui"


@record
class DisplayRequest:
    """What the command line asked of the displays."""

    # -display as visited (DisplayOptions), the last one given.
    dpy: dict[str, Any] | None = None
    nographic: bool = False
    vga: str | None = None
    # (id, QemuOpts items, location) of each -vnc / -display vnc= (and
    # -readconfig [vnc] group), in order; "" for a display without an id yet.
    vnc: list[tuple[str, list[tuple[str, str]], str]] = field(default_factory=list)
    # The merged -spice options (QemuOpts items), None without -spice.
    spice: list[tuple[str, str]] | None = None
    # vl.c display_remote: a -vnc, -display vnc= or -spice option was given
    # (a -readconfig [vnc] or [spice] group only stores its QemuOpts).
    remote: bool = False
    # -audiodev, validated (audio_define), in command-line order.
    audiodevs: list[dict[str, Any]] = field(default_factory=list)
    keymap: str | None = None
    # -nodefaults not given; which of -serial, -parallel, -monitor/-qmp/-mon were.
    has_defaults: bool = True
    serial_given: bool = False
    parallel_given: bool = False
    monitor_given: bool = False
    daemonize: bool = False
    # qemu_create_default_devices(): the -serial/-parallel specs QEMU adds
    # without -nodefaults, as (option, spec), and the default monitor's
    # spec (monitor_parse(SPEC, "readline")), set by :func:`setup_displays`.
    default_ports: list[tuple[str, str]] = field(default_factory=list)
    default_monitor: str | None = None


#: Options that choose a display: without one QEMU looks for a GUI and,
#: finding none on a headless host, starts a VNC server on localhost.
DISPLAY_OPTIONS = frozenset({"-display", "-vnc", "-spice", "-nographic"})


def with_display(argv: Sequence[str]) -> list[str]:
    """``argv`` with ``-display none`` where it chooses no display: what
    fleet VMs and the pytest fixtures run (memdevd's choice, so that many
    VMs do not each take a VNC port; docs/divergences.md)."""
    given = {a[1:] if a.startswith("--") else a for a in argv}
    if given & DISPLAY_OPTIONS:
        return list(argv)
    return [*argv, "-display", "none"]


def _diag(kind: str, text: str) -> Diagnostic:
    return Diagnostic(text, kind=kind)  # type: ignore[arg-type]


def _start_error(exc: DisplayStartError) -> OptionError:
    return OptionError(exc.desc, preceding=[_diag(k, t) for k, t in exc.notes], plain=exc.plain)


# -- the option loop -------------------------------------------------------------------


def parse_vnc(
    lists: Any, arg: str, location: str, locations: dict[int, str], *, assign_id: bool
) -> None:
    """``vnc_parse``: QemuOpts (``vnc=`` implied), then an id if none was
    given and the release assigns it here (``Release.vnc_ids_at_init``;
    ``assign_id=False`` also for a -readconfig [vnc] group, only stored)."""
    from memdevd.util.qemu_opts import is_help_option

    olist = lists["vnc"]
    opts = olist.parse_noisily(arg, not is_help_option(arg))
    if opts.id is None and assign_id:
        opts.id = _vnc_auto_assign_id({o.id for o in olist.head})
    locations[id(opts)] = location


def _vnc_auto_assign_id(taken: set[str | None]) -> str:
    """``vnc_auto_assign_id``: "default", else the first free "vncN" from 2."""
    index, vnc_id = 2, "default"
    while vnc_id in taken:
        vnc_id = f"vnc{index}"
        index += 1
    return vnc_id


def vnc_requests(
    lists: Any, locations: dict[int, str]
) -> list[tuple[str, list[tuple[str, str]], str]]:
    """Each QemuOpts of the "vnc" list: (id or "", items, location)."""
    return [(o.id or "", list(o.items()), locations.get(id(o), "")) for o in lists["vnc"].head]


def parse_display(arg: str, release: Release, target: str) -> dict[str, Any] | str:
    """``parse_display``: the visited DisplayOptions, or the ``vnc=`` argument.

    Raises HelpRequested for ``help`` and OptionError as QEMU fails.
    """
    from memdevd.util.qemu_opts import is_help_option

    if is_help_option(arg):
        raise display_help(release)
    if arg.startswith("vnc"):
        if arg[3:4] == "=":
            return arg[4:]
        raise OptionError(M.VNC_REQUIRES_DISPLAY)
    return _visit_option(arg, "type", "DisplayOptions", release, target)


def display_help(release: Release) -> HelpRequested:
    """``qemu_display_help``: the types whose module the build has."""
    missing = dict(release.ui_missing_modules)
    lines = [M.DISPLAY_HELP_HEADER, "none"]
    notes: list[Diagnostic] = []
    if release.module_not_found_notes:
        # No backend registers "none": its module is looked for too.
        note = M.MODULE_NOT_FOUND_NOTE.format("ui-", "ui-none", GUI_MODULE_PACKAGE)
        notes.append(_diag("plain", note))
    for name in DISPLAY_TYPES[1:]:
        if name in missing:
            notes.extend(_module_notes(release, name))
            continue
        if name not in ("none", "gtk", "sdl"):
            lines.append(name)
    text = "\n".join(lines) + "\n"
    if release.display_help_footer:
        text += M.DISPLAY_HELP_FOOTER + "\n"
    return HelpRequested(text, 0, notes)


def _module_notes(release: Release, display_type: str) -> list[Diagnostic]:
    """Debian's "module not found" note of a UI module (7.2)."""
    if not release.module_not_found_notes:
        return []
    package = dict(release.ui_missing_modules)[display_type]
    return [_diag("plain", M.MODULE_NOT_FOUND_NOTE.format("ui-", f"ui-{display_type}", package))]


def _visit_option(
    arg: str, implied_key: str | None, type_name: str, release: Release, target: str
) -> dict[str, Any]:
    """``qobject_input_visitor_new_str`` + ``visit_type_<type_name>``."""
    from memdevd.qapi.qdict import qdict_key_order
    from memdevd.qapi.source_schema import schema_of, visit
    from memdevd.qapi.visitor import InputVisitor, VisitError
    from memdevd.releases.recorded import recording
    from memdevd.util import qemu_opts as Q

    keyval = not arg.startswith("{")
    value: Any
    if keyval:
        value = Q.keyval_parse(arg, implied_key, help_allowed=False).values
    else:
        from memdevd.app.cmdline_json import qobject_from_json

        value = qobject_from_json(arg, push=release.json_push_parser)
    v = InputVisitor(value, keyval=keyval, key_order=qdict_key_order)
    try:
        visited: dict[str, Any] = visit(schema_of(recording(target, release)), v, None, type_name)
    except VisitError as exc:
        raise OptionError(exc.desc) from None
    return visited


def parse_spice(lists: Any, arg: str, release: Release) -> None:
    """``-spice``: QemuOpts merged into one group (7.2); a build without the
    spice module (10.0 here) has no such option group."""
    if not release.has_spice:
        raise OptionError(
            M.INSTALL_PACKAGE_HINT.format(SPICE_MODULE_PACKAGE),
            preceding=[Diagnostic(M.NO_OPTION_GROUP.format("spice"))],
        )
    lists["spice"].parse_noisily(arg, False)


def parse_audiodev(arg: str, release: Release, target: str) -> dict[str, Any]:
    """``audio_parse_option``: help, or the visited Audiodev after
    ``audio_validate_opts`` (``audio_define``)."""
    from memdevd.util.qemu_opts import is_help_option

    if is_help_option(arg):
        lines = [M.AUDIO_HELP_HEADER]
        notes: list[Diagnostic] = []
        for driver, outcome in release.audio_drivers:
            if outcome.startswith("missing:"):
                if release.module_not_found_notes:
                    package = outcome.split(":", 1)[1]
                    notes.append(
                        _diag(
                            "plain",
                            M.MODULE_NOT_FOUND_NOTE.format("audio-", f"audio-{driver}", package),
                        )
                    )
                continue
            lines.append(driver)
        raise HelpRequested("\n".join(lines) + "\n", 0, notes)
    dev = _visit_option(arg, "driver", "Audiodev", release, target)
    try:
        return audio_validate_opts(dev)
    except CoreError as exc:
        raise OptionError(exc.desc) from None


# -- after the machine is chosen ------------------------------------------------------


def setup_displays(
    display: DisplayState,
    req: DisplayRequest,
    board: Any,
    device_drivers: list[str],
    add_defaults: Callable[[], None] | None = None,
) -> list[Diagnostic]:
    """``qemu_disable_default_devices``, ``qemu_setup_display`` (8.2),
    ``qemu_create_default_devices`` and the display part of
    ``qemu_create_early_backends``: what is printed, or OptionError /
    HelpRequested where QEMU exits.  ``add_defaults`` parses the default
    ports' and monitor's specs (set in ``req``), before ``-vga``'s model is
    selected, as QEMU does."""
    release = display.release
    notes: list[Diagnostic] = []
    display.keymap = req.keymap
    display.dpy = dict(req.dpy) if req.dpy is not None else {"type": "default"}
    vnc = list(req.vnc)
    # qemu_disable_default_devices(): a display device disables the default VGA.
    default_vga = req.has_defaults and req.vga is None
    if any(driver in DEFAULT_VGA_DRIVERS for driver in device_drivers):
        default_vga = False
    vga_model = req.vga
    if vga_model is None and not default_vga:
        display.vga_interface = "device"
        display.vga_created = True
    display.vga_option = req.vga is not None
    remote = req.remote or (release.display_remote_if_vnc_list and bool(vnc))

    def default_display() -> None:
        if display.dpy["type"] == "default" and not remote:
            found = False
            for name in DEFAULT_DISPLAY_PRIORITY:
                if name in dict(release.ui_missing_modules):
                    notes.extend(_module_notes(release, name))
                    continue
                found = True  # pragma: no cover - no reference build has a GUI
            if not found:
                display.dpy["type"] = "none"
                # vnc_parse("localhost:0,to=99,id=default"): a -readconfig
                # [vnc "default"] group has the id already.
                if any(vnc_id == "default" for vnc_id, _, _ in vnc):
                    raise OptionError(M.DUPLICATE_OPTS_ID.format("default", "vnc"), preceding=notes)
                vnc.append(("default", [("vnc", "localhost:0"), ("to", "99")], ""))
        if display.dpy["type"] == "default":
            display.dpy["type"] = "none"

    def default_devices() -> None:
        nonlocal vga_model
        if req.has_defaults:
            _default_ports(req, board, notes)
            if add_defaults is not None and (req.default_ports or req.default_monitor):
                try:
                    add_defaults()
                except OptionError as err:
                    err.preceding[:0] = notes
                    raise
        if not release.display_setup_first:
            default_display()
        if default_vga:
            vga_model = _default_vga_model(display, board, notes)
        if vga_model is not None:
            _select_vga(display, board, vga_model, notes)

    if release.display_setup_first:
        default_display()
        _display_early_init(display, notes)
        default_devices()
    else:
        default_devices()
    # qemu_create_early_backends()
    if "window-close" in display.dpy and display.dpy["type"] not in ("gtk", "sdl"):
        notes.append(_diag("error", M.WINDOW_CLOSE_ONLY_GTK_SDL))
    if not release.display_setup_first:
        _display_early_init(display, notes)
    if display.dpy.get("gl", "off") != "off" and not _display_has_opengl(display):
        raise OptionError(
            release.opengl_not_supported_text.format(display.dpy["type"]), preceding=notes
        )
    display.vnc = [VncDisplay(vnc_id, items, location or None) for vnc_id, items, location in vnc]
    return notes


#: ui/console.c qemu_display_get_vc(): what a text console is without a
#: display that names its own (gtk, dbus and spice-app say "vc", but no
#: reference build of 8.2 and later starts them; 7.2 always uses this).
DEFAULT_VC = "vc:80Cx24C"


def _default_ports(req: DisplayRequest, board: Any, notes: list[Diagnostic]) -> None:
    """``qemu_disable_default_devices`` (a board without serial or parallel
    ports) and ``qemu_create_default_devices``: the default serial and
    parallel ports' and monitor's chardev specs, into ``req``."""
    serial = not req.serial_given and not board.no_serial
    parallel = not req.parallel_given and not board.no_parallel
    monitor = not req.monitor_given
    if req.daemonize and req.nographic and (serial or parallel or monitor):
        raise OptionError(M.NOGRAPHIC_WITH_DAEMONIZE, preceding=notes)
    ports: list[tuple[str, str]] = []
    if req.nographic:
        if parallel:
            ports.append(("parallel", "null"))
        if serial and monitor:
            ports.append(("serial", "mon:stdio"))
            monitor = False
        elif serial:
            ports.append(("serial", "stdio"))
        req.default_monitor = "stdio" if monitor else None
    else:
        if serial:
            ports.append(("serial", DEFAULT_VC))
        if parallel:
            ports.append(("parallel", DEFAULT_VC))
        req.default_monitor = DEFAULT_VC if monitor else None
    req.default_ports = ports


def _display_has_opengl(display: DisplayState) -> bool:
    """``display_opengl`` after early init: egl-headless sets it."""
    return bool(display.dpy["type"] == "egl-headless")


def _display_early_init(display: DisplayState, notes: list[Diagnostic]) -> None:
    """``qemu_display_early_init``: the backend must exist (its module)."""
    release = display.release
    dpy = display.dpy
    kind = dpy["type"]
    if kind == "none":
        return
    missing = dict(release.ui_missing_modules)
    if kind in missing:
        notes.extend(_module_notes(release, kind))
        raise OptionError(
            release.display_not_available_text.format(kind, missing[kind]), preceding=notes
        )
    if kind == "spice-app":
        if "full-screen" in dpy:
            raise OptionError(M.SPICE_APP_FULL_SCREEN, preceding=notes)
        if "window-close" in dpy:
            raise OptionError(M.SPICE_APP_WINDOW_CLOSE, preceding=notes)
    if kind == "dbus" and dpy.get("gl", "off") != "off":
        notes.append(_diag("error", M.EGL_NO_RENDER_NODE))
        raise OptionError(M.DBUS_RENDER_NODE_INIT_FAILED, preceding=notes)


def _default_vga_model(display: DisplayState, board: Any, notes: list[Diagnostic]) -> str | None:
    """``get_default_vga_model``: the board's, else cirrus, else std."""
    default = getattr(board, "default_display", None)
    if default:
        return str(default)
    if display.vga_available("cirrus", []):
        return "cirrus"
    if display.vga_available("std", []):
        return "std"
    return None


def _select_vga(display: DisplayState, board: Any, model: str, notes: list[Diagnostic]) -> None:
    """``select_vgahw``: help, or the interface (with ``,retrace=``)."""
    release = display.release
    if model == "help":
        default = _default_vga_model(display, board, [])
        lines = []
        probe: list[tuple[str, str]] = []
        for name, text, _ in VGA_INTERFACES:
            if display.vga_available(name, probe):
                mark = " (default)" if default == name else ""
                lines.append(f"{name:<20} {text}{mark}")
        notes.extend(_diag(k, t) for k, t in probe)
        raise HelpRequested("".join(line + "\n" for line in lines), 0, notes)
    for name, text, _ in VGA_INTERFACES:
        if model.startswith(name):
            probe = []
            available = display.vga_available(name, probe)
            notes.extend(_diag(k, t) for k, t in probe)
            if not available:
                package = dict(release.vga_missing_modules).get(name, "")
                raise OptionError(
                    release.vga_not_available_text.format(text, package), preceding=notes
                )
            display.vga_interface = name
            rest = model[len(name) :]
            break
    else:
        raise OptionError(M.VGA_UNKNOWN_TYPE.format(model), preceding=notes)
    while rest:
        if not rest.startswith(",retrace="):
            raise OptionError(M.VGA_UNKNOWN_TYPE.format(model), preceding=notes)
        rest = rest[len(",retrace=") :]
        for method in ("dumb", "precise"):
            if rest.startswith(method):
                rest = rest[len(method) :]
                break
        else:
            raise OptionError(M.VGA_UNKNOWN_TYPE.format(model), preceding=notes)


def vga_warning(display: DisplayState) -> list[Diagnostic]:
    """``qemu_machine_creation_done``: -vga on a board that makes no VGA."""
    if (
        display.vga_option
        and not display.vga_created
        and display.vga_interface not in (None, "none")
    ):
        return [_diag("warning", M.VGA_NOT_USED)]
    return []


# -- the early backends ----------------------------------------------------------------


def start_spice(display: DisplayState, req: DisplayRequest) -> list[Diagnostic]:
    """``qemu_spice.init()``; ``-display spice-app`` makes its own options."""
    if display.dpy["type"] == "spice-app":
        # Its server listens in a fresh temporary directory, and QEMU exits
        # at qemu_display_init() here anyway (no SPICE client to launch).
        return []
    opts = req.spice
    try:
        return [_diag(k, t) for k, t in display.spice_init(opts)]
    except DisplayStartError as exc:
        raise _start_error(exc) from None


def _spice_app_dir(display: DisplayState) -> str:
    """spice-app's directory: a fresh /tmp/.XXXXXX (g_dir_make_tmp), or the
    runtime directory's qemu/NAME with -name."""
    name = display.machine.config.name if display._machine is not None else None
    if name:
        runtime = os.environ.get("XDG_RUNTIME_DIR") or os.path.expanduser("~/.cache")
        return os.path.join(runtime, "qemu", name)
    import secrets  # only for spice-app (start-up time)
    import string

    letters = string.ascii_letters + string.digits
    suffix = "".join(secrets.choice(letters) for _ in range(6))
    return os.path.join(os.environ.get("TMPDIR") or "/tmp", f".{suffix}")


def start_audio(display: DisplayState) -> list[Diagnostic]:
    """``audio_init_audiodevs``."""
    try:
        return [_diag(k, t) for k, t in display.audio_init()]
    except DisplayStartError as exc:
        raise _start_error(exc) from None


# -- qemu_init_displays ----------------------------------------------------------------


def init_displays(machine: Machine, *, bind: bool = True) -> list[Diagnostic]:
    """``qemu_init_displays``: the local display, then each VNC server.

    Returns what QEMU prints (``VNC server running on ...``); raises
    OptionError as QEMU exits.  ``bind=False`` (a rebuilt start-up machine)
    only sets the state: the live listeners stay.
    """
    display = machine.display
    if bind:
        _display_init(display)
    printed: list[Diagnostic] = []
    for vd in display.vnc:
        if not vd.id:
            # vnc_init_func(): a [vnc] group of a -readconfig file without "id".
            if not display.release.vnc_ids_at_init:
                err = OptionError(display.release.vnc_no_id_assertion)
                err.aborts = True
                raise err
            vd.id = _vnc_auto_assign_id({other.id for other in display.vnc})
        try:
            lines = display.vnc_init(vd, bind=bind)
        except CoreError as exc:
            raise OptionError(exc.desc, exc.hint or None, vd.location) from None
        printed.extend(_diag("plain", line) for line in lines)
    return printed


def _display_init(display: DisplayState) -> None:
    """``qemu_display_init``: the local backends that fail here as QEMU's
    fail on a host without a terminal, X, D-Bus or a render node; those
    that would work are refused by name."""
    dpy = display.dpy
    kind = dpy["type"]
    if kind == "curses":
        if not os.isatty(1):
            raise OptionError(M.CURSES_NEEDS_TERMINAL, plain=True)
        raise OptionError(M.DISPLAY_NOT_EMULATED.format(kind))
    if kind == "egl-headless":
        if _render_node_exists(dpy.get("rendernode")):
            raise OptionError(M.DISPLAY_NOT_EMULATED.format(kind))
        raise OptionError(
            M.EGL_RENDER_NODE_INIT_FAILED, preceding=[_diag("error", M.EGL_NO_RENDER_NODE)]
        )
    if kind == "dbus":
        if dpy.get("addr") and dpy.get("p2p"):
            raise OptionError(M.DBUS_ADDR_AND_P2P)
        if dpy.get("addr") or dpy.get("p2p") or _session_bus_reachable():
            raise OptionError(M.DISPLAY_NOT_EMULATED.format(kind))
        raise OptionError(M.DBUS_CONNECT_FAILED.format(M.DBUS_NO_SESSION_BUS))
    if kind == "spice-app":
        uri = "spice+unix://" + _spice_app_dir(display) + "/spice.sock"
        raise OptionError(
            M.SPICE_APP_NEEDS_CLIENT,
            preceding=[
                _diag("info", M.SPICE_APP_LAUNCHING.format(uri)),
                _diag("error", M.SPICE_APP_LAUNCH_FAILED.format(uri, M.SPICE_APP_NO_HANDLER)),
            ],
        )


def _render_node_exists(given: str | None) -> bool:
    """egl_rendernode_init(): a DRM render node to open."""
    if given:
        return os.access(given, os.R_OK | os.W_OK)
    try:
        names = os.listdir("/dev/dri")
    except OSError:
        return False
    return any(n.startswith("renderD") for n in names)


def _session_bus_reachable() -> bool:
    """Where gio would find (or autolaunch) a session bus."""
    if os.environ.get("DBUS_SESSION_BUS_ADDRESS") or os.environ.get("DISPLAY"):
        return True
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    return runtime is not None and os.path.exists(os.path.join(runtime, "bus"))


def print_notes(prog: str, notes: list[Diagnostic]) -> None:
    from memdevd.util.qemu_opts import format_diagnostic

    for note in notes:
        sys.stderr.write(format_diagnostic(prog, note))
    sys.stderr.flush()
