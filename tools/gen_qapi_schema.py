#!/usr/bin/env python3
"""Generate a release's QAPI schema table from QEMU's own source.

QEMU's introspection (``query-qmp-schema``, recorded in
``data/qemu-X.Y/qmp-schema.json``) masks type names and collapses every
integer type to ``int``; visiting arguments as QEMU does needs the schema
itself: ``uint32`` range checks, enum values, union branches, alternates,
in the order QEMU's generated visitors walk them.  This tool loads
``qapi/qapi-schema.json`` of a release's source tree with that tree's own
``scripts/qapi`` package (the parser QEMU's build uses), keeps what the
release's ``qemu-system-x86_64`` was built with, and writes
``memdevd/targets/x86_64/data/qemu-X.Y/qapi-schema.json``.

Conditions (``'if': 'CONFIG_SPICE'``, ``TARGET_I386``...) are decided from
the recorded introspection of the same binary: a symbol is defined when a
command, event or enum value guarded by it alone is there, undefined when
it is not; :data:`DEFINED_WITHOUT_WITNESS` covers the symbols nothing
recorded shows.  ``--check`` compares the table with the recording
(commands, events, their members and enum values) and fails on any
difference, so a wrong guess cannot go unnoticed.

A release whose source tree is not at hand (11.1) is derived instead
(``--derive-from``): the older release's table, changed where the newer
release's recorded introspection differs.  An entity the introspection
shows unchanged keeps the older table's exact types (``uint32``,
``size``: the widths introspection hides); a command, event, member,
union branch or enum value that is new or changed follows the
introspection, and an integer first seen there is ``int`` (int64), since
introspection names no width (docs/divergences.md).  Types no command or
event reaches (introspection does not list them) are kept as they were.
Type names the introspection masks are taken from the older table where
the structure matches, else made up (``q_obj_CMD-arg``, ``Owner-member``).
``--check`` compares the result with the recording as for a source tree.

Usage::

    python3 tools/gen_qapi_schema.py --source /work/src/q10 --release 10.0
    python3 tools/gen_qapi_schema.py --source /work/src/q72 --release 7.2
    python3 tools/gen_qapi_schema.py --derive-from 10.0 --release 11.1
    python3 tools/gen_qapi_schema.py --target aarch64 --source /work/src/q10 --release 10.0

``--target aarch64`` reads and writes ``memdevd/targets/aarch64/data/``
(the conditions decided from qemu-system-aarch64's introspection:
``TARGET_ARM`` defined, ``TARGET_I386`` not).

The output is deterministic (sorted keys, one entity per line).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ROOT / "memdevd" / "targets"
DATA = TARGETS / "x86_64" / "data"

#: Symbols that only guard things together with others (``{'all': [...]}``),
#: so no recorded command, event, member or enum value shows them alone;
#: decided from the binary (``qemu-system-x86_64``, Debian's build with KVM,
#: OpenGL and GBM: DisplayType's ``egl-headless`` is recorded).
DEFINED_WITHOUT_WITNESS: dict[str, bool] = {
    "CONFIG_KVM": True,
    "CONFIG_OPENGL": True,
    "CONFIG_GBM": True,
    "TARGET_LOONGARCH64": False,
    "TARGET_MIPS": False,
    "TARGET_PPC": False,
    "TARGET_RISCV": False,
}

#: The same for ``qemu-system-aarch64`` (``--target aarch64``): Debian's
#: amd64 build has no KVM for ARM (CONFIG_KVM is per target: the host's
#: architecture only); the x86 symbols are decided by their witnesses.
DEFINED_WITHOUT_WITNESS_BY_TARGET: dict[str, dict[str, bool]] = {
    "x86_64": DEFINED_WITHOUT_WITNESS,
    "aarch64": {**DEFINED_WITHOUT_WITNESS, "CONFIG_KVM": False},
}

BUILTIN_JSON = {
    "str": "string",
    "number": "number",
    "int": "int",
    "int8": "int",
    "int16": "int",
    "int32": "int",
    "int64": "int",
    "uint8": "int",
    "uint16": "int",
    "uint32": "int",
    "uint64": "int",
    "size": "int",
    "bool": "boolean",
    "null": "null",
    "any": "value",
    "QType": "string",
}


def load_schema(source: Path) -> Any:
    """The source tree's QAPISchema, parsed by its own scripts/qapi."""
    sys.path.insert(0, str(source / "scripts"))
    try:
        schema_mod = importlib.import_module("qapi.schema")
        return schema_mod.QAPISchema(str(source / "qapi" / "qapi-schema.json"))
    finally:
        sys.path.pop(0)


