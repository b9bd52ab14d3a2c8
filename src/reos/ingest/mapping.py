"""Column mapping: which source column fills which ``reos`` field, and how.

A mapping comes from a YAML file or, without one, from built-in recognition of RESO Data
Dictionary names and common vendor spellings (case, space and underscore insensitive).
``build_mapping`` checks a mapping against a file's headers once (naming any missing column
and the closest header); ``apply_mapping`` then turns each ``RawRow`` into typed values
plus per-field issues. Range and cross-field checks live in ``validation``.

Mapping file format (see ``data/samples/*.mapping.yaml`` for complete examples)::

    source_name: ames_assessor      # provenance label stored with every record
    record: sale                    # sale | property | owner (inferred when omitted)
    key: sale_record_id             # field that identifies a record for upserts
    auto: false                     # also auto-recognise unmapped headers (default false)
    fields:
      sale_price: Sale_Price                      # plain column
      state: {constant: IA}
      lot_size_sqft: {column: LotAcres, convert: acres_to_sqft}
      close_date: {concat: [Year_Sold, Mo_Sold], separator: "-", format: "%Y-%m",
                   precision: month}
      condition: {column: Overall_Cond, values: {Average: 5, Good: 7}}
      pool: {column: Pool_QC, values: {No_Pool: false}, otherwise: true}
      zip: {column: zip, strip_prefix: z}
      city: {column: city, replace: {"_": " "}}
      sale_record_id: {transform: row_number, prefix: "ames-"}
      beds: {column: Beds, default: 0}
      attr.building_style: House_Style

Spec keys: ``column``, ``concat`` + ``separator``, ``constant``, ``transform: row_number``
(+ ``prefix``), ``default``, ``strip_prefix``, ``replace``, ``values`` + ``otherwise``,
``convert`` (``acres_to_sqft``, ``m2_to_sqft``), ``format`` (a strftime format or a list to
try in order), ``precision`` (``day``/``month``/``year``). Keys in ``values`` match the
cell exactly first, then ignoring case and surrounding spaces; quote YAML keys such as
``"No"`` and ``"Yes"``, which YAML would otherwise read as booleans.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from reos.errors import ValidationFailed
from reos.ingest.fields import FIELDS, RECORD_KEYS, FieldType, get_field, is_attribute
from reos.ingest.readers import RawRow
from reos.kernel import coerce
from reos.kernel.coerce import CoercionError
from reos.kernel.rows import Issue, preview
from reos.kernel.vocabulary import DATE_PRECISIONS, Entity

#: Square feet per unit; sources: 1 acre = 43,560 sq ft (US survey definition);
#: 1 m2 = 1 / 0.3048^2 sq ft (international foot, exactly 0.3048 m).
UNIT_CONVERSIONS: dict[str, float] = {
    "acres_to_sqft": 43_560.0,
    "m2_to_sqft": 1 / 0.3048**2,
    "hectares_to_sqft": 10_000 / 0.3048**2,
}
#: Conversions that split one source value: a total bath count such as 2.5 (RESO
#: BathroomsTotalDecimal convention: each .5 is one half bath) into full and half baths.
BATH_SPLITS: tuple[str, ...] = ("total_baths_to_full", "total_baths_to_half")
CONVERSIONS: tuple[str, ...] = (*UNIT_CONVERSIONS, *BATH_SPLITS)
TRANSFORMS: tuple[str, ...] = ("row_number",)
RECORD_KINDS: tuple[str, ...] = (Entity.SALE, Entity.PROPERTY, Entity.OWNER, Entity.RENT)

_SPEC_KEYS = frozenset(
    {
        "column", "concat", "separator", "constant", "transform", "prefix", "default",
        "strip_prefix", "replace", "values", "otherwise", "convert", "format", "precision",
    }
)  # fmt: skip


class _Unset:
    """The "not given" marker of a rule's settings; unpickles to the same marker, so
    mappings can be sent to a worker process."""

    def __reduce__(self) -> str:
        return "UNSET"

    def __repr__(self) -> str:
        return "<unset>"


UNSET: Any = _Unset()


def normalize_header(name: str) -> str:
    """Header comparison key: lower case, letters and digits only (``Zip Code`` -> ``zipcode``)."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


