"""The rest of a real command line: ``-global``, ``-boot``, ``-rtc``,
``-fw_cfg``, ``-action`` and its sugar, ``-sandbox``, ``-overcommit``,
``-d``/``-D``/``-trace``, ``-L``/``-bios``, ``-kernel``/``-initrd``/
``-append``/``-dtb``/``-shim``, ``-k``, ``-no-hpet``, ``-no-user-config``,
``-nodefaults``.

Each is parsed where ``qemu_init`` parses it and checked where QEMU
checks it, with QEMU's texts and exit status:

* in the option loop (:func:`parse_option`): the option's own syntax
  (QemuOpts, keyval), ``-global``'s required keys, ``-trace``'s events;
* in ``qemu_process_early_options`` (:func:`process_early`): ``-sandbox``
  values, the ``-action`` values (visited as ``set-action``'s arguments),
  the ``-d`` items and the ``-D`` file; then ``configure_rtc`` (``-rtc``);
* with the machine options (:func:`apply_machine_option`): ``-boot`` is
  the machine's ``boot`` property, ``-bios`` its ``firmware``, 7.2's
  ``-no-hpet`` its ``hpet``, ``-kernel`` & co. its ``kernel``, ``initrd``,
  ``append``, ``dtb`` and ``shim`` (``-append``/``-initrd``/``-shim`` without
  a kernel are refused after the option loop, ``qemu_validate_options``);
* while the board is built (:func:`board_created`): the firmware file, the
  boot menu's values, the kernel files (``x86_load_linux``,
  targets/x86_64/linux_boot.py), the board devices' ``-global`` values;
* before the ``-device`` options (:func:`create_fw_cfg_files`) and after
  them (:func:`check_globals`).

Nothing is logged, traced, sandboxed or locked: see docs/divergences.md.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import field
from typing import TYPE_CHECKING, Any

from memdevd import messages as M
from memdevd.records import record
from memdevd.util.qemu_opts import Diagnostic, OptionError

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine, MachineConfig
    from memdevd.releases.table import Release
    from memdevd.util.qemu_opts import QemuOptsList

#: The options this module parses.
OPTIONS = frozenset(
    {
        "global",
        "boot",
        "rtc",
        "fw_cfg",
        "action",
        "add-fd",
        "watchdog-action",
        "no-reboot",
        "no-shutdown",
        "sandbox",
        "overcommit",
        "d",
        "D",
        "trace",
        "L",
        "bios",
        "k",
        "no-hpet",
        "no-user-config",
        "nodefaults",
        "incoming",
        "tpmdev",
        "kernel",
        "initrd",
        "append",
        "dtb",
        "shim",
        "option-rom",
        "icount",
        "icount-group",
    }
)

#: accel/tcg/icount-common.c MAX_ICOUNT_SHIFT
MAX_ICOUNT_SHIFT = 10

#: vl.c MAX_OPTION_ROMS
MAX_OPTION_ROMS = 16

#: The machine properties of direct kernel boot (-kernel & co. set them).
KERNEL_PROPS = ("kernel", "initrd", "append", "dtb", "shim")

#: The TPM backends' QemuOptDesc (TPM_STANDARD_CMDLINE_OPTS + their own).
_TPM_KEYS = {"passthrough": ("type", "cancel-path", "path"), "emulator": ("type", "chardev")}

#: FW_CFG_MAX_FILE_PATH (include/standard-headers/linux/qemu_fw_cfg.h)
FW_CFG_MAX_FILE_PATH = 56
#: Where QEMU looks for firmware after the -L directories (its configured
#: firmware path; Debian's packages, both releases).
DEFAULT_DATA_DIRS = ("/usr/share/qemu", "/usr/share/seabios", "/usr/lib/ipxe/qemu")


@record
class MiscOptions:
    """What these options asked for, in command-line order."""

    #: -global: (driver, property, value)
    globals: list[tuple[str, str, str]] = field(default_factory=list)
    #: the merged "action" QemuOpts' values, and the location QEMU reports
    #: their errors at (the first option that made them)
    actions: dict[str, str] = field(default_factory=dict)
    action_location: str | None = None
    sandbox: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    log_mask: str | None = None
    log_file: str | None = None
    rtc: dict[str, str] = field(default_factory=dict)
    fw_cfg: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    data_dirs: list[str] = field(default_factory=list)
    keyboard: str | None = None
    #: -tpmdev: (location, id, values); the chardev ids QEMU would find
    tpmdevs: list[tuple[str, str | None, dict[str, str]]] = field(default_factory=list)
    chardev_ids: set[str] = field(default_factory=set)
    #: -option-rom: (romfile, bootindex), loaded by the board into fw_cfg
    option_roms: list[tuple[str, int]] = field(default_factory=list)
    #: fw_cfg file names the board added (genroms/...): -fw_cfg may not reuse them
    fw_cfg_taken: set[str] = field(default_factory=set)
    #: -incoming defer (any other -incoming is refused)
    incoming: str | None = None
    #: the program name QEMU prints (for the lines it prints without a space)
    prog: str = "qemu-system-x86_64"
    #: -add-fd: (location, fd, set, opaque) as qemu_opt_get_number reads
    #: them into C's int and int64_t (absent: -1); then the duplicates made
    #: of them, (fd, set, opaque), for the daemon's fd sets
    add_fds: list[tuple[str, int, int, str | None]] = field(default_factory=list)
    fdset_fds: list[tuple[int, int, str | None]] = field(default_factory=list)
    #: the "icount" QemuOpts (merge_lists: one for -icount and -readconfig
    #: [icount] groups), its location (its first option's), and whether an
    #: -icount option was given (replay_configure reads only the option's)
    icount: dict[str, str] | None = None
    icount_location: str | None = None
    icount_option: bool = False
    #: icount_configure() enabled it (set by configure_accelerators)
    icount_enabled: bool = False
    #: warnings QEMU prints while parsing (before any later error)
    notes: list[Diagnostic] = field(default_factory=list)


def parse_option(
    misc: MiscOptions,
    name: str,
    arg: str | None,
    loc: str,
    lists: dict[str, QemuOptsList],
    machine_opts: dict[str, Any],
    release: Release,
    target: str,
) -> None:
    """One option of the loop in ``qemu_init`` (QEMU_OPTION_<name>)."""
    from memdevd.util import qemu_opts as Q

    if name in ("nodefaults", "no-user-config"):
        # memdevd never creates default devices nor reads configuration files.
        return
    if name == "no-hpet":
        machine_opts["hpet"] = "off"
        return
    if name in ("no-reboot", "no-shutdown"):
        text = "reboot=shutdown" if name == "no-reboot" else "shutdown=pause"
        _merge_actions(misc, lists["action"].parse_noisily(text, False).to_dict(), loc)
        return
    assert arg is not None
    if name == "global":
        misc.globals.append(_parse_global(arg, lists))
    elif name == "boot":
        res = Q.keyval_parse(arg, "order")
        if res.help:
            raise Q.HelpRequested(lists["boot-opts"].print_help(True), exit_status=0)
        Q.keyval_merge(machine_opts, {"boot": res.values})
    elif name == "rtc":
        misc.rtc.update(lists["rtc"].parse_noisily(arg, False).to_dict())
    elif name == "add-fd":
        opts = lists["add-fd"].parse_noisily(arg, False)
        fd = _c_signed(opts.get_number("fd", -1), 32)
        fdset_id = _c_signed(opts.get_number("set", -1), 64)
        misc.add_fds.append((loc, fd, fdset_id, opts.get("opaque")))
    elif name in ("icount", "icount-group"):
        # "icount-group": a -readconfig [icount] group, only stored (and
        # read by configure_accelerators, as the option's).
        opts = lists["icount"].parse_noisily(arg, name == "icount")
        misc.icount = opts.to_dict()
        if misc.icount_location is None:
            misc.icount_location = loc
        misc.icount_option = misc.icount_option or name == "icount"
    elif name == "fw_cfg":
        misc.fw_cfg.append((loc, lists["fw_cfg"].parse_noisily(arg, True).to_dict()))
    elif name == "action":
        _merge_actions(misc, lists["action"].parse_noisily(arg, False).to_dict(), loc)
    elif name == "watchdog-action":
        _merge_actions(misc, {"watchdog": arg}, loc)
    elif name == "sandbox":
        misc.sandbox.append((loc, lists["sandbox"].parse_noisily(arg, True).to_dict()))
    elif name == "overcommit":
        opts = lists["overcommit"].parse_noisily(arg, False)
        mem_lock = opts.get("mem-lock")
        # 7.2's list has mem-lock as a bool: QemuOpts checked it already.
        if release.overcommit_mem_lock_on_fault and mem_lock not in (None, "on", "off", "on-fault"):
            raise OptionError(M.OVERCOMMIT_MEM_LOCK)
    elif name == "d":
        misc.log_mask = arg
    elif name == "D":
        misc.log_file = arg
    elif name == "trace":
        _parse_trace(misc, arg, loc, lists, release, target)
    elif name == "L":
        if Q.is_help_option(arg):
            raise OptionError(M.OPTION_NOT_EMULATED.format("-L help"))
        misc.data_dirs.append(arg)
    elif name == "bios":
        machine_opts["firmware"] = arg
    elif name in KERNEL_PROPS:
        # qdict_put_str(machine_opts_dict, name, optarg): the last one wins.
        machine_opts.pop(name, None)
        machine_opts[name] = arg
    elif name == "tpmdev":
        # tpm_config_parse: "help" lists the backends (on stderr), exit 1
        # (11.1: exit 0, Release.tpmdev_help_exit_status).
        if arg == "help":
            err = _PlainError(M.TPM_TYPES_LIST.rstrip("\n"))
            err.exit_status = release.tpmdev_help_exit_status
            raise err
        opts = lists["tpmdev"].parse_noisily(arg, True)
        misc.tpmdevs.append((loc, opts.id, opts.to_dict()))
    elif name == "incoming":
        # Only "defer" is emulated: a URI or channel would make QEMU listen
        # for (or connect to) a migration stream memdevd cannot read.
        if arg != "defer":
            raise OptionError(M.OPTION_NOT_EMULATED.format(f"-incoming {arg}"))
        misc.incoming = arg
    elif name == "k":
        # Only a display (VNC, SDL) uses the layout; QEMU checks nothing here.
        misc.keyboard = arg
    elif name == "option-rom":
        if len(misc.option_roms) >= MAX_OPTION_ROMS:
            raise OptionError(M.OPTION_ROM_TOO_MANY)
        opts = lists["option-rom"].parse_noisily(arg, True)
        bootindex = opts.get_number("bootindex", -1)
        romfile = opts.get("romfile")
        if romfile is None:
            raise OptionError(M.OPTION_ROM_NO_FILE)
        misc.option_roms.append((romfile, bootindex))


def _merge_actions(misc: MiscOptions, values: dict[str, str], loc: str) -> None:
    """The "action" list merges: one QemuOpts, located at its first option."""
    if misc.action_location is None:
        misc.action_location = loc
    for key, value in values.items():
        misc.actions.pop(key, None)
        misc.actions[key] = value


def _parse_global(arg: str, lists: dict[str, QemuOptsList]) -> tuple[str, str, str]:
    """``qemu_global_option``: ``driver.property=value`` (sscanf's
    ``%63[^.=].%63[^=]``), else QemuOpts with all three keys."""
    import re

    found = re.match(r"([^.=]{1,63})\.([^=]{1,63})=", arg)
    if found is not None:
        return found.group(1), found.group(2), arg[found.end() :]
    opts = lists["global"].parse_noisily(arg, False)
    driver, prop, value = opts.get("driver"), opts.get("property"), opts.get("value")
    if driver is None or prop is None or value is None:
        raise OptionError(M.GLOBAL_OPTIONS_REQUIRED)
    return driver, prop, value


# -- tracing -------------------------------------------------------------------------


def _recorded(release: Release, target: str) -> dict[str, Any]:
    from memdevd.releases.recorded import recording

    rec = recording(target, release)
    with open(rec.path("misc"), encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


def _trace_events(release: Release, target: str) -> list[str]:
    events: list[str] = _recorded(release, target)["trace-events"]
    return events


def _enable_trace_events(
    pattern: str, release: Release, target: str, loc: str | None
) -> Diagnostic | None:
    """``trace_enable_events``: help lists the events (exit 0); a name that
    is no event is a warning; a pattern (``*``) never is."""
    from memdevd.app.cli import Exit
    from memdevd.util import qemu_opts as Q

    if Q.is_help_option(pattern):
        raise Exit(0, "".join(e + "\n" for e in _trace_events(release, target)))
    name = pattern[1:] if pattern.startswith("-") else pattern
    if "*" in name or name in _trace_events(release, target):
        return None
    return Diagnostic(M.TRACE_EVENT_NOT_FOUND.format(name), location=loc, kind="warning")


def _parse_trace(
    misc: MiscOptions,
    arg: str,
    loc: str,
    lists: dict[str, QemuOptsList],
    release: Release,
    target: str,
) -> None:
    """``trace_opt_parse``: enable=, then the events= file, now."""
    opts = lists["trace"].parse_noisily(arg, True)
    enable = opts.get("enable")
    if enable is not None:
        note = _enable_trace_events(enable, release, target, loc)
        if note is not None:
            misc.notes.append(note)
    events = opts.get("events")
    if events is None:
        return
    try:
        with open(events, encoding="utf-8", errors="replace") as f:
            lines = f.read().split("\n")
    except OSError as exc:
        # error_report() under loc_set_file(fname, 0): "prog:FILE: text"
        text = os.strerror(exc.errno or 0)
        raise _PlainError(M.FILE_LOCATION_ERROR.format(misc.prog, events, text)) from None
    for number, line in enumerate(lines[:-1] if lines and lines[-1] == "" else lines, 1):
        if not line or line.startswith("#"):
            continue
        note = _enable_trace_events(line, release, target, None)
        if note is not None:
            # print_loc() of LOC_FILE: "prog:FILE:LINE: warning: ..."
            text = M.FILE_LINE_WARNING.format(misc.prog, events, number, note.message)
            misc.notes.append(Diagnostic(text, kind="plain"))


# -- qemu_process_early_options ---------------------------------------------------------


def process_early(misc: MiscOptions, release: Release, target: str) -> None:
    """``-sandbox``, ``-action``, ``-add-fd``, ``-d``/``-D``, then ``configure_rtc``."""
    for loc, values in misc.sandbox:
        _check_sandbox(values, loc)
    if misc.actions:
        _visit_actions(misc, release, target)
    if misc.add_fds:
        _parse_add_fds(misc)
    if misc.log_mask is not None:
        _check_log_mask(misc, release, target)
    if misc.log_file is not None:
        _check_log_file(misc.log_file)
    if misc.icount_option:
        _replay_configure(misc)
    configure_rtc(misc.rtc)


def _replay_configure(misc: MiscOptions) -> None:
    """``replay_configure`` of -icount's QemuOpts: ``rr=`` and its file.
    Recording or replaying a guest's execution is not emulated."""
    values = misc.icount or {}
    rr = values.get("rr")
    if rr is None:
        return  # just icount
    if rr not in ("record", "replay"):
        raise OptionError(M.REPLAY_INVALID_RR.format(rr), location=misc.icount_location)
    if values.get("rrfile") is None:
        raise OptionError(M.REPLAY_NO_FILE, location=misc.icount_location)
    raise OptionError(M.OPTION_NOT_EMULATED.format(f"-icount rr={rr}"))


