"""Offer optimiser: the chosen offer against brute force, acceptance monotonicity, the
frontier, the portfolio budget, refitting, and refusals."""

from __future__ import annotations

import numpy as np
import pytest

from reos.errors import ValidationFailed
from reos.underwriting.acceptance import DEFAULT, AcceptanceModel, OfferOutcome, fit_acceptance
from reos.underwriting.deal import analyse, parse_deal
from reos.underwriting.optimiser import Candidate, Levers, optimise_offer, optimise_portfolio

FLIP = {
    "strategy": "flip",
    "arv": 300_000,
    "purchase_price": 180_000,
    "rehab_cost": 50_000,
    "holding_months": 6,
    "closing_costs": 4_000,
    "loan": {"amount": 150_000, "rate": 0.10},
}
SMALL = Levers(
    earnest_rates=(0.01, 0.03),
    close_days=(10, 30),
    inspection_days=(0, 10),
    credit_shares=(0.0, 1.0),
    floor_ratio=0.975,
    ceiling_ratio=0.985,
)


def brute(deal, constraints, budget, levers):  # type: ignore[no-untyped-def]
    """Every whole dollar and every term option, underwritten by the engine."""
    best = -np.inf
    value = float(deal.purchase_price)
    low, high = int(np.ceil(levers.floor_ratio * value)), int(levers.ceiling_ratio * value)
    for cash in (False, True):
        for share in levers.credit_shares:
            credit = round(share * deal.closing_costs)
            for price in range(low, high + 1):
                update = {"purchase_price": float(price), "closing_costs": 4_000 - credit}
                if cash:
                    update["loan"] = None
                m = analyse(deal.model_copy(update=update)).metrics
                if m["profit"] < constraints.get("min_profit", -np.inf):
                    continue
                for rate in levers.earnest_rates:
                    em = round(rate * price)
                    if budget is not None and max(m["cash_invested"], em) > budget:
                        continue
                    for close in levers.close_days:
                        if close < (levers.min_close_cash if cash else levers.min_close_financed):
                            continue
                        for insp in levers.inspection_days:
                            p = DEFAULT.probability(price, value, em, close, insp, cash, credit)
                            cost = 0.05 * em + 0.02 * price * max(0, 10 - insp) / 10
                            best = max(best, float(p) * (m["profit"] - cost))
    return best


@pytest.mark.parametrize("budget", [None, 95_000])
def test_chosen_offer_is_best_on_the_grid(budget: float | None) -> None:
    deal = parse_deal(FLIP)
    result = optimise_offer(deal, constraints={"min_profit": 30_000}, budget=budget, levers=SMALL)
    assert result.best is not None
    assert result.best.expected_profit == pytest.approx(
        brute(deal, {"min_profit": 30_000}, budget, SMALL), abs=0.01
    )
    assert result.metrics["profit"] >= 30_000
    if budget is not None:
        assert result.best.cash_needed <= budget


def test_acceptance_rises_with_price_cash_and_shorter_close() -> None:
    p = DEFAULT.probability(np.array([90_000, 100_000]), 100_000, 1_000, 30, 10, False, 0)
    assert p[1] > p[0]
    assert DEFAULT.probability(100_000, 100_000, 1_000, 30, 10, True, 0) > p[1]
    assert DEFAULT.probability(100_000, 100_000, 1_000, 14, 10, False, 0) > p[1]


def test_frontier_is_monotone_and_non_dominated() -> None:
    result = optimise_offer(parse_deal(FLIP), budget=100_000, frontier=20)
    prices = [s.offer.price for s in result.frontier]
    probs = [s.acceptance_probability for s in result.frontier]
    assert len(prices) >= 10
    assert prices == sorted(prices) and all(b > a for a, b in zip(probs, probs[1:], strict=False))


def test_portfolio_respects_the_budget() -> None:
    cands = [
        Candidate(f"d{i}", parse_deal({**FLIP, "purchase_price": 150_000 + 10_000 * i}))
        for i in range(4)
    ]
    result = optimise_portfolio(cands, budget=150_000)
    assert result.capital_used <= 150_000
    assert result.chosen and result.status == "OPTIMAL"


