"""Direct kernel boot (``-kernel``, ``-initrd``, ``-append``, ``-dtb``,
10.0's ``-shim``): what ``x86_load_linux`` (hw/i386/x86.c; 10.0:
x86-common.c), ``load_multiboot`` (hw/i386/multiboot.c) and
``load_elfboot`` check while pc_memory_init builds the board.

The files are opened and read, never written or mapped: the kernel's
8 KiB header decides the path QEMU takes, as in QEMU:

* a Linux bzImage (``HdrS`` at 0x202): the boot protocol's checks (the
  ``vga=`` parameter, the initrd's size against ``initrd_max``, the setup
  size, the dtb, 10.0's shim);
* a multiboot image (the 0x1BADB002 header in the first 8 KiB): its
  a.out addresses, or its ELF, and each module named by ``-initrd``;
* an ELF (with PVH, machine types 4.0 and later): its PVH entry note;
* anything else: a Linux kernel of boot protocol 0, as QEMU takes it.

Nothing is loaded into guest memory and no option ROM is added (memdevd
runs no guest); what QEMU would fail on later (ROM overlaps at machine
done) is not checked: docs/divergences.md.
"""

from __future__ import annotations

import errno
import os
import stat
import struct

from memdevd import messages as M
from memdevd.util.qemu_opts import Diagnostic, OptionError

#: pcmc->acpi_data_size (hw/i386/pc.c pc_machine_class_init)
ACPI_DATA_SIZE = 0x20000 + 0x8000
#: the multiboot header's magic (hw/i386/multiboot.c)
MULTIBOOT_MAGIC = 0x1BADB002
#: XEN_ELFNOTE_PHYS32_ENTRY, the PVH entry note
PVH_NOTE_TYPE = 18
EM_386 = 3
EM_X86_64 = 62
XLF_CAN_BE_LOADED_ABOVE_4G = 1 << 1
UINT32 = 0xFFFFFFFF


def _plain(text: str) -> OptionError:
    """A line QEMU prints with fprintf(stderr) before exit(1)."""
    return OptionError(text, plain=True)


def _ldl(data: bytes, off: int) -> int:
    return int(struct.unpack_from("<I", data, off)[0])


def _lduw(data: bytes, off: int) -> int:
    return int(struct.unpack_from("<H", data, off)[0])


def _c_int(value: int) -> int:
    """A value stored in a C int (kernel_size is one)."""
    value &= UINT32
    return value - (1 << 32) if value & 0x80000000 else value


def _file_size(fd: int) -> int:
    try:
        size = os.lseek(fd, 0, os.SEEK_END)
        os.lseek(fd, 0, os.SEEK_SET)
    except OSError:
        return -1
    return size


