"""Out-of-time backtest of the AVM against two baselines, judged by a ratio study.

Design (valuation.md, "Holdout design"): train on sales before ``holdout_from``; value every
holdout sale as of its own sale date with a comps pool of all sales, from which retrieval
takes only sales known strictly before that date. Holdout sales earlier than a subject's
date MAY be comps - a real AVM would know them - but never the subject itself and never a
sale on or after the subject's date. No holdout sale is ever a training row.

Which holdout sales are valued: IAAO ratio studies exclude non-arm's-length sales. A sale
flagged ``arm_length`` True is valued; False is excluded; unknown is screened by a rule that
no evaluated model takes part in (:func:`holdout_screen`), computed from the training sales
before any model is trained, and the same screened set is used for the engine and every
baseline. Screening unknown sales against the engine's own estimate would drop exactly the
sales the engine gets wrong (sales chasing in reverse) and flatter it against the baselines.

Baselines, in the same run and on the same subjects:
* ``lightgbm_hedonic``: plain LightGBM on log price with the same features, trained on the
  same arm's-length training sales, no time adjustment; 80 % interval from LightGBM
  quantile models at 0.1 / 0.9.
* ``knn_ppsf``: median $/sqft of the 10 nearest prior sales (same rule for "prior") times the
  subject's living area; interval from the 10th / 90th percentile of their $/sqft.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from reos.valuation.engine import AvmModel, train, value_many
from reos.valuation.features import learn_feature_spec
from reos.valuation.hedonic import PARAMS, fit_booster
from reos.valuation.ratio_study import RatioStudy, ratio_study
from reos.valuation.sales_frame import day_of, prepare_frame
from reos.valuation.trust import arm_length_allows, learn_trust_rule

# The baseline is a fixed reference: plain LightGBM as first benchmarked (learning rate 0.05),
# kept independent of whatever the engine's own hyperparameters become.
BASELINE_PARAMS = dict(PARAMS, learning_rate=0.05)


@dataclass
class BacktestResult:
    """Ratio studies for the engine and baselines plus timings (seconds)."""

    holdout_from: str
    n_train_input: int
    n_holdout_valued: int
    n_holdout_excluded: int
    engine: RatioStudy
    baselines: dict[str, RatioStudy]
    timings: dict[str, float]
    model_metadata: dict[str, Any] = field(default_factory=dict)
    grades: dict[str, int] = field(default_factory=dict)
    values_outside_interval: int = 0
    label: str = ""
    # per model: (value, sale price, interval low, interval high, area) arrays, for pooling
    raw: dict[str, tuple[np.ndarray, ...]] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "holdout_from": self.holdout_from,
            "n_train_input": self.n_train_input,
            "n_holdout_valued": self.n_holdout_valued,
            "n_holdout_excluded": self.n_holdout_excluded,
            "engine": self.engine.to_dict(),
            "baselines": {k: v.to_dict() for k, v in self.baselines.items()},
            "timings": self.timings,
            "model_metadata": self.model_metadata,
            "confidence_grades": self.grades,
            "values_outside_interval": self.values_outside_interval,
            "label": self.label,
            "targets": target_check(self.engine),
        }


def run_backtest(
    sales: pd.DataFrame,
    holdout_from: date | str | pd.Timestamp,
    *,
    draws: int = 1000,
    holdout_to: date | str | pd.Timestamp | None = None,
) -> BacktestResult:
    """Train before ``holdout_from``, value the trusted sales on/after it (module docstring).

    ``holdout_to`` (exclusive) ends the holdout window (a rolling-origin window values one
    year); sales after it are dropped from the comps pool too, so nothing later is known.
    """
    cut = day_of(holdout_from)
    if holdout_to is not None:
        end = day_of(holdout_to)
        known = prepare_frame(sales, require_price=True)["close_day"].to_numpy() < end
        sales = sales.iloc[np.flatnonzero(known)].reset_index(drop=True)
    prepared = prepare_frame(sales, require_price=True).reset_index(drop=True)
    train_mask = (prepared["latest_close_day"] < cut).to_numpy()
    training = sales.iloc[np.flatnonzero(train_mask)]
    hold = prepared[
        (prepared["close_day"] >= cut).to_numpy() & prepared["sale_price"].notna().to_numpy()
    ]
    hold = hold[arm_length_allows(hold["arm_length"].to_numpy(dtype=object))]
    hold = hold[holdout_screen(prepared[train_mask], hold)]
    t0 = time.perf_counter()
    model = train(training, holdout_from)
    t_train = time.perf_counter() - t0
    subjects = sales.iloc[hold.index.to_numpy()].drop(columns=["sale_price"])
    dates = list(hold["close_date"])
    t0 = time.perf_counter()
    vals = value_many(model, subjects, dates, sales)
    t_value = time.perf_counter() - t0
    s = hold["sale_price"].to_numpy(dtype="float64")
    area_col = next((c for c in ("zip", "neighborhood") if hold[c].notna().any()), None)
    areas = None if area_col is None else hold[area_col].to_numpy(dtype=object)
    engine = ratio_study(
        np.array([v.estimated_value for v in vals]),
        s,
        np.array([v.interval_80[0] for v in vals]),
        np.array([v.interval_80[1] for v in vals]),
        areas=areas,
        draws=draws,
    )
    outside = sum(
        1 for v in vals if not (v.interval_80[0] <= v.estimated_value <= v.interval_80[1])
    )
    t0 = time.perf_counter()
    base_h = _lightgbm_baseline(prepared[train_mask], hold)
    base_k = _knn_baseline(prepared, hold)
    t_base = time.perf_counter() - t0
    baselines = {
        "lightgbm_hedonic": ratio_study(
            base_h[0], s, base_h[1], base_h[2], areas=areas, draws=draws
        ),
        "knn_ppsf": ratio_study(base_k[0], s, base_k[1], base_k[2], areas=areas, draws=draws),
    }
    grades: dict[str, int] = {}
    for v in vals:
        grades[v.confidence] = grades.get(v.confidence, 0) + 1
    area_arr = np.full(len(s), "unknown", dtype=object) if areas is None else areas
    raw: dict[str, tuple[np.ndarray, ...]] = {
        "engine": (
            np.array([v.estimated_value for v in vals]),
            s,
            np.array([v.interval_80[0] for v in vals]),
            np.array([v.interval_80[1] for v in vals]),
            area_arr,
        ),
        "lightgbm_hedonic": (base_h[0], s, base_h[1], base_h[2], area_arr),
        "knn_ppsf": (base_k[0], s, base_k[1], base_k[2], area_arr),
    }
    return BacktestResult(
        holdout_from=str(np.datetime64(int(cut), "D")),
        n_train_input=int(train_mask.sum()),
        n_holdout_valued=len(vals),
        n_holdout_excluded=int((prepared["close_day"] >= cut).sum() - len(vals)),
        engine=engine,
        baselines=baselines,
        timings={
            "train_s": round(t_train, 2),
            "valuation_s": round(t_value, 2),
            "valuations_per_s": round(len(subjects) / max(t_value, 1e-9), 1),
            "baselines_s": round(t_base, 2),
        },
        model_metadata=model.metadata,
        grades=grades,
        values_outside_interval=outside,
        raw=raw,
    )


def holdout_screen(train_frame: pd.DataFrame, hold: pd.DataFrame) -> np.ndarray:
    """Keep mask for holdout sales: True for flagged arm's-length sales, and for sales with an
    unknown flag whose price is not an outlier against the training-period market.

    Model-independent: the reference is the median log $/sqft (log price without living
    area) of arm's-length training sales in the sale's area (zip, else neighbourhood; global
    where an area has fewer than 10 sales); the spread is the MAD of the training sales' own
    deviations from their area medians; the cut is the trust rule's modified z-score 3.5
    (Iglewicz & Hoaglin). Computed before any model is trained, identical for all models.
    """
    unknown = hold["arm_length"].isna().to_numpy()
    if not unknown.any():
        return np.ones(len(hold), dtype=bool)
    tr = train_frame[arm_length_allows(train_frame["arm_length"].to_numpy(dtype=object))]
    tr = tr[tr["sale_price"].notna()]
    use_size = bool(tr["living_area_sqft"].notna().mean() >= 0.5)

    def level(f: pd.DataFrame) -> np.ndarray:
        v = np.log(f["sale_price"].to_numpy(dtype="float64"))
        if use_size:
            v = v - np.log(f["living_area_sqft"].to_numpy(dtype="float64"))
        return np.asarray(v, dtype="float64")

    area_col = next((c for c in ("zip", "neighborhood") if tr[c].notna().mean() >= 0.5), None)
    lv = level(tr)
    ok = np.isfinite(lv)
    global_med = float(np.median(lv[ok])) if ok.any() else float("nan")

    def reference(f: pd.DataFrame) -> np.ndarray:
        ref = np.full(len(f), global_med)
        if area_col is not None:
            stats = pd.DataFrame(
                {"a": tr[area_col].to_numpy(dtype=object)[ok], "v": lv[ok]}
            ).groupby("a")["v"]
            med = stats.median()[stats.size() >= 10]
            mapped = f[area_col].map(med).to_numpy(dtype="float64")
            ref = np.where(np.isfinite(mapped), mapped, ref)
        return ref

    dev_train = lv[ok] - reference(tr)[ok]
    rule = learn_trust_rule(dev_train)
    dev = level(hold) - reference(hold)
    outlier = np.where(np.isfinite(dev), rule.is_outlier(np.nan_to_num(dev)), False)
    return np.asarray(~(unknown & outlier), dtype=bool)


def _lightgbm_baseline(
    train_frame: pd.DataFrame, hold: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tr = train_frame[arm_length_allows(train_frame["arm_length"].to_numpy(dtype=object))]
    tr = tr[tr["sale_price"].notna()]
    spec = learn_feature_spec(tr)
    x, y = spec.matrix(tr), np.log(tr["sale_price"].to_numpy(dtype="float64"))
    days = tr["close_day"].to_numpy(dtype="float64")
    xh = spec.matrix(hold)
    booster, rounds = fit_booster(x, y, spec.categorical_indices, days, params=BASELINE_PARAMS)
    preds = [np.exp(booster.predict(xh))]
    for alpha in (0.1, 0.9):
        q, _ = fit_booster(
            x,
            y,
            spec.categorical_indices,
            days,
            params=dict(BASELINE_PARAMS, objective="quantile", alpha=alpha),
            rounds=rounds,
        )
        preds.append(np.exp(q.predict(xh)))
    return preds[0], preds[1], preds[2]


def _knn_baseline(
    prepared: pd.DataFrame, hold: pd.DataFrame, k: int = 10
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ok = prepared[
        prepared["latitude"].notna()
        & prepared["living_area_sqft"].notna()
        & prepared["sale_price"].notna()
        & arm_length_allows(prepared["arm_length"].to_numpy(dtype=object))
    ]
    lat0, lon0 = float(ok["latitude"].median()), float(ok["longitude"].median())

    def xy(f: pd.DataFrame) -> np.ndarray:
        return np.column_stack(
            [
                (f["longitude"].to_numpy(dtype="float64") - lon0) * np.cos(np.radians(lat0)),
                f["latitude"].to_numpy(dtype="float64") - lat0,
            ]
        )

    pts = xy(ok)
    ppsf = (ok["sale_price"] / ok["living_area_sqft"]).to_numpy(dtype="float64")
    latest = ok["latest_close_day"].to_numpy(dtype="float64")
    pid = ok["property_id"].to_numpy(dtype=object)
    tree = cKDTree(pts)
    out = np.full((len(hold), 3), np.nan)
    hxy = xy(hold)
    for i, (day, p, size) in enumerate(
        zip(hold["close_day"], hold["property_id"], hold["living_area_sqft"], strict=True)
    ):
        kk = min(200, len(pts))
        while True:
            _, loc = tree.query(hxy[i], k=kk)
            loc = np.atleast_1d(loc)
            loc = loc[(latest[loc] < day) & (pid[loc] != p)]
            if len(loc) >= k or kk >= len(pts):
                break
            kk = min(kk * 4, len(pts))
        v = ppsf[loc[:k]]
        if len(v):
            out[i] = np.array([np.median(v), np.quantile(v, 0.1), np.quantile(v, 0.9)]) * size
    fallback = float(np.nanmedian(out[:, 0])) if np.isfinite(out[:, 0]).any() else 1.0
    out = np.where(np.isfinite(out), out, fallback)
    return out[:, 0], out[:, 1], out[:, 2]


def format_table(result: BacktestResult) -> str:
    """One readable table: engine and baselines side by side, untrimmed and trimmed."""
    models = {"engine": result.engine, **result.baselines}
    rows = [
        ("n", "n", "{:.0f}"),
        ("MdAPE %", "mdape", "pct"),
        ("PPE5 %", "ppe5", "pct"),
        ("PPE10 %", "ppe10", "pct"),
        ("PPE20 %", "ppe20", "pct"),
        ("80% coverage %", "coverage_80", "pct"),
        ("median ratio", "median_ratio", "{:.3f}"),
        ("COD", "cod", "{:.2f}"),
        ("PRD", "prd", "{:.3f}"),
        ("PRB", "prb", "{:+.3f}"),
    ]
    head = f"{'statistic':<26}" + "".join(f"{name:>24}" for name in models)
    lines = [
        f"AVM backtest: holdout from {result.holdout_from}; {result.n_holdout_valued} sales valued, "
        f"{result.n_holdout_excluded} excluded (not arm's-length / untrusted)",
        head,
        "-" * len(head),
    ]
    for section, trimmed in (("", False), ("trimmed ", True)):
        for label, key, fmt in rows:
            cells = []
            for study in models.values():
                stats = study.trimmed if trimmed else study.stats
                v = stats.get(key, float("nan"))
                ci = None if trimmed else study.ci95.get(key)
                if fmt == "pct":
                    txt = f"{100 * v:.1f}" + (
                        f" [{100 * ci[0]:.1f},{100 * ci[1]:.1f}]" if ci else ""
                    )
                else:
                    txt = fmt.format(v) + (
                        f" [{fmt.format(ci[0])},{fmt.format(ci[1])}]" if ci else ""
                    )
                cells.append(f"{txt:>24}")
            lines.append(f"{section + label:<26}" + "".join(cells))
        if trimmed:
            lines.append(
                f"{'trimmed away':<26}" + "".join(f"{s.n_trimmed:>24}" for s in models.values())
            )
    lines.append(f"timings: {result.timings}; confidence grades: {result.grades}")
    q = result.engine.breakouts.get("price_quintile", {})
    if q:
        lines.append(
            "engine by price quintile: "
            + ", ".join(
                f"{k}: MdAPE {100 * v.get('mdape', float('nan')):.1f}% ratio {v.get('median_ratio', float('nan')):.3f}"
                for k, v in q.items()
            )
        )
    return "\n".join(lines)


# Targets of issue 13 for every window (IAAO ranges tightened to what a good AVM reaches).
TARGET_MEDIAN_RATIO = (0.98, 1.02)
TARGET_PRB = 0.05
TARGET_QUINTILE_RATIO = (0.95, 1.05)
MIN_HISTORY_MONTHS = 24
MIN_WINDOW_SALES = 50


def target_check(study: RatioStudy) -> dict[str, bool]:
    """Level and vertical-equity targets on one window: trimmed median ratio in
    0.98-1.02, |PRB| <= 0.05 and every price quintile's median ratio in 0.95-1.05."""
    med = study.trimmed.get("median_ratio", float("nan"))
    prb = study.stats.get("prb", float("nan"))
    quint = [
        v.get("median_ratio", float("nan"))
        for v in study.breakouts.get("price_quintile", {}).values()
    ]
    return {
        "trimmed_median_ratio": bool(TARGET_MEDIAN_RATIO[0] <= med <= TARGET_MEDIAN_RATIO[1]),
        "prb": bool(abs(prb) <= TARGET_PRB),
        "quintiles": bool(
            quint != []
            and all(TARGET_QUINTILE_RATIO[0] <= q <= TARGET_QUINTILE_RATIO[1] for q in quint)
        ),
    }


