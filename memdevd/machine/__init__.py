"""The emulated machine, target-independent: the board seam, QOM tree, backends, memory devices.

Mirrors QEMU's ``hw/`` and ``backends/`` for what memory hot-plug touches.
Nothing here knows about JSON, sockets or asyncio: commands call plain
methods, time comes from a :class:`~memdevd.machine.clock.Clock`, and events
leave through a callback.
"""
