"""The table of QMP commands a server offers, as QEMU's ``QmpCommandList``.

A command is a name, a handler and the options QEMU attaches to it
(``allow-oob``, ``allow-preconfig``).  Handlers receive a
:class:`CommandContext` and the ``arguments`` object; argument validation is
the handler's business (the commands layer validates against QAPI models),
so this module stays ignorant of any schema.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
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
    """Commands in registration order (query-commands lists them in reverse)."""

    def __init__(self, loader: Callable[[Registry], None] | None = None) -> None:
        self._commands: dict[str, Command] = {}
        # Registers the commands on first use, so that a server greets its
        # first client without waiting for every handler to be imported.
        self._loader = loader

    def _load(self) -> None:
        loader, self._loader = self._loader, None
        if loader is not None:
            loader(self)

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
        self._commands.pop(name, None)

    def get(self, name: str) -> Command | None:
        if self._loader is not None:
            self._load()
        return self._commands.get(name)

    def __contains__(self, name: object) -> bool:
        if self._loader is not None:
            self._load()
        return name in self._commands

    def __iter__(self) -> Iterator[Command]:
        if self._loader is not None:
            self._load()
        return iter(self._commands.values())

    def __len__(self) -> int:
        if self._loader is not None:
            self._load()
        return len(self._commands)

    def names(self) -> list[str]:
        return list(self._commands)
