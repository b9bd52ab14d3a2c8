"""A streaming XLSX sheet reader whose work is bounded whatever the file claims.

An XLSX file is a ZIP of XML parts, and a small archive can hold a huge amount of XML: a
211 KB upload with five million shared strings took 45 s and 500 MB to open with openpyxl,
and a 5 KB sheet declaring the range ``A1:XFD1048576`` kept a worker busy for minutes
because openpyxl's read-only mode pads every row to the declared width and yields every
declared row. So this module:

* checks the archive's directory before reading any XML (each part's uncompressed size,
  its compression ratio, the total): :func:`check_archive`;
* parses every part with ``iterparse``, dropping each element as soon as it is read, so
  memory holds one cell at a time, never a row or a sheet;
* never reads the declared dimension: empty rows cost nothing, cells are placed by their
  own references, and a cell beyond the column limit is refused before a row is built;
* caps shared strings (count and characters), rows, cells and columns as they are met
  (:class:`XlsxLimits`), refusing with a message that names the limit and the
  ``REOS_XLSX_*`` setting that raises it;
* loads the shared-string table only when rows are read: the header needs only the few
  strings it refers to, so opening a workbook to check its columns is cheap.

Values come out as openpyxl's ``data_only`` mode gives them (cached formula results,
numbers as int/float, dates for date-formatted numbers, booleans), so the readers' text
conversion is unchanged.
"""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError, iterparse

from reos.errors import ValidationFailed

#: Parts smaller than this are not held to the compression ratio: tiny XML compresses
#: well and cannot do harm. (Apache POI uses the same idea for its zip-bomb check.)
RATIO_GRACE_BYTES = 1 << 20
#: Excel's own row and column limits: a reference beyond them is not a spreadsheet cell.
EXCEL_MAX_ROW = 1_048_576
EXCEL_MAX_COLUMN = 16_384

CellValue = str | int | float | bool | datetime | timedelta | None


@dataclass(frozen=True)
class XlsxLimits:
    """How much work one workbook may ask for; each maps to a ``REOS_XLSX_*`` setting."""

    max_part_bytes: int
    max_total_bytes: int
    max_compression_ratio: int
    max_shared_strings: int
    max_shared_string_chars: int
    max_rows: int
    max_columns: int
    max_cells: int

    @classmethod
    def from_settings(cls) -> XlsxLimits:
        from reos.config import get_settings

        s = get_settings()
        return cls(
            max_part_bytes=s.xlsx_max_part_bytes,
            max_total_bytes=s.xlsx_max_total_bytes,
            max_compression_ratio=s.xlsx_max_compression_ratio,
            max_shared_strings=s.xlsx_max_shared_strings,
            max_shared_string_chars=s.xlsx_max_shared_string_chars,
            max_rows=s.xlsx_max_rows,
            max_columns=s.xlsx_max_columns,
            max_cells=s.xlsx_max_cells,
        )


def _over(name: str, what: str, setting: str, value: int, **detail: Any) -> ValidationFailed:
    return ValidationFailed(
        f"{name}: {what}, over the limit of {value:,}. Import a smaller file, or raise "
        f"REOS_{setting.upper()} if the file is genuine.",
        field="file",
        limit=f"REOS_{setting.upper()}",
        **detail,
    )