@dataclass(frozen=True)
class FieldRule:
    """How one target field gets its value from a row."""

    target: str
    columns: tuple[str, ...] = ()
    separator: str = " "
    constant: Any = UNSET
    transform: str | None = None
    prefix: str = ""
    default: Any = UNSET
    strip_prefix: tuple[str, ...] = ()
    replace: tuple[tuple[str, str], ...] = ()
    values: Mapping[str, Any] | None = None
    otherwise: Any = UNSET
    convert: str | None = None
    formats: tuple[str, ...] = ()
    precision: str | None = None
    origin: str = "mapping"

    @property
    def source_column(self) -> str | None:
        """The column named in issues: the single column, or the columns joined by ``+``."""
        return "+".join(self.columns) if self.columns else None

    def describe(self) -> str:
        if self.constant is not UNSET:
            return f"constant {self.constant!r}"
        if self.transform == "row_number":
            return f"row number{f' prefixed {self.prefix!r}' if self.prefix else ''}"
        source = " + ".join(repr(c) for c in self.columns)
        extras = []
        if self.convert:
            extras.append(self.convert)
        if self.values is not None:
            extras.append(f"{len(self.values)} coded values")
        if self.formats:
            extras.append(f"format {' | '.join(self.formats)}")
        if self.precision:
            extras.append(f"{self.precision} precision")
        if self.strip_prefix:
            extras.append(f"strip prefix {'/'.join(self.strip_prefix)}")
        return (
            source
            + (f" ({', '.join(extras)})" if extras else "")
            + (" [auto]" if self.origin == "auto" else "")
        )


@dataclass(frozen=True)
class MappingFile:
    """A parsed mapping file (or dict); ``rules`` are keyed by target field."""

    rules: dict[str, FieldRule]
    source_name: str | None = None
    key: str | None = None
    record: str | None = None
    auto: bool = False
    path: str | None = None


@dataclass(frozen=True)
class EffectiveMapping:
    """A mapping checked against one file's headers, ready for ``apply_mapping``.

    ``used_columns`` maps each used column to the fields it fills; ``ignored_columns`` are
    the headers nothing reads (shown by ``--preview`` so a user sees what is left out).
    """

    rules: dict[str, FieldRule]
    headers: tuple[str, ...]
    record: str
    key: str
    source_name: str | None
    used_columns: dict[str, list[str]]
    ignored_columns: list[str]

    def preview_lines(self) -> list[str]:
        lines = [f"record: {self.record}   key: {self.key}   source: {self.source_name or '-'}"]
        for target, rule in self.rules.items():
            lines.append(f"  {target:<22} <- {rule.describe()}")
        if self.ignored_columns:
            lines.append(
                f"  ignored columns ({len(self.ignored_columns)}): {', '.join(self.ignored_columns)}"
            )
        return lines


@dataclass
class MappedRow:
    """Typed values of one row. ``values`` holds canonical fields only (plus
    ``close_date_precision`` when a date was read); ``attributes`` the ``attr.*`` extras;
    ``sources`` / ``raw`` give, per field, the column and raw text it came from so later
    issues can name them."""

    row_number: int
    values: dict[str, Any]
    attributes: dict[str, Any]
    errors: list[Issue]
    warnings: list[Issue]
    sources: dict[str, str | None]
    raw: dict[str, str | None]


# --- loading ---------------------------------------------------------------------------


