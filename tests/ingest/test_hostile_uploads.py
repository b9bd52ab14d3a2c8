"""Hostile and broken upload files: XLSX decompression bombs, a declared dimension that
lies, work the API request must not do, and text whose encoding changes mid-file.

Every refusal is checked for its message (the limit and the setting that raises it), its
speed (a generous floor: a 10x regression fails) and its memory (traced allocations).
"""

from __future__ import annotations

import io
import time
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from reos.config import reset_settings
from reos.db.session import tenant_session
from reos.errors import ValidationFailed
from reos.ingest.readers import open_table
from reos.jobs.worker import Worker
from reos.models import Sale
from reos.models.imports import ImportRun
from tests.ingest.helpers import SALES_HEADER, cli_json, run_cli, sale_row
from tests.ingest.xlsx_builder import (
    inline_row,
    shared_strings_xml,
    sheet_xml,
    write_workbook,
)

FAST_SECONDS = 5.0
SMALL_BYTES = 200 * 1024 * 1024


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Set ``REOS_XLSX_*`` limits for one test (the settings are read when a file opens)."""

    def set_limits(**values: int) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"REOS_XLSX_{name.upper()}", str(value))
        reset_settings()

    yield set_limits
    monkeypatch.undo()
    reset_settings()


def _refusal(action: Callable[[], Any]) -> tuple[ValidationFailed, float, int]:
    """Run ``action`` expecting a refusal: the error, seconds taken, peak traced bytes
    (timed and traced in two runs: tracing slows Python down several times)."""
    started = time.perf_counter()
    with pytest.raises(ValidationFailed) as raised:
        action()
    seconds = time.perf_counter() - started
    tracemalloc.start()
    try:
        with pytest.raises(ValidationFailed):
            action()
        return raised.value, seconds, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _read_all(path: Path) -> list[Any]:
    with open_table(path) as reader:
        return [row for chunk in reader.chunks() for row in chunk]


def _header_sheet(*rows: str, dimension: str | None = None) -> Any:
    return sheet_xml([inline_row(1, SALES_HEADER), *rows], dimension)


def _empty_strings(count: int) -> Iterator[str]:
    piece = "<si><t/></si>" * 100_000
    for _ in range(count // 100_000):
        yield piece


# --- 1. decompression bombs ---------------------------------------------------------------


def test_five_million_shared_strings_are_refused_from_the_zip_directory(tmp_path: Path) -> None:
    """The reported bomb: ~60 MB of ``<si><t/></si>`` in a small archive. Refused from the
    archive's directory (compression ratio) before any XML is parsed."""
    path = write_workbook(
        tmp_path / "bomb.xlsx", _header_sheet(), shared_strings_xml(_empty_strings(5_000_000))
    )
    assert path.stat().st_size < 1_000_000
    error, seconds, peak = _refusal(lambda: open_table(path))
    assert (
        "xl/sharedStrings.xml" in error.message
        and "REOS_XLSX_MAX_COMPRESSION_RATIO" in error.message
    )
    assert error.field == "file"
    assert seconds < FAST_SECONDS and peak < SMALL_BYTES


def test_shared_string_count_is_capped_while_streaming(tmp_path: Path, limits: Any) -> None:
    """With the ratio check out of the way (raised), the shared-string cap stops the same
    workbook when the strings are counted, not after they are all held."""
    limits(max_compression_ratio=1_000_000, max_shared_strings=100_000)
    path = write_workbook(
        tmp_path / "bomb.xlsx",
        _header_sheet(inline_row(2, sale_row(1))),
        shared_strings_xml(_empty_strings(5_000_000)),
    )
    error, seconds, peak = _refusal(lambda: _read_all(path))
    assert "100,000 shared strings" in error.message
    assert "REOS_XLSX_MAX_SHARED_STRINGS" in error.message
    assert seconds < FAST_SECONDS and peak < SMALL_BYTES


def test_declared_shared_string_count_over_the_cap_is_refused_at_open(
    tmp_path: Path, limits: Any
) -> None:
    limits(max_shared_strings=1_000)
    path = write_workbook(
        tmp_path / "many.xlsx",
        _header_sheet(),
        shared_strings_xml((f"<si><t>s{i}</t></si>" for i in range(2_000)), count=2_000),
    )
    error, _seconds, _peak = _refusal(lambda: open_table(path))
    assert (
        "2,000 shared strings" in error.message and "REOS_XLSX_MAX_SHARED_STRINGS" in error.message
    )


