"""CSV export of a deal list that keeps the user's original columns.

Each line is one deal: first the deal's own columns (``deal_*``: id, stage, score, reasons,
assignee, next action, tags, site address), then every column of the file the property was
imported from, under the user's header and with the cell text exactly as in that file —
including the columns the import did not map (the store keeps only mapped fields, so they
are read back from the imported file: ``reos.ingest.service.original_rows``, which refuses
a file changed since the import). ``deal_original_source`` says where a line's original
columns came from, or why they are empty (a property entered by hand; a file no longer
stored or changed since). When deals come from several files, the columns are the union in
first-seen order. A header that collides with a ``deal_`` column is written as
``source:<header>``. Text that a spreadsheet would run as a formula is neutralised
(``'`` prefix, OWASP CSV injection guidance).
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from reos.crm import listing, service
from reos.models import Deal
from reos.properties import read_model as properties_read_model

DEAL_COLUMNS = (
    "deal_id",
    "deal_property_id",
    "deal_stage",
    "deal_score",
    "deal_reasons",
    "deal_assignee",
    "deal_next_action",
    "deal_next_action_due",
    "deal_tags",
    "deal_address",
    "deal_city",
    "deal_state",
    "deal_zip",
    "deal_updated_at",
    "deal_original_source",
)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
MAX_ROWS = 250_000


def neutralise(value: Any) -> Any:
    """A text cell a spreadsheet would evaluate gets a leading ``'``; numbers stay."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        try:
            float(value)
            return value
        except ValueError:
            return "'" + value
    return value


def _original(
    session: Session, deals: Sequence[Deal]
) -> tuple[list[str], dict[uuid.UUID, dict[str, str | None]], dict[uuid.UUID, str]]:
    """The original headers in first-seen order, each deal's original cells and where
    they came from (or why there are none)."""
    from reos.ingest import service as ingest_service

    sources = properties_read_model.import_sources(session, [d.property_id for d in deals])
    wanted: dict[uuid.UUID, set[int]] = {}
    for import_id, row in sources.values():
        wanted.setdefault(import_id, set()).add(row)
    found = ingest_service.original_rows(session, wanted)
    headers: list[str] = []
    seen: set[str] = set()
    for import_id in wanted:
        for header in found.headers.get(import_id, []):
            if header not in seen:
                seen.add(header)
                headers.append(header)
    cells: dict[uuid.UUID, dict[str, str | None]] = {}
    notes: dict[uuid.UUID, str] = {}
    for deal in deals:
        source = sources.get(deal.property_id)
        if source is None:
            notes[deal.id] = "not imported from a file (entered by hand)"
            continue
        import_id, row = source
        if import_id in found.unavailable:
            notes[deal.id] = found.unavailable[import_id]
            continue
        values = found.cells.get((import_id, row))
        if values is None:
            notes[deal.id] = f"import {import_id}: row {row} not in the stored file"
            continue
        cells[deal.id] = values
        notes[deal.id] = f"import {import_id} row {row}"
    return headers, cells, notes


def deals_csv(session: Session, filters: listing.DealFilters, sort: str) -> str:
    """Every deal the filters select, sorted as asked, as CSV text (UTF-8)."""
    deals: list[Deal] = []
    for rows in listing.every(session, filters, sort):
        deals.extend(rows)
        if len(deals) > MAX_ROWS:
            from reos.errors import ValidationFailed

            raise ValidationFailed(
                f"the list has more than {MAX_ROWS:,} deals; narrow it with filters",
                field="filters",
            )
    headers, cells, notes = _original(session, deals)
    tags = service.tags_of(session, [d.id for d in deals])
    members = service.members(session)
    out_headers = [f"source:{h}" if h in DEAL_COLUMNS else h for h in headers]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([*DEAL_COLUMNS, *out_headers])
    for deal in deals:
        own = [
            str(deal.id),
            str(deal.property_id),
            deal.stage,
            "" if deal.score is None else deal.score,
            "; ".join(str(r) for r in deal.reasons or []),
            members.get(deal.assignee_id, "") if deal.assignee_id else "",
            deal.next_action or "",
            deal.next_action_due.isoformat() if deal.next_action_due else "",
            "; ".join(tags.get(deal.id, [])),
            deal.address or "",
            deal.city or "",
            deal.state or "",
            deal.zip or "",
            deal.updated_at.isoformat(),
            notes.get(deal.id, ""),
        ]
        original = cells.get(deal.id, {})
        writer.writerow(
            [neutralise(v) for v in own] + [neutralise(original.get(h) or "") for h in headers]
        )
    return buffer.getvalue()
