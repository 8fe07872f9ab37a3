"""Answers recorded from real QEMU, per target and release, loaded on first use.

``memdevd/targets/<target>/data/qemu-<release>/`` holds what
``tools/record_qemu_data.py`` recorded from that target's QEMU of a live
release (see its README for provenance).  memdevd uses it for what lies
outside its subject (the machine-type list, the order of
``query-commands``, QOM properties it does not model, libvirt's probe
answers, the vCPU objects) and never for what it computes itself.  A
release that was not recorded answers with the data of the release its
``recorded_as`` names (8.2: 10.0's; docs/versions.md lists what that
implies).

:func:`recording` gives one :class:`Recording` per (target, recorded
release); its methods are the typed accessors the rest of memdevd reads
through.  Files are parsed when first asked for.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from functools import cache, cached_property
from typing import Any, Final, TypedDict

from memdevd import messages as M
from memdevd.records import record as _record
from memdevd.releases.table import Release

_TARGETS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "targets")

#: A recorded QEMU value: JSON exactly as QEMU sent it.
JSON = Any


class TypeInfo(TypedDict, total=False):
    """One ``qom-list-types`` entry (``ObjectTypeInfo``)."""

    name: str
    parent: str
    abstract: bool


#: One ``qom-list`` entry (``ObjectPropertyInfo``), QEMU's keys.
PropertyInfo = TypedDict(
    "PropertyInfo",
    {"name": str, "type": str, "description": str, "default-value": JSON},
    total=False,
)

#: A recorded QOM object: what memdevd reads of it.  ``qom-get``: every
#: listed property's value (or QEMU's error); ``qom-set``: QEMU's reply to
#: setting each property (where it was tried).
InstanceSample = TypedDict(
    "InstanceSample",
    {
        "path": str,
        "qom-type": str,
        "qom-list": list[PropertyInfo],
        "qom-get": dict[str, JSON],
        "qom-set": dict[str, JSON],
    },
    total=False,
)

# The machine families samples are chosen for, per target ("": any); the
# recorder names each scenario after its family ("pc-hot", "virt-fw-cold").
_FAMILIES = ("", "pc", "q35")
TARGET_FAMILIES: dict[str, tuple[str, ...]] = {"x86_64": _FAMILIES, "aarch64": ("", "virt")}
#: The recorded release's own machine type of each family (its QOM type).
_FAMILY_TYPES = {
    "pc": "pc-i440fx-{}-machine",
    "q35": "pc-q35-{}-machine",
    "virt": "virt-{}-machine",
}


class _NoDefault:
    """:data:`NO_DEFAULT`'s type: a property QEMU reports no default for."""

    _instance: _NoDefault | None = None

    def __new__(cls) -> _NoDefault:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NO_DEFAULT"

    def __reduce__(self) -> str:
        return "NO_DEFAULT"


#: ``DevicePropertyInfo.default_value`` of a property without
#: ``default-value`` (not the same as a default of ``null``).
NO_DEFAULT: Final = _NoDefault()


@_record(frozen=True)
class DevicePropertyInfo:
    """One ``device-list-properties`` entry (QAPI ``ObjectPropertyInfo``)."""

    name: str
    type: str
    #: None: QEMU reports no description (an empty one is ``""``)
    description: str | None
    #: the value as QEMU reported it, or :data:`NO_DEFAULT`
    default_value: JSON

    @property
    def has_default(self) -> bool:
        return self.default_value is not NO_DEFAULT


@_record(frozen=True)
class DeviceAbort:
    """How QEMU exited when asked a device type's properties."""

    #: what QEMU printed on stderr, as printed (error_report() under a QMP
    #: command: without program name or location)
    stderr: str
    #: its exit status (negative: the signal that ended it)
    exit_status: int

    @property
    def message(self) -> str:
        """The message, without the final newline."""
        return self.stderr.removesuffix("\n")


