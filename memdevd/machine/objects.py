"""User-creatable objects memdevd keeps but does not model: iothreads, RNG
backends, throttle groups, TLS credentials, filters...

``object-add``/``-object`` of a type that is neither a memory backend nor a
secret is validated against the release's QAPI schema (its
``ObjectOptions`` branch) and kept as an :class:`InertObject` under
``/objects``: its properties read back as given (or as the type's
default), it can be deleted, and it does nothing.  The few checks QEMU
makes when such an object is completed on a host like this one are made
too (an RNG device file that cannot be opened, an ``rng-egd`` without its
chardev, an iothread's negative polling parameter).  An iothread gets a
real, idle host thread, named as QEMU names it, whose id
``query-iothreads`` reports (libvirt pins and measures those threads).
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from memdevd import messages as M
from memdevd.machine.errors import CoreError, ErrorClass
from memdevd.machine.qom import Prop, QOMObject
from memdevd.qapi.visitor import InputVisitor

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine

#: iothread polling parameters, settable at any time (iothread.c)
IOTHREAD_PARAMS: Final = ("poll-max-ns", "poll-grow", "poll-shrink", "aio-max-batch")
#: AIO_POLL_MAX_NS_DEFAULT on Linux
POLL_MAX_NS_DEFAULT: Final = 32768
#: Release.iothread_poll_weight (11.1): poll-weight's bound and the values
#: a zero poll-grow, poll-shrink and poll-weight stand for (seen live).
POLL_WEIGHT_MAX: Final = 63
POLL_GROW_SHRINK_DEFAULT: Final = 2
POLL_WEIGHT_DEFAULT: Final = 3
INT64_MAX: Final = (1 << 63) - 1
# Each iothread object is a new thread (QEMU's ids are never reused).
_IOTHREADS = itertools.count()


class InertObject(QOMObject):
    """A user-created object of any type QEMU has, kept, not emulated."""

    def __init__(self, machine: Machine, qom_type: str) -> None:
        super().__init__()
        self.machine = machine
        self.typename = qom_type
        self.type_chain = (qom_type, *machine.recording.type_parents(qom_type))  # type: ignore[misc]
        self.values: dict[str, Any] = {}
        self.thread_id: int | None = None

    def prop_set(self, name: str, value: Any, *, keyval: bool = False) -> None:
        # The values were visited against the type's QAPI members already.
        if self.typename == "iothread" and name in IOTHREAD_PARAMS and value < 0:
            raise CoreError(M.IOTHREAD_PARAM_RANGE.format(name, INT64_MAX))
        weight = self.typename == "iothread" and name == "poll-weight"
        if weight and not 0 <= value <= POLL_WEIGHT_MAX:
            raise CoreError(M.IOTHREAD_PARAM_RANGE.format(name, POLL_WEIGHT_MAX))
        self.values[name] = value
        self.add_prop(Prop(name, _qom_type(value), _getter(name), _setter(name)))

    def complete(self) -> None:
        """``user_creatable_complete``: what QEMU checks of this type here."""
        check = _COMPLETE.get(self.typename)
        if check is not None:
            check(self)
        if self.typename == "iothread":
            self.thread_id = idle_thread_id(("iothread", next(_IOTHREADS)), f"IO {self.name}")

    def iothread_info(self) -> dict[str, Any]:
        """``query-iothreads``'s IOThreadInfo."""
        values = self.values
        info = {
            "id": self.name,
            "thread-id": self.thread_id,
            "poll-max-ns": values.get("poll-max-ns", POLL_MAX_NS_DEFAULT),
            "poll-grow": values.get("poll-grow", 0),
            "poll-shrink": values.get("poll-shrink", 0),
            "aio-max-batch": values.get("aio-max-batch", 0),
        }
        if self.machine.release.iothread_poll_weight:
            # The values in effect: a zero stands for the default.
            info["poll-grow"] = info["poll-grow"] or POLL_GROW_SHRINK_DEFAULT
            info["poll-shrink"] = info["poll-shrink"] or POLL_GROW_SHRINK_DEFAULT
            info["poll-weight"] = values.get("poll-weight", 0) or POLL_WEIGHT_DEFAULT
        return info


def _qom_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    return "str"


def _getter(name: str) -> Callable[[QOMObject], Any]:
    def get(obj: QOMObject) -> Any:
        assert isinstance(obj, InertObject)
        return obj.values.get(name)

    return get


def _setter(name: str) -> Callable[[QOMObject, InputVisitor, str], None]:
    def set_(obj: QOMObject, v: InputVisitor, pname: str) -> None:
        assert isinstance(obj, InertObject)
        obj.values[name] = v.type_any(pname)

    return set_


def _rng_random(obj: InertObject) -> None:
    """``rng_random_opened``: the device file must open (read-only here)."""
    path = obj.values.get("filename", "/dev/urandom")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise CoreError(M.COULD_NOT_OPEN.format(path, exc.strerror)) from None
    os.close(fd)


def _rng_egd(obj: InertObject) -> None:
    """``rng_egd_opened``: its chardev must exist and be free; it takes it."""
    name = obj.values.get("chardev")
    if name is None:
        raise CoreError(M.INVALID_PARAMETER_VALUE.format("chardev", "a valid character device"))
    machine = obj.machine
    chardev = machine.chardevs.children.get(name)
    if chardev is None:
        raise CoreError(M.DEVICE_NOT_FOUND.format(name), ErrorClass.DEVICE_NOT_FOUND)
    # qemu_chr_fe_init(), then set_handlers(..., set_open=true).
    from memdevd.machine.chardev.container import fe_init

    fe_init(chardev, obj, machine.release)
    machine.chardevs.open_frontend(obj)


def _throttle_group(obj: InertObject) -> None:
    """``throttle_group_obj_complete``: a new name, valid limits."""
    from memdevd.machine.block.throttle import object_config, validate

    if obj.name in obj.machine.block.throttle_groups.groups:
        raise CoreError(M.THROTTLE_GROUP_EXISTS)
    validate(object_config(obj.values))


_COMPLETE: dict[str, Callable[[InertObject], None]] = {
    "rng-random": _rng_random,
    "rng-egd": _rng_egd,
    "throttle-group": _throttle_group,
}


# --- idle host threads -----------------------------------------------------------
# A real thread per vCPU or iothread, parked forever: libvirt reads
# /proc/PID/task/TID/stat of them (domstats) and pins them or moves them into
# cgroups, which then touches no thread that does memdevd's work.  Made when
# first asked for (a -daemonize fork keeps no threads; a process nobody asks
# pays nothing) and kept for the process, as QEMU's ids do not change on reset.
_threads_lock = threading.Lock()
_thread_ids: dict[Any, int] = {}
_park = threading.Event()


def idle_thread_id(key: Any, name: str) -> int:
    """The host thread id of the idle thread ``key`` (named ``name``)."""
    with _threads_lock:
        tid = _thread_ids.get(key)
        if tid is None:
            started = threading.Event()
            ids: list[int] = []

            def idle() -> None:
                ids.append(threading.get_native_id())
                started.set()
                _park.wait()

            threading.Thread(target=idle, name=name, daemon=True).start()
            started.wait()
            tid = _thread_ids[key] = ids[0]
        return tid


def _forget_threads() -> None:
    # A forked child has none of the parent's threads (and the lock may
    # have been held by one of them).
    global _threads_lock
    _threads_lock = threading.Lock()
    _thread_ids.clear()


os.register_at_fork(after_in_child=_forget_threads)
