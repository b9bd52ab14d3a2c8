"""Schema upgrade and check. The API and CLI refuse to run on an out-of-date schema."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from reos.db.engine import get_engine
from reos.errors import SchemaOutOfDate

HERE = Path(__file__).parent


def alembic_config(engine: Engine) -> Config:
    cfg = Config(str(HERE / "alembic.ini"))
    cfg.set_main_option("script_location", str(HERE / "migrations"))
    cfg.set_main_option(
        "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
    )
    return cfg


def head_revision(engine: Engine | None = None) -> str | None:
    script = ScriptDirectory.from_config(alembic_config(engine or get_engine()))
    return script.get_current_head()


def current_revision(engine: Engine | None = None) -> str | None:
    engine = engine or get_engine()
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine | None = None, revision: str = "head") -> None:
    engine = engine or get_engine()
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def is_current(engine: Engine | None = None) -> bool:
    return current_revision(engine) == head_revision(engine)


def require_current(engine: Engine | None = None) -> None:
    engine = engine or get_engine()
    current, head = current_revision(engine), head_revision(engine)
    if current != head:
        where = "empty" if current is None else f"at {current}"
        raise SchemaOutOfDate(
            f"The database schema is {where}, the code needs {head}: run `reos db upgrade`."
        )
