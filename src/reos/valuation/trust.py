"""Which sales to learn from and to use as comps.

1. ``arm_length`` False (family transfers, foreclosures, partial-interest sales ...) is
   never trusted. True or unknown goes on to the price check.
2. Price check: the log residual of the index-adjusted price against an out-of-fold hedonic
   prediction. A sale is an outlier when its modified z-score
   0.6745 * |e - median(e)| / MAD(e) exceeds 3.5 (Iglewicz & Hoaglin, 1993, *How to Detect
   and Handle Outliers*). The centre and MAD come from the organisation's own data, so the
   threshold adapts to how noisy a market is; nothing is a fixed dollar or percent cut.

Outliers are excluded from training and from comps; the same rule (stored in the model)
screens comps in a later pool, using the model's own prediction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MODIFIED_Z_MAX = 3.5


@dataclass(frozen=True)
class TrustRule:
    """Robust residual band: |e - centre| / (scale / 0.6745) <= z_max is trusted."""

    centre: float
    mad: float
    z_max: float = MODIFIED_Z_MAX

    def is_outlier(self, resid: np.ndarray) -> np.ndarray:
        z = 0.6745 * np.abs(np.asarray(resid, dtype="float64") - self.centre) / max(self.mad, 1e-6)
        return np.asarray(~(z <= self.z_max))

    @property
    def half_width_log(self) -> float:
        return self.z_max * max(self.mad, 1e-6) / 0.6745


def learn_trust_rule(resid: np.ndarray) -> TrustRule:
    r = np.asarray(resid, dtype="float64")
    r = r[np.isfinite(r)]
    centre = float(np.median(r))
    return TrustRule(centre=centre, mad=float(np.median(np.abs(r - centre))))


def arm_length_allows(flags: np.ndarray) -> np.ndarray:
    """True where the arm's-length flag is True or unknown (only an explicit False rejects)."""
    return np.array([f is not False and not (isinstance(f, np.bool_) and not f) for f in flags])
