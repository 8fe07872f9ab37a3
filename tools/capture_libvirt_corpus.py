#!/usr/bin/env python3
"""Capture the QEMU command lines libvirt 9.0 generates, for tests/corpus/libvirt/.

Runs the private libvirtd of ``tests/libvirt/libvirt_harness.py`` (root,
Debian 12's libvirt 9.0) with the real QEMU 7.2 and 10.0 as emulators,
defines and starts each domain of :data:`DOMAINS` on each, and writes one
corpus entry per (domain, release): the domain XML, the exact argv libvirt
ran the emulator with, the QMP traffic libvirt exchanged with it while
starting it (from libvirtd's monitor debug log) and the files and file
descriptors the argv names, with every host-specific value replaced by a
placeholder (tests/corpus/README.md describes the scheme).

The emulator is a wrapper script that writes its arguments and open file
descriptors to a capture directory and then execs the real QEMU (for 10.0
in a private mount namespace with the Debian 7.2 module directory hidden,
as tests/conformance does).  libvirt probes the wrapper like any emulator,
so the argv is what libvirt generates for that release's capabilities.

The whole capture runs in a private network namespace (``unshare --net``,
entered by re-executing this script): the taps libvirt creates for
``<interface type='ethernet'>``, ``'bridge'`` and ``'network'``, the bridges
they join and the VNC/SPICE ports exist only there.  libvirt's network
driver is loaded besides the QEMU driver for the ``'network'`` interface,
a network in ``<forward mode='bridge'/>`` (no dnsmasq, no firewall rules).

Domains are ``type='qemu'`` (TCG): nothing depends on KVM working here.
Run as root from the repository root::

    .venv/bin/python tools/capture_libvirt_corpus.py [--only NAME...] [--release 7.2|10.0]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests" / "libvirt"), str(REPO / "tests")]

from libvirt_harness import LibvirtHarness, QmpSession, VirshError  # noqa: E402
from live_qemu import qemu_binary  # noqa: E402

OUT = REPO / "tests" / "corpus" / "libvirt"
NETNS_ENV = "MEMDEVD_CORPUS_NETNS"
MODULE_DIR = "/usr/lib/x86_64-linux-gnu/qemu"
BRIDGE = "corpusbr0"
NETWORK_BRIDGE = "corpusbr1"
NETWORK_XML = f"""<network>
  <name>corpusnet</name>
  <forward mode='bridge'/>
  <bridge name='{NETWORK_BRIDGE}'/>
</network>
"""

SETUP_NOTE = (
    f"in the capture's network namespace: bridges {BRIDGE} (192.0.2.1/24) and "
    f"{NETWORK_BRIDGE}, both up, and the libvirt network defined and started from: "
    + NETWORK_XML.replace("\n", " ").strip()
)

# --------------------------------------------------------------------------
# The domains.  @TMPDIR@ is the capture's file directory (images), @NAME@
# the domain name, @EMULATOR@ the wrapper.  Files to create are declared
# with their placeholder path; the same declaration goes into the entry.


@dataclass(frozen=True)
class Domain:
    description: str
    xml: str
    files: dict[str, dict[str, Any]] = field(default_factory=dict)


def image(kind: str, size: str, description: str) -> dict[str, Any]:
    return {"create": kind, "size": size, "description": description}


VIRT_INSTALL_DEVICES = """
    <emulator>@EMULATOR@</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' discard='unmap'/>
      <source file='@TMPDIR@/@NAME@.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <controller type='usb' model='qemu-xhci' ports='15'/>
    <interface type='user'>
      <mac address='52:54:00:6b:3c:01'/>
      <model type='virtio'/>
    </interface>
    <console type='pty'/>
    <channel type='unix'>
      <source mode='bind'/>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>
    <input type='tablet' bus='usb'/>
    <graphics type='vnc' port='-1' autoport='yes'>
      <listen type='address' address='127.0.0.1'/>
    </graphics>
    <video>
      <model type='virtio' heads='1' primary='yes'/>
    </video>
    <memballoon model='virtio'/>
    <rng model='virtio'>
      <backend model='random'>/dev/urandom</backend>
    </rng>