def _cond(ifcond: Any) -> Any:
    """The raw condition (str, {'all'|'any': [...]}, {'not': ...}) or None."""
    raw = getattr(ifcond, "ifcond", ifcond)
    return raw or None


def _symbols(cond: Any) -> set[str]:
    if cond is None:
        return set()
    if isinstance(cond, str):
        return {cond}
    out: set[str] = set()
    for value in cond.values():
        for c in value if isinstance(value, list) else [value]:
            out |= _symbols(c)
    return out


def evaluate(cond: Any, defined: dict[str, bool]) -> bool:
    if cond is None:
        return True
    if isinstance(cond, str):
        return defined[cond]
    if "all" in cond:
        return all(evaluate(c, defined) for c in cond["all"])
    if "any" in cond:
        return any(evaluate(c, defined) for c in cond["any"])
    return not evaluate(cond["not"], defined)


class Collector:
    """A QAPISchemaVisitor that keeps every entity with its condition."""

    def __init__(self) -> None:
        self.types: dict[str, dict[str, Any]] = {}
        self.commands: dict[str, dict[str, Any]] = {}
        self.events: dict[str, dict[str, Any]] = {}

    # the scripts/qapi visitor interface (7.2 and 10.0 alike)
    def visit_begin(self, schema: Any) -> None:
        pass

    def visit_end(self) -> None:
        pass

    def visit_module(self, name: str) -> None:
        pass

    def visit_needed(self, entity: Any) -> bool:
        return True

    def visit_include(self, name: str, info: Any) -> None:
        pass

    def visit_builtin_type(self, name: str, info: Any, json_type: str) -> None:
        self.types[name] = {"meta": "builtin", "json": json_type}

    def visit_enum_type(
        self, name: str, info: Any, ifcond: Any, features: Any, members: Any, prefix: Any
    ) -> None:
        self.types[name] = {
            "meta": "enum",
            "if": _cond(ifcond),
            "values": [(m.name, _cond(m.ifcond)) for m in members],
        }

    def visit_array_type(self, name: str, info: Any, ifcond: Any, element_type: Any) -> None:
        self.types[name] = {"meta": "array", "if": _cond(ifcond), "element": element_type.name}

    def visit_object_type(self, *args: Any) -> None:
        pass

    def visit_object_type_flat(
        self, name: str, info: Any, ifcond: Any, features: Any, members: Any, variants: Any
    ) -> None:
        entry: dict[str, Any] = {
            "meta": "object",
            "if": _cond(ifcond),
            "members": [(m.name, m.type.name, m.optional, _cond(m.ifcond)) for m in members],
        }
        if variants is not None:
            entry["tag"] = variants.tag_member.name
            entry["variants"] = [(v.name, v.type.name, _cond(v.ifcond)) for v in variants.variants]
        self.types[name] = entry

    def visit_alternate_type(
        self, name: str, info: Any, ifcond: Any, features: Any, variants: Any
    ) -> None:
        self.types[name] = {
            "meta": "alternate",
            "if": _cond(ifcond),
            "alternatives": [(v.type.name, _cond(v.ifcond)) for v in variants.variants],
        }

    def visit_command(
        self,
        name: str,
        info: Any,
        ifcond: Any,
        features: Any,
        arg_type: Any,
        ret_type: Any,
        gen: Any,
        success_response: Any,
        boxed: Any,
        allow_oob: Any,
        allow_preconfig: Any,
        coroutine: Any,
    ) -> None:
        self.commands[name] = {
            "if": _cond(ifcond),
            "arg": arg_type.name if arg_type else None,
            "boxed": bool(boxed),
            "ret": ret_type.name if ret_type else None,
        }

    def visit_event(
        self, name: str, info: Any, ifcond: Any, features: Any, arg_type: Any, boxed: Any
    ) -> None:
        self.events[name] = {"if": _cond(ifcond), "arg": arg_type.name if arg_type else None}


def recorded_introspection(release: str, data: Path = DATA) -> list[dict[str, Any]]:
    doc = json.loads((data / f"qemu-{release}" / "qmp-schema.json").read_text())
    return list(doc["query-qmp-schema"]["reply"]["return"])


