"""The job queue on the ``jobs`` table.

* :func:`enqueue` adds a job in the caller's transaction (tenant session): the job exists
  exactly when the change that caused it is committed.
* :func:`claim` takes the next runnable job for a worker: queued and due, or running with
  an expired lease (its worker died). **Fair across organisations:** the candidate comes
  from the organisation with the fewest jobs running right now, then the oldest job, so
  one organisation's burst of uploads cannot keep another's job waiting behind all of
  it; an optional cap (``max_running_per_org``) leaves an organisation's further jobs
  queued while it has that many running. On PostgreSQL the candidate is locked with
  ``FOR UPDATE SKIP LOCKED`` so several workers share the queue without waiting on each
  other (the running counts are read without locks, so two workers claiming in the same
  instant may both favour one organisation: fairness is best-effort, never a double
  claim); on SQLite (one writer) a plain SELECT is enough. Either way the claim is a
  conditional UPDATE, so a job is never taken twice. Claiming runs in a system session
  (the owner role, not subject to row-level security) because workers serve every
  organisation; the job itself then runs in a tenant session of its organisation.
* A job gets ``max_attempts`` tries; a failure caused by bad input (a ``ReosError``) is
  final at once, anything else is retried after a back-off.
* **Time limit:** each attempt gets a ``deadline_at``. The worker stops the job at its
  next progress report past it (:class:`JobTimedOut`) and the heartbeat stops renewing
  its lease; a claim that finds a job whose lease ran out after its deadline fails it.
  A timed-out job is final, not retried: work that ran out of time once would again.
* :func:`complete` and :func:`fail` only change the attempt they are given (same status
  ``running`` and attempt count), so a worker that finishes after its job was failed or
  re-claimed by someone else changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from reos.db.session import system_session
from reos.errors import NotFound, ReosError
from reos.models.jobs import Job

DEFAULT_LEASE_SECONDS = 300
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_TIME_LIMIT_SECONDS = 900
RETRY_BACKOFF_SECONDS = 30
TIME_LIMIT_SETTING = "REOS_JOB_TIME_LIMIT_S"


class JobTimedOut(ReosError):
    """Raised inside a job at a progress report past its deadline; the job fails, final."""

    status_code = 504
    code = "job_timed_out"


def time_limit_message(limit_s: float) -> str:
    return (
        f"The job ran longer than {limit_s:g} s ({TIME_LIMIT_SETTING}) and was stopped; "
        "it will not be tried again. Split the work (a smaller file) or ask an "
        "administrator to raise the limit, then start it again."
    )


@dataclass(frozen=True)
class ClaimedJob:
    id: uuid.UUID
    org_id: uuid.UUID
    kind: str
    payload: dict[str, Any]
    attempts: int
    deadline_at: datetime


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes for timezone columns; they were stored in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


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


def get_job(session: Session, job_id: uuid.UUID, *, kind: str | None = None) -> Job:
    """A job of the session's organisation (another organisation's job looks absent)."""
    stmt = select(Job).where(Job.id == job_id)
    if kind is not None:
        stmt = stmt.where(Job.kind == kind)
    job = session.scalars(stmt).first()
    if job is None:
        raise NotFound(f"job {job_id} not found", field="job_id")
    return job


def find_active(session: Session, kind: str) -> Job | None:
    """The session's organisation's queued or running job of this kind, if any."""
    return session.scalars(
        select(Job)
        .where(Job.kind == kind, Job.status.in_(["queued", "running"]))
        .order_by(Job.created_at)
        .limit(1)
    ).first()


def claim(
    engine: Engine | None = None,
    *,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    time_limit_s: float = DEFAULT_TIME_LIMIT_SECONDS,
    max_running_per_org: int = 0,
) -> ClaimedJob | None:
    """Take the next runnable job (fairly across organisations), or None when none waits."""
    while True:
        with system_session(engine) as session:
            now = _now()
            runnable = or_(
                and_(Job.status == "queued", Job.run_after <= now),
                and_(Job.status == "running", Job.lease_until < now),
            )
            others = aliased(Job)
            running_in_org = (
                select(func.count())
                .select_from(others)
                .where(
                    others.org_id == Job.org_id,
                    others.status == "running",
                    others.lease_until >= now,
                )
                .correlate(Job)
                .scalar_subquery()
            )
            stmt = select(Job).where(runnable)
            if max_running_per_org > 0:
                stmt = stmt.where(running_in_org < max_running_per_org)
            stmt = stmt.order_by(running_in_org, Job.run_after, Job.created_at, Job.id).limit(1)
            if session.get_bind().dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True, of=Job)
            job = session.scalars(stmt).first()
            if job is None:
                return None
            if job.status == "running" and job.deadline_at is not None:
                if _aware(job.deadline_at) <= now:
                    # its worker hung past the time limit and then went away
                    limit = time_limit_s
                    if job.started_at is not None:
                        ran = _aware(job.deadline_at) - _aware(job.started_at)
                        limit = ran.total_seconds() if ran.total_seconds() > 0 else limit
                    _close(job, "failed", time_limit_message(round(limit)))
                    continue
            if not isinstance(job.payload, dict):
                _close(
                    job,
                    "failed",
                    "The job's details could not be read (they are not a JSON object); "
                    "it was not run. Start the work again.",
                )
                continue
            if job.attempts >= max_attempts:
                # its lease ran out on the last allowed attempt: the worker died every time
                _close(
                    job,
                    "failed",
                    f"The job was started {job.attempts} times and each time its worker "
                    "stopped before finishing (the process ended or lost its database); "
                    "it will not be tried again.",
                )
                continue
            deadline = now + timedelta(seconds=time_limit_s)
            taken = session.execute(
                update(Job)
                .where(Job.id == job.id, Job.status == job.status, Job.attempts == job.attempts)
                .values(
                    status="running",
                    attempts=Job.attempts + 1,
                    lease_until=min(now + timedelta(seconds=lease_seconds), deadline),
                    started_at=now,
                    deadline_at=deadline,
                )
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                continue  # another worker took it between our read and our write
            return ClaimedJob(
                job.id, job.org_id, job.kind, dict(job.payload), job.attempts + 1, deadline
            )


def _close(job: Job, status: str, message: str) -> None:
    job.status = status
    job.error = message
    job.lease_until = None


def _mine(job: ClaimedJob) -> Any:
    """The row is still this attempt's: nobody failed or re-claimed it meanwhile."""
    return and_(Job.id == job.id, Job.status == "running", Job.attempts == job.attempts)


