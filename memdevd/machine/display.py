"""Displays as QEMU presents them to management tools.

What ``ui/vnc.c``, ``ui/spice-core.c``, ``ui/console.c``, ``audio/audio.c``
and ``system/vl.c``'s display code keep that QMP shows or later start-up
steps check: the local display's options (``DisplayOptions``,
``query-display-options``), the VGA interface ``-vga`` chose, the graphic
consoles of display devices, the VNC displays (options, authentication,
passwords, listeners), the SPICE server and the audiodevs.

Sockets are not the core's: a :class:`DisplayBinder` from the process layer
binds and closes listeners as QEMU's ``qio_net_listener_open_sync`` does
and says what is bound; the core asks it, so that what QMP answers is what
is really listening.  Without a binder (a machine built for a unit test)
nothing is bound and no VNC server reads as enabled.

Nothing here runs a VNC or SPICE session: no framebuffer exists.
"""

from __future__ import annotations

import copy
import dataclasses
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from memdevd import messages as M
from memdevd.machine.errors import CoreError, ErrorClass, not_found
from memdevd.records import record
from memdevd.util.cutils import parse_uint_full, qemu_strtou64, strtoull

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine
    from memdevd.machine.qdev import Device
    from memdevd.releases.recorded import Recording
    from memdevd.releases.table import Release

# ui/vnc.c: the port offsets of plain and websocket displays.
VNC_PORT_OFFSET = 5900
VNC_WEBSOCKET_OFFSET = 5700
# ui/vnc.c vnc_display_init(): the keymap without -k.
DEFAULT_KEYMAP = "en-us"
# pc-bios/keymaps as installed by qemu-system-data (7.2 and 10.0 alike).
KEYMAPS = frozenset(
    [
        "ar",
        "bepo",
        "cz",
        "da",
        "de",
        "de-ch",
        "en-gb",
        "en-us",
        "es",
        "et",
        "fi",
        "fo",
        "fr",
        "fr-be",
        "fr-ca",
        "fr-ch",
        "hr",
        "hu",
        "is",
        "it",
        "ja",
        "lt",
        "lv",
        "mk",
        "nl",
        "no",
        "pl",
        "pt",
        "pt-br",
        "ru",
        "sl",
        "sv",
        "th",
        "tr",
    ]
)
# libspice-server's version the reference build was compiled with (Debian 12).
SPICE_COMPILED_VERSION = "0.15.1"
TIME_MAX = (1 << 63) - 1

#: system/vl.c vga_interfaces in VGAInterfaceType order: -vga name,
#: description, the classes that make it available (none: always).
VGA_INTERFACES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("none", "no graphic card", ()),
    ("std", "standard VGA", ("VGA", "isa-vga")),
    ("cirrus", "Cirrus VGA", ("cirrus-vga", "isa-cirrus-vga")),
    ("vmware", "VMWare SVGA", ("vmware-svga",)),
    ("qxl", "QXL VGA", ("qxl-vga",)),
    ("tcx", "TCX framebuffer", ("sun-tcx",)),
    ("cg3", "CG3 framebuffer", ("cgthree",)),
    ("virtio", "Virtio VGA", ("virtio-vga",)),
)
#: hw/pci/pci.c pci_vga_init(): the device a PCI board creates for -vga.
PCI_VGA_DEVICE = {
    "cirrus": "cirrus-vga",
    "qxl": "qxl-vga",
    "std": "VGA",
    "vmware": "vmware-svga",
    "virtio": "virtio-vga",
}
#: system/vl.c default_list: a -device of one of these disables the default VGA.
DEFAULT_VGA_DRIVERS = frozenset(
    {
        "VGA",
        "isa-vga",
        "cirrus-vga",
        "isa-cirrus-vga",
        "vmware-svga",
        "qxl-vga",
        "virtio-vga",
        "ati-vga",
        "vhost-user-vga",
        "virtio-vga-gl",
        "virtio-vga-rutabaga",
    }
)
#: hw/display: the devices whose realize makes a graphic console
#: (``graphic_console_init``), one per head; a virtio GPU proxy's consoles
#: are linked to the proxy (virtio-gpu-pci.c, virtio-vga.c).
CONSOLE_DEVICES = frozenset(
    {
        "VGA",
        "secondary-vga",
        "isa-vga",
        "cirrus-vga",
        "isa-cirrus-vga",
        "qxl-vga",
        "qxl",
        "vmware-svga",
        "ati-vga",
        "bochs-display",
        "ramfb",
        "virtio-vga",
        "virtio-gpu-pci",
        "virtio-vga-gl",
        "virtio-gpu-gl-pci",
        "virtio-gpu-rutabaga-pci",
        "virtio-vga-rutabaga",
    }
)
#: Those with one console per ``max_outputs`` head.
MULTI_HEAD_DEVICES = frozenset(
    {
        "virtio-vga",
        "virtio-gpu-pci",
        "virtio-vga-gl",
        "virtio-gpu-gl-pci",
        "virtio-gpu-rutabaga-pci",
        "virtio-vga-rutabaga",
    }
)


