"""Mapping: auto-recognition, mapping files, transforms and coercion."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from reos.errors import ValidationFailed
from reos.ingest.mapping import apply_mapping, build_mapping, load_mapping, parse_mapping
from reos.ingest.readers import RawRow, open_table
from reos.ingest.validation import process_rows

RESO = [
    "ListingKey", "ListPrice", "ClosePrice", "CloseDate", "LivingArea", "LotSizeAcres",
    "BedroomsTotal", "BathroomsFull", "BathroomsHalf", "YearBuilt", "PropertyType",
    "PropertySubType", "ParcelNumber", "UnparsedAddress", "City", "StateOrProvince",
    "PostalCode", "Latitude", "Longitude", "StoriesTotal", "TaxAnnualAmount", "Remarks",
]  # fmt: skip


def row(**values: str | None) -> RawRow:
    return RawRow(1, dict(values))


def test_reso_names_are_recognised() -> None:
    mapping = build_mapping(RESO)
    sources = {t: r.columns for t, r in mapping.rules.items()}
    assert sources["sale_price"] == ("ClosePrice",)
    assert sources["list_price"] == ("ListPrice",)
    assert sources["property_type"] == ("PropertySubType",)
    assert sources["source_record_id"] == ("ListingKey",)
    assert mapping.rules["lot_size_sqft"].convert == "acres_to_sqft"
    assert mapping.record == "sale" and mapping.key == "source_record_id"
    assert mapping.ignored_columns == ["PropertyType", "Remarks"]
    mapped = apply_mapping(
        mapping,
        row(
            ClosePrice="$412,500",
            LotSizeAcres="0.25",
            CloseDate="2024-03-05",
            PropertySubType="Condominium",
            TaxAnnualAmount="3,210.55",
        ),
    )
    assert mapped.values["sale_price"] == 412_500.0
    assert mapped.values["lot_size_sqft"] == pytest.approx(10_890.0)
    assert mapped.values["close_date"] == date(2024, 3, 5)
    assert mapped.values["close_date_precision"] == "day"
    assert mapped.values["property_type"] == "condo"
    assert mapped.attributes == {"tax_annual_amount": "3,210.55"}


def test_vendor_spellings_case_space_underscore_insensitive() -> None:
    headers = ["SALE_PRICE", "Sale Date", "sqft", "beds", "baths", "Zip Code", "lat", "lng", "APN",
               "Property Address", "OWNER NAME", "OWNER2", "OWNER_ID", "MAILING ADDRESS",
               "MAIL ADDRESS 2", "MAIL CITY", "MAIL STATE", "MAIL ZIP", "SITUS ADDRESS"]  # fmt: skip
    mapping = build_mapping(headers)
    got = {t: r.columns[0] for t, r in mapping.rules.items()}
    assert got == {
        "sale_price": "SALE_PRICE", "close_date": "Sale Date", "living_area_sqft": "sqft",
        "beds": "beds", "baths_full": "baths", "baths_half": "baths", "zip": "Zip Code",
        "latitude": "lat", "longitude": "lng", "parcel_number": "APN",
        "address": "Property Address", "owner_name": "OWNER NAME", "owner_name_2": "OWNER2",
        "owner_record_id": "OWNER_ID", "mailing_address": "MAILING ADDRESS",
        "mailing_address_2": "MAIL ADDRESS 2", "mailing_city": "MAIL CITY",
        "mailing_state": "MAIL STATE", "mailing_zip": "MAIL ZIP",
    }  # fmt: skip
    assert mapping.ignored_columns == ["SITUS ADDRESS"]
    mapped = apply_mapping(mapping, row(baths="2.5"))
    assert (mapped.values["baths_full"], mapped.values["baths_half"]) == (2, 1)


def test_missing_required_column_names_it_and_suggests_closest_header() -> None:
    with pytest.raises(ValidationFailed) as err:
        build_mapping(["SalePrce", "CloseDate", "APN"], record="sale")
    assert "No column for required field 'sale_price' of a sale record" in err.value.message
    assert "The closest header is 'SalePrce'" in err.value.message
    assert err.value.field == "sale_price"


def test_mapping_file_column_missing_suggests_closest(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(
        "key: parcel_number\nfields:\n  parcel_number: APN\n  sale_price: Sale Price\n  close_date: Sale_Date\n"
    )
    with pytest.raises(
        ValidationFailed,
        match=r"field 'sale_price' reads column 'Sale Price', which is not in the file. The closest header is 'Sale_Price'",
    ):
        build_mapping(["APN", "Sale_Price", "Sale_Date"], load_mapping(path))


def test_mapping_file_mistakes_are_named() -> None:
    with pytest.raises(
        ValidationFailed, match=r"Unknown field 'sale_prise'. Did you mean 'sale_price'"
    ):
        parse_mapping({"fields": {"sale_prise": "p"}})
    with pytest.raises(ValidationFailed, match="unknown conversion 'feet'"):
        parse_mapping({"fields": {"lot_size_sqft": {"column": "a", "convert": "feet"}}})
    with pytest.raises(ValidationFailed, match="needs exactly one of column, concat, constant"):
        parse_mapping({"fields": {"city": {"column": "a", "constant": "X"}}})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$1,234,567", 1_234_567.0),
        (" 250 000 ", 250_000.0),
        ("(1,200)", -1_200.0),
        ("$-5", -5.0),
        ("12.5", 12.5),
    ],
)
def test_numbers_with_currency_and_separators(text: str, expected: float) -> None:
    mapping = build_mapping(["price", "date", "apn"])
    assert apply_mapping(mapping, row(price=text)).values["sale_price"] == expected


def test_bad_number_is_a_field_error_naming_column_and_value() -> None:
    mapping = build_mapping(["price", "date", "apn"])
    mapped = apply_mapping(mapping, row(price="call agent"))
    assert "sale_price" not in mapped.values
    (issue,) = mapped.errors
    assert (issue.field, issue.column, issue.raw_value, issue.reason) == (
        "sale_price",
        "price",
        "call agent",
        "not a number",
    )


@pytest.mark.parametrize(
    ("text", "expected", "precision"),
    [
        ("2010-05-17", date(2010, 5, 17), "day"),
        ("5/17/2010", date(2010, 5, 17), "day"),
        ("17-May-2010", date(2010, 5, 17), "day"),
        ("40315", date(2010, 5, 17), "day"),
        ("2010-05", date(2010, 5, 1), "month"),
        ("2010", date(2010, 1, 1), "year"),
        ("2010-05-17T14:30:00Z", date(2010, 5, 17), "day"),
    ],
)
def test_dates_in_many_formats(text: str, expected: date, precision: str) -> None:
    mapping = build_mapping(["price", "Sale Date", "apn"])
    mapped = apply_mapping(mapping, row(**{"Sale Date": text}))
    assert mapped.values["close_date"] == expected
    assert mapped.values["close_date_precision"] == precision


def test_transforms_constant_values_concat_strip_prefix_default() -> None:
    spec = parse_mapping(
        {
            "key": "sale_record_id",
            "fields": {
                "sale_record_id": {"transform": "row_number", "prefix": "f-"},
                "sale_price": "P",
                "close_date": {
                    "concat": ["Y", "M"],
                    "separator": "-",
                    "format": ["%Y-%m", "%Y/%m"],
                    "precision": "month",
                },
                "address": {"concat": ["No", "Street", "Suffix"]},
                "zip": {"column": "Z", "strip_prefix": ["z", "Z"]},
                "state": {"constant": "ia"},
                "condition": {"column": "C", "values": {"Above_Average": 6, "Good": 7}},
                "pool": {"column": "Pool", "values": {"No_Pool": False}, "otherwise": True},
                "lot_size_sqft": {"column": "M2", "convert": "m2_to_sqft"},
                "beds": {"column": "B", "default": 0},
                "attr.style": "S",
            },
        }
    )
    mapping = build_mapping(
        ["P", "Y", "M", "No", "Street", "Suffix", "Z", "C", "Pool", "M2", "B", "S"], spec
    )
    raw = RawRow(7, {"P": "100", "Y": "2009", "M": "6", "No": "12", "Street": "Elm", "Suffix": " St ", "Z": "z50010",
                     "C": "above_average", "Pool": "Excellent", "M2": "100", "B": None, "S": "0601"})  # fmt: skip
    mapped = apply_mapping(mapping, raw)
    assert mapped.errors == []
    assert mapped.values == {
        "sale_record_id": "f-7", "sale_price": 100.0, "close_date": date(2009, 6, 1),
        "close_date_precision": "month", "address": "12 Elm St", "zip": "50010",
        "state": "ia", "condition": 6, "pool": True,
        "lot_size_sqft": pytest.approx(1076.391041670972), "beds": 0,
    }  # fmt: skip
    assert mapped.attributes == {"style": "0601"}
    assert mapping.used_columns["Y"] == ["close_date"]
    bad = apply_mapping(mapping, RawRow(8, {**raw.values, "C": "Superb"}))
    assert bad.errors[0].field == "condition"
    assert "code not in the mapping's `values` (Above_Average, Good)" in bad.errors[0].reason


def test_booleans() -> None:
    spec = parse_mapping(
        {"key": "parcel_number", "fields": {"parcel_number": "apn", "pool": "pool"}}
    )
    mapping = build_mapping(["apn", "pool"], spec)
    for text, expected in [("Y", True), ("no", False), ("1", True), ("0", False), ("TRUE", True)]:
        assert apply_mapping(mapping, row(apn="1", pool=text)).values["pool"] is expected
    assert (
        apply_mapping(mapping, row(apn="1", pool="maybe"))
        .errors[0]
        .reason.startswith("expected yes/no")
    )


def test_parquet_with_wrong_types_quarantines_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "sales.parquet"
    pq.write_table(
        pa.table({
            "ParcelNumber": ["A1", "A2", "A3"],
            "ClosePrice": ["250000", "garbage", "$1,5x0"],
            "CloseDate": ["2020-01-02", "2020-01-03", "not a date"],
            "BedroomsTotal": ["3", "three", "2"],
        }),
        path,
    )  # fmt: skip
    with open_table(path) as reader:
        mapping = build_mapping(reader.headers)
        results = [
            v
            for chunk in reader.chunks()
            for v in process_rows(mapping, chunk, today=date(2024, 1, 1))
        ]
    assert [r.quarantined for r in results] == [False, True, True]
    assert results[0].values["sale_price"] == 250_000.0
    assert {(i.field, i.raw_value) for i in results[1].errors} == {
        ("sale_price", "garbage"),
        ("beds", "three"),
    }
    assert {i.field for i in results[2].errors} == {"sale_price", "close_date"}
