"""How valuation error grows with comp distance, comp age and adjustment, and the limits
chosen from it (the defaults of ``REOS_AVM_*`` in ``reos.config``, used by
``reos.valuation.limits``).

    PYTHONPATH=src .venv/bin/python benchmarks/comp_limits.py [--json /tmp/comp_limits.json]

Four out-of-time experiments on the Ames sample (sales frame from ``avm_frames.py``):

1. **natural**: the rolling windows of the backtest (train before Y, value every screened
   sale of year Y as of its sale date; Y = 2008, 2009, 2010). Comps are as near, recent and
   similar as the market allows, so this sets the reference error and shows how error grows
   with the gross adjustment.
2. **far** (leave a region out): Ames cut into 6 regions (k-means on sale coordinates). For
   each region, the model is trained and the comps drawn only from sales OUTSIDE the region
   (and outside a buffer of 0 or 1,500 m around it), then the region's sales are valued:
   the case of an address in a place with no sales of its own, where comps are far and the
   hedonic model's location features extrapolate.
3. **old** (a model and comps frozen at a cut-off): train on sales before C and value the
   later sales with comps from before C only (C = 2007-01-01, 2008-01-01): "today" valued
   from a store whose newest sales are months or years old.
4. **sparse**: the natural windows' subjects again with fields blanked: only what a typed
   address usually has (living area, year built, beds, full baths, lot), that plus what the
   API's subject can carry, and each field blanked at random with probability 5, 15, 30 %.
   The subject's missing share (of the hedonic model's split gain) is what the missing-field
   limits read.

Each valuation's comp set is summarised the way the grade reads it (median distance, median
age in months, median gross adjustment of the top comps, from ``method``), with the share of
the model's split gain the subject lacks (``method.limits``). Errors are
grouped by bucket of each summary: n, MdAPE, PPE10, median ratio, 80 % interval coverage.

Rule that turns the tables into limits (printed with the figures that chose them):
reference = MdAPE of all natural valuations; for each summary, walking the buckets (of at
least MIN_BUCKET sales) upward from the most accurate one, the *down-grade* limit is the
upper edge of the last bucket before the first whose MdAPE exceeds ``DOWNGRADE_FACTOR`` x reference, and the *refusal*
limit the upper edge of the last bucket before the first whose MdAPE exceeds
``REFUSE_FACTOR`` x reference (about the error of the plain $/sqft baseline); when no bucket
exceeds it, the refusal limit is the largest value measured (in the last bucket of at least
MIN_BUCKET sales): beyond the evidence, the engine does not vouch for a value.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.cluster.vq import kmeans2

sys.path.insert(0, str(Path(__file__).resolve().parent))

from avm_frames import ames_frame  # noqa: E402

from reos.config import Settings  # noqa: E402
from reos.valuation.backtest import holdout_screen  # noqa: E402
from reos.valuation.engine import train, value_many  # noqa: E402
from reos.valuation.limits import CompLimits, judge  # noqa: E402
from reos.valuation.sales_frame import prepare_frame  # noqa: E402
from reos.valuation.trust import arm_length_allows  # noqa: E402

UNLIMITED = CompLimits.unlimited()
# Fields never blanked (ids, the sale itself, where the property is, its size).
KEEP_ALWAYS = {
    "sale_id",
    "property_id",
    "close_date",
    "close_date_precision",
    "sale_price",
    "arm_length",
    "sale_condition",
    "sale_type",
    "latitude",
    "longitude",
    "property_type",
    "address",
    "living_area_sqft",  # required: a subject without it is refused before any limit
}
# What a user typing an address usually knows, and what the API's subject can add.
TYPED_ADDRESS = ("living_area_sqft", "year_built", "beds", "baths_full", "lot_size_sqft")
TYPED_SUBJECT = (
    "baths_half",
    "stories",
    "quality",
    "condition",
    "garage_spaces",
    "neighborhood",
    "year_remodeled",
    "pool",
)
MIN_BUCKET = 30
DOWNGRADE_FACTOR = 1.25
REFUSE_FACTOR = 2.0
DISTANCE_EDGES_M = [0, 400, 800, 1600, 2400, 3200, 4800, 6400, 8000]
MONTHS_EDGES = [0, 3, 6, 12, 18, 24, 36, 48, 60]
GROSS_EDGES_PCT = [0, 15, 25, 40, 60, 80, 100, 125, 150, 200, 300]
MISSING_EDGES_PCT = [0, 0.5, 1, 2, 5, 10, 20, 40, 60, 80]


def _screened(frame: pd.DataFrame, cut: str, end: str | None = None) -> pd.DataFrame:
    prepared = prepare_frame(frame, require_price=True).reset_index(drop=True)
    cut_day = float(np.datetime64(cut, "D").astype("int64"))
    train_mask = (prepared["latest_close_day"] < cut_day).to_numpy()
    keep = (prepared["close_day"] >= cut_day).to_numpy().copy()
    if end is not None:
        keep &= (prepared["close_day"] < float(np.datetime64(end, "D").astype("int64"))).to_numpy()
    hold = prepared[keep & prepared["sale_price"].notna().to_numpy()]
    hold = hold[arm_length_allows(hold["arm_length"].to_numpy(dtype=object))]
    return hold[holdout_screen(prepared[train_mask], hold)]


def _valuations(
    experiment: str, model: Any, frame: pd.DataFrame, hold: pd.DataFrame, pool: pd.DataFrame
) -> pd.DataFrame:
    subjects = frame.loc[hold.index].drop(columns=["sale_price"])
    vals = value_many(model, subjects, list(hold["close_date"]), pool, limits=UNLIMITED)
    price = hold["sale_price"].to_numpy(dtype="float64")
    rows = []
    for v, s in zip(vals, price, strict=True):
        m = v.method
        rows.append(
            {
                "experiment": experiment,
                "ratio": v.estimated_value / s,
                "ape": abs(v.estimated_value - s) / s,
                "covered": v.interval_80[0] <= s <= v.interval_80[1],
                "grade": v.confidence,
                "n_comps": v.n_comps,
                "median_distance_m": m.get("median_distance_m", np.nan),
                "median_months": m.get("median_months", np.nan),
                "median_gross_pct": m.get("median_gross_adjustment_pct", np.nan),
                "missing_pct": m["limits"]["missing_importance_pct"],
            }
        )
    return pd.DataFrame(rows)


def natural(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The natural windows, and the same subjects with fields blanked ("sparse")."""
    out, sparse_out = [], []
    rng = np.random.default_rng(29)
    fields = [c for c in frame.columns if c not in KEEP_ALWAYS]
    for year in (2008, 2009, 2010):
        cut = f"{year}-01-01"
        hold = _screened(frame, cut, f"{year + 1}-01-01")
        model = train(frame[frame["close_date"] < cut], cut)
        out.append(_valuations(f"natural {year}", model, frame, hold, frame))
        print(f"  natural {year}: {len(hold)} valued", flush=True)
        variants: list[tuple[str, Any]] = [
            ("typed address", set(TYPED_ADDRESS)),
            ("typed subject", set(TYPED_ADDRESS) | set(TYPED_SUBJECT)),
            *[(f"random {p:.0%}", p) for p in (0.05, 0.15, 0.3)],
        ]
        for name, keep in variants:
            blanked = frame.loc[hold.index].copy()
            for c in fields:
                drop = (
                    np.full(len(blanked), c not in keep)
                    if isinstance(keep, set)
                    else rng.random(len(blanked)) < keep
                )
                if drop.any():
                    blanked[c] = blanked[c].where(~drop)
            part = _valuations(f"sparse {year} {name}", model, blanked, hold, frame)
            sparse_out.append(part)
        print(f"  sparse {year}: {len(variants)} variants", flush=True)
    return pd.concat(out, ignore_index=True), pd.concat(sparse_out, ignore_index=True)


