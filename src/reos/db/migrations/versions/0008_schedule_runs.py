"""schedule runs: each period of each schedule, enqueued once per organisation

Revision ID: 0008
Revises: 0007

A domain declares periodic work (``Domain.schedules``); every job worker checks on each
poll which schedules are due and enqueues their jobs. Several workers on several machines
see the same schedule due at once: each inserts a ``schedule_runs`` row keyed by
(organisation, schedule, period start) in the same transaction as the job, and only one of
them can commit it. Tenant-owned, with the row-level security policy of every tenant table.

Create Date: 2026-12-04 20:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from reos.config import get_settings
from reos.db.migrations.rls import enable_rls, grant_app_role

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedule_runs",
        sa.Column("schedule", sa.String(length=100), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=False),
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
            name=op.f("fk_schedule_runs_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_runs")),
        sa.UniqueConstraint("org_id", "schedule", "period_start", name="uq_schedule_runs_period"),
    )
    enable_rls("schedule_runs")
    grant_app_role(get_settings().app_role)


def downgrade() -> None:
    op.drop_table("schedule_runs")
