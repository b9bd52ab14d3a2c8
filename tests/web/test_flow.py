"""The deal desk end to end in a real browser, as an analyst works it: sign in, import a
file and fix its column mapping, run the pipeline from the page, open the top deal,
change an underwriting input and see the metric change, exclude a comp and see the value
change, move the deal on the board, sign out. Each step saves a screenshot.

The organisation starts with the county's records (the Ames sample sales, imported by the
real importer, and a valuation model trained on them) and the demo's flip assumptions;
everything after that happens through the pages, against the live server's real store
and its in-process job worker (the import and the pipeline run as background jobs)."""

from __future__ import annotations

import re
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from tests.conftest import OrgFixture
from tests.web.conftest import check_axe, shot

from reos.accounts import service as accounts
from reos.db.session import system_session, tenant_session
from reos.ingest import service as ingest_service
from reos.kernel.principal import Principal, attach
from reos.models import Deal, Sale
from reos.pipeline import service as pipeline_service
from reos.underwriting import service as underwriting_service
from reos.valuation import service as valuation_service

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
VALUED_AS_OF = date(2010, 7, 31)
#: A broker's sale file for three more Ames houses: its price and date columns have
#: names the importer does not know, so the mapping must be fixed on the page.
SALES = (
    "parcel,Street Address,City,State,Zip,Amount,Sold On,Latitude,Longitude\n"
    "FLOW-1,101 Duff Ave,Ames,IA,50010,152000,2010-05-14,42.0301,-93.6110\n"
    "FLOW-2,215 Lincoln Way,Ames,IA,50010,98000,2010-06-02,42.0228,-93.6235\n"
    "FLOW-3,87 Grand Ave,Ames,IA,50010,181500,2010-06-20,42.0345,-93.6178\n"
)


@pytest.fixture(scope="module")
def county(client: Any) -> OrgFixture:
    slug = f"flow-{uuid.uuid4().hex[:8]}"
    with system_session() as s:
        org_id = accounts.create_organization(s, "Flow Capital", slug).id
    email, password = f"analyst-{slug}@example.com", "correct horse battery"
    with tenant_session(org_id) as s:
        attach(s, Principal(kind="cli", org_id=org_id, role="owner"))
        accounts.add_member(s, email, "owner", password)
    report = ingest_service.import_file(
        SAMPLES / "ames_iowa_sales_2006_2010.csv",
        "sales",
        org_id=org_id,
        mapping_path=SAMPLES / "ames.mapping.yaml",
    )
    assert report.balanced and report.inserted > 2900
    with tenant_session(org_id) as s:
        attach(s, Principal(kind="cli", org_id=org_id, role="owner"))
        valuation_service.train_model(s, VALUED_AS_OF)
        underwriting_service.set_defaults(s, "flip", {"rehab_cost": 25_000, "holding_months": 6})
        pipeline_service.update_settings(
            s, strategy="flip", valuation_date=VALUED_AS_OF, shortlist_top_n=25
        )
    token = client.post("/api/v1/auth/token", data={"username": email, "password": password})
    return OrgFixture(org_id, slug, email, password, token.json()["access_token"])


