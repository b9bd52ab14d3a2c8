"""The deals page: the shortlist as a table (sort, filters, keyset pages, CSV export, bulk
actions) beside a map (draw-a-polygon search, the table following the viewport)."""

from __future__ import annotations

import csv
import io
import random
import re
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.crm.conftest import acting
from tests.web.conftest import check_axe, shot

from reos.accounts import service as accounts_service
from reos.crm import service as crm_service
from reos.dealflow import service as dealflow_service
from reos.models import Deal, DealEvent, ListMembership, Valuation
from reos.properties import service as properties_service

#: Ames, Iowa: the desk's deals sit on a grid of streets around this point.
CENTRE = (42.0308, -93.6319)
STREETS = ["Main St", "Lincoln Way", "Duff Ave", "Grand Ave", "Story St", "Kellogg Ave",
           "Clark Ave", "Hyland Ave", "Ash Ave", "Oak Ave"]  # fmt: skip
ZIPS = ["50010", "50011", "50014"]
REASONS = ["on 2 distress lists", "priced 18% under value", "absentee owner", "owned 22 years",
           "$4,200 tax arrears", "listed 12 days ago", "AVM grade B"]  # fmt: skip


@dataclass
class Desk:
    deal_ids: list[uuid.UUID]
    property_ids: list[uuid.UUID]
    coords: list[tuple[float, float]]
    scores: list[int]


def build_desk(
    org_id: uuid.UUID, count: int, *, seed: int = 7, first_address: str | None = None
) -> Desk:
    """``count`` located properties shortlisted as deals (the pipeline's front,
    :func:`reos.crm.service.shortlist`), half on a tax-delinquent list (imported through
    deal flow), most with an asking price and a stored value."""
    rng = random.Random(seed)
    pids: list[uuid.UUID] = []
    coords: list[tuple[float, float]] = []
    parcels: list[str] = []
    with acting(org_id) as s:
        for n in range(count):
            # three neighbourhoods, so the map shows clusters
            hub = n % 3
            lat = CENTRE[0] + (hub - 1) * 0.03 + rng.gauss(0, 0.006)
            lon = CENTRE[1] + (hub - 1) * 0.04 + rng.gauss(0, 0.008)
            parcel = f"09-{n:05d}-{uuid.uuid4().hex[:4]}"
            address = f"{100 + n * 7} {STREETS[n % len(STREETS)]}"
            if n == 0 and first_address:
                address = first_address
            price = 90_000 + rng.randrange(0, 260_000, 500)
            prop = properties_service.create_property(
                s,
                {
                    "address": address,
                    "city": "Ames",
                    "state": "IA",
                    "zip": ZIPS[hub],
                    "parcel_number": parcel,
                    "latitude": round(lat, 6),
                    "longitude": round(lon, 6),
                    "attributes": {"list_price": price} if n % 4 else {},
                },
            )
            pids.append(prop.id)
            coords.append((lat, lon))
            parcels.append(parcel)
            if n % 5:
                # a stored AVM value (the valuation engine's output row; training a model
                # is the valuation tests' business)
                s.add(
                    Valuation(
                        property_id=prop.id,
                        valuation_date=date(2026, 11, 1),
                        estimated_value=float(price * rng.uniform(0.85, 1.35)),
                        interval_low=price * 0.8,
                        interval_high=price * 1.4,
                        confidence="B",
                        model_version="test",
                        result={},
                    )
                )
        s.flush()
    scores = [max(5, min(98, int(rng.gauss(58, 18)))) for _ in pids]
    with acting(org_id) as s:
        result = crm_service.shortlist(
            s,
            [(p, sc, rng.sample(REASONS, 3)) for p, sc in zip(pids, scores, strict=True)],
        )
    listed = Path(__file__).parent / f".tax-{uuid.uuid4().hex[:6]}.csv"
    try:
        listed.write_text(
            "APN,Amount Due\n" + "".join(f"{p},{1000 + i}\n" for i, p in enumerate(parcels[::2]))
        )
        with acting(org_id) as s:
            dealflow_service.import_list(s, listed, "tax_delinquent", name="County tax roll")
    finally:
        listed.unlink(missing_ok=True)
    return Desk(list(result.deal_ids), pids, coords, scores)


