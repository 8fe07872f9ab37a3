"""The core's error type: QEMU's error class and exact text.

QEMU's core reports failures with ``error_setg`` (class GenericError) or
``error_set(ERROR_CLASS_DEVICE_NOT_FOUND, ...)``; the command layer turns a
:class:`CoreError` into a QMP error reply or a start-up message.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorClass(StrEnum):
    GENERIC = "GenericError"
    DEVICE_NOT_FOUND = "DeviceNotFound"
    COMMAND_NOT_FOUND = "CommandNotFound"
    KVM_MISSING_CAP = "KVMMissingCap"
    DEVICE_NOT_ACTIVE = "DeviceNotActive"


class CoreError(Exception):
    """A failure with QEMU's text (and, for some, a hint printed after it)."""

    def __init__(
        self, desc: str, error_class: ErrorClass = ErrorClass.GENERIC, hint: str = ""
    ) -> None:
        super().__init__(desc)
        self.desc = desc
        self.error_class = error_class
        self.hint = hint
        # error_report() lines printed on the way to this error (a -device
        # option's realize prints them under the option's location).
        self.reported: tuple[str, ...] = ()
        # Where QEMU fails an assertion instead: its text (glibc's, after the
        # program name).  At start-up memdevd prints it and aborts too; over
        # QMP the daemon answers ``desc`` and lives on.
        self.assertion: str | None = None
        # Where QEMU was given &error_abort instead: error_handle()'s line
        # ("Unexpected error in FUNC() at FILE:LINE:"), printed before
        # ``desc``; at start-up memdevd prints both and aborts too.
        self.abort_at: str | None = None

    def __repr__(self) -> str:
        return f"CoreError({self.desc!r}, {self.error_class.value})"


def not_found(desc: str) -> CoreError:
    return CoreError(desc, ErrorClass.DEVICE_NOT_FOUND)
