"""Property routes: list with filters and radius search, polygon search, CRUD, provenance."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from reos.http.deps import ReadSession, WriteSession
from reos.http.errors import error_responses
from reos.properties import service
from reos.properties.schemas import (
    PolygonSearch,
    PropertyCreate,
    PropertyOut,
    PropertyPage,
    PropertyQuery,
    PropertyUpdate,
    SaleOut,
)

router = APIRouter(prefix="/api/v1/properties", tags=["properties"])
ERRORS = error_responses(401, 403, 422, 429)


def _out(hit: service.Hit) -> PropertyOut:
    return PropertyOut.of(hit.property, hit.distance_m)


@router.get("", response_model=PropertyPage, responses=ERRORS)
def list_properties(session: ReadSession, query: Annotated[PropertyQuery, Query()]) -> PropertyPage:
    """Properties of the caller's organisation. With ``near`` and ``radius_m`` only those
    within the radius, nearest first, each with its exact distance in metres. The rules
    are :class:`PropertyQuery`'s and :func:`service.search`'s, shared with the CLI."""
    hits, total = service.search_for(session, query)
    return PropertyPage(
        items=[_out(h) for h in hits], total=total, limit=query.limit, offset=query.offset
    )


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
