"""The sales-frame contract the valuation engine computes on, and its normalisation.

The engine never sees a database or a source file: a caller hands it a pandas DataFrame with
one row per sale using ``reos`` field names (see ``README.md`` in this package for the full
table). Any attribute column may be absent or entirely empty for a given organisation; this
module adds absent columns as missing so every later step can test "is this field usable"
in one way (:func:`usable_columns`), and coerces types so a string "1,234" or a zero area
never reaches the models as a number.

What happens when a field is absent (kept in sync with ``README.md``):

* ``living_area_sqft`` absent: no $/sqft anywhere; the market index is built on price with
  the other hedonic controls; comps are screened on the remaining attributes; a subject
  without living area is refused only when the model was trained with it.
* ``latitude``/``longitude`` absent: filled from zip centroids computed from the
  organisation's own located sales; a subject with neither is refused.
* ``close_date_precision`` "month"/"year": the sale is treated as possibly happening on any
  day of that month/year, so it is a comp only when the whole period ends before the
  valuation date, and the index places it mid-period.
* ``quality``/``condition``/``lot_size_sqft``/... absent: the feature is simply not used.
* ``arm_length`` absent or NA: trust is learned from hedonic residuals (``trust.py``).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from reos.errors import ValidationFailed
from reos.kernel.vocabulary import PROPERTY_TYPES

SALE_FIELDS: Final = (
    "sale_id",
    "property_id",
    "close_date",
    "close_date_precision",
    "sale_price",
    "arm_length",
    "sale_condition",
    "sale_type",
)
NUMERIC_ATTRIBUTES: Final = (
    "latitude",
    "longitude",
    "living_area_sqft",
    "lot_size_sqft",
    "beds",
    "baths_full",
    "baths_half",
    "year_built",
    "year_remodeled",
    "stories",
    "quality",
    "condition",
    "garage_spaces",
    "basement_area_sqft",
)
# Attributes where zero is not a real measurement (a 0 sqft house, a lot of 0 sqft, year 0).
POSITIVE_ONLY: Final = ("living_area_sqft", "lot_size_sqft", "year_built", "year_remodeled")
CATEGORICAL_ATTRIBUTES: Final = ("zip", "neighborhood", "property_type")
PRECISION_DAYS: Final = {"day": 0, "month": 1, "year": 2}


SMALL_FRAME = 64  # below this many rows, per-value Python beats per-column pandas overhead


def _is_missing(value: object) -> bool:
    return (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float) and value != value)
    )


def _small_float(value: object) -> float:
    if _is_missing(value):
        return float("nan")
    try:
        return float(str(value).replace(",", "").strip())
    except ValueError:
        return float("nan")


def _to_float(series: pd.Series) -> pd.Series:
    if len(series) <= SMALL_FRAME:
        return pd.Series(
            [_small_float(v) for v in series.to_numpy(dtype=object)],
            index=series.index,
            dtype="float64",
        )
    if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
        series = series.astype("string").str.replace(",", "", regex=False).str.strip()
    return pd.to_numeric(series, errors="coerce").astype("float64")


def _to_category_text(series: pd.Series) -> pd.Series:
    if len(series) <= SMALL_FRAME:
        values = [None if _is_missing(v) else str(v).strip() for v in series.to_numpy(dtype=object)]
        return pd.Series(
            [pd.NA if v is None or v == "" else v for v in values], index=series.index, dtype=object
        )
    text = series.astype("string").str.strip()
    return text.mask(text == "", pd.NA).astype(object)


def prepare_frame(frame: pd.DataFrame, *, require_price: bool) -> pd.DataFrame:
    """Return a normalised copy of a sales (or subjects) frame.

    Adds missing optional columns as NA, coerces numbers (commas removed, non-numbers -> NaN,
    non-positive areas/years -> NaN), normalises categories to stripped text, dates to
    ``datetime64`` days and adds three engine columns:

    * ``close_day`` / ``latest_close_day``: int64 days since 1970-01-01 of the earliest and
      latest day the sale can have closed, given its date precision;
    * ``mid_close_day``: the middle of that span (used by the market index).

    Raises ValidationFailed naming the missing column when an identity column is absent.
    """
    required = ["sale_id", "property_id", "close_date", "sale_price"] if require_price else []
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValidationFailed(
            f"sales frame lacks required column(s) {', '.join(missing)}; "
            "map them in the import before valuing",
            field=missing[0],
        )
    out = frame.copy()
    n = len(out)
    if "sale_id" not in out.columns:
        out["sale_id"] = [f"row{i}" for i in range(n)]
    if "property_id" not in out.columns:
        out["property_id"] = out["sale_id"]
    if "address" not in out.columns:
        out["address"] = pd.NA
    for col in ("sale_id", "property_id", "address"):
        out[col] = out[col].astype("string").astype(object)
    for col in NUMERIC_ATTRIBUTES:
        out[col] = _to_float(out[col]) if col in out.columns else np.nan
    for col in POSITIVE_ONLY:
        out[col] = out[col].where(out[col] > 0)
    for col in ("latitude", "longitude"):
        bad = (
            (out[col].abs() < 1e-9) | (out["latitude"].abs() > 90) | (out["longitude"].abs() > 180)
        )
        out[col] = out[col].mask(bad)
    for col in CATEGORICAL_ATTRIBUTES + ("sale_condition", "sale_type"):
        out[col] = _to_category_text(out[col]) if col in out.columns else pd.NA
    out["property_type"] = (
        out["property_type"]
        .where(out["property_type"].isin(PROPERTY_TYPES), "other")
        .where(out["property_type"].notna(), "unknown")
    )
    out["pool"] = _to_bool(out["pool"]) if "pool" in out.columns else pd.NA
    out["arm_length"] = _to_bool(out["arm_length"]) if "arm_length" in out.columns else pd.NA
    attr_cols: dict[str, pd.Series] = {}
    for col in [c for c in out.columns if c.startswith("attr_")]:
        raw = out[col]
        numeric = _to_float(raw)
        present = raw.notna().to_numpy()
        if present.any() and np.isfinite(numeric.to_numpy()[present]).mean() >= 0.95:
            attr_cols[col] = numeric
        else:
            attr_cols[col] = _to_category_text(raw)
    if attr_cols:
        out = out.drop(columns=list(attr_cols)).join(pd.DataFrame(attr_cols, index=out.index))
    if "sale_price" in out.columns:
        price = _to_float(out["sale_price"])
        out["sale_price"] = price.where(price > 0)
    else:
        out["sale_price"] = np.nan
    if "close_date" in out.columns:
        dates = pd.to_datetime(out["close_date"], errors="coerce")
    else:
        dates = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]")
    out["close_date"] = dates.dt.floor("D")
    precision = (
        out["close_date_precision"].astype("string").str.lower().fillna("day")
        if "close_date_precision" in out.columns
        else pd.Series("day", index=out.index)
    )
    out["close_date_precision"] = precision.where(
        precision.isin(list(PRECISION_DAYS)), "day"
    ).astype(object)
    start = to_days(out["close_date"])
    end = start.copy()
    valid = ~np.isnan(start)
    month_end = out["close_date"] + pd.offsets.MonthEnd(0)
    year_end = out["close_date"] + pd.offsets.YearEnd(0)
    is_month = (precision == "month").to_numpy() & valid
    is_year = (precision == "year").to_numpy() & valid
    end[is_month] = to_days(month_end)[is_month]
    end[is_year] = to_days(year_end)[is_year]
    out["close_day"] = start
    out["latest_close_day"] = end
    out["mid_close_day"] = (start + end) / 2.0
    return out


def _to_bool(series: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.astype(object)
    text = series.astype("string").str.strip().str.lower()
    mapping = {
        "true": True,
        "t": True,
        "y": True,
        "yes": True,
        "1": True,
        "1.0": True,
        "false": False,
        "f": False,
        "n": False,
        "no": False,
        "0": False,
        "0.0": False,
    }
    return text.map(mapping).astype(object).where(text.notna(), pd.NA)


def to_days(dates: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """Days since 1970-01-01 as float64 (NaN for missing), whatever the datetime resolution."""
    values = pd.to_datetime(pd.Series(dates)).to_numpy(dtype="datetime64[D]")
    days = values.astype("int64").astype("float64")
    days[np.isnat(values)] = np.nan
    return np.asarray(days, dtype="float64")


def day_of(value: object) -> float:
    """One date-like value (date, datetime, str, Timestamp) as days since 1970-01-01."""
    try:
        stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(
            f"valuation date {value!r} is not a date", field="valuation_date"
        ) from exc
    if pd.isna(stamp):
        raise ValidationFailed("valuation date is missing", field="valuation_date")
    return float(np.datetime64(stamp.date(), "D").astype("int64"))


def usable_columns(
    frame: pd.DataFrame, columns: list[str] | tuple[str, ...], *, min_share: float = 0.05
) -> list[str]:
    """Columns present with at least ``min_share`` of rows filled (an all-NaN column is absent)."""
    n = max(len(frame), 1)
    return [c for c in columns if c in frame.columns and frame[c].notna().sum() / n >= min_share]