def decide_symbols(
    col: Collector,
    recorded: list[dict[str, Any]],
    without_witness: dict[str, bool] = DEFINED_WITHOUT_WITNESS,
) -> dict[str, bool]:
    """Each condition symbol: defined where a witness guarded by it alone
    shows; else as ``without_witness`` (the target's) says."""
    commands = {e["name"] for e in recorded if e["meta-type"] == "command"}
    events = {e["name"] for e in recorded if e["meta-type"] == "event"}
    enum_values = [set(e["values"]) for e in recorded if e["meta-type"] == "enum"]
    object_members = [
        {m["name"] for m in e["members"]} for e in recorded if e["meta-type"] == "object"
    ]
    symbols: set[str] = set()
    witnesses: dict[str, list[bool]] = {}

    def witness(cond: Any, present: bool) -> None:
        syms = _symbols(cond)
        symbols.update(syms)
        if isinstance(cond, str):
            witnesses.setdefault(cond, []).append(present)
        elif cond is not None and set(cond) == {"not"} and isinstance(cond["not"], str):
            witnesses.setdefault(cond["not"], []).append(not present)

    for name, c in col.commands.items():
        witness(c["if"], name in commands)
    for name, e in col.events.items():
        witness(e["if"], name in events)
    for t in col.types.values():
        symbols |= _symbols(t.get("if"))
        for m in t.get("members", []):
            symbols |= _symbols(m[3])
        for v in t.get("variants", []):
            symbols |= _symbols(v[2])
        for a in t.get("alternatives", []):
            symbols |= _symbols(a[1])
        if t["meta"] == "object" and t["if"] is None:
            plain = {m[0] for m in t["members"] if m[3] is None}
            every_member = {m[0] for m in t["members"]}
            # Recorded objects with these members: a conditional member is
            # there exactly when its condition holds (if they all agree).
            found = [ms for ms in object_members if plain and plain <= ms <= every_member]
            for m in t["members"]:
                if m[3] is not None and found:
                    answers = {m[0] in ms for ms in found}
                    if len(answers) == 1:
                        witness(m[3], answers.pop())
        if t["meta"] != "enum" or t["if"] is not None:
            continue
        unconditional = {v for v, c in t["values"] if c is None}
        every = {v for v, _ in t["values"]}
        # The recorded enum with these unconditional values (and no other
        # than the conditional ones) is this one.
        matches = [vals for vals in enum_values if unconditional <= vals <= every]
        if len(matches) != 1:
            continue
        for value, c in t["values"]:
            if c is not None:
                witness(c, value in matches[0])
    decided: dict[str, bool] = {}
    unknown = []
    for sym in sorted(symbols):
        seen = set(witnesses.get(sym, []))
        if len(seen) == 1:
            decided[sym] = seen.pop()
        elif sym in without_witness:
            decided[sym] = without_witness[sym]
        else:
            unknown.append(f"{sym} ({'contradictory' if seen else 'no witness'})")
    if unknown:
        raise SystemExit(f"gen_qapi_schema: undecided: {', '.join(unknown)}")
    return decided


def resolve(col: Collector, defined: dict[str, bool]) -> dict[str, Any]:
    """The schema of the binary: conditions evaluated, absent things dropped."""

    def keep(cond: Any) -> bool:
        return evaluate(cond, defined)

    types: dict[str, Any] = {}
    for name, t in sorted(col.types.items()):
        if not keep(t.get("if")):
            continue
        meta = t["meta"]
        if meta == "builtin":
            types[name] = {"meta": "builtin", "json": t["json"]}
        elif meta == "enum":
            types[name] = {"meta": "enum", "values": [v for v, c in t["values"] if keep(c)]}
        elif meta == "array":
            types[name] = {"meta": "array", "element": t["element"]}
        elif meta == "alternate":
            types[name] = {
                "meta": "alternate",
                "alternatives": [a for a, c in t["alternatives"] if keep(c)],
            }
        else:
            entry: dict[str, Any] = {
                "meta": "object",
                "members": [[m, ty, opt] for m, ty, opt, c in t["members"] if keep(c)],
            }
            if "tag" in t:
                entry["tag"] = t["tag"]
                entry["variants"] = {case: ty for case, ty, c in t["variants"] if keep(c)}
            types[name] = entry
    commands = {
        name: {k: v for k, v in c.items() if k != "if"}
        for name, c in sorted(col.commands.items())
        if keep(c["if"])
    }
    events = {name: {"arg": e["arg"]} for name, e in sorted(col.events.items()) if keep(e["if"])}
    return {"types": types, "commands": commands, "events": events}


