"""``-readconfig FILE``: QEMU's config files, as command-line options.

util/qemu-config.c ``qemu_config_foreach()`` reads the file line by line
(``fgets`` of 1024 bytes): a line starting with ``\\n`` or ``#`` is
skipped; ``[GROUP "ID"]`` or ``[GROUP]`` opens a group; any other line is
``KEY = "VALUE"`` by ``sscanf(" %63s = \\"%1023[^\\"]\\"")`` -- which
takes any line with a word as a key (the value ``""`` when the rest does
not match) -- and a line without a word is ``parse error``.  A group is
handed to system/vl.c ``qemu_parse_config_group()`` when the next header
is read, or at the end of the file.

memdevd turns each group into the command-line option it stands for
(``[device "x"]`` is ``-device id=x,KEY=VALUE,...``, ``[memory]`` is
``-m``, ``[smp-opts]`` is ``-smp``...), fed through the same branches of
``cli.parse()`` as the options around ``-readconfig``, so each option's
semantics stay in one place.  The keys of a QemuOpts group come in the
order ``qemu_opts_from_qdict()`` meets them (the QDict's); values have
their commas doubled.  Every group of the release's ``vm_config_groups``
is taken: those whose option does more than store its QemuOpts are either
checked and stored unread (``_UNREAD``: the option acted at once) or go to
an option of their own that only stores them (``_STORED_ONLY``: ``[vnc]``
without -vnc's id and ``display_remote``, ``[spice]`` without
``display_remote``, ``[icount]`` without ``replay_configure``).  Which
groups a release has: its option lists (``[run-with]`` 8.2+; ``[spice]``
where the build has the module; ``[semihosting-config]`` where the target
has semihosting) and ``Release.readconfig_keyval_groups``.

Locations (seen live): a group's options keep the file and the line of
its last key line (``loc_save()``), so an error at device creation prints
``prog:FILE:LINE: ...``; errors while the file is read (``parse error``,
``no group defined``, an unknown group, an invalid parameter) print the
line in 7.2 and the ``-readconfig FILE`` option in 10.0 and 11.1
(``ERRP_GUARD`` reports them after ``loc_pop()``):
``Release.readconfig_errors_at_option``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memdevd import messages as M
from memdevd.records import record
from memdevd.util.qemu_opts import FileLocation, OptionError

if TYPE_CHECKING:
    from memdevd.releases.table import Release

#: QemuOpts groups whose command-line option only stores the QemuOpts,
#: read later by vl.c: the same option, with the group's keys.
_STORED: dict[str, str] = {
    "device": "device",
    "drive": "drive",
    "chardev": "chardev",
    "netdev": "netdev",
    "nic": "nic",
    "net": "net",
    "numa": "numa",
    "name": "name",
    "mon": "mon",
    "global": "global",
    "memory": "m",
    "accel": "accel",
    "rtc": "rtc",
    "fw_cfg": "fw_cfg",
    "action": "action",
    "sandbox": "sandbox",
    "tpmdev": "tpmdev",
    "iscsi": "iscsi",
    "fsdev": "fsdev",
    # read by parse_add_fd (qemu_process_early_options), at the group's line
    "add-fd": "add-fd",
}
#: QemuOpts groups whose command-line option acts at once (acpi_table_add,
#: smbios_entry_add, configure_msg, trace_opt_parse, the option ROM list,
#: the overcommit flags): from a file they are checked against the
#: group's parameters and stored, and nothing reads them.
#: (-virtfs makes its fsdev and device in the option loop, -run-with acts
#: there, -plugin keeps its own list, -semihosting-config reads its
#: QemuOpts at once: their groups are only stored.)
_UNREAD = frozenset(
    {
        "acpi",
        "smbios",
        "msg",
        "trace",
        "option-rom",
        "overcommit",
        "virtfs",
        "run-with",
        "plugin",
        "semihosting-config",
    }
)
#: QemuOpts groups stored as their option stores them, without what the
#: option does besides (``display_remote++``; -vnc's id): options of their own.
VNC_GROUP = "vnc-group"
SPICE_GROUP = "spice-group"
#: (replay_configure reads only -icount's QemuOpts)
ICOUNT_GROUP = "icount-group"
_STORED_ONLY: dict[str, str] = {"vnc": VNC_GROUP, "spice": SPICE_GROUP, "icount": ICOUNT_GROUP}
#: The option of an [object] group: -object visited as keyval, not QemuOpts.
KEYVAL_OBJECT = "object-keyval"
#: The groups vl.c crumples and records as the option would.
_KEYVAL: dict[str, str] = {
    "object": KEYVAL_OBJECT,
    "machine": "machine",
    "smp-opts": "smp",
    "boot-opts": "boot",
    "audiodev": "audiodev",
}


@record
class ConfigGroup:
    """One group of the file, as ``qemu_parse_config_group()`` gets it."""

    name: str
    #: KEY, VALUE in the order of the file, a repeated key keeping its
    #: first place and its last value (``qdict_put_str``).
    entries: dict[str, str]
    #: Where the callback runs: the file and the last key line read
    #: (None before any: ``loc_push_none``).
    location: FileLocation | None


@record
class ConfigFile:
    """What ``qemu_config_foreach()`` hands over, in order, and how it ends."""

    groups: list[ConfigGroup]
    #: The error that stopped the reading, after the groups before it ran.
    error: OptionError | None = None


def read(path: str, option_location: str, release: Release) -> ConfigFile:
    """Read ``path`` as ``qemu_read_config_file()`` does."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        import os

        text = M.COULD_NOT_OPEN.format(path, os.strerror(exc.errno or 0))
        return ConfigFile([], OptionError(text, location=option_location))
    groups: list[ConfigGroup] = []
    current: ConfigGroup | None = None
    loc: FileLocation | None = None

    def fail(message: str) -> ConfigFile:
        where = option_location if release.readconfig_errors_at_option else loc
        return ConfigFile(groups, OptionError(message, location=where))

    for lno, raw in enumerate(_fgets_lines(data), 1):
        line = raw.decode("utf-8", "surrogateescape")
        if line.startswith("\n") or line.startswith("#"):
            continue
        if line.startswith("["):
            header = _header(line)
            if header is not None:
                if current is not None:
                    current.location = loc
                    groups.append(current)
                name, obj_id = header
                current = ConfigGroup(name, {"id": obj_id} if obj_id is not None else {}, None)
                continue
        loc = FileLocation(f"{path}:{lno}")
        key, value = _key_value(line)
        if key is None:
            return fail(M.READCONFIG_PARSE_ERROR)
        if current is None:
            return fail(M.READCONFIG_NO_GROUP)
        current.entries[key] = value
    if current is not None:
        current.location = loc
        groups.append(current)
    return ConfigFile(groups)


