"""The QOM object tree: objects, child/link properties, path resolution.

A faithful subset of ``qom/object.c``: every object has a QEMU type name,
a parent and a component name, children (``child<T>`` properties) and
typed properties with getters and setters that read their input through a
QAPI :class:`~memdevd.qapi.visitor.InputVisitor`, exactly as QEMU setters do.
Path resolution follows ``object_resolve_path``: absolute paths walk child
and link properties, partial paths must match exactly one object anywhere
in the tree, and empty components are skipped.  A machine's root keeps a
:class:`NameIndex` of where each child and link name occurs, so a partial
path (a ``memdev`` link value such as ``m250``) looks at the few objects
that can start it instead of walking the whole tree; the answer is the
walk's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

from memdevd import messages as M
from memdevd.machine.errors import CoreError, not_found
from memdevd.qapi.visitor import InputVisitor, VisitError
from memdevd.records import record

if TYPE_CHECKING:
    from memdevd.machine.ghash import GHashOrder
    from memdevd.releases.recorded import InstanceSample

Getter = Callable[["QOMObject"], Any]
Setter = Callable[["QOMObject", InputVisitor, str], None]


@record
class Prop:
    """One QOM property as ``qom-list`` shows it and ``qom-get/set`` use it."""

    name: str
    type: str
    get: Getter | None = None
    set: Setter | None = None
    description: str | None = None
    # A qdev static property: refused after realize with QEMU's text.
    static: bool = False
    # For device-list-properties / qom-list-properties.
    default: Any = None
    has_default: bool = False


# class_props() lists shared by every instance of a class (see
# QOMObject.class_props_key); Props are never modified once made.
_SHARED_CLASS_PROPS: dict[tuple[type, str], list[Prop]] = {}
# find_prop()'s answers from those lists: (class, key, name, id(sample)) ->
# (sample, Prop); the recorded samples live as long as the process.
_SHARED_FOUND: dict[tuple[type, str, str, int], tuple[InstanceSample | None, Prop]] = {}


class QOMObject:
    """A node of the QOM tree."""

    # Type hierarchy from this class's type up to "object", interfaces apart.
    type_chain: ClassVar[tuple[str, ...]] = ("object",)
    interfaces: ClassVar[tuple[str, ...]] = ()
    # link<> properties path walking follows: link name -> attribute holding
    # the target (or None).  Declared rather than coded in link_target() so
    # the name index knows every object a link name can start a path at.
    link_attrs: ClassVar[dict[str, str]] = {}
    # Set on a tree's root only (Machine.root): see NameIndex.
    _name_index: NameIndex | None = None

    def __init__(self, typename: str | None = None) -> None:
        self.typename = typename or self.type_chain[0]
        self.parent: QOMObject | None = None
        self.name: str | None = None
        self.children: dict[str, QOMObject] = {}
        self._props: dict[str, Prop] = {}

    # -- type checks --------------------------------------------------------

    def is_a(self, typename: str) -> bool:
        return typename in self.type_chain or typename in self.interfaces

    # -- tree -----------------------------------------------------------------

    def add_child(self, name: str, child: QOMObject) -> None:
        if name in self.children or name in self._props:
            raise CoreError(M.DUPLICATE_PROPERTY.format(name, self.typename))
        index = self.tree_index()
        if index is not None:
            index.attach(self, name, child)
        child.parent = self
        child.name = name
        self.children[name] = child

    def remove_child(self, name: str) -> QOMObject | None:
        child = self.children.pop(name, None)
        if child is not None:
            index = self.tree_index()
            if index is not None:
                index.detach(self, name, child)
            child.parent = None
        return child

    def tree_index(self) -> NameIndex | None:
        """The name index of the tree this object is in, if its root keeps one."""
        obj = self
        while obj.parent is not None:
            obj = obj.parent
        return obj._name_index

    def enable_name_index(self) -> None:
        """Make this (root) object keep a :class:`NameIndex` of its tree."""
        self._name_index = NameIndex.build(self)

    def canonical_path(self) -> str:
        parts: list[str] = []
        obj: QOMObject | None = self
        while obj is not None and obj.parent is not None:
            assert obj.name is not None
            parts.append(obj.name)
            obj = obj.parent
        return "/" + "/".join(reversed(parts))

    def walk(self) -> Iterator[QOMObject]:
        yield self
        for child in list(self.children.values()):
            yield from child.walk()

    # -- properties -------------------------------------------------------------

    def add_prop(self, prop: Prop) -> None:
        self._props[prop.name] = prop

    def own_props(self) -> list[Prop]:
        return list(self._props.values())

    def properties(self) -> list[Prop]:
        """All properties, children included.

        Where QEMU's real list for this type was recorded, its names, types
        and order are used; properties memdevd models take their behaviour
        from the model, the others behave as recorded (see
        :meth:`recorded_sample`).
        """
        modeled: dict[str, Prop] = {"type": Prop("type", "string", get=lambda o: o.typename)}
        for prop in self._class_props():
            modeled[prop.name] = prop
        for prop in self._props.values():
            modeled[prop.name] = prop
        sample = self.recorded_sample()
        props: list[Prop] = []
        if sample is not None:
            # Children named after the recorded instance (a backend's
            # "<id>[0]" region) are this object's own, under its own name.
            own = str(sample.get("path", "")).rsplit("/", 1)[-1] + "["
            for entry in sample["qom-list"]:
                name, ptype = entry["name"], entry["type"]
                if ptype.startswith("child<"):
                    if name not in self.children and not name.startswith(own):
                        # A child memdevd does not model (e.g. a PCI device's
                        # "bus master[0]" region): listed, read as its path.
                        props.append(Prop(name, ptype, get=unmodelled_child(name)))
                    continue
                found = modeled.pop(name) if name in modeled else None
                if found is None:
                    prop = _recorded_prop(self, sample, name, ptype)
                elif found.type == ptype:
                    prop = found
                else:
                    prop = replace(found, type=ptype)
                props.append(prop)
        props.extend(modeled.values())
        for name, child in self.children.items():
            props.append(Prop(name, f"child<{child.typename}>", get=_child_getter(name)))
        return props

    def recorded_sample(self) -> InstanceSample | None:
        """A recorded QEMU instance of this type (qom-list/get/set), if any."""
        return None

    def check_settable(self, name: str) -> None:
        """Hook for recorded static properties (devices refuse after realize)."""

    def class_props(self) -> list[Prop]:
        return []

    def class_props_key(self) -> str | None:
        """What :meth:`class_props` depends on besides the class (e.g. the
        QEMU version), or None where it depends on the instance.  With a
        key, the list is built once per class and key instead of on every
        property lookup (each build makes a dozen Prop objects)."""
        return None

    def _class_props(self) -> list[Prop]:
        key = self.class_props_key()
        if key is None:
            return self.class_props()
        shared = (type(self), key)
        props = _SHARED_CLASS_PROPS.get(shared)
        if props is None:
            props = _SHARED_CLASS_PROPS[shared] = self.class_props()
        return props

    def find_prop(self, name: str) -> Prop | None:
        """The first property of :meth:`properties` with this name.

        A modelled property is found without building the whole list (that
        list includes every recorded property, and qom-get/qom-set look up
        one name); the result is the same.
        """
        # Only where properties() is this class's: an override may drop names.
        if name != "type" and type(self).properties is QOMObject.properties:
            modeled = self._props.get(name)
            sample = self.recorded_sample()
            shared = None
            if modeled is None:
                ckey = self.class_props_key()
                if ckey is not None:
                    # A class property's answer depends on the class, its
                    # key and the recorded sample only: found once.
                    shared = (type(self), ckey, name, id(sample))
                    hit = _SHARED_FOUND.get(shared)
                    if hit is not None and hit[0] is sample:
                        return hit[1]
                for prop in self._class_props():
                    if prop.name == name:
                        modeled = prop
            recorded = _recorded_types(sample).get(name) if sample is not None else None
            if modeled is not None:
                found = None
                if recorded is None or recorded == modeled.type:
                    found = modeled
                elif not recorded.startswith("child<"):
                    # Listed by QEMU with another type: that type, our behaviour.
                    found = replace(modeled, type=recorded)
                if found is not None:
                    if shared is not None:
                        _SHARED_FOUND[shared] = (sample, found)
                    return found
            elif (
                sample is not None
                and recorded is not None
                and not recorded.startswith("child<")
                and name not in self.children
            ):
                # A property only the recording has (a vCPU has ~500 of
                # them, libvirt reads ~400 one by one at start).
                return _recorded_prop(self, sample, name, recorded)
        for prop in self.properties():
            if prop.name == name:
                return prop
        return None

    def link_target(self, name: str) -> QOMObject | None:
        """The object a ``link<>`` property points to (for path walking)."""
        attr = self.link_attrs.get(name)
        if attr is None:
            return None
        target: QOMObject | None = getattr(self, attr)
        return target

    def prop_get(self, name: str) -> Any:
        prop = self.find_prop(name)
        if prop is None:
            raise CoreError(M.PROPERTY_NOT_FOUND.format(self.typename, name))
        if prop.get is None:
            raise CoreError(M.PROPERTY_NOT_READABLE.format(self.typename, name))
        return prop.get(self)

    def prop_set(self, name: str, value: Any, *, keyval: bool = False) -> None:
        """``object_property_set`` with a QObject (or keyval string) value."""
        prop = self.find_prop(name)
        if prop is None:
            raise CoreError(M.PROPERTY_NOT_FOUND.format(self.typename, name))
        if prop.set is None:
            raise CoreError(M.PROPERTY_NOT_WRITABLE.format(self.typename, name))
        machine = getattr(self, "machine", None)
        # 7.2's keyval/QOM sizes go through its qemu_strtosz.
        legacy = machine is not None and not machine.release.strtosz_2023
        visitor = InputVisitor(value, keyval=keyval, legacy_sizes=legacy)
        try:
            prop.set(self, visitor, name)
        except VisitError as exc:
            raise CoreError(exc.desc) from None


def _recorded_prop(obj: QOMObject, sample: InstanceSample, name: str, ptype: str) -> Prop:
    """An unmodelled property that behaves as QEMU's did when recorded."""
    overrides: dict[str, Any] = obj.__dict__.setdefault("_recorded_overrides", {})
    value = sample.get("qom-get", {}).get(name)
    setter_reply = sample.get("qom-set", {}).get(name, {}).get("reply", {})

    def getter(o: QOMObject) -> Any:
        if name in overrides:
            return overrides[name]
        if isinstance(value, dict) and set(value) == {"error"}:
            raise CoreError(value["error"]["desc"])
        return value

    error = setter_reply.get("error", {}).get("desc", "") if isinstance(setter_reply, dict) else ""
    if error.endswith("is not writable"):
        return Prop(name, ptype, getter, None)

    def setter(o: QOMObject, v: InputVisitor, pname: str) -> None:
        if error.startswith("Attempt to set"):
            o.check_settable(pname)
        overrides[pname] = v.type_any(pname)

    return Prop(name, ptype, getter, setter, static=error.startswith("Attempt to set"))


