"""What other domains (and the pipeline) may read of deal flow: each property's current
deal score and its stack of lists. Light: models and kernel only (no LightGBM)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from reos.dealflow.lists import stack_rows
from reos.dealflow.scoring import Driver, PropertyScore
from reos.kernel.bulk import among, in_batches
from reos.models import DealScore, ListMembership


def latest_scores(
    session: Session, property_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, PropertyScore]:
    """The stored current score of each property given (properties never scored are
    absent)."""
    out: dict[uuid.UUID, PropertyScore] = {}
    for batch in in_batches(property_ids):
        stmt = select(
            DealScore.property_id,
            DealScore.score,
            DealScore.drivers,
            DealScore.model_version,
            DealScore.reasons,
            DealScore.features,
        ).where(among(session, DealScore.property_id, batch))
        for pid, score, drivers, version, reasons, features in session.execute(stmt):
            out[pid] = PropertyScore(
                pid,
                int(score),
                [Driver(str(d["label"]), int(d["points"])) for d in drivers or []],
                version,
                [str(r) for r in reasons or []],
                dict(features or {}),
            )
    return out


def stacks(
    session: Session, property_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[str, str, date]]]:
    """The lists each property is on: ``[(kind, list name, date it was listed)]``, oldest
    first; properties on no list are absent."""
    out: dict[uuid.UUID, list[tuple[str, str, date]]] = {}
    for pid, _lid, kind, name, day, _attrs, _derived in stack_rows(session, list(property_ids)):
        out.setdefault(pid, []).append((kind, name, day))
    return out


def newest_membership_change(session: Session) -> datetime | None:
    """The latest ``updated_at`` of the organisation's list rows (None: no list yet): the
    watermark of list changes a pipeline run covers up to."""
    return session.scalar(select(func.max(ListMembership.updated_at)))


def property_ids_listed_since(session: Session, after: datetime | None) -> set[uuid.UUID]:
    """Properties put on a list (or whose list row changed) after ``after`` (None: every
    property on a list)."""
    stmt = select(ListMembership.property_id).where(ListMembership.property_id.is_not(None))
    if after is not None:
        stmt = stmt.where(ListMembership.updated_at > after)
    return {pid for pid in session.scalars(stmt.distinct()) if pid is not None}


def on_list(list_id: uuid.UUID) -> Select[uuid.UUID | None]:
    """The ids of the properties on a list (its matched rows), as a statement another
    domain's query embeds (the deals page's "on list" filter); scoped by the session's
    tenancy like any query, so another organisation's list selects nothing."""
    return select(ListMembership.property_id).where(
        ListMembership.list_id == list_id,
        ListMembership.status == "matched",
        ListMembership.property_id.is_not(None),
    )
