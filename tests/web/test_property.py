"""The property page: facts with provenance, sales, owner, lists, the valuation with its
comps (exclude one, the value is recomputed), the market index, live underwriting and the
deal's CRM; security (no session, another organisation, CSRF, escaping) and axe-core.

One organisation for the module: Ames sales imported by the real importer and an AVM
trained on them (the valuation tests' data), an owner, a list and a deal on the subject."""

from __future__ import annotations

import re
import statistics
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.conftest import OrgFixture
from tests.web.conftest import check_axe, shot, web_sign_in

from reos.accounts import service as accounts
from reos.crm import service as crm_service
from reos.db.session import system_session, tenant_session
from reos.ingest import service as ingest_service
from reos.kernel.principal import Principal, attach
from reos.models import ListMembership, OwnerEntity, OwnerRecord, Property, PropertyList, Sale
from reos.properties import service as properties_service
from reos.valuation import service as valuation_service

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
AMES = SAMPLES / "ames_iowa_sales_2006_2010.csv"
AMES_MAP = SAMPLES / "ames.mapping.yaml"
XSS = "<script>alert(1)</script>"


def _org(client: Any) -> OrgFixture:
    slug = f"p-{uuid.uuid4().hex[:10]}"
    with system_session() as s:
        org_id = accounts.create_organization(s, slug, slug).id
    email = f"owner-{slug}@example.com"
    password = "correct horse battery"
    with tenant_session(org_id) as s:
        attach(s, Principal(kind="cli", org_id=org_id, role="owner"))
        accounts.add_member(s, email, "owner", password)
    r = client.post("/api/v1/auth/token", data={"username": email, "password": password})
    return OrgFixture(org_id, slug, email, password, r.json()["access_token"])


@pytest.fixture(scope="module")
def desk(client: Any) -> dict[str, Any]:
    org = _org(client)
    report = ingest_service.import_file(AMES, "sales", org_id=org.id, mapping_path=AMES_MAP)
    assert report.inserted >= 2900 and report.balanced
    with tenant_session(org.id) as s:
        attach(s, Principal(kind="cli", org_id=org.id, role="owner"))
        valuation_service.train_model(s, date(2010, 7, 1))
        # the subject: of the properties sold in 2010, the one whose value leans most on
        # its comps (so excluding one moves the value on either store)
        ids = s.scalars(
            select(Sale.property_id)
            .where(Sale.close_date >= date(2010, 1, 1))
            .order_by(Sale.close_date, Sale.sale_price)
            .limit(40)
        ).all()
        props = [s.get(Property, i) for i in ids]
        _version, results = valuation_service.estimate_properties(
            s, [p for p in props if p is not None], date(2010, 7, 1)
        )
        weights = [float(r.method.get("blend_weight_comps") or 0) for r in results]
        pid = [p for p in props if p is not None][weights.index(max(weights))].id
        properties_service.update_property(s, pid, {"address": f"12 Elm St {XSS}"})
        valuation_service.value_property(s, pid, date(2010, 7, 1))
        entity = OwnerEntity(
            entity_key="own:T1", display_name=f"Acme {XSS} LLC", kind="organisation"
        )
        s.add(entity)
        s.flush()
        s.add(
            OwnerRecord(
                owner_record_id="R1",
                owner_name=f"ACME {XSS} LLC",
                mailing_city="Chicago",
                mailing_state="IL",
                property_id=pid,
                entity_id=entity.id,
                provenance={},
            )
        )
        plist = PropertyList(name="Absentee owners", kind="absentee", list_date=date(2010, 1, 1))
        s.add(plist)
        s.flush()
        s.add(ListMembership(list_id=plist.id, property_id=pid, listed_on=date(2010, 1, 2)))
        deal = crm_service.create_deal(s, pid, score=77, reasons=["absentee"])
        crm_service.add_task(s, deal.id, "Call the owner", due_date=date(2030, 1, 1))
        s.commit()
    return {"org": org, "pid": pid}


@pytest.fixture
def desk_client(app: Any, desk: dict[str, Any]) -> Any:
    with TestClient(app, base_url="http://testserver") as c:
        c.csrf = web_sign_in(c, desk["org"].owner_email, desk["org"].password)  # type: ignore[attr-defined]
        yield c