def _fgets_lines(data: bytes) -> list[bytes]:
    """The pieces ``fgets(line, 1024, fp)`` returns: lines, split at 1023 bytes."""
    out: list[bytes] = []
    for line in data.splitlines(keepends=True):
        while len(line) > 1023:
            out.append(line[:1023])
            line = line[1023:]
        out.append(line)
    return out


def _scan_word(line: str, start: int, limit: int) -> tuple[str, int]:
    """sscanf ``%Ns``: skip white space, then up to ``limit`` non-space characters."""
    i = start
    while i < len(line) and line[i].isspace():
        i += 1
    j = i
    while j < len(line) and j - i < limit and not line[j].isspace():
        j += 1
    return line[i:j], j


def _header(line: str) -> tuple[str, str | None] | None:
    """``[%63s "%63[^"]"]`` (with an id) or ``[%63[^]]]``, or None."""
    word, end = _scan_word(line, 1, 63)
    if word:
        i = end
        while i < len(line) and line[i].isspace():
            i += 1
        if line[i : i + 1] == '"':
            j = i + 1
            k = j
            while k < len(line) and k - j < 63 and line[k] != '"':
                k += 1
            if k > j:
                return word, line[j:k]
    # "[%63[^]]]": at least one character that is not ']'.
    k = 1
    while k < len(line) and k - 1 < 63 and line[k] != "]":
        k += 1
    if k > 1:
        return line[1:k], None
    return None


def _key_value(line: str) -> tuple[str | None, str]:
    """`` %63s = "%1023[^"]"`` or `` %63s = ""``: the key (None: no word) and value."""
    key, end = _scan_word(line, 0, 63)
    if not key:
        return None, ""
    i = end
    while i < len(line) and line[i].isspace():
        i += 1
    if line[i : i + 1] != "=":
        return key, ""
    i += 1
    while i < len(line) and line[i].isspace():
        i += 1
    if line[i : i + 1] != '"':
        return key, ""
    j = i + 1
    k = j
    while k < len(line) and k - j < 1023 and line[k] != '"':
        k += 1
    return key, line[j:k]


def known_groups(lists: Any, release: Release) -> frozenset[str]:
    """The groups of the release's ``vm_config_groups`` and vl.c's records.

    (``find_list()`` loads the module of a group first: a build without
    ui-spice-core has no [spice].)"""
    qemu_opts = {name for name in lists if ":" not in name}
    if not release.has_spice:
        qemu_opts.discard("spice")
    return frozenset(qemu_opts | set(release.readconfig_keyval_groups))


def as_option(group: ConfigGroup, lists: Any, release: Release) -> tuple[str, str]:
    """The command-line option (name without '-', argument) ``group`` stands for.

    Raises QEMU's error for a group the release does not know, memdevd's
    for one it does not emulate.
    """
    name = group.name
    if name in release.readconfig_keyval_groups:
        return _KEYVAL[name], _join(group.entries.items())
    if name not in known_groups(lists, release):
        raise OptionError(M.NO_OPTION_GROUP.format(name))
    if name not in _STORED and name not in _UNREAD and name not in _STORED_ONLY:
        raise OptionError(M.OPTION_NOT_EMULATED.format(f"-readconfig [{name}]"))
    from memdevd.qapi.qdict import qdict_key_order

    for key in group.entries:
        if "," in key or "=" in key:
            # A QemuOpts key the command line cannot spell.
            raise OptionError(M.OPTION_NOT_EMULATED.format(f"-readconfig key {key}"))
    obj_id = group.entries.get("id")
    keys = [k for k in qdict_key_order(group.entries) if k != "id"]
    items = [("id", obj_id)] if obj_id is not None else []
    items += [(k, group.entries[k]) for k in keys]
    arg = _join(items)
    if name in _UNREAD:
        lists[name].parse_noisily(arg, False)
        return "", arg
    if name in _STORED_ONLY:
        return _STORED_ONLY[name], arg
    return _STORED[name], arg


def _join(items: Any) -> str:
    return ",".join(f"{key}={value.replace(',', ',,')}" for key, value in items)
