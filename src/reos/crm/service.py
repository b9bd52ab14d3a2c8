"""The deal and its CRM: shortlisting, stages, assignment, next action, tags, notes, tasks
and the activity timeline. Offers are in :mod:`reos.crm.offers`, the deadline job in
:mod:`reos.crm.deadlines`, the deal list in :mod:`reos.crm.listing`.

Every change a person or a job makes to a deal writes a timeline event (``deal_events``)
in the same transaction, with who did it (:func:`actor`) and when. Services ``flush()``;
the entry point commits.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from reos.accounts import service as accounts_service
from reos.crm import stages as stage_rules
from reos.crm.stages import DealFacts, Stage
from reos.db import tenancy
from reos.db.base import utcnow
from reos.errors import Conflict, NotFound, PreconditionFailed, ValidationFailed
from reos.kernel.bulk import among, in_batches
from reos.kernel.principal import actor_of
from reos.models import Deal, DealEvent, DealNote, DealStage, DealTag, DealTask, Offer
from reos.properties import read_model as properties_read_model

MAX_TAG = 60


@dataclass
class ShortlistResult:
    """What :func:`shortlist` did: deals created at ``new``, open deals rescored, and the
    deal id of every candidate, in the candidates' order."""

    created: int = 0
    rescored: int = 0
    deal_ids: list[uuid.UUID] = field(default_factory=list)


# --- who and when -----------------------------------------------------------------------


def actor(session: Session) -> str | None:
    """Who acts in this session, as the timeline shows it: the user's email, the API key's
    name, ``cli:<operator>`` or ``job:<kind>``."""
    principal = actor_of(session)
    if principal is None:
        return None
    if principal.kind in ("cli", "job"):
        return f"{principal.kind}:{principal.subject or principal.actor_id}"
    return principal.subject or principal.actor_id


def record_event(
    session: Session,
    deal: Deal,
    kind: str,
    detail: dict[str, Any] | None = None,
    *,
    at: datetime | None = None,
) -> DealEvent:
    """Add an entry to the deal's timeline (in the caller's transaction)."""
    event = DealEvent(
        deal_id=deal.id,
        kind=kind,
        actor=actor(session),
        occurred_at=at or utcnow(),
        detail=detail or {},
    )
    session.add(event)
    return event


def record_activity(
    session: Session, deal_id: uuid.UUID, kind: str, detail: dict[str, Any]
) -> DealEvent:
    """Record something that happened to a deal elsewhere (a valuation, an underwriting,
    a message sent or received, a call) on its timeline: what other domains and flows
    call, and ``POST /api/v1/deals/{id}/events``."""
    kind = kind.strip().lower()
    if not kind or len(kind) > 40:
        raise ValidationFailed("kind: give a word of at most 40 characters", field="kind")
    deal = get_deal(session, deal_id)
    event = record_event(session, deal, kind, detail)
    session.flush()
    return event


def record_property_activity(
    session: Session, property_id: uuid.UUID, kind: str, detail: dict[str, Any]
) -> DealEvent | None:
    """Record an activity (``valuation``, ``underwriting``, ``message`` ...) on the open
    deal of a property, if it has one (None when it has none): what the pipeline calls
    after valuing or underwriting a shortlisted property."""
    deal = open_deal_of(session, property_id)
    if deal is None:
        return None
    return record_activity(session, deal.id, kind, detail)


def events_of(session: Session, deal_id: uuid.UUID) -> Sequence[DealEvent]:
    """The deal's timeline, oldest first."""
    get_deal(session, deal_id)
    stmt = (
        select(DealEvent)
        .where(DealEvent.deal_id == deal_id)
        .order_by(DealEvent.occurred_at, DealEvent.id)
    )
    return session.scalars(stmt).all()


# --- stages -----------------------------------------------------------------------------


def stages_of(session: Session) -> list[Stage]:
    """The organisation's stages in order (the defaults when it configured none)."""
    rows = session.scalars(select(DealStage).order_by(DealStage.position)).all()
    if not rows:
        return list(stage_rules.DEFAULT_STAGES)
    return [Stage(r.name, r.terminal, r.outcome) for r in rows]


