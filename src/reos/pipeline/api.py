"""Pipeline routes: the runs (per stage: counts, time, errors) and queueing a run."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time
from typing import Annotated

from fastapi import APIRouter, status

from reos.http.deps import ReadSession, WriteSession
from reos.http.errors import error_responses
from reos.http.paging import Offset, limit_query
from reos.models import PipelineRun
from reos.pipeline import service
from reos.pipeline.schemas import QueuedRun, RunDetail, RunOut, RunPage, RunRequest, StageReport

router = APIRouter(prefix="/api/v1", tags=["pipeline"])
ERRORS = error_responses(401, 403, 422, 429)


def to_out(row: PipelineRun) -> RunOut:
    return RunOut(
        id=row.id,
        status=row.status,
        trigger=row.trigger,
        since=row.since,
        properties_total=row.properties_total,
        watermarks=dict(row.watermarks),
        scheduled_for=row.scheduled_for,
        started_at=row.started_at,
        finished_at=row.finished_at,
        top_deals=list((row.summary or {}).get("top_deals", [])),
    )


@router.get("/pipeline/runs", response_model=RunPage, responses=ERRORS)
def list_runs(
    session: ReadSession,
    limit: Annotated[int, limit_query(200)] = 20,
    offset: Offset = 0,
) -> RunPage:
    """The organisation's pipeline runs, newest first."""
    rows, total = service.list_runs(session, limit=limit, offset=offset)
    return RunPage(items=[to_out(r) for r in rows], total=total, limit=limit, offset=offset)


@router.get(
    "/pipeline/runs/{run_id}", response_model=RunDetail, responses=ERRORS | error_responses(404)
)
def get_run(run_id: uuid.UUID, session: ReadSession) -> RunDetail:
    """One run with, per stage, its chunks, the properties handled, skipped and failed
    (with the reasons), the seconds spent and the errors; its top deals once shortlisted.
    Another organisation's run is 404."""
    row = service.get_run(session, run_id)
    reports = [StageReport(**r) for r in service.stage_reports(session, row)]
    return RunDetail(**to_out(row).model_dump(), stages=reports)


@router.post(
    "/pipeline/runs",
    response_model=QueuedRun,
    status_code=status.HTTP_202_ACCEPTED,
    responses=ERRORS,
)
def queue_run(body: RunRequest, session: WriteSession) -> QueuedRun:
    """Queue a run as a background job: the job workers plan it over what changed since
    the last run (or ``since``), or pick up the unfinished one, and work it; ``workers``
    job workers share its chunks. Follow it with ``GET /api/v1/pipeline/runs``."""
    since = None if body.since is None else datetime.combine(body.since, time.min, UTC)
    job_id = service.enqueue_run(session, since=since, workers=body.workers)
    return QueuedRun(job_id=job_id, status="queued")
