"""The validation gate: every mapped row leaves here valid, or with the reasons it is not.

A row with any error is quarantined by the import service (kept with its reasons, never
dropped); warnings travel with a valid row into the import report.

What a row needs (by record kind, the ``record`` of the mapping):

* sale: ``sale_price`` and ``close_date``, and some way to find the property sold - a
  ``parcel_number``, an address (``address`` or ``street_name``), coordinates (both
  ``latitude`` and ``longitude``) or a record id (``source_record_id``/``sale_record_id``);
* owner: ``owner_name`` or ``owner_record_id``. A property key (``parcel_number``,
  ``address``/``street_name`` or ``source_record_id``) links the owner to its property when
  given; without one (skip-trace and contact lists, CRM exports) the row is kept as an
  unlinked owner record, which owner resolution still groups into owners
  (``reos.owners.bulk``);
* property: a key - ``parcel_number``, ``source_record_id``, an address, or coordinates;
* every kind: a value for the mapping's ``key`` field, which the upsert matches on.

Limits are the sanity bounds in ``reos.ingest.fields`` (price > 0, beds 0-50, latitude
-90..90 ...); year fields run to next year; a close date may not be in the future.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date
from typing import Any

from reos.geo import cell_columns
from reos.ingest.fields import FIELDS, YEAR_AHEAD_ALLOWED, YEAR_FIELDS, FieldType
from reos.ingest.mapping import EffectiveMapping, MappedRow, apply_mapping
from reos.ingest.readers import RawRow
from reos.kernel import coerce
from reos.kernel.addresses import normalize_address
from reos.kernel.coerce import CoercionError
from reos.kernel.rows import Issue, Validated, preview
from reos.kernel.vocabulary import Entity

ROW = "_row"
#: Sale prices under this many dollars are nominal transfers (quit-claims, $10 deeds),
#: kept but flagged so the valuation engine can leave them out.
NOMINAL_PRICE_USD = 1_000
EARLIEST_CLOSE_YEAR = 1800


def validate_row(
    mapped: MappedRow,
    *,
    record: str,
    key: str | None = None,
    raw_row: RawRow | None = None,
    today: date | None = None,
    normalize_addresses: bool = True,
) -> Validated:
    """Run every check on one mapped row and return values with all issues found.

    Checks do not stop at the first error: a quarantined row lists everything wrong with
    it so the user fixes the source once.
    """
    today = today or date.today()
    values = dict(mapped.values)
    result = Validated(values, list(mapped.errors), list(mapped.warnings), mapped.row_number)
    if raw_row is not None:
        result.raw = dict(raw_row.values)
        result.errors.extend(Issue(ROW, p) for p in raw_row.problems)
        result.warnings.extend(Issue(ROW, w) for w in raw_row.warnings)

    def issue(name: str, reason: str) -> Issue:
        return Issue(name, reason, mapped.sources.get(name), preview(mapped.raw.get(name)))

    for name in list(values):
        spec = FIELDS.get(name)
        if spec is None:
            continue
        try:
            values[name] = _check_field(name, values[name], today, result, issue)
        except CoercionError as err:
            result.errors.append(issue(name, str(err)))
            del values[name]
    _cross_checks(values, result, issue, today)
    _required(values, record, key, result)
    if normalize_addresses:
        normalise_site_address(values, result)
    locate(values)
    values["attributes"] = dict(mapped.attributes)
    return result


def locate(values: dict[str, Any]) -> None:
    """The indexed H3 cells of a located row (``h3_cell``, ``h3_cell_r7``, ``h3_cell_r5``).

    Worked out with the rest of the gate, in the mapping worker of a bulk import, so the
    import process, which matches and writes, does not: a new property is stored with
    them as they are (about 8 microseconds a row).
    """
    lat, lon = values.get("latitude"), values.get("longitude")
    if lat is not None and lon is not None:
        values.update(cell_columns(lat, lon))


def _check_field(name: str, value: Any, today: date, result: Validated, issue: Any) -> Any:
    spec = FIELDS[name]
    if name == "state":
        return coerce.to_state(value)
    if name == "zip":
        zip5, plus4, note = coerce.split_zip(value)
        if note:
            result.warnings.append(issue(name, note))
        if plus4 is not None:
            # a ZIP+4 keeps its add-on in its own field; a zip4 column of its own wins
            result.values.setdefault("zip4", plus4)
        return zip5
    if name == "zip4":
        return coerce.to_zip4(value)
    if name in {"mailing_state", "mailing_zip"}:
        return value  # foreign mailing addresses are legitimate; owners/ normalises them
    if spec.type in (FieldType.INT, FieldType.FLOAT):
        number = float(value)
        if not math.isfinite(number):
            raise CoercionError("not a finite number")
        high = today.year + YEAR_AHEAD_ALLOWED if name in YEAR_FIELDS else spec.max_value
        low = spec.min_value
        if low is not None and (number <= low if spec.exclusive_min else number < low):
            relation = "greater than" if spec.exclusive_min else "at least"
            raise CoercionError(f"must be {relation} {low:g}{_unit(spec.unit)}")
        if high is not None and number > high:
            raise CoercionError(f"must be at most {high:g}{_unit(spec.unit)}")
        return value
    if spec.type is FieldType.DATE:
        if not isinstance(value, date):
            raise CoercionError("not a date")
        if name == "close_date" and value > today:
            raise CoercionError(f"close date {value.isoformat()} is in the future")
        if value.year < EARLIEST_CLOSE_YEAR:
            raise CoercionError(f"date before {EARLIEST_CLOSE_YEAR} is not plausible")
        return value
    if spec.type is FieldType.ENUM and value not in spec.choices:
        raise CoercionError(f"must be one of {', '.join(spec.choices)}")
    if isinstance(value, str) and spec.max_length is not None and len(value) > spec.max_length:
        raise CoercionError(f"longer than {spec.max_length} characters ({len(value):,})")
    return value


def _unit(unit: str | None) -> str:
    return f" {unit}" if unit and unit not in {"count", "year", "date"} else ""


def _cross_checks(values: dict[str, Any], result: Validated, issue: Any, today: date) -> None:
    lat, lon = values.get("latitude"), values.get("longitude")
    bad_coordinate = any(e.field in {"latitude", "longitude"} for e in result.errors)
    if bad_coordinate:
        values.pop("latitude", None)  # half a location is no location
        values.pop("longitude", None)
    elif (lat is None) != (lon is None):
        missing, present = ("longitude", "latitude") if lon is None else ("latitude", "longitude")
        result.errors.append(
            issue(missing, f"{present} is given without {missing}; both or neither")
        )
        values.pop(present, None)
    elif lat == 0 and lon == 0:
        result.errors.append(
            issue("latitude", "coordinates 0,0 are a missing-value placeholder, not a location")
        )
        values.pop("latitude", None)
        values.pop("longitude", None)
    living, lot = values.get("living_area_sqft"), values.get("lot_size_sqft")
    if (
        living is not None
        and lot is not None
        and living > lot
        and values.get("property_type") == "single_family"
        and (values.get("stories") or 1) <= 1
    ):
        result.warnings.append(
            issue(
                "living_area_sqft",
                f"living area {living:,.0f} sq ft exceeds the lot ({lot:,.0f} sq ft) for a one-storey house: check units",
            )
        )
    built, remodeled = values.get("year_built"), values.get("year_remodeled")
    if built is not None and remodeled is not None and remodeled < built:
        result.warnings.append(
            issue("year_remodeled", f"remodel year {remodeled} is before the year built {built}")
        )
    price = values.get("sale_price")
    if price is not None and price < NOMINAL_PRICE_USD:
        result.warnings.append(
            issue(
                "sale_price",
                f"nominal price under ${NOMINAL_PRICE_USD:,}: probably not an arm's-length sale",
            )
        )
    listed = values.get("list_price")
    if price and listed and not 0.2 <= price / listed <= 5:
        result.warnings.append(
            issue("sale_price", f"sale price is {price / listed:.1f}x the list price: check both")
        )


def _has(values: dict[str, Any], *names: str) -> bool:
    return any(values.get(n) not in (None, "") for n in names)


def _located(values: dict[str, Any]) -> bool:
    return values.get("latitude") is not None and values.get("longitude") is not None


def _required(values: dict[str, Any], record: str, key: str | None, result: Validated) -> None:
    def missing(name: str, reason: str) -> None:
        result.errors.append(Issue(name, reason))

    if record == Entity.SALE:
        for name in ("sale_price", "close_date"):
            if values.get(name) is None and not any(e.field == name for e in result.errors):
                missing(name, "required for a sale and empty")
        if not (
            _has(
                values,
                "parcel_number",
                "address",
                "street_name",
                "source_record_id",
                "sale_record_id",
            )
            or _located(values)
        ):
            missing(
                ROW,
                "a sale needs a parcel number, an address, coordinates or a record id to identify the property",
            )
    elif record == Entity.RENT:
        if values.get("monthly_rent") is None and not any(
            e.field == "monthly_rent" for e in result.errors
        ):
            missing("monthly_rent", "required for a rent listing and empty")
        if not (_has(values, "parcel_number", "address", "street_name") or _located(values)):
            missing(
                ROW,
                "a rent listing needs a parcel number, an address or coordinates to place it",
            )
    elif record == Entity.OWNER:
        if not _has(values, "owner_name", "owner_record_id"):
            missing("owner_name", "an owner needs a name or an owner record id")
    elif not (
        _has(values, "parcel_number", "source_record_id", "address", "street_name")
        or _located(values)
    ):
        missing(ROW, "a property needs a parcel number, a record id, an address or coordinates")
    if key and values.get(key) in (None, "") and not any(e.field == key for e in result.errors):
        missing(key, f"{key} is the key this mapping upserts on and it is empty")


def normalise_site_address(values: dict[str, Any], result: Validated) -> None:
    """Fill street parts and the address key from ``address`` (or the parts), keeping the
    raw ``address`` untouched. An unparseable address is a warning, not an error."""
    line = values.get("address")
    if not line and values.get("street_name"):
        line = " ".join(str(values[p]) for p in ("street_number", "street_name") if values.get(p))
        if values.get("unit"):
            line += f" {values['unit']}"
    if not line:
        return
    norm = normalize_address(
        str(line), None, values.get("city"), values.get("state"), values.get("zip")
    )
    for name in ("street_number", "street_name", "unit", "city", "state", "zip"):
        found = getattr(norm, name)
        if values.get(name) in (None, "") and found:
            values[name] = found
    values["address_key"] = norm.key
    values["address_normalized"] = norm.one_line
    values["address_is_po_box"] = norm.is_po_box
    if norm.is_po_box:
        result.warnings.append(
            Issue("address", "site address is a P.O. box, not a location", None, preview(line))
        )
    if not norm.parsed and norm.warning:
        result.warnings.append(Issue("address", norm.warning, None, preview(line)))


def process_rows(
    mapping: EffectiveMapping,
    rows: Iterable[RawRow],
    *,
    today: date | None = None,
    normalize_addresses: bool = True,
) -> list[Validated]:
    """Map and validate a chunk of rows: the one call the import service makes per chunk.

    Returns one ``Validated`` per input row, in order, so the report balances
    (read = valid + quarantined).
    """
    today = today or date.today()
    return [
        validate_row(
            apply_mapping(mapping, row),
            record=mapping.record,
            key=mapping.key,
            raw_row=row,
            today=today,
            normalize_addresses=normalize_addresses,
        )
        for row in rows
    ]
