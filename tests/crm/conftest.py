"""Helpers for the CRM tests: properties made through the properties service, a tenant
unit of work acting as a named person, the organisation's fixtures from tests/conftest."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy.orm import Session

from reos.db.session import tenant_session
from reos.kernel.principal import Principal, attach
from reos.properties import service as properties_service


@contextmanager
def acting(org_id: uuid.UUID, who: str = "tester@example.com") -> Iterator[Session]:
    """A committed unit of work in ``org_id`` acting as the user ``who``."""
    with tenant_session(org_id) as session:
        attach(session, Principal(kind="user", org_id=org_id, role="owner", subject=who))
        yield session


def make_properties(org_id: uuid.UUID, count: int, city: str = "Ames") -> list[uuid.UUID]:
    ids = []
    with acting(org_id) as session:
        for n in range(count):
            prop = properties_service.create_property(
                session,
                {
                    "address": f"{100 + n} Main St",
                    "city": city,
                    "state": "IA",
                    "zip": "50010" if n % 2 == 0 else "50014",
                    "parcel_number": f"P-{uuid.uuid4().hex[:8]}",
                },
            )
            ids.append(prop.id)
    return ids


@pytest.fixture
def properties_of() -> Any:
    return make_properties
