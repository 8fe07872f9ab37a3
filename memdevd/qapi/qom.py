"""QAPI types of the QOM commands (qapi/qom.json): qom-list/get/set, object-add."""

from __future__ import annotations

from typing import Literal

from memdevd.qapi.schema import AnyValue, QAPIModel, Size, UInt16, UInt32


class QomListArgs(QAPIModel):
    path: str


class QomGetArgs(QAPIModel):
    path: str
    property: str


class QomSetArgs(QAPIModel):
    path: str
    property: str
    value: AnyValue


class ObjectPropertyInfo(QAPIModel):
    name: str
    type: str
    description: str | None = None
    default_value: AnyValue | None = None

    model_config = QAPIModel.model_config | {"alias_generator": lambda name: name.replace("_", "-")}


class ObjectDelArgs(QAPIModel):
    id: str


HostMemPolicy = Literal["default", "preferred", "bind", "interleave"]
OnOffAuto = Literal["auto", "on", "off"]


def _dash(name: str) -> str:
    return name.replace("_", "-")


class MemoryBackendProperties(QAPIModel):
    """Members in qapi/qom.json order (7.2 and 10.0 agree)."""

    dump: bool | None = None
    host_nodes: list[UInt16] | None = None
    merge: bool | None = None
    policy: HostMemPolicy | None = None
    prealloc: bool | None = None
    prealloc_threads: UInt32 | None = None
    prealloc_context: str | None = None
    share: bool | None = None
    reserve: bool | None = None
    size: Size
    x_use_canonical_path_for_ramblock_id: bool | None = None

    model_config = QAPIModel.model_config | {"alias_generator": _dash}


class MemoryBackendFileProperties72(MemoryBackendProperties):
    align: Size | None = None
    discard_data: bool | None = None
    mem_path: str
    pmem: bool | None = None
    readonly: bool | None = None


class MemoryBackendFileProperties(MemoryBackendProperties):
    align: Size | None = None
    offset: Size | None = None
    discard_data: bool | None = None
    mem_path: str
    pmem: bool | None = None
    readonly: bool | None = None
    rom: OnOffAuto | None = None


class MemoryBackendMemfdProperties(MemoryBackendProperties):
    hugetlb: bool | None = None
    hugetlbsize: Size | None = None
    seal: bool | None = None


class MemoryBackendEpcProperties(MemoryBackendProperties):
    pass


QCryptoSecretFormat = Literal["raw", "base64"]


class SecretProperties72(QAPIModel):
    """``secret``: SecretCommonProperties then SecretProperties (7.2 has ``loaded``)."""

    model_config = QAPIModel.model_config | {"alias_generator": _dash}

    loaded: bool | None = None
    format: QCryptoSecretFormat | None = None
    keyid: str | None = None
    iv: str | None = None
    data: str | None = None
    file: str | None = None


class SecretProperties(QAPIModel):
    model_config = QAPIModel.model_config | {"alias_generator": _dash}

    format: QCryptoSecretFormat | None = None
    keyid: str | None = None
    iv: str | None = None
    data: str | None = None
    file: str | None = None


def backend_models(recorded_as: str) -> dict[str, type[QAPIModel]]:
    """The ``ObjectOptions`` variants memdevd emulates, by the recorded
    release whose schema they follow (``Release.recorded_as``)."""
    return {
        "memory-backend-ram": MemoryBackendProperties,
        "memory-backend-file": MemoryBackendFileProperties,
        "memory-backend-memfd": MemoryBackendMemfdProperties,
        "memory-backend-epc": MemoryBackendEpcProperties,
        # Not memory: libvirt's domain master key.
        "secret": SecretProperties,
        **_OLDER_MODELS.get(recorded_as, {}),
    }


#: Variants whose members differ in a recorded release from 10.0's.
_OLDER_MODELS: dict[str, dict[str, type[QAPIModel]]] = {
    "7.2": {"memory-backend-file": MemoryBackendFileProperties72, "secret": SecretProperties72},
}
