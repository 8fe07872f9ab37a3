"""memdevd's command line: QEMU's own syntax, so the binary can be swapped.

``memdevd ARGS`` accepts what ``qemu-system-x86_64 ARGS`` accepts for the
options memdevd emulates, with QEMU's errors on stderr and QEMU's exit
status; an option QEMU has but memdevd does not emulate is refused by name,
never ignored.  ``-memdevd key=val,...`` carries memdevd's own settings
(``-memdevd help`` lists them).  A first argument that is a plain word is a
memdevd subcommand (``memdevd compare ...``) where QEMU would take a disk
image.  With no arguments at all memdevd starts a hot-plug-ready q35 machine
on a socket at :func:`default_socket_path` and prints the path.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import field
from typing import TYPE_CHECKING, Any

from memdevd.records import record

if TYPE_CHECKING:
    from memdevd.app.daemon import Daemon
    from memdevd.releases.table import Release
    from memdevd.targets import Target
    from memdevd.util.qemu_opts import Diagnostic, QemuOpts

#: vl.c's drive_add() shorthands: (interface, "" for the board's; index; options)
DRIVE_SHORTHANDS = {
    "hda": ("", 0, "media=disk"),
    "hdb": ("", 1, "media=disk"),
    "hdc": ("", 2, "media=disk"),
    "hdd": ("", 3, "media=disk"),
    "cdrom": ("", 2, "media=cdrom"),
    "fda": ("floppy", 0, ""),
    "fdb": ("floppy", 1, ""),
    "pflash": ("pflash", -1, ""),
    "sd": ("sd", -1, ""),
    "mtdblock": ("mtd", -1, ""),
}

SUBCOMMANDS = ("compare", "record", "map", "fleet")

DEFAULT_MACHINE_ARGV = ["-machine", "q35", "-m", "1G,slots=16,maxmem=64G", "-display", "none"]


def default_socket_path() -> str:
    """Where ``memdevd`` with no arguments puts its QMP socket."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return os.path.join(runtime, "memdevd", "qmp.sock")
    return os.path.join("/tmp", f"memdevd-{os.getuid()}", "qmp.sock")


def program_name() -> str:
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "memdevd"
    return "memdevd" if name in ("__main__.py", "-c", "") else name


@record
class Parsed:
    """The first pass: everything collected from argv, in order."""

    request: Any
    settings: Any
    listen: list[Any] = field(default_factory=list)
    pidfile: str | None = None
    daemonize: bool = False
    print_socket: bool = False


class Exit(Exception):
    """Stop with this exit status after printing ``out`` to stdout."""

    def __init__(self, status: int, out: str = "") -> None:
        super().__init__(status)
        self.status = status
        self.out = out


def version_text(release: Any) -> str:
    from memdevd import __version__

    return (
        f"QEMU emulator version {release.full_version} ({release.reference_package};"
        f" memdevd {__version__})\n"
        f"Copyright (c) 2003-{release.copyright_year} Fabrice Bellard and the QEMU Project"
        " developers\n"
        f"memdevd {__version__}: QEMU's memory-device subsystem over QMP, emulated\n"
    )


