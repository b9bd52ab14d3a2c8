"""Loading an organisation's owner records for resolution and summarising owners.

Shared by the resolution service (``owners.service``) and the read side
(``owners.queries``); see ``owners.service`` for what is stored where."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from reos.db import tenancy
from reos.errors import NotFound
from reos.models import (
    OwnerEntity,
    OwnerOverride,
    OwnerRecord,
    ResolutionRun,
)
from reos.owners import resolution as res
from reos.owners.flags import OwnerFlags, owner_flags
from reos.properties import read_model as properties_read
from reos.valuation import read_model as valuation_read

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
NOTHING_NEW = "no new owner records since the last run; use --full to re-resolve all"
ENTITY_KINDS = ("person", "organisation", "trust", "government", "unknown")


# --- loading ------------------------------------------------------------------------------


@dataclass
class LoadedRecords:
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
            self._names = res.record_displays(self.frame)
        return self._names

    def rows_of(self, rid: str) -> list[OwnerRecord]:
        return [self.records[rid], *self.followers.get(rid, [])]


def _record_key(rec: OwnerRecord) -> str:
    return (rec.owner_record_id or "").strip() or f"blank:{rec.id}"


def record_fingerprint(rec: OwnerRecord) -> str:
    data = [getattr(rec, name) or "" for name in _INPUT_FIELDS]
    return hashlib.sha1(json.dumps(data).encode(), usedforsecurity=False).hexdigest()[:16]


def id_batches(values: Iterable[Any]) -> Iterable[list[Any]]:
    batch: list[Any] = []
    for value in values:
        batch.append(value)
        if len(batch) == _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def load_records(
    session: Session,
    *,
    entity_ids: Sequence[uuid.UUID] | None = None,
) -> LoadedRecords:
    """Owner records (all of the organisation's, or those of some entities) as the resolver's
    input frame, with the linked property's address, last sale date and latest value.

    A record whose property is not linked keeps the property address its source gave
    (``property_ref["address"]``) so its flags use what is known; ``property_unknown`` says so.
    """
    stmt = select(OwnerRecord).order_by(OwnerRecord.created_at, OwnerRecord.id)
    owner_records: list[OwnerRecord] = []
    if entity_ids is None:
        owner_records = list(session.scalars(stmt))
    else:
        for batch in id_batches(entity_ids):
            owner_records.extend(session.scalars(stmt.where(OwnerRecord.entity_id.in_(batch))))
    property_ids = {r.property_id for r in owner_records if r.property_id is not None}
    scope = None if entity_ids is None else property_ids
    values = valuation_read.latest_values(session, scope) if property_ids else {}
    sales = properties_read.last_sale_dates(session, scope) if property_ids else {}
    sites = properties_read.site_addresses(session, property_ids) if property_ids else {}
    unknown_site: tuple[None, None, None, None] = (None, None, None, None)
    rows: list[Any] = [
        (rec, *(sites.get(rec.property_id, unknown_site) if rec.property_id else unknown_site))
        for rec in owner_records
    ]
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
    return LoadedRecords(
        pd.DataFrame(data, columns=columns),
        records,
        {str(row["record_id"]): row for row in data},
        dict(followers),
    )


def serialise_resolution(session: Session) -> None:
    """One resolution change at a time per organisation: on PostgreSQL a transaction-scoped
    advisory lock (SQLite already allows one writer at a time)."""
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(tenancy.current_org(session).bytes[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def stored_overrides(session: Session) -> list[res.Override]:
    rows = session.scalars(select(OwnerOverride).order_by(OwnerOverride.created_at)).all()
    return [
        res.must_link(o.record_a, o.record_b)
        if o.kind == "merge"
        else res.cannot_link(o.record_a, o.record_b)
        for o in rows
    ]


def last_run(session: Session) -> ResolutionRun | None:
    return session.scalars(
        select(ResolutionRun).order_by(ResolutionRun.created_at.desc(), ResolutionRun.id).limit(1)
    ).first()


# --- entity summaries ---------------------------------------------------------------------


def _any(values: Iterable[bool | None]) -> bool | None:
    """True if any is True, False if all known ones are False, None if none is known."""
    known = [v for v in values if v is not None]
    return None if not known else any(known)


def flags_of(loaded: LoadedRecords, as_of: date | None = None) -> dict[str, OwnerFlags]:
    return {rid: owner_flags(row, as_of=as_of) for rid, row in loaded.rows.items()}


def entity_flags(kind: str, flags: Sequence[OwnerFlags]) -> dict[str, Any]:
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


def portfolio_of(members: Sequence[dict[str, Any]]) -> dict[str, Any]:
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


def entity_attributes(
    kind: str,
    members: Sequence[dict[str, Any]],
    flags: dict[str, OwnerFlags],
    related: list[dict[str, str]],
) -> dict[str, Any]:
    record_flags = [flags[str(r["record_id"])] for r in members]
    portfolio = portfolio_of(members)
    return {
        "record_count": len(members),
        **portfolio,
        "cities": portfolio["cities"][:20],
        "zips": portfolio["zips"][:20],
        "absentee_record_count": sum(1 for f in record_flags if f.absentee),
        "flags": entity_flags(kind, record_flags),
        "related": related,
    }


def fit_display_name(name: str) -> str:
    name = name.strip() or "(no owner name)"
    return name if len(name) <= _DISPLAY_MAX else name[: _DISPLAY_MAX - 1] + "…"


def describe_group(
    loaded: LoadedRecords, members: Sequence[str], probability: dict[str, float]
) -> res.ResolvedOwner:
    """Display name, kind and key of a group of records, as the resolver would give them."""
    display, kinds = loaded.names()
    return res.entity_from(list(members), probability, display, kinds)


def entity_or_404(session: Session, entity_id: uuid.UUID) -> OwnerEntity:
    row = tenancy.get(session, OwnerEntity, entity_id)
    if row is None:
        raise NotFound(f"owner {entity_id} not found", field="entity_id")
    return row  # type: ignore[no-any-return]


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
