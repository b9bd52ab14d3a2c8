"""Valuation request and response bodies."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from reos.kernel.property_fields import PropertyFields
from reos.kernel.schemas import InputModel
from reos.kernel.vocabulary import PropertyType
from reos.valuation.valuation_result import CompEvidence


class SubjectIn(PropertyFields):
    """A property not in the store: its address and whatever attributes are known."""

    address: str = Field(min_length=3, max_length=500)
    property_type: PropertyType | None = PropertyType.SINGLE_FAMILY
    quality: int | None = Field(default=None, ge=1, le=10)
    condition: int | None = Field(default=None, ge=1, le=10)
    garage_spaces: float | None = Field(default=None, ge=0, le=100)
    neighborhood: str | None = Field(default=None, max_length=100)
    year_remodeled: int | None = Field(default=None, ge=1700, le=2100)
    basement_area_sqft: float | None = Field(default=None, ge=0, le=1_000_000)
    pool: bool | None = None
    attributes: dict[str, float | int | bool | str] | None = Field(
        default=None,
        max_length=200,
        description="further fields the organisation's sales carry (the keys of their "
        "`attributes`, e.g. garage_area_sqft); a refusal or warning names those the model "
        "values by and the subject lacks",
    )


class ValuationRequest(InputModel):
    """Exactly one of ``property_id`` and ``subject`` (the other absent or null), as the
    published schema's ``anyOf`` says."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {
                    "required": ["property_id"],
                    "properties": {"property_id": {"type": "string"}, "subject": {"type": "null"}},
                },
                {
                    "required": ["subject"],
                    "properties": {"subject": {"type": "object"}, "property_id": {"type": "null"}},
                },
            ]
        }
    )
    property_id: uuid.UUID | None = None
    subject: SubjectIn | None = None
    as_of: date | None = Field(default=None, description="valuation date (default today)")

    @model_validator(mode="after")
    def _one_subject(self) -> ValuationRequest:
        if (self.property_id is None) == (self.subject is None):
            raise ValueError("give exactly one of property_id or subject")
        return self


class ValuationOut(BaseModel):
    id: uuid.UUID
    property_id: uuid.UUID | None
    estimated_value: float
    interval_80: tuple[float, float]
    confidence: str
    valuation_date: date
    model_version: str
    comps: list[CompEvidence]
    drivers: dict[str, float]
    n_comps: int
    method: dict[str, Any] = Field(default_factory=dict)
    subject: dict[str, Any] | None = None
    model_stale: bool | None = Field(
        default=None,
        description="true when the model is older than the data (sales it was not trained on "
        "are in the store; see warnings); null for valuations stored before this was checked",
    )
    warnings: list[str] = Field(
        default_factory=list,
        description="what to know before trusting the value: a stale model, comps that are "
        "far, old or heavily adjusted (the grade is then C at best)",
    )
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


class TrainingOut(BaseModel):
    """A model training queued as a background job; ``model`` is set once it is done."""

    job_id: uuid.UUID
    model_id: uuid.UUID
    status: str = Field(description="queued, running, done or failed")
    cutoff: date | None
    error: str | None = Field(default=None, description="why it failed (or the last retry)")
    location: str = Field(description="where to follow it")
    model: ModelOut | None = None
    created_at: datetime
