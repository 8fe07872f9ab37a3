"""Command handlers: the only place where the protocol meets the machine.

Each module registers its handlers on a :class:`~memdevd.qmp.registry.Registry`;
:func:`register_all` builds the full command table for a runtime.
"""

from __future__ import annotations

from memdevd.qmp.registry import Registry
from memdevd.runtime import Runtime


def register_all(reg: Registry, rt: Runtime) -> None:
    from memdevd.commands import (
        capabilities,
        control,
        hmp,
        management,
        memdevd_extras,
        memory,
        qom,
        testctl,
    )

    control.register(reg, rt)
    memory.register(reg, rt)
    management.register(reg, rt)
    qom.register(reg, rt)
    hmp.register(reg, rt)
    memdevd_extras.register(reg, rt)
    testctl.register(reg, rt)
    capabilities.register(reg, rt)


__all__ = ["Runtime", "register_all"]