def _value(html: str) -> str:
    found = re.search(r'data-testid="estimated-value">([^<]+)<', html)
    assert found, html[:2000]
    return found.group(1)


def test_the_page_shows_each_section_with_provenance_and_escapes(
    desk: dict[str, Any], desk_client: Any
) -> None:
    r = desk_client.get(f"/properties/{desk['pid']}")
    assert r.status_code == 200, r.text[:2000]
    html = r.text
    for section in (
        "facts",
        "sales",
        "owner",
        "lists",
        "valuation",
        "market",
        "underwriting",
        "crm",
    ):
        assert f'id="{section}"' in html, section
    # provenance: each fact names its source file and observed date
    fact = re.search(r'data-field="living_area_sqft" title="Source: ([^"]+)"', html)
    assert (
        fact and "ames_iowa_sales_2006_2010.csv" in fact.group(1) and "observed 20" in fact.group(1)
    )
    assert 'data-field="address"' not in html or "entered through the API" in html
    assert "Absentee owners" in html and "Call the owner" in html
    assert "Portfolio:" in html and "<svg" in html and "Market index" in html
    assert 'hx-get="/properties/' in html and "?strategy=rental#underwriting" in html
    section = desk_client.get(
        f"/properties/{desk['pid']}/underwriting", headers={"HX-Request": "true"}
    )
    assert section.status_code == 200 and 'id="uw-form"' in section.text
    assert "Inputs (rental)" in desk_client.get(f"/properties/{desk['pid']}?strategy=rental").text
    assert XSS not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def _indication(html: str) -> str:
    found = re.search(r'data-testid="comp-indication">([^<]+)<', html)
    assert found, html[:2000]
    return found.group(1)


def test_excluding_a_comp_changes_the_value(desk: dict[str, Any], desk_client: Any) -> None:
    html = desk_client.get(f"/properties/{desk['pid']}").text
    before = _value(html)
    sales = re.findall(r'name="exclude" value="([^"]+)"', html)
    assert len(sales) >= 3
    r = desk_client.post(
        f"/properties/{desk['pid']}/valuation",
        data={"exclude": sales[:2]},
        headers={"HX-Request": "true", "X-CSRF-Token": desk_client.csrf},
    )
    assert r.status_code == 200, r.text[:2000]
    # the value moves with the comps; where the model learned to give this grade's comps
    # no weight (a blend of 0), the comps' indication moves and the value stays
    assert _value(r.text) != before or (
        "<dd>0% comps" in r.text and _indication(r.text) != _indication(html)
    )
    assert r.text.count("checked") >= 2 and "excluded" in r.text
    for sid in sales[:2]:
        assert re.search(rf'value="{sid}" checked', r.text)
    # un-excluding them goes back to the original comps
    r = desk_client.post(
        f"/properties/{desk['pid']}/valuation",
        data={},
        headers={"HX-Request": "true", "X-CSRF-Token": desk_client.csrf},
    )
    assert _value(r.text) == before


def test_exclude_in_the_valuation_service(desk: dict[str, Any]) -> None:
    org = desk["org"]
    with tenant_session(org.id) as s:
        attach(s, Principal(kind="cli", org_id=org.id, role="owner"))
        base = valuation_service.value_property(s, desk["pid"], date(2010, 6, 1))
        comps = [c["sale_id"] for c in base.result["comps"]]
        again = valuation_service.value_property(
            s, desk["pid"], date(2010, 6, 1), exclude=[comps[0], "not-a-sale"]
        )
        used = [c["sale_id"] for c in again.result["comps"]]
        assert comps[0] not in used and len(used) == len(comps)
        assert [e["sale_id"] for e in again.result["method"]["excluded_comps"]] == [comps[0]]
        lam = float(base.result["method"].get("blend_weight_comps") or 0)
        assert again.estimated_value != base.estimated_value or lam == 0
        indication = again.result["method"]["comp_indication"]
        assert indication != base.result["method"]["comp_indication"]
        s.rollback()


