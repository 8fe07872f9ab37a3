"""Hosts with working, broken and absent KVM, without needing three hosts.

Owns three things that look at a host's KVM:

* memdevd's ``-memdevd kvm=auto`` probe (``memdevd.app.settings.probe_kvm``)
  and what start-up prints from it: pointed at other device paths with
  ``kvm-device=`` (a missing path, /dev/null, a directory, a device this
  process may not open), and with the kernel's answers replaced where no
  host gives them (an old or new API version, KVM_CREATE_VM failing);
* the test suite's own KVM checks (``tests/kvm_host.py``) and the
  recorder's (``tools/record_qemu_data.py``), shown a fake QEMU
  (``tests/fake_qemu.py``) that aborts under KVM as QEMU 7.2 does on a host
  whose nested KVM rejects an MSR, or finds no /dev/kvm;
* the recorder's ``--check``, which compares the TCG part and each KVM
  part apart and names the KVM parts it could not record.

The same comparisons against real QEMU 7.2 and 10.0 are
``tests/conformance/test_kvm_hosts_live.py``.
"""

from __future__ import annotations

import errno
import fcntl
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from kvm_host import kvm_device_problem, qemu_kvm_problem

from memdevd.app import cli
from memdevd.app.settings import (
    KVM_CREATE_VM,
    KVM_GET_API_VERSION,
    MemdevdSettings,
    apply,
    probe_kvm,
)
from memdevd.app.startup import kvm_init_failure
from memdevd.machine.host import NO_KVM_DEVICE, HostFacts
from memdevd.releases.table import get_release
from memdevd.util.qemu_opts import OptionError, format_diagnostic, format_error

ROOT = Path(__file__).resolve().parents[2]
PROG = "qemu-system-x86_64"


# --- memdevd's probe -------------------------------------------------------------------


def test_a_missing_device_is_kvm_absent() -> None:
    assert probe_kvm("/nonexistent/kvm") == ("open", errno.ENOENT)


def test_a_device_that_answers_no_kvm_ioctl_is_too_old() -> None:
    # kvm_init(): KVM_GET_API_VERSION fails, "kvm version too old", -ENOTTY.
    assert probe_kvm("/dev/null") == ("version-too-old", errno.ENOTTY)


def test_a_directory_cannot_be_opened_read_write(tmp_path: Path) -> None:
    assert probe_kvm(str(tmp_path)) == ("open", errno.EISDIR)


