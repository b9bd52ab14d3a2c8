"""Offer optimiser: choose an offer's price and terms to maximise expected profit.

Expected profit = P(accept | offer) × profit(offer), with P from
:mod:`reos.underwriting.acceptance` and profit from the real engine at that offer.

The levers (:class:`Levers`, each on a discrete set of options):

- ``price`` in whole dollars, between ``floor_ratio`` and ``ceiling_ratio`` × value;
- ``earnest_money`` as a share of price (rounded to whole dollars);
- ``days_to_close`` (a financed offer cannot close sooner than ``min_close_financed``
  days, a cash one sooner than ``min_close_cash``: the lender's and the title company's
  minimums);
- ``inspection_days`` (the inspection contingency);
- ``cash`` or financed with the deal's own loan (only when the deal has one): cash removes
  the loan (``loan: null``) before the engine runs;
- ``seller_credit`` as a share of price (whole dollars): a credit pays the buyer's closing
  costs, so it can be at most the deal's ``closing_costs`` and the engine runs with
  ``closing_costs − credit``. That lowers the net price the investor pays dollar for dollar
  (a flip's profit and cash invested, a rental's equity), while a rental's loan stays
  sized on the contract price, as lenders do.

What each offer earns if accepted (``profit``):

- flip: the engine's ``profit``; rental: the engine's ``npv_levered`` (NPV at the deal's
  discount rate of the levered flows, equity at year 0 included) — a profit in today's
  dollars; commercial deals are not optimised (refused with a message);
- less two expected costs of the terms, which the engine does not know (both assumptions,
  in :class:`Levers`): ``earnest_forfeit_rate`` × earnest money (the chance the deposit is
  lost when a deal fails on the buyer's side) and ``uninspected_risk_rate`` × price ×
  (days short of ``full_inspection_days``) / ``full_inspection_days`` (repairs an
  inspection would have found). Days to close carry no cost beyond the minimums.

Constraints are the maximum offer's (:mod:`reos.underwriting.offers`: same names, same
inclusive comparisons, evaluated with the engine at the offer: the contract price, the
credit-reduced closing costs, cash or financed). The budget is the cash the offer needs if
accepted: max(cash in at closing, earnest money), where cash in is a flip's
``cash_invested`` (price + closing + rehab + holding + financing − loan) and a rental's
``equity`` (price − loan + closing + rehab + points); earnest money is credited toward it
at closing, so it is not added again.

The search (:func:`optimise_offer`) is exhaustive over the term options (vectorised numpy:
every earnest money × close × inspection option at once) and exact over whole-dollar
prices by branch and bound, not CP-SAT: the objective is a product of a logistic and the
engine's profit, which a CP-SAT or MIP model could only hold as a table of every price —
the enumeration itself. For each financing × credit choice the engine runs on a coarse
price grid; an interval between two evaluated prices is split (into ``split`` parts) while
an upper bound on its expected profit beats the best offer found, until intervals are one
dollar wide. The bound is exact when, for fixed terms, P is monotone in price (it is: only
the β_price term moves) and the engine's profit is monotone in price (a flip's profit and
a rental's levered NPV fall as price rises); constraints and the budget are taken, as
:mod:`reos.underwriting.offers` takes them, to fail from some price upward, so an interval
whose two ends both fail is skipped (a feasible window narrower than a grid step would be
missed). Tests compare it with brute force over every dollar of a small range.

Portfolio (:func:`optimise_portfolio`): a multiple-choice knapsack over properties, solved
with OR-Tools CP-SAT in integer dollars: for each property at most one of its candidate
offers, the sum of the capital they need at most the limit, maximising total expected
profit. Capital is counted as the cash each chosen offer needs if accepted (conservative:
every offer might be accepted); ``capital="expected"`` counts P(accept) × that instead. A
property's candidate offers are its single-property optimum plus, for each financing ×
credit choice, the best terms at ``portfolio_prices`` prices spread over its feasible range
(so the knapsack can trade a cheaper offer on one property for an offer on another);
dominated candidates (more capital, no more expected profit) are dropped. Before the
solve, reduced-cost fixing from the knapsack's LP relaxation (:func:`reduced_by_lp_bound`)
drops every offer that provably belongs to no optimal portfolio (typically 98% of them), so
CP-SAT proves optimality over the few that remain; the answer is the same exact optimum
(tested against brute force and against the unreduced problem).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel

from reos.errors import ValidationFailed
from reos.underwriting.acceptance import DEFAULT, AcceptanceModel
from reos.underwriting.deal import analyse, parse_deal, strategy_of
from reos.underwriting.flip import FlipDeal
from reos.underwriting.offers import Check, resolve

#: Dollars either side of a ternary search's answer looked at one by one (see fast_search).
LOCAL = 64


@dataclass(frozen=True)
class Levers:
    """The options each lever may take, and the assumed costs of the terms (see module)."""

    earnest_rates: tuple[float, ...] = (0.005, 0.01, 0.02, 0.03)
    close_days: tuple[int, ...] = (10, 14, 21, 30, 45)
    inspection_days: tuple[int, ...] = (0, 3, 5, 7, 10)
    credit_shares: tuple[float, ...] = (0.0, 0.5, 1.0)
    financing: tuple[str, ...] = ("financed", "cash")
    floor_ratio: float = 0.60
    ceiling_ratio: float = 1.20
    min_close_financed: int = 21
    min_close_cash: int = 10
    earnest_forfeit_rate: float = 0.05
    uninspected_risk_rate: float = 0.02
    full_inspection_days: int = 10
    coarse_prices: int = 33
    split: int = 8

    def check(self) -> None:
        """Every option in range; a problem names the lever."""
        problems: list[str] = []

        def need(ok: bool, text: str) -> None:
            if not ok:
                problems.append(text)

        need(
            bool(self.earnest_rates) and all(0 <= r <= 1 for r in self.earnest_rates),
            f"earnest_rates: {self.earnest_rates} — shares of price between 0 and 1",
        )
        need(
            bool(self.close_days) and all(d >= 0 for d in self.close_days),
            f"close_days: {self.close_days} — days ≥ 0",
        )
        need(
            bool(self.inspection_days) and all(d >= 0 for d in self.inspection_days),
            f"inspection_days: {self.inspection_days} — days ≥ 0",
        )
        need(
            bool(self.credit_shares) and all(0 <= r <= 1 for r in self.credit_shares),
            f"credit_shares: {self.credit_shares} — shares of the closing costs in [0, 1]",
        )
        need(
            bool(self.financing) and set(self.financing) <= {"cash", "financed"},
            f"financing: {self.financing} — cash and/or financed",
        )
        need(
            0 < self.floor_ratio <= self.ceiling_ratio,
            f"floor_ratio, ceiling_ratio: {self.floor_ratio}, {self.ceiling_ratio} — "
            "0 < floor ≤ ceiling",
        )
        need(self.full_inspection_days > 0, "full_inspection_days: must be > 0")
        need(self.coarse_prices >= 2 and self.split >= 2, "coarse_prices, split: at least 2")
        if problems:
            raise ValidationFailed("\n".join(problems), field="levers", problems=problems)


@dataclass(frozen=True)
class Offer:
    """An offer's levers (dollars and days)."""

    price: int
    earnest_money: int
    days_to_close: int
    inspection_days: int
    cash: bool
    seller_credit: int

    def as_json(self) -> dict[str, Any]:
        return {
            "price": self.price,
            "earnest_money": self.earnest_money,
            "days_to_close": self.days_to_close,
            "inspection_days": self.inspection_days,
            "financing": "cash" if self.cash else "financed",
            "cash": self.cash,
            "seller_credit": self.seller_credit,
        }


