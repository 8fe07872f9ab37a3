"""Chardev core: GLib's hash order of /chardevs, the ring buffer, base64,
front-end claims (QEMU's texts), checked without a daemon."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from memdevd.machine.chardev.ops import base64_decode
from memdevd.machine.errors import CoreError
from memdevd.machine.ghash import GHashOrder

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


def test_snapshot_and_reset_keep_socket_chardevs_working(tmp_path: Path) -> None:
    """x-memdevd-snapshot/-restore share a chardev's sockets; x-memdevd-reset
    listens again on the start-up address (the live socket is let go first)."""
    import socket

    from memdevd.app import cli

    path = str(tmp_path / "s.sock")
    argv = ["-machine", "pc", "-chardev", f"socket,id=s,path={path},server=on,wait=off"]
    argv += ["-chardev", "ringbuf,id=r"]
    daemon, _ = cli.build_daemon(cli.parse(argv, "q"), "q", handle_signals=False)

    def run(name: str, args: dict[str, Any] | None = None) -> Any:
        cmd = daemon.registry.get(name)
        assert cmd is not None
        return cmd.handler(None, args or {})  # type: ignore[arg-type]

    run("x-memdevd-snapshot")
    run("ringbuf-write", {"device": "r", "data": "abc"})
    run("chardev-add", {"id": "n", "backend": {"type": "null", "data": {}}})
    run("x-memdevd-restore")
    # (without -nodefaults: the default ports and monitor, on vc chardevs)
    defaults = ["compat_monitor0", "parallel0", "serial0"]
    assert sorted(c["label"] for c in run("query-chardev")) == sorted(["r", "s", *defaults])
    assert run("ringbuf-read", {"device": "r", "size": 10}) == ""
    run("x-memdevd-reset")
    assert sorted(c["label"] for c in run("query-chardev")) == sorted(["r", "s", *defaults])
    client = socket.socket(socket.AF_UNIX)
    client.connect(path)
    try:
        assert run("qom-get", {"path": "/chardevs/s", "property": "connected"}) is True
        info = {c["label"]: c["filename"] for c in run("query-chardev")}
        assert info["s"] == f"unix:{path},server=on"
    finally:
        client.close()


def _cli_error(version: str, *argv: str) -> str:
    """What ``qemu-system-x86_64 -S ARGV`` prints before it exits with status 1."""
    from memdevd.app import cli
    from memdevd.app.startup import build_machine
    from memdevd.machine.clock import VirtualClock
    from memdevd.releases.table import get_release
    from memdevd.util.qemu_opts import OptionError, format_error

    prog = "qemu-system-x86_64"
    base = ["-memdevd", f"version={version}", "-nodefaults", "-display", "none", "-S"]
    with pytest.raises(OptionError) as info:
        parsed = cli.parse([*base, *argv], prog)
        build_machine(parsed.request, get_release(version), parsed.settings, clock=VirtualClock())
    return format_error(prog, info.value).splitlines()[-1].rpartition(": ")[2]


def test_encoding_only_on_vc_in_11_1() -> None:
    """11.1's -chardev encoding=: refused on a kind that does not take it
    (before the backend's own parse: a socket without an address), checked
    as ChardevVCEncoding on vc; 10.0 has no such key."""
    no = "chardev 'c0' does not support encoding option"
    assert _cli_error("11.1", "-chardev", "socket,id=c0,encoding=utf8") == no
    assert _cli_error("11.1", "-chardev", "null,id=c0,encoding=utf8,mux=on") == no
    assert _cli_error("11.1", "-chardev", "vc,id=c0,encoding=bogus") == "bogus"
    assert _cli_error("11.1", "-chardev", "bogus,id=c0,encoding=x") == (
        "'bogus' is not a valid char driver name"
    )
    assert _cli_error("10.0", "-chardev", "vc,id=c0,encoding=utf8") == (
        "Invalid parameter 'encoding'"
    )
