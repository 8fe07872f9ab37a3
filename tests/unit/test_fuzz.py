"""Fuzzing in process: the JSON stream parser, argument validation, command sequences.

Bounded for CI (about a minute in all); ``MEMDEVD_FUZZ_EXAMPLES=N`` raises
every test's example count for a long run by hand (see docs/robustness.md):

    MEMDEVD_FUZZ_EXAMPLES=200000 .venv/bin/pytest tests/unit/test_fuzz.py

What must hold for any input:

* the parser never raises; it yields JSON values or QEMU's JSON errors;
* every command with any arguments answers a QMP reply (QEMU's error
  classes) and never an internal error;
* a failing command changes nothing a client can see (devices, backends,
  sizes, memslot accounting) and the machine's invariants hold after every
  command: devices inside device memory, never overlapping, DIMM slots
  unique, plugged size the sum of the devices' sizes.
"""

from __future__ import annotations

import inspect
import itertools
import os
import tempfile
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memdevd.app import cli
from memdevd.machine.clock import VirtualClock
from memdevd.qmp.errors import QMPError
from memdevd.qmp.framing import JSONError, JSONStreamer

EXAMPLES = int(os.environ.get("MEMDEVD_FUZZ_EXAMPLES", "0"))
QMP_CLASSES = {
    "GenericError",
    "CommandNotFound",
    "DeviceNotActive",
    "DeviceNotFound",
    "KVMMissingCap",
}
MiB = 1 << 20
GiB = 1 << 30


def fuzz_settings(default: int) -> Any:
    return settings(
        max_examples=EXAMPLES or default,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# --- the JSON stream parser ----------------------------------------------------------

json_ish = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)
tokens = st.sampled_from(
    [
        b"{",
        b"}",
        b"[",
        b"]",
        b'"',
        b"'",
        b":",
        b",",
        b"\\",
        b"\n",
        b" ",
        b"\xff",
        b"\x00",
        b"1e999",
        b"-",
        b"true",
        b"nul",
        b"\\u",
        b"\xc3",
        b"\xed\xa0\x80",
        b'"execute"',
    ]
)


@fuzz_settings(300)
@given(st.lists(st.binary(max_size=24) | tokens, max_size=40), st.integers(1, 7))
def test_stream_parser_never_raises(chunks: list[bytes], split: int) -> None:
    streamer = JSONStreamer()
    data = b"".join(chunks)
    items: list[Any] = []
    for i in range(0, len(data), split):
        items.extend(streamer.feed(data[i : i + split]))
    for item in items:
        assert isinstance(item, (JSONError, dict, list, str, int, float, bool)) or item is None


plain_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet="abcXYZ 09_-", max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(alphabet="abc", max_size=3), inner, max_size=4)
    ),
    max_leaves=12,
)


@fuzz_settings(200)
@given(st.lists(plain_json, min_size=1, max_size=5))
def test_stream_parser_reads_back_what_was_sent(values: list[Any]) -> None:
    import json

    streamer = JSONStreamer()
    data = b"".join(json.dumps(v).encode() + b"\n" for v in values)
    assert streamer.feed(data) == values


# --- commands against the core -------------------------------------------------------


ARGV = [
    "-machine",
    "q35,nvdimm=on",
    "-m",
    "1G,slots=4,maxmem=16G",
    "-memdevd",
    "guest=cooperative",
    "-object",
    "memory-backend-ram,id=pre,size=1G",
    "-device",
    "pcie-root-port,id=rp0,chassis=1",
    "-device",
    "pcie-root-port,id=rp1,chassis=2",
]


