"""What the maps draw: points for markers and, for the offline basemap, the outline of each
area of the data (the convex hull of its points, by ZIP code or city)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any


def _cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def convex_hull(points: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """Andrew's monotone chain: the hull of (lat, lon) points, counter-clockwise."""
    pts = sorted(set(points))
    if len(pts) <= 2:
        return pts
    lower: list[tuple[float, float]] = []
    for p in pts:
        while len(lower) >= 2 and _cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[tuple[float, float]] = []
    for p in reversed(pts):
        while len(upper) >= 2 and _cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def outlines(points: Iterable[dict[str, Any]], key: str = "area") -> list[dict[str, Any]]:
    """One outline per value of ``key`` among points with coordinates (3 points at least),
    padded a little so the markers on the edge sit inside it."""
    groups: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for p in points:
        if p.get("lat") is not None and p.get("lon") is not None and p.get(key):
            groups[str(p[key])].append((float(p["lat"]), float(p["lon"])))
    out = []
    for name, coords in sorted(groups.items()):
        hull = convex_hull(coords)
        if len(hull) < 3:
            continue
        clat = sum(c[0] for c in hull) / len(hull)
        clon = sum(c[1] for c in hull) / len(hull)
        ring = [
            [round(clat + (lat - clat) * 1.05, 6), round(clon + (lon - clon) * 1.05, 6)]
            for lat, lon in hull
        ]
        out.append({"name": name, "ring": ring})
    return out
