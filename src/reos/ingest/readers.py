"""Read CSV/TSV, Parquet and XLSX files as a stream of chunks of raw rows.

Memory stays bounded by the chunk size whatever the file size: CSV is read line by line,
Parquet by record batch, XLSX by a streaming parser with limits on what a workbook may
ask for (:mod:`reos.ingest.xlsx`). Every value
comes out as text (or ``None`` for an empty cell) so the mapping layer sees one shape for
all formats. Nothing is dropped: ragged rows and oversize cells are kept and flagged in
``RawRow.problems`` so the import service can quarantine them with a reason.

Row numbers are 1-based data rows (the header is not counted), i.e. the number a user
sees in a spreadsheet minus one.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
import sys
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from reos.errors import ValidationFailed
from reos.ingest.xlsx import SharedString, Workbook, XlsxLimits

DEFAULT_CHUNK_ROWS = 10_000
#: Cells longer than this (in characters) are flagged and their value dropped: no real
#: address, name or price is a megabyte long, and storing one would bloat every table.
DEFAULT_MAX_CELL_CHARS = 1_000_000
#: Bytes looked at to choose the encoding and the delimiter.
SNIFF_BYTES = 64 * 1024
EXTRA_CELLS_KEY = "_extra_cells"
#: Sheet rows looked through for an XLSX header (empty rows above it are skipped): keeps
#: opening a workbook, which the API does in the request, cheap.
HEADER_SEARCH_ROWS = 1_000

CSV_EXTENSIONS = frozenset({".csv", ".tsv", ".tab", ".txt"})
PARQUET_EXTENSIONS = frozenset({".parquet", ".pq"})
XLSX_EXTENSIONS = frozenset({".xlsx", ".xlsm"})
SUPPORTED_EXTENSIONS = CSV_EXTENSIONS | PARQUET_EXTENSIONS | XLSX_EXTENSIONS

_DELIMITERS = ",\t;|"
#: What ``surrogateescape`` makes of bytes that are not UTF-8.
_ESCAPED_BYTES = re.compile("[\udc80-\udcff]+")


@dataclass
class RawRow:
    """One data row as found in the file.

    ``values`` maps each header to its cell text (``None`` when empty or missing).
    ``problems`` make the row unusable as is (too many cells, a cell over the size limit)
    and should send it to quarantine; ``warnings`` are kept in the report only (a short row
    whose missing trailing cells are read as empty).
    """

    row_number: int
    values: dict[str, str | None]
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class RowBlock:
    """A chunk of rows held as columns: what bulk imports read and validate.

    ``columns`` maps each header to its cells (text or ``None``), ``row_numbers`` gives
    each row's number; rows with structural ``problems``/``warnings`` (ragged, oversize)
    are listed by their position in the block, and ``extra_cells`` keeps the overflow
    text of ragged rows. :meth:`row` rebuilds one :class:`RawRow` for the row-by-row
    code paths (quarantine, the validation gate's detailed checks).
    """

    headers: tuple[str, ...]
    row_numbers: list[int]
    columns: dict[str, list[str | None]]
    problems: dict[int, list[str]] = field(default_factory=dict)
    warnings: dict[int, list[str]] = field(default_factory=dict)
    extra_cells: dict[int, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.row_numbers)

    def row(self, index: int) -> RawRow:
        values = {h: self.columns[h][index] for h in self.headers}
        if index in self.extra_cells:
            values[EXTRA_CELLS_KEY] = self.extra_cells[index]
        return RawRow(
            self.row_numbers[index],
            values,
            list(self.problems.get(index, ())),
            list(self.warnings.get(index, ())),
        )

    def rows(self) -> list[RawRow]:
        return [self.row(i) for i in range(len(self))]

    def tail(self, start: int) -> RowBlock:
        """The rows from position ``start`` on (a block cut at a resume checkpoint)."""

        def shift(d: dict[int, Any]) -> dict[int, Any]:
            return {i - start: v for i, v in d.items() if i >= start}

        return RowBlock(
            self.headers,
            self.row_numbers[start:],
            {h: c[start:] for h, c in self.columns.items()},
            shift(self.problems),
            shift(self.warnings),
            shift(self.extra_cells),
        )

    @classmethod
    def of_rows(cls, headers: tuple[str, ...], rows: list[RawRow]) -> RowBlock:
        """A block holding ``rows`` (from any reader, or rebuilt from quarantine)."""
        block = cls(
            headers,
            [r.row_number for r in rows],
            {h: [r.values.get(h) for r in rows] for h in headers},
        )
        for index, row in enumerate(rows):
            if row.problems:
                block.problems[index] = list(row.problems)
            if row.warnings:
                block.warnings[index] = list(row.warnings)
            extra = row.values.get(EXTRA_CELLS_KEY)
            if extra is not None:
                block.extra_cells[index] = extra
        return block


def file_fingerprint(path: str | Path) -> str:
    """SHA-256 of the file's bytes (hex), read in 1 MiB blocks: same bytes, same import."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def clean_headers(raw_headers: Sequence[object]) -> list[str]:
    """Header names made usable as dict keys: trimmed, blanks named ``column_<n>``, and
    duplicates suffixed `` (2)``, `` (3)`` so no column silently overwrites another."""
    headers: list[str] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_headers, start=1):
        name = "" if raw is None else str(raw).strip().lstrip("\ufeff")
        if not name:
            name = f"column_{index}"
        if name in seen:
            seen[name] += 1
            name = f"{name} ({seen[name]})"
        else:
            seen[name] = 1
        headers.append(name)
    return headers


