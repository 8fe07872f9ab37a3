"""Random command sequences over the whole VM: a failing command changes nothing.

test_fuzz.py checks memory in depth; this suite checks the rest of the VM
(block graph, catalog devices, inert objects, ...) with a state that grows
with memdevd itself: every argument-less ``query-*`` command the daemon
serves, plus every QOM object's path and type and the properties of what a
client created.  A new query is covered the day it is registered; a new
command joins by adding a strategy to ``COMMANDS``.

Bounded for CI; ``MEMDEVD_FUZZ_EXAMPLES=N`` raises the example count for a
long run by hand (docs/robustness.md).
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memdevd.app import cli
from memdevd.qmp.errors import QMPError

EXAMPLES = int(os.environ.get("MEMDEVD_FUZZ_EXAMPLES", "0"))
MiB = 1 << 20

# Listings of static data: large, never changed by a command.
STATIC_QUERIES = {
    "query-qmp-schema",
    "query-commands",
    "query-command-line-options",
    "query-cpu-definitions",
    "query-machines",
    "query-version",
    "query-target",
    "query-kvm",
}


class VM:
    """A daemon's machine driven in process, with a snapshot of what clients see."""

    def __init__(self, version: str, image_dir: Path) -> None:
        argv = [
            "-memdevd",
            f"version={version},clock=virtual",
            "-machine",
            "q35",
            "-m",
            "1G,slots=2,maxmem=4G",
            "-device",
            "pcie-root-port,id=rp0,chassis=1",
            "-device",
            "pcie-root-port,id=rp1,chassis=2",
            # Removable media: an empty CD-ROM on the board's AHCI.
            "-device",
            "ide-cd,id=cd0,bus=ide.1",
            "-vnc",
            "none",
        ]
        daemon, _ = cli.build_daemon(cli.parse(argv, "qemu-system-x86_64"), "qemu-system-x86_64")
        self.machine = daemon.machine
        self.reg = daemon.registry
        self.queries = sorted(
            c.name
            for c in self.reg
            if c.name.startswith("query-")
            and c.name not in STATIC_QUERIES
            and "error" not in self.run(c.name, {})
        )
        self.image_dir = image_dir

    def run(self, name: str, args: Any) -> dict[str, Any]:
        cmd = self.reg.get(name)
        if cmd is None:
            return {"error": {"class": "CommandNotFound"}}
        try:
            ret = cmd.handler(None, args)  # type: ignore[arg-type]
            if inspect.isawaitable(ret):
                import asyncio

                ret = asyncio.new_event_loop().run_until_complete(ret)
        except QMPError as err:
            reply = err.to_wire()
            assert "memdevd internal error" not in reply["error"]["desc"], reply
            return reply
        return {"return": ret}

    def visible(self) -> Any:
        answers = {name: self.run(name, {}) for name in self.queries}
        # the network as HMP shows it: clients, peers, links
        answers["info network"] = self.run(
            "human-monitor-command", {"command-line": "info network"}
        )
        net = self.machine._net
        answers["links"] = [] if net is None else [(c.name, c.link_down) for c in net.clients]
        tree = []
        for obj in self.machine.root.walk():
            path = obj.canonical_path()
            entry: tuple[Any, ...] = (path, obj.typename)
            if path.startswith(("/machine/peripheral/", "/objects/")):
                values = []
                for prop in obj.properties():
                    if prop.get is None or prop.type.startswith(("child<", "link<")):
                        continue
                    try:
                        values.append((prop.name, repr(obj.prop_get(prop.name))))
                    except Exception as exc:  # a getter's QEMU error is a value too
                        values.append((prop.name, type(exc).__name__))
                entry += (tuple(values),)
            tree.append(entry)
        return answers, tree


ids = st.sampled_from(["a", "b", "disk0", "rng0", "io0", "", "rp0", "1x"])
node_names = st.sampled_from(["n0", "n1", "fmt0", "", "#x", "disk0"])


def blockdev_add(image: str) -> Any:
    return st.fixed_dictionaries(
        {
            "driver": st.sampled_from(["file", "raw", "qcow2", "null-co", "nope"]),
            "node-name": node_names,
        },
        optional={
            "filename": st.sampled_from([image, "/nonexistent/x.img", ""]),
            "file": node_names,
            "read-only": st.booleans(),
            "size": st.sampled_from([0, MiB, -1]),
            "cache": st.fixed_dictionaries({}, optional={"direct": st.booleans()}),
        },
    )


netdev_ids = st.sampled_from(["n0", "n1", "a", "", "1x", "hub0port0"])