def console_heads(dev: Device) -> int:
    """How many graphic consoles a realized device made."""
    if not dev.realized or dev.typename not in CONSOLE_DEVICES:
        return 0
    if dev.typename in MULTI_HEAD_DEVICES:
        values = getattr(dev, "values", None) or {}
        return int(values.get("max_outputs", 1))
    return 1


#: qapi/ui.json DisplayType, in enum order (qemu_display_help() walks it).
DISPLAY_TYPES = ("default", "none", "gtk", "sdl", "egl-headless", "curses", "spice-app", "dbus")
#: ui/console.c qemu_display_find_default(): what QEMU tries without -display.
DEFAULT_DISPLAY_PRIORITY = ("gtk", "sdl")

# ui/vnc.c VNC_AUTH_* as vnc_auth_name() names them; VncPrimaryAuth values.
AUTH_INVALID = "invalid"
AUTH_NONE = "none"
AUTH_VNC = "vnc"
AUTH_SASL = "sasl"


class DisplayStartError(CoreError):
    """A display that fails at start-up after QEMU printed ``notes`` first:
    (kind, text) pairs, kind as memdevd.util.qemu_opts.Diagnostic's."""

    def __init__(
        self, desc: str, notes: Sequence[tuple[str, str]] = (), *, plain: bool = False
    ) -> None:
        super().__init__(desc)
        self.notes = list(notes)
        # Printed as it is (7.2's dolog() lines), without the program name.
        self.plain = plain


@record(frozen=True)
class SocketAddr:
    """QAPI ``SocketAddress`` as the displays build and listen on it."""

    type: str  # "inet" | "unix" | "fd" | "vsock"
    host: str = ""
    port: str = ""
    path: str = ""
    to: int | None = None
    ipv4: bool | None = None
    ipv6: bool | None = None
    numeric: bool = False
    keep_alive: bool = False
    # fd: the name; vsock: cid and port live in host/port.
    name: str = ""


@record(frozen=True)
class BoundAddress:
    """A listening socket's local address (``VncBasicInfo`` without websocket)."""

    family: str  # "ipv4" | "ipv6" | "unix"
    host: str
    service: str


class DisplayBinder(Protocol):
    """Binding and closing as QEMU does; the process layer implements it.

    ``kind`` is ``"vnc"`` or ``"vnc-ws"`` for a VNC display's plain and
    websocket listeners.  Errors are :class:`CoreError` with QEMU's text.
    """

    def listen(self, key: str, kind: str, address: SocketAddr) -> None:
        """``qio_net_listener_open_sync``: add the address's sockets to the
        listener (creating it), or raise."""

    def new_listener(self, key: str, kind: str) -> None:
        """``qio_net_listener_new``: an empty listener (no socket yet)."""

    def close(self, key: str, kind: str) -> None:
        """``qio_net_listener_disconnect``: close the listener and its sockets."""

    def bound(self, key: str, kind: str) -> list[BoundAddress] | None:
        """The listener's sockets' addresses in order; None: no listener."""

    def connect(self, key: str, address: SocketAddr) -> None:
        """``qio_channel_socket_connect_sync`` then a client (reverse VNC)."""

    def spice_listen(self, server: SpiceServer) -> None:
        """libspice-server's ``reds_init_net``: raise DisplayStartError."""

    def clients(self, key: str) -> list[dict[str, Any]]:
        """The VNC display's connected clients (VncClientInfo), oldest first."""


@record
class Console:
    """A graphic console (``QemuConsole``) of a display device's head."""

    device: Device | None
    head: int = 0

    @property
    def device_id(self) -> str | None:
        return self.device.id if self.device is not None else None


@record
class VncDisplay:
    """One ``VncDisplay`` and its QemuOpts (items in command-line order)."""

    id: str
    opts: list[tuple[str, str]]
    # Where it was given (for start-up errors), None for the default one.
    location: str | None = None
    auth: str = AUTH_INVALID
    ws_auth: str = AUTH_INVALID
    password: str | None = None
    expires: int = TIME_MAX
    share_policy: str = "allow-exclusive"
    connections: int = 32
    console: Console | None = None
    audiodev: str | None = None
    tls_creds: str | None = None

    def get(self, name: str) -> str | None:
        """``qemu_opt_get``: the last value given."""
        for key, value in reversed(self.opts):
            if key == name:
                return value
        return None

    def get_all(self, name: str) -> list[str]:
        return [value for key, value in self.opts if key == name]

    def get_bool(self, name: str, default: bool) -> bool:
        value = self.get(name)
        return default if value is None else _opt_bool(value)

    def get_number(self, name: str, default: int) -> int:
        value = self.get(name)
        return default if value is None else _opt_number(value)


@record
class SpiceServer:
    """The SPICE server ``qemu_spice_init`` made (ui/spice-core.c)."""

    opts: list[tuple[str, str]]
    addr: str = ""
    port: int = 0
    tls_port: int = 0
    family: str = "any"  # "any" | "ipv4" | "ipv6" | "unix"
    auth: str = "spice"
    password: str | None = None
    expires: int = TIME_MAX
    x509_files: tuple[str, str, str] = ("", "", "")

    def get(self, name: str) -> str | None:
        for key, value in reversed(self.opts):
            if key == name:
                return value
        return None

    def get_bool(self, name: str, default: bool) -> bool:
        value = self.get(name)
        return default if value is None else _opt_bool(value)

    def get_number(self, name: str, default: int) -> int:
        value = self.get(name)
        return default if value is None else _opt_number(value)