def unmodelled_child(name: str) -> Getter:
    def get(obj: QOMObject) -> str:
        return f"{obj.canonical_path()}/{name}"

    return get


def _child_getter(name: str) -> Getter:
    def get(obj: QOMObject) -> str:
        return obj.children[name].canonical_path()

    return get


# id(sample) -> (sample, {name: type}); the samples are cached recorded data
# that live as long as the process, kept referenced here so ids stay unique.
_TYPES_CACHE: dict[int, tuple[InstanceSample, dict[str, str]]] = {}


def _recorded_types(sample: InstanceSample) -> dict[str, str]:
    hit = _TYPES_CACHE.get(id(sample))
    if hit is not None and hit[0] is sample:
        return hit[1]
    types: dict[str, str] = {}
    for entry in sample["qom-list"]:
        types.setdefault(entry["name"], entry["type"])
    _TYPES_CACHE[id(sample)] = (sample, types)
    return types


class NameIndex:
    """Where each child name and link name occurs in one QOM tree.

    ``children[name]`` holds every object of the tree with a child called
    ``name``, ``links[name]`` every object declaring a link called ``name``
    (set or not; :meth:`QOMObject.link_target` decides at lookup).  The
    root's ``add_child``/``remove_child`` keep it current, attaching or
    detaching whole subtrees, so a partial path is tried only where it can
    start.  Each name holds its objects in insertion order, compared by
    identity (QOM objects do not define equality): a tuple while they are
    few (most names have one object, and a one-element tuple costs a fifth
    of a one-key dict: three names per DIMM), an ordered dict-as-set once
    they are many (a link every DIMM declares), so that adding and removing
    stay constant-time.  A snapshot deep-copies the index with the tree it
    describes, so a restored tree has a consistent one.

    QOM is a tree: QEMU asserts that a child has no parent yet.  Should
    memdevd ever add an object that still has a parent, the index stops
    being exact and resolution falls back to the walk (``exact``).
    """

    def __init__(self) -> None:
        self.children: dict[str, _Objects] = {}
        self.links: dict[str, _Objects] = {}
        self.exact = True

    @classmethod
    def build(cls, root: QOMObject) -> NameIndex:
        index = cls()
        index._add_subtree(root)
        return index

    def attach(self, parent: QOMObject, name: str, child: QOMObject) -> None:
        """``child`` (and its subtree) becomes ``parent``'s child ``name``."""
        if child.parent is not None:
            self.exact = False
        _add(self.children, name, parent)
        self._add_subtree(child)

    def detach(self, parent: QOMObject, name: str, child: QOMObject) -> None:
        """``parent``'s child ``name`` (and its subtree) leaves the tree."""
        _discard(self.children, name, parent)
        for obj in child.walk():
            for cname in obj.children:
                _discard(self.children, cname, obj)
            for lname in obj.link_attrs:
                _discard(self.links, lname, obj)

    def _add_subtree(self, top: QOMObject) -> None:
        if not top.children:
            # Most objects added are leaves (a backend, a DIMM): no walk.
            for lname in top.link_attrs:
                _add(self.links, lname, top)
            return
        for obj in top.walk():
            for cname in obj.children:
                _add(self.children, cname, obj)
            for lname in obj.link_attrs:
                _add(self.links, lname, obj)

    def as_ids(self) -> tuple[dict[str, set[int]], dict[str, set[int]]]:
        """Both maps by object identity, empty entries dropped (for tests)."""

        def ids(table: dict[str, _Objects]) -> dict[str, set[int]]:
            return {name: {id(o) for o in objs} for name, objs in table.items() if objs}

        return ids(self.children), ids(self.links)


