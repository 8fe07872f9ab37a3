"""The corpus files are well formed: what the live harness needs to run them.

``tests/corpus/{libvirt,handwritten}/*.json`` (tests/corpus/README.md):
every placeholder an argv uses is one the runner can substitute, every
descriptor it names is declared with a kind the runner can make, every
file to create is under ``@TMPDIR@`` with a kind it knows, and no path of
the capturing host is left.  No QEMU needed.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from corpus_runner import PLACEHOLDER_RE, Entry, load_entries

ENTRIES = load_entries()
FILE_KINDS = {"qcow2", "raw", "zero", "random", "hex", "dir", "script", "text"}
FD_KINDS = {"unix-listen", "tap"}
HOST_PATHS = re.compile(r"/var/lib/libvirt|/run/libvirt|/var/log/libvirt|/tmp/|memdevd-libvirt-")


def test_the_corpus_has_both_kinds_of_entries() -> None:
    kinds = {e.name.split("/")[0] for e in ENTRIES}
    assert kinds == {"libvirt", "handwritten"}
    assert len(ENTRIES) >= 30


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_entry_is_runnable(entry: Entry) -> None:
    data = entry.data
    assert isinstance(data["description"], str) and data["description"]
    assert data["release"] in ("7.2", "10.0", "any")
    assert data["argv"] and all(isinstance(a, str) for a in data["argv"])
    if entry.name.startswith("libvirt/"):
        assert data["release"] in ("7.2", "10.0")
        assert data["domain_xml"].startswith("<domain")
        assert entry.path.stem.endswith("-" + data["release"])
        assert {"libvirt", "qemu-7.2", "qemu-10.0", "date"} <= data["captured"].keys()
    else:
        assert "domain_xml" not in data
    # Only placeholders the runner substitutes; '@' nowhere else.
    for arg in entry.argv:
        assert "@" not in PLACEHOLDER_RE.sub("", arg), arg
        assert not HOST_PATHS.search(arg), arg
    used_fds = {
        m.group(0) for a in entry.argv for m in PLACEHOLDER_RE.finditer(a) if "@FD:" in m.group(0)
    }
    assert used_fds == set(entry.fds), "every @FD:NAME@ declared in fds, and only those"
    for name, decl in entry.fds.items():
        assert decl["kind"] in FD_KINDS, name
        assert decl["description"], name
    for path, spec in entry.files.items():
        assert path.startswith("@TMPDIR@/"), path
        assert spec["create"] in FILE_KINDS, path
        assert spec["description"], path
        if spec["create"] in ("qcow2", "raw", "zero", "random"):
            assert re.fullmatch(r"\d+[KMG]?", spec["size"]), path
    for message in data.get("qmp", []):
        assert list(message) in (["send"], ["recv"]), message
        assert not HOST_PATHS.search(json.dumps(message)), message


def test_files_named_in_the_argv_are_created() -> None:
    """A path under @TMPDIR@ that QEMU opens must be declared, or the run
    would fail on a missing file instead of on what the entry is about."""
    opened = re.compile(
        r"(?:file=|filename\":\"|\"file\":\"|mem-path=|splash=|script=|downscript=)"
        r"(@TMPDIR@/[^,\"]+)"
    )
    for entry in ENTRIES:
        for arg in entry.argv:
            for path in opened.findall(arg):
                assert path in entry.files, f"{entry.name}: {path} is not in files"
        for option, value in zip(entry.argv, entry.argv[1:], strict=False):
            if option in ("-cdrom", "-kernel", "-initrd") and value.startswith("@TMPDIR@"):
                assert value in entry.files, f"{entry.name}: {value} is not in files"
