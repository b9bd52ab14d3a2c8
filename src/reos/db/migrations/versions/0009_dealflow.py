"""deal flow: property lists and their memberships, saved searches, deal scores, score models

Revision ID: 0009
Revises: 0008

Lists (imported distress lists and lists derived from the store) with one membership row
per file row (matched, unmatched with its reason, or duplicate), saved searches with the
matches of their last run, each property's current deal score and the trained score
models. Every table is tenant-owned, with the row-level security policy of every tenant
table.

Create Date: 2026-12-05 11:50:05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from reos.config import get_settings
from reos.db.migrations.rls import enable_rls, grant_app_role

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLES = ("property_lists", "list_memberships", "saved_searches", "deal_scores", "score_models")


def upgrade() -> None:
    op.create_table(
        "property_lists",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("list_date", sa.Date(), nullable=False),
        sa.Column("derived", sa.Boolean(), nullable=False),
        sa.Column(
            "query",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("filename", sa.String(length=500), nullable=True),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.Column(
            "report",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=True),
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
            name=op.f("fk_property_lists_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_property_lists")),
    )
    with op.batch_alter_table("property_lists", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_property_lists_org_id"), ["org_id"], unique=False)
        batch_op.create_index("ix_property_lists_org_kind", ["org_id", "kind"], unique=False)

    op.create_table(
        "saved_searches",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "filters",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_match_count", sa.Integer(), nullable=False),
        sa.Column("last_new_count", sa.Integer(), nullable=False),
        sa.Column(
            "last_match_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=64), nullable=True),
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
            name=op.f("fk_saved_searches_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_searches")),
        sa.UniqueConstraint("org_id", "name", name="uq_saved_searches_org_name"),
    )
    op.create_table(
        "score_models",
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("outcome_count", sa.Integer(), nullable=False),
        sa.Column("holdout_auc", sa.Float(), nullable=False),
        sa.Column("default_auc", sa.Float(), nullable=False),
        sa.Column(
            "features",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "metrics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("is_active", sa.Boolean(), nullable=False),
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
            name=op.f("fk_score_models_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_models")),
    )
    with op.batch_alter_table("score_models", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_score_models_org_id"), ["org_id"], unique=False)

    op.create_table(
        "deal_scores",
        sa.Column("property_id", sa.Uuid(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column(
            "drivers",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "reasons",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "features",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
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
            name=op.f("fk_deal_scores_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["property_id"],
            ["properties.id"],
            name=op.f("fk_deal_scores_property_id_properties"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_scores")),
        sa.UniqueConstraint("org_id", "property_id", name="uq_deal_scores_org_property"),
    )
    with op.batch_alter_table("deal_scores", schema=None) as batch_op:
        batch_op.create_index("ix_deal_scores_org_score", ["org_id", "score"], unique=False)

    op.create_table(
        "list_memberships",
        sa.Column("list_id", sa.Uuid(), nullable=False),
        sa.Column("property_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("matched_by", sa.String(length=20), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("row_number", sa.Integer(), nullable=True),
        sa.Column("listed_on", sa.Date(), nullable=False),
        sa.Column(
            "attributes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
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
            ["list_id"],
            ["property_lists.id"],
            name=op.f("fk_list_memberships_list_id_property_lists"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_list_memberships_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["property_id"],
            ["properties.id"],
            name=op.f("fk_list_memberships_property_id_properties"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_list_memberships")),
        sa.UniqueConstraint("list_id", "property_id", name="uq_list_memberships_list_property"),
    )
    with op.batch_alter_table("list_memberships", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_list_memberships_list_id"), ["list_id"], unique=False)
        batch_op.create_index(
            "ix_list_memberships_org_property", ["org_id", "property_id"], unique=False
        )

    for table in TABLES:
        enable_rls(table)
    grant_app_role(get_settings().app_role)


def downgrade() -> None:
    with op.batch_alter_table("list_memberships", schema=None) as batch_op:
        batch_op.drop_index("ix_list_memberships_org_property")
        batch_op.drop_index(batch_op.f("ix_list_memberships_list_id"))

    op.drop_table("list_memberships")
    with op.batch_alter_table("deal_scores", schema=None) as batch_op:
        batch_op.drop_index("ix_deal_scores_org_score")

    op.drop_table("deal_scores")
    with op.batch_alter_table("score_models", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_score_models_org_id"))

    op.drop_table("score_models")
    op.drop_table("saved_searches")
    with op.batch_alter_table("property_lists", schema=None) as batch_op:
        batch_op.drop_index("ix_property_lists_org_kind")
        batch_op.drop_index(batch_op.f("ix_property_lists_org_id"))

    op.drop_table("property_lists")
