"""libvirt's capability probe and the vCPUs, through memdevd's command table.

memdevd is built from a command line as the daemon builds it and asked
through its registry (no socket): the answers must be the ones recorded
from real QEMU in memdevd/targets/x86_64/data (probe.json, cpus.json), the errors QEMU's
texts, memdevd's own refusals named as such.  The same questions go to a
real QEMU in tests/conformance/test_capabilities_live.py.
"""

from __future__ import annotations

import inspect
import json
import os
from typing import Any

import pytest

from memdevd.app import cli
from memdevd.machine.smp import vcpu_thread_id
from memdevd.qapi.json_writer import encode
from memdevd.qmp.errors import QMPError
from memdevd.releases.recorded import Recording, recording
from memdevd.releases.table import get_release
from memdevd.util.qemu_opts import Diagnostic, OptionError


def x86_recording(version: str) -> Recording:
    """What was recorded from qemu-system-x86_64 for ``version``."""
    return recording("x86_64", get_release(version))


VERSIONS = ("7.2", "10.0")
PROBE_ARGV = ("-S", "-no-user-config", "-nodefaults", "-nographic", "-machine")
#: Answers that are memdevd's own by design: the package string names
#: memdevd, and the command list (and so the schema) holds only the
#: commands memdevd offers (tests below check those against QEMU's).
OWN_ANSWERS = {"query-version", "query-commands", "query-qmp-schema"}


class VM:
    """A machine built from ``argv`` and its command table."""

    def __init__(self, version: str, *argv: str) -> None:
        parsed = cli.parse(
            ["-memdevd", f"version={version}", "-display", "none", *argv], "qemu-system-x86_64"
        )
        daemon, self.notes = cli.build_daemon(parsed, "qemu-system-x86_64")
        self.machine = daemon.machine
        self.reg = daemon.registry

    def run(self, name: str, args: dict[str, Any] | None = None) -> Any:
        """The reply as QEMU would send it (JSON round trip: tuples become lists)."""
        cmd = self.reg.get(name)
        assert cmd is not None, name
        try:
            ret = cmd.handler(None, args or {})  # type: ignore[arg-type]
            assert not inspect.isawaitable(ret)
        except QMPError as err:
            return err.to_wire()
        return json.loads(encode({"return": {} if ret is None else ret}))

    def ok(self, name: str, args: dict[str, Any] | None = None) -> Any:
        reply = self.run(name, args)
        assert "return" in reply, reply
        return reply["return"]

    def error(self, name: str, args: dict[str, Any] | None = None) -> tuple[str, str]:
        reply = self.run(name, args)
        assert "error" in reply, reply
        return reply["error"]["class"], reply["error"]["desc"]


def start_error(version: str, *argv: str) -> OptionError:
    with pytest.raises(OptionError) as info:
        VM(version, *argv)
    return info.value


def domain_argv(scenario: dict[str, Any]) -> list[str]:
    """A recorded vCPU scenario's command line without QEMU's path and -qmp."""
    argv = list(scenario["argv"][1:])
    i = argv.index("-qmp")
    del argv[i : i + 2]
    if scenario["accel"] == "kvm":
        argv = ["-memdevd", "kvm=on", *argv]
    return argv


# --- libvirt's probe -----------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("accel", ["tcg", "kvm"])
def test_probe_questions_get_the_recorded_answers(version: str, accel: str) -> None:
    if not x86_recording(version).probe_questions(accel):
        pytest.skip(f"no {accel} probe recorded")
    settings = ["-memdevd", "kvm=on"] if accel == "kvm" else []
    vm = VM(version, *settings, *PROBE_ARGV, f"none,accel={accel}")
    asked = 0
    for command, arguments in x86_recording(version).probe_questions(accel):
        if command in OWN_ANSWERS:
            continue
        assert vm.run(command, arguments) == x86_recording(version).probe_reply(
            accel, command, arguments
        ), (command, arguments)
        asked += 1
    assert asked == 50


