"""Comparable-sales AVM: public API (train, save/load, value, value_many).

Pure computation on DataFrames in the sales-frame contract of ``sales_frame.py``; no database.

Training (``train``) on sales that closed before ``cutoff``:

1. normalise the frame; drop sales that are not arm's-length (explicit False);
2. fit the market index (``market_index.py``, Huber-robust, smoothing and seasonality chosen
   by out-of-time error inside the window) and bring every price to the reference day;
3. probe: split the window in time (latest 20 % = calibration slice); fit an early-only
   index and booster, early-stopped on the slice scored out of time -> number of rounds;
4. K-fold (5) out-of-fold predictions with that many rounds: their residuals give the
   learned trust rule (``trust.py``) AND each training sale's comp evidence (a model that
   never saw the sale), so comps carry information the model does not already have;
5. fit the hedonic LightGBM once on the trusted sales; train the comp ranker on early-window
   subjects with out-of-fold labels (``ranker.py``);
6. calibrate out of time: value the slice with the probe (early index, early booster) and
   comps from each subject's own past, and learn the comp/hedonic blend, a calibration
   slope and the conformal 80 % interval per confidence grade (``reconcile.py``).

Valuation (``value`` / ``value_many``): candidates strictly before the valuation date, each
comp's evidence = its out-of-sample residual (moved to the valuation date by the index, to
the subject by the model); estimate = hedonic + learned share of the weighted mean residual
of the top comps (a local residual correction), shown as a comp grid whose feature
adjustments (path attribution of the model) plus an ``out_of_fold_correction`` line add up.

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
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from reos.errors import InsufficientData, ValidationFailed
from reos.valuation.adjustments import split_dollars
from reos.valuation.features import FeatureSpec, learn_feature_spec
from reos.valuation.geo import fill_from_zip, zip_centroids
from reos.valuation.hedonic import (
    EARLY_STOP,
    MAX_ROUNDS,
    PARAMS,
    HedonicModel,
    fit_booster,
    threads_for,
)
from reos.valuation.limits import COMMON_FEATURE_SHARE, CompLimits, Verdict, judge
from reos.valuation.market_index import MarketIndex, fit_market_index
from reos.valuation.markets import MarketMap, find_markets
from reos.valuation.pipeline import (
    Core,
    PreparedPool,
    RawValue,
    prepare_pool,
    ranker_training_set,
    value_batch,
    without_sales,
)
from reos.valuation.ranker import fit_ranker
from reos.valuation.reconcile import Calibration, learn_calibration
from reos.valuation.sales_frame import day_of, prepare_frame
from reos.valuation.trust import TrustRule, arm_length_allows, learn_trust_rule
from reos.valuation.valuation_result import CompEvidence, ValuationResult

MODEL_VERSION = "reos-avm-1.1"
CALIBRATION_SHARE = 0.20
CALIBRATION_SUBJECTS = 2000
CROSS_FOLDS = 4
RANKER_SUBJECTS = 2000
# 5 x 80 % fits: out-of-fold residuals close to those of the full model (4 folds saved ~10 s
# at 25k sales but fit on 75 %; on Ames the two were within fold-assignment noise).
K_FOLDS = 5


@dataclass
class MarketModel:
    """One market's trained AVM: the fitted core, its out-of-time calibration and metadata."""

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
            "trust": {
                "centre": self.core.trust.centre,
                "mad": self.core.trust.mad,
                "z_max": self.core.trust.z_max,
            },
            "centroids": {k: list(v) for k, v in self.core.centroids.items()},
            "first_day": self.core.first_day,
            "reference_day": self.core.hedonic.reference_day,
            "rounds": self.core.hedonic.rounds,
            "calibration": self.calibration.to_dict(),
            "out_of_fold_residuals": {k: list(v) for k, v in self.core.oof_resid.items()},
        }
        (d / "model.json").write_text(json.dumps(doc, indent=1, default=_json_default))

    @classmethod
    def load(cls, directory: str | Path) -> MarketModel:
        d = Path(directory)
        doc = json.loads((d / "model.json").read_text())
        spec = FeatureSpec.from_dict(doc["spec"])
        ranker_path = d / "ranker.txt"
        core = Core(
            spec=spec,
            index=MarketIndex.from_dict(doc["index"]),
            hedonic=HedonicModel(
                lgb.Booster(model_file=str(d / "hedonic.txt")),
                spec,
                float(doc["reference_day"]),
                int(doc["rounds"]),
            ),
            ranker=lgb.Booster(model_file=str(ranker_path)) if ranker_path.exists() else None,
            trust=TrustRule(**doc["trust"]),
            centroids={k: (float(v[0]), float(v[1])) for k, v in doc["centroids"].items()},
            first_day=float(doc["first_day"]),
            oof_resid={
                k: (float(v[0]), float(v[1]))
                for k, v in doc.get("out_of_fold_residuals", {}).items()
            },
        )
        return cls(core, Calibration.from_dict(doc["calibration"]), doc["metadata"])

    def prepared_pool(self, comps_pool: pd.DataFrame) -> PreparedPool:
        """Normalise and predict the pool once; reused while the same frame is passed."""
        key = _frame_key(comps_pool)
        if self._pool is None or self._pool_key != key:
            frame = prepare_frame(comps_pool, require_price=True).reset_index(drop=True)
            self._pool = prepare_pool(self.core, frame)
            self._pool_key = key
        return self._pool