@_record(frozen=True)
class DeviceTypeInfo:
    """A non-abstract device type of the recorded QEMU (devices.json).

    ``bus``, ``alias``, ``description`` and ``categories`` are what QEMU's
    ``info qdm`` prints of the type (qdev_print_devinfo(): ``bus_type``,
    the alias table's entry, ``desc``, the category headings it is listed
    under, "Uncategorized" for none); ``user_creatable`` types are the
    ones ``-device help`` lists.  ``hotpluggable`` is the class's
    ``DeviceClass.hotpluggable``: what ``device_add`` on a running machine
    showed of it, or for the types it cannot ask (not user-creatable, no
    bus QEMU could offer) what the release's source sets.
    """

    name: str
    #: the QOM parent chain, nearest first, up to "object"
    parents: tuple[str, ...]
    user_creatable: bool
    bus: str | None
    alias: str | None
    description: str | None
    categories: tuple[str, ...]
    #: ``device-list-properties``, in QEMU's order (empty when it aborts)
    properties: tuple[DevicePropertyInfo, ...]
    #: set when ``device-list-properties`` made QEMU exit
    aborts: DeviceAbort | None
    #: ``DeviceClass.hotpluggable`` (the ``hotpluggable`` property of an
    #: instance is this and its bus's); None: unknown
    hotpluggable: bool | None
    #: ``qom-list-properties``, in QEMU's order (its hash-table order, which
    #: ``qom-list`` of an instance shows too: the class's properties, before
    #: children and links the instance adds); empty when it aborts
    qom_properties: tuple[DevicePropertyInfo, ...]
    #: set when ``qom-list-properties`` made QEMU exit
    qom_aborts: DeviceAbort | None
    #: ``qom-list`` of a realized instance (``-device T,id=dev0`` on a
    #: paused machine): ``qom_properties`` and what realize added (memory
    #: regions, buses: a bus's name starts with the instance's id,
    #: :meth:`Recording.device_instance_id`), in
    #: QEMU's order; None where no instance could be made (a vCPU, a type
    #: that needs a host resource or a backend)
    qom_list: tuple[DevicePropertyInfo, ...] | None
    #: the same of an instance hot-plugged (``device_add`` on that machine
    #: after start-up): realize makes some memory regions at another time
    #: (a PCI device's bus master regions), so QEMU's hash table may list
    #: them in another order; ``qom_list`` where the order is the same or
    #: the type could not be hot-plugged there
    qom_list_hot: tuple[DevicePropertyInfo, ...] | None


@cache
def recording(target: str, release: Release) -> Recording:
    """What was recorded from ``target``'s QEMU for ``release``."""
    return _recording(target, release.recorded_as)


@cache
def _recording(target: str, recorded_as: str) -> Recording:
    return Recording(target, recorded_as)


def _walk_pointer(node: JSON, pointer: str) -> JSON:
    """The value a JSON pointer (RFC 6901, ``/a/0/b``) names inside ``node``."""
    for part in pointer.split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


