"""The data recorded from real QEMU (memdevd/targets/x86_64/data/) is well-formed and consistent.

No QEMU is needed: these tests read the committed JSON files only.  The files
are written by tools/record_qemu_data.py; see memdevd/targets/x86_64/data/README.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

DATA_DIR = Path(__file__).resolve().parents[2] / "memdevd" / "targets" / "x86_64" / "data"
VERSIONS = ["7.2", "10.0", "11.1"]
FILES = [
    "meta.json",
    "scenarios.json",
    "instances.json",
    "types.json",
    "queries.json",
    "qmp-schema.json",
    "probe.json",
    "cpus.json",
    "key-order.json",
    "devices.json",
]
MAX_FILE_SIZE = 2 * 1024 * 1024
TMP_PLACEHOLDER = "@TMPDIR@"
SCENARIOS = ["default", "pc-empty", "q35-empty", "pc-cold", "pc-hot", "q35-cold", "q35-hot"]
INSTANCE_KEYS = {"scenario", "machine", "argv", "path", "role", "qom-type", "qom-list", "qom-get"}
SET_ROLES = {"device", "virtio-backend", "backend"}
MEMORY_DEVICE_TYPES = {"pc-dimm", "nvdimm", "virtio-mem-pci", "virtio-pmem-pci"}
REQUIRED_QUERIES = [
    "qmp-greeting",
    "query-commands",
    "query-machines",
    "query-version",
    "query-status",
    "query-kvm",
    "query-name",
    "query-cpus-fast",
    "query-command-line-options",
    "query-cpu-definitions",
    "query-target",
    "query-hotpluggable-cpus",
    "query-balloon",
    "query-iothreads",
    "query-jobs",
]
PER_SCENARIO_QUERIES = [
    "query-memory-devices",
    "query-memdev",
    "query-memory-size-summary",
    "query-acpi-ospm-status",
    "qom-get:/machine:device-memory-region-size",
]
#: JSON pointers (regular expressions) where the temporary-directory
#: placeholder may appear: command lines, memory-backend-file's mem-path as
#: set and read back, the meta file's description of the placeholder.
TMP_ALLOWED = [
    re.compile(p)
    for p in (
        r"^/[^/]+/argv/\d+$",
        r"^/argv/\d+$",
        r"^/hotplug-probes/\d+/\d+$",
        r"^/[^/]+/setup/\d+/arguments/mem-path$",
        r"^/[^/]+/qom-get/mem-path$",
        r"^/[^/]+/qom-set/mem-path/sent$",
        r"^/[^/]+/qom-set-probes/\d+/(sent|qom-get-after/mem-path)$",
        r"^/placeholders/@TMPDIR@$",
    )
]


@cache
def load(version: str, name: str) -> Any:
    return json.loads((DATA_DIR / f"qemu-{version}" / name).read_text(encoding="utf-8"))


def is_reply(value: Any) -> bool:
    """A QMP reply as recorded: exactly one of return / error."""
    if not isinstance(value, dict):
        return False
    if set(value) == {"return"}:
        return True
    return set(value) == {"error"} and is_error_body(value["error"])


def is_error_body(body: Any) -> bool:
    return (
        isinstance(body, dict)
        and set(body) == {"class", "desc"}
        and isinstance(body["class"], str)
        and isinstance(body["desc"], str)
    )


def is_error_value(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"error"} and is_error_body(value["error"])


def walk_strings(node: Any, pointer: str = "") -> Iterator[tuple[str, str]]:
    """(JSON pointer, string) for every string in ``node``, keys included."""
    if isinstance(node, str):
        yield pointer, node
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from walk_strings(item, f"{pointer}/{i}")
    elif isinstance(node, dict):
        for key, item in node.items():
            sub = f"{pointer}/{key.replace('~', '~0').replace('/', '~1')}"
            yield sub, key
            yield from walk_strings(item, sub)


def resolve(doc: Any, pointer: str) -> bool:
    """Whether the JSON pointer names a value in ``doc``."""
    node = doc
    for part in pointer.split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True


def all_volatile_lists(node: Any) -> Iterator[tuple[dict[str, Any], list[Any]]]:
    if isinstance(node, list):
        for item in node:
            yield from all_volatile_lists(item)
    elif isinstance(node, dict):
        if isinstance(node.get("volatile"), list):
            yield node, node["volatile"]
        for item in node.values():
            yield from all_volatile_lists(item)


params = pytest.mark.parametrize("version", VERSIONS)


def test_both_versions_are_recorded() -> None:
    present = sorted(p.name for p in DATA_DIR.glob("qemu-*") if p.is_dir())
    assert present == sorted(f"qemu-{v}" for v in VERSIONS)


@params
@pytest.mark.parametrize("name", FILES)
def test_file_is_small_sorted_json(version: str, name: str) -> None:
    path = DATA_DIR / f"qemu-{version}" / name
    text = path.read_text(encoding="utf-8")
    assert path.stat().st_size < MAX_FILE_SIZE
    # the recorder's layout: sorted keys, one-space indent, trailing newline
    expected = json.dumps(load(version, name), sort_keys=True, indent=1, ensure_ascii=False)
    assert text == expected + "\n"


@params
def test_meta_matches_directory_and_qemu_version(version: str) -> None:
    meta = load(version, "meta.json")
    assert meta["format-version"] == 1
    assert meta["version-label"] == version
    assert meta["scenarios"] == SCENARIOS
    assert f"version {version}" in meta["qemu-version-output"]
    reply = load(version, "queries.json")["query-version"]["reply"]["return"]
    major, minor = (int(x) for x in version.split("."))
    assert (reply["qemu"]["major"], reply["qemu"]["minor"]) == (major, minor)
    # the Debian package string documents provenance and matches --version
    assert reply["package"] in meta["qemu-version-output"]
    greeting = load(version, "queries.json")["qmp-greeting"]["reply"]["QMP"]
    assert greeting["version"] == reply


@params
def test_scenarios(version: str) -> None:
    scenarios = load(version, "scenarios.json")
    assert sorted(scenarios) == sorted(SCENARIOS)
    for name, scenario in scenarios.items():
        assert scenario["argv"][0] == "qemu-system-x86_64", name
        assert "-S" in scenario["argv"] and "-nodefaults" in scenario["argv"]
        assert isinstance(scenario["stderr"], list)
        for step in scenario["setup"]:
            assert step["execute"] in {"object-add", "device_add"}
            assert is_reply(step["reply"]), step
    # every hot-plug of the memory devices worked in both versions
    for name in ("pc-hot", "q35-hot"):
        for step in scenarios[name]["setup"]:
            if step["execute"] == "device_add":
                assert step["reply"] == {"return": {}}, step


@params
def test_instances_are_self_consistent(version: str) -> None:
    instances = load(version, "instances.json")
    scenarios = load(version, "scenarios.json")
    assert instances
    for label, inst in instances.items():
        assert set(inst) >= INSTANCE_KEYS, label
        assert label == f"{inst['scenario']}:{inst['path']}"
        assert inst["argv"] == scenarios[inst["scenario"]]["argv"]
        assert inst["machine"] == scenarios[inst["scenario"]]["machine"]
        names = [p["name"] for p in inst["qom-list"]]
        assert len(names) == len(set(names)), f"{label}: duplicate qom-list names"
        assert all(set(p) == {"name", "type"} for p in inst["qom-list"]), label
        # every listed property was read, and nothing else
        assert set(inst["qom-get"]) == set(names), label
        for prop, value in inst["qom-get"].items():
            if isinstance(value, dict) and "error" in value:
                assert is_error_value(value), (label, prop)
        if "type" in inst["qom-get"]:
            assert inst["qom-type"] == inst["qom-get"]["type"], label
        if inst["role"] in SET_ROLES:
            assert set(inst["qom-set"]) == set(names), label
            for prop, attempt in inst["qom-set"].items():
                assert set(attempt) == {"sent", "reply"}, (label, prop)
                assert is_reply(attempt["reply"]), (label, prop)
        else:
            assert "qom-set" not in inst, label
        for probe in inst.get("qom-set-probes", []):
            assert probe["property"] in names, label
            assert is_reply(probe["reply"]), (label, probe)


@params
def test_objects_of_interest_are_recorded(version: str) -> None:
    instances = load(version, "instances.json")
    for scenario in SCENARIOS:
        for path in ("/machine", "/machine/peripheral", "/machine/peripheral-anon", "/objects"):
            assert f"{scenario}:{path}" in instances
        assert f"{scenario}:/machine/unattached" in instances
    types_by_scenario: dict[str, set[str]] = {}
    for inst in instances.values():
        types_by_scenario.setdefault(inst["scenario"], set()).add(inst["qom-type"])
    for scenario in ("pc-cold", "pc-hot", "q35-cold", "q35-hot"):
        have = types_by_scenario[scenario]
        assert have >= MEMORY_DEVICE_TYPES, scenario
        assert {"virtio-mem", "virtio-pmem"} <= have, scenario
        assert {"memory-backend-ram", "memory-backend-file", "memory-backend-memfd"} <= have
    # the anonymous pc-dimm, and the nvdimm's memory region child
    for scenario in ("pc-cold", "pc-hot", "q35-cold", "q35-hot"):
        anon = instances[f"{scenario}:/machine/peripheral-anon/device[0]"]
        assert anon["qom-type"] == "pc-dimm"
        assert any(
            label.startswith(f"{scenario}:/machine/peripheral/nv") and "nvdimm-memory" in label
            for label in instances
        )


@params
def test_memory_devices_agree_with_qom(version: str) -> None:
    """query-memory-devices and the recorded QOM state describe the same devices."""
    instances = load(version, "instances.json")
    queries = load(version, "queries.json")
    for scenario in ("pc-cold", "pc-hot", "q35-cold", "q35-hot"):
        devices = queries[f"query-memory-devices@{scenario}"]["reply"]["return"]
        assert len(devices) == (6 if scenario.endswith("hot") else 5)
        for dev in devices:
            data = dev["data"]
            if "id" in data:
                inst = instances[f"{scenario}:/machine/peripheral/{data['id']}"]
            else:
                inst = instances[f"{scenario}:/machine/peripheral-anon/device[0]"]
            got = inst["qom-get"]
            assert got["memdev"] == data["memdev"]
            if dev["type"] in ("dimm", "nvdimm"):
                assert (got["addr"], got["slot"], got["size"]) == (
                    data["addr"],
                    data["slot"],
                    data["size"],
                )
            else:
                assert got["memaddr"] == data["memaddr"]


@params
def test_types(version: str) -> None:
    types = load(version, "types.json")
    assert set(types) == {"argv", "qom-list-types", "device-list-properties", "qom-list-properties"}
    for variant in ("all", "abstract", "implements=memory-device", "implements=memory-backend"):
        entry = types["qom-list-types"][variant]
        assert is_reply(entry["reply"]) and "return" in entry["reply"], variant
    names = {t["name"] for t in types["qom-list-types"]["all"]["reply"]["return"]}
    assert {"pc-dimm", "nvdimm", "virtio-mem-pci", "virtio-pmem-pci"} <= names
    for table in ("device-list-properties", "qom-list-properties"):
        for typename, reply in types[table].items():
            assert is_reply(reply), (table, typename)
    for typename in ("pc-dimm", "nvdimm", "virtio-mem-pci", "virtio-mem", "virtio-pmem-pci"):
        assert "return" in types["device-list-properties"][typename], typename
    assert "error" in types["device-list-properties"]["no-such-type"]


@params
def test_device_catalog(version: str) -> None:
    """devices.json: every non-abstract device type qom-list-types names, its
    properties (device-list-properties and qom-list-properties) as indices
    into one table of distinct entries, all used, and its hot-plug flag:
    probed, or derived from the source for the types no probe can ask."""
    devices = load(version, "devices.json")
    assert set(devices) == {
        "argv",
        "categories",
        "types",
        "properties",
        "qom-list-properties-defaults",
        "hotplug-probes",
        "hotpluggable-source",
        "qom-list-children",
        "instance-id",
        "aliases",
        "device-help",
        "type-help",
    }
    assert devices["qom-list-properties-defaults"] is (version != "7.2")
    assert [argv[argv.index("-machine") + 1] for argv in devices["hotplug-probes"]] == [
        "pc",
        "microvm",
        *(["q35"] if version != "7.2" else []),
    ]
    table = devices["properties"]
    keys = {"name", "type", "description", "default-value"}
    assert all({"name", "type"} <= set(p) <= keys for p in table)
    assert len({json.dumps(p, sort_keys=True) for p in table}) == len(table)
    used: set[int] = set()
    every = load(version, "types.json")["qom-list-types"]["abstract"]["reply"]["return"]
    parents = {t["name"]: t.get("parent") for t in every}
    used_children: set[int] = set()
    made = {False: 0, True: 0}
    for name, entry in devices["types"].items():
        required = {"properties", "qom-properties", "user-creatable", "categories"}
        assert required | {"hotpluggable"} <= set(entry), name
        assert set(entry) <= {
            *required,
            *("hotpluggable", "hotpluggable-from", "bus", "alias", "desc", "aborts"),
            *("qom-aborts", "qom-list", "qom-list-hot"),
        }, name
        assert set(entry["categories"]) <= set(devices["categories"]), name
        assert entry["hotpluggable"] in (True, False, None), name
        if "hotpluggable-from" in entry:
            # derived from the source: a type no probe machine could ask,
            # its value what the named ancestor's class_init sets
            assert entry["hotpluggable"] is not None, name
            ancestor = name
            while ancestor is not None and ancestor != entry["hotpluggable-from"]:
                ancestor = parents.get(ancestor)
            assert ancestor is not None, name
            # (a user-creatable one: Xen's buses, VMBus (KVM only), a
            # sysbus type no probe machine takes)
            assert not entry["user-creatable"] or entry.get("bus") in (
                *("xen-bus", "xen-sysbus", "vmbus", "System"),
            ), name
        for key in ("properties", "qom-properties"):
            runs = entry[key].split()
            for run in runs:
                first, _, last = run.partition("-")
                assert int(first) <= int(last or first) < len(table), (name, run)
                used.update(range(int(first), int(last or first) + 1))
        for key in ("aborts", "qom-aborts"):
            if key in entry:
                runs = entry["properties" if key == "aborts" else "qom-properties"].split()
                assert runs == [] and set(entry[key]) == {"stderr", "exit-status"}, name
        if "qom-list-hot" in entry:
            assert "qom-list" in entry and entry["qom-list-hot"] != entry["qom-list"], name
            assert entry["hotpluggable"] is True, name
        for key in ("qom-list", "qom-list-hot"):
            if key not in entry:
                continue
            # a realized instance's qom-list: each of the type's
            # qom-list-properties once, and what realize added (children)
            positions: list[int] = []
            for token in entry[key].split():
                if token.startswith("c"):
                    used_children.add(int(token[1:]))
                    continue
                first, _, last = token.partition("-")
                positions.extend(range(int(first), int(last or first) + 1))
            qom_count = sum(
                int(r.partition("-")[2] or r) - int(r.partition("-")[0]) + 1
                for r in entry["qom-properties"].split()
            )
            assert sorted(positions) == list(range(qom_count)), name
            made[entry["user-creatable"]] += key == "qom-list"
    assert used == set(range(len(table)))
    children = devices["qom-list-children"]
    assert used_children == set(range(len(children)))
    assert all(len(c) == 2 for c in children) and len({tuple(c) for c in children}) == len(children)
    # realize adds children (memory regions, buses), and a few other
    # properties: the links of GPIO lines, the RTC's date, an array's entry
    assert len([c for c in children if not c[1].startswith("child<")]) <= 3
    assert made[False] == 0 and made[True] >= 150
    assert devices["instance-id"] == "dev0"
    # ... and every one of them: the type table's non-abstract devices
    abstract = {t["name"] for t in every if t.get("abstract")}

    def is_device(name: str | None) -> bool:
        while name is not None and name != "device":
            name = parents.get(name)
        return name == "device"

    assert set(devices["types"]) == {n for n in parents if n not in abstract and is_device(n)}
    for alias, typename in devices["aliases"].items():
        assert alias not in parents, alias  # an alias is never a type's name
        entry = devices["types"].get(typename)
        assert entry is None or entry.get("alias") == alias, (alias, typename)
    for run in (devices["device-help"], *devices["type-help"].values()):
        assert set(run) == {"argv", "stdout", "stderr", "status"}
        assert run["argv"][0] == "qemu-system-x86_64"
    assert devices["device-help"]["status"] == 0 and devices["device-help"]["stderr"] == ""


@params
def test_queries(version: str) -> None:
    queries = load(version, "queries.json")
    for label in REQUIRED_QUERIES:
        assert label in queries, label
    for scenario in SCENARIOS:
        for command in PER_SCENARIO_QUERIES:
            assert f"{command}@{scenario}" in queries
    for label, entry in queries.items():
        assert {"command", "scenario", "argv", "arguments", "reply"} <= set(entry), label
        assert entry["argv"][0] == "qemu-system-x86_64"
        if label != "qmp-greeting":
            assert is_reply(entry["reply"]), label
    assert "error" in queries["query-balloon"]["reply"]
    schema = load(version, "qmp-schema.json")["query-qmp-schema"]["reply"]["return"]
    assert all("meta-type" in item and "name" in item for item in schema)
    commands = {c["name"] for c in queries["query-commands"]["reply"]["return"]}
    assert {"qom-get", "qom-set", "qom-list", "device_add", "object-add"} <= commands


@params
def test_volatile_values_are_marked(version: str) -> None:
    queries = load(version, "queries.json")
    cpus = queries["query-cpus-fast"]
    assert cpus["volatile"] == [
        f"/reply/return/{i}/thread-id" for i in range(len(cpus["reply"]["return"]))
    ]
    for name in FILES:
        for owner, pointers in all_volatile_lists(load(version, name)):
            for pointer in pointers:
                assert resolve(owner, pointer), (name, pointer)


@params
@pytest.mark.parametrize("name", FILES)
def test_no_temporary_paths_leak(version: str, name: str) -> None:
    for pointer, text in walk_strings(load(version, name)):
        assert "/tmp/" not in text, (name, pointer, text)
        assert "memdevd-record-" not in text, (name, pointer, text)
        if TMP_PLACEHOLDER in text:
            assert any(p.match(pointer) for p in TMP_ALLOWED), (name, pointer, text)


@params
def test_inner_type_names_in_error_texts(version: str) -> None:
    """Aliased properties of a virtio-*-pci proxy answer with the inner type's name."""
    instances = load(version, "instances.json")
    reply = instances["pc-hot:/machine/peripheral/vmem1"]["qom-set"]["size"]["reply"]
    assert reply["error"]["desc"] == "Property 'virtio-mem.size' is not writable"


