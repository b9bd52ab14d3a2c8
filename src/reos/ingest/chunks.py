"""Hand one validated chunk to the domain that owns its records, and keep its bad rows.

The import service calls :func:`apply_chunk` once per chunk inside the chunk's transaction:
rows that failed the gate go to quarantine with their reasons (never dropped), the rest to
the record kind's bulk write path (:mod:`reos.ingest.kinds`), which reports what each did.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from reos.ingest.kinds import kind_of
from reos.kernel.bulk import planned_for_their_keys
from reos.kernel.merge import ChunkResult, ChunkWriter, ImportContext, issues
from reos.kernel.rows import Validated
from reos.models.imports import QuarantinedRow


def apply_chunk(session: Session, ctx: ImportContext, items: list[Validated]) -> ChunkResult:
    """Write one chunk of validated rows; the caller commits (with the checkpoint)."""
    write = kind_of(ctx.record).write()
    writer = ChunkWriter(session, ctx)
    result = ChunkResult(rows=len(items))
    valid = [item for item in items if not item.errors]
    quarantine = [_quarantined(writer, item) for item in items if item.errors]
    result.quarantined = len(quarantine)
    with planned_for_their_keys(session.connection()):
        write(writer, valid, result)
        writer.insert(QuarantinedRow.__table__, quarantine)  # type: ignore[arg-type]
    return result


def _quarantined(writer: ChunkWriter, item: Validated) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "import_id": writer.ctx.import_id,
        "row_number": item.row_number,
        "raw": item.raw,
        "reasons": issues(item.errors),
        "status": "open",
        "resolved_by_import_id": None,
        "created_at": writer.now,
        "updated_at": writer.now,
    }
