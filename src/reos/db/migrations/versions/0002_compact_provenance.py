"""provenance stored once per source; no separate org_id index on properties and sales

Revision ID: 0002
Revises: 0001

Records written before this revision keep one provenance entry per field; they are
rewritten in the compact form of :mod:`reos.models.provenance` (the most frequent source
becomes ``row``, the others stay under ``fields``), so the per-field view read back is
unchanged. Properties and sales lose their index on ``org_id`` alone: each of their other
indexes leads with ``org_id`` and serves the same lookups, and every bulk-imported row
paid for the extra B-tree.

Create Date: 2026-11-23 08:05:00
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from reos.models.provenance import BOOKKEEPING, FIELDS, ROW, compact, per_field

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
#: Columns computed from observed ones (see each model's ``DERIVED``), as of this revision.
_DERIVED = {
    "properties": {"address_normalized", "address_key", "h3_cell", "h3_cell_r7", "h3_cell_r5"},
    "sales": {"property_id", "source"},
    "owner_records": {"import_id", "row_number", "entity_id", "match_probability"},
}
_BATCH = 1_000


def _is_compact(value: Any) -> bool:
    return isinstance(value, dict) and set(value) <= {ROW, FIELDS}


def _rewrite(table_name: str, convert: Any) -> None:
    """Rewrite every record's provenance with ``convert(row mapping) -> new value``."""
    bind = op.get_bind()
    table = sa.Table(table_name, sa.MetaData(), autoload_with=bind)
    provenance = sa.Column("provenance", _JSON)
    typed = sa.table(table_name, sa.column("id", table.c.id.type), provenance)
    last: Any = None
    while True:
        stmt = sa.select(table).order_by(table.c.id).limit(_BATCH)
        if last is not None:
            stmt = stmt.where(table.c.id > last)
        rows = [dict(r._mapping) for r in bind.execute(stmt)]
        if not rows:
            return
        last = rows[-1]["id"]
        for row in rows:
            value = row["provenance"]
            if isinstance(value, str):
                value = json.loads(value)
            new = convert(row, value or {})
            if new is not None:
                bind.execute(sa.update(typed).where(typed.c.id == row["id"]).values(provenance=new))


def upgrade() -> None:
    for name in _DERIVED:
        _rewrite(name, lambda _row, value: None if _is_compact(value) else compact(value))
    with op.batch_alter_table("properties", schema=None) as batch_op:
        batch_op.drop_index("ix_properties_org_id")
    with op.batch_alter_table("sales", schema=None) as batch_op:
        batch_op.drop_index("ix_sales_org_id")


def downgrade() -> None:
    with op.batch_alter_table("sales", schema=None) as batch_op:
        batch_op.create_index("ix_sales_org_id", ["org_id"], unique=False)
    with op.batch_alter_table("properties", schema=None) as batch_op:
        batch_op.create_index("ix_properties_org_id", ["org_id"], unique=False)
    for name, derived in _DERIVED.items():
        skip = BOOKKEEPING | derived

        def expand(row: dict[str, Any], value: Any, skip: frozenset[str] = skip) -> Any:
            if not _is_compact(value):
                return None
            attributes = row.get("attributes")
            if isinstance(attributes, str):
                attributes = json.loads(attributes)
            values = ((k, v) for k, v in row.items() if k not in skip)
            return per_field(value, values, attributes or {})

        _rewrite(name, expand)
