"""QEMU 11.1's monitors as QOM objects (``Release.qom_monitor_objects``).

11.1 makes every monitor a user-creatable object under ``/objects``:
``monitor-qmp`` (``chardev``, ``pretty``, ``close-action``) and
``monitor-hmp`` (``chardev``, ``readline``).  The command line's monitors
are made by ``mon_init_func`` after the late ``-object``s, named by their
``-mon`` id (``compat_monitorN`` for ``-qmp``/``-monitor`` and the default
monitor, whose chardev has the same name; for an id-less ``-mon`` and a
``-serial mon:`` mux's monitor the next N when it is made).  ``object-add`` makes a
monitor on a free chardev; ``object-del`` refuses the current QMP monitor
and every HMP monitor.

memdevd serves the command line's monitors itself (the daemon's listeners
and HMP sessions): their objects are ``served``.  A monitor made by
``object-add`` takes its chardev's front end and opens it, as QEMU's, but
nobody is greeted or answered on it (docs/divergences.md), and deleting
a served QMP monitor other than the current one is refused by name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from memdevd import messages as M
from memdevd.machine.errors import CoreError
from memdevd.machine.qom import Prop, QOMObject
from memdevd.qapi.visitor import InputVisitor

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine

MONITOR_TYPES: Final = ("monitor-qmp", "monitor-hmp")
#: MonitorQMPCloseAction
CLOSE_ACTIONS: Final = ("none", "delete")

# Each type's properties as qom-list shows them (seen live), with defaults.
_PROPS: Final[dict[str, tuple[tuple[str, str, Any], ...]]] = {
    "monitor-qmp": (
        ("chardev", "string", None),
        ("pretty", "bool", False),
        ("close-action", "MonitorQMPCloseAction", "none"),
    ),
    "monitor-hmp": (("chardev", "string", None), ("readline", "bool", True)),
}


class MonitorObject(QOMObject):
    """A ``monitor-qmp`` or ``monitor-hmp`` object."""

    def __init__(self, machine: Machine, qom_type: str, *, served: bool = False) -> None:
        super().__init__()
        self.machine = machine
        self.typename = qom_type
        self.type_chain = (qom_type, *machine.recording.type_parents(qom_type))  # type: ignore[misc]
        self.served = served
        self.values: dict[str, Any] = {}
        for name, qom_type_name, default in _PROPS[qom_type]:
            self.values[name] = default
            self.add_prop(Prop(name, qom_type_name, _getter(name), _setter(name, qom_type_name)))

    def complete(self) -> None:
        """``monitor_complete``: the chardev must exist and be free; the
        monitor takes and opens it (a served monitor's is the daemon's)."""
        if self.served:
            return
        from memdevd.machine.chardev.container import fe_init
        from memdevd.machine.chardev.core import Chardev

        machine = self.machine
        name = self.values.get("chardev") or ""
        chardev = machine.chardevs.children.get(name)
        if chardev is None:
            raise CoreError(M.CHARDEV_NOT_FOUND.format(name))
        fe_init(chardev, self, machine.release)
        if isinstance(chardev, Chardev):
            chardev.frontend_open = True

    def check_delete(self, current_monitor: str | None) -> None:
        """What ``object-del`` refuses: any HMP monitor, the QMP monitor
        the command came on (``current_monitor`` is its chardev), and (not
        emulated) the other QMP monitors memdevd serves."""
        if self.typename == "monitor-hmp":
            raise CoreError(M.HMP_MONITOR_DELETE)
        if not self.served:
            return
        if self.values.get("chardev") == current_monitor:
            raise CoreError(M.QMP_MONITOR_CURRENT_DELETE)
        raise CoreError(M.MONITOR_DELETE_NOT_EMULATED.format(self.name or ""))


def add_command_line_monitors(machine: Machine, monitors: list[tuple[str, str, str, bool]]) -> None:
    """``mon_init_func`` for each -mon (-qmp, -monitor): its object."""
    for obj_id, mode, chardev, pretty in monitors:
        qom_type = "monitor-qmp" if mode == "control" else "monitor-hmp"
        obj = MonitorObject(machine, qom_type, served=True)
        obj.values["chardev"] = chardev
        if qom_type == "monitor-qmp":
            obj.values["pretty"] = pretty
        machine.objects.add_child(obj_id, obj)


def _getter(name: str) -> Callable[[QOMObject], Any]:
    def get(obj: QOMObject) -> Any:
        assert isinstance(obj, MonitorObject)
        return obj.values.get(name)

    return get


def _setter(name: str, qom_type: str) -> Callable[[QOMObject, InputVisitor, str], None]:
    def set_(obj: QOMObject, v: InputVisitor, pname: str) -> None:
        assert isinstance(obj, MonitorObject)
        if qom_type == "bool":
            obj.values[name] = v.type_bool(pname)
        elif qom_type == "string":
            obj.values[name] = v.type_str(pname)
        else:
            obj.values[name] = v.type_enum(pname, CLOSE_ACTIONS)

    return set_
