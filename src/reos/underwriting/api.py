"""Underwriting routes: underwrite a stored property or a whole deal, stored underwritings,
the organisation's default assumptions."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, status

from reos.http.deps import ReadSession, SettingsSession, WriteSession
from reos.http.errors import error_responses
from reos.http.paging import Offset, limit_query
from reos.kernel.jsonable import jsonable
from reos.underwriting import service
from reos.underwriting.schemas import (
    DefaultsBody,
    DefaultsOut,
    MaxOfferOut,
    MaxOfferRequest,
    UnderwritingOut,
    UnderwritingPage,
    UnderwritingRequest,
)

router = APIRouter(prefix="/api/v1", tags=["underwriting"])
ERRORS = error_responses(401, 403, 422, 429)


@router.post(
    "/underwritings",
    response_model=UnderwritingOut,
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS | error_responses(404),
)
def create_underwriting(body: UnderwritingRequest, session: WriteSession) -> dict[str, Any]:
    """Underwrite a stored property with a strategy, the deal filled from the store (price
    from the entered price, else the asking price, else the last sale; value and ARV from
    the AVM with its interval as low/high cases; taxes from the assessor; rent from the
    rent estimate) and the organisation's defaults, every input naming its source; or
    underwrite a whole deal. Stored. A property lacking what the strategy needs is a 422
    naming each missing field."""
    if body.deal is not None:
        deal = body.deal.model_dump(exclude_unset=True)
        deal["strategy"] = body.deal.strategy
        row = service.underwrite_deal(session, deal)
    else:
        assert body.property_id is not None
        assumptions = body.assumptions_given()
        row = service.underwrite_property(
            session,
            body.property_id,
            body.strategy,
            assumptions=assumptions,
            price=body.price,
            as_of=body.as_of,
        )
    return service.to_json(row)


@router.get("/underwritings", response_model=UnderwritingPage, responses=ERRORS)
def list_underwritings(
    session: ReadSession,
    property_id: uuid.UUID | None = None,
    strategy: Literal["rental", "flip", "commercial"] | None = None,
    limit: Annotated[int, limit_query(500)] = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Stored underwritings, newest first, of one property or strategy when asked."""
    rows, total = service.list_underwritings(
        session, property_id=property_id, strategy=strategy, limit=limit, offset=offset
    )
    return {
        "items": [service.to_json(r) for r in rows],
        "total": total,
        "limit": limit,
        "offset": offset,
    }


@router.get(
    "/underwritings/{underwriting_id}",
    response_model=UnderwritingOut,
    responses=ERRORS | error_responses(404),
)
def get_underwriting(underwriting_id: uuid.UUID, session: ReadSession) -> dict[str, Any]:
    return service.to_json(service.get_underwriting(session, underwriting_id))


@router.get("/underwriting/defaults", response_model=DefaultsOut, responses=ERRORS)
def get_defaults(session: ReadSession) -> dict[str, Any]:
    """The organisation's saved default assumptions per strategy (null: none saved)."""
    return dict(service.defaults_of(session))


@router.put("/underwriting/defaults", response_model=DefaultsOut, responses=ERRORS)
def put_defaults(body: DefaultsBody, session: SettingsSession) -> dict[str, Any]:
    """Replace the organisation's default assumptions (owners and admins): deal-file fields
    per strategy, checked by the deal-file rules; a strategy left out has none saved."""
    given = body.model_dump(exclude_none=True)
    return service.replace_defaults(session, given)


@router.post(
    "/underwriting/max-offer",
    response_model=MaxOfferOut,
    responses=ERRORS | error_responses(404),
)
def max_offer(body: MaxOfferRequest, session: ReadSession) -> MaxOfferOut:
    """The maximum offer: the highest whole-dollar price at which every constraint holds
    (``min_*`` ≥, ``max_*`` ≤, inclusive), checked there and one dollar above, with the
    constraint that binds — ``reos offer max`` through the API. For a whole deal or a
    stored property (its deal filled as ``POST /underwritings`` fills it). A constraint that
    does not exist or does not apply to the strategy is a 422 naming it."""
    assumptions = None
    if body.assumptions is not None:
        assumptions = body.assumptions.model_dump(exclude_none=True)
    result, sources = service.max_offer(
        session,
        dict(body.constraints),
        deal=body.deal,
        property_id=body.property_id,
        strategy=body.strategy,
        assumptions=assumptions,
        as_of=body.as_of,
    )
    return MaxOfferOut(**jsonable(result.as_json()), sources=sources)
