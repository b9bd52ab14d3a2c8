"""The ``reos`` command line. Each domain mounts its commands here.

A user mistake prints one line and exits non-zero; a bug prints its traceback.
"""

from __future__ import annotations

import sys
import traceback
from typing import Any

import typer

from reos.accounts.commands import apikeys_app, orgs_app, users_app
from reos.db.commands import db_app
from reos.errors import ReosError
from reos.properties.commands import properties_app
from reos.server import init_command, serve_command

app = typer.Typer(
    name="reos",
    help="Real Estate OS: find properties, value them, reach their owners.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("init")(init_command)
app.command("serve")(serve_command)
app.add_typer(db_app, name="db")
app.add_typer(orgs_app, name="orgs")
app.add_typer(users_app, name="users")
app.add_typer(apikeys_app, name="apikeys")
app.add_typer(properties_app, name="properties")


def _mount_domains() -> None:
    import importlib

    for name in ("reos.ingest.commands", "reos.valuation.commands", "reos.owners.commands"):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.mount(app)


_mount_domains()


def main(argv: list[str] | None = None) -> Any:
    debug = "--debug" in (argv if argv is not None else sys.argv)
    args = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--debug"]
    try:
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
    except Exception as exc:  # click usage errors and the like
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Exit):
            sys.exit(exc.exit_code)
        raise


if __name__ == "__main__":
    main()