class Recording:
    """One target's recording of one live release (``Release.recorded_as``)."""

    def __init__(self, target: str, recorded_as: str) -> None:
        self.target = target
        self.recorded_as = recorded_as
        self.directory = os.path.join(_TARGETS, target, "data", f"qemu-{recorded_as}")
        self._files: dict[str, JSON] = {}
        self._samples: dict[str, InstanceSample] = {}
        self._type_samples: dict[tuple[str, str], InstanceSample | None] = {}
        self._cpu_samples: dict[tuple[str, str], InstanceSample | None] = {}
        # Shared by every vCPU of the model: read, never modified.
        self._cpu_values: dict[tuple[str, str], dict[str, JSON] | None] = {}
        self._key_orders: dict[str, tuple[tuple[str, list[list[str]]], ...]] = {}
        self._probe_indexes: dict[str, dict[str, dict[str, JSON]] | None] = {}
        self._device_types: dict[str, DeviceTypeInfo] = {}
        self._qapi_schema: dict[str, JSON] | None = None

    def __repr__(self) -> str:
        return f"<Recording {self.target} {self.recorded_as}>"

    def __copy__(self) -> Recording:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Recording:
        # Shared, read-only data (megabytes once loaded): a snapshot or a
        # reset of a machine reads the same recording.
        return self

    # -- files -----------------------------------------------------------------------

    def path(self, name: str) -> str:
        # A plain path (the package is installed as files): importlib.resources
        # would cost the start-up time it takes to import.
        return os.path.join(self.directory, f"{name}.json")

    def machine_help(self) -> str | None:
        """``-machine help`` as the binary printed it (misc.json), None when
        it was not recorded."""
        data = self.load("misc")
        text = data.get("machine-help") if isinstance(data, dict) else None
        return text if isinstance(text, str) else None

    def load(self, name: str) -> JSON:
        """One recorded file (``"queries"``, ``"types"``...), parsed once and kept."""
        data = self._files.get(name)
        if data is None:
            data = self._files[name] = self.read(name)
        return data

    def read(self, name: str) -> JSON:
        """One recorded file, parsed now and not kept (see :meth:`load`)."""
        with open(self.path(name), encoding="utf-8") as f:
            data = json.loads(f.read())
        # samples.json restores its instances' order itself (see
        # _sample_instance), index.json was written in QEMU's;
        # qapi-schema.json is generated from source, not recorded output;
        # devices.json needs none (the recorder checks), nor pci.json
        # (memdevd builds query-pci's dicts in QAPI order).
        if name not in ("key-order", "samples", "index", "qapi-schema", "devices", "pci"):
            self._restore_key_order(name, data)
        return data

    def _key_order_of(self, name: str) -> tuple[tuple[str, list[list[str]]], ...]:
        """``key-order.json``'s entries for one file (pointer, groups): a few
        dozen kept per file instead of the whole table for the process."""
        entries = self._key_orders.get(name)
        if entries is None:
            prefix = f"{name}.json#"
            entries = self._key_orders[name] = tuple(
                (reference[len(prefix) :], groups)
                for reference, groups in self.read("key-order").items()
                if reference.startswith(prefix)
            )
        return entries

    def _restore_key_order(self, name: str, data: JSON, partial: bool = False) -> None:
        """Give QEMU's dicts back the insertion order their output showed.

        The files hold sorted keys; QEMU prints a QDict in hash-table order
        and keys that share a bucket newest first.  ``key-order.json`` lists,
        for every recorded dict where that matters, each shared bucket's keys
        in QEMU's output order: inserting them in the reverse order makes
        memdevd's encoder print them as QEMU did (the other keys' order does
        not matter).  ``partial``: ``data`` holds only some of the file's objects.
        """
        for pointer, groups in self._key_order_of(name):
            try:
                node = _walk_pointer(data, pointer)
            except KeyError:
                if partial:
                    # samples.json holds only some of instances.json's objects.
                    continue
                raise
            grouped = {key for group in groups for key in group}
            order = [key for key in node if key not in grouped]
            order += [key for group in groups for key in reversed(group)]
            items = [(key, node[key]) for key in order]
            node.clear()
            node.update(items)

    def qapi_schema(self) -> dict[str, JSON]:
        """qapi-schema.json (tools/gen_qapi_schema.py), its ``types``,
        ``commands`` and ``events`` each parsed an entry at a time.

        The file has one entry per line; a machine visits a few dozen of
        its thousand types (-display, -numa, a command's arguments), and
        parsing them all kept ~1.5 MiB."""
        if self._qapi_schema is None:
            self._qapi_schema = _line_sections(self.path("qapi-schema"))
        return self._qapi_schema

    def resolve_reference(self, reference: str) -> JSON:
        """The value a ``same-as`` reference (``<file>#<JSON pointer>``) names."""
        name, _, pointer = reference.partition("#")
        return _walk_pointer(self.load(name.removesuffix(".json")), pointer)

    def pci_table(self) -> JSON:
        """``pci.json`` (tools/record_pci_data.py): ``board`` (family -> the
        bare board's query-pci entries), ``types`` (type -> family or "" ->
        the type's entry without placement), ``skipped``."""
        return self.load("pci")

    # -- queries -------------------------------------------------------------------

    def query_reply(self, command: str) -> JSON:
        """The ``return`` value QEMU gave for a recorded query."""
        return self.load("queries")[command]["reply"]["return"]

    @cached_property
    def command_order(self) -> dict[str, int]:
        """Position of each command in QEMU's query-commands answer."""
        names: list[str] = self._index_entry("commands")
        return {name: i for i, name in enumerate(names)}

    @cached_property
    def qmp_schema(self) -> list[dict[str, JSON]]:
        """``query-qmp-schema``'s answer (SchemaInfo entries, QEMU's order)."""
        entries: list[dict[str, JSON]] = self.load("qmp-schema")["query-qmp-schema"]["reply"][
            "return"
        ]
        return entries

    # -- QOM types and objects -------------------------------------------------------

    def type_replies(self, command: str) -> dict[str, JSON]:
        """``device-list-properties`` or ``qom-list-properties``: typename -> reply."""
        replies: dict[str, JSON] = self.load("types")[command]
        return replies

    def type_reply(self, command: str, typename: str) -> JSON | None:
        """The recorded ``device-list-properties``/``qom-list-properties``
        reply for ``typename``, None if neither it nor a sibling was asked.

        A concrete machine type not asked itself answers as a recorded
        concrete sibling (the same parent, a family's abstract type such as
        ``virt-machine``, not ``machine`` itself): the versioned types of one family
        (``virt-7.1-machine``, ``virt-7.2-machine``) differ in their
        MachineClass fields and compat properties only, never in QOM
        properties, so QEMU lists the same for each (seen live for every
        ``virt-X.Y``, ``pc-i440fx-X.Y`` and ``pc-q35-X.Y`` of 7.2, 10.0 and
        11.1).  libvirt's probe asks the one ``virt`` stands for.
        """
        replies = self.type_replies(command)
        reply = replies.get(typename)
        if reply is not None or command != "qom-list-properties":
            return reply
        table = self.type_table
        info = table.get(typename)
        if info is None or info.get("abstract") or not self.type_is_a(typename, "machine"):
            return None
        parent = info.get("parent")
        if parent == "machine":
            # boards straight under "machine" (none, sbsa-ref) are no family
            return None
        for name, recorded in replies.items():
            sibling = table.get(name)
            if (
                sibling is not None
                and not sibling.get("abstract")
                and sibling.get("parent") == parent
            ):
                return recorded
        return None

    def list_types_reply(self, implements: str | None, abstract: bool) -> JSON | None:
        """The recorded ``qom-list-types`` reply to these arguments, if asked."""
        types = self.load("types")["qom-list-types"]
        key = list_types_key(types, implements, abstract)
        return types[key]["reply"] if key is not None else None

    @cached_property
    def type_table(self) -> dict[str, TypeInfo]:
        """Every QOM type QEMU listed (abstract ones included), by name."""
        reply = self.list_types_reply(None, True)
        entries: list[TypeInfo] = reply["return"] if reply is not None else []
        return {e["name"]: e for e in entries}

    def type_is_a(self, name: str, ancestor: str) -> bool:
        """Whether the recorded type ``name`` is ``ancestor`` or descends from it."""
        table = self.type_table
        seen = set()
        while name and name not in seen:
            if name == ancestor:
                return True
            seen.add(name)
            name = table.get(name, {}).get("parent", "")
        return False

    @cached_property
    def device_types(self) -> frozenset[str]:
        """Every device type (a descendant of ``device``) the recorded QEMU has."""
        names: list[str] = self._index_entry("device-types")
        return frozenset(names)

    def type_parents(self, name: str) -> tuple[str, ...]:
        """The recorded type's QOM parent chain, nearest first, up to "object"."""
        table = self.type_table
        chain: list[str] = []
        parent = table.get(name, {}).get("parent")
        while parent and parent not in chain:
            chain.append(parent)
            parent = table.get(parent, {}).get("parent")
        return tuple(chain)

    # -- the device catalog (devices.json) -------------------------------------------
    # Read on the first question only: a machine starts without it.

    @cached_property
    def _devices(self) -> dict[str, JSON]:
        devices: dict[str, JSON] = self.load("devices")
        return devices

    @cached_property
    def _device_properties(self) -> tuple[DevicePropertyInfo, ...]:
        return tuple(
            DevicePropertyInfo(
                p["name"], p["type"], p.get("description"), p.get("default-value", NO_DEFAULT)
            )
            for p in self._devices["properties"]
        )

    @cached_property
    def _device_qom_properties(self) -> tuple[DevicePropertyInfo, ...]:
        """The table as ``qom-list-properties`` reports its entries: 7.2's
        reports no default value (devices.json ``qom-list-properties-defaults``)."""
        if self._devices["qom-list-properties-defaults"]:
            return self._device_properties
        return tuple(
            DevicePropertyInfo(p.name, p.type, p.description, NO_DEFAULT)
            for p in self._device_properties
        )

    def _instance_list(self, entry: JSON, key: str) -> tuple[DevicePropertyInfo, ...] | None:
        """devices.json's ``qom-list`` (``key``) of a type: positions in its
        ``qom-properties``, ``c<N>`` for ``qom-list-children`` entries."""
        text = entry.get(key)
        if text is None:
            return None
        qom = [self._device_qom_properties[i] for i in parse_index_ranges(entry["qom-properties"])]
        children = self._devices["qom-list-children"]
        out: list[DevicePropertyInfo] = []
        for token in text.split():
            if token.startswith("c"):
                name, ptype = children[int(token[1:])]
                out.append(DevicePropertyInfo(name, ptype, None, NO_DEFAULT))
            else:
                out.extend(qom[i] for i in parse_index_ranges(token))
        return tuple(out)

    def device_instance_id(self) -> str:
        """The id of the instances whose ``qom-list`` was recorded (``dev0``)."""
        value: str = self._devices["instance-id"]
        return value

    def device_type_names(self) -> tuple[str, ...]:
        """Every non-abstract device type the recorded QEMU has, sorted."""
        return tuple(self._devices["types"])

    def device_aliases(self) -> dict[str, str]:
        """QEMU's device aliases on this target: alias -> the type it names
        (which the build may lack: 10.0's ``virtio-gpu-rutabaga``)."""
        aliases: dict[str, str] = self._devices["aliases"]
        return aliases

    def resolve_device_name(self, name: str) -> str:
        """The type a ``-device``/``device_add`` driver name names: itself,
        or the type it is an alias of (qdev-monitor.c ``qdev_get_device_class``
        and ``qdev_device_help``: an alias only when no QOM type has the
        name; the recorder keeps no alias that is a type's name)."""
        if name in self._devices["types"]:
            return name
        return self.device_aliases().get(name, name)

    def device_type(self, name: str) -> DeviceTypeInfo | None:
        """The recorded device type ``name`` names (an alias resolved), or
        None when it names no non-abstract device type."""
        name = self.resolve_device_name(name)
        info = self._device_types.get(name)
        if info is None:
            entry = self._devices["types"].get(name)
            if entry is None:
                return None
            table = self._device_properties
            qom_table = self._device_qom_properties
            info = self._device_types[name] = DeviceTypeInfo(
                name,
                self.type_parents(name),
                entry["user-creatable"],
                entry.get("bus"),
                entry.get("alias"),
                entry.get("desc"),
                tuple(entry["categories"]),
                tuple(table[i] for i in parse_index_ranges(entry["properties"])),
                _device_abort(entry.get("aborts")),
                entry["hotpluggable"],
                tuple(qom_table[i] for i in parse_index_ranges(entry["qom-properties"])),
                _device_abort(entry.get("qom-aborts")),
                self._instance_list(entry, "qom-list"),
                self._instance_list(entry, "qom-list-hot")
                or self._instance_list(entry, "qom-list"),
            )
        return info

    def device_categories(self) -> tuple[str, ...]:
        """``info qdm``'s category headings, in QEMU's order."""
        return tuple(self._devices["categories"])

    def device_help_text(self) -> str:
        """``qemu-system-<target> -device help``'s output, as QEMU printed it."""
        text: str = self._devices["device-help"]["stdout"]
        return text

    # The recorded instances are megabytes of parsed JSON and mostly repeat
    # one type across scenarios: ``samples.json`` (derived from
    # ``instances.json`` by the recorder, and by tools/gen_schemas.py from a
    # committed one) keeps only the instance type_sample() picks for each
    # (type, family), so reading it costs a fraction of the memory.

    @cached_property
    def _samples_index(self) -> tuple[dict[str, str], dict[str, tuple[int, int]]]:
        """``samples.json``'s choice, and where each instance's line is (offset, length)."""
        choice: dict[str, str] = {}
        where: dict[str, tuple[int, int]] = {}
        decoder = json.JSONDecoder()
        offset = 0
        with open(self.path("samples"), "rb") as f:
            for raw in f:
                line = raw.decode("utf-8")
                if line.startswith(' "choice": '):
                    choice = json.loads(line[len(' "choice": ') :].rstrip().rstrip(","))
                elif line.startswith('  "'):
                    key, _ = decoder.raw_decode(line, 2)
                    where[key] = (offset, len(raw))
                offset += len(raw)
        return choice, where

    def _sample_instance(self, key: str) -> InstanceSample:
        instance = self._samples.get(key)
        if instance is None:
            _, where = self._samples_index
            offset, length = where[key]
            with open(self.path("samples"), "rb") as f:
                f.seek(offset)
                line = f.read(length).decode("utf-8").rstrip().rstrip(",")
            instances: dict[str, InstanceSample] = json.loads("{" + line + "}")
            self._restore_key_order("instances", instances, partial=True)
            instance = self._samples[key] = instances[key]
        return instance

    def warm_up(self) -> None:
        """Index the recorded instances now (idle time) rather than at a first use."""
        self._samples_index  # noqa: B018  (computing it is the point)

    def type_sample(self, qom_type: str, family: str = "") -> InstanceSample | None:
        """A recorded instance of ``qom_type`` to take unmodelled properties from.

        Prefers an instance recorded on the same machine family and one with
        an id (anonymous devices differ only in error texts memdevd generates).
        """
        if family not in TARGET_FAMILIES.get(self.target, _FAMILIES):
            # No scenario is named after another family: the same choice as "".
            family = ""
        cached = self._type_samples.get((qom_type, family), False)
        if cached is not False:
            return cached  # type: ignore[return-value]
        choice, _ = self._samples_index
        key = choice.get(f"{family}:{qom_type}")
        sample = self._sample_instance(key) if key is not None else None
        self._type_samples[(qom_type, family)] = sample
        return sample

    def class_sample(self, typename: str) -> InstanceSample | None:
        """A QOM sample built from the recorded ``qom-list-properties`` of the type.

        For a type no instance of which could be recorded (it needs SGX or a
        Hyper-V VMBus) but whose class property list was: it gives
        ``qom-list`` its order, and the two generic properties memdevd does
        not model behave as on every other bus-less device (``parent_bus``
        reads ``""``; ``legacy-memdev`` is neither readable nor writable).
        """
        cached = self._type_samples.get((typename, "class"), False)
        if cached is not False:
            return cached  # type: ignore[return-value]
        entry = self.type_replies("qom-list-properties").get(typename)
        sample: InstanceSample | None = None
        if isinstance(entry, dict) and "return" in entry:

            def refused(what: str, name: str) -> dict[str, JSON]:
                return {"error": {"class": "GenericError", "desc": what.format(typename, name)}}

            sample = {
                "path": "",
                "qom-list": [{"name": e["name"], "type": e["type"]} for e in entry["return"]],
                "qom-get": {
                    "parent_bus": "",
                    "legacy-memdev": refused(M.PROPERTY_NOT_READABLE, "legacy-memdev"),
                },
                "qom-set": {
                    "parent_bus": {"reply": refused(M.PROPERTY_NOT_WRITABLE, "parent_bus")},
                    "legacy-memdev": {"reply": refused(M.PROPERTY_NOT_WRITABLE, "legacy-memdev")},
                },
            }
        self._type_samples[(typename, "class")] = sample
        return sample

    def machine_sample(self, type_name: str, family: str) -> InstanceSample | None:
        """QEMU's ``/machine`` of this machine type; for a type that was not
        recorded (a derived release's, older versions), the recorded
        release's type of the family."""
        sample = self.type_sample(type_name)
        own = _FAMILY_TYPES.get(family)
        if sample is None and own is not None:
            sample = self.type_sample(own.format(self.recorded_as))
        return sample

    def samples_file(self) -> tuple[str, str]:
        """Where ``samples.json`` lives (relative to the repository) and its content."""
        with open(self.path("instances"), encoding="utf-8") as f:
            instances = json.load(f)
        rel = f"memdevd/targets/{self.target}/data/qemu-{self.recorded_as}/samples.json"
        families = TARGET_FAMILIES.get(self.target, _FAMILIES)
        return rel, dump_samples(choose_samples(instances, families))

    # -- the index (index.json) ------------------------------------------------------
    # What every machine asks of its recording at start-up or on its first
    # commands: the binary's command names (which commands the target has,
    # query-commands' order), its device-type names (a modelled type the
    # binary lacks is no such type) and a vCPU model's values.  Answered
    # from queries.json, types.json and cpus.json, these kept ~4 MiB of
    # parsed JSON for the process's life (freed arenas are not given back),
    # so a file derived from them (by the recorder, and tools/gen_schemas.py
    # from committed files) holds just that, one entry per line, each
    # parsed when first asked.

    def index_entries(self) -> dict[str, JSON]:
        """index.json's content, derived from the recorded files."""
        entries: dict[str, JSON] = {
            "commands": [c["name"] for c in self.query_reply("query-commands")],
            "device-types": sorted(
                name for name in self.type_table if self.type_is_a(name, "device")
            ),
        }
        if os.path.exists(self.path("cpus")):
            for (accel, model), record in self._recorded_vcpus().items():
                entries[f"vcpu {accel} {model}"] = record["qom-get"]
        return entries

    def index_file(self) -> tuple[str, str]:
        """Where ``index.json`` lives (relative to the repository) and its content."""
        rel = f"memdevd/targets/{self.target}/data/qemu-{self.recorded_as}/index.json"
        return rel, dump_index(self.index_entries())

    @cached_property
    def _index(self) -> Mapping[str, JSON] | None:
        """index.json's entries, each parsed when asked (:class:`_LineEntries`);
        None without the file (a recording being made: they are derived)."""
        try:
            with open(self.path("index"), "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return None
        return _LineEntries(data, len(b"{\n"), len(data))

    def _index_entry(self, key: str) -> Any:
        index = self._index
        return (self.index_entries() if index is None else index).get(key)

    # -- libvirt's probe and the vCPUs (probe.json, cpus.json) ---------------------------

    def _probe_index(self, accel: str) -> dict[str, dict[str, JSON]] | None:
        if accel not in self._probe_indexes:
            session = self.load("probe").get(accel)
            self._probe_indexes[accel] = (
                None
                if session is None
                else {question_key(e["command"], e["arguments"]): e for e in session["exchanges"]}
            )
        return self._probe_indexes[accel]

    def probe_reply(self, accel: str, command: str, arguments: JSON) -> JSON | None:
        """QEMU's reply (``{"return": ...}`` or ``{"error": ...}``) to a probe question.

        Answers recorded from ``-machine none,accel=<accel>`` (libvirt's
        probe); None when that question, or the whole session (KVM on a host
        without it), was not recorded.
        """
        index = self._probe_index(accel)
        entry = index.get(question_key(command, arguments)) if index is not None else None
        if entry is None:
            return None
        if "same-as" in entry:
            return self.resolve_reference(entry["same-as"])
        return entry["reply"]

    def probe_questions(self, accel: str) -> list[tuple[str, JSON]]:
        """The recorded probe questions of a session, in libvirt's order."""
        session = self.load("probe").get(accel)
        if session is None:
            return []
        return [(e["command"], e["arguments"]) for e in session["exchanges"]]

    def cpu_models(self, accel: str) -> list[str]:
        """The CPU models whose vCPU objects were recorded under ``accel``, sorted.

        From meta.json: a machine starts without reading the larger
        cpus.json, which its vCPUs' properties need only when asked for.
        """
        models: list[str] = self.load("meta").get("cpu-models", {}).get(accel, [])
        return models

    def cpu_scenarios(self) -> dict[str, JSON]:
        """cpus.json: the recorded vCPU scenarios by name."""
        scenarios: dict[str, JSON] = self.load("cpus")
        return scenarios

    def cpu_values(self, accel: str, model: str) -> dict[str, JSON] | None:
        """The recorded vCPU of ``model``'s property values (its ``qom-get``),
        None when no vCPU of the model was recorded under ``accel``.

        What realizing a vCPU needs, read from index.json: a machine starts
        without parsing cpus.json (see :meth:`cpu_sample`)."""
        key = (accel, model)
        if key not in self._cpu_values:
            self._cpu_values[key] = self._index_entry(f"vcpu {accel} {model}")
        return self._cpu_values[key]

    def cpu_sample(self, accel: str, model: str) -> InstanceSample | None:
        """A recorded vCPU of ``model``: qom-type, qom-list, qom-get and qom-set.

        qom-set was recorded once per release (for qemu64 under TCG); the same
        properties refuse the same way for every model, so the other models
        get those replies with their own type name in the texts.  Properties
        that sample does not have (max's ``migratable``) are qdev properties
        of the model, refused after realize like the other qdev properties.
        """
        if (accel, model) not in self._cpu_samples:
            self._cpu_samples[(accel, model)] = self._find_cpu_sample(accel, model)
        return self._cpu_samples[(accel, model)]

    def _find_cpu_sample(self, accel: str, model: str) -> InstanceSample | None:
        found = self._recorded_vcpus().get((accel, model))
        if found is None:
            return None
        record: InstanceSample = dict(found)  # type: ignore[assignment]
        record["qom-set"] = self._cpu_qom_set(record["qom-type"], record["qom-list"])
        return record

    def _recorded_vcpus(self) -> dict[tuple[str, str], InstanceSample]:
        """cpus.json's sample vCPU of each (accelerator, model), its order."""
        found: dict[tuple[str, str], InstanceSample] = {}
        for name, scenario in self.cpu_scenarios().items():
            if scenario["sample"] == name:
                record = next(iter(scenario["objects"].values()))
                found.setdefault((scenario["accel"], scenario["cpu-model"]), record)
        return found

    def _cpu_qom_set(self, qom_type: str, listing: list[PropertyInfo]) -> dict[str, JSON]:
        sets: dict[str, JSON] = {}
        source_type = ""
        for scenario in self.cpu_scenarios().values():
            for record in scenario["objects"].values():
                if "qom-set" in record:
                    sets, source_type = record["qom-set"], record["qom-type"]
        out: dict[str, JSON] = {}
        for entry in listing:
            name = entry["name"]
            attempt = sets.get(name)
            if attempt is None:
                desc = (
                    f"Attempt to set property '{name}' on anonymous device (type '{source_type}')"
                    " after it was realized"
                )
                attempt = {"reply": {"error": {"class": "GenericError", "desc": desc}}}
            out[name] = json.loads(json.dumps(attempt).replace(f"'{source_type}", f"'{qom_type}"))
        return out


# --- the recorder's file formats (tools/record_qemu_data.py writes them) ------------------


def choose_samples(
    instances: dict[str, Any], families: tuple[str, ...] = _FAMILIES
) -> dict[str, Any]:
    """``samples.json``'s content: the chosen instances under their
    ``instances.json`` keys, and ``"<family>:<qom-type>"`` -> key, for the
    target's machine ``families`` (:data:`TARGET_FAMILIES`)."""
    best: dict[tuple[str, str], tuple[int, str]] = {}
    # In key order, as the file lists them (the recorder holds them in
    # recording order).
    for key, inst in sorted(instances.items()):
        qom_type = inst.get("qom-type")
        if qom_type is None:
            continue
        for family in families:
            score = 0
            if family and key.startswith(family + "-"):
                score += 2
            if "peripheral-anon" not in key:
                score += 1
            # The first instance with the highest score.
            if (qom_type, family) not in best or score > best[(qom_type, family)][0]:
                best[(qom_type, family)] = (score, key)
    choice = {f"{family}:{qom_type}": key for (qom_type, family), (_, key) in best.items()}
    keys = set(choice.values())
    return {
        "choice": dict(sorted(choice.items())),
        "instances": {key: _what_memdevd_reads(instances[key]) for key in sorted(keys)},
    }


def _what_memdevd_reads(instance: dict[str, Any]) -> dict[str, Any]:
    """An instance without the recording's provenance and probes (they
    stay in instances.json): its path, type, qom-list, qom-get values and
    qom-set replies."""
    kept = ("path", "qom-type", "qom-list", "qom-get")
    out: dict[str, Any] = {k: instance[k] for k in kept if k in instance}
    if "qom-set" in instance:
        out["qom-set"] = {name: {"reply": e["reply"]} for name, e in instance["qom-set"].items()}
    return out


class _LineEntries(Mapping[str, JSON]):
    """A section of a JSON file whose every member is on a line of its own,
    from ``data[start:end]``: each member found and parsed when asked for
    (a find over the bytes; the keys are listed only when iterated)."""

    _KEY: Final = re.compile(rb'^"([^"\n]+)": ', re.M)

    def __init__(self, data: bytes, start: int, end: int) -> None:
        self._data = data
        self._start = start
        self._end = end
        self._parsed: dict[str, JSON] = {}
        self._keys: list[str] | None = None

    def _line(self, key: str) -> bytes | None:
        # (a key without escapes or newlines: what the generators write)
        at = self._data.find(b'\n"' + key.encode() + b'": ', self._start - 1, self._end)
        if at < 0 or '"' in key or "\\" in key:
            return None
        return self._data[at + 1 : self._data.index(b"\n", at + 1)].rstrip().rstrip(b",")

    def __getitem__(self, key: str) -> JSON:
        try:
            return self._parsed[key]
        except KeyError:
            pass
        line = self._line(key)
        if line is None:
            raise KeyError(key)
        value = self._parsed[key] = json.loads(b"{" + line + b"}")[key]
        return value

    def __contains__(self, key: object) -> bool:
        return key in self._parsed or (isinstance(key, str) and self._line(key) is not None)

    def _names(self) -> list[str]:
        if self._keys is None:
            found = self._KEY.finditer(self._data, self._start, self._end)
            self._keys = [m.group(1).decode("utf-8") for m in found]
        return self._keys

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())