def icount_configure(misc: MiscOptions) -> bool:
    """``configure_accelerators``' ``icount_configure`` of the "icount"
    QemuOpts (error_fatal at their location): whether icount is enabled.

    (Its ``shift=auto`` checks against the previous configuration cannot
    fail here: the list merges into one QemuOpts, configured once.)"""
    from memdevd.util.cutils import qemu_strtoi64
    from memdevd.util.qemu_opts import parse_bool

    if misc.icount is None:
        return False
    values, loc = misc.icount, misc.icount_location
    shift = values.get("shift")
    align = values.get("align")
    if shift is None:
        if align is not None:
            raise OptionError(M.ICOUNT_ALIGN_WITHOUT_SHIFT, location=loc)
        return False
    # (the list's bools were checked when parsed)
    sleep = values.get("sleep") or "on"
    if parse_bool(align or "off", name="align") and not parse_bool(sleep, name="sleep"):
        raise OptionError(M.ICOUNT_ALIGN_WITHOUT_SLEEP, location=loc)
    if shift != "auto":
        # qemu_strtol(option, NULL, 0, ...): the whole string, a C long
        err, value, _ = qemu_strtoi64(shift, 0, want_end=False)
        if err < 0 or not 0 <= value <= MAX_ICOUNT_SHIFT:
            raise OptionError(M.ICOUNT_INVALID_SHIFT, location=loc)
    misc.icount_enabled = True
    return True