def help_text(prog: str) -> str:
    from memdevd.app.settings import help_text as memdevd_help

    lines = [
        f"usage: {prog} [options]",
        f"       {prog} compare|record SCENARIO... [--help]",
        f"       {prog} map SOCKET|--state FILE [-o SVG] [--html HTML] [--save JSON]",
        f"       {prog} fleet --dir DIR [--count N --template ARGV]",
        "",
        "memdevd answers QMP like QEMU's memory-device subsystem; it takes",
        "qemu-system-x86_64's command line.  Emulated options:",
        "",
        "-machine|-M TYPE[,nvdimm=on|off][,acpi=on|off][,accel=kvm|tcg[:...]]",
        "                [,max-ram-below-4g=SIZE][,usb=on|off][,hmat=on|off]",
        "                  pc or q35 (any versioned type); -machine help lists them",
        "-m [size=]SIZE[,slots=N][,maxmem=SIZE]     RAM, memory slots and maximum memory",
        "-object memory-backend-ram|file|memfd|epc,id=ID,size=SIZE[,...] (or JSON)",
        "-mem-prealloc     every memory backend gets prealloc=on (see -memdevd host-memory=)",
        "-mem-path PATH    the machine's RAM is a memory-backend-file (pc.ram) on PATH",
        "-device pc-dimm|nvdimm,...                  memory devices (or JSON)",
        "-device help | -device TYPE,help            the release's device types, a type's",
        "                  properties (every device type of the release, as QEMU lists them)",
        "-numa node[,nodeid=N][,memdev=ID][,cpus=N[-M]][,initiator=N]",
        "-numa dist,src=N,dst=N,val=D | cpu,node-id=N[,socket-id=,core-id=,...]",
        "-numa hmat-lb,initiator=,target=,hierarchy=,data-type=,latency=|bandwidth=",
        "-numa hmat-cache,node-id=,size=,level=,associativity=,policy=,line=",
        "-cpu MODEL[,+feat,-feat,prop=value...] | help   every x86 model of the release",
        "                  (KVM: qemu64|host as recorded from QEMU)",
        "-smp [cpus=]N[,sockets=,dies=,cores=,threads=,maxcpus=]  -name NAME  -S (start paused)",
        "-accel kvm|tcg    -enable-kvm      (KVM only with -memdevd kvm=on)",
        "-qmp unix:PATH,server=on,wait=off | tcp:HOST:PORT,server=on,wait=off (repeatable)",
        "-chardev socket,id=ID,path=PATH|host=H,port=P|fd=N,server=on,wait=off",
        "-chardev BACKEND,id=ID[,...]   any chardev backend of the release (-chardev help);",
        "                  sockets listen and connect, ptys open, files are never written",
        "-serial|-parallel SPEC|none  chardev serialN/parallelN, isa-serial/isa-parallel",
        "                  (virt: pl011); without -nodefaults QEMU's default ports and",
        "                  monitor (vc, or -nographic's null/stdio/mon:stdio)",
        "-debugcon SPEC    chardev debugcon and -device isa-debugcon,id=debugcon",
        "-usbdevice tablet|mouse|keyboard|wacom-tablet|braille  usb=on and that USB device",
        "-option-rom FILE[,bootindex=N]  checked and named in fw_cfg as QEMU's board does",
        "-acpitable file=F[:F...]|data=F[:F...][,sig=,rev=,oem_id=,...]  read and checked",
        "-mon chardev=ID,mode=control|readline   -monitor SPEC|none (HMP on sockets, pty, stdio)",
        '-readconfig FILE  a QEMU config file ([device "ID"], [drive], [memory]...): each',
        "                  group read as QEMU reads it and taken as its option",
        "-daemonize -pidfile PATH  -version  -h|-help",
        "-msg timestamp=on|off     time-stamp the messages on stderr",
        "-icount [shift=]N|auto[,align=on|off][,sleep=on|off]  checked as QEMU checks it",
        "                  (no guest runs; rr=record|replay is not emulated)",
        "-add-fd fd=N,set=N[,opaque=STR]  an fd set (query-fdsets); getfd/add-fd take",
        "                  descriptors sent with SCM_RIGHTS on a UNIX QMP socket",
        "-fsdev local|synth,id=ID[,path=DIR,security_model=...]  -virtfs ...,mount_tag=TAG",
        "                  9p exports for virtio-9p-pci, checked as QEMU (nothing is served)",
        "-compat deprecated-input=accept|reject|crash,deprecated-output=accept|hide,",
        "        unstable-input=...,unstable-output=...  QMP's policy on deprecated and unstable",
        "                  commands, arguments, values and reply members, as QEMU applies it",
        "-object secret,id=ID,data=STR|file=PATH[,format=raw|base64]",
        "-device virtio-balloon-pci|pcie-root-port,...",
        "-machine cxl=on,cxl-fmw.N.targets.M=ID,cxl-fmw.N.size=SIZE[,cxl-fmw.N.interleave-",
        "                  granularity=SIZE]  -device pxb-cxl|cxl-rp|cxl-type3,...   CXL:",
        "                  placed and checked as QEMU does; no CXL memory is accessible",
        "-device ich9-ahci|virtio-scsi-pci|lsi53c895a|qemu-xhci|virtio-serial-pci|...:",
        "                  controllers and their buses (IDE, SCSI, USB, virtio-serial, HDA)",
        "-device ide-hd|ide-cd|scsi-hd|scsi-cd|usb-tablet|usb-kbd|virtserialport|hda-duplex|...:",
        "                  devices on those buses (addresses and errors as QEMU)",
        "-usb              the board's USB controller (pc: UHCI, q35: EHCI)",
        "-blockdev driver=file|host_device|host_cdrom|null-co|null-aio|raw|qcow2|throttle|",
        "                  copy-on-read,node-name=N,...",
        "                  (or JSON): block nodes; files are read, never written",
        "-drive [file=FILE][,if=none|ide|floppy|virtio|pflash][,format=F][,id=ID][,cache=..]",
        "                  [,readonly=][,throttling.*|iops=..|bps=..][,werror=..][,rerror=..]",
        "                  legacy drives (a named BlockBackend; if=virtio adds virtio-blk)",
        "-hda..-hdd|-cdrom|-fda|-fdb|-pflash|-sd|-mtdblock FILE   -drive shorthands",
        "                  (-hda..-cdrom: the board's IDE/AHCI units; -fda/-fdb: floppy drives)",
        "-snapshot         snapshot=on for every -drive: a temporary qcow2 overlay in /var/tmp",
        "                  (or $TMPDIR) on each image, unlinked once open, as QEMU makes it",
        "-machine pflash0=NODE,pflash1=NODE   the system flash of pc/q35 and virt (UEFI firmware)",
        "-netdev TYPE,id=ID,... (or JSON)  -nic [TYPE][,model=M][,mac=MAC]  -net nic|TYPE,...",
        "                  network backends, NICs and hubs as QEMU checks them; no packet",
        "                  is sent (vhost-user and vde are refused by name)",
        "-no-acpi (7.2 only)   -no-shutdown (a guest shutdown stops the VM)",
        "-uuid UUID   -smbios type=N,...|file=PATH   (checked as QEMU does; query-uuid)",
        "-global DRIVER.PROP=VALUE | driver=,property=,value=   applied to the devices",
        "                  memdevd creates; the board's checked; unused ones warned about",
        "-boot [order=]DEVS[,once=,menu=,splash=,splash-time=,reboot-timeout=,strict=]",
        "                  the machine's boot property (qom-get /machine boot)",
        "-action reboot=,shutdown=,panic=,watchdog=  -no-reboot  -watchdog-action ACTION",
        "                  as set-action / watchdog-set-action (system_reset, shutdowns)",
        "-rtc base=,clock=,driftfix=  -fw_cfg name=,file=|string=|gen_id=  -k LAYOUT",
        "-sandbox on|off[,...]  -overcommit mem-lock=,cpu-pm=  -bios FILE  -L DIR",
        "-kernel FILE [-initrd FILE[,...]] [-append CMDLINE] [-dtb FILE] [-shim FILE (10.0)]",
        "                  direct kernel boot: the files checked as QEMU's x86 loader",
        "                  checks them (read, never loaded); qom-get /machine kernel...",
        "-iscsi [user=][,password=][,password-secret=][,header-digest=][,initiator-name=]",
        "                  [,timeout=]   checked as QEMU; used by no drive (as in QEMU)",
        "-d ITEMS|help  -D FILE  -trace [enable=]PATTERN|help[,events=,file=]",
        "-no-hpet (7.2)  -nodefaults  -no-user-config  -incoming defer (inmigrate state)",
        "-tpmdev passthrough|emulator,id=,...  (checked as QEMU; no TPM: refused after)",
        "                  checked as QEMU does; nothing is logged, traced, sandboxed,",
        "                  locked or loaded (docs/divergences.md)",
        "-vnc [HOST]:N|unix:PATH|none[,to=,websocket=,password=on,password-secret=,share=,",
        "                  id=,display=,audiodev=,...]   VNC servers bound as QEMU binds them",
        "-spice port=,tls-port=,addr=,unix=on,disable-ticketing=on,password-secret=,...",
        "                  (7.2: the SPICE server, bound; 10.0's build has no SPICE module)",
        "-display none|vnc=...|TYPE  -nographic  -vga std|cirrus|virtio|qxl|none|help  -k MAP",
        "-device VGA|bochs-display|virtio-vga|virtio-gpu-pci|qxl-vga|cirrus-vga|ramfb,...",
        "-audiodev DRIVER,id=ID[,...]  (the drivers the reference build has; nothing played)",
        "-audio [driver=]DRIVER[,model=ac97|hda|sb16|...][,...]  an audiodev and a sound card",
        "                  no -display/-vnc/-spice: a VNC server on localhost:0,to=99 as QEMU",
    ]
    lines += [
        "",
        'Any other QEMU option is refused with "memdevd: option -X is not emulated".',
        "",
        memdevd_help(),
        "",
        f"With no arguments: {' '.join(DEFAULT_MACHINE_ARGV)}, QMP socket at",
        f"{default_socket_path()} (printed on start).",
        "",
        "memdevd-qemu-system-x86_64 takes the same arguments with libvirt's defaults",
        "(-memdevd guest=cooperative,kvm=auto): name it in a libvirt domain's",
        "<emulator> (docs/libvirt.md); memdevd-qemu-system-aarch64 is the same with",
        "-memdevd target=aarch64.",
    ]
    return "\n".join(lines) + "\n"