def test_shared_string_characters_are_capped(tmp_path: Path, limits: Any) -> None:
    limits(max_shared_string_chars=50_000)
    path = write_workbook(
        tmp_path / "long.xlsx",
        _header_sheet(inline_row(2, sale_row(1))),
        shared_strings_xml(f"<si><t>{'x' * 1000}{i}</t></si>" for i in range(100)),
    )
    error, _seconds, _peak = _refusal(lambda: _read_all(path))
    assert "50,000 characters" in error.message
    assert "REOS_XLSX_MAX_SHARED_STRING_CHARS" in error.message


def test_a_run_of_millions_of_cells_in_one_row_is_refused(tmp_path: Path, limits: Any) -> None:
    limits(max_compression_ratio=1_000_000)
    run = '<c r="A2"><v>1</v></c>' * 100_000
    rows = ['<row r="2">', *([run] * 30), "</row>"]
    path = write_workbook(tmp_path / "run.xlsx", _header_sheet(*rows))
    error, seconds, peak = _refusal(lambda: _read_all(path))
    assert "row 2" in error.message and "REOS_XLSX_MAX_COLUMNS" in error.message
    assert seconds < FAST_SECONDS and peak < SMALL_BYTES


def test_the_same_run_is_refused_from_the_zip_directory_by_default(tmp_path: Path) -> None:
    run = '<c r="A2"><v>1</v></c>' * 100_000
    path = write_workbook(
        tmp_path / "run.xlsx", _header_sheet('<row r="2">', *([run] * 30), "</row>")
    )
    error, seconds, _peak = _refusal(lambda: open_table(path))
    assert "xl/worksheets/sheet1.xml" in error.message
    assert "REOS_XLSX_MAX_COMPRESSION_RATIO" in error.message and seconds < FAST_SECONDS


def test_column_beyond_the_cap_is_refused(tmp_path: Path) -> None:
    path = write_workbook(
        tmp_path / "wide.xlsx", _header_sheet('<row r="2"><c r="XFD2"><v>1</v></c></row>')
    )
    error, _seconds, _peak = _refusal(lambda: _read_all(path))
    assert "XFD2" in error.message and "column 16,384" in error.message
    assert "REOS_XLSX_MAX_COLUMNS" in error.message


def test_rows_and_cells_are_capped(tmp_path: Path, limits: Any) -> None:
    rows = [inline_row(n, sale_row(n)) for n in range(2, 600)]
    path = write_workbook(tmp_path / "rows.xlsx", _header_sheet(*rows))
    limits(max_rows=500)
    error, _seconds, _peak = _refusal(lambda: _read_all(path))
    assert "500 rows" in error.message and "REOS_XLSX_MAX_ROWS" in error.message
    limits(max_rows=1_000, max_cells=2_000)
    error, _seconds, _peak = _refusal(lambda: _read_all(path))
    assert "2,000 cells" in error.message and "REOS_XLSX_MAX_CELLS" in error.message
    limits(max_rows=1_000, max_cells=10_000)
    assert len(_read_all(path)) == 598


def test_part_size_and_total_are_capped(tmp_path: Path, limits: Any) -> None:
    rows = [inline_row(n, sale_row(n)) for n in range(2, 600)]
    path = write_workbook(
        tmp_path / "big.xlsx", _header_sheet(*rows), compression=zipfile.ZIP_STORED
    )
    sheet_bytes = zipfile.ZipFile(path).getinfo("xl/worksheets/sheet1.xml").file_size
    limits(max_part_bytes=sheet_bytes - 1)
    error, _seconds, _peak = _refusal(lambda: open_table(path))
    assert (
        "xl/worksheets/sheet1.xml" in error.message and "REOS_XLSX_MAX_PART_BYTES" in error.message
    )
    limits(max_part_bytes=1 << 30, max_total_bytes=sheet_bytes)
    error, _seconds, _peak = _refusal(lambda: open_table(path))
    assert "REOS_XLSX_MAX_TOTAL_BYTES" in error.message


