"""The embedded set-up runs uploaded imports in a worker thread of the API process."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from reos.app import create_app
from reos.config import Settings

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"


def test_upload_is_processed_by_the_inprocess_worker(engine: Any, org: Any) -> None:
    settings = Settings(
        inprocess_worker=True, rate_limit_ip_per_min=100_000, rate_limit_org_per_min=100_000
    )
    with TestClient(create_app(settings)) as client:
        with (
            open(SAMPLES / "sacramento_ca_sales_2008.csv", "rb") as data,
            open(SAMPLES / "sacramento.mapping.yaml", "rb") as mapping,
        ):
            r = client.post(
                "/api/v1/imports",
                files={
                    "file": ("sac.csv", data, "text/csv"),
                    "mapping": ("m.yaml", mapping, "application/yaml"),
                },
                data={"entity": "sales"},
                headers=org.headers(),
            )
        assert r.status_code == 202, r.text
        import_id = r.json()["import_id"] if "import_id" in r.json() else r.json()["id"]
        deadline = time.monotonic() + 90
        report: dict[str, Any] = {}
        while time.monotonic() < deadline:
            report = client.get(f"/api/v1/imports/{import_id}", headers=org.headers()).json()
            if report["status"] in ("done", "failed"):
                break
            time.sleep(0.5)
    assert report["status"] == "done", report
    assert report["rows_read"] == 932
    assert (
        report["inserted"] + report["updated"] + report["unchanged"] + report["quarantined"] == 932
    )
