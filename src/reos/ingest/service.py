"""The import service: files in, records out, every row accounted for.

An import runs in chunks. Each chunk is one transaction holding both its rows' writes and
the import's checkpoint (``rows_committed`` and the counters), so a killed import resumes
after the last committed chunk and ends in the state one uninterrupted run reaches. The
checkpoint update is conditional on the previous checkpoint, so two processes can never
apply the same chunk twice.

Entry points (CLI, API, worker, other domains) hand in a *session factory*: a callable
returning a context manager that yields a tenant session and commits on exit (e.g.
``lambda: tenant_session(org_id)``). The service opens one unit of work per chunk with it;
it never commits on its own otherwise.

For code, :func:`import_file` is the one call::

    report = import_file("sales.csv", "sales", org_id=org.id, mapping_path="m.yaml")
    assert report.balanced
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from reos.accounts.service import record_audit
from reos.db import tenancy
from reos.errors import Conflict, NotFound, ReosError, ValidationFailed
from reos.ingest import export
from reos.ingest.chunks import apply_chunk
from reos.ingest.kinds import kind_of

# list files: recorded here for deal flow, which matches and keeps their rows (re-exported)
from reos.ingest.list_imports import LIST_ENTITY as LIST_ENTITY
from reos.ingest.list_imports import UnmatchedRow as UnmatchedRow
from reos.ingest.list_imports import record_list_import as record_list_import
from reos.ingest.list_imports import refuse_list_retry
from reos.ingest.list_imports import resolve_quarantined as resolve_quarantined
from reos.ingest.mapping import (
    EffectiveMapping,
    FieldRule,
    MappingFile,
    build_mapping,
    load_mapping,
    parse_mapping,
)
from reos.ingest.pipeline import BlockSource, RowProcessor, bulk_collection, chunk_done
from reos.ingest.readers import (
    DEFAULT_CHUNK_ROWS,
    EXTRA_CELLS_KEY,
    RawRow,
    file_fingerprint,
    open_table,
)
from reos.kernel.bulk import TableStatistics
from reos.kernel.merge import ChunkResult, ImportContext
from reos.kernel.rows import Issue
from reos.kernel.vocabulary import Entity
from reos.models.imports import ImportRun, QuarantinedRow

SessionFactory = Callable[[], AbstractContextManager[Session]]

#: CLI/API entity names and the record kind each holds.
ENTITIES: dict[str, Entity] = {
    "properties": Entity.PROPERTY,
    "sales": Entity.SALE,
    "owners": Entity.OWNER,
    "rents": Entity.RENT,
}
log = logging.getLogger("reos.ingest")
INCOMPLETE = ("queued", "running", "failed")
PREVIEW_ROWS = 10


@dataclass
class ImportReport:
    """What an import did. ``rows_read = inserted + updated + unchanged + quarantined``."""

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
    warnings: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    retry_of: str | None = None

    @property
    def balanced(self) -> bool:
        return self.rows_read == self.inserted + self.updated + self.unchanged + self.quarantined

    @classmethod
    def of(cls, run: ImportRun) -> ImportReport:
        return cls(
            import_id=run.id,
            entity=run.entity,
            filename=run.filename,
            source_name=run.source_name,
            status=run.status,
            rows_read=run.rows_read,
            inserted=run.inserted,
            updated=run.updated,
            unchanged=run.unchanged,
            quarantined=run.quarantined,
            rows_committed=run.rows_committed,
            warnings=list(run.warnings or []),
            error=run.error,
            created_at=run.created_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
            retry_of=(run.mapping or {}).get("retry_of"),
        )

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["import_id"] = str(self.import_id)
        data["balanced"] = self.balanced
        for name in ("created_at", "started_at", "finished_at"):
            value = data[name]
            data[name] = value.isoformat() if value else None
        return data


# --- preparing a file ------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedFile:
    """A file checked against its mapping, before anything is written."""

    path: Path
    entity: str
    record: str
    mapping_data: dict[str, Any] | None
    mapping_path: str | None
    effective: EffectiveMapping
    file_sha256: str
    fingerprint: str
    source_name: str


def record_of(entity: str) -> Entity:
    record = ENTITIES.get(entity)
    if record is None:
        raise ValidationFailed(
            f"unknown entity {entity!r}: use one of {', '.join(ENTITIES)}", field="entity"
        )
    return record


def _mapping_file(
    mapping_path: str | Path | None, mapping_data: Any
) -> tuple[MappingFile | None, dict[str, Any] | None]:
    if mapping_path is not None:
        loaded = load_mapping(mapping_path)
        import yaml

        data = yaml.safe_load(Path(mapping_path).read_text(encoding="utf-8"))
        return loaded, data
    if mapping_data is not None:
        return parse_mapping(mapping_data), mapping_data
    return None, None


def effective_mapping(
    headers: list[str], mapping: MappingFile | None, record: str, source_name: str | None = None
) -> EffectiveMapping:
    """The mapping for a file. Owners and rent listings without an id column get
    ``<source>#<row number>`` as their id: re-importing the file matches its own rows, and
    another file's row 5 is another record (a bare row number would update the first file's
    records). A rent file's RESO ``ListingKey`` (recognised as ``source_record_id``) is the
    listing's own id."""
    if mapping is not None and mapping.record not in (None, record):
        raise ValidationFailed(
            f"{mapping.path}: the mapping is for {mapping.record} records, not {record} records",
            field="record",
        )
    effective = build_mapping(headers, mapping, record=record)
    for kind, id_field in ((Entity.OWNER, "owner_record_id"), (Entity.RENT, "rent_record_id")):
        if record != kind:
            continue
        rules = dict(effective.rules)
        if id_field not in rules and kind == Entity.RENT and "source_record_id" in rules:
            rules[id_field] = FieldRule(
                id_field, columns=rules["source_record_id"].columns, origin="auto"
            )
        elif id_field not in rules:
            rules[id_field] = FieldRule(
                id_field,
                transform="row_number",
                prefix=f"{source_name}#" if source_name else "",
                origin="auto",
            )
        effective = dataclasses.replace(effective, rules=rules, key=id_field)
    return effective


