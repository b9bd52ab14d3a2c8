"""The two sample datasets through reader + mapping + validation, end to end."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

from reos.ingest.mapping import build_mapping, load_mapping
from reos.ingest.readers import open_table
from reos.ingest.validation import process_rows
from reos.kernel.rows import Validated

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"


def run(data: str, mapping: str) -> list[Validated]:
    with open_table(SAMPLES / data) as reader:
        effective = build_mapping(reader.headers, load_mapping(SAMPLES / mapping))
        return [v for chunk in reader.chunks(1_000) for v in process_rows(effective, chunk)]


def test_ames_all_rows_valid_with_month_precision() -> None:
    results = run("ames_iowa_sales_2006_2010.csv", "ames.mapping.yaml")
    assert len(results) == 2930
    assert sum(r.quarantined for r in results) == 0
    values = [r.values for r in results]
    assert {v["close_date_precision"] for v in values} == {"month"}
    assert all(v["close_date"].day == 1 for v in values)
    assert min(v["close_date"] for v in values) == date(2006, 1, 1)
    assert max(v["close_date"] for v in values) == date(2010, 7, 1)
    assert len({v["sale_record_id"] for v in values}) == 2930
    first = values[0]
    assert (first["sale_price"], first["living_area_sqft"], first["lot_size_sqft"]) == (
        215_000.0,
        1656.0,
        31770.0,
    )
    assert (first["condition"], first["property_type"], first["state"], first["city"]) == (
        5,
        "single_family",
        "IA",
        "AMES",
    )
    assert first["attributes"]["total_basement_sqft"] == 1080
    assert Counter(v["property_type"] for v in values) == {
        "single_family": 2425,
        "townhouse": 334,
        "multi_family": 171,
    }
    assert Counter(v["arm_length"] for v in values) == {True: 2413 + 245, False: 190 + 46 + 24 + 12}
    assert Counter(v["condition"] for v in values)[1] == 7  # Very_Poor
    assert sum(v["pool"] for v in values) == 13
    # the one warning: a house remodelled (2001) before it was recorded as built (2002)
    warnings = [w.reason for r in results for w in r.warnings]
    assert warnings == ["remodel year 2001 is before the year built 2002"]


def test_sacramento_zips_without_z_and_constant_date() -> None:
    results = run("sacramento_ca_sales_2008.csv", "sacramento.mapping.yaml")
    assert len(results) == 932
    assert sum(r.quarantined for r in results) == 0
    values = [r.values for r in results]
    assert all(len(v["zip"]) == 5 and v["zip"].isdigit() for v in values)
    assert values[0]["zip"] == "95838"
    assert {(v["close_date"], v["close_date_precision"]) for v in values} == {
        (date(2008, 5, 1), "month")
    }
    assert Counter(v["property_type"] for v in values) == {
        "single_family": 866,
        "condo": 53,
        "multi_family": 13,
    }
    assert "ELK GROVE" in {v["city"] for v in values}
    half = [v for v in values if v["attributes"]["baths_total"] == 2.5]
    assert half and all((v["baths_full"], v["baths_half"]) == (2, 1) for v in half)
