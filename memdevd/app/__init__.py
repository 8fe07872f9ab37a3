"""The process: QEMU's command line to a running daemon.

Argv parsing (``cli``), building the machine (``startup``), memdevd's own
``-memdevd`` settings, the daemon with its listeners, signals and logging,
fleet mode and the libvirt entry point.  The only layer that may import
every other one.
"""
