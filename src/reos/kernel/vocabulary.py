"""The property vocabulary every domain speaks: record kinds, property types, precisions,
the quality scale and units. One definition, used by the import's field registry, the
property API's schemas and the valuation engine's frame contract, so a new property type
is added once and every caller agrees on it.

Quality and condition use one 1-10 scale so that assessor codes from different counties
compare (it is the Ames assessor's ``Overall_Qual``/``Overall_Cond`` scale).
"""

from __future__ import annotations

from enum import StrEnum


class Entity(StrEnum):
    """A kind of record an import fills; the owning domain registers how it is written
    (:mod:`reos.ingest.kinds`)."""

    PROPERTY = "property"
    SALE = "sale"
    OWNER = "owner"
    RENT = "rent"


class PropertyType(StrEnum):
    SINGLE_FAMILY = "single_family"
    CONDO = "condo"
    TOWNHOUSE = "townhouse"
    MULTI_FAMILY = "multi_family"
    MANUFACTURED = "manufactured"
    LAND = "land"
    COMMERCIAL = "commercial"
    OTHER = "other"


#: The property types as plain strings, in declaration order.
PROPERTY_TYPES: tuple[str, ...] = tuple(t.value for t in PropertyType)

#: How exact a close date is: day, month (first of month stored) or year (1 January stored).
DATE_PRECISIONS: tuple[str, ...] = ("day", "month", "year")

QUALITY_SCALE: dict[int, str] = {
    1: "very poor",
    2: "poor",
    3: "fair / below average",
    4: "below average",
    5: "average",
    6: "above average",
    7: "good / above average",
    8: "very good",
    9: "excellent",
    10: "very excellent",
}


class Unit(StrEnum):
    """Units as the field registry and ``reos fields`` print them."""

    DEGREES = "degrees"
    SQ_FT = "sq ft"
    COUNT = "count"
    YEAR = "year"
    SCALE_1_10 = "1-10 scale"
    CARS = "cars"
    DATE = "date"
    USD = "USD"
    USD_PER_MONTH = "USD/month"
