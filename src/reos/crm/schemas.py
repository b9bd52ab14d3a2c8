"""CRM request and response bodies.

Money is exact: prices and earnest money are decimals with at most two places (dollars and
cents), published as ``number`` or decimal ``string`` in, and a decimal string out (a JSON
number would pass through binary floating point in many clients).
"""

from __future__ import annotations

import math
import re
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, WithJsonSchema

from reos.kernel.schemas import InputModel, NotBlank

ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def iso_day(value: Any) -> Any:
    """A day as ``YYYY-MM-DD`` only: pydantic's lax parsing would read ``0`` as 1970-01-01."""
    if isinstance(value, str) and not ISO_DAY.match(value):
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)")
    return value


def cents(value: Any) -> Any:
    """A JSON number for money as the decimal it was written as: a float carries binary
    noise (0.07 arrives as 0.07000000000000001), so a float within that noise of whole
    cents is those cents; anything finer stays as given and is refused by the two-place
    rule."""
    if isinstance(value, float) and math.isfinite(value):
        rounded = round(value, 2)
        if abs(value - rounded) <= max(1e-9, abs(value) * 1e-15):
            return Decimal(repr(rounded))
    return value


Day = Annotated[date, BeforeValidator(iso_day)]
MONEY_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "number", "exclusiveMinimum": 0, "maximum": 999999999999.99, "multipleOf": 0.01},
        {"type": "string", "pattern": "^[1-9][0-9]{0,11}(\\.[0-9]{1,2})?$"},
    ],
    "description": "dollars and cents (a number, or a decimal string to keep it exact)",
}
AMOUNT_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "number", "minimum": 0, "maximum": 999999999999.99, "multipleOf": 0.01},
        {"type": "string", "pattern": "^(0|[1-9][0-9]{0,11})(\\.[0-9]{1,2})?$"},
    ],
    "description": "dollars and cents, zero or more",
}
Money = Annotated[
    Decimal,
    BeforeValidator(cents),
    Field(gt=0, max_digits=14, decimal_places=2),
    WithJsonSchema(MONEY_SCHEMA),
]
Amount = Annotated[
    Decimal,
    BeforeValidator(cents),
    Field(ge=0, max_digits=14, decimal_places=2),
    WithJsonSchema(AMOUNT_SCHEMA),
]
StageName = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]{0,39}$")]
Tag = Annotated[str, Field(min_length=1, max_length=60)]


class DealOut(BaseModel):
    id: uuid.UUID
    property_id: uuid.UUID
    stage: str
    is_open: bool
    assignee_id: uuid.UUID | None
    next_action: str | None
    next_action_due: date | None
    score: int | None = Field(description="deal score 0-100 from the last shortlist")
    reasons: list[str]
    tags: list[str]
    address: str | None
    city: str | None
    state: str | None
    zip: str | None
    closed_at: datetime | None
    close_reason: str | None
    version: int = Field(description='the version the ETag names (If-Match: "<version>")')
    created_at: datetime
    updated_at: datetime


class DealPage(BaseModel):
    items: list[DealOut]
    limit: int
    next_cursor: str | None = Field(description="pass as cursor for the next page; null: last")


class DealCreate(InputModel):
    property_id: uuid.UUID
    assignee_id: uuid.UUID | None = None
    next_action: str | None = Field(default=None, max_length=500)
    next_action_due: Day | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=50)


class DealPatch(InputModel):
    """Fields to change; those left out stay. ``reason`` goes with a move to a stage that
    needs one (a lost outcome)."""

    stage: StageName | None = None
    reason: str | None = Field(default=None, max_length=500)
    assignee_id: uuid.UUID | None = None
    next_action: str | None = Field(default=None, max_length=500)
    next_action_due: Day | None = None
    tags: list[Tag] | None = Field(default=None, max_length=50)


class NoteIn(InputModel):
    body: NotBlank = Field(max_length=20_000)


class NoteOut(BaseModel):
    id: uuid.UUID
    deal_id: uuid.UUID
    body: str
    author: str | None
    created_at: datetime


class TaskIn(InputModel):
    title: NotBlank = Field(max_length=500)
    due_date: Day | None = None
    assignee_id: uuid.UUID | None = None


class TaskPatch(InputModel):
    done: bool


class TaskOut(BaseModel):
    id: uuid.UUID
    deal_id: uuid.UUID
    title: str
    due_date: date | None
    done: bool
    done_at: datetime | None
    assignee_id: uuid.UUID | None
    source_key: str | None
    created_at: datetime


class EventIn(InputModel):
    """Something that happened to the deal elsewhere: a message sent or received, a call,
    a visit, a valuation or underwriting seen."""

    kind: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z][A-Za-z0-9_]*$")]
    detail: dict[str, Any] = Field(default_factory=dict)


class EventOut(BaseModel):
    id: uuid.UUID
    deal_id: uuid.UUID
    kind: str
    actor: str | None
    occurred_at: datetime
    detail: dict[str, Any]


class OfferTerms(InputModel):
    """An offer's terms: earnest money (dollars), days to close, inspection period (days
    from acceptance; when it ends the deadline job raises a task), contingencies."""

    earnest_money: Amount | None = None
    close_days: int | None = Field(default=None, ge=1, le=3650)
    inspection_days: int | None = Field(default=None, ge=0, le=365)
    contingencies: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=20
    )


class MaxOfferBasis(InputModel):
    """Price the offer at the underwriting maximum offer for the deal's property."""

    strategy: Literal["rental", "flip", "commercial"] = "rental"
    constraints: dict[str, float] = Field(
        description='e.g. {"min_dscr": 1.25, "min_cash_on_cash": 0.08}', min_length=1
    )
    assumptions: dict[str, Any] | None = None


class OfferCreate(InputModel):
    """An offer on a deal (``deal_id``) or on a property (``property_id``: its open deal,
    opened when there is none). Priced as typed (``price``) or by ``max_offer``."""

    deal_id: uuid.UUID | None = None
    property_id: uuid.UUID | None = None
    price: Money | None = None
    max_offer: MaxOfferBasis | None = None
    terms: OfferTerms = Field(default_factory=OfferTerms)
    expires_at: datetime | None = None


class OfferTransition(InputModel):
    status: Literal["sent", "accepted", "rejected", "withdrawn"]
    expires_at: datetime | None = None
    reason: str | None = Field(default=None, max_length=500)


class CounterIn(InputModel):
    price: Money
    terms: OfferTerms | None = None
    party: Literal["buyer", "seller"] | None = None
    expires_at: datetime | None = None


class OfferOut(BaseModel):
    id: uuid.UUID
    deal_id: uuid.UUID
    property_id: uuid.UUID
    parent_offer_id: uuid.UUID | None
    party: str
    price: Decimal = Field(description="dollars and cents, exact")
    terms: dict[str, Any]
    source: str
    basis: dict[str, Any]
    status: str
    sent_at: datetime | None
    expires_at: datetime | None
    decided_at: datetime | None
    inspection_ends_at: datetime | None
    created_by: str | None
    created_at: datetime


class OfferChain(BaseModel):
    offers: list[OfferOut]


class StageIn(InputModel):
    name: StageName
    terminal: bool = False
    outcome: Literal["won", "lost"] | None = None


class StagesIn(InputModel):
    stages: list[StageIn] = Field(min_length=1, max_length=50)


class StageOut(BaseModel):
    name: str
    position: int
    terminal: bool
    outcome: str | None


class StagesOut(BaseModel):
    stages: list[StageOut]
    rules: list[str]
