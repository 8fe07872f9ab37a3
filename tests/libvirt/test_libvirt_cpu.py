"""libvirt's custom CPUs on real QEMU 7.2 and on memdevd (TCG domains).

``<cpu mode='custom' match='exact'>`` with a named model, required and
disabled features, ``check='partial'`` and ``check='full'``: libvirt turns
it into ``-cpu MODEL,feat=on,feat=off``; the domain must end the same on
both emulators (running, or libvirt's error), and the command line and the
emulator's warnings in the domain log must be the same.
"""

from __future__ import annotations

import re

import pytest
from libvirt_harness import LibvirtHarness, VirshError, domain_xml
from live_qemu import qemu_binary

pytestmark = [pytest.mark.libvirt, pytest.mark.slow]

NUMA = "<numa><cell id='0' cpus='0' memory='1' unit='GiB'/></numa>"


def _cpu(check: str, model: str, features: str) -> str:
    return (
        f"<cpu mode='custom' match='exact' check='{check}'>"
        f"<model fallback='forbid'>{model}</model>{features}{NUMA}</cpu>"
    )


CASES = {
    "partial": _cpu(
        "partial",
        "Penryn",
        "<feature policy='require' name='sse4.1'/><feature policy='disable' name='vme'/>"
        "<feature policy='disable' name='ssse3'/>",
    ),
    "full": _cpu("full", "Westmere", "<feature policy='require' name='aes'/>"),
    "unsupported": _cpu("partial", "Skylake-Client", "<feature policy='require' name='pcid'/>"),
}


def _outcome(lv: LibvirtHarness, emulator: str, case: str) -> tuple[str, str, list[str]]:
    """(state or libvirt's error, -cpu as libvirt passed it, the emulator's warnings)."""
    name = f"cpu-{case}"
    xml = domain_xml(emulator, name=name)
    lv.define(re.sub(r"<cpu>.*?</cpu>", CASES[case], xml))
    try:
        lv.start_domain(name)
        state = lv.domain_state(name)
        lv.destroy(name)
    except VirshError as err:
        state = " ".join(err.args[0].split("\n")[1:3])
    log = lv.domain_log(name) if lv.domain_log_path(name).exists() else ""
    found = re.search(r"-cpu[ \\\n]+([^ \\\n]+)", log)
    warnings = [line.split(": ", 1)[1] for line in log.splitlines() if ": warning: " in line]
    lv.virsh("undefine", name)
    return state, found.group(1) if found else "", warnings


@pytest.mark.parametrize("case", sorted(CASES))
def test_custom_cpu_like_qemu(libvirt_harness: LibvirtHarness, emulator: str, case: str) -> None:
    qemu = qemu_binary("7.2")
    if qemu is None:
        pytest.skip("QEMU 7.2 not installed (sh tools/install-qemu.sh)")
    # memdevd as 7.2, the way docs/libvirt.md names another release
    wrapper = libvirt_harness.write_file(
        "qemu-7.2", f'#!/bin/sh\nexec {emulator} -memdevd version=7.2 "$@"\n'
    )
    wrapper.chmod(0o755)
    want = _outcome(libvirt_harness, qemu, case)
    got = _outcome(libvirt_harness, str(wrapper), case)
    assert got == want
    if case == "partial":
        assert got[:2] == ("running", "Penryn,sse4.1=on,vme=off,ssse3=off")
