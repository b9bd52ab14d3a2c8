"""What other domains may read of valuation's tables: the latest stored value of each
property (owners sum it per portfolio).

Light on purpose: it imports the models and the kernel only, never the engine (LightGBM,
pandas), so a domain reading a value does not pay for the model that produced it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from reos.kernel.bulk import among, in_batches
from reos.models import Valuation


def latest_values(
    session: Session, property_ids: Iterable[uuid.UUID] | None = None
) -> dict[uuid.UUID, tuple[float, date]]:
    """The latest stored valuation of each property, by valuation date then creation:
    ``{property_id: (estimated value in dollars, valuation date)}``. ``property_ids``
    limits the read to those properties (batched, any number); None reads every valued
    property of the session's organisation. Properties never valued are absent."""
    stmt = select(
        Valuation.property_id, Valuation.estimated_value, Valuation.valuation_date
    ).order_by(Valuation.property_id, Valuation.valuation_date, Valuation.created_at)
    chunks: Iterable[Any]
    if property_ids is None:
        chunks = [stmt.where(Valuation.property_id.is_not(None))]
    else:
        chunks = (
            stmt.where(among(session, Valuation.property_id, batch))
            for batch in in_batches(set(property_ids))
        )
    out: dict[uuid.UUID, tuple[float, date]] = {}
    for chunk in chunks:
        for pid, value, day in session.execute(chunk):
            out[pid] = (float(value), day)  # ascending order: the last one wins
    return out


def latest_graded_values(
    session: Session, property_ids: Iterable[uuid.UUID] | None = None
) -> dict[uuid.UUID, tuple[float, date, str]]:
    """As :func:`latest_values`, with the valuation's confidence grade (A-D):
    ``{property_id: (estimated value in dollars, valuation date, grade)}``. The deal score
    weighs a value by how far it can be trusted."""
    stmt = select(
        Valuation.property_id,
        Valuation.estimated_value,
        Valuation.valuation_date,
        Valuation.confidence,
    ).order_by(Valuation.property_id, Valuation.valuation_date, Valuation.created_at)
    chunks: Iterable[Any]
    if property_ids is None:
        chunks = [stmt.where(Valuation.property_id.is_not(None))]
    else:
        chunks = (
            stmt.where(among(session, Valuation.property_id, batch))
            for batch in in_batches(set(property_ids))
        )
    out: dict[uuid.UUID, tuple[float, date, str]] = {}
    for chunk in chunks:
        for pid, value, day, grade in session.execute(chunk):
            out[pid] = (float(value), day, str(grade))  # ascending order: the last one wins
    return out