def load_mapping(path: str | Path) -> MappingFile:
    """Read and check a YAML mapping file; every mistake names the file and the field."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ValidationFailed(
            f"Cannot read mapping file {path}: {err.strerror}.", field="mapping"
        ) from None
    except yaml.YAMLError as err:
        raise ValidationFailed(
            f"Mapping file {path} is not valid YAML: {err}", field="mapping"
        ) from None
    return parse_mapping(data, origin=str(path))


def parse_mapping(data: object, origin: str = "mapping") -> MappingFile:
    """Check a mapping given as plain data (the parsed YAML, or a dict from the API)."""
    if not isinstance(data, dict):
        raise ValidationFailed(
            f"{origin}: a mapping must be a YAML mapping with a `fields:` section.", field="mapping"
        )
    unknown_top = set(data) - {
        "source_name",
        "key",
        "record",
        "auto",
        "fields",
        "description",
        "notes",
    }
    if unknown_top:
        raise ValidationFailed(
            f"{origin}: unknown setting(s) {', '.join(sorted(map(str, unknown_top)))}.",
            field="mapping",
        )
    fields_data = data.get("fields")
    if not isinstance(fields_data, dict) or not fields_data:
        raise ValidationFailed(
            f"{origin}: `fields:` must map target fields to columns.", field="mapping"
        )
    rules = {
        str(target): _parse_rule(str(target), spec, origin) for target, spec in fields_data.items()
    }
    record = data.get("record")
    if record is not None and record not in RECORD_KINDS:
        raise ValidationFailed(
            f"{origin}: record must be one of {', '.join(RECORD_KINDS)}, not {record!r}.",
            field="record",
        )
    key = data.get("key")
    if key is not None and key not in RECORD_KEYS:
        raise ValidationFailed(
            f"{origin}: key must be one of {', '.join(RECORD_KEYS)}, not {key!r}.", field="key"
        )
    if key is not None and key not in rules:
        raise ValidationFailed(f"{origin}: key {key!r} is not mapped in `fields:`.", field="key")
    source_name = data.get("source_name")
    return MappingFile(
        rules=rules,
        source_name=None if source_name is None else str(source_name),
        key=key,
        record=record,
        auto=bool(data.get("auto", False)),
        path=origin,
    )


def _as_tuple(value: object, what: str, target: str, origin: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str | int) for v in value):
        return tuple(str(v) for v in value)
    raise ValidationFailed(
        f"{origin}: field {target!r}: `{what}` must be a string or a list of strings.", field=target
    )


def _parse_rule(target: str, spec: object, origin: str) -> FieldRule:
    if not is_attribute(target):
        get_field(target)
    if isinstance(spec, str):
        return FieldRule(target=target, columns=(spec,))
    if not isinstance(spec, dict):
        raise ValidationFailed(
            f"{origin}: field {target!r} must be a column name or a spec mapping.", field=target
        )
    unknown = set(spec) - _SPEC_KEYS
    if unknown:
        raise ValidationFailed(
            f"{origin}: field {target!r}: unknown key(s) {', '.join(sorted(map(str, unknown)))}; "
            f"allowed: {', '.join(sorted(_SPEC_KEYS))}.",
            field=target,
        )
    sources = [k for k in ("column", "concat", "constant", "transform") if k in spec]
    if len(sources) != 1:
        raise ValidationFailed(
            f"{origin}: field {target!r} needs exactly one of column, concat, constant, transform.",
            field=target,
        )
    columns: tuple[str, ...] = ()
    if "column" in spec:
        columns = _as_tuple(spec["column"], "column", target, origin)[:1]
    if "concat" in spec:
        columns = _as_tuple(spec["concat"], "concat", target, origin)
    transform = spec.get("transform")
    if transform is not None and transform not in TRANSFORMS:
        raise ValidationFailed(
            f"{origin}: field {target!r}: unknown transform {transform!r}; known: {', '.join(TRANSFORMS)}.",
            field=target,
        )
    convert = spec.get("convert")
    if convert is not None and convert not in CONVERSIONS:
        raise ValidationFailed(
            f"{origin}: field {target!r}: unknown conversion {convert!r}; known: {', '.join(CONVERSIONS)}.",
            field=target,
        )
    precision = spec.get("precision")
    if precision is not None and precision not in DATE_PRECISIONS:
        raise ValidationFailed(
            f"{origin}: field {target!r}: precision must be day, month or year.", field=target
        )
    values = spec.get("values")
    if values is not None and not isinstance(values, dict):
        raise ValidationFailed(
            f"{origin}: field {target!r}: `values` must map source codes to values.", field=target
        )
    replace = spec.get("replace", {})
    if not isinstance(replace, dict):
        raise ValidationFailed(
            f"{origin}: field {target!r}: `replace` must map text to its replacement.", field=target
        )
    return FieldRule(
        target=target,
        columns=columns,
        separator=str(spec.get("separator", " ")),
        constant=spec.get("constant", UNSET),
        transform=transform,
        prefix=str(spec.get("prefix", "")),
        default=spec.get("default", UNSET),
        strip_prefix=_as_tuple(spec["strip_prefix"], "strip_prefix", target, origin)
        if "strip_prefix" in spec
        else (),
        replace=tuple((str(k), "" if v is None else str(v)) for k, v in replace.items()),
        values=None if values is None else _value_map(values),
        otherwise=spec.get("otherwise", UNSET),
        convert=convert,
        formats=_as_tuple(spec["format"], "format", target, origin) if "format" in spec else (),
        precision=precision,
    )


def _value_map(values: dict[Any, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for code, value in values.items():
        if isinstance(code, bool):  # YAML 1.1 read an unquoted Yes/No/On/Off key as a bool
            words = ("true", "yes", "on") if code else ("false", "no", "off")
            for word in words:
                result[word] = value
        else:
            result[str(code)] = value
    return result


# --- auto-recognition ------------------------------------------------------------------

#: Target field -> header spellings (normalised by ``normalize_header``) in priority order:
#: the first one present in a file wins. RESO Data Dictionary names come first.
# fmt: off
AUTO_ALIASES: dict[str, tuple[str, ...]] = {
    "parcel_number": ("parcelnumber", "apn", "parcelid", "parcelno", "parcel", "pin", "assessorparcelnumber", "apnformatted", "taxid", "folio"),
    "source_record_id": ("listingkey", "listingid", "propertyid", "recordid", "mlsnumber", "mlsid"),
    "address": ("unparsedaddress", "propertyaddress", "situsaddress", "siteaddress", "fulladdress", "streetaddress", "address", "situs", "propertystreetaddress", "addressline1"),
    "street_number": ("streetnumber", "housenumber", "streetno", "situshousenumber"),
    "unit": ("unitnumber", "unit", "unitno", "apt", "aptnumber", "suite"),
    "city": ("city", "propertycity", "situscity", "sitecity"),
    "state": ("stateorprovince", "state", "propertystate", "situsstate", "st"),
    "zip": ("postalcode", "zip", "zipcode", "zip5", "propertyzip", "propertyzipcode", "situszip", "postal"),
    "zip4": ("postalcodeplus4", "zip4", "zipplus4", "plus4", "zipcodeplus4", "zip4code", "propertyzip4", "situszip4", "zipext", "zipextension"),
    "latitude": ("latitude", "lat"),
    "longitude": ("longitude", "lon", "lng", "long"),
    "property_type": ("propertysubtype", "propertytype", "proptype", "type", "bldgtype"),
    "living_area_sqft": ("livingarea", "livingareasqft", "sqft", "squarefeet", "livingsqft", "buildingsqft", "finishedsqft", "heatedsqft", "gla", "grlivarea", "buildingareatotal"),
    "lot_size_sqft": ("lotsizesquarefeet", "lotsizesqft", "lotsqft", "lotarea", "lotsize"),
    "beds": ("bedroomstotal", "beds", "bedrooms", "bed", "br", "bedroomabvgr"),
    "baths_full": ("bathroomsfull", "fullbaths", "fullbath", "bathsfull", "bathroomstotalinteger", "bathroomstotaldecimal", "bathstotal", "baths", "bathrooms", "bath", "ba"),
    "baths_half": ("bathroomshalf", "halfbaths", "halfbath", "bathshalf"),
    "year_built": ("yearbuilt", "yrbuilt", "built"),
    "year_remodeled": ("yearremodeled", "yearremodadd", "remodelyear", "yearrenovated"),
    "stories": ("storiestotal", "stories", "numberofstories"),
    "garage_spaces": ("garagespaces", "garagecars", "garage"),
    "basement_area_sqft": ("basementarea", "basementsqft", "totalbsmtsf"),
    "pool": ("poolprivateyn", "pool"),
    "neighborhood": ("subdivisionname", "neighborhood", "neighbourhood", "subdivision"),
    "sale_record_id": ("salerecordid", "saleid", "documentnumber", "deednumber", "instrumentnumber"),
    "close_date": ("closedate", "saledate", "solddate", "datesold", "recordingdate", "lastsaledate", "date"),
    "sale_price": ("closeprice", "saleprice", "soldprice", "saleamount", "lastsaleprice", "price"),
    "list_price": ("listprice", "askingprice"),
    "sale_type": ("saletype",),
    "sale_condition": ("salecondition",),
    "owner_record_id": ("ownerid", "ownerrecordid", "ownernumber"),
    "owner_name": ("ownername", "owner1", "owner1name", "owner", "ownerfullname", "owner1fullname"),
    "owner_name_2": ("ownername2", "owner2", "owner2name", "owner2fullname"),
    "mailing_address": ("mailingaddress", "mailaddress", "mailingaddress1", "mailaddress1", "mailingstreet", "ownermailingaddress"),
    "mailing_address_2": ("mailingaddress2", "mailaddress2"),
    "mailing_city": ("mailingcity", "mailcity"),
    "mailing_state": ("mailingstate", "mailstate"),
    "mailing_zip": ("mailingzip", "mailzip", "mailingzipcode", "mailzipcode", "mailingpostalcode"),
    "mailing_country": ("mailingcountry", "mailcountry"),
    "rent_record_id": ("rentrecordid", "rentid", "leaseid", "rentallistingid"),
    "monthly_rent": ("monthlyrent", "rent", "rentmonthly", "leaseprice", "leaseamount", "rentamount"),
    "lease_date": ("leasedate", "leasestartdate", "listdate", "listingcontractdate"),
    "attr.tax_annual_amount": ("taxannualamount",),
    "attr.tax_assessed_value": ("taxassessedvalue",),
    "attr.days_on_market": ("daysonmarket",),
    "attr.standard_status": ("standardstatus",),
    "attr.county": ("countyorparish", "county"),
}
# fmt: on

#: Alternative spellings that need a unit conversion, tried after ``AUTO_ALIASES``.
AUTO_CONVERTED: dict[str, tuple[tuple[str, str], ...]] = {
    "lot_size_sqft": (
        ("lotsizeacres", "acres_to_sqft"),
        ("lotacres", "acres_to_sqft"),
        ("acres", "acres_to_sqft"),
    ),
}

#: Headers holding a total bath count (2.5 = two full, one half) rather than full baths.
_TOTAL_BATH_ALIASES = frozenset(
    {
        "bathroomstotalinteger",
        "baths",
        "bathrooms",
        "bath",
        "ba",
        "bathstotal",
        "bathroomstotaldecimal",
    }
)

#: RESO splits the street into parts; auto-recognition joins those present in this order.
STREET_PARTS: tuple[str, ...] = ("streetdirprefix", "streetname", "streetsuffix", "streetdirsuffix")


def auto_rules(headers: Iterable[str], skip: Iterable[str] = ()) -> dict[str, FieldRule]:
    """Rules recognised from header names alone; each header fills at most one field."""
    by_key: dict[str, str] = {}
    for header in headers:
        by_key.setdefault(normalize_header(header), header)
    taken: set[str] = set()
    skipped = set(skip)
    rules: dict[str, FieldRule] = {}
    street = [by_key[p] for p in STREET_PARTS if p in by_key]
    if "street_name" not in skipped and "streetname" in by_key:
        rules["street_name"] = FieldRule("street_name", columns=tuple(street), origin="auto")
        taken.update(street)
    for target, aliases in AUTO_ALIASES.items():
        if target in skipped or target in rules:
            continue
        for alias in aliases:
            found = by_key.get(alias)
            if found is not None and found not in taken:
                header = found
                rules[target] = FieldRule(target, columns=(header,), origin="auto")
                taken.add(header)
                break
        else:
            for alias, convert in AUTO_CONVERTED.get(target, ()):
                found = by_key.get(alias)
                if found is not None and found not in taken:
                    header = found
                    rules[target] = FieldRule(
                        target, columns=(header,), convert=convert, origin="auto"
                    )
                    taken.add(header)
                    break
    baths = rules.get("baths_full")
    if baths is not None and normalize_header(baths.columns[0]) in _TOTAL_BATH_ALIASES:
        rules["baths_full"] = FieldRule(
            "baths_full", columns=baths.columns, convert="total_baths_to_full", origin="auto"
        )
        if "baths_half" not in rules and "baths_half" not in skipped:
            rules["baths_half"] = FieldRule(
                "baths_half", columns=baths.columns, convert="total_baths_to_half", origin="auto"
            )
    return rules


# --- building the effective mapping ----------------------------------------------------

#: Columns a record kind cannot do without; a group means "at least one of".
REQUIRED_COLUMNS: dict[str, tuple[tuple[str, ...], ...]] = {
    Entity.SALE: (("sale_price",), ("close_date",)),
    Entity.OWNER: (("owner_name", "owner_record_id"),),
    Entity.RENT: (("monthly_rent",), ("parcel_number", "address", "street_name", "latitude")),
    Entity.PROPERTY: (("parcel_number", "source_record_id", "address", "street_name", "latitude"),),
}


def infer_record(targets: Iterable[str]) -> Entity:
    """Sale when any sale field is mapped, else owner when any owner field is, else rent
    when any rent field is, else property."""
    entities = {FIELDS[t].entity for t in targets if t in FIELDS}
    if Entity.RENT in entities and Entity.SALE not in entities:
        return Entity.RENT
    if Entity.SALE in entities:
        return Entity.SALE
    if Entity.OWNER in entities:
        return Entity.OWNER
    return Entity.PROPERTY


_KEY_ORDER: dict[str, tuple[str, ...]] = {
    Entity.SALE: ("sale_record_id", "source_record_id", "parcel_number"),
    Entity.OWNER: ("owner_record_id", "parcel_number", "source_record_id"),
    # a rent file's key is always ``rent_record_id`` (``effective_mapping`` numbers the rows
    # when no id is mapped); any locating field will do here
    Entity.RENT: (
        "rent_record_id",
        "source_record_id",
        "parcel_number",
        "address",
        "street_name",
        "latitude",
    ),
    Entity.PROPERTY: ("source_record_id", "parcel_number"),
}


def default_key(record: str, targets: Iterable[str]) -> str | None:
    """The upsert key when the mapping names none: the record's own id when mapped, else
    the property's identifiers."""
    present = set(targets)
    return next((k for k in _KEY_ORDER[record] if k in present), None)


