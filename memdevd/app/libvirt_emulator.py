"""``memdevd-qemu-system-x86_64`` (and ``-aarch64``): memdevd as the emulator a
libvirt domain names.

A domain's ``<emulator>`` points libvirt at a binary it then runs two ways,
both handled by memdevd's QEMU command line (:mod:`memdevd.app.cli`):

* the capability probe, ``-machine none,accel=kvm:tcg -qmp unix:...
  -pidfile ... -daemonize``: the foreground process exits 0 once the
  socket listens and the pidfile is written; libvirt asks its probe
  questions over QMP and kills the process;
* the domain: in the foreground for the domain's lifetime, the monitor an
  already listening socket passed as ``-chardev socket,...,fd=N`` and
  accepted again after libvirtd restarts, errors on stderr (libvirt's
  domain log), ``SHUTDOWN`` with reason ``host-signal`` and exit 0 on
  SIGTERM (``virsh destroy``).

What differs from plain ``memdevd`` are two defaults, set before the
caller's arguments so a later ``-memdevd`` overrides them:

* ``guest=cooperative``: libvirt users expect a guest that ejects DIMMs
  (``DEVICE_DELETED`` completes ``virsh detach-device``) and plugs
  virtio-mem blocks (``MEMORY_DEVICE_SIZE_CHANGE`` updates ``<current>``);
* ``kvm=auto``: ``query-kvm`` reports KVM exactly when QEMU's
  ``kvm_init()`` would succeed for this process (open /dev/kvm read-write,
  the API version, creating a VM), with QEMU's messages where it would
  not.  libvirt runs the probe as the user it runs domains as and compares
  the answer with its own check of /dev/kvm for that user; any mismatch
  makes it discard its capability cache and probe again on every call,
  with QEMU as with memdevd (docs/libvirt.md).

Other memdevd settings reach this entry point as ``-memdevd`` arguments: in
a wrapper script named as the emulator (``exec memdevd-qemu-system-x86_64
-memdevd version=7.2 "$@"``; it is run for the probe too, so the version
libvirt probes is the version its domains get) or, per domain, in
``<qemu:commandline>``.
"""

from __future__ import annotations

import sys

DEFAULTS = ["-memdevd", "guest=cooperative,kvm=auto"]


def main(argv: list[str] | None = None) -> int:
    from memdevd.app.cli import main as cli_main
    from memdevd.app.cli import program_name

    args = list(sys.argv[1:] if argv is None else argv)
    return cli_main([*DEFAULTS, *args], program_name())


def main_aarch64(argv: list[str] | None = None) -> int:
    """``memdevd-qemu-system-aarch64``: the same, emulating qemu-system-aarch64."""
    args = list(sys.argv[1:] if argv is None else argv)
    return main(["-memdevd", "target=aarch64", *args])


if __name__ == "__main__":
    sys.exit(main())
