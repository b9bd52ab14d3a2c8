"""Valuation routes: value a stored property or an address, past valuations, models."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Response, status

from reos.http.deps import ReadSession, WriteSession
from reos.http.errors import error_responses
from reos.http.paging import Offset, limit_query
from reos.models import Valuation
from reos.valuation import service
from reos.valuation.schemas import (
    ModelOut,
    TrainingOut,
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
        model_stale=body.get("model_stale"),
        warnings=list(body.get("warnings", [])),
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
    as of a date, with comps, adjustments, an 80% interval and drivers. Stored.

    ``model_stale`` and ``warnings`` say when the model is older than the data or the comps
    are far, old or heavily adjusted. Refused with 422 (naming the field): ``as_of`` in the
    future or before the model's first sale; comps beyond the limits (``location``,
    ``as_of``, ``subject``: too far, too old, too adjusted)."""
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


TRAINING_PATH = "/api/v1/avm/training/{job_id}"


@router.post(
    "/avm/models",
    response_model=TrainingOut,
    status_code=status.HTTP_202_ACCEPTED,
    tags=["models"],
    responses=ERRORS | error_responses(409),
)
def train_model(body: TrainRequest, session: WriteSession, response: Response) -> TrainingOut:
    """Queue the training of the organisation's model on its sales before ``cutoff``; it
    becomes the active model when done. Training takes tens of seconds, so this answers
    at once: follow the ``Location`` (``GET /api/v1/avm/training/{job_id}``) until its
    status is ``done`` (the model is in the answer) or ``failed`` (with the reason).
    One training at a time per organisation (409 while one is queued or running)."""
    model_id, job = service.request_training(session, body.cutoff)
    location = TRAINING_PATH.format(job_id=job.id)
    response.headers["Location"] = location
    return TrainingOut(
        job_id=job.id,
        model_id=model_id,
        status=job.status,
        cutoff=body.cutoff,
        error=None,
        location=location,
        model=None,
        created_at=job.created_at,
    )


@router.get(
    "/avm/training/{job_id}",
    response_model=TrainingOut,
    tags=["models"],
    responses=ERRORS | error_responses(404),
)
def get_training(job_id: uuid.UUID, session: ReadSession) -> TrainingOut:
    """Status of a training: queued, running, done (with the model) or failed (with why)."""
    job, model = service.training_status(session, job_id)
    cutoff = job.payload.get("cutoff")
    return TrainingOut(
        job_id=job.id,
        model_id=uuid.UUID(str(job.payload["model_id"])),
        status=job.status,
        cutoff=date.fromisoformat(cutoff) if cutoff else None,
        error=job.error if job.status != "done" else None,
        location=TRAINING_PATH.format(job_id=job.id),
        model=ModelOut.model_validate(model) if model is not None else None,
        created_at=job.created_at,
    )