def replace_stages(session: Session, stages: Sequence[Stage]) -> list[Stage]:
    """Replace the organisation's stage list (order as given). A stage that open or closed
    deals are in cannot be dropped (422 naming it and how many deals are there)."""
    stage_rules.check_stage_list(stages)
    names = {s.name for s in stages}
    in_use: dict[str, int] = {}
    for name, count in session.execute(
        select(Deal.stage, func.count(Deal.id)).group_by(Deal.stage)
    ).all():
        if name not in names:
            in_use[name] = int(count)
    if in_use:
        listed = ", ".join(f"{n} ({c} deals)" for n, c in sorted(in_use.items()))
        raise ValidationFailed(
            f"stages: deals are in stages the new list drops: {listed}; move them first",
            field="stages",
            in_use=in_use,
        )
    session.execute(delete(DealStage))
    for position, stage in enumerate(stages):
        session.add(
            DealStage(
                name=stage.name, position=position, terminal=stage.terminal, outcome=stage.outcome
            )
        )
    session.flush()
    return list(stages)


# --- deals ------------------------------------------------------------------------------


def get_deal(session: Session, deal_id: uuid.UUID) -> Deal:
    """The deal in the session's organisation (another organisation's deal is absent)."""
    deal = tenancy.get(session, Deal, deal_id)
    if deal is None:
        raise NotFound(f"deal {deal_id} not found", field="deal_id")
    return deal  # type: ignore[no-any-return]


def open_deal_of(session: Session, property_id: uuid.UUID) -> Deal | None:
    return session.scalars(select(Deal).where(Deal.open_property_id == property_id)).first()


def _site(session: Session, property_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Any]:
    return properties_read_model.site_addresses(session, property_ids)


def _set_site(deal: Deal, site: tuple[str | None, str | None, str | None, str | None]) -> None:
    address, city, state, zip_code = site
    deal.address, deal.city, deal.state, deal.zip = address, city, state, zip_code
    deal.search_text = " ".join(p for p in (address, city, state, zip_code) if p).lower()


def create_deal(
    session: Session,
    property_id: uuid.UUID,
    *,
    score: int | None = None,
    reasons: Sequence[str] = (),
    assignee_id: uuid.UUID | None = None,
    next_action: str | None = None,
    next_action_due: date | None = None,
    tags: Sequence[str] = (),
) -> Deal:
    """Open a deal on a property of the organisation (404 for a property it does not
    have; 409 when the property already has an open deal, naming it)."""
    site = _site(session, [property_id]).get(property_id)
    if site is None:
        raise NotFound(f"property {property_id} not found", field="property_id")
    existing = open_deal_of(session, property_id)
    if existing is not None:
        raise Conflict(
            f"property {property_id} already has an open deal ({existing.id})",
            field="property_id",
            deal_id=str(existing.id),
        )
    if assignee_id is not None:
        check_member(session, assignee_id)
    deal = Deal(
        property_id=property_id,
        open_property_id=property_id,
        stage=stage_rules.NEW,
        score=score,
        reasons=list(reasons),
        assignee_id=assignee_id,
        next_action=next_action,
        next_action_due=next_action_due,
    )
    _set_site(deal, site)
    session.add(deal)
    session.flush()
    record_event(session, deal, "created", {"stage": deal.stage, "score": score})
    for tag in tags:
        add_tag(session, deal, tag, touch=False)
    session.flush()
    return deal


