"""Underwriting request and response bodies.

The assumption bodies are the deal-file models themselves made partial
(:func:`partial_model`): the same fields, types and bounds as a deal file, none required,
so the published schema states exactly what a deal file accepts and a default saved here
is checked by the rules a deal file is.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator
from pydantic.fields import FieldInfo

from reos.kernel.schemas import InputModel
from reos.underwriting.flip import FlipDeal
from reos.underwriting.inputs import MAX_MONEY, DealModel
from reos.underwriting.rental import RentalDeal

#: Inputs that describe one property: entered per deal, never saved as a default.
PROPERTY_INPUTS = frozenset({"purchase_price", "arv", "after_repair_value", "gross_rent_monthly"})


def partial_model(
    model: type[BaseModel], name: str, exclude: frozenset[str] = frozenset()
) -> type[BaseModel]:
    """``model`` with every field optional (null or absent: not given) and ``strategy``
    and ``exclude`` left out; types and bounds unchanged."""
    fields: dict[str, Any] = {}
    for field_name, info in model.model_fields.items():
        if field_name == "strategy" or field_name in exclude:
            continue
        optional = FieldInfo.merge_field_infos(info, default=None)
        fields[field_name] = (Optional[info.annotation], optional)  # noqa: UP045
    return create_model(name, __base__=DealModel, __doc__=model.__doc__, **fields)


if TYPE_CHECKING:
    RentalDefaults = BaseModel
    FlipDefaults = BaseModel
    RentalAssumptions = BaseModel
    FlipAssumptions = BaseModel
else:
    RentalDefaults = partial_model(RentalDeal, "RentalDefaults", PROPERTY_INPUTS)
    FlipDefaults = partial_model(FlipDeal, "FlipDefaults", PROPERTY_INPUTS)
    RentalAssumptions = partial_model(RentalDeal, "RentalAssumptions")
    FlipAssumptions = partial_model(FlipDeal, "FlipAssumptions")


class DefaultsBody(InputModel):
    """An organisation's default assumptions, per strategy: deal-file fields that apply
    when neither the user nor the store gives them. ``PUT`` replaces them all: a strategy
    left out has none saved."""

    rental: RentalDefaults | None = None
    flip: FlipDefaults | None = None


class DefaultsOut(BaseModel):
    rental: dict[str, Any] | None = None
    flip: dict[str, Any] | None = None


class UnderwritingRequest(InputModel):
    """Underwrite a stored property (``property_id``, with ``strategy`` and optional
    ``price`` and ``assumptions``: the deal is filled from the store, the organisation's
    defaults and the contract's), or a whole deal (``deal``, as a deal file). Exactly one
    of ``property_id`` and ``deal``."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {
                    "required": ["property_id"],
                    "properties": {"property_id": {"type": "string"}, "deal": {"type": "null"}},
                },
                {
                    "required": ["deal"],
                    "properties": {"deal": {"type": "object"}, "property_id": {"type": "null"}},
                },
            ]
        }
    )
    property_id: uuid.UUID | None = None
    strategy: Literal["rental", "flip"] = "rental"
    price: float | None = Field(
        default=None, gt=0, le=MAX_MONEY, description="purchase price to underwrite at (USD)"
    )
    as_of: date | None = Field(
        default=None, description="date of the AVM value and the rent estimate (default today)"
    )
    assumptions: RentalAssumptions | FlipAssumptions | None = Field(
        default=None,
        description="deal-file fields of the strategy that override what the store and the "
        "defaults give (a field of the other strategy is refused)",
    )
    deal: RentalDeal | FlipDeal | None = None

    @model_validator(mode="after")
    def _one_subject(self) -> UnderwritingRequest:
        if (self.property_id is None) == (self.deal is None):
            raise ValueError("give exactly one of property_id or deal")
        if self.deal is not None and (self.assumptions is not None or self.price is not None):
            raise ValueError("a whole deal carries its own price and assumptions")
        return self


class UnderwritingOut(BaseModel):
    """A stored underwriting: the inputs used and where each came from, the contract's
    metrics, the annual cash flows they came from, the low/base/high cases of the AVM's
    interval, the evidence behind store-derived inputs and the versions that made it."""

    id: uuid.UUID
    property_id: uuid.UUID | None
    strategy: str
    inputs: dict[str, Any]
    sources: dict[str, str]
    metrics: dict[str, Any]
    cash_flows: dict[str, Any]
    cases: dict[str, Any]
    evidence: dict[str, Any]
    notes: dict[str, Any]
    detail: dict[str, Any]
    engine_version: str
    model_version: str | None
    created_by: str | None
    created_at: datetime | None


class UnderwritingPage(BaseModel):
    items: list[UnderwritingOut]
    total: int
    limit: int
    offset: int
