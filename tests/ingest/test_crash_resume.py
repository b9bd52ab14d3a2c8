"""kill -9 in the middle of a large import, run it again: the same end state as one
uninterrupted run (no duplicates, no missing rows, the report balanced)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import func, select

from reos.db.session import tenant_session
from reos.ingest.synthetic import write_sales_file
from reos.models import Property, Sale
from reos.models.imports import ImportRun, QuarantinedRow

REOS = str(Path(sys.executable).parent / "reos")


def _committed(org_id: Any) -> int:
    with tenant_session(org_id) as s:
        return int(s.scalar(select(func.coalesce(func.max(ImportRun.rows_committed), 0))) or 0)


def test_killed_import_resumes_to_the_same_state(
    tmp_path: Path, org: Any, database_url: str
) -> None:
    path = tmp_path / "big_sales.csv"
    expected = write_sales_file(path, 60_000, repeat_rate=0.6, dirty_rate=0.01, seed=11)
    env = {**os.environ, "REOS_DATABASE_URL": database_url}
    cmd = [REOS, "import", "sales", str(path), "--org", org.slug, "--chunk-rows", "2000", "--json"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while _committed(org.id) == 0 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    first_checkpoint = _committed(org.id)
    workers = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 0 < first_checkpoint < expected.rows, "the import must be killed mid-way"
    _gone, alive = psutil.wait_procs(workers, timeout=15)
    assert alive == [], "the mapping worker of a killed import must end with it"
    with tenant_session(org.id) as s:
        run = s.scalars(select(ImportRun)).one()
        assert run.status == "running" and run.rows_read == run.rows_committed
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "resuming import" not in done.stdout
    report = json.loads(done.stdout)
    assert report["status"] == "done" and report["balanced"]
    assert report["rows_read"] == expected.rows
    assert report["quarantined"] == expected.dirty
    assert report["inserted"] + report["updated"] + report["unchanged"] == expected.sales
    with tenant_session(org.id) as s:
        assert s.scalar(select(func.count()).select_from(ImportRun)) == 1  # resumed, not new
        assert s.scalar(select(func.count()).select_from(Sale)) == expected.sales
        assert s.scalar(select(func.count(func.distinct(Sale.sale_record_id)))) == expected.sales
        assert s.scalar(select(func.count()).select_from(Property)) == expected.properties
        assert (
            s.scalar(select(func.count(func.distinct(Property.parcel_number))))
            == expected.properties
        )
        assert s.scalar(select(func.count()).select_from(QuarantinedRow)) == expected.dirty
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    second = json.loads(again.stdout)
    assert (
        second["unchanged"] == expected.sales and second["inserted"] == 0 and second["updated"] == 0
    )
