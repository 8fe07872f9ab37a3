"""HMP text that live QEMU cannot show here (tests/conformance/test_hmp_live.py
compares the rest): memslots a guest mapped, host-node ranges, parsing."""

from __future__ import annotations

from memdevd.app import cli
from memdevd.commands import Runtime
from memdevd.commands.hmp import run_command_line
from memdevd.machine.clock import VirtualClock

GiB = 1 << 30


def runtime(*argv: str, version: str = "10.0") -> tuple[Runtime, VirtualClock]:
    argv = ("-memdevd", f"version={version},clock=virtual", *argv)
    daemon, _ = cli.build_daemon(cli.parse(argv, "qemu-system-x86_64"), "qemu-system-x86_64")
    clock = daemon.machine.clock
    assert isinstance(clock, VirtualClock)
    return daemon.runtime, clock


def test_mapped_memslots_appear_as_aliases_in_the_container() -> None:
    rt, clock = runtime(
        "-memdevd",
        "guest=cooperative",
        "-machine",
        "q35",
        "-m",
        "1G,slots=2,maxmem=16G",
        "-object",
        "memory-backend-ram,id=vm,size=8G",
        "-device",
        "virtio-mem-pci,id=vmem0,memdev=vm,dynamic-memslots=on,requested-size=3G",
    )
    rt.machine.qom_set("/machine/peripheral/vmem0", "requested-size", 3 * GiB)
    clock.advance(10**10)
    vmem = rt.machine.find_device("vmem0").vdev  # type: ignore[attr-defined]
    assert vmem.size == 3 * GiB
    slot = vmem.memslot_size
    lines = run_command_line(rt, "info mtree").splitlines()
    container = next(i for i, line in enumerate(lines) if line.endswith("): virtio-mem"))
    aliases = lines[container + 1 :]
    mapped = -(-3 * GiB // slot)
    assert len(aliases) == mapped + 1  # and the blank line
    base = vmem.memaddr
    assert aliases[0] == (
        f"        {base:016x}-{base + slot - 1:016x} (prio 0, ram): alias memslot-0"
        f" @vm {0:016x}-{slot - 1:016x}"
    )


def test_host_nodes_print_as_ranges() -> None:
    rt, _ = runtime("-memdevd", "host-nodes=4")
    rt.machine.object_add(
        "memory-backend-ram", "m0", {"size": GiB, "host-nodes": [0, 1, 3], "policy": "bind"}
    )
    text = run_command_line(rt, "info memdev")
    assert "memory backend: m0\n" in text
    assert "  host nodes: 0-1,3\n" in text


def test_parsing() -> None:
    rt, _ = runtime()
    assert run_command_line(rt, "   ") == ""
    assert run_command_line(rt, "info nope") == "unknown command: 'info nope'\n"
    assert run_command_line(rt, "info numa x") == (
        "numa: extraneous characters at the end of line\n"
        'Try "help info numa" for more information\n'
    )
    assert run_command_line(rt, "help info numa") == "info numa  -- show NUMA information\n"
    assert "not emulated" in run_command_line(rt, "info mtree -f")
    assert "not emulated" in run_command_line(rt, "device_del d0")
    assert run_command_line(rt, "info status") == "VM status: running\n"
