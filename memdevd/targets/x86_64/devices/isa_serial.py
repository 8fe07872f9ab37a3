"""isa-serial (hw/char/serial-isa.c): the serial console a domain's ``<serial>`` gives.

Nearly every libvirt domain has ``-chardev pty,id=charserial0 -device
{"driver":"isa-serial","chardev":"charserial0","id":"serial0","index":0}``.
memdevd places it as QEMU does (on the south bridge's ``isa.0``, which
refuses hot-plug; I/O port and IRQ from the index, the index from a
per-machine counter that every realize advances) and connects its
``chardev`` (a pty memdevd opens, see
:class:`memdevd.machine.qom.ChardevBackend`).  Nothing is ever written to
the port: there is no guest console.  The child objects QEMU has under the
device (the UART ``serial`` and its I/O region) are not modelled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from memdevd import messages as M
from memdevd.machine.buses import bus_canonical_path, bus_of
from memdevd.machine.errors import CoreError
from memdevd.machine.qdev import Device, parse_bool, parse_uint32, static_prop
from memdevd.machine.qom import Prop, QOMObject
from memdevd.qapi.visitor import InputVisitor

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine

MAX_ISA_SERIAL_PORTS = 4
ISA_SERIAL_IO = (0x3F8, 0x2F8, 0x3E8, 0x2E8)
ISA_SERIAL_IRQ = (4, 3, 4, 3)
UINT32_UNSET = 0xFFFFFFFF
_UART_PROPS = frozenset({"chardev", "baudbase", "wakeup"})


class ISASerial(Device):
    type_chain: ClassVar[tuple[str, ...]] = ("isa-serial", "isa-device", "device", "object")
    bus_type = "ISA"
    description = ""
    # hw/char/serial.c serial_be_change(): chardev-change may swap its chardev.
    chr_be_change: ClassVar[bool] = True

    def __init__(self, machine: Machine) -> None:
        super().__init__(machine)
        self.index = UINT32_UNSET
        self.iobase = UINT32_UNSET
        self.isairq = UINT32_UNSET
        self.chardev = ""
        self.baudbase = 115200
        self.wakeup = False

    def static_props(self) -> list[Prop]:
        return [
            static_prop("index", "uint32", "index", parse_uint32, default=UINT32_UNSET),
            static_prop("iobase", "uint32", "iobase", parse_uint32, default=UINT32_UNSET),
            static_prop("irq", "uint32", "isairq", parse_uint32, default=UINT32_UNSET),
            Prop("chardev", "str", lambda o: _serial(o).chardev, _set_chardev, static=True),
            static_prop("baudbase", "uint32", "baudbase", parse_uint32, default=115200),
            static_prop("wakeup", "bool", "wakeup", parse_bool, default=False),
        ]

    def class_props(self) -> list[Prop]:
        return [
            *super().class_props(),
            # device_get_hotpluggable(): isa.0 has no hotplug handler.
            Prop("hotpluggable", "bool", lambda o: False, None),
            Prop("parent_bus", "link<bus>", lambda o: _serial(o).parent_bus_path(), None),
        ]

    def check_settable(self, name: str) -> None:
        # chardev, baudbase and wakeup belong to the id-less inner UART.
        if name in _UART_PROPS and self.realized:
            raise CoreError(M.SET_PROP_AFTER_REALIZE_ANON.format(name, "serial"))
        super().check_settable(name)

    def parent_bus_path(self) -> str:
        bus = bus_of(self.machine, self)
        return bus_canonical_path(self.machine, bus) if bus is not None else ""

    def realize(self) -> None:
        """``serial_isa_realizefn``: the counter advances for every device."""
        machine = self.machine
        index = self.index
        if index == UINT32_UNSET:
            index = machine.isa_serial_index
        if index >= MAX_ISA_SERIAL_PORTS:
            raise CoreError(M.ISA_SERIAL_MAX_PORTS.format(MAX_ISA_SERIAL_PORTS))
        self.index = index
        if self.iobase == UINT32_UNSET:
            self.iobase = ISA_SERIAL_IO[index]
        if self.isairq == UINT32_UNSET:
            self.isairq = ISA_SERIAL_IRQ[index]
        machine.isa_serial_index += 1
        if self.chardev:
            machine.chardevs.open_frontend(self)


def _serial(obj: QOMObject) -> ISASerial:
    assert isinstance(obj, ISASerial)
    return obj


def _set_chardev(obj: QOMObject, v: InputVisitor, name: str) -> None:
    """``set_chr``: an existing chardev without a frontend yet ("" for none)."""
    dev = _serial(obj)
    dev.check_settable(name)
    label = v.type_str(name)
    if not label:
        dev.chardev = ""
        return
    # The property is the inner UART's ("serial"), aliased on the device.
    machine = dev.machine
    machine.chardevs.claim(label, dev, "serial", name, machine.release)
    dev.chardev = label