# A name's objects: a tuple while few, a dict (ordered set) from _MANY on.
_Objects = tuple["QOMObject", ...] | dict["QOMObject", None]
_MANY = 8


def _add(table: dict[str, _Objects], name: str, obj: QOMObject) -> None:
    objs = table.get(name)
    if objs is None:
        table[name] = (obj,)
    elif type(objs) is dict:
        objs[obj] = None
    elif not any(o is obj for o in objs):
        if len(objs) + 1 < _MANY:
            table[name] = (*objs, obj)
        else:
            table[name] = dict.fromkeys((*objs, obj))


def _discard(table: dict[str, _Objects], name: str, obj: QOMObject) -> None:
    objs = table.get(name)
    if objs is None:
        return
    if type(objs) is dict:
        objs.pop(obj, None)
        kept: _Objects = objs
    else:
        kept = tuple(o for o in objs if o is not obj)
    if not kept:
        # Names of deleted objects (m1..m250) do not pile up.
        del table[name]
    elif kept is not objs:
        table[name] = kept


class Container(QOMObject):
    """``container``: its children are properties of the object, which
    QEMU keeps in a GLib hash table, so ``qom-list`` and
    ``object_child_foreach`` see them in the table's order, not in
    creation order.  The insertions and removals are replayed into a
    :class:`~memdevd.machine.ghash.GHashOrder` when the order is asked for
    (a machine that is never asked builds no table)."""

    type_chain = ("container", "object")
    #: Keep every insertion and removal (a subclass that reorders them);
    #: otherwise what was replayed is dropped.
    keep_history: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()
        # (inserted?, name), not yet replayed into _table.
        self.history: list[tuple[bool, str]] = []
        self._table: GHashOrder | None = None
        self._replayed = 0

    def add_child(self, name: str, child: QOMObject) -> None:
        super().add_child(name, child)
        self.history.append((True, name))

    def remove_child(self, name: str) -> QOMObject | None:
        child = super().remove_child(name)
        if child is not None:
            self.history.append((False, name))
        return child

    def hash_order(self) -> list[str]:
        """The children's names as ``object_child_foreach`` visits them."""
        from memdevd.machine.ghash import GHashOrder

        if self._table is None:
            self._table, self._replayed = GHashOrder(), 0
        table = self._table
        for inserted, name in self.history[self._replayed :]:
            if inserted:
                table.insert(name)
            else:
                table.remove(name)
        if self.keep_history:
            self._replayed = len(self.history)
        else:
            self.history.clear()
        return [name for name in table.order() if name in self.children]

    def forget_order(self) -> None:
        """The history was rewritten: replay it from the start next time."""
        self._table, self._replayed = None, 0

    def properties(self) -> list[Prop]:
        """``type``, then the children in reverse hash order
        (``qmp_qom_list`` prepends each property it iterates)."""
        props = super().properties()
        children = {p.name: p for p in props if p.name in self.children}
        rest = [p for p in props if p.name not in self.children]
        return rest + [children[name] for name in reversed(self.hash_order())]


