"""QAPI types of the control commands (qapi/control.json, run-state.json)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from memdevd.qapi.schema import Int, QAPIModel

QMPCapability = Literal["oob"]

RunState = Literal[
    "debug",
    "inmigrate",
    "internal-error",
    "io-error",
    "paused",
    "postmigrate",
    "prelaunch",
    "finish-migrate",
    "restore-vm",
    "running",
    "save-vm",
    "shutdown",
    "suspended",
    "watchdog",
    "guest-panicked",
    "colo",
]


class QmpCapabilitiesArgs(QAPIModel):
    enable: list[QMPCapability] | None = None


class NoArgs(QAPIModel):
    """Commands without arguments still reject unexpected members."""


class VersionTriple(QAPIModel):
    major: Int
    minor: Int
    micro: Int


class VersionInfo(QAPIModel):
    qemu: VersionTriple
    package: str


class StatusInfo(QAPIModel):
    running: bool
    # 7.2 only: removed from QEMU after 8.0.
    singlestep: bool | None = None
    status: RunState


class NameInfo(QAPIModel):
    name: str | None = None


class CommandInfo(QAPIModel):
    name: str


class KvmInfo(QAPIModel):
    enabled: bool
    present: bool


class MigrateRecoverArgs(QAPIModel):
    uri: str


class HumanMonitorCommandArgs(QAPIModel):
    command_line: str = Field(alias="command-line")
    cpu_index: Int | None = Field(default=None, alias="cpu-index")