def check_archive(path: Path, limits: XlsxLimits) -> zipfile.ZipFile:
    """The workbook's archive, opened after its directory passed the size checks.

    Reads only the ZIP directory (no part is decompressed): each part's uncompressed
    size, its compression ratio (parts over ``RATIO_GRACE_BYTES``), and the total. The
    ``zipfile`` module stops a part at its declared size, so a lying header cannot get
    more bytes through than were checked.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise ValidationFailed(
            f"{path.name} is not a readable XLSX workbook (not a ZIP archive: {err}).",
            field="file",
        ) from None
    try:
        total = 0
        for info in archive.infolist():
            size = info.file_size
            if size > limits.max_part_bytes:
                raise _over(
                    path.name,
                    f"part {info.filename} is {size:,} bytes uncompressed",
                    "xlsx_max_part_bytes",
                    limits.max_part_bytes,
                )
            ratio = size / max(info.compress_size, 1)
            if size > RATIO_GRACE_BYTES and ratio > limits.max_compression_ratio:
                raise _over(
                    path.name,
                    f"part {info.filename} expands {ratio:,.0f} times ({info.compress_size:,} "
                    f"bytes to {size:,}), the mark of a decompression bomb",
                    "xlsx_max_compression_ratio",
                    limits.max_compression_ratio,
                )
            total += size
            if total > limits.max_total_bytes:
                raise _over(
                    path.name,
                    f"the parts add up to more than {total:,} bytes uncompressed",
                    "xlsx_max_total_bytes",
                    limits.max_total_bytes,
                )
    except BaseException:
        archive.close()
        raise
    return archive


_LOCAL_NAMES: dict[str, str] = {}


def _local(tag: str) -> str:
    """``c`` of ``{namespace}c`` (transitional and strict OOXML name spaces alike)."""
    name = _LOCAL_NAMES.get(tag)
    if name is None:
        name = tag.rpartition("}")[2]
        if len(_LOCAL_NAMES) < 1_000:  # a hostile part may use millions of names
            _LOCAL_NAMES[tag] = name
    return name


def _column_number(letters: str) -> int:
    number = 0
    for char in letters:
        number = number * 26 + (ord(char) - 64)
    return number


_COLUMNS: dict[str, int] = {}


def _column_of(reference: str) -> int | None:
    """The column number of a cell reference (``B12`` -> 2); ``None`` when the text is
    not one."""
    letters = reference.rstrip("0123456789")
    column = _COLUMNS.get(letters)
    if column is None:
        if (
            not (0 < len(letters) <= 3 and len(letters) < len(reference) and letters.isalpha())
            or not letters.isupper()
        ):
            return None
        column = _COLUMNS[letters] = _column_number(letters)
    return column


def _cast_number(text: str) -> int | float:
    if "." in text or "E" in text or "e" in text:
        return float(text)
    return int(text)


class _Elements:
    """``iterparse`` over one part that drops every element once it has ended, so the
    tree never holds more than the path to the current element. Yields (event, local tag,
    element, depth).

    Spreadsheet XML is a few levels deep; deeper nesting than ``MAX_DEPTH`` is refused
    (the path is what memory holds). ``max_elements`` bounds parts no other limit covers
    (workbook structure, styles): real ones hold thousands of elements.
    """

    MAX_DEPTH = 64
    STRUCTURE_ELEMENTS = 2_000_000

    def __init__(
        self, archive: zipfile.ZipFile, part: str, workbook: str, max_elements: int | None = None
    ) -> None:
        self.archive = archive
        self.part = part
        self.workbook = workbook
        self.max_elements = max_elements

    def _damaged(self, what: str) -> ValidationFailed:
        return ValidationFailed(
            f"{self.workbook}: part {self.part} {what}; the workbook is damaged or was not "
            "written by a spreadsheet program. Re-save it in Excel.",
            field="file",
        )

    def __iter__(self) -> Iterator[tuple[str, str, Element, int]]:
        stack: list[Element] = []
        budget = self.max_elements
        try:
            with self.archive.open(self.part) as stream:
                for event, element in iterparse(stream, events=("start", "end")):
                    if event == "start":
                        stack.append(element)
                        if len(stack) > self.MAX_DEPTH:
                            raise self._damaged(f"nests elements over {self.MAX_DEPTH} deep")
                        if budget is not None:
                            budget -= 1
                            if budget < 0:
                                raise self._damaged(
                                    f"holds more than {self.max_elements:,} elements"
                                )
                        yield event, _local(element.tag), element, len(stack)
                        continue
                    yield event, _local(element.tag), element, len(stack)
                    stack.pop()
                    if stack:
                        stack[-1].remove(element)
        except ParseError as err:
            raise ValidationFailed(
                f"{self.workbook}: part {self.part} is not well-formed XML ({err}).",
                field="file",
            ) from None
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as err:
            raise ValidationFailed(
                f"{self.workbook}: part {self.part} cannot be read ({err}).", field="file"
            ) from None


def _attribute(element: Element, local_name: str) -> str | None:
    for key, value in element.attrib.items():
        if _local(key) == local_name:
            return value
    return None


class Workbook:
    """One workbook opened for streaming: its sheets, styles and shared-string part.

    ``sheet``: the sheet name (default: the first sheet). Raises ``ValidationFailed`` for
    an archive over the limits or a workbook whose structure is unreadable.
    """

    def __init__(self, path: Path, limits: XlsxLimits) -> None:
        self.path = path
        self.name = path.name
        self.limits = limits
        self.archive = check_archive(path, limits)
        try:
            self._read_structure()
        except BaseException:
            self.archive.close()
            raise

    # -- structure ---------------------------------------------------------------------

    def _part(self, name: str) -> str | None:
        name = name.lstrip("/")
        try:
            self.archive.getinfo(name)
        except KeyError:
            return None
        return name

    def _relationships(self, part: str) -> dict[str, tuple[str, str]]:
        """Relationship id -> (type, target part) of ``part``."""
        folder, base = posixpath.split(part)
        rels = self._part(posixpath.join(folder, "_rels", base + ".rels"))
        found: dict[str, tuple[str, str]] = {}
        if rels is None:
            return found
        for event, tag, element, _depth in _Elements(
            self.archive, rels, self.name, _Elements.STRUCTURE_ELEMENTS
        ):
            if event == "end" and tag == "Relationship":
                target = element.get("Target") or ""
                if element.get("TargetMode") == "External":
                    continue
                resolved = (
                    target.lstrip("/")
                    if target.startswith("/")
                    else posixpath.normpath(posixpath.join(folder, target))
                )
                found[element.get("Id") or ""] = (element.get("Type") or "", resolved)
        return found

    def _read_structure(self) -> None:
        workbook_part = next(
            (
                target
                for kind, target in self._relationships("").values()
                if kind.endswith("/officeDocument")
            ),
            "xl/workbook.xml",
        )
        if self._part(workbook_part) is None:
            raise ValidationFailed(
                f"{self.name} is not a readable XLSX workbook (it has no workbook part).",
                field="file",
            )
        rels = self._relationships(workbook_part)
        self.sheets: dict[str, str] = {}
        self.date1904 = False
        for event, tag, element, _depth in _Elements(
            self.archive, workbook_part, self.name, _Elements.STRUCTURE_ELEMENTS
        ):
            if event != "end":
                continue
            if tag == "sheet":
                rel = rels.get(_attribute(element, "id") or "")
                if rel is not None and self._part(rel[1]) is not None:
                    self.sheets[element.get("name") or rel[1]] = rel[1]
            elif tag == "workbookPr":
                self.date1904 = element.get("date1904") in ("1", "true")
        if not self.sheets:
            raise ValidationFailed(f"{self.name} has no worksheet to import.", field="file")
        by_type = {kind.rpartition("/")[2]: target for kind, target in rels.values()}
        self.shared_strings_part = self._part(by_type.get("sharedStrings", ""))
        styles = self._part(by_type.get("styles", ""))
        self.date_styles, self.duration_styles = self._date_styles(styles)

    def _date_styles(self, part: str | None) -> tuple[frozenset[int], frozenset[int]]:
        """Positions in ``cellXfs`` whose number format shows a date (or a duration):
        numbers in such cells are dates, as Excel shows them."""
        from openpyxl.styles.numbers import (
            BUILTIN_FORMATS,
            is_date_format,
            is_timedelta_format,
        )

        if part is None:
            return frozenset(), frozenset()
        custom: dict[int, str] = {}
        dates: set[int] = set()
        durations: set[int] = set()
        in_cell_xfs = False
        position = 0
        for event, tag, element, _depth in _Elements(
            self.archive, part, self.name, _Elements.STRUCTURE_ELEMENTS
        ):
            if tag == "cellXfs":
                in_cell_xfs = event == "start"
            elif event == "end" and tag == "numFmt":
                try:
                    custom[int(element.get("numFmtId") or "")] = element.get("formatCode") or ""
                except ValueError:
                    continue
            elif event == "start" and tag == "xf" and in_cell_xfs:
                try:
                    number_format = int(element.get("numFmtId") or 0)
                except ValueError:
                    number_format = 0
                code = custom.get(number_format) or BUILTIN_FORMATS.get(number_format) or ""
                if is_date_format(code):
                    dates.add(position)
                if is_timedelta_format(code):
                    durations.add(position)
                position += 1
        return frozenset(dates), frozenset(durations)

    def sheet_part(self, sheet: str | None) -> str:
        if sheet is None:
            return next(iter(self.sheets.values()))
        if sheet not in self.sheets:
            raise ValidationFailed(
                f"{self.name} has no sheet {sheet!r}; sheets: {', '.join(self.sheets)}.",
                field="sheet",
            )
        return self.sheets[sheet]

    # -- shared strings ----------------------------------------------------------------

    def declared_shared_strings(self) -> None:
        """Refuse at once a shared-string table that declares more strings than the limit
        (the declaration can lie low; :meth:`shared_strings` counts as it reads)."""
        if self.shared_strings_part is None:
            return
        for event, tag, element, _depth in _Elements(
            self.archive, self.shared_strings_part, self.name
        ):
            if event == "start" and tag == "sst":
                declared = max(
                    _int_or_zero(element.get("uniqueCount")), _int_or_zero(element.get("count"))
                )
                if declared > self.limits.max_shared_strings:
                    raise _over(
                        self.name,
                        f"the workbook declares {declared:,} shared strings",
                        "xlsx_max_shared_strings",
                        self.limits.max_shared_strings,
                    )
            return

    def shared_strings(self, wanted: set[int] | None = None) -> dict[int, str] | list[str]:
        """The shared-string table, counted and measured as it is read. With ``wanted``,
        only those entries (a dict), and reading stops after the last of them."""
        table: list[str] = []
        some: dict[int, str] = {}
        if self.shared_strings_part is None:
            return some if wanted is not None else table
        last_wanted = max(wanted) if wanted else -1
        count = 0
        chars = 0
        pieces: list[str] = []
        phonetic = 0
        for event, tag, element, _depth in _Elements(
            self.archive, self.shared_strings_part, self.name
        ):
            if tag == "rPh":
                phonetic += 1 if event == "start" else -1
            elif event == "end" and tag == "t" and not phonetic:
                pieces.append(element.text or "")
            elif event == "end" and tag == "si":
                text = "".join(pieces).replace("x005F_", "")
                pieces = []
                count += 1
                chars += len(text)
                if count > self.limits.max_shared_strings:
                    raise _over(
                        self.name,
                        f"the workbook has more than {self.limits.max_shared_strings:,} "
                        "shared strings",
                        "xlsx_max_shared_strings",
                        self.limits.max_shared_strings,
                    )
                if chars > self.limits.max_shared_string_chars:
                    raise _over(
                        self.name,
                        f"the workbook's shared strings hold more than "
                        f"{self.limits.max_shared_string_chars:,} characters",
                        "xlsx_max_shared_string_chars",
                        self.limits.max_shared_string_chars,
                    )
                if wanted is None:
                    table.append(text)
                elif count - 1 in wanted:
                    some[count - 1] = text
                    if count - 1 >= last_wanted:
                        break
        return some if wanted is not None else table

    # -- rows --------------------------------------------------------------------------

    def rows(
        self,
        part: str,
        strings: dict[int, str] | list[str] | None,
        *,
        search_rows: int | None = None,
    ) -> Iterator[tuple[int, dict[int, CellValue]]]:
        """(sheet row number, {column: value}) of every row holding a value, in file
        order. With ``strings`` ``None`` shared-string cells come out as ``SharedString``
        markers (the caller resolves them: the header, read before the table).
        ``search_rows``: refuse a sheet whose first value is not within that many rows
        (the header search stays cheap)."""
        from openpyxl.utils.datetime import (
            CALENDAR_MAC_1904,
            CALENDAR_WINDOWS_1900,
            from_excel,
            from_ISO8601,
        )

        limits = self.limits
        epoch = CALENDAR_MAC_1904 if self.date1904 else CALENDAR_WINDOWS_1900
        rows_seen = 0
        cells_seen = 0
        row_number = 0
        row_cells = 0
        column = 0
        values: dict[int, CellValue] = {}
        cell_type = "n"
        style = 0
        reference = ""
        value_text: str | None = None
        inline: list[str] = []
        in_inline = False
        phonetic = 0
        for event, tag, element, _depth in _Elements(self.archive, part, self.name):
            if event == "start":
                if tag == "c":
                    cells_seen += 1
                    row_cells += 1
                    if cells_seen > limits.max_cells:
                        raise _over(
                            self.name,
                            f"the sheet has more than {limits.max_cells:,} cells",
                            "xlsx_max_cells",
                            limits.max_cells,
                        )
                    if row_cells > limits.max_columns:
                        raise _over(
                            self.name,
                            f"sheet row {row_number} has more than {limits.max_columns:,} cells",
                            "xlsx_max_columns",
                            limits.max_columns,
                            row=row_number,
                        )
                    reference = element.get("r") or ""
                    place = _column_of(reference) if reference else None
                    column = place or column + 1
                    if not reference:
                        reference = f"column {column} of row {row_number}"
                    if column > limits.max_columns:
                        raise _over(
                            self.name,
                            f"cell {reference} is in column {column:,}",
                            "xlsx_max_columns",
                            limits.max_columns,
                            row=row_number,
                        )
                    cell_type = element.get("t") or "n"
                    style = _int_or_zero(element.get("s"))
                    value_text = None
                    inline = []
                elif tag == "row":
                    rows_seen += 1
                    if rows_seen > limits.max_rows:
                        raise _over(
                            self.name,
                            f"the sheet has more than {limits.max_rows:,} rows",
                            "xlsx_max_rows",
                            limits.max_rows,
                        )
                    if search_rows is not None and rows_seen > search_rows:
                        raise ValidationFailed(
                            f"{self.name}: no header row in the first {search_rows:,} rows of "
                            "the sheet; the first row holding a value must name the columns.",
                            field="file",
                        )
                    declared = _int_or_zero(element.get("r"))
                    row_number = declared if declared > row_number else row_number + 1
                    if row_number > EXCEL_MAX_ROW:
                        raise ValidationFailed(
                            f"{self.name}: sheet row {row_number:,} is beyond Excel's last row "
                            f"({EXCEL_MAX_ROW:,}); the sheet is damaged.",
                            field="file",
                        )
                    row_cells = 0
                    column = 0
                    values = {}
                elif tag == "is":
                    in_inline = True
                elif tag == "rPh":
                    phonetic += 1
                continue
            if tag == "v":
                value_text = element.text
            elif tag == "t" and in_inline and not phonetic:
                inline.append(element.text or "")
            elif tag == "is":
                in_inline = False
            elif tag == "rPh":
                phonetic -= 1
            elif tag == "c":
                value = self._value(
                    cell_type, value_text, inline, style, strings, reference, epoch,
                    from_excel, from_ISO8601,
                )  # fmt: skip
                if value is not None and value != "":
                    values[column] = value
            elif tag == "row":
                if values:
                    yield row_number, values
                values = {}

    def _value(
        self,
        cell_type: str,
        text: str | None,
        inline: list[str],
        style: int,
        strings: dict[int, str] | list[str] | None,
        reference: str,
        epoch: datetime,
        from_excel: Any,
        from_iso: Any,
    ) -> CellValue:
        if cell_type == "inlineStr":
            return "".join(inline) if inline else None
        if not text:
            return None
        try:
            if cell_type == "n":
                number = _cast_number(text)
                if style in self.date_styles:
                    try:
                        return from_excel(  # type: ignore[no-any-return]
                            number, epoch, timedelta=style in self.duration_styles
                        )
                    except (OverflowError, ValueError):
                        return "#VALUE!"
                return number
            if cell_type == "s":
                index = int(text)
                if strings is None:
                    return SharedString(index)
                try:
                    return strings[index]
                except (IndexError, KeyError):
                    raise ValidationFailed(
                        f"{self.name}: cell {reference} refers to shared string {index:,}, "
                        "which the workbook does not have; the file is damaged. Re-save it "
                        "in Excel.",
                        field="file",
                    ) from None
            if cell_type == "b":
                return bool(int(text))
            if cell_type == "d":
                return from_iso(text)  # type: ignore[no-any-return]
        except ValueError:
            raise ValidationFailed(
                f"{self.name}: cell {reference} holds {text[:40]!r}, not a valid "
                f"{'number' if cell_type == 'n' else 'value'} for its type; the file is "
                "damaged. Re-save it in Excel.",
                field="file",
            ) from None
        return text  # "str" (a formula's text), "e" (an error such as #N/A)

    def close(self) -> None:
        self.archive.close()


class SharedString(int):
    """A shared-string index not yet looked up (header cells, read before the table)."""


def _int_or_zero(text: str | None) -> int:
    try:
        return int(text) if text else 0
    except ValueError:
        return 0
