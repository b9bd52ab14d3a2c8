"""A wrong commercial deal file gets one clear error per problem, naming the field and the
value; nothing is computed from a half-valid file."""

from __future__ import annotations

import copy
import datetime
from typing import Any

import pytest
from pydantic import ValidationError

from reos.underwriting.commercial import CommercialDeal

from .test_commercial import deal


def problems(data: dict[str, Any]) -> dict[str, str]:
    """``{"leases.0.area_sf": message}`` for every problem pydantic reports."""
    with pytest.raises(ValidationError) as caught:
        CommercialDeal.model_validate(data)
    out: dict[str, str] = {}
    for error in caught.value.errors():
        field = ".".join(str(p) for p in error["loc"])
        assert field not in out, f"{field} reported twice"
        out[field] = str(error["msg"]).removeprefix("Value error, ")
    return out


def with_lease(i: int, **changes: Any) -> dict[str, Any]:
    data = deal()
    data["leases"] = copy.deepcopy(data["leases"])
    data["leases"][i].update(changes)
    return data


def test_the_worked_example_is_valid() -> None:
    CommercialDeal.model_validate(deal())


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        (deal(cap_rate=0.07), "cap_rate", ["Extra inputs"]),
        (deal(strategy="rental"), "strategy", ["commercial"]),
        (deal(purchase_price=0), "purchase_price", ["greater than 0", "not 0"]),
        (deal(closing_costs=-5), "closing_costs", ["at least 0", "not -5"]),
        (deal(hold_years=0), "hold_years", ["at least 1", "not 0"]),
        (deal(hold_years=2.5), "hold_years", ["whole number", "2.5"]),
        (deal(hold_years="10"), "hold_years", ["must be a number", "a string"]),
        (deal(exit_cap_rate=0), "exit_cap_rate", ["greater than 0", "not 0"]),
        (deal(exit_cap_rate=float("nan")), "exit_cap_rate", ["finite", "nan"]),
        (deal(credit_loss_rate=1.5), "credit_loss_rate", ["at most 1", "1.5"]),
        (deal(selling_costs_rate=1), "selling_costs_rate", ["less than 1", "not 1"]),
        (deal(discount_rate=-1), "discount_rate", ["greater than -1", "not -1"]),
        (deal(analysis_start="2024-13"), "analysis_start", ["'2024-13'", "YYYY-MM"]),
        (deal(analysis_start="2024-1"), "analysis_start", ["'2024-1'", "YYYY-MM"]),
        (deal(leases=[]), "leases", ["at least 1"]),
        (with_lease(0, area_sf=-100), "leases.0.area_sf", ["greater than 0", "not -100"]),
        (with_lease(0, area_sf=0), "leases.0.area_sf", ["greater than 0", "not 0"]),
        (with_lease(1, rent_psf_annual=-2), "leases.1.rent_psf_annual", ["at least 0", "-2"]),
        (
            with_lease(1, end="2024-03"),
            "leases.1.end",
            ["2024-03", "before the lease's start 2024-04", "'Bistro'"],
        ),
        (
            with_lease(0, end="2023-12"),
            "leases.0.end",
            ["2023-12", "before analysis_start 2024-01", "'Acme'"],
        ),
        (with_lease(0, start="2022/07"), "leases.0.start", ["'2022/07'", "YYYY-MM"]),
        (with_lease(0, escalation=-1), "leases.0.escalation", ["greater than -1"]),
        (with_lease(0, rent_psf_annual=None), "leases.0.rent_psf_annual", ["required", "Acme"]),
        (with_lease(2, start="2024-01"), "leases.2.start", ["vacant suite", "no lease dates"]),
        (with_lease(2, rent_psf_annual=25), "leases.2.rent_psf_annual", ["vacant", "not 25"]),
        (with_lease(2, suite="100"), "leases.2.suite", ["'100'", "leases[0]"]),
        (with_lease(0, tenant=""), "leases.0.tenant", ["empty"]),
        (with_lease(0, free_rent_months=-1), "leases.0.free_rent_months", ["at least 0"]),
    ],
)
def test_one_clear_error_naming_the_field_and_value(
    data: dict[str, Any], field: str, words: list[str]
) -> None:
    found = problems(data)
    assert list(found) == [field]
    for word in words:
        assert word in found[field]


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("renewal_probability", 1.2, ["at most 1", "1.2"]),
        ("renewal_probability", -0.1, ["at least 0", "-0.1"]),
        ("downtime_months", 2.5, ["whole number", "2.5"]),
        ("downtime_months", -1, ["at least 0", "-1"]),
        ("free_rent_months_new", -3, ["at least 0", "-3"]),
        ("lc_rate_new", 6, ["at most 1", "not 6"]),
        ("term_years", 0, ["greater than 0", "not 0"]),
        ("term_years", 2.05, ["whole number of months", "2.05"]),
        ("rent_growth", -1.5, ["greater than -1", "-1.5"]),
        ("ti_psf_new", -10, ["at least 0", "-10"]),
    ],
)
def test_market_assumptions_out_of_range(key: str, value: Any, words: list[str]) -> None:
    data = deal()
    data["market"] = {**data["market"], key: value}
    found = problems(data)
    assert list(found) == [f"market.{key}"]
    for word in words:
        assert word in found[f"market.{key}"]


@pytest.mark.parametrize(
    "field", ["purchase_price", "analysis_start", "hold_years", "exit_cap_rate", "opex_psf_annual"]
)
def test_required_fields(field: str) -> None:
    data = deal()
    del data[field]
    assert problems(data) == {field: "Field required"}


def test_every_problem_of_a_file_is_reported_at_once() -> None:
    data = deal(hold_years=0, exit_cap_rate=-0.1, colour="red")
    data["leases"] = copy.deepcopy(data["leases"])
    data["leases"][0].update(area_sf=-1, end="2022-01")  # also before its start
    data["leases"][1].update(end="2023-06")  # before analysis start (and its own start)
    data["market"] = {**data["market"], "renewal_probability": 2}
    found = problems(data)
    assert set(found) == {
        "hold_years",
        "exit_cap_rate",
        "colour",
        "leases.0.area_sf",
        "leases.0.end",
        "leases.1.end",
        "market.renewal_probability",
    }
    assert "before the lease's start" in found["leases.0.end"]
    assert "before the lease's start" in found["leases.1.end"]


def test_a_suite_number_is_its_label() -> None:
    deal_ = CommercialDeal.model_validate(with_lease(0, suite=100))
    assert deal_.leases[0].suite == "100"


@pytest.mark.parametrize(
    ("value", "shown"), [(datetime.date(2024, 7, 1), "2024-07-01"), (202407, "202407")]
)
def test_a_month_that_yaml_read_as_a_date_or_number(value: Any, shown: str) -> None:
    found = problems(deal(analysis_start=value))
    assert list(found) == ["analysis_start"]
    assert "YYYY-MM" in found["analysis_start"] and shown in found["analysis_start"]
    found = problems(with_lease(0, start=value))
    assert list(found) == ["leases.0.start"]
    assert shown in found["leases.0.start"]
