"""qemu-system-x86_64's command-line syntax for a release.

The option table and option-group descriptions generated from each
recorded release's sources (``options.py``), with the release's parsing
rules from the release table.
"""

from __future__ import annotations

from functools import cache

from memdevd.releases.table import Release
from memdevd.targets import release_syntax
from memdevd.targets.x86_64 import options
from memdevd.util.option_defs import Syntax

_TABLES = {
    "7.2": (options.OPTIONS_7_2, options.OPTS_LISTS_7_2),
    "10.0": (options.OPTIONS_10_0, options.OPTS_LISTS_10_0),
}


@cache
def syntax(release: Release) -> Syntax:
    """The command-line syntax of qemu-system-x86_64 of ``release``."""
    return release_syntax("x86_64", release, _TABLES, options.ARCH_I386)
