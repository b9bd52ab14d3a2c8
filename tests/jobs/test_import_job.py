"""The import job under the worker's time limit: stopped at a chunk boundary, with the
reason on both the job and the import, the chunks before it kept."""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from reos.db.session import system_session
from reos.jobs.worker import Worker
from reos.models.jobs import Job
from tests.ingest.helpers import SALES_HEADER, sale_row, write_csv


def _job_row(job_id: uuid.UUID) -> Job:
    with system_session() as s:
        return s.scalars(select(Job).where(Job.id == job_id)).one()


def test_import_past_its_time_limit_stops_after_a_chunk(
    client: Any, org: Any, tmp_path: Path
) -> None:
    data = write_csv(tmp_path / "up.csv", SALES_HEADER, [sale_row(i) for i in range(1, 7)])
    r = client.post(
        "/api/v1/imports",
        files={"file": ("sales.csv", io.BytesIO(data.read_bytes()), "text/csv")},
        data={"entity": "sales"},
        headers=org.headers(),
    )
    assert r.status_code == 202, r.text
    job_id = uuid.UUID(r.json()["job_id"])
    with system_session() as s:  # two rows per chunk: three chunks
        s.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(payload={"import_id": r.json()["import_id"], "chunk_rows": 2})
        )
    with system_session() as s:  # only this job runs
        s.execute(
            update(Job)
            .where(Job.status.in_(["queued", "running"]), Job.id != job_id)
            .values(status="failed", error="cleared by test")
        )
    Worker(time_limit_s=0.001).run_once()  # the deadline has passed by the first chunk's end
    job = _job_row(job_id)
    assert job.status == "failed" and "ran longer than 0.001 s" in (job.error or "")
    body = client.get(f"/api/v1/imports/{r.json()['import_id']}", headers=org.headers()).json()
    assert body["status"] == "failed" and body["error"] == job.error
    assert body["inserted"] == 2  # the chunk before the deadline stays committed