# --- libvirt's probe (probe.json) and the vCPUs (cpus.json) -------------------------

#: What libvirt 9.0's probe asks after qmp_capabilities (the capture in the
#: issue: 51 questions with KVM), with all six CPU model expansions.
PROBE_COMMANDS = {
    "query-version": 1,
    "query-target": 1,
    "query-qmp-schema": 1,
    "query-commands": 1,
    "query-kvm": 1,
    "qom-list-types": 1,
    "device-list-properties": 29,
    "qom-list-properties": 4,
    "query-machines": 1,
    "query-cpu-definitions": 1,
    "query-tpm-models": 1,
    "query-tpm-types": 1,
    "query-command-line-options": 1,
    "query-migrate-capabilities": 1,
    "query-sev-capabilities": 1,
    "query-sgx-capabilities": 1,
    "query-cpu-model-expansion": 6,
}


def resolve_reference(version: str, reference: str) -> Any:
    name, _, pointer = reference.partition("#")
    node = load(version, name)
    for part in pointer.split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


@params
def test_probe_sessions(version: str) -> None:
    meta = load(version, "meta.json")
    probe = load(version, "probe.json")
    assert sorted(probe) == sorted(meta["probe-sessions"])
    assert "tcg" in probe and ("kvm" in probe) == meta["kvm"]
    for accel, session in probe.items():
        assert session["accel"] == accel
        assert f"none,accel={accel}" in session["argv"]
        assert "-no-user-config" in session["argv"] and "-nographic" in session["argv"]
        counts: dict[str, int] = {}
        for entry in session["exchanges"]:
            counts[entry["command"]] = counts.get(entry["command"], 0) + 1
            # exactly one of: the reply, or where an equal one is recorded
            assert ("reply" in entry) != ("same-as" in entry), entry["command"]
            reply = (
                entry["reply"] if "reply" in entry else resolve_reference(version, entry["same-as"])
            )
            assert is_reply(reply), (accel, entry["command"], entry["arguments"])
            if accel == "kvm" and "reply" in entry:
                assert entry["volatile"] == ["/reply"]
        assert counts == PROBE_COMMANDS
        greeting = resolve_reference(version, session["greeting"]["same-as"])
        assert greeting == load(version, "queries.json")["qmp-greeting"]["reply"]


