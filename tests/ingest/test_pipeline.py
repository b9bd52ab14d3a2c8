"""The mapping worker reads and maps the file's blocks itself: what the import process gets
is what it would get mapping every block alone, including after a resume checkpoint, when
reading fails part-way and when the worker dies."""

from __future__ import annotations

import os
import signal
from datetime import date
from pathlib import Path

import pytest

from reos.errors import ValidationFailed
from reos.ingest.pipeline import BlockSource, RowProcessor
from reos.ingest.service import prepare
from reos.ingest.synthetic import write_sales_file
from reos.kernel.rows import Validated

TODAY = date(2024, 6, 1)
CHUNK = 300


def _sales(tmp_path: Path, rows: int = 2_500) -> Path:
    path = tmp_path / "sales.csv"
    write_sales_file(path, rows, repeat_rate=0.3)
    return path


def _run(path: Path, workers: int, after_row: int = 0) -> list[tuple[int, list[Validated]]]:
    effective = prepare(path, "sales").effective
    with RowProcessor(effective, today=TODAY, workers=workers) as processor:
        return list(processor.pipeline(BlockSource(str(path), CHUNK, after_row)))


@pytest.mark.parametrize("after_row", [0, 450])
def test_the_worker_gives_what_one_process_gives(tmp_path: Path, after_row: int) -> None:
    path = _sales(tmp_path)
    alone = _run(path, workers=0, after_row=after_row)
    assert _run(path, workers=1, after_row=after_row) == alone
    numbers = [item.row_number for _last, items in alone for item in items]
    assert numbers == list(range(after_row + 1, 2_501))
    ends = [n for n in range(CHUNK, 2_500, CHUNK) if n > after_row] + [2_500]
    assert [last for last, _items in alone] == ends


def test_a_read_error_in_the_workers_part_comes_after_the_blocks_before_it(
    tmp_path: Path,
) -> None:
    """Windows-1252 text with a byte that code page does not define in row 2,000: the
    blocks before it are handed out, then the error names the row (the file is decoded a
    few kilobytes at a time, so the row named may be a few dozen before it)."""
    path = _sales(tmp_path)
    lines = path.read_bytes().split(b"\n")
    lines[1] = lines[1].replace(b",", b",\xe9", 1)  # é: the file is read as Windows-1252
    lines[2_000] = lines[2_000][:5] + b"\x81" + lines[2_000][5:]
    path.write_bytes(b"\n".join(lines))
    for workers in (0, 1):
        effective = prepare(path, "sales").effective
        handed: list[int] = []
        with RowProcessor(effective, today=TODAY, workers=workers) as processor:
            with pytest.raises(ValidationFailed, match=r"row (19\d\d|2000)\b") as raised:
                for last, _items in processor.pipeline(BlockSource(str(path), CHUNK)):
                    handed.append(last)
        assert handed == [CHUNK * i for i in range(1, 7)], workers
        assert "not valid cp1252" in raised.value.message


def test_a_dead_worker_is_replaced_by_this_process(tmp_path: Path) -> None:
    path = _sales(tmp_path)
    alone = _run(path, workers=0)
    effective = prepare(path, "sales").effective
    got: list[tuple[int, list[Validated]]] = []
    with RowProcessor(effective, today=TODAY, workers=1) as processor:
        for result in processor.pipeline(BlockSource(str(path), CHUNK)):
            got.append(result)
            if len(got) == 3:
                assert processor._pool is not None
                for pid in list(processor._pool._processes):  # the worker, killed
                    os.kill(pid, signal.SIGKILL)
        assert processor.workers == 0  # given up, the rest was mapped here
    assert got == alone


def test_the_worker_reads_an_xlsx_file_itself(tmp_path: Path) -> None:
    """The worker opens the workbook in its own process (the streaming XLSX reader and
    its limits) and gives what one process gives."""
    import csv

    from tests.ingest.xlsx_builder import inline_row, sheet_xml, write_workbook

    with open(_sales(tmp_path, 1_000), newline="", encoding="utf-8") as handle:
        lines = list(csv.reader(handle))
    rows = [inline_row(n, cells) for n, cells in enumerate(lines, start=1)]
    path = write_workbook(tmp_path / "sales.xlsx", sheet_xml(rows))
    alone = _run(path, workers=0)
    assert [last for last, _items in alone] == [300, 600, 900, 1_000]
    assert _run(path, workers=1) == alone
