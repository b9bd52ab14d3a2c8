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

import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Select, delete, or_, select
from sqlalchemy.orm import Session

from reos.accounts.service import record_audit
from reos.db import tenancy
from reos.errors import Conflict, NotFound, ValidationFailed
from reos.kernel.jsonable import jsonable
from reos.models import (
    OwnerEntity,
    OwnerOverride,
    OwnerRecord,
    ResolutionRun,
)
from reos.owners import resolution as res
from reos.owners.graph import build_owner_graph, related_entities
from reos.owners.parties import build_party_frame, prepare_records
from reos.owners.records import (
    DEFAULT_THRESHOLD,
    ENTITY_KINDS,
    MAX_BRIDGES_REPORTED,
    MAX_RELATED,
    NOTHING_NEW,
    LoadedRecords,
    describe_group,
    entity_attributes,
    entity_or_404,
    fit_display_name,
    flags_of,
    id_batches,
    last_run,
    load_records,
    record_fingerprint,
    serialise_resolution,
    stored_overrides,
    summary,
)

# --- persisting a clustering ----------------------------------------------------------------


@dataclass
class _Persisted:
    created: int
    removed: int
    key_to_row: dict[str, OwnerEntity]


def _persist(
    session: Session, loaded: LoadedRecords, entities: Sequence[res.ResolvedOwner]
) -> _Persisted:
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
                display_name=fit_display_name(entity.display_name),
                kind=entity.kind,
                attributes={},
            )
            session.add(row)
            created += 1
        _set(
            row,
            entity_key=entity.entity_id,
            display_name=fit_display_name(entity.display_name),
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
    for batch in id_batches(empty):
        session.execute(
            delete(OwnerEntity).where(OwnerEntity.id.in_(batch)),
            execution_options={"synchronize_session": "fetch"},
        )
    return len(empty)


def _refresh_attributes(
    session: Session,
    loaded: LoadedRecords,
    key_to_row: dict[str, OwnerEntity],
    entities: Sequence[res.ResolvedOwner],
    parties: pd.DataFrame | None,
) -> None:
    """Summary attributes of every entity, related owners from the ownership graph."""
    flags = flags_of(loaded)
    related: dict[str, list[dict[str, str]]] = defaultdict(list)
    if parties is not None:
        result = res.ResolutionResult(
            entities=list(entities),
            assignments={m.record_id: e.entity_id for e in entities for m in e.members},
            report=empty_report(),
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
            attributes=entity_attributes(
                entity.kind, members, flags, related.get(entity.entity_id, [])
            ),
        )


def empty_report() -> res.ResolutionReport:
    return res.ResolutionReport(0, 0, 0, 0, 0, 0, 0, [], {}, 0.0, "none", DEFAULT_THRESHOLD)


def stored_entities(
    session: Session, loaded: LoadedRecords
) -> tuple[list[res.ResolvedOwner], dict[str, OwnerEntity]]:
    """The stored clustering of the loaded (resolved) records as pure entities keyed
    "own:" + smallest member, and the stored row behind each key."""
    rows = {e.id: e for e in session.scalars(select(OwnerEntity))}
    members: dict[uuid.UUID, list[res.EntityMember]] = defaultdict(list)
    for rid, rec in loaded.records.items():
        if rec.entity_id is not None and rec.entity_id in rows:
            members[rec.entity_id].append(res.EntityMember(rid, rec.match_probability))
    out: list[res.ResolvedOwner] = []
    row_of: dict[str, OwnerEntity] = {}
    for eid, ms in members.items():
        row = rows[eid]
        ms.sort(key=lambda m: m.record_id)
        key = res.ENTITY_PREFIX + ms[0].record_id
        kind: Any = row.kind if row.kind in ENTITY_KINDS else "unknown"
        out.append(res.ResolvedOwner(key, row.display_name, kind, tuple(ms)))
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
    serialise_resolution(session)
    last = last_run(session)
    last_threshold = (
        float((last.report or {}).get("threshold", DEFAULT_THRESHOLD))
        if last
        else DEFAULT_THRESHOLD
    )
    config = res.ResolutionConfig(threshold=threshold if threshold is not None else last_threshold)
    loaded = load_records(session)
    overrides = stored_overrides(session)
    new_ids = [rid for rid, rec in loaded.records.items() if rec.entity_id is None]
    changed = [
        rid
        for rid, rec in loaded.records.items()
        if rec.entity_id is not None
        and (rec.attributes or {}).get("resolution", {}).get("input") != record_fingerprint(rec)
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
        stamp = {"input": record_fingerprint(rec)}
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
    run = ResolutionRun(id=uuid.uuid4(), report=jsonable(report), model=model or {})
    session.add(run)
    session.flush()
    report["run_id"] = str(run.id)
    record_audit(
        session,
        "owners.resolve",
        "owner_resolution_run",
        run.id,
        {k: report[k] for k in ("mode", "method", "records", "entities", "merges", "threshold")},
    )
    return report


def _incremental(
    loaded: LoadedRecords,
    new_ids: list[str],
    overrides: Sequence[res.Override],
    config: res.ResolutionConfig,
    model: dict[str, Any],
    session: Session,
) -> tuple[dict[str, Any], list[res.ResolvedOwner], pd.DataFrame, dict[str, Any]]:
    started = time.perf_counter()
    existing, _ = stored_entities(session, loaded)
    new_set = set(new_ids)
    is_new = loaded.frame["record_id"].isin(new_set)
    known = res.ResolutionResult(
        entities=existing,
        assignments={m.record_id: e.entity_id for e in existing for m in e.members},
        report=empty_report(),
        model=model,
    )
    linked = (
        res.link_new(
            known, loaded.frame[~is_new], loaded.frame[is_new], overrides=overrides, config=config
        )
        if new_ids
        else res.LinkNewResult({}, {}, [], {}, "none", NOTHING_NEW)
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
        describe_group(loaded, members, probability) if key in touched else by_key[key]
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
    loaded = load_records(session, entity_ids=[r.id for r in rows])
    flags = flags_of(loaded)
    for row in rows:
        members = [rid for rid, rec in loaded.records.items() if rec.entity_id == row.id]
        probability: dict[str, float] = {}
        for rid in members:
            p = loaded.records[rid].match_probability
            if p is not None:
                probability[rid] = p
        entity = describe_group(loaded, members, probability)
        _set(
            row,
            entity_key=entity.entity_id,
            display_name=fit_display_name(entity.display_name),
            kind=entity.kind,
        )
        related = (row.attributes or {}).get("related", [])
        member_rows = [loaded.rows[r] for r in members]
        _set(row, attributes=entity_attributes(entity.kind, member_rows, flags, related))
        if len(members) == 1:
            for rec in loaded.rows_of(members[0]):
                _set(rec, match_probability=None)


def merge(session: Session, record_a: str, record_b: str) -> dict[str, Any]:
    """The two records are the same owner: store a must-link, join their owners now.

    The owner with more records keeps its id; the other is removed. Earlier splits between
    the two owners' records are withdrawn (the latest decision wins).
    """
    serialise_resolution(session)
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
    record_audit(
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
    serialise_resolution(session)
    entity = entity_or_404(session, entity_id)
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
    record_audit(
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
    from reos.kernel.principal import actor_of

    actor = actor_of(session)
    return actor.actor_id[:64] if actor and actor.actor_id else None
