"""The x86 boards: pc (i440FX), q35 and the none machine, through the board seam.

What ``pc_piix.c``, ``pc_q35.c``, ``pc.c`` and ``x86.c`` give a machine
that the core models generically: the compat properties of the versioned
types, ``/machine``'s x86 properties (``acpi``, ``max-ram-below-4g``,
``sgx-epc``...), board init (the SGX EPC sections, the vCPUs, the memory
layout of ``layout.py``), the hotplug handler for DIMMs, the root bus, the
ISA bus and the board's own PCI functions, and the device types only x86
has.  The x86 ``none`` machine is QEMU's null machine with x86 vCPUs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from memdevd import messages as M
from memdevd.machine.board import Board
from memdevd.machine.buses import Bus, PCIFunction
from memdevd.machine.errors import CoreError
from memdevd.machine.qom import Prop, QOMObject
from memdevd.machine.smp import SmpSupport
from memdevd.releases.machine_compat import CompatTable

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine
    from memdevd.machine.qdev import Device
    from memdevd.machine.smp import CpuSlot
    from memdevd.releases.table import Release
    from memdevd.targets.x86_64.layout import CpuFacts

TARGET = "x86_64"

#: What memdevd models of the compat properties of both families: hw_compat_X_Y
#: (hw/core/machine.c), pc_compat_X_Y (hw/i386/pc.c) and the
#: pc_{i440fx,q35}_X_Y_machine_options functions.
COMPAT: CompatTable = {
    # hw_compat_9_2: no MSI-X vectors, so no BAR 1 in query-pci (pci_info.py).
    (9, 2): {
        "virtio-balloon-pci.vectors": 0,
        "virtio-balloon-pci-transitional.vectors": 0,
        "virtio-balloon-pci-non-transitional.vectors": 0,
        "virtio-mem-pci.vectors": 0,
    },
    # pc_{i440fx,q35}_8_1_machine_options: the old 32-bit address check.
    (8, 1): {"pc-machine.broken-32bit-mem-addr-check": True},
    (8, 0): {"virtio-mem.unplugged-inaccessible": "auto"},  # pc_compat_8_0
    (7, 2): {"virtio-mem.x-early-migration": False},  # hw_compat_7_2
    (7, 1): {  # hw_compat_7_1 (as 9.2's)
        "virtio-rng-pci.vectors": 0,
        "virtio-rng-pci-transitional.vectors": 0,
        "virtio-rng-pci-non-transitional.vectors": 0,
    },
    # pc_{i440fx,q35}_7_0_machine_options: the AMD 1 TiB hole came with 7.1.
    (7, 0): {"pc-machine.enforce-amd-1tb-hole": False},
    (6, 2): {"virtio-mem.unplugged-inaccessible": "off"},  # pc_compat_6_2
    (6, 1): {"machine.smp-prefer-sockets": True},  # smp_props.prefer_sockets
    (3, 1): {  # hw_compat_3_1
        "memory-backend-file.x-use-canonical-path-for-ramblock-id": True,
        "memory-backend-memfd.x-use-canonical-path-for-ramblock-id": True,
        # pc_{i440fx,q35}_3_1_machine_options: no PVH boot of an ELF -kernel
        "pc-machine.pvh-enabled": False,
    },
    (2, 5): {"isa-fdc.fallback": "144"},  # pc_compat_2_5
    # pc_{i440fx,q35}_machine_2_4_options: pcmc->broken_reserved_end
    (2, 4): {"pc-machine.broken-reserved-end": True},
}
#: The i440FX types only (hw/i386/pc_piix.c; QEMU 7.2 still has them).
PC_COMPAT: CompatTable = {
    **COMPAT,
    (2, 1): {"pc-machine.enforce-aligned-dimm": False},
    (2, 0): {"pc-machine.has-reserved-memory": False, "pc-machine.memory-hotplug": False},
}

I440FX_PCI_HOST_HOLE64_SIZE_DEFAULT = 1 << 31
Q35_PCI_HOST_HOLE64_SIZE_DEFAULT = 1 << 35

# What -nodefaults boards put on their root bus (query-pci and the "in use by"
# texts of QEMU 7.2 and 10.0): pc_piix.c and pc_q35.c.
BOARD_PCI_FUNCTIONS: dict[str, tuple[PCIFunction, ...]] = {
    "pc": (
        PCIFunction(0x00, "i440FX"),
        PCIFunction(0x08, "PIIX3", multifunction=True),
        PCIFunction(0x09, "piix3-ide"),
    ),
    "q35": (
        PCIFunction(0x00, "mch"),
        PCIFunction(0xF8, "ICH9-LPC", multifunction=True),
        PCIFunction(0xFA, "ich9-ahci"),
        PCIFunction(0xFB, "ICH9-SMB"),
    ),
}
# pc creates the PIIX4 power management function only with ACPI.
PIIX4_PM = PCIFunction(0x0B, "PIIX4_PM")

# isa.0, the ISA bus of the PC's south bridge (PIIX3 / ICH9-LPC): where
# isa-serial sits; it has no hotplug handler.
ISA_BUS = Bus("isa.0", "ISA", False)

#: The device types only x86 has: driver -> (module, class).
DEVICE_TYPES: Mapping[str, tuple[str, str]] = {
    # Created by the board from -machine sgx-epc.N.*; device_add refuses it.
    "sgx-epc": ("memdevd.targets.x86_64.devices.sgx_epc", "SgxEPC"),
    # 8.2+ (Release.has_hv_balloon); needs the VMBus of a vmbus-bridge.
    "hv-balloon": ("memdevd.targets.x86_64.devices.hv_balloon", "HvBalloon"),
    # Not a memory device: the sysbus device that provides hv-balloon's VMBus.
    "vmbus-bridge": ("memdevd.targets.x86_64.devices.hv_balloon", "VMBusBridge"),
    "isa-serial": ("memdevd.targets.x86_64.devices.isa_serial", "ISASerial"),
    # A dynamic sysbus display device (a graphic console).
    "ramfb": ("memdevd.targets.x86_64.devices.ramfb", "RamFB"),
    # q35's vIOMMU (a dynamic sysbus device).
    "intel-iommu": ("memdevd.targets.x86_64.devices.iommu", "IntelIOMMU"),
}


class X86Board(Board):
    """A qemu-system-x86_64 machine family."""

    target = TARGET
    device_types = DEVICE_TYPES
    # 11.1's binary has arm's query-gic-capabilities as a stub.
    stub_commands: Mapping[str, str] = MappingProxyType(
        {"query-gic-capabilities": M.GIC_NOT_AVAILABLE}
    )

    def __init__(
        self,
        family: str,
        *,
        root_bus: str = "",
        root_bus_type: str = "",
        root_bus_hotpluggable: bool = False,
        acpi_device: str = "",
        pci_hole64_default: int = 0,
        compat: CompatTable | None = None,
    ) -> None:
        self.family = family
        self.root_bus = root_bus
        self.root_bus_type = root_bus_type
        self.root_bus_hotpluggable = root_bus_hotpluggable
        # The ACPI hotplug controller's type name (PIIX4_PM, ICH9-LPC).
        self.acpi_device = acpi_device
        self.pci_hole64_default = pci_hole64_default
        self.compat = compat or {}
        self.is_pc = family in ("pc", "q35")
        self.default_ram_id = "pc.ram" if self.is_pc else ""
        # null-machine.c: none has neither; pc and q35 have isa-parallel.
        self.no_serial = self.no_parallel = not self.is_pc
        self.block_default_type = "ide" if self.is_pc else "none"
        self.units_per_default_bus = 1 if family == "q35" else 0
        self.system_flash = self.is_pc
        # PCMachineClass.default_nic_model (pc_piix.c, pc_q35.c)
        self.default_nic_model = {"pc": "e1000", "q35": "e1000e"}.get(family, "")
        self.numa = self.is_pc
        self.nvdimm_supported = self.is_pc
        # pc_machine_class_init / pc_q35 set both; numa_mem_supported only
        # up to 5.0 machine types, which memdevd's releases no longer have.
        self.auto_enable_numa_with_memhp = self.is_pc
        self.auto_enable_numa_with_memdev = self.is_pc
        self.acpi = self.is_pc
        self.cpu_hotplug = self.is_pc
        # MachineClass default_display (pc_piix.c, pc_q35.c): the default -vga.
        self.default_display = "std" if self.is_pc else None

    # -- machine types ------------------------------------------------------------------

    def machine_type_chain(self, machine_type: str) -> tuple[str, ...]:
        return (
            f"{machine_type}-machine",
            "pc-q35-machine" if self.family == "q35" else "pc-i440fx-machine",
            "generic-pc-machine",
            "x86-machine",
            "machine",
            "object",
        )

    def machine_props(self, machine: Machine) -> list[Prop]:
        from memdevd.machine.machine import generic_machine_props

        generic = generic_machine_props(machine)
        obj = machine.machine_obj
        props = [
            generic["nvdimm"],
            Prop("acpi", "OnOffAuto", lambda o: _machine(o).config.acpi_setting, _set_acpi),
            Prop(
                "max-ram-below-4g",
                "size",
                # pc_init1/pc_q35_init store their default in the property.
                lambda o: (
                    _machine(o).config.board_options.get("max-ram-below-4g")
                    or (0xE0000000 if self.family == "pc" else 4 << 30)
                ),
                _set_max_ram_below_4g,
            ),
            generic["memory"],
            generic["memory-backend"],
            generic["graphics"],
            generic["dump-guest-core"],
            generic["mem-merge"],
            generic["hmat"],
            generic["nvdimm-persistence"],
            Prop(
                "acpi-device",
                "link<hotplug-handler>",
                lambda o: obj.unattached_device("acpi-device"),
                None,
            ),
        ]
        sample = obj.recorded_sample()
        if sample is None or "rtc_state" in sample["qom-get"]:
            # Gone from the PC machines by 10.0.
            props.append(
                Prop(
                    "rtc_state",
                    "link<isa-device>",
                    lambda o: obj.unattached_device("rtc_state"),
                    None,
                )
            )
        if self.is_pc:
            # x86_machine_class_init: the X86MachineState property.
            props.append(Prop("sgx-epc", "SgxEPC", _get_sgx_epc, _set_sgx_epc))
            # pc_machine_initfn -> cxl_machine_init.
            props.append(Prop("cxl", "bool", _get_cxl, _set_cxl))
            props.append(Prop("cxl-fmw", "CXLFixedMemoryWindow", _get_cfmw, _set_cfmw))
        if not machine.release.device_memory_only_with_maxmem:
            props.append(
                Prop(
                    "device-memory-region-size",
                    "int",
                    lambda o: _device_memory_size(_machine(o)),
                    None,
                )
            )
        return props

    # -- vCPUs ----------------------------------------------------------------------------

    def smp_support(self, release: Release, machine_type: str) -> SmpSupport:
        """pc/q35 support dies (and modules where the release has them).

        Machine types before 6.2 fill sockets before cores (``prefer_sockets``).
        """
        if not self.is_pc:
            return SmpSupport()
        compat = self.compat_props(machine_type)
        prefer_sockets = bool(compat.get("machine.smp-prefer-sockets", False))
        return SmpSupport(dies=True, modules=release.smp_modules, prefer_sockets=prefer_sockets)

    def cpu_type(self, model: str) -> str:
        return f"{model}-x86_64-cpu"

    def cpu_model_exists(self, release: Release, model: str) -> bool:
        from memdevd.targets.x86_64.cpus import cpu_model_exists

        return cpu_model_exists(release, model)

    def cpu_model_expansion(
        self,
        release: Release,
        kind: str,
        model: str,
        props: dict[str, Any] | None,
        machine_type: str = "",
        cpu_option: str = "",
    ) -> Any | None:
        from memdevd.targets.x86_64.cpu_compat import cpu_compat_globals
        from memdevd.targets.x86_64.cpu_models import expand_model

        compat = cpu_compat_globals(release, machine_type) if self.is_pc else []
        return expand_model(release, kind, model, props, compat, cpu_option)

    def cpu_model_as_recorded(
        self, release: Release, machine_type: str, model: str, cpu_option: str = ""
    ) -> bool:
        from memdevd.targets.x86_64.cpu_compat import cpu_compat_globals
        from memdevd.targets.x86_64.cpu_models import parse_featurestr

        cli_model, _, features = cpu_option.partition(",")
        if features:
            parsed = parse_featurestr(features)[0]
            if parsed.plus or parsed.minus or (parsed.globals and cli_model == model):
                return False
        if not self.is_pc:
            return True
        typename = self.cpu_type(model)
        compat = cpu_compat_globals(release, machine_type)
        return not any(driver in ("x86_64-cpu", typename) for driver, _, _ in compat)

    def cpu_definitions(
        self, machine: Machine, recorded: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Old types' compat properties change what TCG filters; types up
        to 4.0 (CPU_VERSION_LEGACY) list no ``alias-of``."""
        from memdevd.targets.x86_64.cpu_compat import cpu_compat_globals, legacy_cpu_version
        from memdevd.targets.x86_64.cpu_models import definitions_on, parse_featurestr

        machine_type = machine.config.machine_type
        out = recorded
        if not machine.kvm_enabled:
            option = machine.config.cpu_option or ""
            features = parse_featurestr(option.partition(",")[2])[0] if "," in option else None
            compat = cpu_compat_globals(machine.release, machine_type) if self.is_pc else []
            cli_model = option.partition(",")[0]
            out = definitions_on(machine.release, recorded, compat, features, cli_model)
        if not self.is_pc:
            return out
        if legacy_cpu_version(machine_type):
            out = [{k: v for k, v in d.items() if k != "alias-of"} for d in out]
        return out

    def default_cpu_node(self, slot: CpuSlot, nodes: int) -> int:
        """``x86_get_default_cpu_node_id``: the package modulo the nodes."""
        return int(slot.topo.pkg) % nodes

    def pci_hole64_size(self, machine: Machine) -> int | None:
        """The host bridge's ``pci-hole64-size`` as pc_memory_init reads it:
        the last ``-global`` of the bridge's type (or an ancestor) that sets
        it, None for the default.  The bridge is made (its globals applied,
        QEMU's error for a bad one) before pc_memory_init."""
        from memdevd.util.cutils import strtosz

        globals_ = machine.global_props
        if globals_ is None or not self.is_pc:
            return None
        bridge = "q35-pcihost" if self.family == "q35" else "i440FX-pcihost"
        globals_.apply_board(machine, [bridge])
        rec = machine.recording
        size = None
        for p in globals_.props:
            if p.property == "pci-hole64-size" and rec.type_is_a(bridge, p.driver):
                size = strtosz(p.value, legacy=not machine.release.strtosz_2023)
        return size

    def possible_cpus(self, machine: Machine) -> list[CpuSlot]:
        from memdevd.targets.x86_64.cpus import possible_cpus

        return possible_cpus(machine.config.smp) if self.is_pc else []

    # -- board init -----------------------------------------------------------------------

    def init_board(self, machine: Machine) -> list[Any]:
        from memdevd.targets.x86_64.cpus import plan_cpus

        if not self.is_pc:
            # The none machine: no possible CPUs, and no board hands a vCPU
            # its topology (realize refuses one).
            if machine.config.cpu_model is not None:
                raise CoreError(M.CPU_APIC_ID_UNSET)
            return []
        notes: list[Any] = list(plan_cpus(machine))
        config = machine.config
        state = cxl_state(machine)
        if machine.release.cxl_fmw_devices and state is not None:
            from memdevd.machine.cxl import create_window_devices

            create_window_devices(machine, state)
        # pc_init1 / pc_q35_init: the EPC sections, the vCPUs, then pc_memory_init.
        sgx_epc_size = 0
        if config.board_options.get("sgx-epc"):
            # Imported only for a machine with EPC sections (start-up time).
            from memdevd.targets.x86_64.devices.sgx_epc import init_sgx_epc

            sgx_epc_size = init_sgx_epc(machine).size
        try:
            self._init_cpus_and_memory(machine, notes, sgx_epc_size)
        except CoreError:
            # (the warnings of the vCPUs' realize come before the error)
            machine.startup_notes.extend(notes)
            raise
        return notes

    def _init_cpus_and_memory(self, machine: Machine, notes: list[Any], sgx_epc_size: int) -> None:
        from memdevd.targets.x86_64.cpus import create_cpus
        from memdevd.targets.x86_64.layout import compute_layout

        config = machine.config
        compat = machine.compat
        create_cpus(machine, notes)
        machine.board_devices_base = machine.unattached_counter
        if self.is_pc:
            _create_vga(machine)
        layout = compute_layout(
            self,
            config.ram_size,
            config.maxram_size,
            config.ram_slots,
            max_ram_below_4g=config.board_options.get("max-ram-below-4g", 0),
            cpu=_first_vcpu(machine),
            device_memory_only_with_maxmem=machine.release.device_memory_only_with_maxmem,
            sgx_epc_size=sgx_epc_size,
            # pc_i440fx_2_0/2_1_machine_options (QEMU 7.2's oldest pc types).
            has_reserved_memory=compat.get("pc-machine.has-reserved-memory", True),
            enforce_amd_1tb_hole=compat.get("pc-machine.enforce-amd-1tb-hole", True),
            broken_32bit_mem_addr_check=compat.get("pc-machine.broken-32bit-mem-addr-check", False),
            broken_reserved_end=compat.get("pc-machine.broken-reserved-end", False),
            enforce_aligned_dimm=compat.get("pc-machine.enforce-aligned-dimm", True),
            machine_type=config.machine_type,
            pci_hole64_size=self.pci_hole64_size(machine),
            cxl=cxl_state(machine),
        )
        if layout.has_device_memory:
            machine.set_device_memory(layout.device_memory_base, layout.device_memory_size)
        state = cxl_state(machine)
        if state is not None and state.host_reg_base is not None:
            _map_cxl_regions(machine, state)

    def finish_board(self, machine: Machine) -> None:
        from memdevd.machine.qom import MemoryRegionObject

        if self.is_pc:
            from memdevd.targets.x86_64.storage import create_board_storage

            create_board_storage(machine)

        if machine.config.nvdimm and self.is_pc:
            # nvdimm_init_acpi_state(): the 4-byte DSM I/O port at 0x0a18.
            machine.machine_obj.add_child(
                "nvdimm-acpi-io[0]", MemoryRegionObject(4, "/machine/unattached/io[0]", 0x0A18)
            )

    def machine_done(self, machine: Machine) -> None:
        """``pc_machine_done``: the CXL host bridges and windows' targets."""
        if not self.is_pc:
            return
        state = cxl_state(machine)
        if state is None and not any(d.is_a("pxb-cxl") for d in machine.devices()):
            return  # (nothing of CXL: its checks pass; the module stays unloaded)
        from memdevd.machine import cxl

        cxl.machine_done(machine, state or cxl.CXLState())

    # -- objects ----------------------------------------------------------------------

    def object_type(self, machine: Machine, qom_type: str) -> type[QOMObject] | None:
        """``memory-backend-epc``, which backends/hostmem-epc.c registers only
        when /dev/sgx_vepc could be opened at start-up (``-memdevd sgx=on``)."""
        if qom_type == "memory-backend-epc" and machine.host.sgx:
            from memdevd.targets.x86_64.devices.sgx_epc import EpcBackend

            return EpcBackend
        return None

    # -- hot-plug and buses -----------------------------------------------------------

    def hotplug_handler(self, machine: Machine, dev: Device) -> Any:
        """``pc_get_hotplug_handler``: which handler owns this device."""
        if dev.is_a("pc-dimm"):
            from memdevd.targets.x86_64.hotplug import DimmHotplug

            return DimmHotplug(machine)
        return super().hotplug_handler(machine, dev)

    def buses(self, machine: Machine) -> list[Bus]:
        buses = super().buses(machine)
        if self.is_pc:
            buses.append(ISA_BUS)
        return buses

    def root_pci_functions(self, machine: Machine) -> Iterable[PCIFunction]:
        yield from BOARD_PCI_FUNCTIONS.get(self.family, ())
        if self.family == "pc" and machine.config.acpi:
            yield PIIX4_PM
        if self.is_pc and machine.config.board_options.get("usb"):
            from memdevd.targets.x86_64.storage import usb_functions

            yield from usb_functions(machine)
        vga = machine.board_state.get("vga")
        if isinstance(vga, PCIFunction):
            yield vga

    def bus_path(self, machine: Machine, bus: Bus) -> str | None:
        if bus is ISA_BUS:
            # A child of the south bridge, a board device under /machine/unattached
            # (PIIX3 comes after the i440fx host bridge, ICH9-LPC first).
            index = machine.board_devices_base + (1 if self.family == "pc" else 0)
            return f"/machine/unattached/device[{index}]/isa.0"
        if bus.owner is None:
            host = "i440fx" if self.family == "pc" else "q35"
            return f"/machine/{host}/{bus.name}"
        return None