def _prescan_version(argv: Sequence[str]) -> tuple[str, str]:
    """The -memdevd version=... and target=..., needed before parsing (texts
    and the command line differ per release and target)."""
    from memdevd.releases.table import DEFAULT_VERSION, RELEASES
    from memdevd.targets import TARGET_NAMES

    version = DEFAULT_VERSION
    target = TARGET_NAMES[0]
    for i, word in enumerate(argv[:-1]):
        if word in ("-memdevd", "--memdevd"):
            for item in argv[i + 1].split(","):
                key, _, value = item.partition("=")
                if key == "version" and value in RELEASES:
                    version = value
                elif key == "target" and value in TARGET_NAMES:
                    target = value
    return version, target


def parse(argv: Sequence[str], prog: str) -> Parsed:
    """The first pass over argv, in order, as vl.c's option loop."""
    from memdevd import messages as M
    from memdevd.app import displays
    from memdevd.app.listeners import monitor_addresses
    from memdevd.app.settings import MemdevdSettings, SettingsError, apply
    from memdevd.app.startup import StartupRequest
    from memdevd.releases.table import get_release
    from memdevd.targets import get_target
    from memdevd.util import cmdline as cli_args
    from memdevd.util import qemu_opts as Q

    version, target_name = _prescan_version(argv)
    release = get_release(version)
    settings = MemdevdSettings(version=version, target=target_name)
    target = get_target(settings.target)
    syntax = target.syntax(release)
    tokens = cli_args.tokenize(argv, syntax=syntax)
    lists = Q.new_opts_lists(syntax)
    request = StartupRequest()
    parsed = Parsed(request, settings)
    qmp_index = 0
    # Each monitor's QemuOpts (by id()) -> its option's location (mon_init_func's errors).
    mon_locations: dict[int, str] = {}
    chardev_locations: dict[str, str] = {}
    smbios: Any = None  # smbios.SmbiosState, once an -smbios option comes
    from memdevd.app import misc_options

    misc = request.misc
    misc.prog = prog
    vnc_locations: dict[int, str] = {}
    display = request.display
    # -device options in QemuOpts syntax, for qemu_process_help_options().
    device_opts: list[tuple[QemuOpts, str]] = []
    for item, where, pending in _expand_readconfig(tokens.items, lists, release):
        item.check_target()
        name, arg, loc = item.name, item.arg, item.location
        try:
            if pending is not None:
                raise pending
            if name in ("h", "help"):
                raise Exit(0, help_text(prog))
            if name == "version":
                raise Exit(0, version_text(release))
            if name == "memdevd":
                assert arg is not None
                if arg == "help":
                    from memdevd.app.settings import help_text as memdevd_help

                    raise Exit(0, memdevd_help() + "\n")
                opts = Q.keyval_parse(arg, None, help_allowed=False).values
                apply(settings, [(k, str(v)) for k, v in opts.items()])
            elif name in ("machine", "M"):
                assert arg is not None
                res = Q.keyval_parse(arg, "type", into=request.machine)
                if res.help:
                    # machine_help_func: a known type's properties and their
                    # descriptions (which the recordings do not hold), else
                    # the list (a type=help is an unknown machine type later).
                    mtype = request.machine.get("type")
                    known = {
                        n for m in target.machine_list(release) for n in (m["name"], m.get("alias"))
                    }
                    if isinstance(mtype, str) and mtype in known:
                        raise Q.OptionError(M.OPTION_NOT_EMULATED.format(f"-{name} {arg}"))
                    raise Exit(0, _machine_help(target, release))
            elif name == "m":
                assert arg is not None
                lists["memory"].parse_noisily(arg, True)
            elif name == "object":
                assert arg is not None
                request.objects.append(_parse_object(arg, loc, lists, release, target.name))
            elif name == "object-keyval":
                # A -readconfig [object] group: the keyval visitor's texts.
                assert arg is not None
                request.objects.append(
                    _parse_object(arg, loc, lists, release, target.name, keyval=True)
                )
            elif name == "device":
                assert arg is not None
                spec, qemu_opts = _parse_device(arg, loc, lists, release)
                request.devices.append(spec)
                if qemu_opts is not None:
                    device_opts.append((qemu_opts, loc))
            elif name == "blockdev":
                assert arg is not None
                request.blockdevs.append((loc, _parse_blockdev(arg, target.name, release)))
            elif name == "drive":
                assert arg is not None
                opts_ = lists["drive"].parse_noisily(arg, False)
                request.drives.append((loc, opts_.id, opts_.items()))
            elif name in DRIVE_SHORTHANDS:
                assert arg is not None
                # vl.c drive_add(): a -drive with the interface, index, file.
                if_type, index, optstr = DRIVE_SHORTHANDS[name]
                items = lists["drive"].parse_noisily(optstr, False).items()
                if if_type:
                    items.append(("if", if_type))
                if index >= 0:
                    items.append(("index", str(index)))
                items.append(("file", arg))
                request.drives.append((loc, None, items))
            elif name in ("netdev", "nic", "net"):
                assert arg is not None
                _parse_net_option(name, arg, loc, lists, request, target.name, release)
            elif name == "numa":
                assert arg is not None
                opts_ = lists["numa"].parse_noisily(arg, True)
                request.numa.append((loc, opts_.id, opts_.items()))
            elif name == "acpitable":
                assert arg is not None
                from memdevd.app.acpitable import acpi_table_add

                opts_ = lists["acpi"].parse_noisily(arg, True)
                for note in acpi_table_add(opts_.items(), opts_.id, release, target.name):
                    note.location = loc
                    request.parse_notes.append(note)
            elif name == "smp":
                assert arg is not None
                # machine_parse_property_opt(): keyval merged into the
                # machine's "smp", visited with the machine (startup.py).
                res = Q.keyval_parse(arg, "cpus")
                if res.help:
                    raise Q.HelpRequested(lists["smp-opts"].print_help(True), exit_status=0)
                Q.keyval_merge(request.machine, {"smp": res.values})
            elif name == "cpu":
                assert arg is not None
                request.cpu_option = arg
            elif name == "accel":
                assert arg is not None
                accel = lists["accel"].parse_noisily(arg, True)
                value = accel.get("accel") or ""
                request.accel.append((value, loc))
            elif name == "enable-kvm":
                request.accel.append(("kvm", None))
            elif name == "S":
                request.start_paused = True
            elif name in misc_options.OPTIONS:
                if name == "no-shutdown":
                    request.no_shutdown = True
                elif name == "nodefaults":
                    display.has_defaults = False
                elif name == "k":
                    display.keymap = arg
                misc_options.parse_option(
                    misc, name, arg, loc, lists, request.machine, release, target.name
                )
            elif name == "no-acpi":
                request.no_acpi = True
            elif name == "name":
                assert arg is not None
                opts_ = lists["name"].parse_noisily(arg, True)
                request.name = opts_.get("guest")
            elif name == "uuid":
                assert arg is not None
                from memdevd.app.smbios import parse_uuid

                request.uuid = parse_uuid(arg)
            elif name == "smbios":
                assert arg is not None
                from memdevd.app.smbios import SmbiosState, entry_add

                smbios = smbios or SmbiosState()
                entry_add(lists["smbios"].parse_noisily(arg, False), lists, smbios)
                request.uuid = smbios.uuid or request.uuid
            elif name == "daemonize":
                parsed.daemonize = request.daemonize = True
                display.daemonize = True
            elif name == "pidfile":
                parsed.pidfile = arg
            elif name in ("qmp", "qmp-pretty"):
                assert arg is not None
                display.monitor_given = True
                mon = Q.monitor_parse(arg, lists, mode="control", device_index=qmp_index)
                mon_locations[id(mon)] = loc
                qmp_index += 1
                chardev_locations.setdefault(mon.get("chardev") or "", loc)
            elif name == "chardev":
                assert arg is not None
                chardev = lists["chardev"].parse_noisily(arg, True)
                if Q.is_help_option(chardev.get("backend") or ""):
                    from memdevd.app.chardev_cli import help_text as chardev_help

                    raise Exit(0, chardev_help(release))
                chardev_locations[chardev.id or ""] = loc
            elif name == "monitor":
                assert arg is not None
                display.monitor_given = True
                if not arg.startswith("none"):
                    mon = Q.monitor_parse(arg, lists, mode="readline", device_index=qmp_index)
                    mon_locations[id(mon)] = loc
                    qmp_index += 1
                    chardev_locations.setdefault(mon.get("chardev") or "", loc)
            elif name in ("serial", "parallel", "debugcon"):
                assert arg is not None
                if name == "serial":
                    display.serial_given = True
                elif name == "parallel":
                    display.parallel_given = True
                if name != "debugcon" and arg.startswith("mon:"):
                    display.monitor_given = True
                request.serial_ports.append((name, arg, loc))
            elif name == "mon":
                assert arg is not None
                mon_locations[id(lists["mon"].parse_noisily(arg, True))] = loc
                # The option loop warns and clears default_monitor; a
                # -readconfig [mon] group is only stored.
                if not isinstance(loc, Q.FileLocation):
                    display.monitor_given = True
                    # (once: seen live on 11.1)
                    warned = any(n.message == M.MON_DEPRECATED for n in request.parse_notes)
                    if release.mon_deprecated and not warned:
                        request.parse_notes.append(
                            Q.Diagnostic(M.MON_DEPRECATED, location=loc, kind="warning")
                        )
            elif name == "msg":
                assert arg is not None
                msg = lists["msg"].parse_noisily(arg, False)
                # Validated as a bool by the option list already.
                Q.set_message_timestamps(
                    Q.parse_bool(msg.get("timestamp") or "off", name="timestamp")
                )
            elif name == "iscsi":
                assert arg is not None
                # block/iscsi-opts.c: read only when an iscsi drive is opened
                # (none can be here: the iscsi driver is not emulated).
                lists["iscsi"].parse_noisily(arg, False)
            elif name == "usb":
                # vl.c: -usb is -machine usb=on.
                request.machine["usb"] = "on"
            elif name == "usbdevice":
                assert arg is not None
                # vl.c: -machine usb=on, and a device made with the others.
                request.machine["usb"] = "on"
                request.usb_devices.append((arg, loc))
            elif name in ("vnc", "vnc-group"):
                assert arg is not None
                # "vnc-group": a -readconfig [vnc] group, only stored.
                assign = name == "vnc" and not release.vnc_ids_at_init
                displays.parse_vnc(lists, arg, loc, vnc_locations, assign_id=assign)
                display.remote = display.remote or name == "vnc"
            elif name == "display":
                assert arg is not None
                got = displays.parse_display(arg, release, target.name)
                if isinstance(got, str):
                    assign = not release.vnc_ids_at_init
                    displays.parse_vnc(lists, got, loc, vnc_locations, assign_id=assign)
                    display.remote = True
                else:
                    display.dpy = got
            elif name == "mem-prealloc":
                request.mem_prealloc = True
            elif name == "snapshot":
                request.snapshot = True
            elif name == "fsdev":
                assert arg is not None
                opts_ = lists["fsdev"].parse_noisily(arg, True)
                request.fsdevs.append((loc, opts_.id, opts_.items()))
            elif name == "virtfs":
                assert arg is not None
                _parse_virtfs(arg, loc, lists, release, request, device_opts)
            elif name == "compat":
                assert arg is not None
                # qobject_input_visitor_new_str + visit_type_CompatPolicy
                request.compat = displays._visit_option(
                    arg, None, "CompatPolicy", release, target.name
                )
            elif name == "mem-path":
                request.mem_path = arg
            elif name == "nographic":
                # machine_opts_dict "graphics"="off", the display none.
                request.machine["graphics"] = "off"
                display.nographic = True
                display.dpy = {**(display.dpy or {}), "type": "none"}
            elif name == "vga":
                display.vga = arg
            elif name in ("spice", "spice-group"):
                assert arg is not None
                displays.parse_spice(lists, arg, release)
                display.remote = display.remote or name == "spice"
            elif name == "audio":
                assert arg is not None
                from memdevd.app.soundhw import parse_audio, select_soundhw

                card = parse_audio(arg, loc, release, target.name, display)
                if card is not None:
                    request.soundhw = select_soundhw(request.soundhw, card, loc, release)
            elif name == "audiodev":
                assert arg is not None
                display.audiodevs.append(displays.parse_audiodev(arg, release, target.name))
            elif name in ("readconfig", ""):
                pass  # read by _expand_readconfig; "": a group nothing reads
            else:
                raise Q.OptionError(M.OPTION_NOT_EMULATED.format(f"-{name}"))
        except Q.OptionError as err:
            if where is None:
                err = err.at(loc) if err.location is None else err
            else:
                if err.location is None or err.location == loc:
                    # A group of a -readconfig file, failing while it is read.
                    err = err.at(where[0])
                if not where[1]:
                    err.hint = None
            # What earlier options printed (warnings) came first.
            err.preceding[:0] = [*misc.notes, *request.parse_notes]
            raise err from None
        except SettingsError as exc:
            raise Q.OptionError(str(exc), location=loc, preceding=misc.notes) from None
    try:
        misc_options.validate_kernel_options(request.machine)
        misc_options.process_early(misc, release, target.name)
    except Q.OptionError as err:
        err.preceding[:0] = misc.notes
        raise
    # qemu_validate_options()
    if display.daemonize and (display.dpy or {}).get("type") == "curses":
        raise Q.OptionError(M.CURSES_WITH_DAEMONIZE)
    display.vnc = displays.vnc_requests(lists, vnc_locations)
    spice = lists["spice"].find(None) if "spice" in lists else None
    display.spice = list(spice.items()) if spice is not None else None
    _process_help_options(request, device_opts, release, target)
    misc.chardev_ids = {c.id for c in lists["chardev"].head if c.id is not None}
    memory = lists["memory"].find(None)
    request.memory = memory.to_dict() if memory is not None else None
    try:
        parsed.listen = monitor_addresses(
            lists, chardev_locations, mon_locations, release.chardev_in_use_text
        )
    except Q.OptionError as err:
        # (mon_init_func: the warnings of the option loop came first)
        err.preceding[:0] = [*misc.notes, *request.parse_notes]
        raise
    _chardevs(lists, chardev_locations, request, release, qmp_index, mon_locations)
    from memdevd.app.chardev_cli import serial_ports

    serial_ports(lists, request, release)
    if display.has_defaults:
        # The ids qemu_create_default_devices()'s specs must not take.
        request.taken_ids = (
            [c.id for c in lists["chardev"].head if c.id is not None],
            [m.id for m in lists["mon"].head if m.id is not None],
        )
    return parsed


