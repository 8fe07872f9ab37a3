"""``/machine``'s virt properties as QEMU's getters read them (hw/arm/virt.c).

The getters read ``VirtMachineState`` fields, which ``machvirt_init``
settles: ``gic-version`` reads the finalized version ("2" for unset, host
and max under TCG without virtualization), ``highmem-redists``/``-ecam``/
``-mmio`` read false for a region that did not fit in the address range
(all of them with ``highmem=off``), ``highmem-ecam`` false too with
firmware and a 32-bit vCPU, ``compact-highmem`` the versioned type's
default (false up to virt-7.1), ``its`` false with a GICv2 where the
release says so (``Release.virt_its_needs_gicv3``: 11.1).  The setters store the field at any time,
as QEMU's do (after start-up nothing reads it again).  Which of them a
release has is its recorded ``/machine`` (7.2 has none of the highmem
switches); the properties are listed where the recording lists them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memdevd import messages as M
from memdevd.machine.errors import CoreError
from memdevd.machine.qom import Prop, QOMObject

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine

#: DEFAULT_HIGH_PCIE_MMIO_SIZE
_DEFAULT_MMIO_SIZE = 512 << 30
_BOOLS = ("highmem", "its", "mte", "virtualization", "ras")
#: on unless set (virt_instance_init)
_ON = ("highmem", "its")
_REGIONS = ("highmem-redists", "highmem-ecam", "highmem-mmio")
#: virt_get_gic_version: what each settable value reads back as
_GIC_READS = {"4": "4", "3": "3", "2": "2", "host": "2", "max": "2"}


def _machine(obj: QOMObject) -> Machine:
    machine: Machine = obj.machine  # type: ignore[attr-defined]
    return machine


def _fields(m: Machine) -> dict[str, Any]:
    """The fields machvirt_init left, then what qom-set stored."""
    fields: dict[str, Any] = m.board_state.setdefault("machine-props", {})
    return fields


def effective_fields(m: Machine) -> dict[str, Any]:
    """``VirtMachineState`` after machvirt_init (before any qom-set)."""
    options = m.config.board_options
    layout = m.board_state.get("layout")
    out: dict[str, Any] = {name: bool(options.get(name, name in _ON)) for name in _BOOLS}
    out["highmem-mmio-size"] = options.get("highmem-mmio-size", _DEFAULT_MMIO_SIZE)
    out["compact-highmem"] = bool(m.board_state.get("compact-highmem", True))
    gic = m.board_state.get("gic-version")
    out["gic-version"] = str(gic) if gic is not None else "2"
    if m.release.virt_its_needs_gicv3 and out["gic-version"] == "2":
        out["its"] = False
    for name in _REGIONS:
        out[name] = bool(layout.region(name).enabled) if layout is not None else True
    if not m.board_state.get("aarch64", True) and m.board_state.get("firmware-loaded"):
        # vms->highmem_ecam &= (!firmware_loaded || aarch64)
        out["highmem-ecam"] = False
    return out


def _getter(name: str) -> Any:
    def get(obj: QOMObject) -> Any:
        m = _machine(obj)
        fields = _fields(m)
        if name not in fields:
            fields.update({k: v for k, v in effective_fields(m).items() if k not in fields})
        return fields[name]

    return get


def _set_bool(obj: QOMObject, v: Any, name: str) -> None:
    value = v.type_bool(name)
    _getter(name)(obj)
    _fields(_machine(obj))[name] = value


def _set_gic_version(obj: QOMObject, v: Any, name: str) -> None:
    """``virt_set_gic_version``."""
    value = v.type_str(name)
    if value not in _GIC_READS:
        raise CoreError(M.VIRT_GIC_VERSION_INVALID, hint=M.VIRT_GIC_VERSION_HINT)
    _getter(name)(obj)
    _fields(_machine(obj))[name] = _GIC_READS[value]


def _set_mmio_size(obj: QOMObject, v: Any, name: str) -> None:
    """``virt_set_highmem_mmio_size``."""
    size = v.type_size(name)
    if size & (size - 1) or not size:
        raise CoreError(M.VIRT_HIGHMEM_MMIO_SIZE_NOT_POW2)
    if size < _DEFAULT_MMIO_SIZE:
        raise CoreError(M.VIRT_HIGHMEM_MMIO_SIZE_TOO_LOW.format("512 GiB"))
    _getter(name)(obj)
    _fields(_machine(obj))[name] = size


def virt_props(m: Machine, recorded: set[str]) -> list[Prop]:
    """The modelled properties the release's ``/machine`` has (``recorded``)."""
    props = [Prop(name, "bool", _getter(name), _set_bool) for name in _BOOLS]
    props += [Prop(name, "bool", _getter(name), _set_bool) for name in _REGIONS]
    props.append(Prop("compact-highmem", "bool", _getter("compact-highmem"), _set_bool))
    props.append(Prop("gic-version", "string", _getter("gic-version"), _set_gic_version))
    props.append(Prop("highmem-mmio-size", "size", _getter("highmem-mmio-size"), _set_mmio_size))
    return [p for p in props if p.name in recorded]