@pytest.mark.parametrize("version", VERSIONS)
def test_kvm_is_what_the_emulated_host_and_accel_say(version: str) -> None:
    assert VM(version, *PROBE_ARGV, "none,accel=kvm:tcg").ok("query-kvm")["enabled"] is False
    kvm = VM(version, "-memdevd", "kvm=on", *PROBE_ARGV, "none,accel=kvm:tcg")
    assert kvm.ok("query-kvm") == {"enabled": True, "present": True}
    assert kvm.error("query-sev-capabilities") == ("GenericError", "SEV is not enabled in KVM")
    tcg = VM(version, "-memdevd", "kvm=on", *PROBE_ARGV, "none,accel=tcg")
    assert tcg.error("query-sev-capabilities") == ("GenericError", "KVM not enabled")
    # More CPU models are usable with KVM (fewer unavailable features).
    assert kvm.ok("query-cpu-definitions") != tcg.ok("query-cpu-definitions")


@pytest.mark.parametrize("version", VERSIONS)
def test_new_commands_are_listed_in_qemu_order_and_in_the_schema(version: str) -> None:
    vm = VM(version, *PROBE_ARGV, "none,accel=tcg")
    names = [c["name"] for c in vm.ok("query-commands")]
    new = [
        "query-target",
        "query-cpu-definitions",
        "query-cpu-model-expansion",
        "query-tpm-models",
        "query-tpm-types",
        "query-sev-capabilities",
        "query-command-line-options",
        "query-hotpluggable-cpus",
        "query-cpus-fast",
    ]
    assert set(new) <= set(names)
    order = x86_recording(version).command_order
    qemu_names = [n for n in names if n in order]
    assert qemu_names == sorted(qemu_names, key=order.__getitem__)
    schema = {e["name"] for e in vm.ok("query-qmp-schema") if e["meta-type"] == "command"}
    assert set(new) <= schema


@pytest.mark.parametrize("version", VERSIONS)
def test_query_command_line_options(version: str) -> None:
    vm = VM(version, *PROBE_ARGV, "none,accel=tcg")
    before = vm.ok("query-command-line-options")
    assert vm.ok("query-command-line-options", {"option": "smp-opts"}) == [
        o for o in before if o["option"] == "smp-opts"
    ]
    assert vm.error("query-command-line-options", {"option": "nosuch"}) == (
        "GenericError",
        "invalid option name: nosuch",
    )
    assert vm.error("query-command-line-options", {"option": 1}) == (
        "GenericError",
        "Invalid parameter type for 'option', expected: string",
    )
    # qom-list-types loads QEMU's modules, and 7.2's spice module adds "spice"
    vm.ok("qom-list-types")
    after = vm.ok("query-command-line-options")
    spice = {o["option"] for o in after} - {o["option"] for o in before}
    assert spice == ({"spice"} if version == "7.2" else set())


