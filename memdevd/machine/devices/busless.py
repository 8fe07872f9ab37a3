"""Catalog devices on no bus: ``vmgenid`` and ``vmcoreinfo``.

Both are plain ``TYPE_DEVICE``s a manager adds to every VM (Proxmox's
``-device vmgenid,guid=...``, libvirt's ``<vmcoreinfo/>``) that talk to the
guest through fw_cfg only.  memdevd places them in QOM with their recorded
properties and makes the checks of their realize: one of each per machine
(``find_vmgenid_dev``, ``vmcoreinfo_find``).  fw_cfg's DMA, which both
need, is there on every pc and q35 type memdevd emulates from 2.9 on; the
older types' error is not modelled.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from memdevd import messages as M
from memdevd.machine.devices.generic import CatalogMixin
from memdevd.machine.errors import CoreError
from memdevd.machine.qdev import Device
from memdevd.machine.qom import Prop

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def parse_uuid(text: str) -> str | None:
    """``qemu_uuid_parse``: the UUID as QEMU prints it back, or None."""
    return text.lower() if _UUID.fullmatch(text) else None


class CatalogBuslessDevice(CatalogMixin, Device):
    """A catalog device with no bus (its class made by catalog_class)."""

    bus_type = None

    def __init__(self, machine: Machine) -> None:
        super().__init__(machine)
        self.values: dict[str, Any] = {}

    def class_props_key(self) -> str | None:
        return "catalog"

    def class_props(self) -> list[Prop]:
        return [*super().class_props(), *self.catalog_props()]

    def realize(self) -> None:
        """``vmgenid_realize``/``vmcoreinfo_realize``: one per machine."""
        for other in self.machine.devices():
            if other is not self and other.realized and other.typename == self.typename:
                raise CoreError(M.AT_MOST_ONE_DEVICE.format(self.typename))
