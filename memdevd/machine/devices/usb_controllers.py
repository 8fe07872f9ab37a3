"""USB host controllers libvirt gives every domain: piix3-usb-uhci, qemu-xhci.

They matter to memdevd only as occupants: they take a PCI slot (libvirt
puts ``piix3-usb-uhci`` at ``pci.0`` 0x1.0x2 and ``qemu-xhci`` on a q35 root
port), appear under ``/machine/peripheral`` (libvirt's alias list comes
from ``qom-list /machine/peripheral``) and can be unplugged like any PCI
device.  No USB bus or USB device is emulated.
"""

from __future__ import annotations

from typing import ClassVar

from memdevd.machine.devices.pcie_root_port import PassivePCIDevice


class PIIX3USBUHCI(PassivePCIDevice):
    """``piix3-usb-uhci`` (hw/usb/hcd-uhci.c), a standalone UHCI: hot-pluggable."""

    type_chain: ClassVar[tuple[str, ...]] = (
        "piix3-usb-uhci",
        "pci-uhci-usb",
        "pci-device",
        "device",
        "object",
    )


class QemuXHCI(PassivePCIDevice):
    """``qemu-xhci`` (hw/usb/hcd-xhci-pci.c)."""

    type_chain: ClassVar[tuple[str, ...]] = (
        "qemu-xhci",
        "pci-xhci",
        "pci-device",
        "device",
        "object",
    )
    interfaces: ClassVar[tuple[str, ...]] = ("pci-express-device", "conventional-pci-device")
