"""sgx-epc (hw/i386/sgx-epc.c, hw/i386/sgx.c): SGX EPC sections of a pc/q35 machine.

An EPC section is not created with ``-device`` (``user_creatable`` is false,
device_add says ``Parameter 'driver' expects a pluggable device type``) but
by the board, from the machine property ``sgx-epc``
(``-machine sgx-epc.0.memdev=ID,sgx-epc.0.node=N``, both members
mandatory), each backed by a ``memory-backend-epc``.  That backend type only
exists on a host with ``/dev/sgx_vepc`` (memdevd: ``-memdevd sgx=on``);
without it ``-object memory-backend-epc`` is ``invalid object type``.

``pc_machine_init_sgx_epc`` runs in the board's init, after NUMA and before
the vCPUs and ``pc_memory_init``: the sections sit back to back from
``4 GiB + above_4g_mem_size`` (no rounding; the AMD 1 TiB relocation of the
high RAM, decided later, does not move them) and the device-memory region
starts at the next 1 GiB boundary after the last one (boards.py).  Each
section is a realized ``sgx-epc`` device parented at
``/machine/unattached/device[N]``, with no id and no hotplug handler.

:class:`SgxEPC` answers :class:`~memdevd.machine.memory_device.MemoryDeviceClass`
like QEMU's: address ``addr``, region = the backend's, plugged size 0.
QEMU never runs ``memory_device_pre_plug``/``memory_device_plug`` for it,
so memdevd's core does not either; the core still sees it wherever QEMU's
walks of the realized memory devices do: ``query-memory-devices`` (sorted
by address, so before device memory), ``query-memory-size-summary`` (adds
0), the allocator's walk (never overlapping device memory) and 7.2's
``used_region_size``, which sums every realized memory device: in 7.2 the
EPC sections count against ``maxmem - ram`` in ``not enough space``; 8.2
keeps a running counter updated by ``memory_device_plug`` only, so they do
not.  In 8.2+ the core's used-memslot count comes from the device-memory
listener and never sees the sections, although KVM and vhost map each one
into a memslot: they are added to the memslots used outside device memory.

``query-sgx`` and ``query-sgx-capabilities`` (:func:`query_sgx`,
:func:`query_sgx_capabilities`) follow sgx.c; the host capabilities an
emulated SGX host reports are fixed, plausible values (see
:data:`EMULATED_HOST_SGX`).
"""

from __future__ import annotations

from dataclasses import field
from typing import TYPE_CHECKING, Any, ClassVar, Final

from memdevd import messages as M
from memdevd.machine.backends import HostMemoryBackend
from memdevd.machine.errors import CoreError
from memdevd.machine.memory_device import MemoryDeviceMixin, MemoryRegion
from memdevd.machine.qdev import Device, link_prop, parse_uint32, parse_uint64, static_prop
from memdevd.machine.qom import MemoryRegionObject, Prop, QOMObject
from memdevd.qapi.visitor import InputVisitor, VisitError
from memdevd.records import record
from memdevd.targets.x86_64.layout import ram_split, sgx_epc_base

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine
    from memdevd.releases.recorded import InstanceSample
    from memdevd.releases.table import Release
    from memdevd.targets.x86_64.board import X86Board

UINT64_MASK: Final = (1 << 64) - 1

# The host an emulated ``-memdevd sgx=on`` describes, as host_cpuid() would
# report it: CPUID.(7,0):EBX[2] (sgx), ECX[30] (flc), CPUID.(12h,0):EAX[0..1]
# (sgx1, sgx2) and the EPC sections of CPUID.(12h,2+i).  The sections are
# those of the example in QEMU's qapi/misc-target.json (64 MiB + 28 MiB);
# "node" is the section's index, as sgx_calc_host_epc_sections() numbers it.
EMULATED_HOST_SGX: Final[dict[str, Any]] = {
    "sgx": True,
    "sgx1": True,
    "sgx2": True,
    "flc": True,
    "sections": ((0, 64 * 1024 * 1024), (1, 28 * 1024 * 1024)),
}