def _expand_readconfig(items: Sequence[Any], lists: Any, release: Any) -> Iterator[Any]:
    """The command-line items, each ``-readconfig FILE`` followed by the
    options its groups stand for, in the file's order (app/readconfig.py).

    Yields ``(item, where, pending)``: ``where`` is None for an item of the
    command line, else ``(location,)`` where an error raised while the
    group is taken in is printed (``-readconfig FILE`` in 10.0 and 11.1,
    the file's line in 7.2); ``pending`` is an error to raise at this item.
    Lazily: a group is read after the options before it are taken in.
    """
    for item in items:
        if item.name != "readconfig":
            yield item, None, None
            continue
        # (imported only for an argv with -readconfig: start-up time)
        from memdevd.app import readconfig
        from memdevd.util import qemu_opts as Q
        from memdevd.util.cmdline import CliItem

        config = readconfig.read(item.arg or "", item.location, release)
        for number, group in enumerate(config.groups, 1):
            gloc = group.location
            # 7.2 hands the last group error_fatal itself: the error is
            # reported at once, without its hint (error_append_hint).
            hint = release.readconfig_errors_at_option or number < len(config.groups)
            where = (item.location if release.readconfig_errors_at_option else gloc, hint)
            pending: Q.OptionError | None = None
            try:
                name, arg = readconfig.as_option(group, lists, release)
            except Q.OptionError as err:
                name, arg, pending = "", None, err.at(where[0])
            if name == readconfig.KEYVAL_OBJECT:
                # object_option_add_visitor() visits with &error_fatal.
                where = (gloc, False)
            # No line read yet (loc_push_none): an empty FileLocation, printed as none.
            location = gloc if gloc is not None else Q.FileLocation("")
            yield CliItem(name, arg, location, item.index), where, pending
        error = config.error
        yield item, (None if error is None else (error.location, True)), error


