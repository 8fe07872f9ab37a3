"""The board seam: what a target's machine family gives the core.

QEMU's ``MachineClass`` and its board init (``machine_run_board_init``),
for what memdevd models: the memory layout, the vCPUs and their CPU models,
the machine hotplug handler, the buses and board devices, the compat
properties of versioned machine types, ``/machine``'s own properties and
the device types only the target has.  The core (``memdevd/machine``)
calls a :class:`Board` and never imports a target; a target
(``memdevd/targets/<target>/``) subclasses it for each of its machine
families.

The base class is QEMU's null machine (hw/core/null-machine.c,
``-machine none``), which every target has: no RAM of its own, no bus but
the system bus, no NUMA, no CPU hot-plug, no vCPU topology.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from memdevd.releases.machine_compat import CompatTable, compat_props, machine_version

if TYPE_CHECKING:
    from memdevd.machine.buses import Bus, PCIFunction
    from memdevd.machine.machine import Machine
    from memdevd.machine.qdev import Device
    from memdevd.machine.qom import Prop, QOMObject
    from memdevd.machine.smp import CpuSlot, SmpSupport
    from memdevd.releases.table import Release


class Board:
    """A machine family as the target-independent core sees it."""

    #: memdevd/targets/<target>: whose recordings answer for the machine
    target: str = ""
    #: the family recorded samples are chosen by ("none", "pc", "q35"...)
    family: str = "none"
    #: the root bus devices go on without ``bus=`` ("": none)
    root_bus: str = ""
    root_bus_type: str = ""
    root_bus_hotpluggable: bool = False
    #: ``MachineClass.default_ram_id`` ("": the board makes no RAM)
    default_ram_id: str = ""
    #: the NIC model ``-nic``/``-net nic`` get without ``model=`` ("": the
    #: board makes no NICs)
    default_nic_model: str = ""
    #: whether ``-numa`` is accepted (``MachineClass.cpu_index_to_instance_props``)
    numa: bool = False
    #: ``MachineClass.numa_mem_supported``: ``-numa node,mem=`` (legacy)
    numa_mem_supported: bool = False
    #: ``auto_enable_numa_with_memhp`` / ``_with_memdev``: node 0 is made
    #: when memory slots / ``maxmem`` above the RAM size are given
    auto_enable_numa_with_memhp: bool = False
    auto_enable_numa_with_memdev: bool = False
    #: ``MachineClass.nvdimm_supported``: the ``nvdimm`` and
    #: ``nvdimm-persistence`` properties
    nvdimm_supported: bool = False
    #: whether the machine has ACPI (the ``acpi`` property can turn it off)
    acpi: bool = False
    #: whether CPUs can be hot-plugged (query-hotpluggable-cpus answers)
    cpu_hotplug: bool = False
    #: PCIe slots use native hot-plug (no ACPI PCI hot-plug: arm virt)
    pcie_native_hotplug: bool = False
    #: ``kvm_available()``: the target's binary was built with KVM (an x86
    #: host's qemu-system-aarch64 is not)
    kvm_compiled: bool = True
    #: VIRTIO_MEM_HAS_LEGACY_GUESTS (virtio-mem.c: x86 targets only): the
    #: virtio-mem ``unplugged-inaccessible`` property exists; elsewhere it
    #: does not and unplugged memory is always inaccessible
    virtio_mem_legacy_guests: bool = True
    #: what versioned machine types keep of their release
    compat: CompatTable = MappingProxyType({})
    #: ``MachineClass.no_serial`` / ``no_parallel``: no default serial or
    #: parallel port without -nodefaults (the ``none`` machine)
    no_serial: bool = False
    no_parallel: bool = False
    #: ``MachineClass.block_default_type``: a -drive's interface without ``if=``
    block_default_type: str = "none"
    #: ``MachineClass.units_per_default_bus``: overrides if_max_devs[] of
    #: the default interface (q35: one IDE unit per AHCI port); 0: none
    units_per_default_bus: int = 0
    #: pc_system_flash_create: the ``pflash0``/``pflash1`` system flash
    system_flash: bool = False
    #: QMP commands the target's binary has only as QEMU's stubs (11.1 has
    #: every target's commands): name -> the stub's error text
    stub_commands: Mapping[str, str] = MappingProxyType({})
    #: device types only this target has: driver -> (module, class name)
    device_types: Mapping[str, tuple[str, str]] = MappingProxyType({})

    def __deepcopy__(self, memo: dict[int, Any]) -> Board:
        # Boards are constants: a snapshot or a reset shares them.
        return self

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.target} {self.family}>"

    # -- machine types ------------------------------------------------------------------

    def compat_props(self, machine_type: str) -> dict[str, Any]:
        """The compat properties of ``machine_type`` ("driver.property" -> value)."""
        return compat_props(self.compat, machine_version(machine_type))

    def machine_type_chain(self, machine_type: str) -> tuple[str, ...]:
        """``/machine``'s QOM type and its ancestors."""
        return (f"{machine_type}-machine", "machine", "object")

    def machine_props(self, machine: Machine) -> list[Prop]:
        """``/machine``'s properties that memdevd models, in QEMU's order."""
        from memdevd.machine.machine import generic_machine_props

        return list(generic_machine_props(machine).values())

    # -- vCPUs ----------------------------------------------------------------------------

    def smp_support(self, release: Release, machine_type: str) -> SmpSupport:
        """``MachineClass.smp_props``: the optional topology levels."""
        from memdevd.machine.smp import SmpSupport

        return SmpSupport()

    def cpu_type(self, model: str) -> str:
        """The QOM type of a vCPU of ``model``."""
        return model

    def cpu_model_exists(self, release: Release, model: str) -> bool:
        """``cpu_class_by_name``: whether the target has the CPU model."""
        return False

    def cpu_model_expansion(
        self,
        release: Release,
        kind: str,
        model: str,
        props: dict[str, Any] | None,
        machine_type: str = "",
        cpu_option: str = "",
    ) -> Any | None:
        """``query-cpu-model-expansion`` under TCG of a model the target has
        (on ``machine_type``, with ``-cpu``'s text), or None where the target
        cannot answer it.  Raises CoreError."""
        return None

    def cpu_model_as_recorded(
        self, release: Release, machine_type: str, model: str, cpu_option: str = ""
    ) -> bool:
        """Whether ``model`` on ``machine_type`` with ``-cpu``'s text is the
        model the recording describes (no compat property of the machine
        type or option touches it)."""
        return True

    def cpu_definitions(
        self, machine: Machine, recorded: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """``query-cpu-definitions`` on the machine's type, from the
        recorded answer (the release's latest type's)."""
        return recorded

    def default_cpu_node(self, slot: CpuSlot, nodes: int) -> int:
        """``MachineClass.get_default_cpu_node_id``."""
        return 0

    def possible_cpus(self, machine: Machine) -> list[CpuSlot]:
        """``MachineClass.possible_cpu_arch_ids``: every CPU up to maxcpus."""
        return []

    # -- board init -----------------------------------------------------------------------

    def init_board(self, machine: Machine) -> list[Any]:
        """Build the board after the NUMA configuration is complete: the
        vCPUs, the memory layout (``machine.layout``) and whatever the board
        creates before its RAM.  Returns what QEMU prints (warnings)."""
        return []

    def finish_board(self, machine: Machine) -> None:
        """What the board creates after its RAM and device memory."""

    def after_board_nics(self, machine: Machine) -> None:
        """What the board makes after the NICs of ``-nic``/``-net nic``
        (arm virt makes them in the middle of its init, in create_pcie)."""

    def machine_done(self, machine: Machine) -> None:
        """``machine_init_done`` notifiers: checks once the command line's
        devices exist (QEMU exits on their errors)."""

    def msi_supported(self, machine: Machine) -> bool:
        """``msi_nonbroken``: whether the interrupt controller takes MSIs
        (arm virt: only with a GICv2m or an ITS)."""
        return True

    def has_acpi_device(self, machine: Machine) -> bool:
        """Whether an ACPI device (``TYPE_ACPI_DEVICE_IF``) exists, which
        ``query-acpi-ospm-status`` asks (arm virt: the acpi-ged)."""
        return True

    # -- objects ----------------------------------------------------------------------

    def object_type(self, machine: Machine, qom_type: str) -> type[QOMObject] | None:
        """A user-creatable object type only this target has (None: no such type)."""
        return None

    # -- hot-plug and buses -----------------------------------------------------------

    def hotplug_handler(self, machine: Machine, dev: Device) -> Any:
        """``MachineClass.get_hotplug_handler``: the machine's own handler for
        ``dev``, else the device's (vCPUs), else None."""
        handler = getattr(dev, "hotplug_handler", None)
        return handler(machine) if handler is not None else None

    def buses(self, machine: Machine) -> list[Bus]:
        """The board's buses (the root bus first; the system bus is the core's)."""
        from memdevd.machine.buses import Bus

        if not self.root_bus:
            return []
        return [Bus(self.root_bus, self.root_bus_type, self.root_bus_hotpluggable)]

    def root_pci_functions(self, machine: Machine) -> Iterable[PCIFunction]:
        """The board's own functions on its root PCI bus (host bridge, LPC...)."""
        return ()

    def bus_path(self, machine: Machine, bus: Bus) -> str | None:
        """The QOM path of one of the board's buses (None: not the board's)."""
        return None


#: ``-machine none`` of a target without anything of its own.
NULL_BOARD = Board()