class TableReader(ABC):
    """Common shape of every reader: ``headers`` first, then ``chunks()``.

    Use as a context manager; ``chunks`` can be iterated once.
    """

    format: str = ""

    def __init__(self, path: Path, *, max_cell_chars: int) -> None:
        self.path = path
        self.max_cell_chars = max_cell_chars
        self.headers: list[str] = []
        self.encoding: str | None = None
        self.delimiter: str | None = None

    def chunks(self, chunk_size: int = DEFAULT_CHUNK_ROWS) -> Iterator[list[RawRow]]:
        batch: list[RawRow] = []
        for row in self.rows():
            batch.append(row)
            if len(batch) >= chunk_size:
                yield batch
                batch = []
        if batch:
            yield batch

    @abstractmethod
    def rows(self) -> Iterator[RawRow]:
        """Every data row in file order (each format implements it)."""

    def blocks(self, chunk_size: int = DEFAULT_CHUNK_ROWS) -> Iterator[RowBlock]:
        """The rows as column blocks of ``chunk_size`` rows (same rows as ``chunks``)."""
        headers = tuple(self.headers)
        for chunk in self.chunks(chunk_size):
            yield RowBlock.of_rows(headers, chunk)

    def close(self) -> None:  # noqa: B027 - a default, not an abstract method
        """Release the file handle; readers holding none need nothing."""

    def __enter__(self) -> TableReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _make_row(self, row_number: int, cells: list[Any]) -> RawRow:
        problems: list[str] = []
        warnings: list[str] = []
        width = len(self.headers)
        values: dict[str, str | None] = {}
        for index, header in enumerate(self.headers):
            values[header] = self._cell(
                cells[index] if index < len(cells) else None, header, problems
            )
        if len(cells) > width:
            extra = cells[width:]
            if any(cell not in (None, "") for cell in extra):
                values[EXTRA_CELLS_KEY] = "\x1f".join("" if c is None else str(c) for c in extra)
                problems.append(
                    f"row has {len(cells)} cells but the header has {width}: the extra "
                    f"cells are kept under {EXTRA_CELLS_KEY!r}; an unquoted delimiter in a "
                    "value usually causes this"
                )
        elif 0 < len(cells) < width:
            warnings.append(
                f"row has {len(cells)} cells but the header has {width}: the missing "
                f"trailing cells ({', '.join(self.headers[len(cells) :][:5])}"
                f"{', ...' if width - len(cells) > 5 else ''}) are read as empty"
            )
        return RawRow(row_number, values, problems, warnings)

    def _cell(self, cell: Any, header: str, problems: list[str]) -> str | None:
        if cell is None:
            return None
        text = cell if isinstance(cell, str) else _to_text(cell)
        if text == "":
            return None
        if len(text) > self.max_cell_chars:
            problems.append(
                f"cell in column {header!r} is {len(text):,} characters long, over the "
                f"{self.max_cell_chars:,}-character limit; the value was dropped"
            )
            return None
        return text


