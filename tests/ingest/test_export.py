"""Export neutralises formula-looking text; stored data stays as given."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl

from reos.ingest.export import neutralize_cell, write_csv, write_xlsx
from reos.ingest.mapping import build_mapping
from reos.ingest.readers import open_table
from reos.ingest.validation import process_rows

DANGEROUS = ['=HYPERLINK("http://x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]


def test_neutralize_cell() -> None:
    assert [neutralize_cell(v) for v in DANGEROUS] == ["'" + v for v in DANGEROUS]
    assert neutralize_cell("-5") == "-5"
    assert neutralize_cell("+1.5") == "+1.5"
    assert neutralize_cell(-5) == -5
    assert neutralize_cell("Smith = owner") == "Smith = owner"
    assert neutralize_cell(None) is None


def test_formula_cells_are_data_on_import_and_neutral_on_export(tmp_path: Path) -> None:
    source = tmp_path / "owners.csv"
    with open(source, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["APN", "OWNER NAME", "MAIL CITY"])
        for index, value in enumerate(["=1+1", "+SUM(A1)", "-A1", "@evil"], start=1):
            writer.writerow([f"P{index}", value, "-5"])
    with open_table(source) as reader:
        mapping = build_mapping(reader.headers)
        results = [v for chunk in reader.chunks() for v in process_rows(mapping, chunk)]
    stored = [r.values["owner_name"] for r in results]
    assert stored == ["=1+1", "+SUM(A1)", "-A1", "@evil"]  # kept as given
    assert all(not r.quarantined for r in results)

    rows = [
        [r.values["parcel_number"], r.values["owner_name"], r.values["mailing_city"], -5]
        for r in results
    ]
    out_csv = tmp_path / "out.csv"
    assert write_csv(out_csv, ["apn", "owner", "city", "n"], rows) == 4
    with open(out_csv, encoding="utf-8-sig", newline="") as handle:
        written = list(csv.reader(handle))
    assert [r[1] for r in written[1:]] == ["'=1+1", "'+SUM(A1)", "'-A1", "'@evil"]
    assert {r[2] for r in written[1:]} == {"-5"} and {r[3] for r in written[1:]} == {"-5"}

    out_xlsx = tmp_path / "out.xlsx"
    write_xlsx(out_xlsx, ["apn", "owner", "city", "n"], rows)
    sheet = openpyxl.load_workbook(out_xlsx).active
    assert sheet is not None
    assert sheet["B2"].value == "'=1+1" and sheet["B2"].data_type == "s"
    assert sheet["D2"].value == -5 and sheet["D2"].data_type == "n"