def shortlist(
    session: Session, candidates: Sequence[tuple[uuid.UUID, int, list[str]]]
) -> ShortlistResult:
    """Shortlist scored properties: each candidate ``(property_id, score 0-100, reasons)``
    without an open deal gets one at stage ``new``; an open deal is rescored (score,
    reasons and site address refreshed, a ``rescored`` event when the score or reasons
    changed). Never duplicates: the unique open deal per property is the database's key,
    so a concurrent shortlist of the same property (another worker) rescores instead.
    A property the organisation does not have is a 404 naming it."""
    result = ShortlistResult()
    if not candidates:
        return result
    wanted: dict[uuid.UUID, tuple[int, list[str]]] = {}
    for property_id, score, reasons in candidates:
        if not 0 <= int(score) <= 100:
            raise ValidationFailed(
                f"candidate {property_id}: score {score} is outside 0-100", field="score"
            )
        wanted[property_id] = (int(score), [str(r) for r in reasons])
    sites = _site(session, wanted)
    unknown = [pid for pid in wanted if pid not in sites]
    if unknown:
        shown = ", ".join(str(p) for p in unknown[:5])
        raise NotFound(
            f"{len(unknown)} shortlisted properties not found: {shown}",
            field="property_id",
            property_ids=[str(p) for p in unknown],
        )
    open_deals: dict[uuid.UUID, Deal] = {}
    for batch in in_batches(list(wanted)):
        stmt = select(Deal).where(among(session, Deal.open_property_id, batch))
        for found in session.scalars(stmt):
            open_deals[found.property_id] = found
    deal_ids: dict[uuid.UUID, uuid.UUID] = {}
    fresh = [pid for pid in wanted if pid not in open_deals]
    created = _insert_all(session, {pid: wanted[pid] for pid in fresh}, sites)
    for property_id, (score, reasons) in wanted.items():
        deal: Deal | None = open_deals.get(property_id) or created.get(property_id)
        if deal is not None and property_id in created:
            result.created += 1
            deal_ids[property_id] = deal.id
            continue
        if deal is None:
            deal, is_new = _insert_or_find(session, property_id, score, reasons,
                                           sites[property_id])  # fmt: skip
            if is_new:
                result.created += 1
                deal_ids[property_id] = deal.id
                continue
        if _rescore(session, deal, score, reasons, sites[property_id]):
            result.rescored += 1
        deal_ids[property_id] = deal.id
    session.flush()
    result.deal_ids = [deal_ids[pid] for pid, _, _ in candidates if pid in deal_ids]
    return result


def _insert_all(
    session: Session,
    new: dict[uuid.UUID, tuple[int, list[str]]],
    sites: dict[uuid.UUID, Any],
) -> dict[uuid.UUID, Deal]:
    """New deals for every property in ``new``, in one savepoint (one multi-row insert);
    empty when another transaction opened a deal on one of them meanwhile (the unique key
    refuses the batch), and the caller then goes one property at a time."""
    if not new:
        return {}
    deals: dict[uuid.UUID, Deal] = {}
    for property_id, (score, reasons) in new.items():
        deal = Deal(
            property_id=property_id,
            open_property_id=property_id,
            stage=stage_rules.NEW,
            score=score,
            reasons=reasons,
        )
        _set_site(deal, sites[property_id])
        deals[property_id] = deal
    try:
        with session.begin_nested():
            session.add_all(deals.values())
            session.flush()
    except IntegrityError:
        return {}
    for deal in deals.values():
        record_event(session, deal, "shortlisted",
                     {"stage": deal.stage, "score": deal.score, "reasons": deal.reasons})  # fmt: skip
    return deals


def _insert_or_find(
    session: Session,
    property_id: uuid.UUID,
    score: int,
    reasons: list[str],
    site: tuple[str | None, str | None, str | None, str | None],
) -> tuple[Deal, bool]:
    """A new deal at ``new`` (True), or, when another transaction opened one first (the
    unique key refuses the insert), that deal (False)."""
    deal = Deal(
        property_id=property_id,
        open_property_id=property_id,
        stage=stage_rules.NEW,
        score=score,
        reasons=reasons,
    )
    _set_site(deal, site)
    try:
        with session.begin_nested():
            session.add(deal)
            session.flush()
    except IntegrityError:
        found = open_deal_of(session, property_id)
        if found is None:
            raise
        return found, False
    record_event(session, deal, "shortlisted", {"stage": deal.stage, "score": score,
                                                "reasons": reasons})  # fmt: skip
    return deal, True


def _rescore(
    session: Session,
    deal: Deal,
    score: int,
    reasons: list[str],
    site: tuple[str | None, str | None, str | None, str | None],
) -> bool:
    """Refresh an open deal's score, reasons and address; True when the score or reasons
    changed (a ``rescored`` event with the old and new score)."""
    _set_site(deal, site)
    if deal.score == score and list(deal.reasons or []) == reasons:
        return False
    record_event(
        session,
        deal,
        "rescored",
        {"old_score": deal.score, "score": score, "reasons": reasons},
    )
    deal.score, deal.reasons = score, reasons
    return True


def check_member(session: Session, user_id: uuid.UUID) -> None:
    """A 422 unless ``user_id`` is a member of the organisation (deals and tasks are
    assigned to members only)."""
    if user_id not in members(session):
        raise ValidationFailed(
            f"assignee {user_id} is not a member of this organisation", field="assignee_id"
        )


def members(session: Session) -> dict[uuid.UUID, str]:
    """The organisation's members: user id → email."""
    return {user.id: user.email for _, user in accounts_service.list_members(session)}


