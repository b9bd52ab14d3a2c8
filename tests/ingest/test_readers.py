"""Readers: every bad file a user can send, as a test."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from reos.errors import ValidationFailed
from reos.ingest.readers import EXTRA_CELLS_KEY, file_fingerprint, open_table


def read_all(path: Path, **kwargs: object) -> tuple[list[str], list]:
    with open_table(path, **kwargs) as reader:  # type: ignore[arg-type]
        return reader.headers, [row for chunk in reader.chunks(2) for row in chunk]


def test_empty_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(ValidationFailed, match="empty.csv is empty: a header row"):
        open_table(path)


def test_header_only_file_has_zero_rows(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("price,beds\n")
    headers, rows = read_all(path)
    assert headers == ["price", "beds"]
    assert rows == []


def test_chunks_row_numbers_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfprice,beds\r\n1,2\r\n3,4\r\n\r\n5,6\r\n")
    with open_table(path) as reader:
        assert reader.headers == ["price", "beds"]
        chunks = list(reader.chunks(2))
    assert [len(c) for c in chunks] == [2, 1]
    assert [r.row_number for c in chunks for r in c] == [1, 2, 3]
    assert chunks[1][0].values == {"price": "5", "beds": "6"}


def test_ragged_rows_are_kept_and_flagged(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("a,b,c\n1,2,3\n1,2,3,4,5\n1\n")
    _, rows = read_all(path)
    assert len(rows) == 3
    assert rows[0].problems == [] and rows[0].warnings == []
    assert rows[1].values[EXTRA_CELLS_KEY] == "4\x1f5"
    assert "row has 5 cells but the header has 3" in rows[1].problems[0]
    assert rows[2].values == {"a": "1", "b": None, "c": None}
    assert rows[2].problems == []
    assert "missing trailing cells (b, c)" in rows[2].warnings[0]


def test_cp1252_file_is_read_cell_by_cell(tmp_path: Path) -> None:
    """No whole-file guess: the file is read as UTF-8 and its non-UTF-8 bytes as
    Windows-1252, with a warning on the row (tests/ingest/test_hostile_uploads.py)."""
    path = tmp_path / "latin.csv"
    path.write_bytes("owner,city\nJosé Muñoz – Trust,Montréal\n".encode("cp1252"))
    with open_table(path) as reader:
        assert reader.encoding == "utf-8"
        rows = [r for c in reader.chunks() for r in c]
    assert rows[0].values == {"owner": "José Muñoz – Trust", "city": "Montréal"}
    assert "'owner', 'city' were read as Windows-1252" in rows[0].warnings[0]


def test_stray_cp1252_byte_deep_in_a_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    body = "name\n" + "plain\n" * 20_000 + "Café ünïcode\n"
    path.write_bytes(body.encode("utf-8") + "Zoë\n".encode("cp1252"))
    _, rows = read_all(path)
    assert rows[-2].values["name"] == "Café ünïcode"
    assert rows[-1].values["name"] == "Zoë"


def test_delimiters_are_sniffed(tmp_path: Path) -> None:
    for delimiter in ["\t", ";", "|"]:
        path = tmp_path / "d.txt"
        path.write_text(
            delimiter.join(["price", "beds"]) + "\n" + delimiter.join(["$1,000", "3"]) + "\n"
        )
        _, rows = read_all(path)
        assert rows[0].values == {"price": "$1,000", "beds": "3"}


def test_fifty_megabyte_cell_is_flagged_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    with open(path, "w") as handle:
        handle.write('id,notes\n1,small\n2,"')
        handle.write("x" * (50 * 1024 * 1024))
        handle.write('"\n3,after\n')
    _, rows = read_all(path)
    assert [r.row_number for r in rows] == [1, 2, 3]
    assert rows[1].values["notes"] is None
    assert "52,428,800 characters long, over the 1,000,000-character limit" in rows[1].problems[0]
    assert rows[2].values == {"id": "3", "notes": "after"}


def test_binary_file_named_csv(tmp_path: Path) -> None:
    path = tmp_path / "photo.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    with pytest.raises(
        ValidationFailed, match=r"photo.csv is not a text file: it contains NUL bytes"
    ):
        open_table(path)


def test_xlsx_named_csv_gets_a_hint(tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["a"])  # type: ignore[union-attr]
    book.save(tmp_path / "x.xlsx")
    (tmp_path / "x.csv").write_bytes((tmp_path / "x.xlsx").read_bytes())
    with pytest.raises(ValidationFailed, match="rename it to .xlsx"):
        open_table(tmp_path / "x.csv")


def test_unknown_extension(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text("{}")
    with pytest.raises(ValidationFailed, match=r"unknown file type '.json'. Supported: .csv"):
        open_table(path)


def test_parquet_reads_in_batches_as_text(tmp_path: Path) -> None:
    path = tmp_path / "sales.parquet"
    table = pa.table(
        {"price": ["$250,000", "garbage", None], "beds": [3, 4, None], "lat": [42.5, 1.25, None]}
    )
    pq.write_table(table, path)
    headers, rows = read_all(path)
    assert headers == ["price", "beds", "lat"]
    assert [r.values for r in rows] == [
        {"price": "$250,000", "beds": "3", "lat": "42.5"},
        {"price": "garbage", "beds": "4", "lat": "1.25"},
        {"price": None, "beds": None, "lat": None},
    ]


def test_unreadable_parquet(tmp_path: Path) -> None:
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"PAR1 this is not really parquet")
    with pytest.raises(ValidationFailed, match="bad.parquet is not a readable Parquet file"):
        open_table(path)


def test_xlsx_streaming_with_typed_cells(tmp_path: Path) -> None:
    import datetime as dt

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Sale Date", "Price", "Zip"])
    sheet.append([dt.datetime(2024, 3, 5), 250000.0, "02110"])
    sheet.append([None, None, None])
    sheet.append([dt.datetime(2024, 4, 1), 1.5, 2110])
    path = tmp_path / "book.xlsx"
    book.save(path)
    headers, rows = read_all(path)
    assert headers == ["Sale Date", "Price", "Zip"]
    assert [r.values for r in rows] == [
        {"Sale Date": "2024-03-05", "Price": "250000", "Zip": "02110"},
        {"Sale Date": "2024-04-01", "Price": "1.5", "Zip": "2110"},
    ]


def test_duplicate_and_blank_headers_are_renamed(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("owner,owner,\n a , b ,c\n")
    headers, rows = read_all(path)
    assert headers == ["owner", "owner (2)", "column_3"]
    assert rows[0].values["owner (2)"] == " b "


def test_fingerprint_is_sha256_of_bytes(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"abc")
    assert (
        file_fingerprint(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