@dataclass(frozen=True)
class ScoredOffer:
    """An offer with what it is worth."""

    offer: Offer
    acceptance_probability: float
    profit: float  # if accepted: engine profit less the terms' expected costs
    expected_profit: float
    engine_profit: float
    terms_cost: float
    cash_needed: float

    def as_json(self) -> dict[str, Any]:
        return {
            **self.offer.as_json(),
            "acceptance_probability": self.acceptance_probability,
            "profit": self.profit,
            "expected_profit": self.expected_profit,
            "engine_profit": self.engine_profit,
            "terms_cost": self.terms_cost,
            "cash_needed": self.cash_needed,
        }


@dataclass(frozen=True)
class OptimisedOffer:
    """The answer for one property (``best`` None when no offer satisfies everything)."""

    best: ScoredOffer | None
    binding: str | None
    reason: str
    value: float
    profit_measure: str
    model: AcceptanceModel
    frontier: list[ScoredOffer] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    evaluations: int = 0

    def as_json(self) -> dict[str, Any]:
        best = self.best
        return {
            "offer": best.offer.as_json() if best else None,
            "acceptance_probability": best.acceptance_probability if best else None,
            "profit": best.profit if best else None,
            "expected_profit": best.expected_profit if best else None,
            "engine_profit": best.engine_profit if best else None,
            "terms_cost": best.terms_cost if best else None,
            "cash_needed": best.cash_needed if best else None,
            "binding": self.binding,
            "reason": self.reason,
            "value": self.value,
            "profit_measure": self.profit_measure,
            "acceptance_model": self.model.as_json(),
            "metrics_at_offer": self.metrics,
            "frontier": [point.as_json() for point in self.frontier],
        }


@dataclass(frozen=True)
class _Point:
    """The engine at one price for one financing × credit choice."""

    price: int
    credit: int
    profit: float
    cash_in: float
    failing: tuple[str, ...]
    metrics: dict[str, Any]


@dataclass(frozen=True)
class _Choice:
    cash: bool
    credit: int