@params
def test_tcg_probe_answers_as_the_default_machine(version: str) -> None:
    """-machine none answers libvirt's questions as pc does: every TCG reply is a reference."""
    session = load(version, "probe.json")["tcg"]
    assert all("same-as" in e for e in session["exchanges"])
    # what differs: the probe asks after qom-list-types, which loads QEMU's modules
    options = [e for e in session["exchanges"] if e["command"] == "query-command-line-options"]
    queries = load(version, "queries.json")
    loaded = queries["query-command-line-options@modules-loaded"]["reply"]
    assert resolve_reference(version, options[0]["same-as"]) == loaded
    # 7.2's spice options come with the spice module (10.0's are not installed here)
    before = queries["query-command-line-options"]["reply"]
    assert (loaded == before) == (version != "7.2")
    kvm = [e for e in session["exchanges"] if e["command"] == "query-kvm"]
    assert resolve_reference(version, kvm[0]["same-as"])["return"]["enabled"] is False


@params
def test_kvm_probe_differs_where_the_accelerator_matters(version: str) -> None:
    probe = load(version, "probe.json")
    if "kvm" not in probe:
        pytest.skip("recorded without KVM")
    inline = {e["command"] for e in probe["kvm"]["exchanges"] if "reply" in e}
    assert inline <= {
        "query-kvm",
        "query-cpu-definitions",
        "query-cpu-model-expansion",
        "query-sev-capabilities",
    }
    kvm = next(e for e in probe["kvm"]["exchanges"] if e["command"] == "query-kvm")
    assert kvm["reply"] == {"return": {"enabled": True, "present": True}}


