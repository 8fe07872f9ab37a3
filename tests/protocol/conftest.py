"""Fixtures of the protocol and process tests (memdevd as a subprocess).

``workdir`` is a short private directory under /tmp rather than pytest's
``tmp_path``: a UNIX socket path must fit in 108 bytes, and pytest's paths
grow with the test name.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="mdp-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