def _chardevs(
    lists: Any,
    locations: dict[str, str],
    request: Any,
    release: Any,
    monitor_index: int,
    mon_locations: dict[int, str],
) -> None:
    """Every -chardev a control monitor does not serve, as the machine will
    open it; the chardevs of readline monitors (-monitor, -mon); every
    monitor with its -mon id (None: 11.1 names it compat_monitorN when it
    is made, N counting on from -qmp's and -monitor's: chardev_cli)."""
    from memdevd.app.chardev_cli import creations
    from memdevd.util import qemu_opts as Q

    modes = {mon.get("chardev"): mon.get("mode") or "readline" for mon in lists["mon"].head}
    for chardev in lists["chardev"].head:
        if modes.get(chardev.id) == "control":
            request.chardev_order.append(chardev.id or "")
            continue
        location = locations.get(chardev.id or "")
        try:
            made = creations(chardev, release)
        except Q.OptionError as err:
            raise err.at(location) from None
        for label, backend in made:
            request.chardevs.append((label, backend, location))
            request.chardev_order.append(label)
    # (one per -mon: a mux takes each as a front end)
    readline = [
        mon
        for mon in lists["mon"].head
        if (mon.get("mode") or "readline") != "control" and mon.get("chardev") is not None
    ]
    request.readline_monitors = [mon.get("chardev") or "" for mon in readline]
    request.readline_locations = [mon_locations.get(id(mon)) for mon in readline]
    # (an id-less -mon is named when its monitor is made: chardev_cli)
    request.monitor_index = monitor_index
    for mon in lists["mon"].head:
        mode = mon.get("mode") or "readline"
        pretty = mode == "control" and mon.get_bool("pretty", False)
        request.monitors.append((mon.id, mode, mon.get("chardev") or "", pretty))


