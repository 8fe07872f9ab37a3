"""The network at start-up: ``-netdev``, ``-nic`` and ``-net`` as vl.c acts on them.

``net_init_clients`` (qemu_create_late_backends) makes the netdevs given in
JSON or as stream/dgram first, then the QemuOpts ``-netdev`` options, then
``-nic``, then ``-net``, each visited now with the opts visitor and failing
at its own option; the board makes the NICs ``-nic`` and ``-net nic`` asked
for while it is built (:func:`create_board_nics`, ``pc_nic_init``); once
the machine exists, ``net_check_clients`` warns about what has no peer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memdevd import messages as M
from memdevd.machine.errors import CoreError
from memdevd.util.qemu_opts import Diagnostic, OptionError, is_help_option

if TYPE_CHECKING:
    from memdevd.app.startup import NetOption, StartupRequest
    from memdevd.machine.machine import Machine
    from memdevd.machine.net.clients import NetLayer
    from memdevd.releases.table import Release


def _printed(net: NetLayer, location: str | None) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for kind, text in net.take_printed():
        if kind == "plain":
            out.append(Diagnostic(text, kind="plain"))
        else:
            out.append(Diagnostic(text, location=location, kind=kind))  # type: ignore[arg-type]
    return out


def net_init_clients(
    machine: Machine, request: StartupRequest, release: Release, notes: list[Diagnostic]
) -> None:
    """``net_init_clients``: what it prints joins ``notes``; raises as QEMU
    exits (after what was printed before)."""
    net = machine.net

    def run(option: NetOption, fn: Any, *args: Any) -> None:
        try:
            fn(*args)
        except CoreError as exc:
            if exc.assertion is not None:
                err = OptionError(exc.assertion)
                err.aborts = True
            else:
                err = OptionError(exc.desc, exc.hint or None, location=option.location)
            err.preceding[:0] = [*notes, *_printed(net, option.location)]
            raise err from None
        notes.extend(_printed(net, option.location))

    for option in request.netdevs:
        if option.kind == "modern":
            run(option, net.client_init, option.value, True)
    for option in request.netdevs:
        if option.kind == "opts":
            kind = _last(option.value["items"], "type")
            if kind is not None and is_help_option(kind):
                _exit_help(netdev_types(machine, release))
            run(option, _client_init_opts, machine, option, True)
    for option in request.nics:
        run(option, _param_nic, machine, option)
    for option in request.nets:
        model = _last(option.value["items"], "model")
        if release.nic_models_per_bus and model is not None and is_help_option(model):
            net.nic_model_help = True
            continue
        run(option, _client_init_opts, machine, option, False)


def _exit_help(text: str) -> None:
    from memdevd.app.cli import Exit

    raise Exit(0, text)


def _last(items: list[tuple[str, str]], name: str) -> str | None:
    value = None
    for key, text in items:
        if key == name:
            value = text
    return value


def netdev_types(machine: Machine, release: Release) -> str:
    """``show_netdevs``: the types of the release's binary."""
    types = release.netdev_help_types
    return "Available netdev backend types:\n" + "".join(f"{t}\n" for t in types)


def _client_init_opts(machine: Machine, option: NetOption, is_netdev: bool) -> None:
    """``net_client_init`` of QemuOpts: ipv6-net, -net's generated id, the
    opts visitor, then ``net_client_init1``."""
    from memdevd.machine.net.clients import ipv6_net_option
    from memdevd.qapi.opts_visitor import OptsVisitor
    from memdevd.qapi.source_schema import schema_of, visit
    from memdevd.qapi.visitor import VisitError

    net = machine.net
    items = list(option.value["items"])
    opts_id = option.value["id"]
    items = ipv6_net_option(items, machine.release)
    if not is_netdev and opts_id is None:
        opts_id = net.generate_id()
    v = OptsVisitor(items, opts_id, legacy_sizes=not machine.release.strtosz_2023)
    try:
        netdev = visit(schema_of(machine.recording), v, None, "Netdev")
    except VisitError as exc:
        raise CoreError(exc.desc) from None
    net.client_init(netdev, is_netdev)


