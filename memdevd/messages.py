"""Every text memdevd answers or prints with, as a named constant.

Kept in one place, as fakeredis keeps Redis's replies in ``_msgs.py``: a
reviewer can diff this file against QEMU's sources, and a text that differs
between emulated releases appears once per release with the release in its
name (a field of :class:`memdevd.releases.table.Release` picks the right
one).  Texts are copied verbatim, typos included ("where allocated",
"exceedsthe", "notsupported"), because clients match on them.  Placeholders
use ``str.format`` fields where QEMU uses printf conversions; the QEMU
source of each text is named above it.  memdevd's own texts (refusals of
what it does not emulate, its settings, the fleet) sit in sections marked
so; most start with "memdevd:".  tests/unit/test_messages.py keeps every
raised text here and every text here in use.
"""

from __future__ import annotations

from typing import Final

# --- qapi/qmp/qerror.h, qapi/qobject-input-visitor.c -------------------------
MISSING_PARAMETER: Final = "Parameter '{}' is missing"
INVALID_PARAMETER_TYPE: Final = "Invalid parameter type for '{}', expected: {}"
INVALID_PARAMETER_VALUE: Final = "Parameter '{}' expects {}"
INVALID_PARAMETER: Final = "Invalid parameter '{}'"
UNEXPECTED_PARAMETER: Final = "Parameter '{}' is unexpected"
ENUM_BAD_VALUE: Final = "Parameter '{}' does not accept value '{}'"
# system/vl.c keyval_dashify (-machine keys with underscores).
KEYVAL_DASHIFY_CONFLICT: Final = "Conflict between '{}' and '{}'"
# qom/object.c object_apply_global_props (an accelerator's sugar property).
CANT_APPLY_GLOBAL: Final = "can't apply global {}.{}={}: "
# hw/core/machine.c machine_set_memory_encryption
NO_MEMORY_ENCRYPTION_OBJECT: Final = "No such memory encryption object '{}'"
# 11.1 (seen live): the legacy property warns first.
MEMORY_ENCRYPTION_DEPRECATED: Final = (
    "memory-encryption is deprecated, use confidential-guest-support instead"
)
# system/vl.c qemu_machine_creation_done (9.1+): no accelerator readied the
# confidential guest support object (TCG never does).
CGS_NOT_READY: Final = "accelerator does not support confidential guest {}"
# 7.2 asserted it instead (softmmu/vl.c), aborting.
CGS_NOT_READY_7_2: Final = (
    "../../softmmu/vl.c:2590: qemu_machine_creation_done: Assertion `machine->cgs->ready' failed."
)
CGS_NOT_EMULATED: Final = "memdevd: confidential guests ({}) are not emulated with KVM"

# --- qapi/qmp-dispatch.c ------------------------------------------------------
QMP_INPUT_NOT_OBJECT: Final = "QMP input must be a JSON object"
QMP_MEMBER_NOT_STRING: Final = "QMP input member '{}' must be a string"
QMP_MEMBER_CLASH: Final = "QMP input member '{}' clashes with '{}'"
QMP_ARGUMENTS_NOT_OBJECT: Final = "QMP input member 'arguments' must be an object"
QMP_MEMBER_UNEXPECTED: Final = "QMP input member '{}' is unexpected"
QMP_LACKS_EXECUTE: Final = "QMP input lacks member 'execute'"
COMMAND_NOT_FOUND: Final = "The command {} has not been found"
# qapi/qapi-util.c compat_policy_input_ok1 (-compat ...-input=reject): "Deprecated"
# or "Unstable", then "command", "parameter" or "value", then its name
COMPAT_POLICY_DISABLED: Final = "{} {} {} disabled by policy"
COMMAND_DISABLED: Final = "Command {} has been disabled{}"
COMMAND_NO_OOB: Final = "The command {} does not support OOB"

# --- monitor/qmp.c, monitor/qmp-cmds-control.c ----------------------------------
EXPECTING_NEGOTIATION: Final = "Expecting capabilities negotiation with 'qmp_capabilities'"
NEGOTIATION_COMPLETE: Final = "Capabilities negotiation is already complete, command ignored"
CAPABILITY_NOT_AVAILABLE: Final = "Capability {} not available"

# --- monitor/hmp.c (HMP output, ``\n`` line ends) --------------------------------------
HMP_UNKNOWN_COMMAND: Final = "unknown command: '{}'\n"
# The command's name, then the command line "help" takes for it.
HMP_EXTRANEOUS_CHARACTERS: Final = (
    '{}: extraneous characters at the end of line\nTry "help {}" for more information\n'
)
# memdevd's own: HMP answers only the info commands about memory.
HMP_INFO_NOT_EMULATED: Final = "memdevd: 'info {}' is not emulated\n"
HMP_COMMAND_NOT_EMULATED: Final = (
    "memdevd: HMP command '{}' is not emulated (only info commands are)\n"
)

# --- migration/migration.c --------------------------------------------------------
MIGRATE_RECOVER_NOT_PAUSED: Final = "Migrate recover can only be run when postcopy is paused."

# --- qom/object.c, qom/qom-qmp-cmds.c, qom/object_interfaces.c ------------------
DUPLICATE_PROPERTY: Final = "attempt to add duplicate property '{}' to object (type '{}')"
PROPERTY_NOT_FOUND: Final = "Property '{}.{}' not found"
PROPERTY_NOT_READABLE: Final = "Property '{}.{}' is not readable"
PROPERTY_NOT_WRITABLE: Final = "Property '{}.{}' is not writable"
PROPERTY_DOESNT_TAKE_VALUE: Final = "Property '{}.{}' doesn't take value '{}'"
DEVICE_NOT_FOUND: Final = "Device '{}' not found"
CLASS_NOT_FOUND: Final = "Class '{}' not found"
PATH_AMBIGUOUS: Final = "Path '{}' is ambiguous"
PATH_NOT_UNIQUE: Final = "Path '{}' does not uniquely identify an object"
OBJECT_TYPE_INVALID: Final = "invalid object type: {}"
OBJECT_NOT_FOUND: Final = "object '{}' not found"
OBJECT_IN_USE: Final = "object '{}' is in use, can not be deleted"
# system/vl.c -mon (11.1: monitors are objects, seen live).
MON_DEPRECATED: Final = (
    "'-mon' is deprecated, use '-object' with 'monitor-hmp' or 'monitor-qmp' types instead"
)
# backends/hostmem.c host_memory_backend_prepare_delete() (seen in 11.1).
BACKEND_MAPPED_NOT_DELETABLE: Final = "Cannot delete host memory backend '{}' which is mapped"
# block/throttle-groups.c throttle_group_prepare_delete() (seen in 11.1).
THROTTLE_GROUP_NOT_DELETABLE: Final = "Cannot delete throttle group '{}' with active references"
ID_NOT_IDENTIFIER_HINT: Final = (
    "Identifiers consist of letters, digits, '-', '.', '_', starting with a letter.\n"
)

# --- hw/core/qdev-properties.c, hw/core/qdev.c ------------------------------------
# hw/core/qdev.c qdev_set_id(): an id that is not an identifier (11.1).
INVALID_QDEV_ID: Final = "Invalid qdev ID '{}'"
SET_PROP_AFTER_REALIZE: Final = (
    "Attempt to set property '{}' on device '{}' (type '{}') after it was realized"
)
SET_PROP_AFTER_REALIZE_ANON: Final = (
    "Attempt to set property '{}' on anonymous device (type '{}') after it was realized"
)
SET_LINK_AFTER_REALIZE: Final = (
    "Attempt to set link property '{}' on device '{}' (type '{}') after it was realized"
)
# --- system/bootdevice.c (softmmu/ in 7.2) ---------------------------------------
BOOTINDEX_USED: Final = "The bootindex {} has already been used"
# memdevd's own: QEMU would unrealize the device without an unplug.
CANNOT_CHANGE_REALIZED: Final = "memdevd: changing 'realized' by hand is not emulated"

# --- system/qdev-monitor.c (softmmu/ in 7.2) -------------------------------------
NOT_A_DEVICE_MODEL: Final = "'{}' is not a valid device model name"
# hw/char/serial-isa.c, hw/core/qdev-properties-system.c set_chr, chardev/char-fe.c
ISA_SERIAL_MAX_PORTS: Final = "Max. supported number of ISA serial ports is {}."
CHARDEV_PROP_NOT_FOUND: Final = "Property '{}.{}' can't find value '{}'"
CHARDEV_PROP_CANT_TAKE: Final = "Property '{}.{}' can't take value '{}': "
CHARDEV_IN_USE: Final = "chardev '{}' is already in use"
CHARDEV_IN_USE_7_2: Final = "Device '{}' is in use"
# util/error.c error_handle(): an error given &error_abort, before abort()
# (FUNC() at FILE:LINE of its error_setg, per release: Release.chardev_fe_sites).
ERROR_ABORT_AT: Final = "Unexpected error in {}:"
# chardev/char-pty.c char_pty_open(): openpty() failed ({}: strerror).
PTY_CREATE_FAILED: Final = "Failed to create PTY: {}"
RESET_REQUIRED: Final = "Resetting the Virtual Machine is required"
DEVICE_TYPE_NOT_EMULATED: Final = "memdevd: device type '{}' is not emulated"
BUS_NOT_FOUND: Final = "Bus '{}' not found"
DEVICE_CANT_GO_ON_BUS: Final = "Device '{}' can't go on {} bus"
NO_BUS_FOUND: Final = "No '{}' bus found for device '{}'"
BUS_NO_HOTPLUG: Final = "Bus '{}' does not support hotplugging"
DEVICE_NO_HOTPLUG: Final = "Device '{}' does not support hotplugging"
DEVICE_NOT_HOTPLUGGABLE_HERE: Final = "Device '{}' can not be hotplugged on this machine"
DUPLICATE_DEVICE_ID: Final = "Duplicate device ID '{}'"
NOT_A_DEVICE: Final = "{} is not a device"
NOT_A_DEVICE_7_2: Final = "{} is not a hotpluggable device"
DEVICE_UNPLUG_IN_PROGRESS: Final = "Device {} is already in the process of unplug"

# --- hw/mem/memory-device.c ----------------------------------------------------------
DEVICE_MEMORY_NOT_SUPPORTED: Final = (
    "memory devices (e.g. for memory hotplug) are not supported by the machine"
)
DEVICE_MEMORY_NOT_ENABLED: Final = (
    "memory devices (e.g. for memory hotplug) are not enabled, please specify the maxmem option"
)
DEVICE_MEMORY_NOT_PREPARED: Final = (
    "the configuration is not prepared for memory devices (e.g., for memory hotplug),"
    " consider specifying the maxmem option"
)
KVM_NO_FREE_MEMSLOTS_7_2: Final = "hypervisor has no free memory slots left"
VHOST_NO_FREE_MEMSLOTS_7_2: Final = "a used vhost backend has no free memory slots left"
KVM_NO_FREE_MEMSLOTS: Final = "hypervisor has not enough free memory slots left"
VHOST_NO_FREE_MEMSLOTS: Final = "a used vhost backend has not enough free memory slots left"
NOT_ENOUGH_SPACE: Final = (
    "not enough space, currently 0x{:x} in use of total space for memory devices 0x{:x}"
)
ADDRESS_NOT_ALIGNED: Final = "address must be aligned to 0x{:x} bytes"
BACKEND_SIZE_NOT_ALIGNED: Final = "backend memory size must be multiple of 0x{:x}"
CANT_ADD_MEMORY_DEVICE: Final = (
    "can't add memory device [0x{:x}:0x{:x}], usable range for memory devices [0x{:x}:0x{:x}]"
)
DEVICE_TOO_BIG: Final = "can't add memory device, device too big"
ADDRESS_CONFLICT: Final = "address range conflicts with memory device id='{}'"
FRAGMENTED: Final = (
    "could not find position in guest address space for memory device"
    " - memory fragmented due to alignments"
)

# --- hw/mem/pc-dimm.c ------------------------------------------------------------------
MEMDEV_MUST_BE_SET: Final = "'memdev' property must be set"
MEMDEV_NOT_SET: Final = "'memdev' property is not set"
MEMDEV_BUSY: Final = "can't use already busy memdev: {}"
DIMM_INVALID_SLOT: Final = "invalid slot number {}, valid range is [0-{}]"
DIMM_NO_SLOTS_ALLOCATED: Final = "no slots where allocated, please specify the 'slots' option"
DIMM_SLOT_TOO_BIG: Final = "invalid slot# {}, should be less than {}"
DIMM_SLOT_BUSY: Final = "slot {} is busy"
DIMM_NO_FREE_SLOTS: Final = "no free slots available"
DIMM_NODE_EXCEEDS: Final = (
    "'DIMM property node has value {}' which exceeds the number of numa nodes: {}"
)

# --- hw/mem/nvdimm.c -----------------------------------------------------------------
NVDIMM_LABEL_TOO_SMALL: Final = "Property '{}.{}' (0x{:x}) is required at least 0x{:x}"
NVDIMM_BAD_UUID: Final = "Property '{}.{}' has invalid value"
NVDIMM_TOO_SMALL: Final = (
    "the size of memdev {} (0x{:x}) is too small to contain nvdimm label (0x{:x})"
    " and aligned PMEM (0x{:x})"
)
NVDIMM_UNARMED_REQUIRED: Final = "'unarmed' property must be 'on' since memdev {} is read-only"

# --- hw/i386/pc.c, hw/acpi ---------------------------------------------------------------
MEMORY_HOTPLUG_NO_ACPI: Final = (
    "memory hotplug is not enabled: missing acpi device or acpi disabled"
)
MEMORY_HOTPLUG_SUPPORT_NOT_SET: Final = (
    "memory hotplug is not enabled: {}.memory-hotplug-support is not set"
)
NVDIMM_NOT_ENABLED: Final = "nvdimm is not enabled: missing 'nvdimm' in '-M'"
NVDIMM_NO_HOT_UNPLUG: Final = "nvdimm device hot unplug is not supported yet."
PHYS_BITS_TOO_LOW: Final = "Address space limit 0x{:x} < 0x{:x} phys-bits too low ({})"
UNSUPPORTED_RAM_SLOTS: Final = "unsupported amount of memory slots: {}"
MAXMEM_NOT_ALIGNED: Final = "maximum memory size must by aligned to multiple of {} bytes"
UNSUPPORTED_MAXMEM: Final = "unsupported amount of maximum memory: {:x}"
SLOTS_MAXMEM_NOT_SUPPORTED: Final = "\"-memory 'slots|maxmem'\" is not supported by: {}"

# The QMP stubs of another target's commands (11.1's binaries have them all)
SGX_NOT_COMPILED: Final = "SGX support is not compiled in"
SEV_NOT_AVAILABLE: Final = "SEV is not available in this QEMU"
HV_BALLOON_NOT_BUILT: Final = "hv-balloon device not enabled in this build"
GIC_NOT_AVAILABLE: Final = "GIC hardware is not available on this target"
# hw/acpi/acpi-qmp-cmds.c qmp_query_acpi_ospm_status (no ACPI device)
ACPI_OSPM_NO_DEVICE: Final = "command is not supported, missing ACPI device"