"""


def virt_install(machine: str, uuid: str) -> str:
    """The domain virt-install 4.1 (Debian 12) defines for a Debian 12 guest
    (``virt-install --osinfo debian12 --disk size=... --network user
    --graphics vnc``), TCG instead of KVM (no ``<cpu mode='host-passthrough'/>``)."""
    return f"""<domain type='qemu'>
  <name>@NAME@</name>
  <uuid>{uuid}</uuid>
  <metadata>
    <libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0">
      <libosinfo:os id="http://debian.org/debian/12"/>
    </libosinfo:libosinfo>
  </metadata>
  <memory unit='KiB'>1048576</memory>
  <currentMemory unit='KiB'>1048576</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='x86_64' machine='{machine}'>hvm</type>
    <boot dev='hd'/>
  </os>
  <features>
    <acpi/>
    <apic/>
    <vmport state='off'/>
  </features>
  <clock offset='utc'>
    <timer name='rtc' tickpolicy='catchup'/>
    <timer name='pit' tickpolicy='delay'/>
    <timer name='hpet' present='no'/>
  </clock>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <pm>
    <suspend-to-mem enabled='no'/>
    <suspend-to-disk enabled='no'/>
  </pm>
  <devices>{VIRT_INSTALL_DEVICES}  </devices>
</domain>
"""


def small(uuid: str, devices: str, machine: str = "q35", extra: str = "") -> str:
    """A minimal domain around ``devices`` (1 vCPU, 512 MiB, ACPI)."""
    return f"""<domain type='qemu'>
  <name>@NAME@</name>
  <uuid>{uuid}</uuid>
  <memory unit='MiB'>512</memory>
  <vcpu>1</vcpu>{extra}
  <os>
    <type arch='x86_64' machine='{machine}'>hvm</type>
  </os>
  <features>
    <acpi/>
    <apic/>
  </features>
  <devices>
    <emulator>@EMULATOR@</emulator>{devices}  </devices>
</domain>
"""


def video(model: str, machine: str = "q35") -> str:
    uuid = {
        "vga": "6b1f3c1e-0000-4000-8000-0000000000e1",
        "virtio": "6b1f3c1e-0000-4000-8000-0000000000e2",
        "bochs": "6b1f3c1e-0000-4000-8000-0000000000e3",
        "cirrus": "6b1f3c1e-0000-4000-8000-0000000000e4",
        "none": "6b1f3c1e-0000-4000-8000-0000000000e5",
    }[model]
    graphics = (
        ""
        if model == "none"
        else """
    <graphics type='vnc' port='-1' autoport='yes'>
      <listen type='address' address='127.0.0.1'/>
    </graphics>"""
    )
    return small(
        uuid,
        f"""{graphics}
    <video>
      <model type='{model}'/>
    </video>
""",
        machine,
    )


QCOW2_DISK = "qcow2 image, 64 MiB virtual (qemu-img create -f qcow2)"
RAW_DISK = "raw image, 64 MiB, sparse (qemu-img create -f raw)"

DOMAINS: dict[str, Domain] = {
    "virt-install-q35": Domain(
        "(a) virt-install's default q35 domain: virtio-blk on qcow2, user-mode "
        "virtio-net, VNC, virtio-gpu, qemu-xhci + usb-tablet, pty console, "
        "virtio-rng, virtio-balloon, guest agent channel on virtio-serial",
        virt_install("q35", "6b1f3c1e-0000-4000-8000-0000000000a1"),
        {"@TMPDIR@/@NAME@.qcow2": image("qcow2", "64M", QCOW2_DISK)},
    ),
    "virt-install-pc": Domain(
        "(g) the virt-install domain of (a) on the pc (i440fx) machine",
        virt_install("pc", "6b1f3c1e-0000-4000-8000-0000000000a2"),
        {"@TMPDIR@/@NAME@.qcow2": image("qcow2", "64M", QCOW2_DISK)},
    ),
    "disks-q35": Domain(
        "(b) disks: raw and qcow2 on virtio-blk, qcow2 on SATA (ICH9 AHCI), raw "
        "on virtio-scsi + scsi-hd, a SATA CD-ROM with media, a SCSI CD-ROM without",
        small(
            "6b1f3c1e-0000-4000-8000-0000000000b1",
            """
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='@TMPDIR@/vda.raw'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='@TMPDIR@/vdb.qcow2'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='@TMPDIR@/sda.qcow2'/>
      <target dev='sda' bus='sata'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='@TMPDIR@/sdb.raw'/>
      <target dev='sdb' bus='scsi'/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <source file='@TMPDIR@/install.iso'/>
      <target dev='sdc' bus='sata'/>
      <readonly/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <target dev='sdd' bus='scsi'/>
      <readonly/>
    </disk>
    <controller type='scsi' model='virtio-scsi'/>