def _uw(client: Any, pid: uuid.UUID, **values: str) -> Any:
    data = {
        "strategy": "rental",
        "purchase_price": "180000",
        "gross_rent_monthly": "1800",
        "property_tax_annual": "2400",
        "insurance_annual": "900",
        "loan.ltv": "0.75",
        "loan.rate": "0.065",
        "loan.amort_years": "30",
        "c.min_dscr": "1.2",
        "c.min_cash_on_cash": "0.05",
        **values,
    }
    return client.post(
        f"/properties/{pid}/underwriting",
        data=data,
        headers={"HX-Request": "true", "X-CSRF-Token": client.csrf},
    )


def test_underwriting_recomputes_and_bad_input_is_inline(
    desk: dict[str, Any], desk_client: Any
) -> None:
    a = _uw(desk_client, desk["pid"])
    assert a.status_code == 200, a.text[:2000]
    cap = re.search(
        r'data-metric="cap_rate"><span class="m-label">[^<]+</span><span class="m-value">([^<]+)<',
        a.text,
    )
    assert cap and cap.group(1).endswith("%")
    assert "Sensitivities" in a.text and 'data-testid="max-offer"' in a.text and "<svg" in a.text
    b = _uw(desk_client, desk["pid"], gross_rent_monthly="2400")
    cap_b = re.search(
        r'data-metric="cap_rate"><span class="m-label">[^<]+</span><span class="m-value">([^<]+)<',
        b.text,
    )
    assert cap_b and cap_b.group(1) != cap.group(1)
    bad = _uw(desk_client, desk["pid"], gross_rent_monthly="lots")
    assert bad.status_code == 422
    assert "is not a number" in bad.text and 'id="err-gross_rent_monthly"' in bad.text
    out_of_bounds = _uw(desk_client, desk["pid"], **{"loan.ltv": "1.5"})
    assert out_of_bounds.status_code == 422 and "loan.ltv" in out_of_bounds.text
    for strategy in ("flip", "commercial"):
        page = desk_client.get(f"/properties/{desk['pid']}?strategy={strategy}")
        assert page.status_code == 200 and f"Inputs ({strategy})" in page.text


