"""Maximum offers: closed-form answers worked by hand, the contract's edge cases, and the
property that defines the answer (it holds, and one dollar more breaks a constraint),
checked by underwriting the deal file again at those prices."""

from __future__ import annotations

import importlib.util
import math
from fractions import Fraction as F
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reos.errors import ValidationFailed
from reos.underwriting.deal import TEMPLATES, analyse_deal, parse_deal
from reos.underwriting.offers import max_offer, max_offer_for, parse_constraints

#: NOI_1 = 12·1,000 - 1,000 - 1,000 = 10,000 exactly.
SIMPLE: dict[str, Any] = {
    "strategy": "rental",
    "purchase_price": 100_000,
    "gross_rent_monthly": 1_000,
    "vacancy_rate": 0,
    "property_tax_annual": 1_000,
    "insurance_annual": 1_000,
    "loan": {"ltv": 0.75, "rate": 0.06, "amort_years": 30},
}

FLIP: dict[str, Any] = {
    "strategy": "flip",
    "arv": 200_000,
    "purchase_price": 120_000,
    "closing_costs": 2_000,
    "rehab_cost": 30_000,
    "holding_months": 6,
    "holding_costs_monthly": 500,
    "loan": {"amount": 100_000, "rate": 0.12, "points": 0.02},
}


def holds(value: Any, bound: float, upper: bool) -> bool:
    """The contract's inclusive comparison (with the documented 1e-9 relative slack)."""
    if value is None:
        return False
    slack = 1e-9 * max(1.0, abs(bound))
    return bool(value <= bound + slack) if upper else bool(value >= bound - slack)


def test_a_cap_rate_met_exactly_is_met() -> None:
    """NOI_1 = 10,000; a cap rate of at least 8% allows 10,000 / 0.08 = $125,000 exactly
    (inclusive), and not a dollar more."""
    result = max_offer_for(SIMPLE, {"min_cap_rate": 0.08})
    assert result.max_offer == 125_000
    assert result.binding == "min_cap_rate"
    assert result.metrics_at_max["cap_rate"] == pytest.approx(0.08, abs=1e-15)
    assert "125,001" in result.reason


def test_the_dscr_limit_in_closed_form() -> None:
    """The loan moves with the price: DS_1 = 12·pmt(0.75·p) = 12·0.75·p·k with
    k = r / (1 - (1+r)^-360), r = 0.5%. DSCR ≥ 1.25 ⇔ p ≤ 10,000 / (1.25·9·k)."""
    r = F(6, 100) / 12
    k = r / (1 - (1 + r) ** -360)
    limit = F(10_000) / (F(5, 4) * 12 * F(3, 4) * k)
    result = max_offer_for(SIMPLE, {"min_dscr": 1.25})
    assert result.max_offer == math.floor(limit)
    assert result.binding == "min_dscr"


def test_the_tightest_of_several_constraints_binds() -> None:
    both = max_offer_for(SIMPLE, {"min_dscr": 1.25, "min_cap_rate": 0.08})
    dscr_only = max_offer_for(SIMPLE, {"min_dscr": 1.25})
    assert both.max_offer == min(125_000, dscr_only.max_offer or 0)
    assert both.binding == ("min_cap_rate" if 125_000 < (dscr_only.max_offer or 0) else "min_dscr")
    assert both.constraints == {"min_dscr": 1.25, "min_cap_rate": 0.08}


def test_a_flips_profit_limit_is_the_arv_less_its_fixed_costs() -> None:
    """Everything but the price is fixed in dollars (the loan amount too): closing 2,000 +
    rehab 30,000 + holding 3,000 + financing 8,000 + selling 12,000 = 55,000, so a profit of
    at least 30,000 allows 200,000 - 55,000 - 30,000 = $115,000."""
    result = max_offer_for(FLIP, {"min_profit": 30_000})
    assert result.max_offer == 115_000
    assert result.metrics_at_max["profit"] == pytest.approx(30_000)
    assert max_offer_for(FLIP, {"max_price_to_arv": 0.65}).max_offer == 130_000
    tight = max_offer_for(FLIP, {"max_price_to_arv": 0.65, "min_profit": 30_000})
    assert (tight.max_offer, tight.binding) == (115_000, "min_profit")


