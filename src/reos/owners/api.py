"""Owner routes: list and search owners, one owner with its records, properties, related
owners and portfolio, the most connected owners, and resolution with human corrections."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from reos.http.deps import ReadSession, WriteSession
from reos.http.errors import error_responses
from reos.http.paging import Offset, limit_query
from reos.kernel.schemas import NO_NUL_PATTERN
from reos.owners import queries, service
from reos.owners.schemas import (
    MergeRequest,
    MergeResult,
    OwnerDetail,
    OwnerKind,
    OwnerPage,
    OwnerSummary,
    PortfolioOut,
    ResolutionReportOut,
    ResolveRequest,
    SplitRequest,
    SplitResult,
    TopOwner,
    report_out,
)

router = APIRouter(prefix="/api/v1/owners", tags=["owners"])
ERRORS = error_responses(401, 403, 422, 429)
WITH_404 = ERRORS | error_responses(404)


@router.get("", response_model=OwnerPage, responses=ERRORS)
def list_owners(
    session: ReadSession,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            pattern=NO_NUL_PATTERN,
            description="part of the owner's name or of a name on its records",
        ),
    ] = None,
    kind: OwnerKind | None = None,
    absentee: bool | None = None,
    out_of_state: bool | None = None,
    corporate: bool | None = None,
    limit: Annotated[int, limit_query(500)] = 50,
    offset: Offset = 0,
) -> OwnerPage:
    """Owners of the caller's organisation by name; flags as of the last resolve run."""
    items, total = queries.list_owners(
        session,
        q=q,
        kind=kind,
        absentee=absentee,
        out_of_state=out_of_state,
        corporate=corporate,
        limit=limit,
        offset=offset,
    )
    return OwnerPage(
        items=[OwnerSummary.model_validate(i) for i in items],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/top", response_model=list[TopOwner], responses=ERRORS)
def top_owners(session: ReadSession, n: Annotated[int, Query(ge=1, le=500)] = 20) -> list[TopOwner]:
    """The most connected owners by PageRank over the ownership graph."""
    return [TopOwner.model_validate(o) for o in queries.top(session, n)]


@router.post("/resolve", response_model=ResolutionReportOut, responses=ERRORS)
def resolve(session: WriteSession, body: ResolveRequest | None = None) -> ResolutionReportOut:
    """Resolve the organisation's owner records into owners (incrementally when only new
    records arrived, unless ``full``) and return the run report."""
    body = body or ResolveRequest()
    return report_out(service.resolve(session, threshold=body.threshold, full=body.full))


@router.post("/merge", response_model=MergeResult, responses=WITH_404 | error_responses(409))
def merge(body: MergeRequest, session: WriteSession) -> MergeResult:
    """Two records are the same owner: joins their owners now and in every later run."""
    return MergeResult.model_validate(service.merge(session, body.record_a, body.record_b))


@router.get("/{entity_id}", response_model=OwnerDetail, responses=WITH_404)
def get_owner(entity_id: uuid.UUID, session: ReadSession) -> OwnerDetail:
    return OwnerDetail.model_validate(queries.get_owner(session, entity_id))


@router.get("/{entity_id}/portfolio", response_model=PortfolioOut, responses=WITH_404)
def portfolio(entity_id: uuid.UUID, session: ReadSession) -> PortfolioOut:
    return PortfolioOut.model_validate(queries.portfolio(session, entity_id))


@router.post(
    "/{entity_id}/split", response_model=SplitResult, responses=WITH_404 | error_responses(409)
)
def split(entity_id: uuid.UUID, body: SplitRequest, session: WriteSession) -> SplitResult:
    """The record is not this owner: moves it to an owner of its own, now and in every
    later run."""
    return SplitResult.model_validate(service.split(session, entity_id, body.record_id))
