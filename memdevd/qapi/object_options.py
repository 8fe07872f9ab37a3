"""``visit_type_ObjectOptions`` without pydantic: ``-object`` and ``object-add``.

The QAPI models of the object types memdevd emulates
(:func:`backend_models`, pydantic models in :mod:`memdevd.qapi.qom`) are the
source of truth; their member lists are also written out as plain data in
:mod:`memdevd.qapi.object_members` (``tools/gen_schemas.py``; a test fails
when it is stale).  Visiting from that table keeps pydantic, ~90 ms of
imports, off the start-up path of a command line with ``-object`` (every
libvirt domain has two), while ``object-add`` takes the same path.

A member's type is a spec: a QAPI builtin name (``"str"``, ``"bool"``,
``"size"``, ``"uint16"``, ``"int"``, ``"any"``...), ``("enum", (values...))``
or ``("list", spec)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from memdevd import messages as M
from memdevd.qapi.object_members import MEMBERS, OBJECT_TYPES
from memdevd.qapi.qdict import qdict_key_order
from memdevd.qapi.visitor import UINT64_MAX, InputVisitor, VisitError
from memdevd.records import record

if TYPE_CHECKING:
    from memdevd.qapi.source_schema import SourceSchema
    from memdevd.releases.table import Release

Spec = Any


class ObjectOptionsError(Exception):
    """An invalid ``-object``/``object-add``: QEMU's text (class GenericError)."""

    def __init__(self, desc: str) -> None:
        super().__init__(desc)
        self.desc = desc


def visit_spec(v: InputVisitor, name: str | None, spec: Spec) -> Any:
    """``visit_type_<T>`` for a member spec."""
    if isinstance(spec, tuple):
        kind, arg = spec
        if kind == "enum":
            return v.type_enum(name, list(arg))
        assert kind == "list", spec
        v.start_list(name)
        out = []
        while v.has_next():
            out.append(visit_spec(v, None, arg))
        v.end_list()
        return out
    if spec == "str":
        return v.type_str(name)
    if spec == "bool":
        return v.type_bool(name)
    if spec == "int":
        return v.type_int64(name)
    if spec == "number":
        return v.type_number(name)
    if spec == "any":
        return v.type_any(name)
    return v.type_int(name, spec)


def members(recorded_as: str, qom_type: str) -> tuple[tuple[str, Spec, bool], ...] | None:
    """(wire name, spec, optional) of each member, or None if not emulated."""
    return MEMBERS[recorded_as].get(qom_type)


def visit_object_options(
    args: dict[str, Any],
    release: Release,
    *,
    opts: bool = False,
    keyval: bool = False,
    schema: Callable[[], SourceSchema] | None = None,
) -> tuple[dict[str, Any], str, str]:
    """Validate ``object-add``/``-object`` arguments as ``visit_type_ObjectOptions``.

    Returns the properties to set (wire names, in the order QEMU's output
    visitor would produce them), the type and the id.  ``opts``: the
    QemuOpts form of ``-object`` (string values, the opts visitor's texts);
    ``keyval``: string values visited by the keyval visitor (a -readconfig
    [object] group).
    The types memdevd models (memory backends, secrets) are visited from
    tables generated for speed; every other type from the release's schema
    (``schema`` gives it, asked only then: its ``ObjectOptions`` branch).
    """
    recorded_as = release.recorded_as
    if not opts and not keyval:
        fast = _well_formed(args, recorded_as)
        if fast is not None:
            return fast
    v = InputVisitor(args, key_order=qdict_key_order, opts=opts, keyval=keyval)
    try:
        v.start_struct(None)
        qom_type = v.type_enum("qom-type", OBJECT_TYPES[recorded_as])
        obj_id = v.type_str("id")
        table = members(recorded_as, qom_type)
        if table is None:
            if schema is None:
                raise ObjectOptionsError(M.OBJECT_TYPE_NOT_EMULATED.format(qom_type))
            from memdevd.qapi.source_schema import visit_members

            release_schema = schema()
            branch = release_schema.types["ObjectOptions"]["variants"].get(qom_type)
            visited = visit_members(release_schema, v, branch) if branch else {}
            v.check_struct()
            v.end_struct()
            return _in_qdict_order(visited), qom_type, obj_id
        values: dict[str, Any] = {}
        for name, spec, optional in table:
            # v.optional(name), read off the struct being visited (``args``):
            # a backend has a dozen members, most of them absent.
            if optional and name not in args:
                continue
            values[name] = visit_spec(v, name, spec)
        v.check_struct()
        v.end_struct()
    except VisitError as exc:
        raise ObjectOptionsError(exc.desc) from None
    return _in_qdict_order(values), qom_type, obj_id


def _in_qdict_order(values: dict[str, Any]) -> dict[str, Any]:
    # user_creatable_add_qapi(): the output visitor builds a QDict (qom-type,
    # id, then members in schema order), drops qom-type and id, and sets the
    # properties in QDict iteration order.
    return {k: values[k] for k in qdict_key_order(("qom-type", "id", *values)) if k in values}


