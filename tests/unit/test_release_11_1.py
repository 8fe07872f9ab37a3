"""The machine core's 11.1 answers that are fields of the release table
(docs/versions.md, 11.1 column), each beside 10.0's."""

from __future__ import annotations

import pytest
from conftest import make_machine

from memdevd.machine.errors import CoreError

GiB = 1 << 30


@pytest.mark.parametrize(
    ("version", "text"),
    [
        ("10.0", "object 'm0' is in use, can not be deleted"),
        ("11.1", "Cannot delete host memory backend 'm0' which is mapped"),
    ],
)
def test_object_del_of_a_mapped_backend(version: str, text: str) -> None:
    m = make_machine(version)
    m.object_add("memory-backend-ram", "m0", {"size": GiB})
    m.device_add({"driver": "pc-dimm", "id": "d0", "memdev": "m0"}, from_json=True)
    with pytest.raises(CoreError) as err:
        m.object_del("m0")
    assert err.value.desc == text
    assert "m0" in m.objects.children


@pytest.mark.parametrize("dev_id", ["0bad", "a b", ""])
def test_device_id_must_be_an_identifier_in_11_1(dev_id: str) -> None:
    m = make_machine("11.1")
    m.object_add("memory-backend-ram", "m0", {"size": GiB})
    with pytest.raises(CoreError) as err:
        m.device_add({"driver": "pc-dimm", "id": dev_id, "memdev": "m0"}, from_json=True)
    assert err.value.desc == f"Invalid qdev ID '{dev_id}'"
    assert dev_id not in m.peripheral.children
    # 10.0's strict device_add took any string.
    old = make_machine("10.0")
    old.object_add("memory-backend-ram", "m0", {"size": GiB})
    old.device_add({"driver": "pc-dimm", "id": "0bad", "memdev": "m0"}, from_json=True)


@pytest.mark.parametrize("version", ["10.0", "11.1"])
def test_iothread_poll_values(version: str) -> None:
    m = make_machine(version)
    io = m.object_add("iothread", "io0", {"poll-grow": 0})
    info = io.iothread_info()  # type: ignore[attr-defined]
    if version == "10.0":
        assert (info["poll-grow"], info["poll-shrink"], "poll-weight" in info) == (0, 0, False)
    else:
        assert (info["poll-grow"], info["poll-shrink"], info["poll-weight"]) == (2, 2, 3)
        with pytest.raises(CoreError) as err:
            m.object_add("iothread", "io1", {"poll-weight": 64})
        assert err.value.desc == "poll-weight value must be in range [0, 63]"


def test_monitor_objects_of_11_1() -> None:
    from memdevd.machine.monitors import add_command_line_monitors

    m = make_machine("11.1")
    m.add_backend_chardev("c1", {"type": "null", "data": {}})
    m.add_backend_chardev("c2", {"type": "null", "data": {}})
    add_command_line_monitors(
        m,
        [
            ("compat_monitor0", "control", "compat_monitor0", False),
            ("hmp", "readline", "c1", False),
        ],
    )
    assert [p.name for p in m.objects.children["compat_monitor0"].properties()] == [
        "type",
        "chardev",
        "pretty",
        "close-action",
    ]
    assert m.qom_get("/objects/hmp", "readline") is True
    for obj_id, text in (
        ("compat_monitor0", "Cannot delete the current QMP monitor"),
        ("hmp", "Deleting HMP monitors is not supported"),
    ):
        with pytest.raises(CoreError) as err:
            m.object_del(obj_id, current_monitor="compat_monitor0")
        assert err.value.desc == text
    # object-add takes a free chardev and opens it; object-del gives it back.
    m.object_add("monitor-hmp", "h2", {"chardev": "c1"})
    for chardev, text in (
        ("nope", 'chardev "nope" not found'),
        ("c1", "chardev 'c1' is already in use"),
    ):
        with pytest.raises(CoreError) as err:
            m.object_add("monitor-qmp", "m1", {"chardev": chardev})
        assert err.value.desc == text
        assert "m1" not in m.objects.children
    m.object_add("monitor-qmp", "m2", {"chardev": "c2", "close-action": "delete"})
    assert m.chardevs.children["c2"].frontend_open  # type: ignore[attr-defined]
    m.object_del("m2", current_monitor="compat_monitor0")
    assert not m.chardevs.children["c2"].frontend_open  # type: ignore[attr-defined]
    # 10.0 has no such type.
    with pytest.raises(CoreError):
        make_machine("10.0").object_add("monitor-qmp", "m1", {"chardev": "c2"})


@pytest.mark.parametrize("version", ["10.0", "11.1"])
def test_cxl_windows_are_devices_in_11_1(version: str) -> None:
    from memdevd.app.cli import parse
    from memdevd.app.startup import build_machine
    from memdevd.releases.table import get_release

    argv = (
        "-machine q35,cxl=on,cxl-fmw.0.targets.0=cxl.1,cxl-fmw.0.size=4G,"
        "cxl-fmw.1.targets.0=cxl.1,cxl-fmw.1.size=4G -m 1G,slots=1,maxmem=2G -nodefaults "
        f"-display none -S -device pxb-cxl,bus_nr=12,bus=pcie.0,id=cxl.1 -memdevd version={version}"
    ).split()
    parsed = parse(argv, "qemu-system-x86_64")
    m, _ = build_machine(parsed.request, get_release(version), parsed.settings)
    if version == "10.0":
        assert m.qom_get("/machine/cxl-fixed-memory-region[1]", "addr") == 6710886400 + (4 << 30)
        return
    assert "cxl-fixed-memory-region[0]" not in m.machine_obj.children
    assert [p["name"] for p in m.qom_list("/machine/unattached/device[0]")] == [
        "type",
        "parent_bus",
        "realized",
        "hotplugged",
        "hotpluggable",
        "cxl-fixed-memory-region[0]",
    ]
    assert m.qom_get("/machine/unattached/device[1]", "type") == "cxl-fmw"
    region = "/machine/unattached/device[1]/cxl-fixed-memory-region[0]"
    assert m.qom_get(region, "addr") == 6710886400 + (4 << 30)
    # The vCPU comes after the windows.
    assert m.qom_get("/machine/unattached/device[2]", "type") == "qemu64-x86_64-cpu"
