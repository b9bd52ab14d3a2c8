"""Property records: create, read, update, delete, list with filters, and spatial search.

Spatial search works the same on SQLite and PostgreSQL: a candidate query on indexed H3
cells covering the circle or polygon, then the exact test (haversine distance, point in
polygon) in Python. Two cell columns are kept: a fine one (resolution
``geo.FINE_RES``) for small searches and a coarse one for wide searches, so the candidate
cell list stays short at any radius.
"""

from __future__ import annotations

import copy
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import h3
from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from reos import geo
from reos.accounts.service import audit_diff, record_audit
from reos.db import tenancy
from reos.errors import NotFound, ValidationFailed
from reos.geo import CELL_COLUMNS, cell_columns
from reos.kernel.addresses import normalize_address
from reos.kernel.merge import field_change
from reos.kernel.principal import actor_of
from reos.kernel.vocabulary import Entity
from reos.models import FieldChange, Property, Sale, provenance

EDITABLE = (
    "parcel_number",
    "address",
    "city",
    "state",
    "zip",
    "zip4",
    "latitude",
    "longitude",
    "property_type",
    "living_area_sqft",
    "lot_size_sqft",
    "beds",
    "baths_full",
    "baths_half",
    "year_built",
    "stories",
)
MAX_RADIUS_M = 100_000
MAX_PAGE = 500  # properties per page of a list or search
MAX_CANDIDATES = 200_000

if TYPE_CHECKING:
    from reos.properties.schemas import PropertyQuery


@dataclass(frozen=True)
class PropertyFilters:
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    property_type: str | None = None
    min_price: float | None = None
    max_price: float | None = None
    min_area_sqft: float | None = None
    max_area_sqft: float | None = None
    min_year_built: int | None = None
    max_year_built: int | None = None


@dataclass(frozen=True)
class Hit:
    property: Property
    distance_m: float | None


def _column_width(field: str) -> int | None:
    column = Property.__table__.columns.get(field)
    return getattr(column.type, "length", None) if column is not None else None


@dataclass(frozen=True)
class Location:
    """What a property's given values imply: ``columns`` to set (USPS-normalised address
    parts, the matching key, H3 cells) and ``warnings`` to keep on the row (an address that
    could not be parsed)."""

    columns: dict[str, Any]
    warnings: list[dict[str, Any]]


def location_fields(values: dict[str, Any]) -> Location:
    """Derived address and location columns for a property's given values: USPS-normalised
    address parts (raw string kept in ``address``), the matching key, and H3 cells."""
    out: dict[str, Any] = {}
    warnings: list[dict[str, Any]] = []
    if values.get("address") or values.get("street_name"):
        line1 = values.get("address") or " ".join(
            str(v) for v in (values.get("street_number"), values.get("street_name")) if v
        )
        norm = normalize_address(
            line1, values.get("unit"), values.get("city"), values.get("state"), values.get("zip")
        )
        out["address_normalized"] = norm.one_line
        out["address_key"] = norm.key
        for field in ("street_number", "street_name", "unit", "city", "state", "zip"):
            if values.get(field) in (None, "") and getattr(norm, field):
                out[field] = getattr(norm, field)
        if not norm.parsed:
            warnings.append(
                {
                    "field": "address",
                    "reason": norm.warning or "address could not be parsed; kept as given",
                }
            )
    for field, value in out.items():
        width = _column_width(field)
        if isinstance(value, str) and width is not None and len(value) > width:
            # a derived part of a very long address (its parsed street name, its one-line
            # form with city and ZIP added) may outgrow its column: PostgreSQL refused the
            # row with a 500, SQLite stored it whole. The raw address is kept as given.
            out[field] = value[:width]
    out.update(cell_columns(values.get("latitude"), values.get("longitude")))
    return Location(out, warnings)


def _provenance_entry(session: Session, source: str) -> dict[str, Any]:
    actor = actor_of(session)
    return {
        "source": source,
        "observed_at": datetime.now(UTC).isoformat(),
        "actor": actor.actor_id if actor else None,
    }


def create_property(session: Session, values: dict[str, Any]) -> Property:
    derived = location_fields(values)
    entry = _provenance_entry(session, "api")
    prop = Property(
        **values,
        **derived.columns,
        warnings=derived.warnings,
        provenance=provenance.for_new_record(entry),
    )
    session.add(prop)
    session.flush()
    record_audit(
        session, "create", "property", prop.id, {k: v for k, v in values.items() if v is not None}
    )
    return prop


