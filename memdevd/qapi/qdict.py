"""QObject-level facts QEMU's QMP and command line share: QString bytes and QDict order.

A str stands for the bytes of a QString: its UTF-8 encoding, except that
``"\\x00"`` stands for the modified-UTF-8 ``"\\xC0\\x80"`` and lone surrogates
U+DC80..U+DCFF for the raw bytes 0x80..0xFF (``surrogateescape``, as
:mod:`memdevd.qmp.framing` produces for texts that quote invalid input).

A QDict (qobject/qdict.c) keeps 512 buckets chosen by ``tdb_hash`` of the
key, each a list that new keys are prepended to; iterating it, as QEMU's
JSON writer and ``qmp_dispatch_check_obj()`` do, visits the buckets in
order.  :func:`qdict_key_order` gives that order for keys in insertion
order.  The JSON writer (``qapi/json_writer.py``) and the QAPI visitors
(which see a request's members in this order) both use it.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable
from typing import Final

__all__ = [
    "ORDER_CACHE",
    "QDICT_BUCKET_MAX",
    "order_or_none",
    "qdict_key_order",
    "qstring_bytes",
    "tdb_hash",
]

QDICT_BUCKET_MAX: Final = 512


# --- QString bytes -------------------------------------------------------
def _qstring_error_handler(exc: UnicodeError) -> tuple[bytes, int]:
    assert isinstance(exc, UnicodeEncodeError)
    out = bytearray()
    for ch in exc.object[exc.start : exc.end]:
        cp = ord(ch)
        if 0xDC80 <= cp <= 0xDCFF:
            out.append(cp - 0xDC00)
        else:
            out += ch.encode("utf-8", "surrogatepass")
    return bytes(out), exc.end


codecs.register_error("memdevd.qstring", _qstring_error_handler)


def qstring_bytes(s: str) -> bytes:
    """The bytes of the QString that ``s`` stands for (see module docstring)."""
    raw = s.encode("utf-8", "memdevd.qstring")
    if b"\x00" in raw:
        raw = raw.replace(b"\x00", b"\xc0\x80")
    return raw


# --- QDict order ---------------------------------------------------------
def tdb_hash(key: bytes) -> int:
    """qdict.c tdb_hash() of a key's bytes."""
    value = (0x238F13AF * len(key)) & 0xFFFFFFFF
    for i, c in enumerate(key):
        value = (value + (c << (i * 5 % 24))) & 0xFFFFFFFF
    return (1103515243 * value + 12345) & 0xFFFFFFFF


_BUCKET_CACHE: dict[str, int] = {}
# keys tuple -> output order, or None when that is the insertion order.
ORDER_CACHE: dict[tuple[str, ...], tuple[str, ...] | None] = {}
# Keys come from clients too (e.g. an "id" object); bound the caches.
_CACHE_MAX: Final = 8192


def _bucket(key: str) -> int:
    b = _BUCKET_CACHE.get(key)
    if b is None:
        if len(_BUCKET_CACHE) >= _CACHE_MAX:
            _BUCKET_CACHE.clear()
        b = tdb_hash(qstring_bytes(key)) % QDICT_BUCKET_MAX
        _BUCKET_CACHE[key] = b
    return b


def order_or_none(keys: tuple[str, ...]) -> tuple[str, ...] | None:
    try:
        return ORDER_CACHE[keys]
    except KeyError:
        pass
    for k in keys:
        if not isinstance(k, str):
            raise TypeError(f"QDict keys must be str, not {type(k).__name__}")
    # Bucket order; within a bucket the latest insertion first.
    ordered = tuple(k for _, k in sorted(enumerate(keys), key=lambda ik: (_bucket(ik[1]), -ik[0])))
    result = None if ordered == keys else ordered
    if len(ORDER_CACHE) >= _CACHE_MAX:
        ORDER_CACHE.clear()
    ORDER_CACHE[keys] = result
    return result


def qdict_key_order(keys: Iterable[str]) -> tuple[str, ...]:
    """Keys in the order qdict_first()/qdict_next() visit them.

    ``keys`` in insertion order.  This is also the order in which QEMU code
    iterating a QDict (e.g. ``qmp_dispatch_check_obj()``) sees the members.
    """
    t = tuple(keys)
    order = order_or_none(t)
    return t if order is None else order
