"""``query-pci`` (hw/pci/pci-qmp-cmds.c, 7.2: hw/pci/pci.c; qapi/pci.json).

QEMU walks its PCI host bridges (``pci_host_bridges``: memdevd's boards
have one, pc's ``pci.0`` or q35's ``pcie.0``, and a ``pxb-cxl`` adds its
own, listed first with its ``bus_nr``; ``-machine none`` has none) and
lists each bus's ``devices[]`` by devfn.  memdevd places the devices
itself (bus number, slot, function, ``qdev_id``); what QEMU's config space
says of a type (ids, class, interrupt pin, BARs, a bridge's windows) comes
from the recording of the release (``pci.json``, recorded by
tools/record_pci_data.py on a stopped machine).

memdevd shows a machine as QEMU does before the firmware ran: BAR
addresses are -1 (unmapped), ``irq`` is 0 and a bridge's bus numbers are
0, so a bridge lists no ``devices`` (QEMU follows ``PCI_SECONDARY_BUS``
only when it is not 0).  docs/divergences.md says what a guest's firmware
would change.

Dicts are built in QAPI member order: the JSON writer then prints them in
QEMU's QDict order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memdevd import messages as M
from memdevd.machine.errors import CoreError

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine
    from memdevd.machine.qdev import Device

JSON = Any


def query_pci(machine: Machine) -> list[dict[str, JSON]]:
    """``qmp_query_pci``: one ``PciInfo`` per host bridge."""
    board = machine.config.board
    buses = board.buses(machine)
    if not buses:
        return []
    root = buses[0]
    table = machine.recording.pci_table()
    family = board.family
    entries: list[tuple[int, dict[str, JSON]]] = []
    recorded_board = {(e["slot"] << 3) | e["function"]: e for e in table["board"].get(family, ())}
    for fn in board.root_pci_functions(machine):
        recorded = recorded_board.get(fn.devfn)
        if recorded is None:
            # A function the board adds on request (the -vga device, -usb's
            # controllers): its type's identity.
            recorded = type_identity(table, fn.name, family)
        if recorded is not None:
            entries.append((fn.devfn, device_info(0, fn.devfn, "", recorded)))
    entries.extend(_bus_entries(machine, table, family, root.name, None, 0))
    entries.sort(key=lambda item: item[0])
    # pci_host_bridges: an expander's host bridge (pxb-cxl) registers after
    # the main one, at the head of the list; its bus number is its bus_nr.
    expanders: list[dict[str, JSON]] = []
    for dev in reversed(machine.devices()):
        bus = getattr(dev, "child_bus", None)
        if getattr(dev, "host_bridge", None) is None or bus is None:
            continue
        number = int(getattr(dev, "bus_nr", 0))
        found = _bus_entries(machine, table, family, bus.name, dev, number)
        found.sort(key=lambda item: item[0])
        expanders.append({"bus": number, "devices": [info for _, info in found]})
    return [*expanders, {"bus": 0, "devices": [info for _, info in entries]}]


def _bus_entries(
    machine: Machine, table: JSON, family: str, bus_name: str, owner: Any, number: int
) -> list[tuple[int, dict[str, JSON]]]:
    """The users' devices on one bus, as (devfn, PciDeviceInfo)."""
    entries: list[tuple[int, dict[str, JSON]]] = []
    for dev in machine.devices():
        devfn = getattr(dev, "devfn", -1)
        if dev.parent_bus != bus_name or not isinstance(devfn, int) or devfn < 0:
            continue
        if dev.parent_bus_owner is not owner:
            continue
        identity = type_identity(table, dev.typename, family)
        if identity is None:
            # A type QEMU could not be made to create when recording.
            continue
        identity = _with_properties(machine, dev, identity)
        entries.append((devfn, device_info(number, devfn, dev.id or "", identity)))
    return entries


# BAR indices: virtio-pci's MSI-X table (msix_bar_idx), its modern
# capabilities' memory (modern_mem_bar_idx), pci-bridge's SHPC and
# PCI_ROM_SLOT.
_VIRTIO_MSIX_BAR = 1
_VIRTIO_MODERN_BAR = 4
_SHPC_BAR = 0
_ROM_BAR = 6
_SHPC_BRIDGES = frozenset({"pci-bridge", "pci-bridge-seat"})


def _with_properties(machine: Machine, dev: Device, identity: JSON) -> JSON:
    """The recorded identity (the type's defaults) with the BARs that the
    properties memdevd models remove: ``vectors`` 0 (no MSI-X table),
    ``disable-modern`` (virtio_pci_realize registers no modern memory BAR),
    a pci-bridge's ``shpc=off`` (no SHPC BAR, no interrupt pin) and
    ``pci_add_option_rom``'s early returns, an empty ``romfile`` or
    ``rombar=0`` (the ROM goes through fw_cfg instead).  Other properties
    are not modelled (docs/divergences.md)."""
    values = getattr(dev, "values", None)
    values = values if isinstance(values, dict) else {}
    dropped: set[int] = set()
    out = identity
    if _msix_vectors(machine, dev) == 0:
        dropped.add(_VIRTIO_MSIX_BAR)
    if values.get("disable-modern") is True and dev.is_a("virtio-pci"):
        dropped.add(_VIRTIO_MODERN_BAR)
    if dev.typename in _SHPC_BRIDGES and values.get("shpc") is False:
        dropped.add(_SHPC_BAR)
        out = {**out, "irq_pin": 0}
    if values.get("romfile") == "" or values.get("rombar") == 0:
        dropped.add(_ROM_BAR)
    io_size = _virtio_net_legacy_size(machine, dev, values)
    if io_size is not None:
        out = {
            **out,
            "regions": [
                {**r, "size": io_size} if r["bar"] == 0 and r.get("type") == "io" else r
                for r in out["regions"]
            ],
        }
    if not dropped:
        return out
    return {**out, "regions": [r for r in out["regions"] if r["bar"] not in dropped]}


