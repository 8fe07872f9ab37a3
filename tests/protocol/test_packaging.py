"""The container image's recipe, checked and replayed outside Docker.

The Dockerfile is read instruction by instruction (a Python 3.11 base, the
package copied in, ``pip install`` into a venv, ``memdevd`` as entrypoint,
a volume for the socket), then its COPY and RUN steps are replayed in a
temporary directory: the files it copies, the very RUN command with the
image paths mapped to temporary ones (pip uses whatever index this machine
is configured with), the source removed as the image removes it, and the
installed ``memdevd`` run from PATH: ``--version``, then once as a daemon on
the image's default command line to get a greeting.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from protocol_harness import RawQMP, mask_event

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
INSTALL_TIMEOUT = 540


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, args = line.partition(" ")
        out.append((keyword.upper(), args.strip()))
    assert not pending, "Dockerfile ends inside a continued line"
    return out


def exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


def the(keyword: str) -> list[str]:
    return [args for kw, args in instructions() if kw == keyword]


def test_dockerfile_recipe() -> None:
    [base] = the("FROM")
    image, _, tag = base.partition(":")
    assert image in ("python", "docker.io/library/python"), base
    assert tag.startswith("3.11"), base

    copies = [args.split() for args in the("COPY")]
    copied = {src for *sources, _ in copies for src in sources}
    assert {"pyproject.toml", "README.md", "memdevd"} <= copied

    [run] = the("RUN")
    assert "pip install" in run
    assert exec_form(the("ENTRYPOINT")[0]) == ["memdevd"]

    volumes = [v for args in the("VOLUME") for v in exec_form(args)]
    assert volumes, "no VOLUME for the socket directory"
    # The default command puts the QMP socket inside the volume.
    [cmd] = the("CMD")
    qmp = exec_form(cmd)[exec_form(cmd).index("-qmp") + 1]
    assert qmp.startswith("unix:")
    socket_dir = os.path.dirname(qmp[len("unix:") :].split(",")[0])
    assert socket_dir in volumes
    assert any("PATH=" in env for env in the("ENV"))


def mapped(text: str, paths: dict[str, str]) -> str:
    """``text`` with the image's absolute paths replaced by temporary ones (one pass)."""
    pattern = "|".join(re.escape(p) for p in sorted(paths, key=len, reverse=True))
    return re.sub(rf"({pattern})(?=/|\s|$|:)", lambda m: paths[m.group(1)], text)


async def test_install_like_the_image(tmp_path: Path) -> None:
    root = tmp_path / "image"
    root.mkdir()
    # Where the image puts things -> where this test does.
    venv = re.search(r"-m venv (\S+)", the("RUN")[0])
    assert venv is not None, "the RUN step makes no venv"
    venv_dir = venv.group(1)
    paths = {"/src": str(root / "src"), venv_dir: str(root / "venv")}

    # COPY SRC... DEST/ from the build context (the repository).
    for args in the("COPY"):
        *sources, dest = args.split()
        target = Path(mapped(dest, paths))
        for src in sources:
            origin = REPO / src
            if origin.is_dir():  # Docker copies a directory's contents
                shutil.copytree(
                    origin,
                    target,
                    dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
                )
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, target / origin.name if dest.endswith("/") else target)

    # RUN, as written; `python` is the image's Python 3.11.
    run = mapped(the("RUN")[0], paths)
    python_dir = root / "python-bin"
    python_dir.mkdir()
    (python_dir / "python").symlink_to(sys.executable)
    env = {**os.environ, "PATH": f"{python_dir}:{os.environ['PATH']}"}
    env.pop("VIRTUAL_ENV", None)
    build = await asyncio.create_subprocess_exec(
        "sh",
        "-c",
        run,
        cwd=root,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    log, _ = await asyncio.wait_for(build.communicate(), INSTALL_TIMEOUT)
    assert build.returncode == 0, log.decode(errors="replace")[-4000:]
    assert not (root / "src").exists(), "the RUN step removes the sources"

    # ENV PATH=..., then the ENTRYPOINT by name.
    entrypoint = exec_form(the("ENTRYPOINT")[0])
    for args in the("ENV"):
        key, _, value = args.partition("=")
        env[key] = mapped(value, paths).replace("$PATH", env["PATH"])
    installed = shutil.which("memdevd", path=env["PATH"])
    assert installed == str(root / "venv" / "bin" / "memdevd")

    where = subprocess.run(
        ["python", "-c", "import memdevd; print(memdevd.__file__)"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert where.stdout.startswith(str(root / "venv" / "lib")), where

    version = subprocess.run(
        [*entrypoint, "--version"], env=env, capture_output=True, text=True, timeout=60
    )
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("QEMU emulator version 10.0.2 (")
    assert "memdevd" in version.stdout

    # The image's default command, its volume mapped to a temporary directory.
    volume = exec_form(the("VOLUME")[0])[0]
    sock_dir = tmp_path / "vol"
    sock_dir.mkdir()
    cmd = [mapped(a, {volume: str(sock_dir)}) for a in exec_form(the("CMD")[0])]
    log_path = tmp_path / "memdevd.log"
    with open(log_path, "wb") as log_file:
        proc = await asyncio.create_subprocess_exec(
            *entrypoint, *cmd, env=env, cwd=tmp_path, stdout=log_file, stderr=log_file
        )
    try:
        sock = sock_dir / "qmp.sock"
        assert shlex.join(cmd).count(str(sock)) == 1
        client = await RawQMP.connect(sock)
        assert client.greeting is not None
        assert "memdevd" in client.greeting["QMP"]["version"]["package"]
        await client.negotiate()
        # Recorded data ships in the package: query-machines answers from it.
        machines = await client.ok("query-machines")
        assert any(m["name"].startswith("pc-q35-10.0") for m in machines)
        await client.send({"execute": "quit"})
        rest = await client.read_to_eof()
        events = [mask_event(json.loads(line)) for line in rest.split(b"\r\n") if b"event" in line]
        assert [e["event"] for e in events] == ["SHUTDOWN"]
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert log_path.read_text() == ""
