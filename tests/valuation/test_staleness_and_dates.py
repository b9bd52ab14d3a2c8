"""A model older than the data, and valuation dates and places the data cannot support,
through the product (real importer, service, API and CLI) on both stores.

Ames is imported in two parts: the sales of 2006-2008 first (a model is trained on them),
then those of 2009-2010, as a user importing this month's sales would."""

from __future__ import annotations

import csv
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from reos.accounts import service as accounts
from reos.cli import main as cli_main
from reos.db.session import system_session, tenant_session
from reos.ingest import service as ingest_service
from reos.kernel.principal import Principal, attach
from reos.models import AvmModelVersion, Sale
from reos.valuation import service as value_service

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
AMES = SAMPLES / "ames_iowa_sales_2006_2010.csv"
AMES_MAP = SAMPLES / "ames.mapping.yaml"


def _split_ames(folder: Path) -> tuple[Path, Path, Path]:
    """The Ames file cut at 2009-01-01, and a mapping for the later part whose record ids
    (row numbers) cannot collide with the earlier part's."""
    with AMES.open(newline="") as fh:
        reader = csv.DictReader(fh)
        fields = list(reader.fieldnames or [])
        rows = list(reader)
    early, late = folder / "ames_2006_2008.csv", folder / "ames_2009_2010.csv"
    for path, keep in ((early, lambda y: y < 2009), (late, lambda y: y >= 2009)):
        with path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fields)
            writer.writeheader()
            writer.writerows(r for r in rows if keep(int(r["Year_Sold"])))
    mapping = yaml.safe_load(AMES_MAP.read_text())
    for key in ("source_record_id", "sale_record_id"):
        mapping["fields"][key]["prefix"] = "ames-late-"
    late_map = folder / "ames_late.mapping.yaml"
    late_map.write_text(yaml.safe_dump(mapping))
    return early, late, late_map


