"""Answers recorded from real QEMU, loaded on first use.

``memdevd/targets/x86_64/data/qemu-<version>/`` holds what ``tools/record_qemu_data.py``
recorded from QEMU 7.2 and 10.0 (see its README for provenance).  memdevd
uses it for what lies outside its subject (the machine-type list, the
order of ``query-commands``, QOM properties it does not model) and never
for what it computes itself.  QEMU 8.2 was not available to record; its
release uses the 10.0 data, and docs/versions.md lists what that implies.
"""

from __future__ import annotations

import json
import os
from functools import cache
from typing import Any


def _data_version(version: str) -> str:
    return "7.2" if version == "7.2" else "10.0"


_DATA = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "targets", "x86_64", "data"
)


@cache
def load(version: str, name: str) -> Any:
    """One recorded file, e.g. ``load("7.2", "queries")``."""
    return read(version, name)


def _data_file(version: str, name: str) -> str:
    # A plain path (the package is installed as files): importlib.resources
    # would cost the start-up time it takes to import.
    return os.path.join(_DATA, f"qemu-{_data_version(version)}", f"{name}.json")


def read(version: str, name: str) -> Any:
    """One recorded file, parsed now and not kept (see :func:`load`)."""
    with open(_data_file(version, name), encoding="utf-8") as f:
        text = f.read()
    data = json.loads(text)
    # samples.json restores its instances' order itself (see _sample_instance).
    if name not in ("key-order", "samples"):
        _restore_key_order(version, name, data)
    return data


def _walk_pointer(node: Any, pointer: str) -> Any:
    """The value a JSON pointer (RFC 6901, ``/a/0/b``) names inside ``node``."""
    for part in pointer.split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


@cache
def _key_order_of(version: str, name: str) -> tuple[tuple[str, list[list[str]]], ...]:
    """``key-order.json``'s entries for one file (pointer, groups): a few
    dozen kept per file instead of the whole table for the process."""
    prefix = f"{name}.json#"
    return tuple(
        (reference[len(prefix) :], groups)
        for reference, groups in read(version, "key-order").items()
        if reference.startswith(prefix)
    )


def _restore_key_order(version: str, name: str, data: Any, partial: bool = False) -> None:
    """Give QEMU's dicts back the insertion order their output showed.

    The files hold sorted keys; QEMU prints a QDict in hash-table order and
    keys that share a bucket newest first.  ``key-order.json`` lists, for
    every recorded dict where that matters, each shared bucket's keys in
    QEMU's output order: inserting them in the reverse order makes memdevd's
    encoder print them as QEMU did (the other keys' order does not matter).
    ``partial``: ``data`` holds only some of the file's objects.
    """
    for pointer, groups in _key_order_of(version, name):
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


def query_reply(version: str, command: str) -> Any:
    """The ``return`` value QEMU gave for a recorded query."""
    entry = load(version, "queries")[command]
    return entry["reply"]["return"]


@cache
def command_order(version: str) -> dict[str, int]:
    """Position of each command in QEMU's query-commands answer."""
    names = [c["name"] for c in query_reply(version, "query-commands")]
    return {name: i for i, name in enumerate(names)}


# The recorded instances are megabytes of parsed JSON and mostly repeat
# one type across scenarios: ``samples.json`` (derived from
# ``instances.json`` by the recorder, and by tools/gen_schemas.py from a
# committed one) keeps only the instance type_sample() picks for each
# (type, family), so reading it costs a fraction of the memory.
_FAMILIES = ("", "pc", "q35")


def choose_samples(instances: dict[str, Any]) -> dict[str, Any]:
    """``samples.json``'s content: the chosen instances under their
    ``instances.json`` keys, and ``"<family>:<qom-type>"`` -> key."""
    best: dict[tuple[str, str], tuple[int, str]] = {}
    # In key order, as the file lists them (the recorder holds them in
    # recording order).
    for key, inst in sorted(instances.items()):
        qom_type = inst.get("qom-type")
        if qom_type is None:
            continue
        for family in _FAMILIES:
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


def samples_file(version: str) -> tuple[str, str]:
    """Where ``samples.json`` of ``version``'s data lives, and its content."""
    with open(_data_file(version, "instances"), encoding="utf-8") as f:
        instances = json.load(f)
    rel = f"memdevd/targets/x86_64/data/qemu-{_data_version(version)}/samples.json"
    return rel, dump_samples(choose_samples(instances))


@cache
def _samples_index(version: str) -> tuple[dict[str, str], dict[str, tuple[int, int]]]:
    """``samples.json``'s choice, and where each instance's line is (offset, length)."""
    choice: dict[str, str] = {}
    where: dict[str, tuple[int, int]] = {}
    decoder = json.JSONDecoder()
    offset = 0
    with open(_data_file(version, "samples"), "rb") as f:
        for raw in f:
            line = raw.decode("utf-8")
            if line.startswith(' "choice": '):
                choice = json.loads(line[len(' "choice": ') :].rstrip().rstrip(","))
            elif line.startswith('  "'):
                key, _ = decoder.raw_decode(line, 2)
                where[key] = (offset, len(raw))
            offset += len(raw)
    return choice, where


@cache
def _sample_instance(version: str, key: str) -> dict[str, Any]:
    _, where = _samples_index(version)
    offset, length = where[key]
    with open(_data_file(version, "samples"), "rb") as f:
        f.seek(offset)
        line = f.read(length).decode("utf-8").rstrip().rstrip(",")
    instances: dict[str, Any] = json.loads("{" + line + "}")
    _restore_key_order(version, "instances", instances, partial=True)
    instance: dict[str, Any] = instances[key]
    return instance


