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
from memdevd.machine.machine import Machine, MachineConfig
from memdevd.machine.numa import NumaNodeOptions, parse_numa_node
from memdevd.machine.smp import parse_smp
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
    numa: list[tuple[str, dict[str, str]]] = field(default_factory=list)
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


def _misc_options() -> Any:
    from memdevd.app.misc_options import MiscOptions

    return MiscOptions()


def _err(exc: CoreError, location: str | None = None) -> OptionError:
    return OptionError(exc.desc, exc.hint or None, location=location)


def select_machine(target: Target, release: Release, name: str | None) -> MachineType:
    """``select_machine``: the target's default when no type is given."""
    mtype = target.resolve_machine(release, name)
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
}


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
        if key in ("type", "accel", "memory"):
            continue
        modelled = key in _MACHINE_KNOWN or key in target.board_option_names
        if not modelled and known is None:
            known = target.machine_option_names(release, mtype)
        if not modelled and key not in (known or set()):
            raise OptionError(M.PROPERTY_NOT_FOUND.format(f"{mtype.name}-machine", key))
        if key == "nvdimm":
            config.nvdimm = _machine_bool(value, key)
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
        elif key in ("boot", "firmware", "hpet"):
            from memdevd.app.misc_options import apply_machine_option

            apply_machine_option(config, key, value)
        elif key == "graphics":
            config.graphics = _machine_bool(value, key)
        else:
            try:
                target.apply_machine_option(config, key, value)
            except CoreError as exc:
                raise _err(exc) from None


def configure_accelerator(
    request: StartupRequest, settings: MemdevdSettings, release: Release
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
    wanted = request.accel or default
    printed: list[Diagnostic] = []
    for accel, location in wanted:
        if accel == "tcg":
            if printed:
                printed.append(Diagnostic(M.ACCEL_FALLBACK.format("tcg")))
            return "tcg", printed
        if accel == "kvm":
            if settings.host.kvm:
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
    notes.extend(displays.setup_displays(display, request.display, board, drivers))
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
    apply_machine_options(config, target, release, request.machine, mtype)
    notes.extend(_configure_smp(config, target, release, request, mtype))
    if not board.acpi:
        config.acpi = False
    machine_accel = request.machine.get("accel")
    if isinstance(machine_accel, str) and not request.accel:
        request.accel = [(name, None) for name in machine_accel.split(":")]
    accel, printed = configure_accelerator(request, settings, release)
    notes.extend(printed)
    config.accel = accel
    machine = Machine(config, release, host=settings.host, clock=clock)
    machine.attach_display(display)
    misc = request.misc
    # -action & co., visited already (misc_options.process_early)
    machine.run_actions.update(misc.actions)
    if misc.incoming is not None:
        # vl.c: -incoming sets RUN_STATE_INMIGRATE (-S or not).
        machine.runstate = "inmigrate"
    if config.board_options.keys() & {"boot", "firmware", "hpet"}:
        from memdevd.app.misc_options import expose_machine_props

        expose_machine_props(machine)
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
    for location, options in request.blockdevs:
        try:
            machine.block.blockdev_add(options)
        except CoreError as exc:
            raise _err(exc, location) from None
    # audio_init_audiodevs()
    for audiodev in request.display.audiodevs:
        display.audio_define(audiodev)
    notes.extend(_after(notes, displays.start_audio, display))
    drive_devices: list[DeviceSpec] = []
    if request.drives:
        from memdevd.app.startup_drives import configure_drives

        drive_devices = configure_drives(machine, request.drives, target, release, notes)
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
    try:
        for spec in late:
            _object_add(machine, spec)
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
        for location, node in request.numa:
            if node.get("type", "node") != "node":
                continue
            try:
                parse_numa_node(machine, _numa_options(node))
            except CoreError as exc:
                # parse_numa_opts() runs under the -numa option's location.
                err = _err(exc, location)
                err.preceding[:0] = notes
                raise err from None
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
        raise _err(exc) from None
    if misc.globals or machine.config.board_options.keys() & {"boot", "firmware"}:
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

    if misc.fw_cfg:
        from memdevd.app.misc_options import create_fw_cfg_files

        try:
            notes.extend(create_fw_cfg_files(machine, misc))
        except OptionError as failed:
            failed.preceding[:0] = notes
            raise
    # QemuOpts -device options first, then JSON ones (qemu_create_cli_devices).
    # (an if=virtio -drive's device comes after the QemuOpts ones)
    ordered = [d for d in request.devices if not d.from_json] + drive_devices
    ordered += [d for d in request.devices if d.from_json]
    for dev in ordered:
        try:
            device = machine.device_add(dev.opts, from_json=dev.from_json)
        except CoreError as exc:
            # What QEMU printed before (error_report() lines) stays printed.
            err = _err(exc, dev.location)
            err.preceding[:0] = notes
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
    # qemu_machine_creation_done()
    notes.extend(displays.vga_warning(display))
    machine.finish_init()
    return machine, notes


def _misc_board(machine: Machine, misc: Any) -> list[Diagnostic]:
    """The firmware, the boot menu and the board devices' globals, checked
    as the board is built (memdevd/app/misc_options.py)."""
    from memdevd.app.misc_options import board_created

    printed = board_created(machine, misc)
    if machine.global_props is not None:
        from memdevd.machine.globals import board_device_types

        machine.global_props.apply_board(machine, board_device_types(machine))
    return printed


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
    if isinstance(machine_smp, dict):
        options.update(machine_smp)
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


def _numa_options(opts: dict[str, str]) -> NumaNodeOptions:
    from memdevd.util.qemu_opts import parse_size

    node = NumaNodeOptions()
    if "nodeid" in opts:
        try:
            node.nodeid = int(opts["nodeid"], 0)
        except ValueError:
            raise CoreError(M.INVALID_PARAMETER_VALUE.format("nodeid", "a uint64 value")) from None
    if "mem" in opts:
        node.mem = parse_size(opts["mem"] + ("M" if opts["mem"][-1:].isdigit() else ""), name="mem")
    if "memdev" in opts:
        node.memdev = opts["memdev"]
    if "cpus" in opts:
        cpus: list[int] = []
        for part in opts["cpus"].split(":"):
            lo, _, hi = part.partition("-")
            if lo.isdigit():
                cpus.extend(range(int(lo), int(hi or lo) + 1))
        node.cpus = tuple(cpus)
    return node
