"""The market index after its last sale: a damped trend chosen out of time, never a bet."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reos.valuation.market_index import (
    DAYS_PER_MONTH,
    MAX_TREND_PER_MONTH,
    IndexSettings,
    damped_months,
    end_slope,
    fit_market_index,
    select_settings,
    smoothness_matrix,
)
from reos.valuation.sales_frame import day_of, prepare_frame


def _market(
    monthly_log_change: float, months: int = 36, per_month: int = 40, seed: int = 1
) -> pd.DataFrame:
    """Sales of a synthetic market whose quality-adjusted level moves by a fixed log change a
    month: log price = 12 + 0.8 log(size / 1500) + change x month + noise (sd 0.08)."""
    rng = np.random.default_rng(seed)
    n = months * per_month
    month = np.repeat(np.arange(months), per_month)
    size = rng.uniform(900, 3000, n)
    day = rng.integers(0, 28, n)
    dates = pd.to_datetime("2015-01-01") + pd.to_timedelta(month * 30.44 + day, unit="D")
    log_price = 12 + 0.8 * np.log(size / 1500) + monthly_log_change * month + rng.normal(0, 0.08, n)
    frame = pd.DataFrame(
        {
            "sale_id": [f"s{i}" for i in range(n)],
            "property_id": [f"p{i}" for i in range(n)],
            "close_date": dates,
            "sale_price": np.exp(log_price).round(),
            "living_area_sqft": size.round(),
            "latitude": 40.0 + rng.normal(0, 0.02, n),
            "longitude": -100.0 + rng.normal(0, 0.02, n),
        }
    )
    return prepare_frame(frame, require_price=True)


def _level_change(index, months_after_end: float) -> float:  # type: ignore[no-untyped-def]
    end = float(index.centre_day[-1])
    days = np.array([end, end + months_after_end * DAYS_PER_MONTH])
    level = index.log_level_at(days)
    return float(level[1] - level[0])


def test_a_rising_market_is_extrapolated_past_the_last_sale_with_damping() -> None:
    index = fit_market_index(_market(0.01))
    assert index.trend_lookback_months > 0 and 0 < index.damping < 1
    assert 0.005 <= index.trend_per_month <= 0.015
    six = _level_change(index, 6)
    assert 0.02 <= six <= 0.065  # about 6 months of a 1 %/month rise, damped
    # bounded: however far ahead, never more than slope * phi / (1 - phi)
    far = _level_change(index, 600)
    cap = index.trend_per_month * index.damping / (1 - index.damping)
    assert far == pytest.approx(cap, rel=1e-3)
    assert _level_change(index, 12) < 12 * index.trend_per_month


def test_a_flat_market_stays_flat_past_the_last_sale() -> None:
    index = fit_market_index(_market(0.0, seed=2))
    assert abs(_level_change(index, 12)) <= 0.015


def test_a_trend_is_a_choice_made_on_earlier_windows_only() -> None:
    """Sales after the window cannot change the trend: the index is fitted on the window."""
    sales = _market(0.01)
    window = sales[sales["close_day"] < day_of("2017-06-01")].reset_index(drop=True)
    later = sales.copy()
    later.loc[later["close_day"] >= day_of("2017-06-01"), "sale_price"] *= 0.5
    a = fit_market_index(window)
    b = fit_market_index(later[later["close_day"] < day_of("2017-06-01")].reset_index(drop=True))
    assert a.trend_per_month == b.trend_per_month


def test_damped_sum_and_slope_bounds() -> None:
    assert damped_months(np.array([-3.0, 0.0]), 0.9).tolist() == [0.0, 0.0]
    assert damped_months(np.array([1.0]), 0.9)[0] == pytest.approx(0.9)
    assert damped_months(np.array([2.0]), 0.9)[0] == pytest.approx(0.9 + 0.81)
    centre = np.arange(12) * DAYS_PER_MONTH
    steep = end_slope(centre, 0.2 * np.arange(12), np.full(12, 10), 12)
    assert steep == MAX_TREND_PER_MONTH
    assert end_slope(centre, 0.01 * np.arange(12), np.full(12, 10), 6) == pytest.approx(0.01)
    assert end_slope(centre, np.zeros(12), np.full(12, 10), 0) == 0.0


def test_a_local_linear_trend_is_not_shrunk_where_a_random_walk_is() -> None:
    """A random-walk prior penalises every step of a steady rise, so its index is shrunk
    towards flat and its end lags; the local linear trend penalises only changes of slope
    and carries the whole rise to the end. Chosen out of time, a steadily rising market
    gets the local linear trend."""
    centre = np.arange(12) * 30.44 + np.array([0, 2, -3, 1, 0, 4, -2, 0, 1, 3, 0, -1])
    line = 0.01 * centre / DAYS_PER_MONTH
    first, second = smoothness_matrix(centre, 1), smoothness_matrix(centre, 2)
    assert line @ second @ line == pytest.approx(0.0, abs=1e-12)
    assert line @ first @ line > 0.0
    flat = np.ones(12)
    assert flat @ first @ flat == pytest.approx(0.0, abs=1e-12)
    assert flat @ second @ flat == pytest.approx(0.0, abs=1e-12)

    sales = _market(0.01)  # 36 months, a 1 %/month rise: 0.35 log points from first to last
    walk = fit_market_index(sales, settings=IndexSettings(step_sd=0.001, seasonal=False))
    trend = fit_market_index(sales, settings=IndexSettings(step_sd=0.0005, seasonal=False, order=2))
    assert walk.log_level[-1] - walk.log_level[0] < 0.2
    assert trend.log_level[-1] - trend.log_level[0] == pytest.approx(0.35, abs=0.02)
    assert trend.log_level[-1] - trend.log_level[-7] == pytest.approx(0.06, abs=0.01)
    assert trend.smoother_order == 2
    chosen = select_settings(sales)
    assert chosen.order == 2
    assert select_settings(_market(0.0, seed=2)).order == 1  # a flat market keeps the walk