def rolling_years(
    sales: pd.DataFrame, *, min_history_months: int = MIN_HISTORY_MONTHS
) -> list[int]:
    """Calendar years Y with enough history for a rolling-origin window: at least
    ``min_history_months`` of sales before 1 January of Y, and at least
    ``MIN_WINDOW_SALES`` sales in Y to value."""
    prepared = prepare_frame(sales, require_price=True)
    dates = prepared["close_date"].dropna()
    if dates.empty:
        return []
    first = dates.min()
    years = []
    for y in range(int(first.year) + 1, int(dates.max().year) + 1):
        start = pd.Timestamp(year=y, month=1, day=1)
        months = (start.year - first.year) * 12 + (start.month - first.month)
        in_year = int(((dates >= start) & (dates < start + pd.DateOffset(years=1))).sum())
        if months >= min_history_months and in_year >= MIN_WINDOW_SALES:
            years.append(y)
    return years


def run_rolling(
    sales: pd.DataFrame, years: list[int] | None = None, *, draws: int = 1000
) -> list[BacktestResult]:
    """Rolling-origin backtest (Tashman, 2000): for each year Y, train on sales before
    1 January Y and value the sales of Y as of their own dates. Every window is scored on
    its own; nothing learned on one window's holdout is used for another (each window is a
    fresh ``train`` whose choices are made inside its own training window)."""
    out = []
    for y in years if years is not None else rolling_years(sales):
        result = run_backtest(sales, f"{y}-01-01", draws=draws, holdout_to=f"{y + 1}-01-01")
        result.label = f"value {y} (train before {y})"
        out.append(result)
    return out


