"""CRM routes: deals (list, filters, sort, keyset pages, ETag / If-Match), their notes,
tasks and timeline, offers (create, transition, counter, chain), tasks due, the
organisation's stages, and the CSV export of any deal list.

Changing a deal (``PATCH /deals/{id}``) needs ``If-Match`` with the ETag a ``GET`` gave:
a stale one is 412, none is 428, so two people editing one deal never overwrite each
other silently.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Response, status
from sqlalchemy.orm import Session

from reos.crm import export, listing, offers, service
from reos.crm.schemas import (
    CounterIn,
    Day,
    DealCreate,
    DealOut,
    DealPage,
    DealPatch,
    EventIn,
    EventOut,
    NoteIn,
    NoteOut,
    OfferChain,
    OfferCreate,
    OfferOut,
    OfferTransition,
    StagesIn,
    StagesOut,
    TaskIn,
    TaskOut,
    TaskPatch,
)
from reos.crm.stages import Stage
from reos.errors import PreconditionFailed, PreconditionRequired
from reos.http.deps import ReadSession, SettingsSession, WriteSession
from reos.http.errors import error_responses
from reos.http.paging import limit_query
from reos.models import Deal, DealEvent, DealNote, DealTask, Offer

router = APIRouter(prefix="/api/v1", tags=["crm"])
ERRORS = error_responses(401, 403, 422, 429)
NOT_FOUND = error_responses(404)
SortName = Literal["score", "-score", "updated", "-updated", "due", "-due", "address", "-address"]
Text = Annotated[str, Query(max_length=200, pattern=r"^[^\x00]*$")]

STAGE_RULES = [
    "a stage must be one of the organisation's stages (422 names it and the valid ones)",
    "offer_sent needs an offer in sent status, or sends the deal's newest draft",
    "under_contract needs an accepted offer",
    "a terminal stage with outcome lost (closed_lost, dead) needs a reason",
    "a closed deal reopens only in an open stage, and only when no other deal is open on "
    "its property",
    "sending an offer moves the deal to offer_sent, accepting one to under_contract, "
    "when the deal is at an earlier stage",
]


def etag_of(deal: Deal) -> str:
    return f'"{deal.version}"'


def expected_version(if_match: str | None) -> int:
    """The version an ``If-Match`` header names: 428 without one, 412 for a value that
    cannot be a current ETag."""
    if if_match is None or not if_match.strip():
        raise PreconditionRequired(
            "If-Match is required to change a deal: send the ETag from GET /api/v1/deals/{id}",
            field="If-Match",
        )
    value = if_match.strip().removeprefix("W/").strip('"')
    if not value.isdigit() or len(value) > 12:
        raise PreconditionFailed(
            f"If-Match {if_match!r} does not name a current version of this deal; read it "
            "again (GET) and send its ETag",
            field="If-Match",
        )
    return int(value)


def deal_out(deal: Deal, tags: list[str]) -> DealOut:
    return DealOut(
        id=deal.id,
        property_id=deal.property_id,
        stage=deal.stage,
        is_open=deal.open_property_id is not None,
        assignee_id=deal.assignee_id,
        next_action=deal.next_action,
        next_action_due=deal.next_action_due,
        score=deal.score,
        reasons=[str(r) for r in deal.reasons or []],
        tags=tags,
        address=deal.address,
        city=deal.city,
        state=deal.state,
        zip=deal.zip,
        closed_at=deal.closed_at,
        close_reason=deal.close_reason,
        version=deal.version,
        created_at=deal.created_at,
        updated_at=deal.updated_at,
    )


def _one(session: Session, deal: Deal, response: Response) -> DealOut:
    response.headers["ETag"] = etag_of(deal)
    return deal_out(deal, service.tags_of(session, [deal.id])[deal.id])


def offer_out(offer: Offer) -> OfferOut:
    return OfferOut(
        id=offer.id,
        deal_id=offer.deal_id,
        property_id=offer.property_id,
        parent_offer_id=offer.parent_offer_id,
        party=offer.party,
        price=offer.price,
        terms=offer.terms or {},
        source=offer.source,
        basis=offer.basis or {},
        status=offer.status,
        sent_at=offer.sent_at,
        expires_at=offer.expires_at,
        decided_at=offer.decided_at,
        inspection_ends_at=offer.inspection_ends_at,
        created_by=offer.created_by,
        created_at=offer.created_at,
    )


def task_out(task: DealTask) -> TaskOut:
    return TaskOut(
        id=task.id,
        deal_id=task.deal_id,
        title=task.title,
        due_date=task.due_date,
        done=task.done,
        done_at=task.done_at,
        assignee_id=task.assignee_id,
        source_key=task.source_key,
        created_at=task.created_at,
    )


def note_out(note: DealNote) -> NoteOut:
    return NoteOut(
        id=note.id, deal_id=note.deal_id, body=note.body, author=note.author,
        created_at=note.created_at,
    )  # fmt: skip


def event_out(event: DealEvent) -> EventOut:
    return EventOut(
        id=event.id, deal_id=event.deal_id, kind=event.kind, actor=event.actor,
        occurred_at=event.occurred_at, detail=event.detail or {},
    )  # fmt: skip


def filters_of(
    stage: list[str] | None,
    assignee_id: uuid.UUID | None,
    tag: str | None,
    min_score: int | None,
    max_score: int | None,
    city: str | None,
    zip_code: str | None,
    q: str | None,
    due_before: date | None,
    status_: str,
) -> listing.DealFilters:
    return listing.DealFilters(
        stages=tuple(stage or ()),
        assignee_id=assignee_id,
        tag=tag,
        min_score=min_score,
        max_score=max_score,
        city=city,
        zip=zip_code,
        text=q,
        due_before=due_before,
        status=status_,
    )


# --- deals ------------------------------------------------------------------------------


@router.get("/deals", response_model=DealPage, responses=ERRORS)
def list_deals(
    session: ReadSession,
    stage: Annotated[list[Annotated[str, Query(max_length=40)]] | None, Query()] = None,
    assignee_id: uuid.UUID | None = None,
    tag: Text | None = None,
    min_score: Annotated[int | None, Query(ge=0, le=100)] = None,
    max_score: Annotated[int | None, Query(ge=0, le=100)] = None,
    city: Text | None = None,
    zip: Annotated[str | None, Query(max_length=10, pattern=r"^[0-9-]*$")] = None,  # noqa: A002
    q: Text | None = None,
    due_before: Day | None = None,
    status: Literal["open", "closed", "all"] = "open",  # noqa: A002
    sort: SortName = "-score",
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, limit_query(500)] = 50,
) -> DealPage:
    """Deals matching every filter given (``stage`` may repeat; ``q`` searches the
    address, city, state and ZIP; ``due_before``: next action due before that day), sorted
    (``-score``: best first, the default), one keyset page at a time: pass ``next_cursor``
    as ``cursor`` for the next page."""
    filters = filters_of(stage, assignee_id, tag, min_score, max_score, city, zip, q,
                         due_before, status)  # fmt: skip
    rows, next_cursor = listing.page(session, filters, sort, limit, cursor)
    tags = service.tags_of(session, [d.id for d in rows])
    return DealPage(
        items=[deal_out(d, tags[d.id]) for d in rows], limit=limit, next_cursor=next_cursor
    )


@router.post(
    "/deals",
    response_model=DealOut,
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS | NOT_FOUND | error_responses(409),
)
def create_deal(body: DealCreate, session: WriteSession, response: Response) -> DealOut:
    """Open a deal on a property of the organisation at stage ``new`` (409 when the
    property has an open deal already)."""
    deal = service.create_deal(
        session,
        body.property_id,
        assignee_id=body.assignee_id,
        next_action=body.next_action,
        next_action_due=body.next_action_due,
        tags=body.tags,
    )
    return _one(session, deal, response)


@router.get("/deals/export.csv", responses=ERRORS, response_class=Response)
def export_deals(
    session: ReadSession,
    stage: Annotated[list[Annotated[str, Query(max_length=40)]] | None, Query()] = None,
    assignee_id: uuid.UUID | None = None,
    tag: Text | None = None,
    min_score: Annotated[int | None, Query(ge=0, le=100)] = None,
    max_score: Annotated[int | None, Query(ge=0, le=100)] = None,
    city: Text | None = None,
    zip: Annotated[str | None, Query(max_length=10, pattern=r"^[0-9-]*$")] = None,  # noqa: A002
    q: Text | None = None,
    due_before: Day | None = None,
    status: Literal["open", "closed", "all"] = "open",  # noqa: A002
    sort: SortName = "-score",
) -> Response:
    """Every deal the filters select (the same filters and sort as ``GET /deals``) as CSV:
    the deal's columns, then its property's columns as the user's own file named them
    (see :mod:`reos.crm.export`)."""
    filters = filters_of(stage, assignee_id, tag, min_score, max_score, city, zip, q,
                         due_before, status)  # fmt: skip
    text = export.deals_csv(session, filters, sort)
    return Response(
        content=text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="deals.csv"'},
    )


@router.get("/deals/{deal_id}", response_model=DealOut, responses=ERRORS | NOT_FOUND)
def get_deal(deal_id: uuid.UUID, session: ReadSession, response: Response) -> DealOut:
    """One deal, with its version as the ``ETag`` header (send it back as ``If-Match``)."""
    return _one(session, service.get_deal(session, deal_id), response)


@router.patch(
    "/deals/{deal_id}",
    response_model=DealOut,
    responses=ERRORS | NOT_FOUND | error_responses(412, 428),
)
def patch_deal(
    deal_id: uuid.UUID,
    body: DealPatch,
    session: WriteSession,
    response: Response,
    if_match: Annotated[str | None, Header(max_length=100)] = None,
) -> DealOut:
    """Change a deal's stage (with ``reason`` where the stage needs one), assignee, next
    action and due date, or tags (the set replaces the current one). ``If-Match`` must
    name the current version (412 when stale, 428 when missing). The stage rules:
    ``GET /deal-stages``."""
    service.get_deal(session, deal_id)  # 404 before 428: an unknown deal has no version
    version = expected_version(if_match)
    changes = body.model_dump(exclude_unset=True)
    deal = service.update_deal(session, deal_id, changes, expected_version=version)
    return _one(session, deal, response)


@router.get("/deals/{deal_id}/notes", response_model=list[NoteOut], responses=ERRORS | NOT_FOUND)
def list_notes(deal_id: uuid.UUID, session: ReadSession) -> list[NoteOut]:
    return [note_out(n) for n in service.notes_of(session, deal_id)]


@router.post(
    "/deals/{deal_id}/notes",
    response_model=NoteOut,
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS | NOT_FOUND,
)
def add_note(deal_id: uuid.UUID, body: NoteIn, session: WriteSession) -> NoteOut:
    return note_out(service.add_note(session, deal_id, body.body))


@router.get("/deals/{deal_id}/tasks", response_model=list[TaskOut], responses=ERRORS | NOT_FOUND)
def list_deal_tasks(deal_id: uuid.UUID, session: ReadSession) -> list[TaskOut]:
    return [task_out(t) for t in service.tasks_of(session, deal_id)]


@router.post(
    "/deals/{deal_id}/tasks",
    response_model=TaskOut,
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS | NOT_FOUND,
)
def add_task(deal_id: uuid.UUID, body: TaskIn, session: WriteSession) -> TaskOut:
    """A task on the deal (assigned to the deal's assignee unless another member is
    named)."""
    task = service.add_task(
        session, deal_id, body.title, due_date=body.due_date, assignee_id=body.assignee_id
    )
    return task_out(task)


@router.get("/deals/{deal_id}/events", response_model=list[EventOut], responses=ERRORS | NOT_FOUND)
def list_events(deal_id: uuid.UUID, session: ReadSession) -> list[EventOut]:
    """The deal's activity timeline, oldest first: every stage change, assignment, note,
    task, offer, valuation, underwriting and message, with who and when."""
    return [event_out(e) for e in service.events_of(session, deal_id)]


@router.post(
    "/deals/{deal_id}/events",
    response_model=EventOut,
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS | NOT_FOUND,
)
def add_event(deal_id: uuid.UUID, body: EventIn, session: WriteSession) -> EventOut:
    """Record an activity on the timeline (a message, a call, a visit)."""
    return event_out(service.record_activity(session, deal_id, body.kind, body.detail))


# --- tasks ------------------------------------------------------------------------------


@router.get(
    "/tasks",
    response_model=list[TaskOut],
    responses=ERRORS
    | {
        200: {
            "description": "One page of open tasks",
            "headers": {
                "X-Next-Cursor": {
                    "description": "send as cursor= for the next page; absent on the last",
                    "schema": {"type": "string"},
                }
            },
        }
    },
)
def list_tasks(
    session: ReadSession,
    response: Response,
    due: Literal["today", "overdue"] | None = None,
    assignee_id: uuid.UUID | None = None,
    today: Day | None = None,
    limit: Annotated[int, limit_query(1000)] = 200,
    cursor: Annotated[str | None, Query(max_length=400, pattern=r"^[A-Za-z0-9_-]*$")] = None,
) -> list[TaskOut]:
    """Open tasks, soonest due first (undated last): ``due=today`` or ``due=overdue``
    (before today; ``today`` is the caller's date, UTC's by default). Paged by keyset:
    when more tasks follow, the ``X-Next-Cursor`` header carries the ``cursor`` of the
    next page."""
    rows = service.open_tasks(
        session, due=due, today=today, assignee_id=assignee_id, limit=limit + 1, cursor=cursor
    )
    page = list(rows[:limit])
    if len(rows) > limit and page:
        response.headers["X-Next-Cursor"] = service.task_cursor(page[-1])
    return [task_out(t) for t in page]


@router.patch("/tasks/{task_id}", response_model=TaskOut, responses=ERRORS | NOT_FOUND)
def patch_task(task_id: uuid.UUID, body: TaskPatch, session: WriteSession) -> TaskOut:
    """Mark a task done (or open again)."""
    return task_out(service.set_task_done(session, task_id, body.done))


# --- offers -----------------------------------------------------------------------------


@router.post(
    "/offers",
    response_model=OfferOut,
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS | NOT_FOUND,
)
def create_offer(body: OfferCreate, session: WriteSession) -> OfferOut:
    """A draft offer on a deal or a property (another organisation's is a 404): priced
    as typed, or at the underwriting maximum offer for the property (``max_offer``:
    strategy and constraints, the binding one kept in ``basis``)."""
    offer = offers.create_offer(
        session,
        deal_id=body.deal_id,
        property_id=body.property_id,
        price=body.price,
        terms=body.terms.model_dump(exclude_none=True),
        expires_at=body.expires_at,
        max_offer=body.max_offer.model_dump() if body.max_offer is not None else None,
    )
    return offer_out(offer)


@router.get("/offers", response_model=list[OfferOut], responses=ERRORS | NOT_FOUND)
def list_offers(
    session: ReadSession,
    deal_id: uuid.UUID | None = None,
    status: Literal[  # noqa: A002
        "draft", "sent", "countered", "accepted", "rejected", "expired", "withdrawn"
    ]
    | None = None,
    limit: Annotated[int, limit_query(1000)] = 200,
) -> list[OfferOut]:
    return [offer_out(o) for o in offers.offers_of(session, deal_id=deal_id, status=status,
                                                    limit=limit)]  # fmt: skip


@router.get("/offers/{offer_id}", response_model=OfferChain, responses=ERRORS | NOT_FOUND)
def get_offer_chain(offer_id: uuid.UUID, session: ReadSession) -> OfferChain:
    """The offer's negotiation: the first offer and every counter, oldest first."""
    return OfferChain(offers=[offer_out(o) for o in offers.chain_of(session, offer_id)])


@router.post("/offers/{offer_id}/transition", response_model=OfferOut, responses=ERRORS | NOT_FOUND)
def transition_offer(offer_id: uuid.UUID, body: OfferTransition, session: WriteSession) -> OfferOut:
    """Send, accept, reject or withdraw an offer along a legal transition (draft → sent
    or withdrawn; sent → accepted, rejected or withdrawn); anything else is a 422 naming
    the legal moves."""
    offer = offers.transition(
        session, offer_id, body.status, expires_at=body.expires_at, reason=body.reason
    )
    return offer_out(offer)


@router.post(
    "/offers/{offer_id}/counter",
    response_model=OfferOut,
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS | NOT_FOUND,
)
def counter_offer(offer_id: uuid.UUID, body: CounterIn, session: WriteSession) -> OfferOut:
    """Answer a sent offer with a counter: the offer becomes ``countered``, the counter
    is a new sent offer in its chain."""
    child = offers.counter(
        session,
        offer_id,
        price=body.price,
        terms=body.terms.model_dump(exclude_none=True) if body.terms is not None else None,
        party=body.party,
        expires_at=body.expires_at,
    )
    return offer_out(child)


# --- stages -----------------------------------------------------------------------------


def stages_out(stages: list[Stage]) -> StagesOut:
    from reos.crm.schemas import StageOut

    return StagesOut(
        stages=[
            StageOut(name=s.name, position=i, terminal=s.terminal, outcome=s.outcome)
            for i, s in enumerate(stages)
        ],
        rules=STAGE_RULES,
    )


@router.get("/deal-stages", response_model=StagesOut, responses=ERRORS)
def get_stages(session: ReadSession) -> StagesOut:
    """The organisation's deal stages in order, and the rules a move must pass."""
    return stages_out(service.stages_of(session))


@router.put("/deal-stages", response_model=StagesOut, responses=ERRORS)
def put_stages(body: StagesIn, session: SettingsSession) -> StagesOut:
    """Replace the organisation's stages (owners and admins), in order: must include
    ``new``; a stage deals are in cannot be dropped."""
    stages = [Stage(s.name, s.terminal, s.outcome) for s in body.stages]
    return stages_out(service.replace_stages(session, stages))