def _opt_bool(text: str) -> bool:
    # QemuOpts validated the value already (on/off/yes/no/true/false).
    return text in ("on", "yes", "true", "y")


def _opt_number(text: str) -> int:
    # QEMU_OPT_NUMBER: parse_option_number (qemu_strtou64, validated already).
    _, value, _ = qemu_strtou64(text, 0, want_end=True)
    return value


def _c_int(value: int) -> int:
    """An unsigned 64-bit value stored in a C ``int``."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


class DisplayState:
    """What the displays of one machine keep (``machine.display``)."""

    def __init__(self, machine: Machine | None, release: Release, recording: Recording) -> None:
        # None until the machine exists: the display options are decided
        # (and fail) before QEMU's machine is complete.
        self._machine = machine
        self.release = release
        self.recording = recording
        # system/vl.c's dpy: the DisplayOptions as visited ("default" until resolved).
        self.dpy: dict[str, Any] = {"type": "default"}
        # vga_interface_type once -vga (or the default) was selected.
        self.vga_interface: str | None = None
        self.vga_created = False
        # -vga was given (default_vga cleared by it).
        self.vga_option = False
        self.consoles: list[Console] = []
        self.vnc: list[VncDisplay] = []
        self.keymap: str | None = None
        self.spice: SpiceServer | None = None
        self.using_spice = False
        # -audiodev, defined (validated) in command-line order; those initialised.
        self.audiodevs: list[dict[str, Any]] = []
        self.audio_states: list[dict[str, Any]] = []
        self.binder: DisplayBinder | None = None

    def __deepcopy__(self, memo: dict[int, Any]) -> DisplayState:
        # A snapshot copies the state, never the sockets: the binder is shared.
        new = DisplayState.__new__(DisplayState)
        memo[id(self)] = new
        for key, value in self.__dict__.items():
            shared = key in ("binder", "release", "recording")
            setattr(new, key, value if shared else copy.deepcopy(value, memo))
        return new

    @property
    def machine(self) -> Machine:
        assert self._machine is not None, "the displays' machine does not exist yet"
        return self._machine

    def attach(self, machine: Machine) -> None:
        self._machine = machine

    # -- consoles ----------------------------------------------------------------------

    def add_console(self, device: Device | None, heads: int = 1) -> None:
        """``graphic_console_init`` for each head of a display device."""
        for head in range(heads):
            self.consoles.append(Console(device, head))

    def all_consoles(self) -> list[Console]:
        """The graphic consoles in QEMU's order: the board's (``-vga``),
        then those of the display devices, in the order they were made."""
        found = list(self.consoles)
        if self._machine is None:
            return found
        for dev in self._machine.devices():
            found.extend(Console(dev, head) for head in range(console_heads(dev)))
        return found

    def console_by_device_name(self, device_id: str, head: int) -> Console:
        """``qemu_console_lookup_by_device_name``."""
        dev = self.machine.find_device_on_buses(device_id)
        if dev is None:
            raise not_found(M.DEVICE_NOT_FOUND.format(device_id))
        for con in self.all_consoles():
            if con.device is dev and con.head == head:
                return con
        raise CoreError(M.CONSOLE_NOT_BOUND.format(device_id, head))

    def default_console(self) -> Console | None:
        """``qemu_console_lookup_default``: the first graphic console."""
        consoles = self.all_consoles()
        return consoles[0] if consoles else None

    # -- VGA ---------------------------------------------------------------------------

    def vga_available(self, interface: str, notes: list[tuple[str, str]]) -> bool:
        """``vga_interface_available``: a class of the interface exists in
        the build (its recorded device catalog)."""
        classes = next(c for name, _, c in VGA_INTERFACES if name == interface)
        if not classes:
            return True
        types = self.recording.device_types
        if classes[0] in types:
            return True
        if len(classes) < 2:
            if self.release.vga_null_type_error:
                notes.append(("error", M.TYPE_IS_NULL))
            return False
        return classes[1] in types

    def pci_vga_device(self) -> str | None:
        """``pci_vga_init``: the PCI device a PCI board makes for the interface."""
        if self.vga_interface is None:
            return None
        return PCI_VGA_DEVICE.get(self.vga_interface)

    # -- VNC ---------------------------------------------------------------------------

    def vnc_find(self, display_id: str | None) -> VncDisplay | None:
        """``vnc_display_find``: the first display without an id."""
        if display_id is None:
            return self.vnc[0] if self.vnc else None
        return next((vd for vd in self.vnc if vd.id == display_id), None)

    def vnc_bound(self, vd: VncDisplay, kind: str = "vnc") -> list[BoundAddress] | None:
        if self.binder is None:
            return None
        return self.binder.bound(vd.id, kind)

    def vnc_init(self, vd: VncDisplay, bind: bool = True) -> list[str]:
        """``vnc_init_func``: ``vnc_display_init`` then ``vnc_display_open``.

        Returns what QEMU prints on success ("VNC server running on ...").
        ``bind=False`` runs the checks and sets the state without touching
        sockets (the start-up machine rebuilt around the live listeners).
        """
        keymap = self.keymap or DEFAULT_KEYMAP
        if keymap not in KEYMAPS and not os.access(keymap, os.R_OK):
            raise CoreError(self.release.keymap_unreadable_text.format(keymap))
        return self._vnc_open(vd, bind)

    def _vnc_open(self, vd: VncDisplay, bind: bool) -> list[str]:
        """``vnc_display_open``: every check in QEMU's order, then listen."""
        if bind:
            self._vnc_close(vd)
        vd.auth = vd.ws_auth = AUTH_INVALID
        reverse = vd.get_bool("reverse", False)
        saddrs, wsaddrs = self._vnc_addresses(vd, reverse)

        password = False
        secret_id = vd.get("password-secret")
        if secret_id is not None:
            if vd.get("password") is not None:
                raise CoreError(M.VNC_PASSWORD_REDUNDANT)
            vd.password = self.machine.secret_utf8(secret_id)
            password = True
        else:
            password = vd.get_bool("password", False)
        vd.get_bool("lock-key-sync", True)
        sasl = vd.get_bool("sasl", False)
        cred_id = vd.get("tls-creds")
        vd.tls_creds = None
        if cred_id is not None:
            obj = self.machine.objects.children.get(cred_id)
            if obj is None:
                raise CoreError(M.VNC_NO_TLS_CREDS.format(cred_id))
            if not obj.is_a("tls-creds"):
                raise CoreError(M.VNC_NOT_TLS_CREDS.format(cred_id))
            # qcrypto_tls_creds_check_endpoint(): a server's credentials.
            endpoint = getattr(obj, "values", {}).get("endpoint", "client")
            if endpoint != "server":
                raise CoreError(M.TLS_CREDS_WRONG_ENDPOINT.format("server"))
            vd.tls_creds = obj.typename
        if vd.get("tls-authz") is not None and vd.tls_creds is None:
            raise CoreError(M.VNC_TLS_AUTHZ_WITHOUT_TLS)
        if vd.get("sasl-authz") is not None and not sasl:
            raise CoreError(M.VNC_SASL_AUTHZ_WITHOUT_SASL)
        share = vd.get("share")
        if share is not None:
            if share not in ("ignore", "allow-exclusive", "force-shared"):
                raise CoreError(M.VNC_UNKNOWN_SHARE)
            vd.share_policy = share
        else:
            vd.share_policy = "allow-exclusive"
        vd.connections = vd.get_number("connections", 32)
        # vnc_display_setup_auth(), plain and websocket: without TLS (and
        # always for websockets) none, vnc or sasl; with TLS the plain
        # socket's is VeNCrypt over the credentials' kind.
        auth = AUTH_VNC if password else AUTH_SASL if sasl else AUTH_NONE
        vd.auth = vd.ws_auth = auth
        if vd.tls_creds is not None:
            kinds = {"tls-creds-x509": "x509", "tls-creds-anon": "tls"}
            kind = kinds.get(vd.tls_creds)
            if kind is None:
                raise CoreError(M.VNC_TLS_CREDS_UNSUPPORTED.format(vd.tls_creds))
            vd.auth = f"vencrypt+{kind}+{auth}"

        audiodev = vd.get("audiodev")
        vd.audiodev = None
        if audiodev is not None:
            if not any(state["id"] == audiodev for state in self.audio_states):
                raise CoreError(self.release.vnc_audiodev_not_found_text.format(audiodev))
            vd.audiodev = audiodev

        device_id = vd.get("display")
        if device_id is not None:
            head = vd.get_number("head", 0)
            vd.console = self.console_by_device_name(device_id, _c_int(head))
        elif self.release.vnc_default_console:
            vd.console = self.default_console()
        else:
            vd.console = None

        if not saddrs or not bind:
            return self._vnc_running_line(vd) if bind else []
        binder = self.binder
        if binder is None:
            return []
        try:
            if reverse:
                if wsaddrs:
                    raise CoreError(M.VNC_REVERSE_WEBSOCKET)
                if len(saddrs) != 1:
                    raise CoreError(M.VNC_REVERSE_SINGLE_ADDRESS)
                binder.connect(vd.id, saddrs[0])
            else:
                self._vnc_listen(vd, "vnc", saddrs)
                if wsaddrs:
                    self._vnc_listen(vd, "vnc-ws", wsaddrs)
        except CoreError:
            self._vnc_close(vd)
            raise
        return self._vnc_running_line(vd)

    def _vnc_listen(self, vd: VncDisplay, kind: str, addresses: Sequence[SocketAddr]) -> None:
        """``vnc_display_listen``: one listener, every address added to it."""
        assert self.binder is not None
        self.binder.new_listener(vd.id, kind)
        for address in addresses:
            self.binder.listen(vd.id, kind, address)

    def _vnc_running_line(self, vd: VncDisplay) -> list[str]:
        """``vnc_display_print_local_addr``, printed when ``to=`` was given."""
        if vd.get("to") is None:
            return []
        bound = self.vnc_bound(vd)
        if not bound or bound[0].family == "unix":
            return []
        return [M.VNC_SERVER_RUNNING.format(bound[0].host, bound[0].service)]

    def _vnc_close(self, vd: VncDisplay) -> None:
        """``vnc_display_close``."""
        if self.binder is not None:
            self.binder.close(vd.id, "vnc")
            self.binder.close(vd.id, "vnc-ws")
        vd.auth = vd.ws_auth = AUTH_INVALID
        vd.tls_creds = None

    def _vnc_addresses(
        self, vd: VncDisplay, reverse: bool
    ) -> tuple[list[SocketAddr], list[SocketAddr]]:
        """``vnc_display_get_addresses``."""
        to = _c_int(vd.get_number("to", 0))
        has_ipv4 = vd.get("ipv4") is not None
        has_ipv6 = vd.get("ipv6") is not None
        ipv4 = vd.get_bool("ipv4", False) if has_ipv4 else None
        ipv6 = vd.get_bool("ipv6", False) if has_ipv6 else None
        last = vd.get("vnc")
        if last is None or last == "none":
            return [], []
        saddrs: list[SocketAddr] = []
        displaynum = -1
        for text in vd.get_all("vnc"):
            saddr, num = self._vnc_address(text, False, reverse, 0, to, ipv4, ipv6)
            if displaynum == -1:
                displaynum = num
            saddrs.append(saddr)
        single = saddrs[0] if len(saddrs) == 1 else None
        if single is None:
            displaynum = -1
        wsaddrs: list[SocketAddr] = []
        for text in vd.get_all("websocket"):
            wsaddr, _ = self._vnc_address(text, True, reverse, displaynum, to, ipv4, ipv6)
            if (
                single is not None
                and single.type == "inet"
                and wsaddr.type == "inet"
                and wsaddr.host == ""
                and single.host != ""
            ):
                wsaddr = dataclasses.replace(wsaddr, host=single.host)
            wsaddrs.append(wsaddr)
        return saddrs, wsaddrs

    def _vnc_address(
        self,
        text: str,
        websocket: bool,
        reverse: bool,
        displaynum: int,
        to: int,
        ipv4: bool | None,
        ipv6: bool | None,
    ) -> tuple[SocketAddr, int]:
        """``vnc_display_get_address``: the address and its display number."""
        if text.startswith("unix:"):
            if websocket and not self.release.vnc_websocket_unix:
                raise CoreError(M.VNC_UNIX_WEBSOCKET_7_2)
            if to:
                raise CoreError(M.VNC_UNIX_PORT_RANGE)
            return SocketAddr("unix", path=text[5:]), 0
        colon = text.rfind(":")
        if colon < 0:
            if not websocket:
                raise CoreError(M.VNC_NO_PORT)
            hostlen, port = 0, text
        else:
            hostlen, port = colon, text[colon + 1 :]
            if port == "":
                raise CoreError(M.VNC_PORT_EMPTY)
        host = text[:hostlen]
        if hostlen and text[0] == "[" and text[hostlen - 1] == "]":
            host = text[1 : hostlen - 1]
        baseport = 0
        port_to: int | None = None
        if websocket:
            if text in ("", "on"):
                if displaynum == -1:
                    raise CoreError(M.VNC_WEBSOCKET_PORT_REQUIRED)
                port = str(displaynum + VNC_WEBSOCKET_OFFSET)
                if to:
                    port_to = to + VNC_WEBSOCKET_OFFSET
        else:
            offset = 0 if reverse else VNC_PORT_OFFSET
            value = parse_uint_full(port, 10)
            if value is None:
                raise CoreError(M.PORT_NOT_A_NUMBER.format(port))
            if value > 65535 or value + offset > 65535:
                raise CoreError(M.PORT_OUT_OF_RANGE.format(port))
            baseport = value
            port = str(value + offset)
            if to:
                port_to = to + offset
        address = SocketAddr("inet", host=host, port=port, to=port_to, ipv4=ipv4, ipv6=ipv6)
        return address, baseport

    def vnc_password(self, display_id: str | None, password: str) -> bool:
        """``vnc_display_password``: False where QEMU returns -EINVAL."""
        vd = self.vnc_find(display_id)
        if vd is None or vd.auth == AUTH_NONE:
            return False
        vd.password = password
        return True

    def vnc_password_failure(self, display_id: str | None) -> str:
        """Why :meth:`vnc_password` failed, as the release says it."""
        if not self.release.vnc_password_errors:
            return M.SET_PASSWORD_FAILED
        if self.vnc_find(display_id) is None:
            return M.VNC_NO_DISPLAY_PRESENT
        return M.VNC_PASSWORD_AUTH_DISABLED

    def vnc_expire(self, display_id: str | None, when: int) -> bool:
        vd = self.vnc_find(display_id)
        if vd is None:
            return False
        vd.expires = when
        return True

    def vnc_reload_certs(self) -> None:
        """``vnc_display_reload_certs(NULL)``."""
        vd = self.vnc_find(None)
        if vd is None:
            raise CoreError(M.VNC_DISPLAY_NOT_FOUND)
        if vd.tls_creds is None:
            raise CoreError(M.VNC_TLS_NOT_ENABLED)
        if vd.tls_creds != "tls-creds-x509":
            # Only x509 credentials have a reload method (files not re-read here).
            raise CoreError(self.release.tls_creds_no_reload_text.format(vd.tls_creds))

    def vnc_update(self, addresses: list[SocketAddr] | None) -> None:
        """``vnc_display_update``: the first display listens on new addresses."""
        vd = self.vnc_find(None)
        if vd is None:
            raise CoreError(M.VNC_DISPLAY_NOT_FOUND)
        if addresses is None or self.binder is None:
            return
        self.binder.close(vd.id, "vnc")
        self._vnc_listen(vd, "vnc", addresses)

    # -- QMP views ---------------------------------------------------------------------

    def query_vnc(self) -> dict[str, Any]:
        """``qmp_query_vnc``."""
        vd = self.vnc_find(None)
        bound = self.vnc_bound(vd) if vd is not None else None
        if vd is None or not bound:
            return {"enabled": False}
        first = bound[0]
        return {
            "enabled": True,
            "host": first.host,
            "family": first.family,
            "service": first.service,
            "auth": vd.auth,
            "clients": self._vnc_clients(vd),
        }

    def _vnc_clients(self, vd: VncDisplay) -> list[dict[str, Any]]:
        """``qmp_query_client_list``: QAPI_LIST_PREPEND, newest first."""
        if self.binder is None:
            return []
        return self.binder.clients(vd.id)[::-1]

    def vnc_client_event(self, key: str, client: dict[str, Any]) -> dict[str, Any] | None:
        """``vnc_qmp_event``'s data: the display's first plain socket
        (``vnc_server_info_get``) and the client; None without a listener."""
        vd = self.vnc_find(key)
        bound = self.vnc_bound(vd) if vd is not None else None
        if vd is None or not bound:
            return None
        first = bound[0]
        server = {
            "host": first.host,
            "service": first.service,
            "family": first.family,
            "websocket": False,
            "auth": vd.auth,
        }
        return {"server": server, "client": client}

    def query_vnc_servers(self) -> list[dict[str, Any]]:
        """``qmp_query_vnc_servers``: QAPI_LIST_PREPEND makes every list reversed."""
        out: list[dict[str, Any]] = []
        for vd in self.vnc:
            info: dict[str, Any] = {"id": vd.id, "server": [], "clients": self._vnc_clients(vd)}
            info["auth"] = _primary_auth(vd.auth)
            if _vencrypt(vd.auth) is not None:
                info["vencrypt"] = _vencrypt(vd.auth)
            if vd.console is not None:
                device_id = vd.console.device_id
                if device_id is not None:
                    info["display"] = device_id
            servers: list[dict[str, Any]] = []
            for kind, websocket, auth in (("vnc", False, vd.auth), ("vnc-ws", True, vd.ws_auth)):
                for addr in self.vnc_bound(vd, kind) or ():
                    servers.append(
                        {
                            "host": addr.host,
                            "service": addr.service,
                            "family": addr.family,
                            "websocket": websocket,
                            "auth": _primary_auth(auth),
                        }
                    )
                    if _vencrypt(auth) is not None:
                        servers[-1]["vencrypt"] = _vencrypt(auth)
            info["server"] = servers[::-1]
            out.append(info)
        return out[::-1]

    def query_display_options(self) -> dict[str, Any]:
        return dict(self.dpy)

    # -- SPICE -------------------------------------------------------------------------

    def spice_init(self, opts: list[tuple[str, str]] | None) -> list[tuple[str, str]]:
        """``qemu_spice_init``: check, make the server, listen.

        Returns the warnings QEMU prints on the way; raises
        :class:`DisplayStartError` where QEMU exits.
        """
        notes: list[tuple[str, str]] = []
        if opts is None:
            return notes
        server = SpiceServer(opts)
        port = _c_int(server.get_number("port", 0))
        tls_port = _c_int(server.get_number("tls-port", 0))
        if port < 0 or port > 65535:
            raise DisplayStartError(M.SPICE_PORT_OUT_OF_RANGE, notes)
        if tls_port < 0 or tls_port > 65535:
            raise DisplayStartError(M.SPICE_TLS_PORT_OUT_OF_RANGE, notes)
        secret_id = server.get("password-secret")
        if secret_id is not None:
            if server.get("password") is not None:
                raise DisplayStartError(M.SPICE_PASSWORD_SECRET_EXCLUSIVE, notes)
            try:
                server.password = self.machine.secret_utf8(secret_id)
            except CoreError as exc:
                raise DisplayStartError(exc.desc, notes) from None
        elif server.get("password") is not None:
            notes.append(("warning", M.SPICE_PASSWORD_DEPRECATED))
            server.password = server.get("password")
        if tls_port:
            x509_dir = server.get("x509-dir") or "."
            server.x509_files = (
                server.get("x509-cacert-file") or f"{x509_dir}/ca-cert.pem",
                server.get("x509-cert-file") or f"{x509_dir}/server-cert.pem",
                server.get("x509-key-file") or f"{x509_dir}/server-key.pem",
            )
        server.addr = server.get("addr") or ""
        if server.get_bool("ipv4", False):
            server.family = "ipv4"
        elif server.get_bool("ipv6", False):
            server.family = "ipv6"
        elif server.get_bool("unix", False):
            server.family = "unix"
        server.port, server.tls_port = port, tls_port
        if server.get_bool("sasl", False):
            server.auth = "sasl"
        if server.get_bool("disable-ticketing", False):
            server.auth = "none"
        for name, choices, text in (
            ("image-compression", _SPICE_IMAGE_COMPRESSION, M.SPICE_INVALID_IMAGE_COMPRESSION),
            ("jpeg-wan-compression", _SPICE_WAN_COMPRESSION, M.SPICE_INVALID_WAN_COMPRESSION),
            ("zlib-glz-wan-compression", _SPICE_WAN_COMPRESSION, M.SPICE_INVALID_WAN_COMPRESSION),
            ("streaming-video", _SPICE_STREAM_VIDEO, M.SPICE_INVALID_STREAM_VIDEO),
        ):
            value = server.get(name)
            if value is not None and value not in choices:
                raise DisplayStartError(text.format(value), notes)
        # add_channel() over the options in their order.
        for name, value in opts:
            if name == "tls-channel" and not tls_port:
                raise DisplayStartError(M.SPICE_TLS_CHANNEL_WITHOUT_PORT, notes)
            if name in ("tls-channel", "plaintext-channel") and (
                value != "default" and value not in _SPICE_CHANNELS
            ):
                raise DisplayStartError(M.SPICE_CHANNEL_SECURITY_FAILED.format(value), notes)
        if self.binder is not None:
            try:
                self.binder.spice_listen(server)
            except DisplayStartError as exc:
                exc.notes[:0] = notes
                raise
        self.spice = server
        self.using_spice = True
        if server.get_bool("gl", False):
            if port or tls_port:
                raise DisplayStartError(M.SPICE_GL_LOCAL_ONLY, notes)
            notes.append(("error", M.EGL_NO_RENDER_NODE))
            raise DisplayStartError(M.SPICE_GL_RENDER_NODE_FAILED, notes)
        return notes

    def spice_set_password(self, password: str) -> bool:
        """``qemu_spice_set_passwd``: only with ticketing (auth "spice")."""
        assert self.spice is not None
        if self.spice.auth != "spice":
            return False
        self.spice.password = password
        return True

    def spice_check_in_use(self) -> SpiceServer:
        """``qemu_using_spice``."""
        if not self.using_spice or self.spice is None:
            raise CoreError(M.SPICE_NOT_IN_USE, ErrorClass.DEVICE_NOT_ACTIVE)
        return self.spice

    def query_spice(self) -> dict[str, Any]:
        """``qmp_query_spice`` (the stub's zero-filled answer without a server)."""
        spice = self.spice
        if spice is None:
            return {"enabled": False, "migrated": False, "mouse-mode": "client"}
        info: dict[str, Any] = {
            "enabled": True,
            "migrated": False,
            "host": spice.get("addr") or "*",
        }
        if spice.port:
            info["port"] = spice.port
        if spice.tls_port:
            info["tls-port"] = spice.tls_port
        info["auth"] = spice.auth
        info["compiled-version"] = SPICE_COMPILED_VERSION
        info["mouse-mode"] = "server"
        info["channels"] = []
        return info

    # -- audio -------------------------------------------------------------------------

    def audio_define(self, dev: dict[str, Any]) -> None:
        """``audio_define`` of an Audiodev ``audio_validate_opts`` passed."""
        self.audiodevs.append(dev)
        container = self.machine.audiodevs if self.machine is not None else None
        if container is not None:
            # The backend as a QOM object /audiodevs/ID of type audio-DRIVER.
            from memdevd.machine.objects import InertObject

            container.add_child(dev["id"], InertObject(self.machine, f"audio-{dev['driver']}"))

    def audio_init(self) -> list[tuple[str, str]]:
        """``audio_init_audiodevs``: each defined audiodev's driver starts.

        Returns what is printed on the way (7.2's "Bogus number of playback
        voices"); raises DisplayStartError where QEMU exits.
        """
        notes: list[tuple[str, str]] = []
        drivers = dict(self.release.audio_drivers)
        legacy = self.release.audio_legacy_errors
        for dev in self.audiodevs:
            driver = dev["driver"]
            outcome = drivers.get(driver, "ok")
            if outcome.startswith("missing:"):
                package = outcome.split(":", 1)[1]
                if legacy:
                    notes.append(
                        (
                            "plain",
                            M.MODULE_NOT_FOUND_NOTE.format("audio-", f"audio-{driver}", package),
                        )
                    )
                    raise DisplayStartError(
                        M.AUDIO_UNKNOWN_DRIVER_7_2.format(driver), notes, plain=True
                    )
                raise DisplayStartError(M.AUDIO_UNKNOWN_DRIVER_HINT.format(driver, package), notes)
            failure: str | None = None
            if outcome == "spice" and not self.using_spice:
                failure = ""
            if outcome == "oss":
                failure = _oss_inaccessible(dev)
            if failure is not None:
                if legacy:
                    raise DisplayStartError(
                        M.AUDIO_INIT_FAILED_7_2.format(driver), notes, plain=True
                    )
                raise DisplayStartError(failure, notes)
            if driver in ("alsa", "oss"):
                for direction in ("in", "out"):
                    dev[direction].setdefault("try-poll", True)
            voices = dev["out"].get("voices", 1)
            if voices < 1:
                notes.append(("plain", M.AUDIO_BOGUS_VOICES.format(voices)))
            self.audio_states.append(dev)
        return notes

    def has_audiodev(self, audiodev_id: str) -> bool:
        """``audio_state_by_name``: an audiodev that was initialised."""
        return any(state["id"] == audiodev_id for state in self.audio_states)

    def check_audiodev_prop(self, owner: str, prop: str, audiodev_id: str) -> None:
        """``set_audiodev``: a device's ``audiodev=`` names an audiodev."""
        if self.has_audiodev(audiodev_id):
            return
        if self.release.audiodev_prop_lookup_error:
            raise CoreError(M.AUDIODEV_NOT_FOUND.format(audiodev_id))
        raise CoreError(M.CHARDEV_PROP_NOT_FOUND.format(owner, prop, audiodev_id))

    def query_audiodevs(self) -> list[dict[str, Any]]:
        """``qmp_query_audiodevs`` (QAPI_LIST_PREPEND: newest first)."""
        return [copy.deepcopy(dev) for dev in reversed(self.audiodevs)]


