"""Property and sale bodies. JSON names are the business names (``living_area_sqft``...)."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
)

from reos.http.paging import MAX_OFFSET
from reos.kernel.property_fields import PropertyFields
from reos.kernel.schemas import NO_NUL_PATTERN, InputModel
from reos.kernel.vocabulary import PropertyType
from reos.properties.service import MAX_PAGE, MAX_RADIUS_M, PropertyFilters


class PropertyCreate(PropertyFields):
    pass


class PropertyUpdate(PropertyFields):
    pass


class PropertyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    parcel_number: str | None
    address: str | None
    address_normalized: str | None = None
    city: str | None
    state: str | None
    zip: str | None
    zip4: str | None = Field(default=None, description="ZIP+4 add-on (RESO PostalCodePlus4)")
    latitude: float | None
    longitude: float | None
    property_type: str | None
    living_area_sqft: float | None
    lot_size_sqft: float | None
    beds: int | None
    baths_full: int | None
    baths_half: int | None
    year_built: int | None
    stories: float | None
    quality: int | None = None
    condition: int | None = None
    neighborhood: str | None = None
    warnings: list[Any] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
    distance_m: float | None = Field(
        default=None, description="distance from the search point, metres"
    )
    provenance: dict[str, Any] | None = Field(
        default=None,
        description="per field: source import, file, row, observed time (with ?provenance=true)",
    )
    history: list[dict[str, Any]] | None = Field(
        default=None, description="replaced values (with ?provenance=true)"
    )

    @classmethod
    def of(
        cls, prop: Any, distance_m: float | None = None, *, with_provenance: bool = False
    ) -> PropertyOut:
        """The API view of a property; provenance only when asked for (it is large)."""
        out = cls.model_validate(prop)
        out.distance_m = round(distance_m, 2) if distance_m is not None else None
        out.provenance = prop.field_provenance() if with_provenance else None
        return out


class SaleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    property_id: uuid.UUID
    close_date: date
    close_date_precision: str
    sale_price: float
    sale_type: str | None
    sale_condition: str | None
    arm_length: bool | None


class PropertyPage(BaseModel):
    items: list[PropertyOut]
    total: int
    limit: int
    offset: int


SortField = Literal[
    "created_at",
    "-created_at",
    "zip",
    "-zip",
    "city",
    "-city",
    "year_built",
    "-year_built",
    "living_area_sqft",
    "-living_area_sqft",
    "last_sale_price",
    "-last_sale_price",
    "distance",
    "-distance",
]


_LATITUDE = r"[-+]?(?:90(?:\.0+)?|[1-8]?[0-9](?:\.[0-9]+)?)"
_LONGITUDE = r"[-+]?(?:180(?:\.0+)?|(?:1[0-7][0-9]|[1-9]?[0-9])(?:\.[0-9]+)?)"
NEAR_PATTERN = rf"^{_LATITUDE}, ?{_LONGITUDE}$"
"""``near`` as published: decimal latitude -90..90, a comma, decimal longitude -180..180."""


class PropertyQuery(BaseModel):
    """The filters, sort and page of a property list or radius search: the one set of rules
    both ``GET /api/v1/properties`` (its query string) and ``reos properties list`` are
    checked against. That ``near`` and ``radius_m`` come together, and what ``near`` says,
    the service checks (:func:`reos.properties.service.search`), for both as well."""

    city: str | None = Field(default=None, max_length=100, pattern=NO_NUL_PATTERN)
    state: str | None = Field(
        default=None,
        min_length=2,
        max_length=2,
        pattern=r"^[A-Za-z]{2}$",
        description="two-letter USPS code (IA)",
    )
    zip: str | None = Field(default=None, pattern=r"^[0-9]{5}$", description="five-digit ZIP")
    property_type: PropertyType | None = None
    min_price: float | None = Field(default=None, ge=0, description="last sale price, USD")
    max_price: float | None = Field(default=None, ge=0, description="last sale price, USD")
    min_area_sqft: float | None = Field(default=None, ge=0)
    max_area_sqft: float | None = Field(default=None, ge=0)
    min_year_built: int | None = Field(default=None, ge=1600, le=2200)
    max_year_built: int | None = Field(default=None, ge=1600, le=2200)
    near: str | None = Field(
        default=None,
        max_length=60,
        pattern=NEAR_PATTERN,
        description="`latitude,longitude` of the centre of a radius search (decimal degrees, "
        "e.g. `42.03,-93.62`); needs `radius_m`",
    )
    radius_m: float | None = Field(
        default=None,
        gt=0,
        le=MAX_RADIUS_M,
        description="radius of the search around `near`, metres; needs `near`",
    )
    sort: SortField = "created_at"
    limit: int = Field(default=50, ge=1, le=MAX_PAGE)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)

    @field_validator("state", mode="before")
    @classmethod
    def _state_code(cls, value: Any) -> Any:
        if isinstance(value, str) and not re.fullmatch(r"[A-Za-z]{2}", value):
            raise ValueError(f"state must be a two-letter code such as IA, not {value[:40]!r}")
        return value

    @field_validator("zip", mode="before")
    @classmethod
    def _zip5(cls, value: Any) -> Any:
        if isinstance(value, str) and not re.fullmatch(r"[0-9]{5}", value):
            raise ValueError(f"zip must be five digits such as 50010, not {value[:40]!r}")
        return value

    def filters(self) -> PropertyFilters:
        return PropertyFilters(
            city=self.city,
            state=self.state,
            zip=self.zip,
            property_type=self.property_type.value if self.property_type else None,
            min_price=self.min_price,
            max_price=self.max_price,
            min_area_sqft=self.min_area_sqft,
            max_area_sqft=self.max_area_sqft,
            min_year_built=self.min_year_built,
            max_year_built=self.max_year_built,
        )


_POSITION: dict[str, Any] = {
    "type": "array",
    "description": "[longitude, latitude] (anything after them, e.g. altitude, is ignored)",
    "prefixItems": [
        {"type": "number", "minimum": -180, "maximum": 180},
        {"type": "number", "minimum": -90, "maximum": 90},
    ],
    "minItems": 2,
}
_RINGS: dict[str, Any] = {
    "type": "array",
    "description": "outer ring, then holes; a ring that does not end where it starts is closed",
    "minItems": 1,
    "items": {"type": "array", "minItems": 4, "items": _POSITION},
}
_POLYGON: dict[str, Any] = {
    "type": "object",
    "properties": {"type": {"const": "Polygon"}, "coordinates": _RINGS},
    "required": ["type", "coordinates"],
}
_MULTIPOLYGON: dict[str, Any] = {
    "type": "object",
    "properties": {
        "type": {"const": "MultiPolygon"},
        "coordinates": {"type": "array", "minItems": 1, "items": _RINGS},
    },
    "required": ["type", "coordinates"],
}
_FEATURE: dict[str, Any] = {
    "type": "object",
    "properties": {"type": {"const": "Feature"}, "geometry": {"anyOf": [_POLYGON, _MULTIPOLYGON]}},
    "required": ["type", "geometry"],
}
_FEATURE_COLLECTION: dict[str, Any] = {
    "type": "object",
    "properties": {
        "type": {"const": "FeatureCollection"},
        "features": {"type": "array", "minItems": 1, "items": _FEATURE},
    },
    "required": ["type", "features"],
}
GEOJSON_AREA: dict[str, Any] = {
    "description": "GeoJSON Polygon or MultiPolygon, or a Feature or FeatureCollection of "
    "them; positions in [longitude, latitude] order",
    "anyOf": [_POLYGON, _MULTIPOLYGON, _FEATURE, _FEATURE_COLLECTION],
}
"""The GeoJSON the polygon search reads, as published: everything ``reos.geo`` checks
except that a ring is closed (an open ring is closed here, as most GeoJSON tools do)."""


def _close_rings(geometry: Any) -> Any:
    """The geometry with every ring that does not end at its first position closed."""
    if not isinstance(geometry, dict):
        return geometry
    kind = geometry.get("type")
    if kind == "Feature":
        return {**geometry, "geometry": _close_rings(geometry.get("geometry"))}
    if kind == "FeatureCollection" and isinstance(geometry.get("features"), list):
        return {**geometry, "features": [_close_rings(f) for f in geometry["features"]]}
    coordinates = geometry.get("coordinates")
    if kind == "Polygon":
        return {**geometry, "coordinates": _closed_polygon(coordinates)}
    if kind == "MultiPolygon" and isinstance(coordinates, list):
        return {**geometry, "coordinates": [_closed_polygon(p) for p in coordinates]}
    return geometry


def _closed_polygon(rings: Any) -> Any:
    if not isinstance(rings, list):
        return rings
    return [
        [*ring, ring[0]]
        if isinstance(ring, list) and len(ring) >= 4 and ring[0] != ring[-1]
        else ring
        for ring in rings
    ]


class PolygonSearch(InputModel):
    geometry: dict[str, Any] = Field(json_schema_extra=GEOJSON_AREA)
    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)
    property_type: PropertyType | None = None

    @field_validator("geometry", mode="after")
    @classmethod
    def _closed(cls, geometry: dict[str, Any]) -> dict[str, Any]:
        closed: dict[str, Any] = _close_rings(geometry)
        return closed
