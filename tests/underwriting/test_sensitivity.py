"""Sweeps in exact decimal steps, grids of two inputs, and named scenarios side by side."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reos.errors import ValidationFailed
from reos.underwriting.deal import analyse_deal
from reos.underwriting.sensitivity import (
    apply_overrides,
    decimal_range,
    parse_sweep,
    scenarios,
    sensitivity,
)

DEAL: dict[str, Any] = {
    "strategy": "rental",
    "purchase_price": 250_000,
    "gross_rent_monthly": 2_300,
    "property_tax_annual": 3_600,
    "insurance_annual": 1_400,
    "management_rate": 0.08,
    "loan": {"ltv": 0.75, "rate": 0.07, "amort_years": 30},
    "exit_cap_rate": 0.07,
}


def test_a_sweep_steps_in_exact_decimals() -> None:
    sweep = parse_sweep("exit_cap_rate=0.065:0.075:0.0025")
    assert sweep.path == "exit_cap_rate"
    assert [str(v) for v in sweep.values] == ["0.0650", "0.0675", "0.0700", "0.0725", "0.0750"]
    # the float way drifts: 0.1 + 0.2 is not 0.3, and 0.1 steps to 0.3 give 3 points or 4
    assert len(parse_sweep("vacancy_rate=0.1:0.3:0.1").values) == 3
    assert len(parse_sweep("vacancy_rate=0:1:0.1").values) == 11
    assert [str(v) for v in parse_sweep("x=10:0:-5").values] == ["10", "5", "0"]
    assert len(parse_sweep("x=0:1:0.3").values) == 4  # 0, 0.3, 0.6, 0.9: TO is not passed


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=-10_000, max_value=10_000),
    st.integers(min_value=1, max_value=500),
    st.integers(min_value=1, max_value=50),
    st.integers(min_value=1, max_value=6),
)
def test_a_decimal_range_ends_exactly_on_to(start: int, step: int, count: int, places: int) -> None:
    scale = Decimal(10) ** -places
    a, s = Decimal(start) * scale, Decimal(step) * scale
    b = a + (count - 1) * s
    values = decimal_range(a, b, s)
    assert len(values) == count and values[0] == a and values[-1] == b


def test_each_point_of_a_sweep_is_the_deal_underwritten_with_that_value() -> None:
    result = sensitivity(
        DEAL, [parse_sweep("exit_cap_rate=0.065:0.075:0.0025")], ["irr_levered", "sale_price"]
    )
    assert result.fields == ["exit_cap_rate"]
    assert result.values == [[0.065, 0.0675, 0.07, 0.0725, 0.075]]
    for i, cap in enumerate(result.values[0]):
        alone = analyse_deal({**DEAL, "exit_cap_rate": cap}).metrics
        assert result.grid["irr_levered"][i] == alone["irr_levered"]
        assert result.grid["sale_price"][i] == alone["sale_price"]
    prices = result.grid["sale_price"]
    assert prices == sorted(prices, reverse=True)  # a higher exit cap sells for less


def test_a_grid_of_two_inputs_nested_ones_included() -> None:
    result = sensitivity(
        DEAL,
        [parse_sweep("loan.rate=0.06:0.08:0.01"), parse_sweep("hold_years=5:7:1")],
        ["irr_levered"],
    )
    assert result.values == [[0.06, 0.07, 0.08], [5, 6, 7]]
    grid = result.grid["irr_levered"]
    assert len(grid) == 3 and all(len(row) == 3 for row in grid)
    rate_data = {**DEAL, "loan": {**DEAL["loan"], "rate": 0.08}, "hold_years": 6}
    assert grid[2][1] == analyse_deal(rate_data).metrics["irr_levered"]
    assert isinstance(result.values[1][0], int)  # hold_years stays a whole number


def test_the_default_metric_and_unknown_ones() -> None:
    result = sensitivity(DEAL, [parse_sweep("vacancy_rate=0:0.1:0.05")])
    assert result.metrics == ["irr_levered"]
    with pytest.raises(ValidationFailed, match="not a rental metric"):
        sensitivity(DEAL, [parse_sweep("vacancy_rate=0:0.1:0.05")], ["profit"])


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("exit_cap_rate", "FIELD=FROM:TO:STEP"),
        ("exit_cap_rate=0.06:0.07", "FIELD=FROM:TO:STEP"),
        ("exit_cap_rate=a:b:c", "FIELD=FROM:TO:STEP"),
        ("exit_cap_rate=0.06:0.07:0", "must not be 0"),
        ("exit_cap_rate=0.07:0.06:0.01", "away from TO"),
        ("exit_cap_rate=0:1000:0.001", "at most 10,000"),
    ],
)
def test_a_malformed_sweep_is_refused(spec: str, expected: str) -> None:
    with pytest.raises(ValidationFailed, match=expected):
        parse_sweep(spec)


def test_a_swept_value_outside_its_field_is_refused_before_anything_is_computed() -> None:
    with pytest.raises(ValidationFailed) as caught:
        sensitivity(DEAL, [parse_sweep("loan.ltv=0.9:1.1:0.1")])
    assert caught.value.detail["problems"] == [
        "with loan.ltv = 1.1: loan.ltv: 1.1 — must be at most 1"
    ]
    cash = {k: v for k, v in DEAL.items() if k != "loan"}
    with pytest.raises(ValidationFailed, match="the deal has no loan to change"):
        sensitivity(cash, [parse_sweep("loan.rate=0.06:0.07:0.01")])
    with pytest.raises(ValidationFailed, match="did you mean exit_cap_rate"):
        sensitivity(DEAL, [parse_sweep("exit_cap=0.06:0.07:0.01")])


def test_scenarios_side_by_side() -> None:
    result = scenarios(
        DEAL,
        {
            "cash": {"loan": None},
            "dearer_money": {"loan.rate": 0.08},
            "soft_market": {"vacancy_rate": 0.1, "exit_cap_rate": 0.08},
        },
    )
    assert result.names == ["base", "cash", "dearer_money", "soft_market"]
    assert result.metrics["cash"]["dscr"] is None and "dscr" in result.notes["cash"]
    dearer = analyse_deal({**DEAL, "loan": {**DEAL["loan"], "rate": 0.08}}).metrics
    assert result.metrics["dearer_money"] == dearer
    assert result.metrics["base"] == analyse_deal(DEAL).metrics
    assert result.metrics["soft_market"]["noi"] < result.metrics["base"]["noi"]  # type: ignore[operator]
    with pytest.raises(ValidationFailed, match="scenario bad: loan.ltv: 2 — must be at most 1"):
        scenarios(DEAL, {"ok": {}, "bad": {"loan": {"ltv": 2}}})


def test_overrides_merge_nested_mappings_and_replace_the_rest() -> None:
    merged = apply_overrides(DEAL, {"loan": {"rate": 0.05}, "hold_years": 5})
    assert merged["loan"] == {"ltv": 0.75, "rate": 0.05, "amort_years": 30}
    assert merged["hold_years"] == 5 and DEAL["loan"]["rate"] == 0.07  # the base is untouched
