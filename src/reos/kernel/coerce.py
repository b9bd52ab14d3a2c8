"""Turn the text found in files into typed values, the way people actually write them.

Each function takes a cell (text, or an already-typed value from Parquet/XLSX/YAML) and
returns the typed value or raises ``CoercionError`` with a reason a person can act on.
They never guess silently: an ambiguous date is read in the US order (month/day/year)
that US county and MLS exports use, and a mapping can pin the ``format`` instead.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta
from typing import Any

from reos.kernel.vocabulary import PROPERTY_TYPES


class CoercionError(ValueError):
    """A cell could not be read as the field's type; ``str(err)`` is the reason."""


_MISSING_MARKERS = frozenset({"", "na", "n/a", "nan", "null", "none", "-", "--", "#n/a"})


def is_missing(value: object) -> bool:
    """Empty cells and the usual spreadsheet spellings of "nothing here"."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip().lower() in _MISSING_MARKERS


# --- numbers ---------------------------------------------------------------------------

_NUMBER_NOISE = re.compile(r"[\s$,_\u00a0]")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def to_float(value: object) -> float:
    """A number from text such as ``$1,234.50``, ``(1,200)`` (accounting negative), ``1 200``.

    Currency signs, thousands separators, spaces and a trailing ``%`` are dropped; the
    value is not rescaled (``45%`` reads as 45).
    """
    if isinstance(value, bool):
        raise CoercionError("expected a number, got a true/false value")
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = _NUMBER_NOISE.sub("", str(value)).rstrip("%")
        negative = False
        if text.startswith("(") and text.endswith(")"):
            negative, text = True, text[1:-1]
        if text.startswith("-$") or text.startswith("$-"):
            text = "-" + text[2:]
        if not _PLAIN_NUMBER.fullmatch(text):
            raise CoercionError("not a number")
        number = float(text)
        if negative:
            number = -number
    if not math.isfinite(number):
        raise CoercionError("not a finite number")
    return number


def to_int(value: object) -> int:
    """A whole number; ``3.0`` is accepted (spreadsheets store counts as floats), ``3.5`` not."""
    number = to_float(value)
    if not number.is_integer():
        raise CoercionError(f"expected a whole number, got {number:g}")
    return int(number)


# --- booleans --------------------------------------------------------------------------

_TRUE = frozenset({"y", "yes", "true", "t", "1", "x"})
_FALSE = frozenset({"n", "no", "false", "f", "0"})


def to_bool(value: object) -> bool:
    """Y/N, yes/no, true/false, T/F, 1/0 (and X for a ticked box), any case."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CoercionError("expected yes/no (Y/N, true/false, 1/0)")


# --- dates -----------------------------------------------------------------------------

#: Tried in order when a mapping gives no ``format``; each with the precision it implies.
DEFAULT_DATE_FORMATS: tuple[tuple[str, str], ...] = (
    ("%Y-%m-%d", "day"),
    ("%Y-%m-%dT%H:%M:%S", "day"),
    ("%Y-%m-%d %H:%M:%S", "day"),
    ("%Y/%m/%d", "day"),
    ("%m/%d/%Y", "day"),
    ("%m/%d/%y", "day"),
    ("%m-%d-%Y", "day"),
    ("%d-%b-%Y", "day"),
    ("%d-%b-%y", "day"),
    ("%d %b %Y", "day"),
    ("%b %d, %Y", "day"),
    ("%B %d, %Y", "day"),
    ("%d %B %Y", "day"),
    ("%Y%m%d", "day"),
    ("%Y-%m", "month"),
    ("%m/%Y", "month"),
    ("%b %Y", "month"),
    ("%B %Y", "month"),
    ("%Y", "year"),
)

#: Excel's day 0 for serial dates (the 1900 leap-year bug makes day 60 = 29 Feb 1900,
#: which never existed; serials above 60 are correct from this epoch).
EXCEL_EPOCH = date(1899, 12, 30)
#: Serials accepted as Excel dates: 1950-01-01 .. 2099-12-31. Narrow on purpose so that a
#: yyyymmdd number or a price is never taken for a serial.
EXCEL_SERIAL_RANGE = (18_264, 73_050)


def truncate_to_precision(day: date, precision: str) -> date:
    """First of the month for month precision, 1 January for year precision."""
    if precision == "month":
        return day.replace(day=1)
    if precision == "year":
        return day.replace(month=1, day=1)
    return day


