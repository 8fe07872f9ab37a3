"""Snapshots of a machine: copy every piece of emulated state, restore in place.

A test that wants to undo what it did (``x-memdevd-snapshot`` /
``x-memdevd-restore``, ``x-memdevd-reset`` to the start-up state) needs
the whole machine back: QOM tree, backends, devices, the allocator, the
memslot accounting, the simulated guest's pending reactions and the event
throttle.  Rather than teach every model to serialise itself, a snapshot
deep-copies the machine's object graph.  Two things make that safe:

* The copy is restored *into the live* :class:`Machine` object (the copy's
  references to its machine are redirected to the live one), so command
  handlers, the daemon and sessions keep the object they hold.
* Pending timers are copied with the graph (their callbacks are bound
  methods or partials of machine objects, never closures, so they follow
  the copy) and re-based on restore: a reaction due 2 s after the snapshot
  is due 2 s after the restore.

What lives outside the machine is shared, never copied: the clock, the
release release, and the daemon's hooks (event sink, shutdown request),
which are detached while copying.
"""

from __future__ import annotations

import copy
from typing import Any

from memdevd.machine.clock import Timer, VirtualClock
from memdevd.machine.machine import Machine
from memdevd.records import record


@record
class Snapshot:
    """A detached copy of a machine (never run) and its pending timers."""

    machine: Machine
    timers: list[Timer]
    taken_ns: int


def _shared(machine: Machine) -> dict[int, Any]:
    """Objects a copy shares with its original (deepcopy's memo)."""
    return {id(machine.clock): machine.clock, id(machine.release): machine.release}


def _detached_copy(
    machine: Machine, memo: dict[int, Any], extra: Any = None
) -> tuple[Machine, Any]:
    """A copy of ``machine`` without the daemon's hooks, and of ``extra``
    (in the same deep copy, so that they share what they share)."""
    hooks = machine.detach_hooks()
    try:
        blank = Machine.__new__(Machine)
        memo[id(machine)] = blank
        state, extra_copy = copy.deepcopy((machine.__dict__, extra), memo)
        blank.__dict__.update(state)
    finally:
        machine.attach_hooks(hooks)
    return blank, extra_copy


def take(machine: Machine) -> Snapshot:
    """Copy ``machine`` and its pending timers."""
    clock = machine.clock
    blank, timers = _detached_copy(machine, _shared(machine), clock.pending())
    return Snapshot(blank, timers, clock.now_ns())


def restore(machine: Machine, snap: Snapshot) -> None:
    """Make ``machine`` what it was when ``snap`` was taken.

    The snapshot stays usable: each restore works on a fresh copy.
    """
    clock = machine.clock
    hooks = machine.detach_hooks()
    try:
        memo = _shared(snap.machine)
        memo[id(snap.machine)] = machine
        state, timers = copy.deepcopy((snap.machine.__dict__, snap.timers), memo)
    finally:
        machine.attach_hooks(hooks)
    machine.__dict__.clear()
    machine.__dict__.update(state)
    machine.attach_hooks(hooks)
    shift = clock.now_ns() - snap.taken_ns
    for timer in timers:
        timer.deadline_ns += shift
    clock.replace_pending(timers)


def scratch(machine: Machine) -> Machine:
    """A detached copy of ``machine`` on a virtual clock of its own.

    Nothing it does reaches the live machine: no hooks (its events go
    nowhere), and what it schedules waits on a clock nothing advances.
    """
    memo = _shared(machine)
    memo[id(machine.clock)] = VirtualClock(machine.clock.now_ns())
    blank, _ = _detached_copy(machine, memo)
    return blank