# --- what differs between the emulated releases (compat.Profile fields) -------------


def sgx_info_has_section_size(release: Release) -> bool:
    """``SGXInfo.section-size``: deprecated in 7.0, removed in 8.0."""
    return release.sgx_info_has_section_size


def sgx_capabilities_open_error(release: Release) -> str:
    """``qmp_query_sgx_capabilities`` without /dev/sgx_vepc.

    7.2 and 8.2 use ``qemu_open_old`` and their own text; 9.1 ("hw/i386/sgx:
    Get rid of qemu_open_old()") reports qemu_open's error, with "SGX is not
    enabled in KVM" only as a hint, which QMP does not send.
    """
    if release.sgx_legacy_open_error:
        return M.SGX_NOT_ENABLED_IN_KVM
    return M.SGX_VEPC_OPEN_FAILED


# --- the machine property ----------------------------------------------------------


@record(frozen=True)
class SgxEPCOption:
    """QAPI ``SgxEPC`` (qapi/machine.json): one ``sgx-epc.N`` entry."""

    memdev: str
    node: int


def visit_sgx_epc_list(v: InputVisitor, name: str) -> list[SgxEPCOption]:
    """``visit_type_SgxEPCList``: both members are mandatory."""
    v.start_list(name)
    out: list[SgxEPCOption] = []
    while v.has_next():
        v.start_struct(None)
        memdev = v.type_str("memdev")
        node = v.type_int64("node")
        v.check_struct()
        v.end_struct()
        out.append(SgxEPCOption(memdev, node))
    v.end_list()
    return out


def parse_sgx_epc_option(value: Any, *, keyval: bool = True) -> list[SgxEPCOption]:
    """``machine_set_sgx_epc`` for ``-machine sgx-epc.N.*`` (keyval) or qom-set (JSON).

    Raises CoreError with the visitor's text, e.g. ``Parameter
    'sgx-epc.0.node' is missing``.
    """
    v = InputVisitor({"sgx-epc": value}, keyval=keyval)
    try:
        v.start_struct(None)
        return visit_sgx_epc_list(v, "sgx-epc")
    except VisitError as exc:
        raise CoreError(exc.desc) from None


def sgx_epc_list_value(options: list[SgxEPCOption]) -> list[dict[str, Any]]:
    """``machine_get_sgx_epc``: the list as QOM reads it (SgxEPC member order)."""
    return [{"memdev": o.memdev, "node": o.node} for o in options]


# --- the device ------------------------------------------------------------------------


@record
class SgxEPCState:
    """``SGXEPCState`` (include/hw/i386/sgx-epc.h)."""

    base: int = 0
    size: int = 0
    sections: list[SgxEPC] = field(default_factory=list)
    # The "sgx-epc" container region mapped into system memory at ``base``.
    region: MemoryRegionObject | None = None


