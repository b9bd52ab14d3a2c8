"""Underwriting request and response bodies.

The assumption bodies are the deal-file models themselves made partial
(:func:`partial_model`): the same fields, types and bounds as a deal file, none required,
so the published schema states exactly what a deal file accepts and a default saved here
is checked by the rules a deal file is.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, Optional

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    SerializerFunctionWrapHandler,
    Tag,
    create_model,
    model_serializer,
    model_validator,
)
from pydantic.fields import FieldInfo

from reos.kernel.schemas import InputModel
from reos.underwriting.flip import FlipDeal, FlipLoan
from reos.underwriting.inputs import MAX_MONEY, DealModel
from reos.underwriting.rental import RentalDeal, RentalLoan

#: Inputs that describe one property: entered per deal, never saved as a default.
PROPERTY_INPUTS = frozenset({"purchase_price", "arv", "after_repair_value", "gross_rent_monthly"})


def null_means_absent(schema: dict[str, Any]) -> None:
    """Publish what a deal file accepts: ``null`` for any field that is not required (the
    deal models read it as absent, so the default applies)."""
    required = set(schema.get("required", ()))
    for name, prop in list(schema.get("properties", {}).items()):
        if name in required or _allows_null(prop):
            continue
        schema["properties"][name] = {"anyOf": [prop, {"type": "null"}]}


def _allows_null(prop: dict[str, Any]) -> bool:
    if prop.get("type") == "null":
        return True
    return any(_allows_null(p) for p in prop.get("anyOf", ()))


class PublishedRentalLoan(RentalLoan):
    """A rental's loan (see the deal file's ``loan``). The API asks for at least one
    monthly payment (``amort_years`` >= 1/12): the payment formula has no answer for a
    term that rounds to no payment at all."""

    model_config = ConfigDict(json_schema_extra=null_means_absent)
    amort_years: float = Field(ge=1 / 12, le=50, description="amortisation term in years")


class PublishedFlipLoan(FlipLoan):
    """A flip's loan (see the deal file's ``loan``)."""

    model_config = ConfigDict(json_schema_extra=null_means_absent)


class PublishedRentalDeal(RentalDeal):
    """A whole rental deal, as a deal file gives it."""

    model_config = ConfigDict(json_schema_extra=null_means_absent)
    loan: PublishedRentalLoan | None = None


class PublishedFlipDeal(FlipDeal):
    """A whole flip deal, as a deal file gives it."""

    model_config = ConfigDict(json_schema_extra=null_means_absent)
    loan: PublishedFlipLoan | None = None


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
    return create_model(
        name,
        __base__=DealModel,
        __doc__=model.__doc__,
        **fields,
    )


if TYPE_CHECKING:
    RentalDefaults = BaseModel
    FlipDefaults = BaseModel
    RentalAssumptions = BaseModel
    FlipAssumptions = BaseModel
else:
    RentalDefaults = partial_model(PublishedRentalDeal, "RentalDefaults", PROPERTY_INPUTS)
    FlipDefaults = partial_model(PublishedFlipDeal, "FlipDefaults", PROPERTY_INPUTS)
    RentalAssumptions = partial_model(PublishedRentalDeal, "RentalAssumptions")
    FlipAssumptions = partial_model(PublishedFlipDeal, "FlipAssumptions")


class DefaultsBody(InputModel):
    """An organisation's default assumptions, per strategy: deal-file fields that apply
    when neither the user nor the store gives them. ``PUT`` replaces them all: a strategy
    left out has none saved."""

    rental: RentalDefaults | None = None
    flip: FlipDefaults | None = None


class DefaultsOut(BaseModel):
    rental: dict[str, Any] | None = None
    flip: dict[str, Any] | None = None


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON schema with its ``$defs`` written in place (a schema placed in
    another model's ``json_schema_extra`` cannot point at definitions)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return dict(resolve(schema))


def _request_branches() -> list[Any]:
    """The request's three shapes: a stored property as a rental (``strategy`` rental or
    absent) with rental assumptions, as a flip with flip assumptions, or a whole deal."""

    def stored(strategy: dict[str, Any], assumptions: type[BaseModel]) -> dict[str, Any]:
        return {
            "properties": {
                "property_id": {"type": "string"},
                "deal": {"type": "null"},
                "strategy": strategy,
                "assumptions": {"anyOf": [{"type": "null"}, inline_schema(assumptions)]},
            },
        }

    rental = stored({"enum": ["rental"]}, RentalAssumptions)
    rental["required"] = ["property_id"]
    flip = stored({"enum": ["flip"]}, FlipAssumptions)
    flip["required"] = ["property_id", "strategy"]
    deal = {
        "required": ["deal"],
        "properties": {
            "deal": {"type": "object"},
            "property_id": {"type": "null"},
            "price": {"type": "null"},
            "assumptions": {"type": "null"},
        },
    }
    return [rental, flip, deal]


#: The union tag of each strategy's whole deal (a model's name, so an error's location
#: reads as the user's field path once :mod:`reos.http.errors` drops model names).
DEAL_TAGS = {"rental": "RentalDeal", "flip": "FlipDeal"}


def _deal_tag(value: Any) -> str | None:
    """The deal's strategy as its union tag (a deal without one is a rental, as in a deal
    file), so a problem is reported against the strategy the user meant only."""
    strategy = value.get("strategy", "rental") if isinstance(value, dict) else None
    if strategy is None:
        strategy = getattr(value, "strategy", "rental")
    return DEAL_TAGS.get(strategy) if isinstance(strategy, str) else None


#: A whole rental or flip deal, checked against its own strategy's rules only.
WholeDeal = Annotated[
    Annotated[PublishedRentalDeal, Tag("RentalDeal")]
    | Annotated[PublishedFlipDeal, Tag("FlipDeal")],
    Discriminator(
        _deal_tag,
        custom_error_type="strategy",
        custom_error_message="strategy: must be rental or flip (a commercial deal is "
        "underwritten from a deal file: reos underwrite DEAL.yaml)",
    ),
]


class UnderwritingRequest(InputModel):
    """Underwrite a stored property (``property_id``, with ``strategy`` and optional
    ``price`` and ``assumptions``: the deal is filled from the store, the organisation's
    defaults and the contract's), or a whole deal (``deal``, as a deal file, which carries
    its own price and assumptions: ``price`` and ``assumptions`` go with ``property_id``).
    Exactly one of ``property_id`` and ``deal``; ``assumptions`` are fields of the chosen
    strategy (the published ``anyOf`` states both rules)."""

    model_config = ConfigDict(json_schema_extra={"anyOf": _request_branches()})
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
    deal: WholeDeal | None = None

    @model_validator(mode="after")
    def _one_subject(self) -> UnderwritingRequest:
        if (self.property_id is None) == (self.deal is None):
            raise ValueError("give exactly one of property_id or deal")
        if self.deal is not None and (self.assumptions is not None or self.price is not None):
            raise ValueError("a whole deal carries its own price and assumptions")
        return self

    def assumptions_given(self) -> dict[str, Any]:
        """The assumptions as deal-file fields (null ones left out)."""
        if self.assumptions is None:
            return {}
        return self.assumptions.model_dump(exclude_none=True)


class UnderwritingOut(BaseModel):
    """A stored underwriting: the inputs used and where each came from, the contract's
    metrics, the annual cash flows they came from, the low/base/high cases of the AVM's
    interval, the evidence behind store-derived inputs and the versions that made it."""

    id: uuid.UUID
    property_id: uuid.UUID | None = Field(
        default=None, description="the property underwritten; absent for a whole deal"
    )
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

    @model_serializer(mode="wrap")
    def _without_null_property(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        """A whole deal's underwriting names no property: the key is left out rather than
        null, so nothing reads it as a property id. (No return annotation: with one,
        pydantic would publish the annotation instead of this model's schema.)"""
        data = handler(self)
        if isinstance(data, dict) and data.get("property_id") is None:
            data.pop("property_id", None)
        return data


class UnderwritingPage(BaseModel):
    items: list[UnderwritingOut]
    total: int
    limit: int
    offset: int


class MaxOfferRequest(InputModel):
    """The highest whole-dollar price at which every constraint holds, for a whole deal
    (``deal``: a deal file's mapping of any strategy, commercial included) or for a stored
    property's deal filled as an underwriting fills it (``property_id``, ``strategy``,
    optional ``assumptions`` and ``as_of``). Exactly one of the two. Nothing is stored."""

    constraints: dict[str, float] = Field(
        min_length=1,
        description='constraint name to bound, e.g. {"min_dscr": 1.25, "min_cash_on_cash": 0.06}',
    )
    property_id: uuid.UUID | None = None
    strategy: Literal["rental", "flip"] = "rental"
    as_of: date | None = Field(
        default=None, description="date of the AVM value and the rent estimate (default today)"
    )
    assumptions: RentalAssumptions | FlipAssumptions | None = None
    deal: dict[str, Any] | None = Field(
        default=None, description="a whole deal file as JSON (rental, flip or commercial)"
    )

    @model_validator(mode="after")
    def _one_subject(self) -> MaxOfferRequest:
        if (self.property_id is None) == (self.deal is None):
            raise ValueError("give exactly one of property_id or deal")
        if self.deal is not None and self.assumptions is not None:
            raise ValueError("a whole deal carries its own assumptions")
        return self


class MaxOfferOut(BaseModel):
    """``max_offer`` (whole dollars, null when no price satisfies every constraint or none
    limits the price: ``reason`` says which), the ``binding`` constraint, each constraint
    checked at ``max_offer`` and one dollar above, the metrics at ``max_offer``, and for a
    stored property where each filled input came from."""

    max_offer: int | None
    binding: str | None
    reason: str
    constraints: dict[str, float]
    checks: list[dict[str, Any]]
    metrics_at_max: dict[str, Any]
    sources: dict[str, str]
