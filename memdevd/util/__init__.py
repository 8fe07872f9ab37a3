"""QEMU's command-line syntax and number parsing, without machine knowledge.

Ports of util/cutils.c, util/qemu-option.c, util/keyval.c and the
tokenizer of vl.c's option loop, with the exact texts of their errors.
"""