class _Problem:
    """One property: its engine evaluations (cached) and the vectorised terms."""

    def __init__(
        self,
        deal: BaseModel,
        value: float,
        constraints: Mapping[str, float],
        budget: float | None,
        model: AcceptanceModel,
        levers: Levers,
    ) -> None:
        strategy = strategy_of(deal)
        if strategy not in ("rental", "flip"):
            raise ValidationFailed(
                f"strategy: {strategy} — the offer optimiser takes rental and flip deals",
                field="strategy",
            )
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            raise ValidationFailed(f"value: {value!r} — must be a positive number", field="value")
        if budget is not None and not (math.isfinite(budget) and budget > 0):
            raise ValidationFailed(
                f"budget: {budget!r} — must be a positive number of dollars", field="budget"
            )
        levers.check()
        self.deal = deal
        self.strategy = strategy
        self.value = float(value)
        self.budget = budget
        self.model = model
        self.levers = levers
        self.checks: list[Check] = resolve(constraints, deal) if constraints else []
        self.profit_metric = "profit" if strategy == "flip" else "npv_levered"
        self.cash_metric = "cash_invested" if strategy == "flip" else "equity"
        self.closing = float(getattr(deal, "closing_costs", 0.0))
        has_loan = self._has_loan()
        self.choices = [
            _Choice(kind == "cash", credit)
            for kind in levers.financing
            if kind == "cash" or has_loan
            for credit in sorted(
                {int(round(share * self.closing)) for share in levers.credit_shares}
            )
        ]
        if not self.choices:
            raise ValidationFailed(
                "financing: the deal has no loan, so only a cash offer is possible; "
                "allow cash among the financing options",
                field="financing",
            )
        em, close, insp = np.meshgrid(
            np.array(levers.earnest_rates, dtype=float),
            np.array(levers.close_days, dtype=float),
            np.array(levers.inspection_days, dtype=float),
            indexing="ij",
        )
        self.em_rate, self.close, self.insp = em.ravel(), close.ravel(), insp.ravel()
        short = np.maximum(0.0, levers.full_inspection_days - self.insp)
        self.uninspected_share = levers.uninspected_risk_rate * short / levers.full_inspection_days
        self.low = max(1, math.ceil(levers.floor_ratio * self.value))
        self.high = max(self.low, math.floor(levers.ceiling_ratio * self.value))
        self.cache: dict[tuple[int, bool, int], _Point | None] = {}

    def _has_loan(self) -> bool:
        loan = getattr(self.deal, "loan", None)
        if loan is None:
            return False
        if isinstance(self.deal, FlipDeal):
            return float(loan.amount) > 0
        return float(loan.ltv) > 0

    # --- the engine ---------------------------------------------------------------------

    def point(self, price: int, choice: _Choice) -> _Point | None:
        """The engine at ``price`` (None when the credit exceeds the closing costs)."""
        key = (price, choice.cash, choice.credit)
        if key in self.cache:
            return self.cache[key]
        credit = choice.credit
        result: _Point | None = None
        if credit <= self.closing:
            update: dict[str, Any] = {"purchase_price": float(price)}
            if choice.cash:
                update["loan"] = None
            if credit:
                update["closing_costs"] = self.closing - credit
            analysis = analyse(self.deal.model_copy(update=update))
            m = analysis.metrics
            failing = tuple(c.name for c in self.checks if not c.holds(m.get(c.metric)))
            profit, cash_in = m.get(self.profit_metric), m.get(self.cash_metric)
            if not isinstance(profit, int | float) or not isinstance(cash_in, int | float):
                raise ValidationFailed(
                    f"{self.profit_metric}: the engine gave no figure at ${price:,}",
                    field=self.profit_metric,
                )
            result = _Point(price, credit, float(profit), float(cash_in), failing, m)
        self.cache[key] = result
        return result

    # --- the terms, vectorised -----------------------------------------------------------

    def terms(self, pt: _Point, choice: _Choice) -> tuple[NDArray[Any], ...]:
        """For every term option at this point: (P, net profit, feasible, em, cash needed)."""
        price = float(pt.price)
        em = np.round(self.em_rate * price)
        p = self.model.probability(
            price, self.value, em, self.close, self.insp, choice.cash, pt.credit
        )
        cost = self.levers.earnest_forfeit_rate * em + self.uninspected_share * price
        net = pt.profit - cost
        needed = np.maximum(np.maximum(pt.cash_in, em), 0.0)
        minimum = self.levers.min_close_cash if choice.cash else self.levers.min_close_financed
        ok = self.close >= minimum
        if self.budget is not None:
            ok &= needed <= self.budget
        if pt.failing:
            ok &= False
        return p, net, ok, em, needed

    def best_at(self, pt: _Point, choice: _Choice, by: str = "expected") -> ScoredOffer | None:
        """The feasible terms with the highest expected profit (or acceptance) at a point."""
        p, net, ok, em, needed = self.terms(pt, choice)
        if not ok.any():
            return None
        score = p * net if by == "expected" else p + 1e-12 * np.tanh(p * net / 1e6)
        i = int(np.argmax(np.where(ok, score, -np.inf)))
        return self.score(pt, choice, i, p, net, em, needed)

    def score(
        self,
        pt: _Point,
        choice: _Choice,
        i: int,
        p: NDArray[Any],
        net: NDArray[Any],
        em: NDArray[Any],
        needed: NDArray[Any],
    ) -> ScoredOffer:
        offer = Offer(
            pt.price,
            int(em[i]),
            int(self.close[i]),
            int(self.insp[i]),
            choice.cash,
            pt.credit,
        )
        return ScoredOffer(
            offer,
            float(p[i]),
            float(net[i]),
            float(p[i] * net[i]),
            pt.profit,
            pt.profit - float(net[i]),
            float(needed[i]),
        )

    def bound(self, a: _Point | None, b: _Point | None, choice: _Choice) -> float:
        """An upper bound on expected profit at any price in [a, b] (see the module)."""
        if a is None or b is None:
            return -math.inf if a is None and b is None else math.inf
        if a.failing and b.failing:
            return -math.inf
        if self.budget is not None and min(a.cash_in, b.cash_in) > self.budget:
            return -math.inf
        pa, neta, _, ema, _ = self.terms(a, choice)
        pb, netb, _, _, _ = self.terms(b, choice)
        minimum = self.levers.min_close_cash if choice.cash else self.levers.min_close_financed
        ok = self.close >= minimum
        if self.budget is not None:
            ok &= ema <= self.budget + 1.0
        if not ok.any():
            return -math.inf
        p_hi, p_lo = np.maximum(pa, pb), np.minimum(pa, pb)
        # cost rises with price, so the cost at a is the least; +1 covers rounding of em
        net_ub = max(a.profit, b.profit) - (a.profit - neta) + 1.0
        ub = np.where(net_ub > 0, p_hi * net_ub, p_lo * net_ub)
        return float(np.max(np.where(ok, ub, -np.inf)))

    # --- the search -----------------------------------------------------------------------

    def grid(self, count: int, high: int | None = None) -> list[int]:
        top = self.high if high is None else high
        if top <= self.low:
            return [self.low]
        return sorted({int(round(x)) for x in np.linspace(self.low, top, count)})

    def search(self) -> ScoredOffer | None:
        """The best offer on the grid (branch and bound over price; see the module)."""
        best: ScoredOffer | None = None
        heap: list[tuple[float, int, int, int, int]] = []
        prices = self.grid(self.levers.coarse_prices)
        for ci, choice in enumerate(self.choices):
            points = [self.point(price, choice) for price in prices]
            for pt in points:
                if pt is not None:
                    cand = self.best_at(pt, choice)
                    if cand and (best is None or cand.expected_profit > best.expected_profit):
                        best = cand
            for lo, hi, a, b in zip(prices, prices[1:], points, points[1:], strict=False):
                if hi - lo > 1:
                    ub = self.bound(a, b, choice)
                    if ub > -math.inf:
                        heapq.heappush(heap, (-ub, ci, lo, hi, 0))
        while heap:
            neg, ci, lo, hi, _ = heapq.heappop(heap)
            if best is not None and -neg <= best.expected_profit:
                break
            choice = self.choices[ci]
            inner = sorted(
                {int(round(x)) for x in np.linspace(lo, hi, self.levers.split + 1)} | {lo, hi}
            )
            points = [self.point(price, choice) for price in inner]
            for pt in points[1:-1]:
                if pt is not None:
                    cand = self.best_at(pt, choice)
                    if cand and (best is None or cand.expected_profit > best.expected_profit):
                        best = cand
            for lo2, hi2, a, b in zip(inner, inner[1:], points, points[1:], strict=False):
                if hi2 - lo2 <= 1:
                    continue
                ub = self.bound(a, b, choice)
                if ub > -math.inf and (best is None or ub > best.expected_profit):
                    heapq.heappush(heap, (-ub, ci, lo2, hi2, 0))
        return best

    def highest_feasible(self, choice: _Choice) -> int | None:
        """The highest price in range at which some terms are feasible (by bisection)."""

        def ok(price: int) -> bool:
            pt = self.point(price, choice)
            return pt is not None and bool(self.terms(pt, choice)[2].any())

        if not ok(self.low):
            return None
        if ok(self.high):
            return self.high
        lo, hi = self.low, self.high
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if ok(mid) else (lo, mid)
        return lo

    def frontier(self, count: int) -> list[ScoredOffer]:
        """Price against acceptance: at ``count`` prices over the feasible range, the
        feasible offer most likely to be accepted (ties: more expected profit); points
        another point dominates (no cheaper and no likelier) are dropped."""
        tops = [t for t in (self.highest_feasible(c) for c in self.choices) if t is not None]
        if not tops or count < 1:
            return []
        points: list[ScoredOffer] = []
        for price in self.grid(count, max(tops)):
            cands = [
                s
                for c in self.choices
                if (pt := self.point(price, c)) is not None
                and (s := self.best_at(pt, c, by="acceptance")) is not None
            ]
            if cands:
                points.append(max(cands, key=lambda s: (s.acceptance_probability, s.profit)))
        out: list[ScoredOffer] = []
        for s in points:  # ascending price: keep a point only if it is likelier than all before
            if not out or s.acceptance_probability > out[-1].acceptance_probability:
                out.append(s)
        return out

    def choice_of(self, offer: Offer) -> _Choice:
        return _Choice(offer.cash, offer.seller_credit)

    # --- the fast path: the engine's profit and cash in are affine in price ---------------

    def affine(self, choice: _Choice) -> tuple[float, float, float, float] | None:
        """``(profit at 0, profit slope, cash in at 0, cash in slope)`` when the engine's
        profit and cash in are affine in price over the range (checked at two interior
        prices to 1e-9 relative) and profit does not rise with price; else None."""
        prices = sorted({self.low, self.high, *self.grid(4)})
        if len(prices) < 4:
            return None
        pts = [self.point(p, choice) for p in prices]
        if any(pt is None for pt in pts):
            return None
        lo, hi = pts[0], pts[-1]
        assert lo is not None and hi is not None
        span = float(hi.price - lo.price)
        slope = (hi.profit - lo.profit) / span
        cslope = (hi.cash_in - lo.cash_in) / span
        if slope > 0:
            return None
        for pt in pts[1:-1]:
            assert pt is not None
            d = pt.price - lo.price
            scale = 1e-9 * max(1.0, abs(lo.profit), abs(hi.profit), abs(lo.cash_in))
            if abs(lo.profit + slope * d - pt.profit) > scale:
                return None
            if abs(lo.cash_in + cslope * d - pt.cash_in) > scale:
                return None
        return lo.profit - slope * lo.price, slope, lo.cash_in - cslope * lo.price, cslope

    def feasible_top(self, choice: _Choice) -> int | None:
        """The highest price in range meeting every constraint, assuming, as
        :mod:`reos.underwriting.offers` does, that a failing constraint fails above too.

        Bracketed by prices already underwritten, then narrowed by secant steps on the
        failing metric (each checked with the dollar beside it, so an answer is proved:
        feasible there and not a dollar above), with bisection when a step does not help."""
        if not self.checks:
            return self.high

        def ok(price: int) -> bool:
            pt = self.point(price, choice)
            return pt is not None and not pt.failing

        if not ok(self.low):
            return None
        if ok(self.high):
            return self.high
        known = sorted(
            price
            for (price, cash, credit) in self.cache
            if cash == choice.cash and credit == choice.credit and self.low <= price <= self.high
        )
        lo = max(price for price in known if ok(price))
        hi = min(price for price in known if price > lo and not ok(price))
        for step in range(64):
            if hi - lo <= 1:
                break
            guess = (lo + hi) // 2 if step % 3 == 2 else self.secant(lo, hi, choice)
            guess = min(max(guess, lo + 1), hi - 1)
            if ok(guess):
                lo = guess
                if guess + 1 < hi and not ok(guess + 1):
                    hi = guess + 1
            else:
                hi = guess
                if guess - 1 > lo and ok(guess - 1):
                    lo = guess - 1
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if ok(mid) else (lo, mid)
        return lo

    def secant(self, lo: int, hi: int, choice: _Choice) -> int:
        """Where the first constraint failing at ``hi`` crosses its bound, interpolated
        linearly between ``lo`` and ``hi`` (the midpoint when it cannot be)."""
        a, b = self.point(lo, choice), self.point(hi, choice)
        if a is not None and b is not None:
            for check in self.checks:
                if check.name not in b.failing:
                    continue
                va, vb = a.metrics.get(check.metric), b.metrics.get(check.metric)
                if isinstance(va, int | float) and isinstance(vb, int | float) and va != vb:
                    t = (check.bound - va) / (vb - va)
                    if 0 <= t <= 1:
                        return lo + int(math.floor(t * (hi - lo)))
                break
        return (lo + hi) // 2

    def fast_search(
        self, caps: Sequence[int] = ()
    ) -> tuple[bool, ScoredOffer | None, list[ScoredOffer]]:
        """``(True, best, options)`` by exact whole-dollar search on every term option at
        once (vectorised), when every choice is affine; ``(False, None, [])`` otherwise.

        Every financing × credit choice with a feasible price contributes one lane per
        term option, and all lanes are searched together (one numpy call per step, not one
        per choice). For each lane the highest feasible dollar is found by bisection and
        the peak of expected profit below it by ternary search, then every dollar within
        :data:`LOCAL` of that peak is looked at (whole-dollar earnest money puts a sawtooth
        of a few cents on the smooth curve). ``best`` is re-underwritten by the engine at
        its price. ``options`` (for the portfolio): for each choice and each price in
        ``caps``, the best offer at or below it, from the affine figures."""
        lines = []
        for choice in self.choices:
            line = self.affine(choice)
            if line is None:
                return False, None, []
            lines.append(line)
        lv = self.levers
        segments: list[tuple[_Choice, tuple[float, float, float, float], int]] = []
        for choice, line in zip(self.choices, lines, strict=True):
            highest = self.feasible_top(choice)
            if highest is not None:
                segments.append((choice, line, highest))
        if not segments:
            return True, None, []
        n, k = len(self.close), len(segments)

        def per_lane(values: Sequence[float]) -> NDArray[Any]:
            return np.repeat(np.asarray(values, dtype=float), n)

        p0, ps, c0, cs = (per_lane([s[1][i] for s in segments]) for i in range(4))
        tops = per_lane([s[2] for s in segments])
        cash = per_lane([s[0].cash for s in segments])
        credit = per_lane([s[0].credit for s in segments])
        em_rate, close = np.tile(self.em_rate, k), np.tile(self.close, k)
        insp, uninspected_share = np.tile(self.insp, k), np.tile(self.uninspected_share, k)
        minimum = np.where(cash > 0, lv.min_close_cash, lv.min_close_financed)
        lane = close >= minimum

        def column(a: NDArray[Any], price: NDArray[Any]) -> NDArray[Any]:
            return a.reshape((-1,) + (1,) * (price.ndim - 1))  # lanes down, prices across

        def feasible(price: NDArray[Any]) -> NDArray[Any]:
            ok = price <= tops
            if self.budget is not None:
                em = np.round(em_rate * price)
                ok &= np.maximum(np.maximum(c0 + cs * price, em), 0.0) <= self.budget
            return np.asarray(ok)

        def expected(price: NDArray[Any]) -> NDArray[Any]:
            em = np.round(column(em_rate, price) * price)
            p = self.model.probability(
                price,
                self.value,
                em,
                column(close, price),
                column(insp, price),
                column(cash, price),
                column(credit, price),
            )
            net = (
                column(p0, price)
                + column(ps, price) * price
                - lv.earnest_forfeit_rate * em
                - column(uninspected_share, price) * price
            )
            return np.asarray(p * net)

        lo = np.full(n * k, float(self.low))
        start_ok = feasible(lo) & lane
        # the highest feasible whole dollar of each lane (feasibility falls with price)
        good, bad = lo.copy(), tops + 1.0
        at_top = feasible(tops)
        good[at_top] = tops[at_top]
        while np.any(bad - good > 1):
            mid = np.floor((good + bad) / 2.0)
            ok = feasible(mid)
            move = bad - good > 1
            good = np.where(move & ok, mid, good)
            bad = np.where(move & ~ok, mid, bad)
        # the peak of each lane below its highest feasible dollar (unimodal)
        a, b = lo.copy(), good.copy()
        while np.any(b - a > 2):
            third = np.floor((b - a) / 3.0)
            m1, m2 = a + third, b - third
            rising = expected(m1) < expected(m2)
            wide = b - a > 2
            a = np.where(wide & rising, m1 + 1.0, a)
            b = np.where(wide & ~rising, m2, b)
        near = np.clip(a[:, None] + np.arange(-LOCAL, LOCAL + 3), lo[:, None], good[:, None])
        values = expected(near)
        pick = np.argmax(values, axis=1)
        rows = np.arange(len(a))
        price_t = near[rows, pick]
        value_t = np.where(start_ok, values[rows, pick], -np.inf)
        cap_values = {
            cap: (prices, np.where(start_ok, expected(prices), -np.inf))
            for cap in caps
            if cap >= self.low
            for prices in [np.minimum(price_t, np.minimum(good, float(cap)))]
        }
        best: ScoredOffer | None = None
        options: list[ScoredOffer] = []
        for s, (choice, (lp0, lps, lc0, lcs), _top) in enumerate(segments):
            seg = slice(s * n, (s + 1) * n)
            if not start_ok[seg].any():
                continue
            # unimodal: below a lane's peak the best is at the cap itself
            for cap_prices, cap_value in cap_values.values():
                j = int(np.argmax(cap_value[seg]))
                if cap_value[seg][j] > 0:
                    price = cap_prices[seg][j]
                    line_pt = _Point(
                        int(price), choice.credit, lp0 + lps * price, lc0 + lcs * price, (), {}
                    )
                    p, net, _, em, needed = self.terms(line_pt, choice)
                    options.append(self.score(line_pt, choice, j, p, net, em, needed))
            i = int(np.argmax(value_t[seg]))
            if best is not None and value_t[seg][i] <= best.expected_profit:
                continue
            pt = self.point(int(price_t[seg][i]), choice)
            if pt is None:
                continue
            p, net, ok, em, needed = self.terms(pt, choice)
            if not ok[i]:  # the engine disagrees with the affine figures: be exact instead
                return False, None, []
            cand = self.score(pt, choice, i, p, net, em, needed)
            if best is None or cand.expected_profit > best.expected_profit:
                best = cand
        return True, best, options

    def explain(self, best: ScoredOffer) -> tuple[str | None, str]:
        """What stops the price rising: a constraint or the budget at one dollar more."""
        choice = self.choice_of(best.offer)
        above = best.offer.price + 1
        pt = self.point(above, choice)
        if pt is not None and pt.failing:
            return pt.failing[0], f"{pt.failing[0]} binds: it fails at ${above:,}"
        if pt is not None and self.budget is not None:
            cash_needed = max(pt.cash_in, best.offer.earnest_money)
            if cash_needed > self.budget:
                return "budget", (
                    f"the budget binds: ${above:,} needs ${cash_needed:,.0f} "
                    f"of cash (budget ${self.budget:,.0f})"
                )
        if best.offer.price >= self.high:
            return "ceiling", f"the price is at the search ceiling (${self.high:,})"
        return None, "no constraint binds: expected profit peaks at this price"

    def infeasible_reason(self) -> str:
        parts = []
        for choice in self.choices:
            pt = self.point(self.low, choice)
            if pt is None:
                continue
            if pt.failing:
                names = ", ".join(
                    f"{c.name}={c.bound:g} ({c.describe(pt.metrics.get(c.metric))})"
                    for c in self.checks
                    if c.name in pt.failing
                )
                parts.append(f"{'cash' if choice.cash else 'financed'}: {names}")
            elif self.budget is not None:
                parts.append(
                    f"{'cash' if choice.cash else 'financed'}: needs ${pt.cash_in:,.0f} "
                    f"of cash (budget ${self.budget:,.0f})"
                )
            break
        detail = "; ".join(parts) or "no terms are allowed"
        return (
            f"no offer satisfies the constraints and the budget from ${self.low:,} "
            f"(the price floor) up: at ${self.low:,} {detail}"
        )


