"""libvirt's capability probe of ``memdevd-qemu-system-aarch64``, through
memdevd's command table: every question libvirt 9.0 asks an ARM emulator
(recorded from each live qemu-system-aarch64 in probe.json, by
tools/record_qemu_data.py --target aarch64) gets the recorded answer, among
them ``qom-list-properties`` of the machine type ``virt`` stands for
(``virt-7.2-machine`` of 7.2), where libvirt used to give up.  The same
probe runs end to end in tests/libvirt/test_libvirt_aarch64.py.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

import pytest

from memdevd.app import cli
from memdevd.messages import COMMAND_NOT_FOUND
from memdevd.qapi.json_writer import encode
from memdevd.qmp.errors import QMPError
from memdevd.releases.recorded import Recording, recording
from memdevd.releases.table import get_release

RECORDED = ("7.2", "10.0", "11.1")
PROBE_ARGV = ("-S", "-no-user-config", "-nodefaults", "-nographic", "-machine", "none,accel=tcg")
#: memdevd's own answers by design (its package string, the commands it offers).
OWN_ANSWERS = {"query-version", "query-commands", "query-qmp-schema"}


def arm_recording(version: str) -> Recording:
    return recording("aarch64", get_release(version))


class VM:
    """memdevd as qemu-system-aarch64 ``version``, asked through its registry."""

    def __init__(self, version: str, *argv: str) -> None:
        full = ["-memdevd", f"version={version},target=aarch64", "-display", "none", *argv]
        parsed = cli.parse(full, "qemu-system-aarch64")
        daemon, _ = cli.build_daemon(parsed, "qemu-system-aarch64")
        self.reg = daemon.registry

    def run(self, name: str, args: dict[str, Any] | None = None) -> Any:
        cmd = self.reg.get(name)
        if cmd is None:  # as the dispatcher answers (x86's SEV and SGX queries)
            return {"error": {"class": "CommandNotFound", "desc": COMMAND_NOT_FOUND.format(name)}}
        try:
            ret = cmd.handler(None, args or {})  # type: ignore[arg-type]
            assert not inspect.isawaitable(ret)
        except QMPError as err:
            return err.to_wire()
        return json.loads(encode({"return": {} if ret is None else ret}))


def canonical_virt(version: str) -> str:
    """The QOM type of the machine type ``virt`` stands for in ``version``."""
    rec = arm_recording(version)
    for command, arguments in rec.probe_questions("tcg"):
        if command == "query-machines":
            reply = rec.probe_reply("tcg", command, arguments)
            assert reply is not None
            (virt,) = [m["name"] for m in reply["return"] if m.get("alias") == "virt"]
            return f"{virt}-machine"
    raise AssertionError("query-machines not recorded")


@pytest.mark.parametrize("version", RECORDED)
def test_probe_questions_get_the_recorded_answers(version: str) -> None:
    rec = arm_recording(version)
    questions = rec.probe_questions("tcg")
    assert ("qom-list-properties", {"typename": f"virt-{version}-machine"}) in questions
    vm = VM(version, *PROBE_ARGV)
    asked = 0
    for command, arguments in questions:
        if command in OWN_ANSWERS:
            continue
        assert vm.run(command, arguments) == rec.probe_reply("tcg", command, arguments), (
            command,
            arguments,
        )
        asked += 1
    assert asked == len(questions) - len(OWN_ANSWERS)


@pytest.mark.parametrize("version", RECORDED)
def test_every_versioned_virt_type_lists_the_properties_of_the_recorded_one(
    version: str,
) -> None:
    """Versioned machine types of one family differ in MachineClass fields
    only: QEMU lists the same properties for each (seen live)."""
    vm = VM(version, *PROBE_ARGV)
    want = vm.run("qom-list-properties", {"typename": canonical_virt(version)})
    names = [p["name"] for p in want["return"]]
    # the instance's properties, not the abstract class's
    assert "pflash0" in names and "nvdimm" in names
    machines = vm.run("query-machines")["return"]
    versioned = [m["name"] for m in machines if m["name"].startswith("virt-")]
    assert len(versioned) > 10
    for name in versioned:
        assert vm.run("qom-list-properties", {"typename": f"{name}-machine"}) == want, name
    # the abstract parent answers its own (class) list
    abstract = vm.run("qom-list-properties", {"typename": "virt-machine"})["return"]
    assert "pflash0" not in [p["name"] for p in abstract]
    # a machine type of another family (no sibling recorded): memdevd says so
    desc = vm.run("qom-list-properties", {"typename": "sbsa-ref-machine"})["error"]["desc"]
    assert desc == "memdevd: the properties of type 'sbsa-ref-machine' were not recorded"


def test_8_2_answers_with_the_recording_it_uses() -> None:
    """8.2 (source only) answers from 10.0's recording: virt-8.2-machine is
    one of its versioned types."""
    vm = VM("8.2", *PROBE_ARGV)
    reply = vm.run("qom-list-properties", {"typename": "virt-8.2-machine"})
    assert reply == VM("10.0", *PROBE_ARGV).run(
        "qom-list-properties", {"typename": "virt-10.0-machine"}
    )
