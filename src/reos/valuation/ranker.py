"""Learned comp ranker: which candidates' adjusted prices best predict the subject.

A LightGBM ``lambdarank`` model (Burges, 2010, "From RankNet to LambdaRank to LambdaMART")
trained on past sales: each training sale plays subject, its candidates are drawn strictly
from sales known before its own date (same retrieval as at valuation time), and each
candidate's relevance grade comes from how close its adjusted price lands to the subject's
actual price: |log error| < 2.5 % -> 4, < 5 % -> 3, < 10 % -> 2, < 20 % -> 1, else 0.

Pair features are the screening facts an appraiser looks at: distance, months since sale,
size/lot/age/quality/condition/bed/bath differences, same neighbourhood / zip, the size of
the hedonic and time adjustments, and how atypical the comp's own price was (its hedonic
residual). Missing fields give NaN features, which LightGBM routes as missing.
"""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from reos.valuation.hedonic import threads_for

FEATURES = (
    "log_distance_m",
    "months_since_sale",
    "log_size_ratio",
    "abs_log_size_ratio",
    "abs_log_lot_ratio",
    "abs_year_built_diff",
    "abs_quality_diff",
    "abs_condition_diff",
    "abs_beds_diff",
    "abs_baths_diff",
    "same_neighborhood",
    "same_zip",
    "abs_hedonic_adjustment_log",
    "abs_time_adjustment_log",
    "abs_comp_residual_log",
    "location_from_zip",
)
PARAMS: dict[str, Any] = {
    "objective": "lambdarank",
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 50,
    "feature_fraction": 0.9,
    "lambdarank_truncation_level": 10,
    "num_threads": 2,
    "verbose": -1,
    "seed": 23,
    "deterministic": True,
    "force_row_wise": True,
}
ROUNDS = 200
GRADE_EDGES = (0.025, 0.05, 0.10, 0.20)


def attribute_arrays(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The per-property columns the pair features compare."""

    def num(c: str) -> np.ndarray:
        return np.asarray(frame[c].to_numpy(dtype="float64"), dtype="float64")

    baths = num("baths_full") + 0.5 * np.nan_to_num(num("baths_half"))
    return {
        "size": num("living_area_sqft"),
        "lot": num("lot_size_sqft"),
        "year": num("year_built"),
        "quality": num("quality"),
        "condition": num("condition"),
        "beds": num("beds"),
        "baths": baths,
        "neighborhood": frame["neighborhood"].to_numpy(dtype=object),
        "zip": frame["zip"].to_numpy(dtype=object),
        "from_zip": frame.get("location_from_zip", pd.Series(False, index=frame.index)).to_numpy(
            dtype="float64"
        ),
    }


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    known = pd.notna(a) & pd.notna(b)
    out = np.full(len(a), np.nan)
    out[known] = (a[known] == b[known]).astype("float64")
    return out


def pair_features(
    subj: dict[str, np.ndarray],
    s_idx: np.ndarray,
    comp: dict[str, np.ndarray],
    c_idx: np.ndarray,
    distance_m: np.ndarray,
    months: np.ndarray,
    hedonic_adj_log: np.ndarray,
    time_adj_log: np.ndarray,
    comp_resid_log: np.ndarray,
) -> np.ndarray:
    """Feature matrix for (subject, comp) pairs given row indices into each side."""

    def diff(key: str) -> np.ndarray:
        return np.asarray(np.abs(subj[key][s_idx] - comp[key][c_idx]), dtype="float64")

    with np.errstate(divide="ignore", invalid="ignore"):
        size_ratio = np.log(comp["size"][c_idx] / subj["size"][s_idx])
        lot_ratio = np.abs(np.log(comp["lot"][c_idx] / subj["lot"][s_idx]))
    cols = [
        np.log1p(distance_m),
        months,
        size_ratio,
        np.abs(size_ratio),
        lot_ratio,
        diff("year"),
        diff("quality"),
        diff("condition"),
        diff("beds"),
        diff("baths"),
        _same(subj["neighborhood"][s_idx], comp["neighborhood"][c_idx]),
        _same(subj["zip"][s_idx], comp["zip"][c_idx]),
        np.abs(hedonic_adj_log),
        np.abs(time_adj_log),
        np.abs(comp_resid_log),
        np.maximum(subj["from_zip"][s_idx], comp["from_zip"][c_idx]),
    ]
    return np.column_stack(cols).astype("float64")


def relevance(abs_log_error: np.ndarray) -> np.ndarray:
    """Graded relevance 0..4 from the candidate's adjusted-price error."""
    return (
        len(GRADE_EDGES) - np.searchsorted(np.asarray(GRADE_EDGES), abs_log_error, side="right")
    ).astype("int64")


def fit_ranker(
    features: np.ndarray, labels: np.ndarray, group_sizes: list[int]
) -> lgb.Booster | None:
    """Train the ranker; None when there are too few groups to learn from (score by distance)."""
    if len(group_sizes) < 20:
        return None
    ds = lgb.Dataset(features, labels, group=group_sizes, free_raw_data=True)
    return lgb.train(dict(PARAMS, num_threads=threads_for(len(labels))), ds, num_boost_round=ROUNDS)


def score(ranker: lgb.Booster | None, features: np.ndarray) -> np.ndarray:
    """Higher is better. Without a ranker, fall back to the screening score (closer, newer)."""
    if len(features) == 0:
        return np.zeros(0)
    if ranker is None:
        fallback = (
            np.expm1(features[:, 0]) / 800.0
            + features[:, 1] / 12.0
            + np.nan_to_num(features[:, 3]) / 0.2
        )
        return np.asarray(-fallback, dtype="float64")
    return np.asarray(
        ranker.predict(features, num_threads=threads_for(len(features))), dtype="float64"
    )
