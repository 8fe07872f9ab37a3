"""memdevd: a daemon that behaves like QEMU's memory-device subsystem over QMP.

The package is layered as QEMU is: ``memdevd.qmp`` speaks the protocol,
``memdevd.machine`` holds the emulated machine, ``memdevd.commands`` binds the
two, and ``memdevd.app.cli`` wires them from a QEMU-style command line.
"""

__version__ = "0.1.0"
