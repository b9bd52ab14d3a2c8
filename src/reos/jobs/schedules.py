"""Periodic work: each domain's ``Domain.schedules``, enqueued by the job workers.

A :class:`~reos.frontdoor.Schedule` says "enqueue a ``job_kind`` job every
``every_seconds``". Periods are aligned to the Unix epoch in UTC (a daily schedule's
period starts at 00:00 UTC; an hourly one on the hour), so every worker on every machine
computes the same period from its clock. The job is enqueued once per period *for each
organisation* (a job belongs to one organisation and its handler works inside it).

Every worker checks on each poll of its loop which schedules have entered a new period
(:meth:`Scheduler.enqueue_due`); several workers on several machines see a period begin
at the same moment. Each then writes, per organisation and in one transaction, a
``schedule_runs`` row keyed by (organisation, schedule, period start) and the period's
job: the unique key lets exactly one of those transactions commit, the others roll back
with nothing written, so a period's job exists once, on SQLite and PostgreSQL alike. A
worker that was down for a whole period does not catch up on it: the next period is
enqueued, not every missed one (periodic work is "refresh now", not a backlog).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from reos.db.session import system_session, tenant_session
from reos.frontdoor import Schedule
from reos.jobs import queue
from reos.models import ScheduleRun

log = logging.getLogger("reos.jobs")

Clock = Callable[[], datetime]


def declared_schedules() -> tuple[Schedule, ...]:
    """Every schedule of every domain in :data:`reos.domains.DOMAINS`."""
    from reos.domains import schedules

    return schedules()


def period_start(schedule: Schedule, now: datetime) -> datetime:
    """The start of the period ``now`` falls in: a multiple of ``every_seconds`` since
    1970-01-01 00:00 UTC."""
    seconds = int(now.timestamp())
    return datetime.fromtimestamp(seconds - seconds % schedule.every_seconds, UTC)


def organisation_ids(engine: Engine | None = None) -> list[uuid.UUID]:
    """Every organisation a schedule is enqueued for."""
    from reos.accounts import service as accounts

    with system_session(engine) as session:
        return [org.id for org in accounts.list_organizations(session)]


class Scheduler:
    """Enqueues each due schedule's job once per period and organisation.

    ``schedules`` defaults to every domain's; ``organisations`` to every organisation in
    the store (read when a period begins); ``clock`` to the UTC wall clock."""

    def __init__(
        self,
        schedules: Sequence[Schedule] | None = None,
        *,
        engine: Engine | None = None,
        organisations: Callable[[], Iterable[uuid.UUID]] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.schedules = tuple(declared_schedules() if schedules is None else schedules)
        kinds = [s.job_kind for s in self.schedules]
        twice = {k for k in kinds if kinds.count(k) > 1}
        if twice:
            raise RuntimeError(f"job kind(s) scheduled twice: {', '.join(sorted(twice))}")
        self.engine = engine
        self.organisations = organisations or (lambda: organisation_ids(self.engine))
        self.clock = clock or (lambda: datetime.now(UTC))
        self._done: dict[str, datetime] = {}  # the last period this worker saw through
        self._lock = threading.Lock()

    def enqueue_due(self) -> int:
        """Enqueue the jobs of every schedule whose current period this worker has not
        seen through yet; the number of jobs this worker enqueued (others may have
        enqueued the rest). Cheap when nothing is due: no database work at all."""
        if not self.schedules:
            return 0
        now = self.clock()
        due = [
            (schedule, start)
            for schedule in self.schedules
            if self._done.get(schedule.job_kind) != (start := period_start(schedule, now))
        ]
        if not due:
            return 0
        with self._lock:
            enqueued = 0
            orgs = list(self.organisations())
            for schedule, start in due:
                for org_id in orgs:
                    enqueued += self._enqueue_once(schedule, start, org_id)
                self._done[schedule.job_kind] = start
            return enqueued

    def _enqueue_once(self, schedule: Schedule, start: datetime, org_id: uuid.UUID) -> int:
        """1 if this worker enqueued the period's job for ``org_id``, 0 if another had."""
        key = (ScheduleRun.schedule == schedule.job_kind, ScheduleRun.period_start == start)
        try:
            with tenant_session(org_id, self.engine) as session:
                if session.scalar(select(ScheduleRun.id).where(*key)) is not None:
                    return 0
                job = queue.enqueue(session, schedule.job_kind, {"period_start": start.isoformat()})
                session.add(ScheduleRun(schedule=schedule.job_kind, period_start=start,
                                        job_id=job.id))  # fmt: skip
                session.flush()
        except IntegrityError:  # another worker committed this period first
            return 0
        log.info(
            "scheduled %s for organisation %s (period from %s)",
            schedule.job_kind,
            org_id,
            start.isoformat(),
        )
        return 1
