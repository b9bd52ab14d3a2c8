"""Will the seller accept? A logistic model of an offer's price-to-value and its terms.

P(accept | offer) = σ(z), σ(z) = 1 / (1 + e^-z), with

    z = β0 + β_price·(price / value − 1) + β_em·(earnest_money / price)
        + β_close·days_to_close + β_insp·inspection_days + β_cash·[cash]
        + β_credit·(seller_credit / price)

``value`` is what the seller thinks the property is worth (its asking price or the AVM
value). The default coefficients (:data:`DEFAULT`) are **assumptions of this module, not
fitted to any data**: they were chosen so the model reproduces common rules of thumb, and
an organisation should replace them with :func:`fit_acceptance` on its own outcomes:

- a full-value, financed offer with 1% earnest money, a 30-day close, a 10-day inspection
  period and no credit is accepted half the time (β0 = 0.75 makes z = 0 there);
- β_price = 15: an offer 10% under value is accepted about one time in five (z = −1.5,
  P = 18%), 20% under about one in twenty;
- β_cash = 0.5: a cash offer is worth about 3% of price to a seller (0.5 / 15), in line
  with the few-percent cash discount agents quote;
- β_em = 10: each extra point of earnest money (as a share of price) is worth about 0.7%
  of price; β_close = −0.015 a day: closing a month sooner is worth about 3% of price;
  β_insp = −0.04 a day: a 10-day inspection contingency costs about 2.7% of price;
- β_credit = −18: a seller credit costs the seller its face value plus 20% (it is paid at
  closing and scrutinised by the appraiser), so it is never better for the seller than the
  same cut in price.

:func:`fit_acceptance` refits by logistic regression (Newton/IRLS in numpy with a tiny ridge
that only keeps separated data finite) once there are at least :data:`MIN_OUTCOMES`
outcomes of both kinds; a lever that never varies in the outcomes cannot be learnt from
them, so it keeps its default coefficient (entered as a fixed offset) and the message says
so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from reos.errors import ValidationFailed

#: Outcomes needed (with at least one accepted and one rejected) before a refit is trusted.
MIN_OUTCOMES = 30
#: Ridge on the slopes (not the intercept): keeps a separated data set finite.
RIDGE = 1e-6

FEATURES = ("price", "earnest", "close", "inspection", "cash", "credit")


@dataclass(frozen=True)
class AcceptanceModel:
    """Logistic coefficients: ``intercept`` (β0) and one per feature (see the module)."""

    intercept: float = 0.75
    price: float = 15.0
    earnest: float = 10.0
    close: float = -0.015
    inspection: float = -0.04
    cash: float = 0.5
    credit: float = -18.0
    source: str = "default assumptions (reos.underwriting.acceptance; not fitted to data)"

    def coefficients(self) -> NDArray[np.float64]:
        """``[β0, β_price, β_em, β_close, β_insp, β_cash, β_credit]``."""
        return np.array(
            [self.intercept, *(float(getattr(self, name)) for name in FEATURES)], dtype=float
        )

    def probability(
        self,
        price: Any,
        value: float,
        earnest_money: Any,
        days_to_close: Any,
        inspection_days: Any,
        cash: Any,
        seller_credit: Any,
    ) -> NDArray[np.float64]:
        """P(accept), elementwise over numpy-broadcastable arguments (dollars and days)."""
        price = np.asarray(price, dtype=float)
        z = (
            self.intercept
            + self.price * (price / value - 1.0)
            + self.earnest * (np.asarray(earnest_money, dtype=float) / price)
            + self.close * np.asarray(days_to_close, dtype=float)
            + self.inspection * np.asarray(inspection_days, dtype=float)
            + self.cash * np.asarray(cash, dtype=float)
            + self.credit * (np.asarray(seller_credit, dtype=float) / price)
        )
        return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=float)

    def as_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


DEFAULT = AcceptanceModel()


@dataclass(frozen=True)
class OfferOutcome:
    """One past offer and whether the seller accepted it (dollars and days)."""

    price: float
    value: float
    earnest_money: float
    days_to_close: float
    inspection_days: float
    cash: bool
    seller_credit: float
    accepted: bool


@dataclass(frozen=True)
class FitResult:
    """The model to use, whether it was refitted, and why (or why not)."""

    model: AcceptanceModel
    fitted: bool
    message: str
    outcomes: int


def outcome_from(data: dict[str, Any], index: int = 0) -> OfferOutcome:
    """An outcome from a mapping (a JSON/YAML record), every problem named by field."""
    names = [f.name for f in fields(OfferOutcome)]
    unknown = sorted(set(data) - set(names))
    missing = [n for n in names if n not in data and n not in ("seller_credit",)]
    problems = [f"outcomes[{index}].{n}: unknown field" for n in unknown]
    problems += [f"outcomes[{index}].{n}: required" for n in missing]
    values: dict[str, Any] = {"seller_credit": 0.0}
    for name in names:
        if name not in data:
            continue
        raw = data[name]
        if name in ("cash", "accepted"):
            if not isinstance(raw, bool):
                problems.append(f"outcomes[{index}].{name}: {raw!r} — must be true or false")
            values[name] = raw
            continue
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not np.isfinite(raw):
            problems.append(f"outcomes[{index}].{name}: {raw!r} — must be a number")
        elif raw < 0 or (name in ("price", "value") and raw <= 0):
            problems.append(f"outcomes[{index}].{name}: {raw!r} — must be positive")
        values[name] = raw
    if problems:
        raise ValidationFailed("\n".join(problems), field="outcomes", problems=problems)
    return OfferOutcome(**values)


def design_matrix(outcomes: Sequence[OfferOutcome]) -> NDArray[np.float64]:
    """Rows ``[1, price/value − 1, em/price, close, insp, cash, credit/price]``."""
    rows = [
        [
            1.0,
            o.price / o.value - 1.0,
            o.earnest_money / o.price,
            o.days_to_close,
            o.inspection_days,
            1.0 if o.cash else 0.0,
            o.seller_credit / o.price,
        ]
        for o in outcomes
    ]
    return np.array(rows, dtype=float).reshape(len(rows), 1 + len(FEATURES))


def fit_acceptance(outcomes: Sequence[OfferOutcome], prior: AcceptanceModel = DEFAULT) -> FitResult:
    """Refit the coefficients from an organisation's own offer outcomes.

    Fewer than :data:`MIN_OUTCOMES`, or only one kind of outcome, keeps ``prior`` and says
    so. Otherwise maximises the log-likelihood by Newton's method (IRLS) with a ridge of
    :data:`RIDGE` on the slopes; features that never vary keep ``prior``'s coefficient."""
    n = len(outcomes)
    accepted = sum(1 for o in outcomes if o.accepted)
    if n < MIN_OUTCOMES or accepted in (0, n):
        why = (
            f"only {n} outcomes (need at least {MIN_OUTCOMES})"
            if n < MIN_OUTCOMES
            else f"all {n} outcomes are {'accepted' if accepted else 'rejected'} (need both)"
        )
        return FitResult(prior, False, f"kept the default coefficients: {why}", n)
    x = design_matrix(outcomes)
    y = np.array([1.0 if o.accepted else 0.0 for o in outcomes])
    beta_prior = prior.coefficients()
    varies = np.ones(x.shape[1], dtype=bool)
    varies[1:] = np.ptp(x[:, 1:], axis=0) > 1e-12
    fixed_offset = x[:, ~varies] @ beta_prior[~varies]
    xs = x[:, varies]
    penalty = np.full(xs.shape[1], RIDGE)
    penalty[0] = 0.0
    beta = np.zeros(xs.shape[1])
    converged = False
    for _ in range(100):
        z = np.clip(xs @ beta + fixed_offset, -35.0, 35.0)
        p = 1.0 / (1.0 + np.exp(-z))
        w = p * (1.0 - p)
        gradient = xs.T @ (y - p) - penalty * beta
        hessian = (xs.T * w) @ xs + np.diag(penalty)
        try:
            step = np.linalg.solve(hessian, gradient)
        except np.linalg.LinAlgError:
            break
        beta = beta + step
        if not np.all(np.isfinite(beta)):
            break
        if np.max(np.abs(step)) < 1e-10:
            converged = True
            break
    if not converged:
        return FitResult(
            prior, False, "kept the default coefficients: the regression did not converge", n
        )
    full = beta_prior.copy()
    full[varies] = beta
    names = ("intercept", *FEATURES)
    kept = [names[i] for i in range(len(names)) if not varies[i]]
    model = replace(
        prior,
        **{name: float(full[i]) for i, name in enumerate(names)},
        source=f"fitted to {n} offer outcomes ({accepted} accepted)",
    )
    message = f"refitted on {n} outcomes ({accepted} accepted)"
    if kept:
        message += f"; {', '.join(kept)} never varied, so kept their default coefficients"
    return FitResult(model, True, message, n)
