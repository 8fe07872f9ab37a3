#!/usr/bin/env python3
"""Resize a VM with virtio-mem and wait until the guest has done it.

    python contrib/virtio_mem_resize.py SOCKET DEVICE-ID NEW-SIZE [--timeout S]

This is what a management tool does for a memory resize on QEMU >= 5.1:
``qom-set DEVICE requested-size`` tells the guest's virtio-mem driver what
to aim for; the driver plugs or unplugs blocks, and QEMU reports progress
with ``MEMORY_DEVICE_SIZE_CHANGE`` events (throttled to one per second per
device).  The resize is done when the device's ``size`` reaches the
requested size.  Against a paused VM or a guest without the driver the size
never moves: the timeout is the tool's only way out, so it must have one.

Works unchanged against real QEMU and against memdevd (try it with
``memdevd -machine pc -m 1G,maxmem=9G -memdevd guest=cooperative ...``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from qemu.qmp import QMPClient


def parse_size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    if text[-1:].upper() in units:
        return int(text[:-1]) * units[text[-1].upper()]
    return int(text, 0)


async def current_size(qmp: QMPClient, device: str) -> int:
    for dev in await qmp.execute("query-memory-devices"):
        if dev["type"] == "virtio-mem" and dev["data"].get("id") == device:
            return int(dev["data"]["size"])
    raise SystemExit(f"no virtio-mem device with id {device!r}")


async def resize(socket: str, device: str, size: int, timeout: float) -> int:
    qmp = QMPClient("virtio-mem-resize")
    await qmp.connect(socket)
    try:
        with qmp.listener("MEMORY_DEVICE_SIZE_CHANGE") as listener:
            await qmp.execute(
                "qom-set",
                {
                    "path": f"/machine/peripheral/{device}",
                    "property": "requested-size",
                    "value": size,
                },
            )
            reached = await current_size(qmp, device)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while reached != size:
                left = deadline - loop.time()
                if left <= 0:
                    print(f"timed out: {device} has {reached} of {size} bytes", file=sys.stderr)
                    return 1
                try:
                    event = await asyncio.wait_for(listener.get(), left)
                except TimeoutError:
                    continue
                if (
                    event["event"] == "MEMORY_DEVICE_SIZE_CHANGE"
                    and event["data"].get("id") == device
                ):
                    reached = int(event["data"]["size"])
                    print(f"{device}: size {reached}")
        print(f"{device}: resized to {size}")
        return 0
    finally:
        await qmp.disconnect()


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("socket")
    ap.add_argument("device")
    ap.add_argument("size", type=parse_size)
    ap.add_argument("--timeout", type=float, default=60.0)
    args = ap.parse_args()
    return asyncio.run(resize(args.socket, args.device, args.size, args.timeout))


if __name__ == "__main__":
    sys.exit(main())
