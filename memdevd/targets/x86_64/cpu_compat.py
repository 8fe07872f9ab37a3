"""The compat properties old machine types give the vCPUs (``pc_compat_X_Y``).

hw/i386/pc.c's ``pc_compat_X_Y`` arrays hold GlobalProperty entries on
``TYPE_X86_CPU`` (every vCPU) and on one model's type (``"Skylake-Client"
"-" TYPE_X86_CPU``: an object of exactly that type, so the unversioned
alias, never ``Skylake-Client-v1``).  They apply to every machine type up
to X.Y, before ``-global`` and ``-cpu``'s options (``object_apply_compat_props``).

The table is QEMU 7.2's and 10.0's (Debian 7.2 has the types up to 2.3
that 10.0 removed; 10.0 the 9.0 entries), and 11.1's 10.0 entries as seen
live; an entry of X.Y exists only in a
release after X.Y (:func:`memdevd.releases.machine_compat.compat_props`'s
``release``).  Values are QEMU's texts, parsed as ``-global`` parses them.

Also here: the machine types whose ``default_cpu_version`` is
``CPU_VERSION_LEGACY`` (``pc_i440fx_4_0`` and ``pc_q35_4_0_1`` options,
hw/i386/pc_piix.c and pc_q35.c): ``query-cpu-definitions`` there lists no
``alias-of`` (target/i386/cpu.c ``x86_cpu_definition_entry``); an
unversioned model's properties are those of its -v1 (no -v1 has version
properties), so nothing else shows it.
"""

from __future__ import annotations

from memdevd.releases.machine_compat import CompatTable, compat_props, machine_version
from memdevd.releases.table import Release

#: The driver every x86 vCPU is (TYPE_X86_CPU).
X86_CPU = "x86_64-cpu"

#: pc_i440fx_4_0 / pc_q35_4_0_1 options: ``pcmc->default_cpu_version =
#: CPU_VERSION_LEGACY`` for these types and older.
LEGACY_CPU_VERSION: CompatTable = {(4, 0): {"pc-machine.default-cpu-version": "legacy"}}

