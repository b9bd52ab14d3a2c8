"""Geo: cell covers must contain every point the exact tests accept."""

from __future__ import annotations

import math

import h3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reos.errors import ValidationFailed
from reos.geo import (
    cells_for_polygon,
    cells_for_radius,
    h3_cell,
    h3_cells,
    haversine_m,
    point_in_polygon,
)


def destination(
    lat: float, lon: float, bearing_deg: float, distance_m: float
) -> tuple[float, float]:
    """Point at a great-circle distance and bearing (spherical formula, same radius)."""
    r = distance_m / 6_371_008.8
    p1, l1, b = math.radians(lat), math.radians(lon), math.radians(bearing_deg)
    p2 = math.asin(math.sin(p1) * math.cos(r) + math.cos(p1) * math.sin(r) * math.cos(b))
    l2 = l1 + math.atan2(
        math.sin(b) * math.sin(r) * math.cos(p1), math.cos(r) - math.sin(p1) * math.sin(p2)
    )
    return math.degrees(p2), (math.degrees(l2) + 540) % 360 - 180


def test_haversine_known_distance() -> None:
    # one degree of latitude on the 6,371,008.8 m sphere
    assert haversine_m(0, 0, 1, 0) == pytest.approx(111_195.08, abs=0.1)
    assert haversine_m(42.0, -93.6, 42.0, -93.6) == 0.0


def test_h3_cell_resolution_and_parents() -> None:
    cell = h3_cell(42.054035, -93.619754)
    assert h3.get_resolution(cell) == 9
    cells = h3_cells(42.054035, -93.619754)
    assert cells[9] == cell and h3.get_resolution(cells[5]) == 5
    assert h3.cell_to_parent(cell, 7) == cells[7]
    with pytest.raises(ValidationFailed, match="out of range"):
        h3_cell(95, 0)


lats = st.floats(min_value=-84, max_value=84, allow_nan=False)
lons = st.floats(min_value=-179, max_value=179, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(
    lat=lats,
    lon=lons,
    radius=st.floats(min_value=0, max_value=30_000),
    bearing=st.floats(0, 360),
    frac=st.floats(0, 1),
)
def test_radius_cover_contains_every_accepted_point(
    lat: float, lon: float, radius: float, bearing: float, frac: float
) -> None:
    cells = cells_for_radius(lat, lon, radius)
    res = h3.get_resolution(next(iter(cells)))
    # the hardest points: on the circle's edge, and anywhere inside it
    for distance in (radius, radius * frac):
        plat, plon = destination(lat, lon, bearing, distance)
        if haversine_m(lat, lon, plat, plon) <= radius:
            assert h3.latlng_to_cell(plat, plon, res) in cells


def test_radius_cover_near_cell_edges_and_high_latitude() -> None:
    for lat, lon in [(89.0, 10.0), (-88.5, -170.0), (78.2, 15.6), (64.8, -147.7)]:
        cell = h3.latlng_to_cell(lat, lon, 9)
        for vlat, vlon in h3.cell_to_boundary(
            cell
        ):  # cell corners: worst case for the centre offset
            cells = cells_for_radius(vlat, vlon, 1_000)
            for bearing in range(0, 360, 15):
                plat, plon = destination(vlat, vlon, bearing, 1_000)
                assert h3.latlng_to_cell(plat, plon, 9) in cells


def test_radius_resolution_coarsens_for_large_radii() -> None:
    assert h3.get_resolution(next(iter(cells_for_radius(42.0, -93.6, 500)))) == 9
    big = cells_for_radius(42.0, -93.6, 50_000)
    assert h3.get_resolution(next(iter(big))) < 9 and len(big) <= 5_000


SQUARE_WITH_HOLE = {
    "type": "Polygon",
    "coordinates": [
        [[-93.70, 42.00], [-93.55, 42.00], [-93.55, 42.10], [-93.70, 42.10], [-93.70, 42.00]],
        [[-93.65, 42.03], [-93.60, 42.03], [-93.60, 42.07], [-93.65, 42.07], [-93.65, 42.03]],
    ],
}


def test_point_in_polygon_with_hole_and_multipolygon() -> None:
    assert point_in_polygon(42.01, -93.69, SQUARE_WITH_HOLE)
    assert not point_in_polygon(42.05, -93.62, SQUARE_WITH_HOLE)  # in the hole
    assert not point_in_polygon(42.2, -93.62, SQUARE_WITH_HOLE)
    assert point_in_polygon(42.0, -93.62, SQUARE_WITH_HOLE)  # on the edge counts
    multi = {
        "type": "MultiPolygon",
        "coordinates": [SQUARE_WITH_HOLE["coordinates"], [[[0, 0], [1, 0], [1, 1], [0, 0]]]],
    }
    assert point_in_polygon(0.2, 0.8, multi)
    assert not point_in_polygon(0.8, 0.2, multi)
    feature = {"type": "Feature", "geometry": SQUARE_WITH_HOLE, "properties": {}}
    assert point_in_polygon(42.01, -93.69, feature)


@pytest.mark.parametrize(
    ("geojson", "message"),
    [
        ({"type": "Point", "coordinates": [0, 0]}, "must be Polygon or MultiPolygon"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}, "at least 4 positions"),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]},
            "ring is not closed",
        ),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [200, 0], [1, 1], [0, 0]]]},
            r"out of range \(GeoJSON order is \[longitude, latitude\]\)",
        ),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], ["a", 0], [1, 1], [0, 0]]]},
            "is not \\[longitude, latitude\\]",
        ),
        ({"type": "Polygon"}, "non-empty list of rings"),
    ],
)
def test_invalid_geojson_named(geojson: dict, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        point_in_polygon(0, 0, geojson)


polygon_points = st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=3, max_size=8)


