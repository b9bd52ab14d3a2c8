"""Import routes: upload -> job -> report, quarantine pages, auth, roles, other orgs, limits."""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from reos.config import get_settings
from reos.db.session import tenant_session
from reos.jobs.worker import Worker
from reos.models import Sale
from reos.models.imports import ImportRun
from reos.models.jobs import Job
from tests.ingest.helpers import SALES_HEADER, sale_row, write_csv


def _csv_bytes(tmp_path: Path, rows: list[list[Any]]) -> bytes:
    return write_csv(tmp_path / "up.csv", SALES_HEADER, rows).read_bytes()


def _upload(
    client: Any,
    headers: dict[str, str],
    data: bytes,
    entity: str = "sales",
    mapping: bytes | None = None,
) -> Any:
    files: dict[str, Any] = {"file": ("my sales.csv", io.BytesIO(data), "text/csv")}
    if mapping is not None:
        files["mapping"] = ("m.yaml", io.BytesIO(mapping), "application/yaml")
    return client.post("/api/v1/imports", files=files, data={"entity": entity}, headers=headers)


def _drain() -> None:
    worker = Worker(poll_seconds=0.01)
    while worker.run_once():
        pass


def test_upload_queues_job_and_worker_runs_it(client: Any, org: Any, tmp_path: Path) -> None:
    r = _upload(
        client,
        org.headers(),
        _csv_bytes(tmp_path, [sale_row(1), sale_row(2), sale_row(3, **{"SALE PRICE": "x"})]),
    )
    assert r.status_code == 202, r.text
    import_id = r.json()["import_id"]
    assert r.json()["status"] == "queued"
    stored = get_settings().home / "uploads" / str(org.id) / import_id / "my_sales.csv"
    assert stored.is_file()
    with tenant_session(org.id) as s:
        job = s.scalars(select(Job).where(Job.id == uuid.UUID(r.json()["job_id"]))).one()
        assert job.status == "queued" and job.payload["import_id"] == import_id
    _drain()
    body = client.get(f"/api/v1/imports/{import_id}", headers=org.headers()).json()
    assert body["status"] == "done" and body["balanced"]
    assert (body["rows_read"], body["inserted"], body["quarantined"]) == (3, 2, 1)
    with tenant_session(org.id) as s:
        assert (
            s.scalars(select(Job).where(Job.id == uuid.UUID(r.json()["job_id"]))).one().status
            == "done"
        )
    page = client.get(
        f"/api/v1/imports/{import_id}/quarantine?limit=1", headers=org.headers()
    ).json()
    assert page["total"] == 1 and page["items"][0]["row_number"] == 3
    assert (
        page["items"][0]["raw"]["SALE PRICE"] == "x"
        and page["items"][0]["reasons"][0]["field"] == "sale_price"
    )
    listing = client.get("/api/v1/imports", headers=org.headers()).json()
    assert listing["total"] == 1 and listing["items"][0]["import_id"] == import_id


def test_bad_file_is_rejected_at_upload(client: Any, org: Any) -> None:
    r = _upload(client, org.headers(), b"Foo,Bar\n1,2\n")
    assert r.status_code == 422 and "sale_price" in r.json()["message"]
    r = _upload(client, org.headers(), b"", entity="sales")
    assert r.status_code == 422 and "empty" in r.json()["message"]
    r = _upload(client, org.headers(), b"a,b\n", entity="planets")
    assert r.status_code == 422 and r.json()["field"] == "entity"
    r = _upload(client, org.headers(), b"a,b\n", mapping=b"fields: [unclosed")
    assert r.status_code == 422 and r.json()["field"] == "mapping"
    with tenant_session(org.id) as s:
        assert s.scalar(select(func.count()).select_from(ImportRun)) == 0
        assert s.scalar(select(func.count()).select_from(Job)) == 0


