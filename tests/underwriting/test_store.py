"""Underwriting properties in the store, through the product: Ames imported by the real
importer, rent listings imported as a ``rents`` file written here, an AVM trained through
the API (a job the tests run), default assumptions saved, properties underwritten, stored
and listed; refusals named by field; roles and cross-organisation isolation; ``--all``
chunked and resumable."""

from __future__ import annotations

import csv
import json
import math
import statistics
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from reos.accounts import service as accounts
from reos.cli import main as cli_main
from reos.db.session import system_session, tenant_session
from reos.ingest import service as ingest_service
from reos.jobs.worker import Worker
from reos.kernel.principal import Principal, attach
from reos.models import Property, RentListing, Sale, Underwriting, UnderwritingRun
from reos.underwriting import service as uw_service

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
AMES = SAMPLES / "ames_iowa_sales_2006_2010.csv"
AMES_MAP = SAMPLES / "ames.mapping.yaml"
AS_OF = "2010-06-01"
RENT_MAPPING = """\
record: rent
source_name: test_rent_survey
fields:
  rent_record_id: ListingKey
  source_record_id: PropertyRef
  latitude: Latitude
  longitude: Longitude
  living_area_sqft: LivingArea
  beds: BedroomsTotal
  baths_full: BathroomsFull
  property_type: PropertyType
  monthly_rent: MonthlyRent
  lease_date: LeaseDate
  rent_status: StandardStatus
"""


def _new_org(client: Any) -> tuple[uuid.UUID, str, dict[str, str]]:
    slug = f"u-{uuid.uuid4().hex[:10]}"
    with system_session() as s:
        org_id = accounts.create_organization(s, slug, slug).id
    email = f"{slug}@example.com"
    with tenant_session(org_id) as s:
        attach(s, Principal(kind="cli", org_id=org_id, role="owner"))
        accounts.add_member(s, email, "owner", "a long password")
    token = client.post(
        "/api/v1/auth/token", data={"username": email, "password": "a long password"}
    ).json()["access_token"]
    return org_id, slug, {"Authorization": f"Bearer {token}"}


