"""Reading a list file (CSV, TSV or XLSX) and recognising its columns.

Pure: a path in, rows out. A list vendor's or county's file names its columns its own way
(``APN``, ``Parcel ID``, ``Situs Address``, ``Amount Due``); the parcel, address, city,
state, zip and date columns are recognised by name, and every other column is kept as the
membership's attributes, as the file wrote it.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from reos.errors import ValidationFailed

PARCEL_NAMES = ("parcel_number", "parcel", "apn", "pin", "parcel_id", "parcel_no", "folio")
ADDRESS_NAMES = (
    "address",
    "site_address",
    "property_address",
    "situs_address",
    "street_address",
    "situs",
)
CITY_NAMES = ("city", "site_city", "property_city", "situs_city")
STATE_NAMES = ("state", "site_state", "property_state", "situs_state")
ZIP_NAMES = ("zip", "zip_code", "zipcode", "postal_code", "site_zip", "property_zip")
DATE_NAMES = ("list_date", "listed_on", "date", "filing_date", "recording_date", "filed")
#: Attribute names that carry an amount due (dollars), read by the deal score.
AMOUNT_NAMES = (
    "amount_due",
    "tax_due",
    "taxes_due",
    "delinquent_amount",
    "amount_delinquent",
    "balance_due",
    "arrears",
    "amount",
)
#: Attribute names that carry an asking price (dollars), read by the deal score.
ASKING_NAMES = ("list_price", "asking_price", "last_list_price")


@dataclass(frozen=True)
class ListRow:
    """One row of a list file: its number (1 = first data row), the recognised parts and
    every other column as written."""

    row_number: int
    parcel: str | None
    address: str | None
    city: str | None
    state: str | None
    zip: str | None
    listed_on: date | None
    attributes: dict[str, str]
    #: every cell of the row by header as written (what a quarantined row shows)
    cells: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class ListFile:
    rows: list[ListRow]
    columns: dict[str, str]  # role -> header as written
    header: list[str] = field(default_factory=list)
    #: rows whose date cell is not a date (listed on the list's date instead)
    bad_dates: list[int] = field(default_factory=list)


def header_key(header: str) -> str:
    """``"Parcel ID"`` -> ``"parcel_id"``."""
    return re.sub(r"[^a-z0-9]+", "_", header.strip().lower()).strip("_")


def read_table(path: Path) -> tuple[list[str], list[list[Any]]]:
    """The header and rows of a CSV/TSV/TXT or XLSX file."""
    if not path.exists():
        raise ValidationFailed(f"{path}: no such file", field="file")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(path, read_only=True, data_only=True).active
        except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
            raise ValidationFailed(
                f"{path}: not a readable XLSX file ({exc})", field="file"
            ) from None
        values = [list(r) for r in sheet.iter_rows(values_only=True)] if sheet is not None else []
        if not values:
            raise ValidationFailed(f"{path}: the workbook is empty", field="file")
        return [str(h or "") for h in values[0]], values[1:]
    if suffix not in (".csv", ".tsv", ".txt"):
        raise ValidationFailed(
            f"{path}: a list file is CSV, TSV or XLSX (got {suffix or 'no extension'})",
            field="file",
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        text = path.read_text(encoding="latin-1")
    delimiter = (
        "\t" if suffix == ".tsv" or ("\t" in text[:2000] and "," not in text[:2000]) else ","
    )
    reader = csv.reader(text.splitlines(), delimiter=delimiter)
    rows = [r for r in reader]
    if not rows:
        raise ValidationFailed(f"{path}: the file is empty", field="file")
    return rows[0], [r for r in rows[1:] if any(str(c).strip() for c in r)]


def cell(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def parse_date(text: str | None) -> date | None:
    if not text:
        return None
    for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%Y/%m/%d"):
        try:
            return datetime.strptime(text[:10], fmt).date()
        except ValueError:
            continue
    return None


def money(text: object) -> float | None:
    """A dollar amount as a list writes it (``$1,234.50``, ``1234.5``); None otherwise."""
    if isinstance(text, int | float):
        return float(text)
    if not isinstance(text, str):
        return None
    cleaned = text.replace("$", "").replace(",", "").strip()
    try:
        return float(cleaned)
    except ValueError:
        return None


def read_list(path: Path) -> ListFile:
    """The rows of a list file with their parts recognised. A file with neither a parcel
    nor an address column is refused: nothing in it could be matched."""
    header, data = read_table(path)
    keys = [header_key(h) for h in header]
    roles: dict[str, int] = {}
    for role, names in (
        ("parcel", PARCEL_NAMES),
        ("address", ADDRESS_NAMES),
        ("city", CITY_NAMES),
        ("state", STATE_NAMES),
        ("zip", ZIP_NAMES),
        ("date", DATE_NAMES),
    ):
        for name in names:
            if name in keys and keys.index(name) not in roles.values():
                roles[role] = keys.index(name)
                break
    if "parcel" not in roles and "address" not in roles:
        raise ValidationFailed(
            f"{path}: no parcel column ({', '.join(PARCEL_NAMES)}) and no address column "
            f"({', '.join(ADDRESS_NAMES)}); the columns are {', '.join(header)}",
            field="file",
        )
    used = set(roles.values())
    written = [h if h and h not in header[:i] else f"column_{i + 1}" for i, h in enumerate(header)]
    rows: list[ListRow] = []
    bad_dates: list[int] = []
    for number, raw in enumerate(data, start=1):
        values = [cell(raw[i]) if i < len(raw) else None for i in range(len(header))]

        def part(role: str, values: list[str | None] = values) -> str | None:
            return values[roles[role]] if role in roles else None

        attributes = {
            keys[i] or f"column_{i + 1}": v
            for i, v in enumerate(values)
            if i not in used and v is not None
        }
        listed_on = parse_date(part("date"))
        if listed_on is None and part("date"):
            bad_dates.append(number)
        rows.append(
            ListRow(
                number,
                part("parcel"),
                part("address"),
                part("city"),
                part("state"),
                part("zip"),
                listed_on,
                attributes,
                dict(zip(written, values, strict=True)),
            )
        )
    return ListFile(rows, {role: header[i] for role, i in roles.items()}, written, bad_dates)