def derive(base: dict[str, Any], recorded: list[dict[str, Any]]) -> dict[str, Any]:
    """The table of the release whose introspection is ``recorded``, from
    the older release's table ``base`` (see the module docstring)."""
    by_name = {e["name"]: e for e in recorded}
    old_types: dict[str, Any] = base["types"]
    types: dict[str, Any] = {}
    bound: dict[str, str] = {}  # introspection name -> derived name
    taken: dict[str, str] = {}  # older name -> the introspection name it stands for

    def fresh(hint: str) -> str:
        name, n = hint, 2
        while name in old_types or name in types or name in taken:
            name, n = f"{hint}{n}", n + 1
        return name

    def is_empty(iid: str) -> bool:
        e = by_name[iid]
        return e["meta-type"] == "object" and not e["members"] and "tag" not in e

    def unify(old: str | None, iid: str, hint: str) -> str:
        e = by_name[iid]
        meta = e["meta-type"]
        if meta == "builtin":
            o = old_types.get(old) if old else None
            if o is not None and o["meta"] == "builtin" and o["json"] == e["json-type"]:
                return str(old)  # the width introspection hides
            types.setdefault(iid, {"meta": "builtin", "json": e["json-type"]})
            return iid
        if meta == "array":
            # Structural, and one introspection name ("[int]") for every
            # integer width: named after the element as QEMU names arrays.
            o = old_types.get(old) if old else None
            o_elem = o["element"] if o is not None and o["meta"] == "array" else None
            elem = unify(o_elem, e["element-type"], f"{hint}-element")
            if o_elem is not None and o_elem == elem:
                return str(old)
            name = f"{elem}List"
            known = types.get(name) or old_types.get(name)
            if known is not None and known != {"meta": "array", "element": elem}:
                name = fresh(name)
            types[name] = {"meta": "array", "element": elem}
            return name
        if iid in bound:
            return bound[iid]
        o = old_types.get(old) if old else None
        if o is not None and o["meta"] != meta:
            o = None
        if o is not None and taken.get(str(old), iid) == iid:
            name = str(old)
        else:
            o = None if o is not None and old in taken else o
            name = fresh(hint if o is None else f"{old}-{iid}")
        bound[iid] = name
        taken[name] = iid
        entry: dict[str, Any]
        if meta == "enum":
            entry = {"meta": "enum", "values": list(e["values"])}
        elif meta == "alternate":
            olds = o["alternatives"] if o else []
            alts = [
                unify(olds[i] if i < len(olds) else None, m["type"], f"{name}-{i}")
                for i, m in enumerate(e["members"])
            ]
            entry = {"meta": "alternate", "alternatives": alts}
        else:
            old_members = {m: ty for m, ty, _ in o["members"]} if o else {}
            entry = {
                "meta": "object",
                "members": [
                    [
                        m["name"],
                        unify(old_members.get(m["name"]), m["type"], f"{name}-{m['name']}"),
                        "default" in m,
                    ]
                    for m in e["members"]
                ],
            }
            if "tag" in e:
                old_variants = o.get("variants", {}) if o else {}
                entry["tag"] = e["tag"]
                entry["variants"] = {
                    v["case"]: unify(old_variants.get(v["case"]), v["type"], f"{name}-{v['case']}")
                    for v in e["variants"]
                }
        types[name] = entry
        return name

    def optional_type(old: str | None, iid: str, hint: str) -> str | None:
        if old is None and is_empty(iid):
            return None
        return unify(old, iid, hint)

    commands: dict[str, Any] = {}
    events: dict[str, Any] = {}
    for e in recorded:
        if e["meta-type"] == "command":
            old = base["commands"].get(e["name"], {})
            arg = optional_type(old.get("arg"), e["arg-type"], f"q_obj_{e['name']}-arg")
            ret = optional_type(old.get("ret"), e["ret-type"], f"q_ret_{e['name']}")
            boxed = old["boxed"] if old else arg is not None and "tag" in types[arg]
            commands[e["name"]] = {"arg": arg, "boxed": boxed, "ret": ret}
        elif e["meta-type"] == "event":
            old = base["events"].get(e["name"], {})
            arg = optional_type(old.get("arg"), e["arg-type"], f"q_obj_{e['name']}-arg")
            events[e["name"]] = {"arg": arg}
    for name, t in old_types.items():
        types.setdefault(name, t)  # reached by no command or event: as it was
    return {
        "types": dict(sorted(types.items())),
        "commands": dict(sorted(commands.items())),
        "events": dict(sorted(events.items())),
    }


