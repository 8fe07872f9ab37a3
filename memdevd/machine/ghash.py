"""GLib's GHashTable iteration order: a QOM object's own properties (its
children among them) live in one, so ``qom-list`` of a container and
``object_child_foreach`` (``query-chardev``, ``query-iothreads``) walk it.

A port of glib/ghash.c (2.40 and later): open addressing with quadratic
probing over ``1 << shift`` buckets, ``(hash * 11) % prime_mod[shift]`` as
the first bucket, tombstones on removal, the in-place resize and
``g_str_hash`` (djb2 over signed chars).  Only the order matters here, so
only keys are kept.
"""

from __future__ import annotations

HASH_TABLE_MIN_SHIFT = 3
_PRIME_MOD = (
    1, 2, 3, 7, 13, 31, 61, 127, 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521,
    131071, 262139, 524287, 1048573, 2097143, 4194301, 8388593, 16777213, 33554393,
    67108859, 134217689, 268435399, 536870909, 1073741789, 2147483647,
)  # fmt: skip
_UNUSED = 0
_TOMBSTONE = 1
_MASK32 = 0xFFFFFFFF


def g_str_hash(key: str) -> int:
    h = 5381
    for byte in key.encode():
        signed = byte - 256 if byte >= 128 else byte
        h = (h * 33 + signed) & _MASK32
    return h


class GHashOrder:
    """The buckets of a ``g_hash_table_new*()`` table keyed by strings."""

    def __init__(self) -> None:
        self._set_shift(HASH_TABLE_MIN_SHIFT)
        self.hashes = [_UNUSED] * self.size
        self.keys: list[str | None] = [None] * self.size
        self.nnodes = 0
        self.noccupied = 0

    def _set_shift(self, shift: int) -> None:
        self.size = 1 << shift
        self.mod = _PRIME_MOD[shift]
        self.mask = self.size - 1

    def _to_index(self, hash_value: int) -> int:
        return ((hash_value * 11) & _MASK32) % self.mod

    def _lookup(self, key: str) -> tuple[int, int]:
        hash_value = g_str_hash(key)
        if hash_value < 2:
            hash_value = 2
        index = self._to_index(hash_value)
        node_hash = self.hashes[index]
        first_tombstone = -1
        step = 0
        while node_hash != _UNUSED:
            if node_hash == hash_value:
                if self.keys[index] == key:
                    return index, hash_value
            elif node_hash == _TOMBSTONE and first_tombstone < 0:
                first_tombstone = index
            step += 1
            index = (index + step) & self.mask
            node_hash = self.hashes[index]
        return (first_tombstone if first_tombstone >= 0 else index), hash_value

    def insert(self, key: str) -> None:
        index, hash_value = self._lookup(key)
        old = self.hashes[index]
        if old >= 2:
            return
        self.hashes[index] = hash_value
        self.keys[index] = key
        self.nnodes += 1
        if old == _UNUSED:
            self.noccupied += 1
            self._maybe_resize()

    def remove(self, key: str) -> None:
        index, _ = self._lookup(key)
        if self.hashes[index] < 2:
            return
        self.hashes[index] = _TOMBSTONE
        self.keys[index] = None
        self.nnodes -= 1
        self._maybe_resize()

    def _maybe_resize(self) -> None:
        noccupied, size = self.noccupied, self.size
        if (size > self.nnodes * 4 and size > 1 << HASH_TABLE_MIN_SHIFT) or (
            size <= noccupied + noccupied // 16
        ):
            self._resize()

    def _resize(self) -> None:
        old_size = self.size
        n = int(self.nnodes * 1.333)
        shift = 0
        while n:
            shift += 1
            n >>= 1
        self._set_shift(max(shift, HASH_TABLE_MIN_SHIFT))
        if self.size > old_size:
            self.hashes += [_UNUSED] * (self.size - old_size)
            self.keys += [None] * (self.size - old_size)
        done = [False] * max(self.size, old_size)
        for i in range(old_size):
            node_hash = self.hashes[i]
            if node_hash < 2:
                self.hashes[i] = _UNUSED
                continue
            if done[i]:
                continue
            self.hashes[i] = _UNUSED
            key = self.keys[i]
            self.keys[i] = None
            while True:
                step = 0
                index = self._to_index(node_hash)
                while done[index]:
                    step += 1
                    index = (index + step) & self.mask
                done[index] = True
                replaced = self.hashes[index]
                self.hashes[index] = node_hash
                if replaced < 2:
                    self.keys[index] = key
                    break
                node_hash = replaced
                key, self.keys[index] = self.keys[index], key
        if self.size < old_size:
            del self.hashes[self.size :]
            del self.keys[self.size :]
        self.noccupied = self.nnodes

    def order(self) -> list[str]:
        """``g_hash_table_iter_next`` order."""
        return [k for h, k in zip(self.hashes, self.keys, strict=True) if h >= 2 and k is not None]
