"""What other domains may read of owner records: for each property, where its owner
gets mail, what kind of owner it is and how many properties that owner holds (deal flow
derives its absentee, out-of-state and corporate-portfolio lists from it).

Light: models and kernel only, never the resolver (Splink, pandas)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from reos.kernel.bulk import among, in_batches
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


def property_owners(
    session: Session, property_ids: Iterable[uuid.UUID] | None = None
) -> dict[uuid.UUID, PropertyOwner]:
    """:class:`PropertyOwner` of each property with a linked owner record (of every
    property of the organisation when ``property_ids`` is None), by property id. Set-based:
    the records (in batches of keys), then the kinds and portfolio sizes of their owners."""
    base = (
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
    statements: Iterable[Any]
    if property_ids is None:
        statements = [base]
    else:
        statements = (
            base.where(among(session, OwnerRecord.property_id, batch))
            for batch in in_batches(property_ids)
        )
    records: dict[uuid.UUID, tuple[Any, ...]] = {}
    for stmt in statements:
        for pid, key, state, country, entity_id in session.execute(stmt):
            if pid is not None:
                records[pid] = (key, state, country, entity_id)  # the newest record wins
    entities = {r[3] for r in records.values() if r[3] is not None}
    kinds: dict[uuid.UUID, str] = {}
    sizes: dict[uuid.UUID, int] = {}
    for batch in in_batches(entities):
        kinds.update(
            session.execute(
                select(OwnerEntity.id, OwnerEntity.kind).where(
                    among(session, OwnerEntity.id, batch)
                )
            )
            .tuples()
            .all()
        )
        sizes.update(
            (entity_id, int(count))
            for entity_id, count in session.execute(
                select(OwnerRecord.entity_id, func.count(distinct(OwnerRecord.property_id)))
                .where(among(session, OwnerRecord.entity_id, batch))
                .group_by(OwnerRecord.entity_id)
            )
            if entity_id is not None
        )
    return {
        pid: PropertyOwner(
            key,
            state,
            country,
            kinds.get(entity_id) if entity_id is not None else None,
            sizes.get(entity_id, 1) if entity_id is not None else 1,
        )
        for pid, (key, state, country, entity_id) in records.items()
    }


@dataclass(frozen=True)
class OwnerOfRecord:
    """Who the newest owner record of a property names: the record's owner name(s) as
    given, its mailing city/state, and the resolved owner (None before resolution)."""

    owner_name: str | None
    owner_name_2: str | None
    mailing_city: str | None
    mailing_state: str | None
    entity_id: uuid.UUID | None


def owner_of_property(session: Session, property_id: uuid.UUID) -> OwnerOfRecord | None:
    """The owner of one property as its newest linked owner record says (None when no
    record is linked to it): what a property page shows before the owner's detail."""
    row = session.execute(
        select(
            OwnerRecord.owner_name,
            OwnerRecord.owner_name_2,
            OwnerRecord.mailing_city,
            OwnerRecord.mailing_state,
            OwnerRecord.entity_id,
        )
        .where(OwnerRecord.property_id == property_id)
        .order_by(OwnerRecord.created_at.desc(), OwnerRecord.id.desc())
        .limit(1)
    ).first()
    return None if row is None else OwnerOfRecord(*row)
