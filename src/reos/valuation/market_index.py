"""Market index: how the price level of comparable homes moves over time.

Method: a smoothed hedonic time-dummy index (Eurostat/OECD *Handbook on Residential Property
Price Indices*, 2013, ch. 5). We regress log sale price on hedonic controls (log living
area, log lot, year built, beds/baths, quality/condition, garage, basement, pool, area and
property-type fixed effects; whichever the organisation's data has) plus one dummy per time
period. Because log living area is a control, exp(period effect) is a quality-adjusted
$/sqft index; without living area it is a quality-adjusted price index. Compared with a
median $/sqft by month this removes composition drift (a month with many large new homes is
not a price rise).

* Periods: a calendar month with at least ``min_period_sales`` (5) sales is its own period;
  thinner months are pooled into their quarter, and thinner quarters into their year.
* Smoothing: a random-walk prior on period effects, i.e. penalty
  sigma^2 / (step_sd^2 * gap_months) * (delta_k - delta_{k-1})^2 with sigma^2 the robust
  residual variance. The step (0.1 - 2 % per month; monthly moves of seasonally adjusted
  metro indices such as FHFA HPI or Case-Shiller are typically ~0.5 %) is chosen per
  organisation by rolling-origin out-of-time error inside the training window
  (:func:`select_settings`): the end of a one-sided smoother is its noisiest point, and a
  too-loose step lets the last thin months read as a level change. The fit is Huber-weighted (IRLS) so the occasional
  distressed sale does not bend a thin month.
* Local linear trend: the random walk penalises every step, so a steady rise is shrunk
  towards flat and the end of the index lags the market (on Ames with prices made to rise
  10 % a year, a 2010 valuation came out 6.7 % low). The second candidate smoother
  penalises only changes of slope (integrated random walk, :func:`smoothness_matrix`), so a
  steady trend reaches the end unshrunk and a one-season dip moves the level little. Its
  slope step (0.02 - 0.5 % a month per month) is chosen out of time with the rest; it
  replaces the random walk only when its level error is lower by more than
  ``ORDER2_MARGIN``, so a flat market keeps the walk.
* Areas (zip or neighbourhood) with at least ``min_area_sales`` sales get their own deviation
  path from the global index, fitted the same way on the global residuals and shrunk to zero
  (prior sd 5 %), so a thin area never drives its own index.
* Seasonality: housing prices may have a regular within-year cycle (spring/summer above
  winter; Case-Shiller and FHFA publish seasonally adjusted series for this reason). When
  the sales span at least 24 months the regression can add two annual harmonics (sin/cos of
  1x and 2x the day-of-year angle), so the smoothed trend is seasonally adjusted and the
  level at any date is trend + seasonal effect of that date. Whether to use them is part of
  the same out-of-time choice: four harmonic coefficients from a few years of a quality-
  adjusted series can be noise, and a noisy seasonal dip is read as a level drop.
* Extrapolation: after the last period centre the index follows a *damped trend* (Gardner
  & McKenzie, 1985, "Forecasting trends in time series"; the damped-trend member of the
  exponential-smoothing / state-space family, Hyndman et al., 2008, *Forecasting with
  Exponential Smoothing*): the slope b of the smoothed (seasonally adjusted) index over its
  last L months (weighted least squares on the period levels, weights = sales) continues
  with damping phi per month, so h months past the end the level is
  level_end + b * (phi + phi^2 + ... + phi^h) and never moves more than b * phi / (1 - phi)
  in total; b is bounded to +-2 % a month. Flat (b = 0) is one of the candidates: whether to
  extrapolate, over which L (6 or 12 months) and how damped (phi 0.8, 0.9 or 0.97) is chosen
  after the smoothing step and seasonality (chosen with a flat end), by the same rolling-
  origin out-of-time level error inside the training window, never on the sales being
  valued; flat wins ties. Why: a
  random-walk smoother's end lags a moving market and a flat forecast adds a second lag
  (a held-out county valued in a rising year came out 2-3 % low); a damped trend recovers
  most of that without betting on a turn. The seasonal effect of the target date still
  applies; before the first period the level is held flat.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from reos.valuation.sales_frame import day_of, usable_columns

DAYS_PER_MONTH = 365.2425 / 12.0
LINEAR_NUMERIC = (
    "year_built",
    "beds",
    "baths_full",
    "baths_half",
    "stories",
    "quality",
    "condition",
    "garage_spaces",
)


@dataclass
class MarketIndex:
    """Smoothed log price level at period centres (days since 1970-01-01)."""

    centre_day: np.ndarray
    log_level: np.ndarray
    n_sales: np.ndarray
    period_label: list[str]
    unit: str
    area_column: str | None = None
    area_log_dev: dict[str, np.ndarray] = field(default_factory=dict)
    seasonal: list[float] = field(default_factory=list)
    step_sd: float = 0.005
    trend_per_month: float = 0.0
    damping: float = 0.0
    trend_lookback_months: int = 0
    #: 1: random-walk smoother; 2: local linear trend (see :func:`smoothness_matrix`)
    smoother_order: int = 1

    def log_level_at(self, days: np.ndarray, areas: np.ndarray | None = None) -> np.ndarray:
        """Log level at the given days (damped trend after the end, flat before the start),
        plus the seasonal effect and the area deviation."""
        d = np.asarray(days, dtype="float64")
        level = np.interp(d, self.centre_day, self.log_level)
        if self.trend_per_month != 0.0 and len(self.centre_day):
            ahead = (d - self.centre_day[-1]) / DAYS_PER_MONTH
            level = level + self.trend_per_month * damped_months(ahead, self.damping)
        if self.seasonal:
            level = level + seasonal_terms(d) @ np.asarray(self.seasonal)
        if areas is not None and self.area_log_dev:
            a = np.asarray(areas, dtype=object)
            for name, dev in self.area_log_dev.items():
                m = a == name
                if m.any():
                    level[m] += np.interp(d[m], self.centre_day, dev)
        return np.asarray(level, dtype="float64")

    def log_factor(
        self, from_days: np.ndarray, to_days: np.ndarray, areas: np.ndarray | None = None
    ) -> np.ndarray:
        """Vectorised log multiplier bringing a price at ``from_days`` to ``to_days``."""
        return np.asarray(
            self.log_level_at(to_days, areas) - self.log_level_at(from_days, areas), dtype="float64"
        )

    def factor(self, from_date: object, to_date: object, area: str | None = None) -> float:
        """Multiplier that brings a price from ``from_date`` to ``to_date`` (area optional)."""
        areas = None if area is None else np.array([area], dtype=object)
        lf = self.log_factor(np.array([day_of(from_date)]), np.array([day_of(to_date)]), areas)
        return float(np.exp(lf[0]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "centre_day": self.centre_day.tolist(),
            "log_level": self.log_level.tolist(),
            "n_sales": self.n_sales.tolist(),
            "period_label": list(self.period_label),
            "unit": self.unit,
            "area_column": self.area_column,
            "area_log_dev": {k: v.tolist() for k, v in self.area_log_dev.items()},
            "seasonal": list(self.seasonal),
            "step_sd": self.step_sd,
            "trend_per_month": self.trend_per_month,
            "damping": self.damping,
            "trend_lookback_months": self.trend_lookback_months,
            "smoother_order": self.smoother_order,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MarketIndex:
        return cls(
            centre_day=np.asarray(data["centre_day"], dtype="float64"),
            log_level=np.asarray(data["log_level"], dtype="float64"),
            n_sales=np.asarray(data["n_sales"], dtype="int64"),
            period_label=list(data["period_label"]),
            unit=str(data["unit"]),
            area_column=data.get("area_column"),
            area_log_dev={
                k: np.asarray(v, dtype="float64") for k, v in data["area_log_dev"].items()
            },
            seasonal=[float(v) for v in data.get("seasonal", [])],
            step_sd=float(data.get("step_sd", 0.005)),
            trend_per_month=float(data.get("trend_per_month", 0.0)),
            damping=float(data.get("damping", 0.0)),
            trend_lookback_months=int(data.get("trend_lookback_months", 0)),
            smoother_order=int(data.get("smoother_order", 1)),
        )


def damped_months(months_ahead: np.ndarray, damping: float) -> np.ndarray:
    """phi + phi^2 + ... + phi^h for h = ``months_ahead`` (continuous; 0 for h <= 0)."""
    h = np.maximum(np.asarray(months_ahead, dtype="float64"), 0.0)
    if damping >= 1.0:
        return np.asarray(h, dtype="float64")
    if damping <= 0.0:
        return np.zeros(h.shape, dtype="float64")
    return np.asarray(damping * (1.0 - damping**h) / (1.0 - damping), dtype="float64")


MAX_TREND_PER_MONTH = 0.02
TREND_CHOICES: tuple[tuple[int, float], ...] = (
    (0, 0.0),
    (6, 0.8),
    (6, 0.9),
    (6, 0.97),
    (12, 0.8),
    (12, 0.9),
    (12, 0.97),
)


def end_slope(
    centre_day: np.ndarray, log_level: np.ndarray, n_sales: np.ndarray, lookback_months: int
) -> float:
    """Log change per month of the index over its last ``lookback_months`` (weighted least
    squares on the period levels, weights = sales per period), bounded to +-2 % a month;
    0 when fewer than three periods fall in the span."""
    if lookback_months <= 0 or len(centre_day) < 3:
        return 0.0
    end = float(centre_day[-1])
    m = centre_day >= end - lookback_months * DAYS_PER_MONTH
    if m.sum() < 3:
        return 0.0
    x = (centre_day[m] - end) / DAYS_PER_MONTH
    y = log_level[m]
    w = np.maximum(np.asarray(n_sales, dtype="float64")[m], 1.0)
    xm, ym = np.average(x, weights=w), np.average(y, weights=w)
    sxx = float(np.sum(w * (x - xm) ** 2))
    if sxx <= 0:
        return 0.0
    slope = float(np.sum(w * (x - xm) * (y - ym)) / sxx)
    return float(np.clip(slope, -MAX_TREND_PER_MONTH, MAX_TREND_PER_MONTH))


def seasonal_terms(days: np.ndarray) -> np.ndarray:
    """Two annual harmonics of the day-of-year angle (columns sin1, cos1, sin2, cos2)."""
    angle = 2.0 * np.pi * (np.asarray(days, dtype="float64") % 365.2425) / 365.2425
    return np.column_stack([np.sin(angle), np.cos(angle), np.sin(2 * angle), np.cos(2 * angle)])


def assign_periods(mid_days: np.ndarray, min_period_sales: int = 5) -> tuple[np.ndarray, list[str]]:
    """Period id per sale: own month if >= min sales, else its quarter, else its year."""
    stamps = pd.to_datetime(np.asarray(mid_days, dtype="int64"), unit="D")
    month = pd.Series(stamps.year * 12 + stamps.month - 1)
    counts = month.value_counts()
    month_n = month.map(counts).to_numpy()
    quarter = (month // 3).to_numpy()
    year = (month // 12).to_numpy()
    labels = np.where(month_n >= min_period_sales, "M" + month.astype(str).to_numpy(), "")
    thin = labels == ""
    if thin.any():
        q_counts = pd.Series(quarter[thin]).value_counts()
        q_ok = pd.Series(quarter).map(q_counts).fillna(0).to_numpy() >= min_period_sales
        use_q = thin & q_ok
        labels = np.where(use_q, "Q" + pd.Series(quarter).astype(str).to_numpy(), labels)
        labels = np.where(thin & ~use_q, "Y" + pd.Series(year).astype(str).to_numpy(), labels)
    centre = pd.Series(np.asarray(mid_days, dtype="float64")).groupby(labels).mean().sort_values()
    order = list(centre.index)
    lookup = {lab: i for i, lab in enumerate(order)}
    return np.array([lookup[lab] for lab in labels], dtype="int64"), order


def hedonic_controls(frame: pd.DataFrame, area_column: str | None) -> np.ndarray:
    """Design matrix of linear hedonic controls from whichever fields are present."""
    cols: list[np.ndarray] = []
    for name in ("living_area_sqft", "lot_size_sqft", "basement_area_sqft"):
        if name in usable_columns(frame, (name,)):
            v = np.log1p(frame[name].to_numpy(dtype="float64"))
            cols.extend(_impute(v))
    for name in usable_columns(frame, LINEAR_NUMERIC):
        v = frame[name].to_numpy(dtype="float64")
        cols.extend(_impute(v))
        if name == "year_built":
            c = v - np.nanmedian(v)
            cols.append(np.nan_to_num(c * c / 100.0))
    if "pool" in frame.columns:
        cols.append(
            frame["pool"].map(lambda x: 1.0 if x is True else 0.0).to_numpy(dtype="float64")
        )
    for cat in [c for c in (area_column, "property_type") if c]:
        values = frame[cat].astype("string").fillna("_na_")
        counts = values.value_counts()
        keep = [k for k in counts.index if counts[k] >= 5]
        for level in keep[1:]:
            cols.append((values == level).to_numpy(dtype="float64"))
    if not cols:
        return np.zeros((len(frame), 0))
    x = np.column_stack(cols)
    sd = x.std(axis=0)
    x = x[:, sd > 0]
    return np.asarray((x - x.mean(axis=0)) / x.std(axis=0), dtype="float64")


def _impute(v: np.ndarray) -> list[np.ndarray]:
    miss = np.isnan(v)
    if not miss.any():
        return [v]
    filled = np.where(miss, np.nanmedian(v) if (~miss).any() else 0.0, v)
    return [filled, miss.astype("float64")]


def _solve(
    x: np.ndarray,
    period: np.ndarray,
    n_periods: int,
    y: np.ndarray,
    w: np.ndarray,
    smooth: np.ndarray,
    ridge_beta: float,
) -> tuple[np.ndarray, np.ndarray]:
    p = x.shape[1]
    onehot = np.zeros((len(y), n_periods))
    onehot[np.arange(len(y)), period] = 1.0
    z = np.hstack([x, onehot])
    zw = z * w[:, None]
    a = z.T @ zw
    a[np.arange(p), np.arange(p)] += ridge_beta
    a[p:, p:] += smooth  # the smoothness prior on the period effects
    theta = np.linalg.solve(a + 1e-9 * np.eye(a.shape[0]), zw.T @ y)
    return theta[:p], theta[p:]


STEP_SD_GRID = (0.001, 0.0025, 0.005, 0.01, 0.02)
#: Local-linear-trend smoother: sd of the change of the monthly slope per month.
SLOPE_SD_GRID = (0.0002, 0.0005, 0.001, 0.002, 0.005)
#: The local linear trend replaces the random walk only when its out-of-time level error is
#: lower by more than this (log points): near-ties go to the simpler smoother.
ORDER2_MARGIN = 0.002
#: Random-walk step of an area's deviation when the index itself is a local linear trend.
AREA_STEP_SD = 0.005
CV_ORIGINS = 4
CV_STEP_MONTHS = 3
#: How far past each origin the out-of-time choice scores its forecasts. Twelve months,
#: the horizon the index is judged on (a rolling-origin backtest values the whole next
#: year's sales): scored on six, the choice preferred strongly damped trends that ran out
#: after a few months. Measured with ``benchmarks/avm_backtest.py --rolling`` (6 -> 12):
#: real Ames trimmed median ratio 1.000/0.989/0.981 -> 0.991/0.996/0.991 (2008/09/10),
#: MdAPE 5.4/5.6/5.4 -> 5.8/5.6/5.3 %; Ames with prices rising or falling 5-15 %/year
#: (``--rising-pct-per-year``, 12 windows), mean |ratio - 1| 0.038 -> 0.032, worst 0.071
#: -> 0.063; Sacramento (one date) unchanged.
CV_HORIZON_MONTHS = 12


@dataclass(frozen=True)
class IndexSettings:
    """Smoothing and seasonality of the index, chosen out of time (``select_settings``)."""

    step_sd: float = 0.005
    seasonal: bool = True
    cv_level_error: float = float("nan")
    trend_lookback_months: int = 0
    damping: float = 0.0
    order: int = 1


def _penalty(sigma2: float, step_sd: float, gaps: np.ndarray) -> np.ndarray:
    return np.asarray(sigma2 / (step_sd**2 * gaps), dtype="float64")


def smoothness_matrix(centre: np.ndarray, order: int) -> np.ndarray:
    """The period-effect penalty for a unit innovation variance, to be scaled by
    sigma^2 / step_sd^2 (residual variance over the smoother's innovation variance).

    Order 1, random walk: sum_k (d_k - d_{k-1})^2 / g_k, with g_k the gap in months: the
    level's steps are penalised, so a steady trend is shrunk towards flat and the end of
    the smoothed series lags a moving market.
    Order 2, local linear trend (integrated random walk; Durbin & Koopman, 2012, *Time
    Series Analysis by State Space Methods*, sec. 3.2): sum_k (s_k - s_{k-1})^2 / h_k with
    s_k = (d_k - d_{k-1}) / g_k the slope of each step and h_k = (g_k + g_{k-1}) / 2: only a
    change of slope is penalised, so a steady trend is carried to the end unshrunk and a
    one-season dip at the end moves the level little."""
    k = len(centre)
    out = np.zeros((k, k))
    gaps = np.maximum(np.diff(np.asarray(centre, dtype="float64")) / DAYS_PER_MONTH, 0.25)
    if order == 1:
        for j, g in enumerate(gaps, start=1):
            out[j - 1 : j + 1, j - 1 : j + 1] += np.array([[1.0, -1.0], [-1.0, 1.0]]) / g
        return out
    for j in range(2, k):
        g1, g2 = gaps[j - 2], gaps[j - 1]
        v = np.array([1.0 / g1, -(1.0 / g1 + 1.0 / g2), 1.0 / g2])
        out[j - 2 : j + 1, j - 2 : j + 1] += np.outer(v, v) / ((g1 + g2) / 2.0)
    return out


def _irls(
    x: np.ndarray,
    period: np.ndarray,
    k: int,
    y: np.ndarray,
    fit: np.ndarray,
    unit_smooth: np.ndarray,
    step_sd: float,
    iterations: int = 4,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """Huber-weighted penalised fit on the rows in ``fit`` (others get weight 0).

    Returns beta, delta, residuals (all rows), Huber weights and the robust residual variance.
    Periods with no fitted rows are carried by the random-walk penalty, i.e. held at the
    level of the nearest fitted period: exactly the flat extrapolation used at valuation.
    """
    w = fit.astype("float64")
    sigma2 = 0.2**2
    beta, delta = np.zeros(x.shape[1]), np.zeros(k)
    resid = np.zeros_like(y)
    for _ in range(iterations):
        beta, delta = _solve(
            x, period, k, y, w, unit_smooth * (sigma2 / step_sd**2), ridge_beta=1e-3 * fit.sum()
        )
        resid = y - x @ beta - delta[period]
        r = resid[fit]
        scale = 1.4826 * np.median(np.abs(r - np.median(r)))
        sigma2 = max(scale**2, 1e-4)
        c = 1.345 * np.sqrt(sigma2)  # Huber tuning constant (95 % efficiency)
        absr = np.abs(resid)
        w = np.where(absr <= c, 1.0, c / np.maximum(absr, 1e-12)) * fit
    return beta, delta, resid, w, sigma2


def select_settings(
    frame: pd.DataFrame, *, min_period_sales: int = 5, area_column: str | None = None
) -> IndexSettings:
    """Pick the random-walk step and seasonality by out-of-time error inside the window.

    Rolling-origin evaluation (Tashman, 2000, "Out-of-sample tests of forecasting accuracy"):
    for origins 3, 6, 9 and 12 months before the end of the window, fit the index on sales
    before the origin and forecast the log price of the next 12 months' sales (flat trend,
    seasonal effect of each date, hedonic controls). The score is the mean absolute
    *median* forecast error per origin - the level error a holdout median ratio would show -
    so the choice is made only on what the index is for: the level at a later date.
    Huber weights are taken from one fit on the full window, which keeps the search to one
    weighted cross-product per origin. Falls back to the defaults when the window is too
    short (< 18 months) or an origin has fewer than 30 later sales.
    """
    default = IndexSettings()
    mid = frame["mid_close_day"].to_numpy(dtype="float64")
    span = np.nanmax(mid) - np.nanmin(mid)
    if span < 18 * DAYS_PER_MONTH:
        return default
    y = np.log(frame["sale_price"].to_numpy(dtype="float64"))
    period, labels = assign_periods(mid, min_period_sales)
    k = len(labels)
    centre = pd.Series(mid).groupby(period).mean().reindex(range(k)).to_numpy()
    units = {order: smoothness_matrix(centre, order) for order in (1, 2)}
    base = hedonic_controls(frame, area_column)
    can_season = span >= 24 * DAYS_PER_MONTH - 31
    x = np.hstack([base, seasonal_terms(mid)]) if can_season else base
    everything = np.ones(len(y), dtype=bool)
    _, _, _, w_full, sigma2 = _irls(x, period, k, y, everything, units[1], default.step_sd)
    p = x.shape[1]
    onehot = np.zeros((len(y), k))
    onehot[np.arange(len(y)), period] = 1.0
    z = np.hstack([x, onehot])
    end = float(np.nanmax(mid))
    configs = [
        (order, sd, season)
        for order, grid in ((1, STEP_SD_GRID), (2, SLOPE_SD_GRID))
        for sd in grid
        for season in ((True, False) if can_season else (False,))
    ]
    errors: dict[tuple[int, float, bool, int, float], list[float]] = {
        (order, sd, season, lb, phi): []
        for order, sd, season in configs
        for lb, phi in TREND_CHOICES
    }
    n_period = np.bincount(period, minlength=k)
    for j in range(1, CV_ORIGINS + 1):
        origin = end - j * CV_STEP_MONTHS * DAYS_PER_MONTH
        fit = mid < origin
        ahead = (mid >= origin) & (mid < origin + CV_HORIZON_MONTHS * DAYS_PER_MONTH)
        if fit.sum() < 100 or ahead.sum() < 30:
            continue
        last = int(period[fit].max())
        zw = z * (w_full * fit)[:, None]
        a_full = z.T @ zw
        b_full = zw.T @ y
        for order, sd, season in configs:
            keep = np.ones(p + k, dtype=bool)
            if can_season and not season:
                keep[p - 4 : p] = False
            a = a_full.copy()
            a[np.arange(p), np.arange(p)] += 1e-3 * fit.sum()
            a[p:, p:] += units[order] * (sigma2 / sd**2)
            theta = np.zeros(p + k)
            sub = a[np.ix_(keep, keep)]
            theta[keep] = np.linalg.solve(sub + 1e-9 * np.eye(sub.shape[0]), b_full[keep])
            beta, delta = theta[:p], theta[p:]
            flat = x[ahead] @ beta + delta[np.minimum(period[ahead], last)]
            months_ahead = (mid[ahead] - centre[last]) / DAYS_PER_MONTH
            for lb, phi in TREND_CHOICES:
                slope = end_slope(centre[: last + 1], delta[: last + 1], n_period[: last + 1], lb)
                pred = flat + slope * damped_months(months_ahead, phi)
                errors[(order, sd, season, lb, phi)].append(float(np.median(y[ahead] - pred)))
    scored = {c: float(np.mean(np.abs(e))) for c, e in errors.items() if e}
    if not scored:
        return default
    # Random walk, nested: first the smoother (step, seasonality) with a flat end, as it
    # would be without a trend; then, for that smoother only, whether a damped trend beats
    # flat. Choosing all combinations at once lets a noise-level trend drag the smoother
    # along. The local linear trend carries its own slope, so its step, seasonality and
    # extrapolation are chosen together. It replaces the random walk only when clearly
    # better (ORDER2_MARGIN): in a flat market the two are alike and the simpler one stays.
    flat = [c for c in scored if c[0] == 1 and c[3] == 0]
    smoother = min(
        flat,
        key=lambda c: (round(scored[c], 4), (c[1], c[2]) != (default.step_sd, default.seasonal)),
    )
    best = min(
        (c for c in scored if c[:3] == smoother[:3]),
        key=lambda c: (round(scored[c], 4), c[3] != 0),
    )
    trend_model = [c for c in scored if c[0] == 2]
    if trend_model:
        best2 = min(trend_model, key=lambda c: (round(scored[c], 4), c[3] != 0))
        if scored[best2] < scored[best] - ORDER2_MARGIN:
            best = best2
    return IndexSettings(
        step_sd=best[1],
        seasonal=best[2],
        cv_level_error=scored[best],
        trend_lookback_months=best[3],
        damping=best[4],
        order=best[0],
    )


def fit_market_index(
    frame: pd.DataFrame,
    *,
    min_period_sales: int = 5,
    settings: IndexSettings | None = None,
    min_area_sales: int = 60,
    area_sd: float = 0.05,
) -> MarketIndex:
    """Fit the index on trusted sales (``prepare_frame`` output with ``sale_price``).

    ``settings`` default to :func:`select_settings` on the same sales (out-of-time choice).
    """
    has_area = "living_area_sqft" in usable_columns(frame, ("living_area_sqft",))
    area_column = next(iter(usable_columns(frame, ("neighborhood", "zip"), min_share=0.5)), None)
    if settings is None:
        settings = select_settings(
            frame, min_period_sales=min_period_sales, area_column=area_column
        )
    step_sd = settings.step_sd
    y = np.log(frame["sale_price"].to_numpy(dtype="float64"))
    mid = frame["mid_close_day"].to_numpy(dtype="float64")
    period, labels = assign_periods(mid, min_period_sales)
    k = len(labels)
    centre = pd.Series(mid).groupby(period).mean().reindex(range(k)).to_numpy()
    n_sales = np.bincount(period, minlength=k)
    gaps = np.maximum(np.diff(centre) / DAYS_PER_MONTH, 0.25)
    x = hedonic_controls(frame, area_column)
    use_season = settings.seasonal and (np.nanmax(mid) - np.nanmin(mid)) >= 24 * DAYS_PER_MONTH - 31
    if use_season:
        x = np.hstack([x, seasonal_terms(mid)])
    beta, delta, resid, w, sigma2 = _irls(
        x, period, k, y, np.ones(len(y), dtype=bool),
        smoothness_matrix(centre, settings.order), step_sd,
    )  # fmt: skip
    level = delta - delta[-1]
    index = MarketIndex(
        centre_day=centre,
        log_level=level,
        n_sales=n_sales,
        period_label=labels,
        unit="price_per_sqft" if has_area else "price",
        area_column=area_column,
        seasonal=[float(v) for v in beta[-4:]] if use_season else [],
        step_sd=step_sd,
        trend_per_month=end_slope(centre, level, n_sales, settings.trend_lookback_months),
        damping=settings.damping,
        trend_lookback_months=settings.trend_lookback_months,
        smoother_order=settings.order,
    )
    if area_column is not None:
        areas = frame[area_column].astype("string").fillna("_na_").to_numpy(dtype=object)
        # an area's deviation from the index is a random walk whatever the index's smoother
        pen = _penalty(sigma2, step_sd if settings.order == 1 else AREA_STEP_SD, gaps)
        shrink = sigma2 / area_sd**2
        for name in pd.Series(areas).value_counts().loc[lambda s: s >= min_area_sales].index:
            m = areas == name
            index.area_log_dev[str(name)] = _area_deviation(
                resid[m], w[m], period[m], k, pen, shrink
            )
    return index


def _area_deviation(
    resid: np.ndarray, w: np.ndarray, period: np.ndarray, k: int, pen: np.ndarray, shrink: float
) -> np.ndarray:
    a = np.diag(np.bincount(period, weights=w, minlength=k) + shrink)
    for j, p in enumerate(pen, start=1):
        a[j - 1, j - 1] += p
        a[j, j] += p
        a[j - 1, j] -= p
        a[j, j - 1] -= p
    b = np.bincount(period, weights=w * resid, minlength=k)
    dev = np.linalg.solve(a, b)
    return np.asarray(dev, dtype="float64")
