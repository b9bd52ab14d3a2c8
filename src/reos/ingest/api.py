"""Import routes: upload a file (runs as a background job), read reports and quarantine."""

from __future__ import annotations

import re
import shutil
import uuid
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, File, Form, Query, UploadFile, status
from pydantic import BaseModel, Field

from reos.config import get_settings
from reos.db import tenancy
from reos.errors import ValidationFailed
from reos.http.deps import ReadSession, WriteSession
from reos.http.errors import error_responses
from reos.http.paging import Offset, limit_query
from reos.ingest import service
from reos.jobs import queue

router = APIRouter(prefix="/api/v1/imports", tags=["imports"])
ERRORS = error_responses(401, 403, 422, 429)
MAX_MAPPING_BYTES = 1_000_000
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class ImportAccepted(BaseModel):
    import_id: uuid.UUID
    job_id: uuid.UUID
    status: str


class ImportOut(BaseModel):
    import_id: uuid.UUID
    entity: str
    filename: str
    source_name: str
    status: str
    rows_read: int
    inserted: int
    updated: int
    unchanged: int
    quarantined: int
    rows_committed: int
    balanced: bool
    warnings: list[dict[str, Any]] = Field(default_factory=list)
    error: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


class ImportPage(BaseModel):
    items: list[ImportOut]
    total: int
    limit: int
    offset: int


class QuarantinedOut(BaseModel):
    row_number: int
    status: str
    reasons: list[dict[str, Any]]
    raw: dict[str, Any]


class QuarantinePage(BaseModel):
    items: list[QuarantinedOut]
    total: int
    limit: int
    offset: int


def _out(report: service.ImportReport) -> ImportOut:
    data = report.to_dict()
    data.pop("retry_of", None)
    return ImportOut.model_validate(data)


def _safe_filename(name: str | None) -> str:
    base = Path(name or "upload.csv").name
    cleaned = _SAFE_NAME.sub("_", base).strip("._") or "upload.csv"
    return cleaned[-200:]


@router.post(
    "",
    response_model=ImportAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    responses=ERRORS | error_responses(413),
)
def upload(
    session: WriteSession,
    file: Annotated[UploadFile, File(description="CSV/TSV, XLSX or Parquet")],
    entity: Annotated[str, Form(description="properties, sales, owners or rents")],
    mapping: Annotated[UploadFile | None, File(description="YAML mapping file")] = None,
) -> ImportAccepted:
    """Store the file and queue its import; poll ``GET /api/v1/imports/{id}`` for the report.

    The file and its mapping are checked before anything is queued (missing columns,
    unreadable file, bad mapping, an XLSX archive over the ``REOS_XLSX_*`` size limits
    give 422 at once). The request body is limited to ``REOS_MAX_BODY_BYTES`` (413
    beyond it); import bigger files with ``reos import``.

    The request only does what is cheap whatever the file holds: it stores the bytes,
    hashes them, reads the ZIP directory of a workbook and the header row (for XLSX: the
    header's few shared strings, not the table). The rows are parsed once, by the job;
    a problem found there (a sheet over a limit, a damaged cell) fails the import with
    its message, shown by ``GET /api/v1/imports/{id}``.
    """
    service.record_of(entity)
    mapping_data: Any = None
    if mapping is not None:
        text = mapping.file.read(MAX_MAPPING_BYTES + 1)
        if len(text) > MAX_MAPPING_BYTES:
            raise ValidationFailed("the mapping file is over 1 MB", field="mapping")
        try:
            mapping_data = yaml.safe_load(text.decode("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as err:
            raise ValidationFailed(
                f"the mapping is not valid UTF-8 YAML: {err}", field="mapping"
            ) from None
    org_id = tenancy.current_org(session)
    import_id = uuid.uuid4()
    folder = get_settings().home / "uploads" / str(org_id) / str(import_id)
    folder.mkdir(parents=True, exist_ok=True)
    filename = _safe_filename(file.filename)
    stored = folder / filename
    try:
        with open(stored, "wb") as out:
            shutil.copyfileobj(file.file, out, 1 << 20)
        prepared = service.prepare(stored, entity, mapping_data=mapping_data)
        run, _resumed = service.create_import(
            session,
            prepared,
            stored_path=stored,
            filename=filename,
            created_by=_actor(session),
            resume=False,
            import_id=import_id,
        )
        job = queue.enqueue(session, "import", {"import_id": str(run.id)})
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return ImportAccepted(import_id=run.id, job_id=job.id, status=run.status)


def _actor(session: Any) -> str | None:
    from reos.kernel.principal import actor_of

    actor = actor_of(session)
    return actor.actor_id if actor else None


@router.get("", response_model=ImportPage, responses=ERRORS)
def list_imports(
    session: ReadSession,
    limit: Annotated[int, limit_query(200)] = 50,
    offset: Offset = 0,
) -> ImportPage:
    """Imports of the caller's organisation, newest first."""
    reports, total = service.list_imports(session, limit=limit, offset=offset)
    return ImportPage(items=[_out(r) for r in reports], total=total, limit=limit, offset=offset)


@router.get("/{import_id}", response_model=ImportOut, responses=ERRORS | error_responses(404))
def get_import(import_id: uuid.UUID, session: ReadSession) -> ImportOut:
    """Status and report of one import (counters grow as its chunks commit)."""
    return _out(service.report_of(session, import_id))


@router.get(
    "/{import_id}/quarantine",
    response_model=QuarantinePage,
    responses=ERRORS | error_responses(404),
)
def get_quarantine(
    import_id: uuid.UUID,
    session: ReadSession,
    status_: Annotated[str | None, Query(alias="status", pattern="^(open|resolved)$")] = None,
    limit: Annotated[int, limit_query(500)] = 100,
    offset: Offset = 0,
) -> QuarantinePage:
    """The import's quarantined rows: row number, original values and every reason."""
    rows, total = service.list_quarantine(
        session, import_id=import_id, status=status_, limit=limit, offset=offset
    )
    items = [
        QuarantinedOut(
            row_number=q.row_number,
            status=q.status,
            reasons=list(q.reasons or []),
            raw=dict(q.raw or {}),
        )
        for q in rows
    ]
    return QuarantinePage(items=items, total=total, limit=limit, offset=offset)
