"""the ZIP+4 add-on of a property in a column of its own

Revision ID: 0005
Revises: 0004

``properties.zip`` holds the five-digit ZIP (``varchar(5)``); a ZIP+4 given to the API or
in a file used to overflow it on PostgreSQL and, on SQLite, was stored whole where
``?zip=`` could not find it. The four-digit add-on (RESO ``PostalCodePlus4``) now has its
own column. A value stored before this revision as nine or ten characters is split.

Create Date: 2026-12-04 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("properties", sa.Column("zip4", sa.String(length=4), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        # only SQLite could store more than five characters in zip (it ignores the length)
        op.execute(
            "UPDATE properties SET zip4 = substr(zip, length(zip) - 3, 4), "
            "zip = substr(zip, 1, 5) WHERE length(zip) IN (9, 10)"
        )


def downgrade() -> None:
    op.drop_column("properties", "zip4")
