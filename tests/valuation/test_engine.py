"""End-to-end engine behaviour on a small Ames subset: leakage, refusals, output shape."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reos.errors import InsufficientData, ValidationFailed
from reos.valuation.backtest import format_table, run_backtest
from reos.valuation.engine import AvmModel, train, value, value_many


def _subject(frame: pd.DataFrame, i: int) -> dict[str, object]:
    return frame.drop(columns=["sale_price"]).iloc[i].to_dict()


def test_comps_are_strictly_before_the_valuation_date_and_never_the_subject(
    small_model: AvmModel, ames_small: pd.DataFrame
) -> None:
    hold = ames_small[ames_small["close_date"] >= "2010-03-01"].head(40)
    vals = value_many(
        small_model, hold.drop(columns=["sale_price"]), list(hold["close_date"]), ames_small
    )
    by_id = ames_small.set_index("sale_id")
    for (_, row), v in zip(hold.iterrows(), vals, strict=True):
        assert v.n_comps > 0
        for c in v.comps:
            assert c.sale_id != row["sale_id"] and c.property_id != row["property_id"]
            # month precision: the whole month of the comp ends before the valuation date
            comp_month_end = by_id.loc[c.sale_id, "close_date"] + pd.offsets.MonthEnd(0)
            assert comp_month_end < row["close_date"]


def test_holdout_sales_never_train(ames_small: pd.DataFrame) -> None:
    ames_small = ames_small.head(400)
    poisoned = ames_small.copy()
    late = poisoned["close_date"] >= "2010-01-01"
    poisoned.loc[late, "sale_price"] = poisoned.loc[late, "sale_price"] * 100
    clean = train(ames_small, "2010-01-01")
    dirty = train(poisoned, "2010-01-01")
    assert clean.metadata["rows"] == dirty.metadata["rows"]
    subject = ames_small[~late].drop(columns=["sale_price"]).head(5)
    pool = ames_small[~late]
    a = [v.estimated_value for v in value_many(clean, subject, "2010-01-01", pool)]
    b = [v.estimated_value for v in value_many(dirty, subject, "2010-01-01", pool)]
    assert a == b


def test_sale_on_valuation_date_is_not_a_comp(
    small_model: AvmModel, ames_small: pd.DataFrame
) -> None:
    subj = ames_small[ames_small["close_date"] >= "2010-01-01"].iloc[0]
    twin = ames_small[ames_small["close_date"] < "2010-01-01"].iloc[[0]].copy()
    twin[["latitude", "longitude", "property_type"]] = subj[
        ["latitude", "longitude", "property_type"]
    ].to_numpy()
    twin["sale_id"], twin["close_date"], twin["close_date_precision"] = (
        "twin",
        subj["close_date"],
        "day",
    )
    pool = pd.concat([ames_small, twin], ignore_index=True)
    v = value(small_model, _subject(ames_small, int(subj.name)), subj["close_date"], pool)
    assert "twin" not in {c.sale_id for c in v.comps}


def test_valuation_is_explained_and_serialisable(
    small_model: AvmModel, ames_small: pd.DataFrame
) -> None:
    v = value(small_model, _subject(ames_small, 0), "2010-06-15", ames_small)
    d = json.loads(json.dumps(v.to_dict()))
    assert d["interval_80"][0] < d["estimated_value"] < d["interval_80"][1]
    assert d["confidence"] in {"A", "B", "C", "D"}
    base = d["method"]["base_value"]
    assert sum(d["drivers"].values()) == pytest.approx(
        d["estimated_value"] - base, rel=0.01, abs=50
    )
    for c in d["comps"]:
        assert c["adjusted_price"] - c["time_adjusted_price"] == pytest.approx(
            sum(c["adjustments"].values()), abs=50
        )
    assert abs(sum(c["weight"] for c in d["comps"]) - 1) < 1e-3


def test_save_and_load_give_the_same_value(
    small_model: AvmModel, ames_small: pd.DataFrame, tmp_path: Path
) -> None:
    small_model.save(tmp_path)
    loaded = AvmModel.load(tmp_path)
    a = value(small_model, _subject(ames_small, 3), "2010-05-01", ames_small)
    b = value(loaded, _subject(ames_small, 3), "2010-05-01", ames_small)
    assert a.estimated_value == pytest.approx(b.estimated_value, rel=1e-9)
    assert loaded.metadata["rows"]["trusted"] >= 50


def test_too_few_sales_is_refused(ames_small: pd.DataFrame) -> None:
    with pytest.raises(InsufficientData) as err:
        train(ames_small.head(30), "2011-01-01")
    assert "50" in err.value.message


def test_bad_subjects_are_refused_clearly(small_model: AvmModel, ames_small: pd.DataFrame) -> None:
    s = _subject(ames_small, 0)
    with pytest.raises(ValidationFailed) as err:
        value(small_model, {**s, "latitude": None, "longitude": None}, "2010-06-01", ames_small)
    assert err.value.field == "latitude"
    with pytest.raises(ValidationFailed) as err:
        value(small_model, {**s, "living_area_sqft": 0}, "2010-06-01", ames_small)
    assert err.value.field == "living_area_sqft"
    with pytest.raises(InsufficientData):
        value(small_model, s, "1999-01-01", ames_small)
    with pytest.raises(ValidationFailed):
        value(small_model, s, "not a date", ames_small)


def test_nans_and_unseen_type_still_give_a_sane_value(
    small_model: AvmModel, ames_small: pd.DataFrame
) -> None:
    s = _subject(ames_small, 1)
    s.update({"beds": np.nan, "lot_size_sqft": 0, "year_built": None, "attr_zoning": "never_seen"})
    v = value(small_model, s, "2010-06-01", ames_small)
    assert np.isfinite(v.estimated_value) and v.estimated_value > 0
    odd = value(small_model, {**s, "property_type": "commercial"}, "2010-06-01", ames_small)
    assert odd.confidence == "D" and odd.n_comps == 0 and "hedonic model only" in odd.method["note"]


def test_small_backtest_meets_a_generous_floor(ames_small: pd.DataFrame) -> None:
    result = run_backtest(ames_small, "2010-01-01", draws=200)
    d = result.to_dict()
    assert d["engine"]["n"] == result.n_holdout_valued > 50
    assert d["engine"]["mdape"] < 0.12
    assert 0.85 < d["engine"]["median_ratio"] < 1.15
    assert set(d["baselines"]) == {"lightgbm_hedonic", "knn_ppsf"}
    assert "MdAPE" in format_table(result)


def test_comps_carry_out_of_fold_evidence(small_model: AvmModel, ames_small: pd.DataFrame) -> None:
    """A training sale's comp evidence is its residual against a model that never saw it."""
    from reos.valuation.pipeline import prepare_pool
    from reos.valuation.sales_frame import prepare_frame

    core = small_model.core
    train_rows = ames_small[ames_small["close_date"] < "2010-01-01"]
    frame = prepare_frame(train_rows, require_price=True).reset_index(drop=True)
    prepared = prepare_pool(core, frame)
    stored = np.array(
        [core.oof_resid[str(s)][0] for s in frame["sale_id"] if str(s) in core.oof_resid]
    )
    assert len(stored) > 0.9 * len(frame)
    known = frame["sale_id"].astype(str).isin(core.oof_resid).to_numpy()
    assert np.allclose(prepared.resid[known], stored)
    # in-sample residuals of the fitted model are visibly smaller: that is what OOF undoes
    in_sample = (
        np.log(frame["sale_price"].to_numpy(dtype="float64"))
        - core.reference_log_shift(
            frame["mid_close_day"].to_numpy(dtype="float64"), core.area_labels(frame)
        )
        - core.hedonic.predict_log(prepared.x)
    )
    assert np.median(np.abs(in_sample[known])) < np.median(np.abs(stored))
    v = value(small_model, _subject(ames_small, 2), "2010-06-15", ames_small)
    assert any("out_of_fold_correction" in c.adjustments for c in v.comps)


