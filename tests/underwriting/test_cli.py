"""``reos underwrite`` and ``reos offer max`` as a user runs them: templates, tables, JSON,
sensitivities, scenarios, and bad files refused one line per problem, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from reos.underwriting.deal import analyse_deal
from tests.ingest.helpers import run_cli


@pytest.fixture
def rental_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "house.yaml"
    code, _out, err = run_cli(capsys, "underwrite", "--template", "rental", "--output", str(path))
    assert code == 0 and "wrote" in err
    return path


def test_the_template_goes_to_stdout_or_a_file(
    capsys: pytest.CaptureFixture[str], rental_file: Path
) -> None:
    code, out, _err = run_cli(capsys, "underwrite", "--template", "flip")
    assert code == 0 and out.startswith("# A fix-and-flip deal")
    assert yaml.safe_load(out)["strategy"] == "flip"
    assert yaml.safe_load(rental_file.read_text())["strategy"] == "rental"
    code, _out, err = run_cli(capsys, "underwrite", "--template", "hotel")
    assert code == 2 and "must be one of rental, flip, commercial" in err


def test_underwrite_prints_inputs_cash_flows_and_metrics(
    capsys: pytest.CaptureFixture[str], rental_file: Path
) -> None:
    code, out, err = run_cli(capsys, "underwrite", str(rental_file))
    assert code == 0, err
    for heading in ("Inputs (rental, defaults filled in)", "Cash flows", "Metrics"):
        assert heading in out
    expected = analyse_deal(yaml.safe_load(rental_file.read_text())).metrics
    assert f"${expected['noi']:,.2f}" in out
    assert f"{expected['irr_levered']:.3%}" in out
    assert "levered_flow" in out and "loan_balance" in out


def test_underwrite_json_has_the_contracts_names_at_the_top_level(
    capsys: pytest.CaptureFixture[str], rental_file: Path
) -> None:
    code, out, _err = run_cli(capsys, "underwrite", str(rental_file), "--json")
    assert code == 0
    body = json.loads(out)
    assert {"inputs", "metrics", "cash_flows"} <= set(body)
    expected = analyse_deal(yaml.safe_load(rental_file.read_text()))
    assert body["metrics"] == expected.metrics
    assert body["inputs"]["discount_rate"] == 0.10  # a default, filled in
    assert body["cash_flows"]["year"] == [float(y) for y in range(11)]


def test_a_bad_file_gets_one_line_per_problem_and_no_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "strategy: rental\npurchase_price: -1\ngross_rent_monthly: 2000\n"
        "property_tax_annual: 1\ninsurance_annual: 1\nhold_years: 0\n"
        "loan: {ltv: 1.2, rate: 0.07, amort_years: 30}\ncolour: blue\n"
    )
    code, out, err = run_cli(capsys, "underwrite", str(path))
    assert code == 2 and out == ""
    assert "Traceback" not in err
    assert err.splitlines() == [
        f"error: {path}: purchase_price: -1 — must be greater than 0",
        f"error: {path}: loan.ltv: 1.2 — must be at most 1",
        f"error: {path}: hold_years: 0 — must be at least 1",
        f'error: {path}: colour: "blue" — unknown field (`reos underwrite --template rental` shows every field)',
    ]
    code, _out, err = run_cli(capsys, "underwrite", str(tmp_path / "nope.yaml"))
    assert code == 3 and "no such file" in err and "Traceback" not in err
    code, _out, err = run_cli(capsys, "underwrite")
    assert code == 2 and "give a deal file" in err


def test_a_sensitivity_grid_and_scenarios(
    capsys: pytest.CaptureFixture[str], rental_file: Path, tmp_path: Path
) -> None:
    code, out, err = run_cli(
        capsys,
        "underwrite",
        str(rental_file),
        "--sensitivity",
        "appreciation=0.01:0.05:0.01",
        "--metric",
        "irr_levered",
        "--metric",
        "npv_levered",
        "--json",
    )
    assert code == 0, err
    sweep = json.loads(out)["sensitivity"]
    assert sweep["values"] == [[0.01, 0.02, 0.03, 0.04, 0.05]]
    assert len(sweep["grid"]["irr_levered"]) == 5 and len(sweep["grid"]["npv_levered"]) == 5
    code, out, _err = run_cli(
        capsys,
        "underwrite",
        str(rental_file),
        "--sensitivity",
        "loan.rate=0.06:0.08:0.01",
        "--sensitivity",
        "vacancy_rate=0.05:0.1:0.05",
    )
    assert code == 0 and "irr_levered by loan.rate and vacancy_rate" in out
    (tmp_path / "cash.yaml").write_text("loan: null\n")
    (tmp_path / "slow.yaml").write_text("rent_growth: 0.01\nvacancy_rate: 0.08\n")
    code, out, err = run_cli(
        capsys,
        "underwrite",
        str(rental_file),
        "--scenario",
        f"cash={tmp_path / 'cash.yaml'}",
        "--scenario",
        f"slow={tmp_path / 'slow.yaml'}",
    )
    assert code == 0, err
    assert "Scenarios" in out and "cash" in out and "slow" in out
    (tmp_path / "worse.yaml").write_text("vacancy_rate: 2\n")
    code, _out, err = run_cli(
        capsys, "underwrite", str(rental_file), "--scenario", f"worse={tmp_path / 'worse.yaml'}"
    )
    assert code == 2
    assert err.strip().endswith("scenario worse: vacancy_rate: 2 — must be at most 1")


def test_offer_max(capsys: pytest.CaptureFixture[str], rental_file: Path) -> None:
    code, out, err = run_cli(
        capsys, "offer", "max", str(rental_file), "--constraint", "min_dscr=1.25", "--json"
    )
    assert code == 0, err
    body: dict[str, Any] = json.loads(out)
    assert body["binding"] == "min_dscr" and isinstance(body["max_offer"], int)
    data = yaml.safe_load(rental_file.read_text())
    at = analyse_deal({**data, "purchase_price": body["max_offer"]}).metrics
    above = analyse_deal({**data, "purchase_price": body["max_offer"] + 1}).metrics
    assert at["dscr"] >= 1.25 > above["dscr"]  # type: ignore[operator]
    code, out, _err = run_cli(
        capsys, "offer", "max", str(rental_file), "-c", "min_dscr=1.25", "-c", "min_cap_rate=0.07"
    )
    assert code == 0 and "maximum offer: $" in out and "binds" in out
    code, _out, err = run_cli(capsys, "offer", "max", str(rental_file), "-c", "min_profit=1")
    assert code == 2 and "min_profit: does not apply to a rental deal" in err
    assert "Traceback" not in err


def test_a_commercial_deal_as_json_has_per_year_lists(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import importlib.util

    if importlib.util.find_spec("reos.underwriting.commercial") is None:
        pytest.skip("reos.underwriting.commercial is not in this build")
    path = tmp_path / "office.yaml"
    assert run_cli(capsys, "underwrite", "--template", "commercial", "-o", str(path))[0] == 0
    code, out, err = run_cli(capsys, "underwrite", str(path), "--json")
    assert code == 0, err
    metrics = json.loads(out)["metrics"]
    hold = yaml.safe_load(path.read_text())["hold_years"]
    assert len(metrics["noi"]) == hold + 1 and len(metrics["cfbd"]) == hold
    for name in ("reversion", "dcf_value", "npv", "irr_unlevered", "going_in_cap"):
        assert name in metrics, name
