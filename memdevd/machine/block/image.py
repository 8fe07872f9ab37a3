"""What the block drivers read of an image file: its kind, size and header.

memdevd looks at files and never writes them.  The one file it creates is
QEMU's: the temporary qcow2 overlay of a ``snapshot=on`` drive
(:func:`create_temp_overlay`), written as ``qcow2_co_create`` writes it and
unlinked once opened, as QEMU's ``BDRV_O_TEMPORARY`` file node does.  A ``file`` node
is what ``stat`` and ``open`` say (QEMU's texts for a missing file, a
directory, a permission); a ``qcow2`` node reads the image header
(block/qcow2.c ``qcow2_do_open`` checks, in its order) and its header
extensions; format probing reads the first bytes as ``bdrv_probe_all``
does.  Everything returned is plain data for the node to keep.
"""

from __future__ import annotations

import errno
import os
import stat
import struct
from typing import Final

from memdevd import messages as M
from memdevd.machine.errors import CoreError
from memdevd.records import record

QCOW_MAGIC: Final = b"QFI\xfb"
MIN_CLUSTER_BITS: Final = 9
MAX_CLUSTER_BITS: Final = 21
# qcow2 header extension magics (docs/interop/qcow2.txt)
EXT_BACKING_FORMAT: Final = 0xE2792ACA
EXT_DATA_FILE: Final = 0x44415441
EXT_BITMAPS: Final = 0x23852875
EXT_CRYPTO: Final = 0x0537BE77
# incompatible feature bits
INCOMPAT_DIRTY: Final = 1 << 0
INCOMPAT_CORRUPT: Final = 1 << 1
INCOMPAT_DATA_FILE: Final = 1 << 2
INCOMPAT_COMPRESSION: Final = 1 << 3
INCOMPAT_EXTL2: Final = 1 << 4
COMPAT_LAZY_REFCOUNTS: Final = 1 << 0
AUTOCLEAR_DATA_FILE_RAW: Final = 1 << 1


#: qcow2_co_create's defaults (block/qcow2.c): 64 KiB clusters, 16-bit
#: refcounts, a version 3 header of 112 bytes (with the compression type)
CREATE_CLUSTER_BITS: Final = 16
CREATE_HEADER_LENGTH: Final = 112
#: L2 entries per cluster times the cluster size: what one L1 entry maps
_L1_ENTRY_SPAN: Final = (1 << CREATE_CLUSTER_BITS) // 8 << CREATE_CLUSTER_BITS


def tmp_dir() -> str:
    """``create_tmp_file``'s directory: ``g_get_tmp_dir()`` ($TMPDIR, else
    /tmp), with /var/tmp for /tmp (a tmpfs is no place for disk images)."""
    tmpdir = os.environ.get("TMPDIR") or "/tmp"
    if len(tmpdir) > 1:
        tmpdir = tmpdir.rstrip("/") or "/"
    return "/var/tmp" if tmpdir == "/tmp" else tmpdir


