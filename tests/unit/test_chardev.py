"""Chardev core: GLib's hash order of /chardevs, the ring buffer, base64,
front-end claims (QEMU's texts), checked without a daemon."""

from __future__ import annotations

import pytest

from memdevd.machine.chardev.ghash import GHashOrder
from memdevd.machine.chardev.ops import base64_decode
from memdevd.machine.errors import CoreError

# Labels added by chardev-add after -qmp's compat_monitor0, and the order
# query-chardev answered with on QEMU 7.2 and 10.0 (recorded live).
ADDED = [
    "compat_monitor0",
    "n1",
    "f1",
    "p1",
    "r1",
    "m1",
    "s1",
    "s3",
    "s4",
    "s5",
    "s6",
    "u1",
    "st",
    "vc1",
    "ms",
    "wt",
    "td",
    "sv",
    "mx",
    "vd",
    "py",
]
QEMU_ORDER = [
    "s5",
    "u1",
    "r1",
    "vd",
    "ms",
    "s4",
    "s1",
    "s6",
    "mx",
    "p1",
    "td",
    "st",
    "f1",
    "m1",
    "s3",
    "vc1",
    "compat_monitor0",
    "wt",
    "py",
    "sv",
    "n1",
]


def test_query_chardev_order_is_glib_hash_order() -> None:
    table = GHashOrder()
    for label in ADDED:
        table.insert(label)
    assert list(reversed(table.order())) == QEMU_ORDER


def test_hash_order_after_removal_keeps_the_others() -> None:
    table = GHashOrder()
    for label in ADDED:
        table.insert(label)
    table.remove("n1")
    assert list(reversed(table.order())) == [x for x in QEMU_ORDER if x != "n1"]


def test_base64_as_glib_decodes() -> None:
    assert base64_decode("aGVsbG8=") == b"hello"
    assert base64_decode("aGk") == b""  # an incomplete group is dropped
    with pytest.raises(CoreError, match="Base64 data contains invalid characters"):
        base64_decode("!!!")


def _machine(version: str = "10.0"):  # type: ignore[no-untyped-def]
    from memdevd.app.settings import MemdevdSettings
    from memdevd.app.startup import StartupRequest, build_machine
    from memdevd.releases.table import get_release

    request = StartupRequest()
    request.machine = {"type": "pc"}
    machine, _ = build_machine(request, get_release(version), MemdevdSettings(version=version))
    return machine


@pytest.mark.parametrize(
    ("version", "text"),
    [("7.2", "Device 'n' is in use"), ("10.0", "chardev 'n' is already in use")],
)
def test_claim_in_use_and_release(version: str, text: str) -> None:
    from memdevd.machine.chardev import ops

    machine = _machine(version)
    ops.chardev_add(machine, "n", {"type": "null", "data": {}})
    first, second = object(), object()
    machine.chardevs.claim("n", first, "serial", "chardev", machine.release)
    with pytest.raises(CoreError) as err:
        machine.chardevs.claim("n", second, "serial", "chardev", machine.release)
    assert err.value.desc == "Property 'serial.chardev' can't take value 'n': " + text
    with pytest.raises(CoreError, match="Chardev 'n' is busy"):
        ops.chardev_remove(machine, "n")
    machine.chardevs.release_owner(first)
    ops.chardev_remove(machine, "n")
    assert "n" not in machine.chardevs.children


def test_ringbuf_wraps_and_keeps_the_newest_bytes() -> None:
    from memdevd.machine.chardev import ops

    machine = _machine()
    ops.chardev_add(machine, "r", {"type": "ringbuf", "data": {"size": 8}})
    ops.ringbuf_write(machine, "r", "0123456789abc", None)
    assert ops.ringbuf_read(machine, "r", 100, None) == "56789abc"
    assert ops.ringbuf_read(machine, "r", 100, None) == ""
