"""qemu-system-aarch64's command-line syntax for a release.

The option table generated from each recorded release's sources
(``options.py``, ``tools/gen_qemu_option_table.py --target aarch64``): the
DEF() entries of qemu-options.hx are compiled into every target, so the
options are x86's, but an option whose arch mask lacks ``ARCH_ARM``
(``-no-fd-bootchk``, ``-no-hpet``...) exists and fails with "Option not
supported for this target", and the arm ones (``-semihosting``...) are
known.  The parsing rules come from the release table, as for x86.
"""

from __future__ import annotations

from functools import cache

from memdevd.releases.table import Release
from memdevd.targets import release_syntax
from memdevd.targets.aarch64 import options
from memdevd.util.option_defs import Syntax

_TABLES = {
    "7.2": (options.OPTIONS_7_2, options.OPTS_LISTS_7_2),
    "10.0": (options.OPTIONS_10_0, options.OPTS_LISTS_10_0),
}


@cache
def syntax(release: Release) -> Syntax:
    """The command-line syntax of qemu-system-aarch64 of ``release``."""
    return release_syntax("aarch64", release, _TABLES, options.ARCH_ARM)
