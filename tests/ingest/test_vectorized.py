"""The column-block path (reader blocks + vectorised gate) gives exactly what the row-by-row
path gives: the same values, errors, warnings and raw cells for every row."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from reos.ingest.readers import open_table
from reos.ingest.service import prepare
from reos.ingest.synthetic import write_sales_file
from reos.ingest.validation import process_rows
from reos.ingest.vectorized import process_block
from reos.kernel.bulk import JsonText

from .helpers import write_csv

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
TODAY = date(2024, 6, 1)

HEADER = ["APN", "Situs Address", "City", "State", "Zip", "Latitude", "Longitude",
          "Property Type", "Living Area", "Lot Size", "Beds", "Year Built", "Sale ID",
          "Sale Date", "Sale Price", "Pool", "Notes"]  # fmt: skip
GOOD = ["100-1", "123 N Main St", "Ames", "IA", "50010", "42.03", "-93.62", "SFR", "1500",
        "8,000", "3", "1990", "S-1", "2020-05-17", "$250,000", "N", "corner lot"]  # fmt: skip
#: One change per row to the good row: each is a spelling a county export really has, or a
#: mistake the gate must catch with its own message.
VARIANTS: list[dict[str, str]] = [
    {}, {"Sale Price": "(1,200)"}, {"Sale Price": "call agent"}, {"Sale Price": "NA"},
    {"Sale Price": "-"}, {"Sale Price": " 199000 "}, {"Sale Price": "$-5"}, {"Sale Price": "45%"},
    {"Sale Price": "nan"}, {"Sale Price": "inf"}, {"Sale Price": "1e5"}, {"Sale Price": "500"},
    {"Sale Price": "1_000_000"}, {"Sale Price": "0"}, {"Beds": "2.5"}, {"Beds": "3.0"},
    {"Beds": "60"}, {"Beds": "-1"}, {"Sale Date": "5/17/2010"}, {"Sale Date": "05/07/2010"},
    {"Sale Date": "17-May-2010"}, {"Sale Date": "40315"}, {"Sale Date": "2010-05"},
    {"Sale Date": "2010"}, {"Sale Date": "2099-01-01"}, {"Sale Date": "2010-02-30"},
    {"Sale Date": "13/45/2010"}, {"Sale Date": "1700-01-01"}, {"Sale Date": "2010-05-17T10:00:00"},
    {"Sale Date": "20100517"}, {"Sale Date": "not a date"}, {"Sale Date": ""},
    {"Zip": "50010-1234"}, {"Zip": "2110"}, {"Zip": "abc"}, {"Zip": "500101234"},
    {"Zip": "50010 1234"}, {"Zip": "50010-12"}, {"Zip": "02110-0042"},
    {"State": "Iowa"}, {"State": "XX"}, {"State": "ia"}, {"Latitude": "123.5"},
    {"Latitude": ""}, {"Latitude": "0", "Longitude": "0"}, {"Longitude": "abc"},
    {"Property Type": "Condominium"}, {"Property Type": "castle"}, {"Property Type": ""},
    {"Living Area": "9000", "Lot Size": "8000"}, {"Year Built": "2090"}, {"Year Built": "1650"},
    {"Pool": "Y"}, {"Pool": "maybe"}, {"Situs Address": "PO Box 12"},
    {"Situs Address": "garbage here"}, {"Situs Address": "12 W 3RD ST #4"},
    {"Situs Address": "4567 Oak Avenue Apt 2B"}, {"Situs Address": ""}, {"APN": ""},
    {"Sale ID": ""}, {"City": "Des Moines"}, {"Notes": "0601"}, {"Notes": "12.5"},
    {"Notes": "NA"}, {"APN": "x" * 70}, {"Lot Size": "0.5"},
]  # fmt: skip


def _compare(
    path: Path,
    entity: str = "sales",
    mapping: Path | None = None,
    chunk: int = 7,
    limit: int = 10**6,
) -> int:
    effective = prepare(path, entity, mapping_path=mapping).effective
    with open_table(path, max_cell_chars=limit) as reader:
        expected = [
            v for c in reader.chunks(chunk) for v in process_rows(effective, c, today=TODAY)
        ]
    with open_table(path, max_cell_chars=limit) as reader:
        got = [v for b in reader.blocks(chunk) for v in process_block(effective, b, today=TODAY)]
    assert len(got) == len(expected)
    for old, new in zip(expected, got, strict=True):
        assert new.row_number == old.row_number
        assert new.values == old.values and list(new.values) == list(old.values)
        assert new.errors == old.errors
        assert new.warnings == old.warnings
        if old.errors:
            assert new.raw == old.raw
    return sum(1 for v in expected if v.errors)


def test_edge_cases_match_the_row_by_row_gate(tmp_path: Path) -> None:
    rows = [[variant.get(h, GOOD[i]) for i, h in enumerate(HEADER)] for variant in VARIANTS]
    rows[3][12] = "S-3"
    for number, row in enumerate(rows):
        row[12] = row[12] and f"S-{number}"
    path = write_csv(tmp_path / "edge.csv", HEADER, rows)
    assert _compare(path) > 10


def test_structural_problems_match(tmp_path: Path) -> None:
    """Ragged rows, blank lines, an oversize cell and a stray Windows-1252 byte."""
    good = ",".join(GOOD).replace("8,000", "8000").replace("$250,000", "250000")
    lines = [",".join(HEADER), good, "", good + ",extra,cells", ",".join(GOOD[:5]), ",,,,",
             good.replace("corner lot", "x" * 2_000), good.replace("Ames", "Amés"), good]  # fmt: skip
    body = "\n".join(lines).encode("utf-8").replace("Amés".encode(), b"Am\xe9s")
    path = tmp_path / "ragged.csv"
    path.write_bytes(body + b"\n")
    assert _compare(path, chunk=3, limit=1_000) >= 3


def test_synthetic_file_matches(tmp_path: Path) -> None:
    path = tmp_path / "sales.csv"
    expected = write_sales_file(path, 3_000, repeat_rate=0.4, dirty_rate=0.02, seed=3)
    assert _compare(path, chunk=1_000) == expected.dirty


@pytest.mark.parametrize("name", ["ames", "sacramento"])
def test_sample_files_match(name: str) -> None:
    data = next(SAMPLES.glob(f"{name}_*.csv"))
    _compare(data, mapping=SAMPLES / f"{name}.mapping.yaml", chunk=500)


def test_reader_blocks_hold_the_same_rows_as_chunks(tmp_path: Path) -> None:
    body = "a,b,c\n1,2,3\n\n4,5\n6,7,8,9\n,,\n10,11,12\n"
    path = tmp_path / "r.csv"
    path.write_text(body)
    with open_table(path) as reader:
        rows = [r for c in reader.chunks(2) for r in c]
    with open_table(path) as reader:
        from_blocks = [b.row(i) for b in reader.blocks(2) for i in range(len(b))]
    assert from_blocks == rows


def test_provenance_text_is_json_dumps() -> None:
    texts = JsonText()
    shared = {"import_id": "i", "source": "s", "file": "f.csv", "row": 3, "observed_at": "t"}
    other = {"source": "api", "observed_at": "t0", "actor": None}
    for value in ({}, {"row": shared}, {"row": shared, "fields": {"zip": other}},
                  {"fields": {"beds": shared, "attr.ü": other}}):  # fmt: skip
        assert texts.provenance(value) == json.dumps(value)
    assert texts.plain({}) == "{}" and texts.plain([]) == "[]"
    assert texts.plain([{"a": 1}]) == json.dumps([{"a": 1}])


def test_bulk_collection_restores_the_collector_after_overlapping_imports() -> None:
    import gc

    from reos.ingest.pipeline import bulk_collection

    assert gc.isenabled()
    first, second = bulk_collection(), bulk_collection()
    first.__enter__()
    second.__enter__()  # a second import starts while the first runs
    assert not gc.isenabled()
    first.__exit__(None, None, None)  # the first ends: the second still runs
    assert not gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()
