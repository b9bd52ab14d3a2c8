"""The pipeline's front: shortlisting creates each deal once and rescores it after, and
the outcomes the deal score learns from."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from reos.crm import offers, read_model, service
from reos.errors import NotFound, ValidationFailed
from reos.models import Deal, DealEvent
from tests.crm.conftest import acting, make_properties


def test_shortlist_creates_then_rescores_never_duplicates(org: Any) -> None:
    a, b, c = make_properties(org.id, 3)
    with acting(org.id) as s:
        first = service.shortlist(s, [(a, 80, ["+18 on 3 lists"]), (b, 60, ["+5 absentee"])])
    assert (first.created, first.rescored) == (2, 0)
    assert len(first.deal_ids) == 2
    with acting(org.id) as s:
        again = service.shortlist(s, [(a, 80, ["+18 on 3 lists"]), (b, 65, ["+10 absentee"]),
                                      (c, 40, [])])  # fmt: skip
    # a unchanged (no event), b rescored, c new
    assert (again.created, again.rescored) == (1, 1)
    assert again.deal_ids[:2] == first.deal_ids
    with acting(org.id) as s:
        deals = {d.property_id: d for d in s.scalars(select(Deal))}
        assert len(deals) == 3
        assert deals[b].score == 65 and deals[b].reasons == ["+10 absentee"]
        assert deals[a].stage == "new" and deals[a].city == "Ames"
        kinds = s.scalars(
            select(DealEvent.kind).where(DealEvent.deal_id == deals[b].id).order_by(
                DealEvent.occurred_at)
        ).all()  # fmt: skip
        assert list(kinds) == ["shortlisted", "rescored"]
        rescored = s.scalars(select(DealEvent).where(DealEvent.kind == "rescored")).one()
        assert rescored.detail["old_score"] == 60 and rescored.detail["score"] == 65


def test_shortlist_after_close_opens_a_new_deal(org: Any) -> None:
    (a,) = make_properties(org.id, 1)
    with acting(org.id) as s:
        deal_id = service.shortlist(s, [(a, 70, [])]).deal_ids[0]
    with acting(org.id) as s:
        service.move(s, deal_id, "dead", reason="owner not selling")
    with acting(org.id) as s:
        result = service.shortlist(s, [(a, 75, [])])
        assert result.created == 1 and result.deal_ids[0] != deal_id
        assert s.scalar(select(func.count(Deal.id)).where(Deal.property_id == a)) == 2


def test_shortlist_refuses_unknown_property_and_bad_score(org: Any, other_org: Any) -> None:
    (theirs,) = make_properties(other_org.id, 1)
    with acting(org.id) as s, pytest.raises(NotFound, match="not found"):
        service.shortlist(s, [(theirs, 50, [])])
    (mine,) = make_properties(org.id, 1)
    with acting(org.id) as s, pytest.raises(ValidationFailed, match="outside 0-100"):
        service.shortlist(s, [(mine, 101, [])])
    with acting(org.id) as s:
        assert s.scalar(select(func.count(Deal.id))) == 0


def test_outcomes_from_stages_and_offers(org: Any) -> None:
    won, lost, dead, accepted, rejected, pending = make_properties(org.id, 6)
    with acting(org.id) as s:
        ids = dict(
            zip(
                "won lost dead accepted rejected pending".split(),
                service.shortlist(
                    s, [(p, 50, []) for p in (won, lost, dead, accepted, rejected, pending)]
                ).deal_ids,
                strict=True,
            )
        )
    with acting(org.id) as s:
        service.move(s, ids["won"], "closed_won")
        service.move(s, ids["lost"], "closed_lost", reason="outbid")
        service.move(s, ids["dead"], "dead", reason="bad title")
        for name in ("accepted", "rejected"):
            offer = offers.create_offer(s, deal_id=ids[name], price="100000.00")
            offers.transition(s, offer.id, "sent")
            offers.transition(s, offer.id, name)
    with acting(org.id) as s:
        got = dict(read_model.outcomes(s))
    assert got == {won: True, lost: False, dead: False, accepted: True, rejected: False}
    assert pending not in got


def test_unknown_ids_are_not_found_across_orgs(org: Any, other_org: Any) -> None:
    (a,) = make_properties(org.id, 1)
    with acting(org.id) as s:
        deal_id = service.shortlist(s, [(a, 50, [])]).deal_ids[0]
    with acting(other_org.id) as s, pytest.raises(NotFound):
        service.get_deal(s, deal_id)
    with acting(other_org.id) as s, pytest.raises(NotFound):
        service.move(s, deal_id, "contacted")
    with acting(other_org.id) as s, pytest.raises(NotFound):
        offers.create_offer(s, deal_id=deal_id, price=1000)
    with acting(other_org.id) as s, pytest.raises(NotFound):
        offers.create_offer(s, property_id=a, price=1000)
    with acting(org.id) as s:
        assert service.get_deal(s, deal_id).stage == "new"
        assert s.scalar(select(func.count(DealEvent.id))) == 1
    assert uuid.UUID(str(deal_id))


def test_two_shortlists_racing_make_each_deal_once(org: Any, is_pg: bool) -> None:
    if not is_pg:
        pytest.skip("concurrent writers are PostgreSQL's case; SQLite runs one at a time")
    import threading

    props = make_properties(org.id, 40)
    barrier = threading.Barrier(2)
    results: list[service.ShortlistResult] = []
    errors: list[BaseException] = []

    def pipeline_worker(score: int) -> None:
        try:
            with acting(org.id, "pipeline") as s:
                barrier.wait(timeout=30)
                results.append(service.shortlist(s, [(p, score, []) for p in props]))
        except BaseException as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)

    threads = [threading.Thread(target=pipeline_worker, args=(sc,)) for sc in (60, 61)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert sum(r.created for r in results) == 40
    assert results[0].deal_ids == results[1].deal_ids  # the same deal for each property
    with acting(org.id) as s:
        assert s.scalar(select(func.count(Deal.id))) == 40


def test_activity_recorded_on_a_propertys_open_deal(org: Any) -> None:
    a, b = make_properties(org.id, 2)
    with acting(org.id) as s:
        (deal_id,) = service.shortlist(s, [(a, 50, [])]).deal_ids
    with acting(org.id, "pipeline") as s:
        event = service.record_property_activity(
            s, a, "valuation", {"estimated_value": 182000, "confidence": "B"}
        )
        assert event is not None and event.deal_id == deal_id
        assert service.record_property_activity(s, b, "valuation", {}) is None
    with acting(org.id) as s:
        kinds = [e.kind for e in service.events_of(s, deal_id)]
        assert kinds == ["shortlisted", "valuation"]
        assert service.events_of(s, deal_id)[-1].actor == "pipeline"
