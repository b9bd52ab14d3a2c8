"""Ames AVM backtest (train 2006-2009, value 2010 sales) and speed measurements.

    .venv/bin/python benchmarks/avm_backtest.py --json /tmp/avm_backtest.json [--speed]

Prints one table (engine vs. ``lightgbm_hedonic`` and ``knn_ppsf`` baselines, untrimmed and
trimmed, 95 % bootstrap CIs). ``--speed`` adds: training time on 25,000 synthetic sales
(Ames rows resampled with jittered coordinates, dates and prices), batch valuations per
second, and single-valuation latency p50/p95 with a warm model.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from avm_frames import ames_frame, synthetic_frame  # noqa: E402

from reos.valuation import train, value, value_many  # noqa: E402
from reos.valuation.backtest import format_table, run_backtest  # noqa: E402


def speed(n_sales: int = 25_000, n_batch: int = 2_000, n_single: int = 100) -> dict[str, float]:
    frame = synthetic_frame(n_sales)
    cutoff = "2010-01-01"
    print(f"load average before speed run: {os.getloadavg()}", flush=True)
    t0 = time.perf_counter()
    model = train(frame[frame["close_date"] < cutoff], cutoff)
    t_train = time.perf_counter() - t0
    subjects = frame[frame["close_date"] >= cutoff].head(n_batch)
    subj = subjects.drop(columns=["sale_price"])
    value_many(model, subj.head(5), list(subjects["close_date"].head(5)), frame)  # warm pool cache
    t0 = time.perf_counter()
    value_many(model, subj, list(subjects["close_date"]), frame)
    t_batch = time.perf_counter() - t0
    lat = []
    for i in range(n_single):
        row = subj.iloc[i].to_dict()
        t0 = time.perf_counter()
        value(model, row, subjects["close_date"].iloc[i], frame)
        lat.append(time.perf_counter() - t0)
    return {
        "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
        "train_rows": float(model.metadata["rows"]["input"]),
        "train_s": round(t_train, 2),
        "batch_n": float(len(subj)),
        "batch_valuations_per_s": round(len(subj) / t_batch, 1),
        "single_p50_ms": round(1000 * float(np.percentile(lat, 50)), 1),
        "single_p95_ms": round(1000 * float(np.percentile(lat, 95)), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, help="write the full result as JSON here")
    parser.add_argument(
        "--speed", action="store_true", help="also measure training/valuation speed"
    )
    parser.add_argument("--draws", type=int, default=2000, help="bootstrap draws")
    args = parser.parse_args()
    result = run_backtest(ames_frame(), "2010-01-01", draws=args.draws)
    print(format_table(result))
    out = result.to_dict()
    if args.speed:
        out["speed"] = speed()
        print("speed:", out["speed"])
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=str))
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
