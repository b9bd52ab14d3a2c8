"""``reos pipeline run|work|runs|show|schedule|settings``."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from sqlalchemy.orm import Session

from reos.cli_support import JsonOption, OrgOption, parse_uuid, print_json, print_table
from reos.errors import ValidationFailed

app = typer.Typer(
    help="One run from changed records to a ranked deal list: run it, follow it, schedule it.",
    no_args_is_help=True,
)


def _factory(org_id: uuid.UUID) -> Any:
    """One tenant unit of work per chunk, acting as the CLI operator (owner rights)."""
    from reos.db.session import tenant_session
    from reos.kernel.principal import Principal, attach

    @contextmanager
    def unit() -> Iterator[Session]:
        with tenant_session(org_id) as session:
            attach(
                session,
                Principal(
                    kind="cli", org_id=org_id, role="owner", subject=os.environ.get("USER", "cli")
                ),
            )
            yield session

    return unit


def _spawn_workers(
    org_id: uuid.UUID, run_id: uuid.UUID, count: int
) -> list[subprocess.Popen[bytes]]:
    """Start ``count`` worker processes on this machine that share the run's chunks."""
    command = [sys.executable, "-m", "reos", "pipeline", "work", "--org", str(org_id),
               "--run", str(run_id), "--quiet"]  # fmt: skip
    return [subprocess.Popen(command) for _ in range(count)]


def print_top_deals(deals: list[dict[str, Any]], limit: int = 10) -> None:
    """The top deals of a run with their reasons, one block each."""
    if not deals:
        typer.echo("no deal on the shortlist")
        return
    typer.echo(f"top {min(limit, len(deals))} deals:")
    for rank, deal in enumerate(deals[:limit], 1):
        value = deal.get("estimated_value")
        worth = f", worth {value:,.0f}" if isinstance(value, int | float) else ""
        typer.echo(
            f"{rank:>3}. score {deal.get('score')}  {deal.get('address') or deal.get('property_id')}{worth}"
        )
        for reason in deal.get("reasons", [])[:5]:
            typer.echo(f"       {reason}")


def _print_report(session: Session, run_id: uuid.UUID) -> None:
    from reos.pipeline import service

    run = service.get_run(session, run_id)
    reports = service.stage_reports(session, run)
    print_table(
        [
            {
                "stage": r["stage"],
                "chunks": f"{r['chunks_done']}/{r['chunks']}",
                "processed": r["processed"],
                "skipped": r["skipped"],
                "failed": r["failed"],
                "seconds": r["seconds"],
                "errors": "; ".join(r["errors"])[:80],
            }
            for r in reports
        ],
        ["stage", "chunks", "processed", "skipped", "failed", "seconds", "errors"],
    )
    for r in reports:
        if r["failed"]:
            typer.echo(f"{r['stage']}: {r['failed']} properties failed, e.g.:")
            for item in r["failed_properties"][:5]:
                typer.echo(f"  {item['property_id']}: {item['reason']}")
    print_top_deals(list((run.summary or {}).get("top_deals", [])))


@app.command("run")
def run_command(
    since: str = typer.Option(
        None,
        "--since",
        help="take what changed since this date (YYYY-MM-DD) instead of since the last run",
    ),
    workers: int = typer.Option(
        1,
        "--workers",
        min=1,
        max=32,
        help="worker processes on PostgreSQL (this one included); SQLite runs in one",
    ),
    org: str = OrgOption,
    as_json: bool = JsonOption,
) -> None:
    """Take what changed since the last run through every stage, with a progress bar per
    stage, and print the top deals. Re-run after an interruption, it finishes the run."""
    from reos.cli_support import resolve_org_id
    from reos.db.engine import get_engine
    from reos.pipeline import service
    from reos.pipeline.stages import stage_named

    org_id = resolve_org_id(org)
    unit = _factory(org_id)
    day = service.parse_since(since)
    if workers > 1 and get_engine().dialect.name != "postgresql":
        typer.echo("SQLite allows one writer: the run is worked by this process alone", err=True)
        workers = 1
    with unit() as session:
        planned = service.plan_run(session, since=day, trigger="cli")
        run_id, run_from = planned.run.id, dict(planned.run.summary).get("from", {})
    if planned.nothing_new:
        newest = max((v for v in run_from.values() if v), default=None)
        message = "nothing new since the last run" + (
            f" (records up to {newest})" if newest else ""
        )
        print_json({"run_id": run_id, "status": "nothing_new"}) if as_json else typer.echo(
            f"{message}: nothing to do"
        )
        return
    if planned.resumed:
        typer.echo(f"resuming unfinished pipeline run {run_id}", err=True)
    helpers = _spawn_workers(org_id, run_id, workers - 1) if workers > 1 else []
    try:
        if sys.stderr.isatty() and not as_json:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

            with Progress(
                "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), transient=False,
            ) as bar:  # fmt: skip
                tasks: dict[str, Any] = {}

                def tick(stages: list[tuple[str, int, int]]) -> None:
                    for stage, done, total in stages:
                        if stage not in tasks:
                            tasks[stage] = bar.add_task(stage_named(stage).title, total=total)
                        bar.update(tasks[stage], completed=done, total=total)

                service.work_run(unit, run_id, progress=tick)
        else:
            service.work_run(unit, run_id)
    finally:
        for helper in helpers:
            helper.wait()
    with unit() as session:
        if as_json:
            run = service.get_run(session, run_id)
            print_json(
                {
                    "run_id": run_id,
                    "status": run.status,
                    "properties": run.properties_total,
                    "stages": service.stage_reports(session, run),
                    "top_deals": (run.summary or {}).get("top_deals", []),
                }
            )
            return
        run = service.get_run(session, run_id)
        typer.echo(
            f"pipeline run {run_id}: {run.properties_total:,} changed properties, {run.status}"
        )
        _print_report(session, run_id)


