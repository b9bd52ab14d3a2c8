"""What other domains may read of owner records: for each property, where its owner
gets mail, what kind of owner it is and how many properties that owner holds (deal flow
derives its absentee, out-of-state and corporate-portfolio lists from it).

Light: models and kernel only, never the resolver (Splink, pandas)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from reos.models import OwnerEntity, OwnerRecord


@dataclass(frozen=True)
class PropertyOwner:
    """The owner of a property as its owner record says (the newest record of the
    property wins): the mailing address key (``reos.kernel.addresses`` key, comparable to
    a property's ``address_key``), mailing state and country, the resolved owner's kind
    (``person``, ``organisation``, ``trust``, ``government`` ...; None before resolution)
    and how many distinct properties that resolved owner holds (1 when unresolved)."""

    mailing_address_key: str | None
    mailing_state: str | None
    mailing_country: str | None
    owner_kind: str | None
    portfolio_size: int


def property_owners(session: Session) -> dict[uuid.UUID, PropertyOwner]:
    """:class:`PropertyOwner` of every property of the organisation with a linked owner
    record, by property id. Three set-based queries (records, kinds, portfolio sizes)."""
    sizes = {
        entity_id: int(count)
        for entity_id, count in session.execute(
            select(OwnerRecord.entity_id, func.count(distinct(OwnerRecord.property_id)))
            .where(OwnerRecord.entity_id.is_not(None), OwnerRecord.property_id.is_not(None))
            .group_by(OwnerRecord.entity_id)
        )
    }
    kinds = dict(session.execute(select(OwnerEntity.id, OwnerEntity.kind)).tuples().all())
    stmt = (
        select(
            OwnerRecord.property_id,
            OwnerRecord.mailing_address_key,
            OwnerRecord.mailing_state,
            OwnerRecord.mailing_country,
            OwnerRecord.entity_id,
        )
        .where(OwnerRecord.property_id.is_not(None))
        .order_by(OwnerRecord.property_id, OwnerRecord.created_at)
    )
    out: dict[uuid.UUID, PropertyOwner] = {}
    for pid, key, state, country, entity_id in session.execute(stmt):
        if pid is None:
            continue
        out[pid] = PropertyOwner(  # ascending creation: the newest record wins
            key,
            state,
            country,
            kinds.get(entity_id) if entity_id is not None else None,
            sizes.get(entity_id, 1) if entity_id is not None else 1,
        )
    return out
