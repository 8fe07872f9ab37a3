"""``memdevd map``'s layout and drawing, from a state as QMP reports it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from memdevd.app import cli
from memdevd.devtools.memmap import human_size, layout, render_html, render_svg

GiB = 1 << 30
MiB = 1 << 20


def dimm(dev_id: str, addr: int, size: int, slot: int) -> dict[str, Any]:
    return {
        "type": "dimm",
        "data": {
            "id": dev_id,
            "addr": addr,
            "size": size,
            "slot": slot,
            "node": 0,
            "memdev": f"/objects/m-{dev_id}",
            "hotplugged": True,
            "hotpluggable": True,
        },
    }


def vmem(dev_id: str, addr: int, max_size: int, size: int, requested: int) -> dict[str, Any]:
    return {
        "type": "virtio-mem",
        "data": {
            "id": dev_id,
            "memaddr": addr,
            "requested-size": requested,
            "size": size,
            "max-size": max_size,
            "block-size": 2 * MiB,
            "node": 0,
            "memdev": f"/objects/m-{dev_id}",
        },
    }


BASE = 4 * GiB
STATE: dict[str, Any] = {
    "version": {"qemu": {"major": 10, "minor": 0, "micro": 2}, "package": ""},
    "device-memory": {"base": BASE, "size": 8 * GiB},
    "memory": {"size": GiB, "max-size": 6 * GiB, "slots": 4},
    "devices": [
        dimm("d1", BASE + GiB, GiB, 1),
        # 1 MiB short of its 1 GiB alignment: alignment waste before it.
        vmem("vm0", BASE + 3 * GiB, 2 * GiB, 512 * MiB, GiB),
        {
            "type": "sgx-epc",
            "data": {"memaddr": 1 << 40, "size": 64 * MiB, "node": 0, "memdev": "/objects/e"},
        },
    ],
    "memslots": {
        "used-memslots": 2,
        "required-memslots": 2,
        "reserved-memslots": 0,
        "devices": [
            {"id": "d1", "required-memslots": 1, "used-memslots": 1, "alignment": 2 * MiB},
            {"id": "vm0", "required-memslots": 1, "used-memslots": 1, "alignment": 2 * GiB},
        ],
    },
}


def test_layout_cuts_the_region_into_devices_and_gaps() -> None:
    pieces = [(e.kind, e.start - BASE, e.size, e.label) for e in layout(STATE)]
    assert pieces == [
        ("free", 0, GiB, "free"),  # a DIMM unplugged from here
        ("dimm", GiB, GiB, "d1"),
        ("waste", 2 * GiB, GiB, "alignment"),  # smaller than vm0's 2 GiB alignment
        ("virtio-mem", 3 * GiB, 2 * GiB, "vm0"),
        ("free", 5 * GiB, 3 * GiB, "free"),
    ]


def test_svg_shows_devices_gaps_and_virtio_mem_progress() -> None:
    svg = render_svg(STATE)
    assert svg.startswith("<svg ") and svg.rstrip().endswith("</svg>")
    assert "device memory 0x100000000-0x2ffffffff (8 GiB)" in svg
    assert "slots 1/4 used" in svg
    assert "memslots: 2 used, 2 required, 0 reserved" in svg
    assert svg.count('class="free"') == 2 and svg.count('class="waste"') == 1
    # virtio-mem: 512 MiB plugged of 2 GiB drawn, the 1 GiB request marked.
    assert 'class="plugged"' in svg and 'class="requested"' in svg
    assert "512 MiB of 1 GiB requested" in svg
    assert "d1 / dimm / 0x140000000 / 1 GiB / 1 / 0 / 1/1" in svg
    assert "sgx-epc" not in svg.split("</text>", 3)[-1].split("device / type")[0]


def test_html_page_is_self_contained() -> None:
    page = render_html(STATE)
    assert page.startswith("<!DOCTYPE html>")
    assert "<svg " in page and "src=" not in page and "href=" not in page


def test_no_device_memory() -> None:
    state = {**STATE, "device-memory": None, "devices": []}
    assert layout(state) == []
    assert "no device memory" in render_svg(state)


def test_human_sizes() -> None:
    assert [human_size(n) for n in (512, 4096, 3 * MiB // 2, 13 * GiB // 2)] == [
        "512 B",
        "4 KiB",
        "1.5 MiB",
        "6.5 GiB",
    ]


def test_map_subcommand_renders_a_saved_state(tmp_path: Path, capsys: Any) -> None:
    saved = tmp_path / "state.json"
    saved.write_text(json.dumps(STATE))
    assert cli.main(["map", "--state", str(saved)]) == 0
    assert capsys.readouterr().out == render_svg(STATE)
    html_path = tmp_path / "map.html"
    assert cli.main(["map", "--state", str(saved), "--html", str(html_path)]) == 0
    assert html_path.read_text() == render_html(STATE)


def test_map_subcommand_reports_an_unreachable_socket(tmp_path: Path, capsys: Any) -> None:
    assert cli.main(["map", str(tmp_path / "nope.sock")]) == 1
    assert capsys.readouterr().err.startswith("memdevd map: ")