def optimise_offer(
    deal: BaseModel,
    value: float | None = None,
    constraints: Mapping[str, float] | None = None,
    budget: float | None = None,
    model: AcceptanceModel = DEFAULT,
    levers: Levers | None = None,
    frontier: int = 0,
) -> OptimisedOffer:
    """The offer with the highest expected profit, and a ``frontier`` of ``frontier`` points.

    ``value`` is the seller's value the price is compared with (default: the deal's
    ``purchase_price``, i.e. its asking price)."""
    if frontier < 0 or frontier > 1000:
        raise ValidationFailed(
            f"frontier: {frontier} — between 0 and 1000 points", field="frontier"
        )
    if value is None:
        value = float(getattr(deal, "purchase_price", 0.0))
    problem = _Problem(deal, value, constraints or {}, budget, model, levers or Levers())
    measure = (
        "flip profit (engine), less the terms' expected costs"
        if problem.strategy == "flip"
        else "levered NPV at the discount rate (engine), less the terms' expected costs"
    )
    exact, best, _ = problem.fast_search()
    if not exact:
        best = problem.search()
    points = problem.frontier(frontier) if frontier else []
    if best is None:
        return OptimisedOffer(
            None,
            None,
            problem.infeasible_reason(),
            problem.value,
            measure,
            model,
            points,
            {},
            len(problem.cache),
        )
    binding, reason = problem.explain(best)
    if best.expected_profit <= 0:
        reason += "; no offer has a positive expected profit"
    pt = problem.point(best.offer.price, problem.choice_of(best.offer))
    metrics = pt.metrics if pt is not None else {}
    return OptimisedOffer(
        best, binding, reason, problem.value, measure, model, points, metrics, len(problem.cache)
    )