def run_cross_fitted(
    sales: pd.DataFrame, *, folds: int = 4, seed: int = 11, draws: int = 1000
) -> BacktestResult:
    """Cross-sectional backtest for a market whose sales carry no usable dates (Sacramento
    2008: one month for every sale). Sales are split at random into ``folds``; each fold is
    moved one calendar month after the rest, valued by a model trained on the other folds
    (which are its only comps), and the folds are pooled into one ratio study. NOT an
    out-of-time test (random splits flatter a model, valuation.md): it checks level and
    vertical equity in a second market, not forecasting."""
    prepared = prepare_frame(sales, require_price=True)
    last = prepared["close_date"].max()
    later = (last + pd.offsets.MonthBegin(1)).normalize()
    rng = np.random.default_rng(seed)
    fold = rng.integers(0, folds, len(sales))
    parts: list[BacktestResult] = []
    for k in range(folds):
        frame = sales.copy()
        moved = fold == k
        frame["close_date"] = pd.to_datetime(frame["close_date"])
        frame.loc[moved, "close_date"] = later
        parts.append(run_backtest(frame, later, draws=0))
    return _pool_results(parts, draws=draws, label=f"{folds}-fold cross-fitted, one date")


def _pool_results(parts: list[BacktestResult], *, draws: int, label: str) -> BacktestResult:
    """One ratio study over the pooled valuations of several results (stored in the parts)."""

    def pooled(get: Callable[[BacktestResult], tuple[np.ndarray, ...]]) -> RatioStudy:
        cols = [np.concatenate([get(p)[i] for p in parts]) for i in range(5)]
        return ratio_study(cols[0], cols[1], cols[2], cols[3], areas=cols[4], draws=draws)

    grades: dict[str, int] = {}
    for p in parts:
        for g, n in p.grades.items():
            grades[g] = grades.get(g, 0) + n
    return BacktestResult(
        holdout_from=parts[0].holdout_from,
        n_train_input=int(np.mean([p.n_train_input for p in parts])),
        n_holdout_valued=sum(p.n_holdout_valued for p in parts),
        n_holdout_excluded=sum(p.n_holdout_excluded for p in parts),
        engine=pooled(lambda p: p.raw["engine"]),
        baselines={name: pooled(_raw_of(name)) for name in parts[0].baselines},
        timings={k: round(sum(p.timings[k] for p in parts), 2) for k in ("train_s", "valuation_s")},
        model_metadata=parts[0].model_metadata,
        grades=grades,
        values_outside_interval=sum(p.values_outside_interval for p in parts),
        label=label,
        raw={
            name: tuple(np.concatenate([p.raw[name][i] for p in parts]) for i in range(5))
            for name in parts[0].raw
        },
    )


