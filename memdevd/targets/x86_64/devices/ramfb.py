"""``ramfb``: the boot framebuffer a guest sets up through fw_cfg.

A dynamic sysbus device (hw/display/ramfb-standalone.c) the pc and q35
machines allow on the command line; its realize makes a graphic console
(:mod:`memdevd.machine.display` counts it), which ``-vnc display=`` can
show.  Nothing is drawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from memdevd import messages as M
from memdevd.machine.errors import CoreError
from memdevd.machine.qdev import Device, parse_bool, static_prop
from memdevd.machine.qom import Prop

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine

SYSBUS_PATH = "/machine/unattached/sysbus"


class RamFB(Device):
    """``ramfb`` (``RAMFBStandaloneState``)."""

    type_chain: ClassVar[tuple[str, ...]] = ("ramfb", "sys-bus-device", "device", "object")
    bus_type = "System"
    hotpluggable = False

    def __init__(self, machine: Machine) -> None:
        super().__init__(machine)
        # 10.0's type is a dynamic-sysbus-device (the recording's parents).
        info = machine.recording.device_type("ramfb")
        if info is not None:
            self.type_chain = ("ramfb", *info.parents)  # type: ignore[misc]
        self._catalog_props = {p.name for p in info.properties} if info is not None else set()
        self.migrate = True

    def static_props(self) -> list[Prop]:
        if "x-migrate" not in self._catalog_props:
            return []
        return [static_prop("x-migrate", "bool", "migrate", parse_bool, default=True)]

    def class_props(self) -> list[Prop]:
        parent_bus = Prop("parent_bus", "link<bus>", lambda o: SYSBUS_PATH, None)
        return [parent_bus, *super().class_props()]

    def realize(self) -> None:
        """``ramfb_realize``: allowed as a dynamic sysbus device on pc and q35."""
        if self.machine.config.board.family not in ("pc", "q35"):
            raise CoreError(
                M.INVALID_PARAMETER_VALUE.format(
                    "driver", "a dynamic sysbus device type for the machine"
                )
            )
