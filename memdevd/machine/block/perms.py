"""Block permissions and image locking (block.c, block/file-posix.c).

Every edge of the graph carries what the parent needs of the child
(``perm``) and what it lets other parents do (``shared``).  A node's
parents must allow each other's needs (``bdrv_parent_perms_conflict``:
"Permission conflict on node ..."), and a file node locks bytes of its
file for its parents' needs and non-shared permissions, so two nodes of
the same file, in this process or another, refuse each other as QEMU's
OFD locks do ("Failed to get "write" lock").  memdevd keeps the locks as
data instead of on the file: another QEMU does not see them.
"""

from __future__ import annotations

from typing import Final

from memdevd import messages as M
from memdevd.machine.errors import CoreError

CONSISTENT_READ: Final = 0x1
WRITE: Final = 0x2
WRITE_UNCHANGED: Final = 0x4
RESIZE: Final = 0x8
ALL: Final = 0xF
#: bdrv_perm_names order
NAMES: Final = (
    (CONSISTENT_READ, "consistent read"),
    (WRITE, "write"),
    (WRITE_UNCHANGED, "write unchanged"),
    (RESIZE, "resize"),
)

# BdrvChildRole bits that decide the default permissions
ROLE_DATA: Final = 1
ROLE_METADATA: Final = 2
ROLE_FILTERED: Final = 4
ROLE_COW: Final = 8


def perm_names(perm: int) -> str:
    """``bdrv_perm_names``."""
    return ", ".join(name for bit, name in NAMES if perm & bit)


def child_perms(role: int, perm: int, shared: int, writable: bool) -> tuple[int, int]:
    """``bdrv_default_perms`` for a child in ``role`` of a node whose parents
    need ``perm`` and share ``shared``."""
    if role & ROLE_COW:
        # bdrv_default_perms_for_cow
        cow_perm = perm & CONSISTENT_READ
        cow_shared = (WRITE | RESIZE) if shared & WRITE else 0
        return cow_perm, cow_shared | CONSISTENT_READ | WRITE_UNCHANGED
    # bdrv_filter_default_perms: what the parents need passes through.
    new_perm, new_shared = perm & ALL, shared & ALL
    if role & ROLE_METADATA:
        if writable:
            new_perm |= WRITE | RESIZE
        new_perm |= CONSISTENT_READ
        new_shared &= ~(WRITE | RESIZE)
    if role & ROLE_DATA:
        new_shared &= ~RESIZE
        if new_perm & WRITE_UNCHANGED:
            new_perm |= WRITE
        if new_perm & WRITE:
            new_perm |= RESIZE
    return new_perm, new_shared


def check_parents(node_name: str, parents: list[tuple[str, str, int, int]]) -> None:
    """``bdrv_parent_perms_conflict``: ``parents`` newest first, each
    (user description, child name, perm, shared)."""
    for a_user, a_child, _, a_shared in parents:
        for b_user, b_child, b_perm, _ in parents:
            if (a_user, a_child) == (b_user, b_child):
                continue
            missing = b_perm & ~a_shared
            if missing:
                raise CoreError(
                    M.BLOCK_PERMISSION_CONFLICT.format(
                        node_name,
                        perm_names(missing),
                        b_user,
                        node_name,
                        b_child,
                        a_user,
                        node_name,
                        a_child,
                    )
                )


def check_locks(path: str, perm: int, shared: int, others: list[tuple[int, int]]) -> None:
    """``raw_check_lock_bytes``: ``others`` are (perm, shared) of the other
    file nodes of the same file that lock."""
    for bit, name in NAMES:
        if perm & bit and any(not (o_shared & bit) for _, o_shared in others):
            raise CoreError(M.BLOCK_LOCK_FAILED.format(name), hint=M.BLOCK_LOCK_HINT.format(path))
    for bit, name in NAMES:
        if not (shared & bit) and any(o_perm & bit for o_perm, _ in others):
            raise CoreError(
                M.BLOCK_SHARED_LOCK_FAILED.format(name), hint=M.BLOCK_LOCK_HINT.format(path)
            )


#: block/copy-on-read.c PERM_PASSTHROUGH
PASSTHROUGH: Final = CONSISTENT_READ | WRITE | RESIZE


def cor_child_perms(perm: int, shared: int) -> tuple[int, int]:
    """``cor_child_perm``: what passes through, and it may rewrite the
    same data (copied up) whatever the parents need."""
    return (perm & PASSTHROUGH) | WRITE_UNCHANGED, (shared & PASSTHROUGH) | WRITE_UNCHANGED
