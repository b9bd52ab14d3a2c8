"""Markets inside one organisation: which sales learn and value together.

An investor's store mixes counties (Ames and Sacramento, 2,500 km apart). One market index,
one trust rule and one calibration over all of them are wrong for each: the index mixes
two price paths, the calibration slice is whichever market sold last, and a house's value
depends on what else the organisation holds. So the engine trains one model per *market*
and values each house with its own market's model (``engine.train`` / ``value_many``).

What a market is: a connected settled area. Sales are dropped on a grid of ``CELL_KM``
(10 km) square cells in an equal-distance projection (km east = longitude x 111.2 x
cos(latitude), km north = latitude x 111.2); occupied cells that touch (8-neighbourhood)
form one market, so sales chained by gaps of up to ~10-20 km are one market, and a county
100 km from the next is its own. Why not a county field: the sales frame has none (a
property carries city, state and zip only), zip3 areas cut metros in pieces and join
unrelated towns, and a connected-cells rule needs no tuning per country. Adding a far
market to an organisation never changes an existing market's members (components only
grow by touching), which is what keeps a house's value the same whether its organisation
holds one market or several.

* A component with fewer than ``min_sales`` usable sales cannot be trained on its own; it
  joins the nearest trainable market (smallest cell-centre distance). If no component is
  large enough, everything is one market.
* A market's name is its sales' median point, "lat,lon" to two decimals (stable: it does
  not depend on the other markets).
* Routing a house (subject or pool sale): the market of the nearest occupied cell; without
  coordinates, the market holding most of its zip's sales; with neither, the largest
  market (such a subject is refused later for lacking a location when the model uses one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

CELL_KM = 10.0
KM_PER_DEGREE = 111.195  # mean Earth radius x pi / 180


def to_km(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Equal-distance grid coordinates in km (east, north); NaN where not located."""
    la = np.asarray(lat, dtype="float64")
    lo = np.asarray(lon, dtype="float64")
    return np.column_stack([lo * KM_PER_DEGREE * np.cos(np.radians(la)), la * KM_PER_DEGREE])


@dataclass
class MarketMap:
    """Occupied grid cells with their market, and each zip's market (for unlocated rows)."""

    cell_km: float
    cell_ij: np.ndarray  # (n_cells, 2) int grid indices
    cell_market: list[str]
    zip_market: dict[str, str] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    _tree: cKDTree | None = field(default=None, repr=False)

    @property
    def names(self) -> list[str]:
        """Market names, largest first."""
        return sorted(self.sizes, key=lambda m: (-self.sizes[m], m))

    def assign(self, frame: pd.DataFrame) -> np.ndarray:
        """Market name per row of a normalised frame (see module docstring for the rule)."""
        names = self.names
        out = np.full(len(frame), names[0], dtype=object)
        if len(names) == 1 or len(frame) == 0:
            return out
        xy = to_km(frame["latitude"].to_numpy(), frame["longitude"].to_numpy())
        located = np.isfinite(xy).all(axis=1)
        if located.any():
            if self._tree is None:
                self._tree = cKDTree((self.cell_ij + 0.5) * self.cell_km)
            _, nearest = self._tree.query(xy[located])
            out[located] = np.asarray(self.cell_market, dtype=object)[np.asarray(nearest)]
        if "zip" in frame.columns:
            zips = frame["zip"].to_numpy(dtype=object)
            for i in np.flatnonzero(~located):
                z = zips[i]
                if z is not None and not pd.isna(z) and str(z) in self.zip_market:
                    out[i] = self.zip_market[str(z)]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "cell_km": self.cell_km,
            "cell_ij": self.cell_ij.tolist(),
            "cell_market": list(self.cell_market),
            "zip_market": dict(self.zip_market),
            "sizes": dict(self.sizes),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MarketMap:
        return cls(
            cell_km=float(data["cell_km"]),
            cell_ij=np.asarray(data["cell_ij"], dtype="int64").reshape(-1, 2),
            cell_market=[str(m) for m in data["cell_market"]],
            zip_market={str(k): str(v) for k, v in data.get("zip_market", {}).items()},
            sizes={str(k): int(v) for k, v in data["sizes"].items()},
        )

    @classmethod
    def single(cls, name: str, size: int) -> MarketMap:
        return cls(CELL_KM, np.zeros((0, 2), dtype="int64"), [], {}, {name: size})


