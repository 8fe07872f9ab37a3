"""Record the CPU models of a QEMU binary, as TCG shows them.

Writes ``cpu-models.json`` of a release's data directory.  For
``--target x86_64`` (the default):

* ``help``: what ``-cpu help`` prints on stdout, verbatim;
* ``flags``: the "Recognized CPUID flags" of that text, in its order;
* ``tcg-unsupported``: the flags TCG does not support, each with the text
  QEMU's warning gives it (``CPUID.01H:ECX.pcid [bit 17]``), in the order
  QEMU warns (feature word, then bit): recorded by starting QEMU with every
  flag on, and for each flag of a conflict (below) a start with every flag
  but the others of its conflict on (with all on, the conflict turns it off
  before TCG's filter could warn about it: 11.1's ``apxf``);
* ``conflicts`` (only where there are any): the groups of flags that go
  off together when all are on, each [flag, what it conflicts with,
  description] in the order QEMU warns
  (11.1's ``this feature conflicts with APX: ...mpx``, ``... with MPX:
  ...apxf``): the conflict warnings of the start with every flag on, paired
  by a start of ``base`` with two of them;
* ``definitions``: ``query-cpu-definitions`` under TCG on the ``pc``
  machine (alias-of, unavailable-features, deprecated...);
* ``aliases``: the flags' other property names (``lahf_lm``: ``lahf-lm``);
* ``properties``: the x86 CPU's properties (``qom-list-properties`` of
  ``qemu64-x86_64-cpu``): name -> type;
* ``static-order``, ``full-order``: the properties of qemu64's static and
  full expansions in the order QEMU prints them; ``full-orders``: the
  order of the models with other properties (max, host); ``board-props``:
  the topology and link properties a full expansion shows (qemu64's);
* ``flag-bits``: each flag's entry in the ``feature-words`` list and its
  bit there (recorded from hot-plugged vCPUs with the one flag on);
* ``models``: per model name, ``query-cpu-model-expansion`` type ``full``
  under TCG, as ``features`` (the flags that are on) and ``props`` (the
  other properties whose value differs from ``base-props``, the qemu64's);
  ``hidden``: the flags of the model's definition that a dependency turned
  off (``feature_dependencies``: coreduo's vmx-* without vmx), seen by
  turning on the flags no dependency turns off; ``def-levels``: min-level,
  min-xlevel, min-xlevel2 and level-func7 with ``full-cpuid-auto-level``
  off (the definition's, where the release has the property and they differ);
* ``dependencies``: per flag, the flags turning it off turns off
  (``feature_dependencies`` in target/i386/cpu.c, transitively), seen on
  the ``base`` model with every flag on (for a flag of a conflict, every
  flag but the others of its conflict);
* ``dependency-texts``: [flag, the text of the warning when it was asked
  for without what it depends on] in the order QEMU warns;
* ``level-raises``: per flag, [min-level, min-xlevel, min-xlevel2,
  level-func7] of ``base`` with the flag and what it depends on (and, for
  what it depends on that is in a conflict, the others of that conflict)
  (``x86_cpu_expand_features``' automatic levels), where not all zero.

For ``--target aarch64`` (the ARM CPU has no flag list; its options are
properties of each model's type):

* ``help``: ``-cpu help`` verbatim;
* ``definitions``: ``query-cpu-definitions`` under TCG on ``virt``;
* ``properties``: per model, ``qom-list-properties`` of its type
  (``<model>-arm-cpu``): name -> type;
* ``models``: per model, the reply to ``query-cpu-model-expansion`` type
  ``full`` (an error for the models it refuses);
* ``virt``: per model, what ``-machine virt -cpu MODEL -m 1G,slots=1,maxmem=4096T``
  printed on stderr and its exit status: ``virt_set_memmap()``'s "Addressing
  limited to N bits" names the model's physical address size
  (``arm_pamax()``), parsed into ``pa-bits``; a model virt does not take
  says so instead (``pa-bits`` null).

Run from the repository root (``--check`` compares instead of writing)::

    .venv/bin/python tools/record_cpu_models.py --qemu /usr/bin/qemu-system-x86_64 \\
        --out memdevd/targets/x86_64/data/qemu-7.2
    .venv/bin/python tools/record_cpu_models.py --target aarch64 \\
        --qemu /usr/bin/qemu-system-aarch64 --out memdevd/targets/aarch64/data/qemu-7.2
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from typing import Any

ENV = {"QEMU_MODULE_DIR": "/nonexistent", "PATH": os.environ.get("PATH", "")}
BASE_ARGS = ["-machine", "pc,accel=tcg", "-S", "-nodefaults", "-display", "none"]
# Topology and links: set by the board, not by the model.
SKIP_PROPS = {
    "apic-id", "socket-id", "die-id", "module-id", "cluster-id", "core-id",
    "thread-id", "node-id", "memory", "start-powered-off",
}  # fmt: skip
WARNING = re.compile(r"^qemu-system-x86_64: warning: TCG doesn't support requested feature: (.*)$")
CONFLICT = re.compile(r"^qemu-system-x86_64: warning: this feature conflicts with (\S+): (.*)$")


def qmp(
    qemu: str, args: list[str], commands: list[dict[str, Any]], base: list[str] = BASE_ARGS
) -> list[dict[str, Any]]:
    """The replies (return or error) to ``commands`` of one QEMU process."""
    text = "".join(json.dumps(c) for c in [{"execute": "qmp_capabilities"}, *commands])
    text += json.dumps({"execute": "quit"})
    proc = subprocess.run(
        [qemu, *base, *args, "-qmp", "stdio"],
        input=text, capture_output=True, text=True, env=ENV, timeout=600, check=False,
    )  # fmt: skip
    replies = []
    for line in proc.stdout.splitlines():
        obj = json.loads(line)
        if "return" in obj or "error" in obj:
            replies.append(obj)
    return replies[1 : 1 + len(commands)]


def _words(reply: dict[str, Any]) -> list[int]:
    return [w["features"] for w in reply["return"]]


def flag_bits(qemu: str, flags: list[str], on: set[str]) -> dict[str, list[int]]:
    """Each flag's [feature-words entry, bit]: a vCPU hot-plugged with only
    that flag changed (on, or off where qemu64 has it), its ``feature-words``
    or (TCG lacks it) ``filtered-features`` against the first vCPU's.
    Flags outside CPUID words (MSRs) or that a dependency turns off alone
    are absent."""
    out: dict[str, list[int]] = {}
    batch = 200
    for start in range(0, len(flags), batch):
        part = flags[start : start + batch]
        args = ["-machine", "q35", "-smp", f"1,sockets={len(part) + 1},maxcpus={len(part) + 1}"]
        base = "/machine/unattached/device[0]"
        questions: list[dict[str, Any]] = [
            {"execute": "qom-get", "arguments": {"path": base, "property": p}}
            for p in ("feature-words", "filtered-features")
        ]
        for i, flag in enumerate(part, 1):
            questions.append(
                {
                    "execute": "device_add",
                    "arguments": {
                        "driver": "qemu64-x86_64-cpu", "id": f"c{i}", "socket-id": i,
                        "core-id": 0, "thread-id": 0, flag: flag not in on,
                    },
                }
            )  # fmt: skip
            for prop in ("feature-words", "filtered-features"):
                path = f"/machine/peripheral/c{i}"
                questions.append(
                    {"execute": "qom-get", "arguments": {"path": path, "property": prop}}
                )
        replies = qmp(qemu, args, questions)
        base_words, base_filtered = _words(replies[0]), _words(replies[1])
        for i, flag in enumerate(part):
            added, words, filtered = replies[2 + 3 * i : 5 + 3 * i]
            if "return" not in added:
                continue
            pairs = [(_words(words), base_words), (_words(filtered), base_filtered)]
            for mine, theirs in pairs:
                for index, (a, b) in enumerate(zip(mine, theirs, strict=True)):
                    if (a ^ b).bit_count() == 1:
                        out[flag] = [index, (a ^ b).bit_length() - 1]
    return out


def record(qemu: str) -> dict[str, Any]:
    help_text = subprocess.run(
        [qemu, "-cpu", "help"], capture_output=True, text=True, env=ENV, check=False
    ).stdout
    flags = help_text.split("Recognized CPUID flags:\n", 1)[1].split()
    every = "qemu64" + "".join(f",{f}=on" for f in flags)
    proc = subprocess.run(
        [qemu, *BASE_ARGS, "-cpu", every, "-qmp", "stdio"],
        input='{"execute":"qmp_capabilities"}{"execute":"quit"}',
        capture_output=True, text=True, env=ENV, timeout=60, check=False,
    )  # fmt: skip
    unsupported = []
    for line in proc.stderr.splitlines():
        m = WARNING.match(line)
        if m:
            name = m.group(1).rpartition(" [bit ")[0].rpartition(".")[2]
            unsupported.append([name, m.group(1)])
    conflicts = feature_conflicts(qemu, proc.stderr, flags)
    _complete_unsupported(qemu, unsupported, flags, conflicts)
    (defs, props_reply) = qmp(
        qemu,
        [],
        [
            {"execute": "query-cpu-definitions"},
            {"execute": "qom-list-properties", "arguments": {"typename": "qemu64-x86_64-cpu"}},
        ],
    )
    definitions = defs["return"]
    names = [d["name"] for d in definitions]
    expansions = qmp(
        qemu,
        [],
        [
            {
                "execute": "query-cpu-model-expansion",
                "arguments": {"type": "full", "model": {"name": name}},
            }
            for name in names
        ],
    )
    # The order QEMU prints an expansion's properties in (a QDict's hash
    # order: the same for every model with the same properties).
    (static_reply, full_reply) = qmp(
        qemu,
        [],
        [
            {
                "execute": "query-cpu-model-expansion",
                "arguments": {"type": kind, "model": {"name": "qemu64"}},
            }
            for kind in ("static", "full")
        ],
    )
    flag_set = set(flags)
    full: dict[str, dict[str, Any]] = {}
    own_orders: dict[str, list[str]] = {}
    qemu64_keys = set(full_reply["return"]["model"]["props"])
    for name, reply in zip(names, expansions, strict=True):
        props = reply["return"]["model"]["props"]
        full[name] = {k: v for k, v in props.items() if k not in SKIP_PROPS}
        if set(props) != qemu64_keys:
            own_orders[name] = list(props)
    base = {k: v for k, v in full["qemu64"].items() if k not in flag_set}
    # The other names of flags (object_property_add_alias: lahf_lm, i64,
    # sse4_1...): the flag a boolean property turns on in the "base" model.
    candidates = [
        n for n, t in (
            (p["name"], p["type"]) for p in props_reply["return"]
        ) if t == "bool" and n not in flag_set
    ]  # fmt: skip
    turned = qmp(
        qemu,
        [],
        [
            {
                "execute": "query-cpu-model-expansion",
                "arguments": {"type": "full", "model": {"name": "base", "props": {n: True}}},
            }
            for n in ["pmu", *candidates]
        ],
    )
    plain = turned[0]["return"]["model"]["props"]
    aliases = {}
    for name, reply in zip(candidates, turned[1:], strict=True):
        if "return" not in reply:
            continue
        props = reply["return"]["model"]["props"]
        on = [f for f in flags if props.get(f) is True and plain.get(f) is not True]
        if len(on) == 1:
            aliases[name] = on[0]
    models = {}
    for name in names:
        props = full[name]
        models[name] = {
            "features": sorted(k for k, v in props.items() if k in flag_set and v is True),
            "props": {k: v for k, v in props.items() if k not in flag_set and base.get(k) != v},
        }
    dependencies, texts, raises = feature_dependencies(qemu, flags, conflicts)
    hidden_and_levels(qemu, models, base, dependencies, set(props_reply_names(props_reply)))
    return {
        "help": help_text,
        "flags": flags,
        "tcg-unsupported": unsupported,
        "definitions": definitions,
        "properties": {p["name"]: p["type"] for p in props_reply["return"]},
        "aliases": aliases,
        "base-props": base,
        "static-order": list(static_reply["return"]["model"]["props"]),
        "full-order": list(full_reply["return"]["model"]["props"]),
        "full-orders": own_orders,
        "flag-bits": flag_bits(qemu, flags, set(models["qemu64"]["features"])),
        "board-props": {
            k: v for k, v in full_reply["return"]["model"]["props"].items() if k in SKIP_PROPS
        },
        "models": models,
        "dependencies": dependencies,
        "dependency-texts": texts,
        "level-raises": raises,
        # (only where the release has conflicts: 11.1)
        **({"conflicts": conflicts} if conflicts else {}),
    }


def _flag_named(head: str, flags: list[str]) -> str:
    """The flag a warning's description (``CPUID[...].EDX.apxf``) ends with."""
    return next((f for f in sorted(flags, key=len, reverse=True) if head.endswith("." + f)), "")


