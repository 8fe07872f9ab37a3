"""qemu-system-x86_64's command-line syntax for a release.

The option table and option-group descriptions generated from each
recorded release's sources (``memdevd/targets/options_table.py``, shared by
every target) seen through the i386 arch bit, with the release's parsing
rules from the release table.
"""

from __future__ import annotations

from functools import cache

from memdevd.releases.table import Release
from memdevd.targets import options_table, release_syntax
from memdevd.util.option_defs import Syntax


@cache
def syntax(release: Release) -> Syntax:
    """The command-line syntax of qemu-system-x86_64 of ``release``."""
    return release_syntax("x86_64", release, options_table.ARCH_I386)
