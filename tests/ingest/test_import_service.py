"""The import service against the database: balance, idempotence, history, provenance,
sales from two sources, owners, quarantine (list, export, retry), preview, fields."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from reos.db.session import tenant_session
from reos.ingest.service import import_file
from reos.models import FieldChange, OwnerRecord, Property, Sale
from reos.models.imports import QuarantinedRow
from tests.ingest.helpers import SALES_HEADER, balanced, cli_json, run_cli, sale_row, write_csv


def _count(org_id: Any, model: Any) -> int:
    with tenant_session(org_id) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_duplicates_in_one_file_balance(tmp_path: Path, org: Any) -> None:
    rows = [
        sale_row(1),
        sale_row(2),
        sale_row(1),
        sale_row(2, **{"SALE PRICE": 999_999}),
        sale_row(3, **{"SALE PRICE": "abc"}),
    ]
    path = write_csv(tmp_path / "sales.csv", SALES_HEADER, rows)
    report = import_file(path, "sales", org_id=org.id)
    assert report.balanced and report.status == "done"
    assert (
        report.rows_read,
        report.inserted,
        report.unchanged,
        report.updated,
        report.quarantined,
    ) == (5, 2, 1, 1, 1)
    assert _count(org.id, Sale) == 2 and _count(org.id, Property) == 2
    with tenant_session(org.id) as s:
        change = s.scalars(select(FieldChange).where(FieldChange.field == "sale_price")).one()
        assert change.old_value["value"] == 200002 and change.new_value["value"] == 999_999
        assert change.old_value["row"] == 2 and change.new_value["row"] == 4


def test_reimport_is_unchanged_and_correction_updates_only_changed_fields(
    tmp_path: Path, org: Any, client: Any
) -> None:
    path = write_csv(tmp_path / "a.csv", SALES_HEADER, [sale_row(i) for i in range(1, 21)])
    first = import_file(path, "sales", org_id=org.id)
    assert (first.inserted, first.rows_read) == (20, 20)
    again = import_file(path, "sales", org_id=org.id)
    assert (again.unchanged, again.inserted, again.updated) == (20, 0, 0)
    assert again.import_id != first.import_id
    fixed = [sale_row(i) for i in range(1, 21)]
    fixed[4] = sale_row(5, BEDS=4)
    path2 = write_csv(tmp_path / "b.csv", SALES_HEADER, fixed)
    third = import_file(path2, "sales", org_id=org.id)
    assert (third.updated, third.unchanged, third.inserted) == (1, 19, 0) and third.balanced
    assert _count(org.id, Property) == 20 and _count(org.id, Sale) == 20
    with tenant_session(org.id) as s:
        prop = s.scalars(select(Property).where(Property.parcel_number == "P-00005")).one()
        changes = s.scalars(select(FieldChange).where(FieldChange.entity_id == prop.id)).all()
        assert [c.field for c in changes] == ["beds"]
        prop_id = prop.id
    body = client.get(f"/api/v1/properties/{prop_id}?provenance=true", headers=org.headers()).json()
    assert body["beds"] == 4
    assert body["provenance"]["beds"]["import_id"] == str(third.import_id)
    assert body["provenance"]["beds"]["file"] == "b.csv" and body["provenance"]["beds"]["row"] == 5
    assert body["provenance"]["sqft" if False else "living_area_sqft"]["import_id"] == str(
        first.import_id
    )
    assert body["history"][0]["old"]["value"] == 3 and body["history"][0]["old"]["file"] == "a.csv"
    assert body["history"][0]["new"]["value"] == 4 and body["history"][0]["new"]["source"] == "b"


def test_keys_with_quotes_commas_and_backslashes_match_on_reimport(
    tmp_path: Path, org: Any
) -> None:
    """Record lookups pass a chunk's keys as one parameter (an array literal on
    PostgreSQL, JSON on SQLite): keys carrying those languages' special characters must
    still find their records."""
    odd = ['A"1', "B,2", "C\\3", "{D4}", "E 5 ", 'H\\"8', "F'6", "Gé7"]
    rows = [sale_row(i + 1, PARCEL=key, **{"SALE ID": f"S{key}"}) for i, key in enumerate(odd)]
    path = write_csv(tmp_path / "odd.csv", SALES_HEADER, rows)
    first = import_file(path, "sales", org_id=org.id)
    assert (first.inserted, first.quarantined) == (len(odd), 0)
    again = import_file(path, "sales", org_id=org.id)
    assert (again.unchanged, again.inserted, again.updated) == (len(odd), 0, 0)
    with tenant_session(org.id) as s:
        stored = set(s.scalars(select(Property.parcel_number)))
    assert stored == {k.strip() for k in odd}
    assert _count(org.id, Sale) == len(odd)


def test_same_sale_from_two_sources_is_one_sale(tmp_path: Path, org: Any) -> None:
    a = write_csv(tmp_path / "county.csv", SALES_HEADER, [sale_row(1)])
    header_b = ["APN", "Address", "City", "State", "Zip", "Close Date", "Close Price", "MLS Number"]
    b = write_csv(
        tmp_path / "mls.csv",
        header_b,
        [["P-00001", "101 Main St", "Ames", "IA", "50010", "5/17/2020", "$200,001", "MLS-9"]],
    )
    import_file(a, "sales", org_id=org.id)
    report = import_file(b, "sales", org_id=org.id)
    assert report.balanced and report.inserted == 0
    assert _count(org.id, Sale) == 1 and _count(org.id, Property) == 1


def test_sale_row_creates_and_updates_its_property(tmp_path: Path, org: Any) -> None:
    path = write_csv(
        tmp_path / "s.csv",
        SALES_HEADER,
        [sale_row(7), sale_row(7, **{"SALE ID": "S-77", "SALE DATE": "2021-01-02", "SQFT": 1900})],
    )
    report = import_file(path, "sales", org_id=org.id)
    assert (report.inserted, report.updated) == (2, 0) or (report.inserted, report.updated) == (
        1,
        1,
    )
    assert _count(org.id, Sale) == 2 and _count(org.id, Property) == 1
    with tenant_session(org.id) as s:
        prop = s.scalars(select(Property)).one()
        assert prop.living_area_sqft == 1900 and prop.address_key and prop.zip == "50010"


OWNER_HEADER = [
    "OWNER_ID",
    "OWNER NAME",
    "OWNER2",
    "MAILING ADDRESS",
    "MAIL ADDRESS 2",
    "MAIL CITY",
    "MAIL STATE",
    "MAIL ZIP",
    "PARCEL",
    "SITUS ADDRESS",
]


def test_owners_link_by_parcel_or_address_and_keep_unlinked(
    tmp_path: Path, org: Any, capsys: Any
) -> None:
    import_file(
        write_csv(tmp_path / "s.csv", SALES_HEADER, [sale_row(1), sale_row(2)]),
        "sales",
        org_id=org.id,
    )
    rows = [
        [
            "O1",
            "SMITH JOHN",
            "SMITH JANE",
            "PO Box 12",
            "",
            "Des Moines",
            "IA",
            "50301",
            "P-00001",
            "",
        ],
        [
            "O2",
            "ACME LLC",
            "",
            "5 Elm Street",
            "Suite 3",
            "Chicago",
            "IL",
            "60601",
            "",
            "102 Main Street, Ames, IA 50010",
        ],
        ["O3", "NOBODY", "", "9 Oak Ave", "", "Ames", "IA", "50010", "P-99999", ""],
    ]
    path = write_csv(tmp_path / "owners.csv", OWNER_HEADER, rows)
    report = cli_json(capsys, "import", "owners", str(path), "--org", org.slug)
    assert balanced(report) and report["inserted"] == 3
    assert any("not found" in w["message"] and w["count"] == 1 for w in report["warnings"])
    with tenant_session(org.id) as s:
        owners = {o.owner_record_id: o for o in s.scalars(select(OwnerRecord))}
        assert owners["O1"].link_status == "linked" and owners["O1"].property_id is not None
        assert owners["O2"].link_status == "linked"
        assert owners["O3"].link_status == "unlinked" and owners["O3"].property_id is None
        assert owners["O1"].owner_name_2 == "SMITH JANE"
        assert owners["O1"].mailing_address_key == "PO BOX 12 50301"
        assert owners["O2"].mailing_address_2 == "Suite 3" and owners["O2"].mailing_address_key
    again = cli_json(capsys, "import", "owners", str(path), "--org", org.slug)
    assert again["unchanged"] == 3


def test_owner_without_id_column_gets_source_and_row_number(tmp_path: Path, org: Any) -> None:
    """Row 1 of another file without ids is another owner record, not an update of the
    first file's row 1; the same file again changes nothing."""
    path = write_csv(
        tmp_path / "o.csv", ["OWNER1", "APN"], [["DOE JANE", "X-1"], ["ROE RICK", "X-2"]]
    )
    report = import_file(path, "owners", org_id=org.id)
    assert report.inserted == 2
    other = write_csv(
        tmp_path / "p.csv", ["OWNER1", "APN"], [["POE PAT", "X-3"], ["LOE LEE", "X-4"]]
    )
    assert import_file(other, "owners", org_id=org.id).inserted == 2
    assert import_file(path, "owners", org_id=org.id).unchanged == 2
    with tenant_session(org.id) as s:
        stored = dict(s.execute(select(OwnerRecord.owner_record_id, OwnerRecord.owner_name)).all())
    assert stored == {"o#1": "DOE JANE", "o#2": "ROE RICK", "p#1": "POE PAT", "p#2": "LOE LEE"}