def _start(qemu: str, cpu: str) -> str:
    """What a start of ``-cpu cpu`` prints on stderr."""
    proc = subprocess.run(
        [qemu, *BASE_ARGS, "-cpu", cpu, "-qmp", "stdio"],
        input='{"execute":"qmp_capabilities"}{"execute":"quit"}',
        capture_output=True, text=True, env=ENV, timeout=60, check=False,
    )  # fmt: skip
    return proc.stderr


def feature_conflicts(qemu: str, every_stderr: str, flags: list[str]) -> list[list[list[str]]]:
    """``conflicts``: the flags the start with every flag on turned off as
    conflicting (x86_cpu_expand_features: 11.1's MPX and APX), grouped by
    a start of ``base`` with two of them on: each group is [flag, what it
    conflicts with, description] in the order QEMU warns."""
    named: list[str] = []
    for line in every_stderr.splitlines():
        m = CONFLICT.match(line)
        if m:
            flag = _flag_named(m.group(2).rpartition(" [bit ")[0], flags)
            if flag and flag not in named:
                named.append(flag)
    groups: list[list[list[str]]] = []
    grouped: set[str] = set()
    for i, first in enumerate(named):
        for second in named[i + 1 :]:
            if first in grouped or second in grouped:
                continue
            group = []
            for line in _start(qemu, f"base,{first}=on,{second}=on").splitlines():
                m = CONFLICT.match(line)
                if m:
                    flag = _flag_named(m.group(2).rpartition(" [bit ")[0], flags)
                    group.append([flag, m.group(1), m.group(2)])
            if {g[0] for g in group} == {first, second}:
                groups.append(group)
                grouped.update((first, second))
    return groups


