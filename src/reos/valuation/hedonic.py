"""Hedonic model: LightGBM on log sale price brought to a reference date by the market index.

Why an index-adjusted target rather than time as a feature: valuation dates lie after the
training window, where a tree model can only repeat its last time leaf. Bringing every
training price to one reference date (the training cut-off) with the market index, then
bringing the estimate to the valuation date with the same index, keeps the time story in
one place (``market_index.py``) and lets the trees learn only what the property is worth.

Trees are depth-limited (max depth 6) so TreeSHAP contributions (Lundberg et al., 2020,
"From local explanations to global understanding with explainable AI for trees"), used for
comp adjustments and value drivers, stay cheap (~1 ms per row). The number of boosting
rounds is chosen by early stopping on the latest 15 % of training sales (time-ordered, the
honest direction), then the model is refit on all sales with 10 % more rounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np

from reos.valuation.features import FeatureSpec

PARAMS: dict[str, Any] = {
    "objective": "regression",
    "learning_rate": 0.05,
    "num_leaves": 31,
    "max_depth": 6,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "cat_smooth": 10.0,
    "cat_l2": 10.0,
    "min_data_per_group": 20,
    "num_threads": 2,
    "verbose": -1,
    "seed": 17,
    "deterministic": True,
    "force_row_wise": True,
}
MAX_ROUNDS = 3000


def threads_for(rows: int) -> int:
    """OpenMP threads for LightGBM: one below ~10k rows, where a second thread costs more in
    synchronisation than it saves (and collapses when the machine is shared), else two."""
    return 1 if rows < 10_000 else 2


def fit_booster(
    x: np.ndarray,
    y: np.ndarray,
    categorical: list[int],
    order: np.ndarray,
    *,
    params: dict[str, Any] | None = None,
    rounds: int | None = None,
) -> tuple[lgb.Booster, int]:
    """Train a booster; ``order`` (e.g. sale day) defines the time-ordered stopping slice.

    Returns the booster and the number of rounds used.
    """
    p = dict(PARAMS if params is None else params)
    p["num_threads"] = threads_for(len(y))
    if rounds is None:
        n = len(y)
        sort = np.argsort(order, kind="stable")
        cut = int(n * 0.85)
        tr, va = sort[:cut], sort[cut:]
        if len(va) >= 30 and len(tr) >= 50:
            d_tr = lgb.Dataset(x[tr], y[tr], categorical_feature=categorical, free_raw_data=True)
            d_va = lgb.Dataset(x[va], y[va], categorical_feature=categorical, reference=d_tr)
            probe = lgb.train(
                p,
                d_tr,
                num_boost_round=MAX_ROUNDS,
                valid_sets=[d_va],
                callbacks=[lgb.early_stopping(100, verbose=False)],
            )
            rounds = max(int(probe.best_iteration * 1.1), 50)
        else:
            rounds = 300
    ds = lgb.Dataset(x, y, categorical_feature=categorical, free_raw_data=True)
    return lgb.train(p, ds, num_boost_round=rounds), rounds


@dataclass
class HedonicModel:
    """Booster predicting log price at ``reference_day`` from the feature matrix."""

    booster: lgb.Booster
    spec: FeatureSpec
    reference_day: float
    rounds: int

    def predict_log(self, x: np.ndarray) -> np.ndarray:
        if len(x) == 0:
            return np.zeros(0)
        return np.asarray(self.booster.predict(x, num_threads=threads_for(len(x))), dtype="float64")

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """TreeSHAP per feature in log price; last column is the base (expected) value."""
        if len(x) == 0:
            return np.zeros((0, len(self.spec.names) + 1))
        return np.asarray(self.booster.predict(x, pred_contrib=True, num_threads=threads_for(20 * len(x))), dtype="float64")

    def grouped(self, contrib: np.ndarray) -> tuple[list[str], np.ndarray]:
        """Sum feature contributions into display groups (e.g. all location fields)."""
        names = self.spec.display_names()
        groups = list(dict.fromkeys(names))
        out = np.zeros((contrib.shape[0], len(groups)))
        for j, name in enumerate(names):
            out[:, groups.index(name)] += contrib[:, j]
        return groups, out