def _parse_object(
    arg: str, loc: str, lists: Any, release: Any, target: str, *, keyval: bool = False
) -> Any:
    """``object_option_parse``: validated at parse time, created later.

    ``keyval``: a -readconfig [object] group, visited by the keyval visitor
    (vl.c qemu_record_config_group) rather than the opts visitor."""
    from memdevd import messages as M
    from memdevd.app.cmdline_json import qobject_from_json
    from memdevd.app.startup import ObjectSpec
    from memdevd.qapi.object_options import ObjectOptionsError, visit_object_options
    from memdevd.util import qemu_opts as Q

    try:
        if keyval:
            props, qom_type, obj_id = visit_object_options(
                Q.keyval_parse(arg, None).values,
                release,
                keyval=True,
                schema=lambda: _schema(target, release),
            )
        elif arg.startswith("{"):
            value = qobject_from_json(arg, push=release.json_push_parser)
            if not isinstance(value, dict):
                raise Q.OptionError(M.INVALID_PARAMETER_TYPE.format("<anonymous>", "object"))
            props, qom_type, obj_id = visit_object_options(
                value, release, opts=False, schema=lambda: _schema(target, release)
            )
        else:
            opts = lists["object"].parse_noisily(arg, True)
            values = opts.to_dict()
            if "qom-type" not in values:
                raise Q.OptionError(M.MISSING_PARAMETER.format("qom-type"))
            if opts.id is not None:
                values["id"] = opts.id
            props, qom_type, obj_id = visit_object_options(
                values, release, opts=True, schema=lambda: _schema(target, release)
            )
    except ObjectOptionsError as exc:
        raise Q.OptionError(exc.desc) from None
    return ObjectSpec(loc, qom_type, obj_id, props)


def _schema(target: str, release: Any) -> Any:
    from memdevd.qapi.source_schema import schema_of
    from memdevd.releases.recorded import recording

    return schema_of(recording(target, release))


def _parse_blockdev(arg: str, target: str, release: Any) -> dict[str, Any]:
    """``-blockdev``: JSON or key=value with "driver" implied, visited as
    BlockdevOptions now (argument errors at the option), opened later."""
    from memdevd.app.cmdline_json import qobject_from_json
    from memdevd.qapi.qdict import qdict_key_order
    from memdevd.qapi.source_schema import schema_of, visit
    from memdevd.qapi.visitor import InputVisitor, VisitError
    from memdevd.releases.recorded import recording
    from memdevd.util import qemu_opts as Q

    keyval = not arg.startswith("{")
    value = (
        Q.keyval_parse(arg, "driver").values
        if keyval
        else qobject_from_json(arg, push=release.json_push_parser)
    )
    v = InputVisitor(value, keyval=keyval, key_order=qdict_key_order)
    try:
        options: dict[str, Any] = visit(
            schema_of(recording(target, release)), v, None, "BlockdevOptions"
        )
    except VisitError as exc:
        raise Q.OptionError(exc.desc) from None
    return options


def _parse_net_option(
    name: str, arg: str, loc: str, lists: Any, request: Any, target: str, release: Any
) -> None:
    """``-netdev``, ``-nic``, ``-net`` as vl.c takes them: a ``-netdev`` in
    JSON or of type stream or dgram (``netdev_is_modern``) is visited now
    as a Netdev (errors at the option); the others are QemuOpts, visited
    when the netdevs are made (``net_init_clients``)."""
    from memdevd.app.startup import NetOption
    from memdevd.util import qemu_opts as Q

    if name == "netdev" and _netdev_is_modern(arg):
        request.netdevs.append(NetOption(loc, "modern", _visit_netdev(arg, target, release)))
        return
    warnings: list[Q.Diagnostic] = []
    opts = lists[name].parse_noisily(arg, True, warnings=warnings)
    for diag in warnings:
        diag.location = loc
    request.parse_notes.extend(warnings)
    option = NetOption(loc, "opts", {"items": opts.items(), "id": opts.id})
    {"netdev": request.netdevs, "nic": request.nics, "net": request.nets}[name].append(option)


def _netdev_is_modern(arg: str) -> bool:
    """``netdev_is_modern``: JSON, or the type (the implied first key) is
    stream or dgram."""
    if arg.startswith("{"):
        return True
    from memdevd.util import qemu_opts as Q

    dummy = Q.QemuOptsList("netdev", implied_opt_name="type")
    opts = dummy.create(None, False)
    try:
        opts.do_parse(arg, "type")
    except Q.OptionError:
        return False
    return opts.get("type") in ("stream", "dgram")


def _visit_netdev(arg: str, target: str, release: Any) -> dict[str, Any]:
    """``netdev_parse_modern``: keyval (implied "type") or JSON, visited."""
    from memdevd.app.cmdline_json import qobject_from_json
    from memdevd.qapi.qdict import qdict_key_order
    from memdevd.qapi.source_schema import schema_of, visit
    from memdevd.qapi.visitor import InputVisitor, VisitError
    from memdevd.releases.recorded import recording
    from memdevd.util import qemu_opts as Q

    keyval = not arg.startswith("{")
    value = (
        Q.keyval_parse(arg, "type").values
        if keyval
        else qobject_from_json(arg, push=release.json_push_parser)
    )
    v = InputVisitor(value, keyval=keyval, key_order=qdict_key_order)
    try:
        netdev: dict[str, Any] = visit(schema_of(recording(target, release)), v, None, "Netdev")
    except VisitError as exc:
        raise Q.OptionError(exc.desc) from None
    return netdev


def _machine_help(target: Any, release: Any) -> str:
    """``-machine help``: as the release's binary printed it where it was
    recorded (every board, in QEMU's order); 8.2 (answered from 10.0's
    recording) has the target's list of the machine types it has."""
    from memdevd.releases.recorded import recording

    if release.is_recorded:
        text = recording(target.name, release).machine_help()
        if text is not None:
            return text
    return str(target.machine_help(release)) + "\n"


