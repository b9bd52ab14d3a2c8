"""The job queue: enqueue in the caller's transaction, claim, lease expiry, attempts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from reos.db.session import system_session, tenant_session
from reos.errors import ValidationFailed
from reos.jobs import queue
from reos.jobs.worker import Worker
from reos.models.jobs import Job


def _job(org_id: uuid.UUID, kind: str = "test") -> uuid.UUID:
    with tenant_session(org_id) as s:
        return queue.enqueue(s, kind, {"n": 1}).id


def _status(job_id: uuid.UUID) -> Job:
    with system_session() as s:
        return s.scalars(select(Job).where(Job.id == job_id)).one()


def _drain_others() -> None:
    """Leave only this test's jobs runnable (other tests may have left queued ones)."""
    with system_session() as s:
        s.execute(
            update(Job)
            .where(Job.status.in_(["queued", "running"]))
            .values(status="failed", error="cleared by test")
        )


def test_rolled_back_enqueue_leaves_no_job(org: Any) -> None:
    job_id = None
    try:
        with tenant_session(org.id) as s:
            job_id = queue.enqueue(s, "test", {}).id
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    with system_session() as s:
        assert s.scalars(select(Job).where(Job.id == job_id)).first() is None


def test_jobs_of_several_orgs_run_in_their_org(org: Any, other_org: Any) -> None:
    _drain_others()
    seen: list[uuid.UUID] = []
    a, b = _job(org.id), _job(other_org.id)
    worker = Worker(handlers={"test": lambda org_id, payload, hb: seen.append(org_id)})
    assert worker.run(burst=True) == 2
    assert sorted(seen) == sorted([org.id, other_org.id])
    assert _status(a).status == "done" and _status(b).status == "done"
    assert _status(a).attempts == 1


def test_user_error_fails_at_once_bug_is_retried(org: Any) -> None:
    _drain_others()
    job_id = _job(org.id)

    def bad_input(org_id: Any, payload: Any, hb: Any) -> None:
        raise ValidationFailed("column X missing")

    Worker(handlers={"test": bad_input}).run_once()
    job = _status(job_id)
    assert (job.status, job.error) == ("failed", "column X missing")
    job_id = _job(org.id)

    def bug(org_id: Any, payload: Any, hb: Any) -> None:
        raise KeyError("oops")

    Worker(handlers={"test": bug}, max_attempts=2).run_once()
    job = _status(job_id)
    assert job.status == "queued" and "KeyError" in (job.error or "") and job.attempts == 1
    with system_session() as s:
        s.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(run_after=datetime.now(UTC) - timedelta(seconds=1))
        )
    Worker(handlers={"test": bug}, max_attempts=2).run_once()
    assert _status(job_id).status == "failed" and _status(job_id).attempts == 2


def test_expired_lease_is_reclaimed(org: Any) -> None:
    _drain_others()
    job_id = _job(org.id)
    claimed = queue.claim(lease_seconds=60)
    assert claimed is not None and claimed.id == job_id
    assert queue.claim() is None  # leased: nobody else takes it
    with system_session() as s:  # the worker died; its lease runs out
        s.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(lease_until=datetime.now(UTC) - timedelta(seconds=1))
        )
    again = queue.claim()
    assert again is not None and again.id == job_id and again.attempts == 2
    queue.complete(job_id)
    assert _status(job_id).status == "done"


def test_heartbeat_extends_lease(org: Any) -> None:
    _drain_others()
    job_id = _job(org.id)
    leases: list[datetime | None] = []

    def slow(org_id: Any, payload: Any, heartbeat: Any) -> None:
        leases.append(_status(job_id).lease_until)
        heartbeat()
        leases.append(_status(job_id).lease_until)

    Worker(handlers={"test": slow}, lease_seconds=5).run_once()
    assert leases[0] is not None and leases[1] is not None and leases[1] >= leases[0]


def test_inprocess_worker_thread_starts_and_stops(org: Any) -> None:
    from types import SimpleNamespace

    from reos.jobs.worker import start_inprocess_worker, stop_inprocess_worker

    app = SimpleNamespace(state=SimpleNamespace())
    worker = start_inprocess_worker(app, poll_seconds=0.05)
    assert worker is not None
    stop_inprocess_worker(app)
    assert app.state.reos_worker is None