def _cli(args: list[str], capsys: Any) -> tuple[int, str, str]:
    try:
        cli_main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def market(client: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """An organisation holding Ames 2006-2008 with a model trained on it (CLI, all sales)."""
    folder = tmp_path_factory.mktemp("ames-split")
    early, late, late_map = _split_ames(folder)
    slug = f"stale-{uuid.uuid4().hex[:8]}"
    with system_session() as s:
        org_id = accounts.create_organization(s, slug, slug).id
    email = f"{slug}@example.com"
    with tenant_session(org_id) as s:
        attach(s, Principal(kind="cli", org_id=org_id, role="owner"))
        accounts.add_member(s, email, "owner", "a long password")
    token = client.post(
        "/api/v1/auth/token", data={"username": email, "password": "a long password"}
    ).json()["access_token"]
    report = ingest_service.import_file(early, "sales", org_id=org_id, mapping_path=AMES_MAP)
    assert report.inserted > 1900 and report.balanced
    with tenant_session(org_id) as s:
        attach(s, Principal(kind="cli", org_id=org_id, role="owner"))
        value_service.train_model(s)
        pid = s.scalars(select(Sale.property_id).order_by(Sale.close_date.desc())).first()
    return {
        "org_id": org_id,
        "slug": slug,
        "headers": {"Authorization": f"Bearer {token}"},
        "late": late,
        "late_map": late_map,
        "property_id": str(pid),
    }


def _value(client: Any, market: dict[str, Any], **body: Any) -> Any:
    return client.post(
        "/api/v1/valuations",
        json={"property_id": market["property_id"], **body},
        headers=market["headers"],
    )


def _model_versions(org_id: uuid.UUID) -> list[str]:
    with tenant_session(org_id) as s:
        return list(
            s.scalars(select(AvmModelVersion.version).order_by(AvmModelVersion.created_at)).all()
        )


def test_dates_in_the_future_or_before_the_data_are_refused_with_what_to_do(
    client: Any, market: dict[str, Any], capsys: Any
) -> None:
    future = _value(client, market, as_of="2099-01-01")
    assert future.status_code == 422 and future.json()["field"] == "as_of"
    today = datetime.now(UTC).date()
    assert future.json()["message"] == (
        f"as_of: 2099-01-01 is in the future; value as of today ({today}) or a past date"
    )
    tomorrow = _value(client, market, as_of=(today + timedelta(days=1)).isoformat())
    assert "in the future" not in tomorrow.text  # one day's tolerance (time zones)
    past = _value(client, market, as_of="1990-05-01")
    assert past.status_code == 422 and past.json()["field"] == "as_of"
    assert past.json()["message"] == (
        "as_of: 1990-05-01 is before the model's first sale (2006-01-01); import and train "
        "on older sales (`reos avm train`) or choose a later date"
    )
    base = ["value", "--property", market["property_id"], "--org", market["slug"]]
    code, out, err = _cli([*base, "--as-of", "2099-01-01"], capsys)
    assert code == 2 and out == ""
    assert err.strip() == (
        f"error [as_of]: as_of: 2099-01-01 is in the future; value as of today ({today}) "
        "or a past date"
    )
    assert len(err.strip().splitlines()) == 1
    code, _, err = _cli([*base, "--as-of", "1990-05-01"], capsys)
    assert code == 2 and "before the model's first sale (2006-01-01)" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    code, _, err = _cli(
        ["value", "--all", "--as-of", "2099-01-01", "--org", market["slug"]], capsys
    )
    assert code == 2 and "is in the future" in err


def test_far_and_old_comps_are_refused_with_the_reason(
    client: Any, market: dict[str, Any], capsys: Any
) -> None:
    """A typed address 44 km from every sale, and "today" valued from sales of 2006-2008."""
    subject = {
        "address": "100 Main Street, Story City",
        "latitude": 42.03 + 0.40,
        "longitude": -93.63,
        "living_area_sqft": 1500,
        "year_built": 1995,
        "beds": 3,
        "baths_full": 2,
    }
    far = client.post(
        "/api/v1/valuations",
        json={"subject": subject, "as_of": "2008-12-01"},
        headers=market["headers"],
    )
    assert far.status_code == 422 and far.json()["field"] == "location"
    assert (
        "km away" in far.json()["message"] and "no sales near this address" in far.json()["message"]
    )
    old = _value(client, market)  # as of today: the newest sale is from 2008
    assert old.status_code == 422 and old.json()["field"] == "as_of"
    assert "months before the valuation date" in old.json()["message"]
    assert "no recent sales" in old.json()["message"]
    code, out, err = _cli(
        [
            "value",
            "--address",
            subject["address"],
            "--latitude",
            str(subject["latitude"]),
            "--longitude",
            "-93.63",
            "--living-area-sqft",
            "1500",
            "--as-of",
            "2008-12-01",
            "--org",
            market["slug"],
        ],
        capsys,
    )
    assert code == 9 and out == "" and err.startswith("error [location]: the subject as of")
    sparse = dict(subject, latitude=42.03)
    lacking = client.post(
        "/api/v1/valuations",
        json={"subject": sparse, "as_of": "2008-12-01"},
        headers=market["headers"],
    )
    assert lacking.status_code == 422 and lacking.json()["field"] == "subject"
    assert "the subject lacks " in lacking.json()["message"]
    assert lacking.json()["message"].endswith("supply them")
    full = client.post(
        "/api/v1/valuations",
        json={"subject": _typed_in_full(market), "as_of": "2008-12-01"},
        headers=market["headers"],
    )
    assert full.status_code == 201, full.text
    assert full.json()["method"]["limits"]["missing_features"] == []
    typed = _typed_in_full(market)
    sets = [f"{k}={v}" for k, v in typed.items() if k not in ("address", "attributes")]
    sets += [f"attributes.{k}={v}" for k, v in typed["attributes"].items()]
    code, out, err = _cli(
        ["value", "--address", typed["address"], "--as-of", "2008-12-01"]
        + [arg for pair in sets for arg in ("--set", pair)]
        + ["--org", market["slug"], "--json"],
        capsys,
    )
    assert code == 0, err
    by_cli = json.loads(out)
    assert by_cli["method"]["limits"]["missing_features"] == []
    assert by_cli["estimated_value"] == pytest.approx(full.json()["estimated_value"], rel=1e-6)
    code, _, err = _cli(
        ["value", "--address", "1 A St", "--set", "quality", "--org", market["slug"]], capsys
    )
    assert code == 2 and err.strip() == "error [set]: --set takes NAME=VALUE, not 'quality'"
    code, _, err = _cli(
        ["value", "--address", "1 A St", "--set", "qualty=7", "--org", market["slug"]], capsys
    )
    assert code == 2 and err.startswith("error [set]: --set qualty: not a field of a property")


def _typed_in_full(market: dict[str, Any]) -> dict[str, Any]:
    """A stored Ames house typed in with every field the API's subject carries."""
    from reos.models import Property
    from reos.valuation.schemas import SubjectIn

    with tenant_session(market["org_id"]) as s:
        prop = s.get(Property, uuid.UUID(market["property_id"]))
        assert prop is not None
        fields = {
            name: getattr(prop, name)
            for name in SubjectIn.model_fields
            if name not in ("address", "attributes", "parcel_number", "zip4")
            and getattr(prop, name, None) is not None
        }
        attributes = {k: v for k, v in (prop.attributes or {}).items() if v is not None}
    return {"address": "1 Typed In Lane", **fields, "attributes": attributes}


def test_new_sales_make_the_model_stale_until_train_if_stale(
    client: Any, market: dict[str, Any], capsys: Any
) -> None:
    org_id, slug = market["org_id"], market["slug"]
    fresh = _value(client, market, as_of="2008-12-01")
    assert fresh.status_code == 201, fresh.text
    assert fresh.json()["model_stale"] is False
    assert not any("older than the data" in w for w in fresh.json()["warnings"])
    code, out, err = _cli(["avm", "train", "--if-stale", "--org", slug, "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["retrained"] is False and json.loads(out)["was_stale"] is False
    versions = _model_versions(org_id)
    assert len(versions) == 1

    report = ingest_service.import_file(
        market["late"], "sales", org_id=org_id, mapping_path=market["late_map"]
    )
    assert report.inserted > 800 and report.balanced
    stale = _value(client, market, as_of="2010-06-01")
    assert stale.status_code == 201, stale.text
    body = stale.json()
    assert body["model_stale"] is True
    warning = body["warnings"][0]
    assert warning.startswith("the model is older than the data: model ")
    with tenant_session(org_id) as s:  # the model's news: sales not known to be non-arm's-length
        news = len(
            s.scalars(
                select(Sale.id).where(
                    Sale.close_date >= date(2009, 1, 1), Sale.arm_length.is_not(False)
                )
            ).all()
        )
    assert 800 < news < report.inserted
    assert f"{news:,} sales in the store are newer or were imported since" in warning
    assert "the newest it knows closed 2008-12-31" in warning
    assert "the newest closed 2010-07-01" in warning  # month precision: the 1st is stored
    assert warning.endswith("run `reos avm train --if-stale`")
    assert body["method"]["model_data"]["sales_since"] == news
    stored = client.get(f"/api/v1/valuations/{body['id']}", headers=market["headers"]).json()
    assert stored["model_stale"] is True and stored["warnings"] == body["warnings"]
    code, out, err = _cli(
        ["value", "--property", market["property_id"], "--as-of", "2010-06-01", "--org", slug],
        capsys,
    )
    assert code == 0 and "warning: the model is older than the data" in err

    code, out, err = _cli(["avm", "train", "--if-stale", "--org", slug], capsys)
    assert code == 0, err
    assert out.startswith("stale (model ") and "trained reos-avm" in out
    versions_after = _model_versions(org_id)
    assert len(versions_after) == 2
    again = _value(client, market, as_of="2010-06-01")
    assert again.status_code == 201 and again.json()["model_stale"] is False
    assert not any("older than the data" in w for w in again.json()["warnings"])
    assert again.json()["model_version"] == versions_after[-1]
    code, out, err = _cli(["avm", "train", "--if-stale", "--org", slug], capsys)
    assert code == 0 and out.startswith("up to date, not retrained: model ")
    assert _model_versions(org_id) == versions_after


def test_train_if_stale_without_a_model_trains_and_a_late_filed_sale_counts(
    client: Any, market: dict[str, Any]
) -> None:
    """A sale that closed long ago but was recorded after training is news to the model."""
    org_id = market["org_id"]
    with tenant_session(org_id) as s:
        attach(s, Principal(kind="cli", org_id=org_id, role="owner"))
        before = value_service.model_staleness(s)
        assert before.model_version is not None
        if before.stale:  # another test's import: bring the model up to date first
            assert value_service.train_if_stale(s).trained is not None
    with tenant_session(org_id) as s:
        attach(s, Principal(kind="cli", org_id=org_id, role="owner"))
        assert not value_service.model_staleness(s).stale
        pid = s.scalars(select(Sale.property_id)).first()
        s.add(Sale(property_id=pid, close_date=date(2007, 3, 1), sale_price=150_000))
    with tenant_session(org_id) as s:
        attach(s, Principal(kind="cli", org_id=org_id, role="owner"))
        late = value_service.model_staleness(s)
        assert late.stale and late.sales_since == 1 and late.newest_sale == date(2007, 3, 1)


def test_value_all_counts_a_property_far_from_every_sale_as_refused(
    market: dict[str, Any], capsys: Any
) -> None:
    """`reos value --all`: a stored house 44 km from every sale is not valued; it is counted
    with its reason and the run still balances."""
    from reos.models import Property

    org_id = market["org_id"]
    with tenant_session(org_id) as s:
        attach(s, Principal(kind="cli", org_id=org_id, role="owner"))
        template = s.get(Property, uuid.UUID(market["property_id"]))
        assert template is not None
        columns = ("living_area_sqft", "lot_size_sqft", "beds", "baths_full", "year_built")
        s.add(
            Property(
                address="100 Main Street, Story City",
                latitude=42.43,
                longitude=-93.63,
                property_type="single_family",
                neighborhood=template.neighborhood,
                attributes=dict(template.attributes or {}),
                **{c: getattr(template, c) for c in columns},
            )
        )
    code, out, err = _cli(
        ["value", "--all", "--as-of", "2008-12-01", "--org", market["slug"], "--json"], capsys
    )
    assert code == 0, err
    summary = json.loads(out)
    assert summary["not_valued"].get("comparable sales too far") == 1
    assert summary["valued"] + sum(summary["not_valued"].values()) == summary["properties"]
    assert summary["valued"] > 0.9 * summary["properties"]


def test_an_organisation_without_a_model_is_stale_and_trains(org: Any) -> None:
    with tenant_session(org.id) as s:
        attach(s, Principal(kind="cli", org_id=org.id, role="owner"))
        staleness = value_service.model_staleness(s)
        assert staleness.stale and staleness.model_version is None
        assert staleness.describe() == "this organisation has no trained valuation model"
