"""The rent estimate on plain data: which rentals are comparables, the size adjustment, the
median, the confidence grade, and the refusal when the area has no rent records."""

from __future__ import annotations

from datetime import date

import pytest

from reos.errors import InsufficientData
from reos.underwriting.rent_estimate import MAX_COMPS, distance_km, estimate_rent

AS_OF = date(2024, 6, 1)
SUBJECT = {"latitude": 42.0, "longitude": -93.6, "zip": "50010", "living_area_sqft": 1500,
           "beds": 3, "property_type": "single_family"}  # fmt: skip


def rental(rid: str, rent: float, **extra: object) -> dict[str, object]:
    base = {"rent_record_id": rid, "monthly_rent": rent, "lease_date": date(2024, 1, 1),
            "latitude": 42.001, "longitude": -93.6, "living_area_sqft": 1500, "beds": 3,
            "property_type": "single_family"}  # fmt: skip
    return {**base, **extra}


def test_haversine_distance_of_one_degree_of_latitude() -> None:
    # one degree of a great circle on the mean Earth radius: 6371.0088 * pi / 180 km
    assert distance_km(0, 0, 1, 0) == pytest.approx(111.19508, abs=1e-4)


def test_same_size_comps_give_their_median() -> None:
    rents = [1400, 1500, 1550, 1600, 1700]
    estimate = estimate_rent(SUBJECT, [rental(f"r{i}", r) for i, r in enumerate(rents)], AS_OF)
    assert estimate.monthly_rent == 1550
    assert (estimate.low, estimate.high) == (1500, 1600)  # 25th and 75th percentiles
    # dispersion: mean |r - 1550| / 1550 = (150+50+0+50+150)/5/1550 = 5.2% -> A with 5 comps
    assert estimate.confidence == "A"


def test_a_larger_comp_is_adjusted_down_with_elasticity_0_6() -> None:
    estimate = estimate_rent(SUBJECT, [rental("big", 2000, living_area_sqft=3000)], AS_OF)
    (comp,) = estimate.comps
    assert comp.size_adjustment == pytest.approx(0.5**0.6)
    assert estimate.monthly_rent == pytest.approx(2000 * 0.5**0.6)
    assert estimate.confidence == "D"  # one comp


def test_only_near_recent_rentals_count_and_the_closest_win() -> None:
    rentals = [
        rental("far", 9000, latitude=43.0),  # about 111 km away
        rental("future", 9000, lease_date=date(2024, 7, 1)),  # after the date
        rental("old", 9000, lease_date=date(2020, 1, 1)),  # more than three years before
        rental("zero", 0),
        *[rental(f"near{i}", 1500 + i, latitude=42.0 + i / 1000) for i in range(8)],
        rental("same-zip-unlocated", 1500, latitude=None, longitude=None, zip="50010"),
    ]
    estimate = estimate_rent(SUBJECT, rentals, AS_OF)
    ids = [c.rent_record_id for c in estimate.comps]
    assert len(ids) == MAX_COMPS and not {"far", "future", "old", "zero"} & set(ids)
    assert ids[:3] == ["near0", "near1", "near2"]  # ranked by score, closest first


def test_the_subjects_property_type_is_preferred_when_there_are_enough() -> None:
    rentals = [rental(f"sf{i}", 1500) for i in range(3)] + [
        rental(f"condo{i}", 900, property_type="condo", latitude=42.0) for i in range(3)
    ]
    estimate = estimate_rent(SUBJECT, rentals, AS_OF)
    assert {c.rent_record_id[:2] for c in estimate.comps} == {"sf"}


def test_no_rent_records_for_this_area_is_refused_by_field() -> None:
    with pytest.raises(InsufficientData) as caught:
        estimate_rent(SUBJECT, [rental("far", 1500, latitude=45.0)], AS_OF)
    assert caught.value.message.startswith("no rent records for this area")
    assert caught.value.field == "gross_rent_monthly"
    with pytest.raises(InsufficientData):
        estimate_rent(SUBJECT, [], AS_OF)
