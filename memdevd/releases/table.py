"""What differs between the emulated QEMU releases (7.2, 8.2, 10.0).

QEMU keeps machine-version differences in ``hw_compat_X_Y`` tables; memdevd
keeps release differences here, one :class:`Release` per release, chosen once
at start-up by ``-memdevd version=``.  Code asks the release
(``release.strict_device_add``), never compares version numbers itself.
Each field names the QEMU change it follows; docs/versions.md is the
readable form of this table.
"""

from __future__ import annotations

from typing import Final

from memdevd import messages as M
from memdevd.records import record


@record(frozen=True)
class Release:
    version: str
    major: int
    minor: int
    micro: int
    # The reference build's package string (Debian/Ubuntu), reported with
    # memdevd's own name appended so a client can tell it is memdevd.
    reference_package: str
    # Last year of QEMU's copyright line in -version.
    copyright_year: int
    # The unversioned machine aliases resolve to these.
    pc_alias: str
    q35_alias: str

    # qapi/run-state.json: StatusInfo.singlestep, removed in 8.1? kept for
    # query-status output of 7.2 only (10.0 shows no singlestep member).
    status_has_singlestep: bool
    # system/qdev-monitor.c: qmp_device_add() parses with from_json=true
    # (strict JSON types, no QemuOpts id check) from 9.2 on.
    strict_device_add: bool
    # hw/mem/memory-device.c (8.2): memory_device_pre_plug() starts with the
    # "not prepared" check; device_memory exists only with maxmem > size.
    device_memory_only_with_maxmem: bool
    # 7.2: check_addable runs inside get_free_addr after the device-memory
    # checks; 8.2+: it runs in pre_plug before alignment.
    check_addable_in_pre_plug: bool
    # Size-vs-alignment check: "allocator" (7.2: full alignment incl.
    # virtio-mem block size, after the hint check), "none" (8.2, dropped by
    # eb1b7c4bd413) or "pre_plug" (9.0: backend alignment only, right after
    # check_addable).
    size_alignment_check: str
    # 8.2: memslot-aware checks and texts, dynamic memslots, empty devices.
    memslot_accounting: bool
    # 8.2: hv-balloon exists.
    has_hv_balloon: bool
    # 8.1: hw/virtio/virtio-md-pci.c unplug rules (virtio-mem unpluggable
    # when unplugged-inaccessible=on and nothing plugged).
    virtio_md_unplug: bool
    # 8.1 machine types: virtio-mem unplugged-inaccessible defaults to "on".
    unplugged_inaccessible_default: str
    # 10.0: a second virtio-mem-pci on an occupied PCIe port is refused.
    pcie_slot_occupied_check: bool
    # qapi/misc-target.json SGXInfo.section-size: removed in 8.0.
    sgx_info_has_section_size: bool
    # hw/i386/sgx.c: qemu_open_old() until 9.1 ("Get rid of qemu_open_old()").
    sgx_legacy_open_error: bool
    # accel/kvm/kvm-all.c kvm_init(): error_report() (program name, option
    # location) since 9.2 ("kvm: replace fprintf with error_report/printf()
    # in kvm_init()"); bare fprintf(stderr) lines before.
    kvm_init_error_report: bool

    # --- texts that differ per release -------------------------------------
    kvm_no_memslots_text: str
    vhost_no_memslots_text: str
    virtio_pmem_unplug_text: str
    kvm_create_vm_failed_text: str

    @property
    def version_info(self) -> dict[str, object]:
        """VersionInfo as the greeting and query-version report it."""
        return {
            "qemu": {"major": self.major, "minor": self.minor, "micro": self.micro},
            "package": self.package,
        }

    @property
    def package(self) -> str:
        from memdevd import __version__

        return f"{self.reference_package} memdevd {__version__}"

    @property
    def full_version(self) -> str:
        return f"{self.major}.{self.minor}.{self.micro}"


RELEASES: Final[dict[str, Release]] = {
    "7.2": Release(
        version="7.2",
        major=7,
        minor=2,
        micro=22,
        reference_package="Debian 1:7.2+dfsg-7+deb12u18+b3",
        copyright_year=2022,
        pc_alias="pc-i440fx-7.2",
        q35_alias="pc-q35-7.2",
        status_has_singlestep=True,
        strict_device_add=False,
        device_memory_only_with_maxmem=False,
        check_addable_in_pre_plug=False,
        size_alignment_check="allocator",
        memslot_accounting=False,
        has_hv_balloon=False,
        virtio_md_unplug=False,
        unplugged_inaccessible_default="auto",
        pcie_slot_occupied_check=False,
        sgx_info_has_section_size=True,
        sgx_legacy_open_error=True,
        kvm_init_error_report=False,
        kvm_no_memslots_text=M.KVM_NO_FREE_MEMSLOTS_7_2,
        vhost_no_memslots_text=M.VHOST_NO_FREE_MEMSLOTS_7_2,
        virtio_pmem_unplug_text=M.VIRTIO_MD_UNPLUG_7_2,
        kvm_create_vm_failed_text=M.KVM_CREATE_VM_FAILED_7_2,
    ),
    "8.2": Release(
        version="8.2",
        major=8,
        minor=2,
        micro=2,
        reference_package="Debian 1:8.2.2+ds-0ubuntu1",
        copyright_year=2023,
        pc_alias="pc-i440fx-8.2",
        q35_alias="pc-q35-8.2",
        status_has_singlestep=False,
        strict_device_add=False,
        device_memory_only_with_maxmem=True,
        check_addable_in_pre_plug=True,
        size_alignment_check="none",
        memslot_accounting=True,
        has_hv_balloon=True,
        virtio_md_unplug=True,
        unplugged_inaccessible_default="on",
        pcie_slot_occupied_check=False,
        sgx_info_has_section_size=False,
        sgx_legacy_open_error=True,
        kvm_init_error_report=False,
        kvm_no_memslots_text=M.KVM_NO_FREE_MEMSLOTS,
        vhost_no_memslots_text=M.VHOST_NO_FREE_MEMSLOTS,
        virtio_pmem_unplug_text=M.VIRTIO_PMEM_UNPLUG,
        kvm_create_vm_failed_text=M.KVM_CREATE_VM_FAILED_7_2,
    ),
    "10.0": Release(
        version="10.0",
        major=10,
        minor=0,
        micro=2,
        reference_package="Debian 1:10.0.2+ds-2+deb13u1~bpo12+1",
        copyright_year=2025,
        pc_alias="pc-i440fx-10.0",
        q35_alias="pc-q35-10.0",
        status_has_singlestep=False,
        strict_device_add=True,
        device_memory_only_with_maxmem=True,
        check_addable_in_pre_plug=True,
        size_alignment_check="pre_plug",
        memslot_accounting=True,
        has_hv_balloon=True,
        virtio_md_unplug=True,
        unplugged_inaccessible_default="on",
        pcie_slot_occupied_check=True,
        sgx_info_has_section_size=False,
        sgx_legacy_open_error=False,
        kvm_init_error_report=True,
        kvm_no_memslots_text=M.KVM_NO_FREE_MEMSLOTS,
        vhost_no_memslots_text=M.VHOST_NO_FREE_MEMSLOTS,
        virtio_pmem_unplug_text=M.VIRTIO_PMEM_UNPLUG,
        kvm_create_vm_failed_text=M.KVM_CREATE_VM_FAILED,
    ),
}

DEFAULT_VERSION: Final = "10.0"


def get_release(version: str) -> Release:
    return RELEASES[version]
