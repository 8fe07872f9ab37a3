"""Splitting argv into options the way QEMU's ``vl.c`` does (``lookup_opt``).

This module owns the *token* level of memdevd's QEMU-compatible command line:
which words are options, which option takes the next word as its argument,
and QEMU's errors at that level:

* ``-foo`` (or ``--foo``) that QEMU does not know: ``-foo: invalid option``;
* an option that needs an argument at the end: ``-m: requires an argument``;
* ``-opt=value`` is not a thing: it is the unknown option ``opt=value``;
* a word that does not start with '-' is a disk image (QEMU's implicit
  ``-hda``), except that memdevd may take a first plain word as its own
  subcommand (``memdevd compare ...``).

QEMU checks all of argv this way before it acts on any option (its first
pass), so ``tokenize`` raises for the first such error wherever it is.  An
option that exists but is meant for other targets (``-prom-env``) is only
reported when QEMU reaches it in its second pass, after the options before
it took effect; ``CliItem.check_target()`` raises that error for the caller
to call in order.

What each option's argument means is ``cli.py``'s business; the grammar of
the argument is ``qemu_opts``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import field
from typing import Literal, TypeAlias

from memdevd import messages as M
from memdevd.records import record
from memdevd.util.option_defs import ARCH_ALL, OptionDef, Syntax
from memdevd.util.qemu_opts import OptionError

#: memdevd's own option, ``-memdevd key=val,...`` (version=, and so on).  It
#: is not in QEMU's table; it takes an argument.
MEMDEVD_OPTION = "memdevd"

_MEMDEVD_DEF = OptionDef(MEMDEVD_OPTION, True, "MEMDEVD_OPTION_memdevd", ARCH_ALL, None)


@record(frozen=True)
class OptionSpec:
    """One entry of the option table lookup_opt() searches."""

    name: str
    has_arg: bool
    #: QEMU_OPTION_xxx; aliases share it (-h/-help, -M/-machine are distinct).
    opt_enum: str
    #: False when the target's QEMU rejects it with "Option not supported
    #: for this target" (its arch mask lacks the target's bit).
    for_target: bool
    #: True for memdevd's own options (not in QEMU).
    memdevd_only: bool = False


class OptionTable:
    """The options of one QEMU binary (plus memdevd's own), by name."""

    def __init__(
        self, defs: Sequence[OptionDef], arch_mask: int, *, extra: Sequence[OptionDef] = ()
    ) -> None:
        self._by_name: dict[str, OptionSpec] = {}
        for d in defs:
            self._by_name[d.name] = OptionSpec(
                d.name, d.has_arg, d.opt_enum, bool(d.arch_mask & arch_mask)
            )
        for d in extra:
            self._by_name[d.name] = OptionSpec(
                d.name, d.has_arg, d.opt_enum, bool(d.arch_mask & arch_mask), True
            )

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __len__(self) -> int:
        return len(self._by_name)

    def get(self, name: str) -> OptionSpec | None:
        return self._by_name.get(name)

    def names(self) -> list[str]:
        return list(self._by_name)


_TABLES: dict[tuple[str, bool], OptionTable] = {}


def option_table(syntax: Syntax, *, with_memdevd: bool = True) -> OptionTable:
    """The option table of ``syntax``'s QEMU binary, with ``-memdevd`` unless told not to."""
    key = (syntax.name, with_memdevd)
    table = _TABLES.get(key)
    if table is None:
        extra = (_MEMDEVD_DEF,) if with_memdevd else ()
        table = OptionTable(syntax.options, syntax.arch_mask, extra=extra)
        _TABLES[key] = table
    return table


def qemu_has_option(name: str, syntax: Syntax) -> bool:
    """Whether the QEMU of ``syntax`` knows ``-name`` at all."""
    return name in option_table(syntax, with_memdevd=False)


@record(frozen=True)
class CliItem:
    """One option (or disk image) of the command line, in order.

    ``name`` is the option without dashes (``"m"`` for ``-m`` and ``--m``);
    a disk image word is reported as ``"hda"``, since QEMU treats it exactly
    as ``-hda WORD`` (``kind`` tells them apart).  ``location`` is what QEMU
    prints before an error about this item: the word(s) as typed.
    """

    name: str
    arg: str | None
    location: str
    index: int
    kind: Literal["option", "image"] = "option"
    spec: OptionSpec | None = None

    def as_pair(self) -> tuple[str, str | None]:
        return (self.name, self.arg)

    @property
    def memdevd_only(self) -> bool:
        return self.spec is not None and self.spec.memdevd_only

    def check_target(self) -> None:
        """Raise QEMU's error for an option of another target (vl.c's second pass)."""
        if self.spec is not None and not self.spec.for_target:
            raise OptionError(M.OPTION_NOT_FOR_TARGET, location=self.location)

    def error(self, message: str, hint: str | None = None) -> OptionError:
        """An OptionError located at this item, for the caller to raise."""
        return OptionError(message, hint, location=self.location)


@record
class ParsedCommandLine:
    """tokenize()'s result: a subcommand and its raw words, or the QEMU options."""

    items: list[CliItem] = field(default_factory=list)
    subcommand: str | None = None
    subcommand_args: list[str] = field(default_factory=list)

    def pairs(self) -> list[tuple[str, str | None]]:
        """The items as ``(option_name, argument_or_None)``."""
        return [item.as_pair() for item in self.items]

    def find(self, name: str) -> list[CliItem]:
        return [item for item in self.items if item.name == name]


SubcommandHook: TypeAlias = Collection[str] | Callable[[str], bool]


def _is_subcommand(word: str, hook: SubcommandHook | None) -> bool:
    if hook is None:
        return False
    if callable(hook):
        return hook(word)
    return word in hook


def lookup_opt(argv: Sequence[str], index: int, table: OptionTable) -> tuple[CliItem, int]:
    """vl.c lookup_opt() for ``argv[index]`` (which starts with '-').

    Returns the item and the index of the next word, or raises QEMU's
    "invalid option" / "requires an argument" error.
    """
    word = argv[index]
    # Treat --foo the same as -foo.
    name = word[2:] if word[1:2] == "-" else word[1:]
    spec = table.get(name)
    if spec is None:
        raise OptionError(M.OPTION_INVALID, location=word)
    if not spec.has_arg:
        return CliItem(name, None, word, index, "option", spec), index + 1
    if index + 1 >= len(argv):
        raise OptionError(M.OPTION_REQUIRES_ARGUMENT, location=word)
    arg = argv[index + 1]
    return CliItem(name, arg, f"{word} {arg}", index, "option", spec), index + 2


def tokenize(
    argv: Sequence[str],
    *,
    syntax: Syntax,
    subcommands: SubcommandHook | None = None,
    table: OptionTable | None = None,
) -> ParsedCommandLine:
    """Split ``argv`` (without the program name) into QEMU options, in order.

    If ``subcommands`` is given (a collection of names or a predicate) and
    ``argv[0]`` is a plain word it accepts, the result is that subcommand
    with the remaining words untouched; QEMU would have taken the word as a
    disk image.

    Raises OptionError (location set, exit status 1) for the first word QEMU
    rejects in its first pass.  The message formats with
    ``qemu_opts.format_error(prog, err)``.
    """
    if argv and not argv[0].startswith("-") and _is_subcommand(argv[0], subcommands):
        return ParsedCommandLine(subcommand=argv[0], subcommand_args=list(argv[1:]))
    table = table or option_table(syntax)
    items: list[CliItem] = []
    i = 0
    while i < len(argv):
        word = argv[i]
        if not word.startswith("-"):
            # vl.c: drive_add(IF_DEFAULT, 0, word, HD_OPTS), i.e. -hda word
            items.append(CliItem("hda", word, word, i, "image", table.get("hda")))
            i += 1
            continue
        item, i = lookup_opt(argv, i, table)
        items.append(item)
    return ParsedCommandLine(items=items)


__all__ = [
    "MEMDEVD_OPTION",
    "CliItem",
    "OptionSpec",
    "OptionTable",
    "ParsedCommandLine",
    "SubcommandHook",
    "lookup_opt",
    "option_table",
    "qemu_has_option",
    "tokenize",
]