def _param_nic(machine: Machine, option: NetOption) -> None:
    """``net_param_nic`` (-nic): a NIC for the board and its netdev."""
    from memdevd.machine.net.clients import NicInfo, parse_macaddr

    net = machine.net
    release = machine.release
    items = list(option.value["items"])
    kind = _last(items, "type")
    if kind is not None:
        if kind == "none":
            return
        if release.nic_models_per_bus and is_help_option(kind):
            _exit_help(
                netdev_types(machine, release)
                + "\n"
                + M.NIC_MODELS_ALL_HEADER
                + "".join(f"{m}\n" for m in nic_models(machine, pci_only=False))
            )
    index = net.nic_free_index()
    if index is None or net.nb_nics >= len(net.nd_table):
        raise CoreError(M.NET_NO_NIC_SLOTS)
    if kind is None:
        items.append(("type", "user"))
    model = _last(items, "model")
    items = [(k, v) for k, v in items if k != "model"]
    nd = NicInfo(None, model=model)
    if release.nic_models_per_bus and model is not None and is_help_option(model):
        net.nic_model_help = True
        return
    opts_id = option.value["id"]
    if opts_id is None:
        opts_id = net.generate_id()
    mac_text = _last(items, "mac")
    items = [(k, v) for k, v in items if k != "mac"]
    mac: tuple[int, ...] = (0,) * 6
    if mac_text is not None:
        parsed = parse_macaddr(mac_text)
        if parsed is None:
            raise CoreError(M.NET_INVALID_MAC)
        if parsed[0] & 1:
            raise CoreError(M.NET_MULTICAST_MAC)
        mac = parsed
    nd.macaddr = net.macaddr_default_if_unset(mac)
    _client_init_opts(machine, _with(option, items, opts_id), True)
    nd.netdev = net.find_netdev(opts_id)
    net.add_nic_info(nd)


def _with(option: NetOption, items: list[tuple[str, str]], opts_id: str) -> NetOption:
    from memdevd.app.startup import NetOption

    return NetOption(option.location, option.kind, {"items": items, "id": opts_id})


def nic_models(machine: Machine, pci_only: bool) -> list[str]:
    """The device types that are NICs (category Network, a ``netdev``
    property, user-creatable), sorted as QEMU lists them; ``pci_only``:
    the PCI ones ``pci_nic_init_nofail`` accepts."""
    rec = machine.recording
    out = []
    for name in rec.device_type_names():
        info = rec.device_type(name)
        if info is None or not info.user_creatable or "Network" not in info.categories:
            continue
        if not any(p.name == "netdev" for p in info.properties):
            continue
        if pci_only and "pci-device" not in info.parents:
            continue
        out.append(name)
    return sorted(out, key=str.lower)


NE2K_ISA = "ne2k_isa"
#: hw/i386/pc.c ne2000_io, ne2000_irq
NE2000_IO = (0x300, 0x320, 0x340, 0x360, 0x280, 0x380)
NE2000_IRQ = (9, 10, 11, 3, 4, 5)


