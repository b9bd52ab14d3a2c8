"""The validation gate: ranges, patterns, cross-field checks, required fields."""

from __future__ import annotations

from datetime import date
from typing import Any

from reos.ingest.mapping import MappedRow
from reos.ingest.readers import RawRow
from reos.ingest.validation import validate_row
from reos.kernel.rows import Validated

TODAY = date(2024, 6, 1)


def check(
    record: str = "sale", key: str | None = None, raw_row: RawRow | None = None, **values: Any
) -> Validated:
    mapped = MappedRow(
        1,
        values,
        {},
        [],
        [],
        {k: f"col_{k}" for k in values},
        {k: str(v) for k, v in values.items()},
    )
    return validate_row(mapped, record=record, key=key, raw_row=raw_row, today=TODAY)


SALE = {"parcel_number": "1-2-3", "sale_price": 250_000.0, "close_date": date(2024, 1, 2)}


def reasons(result: Validated) -> dict[str, str]:
    return {i.field: i.reason for i in result.errors}


def test_valid_sale_passes() -> None:
    result = check(**SALE, state="Iowa", zip="50010-1234")
    assert result.errors == [] and not result.quarantined
    assert result.values["state"] == "IA" and result.values["zip"] == "50010"
    assert result.values["attributes"] == {}


def test_ranges_name_field_column_value_and_reason() -> None:
    result = check(
        **{**SALE, "sale_price": 0.0},
        beds=51,
        baths_full=-1,
        year_built=2026,
        latitude=91.0,
        longitude=10.0,
    )
    got = reasons(result)
    assert got["sale_price"] == "must be greater than 0 USD"
    assert got["beds"] == "must be at most 50"
    assert got["baths_full"] == "must be at least 0"
    assert got["year_built"] == "must be at most 2025"
    assert got["latitude"] == "must be at most 90 degrees"
    assert "longitude" not in got and "longitude" not in result.values
    issue = next(i for i in result.errors if i.field == "beds")
    assert (issue.column, issue.raw_value) == ("col_beds", "51")


def test_state_and_zip_patterns() -> None:
    got = check(**SALE, state="XX", zip="ABCDE")
    assert reasons(got) == {
        "state": "not a US state or territory code",
        "zip": "ZIP code must be 5 digits (ZIP+4 allowed)",
    }
    padded = check(**SALE, zip="2110")
    assert padded.values["zip"] == "02110"
    assert padded.warnings[0].reason == "ZIP '2110' padded with leading zeros to '02110'"
    assert check(**SALE, zip="02110").values["zip"] == "02110"


def test_future_close_date_and_required_fields() -> None:
    assert (
        reasons(check(**{**SALE, "close_date": date(2024, 6, 2)}))["close_date"]
        == "close date 2024-06-02 is in the future"
    )
    missing = reasons(check(parcel_number="1"))
    assert missing == {
        "sale_price": "required for a sale and empty",
        "close_date": "required for a sale and empty",
    }
    no_property = reasons(check(sale_price=1e5, close_date=date(2020, 1, 1)))
    assert (
        "a sale needs a parcel number, an address, coordinates or a record id"
        in no_property["_row"]
    )
    located = check(sale_price=1e5, close_date=date(2020, 1, 1), latitude=42.0, longitude=-93.0)
    assert located.errors == []


def test_owner_and_property_requirements() -> None:
    assert reasons(check("owner", parcel_number="1")) == {
        "owner_name": "an owner needs a name or an owner record id"
    }
    # a contact-list row without a property key is valid: kept as an unlinked owner record
    assert check("owner", owner_name="SMITH JOHN").errors == []
    assert check("owner", owner_name="SMITH JOHN", parcel_number="9").errors == []
    assert "_row" in reasons(check("property", beds=3))
    assert reasons(check("property", key="parcel_number", address="1 Main St"))[
        "parcel_number"
    ].startswith("parcel_number is the key")


def test_cross_field_checks() -> None:
    lat_only = check(**SALE, latitude=42.0)
    assert reasons(lat_only) == {
        "longitude": "latitude is given without longitude; both or neither"
    }
    assert "latitude" not in lat_only.values
    assert "coordinates 0,0" in reasons(check(**SALE, latitude=0.0, longitude=0.0))["latitude"]
    half_only = check(**SALE, baths_half=1)
    assert half_only.errors == []
    big = check(
        **SALE, property_type="single_family", living_area_sqft=5_000.0, lot_size_sqft=4_000.0
    )
    assert big.errors == []
    assert big.warnings[0].field == "living_area_sqft"
    assert "exceeds the lot" in big.warnings[0].reason
    nominal = check(**{**SALE, "sale_price": 10.0})
    assert "nominal price" in nominal.warnings[0].reason and not nominal.quarantined


def test_reader_problems_quarantine_and_warnings_travel() -> None:
    raw = RawRow(3, {}, problems=["row has 5 cells but the header has 3"], warnings=["short row"])
    result = check(raw_row=raw, **SALE)
    assert result.quarantined
    assert result.errors[0].field == "_row"
    assert [w.reason for w in result.warnings] == ["short row"]


def test_address_is_normalised_and_raw_kept() -> None:
    result = check(
        **SALE, address="123 north main street apt 4b", city="Springfield", state="IL", zip="62701"
    )
    values = result.values
    assert values["address"] == "123 north main street apt 4b"
    assert (values["street_number"], values["street_name"], values["unit"]) == (
        "123",
        "N MAIN ST",
        "APT 4B",
    )
    assert values["address_key"] == "123 N MAIN ST 4B 62701"
    po = check(**SALE, address="P.O. Box 12", city="Ames", state="IA")
    assert po.values["address_is_po_box"] is True
    assert po.warnings[0].reason == "site address is a P.O. box, not a location"