def netdev_add() -> Any:
    return st.fixed_dictionaries(
        {
            "type": st.sampled_from(["user", "hubport", "socket", "tap", "l2tpv3", "nope"]),
            "id": netdev_ids,
        },
        optional={
            "hubid": st.integers(-1, 2),
            "net": st.sampled_from(["10.0.3.0/24", "10.0.2.0/33", "x"]),
            "hostfwd": st.sampled_from([[{"str": "tcp:127.0.0.1:0-:22"}], [{"str": "tcp::x-:1"}]]),
            "fd": st.sampled_from(["99", "name", "-1"]),
            "ipv6": st.booleans(),
        },
    )


def device_add() -> Any:
    return st.fixed_dictionaries(
        {
            "driver": st.sampled_from(
                [
                    "virtio-blk-pci",
                    "virtio-rng-pci",
                    "virtio-balloon-pci",
                    "pcie-root-port",
                    "VGA",
                    "i6300esb",
                    "virtio-net-pci",
                    "e1000e",
                    "nope",
                ]
            ),
        },
        optional={
            "id": ids,
            "drive": node_names,
            "netdev": netdev_ids,
            "mac": st.sampled_from(["52:54:00:12:34:56", "zz", "52:54:00:00:00:01"]),
            "bus": st.sampled_from(["rp0", "rp1", "pcie.0", "nobus"]),
            "addr": st.sampled_from(["0x5", "0x5.1", "zz", 6]),
            "rng": ids,
            "iothread": ids,
            "chassis": st.integers(-1, 3),
        },
    )


def object_add() -> Any:
    return st.fixed_dictionaries(
        {
            "qom-type": st.sampled_from(
                ["iothread", "rng-random", "rng-builtin", "secret", "memory-backend-ram", "nope"]
            ),
            "id": ids,
        },
        optional={
            "filename": st.sampled_from(["/dev/urandom", "/nonexistent"]),
            "data": st.sampled_from(["s3cr3t", ""]),
            "poll-max-ns": st.integers(-1, 10),
            "size": st.sampled_from([MiB, 0]),
        },
    )


tray_devices = st.sampled_from(["cd0", "vb", "nope", ""])


def removable_media(image: str) -> Any:
    """The tray and medium commands (blockdev-change-medium, eject...)."""
    target = st.fixed_dictionaries({}, optional={"id": tray_devices, "device": tray_devices})
    return st.one_of(
        st.tuples(
            st.sampled_from(
                ["blockdev-open-tray", "blockdev-close-tray", "blockdev-remove-medium"]
            ),
            target,
        ),
        st.tuples(st.just("blockdev-open-tray"), st.fixed_dictionaries({"id": tray_devices})),
        st.tuples(
            st.just("blockdev-insert-medium"),
            st.fixed_dictionaries({"id": tray_devices, "node-name": node_names}),
        ),
        st.tuples(
            st.just("blockdev-change-medium"),
            st.fixed_dictionaries(
                {"filename": st.sampled_from([image, "/nonexistent/x.iso"])},
                optional={
                    "id": tray_devices,
                    "format": st.sampled_from(["raw", "qcow2", "nope"]),
                    "read-only-mode": st.sampled_from(["retain", "read-only", "read-write", "x"]),
                    "force": st.booleans(),
                },
            ),
        ),
        st.tuples(
            st.just("eject"),
            st.fixed_dictionaries(
                {}, optional={"id": tray_devices, "device": tray_devices, "force": st.booleans()}
            ),
        ),
    )


def runtime_settings() -> Any:
    """Display passwords, migration capabilities, actions."""
    protocols = st.sampled_from(["vnc", "spice", "nope"])
    return st.one_of(
        st.tuples(
            st.just("set_password"),
            st.fixed_dictionaries(
                {"protocol": protocols, "password": st.sampled_from(["pw", ""])},
                optional={"connected": st.sampled_from(["keep", "fail", "x"])},
            ),
        ),
        st.tuples(
            st.just("expire_password"),
            st.fixed_dictionaries(
                {"protocol": protocols, "time": st.sampled_from(["now", "never", "+10", "x"])}
            ),
        ),
        st.tuples(
            st.just("change-vnc-password"),
            st.fixed_dictionaries({"password": st.sampled_from(["pw", "", 1])}),
        ),
        st.tuples(
            st.just("migrate-set-capabilities"),
            st.fixed_dictionaries(
                {
                    "capabilities": st.lists(
                        st.fixed_dictionaries(
                            {
                                "capability": st.sampled_from(
                                    ["events", "xbzrle", "postcopy-ram", "nope"]
                                ),
                                "state": st.sampled_from([True, False, "x"]),
                            }
                        ),
                        max_size=2,
                    )
                }
            ),
        ),
        st.tuples(
            st.just("migrate-incoming"),
            st.fixed_dictionaries({}, optional={"uri": st.sampled_from(["tcp:127.0.0.1:0", "x"])}),
        ),
        st.tuples(
            st.just("set-action"),
            st.fixed_dictionaries(
                {},
                optional={
                    "reboot": st.sampled_from(["reset", "shutdown", "x"]),
                    "shutdown": st.sampled_from(["poweroff", "pause"]),
                    "panic": st.sampled_from(["pause", "shutdown", "none", "exit-failure"]),
                    "watchdog": st.sampled_from(["reset", "debug", "x"]),
                },
            ),
        ),
        st.tuples(
            st.just("watchdog-set-action"),
            st.fixed_dictionaries({"action": st.sampled_from(["reset", "pause", "nope"])}),
        ),
        st.tuples(
            st.just("announce-self"),
            st.fixed_dictionaries(
                {},
                optional={"initial": st.integers(-1, 50), "rounds": st.integers(-1, 3)},
            ),
        ),
    )