def cpu_record(version: str, name: str) -> dict[str, Any]:
    scenario = load(version, "cpus.json")[name]
    record: dict[str, Any] = next(iter(scenario["objects"].values()))
    return record


@params
def test_cpu_scenarios(version: str) -> None:
    meta = load(version, "meta.json")
    cpus = load(version, "cpus.json")
    assert sorted(cpus) == sorted(meta["cpu-scenarios"])
    assert {"tcg-qemu64", "tcg-max", "tcg-qemu64-smp2"} <= set(cpus)
    sets = [n for n, s in cpus.items() for r in s["objects"].values() if "qom-set" in r]
    assert sets == ["tcg-qemu64"]
    for name, scenario in cpus.items():
        assert "-cpu" in scenario["argv"] and scenario["cpu-model"] in scenario["argv"]
        sample = cpu_record(version, scenario["sample"])
        fast = scenario["query-cpus-fast"]["return"]
        hotpluggable = scenario["query-hotpluggable-cpus"]["return"]
        assert len(fast) == len(hotpluggable) == scenario["cpus"]
        # QEMU lists the possible CPUs last first; query-cpus-fast by index
        assert [c["qom-path"] for c in reversed(hotpluggable)] == [c["qom-path"] for c in fast]
        assert [c["cpu-index"] for c in fast] == list(range(scenario["cpus"]))
        typename = f"{scenario['cpu-model']}-x86_64-cpu"
        assert all(c["type"] == typename for c in hotpluggable)
        assert list(scenario["objects"]) == [c["qom-path"] for c in fast]
        # the first vCPU is device[0]; the first APIC's kvmvapic comes next
        devices = scenario["unattached-devices"]
        assert devices[0] == ["device[0]", typename]
        assert devices[1] == ["device[1]", "kvmvapic"]
        for path, record in scenario["objects"].items():
            assert record["qom-type"] == typename
            if record is sample:
                names = [p["name"] for p in record["qom-list"]]
                assert set(record["qom-get"]) == set(names)
                assert record["qom-get"]["apic-id"] == 0
                assert record["qom-get"]["unavailable-features"] == [] or name.startswith("kvm")
            else:
                # another vCPU of the model differs in its topology only
                assert set(record["qom-get-differences"]) <= {
                    "apic-id",
                    "socket-id",
                    "core-id",
                    "thread-id",
                    "die-id",
                    "module-id",
                    "node-id",
                    "lapic",
                    "memory[0]",
                    "memory[1]",
                    "smram[0]",
                }, (name, path)
    smp2 = cpus["tcg-qemu64-smp2"]
    assert [c["qom-path"] for c in smp2["query-cpus-fast"]["return"]] == [
        "/machine/unattached/device[0]",
        "/machine/unattached/device[2]",
    ]


