"""Saved searches: a named combination of filters over lists, geography, value, score
and property type. Running one returns its matches (highest score first) and how many of
them the previous run did not return."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from reos.db import tenancy
from reos.dealflow.lists import check_kind, stack_counts
from reos.errors import Conflict, NotFound, ValidationFailed
from reos.kernel.bulk import among, in_batches
from reos.models import DealScore, SavedSearch
from reos.properties import read_model as properties_read
from reos.valuation import read_model as valuation_read

#: The filters a search may combine; lists of strings, or numbers (value in dollars,
#: score 0-100, stack = distinct lists a property is on).
FILTER_NAMES = (
    "list_kinds",
    "min_stack",
    "cities",
    "zips",
    "property_types",
    "min_value",
    "max_value",
    "min_score",
    "max_score",
)


@dataclass(frozen=True)
class SearchRun:
    """A run's matches (property ids, highest score first), how many, and how many of them
    the previous run did not return (all of them on the first run)."""

    search_id: uuid.UUID
    name: str
    matches: list[uuid.UUID]
    match_count: int
    new_count: int
    previous_run_at: datetime | None


def check_filters(filters: dict[str, Any]) -> dict[str, Any]:
    """The filters, checked: known names, kinds that exist, sensible ranges."""
    unknown = sorted(set(filters) - set(FILTER_NAMES))
    if unknown:
        raise ValidationFailed(
            f"unknown filter {unknown[0]!r}; use {', '.join(FILTER_NAMES)}",
            field=f"filters.{unknown[0]}",
        )
    out = {k: v for k, v in filters.items() if v not in (None, [], "")}
    for kind in out.get("list_kinds", []):
        check_kind(kind)
    for name in ("cities", "zips", "property_types"):
        for text in out.get(name, []):
            if not isinstance(text, str) or not text.strip() or any(ord(c) < 32 for c in text):
                raise ValidationFailed(
                    f"{name}: {text!r} is not a name (printable text)", field=f"filters.{name}"
                )
    for low, high in (("min_value", "max_value"), ("min_score", "max_score")):
        if low in out and high in out and out[low] > out[high]:
            raise ValidationFailed(f"{low} is above {high}", field=f"filters.{low}")
    return out


def create_search(
    session: Session, name: str, filters: dict[str, Any], created_by: str | None = None
) -> SavedSearch:
    name = name.strip()
    if not name:
        raise ValidationFailed("a saved search needs a name", field="name")
    if session.scalars(select(SavedSearch).where(SavedSearch.name == name)).first():
        raise Conflict(f"a saved search named {name!r} exists", field="name")
    search = SavedSearch(name=name, filters=check_filters(filters), created_by=created_by)
    session.add(search)
    session.flush()
    return search


def get_search(session: Session, search_id: uuid.UUID) -> SavedSearch:
    found = session.get(SavedSearch, search_id)
    if found is None or found.org_id != tenancy.current_org(session):
        raise NotFound(f"saved search {search_id} not found", field="search_id")
    return found


def find_search(session: Session, ref: str) -> SavedSearch:
    """A saved search by id or by name (the command line)."""
    try:
        return get_search(session, uuid.UUID(ref))
    except ValueError:
        pass
    found = session.scalars(select(SavedSearch).where(SavedSearch.name == ref)).first()
    if found is None:
        raise NotFound(f"saved search {ref!r} not found", field="search")
    return found


def list_searches(session: Session) -> Sequence[SavedSearch]:
    return session.scalars(select(SavedSearch).order_by(SavedSearch.name)).all()


def update_search(
    session: Session, search_id: uuid.UUID, name: str | None, filters: dict[str, Any] | None
) -> SavedSearch:
    search = get_search(session, search_id)
    if name is not None and name.strip() != search.name:
        if session.scalars(select(SavedSearch).where(SavedSearch.name == name.strip())).first():
            raise Conflict(f"a saved search named {name!r} exists", field="name")
        search.name = name.strip()
    if filters is not None:
        search.filters = check_filters(filters)
    session.flush()
    return search


def delete_search(session: Session, search_id: uuid.UUID) -> None:
    session.delete(get_search(session, search_id))
    session.flush()


def matching(session: Session, filters: dict[str, Any]) -> list[uuid.UUID]:
    """Property ids matching every filter, highest score first (unscored last)."""
    candidates: set[uuid.UUID] | None = None
    if filters.get("list_kinds"):  # on a list of one of these kinds
        candidates = set(stack_counts(session, filters["list_kinds"], 1))
    if filters.get("min_stack"):  # on at least this many lists of any kind
        stacked = set(stack_counts(session, (), int(filters["min_stack"])))
        candidates = stacked if candidates is None else candidates & stacked
    if filters.get("cities") or filters.get("zips") or filters.get("property_types"):
        placed = set(
            properties_read.property_ids_where(
                session,
                cities=filters.get("cities") or (),
                zips=filters.get("zips") or (),
                property_types=filters.get("property_types") or (),
            )
        )
        candidates = placed if candidates is None else candidates & placed
    if candidates is None:
        candidates = set(properties_read.property_ids_where(session))
    low, high = filters.get("min_value"), filters.get("max_value")
    if low is not None or high is not None:
        values = valuation_read.latest_values(session, candidates)
        candidates = {
            pid
            for pid in candidates
            if pid in values
            and (low is None or values[pid][0] >= low)
            and (high is None or values[pid][0] <= high)
        }
    scores: dict[uuid.UUID, int] = {}
    for batch in in_batches(candidates):
        stmt = select(DealScore.property_id, DealScore.score).where(
            among(session, DealScore.property_id, batch)
        )
        scores.update({pid: int(s) for pid, s in session.execute(stmt)})
    low, high = filters.get("min_score"), filters.get("max_score")
    if low is not None or high is not None:
        candidates = {
            pid
            for pid in candidates
            if pid in scores
            and (low is None or scores[pid] >= low)
            and (high is None or scores[pid] <= high)
        }
    return sorted(candidates, key=lambda pid: (-scores.get(pid, -1), str(pid)))


def run_search(session: Session, search_id: uuid.UUID) -> SearchRun:
    """Run a saved search, remember its matches and say how many are new since last run."""
    search = get_search(session, search_id)
    found = matching(session, dict(search.filters or {}))
    before = {str(x) for x in search.last_match_ids or []}
    new = sum(1 for pid in found if str(pid) not in before)
    previous = search.last_run_at
    search.last_match_ids = [str(pid) for pid in found]
    search.last_match_count = len(found)
    search.last_new_count = new
    search.last_run_at = datetime.now(UTC)
    session.flush()
    return SearchRun(search.id, search.name, found, len(found), new, previous)