def _metres(lat: np.ndarray, lon: np.ndarray, lat0: float, lon0: float) -> np.ndarray:
    k = 111_320.0
    return np.column_stack([(lon - lon0) * k * np.cos(np.radians(lat0)), (lat - lat0) * k])


def far(
    frame: pd.DataFrame, regions: int = 6, buffers: tuple[float, ...] = (0.0, 1500.0)
) -> pd.DataFrame:
    cut = "2009-07-01"
    located = frame["latitude"].notna() & frame["longitude"].notna()
    f = frame[located]
    lat0, lon0 = float(f["latitude"].mean()), float(f["longitude"].mean())
    xy = _metres(f["latitude"].to_numpy(float), f["longitude"].to_numpy(float), lat0, lon0)
    _, label = kmeans2(xy, regions, seed=17, minit="++")
    hold_all = _screened(frame, cut)
    out = []
    for r in range(regions):
        inside = f.index[label == r]
        in_xy = xy[label == r]
        for buffer in buffers:
            d = np.min(
                np.linalg.norm(xy[:, None, :] - in_xy[None, ::7, :], axis=2), axis=1
            )  # distance to the region (every 7th of its sales: enough at Ames density)
            outside = f.index[(label != r) & (d > buffer)]
            known = frame.loc[outside]
            hold = hold_all[hold_all.index.isin(inside)]
            if len(hold) < 10:
                continue
            model = train(known[known["close_date"] < cut], cut)
            out.append(_valuations(f"far r{r} +{buffer:.0f}m", model, frame, hold, known))
            print(f"  far region {r} buffer {buffer:.0f} m: {len(hold)} valued", flush=True)
    return pd.concat(out, ignore_index=True)


