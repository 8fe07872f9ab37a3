"""Machine types of qemu-system-aarch64: ``virt`` and its versioned types.

memdevd emulates the arm ``virt`` board (hw/arm/virt.c) in every versioned
type ``virt-X.Y`` the emulated release has, and the ``none`` machine.  The
list ``query-machines`` and ``-machine help`` show is QEMU's, recorded from
the release's binary (the other boards of the binary are known but not
emulated).  qemu-system-aarch64 has no default machine type.
"""

from __future__ import annotations

from typing import Any

from memdevd.releases.machine_compat import machine_version, types_of_release
from memdevd.releases.recorded import recording
from memdevd.releases.table import Release
from memdevd.targets import MachineType

TARGET = "aarch64"


def virt_alias(release: Release) -> str:
    """What ``virt`` is an alias of: the release's own ``virt-X.Y``."""
    return f"virt-{release.major}.{release.minor}"


def machine_list(release: Release) -> list[dict[str, Any]]:
    """``query-machines`` of the emulated release."""
    machines = [dict(m) for m in recording(TARGET, release).query_reply("query-machines")]
    if release.is_recorded:
        return machines
    # Answered from a newer release's list: its types, with its alias.
    own = set(types_of_release(release, (m["name"] for m in machines)))
    keep = []
    for m in machines:
        if m["name"] not in own:
            continue
        if m["name"].startswith("virt-"):
            m.pop("alias", None)
            if m["name"] == virt_alias(release):
                m["alias"] = "virt"
        keep.append(m)
    return keep


def resolve(release: Release, name: str | None) -> MachineType | None:
    """The machine type of ``-machine type=NAME``, None if not emulated."""
    if name is None:
        return None
    if name == "none":
        return MachineType("none", "none", None)
    if name in ("virt", virt_alias(release)):
        return MachineType(virt_alias(release), "virt", "virt")
    versioned = name.startswith("virt-") and machine_version(name) is not None
    if versioned and name in {m["name"] for m in machine_list(release)}:
        return MachineType(name, "virt", None)
    return None


def _description(name: str) -> str:
    """``MachineClass.desc``: virt.c's DEFINE_VIRT_MACHINE, null-machine.c."""
    version = machine_version(name)
    if version is None:
        return "empty machine"
    return f"QEMU {version[0]}.{version[1]} ARM Virtual Machine"


def help_text(release: Release) -> str:
    """``-machine help`` of the emulated machine types (the binary's other
    boards are not listed, docs/divergences.md): ``machine_class_cmp``
    sorts by QOM type name as no arm machine has a family; an alias gets
    its own line before its type."""
    lines = ["Supported machines are:"]
    emulated = [m for m in machine_list(release) if resolve(release, m["name"]) is not None]
    for m in sorted(emulated, key=lambda m: f"{m['name']}-machine"):
        desc = _description(m["name"])
        if m.get("alias"):
            lines.append(f"{m['alias']:<20} {desc} (alias of {m['name']})")
        default = " (default)" if m.get("is-default") else ""
        tail = " (deprecated)" if m.get("deprecated") else ""
        lines.append(f"{m['name']:<20} {desc}{default}{tail}")
    return "\n".join(lines)
