"""/chardevs: the container of every chardev, and the front-end claims.

Its children are in GLib's hash-table order as any container's
(:class:`memdevd.machine.qom.Container`); start-up rewrites the history
to QEMU's creation order of the command line's chardevs.
"""

from __future__ import annotations

from typing import Any

from memdevd import messages as M
from memdevd.machine.errors import CoreError
from memdevd.machine.qom import Container, QOMObject


class ChardevContainer(Container):
    """``object_get_container("chardevs")``."""

    keep_history = True

    def __init__(self) -> None:
        super().__init__()
        # stdio_in_use (char-stdio.c): set once, never cleared.
        self.stdio_in_use = False
        # A removed stdio chardev closed fds 0 and 1.
        self.stdio_closed = False
        self.daemonized = False
        # The chardev modules QEMU has loaded (module_object_class_by_name).
        self.loaded_modules: set[str] = set()

    def creation_order(self, labels: list[str]) -> None:
        """Start-up: the -chardev/-qmp chardevs were created in command-line
        order (``labels``), monitors' included, before any other."""
        first = [(True, label) for label in labels if label in self.children]
        self.history = first + [entry for entry in self.history if entry not in first]
        self.forget_order()

    # -- front ends (chardev/char-fe.c) ------------------------------------------

    def claim(self, label: str, owner: object, typename: str, prop: str, release: Any) -> None:
        """``set_chr``: the device ``owner`` (QOM type ``typename``) takes
        chardev ``label`` through its property ``prop``; QEMU's errors."""
        chardev = self.children.get(label)
        if chardev is None:
            raise CoreError(M.CHARDEV_PROP_NOT_FOUND.format(typename, prop, label))
        try:
            fe_init(chardev, owner, release)
        except CoreError as exc:
            # (the cause is qemu_chr_fe_init()'s own error: error_abort())
            raise CoreError(
                M.CHARDEV_PROP_CANT_TAKE.format(typename, prop, label) + exc.desc
            ) from exc

    def release_owner(self, owner: object) -> None:
        """``qemu_chr_fe_deinit`` for every chardev ``owner`` holds (its
        properties are released when the device is finalized)."""
        if not self.children:
            return
        for chardev in self.children.values():
            fe_deinit(chardev, owner)

    def open_frontend(self, owner: object) -> None:
        """``qemu_chr_fe_set_handlers(..., set_open=true)`` at realize."""
        from memdevd.machine.chardev.core import Chardev

        for chardev in self.children.values():
            if isinstance(chardev, Chardev) and owner in chardev.frontends:
                chardev.frontend_open = True


# Front ends whose realize opens the chardev (qemu_chr_fe_set_handlers(...,
# set_open=true)); a virtio port opens it only when the guest does.
OPEN_AT_REALIZE = frozenset(
    {"isa-parallel", "isa-debugcon", "pci-serial", "pci-serial-2x", "pci-serial-4x"}
    | {"usb-serial", "usb-braille", "ipoctal232", "usb-redir"}
)


def error_abort(exc: CoreError, release: Any) -> CoreError:
    """A board's ``qdev_prop_set_chr()`` passes ``&error_abort``: the error
    of ``qemu_chr_fe_init()`` (``exc``, or the one it wraps: a front end's
    ``set_chr``) ends QEMU, after error_handle()'s line naming where it was
    set.  Other errors stay as they are."""
    cause = exc.__cause__ if isinstance(exc.__cause__, CoreError) else None
    if cause is None or cause.abort_at is not None:
        return exc
    in_use, mux_full = release.chardev_fe_sites
    full = cause.desc.startswith(M.CHARDEV_MUX_TOO_MANY.split("'", 1)[0])
    err = CoreError(cause.desc)
    err.abort_at = M.ERROR_ABORT_AT.format(mux_full if full else in_use)
    return err


def fe_init(chardev: QOMObject, owner: object, release: Any) -> None:
    """``qemu_chr_fe_init``: a mux takes up to four front ends, any other
    chardev one; a monitor's socket is its monitor's."""
    from memdevd.machine.chardev.core import Chardev

    if not isinstance(chardev, Chardev):
        raise CoreError(release.chardev_in_use_text.format(chardev.name or ""))
    chardev.attach(owner, release)


def fe_deinit(chardev: QOMObject, owner: object) -> None:
    from memdevd.machine.chardev.core import Chardev

    if isinstance(chardev, Chardev):
        chardev.detach(owner)