@dataclass
class AvmModel:
    """A trained AVM for one organisation: one ``MarketModel`` per market and the map that
    routes a house to its market (``markets.py``). ``metadata`` describes the whole."""

    markets: dict[str, MarketModel]
    market_map: MarketMap
    metadata: dict[str, Any]
    _pool_key: tuple[Any, ...] | None = field(default=None, repr=False)
    _pool_parts: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    _pools: dict[str, PreparedPool] = field(default_factory=dict, repr=False)

    @property
    def only_market(self) -> MarketModel:
        """The market model of a one-market organisation (ValueError with several)."""
        if len(self.markets) != 1:
            raise ValueError(f"the model holds {len(self.markets)} markets")
        return next(iter(self.markets.values()))

    @property
    def core(self) -> Core:
        return self.only_market.core

    @property
    def calibration(self) -> Calibration:
        return self.only_market.calibration

    def market_of(self, frame: pd.DataFrame) -> np.ndarray:
        """Market name per row of a normalised frame."""
        if len(self.markets) == 1:
            return np.full(len(frame), next(iter(self.markets)), dtype=object)
        return self.market_map.assign(frame)

    def prepared_pool(self, comps_pool: pd.DataFrame, market: str) -> PreparedPool:
        """One market's part of the pool, normalised and predicted by that market's model
        once; reused while the same frame is passed."""
        key = _frame_key(comps_pool)
        if self._pool_key != key:
            frame = prepare_frame(comps_pool, require_price=True).reset_index(drop=True)
            labels = self.market_of(frame)
            self._pool_parts = {
                name: frame
                if len(self.markets) == 1
                else frame[labels == name].reset_index(drop=True)
                for name in self.markets
            }
            self._pools = {}
            self._pool_key = key
        if market not in self._pools:
            self._pools[market] = prepare_pool(self.markets[market].core, self._pool_parts[market])
        return self._pools[market]

    def save(self, directory: str | Path) -> None:
        """Write each market's model in its own folder and the market map beside them."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        folders = {}
        for k, name in enumerate(self.market_map.names):
            folders[name] = f"market_{k}"
            self.markets[name].save(d / folders[name])
        doc = {
            "metadata": self.metadata,
            "market_map": self.market_map.to_dict(),
            "markets": folders,
        }
        (d / "model.json").write_text(json.dumps(doc, indent=1, default=_json_default))

    @classmethod
    def load(cls, directory: str | Path) -> AvmModel:
        """Load a saved model (a one-market model saved before markets existed loads as one
        market)."""
        d = Path(directory)
        doc = json.loads((d / "model.json").read_text())
        if "markets" not in doc:
            market = MarketModel.load(d)
            rows = int(market.metadata.get("rows", {}).get("input", 0))
            return cls({"all": market}, MarketMap.single("all", rows), market.metadata)
        markets = {name: MarketModel.load(d / folder) for name, folder in doc["markets"].items()}
        return cls(markets, MarketMap.from_dict(doc["market_map"]), doc["metadata"])


def _frame_key(frame: pd.DataFrame) -> tuple[Any, ...]:
    """Cheap fingerprint of a pool frame: identity, length and its ids, dates and prices.

    Python caches string hashes, so hashing the id tuple costs ~1 ms for 25,000 sales, where
    ``hash_pandas_object`` on the same columns costs ~30 ms of every single valuation.
    """
    parts: list[Any] = [id(frame), len(frame)]
    for col in ("sale_id", "close_date", "sale_price"):
        if col in frame.columns:
            values = frame[col]
            if pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_datetime64_any_dtype(
                values.dtype
            ):
                parts.append(hash(np.ascontiguousarray(values.to_numpy()).tobytes()))
            else:
                parts.append(hash(tuple(values.tolist())))
    return tuple(parts)


def _json_default(obj: object) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def _iso(day: float) -> str:
    return str(np.datetime64(int(day), "D"))


def _area_labels(frame: pd.DataFrame, index: MarketIndex) -> np.ndarray | None:
    if index.area_column is None:
        return None
    return np.asarray(
        frame[index.area_column].astype("string").fillna("_na_").to_numpy(dtype=object),
        dtype=object,
    )


def _target(frame: pd.DataFrame, index: MarketIndex, reference_day: float) -> np.ndarray:
    """Log sale price brought to ``reference_day`` by the index (the hedonic target)."""
    days = frame["mid_close_day"].to_numpy(dtype="float64")
    return np.asarray(
        np.log(frame["sale_price"].to_numpy(dtype="float64"))
        + index.log_factor(days, np.full(len(days), reference_day), _area_labels(frame, index)),
        dtype="float64",
    )


def _probe(
    candidates: pd.DataFrame, spec: FeatureSpec, x: np.ndarray, early: np.ndarray, late: np.ndarray
) -> tuple[MarketIndex, lgb.Booster, float, int]:
    """Early-only index and booster, early-stopped on the later slice scored out of time.

    The later slice's targets use the early index extrapolated to their dates, exactly as a
    valuation after the cut-off would, so the number of rounds is chosen on the error that
    matters. The probe is kept: it values the calibration slice.
    """
    early_frame = candidates[early].reset_index(drop=True)
    index_early = fit_market_index(early_frame)
    ref_early = float(early_frame["mid_close_day"].max())
    y_early = _target(candidates, index_early, ref_early)
    p = dict(PARAMS, num_threads=threads_for(len(y_early)))
    d_tr = lgb.Dataset(
        x[early], y_early[early], categorical_feature=spec.categorical_indices, free_raw_data=True
    )
    d_va = lgb.Dataset(
        x[late], y_early[late], categorical_feature=spec.categorical_indices, reference=d_tr
    )
    probe = lgb.train(
        p,
        d_tr,
        num_boost_round=MAX_ROUNDS,
        valid_sets=[d_va],
        callbacks=[lgb.early_stopping(EARLY_STOP, verbose=False)],
    )
    rounds = max(int(probe.best_iteration * 1.1), 50)
    return index_early, probe, ref_early, rounds


def _out_of_fold(x: np.ndarray, y: np.ndarray, categorical: list[int], rounds: int) -> np.ndarray:
    """K-fold out-of-fold predictions of the hedonic target (random folds, fixed seed)."""
    folds = np.random.default_rng(11).integers(0, K_FOLDS, len(y))
    pred = np.full(len(y), np.nan)
    for k in range(K_FOLDS):
        tr, te = folds != k, folds == k
        if te.any():
            booster, _ = fit_booster(
                x[tr], y[tr], categorical, np.zeros(int(tr.sum())), rounds=rounds
            )
            pred[te] = booster.predict(x[te], num_threads=threads_for(int(te.sum())))
    return pred


def train(
    sales: pd.DataFrame, cutoff: date | str | pd.Timestamp, *, min_sales: int = 50
) -> AvmModel:
    """Train on sales known before ``cutoff``, one model per market (``markets.py``).

    Markets are found on the usable sales before the cut-off; each market's sales train
    their own index, trust rule, hedonic model, ranker and calibration exactly as a
    single-market organisation's would (module docstring). Raises InsufficientData.
    """
    started = time.perf_counter()
    cutoff_day = day_of(cutoff)
    frame = prepare_frame(sales, require_price=True).reset_index(drop=True)
    usable = (
        frame["sale_price"].notna()
        & frame["close_day"].notna()
        & (frame["latest_close_day"] < cutoff_day)
        & arm_length_allows(frame["arm_length"].to_numpy(dtype=object))
    ).to_numpy()
    located = fill_from_zip(frame.copy(), zip_centroids(frame[usable]))
    market_map = find_markets(located[usable], min_sales=min_sales)
    names = market_map.names
    labels = market_map.assign(located) if len(names) > 1 else np.full(len(frame), names[0])
    markets: dict[str, MarketModel] = {}
    for name in names:
        part = frame if len(names) == 1 else frame[labels == name].reset_index(drop=True)
        try:
            markets[name] = _train_market(part, cutoff_day, min_sales, time.perf_counter())
        except InsufficientData as exc:
            if len(names) == 1:
                raise
            raise InsufficientData(
                f"market {name} ({int((labels == name).sum())} sales): {exc.message}",
                needed=min_sales,
                found=int((labels[usable] == name).sum()),
            ) from exc
    model = AvmModel(markets, market_map, {})
    model.metadata = _combined_metadata(model, time.perf_counter() - started)
    return model


def _combined_metadata(model: AvmModel, seconds: float) -> dict[str, Any]:
    """The organisation-level description: the largest market's fields at top level (one
    market: exactly its metadata), rows and training window over all markets, and each
    market's own index, blend, slope and slice metrics under ``markets``."""
    names = model.market_map.names
    parts = [model.markets[n].metadata for n in names]
    out = dict(parts[0])
    out["rows"] = {k: int(sum(p["rows"][k] for p in parts)) for k in parts[0]["rows"]}
    out["training_window"] = [
        min(p["training_window"][0] for p in parts),
        max(p["training_window"][1] for p in parts),
    ]
    out["train_seconds"] = round(seconds, 2)
    out["markets"] = {
        n: {
            "rows": p["rows"],
            "training_window": p["training_window"],
            "index": p["index"],
            "blend_weights": p["blend_weights"],
            "calibration_slope": p.get("calibration_slope"),
            "holdout_metrics": p["holdout_metrics"],
        }
        for n, p in zip(names, parts, strict=True)
    }
    out["market_rule"] = f"connected {model.market_map.cell_km:g} km grid cells"
    return out


