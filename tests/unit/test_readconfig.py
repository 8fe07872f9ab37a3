"""-readconfig (memdevd/app/readconfig.py and its place in cli.parse).

The file read as util/qemu-config.c qemu_config_foreach() reads it, and
each group taken as the option it stands for, in command-line order.  The
same cases against the real binaries are in
tests/conformance/test_readconfig_live.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from memdevd.app import readconfig
from memdevd.app.cli import parse
from memdevd.app.settings import MemdevdSettings
from memdevd.app.startup import build_machine
from memdevd.releases.table import get_release
from memdevd.targets import get_target
from memdevd.util import qemu_opts as Q

PROG = "qemu-system-x86_64"
BASE = ["-S", "-nodefaults", "-display", "none", "-accel", "tcg", "-machine", "q35"]
OPT = "-readconfig F"


def _read(tmp_path: Path, text: str | bytes, version: str = "10.0") -> readconfig.ConfigFile:
    path = tmp_path / "f.cfg"
    if isinstance(text, str):
        path.write_text(text)
    else:
        path.write_bytes(text)
    return readconfig.read(str(path), OPT, get_release(version))


def _lists(version: str = "10.0") -> Any:
    release = get_release(version)
    return Q.new_opts_lists(get_target("x86_64").syntax(release))


def test_groups_ids_and_the_line_each_group_keeps(tmp_path: Path) -> None:
    got = _read(
        tmp_path,
        '# comment\n[device "ehci"]\n  driver = "ich9-usb-ehci1"\n  addr = "1d.7"\n\n'
        '[memory]\n  size = "1G"\n',
    )
    assert got.error is None
    assert [(g.name, g.entries) for g in got.groups] == [
        ("device", {"id": "ehci", "driver": "ich9-usb-ehci1", "addr": "1d.7"}),
        ("memory", {"size": "1G"}),
    ]
    path = str(tmp_path / "f.cfg")
    # The last key line read when the group is handed over (blank lines
    # and headers do not move it).
    assert [g.location for g in got.groups] == [f"{path}:4", f"{path}:7"]
    assert all(isinstance(g.location, Q.FileLocation) for g in got.groups)


def test_sscanf_takes_any_word_as_a_key(tmp_path: Path) -> None:
    # " %63s = \"\"" matches its first directive: a word alone, a key with
    # an unquoted value, a key glued to its value are keys with value "".
    got = _read(
        tmp_path,
        '[name]\n  bare\n  k = v\n  glued="x"\n  q = "a"   # comment\n  e = ""\n  k2 = "open\n',
    )
    assert got.error is None
    assert got.groups[0].entries == {
        "bare": "",
        "k": "",
        'glued="x"': "",
        "q": "a",
        "e": "",
        "k2": "open\n",
    }


def test_a_repeated_key_keeps_its_place_and_its_last_value(tmp_path: Path) -> None:
    got = _read(tmp_path, '[device "a"]\n  x = "1"\n  y = "2"\n  x = "3"\n  id = "b"\n')
    assert got.groups[0].entries == {"id": "b", "x": "3", "y": "2"}


def test_headers(tmp_path: Path) -> None:
    got = _read(tmp_path, '[machine]\n  a = "1"\n[device "x y"]\n  b = "2"\n[]\n')
    # "[]" is no header: a key "[]" of the group before it.
    assert [(g.name, g.entries) for g in got.groups] == [
        ("machine", {"a": "1"}),
        ("device", {"id": "x y", "b": "2", "[]": ""}),
    ]


@pytest.mark.parametrize(
    ("version", "where"), [("7.2", "FILE:3"), ("8.2", OPT), ("10.0", OPT), ("11.1", OPT)]
)
def test_parse_error_location_per_release(tmp_path: Path, version: str, where: str) -> None:
    got = _read(tmp_path, '[device "a"]\n  driver = "e1000"\n   \n[name]\n', version)
    assert got.error is not None
    assert got.error.message == "parse error"
    assert got.error.location == where.replace("FILE", str(tmp_path / "f.cfg"))
    # The group whose header was read before the error was not handed over.
    assert got.groups == []


def test_no_group_defined(tmp_path: Path) -> None:
    got = _read(tmp_path, '  driver = "x"\n', "7.2")
    assert got.error is not None
    assert Q.format_error(PROG, got.error) == f"{PROG}:{tmp_path}/f.cfg:1: no group defined\n"


def test_fgets_splits_long_lines(tmp_path: Path) -> None:
    # fgets(line, 1024): the 1023 bytes first, the rest as a line of its
    # own, whose word %63s cuts at 63 characters.
    got = _read(tmp_path, '[name]\n  k = "' + "v" * 1100 + '"\n')
    assert got.groups[0].entries == {"k": "v" * (1023 - 7), "v" * 63: ""}


def test_missing_file(tmp_path: Path) -> None:
    got = readconfig.read(str(tmp_path / "none.cfg"), OPT, get_release("10.0"))
    assert got.error is not None
    assert got.error.location == OPT
    assert got.error.message == f"Could not open '{tmp_path}/none.cfg': No such file or directory"


def test_groups_as_options() -> None:
    lists, release = _lists(), get_release("10.0")
    device = readconfig.ConfigGroup(
        "device", {"id": "d", "driver": "e1000", "bus": "pcie.0", "romfile": "a,b"}, None
    )
    # id first, then the QDict's order, commas doubled.
    assert readconfig.as_option(device, lists, release) == (
        "device",
        "id=d,bus=pcie.0,driver=e1000,romfile=a,,b",
    )
    memory = readconfig.ConfigGroup("memory", {"size": "1G"}, None)
    assert readconfig.as_option(memory, lists, release) == ("m", "size=1G")
    smp = readconfig.ConfigGroup("smp-opts", {"cpus": "2"}, None)
    assert readconfig.as_option(smp, lists, release) == ("smp", "cpus=2")
    obj = readconfig.ConfigGroup("object", {"id": "m", "qom-type": "memory-backend-ram"}, None)
    assert readconfig.as_option(obj, lists, release)[0] == readconfig.KEYVAL_OBJECT


def test_unknown_and_unemulated_groups() -> None:
    audiodev = readconfig.ConfigGroup("audiodev", {"id": "a", "driver": "none"}, None)
    with pytest.raises(Q.OptionError, match="There is no option group 'audiodev'"):
        readconfig.as_option(audiodev, _lists("7.2"), get_release("7.2"))
    assert readconfig.as_option(audiodev, _lists(), get_release("10.0"))[0] == "audiodev"
    with pytest.raises(Q.OptionError, match="There is no option group 'foo'"):
        readconfig.as_option(readconfig.ConfigGroup("foo", {}, None), _lists(), get_release("10.0"))
    # A key the command line cannot spell.
    with pytest.raises(Q.OptionError, match=r"option -readconfig key a,b is not emulated"):
        readconfig.as_option(
            readconfig.ConfigGroup("name", {"a,b": "1"}, None), _lists(), get_release("10.0")
        )


@pytest.mark.parametrize("version", ["7.2", "8.2", "10.0", "11.1"])
def test_every_group_of_a_release_is_taken(version: str) -> None:
    """No group of vm_config_groups is refused as not emulated any more."""
    lists, release = _lists(version), get_release(version)
    for name in readconfig.known_groups(lists, release):
        group = readconfig.ConfigGroup(name, {}, None)
        try:
            readconfig.as_option(group, lists, release)
        except Q.OptionError as err:
            assert "not emulated" not in err.message, name


def test_an_icount_group_is_configured_with_the_accelerators(tmp_path: Path) -> None:
    from memdevd.app.misc_options import icount_configure

    parsed = _argv(tmp_path, '[icount]\n  align = "on"\n', [], [], "10.0")
    misc = parsed.request.misc
    assert misc.icount == {"align": "on"}
    assert not misc.icount_option  # replay_configure reads only -icount's
    with pytest.raises(Q.OptionError) as exc:
        icount_configure(misc)
    assert Q.format_error(PROG, exc.value) == (
        f"{PROG}:{tmp_path}/f.cfg:2: Please specify shift option when using align\n"
    )
    # Merged with -icount (merge_lists): located at its first option.
    parsed = _argv(tmp_path, '[icount]\n  shift = "auto"\n', [], ["-icount", "sleep=off"], "10.0")
    misc = parsed.request.misc
    assert misc.icount == {"shift": "auto", "sleep": "off"}
    assert misc.icount_option and misc.icount_location == f"{tmp_path}/f.cfg:2"
    assert icount_configure(misc)


@pytest.mark.parametrize(
    ("shift", "ok"),
    [("0", True), ("10", True), ("0xa", True), (" 3", True), ("11", False), ("-1", False),
     ("3x", False), ("", False), ("auto", True)],
)  # fmt: skip
def test_icount_shift_values(tmp_path: Path, shift: str, ok: bool) -> None:
    from memdevd.app.misc_options import icount_configure

    misc = _argv(tmp_path, "", [], ["-icount", f"shift={shift}"], "10.0").request.misc
    if ok:
        assert icount_configure(misc)
    else:
        with pytest.raises(Q.OptionError, match="icount: Invalid shift value"):
            icount_configure(misc)


def test_icount_is_refused_with_kvm(tmp_path: Path) -> None:
    from memdevd.app.startup import configure_accelerator

    parsed = _argv(tmp_path, '[icount]\n  shift = "1"\n', [], ["-accel", "kvm"], "10.0")
    parsed.settings.host.kvm = True
    parsed.request.accel = [("kvm", None)]
    with pytest.raises(Q.OptionError, match="-icount is not allowed with hardware virt"):
        configure_accelerator(parsed.request, parsed.settings, get_release("10.0"))


@pytest.mark.parametrize(
    ("icount", "text"),
    [
        ("1,rr=bogus", "Invalid icount rr option: bogus"),
        ("1,rr=record", "File name not specified for replay"),
        ("1,rr=replay,rrfile=/x", "memdevd: option -icount rr=replay is not emulated"),
    ],
)
def test_icount_replay_configure(tmp_path: Path, icount: str, text: str) -> None:
    with pytest.raises(Q.OptionError, match=text):
        _argv(tmp_path, "", [], ["-icount", icount], "10.0")


def test_file_location_is_printed_without_a_space() -> None:
    diag = Q.Diagnostic("text", location=Q.FileLocation("/f.cfg:3"))
    assert Q.format_diagnostic(PROG, diag) == f"{PROG}:/f.cfg:3: text\n"


def _argv(tmp_path: Path, text: str, before: list[str], after: list[str], version: str) -> Any:
    path = tmp_path / "f.cfg"
    path.write_text(text)
    argv = [*BASE, *before, "-readconfig", str(path), *after, "-memdevd", f"version={version}"]
    return parse(argv, PROG)


def test_groups_take_their_place_among_the_options(tmp_path: Path) -> None:
    parsed = _argv(
        tmp_path,
        '[device "b"]\n  driver = "e1000"\n[memory]\n  size = "1G"\n  slots = "2"\n',
        ["-device", "e1000,id=a"],
        ["-device", "e1000,id=c"],
        "10.0",
    )
    devices = parsed.request.devices
    assert [d.opts.get("id") for d in devices] == ["a", "b", "c"]
    assert devices[1].location == f"{tmp_path}/f.cfg:2"
    assert parsed.request.memory == {"size": "1G", "slots": "2"}


@pytest.mark.parametrize("version", ["7.2", "10.0"])
def test_a_duplicate_id_is_reported_where_the_release_reports_it(
    tmp_path: Path, version: str
) -> None:
    with pytest.raises(Q.OptionError) as exc:
        _argv(
            tmp_path, '[device "a"]\n  driver = "e1000"\n', ["-device", "e1000,id=a"], [], version
        )
    where = f":{tmp_path}/f.cfg:2" if version == "7.2" else f": -readconfig {tmp_path}/f.cfg"
    assert Q.format_error(PROG, exc.value) == f"{PROG}{where}: Duplicate ID 'a' for device\n"


def test_a_device_of_the_file_fails_at_its_line(tmp_path: Path) -> None:
    parsed = _argv(tmp_path, '[device "d"]\n  driver = "e1000"\n  addr = "zz"\n', [], [], "10.0")
    settings: MemdevdSettings = parsed.settings
    with pytest.raises(Q.OptionError) as exc:
        build_machine(parsed.request, get_release("10.0"), settings)
    assert Q.format_error(PROG, exc.value) == (
        f"{PROG}:{tmp_path}/f.cfg:3: Property 'e1000.addr' doesn't take value 'zz'\n"
    )


@pytest.mark.parametrize(
    ("version", "groups"),
    [
        # 7.2 has the spice module and no -run-with; 10.0's build lacks the
        # module (find_list() loads it first); plugins in every build.
        ("7.2", {"spice": True, "run-with": False, "plugin": True}),
        ("10.0", {"spice": False, "run-with": True, "plugin": True}),
        ("11.1", {"spice": False, "run-with": True, "plugin": True}),
    ],
)
def test_groups_of_each_release(version: str, groups: dict[str, bool]) -> None:
    known = readconfig.known_groups(_lists(version), get_release(version))
    assert {name: name in known for name in groups} == groups
    # x86_64 links semihosting's stub (a list named ""): no such group.
    assert "semihosting-config" not in known


def test_semihosting_config_is_a_group_where_the_target_has_semihosting() -> None:
    release = get_release("10.0")
    lists = Q.new_opts_lists(get_target("aarch64").syntax(release))
    assert "semihosting-config" in readconfig.known_groups(lists, release)
    group = readconfig.ConfigGroup("semihosting-config", {"enable": "on", "target": "native"}, None)
    # Stored and unread: -semihosting-config reads its QemuOpts at once.
    assert readconfig.as_option(group, lists, release) == ("", "enable=on,target=native")
    bad = readconfig.ConfigGroup("semihosting-config", {"enable": "maybe"}, None)
    with pytest.raises(Q.OptionError, match="Parameter 'enable' expects 'on' or 'off'"):
        readconfig.as_option(bad, lists, release)


def test_groups_stored_as_their_options_store_them() -> None:
    lists, release = _lists("7.2"), get_release("7.2")
    vnc = readconfig.ConfigGroup("vnc", {"vnc": "127.0.0.1:1"}, None)
    # Only stored: no id assigned, no display_remote (app/displays.py).
    assert readconfig.as_option(vnc, lists, release) == (readconfig.VNC_GROUP, "vnc=127.0.0.1:1")
    spice = readconfig.ConfigGroup("spice", {"port": "5930"}, None)
    assert readconfig.as_option(spice, lists, release) == (readconfig.SPICE_GROUP, "port=5930")
    add_fd = readconfig.ConfigGroup("add-fd", {"fd": "3", "set": "1"}, None)
    assert readconfig.as_option(add_fd, lists, release) == ("add-fd", "fd=3,set=1")
    lists, release = _lists("10.0"), get_release("10.0")
    run_with = readconfig.ConfigGroup("run-with", {"user": "nobody", "bogus": "1"}, None)
    with pytest.raises(Q.OptionError, match="Invalid parameter 'bogus'"):
        readconfig.as_option(run_with, lists, release)
    plugin = readconfig.ConfigGroup("plugin", {"file": "p.so", "anything": "1"}, None)
    # (the keys in the QDict's order)
    assert readconfig.as_option(plugin, lists, release) == ("", "anything=1,file=p.so")


def test_an_add_fd_group_is_checked_at_its_line(tmp_path: Path) -> None:
    # parse_add_fd (qemu_process_early_options) at the group's location.
    with pytest.raises(Q.OptionError) as exc:
        _argv(tmp_path, '[add-fd]\n  fd = "2"\n  set = "1"\n', [], [], "10.0")
    assert Q.format_error(PROG, exc.value) == (
        f"{PROG}:{tmp_path}/f.cfg:3: fd cannot be a standard I/O stream\n"
    )


def _vnc_machine(tmp_path: Path, text: str, after: list[str], version: str) -> Any:
    parsed = _argv(tmp_path, text, [], after, version)
    machine, _ = build_machine(parsed.request, get_release(version), parsed.settings)
    return machine


@pytest.mark.parametrize("version", ["7.2", "10.0"])
def test_a_vnc_group_without_id_fails_vnc_init_funcs_assertion(
    tmp_path: Path, version: str
) -> None:
    from memdevd.app.displays import init_displays

    machine = _vnc_machine(tmp_path, '[vnc]\n  vnc = "127.0.0.1:1"\n', [], version)
    with pytest.raises(Q.OptionError) as exc:
        init_displays(machine, bind=False)
    assert exc.value.aborts
    assert exc.value.message == get_release(version).vnc_no_id_assertion


def test_vnc_ids_are_assigned_as_the_displays_start_in_11_1(tmp_path: Path) -> None:
    from memdevd.app.displays import init_displays

    machine = _vnc_machine(
        tmp_path,
        '[vnc]\n  vnc = "127.0.0.1:1"\n',
        ["-vnc", "127.0.0.1:2", "-vnc", "127.0.0.1:3,id=default"],
        "11.1",
    )
    init_displays(machine, bind=False)
    assert [vd.id for vd in machine.display.vnc] == ["vnc2", "vnc3", "default"]


def test_vnc_ids_are_assigned_in_the_option_loop_before_11_1(tmp_path: Path) -> None:
    parsed = _argv(tmp_path, '[vnc "v"]\n  vnc = "127.0.0.1:1"\n', ["-vnc", ":2"], [], "10.0")
    assert [vnc_id for vnc_id, _, _ in parsed.request.display.vnc] == ["default", "v"]
    assert parsed.request.display.remote  # by the -vnc option, not the group
    with pytest.raises(Q.OptionError, match="Duplicate ID 'default' for vnc"):
        _argv(tmp_path, "", ["-vnc", ":2", "-vnc", ":3,id=default"], [], "10.0")


def test_a_mon_group_fails_at_its_line(tmp_path: Path) -> None:
    parsed = _argv(tmp_path, '[mon]\n  chardev = "x"\n', [], [], "10.0")
    with pytest.raises(Q.OptionError) as exc:
        build_machine(parsed.request, get_release("10.0"), parsed.settings)
    assert Q.format_error(PROG, exc.value) == f'{PROG}:{tmp_path}/f.cfg:2: chardev "x" not found\n'


@pytest.mark.parametrize(
    ("text", "after", "error"),
    [
        ('[smp-opts]\n  cpus = "x"\n', [], "Parameter 'smp.cpus' expects integer"),
        ('[smp-opts]\n  cpus = "2"\n  bogus = "1"\n', [], "Parameter 'smp.bogus' is unexpected"),
        ("", ["-smp", "2,bogus=1"], "Parameter 'smp.bogus' is unexpected"),
        ("", ["-machine", "q35,smp=4"], "Invalid parameter type for 'smp', expected: object"),
        ('[smp-opts]\n  cpus = "2"\n', ["-smp", "maxcpus=4"], None),
    ],
)
def test_smp_is_the_machines_property_visited_with_the_machine(
    tmp_path: Path, text: str, after: list[str], error: str | None
) -> None:
    """vl.c machine_merge_property("smp"): -smp, -machine smp.*= and a
    [smp-opts] group merge as keyval; machine_set_smp visits them (no
    location) as SMPConfiguration."""
    parsed = _argv(tmp_path, text, [], after, "10.0")
    if error is None:
        assert parsed.request.machine["smp"] == {"cpus": "2", "maxcpus": "4"}
        machine, _ = build_machine(parsed.request, get_release("10.0"), parsed.settings)
        assert (machine.config.smp.cpus, machine.config.smp.max_cpus) == (2, 4)
        return
    with pytest.raises(Q.OptionError) as exc:
        build_machine(parsed.request, get_release("10.0"), parsed.settings)
    assert Q.format_error(PROG, exc.value) == f"{PROG}: {error}\n"


def test_an_argv_without_readconfig_does_not_import_it() -> None:
    """Start-up time: app/readconfig.py is imported for -readconfig only."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from memdevd.app.cli import parse\n"
        "parse(['-S', '-nodefaults', '-display', 'none', '-machine', 'q35'], 'q')\n"
        "print('memdevd.app.readconfig' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "False\n"


