"""``reos worker``: runs every domain's background jobs, so it belongs to the jobs
infrastructure rather than to any one domain."""

from __future__ import annotations

import typer


def worker_command(
    once: bool = typer.Option(False, "--once", help="run at most one job, then exit"),
    burst: bool = typer.Option(False, "--burst", help="run until the queue is empty, then exit"),
    poll_seconds: float = typer.Option(
        1.0, "--poll", min=0.05, help="seconds between polls when idle"
    ),
) -> None:
    """Run background jobs (imports uploaded through the API, model training)."""
    from reos.db import schema
    from reos.jobs.worker import Worker

    schema.require_current()
    worker = Worker(poll_seconds=poll_seconds)
    if once:
        ran = worker.run_once()
        typer.echo("ran 1 job" if ran else "no job waiting")
        return
    count = worker.run(burst=burst)
    typer.echo(f"ran {count} job(s)")


def mount(app: typer.Typer) -> None:
    app.command("worker")(worker_command)
