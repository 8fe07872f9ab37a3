"""Targets: one folder per QEMU system emulator memdevd emulates."""
