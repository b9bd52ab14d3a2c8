"""Owner resolution for one organisation: run it, correct it, read the result.

The pure modules (``owners.resolution``, ``owners.flags``, ``owners.graph``) do the
computation on DataFrames; this module loads the organisation's owner records, hands them
over and stores what comes back.

What is stored where:
- ``OwnerRecord.entity_id`` / ``match_probability``: the clustering. ``attributes["resolution"]``
  keeps a fingerprint of the name and mailing fields the record was resolved with, so a later
  run can tell new records (no entity yet) from changed ones.
- ``OwnerEntity``: one row per resolved owner. ``entity_key`` is always the pure resolver's
  id, ``"own:" + smallest member record id``. The row's UUID ``id`` is what the API, the CLI
  and ``export_clusters`` use; a run keeps an existing UUID for the new entity that holds
  most of its records, so links to an owner survive re-runs. ``attributes`` holds the
  summary the list filters on: counts, portfolio totals, flags, related owners.
- ``OwnerOverride``: a person's merge/split, by source record id (``owner_record_id``),
  passed to every later run as a constraint.
- ``ResolutionRun``: the report of each run and the model it used (for incremental linking).

Override semantics (the same as the pure :class:`~reos.owners.resolution.Override`):
``merge A B`` stores one must-link between the two records. ``split ENTITY R`` stores a
cannot-link between R and every other current member of the entity. The latest decision wins:
a merge removes earlier splits between members of the two entities it joins, a split removes
earlier merges between R and the members it leaves. Both change the stored clustering at once.

Record ids: the resolver works on ``owner_record_id`` (the source's id). Should two stored rows
share one (not possible through the import, which upserts by it), the older row is resolved
and the younger rows follow it into the same entity.
"""

from __future__ import annotations

import csv
import hashlib
import json
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Select, delete, func, or_, select, text
from sqlalchemy.orm import Session

from reos.accounts import audit
from reos.db import tenancy
from reos.errors import Conflict, NotFound, ValidationFailed
from reos.models import (
    OwnerEntity,
    OwnerOverride,
    OwnerRecord,
    Property,
    ResolutionRun,
    Sale,
    Valuation,
)
from reos.owners import resolution as res
from reos.owners.flags import OwnerFlags, owner_flags
from reos.owners.graph import build_owner_graph, most_connected_owners, related_entities
from reos.owners.parties import build_party_frame, prepare_records

DEFAULT_THRESHOLD = res.ResolutionConfig().threshold
MAX_RELATED = 50
"""Related owners kept per entity (a registered-agent office relates hundreds)."""
MAX_BRIDGES_REPORTED = 100
_BATCH = 500
_INPUT_FIELDS = (
    "owner_name",
    "owner_name_2",
    "mailing_address",
    "mailing_address_2",
    "mailing_city",
    "mailing_state",
    "mailing_zip",
    "mailing_country",
)
_DISPLAY_MAX = 500  # OwnerEntity.display_name length
_NOTHING_NEW = "no new owner records since the last run; use --full to re-resolve all"
_KINDS = ("person", "organisation", "trust", "government", "unknown")


# --- loading ------------------------------------------------------------------------------


@dataclass
class _Loaded:
    """The owner records in scope, their resolver input frame, and who is who."""

    frame: pd.DataFrame
    records: dict[str, OwnerRecord]
    """resolver record id -> the stored row it stands for."""
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    """resolver record id -> its row of ``frame`` as a dict (cheaper than pandas per owner)."""
    followers: dict[str, list[OwnerRecord]] = field(default_factory=dict)
    """resolver record id -> younger rows with the same ``owner_record_id``."""
    _names: tuple[dict[str, str], dict[str, Any]] | None = None

    def names(self) -> tuple[dict[str, str], dict[str, Any]]:
        """Display name and kind of every record, as the resolver derives them."""
        if self._names is None:
            self._names = res._record_displays(self.frame)  # noqa: SLF001 - same package
        return self._names

    def rows_of(self, rid: str) -> list[OwnerRecord]:
        return [self.records[rid], *self.followers.get(rid, [])]


def _record_key(rec: OwnerRecord) -> str:
    return (rec.owner_record_id or "").strip() or f"blank:{rec.id}"


def _fingerprint(rec: OwnerRecord) -> str:
    data = [getattr(rec, name) or "" for name in _INPUT_FIELDS]
    return hashlib.sha1(json.dumps(data).encode(), usedforsecurity=False).hexdigest()[:16]


def _in_batches(values: Iterable[Any]) -> Iterable[list[Any]]:
    batch: list[Any] = []
    for value in values:
        batch.append(value)
        if len(batch) == _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _latest_values(
    session: Session, property_ids: set[uuid.UUID] | None
) -> dict[uuid.UUID, tuple[float, date]]:
    """Latest stored valuation (by valuation date, then creation) per property."""
    stmt = select(
        Valuation.property_id, Valuation.estimated_value, Valuation.valuation_date
    ).order_by(Valuation.property_id, Valuation.valuation_date, Valuation.created_at)
    out: dict[uuid.UUID, tuple[float, date]] = {}
    chunks: Iterable[Any]
    if property_ids is None:
        chunks = [stmt.where(Valuation.property_id.is_not(None))]
    else:
        chunks = (stmt.where(Valuation.property_id.in_(b)) for b in _in_batches(property_ids))
    for chunk in chunks:
        for pid, value, day in session.execute(chunk):
            out[pid] = (float(value), day)  # ascending order: the last one wins
    return out


