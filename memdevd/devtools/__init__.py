"""Developer tools that talk to real QEMU and memdevd alike.

Scenario replay and recording (``memdevd compare``/``record``), the
device-memory map (``memdevd map``) and the schema export behind
``schemas/``.  Nothing in the daemon imports them.
"""