def _parse_add_fds(misc: MiscOptions) -> None:
    """vl.c ``parse_add_fd`` of each -add-fd (its checks, a close-on-exec
    duplicate), then ``cleanup_add_fd``: the inherited descriptors closed."""
    import fcntl

    from memdevd.util import qemu_opts as Q

    for loc, fd, fdset_id, opaque in misc.add_fds:
        if fd < 0:
            raise Q.OptionError(M.ADD_FD_FD_REQUIRED, location=loc)
        if fd <= 2:
            raise Q.OptionError(M.ADD_FD_STDIO, location=loc)
        try:
            flags = fcntl.fcntl(fd, fcntl.F_GETFD)
        except OSError:
            flags = -1
        if flags == -1 or flags & fcntl.FD_CLOEXEC:
            raise Q.OptionError(M.ADD_FD_INVALID, location=loc)
        if fdset_id < 0:
            raise Q.OptionError(M.ADD_FD_SET_REQUIRED, location=loc)
        try:
            dup = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 0)
        except OSError as exc:
            raise Q.OptionError(
                M.ADD_FD_DUP_FAILED.format(os.strerror(exc.errno or 0)), location=loc
            ) from None
        misc.fdset_fds.append((dup, fdset_id, opaque))
    for _, fd, _, _ in misc.add_fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def _c_signed(value: int, bits: int) -> int:
    """A uint64 QemuOpts number stored in a C signed integer of ``bits``."""
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def _check_sandbox(values: dict[str, str], loc: str) -> None:
    """``parse_sandbox``: the sub-options are read only when enabled."""
    from memdevd.util.qemu_opts import parse_bool

    if not parse_bool(values.get("enable", "off"), name="enable"):
        return
    allowed = {
        "obsolete": ("allow", "deny"),
        "elevateprivileges": ("deny", "children", "allow"),
        "spawn": ("deny", "allow"),
        "resourcecontrol": ("deny", "allow"),
    }
    for key, values_ok in allowed.items():
        value = values.get(key)
        if value is not None and value not in values_ok:
            raise OptionError(M.SANDBOX_INVALID_ARGUMENT.format(key), location=loc)