def _create_vga(machine: Machine) -> None:
    """``pc_vga_init`` -> ``pci_vga_init``: the -vga device (the default
    std without -nodefaults) on the root bus's first free slot, a console."""
    display = machine.display
    display.vga_created = True
    typename = display.pci_vga_device()
    if typename is None:
        return
    board = machine.config.board
    taken = {fn.devfn for fn in board.root_pci_functions(machine)}
    devfn = next(d for d in range(0, 256, 8) if d not in taken)
    machine.board_state["vga"] = PCIFunction(devfn, typename)
    display.add_console(None)


PC = X86Board(
    "pc",
    root_bus="pci.0",
    root_bus_type="PCI",
    root_bus_hotpluggable=True,
    acpi_device="PIIX4_PM",
    pci_hole64_default=I440FX_PCI_HOST_HOLE64_SIZE_DEFAULT,
    compat=PC_COMPAT,
)
Q35 = X86Board(
    "q35",
    root_bus="pcie.0",
    root_bus_type="PCIE",
    root_bus_hotpluggable=False,
    acpi_device="ICH9-LPC",
    pci_hole64_default=Q35_PCI_HOST_HOLE64_SIZE_DEFAULT,
    compat=COMPAT,
)
#: ``-machine none`` of qemu-system-x86_64.
NONE = X86Board("none")

