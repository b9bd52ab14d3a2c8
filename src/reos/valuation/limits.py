"""Honest limits of a comp-based value: how far, how old and how adjusted comps may be.

A valuation's comp set is summarised as the grade reads it (``reconcile.grade``): the median
distance to the subject, the median age of the sales at the valuation date (months) and the
median gross adjustment (%) of the comps used. Each summary has two limits:

* above the *down-grade* limit the value is kept but its grade is at most C, with the
  reason, so it gets grade C's blend (leaning on the model) and C's wider interval;
* above the *refusal* limit there is no value: the evidence is too far, too old or too
  unlike the subject, and the refusal says what to do instead.

A fourth pair limits how much of what the model values by the subject lacks (its missing
fields' share of the hedonic model's split gain, %).

The defaults (``REOS_AVM_*`` in ``reos.config``) were chosen from the Ames out-of-time
experiments of ``benchmarks/comp_limits.py``: the down-grade limit is where a bucket's median
absolute error first exceeds 1.25 x that of the ordinary backtest valuations, the refusal
limit where it exceeds 2 x (about the error of the plain $/sqft baseline), or the largest
value measured when it never does. Pure computation: no database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reos.config import Settings

#: Grades in order from best; a down-grade caps the grade at ``DOWNGRADED_TO``.
GRADE_ORDER = ("A", "B", "C", "D")
DOWNGRADED_TO = "C"
#: Why a value was refused, in a few words (``Verdict.refused_for``; how ``reos value --all``
#: counts it).
TOO_FAR = "comparable sales too far"
TOO_OLD = "comparable sales too old"
LACKS_FIELDS = "subject lacks fields the model values by"
TOO_ADJUSTED = "comparable sales too heavily adjusted"
REFUSED_FOR = (TOO_FAR, TOO_OLD, LACKS_FIELDS, TOO_ADJUSTED)
#: A feature filled on at least this share of the comps pool is one a subject should have
#: (``missing_features``).
COMMON_FEATURE_SHARE = 0.5
SHOWN_MISSING = 6


@dataclass(frozen=True)
class CompLimits:
    """Limits on the comp set's medians (metres, months, percent of the comp's price)."""

    downgrade_distance_m: float
    refuse_distance_m: float
    downgrade_months: float
    refuse_months: float
    downgrade_gross_pct: float
    refuse_gross_pct: float
    downgrade_missing_pct: float = float("inf")
    refuse_missing_pct: float = float("inf")

    @classmethod
    def from_settings(cls, settings: Settings) -> CompLimits:
        return cls(
            downgrade_distance_m=settings.avm_downgrade_comp_distance_m,
            refuse_distance_m=settings.avm_refuse_comp_distance_m,
            downgrade_months=settings.avm_downgrade_comp_months,
            refuse_months=settings.avm_refuse_comp_months,
            downgrade_gross_pct=settings.avm_downgrade_gross_adjustment_pct,
            refuse_gross_pct=settings.avm_refuse_gross_adjustment_pct,
            downgrade_missing_pct=settings.avm_downgrade_missing_importance_pct,
            refuse_missing_pct=settings.avm_refuse_missing_importance_pct,
        )

    @classmethod
    def unlimited(cls) -> CompLimits:
        """No limit at all: the engine then reports the figures the limits read (for
        measuring them) without changing any value."""
        inf = float("inf")
        return cls(inf, inf, inf, inf, inf, inf, inf, inf)


@dataclass
class Verdict:
    """What the limits make of one valuation: its grade, why it was lowered, and a refusal
    (with the field it concerns) when there must be no value at all."""

    grade: str
    reasons: list[str] = field(default_factory=list)
    refusal: str | None = None
    refusal_field: str | None = None
    refused_for: str | None = None
    missing_features: list[str] = field(default_factory=list)
    missing_importance_pct: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "grade": self.grade,
            "reasons": list(self.reasons),
            "refusal": self.refusal,
            "refused_for": self.refused_for,
            "missing_features": list(self.missing_features),
            "missing_importance_pct": round(self.missing_importance_pct, 2),
        }


def _km(metres: float) -> str:
    return f"{metres / 1000:.1f} km"


def _names(missing: Sequence[str]) -> str:
    """The first few names, then how many more."""
    shown = ", ".join(missing[:SHOWN_MISSING])
    more = len(missing) - SHOWN_MISSING
    return shown + (f" and {more} more" if more > 0 else "")


def judge(
    grade: str,
    n_comps: int,
    median_distance_m: float,
    median_months: float,
    median_gross_pct: float,
    limits: CompLimits,
    *,
    newest_sale: str | None = None,
    missing_features: Sequence[str] = (),
    missing_importance_pct: float = 0.0,
) -> Verdict:
    """Apply ``limits`` to one comp set (medians as in the module docstring).

    Refusals are checked in the order distance, age, missing fields, adjustment; the first
    one met is the answer. ``newest_sale`` (ISO date of the newest sale the comps could come
    from) makes the age refusal say which date the store can still value.

    ``missing_features``: fields the model values by, filled on most sales but not on the
    subject (most valued first), and ``missing_importance_pct`` their share (%) of the
    hedonic model's total split gain. The tree models send a missing value down the branch
    learned for the lowest values, so such a subject is valued low (on Ames, a subject with
    only the fields of a typed address was valued at a median 0.59 of its price:
    ``benchmarks/comp_limits.py``, "sparse"). A grade-D valuation (no comps: hedonic model
    alone) is judged on its missing fields only.
    """
    verdict = Verdict(
        grade=grade,
        missing_features=list(missing_features),
        missing_importance_pct=float(missing_importance_pct),
    )
    lacks = (
        f"the subject lacks {_names(missing_features)}, which most sales have and the model "
        f"values by ({missing_importance_pct:.0f}% of its split gain"
        if missing_features
        else ""
    )
    missing_reason = (
        f"{lacks}; above {limits.downgrade_missing_pct:.0f}% values are less accurate): "
        "supply them for a reliable value"
        if lacks and missing_importance_pct > limits.downgrade_missing_pct
        else ""
    )
    if n_comps == 0 or grade == "D":
        if lacks and missing_importance_pct > limits.refuse_missing_pct:
            _refuse_missing(verdict, lacks, limits)
        elif missing_reason:
            verdict.reasons.append(missing_reason)
        return verdict
    of = f"median of the {n_comps} comparable sales used"
    if median_distance_m > limits.refuse_distance_m:
        verdict.refusal = (
            f"the nearest comparable sales are {_km(median_distance_m)} away ({of}; the limit "
            f"is {_km(limits.refuse_distance_m)}, REOS_AVM_REFUSE_COMP_DISTANCE_M): the store "
            "has no sales near this address; import sales of its area and run `reos avm train`"
        )
        verdict.refusal_field, verdict.refused_for = "location", TOO_FAR
        return verdict
    if median_months > limits.refuse_months:
        newer = f" nearer the newest sale ({newest_sale})" if newest_sale else " nearer the data"
        verdict.refusal = (
            f"the comparable sales closed {median_months:.0f} months before the valuation date "
            f"({of}; the limit is {limits.refuse_months:.0f} months, "
            "REOS_AVM_REFUSE_COMP_MONTHS): the store has no recent sales for that date; "
            f"import recent sales and run `reos avm train --if-stale`, or value as of a date{newer}"
        )
        verdict.refusal_field, verdict.refused_for = "as_of", TOO_OLD
        return verdict
    if lacks and missing_importance_pct > limits.refuse_missing_pct:
        _refuse_missing(verdict, lacks, limits)
        return verdict
    if median_gross_pct > limits.refuse_gross_pct:
        todo = (
            f"{lacks}): supply them"
            if lacks
            else "the store has no sales like this property; check its attributes or import "
            "sales of similar properties"
        )
        verdict.refusal = (
            f"the comparable sales need {median_gross_pct:.0f}% gross adjustment ({of}; the "
            f"limit is {limits.refuse_gross_pct:.0f}%, REOS_AVM_REFUSE_GROSS_ADJUSTMENT_PCT): "
            f"{todo}"
        )
        verdict.refusal_field, verdict.refused_for = "subject", TOO_ADJUSTED
        return verdict
    if median_distance_m > limits.downgrade_distance_m:
        verdict.reasons.append(
            f"comps are far: {_km(median_distance_m)} ({of}; above "
            f"{_km(limits.downgrade_distance_m)} values are less accurate)"
        )
    if median_months > limits.downgrade_months:
        verdict.reasons.append(
            f"comps are old: {median_months:.0f} months before the valuation date ({of}; above "
            f"{limits.downgrade_months:.0f} months values are less accurate)"
        )
    if median_gross_pct > limits.downgrade_gross_pct:
        verdict.reasons.append(
            f"comps are heavily adjusted: {median_gross_pct:.0f}% gross ({of}; above "
            f"{limits.downgrade_gross_pct:.0f}% values are less accurate)"
        )
    if missing_reason:
        verdict.reasons.append(missing_reason)
    if verdict.reasons and GRADE_ORDER.index(grade) < GRADE_ORDER.index(DOWNGRADED_TO):
        verdict.grade = DOWNGRADED_TO
    return verdict


def _refuse_missing(verdict: Verdict, lacks: str, limits: CompLimits) -> None:
    verdict.refusal = (
        f"{lacks}; the limit is {limits.refuse_missing_pct:.0f}%, "
        "REOS_AVM_REFUSE_MISSING_IMPORTANCE_PCT): supply them"
    )
    verdict.refusal_field, verdict.refused_for = "subject", LACKS_FIELDS