# --- well-formed JSON arguments without the visitor ----------------------------------
#
# Nearly every object-add is well formed: known members of simple types.
# Visiting those only checks what _well_formed checks below and yields the
# members in schema order, so it skips the visitor (~700 bytecodes of the
# ~5,500 of a backend + DIMM hot-plug) and leaves anything else, errors
# included, to it.  tests/unit/test_fast_paths.py compares both.

# Per object type: the members' schema positions, the required names (with
# qom-type and id), how each value is checked (a type whose exact instances
# pass, "size" for an int in uint64 range, or an enum's values; None where
# only the visitor can tell), and the property order per argument order.
_Check = type | str | tuple[str, ...] | None


@record
class _Simple:
    positions: dict[str, int]
    required: frozenset[str]
    checks: dict[str, _Check]
    orders: dict[tuple[str, ...], tuple[str, ...]]


_SIMPLE: dict[str, dict[str, _Simple]] = {}


def _simple_check(spec: Spec) -> _Check:
    if spec == "str":
        return str
    if spec == "bool":
        return bool
    if spec == "size":
        return "size"
    if isinstance(spec, tuple) and spec[0] == "enum":
        return tuple(spec[1])
    return None


def _simple_tables(recorded_as: str) -> dict[str, _Simple]:
    tables = _SIMPLE.get(recorded_as)
    if tables is None:
        tables = _SIMPLE[recorded_as] = {
            qom_type: _Simple(
                {name: i for i, (name, _, _) in enumerate(table)},
                frozenset(("qom-type", "id", *(n for n, _, optional in table if not optional))),
                {"qom-type": str, "id": str, **{n: _simple_check(spec) for n, spec, _ in table}},
                {},
            )
            for qom_type, table in MEMBERS[recorded_as].items()
            if qom_type in OBJECT_TYPES[recorded_as]
        }
    return tables


def _well_formed(args: dict[str, Any], recorded_as: str) -> tuple[dict[str, Any], str, str] | None:
    """The visit's result where it cannot fail, else None (visit instead)."""
    qom_type = args.get("qom-type")
    if type(qom_type) is not str:
        return None
    simple = _simple_tables(recorded_as).get(qom_type)
    if simple is None or not args.keys() >= simple.required:
        return None
    checks = simple.checks
    for name, value in args.items():
        check = checks.get(name)
        if type(check) is type:
            if type(value) is not check:
                return None
        elif check == "size":
            if type(value) is not int or not 0 <= value <= UINT64_MAX:
                return None
        elif type(check) is not tuple or type(value) is not str or value not in check:
            return None
    given = tuple(args)
    order = simple.orders.get(given)
    if order is None:
        positions = simple.positions
        members = sorted((k for k in given if k in positions), key=positions.__getitem__)
        if len(simple.orders) >= 256:
            simple.orders.clear()
        order = simple.orders[given] = tuple(_in_qdict_order(dict.fromkeys(members)))
    return {k: args[k] for k in order}, qom_type, args["id"]


# --- the table's source: the QAPI models -------------------------------------------


def generated_table() -> dict[str, dict[str, tuple[tuple[str, Spec, bool], ...]]]:
    """MEMBERS as computed from the models now."""
    from memdevd.qapi.qom import backend_models
    from memdevd.qapi.schema import member_spec, members_of
    from memdevd.releases.table import RECORDINGS

    out: dict[str, dict[str, tuple[tuple[str, Spec, bool], ...]]] = {}
    for recorded_as in RECORDINGS:
        out[recorded_as] = {
            qom_type: tuple((m.name, member_spec(m.qtype), m.optional) for m in members_of(model))
            for qom_type, model in backend_models(recorded_as).items()
        }
    return out


def generated_module() -> str:
    """The text of memdevd/qapi/object_members.py."""
    import pprint

    from memdevd.qapi.introspect import object_type_values
    from memdevd.releases.recorded import recording
    from memdevd.releases.table import RECORDINGS, get_release

    table = pprint.pformat(generated_table(), width=96, sort_dicts=False)
    # The object types of qemu-system-x86_64's schema, the one target memdevd has.
    types = pprint.pformat(
        {v: tuple(object_type_values(recording("x86_64", get_release(v)))) for v in RECORDINGS},
        width=96,
        sort_dicts=False,
    )
    return (
        '"""GENERATED by tools/gen_schemas.py from the QAPI models of\n'
        "memdevd.qapi.qom.backend_models() and the recorded schemas:\n"
        "do not edit.\n\n"
        "Per emulated release (8.2 uses 10.0's), per object type: (wire name,\n"
        "spec, optional) of each member in QAPI order; see\n"
        ':mod:`memdevd.qapi.object_options`.\n"""\n\n'
        "from __future__ import annotations\n\n"
        "from typing import Any\n\n"
        f"MEMBERS: dict[str, dict[str, tuple[tuple[str, Any, bool], ...]]] = {table}\n\n"
        "# Every value of QEMU's ObjectType enum (the recorded schema's).\n"
        f"OBJECT_TYPES: dict[str, tuple[str, ...]] = {types}\n"
    )
