"""Pipeline runs: plan what changed, work the chunks, record what happened.

**What a run takes.** Every source table keeps ``updated_at``; a finished run keeps, in
``watermarks``, the newest ``updated_at`` of properties, sales and owner records it saw when
it was planned. The next run takes the properties created or changed after those, those
with a sale or an owner record added or changed after them (``--since`` replaces the
watermarks by a date). With nothing changed the run does nothing, says so, and is
recorded as ``nothing_new``.

**Chunks.** Planning writes every chunk of every stage up front (the run's properties in
id order, :attr:`PipelineSettings.chunk_properties` per chunk; one chunk for a
whole-organisation stage). A worker takes a pending chunk of the earliest unfinished stage
and, in ONE transaction, marks it taken, does the stage's work, records the properties
it skipped or failed, and marks it done. A worker killed mid-chunk leaves no trace of that
chunk (its transaction never commits) and the chunk is pending again: re-running finishes
the rest, and no chunk is done twice (``completions`` counts it).

**Several workers.** On PostgreSQL the chunk is locked ``FOR UPDATE SKIP LOCKED`` for its
transaction, so workers in any number of processes on any number of machines share a run
without waiting on one another; a killed worker's lock goes with its connection. SQLite
allows one writer: one process works a run. The mark-taken update is conditional on the
chunk being pending, so even a second process on SQLite cannot complete a chunk twice.

**Failures.** A stage that raises on a chunk is retried property by property, each in its
own savepoint: a property the stage refuses for a reason in the data (a typed error) is
``skipped`` with the message and later stages still take it; one that breaks the stage
(an unexpected error) is ``failed`` with the error and later stages leave it out. The run
goes on either way and its report counts both.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from reos.dealflow import read_model as dealflow_read
from reos.errors import Conflict, NotFound, ReosError, ValidationFailed
from reos.ingest import service as ingest_service
from reos.kernel.bulk import among, in_batches
from reos.models import PipelineChunk, PipelineItem, PipelineRun, PipelineSettings
from reos.owners import queries as owners_queries
from reos.pipeline import stages as pipeline_stages
from reos.pipeline.stages import STAGES, StageContext, StageOutcome
from reos.properties import read_model as properties_read

log = logging.getLogger("reos.pipeline")

DEFAULT_TOP_N = 100
DEFAULT_CHUNK_PROPERTIES = 500
#: Seconds a worker waits before looking again when every pending chunk of the current
#: stage is being worked by another worker.
WAIT_SECONDS = 0.2
STRATEGIES = ("rental", "flip")
DAILY_AT = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")

SessionFactory = Callable[[], AbstractContextManager[Session]]
#: Called after each chunk with the run's progress: (stage, chunks done, chunks) per stage.
Progress = Callable[[list[tuple[str, int, int]]], None]
#: Called at each progress boundary (a job's checkpoint raises past its time limit).
Checkpoint = Callable[[], None]
#: A test's hook between a chunk's work and its commit (to kill a worker mid-chunk).
ChunkHook = Callable[[PipelineChunk], None]


def _now() -> datetime:
    return datetime.now(UTC)


def worker_name() -> str:
    """Who works a chunk: host and process id, kept on the chunk for the report."""
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


# --- settings --------------------------------------------------------------------------


def settings_of(session: Session) -> PipelineSettings:
    """The organisation's settings row (the defaults, not yet stored, when it has none)."""
    row = session.scalars(select(PipelineSettings)).first()
    if row is None:
        row = PipelineSettings(
            shortlist_top_n=DEFAULT_TOP_N,
            shortlist_min_score=None,
            strategy="rental",
            chunk_properties=DEFAULT_CHUNK_PROPERTIES,
            daily_at=None,
        )
    return row


def _stored_settings(session: Session) -> PipelineSettings:
    row = settings_of(session)
    if row.id is None or row not in session:
        session.add(row)
        session.flush()
    return row


