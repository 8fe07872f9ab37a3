"""QAPI types of the capability queries with arguments.

``query-cpu-model-expansion`` (qapi/machine-target.json) and
``query-command-line-options`` (qapi/misc.json); member order is QEMU's,
which is the order their arguments are visited in (and so which error a
client sees first).  Identical in 7.2 and 10.0.
"""

from __future__ import annotations

from typing import Literal

from memdevd.qapi.schema import AnyValue, QAPIModel

CpuModelExpansionType = Literal["static", "full"]


class CpuModelInfo(QAPIModel):
    name: str
    props: AnyValue | None = None


class CpuModelExpansionArgs(QAPIModel):
    type: CpuModelExpansionType
    model: CpuModelInfo


class CommandLineOptionsArgs(QAPIModel):
    option: str | None = None