# --- path resolution (qom/object.c) -------------------------------------------


def _resolve_component(obj: QOMObject, part: str) -> QOMObject | None:
    child = obj.children.get(part)
    if child is not None:
        return child
    return obj.link_target(part)


def _resolve_abs(obj: QOMObject, parts: list[str], typename: str | None) -> QOMObject | None:
    for part in parts:
        if not part:
            continue
        nxt = _resolve_component(obj, part)
        if nxt is None:
            return None
        obj = nxt
    if typename is not None and not obj.is_a(typename):
        return None
    return obj


def _resolve_partial(
    parent: QOMObject, parts: list[str], typename: str | None
) -> tuple[QOMObject | None, bool]:
    """``object_resolve_partial_path``: a match below every object of the tree.

    QEMU recurses and calls the result ambiguous as soon as two objects of
    the tree resolve the path (even to the same target); counting matches
    in any order gives the same answer.  Only an object with a child or a
    link named like the first component can start a match, so where
    ``parent`` keeps a name index only those objects are tried.
    """
    index = parent._name_index
    if index is not None and index.exact and parts[0]:
        return _resolve_indexed(index, parts, typename)
    return _resolve_walk(parent, parts, typename)


def _resolve_indexed(
    index: NameIndex, parts: list[str], typename: str | None
) -> tuple[QOMObject | None, bool]:
    """:func:`_resolve_walk` over the objects the index lists for ``parts[0]``."""
    first, rest = parts[0], parts[1:]
    found: QOMObject | None = None
    for obj in index.children.get(first, ()):
        match = _resolve_abs(obj.children[first], rest, typename)
        if match is not None:
            if found is not None:
                return None, True
            found = match
    for obj in index.links.get(first, ()):
        if first in obj.children:
            # The child wins over the link (_resolve_component): tried above.
            continue
        nxt = obj.link_target(first)
        if nxt is None:
            continue
        match = _resolve_abs(nxt, rest, typename)
        if match is not None:
            if found is not None:
                return None, True
            found = match
    return found, False