""",
        ),
        {
            "@TMPDIR@/vda.raw": image("raw", "64M", RAW_DISK),
            "@TMPDIR@/vdb.qcow2": image("qcow2", "64M", QCOW2_DISK),
            "@TMPDIR@/sda.qcow2": image("qcow2", "64M", QCOW2_DISK),
            "@TMPDIR@/sdb.raw": image("raw", "64M", RAW_DISK),
            "@TMPDIR@/install.iso": image("raw", "4M", "CD-ROM media: a raw file, 4 MiB"),
        },
    ),
    "nics-q35": Domain(
        "(c) NICs: user-mode e1000e; a tap libvirt creates for <interface "
        "type='ethernet'> (virtio, passed as an fd); a tap on a bridge (<interface "
        "type='bridge'>, rtl8139) and one through a libvirt network in bridge mode "
        "(virtio): the taps reach QEMU as file descriptors",
        small(
            "6b1f3c1e-0000-4000-8000-0000000000c1",
            f"""
    <interface type='user'>
      <mac address='52:54:00:6b:3c:11'/>
      <model type='e1000e'/>
    </interface>
    <interface type='ethernet'>
      <mac address='52:54:00:6b:3c:12'/>
      <model type='virtio'/>
    </interface>
    <interface type='bridge'>
      <mac address='52:54:00:6b:3c:13'/>
      <source bridge='{BRIDGE}'/>
      <model type='rtl8139'/>
    </interface>
    <interface type='network'>
      <mac address='52:54:00:6b:3c:14'/>
      <source network='corpusnet'/>
      <model type='virtio'/>
    </interface>
""",
        ),
    ),
    "spice-qxl": Domain(
        "(d) SPICE graphics with qxl video, as virt-install makes it: spicevmc "
        "channel, ich9 sound, two USB redirection devices",
        small(
            "6b1f3c1e-0000-4000-8000-0000000000d1",
            """
    <controller type='usb' model='qemu-xhci' ports='15'/>
    <channel type='spicevmc'>
      <target type='virtio' name='com.redhat.spice.0'/>
    </channel>
    <input type='tablet' bus='usb'/>
    <graphics type='spice' autoport='yes'>
      <listen type='address' address='127.0.0.1'/>
      <image compression='off'/>
    </graphics>
    <sound model='ich9'/>
    <video>
      <model type='qxl' ram='65536' vram='65536' vgamem='16384' heads='1' primary='yes'/>
    </video>
    <redirdev bus='usb' type='spicevmc'/>
    <redirdev bus='usb' type='spicevmc'/>
