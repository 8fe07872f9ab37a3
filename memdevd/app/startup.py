"""Building the machine from a parsed command line, in QEMU's order.

``qemu_init`` acts on its options in phases, and the first error of the
first failing phase is what a user sees: machine selection, machine
options (``-m`` and ``-machine`` properties), accelerators, the late
``-object`` backends, NUMA, the board's memory layout, and last the
``-device`` options (those given as QemuOpts first, then the JSON ones).
:func:`build_machine` follows that order and raises
:class:`~memdevd.util.qemu_opts.OptionError` with QEMU's location rules: only
``-device`` errors carry their option as location.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any

from memdevd import messages as M
from memdevd.app import displays
from memdevd.app.displays import DisplayRequest
from memdevd.app.settings import MemdevdSettings
from memdevd.machine.clock import Clock
from memdevd.machine.display import DisplayBinder, DisplayState
from memdevd.machine.errors import CoreError
from memdevd.machine.host import HostFacts
from memdevd.machine.machine import Machine, MachineConfig, set_nvdimm_persistence
from memdevd.machine.numa import NumaWarning, check_generic_initiators, set_numa_options
from memdevd.machine.qom import QOMObject
from memdevd.machine.smp import parse_smp
from memdevd.qapi.qdict import qdict_key_order
from memdevd.records import record
from memdevd.releases.table import Release
from memdevd.targets import MachineType, Target, get_target
from memdevd.util.qemu_opts import Diagnostic, OptionError


@record
class ObjectSpec:
    location: str
    qom_type: str
    obj_id: str
    props: dict[str, Any]


@record
class DeviceSpec:
    location: str
    opts: dict[str, Any]
    from_json: bool
    # the isa-debugcon a -debugcon made (vl.c debugcon_parse), not a -device
    from_debugcon: bool = False


@record
class NetOption:
    """A ``-netdev``, ``-nic`` or ``-net``: where it was given and what it
    said (``kind`` "modern": a visited Netdev; "opts": QemuOpts ``items``
    and ``id``, visited when the netdevs are made)."""

    location: str
    kind: str
    value: dict[str, Any]


@record
class StartupRequest:
    """Everything the first pass over argv collected, in argv order."""

    machine: dict[str, Any] = field(default_factory=dict)
    memory: dict[str, str] | None = None
    objects: list[ObjectSpec] = field(default_factory=list)
    devices: list[DeviceSpec] = field(default_factory=list)
    numa: list[tuple[str, str | None, list[tuple[str, str]]]] = field(default_factory=list)
    # -mem-prealloc
    mem_prealloc: bool = False
    # -usbdevice NAME (name, location), made before the -device options
    usb_devices: list[tuple[str, str]] = field(default_factory=list)
    # -snapshot: snapshot=on for every -drive that does not say
    snapshot: bool = False
    # -compat: the last one's visited CompatPolicy
    compat: dict[str, Any] | None = None
    # -fsdev (and -virtfs's): (location, id, QemuOpts items), added in order
    fsdevs: list[tuple[str, str | None, list[tuple[str, str]]]] = field(default_factory=list)
    # -mem-path: the default RAM backend is a memory-backend-file there
    mem_path: str | None = None
    # -smp as given (QemuOpts values, "cpus" for the implied first one);
    # smp_cpus is a plain "-smp N" for callers that build requests by hand.
    smp: dict[str, Any] = field(default_factory=dict)
    smp_cpus: int = 1
    # -cpu as given (None: the board's default model).
    cpu_option: str | None = None
    # -accel / -enable-kvm / -machine accel=: (name, command-line location
    # QEMU reports its failure at, None where it prints none), in order.
    accel: list[tuple[str, str | None]] = field(default_factory=list)
    start_paused: bool = False
    no_acpi: bool = False
    no_shutdown: bool = False
    # -chardev that no control monitor uses: (id, QAPI ChardevBackend,
    # location), in command-line order (mux=on: the base, then the mux).
    chardevs: list[tuple[str, Any, str | None]] = field(default_factory=list)
    # Every -chardev (monitors' too) in command-line order: /chardevs' order.
    chardev_order: list[str] = field(default_factory=list)
    # The chardevs of readline (HMP) monitors (-monitor, -mon mode=readline).
    readline_monitors: list[str] = field(default_factory=list)
    # Each one's option (mon_init_func's location; None: the default monitor).
    readline_locations: list[str | None] = field(default_factory=list)
    # Every monitor in -mon order (-qmp and -monitor are -mon): (-mon id,
    # None for an id-less -mon; mode, chardev, pretty), for 11.1's
    # monitor objects.
    monitors: list[tuple[str | None, str, str, bool]] = field(default_factory=list)
    # vl.c monitor_parse()'s monitor_device_index: the next compat_monitorN.
    monitor_index: int = 0
    # Without -nodefaults: the chardev and -mon ids the command line took
    # (QemuOpts ids the default devices' specs cannot take again).
    taken_ids: tuple[list[str], list[str]] = ([], [])
    # -daemonize (a stdio chardev refuses it).
    daemonize: bool = False
    # -serial and -parallel: (option, spec, location) in command-line order.
    serial_ports: list[tuple[str, str, str]] = field(default_factory=list)
    # -uuid or -smbios type=1,uuid=: the VM's UUID (query-uuid)
    uuid: str | None = None
    # -blockdev: (location, visited BlockdevOptions), in command-line order.
    blockdevs: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    # -drive: (location, id, QemuOpts items), in command-line order.
    drives: list[tuple[str, str | None, list[tuple[str, str]]]] = field(default_factory=list)
    # -netdev, -nic, -net in command-line order, each list on its own.
    netdevs: list[NetOption] = field(default_factory=list)
    nics: list[NetOption] = field(default_factory=list)
    nets: list[NetOption] = field(default_factory=list)
    # What parsing the command line printed (deprecation warnings).
    parse_notes: list[Diagnostic] = field(default_factory=list)
    name: str | None = None
    # -global, -boot, -rtc, -fw_cfg, -action... (memdevd/app/misc_options.py)
    misc: Any = field(default_factory=lambda: _misc_options())
    # -display, -nographic, -vga, -vnc, -spice, -audiodev, -k (app/displays.py).
    display: DisplayRequest = field(default_factory=DisplayRequest)
    # -audio model=: (card, audiodev id), made by soundhw_init
    soundhw: tuple[str, str] | None = None


def _misc_options() -> Any:
    from memdevd.app.misc_options import MiscOptions

    return MiscOptions()


def _err(exc: CoreError, location: str | None = None) -> OptionError:
    if exc.abort_at is not None:
        # error_abort: error_handle()'s line, the error, then abort().
        err = OptionError(exc.desc, preceding=[Diagnostic(exc.abort_at, kind="plain")])
        err.aborts = True
        return err
    return OptionError(exc.desc, exc.hint or None, location=location)


def select_machine(target: Target, release: Release, name: str | None) -> MachineType:
    """``select_machine``: the target's default when no type is given."""
    try:
        mtype = target.resolve_machine(release, name)
    except CoreError as exc:
        # (qemu-system-aarch64 has no default machine type)
        raise _err(exc) from None
    if mtype is not None:
        return mtype
    wanted = name or ""
    if target.is_known_machine(release, wanted):
        raise OptionError(M.MACHINE_NOT_EMULATED.format(wanted))
    # 7.2's text does not name the type (format() leaves it as it is).
    text = release.unsupported_machine_type_text.format(wanted)
    raise OptionError(text, M.MACHINE_HELP_HINT)


