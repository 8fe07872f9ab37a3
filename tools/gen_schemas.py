"""Write the generated files (see memdevd/devtools/schema_export.py): the
command index from the @command declarations in memdevd/commands/,
schemas/ from memdevd's registry and models, the -object member table,
and each recorded release's samples.json (the QOM instances memdevd reads,
chosen from instances.json) and index.json (the command and device-type
names and vCPU values a machine reads at start-up).

Run after adding, removing or changing a command or its arguments, or
after recording:
python tools/gen_schemas.py
"""

from __future__ import annotations

import importlib
from pathlib import Path

from memdevd.commands import index
from memdevd.devtools.command_index import INDEX_PATH, generated_index
from memdevd.devtools.schema_export import generated_files

ROOT = Path(__file__).resolve().parents[1]


def write(rel: str, text: str) -> None:
    path = ROOT / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(f"wrote {rel} ({len(text)} bytes)")


def main() -> None:
    # The index first, and loaded again: the schemas list the commands the
    # daemon's table declares from it.
    write(INDEX_PATH, generated_index())
    importlib.reload(index)
    for rel, text in generated_files().items():
        write(rel, text)


if __name__ == "__main__":
    main()