def prepare(
    path: str | Path,
    entity: str,
    *,
    mapping_path: str | Path | None = None,
    mapping_data: Any = None,
    source_name: str | None = None,
) -> PreparedFile:
    """Check a file and its mapping (headers, required columns, key) without writing.

    Raises ``ValidationFailed`` naming the file/field for every user mistake.
    """
    record = record_of(entity)
    path = Path(path)
    mapping, data = _mapping_file(mapping_path, mapping_data)
    with open_table(path) as reader:
        headers = list(reader.headers)
    source_name = source_name or (
        mapping.source_name if mapping and mapping.source_name else path.stem
    )
    effective = effective_mapping(headers, mapping, record, source_name)
    sha = file_fingerprint(path)
    canonical = json.dumps(data, sort_keys=True, default=str)
    fingerprint = hashlib.sha256(f"{sha}\n{canonical}\n{entity}".encode()).hexdigest()
    return PreparedFile(
        path=path.resolve(),
        entity=entity,
        record=record,
        mapping_data=data,
        mapping_path=str(mapping_path) if mapping_path else None,
        effective=effective,
        file_sha256=sha,
        fingerprint=fingerprint,
        source_name=source_name,
    )


def create_import(
    session: Session,
    prepared: PreparedFile,
    *,
    stored_path: str | Path | None = None,
    filename: str | None = None,
    created_by: str | None = None,
    resume: bool = True,
    import_id: uuid.UUID | None = None,
) -> tuple[ImportRun, bool]:
    """The ImportRun for a prepared file (status queued). With ``resume``, an incomplete
    import of the same fingerprint is returned instead; the flag says which happened."""
    if resume:
        previous = session.scalars(
            select(ImportRun)
            .where(ImportRun.fingerprint == prepared.fingerprint, ImportRun.status.in_(INCOMPLETE))
            .order_by(ImportRun.created_at.desc())
            .limit(1)
        ).first()
        if previous is not None:
            previous.stored_path = str(stored_path or prepared.path)
            return previous, True
    run = ImportRun(
        id=import_id or uuid.uuid4(),
        entity=prepared.entity,
        filename=filename or prepared.path.name,
        file_sha256=prepared.file_sha256,
        fingerprint=prepared.fingerprint,
        source_name=prepared.source_name,
        mapping={
            "spec": prepared.mapping_data,
            "path": prepared.mapping_path,
            "record": prepared.record,
            "key": prepared.effective.key,
            "headers": list(prepared.effective.headers),
        },
        status="queued",
        stored_path=str(stored_path or prepared.path),
        created_by=created_by,
        warnings=[],
    )
    session.add(run)
    session.flush()
    record_audit(
        session,
        "create",
        "import",
        run.id,
        {"entity": run.entity, "filename": run.filename, "source": run.source_name},
    )
    return run, False