def warm_up(version: str) -> None:
    """Index the recorded instances now (idle time) rather than at a first use."""
    _samples_index(version)


@cache
def type_sample(version: str, qom_type: str, family: str = "") -> dict[str, Any] | None:
    """A recorded instance of ``qom_type`` to take unmodelled properties from.

    Prefers an instance recorded on the same machine family and one with an
    id (anonymous devices differ only in error texts memdevd generates).
    """
    if family not in _FAMILIES:
        # No scenario is named after another family: the same choice as "".
        family = ""
    choice, _ = _samples_index(version)
    key = choice.get(f"{family}:{qom_type}")
    return _sample_instance(version, key) if key is not None else None


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


@cache
def type_table(version: str) -> dict[str, dict[str, Any]]:
    """Every QOM type QEMU listed (abstract ones included), by name."""
    types = load(version, "types")["qom-list-types"]
    key = list_types_key(types, None, True)
    entries = types[key]["reply"]["return"] if key is not None else []
    return {e["name"]: e for e in entries}


def type_is_a(version: str, name: str, ancestor: str) -> bool:
    """Whether the recorded type ``name`` is ``ancestor`` or descends from it."""
    table = type_table(version)
    seen = set()
    while name and name not in seen:
        if name == ancestor:
            return True
        seen.add(name)
        name = table.get(name, {}).get("parent", "")
    return False


def machine_sample(version: str, type_name: str, family: str) -> dict[str, Any] | None:
    """QEMU's ``/machine`` of this machine type; for a type that was not
    recorded (8.2's, older versions), the recorded release's type of the family."""
    sample = type_sample(version, type_name)
    if sample is None and family in ("pc", "q35"):
        kind = "q35" if family == "q35" else "i440fx"
        sample = type_sample(version, f"pc-{kind}-{_data_version(version)}-machine")
    return sample


@cache
def qemu_device_types(version: str) -> frozenset[str]:
    """Every device type (a descendant of ``device``) the recorded QEMU has."""
    return frozenset(name for name in type_table(version) if type_is_a(version, name, "device"))


# --- libvirt's probe and the vCPUs (probe.json, cpus.json) --------------------------


def resolve_reference(version: str, reference: str) -> Any:
    """The value a ``same-as`` reference (``<file>#<JSON pointer>``) names."""
    name, _, pointer = reference.partition("#")
    return _walk_pointer(load(version, name.removesuffix(".json")), pointer)


def question_key(command: str, arguments: Any) -> str:
    """A recorded question as a lookup key: command and canonical arguments."""
    return command + " " + json.dumps(arguments or {}, sort_keys=True)


@cache
def _probe_index(version: str, accel: str) -> dict[str, dict[str, Any]] | None:
    session = load(version, "probe").get(accel)
    if session is None:
        return None
    return {question_key(e["command"], e["arguments"]): e for e in session["exchanges"]}


def probe_reply(version: str, accel: str, command: str, arguments: Any) -> Any | None:
    """QEMU's reply (``{"return": ...}`` or ``{"error": ...}``) to a probe question.

    Answers recorded from ``-machine none,accel=<accel>`` (libvirt's probe);
    None when that question, or the whole session (KVM on a host without
    it), was not recorded.
    """
    index = _probe_index(version, accel)
    entry = index.get(question_key(command, arguments)) if index is not None else None
    if entry is None:
        return None
    if "same-as" in entry:
        return resolve_reference(version, entry["same-as"])
    return entry["reply"]


def probe_questions(version: str, accel: str) -> list[tuple[str, Any]]:
    """The recorded probe questions of a session, in libvirt's order."""
    session = load(version, "probe").get(accel)
    if session is None:
        return []
    return [(e["command"], e["arguments"]) for e in session["exchanges"]]


def cpu_models(version: str, accel: str) -> list[str]:
    """The CPU models whose vCPU objects were recorded under ``accel``, sorted.

    From meta.json: a machine starts without reading the larger cpus.json,
    which its vCPUs' properties need only when asked for.
    """
    models: list[str] = load(version, "meta").get("cpu-models", {}).get(accel, [])
    return models


@cache
def cpu_sample(version: str, accel: str, model: str) -> dict[str, Any] | None:
    """A recorded vCPU of ``model``: qom-type, qom-list, qom-get and qom-set.

    qom-set was recorded once per release (for qemu64 under TCG); the same
    properties refuse the same way for every model, so the other models get
    those replies with their own type name in the texts.  Properties that
    sample does not have (max's ``migratable``) are qdev properties of the
    model, refused after realize like the other qdev properties.
    """
    scenarios = load(version, "cpus")
    for name, scenario in scenarios.items():
        if scenario["accel"] != accel or scenario["cpu-model"] != model:
            continue
        if scenario["sample"] != name:
            continue
        record = dict(next(iter(scenario["objects"].values())))
        record["qom-set"] = _cpu_qom_set(version, record["qom-type"], record["qom-list"])
        return record
    return None


def _cpu_qom_set(version: str, qom_type: str, listing: list[dict[str, str]]) -> dict[str, Any]:
    sets: dict[str, Any] = {}
    source_type = ""
    for scenario in load(version, "cpus").values():
        for record in scenario["objects"].values():
            if "qom-set" in record:
                sets, source_type = record["qom-set"], record["qom-type"]
    out: dict[str, Any] = {}
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
