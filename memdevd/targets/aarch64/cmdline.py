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
from types import MappingProxyType

from memdevd.releases.table import Release
from memdevd.targets.aarch64 import options
from memdevd.util.option_defs import Syntax

_TABLES = {
    "7.2": (options.OPTIONS_7_2, options.OPTS_LISTS_7_2),
    "10.0": (options.OPTIONS_10_0, options.OPTS_LISTS_10_0),
}


@cache
def syntax(release: Release) -> Syntax:
    """The command-line syntax of qemu-system-aarch64 of ``release``."""
    opts, lists = _TABLES[release.source_tables_as]
    if release.opts_keys_removed:
        removed = set(release.opts_keys_removed)
        lists = MappingProxyType(
            {
                name: ol._replace(desc=tuple(d for d in ol.desc if (name, d.name) not in removed))
                for name, ol in lists.items()
            }
        )
    return Syntax(
        name=f"aarch64 {release.version}",
        options=opts,
        opts_lists=lists,
        arch_mask=options.ARCH_ARM,
        strtosz_2023=release.strtosz_2023,
        chardev_pty_path=release.chardev_pty_path,
    )