def test_a_device_this_process_may_not_open(tmp_path: Path) -> None:
    """EACCES, checked in a process that has no way around file modes (root
    runs it without its capabilities, the node owned by another user)."""
    device = tmp_path / "kvm"
    device.touch(mode=0o600)
    tmp_path.chmod(0o755)
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("setpriv (util-linux) is needed to drop root's capabilities")
        os.chown(device, 65534, 65534)
        prefix = [setpriv, "--bounding-set=-all", "--inh-caps=-all"]
    else:
        device.chmod(0)
    code = "import sys; from memdevd.app.settings import probe_kvm; print(probe_kvm(sys.argv[1]))"
    done = subprocess.run(
        [*prefix, sys.executable, "-c", code, str(device)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.stdout.strip() == repr(("open", errno.EACCES)), done.stderr


def test_this_hosts_kvm_as_the_tests_own_check_finds_it() -> None:
    """Whatever this host has: working (None) where the independent check
    initialises KVM, a failure where it does not."""
    assert (probe_kvm() is None) == (kvm_device_problem() is None)


class FakeKvm:
    """``fcntl.ioctl`` answers of a KVM that does not exist on any test host."""

    def __init__(self, version: int, create: list[int | OSError]) -> None:
        self.version = version
        self.create = list(create)
        self.calls: list[int] = []

    def ioctl(self, fd: int, request: int, arg: int = 0) -> int:
        self.calls.append(request)
        if request == KVM_GET_API_VERSION:
            return self.version
        assert request == KVM_CREATE_VM
        answer = self.create.pop(0)
        if isinstance(answer, OSError):
            raise answer
        return answer


@pytest.mark.parametrize(
    ("version", "create", "expected"),
    [
        (11, [], ("version-too-old", errno.EINVAL)),
        (13, [], ("version-not-supported", errno.EINVAL)),
        (12, [OSError(errno.EBUSY, "busy")], ("create-vm", errno.EBUSY)),
        # kvm_init() retries KVM_CREATE_VM on EINTR.
        (12, [InterruptedError(errno.EINTR, "intr"), -1], None),
    ],
)
def test_probe_follows_kvm_init(
    monkeypatch: pytest.MonkeyPatch,
    version: int,
    create: list[int | OSError],
    expected: tuple[str, int] | None,
) -> None:
    fake = FakeKvm(version, create)
    closed: list[int] = []
    real_close = os.close
    monkeypatch.setattr(fcntl, "ioctl", fake.ioctl)
    if expected is None:
        # The VM fd (a stand-in: -1 would be refused by os.close) is closed again.
        vm = os.open("/dev/null", os.O_RDONLY)
        fake.create[-1] = vm
        monkeypatch.setattr(os, "close", lambda fd: (closed.append(fd), real_close(fd)))
    assert probe_kvm("/dev/null") == expected
    steps = [KVM_GET_API_VERSION] + [KVM_CREATE_VM] * (len(create) if version == 12 else 0)
    assert fake.calls == steps
    if expected is None:
        assert vm in closed


def test_kvm_auto_reads_the_device_named_in_any_order() -> None:
    first, second = MemdevdSettings(), MemdevdSettings()
    apply(first, [("kvm", "auto"), ("kvm-device", "/dev/null")])
    apply(second, [("kvm-device", "/dev/null"), ("kvm", "auto")])
    for settings in (first, second):
        host = settings.host
        assert (host.kvm, host.kvm_failure, host.kvm_errno) == (
            False,
            "version-too-old",
            errno.ENOTTY,
        )
    # kvm=off is a host without /dev/kvm again, whatever auto found.
    apply(first, [("kvm", "off")])
    assert (first.host.kvm_failure, first.host.kvm_errno) == NO_KVM_DEVICE
    # kvm-device alone changes nothing: the default host has no KVM.
    third = MemdevdSettings()
    apply(third, [("kvm-device", "/dev/kvm")])
    assert (third.host.kvm, third.host.kvm_failure) == (False, "open")


# --- what start-up prints ----------------------------------------------------------------


def stderr_and_status(version: str, *argv: str) -> tuple[str, int]:
    """What memdevd prints at start (as QEMU, program name included) and its status."""
    parsed = cli.parse(["-memdevd", f"version={version}", "-display", "none", *argv], PROG)
    try:
        _, notes = cli.build_daemon(parsed, PROG, handle_signals=False)
    except OptionError as err:
        return format_error(PROG, err), err.exit_status
    return "".join(format_diagnostic(PROG, d) for d in notes), 0


# Recorded from real QEMU 7.2.22 and 10.0.2 on such hosts
# (tests/conformance/test_kvm_hosts_live.py makes the hosts).
NOT_KVM = "kvm version too old"
ENOTTY = "Inappropriate ioctl for device"


@pytest.mark.parametrize(
    ("version", "argv", "expected"),
    [
        (
            "7.2",
            ["-accel", "kvm", "-accel", "tcg"],
            f"{NOT_KVM}\n{PROG}: -accel kvm: failed to initialize kvm: {ENOTTY}\n"
            f"{PROG}: falling back to tcg\n",
        ),
        (
            "10.0",
            ["-accel", "kvm", "-accel", "tcg"],
            f"{PROG}: -accel kvm: {NOT_KVM}\n{PROG}: -accel kvm: failed to initialize kvm: "
            f"{ENOTTY}\n{PROG}: falling back to tcg\n",
        ),
        (
            "7.2",
            ["-machine", "none,accel=kvm:tcg"],
            f"{NOT_KVM}\n{PROG}: failed to initialize kvm: {ENOTTY}\n{PROG}: falling back to tcg\n",
        ),
        (
            "10.0",
            ["-enable-kvm"],
            f"{PROG}: {NOT_KVM}\n{PROG}: failed to initialize kvm: {ENOTTY}\n",
        ),
    ],
)
def test_a_broken_device_as_qemu_reports_it(version: str, argv: list[str], expected: str) -> None:
    stderr, status = stderr_and_status(version, "-memdevd", "kvm=auto,kvm-device=/dev/null", *argv)
    assert stderr == expected
    assert status == (1 if "-enable-kvm" in argv else 0)


def test_without_kvm_by_default_whatever_this_host_has() -> None:
    stderr, status = stderr_and_status("7.2", "-accel", "kvm")
    assert stderr == (
        "Could not access KVM kernel module: No such file or directory\n"
        f"{PROG}: -accel kvm: failed to initialize kvm: No such file or directory\n"
    )
    assert status == 1


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        # 7.2 and 8.2: fprintf(stderr, "ioctl(KVM_CREATE_VM) failed: %d %s\n")
        ("7.2", "ioctl(KVM_CREATE_VM) failed: 16 Device or resource busy\n"),
        ("8.2", "ioctl(KVM_CREATE_VM) failed: 16 Device or resource busy\n"),
        # 9.2: error_report("ioctl(KVM_CREATE_VM) failed: %s") in do_kvm_create_vm()
        ("10.0", f"{PROG}: -accel kvm: ioctl(KVM_CREATE_VM) failed: Device or resource busy\n"),
    ],
)
def test_kvm_create_vm_failure_texts(version: str, expected: str) -> None:
    host = HostFacts(kvm_failure="create-vm", kvm_errno=errno.EBUSY)
    first, second = kvm_init_failure(host, get_release(version), "-accel kvm")
    assert format_diagnostic(PROG, first) == expected
    assert format_diagnostic(PROG, second) == (
        f"{PROG}: -accel kvm: failed to initialize kvm: Device or resource busy\n"
    )


