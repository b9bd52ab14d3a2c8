"""Trained valuation model versions and the valuations made with them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, Float, ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from reos.db.base import Base, IdMixin, TenantScoped, TimestampMixin, UTCDateTime


class AvmModelVersion(IdMixin, TenantScoped, TimestampMixin, Base):
    """Metadata of one trained model; its files live under REOS_HOME/models/<org>/<version>."""

    __tablename__ = "avm_models"
    version: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(1000))
    cutoff: Mapped[date] = mapped_column(Date)
    window_start: Mapped[date | None] = mapped_column(Date)
    window_end: Mapped[date | None] = mapped_column(Date)
    row_count: Mapped[int] = mapped_column(Integer)
    features: Mapped[list[Any]] = mapped_column(default=list)
    holdout_metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Valuation(IdMixin, TenantScoped, TimestampMixin, Base):
    __tablename__ = "valuations"
    property_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("properties.id", ondelete="CASCADE"), index=True
    )
    valuation_date: Mapped[date] = mapped_column(Date)
    estimated_value: Mapped[float] = mapped_column(Float)
    interval_low: Mapped[float] = mapped_column(Float)
    interval_high: Mapped[float] = mapped_column(Float)
    confidence: Mapped[str] = mapped_column(String(10))
    model_version: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ValuationRun(IdMixin, TenantScoped, TimestampMixin, Base):
    """One ``reos value --all``: every property valued as of one date with one model.

    Properties are valued in order of id, one committed chunk at a time; ``last_property_id``
    is the checkpoint, written in the same transaction as the chunk's valuations. A killed
    run resumes after it (same date, same model) and ends in the state one uninterrupted
    run would reach: each property valued once. ``properties_done`` counts the properties
    passed (valued or not), ``not_valued`` the others by reason.
    """

    __tablename__ = "valuation_runs"
    valuation_date: Mapped[date] = mapped_column(Date)
    model_version: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="running")  # running | done
    properties_total: Mapped[int] = mapped_column(Integer, default=0)
    properties_done: Mapped[int] = mapped_column(Integer, default=0)
    valued: Mapped[int] = mapped_column(Integer, default=0)
    not_valued: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_property_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