def old(frame: pd.DataFrame) -> pd.DataFrame:
    out = []
    for cut in ("2007-01-01", "2008-01-01"):
        known = frame[frame["close_date"] < cut]
        hold = _screened(frame, cut)
        model = train(known, cut)
        out.append(_valuations(f"old {cut}", model, frame, hold, known))
        print(f"  old {cut}: {len(hold)} valued", flush=True)
    return pd.concat(out, ignore_index=True)


def summary(group: pd.DataFrame) -> dict[str, float]:
    return {
        "n": len(group),
        "mdape": float(group["ape"].median()),
        "ppe10": float((group["ape"] <= 0.10).mean()),
        "median_ratio": float(group["ratio"].median()),
        "coverage_80": float(group["covered"].mean()),
    }


def buckets(data: pd.DataFrame, column: str, edges: list[float]) -> list[dict[str, Any]]:
    values = data[column].to_numpy(dtype="float64")
    rows = []
    top = [*edges[1:], np.inf]
    for lo, hi in zip(edges, top, strict=True):
        m = (values >= lo) & (values < hi)
        if m.any():
            rows.append(
                {"from": lo, "to": hi, "largest": float(values[m].max()), **summary(data[m])}
            )
    return rows


def choose(rows: list[dict[str, Any]], reference: float) -> tuple[float, float]:
    """(down-grade limit, refusal limit) by the rule of the module docstring.

    The walk starts at the most accurate bucket (few comps very near or very recent can be
    a sign of a thin market, so the error is not always smallest in the first bucket).
    """
    measured = [r for r in rows if r["n"] >= MIN_BUCKET]
    if not measured:
        return 0.0, 0.0
    best = int(np.argmin([r["mdape"] for r in measured]))
    downgrade = refuse = None
    for r in measured[best:]:
        if downgrade is None and r["mdape"] > DOWNGRADE_FACTOR * reference:
            downgrade = r["from"]
        if refuse is None and r["mdape"] > REFUSE_FACTOR * reference:
            refuse = r["from"]
    edge = measured[-1]["to"] if np.isfinite(measured[-1]["to"]) else measured[-1]["largest"]
    edge = min(edge, measured[-1]["largest"])
    return (downgrade if downgrade is not None else edge), (refuse if refuse is not None else edge)