BOARDS: Mapping[str, X86Board] = {"pc": PC, "q35": Q35, "none": NONE}


# --- /machine's x86 properties --------------------------------------------------------


def _machine(obj: QOMObject) -> Machine:
    machine: Machine = obj.machine  # type: ignore[attr-defined]
    return machine


def _device_memory_size(machine: Machine) -> int:
    return machine.device_memory.size if machine.device_memory else 0


def _set_acpi(obj: QOMObject, v: Any, name: str) -> None:
    """``x86_machine_set_acpi``."""
    config = _machine(obj).config
    config.acpi_setting = v.type_enum(name, ("auto", "on", "off"))
    config.acpi = config.acpi_setting != "off"


def _set_max_ram_below_4g(obj: QOMObject, v: Any, name: str) -> None:
    """``pc_machine_set_max_ram_below_4g``: takes effect only at board init."""
    value = v.type_size(name)
    if value > 4 << 30:
        raise CoreError(M.MAX_RAM_BELOW_4G_TOO_BIG.format(value))
    _machine(obj).config.board_options["max-ram-below-4g"] = value


def _map_cxl_regions(machine: Machine, state: Any) -> None:
    """``pc_memory_init``: the regions the machine owns, ``cxl_host_reg``
    and one ``cxl-fixed-memory-region`` per window, in system memory."""
    from memdevd.machine.cxl import CXL_HOST_REG_SIZE
    from memdevd.machine.qom import MemoryRegionObject

    system = "/machine/unattached/system[0]"
    obj = machine.machine_obj
    obj.add_child(
        "cxl_host_reg[0]", MemoryRegionObject(CXL_HOST_REG_SIZE, system, state.host_reg_base)
    )
    for i, window in enumerate(state.fixed_windows):
        region = MemoryRegionObject(window.size, system, window.base)
        if window.device is not None:
            # 11.1: the window's cxl-fmw device owns it.
            window.device.add_child("cxl-fixed-memory-region[0]", region)
        else:
            obj.add_child(f"cxl-fixed-memory-region[{i}]", region)


