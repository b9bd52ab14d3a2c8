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


def test_owner_file_without_parcels_is_kept_unlinked_and_resolves(
    engine: Any, tmp_path: Path
) -> None:
    """A skip-trace/contact list (no parcel number, no property address) is imported as
    unlinked owner records, not quarantined; the report counts them; resolution puts each
    contact into the owner the county roll already knows (with its property); a later file
    giving the contact's parcel number links the record itself."""
    (tmp_path / "properties.csv").write_text(
        "parcel_number,address,city,state,zip,property_type\n"
        "P-1,12 OAK ST,AUSTIN,TX,78701,single_family\n"
        "P-2,40 ELM AVE,AUSTIN,TX,78702,single_family\n"
    )
    (tmp_path / "roll.csv").write_text(
        "owner_record_id,owner_name,mailing_address,mailing_city,mailing_state,mailing_zip,"
        "parcel_number\n"
        "R1,GARCIA MARIA L,900 CEDAR LN,AUSTIN,TX,78745,P-1\n"
        "R2,NGUYEN THANH,77 PINE RD,ROUND ROCK,TX,78664,P-2\n"
    )
    (tmp_path / "contacts.csv").write_text(
        "owner_record_id,owner_name,mailing_address,mailing_city,mailing_state,mailing_zip\n"
        "C1,Maria Garcia,900 CEDAR LANE,AUSTIN,TX,78745\n"
        "C2,Thanh Nguyen,77 PINE ROAD,ROUND ROCK,TX,78664\n"
        "C3,Robert Okafor,5 BIRCH CT,DALLAS,TX,75201\n"
    )
    org_id = bare_org()
    ingest_service.import_file(tmp_path / "properties.csv", "properties", org_id=org_id)
    ingest_service.import_file(tmp_path / "roll.csv", "owners", org_id=org_id)
    contacts = ingest_service.import_file(tmp_path / "contacts.csv", "owners", org_id=org_id)
    assert (contacts.inserted, contacts.quarantined) == (3, 0) and contacts.balanced
    notes = {w.get("kind"): w for w in contacts.warnings}
    assert notes["no_property"]["count"] == 3
    assert notes["no_property"]["message"].startswith("unlinked owner records")
    assert "unlinked" not in notes  # no key was given, so none "failed to link"

    with unit(org_id) as s:
        report = service.resolve(s)
        everyone, _ = queries.list_owners(s, limit=100)
        details = [queries.get_owner(s, o["id"]) for o in everyone]
    assert report["records"] == 5
    by_record = {r["owner_record_id"]: d for d in details for r in d["records"]}
    assert by_record["C1"] is by_record["R1"]  # the contact joined the roll's owner ...
    assert by_record["C2"] is by_record["R2"]  # ... written another way
    assert [p["address"] for p in by_record["C1"]["properties"]] == ["12 OAK ST"]
    assert by_record["C3"] is not by_record["R1"] and not by_record["C3"]["properties"]
    contact = next(r for r in by_record["C3"]["records"] if r["owner_record_id"] == "C3")
    assert contact["link_status"] == "unlinked" and contact["property_id"] is None

    # later, a file names C3's parcel: the same record is linked, not duplicated
    (tmp_path / "properties2.csv").write_text(
        "parcel_number,address,city,state,zip,property_type\n"
        "P-3,5 BIRCH CT,DALLAS,TX,75201,single_family\n"
    )
    (tmp_path / "contacts2.csv").write_text(
        "owner_record_id,owner_name,mailing_address,mailing_city,mailing_state,mailing_zip,"
        "parcel_number\n"
        "C3,Robert Okafor,5 BIRCH CT,DALLAS,TX,75201,P-3\n"
    )
    ingest_service.import_file(tmp_path / "properties2.csv", "properties", org_id=org_id)
    again = ingest_service.import_file(tmp_path / "contacts2.csv", "owners", org_id=org_id)
    assert (again.inserted, again.updated, again.quarantined) == (0, 1, 0)
    with unit(org_id) as s:
        service.resolve(s)
        everyone, _ = queries.list_owners(s, limit=100)
        details = [queries.get_owner(s, o["id"]) for o in everyone]
    okafor = next(d for d in details if any(r["owner_record_id"] == "C3" for r in d["records"]))
    record = next(r for r in okafor["records"] if r["owner_record_id"] == "C3")
    assert record["link_status"] == "linked" and record["property_id"] is not None
    assert [p["address"] for p in okafor["properties"]] == ["5 BIRCH CT"]