def test_refit_recovers_known_coefficients() -> None:
    rng = np.random.default_rng(14)
    truth = AcceptanceModel(
        intercept=0.5,
        price=10.0,
        earnest=20.0,
        close=-0.03,
        inspection=-0.05,
        cash=1.0,
        credit=-15.0,
    )
    outcomes = []
    for _ in range(4000):
        price, value = rng.uniform(80_000, 120_000), 100_000.0
        em, close, insp = (
            rng.uniform(0, 0.05) * price,
            rng.choice([14, 30, 45]),
            rng.choice([0, 5, 10]),
        )
        cash, credit = bool(rng.random() < 0.4), rng.uniform(0, 0.03) * price
        p = float(truth.probability(price, value, em, close, insp, cash, credit))
        outcomes.append(
            OfferOutcome(price, value, em, close, insp, cash, credit, bool(rng.random() < p))
        )
    fit = fit_acceptance(outcomes)
    assert fit.fitted
    assert fit.model.price == pytest.approx(10.0, abs=1.5)
    assert fit.model.cash == pytest.approx(1.0, abs=0.25)


def test_too_few_outcomes_keep_the_defaults() -> None:
    fit = fit_acceptance([OfferOutcome(1e5, 1e5, 1e3, 30, 10, False, 0, True)] * 10)
    assert not fit.fitted and fit.model == DEFAULT and "only 10 outcomes" in fit.message


def test_infeasible_constraints_say_so() -> None:
    result = optimise_offer(parse_deal(FLIP), constraints={"min_profit": 500_000})
    assert result.best is None and "no offer satisfies" in result.reason


def test_bad_input_is_refused_by_name() -> None:
    with pytest.raises(ValidationFailed, match="budget"):
        optimise_offer(parse_deal(FLIP), budget=-5)
    with pytest.raises(ValidationFailed, match="value"):
        optimise_offer(parse_deal(FLIP), value=0)


RENTAL = {
    "strategy": "rental",
    "purchase_price": 200_000,
    "closing_costs": 5_000,
    "gross_rent_monthly": 1_900,
    "property_tax_annual": 2_400,
    "insurance_annual": 1_000,
    "management_rate": 0.08,
    "maintenance_rate": 0.05,
    "loan": {"ltv": 0.75, "rate": 0.065, "amort_years": 30},
}


def brute_rental(deal, min_dscr, levers):  # type: ignore[no-untyped-def]
    """Every whole dollar and term option of a rental, underwritten by the engine: the
    expected levered NPV (the rental's profit measure) with the terms' costs taken off."""
    best = -np.inf
    value = float(deal.purchase_price)
    low, high = int(np.ceil(levers.floor_ratio * value)), int(levers.ceiling_ratio * value)
    for cash in (False, True):
        for share in levers.credit_shares:
            credit = round(share * deal.closing_costs)
            for price in range(low, high + 1):
                update = {"purchase_price": float(price), "closing_costs": 5_000 - credit}
                if cash:
                    update["loan"] = None
                m = analyse(deal.model_copy(update=update)).metrics
                dscr = m["dscr"]
                if dscr is not None and dscr < min_dscr:
                    continue
                for rate in levers.earnest_rates:
                    em = round(rate * price)
                    for close in levers.close_days:
                        if close < (levers.min_close_cash if cash else levers.min_close_financed):
                            continue
                        for insp in levers.inspection_days:
                            p = DEFAULT.probability(price, value, em, close, insp, cash, credit)
                            cost = 0.05 * em + 0.02 * price * max(0, 10 - insp) / 10
                            best = max(best, float(p) * (m["npv_levered"] - cost))
    return best