def to_date(
    value: object, formats: list[str] | None = None, precision: str | None = None
) -> tuple[date, str]:
    """A date and its precision (``day``/``month``/``year``).

    Without ``formats``: ISO (``2010-05-17``), US ``5/17/2010``, ``17-May-2010``, Excel
    serials (``40315``), ``2010-05`` (month precision), ``2010`` (year precision) and
    the others in ``DEFAULT_DATE_FORMATS``. A ``precision`` from the mapping wins over the
    one the format implies, and the date is truncated to it.
    """
    found: tuple[date, str] | None = None
    if isinstance(value, datetime):
        found = (value.date(), "day")
    elif isinstance(value, date):
        found = (value, "day")
    else:
        text = str(value).strip()
        if formats:
            for fmt in formats:
                try:
                    parsed = datetime.strptime(text, fmt).date()
                except ValueError:
                    continue
                found = (parsed, _precision_of_format(fmt))
                break
            if found is None:
                raise CoercionError(f"does not match the date format(s) {', '.join(formats)}")
        else:
            found = _parse_any_date(text)
    day, implied = found
    final_precision = precision or implied
    return truncate_to_precision(day, final_precision), final_precision


def _precision_of_format(fmt: str) -> str:
    if "%d" in fmt or "%j" in fmt:
        return "day"
    if "%m" in fmt or "%b" in fmt or "%B" in fmt:
        return "month"
    return "year"


def _parse_any_date(text: str) -> tuple[date, str]:
    if re.fullmatch(r"\d{5}(\.0+)?", text):
        serial = int(float(text))
        low, high = EXCEL_SERIAL_RANGE
        if low <= serial <= high:
            return EXCEL_EPOCH + timedelta(days=serial), "day"
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ].*", text):
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).date(), "day"
        except ValueError:
            pass
    for fmt, implied in DEFAULT_DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date(), implied
        except ValueError:
            continue
    raise CoercionError(
        "not a date I can read (use YYYY-MM-DD, M/D/YYYY, D-Mon-YYYY, an Excel serial, "
        "or give the column a `format:` in the mapping)"
    )


# --- codes -----------------------------------------------------------------------------

US_STATES: frozenset[str] = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV "
    "NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY".split()
)
#: USPS codes of inhabited territories and the armed-forces "states" (valid mail addresses).
US_TERRITORIES: frozenset[str] = frozenset("PR VI GU AS MP FM MH PW AA AE AP".split())
US_STATE_CODES: frozenset[str] = US_STATES | US_TERRITORIES

_STATE_NAMES: dict[str, str] = {
    "ALABAMA": "AL", "ALASKA": "AK", "ARIZONA": "AZ", "ARKANSAS": "AR", "CALIFORNIA": "CA",
    "COLORADO": "CO", "CONNECTICUT": "CT", "DELAWARE": "DE", "DISTRICT OF COLUMBIA": "DC",
    "FLORIDA": "FL", "GEORGIA": "GA", "HAWAII": "HI", "IDAHO": "ID", "ILLINOIS": "IL",
    "INDIANA": "IN", "IOWA": "IA", "KANSAS": "KS", "KENTUCKY": "KY", "LOUISIANA": "LA",
    "MAINE": "ME", "MARYLAND": "MD", "MASSACHUSETTS": "MA", "MICHIGAN": "MI",
    "MINNESOTA": "MN", "MISSISSIPPI": "MS", "MISSOURI": "MO", "MONTANA": "MT",
    "NEBRASKA": "NE", "NEVADA": "NV", "NEW HAMPSHIRE": "NH", "NEW JERSEY": "NJ",
    "NEW MEXICO": "NM", "NEW YORK": "NY", "NORTH CAROLINA": "NC", "NORTH DAKOTA": "ND",
    "OHIO": "OH", "OKLAHOMA": "OK", "OREGON": "OR", "PENNSYLVANIA": "PA",
    "RHODE ISLAND": "RI", "SOUTH CAROLINA": "SC", "SOUTH DAKOTA": "SD", "TENNESSEE": "TN",
    "TEXAS": "TX", "UTAH": "UT", "VERMONT": "VT", "VIRGINIA": "VA", "WASHINGTON": "WA",
    "WEST VIRGINIA": "WV", "WISCONSIN": "WI", "WYOMING": "WY", "PUERTO RICO": "PR",
    "GUAM": "GU", "VIRGIN ISLANDS": "VI", "AMERICAN SAMOA": "AS",
}  # fmt: skip


def to_state(value: object) -> str:
    """Two-letter USPS code from a code or a full name (``Iowa`` -> ``IA``)."""
    text = re.sub(r"[.\s]+", " ", str(value)).strip().upper()
    code = _STATE_NAMES.get(text, text.replace(" ", ""))
    if code not in US_STATE_CODES:
        raise CoercionError("not a US state or territory code")
    return code


#: A ZIP and its optional ZIP+4 add-on: ``50010``, ``50010-1234``, ``500101234``, ``50010 1234``.
ZIP_PLUS4 = re.compile(r"([0-9]{5})(?:[- ]?([0-9]{4}))?")
#: The add-on alone (RESO ``PostalCodePlus4``).
PLUS4 = re.compile(r"[0-9]{4}")


