"""The QAPI schema as a release's source declares it, and QEMU's generated visitors.

``tools/gen_qapi_schema.py`` writes each release's schema
(``targets/<target>/data/qemu-X.Y/qapi-schema.json``) from its
``qapi/*.json`` with the conditions of its binary resolved: real type
names, sized integers, enum values, flat unions, alternates, arrays.
:func:`visit` walks a value with :class:`~memdevd.qapi.visitor.InputVisitor`
the way the C code ``scripts/qapi/visit.py`` generates walks it (members in
declared order, optional ones only when present, the branch the tag selects,
then the unvisited-member check), so every argument error carries the text
QEMU's visitor gives, in the order it finds them.  A value visited without
error comes back as plain data (dicts in member order).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from memdevd import messages as M
from memdevd.qapi.visitor import InputVisitor, VisitError

if TYPE_CHECKING:
    from memdevd.releases.recorded import Recording

__all__ = ["SourceSchema", "schema_of", "shape", "visit", "visit_members"]

#: builtin type -> how the visitor reads it
_INTS: Final = frozenset(
    {"int", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "size"}
)

#: an alternative's QType as qobject_type() gives it for a JSON value
_QTYPE_OF_JSON: Final = {
    "object": "QTYPE_QDICT",
    "array": "QTYPE_QLIST",
    "string": "QTYPE_QSTRING",
    "int": "QTYPE_QNUM",
    "number": "QTYPE_QNUM",
    "boolean": "QTYPE_QBOOL",
    "null": "QTYPE_QNULL",
}


class SourceSchema:
    """One binary's schema: ``types``, ``commands``, ``events`` by name."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        self.types: Mapping[str, Mapping[str, Any]] = doc["types"]
        self.commands: Mapping[str, Mapping[str, Any]] = doc["commands"]
        self.events: Mapping[str, Mapping[str, Any]] = doc["events"]

    def type(self, name: str) -> Mapping[str, Any]:
        return self.types[name]

    def members(self, name: str) -> list[tuple[str, str, bool]]:
        """An object type's (name, type, optional) members, base first."""
        return [(m, t, opt) for m, t, opt in self.types[name]["members"]]

    def enum_values(self, name: str) -> list[str]:
        return list(self.types[name]["values"])

    def json_type(self, name: str) -> str:
        """The JSON type of a value of ``name`` (introspection's json-type)."""
        t = self.types[name]
        meta = t["meta"]
        if meta == "builtin":
            json: str = t["json"]
            return json
        if meta == "enum":
            return "string"
        if meta == "array":
            return "array"
        if meta == "object":
            return "object"
        return "value"


def visit(schema: SourceSchema, v: InputVisitor, name: str | None, type_name: str) -> Any:
    """``visit_type_<type_name>(v, name, ...)``."""
    t = schema.types[type_name]
    meta = t["meta"]
    if meta == "builtin":
        return _visit_builtin(v, name, type_name)
    if meta == "enum":
        return v.type_enum(name, t["values"])
    if meta == "array":
        v.start_list(name)
        out = []
        while v.has_next():
            out.append(visit(schema, v, None, t["element"]))
        v.end_list()
        return out
    if meta == "object":
        v.start_struct(name)
        value = visit_members(schema, v, type_name)
        v.check_struct()
        v.end_struct()
        return value
    return _visit_alternate(schema, v, name, type_name, t)


def visit_members(schema: SourceSchema, v: InputVisitor, type_name: str) -> dict[str, Any]:
    """``visit_type_<type_name>_members``: the struct being visited is open."""
    t = schema.types[type_name]
    out: dict[str, Any] = {}
    for member, member_type, optional in t["members"]:
        if optional and not v.optional(member):
            continue
        out[member] = visit(schema, v, member, member_type)
    tag = t.get("tag")
    if tag is not None:
        branch = t["variants"].get(out[tag])
        if branch is not None:
            out.update(visit_members(schema, v, branch))
    return out


def _visit_builtin(v: InputVisitor, name: str | None, type_name: str) -> Any:
    if type_name == "str":
        return v.type_str(name)
    if type_name in _INTS:
        return v.type_int(name, type_name)
    if type_name == "bool":
        return v.type_bool(name)
    if type_name == "number":
        return v.type_number(name)
    if type_name == "null":
        return v.type_null(name)
    if type_name == "QType":
        return v.type_str(name)
    return v.type_any(name)


def _visit_alternate(
    schema: SourceSchema, v: InputVisitor, name: str | None, type_name: str, t: Mapping[str, Any]
) -> Any:
    """``visit_type_<Alternate>``: the branch for the value's QType.

    The keyval visitor sees strings only: a scalar goes to the alternative
    that is not an object or array (QEMU's generator allows one); a
    dict or list to the object or array alternative.
    """
    qtype = v.peek_qtype(name)
    for alternative in t["alternatives"]:
        json = schema.json_type(alternative)
        if v.keyval and qtype == "QTYPE_QSTRING":
            matches = json not in ("object", "array")
        else:
            matches = _QTYPE_OF_JSON.get(json) == qtype
        if matches:
            return visit(schema, v, name, alternative)
    raise VisitError(
        M.INVALID_PARAMETER_TYPE.format(name if name is not None else "null", type_name)
    )


def shape(schema: SourceSchema, type_name: str, value: Any) -> Any:
    """``value`` as the release's output visitor writes a ``type_name``.

    The core builds replies with every member any emulated release has,
    in declared order; this keeps the members the release's type declares,
    in its order (union branches included), and drops the others, so a
    member added or moved in a release needs no code.
    """
    t = schema.types[type_name]
    meta = t["meta"]
    if meta == "object" and isinstance(value, dict):
        out: dict[str, Any] = {}
        _shape_members(schema, type_name, value, out)
        return out
    if meta == "array" and isinstance(value, list):
        return [shape(schema, t["element"], item) for item in value]
    if meta == "alternate":
        for alternative in t["alternatives"]:
            json = schema.json_type(alternative)
            if (json == "object") == isinstance(value, dict):
                return shape(schema, alternative, value)
    return value


def _known(schema: SourceSchema, type_name: str, value: Any) -> bool:
    """Whether the release has ``value`` at all: a union whose tag value
    (e.g. a format-specific kind) the release's enum lacks is left out."""
    t = schema.types[type_name]
    tag = t.get("tag")
    if tag is None or not isinstance(value, dict):
        return True
    tag_type = next(ty for m, ty, _ in t["members"] if m == tag)
    return value.get(tag) in schema.types[tag_type].get("values", ())


def _shape_members(
    schema: SourceSchema, type_name: str, value: dict[str, Any], out: dict[str, Any]
) -> None:
    t = schema.types[type_name]
    for member, member_type, _ in t["members"]:
        if member in value and _known(schema, member_type, value[member]):
            out[member] = shape(schema, member_type, value[member])
    tag = t.get("tag")
    if tag is not None:
        branch = t["variants"].get(value.get(tag))
        if branch is not None:
            _shape_members(schema, branch, value, out)


def schema_of(rec: Recording) -> SourceSchema:
    """The schema of the binary ``rec`` was recorded from (parsed once)."""
    schema = _SCHEMAS.get(id(rec))
    if schema is None:
        schema = _SCHEMAS[id(rec)] = SourceSchema(rec.qapi_schema())
    return schema


# Recordings live as long as the process (one per target and release).
_SCHEMAS: dict[int, SourceSchema] = {}