""",
        ),
    ),
    "video-vga": Domain("(e) VGA video (std VGA) with VNC", video("vga")),
    "video-virtio": Domain("(e) virtio video (virtio-vga) with VNC", video("virtio")),
    "video-bochs": Domain("(e) bochs video (bochs-display) with VNC", video("bochs")),
    "video-cirrus": Domain("(e) cirrus video on pc with VNC", video("cirrus", "pc")),
    "video-none": Domain("(e) video model none, no graphics", video("none")),
    "misc-q35": Domain(
        "(f) i6300esb watchdog, two iothreads with a virtio disk on one, a "
        "virtio-balloon with stats, virtio-rng from egd (a listening unix "
        "socket) and from /dev/random, pty serial and console, a pty parallel port",
        small(
            "6b1f3c1e-0000-4000-8000-0000000000f1",
            """
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' iothread='1'/>
      <source file='@TMPDIR@/vda.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <serial type='pty'>
      <target type='isa-serial' port='0'>
        <model name='isa-serial'/>
      </target>
    </serial>
    <console type='pty'>
      <target type='serial' port='0'/>
    </console>
    <parallel type='pty'>
      <target port='0'/>
    </parallel>
    <watchdog model='i6300esb' action='reset'/>
    <memballoon model='virtio'>
      <stats period='10'/>
    </memballoon>
    <rng model='virtio'>
      <backend model='egd' type='unix'>
        <source mode='bind' path='@TMPDIR@/egd.sock'/>
      </backend>
    </rng>
    <rng model='virtio'>
      <rate bytes='1024' period='1000'/>
      <backend model='random'>/dev/random</backend>
    </rng>
""",
            extra="\n  <iothreads>2</iothreads>",
        ),
        {"@TMPDIR@/vda.qcow2": image("qcow2", "64M", QCOW2_DISK)},
    ),
    "watchdog-itco": Domain(
        "(f) the iTCO watchdog of q35's ICH9 LPC",
        small(
            "6b1f3c1e-0000-4000-8000-0000000000f2",
            """
    <watchdog model='itco' action='poweroff'/>
""",
        ),
    ),
    "memory-dimm-pc": Domain(
        "memory only: libvirt's memory hot-plug test domain (pc, NUMA cell, "
        "16 slots) with a cold-plugged DIMM and virtio-mem",
        small(
            "6b1f3c1e-0000-4000-8000-000000000101",
            """
    <memory model='dimm'>
      <target>
        <size unit='MiB'>512</size>
        <node>0</node>
      </target>
    </memory>
    <memory model='virtio-mem'>
      <target>
        <size unit='MiB'>1024</size>
        <node>0</node>
        <block unit='MiB'>2</block>
        <requested unit='MiB'>256</requested>
      </target>
    </memory>
""",
            machine="pc",
            extra="""
  <maxMemory slots='16' unit='GiB'>16</maxMemory>
  <cpu>
    <numa>
      <cell id='0' cpus='0' memory='512' unit='MiB'/>
    </numa>
  </cpu>""",
        ),
    ),
    "memory-nvdimm-q35": Domain(
        "memory only: q35 with an NVDIMM (file backend, label) and a DIMM cold-plugged",
        small(
            "6b1f3c1e-0000-4000-8000-000000000102",
            """
    <memory model='nvdimm' access='shared'>
      <source>
        <path>@TMPDIR@/nvdimm0.img</path>
      </source>
      <target>
        <size unit='MiB'>128</size>
        <node>0</node>
        <label>
          <size unit='KiB'>128</size>
        </label>
      </target>
    </memory>
    <memory model='dimm'>
      <target>
        <size unit='MiB'>256</size>
        <node>0</node>
      </target>
    </memory>
""",
            extra="""
  <maxMemory slots='16' unit='GiB'>16</maxMemory>
  <cpu>
    <numa>
      <cell id='0' cpus='0' memory='512' unit='MiB'/>
    </numa>
  </cpu>""",
        ),
        {"@TMPDIR@/nvdimm0.img": image("zero", "128M", "NVDIMM backing file, 128 MiB, sparse")},
    ),
}

# --------------------------------------------------------------------------
# Emulator wrappers

RECORDER = """#!/bin/sh
# memdevd corpus capture: record argv and open fds, then run QEMU {release}.
out={capdir}/$(date +%s%N)-$$
for f in /proc/$$/fd/*; do
    printf '%s %s\\n' "${{f##*/}}" "$(readlink "$f")"
