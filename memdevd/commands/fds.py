"""Descriptors passed to QEMU: getfd, closefd, add-fd, remove-fd, query-fdsets.

monitor/fds.c: a client passes a descriptor with SCM_RIGHTS on a UNIX
monitor socket (the session keeps what a read brought, as char-socket.c
does); ``getfd`` names it for the monitor, ``add-fd`` puts it in an fd set
(``-add-fd`` does from the command line).  The fd sets are ordered by id,
each set's descriptors newest first, and query-fdsets lists them as QEMU's
QAPI_LIST_PREPEND does.  The descriptors are this process's own: their
numbers are memdevd's, not QEMU's.  Nothing opens ``/dev/fdset/N``.
"""

from __future__ import annotations

import os
from typing import Any

from memdevd import messages as M
from memdevd.commands.base import Runtime, arguments, command
from memdevd.qmp.errors import QMPError
from memdevd.qmp.session import Session


def _monitor_fds(rt: Runtime, session: Session | None) -> dict[str, int]:
    """``mon->fds``: the monitor's (its listener's) named descriptors."""
    monitor = session.listener_name if session is not None else ""
    fds: dict[str, int] = rt.monitor_fds.setdefault(monitor, {})
    return fds


def _msgfd(session: Session | None) -> int:
    """``qemu_chr_fe_get_msgfd`` of the monitor's connection (-1: none; a
    handler called without a connection has none)."""
    return session.take_msgfd() if session is not None else -1


@command("getfd")
def getfd(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    a = arguments(rt, "getfd", args)
    fd = _msgfd(session)
    if fd == -1:
        raise QMPError(M.FD_NONE_SUPPLIED)
    name = str(a["fdname"])
    if name[:1].isdigit():
        os.close(fd)
        raise QMPError(
            M.INVALID_PARAMETER_VALUE.format("fdname", "a name not starting with a digit")
        )
    fds = _monitor_fds(rt, session)
    old = fds.get(name)
    fds[name] = fd
    if old is not None:
        os.close(old)


@command("closefd")
def closefd(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    a = arguments(rt, "closefd", args)
    name = str(a["fdname"])
    fd = _monitor_fds(rt, session).pop(name, None)
    if fd is None:
        raise QMPError(M.FD_NAME_NOT_FOUND.format(name))
    os.close(fd)


def fdset_add_fd(rt: Runtime, fd: int, fdset_id: int | None, opaque: str | None) -> dict[str, int]:
    """``monitor_fdset_add_fd``: into set ``fdset_id`` (made where its id
    goes), else into a new set with the first free id."""
    sets: list[dict[str, Any]] = rt.fdsets
    target = next((s for s in sets if s["id"] == fdset_id), None) if fdset_id is not None else None
    if target is None:
        if fdset_id is not None:
            if fdset_id < 0:
                raise QMPError(M.INVALID_PARAMETER_VALUE.format("fdset-id", "a non-negative value"))
            new_id = fdset_id
        else:
            new_id = 0
            for s in sets:
                if s["id"] != new_id:
                    break
                new_id += 1
        target = {"id": new_id, "fds": []}
        sets.append(target)
        sets.sort(key=lambda s: s["id"])
    target["fds"].insert(0, [fd, opaque, False])
    return {"fdset-id": target["id"], "fd": fd}


@command("add-fd")
def add_fd(rt: Runtime, session: Session, args: dict[str, Any]) -> dict[str, int]:
    a = arguments(rt, "add-fd", args)
    fd = _msgfd(session)
    if fd == -1:
        raise QMPError(M.FD_NONE_SUPPLIED)
    try:
        return fdset_add_fd(rt, fd, a.get("fdset-id"), a.get("opaque"))
    except QMPError:
        os.close(fd)
        raise


def _fdset_cleanup(rt: Runtime, fdset: dict[str, Any], clients: int | None) -> None:
    """``monitor_fdset_cleanup``: removed descriptors closed (before 9.1:
    only while the VM runs, and then also every one when no monitor
    client is left, ``clients`` 0), an empty set freed."""
    deferred = rt.release.fdset_removal_deferred
    kept = []
    for entry in fdset["fds"]:
        fd, _, removed = entry
        close = ((removed or clients == 0) and rt.machine.running) if deferred else removed
        if close:
            os.close(fd)
        else:
            kept.append(entry)
    fdset["fds"] = kept
    if not kept:
        rt.fdsets.remove(fdset)


def monitor_fdsets_cleanup(rt: Runtime, clients: int) -> None:
    """A monitor client left (7.2's monitor_qmp_event): each set cleaned up."""
    if rt.release.fdset_removal_deferred:
        for fdset in list(rt.fdsets):
            _fdset_cleanup(rt, fdset, clients)


@command("remove-fd")
def remove_fd(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    a = arguments(rt, "remove-fd", args)
    fdset_id, fd = int(a["fdset-id"]), a.get("fd")
    for s in rt.fdsets:
        if s["id"] != fdset_id:
            continue
        found = False
        for entry in s["fds"]:
            if fd is None or entry[0] == fd:
                entry[2] = True
                found = True
                if fd is not None:
                    break
        if fd is not None and not found:
            break
        _fdset_cleanup(rt, s, None)
        return
    name = f"fdset-id:{fdset_id}, fd:{fd}" if fd is not None else f"fdset-id:{fdset_id}"
    raise QMPError(M.FD_NAME_NOT_FOUND.format(name))


@command("query-fdsets")
def query_fdsets(rt: Runtime, session: Session, args: dict[str, Any]) -> list[dict[str, Any]]:
    arguments(rt, "query-fdsets", args)
    out = []
    for s in reversed(rt.fdsets):
        fds = []
        for fd, opaque, _ in reversed(s["fds"]):
            info: dict[str, Any] = {"fd": fd}
            if opaque is not None:
                info["opaque"] = opaque
            fds.append(info)
        out.append({"fdset-id": s["id"], "fds": fds})
    return out