@settings(max_examples=150, deadline=None)
@given(
    center_lat=st.floats(-80, 80),
    center_lon=st.floats(-170, 170),
    size_deg=st.floats(0.0005, 0.2),
    corners=polygon_points,
    samples=st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=20, max_size=40),
)
def test_polygon_cover_contains_every_accepted_point(
    center_lat: float,
    center_lon: float,
    size_deg: float,
    corners: list[tuple[float, float]],
    samples: list[tuple[float, float]],
) -> None:
    # a star-shaped polygon (corners sorted by angle around the box centre) at any latitude
    ordered = sorted(corners, key=lambda p: math.atan2(p[1] - 0.5, p[0] - 0.5))
    ring = [
        [center_lon + (x - 0.5) * size_deg, center_lat + (y - 0.5) * size_deg] for x, y in ordered
    ]
    ring.append(ring[0])
    geojson = {"type": "Polygon", "coordinates": [ring]}
    cells = cells_for_polygon(geojson)
    res = h3.get_resolution(next(iter(cells)))
    probes = [
        (center_lat + (y - 0.5) * size_deg, center_lon + (x - 0.5) * size_deg) for x, y in samples
    ]
    probes += [(lat, lon) for lon, lat in ring]  # vertices: on the boundary, accepted
    for lat, lon in probes:
        if point_in_polygon(lat, lon, geojson):
            assert h3.latlng_to_cell(lat, lon, res) in cells


def test_polygon_with_long_edges_at_high_latitude() -> None:
    # A planar (GeoJSON) east-west edge at 70N bulges away from the great circle by many
    # kilometres; points just inside that edge must still be covered.
    ring = [[-20.0, 68.0], [20.0, 68.0], [20.0, 70.0], [-20.0, 70.0], [-20.0, 68.0]]
    geojson = {"type": "Polygon", "coordinates": [ring]}
    cells = cells_for_polygon(geojson)
    res = h3.get_resolution(next(iter(cells)))
    for lon in [-19.9, -10.0, 0.0, 10.0, 19.9]:
        for lat in (69.999, 68.001):
            assert point_in_polygon(lat, lon, geojson)
            assert h3.latlng_to_cell(lat, lon, res) in cells
