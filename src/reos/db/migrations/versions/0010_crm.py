"""crm: deals, their stages, tags, notes, tasks, activity timeline and offers

Revision ID: 0010
Revises: 0009

Seven tenant tables owned by ``reos.crm``, each with the row-level security policy of
every tenant table. One open deal per property per organisation is the unique key
(``org_id``, ``open_property_id``): the property id while the deal is open, NULL once it
is closed (NULLs never collide, on SQLite and PostgreSQL alike). A task raised by a
deadline carries a unique ``source_key`` so it is raised once however many workers run.

Create Date: 2026-12-05 11:44:15
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from reos.config import get_settings
from reos.db.migrations.rls import enable_rls, grant_app_role

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TABLES = (
    "deal_stages",
    "deals",
    "deal_events",
    "deal_notes",
    "deal_tags",
    "deal_tasks",
    "offers",
)

RANK_INDEXES = {
    "ix_deals_org_score_rank": "coalesce(score, -1)",
    "ix_deals_org_due_rank": "coalesce(next_action_due, '9999-12-31')",
    "ix_deals_org_address_rank": "coalesce(address, '')",
}


def upgrade() -> None:
    op.create_table(
        "deal_stages",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("terminal", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=True),
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
            name=op.f("fk_deal_stages_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_stages")),
        sa.UniqueConstraint("org_id", "name", name=op.f("uq_deal_stages_org_id_name")),
    )
    op.create_table(
        "deals",
        sa.Column("property_id", sa.Uuid(), nullable=False),
        sa.Column("open_property_id", sa.Uuid(), nullable=True),
        sa.Column("stage", sa.String(length=40), nullable=False),
        sa.Column("assignee_id", sa.Uuid(), nullable=True),
        sa.Column("next_action", sa.String(length=500), nullable=True),
        sa.Column("next_action_due", sa.Date(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column(
            "reasons",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=True),
        sa.Column("state", sa.String(length=2), nullable=True),
        sa.Column("zip", sa.String(length=5), nullable=True),
        sa.Column("search_text", sa.String(length=700), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("close_reason", sa.String(length=500), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
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
            ["assignee_id"],
            ["users.id"],
            name=op.f("fk_deals_assignee_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_deals_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["property_id"],
            ["properties.id"],
            name=op.f("fk_deals_property_id_properties"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deals")),
        sa.UniqueConstraint(
            "org_id", "open_property_id", name=op.f("uq_deals_org_id_open_property_id")
        ),
    )
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.create_index("ix_deals_org_assignee", ["org_id", "assignee_id"], unique=False)
        batch_op.create_index("ix_deals_org_city", ["org_id", "city"], unique=False)
        batch_op.create_index("ix_deals_org_property", ["org_id", "property_id"], unique=False)
        batch_op.create_index(
            "ix_deals_org_stage_score", ["org_id", "stage", "score"], unique=False
        )
        batch_op.create_index("ix_deals_org_updated", ["org_id", "updated_at", "id"], unique=False)
        batch_op.create_index("ix_deals_org_zip", ["org_id", "zip"], unique=False)

    op.create_table(
        "deal_events",
        sa.Column("deal_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deal_id"], ["deals.id"], name=op.f("fk_deal_events_deal_id_deals"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_deal_events_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_events")),
    )
    with op.batch_alter_table("deal_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deal_events_org_deal", ["org_id", "deal_id", "occurred_at"], unique=False
        )

    op.create_table(
        "deal_notes",
        sa.Column("deal_id", sa.Uuid(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=True),
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
            ["deal_id"], ["deals.id"], name=op.f("fk_deal_notes_deal_id_deals"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_deal_notes_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_notes")),
    )
    with op.batch_alter_table("deal_notes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deal_notes_org_deal", ["org_id", "deal_id", "created_at"], unique=False
        )

    op.create_table(
        "deal_tags",
        sa.Column("deal_id", sa.Uuid(), nullable=False),
        sa.Column("tag", sa.String(length=60), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deal_id"], ["deals.id"], name=op.f("fk_deal_tags_deal_id_deals"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_deal_tags_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_tags")),
        sa.UniqueConstraint(
            "org_id", "deal_id", "tag", name=op.f("uq_deal_tags_org_id_deal_id_tag")
        ),
    )
    with op.batch_alter_table("deal_tags", schema=None) as batch_op:
        batch_op.create_index("ix_deal_tags_org_tag", ["org_id", "tag"], unique=False)

    op.create_table(
        "deal_tasks",
        sa.Column("deal_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("assignee_id", sa.Uuid(), nullable=True),
        sa.Column("source_key", sa.String(length=100), nullable=True),
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
            ["assignee_id"],
            ["users.id"],
            name=op.f("fk_deal_tasks_assignee_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["deal_id"], ["deals.id"], name=op.f("fk_deal_tasks_deal_id_deals"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_deal_tasks_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_tasks")),
        sa.UniqueConstraint("org_id", "source_key", name=op.f("uq_deal_tasks_org_id_source_key")),
    )
    with op.batch_alter_table("deal_tasks", schema=None) as batch_op:
        batch_op.create_index("ix_deal_tasks_org_deal", ["org_id", "deal_id"], unique=False)
        batch_op.create_index(
            "ix_deal_tasks_org_open_due", ["org_id", "done", "due_date"], unique=False
        )

    op.create_table(
        "offers",
        sa.Column("deal_id", sa.Uuid(), nullable=False),
        sa.Column("property_id", sa.Uuid(), nullable=False),
        sa.Column("parent_offer_id", sa.Uuid(), nullable=True),
        sa.Column("party", sa.String(length=10), nullable=False),
        sa.Column("price", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column(
            "terms",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column(
            "basis",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("inspection_ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=True),
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
            ["deal_id"], ["deals.id"], name=op.f("fk_offers_deal_id_deals"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_offers_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_offer_id"],
            ["offers.id"],
            name=op.f("fk_offers_parent_offer_id_offers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["property_id"],
            ["properties.id"],
            name=op.f("fk_offers_property_id_properties"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offers")),
    )
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.create_index("ix_offers_org_deal", ["org_id", "deal_id"], unique=False)
        batch_op.create_index(
            "ix_offers_org_status_expires", ["org_id", "status", "expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_offers_parent_offer_id"), ["parent_offer_id"], unique=False
        )

    # the deal list's sort keys (reos.models.crm: SCORE_RANK, DUE_RANK, ADDRESS_RANK)
    for name, expression in RANK_INDEXES.items():
        op.create_index(name, "deals", ["org_id", sa.text(expression), "id"], unique=False)
    for table in TABLES:
        enable_rls(table)
    grant_app_role(get_settings().app_role)


def downgrade() -> None:
    for name in RANK_INDEXES:
        op.drop_index(name, table_name="deals")
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offers_parent_offer_id"))
        batch_op.drop_index("ix_offers_org_status_expires")
        batch_op.drop_index("ix_offers_org_deal")

    op.drop_table("offers")
    with op.batch_alter_table("deal_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_deal_tasks_org_open_due")
        batch_op.drop_index("ix_deal_tasks_org_deal")

    op.drop_table("deal_tasks")
    with op.batch_alter_table("deal_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_deal_tags_org_tag")

    op.drop_table("deal_tags")
    with op.batch_alter_table("deal_notes", schema=None) as batch_op:
        batch_op.drop_index("ix_deal_notes_org_deal")

    op.drop_table("deal_notes")
    with op.batch_alter_table("deal_events", schema=None) as batch_op:
        batch_op.drop_index("ix_deal_events_org_deal")

    op.drop_table("deal_events")
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.drop_index("ix_deals_org_zip")
        batch_op.drop_index("ix_deals_org_updated")
        batch_op.drop_index("ix_deals_org_stage_score")
        batch_op.drop_index("ix_deals_org_property")
        batch_op.drop_index("ix_deals_org_city")
        batch_op.drop_index("ix_deals_org_assignee")

    op.drop_table("deals")
    op.drop_table("deal_stages")