def _visit_actions(misc: MiscOptions, release: Release, target: str) -> None:
    """``process_runstate_actions``: ``qmp_marshal_set_action`` of the options."""
    from memdevd.qapi.source_schema import schema_of, visit_members
    from memdevd.qapi.visitor import InputVisitor, VisitError
    from memdevd.releases.recorded import recording

    schema = schema_of(recording(target, release))
    arg_type = schema.commands["set-action"]["arg"]
    v = InputVisitor(dict(misc.actions))
    try:
        v.start_struct(None)
        visit_members(schema, v, arg_type)
        v.check_struct()
        v.end_struct()
    except VisitError as exc:
        raise OptionError(exc.desc, location=misc.action_location) from None


def _check_log_mask(misc: MiscOptions, release: Release, target: str) -> None:
    """``qemu_str_to_log_mask``: an unknown item prints the usage, exit 1."""
    from memdevd.app.cli import Exit

    usage: str = _recorded(release, target)["log-usage"]
    items = {line.split()[0] for line in usage.splitlines()[1:] if line[:1].isalpha()}
    items.discard("trace:PATTERN")
    assert misc.log_mask is not None
    for item in misc.log_mask.split(","):
        if item == "all" or item in items:
            continue
        if item.startswith("trace:") and item != "trace:":
            note = _enable_trace_events(item[6:], release, target, None)
            if note is not None:
                misc.notes.append(note)
            continue
        raise Exit(1, usage)


