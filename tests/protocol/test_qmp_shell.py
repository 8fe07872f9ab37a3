"""``qmp-shell`` (installed with qemu.qmp) typed at through its stdin.

A user's session: object-add and device_add in qmp-shell's ``key=value``
shorthand, a refused device_add, queries; qmp-shell prints each reply as
QEMU's JSON.  The live test types the same lines at the real QEMU and
memdevd and compares qmp-shell's whole output, plain and pretty.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path

import pytest
from protocol_harness import START_TIMEOUT, GiB, MemdevdProcess, run_memdevd, version_argv

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from live_qemu import qemu_binary, run_qemu

SESSION = [
    "object-add qom-type=memory-backend-ram id=m1 size=536870912",
    "device_add driver=pc-dimm id=d1 memdev=m1",
    "device_add driver=pc-dimm id=d2 memdev=m1",
    "object-add qom-type=memory-backend-ram id=m2 size=1073741824",
    "device_add driver=pc-dimm id=d3 memdev=m2 addr=4294967296",
    "query-memory-devices",
    "qom-get path=/machine/peripheral/d1 property=addr",
    "no-such-command",
]


def qmp_shell() -> str:
    """The venv's qmp-shell (beside this Python), else one on PATH."""
    beside = Path(sys.executable).parent / "qmp-shell"
    if beside.exists():
        return str(beside)
    found = shutil.which("qmp-shell")
    if found is None:
        pytest.skip("qmp-shell is not installed")
    return found


async def type_at(socket_path: str, lines: list[str], *options: str) -> str:
    """Run qmp-shell on ``socket_path`` with ``lines`` as its input; its stdout."""
    proc = await asyncio.create_subprocess_exec(
        qmp_shell(),
        *options,
        socket_path,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(
        proc.communicate("".join(f"{line}\n" for line in lines).encode()), START_TIMEOUT
    )
    assert proc.returncode == 0, err.decode()
    return out.decode()


async def wait_listening(md: MemdevdProcess) -> None:
    probe = await md.connect()
    await probe.close()


async def test_qmp_shell_session(workdir: Path) -> None:
    async with run_memdevd(workdir, version_argv("7.2")) as md:
        await wait_listening(md)
        output = await type_at(str(md.socket_path), SESSION)
    header, _, body = output.partition("\n\n")
    assert header == "Welcome to the QMP low-level shell!\nConnected to QEMU 7.2.22"
    prompts = body.split("(QEMU) ")
    assert prompts[0] == "" and prompts[-1] == "\n"  # EOF ends the last prompt
    replies = [json.loads(p) for p in prompts[1:-1]]
    assert replies[:2] == [{"return": {}}, {"return": {}}]
    assert replies[2] == {
        "error": {"class": "GenericError", "desc": "can't use already busy memdev: m1"}
    }
    assert replies[3] == {"return": {}}
    assert replies[4] == {
        "error": {
            "class": "GenericError",
            "desc": "address range conflicts with memory device id='d1'",
        }
    }
    [dimm] = replies[5]["return"]
    assert dimm["data"]["id"] == "d1" and dimm["data"]["addr"] == 4 * GiB
    assert replies[6] == {"return": 4 * GiB}
    assert replies[7]["error"]["class"] == "CommandNotFound"
    # qmp-shell prints QEMU's own bytes: one line per reply, QEMU's key order.
    assert '{"return": [{"type": "dimm", "data": {"memdev": "/objects/m1", "hotplugged"' in body


@pytest.mark.live_qemu
@pytest.mark.parametrize("version", ["7.2", "10.0"])
@pytest.mark.parametrize("options", [(), ("-p",)], ids=["plain", "pretty"])
async def test_qmp_shell_output_like_qemu(
    workdir: Path, version: str, options: tuple[str, ...]
) -> None:
    if qemu_binary(version) is None:
        pytest.skip(f"QEMU {version} is not installed")
    machine = ["-machine", "pc", "-m", "1G,slots=4,maxmem=8G", "-S", "-nodefaults"]
    async with run_qemu(version, [*machine, "-display", "none", "-accel", "tcg"]) as qemu:
        _, writer, _ = await qemu.connect()  # waits until QEMU listens
        writer.close()
        expected = await type_at(qemu.socket_path, SESSION, *options)
    async with run_memdevd(workdir, version_argv(version)) as md:
        await wait_listening(md)
        output = await type_at(str(md.socket_path), SESSION, *options)
    assert output == expected