done > "$out.fds"
printf '%s\\0' "$@" > "$out.argv"
exec {exec_line} "$@"
"""


def wrapper_text(release: str, capdir: Path, empty: Path) -> str:
    binary = qemu_binary(release)
    if binary is None:
        raise SystemExit(f"QEMU {release} is not installed (tools/install-qemu.sh)")
    if release == "7.2":
        line = shlex.quote(binary)
    else:
        script = f'mount --bind {empty} {MODULE_DIR} && exec "$@"'
        line = " ".join(
            shlex.quote(a)
            for a in ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh"]
        )
        line += " " + shlex.quote(binary)
    return RECORDER.format(release=release, capdir=capdir, exec_line=line)


# --------------------------------------------------------------------------
# Placeholders


class Capturer(LibvirtHarness):
    """The libvirt harness with the network driver loaded as well."""

    def _prepare_root(self) -> None:
        super()._prepare_root()
        module = Path(
            str(
                next(
                    iter(
                        Path("/usr/lib").glob(
                            "*/libvirt/connection-driver/libvirt_driver_network.so"
                        )
                    )
                )
            )
        )
        os.symlink(module, self.root / "drivers" / module.name)


def create_file(path: Path, spec: dict[str, Any]) -> None:
    kind = spec["create"]
    if kind in ("qcow2", "raw"):
        subprocess.run(
            ["qemu-img", "create", "-q", "-f", kind, str(path), spec["size"]], check=True
        )
    elif kind == "zero":
        path.touch()
        os.truncate(path, parse_size(spec["size"]))
    else:
        raise ValueError(kind)


def parse_size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)


FD_PATTERNS = (
    # -chardev socket,id=X,fd=N,...  (monitor, listening chardevs)
    re.compile(r"^(?P<pre>.*?\bid=(?P<id>[^,]+).*?\bfd=)(?P<fd>\d+)(?P<post>.*)$"),
    # JSON -chardev/-netdev: "fd":"N" / "fds":"N:M" / "vhostfd":"N"
    re.compile(r'^(?P<pre>.*"(?:fd|fds|vhostfd|vhostfds)":")(?P<fd>[\d:]+)(?P<post>".*)$'),
)


def json_id(arg: str) -> str | None:
    try:
        obj = json.loads(arg)
    except ValueError:
        return None
    if isinstance(obj, dict):
        value = obj.get("id")
        return str(value) if value is not None else None
    return None


@dataclass
class Placeholders:
    """Turns one captured argv (and its QMP traffic) host-independent."""

    name: str
    files_dir: Path
    fds: dict[str, str]  # fd number -> readlink target, from the wrapper
    fd_decls: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def short(self) -> str:
        """libvirt's short domain name in directory names (the first 20 characters)."""
        return self.name[:20]

    def path(self, text: str) -> str:
        text = text.replace(str(self.files_dir), "@TMPDIR@")
        text = re.sub(
            rf"/var/lib/libvirt/qemu/channel/target/domain-\d+-{re.escape(self.short)}",
            "@TMPDIR@/channel",
            text,
        )
        text = re.sub(
            rf"/var/lib/libvirt/qemu/domain-\d+-{re.escape(self.short)}", "@TMPDIR@/domain", text
        )
        return text

    def argv(self, argv: list[str], xml: str) -> list[str]:
        out: list[str] = []
        prev = ""
        for arg in argv:
            arg = self.path(arg)
            if prev == "-vnc":
                arg = re.sub(r"^((?:\d+\.){3}\d+):\d+", r"\1:@VNC_DISPLAY@", arg)
            if prev == "-spice":
                arg = re.sub(r"\bport=\d+", "port=@PORT:spice@", arg)
            arg = self.fd(prev, arg, xml)
            out.append(arg)
            prev = arg
        return out

    def fd(self, option: str, arg: str, xml: str) -> str:
        for pattern in FD_PATTERNS:
            m = pattern.match(arg)
            if not m:
                continue
            owner = m.group("id") if "id" in pattern.groupindex else json_id(arg)
            numbers = m.group("fd").split(":")
            names = []
            for i, number in enumerate(numbers):
                target = self.fds.get(number, "?")
                suffix = f"-{i}" if len(numbers) > 1 else ""
                if "vhostfd" in m.group("pre"):
                    suffix = "-vhost" + suffix
                name = f"@FD:{owner}{suffix}@"
                self.fd_decls[name] = self.describe(option, owner, target, xml)
                names.append(name)
            return m.group("pre") + ":".join(names) + m.group("post")
        return arg

    def describe(self, option: str, owner: str | None, target: str, xml: str) -> dict[str, Any]:
        if target.startswith("socket:"):
            kind = "unix-listen"
            what = (
                "libvirt's QMP monitor: a listening unix socket"
                if owner == "charmonitor"
                else f"chardev {owner}: a listening unix socket libvirt created"
            )
            return {"kind": kind, "description": what}
        if target == "/dev/net/tun":
            # libvirt opens virtio NICs' taps with IFF_VNET_HDR.
            return {
                "kind": "tap",
                "vnet_hdr": True,
                "description": f"netdev {owner}: a tap device libvirt created (/dev/net/tun); "
                "QEMU queries it with TUNGETIFF, so it must be a real tap",
            }
        if target.startswith("/dev/vhost"):
            return {"kind": "vhost", "device": target, "description": f"{target} for {owner}"}
        return {"kind": "unknown", "target": target, "description": f"fd for {owner}"}


