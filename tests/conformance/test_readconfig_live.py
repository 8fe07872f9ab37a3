"""Live: ``-readconfig FILE`` on real QEMU 7.2/10.0 (and 11.1) and on memdevd.

Config files as qemu-server's ``/usr/share/qemu-server/pve-q35-4.0.cfg``
(Proxmox VE starts every q35 VM with it) and broken ones: the same start-up
outcome (stderr, exit status, and which location an error names: the file's
line in 7.2, the ``-readconfig`` option in 10.0 and 11.1 for what fails while
the file is read; the file's line for a device that fails later) and, for
the Proxmox file, the same ``query-pci`` and ``qom-list`` of
``/machine/peripheral``.
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
import tempfile
from pathlib import Path

import pytest

from memdevd.releases.table import get_release

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from live_qemu import (
    QEMU_VERSIONS,
    Outcome,
    ask_both,
    ask_or_exit,
    compare_startups,
    runnable,
)

pytestmark = pytest.mark.live_qemu

COMMON = ["-S", "-nodefaults", "-display", "none", "-accel", "tcg", "-machine", "q35"]
JOBS = int(os.environ.get("MEMDEVD_LIVE_JOBS", "2"))
TIMEOUT = 30.0
FILES = Path(tempfile.mkdtemp(prefix="memdevd-readconfig-live-"))


def _device(dev_id: str, **props: str) -> str:
    return f'[device "{dev_id}"]\n' + "".join(f'  {k} = "{v}"\n' for k, v in props.items()) + "\n"


#: qemu-server's pve-q35-4.0.cfg, as Proxmox VE ships it (from memory).
PVE_Q35 = "".join(
    [
        _device("ehci", driver="ich9-usb-ehci1", multifunction="on", bus="pcie.0", addr="1d.7"),
        *(
            _device(
                f"uhci-{n}",
                driver=f"ich9-usb-uhci{n}",
                multifunction="on",
                bus="pcie.0",
                addr=f"1d.{n - 1}",
                masterbus="ehci.0",
                firstport=str(2 * (n - 1)),
            )
            for n in (1, 2, 3)
        ),
        _device("ehci-2", driver="ich9-usb-ehci2", multifunction="on", bus="pcie.0", addr="1a.7"),
        *(
            _device(
                f"uhci-{n}",
                driver=f"ich9-usb-uhci{n}",
                multifunction="on",
                bus="pcie.0",
                addr=f"1a.{n - 4}",
                masterbus="ehci-2.0",
                firstport=str(2 * (n - 4)),
            )
            for n in (4, 5, 6)
        ),
        *(
            _device(
                f"ich9-pcie-port-{n}",
                driver="ioh3420",
                multifunction="on",
                bus="pcie.0",
                addr=f"1c.{n - 1}",
                port=str(n),
                chassis=str(n),
            )
            for n in (1, 2, 3, 4)
        ),
        _device("pcidmi", driver="i82801b11-bridge", bus="pcie.0", addr="1e.0"),
        *(
            _device(
                f"pci.{n}",
                driver="pci-bridge",
                bus="pcidmi",
                addr=f"{n + 1}.0",
                chassis_nr=str(n + 1),
            )
            for n in (0, 1, 2)
        ),
    ]
)

CONFIGS = {
    "pve-q35.cfg": "# qemu-server\n" + PVE_Q35,
    "no-group.cfg": '  driver = "x"\n',
    "unknown-group.cfg": '[foo "x"]\n  driver = "x"\n[device "y"]\n  driver = "e1000"\n',
    "unknown-group-last.cfg": '[device "y"]\n  driver = "e1000"\n\n[foo]\n  a = "b"\n',
    "invalid-parameter.cfg": '[name]\n  bogus = "1"\n',
    "spaces.cfg": '[device "d"]\n  driver = "e1000"\n   \n',
    "bare-word.cfg": '[device "x"]\n  driver = "pc-dimm"\n  bogus\n',
    "unknown-property.cfg": '[device "x"]\n  driver = "e1000"\n  bogusprop = "1"\n  addr = "zz"\n',
    "realize.cfg": (
        '[device "d"]\n  driver = "e1000"\n  addr = "zz"\n\n[device "e"]\n  driver = "e1000"\n'
    ),
    "duplicate-id.cfg": '[device "n0"]\n  driver = "e1000"\n',
    "bad-id.cfg": '[device "0bad"]\n  driver = "e1000"\n',
    "msg-unread.cfg": '[msg]\n  timestamp = "maybe"\n  bogus = "1"\n',
    "memory-smp.cfg": '[memory]\n  size = "1Q"\n\n[smp-opts]\n  cpus = "2"\n',
    "machine.cfg": '[machine]\n  type = "pc"\n  nvdimm = "maybe"\n',
    "object.cfg": '[object "m0"]\n  qom-type = "memory-backend-ram"\n  size = "1Q"\n',
    "object-ok.cfg": (
        '[object "m0"]\n  qom-type = "memory-backend-ram"\n  size = "128M"\n\n'
        '[device "dimm0"]\n  driver = "pc-dimm"\n  memdev = "m0"\n'
    ),
    "bad-id-not-last.cfg": '[device "0bad"]\n  driver = "e1000"\n[name]\n  guest = "x"\n',
    "object-no-type.cfg": '[object "m0"]\n  size = "1G"\n',
    "comma-value.cfg": '[device "d"]\n  driver = "e1000"\n  netdev = "a,b"\n',
}
# fgets() of 1024 bytes splits the line; %63s cuts the rest's word.
CONFIGS["long-line.cfg"] = '[name]\n  guest = "' + "v" * 1100 + '"\n'
# A group without keys before any key line: its options have no location.
CONFIGS["first-group-empty.cfg"] = '[device "a"]\n[device "b"]\n  driver = "e1000"\n'
CONFIGS["empty-group-later.cfg"] = '[name]\n  guest = "x"\n[device "a"]\n[device "b"]\n'
CONFIGS.update(
    {
        "global.cfg": '[global]\n  driver = "ICH9-LPC"\n  property = "noreboot"\n  value = "xx"\n',
        "drive.cfg": '[drive "d0"]\n  file = "/nonexistent.img"\n  if = "none"\n',
        "chardev-mon.cfg": (
            '[chardev "c0"]\n  backend = "socket"\n  path = "/nonexistent/dir/s"\n'
            '  server = "on"\n  wait = "off"\n\n[mon]\n  chardev = "c0"\n  mode = "control"\n'
        ),
        "numa.cfg": '[numa]\n  type = "node"\n  nodeid = "5"\n  memdev = "nope"\n',
        "machine-then-option.cfg": '[machine]\n  type = "pc"\n',
        "netdev.cfg": '[netdev "n0"]\n  type = "user"\n  bogus = "1"\n',
        "fsdev-no-path.cfg": '[fsdev "f0"]\n  fsdriver = "local"\n  security_model = "none"\n',
        "fsdev.cfg": (
            f'[fsdev "f0"]\n  fsdriver = "local"\n  path = "{FILES}"\n  security_model = "none"\n'
        ),
        "virtfs-unread.cfg": '[virtfs]\n  local = "on"\n  path = "/nonexistent"\n',
        # vnc_init_func: assert(id) in 7.2 and 10.0, the id assigned in 11.1.
        "vnc-no-id.cfg": '[vnc]\n  vnc = "127.0.0.1:141"\n',
        "vnc-default.cfg": '[vnc "default"]\n  vnc = "127.0.0.1:142"\n',
        "vnc-bad-key.cfg": '[vnc "v"]\n  vnc = "127.0.0.1:143"\n  bogus = "1"\n',
        "vnc-bad-address.cfg": '[vnc "v"]\n  vnc = "127.0.0.1:zz"\n',
        # 7.2 has the spice module; 10.0 and 11.1 have no [spice].
        "spice.cfg": '[spice]\n  port = "5931"\n  disable-ticketing = "on"\n',
        "spice-id.cfg": '[spice "s"]\n  port = "5931"\n',
        "add-fd-stdio.cfg": '[add-fd]\n  fd = "2"\n  set = "3"\n',
        "add-fd-no-fd.cfg": '[add-fd]\n  set = "3"\n\n[name]\n  guest = "x"\n',
        "run-with.cfg": '[run-with]\n  async-teardown = "on"\n  user = "nosuchuser"\n',
        "run-with-bad-key.cfg": '[run-with]\n  bogus = "1"\n',
        "plugin-unread.cfg": '[plugin]\n  file = "/nonexistent/p.so"\n  arg = "x"\n',
        # configure_accelerators' icount_configure; rr= only with -icount.
        # machine_merge_property("smp"): visited with the machine (no location).
        "smp-opts-unexpected.cfg": '[smp-opts]\n  cpus = "2"\n  bogus = "1"\n',
        "icount.cfg": '[icount]\n  shift = "auto"\n  align = "on"\n',
        "icount-bad-shift.cfg": '[icount]\n  shift = "0x"\n',
        "icount-align-no-sleep.cfg": '[icount]\n  shift = "1"\n  align = "on"\n  sleep = "off"\n',
        "icount-rr.cfg": '[icount]\n  rr = "bogus"\n',
        "icount-id.cfg": '[icount "i"]\n  shift = "1"\n',
        # x86_64 links semihosting's stub: no such group.
        "semihosting.cfg": '[semihosting-config]\n  enable = "on"\n',
    }
)
# One group of each kind a VM's file would have, all valid.
CONFIGS["every-group.cfg"] = (
    '[name]\n  guest = "vm1"\n  debug-threads = "on"\n\n[machine]\n  type = "q35"\n\n'
    '[memory]\n  size = "1G"\n  slots = "2"\n  maxmem = "4G"\n\n'
    '[smp-opts]\n  cpus = "2"\n  maxcpus = "4"\n\n[boot-opts]\n  order = "c"\n  menu = "on"\n\n'
    '[accel]\n  accel = "tcg"\n\n[rtc]\n  base = "utc"\n\n[chardev "c0"]\n  backend = "null"\n\n'
    '[netdev "n0"]\n  type = "user"\n\n[device "nic0"]\n  driver = "e1000"\n  netdev = "n0"\n\n'
    '[object "m0"]\n  qom-type = "memory-backend-ram"\n  size = "256M"\n\n'
    '[device "dimm0"]\n  driver = "pc-dimm"\n  memdev = "m0"\n\n'
    '[global]\n  driver = "e1000"\n  property = "mac"\n  value = "52:54:00:12:34:56"\n\n'
    '[fw_cfg]\n  name = "opt/memdevd"\n  string = "x"\n\n'
    '[drive "d0"]\n  file = "/dev/null"\n  if = "none"\n  format = "raw"\n\n'
    '[device "blk0"]\n  driver = "virtio-blk-pci"\n  drive = "d0"\n\n'
    '[vnc "v0"]\n  vnc = "127.0.0.1:152"\n\n[icount]\n  shift = "auto"\n\n'
    '[iscsi]\n  user = "u"\n\n[overcommit]\n  mem-lock = "off"\n\n[msg]\n  timestamp = "off"\n\n'
    '[action]\n  reboot = "shutdown"\n\n[plugin]\n  file = "/nonexistent.so"\n'
)
for _name, _text in CONFIGS.items():
    (FILES / _name).write_text(_text)


def _rc(name: str) -> list[str]:
    return ["-readconfig", str(FILES / name)]


#: (id, arguments after COMMON)
CASES: list[tuple[str, list[str]]] = [
    ("proxmox-q35", _rc("pve-q35.cfg")),
    ("missing-file", _rc("no-such.cfg")),
    ("no-group", _rc("no-group.cfg")),
    ("unknown-group", _rc("unknown-group.cfg")),
    ("unknown-group-last", _rc("unknown-group-last.cfg")),
    ("invalid-parameter", _rc("invalid-parameter.cfg")),
    ("line-of-spaces", _rc("spaces.cfg")),
    ("bare-word-is-a-key", _rc("bare-word.cfg")),
    ("unknown-property", _rc("unknown-property.cfg")),
    ("realize-error", _rc("realize.cfg")),
    ("duplicate-id-before", ["-device", "e1000,id=n0", *_rc("duplicate-id.cfg")]),
    ("duplicate-id-after", [*_rc("duplicate-id.cfg"), "-device", "e1000,id=n0"]),
    ("bad-id", _rc("bad-id.cfg")),
    ("bad-id-not-last", _rc("bad-id-not-last.cfg")),
    ("object-no-type", _rc("object-no-type.cfg")),
    ("object-ok", ["-m", "1G,slots=2,maxmem=4G", *_rc("object-ok.cfg")]),
    ("msg-unread", _rc("msg-unread.cfg")),
    ("long-line", _rc("long-line.cfg")),
    ("first-group-empty", _rc("first-group-empty.cfg")),
    ("global", _rc("global.cfg")),
    ("drive", _rc("drive.cfg")),
    ("chardev-mon", _rc("chardev-mon.cfg")),
    ("numa", ["-m", "1G", *_rc("numa.cfg")]),
    ("machine-then-option", [*_rc("machine-then-option.cfg"), "-machine", "q35,nvdimm=on"]),
    ("netdev", _rc("netdev.cfg")),
    ("empty-group-later", _rc("empty-group-later.cfg")),
    ("memory-smp", _rc("memory-smp.cfg")),
    ("machine", _rc("machine.cfg")),
    ("object", _rc("object.cfg")),
    ("comma-value", _rc("comma-value.cfg")),
    ("fsdev-no-path", _rc("fsdev-no-path.cfg")),
    ("fsdev", [*_rc("fsdev.cfg"), "-device", "virtio-9p-pci,fsdev=f0,mount_tag=share"]),
    ("virtfs-unread", _rc("virtfs-unread.cfg")),
    ("vnc-no-id", _rc("vnc-no-id.cfg")),
    # The default display's VNC server: 7.2 takes the "vnc" list for a
    # remote display (none is made), 8.2 and later make it, id "default".
    ("vnc-default-id-taken", [*_rc("vnc-default.cfg"), "-display", "default"]),
    ("vnc-bad-key", _rc("vnc-bad-key.cfg")),
    ("vnc-bad-address", _rc("vnc-bad-address.cfg")),
    ("spice", _rc("spice.cfg")),
    ("spice-id", _rc("spice-id.cfg")),
    ("add-fd-stdio", _rc("add-fd-stdio.cfg")),
    ("add-fd-no-fd", _rc("add-fd-no-fd.cfg")),
    ("run-with-unread", _rc("run-with.cfg")),
    ("run-with-bad-key", _rc("run-with-bad-key.cfg")),
    ("plugin-unread", _rc("plugin-unread.cfg")),
    ("semihosting", _rc("semihosting.cfg")),
    ("smp-opts-unexpected", _rc("smp-opts-unexpected.cfg")),
    ("smp-option-not-integer", ["-smp", "cpus=x"]),
    ("smp-opts-then-option", [*_rc("memory-smp.cfg"), "-smp", "maxcpus=1"]),
    ("icount", _rc("icount.cfg")),
    ("icount-bad-shift", _rc("icount-bad-shift.cfg")),
    ("icount-align-no-sleep", _rc("icount-align-no-sleep.cfg")),
    ("icount-rr-unread", _rc("icount-rr.cfg")),
    ("icount-rr-with-option", [*_rc("icount-rr.cfg"), "-icount", "2"]),
    ("icount-option-then-rr", ["-icount", "2", *_rc("icount-rr.cfg")]),
    ("icount-id", _rc("icount-id.cfg")),
    ("icount-option-rr", ["-icount", "1,rr=record"]),
    # No release has -writeconfig (removed in 6.0): an invalid option.
    ("writeconfig", ["-writeconfig", str(FILES / "written.cfg")]),
    # mon_init_func's errors at the option (or the line) that made the monitor.
    ("mon-chardev-missing", ["-mon", "x"]),
    ("mon-control-chardev-missing", ["-mon", "x,mode=control"]),
]


def _normalise(text: str) -> str:
    text = re.sub(r"^memdevd[-a-z0-9_]*:", "qemu-system-x86_64:", text, flags=re.M)
    return text.replace(str(FILES), "@FILES@")


@pytest.fixture(scope="module")
def outcomes() -> dict[tuple[str, str], tuple[Outcome, Outcome]]:
    cases = [(case, [*COMMON, *args]) for case, args in CASES]
    return compare_startups(cases, QEMU_VERSIONS, JOBS, _normalise, TIMEOUT)


@pytest.mark.parametrize("version", QEMU_VERSIONS)
@pytest.mark.parametrize("case", [c for c, _ in CASES])
def test_readconfig_startup_like_qemu(
    case: str, version: str, outcomes: dict[tuple[str, str], tuple[Outcome, Outcome]]
) -> None:
    if not runnable(version):
        pytest.skip(f"QEMU {version} not runnable here")
    qemu, memdevd = outcomes[(case, version)]
    assert memdevd == qemu


QUESTIONS: list[dict[str, object]] = [
    {"execute": "query-pci"},
    {"execute": "qom-list", "arguments": {"path": "/machine/peripheral"}},
    {
        "execute": "qom-get",
        "arguments": {"path": "/machine/peripheral/pci.1", "property": "chassis_nr"},
    },
]


@pytest.mark.parametrize("version", QEMU_VERSIONS)
def test_proxmox_q35_config_like_qemu(version: str) -> None:
    """The devices of pve-q35-4.0.cfg, between options as Proxmox orders them."""
    if not runnable(version):
        pytest.skip(f"QEMU {version} not runnable here")
    argv = [
        *COMMON,
        *_rc("pve-q35.cfg"),
        "-device",
        "virtio-balloon-pci,id=balloon0,bus=pci.0,addr=0x3",
    ]
    qemu, memdevd = ask_both(version, argv, QUESTIONS)
    assert memdevd == qemu


#: VNC displays of a file and of the command line: their ids (11.1 assigns
#: the missing ones as each display starts) and query-vnc-servers' order.
VNC_CASES: dict[str, list[str]] = {
    "file-and-option": [*_rc("vnc-default.cfg"), "-vnc", "127.0.0.1:144"],
    "option-then-file": ["-vnc", "127.0.0.1:145", *_rc("vnc-default.cfg")],
    "file-without-id": ["-vnc", "127.0.0.1:146", *_rc("vnc-no-id.cfg")],
    "option-then-id-default": ["-vnc", "127.0.0.1:147", "-vnc", "127.0.0.1:148,id=default"],
}


@pytest.mark.parametrize("version", QEMU_VERSIONS)
@pytest.mark.parametrize("case", list(VNC_CASES))
def test_vnc_displays_like_qemu(case: str, version: str) -> None:
    if not runnable(version):
        pytest.skip(f"QEMU {version} not runnable here")
    argv = [*COMMON, *VNC_CASES[case]]
    asker = functools.partial(ask_or_exit, normalise=_normalise)
    qemu, memdevd = ask_both(version, argv, [{"execute": "query-vnc-servers"}], asker)
    assert memdevd == qemu


@pytest.mark.parametrize("version", [v for v in QEMU_VERSIONS if get_release(v).has_spice])
def test_spice_of_a_file_like_qemu(version: str) -> None:
    """A build with spice (7.2): a [spice] group is the server's options."""
    if not runnable(version):
        pytest.skip(f"QEMU {version} not runnable here")
    qemu, memdevd = ask_both(version, [*COMMON, *_rc("spice.cfg")], [{"execute": "query-spice"}])
    assert memdevd == qemu


