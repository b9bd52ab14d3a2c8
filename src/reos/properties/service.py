"""Property records: create, read, update, delete, list with filters, and spatial search.

Spatial search works the same on SQLite and PostgreSQL: a candidate query on indexed H3
cells covering the circle or polygon, then the exact test (haversine distance, point in
polygon) in Python. Two cell columns are kept: a fine one (resolution
``geo.FINE_RES``) for small searches and a coarse one for wide searches, so the candidate
cell list stays short at any radius.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import h3
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from reos import geo
from reos.accounts import audit
from reos.accounts.principal import actor_of
from reos.db import tenancy
from reos.errors import NotFound, ValidationFailed
from reos.geo import CELL_COLUMNS, cell_columns
from reos.ingest.addresses import normalize_address
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
    audit.record(
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
    diff = audit.diff(before, changes)
    entry = _provenance_entry(session, "api")
    sources = copy.deepcopy(prop.provenance or {})
    for field, change in diff.items():
        session.add(
            FieldChange(
                entity_type="property",
                entity_id=prop.id,
                field=field,
                old_value={"value": change["from"], **(provenance.source_of(sources, field) or {})},
                new_value={"value": change["to"], **entry},
            )
        )
        provenance.set_source(sources, field, entry)
    prop.provenance = sources
    session.flush()
    if diff:
        audit.record(session, "update", "property", prop.id, diff)
    return prop


def delete_property(session: Session, property_id: uuid.UUID) -> None:
    prop = get_property(session, property_id)
    session.delete(prop)
    session.flush()
    audit.record(
        session,
        "delete",
        "property",
        property_id,
        {"address": prop.address, "parcel_number": prop.parcel_number},
    )


def history(session: Session, property_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(FieldChange)
        .where(FieldChange.entity_type == "property", FieldChange.entity_id == property_id)
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


def _centroid(geometry: dict[str, Any]) -> tuple[float, float]:
    """Mean of the outer-ring vertices (lat, lon): the reference point for distances."""
    geom = geometry.get("geometry", geometry) if geometry.get("type") == "Feature" else geometry
    coords = geom.get("coordinates") or []
    rings = [coords[0]] if geom.get("type") == "Polygon" else [p[0] for p in coords]
    points = [pt for ring in rings for pt in ring[:-1]]
    return (sum(p[1] for p in points) / len(points), sum(p[0] for p in points) / len(points))


def _page(hits: list[Hit], sort: str, limit: int, offset: int) -> tuple[list[Hit], int]:
    reverse = sort.startswith("-")
    hits.sort(
        key=lambda h: (h.distance_m if h.distance_m is not None else 0.0, str(h.property.id)),
        reverse=reverse,
    )
    return hits[offset : offset + limit], len(hits)


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
    cells = geo.cells_for_polygon(geometry)
    candidates = session.scalars(_by_cells(_filtered(filters), cells).limit(MAX_CANDIDATES)).all()
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
