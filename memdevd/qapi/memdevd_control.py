"""QAPI types of memdevd's test controls (the ``x-memdevd-`` commands).

They follow QAPI's conventions (dashed member names, enums, optional
members) so that clients and ``query-qmp-schema`` treat them like any
QEMU command.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from memdevd.qapi.schema import AnyValue, Int, QAPIModel, UInt32

QapiErrorClass = Literal[
    "GenericError", "CommandNotFound", "DeviceNotActive", "DeviceNotFound", "KVMMissingCap"
]

FaultAction = Literal["error", "delay", "drop"]


class SnapshotArgs(QAPIModel):
    name: str | None = None


class SetGuestArgs(QAPIModel):
    guest: str | None = None
    device: str | None = None
    virtio_mem_driver: bool | None = Field(default=None, alias="virtio-mem-driver")
    vmem_rate: str | None = Field(default=None, alias="vmem-rate")


class QueryGuestArgs(QAPIModel):
    device: str | None = None


class AdvanceClockArgs(QAPIModel):
    ns: Int | None = None
    seconds: float | None = None


class InjectFaultArgs(QAPIModel):
    command: str
    action: FaultAction | None = None
    error_class: QapiErrorClass | None = Field(default=None, alias="class")
    desc: str | None = None
    delay: float | None = None
    count: UInt32 | None = None
    arguments: AnyValue | None = None


class FleetAddArgs(QAPIModel):
    name: str
    argv: list[str]


class FleetRemoveArgs(QAPIModel):
    name: str