# --- hw/arm/virt.c, hw/core/machine.c (the arm virt machine) ----------------------------
# virt_memory_pre_plug / virt_dimm_unplug_request: no acpi-ged (virt-4.1 and
# older, no firmware, acpi=off) or MTE.
VIRT_MEMHP_NO_GED: Final = "memory hotplug is not enabled: missing acpi-ged device"
VIRT_MEMHP_MTE: Final = "memory hotplug is not enabled: MTE is enabled"
VIRT_NVDIMM_NOT_ENABLED: Final = "nvdimm is not enabled: add 'nvdimm=on' to '-M'"
# virt_set_memmap (error_report, then exit)
VIRT_UNSUPPORTED_RAM_SLOTS: Final = "unsupported number of memory slots: {}"
VIRT_MAXMEM_SLOTS_TOO_HUGE: Final = "maxmem/slots too huge"
# Debian 7.2's text ends in "\n" (error_report adds another: an empty line).
VIRT_ADDRESSING_LIMITED_7_2: Final = (
    "Addressing limited to {} bits, but memory exceeds it by {} bytes\n"
)
VIRT_ADDRESSING_LIMITED: Final = "Addressing limited to {} bits, but memory exceeds it by {} bytes"
# virt_cpu_post_init (TCG, aarch64 vCPUs with highmem)
VIRT_VCPU_PA_BITS: Final = "VCPU supports less PA bits ({}) than requested by the memory map ({})"
# machvirt_init (7.2): the CPU type is not one virt takes.
VIRT_CPU_TYPE_NOT_SUPPORTED_7_2: Final = "mach-virt: CPU type {} not supported"
# virt_set_highmem_mmio_size (10.0)
VIRT_HIGHMEM_MMIO_SIZE_NOT_POW2: Final = "highmem-mmio-size is not a power of 2"
VIRT_HIGHMEM_MMIO_SIZE_TOO_LOW: Final = (
    "highmem-mmio-size cannot be set to a lower value than the default ({})"
)
# machvirt_init: vCPUs beyond what the GIC's redistributors take
VIRT_TOO_MANY_CPUS: Final = (
    "Number of SMP CPUs requested ({}) exceeds max CPUs supported by machine 'mach-virt' ({})"
)
VIRT_TRY_HIGHMEM_REDISTS: Final = "Try 'highmem-redists=on' for more CPUs\n"
# finalize_gic_version_do (accelerator name)
VIRT_GIC_HOST_NEEDS_KVM: Final = "gic-version=host requires KVM"
VIRT_GIC_V4_UNSUPPORTED: Final = "{} does not support GICv4 emulation, is virtualization=on?"
VIRT_GIC_V4_NEEDS_VIRT_7_2: Final = "gic-version=4 requires virtualization enabled"
# hw/intc/arm_gicv3_common.c realize (7.2: virt counts a high redistributor
# region that did not fit)
GICV3_REDIST_CAPACITY: Final = (
    "Capacity of the redist regions({}) does not match the number of vcpus({})"
)
# virt_set_gic_version
VIRT_GIC_VERSION_INVALID: Final = "Invalid gic-version value"
VIRT_GIC_VERSION_HINT: Final = "Valid values are 3, 2, host, max.\n"
# hw/arm/virt.c (11.1, seen live): its=on given with a GICv2
VIRT_GICV2_ITS_INVALID: Final = "GICv2 + ITS is an invalid configuration."
# hw/core/machine.c is_cpu_type_supported (8.2+): the text, then its hint.
CPU_MODEL_INVALID: Final = "Invalid CPU model: {}"
CPU_MODEL_VALID_LIST_HINT: Final = "The valid models are: {}\n"
# hw/core/machine.c machine_run_board_init: no -machine and no default.
NO_MACHINE_DEFAULT: Final = "No machine specified, and there is no default"

# --- hw/virtio/virtio-md-pci.c, hw/i386/pc.c (virtio memory devices) -------------------
VIRTIO_MD_UNPLUG_7_2: Final = "virtio based memory devices cannot be unplugged."
VIRTIO_PMEM_UNPLUG: Final = "this virtio based memory devices cannot be unplugged"

# --- backends/hostmem*.c, system/physmem.c, util/memfd.c ----------------------------------
BACKEND_SIZE_ZERO: Final = "can't create backend with size 0"
BACKEND_CANNOT_CHANGE_PROPERTY: Final = "cannot change property {} of {} "
BACKEND_PROPERTY_BAD_VALUE: Final = "property '{}' of {} doesn't take value '{}'"
BACKEND_SIZE_NOT_PAGE_MULTIPLE: Final = "backend '{}' memory size must be multiple of {}"
CANNOT_CHANGE_PROPERTY_VALUE: Final = "cannot change property value"
PREALLOC_RESERVE_INCOMPATIBLE: Final = "'prealloc=on' and 'reserve=off' are incompatible"
HOST_NODES_INVALID: Final = "Invalid host-nodes value: {}"
HOST_NODES_POLICY_DEFAULT: Final = (
    "host-nodes must be empty for policy default, or you should explicitly specify"
    " a policy other than default"
)
HOST_NODES_POLICY_NEEDS_NODES: Final = "host-nodes must be set for policy {}"
HOST_NODES_MBIND_FAILED: Final = "cannot bind memory to host NUMA nodes: {}"
FILE_MEM_PATH_NOT_SET: Final = "mem-path property not set"
FILE_CANNOT_CHANGE_MEM_PATH: Final = "cannot change property 'mem-path' of {}"
FILE_CANNOT_CHANGE: Final = "cannot change property '{}' of {}"
FILE_CANNOT_CHANGE_DOT: Final = "cannot change property '{}' of {}."
FILE_CANNOT_CHANGE_READONLY: Final = "cannot change property 'readonly' of {}."
FILE_ROM_ON_NEEDS_READONLY: Final = "property 'rom' = 'on' is not supported with 'readonly' = 'off'"
FILE_ROM_OFF_READONLY_SHARED: Final = (
    "property 'rom' = 'off' is incompatible with 'readonly' = 'on' and 'share' = 'on'"
)
FILE_ALIGN_NOT_PAGE_MULTIPLE: Final = "alignment 0x{:x} must be multiples of page size 0x{:x}"
FILE_ALIGN_NOT_POWER_OF_2: Final = "alignment 0x{:x} must be a power of two"
FILE_OFFSET_NOT_PAGE_MULTIPLE: Final = "offset 0x{:x} must be multiples of page size 0x{:x}"
FILE_SIZE_BELOW_PAGE: Final = "memory size 0x{:x} must be equal to or larger than page size 0x{:x}"
MEMFD_CREATE_FAILED: Final = "failed to create memfd with flags 0x{:x}: {}"
MEMFD_HUGEPAGE_NOT_POWER_OF_2: Final = "Hugepage size must be a power of 2"
SGX_VEPC_OPEN_FAILED_7_2: Final = (
    "failed to open /dev/sgx_vepc to alloc SGX EPC: No such file or directory"
)
SGX_VEPC_OPEN_FAILED: Final = "Could not open '/dev/sgx_vepc': No such file or directory"

# --- memdevd's own texts (documented in docs/divergences.md) ------------------------------
OBJECT_TYPE_NOT_EMULATED: Final = "memdevd: object type '{}' is not emulated"
# 11.1's monitor objects (monitor/qmp.c, monitor/hmp.c; seen live)
QMP_MONITOR_CURRENT_DELETE: Final = "Cannot delete the current QMP monitor"
HMP_MONITOR_DELETE: Final = "Deleting HMP monitors is not supported"
MONITOR_DELETE_NOT_EMULATED: Final = (
    "memdevd: deleting QMP monitor '{}' of the command line is not emulated"
)

# --- hw/core/numa.c ---------------------------------------------------------------------
NVDIMM_PERSISTENCE_UNSUPPORTED: Final = "-machine nvdimm-persistence={}: unsupported option"
# qmp_set_numa_node: the machine exists unless QEMU waits in --preconfig
SET_NUMA_NODE_TOO_LATE: Final = "The command is permitted only before the machine has been created"
NUMA_NOT_SUPPORTED: Final = "NUMA is not supported by this machine-type"
NUMA_MAX_NODES: Final = "Max number of NUMA nodes reached: {}"
NUMA_DUPLICATE_NODEID: Final = "Duplicate NUMA nodeid: {}"
NUMA_CPU_INDEX: Final = "CPU index ({}) should be smaller than maxcpus ({})"
NUMA_MEM_MIXED: Final = (
    "numa configuration should use either mem= or memdev=,mixing both is not allowed"
)
NUMA_MEM_NOT_SUPPORTED: Final = "Parameter -numa node,mem is not supported by this machine type"
NUMA_MEM_NOT_SUPPORTED_HINT: Final = "Use -numa node,memdev instead\n"
# parse_numa_node: warn_report() on a machine type that still takes mem=
NUMA_MEM_DEPRECATED: Final = "Parameter -numa node,mem is deprecated, use -numa node,memdev instead"
NUMA_MEMDEV_AMBIGUOUS: Final = "memdev={} is ambiguous"
NUMA_NODE_MISSING: Final = "numa: Node ID missing: {}"
NUMA_TOTAL_MISMATCH: Final = "total memory for NUMA nodes (0x{:x}) should equal RAM size (0x{:x})"
NUMA_MACHINE_MEMDEV_EXCLUSIVE: Final = (
    "'-machine memory-backend' and '-numa memdev' properties are mutually exclusive"
)
# parse_numa_distance, validate_numa_distance
NUMA_DIST_RANGE: Final = "Parameter '{}' expects an integer between 0 and {}"
NUMA_DIST_NODE_MISSING: Final = (
    "Source/Destination NUMA node is missing. Please use '-numa node' option to declare it first."
)
NUMA_DIST_TOO_SMALL: Final = "NUMA distance ({}) is invalid, it shouldn't be less than {}."
NUMA_DIST_LOCAL: Final = "Local distance of node {} should be {}."
NUMA_DIST_MISSING: Final = (
    "The distance between node {} and {} is missing, at least one distance value "
    "between each nodes should be provided."
)
NUMA_DIST_ASYMMETRIC: Final = (
    "At least one asymmetrical pair of distances is given, please provide distances "
    "for both directions of all node pairs."
)
# set_numa_options: -numa cpu; machine_set_cpu_numa_node (hw/core/machine.c)
NUMA_CPU_NODE_ID_MISSING: Final = "Missing mandatory node-id property"
NUMA_CPU_NODE_UNDEFINED: Final = (
    "Invalid node-id={}, NUMA node must be defined with -numa node,nodeid=ID before "
    "it's used with -numa cpu,node-id=ID"
)
NUMA_CPU_PROP_UNSUPPORTED: Final = "{} is not supported"
NUMA_CPU_NO_MATCH: Final = "no match found"
# HMAT: -machine hmat=on, -numa node,initiator=, hmat-lb, hmat-cache
HMAT_DISABLED: Final = (
    "ACPI Heterogeneous Memory Attribute Table (HMAT) is disabled, enable it with "
    "-machine hmat=on before using any of hmat specific options"
)
HMAT_INITIATOR_ID_RANGE: Final = "The initiator id {} expects an integer between 0 and {}"
HMAT_CPU_INITIATOR_NOT_SELF: Final = "The initiator of CPU NUMA node {} should be itself (got {})"
HMAT_INITIATOR_NODE_MISSING: Final = (
    "NUMA node {} is missing, use '-numa node' option to declare it first"
)
HMAT_INITIATOR_INVALID: Final = "The initiator of NUMA node {} is invalid"
# hw/acpi/pci.c build_acpi_generic_initiator (error_printf, then exit)
GENERIC_INITIATOR_NODE_INVALID: Final = "acpi-generic-initiator: Specified node {} is invalid."
GENERIC_INITIATOR_NOT_PCI: Final = "acpi-generic-initiator: Specified device must be a PCI device."
HMAT_LB_INITIATOR_RANGE: Final = "Invalid initiator={}, it should be less than {}"
HMAT_LB_TARGET_RANGE: Final = "Invalid target={}, it should be less than {}"
HMAT_LB_NOT_INITIATOR: Final = "Invalid initiator={}, it isn't an initiator proximity domain"
HMAT_LB_TARGET_MISSING: Final = "The target={} should point to an existing node"
HMAT_LB_LATENCY_MISSING: Final = "Missing 'latency' option"
HMAT_LB_BANDWIDTH_FOR_LATENCY: Final = "Invalid option 'bandwidth' since the data type is latency"
HMAT_LB_DUPLICATE: Final = "Duplicate configuration of the {} for initiator={} and target={}"
HMAT_LB_LATENCY_RANGE: Final = (
    "Latency {} between initiator={} and target={} should not differ from previously "
    "entered min or max values on more than {}"
)
HMAT_LB_BANDWIDTH_MISSING: Final = "Missing 'bandwidth' option"
HMAT_LB_LATENCY_FOR_BANDWIDTH: Final = "Invalid option 'latency' since the data type is bandwidth"
HMAT_LB_BANDWIDTH_UNALIGNED: Final = (
    "Bandwidth {} between initiator={} and target={} should be 1MB aligned"
)
HMAT_LB_BANDWIDTH_RANGE: Final = (
    "Bandwidth {} between initiator={} and target={} should not differ from previously "
    "entered values on more than {}"
)
HMAT_CACHE_NODE_RANGE: Final = "Invalid node-id={}, it should be less than {}"
HMAT_CACHE_LB_FIRST: Final = (
    "The latency and bandwidth information of node-id={} should be provided before "
    "memory side cache attributes"
)
HMAT_CACHE_LEVEL_RANGE: Final = (
    "Invalid level={}, it should be larger than 0 and less than or equal to {}"
)
HMAT_CACHE_DUPLICATE: Final = (
    "Duplicate configuration of the side cache for node-id={} and level={}"
)
HMAT_CACHE_LEVEL_FIRST: Final = "Cache level={} shall be defined first"
HMAT_CACHE_SIZE_BELOW: Final = (
    "Invalid size={}, the size of level={} should be larger than the size({}) of level={}"
)
HMAT_CACHE_SIZE_ABOVE: Final = (
    "Invalid size={}, the size of level={} should be less than the size({}) of level={}"
)

# --- system/vl.c, hw/core/machine.c, accel/kvm (start-up) --------------------------------
UNSUPPORTED_MACHINE_TYPE_7_2: Final = "unsupported machine type"
UNSUPPORTED_MACHINE_TYPE: Final = 'unsupported machine type: "{}"'
MACHINE_HELP_HINT: Final = "Use -machine help to list supported machines\n"
MAXMEM_BELOW_SIZE: Final = (
    "invalid value of maxmem: maximum memory size (0x{:x}) must be at least"
    " the initial memory size (0x{:x})"
)
MAXMEM_EQUALS_SIZE_WITH_SLOTS: Final = (
    "invalid value of maxmem: memory slots were specified but maximum memory size"
    " (0x{:x}) is equal to the initial memory size (0x{:x})"
)
SLOTS_WITHOUT_MAXMEM: Final = "slots specified but no max-size"
# kvm_init(): what it prints when /dev/kvm cannot be used ({} is strerror(errno)).
KVM_OPEN_FAILED: Final = "Could not access KVM kernel module: {}"
KVM_VERSION_TOO_OLD: Final = "kvm version too old"
KVM_VERSION_NOT_SUPPORTED: Final = "kvm version not supported"
KVM_CREATE_VM_FAILED_7_2: Final = "ioctl(KVM_CREATE_VM) failed: {errno} {strerror}"
KVM_CREATE_VM_FAILED: Final = "ioctl(KVM_CREATE_VM) failed: {strerror}"  # do_kvm_create_vm()
# do_configure_accelerator(): accelerator name, strerror of kvm_init()'s result.
ACCEL_INIT_FAILED: Final = "failed to initialize {}: {}"
ACCEL_FALLBACK: Final = "falling back to {}"
ACCEL_INVALID: Final = "invalid accelerator {}"
MACHINE_NOT_EMULATED: Final = "memdevd: machine type '{}' is not emulated (pc and q35 are)"
OPTION_NOT_EMULATED: Final = "memdevd: option {} is not emulated"

# --- hw/virtio/virtio-mem.c, virtio-mem-pci.c, virtio-pmem.c, virtio-md-pci.c ------------
VIRTIO_MEM_MEMDEV_BUSY: Final = "'memdev' property specifies a busy memdev: {}"
VIRTIO_MEM_MEMDEV_UNSUPPORTED: Final = "'memdev' property specifies an unsupported memdev"
VIRTIO_MEM_MEMDEV_PREALLOC: Final = (
    "'memdev' property specifies a memdev with preallocation enabled: {}."
    " Instead, specify 'prealloc=on' for the virtio-mem device. "
)
VIRTIO_MEM_NODE_EXCEEDS: Final = (
    "'node' property has value '{}', which exceedsthe number of numa nodes: {}"
)
VIRTIO_MEM_DYNAMIC_MEMSLOTS_NEED_INACCESSIBLE: Final = (
    "'dynamic-memslots' property set to 'on' requires 'unplugged-inaccessible' to be 'on'"
)
VIRTIO_MEM_BLOCK_SIZE_BELOW_PAGE: Final = (
    "'block-size' property has to be at least the page size (0x{:x})"
)
VIRTIO_MEM_REQUESTED_SIZE_NOT_MULTIPLE: Final = (
    "'requested-size' property has to be multiples of 'block-size' (0x{:x})"
)
VIRTIO_MEM_MEMADDR_NOT_MULTIPLE: Final = (
    "'memaddr' property has to be multiples of 'block-size' (0x{:x})"
)
VIRTIO_MEM_MEMDEV_SIZE_NOT_MULTIPLE: Final = (
    "'memdev' property memdev size has to be multiples of'block-size' (0x{:x})"
)
# Property setters; the first field is the property name.
VIRTIO_MEM_SET_NOT_MULTIPLE: Final = "'{}' has to be multiples of 'block-size' (0x{:x})"
VIRTIO_MEM_SET_EXCEEDS_BACKEND: Final = "'{}' cannot exceed the memory backend size(0x{:x})"
VIRTIO_MEM_SET_CANNOT_CHANGE: Final = "'{}' cannot be changed"
VIRTIO_MEM_SET_BLOCK_SIZE_TOO_SMALL: Final = "'{}' property has to be at least 0x{:x}"
VIRTIO_MEM_SET_BLOCK_SIZE_NOT_POW2: Final = "'{}' property has to be a power of two"
VIRTIO_MEM_SET_UNPLUG_PENDING: Final = (
    "'{}' cannot be changed if the device is in the process of unplug"
)
VIRTIO_MEM_UNPLUG_NOT_INACCESSIBLE: Final = (
    "virtio-mem device cannot get unplugged while 'unplugged-inaccessible' != 'on'"
)
VIRTIO_MEM_UNPLUG_STILL_PLUGGED: Final = (
    "virtio-mem device cannot get unplugged while some of its memory is still plugged"
)
VIRTIO_MEM_UNPLUG_REQUESTED_SIZE: Final = (
    "virtio-mem device cannot get unplugged while 'requested-size' != '0'"
)
VIRTIO_PMEM_MEMDEV_NOT_SET: Final = "virtio-pmem memdev not set"
VIRTIO_MD_HOTPLUG_NOT_SUPPORTED: Final = (
    "hotplug of virtio based memory devices not supported on this bus."
)
VIRTIO_MD_HOTUNPLUG_NOT_SUPPORTED: Final = (
    "hotunplug of virtio based memory devices notsupported on this bus"
)

