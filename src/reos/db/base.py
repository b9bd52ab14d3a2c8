"""Declarative base and the column kinds every model shares."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, Dialect, MetaData, TypeDecorator, Uuid, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A point in time, always read back time-zone aware in UTC.

    PostgreSQL's ``timestamptz`` keeps the zone, but SQLite has no time-zone type: its
    ``DATETIME`` text drops the offset, so a value came back naive and the API published
    timestamps without a zone (the OpenAPI ``date-time`` format requires one). Values are
    converted to UTC on the way in (a naive value is taken as UTC already) and tagged UTC on
    the way out. The column DDL is ``DateTime(timezone=True)``, as before: no migration.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSONType, list[Any]: JSONType}


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, server_default=func.now()
    )


class TenantScoped:
    """Marks a tenant-owned table: it has ``org_id`` and every query on it is scoped.

    The scoping itself lives in :mod:`reos.db.tenancy`; on PostgreSQL row-level security
    policies (created in the migrations for every table with this mixin) are the backstop.
    """

    #: A table whose composite indexes all lead with ``org_id`` sets this False: a separate
    #: index on ``org_id`` alone would only cost every insert another B-tree update.
    ORG_ID_INDEX: ClassVar[bool] = True

    @declared_attr
    def org_id(cls) -> Mapped[uuid.UUID]:  # noqa: N805
        from sqlalchemy import ForeignKey

        return mapped_column(
            Uuid,
            ForeignKey("organizations.id", ondelete="CASCADE"),
            index=bool(getattr(cls, "ORG_ID_INDEX", True)),
            nullable=False,
        )


def tenant_tables() -> list[str]:
    """Names of every tenant-owned table (those whose model mixes in :class:`TenantScoped`)."""
    names = []
    for mapper in Base.registry.mappers:
        if issubclass(mapper.class_, TenantScoped):
            names.append(str(getattr(mapper.local_table, "name")))  # noqa: B009
    return sorted(set(names))
