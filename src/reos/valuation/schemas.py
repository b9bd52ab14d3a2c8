"""Valuation request and response bodies."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from reos.properties.schemas import InputModel, PropertyType


class SubjectIn(InputModel):
    """A property not in the store: its address and whatever attributes are known."""

    address: str = Field(min_length=3, max_length=500)
    city: str | None = Field(default=None, max_length=100)
    state: str | None = Field(default=None, pattern=r"^[A-Za-z]{2}$")
    zip: str | None = Field(default=None, pattern=r"^\d{5}(-?\d{4})?$")
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    property_type: PropertyType = PropertyType.SINGLE_FAMILY
    living_area_sqft: float | None = Field(default=None, gt=0, le=1_000_000)
    lot_size_sqft: float | None = Field(default=None, gt=0, le=1_000_000_000)
    beds: int | None = Field(default=None, ge=0, le=50)
    baths_full: int | None = Field(default=None, ge=0, le=50)
    baths_half: int | None = Field(default=None, ge=0, le=50)
    year_built: int | None = Field(default=None, ge=1700, le=2100)
    stories: float | None = Field(default=None, gt=0, le=200)
    quality: int | None = Field(default=None, ge=1, le=10)
    condition: int | None = Field(default=None, ge=1, le=10)
    garage_spaces: float | None = Field(default=None, ge=0, le=100)
    neighborhood: str | None = Field(default=None, max_length=100)


class ValuationRequest(InputModel):
    property_id: uuid.UUID | None = None
    subject: SubjectIn | None = None
    as_of: date | None = Field(default=None, description="valuation date (default today)")

    @model_validator(mode="after")
    def _one_subject(self) -> ValuationRequest:
        if (self.property_id is None) == (self.subject is None):
            raise ValueError("give exactly one of property_id or subject")
        return self


class CompOut(BaseModel):
    sale_id: str
    property_id: str
    address: str | None
    distance_m: float
    close_date: str
    sale_price: float
    time_adjusted_price: float
    adjustments: dict[str, float]
    adjusted_price: float
    weight: float
    gross_adjustment_pct: float
    net_adjustment_pct: float


class ValuationOut(BaseModel):
    id: uuid.UUID
    property_id: uuid.UUID | None
    estimated_value: float
    interval_80: tuple[float, float]
    confidence: str
    valuation_date: date
    model_version: str
    comps: list[CompOut]
    drivers: dict[str, float]
    n_comps: int
    method: dict[str, Any] = Field(default_factory=dict)
    subject: dict[str, Any] | None = None
    created_at: datetime


class ValuationPage(BaseModel):
    items: list[ValuationOut]
    total: int
    limit: int
    offset: int


class ModelOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    version: str
    cutoff: date
    window_start: date | None
    window_end: date | None
    row_count: int
    features: list[Any]
    holdout_metrics: dict[str, Any]
    is_active: bool
    created_at: datetime


class TrainRequest(InputModel):
    cutoff: date | None = Field(
        default=None, description="train on sales before this date (default: all)"
    )