# --- hw/pci/pci.c, hw/core/qdev-properties-system.c, hw/pci/pcie_port.c -------------------
PCI_NO_FREE_DEVFN: Final = "PCI: no slot/function available for {}, all in use or reserved"
# hw/pci/msix.c msix_init: the interrupt controller takes no MSI (msi_nonbroken)
MSIX_NOT_SUPPORTED: Final = "MSI-X is not supported by interrupt controller"
# hw/pci/slotid_cap.c slotid_cap_init (pci-bridge, pci-bridge-seat)
BRIDGE_CHASSIS_NOT_SPECIFIED: Final = (
    "Bridge chassis not specified. Each bridge is required to be assigned a unique chassis id > 0."
)
# hw/pci/pci_bridge.c pci_bridge_qemu_reserve_cap_init
RESERVE_CAP_PREF_CONFLICT: Final = "PCI resource reserve cap: PREF32 and PREF64 conflict"
RESERVE_CAP_MEM_TOO_BIG: Final = "PCI resource reserve cap: mem-reserve must be less than 4G"
RESERVE_CAP_PREF32_TOO_BIG: Final = (
    "PCI resource reserve cap: pref32-reserve  must be less than 4G"  # sic: two spaces
)
PCI_DEVFN_IN_USE: Final = "PCI: slot {} function {} not available for {}, in use by {},id={}"
PCI_FUNCTION_0_OCCUPIED: Final = (
    "PCI: slot {} function 0 already occupied by {}, new func {} cannot be exposed to guest."
)
PCI_SINGLE_FUNCTION_DEVICE: Final = (
    "PCI: single function device can't be populated in function {:x}.{:x}"
)
PCI_FUNCTION_0_SINGLE: Final = (
    "PCI: {:x}.0 indicates single function, but {:x}.{:x} is already populated."
)
PCI_DEVFN_RANGE: Final = "a value between -1 and 255"
PCIE_CHASSIS_SLOT_FAILED: Final = "Can't add chassis slot, error {}"
# system/vl.c (qemu_apply_legacy_machine_options); the missing space is QEMU's.
MEM_PATH_WITH_MEMORY_BACKEND: Final = (
    "'-mem-path' can't be used together with'-machine memory-backend'"
)
FILE_CANT_OPEN: Final = "can't open backing store {} for guest RAM: {}"
# {name}: the RAM block, {file_size}, {size}, {offset}: as the release prints them.
BACKING_STORE_SIZE_MISMATCH_7_2: Final = (
    "backing store size 0x{file_size:x} does not match 'size' option 0x{size:x}"
)
BACKING_STORE_TOO_SMALL: Final = (
    "{name} backing store size 0x{file_size:x} is too small for 'size' option 0x{size:x}"
    " plus 'offset' option 0x{offset:x}"
)

# --- hw/i386/sgx-epc.c, hw/i386/sgx.c (SGX EPC sections) --------------------------------
SGX_EPC_MEMDEV_MUST_BE_SET: Final = "'memdev' property must be set"
SGX_EPC_MEMDEV_NOT_SET: Final = "'memdev' property is not set"
# "0x%"PRIu64: QEMU prints the size in decimal after the "0x".
SGX_EPC_WRAP: Final = "Size of all 'sgx-epc' =0x{} causes EPC to wrap"
SGX_ONLY_PC: Final = "SGX is only supported on PC machines"
SGX_NO_EPC: Final = "No EPC regions defined, SGX not available"
# qmp_query_sgx_capabilities: 7.2 and 8.2 (qemu_open_old), 9.1+ (qemu_open + hint).
SGX_NOT_ENABLED_IN_KVM: Final = "SGX is not enabled in KVM"

# --- hw/cxl/cxl-host.c, hw/cxl/cxl-component-utils.c, hw/pci-bridge/pci_expander_bridge.c,
# --- hw/mem/cxl_type3.c (CXL) -------------------------------------------------------------
CXL_INTERLEAVE_WAYS: Final = "Interleave ways: {} not supported"
CXL_FMW_SIZE_7_2: Final = "Size of a CXL fixed memory window must my a multiple of 256MiB"
CXL_FMW_SIZE: Final = "Size of a CXL fixed memory window must be a multiple of 256MiB"
CXL_INTERLEAVE_GRANULARITY: Final = "Interleave granularity: {} invalid"
CXL_FMW_TARGET_UNRESOLVED: Final = "Could not resolve CXLFM target {}"
CXL_HOST_BRIDGES_CXL_OFF: Final = "CXL host bridges present, but cxl=off"
# hw/pci/pci.c do_pci_register_device: an expander's root bus.
PCI_ONLY_BRIDGES: Final = "PCI: Only PCI/PCIe bridges can be plugged into {}"
PXB_CXL_NO_SPACE: Final = "Insufficient space for pxb cxl host register space"
PXB_CXL_ON_PCI_BUS: Final = "pxb-cxl devices cannot reside on a PCI bus"
PXB_PCIE_ON_PCI_BUS: Final = "pxb-pcie devices cannot reside on a PCI bus"
PXB_ON_PCIE_BUS: Final = "pxb devices cannot reside on a PCIe bus"
PXB_ONLY_ROOT_BUS: Final = "PXB devices can be attached only to root bus"
PXB_BUS_IN_USE: Final = "Bus {} is already in use"
PXB_ILLEGAL_NUMA_NODE: Final = "Illegal numa node {}"
# cxl_type3.c cxl_setup_memory: 7.2 (memdev and lsa only), 8.0+ (volatile memory).
CXL_T3_MEMDEV_MUST_BE_SET_7_2: Final = "memdev property must be set"
CXL_T3_LSA_MUST_BE_SET_7_2: Final = "lsa property must be set"
CXL_T3_NO_MEMDEV: Final = "at least one memdev property must be set"
CXL_T3_MEMDEV_AND_PERSISTENT: Final = (
    "[memdev] cannot be used with new [persistent-memdev] property"
)
CXL_T3_LSA_FOR_PERSISTENT: Final = "lsa property must be set for persistent devices"
CXL_T3_BACKEND_USED: Final = "memory backend {} can't be used multiple times."
CXL_SWITCH_CCI_NO_TARGET: Final = "Target not set"
CXL_T3_DC_NO_BACKEND: Final = "dynamic capacity must have a backing device"
CXL_T3_DC_SIZE_NOT_MULTIPLE: Final = "backend size is not multiple of region len: 0x{:x}"
CXL_T3_DC_REGION_UNALIGNED: Final = "DC region size is unaligned to 0x{:x}"
CXL_T3_DC_BASE_UNALIGNED: Final = "DC region base not aligned to 0x{:x}"
# memdevd's own (docs/divergences.md): more regions than QEMU's array holds.
CXL_DC_TOO_MANY_REGIONS: Final = "memdevd: cxl-type3 has at most {} dynamic capacity regions"

# --- hw/hyperv/hv-balloon.c, hw/hyperv/vmbus.c, system/balloon.c -------------------------
HV_BALLOON_ONLY_ONE: Final = "Only one balloon device is supported"
HV_BALLOON_MEMDEV_BUSY: Final = "'memdev' property specifies a busy memdev: {}"
HV_BALLOON_MEMDEV_SIZE: Final = "'memdev' property memdev size has to be a multiple of 0x{:x}"
# Sic: QEMU names the memdev property where it means "addr".
HV_BALLOON_ADDR_WITHOUT_MEMDEV: Final = "'memdev' property must not be set without a memdev"
HV_BALLOON_NOT_PRESENT: Final = "no hv-balloon device present"
HV_BALLOON_STATUS_NOT_ENABLED: Final = "guest memory status reporting not enabled"
HV_BALLOON_NO_STATUS_YET: Final = "no guest memory status report received yet"
VMBUS_DUPLICATE_INSTANCE_ID: Final = "duplicate vmbus device instance id {}"
VMBUS_BRIDGE_AT_MOST_ONE: Final = "there can be at most one vmbus-bridge in the system"
# error_report() in vmbus_bridge_realize: printed, the bridge is created without a bus.
VMBUS_NEEDS_SYNIC: Final = "VMBus requires usable Hyper-V SynIC and VP_INDEX"
BALLOON_NOT_ACTIVE: Final = "No balloon device has been activated"
# hw/virtio/virtio-balloon.c balloon_stats_set_poll_interval
BALLOON_TIMER_NEGATIVE: Final = "timer value must be greater than zero"
BALLOON_TIMER_TOO_BIG: Final = "timer value is too big"
MAX_RAM_BELOW_4G_TOO_BIG: Final = (
    "Machine option 'max-ram-below-4g={}' expects size less than or equal to 4G"
)
MEMFD_RESIZE_FAILED: Final = "failed to resize memfd to {}: {}"
CANNOT_SET_UP_GUEST_MEMORY: Final = "cannot set up guest memory '{}': Cannot allocate memory"
# util/oslib-posix.c qemu_prealloc_mem(), with strerror(errno)
PREALLOC_FAILED: Final = "qemu_prealloc_mem: preallocating memory failed: {}"
UNABLE_TO_MAP_BACKING_STORE: Final = "unable to map backing store for guest RAM: {}"

# --- crypto/secret.c, secret_common.c, util/base64.c ---------------------------------------
SECRET_FILE_AND_DATA: Final = "'file' and 'data' are mutually exclusive"
# g_file_get_contents()'s GError message follows the colon.
SECRET_UNABLE_TO_READ: Final = "Unable to read {}: {}"
SECRET_NO_DATA: Final = "Either 'file' or 'data' must be provided"
SECRET_NOT_FOUND: Final = "No secret with id '{}'"
SECRET_NOT_A_SECRET: Final = "Object with id '{}' is not a secret"
SECRET_HAS_NO_DATA: Final = "Secret with id '{}' has no data"
SECRET_NOT_UTF8: Final = "Data from secret {} is not valid UTF-8"
SECRET_ENCRYPTED_NOT_EMULATED: Final = "memdevd: encrypted secrets (keyid) are not emulated"
BASE64_INVALID_CHARACTERS: Final = "Base64 data contains invalid characters"

# --- vCPUs: hw/core/machine-smp.c, hw/core/machine.c, hw/i386/x86.c, cpu.c,
#     target/i386/cpu.c ----------------------------------------------------------
SMP_ZERO_DEPRECATED_7_2: Final = (
    "Deprecated CPU topology (considered invalid): "
    "CPU topology parameters must be greater than zero"
)
SMP_ZERO_INVALID: Final = "Invalid CPU topology: CPU topology parameters must be greater than zero"
# {level}: dies, clusters (7.2); modules, clusters, dies, books, drawers (10.0).
SMP_LEVEL_NOT_SUPPORTED_7_2: Final = "{} not supported by this machine's CPU topology"
SMP_LEVEL_NOT_SUPPORTED: Final = "{} > 1 not supported by this machine's CPU topology"
SMP_PRODUCT_MISMATCH: Final = (
    "Invalid CPU topology: product of the hierarchy must match maxcpus: {} != maxcpus ({})"
)
SMP_MAXCPUS_BELOW_CPUS: Final = (
    "Invalid CPU topology: maxcpus must be equal to or greater than smp: "
    "{} == maxcpus ({}) < smp_cpus ({})"
)
SMP_TOO_MANY_CPUS: Final = "Invalid SMP CPUs {}. The max CPUs supported by machine '{}' is {}"
SMP_NEEDS_X2APIC_7_2: Final = (
    "current -smp configuration requires kernel irqchip and X2APIC API support."
)
CPU_OPTION_EMPTY: Final = "-cpu option cannot be empty"
CPU_MODEL_NOT_FOUND_CLI: Final = "unable to find CPU model '{}'"
CPU_MODEL_NOT_FOUND: Final = "CPU model '{}' not found"
CPU_MODEL_NEEDS_KVM: Final = "CPU model '{}' requires KVM or HVF"
CPU_APIC_ID_UNSET: Final = "apic-id property was not initialized properly"
# target/i386/cpu.c x86_cpu_parse_featurestr, x86_cpu_filter_features,
# x86_cpu_realizefn, x86_cpuid_set_vendor; target/i386/host-cpu.c
CPU_AMBIGUOUS_FEATURE: Final = 'Ambiguous CPU model string. Don\'t mix both "{}{}" and "{}={}"'
CPU_AMBIGUOUS_COMPAT: Final = (
    "Compatibility of ambiguous CPU model strings won't be kept on future QEMU versions"
)
CPU_BAD_TSC_FREQ: Final = "bad numerical value {}"
CPU_TCG_UNSUPPORTED_FEATURE: Final = "TCG doesn't support requested feature: {}"
CPU_TCG_UNSUPPORTED_FEATURES: Final = "TCG doesn't support requested features"
# x86_cpu_expand_features(): a flag asked for without what it depends on
CPU_FEATURE_DEPENDS: Final = "This feature depends on other features that were not requested: {}"
# x86_cpu_expand_features() (11.1): flags that conflict (MPX and APX), all on,
# all go off; the other's name and the flag's description are recorded
# (cpu-models.json "conflicts")
CPU_FEATURE_CONFLICT: Final = "this feature conflicts with {}: {}"
# x86_cpu_expand_features(): intel-pt with x-intel-pt-auto-level off below leaf 0x14
CPU_INTEL_PT_LEVEL: Final = (
    'Intel PT need CPUID leaf 0x14, please set by "-cpu ...,intel-pt=on,min-level=0x14": {}'
)
CPU_PHYS_BITS_RANGE: Final = "phys-bits should be between 32 and {}  (but is {})"
# 11.1: no upper bound any more (TARGET_PHYS_ADDR_SPACE_BITS dropped from the check).
CPU_PHYS_BITS_AT_LEAST_32: Final = "phys-bits should be at least 32 (but is {})"
CPU_PHYS_BITS_32BIT: Final = "phys-bits is not user-configurable in 32 bit"
CPU_HOST_PHYS_BITS_MISMATCH: Final = (
    "Host physical bits ({}) does not match phys-bits property ({})"
)
CPU_VENDOR_LENGTH: Final = "value of property 'vendor' must consist of exactly 12 characters"
# hw/core/machine-qmp-cmds.c qmp_query_hotpluggable_cpus (7.2: QERR_FEATURE_DISABLED)
HOTPLUGGABLE_CPUS_DISABLED_7_2: Final = "The feature 'query-hotpluggable-cpus' is not enabled"
HOTPLUGGABLE_CPUS_UNSUPPORTED: Final = "machine does not support hot-plugging CPUs"
NUMA_CPU_ALREADY_ASSIGNED: Final = "CPU is already assigned to node-id: {}"
NUMA_CPUS_NOT_MAPPED: Final = "CPU(s) not present in any NUMA nodes: {}"
NUMA_PARTIAL_MAPPING: Final = (
    "All CPU(s) up to maxcpus should be described in NUMA config, ability to start up "
    "with partial NUMA mappings is obsoleted and will be removed in future"
)
# util/qemu-config.c qmp_query_command_line_options
INVALID_OPTION_NAME: Final = "invalid option name: {}"

# memdevd's own refusals about vCPUs and recorded capability answers
CPU_MODEL_NOT_RECORDED: Final = (
    "memdevd: CPU model '{}' is not emulated with {} (recorded models: {})"
)
CPU_FEATURES_NOT_EMULATED_KVM: Final = (
    "memdevd: CPU features on -cpu are not emulated under KVM: '{}'"
)
CPU_UNPLUG_NOT_EMULATED: Final = "memdevd: vCPU hot-unplug is not emulated"
EXPANSION_NOT_RECORDED: Final = (
    "memdevd: query-cpu-model-expansion with these arguments was not recorded with {}"
    " (recorded: {})"
)
ANSWER_NOT_RECORDED: Final = "memdevd: the {} answer of {} was not recorded"