def _last_sales(session: Session, property_ids: set[uuid.UUID] | None) -> dict[uuid.UUID, date]:
    stmt = select(Sale.property_id, func.max(Sale.close_date)).group_by(Sale.property_id)
    if property_ids is None:
        return {pid: day for pid, day in session.execute(stmt)}
    out: dict[uuid.UUID, date] = {}
    for batch in _in_batches(property_ids):
        out.update(
            {pid: day for pid, day in session.execute(stmt.where(Sale.property_id.in_(batch)))}
        )
    return out


def _load(
    session: Session,
    *,
    entity_ids: Sequence[uuid.UUID] | None = None,
) -> _Loaded:
    """Owner records (all of the organisation's, or those of some entities) as the resolver's
    input frame, with the linked property's address, last sale date and latest value.

    A record whose property is not linked keeps the property address its source gave
    (``property_ref["address"]``) so its flags use what is known; ``property_unknown`` says so.
    """
    stmt = (
        select(OwnerRecord, Property.address, Property.city, Property.state, Property.zip)
        .outerjoin(Property, Property.id == OwnerRecord.property_id)
        .order_by(OwnerRecord.created_at, OwnerRecord.id)
    )
    rows: list[Any] = []
    if entity_ids is None:
        rows = list(session.execute(stmt))
    else:
        for batch in _in_batches(entity_ids):
            rows.extend(session.execute(stmt.where(OwnerRecord.entity_id.in_(batch))))
    property_ids = {r[0].property_id for r in rows if r[0].property_id is not None}
    scope = None if entity_ids is None else property_ids
    values = _latest_values(session, scope) if property_ids else {}
    sales = _last_sales(session, scope) if property_ids else {}
    records: dict[str, OwnerRecord] = {}
    followers: dict[str, list[OwnerRecord]] = defaultdict(list)
    data: list[dict[str, Any]] = []
    for rec, p_address, p_city, p_state, p_zip in rows:
        rid = _record_key(rec)
        if rid in records:
            followers[rid].append(rec)
            continue
        records[rid] = rec
        linked = rec.property_id is not None
        ref = rec.property_ref or {}
        value = values.get(rec.property_id) if linked else None
        data.append(
            {
                "record_id": rid,
                **{name: getattr(rec, name) for name in _INPUT_FIELDS},
                "property_address": p_address if linked else ref.get("address"),
                "property_city": p_city if linked else None,
                "property_state": p_state if linked else None,
                "property_zip": p_zip if linked else None,
                "property_id": str(rec.property_id) if linked else None,
                "property_unknown": not linked,
                "last_sale_date": sales.get(rec.property_id) if linked else None,
                "estimated_value": value[0] if value else None,
                "valuation_date": value[1] if value else None,
            }
        )
    columns = [
        "record_id",
        *_INPUT_FIELDS,
        "property_address",
        "property_city",
        "property_state",
        "property_zip",
        "property_id",
        "property_unknown",
        "last_sale_date",
        "estimated_value",
        "valuation_date",
    ]
    return _Loaded(
        pd.DataFrame(data, columns=columns),
        records,
        {str(row["record_id"]): row for row in data},
        dict(followers),
    )


