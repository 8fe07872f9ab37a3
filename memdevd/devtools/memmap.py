"""``memdevd map``: a picture of the device-memory region, as SVG or HTML.

Connects to a running daemon's QMP socket (memdevd's, or a real QEMU's) and
reads what any client can read: ``query-memory-devices``, the machine's
``memory`` property (size, maxmem, slots), the device-memory range from HMP
``info mtree``, and, from memdevd, ``x-memdevd-query-memslots`` (memslots
and each device's alignment).  The state can be saved as JSON and rendered
later.  The picture shows each device's range, free gaps, space lost to
alignment, slots and memslots in use, and for virtio-mem the plugged part
against the requested size.

Stdlib only, and nothing here knows the machine core: the map is drawn from
what goes over the wire, so it draws a real QEMU the same way.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
from collections.abc import Sequence
from typing import Any

from memdevd.records import record
from memdevd.testing import MemdevdError, QMPConnection

COLORS = {
    "dimm": "#4e79a7",
    "nvdimm": "#59a14f",
    "virtio-mem": "#f28e2b",
    "virtio-pmem": "#b07aa1",
    "hv-balloon": "#76b7b2",
    "sgx-epc": "#9c755f",
}
FREE_COLOR = "#e8e8e8"
WASTE_COLOR = "#e15759"
MTREE_DEVICE_MEMORY = re.compile(
    r"^\s*([0-9a-f]{16})-([0-9a-f]{16}) \(prio -?\d+, i/o\): device-memory\s*$", re.M
)


# --- reading the state over QMP ------------------------------------------------------


def read_state(path: str) -> dict[str, Any]:
    """Everything the map needs, read from the QMP socket at ``path``."""
    qmp = QMPConnection(path, timeout=10.0)
    try:
        state: dict[str, Any] = {"version": qmp.greeting["QMP"]["version"]}
        state["devices"] = qmp.cmd("query-memory-devices")
        try:
            state["memory"] = qmp.cmd("qom-get", {"path": "/machine", "property": "memory"})
        except MemdevdError:
            state["memory"] = None
        mtree = qmp.cmd("human-monitor-command", {"command-line": "info mtree"})
        found = MTREE_DEVICE_MEMORY.search(mtree)
        state["device-memory"] = (
            {
                "base": int(found.group(1), 16),
                "size": int(found.group(2), 16) + 1 - int(found.group(1), 16),
            }
            if found
            else None
        )
        try:
            state["memslots"] = qmp.cmd("x-memdevd-query-memslots")
        except MemdevdError:
            state["memslots"] = None  # a real QEMU keeps its accounting inside
        return state
    finally:
        qmp.close()


# --- layout --------------------------------------------------------------------------


@record
class Extent:
    """One piece of the region: a device, a free gap or alignment waste."""

    kind: str  # device type, "free" or "waste"
    start: int
    size: int
    label: str
    info: dict[str, Any]


def human_size(n: int) -> str:
    for unit, shift in (("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.4g} {unit}"
    return f"{n} B"


def _device_range(dev: dict[str, Any]) -> tuple[int, int] | None:
    d = dev["data"]
    addr = d.get("addr", d.get("memaddr"))
    size = d.get("max-size", d.get("size"))
    if addr is None or size is None:
        return None
    return int(addr), int(size)


def _alignments(state: dict[str, Any]) -> dict[str, int]:
    """Alignment per device (qom-path or id): memdevd reports it; else what QMP shows."""
    out: dict[str, int] = {}
    memslots = state.get("memslots") or {}
    for dev in memslots.get("devices", []):
        if "alignment" in dev:
            out[dev.get("id") or dev["qom-path"]] = int(dev["alignment"])
    for dev in state["devices"]:
        d = dev["data"]
        key = d.get("id") or ""
        if key and key not in out and dev["type"] == "virtio-mem":
            out[key] = int(d["block-size"])
    return out


def layout(state: dict[str, Any]) -> list[Extent]:
    """The region cut into devices and gaps, by address."""
    dm = state.get("device-memory")
    if not dm:
        return []
    base, end = dm["base"], dm["base"] + dm["size"]
    align = _alignments(state)
    devices = []
    for dev in state["devices"]:
        rng = _device_range(dev)
        if rng is None or not base <= rng[0] < end:
            continue  # e.g. SGX EPC sections live outside device memory
        devices.append((rng[0], rng[1], dev))
    devices.sort(key=lambda t: t[0])
    out: list[Extent] = []
    cursor = base
    for addr, size, dev in devices:
        if addr > cursor:
            gap = addr - cursor
            key = dev["data"].get("id") or ""
            waste = gap < align.get(key, 0)
            out.append(
                Extent(
                    "waste" if waste else "free",
                    cursor,
                    gap,
                    "alignment" if waste else "free",
                    {},
                )
            )
        label = dev["data"].get("id") or dev["type"]
        out.append(Extent(dev["type"], addr, size, label, dev["data"]))
        cursor = max(cursor, addr + size)
    if cursor < end:
        out.append(Extent("free", cursor, end - cursor, "free", {}))
    return out


# --- rendering -----------------------------------------------------------------------

WIDTH = 1000
MARGIN = 20
BAR_Y = 80
BAR_H = 60


def _summary_lines(state: dict[str, Any]) -> list[str]:
    lines = []
    dm = state.get("device-memory")
    if dm:
        lines.append(
            f"device memory 0x{dm['base']:x}-0x{dm['base'] + dm['size'] - 1:x}"
            f" ({human_size(dm['size'])})"
        )
    else:
        lines.append("no device memory (start with -m ...,maxmem=)")
    mem = state.get("memory")
    dimms = sum(1 for d in state["devices"] if d["type"] in ("dimm", "nvdimm"))
    if mem:
        lines.append(
            f"RAM {human_size(mem['size'])}, maxmem {human_size(mem['max-size'])},"
            f" slots {dimms}/{mem.get('slots', 0)} used"
        )
    ms = state.get("memslots")
    if ms:
        lines.append(
            f"memslots: {ms['used-memslots']} used, {ms['required-memslots']} required,"
            f" {ms['reserved-memslots']} reserved"
        )
    return lines


def _memslots_of(state: dict[str, Any], data: dict[str, Any]) -> str:
    ms = state.get("memslots") or {}
    for dev in ms.get("devices", []):
        if data.get("id") is not None and dev.get("id") == data.get("id"):
            return f"{dev['used-memslots']}/{dev['required-memslots']}"
    return ""


def render_svg(state: dict[str, Any]) -> str:
    extents = layout(state)
    dm: dict[str, int] = state.get("device-memory") or {"base": 0, "size": 1}
    scale = (WIDTH - 2 * MARGIN) / dm["size"]
    rows = [e for e in extents if e.kind not in ("free", "waste")]
    height = BAR_Y + BAR_H + 60 + 22 * (len(rows) + 1)
    esc = html.escape
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}"'
        f' viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="13">',
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
    ]
    for i, line in enumerate(_summary_lines(state)):
        out.append(f'<text x="{MARGIN}" y="{22 + 18 * i}">{esc(line)}</text>')
    for e in extents:
        x = MARGIN + (e.start - dm["base"]) * scale
        w = max(2.0, e.size * scale)
        tip = f"{e.label}: 0x{e.start:x} +{human_size(e.size)}"
        color = {"free": FREE_COLOR, "waste": WASTE_COLOR}.get(e.kind, COLORS.get(e.kind, "#999"))
        out.append(
            f'<rect class="{esc(e.kind)}" x="{x:.2f}" y="{BAR_Y}" width="{w:.2f}"'
            f' height="{BAR_H}" fill="{color}" stroke="#333" stroke-width="0.5">'
            f"<title>{esc(tip)}</title></rect>"
        )
        if e.kind == "virtio-mem":
            # max-size outlined; plugged size filled; requested size marked.
            plugged = int(e.info.get("size", 0))
            requested = int(e.info.get("requested-size", 0))
            out[-1] = out[-1].replace(f'fill="{color}"', f'fill="{color}" fill-opacity="0.3"')
            out.append(
                f'<rect class="plugged" x="{x:.2f}" y="{BAR_Y}"'
                f' width="{plugged * scale:.2f}" height="{BAR_H}" fill="{color}"/>'
            )
            rx = x + requested * scale
            out.append(
                f'<line class="requested" x1="{rx:.2f}" y1="{BAR_Y - 6}" x2="{rx:.2f}"'
                f' y2="{BAR_Y + BAR_H + 6}" stroke="#000" stroke-width="2"'
                ' stroke-dasharray="4 2"/>'
            )
        if e.kind not in ("free", "waste") and w > 8 * len(e.label):
            out.append(
                f'<text x="{x + w / 2:.2f}" y="{BAR_Y + BAR_H / 2 + 5}" text-anchor="middle"'
                f' fill="#000000">{esc(e.label)}</text>'
            )
    # The table: one row per device, readable however small its rectangle.
    y = BAR_Y + BAR_H + 40
    header = "device / type / address / size / slot / node / memslots used/required / plugged"
    out.append(f'<text x="{MARGIN}" y="{y}" font-weight="bold">{esc(header)}</text>')
    for e in rows:
        y += 22
        d = e.info
        parts = [
            e.label,
            e.kind,
            f"0x{e.start:x}",
            human_size(e.size),
            str(d.get("slot", "-")),
            str(d.get("node", "-")),
            _memslots_of(state, d) or "-",
        ]
        if e.kind == "virtio-mem":
            parts.append(
                f"{human_size(int(d['size']))} of {human_size(int(d['requested-size']))} requested"
            )
        out.append(
            f'<rect x="{MARGIN}" y="{y - 11}" width="12" height="12"'
            f' fill="{COLORS.get(e.kind, "#999")}"/>'
        )
        out.append(
            f'<text class="device" x="{MARGIN + 18}" y="{y}">{esc(" / ".join(parts))}</text>'
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def render_html(state: dict[str, Any]) -> str:
    """A self-contained page: the SVG inline, a legend and the summary."""
    legend = "".join(
        f'<li><span style="background:{c}"></span>{html.escape(k)}</li>'
        for k, c in [*COLORS.items(), ("free", FREE_COLOR), ("alignment waste", WASTE_COLOR)]
    )
    version = state.get("version", {}).get("qemu", {})
    title = f"memdevd map (QEMU {version.get('major')}.{version.get('minor')})"
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>"
        "body{font-family:sans-serif;margin:16px}"
        "ul{list-style:none;padding:0;display:flex;gap:16px}"
        "li span{display:inline-block;width:12px;height:12px;margin-right:4px}"
        "</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f"{render_svg(state)}<ul>{legend}</ul></body></html>\n"
    )


# --- the subcommand ------------------------------------------------------------------


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="memdevd map",
        description="Draw the device-memory region of a running memdevd or QEMU.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("socket", nargs="?", help="the QMP UNIX socket to read")
    source.add_argument("--state", help="a state saved earlier with --save")
    parser.add_argument("-o", "--output", help="write the SVG here (default: stdout)")
    parser.add_argument("--html", help="also write a self-contained HTML page here")
    parser.add_argument("--save", help="save the state read from the socket as JSON")
    args = parser.parse_args(list(argv))
    try:
        if args.state:
            with open(args.state, encoding="utf-8") as f:
                state = json.load(f)
        else:
            state = read_state(args.socket)
    except (OSError, MemdevdError, ValueError) as exc:
        print(f"memdevd map: {exc}", file=sys.stderr)
        return 1
    if args.save:
        with open(args.save, "w", encoding="utf-8") as f:
            json.dump(state, f, indent=1)
    svg = render_svg(state)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(svg)
    if args.html:
        with open(args.html, "w", encoding="utf-8") as f:
            f.write(render_html(state))
    if not args.output and not args.html and not args.save:
        sys.stdout.write(svg)
    return 0
