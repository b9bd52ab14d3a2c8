"""The job queue: enqueue in the caller's transaction, claim, lease expiry, attempts."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from reos.db.session import system_session, tenant_session
from reos.errors import ValidationFailed
from reos.jobs import queue
from reos.jobs.schedules import Scheduler
from reos.jobs.worker import Worker as ScheduledWorker
from reos.models.jobs import Job


def _job(org_id: uuid.UUID, kind: str = "test") -> uuid.UUID:
    with tenant_session(org_id) as s:
        return queue.enqueue(s, kind, {"n": 1}).id


def _status(job_id: uuid.UUID) -> Job:
    with system_session() as s:
        return s.scalars(select(Job).where(Job.id == job_id)).one()


def Worker(**options: Any) -> ScheduledWorker:  # noqa: N802 - stands in for the class
    """A worker that enqueues no schedules (the domains' periodic jobs, such as
    ``crm.deadlines``): these tests count the jobs they queue themselves."""
    return ScheduledWorker(scheduler=Scheduler(schedules=()), **options)


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
    queue.complete(again)
    assert _status(job_id).status == "done"


def test_inprocess_worker_thread_starts_and_stops(org: Any) -> None:
    from types import SimpleNamespace

    from reos.jobs.worker import start_inprocess_worker, stop_inprocess_worker

    app = SimpleNamespace(state=SimpleNamespace())
    worker = start_inprocess_worker(app, poll_seconds=0.05)
    assert worker is not None
    stop_inprocess_worker(app)
    assert app.state.reos_worker is None


def _lease_until(job_id: uuid.UUID) -> datetime:
    lease = _status(job_id).lease_until
    assert lease is not None
    return lease if lease.tzinfo else lease.replace(tzinfo=UTC)


def test_running_job_keeps_its_lease_without_calling_heartbeat(org: Any) -> None:
    """A job that runs for several lease lengths (and never reports progress) keeps its
    lease: nobody re-claims it meanwhile, and its lease_until moves forward."""
    _drain_others()
    job_id = _job(org.id)
    seen: dict[str, Any] = {"claims": []}

    def long_job(org_id: Any, payload: Any, heartbeat: Any) -> None:
        seen["first"] = _lease_until(job_id)
        for _ in range(3):
            time.sleep(1.6)  # 4.8 s in all: more than two lease lengths
            seen["claims"].append(queue.claim(lease_seconds=2))
        seen["last"] = _lease_until(job_id)

    Worker(handlers={"test": long_job}, lease_seconds=2, time_limit_s=60).run_once()
    assert seen["claims"] == [None, None, None]
    assert (seen["last"] - seen["first"]).total_seconds() >= 2.0
    job = _status(job_id)
    assert (job.status, job.attempts) == ("done", 1)


def test_claim_prefers_the_organisation_with_fewest_running_jobs(org: Any, other_org: Any) -> None:
    _drain_others()
    a_jobs = [_job(org.id) for _ in range(5)]
    b_job = _job(other_org.id)  # enqueued last
    first = queue.claim()
    assert first is not None and first.id == a_jobs[0]  # nobody runs anything: oldest first
    second = queue.claim()
    assert second is not None and second.id == b_job  # A already runs one, B none
    third = queue.claim()
    assert third is not None and third.id == a_jobs[1]  # one each: oldest first again


def test_cap_on_running_jobs_per_organisation(org: Any, other_org: Any) -> None:
    _drain_others()
    a_jobs = [_job(org.id) for _ in range(3)]
    first = queue.claim(max_running_per_org=2)
    second = queue.claim(max_running_per_org=2)
    assert first is not None and second is not None
    assert {first.id, second.id} == set(a_jobs[:2])
    assert queue.claim(max_running_per_org=2) is None  # A is at its cap; nothing else waits
    b_job = _job(other_org.id)
    third = queue.claim(max_running_per_org=2)
    assert third is not None and third.id == b_job
    queue.complete(first)
    fourth = queue.claim(max_running_per_org=2)
    assert fourth is not None and fourth.id == a_jobs[2]


def test_time_limit_stops_the_job_at_its_next_progress_report(org: Any) -> None:
    _drain_others()
    job_id = _job(org.id)
    chunks: list[int] = []

    def chunked(org_id: Any, payload: Any, heartbeat: Any) -> None:
        for i in range(40):
            time.sleep(0.1)
            heartbeat()  # the import calls this after every chunk
            chunks.append(i)

    Worker(handlers={"test": chunked}, time_limit_s=1).run_once()
    job = _status(job_id)
    assert job.status == "failed" and job.attempts == 1 and job.lease_until is None
    assert "ran longer than 1 s" in (job.error or "") and "REOS_JOB_TIME_LIMIT_S" in (
        job.error or ""
    )
    assert 5 <= len(chunks) <= 12  # stopped about 1 s in, not after all 40 chunks
    # final: a timed-out job is not tried again
    with system_session() as s:
        s.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(run_after=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert queue.claim() is None


def test_job_past_its_time_limit_with_a_dead_worker_is_not_rerun(org: Any) -> None:
    _drain_others()
    job_id = _job(org.id)
    claimed = queue.claim(lease_seconds=60, time_limit_s=900)
    assert claimed is not None and claimed.id == job_id
    past = datetime.now(UTC) - timedelta(seconds=1)
    with system_session() as s:  # the worker hung past its limit, then died
        s.execute(update(Job).where(Job.id == job_id).values(lease_until=past, deadline_at=past))
    assert queue.claim() is None
    job = _status(job_id)
    assert job.status == "failed" and "ran longer than" in (job.error or "")


def test_stuck_job_loses_its_lease_after_the_time_limit(org: Any) -> None:
    """A handler that never reports progress is not kept alive past its time limit: the
    heartbeat stops, the lease runs out, the next claim fails the job, and the stuck
    worker's late finish does not overwrite that."""
    _drain_others()
    job_id = _job(org.id)
    seen: list[Any] = []

    def stuck(org_id: Any, payload: Any, heartbeat: Any) -> None:
        time.sleep(3.5)  # limit 1 s + lease 1 s, then some
        seen.append(queue.claim(lease_seconds=1))

    Worker(handlers={"test": stuck}, lease_seconds=1, time_limit_s=1).run_once()
    assert seen == [None]
    job = _status(job_id)
    assert job.status == "failed" and "ran longer than 1 s" in (job.error or "")


