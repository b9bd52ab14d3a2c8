"""The stage rules on plain data, and keyset pages that neither repeat nor skip a deal
whatever the sort, ties included."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from reos.crm import listing, service
from reos.crm.stages import DEFAULT_STAGES, DealFacts, Stage, check_move, check_stage_list
from reos.errors import ValidationFailed
from tests.crm.conftest import acting, make_properties


def test_moves_need_their_data() -> None:
    new = DealFacts("new", ())
    with pytest.raises(ValidationFailed, match="offer_sent needs an offer"):
        check_move(DEFAULT_STAGES, new, "offer_sent", None)
    stage, send = check_move(DEFAULT_STAGES, DealFacts("new", ("draft",)), "offer_sent", None)
    assert (stage.name, send) == ("offer_sent", True)
    stage, send = check_move(
        DEFAULT_STAGES, DealFacts("new", ("draft", "sent")), "offer_sent", None
    )
    assert send is False  # an offer is out already: nothing more is sent
    with pytest.raises(ValidationFailed, match="accepted offer"):
        check_move(DEFAULT_STAGES, DealFacts("offer_sent", ("sent", "rejected")),
                   "under_contract", None)  # fmt: skip
    assert check_move(DEFAULT_STAGES, DealFacts("x", ("accepted",)), "under_contract", None)
    for lost in ("closed_lost", "dead"):
        with pytest.raises(ValidationFailed, match="needs a reason"):
            check_move(DEFAULT_STAGES, new, lost, "   ")
        assert check_move(DEFAULT_STAGES, new, lost, "no equity")[0].terminal
    assert check_move(DEFAULT_STAGES, new, "closed_won", None)[0].outcome == "won"
    with pytest.raises(ValidationFailed, match="reopen it"):
        check_move(DEFAULT_STAGES, DealFacts("dead", ()), "closed_won", None)
    with pytest.raises(ValidationFailed) as err:
        check_move(DEFAULT_STAGES, new, "Contacted", None)
    assert err.value.detail["valid"] == [s.name for s in DEFAULT_STAGES]


def test_a_stage_list_is_checked_whole() -> None:
    check_stage_list(DEFAULT_STAGES)
    with pytest.raises(ValidationFailed) as err:
        check_stage_list([Stage("new", terminal=True), Stage("Won", outcome="won"), Stage("new")])
    problems = err.value.detail["problems"]
    assert any("'Won'" in p for p in problems)
    assert any("listed twice" in p for p in problems)
    assert any("only a terminal stage has an outcome" in p for p in problems)
    assert any("cannot be terminal" in p for p in problems)


@pytest.mark.parametrize("sort", ["-score", "score", "due", "-due", "address", "-updated"])
def test_keyset_pages_cover_every_deal_once(org: Any, sort: str) -> None:
    props = make_properties(org.id, 23)
    with acting(org.id) as s:
        # few distinct values: most of each page boundary falls inside a tie
        ids = service.shortlist(s, [(p, 50 + n % 3, []) for n, p in enumerate(props)]).deal_ids
        for n, deal_id in enumerate(ids[:10]):
            due = None if n % 2 else date(2027, 1, 1 + n % 4)
            changes = {"next_action": "call", "next_action_due": due}
            service.update_deal(s, deal_id, changes, expected_version=None)
    seen: list[Any] = []
    cursor = None
    with acting(org.id) as s:
        while True:
            rows, cursor = listing.page(s, listing.DealFilters(), sort, 4, cursor)
            seen += [r.id for r in rows]
            if cursor is None:
                break
        everything = listing.ordered(listing.filtered(listing.DealFilters()), sort, None)
        expected = [d.id for d in s.scalars(everything)]
    assert len(seen) == len(set(seen)) == 23
    assert seen == expected
