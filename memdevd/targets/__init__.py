"""Targets: one folder per QEMU system emulator memdevd emulates.

A target is ``memdevd/targets/<name>/``: its boards (given to the core
through ``memdevd.machine.board.Board``), machine types, CPU models,
command-line syntax (its arch bit over the option table generated from
QEMU's sources, ``options_table.py`` here, the same for every target), the
device types only it has, and the data recorded from its QEMU binaries
(``data/qemu-<release>/``).  ``target.py`` in the folder defines
``TARGET``, a :class:`Target`: what the process layer asks of it.  The core
never imports a target; docs/architecture.md says how to add one.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

from memdevd.records import record

if TYPE_CHECKING:
    from memdevd.machine.board import Board
    from memdevd.machine.machine import MachineConfig
    from memdevd.releases.table import Release
    from memdevd.util.option_defs import Syntax

#: The targets memdevd emulates, by QEMU's name for them.
TARGET_NAMES: tuple[str, ...] = ("x86_64", "aarch64")


@record(frozen=True)
class MachineType:
    """A ``-machine`` type as the target resolved it."""

    name: str  # canonical, e.g. pc-q35-10.0
    family: str  # the board family: "pc", "q35", "none"...
    alias: str | None


class Target(Protocol):
    """What the process layer (start-up, ``-machine help``, query-machines)
    asks of a target."""

    #: QEMU's target name ("x86_64") and its binary ("qemu-system-x86_64")
    name: str
    program: str
    #: The board's own -machine properties, known without reading the
    #: recorded machine.
    board_option_names: frozenset[str]

    def syntax(self, release: Release) -> Syntax:
        """The command line of the release's binary: option tables and rules."""
        ...

    def machine_list(self, release: Release) -> list[dict[str, Any]]:
        """``query-machines``."""
        ...

    def machine_help(self, release: Release) -> str:
        """``-machine help``."""
        ...

    def resolve_machine(self, release: Release, name: str | None) -> MachineType | None:
        """The machine type ``-machine type=NAME`` (None: the default) selects,
        None when memdevd does not emulate it."""
        ...

    def is_known_machine(self, release: Release, name: str) -> bool:
        """Whether QEMU has the machine type (emulated or not)."""
        ...

    def board(self, mtype: MachineType) -> Board:
        """The board of a machine type."""
        ...

    def default_ram_size(self, mtype: MachineType) -> int:
        """``MachineClass.default_ram_size``."""
        ...

    def max_cpus(self, release: Release, mtype: MachineType) -> tuple[int, Callable[[], int]]:
        """The fewest CPUs any type of the board allows, and the type's own
        limit (looked up only when needed)."""
        ...

    def resolve_cpu_model(
        self, release: Release, mtype: MachineType, option: str | None, accel: str
    ) -> tuple[str | None, list[str]]:
        """The vCPUs' model from ``-cpu`` (checked as ``parse_cpu_option``) or
        the board's default, and the warnings parsing its options prints;
        raises CoreError with QEMU's texts."""
        ...

    def cpu_help(self, release: Release) -> str:
        """What ``-cpu help`` prints on stdout."""
        ...

    def machine_option_names(self, release: Release, mtype: MachineType) -> set[str]:
        """The ``-machine`` properties QEMU's machine class has."""
        ...

    def apply_machine_option(
        self, config: MachineConfig, key: str, value: Any, release: Release
    ) -> bool:
        """Set a board's own ``-machine`` property; False if it is not one."""
        ...


@cache
def get_target(name: str) -> Target:
    """The target ``name`` (one of :data:`TARGET_NAMES`)."""
    if name not in TARGET_NAMES:
        raise KeyError(name)
    target: Target = importlib.import_module(f"{__name__}.{name}.target").TARGET
    return target


def release_syntax(target: str, release: Release, arch_mask: int) -> Syntax:
    """A target's command line for ``release``: the option table generated
    from the sources the release answers with (``source_tables_as``,
    ``options_table.py``) seen through the target's ``QEMU_ARCH_*`` bit, the
    option-group keys the release removed or added, and its parsing rules."""
    from types import MappingProxyType

    from memdevd.targets.options_table import TABLES
    from memdevd.util.option_defs import OptDescDef, Syntax

    opts, lists = TABLES[release.source_tables_as]
    if release.opts_keys_removed or release.opts_keys_added:
        removed = set(release.opts_keys_removed)
        lists = MappingProxyType(
            {
                name: ol._replace(
                    desc=(
                        *(d for d in ol.desc if (name, d.name) not in removed),
                        *(
                            OptDescDef(key, kind, None, None)
                            for list_name, key, kind in release.opts_keys_added
                            if list_name == name
                        ),
                    )
                )
                for name, ol in lists.items()
            }
        )
    if not any(o.name == "semihosting-config" and o.arch_mask & arch_mask for o in opts):
        # semihosting/config.c is built into the binaries of the targets with
        # semihosting (those whose -semihosting-config option exists); the
        # others link its stub, a list named "" (-readconfig: "There is no
        # option group 'semihosting-config'", seen live on x86_64).
        lists = MappingProxyType({k: v for k, v in lists.items() if k != "semihosting-config"})
    return Syntax(
        name=f"{target} {release.version}",
        options=opts,
        opts_lists=lists,
        arch_mask=arch_mask,
        strtosz_2023=release.strtosz_2023,
        chardev_pty_path=release.chardev_pty_path,
    )
