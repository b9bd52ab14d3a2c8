"""Several markets in one organisation: does a house keep its value, inside its interval?

    PYTHONPATH=src .venv/bin/python benchmarks/avm_markets.py

Trains three organisations on the engine's sales frame (cut-off 2010-01-01): Ames alone,
Sacramento alone, and one holding Ames + Sacramento + a third market simulated far from
both (700 Ames homes moved to central Florida, 1.6x the price level, rising 5 %/year).
``--far-years-earlier N`` dates the third market N years earlier (an older county's sales in
the same store, the configuration issue 13 reported). Values 25 Ames sales of 2010 (at their sale dates) and 25 Sacramento homes (at 2008-07-01)
in each, and prints: values outside their own 80 % interval, and the median and largest
ratio of a house's value in the mixed organisation to its value in its one-market one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from avm_frames import ames_frame, sacramento_frame  # noqa: E402

from reos.valuation.engine import train, value_many  # noqa: E402


def far_market(ames: pd.DataFrame, years_earlier: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(4)
    frame = ames.sample(n=700, random_state=21).reset_index(drop=True).copy()
    frame["sale_id"] = [f"far-{i}" for i in range(len(frame))]
    frame["property_id"] = [f"far-p{i}" for i in range(len(frame))]
    frame["latitude"] = frame["latitude"] - 42.03 + 28.54
    frame["longitude"] = frame["longitude"] + 93.63 - 81.38
    years = (frame["close_date"] - pd.Timestamp("2006-01-01")).dt.days / 365.25
    frame["sale_price"] = (
        frame["sale_price"] * 1.6 * np.exp(0.05 * years + rng.normal(0, 0.03, len(frame)))
    )
    frame["neighborhood"] = "FL_" + frame["neighborhood"].astype(str)
    frame["close_date"] = frame["close_date"] - pd.DateOffset(years=years_earlier)
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--far-years-earlier",
        type=int,
        default=0,
        help="date the simulated third market this many years earlier (an older county's "
        "sales in the same store, as in issue 13)",
    )
    args = parser.parse_args()
    ames = ames_frame()
    sac = sacramento_frame()
    train_ames = ames[ames["close_date"] < "2010-01-01"].reset_index(drop=True)
    mixed = pd.concat(
        [ames, sac, far_market(train_ames, args.far_years_earlier)], ignore_index=True
    )
    hold = ames[ames["close_date"] >= "2010-01-01"].head(25)
    ames_subj = hold.drop(columns=["sale_price"])
    ames_dates = list(hold["close_date"])
    sac_subj = sac.sample(n=25, random_state=2).drop(columns=["sale_price"])
    sac_subj = sac_subj.assign(property_id=[f"new-{i}" for i in range(25)])
    alone = value_many(train(ames, "2010-01-01"), ames_subj, ames_dates, ames) + value_many(
        train(sac, "2010-01-01"), sac_subj, "2008-07-01", sac
    )
    together = value_many(
        train(mixed, "2010-01-01"),
        pd.concat([ames_subj, sac_subj], ignore_index=True),
        ames_dates + [pd.Timestamp("2008-07-01")] * 25,
        mixed,
    )
    for name, vals in (("one-market orgs", alone), ("mixed org", together)):
        outside = sum(
            1 for v in vals if not v.interval_80[0] <= v.estimated_value <= v.interval_80[1]
        )
        print(f"{name}: {outside} of {len(vals)} values outside their own 80% interval")
    ratio = np.array(
        [t.estimated_value / a.estimated_value for t, a in zip(together, alone, strict=True)]
    )
    for label, part in (("Ames", ratio[:25]), ("Sacramento", ratio[25:])):
        print(
            f"{label}: value in mixed org / value in one-market org: median {np.median(part):.4f}, "
            f"largest difference {100 * np.max(np.abs(part - 1)):.2f}%"
        )


if __name__ == "__main__":
    main()
