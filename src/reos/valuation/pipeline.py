"""The fitted pieces of the AVM (``Core``) and the batch valuation pass that uses them.

Kept apart from ``engine.py`` (the public API) because training runs the same pass on past
sales: to build ranker training pairs and to value the out-of-time calibration slice.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, replace
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from reos.valuation import ranker as ranker_mod
from reos.valuation.features import FeatureSpec
from reos.valuation.geo import fill_from_zip
from reos.valuation.hedonic import HedonicModel
from reos.valuation.market_index import MarketIndex
from reos.valuation.reconcile import TOP_K, comp_weights, grade
from reos.valuation.retrieval import CompPool, find_candidates
from reos.valuation.trust import TrustRule, arm_length_allows


@dataclass
class Core:
    """Everything learned from one training window except the out-of-time calibration."""

    spec: FeatureSpec
    index: MarketIndex
    hedonic: HedonicModel
    ranker: lgb.Booster | None
    trust: TrustRule
    centroids: dict[str, tuple[float, float]]
    first_day: float
    base_log: float = float("nan")
    oof_resid: dict[str, tuple[float, float]] = field(default_factory=dict)

    def area_labels(self, frame: pd.DataFrame) -> np.ndarray | None:
        col = self.index.area_column
        if col is None:
            return None
        return np.asarray(
            frame[col].astype("string").fillna("_na_").to_numpy(dtype=object), dtype=object
        )

    def reference_log_shift(self, days: np.ndarray, areas: np.ndarray | None) -> np.ndarray:
        """Log factor from the hedonic reference date to ``days``."""
        ref = np.full(len(days), self.hedonic.reference_day)
        return self.index.log_factor(ref, days, areas)


@dataclass
class PreparedPool:
    """A comps pool with model predictions, out-of-sample residuals, trust and a SHAP cache.

    ``resid`` is each sale's log residual against a model that did NOT see it: the stored
    out-of-fold residual for sales the model was trained on (``Core.oof_resid``), the model's
    own residual for any other sale. ``log_pred`` is the matching prediction (log price at the
    hedonic reference day); ``model_log_pred`` the fitted model's own prediction where it was
    needed (NaN for sales with a stored residual). Using in-sample residuals would make every comp agree
    with the model it was fitted by, and the comps would add no information.
    """

    pool: CompPool
    frame: pd.DataFrame
    x: np.ndarray
    log_pred: np.ndarray
    model_log_pred: np.ndarray
    resid: np.ndarray
    attrs: dict[str, np.ndarray]
    areas: np.ndarray | None
    display: dict[str, np.ndarray]
    contrib_cache: dict[int, np.ndarray] = field(default_factory=dict)
    centroids: dict[str, tuple[float, float]] | None = None

    def grouped_contrib(self, core: Core, rows: np.ndarray) -> np.ndarray:
        missing = np.array(
            sorted({int(r) for r in rows} - self.contrib_cache.keys()), dtype="int64"
        )
        if len(missing):
            _, grouped = core.hedonic.grouped(core.hedonic.contributions(self.x[missing]))
            for r, g in zip(missing, grouped, strict=True):
                self.contrib_cache[int(r)] = g
        return np.array([self.contrib_cache[int(r)] for r in rows])


def prepare_pool(core: Core, frame: pd.DataFrame) -> PreparedPool:
    """Predict the pool sales that need it; untrusted or unpriced sales are never comps.

    Sales with a stored out-of-fold residual are not predicted again (their fitted-model
    prediction, needed only for the comps shown, comes from their contributions).
    """
    frame = fill_from_zip(frame.copy(), core.centroids)
    x = core.spec.matrix(frame)
    areas = core.area_labels(frame)
    price = frame["sale_price"].to_numpy(dtype="float64")
    days = frame["mid_close_day"].to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        at_reference = np.log(price) - core.reference_log_shift(days, areas)
    resid = np.full(len(frame), np.nan)
    if core.oof_resid:
        stored = (
            frame["sale_id"]
            .map(lambda sid: core.oof_resid.get(str(sid), (np.nan, np.nan)))
            .to_list()
        )
        oof = np.array([v[0] for v in stored], dtype="float64")
        same_price = np.array([v[1] for v in stored], dtype="float64")
        use = np.isfinite(oof) & np.isclose(same_price, price, rtol=1e-9)
        resid = np.where(use, oof, resid)
    model_log_pred = np.full(len(frame), np.nan)
    todo = ~np.isfinite(resid)
    model_log_pred[todo] = core.hedonic.predict_log(x[todo])
    resid[todo] = at_reference[todo] - model_log_pred[todo]
    log_pred = np.where(np.isfinite(resid), at_reference - resid, model_log_pred)
    eligible = (
        np.isfinite(resid)
        & arm_length_allows(frame["arm_length"].to_numpy(dtype=object))
        & ~core.trust.is_outlier(resid)
    )
    if core.spec.uses_location:
        xy = core.spec.projection.to_xy(
            frame["latitude"].to_numpy(dtype="float64"),
            frame["longitude"].to_numpy(dtype="float64"),
        )
    else:
        xy = np.zeros((len(frame), 2))
    pool = CompPool.build(frame, xy, eligible)
    display = {
        "sale_id": frame["sale_id"].astype(str).to_numpy(dtype=object),
        "property_id": frame["property_id"].astype(str).to_numpy(dtype=object),
        "address": frame["address"].to_numpy(dtype=object),
        "close_date": frame["close_date"].dt.strftime("%Y-%m-%d").to_numpy(dtype=object),
        "sale_price": price,
    }
    return PreparedPool(
        pool,
        frame,
        x,
        log_pred,
        model_log_pred,
        resid,
        ranker_mod.attribute_arrays(frame),
        areas,
        display,
    )


def without_sales(prepared: PreparedPool, sale_ids: Collection[str]) -> PreparedPool:
    """``prepared`` with the sales ``sale_ids`` (pool ``sale_id`` values) no longer
    eligible as comps: a user excluding a comp, so the comps next in rank take its place.
    The pool, its predictions and its SHAP cache are shared, not recomputed: excluding
    costs one array copy. Unknown ids are ignored."""
    if not sale_ids:
        return prepared
    drop = np.isin(prepared.display["sale_id"], np.array(sorted(sale_ids), dtype=object))
    if not drop.any():
        return prepared
    latest = prepared.pool.latest_day.copy()
    latest[drop] = np.inf  # retrieval keeps a candidate only when it closed before the date
    pool = replace(prepared.pool, latest_day=latest, eligible=prepared.pool.eligible & ~drop)
    return replace(prepared, pool=pool)


@dataclass
class Pairs:
    """All (subject, candidate) pairs of a batch, flattened."""

    s_idx: np.ndarray
    c_idx: np.ndarray
    distance_m: np.ndarray
    months: np.ndarray
    time_log: np.ndarray
    hedonic_log: np.ndarray
    adjusted_log: np.ndarray
    features: np.ndarray


def build_pairs(
    core: Core,
    subjects: pd.DataFrame,
    subj_days: np.ndarray,
    subj_log_pred: np.ndarray,
    prepared: PreparedPool,
    *,
    n_candidates: int = 30,
) -> Pairs:
    """Retrieve candidates and compute their adjusted log prices and ranker features."""
    if core.spec.uses_location:
        subj_xy = core.spec.projection.to_xy(
            subjects["latitude"].to_numpy(dtype="float64"),
            subjects["longitude"].to_numpy(dtype="float64"),
        )
    else:
        subj_xy = np.zeros((len(subjects), 2))
    rows, dists = find_candidates(
        prepared.pool,
        subj_xy,
        subjects["property_type"].to_numpy(dtype=object),
        subjects["property_id"].to_numpy(dtype=object),
        subj_days,
        subjects["living_area_sqft"].to_numpy(dtype="float64"),
        subjects["year_built"].to_numpy(dtype="float64"),
        n_candidates=n_candidates,
    )
    s_idx = np.concatenate(
        [np.full(len(r), i, dtype="int64") for i, r in enumerate(rows)] or [np.zeros(0, "int64")]
    )
    c_idx = np.concatenate(rows or [np.zeros(0, "int64")]).astype("int64")
    dist = np.concatenate(dists or [np.zeros(0)]).astype("float64")
    c_days = prepared.pool.mid_day[c_idx]
    c_areas = None if prepared.areas is None else prepared.areas[c_idx]
    time_log = core.index.log_factor(c_days, subj_days[s_idx], c_areas)
    hedonic_log = subj_log_pred[s_idx] - prepared.log_pred[c_idx]
    price = prepared.frame["sale_price"].to_numpy(dtype="float64")[c_idx]
    adjusted = np.log(price) + time_log + hedonic_log
    months = (subj_days[s_idx] - c_days) / 30.44
    subj_attrs = ranker_mod.attribute_arrays(subjects)
    feats = ranker_mod.pair_features(
        subj_attrs,
        s_idx,
        prepared.attrs,
        c_idx,
        dist,
        months,
        hedonic_log,
        time_log,
        prepared.resid[c_idx],
    )
    return Pairs(s_idx, c_idx, dist, months, time_log, hedonic_log, adjusted, feats)


@dataclass
class RawValue:
    """One subject's numbers before presentation."""

    log_hedonic: float
    log_comp: float
    grade: str
    top_rows: np.ndarray
    top_pairs: np.ndarray
    weights: np.ndarray
    gross_log: np.ndarray
    subject_contrib: np.ndarray
    comp_contrib: np.ndarray
    distances: np.ndarray
    time_logs: np.ndarray
    oof_logs: np.ndarray
    stats: dict[str, Any]


