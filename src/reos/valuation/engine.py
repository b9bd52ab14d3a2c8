"""Comparable-sales AVM: public API (train, save/load, value, value_many).

Pure computation on DataFrames in the sales-frame contract of ``schema.py``; no database.

Training (``train``) on sales that closed before ``cutoff``:

1. normalise the frame; drop sales that are not arm's-length (explicit False);
2. fit the market index (``market_index.py``) and a quick out-of-fold hedonic model whose
   residuals give the learned trust rule (``trust.py``); drop outliers; refit the index;
3. fit the core on trusted sales: hedonic LightGBM on index-adjusted log price
   (``hedonic.py``) and the comp ranker (``ranker.py``) on past-only candidate sets;
4. calibrate out of time: refit the core on sales before the last 20 % of the window,
   value that slice as of each sale's date with comps from its own past, and learn the
   comp/hedonic blend and the conformal 80 % interval per confidence grade
   (``reconcile.py``).

Valuation (``value`` / ``value_many``): candidates strictly before the valuation date,
adjusted by the index (time) and by TreeSHAP differences (features), ranked, weighted,
blended with the hedonic estimate; the result shows its comps and drivers.

Refusals: fewer than ``min_sales`` usable sales (InsufficientData, naming the count);
a subject with no coordinates and no zip centroid, or no living area when the model uses
it (ValidationFailed, naming the field); a valuation date before the first sale the model
knows (InsufficientData). A property type with no eligible comps is valued by the hedonic
model alone, with grade D and a note. A non-finite or non-positive result is refused rather
than returned.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from reos.errors import InsufficientData, ValidationFailed
from reos.valuation.adjustments import split_dollars
from reos.valuation.features import learn_feature_spec
from reos.valuation.geo import fill_from_zip, zip_centroids
from reos.valuation.hedonic import HedonicModel, fit_booster, threads_for
from reos.valuation.market_index import MarketIndex, fit_market_index
from reos.valuation.pipeline import (
    Core,
    PreparedPool,
    RawValue,
    prepare_pool,
    ranker_training_set,
    value_batch,
)
from reos.valuation.ranker import fit_ranker
from reos.valuation.reconcile import Calibration, learn_calibration
from reos.valuation.schema import day_of, prepare_frame
from reos.valuation.trust import TrustRule, arm_length_allows, learn_trust_rule
from reos.valuation.valuation_result import CompEvidence, Valuation

MODEL_VERSION = "reos-avm-1.0"
CALIBRATION_SHARE = 0.20
RANKER_SUBJECTS = 4000


@dataclass
class AvmModel:
    """A trained AVM: the fitted core, its out-of-time calibration and metadata."""

    core: Core
    calibration: Calibration
    metadata: dict[str, Any]
    _pool_key: tuple[Any, ...] | None = field(default=None, repr=False)
    _pool: PreparedPool | None = field(default=None, repr=False)

    def save(self, directory: str | Path) -> None:
        """Write the model as plain files: boosters (LightGBM text) and one JSON document."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        self.core.hedonic.booster.save_model(str(d / "hedonic.txt"))
        if self.core.ranker is not None:
            self.core.ranker.save_model(str(d / "ranker.txt"))
        doc = {
            "metadata": self.metadata,
            "spec": self.core.spec.to_dict(),
            "index": self.core.index.to_dict(),
            "trust": {"centre": self.core.trust.centre, "mad": self.core.trust.mad, "z_max": self.core.trust.z_max},
            "centroids": {k: list(v) for k, v in self.core.centroids.items()},
            "first_day": self.core.first_day,
            "reference_day": self.core.hedonic.reference_day,
            "rounds": self.core.hedonic.rounds,
            "calibration": self.calibration.to_dict(),
        }
        (d / "model.json").write_text(json.dumps(doc, indent=1, default=_json_default))

    @classmethod
    def load(cls, directory: str | Path) -> AvmModel:
        d = Path(directory)
        doc = json.loads((d / "model.json").read_text())
        from reos.valuation.features import FeatureSpec

        spec = FeatureSpec.from_dict(doc["spec"])
        ranker_path = d / "ranker.txt"
        core = Core(
            spec=spec,
            index=MarketIndex.from_dict(doc["index"]),
            hedonic=HedonicModel(
                lgb.Booster(model_file=str(d / "hedonic.txt")), spec, float(doc["reference_day"]), int(doc["rounds"])
            ),
            ranker=lgb.Booster(model_file=str(ranker_path)) if ranker_path.exists() else None,
            trust=TrustRule(**doc["trust"]),
            centroids={k: (float(v[0]), float(v[1])) for k, v in doc["centroids"].items()},
            first_day=float(doc["first_day"]),
        )
        return cls(core, Calibration.from_dict(doc["calibration"]), doc["metadata"])

    def prepared_pool(self, comps_pool: pd.DataFrame) -> PreparedPool:
        """Normalise and predict the pool once; reused while the same frame is passed."""
        key = (id(comps_pool), len(comps_pool), int(pd.util.hash_pandas_object(
            comps_pool[[c for c in ("sale_id", "close_date", "sale_price") if c in comps_pool.columns]],
            index=False).sum()))
        if self._pool is None or self._pool_key != key:
            frame = prepare_frame(comps_pool, require_price=True).reset_index(drop=True)
            self._pool = prepare_pool(self.core, frame)
            self._pool_key = key
        return self._pool


