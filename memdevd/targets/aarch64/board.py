"""The arm ``virt`` board through the board seam (hw/arm/virt.c).

What ``virt`` gives a machine that the core models generically: the compat
properties of the versioned types (``virt_machine_X_Y_options``), the
``-machine`` properties that change the memory map (``highmem``,
``compact-highmem``, ``highmem-redists``/``-ecam``/``-mmio``,
``highmem-mmio-size``, ``gic-version``, ``ras``, ``mte``), board init
(``machvirt_init``: the memory map of ``layout.py`` laid out for the first
vCPU's physical address range, the vCPUs, the ACPI GED), the machine
hotplug handler for DIMMs (``virt_memory_pre_plug``: only through the
acpi-ged, which exists with firmware and ACPI on virt-4.2 and later types),
and the root bus ``pcie.0`` of the generic PCIe host (no hot-plug on it:
memory devices go on a root port).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from memdevd import messages as M
from memdevd.machine import dimm_hotplug
from memdevd.machine.board import Board
from memdevd.machine.buses import Bus, PCIFunction
from memdevd.machine.errors import CoreError
from memdevd.machine.qom import Prop, QOMObject
from memdevd.machine.smp import SmpSupport
from memdevd.releases.machine_compat import CompatTable

if TYPE_CHECKING:
    from memdevd.machine.devices.pc_dimm import PCDIMM
    from memdevd.machine.machine import Machine, MachineConfig
    from memdevd.machine.qdev import Device
    from memdevd.machine.smp import CpuSlot
    from memdevd.releases.table import Release
    from memdevd.targets.aarch64.layout import VirtLayout

TARGET = "aarch64"

#: What memdevd models of virt_machine_X_Y_options and hw_compat_X_Y.
COMPAT: CompatTable = {
    # hw_compat_9_2: no MSI-X vectors (query-pci's BAR 1).
    (9, 2): {"virtio-mem-pci.vectors": 0},
    (7, 2): {"virtio-mem.x-early-migration": False},  # hw_compat_7_2
    # virt_machine_7_1_options: vmc->no_highmem_compact
    (7, 1): {"virt.no-highmem-compact": True},
    # virt_machine_6_1_options: smp_props.prefer_sockets, vmc->no_tcg_its
    (6, 1): {"machine.smp-prefer-sockets": True, "virt.no-tcg-its": True},
    # virt_machine_5_0_options: -numa node,mem= allowed, no node 0 for maxmem
    (5, 0): {
        "machine.numa-mem-supported": True,
        "machine.auto-enable-numa-with-memdev": False,
    },
    # virt_machine_4_1_options: vmc->no_ged (no acpi-ged: no memory hotplug),
    # no node 0 for memory slots
    (4, 1): {"virt.no-ged": True, "machine.auto-enable-numa-with-memhp": False},
    # virt_machine_2_12_options: vmc->no_highmem_ecam, mc->max_cpus = 255
    (2, 12): {"virt.no-highmem-ecam": True, "virt.max-cpus": 255},
}

#: The -machine properties of virt this board models.
BOARD_OPTIONS = frozenset(
    {
        "highmem",
        "compact-highmem",
        "highmem-redists",
        "highmem-ecam",
        "highmem-mmio",
        "highmem-mmio-size",
        "gic-version",
        "ras",
        "mte",
        "its",
        "virtualization",
        "pflash0",
        "pflash1",
    }
)
#: virt_flash_create1's aliases of the flash devices' "drive"
_FLASH_OPTIONS = frozenset({"pflash0", "pflash1"})
_BOOL_OPTIONS = BOARD_OPTIONS - {"gic-version", "highmem-mmio-size"} - _FLASH_OPTIONS
#: the ones a release may lack (Release.virt_highmem_options)
_HIGHMEM_SWITCHES = frozenset(
    {"compact-highmem", "highmem-redists", "highmem-ecam", "highmem-mmio", "highmem-mmio-size"}
)
#: virt_set_gic_version's values
_GIC_VERSIONS = ("4", "3", "2", "host", "max")

#: x86's commands qemu-system-aarch64 11.1 has as stubs (the target's
#: recording decides whether the binary has them at all).
STUB_COMMANDS: Mapping[str, str] = MappingProxyType(
    {
        "query-sgx": M.SGX_NOT_COMPILED,
        "query-sgx-capabilities": M.SGX_NOT_COMPILED,
        "query-sev-capabilities": M.SEV_NOT_AVAILABLE,
        "query-hv-balloon-status-report": M.HV_BALLOON_NOT_BUILT,
    }
)

#: base_memmap[VIRT_NVDIMM_ACPI]: the NVDIMM DSM window (NVDIMM_ACPI_IO_LEN)
NVDIMM_ACPI_BASE = 0x09090000
NVDIMM_ACPI_IO_LEN = 4

#: The generic PCIe host's root function (gpex-root) on pcie.0.
GPEX_ROOT = PCIFunction(0x00, "gpex-root")


class VirtBoard(Board):
    """The ``virt`` machine family of qemu-system-aarch64."""

    target = TARGET
    family = "virt"
    root_bus = "pcie.0"
    root_bus_type = "PCIE"
    root_bus_hotpluggable = False
    default_ram_id = "mach-virt.ram"
    default_nic_model = "virtio-net-pci"
    numa = True
    auto_enable_numa_with_memhp = True
    auto_enable_numa_with_memdev = True
    nvdimm_supported = True
    acpi = True
    cpu_hotplug = False
    # no ACPI PCI hot-plug: root ports use native PCIe hot-plug
    pcie_native_hotplug = True
    # an x86 host's qemu-system-aarch64 has no KVM
    kvm_compiled = False
    compat = COMPAT
    block_default_type = "virtio"
    stub_commands = STUB_COMMANDS
    default_display = None
    virtio_mem_legacy_guests = False

    def machine_type_chain(self, machine_type: str) -> tuple[str, ...]:
        return (f"{machine_type}-machine", "virt-machine", "machine", "object")

    # -- vCPUs ----------------------------------------------------------------------------

    def machine_props(self, machine: Machine) -> list[Prop]:
        """The generic ones, ``acpi`` and virt's own as its getters read
        them (``machine_props.py``), where the release's /machine has them."""
        from memdevd.machine.machine import generic_machine_props
        from memdevd.targets.aarch64.machine_props import virt_props

        sample = machine.machine_obj.recorded_sample()
        recorded = {p["name"] for p in sample["qom-list"]} if sample else set()
        props = list(generic_machine_props(machine).values())
        props.append(Prop("acpi", "OnOffAuto", _get_acpi, _set_acpi))
        return props + virt_props(machine, recorded)

    def smp_support(self, release: Release, machine_type: str) -> SmpSupport:
        compat = self.compat_props(machine_type)
        prefer_sockets = bool(compat.get("machine.smp-prefer-sockets", False))
        return SmpSupport(clusters=True, prefer_sockets=prefer_sockets)

    def cpu_type(self, model: str) -> str:
        from memdevd.targets.aarch64.cpus import cpu_type

        return cpu_type(model)

    def cpu_model_exists(self, release: Release, model: str) -> bool:
        from memdevd.targets.aarch64.cpus import cpu_model_exists

        return cpu_model_exists(release, model)

    def default_cpu_node(self, slot: CpuSlot, nodes: int) -> int:
        """``virt_get_default_cpu_node_id``: the socket modulo the nodes."""
        return int(slot.props["socket-id"]) % nodes

    def possible_cpus(self, machine: Machine) -> list[CpuSlot]:
        from memdevd.targets.aarch64.cpus import possible_cpus

        # virt_cpu_mp_affinity runs before finalize_gic_version: only an
        # explicit gic-version=2 gives clusters of 8.
        gic = 2 if machine.config.board_options.get("gic-version") == "2" else 3
        return possible_cpus(machine.config.smp, gic)

    # -- board init -----------------------------------------------------------------------

    def init_board(self, machine: Machine) -> list[Any]:
        """``machvirt_init``: the CPU type, the memory map for the first vCPU's
        address range, the vCPUs, and whether the acpi-ged exists."""
        from memdevd.machine.numa import finish_cpus
        from memdevd.machine.numa import possible_cpus as numa_possible_cpus
        from memdevd.targets.aarch64.cpus import check_valid_cpu, create_cpus, pamax
        from memdevd.targets.aarch64.layout import compute_layout

        config = machine.config
        release = machine.release
        model = config.cpu_model
        assert model is not None
        check_valid_cpu(release, model)
        numa_possible_cpus(machine)
        notes: list[Any] = list(finish_cpus(machine, self.default_cpu_node))
        options = config.board_options
        compat = machine.compat
        pa_bits, aarch64 = pamax(model)
        enabled = {
            "highmem-redists": options.get("highmem-redists", True),
            "highmem-ecam": options.get(
                "highmem-ecam", not compat.get("virt.no-highmem-ecam", False)
            ),
            "highmem-mmio": options.get("highmem-mmio", True),
        }
        compact = "compact-highmem" in release.virt_highmem_options and options.get(
            "compact-highmem", not compat.get("virt.no-highmem-compact", False)
        )
        layout = compute_layout(
            config.ram_size,
            config.maxram_size,
            config.ram_slots,
            pa_bits,
            highmem=options.get("highmem", True),
            enabled=enabled,
            compact=compact,
            high_mmio_size=options.get("highmem-mmio-size", 512 << 30),
            addressing_limited_text=release.virt_addressing_limited_text,
        )
        machine.board_state["layout"] = layout
        machine.board_state["compact-highmem"] = bool(
            options.get("compact-highmem", not compat.get("virt.no-highmem-compact", False))
        )
        machine.board_state["aarch64"] = aarch64
        gic = gic_version(machine)
        if release.virt_its_needs_gicv3 and gic == 2 and options.get("its"):
            raise CoreError(M.VIRT_GICV2_ITS_INVALID)
        machine.board_state["gic-version"] = gic
        machine.board_state["msi-device"] = msi_device(machine, gic)
        _check_max_cpus(machine, layout, gic)
        if layout.device_memory_size > 0:
            machine.set_device_memory(layout.device_memory_base, layout.device_memory_size)
        create_cpus(machine)
        # virt_cpu_post_init (TCG): the map must fit the vCPU's range.
        if aarch64 and options.get("highmem", True) and not machine.kvm_enabled:
            from memdevd.targets.aarch64.layout import requested_pa_size

            requested = requested_pa_size(layout)
            if pa_bits < requested:
                raise CoreError(M.VIRT_VCPU_PA_BITS.format(pa_bits, requested))
        # machvirt_init: has_ged && aarch64 && firmware_loaded && acpi
        from memdevd.targets.aarch64.flash import firmware_init

        firmware_loaded = firmware_init(machine)
        machine.board_state["firmware-loaded"] = firmware_loaded
        machine.board_state["acpi-ged"] = (
            not compat.get("virt.no-ged", False)
            and aarch64
            and firmware_loaded
            and config.acpi_setting != "off"
        )
        from memdevd.targets.aarch64.board_devices import (
            add_devices,
            early_types,
            uart_chardevs,
        )

        uarts = len(uart_chardevs(machine))
        add_devices(machine, early_types(gic, machine.board_state["msi-device"], uarts))
        return notes

    def after_board_nics(self, machine: Machine) -> None:
        """machvirt_init after create_pcie: the GED or GPIO devices, the
        virtio-mmio transports, the platform bus."""
        from memdevd.targets.aarch64.board_devices import add_devices, late_types

        add_devices(machine, late_types(bool(machine.board_state.get("acpi-ged"))))

    def finish_board(self, machine: Machine) -> None:
        """machvirt_init: nvdimm=on maps the NVDIMM DSM window
        (``nvdimm_init_acpi_state``) in system memory, the machine its owner,
        whether or not the acpi-ged exists."""
        from memdevd.machine.qom import MemoryRegionObject

        if machine.config.nvdimm:
            machine.machine_obj.add_child(
                "nvdimm-acpi-io[0]",
                MemoryRegionObject(
                    NVDIMM_ACPI_IO_LEN, "/machine/unattached/system[0]", NVDIMM_ACPI_BASE
                ),
            )

    def msi_supported(self, machine: Machine) -> bool:
        if not machine.release.virt_msi_needs_controller:
            return True
        return machine.board_state.get("msi-device") is not None

    def has_acpi_device(self, machine: Machine) -> bool:
        return bool(machine.board_state.get("acpi-ged"))

    # -- hot-plug and buses -----------------------------------------------------------

    def hotplug_handler(self, machine: Machine, dev: Device) -> Any:
        """``virt_machine_get_hotplug_handler``: DIMMs are the machine's."""
        if dev.is_a("pc-dimm"):
            return VirtDimmHotplug(machine)
        return super().hotplug_handler(machine, dev)

    def buses(self, machine: Machine) -> list[Bus]:
        return super().buses(machine)

    def root_pci_functions(self, machine: Machine) -> Iterable[PCIFunction]:
        yield GPEX_ROOT

    def bus_path(self, machine: Machine, bus: Bus) -> str | None:
        if bus.owner is None:
            # machvirt_init's board devices after the vCPUs: the GIC, its MSI
            # controller, pl011, pl031, then the gpex-pcihost.
            msi = machine.board_state.get("msi-device")
            index = len(machine.cpus) + 1 + (1 if msi else 0) + 2
            return f"/machine/unattached/device[{index}]/{bus.name}"
        return None


