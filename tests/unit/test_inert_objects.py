"""Objects memdevd keeps without modelling (machine/objects.py).

Compared with real QEMU by the scenarios objects_inert_*.json.
"""

from __future__ import annotations

import os

import pytest

from memdevd.machine.errors import CoreError
from memdevd.machine.objects import InertObject
from memdevd.qapi.object_options import ObjectOptionsError, visit_object_options
from memdevd.qapi.source_schema import schema_of
from tests.unit.conftest import make_machine


def add(m, args):  # type: ignore[no-untyped-def]
    props, qom_type, obj_id = visit_object_options(
        args, m.release, schema=lambda: schema_of(m.recording)
    )
    return m.object_add(qom_type, obj_id, props)


def test_iothreads_get_real_threads() -> None:
    m = make_machine("10.0", "q35")
    a = add(m, {"qom-type": "iothread", "id": "io1"})
    b = add(m, {"qom-type": "iothread", "id": "io2", "poll-max-ns": 100})
    assert isinstance(a, InertObject) and isinstance(b, InertObject)
    infos = [a.iothread_info(), b.iothread_info()]
    assert [i["poll-max-ns"] for i in infos] == [32768, 100]
    tids = {i["thread-id"] for i in infos}
    assert len(tids) == 2
    for tid in tids:
        # libvirt reads this file of each iothread.
        assert os.path.exists(f"/proc/self/task/{tid}/stat")


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (
            {"qom-type": "iothread", "id": "x", "poll-max-ns": -1},
            "poll-max-ns value must be in range [0, 9223372036854775807]",
        ),
        (
            {"qom-type": "rng-random", "id": "x", "filename": "/dev/nope"},
            "Could not open '/dev/nope': No such file or directory",
        ),
        ({"qom-type": "rng-egd", "id": "x", "chardev": "nope"}, "Device 'nope' not found"),
    ],
)
def test_checks_on_completion_leave_nothing(args: dict[str, object], text: str) -> None:
    m = make_machine("10.0", "q35")
    with pytest.raises(CoreError) as err:
        add(m, args)
    assert err.value.desc == text
    assert "x" not in m.objects.children


def test_schema_checks_the_arguments() -> None:
    m = make_machine("7.2", "q35")
    with pytest.raises(ObjectOptionsError) as err:
        add(m, {"qom-type": "iothread", "id": "x", "bogus": 1})
    assert err.value.desc == "Parameter 'bogus' is unexpected"
    with pytest.raises(ObjectOptionsError) as err:
        add(m, {"qom-type": "no-such-type", "id": "x"})
    assert err.value.desc == "Parameter 'qom-type' does not accept value 'no-such-type'"
    obj = add(m, {"qom-type": "throttle-group", "id": "tg", "x-iops-total": 100})
    assert m.qom_get("/objects/tg", "x-iops-total") == 100 and obj.typename == "throttle-group"
    m.object_del("tg")
    assert "tg" not in m.objects.children
