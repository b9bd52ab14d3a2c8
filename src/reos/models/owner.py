"""Owner records as imported, the owner entities they resolve into, and human overrides."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from reos.db.base import Base, IdMixin, TenantScoped, TimestampMixin
from reos.models.provenance import Provenanced


class OwnerEntity(IdMixin, TenantScoped, TimestampMixin, Base):
    """A real person, couple, company, trust or government body that owns property."""

    __tablename__ = "owner_entities"
    __table_args__ = (Index("ix_owner_entities_org_name", "org_id", "display_name", "id"),)
    entity_key: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(20))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)


class OwnerRecord(Provenanced, IdMixin, TenantScoped, TimestampMixin, Base):
    """One owner row as a source gave it, raw names kept, linked to its property if found."""

    __tablename__ = "owner_records"
    __table_args__ = (
        Index("ix_owner_records_org_record", "org_id", "owner_record_id"),
        Index("ix_owner_records_entity", "entity_id"),
    )
    owner_record_id: Mapped[str] = mapped_column(String(128))
    import_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    row_number: Mapped[int | None] = mapped_column(Integer)
    owner_name: Mapped[str | None] = mapped_column(Text)
    owner_name_2: Mapped[str | None] = mapped_column(Text)
    mailing_address: Mapped[str | None] = mapped_column(String(500))
    mailing_address_2: Mapped[str | None] = mapped_column(String(500))
    mailing_city: Mapped[str | None] = mapped_column(String(100))
    mailing_state: Mapped[str | None] = mapped_column(String(50))
    mailing_zip: Mapped[str | None] = mapped_column(String(10))
    mailing_country: Mapped[str | None] = mapped_column(String(100))
    mailing_address_key: Mapped[str | None] = mapped_column(String(300))
    property_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("properties.id", ondelete="SET NULL"), index=True
    )
    property_ref: Mapped[dict[str, Any]] = mapped_column(default=dict)
    link_status: Mapped[str] = mapped_column(String(20), default="unlinked")
    entity_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("owner_entities.id", ondelete="SET NULL")
    )
    match_probability: Mapped[float | None] = mapped_column(Float)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    warnings: Mapped[list[Any]] = mapped_column(default=list)
    provenance: Mapped[dict[str, Any]] = mapped_column(default=dict)

    DERIVED = frozenset({"import_id", "row_number", "entity_id", "match_probability"})


class OwnerOverride(IdMixin, TenantScoped, TimestampMixin, Base):
    """A person's decision that two records are (merge) or are not (split) the same owner.
    Every later resolution run applies these as hard constraints."""

    __tablename__ = "owner_overrides"
    kind: Mapped[str] = mapped_column(String(10))  # merge | split
    record_a: Mapped[str] = mapped_column(String(128))
    record_b: Mapped[str] = mapped_column(String(128))
    created_by: Mapped[str | None] = mapped_column(String(64))


class ResolutionRun(IdMixin, TenantScoped, TimestampMixin, Base):
    """A resolution run: its report and the trained match model (to link new records later)."""

    __tablename__ = "owner_resolution_runs"
    report: Mapped[dict[str, Any]] = mapped_column(default=dict)
    model: Mapped[dict[str, Any]] = mapped_column(default=dict)