def _parse_virtfs(
    arg: str, loc: str, lists: Any, release: Any, request: Any, device_opts: list[Any]
) -> None:
    """vl.c ``-virtfs``: an fsdev of the option's id (else its mount tag)
    with its options, and a ``virtio-9p-pci`` -device on it."""
    from memdevd import messages as M
    from memdevd.util import qemu_opts as Q

    opts = lists["virtfs"].parse_noisily(arg, True)
    tag = opts.get("mount_tag")
    if opts.get("fsdriver") is None or tag is None:
        raise Q.OptionError(M.VIRTFS_USAGE)
    try:
        fsdev = lists["fsdev"].create(opts.id or tag, True)
    except Q.OptionError:
        raise Q.OptionError(M.VIRTFS_BAD_ID.format(tag)) from None
    for key in ("writeout", "fsdriver", "path", "security_model", "socket", "sock_fd"):
        value = opts.get(key)
        if value is not None:
            fsdev.set(key, value)
    fsdev.set_bool("readonly", opts.get_bool("readonly", False))
    multidevs = opts.get("multidevs")
    if multidevs is not None:
        fsdev.set("multidevs", multidevs)
    request.fsdevs.append((loc, fsdev.id, fsdev.items()))
    spec, qemu_opts = _parse_device(
        f"virtio-9p-pci,fsdev={Q.escape_opt_value(str(fsdev.id))},"
        f"mount_tag={Q.escape_opt_value(tag)}",
        loc,
        lists,
        release,
    )
    request.devices.append(spec)
    if qemu_opts is not None:
        device_opts.append((qemu_opts, loc))


def _parse_device(arg: str, loc: str, lists: Any, release: Any) -> tuple[Any, QemuOpts | None]:
    """The -device's spec, and its QemuOpts unless it is JSON (vl.c keeps
    JSON ones apart, where no help is looked for)."""
    from memdevd.app.cmdline_json import qobject_from_json
    from memdevd.app.startup import DeviceSpec

    if arg.startswith("{"):
        value = qobject_from_json(arg, push=release.json_push_parser)
        assert isinstance(value, dict)
        return DeviceSpec(loc, value, True), None
    opts = lists["device"].parse_noisily(arg, True)
    values: dict[str, Any] = {}
    if opts.id is not None:
        values["id"] = opts.id
    values.update(opts.to_dict())
    return DeviceSpec(loc, values, False), opts


def _process_help_options(
    request: Any, device_opts: list[tuple[QemuOpts, str]], release: Release, target: Target
) -> None:
    """vl.c ``qemu_process_help_options()``, after the option loop and
    before any machine exists: ``-cpu help``, then the first
    ``-device`` asking for help (``-device help``, ``-device TYPE,help``)
    prints it and exits.  Raises :class:`Exit` or ``OptionError``."""
    from memdevd.util import qemu_opts as Q

    if request.cpu_option is not None and Q.is_help_option(request.cpu_option):
        raise Exit(0, target.cpu_help(release))
    for opts, loc in device_opts:
        driver = opts.get("driver")
        if driver is None or not (Q.is_help_option(driver) or opts.has_help_opt()):
            continue  # (the common case: start-up imports nothing for it)
        from memdevd.app.device_help import device_help

        try:
            text = device_help(release, target.name, opts)
        except Q.OptionError as err:
            raise err.at(loc) from None
        if text is not None:
            raise Exit(0, text)


def main(argv: Sequence[str] | None = None, prog: str | None = None) -> int:
    """Entry point of the ``memdevd`` command; returns the exit status."""
    from memdevd.util import qemu_opts as Q

    args = list(sys.argv[1:] if argv is None else argv)
    prog = prog or program_name()
    if args and args[0] == "map":
        from memdevd.devtools import memmap

        return memmap.main(args[1:])
    if args and args[0] == "fleet":
        from memdevd.app import fleet

        return fleet.main(args[1:])
    if args and not args[0].startswith("-") and args[0] in SUBCOMMANDS:
        from memdevd.devtools import compare as compare_cli

        return compare_cli.main(args)
    # The descriptors the caller passed (libvirt's tap fd=...), before
    # memdevd opens any of its own: only these may be named by number.
    from memdevd.machine.net import note_inherited_fds

    note_inherited_fds()
    announce = not args
    if announce:
        path = default_socket_path()
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        args = [*DEFAULT_MACHINE_ARGV, "-qmp", f"unix:{path},server=on,wait=off"]
    try:
        parsed = parse(args, prog)
        parsed.print_socket = announce
        return run(parsed, prog)
    except Exit as done:
        sys.stdout.write(done.out)
        sys.stdout.flush()
        return done.status
    except Q.HelpRequested as req:
        for note in req.preceding:
            sys.stderr.write(Q.format_diagnostic(prog, note))
        sys.stderr.flush()
        sys.stdout.write(req.text)
        return req.exit_status
    except Q.OptionError as err:
        sys.stderr.write(Q.format_error(prog, err))
        sys.stderr.flush()
        if err.aborts:
            if err.abort_signal != 6:
                os.kill(os.getpid(), err.abort_signal)
            os.abort()
        return err.exit_status


def _compat_policy(visited: dict[str, Any] | None) -> Any:
    """-compat's policy (None without -compat)."""
    if visited is None:
        return None
    from memdevd.qapi.compat import CompatPolicy

    return CompatPolicy.from_visited(visited)


