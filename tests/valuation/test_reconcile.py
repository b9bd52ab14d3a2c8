"""Reconciliation: the interval always holds the estimate; the equity slope removes the
price-related bias a noisy sale price puts into a ratio study."""

from __future__ import annotations

import numpy as np

from reos.valuation.reconcile import Calibration, equity_slope, learn_calibration, prb_of


def test_interval_contains_the_estimate_even_when_every_slice_error_has_one_sign() -> None:
    rng = np.random.default_rng(3)
    log_price = rng.normal(12, 0.3, 300)
    # a slice valued 30-50 % too low: every error log(S/V) is positive
    log_hedonic = log_price - rng.uniform(0.3, 0.5, 300)
    cal = learn_calibration(log_price, np.full(300, np.nan), log_hedonic, np.array(["D"] * 300))
    assert cal.q_low["all"] <= 0.0 <= cal.q_high["all"]
    for grade in ("A", "B", "C", "D"):
        low, high = cal.interval(grade, 12.0)
        assert low <= np.exp(12.0) <= high
    stored = Calibration(q_low={"all": 0.4}, q_high={"all": 0.9})  # e.g. an older model file
    low, high = stored.interval("A", 12.0)
    assert low <= np.exp(12.0) <= high


def test_equity_slope_zeroes_the_noise_bias_of_a_calibrated_model() -> None:
    rng = np.random.default_rng(5)
    worth = rng.normal(12, 0.4, 1500)
    log_price = worth + rng.normal(0, 0.1, 1500)  # a sale price is the worth plus noise
    log_value = worth  # a perfectly calibrated model: E[price | value] = value
    assert prb_of(log_price, log_value[None, :])[0] < -0.015  # reads as regressive
    k, centre = equity_slope(log_price, log_value)
    assert 1.01 < k < 1.1
    rotated = centre + k * (log_value - centre)
    assert abs(prb_of(log_price, rotated[None, :])[0]) < 0.006


def test_equity_slope_does_nothing_without_evidence() -> None:
    rng = np.random.default_rng(8)
    worth = rng.normal(12, 0.4, 30)
    assert equity_slope(worth + rng.normal(0, 0.1, 30), worth)[0] == 1.0
    # values exactly proportional to prices: no bias to remove
    worth = rng.normal(12, 0.4, 400)
    k, _ = equity_slope(worth, worth)
    assert abs(k - 1.0) < 0.005