def _primary_auth(auth: str) -> str:
    """``qmp_query_auth``: VncPrimaryAuth (invalid reads as none)."""
    if auth.startswith("vencrypt+"):
        return "vencrypt"
    return auth if auth in (AUTH_VNC, AUTH_SASL) else AUTH_NONE


def _vencrypt(auth: str) -> str | None:
    """``qmp_query_auth``'s VncVencryptSubAuth (``vencrypt+x509+vnc`` -> ``x509-vnc``)."""
    if not auth.startswith("vencrypt+"):
        return None
    return auth[len("vencrypt+") :].replace("+", "-")


def audio_validate_opts(dev: dict[str, Any]) -> dict[str, Any]:
    """``audio_validate_opts``: both directions' defaults, the timer period."""
    for direction in ("in", "out"):
        pdo = dict(dev.get(direction) or {})
        _validate_per_direction(pdo)
        dev[direction] = pdo
    dev.setdefault("timer-period", 10000)
    return dev


def _validate_per_direction(pdo: dict[str, Any]) -> None:
    """``audio_validate_per_direction_opts``."""
    pdo.setdefault("mixing-engine", True)
    pdo.setdefault("fixed-settings", pdo["mixing-engine"])
    if not pdo["fixed-settings"] and any(k in pdo for k in ("frequency", "channels", "format")):
        raise CoreError(M.AUDIO_FIXED_SETTINGS_OFF)
    if not pdo["mixing-engine"] and pdo["fixed-settings"]:
        raise CoreError(M.AUDIO_FIXED_SETTINGS_WITHOUT_MIXENG)
    pdo.setdefault("frequency", 44100)
    pdo.setdefault("channels", 2)
    pdo.setdefault("voices", 1 if pdo["mixing-engine"] else 0x7FFFFFFF)
    pdo.setdefault("format", "s16")


