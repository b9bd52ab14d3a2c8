"""Ratio-study statistics for judging a valuation model against sale prices.

All formulas follow the IAAO Standard on Ratio Studies (2013, revised 2017), as summarised in
``/work/shared/reference/valuation.md``. With A_i the model value and S_i the sale price,
r_i = A_i / S_i:

* median ratio = median(r) (level);
* COD = 100 * mean(|r_i - med|) / med, in points (uniformity);
* PRD = mean(r) / (sum(A) / sum(S)) (vertical equity; > 1.03 regressive);
* PRB = OLS slope b1 of (r_i - med)/med = b0 + b1 * log2(0.5 * A_i/med + 0.5 * S_i)
  (the percentage change in ratio when value doubles);
* MdAPE = median(|A_i - S_i| / S_i) and PPE5/10/20 = share within 5/10/20 % (fractions);
* interval coverage = share of S_i inside the reported [low, high] interval.

Trimming (IAAO): ratios outside the 1.5 x IQR fences are dropped; if that would drop more
than 10% of sales, a symmetric quantile trim of 5% each side is used instead. Bootstrap
confidence intervals resample sales with replacement (fixed seed, vectorised over draws).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

FloatArray = np.ndarray


def _prb(assessed: FloatArray, sale: FloatArray, med: FloatArray) -> FloatArray:
    """PRB slope along the last axis; ``med`` broadcasts (one per row of draws)."""
    ratio = assessed / sale
    y = (ratio - med) / med
    x = np.log2(0.5 * assessed / med + 0.5 * sale)
    xc = x - x.mean(axis=-1, keepdims=True)
    yc = y - y.mean(axis=-1, keepdims=True)
    denom = (xc * xc).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = (xc * yc).sum(axis=-1) / denom
    return np.where(denom > 0, slope, np.nan)


def ratio_stats(
    assessed: FloatArray,
    sale: FloatArray,
    low: FloatArray | None = None,
    high: FloatArray | None = None,
) -> dict[str, float]:
    """Point statistics for one set of sales (see module docstring for the formulas)."""
    a = np.asarray(assessed, dtype="float64")
    s = np.asarray(sale, dtype="float64")
    n = int(a.size)
    if n == 0:
        return {"n": 0}
    r = a / s
    med = float(np.median(r))
    ape = np.abs(a - s) / s
    out: dict[str, float] = {
        "n": n,
        "median_ratio": med,
        "mean_ratio": float(r.mean()),
        "cod": float(100.0 * np.mean(np.abs(r - med)) / med),
        "prd": float(r.mean() / (a.sum() / s.sum())),
        "prb": float(_prb(a, s, np.asarray(med))) if n >= 3 else float("nan"),
        "mdape": float(np.median(ape)),
        "ppe5": float(np.mean(ape <= 0.05)),
        "ppe10": float(np.mean(ape <= 0.10)),
        "ppe20": float(np.mean(ape <= 0.20)),
    }
    if low is not None and high is not None:
        lo = np.asarray(low, dtype="float64")
        hi = np.asarray(high, dtype="float64")
        out["coverage_80"] = float(np.mean((s >= lo) & (s <= hi)))
    return out


def trim_mask(ratios: FloatArray) -> tuple[np.ndarray, str]:
    """Boolean mask of ratios kept by the IAAO outlier trim, and the method used."""
    r = np.asarray(ratios, dtype="float64")
    if r.size < 4:
        return np.ones(r.size, dtype=bool), "none"
    q1, q3 = np.quantile(r, [0.25, 0.75])
    iqr = q3 - q1
    keep = (r >= q1 - 1.5 * iqr) & (r <= q3 + 1.5 * iqr)
    if (~keep).mean() <= 0.10:
        return keep, "iqr_1.5"
    lo, hi = np.quantile(r, [0.05, 0.95])
    return (r >= lo) & (r <= hi), "quantile_5pct"


def bootstrap_ci(
    assessed: FloatArray,
    sale: FloatArray,
    low: FloatArray | None = None,
    high: FloatArray | None = None,
    *,
    draws: int = 1000,
    seed: int = 20240601,
    level: float = 0.95,
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap intervals for the main statistics, vectorised over draws."""
    a = np.asarray(assessed, dtype="float64")
    s = np.asarray(sale, dtype="float64")
    n = a.size
    if n < 3 or draws <= 0:
        return {}
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(draws, n))
    A, S = a[idx], s[idx]
    R = A / S
    med = np.median(R, axis=1)
    ape = np.abs(A - S) / S
    stats: dict[str, FloatArray] = {
        "median_ratio": med,
        "cod": 100.0 * np.mean(np.abs(R - med[:, None]), axis=1) / med,
        "prd": R.mean(axis=1) / (A.sum(axis=1) / S.sum(axis=1)),
        "prb": _prb(A, S, med[:, None]),
        "mdape": np.median(ape, axis=1),
        "ppe10": np.mean(ape <= 0.10, axis=1),
    }
    if low is not None and high is not None:
        lo = np.asarray(low, dtype="float64")[idx]
        hi = np.asarray(high, dtype="float64")[idx]
        stats["coverage_80"] = np.mean((S >= lo) & (S <= hi), axis=1)
    tail = (1.0 - level) / 2.0
    return {
        k: (float(np.nanquantile(v, tail)), float(np.nanquantile(v, 1.0 - tail)))
        for k, v in stats.items()
    }


