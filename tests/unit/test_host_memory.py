"""``-memdevd host-memory=`` and ``host-overcommit=``: guest RAM the
emulated host cannot back.

Mapping anonymous guest RAM meets the kernel's overcommit check (QEMU:
``cannot set up guest memory 'ID': Cannot allocate memory``); preallocation
touches pages and the preallocated backends add up (QEMU:
``qemu_prealloc_mem: preallocating memory failed: Cannot allocate
memory``).  The mapping side is compared with real QEMU on this host by
tests/conformance/test_host_memory_live.py; preallocation cannot be
(real QEMU would really use the memory), so it is tested here.
"""

from __future__ import annotations

import pytest
from conftest import GiB, assert_unchanged, backend, make_machine, snapshot

from memdevd.app import cli
from memdevd.app.settings import MemdevdSettings, SettingsError, apply, help_text
from memdevd.machine.errors import CoreError
from memdevd.machine.host import HostFacts
from memdevd.util.qemu_opts import OptionError

NOMEM = "cannot set up guest memory '{}': Cannot allocate memory"
PREALLOC = "qemu_prealloc_mem: preallocating memory failed: Cannot allocate memory"


def host(memory: str, overcommit: str = "heuristic") -> HostFacts:
    settings = MemdevdSettings()
    apply(settings, [("host-memory", memory), ("host-overcommit", overcommit)])
    return settings.host


def test_settings_parse_and_are_listed() -> None:
    assert host("6G").memory == 6 * GiB
    assert host("unlimited").memory is None
    assert MemdevdSettings().host.memory is None
    with pytest.raises(SettingsError):
        host("lots")
    with pytest.raises(SettingsError):
        host("1G", "sometimes")
    text = help_text()
    assert "host-memory=SIZE|unlimited" in text
    assert "host-overcommit=heuristic|always|never" in text


def test_heuristic_refuses_one_mapping_beyond_the_host(version: str) -> None:
    m = make_machine(version, host=host("4G"))
    before = snapshot(m)
    with pytest.raises(CoreError) as exc:
        backend(m, "big", "5G")
    assert exc.value.desc == NOMEM.format("big")
    assert_unchanged(before, snapshot(m))
    # MAP_NORESERVE is not checked; the mappings do not add up.
    backend(m, "noreserve", "5G", reserve=False)
    backend(m, "a", "3G")
    backend(m, "b", "3G")


def test_never_adds_mappings_up_and_ignores_reserve_off(version: str) -> None:
    m = make_machine(version, host=host("4G", "never"))  # pc.ram: 1G
    backend(m, "a", "2G")
    with pytest.raises(CoreError) as exc:
        backend(m, "b", "2G", reserve=False)
    assert exc.value.desc == NOMEM.format("b")
    backend(m, "c", "1G")
    m.object_del("a")
    backend(m, "b", "2G")


def test_always_never_refuses() -> None:
    m = make_machine(host=host("1G", "always"))
    backend(m, "a", "64G")


def test_preallocated_backends_add_up(version: str) -> None:
    m = make_machine(version, host=host("4G"))
    backend(m, "a", "2G", prealloc=True)
    before = snapshot(m)
    with pytest.raises(CoreError) as exc:
        backend(m, "b", "3G", prealloc=True)
    assert exc.value.desc == PREALLOC
    assert_unchanged(before, snapshot(m))
    backend(m, "c", "2G", prealloc=True)
    m.object_del("a")
    backend(m, "b", "2G", prealloc=True)
    # Not preallocated: nothing is touched.
    backend(m, "d", "3G")


def test_prealloc_set_later_preallocates_then(version: str) -> None:
    m = make_machine(version, host=host("4G"))
    backend(m, "a", "3G", prealloc=True)
    backend(m, "b", "2G")
    with pytest.raises(CoreError) as exc:
        m.qom_set("/objects/b", "prealloc", True)
    assert exc.value.desc == PREALLOC
    assert m.qom_get("/objects/b", "prealloc") is False
    m.object_del("a")
    m.qom_set("/objects/b", "prealloc", True)
    assert m.qom_get("/objects/b", "prealloc") is True


def test_file_backends_off_hugetlbfs_are_not_host_memory(version: str, tmp_path: object) -> None:
    m = make_machine(version, host=host("1G"))
    backend(m, "f", "4G", "file", **{"mem-path": str(tmp_path), "prealloc": True})
    with pytest.raises(CoreError):
        backend(m, "h", "2G", "file", **{"mem-path": "/dev/hugepages", "prealloc": True})


def start(version: str, *argv: str) -> None:
    args = ("-memdevd", f"version={version},clock=virtual,host-memory=4G", *argv)
    cli.build_daemon(cli.parse(args, "qemu-system-x86_64"), "qemu-system-x86_64")


def test_boot_ram_beyond_the_host(version: str) -> None:
    with pytest.raises(OptionError) as exc:
        start(version, "-m", "5G")
    assert exc.value.message == NOMEM.format("pc.ram")


def test_startup_prealloc_per_release() -> None:
    objects = (
        "-object",
        "memory-backend-ram,id=a,size=3G,prealloc=on",
        "-object",
        "memory-backend-ram,id=b,size=3G,prealloc=on",
        "-object",
        "memory-backend-ram,id=c,size=0",
    )
    # 7.2: each -object is preallocated when it is created (b fails before
    # c is made); QEMU names no option for a backend's errors.
    with pytest.raises(OptionError) as exc:
        start("7.2", *objects)
    assert (exc.value.message, exc.value.location) == (PREALLOC, None)
    # 10.0: together once every late backend exists: c's own error comes first.
    with pytest.raises(OptionError) as exc:
        start("10.0", *objects)
    assert exc.value.message == "property 'size' of memory-backend-ram doesn't take value '0'"
    with pytest.raises(OptionError) as exc:
        start("10.0", *objects[:4])
    assert (exc.value.message, exc.value.location) == (PREALLOC, None)


def test_mem_prealloc_preallocates_the_boot_ram(version: str) -> None:
    with pytest.raises(OptionError) as exc:
        start(version, "-m", "3G", "-mem-prealloc", "-object", "memory-backend-ram,id=a,size=2G")
    # The -object backend first (10.0: once the late backends exist), then
    # the boot RAM, made with the board, cannot be preallocated.
    assert (exc.value.message, exc.value.location) == (PREALLOC, None)
    start(version, "-m", "3G", "-mem-prealloc")
