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
from memdevd.releases.table import Profile

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


def machine_list(profile: Profile) -> list[dict[str, Any]]:
    """``query-machines`` for the emulated release."""
    machines: list[dict[str, Any]] = [
        dict(m) for m in recorded.query_reply(profile.version, "query-machines")
    ]
    if profile.version == "8.2":
        keep = []
        for m in machines:
            ver = _version_of(m["name"])
            if ver is not None and ver > (8, 2):
                continue
            m.pop("alias", None)
            m.pop("is-default", None)
            if m["name"] == profile.pc_alias:
                m["alias"] = "pc"
                m["is-default"] = True
            elif m["name"] == profile.q35_alias:
                m["alias"] = "q35"
            keep.append(m)
        machines = keep
    return machines


def resolve(profile: Profile, name: str) -> MachineType | None:
    """The machine type for a ``-machine type=`` value, None if unknown."""
    if name in ("pc", profile.pc_alias):
        return MachineType(profile.pc_alias, "pc", "pc", (profile.major, profile.minor))
    if name in ("q35", profile.q35_alias):
        return MachineType(profile.q35_alias, "q35", "q35", (profile.major, profile.minor))
    if name == "none":
        return MachineType("none", "none", None, None)
    known = {m["name"] for m in machine_list(profile)}
    if name in known:
        ver = _version_of(name)
        if ver is not None:
            family = "q35" if "-q35-" in name else "pc"
            return MachineType(name, family, None, ver)
    return None


def is_known_but_not_emulated(profile: Profile, name: str) -> bool:
    known = {m["name"] for m in machine_list(profile)}
    return name in known and resolve(profile, name) is None


def help_text(profile: Profile) -> str:
    """``-machine help``."""
    lines = ["Supported machines are:"]
    lines.append(f"{'pc':<20} {DESCRIPTIONS['pc']} (alias of {profile.pc_alias})")
    names = sorted(
        (m["name"] for m in machine_list(profile) if _version_of(m["name"])),
        key=lambda n: ("q35" in n, _version_of(n)),
        reverse=True,
    )
    for name in sorted(names, key=lambda n: ("q35" in n, _version_of(n) or (0, 0)), reverse=True):
        family = "q35" if "q35" in name else "pc"
        default = " (default)" if name == profile.pc_alias else ""
        if name == profile.q35_alias:
            lines.append(f"{'q35':<20} {DESCRIPTIONS['q35']} (alias of {profile.q35_alias})")
        lines.append(f"{name:<20} {DESCRIPTIONS[family]}{default}")
    lines.append(f"{'none':<20} {DESCRIPTIONS['none']}")
    return "\n".join(lines)
