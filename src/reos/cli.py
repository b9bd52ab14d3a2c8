"""The ``reos`` command line: the platform's and every domain's commands, loaded lazily.

A user mistake prints one line and exits non-zero; a bug prints its traceback.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from pathlib import Path
from typing import Any

import typer

# Typer ships its own copy of Click; its command and exception classes live here.
from typer._click.core import Command, Context
from typer._click.exceptions import ClickException
from typer.core import TyperGroup

from reos.config import get_settings
from reos.domains import command_modules
from reos.errors import ReosError
from reos.logging import library_output_to

# Every command, the platform's and each domain's, loads on first use: the valuation and
# owner libraries (LightGBM, Splink, DuckDB) cost seconds and ~150 MB to import, which
# `reos import` or `reos users` never need. Which module mounts which command is declared in
# `reos.domains` (the one list of domains), so this file names no domain.
LAZY_COMMANDS: dict[str, str] = command_modules()


def _no_options() -> None:
    """The throwaway group's own callback: it takes no options and does nothing."""


class LazyGroup(TyperGroup):
    """The root group: every command imported on demand.

    A command module exposes ``mount(app: typer.Typer)``; it is mounted on a throwaway
    Typer app the first time one of its commands is asked for."""

    _loaded: dict[str, TyperGroup] = {}

    def list_commands(self, ctx: Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        module_name = LAZY_COMMANDS.get(cmd_name)
        if module_name is None:
            return super().get_command(ctx, cmd_name)
        group = self._loaded.get(module_name)
        if group is None:
            holder = typer.Typer()
            holder.callback()(_no_options)  # a group even when the module mounts one command
            importlib.import_module(module_name).mount(holder)
            built = typer.main.get_command(holder)
            assert isinstance(built, TyperGroup)
            group = self._loaded[module_name] = built
        return group.get_command(ctx, cmd_name)


app = typer.Typer(
    name="reos",
    cls=LazyGroup,
    help="Real Estate OS: find properties, value them, reach their owners.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def root(
    debug: bool = typer.Option(
        False,
        "--debug",
        help="on an error, print the traceback too (allowed anywhere on the line)",
    ),
) -> None:
    """Real Estate OS: find properties, value them, reach their owners.

    ``--debug`` is read by :func:`main` before the command line is parsed (so it works
    after the command too); it is declared here so that ``reos --help`` shows it."""


def _library_log() -> Path | None:
    """Where the libraries' warnings go: ``logs/reos.log`` under the store's home, or
    nowhere when that folder cannot be made (a read-only home must not stop a command)."""
    try:
        folder = get_settings().home / "logs"
        folder.mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError):
        return None
    return folder / "reos.log"


def main(argv: list[str] | None = None) -> Any:
    """Run the CLI. A user mistake prints one line and exits non-zero; a bug prints its
    traceback (and ``--debug`` adds the traceback to user mistakes too)."""
    raw = argv if argv is not None else sys.argv[1:]
    debug = "--debug" in raw
    args = [a for a in raw if a != "--debug"]
    try:
        with library_output_to(_library_log(), show=debug):
            return app(args=args, standalone_mode=False)
    except ReosError as exc:
        where = f" [{exc.field}]" if exc.field else ""
        typer.echo(f"error{where}: {exc.message}", err=True)
        if debug:
            traceback.print_exc()
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
