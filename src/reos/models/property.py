"""Property and sale records, and the history of their field changes.

Field names follow the business (see ``reos fields``). Every stored value's provenance
(source import, file, row, observation time) is kept in ``provenance`` (compact form, per
field view by ``field_provenance()``: see :mod:`reos.models.provenance`); when a later
source changes a value the old one goes to :class:`FieldChange`.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from reos.db.base import Base, IdMixin, TenantScoped, TimestampMixin, UTCDateTime, utcnow
from reos.models.provenance import Provenanced


class Property(Provenanced, IdMixin, TenantScoped, TimestampMixin, Base):
    __tablename__ = "properties"
    __table_args__ = (
        Index("ix_properties_org_parcel", "org_id", "parcel_number"),
        Index("ix_properties_org_address_key", "org_id", "address_key"),
        Index("ix_properties_org_source_record", "org_id", "source_record_id"),
        Index("ix_properties_org_h3", "org_id", "h3_cell"),
        Index("ix_properties_org_h3_r7", "org_id", "h3_cell_r7"),
        Index("ix_properties_org_h3_r5", "org_id", "h3_cell_r5"),
    )
    parcel_number: Mapped[str | None] = mapped_column(String(64))
    source_record_id: Mapped[str | None] = mapped_column(String(128))
    address: Mapped[str | None] = mapped_column(String(500))
    street_number: Mapped[str | None] = mapped_column(String(32))
    street_name: Mapped[str | None] = mapped_column(String(200))
    unit: Mapped[str | None] = mapped_column(String(64))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(2))
    zip: Mapped[str | None] = mapped_column(String(5), index=True)
    zip4: Mapped[str | None] = mapped_column(String(4))  # ZIP+4 add-on (RESO PostalCodePlus4)
    address_normalized: Mapped[str | None] = mapped_column(String(500))
    address_key: Mapped[str | None] = mapped_column(String(300))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    h3_cell: Mapped[str | None] = mapped_column(String(16))
    h3_cell_r7: Mapped[str | None] = mapped_column(String(16))
    h3_cell_r5: Mapped[str | None] = mapped_column(String(16))
    property_type: Mapped[str | None] = mapped_column(String(32))
    living_area_sqft: Mapped[float | None] = mapped_column(Float)
    lot_size_sqft: Mapped[float | None] = mapped_column(Float)
    beds: Mapped[int | None] = mapped_column(Integer)
    baths_full: Mapped[int | None] = mapped_column(Integer)
    baths_half: Mapped[int | None] = mapped_column(Integer)
    year_built: Mapped[int | None] = mapped_column(Integer)
    year_remodeled: Mapped[int | None] = mapped_column(Integer)
    stories: Mapped[float | None] = mapped_column(Float)
    quality: Mapped[int | None] = mapped_column(Integer)
    condition: Mapped[int | None] = mapped_column(Integer)
    garage_spaces: Mapped[float | None] = mapped_column(Float)
    basement_area_sqft: Mapped[float | None] = mapped_column(Float)
    pool: Mapped[bool | None] = mapped_column(Boolean)
    neighborhood: Mapped[str | None] = mapped_column(String(100))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    warnings: Mapped[list[Any]] = mapped_column(default=list)
    provenance: Mapped[dict[str, Any]] = mapped_column(default=dict)

    DERIVED = frozenset(
        {"address_normalized", "address_key", "h3_cell", "h3_cell_r7", "h3_cell_r5"}
    )
    ORG_ID_INDEX = False  # every index above leads with org_id


class Sale(Provenanced, IdMixin, TenantScoped, TimestampMixin, Base):
    """A closed sale of a property. The same sale seen in two sources is one row: matched on
    (property, close date, price) and otherwise on the source's own sale id."""

    __tablename__ = "sales"
    __table_args__ = (
        Index("ix_sales_org_record", "org_id", "sale_record_id"),
        Index("ix_sales_org_property_date", "org_id", "property_id", "close_date"),
        Index("ix_sales_org_close_date", "org_id", "close_date"),
    )
    property_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("properties.id", ondelete="CASCADE")
    )
    sale_record_id: Mapped[str | None] = mapped_column(String(128))
    close_date: Mapped[date] = mapped_column(Date)
    close_date_precision: Mapped[str] = mapped_column(String(8), default="day")
    sale_price: Mapped[float] = mapped_column(Numeric(14, 2))
    list_price: Mapped[float | None] = mapped_column(Numeric(14, 2))
    sale_type: Mapped[str | None] = mapped_column(String(64))
    sale_condition: Mapped[str | None] = mapped_column(String(64))
    arm_length: Mapped[bool | None] = mapped_column(Boolean)
    source: Mapped[str | None] = mapped_column(String(200))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    warnings: Mapped[list[Any]] = mapped_column(default=list)
    provenance: Mapped[dict[str, Any]] = mapped_column(default=dict)

    DERIVED = frozenset({"property_id", "source"})
    ORG_ID_INDEX = False  # every index above leads with org_id


class FieldChange(IdMixin, TenantScoped, Base):
    """A value that a later observation replaced: the losing value and where each came from."""

    __tablename__ = "field_changes"
    __table_args__ = (Index("ix_field_changes_entity", "org_id", "entity_type", "entity_id"),)
    entity_type: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    field: Mapped[str] = mapped_column(String(64))
    old_value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    new_value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    import_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    row_number: Mapped[int | None] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
