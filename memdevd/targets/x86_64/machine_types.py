"""Machine types: the names ``-machine`` accepts and ``query-machines`` lists.

memdevd emulates the x86 ``pc`` (i440FX) and ``q35`` families in every
versioned type the emulated release has, and the ``none`` machine that
libvirt's capability probe starts.  The list itself is QEMU's, recorded
from the release (8.2: the 10.0 list without the newer types).
"""

from __future__ import annotations

import re
from typing import Any

from memdevd.records import record
from memdevd.releases import recorded
from memdevd.releases.table import Release

DESCRIPTIONS = {
    "pc": "Standard PC (i440FX + PIIX, 1996)",
    "q35": "Standard PC (Q35 + ICH9, 2009)",
    "none": "empty machine",
}

_VERSIONED = re.compile(r"^pc-(i440fx|q35)-(\d+)\.(\d+)(?:\.\d+)?$")


@record(frozen=True)
class MachineType:
    name: str  # canonical, e.g. pc-q35-10.0
    family: str  # "pc", "q35" or "none"
    alias: str | None
    version: tuple[int, int] | None


def _version_of(name: str) -> tuple[int, int] | None:
    m = _VERSIONED.match(name)
    return (int(m.group(2)), int(m.group(3))) if m else None


def machine_list(release: Release) -> list[dict[str, Any]]:
    """``query-machines`` for the emulated release."""
    machines: list[dict[str, Any]] = [
        dict(m) for m in recorded.query_reply(release.version, "query-machines")
    ]
    if release.version == "8.2":
        keep = []
        for m in machines:
            ver = _version_of(m["name"])
            if ver is not None and ver > (8, 2):
                continue
            m.pop("alias", None)
            m.pop("is-default", None)
            if m["name"] == release.pc_alias:
                m["alias"] = "pc"
                m["is-default"] = True
            elif m["name"] == release.q35_alias:
                m["alias"] = "q35"
            keep.append(m)
        machines = keep
    return machines


def resolve(release: Release, name: str) -> MachineType | None:
    """The machine type for a ``-machine type=`` value, None if unknown."""
    if name in ("pc", release.pc_alias):
        return MachineType(release.pc_alias, "pc", "pc", (release.major, release.minor))
    if name in ("q35", release.q35_alias):
        return MachineType(release.q35_alias, "q35", "q35", (release.major, release.minor))
    if name == "none":
        return MachineType("none", "none", None, None)
    known = {m["name"] for m in machine_list(release)}
    if name in known:
        ver = _version_of(name)
        if ver is not None:
            family = "q35" if "-q35-" in name else "pc"
            return MachineType(name, family, None, ver)
    return None


def is_known_but_not_emulated(release: Release, name: str) -> bool:
    known = {m["name"] for m in machine_list(release)}
    return name in known and resolve(release, name) is None


def help_text(release: Release) -> str:
    """``-machine help``."""
    lines = ["Supported machines are:"]
    lines.append(f"{'pc':<20} {DESCRIPTIONS['pc']} (alias of {release.pc_alias})")
    names = sorted(
        (m["name"] for m in machine_list(release) if _version_of(m["name"])),
        key=lambda n: ("q35" in n, _version_of(n)),
        reverse=True,
    )
    for name in sorted(names, key=lambda n: ("q35" in n, _version_of(n) or (0, 0)), reverse=True):
        family = "q35" if "q35" in name else "pc"
        default = " (default)" if name == release.pc_alias else ""
        if name == release.q35_alias:
            lines.append(f"{'q35':<20} {DESCRIPTIONS['q35']} (alias of {release.q35_alias})")
        lines.append(f"{name:<20} {DESCRIPTIONS[family]}{default}")
    lines.append(f"{'none':<20} {DESCRIPTIONS['none']}")
    return "\n".join(lines)
