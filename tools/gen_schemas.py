"""Write the generated files (see memdevd/devtools/schema_export.py): schemas/ from
memdevd's registry and models, the -object member table, and each recorded
release's samples.json (the QOM instances memdevd reads, chosen from
instances.json).

Run after changing a command or its arguments, or after recording:
python tools/gen_schemas.py
"""

from __future__ import annotations

from pathlib import Path

from memdevd.devtools.schema_export import generated_files

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    for rel, text in generated_files().items():
        path = ROOT / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {rel} ({len(text)} bytes)")


if __name__ == "__main__":
    main()