#: pc_compat_X_Y's entries on x86 vCPUs (hw/i386/pc.c of 7.2 and 10.0), newest first.
CPU_COMPAT: CompatTable = {
    # 11.1's pc_compat_10_0 (no 11.1 source here: seen live, the full
    # expansion of every model on pc-q35-10.0 against pc-q35-11.1)
    (10, 0): {
        "x86_64-cpu.x-consistent-cache": "false",
        "x86_64-cpu.x-pdcm-on-even-without-pmu": "true",
        "x86_64-cpu.x-arch-cap-always-on": "true",
        "x86_64-cpu.x-vendor-cpuid-only-v2": "false",
    },
    (9, 0): {  # pc_compat_9_0
        "x86_64-cpu.x-amd-topoext-features-only": "false",
        "x86_64-cpu.x-l1-cache-per-thread": "false",
        "x86_64-cpu.guest-phys-bits": "0",
        "x86_64-cpu.legacy-multi-node": "on",
    },
    (6, 1): {  # pc_compat_6_1
        "x86_64-cpu.hv-version-id-build": "0x1bbc",
        "x86_64-cpu.hv-version-id-major": "0x0006",
        "x86_64-cpu.hv-version-id-minor": "0x0001",
    },
    (6, 0): {  # pc_compat_6_0
        "qemu64-x86_64-cpu.family": "6",
        "qemu64-x86_64-cpu.model": "6",
        "qemu64-x86_64-cpu.stepping": "3",
        "x86_64-cpu.x-vendor-cpuid-only": "off",
    },
    (5, 1): {  # pc_compat_5_1
        "x86_64-cpu.kvm-msi-ext-dest-id": "off",
    },
    (3, 1): {  # pc_compat_3_1
        "Opteron_G3-x86_64-cpu.rdtscp": "off",
        "Opteron_G4-x86_64-cpu.rdtscp": "off",
        "Opteron_G4-x86_64-cpu.npt": "off",
        "Opteron_G4-x86_64-cpu.nrip-save": "off",
        "Opteron_G5-x86_64-cpu.rdtscp": "off",
        "Opteron_G5-x86_64-cpu.npt": "off",
        "Opteron_G5-x86_64-cpu.nrip-save": "off",
        "EPYC-x86_64-cpu.npt": "off",
        "EPYC-x86_64-cpu.nrip-save": "off",
        "EPYC-IBPB-x86_64-cpu.npt": "off",
        "EPYC-IBPB-x86_64-cpu.nrip-save": "off",
        "Skylake-Client-x86_64-cpu.mpx": "on",
        "Skylake-Client-IBRS-x86_64-cpu.mpx": "on",
        "Skylake-Server-x86_64-cpu.mpx": "on",
        "Skylake-Server-IBRS-x86_64-cpu.mpx": "on",
        "Cascadelake-Server-x86_64-cpu.mpx": "on",
        "Icelake-Client-x86_64-cpu.mpx": "on",
        "Icelake-Server-x86_64-cpu.mpx": "on",
        "Cascadelake-Server-x86_64-cpu.stepping": "5",
        "x86_64-cpu.x-intel-pt-auto-level": "off",
    },
    (3, 0): {  # pc_compat_3_0
        "x86_64-cpu.x-hv-synic-kvm-only": "on",
        "Skylake-Server-x86_64-cpu.pku": "off",
        "Skylake-Server-IBRS-x86_64-cpu.pku": "off",
    },
    (2, 12): {  # pc_compat_2_12
        "x86_64-cpu.legacy-cache": "on",
        "x86_64-cpu.topoext": "off",
        "EPYC-x86_64-cpu.xlevel": "0x8000000a",
        "EPYC-IBPB-x86_64-cpu.xlevel": "0x8000000a",
    },
    (2, 11): {  # pc_compat_2_11
        "x86_64-cpu.x-migrate-smi-count": "off",
        "Skylake-Server-x86_64-cpu.clflushopt": "off",
    },
    (2, 10): {  # pc_compat_2_10
        "x86_64-cpu.x-hv-max-vps": "0x40",
    },
    (2, 8): {  # pc_compat_2_8
        "x86_64-cpu.tcg-cpuid": "off",
        "x86_64-cpu.vmware-cpuid-freq": "off",
        "Haswell-x86_64-cpu.stepping": "1",
    },
    (2, 7): {  # pc_compat_2_7
        "x86_64-cpu.l3-cache": "off",
        "x86_64-cpu.full-cpuid-auto-level": "off",
        "Opteron_G3-x86_64-cpu.family": "15",
        "Opteron_G3-x86_64-cpu.model": "6",
        "Opteron_G3-x86_64-cpu.stepping": "1",
    },
    (2, 6): {  # pc_compat_2_6
        "x86_64-cpu.cpuid-0xb": "off",
        "x86_64-cpu.fill-mtrr-mask": "off",
    },
    (2, 4): {  # pc_compat_2_4
        "qemu32-x86_64-cpu.model-id": "QEMU Virtual CPU version 2.4.0",
        "qemu64-x86_64-cpu.model-id": "QEMU Virtual CPU version 2.4.0",
        "athlon-x86_64-cpu.model-id": "QEMU Virtual CPU version 2.4.0",
        "Haswell-x86_64-cpu.abm": "off",
        "Haswell-noTSX-x86_64-cpu.abm": "off",
        "Broadwell-x86_64-cpu.abm": "off",
        "Broadwell-noTSX-x86_64-cpu.abm": "off",
        "host-x86_64-cpu.host-cache-info": "on",
        "x86_64-cpu.check": "off",
        "qemu64-x86_64-cpu.sse4a": "on",
        "qemu64-x86_64-cpu.abm": "on",
        "qemu64-x86_64-cpu.popcnt": "on",
        "qemu32-x86_64-cpu.popcnt": "on",
        "Opteron_G2-x86_64-cpu.rdtscp": "on",
        "Opteron_G3-x86_64-cpu.rdtscp": "on",
        "Opteron_G4-x86_64-cpu.rdtscp": "on",
        "Opteron_G5-x86_64-cpu.rdtscp": "on",
    },
    (2, 3): {  # pc_compat_2_3
        "qemu32-x86_64-cpu.model-id": "QEMU Virtual CPU version 2.3.0",
        "qemu64-x86_64-cpu.model-id": "QEMU Virtual CPU version 2.3.0",
        "athlon-x86_64-cpu.model-id": "QEMU Virtual CPU version 2.3.0",
        "x86_64-cpu.arat": "off",
        "qemu64-x86_64-cpu.min-level": "4",
        "kvm64-x86_64-cpu.min-level": "5",
        "pentium3-x86_64-cpu.min-level": "2",
        "n270-x86_64-cpu.min-level": "5",
        "Conroe-x86_64-cpu.min-level": "4",
        "Penryn-x86_64-cpu.min-level": "4",
        "Nehalem-x86_64-cpu.min-level": "4",
        "n270-x86_64-cpu.min-xlevel": "0x8000000a",
        "Penryn-x86_64-cpu.min-xlevel": "0x8000000a",
        "Conroe-x86_64-cpu.min-xlevel": "0x8000000a",
        "Nehalem-x86_64-cpu.min-xlevel": "0x8000000a",
        "Westmere-x86_64-cpu.min-xlevel": "0x8000000a",
        "SandyBridge-x86_64-cpu.min-xlevel": "0x8000000a",
        "IvyBridge-x86_64-cpu.min-xlevel": "0x8000000a",
        "Haswell-x86_64-cpu.min-xlevel": "0x8000000a",
        "Haswell-noTSX-x86_64-cpu.min-xlevel": "0x8000000a",
        "Broadwell-x86_64-cpu.min-xlevel": "0x8000000a",
        "Broadwell-noTSX-x86_64-cpu.min-xlevel": "0x8000000a",
        "x86_64-cpu.kvm-no-smi-migration": "on",
    },
    (2, 2): {  # pc_compat_2_2
        "qemu32-x86_64-cpu.model-id": "QEMU Virtual CPU version 2.2.0",
        "qemu64-x86_64-cpu.model-id": "QEMU Virtual CPU version 2.2.0",
        "athlon-x86_64-cpu.model-id": "QEMU Virtual CPU version 2.2.0",
        "kvm64-x86_64-cpu.vme": "off",
        "kvm32-x86_64-cpu.vme": "off",
        "Conroe-x86_64-cpu.vme": "off",
        "Penryn-x86_64-cpu.vme": "off",
        "Nehalem-x86_64-cpu.vme": "off",
        "Westmere-x86_64-cpu.vme": "off",
        "SandyBridge-x86_64-cpu.vme": "off",
        "Haswell-x86_64-cpu.vme": "off",
        "Broadwell-x86_64-cpu.vme": "off",
        "Opteron_G1-x86_64-cpu.vme": "off",
        "Opteron_G2-x86_64-cpu.vme": "off",
        "Opteron_G3-x86_64-cpu.vme": "off",
        "Opteron_G4-x86_64-cpu.vme": "off",
        "Opteron_G5-x86_64-cpu.vme": "off",
        "Haswell-x86_64-cpu.f16c": "off",
        "Haswell-x86_64-cpu.rdrand": "off",
        "Broadwell-x86_64-cpu.f16c": "off",
        "Broadwell-x86_64-cpu.rdrand": "off",
    },
    (2, 1): {  # pc_compat_2_1
        "qemu32-x86_64-cpu.model-id": "QEMU Virtual CPU version 2.1.0",
        "qemu64-x86_64-cpu.model-id": "QEMU Virtual CPU version 2.1.0",
        "athlon-x86_64-cpu.model-id": "QEMU Virtual CPU version 2.1.0",
        "coreduo-x86_64-cpu.vmx": "on",
        "core2duo-x86_64-cpu.vmx": "on",
    },
    (2, 0): {  # pc_compat_2_0
        "qemu32-x86_64-cpu.model-id": "QEMU Virtual CPU version 2.0.0",
        "qemu64-x86_64-cpu.model-id": "QEMU Virtual CPU version 2.0.0",
        "athlon-x86_64-cpu.model-id": "QEMU Virtual CPU version 2.0.0",
    },
    (1, 7): {  # pc_compat_1_7
        "qemu32-x86_64-cpu.model-id": "QEMU Virtual CPU version 1.7.0",
        "qemu64-x86_64-cpu.model-id": "QEMU Virtual CPU version 1.7.0",
        "athlon-x86_64-cpu.model-id": "QEMU Virtual CPU version 1.7.0",
    },
    (1, 6): {  # pc_compat_1_6
        "qemu32-x86_64-cpu.model-id": "QEMU Virtual CPU version 1.6.0",
        "qemu64-x86_64-cpu.model-id": "QEMU Virtual CPU version 1.6.0",
        "athlon-x86_64-cpu.model-id": "QEMU Virtual CPU version 1.6.0",
        "qemu64-x86_64-cpu.model": "2",
        "qemu32-x86_64-cpu.model": "3",
    },
    (1, 5): {  # pc_compat_1_5
        "qemu32-x86_64-cpu.model-id": "QEMU Virtual CPU version 1.5.0",
        "qemu64-x86_64-cpu.model-id": "QEMU Virtual CPU version 1.5.0",
        "athlon-x86_64-cpu.model-id": "QEMU Virtual CPU version 1.5.0",
        "Conroe-x86_64-cpu.model": "2",
        "Conroe-x86_64-cpu.min-level": "2",
        "Penryn-x86_64-cpu.model": "2",
        "Penryn-x86_64-cpu.min-level": "2",
        "Nehalem-x86_64-cpu.model": "2",
        "Nehalem-x86_64-cpu.min-level": "2",
        "x86_64-cpu.pmu": "on",
    },
    (1, 4): {  # pc_compat_1_4
        "qemu32-x86_64-cpu.model-id": "QEMU Virtual CPU version 1.4.0",
        "qemu64-x86_64-cpu.model-id": "QEMU Virtual CPU version 1.4.0",
        "athlon-x86_64-cpu.model-id": "QEMU Virtual CPU version 1.4.0",
        "486-x86_64-cpu.model": "0",
        "n270-x86_64-cpu.movbe": "off",
        "Westmere-x86_64-cpu.pclmulqdq": "off",
    },
}


def cpu_compat_globals(release: Release, machine_type: str) -> list[tuple[str, str, str]]:
    """(driver, property, value) of the compat properties the vCPUs of
    ``machine_type`` get, in the order QEMU applies them."""
    merged = compat_props(CPU_COMPAT, machine_version(machine_type), release=release)
    out = []
    for key, value in merged.items():
        driver, _, prop = key.rpartition(".")
        out.append((driver, prop, str(value)))
    return out


def legacy_cpu_version(machine_type: str) -> bool:
    """Whether unversioned models are CPU_VERSION_LEGACY on ``machine_type``."""
    return bool(compat_props(LEGACY_CPU_VERSION, machine_version(machine_type)))
