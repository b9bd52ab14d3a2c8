"""Bad input through the CLI: one line `error: ...`, a non-zero exit, no traceback, and
no row lost silently."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from reos.db.session import tenant_session
from reos.models import Property, Sale
from reos.models.imports import QuarantinedRow
from tests.ingest.helpers import SALES_HEADER, balanced, cli_json, run_cli, sale_row, write_csv


def _fails(capsys: Any, org: Any, path: Path, *extra: str) -> str:
    code, _out, err = run_cli(capsys, "import", "sales", str(path), "--org", org.slug, *extra)
    assert code != 0
    assert err.startswith("error") and "Traceback" not in err and err.count("\n") == 1, err
    return err


def test_empty_file(tmp_path: Path, org: Any, capsys: Any) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert "empty" in _fails(capsys, org, path)


def test_header_only(tmp_path: Path, org: Any, capsys: Any) -> None:
    report = cli_json(
        capsys,
        "import",
        "sales",
        str(write_csv(tmp_path / "h.csv", SALES_HEADER, [])),
        "--org",
        org.slug,
    )
    assert report["rows_read"] == 0 and report["status"] == "done" and balanced(report)


def test_required_column_missing_names_it_and_suggests(
    tmp_path: Path, org: Any, capsys: Any
) -> None:
    header = [h if h != "SALE PRICE" else "SALE PRCE" for h in SALES_HEADER]
    err = _fails(capsys, org, write_csv(tmp_path / "m.csv", header, [sale_row(1)]))
    assert "sale_price" in err and "SALE PRCE" in err


def test_ragged_rows_are_quarantined_not_lost(tmp_path: Path, org: Any, capsys: Any) -> None:
    path = tmp_path / "ragged.csv"
    lines = [",".join(SALES_HEADER), ",".join(map(str, sale_row(1))), ",".join(map(str, sale_row(2))) + ",extra,cells",
             ",".join(map(str, sale_row(3)[:8]))]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    report = cli_json(capsys, "import", "sales", str(path), "--org", org.slug)
    assert balanced(report) and report["rows_read"] == 3 and report["quarantined"] >= 1
    with tenant_session(org.id) as s:
        raw = s.scalars(select(QuarantinedRow.raw).where(QuarantinedRow.row_number == 2)).one()
        assert raw["_extra_cells"].startswith("extra")


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252"])
def test_legacy_encodings(tmp_path: Path, org: Any, capsys: Any, encoding: str) -> None:
    row = sale_row(
        1,
        **{
            "SITUS ADDRESS": "12 Peña Street",
            "CITY": "Españ’a" if encoding == "cp1252" else "España",
        },
    )
    path = write_csv(tmp_path / "enc.csv", SALES_HEADER, [row], encoding=encoding)
    report = cli_json(capsys, "import", "sales", str(path), "--org", org.slug)
    assert report["inserted"] == 1
    with tenant_session(org.id) as s:
        assert s.scalars(select(Property.address)).one() == "12 Peña Street"


def test_fifty_megabyte_cell(tmp_path: Path, org: Any, capsys: Any) -> None:
    path = tmp_path / "huge.csv"
    with open(path, "w") as fh:
        fh.write(",".join(SALES_HEADER) + "\n")
        fh.write(",".join(map(str, sale_row(1))) + "\n")
        row = sale_row(2)
        row[1] = "x" * (50 * 1024 * 1024)
        fh.write(",".join(map(str, row)) + "\n")
    report = cli_json(capsys, "import", "sales", str(path), "--org", org.slug)
    assert (report["inserted"], report["quarantined"]) == (1, 1) and balanced(report)
    with tenant_session(org.id) as s:
        reasons = s.scalars(select(QuarantinedRow.reasons)).one()
        assert "limit" in reasons[0]["reason"]


def test_money_and_four_date_formats(tmp_path: Path, org: Any, capsys: Any) -> None:
    dates = ["2020-05-17", "5/17/2020", "17-May-2020", "May 17, 2020"]
    rows = [
        sale_row(i, **{"SALE DATE": d, "SALE PRICE": "$1,234,567.50"})
        for i, d in enumerate(dates, start=1)
    ]
    report = cli_json(
        capsys,
        "import",
        "sales",
        str(write_csv(tmp_path / "d.csv", SALES_HEADER, rows)),
        "--org",
        org.slug,
    )
    assert report["inserted"] == 4
    with tenant_session(org.id) as s:
        got = s.execute(select(Sale.close_date, Sale.sale_price)).all()
        assert {d.isoformat() for d, _p in got} == {"2020-05-17"}
        assert {float(p) for _d, p in got} == {1_234_567.5}


def test_formula_cells_kept_as_data(tmp_path: Path, org: Any, capsys: Any) -> None:
    rows = [sale_row(i, CITY=c) for i, c in enumerate(["=1+2", "+cmd", "-x", "@SUM(A1)"], start=1)]
    report = cli_json(
        capsys,
        "import",
        "sales",
        str(write_csv(tmp_path / "f.csv", SALES_HEADER, rows)),
        "--org",
        org.slug,
    )
    assert report["inserted"] == 4
    with tenant_session(org.id) as s:
        assert set(s.scalars(select(Property.city))) == {"=1+2", "+cmd", "-x", "@SUM(A1)"}


def test_binary_file_named_csv(tmp_path: Path, org: Any, capsys: Any) -> None:
    path = tmp_path / "photo.csv"
    path.write_bytes(b"PK\x03\x04\x00\x00binary\x00stuff" * 100)
    assert "XLSX" in _fails(capsys, org, path)


def test_parquet_with_wrong_types(tmp_path: Path, org: Any, capsys: Any) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({
        "APN": [1, 2], "Sale Price": [True, False], "Sale Date": [3.5, 4.5], "Sale ID": ["a", "b"],
        "Address": ["1 Oak St, Ames, IA 50010", "2 Oak St, Ames, IA 50010"],
    })  # fmt: skip
    path = tmp_path / "typed.parquet"
    pq.write_table(table, path)
    code, out, err = run_cli(capsys, "import", "sales", str(path), "--org", org.slug, "--json")
    assert code == 2 and "all 2 rows were quarantined" in err  # nothing imported: a failure
    report = json.loads(out)
    assert report["quarantined"] == 2 and balanced(report)


def test_mapping_errors_are_one_line(tmp_path: Path, org: Any, capsys: Any) -> None:
    path = write_csv(tmp_path / "s.csv", SALES_HEADER, [sale_row(1)])
    bad = tmp_path / "bad.yaml"
    bad.write_text("fields:\n  sale_prize: SALE PRICE\n")
    assert "sale_price" in _fails(capsys, org, path, "--mapping", str(bad))
    assert "not found" in _fails(capsys, org, tmp_path / "missing.csv").lower()
