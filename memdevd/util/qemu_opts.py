"""QEMU's command-line *syntax*: option groups, keyval, JSON and scalar values.

This module owns how QEMU turns one option argument into data, and the exact
texts of the errors it reports while doing so.  It does not know what any key
means (``cli.py`` does); it knows the grammar:

* scalars: ``qemu_strtosz`` (sizes, ``parse_size``), QemuOpts numbers
  (``parse_uint``), the keyval/opts visitors' integers (``parse_int``),
  ``qapi_bool_parse`` (``parse_bool``), with the message each context uses;
* QemuOpts (``util/qemu-option.c``): ``key=val,...`` with ``,,`` escaping, the
  implied first key, short-form booleans (``key`` / ``nokey``, deprecated),
  ``id=`` and duplicate-ID checks, ``merge_lists``, validation against a
  ``QemuOptDesc`` table and the ``help`` output (``QemuOptsList``);
* keyval (``util/keyval.c``): dotted keys into nested dicts and lists, and
  ``keyval_merge``;
* the legacy character-device spec of ``-qmp``/``-monitor``/``-serial``
  (``qemu_chr_parse_compat``) and ``-qmp``'s monitor options;
* error layout on stderr (``util/error-report.c``): ``OptionError``,
  ``Diagnostic`` and ``format_error``.

It is a port of the C code, function for function, where the behaviour is
observable: the references are QEMU 7.2 (Debian 7.2+dfsg-7+deb12u18) and
10.0.2.  Where the two differ, the release's rules (``SyntaxRules``, fields of
the release table) say which behaviour applies; nothing here compares version
numbers.  The option tables come from the target (``Syntax``).
"""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal, TypeAlias

from memdevd import messages as M
from memdevd.records import record
from memdevd.util.cutils import (
    C_SPACE,
    ERANGE,
    c_isalnum,
    c_isalpha,
    c_isdigit,
    char_at,
    id_wellformed,
    qemu_strtoi64,
    qemu_strtosz,
    qemu_strtosz_of,
    qemu_strtou64,
    strtoll,
    strtoull,
)
from memdevd.util.option_defs import OptsListDef, Syntax, SyntaxRules

# ---------------------------------------------------------------------------
# Diagnostics and their layout on stderr

# plain: printed as is, without the program name (QEMU's fprintf(stderr));
# stdout: the same on standard output (QEMU's qemu_printf() without a monitor).
DiagnosticKind: TypeAlias = Literal["error", "warning", "info", "plain", "stdout"]


class FileLocation(str):
    """A LOC_FILE location, ``FILE:LINE``: print_loc() writes it right after
    the program name, without a space (``prog:FILE:LINE: text``).  Empty:
    LOC_NONE saved where a file was being read (nothing is printed)."""

    __slots__ = ()


@record
class Diagnostic:
    """One message QEMU prints with error_report()/warn_report().

    ``location`` is the command-line location as QEMU prints it: the option
    and its argument as typed, joined by a space (``"-m 1Q"``), or None when
    QEMU has no current location.  ``hint`` is printed verbatim after the
    message line (QEMU's hints end with a newline themselves).
    """

    message: str
    hint: str | None = None
    location: str | None = None
    kind: DiagnosticKind = "error"


class OptionError(ValueError):
    """A start-up error as QEMU reports it, then ``exit(1)``.

    Parsers in this module raise it without a location; whoever knows which
    command-line item was being parsed sets ``location`` (``err.at("-m 1Q")``).
    ``preceding`` holds what QEMU printed before this error while parsing the
    same argument (deprecation warnings, or a first error line such as
    ``'x' is not a valid char driver`` before ``parse error: x``).
    """

    exit_status = 1
    #: QEMU abort()s instead (a failed assertion): killed by SIGABRT, or by
    #: ``abort_signal`` (GLib's g_error() in a failed g_malloc: SIGTRAP).
    aborts = False
    abort_signal = 6

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        location: str | None = None,
        preceding: Sequence[Diagnostic] = (),
        *,
        plain: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.location = location
        self.preceding: list[Diagnostic] = list(preceding)
        # A bare fprintf(stderr) before exit(1): no program name, no location.
        self.plain = plain

    def at(self, location: str | None) -> OptionError:
        """Set the location of this error and of its preceding diagnostics."""
        self.location = location
        for diag in self.preceding:
            if diag.location is None:
                diag.location = location
        return self

    def diagnostic(self) -> Diagnostic:
        return Diagnostic(
            self.message, self.hint, self.location, "plain" if self.plain else "error"
        )

    def __str__(self) -> str:
        return self.message


class SizeError(OptionError):
    """A size QEMU rejects; ``kind`` is ``"invalid"`` (-EINVAL) or ``"range"`` (-ERANGE)."""

    def __init__(
        self, message: str, hint: str | None = None, *, kind: Literal["invalid", "range"]
    ) -> None:
        super().__init__(message, hint)
        self.kind = kind


class HelpRequested(Exception):
    """The argument asked for help (``key,help``): QEMU prints ``text`` to stdout and exits.

    ``preceding`` is what QEMU prints to stderr while making the help
    (Debian's notes on modules that are not installed).
    """

    def __init__(self, text: str, exit_status: int, preceding: Sequence[Diagnostic] = ()) -> None:
        super().__init__(text)
        self.text = text
        self.exit_status = exit_status
        self.preceding = list(preceding)


# -msg timestamp=on: error_report() lines start with the ISO 8601 time.
message_timestamps = False


def set_message_timestamps(on: bool) -> None:
    global message_timestamps
    message_timestamps = on


