"""The pipeline's background jobs: a run queued through the API, extra workers joining a
run, and the daily schedule (``reos pipeline schedule --daily HH:MM``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from reos.jobs.registry import Checkpoint, register


@contextmanager
def _unit(org_id: uuid.UUID) -> Iterator[Session]:
    from reos.db.session import tenant_session

    with tenant_session(org_id) as session:
        yield session


def _work(org_id: uuid.UUID, run_id: uuid.UUID, checkpoint: Checkpoint) -> None:
    from reos.pipeline import service

    service.work_run(lambda: _unit(org_id), run_id, checkpoint=checkpoint)


def _start(org_id: uuid.UUID, planned: Any, workers: int, checkpoint: Checkpoint) -> None:
    """Let ``workers - 1`` other job workers join the planned run, then work it here."""
    from reos.jobs import queue

    if planned is None or planned.nothing_new:
        return
    run_id = planned.run.id
    if workers > 1:
        with _unit(org_id) as session:
            for _ in range(workers - 1):
                queue.enqueue(session, "pipeline.work", {"run_id": str(run_id)})
    _work(org_id, run_id, checkpoint)


@register("pipeline.run")
def run(org_id: uuid.UUID, payload: dict[str, Any], checkpoint: Checkpoint) -> None:
    """Plan a run (or pick up the unfinished one) and work it to the end. Re-run after a
    crash, it resumes the same run: the chunks done stay done."""
    from reos.pipeline import service

    since = service.parse_since(payload.get("since"))
    with _unit(org_id) as session:
        planned = service.plan_run(session, since=since, trigger="api")
    _start(org_id, planned, int(payload.get("workers", 1) or 1), checkpoint)


@register("pipeline.work")
def work(org_id: uuid.UUID, payload: dict[str, Any], checkpoint: Checkpoint) -> None:
    """Join a run: take its chunks until none is left."""
    _work(org_id, uuid.UUID(str(payload["run_id"])), checkpoint)


@register("pipeline.daily")
def daily(org_id: uuid.UUID, payload: dict[str, Any], checkpoint: Checkpoint) -> None:
    """Every few minutes (once per period, whatever the number of workers): start the
    organisation's daily run when its time has come (at the period's start, UTC) and it
    has not run that day; the run's day is unique, so it runs once a day."""
    from reos.pipeline import service

    tick = payload.get("period_start")
    now = datetime.fromisoformat(str(tick)) if tick else datetime.now(UTC)
    with _unit(org_id) as session:
        planned = service.plan_scheduled(session, now)
    _start(org_id, planned, 1, checkpoint)