# -- the sweep: every QemuOptsList a release registers, as a [group] ----------

#: The QEMU source trees (tools/gen_qemu_option_table.py's); 11.1, which has
#: none here, is swept with 10.0's lists.
SOURCES = {
    "7.2": Path(os.environ.get("MEMDEVD_QEMU_SRC_7_2", "/work/src/q72p")),
    "10.0": Path(os.environ.get("MEMDEVD_QEMU_SRC_10_0", "/work/src/q10")),
}
SOURCE_OF = {"7.2": "7.2", "10.0": "10.0", "11.1": "10.0"}
#: Where a system emulator's QemuOptsLists live (not the tools', not the
#: user-mode emulators').
_SYSTEM_DIRS = frozenset(
    {"system", "softmmu", "ui", "hw", "fsdev", "plugins", "semihosting", "chardev"}
    | {"monitor", "net", "trace", "block", "stubs"}
)
_VALUES = {"QEMU_OPT_BOOL": "on", "QEMU_OPT_NUMBER": "1", "QEMU_OPT_SIZE": "1M"}
#: Keys of groups whose first one would not do: a port no one else uses,
#: -global's three (a [global] group without them is a divergence,
#: docs/divergences.md).
_KEYS: dict[str, dict[str, str]] = {
    "spice": {"port": "5934"},
    "machine": {"type": "pc"},
    "audiodev": {"driver": "none"},
    "global": {"driver": "x", "property": "y", "value": "z"},
}