def test_a_bomb_through_the_cli_is_one_error_line(tmp_path: Path, org: Any, capsys: Any) -> None:
    path = write_workbook(
        tmp_path / "bomb.xlsx", _header_sheet(), shared_strings_xml(_empty_strings(5_000_000))
    )
    code, _out, err = run_cli(capsys, "import", "sales", str(path), "--org", org.slug)
    assert code != 0 and err.startswith("error") and err.count("\n") == 1, err
    assert "REOS_XLSX_MAX_COMPRESSION_RATIO" in err and "Traceback" not in err


def test_a_bomb_through_the_api_is_422(client: Any, org: Any, tmp_path: Path) -> None:
    path = write_workbook(
        tmp_path / "bomb.xlsx", _header_sheet(), shared_strings_xml(_empty_strings(5_000_000))
    )
    started = time.perf_counter()
    r = client.post(
        "/api/v1/imports",
        files={"file": ("bomb.xlsx", path.read_bytes(), "application/octet-stream")},
        data={"entity": "sales"},
        headers=org.headers(),
    )
    assert time.perf_counter() - started < FAST_SECONDS
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["field"] == "file" and "REOS_XLSX_MAX_COMPRESSION_RATIO" in body["message"]


# --- 2. the request checks, the job parses ------------------------------------------------


def _strings_workbook(path: Path, strings: int) -> Path:
    """Shared-string headers, three sale rows, and ``strings`` more distinct strings (a
    long owner list, say): opening the workbook for its header must not load them all."""
    header_strings = [f"<si><t>{name}</t></si>" for name in SALES_HEADER]
    header = (
        '<row r="1">'
        + "".join(f'<c r="{chr(65 + i)}1" t="s"><v>{i}</v></c>' for i in range(len(SALES_HEADER)))
        + "</row>"
    )
    rows = [inline_row(n, sale_row(n)) for n in range(2, 5)]
    extra = (f"<si><t>Owner number {i:07d} of a long list</t></si>" for i in range(strings))
    return write_workbook(
        path, sheet_xml([header, *rows]), shared_strings_xml([*header_strings, *extra])
    )


def test_upload_reads_only_the_header_and_the_job_imports(
    client: Any, org: Any, tmp_path: Path
) -> None:
    path = _strings_workbook(tmp_path / "owners.xlsx", 400_000)
    data = path.read_bytes()
    small = _strings_workbook(tmp_path / "small.xlsx", 10).read_bytes()
    warm_up = client.post(  # the modules an upload imports are not what is measured
        "/api/v1/imports",
        files={"file": ("small.xlsx", io.BytesIO(small), "application/octet-stream")},
        data={"entity": "sales"},
        headers=org.headers(),
    )
    assert warm_up.status_code == 202, warm_up.text
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        started = time.perf_counter()
        r = client.post(
            "/api/v1/imports",
            files={"file": ("owners.xlsx", io.BytesIO(data), "application/octet-stream")},
            data={"entity": "sales"},
            headers=org.headers(),
        )
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()
    assert r.status_code == 202, r.text
    # 400,000 strings held as Python text are over 40 MB (the request peaked at 71 MB
    # when it opened the workbook with openpyxl); the header needs ten of them
    assert peak < 20 * 1024 * 1024, peak
    assert seconds < FAST_SECONDS
    worker = Worker(poll_seconds=0.01)
    while worker.run_once():
        pass
    body = client.get(f"/api/v1/imports/{r.json()['import_id']}", headers=org.headers()).json()
    # the warm-up upload holds the same three sales: this import finds them unchanged
    assert (body["status"], body["rows_read"], body["unchanged"]) == ("done", 3, 3), body
    warmed = client.get(f"/api/v1/imports/{warm_up.json()['import_id']}", headers=org.headers())
    assert warmed.json()["status"] == "done"


