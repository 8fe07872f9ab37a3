"""Block commands: the node graph and the block queries.

``blockdev-add``/``blockdev-del`` (:mod:`memdevd.machine.block.graph`),
``query-named-block-nodes``, ``query-block`` and ``query-blockstats``
(:mod:`memdevd.machine.block.info`).  Arguments are visited from the
release's QAPI schema and replies shaped to it, so what a release adds or
moves needs no code here.
"""

from __future__ import annotations

from typing import Any

from memdevd.commands.base import Runtime, arguments, command, core
from memdevd.qmp.session import Session


def _shaped(rt: Runtime, type_name: str, value: Any) -> Any:
    from memdevd.qapi.source_schema import schema_of, shape

    return shape(schema_of(rt.machine.recording), type_name, value)


@command("blockdev-add", allow_preconfig=True)
def blockdev_add(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    options = arguments(rt, "blockdev-add", args)
    core(rt.machine.block.blockdev_add, options)


@command("blockdev-del", allow_preconfig=True)
def blockdev_del(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    parsed = arguments(rt, "blockdev-del", args)
    core(rt.machine.block.blockdev_del, parsed["node-name"])


@command("query-block")
def query_block(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    from memdevd.machine.block import info

    arguments(rt, "query-block", args)
    return _shaped(rt, "BlockInfoList", info.query_block(rt.machine.block))


@command("query-blockstats")
def query_blockstats(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    from memdevd.machine.block.info import query_blockstats as stats

    parsed = arguments(rt, "query-blockstats", args)
    nodes = bool(parsed.get("query-nodes", False))
    return _shaped(rt, "BlockStatsList", stats(rt.machine.block, nodes))


@command("block_set_io_throttle")
def block_set_io_throttle(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    from memdevd.machine.block.drive import set_io_throttle

    parsed = arguments(rt, "block_set_io_throttle", args)
    core(set_io_throttle, rt.machine.block, rt.machine, parsed)


@command("query-named-block-nodes")
def query_named_block_nodes(rt: Runtime, session: Session, args: dict[str, Any]) -> Any:
    from memdevd.machine.block.info import named_nodes

    parsed = arguments(rt, "query-named-block-nodes", args)
    nodes = named_nodes(rt.machine.block, bool(parsed.get("flat", False)))
    return _shaped(rt, "BlockDeviceInfoList", nodes)


@command("block-set-write-threshold")
def block_set_write_threshold(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    from memdevd.machine.block.drive import set_write_threshold

    parsed = arguments(rt, "block-set-write-threshold", args)
    core(set_write_threshold, rt.machine.block, parsed["node-name"], parsed["write-threshold"])


@command("x-blockdev-set-iothread")
def x_blockdev_set_iothread(rt: Runtime, session: Session, args: dict[str, Any]) -> None:
    from memdevd.machine.block.drive import set_iothread

    parsed = arguments(rt, "x-blockdev-set-iothread", args)
    core(
        set_iothread,
        rt.machine.block,
        rt.machine,
        parsed["node-name"],
        parsed["iothread"],
        bool(parsed.get("force", False)),
    )