# --- the tests' and the recorder's checks, shown a fake QEMU ------------------------------


@pytest.fixture
def fake_qemu(tmp_path: Path) -> Iterator[Any]:
    """``make(mode)``: a QEMU binary on a host whose KVM ``works``, is
    ``absent`` or ``aborts`` when a vCPU is reset."""

    def make(mode: str) -> str:
        path = tmp_path / f"qemu-{mode}"
        script = ROOT / "tests" / "fake_qemu.py"
        path.write_text(f'#!/bin/sh\nFAKE_QEMU_KVM={mode} exec {sys.executable} {script} "$@"\n')
        path.chmod(0o755)
        return str(path)

    yield make


DOMAIN = ("-machine", "pc", "-accel", "kvm", "-cpu", "host")
PROBE = ("-machine", "none,accel=kvm")


def test_tests_kvm_check_sees_a_qemu_that_aborts(fake_qemu: Any) -> None:
    aborts = fake_qemu("aborts")
    problem = qemu_kvm_problem(aborts, DOMAIN)
    assert problem is not None
    assert problem.startswith("QEMU was killed by SIGABRT")
    assert "failed to set MSR 0x10a to 0x69" in problem
    # Without vCPUs (libvirt's probe) the same host runs KVM.
    assert qemu_kvm_problem(aborts, PROBE) is None
    assert qemu_kvm_problem(fake_qemu("works"), DOMAIN) is None


