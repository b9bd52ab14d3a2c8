"""The import and quarantine commands through the real CLI: an XLSX export of rows holding
control characters, an export to a folder that does not exist, an import that quarantines
every row, and the wording of the mapping's refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl

from tests.ingest.helpers import SALES_HEADER, run_cli, sale_row, write_csv


def _import(capsys: Any, path: Path, org: Any) -> tuple[int, str, str]:
    return run_cli(capsys, "import", "sales", str(path), "--org", org.slug)


def test_xlsx_export_escapes_control_characters(tmp_path: Path, capsys: Any, org: Any) -> None:
    rows = [
        sale_row(1),
        sale_row(2, **{"SALE PRICE": "abc", "CITY": "Am\x01es"}),
        sale_row(3, **{"SALE PRICE": "n/a", "SITUS ADDRESS": "7 Oak\x0bSt", "CITY": "\x1b[31mX"}),
    ]
    path = write_csv(tmp_path / "sales.csv", SALES_HEADER, rows)
    code, out, err = _import(capsys, path, org)
    assert code == 0, err
    assert "quarantined 2" in out
    xlsx = tmp_path / "q.xlsx"
    code, out, err = run_cli(capsys, "quarantine", "export", str(xlsx), "--org", org.slug)
    assert code == 0, err
    assert f"wrote 2 rows to {xlsx}" in out
    sheet = openpyxl.load_workbook(xlsx).active
    assert sheet is not None
    table = [[c.value for c in row] for row in sheet.iter_rows()]
    header = table[0]
    by_parcel = {r[header.index("PARCEL")]: dict(zip(header, r, strict=True)) for r in table[1:]}
    assert by_parcel["P-00002"]["CITY"] == "Am\\x01es"
    assert by_parcel["P-00003"]["SITUS ADDRESS"] == "7 Oak\\x0bSt"
    assert by_parcel["P-00003"]["CITY"] == "\\x1b[31mX"
    # the CSV export keeps the characters exactly as imported
    csv_out = tmp_path / "q.csv"
    assert run_cli(capsys, "quarantine", "export", str(csv_out), "--org", org.slug)[0] == 0
    text = csv_out.read_text(encoding="utf-8-sig")
    assert "Am\x01es" in text and "7 Oak\x0bSt" in text


def test_export_to_a_missing_folder_is_one_line(tmp_path: Path, capsys: Any, org: Any) -> None:
    path = write_csv(
        tmp_path / "s.csv", SALES_HEADER, [sale_row(1), sale_row(2, **{"SALE PRICE": "x"})]
    )
    assert _import(capsys, path, org)[0] == 0
    for name in ("q.xlsx", "q.csv"):
        target = tmp_path / "no" / "such" / name
        code, out, err = run_cli(capsys, "quarantine", "export", str(target), "--org", org.slug)
        assert code == 2
        lines = err.strip().splitlines()
        assert len(lines) == 1, err
        assert lines[0].startswith("error") and str(tmp_path / "no" / "such") in lines[0]
        assert "Traceback" not in err and not target.exists()
    taken = tmp_path / "taken.csv"
    taken.mkdir()  # a folder where the file should go
    code, _out, err = run_cli(capsys, "quarantine", "export", str(taken), "--org", org.slug)
    assert code == 2 and err.count("\n") == 1 and f"cannot write {taken}" in err, err


def test_an_import_that_quarantines_every_row_fails(tmp_path: Path, capsys: Any, org: Any) -> None:
    rows = [sale_row(1, **{"SALE PRICE": "abc"}), sale_row(2, **{"SALE PRICE": "n/a"})]
    path = write_csv(tmp_path / "bad.csv", SALES_HEADER, rows)
    code, out, err = _import(capsys, path, org)
    assert code == 2
    assert "quarantined 2" in out  # the report is still shown
    error_lines = [line for line in err.strip().splitlines() if line.startswith("error")]
    assert len(error_lines) == 1 and "all 2 rows were quarantined" in error_lines[0], err
    assert "Traceback" not in err
    # one good row is enough for success
    mixed = write_csv(tmp_path / "mixed.csv", SALES_HEADER, [sale_row(3), *rows])
    assert _import(capsys, mixed, org)[0] == 0


def test_owner_mapping_refusal_says_an_owner(tmp_path: Path, capsys: Any, org: Any) -> None:
    path = write_csv(tmp_path / "owners.csv", ["OWNER NAME", "MAIL CITY"], [["Ann Lee", "Ames"]])
    code, _out, err = run_cli(capsys, "import", "owners", str(path), "--org", org.slug)
    assert code == 2, err
    assert "an owner record" in err and "a owner" not in err
