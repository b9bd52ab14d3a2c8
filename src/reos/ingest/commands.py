"""``reos import ...``, ``reos quarantine ...`` and ``reos fields``."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from sqlalchemy.orm import Session

from reos.cli_support import (
    JsonOption,
    OrgOption,
    org_session,
    print_json,
    print_table,
    resolve_org_id,
)
from reos.db.session import tenant_session
from reos.errors import ValidationFailed
from reos.ingest import service
from reos.ingest.fields import all_fields
from reos.ingest.readers import DEFAULT_CHUNK_ROWS
from reos.kernel.principal import Principal, attach

import_app = typer.Typer(
    help="Bring in properties, sales, owners or rent listings from CSV, XLSX or Parquet files.",
    no_args_is_help=True,
)
quarantine_app = typer.Typer(
    help="Rows that failed validation: list, export, retry.", no_args_is_help=True
)

MappingOption = typer.Option(
    None, "--mapping", help="YAML mapping file (default: recognise headers)"
)
PreviewOption = typer.Option(
    False, "--preview", help="show the mapping and the first rows; write nothing"
)
ChunkOption = typer.Option(
    DEFAULT_CHUNK_ROWS, "--chunk-rows", min=1, help="rows per committed transaction"
)
WorkersOption = typer.Option(
    None,
    "--workers",
    min=0,
    help="worker processes mapping the next chunk while one is written (0: none; "
    "default: 1 when there is a second core)",
)


def _parse_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ValidationFailed(f"{value!r} is not an import id (a UUID)", field="id") from None


def _factory(org_id: uuid.UUID) -> service.SessionFactory:
    """One tenant unit of work per chunk, acting as the CLI operator (owner rights)."""

    @contextmanager
    def factory() -> Iterator[Session]:
        with tenant_session(org_id) as session:
            attach(
                session,
                Principal(
                    kind="cli", org_id=org_id, role="owner", subject=os.environ.get("USER", "cli")
                ),
            )
            yield session

    return factory


def _print_report(report: service.ImportReport, as_json: bool) -> None:
    if as_json:
        print_json(report.to_dict())
        return
    typer.echo(
        f"import {report.import_id}  {report.entity}  {report.filename}  source={report.source_name}"
    )
    typer.echo(f"status: {report.status}")
    typer.echo(
        f"rows read {report.rows_read:,} = inserted {report.inserted:,} + updated {report.updated:,} "
        f"+ unchanged {report.unchanged:,} + quarantined {report.quarantined:,}"
        + ("" if report.balanced else "   (NOT BALANCED)")
    )
    if report.error:
        typer.echo(f"error: {report.error}")
    for warning in report.warnings[:20]:
        where = f" (first at row {warning['first_row']})" if warning.get("first_row") else ""
        typer.echo(f"warning x{warning['count']:,}: {warning['message']}{where}")
    if report.quarantined:
        typer.echo(f"see the quarantined rows: reos quarantine list --import {report.import_id}")


def _run(entity: str, file: Path, org: str | None, mapping: Path | None, as_json: bool, preview: bool,
         chunk_rows: int, workers: int | None) -> None:  # fmt: skip
    if preview:
        data = service.preview(file, entity, mapping_path=mapping)
        if as_json:
            print_json(data)
            return
        typer.echo(f"{data['file']}: {entity}, key {data['key']}, source {data['source_name']}")
        for line in data["mapping"]:
            typer.echo(line)
        typer.echo(f"first {len(data['rows'])} rows:")
        for row in data["rows"]:
            typer.echo(f"  row {row['row']}: {row['status']}")
            for error in row["errors"]:
                typer.echo(f"    error: {error}")
            for warning in row["warnings"]:
                typer.echo(f"    warning: {warning}")
        return
    org_id = resolve_org_id(org)
    factory = _factory(org_id)
    prepared = service.prepare(file, entity, mapping_path=mapping)
    with factory() as session:
        run, resumed = service.create_import(session, prepared, created_by="cli")
        import_id = run.id
        committed = run.rows_committed
    if resumed and not as_json:
        typer.echo(f"resuming import {import_id} after row {committed:,}", err=True)
    report = service.run_import(factory, import_id, chunk_rows=chunk_rows, workers=workers)
    _print_report(report, as_json)
    _fail_if_nothing_passed(report)


def _fail_if_nothing_passed(report: service.ImportReport) -> None:
    """An import in which every row was quarantined wrote nothing: a script running it must
    see a failure, not the success of an import that only filled the quarantine."""
    if report.rows_read and report.quarantined == report.rows_read:
        raise ValidationFailed(
            f"all {report.rows_read:,} rows were quarantined; nothing was imported: "
            f"see why with `reos quarantine list --import {report.import_id}`",
            field="file",
        )


@import_app.command("properties")
def import_properties(
    file: Path = typer.Argument(..., help="CSV/TSV, XLSX or Parquet file"),
    org: str | None = OrgOption,
    mapping: Path | None = MappingOption,
    as_json: bool = JsonOption,
    preview: bool = PreviewOption,
    chunk_rows: int = ChunkOption,
    workers: int | None = WorkersOption,
) -> None:
    """Import property records (upserted by the mapping's key, else the address)."""
    _run("properties", file, org, mapping, as_json, preview, chunk_rows, workers)


@import_app.command("sales")
def import_sales(
    file: Path = typer.Argument(..., help="CSV/TSV, XLSX or Parquet file"),
    org: str | None = OrgOption,
    mapping: Path | None = MappingOption,
    as_json: bool = JsonOption,
    preview: bool = PreviewOption,
    chunk_rows: int = ChunkOption,
    workers: int | None = WorkersOption,
) -> None:
    """Import sales; each row may also create or update the property sold."""
    _run("sales", file, org, mapping, as_json, preview, chunk_rows, workers)


@import_app.command("owners")
def import_owners(
    file: Path = typer.Argument(..., help="CSV/TSV, XLSX or Parquet file"),
    org: str | None = OrgOption,
    mapping: Path | None = MappingOption,
    as_json: bool = JsonOption,
    preview: bool = PreviewOption,
    chunk_rows: int = ChunkOption,
    workers: int | None = WorkersOption,
) -> None:
    """Import owner records, linked to properties by parcel number or address."""
    _run("owners", file, org, mapping, as_json, preview, chunk_rows, workers)


@import_app.command("rents")
def import_rents(
    file: Path = typer.Argument(..., help="CSV/TSV, XLSX or Parquet file"),
    org: str | None = OrgOption,
    mapping: Path | None = MappingOption,
    as_json: bool = JsonOption,
    preview: bool = PreviewOption,
    chunk_rows: int = ChunkOption,
    workers: int | None = WorkersOption,
) -> None:
    """Import rent and lease listings (monthly rent, lease date, the home's facts), linked
    to properties by parcel number, record id or address; the comps of rent estimates."""
    _run("rents", file, org, mapping, as_json, preview, chunk_rows, workers)


@import_app.command("report")
def import_report(
    import_id: str = typer.Argument(..., metavar="ID"),
    org: str | None = OrgOption,
    as_json: bool = JsonOption,
) -> None:
    """Show an import's report."""
    with org_session(org) as session:
        report = service.report_of(session, _parse_id(import_id))
    _print_report(report, as_json)


@import_app.command("list")
def import_list(
    file: Path | None = typer.Argument(
        None, help="a distress list (CSV/TSV or XLSX) to import; without it, recent imports"
    ),
    kind: str | None = typer.Option(
        None, "--kind", help="the list's kind (tax_delinquent, pre_foreclosure, probate, ...)"
    ),
    name: str | None = typer.Option(None, "--name", help="the list's name"),
    source: str | None = typer.Option(None, "--source", help="where the list came from"),
    list_date: str | None = typer.Option(None, "--date", help="the list's date, YYYY-MM-DD"),
    org: str | None = OrgOption,
    as_json: bool = JsonOption,
    limit: int = typer.Option(20, min=1, help="recent imports shown (without FILE)"),
) -> None:
    """Import a list of properties (``reos import list FILE --kind KIND``: rows matched to
    stored properties by parcel number or address, the others kept with the reason), or
    without FILE show the recent imports."""
    if file is not None:
        _import_property_list(file, kind, name, source, list_date, org, as_json)
        return
    with org_session(org) as session:
        reports, _total = service.list_imports(session, limit=limit)
    rows = [r.to_dict() for r in reports]
    if as_json:
        print_json(rows)
        return
    print_table(
        rows,
        [
            "import_id",
            "entity",
            "filename",
            "status",
            "rows_read",
            "inserted",
            "updated",
            "unchanged",
            "quarantined",
        ],
    )


def _import_property_list(
    file: Path,
    kind: str | None,
    name: str | None,
    source: str | None,
    list_date: str | None,
    org: str | None,
    as_json: bool,
) -> None:
    """A list of properties is deal flow's record: its service matches and keeps the rows."""
    from datetime import date

    from reos.dealflow import service as dealflow_service

    if not kind:
        raise ValidationFailed(
            f"--kind is required with a list file; use one of {', '.join(dealflow_service.LIST_KINDS)}",
            field="kind",
        )
    day = None
    if list_date:
        try:
            day = date.fromisoformat(list_date)
        except ValueError:
            raise ValidationFailed(
                f"--date {list_date!r} is not YYYY-MM-DD", field="date"
            ) from None
    with org_session(org) as session:
        report = dealflow_service.import_list(
            session, file, kind, name=name, source=source, list_date=day, created_by="cli"
        )
    if as_json:
        print_json(report.to_dict())
        return
    for line in report.lines():
        typer.echo(line)


@quarantine_app.command("list")
def quarantine_list(
    import_id: str | None = typer.Option(None, "--import", help="only this import's rows"),
    org: str | None = OrgOption,
    as_json: bool = JsonOption,
    status: str | None = typer.Option("open", "--status", help="open, resolved, or all"),
    limit: int = typer.Option(100, min=1),
    offset: int = typer.Option(0, min=0),
) -> None:
    """Quarantined rows with every reason."""
    with org_session(org) as session:
        rows, total = service.list_quarantine(
            session,
            import_id=_parse_id(import_id) if import_id else None,
            status=None if status in (None, "all") else status,
            limit=limit,
            offset=offset,
        )
        data: list[dict[str, Any]] = [
            {"import_id": str(q.import_id), "row_number": q.row_number, "status": q.status,
             "reasons": q.reasons, "raw": q.raw}
            for q in rows
        ]  # fmt: skip
    if as_json:
        print_json({"total": total, "items": data})
        return
    table = [{**d, "reasons": service.reasons_text(d["reasons"])} for d in data]
    print_table(table, ["import_id", "row_number", "status", "reasons"])
    typer.echo(f"{total:,} rows")


@quarantine_app.command("export")
def quarantine_export(
    out: Path = typer.Argument(..., help="OUT.csv or OUT.xlsx"),
    import_id: str | None = typer.Option(None, "--import", help="only this import's rows"),
    org: str | None = OrgOption,
) -> None:
    """Export quarantined rows with all their original columns (formula cells neutralised)."""
    with org_session(org) as session:
        count = service.export_quarantine(
            session, out, import_id=_parse_id(import_id) if import_id else None
        )
    typer.echo(f"wrote {count:,} rows to {out}")


@quarantine_app.command("retry")
def quarantine_retry(
    import_id: str = typer.Argument(..., metavar="ID"),
    mapping: Path = typer.Option(..., "--mapping", help="the corrected YAML mapping"),
    org: str | None = OrgOption,
    as_json: bool = JsonOption,
) -> None:
    """Re-validate an import's quarantined rows with a corrected mapping; apply those that pass."""
    org_id = resolve_org_id(org)
    report = service.retry_quarantine(_factory(org_id), _parse_id(import_id), mapping_path=mapping)
    _print_report(report, as_json)


def fields_command(as_json: bool = JsonOption) -> None:
    """Every field a file can be mapped onto: type, unit and meaning."""
    rows: list[dict[str, Any]] = [
        {"field": f.name, "entity": f.entity.value, "type": f.type.value, "unit": f.unit or "",
         "meaning": f.meaning + (f" ({', '.join(f.choices)})" if f.choices else "")}
        for f in all_fields()
    ]  # fmt: skip
    rows.append({"field": "attr.<name>", "entity": "any", "type": "any", "unit": "",
                 "meaning": "an extra attribute kept in attributes[<name>] (attr.sale.<name> on a sale)"})  # fmt: skip
    if as_json:
        print_json(rows)
        return
    print_table(rows, ["field", "entity", "type", "unit", "meaning"])


def mount(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")
    app.add_typer(quarantine_app, name="quarantine")
    app.command("fields")(fields_command)