def _virtio_net_legacy_size(machine: Machine, dev: Device, values: dict[str, Any]) -> int | None:
    """virtio-net's legacy I/O BAR: the common header (24 bytes with MSI-X,
    20 without) and the device config, whose length the features decide
    (``virtio_net_set_config_size``: mac and status, ``mq`` adds
    max_virtqueue_pairs, ``host_mtu`` the mtu), rounded up to a power of 2.
    None where the recorded default stands."""
    if getattr(dev, "backend_typename", lambda: "")() != "virtio-net-device":
        return None
    if values.get("mq") is True or values.get("host_mtu"):
        config_len = 12 if values.get("host_mtu") else 10
    else:
        return None
    header = 20 if _msix_vectors(machine, dev) == 0 else 24
    return 1 << (header + config_len - 1).bit_length()


def check_option_rom(machine: Machine, dev: Device) -> None:
    """``pci_add_option_rom``'s refusal, at the end of ``pci_qdev_realize``:
    a hot-plugged device with ``rombar=0`` cannot have its ROM through
    fw_cfg.  The ROM is the ``romfile`` given, else the type's default
    (recorded as its BAR 6)."""
    values = getattr(dev, "values", None)
    if not isinstance(values, dict) or values.get("rombar") != 0 or not machine.machine_ready:
        return
    romfile = values.get("romfile")
    if romfile is None:
        identity = type_identity(
            machine.recording.pci_table(), dev.typename, machine.config.board.family
        )
        has_rom = identity is not None and any(r["bar"] == _ROM_BAR for r in identity["regions"])
    else:
        has_rom = romfile != ""
    if has_rom:
        raise CoreError(M.PCI_HOTPLUG_ROM_WITHOUT_BAR)


def _msix_vectors(machine: Machine, dev: Device) -> int | None:
    """A virtio proxy's ``vectors``: set by the user, else by the machine
    type's compat properties (None: the type's default, as recorded).

    virtio-pci puts the MSI-X table in BAR 1 (``msix_bar_idx``) and makes
    none with 0 vectors: the only way the property changes query-pci that
    memdevd models.
    """
    values = getattr(dev, "values", None)
    if isinstance(values, dict) and "vectors" in values:
        return int(values["vectors"])
    value = machine.compat.get(f"{dev.typename}.vectors")
    return None if value is None else int(value)


def type_identity(table: JSON, typename: str, family: str) -> JSON | None:
    """A type's recorded entry for the machine family, None if not recorded."""
    per_family = table["types"].get(typename)
    if per_family is None:
        return None
    found = per_family.get("", per_family.get(family))
    if found is None and per_family:
        # Recorded on the other family only (QEMU refused it on this one).
        found = next(iter(per_family.values()))
    return found


def device_info(bus: int, devfn: int, qdev_id: str, rec: JSON) -> dict[str, JSON]:
    """``qmp_query_pci_device``: a ``PciDeviceInfo`` in QAPI member order."""
    class_info: dict[str, JSON] = {}
    if "desc" in rec["class_info"]:
        class_info["desc"] = rec["class_info"]["desc"]
    class_info["class"] = rec["class_info"]["class"]
    ids = rec["id"]
    id_info: dict[str, JSON] = {"device": ids["device"], "vendor": ids["vendor"]}
    if "subsystem" in ids:
        id_info["subsystem"] = ids["subsystem"]
        id_info["subsystem-vendor"] = ids["subsystem-vendor"]
    info: dict[str, JSON] = {
        "bus": bus,
        "slot": (devfn >> 3) & 0x1F,
        "function": devfn & 7,
        "class_info": class_info,
        "id": id_info,
    }
    if rec["irq_pin"]:
        # PCI_INTERRUPT_LINE: written by the firmware, 0 until then.
        info["irq"] = rec.get("irq", 0)
    info["irq_pin"] = rec["irq_pin"]
    info["qdev_id"] = qdev_id
    if "pci_bridge" in rec:
        info["pci_bridge"] = _bridge_info(rec["pci_bridge"], bus)
    info["regions"] = [_region(r) for r in rec["regions"]]
    return info


def _bridge_info(rec: JSON, bus: int) -> dict[str, JSON]:
    """``qmp_query_pci_bridge`` before the firmware numbered the buses:
    ``PCI_PRIMARY_BUS``/``SECONDARY``/``SUBORDINATE`` are 0, so no devices."""
    r = rec["bus"]
    return {
        "bus": {
            "number": r["number"],
            "secondary": r["secondary"],
            "subordinate": r["subordinate"],
            "io_range": _range(r["io_range"]),
            "memory_range": _range(r["memory_range"]),
            "prefetchable_range": _range(r["prefetchable_range"]),
        }
    }


def _range(r: JSON) -> dict[str, JSON]:
    return {"base": r["base"], "limit": r["limit"]}


def _region(r: JSON) -> dict[str, JSON]:
    """``qmp_query_pci_regions``: prefetch and mem_type_64 for memory BARs only."""
    region: dict[str, JSON] = {
        "bar": r["bar"],
        "type": r["type"],
        "address": r["address"],
        "size": r["size"],
    }
    if r["type"] == "memory":
        region["prefetch"] = r["prefetch"]
        region["mem_type_64"] = r["mem_type_64"]
    return region
