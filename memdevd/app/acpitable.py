"""``-acpitable``: hw/acpi/core.c ``acpi_table_add`` and ``acpi_table_install``.

QEMU reads the option as it parses the command line: the ``acpi``
QemuOpts visited as ``AcpiTableOptions``, one of ``file=`` (tables with
their header, e.g. a SLIC table) or ``data=`` (bodies under QEMU's default
header), colon-separated paths read whole, then the table's checks.  What
it prints (the errors, the length and no-header warnings) is QEMU's; the
table itself would go to the guest's firmware, which memdevd does not run,
so nothing is kept.
"""

from __future__ import annotations

import errno
import os
import struct
from typing import TYPE_CHECKING, Any

from memdevd import messages as M
from memdevd.util.qemu_opts import Diagnostic, OptionError

if TYPE_CHECKING:
    from memdevd.releases.table import Release

#: sizeof dfl_hdr: the System Description Table Header (without the 16-bit
#: length prefix QEMU keeps in front of each table)
_HEADER_SIZE = 36
_PAYLOAD_MAX = 0xFFFF
_HEADER_FIELDS = (
    "sig",
    "rev",
    "oem_id",
    "oem_table_id",
    "oem_rev",
    "asl_compiler_id",
    "asl_compiler_rev",
)


def acpi_table_add(
    items: list[tuple[str, str]], opts_id: str | None, release: Release, target: str
) -> list[Diagnostic]:
    """One ``-acpitable``: the warnings it prints; OptionError where QEMU
    exits (``&error_fatal``)."""
    from memdevd.qapi.opts_visitor import OptsVisitor
    from memdevd.qapi.source_schema import schema_of, visit
    from memdevd.qapi.visitor import VisitError
    from memdevd.releases.recorded import recording

    v = OptsVisitor(items, opts_id, legacy_sizes=not release.strtosz_2023)
    try:
        hdrs: dict[str, Any] = visit(
            schema_of(recording(target, release)), v, None, "AcpiTableOptions"
        )
    except VisitError as exc:
        raise OptionError(exc.desc) from None
    if ("file" in hdrs) == ("data" in hdrs):
        raise OptionError(M.ACPITABLE_FILE_OR_DATA)
    # g_strsplit(): an empty string has no piece at all.
    spec = str(hdrs.get("file", hdrs.get("data")))
    if not spec:
        raise OptionError(M.ACPITABLE_NO_PATHNAME)
    blob = b""
    for path in spec.split(":"):
        blob += _read(path, release)
    return _install(blob, "file" in hdrs, hdrs)


def _read(path: str, release: Release) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise OptionError(
            release.acpitable_open_text.format(path, os.strerror(exc.errno or errno.ENOENT))
        ) from None
    try:
        chunks: list[bytes] = []
        while True:
            try:
                chunk = os.read(fd, 8192)
            except OSError as exc:
                raise OptionError(
                    M.ACPITABLE_CANT_READ.format(path, os.strerror(exc.errno or errno.EIO))
                ) from None
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    finally:
        os.close(fd)


def _install(blob: bytes, has_header: bool, hdrs: dict[str, Any]) -> list[Diagnostic]:
    """``acpi_table_install``'s checks and warnings."""
    body_start = _HEADER_SIZE if has_header else 0
    if has_header and len(blob) < body_start:
        raise OptionError(M.ACPITABLE_HEADER_TOO_SHORT.format(len(blob), body_start))
    payload = _HEADER_SIZE + len(blob) - body_start
    if payload > _PAYLOAD_MAX:
        raise OptionError(M.ACPITABLE_TOO_BIG.format(payload, _PAYLOAD_MAX))
    notes: list[Diagnostic] = []
    if has_header:
        (length,) = struct.unpack_from("<I", blob, 4)
        if length != payload:
            notes.append(
                Diagnostic(M.ACPITABLE_WRONG_LENGTH.format(length, payload), kind="warning")
            )
    elif not any(key in hdrs for key in _HEADER_FIELDS):
        notes.append(Diagnostic(M.ACPITABLE_NO_HEADERS, kind="warning"))
    return notes
