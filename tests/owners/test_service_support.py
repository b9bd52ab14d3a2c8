"""Shared set-up for the owner service, API and command tests (no tests here).

Until owner records arrive through ``reos import owners`` everywhere, tests store them
through the ORM, with a property, a valuation and a sale behind each record that names one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from reos.accounts import service as accounts
from reos.db.session import system_session, tenant_session
from reos.kernel.principal import Principal, attach
from reos.models import OwnerRecord, Property, Sale, Valuation
from tests.conftest import OrgFixture

VALUATION_DATE = date(2024, 6, 30)


@contextmanager
def unit(org_id: uuid.UUID) -> Iterator[Session]:
    """A tenant unit of work acting as the organisation's owner (as the CLI does)."""
    with tenant_session(org_id) as session:
        attach(session, Principal(kind="cli", org_id=org_id, role="owner", subject="test"))
        yield session


def bare_org() -> uuid.UUID:
    """A fresh organisation without members (service tests need no credentials)."""
    slug = f"t-{uuid.uuid4().hex[:10]}"
    with system_session() as s:
        return accounts.create_organization(s, slug, slug).id


def new_org(client: Any) -> OrgFixture:
    """A fresh organisation with an owner token (for module-scoped fixtures)."""
    slug = f"t-{uuid.uuid4().hex[:10]}"
    with system_session() as s:
        org_id = accounts.create_organization(s, slug, slug).id
    email = f"owner-{uuid.uuid4().hex[:8]}@example.com"
    password = "correct horse battery"
    with unit(org_id) as s:
        accounts.add_member(s, email, "owner", password)
    r = client.post("/api/v1/auth/token", data={"username": email, "password": password})
    assert r.status_code == 200, r.text
    return OrgFixture(org_id, slug, email, password, r.json()["access_token"])


def clean_text(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and value != value) else value


def store_records(
    org_id: uuid.UUID, frame: pd.DataFrame, *, link: bool = True
) -> dict[str, uuid.UUID]:
    """Store owner records (columns of ``generate_owner_records``); with ``link`` each record
    naming a property gets a Property, a Valuation (its ``estimated_value``) and a Sale (its
    ``last_sale_date``). Returns property ids by record id."""
    properties: dict[str, uuid.UUID] = {}
    with unit(org_id) as s:
        for row in frame.to_dict("records"):
            pid = None
            if link and clean_text(row.get("property_address")):
                pid = uuid.uuid4()
                s.add(
                    Property(
                        id=pid,
                        source_record_id=clean_text(row.get("property_id")),
                        address=row["property_address"],
                        city=clean_text(row.get("property_city")),
                        state=clean_text(row.get("property_state")),
                        zip=clean_text(row.get("property_zip")),
                    )
                )
                value = clean_text(row.get("estimated_value"))
                if value is not None:
                    s.add(
                        Valuation(
                            property_id=pid,
                            valuation_date=VALUATION_DATE,
                            estimated_value=float(value),
                            interval_low=float(value) * 0.9,
                            interval_high=float(value) * 1.1,
                            confidence="high",
                            model_version="test",
                        )
                    )
                sold = clean_text(row.get("last_sale_date"))
                if sold:
                    s.add(
                        Sale(
                            property_id=pid,
                            close_date=date.fromisoformat(str(sold)),
                            sale_price=100_000,
                        )
                    )
                properties[str(row["record_id"])] = pid
        s.flush()
        for row in frame.to_dict("records"):
            rid = str(row["record_id"])
            s.add(
                OwnerRecord(
                    owner_record_id=rid,
                    owner_name=clean_text(row.get("owner_name")),
                    owner_name_2=clean_text(row.get("owner_name_2")),
                    mailing_address=clean_text(row.get("mailing_address")),
                    mailing_address_2=clean_text(row.get("mailing_address_2")),
                    mailing_city=clean_text(row.get("mailing_city")),
                    mailing_state=clean_text(row.get("mailing_state")),
                    mailing_zip=clean_text(row.get("mailing_zip")),
                    mailing_country=clean_text(row.get("mailing_country")),
                    property_id=properties.get(rid),
                    link_status="linked" if rid in properties else "unlinked",
                    property_ref={"address": clean_text(row.get("property_address"))}
                    if clean_text(row.get("property_address"))
                    else {},
                )
            )
    return properties


def owner_record(record_id: str, name: str | None, **extra: Any) -> dict[str, Any]:
    """One record in the generator's columns, mailing to 123 Main St, Austin TX."""
    return {
        "record_id": record_id,
        "owner_name": name,
        "owner_name_2": None,
        "mailing_address": "123 MAIN ST",
        "mailing_city": "AUSTIN",
        "mailing_state": "TX",
        "mailing_zip": "78701",
        **extra,
    }
