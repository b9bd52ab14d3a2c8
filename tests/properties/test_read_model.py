"""The properties read model: what valuation and owners read of properties and sales,
scoped to the organisation."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

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


def _ray_cast(lat: float, lon: float, ring: list[tuple[float, float]]) -> bool:
    """The even-odd test written plainly, as the statement must agree with it."""
    hit = False
    for i, (yi, xi) in enumerate(ring):
        yj, xj = ring[i - 1]
        if (yi > lat) != (yj > lat) and lon < (xj - xi) * (lat - yi) / (yj - yi) + xi:
            hit = not hit
    return hit


def test_a_map_area_is_tested_in_the_database_as_the_ray_cast_does(
    org: Any, other_org: Any
) -> None:
    """``in_area``: the box and the drawn polygon's ray cast run as SQL on both stores; on
    random polygons (concave and self-crossing ones included) over random points, plus the
    polygons' own vertices, it selects exactly what the plain Python test selects, and
    nothing of another organisation."""
    import random

    from reos.models import Property

    rng = random.Random(13)
    points = [(42.0 + rng.uniform(-0.1, 0.1), -93.6 + rng.uniform(-0.1, 0.1)) for _ in range(1500)]
    rings = [
        [(42.0 + rng.uniform(-0.1, 0.1), -93.6 + rng.uniform(-0.1, 0.1)) for _ in range(n)]
        for n in (3, 4, 5, 8, 13, 40)
    ]
    rings.append(
        [(41.95, -93.65), (41.95, -93.55), (42.05, -93.55), (42.0, -93.6), (42.05, -93.65)]
    )
    points += [vertex for ring in rings for vertex in ring]
    with tenant_session(org.id) as session:
        session.add_all(
            Property(address=f"{n} GRID ST", latitude=lat, longitude=lon)
            for n, (lat, lon) in enumerate(points)
        )
        session.add(Property(address="NOWHERE", latitude=None, longitude=None))
    with tenant_session(other_org.id) as session:
        session.add(Property(address="1 THEIR ST", latitude=42.0, longitude=-93.6))
    with tenant_session(org.id) as session:
        where = {
            pid: (float(lat), float(lon))
            for pid, lat, lon in session.execute(
                select(Property.id, Property.latitude, Property.longitude).where(
                    Property.latitude.is_not(None)
                )
            )
        }
        assert len(where) == len(points)
        for ring in rings:
            lats, lons = [v[0] for v in ring], [v[1] for v in ring]
            box = (min(lats), min(lons), max(lats), max(lons))
            found = set(session.scalars(read_model.in_area(*box, ring)))
            expected = {
                pid
                for pid, (lat, lon) in where.items()
                if box[0] <= lat <= box[2] and box[1] <= lon <= box[3] and _ray_cast(lat, lon, ring)
            }
            assert found == expected, (len(ring), len(found ^ expected))
            assert 0 < len(found) < len(points)
        boxed = set(session.scalars(read_model.in_area(41.95, -93.65, 42.05, -93.55)))
        assert boxed == {
            pid
            for pid, (lat, lon) in where.items()
            if 41.95 <= lat <= 42.05 and -93.65 <= lon <= -93.55
        }
        flat = [(42.0, -93.7), (42.0, -93.5), (42.0, -93.6)]
        assert list(session.scalars(read_model.in_area(41.9, -93.7, 42.1, -93.5, flat))) == []
