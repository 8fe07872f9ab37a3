"""QAPI types of the memory queries (qapi/machine.json, qapi/acpi.json)."""

from __future__ import annotations

from typing import Literal

from memdevd.qapi.schema import Int, QAPIModel, Size, UInt16


class PCDIMMDeviceInfo(QAPIModel):
    id: str | None = None
    addr: Int
    size: Int
    slot: Int
    node: Int
    memdev: str
    hotplugged: bool
    hotpluggable: bool


class VirtioPMEMDeviceInfo(QAPIModel):
    id: str | None = None
    memaddr: Size
    size: Size
    memdev: str


class VirtioMEMDeviceInfo(QAPIModel):
    id: str | None = None
    memaddr: Size
    requested_size: Size
    size: Size
    max_size: Size
    block_size: Size
    node: Int
    memdev: str

    model_config = QAPIModel.model_config | {"alias_generator": lambda name: name.replace("_", "-")}


class SgxEPCDeviceInfo(QAPIModel):
    id: str | None = None
    memaddr: Size
    size: Size
    node: Int
    memdev: str


class HvBalloonDeviceInfo(QAPIModel):
    id: str | None = None
    memaddr: Size | None = None
    max_size: Size
    memdev: str | None = None

    model_config = QAPIModel.model_config | {"alias_generator": lambda name: name.replace("_", "-")}


MemoryDeviceInfoKind = Literal[
    "dimm", "nvdimm", "virtio-pmem", "virtio-mem", "sgx-epc", "hv-balloon"
]


class MemoryDeviceInfo(QAPIModel):
    """The union: ``{"type": kind, "data": <info>}``."""

    type: MemoryDeviceInfoKind
    data: (
        PCDIMMDeviceInfo
        | VirtioPMEMDeviceInfo
        | VirtioMEMDeviceInfo
        | SgxEPCDeviceInfo
        | HvBalloonDeviceInfo
    )


class MemoryInfo(QAPIModel):
    base_memory: Size
    plugged_memory: Size | None = None

    model_config = QAPIModel.model_config | {"alias_generator": lambda name: name.replace("_", "-")}


HostMemPolicy = Literal["default", "preferred", "bind", "interleave"]


class Memdev(QAPIModel):
    id: str | None = None
    size: Size
    merge: bool
    dump: bool
    prealloc: bool
    share: bool
    reserve: bool | None = None
    host_nodes: list[UInt16]
    policy: HostMemPolicy

    model_config = QAPIModel.model_config | {"alias_generator": lambda name: name.replace("_", "-")}


ACPISlotType = Literal["DIMM", "CPU"]


class ACPIOSTInfo(QAPIModel):
    device: str | None = None
    slot: str
    slot_type: ACPISlotType
    source: Int
    status: Int

    model_config = QAPIModel.model_config | {"alias_generator": lambda name: name.replace("_", "-")}


class DeviceDelArgs(QAPIModel):
    id: str
