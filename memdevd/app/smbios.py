"""``-smbios``: checked as hw/smbios/smbios.c ``smbios_entry_add`` checks it.

QEMU takes each ``-smbios`` in its option loop: a binary ``file=`` (it
must be readable and hold at least a structure header) or ``type=N`` with
the fields that type has (validated against the type's option
descriptions, generated from each release's source as the pseudo-lists
``smbios:N``), and a few values parsed on the spot (a release number, a
UUID, CPU speeds).  memdevd builds no table; the UUID of a type 1 entry is
the VM's, as ``-uuid`` makes it.
"""

from __future__ import annotations

import os
import re
from typing import Any

from memdevd import messages as M
from memdevd.util.qemu_opts import OptionError, QemuOpts

#: SMBIOS_MAX_TYPE (hw/smbios/smbios.c)
MAX_TYPE = 127
#: struct smbios_structure_header
HEADER_SIZE = 4
#: type 4 max-speed/current-speed limit (UINT16_MAX)
MAX_SPEED = 0xFFFF
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_RELEASE = re.compile(r"\s*\+?(\d+)\.\s*\+?(\d+)")


class SmbiosState:
    """What the -smbios options so far declared (smbios.c's bitmaps)."""

    def __init__(self) -> None:
        self.fields: set[int] = set()
        self.binfiles: set[int] = set()
        self.uuid: str | None = None


def _strtoul(text: str) -> int:
    """``strtoul(val, NULL, 0)``: the leading number, 0 if none."""
    m = re.match(r"\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)", text)
    if m is None:
        return 0
    digits = m.group(2)
    value = (
        int(digits, 16)
        if digits[:2].lower() == "0x"
        else int(digits, 8 if digits.startswith("0") else 10)
    )
    return (-value if m.group(1) == "-" else value) & ((1 << 64) - 1)


def parse_uuid(text: str) -> str:
    """``-uuid``: ``qemu_uuid_parse`` or vl.c's error."""
    if not _UUID.fullmatch(text):
        raise OptionError(M.UUID_WRONG_FORMAT)
    return text.lower()


def entry_add(opts: QemuOpts, lists: dict[str, Any], state: SmbiosState) -> None:
    """``smbios_entry_add``: QEMU's checks, in its order; OptionError on failure."""
    path = opts.get("file")
    if path is not None:
        opts.validate(lists["smbios:file"].desc)
        try:
            size = os.path.getsize(path)
            with open(path, "rb") as f:
                header = f.read(HEADER_SIZE)
        except OSError:
            size, header = -1, b""
        if size < HEADER_SIZE:
            raise OptionError(M.SMBIOS_CANNOT_READ_FILE.format(path))
        kind = header[0]
        if kind <= MAX_TYPE:
            if kind in state.fields:
                raise OptionError(M.SMBIOS_FIELDS_ALREADY.format(kind))
            state.binfiles.add(kind)
        return
    text = opts.get("type")
    if text is None:
        raise OptionError(M.SMBIOS_TYPE_OR_FILE)
    kind = _strtoul(text)
    if kind > MAX_TYPE:
        raise OptionError(M.SMBIOS_TYPE_OUT_OF_RANGE)
    if kind in state.binfiles:
        raise OptionError(M.SMBIOS_BINARY_ALREADY)
    state.fields.add(kind)
    desc = lists.get(f"smbios:{kind}")
    if desc is None:
        raise OptionError(M.SMBIOS_UNKNOWN_TYPE.format(kind))
    opts.validate(desc.desc)
    if kind == 0:
        release = opts.get("release")
        if release is not None:
            m = _RELEASE.match(release)
            if m is None or int(m.group(1)) > 255 or int(m.group(2)) > 255:
                raise OptionError(M.SMBIOS_INVALID_RELEASE)
    elif kind == 1:
        uuid = opts.get("uuid")
        if uuid is not None:
            if not _UUID.fullmatch(uuid):
                raise OptionError(M.SMBIOS_INVALID_UUID)
            # qemu_uuid: the same one -uuid sets (the later option wins).
            state.uuid = uuid.lower()
    elif kind == 4:
        for name in ("max-speed", "current-speed"):
            value = opts.get(name)
            if value is not None and _strtoul(value) > MAX_SPEED:
                raise OptionError(M.SMBIOS_CPU_SPEED_TOO_LARGE.format(MAX_SPEED))