def print_table(title: str, rows: list[dict[str, Any]], unit: str) -> None:
    print(f"\n{title}")
    print(f"{'bucket (' + unit + ')':<18}{'n':>6}{'MdAPE':>8}{'PPE10':>8}{'ratio':>8}{'cov80':>8}")
    for r in rows:
        hi = "+" if not np.isfinite(r["to"]) else f"{r['to']:g}"
        print(
            f"{r['from']:g}-{hi:<12}{r['n']:>6}{100 * r['mdape']:>7.1f}%"
            f"{100 * r['ppe10']:>7.1f}%{r['median_ratio']:>8.3f}{100 * r['coverage_80']:>7.1f}%"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write the tables and limits here")
    parser.add_argument("--raw", type=Path, help="write every valuation's figures here (CSV)")
    args = parser.parse_args()
    started = time.perf_counter()
    frame = ames_frame()
    print("valuing (natural, far, old) ...", flush=True)
    (nat, sparse), far_, old_ = natural(frame), far(frame), old(frame)
    everything = pd.concat([nat, far_, old_], ignore_index=True)
    if args.raw:
        pd.concat([everything, sparse], ignore_index=True).to_csv(args.raw, index=False)
    reference = float(nat["ape"].median())
    print(f"\nreference: natural windows 2008-2010, n={len(nat)}, MdAPE {100 * reference:.2f}%")
    print(
        f"down-grade above {DOWNGRADE_FACTOR} x reference = {100 * DOWNGRADE_FACTOR * reference:.2f}%; "
        f"refuse above {REFUSE_FACTOR} x reference = {100 * REFUSE_FACTOR * reference:.2f}%"
    )
    for name, part in (("natural", nat), ("far", far_), ("old", old_), ("sparse", sparse)):
        s = summary(part)
        print(
            f"  {name:<8} n={s['n']:>5}  MdAPE {100 * s['mdape']:.1f}%  PPE10 {100 * s['ppe10']:.1f}%  "
            f"coverage {100 * s['coverage_80']:.1f}%"
        )
    tables = {
        "median_distance_m": (buckets(everything, "median_distance_m", DISTANCE_EDGES_M), "m"),
        "median_months": (buckets(everything, "median_months", MONTHS_EDGES), "months"),
        "median_gross_pct": (buckets(everything, "median_gross_pct", GROSS_EDGES_PCT), "%"),
        "missing_pct": (
            buckets(pd.concat([nat, sparse]), "missing_pct", MISSING_EDGES_PCT),
            "% of gain",
        ),
    }
    limits: dict[str, dict[str, float]] = {}
    for column, (rows, unit) in tables.items():
        among = "natural, sparse" if column == "missing_pct" else "natural, far, old"
        print_table(f"error by {column} ({among})", rows, unit)
        down, refuse = choose(rows, reference)
        limits[column] = {"downgrade": down, "refuse": refuse}
        print(f"  -> down-grade above {down:g} {unit}; refuse above {refuse:g} {unit}")
    print("\nsparse subjects by variant (fields blanked):")
    variant = sparse["experiment"].str.split(" ", n=2).str[2]
    for name, part in sparse.groupby(variant, sort=False):
        s = summary(part)
        print(
            f"  {name:<14} n={s['n']:>5}  MdAPE {100 * s['mdape']:.1f}%  ratio "
            f"{s['median_ratio']:.3f}  coverage {100 * s['coverage_80']:.1f}%  missing "
            f"{part['missing_pct'].median():.1f}% of gain (median)"
        )
    print("\nby grade (natural, far, old):")
    for g, part in everything.groupby("grade"):
        s = summary(part)
        print(
            f"  {g}: n={s['n']:>5}  MdAPE {100 * s['mdape']:.1f}%  coverage {100 * s['coverage_80']:.1f}%"
        )
    print(f"\nchosen limits: {json.dumps(limits)}")
    configured = CompLimits.from_settings(Settings())
    print(
        "\neffect of the configured limits (REOS_AVM_*: distance "
        f"{configured.downgrade_distance_m:g}/{configured.refuse_distance_m:g} m, age "
        f"{configured.downgrade_months:g}/{configured.refuse_months:g} months, gross "
        f"{configured.downgrade_gross_pct:g}/{configured.refuse_gross_pct:g} %; down-grade/refuse):"
    )
    print(
        f"{'experiment':<10}{'n':>6}{'kept':>16}{'down-graded':>18}{'refused':>18}   coverage kept/down"
    )
    for name, part in (("natural", nat), ("far", far_), ("old", old_), ("sparse", sparse)):
        columns = ["median_distance_m", "median_months", "median_gross_pct", "missing_pct"]
        verdicts = [
            judge(
                "B",
                6,
                d,
                m,
                g,
                configured,
                missing_features=["x"] if x else [],
                missing_importance_pct=x,
            )
            for d, m, g, x in part[columns].fillna(0.0).itertuples(index=False)
        ]
        refused = np.array([v.refusal is not None for v in verdicts])
        lowered = np.array([bool(v.reasons) for v in verdicts]) & ~refused
        kept = ~refused & ~lowered

        def cell(mask: np.ndarray, part: pd.DataFrame = part) -> str:
            if not mask.any():
                return f"{0:>5}        -"
            share = 100 * mask.mean()
            return f"{share:>5.1f}% {100 * part['ape'][mask].median():>5.1f}%"

        cover = [part["covered"][m].mean() if m.any() else np.nan for m in (kept, lowered)]
        print(
            f"{name:<10}{len(part):>6}{cell(kept):>16}{cell(lowered):>18}{cell(refused):>18}"
            f"   {100 * cover[0]:.1f}% / {100 * cover[1]:.1f}%"
        )
    print("(each cell: share of the experiment's valuations, their MdAPE)")
    print(f"elapsed {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "reference_mdape": reference,
                    "tables": {k: v[0] for k, v in tables.items()},
                    "limits": limits,
                },
                indent=1,
                default=float,
            )
        )


if __name__ == "__main__":
    main()
