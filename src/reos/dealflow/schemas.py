"""Deal flow's API bodies and answers."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from reos.kernel.schemas import InputModel

ListKind = Literal[
    "tax_delinquent",
    "pre_foreclosure",
    "probate",
    "code_violation",
    "vacant",
    "expired_listing",
    "absentee",
    "high_equity",
    "free_and_clear",
    "tired_landlord",
    "custom",
]


class ListOut(BaseModel):
    id: uuid.UUID
    name: str
    kind: str
    source: str | None
    list_date: date
    derived: bool
    members: int
    filename: str | None
    report: dict[str, Any]
    query: dict[str, Any]
    created_at: datetime


class RematchOut(BaseModel):
    """A rematch of a list's unmatched rows: how many were looked at, how many found their
    property now (``matched``) or found one already on the list (``duplicate``), and the
    list as it stands after."""

    rows: int
    matched: int
    duplicate: int
    list: ListOut


class ListPage(BaseModel):
    items: list[ListOut]
    total: int


class MemberOut(BaseModel):
    row_number: int | None
    status: str
    property_id: uuid.UUID | None
    matched_by: str | None
    reason: str | None
    listed_on: date
    attributes: dict[str, Any]


class ListDetail(ListOut):
    member_page: list[MemberOut]
    member_total: int


class StackEntry(BaseModel):
    kind: str
    list_name: str
    listed_on: date


class StackOut(BaseModel):
    property_id: uuid.UUID
    count: int
    lists: list[StackEntry]


#: A city or property type: printable text (no control characters), 1-100 characters.
Name = Annotated[
    str, StringConstraints(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")
]
#: A five-digit ZIP code.
Zip = Annotated[str, StringConstraints(pattern=r"^[0-9]{5}$")]


class SearchFilters(InputModel):
    """Every filter is optional; a search matches the properties meeting all it gives."""

    list_kinds: list[ListKind] = Field(default_factory=list, max_length=11)
    min_stack: int | None = Field(default=None, ge=1, le=1000)
    cities: list[Name] = Field(default_factory=list, max_length=100)
    zips: list[Zip] = Field(default_factory=list, max_length=100)
    property_types: list[Name] = Field(default_factory=list, max_length=50)
    min_value: float | None = Field(default=None, ge=0, le=1e12, description="dollars")
    max_value: float | None = Field(default=None, ge=0, le=1e12, description="dollars")
    min_score: int | None = Field(default=None, ge=0, le=100)
    max_score: int | None = Field(default=None, ge=0, le=100)

    @model_validator(mode="after")
    def ranges(self) -> SearchFilters:
        if (
            self.min_value is not None
            and self.max_value is not None
            and self.min_value > self.max_value
        ):
            raise ValueError("min_value is above max_value")
        if (
            self.min_score is not None
            and self.max_score is not None
            and self.min_score > self.max_score
        ):
            raise ValueError("min_score is above max_score")
        return self


class SearchBody(InputModel):
    name: str = Field(min_length=1, max_length=200, pattern=r"\S")
    filters: SearchFilters = Field(default_factory=SearchFilters)


class SearchPatch(InputModel):
    name: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"\S")
    filters: SearchFilters | None = None


class SearchOut(BaseModel):
    id: uuid.UUID
    name: str
    filters: dict[str, Any]
    last_run_at: datetime | None
    last_match_count: int
    last_new_count: int


class SearchPage(BaseModel):
    items: list[SearchOut]
    total: int


class DriverOut(BaseModel):
    label: str
    points: int


class ScoreOut(BaseModel):
    property_id: uuid.UUID
    score: int
    model_version: str
    drivers: list[DriverOut]
    reasons: list[str]


class ScorePage(BaseModel):
    items: list[ScoreOut]
    total: int


class MatchOut(BaseModel):
    property_id: uuid.UUID
    score: int | None
    reasons: list[str]


class SearchRunOut(BaseModel):
    """A run's matches, highest score first (``limit`` of them), how many in all and how
    many the previous run did not return."""

    search_id: uuid.UUID
    name: str
    match_count: int
    new_count: int
    previous_run_at: datetime | None
    items: list[MatchOut]


class ScoreModelOut(BaseModel):
    id: uuid.UUID
    version: str
    is_active: bool
    outcome_count: int
    holdout_auc: float
    default_auc: float
    metrics: dict[str, Any]
    created_at: datetime


class ScoreModelPage(BaseModel):
    items: list[ScoreModelOut]
    total: int