def test_notes_and_tasks(desk: dict[str, Any], desk_client: Any) -> None:
    h = {"HX-Request": "true", "X-CSRF-Token": desk_client.csrf}
    r = desk_client.post(
        f"/properties/{desk['pid']}/notes", data={"body": f"Seller {XSS} motivated"}, headers=h
    )
    assert r.status_code == 200 and "Seller &lt;script&gt;" in r.text and XSS not in r.text
    r = desk_client.post(
        f"/properties/{desk['pid']}/tasks",
        data={"title": "Send offer", "due_date": "2030-02-01"},
        headers=h,
    )
    assert r.status_code == 200 and "Send offer" in r.text
    task = re.search(
        r'/tasks/([0-9a-f-]{36})/done"[^>]*>\s*<input[^>]*>\s*<input type="hidden" name="done" value="1">\s*<button[^>]*>Complete<span class="visually-hidden">: Send offer',
        r.text,
    )
    assert task, r.text
    r = desk_client.post(
        f"/properties/{desk['pid']}/tasks/{task.group(1)}/done", data={"done": "1"}, headers=h
    )
    assert r.status_code == 200 and "task done" in r.text
    # a plain form post (no JavaScript) is redirected back to the page
    r = desk_client.post(
        f"/properties/{desk['pid']}/notes",
        data={"body": "plain post", "csrf_token": desk_client.csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].endswith("#crm")
    empty = desk_client.post(f"/properties/{desk['pid']}/notes", data={"body": "  "}, headers=h)
    assert empty.status_code == 422 and "a note needs some text" in empty.text


def test_security(desk: dict[str, Any], desk_client: Any, client: Any, other_org: Any) -> None:
    pid = desk["pid"]
    with TestClient(client.app) as anonymous:
        r = anonymous.get(f"/properties/{pid}", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
    for path, data in (
        ("underwriting", {"strategy": "rental"}),
        ("valuation", {}),
        ("notes", {"body": "x"}),
        ("tasks", {"title": "x"}),
        ("deal", {}),
        (f"tasks/{uuid.uuid4()}/done", {"done": "1"}),
    ):
        r = desk_client.post(f"/properties/{pid}/{path}", data=data)
        assert r.status_code == 403, path
    # another organisation's property is not found (and nothing is written to it)
    with tenant_session(other_org.id) as s:
        attach(s, Principal(kind="cli", org_id=other_org.id, role="owner"))
        other = properties_service.create_property(s, {"address": "1 Other Rd", "city": "Ames"})
        other_id = other.id
        s.commit()
    assert desk_client.get(f"/properties/{other_id}").status_code == 404
    h = {"X-CSRF-Token": desk_client.csrf}
    assert (
        desk_client.post(f"/properties/{other_id}/notes", data={"body": "x"}, headers=h).status_code
        == 404
    )
    assert desk_client.post(f"/properties/{other_id}/valuation", headers=h).status_code == 404
    assert desk_client.get(f"/properties/{uuid.uuid4()}").status_code == 404


def test_server_time(desk: dict[str, Any], desk_client: Any) -> None:
    """A generous floor (the figures are in the report): the page stays well under a
    second on a 2,900-sale organisation with a model."""
    times = []
    for _ in range(15):
        started = time.perf_counter()
        assert desk_client.get(f"/properties/{desk['pid']}").status_code == 200
        times.append(time.perf_counter() - started)
    times.sort()
    uw_times = []
    for _ in range(7):
        started = time.perf_counter()
        r = desk_client.get(
            f"/properties/{desk['pid']}/underwriting", headers={"HX-Request": "true"}
        )
        assert r.status_code == 200
        uw_times.append(time.perf_counter() - started)
    uw_times.sort()
    print(
        f"property page server time: median {statistics.median(times) * 1000:.0f} ms, "
        f"p95 {times[int(0.95 * (len(times) - 1))] * 1000:.0f} ms; underwriting section "
        f"median {statistics.median(uw_times) * 1000:.0f} ms, max {uw_times[-1] * 1000:.0f} ms"
    )
    assert statistics.median(times) < 2.0, times


def test_in_the_browser(desk: dict[str, Any], signed_in: Any) -> None:
    page = signed_in(desk["org"])
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"/properties/{desk['pid']}")
    page.wait_for_selector("#comps-map .leaflet-container, #comps-map.leaflet-container")
    # live underwriting: type a rent, the metrics panel changes without a page load
    page.evaluate("window.__marker = 1")
    for name, value in (
        ("gross_rent_monthly", "1800"),
        ("property_tax_annual", "2400"),
        ("insurance_annual", "900"),
        ("loan-ltv", "0.75"),
        ("loan-rate", "0.065"),
        ("loan-amort_years", "30"),
    ):
        page.fill(f"#uw-{name}", value)
    page.wait_for_selector('#uw-results[data-ok="yes"] [data-metric="cap_rate"]')
    before = page.inner_text('[data-metric="cap_rate"] .m-value')
    page.fill("#uw-gross_rent_monthly", "2600")
    page.wait_for_function(
        "b => document.querySelector('[data-metric=\"cap_rate\"] .m-value') && "
        "document.querySelector('[data-metric=\"cap_rate\"] .m-value').textContent !== b",
        arg=before,
    )
    page.fill("#uw-gross_rent_monthly", "many")
    page.wait_for_selector("#err-gross_rent_monthly:has-text('is not a number')")
    page.wait_for_selector("#uw-gross_rent_monthly[aria-invalid='true']")
    page.fill("#uw-gross_rent_monthly", "2200")
    page.wait_for_selector('#uw-results[data-ok="yes"]')
    page.wait_for_selector("#uw-gross_rent_monthly:not([aria-invalid])")
    assert page.evaluate("window.__marker") == 1  # no page load
    # exclude a comp: the value changes in place
    indication = page.inner_text('[data-testid="comp-indication"]')
    value = page.inner_text('[data-testid="estimated-value"]')
    page.check("#ex-1")
    page.click("text=Recompute value")
    page.wait_for_function(
        "i => document.querySelector('[data-testid=\"comp-indication\"]').textContent !== i",
        arg=indication,
    )
    blend = page.inner_text(".valuation dl")
    assert page.inner_text('[data-testid="estimated-value"]') != value or re.search(
        r"(^|\s)0% comps", blend
    )

    assert page.evaluate("window.__marker") == 1
    # add a note
    page.fill("#note-body", "Spoke to the owner")
    page.click("text=Add note")
    page.wait_for_selector(".notes-list >> text=Spoke to the owner")
    check_axe(page, context="on the property page")
    shot(page, "property")
    assert dialogs == []