# --- util/qemu-option.c, util/keyval.c, qapi/qobject-input-visitor.c ---------------------
VALUE_OUT_OF_RANGE: Final = "Value '{}' is out of range for parameter '{}'"
#: parse_option_size's hint after an invalid size
SIZE_SUFFIX_HINT: Final = (
    "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
    "and exabytes, respectively.\n"
)
VALUE_TOO_LARGE: Final = "Value '{}' is too large for parameter '{}'"
SHORT_FORM_BOOLEAN_DEPRECATED: Final = "short-form boolean option '{}' deprecated"
DUPLICATE_OPTS_ID: Final = "Duplicate ID '{}' for {}"
# {}: the key prefix, ending in "." ("Parameters 'a.*' used inconsistently").
KEYVAL_PARAMETERS_INCONSISTENT: Final = "Parameters '{}*' used inconsistently"
KEYVAL_PARAMETER_INCONSISTENT: Final = "Parameter '{}' used inconsistently"
# {}: "" or " fragment", then the key.
KEYVAL_PARAMETER_TOO_LONG: Final = "Parameter{} '{}' is too long"
KEYVAL_EXPECTED_EQUALS: Final = "Expected '=' after parameter '{}'"
KEYVAL_PARAMETER_MISSING: Final = "Parameter '{}' missing"
HELP_NOT_AVAILABLE: Final = "Help is not available for this option"
UNEXPECTED_PARAMETERS: Final = "Parameters '{}.*' are unexpected"
KEYVAL_PARAMETER_INTERNAL: Final = "Internal error: parameter {} invalid"
# qobject/qjson.c, qobject/json-parser.c
EXPECTING_JSON_VALUE: Final = "Expecting a JSON value"
JSON_PARSE_ERROR: Final = "JSON parse error, {}"
# 11.1's push parser (qobject/json-parser.c rewritten): every parse error is
# prefixed with the line and column of the token it stopped at (1-based,
# bytes), and the parser's own texts changed (formatted into "JSON parse
# error, {}" as above).
JSON_ERROR_AT: Final = "{}:{}: {}"
JSON_EXPECTING_KEY: Final = "JSON parse error, expecting key"
JSON_EXPECTING_COLON: Final = "JSON parse error, expecting ':'"
JSON_EXPECTED_COMMA_OR_RSQUARE: Final = "JSON parse error, expected ',' or ']'"
JSON_EXPECTED_COMMA_OR_RCURLY: Final = "JSON parse error, expected ',' or '}'"
JSON_PREMATURE_END_OF_INPUT: Final = "JSON parse error, premature end of input"
# The stray-character message part (11.1 reports it through parse_error()).
JSON_STRAY_PART: Final = "stray '{}'"

# --- system/vl.c (option loop), chardev/char.c, monitor/monitor.c ------------------------
OPTION_INVALID: Final = "invalid option"
OPTION_REQUIRES_ARGUMENT: Final = "requires an argument"
OPTION_NOT_FOR_TARGET: Final = "Option not supported for this target"
OPTION_PARSE_ERROR: Final = "parse error: {}"
CHARDEV_MON_NOT_SUPPORTED: Final = "mon: isn't supported in this context"
CHARDEV_NOT_VALID_DRIVER: Final = "'{}' is not a valid char driver"
CHARDEV_NOT_FOUND: Final = 'chardev "{}" not found'
CHARDEV_SOCKET_NO_HOST: Final = "chardev: socket: no host given"
# system/runstate.c qemu_system_killed() → main loop
TERMINATING_ON_SIGNAL: Final = "terminating on signal {}"
# runstate.c qemu_kill_report: a signal another process sent (si_pid != 0),
# named by the first word of /proc/PID/cmdline (qemu_get_pid_name).
TERMINATING_ON_SIGNAL_FROM: Final = "terminating on signal {} from pid {} ({})"
UNKNOWN_PROCESS: Final = "<unknown process>"
# os-posix.c / util/oslib-posix.c qemu_write_pidfile() ({}: strerror)
PIDFILE_OPEN_FAILED: Final = "Cannot open pid file: {}"
PIDFILE_LOCK_FAILED: Final = "Cannot lock pid file: {}"

# --- util/qemu-sockets.c (QMP listeners) --------------------------------------------------
ADDRESS_RESOLUTION_FAILED: Final = "address resolution failed for {}:{}: {}"
NO_AVAILABLE_PORT: Final = "Failed to find an available port: {}"
UNIX_PATH_TOO_LONG: Final = "UNIX socket path '{}' is too long"
UNIX_PATH_TOO_LONG_HINT: Final = "Path must be less than {} bytes\n"
UNIX_BIND_FAILED: Final = "Failed to bind socket to {}: {}"
# memdevd's own: QEMU unlinks whatever is at the path, memdevd only a stale socket.
UNIX_PATH_NOT_A_SOCKET: Final = "path exists and is not a socket"

# util/qemu-sockets.c: listening and connecting as the displays do (VNC, reverse VNC)
UNIX_SOCKET_CREATE_FAILED: Final = "Failed to create Unix socket: {}"
IPV4_IPV6_BOTH_DISABLED: Final = "Cannot disable IPv4 and IPv6 at same time"
KEEP_ALIVE_PASSIVE: Final = "keep-alive option is not supported for passive sockets"
HOST_PORT_NOT_SPECIFIED: Final = "host and/or port not specified"
UNIX_CONNECT_NO_PATH: Final = "unix connect: no path specified"
CONNECT_SOCKET_FAMILY_FAILED: Final = "Failed to create socket family {}: {}"
# monitor/fds.c monitor_get_fd(): display-update's "fd" addresses
FD_NOT_FOUND: Final = "File descriptor named '{}' has not been found"

# --- ui/vnc.c, ui/keymaps.c, ui/console.c, system/vl.c (displays) -------------------------
# ui/vnc.c vnc_init_func(): assert(id) of a [vnc] group without "id" (a
# -readconfig file), as each build prints it before abort() (seen live).
VNC_INIT_ID_ASSERTION_7_2: Final = "../../ui/vnc.c:4308: vnc_init_func: Assertion `id' failed."
VNC_INIT_ID_ASSERTION: Final = "ui/vnc.c:4294: vnc_init_func: Assertion `id' failed."
VNC_NO_PORT: Final = "no vnc port specified"
VNC_PORT_EMPTY: Final = "vnc port cannot be empty"
# also util/qemu-sockets.c inet_listen_saddr()
PORT_NOT_A_NUMBER: Final = "can't convert to a number: {}"
PORT_OUT_OF_RANGE: Final = "port {} out of range"
VNC_UNIX_WEBSOCKET_7_2: Final = "UNIX sockets not supported with websock"
VNC_UNIX_PORT_RANGE: Final = "Port range not support with UNIX socket"
VNC_WEBSOCKET_PORT_REQUIRED: Final = "explicit websocket port is required"
VNC_PASSWORD_REDUNDANT: Final = "'password' flag is redundant with 'password-secret'"
VNC_NO_TLS_CREDS: Final = "No TLS credentials with id '{}'"
VNC_NOT_TLS_CREDS: Final = "Object with id '{}' is not TLS credentials"
VNC_TLS_AUTHZ_WITHOUT_TLS: Final = "'tls-authz' provided but TLS is not enabled"
VNC_SASL_AUTHZ_WITHOUT_SASL: Final = "'sasl-authz' provided but SASL auth is not enabled"
VNC_UNKNOWN_SHARE: Final = "unknown vnc share= option"
VNC_AUDIODEV_NOT_FOUND_7_2: Final = "Audiodev '{}' not found"
# audio/audio.c audio_state_by_name() (8.2 on: the error moved there)
AUDIODEV_NOT_FOUND: Final = "audiodev '{}' not found"
VNC_REVERSE_WEBSOCKET: Final = "Cannot use websockets in reverse mode"
VNC_REVERSE_SINGLE_ADDRESS: Final = "Expected a single address in reverse mode"
VNC_DISPLAY_NOT_FOUND: Final = "Can not find vnc display"
VNC_TLS_NOT_ENABLED: Final = "vnc tls is not enabled"
VNC_TLS_CREDS_UNSUPPORTED: Final = "Unsupported TLS cred type {}"
TLS_CREDS_NO_RELOAD: Final = "{} doesn't support to reload TLS credential"
TLS_CREDS_NO_RELOAD_11_1: Final = "{} does not support reloading credentials"
# crypto/tlscreds.c qcrypto_tls_creds_check_endpoint()
TLS_CREDS_WRONG_ENDPOINT: Final = "Expected TLS credentials for a {} endpoint"
# error_printf_unless_qmp(): printed plain, host and port
VNC_SERVER_RUNNING: Final = "VNC server running on {}:{}"
KEYMAP_UNREADABLE: Final = "could not read keymap file: '{}'"
KEYMAP_NOT_FOUND_11_1: Final = "could not find keymap file for language '{}'"
CONSOLE_NOT_BOUND: Final = "Device {} (head {}) is not bound to a QemuConsole"
VNC_REQUIRES_DISPLAY: Final = "VNC requires a display argument vnc=<display>"
DISPLAY_NOT_AVAILABLE_7_2: Final = "Display '{}' is not available."
# Debian 10.0 names the package that has the module ({}: the type, the package)
DISPLAY_NOT_AVAILABLE: Final = (
    "Display '{}' is not available. Perhaps you want to install {} package?"
)
DISPLAY_HELP_HEADER: Final = "Available display backend types:"
DISPLAY_HELP_FOOTER: Final = (
    "\nSome display backends support suboptions, which can be set with\n"
    "   -display backend,option=value,option=value...\n"
    "For a short list of the suboptions for each display, see the "
    "top-level -help output; more detail is in the documentation."
)
# Debian's util/module.c note on a module not installed (printed plain):
# prefix, module name, package
MODULE_NOT_FOUND_NOTE: Final = "qemu: module {}{} not found, do you want to install {} package?"
# util/module.c module_object_class_by_name(NULL), met by 7.2's -vga checks
TYPE_IS_NULL: Final = "type is NULL"
VGA_UNKNOWN_TYPE: Final = "unknown vga type: {}"
VGA_NOT_AVAILABLE_7_2: Final = "{} not available"
VGA_NOT_AVAILABLE: Final = "{} not available. Perhaps you want to install {} package?"
VGA_NOT_USED: Final = (
    "A -vga option was passed but this machine type does not use that option;"
    " No VGA device has been created"
)
OPENGL_NOT_SUPPORTED_7_2: Final = "OpenGL is not supported by the display"
OPENGL_NOT_SUPPORTED: Final = "OpenGL is not supported by display backend '{}'"
WINDOW_CLOSE_ONLY_GTK_SDL: Final = "window-close is only valid for GTK and SDL, ignoring option"
NOGRAPHIC_WITH_DAEMONIZE: Final = "-nographic cannot be used with -daemonize"
CURSES_WITH_DAEMONIZE: Final = "curses display cannot be used with -daemonize"
# ui/curses.c (fprintf, printed plain)
CURSES_NEEDS_TERMINAL: Final = "We need a terminal output"
# ui/egl-helpers.c, ui/egl-headless.c
EGL_NO_RENDER_NODE: Final = "egl: no drm render node available"
EGL_RENDER_NODE_INIT_FAILED: Final = "egl: render node init failed"
DBUS_RENDER_NODE_INIT_FAILED: Final = "dbus: render node init failed"
# ui/dbus.c (gio's message for a session bus it cannot find or autolaunch)
DBUS_ADDR_AND_P2P: Final = "dbus: can't accept both addr=X and p2p=yes options"
DBUS_CONNECT_FAILED: Final = "failed to connect to DBus: {}"
DBUS_NO_SESSION_BUS: Final = "Cannot autolaunch D-Bus without X11 $DISPLAY"
# ui/spice-app.c
SPICE_APP_FULL_SCREEN: Final = "spice-app full-screen isn't supported yet."
SPICE_APP_WINDOW_CLOSE: Final = "spice-app window-close isn't supported yet."
SPICE_APP_LAUNCHING: Final = "Launching display with URI: {}"
SPICE_APP_LAUNCH_FAILED: Final = "Failed to launch {} URI: {}"
SPICE_APP_NEEDS_CLIENT: Final = "You need a capable Spice client, such as virt-viewer 8.0"
# gio g_app_info_launch_default_for_uri() without a handler for the scheme
SPICE_APP_NO_HANDLER: Final = "Operation not supported"
# util/qemu-config.c find_list() (10.0 without the spice module), then Debian's hint
NO_OPTION_GROUP: Final = "There is no option group '{}'"
# util/qemu-config.c qemu_config_foreach() (-readconfig FILE)
READCONFIG_PARSE_ERROR: Final = "parse error"
READCONFIG_NO_GROUP: Final = "no group defined"
INSTALL_PACKAGE_HINT: Final = "Perhaps you want to install {} package?"
# ui/ui-qmp-cmds.c (monitor/qmp-cmds.c in 7.2)
SET_PASSWORD_FAILED: Final = "Could not set password"
# ui/vnc.c vnc_display_password() with its own errors (11.1, seen live).
VNC_NO_DISPLAY_PRESENT: Final = "No VNC display is present"
VNC_PASSWORD_AUTH_DISABLED: Final = "VNC password authentication is disabled"
SET_PASSWORD_EXPIRE_FAILED: Final = "Could not set password expire time"
SET_PASSWORD_VNC_CONNECTED: Final = "parameter 'connected' must be 'keep' when 'protocol' is 'vnc'"
EXPIRE_PASSWORD_BAD_TIME: Final = "Parameter 'time' doesn't take value '{}'"
SPICE_NOT_IN_USE: Final = "SPICE is not in use"

# --- ui/spice-core.c, libspice-server (server/reds.cpp) -----------------------------------
SPICE_PORT_OUT_OF_RANGE: Final = "spice port is out of range"
SPICE_TLS_PORT_OUT_OF_RANGE: Final = "spice tls-port is out of range"
SPICE_PASSWORD_SECRET_EXCLUSIVE: Final = (
    "'password' option is mutually exclusive with 'password-secret'"
)
SPICE_PASSWORD_DEPRECATED: Final = (
    "'password' option is deprecated and insecure, use 'password-secret' instead"
)
SPICE_TLS_CHANNEL_WITHOUT_PORT: Final = (
    "spice: tried to setup tls-channel without specifying a TLS port"
)
SPICE_CHANNEL_SECURITY_FAILED: Final = "spice: failed to set channel security for {}"
SPICE_INVALID_IMAGE_COMPRESSION: Final = "spice: invalid image compression: {}"
SPICE_INVALID_WAN_COMPRESSION: Final = "spice: invalid wan compression: {}"
SPICE_INVALID_STREAM_VIDEO: Final = "spice: invalid stream video control: {}"
SPICE_INIT_FAILED: Final = "failed to initialize spice server"
SPICE_GL_LOCAL_ONLY: Final = (
    "SPICE GL support is local-only for now and incompatible with -spice port/tls-port"
)
SPICE_GL_RENDER_NODE_FAILED: Final = "Failed to initialize EGL render node for SPICE GL"
# libspice-server 0.15.1's warnings, as QEMU's log handler prints them
SPICE_WARN_GETADDRINFO: Final = (
    "Spice: ../server/reds.cpp:2551:reds_init_socket: getaddrinfo({},{}): {}"
)
SPICE_WARN_BIND: Final = (
    "Spice: ../server/reds.cpp:2585:reds_init_socket: binding socket to {}:{} failed"
)
SPICE_WARN_LISTEN: Final = "Spice: ../server/reds.cpp:2597:reds_init_socket: listen: {}"
SPICE_WARN_OPEN_SOCKETS: Final = (
    "Spice: ../server/reds.cpp:3442:do_spice_init: Failed to open SPICE sockets"
)
SPICE_WARN_CERTIFICATES: Final = (
    "Spice: ../server/reds.cpp:2839:reds_init_ssl: Could not load certificates from {}"
)
# OpenSSL's error queue for a certificate file that does not exist
SPICE_WARN_SSL_NO_FILE: Final = (
    "Spice: error:FFFFFFFF80000002:system library::No such file or directory\n"
    "Spice: error:10080002:BIO routines::system lib\n"
    "Spice: error:0A080002:SSL routines::system lib"
)
# perror("bind") for a UNIX address (printed plain)
SPICE_PERROR_BIND: Final = "bind: {}"

# --- audio/audio.c, audio/ossaudio.c --------------------------------------------------------
AUDIO_FIXED_SETTINGS_OFF: Final = (
    "You can't use frequency, channels or format with fixed-settings=off"
)
AUDIO_FIXED_SETTINGS_WITHOUT_MIXENG: Final = "You can't use fixed-settings without mixeng"
AUDIO_HELP_HEADER: Final = "Available audio drivers:"
# 7.2's dolog() lines (printed plain, "audio: " prefix)
AUDIO_UNKNOWN_DRIVER_7_2: Final = "audio: Unknown audio driver `{}'"
AUDIO_INIT_FAILED_7_2: Final = "audio: Could not init `{}' audio driver"
AUDIO_BOGUS_VOICES: Final = "audio: Bogus number of playback voices {}, setting to 1"
# 10.0 (error_setg + Debian's hint when a module is missing)
AUDIO_UNKNOWN_DRIVER_HINT: Final = (
    "Unknown audio driver `{}'. Perhaps you want to install {} package?"
)
OSS_NOT_ACCESSIBLE: Final = "{} not accessible: {}"