def _check_log_file(path: str) -> None:
    """``qemu_set_log_filename_flags``: QEMU opens (creates) the file now."""
    from memdevd.util.qemu_opts import OptionError as Error

    if "%d" in path:
        return  # one file per thread, opened when a thread logs
    try:
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise Error(M.LOGFILE_OPEN_FAILED.format(path, os.strerror(exc.errno or 0))) from None


def configure_rtc(rtc: dict[str, str]) -> None:
    """``configure_rtc`` (system/rtc.c)."""
    base = rtc.get("base")
    if base is not None and base not in ("utc", "localtime"):
        _parse_datetime(base)
    clock = rtc.get("clock")
    if clock is not None and clock not in ("host", "rt", "vm"):
        raise OptionError(M.RTC_INVALID_VALUE.format(clock))
    driftfix = rtc.get("driftfix")
    if driftfix is not None and driftfix not in ("slew", "none"):
        raise OptionError(M.RTC_INVALID_VALUE.format(driftfix))


def _scan_ints(text: str, seps: str) -> int:
    """How many ``%d`` conversions ``sscanf(text, "%d<sep>%d...")`` makes."""
    import re

    pos = 0
    count = 0
    for i in range(len(seps) + 1):
        found = re.match(r"\s*[+-]?\d+", text[pos:])
        if found is None:
            return count
        count += 1
        pos += found.end()
        if i < len(seps):
            if text[pos : pos + 1] != seps[i]:
                return count
            pos += 1
    return count


def _parse_datetime(text: str) -> None:
    """``configure_rtc_base_datetime``: sscanf %d-%d-%dT%d:%d:%d or %d-%d-%d."""
    if _scan_ints(text, "--T::") == 6 or _scan_ints(text, "--") == 3:
        return
    raise OptionError(M.RTC_INVALID_DATETIME, M.RTC_VALID_FORMATS)


# -- machine properties -------------------------------------------------------------------


