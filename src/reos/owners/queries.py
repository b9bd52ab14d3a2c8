"""Reading resolved owners: lists, detail, portfolios, the most connected owners and the
cluster export. Computed from the stored clustering (see ``owners.service``)."""

from __future__ import annotations

import csv
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from reos.errors import Conflict, NotFound, ValidationFailed
from reos.models import (
    OwnerEntity,
    OwnerRecord,
)
from reos.owners import resolution as res
from reos.owners.flags import OwnerFlags
from reos.owners.graph import build_owner_graph, most_connected_owners
from reos.owners.parties import build_party_frame, prepare_records
from reos.owners.records import (
    LoadedRecords,
    entity_flags,
    entity_or_404,
    flags_of,
    load_records,
    portfolio_of,
    summary,
)
from reos.owners.service import (
    empty_report,
    stored_entities,
)

# --- queries ------------------------------------------------------------------------------


def find_owner(session: Session, ref: str) -> OwnerEntity:
    """An owner by UUID or by ``entity_key`` ("own:R0001"), for the command line."""
    text = (ref or "").strip()
    try:
        return entity_or_404(session, uuid.UUID(text))
    except ValueError:
        pass
    row = session.scalars(select(OwnerEntity).where(OwnerEntity.entity_key == text)).first()
    if row is None:
        raise NotFound(
            f"owner {text!r} not found (give its id or its key, e.g. own:R1)", field="entity_id"
        )
    return row


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
    min_properties: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Owners, by name; ``q`` matches (case-insensitively, anywhere) the owner's display name
    or any raw name on its records; ``min_properties`` keeps owners with at least that many
    properties. Flags and portfolio sizes as of the last resolve run."""
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
    if min_properties is not None and min_properties > 0:
        count = OwnerEntity.attributes["property_count"].as_integer()  # type: ignore[index]
        stmt = stmt.where(count >= min_properties)
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


def _properties_out(loaded: LoadedRecords, flags: dict[str, OwnerFlags]) -> list[dict[str, Any]]:
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
    row = entity_or_404(session, entity_id)
    loaded = load_records(session, entity_ids=[row.id])
    flags = flags_of(loaded)
    return {
        "entity_id": row.id,
        "display_name": row.display_name,
        **portfolio_of(list(loaded.rows.values())),
        "properties": _properties_out(loaded, flags),
    }


def get_owner(session: Session, entity_id: uuid.UUID) -> dict[str, Any]:
    """One owner: its records (raw names), properties, flags, related owners and portfolio.

    Flags and portfolio are computed now from the stored records; related owners are those
    the last resolve run found (a shared mailing address, or a person named on one owner's
    records who is, or is named by, the other).
    """
    row = entity_or_404(session, entity_id)
    loaded = load_records(session, entity_ids=[row.id])
    flags = flags_of(loaded)
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
        "flags": entity_flags(row.kind, list(flags.values())),
        "records": records,
        "properties": _properties_out(loaded, flags),
        "related": related,
        "portfolio": portfolio_of(list(loaded.rows.values())),
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
    loaded = load_records(session)
    entities, row_of = stored_entities(session, loaded)
    if not entities:
        return []
    result = res.ResolutionResult(
        entities=entities,
        assignments={m.record_id: e.entity_id for e in entities for m in e.members},
        report=empty_report(),
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


def newest_record_change(session: Session) -> datetime | None:
    """The latest ``updated_at`` of the organisation's owner records (None: none yet)."""
    return session.scalar(select(func.max(OwnerRecord.updated_at)))


def property_ids_with_records_changed_since(
    session: Session, after: datetime | None
) -> set[uuid.UUID]:
    """Ids of the properties whose owner records were added or changed after ``after``
    (None: every property with an owner record)."""
    stmt = select(OwnerRecord.property_id).where(OwnerRecord.property_id.is_not(None)).distinct()
    if after is not None:
        stmt = stmt.where(OwnerRecord.updated_at > after)
    return {pid for pid in session.scalars(stmt) if pid is not None}
