"""Deadlines that move deals by themselves: a sent offer past ``expires_at`` becomes
``expired``; an accepted offer whose inspection period ended raises a task on its deal.

An expired offer also moves its deal: a deal waiting at ``offer_sent`` with no other live
offer (sent or countered) goes back to ``negotiating`` (when the organisation's stages
have it and the stage rules allow the move), and a follow-up task is raised ("Offer of
$… expired …: follow up or send a new offer", unique key ``expired:<offer id>``), so
nothing sits at ``offer_sent`` waiting for an answer that can no longer come.

Run by the ``crm.deadlines`` job every 15 minutes (:mod:`reos.crm.jobs`). Exactly once
however many workers run it at the same time:

- an offer is expired by ``UPDATE offers SET status = 'expired' WHERE id = :id AND
  status = 'sent'``; only the transaction whose update changed the row writes the timeline
  event (on PostgreSQL a second worker's update waits for the first to commit, then sees
  the row no longer ``sent``; the candidates are read ``FOR UPDATE SKIP LOCKED`` so it
  usually skips them at once);
- an inspection task carries the unique key ``inspection:<offer id>``; a second worker's
  insert fails on the key (inside a savepoint) and it moves on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reos.crm import service
from reos.errors import ReosError
from reos.models import DealTask, Offer

JOB_KIND = "crm.deadlines"
EVERY_SECONDS = 15 * 60


@dataclass(frozen=True)
class DeadlineReport:
    """What one run changed: offers expired and inspection tasks raised by this run."""

    offers_expired: int
    inspection_tasks: int


def inspection_key(offer_id: object) -> str:
    return f"inspection:{offer_id}"


def expiry_key(offer_id: object) -> str:
    return f"expired:{offer_id}"


#: Where a deal goes back to when its only live offer expires.
AFTER_EXPIRY_STAGE = "negotiating"
LIVE_OFFER_STATUSES = ("sent", "countered")


def run_deadlines(session: Session, now: datetime) -> DeadlineReport:
    """Expire the organisation's sent offers past their expiry at ``now`` (UTC) and raise
    a task for every accepted offer whose inspection period ended by ``now``."""
    return DeadlineReport(_expire_offers(session, now), _inspection_tasks(session, now))


def _locked(session: Session, stmt: object) -> object:
    if session.get_bind().dialect.name == "postgresql":
        return stmt.with_for_update(skip_locked=True, of=Offer)  # type: ignore[attr-defined]
    return stmt


def _expire_offers(session: Session, now: datetime) -> int:
    stmt = select(Offer.id, Offer.deal_id, Offer.expires_at, Offer.price).where(
        Offer.status == "sent", Offer.expires_at.is_not(None), Offer.expires_at <= now
    )
    expired = 0
    for offer_id, deal_id, expires_at, price in session.execute(_locked(session, stmt)).all():  # type: ignore[call-overload]
        changed = session.execute(
            update(Offer)
            .where(Offer.id == offer_id, Offer.status == "sent")
            .values(status="expired", decided_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if changed.rowcount != 1:  # type: ignore[attr-defined]
            continue  # another worker expired it first
        deal = service.get_deal(session, deal_id)
        service.record_event(
            session,
            deal,
            "offer_expired",
            {"offer_id": str(offer_id), "from": "sent", "to": "expired", "price": str(price),
             "expires_at": expires_at.isoformat()},
            at=now,
        )  # fmt: skip
        _after_expiry(session, deal, offer_id, price, expires_at)
        expired += 1
    session.flush()
    return expired


def _after_expiry(
    session: Session, deal: Any, offer_id: object, price: object, expires_at: datetime
) -> None:
    """Move a deal left waiting at ``offer_sent`` back to negotiating, and raise the
    follow-up task (once: its unique key)."""
    live = session.scalar(
        select(func.count(Offer.id)).where(
            Offer.deal_id == deal.id, Offer.status.in_(LIVE_OFFER_STATUSES)
        )
    )
    if deal.stage == "offer_sent" and not live:
        names = {stage.name for stage in service.stages_of(session)}
        if AFTER_EXPIRY_STAGE in names:
            try:
                with session.begin_nested():
                    service.change_stage(
                        session, deal, AFTER_EXPIRY_STAGE, "offer expired", cause="deadline"
                    )
                    session.flush()
            except ReosError:
                pass  # the organisation's stage rules keep it where it is; the task says why
    if deal.closed_at is not None:
        return
    try:
        with session.begin_nested():
            service.add_task(
                session,
                deal.id,
                f"Offer of ${Decimal(str(price)):,.2f} expired on "
                f"{expires_at.date().isoformat()}: follow up or send a new offer",
                due_date=expires_at.date(),
                source_key=expiry_key(offer_id),
            )
    except IntegrityError:
        pass  # raised already


def _inspection_tasks(session: Session, now: datetime) -> int:
    raised = set(
        session.scalars(
            select(DealTask.source_key).where(DealTask.source_key.like("inspection:%"))
        ).all()
    )
    stmt = select(Offer).where(
        Offer.status == "accepted",
        Offer.inspection_ends_at.is_not(None),
        Offer.inspection_ends_at <= now,
    )
    count = 0
    for offer in session.scalars(stmt).all():
        key = inspection_key(offer.id)
        if key in raised:
            continue
        ends = offer.inspection_ends_at
        assert ends is not None
        try:
            with session.begin_nested():
                service.add_task(
                    session,
                    offer.deal_id,
                    f"Inspection period ended {ends.date().isoformat()}: decide to proceed, "
                    "renegotiate or cancel",
                    due_date=ends.date(),
                    source_key=key,
                )
        except IntegrityError:
            continue  # another worker raised it
        count += 1
    return count
