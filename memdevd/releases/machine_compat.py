"""Versioned machine types: their version, and what they keep of older releases.

A versioned machine type (``pc-q35-7.1``, ``pc-i440fx-2.0``, arm's
``virt-9.2``) behaves as the release it names: QEMU applies its
``hw_compat_X_Y`` (hw/core/machine.c) and each board's ``pc_compat_X_Y`` /
machine-options functions to every type up to X.Y.  A target declares its
table as data, ``{(X, Y): {"driver.property": value, ...}}``; the only place
that compares machine-type versions is here (a test keeps it so).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias

from memdevd.releases.table import Release

#: (major, minor) of a versioned machine type.
MachineVersion: TypeAlias = tuple[int, int]
#: What X.Y keeps of its release, by the release's (major, minor).
CompatTable: TypeAlias = Mapping[MachineVersion, Mapping[str, Any]]

_VERSIONED = re.compile(r"-(\d+)\.(\d+)(?:\.\d+)?$")


def machine_version(name: str) -> MachineVersion | None:
    """The version a machine type's name ends in (``pc-q35-7.1`` -> (7, 1)), or None."""
    m = _VERSIONED.search(name)
    return (int(m.group(1)), int(m.group(2))) if m else None


def compat_props(
    table: CompatTable, version: MachineVersion | None, *, release: Release | None = None
) -> dict[str, Any]:
    """What applies to a machine type of ``version`` (None: unversioned, nothing).

    Every entry of a release at or after ``version``; where two set the same
    property the older wins, as X.Y's options run X.(Y+1)'s first.  With
    ``release``, only the entries that release has (those of releases before
    it: a table holding properties that newer releases added).
    """
    out: dict[str, Any] = {}
    if version is None:
        return out
    own = (release.major, release.minor) if release is not None else None
    for entry in sorted(table, reverse=True):
        if version <= entry and (own is None or entry < own):
            out.update(table[entry])
    return out


def types_of_release(release: Release, names: Iterable[str]) -> list[str]:
    """``names`` without machine types newer than ``release`` (a release
    answering from a newer one's recording keeps only its own types)."""
    own = (release.major, release.minor)
    return [n for n in names if (v := machine_version(n)) is None or v <= own]


def sort_key(name: str) -> MachineVersion:
    """Order machine types by version (unversioned ones first)."""
    return machine_version(name) or (0, 0)
