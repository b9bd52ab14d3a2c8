"""The learned deal score: LightGBM trained on an organisation's outcomes.

Pure computation on plain data (feature vectors and labels in, a booster and AUCs out);
LightGBM and NumPy are imported here only, so nothing that merely reads a score pays for
them. The comparison with the default weights is made on the same holdout the model never
saw, so "better" means better on deals it did not learn from.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np

from reos.dealflow.scoring import (
    FEATURE_NAMES,
    ScoreFeatures,
    auc,
    default_drivers,
)

#: Share of the outcomes held out to judge the model (stratified by outcome).
HOLDOUT_SHARE = 0.25
#: LightGBM settings for a few hundred to a few thousand outcomes: very shallow trees (4
#: leaves: pairwise interactions at most), a slow rate, so a small organisation's model does
#: not learn its noise (15-leaf trees lost to the default weights at every N in
#: benchmarks/deal_score_auc.py; these win from 1,000 outcomes).
PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.03,
    "num_leaves": 4,
    "min_data_in_leaf": 30,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.9,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "verbose": -1,
    "num_threads": 1,
    "deterministic": True,
}
ROUNDS = 300


@dataclass(frozen=True)
class TrainedScore:
    """A trained booster and how it compares with the default weights on the holdout."""

    booster: Any
    holdout_auc: float
    default_auc: float
    train_rows: int
    holdout_rows: int
    positives: int


def split(labels: Sequence[bool], seed: int) -> tuple[list[int], list[int]]:
    """Train and holdout row indexes, stratified by outcome (each class shuffled and
    :data:`HOLDOUT_SHARE` of it held out)."""
    rng = random.Random(seed)
    train: list[int] = []
    holdout: list[int] = []
    for wanted in (True, False):
        rows = [i for i, label in enumerate(labels) if bool(label) is wanted]
        rng.shuffle(rows)
        cut = max(1, int(round(len(rows) * HOLDOUT_SHARE))) if len(rows) > 1 else 0
        holdout.extend(rows[:cut])
        train.extend(rows[cut:])
    return sorted(train), sorted(holdout)


def matrix(features: Sequence[ScoreFeatures]) -> Any:
    return np.array([f.vector() for f in features], dtype="float64").reshape(
        len(features), len(FEATURE_NAMES)
    )


def train(features: Sequence[ScoreFeatures], labels: Sequence[bool], seed: int = 0) -> TrainedScore:
    """Train on the training rows, judge the model and the default weights on the holdout."""
    train_rows, holdout_rows = split(labels, seed)
    x = matrix(features)
    y = np.array([1.0 if label else 0.0 for label in labels])
    params = {**PARAMS, "seed": seed}
    data = lgb.Dataset(
        x[train_rows], label=y[train_rows], feature_name=list(FEATURE_NAMES), free_raw_data=False
    )
    booster = lgb.train(params, data, num_boost_round=ROUNDS)
    held = [features[i] for i in holdout_rows]
    held_labels = [bool(labels[i]) for i in holdout_rows]
    learned = booster.predict(x[holdout_rows]) if holdout_rows else []
    default = [sum(d.points for d in default_drivers(f)) for f in held]
    return TrainedScore(
        booster,
        auc(held_labels, list(map(float, learned))),
        auc(held_labels, default),
        len(train_rows),
        len(holdout_rows),
        int(sum(1 for label in labels if label)),
    )


def predict(booster: Any, features: Sequence[ScoreFeatures]) -> list[tuple[float, list[float]]]:
    """The probability of a good outcome and the SHAP contributions (log-odds, one per
    feature, then the base value) of each property."""
    if not features:
        return []
    x = matrix(features)
    probabilities = booster.predict(x)
    contributions = booster.predict(x, pred_contrib=True)
    return [
        (float(p), [float(c) for c in row])
        for p, row in zip(probabilities, contributions, strict=True)
    ]


def save(booster: Any, path: Path) -> None:
    """Write the model as LightGBM text to ``path`` (a temporary name first, then renamed,
    so a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    booster.save_model(str(partial))
    partial.replace(path)


def load(path: Path) -> Any:
    return lgb.Booster(model_file=str(path))


def finite(value: float) -> float | None:
    return None if math.isnan(value) else value