# memdevd's own: what it does not emulate of the displays
DISPLAY_NOT_EMULATED: Final = "memdevd: display '{}' is not emulated"
VSOCK_NOT_EMULATED: Final = "memdevd: vsock addresses are not emulated"

# --- memdevd's own: settings, QMP listeners, internal errors, the fleet ------------------
# -memdevd KEY=VALUE with a value outside the choices listed in the last field.
SETTING_BAD_VALUE: Final = "Parameter '{}' does not accept value '{}' ({})"
# The syntax of the guest model settings (-memdevd and x-memdevd-set-guest).
GUEST_CHOICES: Final = "none, cooperative, slow:SECONDS, polls:N, refuse"
VMEM_RATE_CHOICES: Final = "SIZE[/SECONDS]"
QMP_CHARDEV_NOT_SOCKET: Final = "memdevd: chardev backend '{}' cannot serve QMP (use a socket)"
QMP_CLIENT_SOCKET_NOT_EMULATED: Final = (
    "memdevd: QMP client-mode sockets on an inherited fd are not emulated (use server=on)"
)
# A bug costs one reply, not the connection: the exception's type and text.
COMMAND_INTERNAL_ERROR: Final = "memdevd internal error: {}: {}"
INTERNAL_ERROR: Final = "internal error"
FLEET_INVALID_NAME: Final = "invalid VM name '{}'"
FLEET_VM_EXISTS: Final = "VM '{}' exists"
FLEET_OPTION_REFUSED: Final = "{}: not available for a VM of a fleet"
FLEET_CANNOT_LISTEN: Final = "{}: cannot listen on {}: {}"
FLEET_NO_SUCH_VM: Final = "no VM named '{}'"
FLEET_COUNT_NEEDS_TEMPLATE: Final = "memdevd fleet: --count needs --template"

PROPERTIES_NOT_RECORDED: Final = "memdevd: the properties of type '{}' were not recorded"

# --- memdevd's test controls (x-memdevd-*, docs/test-controls.md) ----------------------
CANNOT_REBUILD: Final = "memdevd: this daemon cannot rebuild its start-up machine"
NO_SNAPSHOT: Final = "memdevd: no snapshot named '{}'"
GUEST_DEFAULT_ALONE: Final = "memdevd: 'default' takes no other setting"
CLOCK_NS_OR_SECONDS: Final = "memdevd: give exactly one of 'ns' and 'seconds'"
FAULTS_NEED_SERVER: Final = "memdevd: fault injection needs a QMP server"
FAULT_ERROR_OPTIONS: Final = "memdevd: 'class' and 'desc' apply to action 'error' only"
FAULT_DELAY_OPTION: Final = "memdevd: 'delay' applies to action 'delay' only"

# --- block.c, blockdev.c, block/file-posix.c, block/raw-format.c, block/qcow2.c -----------
BLOCK_ROOT_NODE_NAME_REQUIRED: Final = "'node-name' must be specified for the root node"
BLOCK_INVALID_NODE_NAME: Final = "Invalid node-name: '{}'"
BLOCK_NODE_NAME_CONFLICTS_DEVICE: Final = "node-name={} is conflicting with a device id"
BLOCK_DUPLICATE_NODE_NAME: Final = "Duplicate nodes with node-name='{}'"
BLOCK_NODE_NAME_TOO_LONG: Final = "Node name too long"
BLOCK_CANNOT_FIND: Final = "Cannot find device='{}' nor node-name='{}'"
BLOCK_NODE_NOT_FOUND: Final = "Failed to find node with node-name='{}'"
BLOCK_NODE_IN_USE: Final = "Node {} is in use"
BLOCK_NODE_NOT_MONITOR_OWNED: Final = "Node {} is not owned by the monitor"
BLOCK_DEVICE_IN_USE: Final = "Block device {} is in use"
# util/osdep.c qemu_open() (file-posix, rng-random...): the path, strerror
COULD_NOT_OPEN: Final = "Could not open '{}': {}"
BLOCK_REQUIRES_REGULAR_FILE: Final = "'{}' driver requires '{}' to be a regular file"
BLOCK_REQUIRES_DEVICE: Final = "'{}' driver requires '{}' to be either a character or block device"
BLOCK_BACKING_OPEN_FAILED: Final = "Could not open backing file: {}"
# block.c create_tmp_file, bdrv_append_temp_snapshot (-snapshot, -drive snapshot=on)
BLOCK_TMP_FILE_FAILED: Final = "Could not open temporary file '{}': {}"
BLOCK_TMP_OVERLAY_FAILED: Final = "Could not create temporary overlay '{}': {}"
# block/qcow2.c qcow2_co_create: strerror
QCOW2_WRITE_HEADER_FAILED: Final = "Could not write qcow2 header: {}"
BLOCK_NULL_LATENCY_INVALID: Final = "latency-ns is invalid"
RAW_OFFSET_TOO_BIG: Final = "Offset ({}) cannot be greater than size of the containing file ({})"
RAW_OFFSET_SIZE_TOO_BIG: Final = (
    "The sum of offset ({}) and size ({}) has to be smaller or equal to the "
    " actual size of the containing file ({})"
)
RAW_SIZE_NOT_SECTOR_ALIGNED: Final = "Specified size is not multiple of 512"
QCOW2_NOT_QCOW2: Final = "Image is not in qcow2 format"
QCOW2_UNSUPPORTED_VERSION: Final = "Unsupported qcow2 version {}"
QCOW2_UNSUPPORTED_CLUSTER_SIZE: Final = "Unsupported cluster size: 2^{}"
QCOW2_HEADER_TOO_SHORT: Final = "qcow2 header too short"
QCOW2_HEADER_EXCEEDS_CLUSTER: Final = "qcow2 header exceeds cluster size"
QCOW2_INVALID_BACKING_OFFSET: Final = "Invalid backing file offset"
# memdevd's own: drivers whose open it does not model.
BLOCK_DRIVER_NOT_EMULATED: Final = "memdevd: block driver '{}' is not emulated"
BLOCK_PERMISSION_CONFLICT: Final = (
    "Permission conflict on node '{}': permissions '{}' are both required by {} "
    "(uses node '{}' as '{}' child) and unshared by {} (uses node '{}' as '{}' child)."
)
# file-posix raw_check_lock_bytes(), with its hint (the image's filename)
BLOCK_LOCK_FAILED: Final = 'Failed to get "{}" lock'
BLOCK_SHARED_LOCK_FAILED: Final = 'Failed to get shared "{}" lock'
BLOCK_LOCK_HINT: Final = "Is another process using the image [{}]?\n"
BLOCK_FORCE_SHARE_NEEDS_READ_ONLY: Final = "force-share=on can only be used with read-only images"
BLOCK_DRIVE_IN_USE: Final = "Drive '{}' is already in use by another device"
BLOCK_DRIVE_NOT_SET: Final = "drive property not set"
# block.c bdrv_node_refresh_perm: a device that writes moved onto a read-only node
BLOCK_NODE_READ_ONLY: Final = "Block node is read-only"

# --- system/vl.c qemu_resolve_machine_memdev, hw/core/machine.c (-machine memory-backend) ---
MACHINE_MEMDEV_NOT_FOUND: Final = "Memory backend '{}' not found"
MACHINE_MEMDEV_SIZE_MISMATCH: Final = (
    "Machine memory size does not match the size of the memory backend"
)
MACHINE_MEMDEV_USED_TWICE: Final = "memory backend {} can't be used multiple times."
# system/vl.c qemu_init (softmmu/ in 7.2): a deprecated machine type, with the
# release's reason (7.2: pc-i440fx-1.4..1.7; 9.1 on: include/hw/boards.h
# MACHINE_VER_DEPRECATION_MSG for types more than three years old).
MACHINE_TYPE_DEPRECATED: Final = "Machine type '{}' is deprecated: {}"
MACHINE_DEPRECATION_REASON_7_2: Final = "old and unattended - use a newer version instead"
MACHINE_DEPRECATION_REASON: Final = (
    "machines more than 3 years old are subject to deletion after 6 years"
)
DEFAULT_RAM_ID_RESERVED_7_2: Final = (
    "object name '{}' is reserved for the default RAM backend, it can't be used for any other"
    " purposes. Change the object's 'id' to something else"
)
DEFAULT_RAM_ID_RESERVED: Final = (
    "object's id '{}' is reserved for the default RAM backend, it can't be used for any other"
    " purposes"
)
DEFAULT_RAM_ID_RESERVED_HINT: Final = (
    "Change the object's 'id' to something else or disable automatic creation of the default"
    " RAM backend by setting 'memory-backend={}' with '-machine'.\n"
)

# --- iothread.c (the polling parameters) -------------------------------------------------
IOTHREAD_PARAM_RANGE: Final = "{} value must be in range [0, {}]"

# --- hw/smbios/smbios.c smbios_entry_add ---------------------------------------------------
SMBIOS_CANNOT_READ_FILE: Final = "Cannot read SMBIOS file {}"
SMBIOS_FIELDS_ALREADY: Final = "can't load type {} struct, fields already specified!"
SMBIOS_TYPE_OUT_OF_RANGE: Final = "out of range!"
SMBIOS_BINARY_ALREADY: Final = "can't add fields, binary file already loaded!"
SMBIOS_UNKNOWN_TYPE: Final = "Don't know how to build fields for SMBIOS type {}"
SMBIOS_TYPE_OR_FILE: Final = "Must specify type= or file="
SMBIOS_INVALID_RELEASE: Final = "Invalid release"
SMBIOS_INVALID_UUID: Final = "Invalid UUID"
SMBIOS_CPU_SPEED_TOO_LARGE: Final = "SMBIOS CPU speed is too large (> {})"
# system/vl.c -uuid
UUID_WRONG_FORMAT: Final = "failed to parse UUID string: wrong format"

