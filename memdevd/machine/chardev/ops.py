"""The chardev QMP commands' core (chardev/char.c, char-ringbuf.c)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memdevd import messages as M
from memdevd.machine.chardev.core import Chardev, open_chardev
from memdevd.machine.errors import CoreError

if TYPE_CHECKING:
    from memdevd.machine.chardev.container import ChardevContainer
    from memdevd.machine.machine import Machine


def _container(machine: Machine) -> ChardevContainer:
    from memdevd.machine.chardev.container import ChardevContainer

    chardevs = machine.chardevs
    assert isinstance(chardevs, ChardevContainer)
    return chardevs


def _pty_return(chardev: Chardev) -> dict[str, Any]:
    """``ChardevReturn``: the pty's path for a pty chardev."""
    return {"pty": chardev.path} if chardev.kind == "pty" else {}


def chardev_add(machine: Machine, label: str, backend: dict[str, Any]) -> dict[str, Any]:
    """``qmp_chardev_add``."""
    chardevs = _container(machine)
    if label in chardevs.children:
        raise CoreError(M.CHARDEV_EXISTS.format(label))
    try:
        chardev = open_chardev(machine, label, backend)
    except CoreError as exc:
        raise CoreError(M.CHARDEV_ADD_FAILED.format(label) + exc.desc, hint=exc.hint) from None
    chardevs.add_child(label, chardev)
    return _pty_return(chardev)


def add_at_startup(machine: Machine, label: str, backend: dict[str, Any]) -> Chardev:
    """``qemu_chardev_new`` for a ``-chardev`` (errors without a prefix)."""
    chardevs = _container(machine)
    chardev = open_chardev(machine, label, backend)
    chardevs.add_child(label, chardev)
    return chardev


def chardev_change(machine: Machine, label: str, backend: dict[str, Any]) -> dict[str, Any]:
    """``qmp_chardev_change``: without a front end it is remove + add; with
    one, only a front end supporting hot-swap (none memdevd models) may."""
    chardevs = _container(machine)
    chardev = chardevs.children.get(label)
    if chardev is None:
        raise CoreError(M.CHARDEV_DOES_NOT_EXIST.format(label))
    if isinstance(chardev, Chardev) and chardev.kind in ("mux", "hub"):
        raise CoreError(machine.release.chardev_mux_hotswap_text)
    if isinstance(chardev, Chardev) and not chardev.has_frontend():
        # object_unparent() then qmp_chardev_add(): a failed add leaves it gone.
        _remove(machine, label, chardev)
        return chardev_add(machine, label, backend)
    owners = [fe for fe in chardev.frontends] if isinstance(chardev, Chardev) else []
    owners = [fe for fe in owners if fe is not None]
    if not owners or not all(getattr(fe, "chr_be_change", False) for fe in owners):
        # A monitor (its socket or a -monitor chardev) has no chr_be_change.
        raise CoreError(M.CHARDEV_NO_HOTSWAP)
    assert isinstance(chardev, Chardev)
    # chardev_new() (its errors without a prefix), then the front end moves
    # over and its chr_be_change (serial_be_change) opens it again.
    new = open_chardev(machine, label, backend)
    new.frontends, chardev.frontends = chardev.frontends, []
    new.frontend_open = True
    chardevs.remove_child(label)
    chardev.close()
    chardevs.add_child(label, new)
    return _pty_return(new)


def chardev_remove(machine: Machine, label: str) -> None:
    """``qmp_chardev_remove``."""
    chardevs = _container(machine)
    chardev = chardevs.children.get(label)
    if chardev is None:
        raise CoreError(M.CHARDEV_ID_NOT_FOUND.format(label))
    if not isinstance(chardev, Chardev) or chardev.busy(machine.release):
        raise CoreError(M.CHARDEV_BUSY.format(label))
    _remove(machine, label, chardev)


def _remove(machine: Machine, label: str, chardev: Chardev) -> None:
    chardevs = _container(machine)
    chardevs.remove_child(label)
    if chardev.kind == "stdio":
        chardevs.stdio_in_use = False
        chardevs.stdio_closed = True
    chardev.close()


def send_break(machine: Machine, label: str) -> None:
    """``qmp_chardev_send_break``: CHR_EVENT_BREAK to the front end."""
    if label not in machine.chardevs.children:
        raise CoreError(M.CHARDEV_ID_NOT_FOUND.format(label))


def _ringbuf(machine: Machine, device: str) -> Chardev:
    chardev = machine.chardevs.children.get(device)
    if chardev is None:
        raise CoreError(M.CHARDEV_RINGBUF_DEVICE_NOT_FOUND.format(device))
    if not isinstance(chardev, Chardev) or chardev.kind not in ("ringbuf", "memory"):
        raise CoreError(M.CHARDEV_RINGBUF_NOT_RINGBUF.format(device))
    return chardev


def ringbuf_write(machine: Machine, device: str, data: str, fmt: str | None) -> None:
    """``qmp_ringbuf_write``: UTF-8 text as it is (a NUL as QEMU's parser
    stores it, C0 80), or base64 checked and decoded as GLib does."""
    chardev = _ringbuf(machine, device)
    if fmt == "base64":
        raw = base64_decode(data)
    else:
        raw = data.encode("utf-8", "surrogatepass").replace(b"\x00", b"\xc0\x80")
    chardev.ring_write(raw)


def ringbuf_read(machine: Machine, device: str, size: int, fmt: str | None) -> str:
    """``qmp_ringbuf_read``: base64, or the bytes as a C string (up to a
    NUL), which QEMU's JSON writer turns into text (invalid UTF-8 as U+FFFD)."""
    import base64

    chardev = _ringbuf(machine, device)
    if size <= 0:
        raise CoreError(M.CHARDEV_RINGBUF_SIZE)
    data = chardev.ring_read(min(size, chardev.ring_count()))
    if fmt == "base64":
        return base64.b64encode(data).decode("ascii")
    return data.split(b"\x00", 1)[0].decode("utf-8", "replace")


_B64_VALID = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\n")
_B64_RANK = {
    c: i for i, c in enumerate(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
}


def base64_decode(text: str) -> bytes:
    """util/base64.c ``qbase64_decode`` then GLib's ``g_base64_decode``."""
    raw = text.encode("utf-8", "surrogatepass").split(b"\x00", 1)[0]
    if any(c not in _B64_VALID for c in raw):
        raise CoreError(M.BASE64_INVALID_CHARACTERS)
    out = bytearray()
    v = 0
    i = 0
    last = [0, 0]
    for c in raw:
        if c == ord("="):
            rank = 0
        elif c in _B64_RANK:
            rank = _B64_RANK[c]
        else:
            continue
        last[1], last[0] = last[0], c
        v = ((v << 6) | rank) & 0xFFFFFFFF
        i += 1
        if i == 4:
            out.append((v >> 16) & 0xFF)
            if last[1] != ord("="):
                out.append((v >> 8) & 0xFF)
            if last[0] != ord("="):
                out.append(v & 0xFF)
            i = 0
    return bytes(out)


def query_backends(machine: Machine) -> list[dict[str, str]]:
    """``qmp_query_chardev_backends``: the release's chardev classes, in
    the order its binary lists them (GLib hash order of the type table),
    those of modules once loaded."""
    release = machine.release
    modules = dict(release.chardev_module_kinds)
    loaded = _container(machine).loaded_modules
    return [
        {"name": name}
        for name in release.chardev_backends_listed
        if name not in modules or modules[name] in loaded
    ]
