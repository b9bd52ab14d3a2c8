"""Spatial helpers that work the same on SQLite and PostgreSQL: H3 cells and exact tests.

Spatial search is two steps: a candidate query on an indexed H3 cell column
(``cells_for_radius`` / ``cells_for_polygon`` give the cells to ask for), then an exact test
in Python (``haversine_m`` / ``point_in_polygon``) on the candidates. The cell sets are
built to *cover* the shape: every point the exact test accepts lies in a returned cell.

Resolutions (average hexagon area, from the H3 documentation): res 9 ~0.105 km2 (edge
~200 m) is stored for every located row; coarser parents res 7 (~5.2 km2) and res 5
(~253 km2) are stored too so a 20 km radius or a county polygon asks for a few hundred
cells instead of tens of thousands. ``cells_for_*`` pick the finest stored resolution
that keeps the candidate list under ``MAX_CANDIDATE_CELLS``; the caller queries the column
of ``h3.get_resolution`` of any returned cell.

Polygon edges follow GeoJSON (RFC 7946): straight lines in longitude/latitude, rings
closed, the first ring the outer boundary and later rings holes. Shapes crossing the
antimeridian are not supported.
"""

from __future__ import annotations

import math
from typing import Any

import h3

from reos.errors import ValidationFailed

DEFAULT_RESOLUTION = 9
STORED_RESOLUTIONS: tuple[int, ...] = (9, 7, 5)
MAX_CANDIDATE_CELLS = 5_000
#: Mean Earth radius (IUGG), metres; haversine error vs the ellipsoid is under 0.5%.
EARTH_RADIUS_M = 6_371_008.8


def _check_point(lat: float, lon: float) -> None:
    if (
        not (math.isfinite(lat) and math.isfinite(lon))
        or not -90 <= lat <= 90
        or not -180 <= lon <= 180
    ):
        raise ValidationFailed(
            f"coordinates ({lat}, {lon}) out of range: latitude -90..90, longitude -180..180",
            field="latitude",
        )


def h3_cell(lat: float, lon: float, resolution: int = DEFAULT_RESOLUTION) -> str:
    """H3 cell id (hex string) of a WGS84 point at ``resolution`` (default 9, ~0.1 km2)."""
    _check_point(lat, lon)
    return str(h3.latlng_to_cell(lat, lon, resolution))


def h3_cells(lat: float, lon: float) -> dict[int, str]:
    """The cell at each stored resolution (9, 7, 5), to fill the indexed cell columns."""
    cell = h3_cell(lat, lon, STORED_RESOLUTIONS[0])
    return {res: str(h3.cell_to_parent(cell, res)) for res in STORED_RESOLUTIONS}


#: The property columns holding a located record's cell at each stored resolution.
CELL_COLUMNS = {9: "h3_cell", 7: "h3_cell_r7", 5: "h3_cell_r5"}


def cell_columns(lat: Any, lon: Any) -> dict[str, str | None]:
    """The indexed H3 cell columns (resolutions 9, 7 and 5) of a located row."""
    if lat is None or lon is None:
        return dict.fromkeys(CELL_COLUMNS.values())
    cells = h3_cells(float(lat), float(lon))
    return {column: cells[res] for res, column in CELL_COLUMNS.items()}


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres on a sphere of radius ``EARTH_RADIUS_M``."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def _disk_radius_k(cell: str, radius_m: float) -> int:
    """Rings needed so the disk around ``cell`` covers a circle of ``radius_m`` around any
    point inside ``cell``.

    Each ring moves the disk boundary out by at least ``1.5 * edge`` (the spacing of hexagon
    centres is ``sqrt(3) * edge``; 1.5 leaves margin for H3's distortion between cells),
    and the point may sit up to one edge from its cell's centre; the shortest edge of the
    centre cell is used and one extra ring absorbs the variation of cell size nearby.
    """
    edge_m = min(float(h3.edge_length(e, "m")) for e in h3.origin_to_directed_edges(cell))
    return max(1, math.ceil((radius_m + edge_m) / (1.5 * edge_m)) + 1)