def optimise_offer_for(data: dict[str, Any], **kwargs: Any) -> OptimisedOffer:
    """:func:`optimise_offer` of a deal file's mapping (checked whole first)."""
    return optimise_offer(parse_deal(data), **kwargs)


# --- portfolio ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A property the investor may offer on."""

    name: str
    deal: BaseModel
    value: float | None = None
    constraints: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class PortfolioChoice:
    name: str
    offer: ScoredOffer
    capital: int

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "capital": self.capital, **self.offer.as_json()}


@dataclass(frozen=True)
class PortfolioResult:
    chosen: list[PortfolioChoice]
    expected_profit: float
    capital_used: int
    budget: int
    capital_rule: str
    status: str
    skipped: dict[str, str]
    options: int
    options_solved: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "chosen": [c.as_json() for c in self.chosen],
            "expected_profit": self.expected_profit,
            "capital_used": self.capital_used,
            "budget": self.budget,
            "capital_rule": self.capital_rule,
            "status": self.status,
            "skipped": self.skipped,
            "options": self.options,
            "options_solved": self.options_solved,
        }


def capital_of(offer: ScoredOffer, capital: str) -> int:
    """Whole dollars of capital an offer takes: its cash needed, or P × that."""
    amount = offer.cash_needed
    if capital == "expected":
        amount *= offer.acceptance_probability
    return int(math.ceil(amount - 1e-9))


