"""The floor: the least a Python QMP server can do (uvloop + orjson when present).

Greets like QEMU, then answers every JSON line with ``{"return": {}}`` and
the request's id.  ``benchmarks/bench.py`` runs it beside memdevd and QEMU
so that memdevd's overhead over a bare asyncio server is visible.

    python benchmarks/floor_server.py SOCKET [SOCKET...]
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import cast

try:
    import orjson

    loads = orjson.loads

    def dumps(obj: object) -> bytes:
        return orjson.dumps(obj)

except ImportError:  # pragma: no cover
    loads = json.loads

    def dumps(obj: object) -> bytes:
        return json.dumps(obj).encode()


GREETING = (
    b'{"QMP": {"version": {"qemu": {"micro": 0, "minor": 0, "major": 0},'
    b' "package": "floor"}, "capabilities": []}}\r\n'
)


class Echo(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.buf = b""
        transport.write(GREETING)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        *lines, self.buf = self.buf.split(b"\n")
        out = []
        for line in lines:
            if not line.strip():
                continue
            req = loads(line)
            reply: dict[str, object] = {"return": {}}
            if "id" in req:
                reply["id"] = req["id"]
            out.append(dumps(reply) + b"\r\n")
        if out:
            self.transport.write(b"".join(out))


async def main(paths: list[str]) -> None:
    loop = asyncio.get_running_loop()
    for path in paths:
        await loop.create_unix_server(Echo, path)
    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.run(main(sys.argv[1:]))
    except ImportError:  # pragma: no cover
        asyncio.run(main(sys.argv[1:]))