def test_a_flips_roi_limit() -> None:
    """Cash invested = p + 2,000 + 30,000 + 3,000 + 8,000 - 100,000 = p - 57,000 and
    profit = 145,000 - p. ROI ≥ 0.5 ⇔ 145,000 - p ≥ 0.5·(p - 57,000) ⇔ p ≤ 173,500 / 1.5 =
    115,666.67. Below $57,001 no cash is invested, the ROI is null and the constraint fails:
    the feasible prices are an interval that does not start at $1."""
    result = max_offer_for(FLIP, {"min_roi": 0.5})
    assert result.max_offer == 115_666
    assert max_offer_for(FLIP, {"min_roi": 0.5}).metrics_at_max["cash_invested"] == 58_666
    assert analyse_deal({**FLIP, "purchase_price": 57_000}).metrics["roi"] is None


def test_a_window_of_prices_narrower_than_the_search_ladder_is_found() -> None:
    """ROI ≥ 100 (10,000%): cash invested p - 57,000 must be positive, and 145,000 - p ≥
    100·(p - 57,000) ⇔ p ≤ 5,845,000 / 101 = 57,871.29: the feasible prices are $57,001 to
    $57,871, a window between two rungs of the doubling ladder ($30,000 and $60,000)."""
    assert max_offer_for(FLIP, {"min_roi": 100}).max_offer == 57_871
    both = max_offer_for(FLIP, {"min_roi": 0.5, "max_price_to_arv": 0.29})
    assert (both.max_offer, both.binding) == (58_000, "max_price_to_arv")
    assert max_offer_for(FLIP, {"min_roi": 1e9}).max_offer is None


def test_no_price_meets_a_constraint_on_a_metric_that_does_not_exist() -> None:
    cash = {k: v for k, v in SIMPLE.items() if k != "loan"}
    result = max_offer_for(cash, {"min_dscr": 1.2})
    assert result.max_offer is None and result.binding == "min_dscr"
    assert "no loan" in result.reason


def test_constraints_that_do_not_limit_the_price_say_so() -> None:
    cash = {k: v for k, v in SIMPLE.items() if k != "loan"}
    result = max_offer_for(cash, {"max_break_even_ratio": 0.5})  # no debt: independent of price
    assert result.max_offer is None and result.binding is None
    assert "do not limit" in result.reason


def test_an_irr_constraint_with_the_sale_price_moving_with_the_price() -> None:
    """No exit cap and no ARV: the sale price is the purchase price grown, so it moves too."""
    deal = {**SIMPLE, "hold_years": 5}
    result = max_offer_for(deal, {"min_irr_unlevered": 0.12})
    assert result.max_offer is not None
    at = analyse_deal({**deal, "purchase_price": result.max_offer}).metrics
    above = analyse_deal({**deal, "purchase_price": result.max_offer + 1}).metrics
    assert holds(at["irr_unlevered"], 0.12, False) and not holds(
        above["irr_unlevered"], 0.12, False
    )
    assert at["sale_price"] == pytest.approx(result.max_offer * 1.03**5)


