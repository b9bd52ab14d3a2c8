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
    property_code: np.ndarray
    property_codes: pd.Index
    size: np.ndarray
    year: np.ndarray
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
        codes, uniques = pd.factorize(frame["property_id"].astype(str))
        return cls(
            frame=frame,
            xy=xy,
            latest_day=frame["latest_close_day"].to_numpy(dtype="float64"),
            mid_day=frame["mid_close_day"].to_numpy(dtype="float64"),
            property_code=np.asarray(codes, dtype="int64"),
            property_codes=pd.Index(uniques),
            size=frame["living_area_sqft"].to_numpy(dtype="float64"),
            year=frame["year_built"].to_numpy(dtype="float64"),
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
    """Per subject: pool row indices of candidates and their distances in metres.

    Vectorised per property type: one KD-tree query for all subjects of that type, the date
    and same-property screens and the similarity score on (subjects x k) arrays; only the
    subjects with too few eligible neighbours are queried again with a wider k.
    """
    n = len(subj_xy)
    out_rows: list[np.ndarray] = [np.zeros(0, dtype="int64")] * n
    out_dist: list[np.ndarray] = [np.zeros(0)] * n
    subj_code = pool.property_codes.get_indexer(pd.Index(np.asarray(subj_pid).astype(str)))
    types = np.asarray(subj_type).astype(str)
    located = np.isfinite(subj_xy).all(axis=1) if n else np.zeros(0, dtype=bool)
    for ptype in np.unique(types) if n else []:
        entry = pool.trees.get(str(ptype))
        if entry is None:
            continue
        tree, rows = entry
        pending = np.flatnonzero((types == ptype) & located)
        k = min(SPATIAL_K, len(rows))
        while len(pending):
            dist, loc = tree.query(subj_xy[pending], k=k)
            dist = np.asarray(dist, dtype="float64").reshape(len(pending), -1)
            cand = rows[np.asarray(loc).reshape(len(pending), -1)]
            day = subj_day[pending][:, None]
            keep = (pool.latest_day[cand] < day) & (
                pool.property_code[cand] != subj_code[pending][:, None]
            )
            enough = (keep.sum(axis=1) >= n_candidates) | (k >= len(rows))
            done = pending[enough]
            if len(done):
                c, d, kp = cand[enough], dist[enough], keep[enough]
                months = (subj_day[done][:, None] - pool.mid_day[c]) / 30.44
                score = d / DIST_SCALE_M + months / MONTHS_SCALE
                size = subj_size[done][:, None]
                with np.errstate(divide="ignore", invalid="ignore"):
                    size_term = np.nan_to_num(
                        np.abs(np.log(pool.size[c] / size)) / SIZE_SCALE_LOG, nan=1.0
                    )
                score = score + np.where(np.isfinite(size), size_term, 0.0)
                year = subj_year[done][:, None]
                age_term = np.nan_to_num(np.abs(pool.year[c] - year) / AGE_SCALE_YEARS, nan=1.0)
                score = score + np.where(np.isfinite(year), age_term, 0.0)
                score = np.where(kp, score, np.inf)
                best = np.argsort(score, axis=1, kind="stable")[:, :n_candidates]
                for j, subject in enumerate(done):
                    b = best[j][np.isfinite(score[j, best[j]])]
                    out_rows[int(subject)] = c[j, b].astype("int64")
                    out_dist[int(subject)] = d[j, b]
            pending = pending[~enough]
            k = min(k * 4, len(rows))
    return out_rows, out_dist
