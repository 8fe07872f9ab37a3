"""PCI commands: ``query-pci`` (hw/pci/pci-qmp-cmds.c).

The reply is built by :mod:`memdevd.machine.pci_info` from memdevd's
placement of the devices and each type's identity recorded from QEMU.
"""

from __future__ import annotations

from typing import Any

from memdevd.commands.base import Runtime, command, no_args
from memdevd.qmp.session import Session


@command("query-pci")
def query_pci(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    """``qmp_query_pci``: every host bridge's bus, devices by devfn."""
    no_args(args)
    from memdevd.machine.pci_info import query_pci as build

    return build(rt.machine)
