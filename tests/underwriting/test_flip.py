"""Flip underwriting against figures worked by hand, and the contract's null rules."""

from __future__ import annotations

from fractions import Fraction as F
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reos.underwriting.deal import analyse_deal

FLIP: dict[str, Any] = {
    "strategy": "flip",
    "arv": 200_000,
    "purchase_price": 120_000,
    "closing_costs": 2_000,
    "rehab_cost": 30_000,
    "holding_months": 6,
    "holding_costs_monthly": 500,
    "loan": {"amount": 100_000, "rate": 0.12, "points": 0.02},
    "wholesale_fee": 5_000,
}


def test_a_financed_flip_worked_on_paper() -> None:
    """ARV $200,000, bought at $120,000 with $2,000 closing, $30,000 rehab, 6 months at $500
    a month, sold with 6% costs; a $100,000 interest-only loan at 12% with 2 points; a
    $5,000 wholesale fee and the 70% rule.

    MAO = 200,000·0.70 - 30,000 - 5,000 = 105,000 (the fee lowers the MAO, not the profit).
    Financing = 100,000·0.12/12·6 + 0.02·100,000 = 6,000 + 2,000 = 8,000.
    Holding = 3,000; selling = 12,000.
    Total cost = 120,000 + 2,000 + 30,000 + 3,000 + 8,000 + 12,000 = 175,000.
    Profit = 25,000. Cash invested = 163,000 - 100,000 = 63,000.
    ROI = 25,000 / 63,000 = 39.6825%; annualised = (88/63)^2 - 1 = 3,775/3,969 = 95.1121%."""
    result = analyse_deal(FLIP)
    m = result.metrics
    assert m["mao"] == 105_000
    assert m["financing_cost"] == pytest.approx(8_000, abs=1e-9)
    assert m["holding_cost"] == 3_000
    assert m["selling_costs"] == pytest.approx(12_000, abs=1e-9)
    assert m["total_cost"] == pytest.approx(175_000, abs=1e-9)
    assert m["profit"] == pytest.approx(25_000, abs=1e-9)
    assert m["cash_invested"] == pytest.approx(63_000, abs=1e-9)
    assert m["roi"] == pytest.approx(float(F(25_000, 63_000)), abs=1e-12)
    assert m["annualized_roi"] == pytest.approx(float(F(3_775, 3_969)), abs=1e-12)
    assert m["price_to_arv"] == pytest.approx(0.6)
    # the two moments of a flip's cash: out at the start, back at the sale; they sum to profit
    assert result.cash_flows == {
        "month": [0.0, 6.0],
        "cash_flow": [pytest.approx(-63_000), pytest.approx(200_000 - 12_000 - 100_000)],
    }
    assert sum(result.cash_flows["cash_flow"]) == pytest.approx(m["profit"])
    assert result.notes == {}


def test_an_all_cash_flip_with_defaults() -> None:
    deal = {k: v for k, v in FLIP.items() if k not in ("loan", "wholesale_fee")}
    m = analyse_deal(deal).metrics
    assert m["financing_cost"] == 0 and m["loan_amount"] == 0
    assert m["mao"] == pytest.approx(110_000)
    assert m["cash_invested"] == pytest.approx(155_000)
    assert m["profit"] == pytest.approx(200_000 - 155_000 - 12_000)
    assert m["annualized_roi"] == pytest.approx((1 + 33_000 / 155_000) ** 2 - 1, abs=1e-12)


def test_roi_is_null_when_no_cash_is_invested() -> None:
    result = analyse_deal({**FLIP, "loan": {"amount": 170_000, "rate": 0.1}})
    assert result.metrics["cash_invested"] < 0  # type: ignore[operator]
    assert result.metrics["roi"] is None and result.metrics["annualized_roi"] is None
    assert "no cash is invested" in result.notes["roi"]
    assert result.metrics["profit"] is not None


def test_roi_is_null_when_the_loss_is_the_whole_stake() -> None:
    """$100,000 bought with $90,000 borrowed at 0%: $10,000 in; sold at $50,000 less 6% —
    a $53,000 loss on $10,000 is an ROI of -530%, which the contract reports as null."""
    deal = {
        "strategy": "flip",
        "arv": 50_000,
        "purchase_price": 100_000,
        "rehab_cost": 0,
        "holding_months": 3,
        "loan": {"amount": 90_000, "rate": 0},
    }
    result = analyse_deal(deal)
    assert result.metrics["profit"] == pytest.approx(-53_000)
    assert result.metrics["roi"] is None and result.metrics["annualized_roi"] is None
    assert "roi" in result.notes


@settings(max_examples=200, deadline=None)
@given(
    arv=st.floats(min_value=10_000, max_value=5_000_000),
    price_share=st.floats(min_value=0.05, max_value=1.2),
    rehab=st.floats(min_value=0, max_value=300_000),
    months=st.integers(min_value=1, max_value=36),
    amount_share=st.floats(min_value=0, max_value=1),
)
def test_profit_is_arv_less_every_cost_and_roi_is_profit_on_cash(
    arv: float, price_share: float, rehab: float, months: int, amount_share: float
) -> None:
    price = arv * price_share
    deal = {
        "strategy": "flip",
        "arv": arv,
        "purchase_price": price,
        "rehab_cost": rehab,
        "holding_months": months,
        "holding_costs_monthly": 700,
        "loan": {"amount": price * amount_share, "rate": 0.1, "points": 0.01},
    }
    m = analyse_deal(deal).metrics
    costs = F(price) + F(rehab) + 700 * months + F(m["financing_cost"]) + F(arv) * F(0.06)  # type: ignore[arg-type]
    assert m["profit"] == pytest.approx(float(F(arv) - costs), abs=0.01)
    roi = m["roi"]
    if roi is not None:
        assert roi > -1 and m["cash_invested"] > 0  # type: ignore[operator]
        assert roi == pytest.approx(m["profit"] / m["cash_invested"], rel=1e-12)  # type: ignore[operator]
        annual = m["annualized_roi"]
        assert annual == pytest.approx((1 + roi) ** (12 / months) - 1, rel=1e-12, abs=1e-15)