def transcript(sessions: list[QmpSession], ph: Placeholders) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for session in sessions:
        if session.is_probe:
            continue
        for m in session.messages:
            out.append({m.direction: m.msg})
    text = ph.path(json.dumps(out))
    text = re.sub(r"/dev/pts/\d+", "/dev/pts/@PTY@", text)
    text = re.sub(r'"thread-id": \d+', '"thread-id": "@THREAD_ID@"', text)
    text = re.sub(r'"thread_id": \d+', '"thread_id": "@THREAD_ID@"', text)
    return list(json.loads(text))


def fix_tap_vnet_hdr(argv: list[str], decls: dict[str, dict[str, Any]]) -> None:
    """libvirt sets IFF_VNET_HDR only on taps of virtio NICs."""
    models: dict[str, str] = {}
    for arg in argv:
        try:
            obj = json.loads(arg)
        except ValueError:
            continue
        if isinstance(obj, dict) and "netdev" in obj and "driver" in obj:
            models[str(obj["netdev"])] = str(obj["driver"])
    for name, decl in decls.items():
        if decl.get("kind") == "tap":
            owner = name[len("@FD:") : -1]
            decl["vnet_hdr"] = models.get(owner, "").startswith("virtio-net")


# --------------------------------------------------------------------------
# Writing entries


def dump_entry(entry: dict[str, Any]) -> str:
    """JSON with one argv element and one QMP message per line (diffable)."""
    lines = ["{"]
    items = list(entry.items())
    for i, (key, value) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        if isinstance(value, list) and value:
            lines.append(f" {json.dumps(key)}: [")
            for j, v in enumerate(value):
                sep = "," if j < len(value) - 1 else ""
                lines.append(f"  {json.dumps(v, ensure_ascii=False)}{sep}")
            lines.append(f" ]{comma}")
        elif isinstance(value, dict) and value:
            body = json.dumps(value, indent=1, ensure_ascii=False).replace("\n", "\n ")
            lines.append(f" {json.dumps(key)}: {body}{comma}")
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def newest_argv(capdir: Path, name: str) -> tuple[list[str], dict[str, str]]:
    for path in sorted(capdir.glob("*.argv"), reverse=True):
        argv = path.read_bytes().split(b"\0")[:-1]
        args = [a.decode() for a in argv]
        if f"guest={name},debug-threads=on" in args:
            fds = {}
            for line in path.with_suffix(".fds").read_text().splitlines():
                number, _, target = line.partition(" ")
                fds[number] = target
            return args, fds
    raise LookupError(f"no argv recorded for {name}")


