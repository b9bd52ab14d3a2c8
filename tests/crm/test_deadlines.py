"""Deadlines move deals by themselves: offers past expiry expire and inspection periods
that end raise a task — once, however many workers run the job at the same time."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from reos.crm import deadlines, offers, service
from reos.crm.jobs import deadlines as deadlines_job
from reos.domains import schedules
from reos.models import DealEvent, DealTask, Offer
from tests.crm.conftest import acting, make_properties


def _offers(org_id: Any, count: int) -> tuple[list[Any], list[Any]]:
    """``count`` sent offers and ``count`` accepted ones with a 7-day inspection period,
    then moved into the past (as if the time had passed): every sent offer expired an
    hour ago, every inspection period ended an hour ago."""
    props = make_properties(org_id, 2 * count)
    with acting(org_id) as s:
        deal_ids = service.shortlist(s, [(p, 50, []) for p in props]).deal_ids
    later = datetime.now(UTC) + timedelta(days=2)
    sent, accepted = [], []
    with acting(org_id) as s:
        for n, deal_id in enumerate(deal_ids):
            offer = offers.create_offer(
                s, deal_id=deal_id, price="99000.00", expires_at=later,
                terms={"inspection_days": 7},
            )  # fmt: skip
            offers.transition(s, offer.id, "sent")
            if n % 2:
                offers.transition(s, offer.id, "accepted")
                accepted.append(offer.id)
            else:
                sent.append(offer.id)
        past = datetime.now(UTC) - timedelta(hours=1)
        s.execute(update(Offer).where(Offer.id.in_(sent)).values(expires_at=past))
        s.execute(update(Offer).where(Offer.id.in_(accepted)).values(inspection_ends_at=past))
    return sent, accepted


def _counts(org_id: Any) -> tuple[int, int, int]:
    with acting(org_id) as s:
        expired = s.scalar(select(func.count(Offer.id)).where(Offer.status == "expired"))
        events = s.scalar(select(func.count(DealEvent.id)).where(DealEvent.kind == "offer_expired"))
        tasks = s.scalar(
            select(func.count(DealTask.id)).where(DealTask.source_key.like("inspection:%"))
        )
    return int(expired or 0), int(events or 0), int(tasks or 0)


def test_the_schedule_is_declared() -> None:
    declared = {s.job_kind: s.every_seconds for s in schedules()}
    assert declared["crm.deadlines"] == 15 * 60


def test_expiry_and_inspection_task_once(org: Any) -> None:
    sent, accepted = _offers(org.id, 3)
    with acting(org.id) as s:
        # not yet: an hour and a half ago nothing had passed
        early = deadlines.run_deadlines(s, datetime.now(UTC) - timedelta(hours=2))
    assert early == deadlines.DeadlineReport(0, 0)
    deadlines_job(org.id, {"period_start": datetime.now(UTC).isoformat()}, lambda: None)
    assert _counts(org.id) == (3, 3, 3)
    deadlines_job(org.id, {}, lambda: None)  # a second run changes nothing
    assert _counts(org.id) == (3, 3, 3)
    with acting(org.id) as s:
        event = s.scalars(select(DealEvent).where(DealEvent.kind == "offer_expired")).first()
        assert event is not None and event.actor == "job:crm.deadlines"
        task = s.scalars(select(DealTask).where(DealTask.source_key.like("inspection:%"))).first()
        assert task is not None and task.title.startswith("Inspection period ended")
        # an expired offer is final
    with acting(org.id) as s, pytest.raises(Exception, match="expired"):
        offers.transition(s, sent[0], "accepted")
    assert len(accepted) == 3


def test_two_workers_racing_do_it_exactly_once(org: Any, is_pg: bool) -> None:
    if not is_pg:
        pytest.skip(
            "two concurrent writers are PostgreSQL's case: SQLite runs one writer at a time "
            "(the sequential re-run is tested above)"
        )
    count = 20
    _offers(org.id, count)
    barrier = threading.Barrier(2)
    reports: list[deadlines.DeadlineReport] = []
    errors: list[BaseException] = []
    now = datetime.now(UTC)

    def worker() -> None:
        try:
            with acting(org.id, "worker") as s:
                barrier.wait(timeout=30)
                reports.append(deadlines.run_deadlines(s, now))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert sum(r.offers_expired for r in reports) == count
    assert sum(r.inspection_tasks for r in reports) == count
    assert _counts(org.id) == (count, count, count)


def test_an_expired_offer_moves_its_deal_back_to_negotiating_with_a_follow_up(org: Any) -> None:
    """A deal left at offer_sent by an expired offer goes back to negotiating (a timeline
    event with the cause) and gets one follow-up task; a deal with another live offer
    stays where it is."""
    props = make_properties(org.id, 2)
    with acting(org.id) as s:
        lone, other = service.shortlist(s, [(p, 50, []) for p in props]).deal_ids
        later = datetime.now(UTC) + timedelta(days=2)
        first = offers.create_offer(s, deal_id=lone, price="120000.00", expires_at=later)
        offers.transition(s, first.id, "sent")
        a = offers.create_offer(s, deal_id=other, price="90000.00", expires_at=later)
        offers.transition(s, a.id, "sent")
        b = offers.create_offer(s, deal_id=other, price="95000.00")
        offers.transition(s, b.id, "sent")
        assert service.get_deal(s, lone).stage == "offer_sent"
        past = datetime.now(UTC) - timedelta(hours=1)
        s.execute(update(Offer).where(Offer.id.in_([first.id, a.id])).values(expires_at=past))
    for _ in range(2):  # twice: the second run changes nothing
        deadlines_job(org.id, {}, lambda: None)
    with acting(org.id) as s:
        moved = service.get_deal(s, lone)
        assert moved.stage == "negotiating"
        kept = service.get_deal(s, other)
        assert kept.stage == "offer_sent"  # offer b is still live
        change = s.scalars(
            select(DealEvent)
            .where(DealEvent.deal_id == lone, DealEvent.kind == "stage_changed")
            .order_by(DealEvent.occurred_at.desc())
        ).first()
        assert change is not None
        assert change.detail["to"] == "negotiating" and change.detail["cause"] == "deadline"
        tasks = s.scalars(select(DealTask).where(DealTask.source_key.like("expired:%"))).all()
        assert sorted(t.deal_id for t in tasks) == sorted([lone, other])
        assert all("expired on" in t.title and "$" in t.title for t in tasks)