def _json_default(obj: object) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def _iso(day: float) -> str:
    return str(np.datetime64(int(day), "D"))


def _fit_core(trusted: pd.DataFrame, pool_frame: pd.DataFrame, reference_day: float, trust: TrustRule) -> Core:
    """Index, hedonic model and ranker from one set of trusted sales."""
    spec = learn_feature_spec(trusted)
    index = fit_market_index(trusted)
    areas = None if index.area_column is None else trusted[index.area_column].astype("string").fillna("_na_").to_numpy(dtype=object)
    days = trusted["mid_close_day"].to_numpy(dtype="float64")
    y = np.log(trusted["sale_price"].to_numpy(dtype="float64")) + index.log_factor(
        days, np.full(len(days), reference_day), areas
    )
    x = spec.matrix(trusted)
    booster, rounds = fit_booster(x, y, spec.categorical_indices, days)
    hedonic = HedonicModel(booster, spec, reference_day, rounds)
    core = Core(spec, index, hedonic, None, trust, zip_centroids(trusted),
                float(np.nanmin(trusted["close_day"].to_numpy(dtype="float64"))))
    prepared = prepare_pool(core, pool_frame)
    feats, labels, groups = ranker_training_set(core, trusted, prepared, max_subjects=RANKER_SUBJECTS, seed=5)
    core.ranker = fit_ranker(feats, labels, groups)
    return core


def _oof_residuals(frame: pd.DataFrame, reference_day: float) -> np.ndarray:
    """Out-of-fold residuals of index-adjusted log price (3 folds, fixed small budget)."""
    spec = learn_feature_spec(frame)
    index = fit_market_index(frame)
    areas = None if index.area_column is None else frame[index.area_column].astype("string").fillna("_na_").to_numpy(dtype=object)
    days = frame["mid_close_day"].to_numpy(dtype="float64")
    y = np.log(frame["sale_price"].to_numpy(dtype="float64")) + index.log_factor(
        days, np.full(len(days), reference_day), areas
    )
    x = spec.matrix(frame)
    folds = np.random.default_rng(11).integers(0, 3, len(y))
    resid = np.full(len(y), np.nan)
    from reos.valuation.hedonic import PARAMS

    quick = dict(PARAMS, learning_rate=0.1)
    for k in range(3):
        tr, te = folds != k, folds == k
        booster, _ = fit_booster(x[tr], y[tr], spec.categorical_indices, days[tr], params=quick, rounds=200)
        resid[te] = y[te] - booster.predict(x[te], num_threads=threads_for(len(y)))
    return resid


def train(sales: pd.DataFrame, cutoff: date | str | pd.Timestamp, *, min_sales: int = 50) -> AvmModel:
    """Train on sales known before ``cutoff`` (see module docstring). Raises InsufficientData."""
    started = time.perf_counter()
    cutoff_day = day_of(cutoff)
    frame = prepare_frame(sales, require_price=True).reset_index(drop=True)
    usable = (
        frame["sale_price"].notna()
        & frame["close_day"].notna()
        & (frame["latest_close_day"] < cutoff_day)
        & arm_length_allows(frame["arm_length"].to_numpy(dtype=object))
    )
    candidates = frame[usable].reset_index(drop=True)
    if len(candidates) < min_sales:
        raise InsufficientData(
            f"{len(candidates)} usable arm's-length sales before {_iso(cutoff_day)}; "
            f"at least {min_sales} are needed to train a valuation model",
            needed=min_sales,
            found=int(len(candidates)),
        )
    centroids = zip_centroids(candidates)
    candidates = fill_from_zip(candidates, centroids)
    reference_day = float(candidates["mid_close_day"].max())
    resid = _oof_residuals(candidates, reference_day)
    rule = learn_trust_rule(resid)
    outlier = rule.is_outlier(resid)
    trusted = candidates[~outlier].reset_index(drop=True)
    if len(trusted) < min_sales:
        raise InsufficientData(
            f"{len(trusted)} trusted sales before {_iso(cutoff_day)} after removing price outliers; "
            f"at least {min_sales} are needed",
            needed=min_sales,
            found=int(len(trusted)),
        )
    core = _fit_core(trusted, candidates, reference_day, rule)
    calibration = _calibrate(trusted, candidates, min_sales, rule)
    core.centroids = centroids
    metadata = {
        "model_version": MODEL_VERSION,
        "cutoff": _iso(cutoff_day),
        "training_window": [_iso(float(trusted["close_day"].min())), _iso(float(trusted["latest_close_day"].max()))],
        "rows": {"input": int(len(frame)), "arm_length_or_unknown": int(len(candidates)),
                 "trusted": int(len(trusted)), "price_outliers": int(outlier.sum())},
        "features": core.spec.names,
        "index": {"unit": core.index.unit, "area_column": core.index.area_column,
                  "areas_with_own_index": sorted(core.index.area_log_dev)},
        "hedonic_rounds": core.hedonic.rounds,
        "trust_rule": {"centre_log": rule.centre, "mad_log": rule.mad, "modified_z_max": rule.z_max},
        "holdout_metrics": calibration.slice_metrics,
        "blend_weights": calibration.blend,
        "train_seconds": round(time.perf_counter() - started, 2),
    }
    return AvmModel(core, calibration, metadata)