def ph_strip(text: str, files: Path) -> str:
    """A libvirt error message without time stamps and host paths."""
    text = text.replace(str(files), "@TMPDIR@")
    return re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z ", "", text)


def versions() -> dict[str, str]:
    def pkg(name: str) -> str:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f", "${Version}", name], capture_output=True, text=True
        )
        return out.stdout.strip()

    qemu = {}
    for release in ("7.2", "10.0"):
        binary = qemu_binary(release)
        if binary:
            first = subprocess.run([binary, "--version"], capture_output=True, text=True)
            qemu[release] = first.stdout.splitlines()[0]
    return {
        "libvirt": f"libvirt-daemon {pkg('libvirt-daemon')}",
        "qemu-7.2": qemu.get("7.2", ""),
        "qemu-10.0": qemu.get("10.0", ""),
    }


def capture(names: list[str], releases: list[str], out: Path) -> list[str]:
    """Capture ``names`` x ``releases``; returns the failures (and writes entries)."""
    # lo up for VNC/SPICE on 127.0.0.1.  The bridges get IPv6 link-local
    # addresses when up; with no IPv4 address besides lo's, glibc's
    # getaddrinfo(AI_ADDRCONFIG) then refuses 127.0.0.1 and SPICE fails
    # ("Address family for hostname not supported"): give one an IPv4 address.
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    for bridge in (BRIDGE, NETWORK_BRIDGE):
        subprocess.run(["ip", "link", "add", bridge, "type", "bridge"], check=True)
        subprocess.run(["ip", "link", "set", bridge, "up"], check=True)
    subprocess.run(["ip", "addr", "add", "192.0.2.1/24", "dev", BRIDGE], check=True)
    provenance = versions()
    failures: list[str] = []
    out.mkdir(parents=True, exist_ok=True)
    with Capturer() as lv:
        files = lv.root / "files" / "corpus"
        files.mkdir()
        capdir = lv.root / "files" / "argv"
        capdir.mkdir()
        empty = Path(tempfile.mkdtemp(dir=lv.root / "files"))
        net = lv.write_file("corpusnet.xml", NETWORK_XML)
        lv.virsh("net-define", str(net))
        lv.virsh("net-start", "corpusnet")
        for release in releases:
            wrapper = lv.root / "files" / f"qemu-{release}"
            wrapper.write_text(wrapper_text(release, capdir, empty))
            wrapper.chmod(0o755)
            for name in names:
                domain = DOMAINS[name]
                dom = f"{name}-{release.replace('.', '')}"
                for key, spec in domain.files.items():
                    path = Path(key.replace("@TMPDIR@", str(files)).replace("@NAME@", dom))
                    if not path.exists():
                        create_file(path, spec)
                xml = (
                    domain.xml.replace("@TMPDIR@", str(files))
                    .replace("@NAME@", dom)
                    .replace("@EMULATOR@", str(wrapper))
                )
                try:
                    lv.define(xml)
                except VirshError as exc:
                    message = exc.result.stderr.strip()
                    failures.append(f"{name} on {release}: {message}")
                    print(f"FAILED {name} {release}: {message}", file=sys.stderr)
                    continue
                mark = lv.log_mark()
                started = lv.virsh("start", dom, check=False)
                start_error = None
                if started.returncode != 0:
                    start_error = ph_strip(started.stderr.strip(), files)
                    failures.append(f"{name} on {release}: {start_error}")
                    print(f"FAILED {name} {release}: {start_error}", file=sys.stderr)
                else:
                    time.sleep(0.5)  # let libvirt finish its start-up queries
                try:
                    argv, fds = newest_argv(capdir, dom)
                except LookupError:  # libvirt refused before running the emulator
                    lv.virsh("undefine", dom, check=False)
                    continue
                ph = Placeholders(dom, files, fds)
                entry_argv = ph.argv(argv, xml)
                fix_tap_vnet_hdr(entry_argv, ph.fd_decls)
                qmp = transcript(lv.qmp_sessions(mark), ph)
                lv.virsh("destroy", dom, check=False)
                lv.virsh("undefine", dom, check=False)
                leftovers = [
                    a
                    for a in entry_argv
                    if re.search(r"/var/lib/libvirt|/run/libvirt|/var/log|memdevd-libvirt-", a)
                ]
                if leftovers:
                    raise RuntimeError(f"{name}: host paths left in argv: {leftovers}")
                entry_files = {k.replace("@NAME@", dom): v for k, v in domain.files.items()}
                if any("@TMPDIR@/domain/master-key.aes" in a for a in entry_argv):
                    entry_files["@TMPDIR@/domain/master-key.aes"] = {
                        "create": "random",
                        "size": "32",
                        "description": "libvirt's per-domain master key (32 random bytes) "
                        "in the domain directory",
                    }
                if any("@TMPDIR@/channel/" in a for a in entry_argv):
                    entry_files["@TMPDIR@/channel"] = {
                        "create": "dir",
                        "description": "libvirt's channel directory for the domain",
                    }
                entry = {
                    "description": domain.description,
                    "release": release,
                    "captured": {
                        **provenance,
                        "date": time.strftime("%Y-%m-%d"),
                        "how": "tools/capture_libvirt_corpus.py: virsh define + start, "
                        "argv recorded by the emulator wrapper",
                    },
                    **({"libvirt_start_error": start_error} if start_error else {}),
                    **(
                        {"libvirt_setup": SETUP_NOTE}
                        if "<interface type='network'" in xml or "<source bridge=" in xml
                        else {}
                    ),
                    "domain_xml": ph.path(xml).replace(str(wrapper), "@EMULATOR@"),
                    "argv": entry_argv,
                    "files": entry_files,
                    "fds": ph.fd_decls,
                    "qmp": qmp,
                }
                target = out / f"{name}-{release}.json"
                target.write_text(dump_entry(entry))
                print(f"wrote {target} ({len(entry_argv)} args, {len(qmp)} QMP messages)")
    return failures


