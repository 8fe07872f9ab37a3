"""The table of QMP commands a server offers, as QEMU's ``QmpCommandList``.

A command is a name, a handler and the options QEMU attaches to it
(``allow-oob``, ``allow-preconfig``).  Handlers receive a
:class:`CommandContext` and the ``arguments`` object; argument validation is
the handler's business (the commands layer validates against QAPI models),
so this module stays ignorant of any schema.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import field
from typing import TYPE_CHECKING, Any, Protocol

from memdevd.records import record

if TYPE_CHECKING:
    from memdevd.qmp.session import Session


class CommandContext(Protocol):
    """What a handler may know about the connection that sent the command."""

    @property
    def session(self) -> Session: ...


Handler = Callable[["Session", dict[str, Any]], Any | Awaitable[Any]]


@record(slots=True)
class Command:
    name: str
    handler: Handler
    allow_oob: bool = False
    allow_preconfig: bool = False
    # Handlers returning an awaitable are awaited; others run inline, which
    # keeps the common path free of task switches.
    is_async: bool = False
    enabled: bool = True
    disable_reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Registry:
    """Commands in registration order.

    Commands can be *declared* by name with the function that registers
    them (:meth:`declare`): the table then knows every name, and a group's
    handlers (and what they import) load when one of its commands is first
    asked for.  Listing the table loads every group, in the order of their
    declarations, so the order does not depend on which command came first.
    """

    def __init__(self, loader: Callable[[Registry], None] | None = None) -> None:
        self._commands: dict[str, Command] = {}
        # Registers (or declares) the commands on first use, so that a server
        # greets its first client without waiting for any handler.
        self._loader = loader
        # Declared names not registered yet -> the function registering them.
        self._pending: dict[str, Callable[[Registry], None]] = {}
        # Every declared name, in declaration order.
        self._declared: list[str] = []
        # A group loaded since the table was last put in declaration order.
        self._unsorted = False

    def _load(self) -> None:
        loader, self._loader = self._loader, None
        if loader is not None:
            loader(self)

    def declare(self, names: Iterable[str], loader: Callable[[Registry], None]) -> None:
        """``loader`` registers these commands (some may be absent from a
        version): call it when one of them is first asked for."""
        for name in names:
            self._pending[name] = loader
            self._declared.append(name)

    def _load_group(self, name: str) -> None:
        loader = self._pending.get(name)
        if loader is None:
            return
        group = [n for n, fn in self._pending.items() if fn is loader]
        for other in group:
            del self._pending[other]
        try:
            loader(self)
        except BaseException:
            # Still declared: the next use tries again (and fails loudly).
            for other in group:
                self._pending.setdefault(other, loader)
            raise
        self._unsorted = True

    def _load_all(self) -> None:
        if self._loader is not None:
            self._load()
        while self._pending:
            self._load_group(next(iter(self._pending)))
        if not self._unsorted:
            return
        self._unsorted = False
        rank = {name: i for i, name in enumerate(self._declared)}
        last = len(rank)
        # Stable: commands registered outside a declaration keep their order.
        ordered = sorted(self._commands.items(), key=lambda item: rank.get(item[0], last))
        self._commands = dict(ordered)

    def register(
        self,
        name: str,
        handler: Handler,
        *,
        allow_oob: bool = False,
        allow_preconfig: bool = False,
        is_async: bool = False,
        **extra: Any,
    ) -> Command:
        if name in self._commands:
            raise ValueError(f"command {name!r} registered twice")
        cmd = Command(
            name,
            handler,
            allow_oob=allow_oob,
            allow_preconfig=allow_preconfig,
            is_async=is_async,
            extra=dict(extra),
        )
        self._commands[name] = cmd
        return cmd

    def command(self, name: str, **options: Any) -> Callable[[Handler], Handler]:
        """Decorator form of :meth:`register`."""

        def deco(fn: Handler) -> Handler:
            self.register(name, fn, **options)
            return fn

        return deco

    def unregister(self, name: str) -> None:
        self._load_group(name)
        self._commands.pop(name, None)

    def get(self, name: str) -> Command | None:
        if self._loader is not None:
            self._load()
        cmd = self._commands.get(name)
        if cmd is None and name in self._pending:
            self._load_group(name)
            cmd = self._commands.get(name)
        return cmd

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[Command]:
        self._load_all()
        return iter(self._commands.values())

    def __len__(self) -> int:
        self._load_all()
        return len(self._commands)

    def names(self) -> list[str]:
        self._load_all()
        return list(self._commands)