def get_property(session: Session, property_id: uuid.UUID) -> Property:
    prop = tenancy.get(session, Property, property_id)
    if prop is None:
        raise NotFound(f"no property {property_id} in this organisation")
    assert isinstance(prop, Property)
    return prop


def update_property(session: Session, property_id: uuid.UUID, changes: dict[str, Any]) -> Property:
    prop = get_property(session, property_id)
    before = {k: getattr(prop, k) for k in changes}
    for key, value in changes.items():
        if key not in EDITABLE:
            raise ValidationFailed(f"{key} cannot be changed here", field=key)
        setattr(prop, key, value)
    current = {k: getattr(prop, k) for k in EDITABLE}
    derived = location_fields(current)
    prop.warnings = derived.warnings
    for key, value in derived.columns.items():
        setattr(prop, key, value)
    diff = audit_diff(before, changes)
    entry = _provenance_entry(session, "api")
    sources = copy.deepcopy(prop.provenance or {})
    for field, change in diff.items():
        old_source = provenance.source_of(sources, field) or {}
        session.add(
            FieldChange(
                **field_change(
                    Entity.PROPERTY, prop.id, field, change["from"], old_source, change["to"], entry
                )
            )
        )
        provenance.set_source(sources, field, entry)
    prop.provenance = sources
    session.flush()
    if diff:
        record_audit(session, "update", "property", prop.id, diff)
    return prop


def delete_property(session: Session, property_id: uuid.UUID) -> None:
    prop = get_property(session, property_id)
    session.delete(prop)
    session.flush()
    record_audit(
        session,
        "delete",
        "property",
        property_id,
        {"address": prop.address, "parcel_number": prop.parcel_number},
    )


def history(session: Session, property_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(FieldChange)
        .where(
            FieldChange.entity_type == Entity.PROPERTY.value, FieldChange.entity_id == property_id
        )
        .order_by(FieldChange.changed_at)
    ).all()
    return [
        {
            "field": r.field,
            "old": r.old_value,
            "new": r.new_value,
            "changed_at": r.changed_at.isoformat(),
        }
        for r in rows
    ]


def sales_of(session: Session, property_id: uuid.UUID) -> Sequence[Sale]:
    get_property(session, property_id)
    return session.scalars(
        select(Sale).where(Sale.property_id == property_id).order_by(Sale.close_date)
    ).all()


def _last_sale_price() -> Any:
    return (
        select(Sale.sale_price)
        .where(Sale.property_id == Property.id)
        .order_by(Sale.close_date.desc())
        .limit(1)
        .correlate(Property)
        .scalar_subquery()
    )


def _filtered(filters: PropertyFilters) -> Select[Property]:
    stmt = select(Property)
    if filters.city:
        stmt = stmt.where(func.upper(Property.city) == filters.city.strip().upper())
    if filters.state:
        stmt = stmt.where(Property.state == filters.state.strip().upper())
    if filters.zip:
        stmt = stmt.where(Property.zip == filters.zip.strip()[:5])
    if filters.property_type:
        stmt = stmt.where(Property.property_type == filters.property_type)
    if filters.min_area_sqft is not None:
        stmt = stmt.where(Property.living_area_sqft >= filters.min_area_sqft)
    if filters.max_area_sqft is not None:
        stmt = stmt.where(Property.living_area_sqft <= filters.max_area_sqft)
    if filters.min_year_built is not None:
        stmt = stmt.where(Property.year_built >= filters.min_year_built)
    if filters.max_year_built is not None:
        stmt = stmt.where(Property.year_built <= filters.max_year_built)
    if filters.min_price is not None or filters.max_price is not None:
        price = _last_sale_price()
        if filters.min_price is not None:
            stmt = stmt.where(price >= filters.min_price)
        if filters.max_price is not None:
            stmt = stmt.where(price <= filters.max_price)
    return stmt


_SORTS: dict[str, Any] = {
    "created_at": Property.created_at,
    "zip": Property.zip,
    "city": Property.city,
    "year_built": Property.year_built,
    "living_area_sqft": Property.living_area_sqft,
}


