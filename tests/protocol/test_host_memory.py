"""``-memdevd host-memory=`` seen by a QMP client: object-add fails with
QEMU's texts once the emulated host cannot back a backend, a failed
object-add changes nothing, and object-del gives the memory back."""

from __future__ import annotations

import time

import pytest

from memdevd.testing import MemdevdError, MemdevdProcess

ARGV = ("-machine", "q35", "-m", "1G", "-S", "-nodefaults", "-display", "none")
GiB = 1 << 30


def ram(obj_id: str, size: int, **props: object) -> dict[str, object]:
    return {"qom-type": "memory-backend-ram", "id": obj_id, "size": size * GiB, **props}


def test_object_add_against_the_host_memory() -> None:
    with MemdevdProcess(*ARGV, memdevd_options=("host-memory=4G",)) as vm:
        vm.cmd("object-add", ram("a", 3, prealloc=True))
        time.sleep(0.3)  # the idle warm-up (a scratch machine) must not count
        before = vm.cmd("query-memdev")
        # Linux's default overcommit heuristic: no single mapping beyond the host.
        with pytest.raises(MemdevdError) as exc:
            vm.cmd("object-add", ram("b", 5))
        assert exc.value.desc == "cannot set up guest memory 'b': Cannot allocate memory"
        assert vm.cmd("query-memdev") == before
        vm.cmd("object-add", ram("b", 2))
        with pytest.raises(MemdevdError) as exc:
            vm.cmd("qom-set", {"path": "/objects/b", "property": "prealloc", "value": True})
        assert (
            exc.value.desc
            == "qemu_prealloc_mem: preallocating memory failed: Cannot allocate memory"
        )
        assert vm.cmd("qom-get", {"path": "/objects/b", "property": "prealloc"}) is False
        vm.cmd("object-del", {"id": "a"})
        vm.cmd("qom-set", {"path": "/objects/b", "property": "prealloc", "value": True})
        vm.cmd("object-add", ram("c", 2, prealloc=True))
        assert sorted(m["id"] for m in vm.cmd("query-memdev")) == ["b", "c", "pc.ram"]
