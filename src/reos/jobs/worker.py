"""The job worker: ``reos worker`` in its own process, or a thread inside the API process.

Handlers are looked up by the job's ``kind``; each gets the organisation id, the payload
and a ``heartbeat`` callable that extends the job's lease (long imports call it per
chunk). Use ``start_inprocess_worker(app)`` in the FastAPI lifespan for the embedded
default and ``stop_inprocess_worker(app)`` on shutdown.
"""

from __future__ import annotations

import logging
import threading
import traceback
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from reos.errors import ReosError
from reos.jobs import queue

log = logging.getLogger("reos.jobs")

Handler = Callable[[uuid.UUID, dict[str, Any], Callable[[], None]], None]


def default_handlers() -> dict[str, Handler]:
    from reos.ingest.service import run_import_job

    return {"import": run_import_job}


class Worker:
    def __init__(
        self,
        *,
        engine: Engine | None = None,
        handlers: dict[str, Handler] | None = None,
        poll_seconds: float = 1.0,
        lease_seconds: int = queue.DEFAULT_LEASE_SECONDS,
        max_attempts: int = queue.DEFAULT_MAX_ATTEMPTS,
    ) -> None:
        self.engine = engine
        self.handlers = handlers if handlers is not None else default_handlers()
        self.poll_seconds = poll_seconds
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.stop_event = threading.Event()

    def run_once(self) -> bool:
        """Claim and run one job; False when none was waiting."""
        job = queue.claim(
            self.engine, lease_seconds=self.lease_seconds, max_attempts=self.max_attempts
        )
        if job is None:
            return False
        handler = self.handlers.get(job.kind)
        if handler is None:
            queue.fail(job, f"no handler for job kind {job.kind!r}", final=True, engine=self.engine)
            return True

        def heartbeat() -> None:
            queue.extend_lease(job.id, self.engine, lease_seconds=self.lease_seconds)

        try:
            handler(job.org_id, job.payload, heartbeat)
        except ReosError as exc:
            queue.fail(job, exc.message, final=True, engine=self.engine)
            log.info("job %s (%s) failed: %s", job.id, job.kind, exc.message)
        except Exception as exc:
            status = queue.fail(
                job,
                f"{type(exc).__name__}: {exc}",
                final=False,
                engine=self.engine,
                max_attempts=self.max_attempts,
            )
            log.error(
                "job %s (%s) failed (%s): %s", job.id, job.kind, status, traceback.format_exc()
            )
        else:
            queue.complete(job.id, self.engine)
        return True

    def run(self, *, burst: bool = False) -> int:
        """Run jobs until stopped (or, with ``burst``, until none is waiting)."""
        count = 0
        while not self.stop_event.is_set():
            if self.run_once():
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