def extend_lease(
    job: ClaimedJob, engine: Engine | None = None, *, lease_seconds: float = DEFAULT_LEASE_SECONDS
) -> bool:
    """Heartbeat of a running job: push its lease forward (never past its deadline) so
    nobody re-claims it. False when the job is no longer this attempt's."""
    until = min(_now() + timedelta(seconds=lease_seconds), job.deadline_at)
    with system_session(engine) as session:
        done = session.execute(
            update(Job)
            .where(_mine(job))
            .values(lease_until=until)
            .execution_options(synchronize_session=False)
        )
        return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def complete(job: ClaimedJob, engine: Engine | None = None) -> bool:
    """Mark this attempt done; False (nothing changed) when it was failed or re-claimed."""
    with system_session(engine) as session:
        done = session.execute(
            update(Job)
            .where(_mine(job))
            .values(status="done", lease_until=None, error=None)
            .execution_options(synchronize_session=False)
        )
        return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def fail(job: ClaimedJob, message: str, *, final: bool, engine: Engine | None = None,
         max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> str:  # fmt: skip
    """Record a failure: retried later (status queued) unless final or out of attempts.
    Returns the new status."""
    status = "failed" if final or job.attempts >= max_attempts else "queued"
    with system_session(engine) as session:
        session.execute(
            update(Job)
            .where(_mine(job))
            .values(
                status=status,
                lease_until=None,
                error=message.replace("\x00", "")[:4000],
                run_after=_now() + timedelta(seconds=RETRY_BACKOFF_SECONDS * job.attempts),
            )
            .execution_options(synchronize_session=False)
        )
    return status