class VirtDimmHotplug(dimm_hotplug.DimmHotplug):
    """``virt_memory_pre_plug`` / ``virt_dimm_unplug_request``: only through
    the acpi-ged, never with MTE; an nvdimm needs ``nvdimm=on``."""

    def _check_ged(self) -> None:
        if not self.machine.board_state.get("acpi-ged"):
            raise CoreError(M.VIRT_MEMHP_NO_GED)

    def check_plug(self, dimm: PCDIMM) -> None:
        m = self.machine
        self._check_ged()
        if m.config.board_options.get("mte"):
            raise CoreError(M.VIRT_MEMHP_MTE)
        if dimm.is_a("nvdimm") and not m.config.nvdimm:
            raise CoreError(M.VIRT_NVDIMM_NOT_ENABLED)

    def check_unplug_request(self, dimm: PCDIMM) -> None:
        self._check_ged()
        super().check_unplug_request(dimm)


def _get_acpi(obj: QOMObject) -> str:
    machine: Machine = obj.machine  # type: ignore[attr-defined]
    return machine.config.acpi_setting


def _set_acpi(obj: QOMObject, v: Any, name: str) -> None:
    """``virt_set_acpi``: read at board init only."""
    machine: Machine = obj.machine  # type: ignore[attr-defined]
    machine.config.acpi_setting = v.type_enum(name, ("auto", "on", "off"))


