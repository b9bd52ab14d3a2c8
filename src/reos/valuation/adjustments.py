"""Comp adjustments and value drivers in dollars from additive log-space effects.

The hedonic model works in log price, where TreeSHAP contributions add up exactly. To show
dollars that also add up exactly we use the logarithmic-mean Divisia split (Ang, 2004,
"Decomposition analysis for policymaking in energy"): moving from price P0 to P1 with log
components d_g (sum d_g = ln P1 - ln P0), component g is worth d_g * L(P0, P1) dollars where
L(P0, P1) = (P1 - P0) / (ln P1 - ln P0) (and L = P0 when they are equal).
"""

from __future__ import annotations

import numpy as np


def log_mean(p0: float, p1: float) -> float:
    if p0 <= 0 or p1 <= 0:
        return float("nan")
    if abs(np.log(p1 / p0)) < 1e-9:
        return float(p0)
    return float((p1 - p0) / (np.log(p1) - np.log(p0)))


def split_dollars(
    p0: float, p1: float, log_parts: dict[str, float], min_abs: float = 1.0
) -> dict[str, float]:
    """Dollar value of each log component of the move p0 -> p1 (tiny lines dropped)."""
    scale = log_mean(p0, p1)
    out = {k: round(float(v) * scale, 2) for k, v in log_parts.items()}
    return {k: v for k, v in out.items() if abs(v) >= min_abs}