def list_properties(
    session: Session,
    filters: PropertyFilters,
    *,
    sort: str = "created_at",
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Hit], int]:
    stmt = _filtered(filters)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    key = sort.lstrip("-")
    if key == "last_sale_price":
        column: Any = _last_sale_price()
    else:
        column = _SORTS.get(key, Property.created_at)
    order = column.desc() if sort.startswith("-") else column.asc()
    rows = session.scalars(
        stmt.order_by(order.nulls_last(), Property.id).limit(limit).offset(offset)
    ).all()
    return [Hit(p, None) for p in rows], total


def parse_near(near: str) -> tuple[float, float]:
    """``"lat,lon"`` as two numbers, or a refusal naming ``near``."""
    try:
        lat_s, lon_s = near.split(",")
        return float(lat_s), float(lon_s)
    except ValueError:
        raise ValidationFailed(
            "near must be 'latitude,longitude', e.g. near=42.03,-93.62", field="near"
        ) from None


def search(
    session: Session,
    filters: PropertyFilters,
    *,
    near: str | None = None,
    radius_m: float | None = None,
    sort: str = "created_at",
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Hit], int]:
    """A property list, or with ``near`` and ``radius_m`` a radius search: what the API's
    ``GET /properties`` and ``reos properties list`` both run, so both refuse the same
    queries (half a radius search, a point that is not one) with the same message."""
    if near is None and radius_m is None:
        return list_properties(session, filters, sort=sort, limit=limit, offset=offset)
    if near is None or radius_m is None:
        raise ValidationFailed(
            "a radius search needs both near and radius_m",
            field="near" if near is None else "radius_m",
        )
    lat, lon = parse_near(near)
    return search_radius(
        session, lat, lon, radius_m, filters, sort=sort, limit=limit, offset=offset
    )


def _by_cells(stmt: Select[Property], cells: set[str]) -> Select[Property]:
    """Candidates in the given cells, asked of the column stored at the cells' resolution."""
    if not cells:
        return stmt.where(Property.id.is_(None))
    res = h3.get_resolution(next(iter(cells)))
    column = getattr(Property, CELL_COLUMNS[res])
    return stmt.where(column.in_(sorted(cells)))


def _bounding_box(geometry: dict[str, Any]) -> tuple[float, float, float, float]:
    """(min lon, min lat, max lon, max lat) of the outer rings."""
    points = [pt for ring in _outer_rings(geometry) for pt in ring]
    lons, lats = [float(p[0]) for p in points], [float(p[1]) for p in points]
    return min(lons), min(lats), max(lons), max(lats)


def _cells_would_exceed_budget(box: tuple[float, float, float, float]) -> bool:
    """Whether covering the box with the coarsest stored cells would take more than the
    cell budget. A continent-sized polygon came to two million cells (13 s to compute,
    then one giant IN list); such an area is asked of the coordinates' ranges instead."""
    min_lon, min_lat, max_lon, max_lat = box
    mid_lat = math.radians((min_lat + max_lat) / 2)
    height_m = math.radians(max_lat - min_lat) * geo.EARTH_RADIUS_M
    width_m = math.radians(max_lon - min_lon) * geo.EARTH_RADIUS_M * max(math.cos(mid_lat), 0.01)
    coarsest = h3.average_hexagon_area(min(geo.STORED_RESOLUTIONS), "m^2")
    return bool(height_m * width_m / coarsest > geo.MAX_CANDIDATE_CELLS)


def _centroid(geometry: dict[str, Any]) -> tuple[float, float]:
    """Mean of the outer-ring vertices (lat, lon): the reference point for distances.

    Walks Features and FeatureCollections too (a FeatureCollection used to leave no
    vertices, and the mean divided by zero).
    """
    points = [pt for ring in _outer_rings(geometry) for pt in ring[:-1]]
    return (sum(p[1] for p in points) / len(points), sum(p[0] for p in points) / len(points))


def _outer_rings(geometry: Any) -> list[list[Any]]:
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    if kind == "Feature":
        return _outer_rings(geometry.get("geometry"))
    if kind == "FeatureCollection":
        return [r for f in geometry.get("features") or [] for r in _outer_rings(f)]
    coords = geometry.get("coordinates") or [] if isinstance(geometry, dict) else []
    if kind == "Polygon":
        return [coords[0]]
    if kind == "MultiPolygon":
        return [p[0] for p in coords]
    return []


