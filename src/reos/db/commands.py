"""``reos db upgrade|check``."""

from __future__ import annotations

import typer

from reos.db import schema
from reos.db.engine import get_engine

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade() -> None:
    """Apply every migration the database lacks."""
    schema.upgrade()
    typer.echo(
        f"schema is at {schema.current_revision()} ({get_engine().url.render_as_string(hide_password=True)})"
    )


@db_app.command("check")
def check() -> None:
    """Tell whether the schema is current (exit 7 when it is not)."""
    schema.require_current()
    typer.echo(f"schema is current ({schema.current_revision()})")


def mount(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
