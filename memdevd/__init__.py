"""memdevd: a daemon that behaves like QEMU's memory-device subsystem over QMP.

The package is layered as QEMU is: ``memdevd.qmp`` speaks the protocol,
``memdevd.machine`` holds the target-independent machine, each
``memdevd.targets.<target>`` gives it its boards, ``memdevd.releases`` says
what differs between QEMU releases, ``memdevd.commands`` binds protocol and
machine, and ``memdevd.app`` runs it all from a QEMU-style command line
(docs/architecture.md).
"""

__version__ = "0.1.0"
