"""Property and sale bodies. JSON names are the business names (``living_area_sqft``...)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from reos.http.paging import MAX_OFFSET


class PropertyType(StrEnum):
    SINGLE_FAMILY = "single_family"
    CONDO = "condo"
    TOWNHOUSE = "townhouse"
    MULTI_FAMILY = "multi_family"
    MANUFACTURED = "manufactured"
    LAND = "land"
    COMMERCIAL = "commercial"
    OTHER = "other"


class InputModel(BaseModel):
    """Base of request bodies: unknown fields refused, NUL characters refused (no database
    stores them, and they are never meant)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in data.items():
                if isinstance(value, str) and "\x00" in value:
                    raise ValueError(f"{key} contains a NUL character")
        return data


class PropertyFields(InputModel):
    parcel_number: str | None = Field(default=None, max_length=64)
    address: str | None = Field(
        default=None, max_length=500, description="one-line address as given"
    )
    city: str | None = Field(default=None, max_length=100)
    state: str | None = Field(default=None, min_length=2, max_length=2, pattern=r"^[A-Za-z]{2}$")
    zip: str | None = Field(default=None, pattern=r"^\d{5}(-?\d{4})?$")
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    property_type: PropertyType | None = None
    living_area_sqft: float | None = Field(default=None, gt=0, le=1_000_000)
    lot_size_sqft: float | None = Field(default=None, gt=0, le=1_000_000_000)
    beds: int | None = Field(default=None, ge=0, le=50)
    baths_full: int | None = Field(default=None, ge=0, le=50)
    baths_half: int | None = Field(default=None, ge=0, le=50)
    year_built: int | None = Field(default=None, ge=1700, le=2100)
    stories: float | None = Field(default=None, gt=0, le=200)

    @model_validator(mode="after")
    def _coordinates_in_pairs(self) -> PropertyFields:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude and longitude must be given together")
        return self


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


class PolygonSearch(InputModel):
    geometry: dict[str, Any] = Field(description="GeoJSON Polygon or MultiPolygon (lon, lat order)")
    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)
    property_type: PropertyType | None = None
