"""jobs: start and deadline of the current attempt; index for per-organisation counts

Revision ID: 0004
Revises: 0003

``started_at``/``deadline_at`` let a claim recognise a job that ran past its time limit
(its worker hung or died) and fail it instead of running it again; the
``(org_id, status)`` index serves the count of each organisation's running jobs that
fair claiming orders by.

Create Date: 2026-12-04 16:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_jobs_org_id_status", "jobs", ["org_id", "status"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_jobs_org_id_status", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("deadline_at")
        batch.drop_column("started_at")