def _calibrate(trusted: pd.DataFrame, candidates: pd.DataFrame, min_sales: int, rule: TrustRule) -> Calibration:
    """Out-of-time calibration on the latest ~20 % of the window (see module docstring)."""
    days = trusted["close_day"].to_numpy(dtype="float64")
    split = float(np.quantile(days, 1.0 - CALIBRATION_SHARE))
    early = trusted[trusted["latest_close_day"] < split].reset_index(drop=True)
    late = trusted[trusted["close_day"] >= split].reset_index(drop=True)
    if len(early) < max(min_sales, 50) or len(late) < 30:
        return Calibration()
    core_a = _fit_core(early, candidates[candidates["latest_close_day"] < split].reset_index(drop=True),
                       float(early["mid_close_day"].max()), rule)
    prepared = prepare_pool(core_a, candidates)
    late = fill_from_zip(late.copy(), core_a.centroids)
    raws = value_batch(core_a, late, late["close_day"].to_numpy(dtype="float64"), prepared)
    return learn_calibration(
        np.log(late["sale_price"].to_numpy(dtype="float64")),
        np.array([r.log_comp for r in raws]),
        np.array([r.log_hedonic for r in raws]),
        np.array([r.grade for r in raws]),
    )


def _subjects_frame(subjects: pd.DataFrame | Mapping[str, Any]) -> pd.DataFrame:
    if isinstance(subjects, pd.DataFrame):
        return subjects
    return pd.DataFrame([dict(subjects)])


def value(
    model: AvmModel,
    subject: Mapping[str, Any] | pd.DataFrame,
    valuation_date: date | str | pd.Timestamp,
    comps_pool: pd.DataFrame,
) -> Valuation:
    """Value one property as of ``valuation_date`` using sales in ``comps_pool``."""
    frame = _subjects_frame(subject)
    if len(frame) != 1:
        raise ValidationFailed(f"value() takes one subject, got {len(frame)}; use value_many()", field="subject")
    return value_many(model, frame, [valuation_date], comps_pool)[0]


def value_many(
    model: AvmModel,
    subjects: pd.DataFrame,
    valuation_dates: Sequence[date | str | pd.Timestamp] | date | str | pd.Timestamp,
    comps_pool: pd.DataFrame,
) -> list[Valuation]:
    """Value many properties in one vectorised pass (one date for all, or one per subject)."""
    core = model.core
    subj = prepare_frame(subjects, require_price=False).reset_index(drop=True)
    if isinstance(valuation_dates, (str, date, pd.Timestamp)):
        days = np.full(len(subj), day_of(valuation_dates))
    else:
        days = np.array([day_of(v) for v in valuation_dates], dtype="float64")
        if len(days) != len(subj):
            raise ValidationFailed(f"{len(days)} valuation dates for {len(subj)} subjects", field="valuation_dates")
    prepared = model.prepared_pool(comps_pool)
    centroids = dict(zip_centroids(prepared.frame))
    centroids.update(core.centroids)
    subj = fill_from_zip(subj, centroids)
    _check_subjects(core, subj, days)
    raws = value_batch(core, subj, days, prepared)
    out = []
    for i, raw in enumerate(raws):
        out.append(_present(model, subj, i, float(days[i]), raw, prepared))
    return out