@params
def test_cpu_qom_set_refuses_after_realize(version: str) -> None:
    record = cpu_record(version, "tcg-qemu64")
    assert set(record["qom-set"]) == {p["name"] for p in record["qom-list"]}
    ok = {name for name, a in record["qom-set"].items() if "return" in a["reply"]}
    assert {"realized", "family", "model", "vendor"} <= ok
    desc = record["qom-set"]["apic-id"]["reply"]["error"]["desc"]
    assert desc == (
        "Attempt to set property 'apic-id' on anonymous device "
        "(type 'qemu64-x86_64-cpu') after it was realized"
    )


@params
def test_key_order_entries_name_dicts_qemu_sent(version: str) -> None:
    from memdevd.qapi.qdict import QDICT_BUCKET_MAX, qstring_bytes, tdb_hash

    for reference, groups in load(version, "key-order.json").items():
        node = resolve_reference(version, reference)
        assert isinstance(node, dict), reference
        for group in groups:
            assert len(group) > 1 and set(group) <= set(node), reference
            buckets = {tdb_hash(qstring_bytes(k)) % QDICT_BUCKET_MAX for k in group}
            assert len(buckets) == 1, reference


@params
def test_samples_read_one_line_each_as_the_whole_file_says(version: str) -> None:
    """memdevd reads samples.json an instance line at a time: each sample
    it returns is the instance the whole file (parsed as JSON) names for
    that type and family, and the file is what the recorder would write."""
    from memdevd.releases import recorded
    from memdevd.releases.recorded import recording
    from memdevd.releases.table import get_release

    rec = recording("x86_64", get_release(version))
    text = (DATA_DIR / f"qemu-{version}" / "samples.json").read_text(encoding="utf-8")
    whole = json.loads(text)
    assert text == recorded.dump_samples(whole)
    assert whole["choice"] and whole["instances"]
    for name, key in whole["choice"].items():
        family, _, qom_type = name.partition(":")
        assert rec.type_sample(qom_type, family) == whole["instances"][key]
    assert rec.type_sample("no-such-type") is None
    # Another family than pc and q35 takes the family-less choice.
    some = next(name for name in whole["choice"] if name.startswith(":"))
    qom_type = some[1:]
    other_family = rec.type_sample(qom_type, "s390")
    assert other_family == rec.type_sample(qom_type)