# --- running ---------------------------------------------------------------------------


def _load_run(session: Session, import_id: uuid.UUID) -> ImportRun:
    run = tenancy.get(session, ImportRun, import_id)
    if run is None:
        raise NotFound(f"no import {import_id} in this organisation")
    assert isinstance(run, ImportRun)
    return run


def _merge_warnings(existing: list[dict[str, Any]], result: ChunkResult) -> list[dict[str, Any]]:
    merged = {w["message"]: dict(w) for w in existing}
    for message, count in result.warnings.items():
        entry = merged.setdefault(
            message, {"message": message, "count": 0, "first_row": result.warning_rows[message]}
        )
        entry["count"] += count
    for kind, count, text in (
        (
            "unlinked",
            result.unlinked_owners,
            "owner records whose property was not found (kept, link_status unlinked)",
        ),
        (
            "no_property",
            result.owners_without_property,
            "unlinked owner records: no parcel number or property address (kept as owner "
            "records, resolved into owners by 'reos owners resolve', linked to a property "
            "when a later file gives its parcel number or address)",
        ),
        (
            "ambiguous",
            result.ambiguous_owners,
            "owner records matching several properties (kept, link_status ambiguous)",
        ),
    ):
        if count:
            entry = merged.setdefault(kind, {"message": text, "count": 0, "kind": kind})
            entry["count"] += count
    return list(merged.values())


def _observed_at(run: ImportRun) -> str:
    created = run.created_at or datetime.now(UTC)
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return created.isoformat()


def _context(
    run: ImportRun, effective: EffectiveMapping, *, filename: str | None = None
) -> ImportContext:
    return ImportContext(
        import_id=run.id,
        source_name=run.source_name,
        filename=filename or run.filename,
        observed_at=_observed_at(run),
        record=Entity(effective.record),
        key=effective.key,
    )


