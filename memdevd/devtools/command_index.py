"""The command index, ``memdevd/commands/index.py``, generated from the declarations.

Every handler in memdevd/commands/ is declared with ``@command``; the index
names each module's commands, in declared order, so that a daemon knows
every command without importing a handler (``declare_all``).
``tools/gen_schemas.py`` writes it; tests/unit/test_command_groups.py fails
when the committed file differs from what :func:`generated_index` makes.
"""

from __future__ import annotations

import importlib
import pkgutil

import memdevd.commands as package
from memdevd.commands.declare import declarations

INDEX_PATH = "memdevd/commands/index.py"

# The order the command table lists the modules' commands in (and so the
# names query-qmp-schema is built from): QEMU's control commands first,
# memdevd's own near the end.  A new command module goes here too.
MODULE_ORDER = (
    "control",
    "memory",
    "management",
    "block",
    "net",
    "removable",
    "pci",
    "display",
    "qom",
    "hmp",
    "memdevd_extras",
    "testctl",
    "capabilities",
    "runstate_actions",
    "chardev",
    "fds",
)

_HEADER = '''"""GENERATED FILE, do not edit: ``python tools/gen_schemas.py`` writes it from
the ``@command`` declarations in memdevd/commands/, and
tests/unit/test_command_groups.py fails when it is stale.

Each command module's commands (those of every emulated release), in the
order they are declared: the command table knows every name without
loading a handler (:func:`memdevd.commands.declare_all`).
"""

from __future__ import annotations

from typing import Final

COMMANDS: Final[dict[str, tuple[str, ...]]] = {
'''


def declared_commands() -> dict[str, tuple[str, ...]]:
    """Module (short name) -> the commands it declares, in MODULE_ORDER."""
    found: dict[str, tuple[str, ...]] = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        names = tuple(d.name for d in declarations(module.__name__))
        if names:
            found[info.name] = names
    unlisted = sorted(set(found) - set(MODULE_ORDER))
    if unlisted:
        raise ValueError(f"command modules missing from MODULE_ORDER: {unlisted}")
    empty = sorted(set(MODULE_ORDER) - set(found))
    if empty:
        raise ValueError(f"modules in MODULE_ORDER that declare no command: {empty}")
    return {module: found[module] for module in MODULE_ORDER}


def generated_index() -> str:
    """The text of memdevd/commands/index.py (as ruff formats it)."""
    lines = [_HEADER]
    for module, names in declared_commands().items():
        if len(names) == 1:
            lines.append(f'    "{module}": ("{names[0]}",),\n')
            continue
        lines.append(f'    "{module}": (\n')
        lines.extend(f'        "{name}",\n' for name in names)
        lines.append("    ),\n")
    lines.append("}\n")
    return "".join(lines)