def test_mapping_part_is_used(client: Any, org: Any) -> None:
    data = b"Parcel,Paid,Closed\nZ1,100000,2020-01-01\n"
    mapping = b"record: sale\nkey: parcel_number\nfields:\n  parcel_number: Parcel\n  sale_price: Paid\n  close_date: Closed\n"
    r = _upload(client, org.headers(), data, mapping=mapping)
    assert r.status_code == 202, r.text
    _drain()
    body = client.get(f"/api/v1/imports/{r.json()['import_id']}", headers=org.headers()).json()
    assert body["inserted"] == 1


def test_no_credentials_401(client: Any) -> None:
    assert client.get("/api/v1/imports").status_code == 401
    assert client.get("/api/v1/imports/00000000-0000-0000-0000-000000000000").status_code == 401
    assert (
        client.get("/api/v1/imports/00000000-0000-0000-0000-000000000000/quarantine").status_code
        == 401
    )
    r = client.post(
        "/api/v1/imports", files={"file": ("a.csv", b"a\n1\n")}, data={"entity": "sales"}
    )
    assert r.status_code == 401


def test_every_role_may_import(client: Any, org: Any, role_headers: Any, tmp_path: Path) -> None:
    """The role matrix gives data:write to every role, so no role gets 403 here; a wrong
    organisation header does."""
    for role in ("admin", "analyst", "service"):
        r = _upload(client, role_headers(role), _csv_bytes(tmp_path, [sale_row(1)]))
        assert r.status_code == 202, (role, r.text)
        assert client.get("/api/v1/imports", headers=role_headers(role)).status_code == 200


def test_other_org_gets_404_and_nothing_changes(
    client: Any, org: Any, other_org: Any, tmp_path: Path
) -> None:
    r = _upload(client, org.headers(), _csv_bytes(tmp_path, [sale_row(1)]))
    import_id = r.json()["import_id"]
    _drain()
    assert (
        client.get(f"/api/v1/imports/{import_id}", headers=other_org.headers()).status_code == 404
    )
    assert (
        client.get(
            f"/api/v1/imports/{import_id}/quarantine", headers=other_org.headers()
        ).status_code
        == 404
    )
    assert client.get("/api/v1/imports", headers=other_org.headers()).json()["total"] == 0
    with tenant_session(other_org.id) as s:
        assert s.scalar(select(func.count()).select_from(Sale)) == 0
    with tenant_session(org.id) as s:
        assert s.scalar(select(func.count()).select_from(Sale)) == 1
    r = client.get(
        f"/api/v1/imports/{import_id}", headers=org.headers(**{"X-Reos-Org": other_org.slug})
    )
    assert r.status_code in (401, 403)


def test_body_over_limit_is_413_with_clear_message(client: Any, org: Any) -> None:
    limit = get_settings().max_body_bytes
    big = b"a,b\n" + b"1,2\n" * (limit // 4 + 10)
    r = _upload(client, org.headers(), big)
    assert r.status_code == 413
    assert "limit" in r.json()["message"] and str(limit) in r.json()["message"]


def test_every_import_leaves_audit_rows(client: Any, org: Any) -> None:
    """One audit row when an import is created and one with its counts when it finishes."""
    from pathlib import Path

    from reos.ingest import service as ingest_service

    samples = Path(__file__).resolve().parents[2] / "data" / "samples"
    report = ingest_service.import_file(
        samples / "sacramento_ca_sales_2008.csv",
        "sales",
        org_id=org.id,
        mapping_path=samples / "sacramento.mapping.yaml",
    )
    rows = client.get("/api/v1/audit?entity_type=import", headers=org.headers()).json()
    mine = [r for r in rows if r["entity_id"] == str(report.import_id)]
    assert {r["action"] for r in mine} == {"create", "finish"}
    finish = next(r for r in mine if r["action"] == "finish")
    assert finish["changes"]["rows_read"] == 932 and finish["changes"]["inserted"] == 932