@dataclass
class RatioStudy:
    """Untrimmed and trimmed statistics, bootstrap CIs and breakouts for one model."""

    stats: dict[str, float]
    ci95: dict[str, tuple[float, float]]
    trimmed: dict[str, float]
    n_trimmed: int
    trim_method: str
    breakouts: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.stats)
        out["ci95"] = {k: list(v) for k, v in self.ci95.items()}
        out["trimmed"] = dict(self.trimmed)
        out["trimmed"]["n_trimmed"] = self.n_trimmed
        out["trimmed"]["method"] = self.trim_method
        out["breakouts"] = self.breakouts
        return out


def ratio_study(
    assessed: FloatArray,
    sale: FloatArray,
    low: FloatArray | None = None,
    high: FloatArray | None = None,
    *,
    areas: FloatArray | pd.Series | None = None,
    draws: int = 1000,
    seed: int = 20240601,
    min_group: int = 5,
) -> RatioStudy:
    """Full ratio study: statistics, trimmed statistics, bootstrap CIs, tier/area breakouts.

    Price tiers are quintiles of the sale price S (IAAO); areas are any label per sale
    (zip or neighbourhood). Groups smaller than ``min_group`` are reported with n only.
    """
    a = np.asarray(assessed, dtype="float64")
    s = np.asarray(sale, dtype="float64")
    lo = None if low is None else np.asarray(low, dtype="float64")
    hi = None if high is None else np.asarray(high, dtype="float64")
    stats = ratio_stats(a, s, lo, hi)
    keep, method = trim_mask(a / s) if a.size else (np.ones(0, dtype=bool), "none")
    trimmed = ratio_stats(
        a[keep], s[keep], None if lo is None else lo[keep], None if hi is None else hi[keep]
    )
    ci = bootstrap_ci(a, s, lo, hi, draws=draws, seed=seed)
    breakouts: dict[str, dict[str, dict[str, float]]] = {}
    if a.size >= 5:
        tiers = pd.qcut(pd.Series(s).rank(method="first"), 5, labels=["Q1", "Q2", "Q3", "Q4", "Q5"])
        breakouts["price_quintile"] = _group_stats(
            a, s, lo, hi, np.asarray(tiers.astype(str)), min_group
        )
    if areas is not None:
        labels = np.asarray(pd.Series(areas).astype("string").fillna("unknown").astype(str))
        breakouts["area"] = _group_stats(a, s, lo, hi, labels, min_group)
    return RatioStudy(stats, ci, trimmed, int((~keep).sum()), method, breakouts)


def _group_stats(
    a: FloatArray,
    s: FloatArray,
    lo: FloatArray | None,
    hi: FloatArray | None,
    labels: np.ndarray,
    min_group: int,
) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for label in sorted(set(labels.tolist())):
        m = labels == label
        if m.sum() < min_group:
            out[str(label)] = {"n": int(m.sum())}
            continue
        out[str(label)] = ratio_stats(
            a[m], s[m], None if lo is None else lo[m], None if hi is None else hi[m]
        )
    return out
