"""Deal files: read as YAML or JSON, checked whole (one line per problem, naming the field
and its value), dispatched on strategy; and the templates are valid deals."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from reos.errors import NotFound, ValidationFailed
from reos.underwriting.deal import (
    TEMPLATES,
    analyse_deal,
    load_deal_file,
    parse_deal,
    template,
)
from reos.underwriting.flip import FlipDeal
from reos.underwriting.rental import RentalDeal

RENTAL: dict[str, Any] = {
    "strategy": "rental",
    "purchase_price": 250_000,
    "gross_rent_monthly": 2_300,
    "property_tax_annual": 3_600,
    "insurance_annual": 1_400,
    "loan": {"ltv": 0.75, "rate": 0.07, "amort_years": 30},
}


def problems(data: Any) -> list[str]:
    with pytest.raises(ValidationFailed) as caught:
        analyse_deal(data)
    found: list[str] = caught.value.detail["problems"]
    assert caught.value.message == "\n".join(found)
    return found


def test_defaults_are_the_contracts_and_null_means_absent() -> None:
    deal = parse_deal({**RENTAL, "vacancy_rate": None, "loan": {**RENTAL["loan"], "points": None}})
    assert isinstance(deal, RentalDeal)
    assert (deal.vacancy_rate, deal.hold_years, deal.rent_growth, deal.expense_growth) == (
        0.05,
        10,
        0.03,
        0.03,
    )
    assert (deal.appreciation, deal.selling_costs_rate, deal.discount_rate) == (0.03, 0.06, 0.10)
    assert (
        deal.closing_costs == 0 and deal.exit_cap_rate is None and deal.after_repair_value is None
    )
    assert deal.loan is not None and deal.loan.points == 0
    flip = parse_deal(
        {"strategy": "flip", "arv": 1, "purchase_price": 1, "rehab_cost": 0, "holding_months": 1}
    )
    assert isinstance(flip, FlipDeal)
    assert (flip.selling_costs_rate, flip.mao_rule, flip.wholesale_fee, flip.loan) == (
        0.06,
        0.70,
        0,
        None,
    )
    inputs = analyse_deal(RENTAL).inputs
    assert inputs["vacancy_rate"] == 0.05 and inputs["loan"]["points"] == 0


def test_every_problem_is_one_line_naming_the_field_and_its_value() -> None:
    bad = {
        **RENTAL,
        "purchase_price": -5,
        "hold_years": 0,
        "loan": {"ltv": 1.2, "rate": 0.07, "amort_years": 30, "term": 5},
        "vaccancy_rate": 0.1,
    }
    del bad["insurance_annual"]
    assert problems(bad) == [
        "purchase_price: -5 — must be greater than 0",
        "insurance_annual: required for a rental deal",
        "loan.ltv: 1.2 — must be at most 1",
        "loan.term: 5 — unknown field (allowed: ltv, rate, amort_years, points)",
        "hold_years: 0 — must be at least 1",
        "vaccancy_rate: 0.1 — unknown field (did you mean vacancy_rate?)",
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"purchase_price": "250000"}, 'purchase_price: "250000" — must be a number, not a string'),
        ({"hold_years": 2.5}, "hold_years: 2.5 — must be a whole number"),
        ({"hold_years": True}, "hold_years: true — must be a number, not true"),
        ({"vacancy_rate": float("nan")}, "vacancy_rate: NaN — must be a finite number"),
        (
            {"loan": {"ltv": 0.5, "rate": 0.05, "amort_years": 0}},
            "loan.amort_years: 0 — must be greater than 0",
        ),
        ({"loan": {"ltv": 0.5, "rate": 0.05, "amort_years": 2.01}}, "whole number of months"),
        (
            {"loan": {"ltv": 0.5, "rate": 0.05, "amort_years": 5e-324}},
            "loan.amort_years: 5e-324 — must be at least one monthly payment",
        ),
        ({"loan": {"ltv": 0.5, "rate": 0.05}}, "loan.amort_years: required for a rental deal"),
        ({"loan": 5}, "loan: 5 — must be a mapping of field: value"),
        ({"exit_cap_rate": 0}, "exit_cap_rate: 0 — must be greater than 0"),
        ({"rehab_cost": -1}, "rehab_cost: -1 — must be at least 0"),
        ({"management_rate": 0.6, "capex_rate": 0.5}, "together they must be at most 1"),
        ({"strategy": "retail"}, 'strategy: "retail" — must be one of rental, flip, commercial'),
    ],
)
def test_one_bad_field(change: dict[str, Any], expected: str) -> None:
    found = problems({**RENTAL, **change})
    assert len(found) == 1 and expected in found[0], found


def test_a_deal_without_a_strategy_or_not_a_mapping() -> None:
    assert problems({k: v for k, v in RENTAL.items() if k != "strategy"}) == [
        "strategy: required — one of rental, flip, commercial"
    ]
    assert problems([1, 2]) == ["the deal must be a mapping of field: value"]  # type: ignore[arg-type]


def test_a_flip_refuses_rental_fields_and_names_its_own() -> None:
    found = problems({"strategy": "flip", "arv": 1, "purchase_price": 1, "hold_years": 2})
    assert found == [
        "rehab_cost: required for a flip deal",
        "holding_months: required for a flip deal",
        "hold_years: 2 — unknown field (`reos underwrite --template flip` shows every field)",
    ]


def test_yaml_json_and_any_other_suffix(tmp_path: Path) -> None:
    (tmp_path / "d.yaml").write_text(yaml.safe_dump(RENTAL))
    (tmp_path / "d.json").write_text(json.dumps(RENTAL))
    (tmp_path / "d.deal").write_text(yaml.safe_dump(RENTAL))
    (tmp_path / "d.txt").write_text(json.dumps(RENTAL))
    for name in ("d.yaml", "d.json", "d.deal", "d.txt"):
        assert load_deal_file(tmp_path / name) == RENTAL, name


def test_yaml_reads_scientific_numbers_and_refuses_duplicate_keys(tmp_path: Path) -> None:
    path = tmp_path / "d.yaml"
    path.write_text(yaml.safe_dump(RENTAL) + "vacancy_rate: 5e-2\n")
    assert load_deal_file(path)["vacancy_rate"] == 0.05
    path.write_text(yaml.safe_dump(RENTAL) + "purchase_price: 1\n")
    with pytest.raises(
        ValidationFailed, match=r"line \d+, column 1: the key 'purchase_price' is given twice"
    ):
        load_deal_file(path)
    path = tmp_path / "d.json"
    path.write_text('{"strategy": "rental", "strategy": "flip"}')
    with pytest.raises(ValidationFailed, match="given twice"):
        load_deal_file(path)


def test_unreadable_files_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no such file"):
        load_deal_file(tmp_path / "missing.yaml")
    (tmp_path / "bad.json").write_text('{"strategy": "rental",}')
    with pytest.raises(ValidationFailed, match=r"not valid JSON at line 1, column 23"):
        load_deal_file(tmp_path / "bad.json")
    (tmp_path / "bad.yaml").write_text("strategy: rental\n  purchase_price: [1\n")
    with pytest.raises(ValidationFailed, match="not valid YAML at line"):
        load_deal_file(tmp_path / "bad.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ValidationFailed, match="a mapping of field: value"):
        load_deal_file(tmp_path / "list.yaml")
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ValidationFailed, match="not a UTF-8 text file"):
        load_deal_file(tmp_path / "bin.yaml")


@pytest.mark.parametrize("strategy", ["rental", "flip", "commercial"])
def test_each_template_is_a_valid_deal_of_its_strategy(strategy: str) -> None:
    text = template(strategy)
    assert text.startswith("#") and f"strategy: {strategy}" in text
    data = yaml.safe_load(text)
    assert data["strategy"] == strategy
    if strategy == "commercial":
        if importlib.util.find_spec("reos.underwriting.commercial") is None:
            pytest.skip("reos.underwriting.commercial is not in this build")
        assert [lease["tenant"] for lease in data["leases"]].count(None) == 1
    result = analyse_deal(data)
    assert result.strategy == strategy
    assert all(v is None or v == v for v in result.metrics.values() if not isinstance(v, list))


def test_an_unknown_template_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="must be one of rental, flip, commercial"):
        template("hotel")
    assert set(TEMPLATES) == {"rental", "flip", "commercial"}


def test_a_commercial_lease_ending_before_it_starts_is_refused() -> None:
    if importlib.util.find_spec("reos.underwriting.commercial") is None:
        pytest.skip("reos.underwriting.commercial is not in this build")
    data = yaml.safe_load(template("commercial"))
    data["leases"][0] = {**data["leases"][0], "start": "2027-05", "end": "2027-01"}
    data["leases"][1] = {**data["leases"][1], "area_sf": -10}
    found = problems(data)
    assert any(p.startswith("leases.0") for p in found), found
    assert any(p.startswith("leases.1.area_sf: -10") for p in found), found
