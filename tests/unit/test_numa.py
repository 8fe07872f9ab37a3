"""NUMA state that QEMU keeps for ACPI tables (SLIT, HMAT) and shows no
monitor: the completed distance table, HMAT's compressed bases, the CPU
mapping; and -numa errors with their location.  The outcomes QEMU shows
(start-up errors, info numa, node-id) are compared live by the numa_*
scenarios in tests/conformance/scenarios."""

from __future__ import annotations

import pytest

from memdevd.app import cli
from memdevd.machine.machine import Machine
from memdevd.util.qemu_opts import Diagnostic, OptionError

BASE = (
    "-machine",
    "q35",
    "-m",
    "3G",
    "-smp",
    "4,sockets=2,cores=2",
    "-object",
    "memory-backend-ram,id=m0,size=1G",
    "-object",
    "memory-backend-ram,id=m1,size=1G",
    "-object",
    "memory-backend-ram,id=m2,size=1G",
)


def start(*argv: str, version: str = "10.0") -> tuple[Machine, list[Diagnostic]]:
    args = ("-memdevd", f"version={version},clock=virtual", *argv)
    daemon, notes = cli.build_daemon(cli.parse(args, "qemu-system-x86_64"), "qemu-system-x86_64")
    return daemon.machine, notes


def three_nodes(*extra: str, machine: str = "q35") -> tuple[str, ...]:
    argv = list(BASE)
    argv[1] = machine
    return (
        *argv,
        "-numa",
        "node,memdev=m0,nodeid=0",
        "-numa",
        "node,memdev=m1,nodeid=1",
        "-numa",
        "node,memdev=m2,nodeid=2",
        *extra,
    )


def test_distances_are_filled_symmetrically_with_local_ten() -> None:
    m, _ = start(
        *three_nodes(
            "-numa",
            "dist,src=0,dst=1,val=20",
            "-numa",
            "dist,src=2,dst=0,val=30",
            "-numa",
            "dist,src=1,dst=2,val=25",
        )
    )
    table = [[m.numa.nodes[s].distance[d] for d in range(3)] for s in range(3)]
    assert table == [[10, 20, 30], [20, 10, 25], [30, 25, 10]]


def test_asymmetric_distances_need_every_direction() -> None:
    with pytest.raises(OptionError) as exc:
        start(
            *three_nodes(
                "-numa",
                "dist,src=0,dst=1,val=20",
                "-numa",
                "dist,src=1,dst=0,val=21",
                "-numa",
                "dist,src=0,dst=2,val=20",
                "-numa",
                "dist,src=1,dst=2,val=20",
            )
        )
    assert exc.value.message.startswith("At least one asymmetrical pair")
    assert exc.value.location is None


def test_numa_cpu_maps_a_socket_and_the_rest_default() -> None:
    m, notes = start(*three_nodes("-numa", "cpu,node-id=2,socket-id=1"))
    assert [slot.props["node-id"] for slot in m.cpu_slots] == [0, 0, 2, 2]
    assert [n.kind for n in notes if "NUMA" in n.message] == ["warning", "warning"]


def test_cpu_error_names_the_option() -> None:
    with pytest.raises(OptionError) as exc:
        start(*three_nodes("-numa", "cpu,node-id=1,socket-id=7"))
    assert exc.value.message == "no match found"
    assert exc.value.location == "-numa cpu,node-id=1,socket-id=7"


def hmat(*extra: str) -> tuple[str, ...]:
    return three_nodes(*extra, machine="q35,hmat=on")


def test_hmat_latency_base_and_range_as_qemu_compresses_them() -> None:
    lat = "hierarchy=memory,data-type=access-latency"
    m, _ = start(
        *hmat(
            "-numa",
            "cpu,node-id=0",
            "-numa",
            f"hmat-lb,initiator=0,target=1,{lat},latency=200",
            "-numa",
            f"hmat-lb,initiator=0,target=2,{lat},latency=3000",
        )
    )
    lb = m.numa.hmat_lb[("memory", "access-latency")]
    # 200: base 100, entry 2 (base was unset); 3000 reads against base 100.
    assert (lb.base, lb.range_bitmap) == (100, 30)
    assert lb.entries == [(0, 1, 200), (0, 2, 3000)]
    assert m.numa.nodes[1].lb_info_provided == 1


def test_hmat_bandwidth_range_is_sixteen_bits() -> None:
    bw = "hierarchy=memory,data-type=access-bandwidth"
    m, _ = start(
        *hmat("-numa", "cpu,node-id=0", "-numa", f"hmat-lb,initiator=0,target=0,{bw},bandwidth=1M")
    )
    assert m.numa.hmat_lb[("memory", "access-bandwidth")].base == 1 << 20
    with pytest.raises(OptionError) as exc:
        start(
            *hmat(
                "-numa",
                "cpu,node-id=0",
                "-numa",
                f"hmat-lb,initiator=0,target=0,{bw},bandwidth=1M",
                "-numa",
                f"hmat-lb,initiator=0,target=1,{bw},bandwidth=256G",
            )
        )
    assert (
        "should not differ from previously entered values on more than 65534" in exc.value.message
    )


def test_hmat_initiator_must_have_cpus() -> None:
    argv = list(hmat("-numa", "cpu,node-id=0"))
    argv[argv.index("node,memdev=m2,nodeid=2")] = "node,memdev=m2,nodeid=2,initiator=1"
    with pytest.raises(OptionError) as exc:
        start(*argv)
    assert exc.value.message == "The initiator of NUMA node 2 is invalid"
    # Without initiator= a node is left out of the check.
    m, _ = start(*hmat("-numa", "cpu,node-id=0"))
    assert [m.numa.nodes[i].initiator for i in range(3)] == [0, 128, 128]


def test_out_of_range_initiator_is_reported_and_start_goes_on() -> None:
    # error_report() without an error: the node is not declared.
    _, notes = start(
        "-machine",
        "q35,hmat=on",
        "-m",
        "1G",
        "-object",
        "memory-backend-ram,id=n0,size=1G",
        "-numa",
        "node,memdev=n0,initiator=300",
    )
    printed = [d for d in notes if d.kind == "error"]
    assert printed[0].message == "The initiator id 300 expects an integer between 0 and 127"
    assert printed[0].location == "-numa node,memdev=n0,initiator=300"


def test_hmat_is_a_machine_property() -> None:
    m, _ = start("-machine", "pc,hmat=on")
    assert m.qom_get("/machine", "hmat") is True
    m, _ = start("-machine", "pc")
    assert m.qom_get("/machine", "hmat") is False