def member_by_email(session: Session, email: str) -> uuid.UUID:
    """The member with this email (the CLI assigns by email)."""
    wanted = email.strip().lower()
    for user_id, address in members(session).items():
        if address.lower() == wanted:
            return user_id
    raise ValidationFailed(f"{email!r} is not a member of this organisation", field="assignee")


def facts_of(session: Session, deal: Deal) -> DealFacts:
    statuses = session.scalars(select(Offer.status).where(Offer.deal_id == deal.id)).all()
    return DealFacts(deal.stage, tuple(statuses))


def check_version(deal: Deal, expected: int | None) -> None:
    """412 when the caller's version (from its ETag) is not the deal's current one."""
    if expected is not None and expected != deal.version:
        raise PreconditionFailed(
            f"deal {deal.id} changed since you read it (version {expected}, now "
            f"{deal.version}); read it again and re-apply your change",
            field="If-Match",
            current_version=deal.version,
        )


def flush_versioned(session: Session, deal: Deal) -> None:
    """Flush; a concurrent update that won the race (the version check in the UPDATE
    matched no row) is a 412, not a silent overwrite."""
    try:
        session.flush()
    except StaleDataError:
        raise PreconditionFailed(
            f"deal {deal.id} was changed by someone else meanwhile; read it again",
            field="If-Match",
        ) from None


def move(
    session: Session,
    deal_id: uuid.UUID,
    stage: str,
    *,
    reason: str | None = None,
    expected_version: int | None = None,
) -> Deal:
    """Move a deal to ``stage`` under the rules of :mod:`reos.crm.stages` (a move to
    ``offer_sent`` with a draft offer sends it; a terminal stage closes the deal; an open
    stage reopens a closed one)."""
    deal = get_deal(session, deal_id)
    check_version(deal, expected_version)
    change_stage(session, deal, stage, reason)
    flush_versioned(session, deal)
    return deal


def change_stage(
    session: Session, deal: Deal, target: str, reason: str | None, *, cause: str | None = None
) -> None:
    """Apply a stage move to a loaded deal (no flush): the rules, the draft sent, closing
    or reopening, and the timeline event."""
    stages = stages_of(session)
    stage, send_draft = stage_rules.check_move(stages, facts_of(session, deal), target, reason)
    if stage.name == deal.stage:
        return
    if send_draft:
        from reos.crm import offers

        draft = session.scalars(
            select(Offer)
            .where(Offer.deal_id == deal.id, Offer.status == "draft")
            .order_by(Offer.created_at.desc())
        ).first()
        assert draft is not None
        offers.apply_transition(session, deal, draft, "sent", move_deal=False)
    old = deal.stage
    if stage.terminal:
        deal.open_property_id = None
        deal.closed_at = utcnow()
        deal.close_reason = reason.strip() if reason else None
    elif deal.open_property_id is None:
        other = open_deal_of(session, deal.property_id)
        if other is not None and other.id != deal.id:
            raise ValidationFailed(
                f"property {deal.property_id} has another open deal ({other.id}); "
                "it cannot be reopened while that one is open",
                field="stage",
            )
        deal.open_property_id = deal.property_id
        deal.closed_at = None
        deal.close_reason = None
    deal.stage = stage.name
    detail: dict[str, Any] = {"from": old, "to": stage.name}
    if reason:
        detail["reason"] = reason.strip()
    if cause:
        detail["cause"] = cause
    record_event(session, deal, "stage_changed", detail)


def update_deal(
    session: Session,
    deal_id: uuid.UUID,
    changes: dict[str, Any],
    *,
    expected_version: int | None,
) -> Deal:
    """Apply a partial update (``stage`` + ``reason``, ``assignee_id``, ``next_action``,
    ``next_action_due``, ``tags`` replacing the set) checked against the version the
    caller read. Each change writes its timeline event."""
    deal = get_deal(session, deal_id)
    check_version(deal, expected_version)
    if "stage" in changes and changes["stage"] is not None:
        change_stage(session, deal, changes["stage"], changes.get("reason"))
    if "assignee_id" in changes:
        set_assignee(session, deal, changes["assignee_id"])
    if "next_action" in changes or "next_action_due" in changes:
        action = changes.get("next_action", deal.next_action)
        due = changes.get("next_action_due", deal.next_action_due)
        if (action, due) != (deal.next_action, deal.next_action_due):
            deal.next_action, deal.next_action_due = action, due
            record_event(
                session,
                deal,
                "next_action",
                {"next_action": action, "due": due.isoformat() if due else None},
            )
    if "tags" in changes and changes["tags"] is not None:
        replace_tags(session, deal, changes["tags"])
    flush_versioned(session, deal)
    return deal