def apply_machine_option(config: MachineConfig, key: str, value: Any) -> bool:
    """The machine properties these options set; False for any other key."""
    if key == "boot":
        config.board_options["boot"] = _visit_boot(value)
        return True
    if key == "firmware":
        config.board_options["firmware"] = str(value)
        return True
    if key in KERNEL_PROPS:
        config.board_options[key] = str(value)
        return True
    if key == "hpet":
        from memdevd.qapi.visitor import parse_bool_text

        parsed = parse_bool_text(str(value))
        if isinstance(value, bool):
            parsed = value
        if parsed is None:
            raise OptionError(M.INVALID_PARAMETER_VALUE.format("hpet", "'on' or 'off'"))
        config.board_options["hpet"] = parsed
        return True
    return False


def _visit_boot(value: Any) -> dict[str, Any]:
    """``machine_set_boot``: BootConfiguration, then the device letters."""
    from memdevd.qapi.visitor import InputVisitor, VisitError

    v = InputVisitor({"boot": value}, keyval=True)
    out: dict[str, Any] = {}
    try:
        v.start_struct(None)
        v.start_struct("boot")
        for key, kind in (
            ("order", "str"),
            ("once", "str"),
            ("menu", "bool"),
            ("splash", "str"),
            ("splash-time", "int"),
            ("reboot-timeout", "int"),
            ("strict", "bool"),
        ):
            if not v.optional(key):
                continue
            if kind == "str":
                out[key] = v.type_str(key)
            elif kind == "bool":
                out[key] = v.type_bool(key)
            else:
                out[key] = v.type_int(key, "int")
        v.check_struct()
        v.end_struct()
        v.end_struct()
    except VisitError as exc:
        raise OptionError(exc.desc) from None
    for key in ("order", "once"):
        if key in out:
            _validate_boot_devices(out[key])
    return out


def _validate_boot_devices(devices: str) -> None:
    """``validate_bootdevices``: letters a to p, each once."""
    seen: set[str] = set()
    for ch in devices:
        if not "a" <= ch <= "p":
            raise OptionError(M.BOOT_INVALID_DEVICE.format(ch))
        if ch in seen:
            raise OptionError(M.BOOT_DEVICE_TWICE.format(ch))
        seen.add(ch)


def boot_config_reply(config: MachineConfig) -> dict[str, Any]:
    """``qom-get /machine boot``: the BootConfiguration as set, with the
    board's default order (pc and q35: "cad") where none was given."""
    boot = dict(config.board_options.get("boot") or {})
    out: dict[str, Any] = {"order": boot.pop("order", "cad")}
    out.update(boot)
    return out


def expose_machine_props(machine: Machine, *, smp: bool = False) -> None:
    """``qom-get /machine boot|firmware|hpet|kernel|...`` (and ``smp`` when
    one was given) answer what was set: the machine object's recorded
    properties take these values."""
    options = machine.config.board_options
    values: dict[str, Any] = {}
    if "boot" in options:
        values["boot"] = boot_config_reply(machine.config)
    if "firmware" in options:
        values["firmware"] = options["firmware"]
    if "hpet" in options:
        values["hpet"] = options["hpet"]
    for key in KERNEL_PROPS:
        if key in options:
            values[key] = options[key]
    if smp:
        # machine_get_smp(): the topology as computed, every member of the
        # release's SMPConfiguration.
        got = machine.config.smp
        values["smp"] = {
            key: getattr(got, "max_cpus" if key == "maxcpus" else key)
            for key in machine.release.smp_keys
        }
    if values:
        machine.machine_obj.__dict__.setdefault("_recorded_overrides", {}).update(values)


# -- the board ------------------------------------------------------------------------------


def find_file(name: str, data_dirs: list[str]) -> str | None:
    """``qemu_find_file(QEMU_FILE_TYPE_BIOS, name)``."""
    if os.access(name, os.R_OK):
        return name
    for directory in (*data_dirs, *DEFAULT_DATA_DIRS):
        path = f"{directory}/{name}"
        if os.access(path, os.R_OK):
            return path
    return None