def value_batch(
    core: Core,
    subjects: pd.DataFrame,
    subj_days: np.ndarray,
    prepared: PreparedPool,
) -> list[RawValue]:
    """Hedonic estimate, comp indication and grade for each subject (no blending yet).

    TreeSHAP runs once for the batch, on the subjects and on the comps actually kept (top
    ``TOP_K`` per subject), never on the other candidates.
    """
    x = core.spec.matrix(subjects)
    log_pred = core.hedonic.predict_log(x)
    areas = core.area_labels(subjects)
    log_hedonic = log_pred + core.reference_log_shift(subj_days, areas)
    pairs = build_pairs(core, subjects, subj_days, log_pred, prepared)
    scores = ranker_mod.score(core.ranker, pairs.features)
    _, subj_contrib = core.hedonic.grouped(core.hedonic.contributions(x))
    order = np.lexsort((-scores, pairs.s_idx))
    bounds = np.searchsorted(pairs.s_idx[order], np.arange(len(subjects) + 1))
    tops = [order[bounds[i] : bounds[i + 1]][:TOP_K] for i in range(len(subjects))]
    all_top = np.concatenate(tops) if tops else np.zeros(0, dtype="int64")
    uniq = np.unique(pairs.c_idx[all_top]) if len(all_top) else np.zeros(0, dtype="int64")
    contrib = (
        prepared.grouped_contrib(core, uniq) if len(uniq) else np.zeros((0, subj_contrib.shape[1]))
    )
    lookup = {int(r): j for j, r in enumerate(uniq)}
    bias = core.hedonic.contributions(np.full((1, len(core.spec.names)), np.nan))[0, -1]
    out: list[RawValue] = []
    for i, top in enumerate(tops):
        if len(top) == 0:
            out.append(
                RawValue(
                    float(log_hedonic[i]),
                    float("nan"),
                    "D",
                    np.zeros(0, "int64"),
                    top,
                    np.zeros(0),
                    np.zeros(0),
                    subj_contrib[i],
                    np.zeros((0, subj_contrib.shape[1])),
                    np.zeros(0),
                    np.zeros(0),
                    np.zeros(0),
                    {"n_candidates": 0},
                )
            )
            continue
        rows = pairs.c_idx[top]
        cc = contrib[[lookup[int(r)] for r in rows]]
        gross = np.abs(subj_contrib[i][None, :] - cc).sum(axis=1)
        w = comp_weights(np.arange(1, len(top) + 1, dtype="float64"), gross)
        log_comp = float(np.sum(w * pairs.adjusted_log[top]))
        med_dist = float(np.median(pairs.distance_m[top]))
        med_gross = float(np.median(np.expm1(gross)))
        med_months = float(np.median(pairs.months[top]))
        g = grade(len(top), med_dist, med_gross, med_months)
        out.append(
            RawValue(
                float(log_hedonic[i]),
                log_comp,
                g,
                rows,
                top,
                w,
                gross,
                subj_contrib[i],
                cc,
                pairs.distance_m[top],
                pairs.time_log[top],
                cc.sum(axis=1) + bias - prepared.log_pred[rows],
                {
                    "n_candidates": int(bounds[i + 1] - bounds[i]),
                    "median_distance_m": med_dist,
                    "median_gross_adjustment_pct": 100 * med_gross,
                    "median_months": med_months,
                },
            )
        )
    return out


