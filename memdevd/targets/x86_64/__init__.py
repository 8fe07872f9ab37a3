"""``qemu-system-x86_64``: the pc and q35 boards, their memory layout,
machine types, CPU models, the pc hot-plug handler, x86-only device types,
the option table and the data recorded from the real binaries.
"""