def dump(doc: dict[str, Any], release: str, source: str, defined: dict[str, bool]) -> str:
    lines = ["{"]
    lines.append(f'"release": {json.dumps(release)},')
    lines.append(f'"source": {json.dumps(source)},')
    lines.append(f'"defined": {json.dumps(defined, sort_keys=True)},')
    for section in ("types", "commands", "events"):
        entries = doc[section]
        lines.append(f'"{section}": {{')
        body = [
            f"{json.dumps(name)}: {json.dumps(value, separators=(',', ':'))}"
            for name, value in entries.items()
        ]
        lines.append(",\n".join(body))
        lines.append("}," if section != "events" else "}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def check(doc: dict[str, Any], recorded: list[dict[str, Any]]) -> list[str]:
    """Differences between the table and the recorded introspection."""
    by_name = {e["name"]: e for e in recorded}
    problems: list[str] = []
    rec_cmds = {e["name"] for e in recorded if e["meta-type"] == "command"}
    rec_events = {e["name"] for e in recorded if e["meta-type"] == "event"}
    if set(doc["commands"]) != rec_cmds:
        problems.append(f"commands differ: {sorted(set(doc['commands']) ^ rec_cmds)}")
    if set(doc["events"]) != rec_events:
        problems.append(f"events differ: {sorted(set(doc['events']) ^ rec_events)}")
    types = doc["types"]

    def flat_members(name: str | None) -> list[tuple[str, bool]]:
        if name is None:
            return []
        return [(m, opt) for m, _, opt in types[name]["members"]]

    for name in sorted(set(doc["commands"]) & rec_cmds):
        ours = doc["commands"][name]
        arg = by_name.get(by_name[name]["arg-type"])
        theirs = [(m["name"], "default" in m) for m in arg.get("members", [])] if arg else []
        if flat_members(ours["arg"]) != theirs:
            problems.append(f"{name}: arguments differ")
    # Introspection lists the types commands and events reach: each enum
    # reached must be recorded with the same values.
    reached: set[str] = set()
    todo = [c[k] for c in doc["commands"].values() for k in ("arg", "ret") if c[k]]
    todo += [e["arg"] for e in doc["events"].values() if e["arg"]]
    while todo:
        name = todo.pop()
        if name in reached:
            continue
        reached.add(name)
        t = types[name]
        todo += [ty for _, ty, _ in t.get("members", [])]
        todo += list(t.get("variants", {}).values())
        todo += t.get("alternatives", [])
        todo += [t["element"]] if "element" in t else []
    recorded_enums = [e["values"] for e in recorded if e["meta-type"] == "enum"]
    for name in sorted(reached):
        t = types[name]
        if t["meta"] == "enum" and t["values"] not in recorded_enums and name != "QType":
            problems.append(f"enum {name}: values {t['values']} not recorded")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    how = ap.add_mutually_exclusive_group(required=True)
    how.add_argument("--source", type=Path, help="the release's source tree")
    how.add_argument(
        "--derive-from",
        metavar="RELEASE",
        help="derive from this older release's table and the recorded introspection",
    )
    ap.add_argument("--release", required=True, help="7.2, 10.0...")
    ap.add_argument(
        "--target",
        choices=sorted(DEFINED_WITHOUT_WITNESS_BY_TARGET),
        default="x86_64",
        help="whose binary: memdevd/targets/TARGET/data/qemu-RELEASE/",
    )
    ap.add_argument("--check", action="store_true", help="compare only; exit 1 on differences")
    args = ap.parse_args(argv)
    data = TARGETS / args.target / "data"
    recorded = recorded_introspection(args.release, data)
    if args.source is not None:
        col = Collector()
        load_schema(args.source).visit(col)
        defined = decide_symbols(col, recorded, DEFINED_WITHOUT_WITNESS_BY_TARGET[args.target])
        doc = resolve(col, defined)
        source = args.source.name
    else:
        base_path = data / f"qemu-{args.derive_from}" / "qapi-schema.json"
        base = json.loads(base_path.read_text())
        defined = base["defined"]
        doc = derive(base, recorded)
        source = f"derived from {args.derive_from}"
    problems = check(doc, recorded)
    for p in problems:
        print(f"gen_qapi_schema: {p}", file=sys.stderr)
    if problems:
        return 1
    text = dump(doc, args.release, source, defined)
    out = data / f"qemu-{args.release}" / "qapi-schema.json"
    if args.check:
        if not out.exists() or out.read_text() != text:
            print(f"gen_qapi_schema: {out} is stale", file=sys.stderr)
            return 1
        return 0
    out.write_text(text)
    print(f"wrote {out.relative_to(ROOT)} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
