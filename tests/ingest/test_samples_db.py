"""The two sample datasets imported into the database, and spatial search over Ames
compared with a brute-force answer (same on SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from reos import geo
from reos.db.session import tenant_session
from reos.ingest.service import import_file
from reos.models import Property, Sale
from tests.conftest import SAMPLES


def test_ames_and_sacramento_import_fully(org: Any, client: Any) -> None:
    ames = import_file(SAMPLES / "ames_iowa_sales_2006_2010.csv", "sales", org_id=org.id,
                       mapping_path=SAMPLES / "ames.mapping.yaml")  # fmt: skip
    assert (ames.rows_read, ames.inserted, ames.quarantined) == (2930, 2930, 0) and ames.balanced
    sac = import_file(SAMPLES / "sacramento_ca_sales_2008.csv", "sales", org_id=org.id,
                      mapping_path=SAMPLES / "sacramento.mapping.yaml")  # fmt: skip
    assert (sac.rows_read, sac.inserted, sac.quarantined) == (932, 932, 0) and sac.balanced
    with tenant_session(org.id) as s:
        assert s.scalar(select(func.count()).select_from(Sale)) == 3862
        assert (
            s.scalar(
                select(func.count()).select_from(Property).where(Property.h3_cell.is_not(None))
            )
            == 3862
        )
        first = s.scalars(select(Property).where(Property.source_record_id == "ames-1")).one()
        assert (first.living_area_sqft, first.condition, first.city, first.state) == (
            1656,
            5,
            "AMES",
            "IA",
        )
        assert first.attributes["total_basement_sqft"] == 1080 and first.h3_cell_r5
        assert (
            first.field_provenance()["living_area_sqft"]["source"] == "ames_iowa_assessor_2006_2010"
        )
        sale = s.scalars(select(Sale).where(Sale.sale_record_id == "ames-1")).one()
        assert (sale.close_date_precision, sale.close_date.day, float(sale.sale_price)) == (
            "month",
            1,
            215000,
        )
        assert sale.sale_condition == "Normal" and sale.arm_length is True
        assert (
            s.scalar(select(func.count()).select_from(Sale).where(Sale.arm_length.is_(False)))
            == 272
        )
        assert (
            s.scalar(
                select(func.count()).select_from(Sale).where(Sale.close_date_precision == "month")
            )
            == 3862
        )
    again = import_file(SAMPLES / "ames_iowa_sales_2006_2010.csv", "sales", org_id=org.id,
                        mapping_path=SAMPLES / "ames.mapping.yaml")  # fmt: skip
    assert again.unchanged == 2930


def test_radius_and_polygon_search_match_brute_force(org: Any, client: Any) -> None:
    import_file(SAMPLES / "ames_iowa_sales_2006_2010.csv", "sales", org_id=org.id,
                mapping_path=SAMPLES / "ames.mapping.yaml")  # fmt: skip
    with tenant_session(org.id) as s:
        points = {
            str(i): (lat, lon)
            for i, lat, lon in s.execute(select(Property.id, Property.latitude, Property.longitude))
        }
    center, radius = (42.03, -93.63), 1500.0
    want = {
        i
        for i, (lat, lon) in points.items()
        if geo.haversine_m(center[0], center[1], lat, lon) <= radius
    }
    got: set[str] = set()
    offset = 0
    while True:
        r = client.get(f"/api/v1/properties?near={center[0]},{center[1]}&radius_m={radius}&limit=500&offset={offset}",
                       headers=org.headers())  # fmt: skip
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        got |= {i["id"] for i in items}
        if len(items) < 500:
            break
        offset += 500
    assert got == want and len(want) > 50
    polygon = {
        "type": "Polygon",
        "coordinates": [
            [[-93.66, 42.01], [-93.60, 42.01], [-93.60, 42.05], [-93.66, 42.05], [-93.66, 42.01]]
        ],
    }
    want_poly = {i for i, (lat, lon) in points.items() if geo.point_in_polygon(lat, lon, polygon)}
    got_poly: set[str] = set()
    offset = 0
    while True:
        r = client.post(
            "/api/v1/properties/search",
            json={"geometry": polygon, "limit": 500, "offset": offset},
            headers=org.headers(),
        )
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        got_poly |= {i["id"] for i in items}
        if len(items) < 500:
            break
        offset += 500
    assert got_poly == want_poly and len(want_poly) > 100