def update_settings(
    session: Session,
    *,
    shortlist_top_n: int | None = None,
    shortlist_min_score: int | None = None,
    strategy: str | None = None,
    chunk_properties: int | None = None,
    valuation_date: date | None = None,
    clear_valuation_date: bool = False,
) -> PipelineSettings:
    """Change the shortlist rule (the top N by score, or every property scoring at least
    a threshold: giving one clears the other), the underwriting strategy or the chunk size."""
    if shortlist_top_n is not None and shortlist_min_score is not None:
        raise ValidationFailed(
            "give either a top N or a minimum score for the shortlist, not both",
            field="shortlist_min_score",
        )
    if shortlist_top_n is not None and not 1 <= shortlist_top_n <= 100_000:
        raise ValidationFailed(
            f"the shortlist's top N must be 1 to 100000, got {shortlist_top_n}",
            field="shortlist_top_n",
        )
    if shortlist_min_score is not None and not 0 <= shortlist_min_score <= 100:
        raise ValidationFailed(
            f"the shortlist's minimum score must be 0 to 100, got {shortlist_min_score}",
            field="shortlist_min_score",
        )
    if strategy is not None and strategy not in STRATEGIES:
        raise ValidationFailed(
            f"the strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}",
            field="strategy",
        )
    if chunk_properties is not None and not 10 <= chunk_properties <= 10_000:
        raise ValidationFailed(
            f"properties per chunk must be 10 to 10000, got {chunk_properties}",
            field="chunk_properties",
        )
    row = _stored_settings(session)
    if shortlist_top_n is not None:
        row.shortlist_top_n, row.shortlist_min_score = shortlist_top_n, None
    if shortlist_min_score is not None:
        row.shortlist_top_n, row.shortlist_min_score = None, shortlist_min_score
    if strategy is not None:
        row.strategy = strategy
    if chunk_properties is not None:
        row.chunk_properties = chunk_properties
    if valuation_date is not None or clear_valuation_date:
        row.valuation_date = valuation_date
    session.flush()
    return row


def set_daily(session: Session, daily_at: str | None) -> PipelineSettings:
    """Run the pipeline every day at ``HH:MM`` UTC (the job workers start it), or never
    (None)."""
    if daily_at is not None and not DAILY_AT.match(daily_at):
        raise ValidationFailed(
            f"the daily time must be HH:MM (24-hour, UTC), got {daily_at!r}", field="daily"
        )
    row = _stored_settings(session)
    row.daily_at = daily_at
    session.flush()
    return row


# --- planning --------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.isoformat()