# --- blockdev.c drive_new/blockdev_init (-drive), util/throttle.c, block/qapi-system.c ----
DRIVE_OPT_ALIAS_CONFLICT: Final = "'{}' and its alias '{}' can't be used at the same time"
DRIVE_INVALID_CACHE: Final = "invalid cache option"
DRIVE_INVALID_MEDIA: Final = "'{}' invalid media"
DRIVE_COPY_ON_READ_READ_ONLY: Final = "disabling copy-on-read on read-only drive"
DRIVE_UNSUPPORTED_BUS: Final = "unsupported bus type '{}'"
DRIVE_INDEX_WITH_BUS_UNIT: Final = "index cannot be used with bus and unit"
DRIVE_UNIT_TOO_BIG: Final = "unit {} too big (max is {})"
DRIVE_EXISTS: Final = "drive with bus={}, unit={} (index={}) exists"
DRIVE_WERROR_BUS: Final = "werror is not supported by this bus type"
DRIVE_RERROR_BUS: Final = "rerror is not supported by this bus type"
DRIVE_INVALID_ERROR_ACTION: Final = "'{}' invalid {} error action"
DRIVE_INVALID_STATS_INTERVALS_OPTION: Final = "Invalid option stats-intervals.{}"
DRIVE_INVALID_INTERVAL_LENGTH: Final = "Invalid interval length: {}"
DRIVE_INVALID_AIO: Final = "invalid aio option"
DRIVE_DRIVER_AND_FORMAT: Final = "Cannot specify both 'driver' and 'format'"
DRIVE_INVALID_ENUM_VALUE: Final = "invalid parameter value: {}"
DRIVE_INVALID_DEVICE_NAME: Final = "Invalid device name"
DRIVE_DEVICE_EXISTS: Final = "Device with id '{}' already exists"
DRIVE_NAME_CONFLICTS_NODE: Final = "Device name '{}' conflicts with an existing node name"
DRIVE_ORPHANED: Final = "machine type does not support if={},bus={},unit={}"
DRIVE_RAW_PROBED: Final = (
    "WARNING: Image format was not specified for '{}' and probing guessed raw.\n"
    "         Automatically detecting the format is dangerous for raw images, write"
    " operations on block 0 will be restricted.\n"
    "         Specify the 'raw' format explicitly to remove the restrictions."
)
BLOCK_UNKNOWN_DRIVER: Final = "Unknown driver '{}'"
BLOCK_FILE_AND_FILENAME: Final = "Can't specify 'file' and 'filename' options at the same time"
BLOCK_DRIVER_OR_FILE: Final = "Must specify either driver or file"
BLOCK_UNKNOWN_PROTOCOL: Final = "Unknown protocol '{}'"
BLOCK_FORMAT_UNSUPPORTED_OPTION: Final = "Block format '{}' does not support the option '{}'"
BLOCK_PROTOCOL_UNSUPPORTED_OPTION: Final = "Block protocol '{}' doesn't support the option '{}'"
BLOCK_INVALID_DISCARD: Final = "Invalid discard option"
BLOCK_COPY_ON_READ_READ_ONLY: Final = "Can't use copy-on-read on read-only device"
THROTTLE_TOTAL_AND_RW: Final = (
    "bps/iops/max total values and read/write values cannot be used at the same time"
)
THROTTLE_IOPS_SIZE_NEEDS_IOPS: Final = "iops size requires an iops value to be set"
THROTTLE_VALUE_RANGE: Final = "bps/iops/max values must be within [0, {}]"
THROTTLE_BURST_LENGTH_ZERO: Final = "the burst length cannot be 0"
THROTTLE_BURST_LENGTH_WITHOUT_RATE: Final = "burst length set without burst rate"
THROTTLE_BURST_LENGTH_TOO_HIGH: Final = "burst length too high for this burst rate"
THROTTLE_MAX_NEEDS_AVG: Final = "bps_max/iops_max require corresponding bps/iops values"
THROTTLE_MAX_BELOW_AVG: Final = "bps_max/iops_max cannot be lower than bps/iops"
BLOCK_NEED_DEVICE_OR_ID: Final = "Need exactly one of 'device' and 'id'"
BLOCK_NO_BACKEND: Final = "Device does not have a block device backend"
BLOCK_NO_MEDIUM: Final = "Device has no medium"
# memdevd's own (-drive parts it does not model)
DRIVE_IF_NOT_EMULATED: Final = "memdevd: -drive if={} is not emulated"
DRIVE_FORMAT_HELP_NOT_EMULATED: Final = "memdevd: -drive format=help is not emulated"
# hw/i386/pc_sysfw.c, hw/block/pflash_cfi01.c (the system flash)
PFLASH_CLASHES_WITH_MACHINE: Final = "clashes with -machine"
PFLASH_REQUIRES: Final = "pflash{} requires pflash{}"
PFLASH_INVALID_SIZE: Final = "system firmware block device {} has invalid size {}"
PFLASH_SIZE_INFO: Final = "its size must be a non-zero multiple of 0x{:x}"
PFLASH_TOO_BIG: Final = "combined size of system firmware exceeds {} bytes"
# hw/arm/virt.c virt_firmware_init()
VIRT_BIOS_AND_PFLASH: Final = (
    "The contents of the first flash device may be specified with -bios or with "
    "-drive if=pflash... but you cannot use both options at once"
)
# hw/block/block.c blk_check_size_and_read_all()
BLOCK_DEVICE_SIZE_MISMATCH_7_2: Final = (
    "device requires {size} bytes, block backend provides {length} bytes"
)
BLOCK_DEVICE_SIZE_MISMATCH: Final = (
    "{typename} device '{device}' requires {size} bytes, "
    "{backend} block backend provides {length} bytes"
)
# block/throttle-groups.c (throttle filter nodes)
THROTTLE_GROUP_MISSING: Final = "Throttle group '{}' does not exist"
# blockdev.c qmp_x_blockdev_set_iothread, block/block-backend.c
BLOCK_NODE_HAS_BACKEND: Final = (
    "Node {} is associated with a BlockBackend and could be in use"
    " (use force=true to override this check)"
)
BLOCK_IOTHREAD_NOT_FOUND: Final = "Cannot find iothread {}"
BLOCK_ACTIVE_BACKEND_IOTHREAD: Final = "Cannot change iothread of active block backend"
THROTTLE_GROUP_EXISTS: Final = "A group with this name already exists"
# --- misc command-line options (memdevd/app/misc_options.py, memdevd/machine/globals.py) ---
# hw/core/qdev-properties.c, qom/object.c, system/qdev-monitor.c (-global)
GLOBAL_CANT_APPLY: Final = "can't apply global {}.{}={}: {}"
GLOBAL_INVALID_CLASS: Final = "global {}.{} has invalid class name"
GLOBAL_NOT_USED: Final = "global {}.{}={} not used"
GLOBAL_OPTIONS_REQUIRED: Final = "options 'driver', 'property', and 'value' are required"
# system/bootdevice.c, hw/nvram/fw_cfg.c (-boot)
BOOT_INVALID_DEVICE: Final = "Invalid boot device '{}'"
BOOT_DEVICE_TWICE: Final = "Boot device '{}' was given twice"
BOOT_SPLASH_TIME_INVALID: Final = "splash-time is invalid,it should be a value between 0 and 65535"
BOOT_REBOOT_TIMEOUT_INVALID: Final = (
    "reboot timeout is invalid,it should be a value between -1 and 65535"
)
BOOT_SPLASH_NOT_FOUND: Final = "failed to find file '{}'"
# system/rtc.c (-rtc)
RTC_INVALID_DATETIME: Final = "invalid datetime format"
RTC_VALID_FORMATS: Final = "valid formats: '2006-06-17T16:01:21' or '2006-06-17'\n"
RTC_INVALID_VALUE: Final = "invalid option value '{}'"
# system/vl.c parse_fw_cfg, hw/nvram/fw_cfg.c (-fw_cfg)
FW_CFG_NOT_AVAILABLE: Final = "fw_cfg device not available"
FW_CFG_NAME_AND_ONE: Final = "name, plus exactly one of file, string and gen_id, are needed"
FW_CFG_NAME_TOO_LONG: Final = "name too long (max. {} char)"
FW_CFG_OPT_PREFIX: Final = 'externally provided fw_cfg item names should be prefixed with "opt/"'
FW_CFG_CANT_LOAD: Final = "can't load {}: {}"
# GLib's g_file_get_contents() error (G_FILE_ERROR), as QEMU appends it
# hw/acpi/core.c acpi_table_add, acpi_table_install (-acpitable)
ACPITABLE_FILE_OR_DATA: Final = "'-acpitable' requires one of 'data' or 'file'"
ACPITABLE_NO_PATHNAME: Final = "'-acpitable' requires at least one pathname"
ACPITABLE_CANT_OPEN: Final = "can't open file {}: {}"
ACPITABLE_CANT_READ: Final = "can't read file {}: {}"
ACPITABLE_HEADER_TOO_SHORT: Final = (
    "ACPI table claiming to have header is too short, available: {}, expected: {}"
)
ACPITABLE_TOO_BIG: Final = "ACPI table too big, requested: {}, max: {}"
ACPITABLE_WRONG_LENGTH: Final = "ACPI table has wrong length, header says {}, actual size {} bytes"
ACPITABLE_NO_HEADERS: Final = "ACPI table: no headers are specified"
# system/vl.c -option-rom; hw/core/loader.c rom_add_file (7.2: open(),
# 10.0: g_file_get_contents, whose texts follow), GLib's g_malloc0 abort.
OPTION_ROM_TOO_MANY: Final = "too many option ROMs"
OPTION_ROM_NO_FILE: Final = "Option ROM file is not specified"
ROM_OPEN_FAILED_7_2: Final = "Could not open option rom '{}': {}"
ROM_FILE_ERROR: Final = "rom: file {:<20}: error {}"
GLIB_READ_FAILED: Final = "Error reading file \u201c{}\u201d: {}"
GLIB_ALLOC_FAILED: Final = "GLib: ../../../glib/gmem.c:169: failed to allocate {} bytes"
GLIB_FAILED_TO_OPEN: Final = "Failed to open file \u201c{}\u201d: {}"
FW_CFG_DUPLICATE: Final = "duplicate fw_cfg file name: {}"
FW_CFG_NO_OBJECT: Final = "Cannot find object ID '{}'"
FW_CFG_NOT_GENERATOR: Final = "Object ID '{}' is not a '{}' subclass"
# system/qemu-seccomp.c (-sandbox)
SANDBOX_INVALID_ARGUMENT: Final = "invalid argument for {}"
# system/vl.c overcommit_parse (10.0's mem-lock)
OVERCOMMIT_MEM_LOCK: Final = "parameter 'mem-lock' expects one of 'on', 'off', 'on-fault'"
# util/log.c (-D)
LOGFILE_OPEN_FAILED: Final = "Error opening logfile {}: {}"
# trace/control.c (-trace, -d trace:)
TRACE_EVENT_NOT_FOUND: Final = "trace event '{}' does not exist"
# hw/i386/x86-common.c x86_bios_rom_init (-bios, -machine firmware=): printed as is
BIOS_LOAD_FAILED: Final = "qemu: could not load PC BIOS '{}'"
# hw/audio/soundhw.c (-audio model=)
SOUNDHW_LIST_HEADER: Final = "Valid sound card names (comma separated):"
SOUNDHW_ONLY_ONE: Final = "only one -soundhw option is allowed"
SOUNDHW_UNKNOWN: Final = "Unknown sound card name `{}'"
# 11.1's texts (seen live)
SOUNDHW_LIST_HEADER_11_1: Final = "Valid audio device model names:"
SOUNDHW_ONLY_ONE_11_1: Final = "only one -audio option is allowed"
SOUNDHW_UNKNOWN_11_1: Final = "Unknown audio device model `{}'"
SOUNDHW_NO_ISA_BUS: Final = "ISA bus not available for {}"
SOUNDHW_NO_PCI_BUS: Final = "PCI bus not available for {}"
# hw/block/block.c blkconf_blocksizes
BLKCONF_LOGICAL_GT_PHYSICAL: Final = "logical_block_size > physical_block_size not supported"
BLKCONF_MIN_IO_ALIGN: Final = "min_io_size must be a multiple of logical_block_size"
BLKCONF_MIN_IO_MAX: Final = "min_io_size must not exceed {} logical blocks"
BLKCONF_OPT_IO_ALIGN: Final = "opt_io_size must be a multiple of logical_block_size"
BLKCONF_DISCARD_ALIGN: Final = "discard_granularity must be a multiple of logical_block_size"
# hw/block/fdc.c floppy_drive_realize
FLOPPY_UNIT_TOO_BIG: Final = "Can't create floppy unit {}, bus supports only {} units"
FLOPPY_UNIT_IN_USE: Final = "Floppy unit {} is in use"
FLOPPY_BLOCK_SIZE: Final = "Physical and logical block size must be 512 for floppy"
FDC_WERROR: Final = "fdc doesn't support drive option werror"
FDC_RERROR: Final = "fdc doesn't support drive option rerror"
# hw/i386/pc.c pc_cmos_init_floppy (warn_report with a second line)
FDC_MULTIPLE: Final = "multiple floppy disk controllers with iobase=0x3f0 have been found"
FDC_MULTIPLE_HINT: Final = "the one being picked for CMOS setup might not reflect your intent"
# hw/audio/intel-hda.c hda_codec_dev_realize
HDA_CAD_FULL: Final = "HDA audio codec address is full"
# system/vl.c qemu_validate_options (-kernel, -append, -initrd; 10.0's -shim)
APPEND_WITHOUT_KERNEL: Final = "-append only allowed with -kernel option"
SHIM_WITHOUT_KERNEL: Final = "-shim only allowed with -kernel option"
INITRD_WITHOUT_KERNEL: Final = "-initrd only allowed with -kernel option"
# hw/i386/x86.c (10.0: x86-common.c) x86_load_linux: printed as is (fprintf)
KERNEL_OPEN_FAILED: Final = "qemu: could not open kernel file '{}': {}"
KERNEL_LOAD_FAILED: Final = "qemu: could not load kernel '{}': {}"
KERNEL_VGA_PARAMETER: Final = "qemu: invalid 'vga=' kernel parameter."
KERNEL_TOO_OLD_RAMDISK: Final = "qemu: linux kernel too old to load a ram disk"
INITRD_READ_FAILED: Final = "qemu: error reading initrd {}: {}"
INITRD_TOO_LARGE: Final = "qemu: initrd is too large, cannot support.(max: {}, need {})"
KERNEL_INVALID_HEADER: Final = "qemu: invalid kernel header"
KERNEL_TOO_OLD_DTB: Final = "qemu: Linux kernel too old to load a dtb"
DTB_READ_FAILED: Final = "qemu: error reading dtb {}: {}"
SHIM_READ_FAILED: Final = "qemu: error reading shim {}: {}"
# 11.1: error_report()ed (with the program's name), without "shim" (seen live)
SHIM_READ_FAILED_11_1: Final = "qemu: error reading {}: {}"
# glib's g_mapped_file_new() (the initrd, 10.0's shim)
GLIB_OPEN_FAILED: Final = "Failed to open file \u201c{}\u201d: open() failed: {}"
GLIB_MAP_FAILED: Final = "Failed to map {0}' {0}': mmap() failed: {1}"
# hw/i386/x86.c load_elfboot (an ELF kernel: PVH), error_report()
ELFBOOT_FLAGS: Final = "elfboot unsupported flags = {:x}"
ELF_KERNEL_LOAD_FAILED: Final = "Error while loading elf kernel"
ELF_KERNEL_NO_PVH_NOTE: Final = "Error loading uncompressed kernel without PVH ELF Note"
# hw/i386/multiboot.c load_multiboot, error_report()
MULTIBOOT_VBE: Final = "multiboot knows VBE. we don't"
MULTIBOOT_X86_64: Final = "Cannot load x86-64 image, give a 32bit one."
MULTIBOOT_LOAD_ADDR: Final = "invalid load_addr address"
MULTIBOOT_HEADER_ADDR: Final = "invalid header_addr address"
MULTIBOOT_LOAD_END_ADDR: Final = "invalid load_end_addr address"
MULTIBOOT_FILE_SIZE: Final = "invalid kernel_file_size"
MULTIBOOT_NO_FIT: Final = "kernel does not fit in address space"
MULTIBOOT_BSS_END_ADDR: Final = "invalid bss_end_addr address"
MULTIBOOT_FREAD: Final = "fread() failed"
MULTIBOOT_MODULE_OPEN: Final = "Failed to open file '{}'"
MULTIBOOT_MODULE_LOAD: Final = "Error loading file '{}'"
# util/qemu-error.c print_loc() of a LOC_FILE location: "prog:FILE[:LINE]: "
FILE_LOCATION_ERROR: Final = "{}:{}: {}"
FILE_LINE_WARNING: Final = "{}:{}:{}: warning: {}"
# util/error-report.c: warn_report() while a QMP command runs (no program name)
WARNING_IN_MONITOR: Final = "warning: {}"
# migration/migration.c qmp_migrate_incoming (-incoming defer)
MIGRATE_INCOMING_NOT_SPECIFIED: Final = "'-incoming' was not specified on the command line"
MIGRATE_UNKNOWN_PROTOCOL: Final = "unknown migration protocol: {}"
MIGRATE_URI_OR_CHANNELS: Final = "need either 'uri' or 'channels' argument"
MIGRATE_ONE_CHANNEL: Final = "Channel list must have only one entry, for type 'main'"
INCOMING_MIGRATION_NOT_EMULATED: Final = "memdevd: incoming migration is not emulated"
# system/tpm.c, backends/tpm/tpm_passthrough.c, backends/tpm/tpm_emulator.c (-tpmdev)
TPM_TYPES_LIST: Final = (
    "Supported TPM types (choose only one):\n"
    " passthrough   Passthrough TPM backend driver\n"
    "    emulator   TPM emulator backend driver\n"
)
TPM_BACKEND_TYPE: Final = "a TPM backend type"
TPM_CANNOT_ACCESS: Final = "Cannot access TPM device using '{}': {}"
TPM_EMULATOR_NO_CHARDEV: Final = "tpm-emulator: parameter 'chardev' is missing"
TPM_EMULATOR_CHARDEV_NOT_FOUND: Final = "tpm-emulator: tpm chardev '{}' not found"
# --- net/net.c, net/hub.c, net/util.c -------------------------------------------------------
NET_BACKEND_NOT_COMPILED: Final = "network backend '{}' is not compiled into this binary"
NET_BACKEND_ONLY_NETDEV: Final = "network backend '{}' is only supported with -netdev/-nic"
NET_DUPLICATE_ID: Final = "Duplicate ID '{}'"
NET_DEVICE_NOT_INITIALIZED: Final = "Device '{}' could not be initialized"
NETDEV_NOT_A_NETDEV: Final = "Device '{}' is not a netdev"
NETDEV_NOT_FOUND: Final = "netdev '{}' not found"
NET_TOO_MANY_NICS: Final = "too many NICs"
NET_NO_NIC_SLOTS: Final = "no more on-board/default NIC slots available"
NET_INVALID_MAC: Final = "invalid syntax for ethernet address"
# net_init_nic (-net nic) and net_param_nic (-nic) say it differently.
NET_MULTICAST_MAC_ODD: Final = "NIC cannot have multicast MAC address (odd 1st byte)"
NET_MULTICAST_MAC: Final = "NIC cannot have multicast MAC address"
NET_INVALID_VECTORS: Final = "invalid # of vectors: {}"
# net_client_init: ipv6-net=ADDR/LEN with a LEN that is not a number.
NET_IPV6_NET_PREFIXLEN_7_2: Final = "Parameter 'ipv6-prefixlen' expects a number"
NET_IPV6_NET_PREFIXLEN_10: Final = "parameter 'ipv6-net' expects a number after '/'"
NET_CLIENT_NOT_NIC: Final = "net client({}) isn't a NIC"
NET_CLIENT_NO_RX_FILTER: Final = "net client({}) doesn't support rx-filter querying"
NET_CLIENT_INVALID_NAME: Final = "invalid net client name: {}"
# net_check_clients(), net_hub_check_clients(): warnings once the machine exists.
NET_CLIENT_NO_PEER: Final = "{} {} has no peer"
NIC_NOT_CREATED: Final = (
    "requested NIC ({}, model {}) was not created (not supported by this machine?)"
)
HUB_PORT_NO_PEER: Final = "hub port {} has no peer"
HUB_NO_NICS: Final = "hub {} with no nics"
HUB_NOT_CONNECTED: Final = "hub {} is not connected to host network"
# hw/i386/pc.c pc_init_ne2k_isa() (10.0)
NE2000_ISA_TOO_MANY: Final = "maximum number of ISA NE2000 devices exceeded"
UNSUPPORTED_NIC_MODEL: Final = "Unsupported NIC model: {}"
# The NIC model lists: 7.2's (pci_nic_init_nofail), 10.0's "-nic help" and
# "model=help" (the models this machine makes).
NIC_MODELS_SUPPORTED_HEADER: Final = "Supported NIC models:\n"
NIC_MODELS_ALL_HEADER: Final = "Available NIC models (use -nic model=help for a filtered list):\n"
NIC_MODELS_FOR_MACHINE_HEADER: Final = "Available NIC models for this configuration:\n"
# convert_host_port(), parse_host_port()
HOST_PORT_NO_COLON: Final = "host address '{}' doesn't contain ':' separating host from port"
HOST_ADDRESS_NOT_IPV4: Final = "host address '{}' is not a valid IPv4 address"
HOST_ADDRESS_UNRESOLVED: Final = "can't resolve host address '{}'"
PORT_NUMBER_INVALID: Final = "port number '{}' is invalid"
# memdevd's own: QEMU fails an assertion (a net client has one peer) and aborts.
NET_CLIENT_DROPPED_ABORT: Final = (
    "memdevd: netdev '{}' was not created (QEMU fails an assertion and aborts here)"
)
HUBPORT_PEER_IN_USE: Final = "memdevd: netdev '{}' already has a peer (QEMU aborts here)"
# 7.2's net/net.c (a tap dropped for its vhost).
NET_CLIENT_INIT1_ASSERTION_7_2: Final = (
    "../../net/net.c:1131: net_client_init1: Assertion `nc' failed."
)
# hw/core/qdev-properties-system.c set_netdev, hw/core/qdev-properties.c
PROP_CANT_FIND_VALUE: Final = "Property '{}.{}' can't find value '{}'"
PROP_IN_USE: Final = "Property '{}.{}' can't take value '{}', it's in use"
# check_prop_still_unset(): a NIC's netdev property set twice
NIC_NETDEV_OVERRIDE: Final = "{}={} conflicts, and override is not implemented"
NETDEV_QUEUES_EXCEED: Final = "queues of backend '{}'({}) exceeds QEMU limitation({})"
# monitor_fd_param(): monitor/misc.c (7.2), monitor/fds.c (10.0)
FD_INVALID_NUMBER: Final = "Invalid file descriptor number '{}'"
# qapi/opts-visitor.c (-netdev, -net and -nic in QemuOpts syntax)
OPTS_FEWER_LIST_ELEMENTS: Final = "Fewer list elements than expected"

