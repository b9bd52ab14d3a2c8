"""pipeline: runs, their chunks, the properties a stage could not handle, settings

Revision ID: 0011
Revises: 0010

Four tenant tables owned by ``reos.pipeline``, each with the row-level security policy of
every tenant table: ``pipeline_runs`` (one run from changed records to a ranked deal list,
with the watermarks it covers), ``pipeline_chunks`` (a stage's work on ~500 properties,
committed together with its done mark), ``pipeline_items`` (a property a stage could not
handle, with the reason) and ``pipeline_settings`` (shortlist rule, strategy, schedule).

Create Date: 2026-12-05 11:51:53
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from reos.config import get_settings
from reos.db.migrations.rls import enable_rls, grant_app_role

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pipeline_runs",
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "watermarks",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("properties_total", sa.Integer(), nullable=False),
        sa.Column(
            "stages",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "summary",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("scheduled_for", sa.Date(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
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
            name=op.f("fk_pipeline_runs_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_runs")),
        sa.UniqueConstraint("org_id", "scheduled_for", name="uq_pipeline_runs_scheduled_for"),
    )
    with op.batch_alter_table("pipeline_runs", schema=None) as batch_op:
        batch_op.create_index("ix_pipeline_runs_org_status", ["org_id", "status"], unique=False)

    op.create_table(
        "pipeline_settings",
        sa.Column("shortlist_top_n", sa.Integer(), nullable=True),
        sa.Column("shortlist_min_score", sa.Integer(), nullable=True),
        sa.Column("strategy", sa.String(length=20), nullable=False),
        sa.Column("chunk_properties", sa.Integer(), nullable=False),
        sa.Column("daily_at", sa.String(length=5), nullable=True),
        sa.Column("valuation_date", sa.Date(), nullable=True),
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
            name=op.f("fk_pipeline_settings_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_settings")),
        sa.UniqueConstraint("org_id", name="uq_pipeline_settings_org"),
    )
    op.create_table(
        "pipeline_chunks",
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("stage", sa.String(length=30), nullable=False),
        sa.Column("stage_order", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column(
            "property_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("completions", sa.Integer(), nullable=False),
        sa.Column("processed", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("worker", sa.String(length=100), nullable=True),
        sa.Column(
            "result",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
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
            name=op.f("fk_pipeline_chunks_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["pipeline_runs.id"],
            name=op.f("fk_pipeline_chunks_run_id_pipeline_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_chunks")),
        sa.UniqueConstraint("run_id", "stage", "seq", name="uq_pipeline_chunks_run_stage_seq"),
    )
    with op.batch_alter_table("pipeline_chunks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pipeline_chunks_org_id"), ["org_id"], unique=False)
        batch_op.create_index("ix_pipeline_chunks_run_status", ["run_id", "status"], unique=False)

    op.create_table(
        "pipeline_items",
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("stage", sa.String(length=30), nullable=False),
        sa.Column("property_id", sa.Uuid(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
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
            name=op.f("fk_pipeline_items_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["pipeline_runs.id"],
            name=op.f("fk_pipeline_items_run_id_pipeline_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_items")),
        sa.UniqueConstraint("run_id", "stage", "property_id", name="uq_pipeline_items_run_stage"),
    )
    with op.batch_alter_table("pipeline_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pipeline_items_org_id"), ["org_id"], unique=False)

    for table in ("pipeline_runs", "pipeline_settings", "pipeline_chunks", "pipeline_items"):
        enable_rls(table)
    grant_app_role(get_settings().app_role)


def downgrade() -> None:
    with op.batch_alter_table("pipeline_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pipeline_items_org_id"))

    op.drop_table("pipeline_items")
    with op.batch_alter_table("pipeline_chunks", schema=None) as batch_op:
        batch_op.drop_index("ix_pipeline_chunks_run_status")
        batch_op.drop_index(batch_op.f("ix_pipeline_chunks_org_id"))

    op.drop_table("pipeline_chunks")
    op.drop_table("pipeline_settings")
    with op.batch_alter_table("pipeline_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_pipeline_runs_org_status")

    op.drop_table("pipeline_runs")