def test_quarantine_list_export_and_retry(tmp_path: Path, org: Any, capsys: Any) -> None:
    header = ["Parcel", "Address", "City", "State", "Zip", "Price Paid", "Sold On"]
    rows = [
        ["A1", "1 Oak St", "Ames", "IA", "50010", "100000", "2020-01-01"],
        ["A2", '=HYPERLINK("x")', "Ames", "IA", "50010", "n/a", "2020-01-01"],
        ["A3", "3 Oak St", "Ames", "IA", "50010", "$250,000", "1/2/2020"],
    ]
    path = write_csv(tmp_path / "q.csv", header, rows)
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "record: sale\nkey: parcel_number\nfields:\n  parcel_number: Parcel\n  address: Address\n"
        "  city: City\n  state: State\n  zip: Zip\n  sale_price: Price Paid\n  close_date: {column: Sold On, format: '%Y-%m-%d'}\n"
    )
    report = cli_json(
        capsys, "import", "sales", str(path), "--org", org.slug, "--mapping", str(mapping)
    )
    assert (report["inserted"], report["quarantined"]) == (1, 2) and balanced(report)
    listed = cli_json(
        capsys, "quarantine", "list", "--import", report["import_id"], "--org", org.slug
    )
    assert listed["total"] == 2
    by_row = {i["row_number"]: i for i in listed["items"]}
    assert by_row[2]["raw"]["Address"].startswith("=HYPERLINK")
    assert {r["field"] for r in by_row[2]["reasons"]} == {"sale_price"}
    assert {r["field"] for r in by_row[3]["reasons"]} == {"close_date"}
    out = tmp_path / "q_out.csv"
    code, _o, err = run_cli(
        capsys, "quarantine", "export", str(out), "--import", report["import_id"], "--org", org.slug
    )
    assert code == 0, err
    with open(out, encoding="utf-8-sig") as fh:
        exported = list(csv.DictReader(fh))
    assert len(exported) == 2 and set(header) <= set(exported[0])
    assert exported[0]["Address"] == '\'=HYPERLINK("x")'
    xlsx = tmp_path / "q_out.xlsx"
    assert run_cli(capsys, "quarantine", "export", str(xlsx), "--org", org.slug)[0] == 0
    import openpyxl

    sheet = openpyxl.load_workbook(xlsx).active
    assert sheet is not None
    values = [c.value for row in sheet.iter_rows() for c in row]
    assert '\'=HYPERLINK("x")' in values and not any(
        isinstance(v, str) and v.startswith("=") for v in values
    )
    fixed = tmp_path / "fixed.yaml"
    fixed.write_text(
        mapping.read_text().replace("format: '%Y-%m-%d'", "format: ['%Y-%m-%d', '%m/%d/%Y']")
    )
    retry = cli_json(
        capsys,
        "quarantine",
        "retry",
        report["import_id"],
        "--mapping",
        str(fixed),
        "--org",
        org.slug,
    )
    assert (retry["rows_read"], retry["inserted"], retry["quarantined"]) == (2, 1, 1) and balanced(
        retry
    )
    with tenant_session(org.id) as s:
        statuses = dict(s.execute(select(QuarantinedRow.row_number, QuarantinedRow.status)).all())
        assert statuses == {2: "open", 3: "resolved"}
        sale = s.scalars(select(Sale).where(Sale.sale_price == 250000)).one()
        assert (
            sale.field_provenance()["sale_price"]["row"] == 3
            and sale.field_provenance()["sale_price"]["file"] == "q.csv"
        )
    again = cli_json(
        capsys,
        "quarantine",
        "retry",
        report["import_id"],
        "--mapping",
        str(fixed),
        "--org",
        org.slug,
    )
    assert (again["rows_read"], again["quarantined"]) == (1, 1)