class Harness:
    def __init__(self, version: str = "10.0") -> None:
        # clock=virtual: time moves only with x-memdevd-advance-clock.
        argv = ["-memdevd", f"version={version},clock=virtual", *ARGV]
        daemon, _ = cli.build_daemon(cli.parse(argv, "qemu-system-x86_64"), "qemu-system-x86_64")
        assert isinstance(daemon.machine.clock, VirtualClock)
        self.machine = daemon.machine
        self.rt = daemon.runtime
        self.reg = daemon.registry

    def run(self, name: str, args: Any) -> dict[str, Any]:
        cmd = self.reg.get(name)
        assert cmd is not None, name
        try:
            ret = cmd.handler(None, args)  # type: ignore[arg-type]
            if inspect.isawaitable(ret):
                import asyncio

                ret = asyncio.new_event_loop().run_until_complete(ret)
        except QMPError as err:
            reply = err.to_wire()
            assert reply["error"]["class"] in QMP_CLASSES, reply
            assert "memdevd internal error" not in reply["error"]["desc"]
            return reply
        return {"return": ret}

    def visible(self) -> Any:
        from memdevd.commands.memdevd_extras import memslot_report

        m = self.machine
        return (
            m.memory.device_list(),
            m.memdev_list(),
            m.memory_size_summary(),
            memslot_report(self.rt),
            m.runstate,
        )

    def check_invariants(self) -> None:
        m = self.machine
        dm = m.device_memory
        assert dm is not None
        ranges = []
        slots = []
        for info in m.memory.device_list():
            d = info["data"]
            addr = d.get("addr", d.get("memaddr"))
            size = d.get("max-size", d.get("size"))
            if info["type"] in ("dimm", "nvdimm"):
                slots.append(d["slot"])
            if addr is None or size is None or info["type"] == "sgx-epc":
                continue
            assert dm.base <= addr and addr + size <= dm.end, info
            ranges.append((addr, addr + size))
        ranges.sort()
        for (_, end), (start, _) in itertools.pairwise(ranges):
            assert end <= start, ranges
        assert len(slots) == len(set(slots))
        plugged = sum(i["data"]["size"] for i in m.memory.device_list() if i["type"] != "sgx-epc")
        assert m.memory_size_summary().get("plugged-memory", 0) == plugged


# Commands whose effects a random sequence may exercise, and plausible arguments.
ids = st.sampled_from(["a", "b", "c", "pre", "d-1", "", "rp0", "rp1"])
sizes = st.sampled_from([0, 1, 4096, 2 * MiB, 512 * MiB, GiB, 3 * GiB, 1 << 62, -1])


def object_add() -> Any:
    return st.fixed_dictionaries(
        {
            "qom-type": st.sampled_from(
                ["memory-backend-ram", "memory-backend-memfd", "memory-backend-file", "bogus"]
            ),
            "id": ids,
            "size": sizes,
        },
        optional={
            "share": st.booleans(),
            "mem-path": st.sampled_from(["/dev/shm/x", "/dev/hugepages/x"]),
            "policy": st.sampled_from(["bind", "default", "x"]),
            "host-nodes": st.lists(st.integers(-1, 3), max_size=2),
        },
    )


def device_add() -> Any:
    return st.fixed_dictionaries(
        {
            "driver": st.sampled_from(
                ["pc-dimm", "nvdimm", "virtio-mem-pci", "virtio-pmem-pci", "nope"]
            ),
        },
        optional={
            "id": ids,
            "memdev": ids,
            "bus": st.sampled_from(["rp0", "rp1", "pcie.0"]),
            "addr": st.sampled_from([0, 4 * GiB, 5 * GiB + 4096, "x"]),
            "slot": st.integers(-1, 5),
            "node": st.integers(-1, 2),
            "requested-size": sizes,
            "block-size": st.sampled_from([2 * MiB, 3 * MiB, GiB]),
        },
    )


commands = st.one_of(
    st.tuples(st.just("object-add"), object_add()),
    st.tuples(st.just("device_add"), device_add()),
    st.tuples(st.just("device_del"), st.fixed_dictionaries({"id": ids})),
    st.tuples(st.just("object-del"), st.fixed_dictionaries({"id": ids})),
    st.tuples(
        st.just("qom-set"),
        st.fixed_dictionaries(
            {
                "path": ids.map(lambda i: f"/machine/peripheral/{i}"),
                "property": st.sampled_from(["requested-size", "size", "addr", "x"]),
                "value": sizes,
            }
        ),
    ),
    st.tuples(st.sampled_from(["cont", "stop", "system_reset"]), st.just({})),
    st.tuples(
        st.just("x-memdevd-advance-clock"),
        st.fixed_dictionaries({"seconds": st.sampled_from([0, 0.1, 2])}),
    ),
)


@fuzz_settings(120)
@given(st.lists(commands, max_size=25), st.sampled_from(["7.2", "10.0"]))
def test_failed_commands_change_nothing_and_invariants_hold(
    seq: list[tuple[str, Any]], version: str
) -> None:
    h = Harness(version)
    for name, args in seq:
        before = h.visible()
        reply = h.run(name, args)
        if "error" in reply:
            assert h.visible() == before, (name, args, reply)
        h.check_invariants()


