"""The CRM's tables: deals (a property the organisation pursues), its stages, tags, notes,
tasks, activity timeline and offers. Owned by ``reos.crm``.

A deal keeps a copy of its property's site address (address, city, state, ZIP) and of
its score and reasons, refreshed every time the deal is shortlisted or rescored: the deal
list filters and sorts on them without joining another domain's tables.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    literal_column,
)
from sqlalchemy.orm import Mapped, mapped_column

from reos.db.base import Base, IdMixin, TenantScoped, TimestampMixin, UTCDateTime


class DealStage(IdMixin, TenantScoped, TimestampMixin, Base):
    """One stage of an organisation's deal pipeline, in ``position`` order. An organisation
    without rows here uses the default stages (:mod:`reos.crm.stages`). ``terminal`` stages
    close a deal; ``outcome`` (``won`` / ``lost``) is what a closed deal teaches the score
    model."""

    __tablename__ = "deal_stages"
    __table_args__ = (UniqueConstraint("org_id", "name"),)
    ORG_ID_INDEX = False  # the unique constraint leads with org_id
    name: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer)
    terminal: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome: Mapped[str | None] = mapped_column(String(10))


class Deal(IdMixin, TenantScoped, TimestampMixin, Base):
    """A property under pursuit. At most one open deal per property per organisation:
    ``open_property_id`` is the property id while the deal is open and NULL once it is
    closed (a unique key that NULLs do not collide on, on SQLite and PostgreSQL alike), so
    a closed deal can be reopened or followed by a new one.

    ``version`` is the optimistic-lock counter behind the API's ETag: every update checks
    and increments it in the same statement."""

    __tablename__ = "deals"
    __table_args__ = (
        UniqueConstraint("org_id", "open_property_id"),
        Index("ix_deals_org_property", "org_id", "property_id"),
        Index("ix_deals_org_stage_score", "org_id", "stage", "score"),
        Index("ix_deals_org_updated", "org_id", "updated_at", "id"),
        Index("ix_deals_org_assignee", "org_id", "assignee_id"),
        Index("ix_deals_org_zip", "org_id", "zip"),
        Index("ix_deals_org_city", "org_id", "city"),
    )
    ORG_ID_INDEX = False  # every index above leads with org_id
    property_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("properties.id", ondelete="CASCADE")
    )
    open_property_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    stage: Mapped[str] = mapped_column(String(40), default="new")
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL")
    )
    next_action: Mapped[str | None] = mapped_column(String(500))
    next_action_due: Mapped[date | None] = mapped_column(Date)
    score: Mapped[int | None] = mapped_column(Integer)
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    address: Mapped[str | None] = mapped_column(String(500))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(2))
    zip: Mapped[str | None] = mapped_column(String(5))
    search_text: Mapped[str] = mapped_column(String(700), default="")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    close_reason: Mapped[str | None] = mapped_column(String(500))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


#: The deal list's sort keys: a missing score sorts as -1, a missing due date as
#: 9999-12-31, a missing address as "". Constants are written inline (not bound
#: parameters) so that the indexes below, on the same expressions, serve the sorts.
SCORE_RANK = func.coalesce(Deal.score, literal_column("-1"))
DUE_RANK = func.coalesce(Deal.next_action_due, literal_column("'9999-12-31'"))
ADDRESS_RANK = func.coalesce(Deal.address, literal_column("''"))
Index("ix_deals_org_score_rank", Deal.org_id, SCORE_RANK, Deal.id)
Index("ix_deals_org_due_rank", Deal.org_id, DUE_RANK, Deal.id)
Index("ix_deals_org_address_rank", Deal.org_id, ADDRESS_RANK, Deal.id)


class DealTag(IdMixin, TenantScoped, Base):
    """A tag on a deal (free text, compared case-insensitively: stored lower case)."""

    __tablename__ = "deal_tags"
    __table_args__ = (
        UniqueConstraint("org_id", "deal_id", "tag"),
        Index("ix_deal_tags_org_tag", "org_id", "tag"),
    )
    ORG_ID_INDEX = False
    deal_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("deals.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(String(60))


class DealNote(IdMixin, TenantScoped, TimestampMixin, Base):
    """A note someone wrote on a deal."""

    __tablename__ = "deal_notes"
    __table_args__ = (Index("ix_deal_notes_org_deal", "org_id", "deal_id", "created_at"),)
    ORG_ID_INDEX = False
    deal_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("deals.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(200))


class DealTask(IdMixin, TenantScoped, TimestampMixin, Base):
    """A to-do on a deal. ``source_key`` names a task raised by the system (``inspection:
    <offer id>``) and is unique, so a deadline raises its task once however many workers
    see it."""

    __tablename__ = "deal_tasks"
    __table_args__ = (
        UniqueConstraint("org_id", "source_key"),
        Index("ix_deal_tasks_org_deal", "org_id", "deal_id"),
        Index("ix_deal_tasks_org_open_due", "org_id", "done", "due_date"),
    )
    ORG_ID_INDEX = False
    deal_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("deals.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(500))
    due_date: Mapped[date | None] = mapped_column(Date)
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL")
    )
    source_key: Mapped[str | None] = mapped_column(String(100))


class DealEvent(IdMixin, TenantScoped, Base):
    """One entry of a deal's activity timeline: what happened (``kind``), who did it
    (``actor``: a user's email, an API key's name, ``cli:<user>`` or ``job:<kind>``), when
    (``occurred_at``, UTC) and the detail (old and new stage, note id, offer id and price,
    valuation or underwriting figures, a message)."""

    __tablename__ = "deal_events"
    __table_args__ = (Index("ix_deal_events_org_deal", "org_id", "deal_id", "occurred_at"),)
    ORG_ID_INDEX = False
    deal_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("deals.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str | None] = mapped_column(String(200))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Offer(IdMixin, TenantScoped, TimestampMixin, Base):
    """An offer on a deal: price in dollars and cents (exact), terms (earnest money, days
    to close, inspection days, contingencies), where the price came from (``typed`` or
    ``optimiser``: the underwriting maximum offer), its dates and status. A counter-offer
    is a new offer whose ``parent_offer_id`` is the offer it answers; ``party`` says who
    made it (``buyer``: the organisation; ``seller``)."""

    __tablename__ = "offers"
    __table_args__ = (
        Index("ix_offers_org_deal", "org_id", "deal_id"),
        Index("ix_offers_org_status_expires", "org_id", "status", "expires_at"),
    )
    ORG_ID_INDEX = False
    deal_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("deals.id", ondelete="CASCADE"))
    property_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("properties.id", ondelete="CASCADE")
    )
    parent_offer_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("offers.id", ondelete="SET NULL"), index=True
    )
    party: Mapped[str] = mapped_column(String(10), default="buyer")
    price: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    terms: Mapped[dict[str, Any]] = mapped_column(default=dict)
    source: Mapped[str] = mapped_column(String(20), default="typed")
    basis: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    inspection_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(String(200))