def test_preview_writes_nothing(tmp_path: Path, org: Any, capsys: Any) -> None:
    path = write_csv(
        tmp_path / "p.csv",
        [*SALES_HEADER, "Unused"],
        [[*sale_row(1), "x"], [*sale_row(2, **{"SALE PRICE": "-5"}), "y"]],
    )
    code, out, err = run_cli(capsys, "import", "sales", str(path), "--org", org.slug, "--preview")
    assert code == 0, err
    assert "sale_price" in out and "Unused" in out and "row 2: quarantine" in out
    assert _count(org.id, Sale) == 0


def test_fields_lists_every_target(capsys: Any, engine: Any) -> None:
    code, out, _err = run_cli(capsys, "fields", "--json")
    import json

    names = {f["field"] for f in json.loads(out)}
    assert {
        "sale_price",
        "living_area_sqft",
        "owner_name",
        "mailing_zip",
        "close_date_precision",
    } <= names
    assert code == 0


def test_report_command_and_cross_org(
    tmp_path: Path, org: Any, other_org: Any, capsys: Any
) -> None:
    report = import_file(
        write_csv(tmp_path / "s.csv", SALES_HEADER, [sale_row(1)]), "sales", org_id=org.id
    )
    shown = cli_json(capsys, "import", "report", str(report.import_id), "--org", org.slug)
    assert shown["inserted"] == 1 and shown["status"] == "done"
    code, _out, err = run_cli(
        capsys, "import", "report", str(report.import_id), "--org", other_org.slug
    )
    assert code == 3 and err.startswith("error") and "Traceback" not in err