def _checkpoint(session: Session, run_id: uuid.UUID, committed: int, new_committed: int) -> None:
    """Move the checkpoint, refusing if another process moved it first."""
    result = session.execute(
        update(ImportRun)
        .where(ImportRun.id == run_id, ImportRun.rows_committed == committed)
        .values(rows_committed=new_committed, status="running")
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(
            f"import {run_id} was advanced by another process; it is already being run",
            field="import",
        )


def _record_counts(session: Session, run_id: uuid.UUID, result: ChunkResult) -> None:
    run = _load_run(session, run_id)
    run.rows_read += result.rows
    run.inserted += result.inserted
    run.updated += result.updated
    run.unchanged += result.unchanged
    run.quarantined += result.quarantined
    run.warnings = _merge_warnings(list(run.warnings or []), result)
    session.flush()


def _fail(session_factory: SessionFactory, import_id: uuid.UUID, message: str) -> None:
    with session_factory() as session:
        session.execute(
            update(ImportRun)
            .where(ImportRun.id == import_id)
            .values(status="failed", error=message[:4000], finished_at=datetime.now(UTC))
            .execution_options(synchronize_session=False)
        )


def run_import(
    session_factory: SessionFactory,
    import_id: uuid.UUID,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    on_chunk: Callable[[ImportReport], None] | None = None,
    today: date | None = None,
    workers: int | None = None,
) -> ImportReport:
    """Run (or resume) an import from its checkpoint to the end, one transaction per chunk.

    A user mistake found mid-file (malformed CSV, undecodable bytes) marks the import
    failed with the message and is raised as ``ValidationFailed``; rows before it stay
    committed and a re-run resumes after them.
    """
    with session_factory() as session:
        run = _load_run(session, import_id)
        if run.status == "done":
            return ImportReport.of(run)
        run.status = "running"
        run.error = None
        run.started_at = run.started_at or datetime.now(UTC)
        committed = run.rows_committed
        spec = dict(run.mapping or {})
        path = run.stored_path
        entity = run.entity
        session.flush()
        ctx_run = run
    if not path:
        raise ValidationFailed(f"import {import_id} has no stored file to read", field="file")
    try:
        mapping, _data = _mapping_file(None, spec.get("spec"))
        with open_table(path) as reader:
            headers = list(reader.headers)
        effective = effective_mapping(headers, mapping, record_of(entity), ctx_run.source_name)
        ctx = _context(ctx_run, effective)
        source = BlockSource(path, chunk_rows, committed)
        statistics = TableStatistics(kind_of(ctx.record).tables)
        with bulk_collection(), RowProcessor(effective, today=today, workers=workers) as processor:
            try:
                for last, validated in processor.pipeline(source):
                    with session_factory() as session:
                        _checkpoint(session, import_id, committed, last)
                        result = apply_chunk(session, ctx, validated)
                        _record_counts(session, import_id, result)
                    statistics.grew(session, result.inserted)
                    committed = last
                    del validated
                    chunk_done()
                    if on_chunk is not None:
                        on_chunk(get_report(session_factory, import_id))
            finally:
                statistics.close()
    except ReosError as exc:
        if not isinstance(exc, Conflict):
            _fail(session_factory, import_id, exc.message)
        raise
    except Exception as exc:
        _fail(session_factory, import_id, f"{type(exc).__name__}: {exc}")
        raise
    with session_factory() as session:
        return _finish(session, import_id)


#: An import that has not committed a chunk for this long has stopped (its process died);
#: resumed, it writes with new times, so it no longer holds back what is "changed since".
STALLED_AFTER = timedelta(hours=1)


def writes_in_flight_since(session: Session) -> datetime | None:
    """When the earliest import still writing began (None when none is): rows it has not
    committed yet will carry times from then on, so whoever notes "changed up to now" (the
    pipeline's watermarks) must not note past it, or those rows, committed later with
    earlier times, would never count as changed."""
    cutoff = datetime.now(UTC) - STALLED_AFTER
    return session.scalar(
        select(func.min(func.coalesce(ImportRun.started_at, ImportRun.created_at))).where(
            ImportRun.status == "running", ImportRun.updated_at >= cutoff
        )
    )


def _finish(session: Session, import_id: uuid.UUID) -> ImportReport:
    """Mark an import done and leave one audit row with its counts (not one per row: the
    rows' own changes are in ``field_changes``)."""
    run = _load_run(session, import_id)
    run.status = "done"
    run.finished_at = datetime.now(UTC)
    session.flush()
    report = ImportReport.of(run)
    counts = ("rows_read", "inserted", "updated", "unchanged", "quarantined")
    record_audit(session, "finish", "import", run.id, {k: getattr(report, k) for k in counts})
    return report


def get_report(session_factory: SessionFactory, import_id: uuid.UUID) -> ImportReport:
    with session_factory() as session:
        return ImportReport.of(_load_run(session, import_id))


def report_of(session: Session, import_id: uuid.UUID) -> ImportReport:
    return ImportReport.of(_load_run(session, import_id))


def list_imports(
    session: Session, *, limit: int = 50, offset: int = 0
) -> tuple[list[ImportReport], int]:
    total = int(session.scalar(select(func.count()).select_from(ImportRun)) or 0)
    runs = session.scalars(
        select(ImportRun)
        .order_by(ImportRun.created_at.desc(), ImportRun.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return [ImportReport.of(r) for r in runs], total


def import_file(
    path: str | Path,
    entity: str,
    *,
    org_id: uuid.UUID | None = None,
    session_factory: SessionFactory | None = None,
    engine: Engine | None = None,
    mapping_path: str | Path | None = None,
    mapping_data: Any = None,
    source_name: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    created_by: str | None = None,
    resume: bool = True,
    today: date | None = None,
    workers: int | None = None,
) -> ImportReport:
    """Import one file from code and return its report.

    Give either ``org_id`` (with an optional ``engine``, e.g. a scratch store) or a
    ``session_factory`` yielding tenant sessions of the target organisation. With
    ``resume`` an incomplete earlier import of the same file + mapping + entity continues
    from its checkpoint instead of starting over.
    """
    if session_factory is None:
        if org_id is None:
            raise ValueError("import_file needs org_id or session_factory")
        from reos.db.session import tenant_session

        def session_factory() -> AbstractContextManager[Session]:
            return tenant_session(org_id, engine)

    prepared = prepare(
        path, entity, mapping_path=mapping_path, mapping_data=mapping_data, source_name=source_name
    )
    with session_factory() as session:
        run, _resumed = create_import(session, prepared, created_by=created_by, resume=resume)
        import_id = run.id
    return run_import(
        session_factory, import_id, chunk_rows=chunk_rows, today=today, workers=workers
    )


def run_import_job(
    org_id: uuid.UUID, payload: dict[str, Any], heartbeat: Callable[[], None]
) -> None:
    """Job handler: run the import named in the payload in the job's organisation."""
    from reos.db.session import tenant_session

    def factory() -> AbstractContextManager[Session]:
        return tenant_session(org_id)

    run_import(
        factory,
        uuid.UUID(str(payload["import_id"])),
        chunk_rows=int(payload.get("chunk_rows") or DEFAULT_CHUNK_ROWS),
        on_chunk=lambda _report: heartbeat(),
    )


# --- preview ---------------------------------------------------------------------------


def preview(
    path: str | Path,
    entity: str,
    *,
    mapping_path: str | Path | None = None,
    mapping_data: Any = None,
    rows: int = PREVIEW_ROWS,
    today: date | None = None,
) -> dict[str, Any]:
    """The mapping that would be used and the first rows with their validation results.
    Writes nothing. The mapping comes from a file (``mapping_path``), plain data
    (``mapping_data``, as the upload form builds it) or, with neither, auto-recognition."""
    prepared = prepare(path, entity, mapping_path=mapping_path, mapping_data=mapping_data)
    effective = prepared.effective
    with (
        open_table(prepared.path) as reader,
        RowProcessor(effective, today=today, workers=0) as processor,
    ):
        first = next(reader.chunks(rows), [])
        validated = processor.process(first)
    return {
        "file": prepared.path.name,
        "entity": entity,
        "record": effective.record,
        "key": effective.key,
        "source_name": prepared.source_name,
        "mapping": effective.preview_lines(),
        "used_columns": effective.used_columns,
        "ignored_columns": effective.ignored_columns,
        "rows": [
            {
                "row": v.row_number,
                "status": "quarantine" if v.errors else "ok",
                "errors": [str(e) for e in v.errors],
                "warnings": [str(w) for w in v.warnings],
                "values": {k: _jsonable(val) for k, val in v.values.items() if k != "attributes"},
            }
            for v in validated
        ],
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


# --- quarantine ------------------------------------------------------------------------


def list_quarantine(
    session: Session,
    *,
    import_id: uuid.UUID | None = None,
    status: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[QuarantinedRow], int]:
    if import_id is not None:
        _load_run(session, import_id)
    stmt = select(QuarantinedRow)
    if import_id is not None:
        stmt = stmt.where(QuarantinedRow.import_id == import_id)
    if status is not None:
        stmt = stmt.where(QuarantinedRow.status == status)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = session.scalars(
        stmt.order_by(
            QuarantinedRow.created_at, QuarantinedRow.import_id, QuarantinedRow.row_number
        )
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), total


def reasons_text(reasons: list[dict[str, Any]]) -> str:
    return "; ".join(
        str(
            Issue(
                r.get("field") or "_row", r.get("reason") or "", r.get("column"), r.get("raw_value")
            )
        )
        for r in reasons
    )


def export_quarantine(
    session: Session, out: str | Path, *, import_id: uuid.UUID | None = None
) -> int:
    """Write quarantined rows (all original columns plus row, import and reasons) to CSV or
    XLSX; formula-looking cells are neutralised. Returns the number of rows written."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ValidationFailed(
            f"export to .csv or .xlsx, not {suffix or 'no extension'!r}", field="out"
        )
    if not out.parent.is_dir():
        raise ValidationFailed(
            f"folder {out.parent} does not exist: create it or export to another folder",
            field="out",
        )
    if import_id is not None:
        _load_run(session, import_id)
    stmt = select(QuarantinedRow).order_by(QuarantinedRow.created_at, QuarantinedRow.row_number)
    raw_stmt = select(QuarantinedRow.raw)
    if import_id is not None:
        stmt = stmt.where(QuarantinedRow.import_id == import_id)
        raw_stmt = raw_stmt.where(QuarantinedRow.import_id == import_id)
    columns: dict[str, None] = {}
    for raw in session.scalars(raw_stmt.execution_options(yield_per=1_000)):
        for key in raw or {}:
            columns.setdefault(key, None)
    headers = ["import_id", "row_number", "status", "reasons", *columns]

    def rows() -> Iterator[list[Any]]:
        for q in session.scalars(stmt.execution_options(yield_per=1_000)):
            raw = q.raw or {}
            yield [
                str(q.import_id),
                q.row_number,
                q.status,
                reasons_text(q.reasons or []),
                *(raw.get(c) for c in columns),
            ]

    try:
        if suffix == ".csv":
            return export.write_csv(out, headers, rows())
        return export.write_xlsx(out, headers, rows(), sheet_title="quarantine")
    except OSError as exc:
        raise ValidationFailed(f"cannot write {out}: {exc.strerror or exc}", field="out") from None


def retry_quarantine(
    session_factory: SessionFactory,
    import_id: uuid.UUID,
    *,
    mapping_path: str | Path | None = None,
    mapping_data: Any = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    today: date | None = None,
) -> ImportReport:
    """Re-validate an import's open quarantined rows with a corrected mapping.

    Rows that now pass are applied (upserted like any import row, provenance naming the
    original file and row) and marked resolved by the retry import; rows still failing stay
    open on the original import with their new reasons. The retry is an import of its own
    whose report balances: rows_read = open rows retried.
    """
    with session_factory() as session:
        refuse_list_retry(_load_run(session, import_id))
    mapping, data = _mapping_file(mapping_path, mapping_data)
    with session_factory() as session:
        original = _load_run(session, import_id)
        spec = dict(original.mapping or {})
        headers = list(spec.get("headers") or [])
        record = record_of(original.entity)
        # the rows keep the ids the original import gave them
        effective = effective_mapping(headers, mapping, record, original.source_name)
        canonical = json.dumps(data, sort_keys=True, default=str)
        retry = ImportRun(
            entity=original.entity,
            filename=original.filename,
            file_sha256=original.file_sha256,
            fingerprint=hashlib.sha256(f"retry\n{original.id}\n{canonical}".encode()).hexdigest(),
            source_name=(mapping.source_name if mapping and mapping.source_name else original.source_name),
            mapping={"spec": data, "path": str(mapping_path) if mapping_path else None, "record": record,
                     "key": effective.key, "headers": headers, "retry_of": str(original.id)},
            status="running",
            started_at=datetime.now(UTC),
            warnings=[],
        )  # fmt: skip
        session.add(retry)
        session.flush()
        retry_id = retry.id
        ctx = dataclasses.replace(_context(retry, effective), filename=original.filename)
    last = 0
    with RowProcessor(effective, today=today, workers=0) as processor:
        while True:
            with session_factory() as session:
                batch = session.scalars(
                    select(QuarantinedRow)
                    .where(
                        QuarantinedRow.import_id == import_id,
                        QuarantinedRow.status == "open",
                        QuarantinedRow.row_number > last,
                    )
                    .order_by(QuarantinedRow.row_number)
                    .limit(chunk_rows)
                ).all()
                if not batch:
                    break
                last = batch[-1].row_number
                raw_rows = [_raw_row(q) for q in batch]
                validated = processor.process(raw_rows)
                failing = [v for v in validated if v.errors]
                passing = [v for v in validated if not v.errors]
                result = apply_chunk(session, ctx, passing)
                result.rows += len(failing)
                result.quarantined += len(failing)
                by_row = {q.row_number: q for q in batch}
                for v in failing:
                    by_row[v.row_number].reasons = [i.to_dict() for i in v.errors]
                for row_number in result.resolved:
                    by_row[row_number].status = "resolved"
                    by_row[row_number].resolved_by_import_id = retry_id
                _record_counts(session, retry_id, result)
                run = _load_run(session, retry_id)
                run.rows_committed = run.rows_read
    with session_factory() as session:
        return _finish(session, retry_id)


def quarantined_row(session: Session, import_id: uuid.UUID, row_number: int) -> QuarantinedRow:
    """One quarantined row of an import by its row number in the file."""
    _load_run(session, import_id)
    row = session.scalars(
        select(QuarantinedRow).where(
            QuarantinedRow.import_id == import_id, QuarantinedRow.row_number == row_number
        )
    ).first()
    if row is None:
        raise NotFound(f"import {import_id} has no quarantined row {row_number}")
    return row


def correct_quarantined_row(
    session: Session, import_id: uuid.UUID, row_number: int, values: dict[str, str | None]
) -> QuarantinedRow:
    """Correct the cells of one open quarantined row (a person fixing a typo), before
    :func:`retry_quarantine` re-validates it. Only the row's own columns change; the cells
    before and after are recorded in the audit log."""
    refuse_list_retry(_load_run(session, import_id))
    row = quarantined_row(session, import_id, row_number)
    if row.status != "open":
        raise Conflict(f"row {row_number} is no longer quarantined (it was {row.status})")
    before = dict(row.raw or {})
    changed = {k: v for k, v in values.items() if k in before and before[k] != v}
    if changed:
        row.raw = {**before, **changed}
        record_audit(
            session,
            "correct",
            "quarantined_row",
            row.id,
            {"row_number": row_number, "before": {k: before[k] for k in changed}, "after": changed},
        )
    session.flush()
    return row


def retry_mapping(session: Session, import_id: uuid.UUID) -> Any:
    """The mapping data an import ran with (None: auto-recognition), to retry its rows."""
    return (_load_run(session, import_id).mapping or {}).get("spec")


def list_of(session: Session, import_id: uuid.UUID) -> str | None:
    """The id of the list a list file's import made (None for any other import)."""
    run = _load_run(session, import_id)
    return str((run.mapping or {}).get("list_id")) if run.entity == LIST_ENTITY else None


def recorded_headers(session: Session, import_id: uuid.UUID) -> list[str]:
    """The file's headers in file order, as recorded when the import was created."""
    return [str(h) for h in (_load_run(session, import_id).mapping or {}).get("headers") or []]


def _raw_row(q: QuarantinedRow) -> RawRow:
    """A quarantined row as the reader gave it; problems of the file's structure (ragged
    row, oversize cell) cannot be fixed by a mapping and are carried over."""
    raw = dict(q.raw or {})
    problems = [
        r["reason"] for r in (q.reasons or []) if r.get("field") == "_row" and _structural(r)
    ]
    if EXTRA_CELLS_KEY in raw and not problems:
        problems.append(f"row has extra cells kept under {EXTRA_CELLS_KEY!r}")
    return RawRow(q.row_number, raw, problems, [])


def _structural(reason: dict[str, Any]) -> bool:
    text = str(reason.get("reason") or "")
    return "cells but the header has" in text or "-character limit" in text


@dataclass
class OriginalRows:
    """Rows of imported files as the user wrote them: each import's ``headers`` in file
    order, each requested row's cells by header (text as in the file) keyed by
    ``(import id, row number)``, and why an import's rows could not be read
    (``unavailable``: the import is unknown, its file is gone or changed since; its
    headers are then those recorded at import time)."""

    headers: dict[uuid.UUID, list[str]] = field(default_factory=dict)
    cells: dict[tuple[uuid.UUID, int], dict[str, str | None]] = field(default_factory=dict)
    unavailable: dict[uuid.UUID, str] = field(default_factory=dict)


def original_rows(session: Session, wanted: dict[uuid.UUID, set[int]]) -> OriginalRows:
    """Read back the rows ``wanted`` (import id → row numbers, as provenance names them)
    from each import's stored file, every column the user had, mapped or not (the store
    keeps only the mapped ones). A file is read once, up to its last wanted row, and only
    when its bytes are those imported (SHA-256), so a row is never taken from an edited
    file."""
    out = OriginalRows()
    for import_id, rows in wanted.items():
        run = tenancy.get(session, ImportRun, import_id)
        if run is None:
            out.unavailable[import_id] = f"import {import_id} not found"
            continue
        # the headers as recorded at import time, kept even when the rows cannot be read
        out.headers[import_id] = [str(h) for h in (run.mapping or {}).get("headers") or []]
        path = Path(run.stored_path) if run.stored_path else None
        if path is None or not path.is_file():
            out.unavailable[import_id] = f"{run.filename}: the imported file is no longer stored"
            continue
        if file_fingerprint(path) != run.file_sha256:
            out.unavailable[import_id] = f"{run.filename}: the file changed since it was imported"
            continue
        last = max(rows) if rows else 0
        with open_table(path) as reader:
            headers = out.headers[import_id] = list(reader.headers)
            for raw in reader.rows():
                if raw.row_number in rows:
                    cells = {h: raw.values.get(h) for h in headers}
                    out.cells[(import_id, raw.row_number)] = cells
                if raw.row_number >= last:
                    break
    return out