@pytest.mark.parametrize("version", VERSIONS)
def test_query_cpu_model_expansion(version: str) -> None:
    vm = VM(version, *PROBE_ARGV, "none,accel=tcg")
    static_max = {"type": "static", "model": {"name": "max"}}
    want = x86_recording(version).probe_reply("tcg", "query-cpu-model-expansion", static_max)
    assert vm.run("query-cpu-model-expansion", static_max) == want
    # empty props apply nothing: the same question
    empty = {"type": "static", "model": {"name": "max", "props": {}}}
    assert vm.run("query-cpu-model-expansion", empty) == want
    assert vm.error("query-cpu-model-expansion", {"model": {"name": "max"}}) == (
        "GenericError",
        "Parameter 'type' is missing",
    )
    bad_type = {"type": "partial", "model": {"name": "max"}}
    assert vm.error("query-cpu-model-expansion", bad_type) == (
        "GenericError",
        "Parameter 'type' does not accept value 'partial'",
    )
    unknown = {"type": "static", "model": {"name": "nosuch"}}
    assert vm.error("query-cpu-model-expansion", unknown) == (
        "GenericError",
        "CPU model 'nosuch' not found",
    )
    # any model under TCG, from cpu-models.json (compared byte for byte
    # with QEMU in tests/conformance/test_cpu_models_live.py)
    full = vm.ok("query-cpu-model-expansion", {"type": "full", "model": {"name": "qemu64"}})
    assert full["model"]["name"] == "qemu64"
    assert full["model"]["props"]["vendor"] == "AuthenticAMD"
    assert full["model"]["props"]["lm"] is True and full["model"]["props"]["pcid"] is False
    asked = {"type": "static", "model": {"name": "pentium", "props": {"pse36": True}}}
    static = vm.ok("query-cpu-model-expansion", asked)["model"]
    assert static["name"] == "base" and static["props"]["pse36"] is True
    assert vm.error(
        "query-cpu-model-expansion",
        {"type": "static", "model": {"name": "pentium", "props": {"nosuch": True}}},
    ) == ("GenericError", "Property 'pentium-x86_64-cpu.nosuch' not found")
    prefix = "" if version == "7.2" else "model.props."
    assert vm.error(
        "query-cpu-model-expansion",
        {"type": "static", "model": {"name": "pentium", "props": {"pse36": 1}}},
    ) == ("GenericError", f"Invalid parameter type for '{prefix}pse36', expected: boolean")
    # under KVM only the recorded questions are answered
    kvm = VM(version, "-memdevd", "kvm=on", *PROBE_ARGV, "none,accel=kvm")
    cls, desc = kvm.error(
        "query-cpu-model-expansion", {"type": "full", "model": {"name": "qemu64"}}
    )
    assert cls == "GenericError"
    assert desc.startswith("memdevd: query-cpu-model-expansion with these arguments")


# --- vCPUs --------------------------------------------------------------------------


def _cpu_scenarios() -> list[tuple[str, str]]:
    return [(v, name) for v in VERSIONS for name in x86_recording(v).load("cpus")]


@pytest.mark.parametrize(("version", "name"), _cpu_scenarios())
def test_vcpus_of_a_libvirt_domain_are_qemus(version: str, name: str) -> None:
    scenario = x86_recording(version).load("cpus")[name]
    vm = VM(version, *domain_argv(scenario))
    sample = next(iter(x86_recording(version).load("cpus")[scenario["sample"]]["objects"].values()))
    assert vm.ok("query-hotpluggable-cpus") == scenario["query-hotpluggable-cpus"]["return"]
    fast = vm.ok("query-cpus-fast")
    want = json.loads(json.dumps(scenario["query-cpus-fast"]["return"]))
    for cpu in [*fast, *want]:
        cpu.pop("thread-id")
    assert fast == want
    for path, record in scenario["objects"].items():
        listing = vm.ok("qom-list", {"path": path})
        assert listing == record.get("qom-list", sample["qom-list"])
        values = {**sample["qom-get"], **record.get("qom-get-differences", {})}
        for prop in listing:
            reply = vm.run("qom-get", {"path": path, "property": prop["name"]})
            assert reply.get("return", reply) == values[prop["name"]], (path, prop)
    unattached = {p["name"] for p in vm.ok("qom-list", {"path": "/machine/unattached"})}
    assert set(scenario["objects"]) == {
        f"/machine/unattached/{n}" for n in unattached if n.startswith("device[")
    }


@pytest.mark.parametrize("version", VERSIONS)
def test_vcpu_threads_are_real_and_distinct(version: str) -> None:
    vm = VM(version, "-machine", "q35", "-smp", "3")
    ids = [cpu["thread-id"] for cpu in vm.ok("query-cpus-fast")]
    assert len(set(ids)) == 3 and os.getpid() not in ids
    assert all(os.path.isdir(f"/proc/self/task/{tid}") for tid in ids)
    # the same vCPU keeps its thread (another machine of the process too)
    assert [cpu["thread-id"] for cpu in vm.ok("query-cpus-fast")] == ids
    assert vcpu_thread_id(0) == ids[0]