def registered_groups(tree: Path) -> dict[str, dict[str, str]]:
    """Each QemuOptsList name the system emulator's ``qemu_add_opts()`` calls
    (vl.c's list, the ``opts_init()`` modules', the plugin list) register,
    with a plausible key and value: its implied key, else its first
    ``desc`` (a value of the desc's type), else ``x``. A list defined twice
    (a stub's, named "" or not) is probed under each name."""
    sources = [
        p
        for p in sorted(tree.rglob("*.c"))
        if p.relative_to(tree).parts[0] in _SYSTEM_DIRS
        or (p.parent == tree and not p.name.startswith("qemu-"))  # (blockdev.c; not the tools)
    ]
    texts = {p: p.read_text(errors="replace") for p in sources}
    names = set()
    for text in texts.values():
        names.update(re.findall(r"\bqemu_add_opts\(&(\w+)\)", text))
        if "qemu_plugin_add_opts();" in text:
            names.add("qemu_plugin_opts")
    groups: dict[str, dict[str, str]] = {}
    for text in texts.values():
        for var, body in re.findall(r"QemuOptsList (\w+) = \{(.*?)\n\};", text, re.S):
            if var not in names:
                continue
            name = re.search(r'\.name\s*=\s*"([^"]*)"', body)
            if name is None or not name.group(1):
                continue
            implied = re.search(r'\.implied_opt_name\s*=\s*"([^"]*)"', body)
            desc = body[body.find(".desc") :] if ".desc" in body else ""
            first = re.search(r'\.name\s*=\s*"([^"]*)",\s*\.type\s*=\s*(QEMU_OPT_\w+)', desc)
            if implied is not None:
                key, value = implied.group(1), "x"
            elif first is not None:
                key, value = first.group(1), _VALUES.get(first.group(2), "x")
            else:
                key, value = "x", "x"
            groups.setdefault(name.group(1), _KEYS.get(name.group(1), {key: value}))
    # The groups vl.c records as their options (keyval), not QemuOpts.
    vl = next(p for p in (tree / "system" / "vl.c", tree / "softmmu" / "vl.c") if p.exists())
    recorder = re.search(
        r"is_qemuopts_group\(const char \*group\)\n\{(.*?)\n\}", vl.read_text(), re.S
    )
    assert recorder is not None
    for name in re.findall(r'g_str_equal\(group, "([^"]+)"\)', recorder.group(1)):
        groups.setdefault(name, _KEYS.get(name, {"x": "x"}))
    return groups


