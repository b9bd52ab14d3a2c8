"""Rolling-origin backtest on a small slice: one window per year, nothing from the future."""

from __future__ import annotations

import pandas as pd

from reos.valuation.backtest import format_rolling, rolling_years, run_rolling


def test_rolling_windows_train_before_and_value_within_their_year(ames: pd.DataFrame) -> None:
    frame = ames[ames["close_date"] < "2010-01-01"].sample(n=900, random_state=4)
    frame = frame.reset_index(drop=True)
    assert rolling_years(frame) == [2008, 2009]  # 2007 has only 12 months of history
    (result,) = run_rolling(frame, [2009], draws=0)
    in_2009 = int((frame["close_date"] >= "2009-01-01").sum())
    assert result.n_holdout_valued + result.n_holdout_excluded == in_2009
    assert result.n_train_input == int((frame["close_date"] < "2009-01-01").sum())
    assert result.model_metadata["training_window"][1] < "2009-01-01"
    assert result.values_outside_interval == 0
    assert 0.9 <= result.engine.trimmed["median_ratio"] <= 1.1
    table = format_rolling([result])
    for needle in (
        "value 2009",
        "trimmed median ratio",
        "PRB",
        "median ratio Q5",
        "lightgbm_hedonic",
    ):
        assert needle in table
    quintiles = result.engine.breakouts["price_quintile"]
    assert list(quintiles) == ["Q1", "Q2", "Q3", "Q4", "Q5"]