def closest_header(wanted: Iterable[str], headers: Iterable[str]) -> str | None:
    """The header most similar to any of ``wanted`` (names or aliases), or None if nothing is
    reasonably close (difflib ratio below 0.6 on normalised names)."""
    best: tuple[float, str] | None = None
    for header in headers:
        key = normalize_header(header)
        for name in wanted:
            ratio = difflib.SequenceMatcher(None, key, normalize_header(name)).ratio()
            if best is None or ratio > best[0]:
                best = (ratio, header)
    return best[1] if best and best[0] >= 0.6 else None


def build_mapping(
    headers: list[str],
    mapping: MappingFile | None = None,
    *,
    record: str | None = None,
) -> EffectiveMapping:
    """Check ``mapping`` (or auto-recognition when None) against a file's headers.

    Raises ``ValidationFailed`` when a column the mapping names is not in the file, when a
    column a record kind requires is missing (sale: sale price and close date; owner: a
    name or owner id; property: an identifier or coordinates), or when no key can be chosen.
    Each message names the field and suggests the closest header.
    """
    rules: dict[str, FieldRule] = dict(mapping.rules) if mapping else {}
    if mapping is None or mapping.auto:
        used = {c for r in rules.values() for c in r.columns}
        auto = auto_rules([h for h in headers if h not in used], skip=rules)
        rules.update(auto)
    origin = mapping.path if mapping and mapping.path else "auto-mapping"
    header_set = set(headers)
    for rule in rules.values():
        for column in rule.columns:
            if column not in header_set:
                close = closest_header([column], headers)
                hint = f" The closest header is {close!r}." if close else ""
                raise ValidationFailed(
                    f"{origin}: field {rule.target!r} reads column {column!r}, which is not in "
                    f"the file.{hint}",
                    field=rule.target,
                    column=column,
                    suggestion=close,
                )
    kind = record or (mapping.record if mapping else None) or infer_record(rules)
    if kind not in RECORD_KINDS:
        raise ValidationFailed(f"record must be one of {', '.join(RECORD_KINDS)}.", field="record")
    for group in REQUIRED_COLUMNS[kind]:
        if not any(target in rules for target in group):
            _raise_missing(group, headers, kind)
    key = (mapping.key if mapping else None) or default_key(kind, rules)
    if key is None:
        if kind == Entity.SALE:
            key_hint = "Map a sale id (sale_record_id) or a parcel number"
        else:
            key_hint = "Map a record id (source_record_id / owner_record_id) or a parcel number"
        raise ValidationFailed(
            f"{origin}: no field identifies {_a(kind)} record for re-imports. {key_hint}, or "
            "add `sale_record_id: {transform: row_number}` and `key: sale_record_id` for a "
            "file that is only ever re-imported unchanged.",
            field="key",
        )
    used_columns: dict[str, list[str]] = {}
    for target, rule in rules.items():
        for column in rule.columns:
            used_columns.setdefault(column, []).append(target)
    ignored = [h for h in headers if h not in used_columns]
    return EffectiveMapping(
        rules=rules,
        headers=tuple(headers),
        record=kind,
        key=key,
        source_name=mapping.source_name if mapping else None,
        used_columns=used_columns,
        ignored_columns=ignored,
    )


