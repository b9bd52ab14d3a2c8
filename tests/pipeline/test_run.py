"""One pipeline run end to end on both stores: every stage through its domain's front,
recorded per stage; a second run with nothing new does nothing; a change is picked up
alone; deals are rescored, never duplicated; a property that breaks a stage is marked
with the reason and the run goes on."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reos.db.session import tenant_session
from reos.models import Deal, DealEvent, DealScore, PipelineChunk, PipelineItem, Valuation
from reos.pipeline import service
from reos.pipeline.stages import STAGE_NAMES


def unit(org_id: uuid.UUID) -> Any:
    @contextmanager
    def factory() -> Iterator[Session]:
        with tenant_session(org_id) as session:
            yield session

    return factory


def run_once(org_id: uuid.UUID, **kw: Any) -> service.Planned:
    with tenant_session(org_id) as session:
        planned = service.plan_run(session, **kw)
    if not planned.nothing_new:
        service.work_run(unit(org_id), planned.run.id)
    return planned


def count(org_id: uuid.UUID, stmt: Any) -> int:
    with tenant_session(org_id) as session:
        return int(session.scalar(stmt) or 0)


def test_a_run_takes_every_property_through_every_stage_once(world: dict[str, Any]) -> None:
    org_id = world["org_id"]
    planned = run_once(org_id)
    assert not planned.nothing_new and not planned.resumed
    properties = planned.run.properties_total
    assert properties == len(world["files"].parcels)
    with tenant_session(org_id) as session:
        run = service.get_run(session, planned.run.id)
        assert run.status == "done" and run.finished_at is not None
        reports = {r["stage"]: r for r in service.stage_reports(session, run)}
        counts = service.chunk_counts(session, run.id)
    assert list(reports) == list(STAGE_NAMES)
    assert counts["chunks"] == counts["done"] == counts["completions"]
    per_property = ("normalise", "value", "underwrite", "score")
    for stage in per_property:
        r = reports[stage]
        assert r["chunks"] == r["chunks_done"] == -(-properties // 100)
        assert r["processed"] + r["skipped"] + r["failed"] == properties, stage
    assert reports["owners"]["result"]["records"] == properties
    assert reports["lists"]["result"]["derived_lists"]["absentee"] > 0
    assert reports["value"]["processed"] > 0
    assert count(org_id, select(func.count(Valuation.id))) == reports["value"]["processed"]
    assert count(org_id, select(func.count(DealScore.id))) == properties
    # the shortlist: the organisation's top 100 by score became deals at `new`
    assert reports["shortlist"]["result"]["created"] == 100
    assert count(org_id, select(func.count(Deal.id)).where(Deal.stage == "new")) == 100
    top = run.summary["top_deals"]
    assert len(top) == 20 and all(d["reasons"] and d["deal_id"] for d in top)
    assert [d["score"] for d in top] == sorted((d["score"] for d in top), reverse=True)
    with tenant_session(org_id) as session:
        best = session.scalar(select(func.max(DealScore.score)))
    assert top[0]["score"] == best


def test_nothing_new_does_nothing_and_a_change_is_taken_alone(world: dict[str, Any]) -> None:
    from reos.properties import service as properties_service

    org_id = world["org_id"]
    first = run_once(org_id)
    deals_before = count(org_id, select(func.count(Deal.id)))
    valuations_before = count(org_id, select(func.count(Valuation.id)))
    again = run_once(org_id)
    assert again.nothing_new and again.run.status == "nothing_new"
    assert count(org_id, select(func.count(PipelineChunk.id)).where(
        PipelineChunk.run_id == again.run.id)) == 0  # fmt: skip
    assert count(org_id, select(func.count(Valuation.id))) == valuations_before
    # three properties change (one of them already a deal): only they go through
    with tenant_session(org_id) as session:
        deal_property = session.scalars(select(Deal.property_id).limit(1)).one()
        others = session.scalars(
            select(DealScore.property_id).where(DealScore.property_id != deal_property).limit(2)
        ).all()
        changed = [deal_property, *others]
        for pid in changed:
            properties_service.update_property(session, pid, {"beds": 9})
    third = run_once(org_id)
    assert third.run.properties_total == 3
    with tenant_session(org_id) as session:
        reports = {r["stage"]: r for r in service.stage_reports(session, third.run)}
        top = service.get_run(session, third.run.id).summary["top_deals"]
    assert reports["score"]["processed"] == 3
    assert reports["value"]["processed"] + reports["value"]["skipped"] == 3
    # the deal already in the CRM was taken again, never duplicated
    assert count(org_id, select(func.count(Deal.id))) == deals_before
    with tenant_session(org_id) as session:
        open_deals = session.scalars(
            select(Deal.property_id).where(Deal.open_property_id.is_not(None))
        ).all()
    assert len(open_deals) == len(set(open_deals))
    assert top and first.run.id != third.run.id
    # the deal's timeline shows the new underwriting (and valuation, when it was valued)
    with tenant_session(org_id) as session:
        deal = session.scalars(select(Deal).where(Deal.open_property_id == deal_property)).one()
        kinds = set(session.scalars(select(DealEvent.kind).where(DealEvent.deal_id == deal.id)))
    assert "underwriting" in kinds and {"shortlisted"} <= kinds


def test_since_takes_everything_changed_after_the_day(world: dict[str, Any]) -> None:
    from datetime import UTC, datetime

    org_id = world["org_id"]
    run_once(org_id)
    again = run_once(org_id, since=datetime(2000, 1, 1, tzinfo=UTC))
    assert again.run.properties_total == len(world["files"].parcels)
    assert count(org_id, select(func.count(Deal.id))) == 100  # rescored, not duplicated


def _run_properties(org_id: uuid.UUID, run_id: uuid.UUID) -> set[uuid.UUID]:
    with tenant_session(org_id) as session:
        lists = session.scalars(
            select(PipelineChunk.property_ids).where(
                PipelineChunk.run_id == run_id, PipelineChunk.stage_order == 0
            )
        ).all()
    return {uuid.UUID(str(pid)) for ids in lists for pid in ids}


def test_rows_an_import_commits_after_a_run_was_planned_are_taken_by_the_next(
    world: dict[str, Any],
) -> None:
    """The watermark race: an import is still writing when a run is planned, another
    writer's newer change is already committed, and the import's row (written earlier,
    committed later) carries a time below the newest the planner saw. The run's
    watermarks are held back to the import's start, so the next run takes that row; the
    run after that has nothing new."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from reos.models import ImportRun, Property
    from reos.properties import service as properties_service

    org_id = world["org_id"]
    run_once(org_id)
    began = datetime.now(UTC)
    with tenant_session(org_id) as session:
        importing = ImportRun(
            entity="properties", filename="county.csv", file_sha256="0" * 64,
            fingerprint=uuid.uuid4().hex, source_name="county", status="running",
            started_at=began,
        )  # fmt: skip
        session.add(importing)
        session.flush()
        import_id = importing.id
        first, late = session.scalars(select(Property.id).order_by(Property.id).limit(2)).all()
        properties_service.update_property(session, first, {"beds": 9})  # committed first
    planned = run_once(org_id)
    assert first in _run_properties(org_id, planned.run.id)
    with tenant_session(org_id) as session:
        newest = session.scalar(select(Property.updated_at).where(Property.id == first))
        assert newest is not None
        marks = service.get_run(session, planned.run.id).watermarks
    assert datetime.fromisoformat(marks["properties"]) < began
    # the import's chunk commits now; its row was written before the other change
    written = began + (newest.replace(tzinfo=newest.tzinfo or UTC) - began) / 2
    with tenant_session(org_id) as session:
        session.execute(
            update(Property).where(Property.id == late).values(beds=8, updated_at=written)
        )
        session.execute(update(ImportRun).where(ImportRun.id == import_id).values(status="done"))
    taken = run_once(org_id)
    assert not taken.nothing_new
    assert late in _run_properties(org_id, taken.run.id)
    assert run_once(org_id).nothing_new
    # an import that stopped writing an hour ago holds nothing back
    with tenant_session(org_id) as session:
        session.execute(
            update(ImportRun).where(ImportRun.id == import_id)
            .values(status="running", updated_at=began - timedelta(hours=2))
        )  # fmt: skip
        properties_service.update_property(session, first, {"beds": 7})
    again = run_once(org_id)
    assert _run_properties(org_id, again.run.id) == {first}
    assert run_once(org_id).nothing_new