def _read_at(fd: int, offset: int, count: int) -> bytes:
    """``fseek`` + ``fread``: up to count bytes (fewer at EOF); raises OSError."""
    os.lseek(fd, offset, os.SEEK_SET)
    chunks: list[bytes] = []
    while count > 0:
        chunk = os.read(fd, min(count, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)


def image_size(path: str) -> int:
    """``get_image_size``: open and seek to the end; -1 when it cannot open."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return -1
    try:
        return _file_size(fd)
    finally:
        os.close(fd)


def mapped_file_size(path: str) -> tuple[int, str | None]:
    """``g_mapped_file_new(path, false)``: (length, glib's error text)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        return 0, M.GLIB_OPEN_FAILED.format(path, os.strerror(exc.errno or 0))
    try:
        st = os.fstat(fd)
    finally:
        os.close(fd)
    if st.st_size == 0:
        return 0, None
    if not stat.S_ISREG(st.st_mode) and not stat.S_ISBLK(st.st_mode):
        # mmap() of a directory, FIFO or socket fails with ENODEV.
        return 0, M.GLIB_MAP_FAILED.format(path, os.strerror(errno.ENODEV))
    return st.st_size, None


def load_linux(
    kernel: str,
    initrd: str | None,
    dtb: str | None,
    cmdline: str,
    shim: str | None,
    *,
    below_4g: int,
    pvh_enabled: bool,
    shim_error: tuple[str, bool] = (M.SHIM_READ_FAILED, True),
) -> list[Diagnostic]:
    """``x86_load_linux``: the lines printed on the way; raises OptionError
    where QEMU exits (with QEMU's text, plain where QEMU uses fprintf).
    ``shim_error``: the release's unreadable-shim text and whether it is
    printed plain (``Release.shim_read_failed_text``)."""
    try:
        fd = os.open(kernel, os.O_RDONLY)
    except OSError as exc:
        raise _plain(M.KERNEL_OPEN_FAILED.format(kernel, os.strerror(exc.errno or 0))) from None
    try:
        kernel_size = _c_int(_file_size(fd))
        want = min(8192, kernel_size & ((1 << 64) - 1))
        # errno after an empty file: what the failed look-ups before left
        # (ENOENT, in both releases).
        err = errno.ENOENT
        try:
            header = _read_at(fd, 0, want)
        except OSError as exc:
            header, err = b"", exc.errno or 0
        if not kernel_size or len(header) != want:
            raise _plain(M.KERNEL_LOAD_FAILED.format(kernel, os.strerror(err)))
        # The rest of QEMU's 8 KiB buffer is uninitialised stack: zeros here.
        header = header.ljust(8192, b"\0")
        if _ldl(header, 0x202) == 0x53726448:  # "HdrS"
            protocol = _lduw(header, 0x206)
        else:
            found = _multiboot_header(header)
            if found is not None:
                return _load_multiboot(fd, kernel, initrd, header, kernel_size, *found)
            if pvh_enabled and header[:4] == b"\x7fELF":
                _load_elfboot(kernel, header)
                if initrd is not None:
                    _initrd(initrd, below_4g - ACPI_DATA_SIZE - 1, below_4g)
                return []
            protocol = 0
        _linux(protocol, header, kernel_size, initrd, dtb, cmdline, below_4g)
    finally:
        os.close(fd)
    if shim is not None:
        _, problem = mapped_file_size(shim)
        if problem is not None:
            text, plain = shim_error
            raise OptionError(text.format(shim, problem), plain=plain)
    return []


def _linux(
    protocol: int,
    header: bytes,
    kernel_size: int,
    initrd: str | None,
    dtb: str | None,
    cmdline: str,
    below_4g: int,
) -> None:
    """The Linux boot protocol's checks, in x86_load_linux's order."""
    if protocol >= 0x20C and _lduw(header, 0x236) & XLF_CAN_BE_LOADED_ABOVE_4G:
        initrd_max = UINT32
    elif protocol >= 0x203:
        initrd_max = _ldl(header, 0x22C)
    else:
        initrd_max = 0x37FFFFFF
    if initrd_max >= below_4g - ACPI_DATA_SIZE:
        initrd_max = (below_4g - ACPI_DATA_SIZE - 1) & UINT32
    _check_vga(cmdline)
    if initrd is not None:
        if protocol < 0x200:
            raise _plain(M.KERNEL_TOO_OLD_RAMDISK)
        _initrd(initrd, initrd_max, below_4g)
    setup_sects = header[0x1F1] or 4
    setup_size = (setup_sects + 1) * 512
    if setup_size > kernel_size:
        raise _plain(M.KERNEL_INVALID_HEADER)
    if dtb is not None:
        if protocol < 0x209:
            raise _plain(M.KERNEL_TOO_OLD_DTB)
        size = _c_int(image_size(dtb))  # dtb_size is an int
        if size <= 0:
            # errno of the failed open(), or ENOENT left over (an empty file)
            code = errno.ENOENT
            if size < 0:
                try:
                    os.close(os.open(dtb, os.O_RDONLY))
                except OSError as exc:
                    code = exc.errno or 0
            raise _plain(M.DTB_READ_FAILED.format(dtb, os.strerror(code)))


def _check_vga(cmdline: str) -> None:
    """The ``vga=`` kernel parameter: normal, ext, ask or a number
    (qemu_strtoui, base 0) ended by a space or the end."""
    at = cmdline.find("vga=")
    if at < 0:
        return
    value = cmdline[at + 4 :]
    if value.startswith(("normal", "ext", "ask")):
        return
    from memdevd.util.cutils import strtoull

    # qemu_strtoui(): strtoull, then the result in an unsigned int (a long
    # long outside INT_MIN..UINT_MAX is ERANGE); no conversion is EINVAL.
    number, end, err = strtoull(value, 0)
    signed = number - (1 << 64) if number >> 63 else number
    if err or end == 0 or not -(1 << 31) <= signed <= UINT32:
        raise _plain(M.KERNEL_VGA_PARAMETER)
    if end < len(value) and value[end] != " ":
        raise _plain(M.KERNEL_VGA_PARAMETER)


def _initrd(initrd: str, initrd_max: int, below_4g: int) -> None:
    size, problem = mapped_file_size(initrd)
    if problem is not None:
        raise _plain(M.INITRD_READ_FAILED.format(initrd, problem))
    if size >= initrd_max:
        raise _plain(M.INITRD_TOO_LARGE.format(initrd_max, size))


# -- multiboot ---------------------------------------------------------------------------


def _multiboot_header(header: bytes) -> tuple[int, int] | None:
    """(offset, flags) of the multiboot header in the first 8 KiB."""
    for i in range(0, 8192 - 48, 4):
        if _ldl(header, i) != MULTIBOOT_MAGIC:
            continue
        flags = _ldl(header, i + 4)
        if (_ldl(header, i + 8) + flags + MULTIBOOT_MAGIC) & UINT32 == 0:
            return i, flags
    return None


def _load_multiboot(
    fd: int,
    kernel: str,
    initrd: str | None,
    header: bytes,
    kernel_size: int,
    i: int,
    flags: int,
) -> list[Diagnostic]:
    """``load_multiboot`` for an image it recognised."""
    notes: list[Diagnostic] = []
    if flags & 0x4:  # MULTIBOOT_HEADER_HAS_VBE
        notes.append(Diagnostic(M.MULTIBOOT_VBE))
    if not flags & 0x10000:  # no MULTIBOOT_HEADER_HAS_ADDR: an ELF
        if _lduw(header, 18) == EM_X86_64:
            raise OptionError(M.MULTIBOOT_X86_64, preceding=notes)
        if load_elf(kernel) is None:
            raise OptionError(M.ELF_KERNEL_LOAD_FAILED, preceding=notes)
    else:
        header_addr = _ldl(header, i + 12)
        load_addr = _ldl(header, i + 16)
        load_end_addr = _ldl(header, i + 20)
        bss_end_addr = _ldl(header, i + 24)
        if header_addr < load_addr:
            raise OptionError(M.MULTIBOOT_LOAD_ADDR, preceding=notes)
        if header_addr - load_addr > i:
            raise OptionError(M.MULTIBOOT_HEADER_ADDR, preceding=notes)
        text_offset = (i - (header_addr - load_addr)) & UINT32
        if load_end_addr:
            if load_end_addr < load_addr:
                raise OptionError(M.MULTIBOOT_LOAD_END_ADDR, preceding=notes)
            load_size = load_end_addr - load_addr
        else:
            # int < uint32_t: the int converted to unsigned
            if kernel_size & UINT32 < text_offset:
                raise OptionError(M.MULTIBOOT_FILE_SIZE, preceding=notes)
            load_size = (kernel_size - text_offset) & UINT32
        if load_size > UINT32 - load_addr:
            raise OptionError(M.MULTIBOOT_NO_FIT, preceding=notes)
        if bss_end_addr and bss_end_addr < ((load_addr + load_size) & UINT32):
            raise OptionError(M.MULTIBOOT_BSS_END_ADDR, preceding=notes)
        try:
            complete = _readable(fd, text_offset, load_size)
        except OSError:
            complete = False
        if not complete:
            raise OptionError(M.MULTIBOOT_FREAD, preceding=notes)
    for module in _opt_values(initrd or ""):
        name = module.split(" ", 1)[0]
        # mb_mod_length is an int (a directory's huge offset is negative)
        if _c_int(image_size(name)) < 0:
            raise OptionError(M.MULTIBOOT_MODULE_OPEN.format(name), preceding=notes)
        try:
            mfd = os.open(name, os.O_RDONLY)
            try:
                os.read(mfd, 1 << 16)
            finally:
                os.close(mfd)
        except OSError:
            raise OptionError(M.MULTIBOOT_MODULE_LOAD.format(name), preceding=notes) from None
    return notes


def _readable(fd: int, offset: int, count: int) -> bool:
    """Whether ``count`` bytes can be read at ``offset`` (without reading them)."""
    size = _file_size(fd)
    if size < offset + count:
        return False
    if count:
        _read_at(fd, offset, 1)
    return True


def _opt_values(text: str) -> list[str]:
    """``get_opt_value`` in a loop: values split at ",", ",," an escaped comma."""
    values: list[str] = []
    pos = 0
    while pos < len(text):
        value = []
        while pos < len(text):
            if text[pos] == ",":
                if text[pos + 1 : pos + 2] != ",":
                    break
                pos += 1
            value.append(text[pos])
            pos += 1
        values.append("".join(value))
        if pos < len(text):
            pos += 1
    return values


# -- ELF ---------------------------------------------------------------------------------


def _load_elfboot(kernel: str, header: bytes) -> None:
    """``load_elfboot`` of an ELF kernel (its e_ident checked by the caller)."""
    is64 = header[4] == 2
    flags = _ldl(header, 48 if is64 else 36)
    if flags & 0x00010004:
        raise OptionError(M.ELFBOOT_FLAGS.format(flags))
    pvh_start = load_elf(kernel, PVH_NOTE_TYPE)
    if pvh_start is None:
        raise OptionError(M.ELF_KERNEL_LOAD_FAILED)
    if pvh_start == 0:
        raise OptionError(M.ELF_KERNEL_NO_PVH_NOTE)


def load_elf(path: str, note_type: int | None = None) -> int | None:
    """``load_elf`` with I386_ELF_MACHINE (EM_X86_64 or EM_386 accepted):
    None where it fails; else the PVH entry of the note of ``note_type``
    (``read_pvh_start_addr``), 0 without one."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    if len(data) < 16 or data[:4] != b"\x7fELF" or data[5] != 1:  # ELFDATA2LSB
        return None
    is64 = data[4] == 2
    ehdr = "<16sHHIQQQIHHHHHH" if is64 else "<16sHHIIIIIHHHHHH"
    if len(data) < struct.calcsize(ehdr):
        return None
    fields = struct.unpack_from(ehdr, data, 0)
    machine, phoff, phentsize, phnum = fields[2], fields[5], fields[9], fields[10]
    if machine not in (EM_X86_64, EM_386):
        return None
    phdr = "<IIQQQQQQ" if is64 else "<IIIIIIII"
    size = struct.calcsize(phdr)
    if phoff + phnum * size > len(data):
        return None
    del phentsize  # QEMU reads e_phnum entries of its own size
    pvh_start = 0
    for n in range(phnum):
        ph = struct.unpack_from(phdr, data, phoff + n * size)
        if is64:
            p_type, p_offset, p_filesz, p_align = ph[0], ph[2], ph[5], ph[7]
        else:
            p_type, p_offset, p_filesz, p_align = ph[0], ph[1], ph[4], ph[7]
        if p_type not in (1, 4):  # PT_LOAD, PT_NOTE
            continue
        if p_filesz > 0 and len(data) < p_filesz + p_offset:
            return None
        if p_type == 4 and note_type is not None and p_filesz > 0:
            found = _find_note(data, p_offset, p_filesz, p_align, note_type, is64)
            if found is not None:
                pvh_start = found
    return pvh_start


def _find_note(
    data: bytes, offset: int, size: int, align: int, note_type: int, is64: bool
) -> int | None:
    """``get_elf_note_type`` then ``read_pvh_start_addr``."""

    def up(value: int) -> int:
        return (value + align - 1) // align * align if align > 1 else value

    pos = offset
    while True:
        if pos + 12 > len(data):
            return None
        namesz, descsz, kind = struct.unpack_from("<III", data, pos)
        if kind == note_type:
            at = pos + 12 + up(namesz)
            fmt = "<Q" if is64 else "<I"
            if at + struct.calcsize(fmt) > len(data):
                return None
            return int(struct.unpack_from(fmt, data, at)[0])
        step = 12 + up(namesz) + up(descsz)
        # QEMU compares each entry's size (not the running total) with the
        # notes' size.
        if step > size:
            return None
        pos += step