def _a(word: str) -> str:
    """``word`` with its indefinite article: "an owner", "a sale"."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


def _raise_missing(group: tuple[str, ...], headers: list[str], kind: str) -> None:
    wanted: list[str] = []
    for target in group:
        wanted.append(target)
        wanted.extend(AUTO_ALIASES.get(target, ()))
    close = closest_header(wanted, headers)
    names = " or ".join(repr(t) for t in group)
    hint = (
        f" The closest header is {close!r}: add `{group[0]}: {close}` under `fields:` in a mapping file."
        if close
        else " Add it to the mapping file under `fields:`."
    )
    raise ValidationFailed(
        f"No column for required field {names} of {_a(kind)} record.{hint}",
        field=group[0],
        suggestion=close,
    )


# --- applying --------------------------------------------------------------------------


def apply_mapping(mapping: EffectiveMapping, row: RawRow) -> MappedRow:
    """Typed values of one row; a cell that cannot be read becomes an error Issue naming
    the field, column and raw value (the row is then quarantined by the caller)."""
    result = MappedRow(row.row_number, {}, {}, [], [], {}, {})
    for target, rule, attribute in _plan(mapping):
        raw = _extract(rule, row)
        result.sources[target] = rule.source_column
        result.raw[target] = raw if isinstance(raw, str) or raw is None else str(raw)
        try:
            value = convert_value(rule, raw, result, target, attribute)
        except CoercionError as err:
            result.errors.append(Issue(target, str(err), rule.source_column, preview(raw)))
            continue
        if value is None:
            continue
        if attribute:
            result.attributes[target[len("attr.") :]] = value
        else:
            result.values[target] = value
    return result


def _extract(rule: FieldRule, row: RawRow) -> Any:
    """The rule's raw input: a constant, the row number, one cell, or joined cells."""
    if rule.constant is not UNSET:
        return rule.constant
    if rule.transform == "row_number":
        return f"{rule.prefix}{row.row_number}"
    if len(rule.columns) == 1:
        return row.values.get(rule.columns[0])
    parts = [row.values.get(c) for c in rule.columns]
    present = [p.strip() for p in parts if p is not None and p.strip()]
    return rule.separator.join(present) if present else None


