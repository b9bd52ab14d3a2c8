"""The deal score: 0-100, how likely a property is a good deal its owner will take.

Pure computation on plain data (no database). Two models share one feature vector
(:class:`ScoreFeatures`):

**The default weights** (``default-v1``), documented here so a user can check every point.
A score starts at :data:`BASELINE` points and each driver adds or takes points:

Motivation (the owner's reasons to sell)
  - distress lists (tax delinquent, pre-foreclosure, probate, code violation, vacant,
    expired listing, tired landlord): +6 per list, at most 4 lists (+24);
  - recency of the newest list entry: +8 within 30 days, +5 within 90, +2 within 365;
  - absentee owner (mail goes elsewhere than the property): +5;
  - years owned: +8 at 20 years or more, +5 at 10, +2 at 5;
  - tax arrears (the amount due on a tax-delinquent list): +1 per $1,000, at most +8.

Economics (is it a good buy)
  - discount of the asking price (else the last sale price, else the assessed value) to
    the AVM value: +0.5 per percent under value, at most +20; -0.25 per percent over, at
    most -10;
  - underwriting margin: a flip ROI of 20% or more or a rental cash-on-cash of 8% or
    more +6; a negative one -4;
  - maximum allowable offer (MAO) at or above the price: +5.

Confidence (can the numbers be trusted)
  - AVM grade: A 0, B -2, C -6, D -10; no value at all -8;
  - data freshness: a value older than 180 days -3, older than 365 days -6.

The sum is clipped to 0-100; the clipping is a driver of its own, so the drivers always
sum to the score.

**The learned model**: LightGBM (binary objective) on the same features, trained on an
organisation's outcomes. Its drivers are the SHAP values LightGBM computes natively
(``pred_contrib=True``, in log-odds), scaled to points: the expected score (the model's
base value as a probability x 100) is the baseline driver, and the points between it and
the score are shared out in proportion to each feature's SHAP value (largest remainder,
so the integers sum exactly).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

#: The default model's version, stored with every score it makes.
DEFAULT_MODEL_VERSION = "default-v1"
#: Points every score starts from under the default weights.
BASELINE = 30
#: List kinds that signal a motivated seller (the stack the score counts).
DISTRESS_KINDS = frozenset(
    {
        "tax_delinquent",
        "pre_foreclosure",
        "probate",
        "code_violation",
        "vacant",
        "expired_listing",
        "tired_landlord",
    }
)
AVM_GRADE_POINTS = {"A": 0, "B": -2, "C": -6, "D": -10}


@dataclass(frozen=True)
class Driver:
    """One reason a score is what it is, in points (positive raises it)."""

    label: str
    points: int


@dataclass(frozen=True)
class PropertyScore:
    """A property's deal score (0-100) and its drivers, which sum to the score."""

    property_id: Any  # uuid.UUID; Any keeps this module free of the database's types
    score: int
    drivers: list[Driver]
    model_version: str
    reasons: list[str]
    features: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class ScoreFeatures:
    """What a score is computed from; None where the store does not know.

    ``distress_lists``: distinct distress lists the property is on; ``stack_size``: all
    lists; ``days_since_listed``: days since the newest list entry; ``absentee``: 1/0;
    ``years_owned``: since the last sale; ``tax_arrears``: dollars due on tax lists;
    ``discount_pct``: (value - price) / value x 100, positive under value;
    ``uw_margin_pct``: flip ROI or rental cash-on-cash x 100; ``mao_gap_pct``: (MAO -
    price) / value x 100; ``avm_grade``: 1 (A) to 4 (D); ``value_age_days``: age of the
    value."""

    distress_lists: float = 0.0
    stack_size: float = 0.0
    days_since_listed: float | None = None
    absentee: float = 0.0
    years_owned: float | None = None
    tax_arrears: float | None = None
    discount_pct: float | None = None
    uw_margin_pct: float | None = None
    mao_gap_pct: float | None = None
    avm_grade: float | None = None
    value_age_days: float | None = None

    def vector(self) -> list[float]:
        """The features in :data:`FEATURE_NAMES` order, NaN where unknown (LightGBM's
        missing value)."""
        values = (getattr(self, name) for name in FEATURE_NAMES)
        return [math.nan if v is None else float(v) for v in values]

    def as_dict(self) -> dict[str, float | None]:
        return {name: getattr(self, name) for name in FEATURE_NAMES}


FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in fields(ScoreFeatures))
FEATURE_LABELS = {
    "distress_lists": "distress lists",
    "stack_size": "lists stacked",
    "days_since_listed": "recency of listing",
    "absentee": "absentee owner",
    "years_owned": "years owned",
    "tax_arrears": "tax arrears",
    "discount_pct": "price vs value",
    "uw_margin_pct": "underwriting margin",
    "mao_gap_pct": "MAO vs price",
    "avm_grade": "AVM grade",
    "value_age_days": "value freshness",
}
GRADES = "ABCD"


def grade_number(grade: str | None) -> float | None:
    """A-D as 1-4 (None for anything else)."""
    if grade and grade.upper() in GRADES:
        return float(GRADES.index(grade.upper()) + 1)
    return None


def default_drivers(f: ScoreFeatures) -> list[Driver]:
    """The default weights' drivers (see the module docstring), baseline first."""
    drivers = [Driver("baseline", BASELINE)]
    if f.distress_lists > 0:
        n = int(f.distress_lists)
        drivers.append(Driver(f"on {n} distress list{'s' if n != 1 else ''}", 6 * min(n, 4)))
    if f.days_since_listed is not None:
        days = f.days_since_listed
        points = 8 if days <= 30 else 5 if days <= 90 else 2 if days <= 365 else 0
        if points:
            drivers.append(Driver(f"listed {int(days)} days ago", points))
    if f.absentee:
        drivers.append(Driver("absentee owner", 5))
    if f.years_owned is not None:
        years = f.years_owned
        points = 8 if years >= 20 else 5 if years >= 10 else 2 if years >= 5 else 0
        if points:
            drivers.append(Driver(f"owned {int(years)} years", points))
    if f.tax_arrears:
        points = min(8, int(f.tax_arrears // 1000))
        if points:
            drivers.append(Driver(f"${f.tax_arrears:,.0f} tax arrears", points))
    if f.discount_pct is not None:
        pct = f.discount_pct
        if pct > 0:
            points = min(20, int(round(pct * 0.5)))
            if points:
                drivers.append(Driver(f"priced {pct:.0f}% under value", points))
        elif pct < 0:
            points = max(-10, int(round(pct * 0.25)))
            if points:
                drivers.append(Driver(f"priced {-pct:.0f}% over value", points))
    if f.uw_margin_pct is not None:
        if f.uw_margin_pct >= 8:
            drivers.append(Driver(f"underwriting margin {f.uw_margin_pct:.0f}%", 6))
        elif f.uw_margin_pct < 0:
            drivers.append(Driver(f"underwriting margin {f.uw_margin_pct:.0f}%", -4))
    if f.mao_gap_pct is not None and f.mao_gap_pct >= 0:
        drivers.append(Driver("MAO at or above the price", 5))
    if f.avm_grade is None:
        drivers.append(Driver("no AVM value", -8))
    else:
        grade = GRADES[int(f.avm_grade) - 1]
        points = AVM_GRADE_POINTS[grade]
        if points:
            drivers.append(Driver(f"AVM grade {grade}", points))
    if f.value_age_days is not None:
        if f.value_age_days > 365:
            drivers.append(Driver(f"value {int(f.value_age_days)} days old", -6))
        elif f.value_age_days > 180:
            drivers.append(Driver(f"value {int(f.value_age_days)} days old", -3))
    return clipped(drivers)


def clipped(drivers: list[Driver]) -> list[Driver]:
    """``drivers`` with one more when their sum leaves 0-100, bringing it back."""
    total = sum(d.points for d in drivers)
    if total > 100:
        return [*drivers, Driver("capped at 100", 100 - total)]
    if total < 0:
        return [*drivers, Driver("floored at 0", -total)]
    return drivers


def reasons_of(drivers: Sequence[Driver], limit: int = 6) -> list[str]:
    """The drivers as the user reads them ("+18 on 3 distress lists", "−6 AVM grade C"),
    largest first, without the baseline and the clipping."""
    shown = [d for d in drivers if d.points and d.label != "baseline" and "capped" not in d.label]
    shown = [d for d in shown if "floored" not in d.label]
    shown.sort(key=lambda d: -abs(d.points))
    return [f"{'+' if d.points > 0 else '−'}{abs(d.points)} {d.label}" for d in shown[:limit]]


def default_score(property_id: Any, f: ScoreFeatures) -> PropertyScore:
    """A property's score under the default weights."""
    drivers = default_drivers(f)
    return PropertyScore(
        property_id,
        sum(d.points for d in drivers),
        drivers,
        DEFAULT_MODEL_VERSION,
        reasons_of(drivers),
        f.as_dict(),
    )


def shared_out(total: int, weights: Sequence[float]) -> list[int]:
    """``total`` points shared in proportion to ``weights`` (signed), as integers summing
    exactly to ``total`` (largest remainder)."""
    weight_sum = sum(weights)
    if not weights:
        return []
    if abs(weight_sum) < 1e-12:
        return [0] * len(weights)
    raw = [total * w / weight_sum for w in weights]
    floors = [math.floor(r) for r in raw]
    left = total - sum(floors)
    order = sorted(range(len(raw)), key=lambda i: raw[i] - floors[i], reverse=True)
    for i in order[:left]:
        floors[i] += 1
    return floors


def learned_drivers(
    f: ScoreFeatures, contributions: Sequence[float], probability: float
) -> tuple[int, list[Driver]]:
    """The learned model's score and drivers from one row of LightGBM's ``pred_contrib``
    output (one SHAP value per feature, in log-odds, then the base value)."""
    score = max(0, min(100, int(round(probability * 100))))
    base = contributions[-1]
    baseline = int(round(100 / (1 + math.exp(-base))))
    shap = list(contributions[:-1])
    points = shared_out(score - baseline, shap)
    drivers = [Driver("baseline", baseline)]
    values = f.as_dict()
    for name, p in zip(FEATURE_NAMES, points, strict=True):
        if p == 0:
            continue
        known = values[name]
        label = FEATURE_LABELS[name]
        if known is not None and name == "discount_pct":
            label = f"priced {abs(known):.0f}% {'under' if known >= 0 else 'over'} value"
        elif known is not None and name == "distress_lists":
            label = f"on {int(known)} distress lists"
        elif known is not None and name == "avm_grade":
            label = f"AVM grade {GRADES[int(known) - 1]}"
        elif known is not None and name == "years_owned":
            label = f"owned {int(known)} years"
        elif known is not None and name == "tax_arrears":
            label = f"${known:,.0f} tax arrears"
        drivers.append(Driver(label, p))
    return score, drivers


def auc(labels: Sequence[bool], scores: Sequence[float]) -> float:
    """Area under the ROC curve (the probability that a random good outcome scores above a
    random bad one, ties counting half): the Mann-Whitney U statistic / (n+ x n-)."""
    pairs = sorted(zip(scores, labels, strict=True), key=lambda t: t[0])
    positives = sum(1 for label in labels if label)
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return math.nan
    rank_sum = 0.0
    i = 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        mean_rank = (i + 1 + j) / 2
        rank_sum += mean_rank * sum(1 for k in range(i, j) if pairs[k][1])
        i = j
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)