def board_created(machine: Machine, misc: MiscOptions) -> list[Diagnostic]:
    """What pc_memory_init and the board's devices check: the firmware
    (``x86_bios_rom_init``), the boot menu (``fw_cfg_bootsplash``,
    ``fw_cfg_reboot``), then the board devices' globals.  Returns the lines
    printed on the way; raises OptionError where QEMU exits."""
    notes: list[Diagnostic] = []
    config = machine.config
    if config.board.family not in ("pc", "q35"):
        return notes
    firmware = config.board_options.get("firmware")
    if firmware is not None:
        path = find_file(firmware, misc.data_dirs)
        size = os.path.getsize(path) if path is not None else -1
        if size <= 0 or size % 65536:
            raise _PlainError(M.BIOS_LOAD_FAILED.format(firmware))
    boot = config.board_options.get("boot") or {}
    splash_time = boot.get("splash-time")
    if splash_time is not None and not 0 <= splash_time <= 0xFFFF:
        raise OptionError(M.BOOT_SPLASH_TIME_INVALID)
    splash = boot.get("splash")
    if splash is not None and find_file(splash, misc.data_dirs) is None:
        notes.append(Diagnostic(M.BOOT_SPLASH_NOT_FOUND.format(splash)))
    timeout = boot.get("reboot-timeout")
    if timeout is not None and (timeout % (1 << 64)) > 0xFFFF and timeout != -1:
        raise OptionError(M.BOOT_REBOOT_TIMEOUT_INVALID)
    kernel = config.board_options.get("kernel")
    if kernel is not None:
        notes.extend(_load_kernel(machine, kernel))
    notes.extend(_add_option_roms(machine, misc))
    return notes


def _add_option_roms(machine: Machine, misc: MiscOptions) -> list[Diagnostic]:
    """pc_memory_init's ``rom_add_option`` for each -option-rom: the file
    (found as firmware is) goes to fw_cfg as ``genroms/BASENAME``; one that
    cannot be read is reported (fprintf) and left out, the VM starts."""
    notes: list[Diagnostic] = []
    for name, _bootindex in misc.option_roms:
        path = find_file(name, misc.data_dirs) or name
        line = _rom_read_error(machine.release, name, path)
        if line is not None:
            notes.append(Diagnostic(line, kind="plain"))
            continue
        abort = _rom_read_abort(machine.release, path)
        if abort is not None:
            abort.preceding[:0] = notes
            raise abort
        fw_name = f"genroms/{os.path.basename(path)}"
        if fw_name in misc.fw_cfg_taken:
            # fw_cfg_add_file_callback's error_report + exit(1)
            raise OptionError(M.FW_CFG_DUPLICATE.format(fw_name), preceding=notes)
        misc.fw_cfg_taken.add(fw_name)
    return notes


def _rom_read_error(release: Release, name: str, path: str) -> str | None:
    """The line ``rom_add_file`` prints when it cannot read the ROM, which
    it then skips (None: it can read it)."""
    if release.rom_file_glib_read:
        # g_file_get_contents()
        try:
            with open(path, "rb") as f:
                f.read(1)
        except IsADirectoryError:
            return M.ROM_FILE_ERROR.format(name, M.GLIB_READ_FAILED.format(path, "Is a directory"))
        except OSError as exc:
            text = M.GLIB_FAILED_TO_OPEN.format(path, os.strerror(exc.errno or 0))
            return M.ROM_FILE_ERROR.format(name, text)
        return None
    # open(O_RDONLY), which a directory passes
    try:
        os.close(os.open(path, os.O_RDONLY))
    except OSError as exc:
        return M.ROM_OPEN_FAILED_7_2.format(path, os.strerror(exc.errno or 0))
    return None


def _rom_read_abort(release: Release, path: str) -> OptionError | None:
    """The abort of ``rom_add_file`` on a ROM it opened (None: none): before
    g_file_get_contents() (7.2), a directory's lseek(SEEK_END) is LLONG_MAX
    and g_malloc0 of that aborts the process."""
    if release.rom_file_glib_read or not os.path.isdir(path):
        return None
    err = OptionError(M.GLIB_ALLOC_FAILED.format((1 << 63) - 1))
    err.aborts = True
    err.abort_signal = 5  # SIGTRAP: g_error()'s G_BREAKPOINT
    return err


def _load_kernel(machine: Machine, kernel: str) -> list[Diagnostic]:
    """pc_memory_init's ``x86_load_linux``, after the firmware and fw_cfg."""
    from memdevd.targets.x86_64.layout import ram_split
    from memdevd.targets.x86_64.linux_boot import load_linux

    config = machine.config
    options = config.board_options
    below_4g, _ = ram_split(
        config.board,  # type: ignore[arg-type]
        config.ram_size,
        options.get("max-ram-below-4g", 0),
    )
    return load_linux(
        kernel,
        options.get("initrd"),
        options.get("dtb"),
        options.get("append", ""),
        options.get("shim"),
        below_4g=below_4g,
        pvh_enabled=bool(machine.compat.get("pc-machine.pvh-enabled", True)),
        shim_error=machine.release.shim_read_failed_text,
    )