def _parse(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


def parse_since(value: str | None) -> datetime | None:
    """``--since`` as a UTC datetime: a date (midnight UTC) or an ISO date-time."""
    if value is None or value == "":
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(
            f"since must be a date (2026-12-01) or an ISO date-time, got {value!r}",
            field="since",
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_day(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(
            f"{field} must be a date (YYYY-MM-DD), got {value!r}", field=field
        ) from None


def unfinished_run(session: Session) -> PipelineRun | None:
    return session.scalars(
        select(PipelineRun).where(PipelineRun.status == "running").order_by(PipelineRun.created_at)
    ).first()


def last_finished_run(session: Session) -> PipelineRun | None:
    """The latest run that finished (or found nothing new): its watermarks are where the
    next run starts."""
    return session.scalars(
        select(PipelineRun)
        .where(PipelineRun.status.in_(["done", "nothing_new"]))
        .order_by(PipelineRun.finished_at.desc(), PipelineRun.created_at.desc())
    ).first()


def current_watermarks(session: Session) -> dict[str, str | None]:
    """The newest ``updated_at`` of each source table, now, held back by the imports still
    writing (:func:`held_back`)."""
    newest = properties_read.newest_changes(session)
    marks = {
        "properties": _iso(newest["properties"]),
        "sales": _iso(newest["sales"]),
        "owner_records": _iso(owners_queries.newest_record_change(session)),
        "list_memberships": _iso(dealflow_read.newest_membership_change(session)),
    }
    began = ingest_service.writes_in_flight_since(session)
    return {source: held_back(mark, began) for source, mark in marks.items()}


def held_back(mark: str | None, began: datetime | None) -> str | None:
    """``mark``, or just before the earliest import still writing began if that is earlier.

    A row's ``updated_at`` is the time its chunk was written, not the time it committed:
    an import writing while a run is planned commits rows later whose times may lie below
    the newest time the planner saw (another writer committed a newer row first). A mark
    past them would pass them by for good; a mark held back to the import's start makes
    the next run take them. The price: that next run also takes again what this run took
    after the mark (only ever while an import runs, and the stages are idempotent).
    ``began``: :func:`reos.ingest.service.writes_in_flight_since`."""
    if mark is None or began is None:
        return mark
    bound = (began if began.tzinfo else began.replace(tzinfo=UTC)) - timedelta(milliseconds=1)
    seen = _parse(mark)
    assert seen is not None
    return mark if seen <= bound else _iso(bound)


def changed_property_ids(session: Session, since: dict[str, Any]) -> set[uuid.UUID]:
    """The properties whose records changed after the given watermarks."""
    ids = properties_read.property_ids_changed_since(
        session, _parse(since.get("properties")), _parse(since.get("sales"))
    )
    ids |= owners_queries.property_ids_with_records_changed_since(
        session, _parse(since.get("owner_records"))
    )
    ids |= dealflow_read.property_ids_listed_since(session, _parse(since.get("list_memberships")))
    return ids


@dataclass(frozen=True)
class Planned:
    """The run to work on: ``resumed`` when an unfinished run was picked up, and
    ``nothing_new`` when nothing changed since the last run (nothing to do)."""

    run: PipelineRun
    resumed: bool
    nothing_new: bool


def plan_run(
    session: Session,
    *,
    since: datetime | None = None,
    trigger: str = "cli",
    scheduled_for: date | None = None,
) -> Planned:
    """Pick up the organisation's unfinished run, or plan a new one over what changed.

    Two planners of one organisation at once (two commands, two workers on a schedule)
    are serialised on the organisation's settings row, so one plans and the other resumes
    its run. A scheduled run for a day that already has one is refused (``Conflict``)."""
    settings = _stored_settings(session)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            select(PipelineSettings.id).where(PipelineSettings.id == settings.id).with_for_update()
        )
    running = unfinished_run(session)
    if running is not None:
        return Planned(running, True, False)
    if scheduled_for is not None:
        taken = session.scalar(
            select(PipelineRun.id).where(PipelineRun.scheduled_for == scheduled_for)
        )
        if taken is not None:
            raise Conflict(f"the pipeline already ran on schedule on {scheduled_for}")
    watermarks = current_watermarks(session)
    if since is not None:
        start: dict[str, Any] = {k: since.isoformat() for k in watermarks}
    else:
        last = last_finished_run(session)
        start = dict(last.watermarks) if last is not None else {}
    ids = sorted(changed_property_ids(session, start), key=str)
    changed_sources = sorted(
        source
        for source, newest in watermarks.items()
        if newest is not None and (start.get(source) is None or str(start[source]) < newest)
    )
    now = _now()
    run = PipelineRun(
        status="running" if ids else "nothing_new",
        trigger=trigger,
        since=since,
        watermarks=watermarks,
        properties_total=len(ids),
        stages=list(pipeline_stages.STAGE_NAMES),
        summary={"from": start, "changed_sources": changed_sources},
        scheduled_for=scheduled_for,
        started_at=now,
        finished_at=None if ids else now,
    )
    session.add(run)
    session.flush()
    if not ids:
        return Planned(run, False, True)
    size = settings.chunk_properties or DEFAULT_CHUNK_PROPERTIES
    pieces = [[str(i) for i in ids[k : k + size]] for k in range(0, len(ids), size)]
    everyone = [str(i) for i in ids]
    for order, stage in enumerate(STAGES):
        for seq, piece in enumerate(pieces if stage.per_property else [everyone]):
            session.add(
                PipelineChunk(
                    run_id=run.id,
                    stage=stage.name,
                    stage_order=order,
                    seq=seq,
                    property_ids=piece,
                    status="pending",
                    completions=0,
                )  # fmt: skip
            )
    session.flush()
    return Planned(run, False, False)


# --- working a chunk -------------------------------------------------------------------


def get_run(session: Session, run_id: uuid.UUID) -> PipelineRun:
    run = session.scalars(select(PipelineRun).where(PipelineRun.id == run_id)).first()
    if run is None:
        raise NotFound(f"no pipeline run {run_id} in this organisation", field="run_id")
    return run


def _context(session: Session, run: PipelineRun) -> StageContext:
    settings = settings_of(session)
    started = run.started_at or run.created_at
    return StageContext(
        run_id=run.id,
        as_of=settings.valuation_date or started.date(),
        strategy=settings.strategy,
        shortlist_top_n=settings.shortlist_top_n,
        shortlist_min_score=settings.shortlist_min_score,
        changed_sources=tuple((run.summary or {}).get("changed_sources", pipeline_stages.SOURCES)),
    )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ReosError):
        return exc.message[:1000]
    return f"{type(exc).__name__}: {exc}"[:1000]


def _failed_before(session: Session, run_id: uuid.UUID, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    out: set[uuid.UUID] = set()
    for batch in in_batches(ids):
        out.update(
            session.scalars(
                select(PipelineItem.property_id).where(
                    PipelineItem.run_id == run_id,
                    PipelineItem.outcome == "failed",
                    among(session, PipelineItem.property_id, batch),
                )
            )
        )
    return out


def _run_stage(
    session: Session, stage: pipeline_stages.Stage, ctx: StageContext, ids: list[uuid.UUID]
) -> tuple[StageOutcome, dict[uuid.UUID, str]]:
    """The stage's outcome on ``ids`` and the properties it failed on (with the error).
    A chunk that raises is done again property by property, each in a savepoint."""
    try:
        with session.begin_nested():
            return stage.run(session, ctx, ids), {}
    except Exception as exc:
        if not stage.per_property:
            log.exception("pipeline stage %s failed for the organisation", stage.name)
            return StageOutcome(result={"error": _describe(exc)}), {}
        if len(ids) == 1:
            if isinstance(exc, ReosError):
                return StageOutcome(skipped={ids[0]: _describe(exc)}), {}
            log.exception("pipeline stage %s failed on property %s", stage.name, ids[0])
            return StageOutcome(), {ids[0]: _describe(exc)}
    outcome, failed = StageOutcome(), {}
    for pid in ids:
        one, broke = _run_stage(session, stage, ctx, [pid])
        outcome.processed += one.processed
        outcome.skipped.update(one.skipped)
        failed.update(broke)
    return outcome, failed


def _claim(session: Session, run_id: uuid.UUID) -> PipelineChunk | str:
    """Lock the next pending chunk of the run's earliest unfinished stage, or say why none:
    ``"finished"`` (no chunk pending) or ``"wait"`` (other workers hold every pending
    chunk of the stage)."""
    current = session.scalar(
        select(func.min(PipelineChunk.stage_order)).where(
            PipelineChunk.run_id == run_id, PipelineChunk.status == "pending"
        )
    )
    if current is None:
        return "finished"
    stmt = (
        select(PipelineChunk)
        .where(
            PipelineChunk.run_id == run_id,
            PipelineChunk.status == "pending",
            PipelineChunk.stage_order == current,
        )
        .order_by(PipelineChunk.seq)
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    chunk = session.scalars(stmt).first()
    if chunk is None:
        return "wait"
    taken = session.execute(
        update(PipelineChunk)
        .where(PipelineChunk.id == chunk.id, PipelineChunk.status == "pending")
        .values(worker=worker_name())
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return "wait"
    return chunk


def _cover(session: Session, run: PipelineRun, source: str, newest: datetime | None) -> None:
    """Move the run's watermark of ``source`` up to ``newest`` (what its own stage wrote),
    held back as the planner's are (:func:`held_back`)."""
    mark = held_back(_iso(newest), ingest_service.writes_in_flight_since(session))
    marks = dict(run.watermarks)
    if mark is not None and (marks.get(source) or "") < mark:
        marks[source] = mark
        run.watermarks = marks


def _take_in_relisted(
    session: Session, run: PipelineRun, chunk: PipelineChunk, relisted: set[uuid.UUID]
) -> None:
    """The derived lists just refreshed may have put properties outside the run on a list
    or off one (an owner now known to live out of state): their score changes, so they
    join the run's later stages as extra chunks, and the run covers the list rows the
    refresh rewrote."""
    known = {uuid.UUID(str(x)) for x in chunk.property_ids}
    extra = sorted(relisted - known, key=str)
    _cover(session, run, "list_memberships", dealflow_read.newest_membership_change(session))
    if not extra:
        return
    size = settings_of(session).chunk_properties or DEFAULT_CHUNK_PROPERTIES
    pieces = [[str(i) for i in extra[k : k + size]] for k in range(0, len(extra), size)]
    everyone = [str(i) for i in extra]
    for order, stage in enumerate(STAGES):
        if order <= chunk.stage_order:
            continue
        last = session.scalar(
            select(func.max(PipelineChunk.seq)).where(
                PipelineChunk.run_id == run.id, PipelineChunk.stage == stage.name
            )
        )
        start = 0 if last is None else last + 1
        if not stage.per_property:
            # a whole-organisation stage takes every property of the run once
            whole = session.scalars(
                select(PipelineChunk).where(
                    PipelineChunk.run_id == run.id, PipelineChunk.stage == stage.name
                )
            ).first()
            if whole is not None:
                whole.property_ids = list(whole.property_ids) + everyone
            continue
        for seq, piece in enumerate(pieces, start):
            session.add(
                PipelineChunk(
                    run_id=run.id,
                    stage=stage.name,
                    stage_order=order,
                    seq=seq,
                    property_ids=piece,
                    status="pending",
                    completions=0,
                )  # fmt: skip
            )
    run.properties_total = run.properties_total + len(extra)
    run.summary = {**dict(run.summary), "relisted": len(extra)}


def work_one_chunk(
    session: Session, run_id: uuid.UUID, *, before_commit: ChunkHook | None = None
) -> PipelineChunk | str:
    """Take one chunk of the run and do it in the caller's transaction, done mark
    included; the chunk, or ``"finished"`` / ``"wait"`` (see :func:`_claim`)."""
    run = get_run(session, run_id)
    if run.status != "running":
        return "finished"
    claimed = _claim(session, run_id)
    if isinstance(claimed, str):
        return claimed
    chunk = claimed
    stage = pipeline_stages.stage_named(chunk.stage)
    ctx = _context(session, run)
    ids = [uuid.UUID(str(x)) for x in chunk.property_ids]
    excluded = _failed_before(session, run_id, ids)
    todo = [i for i in ids if i not in excluded]
    started = time.perf_counter()
    outcome, failed = _run_stage(session, stage, ctx, todo)
    if stage.name == "owners":
        # resolution stamps the records it resolved: the run covers those stamps
        _cover(session, run, "owner_records", owners_queries.newest_record_change(session))
    if stage.name == "lists":
        relisted = outcome.result.pop(pipeline_stages.RELISTED, [])
        _take_in_relisted(session, run, chunk, {uuid.UUID(x) for x in relisted})
    items = [(pid, "skipped", reason) for pid, reason in outcome.skipped.items()]
    items += [(pid, "failed", reason) for pid, reason in failed.items()]
    for pid, outcome_name, reason in items:
        session.add(
            PipelineItem(
                run_id=run_id,
                stage=stage.name,
                property_id=pid,
                outcome=outcome_name,
                reason=reason[:2000],
            )  # fmt: skip
        )
    if outcome.result.get("summary"):
        run.summary = {**dict(run.summary), **outcome.result.pop("summary")}
    session.flush()
    if before_commit is not None:
        before_commit(chunk)
    done = session.execute(
        update(PipelineChunk)
        .where(PipelineChunk.id == chunk.id, PipelineChunk.status == "pending")
        .values(
            status="done",
            completions=PipelineChunk.completions + 1,
            processed=outcome.processed,
            skipped=len(outcome.skipped),
            failed=len(failed),
            seconds=round(time.perf_counter() - started, 3),
            result=outcome.result,
            finished_at=_now(),
        )
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"chunk {chunk.stage} #{chunk.seq} was done by another worker")
    return chunk


def finish_run(session: Session, run_id: uuid.UUID) -> bool:
    """Mark the run done once no chunk is pending; True for the one worker that did."""
    pending = session.scalar(
        select(func.count(PipelineChunk.id)).where(
            PipelineChunk.run_id == run_id, PipelineChunk.status == "pending"
        )
    )
    if pending:
        return False
    done = session.execute(
        update(PipelineRun)
        .where(PipelineRun.id == run_id, PipelineRun.status == "running")
        .values(status="done", finished_at=_now())
        .execution_options(synchronize_session=False)
    )
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def progress_of(session: Session, run_id: uuid.UUID) -> list[tuple[str, int, int]]:
    """(stage, chunks done, chunks) for each stage of the run, in order."""
    rows = session.execute(
        select(
            PipelineChunk.stage,
            PipelineChunk.stage_order,
            func.count(PipelineChunk.id),
            func.sum(PipelineChunk.completions),
        )
        .where(PipelineChunk.run_id == run_id)
        .group_by(PipelineChunk.stage, PipelineChunk.stage_order)
        .order_by(PipelineChunk.stage_order)
    ).all()
    return [(stage, int(done or 0), int(total)) for stage, _o, total, done in rows]


def work_run(
    session_factory: SessionFactory,
    run_id: uuid.UUID,
    *,
    progress: Progress | None = None,
    checkpoint: Checkpoint | None = None,
    before_commit: ChunkHook | None = None,
    wait_seconds: float = WAIT_SECONDS,
) -> int:
    """Work the run's chunks, one transaction each, until none is pending (waiting while
    other workers hold the last ones), then mark the run done. Returns how many chunks
    this worker did. Any number of workers may call it at once on PostgreSQL."""
    mine = 0
    while True:
        if checkpoint is not None:
            checkpoint()
        with session_factory() as session:
            result = work_one_chunk(session, run_id, before_commit=before_commit)
        if isinstance(result, PipelineChunk):
            mine += 1
        if progress is not None:
            with session_factory() as session:
                progress(progress_of(session, run_id))
        if result == "finished":
            with session_factory() as session:
                finish_run(session, run_id)
            return mine
        if result == "wait":
            time.sleep(wait_seconds)


# --- reading runs ----------------------------------------------------------------------


def list_runs(
    session: Session, *, limit: int = 20, offset: int = 0
) -> tuple[list[PipelineRun], int]:
    total = int(session.scalar(select(func.count(PipelineRun.id))) or 0)
    rows = session.scalars(
        select(PipelineRun)
        .order_by(PipelineRun.created_at.desc(), PipelineRun.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), total


def stage_totals(
    session: Session, run_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """Per run, per stage in order: chunks (done of all) and the properties processed,
    skipped and failed, summed in one grouped query over the runs' chunks (the runs list
    shows them for a page of runs without reading each chunk; :func:`stage_reports` has
    the errors and reasons of one run)."""
    out: dict[uuid.UUID, list[dict[str, Any]]] = {run_id: [] for run_id in run_ids}
    if not run_ids:
        return out
    rows = session.execute(
        select(
            PipelineChunk.run_id,
            PipelineChunk.stage,
            PipelineChunk.stage_order,
            func.count(PipelineChunk.id),
            func.count(PipelineChunk.id).filter(PipelineChunk.status == "done"),
            func.coalesce(func.sum(PipelineChunk.processed), 0),
            func.coalesce(func.sum(PipelineChunk.skipped), 0),
            func.coalesce(func.sum(PipelineChunk.failed), 0),
        )
        .where(PipelineChunk.run_id.in_(list(run_ids)))
        .group_by(PipelineChunk.run_id, PipelineChunk.stage, PipelineChunk.stage_order)
        .order_by(PipelineChunk.run_id, PipelineChunk.stage_order)
    ).all()
    for run_id, stage, _order, chunks, done, processed, skipped, failed in rows:
        out.setdefault(run_id, []).append(
            {"stage": stage, "chunks": int(chunks), "chunks_done": int(done),
             "processed": int(processed), "skipped": int(skipped), "failed": int(failed)}
        )  # fmt: skip
    return out


def stage_reports(session: Session, run: PipelineRun) -> list[dict[str, Any]]:
    """Per stage of the run: chunks (done of all), properties handled, skipped and failed,
    seconds spent (summed over chunks, so over workers), the first reasons of what was
    skipped or failed, and what a whole-organisation stage reported."""
    chunks = session.scalars(
        select(PipelineChunk)
        .where(PipelineChunk.run_id == run.id)
        .order_by(PipelineChunk.stage_order, PipelineChunk.seq)
    ).all()
    reasons: dict[str, dict[str, int]] = {}
    examples: dict[str, list[dict[str, Any]]] = {}
    items = session.execute(
        select(PipelineItem.stage, PipelineItem.outcome, PipelineItem.reason,
               PipelineItem.property_id)
        .where(PipelineItem.run_id == run.id)
        .order_by(PipelineItem.stage, PipelineItem.created_at)
    )  # fmt: skip
    for stage, outcome, reason, pid in items:
        counts = reasons.setdefault(stage, {})
        key = f"{outcome}: {reason}"
        counts[key] = counts.get(key, 0) + 1
        if outcome == "failed" and len(examples.setdefault(stage, [])) < 20:
            examples[stage].append({"property_id": str(pid), "reason": reason})
    out: list[dict[str, Any]] = []
    for stage in run.stages or []:
        mine = [c for c in chunks if c.stage == stage]
        if not mine:
            continue
        errors = [c.result["error"] for c in mine if c.result.get("error")]
        result = {}
        for c in mine:
            result.update({k: v for k, v in c.result.items() if k != "error"})
        out.append(
            {
                "stage": stage,
                "chunks": len(mine),
                "chunks_done": sum(1 for c in mine if c.status == "done"),
                "processed": sum(c.processed for c in mine),
                "skipped": sum(c.skipped for c in mine),
                "failed": sum(c.failed for c in mine),
                "seconds": round(sum(c.seconds for c in mine), 3),
                "errors": errors,
                "reasons": dict(sorted(reasons.get(stage, {}).items(), key=lambda kv: -kv[1])[:10]),
                "failed_properties": examples.get(stage, []),
                "result": result,
            }
        )
    return out


def failed_items(
    session: Session, run_id: uuid.UUID, *, stage: str | None = None, limit: int = 100
) -> Sequence[PipelineItem]:
    stmt = select(PipelineItem).where(PipelineItem.run_id == run_id)
    if stage is not None:
        stmt = stmt.where(PipelineItem.stage == stage)
    return session.scalars(
        stmt.order_by(PipelineItem.stage, PipelineItem.property_id).limit(limit)
    ).all()


def chunk_counts(session: Session, run_id: uuid.UUID) -> dict[str, int]:
    """Chunks of the run, those done, and the sum of their completions (equal to the
    chunks done in a sound run: no chunk done twice)."""
    total, done, completions = session.execute(
        select(
            func.count(PipelineChunk.id),
            func.count(PipelineChunk.id).filter(PipelineChunk.status == "done"),
            func.coalesce(func.sum(PipelineChunk.completions), 0),
        ).where(PipelineChunk.run_id == run_id)
    ).one()
    return {"chunks": int(total), "done": int(done), "completions": int(completions)}


def enqueue_run(session: Session, *, since: datetime | None = None, workers: int = 1) -> uuid.UUID:
    """Queue a run as a background job (the job workers plan it, or pick up the unfinished
    one, and work it); with ``workers`` > 1 as many job workers join it. Returns the job id."""
    from reos.jobs import queue

    if not 1 <= workers <= 32:
        raise ValidationFailed(f"workers must be 1 to 32, got {workers}", field="workers")
    payload: dict[str, Any] = {"workers": workers}
    if since is not None:
        payload["since"] = since.isoformat()
    return queue.enqueue(session, "pipeline.run", payload).id


def daily_due(settings: PipelineSettings, now: datetime) -> date | None:
    """The day whose scheduled run is due at ``now`` (UTC), or None (no schedule, or
    not yet time today)."""
    if not settings.daily_at:
        return None
    hour, minute = (int(x) for x in settings.daily_at.split(":"))
    if (now.hour, now.minute) < (hour, minute):
        return None
    return now.date()


def plan_scheduled(session: Session, now: datetime) -> Planned | None:
    """Plan today's scheduled run when it is due and not yet planned; None otherwise."""
    day = daily_due(settings_of(session), now)
    if day is None:
        return None
    if session.scalar(select(PipelineRun.id).where(PipelineRun.scheduled_for == day)):
        return None
    try:
        return plan_run(session, trigger="schedule", scheduled_for=day)
    except Conflict:
        return None
