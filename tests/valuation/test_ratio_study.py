"""Ratio-study statistics against hand-computed numbers and IAAO invariants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reos.valuation.ratio_study import bootstrap_ci, ratio_stats, ratio_study, trim_mask


def test_hand_computed_statistics() -> None:
    # A/S ratios 0.9, 1.0, 1.1, 1.2 on sales of 100, 200, 100, 100
    sale = np.array([100.0, 200.0, 100.0, 100.0])
    assessed = np.array([90.0, 200.0, 110.0, 120.0])
    s = ratio_stats(assessed, sale, low=assessed * 0.9, high=assessed * 1.1)
    assert s["median_ratio"] == pytest.approx(1.05)
    # COD = 100 * mean(|r - 1.05|) / 1.05 = 100 * (0.15 + 0.05 + 0.05 + 0.15) / 4 / 1.05
    assert s["cod"] == pytest.approx(100 * 0.1 / 1.05)
    # PRD = mean(r) / (sum A / sum S) = 1.05 / (520 / 500)
    assert s["prd"] == pytest.approx(1.05 / 1.04)
    assert s["mdape"] == pytest.approx(0.10)  # |errors| 0.1, 0, 0.1, 0.2
    assert s["ppe5"] == pytest.approx(0.25)
    assert s["ppe10"] == pytest.approx(0.75)
    assert s["ppe20"] == pytest.approx(1.0)
    # sale inside [0.9 A, 1.1 A]: 100 not in [81, 99], 200 in, 100 in [99, 121], 100 not in [108, 132]
    assert s["coverage_80"] == pytest.approx(0.5)


def test_prb_matches_hand_regression() -> None:
    sale = np.array([100.0, 200.0, 400.0, 800.0])
    assessed = np.array([110.0, 200.0, 380.0, 720.0])
    r = assessed / sale
    med = np.median(r)
    x = np.log2(0.5 * assessed / med + 0.5 * sale)
    y = (r - med) / med
    slope = np.polyfit(x, y, 1)[0]
    assert ratio_stats(assessed, sale)["prb"] == pytest.approx(slope)
    assert slope < 0  # regressive: high-value homes under-assessed


def test_trim_uses_iqr_fences_then_quantile_fallback() -> None:
    r = np.concatenate([np.linspace(0.9, 1.1, 22), [3.0]])
    keep, method = trim_mask(r)
    assert method == "iqr_1.5" and not keep[-1] and keep[:-1].all()
    wide = np.concatenate([np.ones(10), np.linspace(2, 3, 5), np.linspace(0.1, 0.2, 5)])
    keep, method = trim_mask(wide)
    assert method == "quantile_5pct"


def test_bootstrap_is_reproducible_and_brackets_point() -> None:
    rng = np.random.default_rng(0)
    sale = rng.uniform(1e5, 5e5, 300)
    assessed = sale * rng.lognormal(0, 0.1, 300)
    ci1 = bootstrap_ci(assessed, sale, draws=1000)
    ci2 = bootstrap_ci(assessed, sale, draws=1000)
    assert ci1 == ci2
    point = ratio_stats(assessed, sale)
    for key in ("median_ratio", "cod", "prd", "mdape"):
        assert ci1[key][0] <= point[key] <= ci1[key][1]


def test_study_has_trimmed_and_breakouts() -> None:
    rng = np.random.default_rng(1)
    sale = rng.uniform(1e5, 5e5, 200)
    assessed = sale * rng.lognormal(0, 0.1, 200)
    study = ratio_study(assessed, sale, areas=np.array(["a", "b"] * 100), draws=200)
    d = study.to_dict()
    assert set(d["breakouts"]["price_quintile"]) == {"Q1", "Q2", "Q3", "Q4", "Q5"}
    assert d["breakouts"]["area"]["a"]["n"] == 100
    assert d["trimmed"]["n"] + d["trimmed"]["n_trimmed"] == 200


prices = st.lists(st.floats(1e4, 1e7), min_size=5, max_size=40)


@settings(max_examples=50, deadline=None)
@given(prices, st.floats(0.5, 2.0), st.integers(0, 1000))
def test_scaling_assessed_scales_level_not_uniformity(
    sale: list[float], k: float, seed: int
) -> None:
    s = np.array(sale)
    a = s * np.random.default_rng(seed).lognormal(0, 0.2, len(s))
    base, scaled = ratio_stats(a, s), ratio_stats(a * k, s)
    assert scaled["median_ratio"] == pytest.approx(k * base["median_ratio"], rel=1e-9)
    assert scaled["cod"] == pytest.approx(base["cod"], rel=1e-9, abs=1e-9)
    assert scaled["prd"] == pytest.approx(base["prd"], rel=1e-9)


@settings(max_examples=50, deadline=None)
@given(prices, st.floats(0.5, 2.0))
def test_equal_ratios_are_perfectly_uniform(sale: list[float], k: float) -> None:
    s = np.array(sale)
    out = ratio_stats(k * s, s)
    assert out["prd"] == pytest.approx(1.0)
    assert out["cod"] == pytest.approx(0.0, abs=1e-9)
    assert out["median_ratio"] == pytest.approx(k)
