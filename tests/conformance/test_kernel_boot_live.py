"""Live: direct kernel boot (-kernel, -initrd, -append, -dtb, 10.0's -shim)
on real QEMU 7.2/10.0 and on memdevd.

The kernels are made here: Linux bzImage headers of several boot protocol
versions, multiboot images (a.out and ELF), ELF files with and without a
PVH note, and files that are no kernel at all.  Each case must start, or
fail with the same stderr and exit status, on both (the harness of
test_misc_options_live.py).  ``qom-get /machine kernel`` & co. are in the
``misc_kernel_*`` scenarios.
"""

from __future__ import annotations

import struct
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from live_qemu import (
    QEMU_VERSIONS,
    Outcome,
    ask,
    compare_startups,
    memdevd_command,
    qemu_command,
    runnable,
)
from test_misc_options_live import COMMON, JOBS, TIMEOUT, _normalise

pytestmark = pytest.mark.live_qemu

K = Path(tempfile.mkdtemp(prefix="memdevd-kernel-live-"))


def _linux(name: str, protocol: int, setup_sects: int = 4, size: int = 20000, **fields: int) -> str:
    data = bytearray(size)
    data[0x1F1] = setup_sects
    data[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", data, 0x206, protocol)
    data[0x211] = 1
    struct.pack_into("<I", data, 0x22C, fields.get("initrd_max", 0))
    struct.pack_into("<H", data, 0x236, fields.get("xlf", 0))
    (K / name).write_bytes(bytes(data))
    return str(K / name)


def _multiboot(name: str, flags: int, *addrs: int, size: int = 20000, at: int = 64) -> str:
    data = bytearray(size)
    struct.pack_into("<III", data, at, 0x1BADB002, flags, (-(0x1BADB002 + flags)) & 0xFFFFFFFF)
    for n, addr in enumerate(addrs):
        struct.pack_into("<I", data, at + 12 + 4 * n, addr)
    (K / name).write_bytes(bytes(data))
    return str(K / name)


def _elf(name: str, machine: int = 62, pvh: int | None = None, is64: bool = True) -> str:
    """A minimal ELF: one PT_LOAD at 1 MiB, and a PT_NOTE holding a
    XEN_ELFNOTE_PHYS32_ENTRY note when ``pvh`` is given."""
    note = b""
    if pvh is not None:
        desc = struct.pack("<Q" if is64 else "<I", pvh)
        note = struct.pack("<III", 4, len(desc), 18) + b"Xen\0" + desc
    ehsize, phsize = (64, 56) if is64 else (52, 32)
    phnum = 2 if note else 1
    body_off = ehsize + phnum * phsize
    body = note + b"\x90" * 64
    if is64:
        ehdr = struct.pack(
            "<4sBBBB8sHHIQQQIHHHHHH", b"\x7fELF", 2, 1, 1, 0, b"", 2, machine, 1,
            0x100000, ehsize, 0, 0, ehsize, phsize, phnum, 64, 0, 0,
        )  # fmt: skip
        ph_load = struct.pack(
            "<IIQQQQQQ", 1, 5, body_off, 0x100000, 0x100000, len(body), len(body), 4096
        )
        ph_note = struct.pack("<IIQQQQQQ", 4, 4, body_off, 0, 0, len(note), len(note), 4)
    else:
        ehdr = struct.pack(
            "<4sBBBB8sHHIIIIIHHHHHH", b"\x7fELF", 1, 1, 1, 0, b"", 2, machine, 1,
            0x100000, ehsize, 0, 0, ehsize, phsize, phnum, 40, 0, 0,
        )  # fmt: skip
        ph_load = struct.pack(
            "<IIIIIIII", 1, body_off, 0x100000, 0x100000, len(body), len(body), 5, 4096
        )
        ph_note = struct.pack("<IIIIIIII", 4, body_off, 0, 0, len(note), len(note), 4, 4)
    data = ehdr + (ph_load + ph_note if note else ph_load) + body
    (K / name).write_bytes(data)
    return str(K / name)


(K / "zeros").write_bytes(bytes(20000))
(K / "small").write_bytes(b"hello\n")
(K / "empty").write_bytes(b"")
(K / "dir").mkdir()
Z, DIR, MISSING = K / "zeros", K / "dir", K / "missing"
L20F = _linux("l20f", 0x20F)
L20F_XLF = _linux("l20f-xlf", 0x20F, xlf=2)
L203 = _linux("l203", 0x203, initrd_max=5000)
L203_BIG = _linux("l203-big", 0x203, initrd_max=0x7FFFFFFF)
L208 = _linux("l208", 0x208)
L1 = _linux("l100", 0x100)
L_BIGSETUP = _linux("l-setup", 0x20F, setup_sects=200)

#: (id, arguments): every case runs on both releases.
CASES: list[tuple[str, str]] = [
    ("append-without-kernel", "-append console=ttyS0"),
    ("initrd-without-kernel", f"-initrd {Z}"),
    ("machine-append-without-kernel", "-machine append=x"),
    ("append-and-initrd-without-kernel", f"-initrd {Z} -append x"),
    ("kernel-missing", f"-kernel {MISSING}"),
    ("kernel-empty", f"-kernel {K}/empty"),
    ("kernel-directory", f"-kernel {DIR}"),
    ("kernel-small-not-a-kernel", f"-kernel {K}/small"),
    ("kernel-zeros", f"-kernel {Z}"),
    ("kernel-zeros-initrd", f"-kernel {Z} -initrd {Z}"),
    ("kernel-zeros-dtb", f"-kernel {Z} -dtb {Z}"),
    ("machine-kernel", f"-machine kernel={Z}"),
    ("linux", f"-kernel {L20F} -append console=ttyS0"),
    ("linux-initrd-missing", f"-kernel {L20F} -initrd {MISSING}"),
    ("linux-initrd-directory", f"-kernel {L20F} -initrd {DIR}"),
    ("linux-initrd-max-zero", f"-kernel {L20F} -initrd {Z}"),
    ("linux-initrd-above-4g", f"-kernel {L20F_XLF} -initrd {Z}"),
    ("linux-initrd-too-large", f"-kernel {L203} -initrd {Z}"),
    ("linux-initrd-ok", f"-kernel {L203_BIG} -initrd {Z} -append root=/dev/vda"),
    ("linux-too-old-ramdisk", f"-kernel {L1} -initrd {Z}"),
    ("linux-invalid-header", f"-kernel {L_BIGSETUP}"),
    ("linux-dtb-too-old", f"-kernel {L208} -dtb {Z}"),
    ("linux-dtb-missing", f"-kernel {L20F} -dtb {MISSING}"),
    ("linux-dtb-empty", f"-kernel {L20F} -dtb {K}/empty"),
    ("linux-dtb-ok", f"-kernel {L20F} -dtb {Z}"),
    ("linux-dtb-directory", f"-kernel {L20F} -dtb {DIR}"),
    ("linux-vga-bad", f"-kernel {L20F} -append vga=foo"),
    ("linux-vga-trailing", f"-kernel {L20F} -append vga=12x"),
    ("linux-vga-number", f"-kernel {L20F} -append quiet,vga=0x317"),
    ("linux-vga-ask", f"-kernel {L20F} -append vga=ask"),
    ("linux-vga-range", f"-kernel {L20F} -append vga=0x100000000"),
    ("multiboot-elf-not-elf", f"-kernel {_multiboot('mb-elf', 0)}"),
    ("multiboot-elf-x86-64", f"-kernel {_multiboot('mb-elf64', 0, at=16)}"),
    ("multiboot-aout", f"-kernel {_multiboot('mb-aout', 0x10000, 0x100040, 0x100000, 0, 0)}"),
    (
        "multiboot-aout-vbe",
        f"-kernel {_multiboot('mb-aout-vbe', 0x10004, 0x100040, 0x100000, 0, 0)}",
    ),
    (
        "multiboot-load-addr",
        f"-kernel {_multiboot('mb-load', 0x10000, 0x100000, 0x100040, 0, 0)}",
    ),
    (
        "multiboot-header-addr",
        f"-kernel {_multiboot('mb-header', 0x10000, 0x101000, 0x100000, 0, 0)}",
    ),
    (
        "multiboot-load-end",
        f"-kernel {_multiboot('mb-end', 0x10000, 0x100040, 0x100000, 0x1000, 0)}",
    ),
    (
        "multiboot-bss-end",
        f"-kernel {_multiboot('mb-bss', 0x10000, 0x100040, 0x100000, 0, 0x100010)}",
    ),
    (
        "multiboot-fread",
        f"-kernel {_multiboot('mb-fread', 0x10000, 0x100040, 0x100000, 0x200000, 0)}",
    ),
    (
        "multiboot-modules",
        f"-kernel {K}/mb-aout -initrd {Z},{K}/small",
    ),
    ("multiboot-module-missing", f"-kernel {K}/mb-aout -initrd {Z},{MISSING}"),
    ("multiboot-module-directory", f"-kernel {K}/mb-aout -initrd {DIR}"),
    ("elf-no-pvh", f"-kernel {_elf('elf64')}"),
    ("elf-pvh", f"-kernel {_elf('elf64-pvh', pvh=0x1000000)} -initrd {Z}"),
    ("elf32-pvh", f"-kernel {_elf('elf32-pvh', machine=3, pvh=0x1000000, is64=False)}"),
    ("elf-wrong-machine", f"-kernel {_elf('elf-arm', machine=40, pvh=0x1000000)}"),
    ("elf-pvh-initrd-missing", f"-kernel {K}/elf64-pvh -initrd {MISSING}"),
    ("elf-old-machine-no-pvh", f"-machine pc-i440fx-3.1 -kernel {K}/elf64"),
    ("shim-without-kernel", f"-shim {Z}"),
    ("shim-missing", f"-kernel {L20F} -shim {MISSING}"),
    ("shim-ok", f"-kernel {L20F} -shim {Z}"),
]


@pytest.fixture(scope="module")
def outcomes() -> dict[tuple[str, str], tuple[Outcome, Outcome]]:
    split = [(case, [*COMMON, *args.split()]) for case, args in CASES]
    return compare_startups(split, QEMU_VERSIONS, JOBS, _normalise, TIMEOUT)


@pytest.mark.slow
@pytest.mark.parametrize("version", QEMU_VERSIONS)
@pytest.mark.parametrize("case", [c for c, _ in CASES])
def test_kernel_boot_like_qemu(
    case: str,
    version: str,
    outcomes: dict[tuple[str, str], tuple[Outcome, Outcome]],
) -> None:
    if not runnable(version):
        pytest.skip(f"QEMU {version} not runnable here")
    qemu, memdevd = outcomes[(case, version)]
    assert memdevd == qemu


@pytest.mark.parametrize("version", QEMU_VERSIONS)
@pytest.mark.parametrize(
    "args",
    [
        f"-kernel {L20F} -append console=ttyS0,115200 -dtb {Z}",
        f"-kernel {L203_BIG} -initrd {Z}",
        f"-machine kernel={K}/mb-aout,append=x -initrd {K}/small",
        f"-machine q35 -kernel {Z}",
    ],
    # the arguments name files in a per-process temporary folder: ids stay stable
    ids=["dtb", "big-initrd", "machine-keys", "q35"],
)
def test_kernel_machine_properties_like_qemu(args: str, version: str, tmp_path: Path) -> None:
    """``qom-get /machine kernel|initrd|append|dtb`` (and 10.0's shim)."""
    if not runnable(version):
        pytest.skip(f"QEMU {version} not runnable here")
    props = ["kernel", "initrd", "append", "dtb"] + (["shim"] if version != "7.2" else [])
    argv = [*COMMON, *args.split()]
    questions: list[dict[str, object]] = [
        {"execute": "qom-get", "arguments": {"path": "/machine", "property": p}} for p in props
    ]
    q_sock, m_sock = str(tmp_path / "q.sock"), str(tmp_path / "m.sock")
    qmp = "-qmp", "unix:{},server=on,wait=off"
    qemu = ask(qemu_command(version, [*argv, qmp[0], qmp[1].format(q_sock)]), q_sock, questions)
    memdevd = ask(
        memdevd_command(version, [*argv, qmp[0], qmp[1].format(m_sock)]), m_sock, questions
    )
    assert memdevd == qemu
