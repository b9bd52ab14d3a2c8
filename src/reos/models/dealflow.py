"""Deal flow's tables: the lists a property is on (imported distress lists and lists
derived from the store), their memberships, saved searches, each property's current deal
score and the trained score models."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from reos.db.base import Base, IdMixin, TenantScoped, TimestampMixin, UTCDateTime


class PropertyList(IdMixin, TenantScoped, TimestampMixin, Base):
    """A named set of properties with a kind (``tax_delinquent``, ``probate``, ...,
    ``custom``), a source and a date. An imported list keeps its import report in
    ``report``; a derived list (``derived`` true) is a saved query over the store
    (``query``: the rule and its parameters) that :func:`refresh_derived_lists` rebuilds."""

    __tablename__ = "property_lists"
    __table_args__ = (Index("ix_property_lists_org_kind", "org_id", "kind"),)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    source: Mapped[str | None] = mapped_column(String(200))
    list_date: Mapped[date] = mapped_column(Date)
    derived: Mapped[bool] = mapped_column(Boolean, default=False)
    query: Mapped[dict[str, Any]] = mapped_column(default=dict)
    filename: Mapped[str | None] = mapped_column(String(500))
    member_count: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[dict[str, Any]] = mapped_column(default=dict)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str | None] = mapped_column(String(64))


class ListMembership(IdMixin, TenantScoped, TimestampMixin, Base):
    """One row of a list. ``status`` is ``matched`` (``property_id`` set, found by
    ``matched_by``: ``parcel`` or ``address``), ``unmatched`` (kept with ``reason``) or
    ``duplicate`` (a second row for a property already on the list, ``reason`` names the
    first row). ``attributes`` holds the list's own columns (amount due, case number ...)
    as the file gave them."""

    __tablename__ = "list_memberships"
    __table_args__ = (
        UniqueConstraint("list_id", "property_id", name="uq_list_memberships_list_property"),
        Index("ix_list_memberships_org_property", "org_id", "property_id"),
    )
    list_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("property_lists.id", ondelete="CASCADE"), index=True
    )
    property_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("properties.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(String(20), default="matched")
    matched_by: Mapped[str | None] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    row_number: Mapped[int | None] = mapped_column(Integer)
    listed_on: Mapped[date] = mapped_column(Date)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)

    ORG_ID_INDEX = False


class SavedSearch(IdMixin, TenantScoped, TimestampMixin, Base):
    """A combination of filters kept under a name. ``last_match_ids`` is the set of
    properties the last run found, so the next run can say how many matches are new."""

    __tablename__ = "saved_searches"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_saved_searches_org_name"),)
    name: Mapped[str] = mapped_column(String(200))
    filters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_match_count: Mapped[int] = mapped_column(Integer, default=0)
    last_new_count: Mapped[int] = mapped_column(Integer, default=0)
    last_match_ids: Mapped[list[Any]] = mapped_column(default=list)
    created_by: Mapped[str | None] = mapped_column(String(64))

    ORG_ID_INDEX = False


class DealScore(IdMixin, TenantScoped, TimestampMixin, Base):
    """The current deal score of one property (0-100), with its drivers in points (they
    sum to the score), the reasons shown to the user, the features it was computed from
    and the model that made it (``default-v1`` or a trained model's version)."""

    __tablename__ = "deal_scores"
    __table_args__ = (
        UniqueConstraint("org_id", "property_id", name="uq_deal_scores_org_property"),
        Index("ix_deal_scores_org_score", "org_id", "score"),
    )
    property_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("properties.id", ondelete="CASCADE")
    )
    score: Mapped[int] = mapped_column(Integer)
    drivers: Mapped[list[Any]] = mapped_column(default=list)
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    features: Mapped[dict[str, Any]] = mapped_column(default=dict)
    model_version: Mapped[str] = mapped_column(String(64))
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime)

    ORG_ID_INDEX = False


class ScoreModel(IdMixin, TenantScoped, TimestampMixin, Base):
    """One trained deal-score model: its file under ``REOS_HOME/models/<org>/<version>``,
    the outcomes it learned from and its holdout AUC next to the default weights' AUC on
    the same holdout. ``is_active`` only when it beat the default."""

    __tablename__ = "score_models"
    version: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(1000))
    outcome_count: Mapped[int] = mapped_column(Integer)
    holdout_auc: Mapped[float] = mapped_column(Float)
    default_auc: Mapped[float] = mapped_column(Float)
    features: Mapped[list[Any]] = mapped_column(default=list)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    is_active: Mapped[bool] = mapped_column(Boolean, default=False)
