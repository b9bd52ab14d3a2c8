"""What other domains may read of stored underwritings: the latest one of each property
(deal flow scores its margins). Light: models and kernel only, never the engine."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from reos.kernel.bulk import among, in_batches
from reos.models import Underwriting


@dataclass(frozen=True)
class StoredUnderwriting:
    """The latest underwriting of a property: its strategy (``rental``, ``flip``,
    ``commercial``), the purchase price it assumed (dollars) and its metrics as the engine
    stored them (flip: ``mao``, ``mao_margin``, ``profit``, ``roi``; rental:
    ``cash_on_cash``, ``irr_levered`` ...; ratios as fractions, money in dollars)."""

    strategy: str
    purchase_price: float | None
    metrics: dict[str, Any]


def latest_underwritings(
    session: Session, property_ids: Iterable[uuid.UUID] | None = None
) -> dict[uuid.UUID, StoredUnderwriting]:
    """The most recently created underwriting of each property (every underwritten property
    of the organisation when ``property_ids`` is None); properties never underwritten are
    absent."""
    stmt = select(
        Underwriting.property_id, Underwriting.strategy, Underwriting.inputs, Underwriting.metrics
    ).order_by(Underwriting.property_id, Underwriting.created_at)
    chunks: Iterable[Any]
    if property_ids is None:
        chunks = [stmt.where(Underwriting.property_id.is_not(None))]
    else:
        chunks = (
            stmt.where(among(session, Underwriting.property_id, batch))
            for batch in in_batches(set(property_ids))
        )
    out: dict[uuid.UUID, StoredUnderwriting] = {}
    for chunk in chunks:
        for pid, strategy, inputs, metrics in session.execute(chunk):
            price = (inputs or {}).get("purchase_price")
            out[pid] = StoredUnderwriting(
                strategy,
                float(price) if isinstance(price, int | float) else None,
                dict(metrics or {}),
            )
    return out