def candidate_offers(
    candidate: Candidate,
    budget: float,
    model: AcceptanceModel,
    levers: Levers,
    portfolio_prices: int,
) -> list[ScoredOffer]:
    """The offers the knapsack may choose for one property (see the module)."""
    value = candidate.value
    if value is None:
        value = float(getattr(candidate.deal, "purchase_price", 0.0))
    problem = _Problem(candidate.deal, value, candidate.constraints, budget, model, levers)
    offers: list[ScoredOffer] = []
    caps = problem.grid(portfolio_prices + 1)[1:]
    exact, best, offers = problem.fast_search(caps)
    if not exact:
        best = problem.search()
        for choice in problem.choices:
            for price in caps:
                pt = problem.point(price, choice)
                if pt is not None and (s := problem.best_at(pt, choice)) is not None:
                    offers.append(s)
    if best is not None:
        offers.append(best)
    return [o for o in offers if o.expected_profit > 0]


def prune(offers: Sequence[ScoredOffer], capital: str) -> list[ScoredOffer]:
    """Drop offers another beats (no more capital and more expected profit)."""
    ordered = sorted(offers, key=lambda o: (capital_of(o, capital), -o.expected_profit))
    kept: list[ScoredOffer] = []
    for o in ordered:
        if not kept or o.expected_profit > kept[-1].expected_profit:
            kept.append(o)
    return kept