@pytest.mark.parametrize("version", VERSIONS)
def test_topology_and_numbering(version: str) -> None:
    # -smp 4 alone: cores in one socket (machine types from 6.2); the first
    # vCPU's kvmvapic is device[1]; no NUMA, so no node-id
    vm = VM(version, "-machine", "q35", "-smp", "4,maxcpus=6")
    hotpluggable = vm.ok("query-hotpluggable-cpus")
    assert len(hotpluggable) == 6
    assert [c.get("qom-path") for c in reversed(hotpluggable)] == [
        "/machine/unattached/device[0]",
        "/machine/unattached/device[2]",
        "/machine/unattached/device[3]",
        "/machine/unattached/device[4]",
        None,
        None,
    ]
    assert [c["props"] for c in reversed(hotpluggable)][:2] == [
        {"socket-id": 0, "core-id": 0, "thread-id": 0},
        {"socket-id": 0, "core-id": 1, "thread-id": 0},
    ]
    assert vm.ok("qom-get", {"path": "/machine/unattached/device[4]", "property": "apic-id"}) == 3
    # threads and dies get bit fields of their own in the APIC id
    vm = VM(version, "-machine", "pc", "-smp", "8,sockets=2,dies=2,cores=1,threads=2")
    last = vm.ok("query-hotpluggable-cpus")[0]
    assert last["props"] == {"socket-id": 1, "die-id": 1, "core-id": 0, "thread-id": 1}
    path = last["qom-path"]
    assert vm.ok("qom-get", {"path": path, "property": "apic-id"}) == 0b111
    assert vm.ok("qom-get", {"path": path, "property": "node-id"}) == -1
    # old machine types fill sockets first
    if version == "7.2":
        vm = VM(version, "-machine", "pc-i440fx-6.1", "-smp", "2")
        assert vm.ok("query-hotpluggable-cpus")[0]["props"]["socket-id"] == 1


@pytest.mark.parametrize("version", VERSIONS)
def test_board_links_move_with_the_vcpus(version: str) -> None:
    one = VM(version, "-machine", "pc", "-m", "1G")
    two = VM(version, "-machine", "pc", "-m", "1G", "-smp", "3")
    link = one.ok("qom-get", {"path": "/machine", "property": "acpi-device"})
    moved = two.ok("qom-get", {"path": "/machine", "property": "acpi-device"})
    index = int(link.split("[")[1].split("]")[0])
    assert moved == link.replace(f"device[{index}]", f"device[{index + 2}]")


@pytest.mark.parametrize("version", VERSIONS)
def test_numa_node_of_each_vcpu(version: str) -> None:
    base = ["-machine", "pc", "-m", "2G", "-smp", "2,sockets=2"]
    mems = [
        "-object",
        "memory-backend-ram,id=r0,size=1G",
        "-object",
        "memory-backend-ram,id=r1,size=1G",
    ]
    vm = VM(version, *base, *mems, "-numa", "node,memdev=r0,cpus=1", "-numa", "node,memdev=r1")
    nodes = [c["props"]["node-id"] for c in vm.ok("query-cpus-fast")]
    assert nodes == [0, 0]
    assert vm.notes == [
        Diagnostic(
            "CPU(s) not present in any NUMA nodes: CPU 0 [socket-id: 0, core-id: 0, thread-id: 0]",
            kind="warning",
        ),
        Diagnostic(
            "All CPU(s) up to maxcpus should be described in NUMA config, ability to start "
            "up with partial NUMA mappings is obsoleted and will be removed in future",
            kind="warning",
        ),
    ]
    # without cpus=, the default spreads the sockets over the nodes
    vm = VM(version, *base, *mems, "-numa", "node,memdev=r0", "-numa", "node,memdev=r1")
    assert [c["props"]["node-id"] for c in vm.ok("query-cpus-fast")] == [0, 1]
    assert vm.notes == []
    error = start_error(version, *base, *mems, "-numa", "node,memdev=r0,cpus=0-2")
    assert error.message == "CPU index (2) should be smaller than maxcpus (2)"
    assert error.location == "-numa node,memdev=r0,cpus=0-2"
    error = start_error(
        version, *base, *mems, "-numa", "node,memdev=r0,cpus=0", "-numa", "node,memdev=r1,cpus=0"
    )
    assert error.message == "CPU is already assigned to node-id: 0"


