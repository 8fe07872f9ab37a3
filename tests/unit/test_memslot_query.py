"""x-memdevd-query-memslots and the start-up choices behind it (no sockets).

The report must show QEMU 8.2's accounting (hw/mem/memory-device.c):
required memslots count from plug, used ones only as RAM gets mapped, and
reserved = required - used held back against KVM and vhost.
"""

from __future__ import annotations

from memdevd.app.settings import MemdevdSettings, apply
from memdevd.app.startup import StartupRequest, configure_accelerator
from memdevd.commands.base import Runtime
from memdevd.commands.memdevd_extras import memslot_report
from memdevd.machine.clock import VirtualClock
from memdevd.machine.guest import GuestConfig, VirtioMemGuestRate
from memdevd.machine.host import HostFacts
from memdevd.machine.machine import Machine, MachineConfig
from memdevd.releases.table import get_release
from memdevd.targets.x86_64.board import PC
from memdevd.targets.x86_64.machine_types import pc_alias

GiB = 1 << 30
MiB = 1 << 20


def machine(
    version: str,
    *,
    kvm_slots: int | None = None,
    vhost_slots: int | None = None,
    guest: str = "none",
) -> Machine:
    host = HostFacts(kvm=kvm_slots is not None, kvm_memslots=kvm_slots, vhost_memslots=vhost_slots)
    config = MachineConfig(
        cpu_model="qemu64",  # the pc/q35 default (the target resolves it)
        machine_type=pc_alias(get_release(version)),
        alias="pc",
        board=PC,
        ram_size=GiB,
        maxram_size=9 * GiB,
        ram_slots=4,
        guest=GuestConfig.parse(guest),
        accel="kvm" if kvm_slots is not None else "tcg",
    )
    m = Machine(config, get_release(version), host=host, clock=VirtualClock())
    m.init_board()
    m.finish_init()
    return m


def report(m: Machine) -> dict:
    return memslot_report(Runtime(m, m.release))


def test_dimm_counts_one_memslot_used_and_required() -> None:
    m = machine("10.0", kvm_slots=64)
    m.object_add("memory-backend-ram", "m0", {"size": GiB})
    m.device_add({"driver": "pc-dimm", "id": "d0", "memdev": "m0"}, from_json=True)
    r = report(m)
    assert (r["used-memslots"], r["required-memslots"], r["reserved-memslots"]) == (1, 1, 0)
    # 64 KVM slots, 8 for boot memory and ROMs, 1 for the DIMM.
    assert r["kvm"] == {"max": 64, "base": 8, "free": 55}
    assert r["devices"] == [
        {
            "id": "d0",
            "qom-path": "/machine/peripheral/d0",
            "type": "dimm",
            "required-memslots": 1,
            "used-memslots": 1,
            # 2 MiB: a RAM backend's THP-sized alignment.
            "alignment": 2 * MiB,
        }
    ]


def test_dynamic_memslots_reserve_until_the_guest_plugs() -> None:
    # -m 1G,maxmem=9G, virtio-mem 8G: memory_device_memslot_decision_limit()
    # gives the whole soft limit (256) to a device that takes all device
    # memory; virtio_mem_decide_memslots: memslot size max(8G/256, 1 GiB) =
    # 1 GiB, so 8 memslots.
    m = machine("10.0", guest="cooperative")
    m.object_add("memory-backend-ram", "b", {"size": 8 * GiB})
    m.device_add(
        {"driver": "virtio-mem-pci", "id": "v", "memdev": "b", "dynamic-memslots": True},
        from_json=True,
    )
    r = report(m)
    assert (r["used-memslots"], r["required-memslots"], r["reserved-memslots"]) == (0, 8, 8)
    assert r["auto-decision-active"] == 1
    m.qom_set("/machine/peripheral/v", "requested-size", 3 * GiB)
    assert isinstance(m.clock, VirtualClock)
    m.clock.advance(5 * 10**9)
    r = report(m)
    assert (r["used-memslots"], r["required-memslots"], r["reserved-memslots"]) == (3, 8, 5)
    assert r["devices"][0]["used-memslots"] == 3
    assert r["devices"][0]["dynamic-memslots"] is True


def test_7_2_has_no_accounting() -> None:
    m = machine("7.2")
    m.object_add("memory-backend-ram", "m0", {"size": GiB})
    m.device_add({"driver": "pc-dimm", "id": "d0", "memdev": "m0"}, from_json=False)
    r = report(m)
    assert r["accounting"] is False
    assert (r["used-memslots"], r["required-memslots"], r["reserved-memslots"]) == (1, 1, 0)
    assert "kvm" not in r and "vhost" not in r


def test_kvm_memslots_setting_makes_kvm_the_default_accelerator() -> None:
    settings = MemdevdSettings()
    apply(settings, [("kvm-memslots", "100")])
    release = get_release("10.0")
    accel, printed = configure_accelerator(StartupRequest(), settings, release)
    assert (accel, printed) == ("kvm", [])
    # Without it QEMU's x86 default, TCG, applies even on a KVM host.
    settings = MemdevdSettings()
    apply(settings, [("kvm", "on")])
    assert configure_accelerator(StartupRequest(), settings, release) == ("tcg", [])


def test_vmem_rate_setting() -> None:
    settings = MemdevdSettings()
    apply(settings, [("vmem-rate", "256M/0.5")])
    assert settings.vmem_rate == VirtioMemGuestRate(256 << 20, 500_000_000)
