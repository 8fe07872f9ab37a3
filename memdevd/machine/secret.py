"""The ``secret`` object (crypto/secret.c, secret_common.c).

libvirt passes its domain master key as
``-object {"qom-type":"secret","id":"masterKey0","format":"raw","file":...}``
to every domain; disks and other devices would then refer to secrets
encrypted with it.  memdevd loads the secret as QEMU does at ``complete``
(``data`` or the file's contents, base64 decoded if asked) with QEMU's
error texts, and lists it under ``/objects``.  Decryption (``keyid``,
``iv``) is refused by name: no secret memdevd needs is encrypted.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

from memdevd import messages as M
from memdevd.machine.errors import CoreError
from memdevd.machine.qom import Prop, QOMObject
from memdevd.qapi.visitor import InputVisitor

if TYPE_CHECKING:
    from memdevd.machine.machine import Machine

FORMATS = ("raw", "base64")


class Secret(QOMObject):
    type_chain = ("secret", "secret_common", "object")
    interfaces = ("user-creatable",)

    def __init__(self, machine: Machine) -> None:
        super().__init__()
        self.machine = machine
        self.format = "raw"
        self.keyid: str | None = None
        self.iv: str | None = None
        self.data: str | None = None
        self.file: str | None = None
        self.rawdata: bytes | None = None

    def class_props(self) -> list[Prop]:
        props = [
            Prop("loaded", "bool", lambda o: _secret(o).rawdata is not None, _set_loaded),
            Prop("format", "QCryptoSecretFormat", lambda o: _secret(o).format, _set_format),
            Prop("keyid", "string", lambda o: _secret(o).keyid, _str_setter("keyid")),
            Prop("iv", "string", lambda o: _secret(o).iv, _str_setter("iv")),
            Prop("data", "string", lambda o: _secret(o).data, _str_setter("data")),
            Prop("file", "string", lambda o: _secret(o).file, _str_setter("file")),
        ]
        if not self.machine.release.secret_has_loaded:
            props = props[1:]
        return props

    def complete(self) -> None:
        """``qcrypto_secret_complete``: load, (decrypt), decode."""
        if self.file is not None:
            if self.data is not None:
                raise CoreError(M.SECRET_FILE_AND_DATA)
            try:
                with open(self.file, "rb") as f:
                    raw = f.read()
            except OSError as exc:
                raise CoreError(
                    M.SECRET_UNABLE_TO_READ.format(self.file, _gfile_error(self.file, exc))
                ) from None
        elif self.data is not None:
            raw = self.data.encode()
        else:
            raise CoreError(M.SECRET_NO_DATA)
        if self.keyid is not None:
            raise CoreError(M.SECRET_ENCRYPTED_NOT_EMULATED)
        if self.format == "base64":
            try:
                raw = base64.b64decode(raw, validate=True)
            except binascii.Error:
                raise CoreError(M.BASE64_INVALID_CHARACTERS) from None
        self.rawdata = raw


def _secret(obj: QOMObject) -> Secret:
    assert isinstance(obj, Secret)
    return obj


def _gfile_error(path: str, exc: OSError) -> str:
    """GLib's g_file_get_contents() message for an open failure."""
    return f"Failed to open file \u201c{path}\u201d: {exc.strerror}"


def _str_setter(attr: str) -> Any:
    def setter(obj: QOMObject, v: InputVisitor, name: str) -> None:
        setattr(obj, attr, v.type_str(name))

    return setter


def _set_format(obj: QOMObject, v: InputVisitor, name: str) -> None:
    _secret(obj).format = v.type_enum(name, FORMATS)


def _set_loaded(obj: QOMObject, v: InputVisitor, name: str) -> None:
    # 7.2's deprecated "loaded": true completes the secret now.
    if v.type_bool(name):
        _secret(obj).complete()