@pytest.mark.parametrize("version", VERSIONS)
def test_vcpu_properties_refuse_as_qemus(version: str) -> None:
    vm = VM(version, "-machine", "pc")
    path = "/machine/unattached/device[0]"
    assert vm.error("qom-set", {"path": path, "property": "apic-id", "value": 0}) == (
        "GenericError",
        "Attempt to set property 'apic-id' on anonymous device (type 'qemu64-x86_64-cpu') "
        "after it was realized",
    )
    assert vm.error("qom-set", {"path": path, "property": "memory", "value": ""}) == (
        "GenericError",
        "Attempt to set link property 'memory' on device '(null)' "
        "(type 'qemu64-x86_64-cpu') after it was realized",
    )
    assert vm.error("qom-set", {"path": path, "property": "hotplugged", "value": False}) == (
        "GenericError",
        "Property 'qemu64-x86_64-cpu.hotplugged' is not writable",
    )
    assert vm.error("qom-get", {"path": path, "property": "crash-information"}) == (
        "GenericError",
        "No crash occurred",
    )
    vm.ok("qom-set", {"path": path, "property": "model-id", "value": "x"})
    assert vm.ok("qom-get", {"path": path, "property": "model-id"}) == "x"
    # max's own qdev properties refuse the same way
    vm = VM(version, "-machine", "pc", "-cpu", "max")
    assert vm.error("qom-set", {"path": path, "property": "migratable", "value": True}) == (
        "GenericError",
        "Attempt to set property 'migratable' on anonymous device (type 'max-x86_64-cpu') "
        "after it was realized",
    )
    assert vm.error("device_del", {"id": path}) == (
        "GenericError",
        "memdevd: vCPU hot-unplug is not emulated",
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_none_machine_has_no_vcpu_hotplug(version: str) -> None:
    vm = VM(version, *PROBE_ARGV, "none,accel=tcg")
    assert vm.ok("query-cpus-fast") == []
    desc = (
        "The feature 'query-hotpluggable-cpus' is not enabled"
        if version == "7.2"
        else "machine does not support hot-plugging CPUs"
    )
    assert vm.error("query-hotpluggable-cpus") == ("GenericError", desc)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-cpu", "nosuch"], "unable to find CPU model 'nosuch'"),
        (["-cpu", ""], "-cpu option cannot be empty"),
        (["-cpu", "host"], "CPU model 'host' requires KVM or HVF"),
        (["-machine", "none", "-cpu", "qemu64"], "apic-id property was not initialized properly"),
        (
            ["-cpu", "qemu64,nosuch=on,+other"],
            "can't apply global qemu64-x86_64-cpu.nosuch=on: "
            "Property 'qemu64-x86_64-cpu.nosuch' not found",
        ),
        (["-cpu", "qemu64,-nosuch,+other"], "Property 'qemu64-x86_64-cpu.other' not found"),
        (
            ["-cpu", "pentium,pse=maybe"],
            "can't apply global pentium-x86_64-cpu.pse=maybe: "
            "Parameter 'pse' expects 'on' or 'off'",
        ),
        (
            ["-cpu", "qemu64,phys-bits=5000000000"],
            "can't apply global qemu64-x86_64-cpu.phys-bits=5000000000: "
            "Parameter 'phys-bits' expects uint32_t",
        ),
        (["-cpu", "qemu64,phys-bits=31"], "phys-bits should be between 32 and 52  (but is 31)"),
        (["-cpu", "pentium,phys-bits=36"], "phys-bits is not user-configurable in 32 bit"),
        (["-cpu", "Skylake-Client,enforce"], "TCG doesn't support requested features"),
        (
            ["-smp", "4,sockets=3"],
            "Invalid CPU topology: product of the hierarchy must match maxcpus: sockets (3) * "
            "dies (1){modules} * cores (1) * threads (1) != maxcpus (4)",
        ),
        (
            ["-smp", "4,maxcpus=2"],
            "Invalid CPU topology: maxcpus must be equal to or greater than smp: sockets (1) * "
            "dies (1){modules} * cores (2) * threads (1) == maxcpus (2) < smp_cpus (4)",
        ),
        (
            ["-machine", "pc", "-smp", "300"],
            "Invalid SMP CPUs 300. The max CPUs supported by machine 'pc-i440fx-{version}' is 255",
        ),
        (["-smp", "2,clusters=2"], "{clusters} not supported by this machine's CPU topology"),
    ],
)
def test_cpu_and_smp_errors(version: str, argv: list[str], message: str) -> None:
    error = start_error(version, *argv)
    modules = "" if version == "7.2" else " * modules (1)"
    clusters = "clusters" if version == "7.2" else "clusters > 1"
    assert error.message == message.format(modules=modules, clusters=clusters, version=version)
    assert error.location is None


