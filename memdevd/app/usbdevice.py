"""``-usbdevice NAME``: the legacy USB devices (system/vl.c ``usb_parse``,
hw/usb/bus.c ``usbdevice_create``).

The option turns ``-machine usb=on`` on and, when the command-line devices
are made (after ``-audio``'s card and ``-fw_cfg``, before ``-device``),
makes the device registered under that legacy name on the first USB bus,
as a board device (``/machine/unattached/device[N]``): ``tablet``,
``mouse``, ``keyboard``, ``wacom-tablet``, and ``braille`` (whose
``braille`` chardev needs brlapi, which no host running memdevd serves).
A machine whose ``usb`` ended up off makes none of them, silently, as QEMU.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from memdevd import messages as M
from memdevd.util.qemu_opts import Diagnostic, OptionError

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine

#: usb_legacy_register(): legacy name -> device type (every release alike).
LEGACY_USB_DEVICES: dict[str, str] = {
    "tablet": "usb-tablet",
    "mouse": "usb-mouse",
    "keyboard": "usb-kbd",
    "braille": "usb-braille",
    "wacom-tablet": "usb-wacom-tablet",
}


def create_usb_devices(machine: Machine, usbdevices: list[tuple[str, str]]) -> None:
    """``foreach_device_config_or_exit(DEV_USB, usb_parse)``: each
    ``(name, -usbdevice location)`` in order; OptionError with what QEMU
    prints when one cannot be made."""
    if not machine.config.board_options.get("usb"):
        return
    for name, loc in usbdevices:
        reported = _usbdevice_create(machine, name)
        if reported is not None:
            lines = [Diagnostic(text, location=loc) for text in reported]
            raise OptionError(M.USBDEVICE_ADD_FAILED.format(name), location=loc, preceding=lines)


def _usbdevice_create(machine: Machine, name: str) -> list[str] | None:
    """``usbdevice_create``: None when the device is made, else the lines
    it reported (error_report) before failing."""
    from memdevd.machine.buses import default_bus
    from memdevd.machine.errors import CoreError
    from memdevd.machine.qbus import create_legacy_device

    if ":" in name:
        return [M.USBDEVICE_PARAMETERS]
    driver = LEGACY_USB_DEVICES.get(name)
    if driver is None:
        return []
    bus = default_bus(machine, "usb-bus")
    if bus is None or bus.qbus is None:
        return [M.USBDEVICE_NO_BUS.format(name)]
    props: dict[str, object] = {}
    if name == "braille":
        # usb_braille_init(): qemu_chr_new("braille", "braille") first.
        try:
            machine.add_backend_chardev("braille", {"type": "braille", "data": {}})
        except CoreError as exc:
            return [exc.desc, M.USBDEVICE_CREATE_FAILED.format(driver)]
        props["chardev"] = "braille"
    try:
        create_legacy_device(machine, bus.qbus, driver, props)
    except CoreError as exc:
        return [M.USBDEVICE_INIT_FAILED.format(driver, exc.desc)]
    return None
