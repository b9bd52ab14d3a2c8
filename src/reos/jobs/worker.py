"""The job worker: ``reos worker`` in its own process, or a thread inside the API process.

Handlers are looked up by the job's ``kind`` in :mod:`reos.jobs.registry`. While a
handler runs, a heartbeat thread renews the job's lease every third of the lease, on its
own database connections (a throwaway-connection engine: it never shares a connection
with the job), so a long job is not re-claimed by another worker; the heartbeat stops at
the job's deadline. The handler's ``checkpoint`` stops the job at its next progress
report past the time limit. Use ``start_inprocess_worker(app)`` in the FastAPI lifespan
for the embedded default and ``stop_inprocess_worker(app)`` on shutdown.
"""

from __future__ import annotations

import logging
import threading
import traceback
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.pool import NullPool

from reos.config import get_settings
from reos.errors import ReosError
from reos.jobs import queue, registry
from reos.jobs.registry import Handler
from reos.jobs.schedules import Scheduler

log = logging.getLogger("reos.jobs")


def default_handlers() -> dict[str, Handler]:
    return registry.handlers()


class _Heartbeat:
    """Renews one running job's lease until stopped, the job's deadline, or the job is
    no longer this attempt's (failed or re-claimed elsewhere)."""

    def __init__(self, job: queue.ClaimedJob, engine: Engine, lease_seconds: float) -> None:
        self.job = job
        self.engine = engine
        self.lease_seconds = lease_seconds
        self.stopped = threading.Event()
        self.thread = threading.Thread(
            target=self._beat, name=f"reos-job-heartbeat-{job.id}", daemon=True
        )

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join()

    def _beat(self) -> None:
        interval = max(self.lease_seconds / 3, 0.05)
        while not self.stopped.wait(interval):
            if datetime.now(UTC) >= self.job.deadline_at:
                return  # past its time limit: let the lease run out
            try:
                if not queue.extend_lease(self.job, self.engine, lease_seconds=self.lease_seconds):
                    return
            except Exception:  # the database hiccuped: the lease has slack, beat again
                log.warning("job %s: could not renew its lease", self.job.id, exc_info=True)


class Worker:
    def __init__(
        self,
        *,
        engine: Engine | None = None,
        handlers: dict[str, Handler] | None = None,
        poll_seconds: float = 1.0,
        lease_seconds: float | None = None,
        max_attempts: int = queue.DEFAULT_MAX_ATTEMPTS,
        time_limit_s: float | None = None,
        max_running_per_org: int | None = None,
        scheduler: Scheduler | None = None,
    ) -> None:
        settings = get_settings()
        self.engine = engine
        self.scheduler = scheduler if scheduler is not None else Scheduler(engine=engine)
        self.handlers = handlers if handlers is not None else default_handlers()
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds if lease_seconds is not None else settings.job_lease_s
        self.max_attempts = max_attempts
        self.time_limit_s = time_limit_s if time_limit_s is not None else settings.job_time_limit_s
        self.max_running_per_org = (
            max_running_per_org
            if max_running_per_org is not None
            else settings.job_max_running_per_org
        )
        self.stop_event = threading.Event()
        self._heartbeat_engine: Engine | None = None

    def heartbeat_engine(self) -> Engine:
        """An engine of the worker's database that opens a fresh connection per use."""
        if self._heartbeat_engine is None:
            from reos.db.engine import get_engine, make_engine

            url = (self.engine or get_engine()).url.render_as_string(hide_password=False)
            self._heartbeat_engine = make_engine(url, poolclass=NullPool)
        return self._heartbeat_engine

    def run_once(self) -> bool:
        """Claim and run one job; False when none was waiting."""
        job = queue.claim(
            self.engine,
            lease_seconds=self.lease_seconds,
            max_attempts=self.max_attempts,
            time_limit_s=self.time_limit_s,
            max_running_per_org=self.max_running_per_org,
        )
        if job is None:
            return False
        handler = self.handlers.get(job.kind)
        if handler is None:
            queue.fail(
                job,
                f"This kind of job ({job.kind!r}) is not known to this version of the "
                "application; it was not run.",
                final=True,
                engine=self.engine,
            )
            return True

        def checkpoint() -> None:
            if datetime.now(UTC) >= job.deadline_at:
                raise queue.JobTimedOut(queue.time_limit_message(self.time_limit_s))

        try:
            with _Heartbeat(job, self.heartbeat_engine(), self.lease_seconds):
                handler(job.org_id, job.payload, checkpoint)
        except ReosError as exc:  # bad input or out of time: trying again would not help
            queue.fail(job, exc.message, final=True, engine=self.engine)
            log.info("job %s (%s) failed: %s", job.id, job.kind, exc.message)
        except Exception as exc:
            last = job.attempts >= self.max_attempts
            then = (
                f"it was tried {job.attempts} time(s) and will not be tried again"
                if last
                else f"it will be tried again in {queue.RETRY_BACKOFF_SECONDS * job.attempts} s"
            )
            status = queue.fail(
                job,
                f"The job stopped on an unexpected error ({type(exc).__name__}: {exc}); {then}.",
                final=last,
                engine=self.engine,
                max_attempts=self.max_attempts,
            )
            log.error(
                "job %s (%s) failed (%s): %s", job.id, job.kind, status, traceback.format_exc()
            )
        else:
            if not queue.complete(job, self.engine):
                log.warning("job %s (%s) finished after it was failed or re-claimed", job.id,
                            job.kind)  # fmt: skip
        return True

    def run(self, *, burst: bool = False) -> int:
        """Run jobs until stopped (or, with ``burst``, until none is waiting), enqueueing
        the jobs of due schedules (:mod:`reos.jobs.schedules`) before each claim.

        An error outside a job's handler (the database went away while claiming or
        recording) is logged and the loop goes on after a pause; the job concerned is
        re-claimed when its lease runs out. In ``burst`` mode it is raised instead."""
        count = 0
        while not self.stop_event.is_set():
            try:
                self.scheduler.enqueue_due()
                ran = self.run_once()
            except Exception:
                if burst:
                    raise
                log.exception("worker error; retrying")
                self.stop_event.wait(max(self.poll_seconds, 5.0))
                continue
            if ran:
                count += 1
                continue
            if burst:
                break
            self.stop_event.wait(self.poll_seconds)
        return count

    def stop(self) -> None:
        self.stop_event.set()


_STATE_KEY = "reos_worker"


def start_inprocess_worker(app: Any, *, poll_seconds: float = 1.0) -> Worker:
    """Start a daemon thread running jobs for the embedded (single-process) set-up."""
    worker = Worker(poll_seconds=poll_seconds)

    def loop() -> None:
        while not worker.stop_event.is_set():
            try:
                worker.run()
            except Exception:  # the database went away: keep the thread, try again later
                log.exception("in-process worker error")
                worker.stop_event.wait(max(poll_seconds, 5.0))

    thread = threading.Thread(target=loop, name="reos-worker", daemon=True)
    setattr(app.state, _STATE_KEY, (worker, thread))
    thread.start()
    return worker


def stop_inprocess_worker(app: Any, timeout: float = 10.0) -> None:
    state = getattr(app.state, _STATE_KEY, None)
    if state is None:
        return
    worker, thread = state
    worker.stop()
    thread.join(timeout)
    setattr(app.state, _STATE_KEY, None)