#: What each group holds: a key of its own, a key no group has, nothing.
SWEEP_VARIANTS = ("own-key", "unknown-key", "empty")
#: Left different, each listed in docs/divergences.md: an empty [drive]
#: (a drive without medium for a disk: memdevd's -drive does not check it),
#: an empty [global] (QEMU registers a global of NULLs).
SWEEP_DIVERGENCES = {("drive", "empty"), ("global", "empty")}


def _sweep_cases() -> list[tuple[str, str, str, list[str]]]:
    """(group, variant, version, argv) for each group of each release's source."""
    cases = []
    for version in QEMU_VERSIONS:
        tree = SOURCES[SOURCE_OF[version]]
        if not (tree / "qemu-options.hx").exists():
            continue
        for group, keys in sorted(registered_groups(tree).items()):
            for variant in SWEEP_VARIANTS:
                if variant == "unknown-key":
                    keys = {"bogus": "1"}
                elif variant == "empty":
                    keys = {}
                path = FILES / f"sweep-{group}-{variant}.cfg"
                path.write_text(
                    f"[{group}]\n" + "".join(f'  {k} = "{v}"\n' for k, v in keys.items())
                )
                cases.append((group, variant, version, [*COMMON, "-readconfig", str(path)]))
    return cases


SWEEP = _sweep_cases()