def _page(hits: list[Hit], sort: str, limit: int, offset: int) -> tuple[list[Hit], int]:
    reverse = sort.startswith("-")
    hits.sort(
        key=lambda h: (h.distance_m if h.distance_m is not None else 0.0, str(h.property.id)),
        reverse=reverse,
    )
    return hits[offset : offset + limit], len(hits)


def search_for(session: Session, query: PropertyQuery) -> tuple[list[Hit], int]:
    """:func:`search` with the filters, sort and page of a checked :class:`PropertyQuery`
    (the API's query string and ``reos properties list`` alike)."""
    return search(
        session,
        query.filters(),
        near=query.near,
        radius_m=query.radius_m,
        sort=query.sort,
        limit=query.limit,
        offset=query.offset,
    )


def search_radius(
    session: Session,
    lat: float,
    lon: float,
    radius_m: float,
    filters: PropertyFilters,
    *,
    sort: str = "distance",
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Hit], int]:
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValidationFailed(
            "near must be a latitude in -90..90 and a longitude in -180..180", field="near"
        )
    if not (0 < radius_m <= MAX_RADIUS_M):
        raise ValidationFailed(f"radius_m must be between 0 and {MAX_RADIUS_M}", field="radius_m")
    cells = geo.cells_for_radius(lat, lon, radius_m)
    candidates = session.scalars(_by_cells(_filtered(filters), cells).limit(MAX_CANDIDATES)).all()
    hits = []
    for prop in candidates:
        if prop.latitude is None or prop.longitude is None:
            continue
        d = geo.haversine_m(lat, lon, prop.latitude, prop.longitude)
        if d <= radius_m:
            hits.append(Hit(prop, d))
    return _page(hits, sort if sort.lstrip("-") == "distance" else "distance", limit, offset)


def search_polygon(
    session: Session,
    geometry: dict[str, Any],
    filters: PropertyFilters,
    *,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Hit], int]:
    geo.point_in_polygon(0.0, 0.0, geometry)  # checks the GeoJSON; every mistake is a 422
    box = _bounding_box(geometry)
    if _cells_would_exceed_budget(box):
        min_lon, min_lat, max_lon, max_lat = box
        stmt = _filtered(filters).where(
            Property.latitude.between(min_lat, max_lat),
            Property.longitude.between(min_lon, max_lon),
        )
    else:
        stmt = _by_cells(_filtered(filters), geo.cells_for_polygon(geometry))
    candidates = session.scalars(stmt.limit(MAX_CANDIDATES)).all()
    center = _centroid(geometry)
    hits = []
    for prop in candidates:
        if prop.latitude is None or prop.longitude is None:
            continue
        if geo.point_in_polygon(prop.latitude, prop.longitude, geometry):
            hits.append(
                Hit(prop, geo.haversine_m(center[0], center[1], prop.latitude, prop.longitude))
            )
    return _page(hits, "distance", limit, offset)


def normalise_properties(
    session: Session, property_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """Fill the derived address and location columns (normalised address, matching key, H3
    cells) of the given properties where they are missing, as an import would have; the
    properties that have neither an address nor coordinates, with the reason (nothing can
    place them: no comparables, no list match by address).

    The fill-in is derived data, not a change of the record: ``updated_at`` is kept, so the
    next pipeline run does not see these properties as changed again."""
    from reos.kernel.bulk import among, in_batches

    problems: dict[uuid.UUID, str] = {}
    fixes: list[tuple[uuid.UUID, dict[str, Any]]] = []
    for batch in in_batches(property_ids):
        for prop in session.scalars(select(Property).where(among(session, Property.id, batch))):
            has_address = bool(prop.address or prop.street_name)
            if not has_address and prop.latitude is None:
                problems[prop.id] = "no address and no coordinates"
                continue
            missing_address = has_address and not (prop.address_normalized and prop.address_key)
            missing_cells = prop.latitude is not None and not prop.h3_cell
            if not (missing_address or missing_cells):
                continue
            values = {c: getattr(prop, c) for c in ("address", "street_number", "street_name",
                      "unit", "city", "state", "zip", "latitude", "longitude")}  # fmt: skip
            derived = location_fields(values).columns
            fill = {k: v for k, v in derived.items() if getattr(prop, k) in (None, "")}
            if fill:
                fixes.append((prop.id, fill))
    for pid, fill in fixes:
        session.execute(
            update(Property)
            .where(Property.id == pid)
            .values(**fill, updated_at=Property.updated_at)
            .execution_options(synchronize_session=False)
        )
    return problems
