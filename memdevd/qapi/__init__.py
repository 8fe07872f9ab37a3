"""QAPI: the wire vocabulary shared by the protocol, the commands and the core.

``visitor`` reproduces QEMU's QObject input visitor (strict JSON and keyval
flavours) so that argument errors carry QEMU's texts; the model modules hold
pydantic models that mirror QAPI types member for member.
"""