def test_worker_survives_a_job_it_cannot_read(org: Any) -> None:
    """A job whose payload is not an object fails with a sentence; the next job runs."""
    _drain_others()
    with tenant_session(org.id) as s:
        bad = queue.enqueue(s, "test", {"n": 1}).id
    with system_session() as s:
        s.execute(update(Job).where(Job.id == bad).values(payload=[1, 2, 3]))
    good = _job(org.id)
    seen: list[Any] = []

    def needs_n(org_id: Any, payload: Any, heartbeat: Any) -> None:
        seen.append(payload["n"])

    worker = Worker(handlers={"test": needs_n})
    assert worker.run(burst=True) == 1
    assert seen == [1]
    assert _status(good).status == "done"
    failed = _status(bad)
    assert failed.status == "failed"
    assert (failed.error or "").startswith("The job's details could not be read")


def test_unexpected_error_is_a_sentence_and_retried(org: Any) -> None:
    _drain_others()
    job_id = _job(org.id)

    def bug(org_id: Any, payload: Any, heartbeat: Any) -> None:
        raise KeyError("import_id")

    Worker(handlers={"test": bug}, max_attempts=2).run_once()
    job = _status(job_id)
    assert job.status == "queued"
    assert job.error == (
        "The job stopped on an unexpected error (KeyError: 'import_id'); "
        "it will be tried again in 30 s."
    )


def test_unknown_kind_fails_with_a_sentence(org: Any) -> None:
    _drain_others()
    job_id = _job(org.id, kind="no-such-kind")
    Worker(handlers={}).run_once()
    job = _status(job_id)
    assert job.status == "failed" and "'no-such-kind'" in (job.error or "")
    assert "not known" in (job.error or "")


def test_default_handlers_come_from_the_registry() -> None:
    from reos.jobs.registry import handlers

    assert {"import", "avm_train"} <= set(handlers())
