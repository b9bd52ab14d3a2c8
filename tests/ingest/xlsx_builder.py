"""Hand-written XLSX workbooks for the hostile-upload tests.

A workbook is a ZIP of XML parts; writing the parts directly (instead of through openpyxl)
lets a test build what no spreadsheet program writes: millions of shared strings, a
declared dimension far beyond the data, a run of millions of cells, a lying count.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import Path
from xml.sax.saxutils import escape

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL}">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{REL}">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL}">'
    f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
    f'<Relationship Id="rId3" Type="{REL}/styles" Target="styles.xml"/>'
    "</Relationships>"
)
STYLES = (
    f'<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="{MAIN}">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/></cellXfs>'
    "</styleSheet>"
)


def column_letters(column: int) -> str:
    letters = ""
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def inline_row(row: int, values: Iterable[object]) -> str:
    """One ``<row>`` of inline-string and number cells (no shared strings needed)."""
    cells = []
    for column, value in enumerate(values, start=1):
        ref = f"{column_letters(column)}{row}"
        if isinstance(value, int | float):
            cells.append(f'<c r="{ref}"><v>{value}</v></c>')
        elif value is not None:
            cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>')
    return f'<row r="{row}">{"".join(cells)}</row>'


def sheet_xml(rows: Iterable[str], dimension: str | None = None) -> Iterable[str]:
    yield f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}" xmlns:r="{REL}">'
    if dimension:
        yield f'<dimension ref="{dimension}"/>'
    yield "<sheetData>"
    yield from rows
    yield "</sheetData></worksheet>"


def shared_strings_xml(items: Iterable[str], count: int | None = None) -> Iterable[str]:
    counted = f' count="{count}" uniqueCount="{count}"' if count is not None else ""
    yield f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}"{counted}>'
    yield from items
    yield "</sst>"


def write_workbook(
    path: Path,
    sheet: Iterable[str],
    shared_strings: Iterable[str] | None = None,
    *,
    compression: int = zipfile.ZIP_DEFLATED,
) -> Path:
    """Write a workbook whose sheet (and shared strings) XML come as text pieces, streamed
    into the archive so a test can build a 100 MB part without holding it."""
    with zipfile.ZipFile(path, "w", compression) as book:
        book.writestr("[Content_Types].xml", CONTENT_TYPES)
        book.writestr("_rels/.rels", ROOT_RELS)
        book.writestr("xl/workbook.xml", WORKBOOK)
        book.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        book.writestr("xl/styles.xml", STYLES)
        for name, pieces in (
            ("xl/worksheets/sheet1.xml", sheet),
            ("xl/sharedStrings.xml", shared_strings or shared_strings_xml([], 0)),
        ):
            with book.open(name, "w", force_zip64=True) as part:
                buffer: list[str] = []
                size = 0
                for piece in pieces:
                    buffer.append(piece)
                    size += len(piece)
                    if size > 1 << 20:
                        part.write("".join(buffer).encode())
                        buffer, size = [], 0
                part.write("".join(buffer).encode())
    return path
