"""End to end through the real import: properties and owner records from CSV files
(``reos.ingest``), then resolution, export and the accuracy floor against the truth."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from reos.ingest import service as ingest_service
from reos.owners import queries, service
from reos.owners.evaluation import score_clusters
from reos.owners.synthetic import generate_owner_records
from tests.owners.test_service_support import bare_org, unit

OWNER_COLUMNS = [
    "owner_record_id",
    "owner_name",
    "owner_name_2",
    "mailing_address",
    "mailing_address_2",
    "mailing_city",
    "mailing_state",
    "mailing_zip",
    "mailing_country",
    "parcel_number",
]


def test_imported_owner_records_resolve_with_accuracy_floor(engine: Any, tmp_path: Path) -> None:
    roster = generate_owner_records(250, seed=8)
    parcels = roster.rename(
        columns={
            "property_id": "parcel_number",
            "property_address": "address",
            "property_city": "city",
            "property_state": "state",
            "property_zip": "zip",
        }
    )[["parcel_number", "address", "city", "state", "zip"]]
    parcels = parcels.assign(property_type="single_family").iloc[10:]  # 10 stay unknown
    parcels.to_csv(tmp_path / "properties.csv", index=False)
    owners = roster.rename(columns={"record_id": "owner_record_id", "property_id": "parcel_number"})
    owners[OWNER_COLUMNS].to_csv(tmp_path / "owners.csv", index=False)

    org_id = bare_org()
    props = ingest_service.import_file(tmp_path / "properties.csv", "properties", org_id=org_id)
    assert props.inserted == len(roster) - 10
    imported = ingest_service.import_file(tmp_path / "owners.csv", "owners", org_id=org_id)
    assert imported.inserted == len(roster) and imported.quarantined == 0

    with unit(org_id) as s:
        report = service.resolve(s)
        queries.export_clusters(s, tmp_path / "clusters.csv")
    assert report["records"] == len(roster) and report["property_unknown"] == 10
    with (tmp_path / "clusters.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    predicted = {r["source_record_id"]: r["entity_id"] for r in rows}
    assert len(rows) == len(predicted) == len(roster)
    scores = score_clusters(predicted, dict(zip(roster.record_id, roster.true_entity, strict=True)))
    assert scores.pairwise_precision >= 0.95, scores
    assert scores.pairwise_recall >= 0.75, scores

    with unit(org_id) as s:
        everyone, _ = queries.list_owners(s, limit=1000)
        biggest = max(everyone, key=lambda o: o["property_count"])
        detail = queries.get_owner(s, biggest["id"])
    assert len(detail["properties"]) == biggest["property_count"] >= 2
    assert all(p["address"] for p in detail["properties"])
    assert detail["portfolio"]["total_estimated_value"] is None  # nothing valued yet