def _to_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ") if value.time() != time(0) else value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


# --- CSV -------------------------------------------------------------------------------


def _detect_encoding(path: Path, sample: bytes) -> str:
    """UTF-8 (BOM or not) or UTF-16 with a BOM. Files without a BOM are read as UTF-8
    whatever the sample holds: bytes that are not UTF-8 are read as Windows-1252 cell by
    cell (:meth:`CsvReader._fix_cells`), so one legacy byte never turns the file's correct
    UTF-8 text into mojibake ("Café" into "CafÃ©"), and a whole Windows-1252 or Latin-1
    file (what US list vendors and Excel "CSV" export) still reads correctly."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    nul = sample.find(b"\x00")
    if nul >= 0:
        raise ValidationFailed(
            f"{path.name} is not a text file: it contains NUL bytes (first at byte {nul}). "
            f"{_binary_hint(sample)}",
            field="file",
        )
    return "utf-8"


def _binary_hint(sample: bytes) -> str:
    if sample.startswith(b"PK\x03\x04"):
        return "It looks like an XLSX (zip) file: rename it to .xlsx."
    if sample.startswith(b"PAR1"):
        return "It looks like a Parquet file: rename it to .parquet."
    if sample.startswith(b"\xd0\xcf\x11\xe0"):
        return "It looks like an old Excel .xls file: save it as .xlsx or CSV."
    if sample.startswith(b"%PDF"):
        return "It is a PDF; export the table to CSV or XLSX."
    return "Export the data as CSV (UTF-8) or XLSX and try again."


def _legacy_warning(columns: list[str]) -> str:
    return (
        f"bytes that are not valid UTF-8 in {', '.join(map(repr, columns))} were read as "
        "Windows-1252; check the text"
    )


def _sniff_delimiter(text: str, suffix: str) -> str:
    lines = text.splitlines()[:50]
    if not lines:
        return "\t" if suffix in {".tsv", ".tab"} else ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=_DELIMITERS).delimiter
    except csv.Error:
        counts = {d: lines[0].count(d) for d in _DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        if counts[best] == 0:
            return "\t" if suffix in {".tsv", ".tab"} else ","
        return best


class CsvReader(TableReader):
    """Delimited text. The delimiter is detected from the first 64 KiB.

    Text is UTF-8 unless a BOM says UTF-16 (or the caller names an encoding). It is read
    with ``surrogateescape`` and only the bytes that are not UTF-8 are re-read as
    Windows-1252, cell by cell: a correct "Café" elsewhere in the file, or elsewhere in
    the same cell, is kept exactly. A row with such bytes carries a warning naming its
    columns (the import report counts them); bytes that Windows-1252 does not define
    either fail the import naming the row and column.
    """

    format = "csv"

    def __init__(self, path: Path, *, max_cell_chars: int, encoding: str | None = None) -> None:
        super().__init__(path, max_cell_chars=max_cell_chars)
        with open(path, "rb") as handle:
            sample = handle.read(SNIFF_BYTES)
        if not sample.strip():
            raise ValidationFailed(
                f"{path.name} is empty: a header row naming the columns is required.",
                field="file",
            )
        self.encoding = encoding or _detect_encoding(path, sample)
        errors = "surrogateescape" if self.encoding.startswith("utf-8") else "strict"
        self._handle: IO[str] = open(path, encoding=self.encoding, errors=errors, newline="")
        text_sample = sample.decode(self.encoding, errors="replace")
        self.delimiter = _sniff_delimiter(text_sample, path.suffix.lower())
        csv.field_size_limit(sys.maxsize)
        self._reader = csv.reader(self._handle, delimiter=self.delimiter)
        try:
            header_cells = next(self._reader)
        except StopIteration:
            self._handle.close()
            raise ValidationFailed(
                f"{path.name} is empty: a header row naming the columns is required.",
                field="file",
            ) from None
        except UnicodeDecodeError as err:
            self._handle.close()
            raise ValidationFailed(
                f"{path.name} could not be decoded as {self.encoding}: {err.reason}.", field="file"
            ) from None
        if self._utf8:
            header_cells = [
                self._fix_text(c, 0, f"column {i}") for i, c in enumerate(header_cells, 1)
            ]
        self.headers = clean_headers(header_cells)

    @property
    def _utf8(self) -> bool:
        return self.encoding is not None and self.encoding.startswith("utf-8")

    def _fix_text(self, text: str, row_number: int, column: str) -> str:
        """``text`` with its non-UTF-8 bytes read as Windows-1252 (unchanged when none)."""

        def legacy(match: re.Match[str]) -> str:
            raw = match.group().encode("utf-8", "surrogateescape")
            try:
                return raw.decode("cp1252")
            except UnicodeDecodeError as err:
                where = "the header" if row_number == 0 else f"row {row_number}"
                raise ValidationFailed(
                    f"{self.path.name} {where}, column {column!r}: byte "
                    f"0x{raw[err.start]:02X} is not valid UTF-8 and not valid cp1252 "
                    "(Windows-1252) either; re-save the file as UTF-8.",
                    field="file",
                    row=row_number,
                ) from None

        return _ESCAPED_BYTES.sub(legacy, text)

    def _column_name(self, index: int) -> str:
        return self.headers[index] if index < len(self.headers) else f"extra cell {index + 1}"

    def _fix_cells(self, cells: list[str], row_number: int) -> tuple[list[str], str | None]:
        """The row's cells with non-UTF-8 bytes re-read, and the row's warning if any."""
        if not self._utf8 or "".join(cells).isascii():
            return cells, None
        fixed: list[str] = []
        columns: list[str] = []
        for index, cell in enumerate(cells):
            if not cell.isascii() and _ESCAPED_BYTES.search(cell):
                name = self._column_name(index)
                cell = self._fix_text(cell, row_number, name)
                columns.append(name)
            fixed.append(cell)
        return fixed, _legacy_warning(columns) if columns else None

    def _legacy_row(self, row_number: int, cells: list[str]) -> RawRow:
        fixed, warning = self._fix_cells(cells, row_number)
        row = self._make_row(row_number, fixed)
        if warning:
            row.warnings.append(warning)
        return row

    def rows(self) -> Iterator[RawRow]:
        row_number = 0
        try:
            for cells in self._reader:
                if not cells or all(cell == "" for cell in cells):
                    continue  # blank line: not a row
                row_number += 1
                yield self._legacy_row(row_number, cells)
        except UnicodeDecodeError as err:
            raise ValidationFailed(
                f"{self.path.name} row {row_number + 1}: bytes that are not valid "
                f"{self.encoding} ({err.reason}); re-save the file as UTF-8.",
                field="file",
                row=row_number + 1,
            ) from None
        except csv.Error as err:
            raise ValidationFailed(
                f"{self.path.name} row {row_number + 1}: malformed CSV ({err}).",
                field="file",
                row=row_number + 1,
            ) from None

    def blocks(self, chunk_size: int = DEFAULT_CHUNK_ROWS) -> Iterator[RowBlock]:
        """Column blocks read straight from the csv module: rows of the header's width go
        into the columns as they are; only ragged rows, oversize cells and text with
        re-decoded bytes take the row-by-row path of :meth:`_make_row`."""
        headers = tuple(self.headers)
        width = len(headers)
        row_number = 0
        batch: list[list[str]] = []
        numbers: list[int] = []
        odd: dict[int, RawRow] = {}
        try:
            for cells in self._reader:
                if len(cells) != width:
                    if not cells or all(cell == "" for cell in cells):
                        continue
                    row_number += 1
                    raw = self._legacy_row(row_number, cells)
                    odd[len(batch)] = raw
                    batch.append([raw.values[h] or "" for h in headers])
                elif not any(cells):
                    continue
                else:
                    row_number += 1
                    batch.append(cells)
                numbers.append(row_number)
                if len(batch) >= chunk_size:
                    yield self._block(headers, batch, numbers, odd)
                    batch, numbers, odd = [], [], {}
        except UnicodeDecodeError as err:
            raise ValidationFailed(
                f"{self.path.name} row {row_number + 1}: bytes that are not valid "
                f"{self.encoding} ({err.reason}); re-save the file as UTF-8.",
                field="file",
                row=row_number + 1,
            ) from None
        except csv.Error as err:
            raise ValidationFailed(
                f"{self.path.name} row {row_number + 1}: malformed CSV ({err}).",
                field="file",
                row=row_number + 1,
            ) from None
        if batch:
            yield self._block(headers, batch, numbers, odd)

    def _block(
        self,
        headers: tuple[str, ...],
        batch: list[list[str]],
        numbers: list[int],
        odd: dict[int, RawRow],
    ) -> RowBlock:
        columns: dict[str, list[str | None]] = {}
        block = RowBlock(headers, numbers, columns)
        utf8 = self._utf8
        legacy: dict[int, list[str]] = {}
        for header, cells in zip(headers, zip(*batch, strict=True), strict=True):
            column: list[str | None] = [c if c else None for c in cells]
            if utf8 and not "".join(cells).isascii():
                for index, cell in enumerate(column):
                    if (
                        cell is not None
                        and index not in odd
                        and not cell.isascii()
                        and _ESCAPED_BYTES.search(cell)
                    ):
                        column[index] = self._fix_text(cell, numbers[index], header)
                        legacy.setdefault(index, []).append(header)
            if max(map(len, cells)) > self.max_cell_chars:
                for index, cell in enumerate(column):
                    if cell is not None and len(cell) > self.max_cell_chars and index not in odd:
                        problems = block.problems.setdefault(index, [])
                        column[index] = self._cell(cell, header, problems)
            columns[header] = column
        for index, raw in odd.items():
            for header in headers:
                columns[header][index] = raw.values[header]
            if raw.problems:
                block.problems[index] = list(raw.problems)
            if raw.warnings:
                block.warnings[index] = list(raw.warnings)
            if EXTRA_CELLS_KEY in raw.values:
                block.extra_cells[index] = raw.values[EXTRA_CELLS_KEY] or ""
        for index, names in legacy.items():
            block.warnings.setdefault(index, []).append(_legacy_warning(names))
        return block

    def close(self) -> None:
        self._handle.close()


# --- Parquet ---------------------------------------------------------------------------


class ParquetReader(TableReader):
    """Parquet read batch by batch; typed values are turned into text for the mapping."""

    format = "parquet"

    def __init__(self, path: Path, *, max_cell_chars: int) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        super().__init__(path, max_cell_chars=max_cell_chars)
        try:
            self._file = pq.ParquetFile(path)
        except (pa.ArrowException, OSError) as err:
            raise ValidationFailed(
                f"{path.name} is not a readable Parquet file ({err}). Re-export it, or send "
                "CSV or XLSX instead.",
                field="file",
            ) from None
        self.headers = clean_headers(list(self._file.schema_arrow.names))

    def rows(self) -> Iterator[RawRow]:
        import pyarrow as pa

        row_number = 0
        try:
            for batch in self._file.iter_batches(batch_size=DEFAULT_CHUNK_ROWS):
                columns = [column.to_pylist() for column in batch.columns]
                for cells in zip(*columns, strict=True):
                    row_number += 1
                    yield self._make_row(row_number, list(cells))
        except (pa.ArrowException, OSError) as err:
            raise ValidationFailed(
                f"{self.path.name}: Parquet data after row {row_number} is unreadable ({err}).",
                field="file",
                row=row_number + 1,
            ) from None

    def close(self) -> None:
        self._file.close()


# --- XLSX ------------------------------------------------------------------------------


class XlsxReader(TableReader):
    """First worksheet (or ``sheet``) streamed by :mod:`reos.ingest.xlsx`; formulas give
    their cached values, the first row holding a value is the header.

    Opening reads the archive's directory, the workbook's structure, the header row and
    only the shared strings the header names: cheap whatever the sheet's size, so the API
    can check an upload's columns in the request. The shared-string table is read when
    rows are (:meth:`rows`), within the ``REOS_XLSX_*`` limits.
    """

    format = "xlsx"

    def __init__(
        self,
        path: Path,
        *,
        max_cell_chars: int,
        sheet: str | None = None,
        limits: XlsxLimits | None = None,
    ) -> None:
        super().__init__(path, max_cell_chars=max_cell_chars)
        self._book = Workbook(path, limits or XlsxLimits.from_settings())
        try:
            self._sheet = self._book.sheet_part(sheet)
            self._book.declared_shared_strings()
            self.headers = self._read_header()
        except BaseException:
            self._book.close()
            raise

    def _read_header(self) -> list[str]:
        first = next(iter(self._book.rows(self._sheet, None, search_rows=HEADER_SEARCH_ROWS)), None)
        if first is None:
            raise ValidationFailed(
                f"{self.path.name} is empty: a header row naming the columns is required.",
                field="file",
            )
        self._header_row, header = first
        wanted = {int(v) for v in header.values() if isinstance(v, SharedString)}
        strings = self._book.shared_strings(wanted) if wanted else {}
        cells: list[Any] = [None] * max(header)
        for column, value in header.items():
            if isinstance(value, SharedString):
                if int(value) not in strings:
                    raise ValidationFailed(
                        f"{self.path.name}: header cell in column {column} refers to shared "
                        f"string {int(value):,}, which the workbook does not have; the file "
                        "is damaged. Re-save it in Excel.",
                        field="file",
                    )
                value = strings[int(value)]
            cells[column - 1] = value
        return clean_headers(cells)

    def rows(self) -> Iterator[RawRow]:
        strings = self._book.shared_strings()
        width = len(self.headers)
        row_number = 0
        for sheet_row, values in self._book.rows(self._sheet, strings):
            if sheet_row <= self._header_row:
                continue
            row_number += 1
            cells: list[Any] = [None] * max(width, max(values))
            for column, value in values.items():
                cells[column - 1] = value
            while len(cells) > width and cells[-1] is None:
                cells.pop()
            yield self._make_row(row_number, cells)

    def close(self) -> None:
        self._book.close()


def open_table(
    path: str | Path,
    *,
    max_cell_chars: int = DEFAULT_MAX_CELL_CHARS,
    encoding: str | None = None,
    sheet: str | None = None,
) -> TableReader:
    """Open a data file by extension; ``headers`` is filled, rows are read lazily.

    Raises ``ValidationFailed`` naming the file for: a missing file, an unknown extension,
    an empty file (no header), a binary file with a text extension, an unreadable
    Parquet/XLSX file. A header-only file opens fine and yields no rows.
    """
    path = Path(path)
    if not path.is_file():
        raise ValidationFailed(f"File not found: {path}.", field="file")
    suffix = path.suffix.lower()
    if suffix in CSV_EXTENSIONS:
        return CsvReader(path, max_cell_chars=max_cell_chars, encoding=encoding)
    if suffix in PARQUET_EXTENSIONS:
        return ParquetReader(path, max_cell_chars=max_cell_chars)
    if suffix in XLSX_EXTENSIONS:
        return XlsxReader(path, max_cell_chars=max_cell_chars, sheet=sheet)
    hint = " Save it as .xlsx." if suffix == ".xls" else ""
    raise ValidationFailed(
        f"Cannot import {path.name}: unknown file type {suffix or '(no extension)'!r}. "
        f"Supported: {', '.join(sorted(SUPPORTED_EXTENSIONS))}.{hint}",
        field="file",
    )
