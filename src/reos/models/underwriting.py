"""Underwriting's tables: rent listings (the comps of a rent estimate), an organisation's
saved default assumptions, stored underwritings and the checkpoint of ``--all`` runs."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from reos.db.base import Base, IdMixin, TenantScoped, TimestampMixin, UTCDateTime
from reos.models.provenance import Provenanced


class RentListing(Provenanced, IdMixin, TenantScoped, TimestampMixin, Base):
    """One rent or lease listing as a source gave it (RESO ``PropertyType`` ResidentialLease):
    the monthly rent asked or agreed for a home, linked to the stored property when its
    parcel number or address matches one. The rent estimate's comparables; the listing keeps
    its own location and facts so an unlinked listing is still a comparable."""

    __tablename__ = "rent_listings"
    __table_args__ = (Index("ix_rent_listings_org_record", "org_id", "rent_record_id"),)
    rent_record_id: Mapped[str] = mapped_column(String(128))
    import_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    row_number: Mapped[int | None] = mapped_column(Integer)
    property_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("properties.id", ondelete="SET NULL"), index=True
    )
    link_status: Mapped[str] = mapped_column(String(20), default="unlinked")
    parcel_number: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(Text)
    address_key: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(2))
    zip: Mapped[str | None] = mapped_column(String(5))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    property_type: Mapped[str | None] = mapped_column(String(30))
    living_area_sqft: Mapped[float | None] = mapped_column(Float)
    beds: Mapped[int | None] = mapped_column(Integer)
    baths_full: Mapped[int | None] = mapped_column(Integer)
    baths_half: Mapped[int | None] = mapped_column(Integer)
    monthly_rent: Mapped[float | None] = mapped_column(Float)
    lease_date: Mapped[date | None] = mapped_column(Date)
    rent_status: Mapped[str | None] = mapped_column(String(40))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    warnings: Mapped[list[Any]] = mapped_column(default=list)
    provenance: Mapped[dict[str, Any]] = mapped_column(default=dict)

    DERIVED = frozenset({"import_id", "row_number", "property_id", "link_status", "address_key"})


class UnderwritingDefaults(IdMixin, TenantScoped, TimestampMixin, Base):
    """An organisation's saved default assumptions for one strategy (``rental``, ``flip``,
    ``commercial``): deal-file fields that apply when neither the user nor the store gives
    them. Validated with the deal-file rules before they are saved."""

    __tablename__ = "underwriting_defaults"
    __table_args__ = (UniqueConstraint("org_id", "strategy"),)
    strategy: Mapped[str] = mapped_column(String(20))
    assumptions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_by: Mapped[str | None] = mapped_column(String(64))


class Underwriting(IdMixin, TenantScoped, TimestampMixin, Base):
    """One deal underwritten and kept: the inputs used (with where each came from), the
    metrics and the cash flows they came from, and the versions that made them (the engine's,
    and the AVM model's when value or ARV came from it)."""

    __tablename__ = "underwritings"
    __table_args__ = (Index("ix_underwritings_org_created", "org_id", "created_at"),)
    property_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("properties.id", ondelete="CASCADE"), index=True
    )
    strategy: Mapped[str] = mapped_column(String(20))
    inputs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sources: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    cash_flows: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    engine_version: Mapped[str] = mapped_column(String(32))
    model_version: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str | None] = mapped_column(String(64))


class UnderwritingRun(IdMixin, TenantScoped, TimestampMixin, Base):
    """One ``reos underwrite --all``: every property underwritten with one strategy.

    Properties are taken in order of id, one committed chunk at a time; ``last_property_id``
    is the checkpoint, written in the same transaction as the chunk's underwritings, so a
    killed run resumes after it and ends as one uninterrupted run would. ``skipped`` counts
    the properties that could not be underwritten, by reason."""

    __tablename__ = "underwriting_runs"
    strategy: Mapped[str] = mapped_column(String(20))
    assumptions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="running")  # running | done
    properties_total: Mapped[int] = mapped_column(Integer, default=0)
    properties_done: Mapped[int] = mapped_column(Integer, default=0)
    underwritten: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_property_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
