"""``memdevd map`` on a running daemon, rendered by a real headless browser.

The page memdevd writes is opened in Debian's chromium (``.ci/run``
installs it): the screenshot must be a real, non-blank image and the DOM
chromium rendered must carry every device's label.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from memdevd.testing import MemdevdProcess

pytestmark = pytest.mark.browser

GiB = 1 << 30


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("chromium is not installed (tools/install-test-deps.sh installs it as root)")


def browser(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", *args],
        capture_output=True,
        timeout=120,
    )


def png_pixels(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and the raw (still filtered) image data of a PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    return width, height, zlib.decompress(idat)


@pytest.fixture
def plugged(tmp_path: Path) -> MemdevdProcess:
    vm = MemdevdProcess(
        "-machine",
        "q35",
        "-m",
        "1G,slots=4,maxmem=16G",
        "-device",
        "pcie-root-port,id=rp0,chassis=1",
        guest="cooperative",
        memdevd_options=["clock=virtual"],
    ).start()
    for name, size in (("m0", GiB), ("m1", GiB // 2)):
        vm.cmd("object-add", {"qom-type": "memory-backend-ram", "id": name, "size": size})
    vm.cmd("device_add", {"driver": "pc-dimm", "id": "dimm-alpha", "memdev": "m0"})
    vm.cmd("device_add", {"driver": "pc-dimm", "id": "dimm-beta", "memdev": "m1"})
    vm.cmd("object-add", {"qom-type": "memory-backend-ram", "id": "vm", "size": 4 * GiB})
    vm.cmd(
        "device_add", {"driver": "virtio-mem-pci", "id": "vmem-gamma", "memdev": "vm", "bus": "rp0"}
    )
    vm.cmd("qom-set", {"path": "vmem-gamma", "property": "requested-size", "value": GiB})
    vm.advance(10)
    vm.cmd("device_del", {"id": "dimm-alpha"})
    vm.advance(1)
    return vm


def test_map_page_renders_in_chromium(plugged: MemdevdProcess, tmp_path: Path) -> None:
    page, svg, saved = tmp_path / "map.html", tmp_path / "map.svg", tmp_path / "state.json"
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "memdevd",
                "map",
                plugged.socket,
                "--html",
                str(page),
                "-o",
                str(svg),
                "--save",
                str(saved),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        plugged.stop()
    assert done.returncode == 0, done.stderr
    shot = tmp_path / "map.png"
    result = browser(f"--screenshot={shot}", "--window-size=1100,500", page.as_uri())
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    width, height, raw = png_pixels(shot.read_bytes())
    assert (width, height) == (1100, 500)
    # A blank page filters to almost nothing but zeros.
    assert len(set(raw)) > 32
    dom = browser("--dump-dom", page.as_uri())
    text = dom.stdout.decode()
    assert dom.returncode == 0
    for label in ("dimm-beta", "vmem-gamma", "1 GiB of 1 GiB requested", "slots 1/4 used"):
        assert label in text, label
    assert "dimm-alpha" not in text  # unplugged by the guest
    # The standalone SVG is what the page embeds.
    assert svg.read_text() in page.read_text()