def _resolve_walk(
    parent: QOMObject, parts: list[str], typename: str | None
) -> tuple[QOMObject | None, bool]:
    """The partial path tried below every object of the tree (the reference).

    Walks a stack and stops at the second match.
    """
    found: QOMObject | None = None
    stack = [parent]
    first, rest = parts[0], parts[1:]
    while stack:
        obj = stack.pop()
        # _resolve_abs() inlined for the first component: most objects have
        # no child or link of that name, and this runs for every object.
        nxt = obj.children.get(first) if first else obj
        if nxt is None and first:
            nxt = obj.link_target(first)
        if nxt is not None:
            match = _resolve_abs(nxt, rest, typename)
            if match is not None:
                if found is not None:
                    return None, True
                found = match
        stack.extend(obj.children.values())
    return found, False


def resolve_path(
    root: QOMObject, path: str, typename: str | None = None
) -> tuple[QOMObject | None, bool]:
    """``object_resolve_path_type``: (object or None, ambiguous)."""
    if not path:
        # g_strsplit("") is empty: a partial path matching every object.
        return None, True
    parts = path.split("/")
    if parts[0] == "":
        return _resolve_abs(root, parts[1:], typename), False
    return _resolve_partial(root, parts, typename)


def resolve_or_raise(root: QOMObject, path: str) -> QOMObject:
    obj, _ = resolve_path(root, path)
    if obj is None:
        raise not_found(M.DEVICE_NOT_FOUND.format(path))
    return obj