def test_zero_topology_values_by_release() -> None:
    vm = VM("7.2", "-smp", "cpus=2,sockets=0")
    assert vm.notes[0] == Diagnostic(
        "Deprecated CPU topology (considered invalid): "
        "CPU topology parameters must be greater than zero",
        kind="warning",
    )
    assert len(vm.ok("query-cpus-fast")) == 2
    error = start_error("10.0", "-smp", "cpus=2,sockets=0")
    assert (
        error.message == "Invalid CPU topology: CPU topology parameters must be greater than zero"
    )


def test_a_kvm_vcpu_model_must_be_recorded_with_kvm() -> None:
    error = start_error("10.0", "-memdevd", "kvm=on", "-accel", "kvm", "-cpu", "max")
    assert error.message == (
        "memdevd: CPU model 'max' is not emulated with KVM (recorded models: host, qemu64)"
    )
    vm = VM("10.0", "-memdevd", "kvm=on", "-accel", "kvm", "-cpu", "host")
    assert vm.ok("query-hotpluggable-cpus")[0]["type"] == "host-x86_64-cpu"


@pytest.mark.parametrize("version", VERSIONS)
def test_recorded_dicts_print_in_qemus_key_order(version: str) -> None:
    """Keys sharing a QDict bucket come out in QEMU's order, not the files' sorted one."""
    from memdevd.qapi.qdict import qdict_key_order

    fixes = x86_recording(version).load("key-order")
    assert fixes
    for reference, groups in fixes.items():
        name, _, pointer = reference.partition("#")
        node = x86_recording(version).resolve_reference(f"{name}#{pointer}")
        printed = list(qdict_key_order(node))
        for group in groups:
            assert [k for k in printed if k in group] == group, reference


@pytest.mark.parametrize("version", VERSIONS)
def test_cpu_features_that_restate_the_recorded_vcpu(version: str) -> None:
    """libvirt's host-passthrough: ``-cpu host,migratable=on`` is the host model as recorded."""
    vm = VM(version, "-memdevd", "kvm=on", "-accel", "kvm", "-cpu", "host,migratable=on")
    path = "/machine/unattached/device[0]"
    assert vm.ok("qom-get", {"path": path, "property": "migratable"}) is True
    vm = VM(version, "-cpu", "qemu64,-x2apic,lm=on")
    assert vm.ok("qom-get", {"path": path, "property": "lm"}) is True
    # Under KVM only what restates the recorded vCPU (its values are the
    # recording host's):
    for option in ("host,migratable=off", "host,migratable=maybe", "host,-x2apic"):
        error = start_error(version, "-memdevd", "kvm=on", "-accel", "kvm", "-cpu", option)
        assert error.message == (
            f"memdevd: CPU features on -cpu are not emulated under KVM: '{option}'"
        )


def test_machine_options_of_a_type_that_was_not_recorded() -> None:
    """8.2's machine types were not recorded: their options are checked
    against the recorded release's type of the family (libvirt passes usb=off)."""
    vm = VM("8.2", "-machine", "pc-i440fx-8.2,usb=off,dump-guest-core=off")
    assert vm.ok("query-version")["qemu"]["minor"] == 2
    error = start_error("8.2", "-machine", "pc-q35-8.2,nosuch=on")
    assert error.message == "Property 'pc-q35-8.2-machine.nosuch' not found"
