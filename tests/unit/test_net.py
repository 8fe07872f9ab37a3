"""Networking: netdevs, NICs and their link (memdevd/machine/net, devices/nic.py).

The texts and answers asserted here are those real QEMU 7.2 and 10.0 give
for the same command lines and commands (tests/conformance/scenarios/net_*
replays them against both live).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from typing import Any

import pytest

from memdevd.app import cli
from memdevd.app.startup import build_machine
from memdevd.machine.clock import VirtualClock
from memdevd.machine.errors import CoreError
from memdevd.machine.machine import Machine
from memdevd.machine.net import host
from memdevd.machine.net.clients import parse_macaddr
from memdevd.releases.table import get_release
from memdevd.util.qemu_opts import OptionError, format_diagnostic, format_error
from tests.unit.conftest import device_add, device_add_error, make_machine, unplug

VERSIONS = ("7.2", "10.0")
PROG = "qemu-system-x86_64"
BASE = ["-nodefaults", "-display", "none", "-S"]


def start(version: str, *argv: str) -> tuple[Machine, list[str]]:
    """The machine ``qemu-system-x86_64 -S ARGV`` makes, and what it printed."""
    parsed = cli.parse(["-memdevd", f"version={version}", *BASE, *argv], PROG)
    machine, notes = build_machine(
        parsed.request, get_release(version), parsed.settings, clock=VirtualClock()
    )
    machine.runstate = "prelaunch"
    return machine, [format_diagnostic(PROG, n).rstrip("\n") for n in notes]


def start_error(version: str, *argv: str) -> str:
    """What ``qemu-system-x86_64 ARGV`` prints before it exits with status 1."""
    with pytest.raises(OptionError) as info:
        start(version, *argv)
    assert info.value.exit_status == 1
    return format_error(PROG, info.value).splitlines()[-1]


def info_network(m: Machine) -> list[str]:
    return m.net.info_network().splitlines()


def qmp_error(fn: Any, *args: Any) -> str:
    with pytest.raises(CoreError) as info:
        fn(*args)
    return info.value.desc


# --- NICs and their netdevs ---------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_nics_link_to_their_netdev_and_take_default_macs(version: str) -> None:
    m, printed = start(
        version,
        "-machine", "q35",
        "-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0,id=nic0",
        "-device", "e1000,id=lone", "-device", "rtl8139,mac=52-54-00-AA-BB-CC",
    )  # fmt: skip
    assert m.qom_get("/machine/peripheral/nic0", "mac") == "52:54:00:12:34:56"
    assert m.qom_get("/machine/peripheral/nic0", "netdev") == "n0"
    assert m.qom_get("/machine/peripheral/lone", "mac") == "52:54:00:12:34:57"
    assert m.qom_get("/machine/peripheral/lone", "netdev") == ""
    assert info_network(m) == [
        "nic0: index=0,type=nic,model=virtio-net-pci,macaddr=52:54:00:12:34:56",
        " \\ n0: index=0,type=user,net=10.0.2.0,restrict=off",
        "lone: index=0,type=nic,model=e1000,macaddr=52:54:00:12:34:57",
        "rtl8139.0: index=0,type=nic,model=rtl8139,macaddr=52:54:00:aa:bb:cc",
    ]
    # net_check_clients() once the machine exists (memdevd, like QEMU with
    # -nodefaults, has no default NIC)
    assert printed == [
        f"{PROG}: warning: nic lone has no peer",
        f"{PROG}: warning: nic rtl8139.0 has no peer",
    ]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_netdev_serves_one_nic(version: str) -> None:
    m, _ = start(version, "-netdev", "user,id=n0", "-device", "e1000,netdev=n0,id=a")
    before = info_network(m)
    assert device_add_error(m, driver="rtl8139", netdev="n0", id="b").desc == (
        "Property 'rtl8139.netdev' can't take value 'n0', it's in use"
    )
    assert device_add_error(m, driver="virtio-net-pci", netdev="nope", id="b").desc == (
        "Property 'virtio-net-device.netdev' can't find value 'nope'"
    )
    # Nothing was made, not even a MAC address: the next NIC takes :57.
    assert info_network(m) == before
    device_add(m, driver="rtl8139", id="b")
    assert m.qom_get("/machine/peripheral/b", "mac") == "52:54:00:12:34:57"


@pytest.mark.parametrize("version", VERSIONS)
def test_unplugged_nic_frees_its_netdev_and_mac(version: str) -> None:
    m = make_machine(version, "pc", guest="cooperative")
    m.net.netdev_add({"type": "user", "id": "n0"})
    device_add(m, driver="e1000", netdev="n0", id="a")
    unplug(m, "a")
    assert "a" not in m.peripheral.children
    assert info_network(m) == ["n0: index=0,type=user,net=10.0.2.0,restrict=off"]
    device_add(m, driver="virtio-net-pci", netdev="n0", id="b")
    # qemu_macaddr_set_free(): the first default address is free again
    assert m.qom_get("/machine/peripheral/b", "mac") == "52:54:00:12:34:56"


@pytest.mark.parametrize("version", VERSIONS)
def test_netdev_del_of_a_used_backend(version: str) -> None:
    m = make_machine(version, "pc", guest="cooperative")
    m.net.netdev_add({"type": "user", "id": "n0"})
    device_add(m, driver="virtio-net-pci", netdev="n0", id="a")
    m.net.netdev_del("n0")
    # The NIC keeps its (deleted) peer, its link goes down; the id is free.
    assert info_network(m) == [
        "a: index=0,type=nic,model=virtio-net-pci,macaddr=52:54:00:12:34:56",
        " \\ n0: index=0,type=user,net=10.0.2.0,restrict=off",
    ]
    assert m.qom_get("/machine/peripheral/a", "netdev") == "n0"
    assert qmp_error(m.net.netdev_del, "n0") == "Device 'n0' not found"
    m.net.netdev_add({"type": "user", "id": "n0"})
    assert qmp_error(m.net.netdev_add, {"type": "user", "id": "n0"}) == "Duplicate ID 'n0'"
    unplug(m, "a")
    assert info_network(m) == ["n0: index=0,type=user,net=10.0.2.0,restrict=off"]


@pytest.mark.parametrize("version", VERSIONS)
def test_query_rx_filter_and_set_link(version: str) -> None:
    m, _ = start(
        version,
        "-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0,id=v",
        "-device", "e1000,id=e",
    )  # fmt: skip
    (only,) = m.net.query_rx_filter(None)
    assert only["name"] == "v" and only["main-mac"] == "52:54:00:12:34:56"
    assert (only["promiscuous"], only["vlan"], only["unicast"]) == (True, "all", "normal")
    # VIRTIO_NET_F_CTRL_VLAN not negotiated: every VLAN, highest first
    assert only["vlan-table"][:2] == [4095, 4094] and len(only["vlan-table"]) == 4096
    assert qmp_error(m.net.query_rx_filter, "e") == (
        "net client(e) doesn't support rx-filter querying"
    )
    assert qmp_error(m.net.query_rx_filter, "n0") == "net client(n0) isn't a NIC"
    assert qmp_error(m.net.query_rx_filter, "nope") == "invalid net client name: nope"
    assert qmp_error(m.net.set_link, "nope", False) == "Device 'nope' not found"
    # qmp_set_link(): a NIC's link alone; a backend's, and its NIC peer's
    nic = m.net.find_clients_except("v", None)[0]
    assert nic.peer is not None
    m.net.set_link("v", False)
    assert (nic.link_down, nic.peer.link_down) == (True, False)
    m.net.set_link("v", True)
    m.net.set_link("n0", False)
    assert (nic.link_down, nic.peer.link_down) == (True, True)


# --- netdevs ---------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_netdev_add_errors_change_nothing(version: str) -> None:
    m = make_machine(version, "pc")
    m.net.netdev_add({"type": "user", "id": "n0"})
    before = info_network(m)
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        cases = [
            ({"type": "user", "id": "n0"}, "Duplicate ID 'n0'"),
            ({"type": "user", "id": "1x"}, "Parameter 'id' expects an identifier"),
            (
                {"type": "socket", "id": "s"},
                "exactly one of listen=, connect=, mcast= or udp= is required",
            ),
            (
                {"type": "tap", "id": "t", "fd": "fdname"},
                "File descriptor named 'fdname' has not been found",
            ),
            (
                {"type": "tap", "id": "t", "fd": "99"},
                "t: Can't use file descriptor 99: Bad file descriptor",
            ),
        ]
        for netdev, text in cases:
            assert qmp_error(m.net.netdev_add, netdev) == text, netdev
            assert info_network(m) == before
        # a host port in use: hostfwd binds it as QEMU does
        rule = f"tcp:127.0.0.1:{port}-:22"
        text = qmp_error(m.net.netdev_add, {"type": "user", "id": "u", "hostfwd": [{"str": rule}]})
        assert text == f"Could not set up host forwarding rule '{rule}'"
        assert info_network(m) == before
    finally:
        busy.close()


@pytest.mark.parametrize("version", VERSIONS)
def test_tap_fd_that_is_not_a_tap(version: str) -> None:
    read_end, write_end = os.pipe()
    try:
        host.adopt_fd(read_end)
        m = make_machine(version, "pc")
        text = qmp_error(m.net.netdev_add, {"type": "tap", "id": "t", "fd": str(read_end)})
        assert text == f"Unable to query TUNGETIFF on FD {read_end}: Inappropriate ioctl for device"
        assert info_network(m) == []
    finally:
        os.close(write_end)
        # QEMU closes a passed descriptor it failed to use: so did memdevd
        with contextlib.suppress(OSError):
            os.close(read_end)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("argv", "text"),
    [
        (["-netdev", "tap,id=t0,fd=99"], "t0: Can't use file descriptor 99: Bad file descriptor"),
        (["-netdev", "user,id=n0", "-netdev", "user,id=n0"], "Duplicate ID 'n0' for netdev"),
        (["-netdev", "user"], "Parameter 'id' is missing"),
        (["-netdev", "nosuch,id=n0"], "Parameter 'type' does not accept value 'nosuch'"),
        (
            ["-netdev", "netmap,id=n0,ifname=x"],
            "network backend 'netmap' is not compiled into this binary",
        ),
        (
            ["-netdev", "user,id=n0,hostfwd=tcp::abc-:22"],
            "Invalid host forwarding rule 'tcp::abc-:22' (Bad host port)",
        ),
        (
            ["-netdev", "user,id=n0,guestfwd=tcp:10.0.2.100:x-cmd:true"],
            "Invalid guest forwarding rule 'tcp:10.0.2.100:x-cmd:true'",
        ),
        (
            ["-netdev", "bridge,id=b0,br=br9,helper=/nonexistent/helper"],
            "bridge helper failed",
        ),
        (["-netdev", "vhost-user,id=v0,chardev=nosuch"], 'chardev "nosuch" not found'),
        (["-nic", "user,mac=01:00:00:00:00:01"], "NIC cannot have multicast MAC address"),
        (["-nic", "user,mac=zz"], "invalid syntax for ethernet address"),
        (
            ["-net", "hubport,hubid=0"],
            "network backend 'hubport' is only supported with -netdev/-nic",
        ),
        (["-device", "e1000,netdev=nope"], "Property 'e1000.netdev' can't find value 'nope'"),
        (
            ["-netdev", "user,id=n0", "-device", "e1000,netdev=n0", "-device", "e1000,netdev=n0"],
            "Property 'e1000.netdev' can't take value 'n0', it's in use",
        ),
    ],
)
def test_command_line_errors(version: str, argv: list[str], text: str) -> None:
    assert start_error(version, *argv).endswith(f": {text}")


@pytest.mark.parametrize("version", VERSIONS)
def test_nic_and_legacy_net_options(version: str) -> None:
    m, printed = start(
        version, "-machine", "q35",
        "-nic", "user,model=virtio-net-pci,mac=52:54:00:00:00:01", "-nic", "user,id=u1",
    )  # fmt: skip
    lines = info_network(m)
    assert (
        lines[0]
        == "virtio-net-pci.0: index=0,type=nic,model=virtio-net-pci,macaddr=52:54:00:00:00:01"
    )
    assert lines[1].startswith(" \\ #net") and lines[1].endswith(
        "type=user,net=10.0.2.0,restrict=off"
    )
    # q35's default NIC model, the first default MAC
    assert lines[2:] == [
        "e1000e.0: index=0,type=nic,model=e1000e,macaddr=52:54:00:12:34:56",
        " \\ u1: index=0,type=user,net=10.0.2.0,restrict=off",
    ]
    assert printed == []
    # -net: a hub (port numbers in the order the options were given, the
    # newest port first) and generated ids
    m, printed = start(version, "-machine", "pc", "-net", "nic", "-net", "user")
    hub, user, nic = info_network(m)
    assert hub == "hub 0"
    assert user.startswith(" \\ hub0port1: #net")
    assert user.endswith(": index=0,type=user,net=10.0.2.0,restrict=off")
    assert nic == " \\ hub0port0: e1000.0: index=0,type=nic,model=e1000,macaddr=52:54:00:12:34:56"
    assert printed == []
    _, printed = start(version, "-machine", "pc", "-net", "user")
    assert printed == [f"{PROG}: warning: hub 0 with no nics"]
    assert qmp_error(m.net.netdev_del, "hub0port0") == "Device 'hub0port0' is not a netdev"


def test_mac_syntax_as_net_parse_macaddr() -> None:
    assert parse_macaddr("52:54:00:12:34:56") == (0x52, 0x54, 0, 0x12, 0x34, 0x56)
    assert parse_macaddr("52-54-00-12-34-56") == (0x52, 0x54, 0, 0x12, 0x34, 0x56)
    # a number is an offset in 00:00:00:XX:XX:XX
    assert parse_macaddr("0x123456") == (0, 0, 0, 0x12, 0x34, 0x56)
    assert parse_macaddr("zz") is None
    assert parse_macaddr("52:54:00:12:34") is None


def test_snapshots_and_reset_keep_the_network() -> None:
    """x-memdevd-snapshot copies the network (the daemon's loop is a hook,
    not state); x-memdevd-reset lets go of the host ports before it
    rebuilds, so a fixed hostfwd port binds again."""
    from memdevd.commands import testctl
    from memdevd.machine import snapshot

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv = [
        "-memdevd", "version=10.0", *BASE,
        "-netdev", f"user,id=u0,hostfwd=tcp:127.0.0.1:{port}-:22", "-device", "e1000,netdev=u0",
    ]  # fmt: skip
    daemon, _ = cli.build_daemon(cli.parse(argv, PROG), PROG)
    m = daemon.machine
    loop = asyncio.new_event_loop()
    try:
        m.drive_io(loop)  # the daemon's loop: a hook, never copied
        snap = snapshot.take(m)
        m.net.netdev_add({"type": "user", "id": "u1"})
        snapshot.restore(m, snap)
        assert [line.split(":")[0] for line in info_network(m)] == ["e1000.0", " \\ u0"]
        testctl.reset(daemon.runtime, None, {})  # type: ignore[arg-type]
        assert [line.split(":")[0] for line in info_network(m)] == ["e1000.0", " \\ u0"]
    finally:
        m.drive_io(None)
        m.net.close_host()
        loop.close()


# --- passt (11.1) ------------------------------------------------------------------------


def test_passt_is_listed_and_its_program_looked_for_in_11_1(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """11.1 lists passt after tap (show_netdevs) and starts its program:
    one it cannot run is GLib's spawn error, one it could run memdevd
    refuses by name; 7.2 and 10.0 neither list nor know the type."""
    from memdevd.app.netstart import netdev_types

    types = netdev_types(None, get_release("11.1")).splitlines()  # type: ignore[arg-type]
    assert types[5:8] == ["tap", "passt", "user"]
    assert "passt" not in netdev_types(None, get_release("10.0"))  # type: ignore[arg-type]
    monkeypatch.setenv("PATH", str(tmp_path))
    spawn = "Error creating daemon: Failed to execute child process \u201c{}\u201d ({})"
    assert start_error("11.1", "-netdev", "passt,id=p0").endswith(
        spawn.format("passt", "No such file or directory")
    )
    program = tmp_path / "passt"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o644)
    if os.geteuid() != 0 or not os.access(program, os.X_OK):
        assert start_error("11.1", "-netdev", "passt,id=p0").endswith(
            spawn.format("passt", "Permission denied")
        )
    program.chmod(0o755)
    assert start_error("11.1", "-nic", "passt").endswith(
        "memdevd: -netdev passt is not emulated (memdevd runs no passt daemon)"
    )
    assert "'passt'" in start_error("10.0", "-netdev", "passt,id=p0")
