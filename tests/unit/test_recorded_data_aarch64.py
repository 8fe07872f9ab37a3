"""The aarch64 recordings (memdevd/targets/aarch64/data/) are complete and
consistent: what ``--target aarch64`` of the recorders wrote, read without
a QEMU.  Their currency against the live binaries is
tests/conformance/test_recorded_data_live.py's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from memdevd.releases import recorded

DATA = Path(__file__).resolve().parents[2] / "memdevd" / "targets" / "aarch64" / "data"
RELEASES = ["7.2", "10.0", "11.1"]
FILES = [
    "meta.json", "scenarios.json", "instances.json", "samples.json", "types.json",
    "queries.json", "qmp-schema.json", "probe.json", "key-order.json", "cpus.json",
    "devices.json", "cpu-models.json", "pci.json", "misc.json", "qapi-schema.json",
    "index.json",
]  # fmt: skip
SCENARIOS = ["default", "virt-empty", "virt-fw-empty", "virt-fw-cold", "virt-fw-hot", "virt-hot"]
GED_MISSING = "memory hotplug is not enabled: missing acpi-ged device"


def load(release: str, name: str) -> Any:
    return json.loads((DATA / f"qemu-{release}" / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("release", RELEASES)
def test_every_file_is_recorded(release: str) -> None:
    assert sorted(p.name for p in (DATA / f"qemu-{release}").iterdir()) == sorted(FILES)
    meta = load(release, "meta.json")
    assert meta["version-label"] == release
    assert meta["qemu-version-output"].startswith(f"QEMU emulator version {release}.")
    assert meta["scenarios"] == SCENARIOS
    assert "--target aarch64" in meta["regenerate"]
    assert "qemu-system-aarch64" in meta["placeholders"]


@pytest.mark.parametrize("release", RELEASES)
def test_scenarios_are_the_virt_board_s(release: str) -> None:
    scenarios = load(release, "scenarios.json")
    assert list(scenarios) == sorted(SCENARIOS)
    for name, scenario in scenarios.items():
        argv = scenario["argv"]
        assert argv[0] == "qemu-system-aarch64", name
        machine = argv[argv.index("-machine") + 1]
        assert machine.split(",")[0] == "virt", name
        assert ("-bios" in argv) == ("-fw-" in name), name
    # Without firmware there is no ACPI GED: every DIMM is refused, the
    # virtio-mem devices plug on their root ports.
    for step in scenarios["virt-hot"]["setup"]:
        driver = step["arguments"].get("driver")
        if driver in ("pc-dimm", "nvdimm"):
            assert step["reply"]["error"]["desc"] == GED_MISSING
        elif driver == "virtio-mem-pci":
            assert step["reply"] == {"return": {}}
    fw = [s for s in scenarios["virt-fw-hot"]["setup"] if s["execute"] == "device_add"]
    assert all("return" in s["reply"] for s in fw if s["arguments"]["driver"] != "virtio-pmem-pci")


@pytest.mark.parametrize("release", RELEASES)
def test_memory_devices_sit_in_device_memory_after_ram(release: str) -> None:
    queries = load(release, "queries.json")
    devices = queries["query-memory-devices@virt-fw-hot"]["reply"]["return"]
    addrs = [d["data"].get("addr", d["data"].get("memaddr")) for d in devices]
    # RAM at 1 GiB, 1 GiB of it: device memory from 2 GiB.
    assert addrs[0] == 2 << 30
    assert addrs == sorted(addrs)
    assert queries["query-gic-capabilities"]["reply"]["return"]


@pytest.mark.parametrize("release", RELEASES)
def test_samples_are_chosen_for_the_virt_family(release: str) -> None:
    text = (DATA / f"qemu-{release}" / "samples.json").read_text(encoding="utf-8")
    families = recorded.TARGET_FAMILIES["aarch64"]
    assert text == recorded.dump_samples(
        recorded.choose_samples(load(release, "instances.json"), families)
    )
    assert any(name.startswith("virt:") for name in json.loads(text)["choice"])


@pytest.mark.parametrize("release", RELEASES)
def test_cpu_models_give_physical_address_bits(release: str) -> None:
    models = load(release, "cpu-models.json")
    virt = models["virt"]
    assert [d["name"] for d in models["definitions"]] == list(models["models"])
    assert virt["max"]["pa-bits"] == 52
    assert virt["cortex-a57"]["pa-bits"] == 44
    assert virt["cortex-a15"]["pa-bits"] == 40
    assert all(v["status"] == 1 for v in virt.values())


@pytest.mark.parametrize("release", RELEASES)
def test_pci_identities_are_on_virt(release: str) -> None:
    pci = load(release, "pci.json")
    assert list(pci["board"]) == ["virt"]
    assert pci["types"]["virtio-mem-pci"][""]["id"]["vendor"] == 0x1AF4
    assert "virtio-pmem-pci" not in pci["types"]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("name", [f for f in FILES if f not in ("meta.json", "samples.json")])
def test_no_temporary_paths_leak(release: str, name: str) -> None:
    """The recorders' temporary directories (memdevd-record-*, memdevd-pci-*)
    are written as @TMPDIR@ (QEMU's own texts may name /tmp)."""
    for text in _strings(load(release, name)):
        assert "memdevd-record-" not in text and "memdevd-pci-" not in text, (name, text[:200])