def test_contributions_add_up_to_the_prediction(
    small_model: AvmModel, ames_small: pd.DataFrame
) -> None:
    from reos.valuation.sales_frame import prepare_frame

    hedonic = small_model.core.hedonic
    x = small_model.core.spec.matrix(prepare_frame(ames_small.head(50), require_price=True))
    contrib = hedonic.contributions(x)
    assert np.allclose(contrib.sum(axis=1), hedonic.predict_log(x), atol=1e-9)


def test_holdout_screen_ignores_every_model(ames_small: pd.DataFrame) -> None:
    from reos.valuation.backtest import holdout_screen
    from reos.valuation.sales_frame import prepare_frame

    frame = prepare_frame(ames_small, require_price=True).reset_index(drop=True)
    train_part = frame[frame["close_date"] < "2010-01-01"]
    hold = frame[frame["close_date"] >= "2010-01-01"].head(6).copy()
    hold["arm_length"] = [pd.NA, pd.NA, True, pd.NA, pd.NA, pd.NA]
    hold.iloc[0, hold.columns.get_loc("sale_price")] *= 10  # unknown flag, absurd price: out
    hold.iloc[2, hold.columns.get_loc("sale_price")] *= 10  # flagged arm's-length: kept
    keep = holdout_screen(train_part, hold)
    assert keep.tolist() == [False, True, True, True, True, True]


def test_index_settings_are_chosen_inside_the_window(small_model: AvmModel) -> None:
    from reos.valuation.market_index import STEP_SD_GRID

    index_meta = small_model.metadata["index"]
    assert index_meta["step_sd"] in STEP_SD_GRID
    assert small_model.metadata["out_of_fold_folds"] >= 3