def test_a_sheet_broken_after_the_header_fails_in_the_job_with_the_reason(
    client: Any, org: Any, tmp_path: Path
) -> None:
    """The request does not parse the sheet: a workbook whose row 3 refers to a shared
    string that does not exist is accepted, and its import fails naming the cell."""
    rows = [inline_row(2, sale_row(2)), '<row r="3"><c r="A3" t="s"><v>99</v></c></row>']
    path = write_workbook(tmp_path / "broken.xlsx", _header_sheet(*rows))
    r = client.post(
        "/api/v1/imports",
        files={"file": ("broken.xlsx", path.read_bytes(), "application/octet-stream")},
        data={"entity": "sales"},
        headers=org.headers(),
    )
    assert r.status_code == 202, r.text
    worker = Worker(poll_seconds=0.01)
    while worker.run_once():
        pass
    body = client.get(f"/api/v1/imports/{r.json()['import_id']}", headers=org.headers()).json()
    assert body["status"] == "failed" and "A3" in body["error"], body


# --- 3. the declared dimension is never trusted --------------------------------------------


def test_declared_dimension_is_ignored(tmp_path: Path) -> None:
    """The reported file: ``A1:XFD1048576`` declared, one real row, in the last row."""
    path = write_workbook(
        tmp_path / "dim.xlsx",
        _header_sheet(inline_row(1_048_576, sale_row(7)), dimension="A1:XFD1048576"),
    )
    assert path.stat().st_size < 10_000
    started = time.perf_counter()
    rows = _read_all(path)
    assert time.perf_counter() - started < FAST_SECONDS
    assert [r.row_number for r in rows] == [1]
    assert rows[0].values["PARCEL"] == "P-00007" and rows[0].values["SALE PRICE"] == "200007"
    assert rows[0].problems == [] and rows[0].warnings == []


def test_declared_dimension_workbook_imports_in_seconds(
    tmp_path: Path, org: Any, capsys: Any
) -> None:
    path = write_workbook(
        tmp_path / "dim.xlsx",
        _header_sheet(inline_row(1_048_576, sale_row(7)), dimension="A1:XFD1048576"),
    )
    started = time.perf_counter()
    report = cli_json(capsys, "import", "sales", str(path), "--org", org.slug)
    assert time.perf_counter() - started < 4 * FAST_SECONDS
    assert (report["rows_read"], report["inserted"], report["status"]) == (1, 1, "done")
    with tenant_session(org.id) as s:
        run = s.get(ImportRun, __import__("uuid").UUID(report["import_id"]))
        assert run is not None and run.rows_committed == 1
        assert s.scalars(select(Sale.sale_price)).one() == 200007


# --- 4. text whose encoding changes mid-file ------------------------------------------------


def test_one_cp1252_byte_does_not_corrupt_the_utf8_rows(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes(
        "name,city\nCafé One,Zürich\nCafé Two,Köln\n".encode()
        + "Café Three,Málaga\n".encode("cp1252")
        + "Café Four,São Paulo\n".encode()
    )
    rows = _read_all(path)
    assert [r.values for r in rows] == [
        {"name": "Café One", "city": "Zürich"},
        {"name": "Café Two", "city": "Köln"},
        {"name": "Café Three", "city": "Málaga"},
        {"name": "Café Four", "city": "São Paulo"},
    ]
    assert [bool(r.warnings) for r in rows] == [False, False, True, False]
    assert "not valid UTF-8" in rows[2].warnings[0] and "Windows-1252" in rows[2].warnings[0]
    assert "'name'" in rows[2].warnings[0] and "'city'" in rows[2].warnings[0]


def test_the_same_file_through_blocks(tmp_path: Path) -> None:
    """The bulk import path (column blocks) keeps the same text and row warning."""
    path = tmp_path / "mixed.csv"
    path.write_bytes(
        "name,city\nCafé One,Zürich\n".encode()
        + "Café Three,Málaga\n".encode("cp1252")
        + "Café Four,São Paulo\n".encode()
    )
    with open_table(path) as reader:
        block = next(reader.blocks())
    assert block.columns["name"] == ["Café One", "Café Three", "Café Four"]
    assert block.columns["city"] == ["Zürich", "Málaga", "São Paulo"]
    assert list(block.warnings) == [1] and "Windows-1252" in block.warnings[1][0]


def test_a_pure_cp1252_file_still_imports(tmp_path: Path) -> None:
    path = tmp_path / "legacy.csv"
    path.write_bytes("owner,city\nJosé Muñoz – Trust,Montréal\nPlain,Ames\n".encode("cp1252"))
    rows = _read_all(path)
    assert rows[0].values == {"owner": "José Muñoz – Trust", "city": "Montréal"}
    assert rows[1].values == {"owner": "Plain", "city": "Ames"} and rows[1].warnings == []


def test_a_utf8_bom_file_still_works(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "name,city\nCafé,Zürich\n".encode())
    with open_table(path) as reader:
        assert reader.headers == ["name", "city"]
        rows = [r for c in reader.chunks() for r in c]
    assert rows[0].values == {"name": "Café", "city": "Zürich"} and rows[0].warnings == []


def test_bytes_neither_utf8_nor_cp1252_fail_naming_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"name,city\nCaf\xc3\xa9,Z\xc3\xbcrich\nok,A\x81B\n")
    with pytest.raises(ValidationFailed, match=r"row 2, column 'city'") as raised:
        _read_all(path)
    assert raised.value.detail.get("row") == 2