def test_rental_offer_is_best_on_the_grid_with_a_binding_dscr() -> None:
    """The DSCR bound is set to the engine's DSCR a third of the way into the price range,
    so financed offers above that price are refused and the search must find the edge."""
    deal = parse_deal(RENTAL)
    value = float(deal.purchase_price)
    edge = int(SMALL.floor_ratio * value + (SMALL.ceiling_ratio - SMALL.floor_ratio) * value / 3)
    bound = analyse(deal.model_copy(update={"purchase_price": float(edge)})).metrics["dscr"]
    result = optimise_offer(deal, constraints={"min_dscr": bound}, levers=SMALL)
    assert result.best is not None
    assert result.best.expected_profit == pytest.approx(brute_rental(deal, bound, SMALL), abs=0.01)
    if not result.best.offer.cash:
        assert result.metrics["dscr"] >= bound


def test_portfolio_is_the_exact_knapsack_optimum_and_beats_greedy() -> None:
    """Every combination of the candidates' offers (at most one per property) is tried by
    brute force; CP-SAT's total matches the best one to the dollar (it maximises whole
    dollars of expected profit) and is never below the greedy ratio rule."""
    import itertools

    from reos.underwriting.optimiser import candidate_offers, capital_of, greedy_portfolio, prune

    deals = [
        parse_deal(
            {**FLIP, "purchase_price": 140_000 + 15_000 * i, "rehab_cost": 30_000 + 7_000 * i}
        )
        for i in range(5)
    ]
    cands = [Candidate(f"d{i}", d, None, {"min_profit": 20_000}) for i, d in enumerate(deals)]
    budget = 260_000
    options = [
        [
            o
            for o in prune(candidate_offers(c, budget, DEFAULT, SMALL_PORTFOLIO, 4), "committed")
            if capital_of(o, "committed") <= budget
        ]
        for c in cands
    ]
    assert all(options) and sum(map(len, options)) > len(options)
    best = 0
    for combo in itertools.product(*[[None, *opts] for opts in options]):
        chosen = [o for o in combo if o is not None]
        if sum(capital_of(o, "committed") for o in chosen) <= budget:
            best = max(best, sum(int(round(o.expected_profit)) for o in chosen))
    result = optimise_portfolio(cands, budget=budget, levers=SMALL_PORTFOLIO, portfolio_prices=4)
    assert result.status == "OPTIMAL"
    assert sum(int(round(c.offer.expected_profit)) for c in result.chosen) == best
    assert result.capital_used <= budget
    assert result.expected_profit >= greedy_portfolio(options, budget) - 1e-6
    # the budget binds: not every property gets an offer at its own best
    assert len(result.chosen) < len(cands) or result.capital_used > budget * 0.8


SMALL_PORTFOLIO = Levers(
    earnest_rates=(0.01, 0.03),
    close_days=(10, 30),
    inspection_days=(0, 10),
    credit_shares=(0.0, 1.0),
)


def test_lp_bound_reduction_never_drops_the_optimum() -> None:
    """On 300 random multiple-choice knapsacks (6 properties, up to 4 offers each, a limit
    that binds), the best portfolio over the offers the LP bound keeps equals the best over
    all offers, found by brute force; and the reduction does drop offers (it is not a
    pass-through)."""
    import itertools

    from reos.underwriting.optimiser import reduced_by_lp_bound

    rng = np.random.default_rng(21)
    dropped = 0

    def best(items, allowed, limit):  # type: ignore[no-untyped-def]
        top = 0
        for combo in itertools.product(*[[None, *a] for a in allowed]):
            picked = [items[i][j] for i, j in enumerate(combo) if j is not None]
            if sum(c for c, _ in picked) <= limit:
                top = max(top, sum(p for _, p in picked))
        return top

    for _ in range(300):
        items = [
            [
                (int(c), int(c * rng.uniform(0.2, 0.9)))
                for c in rng.integers(1_000, 50_000, size=rng.integers(1, 5))
            ]
            for _ in range(6)
        ]
        limit = int(sum(max(c for c, _ in offers) for offers in items) * rng.uniform(0.2, 0.7))
        keep, start = reduced_by_lp_bound(items, limit)
        every = [list(range(len(offers))) for offers in items]
        assert best(items, keep, limit) == best(items, every, limit)
        assert sum(items[i][j][0] for i, j in start.items()) <= limit
        dropped += sum(map(len, every)) - sum(map(len, keep))
    assert dropped > 0
