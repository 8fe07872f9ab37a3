"""Injected faults: make chosen commands fail, answer late, or lose the connection.

Management software must survive a monitor that errors where it never
does in a quiet test, answers slowly, or dies mid-reply.  A
:class:`FaultTable` holds rules; :meth:`Session.dispatch` asks it about
every command (except those registered with ``no_faults``, the test
controls themselves) and applies the first rule that matches:

``error``
    The command is not run; the reply is the given error (class and text).
``delay``
    The command runs at once; its reply is sent ``delay`` seconds later,
    and the connection reads nothing else meanwhile, as a busy QEMU
    monitor.
``drop``
    The command runs (its effects stay, as when QEMU dies after acting);
    half of the reply is written, then the connection is closed.

A rule matches by command name (``*`` for any) and, optionally, by a
subset of the arguments; it fires ``count`` times (0: until cleared).
This module knows no command or its meaning.
"""

from __future__ import annotations

import itertools
from dataclasses import field
from typing import Any, Final

from memdevd.records import record

FAULT_ACTIONS: Final = ("error", "delay", "drop")


@record
class Fault:
    id: int
    command: str
    action: str
    error_class: str = "GenericError"
    desc: str = "memdevd: injected fault"
    delay_s: float = 0.0
    count: int = 1
    arguments: dict[str, Any] | None = None
    fired: int = field(default=0)

    def matches(self, name: str, args: dict[str, Any]) -> bool:
        if self.command not in ("*", name):
            return False
        if self.arguments is None:
            return True
        return all(k in args and args[k] == v for k, v in self.arguments.items())

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "command": self.command,
            "action": self.action,
        }
        if self.action == "error":
            out["class"] = self.error_class
            out["desc"] = self.desc
        if self.action == "delay":
            out["delay"] = self.delay_s
        if self.arguments is not None:
            out["arguments"] = self.arguments
        out["count"] = self.count
        out["fired"] = self.fired
        return out


class FaultTable:
    def __init__(self) -> None:
        self.rules: list[Fault] = []
        self._ids = itertools.count(1)

    def add(self, command: str, action: str, **options: Any) -> Fault:
        if action not in FAULT_ACTIONS:
            raise ValueError(action)
        fault = Fault(next(self._ids), command, action, **options)
        self.rules.append(fault)
        return fault

    def take(self, name: str, args: dict[str, Any]) -> Fault | None:
        """The first rule matching this command, counted as fired."""
        for fault in self.rules:
            if fault.matches(name, args):
                fault.fired += 1
                if fault.count and fault.fired >= fault.count:
                    self.rules.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        self.rules.clear()