@pytest.mark.parametrize(
    ("deal", "constraints", "expected"),
    [
        (SIMPLE, {"min_dscrr": 1.2}, "min_dscrr: unknown constraint (did you mean min_dscr?"),
        (SIMPLE, {"min_profit": 1}, "min_profit: does not apply to a rental deal"),
        (FLIP, {"min_dscr": 1.2}, "min_dscr: does not apply to a flip deal"),
        (SIMPLE, {"max_price_to_arv": 0.7}, "no after_repair_value"),
        (SIMPLE, {}, "at least one constraint"),
    ],
)
def test_a_constraint_that_cannot_apply_is_refused(
    deal: dict[str, Any], constraints: dict[str, float], expected: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        max_offer_for(deal, constraints)
    assert expected in caught.value.message


def test_constraints_are_read_as_name_equals_number() -> None:
    assert parse_constraints(["min_dscr=1.25", "max_price_to_arv = 0.7"]) == {
        "min_dscr": 1.25,
        "max_price_to_arv": 0.7,
    }
    with pytest.raises(ValidationFailed) as caught:
        parse_constraints(["min_dscr", "min_cap_rate=abc", "min_roi=nan"])
    assert len(caught.value.detail["problems"]) == 3
    with pytest.raises(ValidationFailed, match="given twice"):
        parse_constraints(["min_dscr=1", "min_dscr=2"])


RENTAL_CONSTRAINTS = {
    "min_dscr": (st.floats(min_value=0.8, max_value=2.0), False),
    "min_cash_on_cash": (st.floats(min_value=-0.05, max_value=0.15), False),
    "min_cap_rate": (st.floats(min_value=0.02, max_value=0.15), False),
    "min_irr_levered": (st.floats(min_value=0.0, max_value=0.3), False),
    "min_irr_unlevered": (st.floats(min_value=0.0, max_value=0.2), False),
    "max_price_to_arv": (st.floats(min_value=0.5, max_value=1.0), True),
}
METRIC = {
    "min_dscr": "dscr",
    "min_cash_on_cash": "cash_on_cash",
    "min_cap_rate": "cap_rate",
    "min_irr_levered": "irr_levered",
    "min_irr_unlevered": "irr_unlevered",
    "max_price_to_arv": "price_to_arv",
}


@st.composite
def deals_and_constraints(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, float]]:
    deal: dict[str, Any] = {
        "strategy": "rental",
        "purchase_price": draw(st.integers(min_value=30_000, max_value=1_500_000)),
        "closing_costs": draw(st.integers(min_value=0, max_value=15_000)),
        "rehab_cost": draw(st.integers(min_value=0, max_value=40_000)),
        "after_repair_value": draw(st.integers(min_value=50_000, max_value=2_000_000)),
        "gross_rent_monthly": draw(st.integers(min_value=500, max_value=15_000)),
        "property_tax_annual": draw(st.integers(min_value=0, max_value=20_000)),
        "insurance_annual": draw(st.integers(min_value=0, max_value=5_000)),
        "management_rate": draw(st.sampled_from([0, 0.08, 0.1])),
        "hold_years": draw(st.integers(min_value=1, max_value=15)),
        "loan": {
            "ltv": draw(st.floats(min_value=0.5, max_value=0.9)),
            "rate": draw(st.floats(min_value=0.0, max_value=0.1)),
            "amort_years": draw(st.sampled_from([15, 25, 30])),
            "points": draw(st.sampled_from([0, 0.01])),
        },
    }
    if draw(st.booleans()):
        deal["exit_cap_rate"] = draw(st.floats(min_value=0.04, max_value=0.1))
    names = draw(st.sets(st.sampled_from(sorted(RENTAL_CONSTRAINTS)), min_size=1, max_size=3))
    constraints = {n: draw(RENTAL_CONSTRAINTS[n][0]) for n in sorted(names)}
    return deal, constraints


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(deals_and_constraints())
def test_the_maximum_offer_holds_and_one_dollar_more_breaks_a_constraint(
    case: tuple[dict[str, Any], dict[str, float]],
) -> None:
    deal, constraints = case
    result = max_offer_for(deal, constraints)
    if result.max_offer is None:
        return
    at = analyse_deal({**deal, "purchase_price": result.max_offer}).metrics
    above = analyse_deal({**deal, "purchase_price": result.max_offer + 1}).metrics
    for name, bound in constraints.items():
        upper = RENTAL_CONSTRAINTS[name][1]
        assert holds(at[METRIC[name]], bound, upper), (name, at[METRIC[name]])
    broken = [
        n
        for n, b in constraints.items()
        if not holds(above[METRIC[n]], b, RENTAL_CONSTRAINTS[n][1])
    ]
    assert result.binding in broken


