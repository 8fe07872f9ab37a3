"""QMP error classes and the exception that carries one to the client.

QEMU's ``QapiErrorClass`` has five members; every error reply names one of
them and carries a human-readable ``desc``.  Handlers raise :class:`QMPError`
and the session turns it into ``{"error": {"class": ..., "desc": ...}}``.
"""

from __future__ import annotations

from typing import Final

GENERIC_ERROR: Final = "GenericError"
COMMAND_NOT_FOUND: Final = "CommandNotFound"
DEVICE_NOT_ACTIVE: Final = "DeviceNotActive"
DEVICE_NOT_FOUND: Final = "DeviceNotFound"
KVM_MISSING_CAP: Final = "KVMMissingCap"

ERROR_CLASSES: Final = (
    GENERIC_ERROR,
    COMMAND_NOT_FOUND,
    DEVICE_NOT_ACTIVE,
    DEVICE_NOT_FOUND,
    KVM_MISSING_CAP,
)


class QMPError(Exception):
    """An error reply: QEMU's error class and its exact description text."""

    __slots__ = ("desc", "error_class")

    def __init__(self, desc: str, error_class: str = GENERIC_ERROR) -> None:
        super().__init__(desc)
        self.desc = desc
        self.error_class = error_class

    def to_wire(self) -> dict[str, object]:
        # Insertion order as qmp_error_response() builds it: class, then desc.
        return {"error": {"class": self.error_class, "desc": self.desc}}

    def __repr__(self) -> str:
        return f"QMPError({self.desc!r}, {self.error_class!r})"
