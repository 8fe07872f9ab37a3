"""Live: the misc command-line options on real QEMU 7.2/10.0 and on memdevd.

Each case is a command line (after ``-S -nodefaults -display none -accel
tcg``) run on the real QEMU of each release and on ``python -m memdevd
-memdevd version=R``.  What a user sees must be the same: a process that
fails prints the same stderr and stdout and exits with the same status; a
process that starts prints the same warnings before its QMP socket answers
(the harness then kills both with SIGKILL, so nothing else is printed).

These are the start-up outcomes the scenario runner does not compare
(warnings of a VM that starts, help texts on stdout); the QMP side of the
same options (``set-action``, ``qom-get /machine boot``, globals on
devices) is in the ``misc_*`` scenarios.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from live_qemu import QEMU_VERSIONS, Outcome, compare_startup, compare_startups, runnable

pytestmark = pytest.mark.live_qemu

COMMON = ["-S", "-nodefaults", "-display", "none", "-accel", "tcg"]
JOBS = int(os.environ.get("MEMDEVD_LIVE_JOBS", "2"))
TIMEOUT = 20.0
FILES = Path(tempfile.mkdtemp(prefix="memdevd-misc-live-"))
(FILES / "blob").write_bytes(b"hi\n")
(FILES / "events.txt").write_text("kvm_*\nnosuch\n# comment\n\n-no_such_either\n")
(FILES / "bios64k.bin").write_bytes(b"\0" * 65536)
# -acpitable: a table with its header (length 46, and one whose header says 46
# but has 56 bytes), a headerless body, one too big for a table
_SLIC = b"SLIC" + (46).to_bytes(4, "little") + b"\x01\x00OEMID OEMTABLE"
_SLIC += bytes(4) + b"ASLC" + bytes(4)
(FILES / "slic.bin").write_bytes(_SLIC + bytes(10))
(FILES / "slic-long.bin").write_bytes(_SLIC + bytes(20))
(FILES / "big.bin").write_bytes(bytes(70000))
DIM = "-m 1G,slots=2,maxmem=4G -object memory-backend-ram,id=m,size=128M"

#: (id, arguments): every case runs on both releases.
CASES: list[tuple[str, str]] = [
    # -global
    ("global-unknown-class", "-global foo.bar=1"),
    ("global-not-a-device", "-global memory-backend-ram.prealloc=on"),
    ("global-dotted-driver", "-machine pc -global cfi.pflash01.secure=on"),
    ("global-board-ok", "-machine q35 -global ICH9-LPC.noreboot=off"),
    ("global-board-other-machine", "-machine pc -global ICH9-LPC.disable_s3=1"),
    (
        "global-board-libvirt-form",
        "-machine pc -global driver=cfi.pflash01,property=secure,value=on",
    ),
    ("global-board-bad-value", "-machine q35 -global ICH9-LPC.noreboot=xx"),
    ("global-board-no-property", "-machine pc -global isa-fdc.driveA=x"),
    ("global-missing-keys", "-global driver=a"),
    ("global-short-bool", "-global a.b"),
    ("global-device-bad-value", f"{DIM} -global pc-dimm.addr=foo -device pc-dimm,memdev=m"),
    ("global-hotpluggable-unused", "-global pc-dimm.node=1"),
    # -boot
    ("boot-bad-device", "-boot order=xyz"),
    ("boot-twice", "-boot order=cc"),
    ("boot-once-bad", "-boot once=z"),
    ("boot-menu-bad", "-boot menu=maybe"),
    ("boot-splash-time-text", "-boot splash-time=abc"),
    ("boot-splash-time-range", "-boot splash-time=70000"),
    ("boot-reboot-timeout-range", "-boot reboot-timeout=70000"),
    ("boot-splash-missing", "-boot splash=/nonexistent/splash.bmp"),
    ("boot-unknown-key", "-boot foo=1"),
    ("boot-help", "-boot help"),
    ("boot-ok", "-boot strict=on,order=c,menu=on"),
    # -rtc
    ("rtc-bad-base", "-rtc base=foo"),
    ("rtc-datetime", "-rtc base=2006-06-17T16:01:21"),
    ("rtc-date", "-rtc base=2006-06-17,clock=vm,driftfix=slew"),
    ("rtc-bad-clock", "-rtc clock=foo"),
    ("rtc-bad-driftfix", "-rtc driftfix=foo"),
    ("rtc-unknown-key", "-rtc foo=1"),
    # -fw_cfg
    ("fw_cfg-missing-file", "-fw_cfg name=opt/x,file=/nonexistent/blob"),
    ("fw_cfg-no-opt-prefix", "-fw_cfg name=x,string=abc"),
    ("fw_cfg-no-source", "-fw_cfg name=opt/x"),
    ("fw_cfg-two-sources", f"-fw_cfg opt/x,file={FILES}/blob,string=a"),
    ("fw_cfg-duplicate", "-fw_cfg name=opt/x,string=a -fw_cfg name=opt/x,string=b"),
    ("fw_cfg-name-too-long", f"-fw_cfg name=opt/{'x' * 60},string=a"),
    ("fw_cfg-gen-id-missing", "-fw_cfg name=opt/x,gen_id=foo"),
    ("fw_cfg-file-ok", f"-fw_cfg name=opt/x,file={FILES}/blob"),
    ("fw_cfg-warning-then-device-error", "-fw_cfg name=x,string=abc -device pc-dimm,id=d " + DIM),
    # -action and its sugar
    ("action-bad-value", "-action reboot=foo"),
    ("action-bad-key", "-action foo=bar"),
    ("action-ok", "-action shutdown=pause,panic=none"),
    ("watchdog-action-bad", "-watchdog-action foo"),
    ("watchdog-action-ok", "-watchdog-action pause"),
    ("no-reboot-then-bad-action", "-no-reboot -action reboot=foo"),
    # -sandbox, -overcommit
    ("sandbox-on", "-sandbox on"),
    (
        "sandbox-all",
        "-sandbox on,obsolete=allow,elevateprivileges=deny,spawn=deny,resourcecontrol=deny",
    ),
    ("sandbox-bad-spawn", "-sandbox on,spawn=foo"),
    ("sandbox-bad-enable", "-sandbox foo"),
    ("sandbox-off-unchecked", "-sandbox off,spawn=foo"),
    ("overcommit-bad", "-overcommit mem-lock=foo"),
    ("overcommit-on-fault", "-overcommit mem-lock=on-fault"),
    ("overcommit-cpu-pm", "-overcommit cpu-pm=on"),
    ("overcommit-unknown", "-overcommit foo=1"),
    # -d, -D, -trace
    ("d-bad-item", "-d foo"),
    ("d-help", "-d help"),
    ("d-ok", "-d int,guest_errors"),
    ("d-trace-unknown", "-d trace:no_such_event,int"),
    ("D-bad-path", "-D /nonexistent/dir/x.log"),
    ("trace-unknown", "-trace no_such_event"),
    ("trace-enable-unknown", "-trace enable=no_such_event"),
    ("trace-events-missing", "-trace events=/nonexistent/events"),
    ("trace-pattern", "-trace enable=no_such_*"),
    ("trace-help", "-trace help"),
    # -bios, -L, -k, -no-hpet, -no-user-config
    ("bios-missing", "-bios /nonexistent/bios.bin"),
    ("bios-relative-missing", "-bios no-such-bios.bin"),
    ("bios-bad-size", f"-bios {FILES}/blob"),
    ("bios-ok", f"-bios {FILES}/bios64k.bin"),
    ("bios-in-L-dir", f"-L {FILES} -bios bios64k.bin"),
    ("machine-firmware-missing", "-machine firmware=/nonexistent/bios.bin"),
    ("keyboard", "-k xx"),
    ("no-hpet", "-machine q35 -no-hpet"),
    ("hpet-global-no-hpet", "-machine q35,hpet=off -global hpet.foo=1"),
    ("hpet-global", "-machine q35 -global hpet.foo=1"),
    ("no-user-config", "-no-user-config"),
    # -tpmdev, TPM devices
    ("tpmdev-passthrough-missing", "-tpmdev passthrough,id=tpm0,path=/nonexistent/tpm0"),
    ("tpmdev-passthrough-default", "-tpmdev passthrough,id=tpm0"),
    ("tpmdev-bad-type", "-tpmdev foo,id=tpm0"),
    ("tpmdev-help", "-tpmdev help"),
    ("tpmdev-emulator-no-chardev", "-tpmdev emulator,id=tpm0"),
    ("tpmdev-emulator-unknown-chardev", "-tpmdev emulator,id=tpm0,chardev=nochr"),
    ("tpmdev-no-id", "-tpmdev passthrough"),
    ("tpmdev-bad-key", "-tpmdev passthrough,id=tpm0,chardev=x"),
    ("tpm-tis-no-backend", "-device tpm-tis,tpmdev=x"),
    # -incoming
    ("incoming-defer", "-incoming defer"),
    # -audio: an audiodev and a sound card (soundhw.c)
    ("audio-hda", "-audio none,model=hda"),
    ("audio-ac97-id", "-audio none,model=ac97,id=snd"),
    ("audio-sb16-q35", "-machine q35 -audio none,model=sb16"),
    ("audio-es1370-pc", "-machine pc -audio driver=none,model=es1370"),
    ("audio-virtio", "-audio none,model=virtio"),
    ("audio-unknown-card", "-audio none,model=foo"),
    ("audio-no-model", "-audio none"),
    ("audio-twice", "-audio none,model=hda -audio none,model=ac97,id=b"),
    ("audio-help", "-audio help"),
    ("audio-driver-help", "-audio driver=help,model=hda"),
    ("audio-model-help", "-audio none,model=help"),
    ("audio-bad-key", "-audio none,model=hda,foo=1"),
    ("audio-bad-driver", "-audio nosuch,model=hda"),
    ("audio-codec-on-its-bus", "-audio none,model=hda -device hda-output,audiodev=audiodev0"),
    ("audio-duplicate-id", "-audiodev none,id=audiodev0 -audio none,model=hda"),
    # -iscsi (no iscsi drive: parsed and checked, used by nothing)
    ("iscsi-proxmox", "-iscsi initiator-name=iqn.1993-08.org.debian:01:aabbccddeeff"),
    (
        "iscsi-all-keys",
        "-iscsi user=a,password=b,password-secret=nosuch,header-digest=bogus,timeout=5",
    ),
    ("iscsi-bad-key", "-iscsi foo=1"),
    ("iscsi-bad-timeout", "-iscsi timeout=abc"),
    ("iscsi-short-bool", "-iscsi bare"),
    ("iscsi-duplicate-id", "-iscsi id=x,user=a -iscsi id=x"),
    ("iscsi-help", "-iscsi help"),
    # -machine help: every board, QEMU's order and marks (recorded)
    ("machine-help", "-machine help"),
    ("machine-help-unknown-type", "-machine nosuch,help"),
    ("machine-type-help", "-machine type=help"),
    # -acpitable: read and checked while parsing (acpi_table_add)
    ("acpitable-file", f"-acpitable file={FILES}/slic.bin"),
    ("acpitable-wrong-length", f"-acpitable file={FILES}/slic-long.bin"),
    ("acpitable-data", f"-acpitable data={FILES}/blob,sig=SSDT,oem_id=ABC,rev=2"),
    ("acpitable-no-headers", f"-acpitable {FILES}/blob"),
    ("acpitable-header-too-short", f"-acpitable file={FILES}/blob"),
    ("acpitable-too-big", f"-acpitable data={FILES}/big.bin"),
    ("acpitable-neither", "-acpitable sig=X"),
    ("acpitable-both", f"-acpitable file={FILES}/blob,data={FILES}/blob"),
    ("acpitable-empty", "-acpitable file="),
    ("acpitable-missing", f"-acpitable file={FILES}/none.bin"),
    ("acpitable-directory", f"-acpitable file={FILES}"),
    ("acpitable-bad-rev", f"-acpitable data={FILES}/blob,rev=300"),
    ("acpitable-bad-key", f"-acpitable data={FILES}/blob,nosuch=1"),
    ("acpitable-two-files", f"-acpitable file={FILES}/slic.bin:{FILES}/blob"),
    ("acpitable-warning-then-error", f"-acpitable file={FILES}/slic-long.bin -m nosuch"),
    # -option-rom: vl.c's checks, then pc_memory_init's rom_add_option
    ("option-rom", f"-machine pc -option-rom {FILES}/blob"),
    ("option-rom-bootindex", f"-option-rom romfile={FILES}/blob,bootindex=2"),
    ("option-rom-no-file", "-option-rom bootindex=2"),
    ("option-rom-bad-key", f"-option-rom {FILES}/blob,nosuch=1"),
    ("option-rom-bad-bootindex", f"-option-rom {FILES}/blob,bootindex=x"),
    ("option-rom-missing", f"-machine q35 -option-rom {FILES}/none.rom -option-rom {FILES}/blob"),
    ("option-rom-twice", f"-option-rom {FILES}/blob -option-rom {FILES}/blob"),
    ("option-rom-from-data-dir", "-option-rom vgabios-stdvga.bin"),
    ("option-rom-and-fw-cfg", f"-option-rom {FILES}/blob -fw_cfg name=genroms/blob,string=x"),
    ("option-rom-none-machine", f"-machine none -option-rom {FILES}/none.rom"),
    # a directory: a line each from 10.0 on, 7.2's g_malloc0 aborts (SIGTRAP)
    ("option-rom-directory", f"-machine pc -option-rom {FILES}/none.rom -option-rom {FILES}"),
    ("option-rom-17", " ".join([f"-option-rom {FILES}/none.rom"] * 17)),
    # -usbdevice: usb=on and a legacy USB device (usb_parse)
    ("usbdevice-tablet", "-machine pc -usbdevice tablet"),
    ("usbdevice-every-name", "-usbdevice mouse -usbdevice keyboard -usbdevice wacom-tablet"),
    ("usbdevice-braille", "-usbdevice braille"),
    ("usbdevice-unknown", "-usbdevice nosuch"),
    ("usbdevice-host", "-usbdevice host"),
    ("usbdevice-parameters", "-usbdevice tablet:x"),
    ("usbdevice-usb-off-after", "-usbdevice nosuch -machine usb=off"),
    ("usbdevice-no-usb-bus", "-machine none -usbdevice tablet"),
    ("usbdevice-q35", "-machine q35 -usbdevice tablet -device usb-mouse"),
    # -debugcon: a chardev "debugcon" and -device isa-debugcon (debugcon_parse)
    ("debugcon-file", f"-machine pc -debugcon file:{FILES}/debug.log"),
    ("debugcon-none", "-debugcon none"),
    ("debugcon-bad-driver", "-debugcon nosuch:x"),
    ("debugcon-twice", "-debugcon null -debugcon null"),
    ("debugcon-unopenable", f"-debugcon file:{FILES}/none/debug.log"),
    ("debugcon-chardev-id-taken", "-chardev null,id=debugcon -debugcon null"),
    ("debugcon-device-id-taken", "-device isa-serial,id=debugcon -debugcon null"),
    ("debugcon-chardev-missing", "-debugcon chardev:nosuch"),
    ("debugcon-chardev-other", "-chardev null,id=c -debugcon chardev:c"),
    ("debugcon-no-isa-bus", "-machine none -debugcon null"),
    # -mem-path: the default RAM backend on a file (create_default_memdev)
    ("mem-path-directory", f"-machine pc -m 64M -mem-path {FILES}"),
    ("mem-path-and-memory-backend", f"-machine pc,memory-backend=m -mem-path {FILES}"),
    ("mem-path-file-too-small", f"-machine pc -mem-path {FILES}/blob"),
    ("mem-path-no-directory", f"-machine pc -mem-path {FILES}/none/ram"),
    ("mem-path-reserved-id", f"-mem-path {FILES} -object memory-backend-ram,id=pc.ram,size=1M"),
    ("mem-path-legacy-numa", f"-m 1G,slots=2,maxmem=4G -mem-path {FILES} -numa node,nodeid=0"),
    ("mem-path-none-machine", f"-machine none -mem-path {FILES}/blob"),
    (
        "file-backend-too-small",
        f"-object memory-backend-file,id=m,size=128M,mem-path={FILES}/blob",
    ),
    ("iscsi-key-help", "-iscsi user=a,help"),
]


def _normalise(text: str) -> str:
    text = re.sub(r"^memdevd:", "qemu-system-x86_64:", text, flags=re.M)
    return text.replace(str(FILES), "@FILES@")


def _compare(args: str, version: str) -> tuple[Outcome, Outcome]:
    return compare_startup(version, [*COMMON, *args.split()], _normalise, TIMEOUT)


@pytest.fixture(scope="module")
def outcomes() -> dict[tuple[str, str], tuple[Outcome, Outcome]]:
    split = [(case, [*COMMON, *args.split()]) for case, args in CASES]
    return compare_startups(split, QEMU_VERSIONS, JOBS, _normalise, TIMEOUT)


@pytest.mark.parametrize("version", QEMU_VERSIONS)
@pytest.mark.parametrize("case", [c for c, _ in CASES])
def test_misc_option_like_qemu(
    case: str,
    version: str,
    outcomes: dict[tuple[str, str], tuple[Outcome, Outcome]],
) -> None:
    if not runnable(version):
        pytest.skip(f"QEMU {version} not runnable here")
    qemu, memdevd = outcomes[(case, version)]
    assert memdevd == qemu