def test_mixed_file_import_reports_the_row(tmp_path: Path, org: Any, capsys: Any) -> None:
    lines = [",".join(SALES_HEADER).encode()]
    for n in range(1, 5):
        city = "Café Ville" if n != 3 else "Cafè Ville"
        line = ",".join(str(v) for v in sale_row(n, CITY=city))
        lines.append(line.encode("cp1252" if n == 3 else "utf-8"))
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"\n".join(lines) + b"\n")
    report = cli_json(capsys, "import", "sales", str(path), "--org", org.slug)
    assert report["inserted"] == 4
    warning = next(w for w in report["warnings"] if "Windows-1252" in w["message"])
    assert (warning["count"], warning["first_row"]) == (1, 3)
    from reos.models import Property

    with tenant_session(org.id) as s:
        cities = sorted(s.scalars(select(Property.city)))
    assert cities == ["Cafè Ville", "Café Ville", "Café Ville", "Café Ville"]


def test_header_search_is_bounded(tmp_path: Path) -> None:
    """Opening a workbook (which the API does in the request) looks for the header in the
    first 1,000 sheet rows only; empty rows above it within that are skipped."""
    empty = [f'<row r="{n}"/>' for n in range(1, 1_501)]
    path = write_workbook(
        tmp_path / "late.xlsx", sheet_xml([*empty, inline_row(1_501, SALES_HEADER)])
    )
    error, seconds, _peak = _refusal(lambda: open_table(path))
    assert "no header row in the first 1,000 rows" in error.message and seconds < FAST_SECONDS
    near = write_workbook(
        tmp_path / "near.xlsx",
        sheet_xml([*empty[:900], inline_row(901, SALES_HEADER), inline_row(950, sale_row(1))]),
    )
    rows = _read_all(near)
    assert [r.row_number for r in rows] == [1] and rows[0].values["PARCEL"] == "P-00001"


def test_deeply_nested_xml_is_refused(tmp_path: Path) -> None:
    nested = "<x>" * 200 + "</x>" * 200
    path = write_workbook(
        tmp_path / "deep.xlsx", _header_sheet(f'<row r="2"><c r="A2"><v>1</v>{nested}</c></row>')
    )
    error, _seconds, _peak = _refusal(lambda: _read_all(path))
    assert "nests elements over 64 deep" in error.message


def test_typed_cells_keep_their_meaning(tmp_path: Path) -> None:
    """Shared and inline strings, numbers, a date-styled number, booleans, formula text
    and errors come out as the old openpyxl reader gave them."""
    header = inline_row(1, ["s", "n", "d", "b", "f", "e"])
    row = (
        '<row r="2"><c r="A2" t="s"><v>0</v></c><c r="B2"><v>2.50</v></c>'
        '<c r="C2" s="1"><v>45000</v></c><c r="D2" t="b"><v>1</v></c>'
        '<c r="E2" t="str"><f>A2&amp;"x"</f><v>Café x</v></c><c r="F2" t="e"><v>#N/A</v></c>'
        "</row>"
    )
    path = write_workbook(
        tmp_path / "typed.xlsx",
        sheet_xml([header, row]),
        shared_strings_xml(["<si><r><t>Ca</t></r><r><t>fé</t></r><rPh><t>x</t></rPh></si>"]),
    )
    (only,) = _read_all(path)
    assert only.values == {
        "s": "Café",
        "n": "2.5",
        "d": "2023-03-15",
        "b": "true",
        "f": "Café x",
        "e": "#N/A",
    }