def validate_kernel_options(machine_opts: dict[str, Any]) -> None:
    """``qemu_validate_options``: what only a -kernel may come with."""
    if machine_opts.get("kernel") is not None:
        return
    for key, text in (
        ("append", M.APPEND_WITHOUT_KERNEL),
        ("shim", M.SHIM_WITHOUT_KERNEL),
        ("initrd", M.INITRD_WITHOUT_KERNEL),
    ):
        if machine_opts.get(key) is not None:
            raise OptionError(text)


class _PlainError(OptionError):
    """An error QEMU prints with fprintf(stderr), without its program name."""

    def diagnostic(self) -> Diagnostic:
        return Diagnostic(self.message, kind="plain")


def init_tpm(misc: MiscOptions) -> None:
    """``tpm_init`` (qemu_create_late_backends): each -tpmdev under its
    location.  memdevd has no TPM: a backend QEMU would open is refused by
    name, after QEMU's own checks."""
    for loc, opts_id, values in misc.tpmdevs:
        if opts_id is None:
            raise OptionError(M.MISSING_PARAMETER.format("id"), location=loc)
        kind = values.get("type")
        if kind is None:
            raise OptionError(M.MISSING_PARAMETER.format("type"), M.TPM_TYPES_LIST, loc)
        if kind not in _TPM_KEYS:
            raise OptionError(
                M.INVALID_PARAMETER_VALUE.format("type", M.TPM_BACKEND_TYPE), M.TPM_TYPES_LIST, loc
            )
        for key in values:
            if key != "id" and key not in _TPM_KEYS[kind]:
                raise OptionError(M.INVALID_PARAMETER.format(key), location=loc)
        if kind == "passthrough":
            path = values.get("path", "/dev/tpm0")
            try:
                fd = os.open(path, os.O_RDWR)
            except OSError as exc:
                text = os.strerror(exc.errno or 0)
                raise OptionError(M.TPM_CANNOT_ACCESS.format(path, text), location=loc) from None
            os.close(fd)
        else:
            chardev = values.get("chardev")
            if chardev is None:
                raise OptionError(M.TPM_EMULATOR_NO_CHARDEV, location=loc)
            if chardev not in misc.chardev_ids:
                raise OptionError(M.TPM_EMULATOR_CHARDEV_NOT_FOUND.format(chardev), location=loc)
        raise OptionError(M.OPTION_NOT_EMULATED.format(f"-tpmdev {kind}"), location=loc)


def create_fw_cfg_files(machine: Machine, misc: MiscOptions) -> list[Diagnostic]:
    """``parse_fw_cfg`` for each -fw_cfg, before the -device options."""
    notes: list[Diagnostic] = []
    names = set(misc.fw_cfg_taken)
    for loc, opts in misc.fw_cfg:
        if machine.config.board.family not in ("pc", "q35"):
            raise OptionError(M.FW_CFG_NOT_AVAILABLE, location=loc)
        name = opts.get("name") or ""
        given = [k for k in ("file", "string", "gen_id") if opts.get(k)]
        if not name or len(given) != 1:
            raise OptionError(M.FW_CFG_NAME_AND_ONE, location=loc)
        if len(name) > FW_CFG_MAX_FILE_PATH - 1:
            raise OptionError(M.FW_CFG_NAME_TOO_LONG.format(FW_CFG_MAX_FILE_PATH - 1), location=loc)
        if given[0] != "gen_id" and not name.startswith("opt/"):
            notes.append(Diagnostic(M.FW_CFG_OPT_PREFIX, location=loc, kind="warning"))
        if given[0] == "gen_id":
            gen_id = opts["gen_id"]
            obj = machine.objects.children.get(gen_id)
            if obj is None:
                raise OptionError(M.FW_CFG_NO_OBJECT.format(gen_id), location=loc)
            if not obj.is_a("fw_cfg-data-generator"):
                raise OptionError(
                    M.FW_CFG_NOT_GENERATOR.format(gen_id, "fw_cfg-data-generator"), location=loc
                )
        elif given[0] == "file":
            path = opts["file"]
            try:
                with open(path, "rb"):
                    pass
            except OSError as exc:
                glib = M.GLIB_FAILED_TO_OPEN.format(path, os.strerror(exc.errno or 0))
                raise OptionError(M.FW_CFG_CANT_LOAD.format(path, glib), location=loc) from None
        if name in names:
            # fw_cfg_add_file_callback's error_report + exit(1)
            raise OptionError(M.FW_CFG_DUPLICATE.format(name), location=loc, preceding=notes)
        names.add(name)
    return notes