def memory_config(memory: dict[str, str] | None, default_size: int) -> tuple[int, int, int]:
    """``parse_memory_options`` + ``machine_set_mem``: (size, maxmem, slots)."""
    from memdevd.util.qemu_opts import parse_size

    size = default_size
    has_max = False
    max_size = 0
    has_slots = False
    slots = 0
    if memory:
        text = memory.get("size")
        if text is not None:
            value = parse_size(text, name="size")
            if value:
                # A suffix-less -m value is in MiB.
                if text[-1:].isdigit():
                    value = parse_size(text + "M", name="size")
                size = value
        if "maxmem" in memory:
            has_max = True
            max_size = parse_size(memory["maxmem"], name="maxmem")
        if "slots" in memory:
            has_slots = True
            slots = int(memory["slots"], 0)
    size = -(-size // 8192) * 8192
    if has_max:
        if max_size < size:
            raise OptionError(M.MAXMEM_BELOW_SIZE.format(max_size, size))
        if has_slots and slots and max_size == size:
            raise OptionError(M.MAXMEM_EQUALS_SIZE_WITH_SLOTS.format(max_size, size))
    else:
        if has_slots:
            raise OptionError(M.SLOTS_WITHOUT_MAXMEM)
        max_size = size
    return size, max_size, slots


def _machine_bool(value: Any, name: str) -> bool:
    from memdevd.qapi.visitor import parse_bool_text

    if isinstance(value, bool):
        return value
    parsed = parse_bool_text(str(value))
    if parsed is None:
        raise OptionError(M.INVALID_PARAMETER_VALUE.format(name, "'on' or 'off'"))
    return parsed


# -machine properties memdevd understands; others of QEMU's are accepted as recorded.
_MACHINE_KNOWN = {
    "memory-backend",
    "type",
    "accel",
    "memory",
    "nvdimm",
    "acpi",
    "mem-merge",
    "dump-guest-core",
    "graphics",
    "smp",
    "hmat",
    "nvdimm-persistence",
}


#: -machine keys that are properties of an accelerator class
#: (qemu_apply_legacy_machine_options: object_register_sugar_prop), with
#: the QAPI type the accelerator visits them as.
ACCEL_SUGAR: dict[str, tuple[str, str]] = {
    "kvm-shadow-mem": ("kvm-accel", "int64"),
    "kernel-irqchip": ("kvm-accel", "OnOffSplit"),
    "igd-passthru": ("xen-accel", "bool"),
}


def dashify_machine_options(options: dict[str, Any]) -> dict[str, Any]:
    """``keyval_dashify``: ``dump_guest_core`` is ``dump-guest-core``."""
    out = dict(options)
    for key in list(options):
        if "_" not in key:
            continue
        dashed = key.replace("_", "-")
        if dashed in out:
            raise OptionError(M.KEYVAL_DASHIFY_CONFLICT.format(key, dashed))
        out[dashed] = out.pop(key)
    return out


def check_accel_sugar(options: dict[str, Any], accel: str, location: str | None) -> None:
    """``object_apply_global_props`` when the accelerator is created: the
    sugar properties of its class are parsed (other accelerators' are not
    looked at, so TCG ignores them all)."""
    from memdevd.util.cutils import qemu_strtoi64
    from memdevd.util.qemu_opts import parse_bool

    for key, (typename, kind) in ACCEL_SUGAR.items():
        if key not in options or typename != f"{accel}-accel":
            continue
        text = str(options[key])
        prefix = M.CANT_APPLY_GLOBAL.format(typename, key, text)
        if kind == "OnOffSplit" and text not in ("on", "off", "split"):
            raise OptionError(prefix + M.ENUM_BAD_VALUE.format(key, text), location=location)
        if kind == "int64" and qemu_strtoi64(text, 0, want_end=False)[0]:
            # the string input visitor's parse_type_int64
            raise OptionError(
                prefix + M.INVALID_PARAMETER_VALUE.format(key, "int64"), location=location
            )
        if kind == "bool":
            parse_bool(text, name=key)


def apply_machine_options(
    config: MachineConfig,
    target: Target,
    release: Release,
    options: dict[str, Any],
    mtype: MachineType,
) -> None:
    """``qemu_apply_machine_options`` for the properties that matter here."""
    known: set[str] | None = None
    for key, value in options.items():
        if key in ("type", "accel", "memory") or key in ACCEL_SUGAR:
            continue
        modelled = key in _MACHINE_KNOWN or key in target.board_option_names
        if not modelled and known is None:
            known = target.machine_option_names(release, mtype)
        if not modelled and key not in (known or set()):
            raise OptionError(M.PROPERTY_NOT_FOUND.format(f"{mtype.name}-machine", key))
        if key == "nvdimm":
            config.nvdimm = _machine_bool(value, key)
        elif key == "hmat":
            # A property of machines with NUMA only (machine_initfn).
            if not config.board.numa:
                raise OptionError(M.PROPERTY_NOT_FOUND.format(f"{mtype.name}-machine", key))
            config.hmat = _machine_bool(value, key)
        elif key == "nvdimm-persistence":
            if not config.board.nvdimm_supported:
                raise OptionError(M.PROPERTY_NOT_FOUND.format(f"{mtype.name}-machine", key))
            try:
                set_nvdimm_persistence(config, str(value))
            except CoreError as exc:
                raise _err(exc) from None
        elif key == "acpi":
            text = str(value)
            if text not in ("on", "off", "auto"):
                raise OptionError(M.ENUM_BAD_VALUE.format(key, text))
            config.acpi_setting = text
            config.acpi = text != "off"
        elif key == "mem-merge":
            config.mem_merge = _machine_bool(value, key)
        elif key == "dump-guest-core":
            config.dump_guest_core = _machine_bool(value, key)
        elif key == "memory-backend":
            # machine_set_mem's memory-backend: resolved once the backends exist.
            config.ram_memdev = str(value)
        elif key in ("confidential-guest-support", "memory-encryption"):
            config.cgs_option = (key, str(value))
        elif key in ("boot", "firmware", "hpet", "kernel", "initrd", "append", "dtb", "shim"):
            from memdevd.app.misc_options import apply_machine_option

            apply_machine_option(config, key, value)
        elif key == "graphics":
            config.graphics = _machine_bool(value, key)
        else:
            try:
                target.apply_machine_option(config, key, value, release)
            except CoreError as exc:
                raise _err(exc) from None


def configure_accelerator(
    request: StartupRequest,
    settings: MemdevdSettings,
    release: Release,
    kvm_compiled: bool = True,
) -> tuple[str, list[Diagnostic]]:
    """``configure_accelerators``: try each accelerator in order.

    Returns the accelerator used and the lines QEMU prints on the way (a
    failed KVM before a TCG fallback); raises when none could be
    initialised, as QEMU exits then.  QEMU's default on x86 is TCG;
    ``-memdevd kvm-memslots=N`` makes KVM the default, since emulating KVM's
    memslots is its point.
    """
    default: list[tuple[str, str | None]] = [
        ("kvm" if settings.host.kvm_memslots is not None else "tcg", None)
    ]
    from memdevd.app.misc_options import icount_configure

    icount = icount_configure(request.misc)
    wanted = request.accel or default
    printed: list[Diagnostic] = []
    for accel, location in wanted:
        if accel == "tcg":
            if printed:
                printed.append(Diagnostic(M.ACCEL_FALLBACK.format("tcg")))
            return "tcg", printed
        if accel == "kvm" and not kvm_compiled:
            # A binary without KVM (qemu-system-aarch64 of an x86 host):
            # do_configure_accelerator's error_report, then the next one.
            printed.append(Diagnostic(M.ACCEL_INVALID.format(accel), location=location))
            continue
        if accel == "kvm":
            if settings.host.kvm:
                if icount:
                    raise OptionError(M.ICOUNT_WITH_KVM, preceding=printed)
                return "kvm", printed
            printed.extend(kvm_init_failure(settings.host, release, location))
            continue
        raise OptionError(M.ACCEL_INVALID.format(accel))
    last = printed.pop()
    raise OptionError(last.message, location=last.location, preceding=printed)


def kvm_init_failure(host: HostFacts, release: Release, location: str | None) -> list[Diagnostic]:
    """What ``kvm_init()`` and ``do_configure_accelerator()`` print when KVM
    does not initialise on the emulated host (``host.kvm_failure``)."""
    import os

    errno_text = os.strerror(host.kvm_errno)
    if host.kvm_failure == "open":
        first = M.KVM_OPEN_FAILED.format(errno_text)
    elif host.kvm_failure == "version-too-old":
        first = M.KVM_VERSION_TOO_OLD
    elif host.kvm_failure == "version-not-supported":
        first = M.KVM_VERSION_NOT_SUPPORTED
    else:
        first = release.kvm_create_vm_failed_text.format(errno=host.kvm_errno, strerror=errno_text)
    return [
        Diagnostic(first, location=location)
        if release.kvm_init_error_report
        else Diagnostic(first, kind="plain"),
        Diagnostic(M.ACCEL_INIT_FAILED.format("kvm", errno_text), location=location),
    ]


def build_machine(
    request: StartupRequest,
    release: Release,
    settings: MemdevdSettings,
    clock: Clock | None = None,
    binder: DisplayBinder | None = None,
) -> tuple[Machine, list[Diagnostic]]:
    """Create the machine as ``qemu_init`` does; returns it and stderr lines.

    ``binder`` binds what the displays listen on at start-up (SPICE); the
    VNC servers come later, once the QMP monitors listen (``init_displays``).
    """
    from memdevd.releases.recorded import recording

    # What parsing the command line printed (-trace warnings, deprecated
    # -net options...) comes first.
    notes: list[Diagnostic] = [*request.misc.notes, *request.parse_notes]
    target = get_target(settings.target)
    mtype = select_machine(target, release, request.machine.get("type"))
    if settings.vmem_rate is not None:
        settings.guest.virtio_mem_rate = settings.vmem_rate
    if settings.vmem_driver is not None:
        settings.guest.virtio_mem_driver = settings.vmem_driver
    board = target.board(mtype)
    size, maxmem, slots = memory_config(request.memory, target.default_ram_size(mtype))
    # qemu_create_machine() is done: the default devices and the display.
    display = DisplayState(None, release, recording(target.name, release))
    display.binder = binder
    drivers = [str(d.opts.get("driver")) for d in request.devices]
    defaults = lambda: _add_defaults(request, release, target)  # noqa: E731
    notes.extend(displays.setup_displays(display, request.display, board, drivers, defaults))
    config = MachineConfig(
        machine_type=mtype.name,
        alias=mtype.alias or mtype.name,
        board=board,
        ram_size=size,
        maxram_size=maxmem,
        ram_slots=slots,
        smp_cpus=request.smp_cpus,
        name=request.name,
        uuid=request.uuid,
        start_paused=request.start_paused,
        guest=settings.guest,
        acpi=not request.no_acpi,
        acpi_setting="off" if request.no_acpi else "auto",
        ram_size_given=bool(request.memory and request.memory.get("size")),
    )
    request.machine = dashify_machine_options(request.machine)
    if request.mem_path is not None and "memory-backend" in request.machine:
        # qemu_apply_legacy_machine_options(): before any machine property.
        raise OptionError(M.MEM_PATH_WITH_MEMORY_BACKEND)
    config.mem_path = request.mem_path
    apply_machine_options(config, target, release, request.machine, mtype)
    notes.extend(_configure_smp(config, target, release, request, mtype))
    if not board.acpi:
        config.acpi = False
    machine_accel = request.machine.get("accel")
    if isinstance(machine_accel, str) and not request.accel:
        request.accel = [(name, None) for name in machine_accel.split(":")]
    accel, printed = configure_accelerator(request, settings, release, board.kvm_compiled)
    notes.extend(printed)
    accel_location = next((loc for name, loc in request.accel or [] if name == accel), None)
    config.accel = accel
    config.tcg_single_thread = accel == "tcg" and request.misc.icount_enabled
    machine = Machine(config, release, host=settings.host, clock=clock)
    if request.mem_prealloc:
        # qemu_process_sugar_options(): -smp's cpus (as given) are the
        # preallocation threads.
        smp = request.machine.get("smp")
        cpus = smp.get("cpus") if isinstance(smp, dict) else request.smp.get("cpus")
        if isinstance(cpus, str):
            machine.backend_sugar["prealloc-threads"] = cpus
        machine.backend_sugar["prealloc"] = "on"
    machine.attach_display(display)
    misc = request.misc
    # -action & co., visited already (misc_options.process_early)
    machine.run_actions.update(misc.actions)
    if misc.incoming is not None:
        # vl.c: -incoming sets RUN_STATE_INMIGRATE (-S or not).
        machine.runstate = "inmigrate"
    if (
        config.board_options.keys()
        & {
            "boot",
            "firmware",
            "hpet",
            "kernel",
            "initrd",
            "append",
            "dtb",
            "shim",
        }
        or "smp" in request.machine
    ):
        from memdevd.app.misc_options import expose_machine_props

        expose_machine_props(machine, smp="smp" in request.machine)
    if misc.globals:
        from memdevd.machine.globals import GlobalProps

        machine.global_props = GlobalProps()
        for driver, prop, value in misc.globals:
            machine.global_props.add(driver, prop, value)
    # qemu_create_early_backends(): the objects that are not delayed, the
    # chardevs, the block devices; then (qemu_create_late_backends) memory
    # backends, whose allocation must not delay the monitor sockets.
    late = [spec for spec in request.objects if _created_late(spec.qom_type)]
    for spec in request.objects:
        if spec not in late:
            _object_add(machine, spec)
    # qemu_spice.init(): after the early objects (its password-secret).
    notes.extend(_after(notes, displays.start_spice, display, request.display))
    machine.chardevs.daemonized = request.daemonize
    for label, backend, location in request.chardevs:
        try:
            line = machine.add_backend_chardev(label, backend)
        except CoreError as exc:
            raise _err(exc, location) from None
        if line:
            # char-pty.c: qemu_printf(), on stdout.
            notes.append(Diagnostic(line, kind="stdout"))
    # fsdev_init_func: each -fsdev (and -virtfs's) after the chardevs
    if request.fsdevs:
        from memdevd.machine.fsdev import fsdev_add

        for location, fsdev_id, items in request.fsdevs:
            try:
                fsdev_add(machine.fsdevs, fsdev_id, items, release)
            except CoreError as exc:
                raise _err(exc, location) from None
    for location, options in request.blockdevs:
        try:
            machine.block.blockdev_add(options)
        except CoreError as exc:
            raise _err(exc, location) from None
    # audio_init_audiodevs()
    for audiodev in request.display.audiodevs:
        try:
            display.audio_define(audiodev)
        except CoreError as exc:
            # 11.1: /audiodevs/ID taken twice (-audio's audiodev0 after an
            # -audiodev of that id): object_property_add_child's error.
            raise _err(exc) from None
    notes.extend(_after(notes, displays.start_audio, display))
    drive_devices: list[DeviceSpec] = []
    if request.drives:
        from memdevd.app.startup_drives import configure_drives

        drive_devices = configure_drives(
            machine, request.drives, target, release, notes, request.snapshot
        )
    # qemu_apply_machine_options() runs after the early backends: its links.
    cgs = _confidential_guest_support(machine, notes)
    # configure_accelerators(): the accelerator's sugar properties.
    check_accel_sugar(request.machine, accel, accel_location)
    if accel == "kvm" and "kernel-irqchip" in request.machine:
        machine.config.kernel_irqchip = str(request.machine["kernel-irqchip"])
    # configure_accelerators(), then the deprecated machine type's warning.
    # (Only a type named by its version can be an old one.)
    if mtype.alias is None and any(
        m["name"] == mtype.name and m.get("deprecated") for m in target.machine_list(release)
    ):
        notes.append(
            Diagnostic(
                M.MACHINE_TYPE_DEPRECATED.format(mtype.name, release.machine_deprecation_reason),
                kind="warning",
            )
        )
    has_net = bool(request.netdevs or request.nics or request.nets)
    if has_net:
        # qemu_create_late_backends(): net_init_clients(), then the objects.
        from memdevd.app.netstart import net_init_clients

        net_init_clients(machine, request, release, notes)
    from memdevd.app.chardev_cli import create_late, plug_ports

    pty_lines: list[str] = []
    if release.prealloc_async_at_startup:
        machine.prealloc_pending = []
    try:
        for spec in late:
            _object_add(machine, spec)
        _finish_async_prealloc(machine)
        if misc.tpmdevs:
            from memdevd.app.misc_options import init_tpm

            init_tpm(misc)
        hds = create_late(machine, request, pty_lines)
    except OptionError as late_err:
        late_err.preceding[:0] = notes
        raise
    notes.extend(Diagnostic(line, kind="stdout") for line in pty_lines)

    # parse_cpu_option(): after the late backends, before -numa.
    accel_used = "kvm" if machine.kvm_enabled else "tcg"
    try:
        config.cpu_model, cpu_warnings = target.resolve_cpu_model(
            release, mtype, request.cpu_option, accel_used
        )
        config.cpu_option = request.cpu_option
        notes.extend(_warnings(cpu_warnings))
        machine.resolve_machine_memdev()
    except CoreError as exc:
        raise _err(exc) from None

    try:
        for location, opts_id, items in request.numa:
            try:
                reported = set_numa_options(machine, _visit_numa(machine, items, opts_id))
            except CoreError as exc:
                # parse_numa_opts() runs under the -numa option's location.
                err = _err(exc, location)
                err.preceding[:0] = notes
                raise err from None
            notes.extend(
                Diagnostic(
                    text,
                    location=location,
                    kind="warning" if isinstance(text, NumaWarning) else "error",
                )
                for text in reported
            )
        machine.serial_hds = [label for kind, label in hds if kind == "serial"]
        machine.init_board()
        if request.drives or "pflash0" in config.board_options or "pflash1" in config.board_options:
            from memdevd.app.startup_drives import check_orphaned, system_flash

            system_flash(machine, notes)
            check_orphaned(machine, notes)
    except CoreError as exc:
        err = _err(exc)
        # Warnings printed while building the board come before the error.
        err.preceding[:0] = [*notes, *_warnings(machine.startup_notes)]
        raise err from None
    notes.extend(_warnings(machine.startup_notes))
    try:
        plug_ports(machine, hds)
    except CoreError as exc:
        ports_err = _err(exc)
        ports_err.preceding[:0] = notes
        raise ports_err from None
    if (
        misc.globals
        or misc.option_roms
        or machine.config.board_options.keys() & {"boot", "firmware", "kernel"}
    ):
        try:
            notes.extend(_misc_board(machine, misc))
        except OptionError as failed:
            failed.preceding[:0] = notes
            raise
        except CoreError as exc:
            board_err = _err(exc)
            board_err.preceding[:0] = notes
            raise board_err from None
    if has_net:
        # The board's NICs (pc_nic_init): what -nic and -net nic asked for.
        from memdevd.app.netstart import create_board_nics

        create_board_nics(machine, release, notes)
    config.board.after_board_nics(machine)

    if request.soundhw is not None:
        # qemu_create_cli_devices(): soundhw_init() first.
        from memdevd.app.soundhw import soundhw_init

        try:
            soundhw_init(machine, *request.soundhw)
        except OptionError as failed:
            failed.preceding[:0] = notes
            raise
    if misc.fw_cfg:
        from memdevd.app.misc_options import create_fw_cfg_files

        try:
            notes.extend(create_fw_cfg_files(machine, misc))
        except OptionError as failed:
            failed.preceding[:0] = notes
            raise
    if request.usb_devices:
        from memdevd.app.usbdevice import create_usb_devices

        try:
            create_usb_devices(machine, request.usb_devices)
        except OptionError as failed:
            failed.preceding[:0] = notes
            raise
    # QemuOpts -device options first, then JSON ones (qemu_create_cli_devices).
    # (an if=virtio -drive's device comes after the QemuOpts ones)
    ordered = [d for d in request.devices if not d.from_json] + drive_devices
    ordered += [d for d in request.devices if d.from_json]
    for dev in ordered:
        try:
            # qdev_device_add(): the options become a QDict whose order
            # (qemu_opts_to_qdict for QemuOpts) the properties are set in.
            opts = {k: dev.opts[k] for k in qdict_key_order(dev.opts)}
            device = machine.device_add(opts, from_json=dev.from_json)
        except CoreError as exc:
            # What QEMU printed before (error_report() lines) stays printed.
            err = _err(exc, dev.location)
            realize_lines = [Diagnostic(line, location=dev.location) for line in exc.reported]
            err.preceding[:0] = [*notes, *realize_lines]
            raise err from None
        # A realize that reports an error but succeeds (vmbus-bridge
        # without SynIC) prints under the -device option's location.
        report = getattr(device, "realize_report", None)
        if isinstance(report, str):
            notes.append(Diagnostic(report, location=dev.location))
    if has_net or machine.has_net:
        # qemu_machine_creation_done(): net_check_clients() (memdevd makes
        # no default NIC: QEMU's default_net is 0, as with -nodefaults).
        from memdevd.app.netstart import check_clients

        notes.extend(check_clients(machine, release))
    if machine.global_props is not None:
        # qemu_machine_creation_done(): qdev_prop_check_globals()
        notes.extend(_warnings(machine.global_props.check(machine)))
    try:
        # qdev_machine_creation_done(): the machine-init-done notifiers.
        config.board.machine_done(machine)
    except CoreError as exc:
        done_err = _err(exc)
        done_err.preceding[:0] = notes
        raise done_err from None
    # qdev_machine_creation_done(): the board's ACPI tables (the SRAT's
    # generic initiators) are built.
    failure = check_generic_initiators(machine)
    if failure is not None:
        raise OptionError(failure, preceding=notes, plain=True)
    if cgs is not None:
        _cgs_not_ready(cgs, accel, release, notes)
    # qemu_machine_creation_done()
    notes.extend(displays.vga_warning(display))
    notes.extend(_fdc_warning(machine))
    machine.finish_init()
    return machine, notes


def _add_defaults(request: StartupRequest, release: Release, target: Target) -> None:
    """qemu_create_default_devices(): the default ports' and monitor's specs."""
    from memdevd.app.chardev_cli import add_defaults

    add_defaults(request, release, target.syntax(release))


def _confidential_guest_support(machine: Machine, notes: list[Diagnostic]) -> QOMObject | None:
    """The ``confidential-guest-support`` link (or its ``memory-encryption``
    alias, an id under /objects), resolved with QEMU's texts."""
    option = machine.config.cgs_option
    if option is None:
        return None
    key, value = option
    cgs_type = "confidential-guest-support"
    if key == "memory-encryption" and machine.release.memory_encryption_deprecated:
        notes.append(Diagnostic(M.MEMORY_ENCRYPTION_DEPRECATED, kind="warning"))
    try:
        if key == "memory-encryption":
            # machine_set_memory_encryption
            target = machine.objects.children.get(value)
            if target is None:
                raise CoreError(M.NO_MEMORY_ENCRYPTION_OBJECT.format(value))
            if not target.is_a(cgs_type):
                raise CoreError(M.INVALID_PARAMETER_TYPE.format(cgs_type, cgs_type))
            return target
        return machine.resolve_link(value, cgs_type, key)
    except CoreError as exc:
        err = _err(exc)
        err.preceding[:0] = notes
        raise err from None


def _cgs_not_ready(cgs: QOMObject, accel: str, release: Release, notes: list[Diagnostic]) -> None:
    """``qemu_machine_creation_done``: no accelerator readied the object.
    TCG never does; KVM would set up SEV on the host, which memdevd does not
    emulate."""
    if accel != "tcg":
        raise OptionError(M.CGS_NOT_EMULATED.format(cgs.typename), preceding=notes)
    if release.cgs_not_ready_text is None:
        err = OptionError(M.CGS_NOT_READY_7_2, preceding=notes)
        err.aborts = True
        raise err
    raise OptionError(release.cgs_not_ready_text.format(cgs.typename), preceding=notes)


def _fdc_warning(machine: Machine) -> list[Diagnostic]:
    """``pc_find_fdc0`` (the reset after machine creation): more than one
    floppy controller at I/O base 0x3f0 is warned about."""
    from memdevd.machine.qbus import FloppyBus

    fdcs = sum(1 for bus in machine.board_qbuses if isinstance(bus, FloppyBus))
    fdcs += sum(
        1
        for dev in machine.devices()
        if dev.typename == "isa-fdc"
        and int(getattr(dev, "values", {}).get("iobase", 0x3F0)) == 0x3F0
    )
    if fdcs < 2:
        return []
    return [Diagnostic(M.FDC_MULTIPLE, M.FDC_MULTIPLE_HINT, kind="warning")]


def _misc_board(machine: Machine, misc: Any) -> list[Diagnostic]:
    """The firmware, the boot menu and the board devices' globals, checked
    as the board is built (memdevd/app/misc_options.py)."""
    from memdevd.app.misc_options import board_created

    printed = board_created(machine, misc)
    if machine.global_props is not None:
        from memdevd.machine.globals import board_device_types

        machine.global_props.apply_board(machine, board_device_types(machine))
    return printed


def _finish_async_prealloc(machine: Machine) -> None:
    """``qemu_finish_async_prealloc_mem``: the -object backends' pages are
    touched together; QEMU exits (no location) when the host cannot back
    them all."""
    from memdevd.machine.backends import preallocated_memory

    pending, machine.prealloc_pending = machine.prealloc_pending, None
    limit = machine.host.memory
    if not pending or limit is None:
        return
    if preallocated_memory(machine) > limit:
        raise OptionError(M.PREALLOC_FAILED.format("Cannot allocate memory"))


def _after(notes: list[Diagnostic], step: Any, *args: Any) -> list[Diagnostic]:
    """A start-up step whose failure comes after what was printed so far."""
    try:
        result: list[Diagnostic] = step(*args)
    except OptionError as err:
        err.preceding[:0] = notes
        raise
    return result


def _created_late(qom_type: str) -> bool:
    """``object_create_early`` is false: made in qemu_create_late_backends."""
    return qom_type.startswith("memory-backend-") or qom_type in ("rng-egd", "qtest")


def _object_add(machine: Machine, spec: ObjectSpec) -> None:
    try:
        machine.object_add(spec.qom_type, spec.obj_id, spec.props)
    except CoreError as exc:
        raise _err(exc) from None


def _warnings(texts: list[str]) -> list[Diagnostic]:
    return [Diagnostic(text, kind="warning") for text in texts]


def _configure_smp(
    config: MachineConfig,
    target: Target,
    release: Release,
    request: StartupRequest,
    mtype: MachineType,
) -> list[Diagnostic]:
    """The machine's ``smp`` property: ``-machine smp.*=`` merged with ``-smp``."""
    options: dict[str, Any] = {}
    machine_smp = request.machine.get("smp")
    if machine_smp is not None:
        options.update(_visit_smp(machine_smp, release))
    if request.smp_cpus != 1:
        options["cpus"] = str(request.smp_cpus)
    options.update(request.smp)
    support = config.board.smp_support(release, mtype.name)
    floor, max_cpus = target.max_cpus(release, mtype)
    try:
        smp, warnings = parse_smp(
            options, release, support, mtype.name, max_cpus, max_cpus_floor=floor
        )
    except CoreError as exc:
        raise _err(exc) from None
    config.smp = smp
    config.smp_cpus = smp.cpus
    return _warnings(warnings)


def _visit_smp(value: Any, release: Release) -> dict[str, int]:
    """``machine_set_smp``: the machine's ``smp`` (-smp, -machine smp.*=, a
    -readconfig [smp-opts] group, merged as keyval) visited as
    SMPConfiguration: integers, no other member."""
    from memdevd.qapi.visitor import InputVisitor, VisitError

    v = InputVisitor({"smp": value}, keyval=True)
    out: dict[str, int] = {}
    try:
        v.start_struct(None)
        v.start_struct("smp")
        for key in release.smp_keys:  # (SMPConfiguration's members, in order)
            if v.optional(key):
                out[key] = v.type_int(key, "int")
        v.check_struct()
        v.end_struct()
        v.end_struct()
    except VisitError as exc:
        raise OptionError(exc.desc) from None
    return out


def _visit_numa(
    machine: Machine, items: list[tuple[str, str]], opts_id: str | None
) -> dict[str, Any]:
    """``parse_numa``: the opts visitor's ``NumaOptions``, then the legacy
    suffix-less ``mem=`` (MiB) read again from the option's text."""
    from memdevd.qapi.opts_visitor import OptsVisitor
    from memdevd.qapi.source_schema import schema_of, visit
    from memdevd.qapi.visitor import VisitError
    from memdevd.util.qemu_opts import parse_size

    v = OptsVisitor(items, opts_id, legacy_sizes=not machine.release.strtosz_2023)
    try:
        opts: dict[str, Any] = visit(schema_of(machine.recording), v, None, "NumaOptions")
    except VisitError as exc:
        raise CoreError(exc.desc) from None
    if opts["type"] == "node" and "mem" in opts:
        text = [value for key, value in items if key == "mem"][-1]
        opts["mem"] = parse_size(text + ("M" if text[-1:].isdigit() else ""), name="mem")
    return opts