# --- net/tap.c, net/tap-linux.c, include/net/vhost_net.h, hw/virtio/vhost.c ----------------
TAP_MULTIQUEUE_HUBS: Final = "Multiqueue tap cannot be used with hubs"
TAP_INVALID_WITH_FD: Final = (
    "ifname=, script=, downscript=, vnet_hdr=, helper=, queues=, fds=, and vhostfds= "
    "are invalid with fd="
)
TAP_INVALID_WITH_FDS: Final = (
    "ifname=, script=, downscript=, vnet_hdr=, helper=, queues=, and vhostfd= are invalid with fds="
)
TAP_INVALID_WITH_HELPER: Final = (
    "ifname=, script=, downscript=, vnet_hdr=, queues=, and vhostfds= are invalid with helper="
)
TAP_VHOSTFDS_WITHOUT_FDS: Final = "vhostfds= is invalid if fds= wasn't specified"
TAP_FDS_VHOSTFDS_MISMATCH: Final = (
    "The number of fds passed does not match the number of vhostfds passed"
)
TAP_VNET_HDR_INCONSISTENT: Final = "vnet_hdr not consistent across given tap fds"
# {}: the netdev id, the descriptor, strerror
# g_unix_set_fd_nonblocking() failing on a passed descriptor: (name, fd,
# strerror); 11.1's qemu_set_blocking() error, its errno text twice (seen live).
TAP_CANT_USE_FD: Final = "{0}: Can't use file descriptor {1}: {2}"
FD_CANT_SET_NONBLOCKING: Final = "Can't set file descriptor {1} non-blocking: {2}: {2}"
TAP_TUNGETIFF_FAILED: Final = "Unable to query TUNGETIFF on FD {}: {}"
TAP_OPEN_TUN_FAILED: Final = "could not open {}: {}"
# net/tap-linux.c tap_open() through qemu_open() (11.1, seen live).
TAP_OPEN_TUN_FAILED_11_1: Final = "Could not open '{}': {}"
TAP_CONFIGURE_NAMED_FAILED: Final = "could not configure {} ({}): {}"
TAP_CONFIGURE_FAILED: Final = "could not configure {}: {}"
TAP_VNET_HDR_REQUIRED: Final = (
    "vnet_hdr=1 requested, but no kernel support for IFF_VNET_HDR available"
)
TAP_MQ_REQUIRED: Final = "multiqueue required, but no kernel support for IFF_MULTI_QUEUE available"
TAP_GETFEATURES_FAILED: Final = "TUNGETFEATURES failed: {}"
TAP_SNDBUF_FAILED: Final = "TUNSETSNDBUF ioctl failed: {}"
TAP_SCRIPT_FAILED: Final = "network script {} failed with status {}"
TAP_VHOST_OPEN_FAILED: Final = "tap: open vhost char device failed: {}"
# net/tap.c: /dev/vhost-net opened through qemu_open() (11.1, seen live).
TAP_VHOST_OPEN_FAILED_11_1: Final = "Could not open '/dev/vhost-net': {}"
TAP_VHOSTFD_WITHOUT_VHOST: Final = "vhostfd(s)= is not valid without vhost"
VHOST_NET_INIT_FAILED: Final = "vhost-net requested but could not be initialized"
VHOST_SET_OWNER_FAILED: Final = "vhost_set_owner failed: {}"
BRIDGE_HELPER_FAILED: Final = "bridge helper failed"
# qemu-bridge-helper.c: what the helper prints on the stderr it shares with QEMU.
BRIDGE_HELPER_NAME_TOO_LONG: Final = "name `{}' too long: {}"
BRIDGE_HELPER_ACL_PARSE_FAILED: Final = "failed to parse default acl file `{}'"
# {}: the line as read, newline included
BRIDGE_HELPER_INVALID_LINE: Final = "Invalid config line:\n  {}\n"
BRIDGE_HELPER_UNKNOWN_COMMAND: Final = "Unknown command `{}'"
BRIDGE_HELPER_ACCESS_DENIED: Final = "access denied by acl file"
BRIDGE_HELPER_TUN_OPEN_FAILED: Final = "failed to open /dev/net/tun: {}"
BRIDGE_HELPER_MTU_FAILED: Final = "failed to get mtu of bridge `{}': {}"
BRIDGE_HELPER_ADD_FAILED: Final = "failed to add interface `{}' to bridge `{}': {}"

# --- net/socket.c ------------------------------------------------------------------------------
SOCKET_EXACTLY_ONE: Final = "exactly one of listen=, connect=, mcast= or udp= is required"
SOCKET_LOCALADDR_ONLY: Final = "localaddr= is only valid with mcast= or udp="
SOCKET_LOCALADDR_MANDATORY: Final = "localaddr= is mandatory with udp="
SOCKET_SO_TYPE: Final = "can't get socket option SO_TYPE"
SOCKET_BAD_TYPE: Final = "socket type={} for fd={} must be either SOCK_DGRAM or SOCK_STREAM"
SOCKET_BIND_IP_FAILED: Final = "can't bind ip={} to socket: {}"
SOCKET_LISTEN_ON_FAILED: Final = "can't listen on socket: {}"
SOCKET_CONNECT_FAILED: Final = "can't connect socket: {}"
SOCKET_LOCALADDR_INVALID: Final = "localaddr '{}' is not a valid IPv4 address"
SOCKET_SO_REUSEADDR_FAILED: Final = "can't set socket option SO_REUSEADDR: {}"
MCAST_NOT_MULTICAST: Final = (
    "specified mcastaddr {} (0x{:08x}) does not contain a multicast address"
)
MCAST_ADD_MEMBERSHIP_FAILED: Final = "can't add socket to multicast group {}: {}"
MCAST_LOOP_FAILED: Final = "can't force multicast message to loopback: {}"
MCAST_IF_FAILED: Final = "can't set the default network send interface: {}"

# --- net/stream.c, net/dgram.c, util/qemu-sockets.c (netdev sockets) ---------------------------
STREAM_RECONNECT_EXCLUSIVE: Final = "'reconnect' and 'reconnect-ms' are mutually exclusive"
STREAM_RECONNECT_SERVER: Final = (
    "'reconnect' and 'reconnect-ms' options are incompatible with socket in server mode"
)
# A stream netdev's info line while it listens or connects (10.0; 7.2 shows
# no text, and "connection error" for any failure).
STREAM_INITIALIZING: Final = "initializing"
STREAM_LISTENING: Final = "listening"
STREAM_CONNECTING: Final = "connecting"
STREAM_ERROR: Final = "error: {}"
STREAM_CONNECTION_ERROR_72: Final = "connection error"
DGRAM_REQUIRES_LOCAL: Final = "dgram requires local= parameter"
DGRAM_REMOTE_WITH_FD: Final = "don't set remote with local.fd"
DGRAM_TYPES_DIFFER: Final = "remote and local types must be the same"
DGRAM_REQUIRES_REMOTE: Final = "type=inet or type=unix requires remote parameter"
DGRAM_LOCAL_TYPES: Final = "only support inet or fd type for local"
DGRAM_UNLINK_FAILED: Final = "failed to unlink socket {}: {}"
DGRAM_BIND_UNIX_FAILED: Final = "can't bind unix={} to socket: {}"
SOCKET_RECREATE_FAILED: Final = "Failed to recreate failed listening socket: {}"
SOCKET_BIND_FAILED: Final = "Failed to bind socket: {}"
SOCKET_LISTEN_FAILED: Final = "Failed to listen on socket: {}"
SOCKET_CREATE_FAILED: Final = "Failed to create a socket: {}"
SOCKET_UNLINK_FAILED: Final = "Failed to unlink socket {}: {}"
SOCKET_PARSE_FD: Final = "Unable to parse FD number {}: {}"
SOCKET_FD_NOT_SOCKET: Final = "File descriptor '{}' is not a socket"
SOCKET_LISTEN_FD_FAILED: Final = "Failed to listen on fd socket: {}"
SOCKET_LOCAL_ADDRESS_FAILED: Final = "Unable to query local socket address: {}"

# --- net/l2tpv3.c, net/vde.c ---------------------------------------------------------------
L2TPV3_OFFSET: Final = "offset must be less than 256 bytes"
L2TPV3_COOKIES: Final = "require both 'rxcookie' and 'txcookie' or neither"
L2TPV3_PORTS: Final = "need both src and dst port for udp"
L2TPV3_RESOLVE_SRC: Final = "could not resolve src, errno = {}"
L2TPV3_SOCKET: Final = "socket creation failed, errno = {}"
L2TPV3_BIND: Final = "could not bind socket err={}"
L2TPV3_RESOLVE_DST: Final = "could not resolve dst, error = {}"
VDE_OPEN_FAILED: Final = "Could not open vde: {}"

# --- net/vhost-user.c, net/vhost-vdpa.c ----------------------------------------------------
VHOST_USER_CHARDEV_NOT_FOUND: Final = 'chardev "{}" not found'
VHOST_USER_CHARDEV_NOT_RECONNECTABLE: Final = 'chardev "{}" is not reconnectable'
VHOST_USER_CHARDEV_NO_FD_PASS: Final = 'chardev "{}" does not support FD passing'
VHOST_USER_QUEUES: Final = "vhost-user number of queues must be in range [1, {}]"
VHOST_USER_NEEDS_VIRTIO_NET: Final = "vhost-user requires frontend driver virtio-net-*"
VHOST_VDPA_NEEDS_VIRTIO_NET: Final = "vhost-vdpa requires frontend driver virtio-net-*"
VDPA_NO_DEVICE: Final = "vhost-vdpa: neither vhostdev= nor vhostfd= was specified"
VDPA_BOTH: Final = "vhost-vdpa: vhostdev= and vhostfd= are mutually exclusive"
VDPA_VHOSTFD_PREFIX: Final = "vhost-vdpa: unable to parse vhostfd: "
VDPA_FEATURES_FAILED: Final = "Fail to query features from vhost-vDPA device: {}"

# --- net/slirp.c (-netdev user) ------------------------------------------------------------
SLIRP_IPV4_DISABLED: Final = "IPv4 disabled but netmask/host/dns provided"
SLIRP_IPV6_DISABLED: Final = "IPv6 disabled but prefix/host6/dns6 provided"
SLIRP_BOTH_DISABLED: Final = "IPv4 and IPv6 disabled"
SLIRP_NETMASK: Final = "Failed to parse netmask"
SLIRP_NETMASK_TRAILING: Final = "Failed to parse netmask (trailing chars)"
SLIRP_NETMASK_RANGE: Final = "Invalid netmask provided (must be in range 4-32)"
SLIRP_HOST: Final = "Failed to parse host"
SLIRP_HOST_NETWORK: Final = "Host doesn't belong to network"
SLIRP_DNS: Final = "Failed to parse DNS"
SLIRP_DNS_NETWORK: Final = "DNS doesn't belong to network"
SLIRP_DNS_HOST: Final = "DNS must be different from host"
SLIRP_DHCP: Final = "Failed to parse DHCP start address"
SLIRP_DHCP_NETWORK: Final = "DHCP doesn't belong to network"
SLIRP_DHCP_HOST_DNS: Final = "DHCP must be different from host and DNS"
SLIRP_SMB_ADDRESS: Final = "Failed to parse SMB address"
SLIRP_IPV6_PREFIX: Final = "Failed to parse IPv6 prefix"
SLIRP_IPV6_PREFIXLEN: Final = (
    "Invalid IPv6 prefix provided (IPv6 prefix length must be between 0 and 126)"
)
SLIRP_IPV6_HOST: Final = "Failed to parse IPv6 host"
SLIRP_IPV6_HOST_NETWORK: Final = "IPv6 Host doesn't belong to network"
SLIRP_IPV6_DNS: Final = "Failed to parse IPv6 DNS"
SLIRP_IPV6_DNS_NETWORK: Final = "IPv6 DNS doesn't belong to network"
SLIRP_DOMAIN_EMPTY: Final = "'domainname' parameter cannot be empty"
SLIRP_DOMAIN_LONG: Final = "'domainname' parameter cannot exceed 255 bytes"
SLIRP_HOSTNAME_LONG: Final = "'vhostname' parameter cannot exceed 255 bytes"
SLIRP_TFTP_NAME_LONG: Final = "'tftp-server-name' parameter cannot exceed 255 bytes"
SLIRP_HOSTFWD_INVALID: Final = "Invalid host forwarding rule '{}' ({})"
SLIRP_HOSTFWD_FAILED: Final = "Could not set up host forwarding rule '{}'"
SLIRP_GUESTFWD_INVALID: Final = "Invalid guest forwarding rule '{}'"
SLIRP_GUESTFWD_CONFLICT: Final = "Conflicting/invalid host:port in guest forwarding rule '{}'"
SLIRP_SMBD_MISSING: Final = "Could not find '{}', please install it"
SLIRP_SMB_DIR: Final = "Error accessing shared directory '{}': {}"

# --- memdevd's own: network backends it does not emulate (docs/divergences.md) ----------------
VHOST_USER_NOT_EMULATED: Final = (
    "memdevd: vhost-user is not emulated (memdevd speaks no vhost-user protocol)"
)
VDPA_NOT_EMULATED: Final = "memdevd: vhost-vdpa devices are not emulated"
VDE_NOT_EMULATED: Final = "memdevd: VDE switches are not emulated"
# net/passt.c (11.1, seen live): GLib's spawn error for the passt program
PASST_SPAWN_FAILED: Final = (
    "Error creating daemon: Failed to execute child process \u201c{}\u201d ({})"
)
PASST_NOT_EMULATED: Final = "memdevd: -netdev passt is not emulated (memdevd runs no passt daemon)"
DGRAM_MCAST_FD_NOT_EMULATED: Final = "memdevd: dgram multicast with local.type=fd is not emulated"
SOCKET_ADDRESS_TYPE_UNSUPPORTED: Final = "memdevd: vsock addresses are not emulated"
SLIRP_GUESTFWD_CHARDEV_NOT_EMULATED: Final = (
    "memdevd: guestfwd to a character device is not emulated ('{}'); use cmd:"
)

# --- system/qdev-monitor.c qbus_find, hw/core/bus.c ---------------------------------------
DEVICE_HAS_NO_CHILD_BUS: Final = "Device '{}' has no child bus"
DEVICE_HAS_MULTIPLE_CHILD_BUSES: Final = "Device '{}' has multiple child buses"

# --- hw/ide/qdev.c (ide-dev.c in 10.0), hw/block/block.c ----------------------------------
IDE_UNIT_TOO_BIG: Final = "Can't create IDE unit {}, bus supports only {} units"
IDE_UNIT_IN_USE: Final = "IDE unit {} is in use"
IDE_NO_DRIVE: Final = "No drive specified"

# --- hw/scsi/scsi-bus.c, hw/scsi/scsi-generic.c -------------------------------------------
SCSI_BAD_CHANNEL: Final = "bad scsi channel id: {}"
SCSI_BAD_ID: Final = "bad scsi device id: {}"
SCSI_BAD_LUN: Final = "bad scsi device lun: {}"
# {}: the other device's id, "(null)" for an anonymous one
SCSI_LUN_IN_USE: Final = "lun already used by '{}'"
SCSI_NO_FREE_TARGET: Final = "no free target"
SCSI_NO_FREE_LUN: Final = "no free lun"
# scsi-generic/scsi-block on a node that is not a host SCSI device (ENOTSUP), with its hint
SCSI_SG_IO_VERSION: Final = "cannot get SG_IO version number: Operation not supported"
SCSI_SG_IO_HINT: Final = "Is this a SCSI device?\n"

# --- hw/usb/bus.c, hw/usb/dev-hid.c, hw/usb/host-libusb.c ---------------------------------
USB_PORT_NOT_FOUND: Final = "usb port {} (bus {}) not found (in use?)"
USB_NO_FREE_PORTS: Final = "tried to attach usb device {} to a bus with no free ports"
USB_SPEED_MISMATCH: Final = (
    'Warning: speed mismatch trying to attach usb device "{}" ({} speed) to bus "{}", '
    'port "{}" ({} speed)'
)
USB_HID_BAD_VERSION: Final = "Invalid usb version {} for usb hid device"
USB_HOST_NOT_FOUND: Final = "failed to find host usb device {}:{}"

# --- hw/char/virtio-serial-bus.c, hw/char/virtio-console.c --------------------------------
VSER_PORT_EXISTS_AT: Final = "virtio-serial-bus: A port already exists at id {}"
VSER_PORT_EXISTS_BY_NAME: Final = "virtio-serial-bus: A port already exists by name {}"
VSER_MAX_PORTS_REACHED: Final = "virtio-serial-bus: Maximum port limit for this device reached"
VSER_PORT_OUT_OF_RANGE: Final = (
    "virtio-serial-bus: Out-of-range port id specified, max. allowed: {}"
)
VSER_PORT0_RESERVED: Final = (
    "Port number 0 on virtio-serial devices reserved for virtconsole devices for backward"
    " compatibility."
)
VSER_MAX_PORTS_UNSET: Final = "Maximum number of serial ports not specified"
VSER_MAX_PORTS_SUPPORTED: Final = "maximum ports supported: {}"