def find_markets(frame: pd.DataFrame, *, min_sales: int, cell_km: float = CELL_KM) -> MarketMap:
    """Markets of a normalised sales frame (located rows define them; module docstring)."""
    xy = to_km(frame["latitude"].to_numpy(), frame["longitude"].to_numpy())
    located = np.isfinite(xy).all(axis=1)
    if not located.any():
        return MarketMap.single("all", len(frame))
    ij = np.floor(xy[located] / cell_km).astype("int64")
    cells, cell_of_row = np.unique(ij, axis=0, return_inverse=True)
    cell_of_row = np.asarray(cell_of_row).reshape(-1)
    comp = _components(cells)
    n_comp = int(comp.max()) + 1
    counts = np.bincount(comp[cell_of_row], minlength=n_comp)
    big = np.flatnonzero(counts >= min_sales)
    if len(big) <= 1:
        return MarketMap.single(_name(frame[located]) if len(big) else "all", len(frame))
    # small components join the nearest trainable one
    centres = (cells + 0.5) * cell_km
    big_cells = np.flatnonzero(np.isin(comp, big))
    tree = cKDTree(centres[big_cells])
    small_cells = np.flatnonzero(~np.isin(comp, big))
    if len(small_cells):
        _, near = tree.query(centres[small_cells])
        comp = comp.copy()
        comp[small_cells] = comp[big_cells[np.asarray(near)]]
    row_comp = comp[cell_of_row]
    located_frame = frame[located]
    names = {int(c): _name(located_frame[row_comp == c]) for c in np.unique(comp)}
    cell_market = [names[int(c)] for c in comp]
    row_market = np.array([names[int(c)] for c in row_comp], dtype=object)
    zip_market: dict[str, str] = {}
    if "zip" in frame.columns:
        z = located_frame["zip"].to_numpy(dtype=object)
        has = np.array([v is not None and not pd.isna(v) for v in z], dtype=bool)
        if has.any():
            table = pd.DataFrame({"zip": z[has].astype(str), "market": row_market[has]})
            top = table.groupby("zip")["market"].agg(lambda s: s.value_counts().index[0])
            zip_market = {str(k): str(v) for k, v in top.items()}
    located_sizes = pd.Series(row_market).value_counts()
    market_map = MarketMap(
        cell_km, cells, cell_market, zip_market, {str(k): int(v) for k, v in located_sizes.items()}
    )
    assigned = market_map.assign(frame)  # a located row's nearest cell centre is its own cell
    market_map.sizes = {str(k): int(v) for k, v in pd.Series(assigned).value_counts().items()}
    return market_map


def _components(cells: np.ndarray) -> np.ndarray:
    """Connected components of occupied grid cells (8-neighbourhood), union-find."""
    lookup = {(int(a), int(b)): k for k, (a, b) in enumerate(cells)}
    parent = list(range(len(cells)))

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for k, (a, b) in enumerate(cells):
        for da in (-1, 0, 1):
            for db in (-1, 0, 1):
                j = lookup.get((int(a) + da, int(b) + db))
                if j is not None:
                    ra, rb = root(k), root(j)
                    if ra != rb:
                        parent[max(ra, rb)] = min(ra, rb)
    roots = np.array([root(k) for k in range(len(cells))])
    _, comp = np.unique(roots, return_inverse=True)
    return np.asarray(comp, dtype="int64").reshape(-1)


def _name(frame: pd.DataFrame) -> str:
    lat = float(np.nanmedian(frame["latitude"].to_numpy(dtype="float64")))
    lon = float(np.nanmedian(frame["longitude"].to_numpy(dtype="float64")))
    return f"{lat:.2f},{lon:.2f}"
