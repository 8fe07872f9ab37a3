"""``python -m memdevd``: the same entry point as the ``memdevd`` console script."""

from __future__ import annotations

import sys


def main() -> None:
    # Imported here so that ``python -m memdevd --version`` stays cheap.
    from memdevd.app.cli import main as cli_main

    sys.exit(cli_main(sys.argv[1:]))


if __name__ == "__main__":
    main()