# --- block/qapi-system.c (qapi-sysemu.c in 7.2), system/qdev-monitor.c blk_by_qdev_id ----
MEDIA_NOT_REMOVABLE: Final = "Device '{}' is not removable"
MEDIA_TRAY_NOT_OPEN: Final = "Tray of device '{}' is not open"
MEDIA_DEVICE_NOT_REMOVABLE: Final = "Device is not removable"
MEDIA_TRAY_OF_DEVICE_NOT_OPEN: Final = "Tray of the device is not open"
MEDIA_ALREADY_INSERTED: Final = "There already is a medium in the device"
MEDIA_NODE_NOT_FOUND: Final = "Node '{}' not found"
MEDIA_NODE_IN_USE: Final = "Node '{}' is already in use"
# --- hw/pci/pci.c (query-pci's area: pci_add_option_rom) ----------------------------------
PCI_HOTPLUG_ROM_WITHOUT_BAR: Final = "Hot-plugged device without ROM bar can't have an option ROM"
# --- chardev/*.c, util/qemu-sockets.c, util/base64.c (the chardev helper's section) --------
# chardev/char.c
CHARDEV_EXISTS: Final = "Chardev with id '{}' already exists"
CHARDEV_ADD_FAILED: Final = "Failed to add chardev '{}': "
CHARDEV_NOT_DRIVER_NAME: Final = "'{}' is not a valid char driver name"
CHARDEV_DOES_NOT_EXIST: Final = "Chardev '{}' does not exist"
CHARDEV_MUX_HOTSWAP_7_2: Final = "Mux device hotswap not supported yet"
CHARDEV_MUX_HOTSWAP: Final = "For mux or hub device hotswap is not supported yet"
CHARDEV_NO_HOTSWAP: Final = "Chardev user does not support chardev hotswap"
CHARDEV_ID_NOT_FOUND: Final = "Chardev '{}' not found"
CHARDEV_BUSY: Final = "Chardev '{}' is busy"
CHARDEV_MISSING_BACKEND: Final = 'chardev: "{}" missing backend'
# chardev/char.c qemu_chr_parse_opts() (11.1, seen live)
CHARDEV_NO_ENCODING: Final = "chardev '{}' does not support encoding option"
# qapi/qapi-util.c qapi_enum_parse()
ENUM_INVALID_PARAMETER_VALUE: Final = "invalid parameter value: {}"
CHARDEV_NO_ID: Final = "chardev: no id specified"
CHARDEV_BACKEND_HELP: Final = "Available chardev backend types: {}"
# chardev/char-fd.c qmp_chardev_open_file_source(): error_setg_file_open()
CHARDEV_OPEN_FAILED: Final = "Could not open '{}': {}"
CHARDEV_FILE_NO_PATH: Final = "chardev: file: no filename given"
CHARDEV_PIPE_NO_PATH: Final = "chardev: pipe: no device path given"
CHARDEV_SERIAL_NO_PATH: Final = "chardev: serial/tty: no device path given"
CHARDEV_PARALLEL_NO_PATH: Final = "chardev: parallel: no device path given"
CHARDEV_NOT_PARALLEL: Final = "not a parallel port: {}"
CHARDEV_MUX_NO_CHARDEV: Final = "chardev: mux: no chardev given"
CHARDEV_MUX_BASE_NOT_FOUND: Final = "mux: base chardev {} not found"
CHARDEV_MUX_TOO_MANY: Final = "too many uses of multiplexed chardev '{}' (maximum is 4)"
CHARDEV_UDP_NO_PORT: Final = "chardev: udp: remote port not specified"
CHARDEV_SOCKET_ONE_OF: Final = "None or one of 'path', 'fd' or 'host' option required."
CHARDEV_SOCKET_NO_PORT: Final = "chardev: socket: no port given"
CHARDEV_SOCKET_DELAY_NODELAY: Final = "'delay' and 'nodelay' are mutually exclusive"
CHARDEV_SOCKET_RECONNECT_FD: Final = "'reconnect' option is incompatible with 'fd' address type"
CHARDEV_SOCKET_TLS_UNIX: Final = "'tls_creds' option is incompatible with 'unix' address type"
CHARDEV_SOCKET_TLS_FD_CLIENT: Final = (
    "'tls_creds' option is incompatible with 'fd' address type as client"
)
CHARDEV_SOCKET_AUTHZ: Final = "'tls_authz' option requires 'tls_creds' option"
CHARDEV_SOCKET_RECONNECT_SERVER: Final = (
    "'reconnect' option is incompatible with socket in server listen mode"
)
CHARDEV_SOCKET_WEBSOCKET_CLIENT: Final = "Websocket client is not implemented"
CHARDEV_SOCKET_WAIT_CLIENT: Final = (
    "'wait' option is incompatible with socket in client connect mode"
)
CHARDEV_SOCKET_RECONNECT_BOTH: Final = "'reconnect' and 'reconnect-ms' are mutually exclusive"
CHARDEV_SOCKET_NO_TLS_CREDS: Final = "No TLS credentials with id '{}'"
CHARDEV_SOCKET_NOT_TLS_CREDS: Final = "Object with id '{}' is not TLS credentials"
CHARDEV_SOCKET_WAITING: Final = "QEMU waiting for connection on: {}"
CHARDEV_SOCKET_UNABLE_TO_CONNECT: Final = "Unable to connect character device {}: {}"
CHARDEV_STDIO_DAEMONIZE: Final = "cannot use stdio with -daemonize"
CHARDEV_STDIO_MULTIPLE: Final = "cannot use stdio by multiple character devices"
CHARDEV_RINGBUF_POWER_OF_TWO: Final = "size of ringbuf chardev must be power of two"
CHARDEV_RINGBUF_DEVICE_NOT_FOUND: Final = "Device '{}' not found"
CHARDEV_RINGBUF_NOT_RINGBUF: Final = "{} is not a ringbuf device"
CHARDEV_RINGBUF_SIZE: Final = "size must be greater than zero"
CHARDEV_SPICE_NOT_ENABLED: Final = "spice not enabled"
CHARDEV_SPICE_CHANNEL_NO_NAME: Final = "chardev: spice channel: no name given"
CHARDEV_SPICE_PORT_NO_NAME: Final = "chardev: spice port: no name given"
CHARDEV_BRLAPI: Final = "brlapi__openConnection: connect: No such file or directory"
CHARDEV_PTY_REDIRECTED: Final = "char device redirected to {} (label {})"
# util/qemu-sockets.c
SOCKET_CONNECT_UNIX_FAILED: Final = "Failed to connect to '{}': {}"
SOCKET_CONNECT_INET_FAILED: Final = "Failed to connect to '{}:{}': {}"
# util/base64.c qbase64_decode()
# memdevd's own
CHARDEV_PTY_LINK_NOT_EMULATED: Final = (
    "memdevd: chardev pty path= is not emulated (memdevd creates no symlink)"
)
CHARDEV_SOCKET_KIND_NOT_EMULATED: Final = (
    "memdevd: chardev socket address type '{}' is not emulated"
)
CHARDEV_LOGFILE_FAILED: Final = "Could not create '{}': {}"
CHARDEV_STDIO_NONBLOCK: Final = "Failed to set FD nonblocking: Bad file descriptor"
CHARDEV_SPICE_UNSUPPORTED_TYPE: Final = "unsupported type name: {}"
CHARDEV_SPICE_UNSUPPORTED_TYPE_HINT: Final = "allowed spice char type names: {}\n"
# chardev/char-hub.c (10.0)
CHARDEV_HUB_NO_CHARDEVS: Final = "hub: 'chardevs' list is not defined"
CHARDEV_HUB_NOT_FOUND: Final = "hub: chardev can't be found by id '{}'"
CHARDEV_HUB_NESTED: Final = (
    "hub: multiplexers and hub devices can't be stacked, check chardev '{}', chardev should"
    " not be a hub device or have 'mux=on' enabled"
)
# system/vl.c serial_parse(), parallel_parse()
# system/vl.c usb_parse, hw/usb/bus.c usbdevice_create (-usbdevice)
USBDEVICE_ADD_FAILED: Final = "could not add USB device '{}'"
USBDEVICE_PARAMETERS: Final = "usbdevice parameters are not supported anymore"
USBDEVICE_NO_BUS: Final = (
    "Error: no usb bus to attach usbdevice {}, please try -machine usb=on and check that"
    " the machine model supports USB"
)
USBDEVICE_CREATE_FAILED: Final = "Failed to create USB device '{}'"
USBDEVICE_INIT_FAILED: Final = "Failed to initialize USB device '{}': {}"
DEBUGCON_INVALID_BACKEND: Final = "invalid character backend '{}'"
DEBUGCON_DEVICE_EXISTS: Final = "already have a debugcon device"
SERIAL_CONNECT_FAILED: Final = "could not connect serial device to character backend '{}'"
PARALLEL_CONNECT_FAILED: Final = "could not connect parallel device to character backend '{}'"
PARALLEL_TOO_MANY: Final = "too many parallel ports"

# hw/virtio/vhost-vsock.c vhost_vsock_device_realize
VSOCK_GUEST_CID_RESERVED: Final = "guest-cid property must be greater than 2"
VSOCK_GUEST_CID_32BIT: Final = "guest-cid property must be a 32-bit number"
VSOCK_VHOST_OPEN_FAILED: Final = "vhost-vsock: failed to open vhost device: {}"
# 11.1: qemu_open()'s text (seen live).
VSOCK_VHOST_OPEN_FAILED_11_1: Final = "Could not open '/dev/vhost-vsock': {}"
# monitor/fds.c (7.2: monitor/misc.c), system/vl.c parse_add_fd
FD_NONE_SUPPLIED: Final = "No file descriptor supplied via SCM_RIGHTS"
FD_NAME_NOT_FOUND: Final = "File descriptor named '{}' not found"
ADD_FD_FD_REQUIRED: Final = "fd option is required and must be non-negative"
ADD_FD_STDIO: Final = "fd cannot be a standard I/O stream"
ADD_FD_INVALID: Final = "fd is not valid or already in use"
ADD_FD_SET_REQUIRED: Final = "set option is required and must be non-negative"
ADD_FD_DUP_FAILED: Final = "error duplicating fd: {}"
# accel/tcg/icount-common.c (7.2: softmmu/icount.c) icount_configure, its
# caller system/vl.c configure_accelerators, replay/replay.c replay_configure
ICOUNT_ALIGN_WITHOUT_SHIFT: Final = "Please specify shift option when using align"
ICOUNT_ALIGN_WITHOUT_SLEEP: Final = "align=on and sleep=off are incompatible"
ICOUNT_INVALID_SHIFT: Final = "icount: Invalid shift value"
ICOUNT_WITH_KVM: Final = "-icount is not allowed with hardware virtualization"
REPLAY_INVALID_RR: Final = "Invalid icount rr option: {}"
REPLAY_NO_FILE: Final = "File name not specified for replay"
# fsdev/qemu-fsdev.c qemu_fsdev_add (-fsdev, -virtfs), hw/9pfs/9p-local.c
# local_parse_opts, hw/9pfs/9p-proxy.c proxy_parse_opts (7.2), system/vl.c -virtfs
FSDEV_NO_ID: Final = "fsdev: No id specified"
FSDEV_DRIVER_NOT_FOUND: Final = "fsdev: fsdriver {} not found"
FSDEV_NO_DRIVER: Final = "fsdev: No fsdriver specified"
FSDEV_OPT_INVALID: Final = "'{}' is invalid for fsdriver '{}'"
FSDEV_SECURITY_MODEL_NOT_SET: Final = "security_model property not set"
FSDEV_SECURITY_MODEL_INVALID: Final = "invalid security_model property '{}'"
FSDEV_SECURITY_MODEL_HINT: Final = (
    "Valid options are: security_model=[passthrough|mapped-xattr|mapped-file|none]\n"
)
FSDEV_MULTIDEVS_INVALID: Final = "invalid multidevs property '{}'"
FSDEV_MULTIDEVS_HINT: Final = "Valid options are: multidevs=[remap|forbid|warn]\n"
FSDEV_PATH_NOT_SET: Final = "path property not set"
FSDEV_THROTTLE_INVALID: Final = "invalid throttle configuration: {}"
FSDEV_FMODE_NOT_MAPPED: Final = "fmode is only valid for mapped security modes"
FSDEV_DMODE_NOT_MAPPED: Final = "dmode is only valid for mapped security modes"
FSDEV_PROXY_SOCKET_MISSING: Final = "both socket and sock_fd properties are missing"
FSDEV_PROXY_SOCKET_BOTH: Final = "both socket and sock_fd properties are set"
VIRTFS_USAGE: Final = "Usage: -virtfs fsdriver,mount_tag=tag"
VIRTFS_BAD_ID: Final = "duplicate or invalid fsdev id: {}"
# hw/9pfs/9p.c v9fs_device_realize_common, hw/9pfs/9p-local.c local_init
V9FS_NO_FSDEV: Final = "9pfs device couldn't find fsdev with the id = {}"
V9FS_NO_MOUNT_TAG: Final = "fsdev with id {} needs mount_tag arguments"
V9FS_TAG_TOO_LONG: Final = "mount tag '{}' ({} bytes) is longer than maximum ({} bytes)"
V9FS_INIT_FAILED: Final = "cannot initialize fsdev '{}': {}"
V9FS_LOCAL_OPEN_FAILED: Final = "failed to open '{}': {}"
V9FS_SHARE_NOT_DIRECTORY: Final = "share path {} is not a directory"
# hw/virtio/vhost-user-fs.c vuf_device_realize
VHOST_USER_FS_MISSING_CHARDEV: Final = "missing chardev"
VHOST_USER_FS_MISSING_TAG: Final = "missing tag property"
VHOST_USER_FS_EMPTY_TAG: Final = "tag property cannot be empty"
VHOST_USER_FS_TAG_TOO_LONG: Final = "tag property must be {} bytes or less"
VHOST_USER_FS_NO_QUEUES: Final = "num-request-queues property must be larger than 0"
VHOST_USER_FS_QUEUE_SIZE_POW2: Final = "queue-size property must be a power of 2"
VHOST_USER_FS_QUEUE_SIZE_MAX: Final = "queue-size property must be {} or smaller"
# hw/virtio/vhost-user.c vhost_user_write, hw/virtio/vhost.c vhost_dev_init
VHOST_USER_SET_MSG_FDS_FAILED: Final = "Failed to set msg fds."
VHOST_BACKEND_INIT_FAILED: Final = "vhost_backend_init failed: {}"
# hw/vfio/pci.c vfio_realize, hw/vfio/helpers.c vfio_device_get_name,
# hw/vfio/container.c vfio_device_get_group
VFIO_NO_HOST_DEVICE: Final = "No provided host device"
VFIO_NO_HOST_HINT_7_2: Final = (
    "Use -device vfio-pci,host=DDDD:BB:DD.F or -device vfio-pci,sysfsdev=PATH_TO_DEVICE\n"
)
VFIO_NO_HOST_HINT: Final = (
    "Use -device vfio-pci,host=DDDD:BB:DD.F or -device vfio-pci,fd=DEVICE_FD"
    " or -device vfio-pci,sysfsdev=PATH_TO_DEVICE\n"
)
VFIO_NO_SUCH_HOST_DEVICE: Final = "vfio {}: no such host device: {}"
VFIO_NO_IOMMU_GROUP: Final = "vfio {}: no iommu_group found: {}"
VFIO_FD_NEEDS_IOMMUFD: Final = "Use FD passing only with iommufd backend"
VFIO_NOT_EMULATED: Final = "memdevd: assigning host device {} (vfio) is not emulated"
# hw/i386/pc.c pc_machine_device_pre_plug_cb, hw/i386/x86-iommu.c,
# hw/i386/intel_iommu.c vtd_realize/vtd_decide_config
MULTIPLE_VIOMMUS: Final = "QEMU does not support multiple vIOMMUs for x86 yet."
VIOMMU_IR_NEEDS_SPLIT: Final = (
    "Interrupt Remapping cannot work with kernel-irqchip=on, please use 'split|off'."
)
VTD_PASID_DEVICE_IOTLB: Final = "PASID based device IOTLB is not supported"
VTD_EIM_WITHOUT_INTREMAP: Final = "eim=on cannot be selected without intremap=on"
VTD_EIM_REQUIRES_SPLIT: Final = "eim=on requires accel=kvm,kernel-irqchip=split"
VTD_FLTS_SCALABLE_ONLY: Final = "x-flts is only available in scalable mode"
VTD_AW_BITS_7_2: Final = "Supported values for aw-bits are: {aw39}, {aw48}"
VTD_AW_BITS: Final = "{mode}: supported values for aw-bits are: {aw39}, {aw48}"
VTD_FLTS_AW_BITS: Final = "Scalable mode(flts=on): supported value for aw-bits is: {}"
VTD_SCALABLE_NEEDS_DMA_DRAIN: Final = "Need to set dma_drain for scalable mode"
VTD_PASID_NEEDS_SCALABLE: Final = "Need to set scalable mode for PASID"
# hw/acpi/vmgenid.c vmgenid_realize, hw/misc/vmcoreinfo.c vmcoreinfo_realize
AT_MOST_ONE_DEVICE: Final = "at most one {} device is permitted"