@pytest.mark.parametrize("target", ["x86_64", "aarch64"])
@params
def test_the_index_answers_as_the_recorded_files(target: str, version: str) -> None:
    """index.json (what a machine reads at start-up) is what the recorded
    files give: query-commands' names in order, every device type, each
    recorded vCPU model's values; read an entry at a time, as the whole
    file says."""
    from memdevd.releases.recorded import Recording, dump_index

    rec = Recording(target, version)
    path = Path(rec.path("index"))
    whole = json.loads(path.read_text(encoding="utf-8"))
    assert path.read_text(encoding="utf-8") == dump_index(whole)
    queries = json.loads(Path(rec.path("queries")).read_text(encoding="utf-8"))
    names = [c["name"] for c in queries["query-commands"]["reply"]["return"]]
    assert whole["commands"] == names
    assert rec.command_order == {name: i for i, name in enumerate(names)}
    devices = {n for n in rec.type_table if rec.type_is_a(n, "device")}
    assert rec.device_types == devices and "pc-dimm" in devices
    samples = [
        (s["accel"], s["cpu-model"]) for n, s in rec.cpu_scenarios().items() if s["sample"] == n
    ]
    assert samples and len(whole) == 2 + len(samples)
    for accel, model in samples:
        sample = rec.cpu_sample(accel, model)
        assert sample is not None
        assert rec.cpu_values(accel, model) == sample["qom-get"] == whole[f"vcpu {accel} {model}"]
        # (the order QEMU printed: key-order.json's buckets restored)
        assert list(rec.cpu_values(accel, model) or ()) == list(sample["qom-get"])
    assert rec.cpu_values("tcg", "no-such-model") is None


