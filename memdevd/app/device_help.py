"""``-device help`` and ``-device TYPE,help``, from the recorded device catalog.

QEMU answers both before it creates a machine (vl.c
``qemu_process_help_options()`` -> qdev-monitor.c ``qdev_device_help()``,
for the first ``-device`` in QemuOpts syntax that asks for help): the list
of user-creatable device types, or one type's properties as
``device-list-properties`` reports them, each line formatted by
qom/object_interfaces.c ``object_property_help()`` and the lines sorted
with ``strcmp``.  memdevd prints the list as the release printed it
(devices.json holds the text) and derives a type's properties from the
catalog; tests/conformance/test_device_help_live.py compares both with
the real binaries for every device type.

Not reproduced: what only this path does wrong (no machine exists yet
when it runs).  7.2's ``acpi-ged``/``acpi-ged-x86`` read memory the machine
would have set: most runs die in GLib's allocator, the others list an
``acpi-mem-hotplug[0]`` child ``device-list-properties`` does not have;
10.0's ``acpi-ged`` aborts in ``qdev_get_machine()``.  memdevd prints their
properties as ``device-list-properties`` reports them.
"""

from __future__ import annotations

from collections.abc import Iterable

from memdevd import messages as M
from memdevd.qapi.json_writer import to_json
from memdevd.releases.recorded import DevicePropertyInfo, DeviceTypeInfo, recording
from memdevd.releases.table import Release
from memdevd.util.qemu_opts import OptionError, QemuOpts, is_help_option


def device_help(release: Release, target: str, opts: QemuOpts) -> str | None:
    """``qdev_device_help()`` for one ``-device``: what it prints on stdout,
    or None when the option asks for no help.

    A type QEMU cannot list raises :class:`OptionError` with QEMU's text,
    without location (the caller knows the option); its exit status is
    QEMU's: 0 (qdev_device_help() reports the error and returns 1, which
    vl.c takes as "help printed"), or the status QEMU exited with when
    asked the type's properties.
    """
    driver = opts.get("driver")
    rec = recording(target, release)
    if driver is not None and is_help_option(driver):
        return rec.device_help_text()
    if driver is None or not opts.has_help_opt():
        return None
    # An alias only when no QOM type has the name (object_class_by_name()).
    name = rec.resolve_device_name(driver)
    info = rec.device_type(name)
    if info is None:
        # qmp_device_list_properties(): an unknown type, or one that is
        # abstract or no device.
        if name in rec.type_table:
            text = M.INVALID_PARAMETER_VALUE.format("typename", "a non-abstract device type")
        else:
            text = M.DEVICE_NOT_FOUND.format(name)
        err = OptionError(text)
        err.exit_status = 0
        raise err
    if info.aborts is not None:
        # QEMU exited while making an instance of the type (7.2's
        # virtio-gpu-gl-pci: "missing object type 'virtio-gpu-gl-device'").
        err = OptionError(info.aborts.message)
        err.exit_status = max(info.aborts.exit_status, 1)
        raise err
    return type_help_text(release, info)


def type_help_text(release: Release, info: DeviceTypeInfo) -> str:
    """The properties part of ``qdev_device_help()`` for a listable type."""
    if info.properties:
        head = f"{info.name} options:\n"
    else:
        head = f"There are no options for {info.name}.\n"
    lines = sorted(
        (property_help(release, p) for p in info.properties), key=lambda s: s.encode("utf-8")
    )
    return head + "".join(line + "\n" for line in lines)


def property_help(release: Release, prop: DevicePropertyInfo) -> str:
    """``object_property_help()``: ``  name=<type>``, padded to 24 bytes and
    `` - `` when a description or default follows."""
    text = f"  {prop.name}=<{prop.type}>"
    if prop.description is not None or prop.has_default:
        # GString lengths are bytes.
        width = len(text.encode("utf-8"))
        if width < 24:
            text += " " * (24 - width)
        text += " - "
    if prop.description is not None:
        text += prop.description
    if prop.has_default:
        text += f" (default: {_default_text(release, prop.default_value)})"
    return text


def _default_text(release: Release, value: object) -> str:
    """A default value as the release's help shows it: JSON
    (qobject_to_json()), or from 10.0 a string bare and a bool on/off."""
    if release.help_defaults_as_cmdline:
        if isinstance(value, bool):
            return "on" if value else "off"
        if isinstance(value, str):
            return value
    return to_json(value)


def device_list_text(
    categories: Iterable[str], types: Iterable[DeviceTypeInfo], show_no_user: bool
) -> str:
    """``qdev_print_devinfos()``: the device types by category heading, in
    QEMU's category order, each sorted by name with ``strcasecmp``.

    ``show_no_user`` false is ``-device help``, true is HMP's ``info qdm``.
    memdevd prints ``-device help`` as recorded; this derives it from the
    catalog's fields (tests check that both agree).
    """
    shown = sorted(
        (t for t in types if show_no_user or t.user_creatable),
        key=lambda t: t.name.encode("utf-8").lower(),
    )
    out: list[str] = []
    for i, category in enumerate(categories):
        members = [t for t in shown if category in t.categories]
        if not members:
            continue
        # A blank line before every heading but the first category's.
        gap = "\n" if i else ""
        out.append(f"{gap}{category} devices:\n")
        out += [_devinfo(t) + "\n" for t in members]
    return "".join(out)


def _devinfo(info: DeviceTypeInfo) -> str:
    """``qdev_print_devinfo()``: one line of the list."""
    line = f'name "{info.name}"'
    if info.bus is not None:
        line += f", bus {info.bus}"
    if info.alias is not None:
        line += f', alias "{info.alias}"'
    if info.description is not None:
        line += f', desc "{info.description}"'
    if not info.user_creatable:
        line += ", no-user"
    return line
