"""The misc command-line options (memdevd/app/misc_options.py, machine/globals.py).

In-process: argv parsed by ``memdevd.app.cli.parse`` and the machine built
by ``build_machine`` as ``memdevd`` does, then what a user sees (the stderr
text, the exit status, qom-get values, the run-state actions).  The same
cases against the real binaries are in
tests/conformance/test_misc_options_live.py and the ``misc_`` scenarios.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from memdevd.app.cli import Exit, parse
from memdevd.app.settings import MemdevdSettings
from memdevd.app.startup import build_machine
from memdevd.releases.table import get_release
from memdevd.util.qemu_opts import OptionError, format_diagnostic, format_error

PROG = "qemu-system-x86_64"
BASE = ["-S", "-nodefaults", "-display", "none", "-accel", "tcg"]


def _argv(args: str, version: str) -> list[str]:
    return [*BASE, *args.split(), "-memdevd", f"version={version}"]


def start(args: str, version: str = "10.0") -> tuple[Any, str]:
    """The machine and what start-up printed on stderr."""
    parsed = parse(_argv(args, version), PROG)
    settings: MemdevdSettings = parsed.settings
    machine, notes = build_machine(parsed.request, get_release(version), settings)
    return machine, "".join(format_diagnostic(PROG, n) for n in notes)


def failure(args: str, version: str = "10.0") -> str:
    """The stderr of a command line QEMU refuses (exit status 1)."""
    with pytest.raises(OptionError) as exc:
        start(args, version)
    assert exc.value.exit_status == 1
    return format_error(PROG, exc.value)


def qom_get(machine: Any, path: str, prop: str) -> Any:
    obj = machine.root
    for part in path.strip("/").split("/"):
        obj = obj.children[part]
    return obj.prop_get(prop)


DIMM = "-m 1G,slots=2,maxmem=4G -object memory-backend-ram,id=m0,size=128M"

# -- -global -------------------------------------------------------------------------


def test_global_reaches_the_device_before_its_own_properties() -> None:
    machine, err = start(
        f"-machine pc {DIMM} -global pc-dimm.slot=1 -object memory-backend-ram,id=m1,size=128M"
        " -device pc-dimm,id=d0,memdev=m0 -device pc-dimm,id=d1,memdev=m1,slot=0"
    )
    assert err == ""
    assert qom_get(machine, "/machine/peripheral/d0", "slot") == 1
    assert qom_get(machine, "/machine/peripheral/d1", "slot") == 0


def test_global_bad_value_stops_at_the_device() -> None:
    text = failure(f"-machine pc {DIMM} -global pc-dimm.addr=foo -device pc-dimm,memdev=m0")
    assert text == (
        f"{PROG}: -device pc-dimm,memdev=m0: can't apply global pc-dimm.addr=foo:"
        " Parameter 'addr' expects uint64\n"
    )


def test_global_on_board_devices() -> None:
    _, err = start("-machine q35 -global ICH9-LPC.noreboot=off")
    assert err == ""
    assert failure("-machine q35 -global ICH9-LPC.noreboot=xx") == (
        f"{PROG}: can't apply global ICH9-LPC.noreboot=xx: Parameter 'noreboot' expects 'on' or"
        " 'off'\n"
    )
    assert failure("-machine pc -global isa-fdc.driveA=x") == (
        f"{PROG}: can't apply global isa-fdc.driveA=x: Property 'isa-fdc.driveA' not found\n"
    )
    # pc has no ICH9-LPC: the global is not checked, and the type can be hot-plugged.
    assert start("-machine pc -global ICH9-LPC.noreboot=xx")[1] == ""
    # hpet=off: no HPET, the global is never applied
    assert start("-machine q35,hpet=off -global hpet.foo=1")[1] == ""
    assert "hpet.foo=1" in failure("-machine q35 -global hpet.foo=1")


def test_unused_globals_are_warned_about() -> None:
    _, err = start("-global foo.bar=1 -global memory-backend-ram.prealloc=on -global pc-dimm.x=1")
    assert err == (
        f"{PROG}: warning: global foo.bar has invalid class name\n"
        f"{PROG}: warning: global memory-backend-ram.prealloc has invalid class name\n"
    )
    # sscanf("%63[^.=].%63[^=]"): the driver stops at the first dot
    _, err = start("-machine pc -global cfi.pflash01.secure=on")
    assert err == f"{PROG}: warning: global cfi.pflash01.secure has invalid class name\n"
    assert start("-machine pc -global driver=cfi.pflash01,property=secure,value=on")[1] == ""


def test_global_option_syntax() -> None:
    assert failure("-global driver=a") == (
        f"{PROG}: -global driver=a: options 'driver', 'property', and 'value' are required\n"
    )
    assert failure("-global a.b").endswith(f"{PROG}: -global a.b: Invalid parameter 'a.b'\n")


def test_hot_plug_with_a_bad_global_warns_and_plugs() -> None:
    machine, _ = start(f"-machine pc {DIMM} -global pc-dimm.addr=foo")
    warned: list[str] = []
    machine.warn_hook = warned.append
    machine.finish_init()
    dev = machine.device_add({"driver": "pc-dimm", "id": "d0", "memdev": "m0"}, from_json=True)
    assert dev.realized
    assert warned == [
        "warning: can't apply global pc-dimm.addr=foo: Parameter 'addr' expects uint64"
    ]


# -- -boot, -bios, -no-hpet ---------------------------------------------------------


def test_boot_is_the_machine_boot_property() -> None:
    machine, _ = start("-machine q35 -boot order=dc,menu=on,splash-time=5 -boot strict=on")
    assert qom_get(machine, "/machine", "boot") == {
        "order": "dc",
        "menu": True,
        "splash-time": 5,
        "strict": True,
    }
    machine, _ = start("-machine pc -boot once=d")
    assert qom_get(machine, "/machine", "boot") == {"order": "cad", "once": "d"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("-boot order=xyz", "Invalid boot device 'x'"),
        ("-boot order=cc", "Boot device 'c' was given twice"),
        ("-boot once=z", "Invalid boot device 'z'"),
        ("-boot menu=maybe", "Parameter 'boot.menu' expects 'on' or 'off'"),
        ("-boot splash-time=abc", "Parameter 'boot.splash-time' expects integer"),
        ("-boot foo=1", "Parameter 'boot.foo' is unexpected"),
        (
            "-boot splash-time=70000",
            "splash-time is invalid,it should be a value between 0 and 65535",
        ),
        (
            "-boot reboot-timeout=70000",
            "reboot timeout is invalid,it should be a value between -1 and 65535",
        ),
    ],
)
def test_boot_errors(args: str, message: str) -> None:
    assert failure(f"-machine pc {args}") == f"{PROG}: {message}\n"


def test_boot_help_and_missing_splash() -> None:
    from memdevd.util.qemu_opts import HelpRequested

    with pytest.raises(HelpRequested) as req:
        parse(_argv("-boot help", "10.0"), PROG)
    assert req.value.exit_status == 0
    assert req.value.text.startswith("boot-opts options:\n  menu=<bool (on/off)>\n")
    _, err = start("-boot splash=/nonexistent/splash.bmp")
    assert err == f"{PROG}: failed to find file '/nonexistent/splash.bmp'\n"


def test_bios(tmp_path: Path) -> None:
    assert (
        failure("-bios /nonexistent/bios.bin")
        == "qemu: could not load PC BIOS '/nonexistent/bios.bin'\n"
    )
    (tmp_path / "small.bin").write_bytes(b"x")
    assert "could not load" in failure(f"-bios {tmp_path}/small.bin")
    (tmp_path / "ok.bin").write_bytes(bytes(65536))
    machine, err = start(f"-L {tmp_path} -bios ok.bin")
    assert err == ""
    assert qom_get(machine, "/machine", "firmware") == "ok.bin"


def _bzimage(path: Path, protocol: int, initrd_max: int = 0, setup_sects: int = 4) -> str:
    """A file with a Linux boot header (``HdrS``) of the given protocol."""
    data = bytearray(20000)
    data[0x1F1] = setup_sects
    data[0x202:0x206] = b"HdrS"
    data[0x206:0x208] = protocol.to_bytes(2, "little")
    data[0x22C:0x230] = initrd_max.to_bytes(4, "little")
    path.write_bytes(bytes(data))
    return str(path)


def test_kernel_options_need_a_kernel() -> None:
    assert failure("-append x") == f"{PROG}: -append only allowed with -kernel option\n"
    assert failure("-initrd x") == f"{PROG}: -initrd only allowed with -kernel option\n"
    assert failure("-machine append=x") == f"{PROG}: -append only allowed with -kernel option\n"
    assert failure("-initrd x -shim y") == f"{PROG}: -shim only allowed with -kernel option\n"
    assert failure("-shim x", "7.2") == f"{PROG}: -shim: invalid option\n"


def test_kernel_files_checked_as_x86_load_linux(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    assert failure(f"-kernel {missing}") == (
        f"qemu: could not open kernel file '{missing}': No such file or directory\n"
    )
    (tmp_path / "empty").write_bytes(b"")
    assert "could not load kernel" in failure(f"-kernel {tmp_path}/empty")
    assert (
        failure(f"-kernel {tmp_path}")
        == f"qemu: could not load kernel '{tmp_path}': Is a directory\n"
    )
    (tmp_path / "small").write_bytes(b"hi")
    assert failure(f"-kernel {tmp_path}/small") == "qemu: invalid kernel header\n"
    # not a kernel, but large enough: a Linux kernel of boot protocol 0
    (tmp_path / "zeros").write_bytes(bytes(8192))
    zeros = f"{tmp_path}/zeros"
    start(f"-kernel {zeros}")
    assert failure(f"-kernel {zeros} -initrd {zeros}") == (
        "qemu: linux kernel too old to load a ram disk\n"
    )
    assert failure(f"-kernel {zeros} -dtb {zeros}") == "qemu: Linux kernel too old to load a dtb\n"
    linux = _bzimage(tmp_path / "bz", 0x20F, initrd_max=100)
    assert failure(f"-kernel {linux} -initrd {missing}") == (
        f"qemu: error reading initrd {missing}: Failed to open file \u201c{missing}\u201d:"
        " open() failed: No such file or directory\n"
    )
    assert failure(f"-kernel {linux} -initrd {zeros}") == (
        "qemu: initrd is too large, cannot support.(max: 100, need 8192)\n"
    )
    assert failure(f"-kernel {linux} -append vga=12x") == "qemu: invalid 'vga=' kernel parameter.\n"
    assert failure(f"-kernel {linux} -shim {missing}").startswith(
        f"qemu: error reading shim {missing}"
    )
    start(f"-kernel {linux} -append vga=ask -dtb {zeros}")


def test_kernel_is_the_machine_kernel_property(tmp_path: Path) -> None:
    linux = _bzimage(tmp_path / "bz", 0x20F, initrd_max=0x10000000)
    (tmp_path / "rd").write_bytes(b"x")
    machine, err = start(
        f"-kernel {linux} -initrd {tmp_path}/rd -append root=/dev/vda -append quiet"
    )
    assert err == ""
    assert qom_get(machine, "/machine", "kernel") == linux
    assert qom_get(machine, "/machine", "initrd") == f"{tmp_path}/rd"
    assert qom_get(machine, "/machine", "append") == "quiet"
    assert qom_get(machine, "/machine", "dtb") == ""


def test_multiboot_and_elf_kernels(tmp_path: Path) -> None:
    mb = bytearray(8192)
    flags = 0x10000
    mb[64:76] = b"".join(
        v.to_bytes(4, "little") for v in (0x1BADB002, flags, (-(0x1BADB002 + flags)) & 0xFFFFFFFF)
    )
    mb[76:92] = b"".join(v.to_bytes(4, "little") for v in (0x100000, 0x100040, 0, 0))
    (tmp_path / "mb").write_bytes(bytes(mb))
    assert failure(f"-kernel {tmp_path}/mb") == f"{PROG}: invalid load_addr address\n"
    # an x86-64 ELF without a XEN_ELFNOTE_PHYS32_ENTRY note
    assert failure("-kernel /bin/true") == (
        f"{PROG}: Error loading uncompressed kernel without PVH ELF Note\n"
    )


def test_iscsi_is_checked_and_used_by_nothing() -> None:
    start("-iscsi initiator-name=iqn.1993-08.org.debian:01:aabbccddeeff,timeout=5")
    assert failure("-iscsi foo=1") == f"{PROG}: -iscsi foo=1: Invalid parameter 'foo'\n"
    assert failure("-iscsi timeout=x", "7.2") == (
        f"{PROG}: -iscsi timeout=x: Parameter 'timeout' expects a number\n"
    )


def test_audio_makes_its_card() -> None:
    machine, err = start(
        "-machine q35 -audio none,model=hda -device hda-output,id=c,audiodev=audiodev0"
    )
    assert err == ""
    kinds = [dev.typename for dev in machine.unattached.children.values()]
    assert "intel-hda" in kinds and "hda-duplex" in kinds
    # the board's codec took address 0, so the -device one takes 1
    assert qom_get(machine, "/machine/peripheral/c", "cad") == 1
    assert failure("-audio none", "7.2") == f"{PROG}: -audio none: Parameter 'model' is missing\n"
    start("-audio none", "10.0")
    assert failure("-audio none,model=hda -audio none,model=hda,id=b") == (
        f"{PROG}: -audio none,model=hda,id=b: only one -soundhw option is allowed\n"
    )


def test_audio_texts_and_audiodev_ids_of_11_1() -> None:
    assert failure("-audio none,model=hda -audio none,model=hda,id=b", "11.1") == (
        f"{PROG}: -audio none,model=hda,id=b: only one -audio option is allowed\n"
    )
    # /audiodevs/audiodev0 taken by -audiodev first: an error, not a crash.
    assert failure("-audiodev none,id=audiodev0 -audio none,model=hda", "11.1") == (
        f"{PROG}: attempt to add duplicate property 'audiodev0' to object (type 'container')\n"
    )


def test_no_hpet_is_7_2_only() -> None:
    machine, _ = start("-machine q35 -no-hpet", "7.2")
    assert qom_get(machine, "/machine", "hpet") is False
    assert failure("-no-hpet") == f"{PROG}: -no-hpet: invalid option\n"


# -- -rtc, -fw_cfg ----------------------------------------------------------------------


def test_rtc() -> None:
    start("-rtc base=2006-06-17T16:01:21,clock=vm,driftfix=slew")
    start("-rtc base=2006-06-17 -rtc base=localtime")
    assert failure("-rtc base=foo") == (
        f"{PROG}: invalid datetime format\nvalid formats: '2006-06-17T16:01:21' or '2006-06-17'\n"
    )
    assert failure("-rtc clock=foo") == f"{PROG}: invalid option value 'foo'\n"
    assert failure("-rtc driftfix=bar") == f"{PROG}: invalid option value 'bar'\n"
    assert failure("-rtc foo=1") == f"{PROG}: -rtc foo=1: Invalid parameter 'foo'\n"


def test_fw_cfg(tmp_path: Path) -> None:
    blob = tmp_path / "blob"
    blob.write_bytes(b"hi")
    assert start(f"-fw_cfg name=opt/x,file={blob} -fw_cfg opt/y,string=z")[1] == ""
    _, err = start("-fw_cfg name=x,string=abc")
    loc = "-fw_cfg name=x,string=abc"
    assert err == (
        f"{PROG}: {loc}: warning: externally provided fw_cfg item names should be prefixed"
        ' with "opt/"\n'
    )
    assert failure("-fw_cfg name=opt/x,file=/nonexistent") == (
        f"{PROG}: -fw_cfg name=opt/x,file=/nonexistent: can't load /nonexistent:"
        " Failed to open file \u201c/nonexistent\u201d: No such file or directory\n"
    )
    need = "name, plus exactly one of file, string and gen_id, are needed"
    assert failure("-fw_cfg name=opt/x").endswith(f": {need}\n")
    assert failure(f"-fw_cfg opt/x,file={blob},string=a").endswith(f": {need}\n")
    assert failure("-fw_cfg name=opt/x,string=a -fw_cfg name=opt/x,string=b") == (
        f"{PROG}: -fw_cfg name=opt/x,string=b: duplicate fw_cfg file name: opt/x\n"
    )
    assert failure(f"-fw_cfg name=opt/{'x' * 60},string=a").endswith(
        ": name too long (max. 55 char)\n"
    )
    assert failure("-fw_cfg name=opt/x,gen_id=g").endswith(": Cannot find object ID 'g'\n")


# -- -action & co., -sandbox, -overcommit ------------------------------------------------------


def test_actions() -> None:
    machine, _ = start("-no-reboot -no-shutdown -watchdog-action pause -action panic=none")
    assert machine.run_actions == {
        "reboot": "shutdown",
        "shutdown": "pause",
        "watchdog": "pause",
        "panic": "none",
    }
    # The action options merge: errors are located at the first one.
    assert failure("-no-reboot -action reboot=foo") == (
        f"{PROG}: -no-reboot: Parameter 'reboot' does not accept value 'foo'\n"
    )
    assert failure("-watchdog-action foo") == (
        f"{PROG}: -watchdog-action foo: Parameter 'watchdog' does not accept value 'foo'\n"
    )
    assert failure("-action foo=bar") == f"{PROG}: -action foo=bar: Invalid parameter 'foo'\n"


def test_system_reset_with_reboot_action_shutdown() -> None:
    machine, _ = start("-machine pc -no-reboot")
    requests: list[str] = []
    machine.shutdown_hook = requests.append
    machine.system_reset()
    assert requests == ["host-qmp-system-reset"]


def test_sandbox_and_overcommit() -> None:
    start("-sandbox on,obsolete=allow,elevateprivileges=children,spawn=deny,resourcecontrol=allow")
    start("-sandbox off,spawn=whatever")
    assert failure("-sandbox on,spawn=foo") == (
        f"{PROG}: -sandbox on,spawn=foo: invalid argument for spawn\n"
    )
    assert failure("-sandbox foo") == (
        f"{PROG}: -sandbox foo: Parameter 'enable' expects 'on' or 'off'\n"
    )
    start("-overcommit mem-lock=on-fault,cpu-pm=on")
    assert failure("-overcommit mem-lock=on-fault", "7.2") == (
        f"{PROG}: -overcommit mem-lock=on-fault: Parameter 'mem-lock' expects 'on' or 'off'\n"
    )
    assert failure("-overcommit mem-lock=foo") == (
        f"{PROG}: -overcommit mem-lock=foo: parameter 'mem-lock' expects one of 'on', 'off',"
        " 'on-fault'\n"
    )


# -- -d, -D, -trace ---------------------------------------------------------------------------


def test_log_items(tmp_path: Path) -> None:
    start(f"-d int,guest_errors,all -D {tmp_path}/log.txt")
    assert (tmp_path / "log.txt").exists()
    for args in ("-d help", "-d int,foo"):
        with pytest.raises(Exit) as done:
            parse(_argv(args, "10.0"), PROG)
        assert done.value.status == 1
        assert done.value.out.startswith("Log items (comma separated):\nout_asm ")
    assert failure("-D /nonexistent/dir/x.log") == (
        f"{PROG}: Error opening logfile /nonexistent/dir/x.log: No such file or directory\n"
    )


def test_trace(tmp_path: Path) -> None:
    events = tmp_path / "events"
    events.write_text("kvm_*\nnosuch\n# comment\n\n-no_such_either\n")
    _, err = start(f"-trace no_such_event -trace events={events} -trace enable=kvm_* -d trace:x")
    assert err == (
        f"{PROG}: -trace no_such_event: warning: trace event 'no_such_event' does not exist\n"
        f"{PROG}:{events}:2: warning: trace event 'nosuch' does not exist\n"
        f"{PROG}:{events}:5: warning: trace event 'no_such_either' does not exist\n"
        f"{PROG}: warning: trace event 'x' does not exist\n"
    )
    assert failure("-trace events=/nonexistent/ev") == (
        f"{PROG}:/nonexistent/ev: No such file or directory\n"
    )
    with pytest.raises(Exit) as done:
        parse(_argv("-trace help", "7.2"), PROG)
    assert done.value.status == 0
    assert "kvm_set_user_memory\n" in done.value.out


def test_accepted_without_checks() -> None:
    start("-k xx -no-user-config -nodefaults")


def test_incoming() -> None:
    machine, _ = start("-machine pc -incoming defer")
    assert machine.runstate == "inmigrate"
    machine.cont()
    assert machine.runstate == "inmigrate"
    assert failure("-incoming tcp:127.0.0.1:4444") == (
        f"{PROG}: -incoming tcp:127.0.0.1:4444: memdevd: option -incoming tcp:127.0.0.1:4444"
        " is not emulated\n"
    )


def test_tpmdev() -> None:
    types = (
        "Supported TPM types (choose only one):\n"
        " passthrough   Passthrough TPM backend driver\n"
        "    emulator   TPM emulator backend driver\n"
    )
    assert failure("-tpmdev passthrough,id=tpm0,path=/nonexistent/tpm0") == (
        f"{PROG}: -tpmdev passthrough,id=tpm0,path=/nonexistent/tpm0: Cannot access TPM device"
        " using '/nonexistent/tpm0': No such file or directory\n"
    )
    assert failure("-tpmdev foo,id=t") == (
        f"{PROG}: -tpmdev foo,id=t: Parameter 'type' expects a TPM backend type\n{types}"
    )
    assert failure("-tpmdev help") == types
    assert failure("-tpmdev emulator,id=t").endswith(
        ": tpm-emulator: parameter 'chardev' is missing\n"
    )
    assert failure("-tpmdev emulator,id=t,chardev=c").endswith(
        ": tpm-emulator: tpm chardev 'c' not found\n"
    )
    # A backend QEMU would open: refused by name.
    assert failure("-chardev null,id=c -tpmdev emulator,id=t,chardev=c") == (
        f"{PROG}: -tpmdev emulator,id=t,chardev=c: memdevd: option -tpmdev emulator is not"
        " emulated\n"
    )


def test_debugcon_device_is_marked_as_the_debugcon_one() -> None:
    """-debugcon's isa-debugcon (debugcon_parse) is known by what the request
    records, not by its location: a -device of id debugcon is not it."""
    parsed = parse(_argv("-machine pc -device isa-serial,id=debugcon -debugcon null", "10.0"), PROG)
    made = [(d.opts.get("driver"), d.from_debugcon) for d in parsed.request.devices]
    assert made == [("isa-serial", False), ("isa-debugcon", True)]
    assert failure("-machine pc -device isa-serial,id=debugcon -debugcon null") == (
        f"{PROG}: -debugcon null: already have a debugcon device\n"
    )
    machine, err = start("-machine pc -debugcon null")
    assert err == "" and qom_get(machine, "/machine/peripheral/debugcon", "chardev") == "debugcon"


def test_option_rom_unreadable_prints_a_line_a_directory_aborts_7_2(tmp_path: Path) -> None:
    """rom_add_file: a ROM it cannot read is a printed line and skipped; 7.2
    opens a directory and aborts allocating its size, 10.0 prints a line."""
    from memdevd.app.misc_options import _rom_read_abort, _rom_read_error

    q72, q10 = get_release("7.2"), get_release("10.0")
    missing = str(tmp_path / "none.rom")
    assert _rom_read_error(q72, "none.rom", missing) == (
        f"Could not open option rom '{missing}': No such file or directory"
    )
    assert _rom_read_error(q10, "none.rom", missing) is not None
    assert _rom_read_error(q72, "d", str(tmp_path)) is None
    abort = _rom_read_abort(q72, str(tmp_path))
    assert abort is not None and abort.aborts and abort.abort_signal == 5
    assert "Is a directory" in (_rom_read_error(q10, "d", str(tmp_path)) or "")
    assert _rom_read_abort(q10, str(tmp_path)) is None
    (tmp_path / "ok.rom").write_bytes(b"\0" * 512)
    for release in (q72, q10):
        assert _rom_read_error(release, "ok.rom", str(tmp_path / "ok.rom")) is None
        assert _rom_read_abort(release, str(tmp_path / "ok.rom")) is None
    # the line before the abort is printed before it (7.2)
    with pytest.raises(OptionError) as exc:
        start(f"-machine pc -option-rom {missing} -option-rom {tmp_path}", "7.2")
    assert exc.value.aborts
    assert [d.message for d in exc.value.preceding] == [
        f"Could not open option rom '{missing}': No such file or directory"
    ]
