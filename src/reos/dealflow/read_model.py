"""What other domains (and the pipeline) may read of deal flow: each property's current
deal score and its stack of lists. Light: models and kernel only (no LightGBM)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from reos.dealflow.lists import stack_rows
from reos.dealflow.scoring import Driver, PropertyScore
from reos.kernel.bulk import among, in_batches
from reos.models import DealScore


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