def _complete_unsupported(
    qemu: str, unsupported: list[list[str]], flags: list[str], conflicts: list[list[list[str]]]
) -> None:
    """Add the flags TCG filters that the start with every flag on did not
    warn about because a conflict turned them off first (11.1's ``apxf``):
    per flag of a conflict, a start with every flag but the others of its
    conflict on; each new one after the flag QEMU warned about before it
    (in place)."""
    known = {name for name, _ in unsupported}
    for group in conflicts:
        for flag, _with, _text in group:
            others = {g for g, _, _ in group if g != flag}
            cpu = "qemu64" + "".join(f",{f}=on" for f in flags if f not in others)
            previous = ""
            for line in _start(qemu, cpu).splitlines():
                m = WARNING.match(line)
                if not m:
                    continue
                head = m.group(1).rpartition(" [bit ")[0]
                name = _flag_named(head, flags) or head.rpartition(".")[2]
                if name not in known:
                    at = next(
                        (i + 1 for i, (n, _) in enumerate(unsupported) if n == previous),
                        0,
                    )
                    unsupported.insert(at, [name, m.group(1)])
                    known.add(name)
                previous = name


def props_reply_names(reply: dict[str, Any]) -> list[str]:
    return [p["name"] for p in reply["return"]]


DEPENDS = re.compile(
    r"^qemu-system-x86_64: warning: This feature depends on other features "
    r"that were not requested: (.*)$"
)
LEVELS = ("min-level", "min-xlevel", "min-xlevel2", "level-func7")