def set_assignee(session: Session, deal: Deal, assignee_id: uuid.UUID | None) -> None:
    if assignee_id == deal.assignee_id:
        return
    if assignee_id is not None:
        check_member(session, assignee_id)
    old = deal.assignee_id
    deal.assignee_id = assignee_id
    record_event(
        session,
        deal,
        "assigned",
        {"from": str(old) if old else None, "to": str(assignee_id) if assignee_id else None},
    )


def assign(
    session: Session,
    deal_id: uuid.UUID,
    assignee_id: uuid.UUID | None,
    *,
    expected_version: int | None = None,
) -> Deal:
    deal = get_deal(session, deal_id)
    check_version(deal, expected_version)
    set_assignee(session, deal, assignee_id)
    flush_versioned(session, deal)
    return deal


# --- tags -------------------------------------------------------------------------------


def clean_tag(tag: str) -> str:
    value = " ".join(str(tag).split()).lower()
    if not value or len(value) > MAX_TAG:
        raise ValidationFailed(
            f"tag {tag!r}: give 1 to {MAX_TAG} characters", field="tags", tag=str(tag)
        )
    return value


def tags_of(session: Session, deal_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    out: dict[uuid.UUID, list[str]] = {d: [] for d in deal_ids}
    for batch in in_batches(list(deal_ids)):
        stmt = (
            select(DealTag.deal_id, DealTag.tag)
            .where(among(session, DealTag.deal_id, batch))
            .order_by(DealTag.tag)
        )
        for deal_id, tag in session.execute(stmt):
            out.setdefault(deal_id, []).append(tag)
    return out


def _touch(deal: Deal) -> None:
    """Mark the deal changed (a new version and ETag) when only its tags changed."""
    deal.updated_at = utcnow()


def add_tag(session: Session, deal: Deal, tag: str, *, touch: bool = True) -> bool:
    value = clean_tag(tag)
    exists = session.scalar(
        select(DealTag.id).where(DealTag.deal_id == deal.id, DealTag.tag == value)
    )
    if exists is not None:
        return False
    session.add(DealTag(deal_id=deal.id, tag=value))
    record_event(session, deal, "tagged", {"tag": value})
    if touch:
        _touch(deal)
    return True


def remove_tag(session: Session, deal: Deal, tag: str) -> bool:
    value = clean_tag(tag)
    found = session.scalars(
        select(DealTag).where(DealTag.deal_id == deal.id, DealTag.tag == value)
    ).first()
    if found is None:
        return False
    session.delete(found)
    record_event(session, deal, "untagged", {"tag": value})
    _touch(deal)
    return True


def replace_tags(session: Session, deal: Deal, tags: Sequence[str]) -> None:
    wanted = {clean_tag(t) for t in tags}
    current = set(tags_of(session, [deal.id]).get(deal.id, []))
    for tag in sorted(current - wanted):
        remove_tag(session, deal, tag)
    for tag in sorted(wanted - current):
        add_tag(session, deal, tag)


def tag(
    session: Session, deal_id: uuid.UUID, add: Sequence[str] = (), remove: Sequence[str] = ()
) -> Deal:
    deal = get_deal(session, deal_id)
    for value in add:
        add_tag(session, deal, value)
    for value in remove:
        remove_tag(session, deal, value)
    flush_versioned(session, deal)
    return deal


# --- notes ------------------------------------------------------------------------------


def add_note(session: Session, deal_id: uuid.UUID, body: str) -> DealNote:
    text = (body or "").strip()
    if not text:
        raise ValidationFailed("body: a note needs some text", field="body")
    deal = get_deal(session, deal_id)
    note = DealNote(deal_id=deal.id, body=text, author=actor(session))
    session.add(note)
    session.flush()
    record_event(session, deal, "note", {"note_id": str(note.id), "body": text[:200]})
    session.flush()
    return note


def notes_of(session: Session, deal_id: uuid.UUID) -> Sequence[DealNote]:
    get_deal(session, deal_id)
    stmt = (
        select(DealNote)
        .where(DealNote.deal_id == deal_id)
        .order_by(DealNote.created_at.desc(), DealNote.id)
    )
    return session.scalars(stmt).all()


# --- tasks ------------------------------------------------------------------------------


def add_task(
    session: Session,
    deal_id: uuid.UUID,
    title: str,
    *,
    due_date: date | None = None,
    assignee_id: uuid.UUID | None = None,
    source_key: str | None = None,
) -> DealTask:
    text = (title or "").strip()
    if not text:
        raise ValidationFailed("title: a task needs a title", field="title")
    deal = get_deal(session, deal_id)
    if assignee_id is not None:
        check_member(session, assignee_id)
    task = DealTask(
        deal_id=deal.id,
        title=text,
        due_date=due_date,
        assignee_id=assignee_id if assignee_id is not None else deal.assignee_id,
        source_key=source_key,
    )
    session.add(task)
    session.flush()
    record_event(
        session,
        deal,
        "task_added",
        {"task_id": str(task.id), "title": text, "due": due_date.isoformat() if due_date else None},
    )
    session.flush()
    return task


def get_task(session: Session, task_id: uuid.UUID) -> DealTask:
    task = tenancy.get(session, DealTask, task_id)
    if task is None:
        raise NotFound(f"task {task_id} not found", field="task_id")
    return task  # type: ignore[no-any-return]


def set_task_done(session: Session, task_id: uuid.UUID, done: bool = True) -> DealTask:
    task = get_task(session, task_id)
    if task.done == done:
        return task
    task.done = done
    task.done_at = utcnow() if done else None
    deal = get_deal(session, task.deal_id)
    record_event(
        session,
        deal,
        "task_done" if done else "task_reopened",
        {"task_id": str(task.id), "title": task.title},
    )
    session.flush()
    return task


def tasks_of(session: Session, deal_id: uuid.UUID) -> Sequence[DealTask]:
    get_deal(session, deal_id)
    stmt = (
        select(DealTask)
        .where(DealTask.deal_id == deal_id)
        .order_by(DealTask.done, DealTask.due_date, DealTask.created_at)
    )
    return session.scalars(stmt).all()


#: Where an open task without a due date sorts: after every dated one, on both stores.
NO_DUE_DATE = date(9999, 12, 31)


def open_tasks(
    session: Session,
    *,
    due: str | None = None,
    today: date | None = None,
    assignee_id: uuid.UUID | None = None,
    limit: int = 200,
    cursor: str | None = None,
) -> Sequence[DealTask]:
    """Open tasks, soonest due first (undated last), then oldest first: ``due="today"``
    (due today), ``"overdue"`` (due before today), None (all open). ``today`` is the
    caller's date (UTC by default). ``cursor`` (from :func:`task_cursor` of the last task
    of a page) continues after that task: a keyset page, stable under inserts."""
    day = today or utcnow().date()
    due_key = func.coalesce(DealTask.due_date, NO_DUE_DATE)
    stmt = select(DealTask).where(DealTask.done.is_(False))
    if due == "today":
        stmt = stmt.where(DealTask.due_date == day)
    elif due == "overdue":
        stmt = stmt.where(DealTask.due_date < day)
    elif due is not None:
        raise ValidationFailed(f"due: {due!r} — use today or overdue", field="due")
    if assignee_id is not None:
        stmt = stmt.where(DealTask.assignee_id == assignee_id)
    if cursor:
        after_due, after_created, after_id = _decode_task_cursor(cursor)
        stmt = stmt.where(
            or_(
                due_key > after_due,
                and_(
                    due_key == after_due,
                    or_(
                        DealTask.created_at > after_created,
                        and_(DealTask.created_at == after_created, DealTask.id > after_id),
                    ),
                ),
            )
        )
    stmt = stmt.order_by(due_key, DealTask.created_at, DealTask.id).limit(limit)
    return session.scalars(stmt).all()


def task_cursor(task: DealTask) -> str:
    """The opaque cursor that continues a task list after ``task``."""
    raw = json.dumps(
        [(task.due_date or NO_DUE_DATE).isoformat(), task.created_at.isoformat(), str(task.id)]
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_task_cursor(cursor: str) -> tuple[date, datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        due, created, ident = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return date.fromisoformat(due), datetime.fromisoformat(created), uuid.UUID(str(ident))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed(
            "cursor: not a cursor this list gave out; use X-Next-Cursor from the previous page",
            field="cursor",
        ) from None