def _raw_of(name: str) -> Callable[[BacktestResult], tuple[np.ndarray, ...]]:
    return lambda result: result.raw[name]


def _quintile_ratio(q: str) -> Callable[[RatioStudy], str]:
    def cell(study: RatioStudy) -> str:
        tier = study.breakouts.get("price_quintile", {}).get(q, {})
        return f"{tier.get('median_ratio', float('nan')):.3f}"

    return cell


def format_rolling(results: list[BacktestResult]) -> str:
    """One block per window: engine and the LightGBM baseline side by side, with the
    level / vertical-equity targets checked."""
    rows: list[tuple[str, Callable[[RatioStudy], str]]] = [
        ("n valued", lambda s: f"{s.stats.get('n', 0):.0f}"),
        ("MdAPE %", lambda s: f"{100 * s.stats['mdape']:.1f}"),
        ("PPE10 %", lambda s: f"{100 * s.stats['ppe10']:.1f}"),
        ("COD", lambda s: f"{s.stats['cod']:.2f}"),
        ("trimmed COD", lambda s: f"{s.trimmed['cod']:.2f}"),
        ("median ratio", lambda s: f"{s.stats['median_ratio']:.3f}"),
        ("trimmed median ratio", lambda s: f"{s.trimmed['median_ratio']:.3f}"),
        ("PRD", lambda s: f"{s.stats['prd']:.3f}"),
        ("PRB", lambda s: f"{s.stats['prb']:+.3f}"),
        ("80% coverage %", lambda s: f"{100 * s.stats.get('coverage_80', float('nan')):.1f}"),
    ]
    for q in ("Q1", "Q2", "Q3", "Q4", "Q5"):
        rows.append((f"median ratio {q}", _quintile_ratio(q)))
    lines = []
    for r in results:
        models = {"engine": r.engine, "lightgbm_hedonic": r.baselines["lightgbm_hedonic"]}
        lines.append(
            f"== {r.label or 'holdout from ' + r.holdout_from}: {r.n_holdout_valued} valued, "
            f"{r.n_holdout_excluded} excluded; {r.n_train_input} training rows; "
            f"values outside own interval: {r.values_outside_interval}"
        )
        lines.append(f"{'statistic':<24}" + "".join(f"{m:>20}" for m in models))
        for label, fmt in rows:
            lines.append(f"{label:<24}" + "".join(f"{fmt(s):>20}" for s in models.values()))
        check = target_check(r.engine)
        lines.append(
            "engine targets: "
            + ", ".join(f"{k} {'ok' if v else 'MISSED'}" for k, v in check.items())
        )
        lines.append(f"timings: {r.timings}")
    return "\n".join(lines)


__all__ = [
    "BacktestResult",
    "run_backtest",
    "run_rolling",
    "run_cross_fitted",
    "rolling_years",
    "target_check",
    "format_table",
    "format_rolling",
    "holdout_screen",
    "AvmModel",
]
