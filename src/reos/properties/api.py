"""Property routes: list with filters and radius search, polygon search, CRUD, provenance."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from reos.errors import ValidationFailed
from reos.http.deps import ReadSession, WriteSession
from reos.http.errors import error_responses
from reos.http.paging import Offset, limit_query
from reos.properties import service
from reos.properties.schemas import (
    NO_NUL_PATTERN,
    PolygonSearch,
    PropertyCreate,
    PropertyOut,
    PropertyPage,
    PropertyType,
    PropertyUpdate,
    SaleOut,
    SortField,
)

router = APIRouter(prefix="/api/v1/properties", tags=["properties"])
ERRORS = error_responses(401, 403, 422, 429)


def _out(hit: service.Hit) -> PropertyOut:
    return PropertyOut.of(hit.property, hit.distance_m)


_LATITUDE = r"[-+]?(?:90(?:\.0+)?|[1-8]?[0-9](?:\.[0-9]+)?)"
_LONGITUDE = r"[-+]?(?:180(?:\.0+)?|(?:1[0-7][0-9]|[1-9]?[0-9])(?:\.[0-9]+)?)"
NEAR_PATTERN = rf"^{_LATITUDE}, ?{_LONGITUDE}$"
"""``near`` as published: decimal latitude -90..90, a comma, decimal longitude -180..180."""


def _parse_near(near: str) -> tuple[float, float]:
    try:
        lat_s, lon_s = near.split(",")
        return float(lat_s), float(lon_s)
    except ValueError:
        raise ValidationFailed(
            "near must be 'latitude,longitude', e.g. near=42.03,-93.62", field="near"
        ) from None


@router.get("", response_model=PropertyPage, responses=ERRORS)
def list_properties(
    session: ReadSession,
    city: Annotated[str | None, Query(max_length=100, pattern=NO_NUL_PATTERN)] = None,
    state: Annotated[
        str | None, Query(min_length=2, max_length=2, pattern=r"^[A-Za-z]{2}$")
    ] = None,
    zip: Annotated[str | None, Query(pattern=r"^\d{5}$")] = None,
    property_type: PropertyType | None = None,
    min_price: Annotated[float | None, Query(ge=0)] = None,
    max_price: Annotated[float | None, Query(ge=0)] = None,
    min_area_sqft: Annotated[float | None, Query(ge=0)] = None,
    max_area_sqft: Annotated[float | None, Query(ge=0)] = None,
    min_year_built: Annotated[int | None, Query(ge=1600, le=2200)] = None,
    max_year_built: Annotated[int | None, Query(ge=1600, le=2200)] = None,
    near: Annotated[
        str | None,
        Query(
            max_length=60,
            pattern=NEAR_PATTERN,
            description="`latitude,longitude` of the centre of a radius search (decimal "
            "degrees, e.g. `42.03,-93.62`); needs `radius_m`",
        ),
    ] = None,
    radius_m: Annotated[
        float | None,
        Query(
            gt=0,
            le=service.MAX_RADIUS_M,
            description="radius of the search around `near`, metres; needs `near`",
        ),
    ] = None,
    sort: SortField = "created_at",
    limit: Annotated[int, limit_query(500)] = 50,
    offset: Offset = 0,
) -> PropertyPage:
    """Properties of the caller's organisation. With ``near`` and ``radius_m`` only those
    within the radius, nearest first, each with its exact distance in metres."""
    filters = service.PropertyFilters(
        city=city,
        state=state,
        zip=zip,
        property_type=property_type.value if property_type else None,
        min_price=min_price,
        max_price=max_price,
        min_area_sqft=min_area_sqft,
        max_area_sqft=max_area_sqft,
        min_year_built=min_year_built,
        max_year_built=max_year_built,
    )
    if near is not None or radius_m is not None:
        if near is None or radius_m is None:
            raise ValidationFailed(
                "a radius search needs both near and radius_m",
                field="near" if near is None else "radius_m",
            )
        lat, lon = _parse_near(near)
        hits, total = service.search_radius(
            session, lat, lon, radius_m, filters, sort=sort, limit=limit, offset=offset
        )
    else:
        hits, total = service.list_properties(
            session, filters, sort=sort, limit=limit, offset=offset
        )
    return PropertyPage(items=[_out(h) for h in hits], total=total, limit=limit, offset=offset)


@router.post("/search", response_model=PropertyPage, responses=ERRORS)
def search_polygon(body: PolygonSearch, session: ReadSession) -> PropertyPage:
    """Properties inside a GeoJSON Polygon or MultiPolygon (holes respected); distance is
    from the polygon's centroid."""
    filters = service.PropertyFilters(
        property_type=body.property_type.value if body.property_type else None
    )
    hits, total = service.search_polygon(
        session, body.geometry, filters, limit=body.limit, offset=body.offset
    )
    return PropertyPage(
        items=[_out(h) for h in hits], total=total, limit=body.limit, offset=body.offset
    )


@router.post("", response_model=PropertyOut, status_code=status.HTTP_201_CREATED, responses=ERRORS)
def create_property(body: PropertyCreate, session: WriteSession) -> PropertyOut:
    values = body.model_dump(exclude_none=True)
    if "property_type" in values:
        values["property_type"] = str(values["property_type"])
    return _out(service.Hit(service.create_property(session, values), None))


@router.get("/{property_id}", response_model=PropertyOut, responses=ERRORS | error_responses(404))
def get_property(
    property_id: uuid.UUID,
    session: ReadSession,
    provenance: Annotated[
        bool, Query(description="include per-field source and change history")
    ] = False,
) -> PropertyOut:
    prop = service.get_property(session, property_id)
    out = PropertyOut.of(prop, with_provenance=provenance)
    if provenance:
        out.history = service.history(session, prop.id)
    return out


@router.get(
    "/{property_id}/sales", response_model=list[SaleOut], responses=ERRORS | error_responses(404)
)
def property_sales(property_id: uuid.UUID, session: ReadSession) -> list[SaleOut]:
    return [SaleOut.model_validate(s) for s in service.sales_of(session, property_id)]


@router.patch("/{property_id}", response_model=PropertyOut, responses=ERRORS | error_responses(404))
def update_property(
    property_id: uuid.UUID, body: PropertyUpdate, session: WriteSession
) -> PropertyOut:
    changes = body.model_dump(exclude_unset=True)
    if changes.get("property_type") is not None:
        changes["property_type"] = str(changes["property_type"])
    return _out(service.Hit(service.update_property(session, property_id, changes), None))


@router.delete("/{property_id}", status_code=204, responses=ERRORS | error_responses(404))
def delete_property(property_id: uuid.UUID, session: WriteSession) -> Response:
    service.delete_property(session, property_id)
    return Response(status_code=204)
