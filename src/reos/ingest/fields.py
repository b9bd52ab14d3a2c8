"""Registry of every canonical field an import can fill.

One table answers "what does ``baths_half`` mean, in what unit, and what values are
plausible" for three callers: ``reos fields`` (the list users map their columns onto), the
mapping layer (which type to coerce a cell to) and the validation gate (which limits to
enforce). Limits are sanity bounds that catch unit mix-ups and typos (acres typed into a
square-feet column, a year of 20010), not market judgements.

Property types, date precisions, units and the 1-10 quality scale are the kernel's
vocabulary (:mod:`reos.kernel.vocabulary`), shared with the property API and valuation.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import StrEnum

from reos.errors import ValidationFailed
from reos.kernel.vocabulary import DATE_PRECISIONS, PROPERTY_TYPES, Entity, Unit


class FieldType(StrEnum):
    STR = "str"
    INT = "int"
    FLOAT = "float"
    DATE = "date"
    BOOL = "bool"
    ENUM = "enum"


ATTRIBUTE_PREFIX = "attr."

#: Year fields accept up to this many years after the current year (permits for houses
#: under construction are recorded with next year's completion date).
YEAR_AHEAD_ALLOWED = 1
EARLIEST_YEAR_BUILT = 1700


@dataclass(frozen=True)
class FieldSpec:
    """One canonical field: its type, unit, meaning and sanity limits.

    ``min_value``/``max_value`` are inclusive; ``exclusive_min`` makes the lower bound
    strict (prices must be > 0). Year fields have ``max_value=None`` here and get
    "current year + 1" at validation time so the registry does not go stale.
    """

    name: str
    entity: Entity
    type: FieldType
    meaning: str
    unit: str | None = None
    min_value: float | None = None
    max_value: float | None = None
    exclusive_min: bool = False
    choices: tuple[str, ...] = ()
    max_length: int | None = 500


P, S, OWN, R = Entity.PROPERTY, Entity.SALE, Entity.OWNER, Entity.RENT
T = FieldType
U = Unit

# fmt: off
_SPECS: tuple[FieldSpec, ...] = (
    # --- property ---------------------------------------------------------------------
    FieldSpec("parcel_number", P, T.STR, "Assessor's parcel number (APN / PIN) as the county writes it", max_length=64),
    FieldSpec("source_record_id", P, T.STR, "The source's own id of the property record (e.g. RESO ListingKey)", max_length=128),
    FieldSpec("address", P, T.STR, "Site address as one line, exactly as given in the file (raw, kept for audit)"),
    FieldSpec("street_number", P, T.STR, "House number of the site address", max_length=20),
    FieldSpec("street_name", P, T.STR, "Street of the site address with directionals and suffix (MAIN ST)", max_length=120),
    FieldSpec("unit", P, T.STR, "Unit / apartment / suite designator (APT 4B)", max_length=40),
    FieldSpec("city", P, T.STR, "City of the site address", max_length=80),
    FieldSpec("state", P, T.STR, "Two-letter USPS state or territory code", max_length=2),
    FieldSpec("zip", P, T.STR, "Five-digit ZIP code (leading zeros kept; a ZIP+4's add-on goes to zip4)", max_length=5),
    FieldSpec("zip4", P, T.STR, "ZIP+4 add-on: the four digits after the ZIP (RESO PostalCodePlus4)", max_length=4),
    FieldSpec("latitude", P, T.FLOAT, "Latitude, WGS84", U.DEGREES, min_value=-90, max_value=90),
    FieldSpec("longitude", P, T.FLOAT, "Longitude, WGS84", U.DEGREES, min_value=-180, max_value=180),
    FieldSpec("property_type", P, T.ENUM, "Kind of property", choices=PROPERTY_TYPES),
    FieldSpec("living_area_sqft", P, T.FLOAT, "Finished above-grade living area", U.SQ_FT, min_value=1, max_value=100_000),
    FieldSpec("lot_size_sqft", P, T.FLOAT, "Land area of the lot", U.SQ_FT, min_value=1, max_value=500_000_000),
    FieldSpec("beds", P, T.INT, "Bedrooms", U.COUNT, min_value=0, max_value=50),
    FieldSpec("baths_full", P, T.INT, "Full bathrooms (toilet, sink and tub or shower)", U.COUNT, min_value=0, max_value=50),
    FieldSpec("baths_half", P, T.INT, "Half bathrooms (toilet and sink only)", U.COUNT, min_value=0, max_value=50),
    FieldSpec("year_built", P, T.INT, "Year construction was completed", U.YEAR, min_value=EARLIEST_YEAR_BUILT),
    FieldSpec("year_remodeled", P, T.INT, "Year of the latest remodel or addition", U.YEAR, min_value=EARLIEST_YEAR_BUILT),
    FieldSpec("stories", P, T.FLOAT, "Number of stories above grade (1.5 = one and a half)", U.COUNT, min_value=0, max_value=200),
    FieldSpec("quality", P, T.INT, "Construction quality on the 1-10 scale (1 very poor, 5 average, 10 very excellent)", U.SCALE_1_10, min_value=1, max_value=10),
    FieldSpec("condition", P, T.INT, "Overall condition on the 1-10 scale (1 very poor, 5 average, 10 very excellent)", U.SCALE_1_10, min_value=1, max_value=10),
    FieldSpec("garage_spaces", P, T.INT, "Garage capacity", U.CARS, min_value=0, max_value=100),
    FieldSpec("basement_area_sqft", P, T.FLOAT, "Total basement area, finished and unfinished", U.SQ_FT, min_value=0, max_value=100_000),
    FieldSpec("pool", P, T.BOOL, "Has a swimming pool"),
    FieldSpec("neighborhood", P, T.STR, "Neighbourhood or subdivision name as the source gives it", max_length=120),
    # --- sale ---------------------------------------------------------------------------
    FieldSpec("sale_record_id", S, T.STR, "The source's id of the sale (deed / MLS number, or a derived row id)", max_length=128),
    FieldSpec("close_date", S, T.DATE, "Date the sale closed (recording date for deeds)", U.DATE),
    FieldSpec("close_date_precision", S, T.ENUM, "How exact close_date is: day, month (first of month stored) or year (1 January stored)", choices=DATE_PRECISIONS),
    FieldSpec("sale_price", S, T.FLOAT, "Price paid", U.USD, min_value=0, max_value=10_000_000_000, exclusive_min=True),
    FieldSpec("list_price", S, T.FLOAT, "Last asking price", U.USD, min_value=0, max_value=10_000_000_000, exclusive_min=True),
    FieldSpec("sale_type", S, T.STR, "Kind of sale as the source codes it (warranty deed, new, foreclosure ...)", max_length=60),
    FieldSpec("sale_condition", S, T.STR, "Circumstances of the sale as the source codes it (normal, family, partial ...)", max_length=60),
    FieldSpec("arm_length", S, T.BOOL, "Arm's-length sale between unrelated, informed parties; None when unknown"),
    # --- owner --------------------------------------------------------------------------
    FieldSpec("owner_record_id", OWN, T.STR, "The source's id of the owner record", max_length=128),
    FieldSpec("owner_name", OWN, T.STR, "First owner's name as recorded (person or entity)", max_length=200),
    FieldSpec("owner_name_2", OWN, T.STR, "Second owner's name as recorded", max_length=200),
    FieldSpec("mailing_address", OWN, T.STR, "Owner's mailing address, first line", max_length=200),
    FieldSpec("mailing_address_2", OWN, T.STR, "Owner's mailing address, second line (unit, c/o)", max_length=200),
    FieldSpec("mailing_city", OWN, T.STR, "Mailing city", max_length=80),
    FieldSpec("mailing_state", OWN, T.STR, "Mailing state (two-letter code for US addresses)", max_length=40),
    FieldSpec("mailing_zip", OWN, T.STR, "Mailing postal code (five digits for US addresses)", max_length=20),
    FieldSpec("mailing_country", OWN, T.STR, "Mailing country; empty means United States", max_length=60),
    # --- rent (rent and lease listings: RESO PropertyType ResidentialLease) ---------------
    FieldSpec("rent_record_id", R, T.STR, "The source's id of the rent listing or lease (RESO ListingKey)", max_length=128),
    FieldSpec("monthly_rent", R, T.FLOAT, "Monthly rent asked (listing) or agreed (lease)", U.USD_PER_MONTH, min_value=0, max_value=1_000_000, exclusive_min=True),
    FieldSpec("lease_date", R, T.DATE, "Date the home was listed for rent or the lease was signed", U.DATE),
    FieldSpec("rent_status", R, T.STR, "Status of the listing as the source gives it (RESO StandardStatus: Active, Closed, ...)", max_length=40),
)
# fmt: on

FIELDS: dict[str, FieldSpec] = {spec.name: spec for spec in _SPECS}

#: Fields that identify the property a row is about, in the order the import service
#: should prefer them when matching an existing property.
PROPERTY_KEYS: tuple[str, ...] = ("parcel_number", "source_record_id", "address", "street_name")
#: Allowed values of a mapping's ``key:`` setting (which field identifies a record for upserts).
RECORD_KEYS: tuple[str, ...] = (
    "source_record_id",
    "sale_record_id",
    "parcel_number",
    "owner_record_id",
    "rent_record_id",
)

YEAR_FIELDS: frozenset[str] = frozenset({"year_built", "year_remodeled"})


def is_attribute(name: str) -> bool:
    """True for free extra attributes (``attr.total_basement_sqft``)."""
    return name.startswith(ATTRIBUTE_PREFIX) and len(name) > len(ATTRIBUTE_PREFIX)


def get_field(name: str) -> FieldSpec:
    """The spec of a canonical field; a typo gets the closest real name in the message."""
    spec = FIELDS.get(name)
    if spec is None:
        close = difflib.get_close_matches(name, list(FIELDS), n=1, cutoff=0.6)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValidationFailed(
            f"Unknown field {name!r}.{hint} Run `reos fields` for the list, or use "
            f"'attr.{name}' to keep it as an extra attribute.",
            field=name,
        )
    return spec


def fields_for(entity: Entity) -> list[FieldSpec]:
    return [spec for spec in _SPECS if spec.entity is entity]


def all_fields() -> list[FieldSpec]:
    """Every field in registry order, for ``reos fields``."""
    return list(_SPECS)
