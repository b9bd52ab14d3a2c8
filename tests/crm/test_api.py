"""The CRM through the API: deals listed, filtered, sorted and paged; ETag / If-Match;
stage rules; offers and their chain; notes, tasks, timeline; stages configured; every
route's answer to another organisation's ids."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from reos.crm import service
from tests.crm.conftest import acting, make_properties


def _deals(org: Any, count: int, scores: list[int] | None = None) -> list[uuid.UUID]:
    props = make_properties(org.id, count)
    scores = scores or [50 + n for n in range(count)]
    with acting(org.id) as s:
        result = service.shortlist(
            s, [(p, sc, [f"+{sc} test"]) for p, sc in zip(props, scores, strict=True)]
        )
    return result.deal_ids


def _later(days: int = 3) -> str:
    from datetime import UTC, datetime

    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def test_list_filters_sort_and_keyset_pages(client: Any, org: Any) -> None:
    ids = _deals(org, 7, [10, 90, 40, 70, 70, 20, 55])
    h = org.headers()
    r = client.get("/api/v1/deals", params={"limit": 3}, headers=h)
    assert r.status_code == 200, r.text
    page = r.json()
    assert [d["score"] for d in page["items"]] == [90, 70, 70]
    seen = [d["id"] for d in page["items"]]
    while page["next_cursor"]:
        page = client.get(
            "/api/v1/deals", params={"limit": 3, "cursor": page["next_cursor"]}, headers=h
        ).json()
        seen += [d["id"] for d in page["items"]]
    assert sorted(seen) == sorted(str(i) for i in ids) and len(seen) == 7
    r = client.get("/api/v1/deals", params={"min_score": 40, "max_score": 70}, headers=h)
    assert sorted(d["score"] for d in r.json()["items"]) == [40, 55, 70, 70]
    r = client.get("/api/v1/deals", params={"zip": "50014", "sort": "score"}, headers=h)
    scores = [d["score"] for d in r.json()["items"]]
    assert scores == sorted(scores) and all(d["zip"] == "50014" for d in r.json()["items"])
    r = client.get("/api/v1/deals", params={"q": "101 main"}, headers=h)
    assert [d["address"] for d in r.json()["items"]] == ["101 Main St"]
    r = client.get("/api/v1/deals", params={"city": "ames", "sort": "address"}, headers=h)
    assert [d["address"] for d in r.json()["items"]][:2] == ["100 Main St", "101 Main St"]
    # a cursor from another sort is refused by name
    first = client.get("/api/v1/deals", params={"limit": 1}, headers=h).json()
    r = client.get(
        "/api/v1/deals", params={"cursor": first["next_cursor"], "sort": "due"}, headers=h
    )
    assert r.status_code == 422 and r.json()["field"] == "cursor"
    r = client.get("/api/v1/deals", params={"stage": "contacetd"}, headers=h)
    assert r.status_code == 422 and "contacted" in r.json()["message"]
    r = client.get("/api/v1/deals", params={"cursor": "garbage!"}, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "cursor"


def test_tag_assignee_due_filters(client: Any, org: Any) -> None:
    a, b, c = _deals(org, 3)
    h = org.headers()
    me = client.get("/api/v1/me", headers=h)
    with acting(org.id) as s:
        owner_id = next(iter(service.members(s)))
    etag = client.get(f"/api/v1/deals/{a}", headers=h).headers["ETag"]
    due = (date.today() + timedelta(days=2)).isoformat()
    r = client.patch(
        f"/api/v1/deals/{a}",
        json={"tags": ["Hot Lead", "probate"], "assignee_id": str(owner_id),
              "next_action": "call owner", "next_action_due": due},
        headers={**h, "If-Match": etag},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["tags"] == ["hot lead", "probate"]
    got = client.get("/api/v1/deals", params={"tag": "HOT lead"}, headers=h).json()["items"]
    assert [d["id"] for d in got] == [str(a)]
    got = client.get("/api/v1/deals", params={"assignee_id": str(owner_id)}, headers=h).json()
    assert [d["id"] for d in got["items"]] == [str(a)]
    before = (date.today() + timedelta(days=3)).isoformat()
    got = client.get("/api/v1/deals", params={"due_before": before}, headers=h).json()
    assert [d["id"] for d in got["items"]] == [str(a)]
    got = client.get("/api/v1/deals", params={"sort": "due"}, headers=h).json()
    assert got["items"][0]["id"] == str(a)  # the one with a due date comes first
    assert me.status_code in (200, 404)
    _ = (b, c)


def test_etag_if_match_412_and_428(client: Any, org: Any) -> None:
    (deal_id,) = _deals(org, 1)
    h = org.headers()
    r = client.get(f"/api/v1/deals/{deal_id}", headers=h)
    etag = r.headers["ETag"]
    assert etag == f'"{r.json()["version"]}"'
    r = client.patch(f"/api/v1/deals/{deal_id}", json={"stage": "contacted"}, headers=h)
    assert r.status_code == 428 and r.json()["error"] == "precondition_required"
    r = client.patch(
        f"/api/v1/deals/{deal_id}", json={"stage": "contacted"}, headers={**h, "If-Match": etag}
    )
    assert r.status_code == 200 and r.json()["stage"] == "contacted"
    new_etag = r.headers["ETag"]
    assert new_etag != etag
    # the second user still holds the old ETag: refused, nothing changed
    r = client.patch(
        f"/api/v1/deals/{deal_id}", json={"next_action": "mail"}, headers={**h, "If-Match": etag}
    )
    assert r.status_code == 412 and r.json()["error"] == "precondition_failed"
    r = client.get(f"/api/v1/deals/{deal_id}", headers=h)
    assert r.json()["next_action"] is None and r.headers["ETag"] == new_etag
    r = client.patch(
        f"/api/v1/deals/{deal_id}", json={"next_action": "x"}, headers={**h, "If-Match": "nope"}
    )
    assert r.status_code == 412


def test_stage_rules(client: Any, org: Any) -> None:
    (deal_id,) = _deals(org, 1)
    h = org.headers()

    def patch(body: dict[str, Any]) -> Any:
        etag = client.get(f"/api/v1/deals/{deal_id}", headers=h).headers["ETag"]
        return client.patch(f"/api/v1/deals/{deal_id}", json=body, headers={**h, "If-Match": etag})

    r = patch({"stage": "escrow"})
    assert r.status_code == 422
    body = r.json()
    assert "escrow" in body["message"] and "negotiating" in body["message"]
    assert body["detail"]["valid"][0] == "new"
    r = patch({"stage": "offer_sent"})
    assert r.status_code == 422 and "offer_sent needs an offer" in r.json()["message"]
    r = patch({"stage": "under_contract"})
    assert r.status_code == 422 and "accepted offer" in r.json()["message"]
    r = patch({"stage": "dead"})
    assert r.status_code == 422 and r.json()["field"] == "reason"
    # a draft offer: offer_sent sends it
    offer = client.post(
        "/api/v1/offers", json={"deal_id": str(deal_id), "price": "150000.50"}, headers=h
    ).json()
    assert offer["status"] == "draft" and offer["price"] == "150000.50"
    r = patch({"stage": "offer_sent"})
    assert r.status_code == 200 and r.json()["stage"] == "offer_sent"
    chain = client.get(f"/api/v1/offers/{offer['id']}", headers=h).json()["offers"]
    assert chain[0]["status"] == "sent" and chain[0]["sent_at"]
    r = patch({"stage": "dead", "reason": "owner passed away, estate not selling"})
    assert r.status_code == 200 and r.json()["is_open"] is False
    assert r.json()["close_reason"].startswith("owner passed")
    r = patch({"stage": "closed_won"})
    assert r.status_code == 422 and "closed" in r.json()["message"]
    draft = client.post("/api/v1/offers", json={"deal_id": str(deal_id), "price": 5}, headers=h)
    assert draft.status_code == 422 and "closed" in draft.json()["message"]
    r = patch({"stage": "contacted"})  # reopened
    assert r.status_code == 200 and r.json()["is_open"] is True
    rules = client.get("/api/v1/deal-stages", headers=h).json()["rules"]
    assert any("under_contract needs an accepted offer" in rule for rule in rules)


def test_offer_transitions_counter_chain_and_deal_moves(client: Any, org: Any) -> None:
    (deal_id,) = _deals(org, 1)
    h = org.headers()
    r = client.post(
        "/api/v1/offers",
        json={"deal_id": str(deal_id), "price": 180000,
              "terms": {"earnest_money": "2500.00", "close_days": 30, "inspection_days": 10,
                        "contingencies": ["financing"]},
              "expires_at": _later()},
        headers=h,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["terms"]["earnest_money"] == "2500.00" and first["source"] == "typed"
    r = client.post(f"/api/v1/offers/{first['id']}/transition", json={"status": "accepted"},
                    headers=h)  # fmt: skip
    assert r.status_code == 422 and "draft" in r.json()["message"]
    r = client.post(f"/api/v1/offers/{first['id']}/transition", json={"status": "sent"}, headers=h)
    assert r.status_code == 200 and r.json()["status"] == "sent"
    assert client.get(f"/api/v1/deals/{deal_id}", headers=h).json()["stage"] == "offer_sent"
    r = client.post(f"/api/v1/offers/{first['id']}/counter", json={"price": "195000.00"},
                    headers=h)  # fmt: skip
    assert r.status_code == 201, r.text
    counter = r.json()
    assert counter["parent_offer_id"] == first["id"] and counter["party"] == "seller"
    assert counter["status"] == "sent" and counter["terms"]["inspection_days"] == 10
    r = client.post(f"/api/v1/offers/{counter['id']}/counter",
                    json={"price": "187500.00", "expires_at": _later()}, headers=h)  # fmt: skip
    third = r.json()
    assert third["party"] == "buyer"
    chain = client.get(f"/api/v1/offers/{counter['id']}", headers=h).json()["offers"]
    assert [o["id"] for o in chain] == [first["id"], counter["id"], third["id"]]
    assert [o["status"] for o in chain] == ["countered", "countered", "sent"]
    r = client.post(f"/api/v1/offers/{first['id']}/transition", json={"status": "withdrawn"},
                    headers=h)  # fmt: skip
    assert r.status_code == 422 and "final" in r.json()["message"]
    r = client.post(f"/api/v1/offers/{third['id']}/transition", json={"status": "accepted"},
                    headers=h)  # fmt: skip
    assert r.status_code == 200 and r.json()["inspection_ends_at"]
    deal = client.get(f"/api/v1/deals/{deal_id}", headers=h).json()
    assert deal["stage"] == "under_contract"
    listed = client.get("/api/v1/offers", params={"deal_id": str(deal_id)}, headers=h).json()
    assert len(listed) == 3
    r = client.post("/api/v1/offers", json={"deal_id": str(deal_id), "price": "1.001"}, headers=h)
    assert r.status_code == 422
    r = client.post("/api/v1/offers", json={"deal_id": str(deal_id)}, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "price"


def test_notes_tasks_events_timeline(client: Any, org: Any) -> None:
    (deal_id,) = _deals(org, 1)
    h = org.headers()
    r = client.post(f"/api/v1/deals/{deal_id}/notes", json={"body": "Owner wants 60 days"},
                    headers=h)  # fmt: skip
    assert r.status_code == 201 and r.json()["author"] == org.owner_email
    today = date.today()
    for title, due in (
        ("call back", today),
        ("send comps", today - timedelta(days=2)),
        ("visit", today + timedelta(days=5)),
    ):
        r = client.post(
            f"/api/v1/deals/{deal_id}/tasks",
            json={"title": title, "due_date": due.isoformat()},
            headers=h,
        )
        assert r.status_code == 201, r.text  # fmt: skip
    params = {"today": today.isoformat()}
    due_today = client.get("/api/v1/tasks", params={**params, "due": "today"}, headers=h).json()
    overdue = client.get("/api/v1/tasks", params={**params, "due": "overdue"}, headers=h).json()
    assert [t["title"] for t in due_today] == ["call back"]
    assert [t["title"] for t in overdue] == ["send comps"]
    r = client.patch(f"/api/v1/tasks/{overdue[0]['id']}", json={"done": True}, headers=h)
    assert r.status_code == 200 and r.json()["done"] is True
    assert client.get("/api/v1/tasks", params={**params, "due": "overdue"}, headers=h).json() == []
    r = client.post(f"/api/v1/deals/{deal_id}/events",
                    json={"kind": "message", "detail": {"channel": "sms", "text": "hi"}},
                    headers=h)  # fmt: skip
    assert r.status_code == 201
    events = client.get(f"/api/v1/deals/{deal_id}/events", headers=h).json()
    kinds = [e["kind"] for e in events]
    assert kinds == ["shortlisted", "note", "task_added", "task_added", "task_added",
                     "task_done", "message"]  # fmt: skip
    assert all(e["actor"] for e in events[1:])
    assert events[-1]["actor"] == org.owner_email
    assert len(client.get(f"/api/v1/deals/{deal_id}/notes", headers=h).json()) == 1
    assert len(client.get(f"/api/v1/deals/{deal_id}/tasks", headers=h).json()) == 3


def test_configured_stages(client: Any, org: Any, role_headers: Any) -> None:
    (deal_id,) = _deals(org, 1)
    h = org.headers()
    body = {"stages": [{"name": "new"}, {"name": "qualified"}, {"name": "offer_sent"},
                       {"name": "under_contract"},
                       {"name": "won", "terminal": True, "outcome": "won"},
                       {"name": "lost", "terminal": True, "outcome": "lost"}]}  # fmt: skip
    r = client.put("/api/v1/deal-stages", json=body, headers=role_headers("analyst"))
    assert r.status_code == 403
    r = client.put("/api/v1/deal-stages", json=body, headers=h)
    assert r.status_code == 200, r.text
    assert [s["name"] for s in r.json()["stages"]][:2] == ["new", "qualified"]
    etag = client.get(f"/api/v1/deals/{deal_id}", headers=h).headers["ETag"]
    r = client.patch(f"/api/v1/deals/{deal_id}", json={"stage": "contacted"},
                     headers={**h, "If-Match": etag})  # fmt: skip
    assert r.status_code == 422 and "qualified" in r.json()["message"]
    r = client.patch(f"/api/v1/deals/{deal_id}", json={"stage": "qualified"},
                     headers={**h, "If-Match": etag})  # fmt: skip
    assert r.status_code == 200
    r = client.put("/api/v1/deal-stages", json={"stages": [{"name": "new"}]}, headers=h)
    assert r.status_code == 422 and "qualified (1 deals)" in r.json()["message"]
    r = client.put("/api/v1/deal-stages", json={"stages": [{"name": "open"}]}, headers=h)
    assert r.status_code == 422 and "'new'" in r.json()["message"]


def test_other_organisations_ids_are_404_and_change_nothing(
    client: Any, org: Any, other_org: Any
) -> None:
    (deal_id,) = _deals(org, 1)
    (prop,) = make_properties(org.id, 1)
    h = org.headers()
    offer = client.post("/api/v1/offers", json={"deal_id": str(deal_id), "price": 1000},
                        headers=h).json()  # fmt: skip
    task = client.post(f"/api/v1/deals/{deal_id}/tasks", json={"title": "t"}, headers=h).json()
    etag = client.get(f"/api/v1/deals/{deal_id}", headers=h).headers["ETag"]
    x = other_org.headers()
    calls = [
        ("get", f"/api/v1/deals/{deal_id}", None, {}),
        ("patch", f"/api/v1/deals/{deal_id}", {"stage": "contacted"}, {"If-Match": etag}),
        ("get", f"/api/v1/deals/{deal_id}/notes", None, {}),
        ("post", f"/api/v1/deals/{deal_id}/notes", {"body": "x"}, {}),
        ("get", f"/api/v1/deals/{deal_id}/tasks", None, {}),
        ("post", f"/api/v1/deals/{deal_id}/tasks", {"title": "x"}, {}),
        ("get", f"/api/v1/deals/{deal_id}/events", None, {}),
        ("post", f"/api/v1/deals/{deal_id}/events", {"kind": "message"}, {}),
        ("patch", f"/api/v1/tasks/{task['id']}", {"done": True}, {}),
        ("post", "/api/v1/deals", {"property_id": str(prop)}, {}),
        ("post", "/api/v1/offers", {"deal_id": str(deal_id), "price": 5}, {}),
        ("post", "/api/v1/offers", {"property_id": str(prop), "price": 5}, {}),
        ("get", f"/api/v1/offers/{offer['id']}", None, {}),
        ("get", "/api/v1/offers", None, {}),
        ("post", f"/api/v1/offers/{offer['id']}/transition", {"status": "sent"}, {}),
        ("post", f"/api/v1/offers/{offer['id']}/counter", {"price": 5}, {}),
    ]
    for method, url, body, extra in calls:
        kwargs: dict[str, Any] = {"headers": {**x, **extra}}
        if body is not None:
            kwargs["json"] = body
        if url == "/api/v1/offers" and method == "get":
            r = client.get(url, params={"deal_id": str(deal_id)}, headers=x)
        else:
            r = getattr(client, method)(url, **kwargs)
        assert r.status_code == 404, (method, url, r.status_code, r.text)
    assert client.get("/api/v1/deals", headers=x).json()["items"] == []
    after = client.get(f"/api/v1/deals/{deal_id}", headers=h)
    assert after.headers["ETag"] == etag and after.json()["stage"] == "new"
    events = client.get(f"/api/v1/deals/{deal_id}/events", headers=h).json()
    assert [e["kind"] for e in events] == ["shortlisted", "offer_created", "task_added"]
    assert (
        client.get(f"/api/v1/offers/{offer['id']}", headers=h).json()["offers"][0]["status"]
        == "draft"
    )


def test_offer_priced_by_the_underwriting_maximum_offer(client: Any, org: Any) -> None:
    (deal_id,) = _deals(org, 1)
    h = org.headers()
    assumptions = {"purchase_price": 150000, "gross_rent_monthly": 1800,
                   "property_tax_annual": 2400, "insurance_annual": 1200,
                   "loan": {"ltv": 0.75, "rate": 0.07, "amort_years": 30}}  # fmt: skip
    body = {"deal_id": str(deal_id),
            "max_offer": {"strategy": "rental", "constraints": {"min_dscr": 1.25},
                          "assumptions": assumptions}}  # fmt: skip
    r = client.post("/api/v1/offers", json=body, headers=h)
    assert r.status_code == 201, r.text
    offer = r.json()
    assert offer["source"] == "optimiser" and offer["basis"]["binding"] == "min_dscr"
    assert offer["price"] == f"{offer['basis']['max_offer']}.00"
    # one dollar more breaks the binding constraint: the underwriting's own check
    checks = offer["basis"]["checks"]
    assert checks and checks[0]["metric"] == "dscr"
    events = client.get(f"/api/v1/deals/{deal_id}/events", headers=h).json()
    assert [e["kind"] for e in events][-2:] == ["underwriting", "offer_created"]
    assert events[-2]["detail"]["max_offer"] == offer["basis"]["max_offer"]
    # the store does not know taxes: the refusal names what is missing
    body["max_offer"]["assumptions"] = None
    r = client.post("/api/v1/offers", json=body, headers=h)
    assert r.status_code == 422 and "property_tax_annual" in r.json()["message"]


def test_tasks_page_by_cursor_without_gaps_or_repeats(client: Any, org: Any) -> None:
    """Open tasks in keyset pages: X-Next-Cursor until the last page; every task once,
    soonest due first and undated last on both stores; a foreign cursor is a 422."""
    deal_ids = _deals(org, 2)
    h = org.headers()
    today = date.today()
    made = []
    for n in range(7):
        due = None if n % 3 == 0 else (today + timedelta(days=n)).isoformat()
        r = client.post(
            f"/api/v1/deals/{deal_ids[n % 2]}/tasks",
            json={"title": f"task {n}", **({"due_date": due} if due else {})},
            headers=h,
        )
        assert r.status_code == 201, r.text
        made.append(r.json()["id"])
    seen: list[dict[str, Any]] = []
    cursor = None
    for _ in range(10):
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        r = client.get("/api/v1/tasks", params=params, headers=h)
        assert r.status_code == 200, r.text
        seen += r.json()
        cursor = r.headers.get("x-next-cursor")
        if not cursor:
            break
    assert sorted(t["id"] for t in seen) == sorted(made)
    dues = [t["due_date"] for t in seen]
    dated = [d for d in dues if d]
    assert dated == sorted(dated) and dues[len(dated) :] == [None] * (len(dues) - len(dated))
    r = client.get("/api/v1/tasks", params={"cursor": "bm90LWEtY3Vyc29y"}, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "cursor"
