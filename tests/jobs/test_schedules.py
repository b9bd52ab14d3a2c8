"""Schedules: a domain's periodic job is enqueued once per period and organisation, however
many workers (each with its own engine, as on separate machines) see it due at once."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from reos.db.engine import make_engine
from reos.db.session import system_session
from reos.frontdoor import Schedule
from reos.jobs.schedules import Scheduler, period_start
from reos.jobs.worker import Worker
from reos.models import ScheduleRun
from reos.models.jobs import Job

#: Registered here only, never in production code: no domain has a schedule yet.
TICK = Schedule(job_kind=f"test.tick.{uuid.uuid4().hex[:8]}", every_seconds=3600)


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def engines(database_url: str) -> Iterator[list[Engine]]:
    """Two engines of the test store, each with its own connections: two workers' view."""
    made = [make_engine(database_url) for _ in range(2)]
    yield made
    for engine in made:
        engine.dispose()


def _jobs_of(org_ids: list[uuid.UUID]) -> list[Job]:
    with system_session() as s:
        return list(
            s.scalars(select(Job).where(Job.kind == TICK.job_kind, Job.org_id.in_(org_ids)))
        )


def _drain_others() -> None:
    """Leave only this test's jobs runnable (other tests may have left queued ones)."""
    with system_session() as s:
        s.execute(
            update(Job)
            .where(Job.status.in_(["queued", "running"]))
            .values(status="failed", error="cleared by test")
        )


def test_periods_are_aligned_to_the_epoch_in_utc() -> None:
    hourly, daily = Schedule("x", 3600), Schedule("y", 86_400)
    now = datetime(2026, 12, 4, 20, 47, 13, tzinfo=UTC)
    assert period_start(hourly, now) == datetime(2026, 12, 4, 20, tzinfo=UTC)
    assert period_start(daily, now) == datetime(2026, 12, 4, tzinfo=UTC)
    assert period_start(hourly, now + timedelta(minutes=13)) == datetime(
        2026, 12, 4, 21, tzinfo=UTC
    )


def test_a_schedule_needs_a_period_and_one_kind_is_scheduled_once() -> None:
    with pytest.raises(ValueError, match="every_seconds"):
        Schedule("x", 0)
    with pytest.raises(RuntimeError, match="scheduled twice"):
        Scheduler([Schedule("x", 60), Schedule("x", 120)], organisations=list)


def test_two_workers_enqueue_each_period_once_per_organisation(
    engines: list[Engine], org: Any, other_org: Any
) -> None:
    orgs = [org.id, other_org.id]
    clock = Clock(datetime(2026, 12, 4, 20, 0, 5, tzinfo=UTC))
    schedulers = [
        Scheduler([TICK], engine=engine, organisations=lambda: orgs, clock=clock)
        for engine in engines
    ]
    counts: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(len(schedulers))

    def see_it_due(scheduler: Scheduler) -> None:
        try:
            start.wait()
            counts.append(scheduler.enqueue_due())
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=see_it_due, args=(s,)) for s in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert sum(counts) == 2  # one job per organisation, whichever worker wrote it
    jobs = _jobs_of(orgs)
    assert sorted(j.org_id for j in jobs) == sorted(orgs)
    assert {j.payload["period_start"] for j in jobs} == {"2026-12-04T20:00:00+00:00"}

    # the same period seen again, by either worker, enqueues nothing more
    assert [s.enqueue_due() for s in schedulers] == [0, 0]
    # a worker that has not seen this period through yet (a restart) finds it done too
    fresh = Scheduler([TICK], engine=engines[0], organisations=lambda: orgs, clock=clock)
    assert fresh.enqueue_due() == 0

    clock.now += timedelta(hours=1)  # the next period: once more per organisation
    assert sum(s.enqueue_due() for s in schedulers) == 2
    assert len(_jobs_of(orgs)) == 4
    with system_session() as s:
        runs = s.scalars(select(ScheduleRun).where(ScheduleRun.org_id.in_(orgs))).all()
    assert len(runs) == 4
    assert {r.job_id for r in runs} == {j.id for j in _jobs_of(orgs)}


def test_the_worker_enqueues_due_schedules_and_runs_them(org: Any) -> None:
    _drain_others()
    ran: list[tuple[uuid.UUID, dict[str, Any]]] = []
    clock = Clock(datetime(2026, 12, 5, 9, 30, tzinfo=UTC))
    worker = Worker(
        handlers={TICK.job_kind: lambda org_id, payload, hb: ran.append((org_id, payload))},
        scheduler=Scheduler([TICK], organisations=lambda: [org.id], clock=clock),
    )
    assert worker.run(burst=True) == 1
    assert ran == [(org.id, {"period_start": "2026-12-05T09:00:00+00:00"})]
    assert worker.run(burst=True) == 0  # nothing new within the period
