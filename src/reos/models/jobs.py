"""Durable background work: a job row is written in the same transaction as its cause.

Workers claim jobs with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (several workers share
the queue); on SQLite one process runs them. A crashed job is re-claimed after its lease;
a job that ran past its ``deadline_at`` is failed instead of re-run.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from reos.db.base import Base, IdMixin, TenantScoped, TimestampMixin, UTCDateTime, utcnow


class Job(IdMixin, TenantScoped, TimestampMixin, Base):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_status_run_after", "status", "run_after"),
        # claims count each organisation's running jobs (fair scheduling)
        Index("ix_jobs_org_id_status", "org_id", "status"),
    )
    kind: Mapped[str] = mapped_column(String(50))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="queued")  # queued|running|done|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: when the current (last) attempt was claimed, and by when it must have finished
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)


class ScheduleRun(IdMixin, TenantScoped, TimestampMixin, Base):
    """One period of one schedule, enqueued for one organisation.

    The unique key (organisation, schedule, period start) is what makes a schedule run at
    most once per period however many workers, on however many machines, see it due: each
    inserts this row and the period's job in one transaction, and only one insert of a key
    can commit (see :mod:`reos.jobs.schedules`)."""

    __tablename__ = "schedule_runs"
    __table_args__ = (
        UniqueConstraint("org_id", "schedule", "period_start", name="uq_schedule_runs_period"),
    )
    ORG_ID_INDEX = False  # the unique key leads with org_id
    schedule: Mapped[str] = mapped_column(String(100))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    job_id: Mapped[uuid.UUID] = mapped_column(Uuid)
