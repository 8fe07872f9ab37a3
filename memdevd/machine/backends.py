"""Memory backends: memory-backend-ram, -file, -memfd, -epc (backends/hostmem*.c).

A backend is a user-creatable QOM object under ``/objects`` whose properties
are set one by one through QEMU's visitors and then *completed*, which in
QEMU allocates the RAM.  memdevd never allocates guest RAM or opens host
files: completion computes what QEMU would (page size, alignment of the
memory region, errors) from the emulated host facts, so a 1 TiB backend
costs a few hundred bytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from memdevd import messages as M
from memdevd.machine.errors import CoreError
from memdevd.machine.host import HostFacts, backing_file_error, backing_file_size, size_to_str
from memdevd.machine.qom import MemoryRegionObject, Prop, QOMObject
from memdevd.qapi.visitor import InputVisitor

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine
    from memdevd.releases.recorded import InstanceSample

HOST_MEM_POLICIES = ("default", "preferred", "bind", "interleave")
ON_OFF_AUTO = ("auto", "on", "off")
MAX_NODES = 128
# QEMU_VMALLOC_ALIGN on x86_64 Linux hosts: 512 * 4096.
QEMU_VMALLOC_ALIGN = 2 * 1024 * 1024


class HostMemoryBackend(QOMObject):
    """``TYPE_MEMORY_BACKEND``: the properties every backend shares."""

    type_chain: ClassVar[tuple[str, ...]] = ("memory-backend", "object")
    interfaces: ClassVar[tuple[str, ...]] = ("user-creatable",)
    abstract: ClassVar[bool] = True

    def __init__(self, machine: Machine) -> None:
        super().__init__()
        self.machine = machine
        self.host: HostFacts = machine.host
        self.size = 0
        self.merge = machine.config.mem_merge
        self.dump = machine.config.dump_guest_core
        self.prealloc = False
        self.prealloc_threads = machine.config.smp_cpus
        self.prealloc_context: str | None = None
        self.share = False
        self.reserve = True
        self.host_nodes: list[int] = []
        self.policy = "default"
        self.use_canonical_path = False
        # Set by complete(): the memory region exists.
        self.mr_size = 0
        self.mr_align = 0
        self.page_size = 0
        self.readonly_region = False
        # Set while a device maps the backend (host_memory_backend_set_mapped).
        self.mapped = False
        self.mapped_by: QOMObject | None = None
        # Set for the machine's own RAM backend (pc.ram): no user id.
        self.is_machine_ram = False

    def recorded_sample(self) -> InstanceSample | None:
        return self.machine.recording.type_sample(self.typename)

    # -- QEMU's memory_region_* view ----------------------------------------

    @property
    def id(self) -> str:
        return self.name or ""

    def mr_inited(self) -> bool:
        return self.mr_size != 0

    # -- properties ------------------------------------------------------------

    def class_props_key(self) -> str | None:
        # The file backend's list depends on the QEMU version.
        return self.machine.release.version

    def class_props(self) -> list[Prop]:
        return [
            Prop("merge", "bool", _get("merge"), _set_merge, "Mark memory as mergeable"),
            Prop("dump", "bool", _get("dump"), _set_dump, "Set to 'off' to exclude from core dump"),
            Prop("prealloc", "bool", _get("prealloc"), _set_prealloc, "Preallocate memory"),
            Prop(
                "prealloc-threads",
                "int",
                _get("prealloc_threads"),
                _set_prealloc_threads,
                "Number of CPU threads to use for prealloc",
            ),
            Prop(
                "prealloc-context",
                "link<thread-context>",
                lambda o: _as_backend(o).prealloc_context or "",
                _set_prealloc_context,
                "Context to use for creating CPU threads for preallocation",
            ),
            Prop("size", "int", _get("size"), _set_size, "Size of the memory region (ex: 500M)"),
            Prop(
                "host-nodes",
                "int",
                lambda o: list(_as_backend(o).host_nodes),
                _set_host_nodes,
                "Binds memory to the list of NUMA host nodes",
            ),
            Prop("policy", "HostMemPolicy", _get("policy"), _set_policy, "Set the NUMA policy"),
            Prop(
                "share",
                "bool",
                _get("share"),
                _set_share,
                "Mark the memory as private to QEMU or shared",
            ),
            Prop(
                "reserve",
                "bool",
                _get("reserve"),
                _set_reserve,
                "Reserve swap space (or huge pages) if applicable",
            ),
            Prop(
                "x-use-canonical-path-for-ramblock-id",
                "bool",
                _get("use_canonical_path"),
                _set_use_canonical_path,
            ),
        ]

    # -- completion (user_creatable_complete) ---------------------------------

    def complete(self) -> None:
        """``host_memory_backend_memory_complete``: 'allocate', check, and
        preallocate (at once, or for QEMU 10.0's -object at start-up, when
        the late backends are all created: ``machine.prealloc_pending``)."""
        self.alloc()
        if self.name is not None:
            # The RAM MemoryRegion, a QOM child named after the backend.
            self.add_child(f"{self.name}[0]", MemoryRegionObject(self.mr_size))
        try:
            self._check_allocated()
            if self.prealloc:
                if self.machine.prealloc_pending is not None:
                    self.machine.prealloc_pending.append(self)
                else:
                    self.preallocate()
        except CoreError:
            # The RAM block existed: freeing it (qemu_ram_free) drops the
            # memfd saved for CPR under the backend's name.
            self.machine.cpr_fds.pop(self.backend_name(), None)
            raise

    def _check_allocated(self) -> None:
        """The checks of ``host_memory_backend_memory_complete`` after alloc."""
        aligned = self.is_aligned_type()
        if aligned and self.mr_size % self.page_size:
            raise CoreError(
                M.BACKEND_SIZE_NOT_PAGE_MULTIPLE.format(self.typename, size_to_str(self.page_size))
            )
        maxnode = (max(self.host_nodes) + 1) if self.host_nodes else 0
        if maxnode and self.policy == "default":
            raise CoreError(M.HOST_NODES_POLICY_DEFAULT)
        if maxnode == 0 and self.policy != "default":
            raise CoreError(M.HOST_NODES_POLICY_NEEDS_NODES.format(self.policy))
        if maxnode and not set(self.host_nodes) & set(self.host.numa_nodes):
            # The kernel drops nodes the host lacks (mpol_set_nodemask); mbind()
            # fails with EINVAL only when none is left.
            raise CoreError(M.HOST_NODES_MBIND_FAILED.format("Invalid argument"))

    def is_aligned_type(self) -> bool:
        return False

    def alloc(self) -> None:
        raise NotImplementedError

    def apply_sugar(self) -> None:
        """``object_apply_compat_props``: -mem-prealloc's memory-backend
        properties (``object_register_sugar_prop``), before the user's."""
        for name, value in self.machine.backend_sugar.items():
            self.prop_set(name, value, keyval=True)

    # -- host memory (-memdevd host-memory=) ----------------------------------

    def uses_host_memory(self) -> bool:
        """Whether preallocating touches host memory (RAM, memfd, a file on
        hugetlbfs; other files are taken to be on a disk)."""
        return True

    def preallocate(self) -> None:
        """``qemu_prealloc_mem``: every page touched, against what the host
        has left after the backends already preallocated."""
        limit = self.host.memory
        if limit is None or not self.uses_host_memory():
            return
        if preallocated_memory(self.machine, exclude=self) + self.size > limit:
            raise CoreError(M.PREALLOC_FAILED.format("Cannot allocate memory"))

    def _check_commit(self) -> None:
        """The kernel's overcommit check (``__vm_enough_memory``) when
        ``qemu_ram_mmap`` maps anonymous guest RAM."""
        host = self.host
        if host.memory is None or host.overcommit == "always":
            return
        if host.overcommit == "heuristic":
            # One mapping at a time; MAP_NORESERVE (reserve=off) skips it.
            if self.reserve and self.size > host.memory:
                raise CoreError(M.CANNOT_SET_UP_GUEST_MEMORY.format(self.backend_name()))
            return
        committed = sum(
            b.size
            for b in all_backends(self.machine)
            if b is not self and isinstance(b, RamBackend) and b.mr_inited()
        )
        if committed + self.size > host.memory:
            raise CoreError(M.CANNOT_SET_UP_GUEST_MEMORY.format(self.backend_name()))

    def _alloc_anonymous(self) -> None:
        if not self.size:
            raise CoreError(M.BACKEND_SIZE_ZERO)
        if self.size >= self.host.user_address_space:
            # No mmap() larger than the process's address space can succeed.
            raise CoreError(M.CANNOT_SET_UP_GUEST_MEMORY.format(self.backend_name()))
        self._check_commit()
        self.page_size = self.host.page_size
        self.mr_align = QEMU_VMALLOC_ALIGN
        self.mr_size = self.size

    def _alloc_fd(self, page_size: int, align: int = 0, offset: int = 0) -> None:
        """``file_ram_alloc``: alignment checks and the region's alignment."""
        if align % page_size:
            raise CoreError(M.FILE_ALIGN_NOT_PAGE_MULTIPLE.format(align, page_size))
        if align and align & (align - 1):
            raise CoreError(M.FILE_ALIGN_NOT_POWER_OF_2.format(align))
        if offset % page_size:
            raise CoreError(M.FILE_OFFSET_NOT_PAGE_MULTIPLE.format(offset, page_size))
        # qemu_ram_alloc_from_fd() has rounded the size up to the host page.
        memory = -(-self.size // self.host.page_size) * self.host.page_size
        if memory < page_size:
            raise CoreError(M.FILE_SIZE_BELOW_PAGE.format(memory, page_size))
        if memory >= self.host.user_address_space:
            # qemu_ram_mmap() cannot fit the mapping in the address space.
            raise CoreError(M.UNABLE_TO_MAP_BACKING_STORE.format("Cannot allocate memory"))
        self.page_size = page_size
        self.mr_align = max(page_size, align)
        self.mr_size = self.size

    # -- query-memdev -------------------------------------------------------------

    def memdev_info(self) -> dict[str, Any]:
        """``Memdev`` in QAPI member order (qapi/machine.json)."""
        info: dict[str, Any] = {}
        if self.name is not None:
            info["id"] = self.name
        info["size"] = self.size
        info["merge"] = self.merge
        info["dump"] = self.dump
        info["prealloc"] = self.prealloc
        info["share"] = self.share
        info["reserve"] = self.reserve
        info["host-nodes"] = list(self.host_nodes)
        info["policy"] = self.policy
        return info

    def can_be_deleted(self) -> bool:
        return not self.mapped

    def backend_name(self) -> str:
        """``host_memory_backend_get_name``: the id, or the canonical path."""
        return self.canonical_path() if self.use_canonical_path else self.id

    def memory_region(self) -> MemoryRegionObject | None:
        child = self.children.get(f"{self.name}[0]")
        return child if isinstance(child, MemoryRegionObject) else None


def all_backends(machine: Machine) -> list[HostMemoryBackend]:
    """The machine's memory backends (its RAM's among them)."""
    return machine.backends()


def preallocated_memory(machine: Machine, exclude: HostMemoryBackend | None = None) -> int:
    """The host memory the preallocated backends hold (they keep it until
    they are deleted)."""
    return sum(
        b.size
        for b in all_backends(machine)
        if b is not exclude and b.prealloc and b.mr_inited() and b.uses_host_memory()
    )


def _as_backend(obj: QOMObject) -> HostMemoryBackend:
    assert isinstance(obj, HostMemoryBackend)
    return obj


def _get(attr: str) -> Any:
    return lambda obj: getattr(obj, attr)


def _set_size(obj: QOMObject, v: InputVisitor, name: str) -> None:
    b = _as_backend(obj)
    if b.mr_inited():
        raise CoreError(M.BACKEND_CANNOT_CHANGE_PROPERTY.format(name, b.typename))
    value = v.type_size(name)
    if not value:
        raise CoreError(M.BACKEND_PROPERTY_BAD_VALUE.format(name, b.typename, value))
    b.size = value


def _set_merge(obj: QOMObject, v: InputVisitor, name: str) -> None:
    _as_backend(obj).merge = v.type_bool(name)


def _set_dump(obj: QOMObject, v: InputVisitor, name: str) -> None:
    _as_backend(obj).dump = v.type_bool(name)


def _set_prealloc(obj: QOMObject, v: InputVisitor, name: str) -> None:
    b = _as_backend(obj)
    value = v.type_bool(name)
    if not b.reserve and value:
        raise CoreError(M.PREALLOC_RESERVE_INCOMPATIBLE)
    if not b.mr_inited():
        b.prealloc = value
    elif value and not b.prealloc:
        # An existing region can be preallocated later, never
        # un-preallocated; prealloc stays off when that fails.
        b.preallocate()
        b.prealloc = True


def _set_prealloc_threads(obj: QOMObject, v: InputVisitor, name: str) -> None:
    b = _as_backend(obj)
    value = v.type_int(name, "uint32")
    if value <= 0:
        raise CoreError(M.BACKEND_PROPERTY_BAD_VALUE.format(name, b.typename, value))
    b.prealloc_threads = value


def _set_prealloc_context(obj: QOMObject, v: InputVisitor, name: str) -> None:
    b = _as_backend(obj)
    path = v.type_str(name)
    if path:
        target = b.machine.resolve_link(path, "thread-context", name)
        b.prealloc_context = target.canonical_path()
    else:
        b.prealloc_context = None


def _set_host_nodes(obj: QOMObject, v: InputVisitor, name: str) -> None:
    b = _as_backend(obj)
    nodes: list[int] = []
    v.start_list(name)
    while v.has_next():
        nodes.append(v.type_int(None, "uint16"))
    v.end_list()
    for node in nodes:
        if node >= MAX_NODES:
            raise CoreError(M.HOST_NODES_INVALID.format(node))
    b.host_nodes = sorted(set(b.host_nodes) | set(nodes))


def _set_policy(obj: QOMObject, v: InputVisitor, name: str) -> None:
    _as_backend(obj).policy = v.type_enum(name, HOST_MEM_POLICIES)


def _set_share(obj: QOMObject, v: InputVisitor, name: str) -> None:
    b = _as_backend(obj)
    if b.mr_inited():
        raise CoreError(M.CANNOT_CHANGE_PROPERTY_VALUE)
    b.share = v.type_bool(name)


def _set_reserve(obj: QOMObject, v: InputVisitor, name: str) -> None:
    b = _as_backend(obj)
    if b.mr_inited():
        raise CoreError(M.CANNOT_CHANGE_PROPERTY_VALUE)
    value = v.type_bool(name)
    if b.prealloc and not value:
        raise CoreError(M.PREALLOC_RESERVE_INCOMPATIBLE)
    b.reserve = value


def _set_use_canonical_path(obj: QOMObject, v: InputVisitor, name: str) -> None:
    _as_backend(obj).use_canonical_path = v.type_bool(name)


class RamBackend(HostMemoryBackend):
    type_chain = ("memory-backend-ram", "memory-backend", "object")
    abstract = False

    def alloc(self) -> None:
        self._alloc_anonymous()


def _canonical_path_ramblock_id(machine: Machine, typename: str) -> bool:
    """hw_compat_3_1: file and memfd backends name RAM by canonical path."""
    prop = f"{typename}.x-use-canonical-path-for-ramblock-id"
    return bool(machine.compat.get(prop, False))


class MemfdBackend(HostMemoryBackend):
    type_chain = ("memory-backend-memfd", "memory-backend", "object")
    abstract = False

    def __init__(self, machine: Machine) -> None:
        super().__init__(machine)
        self.use_canonical_path = _canonical_path_ramblock_id(machine, "memory-backend-memfd")
        self.hugetlb = False
        self.hugetlbsize = 0
        self.seal = True
        # memfd backends are always shared (memfd_backend_instance_init).
        self.share = True

    def class_props(self) -> list[Prop]:
        return [
            *super().class_props(),
            Prop("hugetlb", "bool", _get("hugetlb"), _set_memfd_hugetlb, "Use huge pages"),
            Prop(
                "hugetlbsize",
                "int",
                _get("hugetlbsize"),
                _set_memfd_hugetlbsize,
                "Huge pages size (ex: 2M, 1G)",
            ),
            Prop("seal", "bool", _get("seal"), _set_memfd_seal, "Seal growing & shrinking"),
        ]

    def is_aligned_type(self) -> bool:
        return self.machine.release.backend_size_page_aligned

    def alloc(self) -> None:
        if not self.size:
            raise CoreError(M.BACKEND_SIZE_ZERO)
        name = self.backend_name()
        cpr = self.machine.release.cpr_reuses_memfd
        saved = self.machine.cpr_fds.get(name) if cpr else None
        if saved is not None:
            # 10.0's cpr_find_fd(): a memfd saved under this name by an earlier
            # backend (even one whose creation failed) is reused as it is.
            file_size, page = saved
        else:
            file_size, page = self._create_memfd()
            if cpr:
                self.machine.cpr_fds[name] = (file_size, page)
        # The RAM block wants the size rounded up to the host page; a shorter
        # file is refused (qemu_ram_alloc_from_fd).
        aligned = -(-self.size // self.host.page_size) * self.host.page_size
        if 0 < file_size < aligned:
            text = self.machine.release.backing_store_too_small_text
            raise CoreError(text.format(name=name, file_size=file_size, size=aligned, offset=0))
        self._alloc_fd(page)

    def _create_memfd(self) -> tuple[int, int]:
        """``qemu_memfd_create``: (file size, page size) of the new memfd."""
        page = self.host.page_size
        if self.hugetlb:
            # qemu_memfd_create(): MFD_CLOEXEC | MFD_ALLOW_SEALING (if sealed)
            # | MFD_HUGETLB | log2(size) << MFD_HUGE_SHIFT.
            htsize = (
                (self.hugetlbsize & -self.hugetlbsize).bit_length() - 1 if self.hugetlbsize else 0
            )
            if htsize and 1 << htsize != self.hugetlbsize:
                raise CoreError(M.MEMFD_HUGEPAGE_NOT_POWER_OF_2)
            size = self.hugetlbsize or self.host.default_hugepage_size
            if size not in self.host.hugepage_sizes:
                # The kernel has no hugetlbfs for that size: memfd_create() ENODEV.
                flags = 0x1 | (0x2 if self.seal else 0) | 0x4 | (htsize << 26)
                raise CoreError(M.MEMFD_CREATE_FAILED.format(flags, "No such device"))
            page = size
            if self.size % page:
                # ftruncate() of a hugetlb memfd wants whole huge pages.
                raise CoreError(M.MEMFD_RESIZE_FAILED.format(self.size, "Invalid argument"))
        if self.size >= 1 << 63:
            # ftruncate() takes a signed off_t: a "negative" length is EINVAL.
            raise CoreError(M.MEMFD_RESIZE_FAILED.format(self.size, "Invalid argument"))
        # ftruncate(fd, size): the file is exactly 'size' long.
        return self.size, page


def _as_memfd(obj: QOMObject) -> MemfdBackend:
    assert isinstance(obj, MemfdBackend)
    return obj


def _set_memfd_hugetlb(obj: QOMObject, v: InputVisitor, name: str) -> None:
    # memfd_backend_set_hugetlb() has no "already created" check.
    _as_memfd(obj).hugetlb = v.type_bool(name)


def _set_memfd_hugetlbsize(obj: QOMObject, v: InputVisitor, name: str) -> None:
    m = _as_memfd(obj)
    if m.mr_inited():
        raise CoreError(M.CANNOT_CHANGE_PROPERTY_VALUE)
    value = v.type_size(name)
    if not value:
        raise CoreError(M.PROPERTY_DOESNT_TAKE_VALUE.format(m.typename, name, value))
    m.hugetlbsize = value


def _set_memfd_seal(obj: QOMObject, v: InputVisitor, name: str) -> None:
    # memfd_backend_set_seal() has no "already created" check.
    _as_memfd(obj).seal = v.type_bool(name)


class FileBackend(HostMemoryBackend):
    type_chain = ("memory-backend-file", "memory-backend", "object")
    abstract = False

    def __init__(self, machine: Machine) -> None:
        super().__init__(machine)
        self.use_canonical_path = _canonical_path_ramblock_id(machine, "memory-backend-file")
        self.mem_path: str | None = None
        self.align = 0
        self.offset = 0
        self.discard_data = False
        self.readonly = False
        self.rom = "auto"

    def class_props(self) -> list[Prop]:
        props = [
            *super().class_props(),
            Prop("mem-path", "string", lambda o: _as_file(o).mem_path or "", _set_file_mem_path),
            Prop(
                "discard-data",
                "bool",
                _get("discard_data"),
                _set_file_discard_data,
            ),
            Prop("align", "int", _get("align"), _set_file_align),
            Prop("readonly", "bool", _get("readonly"), _set_file_readonly),
        ]
        if self.machine.release.file_backend_offset_and_rom:
            props.insert(-1, Prop("offset", "int", _get("offset"), _set_file_offset))
            props.append(Prop("rom", "OnOffAuto", _get("rom"), _set_file_rom))
        return props

    def is_aligned_type(self) -> bool:
        return self.machine.release.backend_size_page_aligned

    def uses_host_memory(self) -> bool:
        return self.mem_path is not None and self.page_size != self.host.page_size

    def alloc(self) -> None:
        if not self.size:
            raise CoreError(M.BACKEND_SIZE_ZERO)
        if not self.mem_path:
            raise CoreError(M.FILE_MEM_PATH_NOT_SET)
        offset_and_rom = self.machine.release.file_backend_offset_and_rom
        if offset_and_rom:
            if self.rom == "auto":
                self.rom = "on" if self.readonly else "off"
            elif self.rom == "on" and not self.readonly:
                raise CoreError(M.FILE_ROM_ON_NEEDS_READONLY)
            elif self.rom == "off" and self.readonly and self.share:
                raise CoreError(M.FILE_ROM_OFF_READONLY_SHARED)
        self.readonly_region = self.rom == "on" if offset_and_rom else self.readonly
        failure = backing_file_error(self.mem_path, self.readonly)
        if failure is not None:
            raise CoreError(M.FILE_CANT_OPEN.format(self.mem_path, failure))
        page = self.host.page_size_for_path(self.mem_path)
        # qemu_ram_alloc_from_fd(): an existing file shorter than the RAM
        # block (rounded up to the host page) plus the offset is refused.
        file_size = backing_file_size(self.mem_path)
        aligned = -(-self.size // self.host.page_size) * self.host.page_size
        if 0 < file_size < aligned + (self.offset if offset_and_rom else 0):
            text = self.machine.release.backing_store_too_small_text
            raise CoreError(
                text.format(
                    name=self.backend_name(), file_size=file_size, size=aligned, offset=self.offset
                )
            )
        self._alloc_fd(page, self.align, self.offset)


def _as_file(obj: QOMObject) -> FileBackend:
    assert isinstance(obj, FileBackend)
    return obj


def _set_file_mem_path(obj: QOMObject, v: InputVisitor, name: str) -> None:
    f = _as_file(obj)
    if f.mr_inited():
        raise CoreError(M.FILE_CANNOT_CHANGE_MEM_PATH.format(f.typename))
    f.mem_path = v.type_str(name)


def _set_file_discard_data(obj: QOMObject, v: InputVisitor, name: str) -> None:
    _as_file(obj).discard_data = v.type_bool(name)


def _set_file_align(obj: QOMObject, v: InputVisitor, name: str) -> None:
    f = _as_file(obj)
    if f.mr_inited():
        raise CoreError(M.FILE_CANNOT_CHANGE.format(name, f.typename))
    f.align = v.type_size(name)


def _set_file_offset(obj: QOMObject, v: InputVisitor, name: str) -> None:
    f = _as_file(obj)
    if f.mr_inited():
        raise CoreError(M.FILE_CANNOT_CHANGE.format(name, f.typename))
    f.offset = v.type_size(name)


def _set_file_readonly(obj: QOMObject, v: InputVisitor, name: str) -> None:
    f = _as_file(obj)
    if f.mr_inited():
        raise CoreError(M.FILE_CANNOT_CHANGE_READONLY.format(f.typename))
    f.readonly = v.type_bool(name)


def _set_file_rom(obj: QOMObject, v: InputVisitor, name: str) -> None:
    f = _as_file(obj)
    if f.mr_inited():
        raise CoreError(M.FILE_CANNOT_CHANGE_DOT.format(name, f.typename))
    f.rom = v.type_enum(name, ON_OFF_AUTO)


BACKEND_TYPES: dict[str, type[HostMemoryBackend]] = {
    "memory-backend-ram": RamBackend,
    "memory-backend-file": FileBackend,
    "memory-backend-memfd": MemfdBackend,
}