def _timestamp() -> str:
    """``real_time_iso8601()``: UTC with microseconds, e.g. 2026-11-25T15:21:17.865640Z."""
    import datetime

    now = datetime.datetime.now(datetime.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def format_diagnostic(prog: str, diag: Diagnostic) -> str:
    """One diagnostic as QEMU writes it to stderr (print_loc + vreport).

    ``prog: LOCATION: [warning: ]MESSAGE\\n`` then the hint, verbatim; without a
    location ``prog: [warning: ]MESSAGE\\n``.  With ``-msg timestamp=on`` the
    line starts with the time.
    """
    if diag.kind in ("plain", "stdout"):
        return diag.message + "\n"
    out = f"{_timestamp()} {prog}:" if message_timestamps else f"{prog}:"
    if isinstance(diag.location, FileLocation):
        out += f"{diag.location}: " if diag.location else " "
    elif diag.location is not None:
        out += f" {diag.location}: "
    else:
        out += " "
    if diag.kind == "warning":
        out += "warning: "
    elif diag.kind == "info":
        out += "info: "
    out += diag.message + "\n"
    if diag.hint:
        out += diag.hint
    return out


def format_error(prog: str, err: OptionError | Diagnostic) -> str:
    """What QEMU writes to stderr for ``err``: its preceding diagnostics, then it.

    ``prog`` is the program name QEMU prints (basename of argv[0]).  The text
    ends with a newline; QEMU then exits with ``err.exit_status`` (1).
    """
    if isinstance(err, Diagnostic):
        return format_diagnostic(prog, err)
    return "".join(format_diagnostic(prog, d) for d in err.preceding) + format_diagnostic(
        prog, err.diagnostic()
    )


def cmdline_location(*argv_items: str) -> str:
    """QEMU's LOC_CMDLINE text: the argv words of the current option, space-joined."""
    return " ".join(argv_items)


class SizeContext(enum.Enum):
    """Which QEMU code parses the size, which decides the error text."""

    #: QemuOpts QEMU_OPT_SIZE (parse_option_size), also the string input
    #: visitor (``-device foo,size=...``, ``-global``).
    QEMU_OPTS = "qemu_opts"
    #: the keyval QObject input visitor (``-machine memory.size=``, ``-blockdev``).
    KEYVAL = "keyval"
    #: the opts visitor (``-object`` in QemuOpts syntax, ``-numa``).
    OPTS_VISITOR = "opts_visitor"


_SIZE_HINT = (
    "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
    "and exabytes, respectively.\n"
)


def parse_size(
    text: str,
    *,
    name: str = "size",
    context: SizeContext = SizeContext.QEMU_OPTS,
    syntax: SyntaxRules | None = None,
    warnings: list[str] | None = None,
) -> int:
    """Parse a size as qemu_strtosz does; raise SizeError with QEMU's text for ``context``.

    ``name`` is the parameter name QEMU puts in the message (the keyval
    visitor uses the full dotted path, e.g. ``memory.size``).
    """
    ret, value = qemu_strtosz(text, syntax, warnings=warnings)
    if ret == 0:
        return value
    kind: Literal["invalid", "range"] = "range" if ret == -ERANGE else "invalid"
    if context is SizeContext.QEMU_OPTS:
        if kind == "range":
            raise SizeError(M.VALUE_OUT_OF_RANGE.format(text, name), kind=kind)
        raise SizeError(
            M.INVALID_PARAMETER_VALUE.format(name, "a non-negative number below 2^64"),
            _SIZE_HINT,
            kind=kind,
        )
    if context is SizeContext.KEYVAL:
        raise SizeError(M.INVALID_PARAMETER_VALUE.format(name, "a size"), kind=kind)
    raise SizeError(M.INVALID_PARAMETER_VALUE.format(name, "a size value"), kind=kind)


class NumberContext(enum.Enum):
    """Which QEMU code parses an integer, which decides syntax and error text."""

    #: QemuOpts QEMU_OPT_NUMBER: qemu_strtou64(base 0); "-1" wraps to 2^64-1.
    QEMU_OPTS = "qemu_opts"
    #: keyval QObject input visitor: qemu_strtou64 / qemu_strtoi64, base 0.
    KEYVAL = "keyval"
    #: opts visitor: parse_uint / strtoll, base 0.
    OPTS_VISITOR = "opts_visitor"


def parse_uint(text: str, *, name: str, context: NumberContext = NumberContext.QEMU_OPTS) -> int:
    """An unsigned 64-bit number as ``context`` parses it; OptionError with QEMU's text."""
    if context is NumberContext.QEMU_OPTS:
        ret, value, _ = qemu_strtou64(text, 0, want_end=False)
        if ret == -ERANGE:
            raise OptionError(M.VALUE_TOO_LARGE.format(text, name))
        if ret:
            raise OptionError(M.INVALID_PARAMETER_VALUE.format(name, "a number"))
        return value
    if context is NumberContext.KEYVAL:
        ret, value, _ = qemu_strtou64(text, 0, want_end=False)
        if ret:
            raise OptionError(M.INVALID_PARAMETER_VALUE.format(name, "integer"))
        return value
    # opts visitor: parse_uint() rejects a minus sign (after whitespace)
    value, ep, errno = strtoull(text, 0)
    if errno or ep == 0 or text.lstrip(C_SPACE).startswith("-") or ep < len(text):
        raise OptionError(M.INVALID_PARAMETER_VALUE.format(name, "a uint64 value"))
    return value


def parse_int(text: str, *, name: str, context: NumberContext = NumberContext.KEYVAL) -> int:
    """A signed 64-bit number (keyval or opts visitor); OptionError with QEMU's text."""
    if context is NumberContext.OPTS_VISITOR:
        value, ep, errno = strtoll(text, 0)
        if errno or ep == 0 or ep < len(text):
            raise OptionError(M.INVALID_PARAMETER_VALUE.format(name, "an int64 value"))
        return value
    if context is NumberContext.QEMU_OPTS:
        raise ValueError("QemuOpts has no signed numbers")
    ret, value, _ = qemu_strtoi64(text, 0, want_end=False)
    if ret:
        raise OptionError(M.INVALID_PARAMETER_VALUE.format(name, "integer"))
    return value


_TRUE_WORDS = frozenset({"on", "yes", "true", "y"})
_FALSE_WORDS = frozenset({"off", "no", "false", "n"})


def parse_bool(text: str, *, name: str) -> bool:
    """qapi_bool_parse (QEMU 7.2 and 10.0): on/yes/true/y, off/no/false/n, case-sensitive.

    The QemuOpts, keyval-visitor, opts-visitor and string-visitor paths all
    report "Parameter 'NAME' expects 'on' or 'off'".
    """
    if text in _TRUE_WORDS:
        return True
    if text in _FALSE_WORDS:
        return False
    raise OptionError(M.INVALID_PARAMETER_VALUE.format(name, "'on' or 'off'"))


def is_help_option(text: str) -> bool:
    """QEMU's is_help_option(): ``help`` or ``?``."""
    return text in ("help", "?")


def _starts_with_help_option(text: str) -> int:
    if text.startswith("?"):
        return 1
    if text.startswith("help"):
        return 4
    return 0


def parse_qapi_name(text: str, complete: bool) -> int:
    """QEMU's parse_qapi_name(): length of the QAPI name at the start, or -1."""
    p = 0
    if char_at(text, p) == "_":  # downstream __RFQDN_
        p += 1
        if char_at(text, p) != "_":
            return -1
        p += 1
        while p < len(text) and (c_isalnum(text[p]) or text[p] in "-."):
            p += 1
        if char_at(text, p) != "_":
            return -1
        p += 1
    if not c_isalpha(char_at(text, p)):
        return -1
    p += 1
    while p < len(text) and (c_isalnum(text[p]) or text[p] in "-_"):
        p += 1
    if complete and p < len(text):
        return -1
    return p


# ---------------------------------------------------------------------------
# QemuOpts


class OptType(enum.Enum):
    """QemuOptType."""

    STRING = "string"
    BOOL = "bool"
    NUMBER = "number"
    SIZE = "size"


_TYPE_HELP = {
    OptType.STRING: "str",
    OptType.BOOL: "bool (on/off)",
    OptType.NUMBER: "num",
    OptType.SIZE: "size",
}


@record(frozen=True)
class OptDesc:
    """QemuOptDesc: an accepted key, its type, help text and default."""

    name: str
    type: OptType = OptType.STRING
    help: str | None = None
    def_value_str: str | None = None


@record
class QemuOpt:
    """One ``key=value`` as given: the raw string and, when typed, its value."""

    name: str
    str: str
    desc: OptDesc | None = None
    value: bool | int | None = None


def get_opt_value(params: str, pos: int = 0) -> tuple[str, int]:
    """QEMU's get_opt_value(): the value at ``pos`` up to an unescaped comma.

    ``,,`` stands for one comma.  Returns (value, index of the ending comma or
    of the end of the string).
    """
    parts: list[str] = []
    n = len(params)
    while True:
        offset = params.find(",", pos)
        if offset < 0:
            offset = n
        length = offset - pos
        doubled = offset < n and char_at(params, offset + 1) == ","
        if doubled:
            length += 1
        parts.append(params[pos : pos + length])
        if not doubled:
            return "".join(parts), offset
        pos = offset + 2


def escape_opt_value(value: str) -> str:
    """The QemuOpts spelling of ``value``: each comma doubled (QEMU's escaped_print)."""
    return value.replace(",", ",,")


@record
class _NameValue:
    name: str
    value: str
    next_pos: int
    is_help: bool
    warning: Diagnostic | None


def _get_opt_name_value(
    params: str, pos: int, firstname: str | None, warn_on_flag: bool
) -> _NameValue:
    rest = params[pos:]
    length = next((i for i, c in enumerate(rest) if c in "=,"), len(rest))  # strcspn
    is_help = False
    warning: Diagnostic | None = None
    if char_at(params, pos + length) != "=":
        if firstname is not None:
            name = firstname
            value, p = get_opt_value(params, pos)
        else:
            # option without value, must be a flag
            name = params[pos : pos + length]
            p = pos + length
            prefix = ""
            if name.startswith("no"):
                name = name[2:]
                value = "off"
                prefix = "no"
            else:
                value = "on"
                is_help = is_help_option(name)
            if not is_help and warn_on_flag:
                if name == "delay":
                    hint = f"Please use nodelay={'on' if prefix else 'off'} instead\n"
                else:
                    hint = f"Please use {name}={value} instead\n"
                warning = Diagnostic(
                    M.SHORT_FORM_BOOLEAN_DEPRECATED.format(prefix + name), hint, kind="warning"
                )
    else:
        name = params[pos : pos + length]
        value, p = get_opt_value(params, pos + length + 1)
    if char_at(params, p) == ",":
        p += 1
    return _NameValue(name, value, p, is_help, warning)


def has_help_option(params: str) -> bool:
    """QEMU's has_help_option(): some item of ``params`` is a ``help``/``?`` flag."""
    pos = 0
    while pos < len(params):
        nv = _get_opt_name_value(params, pos, None, False)
        if nv.is_help:
            return True
        pos = nv.next_pos
    return False


def _opts_parse_id(params: str) -> str | None:
    pos = 0
    while pos < len(params):
        nv = _get_opt_name_value(params, pos, None, False)
        if nv.name == "id":
            return nv.value
        pos = nv.next_pos
    return None


class QemuOpts:
    """One parsed option group (``QemuOpts``): its id and its ``key=value`` items in order.

    Repeated keys are all kept; ``get`` returns the last one, as
    ``qemu_opt_get`` does.  Values are the raw strings as typed (after
    ``,,`` unescaping); typed lists also keep the parsed ``QemuOpt.value``.
    """

    def __init__(self, opts_list: QemuOptsList, opts_id: str | None) -> None:
        self.list = opts_list
        self.id = opts_id
        self.opts: list[QemuOpt] = []

    def __repr__(self) -> str:
        items = ", ".join(f"{o.name}={o.str!r}" for o in self.opts)
        return f"<QemuOpts {self.list.name} id={self.id!r} [{items}]>"

    # -- reading
    def find(self, name: str) -> QemuOpt | None:
        """qemu_opt_find(): the last ``name`` item."""
        for opt in reversed(self.opts):
            if opt.name == name:
                return opt
        return None

    def get(self, name: str) -> str | None:
        """qemu_opt_get(): the last value of ``name``, else its default, else None."""
        opt = self.find(name)
        if opt is not None:
            return opt.str
        desc = self.list.find_desc(name)
        return desc.def_value_str if desc else None

    def get_all(self, name: str) -> list[str]:
        return [o.str for o in self.opts if o.name == name]

    def get_bool(self, name: str, default: bool) -> bool:
        opt = self.find(name)
        if opt is None:
            desc = self.list.find_desc(name)
            if desc and desc.def_value_str is not None:
                return parse_bool(desc.def_value_str, name=name)
            return default
        if isinstance(opt.value, bool):
            return opt.value
        return parse_bool(opt.str, name=name)

    def get_number(self, name: str, default: int) -> int:
        opt = self.find(name)
        if opt is None:
            desc = self.list.find_desc(name)
            if desc and desc.def_value_str is not None:
                return parse_uint(desc.def_value_str, name=name)
            return default
        if isinstance(opt.value, int) and not isinstance(opt.value, bool):
            return opt.value
        return parse_uint(opt.str, name=name)

    def get_size(self, name: str, default: int) -> int:
        opt = self.find(name)
        if opt is None:
            desc = self.list.find_desc(name)
            if desc and desc.def_value_str is not None:
                return parse_size(desc.def_value_str, name=name, syntax=self.list.syntax)
            return default
        if isinstance(opt.value, int) and not isinstance(opt.value, bool):
            return opt.value
        return parse_size(opt.str, name=name, syntax=self.list.syntax)

    def items(self) -> list[tuple[str, str]]:
        """All ``(key, raw value)`` pairs in the order given (``id`` excluded)."""
        return [(o.name, o.str) for o in self.opts]

    def to_dict(self) -> dict[str, str]:
        """qemu_opts_to_qdict(): ``id`` first if set, then each key, last value wins."""
        out: dict[str, str] = {}
        if self.id is not None:
            out["id"] = self.id
        for o in self.opts:
            out[o.name] = o.str
        return out

    def has_help_opt(self) -> bool:
        """qemu_opt_has_help_opt(): a ``help`` or ``?`` key is present."""
        return any(is_help_option(o.name) for o in self.opts)

    def to_params(self) -> str:
        """These options in QemuOpts syntax (``id=`` first), commas escaped."""
        parts = [f"id={self.id}"] if self.id is not None else []
        parts += [f"{o.name}={escape_opt_value(o.str)}" for o in self.opts]
        return ",".join(parts)

    # -- writing
    def set(self, name: str, value: str, *, warnings: list[Diagnostic] | None = None) -> None:
        """qemu_opt_set(): add ``name=value`` after validating it."""
        opt = QemuOpt(name, value)
        self.list._validate(opt, warnings)
        self.opts.append(opt)

    def set_bool(self, name: str, value: bool) -> None:
        """qemu_opt_set_bool()."""
        desc = self.list.find_desc(name)
        if desc is None and not self.list.accepts_any:
            raise OptionError(M.INVALID_PARAMETER.format(name))
        self.opts.append(QemuOpt(name, "on" if value else "off", desc, value))

    def unset(self, name: str) -> bool:
        """qemu_opt_unset() (the last ``name``); False if absent."""
        for i in range(len(self.opts) - 1, -1, -1):
            if self.opts[i].name == name:
                del self.opts[i]
                return True
        return False

    def delete_all(self, name: str) -> None:
        self.opts = [o for o in self.opts if o.name != name]

    def do_parse(
        self,
        params: str,
        firstname: str | None = None,
        *,
        warn_on_flag: bool = False,
        warnings: list[Diagnostic] | None = None,
    ) -> None:
        """qemu_opts_do_parse(): add the items of ``params`` (``id`` is skipped)."""
        self.list._opts_do_parse(self, params, firstname, warn_on_flag, False, warnings)

    def delete(self) -> None:
        """qemu_opts_del(): remove from its list (frees the id for reuse)."""
        if self in self.list.head:
            self.list.head.remove(self)

    def validate(
        self, desc: Sequence[OptDesc], *, warnings: list[Diagnostic] | None = None
    ) -> None:
        """qemu_opts_validate(): check an accept-any group against ``desc``."""
        by_name = {d.name: d for d in desc}
        for opt in self.opts:
            d = by_name.get(opt.name)
            if d is None:
                raise OptionError(M.INVALID_PARAMETER.format(opt.name))
            opt.desc = d
            opt.value = _parse_typed(opt, d, self.list.syntax, warnings)


def _parse_typed(
    opt: QemuOpt, desc: OptDesc, syntax: SyntaxRules | None, warnings: list[Diagnostic] | None
) -> bool | int | None:
    if desc.type is OptType.BOOL:
        return parse_bool(opt.str, name=opt.name)
    if desc.type is OptType.NUMBER:
        return parse_uint(opt.str, name=opt.name)
    if desc.type is OptType.SIZE:
        texts: list[str] = []
        try:
            return parse_size(opt.str, name=opt.name, syntax=syntax, warnings=texts)
        finally:
            # 7.2 warns about hex with a suffix (warn_report at the current location)
            if warnings is not None:
                warnings.extend(Diagnostic(t, kind="warning") for t in texts)
    return None


class QemuOptsList:
    """QemuOptsList: a named option group's grammar (desc) and its parsed instances.

    It is stateful like QEMU's: ``head`` holds every QemuOpts created from
    it, which is what duplicate-ID errors and ``merge_lists`` act on.  Use one
    instance per QEMU run (``new_opts_lists()`` makes a fresh set).
    """

    def __init__(
        self,
        name: str,
        *,
        implied_opt_name: str | None = None,
        merge_lists: bool = False,
        desc: Iterable[OptDesc] = (),
        syntax: SyntaxRules | None = None,
    ) -> None:
        self.name = name
        self.implied_opt_name = implied_opt_name
        self.merge_lists = merge_lists
        self._desc: tuple[OptDesc, ...] | None = tuple(desc)
        self._desc_def: OptsListDef | None = None
        # The release's rules (None: QEMU's current code).
        self.syntax = syntax
        self.head: list[QemuOpts] = []

    @classmethod
    def from_def(cls, d: OptsListDef, syntax: SyntaxRules | None) -> QemuOptsList:
        made = cls(
            d.name, implied_opt_name=d.implied_opt_name, merge_lists=d.merge_lists, syntax=syntax
        )
        # (the desc made when the list is first used: a run uses a few of ~45)
        made._desc, made._desc_def = None, d
        return made

    @property
    def desc(self) -> tuple[OptDesc, ...]:
        """The keys the list accepts (empty: any key)."""
        if self._desc is None:
            assert self._desc_def is not None
            self._desc = _desc_of(self._desc_def)
        return self._desc

    def __repr__(self) -> str:
        return f"<QemuOptsList {self.name} ({len(self.head)} opts)>"

    @property
    def accepts_any(self) -> bool:
        """opts_accepts_any(): no desc means any key is accepted (checked later)."""
        return not self.desc

    def find_desc(self, name: str) -> OptDesc | None:
        for d in self.desc:
            if d.name == name:
                return d
        return None

    def find(self, opts_id: str | None) -> QemuOpts | None:
        """qemu_opts_find()."""
        for opts in self.head:
            if opts.id is None and opts_id is None:
                return opts
            if opts.id is not None and opts_id is not None and opts.id == opts_id:
                return opts
        return None

    def create(self, opts_id: str | None = None, fail_if_exists: bool = True) -> QemuOpts:
        """qemu_opts_create(): a new (or, with merge_lists, the single) group."""
        if self.merge_lists:
            if opts_id is not None:
                raise OptionError(M.INVALID_PARAMETER.format("id"))
            existing = self.find(None)
            if existing is not None:
                return existing
        elif opts_id is not None:
            if not id_wellformed(opts_id):
                raise OptionError(
                    M.INVALID_PARAMETER_VALUE.format("id", "an identifier"),
                    "Identifiers consist of letters, digits, '-', '.', '_', "
                    "starting with a letter.\n",
                )
            if fail_if_exists and self.find(opts_id) is not None:
                raise OptionError(M.DUPLICATE_OPTS_ID.format(opts_id, self.name))
        opts = QemuOpts(self, opts_id)
        self.head.append(opts)
        return opts

    def _validate(self, opt: QemuOpt, warnings: list[Diagnostic] | None) -> None:
        desc = self.find_desc(opt.name)
        if desc is None and not self.accepts_any:
            raise OptionError(M.INVALID_PARAMETER.format(opt.name))
        opt.desc = desc
        if desc is not None:
            opt.value = _parse_typed(opt, desc, self.syntax, warnings)

    def _opts_do_parse(
        self,
        opts: QemuOpts,
        params: str,
        firstname: str | None,
        warn_on_flag: bool,
        want_help: bool,
        warnings: list[Diagnostic] | None,
    ) -> bool:
        """opts_do_parse(); returns True when a help flag stopped it."""
        pos = 0
        while pos < len(params):
            nv = _get_opt_name_value(params, pos, firstname, warn_on_flag)
            pos = nv.next_pos
            if nv.warning is not None and warnings is not None:
                warnings.append(nv.warning)
            if want_help and nv.is_help:
                return True
            firstname = None
            if nv.name == "id":
                continue
            opt = QemuOpt(nv.name, nv.value)
            self._validate(opt, warnings)
            opts.opts.append(opt)
        return False

    def _parse(
        self,
        params: str,
        permit_abbrev: bool,
        warn_on_flag: bool,
        want_help: bool,
        warnings: list[Diagnostic],
    ) -> QemuOpts | None:
        if permit_abbrev and self.implied_opt_name is None:
            raise ValueError(f"QemuOptsList {self.name} has no implied option name")
        firstname = self.implied_opt_name if permit_abbrev else None
        opts_id = _opts_parse_id(params)
        opts = self.create(opts_id, not self.merge_lists)
        try:
            helped = self._opts_do_parse(opts, params, firstname, warn_on_flag, want_help, warnings)
        except OptionError:
            # opts_parse() deletes the whole group on error (for a merged
            # list that drops what earlier options had set, too).
            opts.delete()
            raise
        if helped:
            opts.delete()
            return None
        return opts

    def parse(
        self,
        params: str,
        permit_abbrev: bool = False,
        *,
        warnings: list[Diagnostic] | None = None,
    ) -> QemuOpts:
        """qemu_opts_parse(): no deprecation warnings, ``help`` is an ordinary key."""
        sink: list[Diagnostic] = [] if warnings is None else warnings
        opts = self._parse(params, permit_abbrev, False, False, sink)
        assert opts is not None
        return opts

    def parse_noisily(
        self,
        params: str,
        permit_abbrev: bool = False,
        *,
        warnings: list[Diagnostic] | None = None,
    ) -> QemuOpts:
        """qemu_opts_parse_noisily(), as the command line uses it.

        Short-form booleans (``key``, ``nokey``) produce QEMU's deprecation
        warning (appended to ``warnings``, and attached to a following
        error).  For a list with a desc, a ``help``/``?`` item raises
        HelpRequested with the list's help text and exit status 1 (QEMU's
        callers exit(1) when this returns NULL).
        """
        sink: list[Diagnostic] = [] if warnings is None else warnings
        start = len(sink)
        try:
            opts = self._parse(params, permit_abbrev, True, not self.accepts_any, sink)
        except OptionError as err:
            err.preceding[:0] = sink[start:]
            raise
        if opts is None:
            raise HelpRequested(self.print_help(True), exit_status=1)
        return opts

    def print_help(self, print_caption: bool = True) -> str:
        """qemu_opts_print_help(): the text QEMU prints to stdout."""
        lines = []
        for d in self.desc:
            s = f"  {d.name}=<{_TYPE_HELP[d.type]}>"
            if d.help:
                if len(s) < 24:
                    s += " " * (24 - len(s))
                s += f" - {d.help}"
            lines.append(s)
        lines.sort(key=lambda x: x.encode())
        out = ""
        if print_caption and lines:
            out += f"{self.name} options:\n"
        elif not lines:
            out += f"There are no options for {self.name}.\n"
        return out + "".join(line + "\n" for line in lines)


# The descs are immutable: built once per table entry, shared by every run
# (fleet mode parses a command line per VM).
_DESCS: dict[int, tuple[OptsListDef, tuple[OptDesc, ...]]] = {}


def _desc_of(d: OptsListDef) -> tuple[OptDesc, ...]:
    entry = _DESCS.get(id(d))
    if entry is None or entry[0] is not d:
        desc = tuple(OptDesc(x.name, OptType(x.type), x.help, x.def_value_str) for x in d.desc)
        entry = _DESCS[id(d)] = (d, desc)
    return entry[1]


def new_opts_lists(syntax: Syntax) -> dict[str, QemuOptsList]:
    """Fresh (empty) QemuOptsLists for one run, by QEMU list name.

    Contains ``memory`` (-m), ``accel``, ``object``, ``device``, ``global``,
    ``numa``, ``mon``, ``chardev``, ``smp-opts``, ``boot-opts``, ``name``,
    ``overcommit``, ``msg``, ``action``, ``rtc``, ``icount``, ``fw_cfg``,
    ``option-rom``, ``add-fd``, ``tpmdev`` and (10.0) ``run-with``, with
    QEMU's descs for that version.
    """
    return {name: QemuOptsList.from_def(d, syntax) for name, d in syntax.opts_lists.items()}


# ---------------------------------------------------------------------------
# keyval

KeyvalValue: TypeAlias = "str | dict[str, KeyvalValue] | list[KeyvalValue]"
KeyvalDict: TypeAlias = "dict[str, KeyvalValue]"


@record
class KeyvalResult:
    """keyval_parse()'s dictionary and whether a ``help``/``?`` item was present."""

    values: dict[str, KeyvalValue]
    help: bool = False


def _key_to_index(key: str) -> tuple[int, int]:
    """key_to_index(): (index capped at INT_MAX or -1, length of the digits)."""
    if not c_isdigit(char_at(key, 0)):
        return -1, 0
    m = re.match(r"\d+", key)
    assert m is not None
    return min(int(m.group()), 2**31 - 1), m.end()


def _keyval_parse_put(
    cur: dict[str, KeyvalValue], key_in_cur: str, value: str | None, key_prefix: str
) -> KeyvalValue:
    old = cur.get(key_in_cur)
    if old is not None:
        if (value is None and not isinstance(old, dict)) or (
            value is not None and not isinstance(old, str)
        ):
            raise OptionError(M.KEYVAL_PARAMETERS_INCONSISTENT.format(key_prefix + "."))
        if value is None:
            return old
        cur[key_in_cur] = value
        return value
    new: KeyvalValue = {} if value is None else value
    cur[key_in_cur] = new
    return new


def _keyval_parse_one(
    qdict: dict[str, KeyvalValue], params: str, pos: int, implied_key: str | None
) -> tuple[int, bool]:
    """keyval_parse_one(): (next position, help seen)."""
    rest = params[pos:]
    length = next((i for i, c in enumerate(rest) if c in "=,"), len(rest))
    key_src = params
    key_start = pos
    val_end: int | None = None
    implied = False
    if length and char_at(params, pos + length) != "=":
        if _starts_with_help_option(rest) == length:
            s = pos + length
            if char_at(params, s) == ",":
                s += 1
            return s, True
        if implied_key is not None:
            implied = True
            key_src = implied_key
            key_start = 0
            val_end = pos + length
            length = len(implied_key)
    key_end = key_start + length
    key = key_src[key_start:key_end]

    cur = qdict
    s = key_start
    key_in_cur = ""
    while True:
        frag = key_src[s:]
        if s != key_start and _key_to_index(frag)[0] >= 0:
            flen = _key_to_index(frag)[1]
        else:
            ret = parse_qapi_name(frag, False)
            flen = max(ret, 0)
        if not flen or (s + flen < key_end and key_src[s + flen] != "."):
            raise OptionError(M.INVALID_PARAMETER.format(key))
        if flen >= 128:
            fragment = " fragment" if s != key_start or s + flen != key_end else ""
            raise OptionError(M.KEYVAL_PARAMETER_TOO_LONG.format(fragment, key_src[s : s + flen]))
        if s != key_start:
            nxt = _keyval_parse_put(cur, key_in_cur, None, key_src[key_start : s - 1])
            assert isinstance(nxt, dict)
            cur = nxt
        key_in_cur = key_src[s : s + flen]
        s += flen
        if char_at(key_src, s) != ".":
            break
        s += 1

    if implied:
        assert val_end is not None
        value = params[pos:val_end]
        s = val_end
        if char_at(params, s) == ",":
            s += 1
    else:
        if char_at(key_src, s) != "=":
            raise OptionError(M.KEYVAL_EXPECTED_EQUALS.format(key_src[key_start:s]))
        s += 1
        chars: list[str] = []
        n = len(params)
        while s < n:
            if params[s] == ",":
                s += 1
                if char_at(params, s) != ",":
                    break
            chars.append(params[s])
            s += 1
        value = "".join(chars)
    _keyval_parse_put(cur, key_in_cur, value, key)
    return s, False


def _keyval_listify(cur: dict[str, KeyvalValue], key_of_cur: list[str]) -> KeyvalValue:
    has_index = False
    has_member = False
    for k in list(cur):
        v = cur[k]
        if _key_to_index(k)[0] >= 0 and _key_to_index(k)[1] == len(k):
            has_index = True
        else:
            has_member = True
        if isinstance(v, dict):
            new = _keyval_listify(v, [*key_of_cur, k])
            if new is not v:
                cur[k] = new
    prefix = "".join(f"{k}." for k in key_of_cur)
    if has_index and has_member:
        raise OptionError(M.KEYVAL_PARAMETERS_INCONSISTENT.format(prefix))
    if not has_index:
        return cur
    nelt = len(cur) + 1
    elt: list[KeyvalValue | None] = [None] * nelt
    max_index = -1
    for k, v in cur.items():
        index = _key_to_index(k)[0]
        max_index = max(max_index, index)
        if index >= nelt - 1:
            continue
        elt[index] = v
    out: list[KeyvalValue] = []
    for i in range(min(nelt, max_index + 1)):
        item = elt[i]
        if item is None:
            raise OptionError(M.KEYVAL_PARAMETER_MISSING.format(f"{prefix}{i}"))
        out.append(item)
    return out


def keyval_parse(
    params: str,
    implied_key: str | None = None,
    *,
    into: dict[str, KeyvalValue] | None = None,
    help_allowed: bool = True,
) -> KeyvalResult:
    """keyval_parse() / keyval_parse_into(): ``a.b=1,c.0=x`` into nested dicts and lists.

    Values stay strings.  ``into`` is updated in place, as ``-machine`` does
    with its accumulated dictionary (later keys replace earlier ones, a key
    used both as a leaf and as a prefix is an error); on error it keeps what
    was parsed before the error, as QEMU's does.  Without ``help_allowed`` a
    help item is the error "Help is not available for this option".
    """
    qdict: dict[str, KeyvalValue] = {} if into is None else into
    pos = 0
    help_seen = False
    key = implied_key
    while pos < len(params):
        pos, h = _keyval_parse_one(qdict, params, pos, key)
        help_seen = help_seen or h
        key = None
    if help_seen and not help_allowed:
        raise OptionError(M.HELP_NOT_AVAILABLE)
    listified = _keyval_listify(qdict, [])
    assert listified is qdict
    return KeyvalResult(qdict, help_seen)


def keyval_merge(dest: dict[str, KeyvalValue], merged: Mapping[str, KeyvalValue]) -> None:
    """keyval_merge(): dicts merge recursively, lists concatenate, scalars are replaced."""
    _keyval_do_merge(dest, merged, "")


def _keyval_do_merge(
    dest: dict[str, KeyvalValue], merged: Mapping[str, KeyvalValue], path: str
) -> None:
    for k, v in merged.items():
        old = dest.get(k)
        if old is not None:
            if type(old) is not type(v):
                raise OptionError(M.KEYVAL_PARAMETER_INCONSISTENT.format(path + k))
            if isinstance(v, dict):
                assert isinstance(old, dict)
                _keyval_do_merge(old, v, f"{path}{k}.")
                continue
            if isinstance(v, list):
                assert isinstance(old, list)
                old.extend(v)
                continue
        dest[k] = v


# ---------------------------------------------------------------------------
# JSON values (qobject_from_json is memdevd/app/cmdline_json.py's)

JSONValue: TypeAlias = "dict[str, JSONValue] | list[JSONValue] | str | int | float | bool | None"


# ---------------------------------------------------------------------------
# Legacy character device specs (-qmp, -monitor, -serial ...) and -qmp/-mon


def _scan_host_port(p: str, port_stop: str) -> tuple[str, str, int] | None:
    """sscanf(p, "%64[^:]:%32[^<stop>]%n") then the ":%32[^<stop>]%n" fallback."""
    m = re.match(rf"([^:]{{1,64}}):([^{re.escape(port_stop)}]{{1,32}})", p)
    if m:
        return m.group(1), m.group(2), m.end()
    m = re.match(rf":([^{re.escape(port_stop)}]{{1,32}})", p)
    if m:
        return "", m.group(1), m.end()
    return None


class ChardevSpecError(OptionError):
    """qemu_chr_parse_compat() failed; ``printed`` is what it printed (may be empty).

    QEMU's callers add their own line after it (``parse error: SPEC`` for
    -qmp/-monitor), so this is rarely reported on its own; ``message`` is the
    last printed line, or "" when QEMU printed nothing.
    """

    def __init__(self, printed: list[Diagnostic]) -> None:
        super().__init__(printed[-1].message if printed else "", preceding=printed[:-1])
        if printed:
            self.hint = printed[-1].hint
        self.printed = printed


def qemu_chr_parse_compat(
    label: str,
    filename: str,
    lists: Mapping[str, QemuOptsList],
    *,
    permit_mux_mon: bool = True,
) -> QemuOpts:
    """qemu_chr_parse_compat(): a legacy chardev spec into a ``chardev`` QemuOpts.

    ``unix:PATH,server=on,wait=off``, ``tcp:HOST:PORT,...``, ``stdio``,
    ``mon:stdio``, ``file:PATH`` ... ``lists`` is the run's QemuOptsLists
    (``new_opts_lists()``).  On failure it raises ChardevSpecError holding the
    lines QEMU printed; the caller adds its own (monitor_parse's "parse
    error: SPEC").  Note that key=value items after ``unix:`` and ``tcp:``
    go through qemu_opts_do_parse(), which gives no deprecation warning for
    short-form booleans (``server,nowait`` is silent).
    """
    chardev = lists["chardev"]
    syntax = chardev.syntax
    try:
        opts = chardev.create(label, True)
    except OptionError as err:
        raise ChardevSpecError([err.diagnostic()]) from None

    def fail(*printed: Diagnostic) -> ChardevSpecError:
        opts.delete()
        return ChardevSpecError(list(printed))

    p = filename
    if filename.startswith("mon:"):
        if not permit_mux_mon:
            raise fail(Diagnostic(M.CHARDEV_MON_NOT_SUPPORTED))
        filename = filename[4:]
        opts.set("mux", "on")
        if filename == "stdio":
            opts.set("signal", "off")
    if filename in ("null", "pty", "msmouse", "wctablet", "braille", "testdev", "stdio"):
        opts.set("backend", filename)
        return opts
    if filename.startswith("vc"):
        opts.set("backend", "vc")
        p = filename[2:]
        if p.startswith(":"):
            m = re.match(r"([0-9]{1,7})x([0-9]{1,7})", p[1:])
            m2 = re.match(r"([0-9]{1,7})Cx([0-9]{1,7})C", p[1:])
            if m:
                opts.set("width", m.group(1))
                opts.set("height", m.group(2))
            elif m2:
                opts.set("cols", m2.group(1))
                opts.set("rows", m2.group(2))
            else:
                raise fail()
        return opts
    if filename == "con:":
        opts.set("backend", "console")
        return opts
    if filename.startswith("COM"):
        opts.set("backend", "serial")
        opts.set("path", filename)
        return opts
    prefixed: tuple[tuple[str, str], ...] = (("file:", "file"), ("pipe:", "pipe"))
    if syntax is None or syntax.chardev_pty_path:
        prefixed += (("pty:", "pty"),)
    for prefix, backend in prefixed:
        if filename.startswith(prefix):
            opts.set("backend", backend)
            opts.set("path", filename[len(prefix) :])
            return opts
    for prefix in ("tcp:", "telnet:", "tn3270:", "websocket:"):
        if filename.startswith(prefix):
            p = filename[len(prefix) :]
            scanned = _scan_host_port(p, ",")
            if scanned is None:
                raise fail()
            host, port, pos = scanned
            opts.set("backend", "socket")
            opts.set("host", host)
            opts.set("port", port)
            if char_at(p, pos) == ",":
                try:
                    opts.do_parse(p[pos + 1 :], None)
                except OptionError as err:
                    raise fail(err.diagnostic()) from None
            if prefix != "tcp:":
                opts.set(prefix[:-1], "on")
            return opts
    if filename.startswith("udp:"):
        opts.set("backend", "udp")
        p = filename[4:]
        scanned = _scan_host_port(p, "@,")
        if scanned is None:
            raise fail()
        host, port, pos = scanned
        opts.set("host", host)
        opts.set("port", port)
        if char_at(p, pos) == "@":
            p = p[pos + 1 :]
            scanned = _scan_host_port(p, ",")
            if scanned is None:
                raise fail()
            opts.set("localaddr", scanned[0])
            opts.set("localport", scanned[1])
        return opts
    if filename.startswith("unix:"):
        opts.set("backend", "socket")
        try:
            opts.do_parse(filename[5:], "path")
        except OptionError as err:
            raise fail(err.diagnostic()) from None
        return opts
    if filename.startswith(("/dev/parport", "/dev/ppi")):
        opts.set("backend", "parallel")
        opts.set("path", filename)
        return opts
    if filename.startswith("/dev/"):
        opts.set("backend", "serial")
        opts.set("path", filename)
        return opts
    raise fail(Diagnostic(M.CHARDEV_NOT_VALID_DRIVER.format(filename)))


def _c_label(text: str) -> str:
    """snprintf(label, 32, "%s", text): at most 31 bytes."""
    return os.fsdecode(os.fsencode(text)[:31])


def monitor_parse(
    optarg: str,
    lists: Mapping[str, QemuOptsList],
    *,
    mode: Literal["readline", "control"] = "control",
    pretty: bool = False,
    device_index: int = 0,
) -> QemuOpts:
    """vl.c monitor_parse() for ``-qmp``/``-qmp-pretty``/``-monitor``: the ``mon`` QemuOpts.

    ``chardev:ID`` names an existing chardev; anything else is a legacy
    chardev spec, created as chardev ``compat_monitorN`` (N =
    ``device_index``, which the caller increments after each success, as
    QEMU's static counter).  Errors are QEMU's: the spec's own error line(s)
    then "parse error: SPEC".
    """
    if optarg.startswith("chardev:"):
        label = _c_label(optarg[len("chardev:") :])
    else:
        label = _c_label(f"compat_monitor{device_index}")
        try:
            qemu_chr_parse_compat(label, optarg, lists, permit_mux_mon=True)
        except ChardevSpecError as err:
            raise OptionError(M.OPTION_PARSE_ERROR.format(optarg), preceding=err.printed) from None
    mon = lists["mon"].create(label, True)
    mon.set("mode", mode)
    mon.set("chardev", label)
    if mode == "control":
        mon.set_bool("pretty", pretty)
    return mon


__all__ = [
    "ChardevSpecError",
    "Diagnostic",
    "FileLocation",
    "HelpRequested",
    "JSONValue",
    "KeyvalResult",
    "KeyvalValue",
    "NumberContext",
    "OptDesc",
    "OptType",
    "OptionError",
    "QemuOpt",
    "QemuOpts",
    "QemuOptsList",
    "SizeContext",
    "SizeError",
    "cmdline_location",
    "escape_opt_value",
    "format_diagnostic",
    "format_error",
    "get_opt_value",
    "has_help_option",
    "id_wellformed",
    "is_help_option",
    "keyval_merge",
    "keyval_parse",
    "monitor_parse",
    "new_opts_lists",
    "parse_bool",
    "parse_int",
    "parse_qapi_name",
    "parse_size",
    "parse_uint",
    "qemu_chr_parse_compat",
    "qemu_strtoi64",
    "qemu_strtosz",
    "qemu_strtosz_of",
    "qemu_strtou64",
]
