"""The deal list: filters, sort and keyset pagination.

Filters combine with AND: stages, assignee, tag, score range, city, ZIP, text in the
address (case-insensitive substring of "address city state zip"), next action due before a
date, open or closed. Sorts: ``score``, ``updated``, ``due``, ``address``; ``-`` in front
for descending (the default is ``-score``: best deals first). A missing score sorts as -1,
a missing due date as 9999-12-31 and a missing address as "", so every deal has a place.

Pages are keyset pages: ``next_cursor`` encodes the last row's sort value and id (ties
are ordered by id in the sort's direction), and the next page starts strictly after it, so rows inserted or changed meanwhile neither repeat
nor shift the page (as an offset would). The cursor is opaque (URL-safe base64 of JSON)
and checked: a cursor from another sort is a 422.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, and_, false, func, or_, select
from sqlalchemy.orm import Session

from reos.crm import service
from reos.crm import stages as stage_rules
from reos.errors import ValidationFailed
from reos.kernel.bulk import among
from reos.models import Deal, DealTag
from reos.models.crm import ADDRESS_RANK, DUE_RANK, SCORE_RANK

SORTS = ("score", "updated", "due", "address")
NO_SCORE = -1
NO_DUE = date(9999, 12, 31)


@dataclass(frozen=True)
class DealFilters:
    stages: tuple[str, ...] = ()
    assignee_id: uuid.UUID | None = None
    tag: str | None = None
    min_score: int | None = None
    max_score: int | None = None
    city: str | None = None
    zip: str | None = None
    text: str | None = None
    due_before: date | None = None
    status: str = "open"  # open | closed | all
    #: Only deals on these properties (None: any property; empty: none). The dashboard
    #: narrows the list to a map area or a saved search's matches with it.
    property_ids: frozenset[uuid.UUID] | None = None
    #: Only deals on properties that each of these statements selects (one column of
    #: property ids: a map area, :func:`reos.properties.read_model.in_area`; a list's
    #: members, :func:`reos.dealflow.read_model.on_list`): embedded in the deal query, so
    #: the database filters and no id list travels.
    property_sets: tuple[Select[Any], ...] = field(default=(), compare=False)


def _sort_expr(key: str) -> Any:
    if key == "score":
        return SCORE_RANK
    if key == "updated":
        return Deal.updated_at
    if key == "due":
        return DUE_RANK
    if key == "address":
        return ADDRESS_RANK
    raise AssertionError(key)


def parse_sort(sort: str) -> tuple[str, bool]:
    """``("score", True)`` for ``-score``: the key and whether descending."""
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in SORTS:
        shown = ", ".join(f"{k}, -{k}" for k in SORTS)
        raise ValidationFailed(f"sort: {sort!r} — use one of {shown}", field="sort")
    return key, descending


def _encode_value(key: str, value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _decode_value(key: str, value: Any) -> Any:
    if key == "score":
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError("score")
        return value
    if not isinstance(value, str):
        raise ValueError(key)
    if key == "updated":
        return datetime.fromisoformat(value)
    if key == "due":
        return date.fromisoformat(value)
    return value


def encode_cursor(sort: str, deal: Deal) -> str:
    key, _ = parse_sort(sort)
    value: Any
    if key == "score":
        value = NO_SCORE if deal.score is None else deal.score
    elif key == "updated":
        value = deal.updated_at
    elif key == "due":
        value = deal.next_action_due or NO_DUE
    else:
        value = deal.address or ""
    raw = json.dumps([sort, _encode_value(key, value), str(deal.id)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(sort: str, cursor: str) -> tuple[Any, uuid.UUID]:
    key, _ = parse_sort(sort)
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        given_sort, value, ident = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if given_sort != sort:
            raise ValidationFailed(
                f"cursor: it belongs to sort {given_sort!r}, not {sort!r}; start again "
                "without a cursor",
                field="cursor",
            )
        return _decode_value(key, value), uuid.UUID(str(ident))
    except ValidationFailed:
        raise
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError, UnicodeDecodeError):
        raise ValidationFailed(
            "cursor: not a cursor this list gave out; use next_cursor from the previous page",
            field="cursor",
        ) from None


def _like_pattern(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def filtered(filters: DealFilters, session: Session | None = None) -> Select[Deal]:
    """The filters as a statement; ``session`` is needed for a ``property_ids`` filter
    (the ids go to the database as one parameter, :func:`reos.kernel.bulk.among`)."""
    stmt = select(Deal)
    if filters.property_ids is not None:
        if not filters.property_ids:
            stmt = stmt.where(false())
        elif session is None:
            raise AssertionError("a property_ids filter needs the session")
        else:
            # an open deal's open_property_id is its property_id: on that column the
            # (org_id, open_property_id) index alone answers the open list and its count
            column = Deal.open_property_id if filters.status == "open" else Deal.property_id
            stmt = stmt.where(among(session, column, sorted(filters.property_ids, key=str)))
    for chosen in filters.property_sets:
        stmt = stmt.where(Deal.property_id.in_(chosen))
    if filters.status == "open":
        stmt = stmt.where(Deal.open_property_id.is_not(None))
    elif filters.status == "closed":
        stmt = stmt.where(Deal.open_property_id.is_(None))
    elif filters.status != "all":
        raise ValidationFailed(
            f"status: {filters.status!r} — use open, closed or all", field="status"
        )
    if filters.stages:
        stmt = stmt.where(Deal.stage.in_(filters.stages))
    if filters.assignee_id is not None:
        stmt = stmt.where(Deal.assignee_id == filters.assignee_id)
    if filters.tag:
        tagged = select(DealTag.deal_id).where(DealTag.tag == " ".join(filters.tag.split()).lower())
        stmt = stmt.where(Deal.id.in_(tagged))
    if filters.min_score is not None:
        stmt = stmt.where(Deal.score >= filters.min_score)
    if filters.max_score is not None:
        stmt = stmt.where(Deal.score <= filters.max_score)
    if filters.city:
        stmt = stmt.where(func.lower(Deal.city) == filters.city.strip().lower())
    if filters.zip:
        stmt = stmt.where(Deal.zip == filters.zip.strip())
    if filters.text and filters.text.strip():
        stmt = stmt.where(Deal.search_text.like(_like_pattern(filters.text.strip()), escape="\\"))
    if filters.due_before is not None:
        stmt = stmt.where(Deal.next_action_due < filters.due_before)
    return stmt


def ordered(stmt: Select[Deal], sort: str, cursor: str | None) -> Select[Deal]:
    key, descending = parse_sort(sort)
    expr = _sort_expr(key)
    if cursor:
        value, ident = decode_cursor(sort, cursor)
        if descending:
            stmt = stmt.where(or_(expr < value, and_(expr == value, Deal.id < ident)))
        else:
            stmt = stmt.where(or_(expr > value, and_(expr == value, Deal.id > ident)))
    # ties broken by id in the same direction, so one index on (org_id, key, id) serves
    # the sort read forwards or backwards
    if descending:
        return stmt.order_by(expr.desc(), Deal.id.desc())
    return stmt.order_by(expr.asc(), Deal.id.asc())


def page(
    session: Session, filters: DealFilters, sort: str, limit: int, cursor: str | None = None
) -> tuple[Sequence[Deal], str | None]:
    """One page of deals and the cursor of the next (None on the last page). A stage
    filter naming no stage of the organisation is a 422 naming the valid ones (a typo
    would otherwise list nothing, silently)."""
    if filters.stages:
        stages = service.stages_of(session)
        for name in filters.stages:
            stage_rules.find(stages, name)
    stmt = ordered(filtered(filters, session), sort, cursor).limit(limit + 1)
    rows = session.scalars(stmt).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(sort, rows[-1]) if more and rows else None)


def every(
    session: Session, filters: DealFilters, sort: str, batch: int = 2000
) -> Iterator[Sequence[Deal]]:
    """Every deal the filters select, in pages of ``batch`` (the CSV export)."""
    cursor: str | None = None
    while True:
        rows, cursor = page(session, filters, sort, batch, cursor)
        if rows:
            yield rows
        if cursor is None:
            return
