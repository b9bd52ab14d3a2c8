"""Commercial DCF speed: a 200-lease rent roll over a 10-year hold (132 months).

Run: ``.venv/bin/python benchmarks/commercial_speed.py [--leases 200] [--years 10] [--runs 21]``

Times ``analyse_commercial`` (every lease and successor, monthly arrays, the annual table,
metrics, IRR and the lease-by-lease audit) and, separately, reading the deal file into a
validated ``CommercialDeal``; prints the median and the slowest of ``--runs`` runs after one
warm-up. The rent roll is seeded: in-place leases started up to 6 years before the analysis
and ending over the next 10 years (so most roll once or twice), 10% vacant suites.
Target: < 200 ms per DCF.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from typing import Any

from reos.underwriting.commercial import CommercialDeal, analyse_commercial, month_label

TARGET_MS = 200.0


def rent_roll_deal(n_leases: int, years: int, seed: int = 14) -> dict[str, Any]:
    rng = random.Random(seed)
    first = 2025 * 12
    leases: list[dict[str, Any]] = []
    for i in range(n_leases):
        area = rng.randint(800, 25_000)
        if rng.random() < 0.1:
            leases.append({"suite": f"S{i:03d}", "tenant": None, "area_sf": area})
            continue
        start = first - rng.randint(0, 72) + (rng.randint(1, 6) if rng.random() < 0.05 else 0)
        end = max(start, first) + rng.randint(0, 12 * years)
        leases.append(
            {
                "suite": f"S{i:03d}",
                "tenant": f"Tenant {i}",
                "area_sf": area,
                "rent_psf_annual": round(rng.uniform(18, 45), 2),
                "start": month_label(start),
                "end": month_label(end),
                "escalation": rng.choice([0.0, 0.02, 0.025, 0.03]),
            }
        )
    return {
        "strategy": "commercial",
        "purchase_price": 120_000_000,
        "closing_costs": 1_200_000,
        "analysis_start": month_label(first),
        "hold_years": years,
        "leases": leases,
        "market": {
            "rent_psf_annual": 36,
            "rent_growth": 0.03,
            "renewal_probability": 0.7,
            "downtime_months": 6,
            "free_rent_months_new": 6,
            "free_rent_months_renew": 2,
            "ti_psf_new": 45,
            "ti_psf_renew": 15,
            "lc_rate_new": 0.06,
            "lc_rate_renew": 0.03,
            "term_years": 5,
            "escalation": 0.03,
        },
        "credit_loss_rate": 0.01,
        "opex_psf_annual": 9,
        "reserves_psf_annual": 0.25,
        "exit_cap_rate": 0.065,
        "discount_rate": 0.08,
    }


def _timed_ms(fn: Any, runs: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000.0)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leases", type=int, default=200)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args(argv)

    data = rent_roll_deal(args.leases, args.years)
    deal = CommercialDeal.model_validate(data)
    result = analyse_commercial(deal)
    dcf = _timed_ms(lambda: analyse_commercial(deal), args.runs)
    read = _timed_ms(lambda: CommercialDeal.model_validate(data), args.runs)
    both = _timed_ms(lambda: analyse_commercial(CommercialDeal.model_validate(data)), args.runs)

    rows = [
        ("leases and successors", f"{len(result.detail['leases'])}", ""),
        ("DCF median (ms)", f"{statistics.median(dcf):.1f}", f"< {TARGET_MS:.0f}"),
        ("DCF slowest (ms)", f"{max(dcf):.1f}", ""),
        ("read deal file median (ms)", f"{statistics.median(read):.1f}", ""),
        ("read + DCF median (ms)", f"{statistics.median(both):.1f}", f"< {TARGET_MS:.0f}"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"commercial DCF: {args.leases} leases, {args.years}-year hold, {args.runs} runs")
    print(f"{'measure'.ljust(width)}  {'value':>10}  target")
    for name, value, target in rows:
        print(f"{name.ljust(width)}  {value:>10}  {target}")
    return 0 if statistics.median(both) < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