class SgxEPC(MemoryDeviceMixin, Device):
    """``TYPE_SGX_EPC``: one EPC section."""

    type_chain: ClassVar[tuple[str, ...]] = ("sgx-epc", "device", "object")
    interfaces: ClassVar[tuple[str, ...]] = ("memory-device",)
    link_attrs: ClassVar[dict[str, str]] = {"memdev": "hostmem"}
    description = "SGX EPC section"
    user_creatable = False
    hotpluggable = False

    def __init__(self, machine: Machine) -> None:
        super().__init__(machine)
        self.addr = 0
        self.node = 0
        self.hostmem: HostMemoryBackend | None = None

    def static_props(self) -> list[Prop]:
        return [
            static_prop("addr", "uint64", "addr", parse_uint64, default=0),
            static_prop("node", "uint32", "node", parse_uint32, default=0),
            link_prop("memdev", "memory-backend-epc", "hostmem"),
        ]

    def class_props(self) -> list[Prop]:
        # sgx_epc_init(): "size" reads memory_device_get_region_size().
        return [*super().class_props(), Prop("size", "uint64", _get_size, None)]

    def recorded_sample(self) -> InstanceSample | None:
        return self.machine.recording.class_sample(self.typename)

    # -- MemoryDeviceClass ----------------------------------------------------------

    def get_addr(self) -> int:
        return self.addr

    def set_addr(self, addr: int) -> None:
        self.addr = addr

    def get_plugged_size(self) -> int:
        """``sgx_epc_md_get_plugged_size``: always 0."""
        return 0

    def get_memory_region(self) -> MemoryRegion | None:
        """``sgx_epc_md_get_memory_region``: the backend's region."""
        if self.hostmem is None:
            raise CoreError(M.SGX_EPC_MEMDEV_MUST_BE_SET)
        b = self.hostmem
        return MemoryRegion(b.mr_size, b.mr_align)

    def mapped_memslots(self) -> int:
        """Memslots the core counts for it: 7.2 counts every realized memory
        device; 8.2's listener watches device memory only (the section's
        memslot is counted with those outside device memory)."""
        return 0 if self.machine.release.memslot_accounting else 1

    def fill_device_info(self) -> dict[str, Any]:
        """``sgx_epc_md_fill_device_info``: SgxEPCDeviceInfo, never with an id."""
        data: dict[str, Any] = {
            "memaddr": self.addr,
            "size": _get_size(self),
            "node": self.node,
            "memdev": self.hostmem.canonical_path() if self.hostmem is not None else "",
        }
        return {"type": "sgx-epc", "data": data}

    def device_id(self) -> str | None:
        return self.id

    def is_realized(self) -> bool:
        return self.realized

    # -- realize ----------------------------------------------------------------------

    def realize(self) -> None:
        """``sgx_epc_realize``: place the section right after the previous ones.

        The last fallible step of ``pc_machine_init_sgx_epc``; everything
        after the busy check only records the section.
        """
        state = sgx_epc_state(self.machine)
        assert state is not None
        if self.hostmem is None:
            raise CoreError(M.SGX_EPC_MEMDEV_NOT_SET)
        b = self.hostmem
        if b.mapped:
            raise CoreError(M.MEMDEV_BUSY.format(b.id))
        self.addr = (state.base + state.size) & UINT64_MASK
        region = b.memory_region()
        if region is not None:
            region.map(
                state.region.canonical_path() if state.region else "", self.addr - state.base
            )
        b.mapped = True
        b.mapped_by = self
        state.sections.append(self)
        state.size = (state.size + b.mr_size) & UINT64_MASK

    def unrealize(self) -> None:
        if self.hostmem is not None:
            self.hostmem.mapped = False
            self.hostmem.mapped_by = None


def _get_size(obj: QOMObject) -> int:
    """``sgx_epc_get_size``: ``memory_device_get_region_size``."""
    assert isinstance(obj, SgxEPC)
    mr = obj.get_memory_region()
    assert mr is not None
    return mr.size


# --- board init -------------------------------------------------------------------------


class EpcBackend(HostMemoryBackend):
    """``memory-backend-epc``: needs /dev/sgx_vepc on the host."""

    type_chain = ("memory-backend-epc", "memory-backend", "object")
    abstract = False

    def __init__(self, machine: Machine) -> None:
        super().__init__(machine)
        # sgx_epc_backend_instance_init
        self.share = True
        self.merge = False
        self.dump = False

    def uses_host_memory(self) -> bool:
        # EPC pages come from the SGX enclave page cache, not host RAM.
        return False

    def alloc(self) -> None:
        if not self.size:
            raise CoreError(M.BACKEND_SIZE_ZERO)
        if not self.host.sgx:
            raise CoreError(self.machine.release.sgx_vepc_open_failed_text)
        self.share = True
        self._alloc_fd(self.host.page_size)