def _resolution_for_radius(radius_m: float) -> int:
    for res in STORED_RESOLUTIONS:
        edge_m = h3.average_hexagon_edge_length(res, "m")
        k = (radius_m + edge_m) / (1.5 * edge_m) + 2
        if 3 * k * (k + 1) + 1 <= MAX_CANDIDATE_CELLS:
            return res
    return STORED_RESOLUTIONS[-1]


def cells_for_radius(
    lat: float, lon: float, radius_m: float, resolution: int | None = None
) -> set[str]:
    """Cells covering the circle of ``radius_m`` metres around a point (a grid disk)."""
    _check_point(lat, lon)
    if not math.isfinite(radius_m) or radius_m < 0:
        raise ValidationFailed(
            f"radius must be a non-negative number of metres, not {radius_m}", field="radius_m"
        )
    res = _resolution_for_radius(radius_m) if resolution is None else resolution
    center = h3.latlng_to_cell(lat, lon, res)
    return {str(c) for c in h3.grid_disk(center, _disk_radius_k(center, radius_m))}


# --- GeoJSON polygons ------------------------------------------------------------------

Ring = list[tuple[float, float]]  # (lon, lat) pairs, closed


def _parse_polygons(geojson: Any) -> list[list[Ring]]:
    """Polygons (outer ring + holes) of a GeoJSON Polygon/MultiPolygon, Feature, or
    single-feature FeatureCollection; every mistake names what is wrong."""
    if not isinstance(geojson, dict):
        raise ValidationFailed("polygon must be a GeoJSON object", field="polygon")
    kind = geojson.get("type")
    if kind == "Feature":
        return _parse_polygons(geojson.get("geometry"))
    if kind == "FeatureCollection":
        features = geojson.get("features")
        if not isinstance(features, list) or not features:
            raise ValidationFailed("FeatureCollection has no features", field="polygon")
        return [poly for feature in features for poly in _parse_polygons(feature)]
    coordinates = geojson.get("coordinates")
    if kind == "Polygon":
        return [_parse_polygon(coordinates, "Polygon")]
    if kind == "MultiPolygon":
        if not isinstance(coordinates, list) or not coordinates:
            raise ValidationFailed(
                "MultiPolygon coordinates must be a non-empty list of polygons", field="polygon"
            )
        return [_parse_polygon(p, f"MultiPolygon polygon {i}") for i, p in enumerate(coordinates)]
    raise ValidationFailed(
        f"GeoJSON type must be Polygon or MultiPolygon (or a Feature of one), not {kind!r}",
        field="polygon",
    )


def _parse_polygon(rings: Any, where: str) -> list[Ring]:
    if not isinstance(rings, list) or not rings:
        raise ValidationFailed(
            f"{where}: coordinates must be a non-empty list of rings", field="polygon"
        )
    parsed: list[Ring] = []
    for index, ring in enumerate(rings):
        label = f"{where} {'outer ring' if index == 0 else f'hole {index}'}"
        if not isinstance(ring, list) or len(ring) < 4:
            raise ValidationFailed(
                f"{label}: a ring needs at least 4 positions (closed triangle)", field="polygon"
            )
        points: Ring = []
        for pos in ring:
            if (
                not isinstance(pos, list | tuple)
                or len(pos) < 2
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pos[:2])
            ):
                raise ValidationFailed(
                    f"{label}: position {pos!r} is not [longitude, latitude]", field="polygon"
                )
            lon, lat = float(pos[0]), float(pos[1])
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                raise ValidationFailed(
                    f"{label}: position [{lon}, {lat}] out of range (GeoJSON order is [longitude, latitude])",
                    field="polygon",
                )
            points.append((lon, lat))
        if points[0] != points[-1]:
            raise ValidationFailed(
                f"{label}: ring is not closed (first and last positions differ)", field="polygon"
            )
        parsed.append(points)
    return parsed


def _ring_contains(ring: Ring, lon: float, lat: float) -> bool:
    """Even-odd ray casting in the lon/lat plane; points on an edge count as inside."""
    inside = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:], strict=False):
        if _on_segment(lon, lat, x1, y1, x2, y2):
            return True
        if (y1 > lat) != (y2 > lat):
            x_cross = x1 + (lat - y1) * (x2 - x1) / (y2 - y1)
            if lon < x_cross:
                inside = not inside
    return inside


