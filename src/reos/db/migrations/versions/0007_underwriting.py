"""underwriting: rent listings, saved default assumptions, stored underwritings, runs

Revision ID: 0007
Revises: 0006

Four tenant tables owned by ``reos.underwriting``, each with the row-level security policy
of every tenant table: ``rent_listings`` (an import record kind; the comparables of a rent
estimate), ``underwriting_defaults`` (one row per organisation and strategy),
``underwritings`` (a deal underwritten with its inputs, their sources, metrics, cash flows
and versions) and ``underwriting_runs`` (the checkpoint of ``reos underwrite --all``).

Create Date: 2026-12-04 20:29:39
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from reos.config import get_settings
from reos.db.migrations.rls import enable_rls, grant_app_role

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "underwriting_defaults",
        sa.Column("strategy", sa.String(length=20), nullable=False),
        sa.Column(
            "assumptions",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
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
            name=op.f("fk_underwriting_defaults_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_underwriting_defaults")),
        sa.UniqueConstraint(
            "org_id", "strategy", name=op.f("uq_underwriting_defaults_org_id_strategy")
        ),
    )
    with op.batch_alter_table("underwriting_defaults", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_underwriting_defaults_org_id"), ["org_id"], unique=False
        )

    op.create_table(
        "underwriting_runs",
        sa.Column("strategy", sa.String(length=20), nullable=False),
        sa.Column(
            "assumptions",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("properties_total", sa.Integer(), nullable=False),
        sa.Column("properties_done", sa.Integer(), nullable=False),
        sa.Column("underwritten", sa.Integer(), nullable=False),
        sa.Column(
            "skipped",
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
            name=op.f("fk_underwriting_runs_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_underwriting_runs")),
    )
    with op.batch_alter_table("underwriting_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_underwriting_runs_org_id"), ["org_id"], unique=False)

    op.create_table(
        "rent_listings",
        sa.Column("rent_record_id", sa.String(length=128), nullable=False),
        sa.Column("import_id", sa.Uuid(), nullable=True),
        sa.Column("row_number", sa.Integer(), nullable=True),
        sa.Column("property_id", sa.Uuid(), nullable=True),
        sa.Column("link_status", sa.String(length=20), nullable=False),
        sa.Column("parcel_number", sa.String(length=64), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("address_key", sa.String(length=300), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=True),
        sa.Column("state", sa.String(length=2), nullable=True),
        sa.Column("zip", sa.String(length=5), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("property_type", sa.String(length=30), nullable=True),
        sa.Column("living_area_sqft", sa.Float(), nullable=True),
        sa.Column("beds", sa.Integer(), nullable=True),
        sa.Column("baths_full", sa.Integer(), nullable=True),
        sa.Column("baths_half", sa.Integer(), nullable=True),
        sa.Column("monthly_rent", sa.Float(), nullable=True),
        sa.Column("lease_date", sa.Date(), nullable=True),
        sa.Column("rent_status", sa.String(length=40), nullable=True),
        sa.Column(
            "attributes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "warnings",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "provenance",
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
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_rent_listings_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["property_id"],
            ["properties.id"],
            name=op.f("fk_rent_listings_property_id_properties"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rent_listings")),
    )
    with op.batch_alter_table("rent_listings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rent_listings_org_id"), ["org_id"], unique=False)
        batch_op.create_index(
            "ix_rent_listings_org_record", ["org_id", "rent_record_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_rent_listings_property_id"), ["property_id"], unique=False
        )

    op.create_table(
        "underwritings",
        sa.Column("property_id", sa.Uuid(), nullable=True),
        sa.Column("strategy", sa.String(length=20), nullable=False),
        sa.Column(
            "inputs",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "sources",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "metrics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "cash_flows",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "result",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("engine_version", sa.String(length=32), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=True),
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
            name=op.f("fk_underwritings_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["property_id"],
            ["properties.id"],
            name=op.f("fk_underwritings_property_id_properties"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_underwritings")),
    )
    with op.batch_alter_table("underwritings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_underwritings_org_created", ["org_id", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_underwritings_org_id"), ["org_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_underwritings_property_id"), ["property_id"], unique=False
        )
    for table in ("underwriting_defaults", "underwriting_runs", "rent_listings", "underwritings"):
        enable_rls(table)
    grant_app_role(get_settings().app_role)


def downgrade() -> None:
    with op.batch_alter_table("underwritings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_underwritings_property_id"))
        batch_op.drop_index(batch_op.f("ix_underwritings_org_id"))
        batch_op.drop_index("ix_underwritings_org_created")

    op.drop_table("underwritings")
    with op.batch_alter_table("rent_listings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rent_listings_property_id"))
        batch_op.drop_index("ix_rent_listings_org_record")
        batch_op.drop_index(batch_op.f("ix_rent_listings_org_id"))

    op.drop_table("rent_listings")
    with op.batch_alter_table("underwriting_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_underwriting_runs_org_id"))

    op.drop_table("underwriting_runs")
    with op.batch_alter_table("underwriting_defaults", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_underwriting_defaults_org_id"))

    op.drop_table("underwriting_defaults")
