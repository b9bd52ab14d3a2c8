"""The ``reos`` command's entry point (also ``python -m reos``), kept free of imports.

A worker process started by ``spawn`` (the import's mapping worker) first re-imports the
script that started its parent. With the CLI imported at the top of that script, every
mapping worker loaded all of the CLI's modules: about 40 MB it never used. The CLI is
imported only when the command runs.
"""

from __future__ import annotations

import sys
from typing import Any


def main(argv: list[str] | None = None) -> Any:
    from reos.cli import main as run

    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