def hull_steps(options: Sequence[tuple[int, int]]) -> list[tuple[float, int, int]]:
    """One property's offers as the steps of their upper concave hull from (0, 0): each
    ``(profit per dollar, capital, profit)`` added by moving to the next hull offer, in
    falling order of profit per dollar (the multiple-choice knapsack's LP relaxation, after
    Sinha and Zoltners, 1979, takes whole steps in that order)."""
    hull = [(0, 0)]
    for c, p in sorted(set(options)):
        if p <= hull[-1][1]:
            continue
        if c == hull[-1][0]:
            hull[-1] = (c, p)
            continue
        while len(hull) >= 2:
            (c0, p0), (c1, p1) = hull[-2], hull[-1]
            if (c1 - c0) * (p - p0) - (p1 - p0) * (c - c0) < 0:
                break
            hull.pop()
        hull.append((c, p))
    return [
        ((b[1] - a[1]) / (b[0] - a[0]), b[0] - a[0], b[1] - a[1])
        for a, b in zip(hull, hull[1:], strict=False)
    ]


def reduced_by_lp_bound(
    items: Sequence[Sequence[tuple[int, int]]], limit: int
) -> tuple[list[list[int]], dict[int, int]]:
    """Which offers can be in an optimal portfolio, by reduced-cost fixing (exact).

    ``items[i]`` lists property i's offers as (capital, profit) in whole dollars. With λ the
    LP relaxation's price of a dollar of capital and u_i = max(0, max_j p_ij − λ c_ij), any
    portfolio holding offer (i, j) earns at most UB_ij = λ·limit + Σ_k≠i u_k + p_ij − λ c_ij
    (Lagrangian relaxation of the capital limit). The greedy portfolio (offers by profit per
    dollar) earns LB, and the optimum earns at least LB, so an offer with UB_ij < LB is in
    no optimal portfolio and is left out of the exact solve. Returns the kept offer indices
    of each property and the greedy portfolio (property → offer) as the solver's start."""
    steps = sorted((s for offers in items for s in hull_steps(offers)), key=lambda s: -s[0])
    room, price = limit, 0.0
    for ratio, c, _p in steps:
        if c > room:
            price = ratio
            break
        room -= c
    best = [max([0.0, *(p - price * c for c, p in offers)]) for offers in items]
    upper = price * limit + sum(best)
    ranked = sorted(
        (
            (p / max(1, c), i, j)
            for i, offers in enumerate(items)
            for j, (c, p) in enumerate(offers)
        ),
        key=lambda t: -t[0],
    )
    used, lower, start = 0, 0, {}
    for _, i, j in ranked:
        c, p = items[i][j]
        if i not in start and used + c <= limit:
            start[i] = j
            used += c
            lower += p
    keep = [
        [j for j, (c, p) in enumerate(offers) if upper - best[i] + p - price * c >= lower - 1.0]
        for i, offers in enumerate(items)
    ]
    return keep, start