def test_tests_kvm_check_sees_kvm_absent(fake_qemu: Any) -> None:
    absent = fake_qemu("absent")
    problem = qemu_kvm_problem(absent, DOMAIN)
    assert problem is not None
    assert problem.startswith("QEMU exited with status 1")
    assert "Could not access KVM kernel module" in problem
    # With a TCG fallback QEMU runs, but not with KVM.
    fallback = qemu_kvm_problem(absent, ("-machine", "none,accel=kvm:tcg"))
    assert fallback is not None and '"enabled": false' in fallback


@pytest.fixture(scope="module")
def recorder() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "record_qemu_data", ROOT / "tools" / "record_qemu_data.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_recorder_finds_out_per_part(recorder: ModuleType, fake_qemu: Any, tmp_path: Path) -> None:
    """The recorder asks before each KVM part, with that part's command line."""
    cpu = {c.name: c for c in recorder.CPU_SCENARIOS}
    probe = recorder._probe_scenario("kvm")
    (tmp_path / "rec").mkdir()
    aborts = recorder.Host(fake_qemu("aborts"), tmp_path / "rec", [])
    assert recorder.kvm_problem(aborts, probe) is None
    problem = recorder.kvm_problem(aborts, cpu["kvm-host"].scenario())
    assert problem is not None and problem.startswith("QEMU was killed by SIGABRT")
    assert "failed to set MSR" in problem
    absent = recorder.Host(fake_qemu("absent"), tmp_path / "rec", [])
    problem = recorder.kvm_problem(absent, cpu["kvm-qemu64"].scenario())
    assert problem is not None and "Could not access KVM kernel module" in problem
    works = recorder.Host(fake_qemu("works"), tmp_path / "rec", [])
    assert recorder.kvm_problem(works, cpu["kvm-host"].scenario()) is None


# --- the recorder's comparison, part by part ---------------------------------------------


