"""The pipeline's API (runs, one run per stage, queueing a run as a job; another
organisation's run is 404) and the daily schedule (enqueued once per period by however
many workers, run once a day)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from reos.db.session import tenant_session
from reos.frontdoor import Schedule
from reos.jobs.schedules import Scheduler
from reos.jobs.worker import Worker
from reos.models import Deal, Job, PipelineRun
from reos.pipeline import DAILY_CHECK_SECONDS, service
from reos.pipeline.stages import STAGE_NAMES


def _work_jobs() -> None:
    Worker(scheduler=Scheduler(schedules=[]), poll_seconds=0.01).run(burst=True)


def test_queue_a_run_follow_it_and_read_it(
    client: Any, world: dict[str, Any], other_org: Any
) -> None:
    org = world["org"]
    empty = client.get("/api/v1/pipeline/runs", headers=org.headers())
    assert empty.status_code == 200 and empty.json()["total"] == 0
    queued = client.post("/api/v1/pipeline/runs", json={}, headers=org.headers())
    assert queued.status_code == 202, queued.text
    job_id = uuid.UUID(queued.json()["job_id"])
    _work_jobs()
    with tenant_session(org.id) as session:
        assert session.get(Job, job_id).status == "done"  # type: ignore[union-attr]
    runs = client.get("/api/v1/pipeline/runs", headers=org.headers()).json()
    assert runs["total"] == 1
    run = runs["items"][0]
    assert run["status"] == "done" and run["trigger"] == "api"
    assert run["properties_total"] == len(world["files"].parcels)
    assert len(run["top_deals"]) == 20
    detail = client.get(f"/api/v1/pipeline/runs/{run['id']}", headers=org.headers())
    assert detail.status_code == 200
    stages = detail.json()["stages"]
    assert [s["stage"] for s in stages] == list(STAGE_NAMES)
    for s in stages:
        assert s["chunks"] == s["chunks_done"] and s["seconds"] >= 0 and s["errors"] == []
    # another organisation sees neither the run nor its list
    foreign = client.get(f"/api/v1/pipeline/runs/{run['id']}", headers=other_org.headers())
    assert foreign.status_code == 404
    assert client.get("/api/v1/pipeline/runs", headers=other_org.headers()).json()["total"] == 0
    # queued again with nothing new: the job does nothing and the run says so
    client.post("/api/v1/pipeline/runs", json={"workers": 2}, headers=org.headers())
    _work_jobs()
    latest = client.get("/api/v1/pipeline/runs", headers=org.headers()).json()["items"][0]
    assert latest["status"] == "nothing_new" and latest["properties_total"] == 0


def test_bad_requests_name_the_field(client: Any, org: Any) -> None:
    bad = client.post("/api/v1/pipeline/runs", json={"workers": 0}, headers=org.headers())
    assert bad.status_code == 422 and "workers" in bad.text
    bad = client.post("/api/v1/pipeline/runs", json={"since": "yesterday"}, headers=org.headers())
    assert bad.status_code == 422 and "since" in bad.text
    missing = client.get(f"/api/v1/pipeline/runs/{uuid.uuid4()}", headers=org.headers())
    assert missing.status_code == 404


def test_two_workers_start_the_daily_run_once(world: dict[str, Any]) -> None:
    org_id = world["org_id"]
    with tenant_session(org_id) as session:
        service.set_daily(session, "06:00")
    daily = (Schedule("pipeline.daily", DAILY_CHECK_SECONDS),)

    def schedulers(at: datetime) -> list[Scheduler]:
        return [Scheduler(daily, organisations=lambda: [org_id], clock=lambda: at)
                for _ in range(2)]  # fmt: skip

    early = datetime(2026, 3, 2, 5, 55, 3, tzinfo=UTC)
    assert sum(s.enqueue_due() for s in schedulers(early)) == 1  # one job per period
    _work_jobs()
    with tenant_session(org_id) as session:
        assert session.scalar(select(func.count(PipelineRun.id))) == 0  # not yet 06:00
    for at in (
        datetime(2026, 3, 2, 6, 0, 1, tzinfo=UTC),
        datetime(2026, 3, 2, 6, 5, 2, tzinfo=UTC),
    ):
        assert sum(s.enqueue_due() for s in schedulers(at)) == 1
        _work_jobs()
    with tenant_session(org_id) as session:
        runs = session.scalars(select(PipelineRun)).all()
        deals = session.scalar(select(func.count(Deal.id)))
    assert [(r.trigger, r.scheduled_for, r.status) for r in runs] == [
        ("schedule", datetime(2026, 3, 2).date(), "done")
    ]
    assert deals == 100