def create_temp_overlay(size: int) -> str:
    """``bdrv_append_temp_snapshot``'s image: ``create_tmp_file`` (a
    ``vl.XXXXXX`` made by ``g_mkstemp``), then a qcow2 image of ``size``
    bytes as ``qcow2_co_create`` lays it out (header cluster, refcount
    table, refcount block, then the L1 table ``qcow2_co_truncate`` grows,
    rounded up to a sector); QEMU's texts when it cannot.  The caller
    unlinks it once opened."""
    import secrets
    import string

    letters = string.ascii_letters + string.digits
    template = os.path.join(tmp_dir(), "vl.XXXXXX")
    while True:
        path = template[:-6] + "".join(secrets.choice(letters) for _ in range(6))
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        except OSError as exc:
            # g_mkstemp fills the template in place: the name it tried
            raise CoreError(
                M.BLOCK_TMP_FILE_FAILED.format(path, os.strerror(exc.errno or 0))
            ) from None
        break
    cluster = 1 << CREATE_CLUSTER_BITS
    l1_size = -(-size // _L1_ENTRY_SPAN)
    l1_offset = 3 * cluster if l1_size else 0
    header = QCOW_MAGIC + struct.pack(
        ">IQIIQIIQQIIQQQQII",
        3,  # version
        0,  # backing_file_offset
        0,  # backing_file_size
        CREATE_CLUSTER_BITS,
        size,
        0,  # crypt_method
        l1_size,
        l1_offset,
        cluster,  # refcount_table_offset
        1,  # refcount_table_clusters
        0,  # nb_snapshots
        0,  # snapshots_offset
        0,  # incompatible_features
        0,  # compatible_features
        0,  # autoclear_features
        4,  # refcount_order: 16 bits
        CREATE_HEADER_LENGTH,
    )
    header += bytes(CREATE_HEADER_LENGTH - len(header))  # compression type zlib, padding
    clusters = 4 if l1_size else 3
    refcount_table = struct.pack(">Q", 2 * cluster)
    refcount_block = struct.pack(f">{clusters}H", *([1] * clusters))
    l1_bytes = -(-(l1_size * 8) // 512) * 512
    data = bytearray(3 * cluster + l1_bytes)
    data[: len(header)] = header
    data[cluster : cluster + len(refcount_table)] = refcount_table
    data[2 * cluster : 2 * cluster + len(refcount_block)] = refcount_block
    try:
        os.write(fd, bytes(data))
    except OSError as exc:
        os.close(fd)
        os.unlink(path)
        text = M.QCOW2_WRITE_HEADER_FAILED.format(os.strerror(exc.errno or 0))
        raise CoreError(M.BLOCK_TMP_OVERLAY_FAILED.format(path, text)) from None
    os.close(fd)
    return path


@record(frozen=True)
class FileFacts:
    """A ``file``/``host_device`` node's view of its file."""

    path: str
    size: int
    # st_blocks * 512: what ``actual-size`` reports
    allocated: int
    is_block_device: bool
    # (st_dev, st_ino): the file the locks are on
    file_id: tuple[int, int]


@record(frozen=True)
class Qcow2Header:
    qcow_version: int
    cluster_bits: int
    size: int
    crypt_method: int
    incompatible: int
    compatible: int
    autoclear: int
    refcount_order: int
    compression_type: int
    backing_file: str
    backing_format: str
    data_file: str
    has_bitmaps: bool


def _open_error(path: str, err: int) -> CoreError:
    return CoreError(M.COULD_NOT_OPEN.format(path, os.strerror(err)))


def stat_file(path: str, driver: str, *, read_only: bool) -> FileFacts:
    """``raw_open_common`` of ``driver`` (file, host_device, host_cdrom):
    the file QEMU would open, or QEMU's error in its order.

    memdevd only reads: a node that wants write access to a file it may
    not write gets QEMU's ``Permission denied`` (``auto-read-only`` retries
    read-only first: the caller decides).
    """
    try:
        st = os.stat(path)
    except OSError as exc:
        raise _open_error(path, exc.errno or errno.EIO) from None
    if stat.S_ISDIR(st.st_mode) and not read_only:
        raise _open_error(path, errno.EISDIR)
    if not os.access(path, os.R_OK if read_only else os.R_OK | os.W_OK):
        raise _open_error(path, errno.EACCES)
    is_block = stat.S_ISBLK(st.st_mode)
    if driver == "file":
        if not stat.S_ISREG(st.st_mode):
            raise CoreError(M.BLOCK_REQUIRES_REGULAR_FILE.format(driver, path))
    elif not (is_block or stat.S_ISCHR(st.st_mode)):
        raise CoreError(M.BLOCK_REQUIRES_DEVICE.format(driver, path))
    size = st.st_size
    if is_block:
        try:
            with open(path, "rb") as f:
                size = f.seek(0, os.SEEK_END)
        except OSError as exc:
            raise _open_error(path, exc.errno or errno.EIO) from None
    return FileFacts(path, size, st.st_blocks * 512, is_block, (st.st_dev, st.st_ino))


def read_head(path: str, length: int, offset: int = 0) -> bytes:
    """``bdrv_pread`` of the file: bytes past its end read as zeros."""
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read(length)
    return data + bytes(length - len(data))


#: magics of formats memdevd recognises but does not read: (offset, bytes)
OTHER_MAGICS: Final = (
    ("vmdk", 0, b"KDMV"),
    ("vmdk", 0, b"COWD"),
    ("vmdk", 0, b"# Disk DescriptorFile"),
    ("vdi", 0x40, b"\x7f\x10\xda\xbe"),
    ("vpc", 0, b"conectix"),
    ("vhdx", 0, b"vhdxfile"),
    ("qed", 0, b"QED\x00"),
    ("luks", 0, b"LUKS\xba\xbe"),
    ("parallels", 0, b"WithoutFreeSpace"),
    ("parallels", 0, b"WithouFreSpacExt"),
    ("bochs", 0, b"Bochs Virtual HD Image"),
)


def probe_format(path: str) -> str:
    """``bdrv_probe_all``: qcow2 (and qcow, version 1), the formats memdevd
    recognises but refuses by name (vmdk, vdi...), else raw."""
    head = read_head(path, 512)
    if head[:4] == QCOW_MAGIC:
        # qcow (v1) and qcow2 share the magic; the header's next field tells
        return "qcow2" if struct.unpack(">I", head[4:8])[0] != 1 else "qcow"
    for fmt, offset, magic in OTHER_MAGICS:
        if head[offset : offset + len(magic)] == magic:
            return fmt
    return "raw"


def read_qcow2_header(path: str, base: int = 0) -> Qcow2Header:
    """``qcow2_do_open``'s header checks, in its order; QEMU's texts.
    ``base``: where the image starts in the file (a raw node's offset)."""
    raw = read_head(path, 105, base)
    magic = raw[:4]
    qcow_version, backing_offset, backing_size, cluster_bits, size, crypt_method = struct.unpack(
        ">IQIIQI", raw[4:36]
    )
    if magic != QCOW_MAGIC:
        raise CoreError(M.QCOW2_NOT_QCOW2)
    if qcow_version < 2 or qcow_version > 3:
        raise CoreError(M.QCOW2_UNSUPPORTED_VERSION.format(qcow_version))
    if cluster_bits < MIN_CLUSTER_BITS or cluster_bits > MAX_CLUSTER_BITS:
        raise CoreError(M.QCOW2_UNSUPPORTED_CLUSTER_SIZE.format(cluster_bits))
    cluster_size = 1 << cluster_bits
    if qcow_version == 2:
        incompatible = compatible = autoclear = 0
        refcount_order, header_length = 4, 72
    else:
        incompatible, compatible, autoclear, refcount_order, header_length = struct.unpack(
            ">QQQII", raw[72:104]
        )
        if header_length < 104:
            raise CoreError(M.QCOW2_HEADER_TOO_SHORT)
    if header_length > cluster_size:
        raise CoreError(M.QCOW2_HEADER_EXCEEDS_CLUSTER)
    if backing_offset > cluster_size:
        raise CoreError(M.QCOW2_INVALID_BACKING_OFFSET)
    compression_type = raw[104] if header_length > 104 else 0
    backing_format = data_file = ""
    has_bitmaps = False
    # Header extensions follow the header, up to the backing file name or
    # the end of the first cluster.
    ext_end = backing_offset if backing_offset else cluster_size
    offset = header_length
    while offset + 8 <= ext_end:
        kind, length = struct.unpack(">II", read_head(path, 8, base + offset))
        offset += 8
        if kind == 0:
            break
        body = read_head(path, length, base + offset)
        if kind == EXT_BACKING_FORMAT:
            backing_format = body.decode("utf-8", "replace")
        elif kind == EXT_DATA_FILE:
            data_file = body.decode("utf-8", "replace")
        elif kind == EXT_BITMAPS:
            has_bitmaps = True
        offset += (length + 7) & ~7
    backing_file = ""
    if backing_offset:
        name = read_head(path, min(backing_size, 1023), base + backing_offset)
        backing_file = name.decode("utf-8", "replace")
    return Qcow2Header(
        qcow_version,
        cluster_bits,
        size,
        crypt_method,
        incompatible,
        compatible,
        autoclear,
        refcount_order,
        compression_type,
        backing_file,
        backing_format,
        data_file,
        has_bitmaps,
    )
