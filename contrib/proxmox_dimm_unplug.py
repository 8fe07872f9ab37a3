#!/usr/bin/env python3
"""Unplug DIMMs by polling, as Proxmox VE's qemu-server does.

    python contrib/proxmox_dimm_unplug.py SOCKET ID [ID...] [--retries N] [--interval S]

Proxmox (PVE::QemuServer::Memory) does not wait for events: for each DIMM it
sends ``device_del`` and then polls ``query-memory-devices`` until the DIMM
is gone, giving up after a number of tries with "error unplug memory module".
Removing the newest DIMM first, it stops at the first one the guest keeps.
Exit status 0 when every DIMM is gone, 1 otherwise.

Against memdevd, ``-memdevd guest=polls:N`` makes the guest finish on the
N-th poll, ``guest=refuse`` never; no test has to sleep.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from qemu.qmp import ExecuteError, QMPClient


async def dimm_ids(qmp: QMPClient) -> list[str]:
    devices = await qmp.execute("query-memory-devices")
    return [d["data"].get("id", "") for d in devices if d["type"] == "dimm"]


async def unplug(qmp: QMPClient, dev_id: str, retries: int, interval: float) -> bool:
    try:
        await qmp.execute("device_del", {"id": dev_id})
    except ExecuteError as err:
        print(f"error unplug memory module {dev_id}: {err.error.error.desc}", file=sys.stderr)
        return False
    for _ in range(retries):
        if dev_id not in await dimm_ids(qmp):
            await qmp.execute("object-del", {"id": f"mem-{dev_id}"})
            print(f"unplugged {dev_id}")
            return True
        await asyncio.sleep(interval)
    print(f"error unplug memory module {dev_id}", file=sys.stderr)
    return False


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("socket")
    parser.add_argument("ids", nargs="+")
    parser.add_argument("--retries", type=int, default=5)
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args(argv)
    qmp = QMPClient("proxmox-unplug")
    await qmp.connect(args.socket)
    try:
        for dev_id in args.ids:
            if not await unplug(qmp, dev_id, args.retries, args.interval):
                return 1
        return 0
    finally:
        await qmp.disconnect()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