def build_daemon(
    parsed: Parsed, prog: str, *, handle_signals: bool = True
) -> tuple[Daemon, list[Diagnostic]]:
    """The machine and its daemon for one parsed command line.

    Returns the daemon (not started) and the diagnostics QEMU would print
    at start-up.  Raises ``OptionError`` as QEMU's start-up fails.  Fleet
    mode builds each of its VMs with this too.
    """
    import copy

    from memdevd.app.daemon import Daemon, DaemonOptions
    from memdevd.app.display_sockets import SocketBinder
    from memdevd.app.displays import init_displays
    from memdevd.app.startup import build_machine
    from memdevd.machine.clock import Clock, VirtualClock
    from memdevd.releases.table import get_release

    settings = parsed.settings
    release = get_release(settings.version)
    # build_machine() may adjust what it is given; x-memdevd-reset rebuilds
    # from these pristine copies.  (Not by parsing argv again: parsing
    # reads the host, e.g. kvm=auto, and sets process-wide -msg state.)
    pristine = copy.deepcopy((parsed.request, settings))
    clock: Clock | None = VirtualClock() if settings.clock == "virtual" else None
    binder = SocketBinder(settings.socket_mode)
    try:
        machine, notes = build_machine(
            parsed.request, release, settings, clock=clock, binder=binder
        )
    except BaseException:
        binder.close_all()
        raise

    def add_chardevs(target: Any) -> None:
        for addr in parsed.listen:
            name = addr.name

            def client(name: str = name) -> Any:
                """The monitor's connected session (QEMU's monitors take one)."""
                for s in daemon.server.sessions:
                    if s.listener_name == name and s.active:
                        return s
                return None

            def connected(client: Any = client) -> bool:
                return client() is not None

            def peer(client: Any = client) -> tuple[str, int] | None:
                session = client()
                transport = session.transport if session is not None else None
                address = transport.get_extra_info("peername") if transport is not None else None
                if isinstance(address, tuple) and len(address) >= 2:
                    return str(address[0]), int(address[1])
                return None

            target.add_chardev(
                addr.name, addr.socket_address(), connected, peer, listen=not addr.connect
            )

    def rebuild() -> Any:
        """The start-up machine again, on a scratch clock at the live time."""
        request, again = copy.deepcopy(pristine)
        scratch = VirtualClock(machine.clock.now_ns())
        _release_chardev_sockets(daemon.machine)
        fresh, _ = build_machine(request, release, again, clock=scratch)
        add_chardevs(fresh)
        _report_warnings(fresh, prog)
        fresh.chardevs.creation_order(parsed.request.chardev_order)
        _keep_ptys(machine, fresh)
        # The displays listen where they listen: the rebuilt machine's state
        # reads the live sockets.
        fresh.display.binder = binder
        init_displays(fresh, bind=False)
        return fresh

    def on_ready(server: Any) -> None:
        if parsed.print_socket:
            for addr in server.bound_addresses():
                print(f"{prog}: QMP listening on {addr.describe()}", file=sys.stderr, flush=True)

    options = DaemonOptions(
        listen=parsed.listen,
        socket_mode=settings.socket_mode,
        max_clients=settings.max_clients,
        pidfile=parsed.pidfile,
        prog_name=prog,
        on_ready=on_ready,
        handle_signals=handle_signals,
        no_shutdown=parsed.request.no_shutdown,
        binder=binder,
        compat=_compat_policy(parsed.request.compat),
    )
    daemon = Daemon(machine, release, options)
    daemon.runtime.rebuild = rebuild
    if parsed.request.misc.fdset_fds:
        from memdevd.commands.fds import fdset_add_fd

        for fd, fdset_id, opaque in parsed.request.misc.fdset_fds:
            fdset_add_fd(daemon.runtime, fd, fdset_id, opaque)
    for command, action, value in settings.faults:
        fault_options: dict[str, Any] = {}
        if action == "error" and value:
            fault_options["desc"] = value
        if action == "delay":
            fault_options["delay_s"] = float(value)
        daemon.server.faults.add(command, action, **fault_options)
    add_chardevs(machine)
    _report_warnings(machine, prog)
    machine.chardevs.creation_order(parsed.request.chardev_order)
    machine.shutdown_hook = lambda reason: daemon.request_shutdown(
        reason, guest=reason.startswith("guest-")
    )
    return daemon, notes


def _report_warnings(machine: Any, prog: str) -> None:
    """What the machine warns about after start-up (a -global that does not
    apply to a hot-plugged device) goes to stderr as is."""

    def report(text: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(text + "\n")
            sys.stderr.flush()

    machine.warn_hook = report


def _release_chardev_sockets(live: Any) -> None:
    """x-memdevd-reset: the start-up chardevs listen and connect again, so
    the live ones let their sockets go first (their clients are dropped)."""
    from memdevd.machine.chardev.core import Chardev

    for chardev in live.chardevs.children.values():
        if isinstance(chardev, Chardev):
            chardev.release_host()


def _keep_ptys(live: Any, fresh: Any) -> None:
    """x-memdevd-reset: the rebuilt machine's ptys are the ones already open.

    Their paths are in libvirt's live XML; new ones would leak and move.
    """
    from memdevd.machine.qom import ChardevBackend

    for label, new in fresh.chardevs.children.items():
        old = live.chardevs.children.get(label)
        if isinstance(new, ChardevBackend) and isinstance(old, ChardevBackend):
            new.adopt(old)


def run(parsed: Parsed, prog: str) -> int:
    """Build the machine, then serve QMP until shutdown."""
    import logging

    from memdevd.app.daemon import block_shutdown_signals, run_event_loop
    from memdevd.app.logsetup import configure
    from memdevd.util import qemu_opts as Q
    from memdevd.util.qemu_opts import format_diagnostic

    settings = parsed.settings
    try:
        configure(prog, settings.log_level, settings.log_file, settings.log_format)
    except OSError as exc:
        sys.stderr.write(f"{prog}: cannot open log file: {exc.strerror}\n")
        return 1
    log = logging.getLogger("memdevd")
    # Before any thread starts (iothreads, the idle warm-up): see daemon.py.
    block_shutdown_signals()
    try:
        daemon, notes = build_daemon(parsed, prog)
    except Q.OptionError as err:
        if parsed.daemonize and err.aborts:
            # QEMU forked before this point: its child aborts, and the
            # parent, seeing no "started", exits 1 (os_daemonize).
            err.aborts = False
            err.exit_status = 1
        raise
    log.info("starting: QEMU %s release", settings.version, extra={"fields": {"event": "start"}})
    for note in notes:
        out = sys.stdout if note.kind == "stdout" else sys.stderr
        out.write(format_diagnostic(prog, note))
        out.flush()

    from memdevd.app.chardev_cli import wait_for_clients

    wait_for_clients(daemon.machine, parsed.request, prog)
    if parsed.daemonize:
        from memdevd.app.daemonize import daemonize

        ready = daemonize()
    else:
        ready = None

    async def serve() -> int:
        from memdevd.app.daemon import PidfileError
        from memdevd.qmp.server import ListenError

        try:
            await daemon.start()
        except PidfileError as exc:
            sys.stderr.write(f"{prog}: cannot create PID file: {exc}\n")
            await daemon.server.close()
            return 1
        except ListenError as exc:
            sys.stderr.write(Q.format_error(prog, Q.OptionError(str(exc), exc.hint, exc.location)))
            await daemon.stop()
            return 1
        except Q.OptionError as exc:
            # qemu_init_displays() failed (a VNC address, the local display).
            sys.stderr.write(Q.format_error(prog, exc))
            sys.stderr.flush()
            await daemon.stop()
            if exc.aborts:
                os.abort()  # (vnc_init_func's assertion)
            return 1
        if parsed.request.readline_monitors:
            from memdevd.app import hmp_monitor

            hmp_monitor.start(daemon, parsed.request.readline_monitors)
        if ready is not None:
            ready()
        # A client-mode monitor's failed connection is reported from QEMU's
        # main loop, after -daemonize detached stderr.
        for line in daemon.server.connect_reports:
            sys.stderr.write(f"{prog}: {line}\n")
        sys.stderr.flush()
        return await daemon.wait()

    return int(run_event_loop(serve))
