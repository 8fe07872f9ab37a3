"""A QEMU binary's command-line syntax: its option table, option groups and rules.

The tables are generated per recorded release, one for every target
(``memdevd/targets/options_table.py``, by ``tools/gen_qemu_option_table.py``;
a target gives its ``QEMU_ARCH_*`` bit);
the two rules that differ between releases come from the release table.
A target puts them together as one :class:`Syntax`, which the tokenizer
(``util/cmdline.py``) and QemuOpts (``util/qemu_opts.py``) are given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, NamedTuple, Protocol

from memdevd.records import record

#: QEMU_ARCH_ALL: an option every target has.
ARCH_ALL: Final = -1


class OptionDef(NamedTuple):
    """One ``DEF()`` of qemu-options.hx."""

    name: str
    has_arg: bool
    opt_enum: str  # QEMU_OPTION_xxx, shared by aliases such as -h/-help
    arch_mask: int
    condition: str | None


class OptDescDef(NamedTuple):
    """One ``QemuOptDesc`` of a ``QemuOptsList``."""

    name: str
    type: str  # "string", "bool", "number" or "size"
    help: str | None
    def_value_str: str | None


class OptsListDef(NamedTuple):
    """A ``QemuOptsList`` initialiser."""

    name: str
    implied_opt_name: str | None
    merge_lists: bool
    desc: tuple[OptDescDef, ...]
    source: str


class SyntaxRules(Protocol):
    """The parsing rules that differ between releases (a Release has them)."""

    @property
    def strtosz_2023(self) -> bool: ...

    @property
    def chardev_pty_path(self) -> bool: ...


def strtosz_2023(rules: SyntaxRules | None) -> bool:
    """Whether ``rules`` (None: QEMU's current code) use 8.1's qemu_strtosz."""
    return rules is None or rules.strtosz_2023


@record(frozen=True)
class Syntax:
    """What parsing a command line needs to know of one target and release."""

    #: a label for messages and caches, e.g. "x86_64 7.2"
    name: str
    options: tuple[OptionDef, ...]
    opts_lists: Mapping[str, OptsListDef]
    #: the target's QEMU_ARCH_* bit: options of other targets are refused
    arch_mask: int
    #: Release.strtosz_2023 and Release.chardev_pty_path
    strtosz_2023: bool
    chardev_pty_path: bool
