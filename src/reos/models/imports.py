"""Imports (one per file brought in) and the rows quarantined by the validation gate."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from reos.db.base import Base, IdMixin, TenantScoped, TimestampMixin, UTCDateTime


class ImportRun(IdMixin, TenantScoped, TimestampMixin, Base):
    """One file brought in. Counters always balance:
    rows_read = inserted + updated + unchanged + quarantined.

    ``rows_committed`` is the checkpoint: rows up to it are durably applied, so a killed
    import resumes after it and ends in the state one uninterrupted run would reach.
    """

    __tablename__ = "imports"
    __table_args__ = (Index("ix_imports_org_fingerprint", "org_id", "fingerprint"),)
    entity: Mapped[str] = mapped_column(String(20))  # properties | sales | owners
    filename: Mapped[str] = mapped_column(String(500))
    file_sha256: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64))  # file + mapping + entity
    source_name: Mapped[str] = mapped_column(String(200))
    mapping: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    rows_committed: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[list[Any]] = mapped_column(default=list)
    error: Mapped[str | None] = mapped_column(Text)
    stored_path: Mapped[str | None] = mapped_column(String(1000))
    created_by: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class QuarantinedRow(IdMixin, TenantScoped, TimestampMixin, Base):
    """A row that failed validation: its raw values and every reason, never dropped."""

    __tablename__ = "quarantined_rows"
    __table_args__ = (Index("ix_quarantined_rows_import_row", "import_id", "row_number"),)
    import_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("imports.id", ondelete="CASCADE"))
    row_number: Mapped[int] = mapped_column(Integer)
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | resolved
    resolved_by_import_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