def _train_market(
    frame: pd.DataFrame, cutoff_day: float, min_sales: int, started: float
) -> MarketModel:
    """Train one market's model on its prepared sales (``train``'s docstring)."""
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
    spec = learn_feature_spec(candidates)
    x = spec.matrix(candidates)
    index = fit_market_index(candidates)
    y = _target(candidates, index, reference_day)
    close = candidates["close_day"].to_numpy(dtype="float64")
    split = float(np.quantile(close, 1.0 - CALIBRATION_SHARE))
    early = (candidates["latest_close_day"] < split).to_numpy()
    late = close >= split
    can_calibrate = early.sum() >= max(min_sales, 50) and late.sum() >= 30
    probe_parts = _probe(candidates, spec, x, early, late) if can_calibrate else None
    rounds = probe_parts[3] if probe_parts is not None else 300
    oof_pred = _out_of_fold(x, y, spec.categorical_indices, rounds)
    resid = y - oof_pred
    rule = learn_trust_rule(resid)
    outlier = rule.is_outlier(resid)
    trusted_mask = ~outlier
    if trusted_mask.sum() < min_sales:
        raise InsufficientData(
            f"{int(trusted_mask.sum())} trusted sales before {_iso(cutoff_day)} after removing price outliers; "
            f"at least {min_sales} are needed",
            needed=min_sales,
            found=int(trusted_mask.sum()),
        )
    trusted = candidates[trusted_mask].reset_index(drop=True)
    booster, _ = fit_booster(
        x[trusted_mask],
        y[trusted_mask],
        spec.categorical_indices,
        close[trusted_mask],
        rounds=rounds,
    )
    sale_ids = candidates["sale_id"].astype(str).to_numpy(dtype=object)
    prices = candidates["sale_price"].to_numpy(dtype="float64")
    oof_map = {
        str(sid): (float(r), float(pr)) for sid, r, pr in zip(sale_ids, resid, prices, strict=True)
    }
    core = Core(
        spec,
        index,
        HedonicModel(booster, spec, reference_day, rounds),
        None,
        rule,
        centroids,
        float(np.nanmin(close)),
        oof_resid=oof_map,
    )
    # Ranker: subjects from before every time-ordered calibration slice only, so the
    # slices stay unseen (a ranker trained on a slice's subjects makes their comps look
    # better than they are and the learned blend leans on comps too much).
    folds, fold_kind = _calibration_folds(candidates, close, min_sales)
    prepared = prepare_pool(core, candidates)
    subj_mask = trusted_mask & (
        folds[0][0] if fold_kind == "time" else np.ones(len(candidates), dtype=bool)
    )
    feats, labels, groups = ranker_training_set(
        core,
        candidates[subj_mask].reset_index(drop=True),
        oof_pred[subj_mask],
        prepared,
        max_subjects=RANKER_SUBJECTS,
        seed=5,
    )
    core.ranker = fit_ranker(feats, labels, groups)
    calibration = _calibrate(
        core, candidates, trusted_mask, x, early, late, probe_parts, folds, fold_kind
    )
    metadata = {
        "model_version": MODEL_VERSION,
        "cutoff": _iso(cutoff_day),
        "training_window": [
            _iso(float(trusted["close_day"].min())),
            _iso(float(trusted["latest_close_day"].max())),
        ],
        "rows": {
            "input": int(len(frame)),
            "arm_length_or_unknown": int(len(candidates)),
            "trusted": int(len(trusted)),
            "price_outliers": int(outlier.sum()),
        },
        "features": core.spec.names,
        "index": {
            "unit": core.index.unit,
            "area_column": core.index.area_column,
            "step_sd": core.index.step_sd,
            "seasonal": bool(core.index.seasonal),
            "trend_per_month": core.index.trend_per_month,
            "trend_damping": core.index.damping,
            "trend_lookback_months": core.index.trend_lookback_months,
            "smoother": "local linear trend" if core.index.smoother_order == 2 else "random walk",
            "areas_with_own_index": sorted(core.index.area_log_dev),
        },
        "hedonic_rounds": core.hedonic.rounds,
        "out_of_fold_folds": K_FOLDS,
        "trust_rule": {
            "centre_log": rule.centre,
            "mad_log": rule.mad,
            "modified_z_max": rule.z_max,
        },
        "holdout_metrics": calibration.slice_metrics,
        "blend_weights": calibration.blend,
        "calibration_slope": calibration.slope,
        "train_seconds": round(time.perf_counter() - started, 2),
    }
    return MarketModel(core, calibration, metadata)


