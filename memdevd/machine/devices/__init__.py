"""Device types, one module each; the memory devices implement MemoryDeviceClass.

:func:`device_class` gives a ``-device``/``device_add`` driver's class:
the target-independent types here, and the target's own that its board
lists (``Board.device_types``).  Besides the memory devices there are the
few other devices a management tool puts in every VM (root ports, USB
controllers, the virtio balloon).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from memdevd.machine.board import Board
    from memdevd.machine.qdev import Device
    from memdevd.releases.recorded import Recording

# driver name -> (module, class).  A module is imported when its type is
# first asked for: a machine that never sees an nvdimm or an hv-balloon
# does not load them (start-up time).
_WHERE: dict[str, tuple[str, str]] = {
    "pc-dimm": ("pc_dimm", "PCDIMM"),
    "nvdimm": ("nvdimm", "NVDIMM"),
    "virtio-mem-pci": ("virtio_mem", "VirtioMEMPCI"),
    "virtio-pmem-pci": ("virtio_pmem", "VirtioPMEMPCI"),
    # Not a memory device: the q35 port a hot-plugged PCI device needs.
    "pcie-root-port": ("pcie_root_port", "PCIERootPort"),
    # Not memory devices: what libvirt adds to every domain.
    "virtio-balloon-pci": ("virtio_balloon", "VirtioBalloonPCI"),
}


_LOADED: dict[tuple[str, str], type[Device]] = {}


def device_class(driver: str, board: Board, rec: Recording | None = None) -> type[Device] | None:
    """The class of a ``-device``/``device_add`` driver memdevd emulates on
    ``board``'s target: a type modelled in code, else one made from the
    recorded catalog (:mod:`memdevd.machine.devices.generic`)."""
    if rec is not None and driver in _WHERE and driver not in rec.device_types:
        # Modelled, but the target's binary lacks it (qemu-system-aarch64
        # has no virtio-pmem-pci): as QEMU, no such type.
        return None
    key = (board.target, driver)
    cls = _LOADED.get(key)
    if cls is None:
        where = _WHERE.get(driver)
        module_name = f"{__name__}.{where[0]}" if where is not None else ""
        if where is None:
            where = board.device_types.get(driver)
            if where is None:
                if rec is None:
                    return None
                from memdevd.machine.devices.generic import catalog_class

                return catalog_class(rec, driver)
            module_name = where[0]
        module = importlib.import_module(module_name)
        cls = _LOADED[key] = getattr(module, where[1])
    return cls