def _line_sections(path: str) -> dict[str, JSON]:
    """A file of the form ``{"key": value, "section": {<one member per
    line>}, ...}`` (qapi-schema.json): each section a
    :class:`_LineEntries`, the rest parsed."""
    with open(path, "rb") as f:
        data = f.read()
    sections: dict[str, tuple[int, int]] = {}
    rest, at = [], 0
    while (header := data.find(b'": {\n', at)) >= 0:
        # (only a section's opening line ends so: a member is on one line)
        line = data.rfind(b"\n", 0, header) + 1
        start = header + len(b'": {\n')
        end = data.index(b"\n}", start - 1) + 1
        sections[data[line + 1 : header].decode("utf-8")] = (start, end)
        rest += [data[at : header + 4], b"}"]
        at = end + 1
    rest.append(data[at:])
    doc: dict[str, JSON] = json.loads(b"".join(rest))
    for name, (start, end) in sections.items():
        doc[name] = _LineEntries(data, start, end)
    return doc


def dump_index(entries: dict[str, JSON]) -> str:
    """``index.json``'s text: JSON whose every entry is one line at the
    start of a line (read by :class:`_LineEntries`), its values' keys in
    the order they were given (QEMU's, restored from key-order.json)."""
    lines = ["{"]
    items = list(entries.items())
    for i, (key, value) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        lines.append(f"{json.dumps(key)}: {text}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def dump_samples(doc: dict[str, Any]) -> str:
    """``samples.json``'s text: JSON whose every instance is one line.

    memdevd reads only the instances it is asked for (a process typically
    needs two or three of some thirty; parsing them all kept ~0.7 MiB), so
    each sits on a line of its own, ``  "<key>": {...}`` followed by a
    comma but for the last, between the ``choice`` line and the closing
    lines.  Still plain JSON to every other reader.
    """

    def compact(value: Any) -> str:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    lines = ["{", f' "choice": {compact(doc["choice"])},', ' "instances": {']
    items = sorted(doc["instances"].items())
    for i, (key, instance) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        lines.append(f"  {compact(key)}: {compact(instance)}{comma}")
    lines += [" }", "}"]
    return "\n".join(lines) + "\n"


def _device_abort(entry: JSON) -> DeviceAbort | None:
    """devices.json's ``aborts``/``qom-aborts`` entry of a type, if any."""
    return None if entry is None else DeviceAbort(entry["stderr"], entry["exit-status"])


def format_index_ranges(indices: list[int]) -> str:
    """``[0, 1, 2, 5]`` -> ``"0-2 5"``: devices.json's properties of a type,
    as indices into its table, runs of consecutive indices as ranges."""
    runs: list[str] = []
    i = 0
    while i < len(indices):
        j = i
        while j + 1 < len(indices) and indices[j + 1] == indices[j] + 1:
            j += 1
        runs.append(str(indices[i]) if i == j else f"{indices[i]}-{indices[j]}")
        i = j + 1
    return " ".join(runs)


def parse_index_ranges(text: str) -> list[int]:
    """devices.json's property indices: ``"0-2 5"`` -> ``[0, 1, 2, 5]``."""
    indices: list[int] = []
    for run in text.split():
        first, _, last = run.partition("-")
        indices.extend(range(int(first), int(last or first) + 1))
    return indices


def list_types_key(types: dict[str, Any], implements: str | None, abstract: bool) -> str | None:
    """The recorded qom-list-types variant asked with these arguments, if any."""
    for key, entry in types.items():
        arguments = entry.get("arguments", {})
        if (
            arguments.get("implements") == implements
            and bool(arguments.get("abstract")) == abstract
        ):
            return key
    return None


def question_key(command: str, arguments: Any) -> str:
    """A recorded question as a lookup key: command and canonical arguments."""
    return command + " " + json.dumps(arguments or {}, sort_keys=True)
