"""ZIP+4: the five-digit ZIP and the four-digit add-on (RESO ``PostalCodePlus4``) are kept
apart, whichever way a person or a file writes them, so ``?zip=`` finds the property and a
``varchar(5)`` column never sees nine digits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reos.cli_support import org_session
from reos.ingest import service as ingest_service
from tests.ingest.helpers import write_csv

HOUSE = {"address": "12 Elm Street", "city": "Ames", "state": "IA"}


def _find_by_zip(client: Any, org: Any, zip_code: str) -> list[dict[str, Any]]:
    r = client.get("/api/v1/properties", params={"zip": zip_code}, headers=org.headers())
    assert r.status_code == 200, r.text
    return r.json()["items"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("written", ["50010-1234", "500101234", "50010 1234"])
def test_create_accepts_zip_plus4_and_finds_it_by_zip(client: Any, org: Any, written: str) -> None:
    r = client.post("/api/v1/properties", json={**HOUSE, "zip": written}, headers=org.headers())
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["zip"], body["zip4"]) == ("50010", "1234")
    found = _find_by_zip(client, org, "50010")
    assert [p["id"] for p in found] == [body["id"]]
    assert (found[0]["zip"], found[0]["zip4"]) == ("50010", "1234")
    got = client.get(f"/api/v1/properties/{body['id']}", headers=org.headers()).json()
    assert (got["zip"], got["zip4"]) == ("50010", "1234")


def test_zip4_given_apart_and_patched(client: Any, org: Any) -> None:
    h = org.headers()
    r = client.post("/api/v1/properties", json={**HOUSE, "zip": "50010", "zip4": "0042"}, headers=h)
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    assert (r.json()["zip"], r.json()["zip4"]) == ("50010", "0042")
    r = client.patch(f"/api/v1/properties/{pid}", json={"zip": "50011 9876"}, headers=h)
    assert r.status_code == 200, r.text
    assert (r.json()["zip"], r.json()["zip4"]) == ("50011", "9876")
    r = client.patch(f"/api/v1/properties/{pid}", json={"zip4": "4321"}, headers=h)
    assert (r.json()["zip"], r.json()["zip4"]) == ("50011", "4321")
    # a new five-digit ZIP makes the old add-on meaningless: it is cleared
    r = client.patch(f"/api/v1/properties/{pid}", json={"zip": "50012"}, headers=h)
    assert (r.json()["zip"], r.json()["zip4"]) == ("50012", None)
    assert [p["id"] for p in _find_by_zip(client, org, "50012")] == [pid]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"zip": "5001-01234"}, "zip"),
        ({"zip": "50010-12"}, "zip"),
        ({"zip": "ABCDE"}, "zip"),
        ({"zip": "50010-1234-5"}, "zip"),
        ({"zip": "50010", "zip4": "12a4"}, "zip4"),
        ({"zip": "50010", "zip4": "12345"}, "zip4"),
        ({"zip": "50010-1234", "zip4": "9999"}, "zip4"),
    ],
)
def test_garbage_zip_is_422_naming_the_field(
    client: Any, org: Any, body: dict[str, Any], field: str
) -> None:
    h = org.headers()
    r = client.post("/api/v1/properties", json={**HOUSE, **body}, headers=h)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field
    assert client.get("/api/v1/properties", headers=h).json()["total"] == 0
    made = client.post("/api/v1/properties", json={**HOUSE, "zip": "50010"}, headers=h).json()
    r = client.patch(f"/api/v1/properties/{made['id']}", json=body, headers=h)
    assert r.status_code == 422 and r.json()["field"] == field


def test_import_splits_zip_plus4(client: Any, org: Any, tmp_path: Path) -> None:
    header = ["PARCEL", "SITUS ADDRESS", "CITY", "STATE", "ZIP"]
    rows = [
        ["P-1", "1 Oak Street", "Ames", "IA", "50010-1234"],
        ["P-2", "2 Oak Street", "Ames", "IA", "500101235"],
        ["P-3", "3 Oak Street", "Ames", "IA", "50010 1236"],
        ["P-4", "4 Oak Street", "Ames", "IA", "50010"],
        ["P-5", "5 Oak Street", "Ames", "IA", "501-1237"],  # garbage: quarantined
    ]
    path = write_csv(tmp_path / "props.csv", header, rows)
    report = ingest_service.import_file(path, "properties", org_id=org.id)
    assert (report.inserted, report.quarantined) == (4, 1), report.to_dict()
    found = {p["parcel_number"]: p for p in _find_by_zip(client, org, "50010")}
    assert {k: (v["zip"], v["zip4"]) for k, v in found.items()} == {
        "P-1": ("50010", "1234"),
        "P-2": ("50010", "1235"),
        "P-3": ("50010", "1236"),
        "P-4": ("50010", None),
    }


def test_import_recognises_a_plus4_column(client: Any, org: Any, tmp_path: Path) -> None:
    header = ["PARCEL", "SITUS ADDRESS", "CITY", "STATE", "PostalCode", "PostalCodePlus4"]
    rows = [
        ["Q-1", "1 Pine Street", "Ames", "IA", "50014", "0007"],
        ["Q-2", "2 Pine Street", "Ames", "IA", "50014", ""],
        ["Q-3", "3 Pine Street", "Ames", "IA", "50014", "77"],  # not four digits
    ]
    path = write_csv(tmp_path / "reso.csv", header, rows)
    preview = ingest_service.preview(path, "properties")
    assert any("zip4" in line and "PostalCodePlus4" in line for line in preview["mapping"])
    report = ingest_service.import_file(path, "properties", org_id=org.id)
    assert (report.inserted, report.quarantined) == (2, 1), report.to_dict()
    found = {p["parcel_number"]: (p["zip"], p["zip4"]) for p in _find_by_zip(client, org, "50014")}
    assert found == {"Q-1": ("50014", "0007"), "Q-2": ("50014", None)}
    with org_session(org.slug) as session:
        rows_q, _ = ingest_service.list_quarantine(session, import_id=report.import_id)
        assert [r["field"] for r in rows_q[0].reasons] == ["zip4"]
