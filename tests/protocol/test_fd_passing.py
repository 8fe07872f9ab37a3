"""Descriptors passed with SCM_RIGHTS on a UNIX QMP socket (qmp/session.py)
and the commands that take them (commands/fds.py); compared with real QEMU
in tests/conformance/test_fds_live.py."""

from __future__ import annotations

import json
import socket
from typing import Any

from live_qemu import send_with_fds

from memdevd.testing import MemdevdProcess


def _ask(sock: socket.socket, stream: Any, request: dict[str, Any], fds: int = 0) -> Any:
    send_with_fds(sock, json.dumps(request).encode() + b"\n", fds)
    return json.loads(stream.readline())


def test_getfd_add_fd_and_fd_sets() -> None:
    with (
        MemdevdProcess("-machine", "q35", "-nodefaults", "-S") as vm,
        socket.socket(socket.AF_UNIX) as s,
    ):
        s.connect(vm.socket)
        stream = s.makefile("rb")
        stream.readline()
        assert _ask(s, stream, {"execute": "qmp_capabilities"}) == {"return": {}}
        none = _ask(s, stream, {"execute": "getfd", "arguments": {"fdname": "a"}})
        assert none["error"]["desc"] == "No file descriptor supplied via SCM_RIGHTS"
        assert _ask(s, stream, {"execute": "getfd", "arguments": {"fdname": "a"}}, 1) == {
            "return": {}
        }
        assert _ask(s, stream, {"execute": "closefd", "arguments": {"fdname": "a"}}) == {
            "return": {}
        }
        added = _ask(s, stream, {"execute": "add-fd", "arguments": {"opaque": "x"}}, 2)
        fd = added["return"]["fd"]
        assert added["return"]["fdset-id"] == 0 and fd > 2
        again = _ask(s, stream, {"execute": "add-fd", "arguments": {"fdset-id": 0}}, 1)
        sets = _ask(s, stream, {"execute": "query-fdsets"})["return"]
        assert sets == [
            {"fdset-id": 0, "fds": [{"fd": fd, "opaque": "x"}, {"fd": again["return"]["fd"]}]}
        ]
        gone = {"execute": "remove-fd", "arguments": {"fdset-id": 0, "fd": fd}}
        assert _ask(s, stream, gone) == {"return": {}}
        assert _ask(s, stream, gone)["error"]["desc"] == (
            f"File descriptor named 'fdset-id:0, fd:{fd}' not found"
        )
        stream.close()