@pytest.fixture(scope="module")
def sweep_outcomes() -> dict[tuple[str, str], tuple[Outcome, Outcome]]:
    out: dict[tuple[str, str], tuple[Outcome, Outcome]] = {}
    for version in QEMU_VERSIONS:
        cases = [(f"{group}/{variant}", argv) for group, variant, v, argv in SWEEP if v == version]
        out.update(compare_startups(cases, [version], JOBS, _normalise, TIMEOUT))
    return out


@pytest.mark.slow
@pytest.mark.parametrize(
    ("group", "variant", "version"),
    [
        pytest.param(
            g,
            w,
            v,
            marks=[pytest.mark.xfail(strict=True, reason="docs/divergences.md")]
            if (g, w) in SWEEP_DIVERGENCES
            else [],
        )
        for g, w, v, _ in SWEEP
    ],
)
def test_every_registered_group_like_qemu(
    group: str,
    variant: str,
    version: str,
    sweep_outcomes: dict[tuple[str, str], tuple[Outcome, Outcome]],
) -> None:
    """A [group] of each QemuOptsList the release's source registers (a key
    of its own, an unknown key, no key): started or not, the exit status and
    the text, as QEMU."""
    if not runnable(version):
        pytest.skip(f"QEMU {version} not runnable here")
    qemu, memdevd = sweep_outcomes[(f"{group}/{variant}", version)]
    assert memdevd == qemu


