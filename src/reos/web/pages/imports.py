"""The imports pages: upload a file, correct its column mapping on a preview, run it as a
background job (as ``POST /api/v1/imports`` does) with its progress polled, read the
balanced report and the quarantine, and fix a quarantined row and retry it.

The upload is kept under ``<home>/uploads/<org>/<upload id>/`` (as the API keeps its
files) with a small ``upload.json`` (entity, file name, the mapping being edited) until
the user runs it; the folder being under the organisation's id is what keeps another
organisation's upload id a 404.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from reos.db.session import tenant_session
from reos.errors import NotFound, ValidationFailed
from reos.ingest import service
from reos.ingest.fields import fields_for
from reos.ingest.mapping import UNSET, FieldRule, auto_rules
from reos.ingest.readers import open_table
from reos.jobs import queue
from reos.kernel.principal import actor_of
from reos.kernel.vocabulary import Entity
from reos.web.context import EditPage, Page, PageContext, settings_of
from reos.web.render import is_htmx, render

router = APIRouter(include_in_schema=False)

ENTITIES = {
    "sales": "Sales",
    "properties": "Properties",
    "owners": "Owners",
    "rents": "Rent listings",
}
EXTENSIONS = (".csv", ".tsv", ".txt", ".xlsx", ".parquet")
QUARANTINE_PAGE = 100
KEEP = "=keep"
META = "upload.json"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


# --- uploads ---------------------------------------------------------------------------


def _uploads(request: Request, page: PageContext) -> Path:
    return settings_of(request).home / "uploads" / str(page.web.principal.org_id)


def _upload(
    request: Request, page: PageContext, upload_id: uuid.UUID
) -> tuple[Path, dict[str, Any]]:
    folder = _uploads(request, page) / f"new-{upload_id}"
    meta_path = folder / META
    if not meta_path.is_file():
        raise NotFound(f"no upload {upload_id} in this organisation (it may have been run)")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    return folder, meta


def _save_meta(folder: Path, meta: dict[str, Any]) -> None:
    (folder / META).write_text(json.dumps(meta), encoding="utf-8")


@router.get("/imports")
def imports(
    request: Request, page: Page, page_no: Annotated[int, Query(alias="page", ge=1)] = 1
) -> Response:
    reports, total = service.list_imports(page.session, limit=50, offset=(page_no - 1) * 50)
    return render(
        request,
        "imports/index.html",
        {"imports": reports, "total": total, "page_no": page_no, "more": total > page_no * 50},
    )


@router.get("/imports/new")
def new_import(request: Request, page: EditPage) -> Response:
    return _upload_form(request, page)


def _upload_form(
    request: Request, page: PageContext, error: str | None = None, entity: str = "sales"
) -> Response:
    return render(
        request,
        "imports/new.html",
        {
            "entities": ENTITIES,
            "entity": entity,
            "error": error,
            "max_mb": settings_of(request).max_body_bytes // (1024 * 1024),
            "max_bytes": settings_of(request).max_body_bytes,
            "extensions": EXTENSIONS,
        },
        status_code=422 if error else 200,
    )


@router.post("/imports/new")
def upload(
    request: Request,
    page: EditPage,
    file: Annotated[UploadFile | None, File()] = None,
    entity: Annotated[str, Form(max_length=20)] = "sales",
) -> Response:
    """Keep the file and show its mapping; nothing is imported yet."""
    if entity not in ENTITIES:
        return _upload_form(request, page, f"Choose what the file holds, not {entity!r}.")
    if file is None or not file.filename:
        return _upload_form(request, page, "Choose a file to upload.", entity)
    name = safe_filename(file.filename)
    suffix = Path(name).suffix.lower()
    if suffix not in EXTENSIONS:
        return _upload_form(
            request,
            page,
            f"{name}: a {suffix or 'file without an extension'} cannot be imported; "
            f"upload a CSV, TSV, XLSX or Parquet file.",
            entity,
        )
    upload_id = uuid.uuid4()
    folder = _uploads(request, page) / f"new-{upload_id}"
    folder.mkdir(parents=True, exist_ok=True)
    stored = folder / name
    limit = settings_of(request).max_body_bytes
    with open(stored, "wb") as out:
        shutil.copyfileobj(file.file, out, 1 << 20)
    size = stored.stat().st_size
    problem = None
    if size == 0:
        problem = f"{name} is empty: there is nothing to import."
    elif size > limit:
        problem = (
            f"{name} is larger than {limit // (1024 * 1024)} MB; import it with `reos import`."
        )
    else:
        try:
            with open_table(stored) as reader:
                headers = list(reader.headers)
            if not headers:
                problem = f"{name} has no header row."
        except ValidationFailed as err:
            problem = err.message
    if problem:
        shutil.rmtree(folder, ignore_errors=True)
        return _upload_form(request, page, problem, entity)
    _save_meta(folder, {"entity": entity, "filename": name, "mapping": None})
    return RedirectResponse(f"/imports/new/{upload_id}", status_code=303)


# --- the mapping -----------------------------------------------------------------------


def rule_spec(rule: FieldRule) -> Any:
    """A mapping rule back as the plain data a mapping file holds."""
    spec: dict[str, Any] = {}
    if rule.constant is not UNSET:
        spec["constant"] = rule.constant
    elif rule.transform:
        spec["transform"] = rule.transform
        if rule.prefix:
            spec["prefix"] = rule.prefix
    elif len(rule.columns) == 1:
        spec["column"] = rule.columns[0]
    else:
        spec["concat"] = list(rule.columns)
        spec["separator"] = rule.separator
    if rule.default is not UNSET:
        spec["default"] = rule.default
    if rule.strip_prefix:
        spec["strip_prefix"] = list(rule.strip_prefix)
    if rule.replace:
        spec["replace"] = dict(rule.replace)
    if rule.values is not None:
        spec["values"] = dict(rule.values)
    if rule.otherwise is not UNSET:
        spec["otherwise"] = rule.otherwise
    if rule.convert:
        spec["convert"] = rule.convert
    if rule.formats:
        spec["format"] = list(rule.formats)
    if rule.precision:
        spec["precision"] = rule.precision
    if list(spec) == ["column"]:
        return spec["column"]
    return spec


def _targets(entity: str) -> list[str]:
    record = service.record_of(entity)
    own = [f.name for f in fields_for(record)]
    if record == Entity.PROPERTY:
        return own
    return own + [f.name for f in fields_for(Entity.PROPERTY)]


def _current_specs(headers: list[str], meta: dict[str, Any]) -> dict[str, Any]:
    mapping = meta.get("mapping")
    if mapping:
        return dict(mapping.get("fields") or {})
    return {t: rule_spec(r) for t, r in auto_rules(headers).items()}


def _mapping_view(folder: Path, meta: dict[str, Any]) -> dict[str, Any]:
    path = folder / meta["filename"]
    with open_table(path) as reader:
        headers = list(reader.headers)
    specs = _current_specs(headers, meta)
    data = {"record": service.record_of(meta["entity"]), "fields": specs} if specs else None
    error = None
    preview: dict[str, Any] | None = None
    try:
        if data is None:
            raise ValidationFailed("No column is mapped yet: choose a column for each field.")
        preview = service.preview(path, meta["entity"], mapping_data=data)
    except ValidationFailed as err:
        error = err.message
    targets = _targets(meta["entity"])
    targets += [t for t in specs if t not in targets]
    rows = []
    for target in targets:
        spec = specs.get(target)
        column = spec if isinstance(spec, str) else None
        if isinstance(spec, dict) and set(spec) <= {"column", "convert"} and "convert" not in spec:
            column = spec.get("column")
        rows.append(
            {
                "target": target,
                "column": column,
                "kept": None if spec is None or column else _describe(target, spec),
            }
        )
    return {
        "headers": headers,
        "fields": rows,
        "preview": preview,
        "error": error,
        "used": {t for t in specs},
    }


def _describe(target: str, spec: Any) -> str:
    from reos.ingest.mapping import parse_mapping

    try:
        return parse_mapping({"fields": {target: spec}}).rules[target].describe()
    except ValidationFailed:
        return json.dumps(spec)


def _render_mapping(
    request: Request, upload_id: uuid.UUID, folder: Path, meta: dict[str, Any], status: int = 200
) -> Response:
    view = _mapping_view(folder, meta)
    return render(
        request,
        "imports/mapping.html",
        {
            "upload_id": upload_id,
            "meta": meta,
            "entity_label": ENTITIES[meta["entity"]],
            **view,
        },
        status_code=422 if view["error"] and status != 200 else status,
    )


@router.get("/imports/new/{upload_id}")
def mapping(request: Request, upload_id: uuid.UUID, page: EditPage) -> Response:
    folder, meta = _upload(request, page, upload_id)
    return _render_mapping(request, upload_id, folder, meta)


@router.post("/imports/new/{upload_id}")
async def mapping_post(request: Request, upload_id: uuid.UUID, page: EditPage) -> Response:
    """Apply the corrected mapping: ``action=preview`` shows it again, ``action=run``
    queues the import as the API does."""
    form = await request.form()
    folder, meta = _upload(request, page, upload_id)
    path = folder / meta["filename"]
    with open_table(path) as reader:
        headers = list(reader.headers)
    before = _current_specs(headers, meta)
    fields: dict[str, Any] = {}
    for target in _targets(meta["entity"]) + [
        t for t in before if t not in _targets(meta["entity"])
    ]:
        chosen = form.get(f"f.{target}")
        if not isinstance(chosen, str) or not chosen:
            continue
        if chosen == KEEP:
            if target in before:
                fields[target] = before[target]
            continue
        if chosen not in headers:
            continue
        old = before.get(target)
        keep_old = isinstance(old, dict) and old.get("column") == chosen
        fields[target] = old if keep_old else chosen
    meta["mapping"] = {"record": service.record_of(meta["entity"]), "fields": fields}
    _save_meta(folder, meta)
    if form.get("action") != "run":
        return _render_mapping(request, upload_id, folder, meta)
    try:
        prepared = service.prepare(path, meta["entity"], mapping_data=meta["mapping"])
    except ValidationFailed:
        return _render_mapping(request, upload_id, folder, meta, status=422)
    run, _resumed = service.create_import(
        page.session,
        prepared,
        stored_path=path,
        filename=meta["filename"],
        created_by=_actor(page),
        resume=False,
        import_id=uuid.uuid4(),
    )
    queue.enqueue(page.session, "import", {"import_id": str(run.id)})
    (folder / META).unlink()
    return RedirectResponse(f"/imports/{run.id}", status_code=303)


def _actor(page: PageContext) -> str | None:
    actor = actor_of(page.session)
    return actor.actor_id if actor else None


# --- one import ------------------------------------------------------------------------


def _report_context(page: PageContext, import_id: uuid.UUID) -> dict[str, Any]:
    report = service.report_of(page.session, import_id)
    return {"report": report, "running": report.status in ("queued", "running")}


@router.get("/imports/{import_id}")
def one_import(
    request: Request,
    import_id: uuid.UUID,
    page: Page,
    page_no: Annotated[int, Query(alias="page", ge=1)] = 1,
    retried: Annotated[uuid.UUID | None, Query()] = None,
) -> Response:
    context = _report_context(page, import_id)
    rows, total = service.list_quarantine(
        page.session,
        import_id=import_id,
        status="open",
        limit=QUARANTINE_PAGE,
        offset=(page_no - 1) * QUARANTINE_PAGE,
    )
    present = {key for q in rows for key in q.raw or {}}
    columns = [h for h in service.recorded_headers(page.session, import_id) if h in present]
    for q in rows:
        for key in q.raw or {}:
            if key not in columns:
                columns.append(key)
    retry = None
    if retried is not None:
        try:
            retry = service.report_of(page.session, retried)
        except NotFound:
            retry = None
    return render(
        request,
        "imports/import.html",
        {
            **context,
            "quarantine": rows,
            "quarantine_total": total,
            "columns": columns,
            "page_no": page_no,
            "more": total > page_no * QUARANTINE_PAGE,
            "retry": retry,
            # a list's rows are matched again by a rematch, not corrected and retried
            "may_edit": page.may(_write()) and context["report"].entity != service.LIST_ENTITY,
            "list_id": service.list_of(page.session, import_id),
        },
    )


def _write() -> Any:
    from reos.accounts.auth import Permission

    return Permission.DATA_WRITE


@router.get("/imports/{import_id}/progress")
def progress(request: Request, import_id: uuid.UUID, page: Page) -> Response:
    """The report fragment htmx polls while the import runs; when it has finished the page
    reloads to show the quarantine."""
    context = _report_context(page, import_id)
    headers = {"HX-Refresh": "true"} if is_htmx(request) and not context["running"] else None
    return render(request, "imports/_progress.html", context, headers=headers)


@router.get("/imports/{import_id}/quarantine/{row_number}")
def fix_form(request: Request, import_id: uuid.UUID, row_number: int, page: EditPage) -> Response:
    row = _open_row(page, import_id, row_number)
    report = service.report_of(page.session, import_id)
    return render(request, "imports/fix.html", {"report": report, "row": row})


def _open_row(page: PageContext, import_id: uuid.UUID, row_number: int) -> Any:
    row = service.quarantined_row(page.session, import_id, row_number)
    if row.status != "open":
        raise NotFound(f"row {row_number} of import {import_id} is no longer quarantined")
    return row


def safe_filename(name: str) -> str:
    """The upload's base name with only safe characters (as the API stores files)."""
    base = Path(name).name
    cleaned = _SAFE_NAME.sub("_", base).strip("._") or "upload.csv"
    return cleaned[-200:]


@router.post("/imports/{import_id}/quarantine/{row_number}")
async def fix_and_retry(
    request: Request, import_id: uuid.UUID, row_number: int, page: EditPage
) -> Response:
    """Correct the row's cells and retry the import's open rows with its own mapping
    (``service.retry_quarantine``, as ``reos quarantine retry`` does)."""
    form = await request.form()
    row = _open_row(page, import_id, row_number)
    values: dict[str, str | None] = {}
    for key in row.raw or {}:
        sent = form.get(f"c.{key}")
        if isinstance(sent, str):  # a cell not in the form keeps its value; emptied: none
            values[key] = sent or None
    org_id = page.web.principal.org_id
    mapping_data = service.retry_mapping(page.session, import_id)
    page.session.rollback()  # read only so far; the correction commits on its own below

    def factory() -> Any:
        return tenant_session(org_id)

    with factory() as session:
        service.correct_quarantined_row(session, import_id, row_number, values)
    retry = service.retry_quarantine(factory, import_id, mapping_data=mapping_data)
    return RedirectResponse(
        f"/imports/{import_id}?retried={retry.import_id}#quarantine", status_code=303
    )
