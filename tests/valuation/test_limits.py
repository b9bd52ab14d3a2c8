"""Honest limits, on plain data and through the engine: comps too far, too old or too
adjusted lower the grade with the reason, or refuse the value."""

from __future__ import annotations

import pandas as pd
import pytest

from reos.config import Settings
from reos.valuation.engine import AvmModel, value_many
from reos.valuation.limits import CompLimits, judge

LIMITS = CompLimits.from_settings(Settings())


def test_within_the_limits_nothing_changes() -> None:
    v = judge("A", 6, 500.0, 6.0, 10.0, LIMITS)
    assert (v.grade, v.reasons, v.refusal) == ("A", [], None)


@pytest.mark.parametrize(
    ("distance_m", "months", "gross_pct", "says"),
    [
        (LIMITS.downgrade_distance_m + 1, 6.0, 10.0, "comps are far"),
        (500.0, LIMITS.downgrade_months + 1, 10.0, "comps are old"),
        (500.0, 6.0, LIMITS.downgrade_gross_pct + 1, "comps are heavily adjusted"),
    ],
)
def test_past_a_down_grade_limit_the_grade_is_c_with_the_reason(
    distance_m: float, months: float, gross_pct: float, says: str
) -> None:
    for grade in ("A", "B", "C"):
        v = judge(grade, 6, distance_m, months, gross_pct, LIMITS)
        assert v.grade == "C" and v.refusal is None
        assert len(v.reasons) == 1 and v.reasons[0].startswith(says)
    assert judge("D", 0, distance_m, months, gross_pct, LIMITS).reasons == []


def test_past_a_refusal_limit_there_is_no_value_and_the_message_says_what_to_do() -> None:
    far = judge("C", 6, 44_000.0, 6.0, 120.0, LIMITS)
    assert far.refusal_field == "location" and "44.0 km away" in str(far.refusal)
    assert far.refused_for == "comparable sales too far" and far.to_dict()["refused_for"]
    assert "import sales of its area" in str(far.refusal)
    old = judge("C", 6, 500.0, 222.0, 40.0, LIMITS, newest_sale="2010-07-31")
    assert old.refusal_field == "as_of" and "222 months" in str(old.refusal)
    assert "2010-07-31" in str(old.refusal) and "reos avm train --if-stale" in str(old.refusal)
    adjusted = judge("C", 6, 500.0, 6.0, LIMITS.refuse_gross_pct + 5, LIMITS)
    assert adjusted.refusal_field == "subject" and "gross adjustment" in str(adjusted.refusal)


def test_the_default_limits_are_ordered() -> None:
    assert LIMITS.downgrade_distance_m < LIMITS.refuse_distance_m
    assert LIMITS.downgrade_months < LIMITS.refuse_months
    assert LIMITS.downgrade_gross_pct < LIMITS.refuse_gross_pct


def _subject(frame: pd.DataFrame, i: int) -> pd.DataFrame:
    return frame.drop(columns=["sale_price"]).iloc[[i]].reset_index(drop=True)


def test_an_address_far_outside_the_market_is_refused_not_valued(
    small_model: AvmModel, ames_small: pd.DataFrame
) -> None:
    """The subject of an Ames sale moved 44 km north (a town with no sales): without limits
    the engine returns a number from comps 44 km away; with them, a refusal."""
    subject = _subject(ames_small, 0)
    subject["latitude"] = subject["latitude"] + 0.40  # 0.40 degrees of latitude ~ 44.5 km
    subject["property_id"] = "subject"
    blind = value_many(small_model, subject, "2010-06-01", ames_small)[0]
    assert blind.refusal is None and blind.estimated_value > 0
    assert blind.method["median_distance_m"] > 40_000
    limited = value_many(small_model, subject, "2010-06-01", ames_small, limits=LIMITS)[0]
    assert limited.refusal_field == "location"
    assert "km away" in str(limited.refusal) and "no sales near this address" in str(
        limited.refusal
    )
    assert "refusal" not in limited.to_dict()


def test_today_from_sales_of_2006_to_2010_is_refused_as_too_old(
    small_model: AvmModel, ames_small: pd.DataFrame
) -> None:
    subject = _subject(ames_small, 1)
    v = value_many(small_model, subject, "2026-06-01", ames_small, limits=LIMITS)[0]
    assert v.refusal_field == "as_of" and v.method["median_months"] > LIMITS.refuse_months
    newest = ames_small["close_date"].max() + pd.offsets.MonthEnd(0)
    assert f"nearer the newest sale ({newest.date()})" in str(v.refusal)