def _plan(mapping: EffectiveMapping) -> list[tuple[str, FieldRule, bool]]:
    """Per-mapping work done once, not per cell (cached by the mapping's identity)."""
    plan = _PLANS.get(id(mapping))
    if plan is None or plan[0] is not mapping:
        steps = [(t, r, is_attribute(t)) for t, r in mapping.rules.items()]
        plan = (mapping, steps)
        _PLANS[id(mapping)] = plan
        if len(_PLANS) > 64:
            _PLANS.pop(next(iter(_PLANS)))
    return plan[1]


_PLANS: dict[int, tuple[EffectiveMapping, list[tuple[str, FieldRule, bool]]]] = {}


def convert_value(
    rule: FieldRule, raw: Any, result: MappedRow, target: str, attribute: bool
) -> Any:
    value = raw
    if isinstance(value, str):
        value = value.strip()
        for prefix in rule.strip_prefix:
            if value.startswith(prefix):
                value = value[len(prefix) :]
                break
        for old, new in rule.replace:
            value = value.replace(old, new)
    if coerce.is_missing(value):
        if rule.default is UNSET:
            return None
        value = rule.default
    elif rule.values is not None and isinstance(value, str):
        value = _lookup(rule, value)
    if attribute:
        return coerce.attribute_value(value)
    return _coerce(rule, value, result, target)


