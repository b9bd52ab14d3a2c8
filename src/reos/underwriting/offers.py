"""Maximum offer: the highest whole-dollar purchase price at which every constraint holds.

The contract's "Offers" section (``shared/reference/underwriting.md``): ``min_*`` means ≥
and ``max_*`` means ≤, both inclusive; the answer is the largest whole dollar ≥ 1 at which
every constraint holds, or none. What moves with the price is exactly what the engines do
when only ``purchase_price`` changes: a rental's loan (ltv × price, and so its points) and,
without an exit cap or an after_repair_value, its sale price; closing costs, rehab and a
flip's loan amount are dollars and stay fixed. A metric that does not exist (a DSCR without
a loan, an IRR without a sign change) fails its constraint.

The search does not take the feasible prices to run from $1 up to the answer: a figure may
not exist at low prices (a flip's ROI while the loan covers every cost, so no cash is in),
and then the feasible prices are a window. It evaluates the deal at prices on a doubling
ladder from the deal's own price down to $1 and up to $1,000,000,000,000, takes the highest
feasible rung and bisects between it and the infeasible rung above to the exact dollar. When
no rung is feasible, it looks for a window narrower than the ladder's spacing where the
missing figures start to exist (below the first rung where a constraint fails on a figure
that does exist), by bisection. The answer is then checked: feasible at ``max_offer`` and
broken at ``max_offer + 1`` (the constraint broken there is the ``binding`` one). What the
search does assume is that a constraint failing on a figure that exists also fails at every
higher price (each constrained metric moves against the buyer as the price rises: cap rate,
DSCR, cash-on-cash with a positive NOI, IRRs, NPVs, profit, ROI, and price-to-ARV rising); a
second feasible window above such a failure would be missed. When every rung up to the cap
is feasible, the constraints do not limit the price and ``max_offer`` is None.

A comparison allows a relative 1e-9 of the bound (``max(1, |bound|) · 1e-9``) so that float
noise in a sum never turns a bound met exactly (a cap rate of exactly 8% at $125,000) into
a miss; one dollar of price moves every metric by far more than that.

Speed: a rental or flip is re-underwritten at each price from ``model_copy`` (no
re-validation; ~0.2 ms). A commercial DCF does not depend on the price except at year 0,
so its flows are computed once and the price-dependent figures (``going_in_cap``,
``npv``, ``irr_unlevered``) recomputed from them; the answer and the dollar above are then
checked with two full DCFs (and the slow path is used if they ever disagree).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel

from reos.errors import ValidationFailed
from reos.underwriting.analysis import DealAnalysis, Metric
from reos.underwriting.deal import analyse, parse_deal, strategy_of
from reos.underwriting.finance import irr
from reos.underwriting.inputs import MAX_MONEY
from reos.underwriting.rental import RentalDeal

#: The highest price searched (dollars).
PRICE_CAP = int(MAX_MONEY)
#: Relative slack on every bound (see the module docstring).
TOLERANCE = 1e-9


@dataclass(frozen=True)
class ConstraintKind:
    """A constraint name: the metric it reads per strategy, and its direction."""

    name: str
    metrics: Mapping[str, str]
    upper: bool  # True for max_* (metric ≤ bound), False for min_* (metric ≥ bound)
    meaning: str


CONSTRAINTS: dict[str, ConstraintKind] = {
    c.name: c
    for c in (
        ConstraintKind("min_dscr", {"rental": "dscr"}, False, "year-1 DSCR at least"),
        ConstraintKind(
            "min_cash_on_cash", {"rental": "cash_on_cash"}, False, "year-1 cash-on-cash at least"
        ),
        ConstraintKind(
            "min_cap_rate",
            {"rental": "cap_rate", "commercial": "going_in_cap"},
            False,
            "year-1 NOI / price at least",
        ),
        ConstraintKind(
            "min_going_in_cap", {"commercial": "going_in_cap"}, False, "NOI_1 / price at least"
        ),
        ConstraintKind("min_debt_yield", {"rental": "debt_yield"}, False, "NOI_1 / loan at least"),
        ConstraintKind("min_irr_levered", {"rental": "irr_levered"}, False, "levered IRR at least"),
        ConstraintKind(
            "min_irr_unlevered",
            {"rental": "irr_unlevered", "commercial": "irr_unlevered"},
            False,
            "unlevered IRR at least",
        ),
        ConstraintKind("min_npv_levered", {"rental": "npv_levered"}, False, "levered NPV at least"),
        ConstraintKind("min_npv", {"commercial": "npv"}, False, "DCF value - price at least"),
        ConstraintKind(
            "min_equity_multiple", {"rental": "equity_multiple"}, False, "equity multiple at least"
        ),
        ConstraintKind(
            "min_monthly_cash_flow",
            {"rental": "monthly_cash_flow"},
            False,
            "year-1 monthly cash flow at least",
        ),
        ConstraintKind(
            "max_break_even_ratio",
            {"rental": "break_even_ratio"},
            True,
            "year-1 break-even ratio at most",
        ),
        ConstraintKind("min_profit", {"flip": "profit"}, False, "flip profit at least"),
        ConstraintKind("min_roi", {"flip": "roi"}, False, "flip ROI at least"),
        ConstraintKind(
            "min_annualized_roi", {"flip": "annualized_roi"}, False, "annualised ROI at least"
        ),
        ConstraintKind(
            "max_price_to_arv",
            {"rental": "price_to_arv", "flip": "price_to_arv"},
            True,
            "price / ARV at most (flip: arv; rental: after_repair_value)",
        ),
    )
}


@dataclass(frozen=True)
class Check:
    """One constraint resolved for a deal."""

    name: str
    metric: str
    bound: float
    upper: bool

    def holds(self, value: Metric) -> bool:
        if value is None or isinstance(value, list):
            return False
        slack = TOLERANCE * max(1.0, abs(self.bound))
        return value <= self.bound + slack if self.upper else value >= self.bound - slack

    def describe(self, value: Metric) -> str:
        sign = "≤" if self.upper else "≥"
        shown = "does not exist" if value is None else f"= {value:.10g}"
        return f"{self.metric} {shown} (needs {sign} {self.bound:g})"


@dataclass(frozen=True)
class OfferResult:
    """A maximum offer: the price, the constraint that binds and the figures at that price."""

    max_offer: int | None
    binding: str | None
    metrics_at_max: dict[str, Metric]
    reason: str
    constraints: dict[str, float] = field(default_factory=dict)
    #: per constraint: its metric, bound, value at ``max_offer`` and at one dollar more
    checks: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "max_offer": self.max_offer,
            "binding": self.binding,
            "metrics_at_max": self.metrics_at_max,
            "reason": self.reason,
            "constraints": self.constraints,
            "checks": self.checks,
        }


def parse_constraints(specs: Sequence[str]) -> dict[str, float]:
    """``["min_dscr=1.25", ...]`` as ``{"min_dscr": 1.25}``; a malformed one is refused."""
    out: dict[str, float] = {}
    problems: list[str] = []
    for spec in specs:
        name, sep, text = spec.partition("=")
        name = name.strip()
        try:
            value = Decimal(text.strip()) if sep else None
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite():
            problems.append(f"{spec}: write a constraint as NAME=NUMBER (min_dscr=1.25)")
        elif name in out:
            problems.append(f"{name}: given twice")
        else:
            out[name] = float(value)
    if problems:
        raise ValidationFailed("\n".join(problems), field="constraint", problems=problems)
    return out


def resolve(constraints: Mapping[str, float], deal: BaseModel) -> list[Check]:
    """Each constraint checked against the deal's strategy; every problem listed at once."""
    strategy = strategy_of(deal)
    if not constraints:
        raise ValidationFailed(
            "give at least one constraint (e.g. --constraint min_dscr=1.25)", field="constraint"
        )
    checks: list[Check] = []
    problems: list[str] = []
    applicable = [n for n, c in CONSTRAINTS.items() if strategy in c.metrics]
    for name, bound in constraints.items():
        kind = CONSTRAINTS.get(name)
        if kind is None:
            close = difflib.get_close_matches(name, list(CONSTRAINTS), n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            problems.append(
                f"{name}: unknown constraint ({hint}a {strategy} deal takes {', '.join(applicable)})"
            )
            continue
        if strategy not in kind.metrics:
            problems.append(
                f"{name}: does not apply to a {strategy} deal "
                f"(it applies to {', '.join(kind.metrics)}; a {strategy} deal takes {', '.join(applicable)})"
            )
            continue
        if (
            name == "max_price_to_arv"
            and isinstance(deal, RentalDeal)
            and deal.after_repair_value is None
        ):
            problems.append(f"{name}: the rental deal has no after_repair_value to compare with")
            continue
        checks.append(Check(name, kind.metrics[strategy], float(bound), kind.upper))
    if problems:
        raise ValidationFailed("\n".join(problems), field="constraint", problems=problems)
    return checks


def _price_ladder(start: int) -> list[int]:
    """Prices doubling up from ``start`` to the cap and halving down to $1, ascending."""
    rungs = {1, PRICE_CAP}
    p = start
    while p > 1:
        rungs.add(p)
        p //= 2
    p = start
    while p < PRICE_CAP:
        rungs.add(p)
        p *= 2
    return sorted(rungs)


def with_price(deal: BaseModel, price: int) -> BaseModel:
    """``deal`` at another purchase price, without re-validating the rest (the price keeps
    the type the model holds it in: float, int or Decimal)."""
    current = getattr(deal, "purchase_price", None)
    value: Any = float(price)
    if isinstance(current, Decimal):
        value = Decimal(price)
    elif isinstance(current, int) and not isinstance(current, bool):
        value = price
    return deal.model_copy(update={"purchase_price": value})


def _commercial_evaluator(deal: BaseModel) -> Callable[[int], dict[str, Metric]] | None:
    """Price-dependent commercial figures from one DCF (None when its metrics lack what is
    needed, in which case every price is a full DCF)."""
    base = analyse(deal)
    m = base.metrics
    noi, cfbd, reversion, dcf_value = (
        m.get("noi"),
        m.get("cfbd"),
        m.get("reversion"),
        m.get("dcf_value"),
    )
    closing = float(getattr(deal, "closing_costs", 0.0) or 0.0)
    selling = getattr(deal, "selling_costs_rate", None)
    if not (
        isinstance(noi, list)
        and isinstance(cfbd, list)
        and cfbd
        and isinstance(reversion, int | float)
        and isinstance(dcf_value, int | float)
        and isinstance(selling, int | float)
    ):
        return None
    flows = [float(x) for x in cfbd]
    flows[-1] += float(reversion) * (1.0 - float(selling))
    noi_1 = float(noi[0])

    def evaluate(price: int) -> dict[str, Metric]:
        out = dict(m)
        cost = price + closing
        out["going_in_cap"] = noi_1 / price
        out["npv"] = float(dcf_value) - cost
        out["irr_unlevered"] = irr([-cost, *flows]).value
        return out

    return evaluate


def _search(
    checks: list[Check], metrics_at: Callable[[int], dict[str, Metric]], start: int
) -> int | None:
    """The highest feasible dollar (see the module docstring); None when there is none;
    :data:`PRICE_CAP` when every rung up to the cap is feasible.

    A price is ``ok`` (every constraint holds), ``high`` (some constraint fails on a figure
    that exists: every metric constrained moves against the buyer as the price rises, so
    higher prices fail it too) or ``null`` (only figures that do not exist fail, as a flip's
    ROI below the price at which the loan stops covering every cost)."""

    def state(price: int) -> str:
        values = metrics_at(price)
        failing = [c for c in checks if not c.holds(values.get(c.metric))]
        if not failing:
            return "ok"
        return "high" if any(values.get(c.metric) is not None for c in failing) else "null"

    def last_ok(lo: int, hi: int) -> int:
        """The highest ok price from ``lo`` (ok) towards ``hi`` (not ok), by bisection."""
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if state(mid) == "ok":
                lo = mid
            else:
                hi = mid
        return lo

    ladder = _price_ladder(start)
    for i in range(len(ladder) - 1, -1, -1):  # from the top: the first ok rung is the highest
        if state(ladder[i]) == "ok":
            if i == len(ladder) - 1:
                return ladder[i]
            return last_ok(ladder[i], ladder[i + 1])
    # No rung is ok. The feasible prices may still be a window narrower than the ladder's
    # spacing, starting where the missing figures start to exist: between the highest
    # ``null`` rung below the first ``high`` one and that ``high`` rung.
    first = next((i for i, rung in enumerate(ladder) if state(rung) != "null"), None)
    if first is None or first == 0:
        return None
    lo, hi = ladder[first - 1], ladder[first]
    while hi - lo > 1:  # the lowest price whose figures exist
        mid = (lo + hi) // 2
        if state(mid) == "null":
            lo = mid
        else:
            hi = mid
    if state(hi) != "ok":
        return None
    return last_ok(hi, ladder[first])


def _cached(evaluate: Callable[[int], dict[str, Metric]]) -> Callable[[int], dict[str, Metric]]:
    cache: dict[int, dict[str, Metric]] = {}

    def at(price: int) -> dict[str, Metric]:
        if price not in cache:
            cache[price] = evaluate(price)
        return cache[price]

    return at


def max_offer(deal: BaseModel, constraints: Mapping[str, float]) -> OfferResult:
    """The highest whole-dollar price ≥ 1 at which every constraint holds (see the module
    docstring for the search and its checks)."""
    checks = resolve(constraints, deal)
    wanted = {c.name: c.bound for c in checks}

    def at_price(price: int) -> DealAnalysis:
        return analyse(with_price(deal, price))

    def full(price: int) -> dict[str, Metric]:
        return at_price(price).metrics

    def holds_all(values: dict[str, Metric]) -> bool:
        return all(c.holds(values.get(c.metric)) for c in checks)

    start = min(PRICE_CAP, max(1, int(float(getattr(deal, "purchase_price", 1)))))
    fast = _commercial_evaluator(deal) if strategy_of(deal) == "commercial" else None
    answer = _search(checks, _cached(fast or full), start)
    if fast is not None and answer is not None and answer < PRICE_CAP:
        # the figures derived from one DCF must agree with full DCFs at the answer and
        # the dollar above; if they ever do not, search again with full DCFs
        if not holds_all(full(answer)) or holds_all(full(answer + 1)):
            answer = _search(checks, _cached(full), start)
    if answer is None:
        lowest = at_price(1)
        values = lowest.metrics
        first = next((c for c in checks if not c.holds(values.get(c.metric))), checks[0])
        why = lowest.notes.get(first.metric)
        return OfferResult(
            None,
            first.name,
            {},
            "no price from $1 up meets every constraint: "
            f"at $1 {first.describe(values.get(first.metric))}" + (f": {why}" if why else ""),
            wanted,
        )
    if answer >= PRICE_CAP:
        return OfferResult(
            None,
            None,
            {},
            f"every price up to ${PRICE_CAP:,} meets the constraints: they do not limit the price",
            wanted,
        )
    at_max, above = full(answer), full(answer + 1)
    if not holds_all(at_max) or holds_all(above):  # the search's own proof, checked
        raise RuntimeError(f"maximum offer search inconsistent at ${answer:,}")
    binding = next(c for c in checks if not c.holds(above.get(c.metric)))
    table = [
        {
            "constraint": c.name,
            "metric": c.metric,
            "bound": c.bound,
            "at_max": at_max.get(c.metric),
            "at_max_plus_one": above.get(c.metric),
            "holds_at_max_plus_one": c.holds(above.get(c.metric)),
        }
        for c in checks
    ]
    return OfferResult(
        answer,
        binding.name,
        at_max,
        f"{binding.name} binds: at ${answer + 1:,} {binding.describe(above.get(binding.metric))}",
        wanted,
        table,
    )


def max_offer_for(data: dict[str, Any], constraints: Mapping[str, float]) -> OfferResult:
    """:func:`max_offer` of a deal given as a deal file's mapping (checked whole first)."""
    return max_offer(parse_deal(data), constraints)
