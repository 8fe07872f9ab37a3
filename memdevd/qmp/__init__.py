"""The QMP protocol layer: framing, greeting, negotiation, dispatch, events.

Nothing in this package knows about memory devices; it serves whatever
commands are registered in a :class:`~memdevd.qmp.registry.Registry`.
"""