@fuzz_settings(150)
@given(st.data())
def test_any_arguments_get_a_qmp_reply(data: Any) -> None:
    h = Harness()
    skip = {"quit", "qmp_capabilities", "x-memdevd-reset"}
    names = sorted(c.name for c in h.reg if c.name not in skip)
    name = data.draw(st.sampled_from(names))
    args = data.draw(
        st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "path",
                    "property",
                    "value",
                    "driver",
                    "qom-type",
                    "size",
                    "name",
                    "guest",
                    "typename",
                    "command-line",
                    "x",
                ]
            ),
            json_ish,
            max_size=4,
        )
    )
    h.run(name, args)
    h.check_invariants()


# --- the block layer: drives, nodes, throttling --------------------------------------

_IMAGE_DIR = tempfile.mkdtemp(prefix="memdevd-fuzz-")
_RAW = os.path.join(_IMAGE_DIR, "disk.raw")
with open(_RAW, "wb") as _f:
    _f.truncate(1 << 20)

BLOCK_ARGV = [
    "-machine",
    "q35",
    "-device",
    "pcie-root-port,id=rp0,chassis=1",
    "-device",
    "pcie-root-port,id=rp1,chassis=2",
    "-drive",
    f"file={_RAW},if=none,id=d0,format=raw,readonly=on",
    "-drive",
    "if=none,id=empty",
    "-drive",
    f"file={_RAW},if=none,id=d1,format=raw,readonly=on,iops=10,group=g",
    "-blockdev",
    "driver=null-co,node-name=n0",
    "-object",
    "iothread,id=io0",
]


class BlockHarness(Harness):
    def __init__(self, version: str) -> None:
        argv = ["-memdevd", f"version={version},clock=virtual", *BLOCK_ARGV]
        daemon, _ = cli.build_daemon(cli.parse(argv, "qemu-system-x86_64"), "qemu-system-x86_64")
        self.machine = daemon.machine
        self.rt = daemon.runtime
        self.reg = daemon.registry

    def visible(self) -> Any:
        return tuple(
            self.run(q, None)
            for q in ("query-block", "query-named-block-nodes", "query-blockstats")
        )

    def check_invariants(self) -> None:
        layer = self.machine.block
        members: dict[str, int] = {}
        for blk in layer.backends:
            if blk.throttle is not None:
                members[blk.throttle.name] = members.get(blk.throttle.name, 0) + 1
                assert layer.throttle_groups.groups[blk.throttle.name] is blk.throttle
        for name, group in layer.throttle_groups.groups.items():
            assert group.refcnt == members.get(name, 0), (name, group.refcnt, members)
        for node in layer.nodes.values():
            assert node.refcnt >= 0
            for child in node.children():
                assert child.node_name in layer.nodes


drive_names = st.sampled_from(["d0", "d1", "empty", "n0", "nope", "vb", ""])
rates = st.sampled_from([0, 1, 10, 1000, 1 << 51, -1])


def set_io_throttle() -> Any:
    return st.fixed_dictionaries(
        {n: rates for n in ("bps", "bps_rd", "bps_wr", "iops", "iops_rd", "iops_wr")},
        optional={
            "device": drive_names,
            "id": st.sampled_from(["vb", "/machine/peripheral/vb/virtio-backend", "rp0", "x"]),
            "group": st.sampled_from(["g", "h", "d0"]),
            "bps_max": rates,
            "iops_max": rates,
            "iops_max_length": st.sampled_from([0, 1, 5]),
            "iops_size": st.sampled_from([0, 512]),
        },
    )


block_commands = st.one_of(
    st.tuples(st.just("block_set_io_throttle"), set_io_throttle()),
    st.tuples(
        st.just("blockdev-add"),
        st.fixed_dictionaries(
            {
                "driver": st.sampled_from(["null-co", "raw", "file"]),
                "node-name": st.sampled_from(["n1", "n2", "n0", "d0"]),
            },
            optional={"file": st.sampled_from(["n0", "n1", _RAW]), "filename": st.just(_RAW)},
        ),
    ),
    st.tuples(
        st.just("blockdev-del"),
        st.fixed_dictionaries({"node-name": st.sampled_from(["n0", "n1", "n2", "d0"])}),
    ),
    st.tuples(
        st.just("device_add"),
        st.fixed_dictionaries(
            {"driver": st.just("virtio-blk-pci"), "drive": drive_names},
            optional={"id": st.sampled_from(["vb", "vc"]), "bus": st.sampled_from(["rp0", "rp1"])},
        ),
    ),
    st.tuples(st.just("device_del"), st.fixed_dictionaries({"id": st.sampled_from(["vb", "vc"])})),
    st.tuples(
        st.just("block-set-write-threshold"),
        st.fixed_dictionaries(
            {"node-name": st.sampled_from(["n0", "n1", "nope"]), "write-threshold": rates}
        ),
    ),
    st.tuples(
        st.just("x-blockdev-set-iothread"),
        st.fixed_dictionaries(
            {
                "node-name": st.sampled_from(["n0", "n1", "nope"]),
                "iothread": st.sampled_from([None, "io0", "nope"]),
            },
            optional={"force": st.booleans()},
        ),
    ),
    st.tuples(
        st.just("query-blockstats"),
        st.fixed_dictionaries({}, optional={"query-nodes": st.booleans()}),
    ),
)


