"""qemu-system-aarch64's command-line syntax for a release.

The option table generated from each recorded release's sources
(``memdevd/targets/options_table.py``, ``tools/gen_qemu_option_table.py``):
the DEF() entries of qemu-options.hx are compiled into every target, so the
table is x86's, seen through the ARM bit (``ARCH_ARM``): an option whose
arch mask lacks it (``-no-fd-bootchk``, ``-no-hpet``...) exists and fails
with "Option not supported for this target", and the arm ones
(``-semihosting``...) are known.  The parsing rules come from the release
table, as for x86.
"""

from __future__ import annotations

from functools import cache

from memdevd.releases.table import Release
from memdevd.targets import options_table, release_syntax
from memdevd.util.option_defs import Syntax


@cache
def syntax(release: Release) -> Syntax:
    """The command-line syntax of qemu-system-aarch64 of ``release``."""
    return release_syntax("aarch64", release, options_table.ARCH_ARM)
