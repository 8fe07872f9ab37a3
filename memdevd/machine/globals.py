"""``-global driver.property=value``: qdev's global properties.

QEMU keeps the user's globals in ``global_props()`` (registered by
``user_register_global_props`` in command-line order) and applies them to
every device when it is created (``device_post_init`` ->
``qdev_prop_set_globals`` -> ``object_apply_global_props``), before the
``-device`` options' own properties: each global whose driver the device's
type is (or descends from) is parsed into the property as a string, and
marked used.  A bad value stops QEMU at start-up ("can't apply global
...") and is only a warning for a hot-plugged device.  Once the machine is
made, ``qdev_prop_check_globals`` warns about the globals nothing used: a
driver that is no device type ("has invalid class name"), or a device
type that cannot be hot-plugged ("not used"; a hot-pluggable type may
still come).

The board's own devices (ICH9-LPC, PIIX4_PM, the PIT, the RTC, the
floppy controller, the flash chips...) are not objects in memdevd's QOM
tree: the globals naming them are checked against the recorded catalog
entry of each type the board creates (:data:`BOARD_DEVICES`), with the
same texts, and count as used.
"""

from __future__ import annotations

from dataclasses import field
from typing import TYPE_CHECKING

from memdevd import messages as M
from memdevd.machine.errors import CoreError
from memdevd.records import record

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine
    from memdevd.machine.qdev import Device


#: The device types the pc and q35 boards create under TCG with
#: ``-nodefaults`` (walked from /machine of QEMU 7.2 and 10.0: the same set),
#: plus the flash chips pc_system_flash_create makes and unparents when no
#: -drive if=pflash fills them.  The vCPUs are added from -cpu.
BOARD_DEVICES: dict[str, tuple[str, ...]] = {
    "pc": (
        "i440FX-pcihost",
        "i440FX",
        "PIIX3",
        "ioapic",
        "isa-i8259",
        "mc146818rtc",
        "hpet",
        "isa-pit",
        "isa-pcspk",
        "i8042",
        "ps2-kbd",
        "ps2-mouse",
        "vmport",
        "vmmouse",
        "port92",
        "i8257",
        "isa-fdc",
        "piix3-ide",
        "PIIX4_PM",
        "smbus-eeprom",
        "fw_cfg_io",
        "apic",
        "kvmvapic",
        "cfi.pflash01",
    ),
    "q35": (
        "q35-pcihost",
        "mch",
        "ioapic",
        "ICH9-LPC",
        "mc146818rtc",
        "i8257",
        "isa-i8259",
        "isa-pit",
        "isa-pcspk",
        "i8042",
        "ps2-kbd",
        "ps2-mouse",
        "vmport",
        "vmmouse",
        "hpet",
        "port92",
        "ich9-ahci",
        "ICH9-SMB",
        "smbus-eeprom",
        "fw_cfg_io",
        "apic",
        "kvmvapic",
        "cfi.pflash01",
    ),
}

#: What KVM's in-kernel irqchip puts in their place (kvm_pit_init...).
_KVM_VARIANTS = {
    "isa-pit": "kvm-pit",
    "isa-i8259": "kvm-i8259",
    "ioapic": "kvm-ioapic",
    "apic": "kvm-apic",
}


@record
class GlobalProperty:
    """One ``-global``: GlobalProperty of hw/core/qdev-properties.c."""

    driver: str
    property: str
    value: str
    used: bool = False


@record
class GlobalProps:
    """The user's globals, in command-line order."""

    props: list[GlobalProperty] = field(default_factory=list)

    def add(self, driver: str, prop: str, value: str) -> None:
        self.props.append(GlobalProperty(driver, prop, value))

    def apply(self, dev: Device, hot: bool) -> None:
        """``qdev_prop_set_globals(dev)``: raises CoreError for a cold-plugged
        device (QEMU's ``&error_fatal``), warns for a hot-plugged one."""
        for p in self.props:
            if not dev.is_a(p.driver):
                continue
            p.used = True
            try:
                _property_parse(dev, p.property, p.value)
            except CoreError as exc:
                text = M.GLOBAL_CANT_APPLY.format(p.driver, p.property, p.value, exc.desc)
                if not hot:
                    raise CoreError(text, hint=exc.hint) from None
                if dev.machine.warn_hook is not None:
                    dev.machine.warn_hook(M.WARNING_IN_MONITOR.format(text))

    def apply_board(self, machine: Machine, types: list[str]) -> None:
        """The board creates its devices: each global naming one of them is
        checked against the type's recorded properties and used."""
        if not self.props:
            return
        from memdevd.machine.devices.generic import _parse as parse_catalog_value
        from memdevd.qapi.visitor import InputVisitor, VisitError

        rec = machine.recording
        for typename in types:
            for p in self.props:
                if not rec.type_is_a(typename, p.driver):
                    continue
                p.used = True
                info = rec.device_type(typename)
                if info is None:
                    continue
                found = next((i for i in info.properties if i.name == p.property), None)
                try:
                    if found is None:
                        raise CoreError(M.PROPERTY_NOT_FOUND.format(typename, p.property))
                    parse_catalog_value(found, InputVisitor(p.value, string=True), p.property)
                except (CoreError, VisitError) as exc:
                    raise CoreError(
                        M.GLOBAL_CANT_APPLY.format(p.driver, p.property, p.value, exc.desc),
                        hint=exc.hint,
                    ) from None

    def check(self, machine: Machine) -> list[str]:
        """``qdev_prop_check_globals``: the warnings for globals nothing used."""
        out: list[str] = []
        rec = machine.recording
        for p in self.props:
            if p.used:
                continue
            if not rec.type_is_a(p.driver, "device"):
                out.append(M.GLOBAL_INVALID_CLASS.format(p.driver, p.property))
                continue
            info = rec.device_type(p.driver)
            if info is not None and not getattr(info, "hotpluggable", True):
                out.append(M.GLOBAL_NOT_USED.format(p.driver, p.property, p.value))
        return out


def _property_parse(dev: Device, name: str, value: str) -> None:
    """``object_property_parse``: the value through a string input visitor."""
    from memdevd.qapi.visitor import InputVisitor, VisitError

    prop = dev.find_prop(name)
    if prop is None:
        raise CoreError(M.PROPERTY_NOT_FOUND.format(dev.typename, name))
    if prop.set is None:
        raise CoreError(M.PROPERTY_NOT_WRITABLE.format(dev.typename, name))
    legacy = not dev.machine.release.strtosz_2023
    try:
        prop.set(dev, InputVisitor(value, string=True, legacy_sizes=legacy), name)
    except VisitError as exc:
        raise CoreError(exc.desc, hint=exc.hint) from None


def board_device_types(machine: Machine) -> list[str]:
    """The device types ``machine``'s board creates, in creation order."""
    board = machine.config.board
    base = BOARD_DEVICES.get(board.family)
    if base is None:
        return []
    types = list(base)
    if not machine.config.board_options.get("hpet", True):
        types.remove("hpet")
    if machine.kvm_enabled:
        types = [_KVM_VARIANTS.get(t, t) for t in types]
        types.append("kvmclock")
    if machine.config.cpu_model is not None:
        types.append(board.cpu_type(machine.config.cpu_model))
    return types
