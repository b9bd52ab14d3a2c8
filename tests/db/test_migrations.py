"""Models and migrations must not drift; the app refuses an out-of-date schema."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

import reos.models  # noqa: F401
from reos.db import schema
from reos.db.base import Base
from reos.db.engine import make_engine
from reos.errors import SchemaOutOfDate


def test_models_match_migrations(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], f"models and migrations differ; write a migration: {diff}"


def test_schema_is_current_after_upgrade(engine: Engine) -> None:
    assert schema.is_current(engine)
    schema.require_current(engine)


def test_empty_database_is_refused_with_the_fix(tmp_path: pytest.TempPathFactory) -> None:
    empty = make_engine(f"sqlite:///{tmp_path}/empty.db")  # type: ignore[operator]
    with pytest.raises(SchemaOutOfDate, match="reos db upgrade"):
        schema.require_current(empty)


def test_sqlite_pragmas(tmp_path: pytest.TempPathFactory) -> None:
    eng = make_engine(f"sqlite:///{tmp_path}/p.db")  # type: ignore[operator]
    with eng.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
