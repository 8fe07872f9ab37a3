"""The emulated machine: QOM tree, backends, devices, run state, events.

:class:`Machine` is what QEMU's ``MachineState`` plus the generic code
around it (``qdev-monitor.c``, ``object_interfaces.c``, ``pc.c``'s hotplug
handler) do for memory: ``object-add``/``object-del`` of backends,
``device_add``/``device_del`` with QEMU's order of checks, the memory
device queries and the run state.  Every mutating entry point checks first
and mutates last; the only side effect a failed ``device_add`` keeps is
QEMU's own: the anonymous ``device[N]`` counter.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import field
from typing import TYPE_CHECKING, Any

from memdevd import messages as M
from memdevd.machine.backends import BACKEND_TYPES, FileBackend, HostMemoryBackend, RamBackend
from memdevd.machine.board import NULL_BOARD, Board
from memdevd.machine.clock import Clock, RealClock
from memdevd.machine.devices import device_class
from memdevd.machine.errors import CoreError, not_found
from memdevd.machine.event_throttle import EventThrottle
from memdevd.machine.guest import Guest, GuestConfig
from memdevd.machine.host import HostFacts
from memdevd.machine.memory_device import DeviceMemoryState, MemoryDeviceCore
from memdevd.machine.memslots import MemslotLimits
from memdevd.machine.qdev import Device
from memdevd.machine.qom import Container, MemoryRegionObject, Prop, QOMObject, resolve_path
from memdevd.machine.smp import CpuSlot, SmpConfig
from memdevd.records import record
from memdevd.releases.recorded import InstanceSample, recording
from memdevd.releases.table import Release
from memdevd.util.cutils import id_wellformed

#: 11.1's monitor object types (machine/monitors.py; Release.qom_monitor_objects).
_MONITOR_TYPES = ("monitor-qmp", "monitor-hmp")

if TYPE_CHECKING:
    from memdevd.machine.block.graph import BlockLayer
    from memdevd.machine.display import DisplayState
    from memdevd.machine.globals import GlobalProps
    from memdevd.machine.net.clients import NetLayer
    from memdevd.machine.net.io import IoWatcher

EventSink = Callable[[str, "dict[str, Any] | None", int], None]


@record
class NumaNode:
    """A declared node (QEMU's ``NodeInfo``)."""

    nodeid: int
    mem: int = 0
    memdev: HostMemoryBackend | None = None
    #: with HMAT: the node whose CPUs access it (128, MAX_NODES: none)
    initiator: int = 128
    #: with HMAT: CPUs were mapped to it
    has_cpu: bool = False
    #: -numa dist: destination node -> distance (completed at start-up)
    distance: dict[int, int] = field(default_factory=dict)
    #: -numa hmat-lb: bit 0 latency, bit 1 bandwidth given for it as a target
    lb_info_provided: int = 0


@record
class NumaState:
    nodes: dict[int, NumaNode] = field(default_factory=dict)
    have_memdevs: bool = False
    have_mem: bool = False
    have_numa_distance: bool = False
    #: -numa hmat-lb: (hierarchy, data-type) -> HmatLB
    hmat_lb: dict[tuple[str, str], Any] = field(default_factory=dict)
    #: -numa hmat-cache: (node-id, level) -> the options given
    hmat_cache: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    #: the node -numa node is declaring (its CPUs are mapped before it exists)
    pending: NumaNode | None = None

    @property
    def num_nodes(self) -> int:
        return len(self.nodes)

    def node_info(self, nodeid: int) -> NumaNode | None:
        """``numa_info[nodeid]`` for what CPU mapping reads and sets."""
        if self.pending is not None and self.pending.nodeid == nodeid:
            return self.pending
        return self.nodes.get(nodeid)


@record
class MachineConfig:
    """Everything the command line decides about the machine."""

    machine_type: str = "none"
    alias: str = "none"
    # The machine family, from the target (memdevd/targets/<target>/).
    board: Board = NULL_BOARD
    ram_size: int = 128 * 1024 * 1024
    maxram_size: int = 128 * 1024 * 1024
    ram_slots: int = 0
    nvdimm: bool = False
    #: -machine hmat=on (boards with NUMA)
    hmat: bool = False
    #: -machine nvdimm-persistence= (cpu or mem-ctrl; None: unset, reads "")
    nvdimm_persistence: str | None = None
    acpi: bool = True
    # The "acpi" machine property as set (OnOffAuto); acpi is its meaning.
    acpi_setting: str = "auto"
    mem_merge: bool = True
    dump_guest_core: bool = True
    # The "graphics" machine property (-nographic sets it off).
    graphics: bool = True
    smp_cpus: int = 1
    # The whole -smp topology (smp_cpus is its cpus) and the vCPUs' model,
    # as the target resolved it from -cpu or its board's default (None: no
    # vCPU, as on the none machine without -cpu).
    smp: SmpConfig = field(default_factory=SmpConfig)
    cpu_model: str | None = None
    # -cpu as given (the model and its options), None without -cpu.
    cpu_option: str | None = None
    name: str | None = None
    # qemu_uuid (-uuid, -smbios type=1,uuid=); None: all zeros
    uuid: str | None = None
    start_paused: bool = False
    # The accelerator in use: "tcg" or "kvm" (only on a host with KVM).
    accel: str = "tcg"
    # TCG runs every vCPU on one thread (round-robin, "ALL CPUs/TCG"), not
    # one each: icount disables MTTCG (accel/tcg/tcg-all.c default_mttcg_enabled).
    tcg_single_thread: bool = False
    # kvm-accel's kernel-irqchip (-machine kernel-irqchip=): on, off or split.
    kernel_irqchip: str = "on"
    # The board's own -machine options, by property name (x86: max-ram-below-4g,
    # sgx-epc); the board reads them.
    board_options: dict[str, Any] = field(default_factory=dict)
    # -machine memory-backend=: the backend (id or path) that is the RAM.
    ram_memdev: str | None = None
    # -mem-path: the default RAM backend is a memory-backend-file on it
    # (create_default_memdev).
    mem_path: str | None = None
    # -machine confidential-guest-support= or memory-encryption= (key, value):
    # a link resolved once the early objects exist.
    cgs_option: tuple[str, str] | None = None
    # whether -m gave the RAM size (else a memory-backend's size is taken)
    ram_size_given: bool = True
    # KVM slots used by boot memory and ROMs, see machine/memslots.py.
    kvm_base_memslots: int = 8
    vhost_base_memslots: int = 2
    guest: GuestConfig = field(default_factory=GuestConfig)


class MachineObject(QOMObject):
    """``/machine``: the board's QOM object."""

    def __init__(self, machine: Machine) -> None:
        super().__init__(f"{machine.config.machine_type}-machine")
        self.machine = machine
        chain = machine.config.board.machine_type_chain(machine.config.machine_type)
        self.type_chain = chain  # type: ignore[misc]

    def properties(self) -> list[Prop]:
        props = super().properties()
        drop = set()
        if "nvdimm-acpi-io[0]" not in self.children:
            # nvdimm_init_acpi_state() creates this region only with nvdimm=on.
            drop.add("nvdimm-acpi-io[0]")
        if "device-memory[0]" not in self.children:
            # The recorded machine had device memory; this one may not.
            drop.add("device-memory[0]")
        return [p for p in props if p.name not in drop]

    def unattached_device(self, name: str) -> Any:
        """A link to a board device at /machine/unattached/device[N].

        What the board creates first (x86: the SGX EPC sections, the vCPUs,
        the first one's kvmvapic, KVM's kvmclock) comes before the board
        devices; the recorded machines had one vCPU and its kvmvapic before
        them (device[0..1]).
        """
        sample = self.recorded_sample()
        value = sample["qom-get"].get(name, "") if sample else ""
        # 10.0 links to a child of the device (".../device[3]/pm").
        found = re.fullmatch(r"/machine/unattached/device\[(\d+)\](.*)", str(value))
        if found:
            index = int(found.group(1)) + self.machine.board_devices_base - 2
            # Devices the board inserted (-drive if=ide units, -usb's
            # controllers, floppy drives) move those it creates after them.
            index += sum(
                count for after, count in self.machine.board_inserted if count and index > after
            )
            return f"/machine/unattached/device[{index}]{found.group(2)}"
        return value

    def recorded_sample(self) -> InstanceSample | None:
        """QEMU's /machine of this type; for a type that was not recorded, the
        recorded release's type of the family."""
        m = self.machine
        return m.recording.machine_sample(self.typename, m.config.board.family)

    def class_props(self) -> list[Prop]:
        return self.machine.config.board.machine_props(self.machine)


def generic_machine_props(m: Machine) -> dict[str, Prop]:
    """The properties of QEMU's generic machine class (hw/core/machine.c)
    that memdevd models, for a board to list in its order."""
    return {
        "nvdimm": Prop("nvdimm", "bool", lambda o: m.config.nvdimm, _set_machine_nvdimm),
        "memory": Prop("memory", "MemorySizeConfiguration", lambda o: _machine_memory(m), None),
        "memory-backend": Prop(
            "memory-backend", "link<memory-backend>", lambda o: _machine_ram_path(m), None
        ),
        "graphics": Prop("graphics", "bool", lambda o: m.config.graphics, _set_machine_graphics),
        "dump-guest-core": Prop(
            "dump-guest-core", "bool", lambda o: m.config.dump_guest_core, _set_machine_flag
        ),
        "mem-merge": Prop("mem-merge", "bool", lambda o: m.config.mem_merge, _set_machine_flag),
        "hmat": Prop("hmat", "bool", lambda o: m.config.hmat, _set_machine_hmat),
        "nvdimm-persistence": Prop(
            "nvdimm-persistence",
            "string",
            lambda o: m.config.nvdimm_persistence or "",
            _set_machine_nvdimm_persistence,
        ),
    }


def _set_machine_flag(obj: QOMObject, v: Any, name: str) -> None:
    """``machine_set_dump_guest_core``/``machine_set_mem_merge``: plain
    flags (they matter when RAM is allocated)."""
    setattr(_machine_of(obj).config, name.replace("-", "_"), v.type_bool(name))


def _machine_of(obj: QOMObject) -> Machine:
    assert isinstance(obj, MachineObject)
    return obj.machine


def _set_machine_nvdimm(obj: QOMObject, v: Any, name: str) -> None:
    """``machine_set_nvdimm``: settable at any time, as in QEMU."""
    _machine_of(obj).config.nvdimm = v.type_bool(name)


def set_nvdimm_persistence(config: MachineConfig, value: str) -> None:
    """``machine_set_nvdimm_persistence``: cpu or mem-ctrl (the NFIT's
    platform capabilities; nothing else reads it)."""
    if value not in ("cpu", "mem-ctrl"):
        raise CoreError(M.NVDIMM_PERSISTENCE_UNSUPPORTED.format(value))
    config.nvdimm_persistence = value


def _set_machine_nvdimm_persistence(obj: QOMObject, v: Any, name: str) -> None:
    set_nvdimm_persistence(_machine_of(obj).config, v.type_str(name))


def _set_machine_hmat(obj: QOMObject, v: Any, name: str) -> None:
    """``machine_set_hmat``: a plain flag, settable at any time."""
    _machine_of(obj).config.hmat = v.type_bool(name)


def _set_machine_graphics(obj: QOMObject, v: Any, name: str) -> None:
    """``machine_set_graphics``: a plain flag, settable at any time."""
    _machine_of(obj).config.graphics = v.type_bool(name)


def _machine_ram_path(m: Machine) -> str:
    """``memory-backend``: the RAM backend, none when NUMA memdevs make RAM."""
    if m.ram_memdev is not None:
        return m.ram_memdev.canonical_path()
    ram_id = m.config.board.default_ram_id
    ram = m.objects.children.get(ram_id) if ram_id else None
    return ram.canonical_path() if ram is not None else ""


def _machine_memory(m: Machine) -> dict[str, Any]:
    """``machine_get_mem``: MemorySizeConfiguration (max-size/slots with slots)."""
    out: dict[str, Any] = {"size": m.config.ram_size}
    if m.config.ram_slots:
        out["max-size"] = m.config.maxram_size
        out["slots"] = m.config.ram_slots
    return out


@record
class AcpiSlot:
    """``MemStatus`` of hw/acpi/memory_hotplug.c: one DIMM slot's ACPI state."""

    dimm: Device | None = None
    is_enabled: bool = False
    is_inserting: bool = False
    is_removing: bool = False
    ost_event: int = 0
    ost_status: int = 0


class Machine:
    """One emulated QEMU machine."""

    def __init__(
        self,
        config: MachineConfig,
        release: Release,
        host: HostFacts | None = None,
        clock: Clock | None = None,
        emit: EventSink | None = None,
    ) -> None:
        self.config = config
        self.release = release
        # The machine type's compat properties ("driver.property" -> value):
        # what a versioned type keeps of its release (hw_compat_X_Y...).
        self.compat = config.board.compat_props(config.machine_type)
        # What QEMU of this target and release answers where memdevd models nothing.
        self.recording = recording(config.board.target, release)
        self.host = host or HostFacts()
        self.clock = clock or RealClock()
        self._emit = emit
        self.runstate = "prelaunch" if config.start_paused else "running"
        self.nvdimm_at_init = config.nvdimm
        # 10.0 CPR: memfds saved by backend name, (file size, page size).
        self.cpr_fds: dict[str, tuple[int, int]] = {}
        # kvm_enabled(): KVM is the accelerator (the host must have it).
        self.kvm_enabled = config.accel == "kvm" and self.host.kvm
        self.machine_ready = False
        self.anon_counter = 0
        # fw_boot_order: bootindex -> the device that holds it (bootdevice.c).
        self.boot_order: dict[int, Device] = {}
        # serial_isa_realizefn's static index counter.
        self.isa_serial_index = 0
        self.numa = NumaState()

        # vl.c serial_hds: each -serial's chardev label (None: "none"), for
        # the board's UARTs (arm virt's pl011 takes serial_hd(0)).
        self.serial_hds: list[str | None] = []
        # What the board keeps of its own (x86: the SGX EPC sections).
        self.board_state: dict[str, Any] = {}
        # qdev.c's unattached_count: /machine/unattached/device[N].
        self.unattached_counter = 0
        # The vCPUs and the possible CPUs (the board sets them in init_board()).
        self.cpus: list[Any] = []
        self.cpu_slots: list[CpuSlot] = []
        # The board's first own device[N] (x86: i440FX / mch) once the vCPUs exist.
        self.board_devices_base = 2
        # What QEMU prints while building the board (warnings).
        self.startup_notes: list[str] = []
        self.device_memory: DeviceMemoryState | None = None
        self.memslot_limits = MemslotLimits(
            kvm_slots=(self.host.kvm_memslots or 32764) if self.kvm_enabled else None,
            vhost_slots=self.host.vhost_memslots,
            kvm_base=config.kvm_base_memslots,
            vhost_base=config.vhost_base_memslots,
        )
        self.memory = MemoryDeviceCore(
            release,
            config.ram_size,
            config.maxram_size,
            None,
            self.memslot_limits,
            self.memory_devices,
        )
        # The block graph, made when first used (start-up time).
        self._block: BlockLayer | None = None
        # -machine memory-backend=: the RAM's backend once resolved.
        self.ram_memdev: HostMemoryBackend | None = None
        # The network (netdevs, hubs, NICs' peers) and the descriptors its
        # backends wait on, made when first used.
        self._net: NetLayer | None = None
        self._io: IoWatcher | None = None
        # The event loop that drives the watcher (the daemon's), if any.
        self._io_loop: Any = None
        # The displays (VNC, SPICE, consoles, audiodevs), made when first used.
        self._display: DisplayState | None = None

        # QOM tree: / -> machine, objects, chardevs (10.0: and backend).
        # The root's children in QEMU's creation order, which decides their
        # places in the root's hash table (they collide): 7.2 creates the
        # machine, then -qmp's chardev's container, then /objects on demand;
        # 10.0 object_root_initialize()'s three before the machine.
        self.machine_obj = MachineObject(self)
        self.objects = Container()
        # /audiodevs: the audio backends as QOM objects (11.1), else None.
        self.audiodevs: Container | None = None
        from memdevd.machine.chardev.container import ChardevContainer

        self.chardevs = ChardevContainer()
        # -fsdev's exports (machine/fsdev.py FsDev) by id, for 9p devices
        self.fsdevs: dict[str, Any] = {}
        roots: dict[str, Any] = {
            "machine": self.machine_obj,
            "objects": self.objects,
            "chardevs": self.chardevs,
        }
        order = ["machine", "chardevs", "objects"]
        if release.qom_backend_container:
            roots["backend"] = Container()
            order = ["chardevs", "objects", "backend", "machine"]
        if release.qom_audiodevs_container:
            # 11.1: object_root_initialize() makes it after "backend".
            roots["audiodevs"] = self.audiodevs = Container()
            order.insert(order.index("machine"), "audiodevs")
        self.root = Container()
        # Partial paths (every memdev link value) look names up in an index
        # instead of walking the tree, which grows with every DIMM.
        self.root.enable_name_index()
        for name in order:
            self.root.add_child(name, roots[name])
        self.peripheral = Container()
        self.peripheral_anon = Container()
        self.unattached = Container()
        self.machine_obj.add_child("unattached", self.unattached)
        self.machine_obj.add_child("peripheral", self.peripheral)
        self.machine_obj.add_child("peripheral-anon", self.peripheral_anon)
        self.unattached.add_child("system[0]", MemoryRegionObject((1 << 64) - 1))
        # Devices in creation order (QOM walk order stand-in).
        self._devices: list[Device] = []
        # Slot -> realized pc-dimms (and nvdimms) in it: the slots
        # pc_dimm_get_free_slot finds taken, without walking every device;
        # every slot below dimm_slot_floor is taken.
        self.dimm_slots_used: dict[int, int] = {}
        self.dimm_slot_floor = 0
        self.event_throttle = EventThrottle(self.clock, self._send_event)
        # BusClass automatic_ids counters (e.g. "pcie.N"), per bus type.
        self.bus_automatic_ids: dict[str, int] = {}
        # The buses of the board's own controllers (pc's IDE...), oldest first.
        self.board_qbuses: list[Any] = []
        # /machine/unattached indexes after which the board inserted devices
        # (-drive if=ide units, -usb's controllers, floppies), and how many.
        self.board_inserted: list[tuple[int, int]] = []
        # -drive if=ide|scsi|floppy (machine/qbus.py LegacyDrive), for the board.
        self.legacy_drives: list[Any] = []
        # ui/input.c: the handlers (index, device, mouse name or None,
        # absolute) and the next index; the board registers its own.
        self.input_handlers: list[tuple[int, Any, str | None, bool]] = []
        self.input_counter = 0
        self.acpi_slots = [AcpiSlot() for _ in range(config.ram_slots)]
        self.guest = Guest(self, config.guest)
        # Set by the daemon: a guest-initiated shutdown (reason, guest=True).
        self.shutdown_hook: Callable[[str], None] | None = None
        # Set by the daemon: a warning QEMU prints on stderr after start-up
        # (warn_report() in a QMP command: no program name).
        self.warn_hook: Callable[[str], None] | None = None
        # -global (machine/globals.py), None without any.
        self.global_props: GlobalProps | None = None
        # -mem-prealloc (qemu_process_sugar_options): memory-backend
        # properties every backend gets when it is made, as strings.
        self.backend_sugar: dict[str, str] = {}
        # QEMU 10.0's -object backends at start-up: preallocated together once
        # the late backends exist (None: at once, as object-add and 7.2).
        self.prealloc_pending: list[HostMemoryBackend] | None = None
        # -action / set-action / watchdog-set-action: the run-state actions set.
        self.run_actions: dict[str, str] = {}

    # -- events -------------------------------------------------------------------

    def set_event_sink(self, emit: EventSink | None) -> None:
        self._emit = emit

    def detach_hooks(self) -> tuple[Any, ...]:
        """Take the daemon's hooks off (snapshots copy the machine without them)."""
        hooks = (self._emit, self.shutdown_hook, self.warn_hook, self._io_loop)
        self._emit = None
        self.shutdown_hook = None
        self.warn_hook = None
        self._io_loop = None
        return hooks

    def attach_hooks(self, hooks: tuple[Any, ...]) -> None:
        self._emit, self.shutdown_hook, self.warn_hook, self._io_loop = hooks

    def emit(self, name: str, data: dict[str, Any] | None = None) -> None:
        """Raise a QMP event now; the monitor's throttle may hold it."""
        self.event_throttle.emit(name, data, time.time_ns() // 1000)

    def _send_event(self, name: str, data: dict[str, Any] | None, timestamp_us: int) -> None:
        if self._emit is not None:
            self._emit(name, data, timestamp_us)

    # -- start-up -------------------------------------------------------------------

    def init_board(self) -> None:
        """``machine_run_board_init`` for memory: NUMA, the board, its RAM.

        Once -object backends exist (as in QEMU).  Raises CoreError with
        QEMU's start-up texts (QEMU exits on them).
        """
        from memdevd.machine.numa import complete_numa

        config = self.config
        board = config.board
        self._check_machine_ram()
        complete_numa(self)
        # The vCPUs, the memory layout and what the board makes before its RAM.
        self.startup_notes.extend(board.init_board(self))
        self.memory.device_memory = self.device_memory
        if self.device_memory is not None and self.device_memory.size:
            region = MemoryRegionObject(
                self.device_memory.size, "/machine/unattached/system[0]", self.device_memory.base
            )
            self.machine_obj.add_child("device-memory[0]", region)
        if board.default_ram_id:
            self.create_machine_ram()
        board.finish_board(self)

    def set_device_memory(self, base: int, size: int) -> None:
        """The board's device-memory region (``machine->device_memory``)."""
        self.device_memory = DeviceMemoryState(base, size)

    def resolve_machine_memdev(self) -> None:
        """``qemu_resolve_machine_memdev``: the backend ``-machine
        memory-backend=`` names; its size is the RAM size unless ``-m`` gave one."""
        name = self.config.ram_memdev
        if name is None:
            return
        obj, _ = resolve_path(self.root, name, "memory-backend")
        if not isinstance(obj, HostMemoryBackend):
            raise CoreError(M.MACHINE_MEMDEV_NOT_FOUND.format(name))
        if not self.config.ram_size_given:
            self.config.ram_size = obj.size
        self.ram_memdev = obj

    def _check_machine_ram(self) -> None:
        """``machine_run_board_init``: the backend must be the RAM's size;
        without one, nothing may take the default RAM backend's id."""
        config = self.config
        ram_id = config.board.default_ram_id
        if self.ram_memdev is not None:
            if self.ram_memdev.size != config.ram_size:
                raise CoreError(M.MACHINE_MEMDEV_SIZE_MISMATCH)
        elif ram_id and config.ram_size and not self.numa.have_memdevs:
            taken = ram_id in self.objects.children
            if taken:
                release = self.release
                raise CoreError(
                    release.default_ram_id_reserved_text.format(ram_id),
                    hint=release.default_ram_id_reserved_hint.format(ram_id),
                )

    def create_machine_ram(self) -> None:
        """The board's default RAM backend (``default_ram_id``, x86: ``pc.ram``)
        unless NUMA memdevs provide RAM or ``memory-backend=`` names one."""
        if self.ram_memdev is not None:
            # machine_consume_memdev()
            if self.ram_memdev.mapped:
                raise CoreError(M.MACHINE_MEMDEV_USED_TWICE.format(self.ram_memdev.id))
            self.ram_memdev.mapped = True
            self.ram_memdev.is_machine_ram = True
            return
        if any(node.memdev is not None for node in self.numa.nodes.values()):
            for node in self.numa.nodes.values():
                if node.memdev is not None:
                    node.memdev.mapped = True
            # numa_complete_configuration(): RAM is a container named after
            # default_ram_id, a child of /machine, holding the nodes' backends.
            ram_id = self.config.board.default_ram_id
            self.machine_obj.add_child(f"{ram_id}[0]", MemoryRegionObject(self.config.ram_size))
            return
        ram: RamBackend | FileBackend
        if self.config.mem_path is None:
            ram = RamBackend(self)
        else:
            ram = FileBackend(self)
            ram.mem_path = self.config.mem_path
            # create_default_memdev(): the RAM block is named pc.ram.
            ram.use_canonical_path = False
        ram.apply_sugar()
        ram.size = self.config.ram_size
        ram.is_machine_ram = True
        self.objects.add_child(self.config.board.default_ram_id, ram)
        ram.complete()
        ram.mapped = True

    def add_chardev(
        self,
        label: str,
        address: dict[str, Any],
        connected: Callable[[], bool],
        peer: Callable[[], tuple[str, int] | None] | None = None,
        listen: bool = True,
    ) -> None:
        """A ``chardev-socket`` under /chardevs for a QMP monitor's socket."""
        from memdevd.machine.qom import ChardevSocket

        if label and label not in self.chardevs.children:
            self.chardevs.add_child(label, ChardevSocket(address, connected, peer, listen))

    def add_backend_chardev(self, label: str, backend: dict[str, Any]) -> str:
        """A ``-chardev`` (its QAPI ChardevBackend): created before the
        machine's devices.  Returns the line QEMU prints for a pty, or "".
        """
        from memdevd.machine.chardev.ops import add_at_startup

        chardev = add_at_startup(self, label, backend)
        if chardev.kind == "pty":
            return M.CHARDEV_PTY_REDIRECTED.format(chardev.path, label)
        return ""

    def finish_init(self) -> None:
        """Machine creation is done: later device_add calls are hot-plugs."""
        self.machine_ready = True
        if self._net is not None:
            # monitor_cur() from now on: commands run from a monitor.
            self._net.monitor = True

    # -- QOM helpers ----------------------------------------------------------------

    def resolve_link(self, path: str, target_type: str, prop_name: str) -> QOMObject:
        """``object_resolve_link``: the texts QEMU gives for a bad link value."""
        target, ambiguous = resolve_path(self.root, path, target_type)
        if ambiguous:
            raise CoreError(M.PATH_NOT_UNIQUE.format(path))
        if target is None:
            other, ambiguous = resolve_path(self.root, path)
            if other is not None or ambiguous:
                raise CoreError(M.INVALID_PARAMETER_TYPE.format(prop_name, target_type))
            raise not_found(M.DEVICE_NOT_FOUND.format(path))
        return target

    def resolve(self, path: str) -> tuple[QOMObject | None, bool]:
        return resolve_path(self.root, path)

    DEVICE_MEMORY_PATH = "/machine/device-memory[0]"

    def map_region(self, region: MemoryRegionObject | None, addr: int) -> None:
        """A device region was added to the device-memory container at ``addr``."""
        if region is not None and self.device_memory is not None:
            region.map(self.DEVICE_MEMORY_PATH, addr - self.device_memory.base)

    # -- memory devices --------------------------------------------------------------

    def memory_devices(self) -> list[Any]:
        return [d for d in self._devices if d.is_a("memory-device")]

    def devices(self) -> list[Device]:
        return list(self._devices)

    def dimm_ram_size(self) -> int:
        """``device_memory->dimm_size``: the pc-dimms' RAM (not nvdimms)."""
        return self.device_memory.dimm_size if self.device_memory is not None else 0

    def backends(self) -> list[HostMemoryBackend]:
        return [o for o in self.objects.children.values() if isinstance(o, HostMemoryBackend)]

    def dimm_free_slot(self, hint: int | None) -> int:
        """``pc_dimm_get_free_slot``."""
        max_slots = self.config.ram_slots
        if max_slots <= 0:
            raise CoreError(M.DIMM_NO_SLOTS_ALLOCATED)
        used = self.dimm_slots_used
        if hint is not None:
            if hint >= max_slots:
                raise CoreError(M.DIMM_SLOT_TOO_BIG.format(hint, max_slots))
            if hint in used:
                raise CoreError(M.DIMM_SLOT_BUSY.format(hint))
            return hint
        # The lowest slot not taken (a slot is never negative).
        if self.dimm_slot_floor < max_slots:
            return self.dimm_slot_floor
        raise CoreError(M.DIMM_NO_FREE_SLOTS)

    # -- object-add / object-del ---------------------------------------------------------

    def object_add(
        self,
        qom_type: str,
        obj_id: str,
        props: dict[str, Any],
        *,
        keyval: bool = False,
        prop_order: Iterable[str] | None = None,
    ) -> QOMObject:
        """``user_creatable_add_type``: set properties, add child, complete."""
        if not id_wellformed(obj_id):
            raise CoreError(
                M.INVALID_PARAMETER_VALUE.format("id", "an identifier"),
                hint=M.ID_NOT_IDENTIFIER_HINT,
            )
        cls: Any = BACKEND_TYPES.get(qom_type)
        if qom_type == "secret":
            from memdevd.machine.secret import Secret

            cls = Secret
        if cls is None:
            cls = self.config.board.object_type(self, qom_type)
        if cls is None and self.release.qom_monitor_objects and qom_type in _MONITOR_TYPES:
            # 11.1's monitor-qmp, monitor-hmp.
            from memdevd.machine.monitors import MonitorObject

            obj: Any = MonitorObject(self, qom_type)
        elif cls is None:
            if qom_type not in self.recording.type_table:
                raise CoreError(M.OBJECT_TYPE_INVALID.format(qom_type))
            # Validated against the release's schema already: kept, inert.
            from memdevd.machine.objects import InertObject

            obj = InertObject(self, qom_type)
        else:
            obj = cls(self)
        if isinstance(obj, HostMemoryBackend):
            obj.apply_sugar()
        order = list(prop_order) if prop_order is not None else list(props)
        for name in order:
            value = props[name]
            obj.prop_set(name, value, keyval=keyval)
        self.objects.add_child(obj_id, obj)
        try:
            obj.complete()
        except CoreError:
            self.objects.remove_child(obj_id)
            raise
        created: QOMObject = obj
        return created

    def object_del(self, obj_id: str, *, current_monitor: str | None = None) -> None:
        """``user_creatable_del``; ``current_monitor``: the chardev of the
        QMP monitor the command came on (11.1 will not delete that one)."""
        obj = self.objects.children.get(obj_id)
        if obj is None:
            raise CoreError(M.OBJECT_NOT_FOUND.format(obj_id))
        check_delete = getattr(obj, "check_delete", None)
        if check_delete is not None:
            check_delete(current_monitor)
        if isinstance(obj, HostMemoryBackend) and not obj.can_be_deleted():
            raise CoreError(self.release.backend_mapped_delete_text.format(obj_id))
        if self._throttle_group_object(obj_id) and self.block.throttle_group_in_use(obj_id):
            raise CoreError(self.release.throttle_group_delete_text.format(obj_id))
        self.objects.remove_child(obj_id)
        # rng-egd's finalize: qemu_chr_fe_deinit().
        self.chardevs.release_owner(obj)
        if isinstance(obj, HostMemoryBackend):
            # qemu_ram_free() -> cpr_delete_fd(): the saved memfd goes too.
            self.cpr_fds.pop(obj.backend_name() if obj.name else obj_id, None)

    # -- device_add ---------------------------------------------------------------------

    def device_add(self, opts: dict[str, Any], *, from_json: bool) -> Device:
        """``qdev_device_add_from_qdict`` with the machine's hotplug handler.

        ``opts`` is the option dict (strings when ``from_json`` is false, as
        QemuOpts produce them); keys are visited in the order given.
        """
        driver = opts.get("driver")
        if not isinstance(driver, str):
            raise CoreError(M.MISSING_PARAMETER.format("driver"))
        cls = device_class(driver, self.config.board, self.recording)
        if cls is None or (cls.needs_profile_feature and not cls.available(self.release)):
            if cls is None and driver in self.recording.device_types:
                # QEMU has it (a disk, a NIC...): say so rather than pretend
                # it does not exist.
                raise CoreError(M.DEVICE_TYPE_NOT_EMULATED.format(driver))
            raise CoreError(M.NOT_A_DEVICE_MODEL.format(driver))
        if cls.abstract:
            raise CoreError(
                M.INVALID_PARAMETER_VALUE.format("driver", "a non-abstract device type")
            )
        hot = self.machine_ready
        legacy = not self.release.strict_device_add
        if not cls.user_creatable or (legacy and hot and not cls.hotpluggable):
            raise CoreError(M.INVALID_PARAMETER_VALUE.format("driver", "a pluggable device type"))

        bus_name = opts.get("bus")
        bus = None
        if isinstance(bus_name, str):
            bus = self.find_bus(bus_name)
            if cls.bus_type is None or not bus.is_a(cls.bus_type):
                raise CoreError(M.DEVICE_CANT_GO_ON_BUS.format(driver, bus.bus_typename))
        elif cls.bus_type is not None:
            bus = self.default_bus(cls.bus_type)
            if bus is None:
                raise CoreError(M.NO_BUS_FOUND.format(cls.bus_type, driver))
        if legacy and hot and bus is not None and not bus.hotpluggable:
            raise CoreError(M.BUS_NO_HOTPLUG.format(bus.name))

        dev = cls(self)
        if self.global_props is not None:
            # device_post_init(): the globals before the options' properties.
            self.global_props.apply(dev, hot)
        if hot:
            # qdev_hotplug_allowed(): the class first, then the bus.
            if not legacy and not cls.hotpluggable:
                raise CoreError(M.DEVICE_NO_HOTPLUG.format(dev.typename))
            if not legacy and bus is not None and not bus.hotpluggable:
                raise CoreError(M.BUS_NO_HOTPLUG.format(bus.name))
            if bus is None and not dev.is_a("memory-device"):
                raise CoreError(M.DEVICE_NOT_HOTPLUGGABLE_HERE.format(driver))

        dev_id = opts.get("id")
        if not isinstance(dev_id, str):
            dev_id = None
        self._set_id(dev, dev_id)
        try:
            for key in opts:
                if key in ("driver", "bus", "id"):
                    continue
                dev.prop_set(key, opts[key], keyval=not from_json)
            if bus is not None:
                dev.parent_bus = bus.name
                dev.parent_bus_owner = bus.owner
                if bus.qbus is not None:
                    # qdev_set_parent_bus(): the bus checks the address,
                    # then lists the device (child[N]).
                    bus.qbus.check_address(dev)
                    dev.parent_qbus = bus.qbus  # type: ignore[attr-defined]
                    bus.qbus.add_kid(dev)
            self._realize(dev, bus, hot)
        except CoreError:
            self._unparent(dev)
            raise
        return dev

    def _set_id(self, dev: Device, dev_id: str | None) -> None:
        """``qdev_set_id``: register under peripheral or peripheral-anon."""
        if dev_id is not None:
            if self.release.qdev_id_wellformed_check and not id_wellformed(dev_id):
                raise CoreError(M.INVALID_QDEV_ID.format(dev_id))
            if dev_id in self.peripheral.children:
                raise CoreError(M.DUPLICATE_DEVICE_ID.format(dev_id))
            self.peripheral.add_child(dev_id, dev)
            dev.id = dev_id
        else:
            name = f"device[{self.anon_counter}]"
            self.anon_counter += 1
            self.peripheral_anon.add_child(name, dev)

    def realize_unattached(self, dev: Device) -> None:
        """``qdev_realize(dev, NULL)`` of a board device: parent, then realize.

        A device without a parent goes to ``/machine/unattached/device[N]``;
        a failed realize gives the number back (qdev.c ``unattached_count``).
        """
        name = f"device[{self.unattached_counter}]"
        self.unattached_counter += 1
        self.unattached.add_child(name, dev)
        try:
            self._realize(dev, None, False)
        except CoreError:
            self._unparent(dev)
            self.unattached_counter -= 1
            raise

    def realize_board_device(self, dev: Device) -> None:
        """Realize a device the board parented itself (``legacy[N]`` of a bus)."""
        self._realize(dev, None, False)

    def _unparent(self, dev: Device) -> None:
        qbus = getattr(dev, "parent_qbus", None)
        if qbus is not None:
            qbus.remove_kid(dev)
        if dev.parent is not None and dev.name is not None:
            dev.parent.remove_child(dev.name)
        # release_chr(): the chardevs its properties hold are free again.
        self.chardevs.release_owner(dev)
        dev.finalize()

    def _realize(self, dev: Device, bus: Any, hot: bool) -> None:
        """``device_set_realized``: pre_plug, realize, plug (hotplug handler)."""
        plug = self.hotplug_handler(dev)
        addr = plug.pre_plug(dev) if plug is not None else None
        dev.realize()
        # Everything below cannot fail: mutate the machine now.
        if plug is not None:
            plug.commit(dev, addr)
        dev.hotplugged = hot
        dev.realized = True
        self._devices.append(dev)
        self._device_listed(dev)
        if plug is not None:
            plug.plug(dev)

    def _device_listed(self, dev: Device) -> None:
        """``dev`` (realized) joined ``_devices``: update what mirrors that list."""
        if dev.is_a("memory-device"):
            self.memory.device_realized(dev)  # type: ignore[arg-type]
        if dev.is_a("pc-dimm"):
            slot: int = dev.slot  # type: ignore[attr-defined]
            used = self.dimm_slots_used
            used[slot] = used.get(slot, 0) + 1
            while self.dimm_slot_floor in used:
                self.dimm_slot_floor += 1

    def _device_unlisted(self, dev: Device) -> None:
        """``dev`` left ``_devices`` (it was unrealized just before)."""
        if dev.is_a("memory-device"):
            self.memory.device_removed(dev)  # type: ignore[arg-type]
        if dev.is_a("pc-dimm"):
            slot: int = dev.slot  # type: ignore[attr-defined]
            left = self.dimm_slots_used[slot] - 1
            if left:
                self.dimm_slots_used[slot] = left
            else:
                del self.dimm_slots_used[slot]
                self.dimm_slot_floor = min(self.dimm_slot_floor, slot)

    def hotplug_handler(self, dev: Device) -> Any:
        return self.config.board.hotplug_handler(self, dev)

    # -- buses ---------------------------------------------------------------------------

    def add_usb_hub(self, qbus: Any) -> None:
        """``usb_claim_port``: a usb-hub chained on a bus's last free port,
        as a board device (``/machine/unattached/device[N]``)."""
        from memdevd.machine.devices import device_class

        cls = device_class("usb-hub", self.config.board, self.recording)
        if cls is None:
            return
        hub = cls(self)
        hub.parent_bus = qbus.bus_name
        hub.parent_qbus = qbus  # type: ignore[attr-defined]
        qbus.add_kid(hub)
        try:
            self.realize_unattached(hub)
        except CoreError:
            qbus.remove_kid(hub)

    # -- input devices (ui/input.c) -------------------------------------------------------

    def input_register(self, dev: Any, mouse: str | None, absolute: bool) -> int:
        """``qemu_input_handler_register``: every handler takes an index;
        the mice among them are what ``query-mice`` lists."""
        index = self.input_counter
        self.input_counter += 1
        self.input_handlers.append((index, dev, mouse, absolute))
        return index

    def input_unregister(self, dev: Any) -> None:
        self.input_handlers = [h for h in self.input_handlers if h[1] is not dev]

    def query_mice(self) -> list[dict[str, Any]]:
        """``qmp_query_mice``: the mice, the first registered is current,
        listed newest first."""
        mice: list[dict[str, Any]] = []
        current = True
        for index, _, name, absolute in self.input_handlers:
            if name is None:
                continue
            mice.insert(0, {"index": index, "name": name, "current": current, "absolute": absolute})
            current = False
        return mice

    def find_bus(self, name: str) -> Any:
        from memdevd.machine.buses import find_bus

        return find_bus(self, name)

    def default_bus(self, bus_type: str) -> Any:
        from memdevd.machine.buses import default_bus

        return default_bus(self, bus_type)

    # -- device_del ---------------------------------------------------------------------

    def find_device(self, dev_id: str) -> Device:
        """``find_device_state``: resolve relative to /machine/peripheral."""
        parts = dev_id.split("/")
        if dev_id.startswith("/"):
            obj: QOMObject | None = self.root
            parts = parts[1:]
        else:
            obj = self.peripheral
        for part in parts:
            if obj is None:
                break
            if not part:
                continue
            obj = obj.children.get(part) or obj.link_target(part)
        if obj is None:
            raise not_found(M.DEVICE_NOT_FOUND.format(dev_id))
        if not isinstance(obj, Device):
            text = self.release.not_a_device_text
            raise CoreError(text.format(dev_id))
        return obj

    def device_del(self, dev_id: str) -> None:
        dev = self.find_device(dev_id)
        if getattr(dev, "pending_deleted_event", False) and getattr(
            dev, "pending_deleted_expires_zero", False
        ):
            # qmp_device_del, before qdev_unplug: the id as the client gave it
            raise CoreError(M.DEVICE_UNPLUG_IN_PROGRESS.format(dev_id))
        from memdevd.machine.buses import bus_of

        bus = bus_of(self, dev)
        if self.release.device_del_checks_class_first and not type(dev).hotpluggable:
            # qdev_hotunplug_allowed(): the class, then the bus.
            raise CoreError(M.DEVICE_NO_HOTPLUG.format(dev.typename))
        if bus is not None and not bus.hotpluggable:
            raise CoreError(M.BUS_NO_HOTPLUG.format(bus.name))
        if not type(dev).hotpluggable:
            raise CoreError(M.DEVICE_NO_HOTPLUG.format(dev.typename))
        plug = self.hotplug_handler(dev)
        if plug is None:
            raise CoreError(M.DEVICE_NO_HOTPLUG.format(dev.typename))
        plug.unplug_request(dev)

    def remove_device(self, dev: Device) -> None:
        """Final removal after an unplug: unrealize, unparent, DEVICE_DELETED.

        The devices on the buses it owns go first, newest first
        (``bus_unparent``)."""
        for qbus in reversed(getattr(dev, "qbuses", ())):
            for child in qbus.devices():
                if child.realized:
                    self.remove_device(child)
        path = dev.canonical_path()
        plug = self.hotplug_handler(dev)
        if plug is not None:
            plug.unplug(dev)
        dev.unrealize()
        dev.realized = False
        if dev in self._devices:
            self._devices.remove(dev)
            self._device_unlisted(dev)
        self._unparent(dev)
        data: dict[str, Any] = {}
        if dev.id is not None:
            data["device"] = dev.id
        data["path"] = path
        self.emit("DEVICE_DELETED", data)

    # -- run state ---------------------------------------------------------------------

    def stop(self, runstate: str = "paused") -> None:
        """``vm_stop``: STOP only if the VM was running; the state changes anyway."""
        if self.runstate == "running":
            self.runstate = runstate
            self.emit("STOP")
            self.guest.on_stop()
        elif runstate != "paused":
            self.runstate = runstate

    def cont(self) -> None:
        if self.runstate in ("shutdown", "internal-error"):
            # runstate_needs_reset()
            raise CoreError(M.RESET_REQUIRED)
        if self.runstate in ("prelaunch", "paused", "suspended", "debug"):
            self.runstate = "running"
            self.emit("RESUME")
            self.guest_wakeup()

    @property
    def block(self) -> BlockLayer:
        """The block graph and backends (memdevd/machine/block)."""
        if self._block is None:
            from memdevd.machine.block.graph import BlockLayer

            self._block = BlockLayer()
            self._block.group_object = self._throttle_group_object
        return self._block

    def _throttle_group_object(self, name: str) -> bool:
        obj = self.objects.children.get(name)
        return getattr(obj, "typename", None) == "throttle-group"

    @property
    def net(self) -> NetLayer:
        """Net clients, hubs and NICs' peers (memdevd/machine/net)."""
        if self._net is None:
            from memdevd.machine.net.clients import NetLayer

            self._net = NetLayer(self.release, self.io, self.emit, self.clock, self.chardev_kind)
            self._net.monitor = self.machine_ready
        return self._net

    @property
    def has_net(self) -> bool:
        """Whether a net client was ever made (the layer exists)."""
        return self._net is not None

    @property
    def io(self) -> IoWatcher:
        """The descriptors the machine waits on; whoever runs the machine
        drives it (the daemon from its event loop, a test by polling)."""
        if self._io is None:
            from memdevd.machine.net.io import IoWatcher

            self._io = IoWatcher()
            self._io.target = self._io_ready
            if self._io_loop is not None:
                self._io.drive(self._io_loop)
        return self._io

    def drive_io(self, loop: Any) -> None:
        """The daemon's event loop watches the backends' descriptors from now
        on (those made before and after); None: nobody does."""
        self._io_loop = loop
        if self._io is not None:
            self._io.drive(loop)

    def _io_ready(self, fd: int, readable: bool) -> bool:
        # The live net layer (a restored snapshot's) owns the descriptor now.
        return self._net is not None and self._net.io_ready(fd, readable)

    def chardev_kind(self, label: str) -> str | None:
        """What a chardev is, for a backend that needs one: "socket-unix",
        "socket-tcp", its backend name ("pty", "null"), or None."""
        from memdevd.machine.qom import ChardevBackend, ChardevSocket

        chardev = self.chardevs.children.get(label)
        if isinstance(chardev, ChardevSocket):
            return "socket-unix" if chardev.address.get("type") == "unix" else "socket-tcp"
        if isinstance(chardev, ChardevBackend):
            return chardev.backend
        return None

    @property
    def display(self) -> DisplayState:
        """The displays, consoles and audiodevs (memdevd/machine/display.py)."""
        if self._display is None:
            from memdevd.machine.display import DisplayState

            self._display = DisplayState(self, self.release, self.recording)
        return self._display

    def attach_display(self, display: DisplayState) -> None:
        """The displays decided before the machine existed (start-up)."""
        display.attach(self)
        self._display = display

    def secret_utf8(self, secret_id: str) -> str:
        """``qcrypto_secret_lookup_as_utf8``: a secret object's data as text."""
        from memdevd.machine.secret import Secret

        obj = self.objects.children.get(secret_id)
        if obj is None:
            raise CoreError(M.SECRET_NOT_FOUND.format(secret_id))
        if not isinstance(obj, Secret):
            raise CoreError(M.SECRET_NOT_A_SECRET.format(secret_id))
        if obj.rawdata is None:
            raise CoreError(M.SECRET_HAS_NO_DATA.format(secret_id))
        try:
            if b"\0" in obj.rawdata:
                raise UnicodeDecodeError("utf-8", obj.rawdata, 0, 1, "NUL")
            return obj.rawdata.decode("utf-8")
        except UnicodeDecodeError:
            raise CoreError(M.SECRET_NOT_UTF8.format(secret_id)) from None

    def find_device_on_buses(self, dev_id: str) -> Device | None:
        """``qdev_find_recursive(sysbus_get_default(), id)``: a device with
        that id on any bus (a bus-less device such as a pc-dimm is not)."""
        for dev in self._devices:
            if dev.id == dev_id and dev.parent_bus is not None:
                return dev
        return None

    @property
    def running(self) -> bool:
        return self.runstate == "running"

    def guest_wakeup(self) -> None:
        """The guest may act again (resumed, or its behaviour changed).

        Devices waiting for the guest (a virtio-mem driver with work to do,
        a pending PCI eject) implement ``guest_wakeup``; nothing polls.
        """
        self.guest.on_resume()
        for dev in list(self._devices):
            hook = getattr(dev, "guest_wakeup", None)
            if hook is not None:
                hook()

    def guest_reconfigured(self) -> None:
        """The guest's behaviour changed: pending reactions start over with it."""
        self.guest.on_stop()
        for dev in list(self._devices):
            cancel = getattr(dev, "guest_cancel", None)
            if cancel is not None:
                cancel()
        self.guest_wakeup()

    def system_reset(self) -> None:
        """``qmp_system_reset``: RESET; devices keep their configuration."""
        if self.run_actions.get("reboot") == "shutdown":
            # qemu_system_reset_request(): the reboot action makes it a shutdown.
            if self.shutdown_hook is not None:
                self.shutdown_hook("host-qmp-system-reset")
            return
        self.emit("RESET", {"guest": False, "reason": "host-qmp-system-reset"})
        for dev in list(self._devices):
            reset = getattr(dev, "reset", None)
            if reset is not None:
                reset()
        if self.runstate not in ("running", "inmigrate", "finish-migrate"):
            # main_loop_should_exit(): a reset VM that is not running is
            # back to prelaunch.
            self.runstate = "prelaunch"

    def system_powerdown(self) -> None:
        """``qmp_system_powerdown``: an ACPI power button press."""
        self.emit("POWERDOWN")
        self.guest.power_button()

    # -- queries ------------------------------------------------------------------------

    def kvm_info(self) -> dict[str, bool]:
        """``qmp_query_kvm``: ``present`` is ``kvm_available()``, whether the
        binary was built with KVM (Debian's x86 one is), whatever the host has."""
        return {"enabled": self.kvm_enabled, "present": self.config.board.kvm_compiled}

    def memory_size_summary(self) -> dict[str, Any]:
        return {
            "base-memory": self.config.ram_size,
            "plugged-memory": self.memory.plugged_memory_size(),
        }

    def memdev_list(self) -> list[dict[str, Any]]:
        backends = self.backends()
        for node in self.numa.nodes.values():
            if node.memdev is not None and node.memdev not in backends:
                backends.append(node.memdev)
        return [b.memdev_info() for b in backends]

    def acpi_ospm_status(self) -> list[dict[str, Any]]:
        """``acpi_memory_ospm_status``: one entry per DIMM slot."""
        if not self.config.board.has_acpi_device(self):
            # qmp_query_acpi_ospm_status: no TYPE_ACPI_DEVICE_IF object.
            raise CoreError(M.ACPI_OSPM_NO_DEVICE)
        out: list[dict[str, Any]] = []
        for index, slot in enumerate(self.acpi_slots):
            info: dict[str, Any] = {}
            if slot.dimm is not None and slot.dimm.id is not None:
                info["device"] = slot.dimm.id
            info["slot"] = str(index)
            info["slot-type"] = "DIMM"
            info["source"] = slot.ost_event
            info["status"] = slot.ost_status
            out.append(info)
        return out

    # -- QOM commands --------------------------------------------------------------------

    def qom_get(self, path: str, prop: str) -> Any:
        obj, _ = resolve_path(self.root, path)
        if obj is None:
            raise not_found(M.DEVICE_NOT_FOUND.format(path))
        return obj.prop_get(prop)

    def qom_set(self, path: str, prop: str, value: Any) -> None:
        obj, _ = resolve_path(self.root, path)
        if obj is None:
            raise not_found(M.DEVICE_NOT_FOUND.format(path))
        obj.prop_set(prop, value)

    def qom_list(self, path: str) -> list[dict[str, str]]:
        obj, ambiguous = resolve_path(self.root, path)
        if obj is None:
            if ambiguous:
                raise CoreError(M.PATH_AMBIGUOUS.format(path))
            raise not_found(M.DEVICE_NOT_FOUND.format(path))
        return [{"name": p.name, "type": p.type} for p in obj.properties()]


__all__ = ["Machine", "MachineConfig", "NumaNode", "generic_machine_props"]