def create_board_nics(machine: Machine, release: Release, notes: list[Diagnostic]) -> None:
    """``pc_nic_init``: a device for each NIC ``-nic``/``-net nic`` asked
    for, on the board's bus; the device layer may refuse the type."""
    net = machine.net
    board = machine.config.board
    default = board.default_nic_model
    if not default:
        return
    models: list[str] | None = None
    infos = net.nic_infos()
    if release.nic_models_per_bus:
        # pc_nic_init(): the ISA NE2000s first, then the PCI bus's NICs
        infos = [nd for nd in infos if nd.model == NE2K_ISA] + [
            nd for nd in infos if nd.model != NE2K_ISA
        ]
    for nd in infos:
        if nd.instantiated:
            continue
        model = nd.model or default
        if model == "virtio":
            model = "virtio-net-pci"
        if model != NE2K_ISA:
            if models is None:
                models = nic_models(machine, pci_only=True)
            if release.nic_models_per_bus:
                if model not in models:
                    # qemu_create_nic_bus_devices(): not on this bus; warned about later.
                    continue
            else:
                if is_help_option(model):
                    _exit_help(M.NIC_MODELS_SUPPORTED_HEADER + "".join(f"{m}\n" for m in models))
                if model not in models:
                    err = OptionError(M.UNSUPPORTED_NIC_MODEL.format(model))
                    err.preceding[:0] = notes
                    raise err
        props: list[tuple[str, str]] = []
        if model == NE2K_ISA:
            # pc_init_ne2k_isa(): the next of six fixed I/O bases and IRQs
            if net.ne2k_isa_count == len(NE2000_IO):
                if not release.nic_models_per_bus:
                    continue  # 7.2: silently not made (warned about later)
                err = OptionError(M.NE2000_ISA_TOO_MANY)
                err.preceding[:0] = notes
                raise err
            index = net.ne2k_isa_count
            net.ne2k_isa_count += 1
            props += [("iobase", str(NE2000_IO[index])), ("irq", str(NE2000_IRQ[index]))]
        props.append(("mac", ":".join(f"{b:02x}" for b in nd.macaddr)))
        if nd.netdev is not None:
            props.append(("netdev", nd.netdev.name))
        if nd.nvectors is not None:
            props.append(("vectors", str(nd.nvectors)))
        if nd.devaddr is not None and model != NE2K_ISA:
            props.insert(0, ("addr", nd.devaddr))
        try:
            board_device(machine, model, props)
        except CoreError as exc:
            err = OptionError(exc.desc, exc.hint or None)
            err.preceding[:0] = notes
            raise err from None
        nd.instantiated = True


def board_device(machine: Machine, model: str, props: list[tuple[str, str]]) -> None:
    """``qemu_create_nic_device``/``pci_nic_init_nofail`` (and
    ``soundhw_init``): a device the board makes (no id, under
    /machine/unattached) on its default bus."""
    from memdevd.machine.devices import device_class

    cls = device_class(model, machine.config.board, machine.recording)
    if cls is None:
        raise CoreError(M.DEVICE_TYPE_NOT_EMULATED.format(model))
    dev = cls(machine)
    bus = None
    if cls.bus_type is not None:
        bus = machine.default_bus(cls.bus_type)
        if bus is None:
            raise CoreError(M.NO_BUS_FOUND.format(cls.bus_type, model))
        dev.parent_bus = bus.name
    try:
        for key, value in props:
            dev.prop_set(key, value, keyval=True)
    except CoreError:
        dev.finalize()
        raise
    if bus is not None and bus.qbus is not None:
        # qdev_realize(): qdev_set_parent_bus() on a controller's bus (an
        # HDA codec of -audio model=hda) lists the device there first.
        dev.parent_bus_owner = bus.owner
        bus.qbus.check_address(dev)
        dev.parent_qbus = bus.qbus  # type: ignore[attr-defined]
        bus.qbus.add_kid(dev)
    machine.realize_unattached(dev)


def check_clients(machine: Machine, release: Release) -> list[Diagnostic]:
    """``net_check_clients``: the NIC models asked for with ``model=help``
    (10.0), then the warnings."""
    net = machine.net
    if net.nic_model_help:
        # show_nic_models(): what pc_nic_init() looked for (the NE2000, the
        # PCI bus's models, virtio-net-pci with its alias), in strcmp order
        models = [NE2K_ISA if machine.config.board.default_nic_model else ""]
        for model in nic_models(machine, pci_only=True):
            models.append(f"{model} (aka virtio)" if model == "virtio-net-pci" else model)
        models = sorted(m for m in models if m)
        _exit_help(M.NIC_MODELS_FOR_MACHINE_HEADER + "".join(f"{m}\n" for m in models))
    return [Diagnostic(text, kind="warning") for text in net.check_clients()]