def ranker_training_set(
    core: Core,
    subjects: pd.DataFrame,
    subj_log_pred: np.ndarray,
    prepared: PreparedPool,
    *,
    max_subjects: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Pairs for training the ranker: each sale as subject, candidates from its own past.

    ``subj_log_pred`` must be out of sample for the subjects (out-of-fold predictions), like
    the comps' residuals in ``prepared``: the label then measures how well a comp's residual
    predicts the subject's, which is what the comp is used for.
    """
    rng = np.random.default_rng(seed)
    take = np.sort(rng.choice(len(subjects), size=min(max_subjects, len(subjects)), replace=False))
    subs = subjects.iloc[take].reset_index(drop=True)
    days = subs["close_day"].to_numpy(dtype="float64")
    pairs = build_pairs(core, subs, days, np.asarray(subj_log_pred)[take], prepared)
    log_price = np.log(subs["sale_price"].to_numpy(dtype="float64"))
    labels = ranker_mod.relevance(np.abs(pairs.adjusted_log - log_price[pairs.s_idx]))
    counts = np.bincount(pairs.s_idx, minlength=len(subs))
    keep_subject = counts >= 5
    keep = keep_subject[pairs.s_idx]
    groups = [int(c) for c in counts[keep_subject]]
    return pairs.features[keep], labels[keep], groups