def test_the_deal_desk_from_sign_in_to_sign_out(
    signed_in: Any, county: OrgFixture, tmp_path: Path
) -> None:
    page = signed_in(county)  # 1. signed in through the form, on /deals
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    shot(page, "flow-1-signed-in")

    # 2. import a file; its mapping misses the price and the date: fix it on the page
    source = tmp_path / "broker_sales.csv"
    source.write_text(SALES, encoding="utf-8")
    page.goto("/imports/new")
    page.select_option("#entity", "sales")
    page.set_input_files("#file", str(source))
    page.get_by_role("button", name="Upload and preview").click()
    page.wait_for_selector("#mapping-error")
    page.get_by_label("sale_price", exact=True).select_option("Amount")
    page.get_by_label("close_date", exact=True).select_option("Sold On")
    page.get_by_role("button", name="Update the preview").click()
    page.wait_for_selector("text=The first rows, mapped")
    page.get_by_role("button", name="Run the import").click()
    page.wait_for_selector("text=balanced", timeout=60_000)
    assert "Quarantine (0 open)" in page.inner_text("main")
    shot(page, "flow-2-imported")
    with tenant_session(county.id) as s:
        prices = set(s.scalars(select(Sale.sale_price).where(Sale.close_date == date(2010, 6, 2))))
    assert 98000 in {int(p) for p in prices}

    # 3. run the pipeline from its page; it finishes and shortlists deals
    page.goto("/pipeline")
    page.click("button:has-text('Start a run')")
    page.wait_for_selector(".job-status.done", timeout=240_000)
    assert "The run finished." in page.inner_text(".job-status")
    shot(page, "flow-3-pipeline")
    with tenant_session(county.id) as s:
        top = s.execute(
            select(Deal.id, Deal.property_id, Deal.score).order_by(Deal.score.desc()).limit(1)
        ).one()
    assert top.score is not None

    # 4. the deals page lists the shortlist best first: open the top deal
    page.goto("/deals")
    first = page.locator(f'a[href="/properties/{top.property_id}"]').first
    first.click()
    page.wait_for_url(f"**/properties/{top.property_id}**")
    page.wait_for_selector('[data-testid="estimated-value"]')
    shot(page, "flow-4-property")

    # 5. change an underwriting input: the metric changes without a page load
    page.evaluate("window.__flow = 1")
    page.goto(f"/properties/{top.property_id}?strategy=rental#underwriting")
    page.evaluate("window.__flow = 2")
    for name, value in (
        ("gross_rent_monthly", "1500"),
        ("property_tax_annual", "2400"),
        ("insurance_annual", "900"),
        ("loan-ltv", "0.75"),
        ("loan-rate", "0.065"),
        ("loan-amort_years", "30"),
    ):
        page.fill(f"#uw-{name}", value)
    page.wait_for_selector('#uw-results[data-ok="yes"] [data-metric="cap_rate"]')
    before = page.inner_text('[data-metric="cap_rate"] .m-value')
    page.fill("#uw-gross_rent_monthly", "2400")
    page.wait_for_function(
        "b => { const e = document.querySelector('[data-metric=\"cap_rate\"] .m-value');"
        " return e && e.textContent !== b; }",
        arg=before,
    )
    assert page.evaluate("window.__flow") == 2  # the same page: no reload
    shot(page, "flow-5-underwriting")

    # 6. exclude a comp: the valuation is recomputed in place
    indication = page.inner_text('[data-testid="comp-indication"]')
    page.check("#ex-1")
    page.click("text=Recompute value")
    page.wait_for_function(
        "i => document.querySelector('[data-testid=\"comp-indication\"]').textContent !== i",
        arg=indication,
    )
    assert page.evaluate("window.__flow") == 2
    shot(page, "flow-6-comp-excluded")

    # 7. move the deal on the board (its keyboard form: the same rules as a drag)
    page.set_viewport_size({"width": 1920, "height": 1000})
    page.goto("/board")
    card = page.locator(f"#deal-{top.id}")
    card.locator("select").select_option("contacted")
    card.get_by_role("button", name="Move").click()
    page.wait_for_url(re.compile(r".*/board\?moved=contacted.*"))
    assert (
        page.locator(f"#deal-{top.id}").locator("xpath=..").get_attribute("data-stage")
        == "contacted"
    )
    with tenant_session(county.id) as s:
        assert s.scalar(select(Deal.stage).where(Deal.id == top.id)) == "contacted"
    check_axe(page, context="on the board after the move")
    shot(page, "flow-7-board")

    # 8. sign out: the session is over, the pages send back to the sign-in form
    page.click("text=Sign out")
    page.wait_for_url("**/login")
    page.goto("/deals")
    assert "/login" in page.url
    assert dialogs == []