def _serialise(session: Session) -> None:
    """One resolution change at a time per organisation: on PostgreSQL a transaction-scoped
    advisory lock (SQLite already allows one writer at a time)."""
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(tenancy.current_org(session).bytes[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _overrides(session: Session) -> list[res.Override]:
    rows = session.scalars(select(OwnerOverride).order_by(OwnerOverride.created_at)).all()
    return [
        res.must_link(o.record_a, o.record_b)
        if o.kind == "merge"
        else res.cannot_link(o.record_a, o.record_b)
        for o in rows
    ]


def _last_run(session: Session) -> ResolutionRun | None:
    return session.scalars(
        select(ResolutionRun).order_by(ResolutionRun.created_at.desc(), ResolutionRun.id).limit(1)
    ).first()


# --- entity summaries ---------------------------------------------------------------------


def _any(values: Iterable[bool | None]) -> bool | None:
    """True if any is True, False if all known ones are False, None if none is known."""
    known = [v for v in values if v is not None]
    return None if not known else any(known)


def _flags_of(loaded: _Loaded, as_of: date | None = None) -> dict[str, OwnerFlags]:
    return {rid: owner_flags(row, as_of=as_of) for rid, row in loaded.rows.items()}


def _entity_flags(kind: str, flags: Sequence[OwnerFlags]) -> dict[str, Any]:
    """An owner's flags from its records' flags: owner-occupied when it lives in one of its
    properties, absentee / out-of-state when any of its properties is held from elsewhere."""
    years = [f.years_owned for f in flags if f.years_owned is not None]
    return {
        "owner_occupied": _any(f.owner_occupied for f in flags),
        "absentee": _any(f.absentee for f in flags),
        "out_of_state": _any(f.out_of_state for f in flags),
        "corporate": kind == "organisation",
        "trust": kind == "trust",
        "government": kind == "government",
        "foreign_mailing": any(f.foreign_mailing for f in flags),
        "po_box": any(f.po_box for f in flags),
        "years_owned_max": max(years) if years else None,
        "years_owned_min": min(years) if years else None,
    }


def _portfolio_of(members: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Count, latest-valuation total and locations of the properties behind some records."""
    linked = list({str(r["property_id"]): r for r in members if r["property_id"]}.values())
    values = [float(r["estimated_value"]) for r in linked if r["estimated_value"] is not None]
    return {
        "property_count": len(linked),
        "valued_property_count": len(values),
        "total_estimated_value": round(sum(values), 2) if values else None,
        "property_unknown_count": sum(1 for r in members if not r["property_id"]),
        "cities": sorted({str(r["property_city"]) for r in linked if r["property_city"]}),
        "states": sorted({str(r["property_state"]) for r in linked if r["property_state"]}),
        "zips": sorted({str(r["property_zip"]) for r in linked if r["property_zip"]}),
    }


def _attributes(
    kind: str,
    members: Sequence[dict[str, Any]],
    flags: dict[str, OwnerFlags],
    related: list[dict[str, str]],
) -> dict[str, Any]:
    record_flags = [flags[str(r["record_id"])] for r in members]
    portfolio = _portfolio_of(members)
    return {
        "record_count": len(members),
        **portfolio,
        "cities": portfolio["cities"][:20],
        "zips": portfolio["zips"][:20],
        "absentee_record_count": sum(1 for f in record_flags if f.absentee),
        "flags": _entity_flags(kind, record_flags),
        "related": related,
    }


def _display(name: str) -> str:
    name = name.strip() or "(no owner name)"
    return name if len(name) <= _DISPLAY_MAX else name[: _DISPLAY_MAX - 1] + "…"


def _describe(
    loaded: _Loaded, members: Sequence[str], probability: dict[str, float]
) -> res.OwnerEntity:
    """Display name, kind and key of a group of records, as the resolver would give them."""
    display, kinds = loaded.names()
    return res._entity_from(list(members), probability, display, kinds)  # noqa: SLF001


# --- persisting a clustering ----------------------------------------------------------------


@dataclass
class _Persisted:
    created: int
    removed: int
    key_to_row: dict[str, OwnerEntity]


def _persist(session: Session, loaded: _Loaded, entities: Sequence[res.OwnerEntity]) -> _Persisted:
    """Write a clustering of all loaded records: reuse each stored entity row for the new
    entity holding most of its records, create the rest, re-point records, delete emptied
    entities."""
    rows = {e.id: e for e in session.scalars(select(OwnerEntity))}
    overlap: list[tuple[int, bool, str, uuid.UUID]] = []
    for entity in entities:
        counts = Counter(
            loaded.records[r].entity_id
            for r in entity.record_ids
            if loaded.records[r].entity_id in rows
        )
        for eid, n in counts.items():
            assert eid is not None
            overlap.append((n, rows[eid].entity_key == entity.entity_id, entity.entity_id, eid))
    overlap.sort(key=lambda t: (-t[0], not t[1], t[2], str(t[3])))
    chosen: dict[str, uuid.UUID] = {}
    claimed: set[uuid.UUID] = set()
    for _, _, key, eid in overlap:
        if key in chosen or eid in claimed:
            continue
        chosen[key] = eid
        claimed.add(eid)
    key_to_row: dict[str, OwnerEntity] = {}
    created = 0
    for entity in entities:
        row = rows.get(chosen[entity.entity_id]) if entity.entity_id in chosen else None
        if row is None:
            row = OwnerEntity(
                id=uuid.uuid4(),
                entity_key=entity.entity_id,
                display_name=_display(entity.display_name),
                kind=entity.kind,
                attributes={},
            )
            session.add(row)
            created += 1
        _set(
            row,
            entity_key=entity.entity_id,
            display_name=_display(entity.display_name),
            kind=entity.kind,
        )
        key_to_row[entity.entity_id] = row
        for member in entity.members:
            for rec in loaded.rows_of(member.record_id):
                _set(rec, entity_id=row.id, match_probability=member.match_probability)
    session.flush()
    removed = _delete_empty_entities(session)
    return _Persisted(created, removed, key_to_row)


def _set(obj: Any, **values: Any) -> None:
    """Assign only what differs, so unchanged rows are not written."""
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)


def _delete_empty_entities(session: Session) -> int:
    used = select(OwnerRecord.entity_id).where(OwnerRecord.entity_id.is_not(None))
    empty = list(session.scalars(select(OwnerEntity.id).where(OwnerEntity.id.not_in(used))))
    for batch in _in_batches(empty):
        session.execute(
            delete(OwnerEntity).where(OwnerEntity.id.in_(batch)),
            execution_options={"synchronize_session": "fetch"},
        )
    return len(empty)


def _refresh_attributes(
    session: Session,
    loaded: _Loaded,
    key_to_row: dict[str, OwnerEntity],
    entities: Sequence[res.OwnerEntity],
    parties: pd.DataFrame | None,
) -> None:
    """Summary attributes of every entity, related owners from the ownership graph."""
    flags = _flags_of(loaded)
    related: dict[str, list[dict[str, str]]] = defaultdict(list)
    if parties is not None:
        result = res.ResolutionResult(
            entities=list(entities),
            assignments={m.record_id: e.entity_id for e in entities for m in e.members},
            report=_empty_report(),
            parties=parties,
        )
        graph = build_owner_graph(loaded.frame, result)
        for rel in related_entities(graph):
            a, b = key_to_row[rel.entity_id], key_to_row[rel.related_entity_id]
            for one, other in ((rel.entity_id, b), (rel.related_entity_id, a)):
                if len(related[one]) < MAX_RELATED:
                    related[one].append({"id": str(other.id), "reason": rel.reason})
    for entity in entities:
        members = [loaded.rows[r] for r in entity.record_ids]
        _set(
            key_to_row[entity.entity_id],
            attributes=_attributes(entity.kind, members, flags, related.get(entity.entity_id, [])),
        )


def _empty_report() -> res.ResolutionReport:
    return res.ResolutionReport(0, 0, 0, 0, 0, 0, 0, [], {}, 0.0, "none", DEFAULT_THRESHOLD)


def _stored_entities(
    session: Session, loaded: _Loaded
) -> tuple[list[res.OwnerEntity], dict[str, OwnerEntity]]:
    """The stored clustering of the loaded (resolved) records as pure entities keyed
    "own:" + smallest member, and the stored row behind each key."""
    rows = {e.id: e for e in session.scalars(select(OwnerEntity))}
    members: dict[uuid.UUID, list[res.EntityMember]] = defaultdict(list)
    for rid, rec in loaded.records.items():
        if rec.entity_id is not None and rec.entity_id in rows:
            members[rec.entity_id].append(res.EntityMember(rid, rec.match_probability))
    out: list[res.OwnerEntity] = []
    row_of: dict[str, OwnerEntity] = {}
    for eid, ms in members.items():
        row = rows[eid]
        ms.sort(key=lambda m: m.record_id)
        key = res.ENTITY_PREFIX + ms[0].record_id
        kind: Any = row.kind if row.kind in _KINDS else "unknown"
        out.append(res.OwnerEntity(key, row.display_name, kind, tuple(ms)))
        row_of[key] = row
    return out, row_of


# --- resolve ------------------------------------------------------------------------------


def resolve(
    session: Session, *, threshold: float | None = None, full: bool = False
) -> dict[str, Any]:
    """Resolve the organisation's owner records into owners and store the result.

    Incremental when possible: if the last run left a trained model, no resolved record's
    names or mailing address changed since, the threshold is the same, and the new records
    (those without an owner yet) are fewer than the resolved ones, only the new records are
    linked to existing owners (``link_new``); existing owners are never re-clustered or merged
    (a new record matching two of them is reported under ``bridges``). Otherwise, or with
    ``full``, everything is re-resolved and a new model trained. Overrides apply either way.

    ``threshold`` (0-1 exclusive): match probability at or above which two names are one
    party; default the last run's, else 0.95. Returns the run report (counts, histogram of
    scored pair probabilities, seconds, method, mode, note).
    """
    started = time.perf_counter()
    if threshold is not None and not 0.0 < threshold < 1.0:
        raise ValidationFailed(
            f"threshold must be between 0 and 1 (exclusive), got {threshold}", field="threshold"
        )
    _serialise(session)
    last = _last_run(session)
    last_threshold = (
        float((last.report or {}).get("threshold", DEFAULT_THRESHOLD))
        if last
        else DEFAULT_THRESHOLD
    )
    config = res.ResolutionConfig(threshold=threshold if threshold is not None else last_threshold)
    loaded = _load(session)
    overrides = _overrides(session)
    new_ids = [rid for rid, rec in loaded.records.items() if rec.entity_id is None]
    changed = [
        rid
        for rid, rec in loaded.records.items()
        if rec.entity_id is not None
        and (rec.attributes or {}).get("resolution", {}).get("input") != _fingerprint(rec)
    ]
    resolved_count = len(loaded.records) - len(new_ids)
    reason: str | None = None
    if full:
        reason = "full re-resolution requested"
    elif last is None:
        reason = "first run"
    elif not last.model:
        reason = "the last run has no trained model to link with"
    elif config.threshold != last_threshold:
        reason = f"threshold changed from {last_threshold} to {config.threshold}"
    elif changed:
        reason = f"{len(changed)} resolved records changed since the last run"
    elif len(new_ids) > resolved_count:
        reason = "more new records than resolved ones"
    if reason is None:
        assert last is not None
        model: dict[str, Any] | None
        report, entities, parties, model = _incremental(
            loaded, new_ids, overrides, config, last.model, session
        )
    else:
        result = res.resolve_owners(loaded.frame, overrides=overrides, config=config)
        report = {**result.report.as_dict(), "mode": "full", "reason": reason, "bridges": {}}
        entities, parties, model = result.entities, result.parties, result.model
    persisted = _persist(session, loaded, entities)
    _refresh_attributes(session, loaded, persisted.key_to_row, entities, parties)
    for rec in loaded.records.values():
        stamp = {"input": _fingerprint(rec)}
        if (rec.attributes or {}).get("resolution") != stamp:
            rec.attributes = {**(rec.attributes or {}), "resolution": stamp}
    report.update(
        new_records=len(new_ids),
        changed_records=len(changed),
        entities_created=persisted.created,
        entities_removed=persisted.removed,
        property_unknown=int(loaded.frame["property_unknown"].sum()),
        duplicate_record_ids=sorted(loaded.followers)[:20],
        seconds=round(time.perf_counter() - started, 3),
    )
    run = ResolutionRun(id=uuid.uuid4(), report=_plain(report), model=model or {})
    session.add(run)
    session.flush()
    report["run_id"] = str(run.id)
    audit.record(
        session,
        "owners.resolve",
        "owner_resolution_run",
        run.id,
        {k: report[k] for k in ("mode", "method", "records", "entities", "merges", "threshold")},
    )
    return report


def _incremental(
    loaded: _Loaded,
    new_ids: list[str],
    overrides: Sequence[res.Override],
    config: res.ResolutionConfig,
    model: dict[str, Any],
    session: Session,
) -> tuple[dict[str, Any], list[res.OwnerEntity], pd.DataFrame, dict[str, Any]]:
    started = time.perf_counter()
    existing, _ = _stored_entities(session, loaded)
    new_set = set(new_ids)
    is_new = loaded.frame["record_id"].isin(new_set)
    known = res.ResolutionResult(
        entities=existing,
        assignments={m.record_id: e.entity_id for e in existing for m in e.members},
        report=_empty_report(),
        model=model,
    )
    linked = (
        res.link_new(
            known, loaded.frame[~is_new], loaded.frame[is_new], overrides=overrides, config=config
        )
        if new_ids
        else res.LinkNewResult({}, {}, [], {}, "none", _NOTHING_NEW)
    )
    groups: dict[str, list[str]] = {e.entity_id: list(e.record_ids) for e in existing}
    probability: dict[str, float] = {
        m.record_id: m.match_probability
        for e in existing
        for m in e.members
        if m.match_probability is not None
    }
    touched: set[str] = set()
    for rid, key in linked.assignments.items():
        groups.setdefault(key, []).append(rid)
        touched.add(key)
        p = linked.match_probability.get(rid)
        if p is not None:
            probability[rid] = p
    by_key = {e.entity_id: e for e in existing}
    entities = [
        _describe(loaded, members, probability) if key in touched else by_key[key]
        for key, members in groups.items()
    ]
    parties = build_party_frame(prepare_records(loaded.frame))
    joined = sum(1 for key in linked.assignments.values() if key in by_key)
    report: dict[str, Any] = {
        "records": len(loaded.records),
        "parties": len(parties),
        "entities": len(entities),
        "merges": len(loaded.records) - len(entities),
        "pairs_scored": None,
        "links_accepted": joined,
        "overrides_applied": None,
        "overrides_rejected": [],
        "probability_histogram": {},
        "seconds": round(time.perf_counter() - started, 3),
        "method": linked.method,
        "threshold": config.threshold,
        "note": linked.note,
        "mode": "incremental",
        "reason": f"{len(new_ids)} new records linked to existing owners"
        if new_ids
        else "no new records: owner summaries refreshed",
        "bridges": dict(list(linked.bridges.items())[:MAX_BRIDGES_REPORTED]),
    }
    return report, entities, parties, model


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


# --- merge and split ----------------------------------------------------------------------


def _record_by_source_id(session: Session, record_id: str, field_name: str) -> OwnerRecord:
    rid = (record_id or "").strip()
    if not rid:
        raise ValidationFailed(f"{field_name} is blank: give an owner record id", field=field_name)
    rec = session.scalars(
        select(OwnerRecord)
        .where(OwnerRecord.owner_record_id == rid)
        .order_by(OwnerRecord.created_at, OwnerRecord.id)
        .limit(1)
    ).first()
    if rec is None:
        raise NotFound(f"owner record {rid!r} not found", field=field_name)
    if rec.entity_id is None:
        raise Conflict(
            f"owner record {rid!r} has not been resolved yet: run `reos owners resolve` "
            "(POST /api/v1/owners/resolve) first",
            field=field_name,
        )
    return rec


def _members(session: Session, entity_id: uuid.UUID) -> list[OwnerRecord]:
    return list(
        session.scalars(
            select(OwnerRecord)
            .where(OwnerRecord.entity_id == entity_id)
            .order_by(OwnerRecord.owner_record_id, OwnerRecord.id)
        )
    )


def _between(kind: str, left: set[str], right: set[str]) -> Select[OwnerOverride]:
    return select(OwnerOverride).where(
        OwnerOverride.kind == kind,
        or_(
            OwnerOverride.record_a.in_(left) & OwnerOverride.record_b.in_(right),
            OwnerOverride.record_a.in_(right) & OwnerOverride.record_b.in_(left),
        ),
    )


def _redescribe(session: Session, rows: Sequence[OwnerEntity]) -> None:
    """Key, display name, kind and summary of entities after a merge or split. Related owners
    keep what the last run found (they are recomputed by every run)."""
    session.flush()
    loaded = _load(session, entity_ids=[r.id for r in rows])
    flags = _flags_of(loaded)
    for row in rows:
        members = [rid for rid, rec in loaded.records.items() if rec.entity_id == row.id]
        probability: dict[str, float] = {}
        for rid in members:
            p = loaded.records[rid].match_probability
            if p is not None:
                probability[rid] = p
        entity = _describe(loaded, members, probability)
        _set(
            row,
            entity_key=entity.entity_id,
            display_name=_display(entity.display_name),
            kind=entity.kind,
        )
        related = (row.attributes or {}).get("related", [])
        member_rows = [loaded.rows[r] for r in members]
        _set(row, attributes=_attributes(entity.kind, member_rows, flags, related))
        if len(members) == 1:
            for rec in loaded.rows_of(members[0]):
                _set(rec, match_probability=None)


def merge(session: Session, record_a: str, record_b: str) -> dict[str, Any]:
    """The two records are the same owner: store a must-link, join their owners now.

    The owner with more records keeps its id; the other is removed. Earlier splits between
    the two owners' records are withdrawn (the latest decision wins).
    """
    _serialise(session)
    a = _record_by_source_id(session, record_a, "record_a")
    b = _record_by_source_id(session, record_b, "record_b")
    if a.owner_record_id == b.owner_record_id:
        raise ValidationFailed("record_a and record_b are the same record", field="record_b")
    assert a.entity_id is not None and b.entity_id is not None
    ea, eb = (
        tenancy.get(session, OwnerEntity, a.entity_id),
        tenancy.get(session, OwnerEntity, b.entity_id),
    )
    members_a, members_b = _members(session, ea.id), _members(session, eb.id)
    ids_a = {m.owner_record_id for m in members_a}
    ids_b = {m.owner_record_id for m in members_b}
    withdrawn = list(session.scalars(_between("split", ids_a, ids_b)))
    for o in withdrawn:
        session.delete(o)
    pair = {a.owner_record_id, b.owner_record_id}
    already = next(
        (
            o
            for o in session.scalars(_between("merge", {a.owner_record_id}, {b.owner_record_id}))
            if {o.record_a, o.record_b} == pair
        ),
        None,
    )
    override = already or OwnerOverride(
        id=uuid.uuid4(),
        kind="merge",
        record_a=a.owner_record_id,
        record_b=b.owner_record_id,
        created_by=_actor(session),
    )
    if already is None:
        session.add(override)
    same = ea.id == eb.id
    keep, gone = (ea, eb) if len(members_a) >= len(members_b) else (eb, ea)
    if not same:
        for rec in members_a + members_b:
            _set(rec, entity_id=keep.id)
        for rec in (a, b):
            rec.match_probability = 1.0
        session.flush()
        session.delete(gone)
    _redescribe(session, [keep])
    audit.record(
        session,
        "owners.merge",
        "owner_entity",
        keep.id,
        {
            "record_a": a.owner_record_id,
            "record_b": b.owner_record_id,
            "removed_entity": None if same else gone.id,
            "splits_withdrawn": len(withdrawn),
        },
    )
    session.flush()
    return {
        "entity": summary(keep),
        "removed_entity_id": None if same else gone.id,
        "already_same_owner": same,
        "override_id": override.id,
        "splits_withdrawn": len(withdrawn),
    }


def split(session: Session, entity_id: uuid.UUID, record_id: str) -> dict[str, Any]:
    """The record is not this owner: cannot-link it to every other member, and move it to
    an owner of its own now. Earlier merges between it and those members are withdrawn."""
    _serialise(session)
    entity = _entity(session, entity_id)
    rec = _record_by_source_id(session, record_id, "record_id")
    if rec.entity_id != entity.id:
        raise ValidationFailed(
            f"owner record {rec.owner_record_id!r} is not a member of owner {entity.id}",
            field="record_id",
        )
    members = _members(session, entity.id)
    rid = rec.owner_record_id
    moving = [m for m in members if m.owner_record_id == rid]
    others = sorted({m.owner_record_id for m in members if m.owner_record_id != rid})
    if not others:
        raise ValidationFailed(
            f"owner record {rid!r} is the only record of owner {entity.id}; nothing to split",
            field="record_id",
        )
    withdrawn = list(session.scalars(_between("merge", {rid}, set(others))))
    for o in withdrawn:
        session.delete(o)
    existing = {
        frozenset((o.record_a, o.record_b))
        for o in session.scalars(_between("split", {rid}, set(others)))
    }
    added = 0
    for other in others:
        if frozenset((rid, other)) not in existing:
            session.add(
                OwnerOverride(
                    id=uuid.uuid4(),
                    kind="split",
                    record_a=rid,
                    record_b=other,
                    created_by=_actor(session),
                )
            )
            added += 1
    new = OwnerEntity(
        id=uuid.uuid4(),
        entity_key=res.ENTITY_PREFIX + rid,
        display_name="",
        kind="unknown",
        attributes={},
    )
    session.add(new)
    session.flush()
    for m in moving:
        m.entity_id = new.id
        m.match_probability = None
    _redescribe(session, [entity, new])
    audit.record(
        session,
        "owners.split",
        "owner_entity",
        entity.id,
        {
            "record_id": rid,
            "new_entity": new.id,
            "splits_added": added,
            "merges_withdrawn": len(withdrawn),
        },
    )
    session.flush()
    return {
        "entity": summary(entity),
        "new_entity": summary(new),
        "splits_added": added,
        "merges_withdrawn": len(withdrawn),
    }


def _actor(session: Session) -> str | None:
    from reos.accounts.principal import actor_of

    actor = actor_of(session)
    return actor.actor_id[:64] if actor and actor.actor_id else None


# --- queries ------------------------------------------------------------------------------


def _entity(session: Session, entity_id: uuid.UUID) -> OwnerEntity:
    row = tenancy.get(session, OwnerEntity, entity_id)
    if row is None:
        raise NotFound(f"owner {entity_id} not found", field="entity_id")
    return row  # type: ignore[no-any-return]


def find_owner(session: Session, ref: str) -> OwnerEntity:
    """An owner by UUID or by ``entity_key`` ("own:R0001"), for the command line."""
    text = (ref or "").strip()
    try:
        return _entity(session, uuid.UUID(text))
    except ValueError:
        pass
    row = session.scalars(select(OwnerEntity).where(OwnerEntity.entity_key == text)).first()
    if row is None:
        raise NotFound(
            f"owner {text!r} not found (give its id or its key, e.g. own:R1)", field="entity_id"
        )
    return row


def summary(row: OwnerEntity) -> dict[str, Any]:
    attrs = row.attributes or {}
    return {
        "id": row.id,
        "entity_key": row.entity_key,
        "display_name": row.display_name,
        "kind": row.kind,
        "record_count": attrs.get("record_count", 0),
        "property_count": attrs.get("property_count", 0),
        "total_estimated_value": attrs.get("total_estimated_value"),
        "flags": attrs.get("flags", {}),
        "updated_at": row.updated_at,
    }


def _flag_column(name: str) -> Any:
    return OwnerEntity.attributes[("flags", name)].as_boolean()  # type: ignore[index]


def list_owners(
    session: Session,
    *,
    q: str | None = None,
    kind: str | None = None,
    absentee: bool | None = None,
    out_of_state: bool | None = None,
    corporate: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Owners, by name; ``q`` matches (case-insensitively, anywhere) the owner's display name
    or any raw name on its records. Flags as of the last resolve run."""
    stmt = select(OwnerEntity)
    if q and q.strip():
        pattern = (
            "%" + q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        named = select(OwnerRecord.entity_id).where(
            or_(
                OwnerRecord.owner_name.ilike(pattern, escape="\\"),
                OwnerRecord.owner_name_2.ilike(pattern, escape="\\"),
            )
        )
        stmt = stmt.where(
            or_(OwnerEntity.display_name.ilike(pattern, escape="\\"), OwnerEntity.id.in_(named))
        )
    if kind:
        stmt = stmt.where(OwnerEntity.kind == kind)
    for name, wanted in (
        ("absentee", absentee),
        ("out_of_state", out_of_state),
        ("corporate", corporate),
    ):
        if wanted is not None:
            stmt = stmt.where(_flag_column(name) == wanted)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = session.scalars(
        stmt.order_by(OwnerEntity.display_name, OwnerEntity.id).limit(limit).offset(offset)
    ).all()
    return [summary(r) for r in rows], total


def _record_out(row: dict[str, Any], rec: OwnerRecord, flags: OwnerFlags) -> dict[str, Any]:
    return {
        "id": rec.id,
        "owner_record_id": rec.owner_record_id,
        "owner_name": rec.owner_name,
        "owner_name_2": rec.owner_name_2,
        "mailing_address": rec.mailing_address,
        "mailing_address_2": rec.mailing_address_2,
        "mailing_city": rec.mailing_city,
        "mailing_state": rec.mailing_state,
        "mailing_zip": rec.mailing_zip,
        "mailing_country": rec.mailing_country,
        "match_probability": rec.match_probability,
        "property_id": rec.property_id,
        "link_status": rec.link_status,
        "property_unknown": bool(row["property_unknown"]),
        "flags": _record_flags(flags),
    }


def _record_flags(flags: OwnerFlags) -> dict[str, Any]:
    return {
        "owner_occupied": flags.owner_occupied,
        "absentee": flags.absentee,
        "out_of_state": flags.out_of_state,
        "corporate": flags.corporate_owner,
        "trust": flags.trust_owner,
        "government": flags.government_owner,
        "foreign_mailing": flags.foreign_mailing,
        "po_box": flags.po_box,
        "years_owned": flags.years_owned,
    }


def _properties_out(loaded: _Loaded, flags: dict[str, OwnerFlags]) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for rid, row in loaded.rows.items():
        if not row["property_id"] or row["property_id"] in out:
            continue
        f = flags[rid]
        out[row["property_id"]] = {
            "property_id": uuid.UUID(str(row["property_id"])),
            "owner_record_id": rid,
            "address": row["property_address"],
            "city": row["property_city"],
            "state": row["property_state"],
            "zip": row["property_zip"],
            "estimated_value": row["estimated_value"],
            "valuation_date": row["valuation_date"],
            "last_sale_date": row["last_sale_date"],
            "years_owned": f.years_owned,
            "owner_occupied": f.owner_occupied,
            "absentee": f.absentee,
            "out_of_state": f.out_of_state,
        }
    return sorted(out.values(), key=lambda p: (str(p["address"] or ""), str(p["property_id"])))


def portfolio(session: Session, entity_id: uuid.UUID) -> dict[str, Any]:
    """The owner's properties with their latest valuation, count, total and locations.

    The total sums the latest stored valuation of each property that has one
    (``valued_property_count`` of ``property_count``); None when none has a valuation.
    """
    row = _entity(session, entity_id)
    loaded = _load(session, entity_ids=[row.id])
    flags = _flags_of(loaded)
    return {
        "entity_id": row.id,
        "display_name": row.display_name,
        **_portfolio_of(list(loaded.rows.values())),
        "properties": _properties_out(loaded, flags),
    }


def get_owner(session: Session, entity_id: uuid.UUID) -> dict[str, Any]:
    """One owner: its records (raw names), properties, flags, related owners and portfolio.

    Flags and portfolio are computed now from the stored records; related owners are those
    the last resolve run found (a shared mailing address, or a person named on one owner's
    records who is, or is named by, the other).
    """
    row = _entity(session, entity_id)
    loaded = _load(session, entity_ids=[row.id])
    flags = _flags_of(loaded)
    records = []
    for rid in sorted(loaded.records):
        for rec in loaded.rows_of(rid):
            records.append(_record_out(loaded.rows[rid], rec, flags[rid]))
    refs: list[tuple[uuid.UUID, str]] = []
    for ref in (row.attributes or {}).get("related", []):
        try:
            refs.append((uuid.UUID(ref["id"]), str(ref["reason"])))
        except (KeyError, ValueError, TypeError):
            continue
    ids = [i for i, _ in refs]
    found = (
        {r.id: r for r in session.scalars(select(OwnerEntity).where(OwnerEntity.id.in_(ids)))}
        if ids
        else {}
    )
    related = [
        {
            "id": i,
            "entity_key": found[i].entity_key,
            "display_name": found[i].display_name,
            "kind": found[i].kind,
            "reason": reason,
        }
        for i, reason in refs
        if i in found and i != row.id
    ]
    return {
        **summary(row),
        "record_count": len(records),
        "flags": _entity_flags(row.kind, list(flags.values())),
        "records": records,
        "properties": _properties_out(loaded, flags),
        "related": related,
        "portfolio": _portfolio_of(list(loaded.rows.values())),
    }


def top(session: Session, n: int = 20) -> list[dict[str, Any]]:
    """The ``n`` most connected owners by PageRank over the ownership graph (owners,
    properties, mailing addresses, named people; see ``reos.owners.graph``).

    Computed now, in memory, from every owner record of the organisation: fine up to a few
    hundred thousand records (seconds, about 1 KB per edge). Beyond a few million nodes
    networkx runs out of memory and time: precompute the ranks in a job, with igraph or a
    sparse-matrix PageRank, or keep the edges in SQL.
    """
    if n < 1:
        raise ValidationFailed("n must be at least 1", field="n")
    loaded = _load(session)
    entities, row_of = _stored_entities(session, loaded)
    if not entities:
        return []
    result = res.ResolutionResult(
        entities=entities,
        assignments={m.record_id: e.entity_id for e in entities for m in e.members},
        report=_empty_report(),
        parties=build_party_frame(prepare_records(loaded.frame)),
    )
    resolved = loaded.frame[loaded.frame["record_id"].isin(set(result.assignments))]
    graph = build_owner_graph(resolved, result)
    return [
        {**summary(row_of[key]), "pagerank": round(score, 8)}
        for key, score in most_connected_owners(graph, top=n)
    ]


def export_clusters(session: Session, out_path: str | Path) -> dict[str, Any]:
    """Write ``source_record_id,entity_id``: one row per owner record, ``source_record_id``
    the source's own id (``owner_record_id``), ``entity_id`` the owner's UUID (the id the API
    and ``reos owners show`` take). Every record appears exactly once, so pairwise precision
    and recall can be computed against a truth file. Refuses (409) while some records have
    not been resolved."""
    rows = session.execute(
        select(OwnerRecord.owner_record_id, OwnerRecord.entity_id).order_by(
            OwnerRecord.owner_record_id, OwnerRecord.created_at, OwnerRecord.id
        )
    ).all()
    pending = sum(1 for _, eid in rows if eid is None)
    if pending:
        raise Conflict(
            f"{pending} owner records are not resolved yet: run `reos owners resolve` first",
            pending=pending,
        )
    path = Path(out_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    written = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source_record_id", "entity_id"])
        for record_id, eid in rows:
            if record_id in seen:
                continue
            seen.add(record_id)
            writer.writerow([record_id, str(eid)])
            written += 1
    entities = len({eid for _, eid in rows})
    return {"path": str(path), "records": written, "entities": entities}