class MemoryRegionObject(QOMObject):
    """A ``memory-region`` QOM child: where a region is mapped, if anywhere.

    QEMU's MemoryRegions are QOM objects; backends, nvdimms and the machine's
    device-memory container show up as ``child<memory-region>`` properties
    whose ``container`` and ``addr`` tell where the region is mapped.
    """

    type_chain = ("memory-region", "object")

    def __init__(self, size: int, container: str = "", addr: int = 0) -> None:
        super().__init__()
        self.size = size
        self.container = container
        self.addr = addr
        self.priority = 0

    def class_props_key(self) -> str | None:
        return ""

    def class_props(self) -> list[Prop]:
        return [
            Prop("container", "link<memory-region>", lambda o: _mr(o).container, None),
            Prop("addr", "uint64", lambda o: _mr(o).addr, None),
            Prop("size", "uint64", lambda o: _mr(o).size, None),
            Prop("priority", "uint32", lambda o: _mr(o).priority, None),
        ]

    def map(self, container: str, addr: int) -> None:
        self.container = container
        self.addr = addr

    def unmap(self) -> None:
        # memory_region_del_subregion() clears the container, not the offset.
        self.container = ""


def _mr(obj: QOMObject) -> MemoryRegionObject:
    assert isinstance(obj, MemoryRegionObject)
    return obj


class ChardevSocket(QOMObject):
    """``chardev-socket``: a QMP listener's character device."""

    type_chain = ("chardev-socket", "chardev", "object")

    def __init__(
        self,
        address: dict[str, Any],
        connected: Callable[[], bool],
        peer: Callable[[], tuple[str, int] | None] | None = None,
        listen: bool = True,
    ) -> None:
        super().__init__()
        self.address = address
        self.connected = connected
        # A server socket (server=on), else a client that connects out.
        self.listen = listen
        # The connected client's address (TCP), for query-chardev's filename.
        self.peer = peer or (lambda: None)

    def class_props(self) -> list[Prop]:
        return [
            Prop("connected", "bool", lambda o: _chardev(o).connected(), None),
            Prop("addr", "SocketAddress", lambda o: dict(_chardev(o).address), None),
        ]


class ChardevBackend(QOMObject):
    """A character device that is not a monitor: ``pty`` or ``null``.

    ``-chardev pty`` really opens a pseudo-terminal, as QEMU does, so the
    path ``query-chardev`` reports (libvirt's ``<console>``) exists; memdevd
    never writes to it.  A device using it (isa-serial) opens the frontend.
    """

    type_chain = ("chardev", "object")

    def __init__(self, backend: str) -> None:
        super().__init__(f"chardev-{backend}")
        self.backend = backend
        self.frontend_open = False
        self.path = ""
        self._master = -1
        if backend == "pty":
            import os

            try:
                self._master, slave = os.openpty()
            except OSError as exc:
                # char-pty.c: error_setg_errno(errp, errno, "Failed to create PTY")
                raise CoreError(M.PTY_CREATE_FAILED.format(os.strerror(exc.errno or 0))) from None
            self.path = os.ttyname(slave)
            os.close(slave)

    @property
    def filename(self) -> str:
        return f"pty:{self.path}" if self.backend == "pty" else self.backend

    def adopt(self, other: ChardevBackend) -> None:
        """Use ``other``'s pty instead of this one's (closed)."""
        if other.backend == self.backend and other is not self:
            self.close()
            self.path, self._master = other.path, other._master

    def close(self) -> None:
        if self._master >= 0:
            import os

            os.close(self._master)
            self._master = -1


def _chardev(obj: QOMObject) -> ChardevSocket:
    assert isinstance(obj, ChardevSocket)
    return obj
