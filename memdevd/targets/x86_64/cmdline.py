"""qemu-system-x86_64's command-line syntax for a release.

The option table and option-group descriptions generated from each
recorded release's sources (``options.py``), with the release's parsing
rules from the release table.
"""

from __future__ import annotations

from functools import cache
from types import MappingProxyType

from memdevd.releases.table import Release
from memdevd.targets.x86_64 import options
from memdevd.util.option_defs import OptDescDef, Syntax

_TABLES = {
    "7.2": (options.OPTIONS_7_2, options.OPTS_LISTS_7_2),
    "10.0": (options.OPTIONS_10_0, options.OPTS_LISTS_10_0),
}


@cache
def syntax(release: Release) -> Syntax:
    """The command-line syntax of qemu-system-x86_64 of ``release``."""
    opts, lists = _TABLES[release.source_tables_as]
    if release.opts_keys_removed or release.opts_keys_added:
        removed = set(release.opts_keys_removed)
        lists = MappingProxyType(
            {
                name: ol._replace(
                    desc=(
                        *(d for d in ol.desc if (name, d.name) not in removed),
                        *(
                            OptDescDef(key, kind, None, None)
                            for list_name, key, kind in release.opts_keys_added
                            if list_name == name
                        ),
                    )
                )
                for name, ol in lists.items()
            }
        )
    return Syntax(
        name=f"x86_64 {release.version}",
        options=opts,
        opts_lists=lists,
        arch_mask=options.ARCH_I386,
        strtosz_2023=release.strtosz_2023,
        chardev_pty_path=release.chardev_pty_path,
    )