@pytest.mark.parametrize("entity", ["properties"])
def test_properties_file_upserts_by_key(tmp_path: Path, org: Any, entity: str) -> None:
    header = ["APN", "Address", "City", "State", "Zip", "Beds", "Year Built"]
    path = write_csv(
        tmp_path / "props.csv",
        header,
        [
            ["X1", "1 Elm St", "Ames", "IA", "50010", "2", "1990"],
            ["X2", "2 Elm St", "Ames", "IA", "50010", "3", "1991"],
        ],
    )
    first = import_file(path, entity, org_id=org.id)
    assert first.inserted == 2
    path2 = write_csv(
        tmp_path / "props2.csv", header, [["X1", "1 Elm St", "Ames", "IA", "50010", "2", "1992"]]
    )
    second = import_file(path2, entity, org_id=org.id)
    assert second.updated == 1 and _count(org.id, Property) == 2


def _stored(org_id: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every stored property and sale, without ids, timestamps and import ids."""
    skip = {"id", "org_id", "property_id", "created_at", "updated_at"}
    with tenant_session(org_id) as s:
        props = [
            {c.key: getattr(p, c.key) for c in Property.__table__.columns if c.key not in skip}
            | {"provenance": {k: v["row"] for k, v in p.field_provenance().items()}}
            for p in s.scalars(select(Property).order_by(Property.parcel_number))
        ]
        sales = [
            {c.key: getattr(x, c.key) for c in Sale.__table__.columns if c.key not in skip}
            | {"provenance": {k: v["row"] for k, v in x.field_provenance().items()}}
            for x in s.scalars(select(Sale).order_by(Sale.sale_record_id))
        ]
    return props, sales


def test_new_records_written_from_rows_equal_records_built_field_by_field(
    tmp_path: Path, org: Any, other_org: Any
) -> None:
    """A record no other row of its chunk touches is written straight from its row; one a
    later row of the chunk matches is built field by field. Both give the same rows: the
    file imported in one chunk (resales of one house meet in the chunk) and one row per
    chunk (every record is created from its row, later rows load it) store the same."""
    rows = [
        sale_row(1),
        sale_row(2, BEDS=""),
        sale_row(1, **{"SALE ID": "S-1b", "SALE DATE": "2021-01-02", "SALE PRICE": 250000}),
        sale_row(2, BEDS=4, **{"SALE ID": "S-2b", "SALE DATE": "2022-03-04"}),
        sale_row(3, **{"SALE PRICE": "n/a"}),
    ]
    path = write_csv(tmp_path / "resales.csv", SALES_HEADER, rows)
    whole = import_file(path, "sales", org_id=org.id, chunk_rows=100, workers=0)
    single = import_file(path, "sales", org_id=other_org.id, chunk_rows=1, workers=0)
    counts = ("rows_read", "inserted", "updated", "unchanged", "quarantined")
    assert [getattr(whole, c) for c in counts] == [getattr(single, c) for c in counts]
    assert [getattr(whole, c) for c in counts] == [5, 4, 0, 0, 1]  # each resale is a new sale
    props, sales = _stored(org.id)
    assert (props, sales) == _stored(other_org.id)
    assert [p["beds"] for p in props] == [3, 4]
    # beds of the second house came from row 4, everything else from row 2
    assert props[1]["provenance"]["beds"] == 4 and props[1]["provenance"]["address"] == 2
    assert [s["sale_record_id"] for s in sales] == ["S-1", "S-1b", "S-2", "S-2b"]


def test_postgresql_statistics_of_the_grown_tables_are_refreshed(
    tmp_path: Path, org: Any, engine: Any, is_pg: bool
) -> None:
    """The import analyses the tables it grows (PostgreSQL plans its key lookups from
    their statistics; autovacuum may be off or behind)."""
    if not is_pg:
        pytest.skip("planner statistics are PostgreSQL's")

    def analyses() -> dict[str, int]:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT relname, analyze_count FROM pg_stat_user_tables "
                "WHERE relname IN ('properties', 'sales')"
            ).all()
        return {name: int(count) for name, count in rows}

    before = analyses()
    path = write_csv(tmp_path / "grow.csv", SALES_HEADER, [sale_row(i) for i in range(1, 31)])
    import_file(path, "sales", org_id=org.id, chunk_rows=10)
    # analysed after the first chunk (10 inserted) and after 20; the cumulative statistics
    # are flushed asynchronously, so wait a little for the counts
    for _ in range(50):
        after = analyses()
        if all(after[t] > before.get(t, 0) for t in ("properties", "sales")):
            break
        time.sleep(0.1)
    assert all(after[t] > before.get(t, 0) for t in ("properties", "sales")), (before, after)


def test_postgresql_key_lookups_are_never_prepared(
    tmp_path: Path, org: Any, database_url: str, is_pg: bool
) -> None:
    """A lookup's text is the same for any number of keys, so psycopg would prepare it after
    five runs, and PostgreSQL may then reuse a generic plan that compares every row with
    every key (one import took ten times as long). An import prepares none of them."""
    if not is_pg:
        pytest.skip("psycopg prepares statements on PostgreSQL only")
    from sqlalchemy.pool import StaticPool

    from reos.db.engine import make_engine

    one_connection = make_engine(database_url, poolclass=StaticPool)
    try:
        rows = [sale_row(i) for i in range(1, 81)]
        path = write_csv(tmp_path / "eight_chunks.csv", SALES_HEADER, rows)
        for _ in range(2):  # the second time every row is found: every lookup returns rows
            report = import_file(
                path, "sales", org_id=org.id, engine=one_connection, chunk_rows=10,
                workers=0, resume=False,
            )  # fmt: skip
        assert report.unchanged == 80
        with one_connection.connect() as conn:
            prepared = conn.exec_driver_sql("SELECT statement FROM pg_prepared_statements")
            statements = [row[0] for row in prepared]
        assert not [s for s in statements if "ANY" in s], statements
    finally:
        one_connection.dispose()
