#!/usr/bin/env python3
"""Generate ``memdevd/targets/options_table.py`` from QEMU's own sources.

What it reads, per QEMU version:

* ``qemu-options.hx``: every ``DEF(name, HAS_ARG/0, QEMU_OPTION_x, help,
  arch_mask)``, i.e. the table ``lookup_opt()`` in ``vl.c`` searches.  The
  file is filtered exactly as ``scripts/hxtool -h`` does (``HXCOMM`` lines and
  ``SRST``..``ERST`` blocks dropped), then C preprocessor conditionals are
  evaluated for a Debian Linux build (see ``DEBIAN_LINUX_DEFINES``).  ``vl.c``
  puts ``{ "h", 0, QEMU_OPTION_h, QEMU_ARCH_ALL }`` in front of the DEF
  entries; so do we.
* a few ``QemuOptsList`` initialisers (``-m``'s ``memory``, ``device``,
  ``object``, ``chardev``...): list name, implied key, merge_lists and the
  ``desc`` array, so that memdevd validates keys and prints ``key,help`` the
  way QEMU does.

One table serves every target: the DEF() entries of qemu-options.hx are
compiled into every ``qemu-system-*`` (their conditions are host features),
and only the ``QEMU_ARCH_*`` bit a binary checks an option's ``arch_mask``
against differs.  The file carries that bit for each target memdevd
emulates (``ARCH_I386``, ``ARCH_ARM``); each target's ``cmdline.py`` passes
its own.

Usage::

    python3 tools/gen_qemu_option_table.py \\
        --source 7.2=/work/src/q72p --source 10.0=/work/src/q10

writes ``memdevd/targets/options_table.py`` (``-o`` another file);
``--check`` writes nothing and fails when the file differs from what the
sources give.

The 7.2 tree is Debian's ``qemu_7.2+dfsg`` with ``debian/patches`` applied
(it says 7.2.22 in ``VERSION``); 10.0 is ``qemu_10.0.2+ds``.  The output is
deterministic, so re-running it on the same trees gives the same file.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Macros a Debian Linux x86_64 build of qemu-system-x86 has defined, as far as
# they guard DEF() entries or QemuOptsList members.  The live conformance test
# (tests/conformance/test_cli_syntax_live.py) checks the result against the
# real binaries, so a wrong guess here shows up there.
DEBIAN_LINUX_DEFINES = frozenset(
    {
        "__linux__",
        "CONFIG_LINUX",
        "CONFIG_POSIX",
        "CONFIG_TCG",
        "CONFIG_SPICE",
        "CONFIG_TPM",
        "CONFIG_VNC",
        "CONFIG_SLIRP",
        "CONFIG_GTK",
        "CONFIG_SDL",
        "CONFIG_CURSES",
        "CONFIG_OPENGL",
        "CONFIG_DBUS_DISPLAY",
        "CONFIG_VDE",
        "CONFIG_BRLAPI",
        "CONFIG_AUDIO_ALSA",
        "CONFIG_AUDIO_OSS",
        "CONFIG_AUDIO_PA",
        "CONFIG_AUDIO_PIPEWIRE",
        "CONFIG_AUDIO_SDL",
        "CONFIG_AUDIO_JACK",
        "CONFIG_LIBISCSI",
        "CONFIG_SECCOMP",
        # spice-server 0.14+'s spice.h (ui/spice-core.c's -spice unix=)
        "SPICE_ADDR_FLAG_UNIX_ONLY",
    }
)

# QEMU_ARCH_* bits (include/sysemu/arch_init.h in 7.2, include/system/ in 10.0;
# the bits that exist in both have the same values).
ARCH_BITS = {
    "QEMU_ARCH_ALL": -1,
    "QEMU_ARCH_ALPHA": 1 << 0,
    "QEMU_ARCH_ARM": 1 << 1,
    "QEMU_ARCH_CRIS": 1 << 2,
    "QEMU_ARCH_I386": 1 << 3,
    "QEMU_ARCH_M68K": 1 << 4,
    "QEMU_ARCH_MICROBLAZE": 1 << 6,
    "QEMU_ARCH_MIPS": 1 << 7,
    "QEMU_ARCH_PPC": 1 << 8,
    "QEMU_ARCH_S390X": 1 << 9,
    "QEMU_ARCH_SH4": 1 << 10,
    "QEMU_ARCH_SPARC": 1 << 11,
    "QEMU_ARCH_XTENSA": 1 << 12,
    "QEMU_ARCH_OPENRISC": 1 << 13,
    "QEMU_ARCH_TRICORE": 1 << 16,
    "QEMU_ARCH_NIOS2": 1 << 17,
    "QEMU_ARCH_HPPA": 1 << 18,
    "QEMU_ARCH_RISCV": 1 << 19,
    "QEMU_ARCH_RX": 1 << 20,
    "QEMU_ARCH_AVR": 1 << 21,
    "QEMU_ARCH_HEXAGON": 1 << 22,
    "QEMU_ARCH_LOONGARCH": 1 << 23,
}

# (file relative to the source tree in 7.2, in 10.0, C variable name)
OPTS_LISTS = (
    ("softmmu/vl.c", "system/vl.c", "qemu_mem_opts"),
    ("softmmu/vl.c", "system/vl.c", "qemu_accel_opts"),
    ("softmmu/vl.c", "system/vl.c", "qemu_object_opts"),
    ("softmmu/vl.c", "system/vl.c", "qemu_smp_opts"),
    ("softmmu/vl.c", "system/vl.c", "qemu_boot_opts"),
    ("softmmu/vl.c", "system/vl.c", "qemu_name_opts"),
    ("softmmu/vl.c", "system/vl.c", "qemu_overcommit_opts"),
    ("softmmu/vl.c", "system/vl.c", "qemu_msg_opts"),
    ("softmmu/vl.c", "system/vl.c", "qemu_action_opts"),
    ("softmmu/vl.c", "system/vl.c", "qemu_rtc_opts"),
    ("softmmu/vl.c", "system/vl.c", "qemu_icount_opts"),
    ("softmmu/vl.c", "system/vl.c", "qemu_fw_cfg_opts"),
    ("softmmu/vl.c", "system/vl.c", "qemu_option_rom_opts"),
    ("softmmu/vl.c", "system/vl.c", "qemu_add_fd_opts"),
    ("softmmu/vl.c", "system/vl.c", "qemu_tpmdev_opts"),
    (None, "system/vl.c", "qemu_run_with_opts"),
    ("softmmu/qdev-monitor.c", "system/qdev-monitor.c", "qemu_device_opts"),
    ("softmmu/qdev-monitor.c", "system/qdev-monitor.c", "qemu_global_opts"),
    ("hw/core/numa.c", "hw/core/numa.c", "qemu_numa_opts"),
    ("hw/acpi/core.c", "hw/acpi/core.c", "qemu_acpi_opts"),
    ("monitor/monitor.c", "monitor/monitor.c", "qemu_mon_opts"),
    ("chardev/char.c", "chardev/char.c", "qemu_chardev_opts"),
    ("ui/vnc.c", "ui/vnc.c", "qemu_vnc_opts"),
    ("ui/spice-core.c", "ui/spice-core.c", "qemu_spice_opts"),
    ("net/net.c", "net/net.c", "qemu_netdev_opts"),
    ("net/net.c", "net/net.c", "qemu_nic_opts"),
    ("net/net.c", "net/net.c", "qemu_net_opts"),
    ("softmmu/qemu-seccomp.c", "system/qemu-seccomp.c", "qemu_sandbox_opts"),
    ("hw/smbios/smbios.c", "hw/smbios/smbios.c", "qemu_smbios_opts"),
    ("blockdev.c", "blockdev.c", "qemu_drive_opts"),
    ("blockdev.c", "blockdev.c", "qemu_legacy_drive_opts"),
    ("blockdev.c", "blockdev.c", "qemu_common_drive_opts"),
    ("trace/control.c", "trace/control.c", "qemu_trace_opts"),
    ("block/iscsi-opts.c", "block/iscsi-opts.c", "qemu_iscsi_opts"),
    ("fsdev/qemu-fsdev-opts.c", "fsdev/qemu-fsdev-opts.c", "qemu_fsdev_opts"),
    ("fsdev/qemu-fsdev-opts.c", "fsdev/qemu-fsdev-opts.c", "qemu_virtfs_opts"),
    # (-readconfig groups: [plugin] is stored and unread; [semihosting-config]
    # exists only where the target has semihosting, targets/__init__.py)
    ("plugins/loader.c", "plugins/loader.c", "qemu_plugin_opts"),
    ("semihosting/config.c", "semihosting/config.c", "qemu_semihosting_config_opts"),
)

# Lists that share their QEMU name with another, kept under a pseudo-name:
# -drive's options are validated against these two (drive_new,
# blockdev_init) after "drive" (no desc) accepted them all.
PSEUDO_NAMES = {
    "qemu_legacy_drive_opts": "drive:legacy",
    "qemu_common_drive_opts": "drive:common",
}

# QemuOptDesc arrays a list is validated against later (qemu_opts_validate),
# written as pseudo-lists named "<list>:<what>": (7.2 file, 10.0 file, C
# variable, pseudo-list name).
DESC_ARRAYS = (
    ("hw/smbios/smbios.c", "hw/smbios/smbios.c", "qemu_smbios_file_opts", "smbios:file"),
    *(
        ("hw/smbios/smbios.c", "hw/smbios/smbios.c", f"qemu_smbios_type{n}_opts", f"smbios:{n}")
        for n in (0, 1, 2, 3, 4, 8, 9, 11, 17, 41)
    ),
)

OPT_TYPES = {
    "QEMU_OPT_STRING": "string",
    "QEMU_OPT_BOOL": "bool",
    "QEMU_OPT_NUMBER": "number",
    "QEMU_OPT_SIZE": "size",
}


@dataclass(frozen=True)
class OptionDef:
    name: str
    has_arg: bool
    opt_enum: str
    arch_mask: int
    condition: str | None


@dataclass(frozen=True)
class DescDef:
    name: str
    type: str
    help: str | None
    def_value_str: str | None


@dataclass(frozen=True)
class ListDef:
    var: str
    name: str
    implied_opt_name: str | None
    merge_lists: bool
    desc: tuple[DescDef, ...]
    source: str


# --------------------------------------------------------------------------
# preprocessing


def hxtool_filter(text: str) -> list[str]:
    """Lines that ``scripts/hxtool -h`` keeps (it feeds qemu-options.def)."""
    out: list[str] = []
    keep = True
    for line in text.splitlines():
        stripped = line.lstrip()
        if stripped.startswith("HXCOMM"):
            continue
        if stripped.startswith(("SRST", "ERST")):
            keep = not keep
            continue
        if keep:
            out.append(line)
    return out


def join_continuations(lines: list[str]) -> list[str]:
    """Join preprocessor lines ending in a backslash (C's line splicing)."""
    out: list[str] = []
    buf = ""
    for line in lines:
        if buf or line.lstrip().startswith("#"):
            if line.endswith("\\"):
                buf += line[:-1] + " "
                continue
            out.append(buf + line)
            buf = ""
        else:
            out.append(line)
    if buf:
        out.append(buf)
    return out


def eval_condition(expr: str, defines: frozenset[str]) -> bool:
    """Evaluate a ``#if`` expression built from defined(), !, &&, || only."""
    expr = re.sub(r"/\*.*?\*/", " ", expr)
    tokens = re.findall(r"defined\s*\(\s*\w+\s*\)|defined\s+\w+|\w+|&&|\|\||!|\(|\)", expr)
    py: list[str] = []
    for tok in tokens:
        if tok.startswith("defined"):
            name = re.sub(r"defined|[()\s]", "", tok)
            py.append("True" if name in defines else "False")
        elif tok == "&&":
            py.append("and")
        elif tok == "||":
            py.append("or")
        elif tok == "!":
            py.append("not")
        elif tok in "()":
            py.append(tok)
        elif tok.isdigit():
            py.append("True" if int(tok) else "False")
        else:
            py.append("True" if tok in defines else "False")
    return bool(eval(" ".join(py), {"__builtins__": {}}, {}))


def preprocess(lines: list[str], defines: frozenset[str]) -> list[tuple[str, str | None]]:
    """Keep the lines a build with ``defines`` compiles.

    Returns (line, condition) pairs; condition is the conjunction of the
    enclosing ``#if`` texts (None at top level), kept for documentation.
    """
    out: list[tuple[str, str | None]] = []
    # stack of (this branch active, some branch taken, description)
    stack: list[tuple[bool, bool, str]] = []
    for line in join_continuations(lines):
        s = line.strip()
        m = re.match(r"#\s*(ifdef|ifndef|if|elif|else|endif)\b(.*)", s)
        if m:
            kw, rest = m.group(1), m.group(2).strip()
            parent_active = all(a for a, _, _ in stack)
            if kw in ("ifdef", "ifndef", "if"):
                if kw == "ifdef":
                    cond = rest in defines
                    desc = f"defined({rest})"
                elif kw == "ifndef":
                    cond = rest not in defines
                    desc = f"!defined({rest})"
                else:
                    cond = eval_condition(rest, defines)
                    desc = re.sub(r"\s+", " ", rest)
                stack.append((parent_active and cond, cond, desc))
            elif kw == "elif":
                _, taken, desc = stack.pop()
                cond = not taken and eval_condition(rest, defines)
                parent_active = all(a for a, _, _ in stack)
                stack.append((parent_active and cond, taken or cond, f"elif {rest}"))
            elif kw == "else":
                _, taken, desc = stack.pop()
                parent_active = all(a for a, _, _ in stack)
                stack.append((parent_active and not taken, True, f"!({desc})"))
            else:
                stack.pop()
            continue
        if s.startswith("#"):
            continue  # #undef, #include, #define: irrelevant here
        if all(a for a, _, _ in stack):
            cond_text = " && ".join(d for _, _, d in stack) or None
            out.append((line, cond_text))
    return out


# --------------------------------------------------------------------------
# a tiny C tokenizer, enough for DEF(...) calls and struct initialisers

TOKEN_RE = re.compile(
    r"""
    (?P<ws>(?:\s|\\\n)+)
  | (?P<comment>/\*.*?\*/|//[^\n]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<char>'(?:[^'\\\n]|\\.)*')
  | (?P<ident>[A-Za-z_]\w*)
  | (?P<number>\d\w*)
  | (?P<punct>\.\.\.|<<|>>|&&|\|\||[{}()\[\],;=.|&!<>+\-*/%~?:])
    """,
    re.VERBOSE | re.DOTALL,
)


def iter_c_tokens(text: str) -> Iterator[tuple[str, str]]:
    pos = 0
    while pos < len(text):
        m = TOKEN_RE.match(text, pos)
        if not m:
            raise ValueError(f"cannot tokenize C near {text[pos : pos + 40]!r}")
        pos = m.end()
        kind = m.lastgroup
        assert kind is not None
        if kind in ("ws", "comment"):
            continue
        yield kind, m.group()


def tokenize_c(text: str) -> list[tuple[str, str]]:
    return list(iter_c_tokens(text))


C_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'", "r": "\r", "0": "\0"}


def c_string(tokens: list[tuple[str, str]]) -> str:
    """Concatenate adjacent C string literals."""
    out = []
    for kind, tok in tokens:
        if kind != "string":
            raise ValueError(f"expected a string literal, got {tok!r}")
        body = tok[1:-1]
        out.append(re.sub(r"\\(.)", lambda m: C_ESCAPES.get(m.group(1), m.group(1)), body))
    return "".join(out)


def split_args(tokens: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """Split a token list on commas at nesting depth 0."""
    args: list[list[tuple[str, str]]] = [[]]
    depth = 0
    for kind, tok in tokens:
        if tok in "({[" and kind == "punct":
            depth += 1
        elif tok in ")}]" and kind == "punct":
            depth -= 1
        if tok == "," and kind == "punct" and depth == 0:
            args.append([])
        else:
            args[-1].append((kind, tok))
    return args


def arch_mask_value(tokens: list[tuple[str, str]]) -> int:
    mask = 0
    for kind, tok in tokens:
        if kind == "ident":
            mask |= ARCH_BITS[tok]
        elif tok not in ("|", "(", ")"):
            raise ValueError(f"unexpected token in arch mask: {tok!r}")
    return mask


# --------------------------------------------------------------------------
# extraction


def extract_options(hx_path: Path) -> list[OptionDef]:
    lines = preprocess(hxtool_filter(hx_path.read_text()), DEBIAN_LINUX_DEFINES)
    # Re-join into one text but remember each line's condition by offset.
    text_parts: list[str] = []
    conds: list[tuple[int, str | None]] = []
    offset = 0
    for line, cond in lines:
        conds.append((offset, cond))
        text_parts.append(line + "\n")
        offset += len(line) + 1
    text = "".join(text_parts)

    def cond_at(pos: int) -> str | None:
        found: str | None = None
        for start, cond in conds:
            if start > pos:
                break
            found = cond
        return found

    options = [OptionDef("h", False, "QEMU_OPTION_h", -1, None)]  # vl.c adds it first
    for m in re.finditer(r"^DEF\(", text, re.MULTILINE):
        # find the matching parenthesis with the tokenizer
        body: list[tuple[str, str]] = []
        depth = 1
        for kind, tok in iter_c_tokens(text[m.end() :]):
            if kind == "punct" and tok == "(":
                depth += 1
            elif kind == "punct" and tok == ")":
                depth -= 1
                if depth == 0:
                    break
            body.append((kind, tok))
        else:
            raise ValueError("unterminated DEF(")
        args = split_args(body)
        if len(args) != 5:
            raise ValueError(
                f"DEF with {len(args)} arguments near {text[m.start() : m.start() + 60]!r}"
            )
        name = c_string(args[0])
        flag = " ".join(t for _, t in args[1])
        if flag not in ("HAS_ARG", "0"):
            raise ValueError(f"unexpected flags {flag!r} for {name}")
        opt_enum = args[2][0][1]
        options.append(
            OptionDef(
                name, flag == "HAS_ARG", opt_enum, arch_mask_value(args[4]), cond_at(m.start())
            )
        )
    names = [o.name for o in options]
    dups = {n for n in names if names.count(n) > 1}
    if dups:
        raise ValueError(f"duplicate option names: {sorted(dups)}")
    return options


#: headers whose object-like macros initialisers use (string names,
#: THROTTLE_OPTS' whole desc entries)
MACRO_HEADERS = (
    "include/block/block-common.h",
    "include/block/block.h",
    "include/qemu/throttle-options.h",
)
_MACROS: dict[Path, dict[str, list[tuple[str, str]]]] = {}


def object_macros(tree: Path) -> dict[str, list[tuple[str, str]]]:
    """``#define NAME replacement`` (object-like, continued lines joined)."""
    found = _MACROS.get(tree)
    if found is not None:
        return found
    found = {}
    for rel in MACRO_HEADERS:
        path = tree / rel
        if not path.exists():
            continue
        text = path.read_text().replace("\\\n", " ")
        for m in re.finditer(r"^#define\s+([A-Za-z_]\w*)(?!\()[ \t]+(.+)$", text, re.M):
            body = re.sub(r"/\*.*?\*/", " ", m.group(2))
            found[m.group(1)] = tokenize_c(body)
    _MACROS[tree] = found
    return found


def expand(
    tokens: list[tuple[str, str]], macros: dict[str, list[tuple[str, str]]]
) -> list[tuple[str, str]]:
    """Object-like macro expansion (recursive, each macro once per chain)."""
    out: list[tuple[str, str]] = []

    def emit(toks: list[tuple[str, str]], active: frozenset[str]) -> None:
        for kind, tok in toks:
            if kind == "ident" and tok in macros and tok not in active:
                emit(macros[tok], active | {tok})
            else:
                out.append((kind, tok))

    emit(tokens, frozenset())
    return out


def _initializer(raw: str, m: re.Match[str], tree: Path | None = None) -> list[tuple[str, str]]:
    """The tokens of the brace initialiser opened at ``m.end() - 1``."""
    start = m.end() - 1
    depth = 0
    end = start
    for end in range(start, len(raw)):
        if raw[end] == "{":
            depth += 1
        elif raw[end] == "}":
            depth -= 1
            if depth == 0:
                break
    init = raw[start + 1 : end]
    init = "\n".join(line for line, _ in preprocess(init.splitlines(), DEBIAN_LINUX_DEFINES))
    tokens = tokenize_c(init)
    return expand(tokens, object_macros(tree)) if tree is not None else tokens


def _descs(desc_tokens: list[tuple[str, str]]) -> tuple[DescDef, ...]:
    """The QemuOptDesc entries of ``{ {...}, {...}, { } }``."""
    desc: list[DescDef] = []
    for entry in split_args(desc_tokens):
        if not entry:
            continue
        assert entry[0][1] == "{" and entry[-1][1] == "}", entry
        members: dict[str, list[tuple[str, str]]] = {}
        for member in split_args(entry[1:-1]):
            if len(member) >= 3 and member[0] == ("punct", ".") and member[2] == ("punct", "="):
                members[member[1][1]] = member[3:]
        if "name" not in members:
            continue  # { /* end of list */ } or { 0 }
        desc.append(
            DescDef(
                name=c_string(members["name"]),
                type=OPT_TYPES[members["type"][0][1]],
                help=c_string(members["help"]) if "help" in members else None,
                def_value_str=(
                    c_string(members["def_value_str"]) if "def_value_str" in members else None
                ),
            )
        )
    return tuple(desc)


def extract_desc_array(
    c_path: Path, var: str, name: str, source: str, tree: Path | None = None
) -> ListDef:
    """A ``static const QemuOptDesc var[] = {...}`` as the pseudo-list ``name``."""
    raw = c_path.read_text()
    m = re.search(rf"QemuOptDesc\s+{var}\[\]\s*=\s*\{{", raw)
    if not m:
        raise ValueError(f"{var} not found in {c_path}")
    return ListDef(var, name, None, False, _descs(_initializer(raw, m, tree)), source)


def extract_opts_list(c_path: Path, var: str, source: str, tree: Path | None = None) -> ListDef:
    """A ``QemuOptsList var = {...}``; object-like macros of ``tree``'s
    MACRO_HEADERS are expanded (BDRV_OPT_*, THROTTLE_OPTS)."""
    raw = c_path.read_text()
    m = re.search(rf"QemuOptsList\s+{var}\s*=\s*\{{", raw)
    if not m:
        raise ValueError(f"{var} not found in {c_path}")
    tokens = _initializer(raw, m, tree)
    fields: dict[str, list[tuple[str, str]]] = {}
    for arg in split_args(tokens):
        if len(arg) >= 3 and arg[0] == ("punct", ".") and arg[2] == ("punct", "="):
            fields[arg[1][1]] = arg[3:]
    name = PSEUDO_NAMES.get(var) or c_string(fields["name"])
    implied = c_string(fields["implied_opt_name"]) if "implied_opt_name" in fields else None
    merge = "merge_lists" in fields and fields["merge_lists"][0][1] == "true"
    desc_tokens = fields["desc"]
    assert desc_tokens[0][1] == "{" and desc_tokens[-1][1] == "}"
    return ListDef(var, name, implied, merge, _descs(desc_tokens[1:-1]), source)


# --------------------------------------------------------------------------
# output

HEADER = '''\
# ruff: noqa: E501  (generated data: QEMU's help texts are long lines)
"""QEMU's command-line option table and option-group descriptions.

GENERATED FILE, do not edit: run ``tools/gen_qemu_option_table.py`` instead.

Generated from QEMU sources (QEMU is GPL-2.0-or-later; these tables are facts
extracted from it, in a GPL-2.0-or-later project):
{sources}
What is here, per version:

* ``OPTIONS_*``: every option ``lookup_opt()`` in ``vl.c`` knows, in table
  order: ``{{"h"}}`` first (added by vl.c), then each ``DEF()`` of
  ``qemu-options.hx`` as compiled for a Debian Linux build.  ``arch_mask``
  says for which targets it is meant; an option whose mask lacks the
  binary's ``ARCH_*`` bit exists but fails with "Option not supported for
  this target" there.  ``condition`` is the preprocessor condition the
  DEF() sits under (None: unconditional).  The table is the same for every
  ``qemu-system-*``: each target's ``cmdline.py`` passes its bit.
* ``OPTS_LISTS_*``: selected ``QemuOptsList`` initialisers (name, implied key,
  merge_lists, desc).  An empty ``desc`` means the list accepts any key.
* ``ARCH_*``: the ``QEMU_ARCH_*`` bit of each target memdevd emulates.
* ``TABLES``: per version, its ``OPTIONS_*`` and ``OPTS_LISTS_*``.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from memdevd.util.option_defs import OptDescDef, OptionDef, OptsListDef

# The QEMU_ARCH_* bit each target's binary checks an option's arch_mask
# against (include/system/arch_init.h).
{arch_bits}'''

# Per target memdevd emulates: the QEMU_ARCH_* bit its binary checks an
# option's arch_mask against (vl.c: "Option not supported for this target");
# the generated file names it without the QEMU_ prefix.  The tables
# themselves are the same for every target.
TARGET_ARCH = {"x86_64": "QEMU_ARCH_I386", "aarch64": "QEMU_ARCH_ARM"}

OUTPUT = Path(__file__).resolve().parents[1] / "memdevd" / "targets" / "options_table.py"


def describe_source(path: Path) -> str:
    """Which QEMU a source tree is: its VERSION, and Debian's version if patched."""
    text = f"QEMU {_version(path)}"
    changelog = path / "debian" / "changelog"
    if changelog.exists():
        m = re.match(r"\S+ \(([^)]*)\)", changelog.read_text())
        if m:
            text += f", Debian source package {m.group(1)} with debian/patches applied"
    return text


def render(
    sources: dict[str, Path],
    opts: dict[str, list[OptionDef]],
    lists: dict[str, list[ListDef]],
) -> str:
    src_lines = "".join(f"  - {ver}: {describe_source(path)}\n" for ver, path in sources.items())
    arch_bits = "".join(
        f"{arch.removeprefix('QEMU_')}: Final = {ARCH_BITS[arch]}  # qemu-system-{target}\n"
        for target, arch in sorted(TARGET_ARCH.items(), key=lambda item: item[1])
    )
    header = HEADER.format(sources=src_lines, arch_bits=arch_bits)
    out = [header]
    for ver in sources:
        tag = ver.replace(".", "_")
        out.append(f"\nOPTIONS_{tag}: Final[tuple[OptionDef, ...]] = (\n")
        for o in opts[ver]:
            fields = (o.name, o.has_arg, o.opt_enum, o.arch_mask, o.condition)
            out.append(f"    OptionDef{fields!r},\n")
        out.append(")\n")
    for ver in sources:
        tag = ver.replace(".", "_")
        out.append(f"\nOPTS_LISTS_{tag}: Final = MappingProxyType(\n    {{\n")
        for ld in lists[ver]:
            out.append(f"        {ld.name!r}: OptsListDef(\n")
            for value in (ld.name, ld.implied_opt_name, ld.merge_lists):
                out.append(f"            {value!r},\n")
            out.append("            (\n")
            for d in ld.desc:
                fields2 = (d.name, d.type, d.help, d.def_value_str)
                out.append(f"                OptDescDef{fields2!r},\n")
            out.append("            ),\n")
            out.append(f"            {ld.source!r},\n        ),\n")
        out.append("    }\n)\n")
    names = {ver: {o.name for o in opts[ver]} for ver in sources}
    vers = list(sources)
    if len(vers) == 2:
        a, b = vers
        ta, tb = a.replace(".", "_"), b.replace(".", "_")
        out.append("\n# Options that exist in only one of the two versions.\n")
        out.append(f"ONLY_IN_{ta}: Final = frozenset({sorted(names[a] - names[b])!r})\n")
        out.append(f"ONLY_IN_{tb}: Final = frozenset({sorted(names[b] - names[a])!r})\n")
    out.append("\n# Per version: (OPTIONS_*, OPTS_LISTS_*).\n")
    out.append("TABLES: Final = MappingProxyType(\n    {\n")
    for ver in sources:
        tag = ver.replace(".", "_")
        out.append(f"        {ver!r}: (OPTIONS_{tag}, OPTS_LISTS_{tag}),\n")
    out.append("    }\n)\n")
    return "".join(out)


def _version(path: Path) -> str:
    return (path / "VERSION").read_text().strip()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--source",
        action="append",
        required=True,
        metavar="VER=DIR",
        help="e.g. 7.2=/work/qemu-src/q72",
    )
    ap.add_argument("-o", "--output", type=Path, default=OUTPUT)
    ap.add_argument(
        "--check",
        action="store_true",
        help="write nothing; fail when the output file differs from what the sources give",
    )
    args = ap.parse_args(argv)

    sources: dict[str, Path] = {}
    for item in args.source:
        ver, _, path = item.partition("=")
        sources[ver] = Path(path)
    opts: dict[str, list[OptionDef]] = {}
    lists: dict[str, list[ListDef]] = {}
    for ver, path in sources.items():
        opts[ver] = extract_options(path / "qemu-options.hx")
        lists[ver] = []
        new_layout = (path / "system" / "vl.c").exists()
        for old_file, new_file, var in OPTS_LISTS:
            rel = new_file if new_layout else old_file
            if rel is None:
                continue
            lists[ver].append(extract_opts_list(path / rel, var, rel, path))
        for old_file, new_file, var, name in DESC_ARRAYS:
            rel = new_file if new_layout else old_file
            if re.search(rf"QemuOptDesc\s+{var}\[\]", (path / rel).read_text()):
                # Absent where the release lacks it (7.2 has no SMBIOS type 9).
                lists[ver].append(extract_desc_array(path / rel, var, name, rel, path))
    # Formatted like the rest of the project, so regeneration gives no diff.
    text = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--quiet", "--stdin-filename", "x.py", "-"],
        input=render(sources, opts, lists),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if args.check:
        if not args.output.exists() or args.output.read_text() != text:
            print(f"{args.output} is stale: re-run {Path(__file__).name}", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date", file=sys.stderr)
        return 0
    args.output.write_text(text)
    print(
        f"wrote {args.output}: " + ", ".join(f"{v}: {len(o)} options" for v, o in opts.items()),
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