def gic_version(machine: Machine) -> int:
    """``finalize_gic_version`` under TCG (GICv2 and v3 emulated, v4 with
    ``virtualization=on``): unset is 2 up to 8 vCPUs, else 3; max is the
    highest.  Raises CoreError with QEMU's texts."""
    options = machine.config.board_options
    value = options.get("gic-version")
    v4 = bool(options.get("virtualization"))
    if value == "host":
        raise CoreError(M.VIRT_GIC_HOST_NEEDS_KVM)
    if value == "max":
        return 4 if v4 else 3
    if value == "4" and not v4:
        raise CoreError(machine.release.virt_gic_v4_text.format("tcg"))
    if value in ("2", "3", "4"):
        return int(value)
    if machine.release.virt_gic_default_by_cpus and machine.config.smp.max_cpus > GIC_NCPU:
        return 3
    return 2


#: GIC_NCPU; GICV3_REDIST_SIZE, GICV4_REDIST_SIZE; base_memmap[VIRT_GIC_REDIST]
GIC_NCPU = 8
REDIST_SIZES = {3: 0x20000, 4: 0x40000}
GIC_REDIST_SIZE = 0x00F60000


def _check_max_cpus(machine: Machine, layout: VirtLayout, gic: int) -> None:
    """machvirt_init: as many vCPUs as the GIC (v2) or the redistributor
    regions (v3, v4) take; 8.0+ counts the high region only when enabled
    and hints at highmem-redists."""
    legacy = "highmem-redists" not in machine.release.virt_highmem_options
    high = layout.region("highmem-redists")
    if gic == 2:
        limit = GIC_NCPU
    else:
        size = REDIST_SIZES[gic]
        limit = GIC_REDIST_SIZE // size
        if legacy or high.enabled:
            limit += high.size // size
    max_cpus = machine.config.smp.max_cpus
    if max_cpus > limit:
        hint = ""
        if gic != 2 and not high.enabled and not legacy:
            hint = M.VIRT_TRY_HIGHMEM_REDISTS
        raise CoreError(M.VIRT_TOO_MANY_CPUS.format(max_cpus, limit), hint=hint)
    cpus = machine.config.smp.cpus
    if gic != 2 and legacy and not high.enabled and cpus > GIC_REDIST_SIZE // REDIST_SIZES[gic]:
        # (the GIC's realize: only the low region's redistributors exist)
        low = GIC_REDIST_SIZE // REDIST_SIZES[gic]
        raise CoreError(M.GICV3_REDIST_CAPACITY.format(low, cpus))


