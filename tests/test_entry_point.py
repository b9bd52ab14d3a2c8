"""The ``reos`` command's entry point stays light: a mapping worker started by ``spawn``
re-imports it, and importing the whole CLI there cost each worker about 40 MB."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_entry_point_loads_no_cli_module() -> None:
    code = (
        "import sys, reos.__main__\n"
        "print(sorted(m for m in sys.modules if m.startswith('reos.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['reos.__main__']"


def test_python_dash_m_reos_runs_the_cli() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "reos", "--help"], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    assert "import" in out.stdout


def test_reos_users_help_loads_no_heavy_library() -> None:
    """`reos users ...` must not pay for the valuation and owner libraries (LightGBM, Splink,
    DuckDB): each domain's commands are imported only when one of them is asked for."""
    code = (
        "import sys\n"
        "from reos.cli import main\n"
        "try:\n"
        "    main(['users', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('lightgbm', 'splink', 'duckdb', 'reos.valuation.engine', 'reos.owners.service')\n"
        "print('LOADED', sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Users and their roles" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "LOADED []"
