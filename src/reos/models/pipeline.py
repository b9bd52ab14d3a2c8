"""The pipeline's tables: one run from records to a ranked deal list, split into chunks.

A run (:class:`PipelineRun`) takes the properties changed since the last finished run's
watermark through the stages of :mod:`reos.pipeline.stages`. Its work is planned up front
as chunks (:class:`PipelineChunk`, ~500 properties of one stage each); a chunk's work and
its done mark commit in one transaction, so a killed run is finished by re-running it and
no chunk is done twice. A property a stage could not handle is kept with its reason
(:class:`PipelineItem`). :class:`PipelineSettings` holds an organisation's shortlist rule,
strategy and daily schedule.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from reos.db.base import Base, IdMixin, TenantScoped, TimestampMixin, UTCDateTime


class PipelineRun(IdMixin, TenantScoped, TimestampMixin, Base):
    """One pipeline run. ``watermarks`` (ISO timestamps by source table) is what the run
    covers: the next run takes what changed after them. ``scheduled_for`` is the day of a
    scheduled run (unique per organisation: a daily schedule runs once a day)."""

    __tablename__ = "pipeline_runs"
    __table_args__ = (
        UniqueConstraint("org_id", "scheduled_for", name="uq_pipeline_runs_scheduled_for"),
        Index("ix_pipeline_runs_org_status", "org_id", "status"),
    )
    ORG_ID_INDEX = False
    status: Mapped[str] = mapped_column(String(20), default="running")  # running|done
    trigger: Mapped[str] = mapped_column(String(20), default="cli")  # cli|api|schedule
    since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    watermarks: Mapped[dict[str, Any]] = mapped_column(default=dict)
    properties_total: Mapped[int] = mapped_column(Integer, default=0)
    stages: Mapped[list[Any]] = mapped_column(default=list)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    scheduled_for: Mapped[date | None] = mapped_column(Date)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PipelineChunk(IdMixin, TenantScoped, TimestampMixin, Base):
    """One stage's work on up to ~500 properties (or the whole organisation for a stage
    that works on all at once: owners, derived lists, shortlist). ``completions`` counts
    how many times it was marked done: 1 in a sound run, whatever the workers did."""

    __tablename__ = "pipeline_chunks"
    __table_args__ = (
        UniqueConstraint("run_id", "stage", "seq", name="uq_pipeline_chunks_run_stage_seq"),
        Index("ix_pipeline_chunks_run_status", "run_id", "status"),
    )
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pipeline_runs.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(30))
    stage_order: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    property_ids: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending|done
    completions: Mapped[int] = mapped_column(Integer, default=0)
    processed: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    worker: Mapped[str | None] = mapped_column(String(100))
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PipelineItem(IdMixin, TenantScoped, TimestampMixin, Base):
    """A property one stage of a run could not handle, with the reason. ``outcome`` is
    ``failed`` (an error: later stages leave the property out) or ``skipped`` (the stage
    refused it for a reason in the data, such as no living area to value; later stages
    still take it)."""

    __tablename__ = "pipeline_items"
    __table_args__ = (
        UniqueConstraint("run_id", "stage", "property_id", name="uq_pipeline_items_run_stage"),
    )
    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pipeline_runs.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(30))
    property_id: Mapped[uuid.UUID] = mapped_column()
    outcome: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)


class PipelineSettings(IdMixin, TenantScoped, TimestampMixin, Base):
    """An organisation's pipeline settings (one row; absent = the defaults).

    ``shortlist_top_n``: the shortlist is the top N properties by score (default 100);
    with ``shortlist_min_score`` (0-100) set instead, every property scoring at least that.
    ``strategy``: the underwriting strategy of the underwrite stage (its assumptions are
    the organisation's saved underwriting defaults). ``daily_at``: ``HH:MM`` UTC at which
    the job workers run the pipeline every day, or none. ``valuation_date``: the day a run
    values and underwrites as of (none: the day it starts); set for a store of past records."""

    __tablename__ = "pipeline_settings"
    __table_args__ = (UniqueConstraint("org_id", name="uq_pipeline_settings_org"),)
    ORG_ID_INDEX = False
    shortlist_top_n: Mapped[int | None] = mapped_column(Integer, default=100)
    shortlist_min_score: Mapped[int | None] = mapped_column(Integer)
    strategy: Mapped[str] = mapped_column(String(20), default="rental")
    chunk_properties: Mapped[int] = mapped_column(Integer, default=500)
    daily_at: Mapped[str | None] = mapped_column(String(5))
    valuation_date: Mapped[date | None] = mapped_column(Date)
