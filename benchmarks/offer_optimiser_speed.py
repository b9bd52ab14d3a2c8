"""Offer optimiser speed: one property, a 20-point frontier, a portfolio of 500 candidates.

    PYTHONPATH=src .venv/bin/python benchmarks/offer_optimiser_speed.py [--repeats 5]

Targets (issue 14, part 5): one property solves in < 0.5 s; a frontier of 20 points in
< 2 s (the solve and its frontier); a portfolio of 500 candidate properties under one
capital limit in < 10 s. Each figure is the median of ``--repeats`` runs over a seeded set
of deals (rental and flip alternate; a single-property figure is the median over the
deals of one run, the whole set re-run each repeat). The machine's load average is printed
beside them because a shared machine slows every one of them; the portfolio's CPU time
(this process: candidate offers and the single-worker CP-SAT solve) is printed too, as it
moves far less with the load than wall-clock time does.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from typing import Any

from reos.underwriting.deal import parse_deal
from reos.underwriting.optimiser import Candidate, optimise_offer, optimise_portfolio

CONSTRAINTS_RENTAL = {"min_dscr": 1.2}
CONSTRAINTS_FLIP = {"min_profit": 15_000}


def deals(n: int, seed: int = 5) -> list[tuple[dict[str, Any], dict[str, float]]]:
    """``n`` varied deals (rental and flip alternating), each with its constraints."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        price = rng.randrange(80_000, 600_000, 500)
        if i % 2 == 0:
            rental = {
                "strategy": "rental",
                "purchase_price": price,
                "closing_costs": round(price * rng.uniform(0.01, 0.03)),
                "gross_rent_monthly": round(price * rng.uniform(0.007, 0.011)),
                "property_tax_annual": round(price * 0.012),
                "insurance_annual": round(price * 0.005),
                "management_rate": 0.08,
                "maintenance_rate": 0.05,
                "loan": {"ltv": 0.75, "rate": rng.uniform(0.055, 0.075), "amort_years": 30},
            }
            out.append((rental, CONSTRAINTS_RENTAL))
        else:
            arv = round(price * rng.uniform(1.35, 1.7))
            flip = {
                "strategy": "flip",
                "arv": arv,
                "purchase_price": price,
                "closing_costs": round(price * 0.02),
                "rehab_cost": round(price * rng.uniform(0.1, 0.25)),
                "holding_months": rng.choice([4, 6, 8]),
                "holding_costs_monthly": round(price * 0.004),
                "loan": {"amount": round(price * 0.8), "rate": 0.11, "points": 0.02},
            }
            out.append((flip, CONSTRAINTS_FLIP))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--singles", type=int, default=20)
    args = parser.parse_args()
    singles = [(parse_deal(d), c) for d, c in deals(args.singles)]
    one: list[float] = []
    front: list[float] = []
    evaluations: list[int] = []
    for _ in range(args.repeats):
        for deal, constraints in singles:
            budget = float(deal.purchase_price) * 0.6  # type: ignore[attr-defined]
            start = time.perf_counter()
            result = optimise_offer(deal, constraints=constraints, budget=budget)
            one.append(time.perf_counter() - start)
            evaluations.append(result.evaluations)
            start = time.perf_counter()
            optimise_offer(deal, constraints=constraints, budget=budget, frontier=20)
            front.append(time.perf_counter() - start)
    portfolio = [
        Candidate(f"deal-{i}", parse_deal(d), None, c) for i, (d, c) in enumerate(deals(500, 7))
    ]
    port: list[float] = []
    port_cpu: list[float] = []
    last = None
    for _ in range(args.repeats):
        start, cpu = time.perf_counter(), time.process_time()
        last = optimise_portfolio(portfolio, budget=5_000_000)
        port.append(time.perf_counter() - start)
        port_cpu.append(time.process_time() - cpu)
    assert last is not None
    load = os.getloadavg()[0]
    print(f"load average (1 min): {load:.2f}; medians of {args.repeats} runs")
    print(f"{'figure':<44}{'median':>10}{'max':>10}{'target':>10}")
    print(f"{'one property (s)':<44}{statistics.median(one):>10.3f}{max(one):>10.3f}{'< 0.5':>10}")
    print(
        f"{'one property + 20-point frontier (s)':<44}"
        f"{statistics.median(front):>10.3f}{max(front):>10.3f}{'< 2':>10}"
    )
    print(
        f"{'portfolio of 500 candidates (s)':<44}"
        f"{statistics.median(port):>10.3f}{max(port):>10.3f}{'< 10':>10}"
    )
    print(
        f"{'portfolio of 500 candidates, CPU (s)':<44}"
        f"{statistics.median(port_cpu):>10.3f}{max(port_cpu):>10.3f}{'':>10}"
    )
    print(
        f"engine evaluations per property: median {statistics.median(evaluations):.0f}; "
        f"portfolio: {len(last.chosen)} offers chosen from {last.options} options, "
        f"capital ${last.capital_used:,} of ${last.budget:,}, expected profit "
        f"${last.expected_profit:,.0f}, solver {last.status}"
    )


if __name__ == "__main__":
    main()
