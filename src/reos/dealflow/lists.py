"""Lists: imported from files, derived from the store, and the stack of each property.

An imported list's rows are matched to stored properties by the parcel key
(:func:`reos.kernel.parcels.parcel_key`: case, spaces, dashes and dots do not matter),
else by the normalised address key (:func:`reos.kernel.addresses.normalize_address`).
Every row is kept as a membership: ``matched``, ``unmatched`` with its reason, or
``duplicate`` (a second row for a property already on the list), so the report balances:
rows read = matched + unmatched + duplicate. A file that matches nothing is refused and
writes nothing. An unmatched row keeps its parcel and address parts, so a list loaded
before its properties gains them when they arrive (:func:`rematch_unmatched`, run by every
pipeline run and on demand).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from reos.accounts.service import record_audit
from reos.db import tenancy
from reos.dealflow.listfile import ListFile, ListRow, read_list
from reos.errors import NotFound, ValidationFailed
from reos.kernel.addresses import normalize_address
from reos.kernel.parcels import parcel_key
from reos.models import ListMembership, PropertyList
from reos.owners import read_model as owners_read
from reos.properties import read_model as properties_read
from reos.valuation import read_model as valuation_read

LIST_KINDS: tuple[str, ...] = (
    "tax_delinquent",
    "pre_foreclosure",
    "probate",
    "code_violation",
    "vacant",
    "expired_listing",
    "absentee",
    "high_equity",
    "free_and_clear",
    "tired_landlord",
    "custom",
)
#: Property attribute names that carry the open mortgage balance (dollars); the equity
#: lists exist only when some property has one.
MORTGAGE_NAMES = ("mortgage_balance", "loan_balance", "open_mortgage_balance")
#: A quoted value in a reason, replaced by an ellipsis when reasons are counted.
QUOTED = re.compile(r"'[^']*'")
#: Membership rows written per INSERT.
INSERT_BATCH = 2_000


@dataclass(frozen=True)
class DerivedRule:
    """A saved query that makes a list: its rule name, kind, name and parameters."""

    rule: str
    kind: str
    name: str
    params: dict[str, Any]


DERIVED_RULES: tuple[DerivedRule, ...] = (
    DerivedRule("absentee", "absentee", "Absentee owners (mail elsewhere)", {}),
    DerivedRule("out_of_state", "absentee", "Out-of-state owners", {}),
    DerivedRule("years_owned", "custom", "Owned 15 years or more", {"min_years": 15}),
    DerivedRule(
        "tired_landlord", "tired_landlord", "Tired landlords (absentee, 10+ years)",
        {"min_years": 10},
    ),
    DerivedRule("high_equity", "high_equity", "High equity (50%+)", {"min_equity_pct": 50}),
    DerivedRule("free_and_clear", "free_and_clear", "Free and clear (no mortgage)", {}),
    DerivedRule(
        "corporate_portfolio", "custom", "Corporate owners with 5+ properties",
        {"min_properties": 5},
    ),
)  # fmt: skip
EQUITY_RULES = frozenset({"high_equity", "free_and_clear"})


@dataclass(frozen=True)
class ListImportReport:
    """What an import did: rows read = matched (by parcel + by address) + unmatched +
    duplicate. ``unmatched_reasons`` counts the reasons; the rows are in the list's
    memberships with their reason."""

    list_id: uuid.UUID
    name: str
    kind: str
    filename: str
    rows_read: int
    matched: int
    matched_by_parcel: int
    matched_by_address: int
    unmatched: int
    duplicate: int
    unmatched_reasons: dict[str, int]
    columns: dict[str, str]
    #: the file's import (``reos import report``): its unmatched rows are quarantined there
    import_id: uuid.UUID | None = None
    #: rows whose date cell was not a date: listed on the list's date instead
    bad_dates: int = 0

    @property
    def balanced(self) -> bool:
        return self.rows_read == self.matched + self.unmatched + self.duplicate

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "list_id": str(self.list_id),
            "import_id": str(self.import_id) if self.import_id else None,
            "balanced": self.balanced,
        }

    def lines(self) -> list[str]:
        """The report as a person reads it."""
        out = [
            f"list {self.list_id}  {self.kind}  {self.name}  ({self.filename})",
            f"rows read {self.rows_read:,} = matched {self.matched:,} "
            f"(parcel {self.matched_by_parcel:,}, address {self.matched_by_address:,}) "
            f"+ unmatched {self.unmatched:,} + duplicate {self.duplicate:,}"
            + ("" if self.balanced else "   (NOT BALANCED)"),
        ]
        for reason, count in sorted(self.unmatched_reasons.items(), key=lambda t: -t[1]):
            out.append(f"unmatched x{count:,}: {reason}")
        if self.bad_dates:
            out.append(
                f"{self.bad_dates:,} rows have a date that is not a date (YYYY-MM-DD or "
                f"MM/DD/YYYY): listed on the list's date instead"
            )
        if self.unmatched or self.duplicate:
            out.append(f"see them: reos lists members {self.list_id} --status all")
        if self.unmatched and self.import_id:
            out.append(
                f"quarantined as import {self.import_id}: reos quarantine list --import "
                f"{self.import_id}; matched again when their properties arrive "
                f"(reos lists rematch {self.list_id}, every pipeline run)"
            )
        return out


def check_kind(kind: str) -> str:
    if kind not in LIST_KINDS:
        raise ValidationFailed(
            f"unknown list kind {kind!r}; use one of {', '.join(LIST_KINDS)}", field="kind"
        )
    return kind


def address_key(row: ListRow) -> str | None:
    if not row.address:
        return None
    return normalize_address(row.address, city=row.city, state=row.state, zip=row.zip).key


def match_rows(
    session: Session, rows: Sequence[ListRow]
) -> list[tuple[ListRow, uuid.UUID | None, str, str | None]]:
    """Each row with ``(property id, status, matched_by or reason)``: status ``matched``
    (by ``parcel`` or ``address``), ``unmatched`` or ``duplicate``. Lookups are set-based:
    one parcel-key query and one address-key query per batch of keys."""
    parcels = {row.row_number: parcel_key(row.parcel) for row in rows}
    addresses = {row.row_number: address_key(row) for row in rows}
    by_parcel = properties_read.property_ids_by_parcel_key(
        session, [k for k in parcels.values() if k]
    )
    by_address = properties_read.property_ids_by(
        session, "address_key", [a for a in addresses.values() if a]
    )
    first_row: dict[uuid.UUID, int] = {}
    out: list[tuple[ListRow, uuid.UUID | None, str, str | None]] = []
    for row in rows:
        pkey, akey = parcels[row.row_number], addresses[row.row_number]
        found: uuid.UUID | None = None
        how: str | None = None
        reasons: list[str] = []
        if pkey:
            ids = by_parcel.get(pkey, [])
            if len(ids) == 1:
                found, how = ids[0], "parcel"
            elif ids:
                reasons.append(f"parcel {row.parcel!r} matches {len(ids)} properties")
            else:
                reasons.append(f"no property with parcel {row.parcel!r}")
        if found is None and akey:
            ids = by_address.get(akey, [])
            if len(ids) == 1:
                found, how = ids[0], "address"
            elif ids:
                reasons.append(f"address {row.address!r} matches {len(ids)} properties")
            else:
                reasons.append(f"no property at {row.address!r}")
        elif found is None and row.address:
            reasons.append(f"address {row.address!r} could not be normalised")
        if found is None:
            reason = "; ".join(reasons) or "the row has neither a parcel number nor an address"
            out.append((row, None, "unmatched", reason))
        elif found in first_row:
            out.append((row, None, "duplicate", f"same property as row {first_row[found]}"))
        else:
            first_row[found] = row.row_number
            out.append((row, found, "matched", how))
    return out


def import_list(
    session: Session,
    path: Path,
    kind: str,
    *,
    name: str | None = None,
    source: str | None = None,
    list_date: date | None = None,
    created_by: str | None = None,
) -> ListImportReport:
    """Import a list file as a new list of ``kind``. Refused (nothing written) when no row
    matches a stored property; the error carries the counts and the first reasons."""
    check_kind(kind)
    parsed = read_list(path)
    if not parsed.rows:
        raise ValidationFailed(f"{path.name}: the file has a header and no rows", field="file")
    matches = match_rows(session, parsed.rows)
    counts = {"matched": 0, "unmatched": 0, "duplicate": 0, "parcel": 0, "address": 0}
    reasons: dict[str, int] = {}
    for _row, _pid, status, why in matches:
        counts[status] += 1
        if status == "matched" and why:
            counts[why] += 1
        elif status == "unmatched" and why:
            general = QUOTED.sub("'…'", why)
            reasons[general] = reasons.get(general, 0) + 1
    if counts["matched"] == 0:
        first = [f"row {r.row_number}: {why}" for r, _p, s, why in matches if s != "matched"][:5]
        raise ValidationFailed(
            f"{path.name}: none of its {len(parsed.rows):,} rows matched a stored property "
            f"by parcel number or address, so no list was made; import the properties first "
            f"or check the parcel and address columns. First rows: {'; '.join(first)}",
            field="file",
            rows_read=len(parsed.rows),
            unmatched=counts["unmatched"],
            reasons=reasons,
        )
    day = list_date or datetime.now(UTC).date()
    plist = PropertyList(
        name=name or f"{kind} {path.stem}",
        kind=kind,
        source=source,
        list_date=day,
        derived=False,
        filename=path.name,
        member_count=counts["matched"],
        created_by=created_by,
    )
    session.add(plist)
    session.flush()
    now = datetime.now(UTC)
    rows = [
        {
            "id": uuid.uuid4(),
            "list_id": plist.id,
            "property_id": pid,
            "status": status,
            "matched_by": why if status == "matched" else None,
            "reason": None if status == "matched" else why,
            "row_number": row.row_number,
            "listed_on": row.listed_on or day,
            "attributes": {
                **row.attributes,
                **({"parcel": row.parcel} if status != "matched" and row.parcel else {}),
                **({"address": row.address} if status != "matched" and row.address else {}),
                **(
                    {
                        k: v
                        for k, v in (("city", row.city), ("state", row.state), ("zip", row.zip))
                        if v
                    }
                    if status == "unmatched"
                    else {}
                ),  # fmt: skip
            },
            "created_at": now,
            "updated_at": now,
        }
        for row, pid, status, why in matches
    ]
    insert_memberships(session, rows)
    run_id = _record_import(session, path, plist, parsed, matches, counts, created_by)
    report = ListImportReport(
        plist.id,
        plist.name,
        kind,
        path.name,
        len(parsed.rows),
        counts["matched"],
        counts["parcel"],
        counts["address"],
        counts["unmatched"],
        counts["duplicate"],
        reasons,
        parsed.columns,
        run_id,
        len(parsed.bad_dates),
    )
    plist.report = report.to_dict()
    session.flush()
    record_audit(
        session, "import", "property_list", plist.id,
        {"kind": kind, "file": path.name, "rows": len(parsed.rows), "matched": counts["matched"]},
    )  # fmt: skip
    return report


def _record_import(
    session: Session,
    path: Path,
    plist: PropertyList,
    parsed: ListFile,
    matches: list[tuple[ListRow, uuid.UUID | None, str, str | None]],
    counts: dict[str, int],
    created_by: str | None,
) -> uuid.UUID:
    """The file as an import of its own (ingest's record): balanced counts, and every
    unmatched row quarantined with its cells and reason, beside every other import's."""
    from reos.ingest import service as ingest_service

    column = parsed.columns.get("parcel") or parsed.columns.get("address")
    unmatched = [
        ingest_service.UnmatchedRow(
            row.row_number, dict(row.cells), why or "matched no property", column,
            row.parcel or row.address,
        )
        for row, _pid, status, why in matches
        if status == "unmatched"
    ]  # fmt: skip
    warnings = (
        [
            {
                "message": "date cells that are not a date (listed on the list's date instead)",
                "count": len(parsed.bad_dates),
                "first_row": parsed.bad_dates[0],
                "kind": "bad_date",
            }
        ]
        if parsed.bad_dates
        else []
    )
    run = ingest_service.record_list_import(
        session, path, list_id=plist.id, list_name=plist.name, headers=parsed.header,
        rows_read=len(parsed.rows), matched=counts["matched"], duplicate=counts["duplicate"],
        unmatched=unmatched, warnings=warnings, source_name=plist.source,
        created_by=created_by,
    )  # fmt: skip
    return run.id


def add_to_list(
    session: Session,
    name: str,
    property_ids: Sequence[uuid.UUID],
    *,
    created_by: str | None = None,
) -> tuple[PropertyList, int]:
    """Put properties on a list by hand (the dashboard's "add to list" on ticked deals):
    the organisation's list of that name (case aside), imported or hand-made, or a new
    ``custom`` list. A property already on it stays as it was; the others join today,
    ``matched_by`` ``hand``. A derived list is refused: its rule rebuilds it. Returns the
    list and how many properties joined."""
    clean = " ".join((name or "").split())
    if not clean:
        raise ValidationFailed("name the list", field="name")
    if len(clean) > 200:
        raise ValidationFailed("a list's name has at most 200 characters", field="name")
    wanted = list(dict.fromkeys(property_ids))
    known = properties_read.existing_ids(session, wanted)
    missing = [p for p in wanted if p not in known]
    if missing:
        raise NotFound(f"no property {missing[0]}")
    plist = session.scalars(
        select(PropertyList)
        .where(func.lower(PropertyList.name) == clean.lower())
        .order_by(PropertyList.created_at)
    ).first()
    if plist is not None and plist.derived:
        raise ValidationFailed(
            f"{plist.name!r} is derived from the store and rebuilt by its rule; name another list",
            field="name",
        )
    today = datetime.now(UTC).date()
    if plist is None:
        plist = PropertyList(
            name=clean, kind="custom", source="added by hand", list_date=today, derived=False,
            member_count=0, created_by=created_by,
        )  # fmt: skip
        session.add(plist)
        session.flush()
    on_list = set(
        session.scalars(
            select(ListMembership.property_id).where(
                ListMembership.list_id == plist.id, ListMembership.property_id.is_not(None)
            )
        )
    )
    joining = [p for p in wanted if p not in on_list]
    now = datetime.now(UTC)
    insert_memberships(
        session,
        [
            {
                "id": uuid.uuid4(),
                "list_id": plist.id,
                "property_id": pid,
                "status": "matched",
                "matched_by": "hand",
                "listed_on": today,
                "attributes": {},
                "created_at": now,
                "updated_at": now,
            }  # fmt: skip
            for pid in joining
        ],
    )
    plist.member_count = (plist.member_count or 0) + len(joining)
    session.flush()
    record_audit(
        session, "add", "property_list", plist.id,
        {"added": len(joining), "already_on": len(wanted) - len(joining)},
    )  # fmt: skip
    return plist, len(joining)


#: The parts of a list row kept on an unmatched membership (beside the list's own
#: columns) so that it can be matched again.
ROW_PARTS = ("parcel", "address", "city", "state", "zip")


def rematch_unmatched(session: Session, list_id: uuid.UUID | None = None) -> dict[str, int]:
    """Match again the unmatched rows of the imported lists (one list, or every one): a
    list loaded before its properties were imported gains them when they arrive. A row
    that now finds its property becomes ``matched`` (or ``duplicate`` when that property is
    already on the list); one that still finds none keeps its status with today's reason.
    Each list's count and report follow, so the report still balances. Returns
    ``{"rows": looked at, "matched": newly matched, "duplicate": newly duplicate}``.

    The matched rows' ``updated_at`` moves, so the next pipeline run scores their
    properties (``list_memberships`` is one of its sources)."""
    stmt = select(ListMembership).where(ListMembership.status == "unmatched")
    if list_id is not None:
        get_list(session, list_id)  # 404 across organisations
        stmt = stmt.where(ListMembership.list_id == list_id)
    waiting = list(
        session.scalars(stmt.order_by(ListMembership.list_id, ListMembership.row_number))
    )
    totals = {"rows": len(waiting), "matched": 0, "duplicate": 0}
    if not waiting:
        return totals
    by_list: dict[uuid.UUID, list[ListMembership]] = {}
    for m in waiting:
        by_list.setdefault(m.list_id, []).append(m)
    for lid, rows in by_list.items():
        plist = get_list(session, lid)
        if plist.derived:
            continue
        on_list = {
            pid: number
            for pid, number in session.execute(
                select(ListMembership.property_id, ListMembership.row_number).where(
                    ListMembership.list_id == lid, ListMembership.status == "matched"
                )
            )
        }
        parsed = [
            ListRow(
                row_number=m.row_number or 0,
                parcel=_text(m.attributes.get("parcel")),
                address=_text(m.attributes.get("address")),
                city=_text(m.attributes.get("city")),
                state=_text(m.attributes.get("state")),
                zip=_text(m.attributes.get("zip")),
                listed_on=m.listed_on,
                attributes={},
            )
            for m in rows
        ]
        gained = {"matched": 0, "duplicate": 0, "parcel": 0, "address": 0}
        settled: list[int] = []
        for m, (_row, pid, status, why) in zip(rows, match_rows(session, parsed), strict=True):
            if status == "matched" and pid is not None and pid in on_list:
                status, why = "duplicate", f"same property as row {on_list[pid]}"
                pid = None
            if status == "matched" and pid is not None:
                on_list[pid] = m.row_number or 0
                m.status, m.property_id, m.matched_by, m.reason = "matched", pid, why, None
                m.attributes = {k: v for k, v in m.attributes.items() if k not in ROW_PARTS}
                gained["matched"] += 1
                gained[why or "parcel"] += 1
                settled.append(m.row_number or 0)
            elif status == "duplicate":
                m.status, m.reason = "duplicate", why
                gained["duplicate"] += 1
                settled.append(m.row_number or 0)
            elif m.reason != why:
                m.reason = why
        if not (gained["matched"] or gained["duplicate"]):
            continue
        session.flush()
        _recount(session, plist, gained)
        _settle_quarantine(session, plist, settled)
        totals["matched"] += gained["matched"]
        totals["duplicate"] += gained["duplicate"]
        record_audit(
            session, "rematch", "property_list", plist.id,
            {"matched": gained["matched"], "duplicate": gained["duplicate"]},
        )  # fmt: skip
    session.flush()
    return totals


def _settle_quarantine(session: Session, plist: PropertyList, rows: list[int]) -> None:
    """Rows matched at last are resolved in the file's import quarantine too."""
    import_id = (plist.report or {}).get("import_id")
    if not import_id or not rows:
        return
    from reos.ingest import service as ingest_service

    ingest_service.resolve_quarantined(session, uuid.UUID(str(import_id)), rows)


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _recount(session: Session, plist: PropertyList, gained: dict[str, int]) -> None:
    """The list's member count and stored report after a rematch: matched and duplicate
    rows up, unmatched down by as many, and the unmatched reasons counted afresh."""
    plist.member_count = (plist.member_count or 0) + gained["matched"]
    report = dict(plist.report or {})
    if not report:
        return
    moved = gained["matched"] + gained["duplicate"]
    report["matched"] = int(report.get("matched", 0)) + gained["matched"]
    report["matched_by_parcel"] = int(report.get("matched_by_parcel", 0)) + gained["parcel"]
    report["matched_by_address"] = int(report.get("matched_by_address", 0)) + gained["address"]
    report["duplicate"] = int(report.get("duplicate", 0)) + gained["duplicate"]
    report["unmatched"] = int(report.get("unmatched", 0)) - moved
    reasons: dict[str, int] = {}
    for why in session.scalars(
        select(ListMembership.reason).where(
            ListMembership.list_id == plist.id, ListMembership.status == "unmatched"
        )
    ):
        general = QUOTED.sub("'…'", why or "")
        reasons[general] = reasons.get(general, 0) + 1
    report["unmatched_reasons"] = reasons
    report["balanced"] = int(report.get("rows_read", 0)) == (
        report["matched"] + report["unmatched"] + report["duplicate"]
    )
    plist.report = report


def insert_memberships(session: Session, rows: list[dict[str, Any]]) -> None:
    """Bulk insert of membership rows (stamped with the organisation)."""
    table = ListMembership.__table__
    for start in range(0, len(rows), INSERT_BATCH):
        batch = tenancy.stamp(session, rows[start : start + INSERT_BATCH])
        session.execute(insert(table), batch)  # type: ignore[arg-type]


# --- reading lists ------------------------------------------------------------------------


def get_list(session: Session, list_id: uuid.UUID) -> PropertyList:
    found = session.get(PropertyList, list_id)
    if found is None or found.org_id != tenancy.current_org(session):
        raise NotFound(f"list {list_id} not found", field="list_id")
    return found


def list_lists(session: Session, kind: str | None = None) -> Sequence[PropertyList]:
    stmt = select(PropertyList).order_by(PropertyList.created_at.desc(), PropertyList.id)
    if kind:
        stmt = stmt.where(PropertyList.kind == check_kind(kind))
    return session.scalars(stmt).all()


def members(
    session: Session,
    list_id: uuid.UUID,
    *,
    status: str | None = "matched",
    limit: int = 100,
    offset: int = 0,
) -> tuple[Sequence[ListMembership], int]:
    """A list's rows (matched ones by default; ``unmatched``, ``duplicate`` or None for
    all), in file order, and how many there are."""
    get_list(session, list_id)
    stmt = select(ListMembership).where(ListMembership.list_id == list_id)
    if status:
        if status not in ("matched", "unmatched", "duplicate"):
            raise ValidationFailed(
                f"unknown status {status!r}; use matched, unmatched or duplicate", field="status"
            )
        stmt = stmt.where(ListMembership.status == status)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    page = session.scalars(
        stmt.order_by(ListMembership.row_number, ListMembership.created_at, ListMembership.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return page, total


# --- derived lists ------------------------------------------------------------------------


def derived_members(session: Session, rule: DerivedRule, today: date) -> set[uuid.UUID] | None:
    """The properties a derived rule selects today; None when the store lacks the fields
    the rule needs (the equity rules without mortgage balances)."""
    if rule.rule in EQUITY_RULES:
        facts = properties_read.property_facts(session)
        balances = {
            pid: balance
            for pid, f in facts.items()
            if (balance := mortgage_balance(f.attributes)) is not None
        }
        if not balances:
            return None
        if rule.rule == "free_and_clear":
            return {pid for pid, b in balances.items() if b <= 0}
        values = valuation_read.latest_values(session, balances)
        wanted = float(rule.params.get("min_equity_pct", 50))
        return {
            pid
            for pid, b in balances.items()
            if pid in values and values[pid][0] > 0
            and (values[pid][0] - b) / values[pid][0] * 100 >= wanted
        }  # fmt: skip
    if rule.rule in ("years_owned", "tired_landlord"):
        min_years = float(rule.params.get("min_years", 10))
        cutoff = date(today.year - int(min_years), today.month, min(today.day, 28))
        long_owned = {
            pid for pid, day in properties_read.last_sale_dates(session, None).items()
            if day <= cutoff
        }  # fmt: skip
        if rule.rule == "years_owned":
            return long_owned
        return long_owned & absentee_ids(session)
    if rule.rule == "absentee":
        return absentee_ids(session)
    owners = owners_read.property_owners(session)
    if rule.rule == "out_of_state":
        facts = properties_read.property_facts(session, owners)
        return {
            pid
            for pid, o in owners.items()
            if pid in facts and o.mailing_state
            and o.mailing_state.strip().upper() != (facts[pid].state or o.mailing_state).upper()
        }  # fmt: skip
    if rule.rule == "corporate_portfolio":
        wanted_n = int(rule.params.get("min_properties", 5))
        return {
            pid
            for pid, o in owners.items()
            if o.owner_kind == "organisation" and o.portfolio_size >= wanted_n
        }
    raise ValidationFailed(f"unknown derived rule {rule.rule!r}", field="rule")


def absentee_ids(session: Session) -> set[uuid.UUID]:
    """Properties whose owner's mailing address is not the property's own address."""
    owners = owners_read.property_owners(session)
    facts = properties_read.property_facts(session, owners)
    return {
        pid
        for pid, o in owners.items()
        if o.mailing_address_key and pid in facts and facts[pid].address_key
        and o.mailing_address_key != facts[pid].address_key
    }  # fmt: skip


def mortgage_balance(attributes: dict[str, Any]) -> float | None:
    for name in MORTGAGE_NAMES:
        value = attributes.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value.replace("$", "").replace(",", ""))
            except ValueError:
                continue
    return None


def refresh_derived_lists(session: Session) -> dict[str, int]:
    """Rebuild every derived list (creating the standard ones the first time): each list's
    members become what its rule selects today. A property already on the list keeps the
    date it joined; a new one joins today. Returns members per rule; an equity rule is
    absent while no property carries a mortgage balance."""
    today = datetime.now(UTC).date()
    existing = {
        str(p.query.get("rule")): p
        for p in session.scalars(select(PropertyList).where(PropertyList.derived.is_(True)))
    }
    out: dict[str, int] = {}
    now = datetime.now(UTC)
    for rule in DERIVED_RULES:
        plist = existing.get(rule.rule)
        wanted = derived_members(
            session,
            rule if plist is None else DerivedRule(rule.rule, rule.kind, rule.name, {
                **rule.params, **dict(plist.query.get("params") or {})}),
            today,
        )  # fmt: skip
        if wanted is None:
            continue
        if plist is None:
            plist = PropertyList(
                name=rule.name,
                kind=rule.kind,
                source="derived from the store",
                list_date=today,
                derived=True,
                query={"rule": rule.rule, "params": rule.params},
                created_by="refresh",
            )
            session.add(plist)
            session.flush()
        joined = {
            pid: day
            for pid, day in session.execute(
                select(ListMembership.property_id, ListMembership.listed_on).where(
                    ListMembership.list_id == plist.id
                )
            )
        }
        session.execute(delete(ListMembership).where(ListMembership.list_id == plist.id))
        insert_memberships(
            session,
            [
                {
                    "id": uuid.uuid4(),
                    "list_id": plist.id,
                    "property_id": pid,
                    "status": "matched",
                    "matched_by": "query",
                    "listed_on": joined.get(pid) or today,
                    "attributes": {},
                    "created_at": now,
                    "updated_at": now,
                }
                for pid in sorted(wanted, key=str)
            ],
        )
        plist.member_count = len(wanted)
        plist.refreshed_at = now
        plist.list_date = today
        out[rule.rule] = len(wanted)
    session.flush()
    return out


# --- stacks -------------------------------------------------------------------------------


def stack_rows(
    session: Session, property_ids: Iterable[uuid.UUID] | None
) -> list[tuple[uuid.UUID, uuid.UUID, str, str, date, dict[str, Any], bool]]:
    """``(property id, list id, kind, list name, listed on, attributes, derived)`` of every
    matched membership of the properties (all when None), oldest first."""
    from reos.kernel.bulk import among, in_batches

    stmt = (
        select(
            ListMembership.property_id,
            PropertyList.id,
            PropertyList.kind,
            PropertyList.name,
            ListMembership.listed_on,
            ListMembership.attributes,
            PropertyList.derived,
        )
        .join(PropertyList, PropertyList.id == ListMembership.list_id)
        .where(ListMembership.status == "matched", ListMembership.property_id.is_not(None))
        .order_by(ListMembership.property_id, ListMembership.listed_on)
    )
    statements: Iterable[Any]
    if property_ids is None:
        statements = [stmt]
    else:
        statements = (
            stmt.where(among(session, ListMembership.property_id, batch))
            for batch in in_batches(property_ids)
        )
    out: list[tuple[uuid.UUID, uuid.UUID, str, str, date, dict[str, Any], bool]] = []
    for s in statements:
        out.extend(
            (pid, lid, kind, name, day, dict(attrs or {}), bool(derived))
            for pid, lid, kind, name, day, attrs, derived in session.execute(s)
        )
    return out


def stack_counts(
    session: Session, kinds: Sequence[str] = (), min_stack: int = 1
) -> dict[uuid.UUID, int]:
    """Properties on at least ``min_stack`` distinct lists (of ``kinds`` when given), with
    their count: one grouped query."""
    count = func.count(func.distinct(ListMembership.list_id))
    stmt = (
        select(ListMembership.property_id, count)
        .join(PropertyList, PropertyList.id == ListMembership.list_id)
        .where(ListMembership.status == "matched", ListMembership.property_id.is_not(None))
        .group_by(ListMembership.property_id)
        .having(count >= min_stack)
    )
    if kinds:
        stmt = stmt.where(PropertyList.kind.in_([check_kind(k) for k in kinds]))
    return {pid: int(n) for pid, n in session.execute(stmt) if pid is not None}