def optimise_portfolio(
    candidates: Sequence[Candidate],
    budget: float,
    model: AcceptanceModel = DEFAULT,
    levers: Levers | None = None,
    capital: str = "committed",
    portfolio_prices: int = 8,
    time_limit: float = 8.0,
) -> PortfolioResult:
    """Which properties to offer on, and at what offer, under one capital limit (CP-SAT)."""
    from ortools.sat.python import cp_model

    if not candidates:
        raise ValidationFailed("deals: no candidate properties given", field="deals")
    if len(candidates) > 500:
        raise ValidationFailed(
            f"deals: {len(candidates)} candidates — at most 500 at once", field="deals"
        )
    if not (math.isfinite(budget) and budget > 0):
        raise ValidationFailed(f"budget: {budget!r} — must be a positive number", field="budget")
    if capital not in ("committed", "expected"):
        raise ValidationFailed(
            f"capital: {capital!r} — committed (every offer may be accepted) or expected",
            field="capital",
        )
    names = [c.name for c in candidates]
    if len(set(names)) != len(names):
        raise ValidationFailed("deals: two candidates share a name", field="deals")
    levers = levers or Levers()
    limit = int(math.floor(budget))
    options: list[list[ScoredOffer]] = []
    skipped: dict[str, str] = {}
    for cand in candidates:
        offers = prune(candidate_offers(cand, budget, model, levers, portfolio_prices), capital)
        offers = [o for o in offers if capital_of(o, capital) <= limit]
        if not offers:
            skipped[cand.name] = "no offer within the constraints and budget has a positive value"
        options.append(offers)
    items = [
        [(capital_of(o, capital), int(round(o.expected_profit))) for o in offers]
        for offers in options
    ]
    keep, start = reduced_by_lp_bound(items, limit)
    cp = cp_model.CpModel()
    pick: list[list[tuple[Any, ScoredOffer]]] = []
    weight: list[Any] = []
    gain: list[Any] = []
    for i, (offers, kept) in enumerate(zip(options, keep, strict=True)):
        row = [(cp.new_bool_var(f"x{i}_{j}"), offers[j]) for j in kept]
        if row:
            cp.add_at_most_one([x for x, _ in row])
        pick.append(row)
        for (x, _o), j in zip(row, kept, strict=True):
            weight.append(items[i][j][0] * x)
            gain.append(items[i][j][1] * x)
            cp.add_hint(x, start.get(i) == j)
    if weight:
        cp.add(sum(weight) <= limit)
        cp.maximize(sum(gain))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    # one worker with the LP relaxation at every node proves these knapsacks fastest
    # (measured in benchmarks/offer_optimiser_speed.py against the default portfolio)
    solver.parameters.num_workers = 1
    solver.parameters.linearization_level = 2
    status = solver.solve(cp)
    chosen: list[PortfolioChoice] = []
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        for cand, row in zip(candidates, pick, strict=True):
            for x, o in row:
                if solver.value(x):
                    chosen.append(PortfolioChoice(cand.name, o, capital_of(o, capital)))
    return PortfolioResult(
        chosen,
        sum(c.offer.expected_profit for c in chosen),
        sum(c.capital for c in chosen),
        limit,
        capital,
        solver.status_name(status),
        skipped,
        sum(len(o) for o in options),
        sum(len(k) for k in keep),
    )


def greedy_portfolio(
    options: Sequence[Sequence[ScoredOffer]], budget: int, capital: str = "committed"
) -> float:
    """A greedy benchmark: offers in order of expected profit per dollar of capital."""
    ranked = sorted(
        (
            (o.expected_profit / max(1, capital_of(o, capital)), i, o)
            for i, opts in enumerate(options)
            for o in opts
        ),
        key=lambda t: -t[0],
    )
    used, total, taken = 0, 0.0, set()
    for _, i, o in ranked:
        cost = capital_of(o, capital)
        if i not in taken and used + cost <= budget:
            taken.add(i)
            used += cost
            total += o.expected_profit
    return total
