"""Record the CPU models of a QEMU binary, as TCG shows them.

Writes ``cpu-models.json`` of a release's data directory.  For
``--target x86_64`` (the default):

* ``help``: what ``-cpu help`` prints on stdout, verbatim;
* ``flags``: the "Recognized CPUID flags" of that text, in its order;
* ``tcg-unsupported``: the flags TCG does not support, each with the text
  QEMU's warning gives it (``CPUID.01H:ECX.pcid [bit 17]``), in the order
  QEMU warns (feature word, then bit): recorded by starting QEMU with every
  flag on;
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
  other properties whose value differs from ``base-props``, the qemu64's).

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
    }


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