def _calibration_folds(
    candidates: pd.DataFrame, close: np.ndarray, min_sales: int
) -> tuple[list[tuple[np.ndarray, np.ndarray]], str]:
    """(train, value) masks for calibration, and their kind.

    Time-ordered when the window has a time spread: the slice [q80, end] (the probe's) and
    the slice before it, [q60, q80), each valued by a model of the sales before it - two
    out-of-time folds double the sales the blend, slope and interval are learned on. A
    window whose sales carry (nearly) one date cannot be split in time; there ``CROSS_FOLDS``
    random folds, each valued by a model of the others as of a day after every sale, so the
    interval and slope are still learned out of sample rather than left at defaults.
    """
    latest = candidates["latest_close_day"].to_numpy(dtype="float64")
    need = max(min_sales, 50)
    folds: list[tuple[np.ndarray, np.ndarray]] = []
    for share_from, share_to in (
        (1.0 - 2 * CALIBRATION_SHARE, 1.0 - CALIBRATION_SHARE),
        (1.0 - CALIBRATION_SHARE, 1.0),
    ):
        lo = float(np.quantile(close, share_from))
        hi = float(np.quantile(close, share_to)) if share_to < 1.0 else np.inf
        before = latest < lo
        slice_ = (close >= lo) & (close < hi)
        if before.sum() >= need and slice_.sum() >= 30:
            folds.append((before, slice_))
    if folds:
        return folds, "time"
    span = float(np.nanmax(close) - np.nanmin(close)) if len(close) else 0.0
    if span > 31 or len(candidates) < CROSS_FOLDS * 30:
        return [], "none"
    fold = np.random.default_rng(23).integers(0, CROSS_FOLDS, len(candidates))
    for k in range(CROSS_FOLDS):
        if (fold != k).sum() >= need and (fold == k).sum() >= 30:
            folds.append((fold != k, fold == k))
    return folds, "random" if folds else "none"


