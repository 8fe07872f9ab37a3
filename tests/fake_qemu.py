#!/usr/bin/env python3
"""A stand-in for ``qemu-system-x86_64`` on a host whose KVM is as you say.

Owns showing the tests' KVM checks (``tests/kvm_host.py``) and the
recorder's (``tools/record_qemu_data.py``) the three kinds of host without
needing three hosts.  ``$FAKE_QEMU_KVM`` says what KVM does here:

* ``works``: KVM initialises and runs vCPUs;
* ``absent``: no /dev/kvm: QEMU 7.2's two lines, then the TCG fallback
  (``accel=kvm:tcg``, ``-accel kvm -accel tcg``) or exit status 1;
* ``aborts``: nested virtualization that initialises KVM but rejects an
  MSR when a vCPU is reset: after the QMP greeting QEMU prints what 7.2
  prints on such a host and aborts (SIGABRT).  A machine without vCPUs
  (``-machine none``, libvirt's probe) is not affected.

It understands only what those checks send: ``-machine``, ``-accel``,
``-enable-kvm``, ``-qmp unix:PATH,server=on,wait=off`` (the rest of argv is
ignored) and the QMP commands ``qmp_capabilities``, ``query-kvm`` and
``quit``.
"""

from __future__ import annotations

import json
import os
import socket
import sys

GREETING = {"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": ""},
                    "capabilities": ["oob"]}}  # fmt: skip
ABSENT = (
    "Could not access KVM kernel module: No such file or directory\n"
    "qemu-system-x86_64: failed to initialize kvm: No such file or directory\n"
)
MSR_ABORT = (
    "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69\n"
    "qemu-system-x86_64: ../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: "
    "Assertion `ret == cpu->kvm_msr_buf->nmsrs' failed.\n"
)


def main(argv: list[str]) -> int:
    mode = os.environ.get("FAKE_QEMU_KVM", "works")
    accels: list[str] = []
    machine = "pc"
    qmp = None
    for option, value in zip(argv, [*argv[1:], ""], strict=True):
        if option == "-accel":
            accels.append(value.split(",")[0])
        elif option == "-enable-kvm":
            accels.append("kvm")
        elif option in ("-machine", "-M"):
            parts = value.split(",")
            machine = parts[0]
            accels += [a for p in parts if p.startswith("accel=") for a in p[6:].split(":")]
        elif option == "-qmp":
            qmp = value.split(",")[0].removeprefix("unix:")
    enabled = False
    for accel in accels or ["tcg"]:
        if accel == "kvm" and mode == "absent":
            sys.stderr.write(ABSENT)
            continue
        if accel in ("kvm", "tcg"):
            enabled = accel == "kvm"
            break
    else:
        return 1
    if qmp is None:
        return 0
    server = socket.socket(socket.AF_UNIX)
    server.bind(qmp)
    server.listen(1)
    conn, _ = server.accept()
    stream = conn.makefile("rwb")

    def send(message: object) -> None:
        stream.write(json.dumps(message).encode() + b"\r\n")
        stream.flush()

    send(GREETING)
    if enabled and mode == "aborts" and machine != "none":
        sys.stderr.write(MSR_ABORT)
        sys.stderr.flush()
        os.abort()
    for line in stream:
        command = json.loads(line).get("execute")
        if command == "query-kvm":
            send({"return": {"enabled": enabled, "present": True}})
        else:
            send({"return": {}})
        if command == "quit":
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
