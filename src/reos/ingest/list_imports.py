"""Imports of list files: recorded here, matched and kept by deal flow.

A distress list (tax delinquent, probate, ...) is not a record kind the importer maps and
upserts: deal flow reads it, matches its rows to stored properties and keeps every row as a
list membership. The file is still an import like every other, so a user finds all of an
organisation's files, their balanced counts and their quarantined rows in one place
(``reos import list``, ``reos quarantine list``, ``GET /api/v1/imports``): deal flow hands
its counts and its unmatched rows here, and each unmatched row is quarantined with its
cells as the file wrote them and the reason it matched nothing.

Counts, as every import: rows read = inserted (rows matched to a property, put on the
list) + unchanged (a second row for a property already on the list) + quarantined (rows
that matched no property). Quarantined list rows are not retried with a mapping: deal flow
matches them again against the properties stored now (``reos lists rematch``, every
pipeline run) and marks the rows it matches resolved (:func:`resolve_quarantined`).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from reos.accounts.service import record_audit
from reos.db import tenancy
from reos.errors import ValidationFailed
from reos.ingest.readers import file_fingerprint
from reos.models.imports import ImportRun, QuarantinedRow

#: ``imports.entity`` of a list file's import.
LIST_ENTITY = "lists"
#: Quarantined rows written per INSERT.
INSERT_BATCH = 2_000


@dataclass(frozen=True)
class UnmatchedRow:
    """A list row that matched no property: its row number in the file (1 = first data
    row), its cells by header as written, and why it matched nothing (naming the column)."""

    row_number: int
    cells: dict[str, Any]
    reason: str
    column: str | None = None
    value: str | None = None


def record_list_import(
    session: Session,
    path: Path,
    *,
    list_id: uuid.UUID,
    list_name: str,
    headers: Sequence[str],
    rows_read: int,
    matched: int,
    duplicate: int,
    unmatched: Sequence[UnmatchedRow],
    warnings: Iterable[dict[str, Any]] = (),
    source_name: str | None = None,
    created_by: str | None = None,
) -> ImportRun:
    """Record a list file deal flow has matched: one finished import whose counts balance
    and whose unmatched rows are quarantined. Returns the import run (flushed)."""
    if rows_read != matched + duplicate + len(unmatched):
        raise ValidationFailed(
            f"{path.name}: {rows_read:,} rows read but {matched:,} matched + {duplicate:,} "
            f"duplicate + {len(unmatched):,} unmatched accounted for",
            field="file",
        )
    now = datetime.now(UTC)
    sha = file_fingerprint(path)
    run = ImportRun(
        entity=LIST_ENTITY,
        filename=path.name,
        file_sha256=sha,
        fingerprint=hashlib.sha256(f"list\n{list_id}\n{sha}".encode()).hexdigest(),
        source_name=source_name or list_name,
        mapping={"headers": list(headers), "list_id": str(list_id), "list_name": list_name},
        status="done",
        rows_read=rows_read,
        inserted=matched,
        updated=0,
        unchanged=duplicate,
        quarantined=len(unmatched),
        rows_committed=rows_read,
        warnings=[
            *(
                [
                    {
                        "message": "rows for a property already on the list (kept on the "
                        "list as duplicates, counted as unchanged)",
                        "count": duplicate,
                        "kind": "duplicate",
                    }
                ]
                if duplicate
                else []
            ),
            *warnings,
        ],
        created_by=created_by,
        started_at=now,
        finished_at=now,
    )
    session.add(run)
    session.flush()
    table = QuarantinedRow.__table__
    rows = [
        {
            "id": uuid.uuid4(),
            "import_id": run.id,
            "row_number": u.row_number,
            "raw": u.cells,
            "reasons": [
                {"field": "property", "reason": u.reason, "column": u.column, "raw_value": u.value}
            ],
            "status": "open",
            "created_at": now,
            "updated_at": now,
        }
        for u in unmatched
    ]
    for start in range(0, len(rows), INSERT_BATCH):
        batch = tenancy.stamp(session, rows[start : start + INSERT_BATCH])
        session.execute(insert(table), batch)  # type: ignore[arg-type]
    record_audit(
        session, "finish", "import", run.id,
        {"entity": LIST_ENTITY, "filename": path.name, "rows_read": rows_read,
         "inserted": matched, "unchanged": duplicate, "quarantined": len(unmatched)},
    )  # fmt: skip
    return run


def resolve_quarantined(session: Session, import_id: uuid.UUID, row_numbers: Iterable[int]) -> int:
    """Mark an import's quarantined rows resolved (deal flow matched them later). Returns
    how many open rows changed."""
    numbers = sorted(set(row_numbers))
    if not numbers:
        return 0
    changed = 0
    for start in range(0, len(numbers), INSERT_BATCH):
        # an ORM update: the session scopes it to its organisation
        result = session.execute(
            update(QuarantinedRow)
            .where(
                QuarantinedRow.import_id == import_id,
                QuarantinedRow.status == "open",
                QuarantinedRow.row_number.in_(numbers[start : start + INSERT_BATCH]),
            )
            .values(status="resolved", updated_at=datetime.now(UTC))
            .execution_options(synchronize_session=False)
        )
        changed += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return changed


def refuse_list_retry(run: ImportRun) -> None:
    """A list's quarantined rows are matched again by deal flow, not by a mapping."""
    if run.entity == LIST_ENTITY:
        list_id = (run.mapping or {}).get("list_id", "LIST_ID")
        raise ValidationFailed(
            f"import {run.id} is a list file: its quarantined rows matched no property and are "
            f"matched again with 'reos lists rematch {list_id}' (POST /api/v1/lists/"
            f"{list_id}/rematch) once the properties are imported, not with a mapping",
            field="import",
        )
