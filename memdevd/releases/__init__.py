"""The emulated QEMU releases: one table of behaviour differences and the
loader of the data recorded from each release.
"""
