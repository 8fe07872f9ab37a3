"""/chardevs: the container of every chardev, and the front-end claims.

Kept light (it is built with every machine): GLib's hash-table order is
computed from the recorded insertions and removals only when
``query-chardev`` asks (:mod:`memdevd.machine.chardev.ghash`).
"""

from __future__ import annotations

from typing import Any

from memdevd import messages as M
from memdevd.machine.errors import CoreError
from memdevd.machine.qom import Container, Prop, QOMObject


class ChardevContainer(Container):
    """``object_get_container("chardevs")``."""

    def __init__(self) -> None:
        super().__init__()
        # (inserted?, label) in order: replayed into a GHashTable on demand.
        self.history: list[tuple[bool, str]] = []
        # stdio_in_use (char-stdio.c): set once, never cleared.
        self.stdio_in_use = False
        # A removed stdio chardev closed fds 0 and 1.
        self.stdio_closed = False
        self.daemonized = False
        # The chardev modules QEMU has loaded (module_object_class_by_name).
        self.loaded_modules: set[str] = set()

    def add_child(self, name: str, child: QOMObject) -> None:
        super().add_child(name, child)
        self.history.append((True, name))

    def remove_child(self, name: str) -> QOMObject | None:
        child = super().remove_child(name)
        if child is not None:
            self.history.append((False, name))
        return child

    def creation_order(self, labels: list[str]) -> None:
        """Start-up: the -chardev/-qmp chardevs were created in command-line
        order (``labels``), monitors' included, before any other."""
        first = [(True, label) for label in labels if label in self.children]
        self.history = first + [entry for entry in self.history if entry not in first]

    def properties(self) -> list[Prop]:
        """qom-list: ``type``, then the children in reverse GLib hash order
        (``qmp_qom_list`` prepends each property it iterates)."""
        props = super().properties()
        children = {p.name: p for p in props if p.name in self.children}
        rest = [p for p in props if p.name not in self.children]
        return rest + [children[name] for name in reversed(self.hash_order())]

    def hash_order(self) -> list[str]:
        """The labels as ``object_child_foreach`` visits them."""
        from memdevd.machine.chardev.ghash import GHashOrder

        table = GHashOrder()
        for inserted, name in self.history:
            if inserted:
                table.insert(name)
            else:
                table.remove(name)
        return [name for name in table.order() if name in self.children]

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
            raise CoreError(
                M.CHARDEV_PROP_CANT_TAKE.format(typename, prop, label) + exc.desc
            ) from None

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