def test_a_property_that_breaks_a_stage_is_marked_and_the_run_goes_on(
    world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from reos.valuation import service as valuation_service

    org_id = world["org_id"]
    with tenant_session(org_id) as session:
        victim = session.scalars(select(DealScore.property_id)).first()
    real = valuation_service.value_properties
    with tenant_session(org_id) as session:
        planned = service.plan_run(session)
        ids = [uuid.UUID(x) for x in session.scalars(
            select(PipelineChunk.property_ids).where(PipelineChunk.run_id == planned.run.id,
                                                     PipelineChunk.stage == "value")).first()]  # fmt: skip
    victim = ids[17]

    def breaking(session: Session, property_ids: Any, as_of: Any = None) -> Any:
        if victim in property_ids:
            raise RuntimeError("disk on fire")
        return real(session, property_ids, as_of)

    monkeypatch.setattr(valuation_service, "value_properties", breaking)
    service.work_run(unit(org_id), planned.run.id)
    with tenant_session(org_id) as session:
        run = service.get_run(session, planned.run.id)
        reports = {r["stage"]: r for r in service.stage_reports(session, run)}
        items = session.scalars(select(PipelineItem).where(PipelineItem.outcome == "failed")).all()
        scored = session.scalar(
            select(func.count(DealScore.id)).where(DealScore.property_id == victim)
        )
    assert run.status == "done"
    assert [(i.stage, i.property_id, i.reason) for i in items] == [
        ("value", victim, "RuntimeError: disk on fire")
    ]
    assert reports["value"]["failed"] == 1
    assert reports["value"]["failed_properties"] == [
        {"property_id": str(victim), "reason": "RuntimeError: disk on fire"}
    ]
    total = run.properties_total
    assert reports["value"]["processed"] + reports["value"]["skipped"] == total - 1
    # later stages leave the broken property out; the others go on
    assert reports["score"]["processed"] == total - 1
    assert scored == 0


def test_settings_are_checked_and_name_the_field(world: dict[str, Any]) -> None:
    from reos.errors import ValidationFailed

    with tenant_session(world["org_id"]) as session:
        for kwargs, field in (
            ({"shortlist_top_n": 0}, "shortlist_top_n"),
            ({"shortlist_min_score": 101}, "shortlist_min_score"),
            ({"strategy": "timeshare"}, "strategy"),
            ({"chunk_properties": 3}, "chunk_properties"),
            ({"shortlist_top_n": 5, "shortlist_min_score": 5}, "shortlist_min_score"),
        ):
            with pytest.raises(ValidationFailed) as caught:
                service.update_settings(session, **kwargs)
            assert caught.value.field == field
        with pytest.raises(ValidationFailed) as caught:
            service.set_daily(session, "25:00")
        assert caught.value.field == "daily"


def test_a_threshold_shortlists_every_property_scoring_at_least_it(world: dict[str, Any]) -> None:
    org_id = world["org_id"]
    with tenant_session(org_id) as session:
        service.update_settings(session, shortlist_min_score=60)
    run_once(org_id)
    with tenant_session(org_id) as session:
        high = session.scalar(select(func.count(DealScore.id)).where(DealScore.score >= 60))
        deals = session.scalar(select(func.count(Deal.id)))
    assert deals == high


def test_ages_in_the_score_are_measured_from_the_day_the_run_values_as_of(
    world: dict[str, Any],
) -> None:
    """A run over historical data values as of its ``as_of`` day; the score measures the
    value's age (and years owned, days since listed) from that day, not the calendar, so
    the demo's 2010 data no longer reads "value 5971 days old"."""
    from datetime import timedelta

    from reos.dealflow import service as dealflow

    org_id = world["org_id"]
    run_once(org_id)
    with tenant_session(org_id) as session:
        as_of = session.scalar(select(func.max(Valuation.valuation_date)))
        assert as_of is not None
        stored = session.execute(select(DealScore.property_id, DealScore.reasons)).all()
        valued = list(session.scalars(select(Valuation.property_id)))
        assert valued
        same_day = dealflow.score_properties(session, valued[:20], store=False, today=as_of)
        later = dealflow.score_properties(
            session, valued[:20], store=False, today=as_of + timedelta(days=3000)
        )
    assert all(s.features["value_age_days"] == 0 for s in same_day)
    assert all(s.features["value_age_days"] == 3000 for s in later)
    assert any("days old" in r for s in later for r in s.reasons)
    assert not any("days old" in r for _pid, reasons in stored for r in reasons or [])
