"""A property's monthly market rent from comparable rentals (pure: plain data in and out).

Why not the AVM itself: the AVM is a model trained on thousands of sales; an organisation's
rent records are usually a few dozen listings, too few to train on. So the estimate is the
comparable method an appraiser uses on a rent survey (Fannie Mae Form 1007, "Single-Family
Comparable Rent Schedule"): the most similar nearby rentals, each adjusted to the subject's
size, reconciled by their median.

1. Candidates: rentals with a rent, leased or listed on or before ``as_of`` and at most
   :data:`MAX_AGE_DAYS` before it, within :data:`MAX_DISTANCE_KM` of the subject (straight
   line, haversine) or, when either side has no coordinates, in the same ZIP code. The
   same property type when at least :data:`MIN_COMPS` such rentals exist.
2. Similarity score (lower is closer), one point per: 1 km of distance, a doubling of size
   (``|log2(area_subject / area_comp)|``), 4 bedrooms of difference (0.25 each), 2 years
   of age of the rent (0.5 a year). A rental in the same ZIP without coordinates counts as
   :data:`ZIP_DISTANCE_KM` away. The :data:`MAX_COMPS` lowest scores are the comps.
3. Size adjustment: ``rent × (area_subject / area_comp) ** AREA_ELASTICITY``. Rent grows
   less than in proportion to size (rent per square foot falls as homes get larger); 0.6 is
   the middle of the published hedonic rent elasticities of floor area (0.5-0.7). Without
   both areas, a comp is not adjusted.
4. Estimate: the median of the adjusted rents; the range is their 25th-75th percentile.
5. Confidence: ``A`` with 5+ comps whose adjusted rents have a coefficient of dispersion
   (mean absolute deviation from the median / the median, IAAO) of at most 10%, ``B`` with
   3+ comps and at most 15%, ``C`` with 2+ comps and at most 25%, else ``D``.

No candidate at all is an :class:`reos.errors.InsufficientData` naming the area.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import numpy as np

from reos.errors import InsufficientData

MAX_DISTANCE_KM = 5.0
ZIP_DISTANCE_KM = 2.5
MAX_AGE_DAYS = 3 * 365
MIN_COMPS = 3
MAX_COMPS = 6
AREA_ELASTICITY = 0.6
EARTH_RADIUS_KM = 6371.0088
NO_RENT_RECORDS = "no rent records for this area"


@dataclass(frozen=True)
class RentComp:
    """One comparable rental as used: its rent, how far and how similar, and its rent
    adjusted to the subject's size (dollars a month)."""

    rent_record_id: str
    property_id: str | None
    address: str | None
    distance_km: float | None
    lease_date: str | None
    monthly_rent: float
    living_area_sqft: float | None
    beds: int | None
    size_adjustment: float
    adjusted_rent: float
    score: float


@dataclass(frozen=True)
class RentEstimate:
    """A monthly market rent (dollars) with its range, confidence grade and comps."""

    monthly_rent: float
    low: float
    high: float
    confidence: str
    as_of: str
    comps: list[RentComp]
    method: str = "comparable rentals, size-adjusted median (reos.underwriting.rent_estimate)"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine, mean Earth radius), kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _distance(subject: Mapping[str, Any], rental: Mapping[str, Any]) -> float | None:
    """Kilometres to the rental, :data:`ZIP_DISTANCE_KM` for an unlocated one in the same
    ZIP, None when it is not in the subject's area."""
    lat, lon = _number(subject.get("latitude")), _number(subject.get("longitude"))
    rlat, rlon = _number(rental.get("latitude")), _number(rental.get("longitude"))
    if None not in (lat, lon, rlat, rlon):
        km = distance_km(lat, lon, rlat, rlon)  # type: ignore[arg-type]
        return km if km <= MAX_DISTANCE_KM else None
    zip_code = subject.get("zip")
    if zip_code and zip_code == rental.get("zip"):
        return ZIP_DISTANCE_KM
    return None


def _confidence(n: int, dispersion: float) -> str:
    if n >= 5 and dispersion <= 0.10:
        return "A"
    if n >= 3 and dispersion <= 0.15:
        return "B"
    if n >= 2 and dispersion <= 0.25:
        return "C"
    return "D"


def estimate_rent(
    subject: Mapping[str, Any], rentals: Iterable[Mapping[str, Any]], as_of: date
) -> RentEstimate:
    """The monthly market rent of ``subject`` as of ``as_of`` from ``rentals`` (each a
    mapping with ``rent_record_id``, ``monthly_rent``, ``lease_date`` and any of
    ``latitude``, ``longitude``, ``zip``, ``living_area_sqft``, ``beds``, ``property_type``,
    ``property_id``, ``address``). See the module docstring for the method."""
    area = _number(subject.get("living_area_sqft"))
    area = area if area and area > 0 else None
    beds = _number(subject.get("beds"))
    candidates: list[tuple[Mapping[str, Any], float, int]] = []
    for rental in rentals:
        rent = _number(rental.get("monthly_rent"))
        leased = rental.get("lease_date")
        if not rent or rent <= 0:
            continue
        age_days = 0
        if isinstance(leased, date):
            age_days = (as_of - leased).days
            if age_days < 0 or age_days > MAX_AGE_DAYS:
                continue
        km = _distance(subject, rental)
        if km is None:
            continue
        candidates.append((rental, km, age_days))
    if not candidates:
        raise InsufficientData(
            f"{NO_RENT_RECORDS}: no rent or lease listing within {MAX_DISTANCE_KM:g} km "
            f"(or in the same ZIP) dated in the {MAX_AGE_DAYS // 365} years up to "
            f"{as_of.isoformat()}; import some with `reos import rents FILE`",
            field="gross_rent_monthly",
        )
    kind = subject.get("property_type")
    same_kind = [c for c in candidates if kind and c[0].get("property_type") == kind]
    if len(same_kind) >= MIN_COMPS:
        candidates = same_kind
    scored: list[RentComp] = []
    for rental, km, age_days in candidates:
        rent = float(rental["monthly_rent"])
        comp_area = _number(rental.get("living_area_sqft"))
        comp_beds = _number(rental.get("beds"))
        score = km + 0.5 * age_days / 365.0
        factor = 1.0
        if area and comp_area and comp_area > 0:
            score += abs(math.log2(area / comp_area))
            factor = (area / comp_area) ** AREA_ELASTICITY
        if beds is not None and comp_beds is not None:
            score += 0.25 * abs(beds - comp_beds)
        leased = rental.get("lease_date")
        scored.append(
            RentComp(
                rent_record_id=str(rental.get("rent_record_id")),
                property_id=None
                if rental.get("property_id") is None
                else str(rental["property_id"]),
                address=rental.get("address"),
                distance_km=round(km, 3),
                lease_date=leased.isoformat() if isinstance(leased, date) else None,
                monthly_rent=rent,
                living_area_sqft=comp_area,
                beds=None if comp_beds is None else int(comp_beds),
                size_adjustment=factor,
                adjusted_rent=rent * factor,
                score=round(score, 6),
            )
        )
    scored.sort(key=lambda c: (c.score, c.rent_record_id))
    comps = scored[:MAX_COMPS]
    adjusted = np.array([c.adjusted_rent for c in comps])
    median = float(np.median(adjusted))
    dispersion = float(np.mean(np.abs(adjusted - median)) / median)
    low, high = (float(v) for v in np.percentile(adjusted, [25, 75]))
    return RentEstimate(
        monthly_rent=median,
        low=low,
        high=high,
        confidence=_confidence(len(comps), dispersion),
        as_of=as_of.isoformat(),
        comps=comps,
    )
