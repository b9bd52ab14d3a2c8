"""Feature matrix for the tree models, built from whichever fields an organisation has.

A :class:`FeatureSpec` is learned from the training sales: every numeric field (``reos``
attributes and numeric ``attr_*``) that is filled on at least 5 % of rows, and every text
field (property type, neighbourhood, zip, text ``attr_*``) with at most ``MAX_LEVELS``
distinct values, encoded as integer codes that LightGBM treats as categories. Unseen
categories become missing, so a subject from a new subdivision still gets a value.
Coordinates enter as projected metres plus two 45-degree rotations (trees split on axes;
rotations let them follow diagonal boundaries without a county-specific grid).

Sale attributes (price, date, condition of sale, sale type) are never features: the subject
has no sale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from reos.valuation.geo import LocalProjection
from reos.valuation.sales_frame import CATEGORICAL_ATTRIBUTES, NUMERIC_ATTRIBUTES, usable_columns

MAX_LEVELS = 200
LOCATION_FEATURES = ("x_m", "y_m", "rot_a_m", "rot_b_m", "neighborhood", "zip")
# Fields that only describe where a sale is, grouped into one "location" line for people.
DISPLAY_GROUP = {name: "location" for name in LOCATION_FEATURES}


@dataclass
class FeatureSpec:
    """Which columns feed the tree models and how categories are coded."""

    numeric: list[str]
    categorical: dict[str, list[str]]
    projection: LocalProjection
    uses_location: bool
    display: dict[str, str] = field(default_factory=dict)
    _codes: dict[str, dict[str, float]] = field(default_factory=dict, repr=False)

    @property
    def names(self) -> list[str]:
        return list(self.numeric) + list(self.categorical)

    @property
    def categorical_indices(self) -> list[int]:
        return list(range(len(self.numeric), len(self.numeric) + len(self.categorical)))

    def display_names(self) -> list[str]:
        return [self.display.get(n, DISPLAY_GROUP.get(n, n)) for n in self.names]

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """Float matrix (rows x features) with NaN for missing, category codes as floats."""
        cols: list[np.ndarray] = []
        xy = None
        if self.uses_location:
            xy = self.projection.to_xy(
                frame["latitude"].to_numpy(dtype="float64"),
                frame["longitude"].to_numpy(dtype="float64"),
            )
        for name in self.numeric:
            if name in ("x_m", "y_m", "rot_a_m", "rot_b_m"):
                assert xy is not None
                x, y = xy[:, 0], xy[:, 1]
                v = {
                    "x_m": x,
                    "y_m": y,
                    "rot_a_m": (x + y) / np.sqrt(2),
                    "rot_b_m": (x - y) / np.sqrt(2),
                }[name]
            elif name == "pool":
                v = (
                    frame["pool"]
                    .map(lambda b: 1.0 if b is True else (0.0 if b is False else np.nan))
                    .to_numpy(dtype="float64")
                )
            elif name in frame.columns:
                v = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype="float64")
            else:
                v = np.full(len(frame), np.nan)
            cols.append(v)
        for name, levels in self.categorical.items():
            if name in frame.columns and len(frame) <= 64:
                # a dict lookup per value: pd.Categorical costs ~1 ms per column per call,
                # which dominated a single valuation
                lookup = self._codes.setdefault(
                    name, {level: float(i) for i, level in enumerate(levels)}
                )
                v = np.array(
                    [
                        lookup.get(val, np.nan) if isinstance(val, str) else np.nan
                        for val in frame[name].to_numpy(dtype=object)
                    ],
                    dtype="float64",
                )
            elif name in frame.columns:
                codes = pd.Categorical(frame[name].astype(object), categories=levels).codes
                v = np.where(codes < 0, np.nan, codes).astype("float64")
            else:
                v = np.full(len(frame), np.nan)
            cols.append(v)
        return np.column_stack(cols) if cols else np.zeros((len(frame), 0))

    def to_dict(self) -> dict[str, Any]:
        return {
            "numeric": self.numeric,
            "categorical": self.categorical,
            "projection": [self.projection.origin_lat, self.projection.origin_lon],
            "uses_location": self.uses_location,
            "display": self.display,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSpec:
        lat, lon = data["projection"]
        return cls(
            numeric=list(data["numeric"]),
            categorical={k: list(v) for k, v in data["categorical"].items()},
            projection=LocalProjection(float(lat), float(lon)),
            uses_location=bool(data["uses_location"]),
            display=dict(data.get("display", {})),
        )


def learn_feature_spec(frame: pd.DataFrame) -> FeatureSpec:
    """Choose features from the training sales (see module docstring for the rule)."""
    located = frame["latitude"].notna() & frame["longitude"].notna()
    uses_location = bool(located.mean() >= 0.05)
    if uses_location:
        projection = LocalProjection(
            float(frame.loc[located, "latitude"].median()),
            float(frame.loc[located, "longitude"].median()),
        )
    else:
        projection = LocalProjection(0.0, 0.0)
    numeric = [
        c for c in usable_columns(frame, NUMERIC_ATTRIBUTES) if c not in ("latitude", "longitude")
    ]
    if "pool" in usable_columns(frame, ("pool",)):
        numeric.append("pool")
    attrs = [c for c in frame.columns if c.startswith("attr_")]
    numeric += [
        c for c in usable_columns(frame, attrs) if pd.api.types.is_float_dtype(frame[c].dtype)
    ]
    if uses_location:
        numeric = ["x_m", "y_m", "rot_a_m", "rot_b_m"] + numeric
    categorical: dict[str, list[str]] = {}
    text_cols = list(CATEGORICAL_ATTRIBUTES) + [
        c for c in attrs if not pd.api.types.is_float_dtype(frame[c].dtype)
    ]
    for name in usable_columns(frame, text_cols):
        levels = frame[name].dropna().astype(str).value_counts()
        if 2 <= len(levels) <= MAX_LEVELS:
            categorical[name] = sorted(levels.index.tolist())
    display = {c: c.removeprefix("attr_") for c in attrs}
    return FeatureSpec(numeric, categorical, projection, uses_location, display)