def check(fresh: Path, committed: Path) -> int:
    """Compare the command lines of a fresh capture with the committed entries."""
    status = 0
    for path in sorted(fresh.glob("*.json")):
        new = json.loads(path.read_text())
        old_path = committed / path.name
        if not old_path.exists():
            print(f"{path.name}: not in {committed}")
            status = 1
            continue
        old = json.loads(old_path.read_text())
        for key in ("argv", "files", "fds", "libvirt_start_error"):
            if new.get(key) != old.get(key):
                print(f"{path.name}: {key} differs")
                if key == "argv":
                    import difflib

                    for line in difflib.unified_diff(old[key], new[key], lineterm="", n=1):
                        print("   ", line)
                status = 1
    print("the committed command lines are current" if status == 0 else "re-capture needed")
    return status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", choices=sorted(DOMAINS), help="domains to capture")
    parser.add_argument("--release", action="append", choices=("7.2", "10.0"))
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--failures", type=Path, help="write the start failures here (JSON)")
    parser.add_argument(
        "--check",
        action="store_true",
        help="capture into a temporary directory and compare argv, files and fds with --out "
        "(exit 1 if libvirt now generates something else)",
    )
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root (libvirt harness, network namespace)")
    if os.environ.get(NETNS_ENV) != "1":
        env = {**os.environ, NETNS_ENV: "1"}
        unshare = shutil.which("unshare") or "unshare"
        return subprocess.call([unshare, "--net", sys.executable, *sys.argv], env=env)
    names, releases = args.only or list(DOMAINS), args.release or ["7.2", "10.0"]
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            capture(names, releases, Path(tmp))
            return check(Path(tmp), args.out)
    failures = capture(names, releases, args.out)
    if args.failures:
        args.failures.write_text(json.dumps(failures, indent=1) + "\n")
    for failure in failures:
        print(f"not captured: {failure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
