"""Deal score: does the learned model beat the default weights?

    PYTHONPATH=src .venv/bin/python benchmarks/deal_score_auc.py [--repeats 5] [--test 5000]

Simulated properties whose owner accepts an offer with a probability driven by motivation
(distress lists, recency of listing, absentee owner, years owned, tax arrears) and by the
discount of the price to the value, plus noise and two effects the additive default
weights cannot express: a deep discount matters only when the owner is motivated, and a
stale listing (over a year) motivates less than none. For each N (300, 1,000, 3,000
outcomes) and each repeat: ``learned.train`` on N outcomes (its own stratified 25%
holdout decides activation), then both the model and the default weights are judged on an
independent test set of ``--test`` properties. Medians over the repeats are printed, with
CPU and wall time and the load average (the machine is shared).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import time

from reos.dealflow import learned
from reos.dealflow.scoring import ScoreFeatures, auc, default_drivers


def simulate(n: int, seed: int) -> tuple[list[ScoreFeatures], list[bool]]:
    rng = random.Random(seed)
    features: list[ScoreFeatures] = []
    labels: list[bool] = []
    for _ in range(n):
        lists = rng.choice([0, 0, 0, 0, 1, 1, 1, 2, 2, 3, 4])
        days = rng.uniform(0, 700) if lists else None
        absentee = float(rng.random() < 0.3)
        years = rng.uniform(0, 40)
        arrears = rng.uniform(0, 15_000) if lists and rng.random() < 0.4 else None
        discount = rng.gauss(0, 15)
        grade = rng.choice([1, 2, 2, 3, 4])
        motivation = 0.5 * lists + 0.6 * absentee + 0.03 * years + (arrears or 0) / 10_000
        if days is not None:
            motivation += 0.6 if days <= 90 else (-0.4 if days > 365 else 0.0)
        motivated = motivation > 1.2
        logit = -2.2 + motivation + (0.06 if motivated else 0.005) * discount
        logit += -0.3 * (grade - 1) * (discount > 15)  # a "deep discount" on a weak value
        logit += rng.gauss(0, 0.5)
        features.append(
            ScoreFeatures(
                distress_lists=lists,
                stack_size=lists + absentee,
                days_since_listed=days,
                absentee=absentee,
                years_owned=years,
                tax_arrears=arrears,
                discount_pct=discount,
                avm_grade=grade,
                value_age_days=rng.uniform(0, 400),
            )  # fmt: skip
        )
        labels.append(rng.random() < 1 / (1 + math.exp(-logit)))
    return features, labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--test", type=int, default=5000)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
    print(f"{'N':>6} {'learned AUC':>12} {'default AUC':>12} {'learned wins':>13} "
          f"{'holdout: learned':>17} {'default':>8} {'train s (wall/CPU)':>19}")  # fmt: skip
    for n in (300, 1000, 3000):
        rows = []
        for r in range(args.repeats):
            features, labels = simulate(n, seed=1000 * n + r)
            test_f, test_l = simulate(args.test, seed=7_000_000 + 1000 * n + r)
            wall, cpu = time.perf_counter(), time.process_time()
            trained = learned.train(features, labels, seed=r)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            predicted = [p for p, _c in learned.predict(trained.booster, test_f)]
            default = [sum(d.points for d in default_drivers(f)) for f in test_f]
            rows.append(
                (auc(test_l, predicted), auc(test_l, default), trained.holdout_auc,
                 trained.default_auc, wall, cpu)
            )  # fmt: skip
        med = [statistics.median(col) for col in zip(*rows, strict=True)]
        wins = sum(1 for row in rows if row[0] > row[1])
        print(f"{n:>6} {med[0]:>12.3f} {med[1]:>12.3f} {wins:>9}/{len(rows):<3} "
              f"{med[2]:>17.3f} {med[3]:>8.3f} {med[4]:>9.2f}/{med[5]:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
