"""qdev: devices, their static properties, ids and realize (hw/core/qdev*.c).

A :class:`Device` is a QOM object with qdev semantics: static properties
that refuse writes once the device is realized, ``id`` registration under
``/machine/peripheral`` (or ``peripheral-anon/device[N]``), ``hotplugged``
and ``hotpluggable`` flags, and realize/unrealize.  Property setters read
through a QAPI visitor so type errors carry QEMU's texts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from memdevd import messages as M
from memdevd.machine.errors import CoreError
from memdevd.machine.qom import Prop, QOMObject
from memdevd.qapi.visitor import InputVisitor

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine
    from memdevd.releases.recorded import InstanceSample


class Device(QOMObject):
    """``TYPE_DEVICE`` with the flags and id handling memdevd needs."""

    type_chain: ClassVar[tuple[str, ...]] = ("device", "object")
    user_creatable: ClassVar[bool] = True
    hotpluggable: ClassVar[bool] = True
    abstract: ClassVar[bool] = False
    # qdev bus type the device sits on (None: no bus, e.g. pc-dimm).
    bus_type: ClassVar[str | None] = None
    description: ClassVar[str] = ""
    # Types that exist only in some emulated releases (hv-balloon: 8.2+).
    needs_profile_feature: ClassVar[bool] = False

    @classmethod
    def available(cls, release: Any) -> bool:
        return True

    def __init__(self, machine: Machine) -> None:
        super().__init__()
        self.machine = machine
        self.id: str | None = None
        self.realized = False
        self.hotplugged = False
        # Name of the bus the device is plugged into, if any.
        self.parent_bus: str | None = None
        # The device owning that bus (None: a board bus); two buses may
        # share a name (a root port's automatic "pcie.0" and q35's root).
        self.parent_bus_owner: Device | None = None

    # -- static properties ---------------------------------------------------

    def static_props(self) -> list[Prop]:
        """The qdev static properties (``device_class_set_props``)."""
        return []

    def class_props(self) -> list[Prop]:
        return [
            Prop("realized", "bool", lambda o: _dev(o).realized, _refuse_realized),
            Prop("hotplugged", "bool", lambda o: _dev(o).hotplugged, None),
            Prop("hotpluggable", "bool", lambda o: type(_dev(o)).hotpluggable, None),
            *self.static_props(),
        ]

    def check_settable(self, name: str) -> None:
        """``qdev_prop_set_after_realize`` for static properties."""
        if self.realized:
            if self.id is not None:
                raise CoreError(M.SET_PROP_AFTER_REALIZE.format(name, self.id, self.typename))
            raise CoreError(M.SET_PROP_AFTER_REALIZE_ANON.format(name, self.typename))

    def recorded_sample(self) -> InstanceSample | None:
        return self.machine.recording.type_sample(self.typename, self.machine.config.board.family)

    # -- lifecycle --------------------------------------------------------------

    def realize(self) -> None:
        """``dc->realize``: checks that run after the hotplug pre_plug hook."""

    def unrealize(self) -> None:
        """``dc->unrealize``."""

    def finalize(self) -> None:
        """``instance_finalize``: the device leaves the QOM tree for good
        (after an unplug, or a device_add that failed)."""

    def qom_path(self) -> str:
        return self.canonical_path()


def _dev(obj: QOMObject) -> Device:
    assert isinstance(obj, Device)
    return obj


def _refuse_realized(obj: QOMObject, v: InputVisitor, name: str) -> None:
    # Setting "realized" by hand is how QEMU's device_add works internally;
    # for a client it is a no-op on a realized device or a failure.
    dev = _dev(obj)
    value = v.type_bool(name)
    if value == dev.realized:
        return
    raise CoreError(M.CANNOT_CHANGE_REALIZED)


# --- static property helpers (hw/core/qdev-properties.c) -----------------------


def static_prop(
    name: str,
    qom_type: str,
    attr: str,
    parse: Callable[[InputVisitor, str], Any],
    *,
    default: Any = None,
    description: str | None = None,
    check: Callable[[Device, Any], None] | None = None,
) -> Prop:
    """A field property: refused after realize, value read with ``parse``."""

    def getter(obj: QOMObject) -> Any:
        return getattr(obj, attr)

    def setter(obj: QOMObject, v: InputVisitor, pname: str) -> None:
        dev = _dev(obj)
        dev.check_settable(pname)
        value = parse(v, pname)
        if check is not None:
            check(dev, value)
        setattr(obj, attr, value)

    return Prop(
        name,
        qom_type,
        getter,
        setter,
        description,
        static=True,
        default=default,
        has_default=default is not None,
    )


def parse_uint64(v: InputVisitor, name: str) -> int:
    return v.type_uint64(name)


def parse_uint32(v: InputVisitor, name: str) -> int:
    return v.type_int(name, "uint32")


def parse_int32(v: InputVisitor, name: str) -> int:
    return v.type_int(name, "int32")


def parse_size(v: InputVisitor, name: str) -> int:
    return v.type_size(name)


def parse_bool(v: InputVisitor, name: str) -> bool:
    return v.type_bool(name)


def parse_on_off_auto(v: InputVisitor, name: str) -> str:
    return v.type_enum(name, ("auto", "on", "off"))


def link_prop(
    name: str,
    target_type: str,
    attr: str,
    *,
    description: str | None = None,
    static: bool = True,
) -> Prop:
    """``DEFINE_PROP_LINK``: set by path, allowed only before realize."""

    def getter(obj: QOMObject) -> Any:
        target = getattr(obj, attr)
        return target.canonical_path() if target is not None else ""

    def setter(obj: QOMObject, v: InputVisitor, pname: str) -> None:
        dev = _dev(obj)
        path = v.type_str(pname)
        target = dev.machine.resolve_link(path, target_type, pname) if path else None
        if static and dev.realized:
            # qdev_prop_allow_set_link_before_realize(): prints a NULL id.
            raise CoreError(
                M.SET_LINK_AFTER_REALIZE.format(pname, dev.id or "(null)", dev.typename)
            )
        setattr(obj, attr, target)

    return Prop(name, f"link<{target_type}>", getter, setter, description, static=static)