def _write_rents(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _run_jobs() -> None:
    worker = Worker(poll_seconds=0.01)
    while worker.run_once():
        pass


@pytest.fixture(scope="module")
def store(client: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """An organisation with Ames, 60 rent listings around North Ames and a trained AVM."""
    org_id, slug, headers = _new_org(client)
    report = ingest_service.import_file(AMES, "sales", org_id=org_id, mapping_path=AMES_MAP)
    assert report.inserted >= 2900 and report.balanced
    with tenant_session(org_id) as s:
        homes = s.execute(
            select(
                Property.id, Property.source_record_id, Property.latitude, Property.longitude,
                Property.living_area_sqft, Property.beds, Property.condition,
            )
            .where(Property.neighborhood == "North Ames")
            .order_by(Property.source_record_id)
        ).all()  # fmt: skip
    rented = homes[:60]
    folder = tmp_path_factory.mktemp("rents")
    rows = [
        {
            "ListingKey": f"R{i}",
            "PropertyRef": home.source_record_id if i % 2 == 0 else "",
            "Latitude": home.latitude + 0.0004,
            "Longitude": home.longitude - 0.0004,
            "LivingArea": home.living_area_sqft,
            "BedroomsTotal": home.beds,
            "BathroomsFull": 1,
            "PropertyType": "single_family",
            # $0.85 a square foot a month, give or take a few percent
            "MonthlyRent": round(home.living_area_sqft * 0.85 * (1 + ((i % 5) - 2) / 50)),
            "LeaseDate": f"2009-{(i % 12) + 1:02d}-15",
            "StandardStatus": "Closed",
        }
        for i, home in enumerate(rented)
    ]
    rows.append({**rows[0], "ListingKey": "BAD", "MonthlyRent": "call us", "Latitude": ""})
    rents = folder / "rents.csv"
    _write_rents(rents, rows)
    mapping = folder / "rents.mapping.yaml"
    mapping.write_text(RENT_MAPPING, encoding="utf-8")
    rent_report = ingest_service.import_file(rents, "rents", org_id=org_id, mapping_path=mapping)
    r = client.post("/api/v1/avm/models", json={"cutoff": "2010-01-01"}, headers=headers)
    assert r.status_code == 202, r.text
    _run_jobs()
    done = client.get(r.headers["location"], headers=headers).json()
    assert done["status"] == "done", done
    subject = next(h for h in homes[60:] if h.condition is not None and h.condition < 7)
    return {
        "org_id": org_id,
        "slug": slug,
        "headers": headers,
        "rent_report": rent_report,
        "rents": rows,
        "subject": subject,
        "model_version": done["model"]["version"],
        "mapping": mapping,
        "folder": folder,
    }


def test_rent_listings_import_linked_and_quarantined(store: dict[str, Any]) -> None:
    report = store["rent_report"]
    assert report.balanced
    assert (report.rows_read, report.inserted, report.quarantined) == (61, 60, 1)
    with tenant_session(store["org_id"]) as s:
        linked = s.scalar(select(func.count()).where(RentListing.link_status == "linked"))
        r0 = s.scalars(select(RentListing).where(RentListing.rent_record_id == "R0")).one()
        prop = s.get(Property, r0.property_id)
    assert linked == 30  # every other row names the property it rents
    assert prop is not None and prop.source_record_id == store["rents"][0]["PropertyRef"]
    assert r0.monthly_rent == store["rents"][0]["MonthlyRent"] and r0.lease_date == date(
        2009, 1, 15
    )
    again = ingest_service.import_file(
        store["folder"] / "rents.csv", "rents", org_id=store["org_id"],
        mapping_path=store["mapping"],
    )  # fmt: skip
    assert (again.inserted, again.unchanged, again.quarantined) == (0, 60, 1)


def test_rent_estimate_is_the_median_of_size_adjusted_comps(store: dict[str, Any]) -> None:
    subject = store["subject"]
    with tenant_session(store["org_id"]) as s:
        estimate = uw_service.rent_estimate(s, subject.id, date.fromisoformat(AS_OF))
    assert len(estimate.comps) == 6 and estimate.confidence in "ABCD"
    for comp in estimate.comps:
        expected = comp.monthly_rent * (subject.living_area_sqft / comp.living_area_sqft) ** 0.6
        assert math.isclose(comp.adjusted_rent, expected, rel_tol=1e-12)
        assert comp.distance_km is not None and comp.distance_km <= 5
    assert estimate.monthly_rent == pytest.approx(
        statistics.median(c.adjusted_rent for c in estimate.comps), rel=1e-12
    )
    # listings at $0.85/sf +-4%, adjusted with elasticity 0.6, land near the subject's size
    assert 0.5 * subject.living_area_sqft < estimate.monthly_rent < 1.2 * subject.living_area_sqft


def _put_defaults(client: Any, headers: dict[str, str]) -> None:
    r = client.put(
        "/api/v1/underwriting/defaults",
        json={
            "rental": {
                "insurance_annual": 1200,
                "property_tax_annual": 2400,
                "management_rate": 0.08,
                "loan": {"ltv": 0.75, "rate": 0.065, "amort_years": 30},
            },
            "flip": {"holding_months": 6, "holding_costs_monthly": 800, "mao_rule": 0.75},
        },
        headers=headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["flip"]["mao_rule"] == 0.75


def test_underwrite_a_stored_rental_with_every_source_named(
    client: Any, store: dict[str, Any]
) -> None:
    headers = store["headers"]
    _put_defaults(client, headers)
    subject = store["subject"]
    r = client.post(
        "/api/v1/underwritings",
        json={"property_id": str(subject.id), "strategy": "rental", "as_of": AS_OF,
              "assumptions": {"vacancy_rate": 0.07}},
        headers=headers,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    out = r.json()
    inputs, sources, metrics = out["inputs"], out["sources"], out["metrics"]
    with tenant_session(store["org_id"]) as s:
        last = s.execute(
            select(Sale.close_date, Sale.sale_price)
            .where(Sale.property_id == subject.id)
            .order_by(Sale.close_date.desc())
        ).first()
    assert last is not None
    assert inputs["purchase_price"] == float(last.sale_price)
    assert sources["purchase_price"] == f"last sale {last.close_date.isoformat()}"
    assert sources["vacancy_rate"] == "user" and inputs["vacancy_rate"] == 0.07
    assert sources["insurance_annual"] == "org default" and inputs["insurance_annual"] == 1200
    assert sources["loan"] == "org default" and inputs["loan"]["ltv"] == 0.75
    assert sources["rent_growth"] == "contract default" and inputs["rent_growth"] == 0.03
    assert sources["gross_rent_monthly"].startswith(f"rent estimate {AS_OF} (6 comps")
    assert inputs["gross_rent_monthly"] == out["evidence"]["rent"]["monthly_rent"]
    version = store["model_version"]
    assert sources["after_repair_value"] == f"avm model {version} {AS_OF}"
    assert inputs["after_repair_value"] == out["evidence"]["value"]["estimated_value"]
    assert out["model_version"] == version and out["engine_version"]
    assert set(sources) == set(inputs) - {"strategy"}  # every input says where it came from
    # year-1 NOI from the filled inputs by the contract's formulas, by hand
    gpr = 12 * inputs["gross_rent_monthly"]
    egi = gpr * (1 - 0.07)
    noi = egi - (2400 + 1200) - 0.08 * egi
    assert metrics["noi"] == pytest.approx(noi, abs=0.01)
    assert metrics["cap_rate"] == pytest.approx(noi / inputs["purchase_price"], abs=1e-9)
    low, high = out["evidence"]["value"]["interval_80"]
    assert out["cases"]["low"]["inputs"] == {"after_repair_value": low}
    assert out["cases"]["high"]["inputs"] == {"after_repair_value": high}
    assert out["cases"]["base"]["metrics"] == metrics
    # a lower sale value at the end of the hold means a lower levered IRR
    assert out["cases"]["low"]["metrics"]["irr_levered"] < metrics["irr_levered"]
    assert metrics["irr_levered"] < out["cases"]["high"]["metrics"]["irr_levered"]

    listed = client.get(
        "/api/v1/underwritings", params={"property_id": str(subject.id)}, headers=headers
    ).json()
    assert listed["total"] >= 1 and listed["items"][0]["id"] == out["id"]
    got = client.get(f"/api/v1/underwritings/{out['id']}", headers=headers)
    assert got.status_code == 200 and got.json() == out


def test_underwrite_a_stored_flip_at_its_renovated_value(
    client: Any, store: dict[str, Any]
) -> None:
    headers = store["headers"]
    _put_defaults(client, headers)
    subject = store["subject"]
    r = client.post(
        "/api/v1/underwritings",
        json={"property_id": str(subject.id), "strategy": "flip", "as_of": AS_OF,
              "price": 90000, "assumptions": {"rehab_cost": 30000}},
        headers=headers,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    out = r.json()
    inputs, sources, metrics = out["inputs"], out["sources"], out["metrics"]
    assert sources["purchase_price"] == "user" and inputs["purchase_price"] == 90000
    assert (
        sources["arv"]
        == f"avm model {store['model_version']} {AS_OF} (condition set to 7: renovated)"
    )
    assert inputs["arv"] == out["evidence"]["arv"]["estimated_value"]
    assert out["evidence"]["arv"]["estimated_value"] != out["evidence"]["value"]["estimated_value"]
    assert sources["holding_months"] == "org default" and inputs["mao_rule"] == 0.75
    assert metrics["mao"] == pytest.approx(inputs["arv"] * 0.75 - 30000, abs=0.01)
    total = 90000 + 30000 + 800 * 6 + inputs["arv"] * 0.06
    assert metrics["profit"] == pytest.approx(inputs["arv"] - total, abs=0.01)
    assert out["cases"]["low"]["metrics"]["profit"] < metrics["profit"]


def test_a_whole_deal_is_underwritten_and_stored(client: Any, store: dict[str, Any]) -> None:
    deal = {"strategy": "flip", "arv": 300000, "purchase_price": 170000, "rehab_cost": 45000,
            "holding_months": 6}  # fmt: skip
    r = client.post("/api/v1/underwritings", json={"deal": deal}, headers=store["headers"])
    assert r.status_code == 201, r.text
    out = r.json()
    assert "property_id" not in out and out["model_version"] is None
    assert (
        out["sources"]["arv"] == "user"
        and out["sources"]["selling_costs_rate"] == "contract default"
    )
    # profit = 300,000 - (170,000 + 45,000 + 18,000 selling costs)
    assert out["metrics"]["profit"] == pytest.approx(67000, abs=0.01)


def test_missing_rent_is_named_never_a_500(client: Any, store: dict[str, Any]) -> None:
    headers = store["headers"]
    _put_defaults(client, headers)
    far = client.post(
        "/api/v1/properties",
        json={"address": "1 Main St, Des Moines, IA 50309", "latitude": 41.5868,
              "longitude": -93.625, "living_area_sqft": 1500, "beds": 3},
        headers=headers,
    )  # fmt: skip
    assert far.status_code == 201, far.text
    pid = far.json()["id"]
    r = client.post(
        "/api/v1/underwritings",
        json={"property_id": pid, "strategy": "rental", "as_of": AS_OF},
        headers=headers,
    )
    assert r.status_code == 422, r.text
    problems = r.json()["detail"]["problems"]
    assert any(
        p.startswith("gross_rent_monthly: required for a rental; no rent records for this area")
        for p in problems
    )
    assert any(p.startswith("purchase_price: required for a rental") for p in problems)
    ok = client.post(
        "/api/v1/underwritings",
        json={"property_id": pid, "strategy": "rental", "as_of": AS_OF, "price": 150000,
              "assumptions": {"gross_rent_monthly": 1400}},
        headers=headers,
    )  # fmt: skip
    assert ok.status_code == 201, ok.text
    assert ok.json()["sources"]["gross_rent_monthly"] == "user"
    ancient = client.post(
        "/api/v1/underwritings",
        json={"property_id": str(store["subject"].id), "strategy": "flip", "as_of": "0084-11-07",
              "assumptions": {"rehab_cost": 1000}},
        headers=headers,
    )  # fmt: skip
    assert ancient.status_code == 422, ancient.text
    assert ancient.json()["detail"]["problems"] == [
        "arv: required for a flip; the AVM values as of 1678 to 2262, not 0084-11-07"
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"strategy": "rental", "assumptions": {"vacancy_rate": 2}}, "vacancy_rate"),
        (
            {
                "strategy": "rental",
                "assumptions": {"loan": {"ltv": 1.5, "rate": 0.05, "amort_years": 30}},
            },
            "ltv",
        ),
        ({"strategy": "hold"}, "strategy"),
        ({"price": -5}, "price"),
    ],
)
def test_bad_bodies_are_422_naming_the_field(
    client: Any, store: dict[str, Any], body: dict[str, Any], field: str
) -> None:
    r = client.post(
        "/api/v1/underwritings",
        json={"property_id": str(store["subject"].id), **body},
        headers=store["headers"],
    )
    assert r.status_code == 422, r.text
    assert field in r.text


def test_bad_defaults_are_422_and_change_nothing(client: Any, store: dict[str, Any]) -> None:
    headers = store["headers"]
    _put_defaults(client, headers)
    before = client.get("/api/v1/underwriting/defaults", headers=headers).json()
    for body, field in (
        ({"rental": {"purchase_price": 100000}}, "purchase_price"),
        ({"rental": {"vacancy_rate": -0.1}}, "vacancy_rate"),
        ({"flip": {"holding_months": 0}}, "holding_months"),
        ({"commercial": {}}, "commercial"),
    ):
        r = client.put("/api/v1/underwriting/defaults", json=body, headers=headers)
        assert r.status_code == 422, r.text
        assert field in r.text
    assert client.get("/api/v1/underwriting/defaults", headers=headers).json() == before


def test_roles_and_other_organisations(client: Any, store: dict[str, Any], make_org: Any) -> None:
    headers = store["headers"]
    r = client.post(
        "/api/v1/underwritings",
        json={"property_id": str(store["subject"].id), "strategy": "flip", "as_of": AS_OF,
              "assumptions": {"rehab_cost": 10000, "holding_months": 4}},
        headers=headers,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    uw_id = r.json()["id"]
    other = make_org()
    assert client.get(f"/api/v1/underwritings/{uw_id}", headers=other.headers()).status_code == 404
    assert client.get("/api/v1/underwritings", headers=other.headers()).json()["total"] == 0
    cross = client.post(
        "/api/v1/underwritings",
        json={"property_id": str(store["subject"].id), "strategy": "flip", "price": 1},
        headers=other.headers(),
    )
    assert cross.status_code == 404, cross.text
    assert client.get("/api/v1/underwriting/defaults", headers=other.headers()).json() == {
        "rental": None,
        "flip": None,
    }
    # an analyst reads the defaults and underwrites, but may not change the defaults
    email = f"analyst-{uuid.uuid4().hex[:8]}@example.com"
    added = client.post(
        "/api/v1/members",
        json={"email": email, "role": "analyst", "password": "another good password"},
        headers=headers,
    )
    assert added.status_code == 201, added.text
    token = client.post(
        "/api/v1/auth/token", data={"username": email, "password": "another good password"}
    ).json()["access_token"]
    analyst = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/underwriting/defaults", headers=analyst).status_code == 200
    denied = client.put(
        "/api/v1/underwriting/defaults", json={"rental": {"vacancy_rate": 0.1}}, headers=analyst
    )
    assert denied.status_code == 403, denied.text
    assert client.get(f"/api/v1/underwritings/{uw_id}", headers=analyst).status_code == 200


@contextmanager
def _session(org_id: uuid.UUID) -> Iterator[Any]:
    with tenant_session(org_id) as s:
        attach(s, Principal(kind="cli", org_id=org_id, role="owner", subject="test"))
        yield s


def test_underwrite_all_is_chunked_and_resumable(store: dict[str, Any]) -> None:
    """A run killed after its first chunk keeps that chunk; the next call resumes after it
    and the two calls together underwrite each property once."""
    org_id = store["org_id"]
    with tenant_session(org_id) as s:
        total = s.scalar(select(func.count(Property.id)))
        before = s.scalar(select(func.count(Underwriting.id)))

    class Killed(Exception):
        pass

    def kill(done: int, _total: int) -> None:
        raise Killed

    with pytest.raises(Killed):
        uw_service.underwrite_all(
            lambda: _session(org_id), "rental", {"insurance_annual": 900},
            as_of=date.fromisoformat(AS_OF), progress=kill, chunk_properties=1000,
        )  # fmt: skip
    with tenant_session(org_id) as s:
        run = s.scalars(select(UnderwritingRun)).one()
        assert run.status == "running" and run.properties_done == 1000
        first = s.scalar(select(func.count(Underwriting.id))) - before
    assert 0 < first <= 1000
    resumed: list[Any] = []
    summary = uw_service.underwrite_all(
        lambda: _session(org_id), "rental",
        as_of=date.fromisoformat(AS_OF), chunk_properties=1000, on_resume=resumed.append,
    )  # fmt: skip
    assert len(resumed) == 1
    assert summary["properties"] == total
    with tenant_session(org_id) as s:
        stored = s.execute(
            select(Underwriting.property_id, func.count())
            .where(Underwriting.created_by == "test")
            .group_by(Underwriting.property_id)
        ).all()
        insurance = {
            row.inputs["insurance_annual"]
            for row in s.scalars(select(Underwriting).where(Underwriting.created_by == "test"))
        }
    assert len(stored) == summary["underwritten"] and all(n == 1 for _pid, n in stored)
    assert insurance == {900}  # the resumed run kept the assumptions it started with
    skipped = summary["skipped"]
    assert summary["underwritten"] + sum(skipped.values()) == total
    assert skipped.get("gross_rent_monthly: required for a rental", 0) > 0


def _cli(args: list[str], capsys: Any) -> tuple[int, str, str]:
    try:
        cli_main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_underwrites_a_stored_property(
    client: Any, store: dict[str, Any], capsys: Any, tmp_path: Path
) -> None:
    _put_defaults(client, store["headers"])
    subject, slug = store["subject"], store["slug"]
    assumptions = tmp_path / "assumptions.yaml"
    assumptions.write_text("rehab_cost: 30000\nholding_months: 5\n", encoding="utf-8")
    base = ["underwrite", "--property", str(subject.id), "--as-of", AS_OF, "--org", slug]
    code, out, err = _cli(
        [*base, "--strategy", "flip", "--price", "90000", "--assumptions", str(assumptions),
         "--json"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    body = json.loads(out)
    assert body["sources"]["holding_months"] == "user" and body["inputs"]["holding_months"] == 5
    assert body["sources"]["purchase_price"] == "user" and body["inputs"]["purchase_price"] == 90000
    assert body["sources"]["arv"].startswith("avm model ")
    with tenant_session(store["org_id"]) as s:
        stored = s.get(Underwriting, uuid.UUID(body["id"]))
        assert stored is not None and stored.created_by is not None
    code, out, err = _cli([*base, "--strategy", "rental"], capsys)
    assert code == 0, err
    assert "Metrics" in out and "rent estimate" in out and "last sale" in out
    code, _out, err = _cli(
        ["underwrite", "--property", str(subject.id), "--as-of", "2030-01-01", "--org", slug],
        capsys,
    )
    assert code != 0
    assert "gross_rent_monthly: required for a rental; no rent records for this area" in err
    assert "Traceback" not in err
    code, _out, err = _cli(["underwrite", "--all", "--strategy", "hold", "--org", slug], capsys)
    assert code == 2 and "strategy" in err and "Traceback" not in err
    code, _out, err = _cli(["underwrite", "--property", "nope", "--org", slug], capsys)
    assert code != 0 and "property" in err


def test_max_offer_through_the_api(client: Any, store: dict[str, Any], make_org: Any) -> None:
    """``POST /underwriting/max-offer`` answers what ``reos offer max`` answers: for a whole
    deal (the CLI's library call on the same deal) and for a stored property's filled deal
    (feasible at the answer, broken a dollar above); bad constraints are 422 naming them;
    another organisation's property is a 404."""
    from reos.underwriting.offers import max_offer_for

    headers = store["headers"]
    _put_defaults(client, headers)
    deal = {"strategy": "rental", "purchase_price": 240000, "closing_costs": 4800,
            "gross_rent_monthly": 2400, "property_tax_annual": 3900, "insurance_annual": 1500,
            "management_rate": 0.08, "maintenance_rate": 0.05,
            "loan": {"ltv": 0.75, "rate": 0.065, "amort_years": 30}}  # fmt: skip
    constraints = {"min_dscr": 1.25, "min_cash_on_cash": 0.06}
    r = client.post(
        "/api/v1/underwriting/max-offer",
        json={"deal": deal, "constraints": constraints},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    out = r.json()
    direct = max_offer_for(deal, constraints)
    assert out["max_offer"] == direct.max_offer and out["binding"] == direct.binding
    assert out["binding"] in constraints and out["sources"] == {}
    binding = next(c for c in out["checks"] if c["constraint"] == out["binding"])
    assert binding["at_max"] >= constraints[out["binding"]] > binding["at_max_plus_one"]

    subject = store["subject"]
    r = client.post(
        "/api/v1/underwriting/max-offer",
        json={"property_id": str(subject.id), "strategy": "rental", "as_of": AS_OF,
              "constraints": {"min_dscr": 1.1}},
        headers=headers,
    )  # fmt: skip
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["max_offer"] is not None and out["binding"] == "min_dscr"
    assert out["sources"]["gross_rent_monthly"].startswith(f"rent estimate {AS_OF}")
    assert out["metrics_at_max"]["dscr"] >= 1.1

    bad = client.post(
        "/api/v1/underwriting/max-offer",
        json={"deal": deal, "constraints": {"min_profit": 1000, "min_dscr": 1.2}},
        headers=headers,
    )
    assert bad.status_code == 422 and "min_profit" in bad.text and "rental" in bad.text
    empty = client.post(
        "/api/v1/underwriting/max-offer", json={"deal": deal, "constraints": {}}, headers=headers
    )
    assert empty.status_code == 422 and "constraints" in empty.text
    broken = client.post(
        "/api/v1/underwriting/max-offer",
        json={"deal": {**deal, "loan": {"ltv": 1.5, "rate": 0.06, "amort_years": 30}},
              "constraints": constraints},
        headers=headers,
    )  # fmt: skip
    assert broken.status_code == 422 and "loan.ltv" in broken.text
    cross = client.post(
        "/api/v1/underwriting/max-offer",
        json={"property_id": str(subject.id), "constraints": {"min_dscr": 1.1}},
        headers=make_org().headers(),
    )
    assert cross.status_code == 404, cross.text


def test_a_deal_body_problem_names_the_field_as_written(client: Any, store: dict[str, Any]) -> None:
    """The field path of a problem inside a whole deal is the user's (``deal.loan.amort_years``),
    not pydantic's union member or validator wrapper, and only the deal's own strategy's
    rules are applied."""
    deal = {"strategy": "rental", "purchase_price": 200000, "gross_rent_monthly": 1800,
            "property_tax_annual": 2400, "insurance_annual": 1000,
            "loan": {"ltv": 0.7, "rate": 0.06, "amort_years": 31.7}}  # fmt: skip
    r = client.post("/api/v1/underwritings", json={"deal": deal}, headers=store["headers"])
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["field"] == "deal.loan.amort_years", body
    assert "whole number of months" in body["message"]
    assert len(body["detail"]["errors"]) == 1, body  # the flip's rules are not applied
    hotel = client.post(
        "/api/v1/underwritings", json={"deal": {**deal, "strategy": "hotel"}},
        headers=store["headers"],
    )  # fmt: skip
    assert hotel.status_code == 422 and "rental" in hotel.text and "flip" in hotel.text