def _lookup(rule: FieldRule, text: str) -> Any:
    assert rule.values is not None
    if text in rule.values:
        return rule.values[text]
    folded = text.casefold()
    for code, mapped in rule.values.items():
        if code.strip().casefold() == folded:
            return mapped
    if rule.otherwise is not UNSET:
        return rule.otherwise
    spec = FIELDS.get(rule.target)
    if spec is not None and spec.type in (FieldType.INT, FieldType.FLOAT, FieldType.BOOL):
        codes = ", ".join(list(rule.values)[:8])
        raise CoercionError(
            f"code not in the mapping's `values` ({codes}{', ...' if len(rule.values) > 8 else ''})"
        )
    return text


def _split_baths(total: float, convert: str) -> float:
    """Full or half baths from a total like 2.5: whole part = full baths, a fractional
    part of .5 or more = one half bath (quarter baths are not counted)."""
    if total < 0:
        raise CoercionError("bath count cannot be negative")
    full = math.floor(total)
    if convert == "total_baths_to_full":
        return float(full)
    return 1.0 if total - full >= 0.5 else 0.0


def _coerce(rule: FieldRule, value: Any, result: MappedRow, target: str) -> Any:
    spec = FIELDS[target]
    if spec.type is FieldType.FLOAT or spec.type is FieldType.INT:
        number = coerce.to_float(value)
        if rule.convert in UNIT_CONVERSIONS:
            number *= UNIT_CONVERSIONS[rule.convert]
        elif rule.convert in BATH_SPLITS:
            number = _split_baths(number, rule.convert)
        if spec.type is FieldType.INT:
            if not number.is_integer():
                raise CoercionError(f"expected a whole number, got {number:g}")
            return int(number)
        return number
    if spec.type is FieldType.DATE:
        day, precision = coerce.to_date(value, list(rule.formats) or None, rule.precision)
        if target == "close_date" and "close_date_precision" not in result.values:
            result.values["close_date_precision"] = precision
        return day
    if spec.type is FieldType.BOOL:
        return coerce.to_bool(value)
    if spec.type is FieldType.ENUM:
        if target == "property_type":
            return coerce.to_property_type(value)
        text = str(value).strip().lower()
        if text not in spec.choices:
            raise CoercionError(f"must be one of {', '.join(spec.choices)}")
        return text
    text = str(value).strip()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    return text or None