@fuzz_settings(60)
@given(st.lists(block_commands, max_size=15), st.sampled_from(["7.2", "10.0"]))
def test_block_commands_fail_without_a_trace(seq: list[tuple[str, Any]], version: str) -> None:
    """Random block sequences: a failing command leaves the drives, nodes
    and statistics as they were; throttle groups count their members."""
    h = BlockHarness(version)
    for name, args in seq:
        before = h.visible()
        reply = h.run(name, args)
        if "error" in reply:
            assert h.visible() == before, (name, args, reply)
        h.check_invariants()


# --- chardev command sequences ---------------------------------------------------------

chardev_ids = st.sampled_from(["c0", "c1", "mx", "rb", ""])


def chardev_backend() -> Any:
    """Backends with no host side effect (errors included): a socket client
    and a file in a directory that does not exist fail as in QEMU."""
    return st.one_of(
        st.just({"type": "null", "data": {}}),
        st.just({"type": "msmouse", "data": {}}),
        st.just({"type": "stdio", "data": {}}),
        st.builds(
            lambda size: {"type": "ringbuf", "data": {"size": size}},
            st.sampled_from([0, 1, 3, 8, 1 << 20, -1]),
        ),
        st.just({"type": "memory", "data": {}}),
        st.builds(lambda label: {"type": "mux", "data": {"chardev": label}}, chardev_ids),
        st.just({"type": "file", "data": {"out": "/nonexistent-dir/out"}}),
        st.just(
            {
                "type": "socket",
                "data": {
                    "addr": {"type": "unix", "data": {"path": "/nonexistent-dir/s"}},
                    "server": False,
                },
            }
        ),
        st.just({"type": "bogus", "data": {}}),
        st.just({"type": "null"}),
    )


chardev_commands = st.one_of(
    st.tuples(
        st.just("chardev-add"),
        st.fixed_dictionaries({"id": chardev_ids, "backend": chardev_backend()}),
    ),
    st.tuples(
        st.just("chardev-change"),
        st.fixed_dictionaries({"id": chardev_ids, "backend": chardev_backend()}),
    ),
    st.tuples(st.just("chardev-remove"), st.fixed_dictionaries({"id": chardev_ids})),
    st.tuples(st.just("chardev-send-break"), st.fixed_dictionaries({"id": chardev_ids})),
    st.tuples(
        st.just("ringbuf-write"),
        st.fixed_dictionaries(
            {"device": chardev_ids, "data": st.text(max_size=12)},
            optional={"format": st.sampled_from(["utf8", "base64", "x"])},
        ),
    ),
    st.tuples(
        st.just("ringbuf-read"),
        st.fixed_dictionaries(
            {"device": chardev_ids, "size": st.integers(-2, 20)},
            optional={"format": st.sampled_from(["utf8", "base64"])},
        ),
    ),
)


@fuzz_settings(80)
@given(st.lists(chardev_commands, max_size=20), st.sampled_from(["7.2", "10.0"]))
def test_chardev_sequences_fail_cleanly(seq: list[tuple[str, Any]], version: str) -> None:
    """A failing chardev command leaves query-chardev as it was (but for
    QEMU's chardev-change, which removes before it adds); a label is listed
    once, and exactly the chardevs that exist."""
    h = Harness(version)
    for name, args in seq:
        before = h.run("query-chardev", {})
        reply = h.run(name, args)
        after = h.run("query-chardev", {})
        if "error" in reply:
            gone = [c for c in before["return"] if c["label"] != args.get("id")]
            # chardev-change of a chardev without front end is remove + add
            # in QEMU: a failed add leaves it removed.
            allowed = [before, {"return": gone}] if name == "chardev-change" else [before]
            assert after in allowed, (name, args, reply)
        labels = [c["label"] for c in after["return"]]
        assert len(labels) == len(set(labels))
        assert set(labels) == set(h.machine.chardevs.children)