def test_a_commercial_maximum_offer_when_the_engine_is_present() -> None:
    if importlib.util.find_spec("reos.underwriting.commercial") is None:
        pytest.skip("reos.underwriting.commercial is not in this build")
    data = yaml.safe_load(TEMPLATES["commercial"])
    deal = parse_deal(data)
    result = max_offer(deal, {"min_going_in_cap": 0.065, "min_irr_unlevered": 0.07})
    assert result.max_offer is not None
    at = analyse_deal({**data, "purchase_price": result.max_offer}).metrics
    above = analyse_deal({**data, "purchase_price": result.max_offer + 1}).metrics
    assert holds(at["going_in_cap"], 0.065, False) and holds(at["irr_unlevered"], 0.07, False)
    assert not (
        holds(above["going_in_cap"], 0.065, False) and holds(above["irr_unlevered"], 0.07, False)
    )


FLIP_CONSTRAINTS = {
    "min_profit": (st.integers(min_value=-10_000, max_value=80_000), False, "profit"),
    "min_roi": (st.floats(min_value=0, max_value=50), False, "roi"),
    "min_annualized_roi": (st.floats(min_value=0, max_value=5), False, "annualized_roi"),
    "max_price_to_arv": (st.floats(min_value=0.2, max_value=0.9), True, "price_to_arv"),
}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    arv=st.integers(min_value=50_000, max_value=1_000_000),
    rehab=st.integers(min_value=0, max_value=100_000),
    months=st.integers(min_value=1, max_value=18),
    amount=st.integers(min_value=0, max_value=600_000),
    names=st.sets(st.sampled_from(sorted(FLIP_CONSTRAINTS)), min_size=1, max_size=3),
    data=st.data(),
)
def test_a_flips_maximum_offer_holds_and_one_dollar_more_breaks_a_constraint(
    arv: int, rehab: int, months: int, amount: int, names: set[str], data: st.DataObject
) -> None:
    """With a loan, a flip's ROI does not exist until the price passes what the loan covers,
    so the feasible prices can be a window; the answer must still be its top dollar."""
    deal = {
        "strategy": "flip",
        "arv": arv,
        "purchase_price": arv // 2,
        "rehab_cost": rehab,
        "holding_months": months,
        "holding_costs_monthly": 400,
        "loan": {"amount": amount, "rate": 0.1, "points": 0.01},
    }
    constraints = {n: data.draw(FLIP_CONSTRAINTS[n][0]) for n in sorted(names)}
    result = max_offer_for(deal, constraints)

    def feasible(price: int) -> bool:
        m = analyse_deal({**deal, "purchase_price": price}).metrics
        return all(
            holds(m[FLIP_CONSTRAINTS[n][2]], b, FLIP_CONSTRAINTS[n][1])
            for n, b in constraints.items()
        )

    if result.max_offer is None:  # then no price up to the ARV (where profit ends) is feasible
        assert not any(feasible(p) for p in range(1, arv + 1, max(1, arv // 997)))
        return
    assert not any(feasible(p) for p in range(result.max_offer + 1, arv + 1, max(1, arv // 997)))
    at = analyse_deal({**deal, "purchase_price": result.max_offer}).metrics
    above = analyse_deal({**deal, "purchase_price": result.max_offer + 1}).metrics
    for name, bound in constraints.items():
        _strategy, upper, metric = FLIP_CONSTRAINTS[name]
        assert holds(at[metric], bound, upper), (name, at[metric])
    assert result.binding in [
        n
        for n, b in constraints.items()
        if not holds(above[FLIP_CONSTRAINTS[n][2]], b, FLIP_CONSTRAINTS[n][1])
    ]