@pytest.mark.parametrize("version", QEMU_VERSIONS)
@pytest.mark.parametrize("how", ["option", "file"])
def test_icount_puts_the_vcpus_on_one_thread_like_qemu(how: str, version: str) -> None:
    """icount disables MTTCG: every vCPU reports round-robin TCG's thread."""
    if not runnable(version):
        pytest.skip(f"QEMU {version} not runnable here")
    icount = ["-icount", "auto"] if how == "option" else _rc("icount.cfg")
    argv = [*COMMON, "-smp", "3", *icount]
    qemu, memdevd = ask_both(version, argv, [{"execute": "query-cpus-fast"}])

    def threads(reply: str) -> list[int]:
        ids = [cpu["thread-id"] for cpu in json.loads(reply)["return"]]
        return [ids.index(i) for i in ids]  # which vCPUs share a thread

    assert threads(memdevd[0]) == threads(qemu[0]) == [0, 0, 0]


EVERY_GROUP_QUESTIONS: list[dict[str, object]] = [
    {"execute": "query-name"},
    {"execute": "qom-list", "arguments": {"path": "/machine/peripheral"}},
    {"execute": "query-vnc-servers"},
    {"execute": "query-memory-devices"},
    {"execute": "qom-get", "arguments": {"path": "/machine/peripheral/nic0", "property": "mac"}},
    {"execute": "qom-get", "arguments": {"path": "/machine", "property": "boot"}},
    {"execute": "qom-get", "arguments": {"path": "/machine", "property": "smp"}},
    {"execute": "query-fdsets"},
    {"execute": "query-status"},
]


@pytest.mark.parametrize("version", QEMU_VERSIONS)
def test_a_file_of_every_group_like_qemu(version: str) -> None:
    """A valid group of each kind: the VM they make, as QEMU makes it."""
    if not runnable(version):
        pytest.skip(f"QEMU {version} not runnable here")
    argv = [*COMMON, *_rc("every-group.cfg")]
    qemu, memdevd = ask_both(version, argv, EVERY_GROUP_QUESTIONS)
    assert memdevd == qemu
