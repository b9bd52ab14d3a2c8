"""Underwriting speed: rental underwritings per second, maximum-offer latency and (when the
commercial engine is in the build) a 200-lease, 10-year commercial DCF.

    PYTHONPATH=src .venv/bin/python benchmarks/underwriting_speed.py [--repeats 5] [--json FILE]

Targets (issue 14): 10,000 rental underwritings at ≥ 2,000/s (each one a deal file's mapping
checked whole and underwritten, as ``analyse_deal`` does for the CLI and the API); a maximum
offer in < 50 ms (median); a commercial DCF of 200 leases over 10 years in < 200 ms
(median). Every figure printed is the median of ``--repeats`` runs; the machine's load
average is printed beside them because a shared machine slows every one of them.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import statistics
import time
from pathlib import Path
from typing import Any

from reos.underwriting.deal import analyse, analyse_deal, parse_deal
from reos.underwriting.offers import max_offer

RENTALS = 10_000
OFFERS = 40
CONSTRAINTS = {"min_dscr": 1.25, "min_cash_on_cash": 0.05, "min_irr_levered": 0.10}


def rental_deals(n: int, seed: int = 14) -> list[dict[str, Any]]:
    """``n`` varied, valid rental deal files (a seeded mix of cash and financed deals)."""
    rng = random.Random(seed)
    deals = []
    for _ in range(n):
        price = rng.randrange(60_000, 900_000, 500)
        deal: dict[str, Any] = {
            "strategy": "rental",
            "purchase_price": price,
            "closing_costs": round(price * rng.uniform(0.01, 0.03)),
            "rehab_cost": rng.choice([0, 5_000, 15_000, 40_000]),
            "gross_rent_monthly": round(price * rng.uniform(0.006, 0.011)),
            "other_income_monthly": rng.choice([0, 25, 100]),
            "vacancy_rate": rng.choice([0.03, 0.05, 0.08]),
            "property_tax_annual": round(price * rng.uniform(0.008, 0.025)),
            "insurance_annual": rng.randrange(600, 3_000),
            "management_rate": rng.choice([0, 0.08, 0.1]),
            "maintenance_rate": 0.05,
            "capex_rate": 0.05,
            "hold_years": rng.choice([5, 7, 10, 15]),
        }
        if rng.random() < 0.8:
            deal["loan"] = {
                "ltv": rng.choice([0.7, 0.75, 0.8]),
                "rate": rng.uniform(0.05, 0.08),
                "amort_years": rng.choice([15, 30]),
                "points": rng.choice([0, 0.01]),
            }
        if rng.random() < 0.5:
            deal["exit_cap_rate"] = rng.uniform(0.05, 0.08)
        deals.append(deal)
    return deals


def commercial_deal(leases: int = 200, seed: int = 14) -> dict[str, Any]:
    """A 10-year commercial deal with ``leases`` suites (a tenth of them vacant), in the
    contract's field names."""
    rng = random.Random(seed)
    rent_roll: list[dict[str, Any]] = []
    for i in range(leases):
        area = rng.randrange(800, 12_000, 100)
        if i % 10 == 9:
            rent_roll.append({"tenant": None, "area_sf": area})
            continue
        start_year = rng.randrange(2018, 2026)
        start_month = rng.randrange(1, 13)
        term = rng.randrange(3, 11)
        end_year, end_month = start_year + term, start_month - 1 or 12
        if end_month == 12:
            end_year -= 1
        if end_year < 2026:
            end_year = 2026 + rng.randrange(0, 3)
        rent_roll.append(
            {
                "tenant": f"Tenant {i}",
                "area_sf": area,
                "rent_psf_annual": round(rng.uniform(18, 40), 2),
                "start": f"{start_year}-{start_month:02d}",
                "end": f"{end_year}-{end_month:02d}",
                "escalation": rng.choice([0.02, 0.025, 0.03]),
            }
        )
    return {
        "strategy": "commercial",
        "purchase_price": 95_000_000,
        "closing_costs": 900_000,
        "analysis_start": "2026-01",
        "hold_years": 10,
        "leases": rent_roll,
        "market": {
            "rent_psf_annual": 30.0,
            "rent_growth": 0.03,
            "renewal_probability": 0.7,
            "downtime_months": 6,
            "free_rent_months_new": 4,
            "free_rent_months_renew": 1,
            "ti_psf_new": 40.0,
            "ti_psf_renew": 10.0,
            "lc_rate_new": 0.06,
            "lc_rate_renew": 0.03,
            "term_years": 5,
            "escalation": 0.03,
        },
        "credit_loss_rate": 0.01,
        "opex_psf_annual": 9.5,
        "reserves_psf_annual": 0.25,
        "exit_cap_rate": 0.07,
        "discount_rate": 0.08,
    }


def measure(repeats: int) -> dict[str, Any]:
    out: dict[str, Any] = {"load_avg_1m_before": round(os.getloadavg()[0], 2)}
    deals = rental_deals(RENTALS)
    for deal in deals[:200]:  # warm up imports and caches
        analyse_deal(deal)
    rates, cpu_rates = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        for deal in deals:
            analyse_deal(deal)
        rates.append(RENTALS / (time.perf_counter() - t0))
        cpu_rates.append(RENTALS / (time.process_time() - c0))
    out["rental_underwritings_per_s"] = round(statistics.median(rates))
    out["rental_runs_per_s"] = [round(r) for r in rates]
    # per second of this process's own CPU time: what one free core does, whatever the load
    out["rental_underwritings_per_cpu_s"] = round(statistics.median(cpu_rates))

    parsed = [parse_deal(d) for d in rental_deals(OFFERS, seed=41) if "loan" in d]
    medians = []
    for _ in range(repeats):
        times = []
        for deal in parsed:
            t0 = time.perf_counter()
            max_offer(deal, CONSTRAINTS)
            times.append(time.perf_counter() - t0)
        medians.append(statistics.median(times))
    out["max_offer_median_ms"] = round(1000 * statistics.median(medians), 1)
    c0 = time.process_time()
    for deal in parsed:
        max_offer(deal, CONSTRAINTS)
    out["max_offer_cpu_ms_each"] = round(1000 * (time.process_time() - c0) / len(parsed), 1)
    out["max_offer_deals"] = len(parsed)

    if importlib.util.find_spec("reos.underwriting.commercial") is None:
        out["commercial"] = "skipped: reos.underwriting.commercial is not in this build"
    else:
        try:
            deal = parse_deal(commercial_deal())
        except Exception as exc:  # the other engine's model may name a field differently
            out["commercial"] = f"skipped: the 200-lease deal was refused: {exc}"
        else:
            analyse(deal)
            times = []
            for _ in range(max(repeats, 5)):
                t0 = time.perf_counter()
                analyse(deal)
                times.append(time.perf_counter() - t0)
            out["commercial_200_leases_10y_median_ms"] = round(1000 * statistics.median(times), 1)
            t0 = time.perf_counter()
            offer = max_offer(deal, {"min_going_in_cap": 0.06, "min_irr_unlevered": 0.07})
            out["commercial_max_offer_ms"] = round(1000 * (time.perf_counter() - t0), 1)
            out["commercial_max_offer"] = offer.max_offer
    out["load_avg_1m_after"] = round(os.getloadavg()[0], 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    figures = measure(args.repeats)
    targets = {
        "rental_underwritings_per_s": "≥ 2,000",
        "max_offer_median_ms": "< 50",
        "commercial_200_leases_10y_median_ms": "< 200",
    }
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        target = targets.get(key, "")
        print(f"{key:<{width}}  {value!s:>12}  {('target ' + target) if target else ''}")
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
