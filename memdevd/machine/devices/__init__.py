"""Device types, one module each; the memory devices implement MemoryDeviceClass.

``DEVICE_TYPES`` maps a ``-device``/``device_add`` driver name to its class.
Besides the memory devices there are the few other devices a management
tool puts in every VM (root ports, USB controllers, the virtio balloon).
"""

from __future__ import annotations

from memdevd.machine.devices.hv_balloon import HvBalloon, VMBusBridge
from memdevd.machine.devices.isa_serial import ISASerial
from memdevd.machine.devices.nvdimm import NVDIMM
from memdevd.machine.devices.pc_dimm import PCDIMM
from memdevd.machine.devices.pcie_root_port import PCIERootPort
from memdevd.machine.devices.sgx_epc import SgxEPC
from memdevd.machine.devices.usb_controllers import PIIX3USBUHCI, QemuXHCI
from memdevd.machine.devices.virtio_balloon import VirtioBalloonPCI
from memdevd.machine.devices.virtio_mem import VirtioMEMPCI
from memdevd.machine.devices.virtio_pmem import VirtioPMEMPCI
from memdevd.machine.qdev import Device

DEVICE_TYPES: dict[str, type[Device]] = {
    "pc-dimm": PCDIMM,
    "nvdimm": NVDIMM,
    "virtio-mem-pci": VirtioMEMPCI,
    "virtio-pmem-pci": VirtioPMEMPCI,
    # Created by the board from -machine sgx-epc.N.*; device_add refuses it.
    "sgx-epc": SgxEPC,
    # 8.2+ (Profile.has_hv_balloon); needs the VMBus of a vmbus-bridge.
    "hv-balloon": HvBalloon,
    # Not a memory device: the q35 port a hot-plugged PCI device needs.
    "pcie-root-port": PCIERootPort,
    # Not a memory device: the sysbus device that provides hv-balloon's VMBus.
    "vmbus-bridge": VMBusBridge,
    # Not memory devices: what libvirt adds to every domain.
    "virtio-balloon-pci": VirtioBalloonPCI,
    "piix3-usb-uhci": PIIX3USBUHCI,
    "qemu-xhci": QemuXHCI,
    "isa-serial": ISASerial,
}