def cxl_state(machine: Machine) -> Any:
    """The CXLState -machine cxl=/cxl-fmw.* set, None if neither was given."""
    return machine.config.board_options.get("cxl")


def _get_cxl(obj: QOMObject) -> bool:
    """``machine_get_cxl``."""
    state = cxl_state(_machine(obj))
    return bool(state is not None and state.is_enabled)


def _set_cxl(obj: QOMObject, v: Any, name: str) -> None:
    """``machine_set_cxl``: takes effect only at board init."""
    from memdevd.machine.cxl import state_of

    state_of(_machine(obj).config.board_options).is_enabled = v.type_bool(name)


def _get_cfmw(obj: QOMObject) -> Any:
    """``machine_get_cfmw``."""
    from memdevd.machine.cxl import cfmw_list_value

    state = cxl_state(_machine(obj))
    return cfmw_list_value(state.cfmw_list if state is not None else [])


def _set_cfmw(obj: QOMObject, v: Any, name: str) -> None:
    """``machine_set_cfmw``: the windows are checked; placed only at board init."""
    from memdevd.machine.cxl import set_cfmw, state_of, visit_cfmw_list

    machine = _machine(obj)
    windows = visit_cfmw_list(v, name)
    set_cfmw(state_of(machine.config.board_options), windows, machine.release)


def _get_sgx_epc(obj: QOMObject) -> Any:
    """``machine_get_sgx_epc``."""
    from memdevd.targets.x86_64.devices.sgx_epc import sgx_epc_list_value

    return sgx_epc_list_value(_machine(obj).config.board_options.get("sgx-epc", []))


def _set_sgx_epc(obj: QOMObject, v: Any, name: str) -> None:
    """``machine_set_sgx_epc``: replaces the list; sections already made stay."""
    from memdevd.targets.x86_64.devices.sgx_epc import visit_sgx_epc_list

    _machine(obj).config.board_options["sgx-epc"] = visit_sgx_epc_list(v, name)


def _first_vcpu(machine: Machine) -> CpuFacts:
    """What ``pc_memory_init`` reads of ``first_cpu``."""
    from memdevd.targets.x86_64.layout import CpuFacts

    if not machine.cpus:
        return CpuFacts(phys_bits=machine.host.phys_bits)
    vcpu = machine.cpus[0].vcpu
    return CpuFacts(
        phys_bits=vcpu.phys_bits,
        is_amd=vcpu.is_amd,
        long_mode=vcpu.long_mode,
        max_used_gpa_by_long_mode=machine.release.max_used_gpa_by_long_mode,
    )
