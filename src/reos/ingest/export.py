r"""CSV and XLSX export that cannot be turned into a spreadsheet formula attack.

Data is stored exactly as imported; only on the way out to a file a person opens in Excel
or Sheets is a text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return prefixed with ``'`` (OWASP "CSV Injection" guidance), which spreadsheets show as
text. Real numbers - Python numbers, or text that is a plain number such as ``-5`` or
``+1.5`` - are left alone so they stay numbers.

An XLSX cell cannot hold the C0 control characters other than tab, newline and carriage
return (``\x00``-``\x08``, ``\x0b``, ``\x0c``, ``\x0e``-``\x1f``): the file format has no
way to write them. Quarantined rows are exactly the rows that carry such bytes, so each is
written as the visible four-character text ``\xNN`` (``\x01``, ``\x1b``), the notation a
person can read and a script can turn back (``re.sub(r"\\x([0-9a-f]{2})", lambda m:
chr(int(m[1], 16)), text)``; exact unless the text already held a literal ``\x`` and two hex
digits). CSV holds any character, so the CSV export keeps
them exactly as imported.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def neutralize_cell(value: Any) -> Any:
    """The value to write: formula-looking text gets a leading ``'``; anything else as is."""
    if not isinstance(value, str) or not value.startswith(FORMULA_PREFIXES):
        return value
    if _PLAIN_NUMBER.fullmatch(value):
        return value
    return "'" + value


def neutralize_row(row: Iterable[Any]) -> list[Any]:
    return [neutralize_cell(v) for v in row]


def _csv_text(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def write_csv(
    target: str | Path | IO[str],
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
) -> int:
    """Write UTF-8 CSV with a BOM (so Excel detects the encoding); returns rows written.

    Rows are streamed; memory does not grow with the number of rows.
    """
    if isinstance(target, str | Path):
        with open(target, "w", encoding="utf-8-sig", newline="") as handle:
            return write_csv(handle, headers, rows)
    writer = csv.writer(target)
    writer.writerow(neutralize_row(headers))
    count = 0
    for row in rows:
        writer.writerow([_csv_text(v) for v in neutralize_row(row)])
        count += 1
    return count


def write_xlsx(
    path: str | Path,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    sheet_title: str = "export",
) -> int:
    """Write an XLSX workbook in openpyxl's write-only (streaming) mode; returns rows written.

    openpyxl stores any string starting with ``=`` as a formula, so neutralising here is
    not only about what users type but about what the library does.
    """
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet(sheet_title)
    sheet.append([_xlsx_value(v) for v in neutralize_row(headers)])
    count = 0
    for row in rows:
        sheet.append([_xlsx_value(v) for v in neutralize_row(row)])
        count += 1
    book.save(path)
    return count


#: The characters an XLSX cell cannot hold (the same set as openpyxl's ILLEGAL_CHARACTERS_RE).
_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def escape_xlsx_text(text: str) -> str:
    r"""``text`` with each character XLSX cannot hold written as the visible ``\xNN``."""
    return _XLSX_ILLEGAL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, dict | list | tuple | set):
        value = str(value)
    if isinstance(value, str):
        return escape_xlsx_text(value)
    return value
