"""memdevd's own settings: the ``-memdevd key=val,...`` option group.

Everything QEMU would read from the host or that only a simulator has (the
release to emulate, the simulated guest, host page sizes, KVM and vhost
memslots, socket permissions) is set here, in one option group whose name
cannot collide with a QEMU option.  ``-memdevd`` may be repeated; later
keys override earlier ones.  Every key is documented in ``SETTINGS`` and
listed by ``-memdevd help``.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any, Final

from memdevd import messages as M
from memdevd.machine.guest import GuestConfig
from memdevd.machine.host import NO_KVM_DEVICE, HostFacts
from memdevd.records import record
from memdevd.releases.table import DEFAULT_VERSION, RELEASES

# key -> (value syntax, help)
SETTINGS: Final[dict[str, tuple[str, str]]] = {
    "version": ("7.2|8.2|10.0|11.1", "QEMU release to emulate (default 10.0)"),
    "target": (
        "x86_64|aarch64",
        "QEMU system emulator: qemu-system-x86_64 (default) or qemu-system-aarch64 (virt)",
    ),
    "guest": (
        "none|cooperative|slow:SECONDS|polls:N|refuse",
        "simulated guest OS (default none: firmware only, as a paused QEMU)",
    ),
    "vmem-driver": ("on|off", "whether the simulated guest has a virtio-mem driver (default on)"),
    "vmem-rate": (
        "SIZE[/SECONDS]",
        "how fast the guest's virtio-mem driver (un)plugs: SIZE per SECONDS (default 1G/0.1)",
    ),
    "kvm": (
        "on|off|auto",
        "emulate a host with /dev/kvm (default off; auto: whether KVM initialises on this"
        " host as QEMU's kvm_init() finds: open, API version, create a VM)",
    ),
    "kvm-device": ("PATH", "the device kvm=auto probes (default /dev/kvm)"),
    "kvm-memslots": ("N", "emulate KVM with N memory slots (implies kvm=on)"),
    "vhost-memslots": ("N", "emulate a vhost backend limited to N memory slots"),
    "page-size": ("SIZE", "host page size (default 4K)"),
    "thp-size": ("SIZE", "transparent huge page size (default 2M)"),
    "hugepage-sizes": ("SIZE[:SIZE...]", "hugetlbfs page sizes (default 2M:1G)"),
    "hugetlbfs": ("PATH[:SIZE]", "a path treated as a hugetlbfs mount (default /dev/hugepages:2M)"),
    "host-nodes": ("N", "number of host NUMA nodes (default 1)"),
    "host-memory": (
        "SIZE|unlimited",
        "memory the host can back guest RAM with, RAM + swap (default unlimited): larger"
        " reserve=on RAM backends fail to map, preallocation beyond it fails",
    ),
    "host-overcommit": (
        "heuristic|always|never",
        "the host's vm.overcommit_memory for host-memory (default heuristic: one RAM"
        " backend at a time; never: they add up, reserve=off too)",
    ),
    "sgx": ("on|off", "emulate a host with SGX and /dev/sgx_vepc (default off)"),
    "phys-bits": ("N", "host CPU physical address bits, for host-phys-bits under KVM (default 40)"),
    "socket-mode": ("OCTAL", "mode of UNIX sockets memdevd creates (default 0600)"),
    "max-clients": ("N", "simultaneous QMP clients before new ones wait (default 1024)"),
    "log-level": ("debug|info|warning|error", "log level (default warning)"),
    "log-file": ("PATH", "write the log here instead of stderr"),
    "log-format": ("text|json", "log lines as text or one JSON object each (default text)"),
    "clock": (
        "real|virtual",
        "virtual: time moves only with x-memdevd-advance-clock (default real)",
    ),
    "fault": (
        "COMMAND:error[:DESC]|COMMAND:delay:SECONDS|COMMAND:drop",
        "inject a fault into the first COMMAND (* for any); repeatable",
    ),
}


#: ioctl numbers of linux/kvm.h: _IO(KVMIO, 0x00) and _IO(KVMIO, 0x01).
KVM_GET_API_VERSION: Final = 0xAE00
KVM_CREATE_VM: Final = 0xAE01
KVM_API_VERSION: Final = 12


def probe_kvm(device: str = "/dev/kvm") -> tuple[str, int] | None:
    """What QEMU's ``kvm_init()`` finds on this host, up to creating a VM.

    None when KVM works; otherwise the step that fails (one of
    :data:`memdevd.machine.host.KVM_INIT_STEPS`) and the errno QEMU then
    reports.  The same steps in the same order as kvm_init(): open the
    device read-write, KVM_GET_API_VERSION must be 12, KVM_CREATE_VM (the VM
    is closed again at once).  A host whose KVM initialises but cannot run
    a vCPU (nested virtualization that rejects an MSR, say) passes: QEMU
    fails there only when it resets its vCPUs, which memdevd never runs.
    """
    import errno
    import fcntl
    import os

    try:
        fd = os.open(device, os.O_RDWR | os.O_CLOEXEC)
    except OSError as exc:
        return "open", exc.errno or errno.EIO
    try:
        try:
            api = fcntl.ioctl(fd, KVM_GET_API_VERSION, 0)
        except OSError as exc:
            return "version-too-old", exc.errno or errno.EIO
        if api < KVM_API_VERSION:
            return "version-too-old", errno.EINVAL
        if api > KVM_API_VERSION:
            return "version-not-supported", errno.EINVAL
        while True:
            try:
                vm = fcntl.ioctl(fd, KVM_CREATE_VM, 0)
                break
            except InterruptedError:
                continue
            except OSError as exc:
                return "create-vm", exc.errno or errno.EIO
        os.close(vm)
        return None
    finally:
        os.close(fd)


def _resolve_kvm_auto(settings: MemdevdSettings) -> None:
    host = settings.host
    failure = probe_kvm(settings.kvm_device)
    host.kvm = failure is None
    if failure is not None:
        host.kvm_failure, host.kvm_errno = failure


@record
class MemdevdSettings:
    version: str = DEFAULT_VERSION
    # The QEMU system emulator (memdevd/targets/<target>/): x86_64, aarch64.
    target: str = "x86_64"
    guest: GuestConfig = field(default_factory=GuestConfig)
    host: HostFacts = field(default_factory=HostFacts)
    vmem_rate: Any = None
    socket_mode: int | None = 0o600
    max_clients: int = 1024
    log_level: str = "warning"
    log_file: str | None = None
    log_format: str = "text"
    vmem_driver: bool | None = None
    clock: str = "real"
    # kvm=auto: the host is probed (at each kvm= and kvm-device= key, so
    # their order does not matter).
    kvm_auto: bool = False
    kvm_device: str = "/dev/kvm"
    # (command, action, value) of -memdevd fault=, in order.
    faults: list[tuple[str, str, str]] = field(default_factory=list)


class SettingsError(ValueError):
    """A bad ``-memdevd`` value; the text is printed after the location."""


def _parse_size(text: str, key: str) -> int:
    from memdevd.util.cutils import strtosz

    value = strtosz(text)
    if value is None or value == 0:
        raise SettingsError(M.INVALID_PARAMETER_VALUE.format(key, "a size"))
    return value


def _parse_uint(text: str, key: str) -> int:
    if not text.isdigit():
        raise SettingsError(M.INVALID_PARAMETER_VALUE.format(key, "a non-negative integer"))
    return int(text)


def _parse_bool(text: str, key: str) -> bool:
    if text in ("on", "yes", "true", "y"):
        return True
    if text in ("off", "no", "false", "n"):
        return False
    raise SettingsError(M.INVALID_PARAMETER_VALUE.format(key, "'on' or 'off'"))


def apply(settings: MemdevdSettings, items: list[tuple[str, str]]) -> None:
    """Apply ``key=value`` items of one ``-memdevd`` option."""
    host = settings.host
    for key, value in items:
        if key == "version":
            if value not in RELEASES:
                choices = "emulated releases: " + ", ".join(RELEASES)
                raise SettingsError(M.SETTING_BAD_VALUE.format(key, value, choices))
            settings.version = value
        elif key == "target":
            from memdevd.targets import TARGET_NAMES

            if value not in TARGET_NAMES:
                choices = "emulated targets: " + ", ".join(TARGET_NAMES)
                raise SettingsError(M.SETTING_BAD_VALUE.format(key, value, choices))
            settings.target = value
        elif key == "guest":
            try:
                settings.guest = GuestConfig.parse(value)
            except ValueError:
                raise SettingsError(
                    M.SETTING_BAD_VALUE.format(key, value, M.GUEST_CHOICES)
                ) from None
        elif key == "vmem-rate":
            from memdevd.machine.guest import VirtioMemGuestRate

            try:
                rate = VirtioMemGuestRate.parse(value)
            except ValueError:
                raise SettingsError(
                    M.SETTING_BAD_VALUE.format(key, value, M.VMEM_RATE_CHOICES)
                ) from None
            settings.vmem_rate = rate
        elif key == "kvm":
            # auto: what QEMU itself would find on this host.
            settings.kvm_auto = value == "auto"
            if settings.kvm_auto:
                _resolve_kvm_auto(settings)
            else:
                host.kvm = _parse_bool(value, key)
                host.kvm_failure, host.kvm_errno = NO_KVM_DEVICE
        elif key == "kvm-device":
            if not value:
                raise SettingsError(M.INVALID_PARAMETER_VALUE.format(key, "a path"))
            settings.kvm_device = value
            if settings.kvm_auto:
                _resolve_kvm_auto(settings)
        elif key == "kvm-memslots":
            host.kvm_memslots = _parse_uint(value, key)
            host.kvm = True
            settings.kvm_auto = False
        elif key == "vhost-memslots":
            host.vhost_memslots = _parse_uint(value, key)
        elif key == "page-size":
            host.page_size = _parse_size(value, key)
        elif key == "thp-size":
            host.thp_size = _parse_size(value, key)
        elif key == "hugepage-sizes":
            sizes = tuple(_parse_size(v, key) for v in value.split(":") if v)
            host.hugepage_sizes = sizes
            if sizes:
                host.default_hugepage_size = sizes[0]
        elif key == "hugetlbfs":
            path, _, size = value.partition(":")
            host.hugetlbfs_mounts[path] = (
                _parse_size(size, key) if size else host.default_hugepage_size
            )
        elif key == "host-nodes":
            count = _parse_uint(value, key)
            if count < 1:
                raise SettingsError(M.INVALID_PARAMETER_VALUE.format(key, "at least 1"))
            host.numa_nodes = tuple(range(count))
        elif key == "host-memory":
            host.memory = None if value == "unlimited" else _parse_size(value, key)
        elif key == "host-overcommit":
            if value not in ("heuristic", "always", "never"):
                choices = "heuristic, always, never"
                raise SettingsError(M.SETTING_BAD_VALUE.format(key, value, choices))
            host.overcommit = value
        elif key == "sgx":
            host.sgx = _parse_bool(value, key)
        elif key == "phys-bits":
            host.phys_bits = _parse_uint(value, key)
        elif key == "socket-mode":
            try:
                settings.socket_mode = int(value, 8)
            except ValueError:
                raise SettingsError(
                    M.INVALID_PARAMETER_VALUE.format(key, "an octal mode")
                ) from None
        elif key == "max-clients":
            settings.max_clients = max(1, _parse_uint(value, key))
        elif key == "log-level":
            if value not in ("debug", "info", "warning", "error"):
                raise SettingsError(M.ENUM_BAD_VALUE.format(key, value))
            settings.log_level = value
        elif key == "log-file":
            settings.log_file = value
        elif key == "log-format":
            if value not in ("text", "json"):
                raise SettingsError(M.SETTING_BAD_VALUE.format(key, value, "text, json"))
            settings.log_format = value
        elif key == "vmem-driver":
            settings.vmem_driver = _parse_bool(value, key)
        elif key == "clock":
            if value not in ("real", "virtual"):
                raise SettingsError(M.SETTING_BAD_VALUE.format(key, value, "real, virtual"))
            settings.clock = value
        elif key == "fault":
            settings.faults.append(_parse_fault(value))
        else:
            raise SettingsError(M.INVALID_PARAMETER.format(key))


def _parse_fault(text: str) -> tuple[str, str, str]:
    command, _, rest = text.partition(":")
    action, _, value = rest.partition(":")
    valid = bool(command) and (
        action == "error"
        or (action == "drop" and not value)
        or (action == "delay" and _is_delay(value))
    )
    if not valid:
        choices = "COMMAND:error[:DESC], COMMAND:delay:SECONDS, COMMAND:drop"
        raise SettingsError(M.SETTING_BAD_VALUE.format("fault", text, choices))
    return command, action, value


def _is_delay(text: str) -> bool:
    try:
        return 0 <= float(text) <= 3600
    except ValueError:
        return False


def help_text() -> str:
    lines = ["-memdevd options (memdevd's own settings, not QEMU's):"]
    for key, (syntax, text) in SETTINGS.items():
        lines.append(f"  {key}={syntax}")
        lines.append(f"      {text}")
    return "\n".join(lines)
