"""Answers recorded from real QEMU, loaded on first use.

``memdevd/data/qemu-<version>/`` holds what ``tools/record_qemu_data.py``
recorded from QEMU 7.2 and 10.0 (see its README for provenance).  memdevd
uses it for what lies outside its subject (the machine-type list, the
order of ``query-commands``, QOM properties it does not model) and never
for what it computes itself.  QEMU 8.2 was not available to record; its
profile uses the 10.0 data, and docs/versions.md lists what that implies.
"""

from __future__ import annotations

import json
import os
from functools import cache
from typing import Any


def _data_version(version: str) -> str:
    return "7.2" if version == "7.2" else "10.0"


_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


@cache
def load(version: str, name: str) -> Any:
    """One recorded file, e.g. ``load("7.2", "queries")``."""
    folder = f"qemu-{_data_version(version)}"
    # A plain path (the package is installed as files): importlib.resources
    # would cost the start-up time it takes to import.
    path = os.path.join(_DATA, folder, f"{name}.json")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return json.loads(text)


def query_reply(version: str, command: str) -> Any:
    """The ``return`` value QEMU gave for a recorded query."""
    entry = load(version, "queries")[command]
    return entry["reply"]["return"]


@cache
def command_order(version: str) -> dict[str, int]:
    """Position of each command in QEMU's query-commands answer."""
    names = [c["name"] for c in query_reply(version, "query-commands")]
    return {name: i for i, name in enumerate(names)}


@cache
def instance(version: str, key: str) -> dict[str, Any]:
    data: dict[str, Any] = load(version, "instances")[key]
    return data


def instances_of_type(version: str, qom_type: str) -> list[dict[str, Any]]:
    return [i for i in load(version, "instances").values() if i.get("qom-type") == qom_type]


@cache
def type_sample(version: str, qom_type: str, family: str = "") -> dict[str, Any] | None:
    """A recorded instance of ``qom_type`` to take unmodelled properties from.

    Prefers an instance recorded on the same machine family and one with an
    id (anonymous devices differ only in error texts memdevd generates).
    """
    best: dict[str, Any] | None = None
    best_score = -1
    for key, inst in load(version, "instances").items():
        if inst.get("qom-type") != qom_type:
            continue
        score = 0
        if family and key.startswith(family + "-"):
            score += 2
        if "peripheral-anon" not in key:
            score += 1
        if score > best_score:
            best, best_score = inst, score
    return best


@cache
def qemu_device_types(version: str) -> frozenset[str]:
    """Every device type (a descendant of ``device``) the recorded QEMU has."""
    parents: dict[str, str] = {}
    for variant in load(version, "types")["qom-list-types"].values():
        for entry in variant["reply"].get("return", []):
            parents.setdefault(entry["name"], entry.get("parent", ""))

    def is_device(name: str) -> bool:
        seen: set[str] = set()
        while name and name not in seen:
            if name == "device":
                return True
            seen.add(name)
            name = parents.get(name, "")
        return False

    return frozenset(name for name in parents if is_device(name))