def _oss_inaccessible(dev: dict[str, Any]) -> str | None:
    """``oss_audio_init``: both directions' device must be readable and
    writable (the real host's, as QEMU's access())."""
    for direction in ("in", "out"):
        path = dev[direction].get("dev") or "/dev/dsp"
        if not os.access(path, os.R_OK | os.W_OK):
            try:
                os.stat(path)
                reason = os.strerror(13)
            except OSError as exc:
                reason = os.strerror(exc.errno or 0)
            return M.OSS_NOT_ACCESSIBLE.format(path, reason)
    return None


def parse_expire_time(text: str, checks: bool, now: int) -> int:
    """``qmp_expire_password``'s time: now, never, +SECONDS or an absolute time."""
    if text == "now":
        return 0
    if text == "never":
        return TIME_MAX
    base, number = (now, text[1:]) if text.startswith("+") else (0, text)
    if checks:
        err, value, _ = qemu_strtou64(number, 10, want_end=False)
        if err:
            raise CoreError(M.EXPIRE_PASSWORD_BAD_TIME.format(text))
    else:
        value, _, _ = strtoull(number, 10)
    return (base + value) & 0xFFFFFFFFFFFFFFFF


# spice-core.c's name tables (parse_compression, parse_wan_compression,
# parse_stream_video) and libspice's channel names (red_channel_name_to_type).
_SPICE_IMAGE_COMPRESSION = frozenset({"off", "auto_glz", "auto_lz", "quic", "glz", "lz", "lz4"})
_SPICE_WAN_COMPRESSION = frozenset({"auto", "never", "always"})
_SPICE_STREAM_VIDEO = frozenset({"off", "all", "filter"})
_SPICE_CHANNELS = frozenset(
    {
        "main",
        "display",
        "inputs",
        "cursor",
        "playback",
        "record",
        "tunnel",
        "smartcard",
        "usbredir",
        "port",
        "webdav",
    }
)
