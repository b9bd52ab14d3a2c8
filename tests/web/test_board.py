"""The CRM board: stage columns of deal cards, moves by the keyboard form and by drag and
drop (with the API's stage rules and version check), the tasks panel, and the page's
security and accessibility."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.crm.conftest import acting
from tests.web.conftest import check_axe, shot

from reos.crm import offers
from reos.crm import service as crm
from reos.db.base import utcnow
from reos.models import Deal
from reos.properties import service as properties_service

STREETS = [
    ("1418 Maple Ave", "Ames", "50010", 91),
    ("27 Birch Ct", "Ames", "50014", 84),
    ("903 Lincoln Way", "Ames", "50010", 77),
    ("5120 Ontario St", "Ames", "50014", 72),
    ("66 Duff Ave", "Nevada", "50201", 68),
    ("2311 Hoover Ave", "Ames", "50010", 63),
    ("418 Grand Ave", "Ames", "50010", 58),
    ("1702 Carroll Ave", "Boone", "50036", 49),
    ("310 S 4th St", "Nevada", "50201", 44),
    ("88 Oakwood Rd", "Ames", "50014", 37),
    ("1209 Kellogg Ave", "Ames", "50010", 29),
    ("45 Crystal St", "Boone", "50036", 21),
]


def _deal(org_id: uuid.UUID, address: str, city: str = "Ames", zip_code: str = "50010",
          score: int | None = 60, **extra: Any) -> uuid.UUID:  # fmt: skip
    with acting(org_id) as s:
        prop = properties_service.create_property(
            s,
            {"address": address, "city": city, "state": "IA", "zip": zip_code,
             "parcel_number": f"P-{uuid.uuid4().hex[:8]}"},
        )  # fmt: skip
        return crm.create_deal(s, prop.id, score=score, **extra).id


def _stage(org_id: uuid.UUID, deal_id: uuid.UUID) -> tuple[str, int]:
    with acting(org_id) as s:
        deal = s.get(Deal, deal_id)
        assert deal is not None
        return deal.stage, deal.version


def seed(org_id: uuid.UUID) -> list[uuid.UUID]:
    """A small, realistic pipeline: deals spread over stages, an offer out, a lost deal,
    tasks due today and overdue."""
    today = utcnow().date()
    ids = [
        _deal(org_id, a, c, z, score, next_action="Call owner" if n % 3 == 0 else None,
              next_action_due=today + timedelta(days=n - 4) if n % 3 == 0 else None)
        for n, (a, c, z, score) in enumerate(STREETS)
    ]  # fmt: skip
    with acting(org_id) as s:
        for deal_id in ids[1:4]:
            crm.move(s, deal_id, "contacted")
        for deal_id in ids[4:6]:
            crm.move(s, deal_id, "negotiating")
        offers.create_offer(s, deal_id=ids[6], price=182000)
        crm.move(s, ids[6], "offer_sent")
        crm.move(s, ids[11], "dead", reason="owner not selling")
        crm.add_task(s, ids[0], "Send the offer letter", due_date=today)
        crm.add_task(s, ids[2], "Walk the property", due_date=today)
        crm.add_task(s, ids[4], "Follow up on the counter", due_date=today - timedelta(days=3))
        crm.add_task(s, ids[5], "Order the title report", due_date=today - timedelta(days=1))
        crm.add_task(s, ids[7], "Next week's visit", due_date=today + timedelta(days=7))
    return ids


def _move(client: Any, deal_id: uuid.UUID, stage: str, version: int | str | None,
          **extra: Any) -> Any:  # fmt: skip
    data = {"csrf_token": client.csrf, "stage": stage, **extra}
    if version is not None:
        data["version"] = str(version)
    return client.post(f"/board/deals/{deal_id}/move", data=data, follow_redirects=False)


# --- server-side ------------------------------------------------------------------------


def test_no_session_is_sent_to_sign_in(client: Any) -> None:
    with TestClient(client.app) as c:
        r = c.get("/board", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fboard"
        r = c.post(f"/board/deals/{uuid.uuid4()}/move", data={"stage": "contacted"},
                   follow_redirects=False)  # fmt: skip
        assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_board_shows_every_stage_cards_counts_and_tasks(
    web_client: Any, org: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = seed(org.id)
    r = web_client.get("/board")
    assert r.status_code == 200
    html = r.text
    for stage in ("New", "Contacted", "Negotiating", "Offer sent", "Under contract",
                  "Closed won", "Closed lost", "Dead"):  # fmt: skip
        assert f'<span class="stage-name">{stage}</span>' in html
    assert 'data-stage="contacted"' in html and 'data-count="3"' in html
    assert html.count('class="deal-card"') == len(STREETS)
    # cards are ordered by score, link to their property and carry their version
    new_column = html.split('<ol class="cards" data-stage="new"')[1].split("</ol>")[0]
    assert new_column.index("1418 Maple Ave") < new_column.index("1702 Carroll Ave")
    with acting(org.id) as s:
        first = s.get(Deal, ids[0])
        assert first is not None
        assert f'href="/properties/{first.property_id}"' in html
        assert f'data-version="{first.version}"' in html
    # the lost deal shows its reason; tasks: overdue and today, not next week's
    assert "owner not selling" in html
    tasks = html.split('aria-labelledby="tasks-title"')[1]
    overdue, today = tasks.split('id="tasks-today"')
    assert "Follow up on the counter" in overdue and "3 days late" in overdue
    assert "Order the title report" in overdue and "1 day late" in overdue
    assert "Send the offer letter" in today and "Walk the property" in today
    assert "Next week" not in tasks
    # a full column shows its best cards and links to the rest on the deals page
    monkeypatch.setattr("reos.web.pages.board.CARDS_PER_COLUMN", 2)
    html = web_client.get("/board").text
    new_column = html.split('<ol class="cards" data-stage="new"')[1].split("</section>")[0]
    assert new_column.count('class="deal-card"') == 2
    assert 'href="/deals?stage=new">3 more in New</a>' in new_column


def test_keyboard_form_moves_the_deal(web_client: Any, org: Any) -> None:
    deal_id = _deal(org.id, "12 Elm St")
    stage, version = _stage(org.id, deal_id)
    r = _move(web_client, deal_id, "contacted", version)
    assert r.status_code == 303 and r.headers["location"].startswith("/board?moved=contacted")
    assert _stage(org.id, deal_id) == ("contacted", version + 1)
    page = web_client.get(r.headers["location"]).text
    assert "Deal moved to Contacted." in page
    # a lost stage with its reason closes the deal
    r = _move(web_client, deal_id, "closed_lost", version + 1, reason="price too high")
    assert r.status_code == 303
    assert _stage(org.id, deal_id)[0] == "closed_lost"
    with acting(org.id) as s:
        deal = s.get(Deal, deal_id)
        assert deal is not None and deal.close_reason == "price too high"


def test_stale_version_is_refused_and_nothing_moves(web_client: Any, org: Any) -> None:
    deal_id = _deal(org.id, "14 Elm St")
    _, version = _stage(org.id, deal_id)
    with acting(org.id) as s:  # someone else moves it meanwhile
        crm.move(s, deal_id, "contacted")
    r = _move(web_client, deal_id, "negotiating", version)
    assert r.status_code == 412
    assert "14 Elm St was changed by someone else since the board was loaded" in r.text
    assert 'role="alert"' in r.text
    assert _stage(org.id, deal_id) == ("contacted", version + 1)
    # the script's request (If-Match, JSON): the same refusal and the deal's current state
    r = web_client.post(
        f"/board/deals/{deal_id}/move",
        data={"stage": "negotiating"},
        headers={"If-Match": f'"{version}"', "X-CSRF-Token": web_client.csrf,
                 "Accept": "application/json"},
    )  # fmt: skip
    assert r.status_code == 412
    body = r.json()
    assert body["ok"] is False and body["stage"] == "contacted"
    assert body["version"] == version + 1 and "changed by someone else" in body["message"]
    # no version at all: 428, as in the API
    assert _move(web_client, deal_id, "negotiating", None).status_code == 428
    assert _stage(org.id, deal_id)[0] == "contacted"


def test_moves_the_stage_rules_forbid_are_refused_with_the_reason(
    web_client: Any, org: Any
) -> None:
    deal_id = _deal(org.id, "16 Elm St")
    _, version = _stage(org.id, deal_id)
    r = _move(web_client, deal_id, "under_contract", version)
    assert r.status_code == 422 and "under_contract needs an accepted offer" in r.text
    r = _move(web_client, deal_id, "dead", version)
    assert r.status_code == 422 and "dead needs a reason" in r.text
    r = _move(web_client, deal_id, "nowhere", version)
    assert r.status_code == 422 and "stage &#39;nowhere&#39; does not exist" in r.text
    r = web_client.post(
        f"/board/deals/{deal_id}/move",
        data={"stage": "offer_sent"},
        headers={"If-Match": f'"{version}"', "X-CSRF-Token": web_client.csrf,
                 "Accept": "application/json"},
    )  # fmt: skip
    assert r.status_code == 422 and "offer_sent needs an offer" in r.json()["message"]
    assert _stage(org.id, deal_id) == ("new", version)


def test_move_without_csrf_is_403_and_another_orgs_deal_is_404(
    web_client: Any, org: Any, other_org: Any
) -> None:
    deal_id = _deal(org.id, "18 Elm St")
    _, version = _stage(org.id, deal_id)
    r = web_client.post(f"/board/deals/{deal_id}/move",
                        data={"stage": "contacted", "version": str(version)})  # fmt: skip
    assert r.status_code == 403
    assert _stage(org.id, deal_id) == ("new", version)
    theirs = _deal(other_org.id, "20 Elm St")
    r = _move(web_client, theirs, "contacted", 1)
    assert r.status_code == 404
    assert _stage(other_org.id, theirs)[0] == "new"
    assert "20 Elm St" not in web_client.get("/board").text


def test_user_strings_render_escaped(web_client: Any, org: Any) -> None:
    evil = "<script>alert(1)</script>"
    deal_id = _deal(org.id, evil, next_action=evil, next_action_due=utcnow().date())
    with acting(org.id) as s:
        crm.add_task(s, deal_id, evil, due_date=utcnow().date())
    html = web_client.get("/board").text
    assert "<script>alert(1)" not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 4


# --- in the browser ---------------------------------------------------------------------


def _card(page: Any, deal_id: uuid.UUID) -> Any:
    return page.locator(f"#deal-{deal_id}")


def test_drag_and_drop_moves_the_deal_and_a_stale_card_goes_back(signed_in: Any, org: Any) -> None:
    ids = seed(org.id)
    _deal(org.id, "<script>alert(1)</script>", score=12)
    page = signed_in(org)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.set_viewport_size({"width": 1920, "height": 1000})  # every column in view
    page.goto("/board")
    target = page.locator('.cards[data-stage="negotiating"]')
    # drag a new deal to Negotiating: the stage changes in the database
    _card(page, ids[0]).drag_to(target)
    page.wait_for_selector("#board-message:has-text('moved to Negotiating')")
    assert _card(page, ids[0]).locator("xpath=..").get_attribute("data-stage") == "negotiating"
    assert _stage(org.id, ids[0])[0] == "negotiating"
    assert page.locator("#col-negotiating .count").inner_text() == "3"
    # dragged again from its new place (the card's version followed the move)
    _card(page, ids[0]).drag_to(page.locator('.cards[data-stage="contacted"]'))
    page.wait_for_selector("#board-message:has-text('moved to Contacted')")
    assert _stage(org.id, ids[0])[0] == "contacted"
    # someone else moves a deal meanwhile: the drag is refused and the card goes back
    with acting(org.id) as s:
        crm.move(s, ids[7], "contacted")
    _card(page, ids[7]).drag_to(target)
    page.wait_for_selector("#board-message.failed")
    assert "changed by someone else" in page.locator("#board-message").inner_text()
    assert _card(page, ids[7]).locator("xpath=..").get_attribute("data-stage") == "new"
    assert _stage(org.id, ids[7])[0] == "contacted"
    # a move the rules forbid: refused with the reason, the card stays
    _card(page, ids[8]).drag_to(page.locator('.cards[data-stage="under_contract"]'))
    page.wait_for_selector("#board-message:has-text('needs an accepted offer')")
    assert _card(page, ids[8]).locator("xpath=..").get_attribute("data-stage") == "new"
    assert _stage(org.id, ids[8])[0] == "new"
    # a user's string shows as text, never runs
    assert "<script>alert(1)</script>" in page.locator(".board").inner_text()
    assert not dialogs


def test_keyboard_moves_and_navigation_axe_and_screenshot(signed_in: Any, org: Any) -> None:
    ids = seed(org.id)
    page = signed_in(org)
    page.goto("/board")
    check_axe(page, context="on the board")
    # arrow keys go from card to card
    _card(page, ids[0]).focus()
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.id") == f"deal-{ids[7]}"
    page.keyboard.press("ArrowRight")  # same row of the next column
    assert page.evaluate("document.activeElement.id") == f"deal-{ids[2]}"
    page.keyboard.press("ArrowUp")
    assert page.evaluate("document.activeElement.id") == f"deal-{ids[1]}"
    page.keyboard.press("ArrowUp")  # first in its column already: stays
    assert page.evaluate("document.activeElement.id") == f"deal-{ids[1]}"
    # Tab into the card's move form, choose a stage with the keyboard, submit with Enter
    card = _card(page, ids[1])
    page.keyboard.press("Tab")  # the address link
    assert page.evaluate("document.activeElement.className") == "address"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == f"move-{ids[1]}"
    card.locator("select").select_option("negotiating")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/board\?moved=negotiating.*"))
    assert "Deal moved to Negotiating." in page.locator("#board-message").inner_text()
    assert _stage(org.id, ids[1])[0] == "negotiating"
    page.set_viewport_size({"width": 1920, "height": 1000})
    page.goto("/board")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1920
    shot(page, "board")


def test_board_reads_of_the_crm_read_model(org: Any) -> None:
    """The columns' read: best score first, unscored deals last, at most ``limit``; the
    counts cover open and closed deals; tasks name their deal in one read."""
    from reos.crm import read_model

    ids = [_deal(org.id, f"{n} Pine St", score=s) for n, s in enumerate([40, None, 90, None, 65])]
    with acting(org.id) as s:
        crm.move(s, ids[4], "dead", reason="gone")
    with acting(org.id) as s:
        top = read_model.top_of_stage(s, "new", 3)
        assert [d.score for d in top] == [90, 40, None]
        assert len(read_model.top_of_stage(s, "new", 10)) == 4
        assert read_model.top_of_stage(s, "contacted", 5) == []
        assert read_model.stage_counts(s) == {"new": 4, "dead": 1}
        found = read_model.deals_by_id(s, [ids[0], ids[2], uuid.uuid4()])
        assert set(found) == {ids[0], ids[2]} and found[ids[0]].address == "0 Pine St"
