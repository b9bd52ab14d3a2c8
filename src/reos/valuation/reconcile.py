"""Reconcile comps and the hedonic estimate into one value, an 80 % interval and a grade.

* Comp weights: the top ``TOP_K`` candidates by ranker score get weight
  (TOP_K + 1 - rank) / (GROSS_FLOOR + gross adjustment), i.e. by rank and inversely by gross
  adjustment (IAAO / appraisal practice: heavily adjusted comps are weak evidence). The comp
  indication is the weighted geometric mean of adjusted prices (log-space averaging keeps one
  expensive comp from dominating).
* Confidence grade, from appraisal screening tolerances (valuation.md): A = at least 5 comps,
  median distance <= 1.6 km (1 mile), median gross adjustment <= 15 % and median age of sale
  <= 12 months; B = at least 3 comps within 3.2 km and <= 25 % gross; C = any comps;
  D = no comps (hedonic only).
* Blend: log value = lambda_g * comp indication + (1 - lambda_g) * hedonic, with lambda_g per
  grade learned on an out-of-time slice of the training window (grid 0..1 minimising mean
  absolute log error), so thin/far/heavily-adjusted comp sets lean on the model.
* Calibration slope (Cox, 1958; Steyerberg, 2009, *Clinical Prediction Models*, ch. 15):
  OLS of log sale price on the blended log value over the slice (sales inside the 5-95 %
  error quantiles, so a few wild sales cannot lever it). A regularised model pulls
  extreme homes toward the middle (slope > 1: cheap homes over-valued, dear homes under-
  valued - the regressivity PRD/PRB measure); the value is rotated about the slice's mean
  log value: v' = v + (b - 1) (v - centre). Only the slope is used; the intercept is a
  price level at the slice's dates, which is the market index's job. b is clipped to
  [0.8, 1.25] and its sampling error shrinks it toward 1 (b' = 1 + (b - 1) * t^2 / (1 + t^2)
  with t = (b - 1) / se(b)), so a slice that cannot tell does nothing.
* Interval: split-conformal (Vovk et al., 2005; Lei et al., 2018) quantiles of the slice's log
  errors log(S/V) at 10 % and 90 %, per grade when the grade has >= 40 slice sales, else
  pooled. Finite-sample correction: levels 0.1 * (1 - 1/n) and 0.9 + 0.1 / n.
  The interval is the estimate times exp([q_low, q_high]) with q_low <= 0 <= q_high by
  construction (learned quantiles are widened to include 0, and ``Calibration.interval``
  applies the same bound to any stored model), so an estimate always lies inside its own
  interval: a slice whose errors all lie on one side says the level is off, which is the
  market index's job to fix, not a reason to report a range that excludes the value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

TOP_K = 6
GROSS_FLOOR = 0.10
GRADES = ("A", "B", "C", "D")
MIN_GRADE_CAL = 40
DEFAULT_LAMBDA = {"A": 0.6, "B": 0.5, "C": 0.3, "D": 0.0}


def comp_weights(rank: np.ndarray, gross: np.ndarray) -> np.ndarray:
    w = (TOP_K + 1 - rank) / (GROSS_FLOOR + np.abs(gross))
    return np.asarray(w / w.sum(), dtype="float64")


def grade(n_comps: int, median_distance_m: float, median_gross: float, median_months: float) -> str:
    if n_comps == 0:
        return "D"
    if (
        n_comps >= 5
        and median_distance_m <= 1609.0
        and median_gross <= 0.15
        and median_months <= 12
    ):
        return "A"
    if n_comps >= 3 and median_distance_m <= 3219.0 and median_gross <= 0.25:
        return "B"
    return "C"


@dataclass
class Calibration:
    """Blend weights and conformal log-error quantiles learned out of time."""

    blend: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_LAMBDA))
    q_low: dict[str, float] = field(default_factory=dict)
    q_high: dict[str, float] = field(default_factory=dict)
    n_slice: int = 0
    slice_metrics: dict[str, float] = field(default_factory=dict)
    slope: float = 1.0
    centre: float = 0.0

    def rotate(self, log_value: np.ndarray | float) -> np.ndarray:
        """Apply the calibration slope about the slice centre (see module docstring)."""
        v = np.asarray(log_value, dtype="float64")
        return np.asarray(v + (self.slope - 1.0) * (v - self.centre), dtype="float64")

    def interval(self, grade_: str, log_value: float) -> tuple[float, float]:
        """80 % interval around ``exp(log_value)``; contains it by construction."""
        lo = min(self.q_low.get(grade_, self.q_low.get("all", -0.2)), 0.0)
        hi = max(self.q_high.get(grade_, self.q_high.get("all", 0.2)), 0.0)
        return float(np.exp(log_value + lo)), float(np.exp(log_value + hi))

    def to_dict(self) -> dict[str, Any]:
        return {
            "blend": self.blend,
            "q_low": self.q_low,
            "q_high": self.q_high,
            "n_slice": self.n_slice,
            "slice_metrics": self.slice_metrics,
            "slope": self.slope,
            "centre": self.centre,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        return cls(
            blend={k: float(v) for k, v in data["blend"].items()},
            q_low={k: float(v) for k, v in data["q_low"].items()},
            q_high={k: float(v) for k, v in data["q_high"].items()},
            n_slice=int(data["n_slice"]),
            slice_metrics={k: float(v) for k, v in data["slice_metrics"].items()},
            slope=float(data.get("slope", 1.0)),
            centre=float(data.get("centre", 0.0)),
        )


def learn_calibration(
    log_price: np.ndarray, log_comp: np.ndarray, log_hedonic: np.ndarray, grades: np.ndarray
) -> Calibration:
    """Learn blend weights per grade, then conformal quantiles of the blended log error."""
    cal = Calibration(n_slice=int(len(log_price)))
    grid = np.linspace(0.0, 1.0, 21)
    has_comp = np.isfinite(log_comp)
    pooled = has_comp
    if pooled.sum() >= 20:
        errs = [
            np.mean(
                np.abs(log_price[pooled] - (g * log_comp[pooled] + (1 - g) * log_hedonic[pooled]))
            )
            for g in grid
        ]
        pooled_lambda = float(grid[int(np.argmin(errs))])
    else:
        pooled_lambda = DEFAULT_LAMBDA["B"]
    for g_name in GRADES:
        m = (grades == g_name) & has_comp
        if g_name == "D":
            cal.blend[g_name] = 0.0
        elif m.sum() >= MIN_GRADE_CAL:
            errs = [
                np.mean(np.abs(log_price[m] - (g * log_comp[m] + (1 - g) * log_hedonic[m])))
                for g in grid
            ]
            cal.blend[g_name] = float(grid[int(np.argmin(errs))])
        else:
            cal.blend[g_name] = pooled_lambda
    lam = np.array([cal.blend[g] for g in grades])
    blended = np.where(
        has_comp, lam * np.nan_to_num(log_comp) + (1 - lam) * log_hedonic, log_hedonic
    )
    cal.slope, cal.centre = calibration_slope(log_price, blended)
    blended = cal.rotate(blended)
    err = log_price - blended
    for g_name in ("all",) + GRADES:
        e = err if g_name == "all" else err[grades == g_name]
        if len(e) >= (20 if g_name == "all" else MIN_GRADE_CAL):
            n = len(e)
            cal.q_low[g_name] = min(float(np.quantile(e, 0.10 * (1 - 1 / n))), 0.0)
            cal.q_high[g_name] = max(float(np.quantile(e, min(0.90 + 0.10 / n, 1.0))), 0.0)
    ape = np.abs(np.expm1(-err))
    cal.slice_metrics = {
        "n": float(len(err)),
        "mdape": float(np.median(ape)) if len(err) else float("nan"),
        "ppe10": float(np.mean(ape <= 0.10)) if len(err) else float("nan"),
    }
    return cal


def calibration_slope(log_price: np.ndarray, log_value: np.ndarray) -> tuple[float, float]:
    """(slope, centre) of log price on log value, shrunk by its t-statistic (module docstring)."""
    centre = float(np.mean(log_value)) if len(log_value) else 0.0
    err = log_price - log_value
    if len(err) < 50:
        return 1.0, centre
    lo, hi = np.quantile(err, [0.05, 0.95])
    m = (err >= lo) & (err <= hi)
    xv = log_value[m] - log_value[m].mean()
    yv = log_price[m] - log_price[m].mean()
    sxx = float(xv @ xv)
    if sxx <= 0:
        return 1.0, centre
    b = float(xv @ yv) / sxx
    resid = yv - b * xv
    se = float(np.sqrt((resid @ resid) / max(int(m.sum()) - 2, 1) / sxx))
    t2 = ((b - 1.0) / max(se, 1e-12)) ** 2
    b = 1.0 + (b - 1.0) * t2 / (1.0 + t2)
    return float(np.clip(b, 0.8, 1.25)), centre