def _on_segment(px: float, py: float, x1: float, y1: float, x2: float, y2: float) -> bool:
    cross = (x2 - x1) * (py - y1) - (y2 - y1) * (px - x1)
    if abs(cross) > 1e-12:
        return False
    return (
        min(x1, x2) - 1e-12 <= px <= max(x1, x2) + 1e-12
        and min(y1, y2) - 1e-12 <= py <= max(y1, y2) + 1e-12
    )


def point_in_polygon(lat: float, lon: float, geojson: dict[str, Any]) -> bool:
    """Whether a point lies in a GeoJSON Polygon/MultiPolygon (inside an outer ring and in
    none of its holes; boundary points count as inside)."""
    for rings in _parse_polygons(geojson):
        outer, holes = rings[0], rings[1:]
        if _ring_contains(outer, lon, lat) and not any(
            _ring_contains(h, lon, lat) and not _on_boundary(h, lon, lat) for h in holes
        ):
            return True
    return False


def _on_boundary(ring: Ring, lon: float, lat: float) -> bool:
    return any(
        _on_segment(lon, lat, x1, y1, x2, y2)
        for (x1, y1), (x2, y2) in zip(ring, ring[1:], strict=False)
    )


def _densify(ring: Ring, step_deg: float) -> Ring:
    """Extra vertices every ``step_deg`` along each edge, so H3 (which treats edges as
    great-circle arcs) and the planar GeoJSON edges differ by far less than a cell."""
    out: Ring = []
    for (x1, y1), (x2, y2) in zip(ring, ring[1:], strict=False):
        steps = max(1, math.ceil(max(abs(x2 - x1), abs(y2 - y1)) / step_deg))
        out.extend((x1 + (x2 - x1) * i / steps, y1 + (y2 - y1) * i / steps) for i in range(steps))
    out.append(ring[-1])
    return out


def cells_for_polygon(geojson: dict[str, Any], resolution: int | None = None) -> set[str]:
    """Cells covering a GeoJSON Polygon/MultiPolygon fully, border cells included.

    Uses H3's "overlap" containment (every cell touching the shape) on the outer rings
    (holes are ignored: a candidate set may over-cover), densified edges, plus one ring of
    neighbours as a margin for the remaining difference between planar and spherical edges.
    """
    polygons = _parse_polygons(geojson)
    res = resolution if resolution is not None else _resolution_for_polygons(polygons)
    step = math.degrees(h3.average_hexagon_edge_length(res, "m") / EARTH_RADIUS_M)
    cells: set[str] = set()
    for rings in polygons:
        outer = _densify(rings[0], step)
        shape = h3.LatLngPoly([(lat, lon) for lon, lat in outer[:-1]])
        for cell in h3.h3shape_to_cells_experimental(shape, res, contain="overlap"):
            cells.update(str(c) for c in h3.grid_disk(cell, 1))
        # A shape smaller than a cell may overlap none in H3's test; its vertices' cells
        # cover it.
        for lon, lat in outer:
            cells.update(str(c) for c in h3.grid_disk(h3.latlng_to_cell(lat, lon, res), 1))
    return cells


def _resolution_for_polygons(polygons: list[list[Ring]]) -> int:
    lons = [x for rings in polygons for x, _ in rings[0]]
    lats = [y for rings in polygons for _, y in rings[0]]
    mid_lat = math.radians((max(lats) + min(lats)) / 2)
    height_m = math.radians(max(lats) - min(lats)) * EARTH_RADIUS_M
    width_m = math.radians(max(lons) - min(lons)) * EARTH_RADIUS_M * max(math.cos(mid_lat), 0.01)
    area_m2 = max(height_m * width_m, 1.0)
    for res in STORED_RESOLUTIONS:
        cell_m2 = h3.average_hexagon_area(res, "m^2")
        edge_m = h3.average_hexagon_edge_length(res, "m")
        perimeter_cells = 2 * (height_m + width_m) / edge_m
        if area_m2 / cell_m2 + 3 * perimeter_cells <= MAX_CANDIDATE_CELLS:
            return res
    return STORED_RESOLUTIONS[-1]
