"""Facts about the emulated host that QEMU's answers depend on.

QEMU reads these from the machine it runs on (page size, transparent huge
page size, hugetlbfs mounts, NUMA nodes, /dev/kvm, /dev/sgx_vepc).  memdevd
takes them from ``-memdevd`` settings whose defaults describe a typical
x86_64 Linux host, so the same command line gives the same answers on
every machine.
"""

from __future__ import annotations

from dataclasses import field

from memdevd.records import record

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

#: The steps of QEMU's kvm_init() that can fail before a VM exists: opening
#: the device, KVM_GET_API_VERSION below or above 12, KVM_CREATE_VM.
KVM_INIT_STEPS = ("open", "version-too-old", "version-not-supported", "create-vm")
#: kvm_init() on a host without /dev/kvm: open() fails with ENOENT.
NO_KVM_DEVICE: tuple[str, int] = ("open", 2)


@record
class HostFacts:
    page_size: int = 4 * KiB
    thp_size: int = 2 * MiB
    hugepage_sizes: tuple[int, ...] = (2 * MiB, 1 * GiB)
    default_hugepage_size: int = 2 * MiB
    # Paths treated as hugetlbfs mounts, with their page size.
    hugetlbfs_mounts: dict[str, int] = field(default_factory=lambda: {"/dev/hugepages": 2 * MiB})
    numa_nodes: tuple[int, ...] = (0,)
    kvm: bool = False
    # Without KVM: where QEMU's kvm_init() stops on this host (one of
    # KVM_INIT_STEPS) and the errno it fails with.  The default is a host
    # without /dev/kvm.
    kvm_failure: str = NO_KVM_DEVICE[0]
    kvm_errno: int = NO_KVM_DEVICE[1]
    sgx: bool = False
    # KVM / vhost memslot limits; None means "no limit" (TCG, no vhost).
    kvm_memslots: int | None = None
    vhost_memslots: int | None = None
    phys_bits: int = 40
    # x86-64 with 4-level paging: a process's mappings live below 128 TiB,
    # so no guest memory of that size can be mapped, whatever the overcommit.
    user_address_space: int = 1 << 47
    #: -memdevd host-memory=: the memory the host can back guest RAM with
    #: (RAM + swap: what the kernel's overcommit check and preallocation
    #: meet); None: unlimited, so answers do not depend on the host.
    memory: int | None = None
    #: -memdevd host-overcommit=: vm.overcommit_memory's policy for mmap()
    #: of anonymous guest RAM: "heuristic" (0, Linux's default: one mapping
    #: may not exceed the memory; MAP_NORESERVE, reserve=off, skips it),
    #: "always" (1: never refused), "never" (2: the mappings add up,
    #: MAP_NORESERVE is ignored).
    overcommit: str = "heuristic"

    def page_size_for_path(self, path: str) -> int:
        """``qemu_fd_getpagesize``: the hugetlbfs page size, else the host's."""
        best = ""
        size = self.page_size
        for mount, page in self.hugetlbfs_mounts.items():
            prefix = mount.rstrip("/") + "/"
            if (path == mount or path.startswith(prefix)) and len(mount) > len(best):
                best, size = mount, page
        return size


def size_to_str(value: int) -> str:
    """``size_to_str`` from util/cutils.c: e.g. 4096 -> ``4 KiB``."""
    import math

    _, exp = math.frexp(value / (1000.0 / 1024.0))
    i = (exp - 1) // 10 * 10 if exp > 0 else 0
    prefix = {0: "", 10: "Ki", 20: "Mi", 30: "Gi", 40: "Ti", 50: "Pi", 60: "Ei"}[i]
    return f"{_c_g3(value / (1 << i))} {prefix}B"


def _c_g3(x: float) -> str:
    """printf("%0.3g")."""
    return f"{x:.3g}"


def backing_file_size(path: str) -> int:
    """``get_file_size`` of what ``file_ram_open`` opens: an existing
    regular file's size, 0 for a directory (QEMU makes a new file in it), a
    file it creates, or anything else."""
    import os
    import stat

    try:
        st = os.stat(path)
    except OSError:
        return 0
    return st.st_size if stat.S_ISREG(st.st_mode) else 0


def backing_file_error(path: str, readonly: bool) -> str | None:
    """What ``file_ram_open`` would fail with, found by stat() alone.

    memdevd never opens or creates the file; it only looks at the path so
    that a mistyped mem-path gets QEMU's error.  Returns the strerror text,
    or None when QEMU would open or create the file.
    """
    import errno
    import os
    import stat

    def text(code: int) -> str:
        return os.strerror(code)

    try:
        st = os.stat(path)
    except FileNotFoundError:
        if readonly:
            return text(errno.ENOENT)
        parent = os.path.dirname(path) or "."
        if not os.path.isdir(parent):
            return text(errno.ENOENT)
        if not os.access(parent, os.W_OK | os.X_OK):
            return text(errno.EACCES)
        return None
    except NotADirectoryError:
        return text(errno.ENOTDIR)
    except PermissionError:
        return text(errno.EACCES)
    if stat.S_ISDIR(st.st_mode):
        if readonly:
            return text(errno.EISDIR)
        return None if os.access(path, os.W_OK | os.X_OK) else text(errno.EACCES)
    mode = os.R_OK if readonly else os.R_OK | os.W_OK
    return None if os.access(path, mode) else text(errno.EACCES)
