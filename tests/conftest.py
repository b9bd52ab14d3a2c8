"""Test set-up: one freshly migrated database per test run (and per xdist worker).

SQLite by default; PostgreSQL when ``REOS_TEST_DATABASE_URL`` names a server (a database
named after the worker is created from it and dropped at the end). Tables are built by the
real migrations, never ``create_all``. Tests isolate themselves by working in fresh
organisations, so tenancy itself keeps them apart.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from reos.config import reset_settings
from reos.db import engine as engine_mod
from reos.db import schema

PG_ENV = "REOS_TEST_DATABASE_URL"


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = os.environ.get(PG_ENV)
    if os.environ.get("REOS_REQUIRE_POSTGRES") and not base:
        pytest.exit(f"REOS_REQUIRE_POSTGRES is set but {PG_ENV} is not", returncode=3)
    home = tmp_path_factory.mktemp("reos_home")
    os.environ["REOS_HOME"] = str(home)
    os.environ["REOS_JWT_SECRET"] = "test-secret-" + uuid.uuid4().hex
    os.environ.setdefault("REOS_INPROCESS_WORKER", "false")  # tests run jobs explicitly
    os.environ.setdefault("REOS_MAP_TILE_URL", "none")  # the offline basemap: no internet here
    os.environ.setdefault("REOS_RATE_LIMIT_IP_PER_MIN", "100000")
    os.environ.setdefault("REOS_RATE_LIMIT_ORG_PER_MIN", "100000")
    if not base:
        url = f"sqlite:///{home / 'test.db'}"
        _activate(url)
        schema.upgrade()
        yield url
        return
    parsed = make_url(base)
    name = f"reos_test_{_worker()}_{os.getpid()}"
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = parsed.set(database=name).render_as_string(hide_password=False)
    _activate(url)
    schema.upgrade()
    try:
        yield url
    finally:
        engine_mod.reset_engines()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _activate(url: str) -> None:
    os.environ["REOS_DATABASE_URL"] = url
    reset_settings()
    engine_mod.reset_engines()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Engine:
    return engine_mod.get_engine()


@pytest.fixture(scope="session")
def is_pg(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


@dataclass
class OrgFixture:
    id: uuid.UUID
    slug: str
    owner_email: str
    password: str
    token: str

    def headers(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **extra}


@pytest.fixture(scope="session")
def app(engine: Engine) -> Any:
    from reos.app import create_app

    return create_app()


@pytest.fixture(scope="session")
def client(app: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


@pytest.fixture
def make_org(engine: Engine, client: Any) -> Any:
    """Create a fresh organisation with an owner and return its token."""
    from reos.accounts import service as accounts
    from reos.db.session import system_session, tenant_session
    from reos.kernel.principal import Principal, attach

    def factory(name: str | None = None) -> OrgFixture:
        slug = f"t-{uuid.uuid4().hex[:10]}"
        with system_session() as s:
            org = accounts.create_organization(s, name or slug, slug)
            org_id = org.id
        email = f"owner-{uuid.uuid4().hex[:8]}@example.com"
        password = "correct horse battery"
        with tenant_session(org_id) as s:
            attach(s, Principal(kind="cli", org_id=org_id, role="owner"))
            accounts.add_member(s, email, "owner", password)
        r = client.post("/api/v1/auth/token", data={"username": email, "password": password})
        assert r.status_code == 200, r.text
        return OrgFixture(org_id, slug, email, password, r.json()["access_token"])

    return factory


@pytest.fixture
def org(make_org: Any) -> OrgFixture:
    return make_org()  # type: ignore[no-any-return]


@pytest.fixture
def other_org(make_org: Any) -> OrgFixture:
    return make_org()  # type: ignore[no-any-return]


@pytest.fixture
def role_headers(client: Any, org: OrgFixture) -> Any:
    """Headers for a new member of ``org`` with the given role."""

    def factory(role: str) -> dict[str, str]:
        email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
        r = client.post(
            "/api/v1/members",
            json={"email": email, "role": role, "password": "another good password"},
            headers=org.headers(),
        )
        assert r.status_code == 201, r.text
        t = client.post(
            "/api/v1/auth/token", data={"username": email, "password": "another good password"}
        )
        return {"Authorization": f"Bearer {t.json()['access_token']}"}

    return factory


SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