def commands(image: str) -> Any:
    path = ids.map(lambda i: f"/machine/peripheral/{i}")
    return st.one_of(
        removable_media(image),
        runtime_settings(),
        st.tuples(st.just("blockdev-add"), blockdev_add(image)),
        st.tuples(st.just("blockdev-del"), st.fixed_dictionaries({"node-name": node_names})),
        st.tuples(st.just("device_add"), device_add()),
        st.tuples(st.just("device_del"), st.fixed_dictionaries({"id": ids})),
        st.tuples(st.just("object-add"), object_add()),
        st.tuples(st.just("netdev_add"), netdev_add()),
        st.tuples(st.just("netdev_del"), st.fixed_dictionaries({"id": netdev_ids})),
        st.tuples(
            st.just("set_link"),
            st.fixed_dictionaries({"name": netdev_ids | ids, "up": st.booleans()}),
        ),
        st.tuples(st.just("object-del"), st.fixed_dictionaries({"id": ids})),
        st.tuples(
            st.just("qom-set"),
            st.fixed_dictionaries(
                {
                    "path": path,
                    "property": st.sampled_from(["drive", "bootindex", "addr", "x"]),
                    "value": st.sampled_from([1, "n0", "", -1]),
                }
            ),
        ),
    )


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("fuzz-vm") / "disk.raw"
    path.write_bytes(b"\0" * MiB)
    return str(path)


@pytest.mark.parametrize("version", ["7.2", "10.0"])
def test_failed_commands_change_nothing_in_the_vm(version: str, image: str, tmp_path: Path) -> None:
    @settings(
        max_examples=EXAMPLES or 40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(st.lists(commands(image), max_size=15))
    def run(seq: list[tuple[str, Any]]) -> None:
        vm = VM(version, tmp_path)
        for name, args in seq:
            before = vm.visible()
            reply = vm.run(name, args)
            if "error" in reply:
                assert vm.visible() == before, (name, args, reply)

    run()


def test_the_snapshot_sees_what_commands_change(image: str, tmp_path: Path) -> None:
    """The state compared above is not blind: successful commands show in it."""
    vm = VM("10.0", tmp_path)
    iso = tmp_path / "cd.iso"
    iso.write_bytes(b"\0" * MiB)
    steps = [
        ("blockdev-add", {"driver": "file", "node-name": "f0", "filename": image}),
        ("blockdev-add", {"driver": "raw", "node-name": "disk0", "file": "f0"}),
        ("device_add", {"driver": "virtio-blk-pci", "id": "vb", "drive": "disk0", "bus": "rp0"}),
        ("object-add", {"qom-type": "iothread", "id": "io0"}),
        ("qom-set", {"path": "/machine/peripheral/vb", "property": "bootindex", "value": 3}),
        ("netdev_add", {"type": "user", "id": "n0"}),
        ("device_add", {"driver": "virtio-net-pci", "id": "nic", "netdev": "n0", "bus": "rp1"}),
        ("set_link", {"name": "n0", "up": False}),
        ("netdev_del", {"id": "n0"}),
        # Another image: the disk above holds image's write lock.
        ("blockdev-change-medium", {"id": "cd0", "filename": str(iso), "format": "raw"}),
        ("blockdev-open-tray", {"id": "cd0"}),
        ("eject", {"id": "cd0"}),
        (
            "migrate-set-capabilities",
            {"capabilities": [{"capability": "events", "state": True}]},
        ),
    ]
    for name, args in steps:
        before = vm.visible()
        assert "return" in vm.run(name, args), (name, args)
        assert vm.visible() != before, name
    assert "query-block" in vm.queries and "query-named-block-nodes" in vm.queries
    assert "query-rx-filter" in vm.queries