def _check_subjects(core: Core, subj: pd.DataFrame, days: np.ndarray) -> None:
    for i in range(len(subj)):
        row = subj.iloc[i]
        where = f"subject {i} ({row['property_id']})" if len(subj) > 1 else f"subject {row['property_id']}"
        if core.spec.uses_location and (pd.isna(row["latitude"]) or pd.isna(row["longitude"])):
            raise ValidationFailed(
                f"{where} has no coordinates and its zip ({row['zip']}) has no located sales; "
                "geocode the address or supply latitude/longitude",
                field="latitude",
            )
        if "living_area_sqft" in core.spec.numeric and pd.isna(row["living_area_sqft"]):
            raise ValidationFailed(
                f"{where} has no living area; the model values by size, supply living_area_sqft (> 0)",
                field="living_area_sqft",
            )
        if days[i] < core.first_day:
            raise InsufficientData(
                f"valuation date {_iso(days[i])} for {where} is before the first sale the model "
                f"knows ({_iso(core.first_day)}); there is no market evidence for that date",
                field="valuation_date",
            )


def _present(model: AvmModel, subj: pd.DataFrame, i: int, day: float, raw: RawValue, prepared: PreparedPool) -> Valuation:
    core, cal = model.core, model.calibration
    lam = cal.blend.get(raw.grade, 0.0) if np.isfinite(raw.log_comp) else 0.0
    log_value = raw.log_hedonic + lam * (raw.log_comp - raw.log_hedonic) if lam > 0 else raw.log_hedonic
    estimate = float(np.exp(log_value))
    if not np.isfinite(estimate) or estimate <= 0:
        raise InsufficientData(f"subject {subj.iloc[i]['property_id']}: the model produced no finite value", field="subject")
    low, high = cal.interval(raw.grade, log_value)
    groups, _ = core.hedonic.grouped(np.zeros((1, len(core.spec.names) + 1)))
    contrib = raw.subject_contrib
    base = _base_value(core)
    at_reference = base + float(contrib.sum())
    parts = {g: float(c) for g, c in zip(groups, contrib, strict=True)}
    parts["market_time"] = float(raw.log_hedonic - at_reference)
    parts["comparable_sales"] = float(log_value - raw.log_hedonic)
    drivers = split_dollars(float(np.exp(base)), estimate, parts)
    comps = _comp_evidence(raw, prepared, groups)
    note = (
        "hedonic model only: no eligible comparable sales of this property type before the valuation date"
        if raw.grade == "D"
        else f"blend {lam:.2f} comps / {1 - lam:.2f} hedonic (weight learned out of time for grade {raw.grade})"
    )
    method = {
        "note": note,
        "blend_weight_comps": lam,
        "hedonic_estimate": round(float(np.exp(raw.log_hedonic)), 2),
        "comp_indication": None if not np.isfinite(raw.log_comp) else round(float(np.exp(raw.log_comp)), 2),
        "base_value": round(float(np.exp(base)), 2),
        "market_index_factor_from_reference": round(float(np.exp(parts["market_time"])), 4),
        **{k: (round(v, 2) if isinstance(v, float) else v) for k, v in raw.stats.items()},
    }
    return Valuation(
        estimated_value=round(estimate, 2),
        interval_80=(round(low, 2), round(high, 2)),
        confidence=raw.grade,
        valuation_date=_iso(day),
        model_version=str(model.metadata.get("model_version", MODEL_VERSION)),
        comps=comps,
        drivers=drivers,
        n_comps=len(comps),
        method=method,
    )


def _base_value(core: Core) -> float:
    """The hedonic model's expected log value (TreeSHAP base), cached on the core."""
    if not np.isfinite(core.base_log):
        probe = np.full((1, len(core.spec.names)), np.nan)
        core.base_log = float(core.hedonic.contributions(probe)[0, -1])
    return core.base_log


def _comp_evidence(raw: RawValue, prepared: PreparedPool, groups: list[str]) -> list[CompEvidence]:
    frame = prepared.frame
    out: list[CompEvidence] = []
    for j, row in enumerate(raw.top_rows):
        r = frame.iloc[int(row)]
        price = float(r["sale_price"])
        diffs = raw.subject_contrib - raw.comp_contrib[j]
        time_adj = float(price * np.exp(raw.time_logs[j]))
        adjusted = float(time_adj * np.exp(diffs.sum()))
        adj = split_dollars(time_adj, adjusted, {g: float(d) for g, d in zip(groups, diffs, strict=True)})
        out.append(
            CompEvidence(
                sale_id=str(r["sale_id"]),
                property_id=str(r["property_id"]),
                address=None if pd.isna(r["address"]) else str(r["address"]),
                distance_m=round(float(raw.distances[j]), 1),
                close_date=str(pd.Timestamp(r["close_date"]).date()),
                sale_price=round(price, 2),
                time_adjusted_price=round(time_adj, 2),
                adjustments=adj,
                adjusted_price=round(adjusted, 2),
                weight=round(float(raw.weights[j]), 4),
                gross_adjustment_pct=round(100.0 * sum(abs(v) for v in adj.values()) / time_adj, 2),
                net_adjustment_pct=round(100.0 * (adjusted - time_adj) / time_adj, 2),
            )
        )
    return out
