#!/usr/bin/env python3
"""Hot-plug and unplug a DIMM the way libvirt does, rollback included.

    python contrib/dimm_hotplug.py SOCKET attach ID SIZE [--node N]
    python contrib/dimm_hotplug.py SOCKET detach ID [--timeout S]

attach (libvirt's qemuDomainAttachMemory): ``object-add`` the backend
``mem<ID>``, then ``device_add`` the ``pc-dimm``; if ``device_add`` fails,
``object-del`` the backend again so nothing is left half-plugged, and report
QEMU's error.

detach (qemuDomainDetachMemory): ``device_del``, then wait for the guest:
``DEVICE_DELETED`` means done (and the backend is deleted);
``ACPI_DEVICE_OST`` with a failure status means the guest refused; no event
within the timeout means the unplug is still pending (QEMU without a guest
never finishes it). Exit status 0 on success, 1 on an error, 2 when the
unplug is still in progress.

Works unchanged against real QEMU and against memdevd (make the guest refuse
with ``-memdevd guest=refuse`` or ``x-memdevd-set-guest``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from qemu.qmp import ExecuteError, QMPClient

# ACPI _OST status codes (ACPI 6.x, table 6-200) a guest reports on eject.
OST_SUCCESS = 0
OST_EJECT_IN_PROGRESS = 0x84


def parse_size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    if text[-1:].upper() in units:
        return int(text[:-1]) * units[text[-1].upper()]
    return int(text, 0)


async def attach(qmp: QMPClient, dev_id: str, size: int, node: int | None) -> int:
    backend = f"mem{dev_id}"
    await qmp.execute("object-add", {"qom-type": "memory-backend-ram", "id": backend, "size": size})
    args: dict[str, object] = {"driver": "pc-dimm", "id": dev_id, "memdev": backend}
    if node is not None:
        args["node"] = node
    try:
        await qmp.execute("device_add", args)
    except ExecuteError as err:
        # Roll back: the backend must not outlive the failed plug.
        try:
            await qmp.execute("object-del", {"id": backend})
        except ExecuteError as rollback:
            print(f"rollback failed: {rollback.error.error.desc}", file=sys.stderr)
        print(f"error: {err.error.error.desc}", file=sys.stderr)
        return 1
    print(f"attached {dev_id}")
    return 0


async def detach(qmp: QMPClient, dev_id: str, timeout: float) -> int:
    with qmp.listener(("DEVICE_DELETED", "ACPI_DEVICE_OST")) as events:
        try:
            await qmp.execute("device_del", {"id": dev_id})
        except ExecuteError as err:
            print(f"error: {err.error.error.desc}", file=sys.stderr)
            return 1
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            if left <= 0:
                print(f"unplug of {dev_id} was requested but the guest did not finish it")
                return 2
            try:
                event = await asyncio.wait_for(events.get(), left)
            except TimeoutError:
                continue
            data = event.get("data", {})
            if event["event"] == "DEVICE_DELETED" and data.get("device") == dev_id:
                await qmp.execute("object-del", {"id": f"mem{dev_id}"})
                print(f"detached {dev_id}")
                return 0
            info = data.get("info", {})
            if (
                event["event"] == "ACPI_DEVICE_OST"
                and info.get("device") == dev_id
                and info.get("status") not in (OST_SUCCESS, OST_EJECT_IN_PROGRESS)
            ):
                print(f"error: unplug of {dev_id} was rejected by the guest", file=sys.stderr)
                return 1


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("socket")
    sub = parser.add_subparsers(dest="action", required=True)
    a = sub.add_parser("attach")
    a.add_argument("id")
    a.add_argument("size", type=parse_size)
    a.add_argument("--node", type=int)
    d = sub.add_parser("detach")
    d.add_argument("id")
    d.add_argument("--timeout", type=float, default=5.0)
    args = parser.parse_args(argv)
    qmp = QMPClient("dimm-hotplug")
    await qmp.connect(args.socket)
    try:
        if args.action == "attach":
            return await attach(qmp, args.id, args.size, args.node)
        return await detach(qmp, args.id, args.timeout)
    finally:
        await qmp.disconnect()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