@pytest.mark.parametrize("target", ["x86_64", "aarch64"])
@params
def test_a_recording_without_its_index_derives_it(
    target: str, version: str, tmp_path: Path
) -> None:
    """A recording being made (no index.json yet) answers from its files."""
    import shutil

    from memdevd.releases.recorded import Recording

    committed = Recording(target, version)
    for name in ("queries", "types", "cpus", "key-order"):
        shutil.copy(committed.path(name), tmp_path / f"{name}.json")
    rec = Recording(target, version)
    rec.directory = str(tmp_path)
    assert rec.command_order == committed.command_order
    assert rec.device_types == committed.device_types
    assert rec.cpu_values("tcg", "max") == committed.cpu_values("tcg", "max") is not None


@pytest.mark.parametrize("target", ["x86_64", "aarch64"])
@params
def test_the_qapi_schema_is_read_a_line_at_a_time_as_the_whole_file_says(
    target: str, version: str
) -> None:
    from memdevd.releases.recorded import Recording

    rec = Recording(target, version)
    whole = json.loads(Path(rec.path("qapi-schema")).read_text(encoding="utf-8"))
    lazy = rec.qapi_schema()
    assert list(lazy) == list(whole)
    for key, value in whole.items():
        if key in ("types", "commands", "events"):
            assert list(lazy[key]) == list(value) and len(lazy[key]) == len(value)
            assert all(lazy[key][name] == entry for name, entry in value.items()), key
            assert "NoSuchType" not in lazy[key]
            with pytest.raises(KeyError):
                lazy[key]["NoSuchType"]
        else:
            assert lazy[key] == value, key
