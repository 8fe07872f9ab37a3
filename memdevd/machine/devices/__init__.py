"""Device types, one module each; the memory devices implement MemoryDeviceClass.

:func:`device_class` gives a ``-device``/``device_add`` driver's class.
Besides the memory devices there are the few other devices a management
tool puts in every VM (root ports, USB controllers, the virtio balloon).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from memdevd.machine.qdev import Device

# driver name -> (module, class).  A module is imported when its type is
# first asked for: a machine that never sees an nvdimm or an hv-balloon
# does not load them (start-up time).
_WHERE: dict[str, tuple[str, str]] = {
    "pc-dimm": ("pc_dimm", "PCDIMM"),
    "nvdimm": ("nvdimm", "NVDIMM"),
    "virtio-mem-pci": ("virtio_mem", "VirtioMEMPCI"),
    "virtio-pmem-pci": ("virtio_pmem", "VirtioPMEMPCI"),
    # Created by the board from -machine sgx-epc.N.*; device_add refuses it.
    "sgx-epc": ("memdevd.targets.x86_64.devices.sgx_epc", "SgxEPC"),
    # 8.2+ (Release.has_hv_balloon); needs the VMBus of a vmbus-bridge.
    "hv-balloon": ("memdevd.targets.x86_64.devices.hv_balloon", "HvBalloon"),
    # Not a memory device: the q35 port a hot-plugged PCI device needs.
    "pcie-root-port": ("pcie_root_port", "PCIERootPort"),
    # Not a memory device: the sysbus device that provides hv-balloon's VMBus.
    "vmbus-bridge": ("memdevd.targets.x86_64.devices.hv_balloon", "VMBusBridge"),
    # Not memory devices: what libvirt adds to every domain.
    "virtio-balloon-pci": ("virtio_balloon", "VirtioBalloonPCI"),
    "piix3-usb-uhci": ("usb_controllers", "PIIX3USBUHCI"),
    "qemu-xhci": ("usb_controllers", "QemuXHCI"),
    "isa-serial": ("memdevd.targets.x86_64.devices.isa_serial", "ISASerial"),
}


_LOADED: dict[str, type[Device]] = {}


def device_class(driver: str) -> type[Device] | None:
    """The class of a ``-device``/``device_add`` driver memdevd emulates."""
    cls = _LOADED.get(driver)
    if cls is None:
        where = _WHERE.get(driver)
        if where is None:
            return None
        name = where[0] if "." in where[0] else f"{__name__}.{where[0]}"
        module = importlib.import_module(name)
        cls = _LOADED[driver] = getattr(module, where[1])
    return cls
