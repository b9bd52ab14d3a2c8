"""valuation runs: the checkpoint of ``reos value --all``

Revision ID: 0006
Revises: 0005

``reos value --all`` used to value every property in one transaction: killed after an hour
it kept nothing and started again from the first property. It now commits one chunk of
properties at a time and records its place in ``valuation_runs`` (tenant-owned, with the
row-level security policy of every tenant table), so a re-run resumes where it stopped.

Create Date: 2026-12-04 17:34:36
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from reos.config import get_settings
from reos.db.migrations.rls import enable_rls, grant_app_role

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "valuation_runs",
        sa.Column("valuation_date", sa.Date(), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("properties_total", sa.Integer(), nullable=False),
        sa.Column("properties_done", sa.Integer(), nullable=False),
        sa.Column("valued", sa.Integer(), nullable=False),
        sa.Column(
            "not_valued",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("last_property_id", sa.Uuid(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_valuation_runs_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_valuation_runs")),
    )
    with op.batch_alter_table("valuation_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_valuation_runs_org_id"), ["org_id"], unique=False)
    enable_rls("valuation_runs")
    grant_app_role(get_settings().app_role)


def downgrade() -> None:
    with op.batch_alter_table("valuation_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_valuation_runs_org_id"))
    op.drop_table("valuation_runs")