def _edit(directory: Path, name: str, change: Any) -> None:
    path = directory / name
    doc = json.loads(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(json.dumps(doc), encoding="utf-8")


def _drop_kvm_host(directory: Path) -> None:
    """What a recording on a host whose KVM aborts with -cpu host lacks."""

    def meta(doc: dict[str, Any]) -> None:
        doc["cpu-scenarios"].remove("kvm-host")
        doc["cpu-models"]["kvm"].remove("host")

    _edit(directory, "meta.json", meta)
    _edit(directory, "cpus.json", lambda doc: doc.pop("kvm-host"))
    _edit(
        directory,
        "key-order.json",
        lambda doc: [doc.pop(k) for k in list(doc) if k.startswith("cpus.json#/kvm-host/")],
    )


@pytest.fixture
def recordings(tmp_path: Path) -> tuple[Path, Path]:
    committed = ROOT / "memdevd" / "targets" / "x86_64" / "data" / "qemu-7.2"
    if "kvm-host" not in json.loads((committed / "meta.json").read_text())["cpu-scenarios"]:
        pytest.skip("the committed 7.2 data has no kvm-host scenario")
    fresh = tmp_path / "fresh"
    shutil.copytree(committed, fresh)
    _drop_kvm_host(fresh)
    return committed, fresh


def test_check_names_the_part_it_could_not_record(
    recorder: ModuleType, recordings: tuple[Path, Path]
) -> None:
    committed, fresh = recordings
    reason = "KVM does not work here: QEMU was killed by SIGABRT"
    report = recorder.compare(committed, fresh, {"cpu-kvm-host": reason})
    assert report == {
        "tcg": {"differences": []},
        "probe-kvm": {"differences": []},
        "cpu-kvm-qemu64": {"differences": []},
        "cpu-kvm-host": {"skipped": reason},
        "devices": {"differences": []},
    }
    # A part missing without a reason is a difference, in that part.
    report = recorder.compare(committed, fresh, {})
    missing = report["cpu-kvm-host"]["differences"]
    assert any(line.startswith("cpus.json:/kvm-host: removed") for line in missing), missing
    assert report["tcg"] == {"differences": []}


def test_check_puts_each_difference_in_its_part(
    recorder: ModuleType, recordings: tuple[Path, Path]
) -> None:
    committed, fresh = recordings
    _edit(fresh, "cpus.json", lambda doc: doc["kvm-qemu64"]["argv"].append("-changed"))
    _edit(fresh, "probe.json", lambda doc: doc["tcg"]["argv"].append("-changed"))
    report = recorder.compare(committed, fresh, {"cpu-kvm-host": "not here"})
    assert [line.split(":", 2)[:2] for line in report["cpu-kvm-qemu64"]["differences"]] == [
        ["cpus.json", "/kvm-qemu64/argv"]
    ]
    assert [line.split(":", 2)[:2] for line in report["tcg"]["differences"]] == [
        ["probe.json", "/tcg/argv"]
    ]
    assert report["probe-kvm"] == {"differences": []}


def test_check_compares_the_device_catalog_apart(
    recorder: ModuleType, recordings: tuple[Path, Path]
) -> None:
    """devices.json is a part of its own, and ``--only devices.json`` compares it alone."""
    committed, fresh = recordings
    _edit(fresh, "devices.json", lambda doc: doc["aliases"].update({"virtio-foo": "foo-pci"}))
    _edit(fresh, "probe.json", lambda doc: doc["tcg"]["argv"].append("-changed"))
    report = recorder.compare(committed, fresh, {"cpu-kvm-host": "not here"})
    assert report["devices"]["differences"] == ['devices.json:/aliases/virtio-foo: added "foo-pci"']
    assert [line.split(":", 2)[:2] for line in report["tcg"]["differences"]] == [
        ["probe.json", "/tcg/argv"]
    ]
    only = recorder.compare(committed, fresh, {}, only="devices.json")
    assert only == {"devices": report["devices"]}
    (fresh / "devices.json").unlink()
    assert recorder.compare(committed, fresh, {}, only="devices.json") == {
        "devices": {"differences": ["devices.json: no longer recorded"]}
    }


def test_check_leaves_files_of_other_tools_alone(
    recorder: ModuleType, recordings: tuple[Path, Path]
) -> None:
    """qapi-schema.json is generated from the source tree, not recorded: a
    fresh recording lacks it and that is no difference."""
    committed, fresh = recordings
    assert (committed / "qapi-schema.json").exists()
    (fresh / "qapi-schema.json").unlink()
    report = recorder.compare(committed, fresh, {"cpu-kvm-host": "not here"})
    assert report["tcg"] == {"differences": []}


def test_check_leaves_the_derived_index_to_its_own_test(
    recorder: ModuleType, recordings: tuple[Path, Path]
) -> None:
    """index.json follows the files it is derived from: a recording
    without a KVM part writes it without that vCPU, which is no TCG
    difference (the part's own file, cpus.json, says what is missing)."""
    committed, fresh = recordings
    _edit(fresh, "index.json", lambda doc: doc.pop("vcpu kvm host"))
    report = recorder.compare(committed, fresh, {"cpu-kvm-host": "not here"})
    assert report["tcg"] == {"differences": []}
    assert report["cpu-kvm-host"] == {"skipped": "not here"}


def test_the_recorder_writes_the_index_memdevd_reads(
    recorder: ModuleType, recordings: tuple[Path, Path]
) -> None:
    """What the recorder writes after recording is the committed index
    (tools/gen_schemas.py's), and without a KVM part, without its vCPU."""
    committed, fresh = recordings
    (fresh / "index.json").unlink()
    recorder.write_index(fresh, "7.2", recorder.X86_64)
    written = json.loads((fresh / "index.json").read_text(encoding="utf-8"))
    whole = json.loads((committed / "index.json").read_text(encoding="utf-8"))
    assert "vcpu kvm host" not in written
    assert written == {k: v for k, v in whole.items() if k != "vcpu kvm host"}
