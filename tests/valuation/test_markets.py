"""Several markets in one organisation: each house valued by its own market, the same value
whatever else the organisation holds, and every estimate inside its own interval."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reos.valuation.engine import AvmModel, train, value_many
from reos.valuation.markets import find_markets
from reos.valuation.sales_frame import prepare_frame
from reos.valuation.valuation_result import ValuationResult

CUTOFF = "2010-01-01"


def _inside(results: list[ValuationResult]) -> None:
    for r in results:
        low, high = r.interval_80
        assert low <= r.estimated_value <= high, (r.estimated_value, r.interval_80)


@pytest.fixture(scope="module")
def ames_part(ames: pd.DataFrame) -> pd.DataFrame:
    return ames.sample(n=1500, random_state=8).sort_values("sale_id").reset_index(drop=True)


@pytest.fixture(scope="module")
def sacramento() -> pd.DataFrame:
    import avm_frames

    frame = avm_frames.sacramento_frame()
    return frame


@pytest.fixture(scope="module")
def far_market(ames: pd.DataFrame) -> pd.DataFrame:
    """A third market simulated far from both: Ames homes moved to central Florida, with a
    price level 1.6x Ames and its own (rising) trend, 2006-2009."""
    rng = np.random.default_rng(4)
    frame = ames.sample(n=700, random_state=21).reset_index(drop=True).copy()
    frame["sale_id"] = [f"far-{i}" for i in range(len(frame))]
    frame["property_id"] = [f"far-p{i}" for i in range(len(frame))]
    frame["latitude"] = frame["latitude"] - 42.03 + 28.54
    frame["longitude"] = frame["longitude"] + 93.63 - 81.38
    years = (frame["close_date"] - pd.Timestamp("2006-01-01")).dt.days / 365.25
    frame["sale_price"] = (
        frame["sale_price"] * 1.6 * np.exp(0.05 * years + rng.normal(0, 0.03, len(frame)))
    )
    frame["neighborhood"] = "FL_" + frame["neighborhood"].astype(str)
    return frame


def test_markets_are_connected_areas_that_do_not_move_when_another_is_added(
    ames_part: pd.DataFrame, sacramento: pd.DataFrame, far_market: pd.DataFrame
) -> None:
    alone = find_markets(prepare_frame(ames_part, require_price=True), min_sales=50)
    both = find_markets(
        prepare_frame(
            pd.concat([ames_part, sacramento, far_market], ignore_index=True), require_price=True
        ),
        min_sales=50,
    )
    assert len(alone.names) == 1
    assert len(both.names) == 3
    assert alone.names[0] in both.names  # same members, same name
    assert both.sizes[alone.names[0]] == len(ames_part)


@pytest.fixture(scope="module")
def orgs(
    ames_part: pd.DataFrame, sacramento: pd.DataFrame, far_market: pd.DataFrame
) -> dict[str, tuple[AvmModel, pd.DataFrame]]:
    mixed = pd.concat([ames_part, sacramento, far_market], ignore_index=True)
    return {
        "ames": (train(ames_part, CUTOFF), ames_part),
        "sacramento": (train(sacramento, CUTOFF), sacramento),
        "mixed": (train(mixed, CUTOFF), mixed),
    }


def test_one_model_per_market_each_with_its_own_index_and_calibration(
    orgs: dict[str, tuple[AvmModel, pd.DataFrame]],
) -> None:
    mixed = orgs["mixed"][0]
    assert len(mixed.markets) == 3
    assert len(mixed.metadata["markets"]) == 3
    assert orgs["ames"][0].metadata["markets"].keys() <= mixed.metadata["markets"].keys()
    windows = {m.metadata["training_window"][0][:4] for m in mixed.markets.values()}
    assert windows == {"2006", "2008"}  # Sacramento's one month trains its own market


def test_the_same_house_gets_the_same_value_in_a_one_or_three_market_org(
    orgs: dict[str, tuple[AvmModel, pd.DataFrame]],
    ames: pd.DataFrame,
    sacramento: pd.DataFrame,
) -> None:
    ames_model, ames_pool = orgs["ames"]
    sac_model, sac_pool = orgs["sacramento"]
    mixed_model, mixed_pool = orgs["mixed"]
    ames_subjects = ames[ames["close_date"] >= "2010-01-01"].head(25).drop(columns=["sale_price"])
    ames_dates = list(ames[ames["close_date"] >= "2010-01-01"].head(25)["close_date"])
    sac_subjects = sacramento.sample(n=25, random_state=2).drop(columns=["sale_price"])
    sac_subjects = sac_subjects.assign(property_id=[f"new-{i}" for i in range(25)])
    alone = value_many(ames_model, ames_subjects, ames_dates, ames_pool) + value_many(
        sac_model, sac_subjects, "2008-07-01", sac_pool
    )
    together = value_many(
        mixed_model,
        pd.concat([ames_subjects, sac_subjects], ignore_index=True),
        ames_dates + [pd.Timestamp("2008-07-01")] * 25,
        mixed_pool,
    )
    _inside(alone)
    _inside(together)
    a = np.array([v.estimated_value for v in alone])
    t = np.array([v.estimated_value for v in together])
    assert np.max(np.abs(t / a - 1)) <= 0.02
    assert {v.method["market"] for v in together[:25]} == {ames_model.market_map.names[0]}
    # comps come from the house's own market only
    sac_ids = set(sacramento["sale_id"])
    assert all(c.sale_id not in sac_ids for v in together[:25] for c in v.comps)
    assert all(c.sale_id in sac_ids for v in together[25:] for c in v.comps)


def test_a_far_market_is_valued_at_its_own_level(
    orgs: dict[str, tuple[AvmModel, pd.DataFrame]], far_market: pd.DataFrame
) -> None:
    mixed_model, mixed_pool = orgs["mixed"]
    subjects = far_market.head(25)
    vals = value_many(mixed_model, subjects.drop(columns=["sale_price"]), "2010-01-15", mixed_pool)
    _inside(vals)
    ratio = np.median([v.estimated_value for v in vals] / subjects["sale_price"].to_numpy())
    # the far market's level is 1.6x Ames and rising ~5 %/year: valued at the end of 2009
    # its homes (sold 2006-2009) are worth somewhat more than they sold for, never Ames prices
    assert 0.95 <= ratio <= 1.35


def test_save_and_load_keep_every_market(
    orgs: dict[str, tuple[AvmModel, pd.DataFrame]], tmp_path: object
) -> None:
    from pathlib import Path

    model, pool = orgs["mixed"]
    path = Path(str(tmp_path)) / "m"
    model.save(path)
    loaded = AvmModel.load(path)
    subjects = pool.sample(n=12, random_state=5).drop(columns=["sale_price"])
    a = value_many(model, subjects, "2010-02-01", pool)
    b = value_many(loaded, subjects, "2010-02-01", pool)
    assert [v.estimated_value for v in a] == [v.estimated_value for v in b]
    assert [v.method["market"] for v in a] == [v.method["market"] for v in b]