def _calibrate(
    core: Core,
    candidates: pd.DataFrame,
    trusted_mask: np.ndarray,
    x: np.ndarray,
    early: np.ndarray,
    late: np.ndarray,
    probe_parts: tuple[MarketIndex, lgb.Booster, float, int] | None,
    folds: list[tuple[np.ndarray, np.ndarray]],
    kind: str,
) -> Calibration:
    """Out-of-sample calibration on the folds of :func:`_calibration_folds`.

    Each fold is valued exactly as a live valuation after its training part would be:
    hedonic = a probe trained on the fold's training part only, moved by that part's own
    index; comps = training-part sales with their out-of-fold residuals (plus, in time
    folds, slice sales before the subject's date with their residuals against the probe).
    The blend per grade, the calibration slope and the conformal interval are learned on
    all folds pooled (``reconcile.learn_calibration``). (The out-of-fold models did see
    the slices; a slice sale pulls its neighbours' out-of-fold predictions toward itself,
    which can only shrink the comps' apparent value, so the learned comp weight errs on the
    side of the model.)
    """
    if not folds:
        return Calibration()
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    per_fold = max(CALIBRATION_SUBJECTS // len(folds), 200)
    for k, (train_part, slice_) in enumerate(folds):
        if (
            kind == "time"
            and probe_parts is not None
            and np.array_equal(slice_, late)
            and np.array_equal(train_part, early)
        ):
            fold_probe = probe_parts
        else:
            fold_probe = _probe(candidates, core.spec, x, train_part, slice_)
        index_early, probe, ref_early, rounds = fold_probe
        train_ids = set(candidates.loc[train_part, "sale_id"].astype(str))
        cal_core = Core(
            core.spec,
            index_early,
            HedonicModel(probe, core.spec, ref_early, rounds),
            core.ranker,
            core.trust,
            core.centroids,
            core.first_day,
            oof_resid={sid: v for sid, v in core.oof_resid.items() if sid in train_ids},
        )
        pool = candidates if kind == "time" else candidates[train_part].reset_index(drop=True)
        prepared = prepare_pool(cal_core, pool)
        subjects = candidates[slice_ & trusted_mask]
        if len(subjects) > per_fold:
            subjects = subjects.sample(n=per_fold, random_state=13 + k)
        subjects = subjects.reset_index(drop=True)
        if kind == "time":
            days = subjects["close_day"].to_numpy(dtype="float64")
        else:
            after = float(candidates["latest_close_day"].max()) + 1.0
            days = np.full(len(subjects), after)
        raws = value_batch(cal_core, subjects, days, prepared)
        parts.append(
            (
                np.log(subjects["sale_price"].to_numpy(dtype="float64")),
                np.array([r.log_comp for r in raws]),
                np.array([r.log_hedonic for r in raws]),
                np.array([r.grade for r in raws]),
            )
        )
    cal = learn_calibration(*(np.concatenate([p[i] for p in parts]) for i in range(4)))
    cal.slice_metrics["folds"] = float(len(folds))
    cal.slice_metrics["time_ordered"] = 1.0 if kind == "time" else 0.0
    return cal


def _subjects_frame(subjects: pd.DataFrame | Mapping[str, Any]) -> pd.DataFrame:
    if isinstance(subjects, pd.DataFrame):
        return subjects
    return pd.DataFrame([dict(subjects)])


def value(
    model: AvmModel,
    subject: Mapping[str, Any] | pd.DataFrame,
    valuation_date: date | str | pd.Timestamp,
    comps_pool: pd.DataFrame,
) -> ValuationResult:
    """Value one property as of ``valuation_date`` using sales in ``comps_pool``."""
    frame = _subjects_frame(subject)
    if len(frame) != 1:
        raise ValidationFailed(
            f"value() takes one subject, got {len(frame)}; use value_many()", field="subject"
        )
    return value_many(model, frame, [valuation_date], comps_pool)[0]


def value_many(
    model: AvmModel,
    subjects: pd.DataFrame,
    valuation_dates: Sequence[date | str | pd.Timestamp] | date | str | pd.Timestamp,
    comps_pool: pd.DataFrame,
    *,
    limits: CompLimits | None = None,
    exclude_sale_ids: Collection[str] = (),
) -> list[ValuationResult]:
    """Value many properties in one vectorised pass (one date for all, or one per subject).

    ``exclude_sale_ids``: sales (pool ``sale_id``) a user excluded as comps; the comps next
    in rank replace them (``pipeline.without_sales``).

    Each subject is valued by its own market's model with that market's sales as comps
    (``markets.py``), so what else the organisation holds does not move its value.

    With ``limits`` (``limits.py``), a comp set that is too far, too old or too adjusted
    lowers the grade (and so the blend and interval used) with its reason in ``warnings``,
    or sets ``refusal`` on the result: the caller must then not present the value."""
    subj_all = prepare_frame(subjects, require_price=False).reset_index(drop=True)
    if isinstance(valuation_dates, (str, date, pd.Timestamp)):
        days_all = np.full(len(subj_all), day_of(valuation_dates))
    else:
        days_all = np.array([day_of(v) for v in valuation_dates], dtype="float64")
        if len(days_all) != len(subj_all):
            raise ValidationFailed(
                f"{len(days_all)} valuation dates for {len(subj_all)} subjects",
                field="valuation_dates",
            )
    labels = model.market_of(subj_all)
    batches = []
    for name in model.market_map.names:
        positions = np.flatnonzero(labels == name)
        if not len(positions):
            continue
        market = model.markets[name]
        prepared = model.prepared_pool(comps_pool, name)
        if prepared.centroids is None:
            prepared.centroids = dict(zip_centroids(prepared.frame))
            prepared.centroids.update(market.core.centroids)
        subj = subj_all.iloc[positions].reset_index(drop=True)
        subj = fill_from_zip(subj, prepared.centroids)
        prepared = without_sales(prepared, exclude_sale_ids)
        days = days_all[positions]
        _check_subjects(market.core, subj, days, positions, len(subj_all))
        batches.append((name, positions, subj, days, prepared))
    out: list[ValuationResult | None] = [None] * len(subj_all)
    for name, positions, subj, days, prepared in batches:
        market = model.markets[name]
        raws = value_batch(market.core, subj, days, prepared)
        newest = prepared.pool.latest_day[prepared.pool.eligible]
        newest_sale = _iso(float(newest.max())) if len(newest) else None
        lacking = (
            _missing_common_features(market.core, subj, prepared) if limits is not None else None
        )
        for i, raw in enumerate(raws):
            verdict = None
            if limits is not None:
                assert lacking is not None
                verdict = judge(
                    raw.grade,
                    len(raw.top_rows),
                    float(raw.stats.get("median_distance_m", 0.0)),
                    float(raw.stats.get("median_months", 0.0)),
                    float(raw.stats.get("median_gross_adjustment_pct", 0.0)),
                    limits,
                    newest_sale=newest_sale,
                    missing_features=lacking[i][0],
                    missing_importance_pct=lacking[i][1],
                )
            result = _present(market, subj, i, float(days[i]), raw, prepared, verdict)
            result.method["market"] = name
            out[int(positions[i])] = result
    return [r for r in out if r is not None]


def _missing_common_features(
    core: Core, subj: pd.DataFrame, prepared: PreparedPool
) -> list[tuple[list[str], float]]:
    """Per subject, the model's input fields it lacks that most of the pool's sales have
    (``limits.COMMON_FEATURE_SHARE``), named as the user supplies them (``attr_x`` as
    ``attributes.x``), and their share (%) of the hedonic model's total split gain. A
    category no training sale has (a new neighbourhood) is missing to the model too, and is
    named with its value. Coordinates are checked elsewhere (``_check_subjects``)."""
    if len(prepared.x) == 0:
        return [([], 0.0) for _ in range(len(subj))]
    common = np.isfinite(prepared.x).mean(axis=0) >= COMMON_FEATURE_SHARE
    located = np.array([n in ("x_m", "y_m", "rot_a_m", "rot_b_m") for n in core.spec.names])
    gain = np.asarray(core.hedonic.booster.feature_importance("gain"), dtype="float64")
    share = 100.0 * gain / max(float(gain.sum()), 1e-12)
    names = [f"attributes.{n[5:]}" if n.startswith("attr_") else n for n in core.spec.names]
    lacks = ~np.isfinite(core.spec.matrix(subj)) & (common & ~located)[None, :]
    order = np.argsort(-share, kind="stable")  # most valued first
    out = []
    for i, row in enumerate(lacks):
        named = []
        for j in order[row[order]]:
            column = core.spec.names[j]
            given = subj[column].iloc[i] if column in subj.columns else None
            unknown = column in core.spec.categorical and given is not None and not pd.isna(given)
            named.append(f"{names[j]} ('{given}' is in no sale)" if unknown else names[j])
        out.append((named, float(share[row].sum())))
    return out


def _check_subjects(
    core: Core, subj: pd.DataFrame, days: np.ndarray, positions: np.ndarray, total: int
) -> None:
    """Refuse the first subject that cannot be valued; ``positions`` are the subjects' places
    in the caller's batch of ``total`` (a refusal names the caller's position)."""
    no_xy = (
        (subj["latitude"].isna() | subj["longitude"].isna()).to_numpy()
        if core.spec.uses_location
        else None
    )
    no_size = (
        subj["living_area_sqft"].isna().to_numpy()
        if "living_area_sqft" in core.spec.numeric
        else None
    )
    too_early = days < core.first_day
    bad = too_early.copy()
    for m in (no_xy, no_size):
        if m is not None:
            bad |= m
    if not bad.any():
        return
    i = int(np.flatnonzero(bad)[0])
    row = subj.iloc[i]
    where = _subject_name(row["property_id"], int(positions[i]) if total > 1 else None)
    if no_xy is not None and no_xy[i]:
        zip_code = row.get("zip")
        zip_text = (
            "no ZIP code"
            if zip_code is None or pd.isna(zip_code) or not str(zip_code).strip()
            else f"its ZIP code {zip_code} has no located sales"
        )
        raise ValidationFailed(
            f"{where} has no coordinates and {zip_text}; "
            "geocode the address or supply latitude/longitude",
            field="latitude",
        )
    if no_size is not None and no_size[i]:
        raise ValidationFailed(
            f"{where} has no living area; the model values by size, supply living_area_sqft (> 0)",
            field="living_area_sqft",
        )
    raise InsufficientData(
        f"valuation date {_iso(days[i])} for {where} is before the first sale the model "
        f"knows ({_iso(core.first_day)}); there is no market evidence for that date: "
        "train on older sales or choose a later date",
        field="valuation_date",
    )


def _subject_name(property_id: Any, index: int | None) -> str:
    """How a refusal names the subject: "property <id>" for a stored one, "the subject" for
    an address valued without being stored (its frame id is the placeholder "subject"),
    with its position when several were asked for at once."""
    name = "the subject" if property_id == "subject" else f"property {property_id}"
    return name if index is None else f"subject {index} ({name})"


def _present(
    model: MarketModel,
    subj: pd.DataFrame,
    i: int,
    day: float,
    raw: RawValue,
    prepared: PreparedPool,
    verdict: Verdict | None = None,
) -> ValuationResult:
    core, cal = model.core, model.calibration
    grade = raw.grade if verdict is None else verdict.grade
    lam = cal.blend.get(grade, 0.0) if np.isfinite(raw.log_comp) else 0.0
    blended = (
        raw.log_hedonic + lam * (raw.log_comp - raw.log_hedonic) if lam > 0 else raw.log_hedonic
    )
    log_value = float(cal.rotate(blended))
    estimate = float(np.exp(log_value))
    if not np.isfinite(estimate) or estimate <= 0:
        raise InsufficientData(
            f"{_subject_name(subj.iloc[i]['property_id'], None)}: the model produced no finite value",
            field="subject",
        )
    low, high = cal.interval(grade, log_value)
    groups = core.hedonic.groups()
    contrib = raw.subject_contrib
    base = _base_value(core)
    at_reference = base + float(contrib.sum())
    parts = {g: float(c) for g, c in zip(groups, contrib, strict=True)}
    parts["market_time"] = float(raw.log_hedonic - at_reference)
    parts["comparable_sales"] = float(blended - raw.log_hedonic)
    parts["calibration_slope"] = float(log_value - blended)
    drivers = split_dollars(float(np.exp(base)), estimate, parts)
    comps = _comp_evidence(raw, prepared, groups)
    note = (
        "hedonic model only: no eligible comparable sales of this property type before the valuation date"
        if raw.grade == "D"
        else f"blend {lam:.2f} comps / {1 - lam:.2f} hedonic (weight learned out of time for grade {grade})"
    )
    method = {
        "note": note,
        "blend_weight_comps": lam,
        "hedonic_estimate": round(float(np.exp(raw.log_hedonic)), 2),
        "comp_indication": None
        if not np.isfinite(raw.log_comp)
        else round(float(np.exp(raw.log_comp)), 2),
        "base_value": round(float(np.exp(base)), 2),
        "market_index_factor_from_reference": round(float(np.exp(parts["market_time"])), 4),
        **{k: (round(v, 2) if isinstance(v, float) else v) for k, v in raw.stats.items()},
    }
    if verdict is not None:
        method["comp_grade"] = raw.grade
        method["limits"] = verdict.to_dict()
    return ValuationResult(
        estimated_value=round(estimate, 2),
        interval_80=(round(low, 2), round(high, 2)),
        confidence=grade,
        valuation_date=_iso(day),
        model_version=str(model.metadata.get("model_version", MODEL_VERSION)),
        comps=comps,
        drivers=drivers,
        n_comps=len(comps),
        method=method,
        warnings=[] if verdict is None else list(verdict.reasons),
        refusal=None if verdict is None else verdict.refusal,
        refusal_field=None if verdict is None else verdict.refusal_field,
    )


def _base_value(core: Core) -> float:
    """The hedonic model's expected log value (TreeSHAP base), cached on the core."""
    if not np.isfinite(core.base_log):
        probe = np.full((1, len(core.spec.names)), np.nan)
        core.base_log = float(core.hedonic.contributions(probe)[0, -1])
    return core.base_log


OUT_OF_FOLD_LINE = "out_of_fold_correction"


def _comp_evidence(raw: RawValue, prepared: PreparedPool, groups: list[str]) -> list[CompEvidence]:
    """The comp grid. Adjustments are the TreeSHAP differences subject - comp of the fitted
    model, plus one ``out_of_fold_correction`` line for comps the model was trained on: the
    fitted model's prediction for such a comp minus its out-of-fold prediction (the model
    has partly memorised the comp's own price; the line undoes that so the comp's evidence
    is its price against a model that never saw it). So, exactly,
    adjusted_price = time_adjusted_price + sum(adjustments)."""
    d = prepared.display
    shown_weights = np.round(raw.weights, 6)
    if len(shown_weights):
        # rounded weights still add up to 1: the remainder goes to the heaviest comp
        shown_weights[int(np.argmax(shown_weights))] += 1.0 - float(shown_weights.sum())
    out: list[CompEvidence] = []
    for j, row in enumerate(raw.top_rows):
        r = int(row)
        price = float(d["sale_price"][r])
        diffs = raw.subject_contrib - raw.comp_contrib[j]
        time_adj = float(price * np.exp(raw.time_logs[j]))
        parts = {g: float(v) for g, v in zip(groups, diffs, strict=True)}
        parts[OUT_OF_FOLD_LINE] = float(raw.oof_logs[j])
        adjusted = float(time_adj * np.exp(sum(parts.values())))
        adj = split_dollars(time_adj, adjusted, parts)
        address = d["address"][r]
        out.append(
            CompEvidence(
                sale_id=str(d["sale_id"][r]),
                property_id=str(d["property_id"][r]),
                address=None if pd.isna(address) else str(address),
                distance_m=round(float(raw.distances[j]), 1),
                close_date=str(d["close_date"][r]),
                sale_price=round(price, 2),
                time_adjusted_price=round(time_adj, 2),
                adjustments=adj,
                adjusted_price=round(adjusted, 2),
                weight=float(shown_weights[j]),
                gross_adjustment_pct=round(100.0 * sum(abs(v) for v in adj.values()) / time_adj, 2),
                net_adjustment_pct=round(100.0 * (adjusted - time_adj) / time_adj, 2),
            )
        )
    return out
