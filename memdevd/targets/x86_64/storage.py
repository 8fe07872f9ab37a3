"""The pc and q35 boards' own storage, floppy and USB controllers, and their buses.

(And the PS/2 mouse's input handler, which query-mice lists.)

``pc_init1`` creates the PIIX3 IDE function (``ide.0`` and ``ide.1``, a
master and a slave each) and with ``-usb`` (``-machine usb=on``) a
``piix3-usb-uhci`` (``usb-bus.0``, two ports); ``pc_q35_init`` creates the
ICH9 AHCI controller (``ide.0`` to ``ide.5``, one unit each) and with
``-usb`` an ``ich9-usb-ehci1`` with three UHCI companions (``usb-bus.0``,
six ports).  ``pc_superio_init`` creates the floppy controller
(``floppy-bus.0``): always on pc, on q35 only for a floppy drive
(``-fda``, ``-drive if=floppy``), whose ``floppy`` devices it makes.
memdevd does not model those controllers; their buses are real
(:mod:`memdevd.machine.qbus`), with the QOM path QEMU gives them.

The IDE units of ``-drive if=ide`` are created right after the IDE
controller, as ``/machine/unattached`` devices, which moves the board
devices created after them; the board's devices are counted so that a
device the machine creates later without a parent (a usb-hub) gets QEMU's
number.  The numbers come from the recorded machines (one vCPU and its
kvmvapic before the board's devices, ``board_devices_base``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from memdevd.machine.buses import PCIFunction
from memdevd.machine.qbus import (
    USB_SPEED_MASK_FULL,
    USB_SPEED_MASK_HIGH,
    USB_SPEED_MASK_LOW,
    FloppyBus,
    IDEBus,
    USBBus,
    automatic_bus_name,
    create_board_ide_drives,
    create_legacy_floppies,
    floppy_drives,
)

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine

#: /machine/unattached devices the board creates (after the vCPUs), by
#: family and south_bridge_children, as QEMU 7.2 and 10.0 list them
#: (-nodefaults, ACPI on), and where the IDE controller (7.2; 10.0 pc:
#: the PIIX3 that owns it) is among them.
BOARD_DEVICES: dict[tuple[str, bool], tuple[int, int]] = {
    # i440FX PIIX3 i8257 i8257 i8259 i8259 hpet rtc pit pcspk fdc i8042
    # vmport vmmouse port92 piix3-ide PIIX4_PM smbus-eeprom*8
    ("pc", False): (25, 15),
    # ICH9-LPC i8257 i8257 i8259 i8259 hpet rtc pit pcspk i8042 vmport
    # vmmouse port92 ich9-ahci ICH9-SMB smbus-eeprom*8
    ("q35", False): (23, 13),
    # i440FX PIIX3 i8259 i8259 hpet pit pcspk fdc i8042 vmport vmmouse
    # port92 smbus-eeprom*8
    ("pc", True): (20, 1),
    # ICH9-LPC i8259 i8259 hpet pit pcspk i8042 vmport vmmouse port92
    # ich9-ahci ICH9-SMB smbus-eeprom*8
    ("q35", True): (20, 10),
}
#: Where the floppy controller (isa-fdc, made by pc_superio_init) is among
#: those devices: pc always has one, q35 only for a floppy drive (its
#: BOARD_DEVICES lack it); the floppy drives come right after it.
FDC_POSITION: dict[tuple[str, bool], int] = {
    ("pc", False): 10,
    ("q35", False): 9,
    ("pc", True): 7,
    ("q35", True): 6,
}
_LOW_FULL = USB_SPEED_MASK_LOW | USB_SPEED_MASK_FULL
#: ich9-usb-ehci1 and its companions at 1d.7 and 1d.0-1d.2
#: (ehci_create_ich9_with_companions)
Q35_USB_FUNCTIONS = (
    PCIFunction(0xEF, "ich9-usb-ehci1", multifunction=True),
    PCIFunction(0xE8, "ich9-usb-uhci1", multifunction=True),
    PCIFunction(0xE9, "ich9-usb-uhci2", multifunction=True),
    PCIFunction(0xEA, "ich9-usb-uhci3", multifunction=True),
)
#: PIIX3's USB function (piix3_devfn + 2)
PC_USB_FUNCTIONS = (PCIFunction(0x0A, "piix3-usb-uhci"),)


def board_usb(machine: Machine) -> bool:
    """``machine_usb()``: ``-usb`` or ``-machine usb=on``."""
    return bool(machine.config.board_options.get("usb", False))


def usb_functions(machine: Machine) -> tuple[PCIFunction, ...]:
    if not board_usb(machine):
        return ()
    return PC_USB_FUNCTIONS if machine.config.board.family == "pc" else Q35_USB_FUNCTIONS


def create_board_storage(machine: Machine) -> None:
    """The board's IDE (AHCI) buses, its -drive if=ide units, its USB bus."""
    family = machine.config.board.family
    children = machine.release.south_bridge_children
    count, ide_offset = BOARD_DEVICES[(family, children)]
    base = machine.board_devices_base
    if family == "pc" and not machine.config.acpi and not children:
        # No PIIX4_PM (it comes after the IDE and USB functions).
        count -= 1
    floppies = len(floppy_drives(machine))
    has_fdc = family == "pc" or floppies > 0
    fdc_pos = FDC_POSITION[(family, children)]
    # The devices the floppies (and q35's controller) add at the FDC.
    added = (1 if family == "q35" and has_fdc else 0) + floppies
    count += added
    ide_before_fdc = ide_offset < fdc_pos
    if not ide_before_fdc:
        ide_offset += added
    if machine.config.board_options.get("vmport") == "off":
        # pc_basic_device_init makes neither vmport nor vmmouse; they come
        # before the IDE controller except on 10.0's pc (a PIIX3 child).
        count -= 2
        if not (family == "pc" and children):
            ide_offset -= 2
    ide_index = base + ide_offset
    ide_path = f"/machine/unattached/device[{ide_index}]"
    if family == "pc" and children:
        ide_path += "/ide"
    buses, units = (2, 2) if family == "pc" else (6, 1)
    for i in range(buses):
        name = automatic_bus_name(machine, None, "IDE", i)
        machine.board_qbuses.append(IDEBus(machine, name, None, units, f"{ide_path}/{name}"))
    # The units come right after their controller (pc 10.0: after PIIX3).
    machine.unattached_counter = ide_index + 1
    drives = create_board_ide_drives(machine, units)
    extra = drives
    if has_fdc:
        fdc_index = base + fdc_pos + (drives if ide_before_fdc else 0)
        name = automatic_bus_name(machine, None, "floppy-bus", 0)
        fallback = str(machine.compat.get("isa-fdc.fallback", "288"))
        fdc_path = f"/machine/unattached/device[{fdc_index}]/{name}"
        floppy_bus = FloppyBus(machine, name, None, fdc_path, fallback)
        machine.board_qbuses.append(floppy_bus)
        # isa_fdc_init_drives(): the drives right after their controller
        machine.unattached_counter = fdc_index + 1
        create_legacy_floppies(machine, floppy_bus)
    if board_usb(machine):
        if family == "pc" and children:
            usb_path = f"/machine/unattached/device[{ide_index}]/uhci"
        else:
            usb_path = f"/machine/unattached/device[{ide_index + 1 + drives}]"
            # pc: one UHCI; q35: the EHCI and its three companions.
            extra += 1 if family == "pc" else 4
        name = automatic_bus_name(machine, None, "usb-bus", 0)
        usb = USBBus(machine, name, None, f"{usb_path}/{name}")
        if family == "pc":
            for port in range(2):
                usb.register_port(str(port + 1), _LOW_FULL)
        else:
            # The companions take full and low speed on all six ports.
            for port in range(6):
                usb.register_port(str(port + 1), _LOW_FULL | USB_SPEED_MASK_HIGH)
        machine.board_qbuses.append(usb)
    machine.unattached_counter = base + count + extra
    # Where the recorded numbering moves: after the IDE controller (its
    # units, -usb's controllers) and at the floppy controller.
    inserted = [(ide_index - (0 if ide_before_fdc else added), extra)]
    if added:
        inserted.append((base + fdc_pos - (1 if family == "q35" else 0), added))
    machine.board_inserted = inserted
    # i8042's PS/2 keyboard and mouse register QEMU's input handlers 0 to 2
    # (the mouse is the 3rd): query-mice lists the mouse, current until a
    # guest activates another.
    machine.input_register(None, None, False)
    machine.input_register(None, None, False)
    machine.input_register(None, "QEMU PS/2 Mouse", False)
