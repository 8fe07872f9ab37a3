"""Character devices (chardev/*.c): every backend of the release's
``ChardevBackend``, their front ends, and the queries.

``core`` opens a backend from its QAPI ``ChardevBackend`` (what
``chardev-add`` visits and what ``opts`` builds from ``-chardev``) with
QEMU's checks and texts; ``container`` is /chardevs, which keeps GLib's
hash-table order for ``query-chardev`` and the front-end claims (a device's
``chr`` property, a monitor, a mux).  No byte ever flows to a guest:
sockets really listen and connect, ptys are really opened, files and
devices are checked as QEMU opens them but never written
(docs/divergences.md).
"""
