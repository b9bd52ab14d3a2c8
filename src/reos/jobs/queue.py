"""The job queue on the ``jobs`` table.

* :func:`enqueue` adds a job in the caller's transaction (tenant session): the job exists
  exactly when the change that caused it is committed.
* :func:`claim` takes the oldest runnable job for a worker: queued and due, or running
  with an expired lease (its worker died). On PostgreSQL the candidate is locked with
  ``FOR UPDATE SKIP LOCKED`` so several workers share the queue without waiting on each
  other; on SQLite (one writer) a plain SELECT is enough. Either way the claim is a
  conditional UPDATE, so a job is never taken twice. Claiming runs in a system session
  (the owner role, not subject to row-level security) because workers serve every
  organisation; the job itself then runs in a tenant session of its organisation.
* A job gets ``max_attempts`` tries; a failure caused by bad input (a ``ReosError``) is
  final at once, anything else is retried after a back-off.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, or_, select, update
from sqlalchemy.orm import Session

from reos.db.session import system_session
from reos.models.jobs import Job

DEFAULT_LEASE_SECONDS = 300
DEFAULT_MAX_ATTEMPTS = 3
RETRY_BACKOFF_SECONDS = 30


@dataclass(frozen=True)
class ClaimedJob:
    id: uuid.UUID
    org_id: uuid.UUID
    kind: str
    payload: dict[str, Any]
    attempts: int


def _now() -> datetime:
    return datetime.now(UTC)


def enqueue(
    session: Session, kind: str, payload: dict[str, Any], *, run_after: datetime | None = None
) -> Job:
    """Add a job in the caller's (tenant) transaction; it runs only once that commits."""
    job = Job(
        kind=kind, payload=payload, status="queued", attempts=0, run_after=run_after or _now()
    )
    session.add(job)
    session.flush()
    return job


def claim(
    engine: Engine | None = None,
    *,
    lease_seconds: int = DEFAULT_LEASE_SECONDS,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> ClaimedJob | None:
    """Take the next runnable job, or None when there is none."""
    while True:
        with system_session(engine) as session:
            now = _now()
            runnable = or_(
                and_(Job.status == "queued", Job.run_after <= now),
                and_(Job.status == "running", Job.lease_until < now),
            )
            stmt = (
                select(Job).where(runnable).order_by(Job.run_after, Job.created_at, Job.id).limit(1)
            )
            if session.get_bind().dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            job = session.scalars(stmt).first()
            if job is None:
                return None
            if job.attempts >= max_attempts:
                # its lease ran out on the last allowed attempt: the worker died every time
                job.status = "failed"
                job.error = (
                    job.error or ""
                ) + f" gave up after {job.attempts} attempts (lease expired)"
                job.lease_until = None
                continue
            taken = session.execute(
                update(Job)
                .where(Job.id == job.id, Job.status == job.status, Job.attempts == job.attempts)
                .values(
                    status="running",
                    attempts=Job.attempts + 1,
                    lease_until=now + timedelta(seconds=lease_seconds),
                )
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                continue  # another worker took it between our read and our write
            return ClaimedJob(
                job.id, job.org_id, job.kind, dict(job.payload or {}), job.attempts + 1
            )


def extend_lease(
    job_id: uuid.UUID, engine: Engine | None = None, *, lease_seconds: int = DEFAULT_LEASE_SECONDS
) -> None:
    """Heartbeat of a long job: push its lease forward so nobody re-claims it."""
    with system_session(engine) as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "running")
            .values(lease_until=_now() + timedelta(seconds=lease_seconds))
            .execution_options(synchronize_session=False)
        )


def complete(job_id: uuid.UUID, engine: Engine | None = None) -> None:
    with system_session(engine) as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(status="done", lease_until=None, error=None)
            .execution_options(synchronize_session=False)
        )


def fail(job: ClaimedJob, message: str, *, final: bool, engine: Engine | None = None,
         max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> str:  # fmt: skip
    """Record a failure: retried later (status queued) unless final or out of attempts.
    Returns the new status."""
    status = "failed" if final or job.attempts >= max_attempts else "queued"
    with system_session(engine) as session:
        session.execute(
            update(Job)
            .where(Job.id == job.id)
            .values(
                status=status,
                lease_until=None,
                error=message[:4000],
                run_after=_now() + timedelta(seconds=RETRY_BACKOFF_SECONDS * job.attempts),
            )
            .execution_options(synchronize_session=False)
        )
    return status