def test_a_down_grade_uses_grade_cs_blend_and_interval(
    small_model: AvmModel, ames_small: pd.DataFrame
) -> None:
    """With a gross-adjustment limit below every comp set, every valuation is graded C with
    the reason, and its blend weight and interval are grade C's (not the comp set's own)."""
    strict = CompLimits(
        downgrade_distance_m=LIMITS.downgrade_distance_m,
        refuse_distance_m=LIMITS.refuse_distance_m,
        downgrade_months=LIMITS.downgrade_months,
        refuse_months=LIMITS.refuse_months,
        downgrade_gross_pct=0.01,
        refuse_gross_pct=10_000.0,
    )
    hold = ames_small[ames_small["close_date"] >= "2010-03-01"].head(30)
    subjects = hold.drop(columns=["sale_price"])
    dates = list(hold["close_date"])
    plain = value_many(small_model, subjects, dates, ames_small)
    limited = value_many(small_model, subjects, dates, ames_small, limits=strict)
    cal = small_model.calibration
    for p, v in zip(plain, limited, strict=True):
        assert v.method["comp_grade"] == p.confidence
        if p.confidence == "D":
            assert v.confidence == "D" and v.warnings == []
            continue
        assert v.confidence == "C" and v.method["blend_weight_comps"] == cal.blend["C"]
        assert any(w.startswith("comps are heavily adjusted") for w in v.warnings)
        assert v.method["limits"]["reasons"] == v.warnings
        low, high = v.interval_80
        assert low <= v.estimated_value <= high


def test_a_subject_lacking_what_the_model_values_by_is_down_graded_or_refused() -> None:
    between = (LIMITS.downgrade_missing_pct + LIMITS.refuse_missing_pct) / 2
    lowered = judge(
        "B",
        6,
        500.0,
        6.0,
        10.0,
        LIMITS,
        missing_features=["quality"],
        missing_importance_pct=between,
    )
    assert lowered.grade == "C" and lowered.refusal is None
    assert lowered.reasons[0].startswith("the subject lacks quality, which most sales have")
    many = [f"f{i}" for i in range(9)]
    refused = judge(
        "B",
        6,
        500.0,
        6.0,
        10.0,
        LIMITS,
        missing_features=many,
        missing_importance_pct=LIMITS.refuse_missing_pct + 1,
    )
    assert refused.refusal_field == "subject"
    assert refused.refused_for == "subject lacks fields the model values by"
    assert "lacks f0, f1, f2, f3, f4, f5 and 3 more" in str(refused.refusal)
    assert str(refused.refusal).endswith("supply them")
    small = judge(
        "B", 6, 500.0, 6.0, 10.0, LIMITS, missing_features=["x"], missing_importance_pct=0.1
    )
    assert (small.grade, small.reasons) == ("B", [])
    hedonic_only = judge(
        "D", 0, 0.0, 0.0, 0.0, LIMITS, missing_features=many, missing_importance_pct=99.0
    )
    assert hedonic_only.refusal_field == "subject"


def test_the_engine_names_the_fields_a_typed_address_lacks(
    small_model: AvmModel, ames_small: pd.DataFrame
) -> None:
    """An Ames sale with only what a typed address has: the engine names what it lacks,
    most valued first, with their share of the model's gain; the full record lacks nothing."""
    full = _subject(ames_small, 2)
    typed = full.copy()
    typed_fields = {"living_area_sqft", "year_built", "beds", "baths_full", "lot_size_sqft"}
    never = {"sale_id", "property_id", "close_date", "close_date_precision", "latitude"}
    never |= {"longitude", "property_type", "address", "arm_length", "sale_condition"}
    for column in typed.columns:
        if column not in typed_fields | never | {"sale_type"}:
            typed[column] = typed[column].where(typed[column].isna())
    unlimited = CompLimits.unlimited()
    whole = value_many(small_model, full, "2010-06-01", ames_small, limits=unlimited)[0]
    bare = value_many(small_model, typed, "2010-06-01", ames_small, limits=unlimited)[0]
    assert whole.method["limits"]["missing_features"] == []
    assert whole.method["limits"]["missing_importance_pct"] == 0
    lacks = bare.method["limits"]["missing_features"]
    assert "neighborhood" in lacks and any(n.startswith("attributes.") for n in lacks)
    assert bare.method["limits"]["missing_importance_pct"] > LIMITS.refuse_missing_pct
    assert bare.refusal is None and bare.warnings == []  # no limit: figures only
    limited = value_many(small_model, typed, "2010-06-01", ames_small, limits=LIMITS)[0]
    assert limited.refusal_field == "subject" and lacks[0] in str(limited.refusal)
