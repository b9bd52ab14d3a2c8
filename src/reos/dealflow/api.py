"""Deal flow routes: lists (read, import by upload), a property's stack, saved searches,
deal scores and score models."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile, status

from reos.dealflow import read_model, service
from reos.dealflow.schemas import (
    DriverOut,
    ListDetail,
    ListKind,
    ListOut,
    ListPage,
    MatchOut,
    MemberOut,
    RematchOut,
    ScoreModelOut,
    ScoreModelPage,
    ScoreOut,
    ScorePage,
    SearchBody,
    SearchOut,
    SearchPage,
    SearchPatch,
    SearchRunOut,
    StackEntry,
    StackOut,
)
from reos.errors import NotFound
from reos.http.deps import ReadSession, WriteSession
from reos.http.errors import error_responses
from reos.http.paging import Offset, limit_query
from reos.models import PropertyList, SavedSearch
from reos.properties import read_model as properties_read

router = APIRouter(prefix="/api/v1", tags=["dealflow"])
ERRORS = error_responses(401, 403, 422, 429)
NOT_FOUND = error_responses(404)


def list_out(p: PropertyList) -> ListOut:
    return ListOut(
        id=p.id, name=p.name, kind=p.kind, source=p.source, list_date=p.list_date,
        derived=p.derived, members=p.member_count, filename=p.filename,
        report=dict(p.report or {}), query=dict(p.query or {}), created_at=p.created_at,
    )  # fmt: skip


def search_out(s: SavedSearch) -> SearchOut:
    return SearchOut(
        id=s.id, name=s.name, filters=dict(s.filters or {}), last_run_at=s.last_run_at,
        last_match_count=s.last_match_count, last_new_count=s.last_new_count,
    )  # fmt: skip


def score_out(s: service.PropertyScore) -> ScoreOut:
    return ScoreOut(
        property_id=s.property_id,
        score=s.score,
        model_version=s.model_version,
        drivers=[DriverOut(label=d.label, points=d.points) for d in s.drivers],
        reasons=s.reasons,
    )


def require_property(session: ReadSession, property_id: uuid.UUID) -> None:
    if not properties_read.property_facts(session, [property_id]):
        raise NotFound(f"property {property_id} not found", field="property_id")


@router.get("/lists", response_model=ListPage, responses=ERRORS)
def get_lists(session: ReadSession, kind: ListKind | None = None) -> ListPage:
    """Every list of the organisation (imported and derived), newest first."""
    rows = service.list_lists(session, kind)
    return ListPage(items=[list_out(p) for p in rows], total=len(rows))


@router.post(
    "/lists",
    response_model=ListOut,
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS | error_responses(400, 413),
)
def import_list(
    session: WriteSession,
    file: Annotated[
        UploadFile, File(description="CSV/TSV or XLSX with a parcel or address column")
    ],
    kind: Annotated[ListKind, Form(description="the list's kind")],
    name: Annotated[str | None, Form(max_length=200)] = None,
    source: Annotated[str | None, Form(max_length=200)] = None,
    list_date: Annotated[date | None, Form()] = None,
) -> ListOut:
    """Import a list file: rows matched to stored properties by parcel number (case,
    spaces, dashes and dots ignored) or normalised address; unmatched and duplicate rows
    kept with their reason; the report (rows read = matched + unmatched + duplicate) is in
    ``report``. A file matching no property is a 422 and makes no list. A body that is not
    multipart form data is a 400; one over ``REOS_MAX_BODY_BYTES`` a 413."""
    suffix = Path(file.filename or "list.csv").suffix.lower() or ".csv"
    with tempfile.TemporaryDirectory(prefix="reos-list-") as folder:
        stored = Path(folder) / f"{Path(file.filename or 'list').stem[:100] or 'list'}{suffix}"
        with open(stored, "wb") as out:
            shutil.copyfileobj(file.file, out, 1 << 20)
        report = service.import_list(
            session, stored, kind, name=name, source=source, list_date=list_date,
            created_by="api",
        )  # fmt: skip
    return list_out(service.get_list(session, report.list_id))


@router.get("/lists/{list_id}", response_model=ListDetail, responses=ERRORS | NOT_FOUND)
def get_list(
    list_id: uuid.UUID,
    session: ReadSession,
    member_status: Annotated[
        str, Query(pattern="^(matched|unmatched|duplicate|all)$", description="rows shown")
    ] = "matched",
    limit: Annotated[int, limit_query(1000)] = 100,
    offset: Offset = 0,
) -> ListDetail:
    """A list with a page of its rows (matched by default; ``all`` for every row)."""
    p = service.get_list(session, list_id)
    rows, total = service.members(
        session, list_id, status=None if member_status == "all" else member_status,
        limit=limit, offset=offset,
    )  # fmt: skip
    return ListDetail(
        **list_out(p).model_dump(),
        member_page=[
            MemberOut(
                row_number=m.row_number,
                status=m.status,
                property_id=m.property_id,
                matched_by=m.matched_by,
                reason=m.reason,
                listed_on=m.listed_on,
                attributes=dict(m.attributes or {}),
            )  # fmt: skip
            for m in rows
        ],
        member_total=total,
    )


@router.post("/lists/{list_id}/rematch", response_model=RematchOut, responses=ERRORS | NOT_FOUND)
def rematch_list(list_id: uuid.UUID, session: WriteSession) -> RematchOut:
    """Match the list's unmatched rows again, against the properties stored now (a list
    loaded before its properties were imported gains them; every pipeline run does this
    for every list too). The list's counts and report follow and still balance."""
    counts = service.rematch_unmatched(session, list_id)
    return RematchOut(**counts, list=list_out(service.get_list(session, list_id)))


