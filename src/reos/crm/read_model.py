"""What other domains read of the CRM: the outcomes the deal score learns from.

Light on import (no heavy library): the pipeline and the score model's training read it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reos.crm import listing, service
from reos.kernel.bulk import among, in_batches
from reos.models import Deal, Offer
from reos.models.crm import SCORE_RANK


def outcomes(session: Session) -> list[tuple[uuid.UUID, bool]]:
    """``(property_id, good)`` for every property of the organisation with a known
    outcome, sorted by property id: True when a deal on it closed in a ``won`` stage
    (``closed_won`` by default) or an offer on it was accepted (the owner took it); else
    False when a deal closed in a ``lost`` stage (``closed_lost``, ``dead``) or an offer
    was rejected. A property with both a success and a failure counts as a success: the
    owner did sell at some price. Properties without an outcome are left out."""
    stages = service.stages_of(session)
    won = [s.name for s in stages if s.terminal and s.outcome == "won"]
    lost = [s.name for s in stages if s.terminal and s.outcome == "lost"]
    good: dict[uuid.UUID, bool] = {}
    closed = select(Deal.property_id, Deal.stage).where(
        Deal.open_property_id.is_(None), Deal.stage.in_(won + lost)
    )
    for property_id, stage in session.execute(closed):
        good[property_id] = good.get(property_id, False) or stage in won
    decided = select(Offer.property_id, Offer.status).where(
        Offer.status.in_(("accepted", "rejected"))
    )
    for property_id, status in session.execute(decided):
        good[property_id] = good.get(property_id, False) or status == "accepted"
    return sorted(good.items(), key=lambda item: str(item[0]))


def properties_with_open_deals(
    session: Session, property_ids: Iterable[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of the given properties have an open deal (the pipeline rescores those)."""
    out: set[uuid.UUID] = set()
    for batch in in_batches(property_ids):
        stmt = select(Deal.open_property_id).where(among(session, Deal.open_property_id, batch))
        out.update(pid for pid in session.scalars(stmt) if pid is not None)
    return out


def stage_counts(session: Session) -> dict[str, int]:
    """How many deals (open or closed) stand in each stage: the board's column totals,
    one grouped count (the ``(org_id, stage, score)`` index covers it)."""
    stmt = select(Deal.stage, func.count()).select_from(Deal).group_by(Deal.stage)
    return {stage: int(count) for stage, count in session.execute(stmt)}


def deals_by_id(session: Session, deal_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Deal]:
    """The given deals of the organisation by id (unknown ids left out), in one query per
    batch: the board's task panel names each task's deal without a query per task."""
    out: dict[uuid.UUID, Deal] = {}
    for batch in in_batches(deal_ids):
        for deal in session.scalars(select(Deal).where(among(session, Deal.id, batch))):
            out[deal.id] = deal
    return out


def top_of_stage(session: Session, stage: str, limit: int) -> Sequence[Deal]:
    """The best-scored ``limit`` deals in ``stage`` (open or closed), score descending and
    unscored deals last: one board column, however many deals the stage holds.

    Two reads, each a walk of the ``(org_id, stage, score)`` index that stops after
    ``limit`` rows (one ``ORDER BY COALESCE(score, -1)`` would sort the whole stage):
    the scored deals, then, if the column is not full, the unscored ones."""
    scored = session.scalars(
        select(Deal)
        .where(Deal.stage == stage, Deal.score.is_not(None))
        .order_by(Deal.score.desc())
        .limit(limit)
    ).all()
    if len(scored) >= limit:
        return scored
    unscored = session.scalars(
        select(Deal)
        .where(Deal.stage == stage, Deal.score.is_(None))
        .order_by(Deal.score)
        .limit(limit - len(scored))
    ).all()
    return [*scored, *unscored]


def deal_count(session: Session, filters: listing.DealFilters) -> int:
    """How many deals the filters select (the dashboard's "N deals")."""
    # count(*), not count(id): the count is then read from an index alone
    stmt = listing.filtered(filters, session).with_only_columns(func.count()).select_from(Deal)
    return int(session.scalar(stmt) or 0)


@dataclass(frozen=True)
class DealPoint:
    """What a map marker needs of a deal: its property (located by the caller), score and
    site address."""

    deal_id: uuid.UUID
    property_id: uuid.UUID
    score: int | None
    address: str | None
    city: str | None
    zip: str | None


def deal_points(session: Session, filters: listing.DealFilters, limit: int) -> list[DealPoint]:
    """The best ``limit`` deals the filters select (highest score first, as the default
    sort), as plain tuples: the dashboard's map reads thousands of them per page view, so
    no ORM objects are built."""
    stmt = (
        listing.filtered(filters, session)
        .with_only_columns(Deal.id, Deal.property_id, Deal.score, Deal.address, Deal.city, Deal.zip)
        .order_by(SCORE_RANK.desc(), Deal.id.desc())
        .limit(limit)
    )
    return [DealPoint(*row) for row in session.execute(stmt)]
