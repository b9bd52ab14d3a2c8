"""The pipeline and models pages: runs with per-stage counts, a run's report, starting a
run from the page and following it to the end, the AVM versions' backtest tables and the
deal-score models."""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.web.conftest import check_axe, shot

from reos.db.base import utcnow
from reos.db.session import tenant_session
from reos.flows import county as synthetic
from reos.ingest import service as ingest_service
from reos.models import Job, PipelineRun, ScoreModel
from reos.pipeline import service as pipeline
from reos.valuation import service as valuation

WORLD_SIZE = 150
SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"


@pytest.fixture(scope="module")
def world_files(tmp_path_factory: pytest.TempPathFactory) -> synthetic.World:
    return synthetic.write_world(tmp_path_factory.mktemp("web-world"), WORLD_SIZE, seed=5)


@pytest.fixture
def world(org: Any, world_files: synthetic.World, tmp_path: Path) -> Any:
    """``org`` loaded with a small synthetic county and its trained AVM."""
    copy = tmp_path / "world"
    shutil.copytree(world_files.sales.parent, copy)
    files = synthetic.World(
        copy / "sales.csv",
        copy / "owners.csv",
        {k: copy / p.name for k, p in world_files.lists.items()},
        world_files.parcels,
    )
    synthetic.load_world(org.id, files, chunk_properties=50)
    return org


def _unit(org_id: uuid.UUID) -> Any:
    @contextmanager
    def factory() -> Iterator[Session]:
        with tenant_session(org_id) as session:
            yield session

    return factory


def run_pipeline(org_id: uuid.UUID) -> uuid.UUID:
    with tenant_session(org_id) as session:
        planned = pipeline.plan_run(session)
        run_id = planned.run.id
    pipeline.work_run(_unit(org_id), run_id)
    return run_id


def _fake_run(org_id: uuid.UUID, address: str) -> uuid.UUID:
    """A finished run whose summary names a top deal at ``address`` (a user's string)."""
    with tenant_session(org_id) as session:
        now = utcnow()
        run = PipelineRun(
            status="done", trigger="api", started_at=now, finished_at=now, properties_total=1,
            stages=[], summary={"top_deals": [{"property_id": str(uuid.uuid4()), "score": 88,
                                                "reasons": [address], "address": address,
                                                "estimated_value": 250000}]},
        )  # fmt: skip
        session.add(run)
        session.flush()
        return run.id


def _score_model(org_id: uuid.UUID, reason: str = "activated: beats the default weights") -> None:
    with tenant_session(org_id) as session:
        session.add(
            ScoreModel(
                version="score-lgbm-20261201T000000-abc123", path="/nowhere/model.txt",
                outcome_count=240, holdout_auc=0.781, default_auc=0.702, features=["lists"],
                metrics={"train_rows": 180, "holdout_rows": 60, "positives": 70,
                         "reason": reason},
                is_active=True,
            )
        )  # fmt: skip


# --- server-side ------------------------------------------------------------------------