def _expand(qemu: str, asks: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """The full expansions' properties of (model, props) under TCG."""
    replies = qmp(
        qemu,
        [],
        [
            {
                "execute": "query-cpu-model-expansion",
                "arguments": {"type": "full", "model": {"name": name, "props": props}},
            }
            for name, props in asks
        ],
    )
    return [r["return"]["model"]["props"] for r in replies]


def feature_dependencies(
    qemu: str, flags: list[str], conflicts: list[list[list[str]]]
) -> tuple[dict[str, list[str]], list[list[str]], dict[str, list[int]]]:
    """``dependencies``, ``dependency-texts`` and ``level-raises``.  A flag
    a conflict turns off with every flag on (11.1's ``apxf``) is asked
    with every flag but the others of its conflict on."""
    every = {f: True for f in flags}
    # (the flags on, each with the flags asked for in its own start)
    starts: list[tuple[dict[str, bool], list[str]]] = []
    (all_on,) = _expand(qemu, [("base", every)])
    starts.append((every, [f for f in flags if all_on.get(f) is True]))
    for group in conflicts:
        for flag, _with, _text in group:
            others = {g for g, _, _ in group if g != flag}
            asked = {f: True for f in flags if f not in others}
            (props,) = _expand(qemu, [("base", asked)])
            if props.get(flag) is True:
                starts.append((asked, [f for f in flags if props.get(f) is True]))
    on: list[str] = []
    dependencies: dict[str, list[str]] = {}
    for asked, on_here in starts:
        mine = [f for f in on_here if f not in on]
        offs = _expand(qemu, [("base", {**asked, f: False}) for f in mine])
        for flag, props in zip(mine, offs, strict=True):
            cleared = [g for g in on_here if g != flag and props.get(g) is not True]
            if cleared:
                dependencies[flag] = cleared
        on += mine
    on.sort(key=flags.index)
    dependencies = {f: dependencies[f] for f in flags if f in dependencies}
    # The warnings, in QEMU's order: base with the dependent flags on.
    wanted = sorted({g for cleared in dependencies.values() for g in cleared}, key=flags.index)
    texts: list[list[str]] = []
    by_length = sorted(flags, key=len, reverse=True)
    while wanted:
        cpu = "base" + "".join(f",{f}=on" for f in wanted)
        proc = subprocess.run(
            [qemu, *BASE_ARGS, "-cpu", cpu, "-qmp", "stdio"],
            input='{"execute":"qmp_capabilities"}{"execute":"quit"}',
            capture_output=True, text=True, env=ENV, timeout=60, check=False,
        )  # fmt: skip
        got = []
        for line in proc.stderr.splitlines():
            m = DEPENDS.match(line)
            if m:
                head = m.group(1).rpartition(" [bit ")[0]
                name = next((f for f in by_length if head.endswith("." + f)), "")
                if name in wanted and name not in got:
                    texts.append([name, m.group(1)])
                    got.append(name)
        if not got:
            break
        wanted = [f for f in wanted if f not in got]
    froms: dict[str, list[str]] = {}
    for flag, cleared in dependencies.items():
        for g in cleared:
            froms.setdefault(g, []).append(flag)
    # A flag that depends on a flag of a conflict is asked with the others
    # of that conflict too: the conflict turns its dependency off after the
    # dependencies were checked (it stays on), and only its own raise shows
    # (11.1's apx-nci-ndd-nf raises nothing without apxf).
    partners = {f: [g for g, _, _ in group if g != f] for group in conflicts for f, _, _ in group}

    def ask(flag: str) -> dict[str, Any]:
        deps = froms.get(flag, [])
        others = [p for g in deps for p in partners.get(g, []) if p != flag]
        return {flag: True, **{g: True for g in [*deps, *others]}}

    asks = [("base", ask(f)) for f in on]
    raises = {}
    for flag, props in zip(on, _expand(qemu, asks), strict=True):
        levels = [int(props.get(k, 0)) for k in LEVELS]
        if any(levels):
            raises[flag] = levels
    return dependencies, texts, raises


def hidden_and_levels(
    qemu: str,
    models: dict[str, dict[str, Any]],
    base: dict[str, Any],
    dependencies: dict[str, list[str]],
    properties: set[str],
) -> None:
    """Each model's ``hidden`` flags and ``def-levels`` (in place)."""
    cleared = {g for gs in dependencies.values() for g in gs}
    roots = [f for f in dependencies if f not in cleared]
    names = [n for n in models if n not in ("host",)]
    asks = []
    for name in names:
        mine = set(models[name]["features"])
        asks.append((name, {r: True for r in roots if r not in mine}))
    for name, (_, asked), props in zip(names, asks, _expand(qemu, asks), strict=True):
        mine = set(models[name]["features"])
        hidden = sorted(f for f, v in props.items() if v is True and f in cleared and f not in mine)
        hidden = [f for f in hidden if f not in asked]
        if hidden:
            models[name]["hidden"] = hidden
    if "full-cpuid-auto-level" not in properties:
        return
    asks = [(n, {"full-cpuid-auto-level": False}) for n in names]
    for name, props in zip(names, _expand(qemu, asks), strict=True):
        full = {**base, **models[name]["props"]}
        levels = {k: props[k] for k in LEVELS if k in props}
        if any(full.get(k) != v for k, v in levels.items()):
            models[name]["def-levels"] = levels


AARCH64_BASE_ARGS = ["-machine", "virt,accel=tcg", "-S", "-nodefaults", "-display", "none"]
#: A maxmem beyond every model's address space: virt's memory map fails
#: and says how many bits the model has.
AARCH64_PAMAX_ARGS = ["-m", "1G,slots=1,maxmem=4096T"]
PA_BITS = re.compile(r"Addressing limited to (\d+) bits")


def record_aarch64(qemu: str) -> dict[str, Any]:
    help_text = subprocess.run(
        [qemu, "-cpu", "help"], capture_output=True, text=True, env=ENV, check=False
    ).stdout
    (defs,) = qmp(qemu, [], [{"execute": "query-cpu-definitions"}], AARCH64_BASE_ARGS)
    definitions = defs["return"]
    names = [d["name"] for d in definitions]
    type_of = {d["name"]: d.get("typename", f"{d['name']}-arm-cpu") for d in definitions}
    questions: list[dict[str, Any]] = []
    for name in names:
        questions.append(
            {"execute": "qom-list-properties", "arguments": {"typename": type_of[name]}}
        )
        questions.append(
            {
                "execute": "query-cpu-model-expansion",
                "arguments": {"type": "full", "model": {"name": name}},
            }
        )
    replies = qmp(qemu, [], questions, AARCH64_BASE_ARGS)
    properties: dict[str, Any] = {}
    models: dict[str, Any] = {}
    for i, name in enumerate(names):
        props, expansion = replies[2 * i], replies[2 * i + 1]
        properties[name] = (
            {p["name"]: p["type"] for p in props["return"]} if "return" in props else props
        )
        models[name] = expansion
    virt: dict[str, Any] = {}
    for name in names:
        args = ["-machine", "virt", "-accel", "tcg", "-cpu", name, *AARCH64_PAMAX_ARGS]
        proc = subprocess.run(
            [qemu, *args, "-S", "-nodefaults", "-display", "none", "-qmp", "stdio"],
            input='{"execute":"qmp_capabilities"}{"execute":"quit"}',
            capture_output=True, text=True, env=ENV, timeout=60, check=False,
        )  # fmt: skip
        m = PA_BITS.search(proc.stderr)
        virt[name] = {
            "argv": ["qemu-system-aarch64", *args],
            "stderr": proc.stderr,
            "status": proc.returncode,
            "pa-bits": int(m.group(1)) if m else None,
        }
    return {
        "help": help_text,
        "definitions": definitions,
        "properties": properties,
        "models": models,
        "virt": virt,
    }


RECORDERS = {"x86_64": record, "aarch64": record_aarch64}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qemu", required=True)
    parser.add_argument("--target", choices=sorted(RECORDERS), default="x86_64")
    parser.add_argument("--out", required=True, help="the release's data directory")
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args()
    data = RECORDERS[args.target](args.qemu)
    path = os.path.join(args.out, "cpu-models.json")
    if args.check:
        with open(path, encoding="utf-8") as f:
            if json.load(f) != data:
                print(f"{path} differs from what {args.qemu} answers", file=sys.stderr)
                return 1
        return 0
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=0, separators=(",", ":"))
        f.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
