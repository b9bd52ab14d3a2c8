"""``reos offer optimise`` and ``reos offer portfolio`` as a user runs them: the chosen
offer and its frontier, a portfolio under a capital limit, refitting from past outcomes,
and bad input refused by name with a non-zero exit, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from reos.underwriting.acceptance import AcceptanceModel
from reos.underwriting.deal import parse_deal
from reos.underwriting.optimiser import optimise_offer
from tests.ingest.helpers import run_cli

FLIP = {
    "strategy": "flip",
    "arv": 300_000,
    "purchase_price": 180_000,
    "rehab_cost": 50_000,
    "holding_months": 6,
    "closing_costs": 4_000,
    "loan": {"amount": 150_000, "rate": 0.10},
}


def write(path: Path, data: object) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def test_optimise_prints_the_offer_and_a_frontier(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    deal = write(tmp_path / "flip.yaml", FLIP)
    code, out, err = run_cli(
        capsys,
        "offer",
        "optimise",
        str(deal),
        "--budget",
        "100000",
        "-c",
        "min_profit=30000",
        "--json",
    )
    assert code == 0, err
    body = json.loads(out)
    # the CLI answers what the library answers for the same deal
    direct = optimise_offer(
        parse_deal(FLIP), constraints={"min_profit": 30_000}, budget=100_000, frontier=20
    )
    assert direct.best is not None
    assert body["offer"]["price"] == direct.best.offer.price
    assert body["expected_profit"] == pytest.approx(direct.best.expected_profit)
    assert body["cash_needed"] <= 100_000
    probs = [p["acceptance_probability"] for p in body["frontier"]]
    assert len(probs) >= 10 and probs == sorted(probs)
    code, out, err = run_cli(capsys, "offer", "optimise", str(deal), "--budget", "100000")
    assert code == 0, err
    assert "P(accept)" in out and "Frontier: price against acceptance" in out


def test_optimise_refits_acceptance_from_past_offers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(3)
    truth = AcceptanceModel(intercept=0.2, price=12.0)
    outcomes = []
    for _ in range(600):
        price = float(rng.uniform(80_000, 120_000))
        p = float(truth.probability(price, 100_000.0, 0.01 * price, 30, 10, False, 0))
        outcomes.append(
            {
                "price": price,
                "value": 100_000,
                "earnest_money": 0.01 * price,
                "days_to_close": 30,
                "inspection_days": 10,
                "cash": False,
                "seller_credit": 0,
                "accepted": bool(rng.random() < p),
            }
        )
    past = write(tmp_path / "outcomes.yaml", outcomes)
    deal = write(tmp_path / "flip.yaml", FLIP)
    code, out, err = run_cli(
        capsys, "offer", "optimise", str(deal), "--outcomes", str(past), "--json"
    )
    assert code == 0, err
    body = json.loads(out)
    assert "600 outcomes" in body["acceptance_fit"]
    code, out, err = run_cli(capsys, "offer", "optimise", str(deal), "--outcomes", str(deal))
    assert code != 0 and "outcomes" in err and "Traceback" not in err


def test_portfolio_over_a_directory_of_deals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "deals"
    folder.mkdir()
    for i in range(4):
        write(folder / f"flip-{i}.yaml", {**FLIP, "purchase_price": 150_000 + 10_000 * i})
    code, out, err = run_cli(
        capsys, "offer", "portfolio", str(folder), "--budget", "150000", "--json"
    )
    assert code == 0, err
    body = json.loads(out)
    assert body["status"] == "OPTIMAL" and body["capital_used"] <= 150_000
    assert body["chosen"] and all(c["name"].endswith(".yaml") for c in body["chosen"])
    assert body["expected_profit"] == pytest.approx(
        sum(c["expected_profit"] for c in body["chosen"])
    )
    code, out, err = run_cli(capsys, "offer", "portfolio", str(folder), "--budget", "150000")
    assert code == 0, err
    assert "offers of 4 properties" in out and "solver OPTIMAL" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--budget", "-5"], "budget"),
        (["--budget", "100000", "--capital", "sometimes"], "capital"),
        (["--budget", "100000", "-c", "min_profit=lots"], "min_profit"),
    ],
)
def test_portfolio_bad_input_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    deal = write(tmp_path / "flip.yaml", FLIP)
    code, _out, err = run_cli(capsys, "offer", "portfolio", str(deal), *args)
    assert code != 0 and message in err and "Traceback" not in err


def test_optimise_refuses_commercial_and_missing_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, "underwrite", "--template", "commercial")
    assert code == 0
    commercial = tmp_path / "office.yaml"
    commercial.write_text(out)
    code, _out, err = run_cli(capsys, "offer", "optimise", str(commercial))
    assert code != 0 and "rental and flip" in err and "Traceback" not in err
    code, _out, err = run_cli(capsys, "offer", "portfolio", str(tmp_path / "none"), "--budget", "1")
    assert code != 0 and "no such file or directory" in err