def test_no_session_is_sent_to_sign_in(client: Any) -> None:
    with TestClient(client.app) as c:
        for path in ("/pipeline", "/models", f"/pipeline/runs/{uuid.uuid4()}"):
            r = c.get(path, follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path
        r = c.post("/pipeline/runs", data={}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_runs_list_counts_per_stage_and_the_report(web_client: Any, world: Any) -> None:
    run_id = run_pipeline(world.id)
    html = web_client.get("/pipeline").text
    row = html.split(f'id="run-{run_id}"')[1].split("</tr>")[0]
    assert "done" in row and f">{WORLD_SIZE}<" in row
    with tenant_session(world.id) as session:
        reports = pipeline.stage_reports(session, pipeline.get_run(session, run_id))
    assert reports
    for report in reports:  # every stage with its processed / skipped / failed
        counts = f"{report['processed']:,} / {report['skipped']:,} / {report['failed']:,}"
        assert f'<span class="stage">{report["stage"]}</span>' in row and counts in row
    r = web_client.get(f"/pipeline/runs/{run_id}")
    assert r.status_code == 200
    for report in reports:
        assert f'<th scope="row">{report["stage"]}</th>' in r.text
    assert "Top deals" in r.text and "/properties/" in r.text
    assert "hx-trigger" not in r.text  # a finished run is not polled


def test_start_run_form_csrf_and_mistakes(web_client: Any, org: Any) -> None:
    assert web_client.post("/pipeline/runs", data={"workers": "1"}).status_code == 403
    r = web_client.post("/pipeline/runs", data={"csrf_token": web_client.csrf, "workers": "0"})
    assert r.status_code == 422 and "workers:" in r.text and 'aria-invalid="true"' in r.text
    with tenant_session(org.id) as session:
        assert session.query(Job).filter(Job.kind == "pipeline.run").count() == 0
    r = web_client.post("/pipeline/runs", data={"csrf_token": web_client.csrf, "workers": "1"},
                        follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    job_id = re.search(r"/pipeline\?job=([0-9a-f-]+)$", r.headers["location"])
    assert job_id
    # the page follows the queued job by polling itself
    html = web_client.get(r.headers["location"]).text
    assert 'hx-trigger="every 1s"' in html and "The run is queued" in html


def test_another_orgs_run_and_job_are_not_shown(web_client: Any, org: Any, other_org: Any) -> None:
    theirs = _fake_run(other_org.id, "1 Their St")
    assert web_client.get(f"/pipeline/runs/{theirs}").status_code == 404
    assert "1 Their St" not in web_client.get("/pipeline").text
    with tenant_session(other_org.id) as session:
        job_id = pipeline.enqueue_run(session)
    html = web_client.get(f"/pipeline?job={job_id}").text
    assert "The run is" not in html and "hx-trigger" not in html


def test_user_strings_render_escaped(web_client: Any, org: Any) -> None:
    evil = "<script>alert(1)</script>"
    run_id = _fake_run(org.id, evil)
    _score_model(org.id, reason=evil)
    for path in (f"/pipeline/runs/{run_id}", "/models"):
        html = web_client.get(path).text
        assert "<script>alert(1)" not in html, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path


def test_models_page_without_models(web_client: Any) -> None:
    html = web_client.get("/models").text
    assert "No valuation model yet" in html and "No deal-score model trained yet" in html


# --- in the browser ---------------------------------------------------------------------


def test_start_a_run_from_the_page_and_follow_it(signed_in: Any, world: Any) -> None:
    page = signed_in(world)
    page.goto("/pipeline")
    assert "No runs yet." in page.inner_text("#runs")
    page.click("button:has-text('Start a run')")
    page.wait_for_url(re.compile(r".*/pipeline\?job=.*"))
    page.wait_for_selector(".job-status.done", timeout=60_000)
    assert "The run finished." in page.inner_text(".job-status")
    with tenant_session(world.id) as session:
        runs, total = pipeline.list_runs(session)
        assert total == 1 and runs[0].status == "done" and runs[0].trigger == "api"
        run_id = runs[0].id
    assert page.locator(f"#run-{run_id} .run-status").inner_text() == "done"
    assert page.get_attribute("#runs", "hx-trigger") is None  # polling stopped
    check_axe(page, context="on the pipeline page")
    shot(page, "pipeline")
    page.click(f"#run-{run_id} a:has-text('Report')")
    page.wait_for_url(f"**/pipeline/runs/{run_id}")
    assert page.locator("#run-report table").first.is_visible()
    check_axe(page, context="on a run's report")


def test_models_page_shows_the_backtest_of_a_trained_model(signed_in: Any, org: Any) -> None:
    ingest_service.import_file(SAMPLES / "sacramento_ca_sales_2008.csv", "sales", org_id=org.id,
                               mapping_path=SAMPLES / "sacramento.mapping.yaml")  # fmt: skip
    with tenant_session(org.id) as session:
        valuation.train_model(session)
        model = valuation.list_models(session)[0]
        holdout = dict(model.holdout_metrics)["holdout_metrics"]
        version = model.version
    _score_model(org.id)
    page = signed_in(org)
    page.goto("/deals")
    page.click("nav >> text=Models")
    page.wait_for_url("**/models")
    table = page.locator("table.backtest").first
    assert version in table.locator("caption").inner_text()
    cells = table.locator("tbody tr").first.locator("td")
    assert cells.nth(0).inner_text() == f"{holdout['n']:,.0f}"
    assert cells.nth(1).inner_text() == f"{holdout['mdape'] * 100:.1f}%"
    assert cells.nth(2).inner_text() == f"{holdout['ppe10'] * 100:.1f}%"
    assert "0.781" in page.inner_text("body") and "0.702" in page.inner_text("body")
    check_axe(page, context="on the models page")
    shot(page, "models")
