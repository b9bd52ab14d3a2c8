"""Every stored timestamp comes back time-zone aware in UTC, on SQLite as on PostgreSQL, so
every ``date-time`` in an API response carries its zone."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import DateTime

from reos.db.base import Base, UTCDateTime


def test_every_timestamp_column_is_utc_aware() -> None:
    naive = [
        f"{table.name}.{col.name}"
        for table in Base.metadata.tables.values()
        for col in table.columns
        if isinstance(col.type, DateTime) and table.name != "jobs"
    ]
    assert naive == [], "use UTCDateTime, not DateTime"
    aware = [
        f"{table.name}.{col.name}"
        for table in Base.metadata.tables.values()
        for col in table.columns
        if isinstance(col.type, UTCDateTime)
    ]
    assert "properties.created_at" in aware and "api_keys.revoked_at" in aware


def test_timestamps_read_back_in_utc(engine: Any) -> None:
    from reos.db.session import system_session
    from reos.models import ApiKey, Organization

    slug = f"tz-{uuid.uuid4().hex[:8]}"
    four_hours_west = timezone(timedelta(hours=-4))
    revoked = datetime(2026, 3, 1, 8, 30, tzinfo=four_hours_west)
    with system_session() as s:
        org = Organization(name=slug, slug=slug)
        s.add(org)
        s.flush()
        key = ApiKey(
            org_id=org.id,
            name="k",
            prefix=uuid.uuid4().hex[:8],
            key_hash=uuid.uuid4().hex,
            role="service",
            revoked_at=revoked,
        )
        s.add(key)
        s.flush()
        key_id = key.id
    with system_session() as s:
        back = s.get(ApiKey, key_id)
        assert back is not None
        assert back.revoked_at == revoked
        assert back.revoked_at.utcoffset() == timedelta(0)
        assert back.revoked_at.hour == 12
        assert back.created_at.tzinfo is not None and back.created_at.utcoffset() == timedelta(0)
        assert abs(back.created_at - datetime.now(UTC)) < timedelta(minutes=5)


def test_api_timestamps_carry_their_zone(client: Any, org: Any) -> None:
    r = client.post(
        "/api/v1/api-keys", json={"name": "tz", "role": "analyst"}, headers=org.headers()
    )
    assert r.status_code == 201, r.text
    created = r.json()["created_at"]
    assert created.endswith(("Z", "+00:00")), created
    members = client.get("/api/v1/members", headers=org.headers()).json()
    assert all(m["created_at"].endswith(("Z", "+00:00")) for m in members), members
    p = client.post("/api/v1/properties", json={"city": "Ames"}, headers=org.headers()).json()
    got = client.get(f"/api/v1/properties/{p['id']}", headers=org.headers()).json()
    assert got["updated_at"].endswith(("Z", "+00:00")), got["updated_at"]