@router.get(
    "/properties/{property_id}/stack", response_model=StackOut, responses=ERRORS | NOT_FOUND
)
def get_stack(property_id: uuid.UUID, session: ReadSession) -> StackOut:
    """The lists a property is on, with the date it was listed on each, oldest first."""
    require_property(session, property_id)
    entries = read_model.stacks(session, [property_id]).get(property_id, [])
    return StackOut(
        property_id=property_id,
        count=len(entries),
        lists=[StackEntry(kind=k, list_name=n, listed_on=d) for k, n, d in entries],
    )


@router.get("/searches", response_model=SearchPage, responses=ERRORS)
def get_searches(session: ReadSession) -> SearchPage:
    rows = service.list_searches(session)
    return SearchPage(items=[search_out(s) for s in rows], total=len(rows))


@router.post(
    "/searches",
    response_model=SearchOut,
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS | error_responses(409),
)
def create_search(body: SearchBody, session: WriteSession) -> SearchOut:
    """Save a search; a name already used is a 409."""
    filters = body.filters.model_dump(exclude_defaults=True)
    return search_out(service.create_search(session, body.name, filters, created_by="api"))


@router.get("/searches/{search_id}", response_model=SearchOut, responses=ERRORS | NOT_FOUND)
def get_search(search_id: uuid.UUID, session: ReadSession) -> SearchOut:
    return search_out(service.get_search(session, search_id))


@router.patch(
    "/searches/{search_id}",
    response_model=SearchOut,
    responses=ERRORS | NOT_FOUND | error_responses(409),
)
def patch_search(search_id: uuid.UUID, body: SearchPatch, session: WriteSession) -> SearchOut:
    """Rename a search or replace its filters."""
    filters = body.filters.model_dump(exclude_defaults=True) if body.filters else None
    return search_out(service.update_search(session, search_id, body.name, filters))


@router.delete(
    "/searches/{search_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=ERRORS | NOT_FOUND,
)
def delete_search(search_id: uuid.UUID, session: WriteSession) -> None:
    service.delete_search(session, search_id)


@router.post("/searches/{search_id}/run", response_model=SearchRunOut, responses=ERRORS | NOT_FOUND)
def run_search(
    search_id: uuid.UUID,
    session: WriteSession,
    limit: Annotated[int, limit_query(1000)] = 100,
) -> SearchRunOut:
    """Run a saved search: its matches (highest score first) and how many of them are new
    since the previous run (which this run becomes)."""
    run = service.run_search(session, search_id)
    shown = run.matches[:limit]
    scores = read_model.latest_scores(session, shown)
    return SearchRunOut(
        search_id=run.search_id,
        name=run.name,
        match_count=run.match_count,
        new_count=run.new_count,
        previous_run_at=run.previous_run_at,
        items=[
            MatchOut(
                property_id=pid,
                score=scores[pid].score if pid in scores else None,
                reasons=scores[pid].reasons if pid in scores else [],
            )
            for pid in shown
        ],
    )


@router.get(
    "/properties/{property_id}/score", response_model=ScoreOut, responses=ERRORS | NOT_FOUND
)
def get_score(property_id: uuid.UUID, session: ReadSession) -> ScoreOut:
    """A property's deal score with its drivers (they sum to the score): the stored one,
    else computed now (and not stored) with the active model."""
    require_property(session, property_id)
    stored = read_model.latest_scores(session, [property_id]).get(property_id)
    if stored is None:
        stored = service.score_properties(session, [property_id], store=False)[0]
    return score_out(stored)


@router.get("/scores", response_model=ScorePage, responses=ERRORS)
def get_scores(
    session: ReadSession,
    min_score: Annotated[int | None, Query(ge=0, le=100)] = None,
    limit: Annotated[int, limit_query(500)] = 50,
    offset: Offset = 0,
) -> ScorePage:
    """Stored deal scores, highest first, at least ``min_score`` when given."""
    rows, total = service.top_scores(session, min_score=min_score, limit=limit, offset=offset)
    return ScorePage(items=[score_out(s) for s in rows], total=total)


@router.get("/score-models", response_model=ScoreModelPage, responses=ERRORS)
def get_score_models(session: ReadSession) -> ScoreModelPage:
    """Trained score models, newest first, with holdout AUCs (learned and default)."""
    rows = service.list_models(session)
    items = [
        ScoreModelOut(
            id=m.id,
            version=m.version,
            is_active=m.is_active,
            outcome_count=m.outcome_count,
            holdout_auc=m.holdout_auc,
            default_auc=m.default_auc,
            metrics=dict(m.metrics or {}),
            created_at=m.created_at,
        )  # fmt: skip
        for m in rows
    ]
    return ScoreModelPage(items=items, total=len(items))