def msi_device(machine: Machine, gic: int) -> str | None:
    """The MSI controller create_gic() makes after the GIC: gicv2m with
    GICv2; an ITS with GICv3/v4 when ``its`` is on (under TCG only on
    virt-6.2 and later types, ``no_tcg_its``)."""
    if gic == 2:
        return "arm-gicv2m"
    its = machine.config.board_options.get("its", True)
    if its and not machine.compat.get("virt.no-tcg-its", False):
        return "arm-gicv3-its"
    return None


def apply_option(config: MachineConfig, key: str, value: Any, release: Release) -> bool:
    """A virt -machine property this board models (False: not one)."""
    from memdevd.util.qemu_opts import parse_bool, parse_size

    if key not in BOARD_OPTIONS:
        return False
    if key in _HIGHMEM_SWITCHES and key not in release.virt_highmem_options:
        raise CoreError(M.PROPERTY_NOT_FOUND.format(f"{config.machine_type}-machine", key))
    if key in _BOOL_OPTIONS:
        config.board_options[key] = parse_bool(str(value), name=key)
    elif key in _FLASH_OPTIONS:
        config.board_options[key] = str(value)
    elif key == "gic-version":
        text = str(value)
        if text not in _GIC_VERSIONS:
            raise CoreError(M.VIRT_GIC_VERSION_INVALID, hint=M.VIRT_GIC_VERSION_HINT)
        config.board_options[key] = text
    else:
        size = parse_size(str(value), name=key)
        if size & (size - 1) or not size:
            raise CoreError(M.VIRT_HIGHMEM_MMIO_SIZE_NOT_POW2)
        if size < 512 << 30:
            raise CoreError(M.VIRT_HIGHMEM_MMIO_SIZE_TOO_LOW.format("512 GiB"))
        config.board_options[key] = size
    return True


VIRT = VirtBoard()
#: ``-machine none`` of qemu-system-aarch64.
NONE = Board()
NONE.target = TARGET
NONE.kvm_compiled = False
NONE.stub_commands = STUB_COMMANDS
NONE.virtio_mem_legacy_guests = False
NONE.no_serial = NONE.no_parallel = True  # null-machine.c

BOARDS: Mapping[str, Board] = {"virt": VIRT, "none": NONE}