def test_icount_puts_the_vcpus_on_one_thread(tmp_path: Path) -> None:
    from memdevd.machine.smp import cpus_fast

    parsed = _argv(tmp_path, '[icount]\n  shift = "auto"\n', ["-smp", "2"], [], "10.0")
    machine, _ = build_machine(parsed.request, get_release("10.0"), parsed.settings)
    assert machine.config.tcg_single_thread
    ids = [cpu["thread-id"] for cpu in cpus_fast(machine)]
    assert len(ids) == 2 and ids[0] == ids[1]
    parsed = _argv(tmp_path, '[icount]\n  sleep = "off"\n', ["-smp", "2"], [], "10.0")
    machine, _ = build_machine(parsed.request, get_release("10.0"), parsed.settings)
    # (no shift: icount stays off)
    ids = [cpu["thread-id"] for cpu in cpus_fast(machine)]
    assert ids[0] != ids[1]


@pytest.mark.parametrize("version", ["7.2", "10.0"])
def test_the_machines_smp_property_is_the_topology_computed(tmp_path: Path, version: str) -> None:
    parsed = _argv(tmp_path, '[smp-opts]\n  cpus = "2"\n  maxcpus = "4"\n', [], [], version)
    machine, _ = build_machine(parsed.request, get_release(version), parsed.settings)
    smp = machine.machine_obj.__dict__["_recorded_overrides"]["smp"]
    assert list(smp) == list(get_release(version).smp_keys)
    assert (smp["cpus"], smp["maxcpus"], smp["cores"], smp["sockets"]) == (2, 4, 4, 1)


def test_a_mon_group_without_chardev(tmp_path: Path) -> None:
    # MonitorOptions' chardev is mandatory; a group without key lines has
    # no location (loc_push_none).
    for text, where in (('[mon]\n  mode = "readline"\n', f":{tmp_path}/f.cfg:2"), ("[mon]\n", "")):
        with pytest.raises(Q.OptionError) as exc:
            _argv(tmp_path, text, [], [], "10.0")
        assert Q.format_error(PROG, exc.value) == f"{PROG}{where}: Parameter 'chardev' is missing\n"
