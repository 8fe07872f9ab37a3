"""Live: ``-snapshot`` and ``-drive snapshot=on`` on real QEMU and memdevd.

QEMU opens each drive's image read-only as the backing file of a temporary
qcow2 overlay it creates in /var/tmp (``$TMPDIR``) and unlinks at once
(block.c ``bdrv_append_temp_snapshot``).  The same command line on the
real binary of each release and on memdevd: the start-up outcome (errors,
warnings) and what a management tool reads of the drives (query-block,
query-named-block-nodes), the overlay's random file name and the random
digits of generated node names aside.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from live_qemu import QEMU_VERSIONS, ask_both, compare_startup, runnable

pytestmark = pytest.mark.live_qemu

COMMON = ["-S", "-nodefaults", "-display", "none", "-accel", "tcg", "-machine", "q35"]
FILES = Path(tempfile.mkdtemp(prefix="memdevd-snapshot-live-"))
with open(FILES / "d.raw", "wb") as f:
    f.truncate(1 << 20)
with open(FILES / "big.raw", "wb") as f:
    f.truncate(1 << 40)  # a 2048-entry L1 table: the overlay is longer
# a qcow2 image whose header names a backing file (qemu-img's layout)
_QEMU_IMG = "/usr/bin/qemu-img"

#: (id, arguments after COMMON): compared on every release
CASES: list[tuple[str, str]] = [
    ("raw", f"-snapshot -drive file={FILES}/d.raw,if=none,format=raw,id=d"),
    ("probed", f"-snapshot -drive file={FILES}/d.raw,if=none,id=d"),
    ("big", f"-snapshot -drive file={FILES}/big.raw,if=none,format=raw,id=d"),
    (
        "options",
        f"-snapshot -drive file={FILES}/d.raw,if=none,format=raw,id=d,detect-zeroes=on,cache=none",
    ),
    ("read-only", f"-snapshot -drive file={FILES}/d.raw,if=none,format=raw,id=d,read-only=on"),
    ("drive-says-off", f"-snapshot -drive file={FILES}/d.raw,if=none,format=raw,id=d,snapshot=off"),
    ("drive-snapshot-on", f"-drive file={FILES}/d.raw,if=none,format=raw,id=d,snapshot=on"),
    ("empty-drive", "-snapshot -drive if=none,id=d"),
    ("shorthands", f"-snapshot -hda {FILES}/d.raw -cdrom {FILES}/big.raw"),
    ("virtio", f"-snapshot -drive file={FILES}/d.raw,if=virtio,format=raw"),
    ("qcow2-backing", f"-snapshot -drive file={FILES}/top.qcow2,if=none,id=d"),
    (
        "copy-on-read",
        f"-snapshot -drive file={FILES}/d.raw,if=none,format=raw,id=d,copy-on-read=on",
    ),
]


@pytest.fixture(scope="module", autouse=True)
def qcow2_images() -> None:
    if not os.access(_QEMU_IMG, os.X_OK):
        pytest.skip("qemu-img is not installed")
    for argv in (
        ["create", "-q", "-f", "qcow2", f"{FILES}/base.qcow2", "10M"],
        ["create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", f"{FILES}/top.qcow2"],
    ):
        subprocess.run([_QEMU_IMG, *argv], check=True, cwd=FILES)


def _normalise(text: str) -> str:
    text = re.sub(r"^memdevd:", "qemu-system-x86_64:", text, flags=re.M)
    text = re.sub(r"vl\.[A-Za-z0-9]{6}", "vl.XXXXXX", text)
    # id_generate: a counter, then two random digits
    text = re.sub(r"#block(\d+)\d\d", r"#block\1__", text)
    return text.replace(str(FILES), "@FILES@")


QUESTIONS = [
    {"execute": "query-block"},
    {"execute": "query-named-block-nodes", "arguments": {"flat": True}},
    {"execute": "query-named-block-nodes"},
]


@pytest.mark.parametrize("version", QEMU_VERSIONS)
@pytest.mark.parametrize("case", [c for c, _ in CASES])
def test_snapshot_drives_like_qemu(case: str, version: str) -> None:
    if not runnable(version):
        pytest.skip(f"QEMU {version} is not installed")
    argv = [*COMMON, *dict(CASES)[case].split()]
    qemu, ours = ask_both(version, argv, QUESTIONS)
    for question, theirs, mine in zip(QUESTIONS, qemu, ours, strict=True):
        expected = json.loads(_normalise(theirs))
        assert json.loads(_normalise(mine)) == expected, question


def test_the_overlay_is_gone_once_open(tmp_path: Path) -> None:
    """Like QEMU's, memdevd's overlay is unlinked once open (BDRV_O_TEMPORARY)."""
    version = QEMU_VERSIONS[-1]
    if not runnable(version):
        pytest.skip(f"QEMU {version} is not installed")
    env_tmp = tmp_path / "tmp"
    env_tmp.mkdir()
    os.environ["TMPDIR"] = str(env_tmp)
    try:
        argv = [*COMMON, "-snapshot", "-drive", f"file={FILES}/d.raw,if=none,format=raw,id=d"]
        qemu, ours = ask_both(version, argv, [{"execute": "query-block"}])
    finally:
        del os.environ["TMPDIR"]
    for reply in (qemu, ours):
        assert f"{env_tmp}/vl." in reply[0]
    assert list(env_tmp.iterdir()) == []


#: start-up failures: (id, arguments after COMMON, TMPDIR)
FAILURES: list[tuple[str, str, str]] = [
    ("no-tmpdir", f"-snapshot -drive file={FILES}/d.raw,if=none,id=d", "/nonexistent"),
    ("no-tmpdir-empty-drive", "-snapshot -drive if=none,id=d", "/nonexistent"),
    ("missing-image", "-snapshot -drive file=/nonexistent.raw,if=none,id=d", ""),
]


@pytest.mark.parametrize("version", QEMU_VERSIONS)
@pytest.mark.parametrize("case", [c for c, _, _ in FAILURES])
def test_snapshot_failures_like_qemu(case: str, version: str) -> None:
    if not runnable(version):
        pytest.skip(f"QEMU {version} is not installed")
    _, args, tmpdir = next(f for f in FAILURES if f[0] == case)
    saved = os.environ.get("TMPDIR")
    if tmpdir:
        os.environ["TMPDIR"] = tmpdir
    try:
        qemu, ours = compare_startup(version, [*COMMON, *args.split()], _normalise)
    finally:
        if saved is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved
    assert ours == qemu
