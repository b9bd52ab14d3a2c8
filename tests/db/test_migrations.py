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


def test_per_field_provenance_of_earlier_records_is_compacted(
    tmp_path: pytest.TempPathFactory,
) -> None:
    """Revision 0002 rewrites provenance kept per field into the compact form; the per-field
    view read back is the same, and downgrading restores the per-field form."""
    import json
    import uuid

    eng = make_engine(f"sqlite:///{tmp_path}/old.db")  # type: ignore[operator]
    schema.upgrade(eng, "0001")
    a = {"import_id": "a", "source": "county", "file": "a.csv", "row": 2, "observed_at": "t1"}
    b = {"source": "api", "observed_at": "t2", "actor": "u"}
    per_field = {"parcel_number": a, "beds": b, "zip": a, "attr.pool": a}
    org, prop = uuid.uuid4().hex, uuid.uuid4().hex
    with eng.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO organizations (id, name, slug, created_at, updated_at) "
            "VALUES (?, 'O', 'o', '2026-01-01', '2026-01-01')",
            (org,),
        )
        conn.exec_driver_sql(
            "INSERT INTO properties (id, org_id, parcel_number, beds, zip, h3_cell, attributes,"
            " warnings, provenance, created_at, updated_at) VALUES (?, ?, 'P1', 3, '50010',"
            " '89283082803ffff', ?, '[]', ?, '2026-01-01', '2026-01-01')",
            (prop, org, json.dumps({"pool": True}), json.dumps(per_field)),
        )
    schema.upgrade(eng)
    from sqlalchemy.orm import Session

    from reos.models import Property

    with Session(eng) as s:
        stored = s.get(Property, uuid.UUID(prop))
        assert stored is not None
        assert stored.provenance == {"row": a, "fields": {"beds": b}}
        assert stored.field_provenance() == per_field
    with eng.connect() as conn:
        indexes = {r[1] for r in conn.exec_driver_sql("PRAGMA index_list(properties)")}
    assert "ix_properties_org_id" not in indexes and "ix_properties_org_parcel" in indexes
    from alembic import command

    command.downgrade(schema.alembic_config(eng), "0001")
    with eng.connect() as conn:
        text = conn.exec_driver_sql("SELECT provenance FROM properties").scalar()
    assert json.loads(text) == per_field
