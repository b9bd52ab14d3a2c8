"""The owners pages: search, the owner page (portfolio map and table, flags, related
owners), merge and split with confirmation; sessions, other organisations, CSRF,
escaping and axe-core."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pandas as pd
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.owners.test_service_support import owner_record, store_records
from tests.web.conftest import check_axe, shot

XSS = "<script>alert(1)</script>"

ROSTER = [
    owner_record("S1", "SMITH JOHN", property_address="123 MAIN ST", property_city="AUSTIN",
                 property_state="TX", property_zip="78701", estimated_value=400_000.0,
                 last_sale_date="2010-05-01"),
    owner_record("S2", "SMITH JOHN A", property_address="9 LAKE DR", property_city="AUSTIN",
                 property_state="TX", property_zip="78702", estimated_value=250_000.0,
                 last_sale_date="2018-01-15"),
    owner_record("S3", "John Smith"),
    owner_record("A1", "ACME HOLDINGS LLC", mailing_address="1 WALL ST", mailing_city="NEW YORK",
                 mailing_state="NY", mailing_zip="10005", property_address="44 OAK AVE",
                 property_city="AUSTIN", property_state="TX", property_zip="78703",
                 estimated_value=300_000.0),
    owner_record("B1", "BETA RENTALS LLC", mailing_address="1 WALL ST", mailing_zip="10005",
                 mailing_city="NEW YORK", mailing_state="NY"),
    owner_record("X1", XSS + " LLC", mailing_address="5 ELM ST", mailing_city="DALLAS",
                 mailing_state="TX", mailing_zip="75201", property_address="5 ELM ST",
                 property_city="DALLAS", property_state="TX", property_zip="75201"),
]  # fmt: skip
COORDS = {"S1": (30.27, -97.74), "S2": (30.28, -97.75), "A1": (30.26, -97.73)}


def resolved(client: Any, org: Any) -> dict[str, str]:
    """The roster stored, located and resolved; owner ids by record id."""
    from reos.db.session import tenant_session
    from reos.models import Property

    properties = store_records(org.id, pd.DataFrame(ROSTER))
    with tenant_session(org.id) as s:
        for rid, (lat, lon) in COORDS.items():
            prop = s.scalars(select(Property).where(Property.id == properties[rid])).one()
            prop.latitude, prop.longitude = lat, lon
    r = client.post("/api/v1/owners/resolve", headers=org.headers())
    assert r.status_code == 200, r.text
    out: dict[str, str] = {}
    owners = client.get("/api/v1/owners?limit=500", headers=org.headers()).json()["items"]
    for o in owners:
        detail = client.get(f"/api/v1/owners/{o['id']}", headers=org.headers()).json()
        for rec in detail["records"]:
            out[rec["owner_record_id"]] = o["id"]
    return out


def test_search_by_name_type_and_portfolio_size(web_client: Any, client: Any, org: Any) -> None:
    ids = resolved(client, org)
    r = web_client.get("/owners?q=smith")
    assert r.status_code == 200
    assert f'href="/owners/{ids["S1"]}"' in r.text and "ACME" not in r.text
    r = web_client.get("/owners?kind=organisation")
    assert "ACME HOLDINGS LLC" in r.text and "John Smith" not in r.text
    r = web_client.get("/owners?min_properties=2")
    assert f'/owners/{ids["S1"]}"' in r.text and "ACME" not in r.text
    assert "Owners 1–1 of 1" in r.text
    r = web_client.get("/owners?q=smith", headers={"HX-Request": "true"})
    assert r.status_code == 200 and "<html" not in r.text and "John Smith" in r.text
    r = web_client.get("/owners?page=999")
    assert r.status_code == 200 and "Page 999" in r.text


def test_owner_page_portfolio_flags_related_and_escaping(
    web_client: Any, client: Any, org: Any
) -> None:
    ids = resolved(client, org)
    r = web_client.get(f"/owners/{ids['S1']}")
    assert r.status_code == 200
    page = r.text
    assert "123 MAIN ST" in page and "9 LAKE DR" in page
    assert re.search(r'href="/properties/[0-9a-f-]{36}">123 MAIN ST', page)
    assert "data-reos-map" in page and "30.27" in page
    assert "$650,000" in page  # 400k + 250k
    r = web_client.get(f"/owners/{ids['A1']}")
    assert "Corporate" in r.text and "BETA RENTALS LLC" in r.text  # related by mailing address
    r = web_client.get(f"/owners/{ids['X1']}")
    assert XSS not in r.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    r = web_client.get("/owners?q=script")  # found by the raw name on its record
    assert f"/owners/{ids['X1']}" in r.text and XSS not in r.text


def test_merge_with_confirmation_then_split(web_client: Any, client: Any, org: Any) -> None:
    ids = resolved(client, org)
    a, b = ids["A1"], ids["B1"]
    assert a != b
    pick = web_client.get(f"/owners/{a}/merge?q=beta")
    assert f"/owners/{a}/merge/{b}" in pick.text
    confirm = web_client.get(f"/owners/{a}/merge/{b}")
    assert confirm.status_code == 200
    assert "is removed; its records join" in confirm.text and "3 propert" not in confirm.text
    assert "has 2 records and 1 property" in confirm.text
    # nothing changed yet
    assert client.get(f"/api/v1/owners/{b}", headers=org.headers()).status_code == 200
    done = web_client.post(f"/owners/{a}/merge/{b}", data={"csrf_token": web_client.csrf})
    assert done.status_code == 200, done.text
    assert "Owners merged" in done.text
    after = client.get(f"/api/v1/owners/{a}", headers=org.headers()).json()
    assert {r["owner_record_id"] for r in after["records"]} == {"A1", "B1"}
    assert client.get(f"/api/v1/owners/{b}", headers=org.headers()).status_code == 404

    s1 = ids["S1"]
    confirm = web_client.get(f"/owners/{s1}/split?record=S3")
    assert confirm.status_code == 200 and "Record <strong>S3</strong> leaves" in confirm.text
    assert "keeps 2 records" in confirm.text
    done = web_client.post(
        f"/owners/{s1}/split", data={"csrf_token": web_client.csrf, "record_id": "S3"}
    )
    assert done.status_code == 200 and "Record split off" in done.text
    after = client.get(f"/api/v1/owners/{s1}", headers=org.headers()).json()
    assert {r["owner_record_id"] for r in after["records"]} == {"S1", "S2"}
    # a split of the only record is a message, not a 500
    lone = re.search(r'href="/owners/([0-9a-f-]{36})">', done.text.split("the record is now")[1])
    assert lone
    r = web_client.get(f"/owners/{lone.group(1)}/split?record=S3")
    assert r.status_code == 422 and "only record" in r.text


def test_every_post_needs_the_csrf_token(web_client: Any, client: Any, org: Any) -> None:
    ids = resolved(client, org)
    r = web_client.post(f"/owners/{ids['A1']}/merge/{ids['B1']}", data={})
    assert r.status_code == 403
    r = web_client.post(f"/owners/{ids['S1']}/split", data={"record_id": "S3"})
    assert r.status_code == 403
    after = client.get(f"/api/v1/owners/{ids['B1']}", headers=org.headers())
    assert after.status_code == 200  # nothing merged


def test_other_organisations_owner_is_404(
    web_client: Any, client: Any, org: Any, other_org: Any
) -> None:
    theirs = resolved(client, other_org)
    mine = resolved(client, org)
    for path in (
        f"/owners/{theirs['S1']}",
        f"/owners/{theirs['S1']}/merge",
        f"/owners/{mine['A1']}/merge/{theirs['B1']}",
        f"/owners/{theirs['S1']}/split?record=S3",
    ):
        assert web_client.get(path).status_code == 404, path
    r = web_client.post(
        f"/owners/{mine['A1']}/merge/{theirs['B1']}", data={"csrf_token": web_client.csrf}
    )
    assert r.status_code == 404
    r = web_client.post(
        f"/owners/{theirs['S1']}/split", data={"csrf_token": web_client.csrf, "record_id": "S3"}
    )
    assert r.status_code == 404
    assert theirs["S1"] not in web_client.get("/owners").text
    detail = client.get(f"/api/v1/owners/{theirs['S1']}", headers=other_org.headers()).json()
    assert detail["record_count"] == 3


def test_no_session_is_sent_to_sign_in(client: Any) -> None:
    some = uuid.uuid4()
    with TestClient(client.app) as c:
        for path in ("/owners", f"/owners/{some}", f"/owners/{some}/merge"):
            r = c.get(path, follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path
        r = c.post(f"/owners/{some}/split", data={"record_id": "x"}, follow_redirects=False)
        assert r.status_code == 303


def test_owner_pages_in_the_browser(signed_in: Any, client: Any, org: Any) -> None:
    ids = resolved(client, org)
    page = signed_in(org)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto("/owners")
    page.fill("#owner-q", "smith")
    page.locator("#owner-results a", has_text="ACME").wait_for(state="detached")
    check_axe(page, context="on /owners")
    page.get_by_role("link", name="John Smith", exact=True).click()
    page.wait_for_url(re.compile(rf".*/owners/{ids['S1']}$"))
    page.wait_for_selector("#owner-map.leaflet-container", state="attached")
    # static/map.js mounts the map and keeps its markers on the element (canvas markers)
    page.wait_for_function("() => document.querySelector('#owner-map').reosMap !== undefined")
    assert page.evaluate("() => document.querySelector('#owner-map').reosMap.markers.length") == 2
    check_axe(page, context="on the owner page")
    shot(page, "owner")
    page.get_by_role("link", name="Split off… record S3").click()
    check_axe(page, context="on the split confirmation")
    page.get_by_role("button", name="Split the record off").click()
    page.wait_for_selector("text=Record split off")
    page.goto(f"/owners/{ids['X1']}")
    check_axe(page, context="on an owner with a script name")
    page.goto(f"/owners/{ids['A1']}/merge/{ids['B1']}")
    check_axe(page, context="on the merge confirmation")
    assert dialogs == []