def rows_of(html: str) -> list[str]:
    """The deal ids of the table's rows, in order."""
    return re.findall(r'name="deal_id" value="([0-9a-f-]{36})"', html)


def add_member(org: Any, role: str) -> tuple[str, str]:
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    with acting(org.id) as s:
        accounts_service.add_member(s, email, role, "another good password")
    return email, "another good password"


@pytest.fixture
def desk(org: Any) -> Desk:
    return build_desk(org.id, 60)


# --- server side: the table --------------------------------------------------------------


def test_no_session_goes_to_sign_in(client: Any) -> None:
    with TestClient(client.app) as c:
        for url in ("/deals?min_score=50", "/deals/export.csv"):
            r = c.get(url, follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
        r = c.post("/deals/bulk", data={"action": "assign"}, follow_redirects=False)
        assert r.status_code in (303, 403)


def test_sort_filter_and_pages(web_client: Any, desk: Desk) -> None:
    r = web_client.get("/deals")
    assert r.status_code == 200
    ids = rows_of(r.text)
    assert len(ids) == 50
    by_id = dict(zip(desk.deal_ids, desk.scores, strict=True))
    scores = [by_id[uuid.UUID(i)] for i in ids]
    assert scores == sorted(scores, reverse=True)  # best first by default
    assert 'aria-sort="descending"' in r.text
    # the next page continues with no repeat, the two pages hold every deal
    nxt = re.search(r'href="(/deals\?[^"]*cursor=[^"]+)"', r.text)
    assert nxt is not None
    page2 = web_client.get(nxt.group(1).replace("&amp;", "&"))
    ids2 = rows_of(page2.text)
    assert len(ids2) == 10 and not set(ids) & set(ids2)
    assert "First page" in page2.text
    # ascending score reverses the order; the header says so
    asc = web_client.get("/deals?sort=score&limit=100")
    assert rows_of(asc.text) == list(reversed(rows_of(web_client.get("/deals?limit=100").text)))
    assert 'aria-sort="ascending"' in asc.text
    # a filter changes the rows: only scores >= 70
    high = web_client.get("/deals?min_score=70&limit=100")
    expected = {str(d) for d, sc in by_id.items() if sc >= 70}
    assert set(rows_of(high.text)) == expected and expected
    # empty fields of a GET form are no filter; a bad one is named, not a crash
    same = web_client.get("/deals?min_score=&city=&zip=&limit=100")
    assert len(rows_of(same.text)) == 60
    bad = web_client.get("/deals?min_score=abc")
    assert bad.status_code == 422 and "min_score" in bad.text
    # htmx asks for the table only
    frag = web_client.get("/deals?zip=50011", headers={"HX-Request": "true"})
    assert frag.status_code == 200 and frag.text.lstrip().startswith('<div id="deals-results"')
    assert "<html" not in frag.text and len(rows_of(frag.text)) == 20


def test_csv_export_follows_the_filters(web_client: Any, desk: Desk) -> None:
    r = web_client.get("/deals/export.csv?min_score=60&sort=address")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    by_id = dict(zip(desk.deal_ids, desk.scores, strict=True))
    assert {row["deal_id"] for row in rows} == {str(d) for d, s in by_id.items() if s >= 60}
    addresses = [row["deal_address"] for row in rows]
    assert addresses == sorted(addresses)
    # the drawn area narrows the export too
    lat, lon = desk.coords[0]
    square = f"{lat - 0.001},{lon - 0.001};{lat - 0.001},{lon + 0.001};{lat + 0.001},{lon + 0.001};{lat + 0.001},{lon - 0.001}"
    inside = web_client.get(f"/deals/export.csv?polygon={square}&status=all")
    ids = {row["deal_id"] for row in csv.DictReader(io.StringIO(inside.text))}
    assert str(desk.deal_ids[0]) in ids and len(ids) < 60


def test_polygon_and_bbox_narrow_the_table(web_client: Any, desk: Desk) -> None:
    # a triangle around the north-east neighbourhood (hub 2)
    lat, lon = CENTRE[0] + 0.03, CENTRE[1] + 0.04
    tri = f"{lat - 0.04},{lon - 0.05};{lat - 0.04},{lon + 0.05};{lat + 0.05},{lon}"
    r = web_client.get(f"/deals?polygon={tri}&limit=100")
    got = set(rows_of(r.text))
    from reos.geo import point_in_polygon

    shape = {"type": "Polygon", "coordinates": [[[lon - 0.05, lat - 0.04], [lon + 0.05, lat - 0.04],
                                                 [lon, lat + 0.05], [lon - 0.05, lat - 0.04]]]}  # fmt: skip
    expected = {str(d) for d, c in zip(desk.deal_ids, desk.coords, strict=True)
                if point_in_polygon(round(c[0], 6), round(c[1], 6), shape)}  # fmt: skip
    assert got == expected and 0 < len(got) < 60
    assert "inside the drawn area" in r.text
    # the map's box: only the deals in view
    box = f"{CENTRE[0] - 0.012},{CENTRE[1] - 0.016},{CENTRE[0] + 0.012},{CENTRE[1] + 0.016}"
    r = web_client.get(f"/deals?bbox={box}&limit=100")
    s, w, n, e = (float(v) for v in box.split(","))
    expected = {str(d) for d, c in zip(desk.deal_ids, desk.coords, strict=True)
                if s <= round(c[0], 6) <= n and w <= round(c[1], 6) <= e}  # fmt: skip
    assert set(rows_of(r.text)) == expected and 0 < len(expected) < 60
    # the map's points are the filter's deals, asked of /deals/map.json (the page says where)
    url = re.search(r'data-map-url="([^"]+)"', r.text)
    assert url is not None and "bbox=" in url.group(1)
    answer = web_client.get(url.group(1).replace("&amp;", "&")).json()
    assert {p["id"] for p in answer["points"]} == expected and answer["capped"] is False
    assert all(p["href"].startswith("/properties/") for p in answer["points"])
    assert answer["outlines"] and {o["name"] for o in answer["outlines"]} <= set(ZIPS)
    assert web_client.get("/deals?polygon=1,2;3,4").status_code == 422


def test_map_points_are_capped_best_first(
    web_client: Any, desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reos.web.pages import deals as deals_page

    monkeypatch.setattr(deals_page, "MAP_CAP", 10)
    answer = web_client.get("/deals/map.json").json()
    assert answer["capped"] is True and answer["cap"] == 10 and len(answer["points"]) == 10
    best = sorted(zip(desk.scores, map(str, desk.deal_ids), strict=True), reverse=True)[:10]
    assert sorted(p["score"] for p in answer["points"]) == sorted(sc for sc, _ in best)


def test_saved_search_filters_the_table(web_client: Any, org: Any, desk: Desk) -> None:
    with acting(org.id) as s:
        search = dealflow_service.create_search(
            s, "Tax delinquent", {"list_kinds": ["tax_delinquent"]}
        )
        search_id = search.id
    r = web_client.get(f"/deals?search={search_id}&limit=100")
    assert r.status_code == 200
    expected = {str(d) for d in desk.deal_ids[::2]}
    assert set(rows_of(r.text)) == expected
    assert "Tax delinquent" in r.text


def test_bulk_actions(web_client: Any, org: Any, desk: Desk) -> None:
    picked = [str(d) for d in desk.deal_ids[:3]]
    member_email, _ = add_member(org, "analyst")
    with acting(org.id) as s:
        member_id = crm_service.member_by_email(s, member_email)
    base = {"csrf_token": web_client.csrf, "deal_id": picked, "return_query": "limit=100"}
    r = web_client.post("/deals/bulk", data={**base, "action": "assign", "to_assignee": str(member_id)},
                        headers={"HX-Request": "true"})  # fmt: skip
    assert r.status_code == 200 and "Assigned 3 deals" in r.text
    assert r.text.count(member_email) >= 3  # the refreshed table shows the assignee
    r = web_client.post("/deals/bulk", data={**base, "action": "move", "to_stage": "contacted"})
    assert r.status_code == 200 and "Moved 3 deals to contacted" in r.text and "<html" in r.text
    r = web_client.post("/deals/bulk", data={**base, "action": "list", "to_list": "Call  Monday"})
    assert r.status_code == 200 and "Added 3 properties to the list “Call Monday”." in r.text
    with acting(org.id) as s:
        deals = {str(d.id): d for d in s.scalars(select(Deal))}
        for i in picked:
            assert deals[i].assignee_id == member_id and deals[i].stage == "contacted"
        assert s.scalar(select(DealEvent.id).where(DealEvent.kind == "stage_changed")) is not None
        made = [p for p in dealflow_service.list_lists(s) if p.name == "Call Monday"]
        assert len(made) == 1 and (made[0].kind, made[0].member_count) == ("custom", 3)
        list_id = made[0].id
        on_list = set(
            s.scalars(select(ListMembership.property_id).where(ListMembership.list_id == list_id))
        )
        assert on_list == {deals[i].property_id for i in picked}
    # the list is a filter of the page, and part of each property's stack
    assert set(rows_of(web_client.get(f"/deals?list={list_id}&limit=100").text)) == set(picked)
    # ticked again (one more with them): only the new one joins, under the same list
    more = {**base, "deal_id": [*picked, str(desk.deal_ids[3])]}
    r = web_client.post("/deals/bulk", data={**more, "action": "list", "to_list": "call monday"})
    assert "Added 1 property to the list “Call Monday” (3 already on it)." in r.text
    with acting(org.id) as s:
        assert dealflow_service.get_list(s, list_id).member_count == 4
    # the API's rules: a lost stage needs a reason; one refusal changes nothing
    r = web_client.post("/deals/bulk", data={**base, "action": "move", "to_stage": "dead"})
    assert r.status_code == 422 and "Nothing was changed" in r.text and "reason" in r.text
    r = web_client.post("/deals/bulk", data={**base, "action": "move", "to_stage": "nowhere"})
    assert r.status_code == 422
    with acting(org.id) as s:
        assert {d.stage for d in s.scalars(select(Deal).where(Deal.id.in_(desk.deal_ids[:3])))} == {
            "contacted"
        }


def test_bulk_needs_csrf_and_own_deals(
    web_client: Any, org: Any, other_org: Any, desk: Desk
) -> None:
    picked = [str(d) for d in desk.deal_ids[:2]]
    for action, extra in (("assign", {"to_assignee": ""}), ("move", {"to_stage": "contacted"}),
                          ("list", {"to_list": "x"})):  # fmt: skip
        r = web_client.post("/deals/bulk", data={"deal_id": picked, "action": action, **extra})
        assert r.status_code == 403, action
        r = web_client.post("/deals/bulk", data={"deal_id": picked, "action": action, **extra},
                            headers={"HX-Request": "true", "X-CSRF-Token": "wrong"})  # fmt: skip
        assert r.status_code == 403, action
    # another organisation's deal in the ticked rows: 404, neither org changed
    theirs = build_desk(other_org.id, 2, seed=3)
    data = {"csrf_token": web_client.csrf, "action": "move", "to_stage": "contacted",
            "deal_id": [picked[0], str(theirs.deal_ids[0])]}  # fmt: skip
    r = web_client.post("/deals/bulk", data=data)
    assert r.status_code == 404
    with acting(org.id) as s:
        assert s.get(Deal, desk.deal_ids[0]).stage == "new"  # type: ignore[union-attr]
    with acting(other_org.id) as s:
        assert s.get(Deal, theirs.deal_ids[0]).stage == "new"  # type: ignore[union-attr]
    # and their deals never show in our table, nor their saved search
    assert str(theirs.deal_ids[0]) not in web_client.get("/deals?status=all&limit=200").text
    with acting(other_org.id) as s:
        their_search = dealflow_service.create_search(s, "theirs", {}).id
    assert web_client.get(f"/deals?search={their_search}").status_code == 404
    # (every role may change deals — owner, admin, analyst, service all hold data:write —
    # so there is no read-only member to refuse; EditPage would answer 403 to one)


def test_user_text_is_escaped(web_client: Any, org: Any) -> None:
    build_desk(org.id, 3, first_address="<script>alert(1)</script>")
    r = web_client.get("/deals")
    assert "<script>alert(1)</script>" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    # the map's JSON carries the text as data (map.js shows it with textContent)
    answer = web_client.get("/deals/map.json")
    assert answer.headers["content-type"].startswith("application/json")
    assert "<script>alert(1)</script>" in {p["label"] for p in answer.json()["points"]}


# --- in the browser ---------------------------------------------------------------------


def test_deals_page_in_the_browser(signed_in: Any, org: Any) -> None:
    desk = build_desk(org.id, 240, seed=11, first_address="<script>alert(1)</script>")
    page = signed_in(org)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto("/deals?limit=25")
    page.wait_for_selector("#deals-map.leaflet-container")
    page.wait_for_selector("#deals-map[data-points-loaded='240']")
    page.wait_for_selector(".reos-cluster")
    assert page.locator("#deals-results tbody tr").count() == 25
    check_axe(page, context="on the deals page")
    # the whole page in the window before the picture, so the map is not resized mid-shot
    height = page.evaluate("() => document.documentElement.scrollHeight")
    page.set_viewport_size({"width": 1400, "height": int(height)})
    page.wait_for_timeout(300)
    page.evaluate("""() => { const s = document.getElementById('deals-map').reosMap;
      s.map.invalidateSize(false); s.setPoints(s.markers.map(m => m.reosPoint), true); }""")
    page.wait_for_timeout(500)
    shot(page, "deals")
    page.set_viewport_size({"width": 1400, "height": 900})
    # keyboard: Tab reaches the score sort link and a row's property link
    focused: list[str] = []
    for _ in range(80):
        page.keyboard.press("Tab")
        focused.append(page.evaluate(
            "() => { const e = document.activeElement; return (e.className || '') + '|' + (e.getAttribute('href') || '') }"
        ))  # fmt: skip
        if any(f.startswith("|/properties/") for f in focused):
            break
    assert any(f.startswith("sort|") for f in focused), focused
    assert any(f.startswith("|/properties/") for f in focused), focused
    # sort with the keyboard: Enter on the focused address header swaps the table
    page.focus("th[aria-sort] a.sort >> nth=1")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*sort=address.*"))
    page.wait_for_selector('th[aria-sort="ascending"]')
    assert "limit=25" in page.url  # the sort link keeps the other choices
    # draw a polygon around the middle neighbourhood with mouse clicks on the map
    page.evaluate("() => window.scrollTo(0, 0)")
    page.click("#draw-start")
    page.wait_for_timeout(200)
    # a square around the middle neighbourhood (the desk's centre), each corner clicked
    # where the map shows it at that moment
    for dlat, dlon in ((0.012, -0.016), (0.012, 0.016), (-0.012, 0.016), (-0.012, -0.016)):
        box = page.locator("#deals-map").bounding_box()
        assert box is not None
        where = page.evaluate(
            f"() => document.getElementById('deals-map').reosMap.map"
            f".latLngToContainerPoint([{CENTRE[0] + dlat}, {CENTRE[1] + dlon}])"
        )
        page.mouse.click(box["x"] + where["x"], box["y"] + where["y"])
        page.wait_for_timeout(150)
    page.click("#draw-finish")
    page.wait_for_url(re.compile(r".*polygon=.*"))
    page.wait_for_selector("text=inside the drawn area")
    total = int(page.locator("#deals-results").get_attribute("data-total") or 0)
    assert "sort=address" in page.url  # the form kept the header's sort
    assert 0 < total < 240
    shot(page, "deals-polygon")
    page.click("#draw-clear")
    page.wait_for_function("() => !/polygon=[^&]/.test(location.search)")
    page.wait_for_function("() => document.querySelector('#deals-results').dataset.total === '240'")
    # the table follows the viewport: tick the box, zoom in, fewer deals
    page.check("#follow-map")
    page.wait_for_url(re.compile(r".*bbox=.*"))
    page.wait_for_selector("text=in the map's view")
    page.wait_for_timeout(800)  # let the markers of the last filter settle
    before = int(page.locator("#deals-results").get_attribute("data-total") or 0)
    page.evaluate(
        "() => { const m = document.getElementById('deals-map').reosMap.map; m.setZoom(m.getZoom() + 2); }"
    )
    page.wait_for_function(
        f"() => Number(document.querySelector('#deals-results').dataset.total) < {before}"
    )
    assert not dialogs
    assert desk.deal_ids