@app.command("work")
def work_command(
    run: str = typer.Option(None, "--run", help="the run to join (default: the unfinished one)"),
    quiet: bool = typer.Option(False, "--quiet", help="print nothing"),
    org: str = OrgOption,
) -> None:
    """Join a run as one more worker (PostgreSQL: on this or any machine sharing the
    database): take its chunks until none is left."""
    from reos.cli_support import resolve_org_id
    from reos.pipeline import service

    org_id = resolve_org_id(org)
    unit = _factory(org_id)
    if run:
        run_id = parse_uuid(run, "run", "a pipeline run id")
    else:
        with unit() as session:
            found = service.unfinished_run(session)
        if found is None:
            typer.echo("no unfinished pipeline run to work on")
            return
        run_id = found.id
    with unit() as session:
        service.get_run(session, run_id)
    done = service.work_run(unit, run_id)
    if not quiet:
        typer.echo(f"worked {done} chunks of pipeline run {run_id}")


@app.command("runs")
def runs_command(
    limit: int = typer.Option(20, "--limit", min=1, max=200),
    org: str = OrgOption,
    as_json: bool = JsonOption,
) -> None:
    """The organisation's pipeline runs, newest first."""
    from reos.pipeline import service
    from reos.pipeline.api import to_out

    with _factory(_org(org))() as session:
        rows, _total = service.list_runs(session, limit=limit)
        out = [to_out(r).model_dump(mode="json") for r in rows]
    if as_json:
        print_json(out)
        return
    print_table(
        [
            {
                "id": r["id"], "status": r["status"], "trigger": r["trigger"],
                "properties": r["properties_total"], "started": (r["started_at"] or "")[:19],
                "finished": (r["finished_at"] or "")[:19], "deals": len(r["top_deals"]),
            }
            for r in out
        ],
        ["id", "status", "trigger", "properties", "started", "finished", "deals"],
    )  # fmt: skip


def _org(org: str | None) -> uuid.UUID:
    from reos.cli_support import resolve_org_id

    return resolve_org_id(org)


@app.command("show")
def show_command(run_id: str = typer.Argument(..., help="a run id (reos pipeline runs)"),
                 org: str = OrgOption, as_json: bool = JsonOption) -> None:  # fmt: skip
    """One run: per stage its chunks, properties handled, skipped and failed, seconds and
    errors, and the top deals."""
    from reos.pipeline import service
    from reos.pipeline.api import to_out

    ident = parse_uuid(run_id, "run_id", "a pipeline run id")
    with _factory(_org(org))() as session:
        row = service.get_run(session, ident)
        if as_json:
            print_json({**to_out(row).model_dump(mode="json"),
                        "stages": service.stage_reports(session, row)})  # fmt: skip
            return
        typer.echo(f"pipeline run {row.id}: {row.status}, {row.trigger}, "
                   f"{row.properties_total:,} properties, started {row.started_at}")  # fmt: skip
        _print_report(session, row.id)


@app.command("schedule")
def schedule_command(
    daily: str = typer.Option(None, "--daily", help="run every day at HH:MM (UTC)"),
    off: bool = typer.Option(False, "--off", help="stop the daily run"),
    org: str = OrgOption,
) -> None:
    """Run the pipeline every day without anyone typing (the job workers, `reos worker`
    or the server's own, start it once a day however many there are)."""
    from reos.pipeline import service

    if (daily is None) == (not off):
        raise ValidationFailed("give --daily HH:MM or --off", field="daily")
    with _factory(_org(org))() as session:
        row = service.set_daily(session, None if off else daily)
        at = row.daily_at
    typer.echo(f"the pipeline runs every day at {at} UTC" if at else "the daily run is off")


@app.command("settings")
def settings_command(
    top: int = typer.Option(None, "--top", help="shortlist the top N by score"),
    min_score: int = typer.Option(
        None, "--min-score", help="shortlist every property scoring at least this (0-100)"
    ),
    strategy: str = typer.Option(None, "--strategy", help="underwriting strategy: rental or flip"),
    chunk_properties: int = typer.Option(None, "--chunk-properties", help="properties per chunk"),
    valuation_date: str = typer.Option(
        None,
        "--valuation-date",
        help="value and underwrite as of this day (YYYY-MM-DD; 'today' for the day of each run)",
    ),
    org: str = OrgOption,
    as_json: bool = JsonOption,
) -> None:
    """Show or change the pipeline's settings."""
    from reos.pipeline import service

    with _factory(_org(org))() as session:
        if any(v is not None for v in (top, min_score, strategy, chunk_properties, valuation_date)):
            day = (
                None
                if valuation_date in (None, "today")
                else service.parse_day(valuation_date, "valuation-date")
            )
            row = service.update_settings(
                session, shortlist_top_n=top, shortlist_min_score=min_score,
                strategy=strategy, chunk_properties=chunk_properties,
                valuation_date=day, clear_valuation_date=valuation_date == "today",
            )  # fmt: skip
        else:
            row = service.settings_of(session)
        out = {
            "shortlist_top_n": row.shortlist_top_n,
            "shortlist_min_score": row.shortlist_min_score,
            "strategy": row.strategy,
            "chunk_properties": row.chunk_properties,
            "daily_at": row.daily_at,
            "valuation_date": row.valuation_date.isoformat() if row.valuation_date else "today",
        }
    if as_json:
        print_json(out)
        return
    for key, value in out.items():
        typer.echo(f"{key}: {value}")


def mount(root: typer.Typer) -> None:
    root.add_typer(app, name="pipeline")
