"""Pipeline and models: the last pipeline runs with their per-stage counts, one run's
report (per stage: chunks, properties handled, skipped and failed, seconds, errors and
reasons), starting a run (a background job, as ``POST /api/v1/pipeline/runs`` queues it)
and following it while it runs (htmx polling); the AVM model versions with their holdout
backtest metrics, overall and per market, and the deal-score models with theirs.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from reos.accounts.auth import Permission
from reos.dealflow import service as dealflow
from reos.errors import NotFound
from reos.jobs import queue
from reos.pipeline import service as pipeline
from reos.pipeline.schemas import RunRequest
from reos.valuation import service as valuation
from reos.web.context import EditPage, Page, PageContext
from reos.web.render import is_htmx, render

router = APIRouter(include_in_schema=False)

#: Runs listed on the pipeline page (newest first).
RUNS_SHOWN = 20
#: Seconds between two looks at a running run.
POLL_SECONDS = 1
RUN_JOB = "pipeline.run"


def _job(page: PageContext, job_id: uuid.UUID | None) -> Any:
    if job_id is None:
        return None
    try:
        return queue.get_job(page.session, job_id, kind=RUN_JOB)
    except NotFound:
        return None


def _runs_context(page: PageContext, job_id: uuid.UUID | None) -> dict[str, Any]:
    runs, total = pipeline.list_runs(page.session, limit=RUNS_SHOWN)
    totals = pipeline.stage_totals(page.session, [r.id for r in runs])
    job = _job(page, job_id)
    active = (job is not None and job.status in ("queued", "running")) or any(
        r.status == "running" for r in runs
    )
    return {
        "runs": runs,
        "total": total,
        "totals": totals,
        "job": job,
        "job_id": job_id,
        "active": active,
        "poll": POLL_SECONDS,
    }


@router.get("/pipeline")
def pipeline_page(request: Request, page: Page, job: uuid.UUID | None = None) -> Response:
    context = _runs_context(page, job)
    if is_htmx(request):
        return render(request, "pipeline/_runs.html", context)
    context["can_run"] = page.may(Permission.DATA_WRITE)
    context["form"] = {"since": "", "workers": "1"}
    return render(request, "pipeline/index.html", context)


def _is_day(text: str) -> bool:
    try:
        date.fromisoformat(text.strip())
    except ValueError:
        return not text.strip()
    return True


def _refused(
    request: Request, page: PageContext, form: dict[str, str], field: str, problem: str
) -> Response:
    context = _runs_context(page, None)
    context.update(can_run=True, form=form, error=f"{field}: {problem}", error_field=field)
    return render(request, "pipeline/index.html", context, status_code=422)


@router.post("/pipeline/runs")
def start_run(
    request: Request,
    page: EditPage,
    since: Annotated[str | None, Form(max_length=20)] = None,
    workers: Annotated[str | None, Form(max_length=5)] = None,
) -> Response:
    """Queue a run as the API does; the page then follows it."""
    form = {"since": since or "", "workers": workers or "1"}
    try:
        values = {
            "since": date.fromisoformat(since.strip()) if since and since.strip() else None,
            "workers": int((workers or "1").strip()),
        }
    except ValueError:
        field = "workers" if since is None or _is_day(since) else "since"
        return _refused(request, page, form, field, "use a day (YYYY-MM-DD) and a whole number")
    try:
        body = RunRequest.model_validate(values)
    except ValidationError as invalid:
        problem = invalid.errors()[0]
        field = str(problem["loc"][0]) if problem.get("loc") else ""
        return _refused(request, page, form, field, str(problem["msg"]))
    day = None if body.since is None else datetime.combine(body.since, time.min, UTC)
    job_id = pipeline.enqueue_run(page.session, since=day, workers=body.workers)
    return RedirectResponse(f"/pipeline?job={job_id}", status_code=303)


@router.get("/pipeline/runs/{run_id}")
def run_detail(request: Request, run_id: uuid.UUID, page: Page) -> Response:
    run = pipeline.get_run(page.session, run_id)  # another organisation's run: 404
    reports = pipeline.stage_reports(page.session, run)
    context = {
        "run": run,
        "reports": reports,
        "progress": pipeline.progress_of(page.session, run.id) if run.status == "running" else [],
        "top_deals": list((run.summary or {}).get("top_deals", [])),
        "poll": POLL_SECONDS,
    }
    if is_htmx(request):
        return render(request, "pipeline/_run.html", context)
    return render(request, "pipeline/run.html", context)


# --- models -----------------------------------------------------------------------------

#: The holdout metrics a valuation model stores, in the order and words the page shows.
HOLDOUT_COLUMNS = [
    ("n", "Sales valued out of sample", "num"),
    ("mdape", "Median absolute % error (MdAPE)", "pct"),
    ("ppe10", "Within 10% of the price (PPE10)", "pct"),
    ("folds", "Folds", "num"),
    ("time_ordered", "Out of time", "yes"),
]


def _segments(metadata: dict[str, Any]) -> list[dict[str, Any]]:
    """The model's backtest rows: the whole organisation, then each market (segment)
    when the model has more than one."""
    rows = [
        {
            "segment": "All sales",
            "metrics": dict(metadata.get("holdout_metrics") or {}),
            "rows": dict(metadata.get("rows") or {}),
            "window": metadata.get("training_window") or [],
            "slope": metadata.get("calibration_slope"),
            "blend": metadata.get("blend_weights") or {},
        }
    ]
    markets = metadata.get("markets") or {}
    if len(markets) > 1:
        for name, market in markets.items():
            rows.append(
                {
                    "segment": f"Market {name}",
                    "metrics": dict(market.get("holdout_metrics") or {}),
                    "rows": dict(market.get("rows") or {}),
                    "window": market.get("training_window") or [],
                    "slope": market.get("calibration_slope"),
                    "blend": market.get("blend_weights") or {},
                }
            )
    return rows


@router.get("/models")
def models(request: Request, page: Page) -> Response:
    avm = [
        {"model": m, "segments": _segments(dict(m.holdout_metrics or {})),
         "meta": dict(m.holdout_metrics or {})}
        for m in valuation.list_models(page.session)
    ]  # fmt: skip
    scores = list(dealflow.list_models(page.session))
    return render(
        request,
        "pipeline/models.html",
        {"avm": avm, "scores": scores, "columns": HOLDOUT_COLUMNS},
    )