def split_zip(value: object) -> tuple[str, str | None, str | None]:
    """Five-digit ZIP, its ZIP+4 add-on (four digits, or None) and an optional note.

    ``62701-1234``, ``627011234`` and ``62701 1234`` give ``("62701", "1234", None)``. A 3- or
    4-digit value is a ZIP whose leading zeros a spreadsheet dropped (New England, NJ, PR)
    and is padded back, with a note so the import report shows it.
    """
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    text = re.sub(r"\.0+$", "", text)
    match = ZIP_PLUS4.fullmatch(text)
    if match:
        return match.group(1), match.group(2), None
    if re.fullmatch(r"\d{3,4}", text):
        padded = text.zfill(5)
        return padded, None, f"ZIP {text!r} padded with leading zeros to {padded!r}"
    raise CoercionError("ZIP code must be 5 digits (ZIP+4 allowed)")


def to_zip5(value: object) -> tuple[str, str | None]:
    """Five-digit ZIP and an optional note; a ZIP+4 add-on is dropped (see ``split_zip``)."""
    zip5, _plus4, note = split_zip(value)
    return zip5, note


def to_zip4(value: object) -> str:
    """The ZIP+4 add-on: four digits (leading zeros kept, ``7.0`` from a spreadsheet read as
    ``0007``), or taken from a whole ZIP+4 written in the add-on's column."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and 0 <= value <= 9999:
        return f"{value:04d}"
    text = str(value).strip()
    if PLUS4.fullmatch(text):
        return text
    match = ZIP_PLUS4.fullmatch(text)
    if match and match.group(2):
        return match.group(2)
    raise CoercionError("ZIP+4 add-on must be 4 digits")


_PROPERTY_TYPE_SYNONYMS: dict[str, str] = {
    # RESO PropertyType values (the broad class; Residential without a subtype is
    # most often a detached house, so it maps to single_family)
    "residential": "single_family",
    "residentialincome": "multi_family",
    "residentiallease": "other",
    "commercialsale": "commercial",
    "commerciallease": "commercial",
    "businessopportunity": "commercial",
    "farm": "land",
    "land": "land",
    "manufacturedinpark": "manufactured",
    # RESO PropertySubType values and common vendor spellings
    "singlefamily": "single_family",
    "singlefamilyresidence": "single_family",
    "singlefamilyresidential": "single_family",
    "sfr": "single_family",
    "sfh": "single_family",
    "detached": "single_family",
    "house": "single_family",
    "onefam": "single_family",
    "condo": "condo",
    "condominium": "condo",
    "apartment": "condo",
    "stockcooperative": "condo",
    "coop": "condo",
    "townhouse": "townhouse",
    "townhome": "townhouse",
    "twnhs": "townhouse",
    "twnhse": "townhouse",
    "rowhouse": "townhouse",
    "attached": "townhouse",
    "multifamily": "multi_family",
    "duplex": "multi_family",
    "triplex": "multi_family",
    "quadruplex": "multi_family",
    "fourplex": "multi_family",
    "twofmcon": "multi_family",
    "manufactured": "manufactured",
    "manufacturedhome": "manufactured",
    "mobile": "manufactured",
    "mobilehome": "manufactured",
    "vacantland": "land",
    "lot": "land",
    "lots": "land",
    "commercial": "commercial",
    "office": "commercial",
    "retail": "commercial",
    "industrial": "commercial",
    "mixeduse": "commercial",
    "other": "other",
}


def to_property_type(value: object) -> str:
    """One of ``PROPERTY_TYPES`` from our names, RESO values or common vendor spellings."""
    key = re.sub(r"[^a-z0-9]", "", str(value).lower())
    for choice in PROPERTY_TYPES:
        if key == choice.replace("_", ""):
            return choice
    if key in _PROPERTY_TYPE_SYNONYMS:
        return _PROPERTY_TYPE_SYNONYMS[key]
    raise CoercionError(
        f"unknown property type; use one of {', '.join(PROPERTY_TYPES)} "
        "or map the source codes with `values:` in the mapping"
    )


def attribute_value(value: object) -> Any:
    """Extra attributes are stored as numbers when they read as plain numbers, else text.

    Only plain numerals count: ``1,200`` or ``$5`` stay text, and digit strings with a
    leading zero (``0601``, a code, not a quantity) stay text so the zero is not lost.
    """
    if isinstance(value, bool | int | float):
        return value
    text = str(value).strip()
    if _PLAIN_NUMBER.fullmatch(text) and not re.fullmatch(r"[+-]?0\d+", text):
        number = float(text)
        if math.isfinite(number):
            return (
                int(number)
                if number.is_integer() and "." not in text and "e" not in text.lower()
                else number
            )
    return text
