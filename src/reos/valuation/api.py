"""Valuation routes: value a stored property or an address, past valuations, models."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, status

from reos.http.deps import ReadSession, WriteSession
from reos.http.errors import error_responses
from reos.http.paging import Offset, limit_query
from reos.models import Valuation
from reos.valuation import service
from reos.valuation.schemas import (
    ModelOut,
    TrainRequest,
    ValuationOut,
    ValuationPage,
    ValuationRequest,
)
from reos.valuation.valuation_result import CompEvidence

router = APIRouter(prefix="/api/v1", tags=["valuations"])
ERRORS = error_responses(401, 403, 422, 429)


def to_out(row: Valuation) -> ValuationOut:
    body = row.result
    return ValuationOut(
        id=row.id,
        property_id=row.property_id,
        estimated_value=row.estimated_value,
        interval_80=(row.interval_low, row.interval_high),
        confidence=row.confidence,
        valuation_date=row.valuation_date,
        model_version=row.model_version,
        comps=[CompEvidence(**c) for c in body.get("comps", [])],
        drivers=body.get("drivers", {}),
        n_comps=int(body.get("n_comps", 0)),
        method=body.get("method", {}),
        subject=body.get("subject"),
        created_at=row.created_at,
    )


@router.post(
    "/valuations",
    response_model=ValuationOut,
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS | error_responses(404),
)
def create_valuation(body: ValuationRequest, session: WriteSession) -> ValuationOut:
    """Value a stored property (``property_id``) or an address with attributes (``subject``)
    as of a date, with comps, adjustments, an 80% interval and drivers. Stored."""
    if body.property_id is not None:
        row = service.value_property(session, body.property_id, body.as_of)
    else:
        assert body.subject is not None
        subject = body.subject.model_dump(exclude_none=True)
        subject["property_type"] = str(body.subject.property_type or "single_family")
        row = service.value_subject(session, subject, body.as_of)
    return to_out(row)


@router.get("/valuations", response_model=ValuationPage, responses=ERRORS)
def list_valuations(
    session: ReadSession,
    property_id: uuid.UUID | None = None,
    limit: Annotated[int, limit_query(500)] = 50,
    offset: Offset = 0,
) -> ValuationPage:
    rows, total = service.list_valuations(
        session, property_id=property_id, limit=limit, offset=offset
    )
    return ValuationPage(items=[to_out(r) for r in rows], total=total, limit=limit, offset=offset)


@router.get(
    "/valuations/{valuation_id}",
    response_model=ValuationOut,
    responses=ERRORS | error_responses(404),
)
def get_valuation(valuation_id: uuid.UUID, session: ReadSession) -> ValuationOut:
    return to_out(service.get_valuation(session, valuation_id))


@router.get("/avm/models", response_model=list[ModelOut], tags=["models"], responses=ERRORS)
def list_models(session: ReadSession) -> list[ModelOut]:
    return [ModelOut.model_validate(m) for m in service.list_models(session)]


@router.post(
    "/avm/models", response_model=ModelOut, status_code=201, tags=["models"], responses=ERRORS
)
def train_model(body: TrainRequest, session: WriteSession) -> ModelOut:
    """Train the organisation's model on its sales before ``cutoff`` and make it active."""
    return ModelOut.model_validate(service.train_model(session, body.cutoff))