def sgx_epc_state(machine: Machine) -> SgxEPCState | None:
    """``PCMachineState.sgx_epc``, once the board has made it."""
    state: SgxEPCState | None = machine.board_state.get("sgx-epc")
    return state


def init_sgx_epc(machine: Machine) -> SgxEPCState:
    """``pc_machine_init_sgx_epc``: create and realize one device per entry.

    Raises CoreError with QEMU's texts (``&error_fatal`` there: start-up
    errors without a command-line location).
    """
    state = SgxEPCState()
    machine.board_state["sgx-epc"] = state
    options: list[SgxEPCOption] = machine.config.board_options.get("sgx-epc", [])
    if not options:
        return state
    config = machine.config
    board: X86Board = config.board  # type: ignore[assignment]
    max_below = config.board_options.get("max-ram-below-4g", 0)
    _, above = ram_split(board, config.ram_size, max_below)
    state.base = sgx_epc_base(above)
    # memory_region_init(&sgx_epc->mr, OBJECT(pcms), "sgx-epc", UINT64_MAX)
    state.region = MemoryRegionObject(UINT64_MASK, "/machine/unattached/system[0]", state.base)
    machine.machine_obj.add_child("sgx-epc[0]", state.region)
    for option in options:
        dev = SgxEPC(machine)
        # object_property_parse(): a string, resolved as a link path.
        dev.prop_set("memdev", option.memdev, keyval=True)
        # object_property_set_uint() of the int64 member: -1 is 2^64 - 1.
        dev.prop_set("node", option.node & UINT64_MASK)
        machine.realize_unattached(dev)
    if (state.base + state.size) & UINT64_MASK < state.base:
        raise CoreError(M.SGX_EPC_WRAP.format(state.size))
    state.region.size = state.size
    if machine.release.memslot_accounting:
        # KVM and vhost map every section into a memslot of its own; the
        # 8.2 core counts only what its device-memory listener sees.
        limits = machine.memslot_limits
        limits.kvm_base += len(state.sections)
        limits.vhost_base += len(state.sections)
    return state


# --- QMP queries --------------------------------------------------------------------------


def _sections(machine: Machine) -> list[dict[str, Any]]:
    """``sgx_get_epc_sections_list``: node and size of every sgx-epc device.

    QEMU walks the QOM tree (GHashTable order of /machine/unattached);
    memdevd lists the sections in creation order.
    """
    out: list[dict[str, Any]] = []
    for dev in machine.devices():
        if isinstance(dev, SgxEPC) and dev.realized:
            out.append({"node": dev.node, "size": _get_size(dev)})
    return out


def query_sgx(machine: Machine) -> dict[str, Any]:
    """``qmp_query_sgx``: what the guest was given (SGXInfo member order)."""
    if machine.config.board.family not in ("pc", "q35"):
        raise CoreError(M.SGX_ONLY_PC)
    if not machine.config.board_options.get("sgx-epc"):
        raise CoreError(M.SGX_NO_EPC)
    info: dict[str, Any] = {"sgx": True, "sgx1": True, "sgx2": True, "flc": True}
    if sgx_info_has_section_size(machine.release):
        state = sgx_epc_state(machine)
        info["section-size"] = state.size if state is not None else 0
    info["sections"] = _sections(machine)
    return info


def query_sgx_capabilities(machine: Machine) -> dict[str, Any]:
    """``qmp_query_sgx_capabilities``: the host's SGX, read through /dev/sgx_vepc."""
    if not machine.host.sgx:
        raise CoreError(sgx_capabilities_open_error(machine.release))
    host = EMULATED_HOST_SGX
    info: dict[str, Any] = {
        "sgx": host["sgx"],
        "sgx1": host["sgx1"],
        "sgx2": host["sgx2"],
        "flc": host["flc"],
    }
    sections = [{"node": node, "size": size} for node, size in host["sections"]]
    if sgx_info_has_section_size(machine.release):
        info["section-size"] = sum(s["size"] for s in sections)
    info["sections"] = sections
    return info
