"""Machine types: the names ``-machine`` accepts and ``query-machines`` lists.

memdevd emulates the x86 ``pc`` (i440FX) and ``q35`` families in every
versioned type the emulated release has, and the ``none`` machine that
libvirt's capability probe starts.  The list itself is QEMU's, recorded
from the release (8.2: the 10.0 list without the newer types).
"""

from __future__ import annotations

from typing import Any

from memdevd.releases.machine_compat import machine_version, sort_key, types_of_release
from memdevd.releases.recorded import recording
from memdevd.releases.table import Release
from memdevd.targets import MachineType

DESCRIPTIONS = {
    "pc": "Standard PC (i440FX + PIIX, 1996)",
    "q35": "Standard PC (Q35 + ICH9, 2009)",
    "none": "empty machine",
}


def pc_alias(release: Release) -> str:
    """What ``pc`` is an alias of: the release's own i440FX type."""
    return f"pc-i440fx-{release.major}.{release.minor}"


def q35_alias(release: Release) -> str:
    """What ``q35`` is an alias of."""
    return f"pc-q35-{release.major}.{release.minor}"


def machine_list(release: Release) -> list[dict[str, Any]]:
    """``query-machines`` for the emulated release."""
    machines: list[dict[str, Any]] = [
        dict(m) for m in recording("x86_64", release).query_reply("query-machines")
    ]
    if release.is_recorded:
        return machines
    # Answered from a newer release's list: its types, with its aliases.
    own = set(types_of_release(release, (m["name"] for m in machines)))
    keep = []
    for m in machines:
        if m["name"] not in own:
            continue
        m.pop("alias", None)
        m.pop("is-default", None)
        if m["name"] == pc_alias(release):
            m["alias"] = "pc"
            m["is-default"] = True
        elif m["name"] == q35_alias(release):
            m["alias"] = "q35"
        keep.append(m)
    return keep


def _family(name: str) -> str:
    return "q35" if "-q35-" in name else "pc"


def _machine_type(name: str, alias: str | None) -> MachineType:
    return MachineType(name, _family(name), alias)


def resolve(release: Release, name: str) -> MachineType | None:
    """The machine type for a ``-machine type=`` value, None if unknown."""
    if name in ("pc", pc_alias(release)):
        return _machine_type(pc_alias(release), "pc")
    if name in ("q35", q35_alias(release)):
        return _machine_type(q35_alias(release), "q35")
    if name == "none":
        return MachineType("none", "none", None)
    known = {m["name"] for m in machine_list(release)}
    if name in known and name.startswith(("pc-i440fx-", "pc-q35-")) and machine_version(name):
        return _machine_type(name, None)
    return None


def is_known_but_not_emulated(release: Release, name: str) -> bool:
    known = {m["name"] for m in machine_list(release)}
    return name in known and resolve(release, name) is None


def help_text(release: Release) -> str:
    """``-machine help``."""
    lines = ["Supported machines are:"]
    lines.append(f"{'pc':<20} {DESCRIPTIONS['pc']} (alias of {pc_alias(release)})")
    names = [
        m["name"] for m in machine_list(release) if m["name"].startswith(("pc-i440fx-", "pc-q35-"))
    ]
    for name in sorted(names, key=lambda n: ("q35" in n, sort_key(n)), reverse=True):
        family = _family(name)
        default = " (default)" if name == pc_alias(release) else ""
        if name == q35_alias(release):
            lines.append(f"{'q35':<20} {DESCRIPTIONS['q35']} (alias of {q35_alias(release)})")
        lines.append(f"{name:<20} {DESCRIPTIONS[family]}{default}")
    lines.append(f"{'none':<20} {DESCRIPTIONS['none']}")
    return "\n".join(lines)
