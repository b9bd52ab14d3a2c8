"""Candidate comparable sales for each subject, strictly from the subject's past.

Rules (appraisal screening, see valuation.md): same property type; the sale must be known
on the valuation date, i.e. the *latest* day it can have closed (end of month for month-
precision dates) is before the valuation date; never a sale of the subject property itself;
never an untrusted sale. Among eligible sales, the nearest ``SPATIAL_K`` in space (KD-tree
on projected metres) are screened with a similarity score scaled by the usual appraisal
tolerances - 800 m (~0.5 mile), 12 months, 20 % living area, 15 years of age - and the best
``n_candidates`` go on to the ranker. When too few nearby sales are eligible (a dense future
or a rural area), the spatial query widens fourfold until enough are found or the pool of
that property type is exhausted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

SPATIAL_K = 200
DIST_SCALE_M = 800.0
MONTHS_SCALE = 12.0
SIZE_SCALE_LOG = 0.2
AGE_SCALE_YEARS = 15.0


@dataclass
class CompPool:
    """Prepared pool of sales with a KD-tree per property type."""

    frame: pd.DataFrame
    xy: np.ndarray
    latest_day: np.ndarray
    mid_day: np.ndarray
    property_id: np.ndarray
    eligible: np.ndarray
    trees: dict[str, tuple[cKDTree, np.ndarray]]

    @classmethod
    def build(cls, frame: pd.DataFrame, xy: np.ndarray, eligible: np.ndarray) -> CompPool:
        located = np.isfinite(xy).all(axis=1)
        ok = eligible & located
        trees: dict[str, tuple[cKDTree, np.ndarray]] = {}
        types = frame["property_type"].to_numpy(dtype=object)
        for ptype in pd.unique(types[ok]):
            rows = np.flatnonzero(ok & (types == ptype))
            trees[str(ptype)] = (cKDTree(xy[rows]), rows)
        return cls(
            frame=frame,
            xy=xy,
            latest_day=frame["latest_close_day"].to_numpy(dtype="float64"),
            mid_day=frame["mid_close_day"].to_numpy(dtype="float64"),
            property_id=frame["property_id"].to_numpy(dtype=object),
            eligible=ok,
            trees=trees,
        )


def find_candidates(
    pool: CompPool,
    subj_xy: np.ndarray,
    subj_type: np.ndarray,
    subj_pid: np.ndarray,
    subj_day: np.ndarray,
    subj_size: np.ndarray,
    subj_year: np.ndarray,
    *,
    n_candidates: int = 30,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per subject: pool row indices of candidates and their distances in metres."""
    size = pool.frame["living_area_sqft"].to_numpy(dtype="float64")
    year = pool.frame["year_built"].to_numpy(dtype="float64")
    out_rows: list[np.ndarray] = []
    out_dist: list[np.ndarray] = []
    for i in range(len(subj_xy)):
        entry = pool.trees.get(str(subj_type[i]))
        if entry is None or not np.isfinite(subj_xy[i]).all():
            out_rows.append(np.zeros(0, dtype="int64"))
            out_dist.append(np.zeros(0))
            continue
        tree, rows = entry
        k = min(SPATIAL_K, len(rows))
        while True:
            dist, loc = tree.query(subj_xy[i], k=k)
            dist, loc = np.atleast_1d(dist), np.atleast_1d(loc)
            cand = rows[loc]
            keep = (pool.latest_day[cand] < subj_day[i]) & (pool.property_id[cand] != subj_pid[i])
            if keep.sum() >= n_candidates or k >= len(rows):
                break
            k = min(k * 4, len(rows))
        cand, dist = cand[keep], dist[keep]
        months = (subj_day[i] - pool.mid_day[cand]) / 30.44
        score = dist / DIST_SCALE_M + months / MONTHS_SCALE
        if np.isfinite(subj_size[i]):
            score = score + np.nan_to_num(np.abs(np.log(size[cand] / subj_size[i])) / SIZE_SCALE_LOG, nan=1.0)
        if np.isfinite(subj_year[i]):
            score = score + np.nan_to_num(np.abs(year[cand] - subj_year[i]) / AGE_SCALE_YEARS, nan=1.0)
        best = np.argsort(score, kind="stable")[:n_candidates]
        out_rows.append(cand[best])
        out_dist.append(dist[best])
    return out_rows, out_dist
