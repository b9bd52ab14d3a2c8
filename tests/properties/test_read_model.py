"""The properties read model: what valuation and owners read of properties and sales,
scoped to the organisation."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from reos.db.session import tenant_session
from reos.ingest.service import import_file
from reos.properties import read_model
from tests.ingest.helpers import SALES_HEADER, sale_row, write_csv


def _import(tmp_path: Path, org_id: Any, rows: list[list[Any]], name: str) -> None:
    path = write_csv(tmp_path / name, SALES_HEADER, rows)
    report = import_file(path, "sales", org_id=org_id)
    assert report.balanced and report.quarantined == 0


def test_reads_see_the_organisations_own_sales_only(
    tmp_path: Path, org: Any, other_org: Any
) -> None:
    _import(
        tmp_path,
        org.id,
        [
            sale_row(1),
            sale_row(1, **{"SALE DATE": "2022-03-01", "SALE PRICE": 250000, "SALE ID": "S-1b"}),
            sale_row(2, **{"SALE DATE": "2019-01-10"}),
        ],
        "ours.csv",
    )
    _import(tmp_path, other_org.id, [sale_row(3), sale_row(1)], "theirs.csv")
    with tenant_session(org.id) as session:
        rows = read_model.sales_with_properties(session, ["beds", "living_area_sqft", "zip"])
        assert len(rows) == 3
        by_sale = {(r["sale_price"], r["close_date"]): r for r in rows}
        assert set(by_sale) == {
            (200001, date(2020, 5, 17)),
            (250000, date(2022, 3, 1)),
            (200002, date(2019, 1, 10)),
        }
        first = by_sale[(200001, date(2020, 5, 17))]
        assert (first["beds"], first["living_area_sqft"], first["zip"]) == (3, 1501, "50010")
        assert first["address"] == "101 MAIN ST, AMES, IA 50010"
        assert first["attributes"] == {}
        before = read_model.sales_with_properties(session, ["zip"], before=date(2020, 1, 1))
        assert [r["close_date"] for r in before] == [date(2019, 1, 10)]

        ids = read_model.property_ids_by(
            session, "parcel_number", ["P-00001", "P-00002", "P-00003"]
        )
        assert sorted(ids) == ["P-00001", "P-00002"]
        assert all(len(found) == 1 for found in ids.values())
        house_1, house_2 = ids["P-00001"][0], ids["P-00002"][0]

        assert read_model.last_sale_dates(session, [house_1]) == {house_1: date(2022, 3, 1)}
        assert read_model.last_sale_dates(session, None) == {
            house_1: date(2022, 3, 1),
            house_2: date(2019, 1, 10),
        }
        assert read_model.site_addresses(session, [house_2]) == {
            house_2: ("102 Main Street", "Ames", "IA", "50010")
        }
        assert sorted(s[2] for s in read_model.arm_length_sales(session)) == [
            200001,
            200002,
            250000,
        ]
        version = read_model.sales_version(session)
        assert version[0] == 3
