"""Cross-cutting HTTP behaviour: ops endpoints, headers, request ids, metrics, rate limits."""

from __future__ import annotations

import os
from typing import Any

from reos.config import Settings


def test_health_ready_metrics_and_headers(client: Any, org: Any) -> None:
    r = client.get("/health")
    assert r.json() == {"status": "ok"}
    for h in (
        "Content-Security-Policy",
        "X-Frame-Options",
        "X-Content-Type-Options",
        "Referrer-Policy",
        "X-Request-ID",
    ):
        assert h in r.headers
    assert (
        r.headers["X-Frame-Options"] == "DENY" and r.headers["X-Content-Type-Options"] == "nosniff"
    )
    assert "Strict-Transport-Security" not in r.headers
    assert client.get("/ready").json() == {"status": "ready"}
    client.get(f"/api/v1/properties/{org.id}", headers=org.headers())
    text = client.get("/metrics").text
    assert 'route="/api/v1/properties/{property_id}"' in text
    assert str(org.id) not in text
    assert "reos_http_request_duration_seconds_bucket" in text


def test_request_id_echoed_when_sane(client: Any) -> None:
    assert (
        client.get("/health", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"]
        == "abc-123"
    )
    weird = client.get("/health", headers={"X-Request-ID": "bad id with spaces; drop"}).headers[
        "X-Request-ID"
    ]
    assert weird != "bad id with spaces; drop" and len(weird) == 32


def test_openapi_documents_errors(client: Any) -> None:
    spec = client.get("/openapi.json").json()
    op = spec["paths"]["/api/v1/properties/{property_id}"]["get"]
    assert {"401", "403", "404", "422"} <= set(op["responses"])
    assert client.get("/docs").status_code == 200


def test_rate_limit_per_ip_with_headers(engine: Any, monkeypatch: Any) -> None:
    from fastapi.testclient import TestClient

    from reos.app import create_app

    settings = Settings(rate_limit_ip_per_min=3, rate_limit_org_per_min=1000)
    with TestClient(create_app(settings)) as c:
        codes = [c.get("/api/v1/me") for _ in range(4)]
    assert [r.status_code for r in codes] == [401, 401, 401, 429]
    assert codes[0].headers["RateLimit-Policy"] == '"ip";q=3;w=60'
    assert codes[0].headers["RateLimit"].startswith('"ip";r=2;t=')
    assert int(codes[3].headers["Retry-After"]) >= 1


def test_rate_limit_per_org(engine: Any, org: Any) -> None:
    from fastapi.testclient import TestClient

    from reos.app import create_app

    settings = Settings(rate_limit_ip_per_min=1000, rate_limit_org_per_min=2)
    with TestClient(create_app(settings)) as c:
        codes = [c.get("/api/v1/me", headers=org.headers()).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_rate_limit_shared_through_redis(engine: Any) -> None:
    import uuid

    import redis

    from reos.http.ratelimit import make_limiter

    url = os.environ.get("REOS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url).ping()
    except redis.ConnectionError:
        import pytest

        pytest.skip("no Redis at " + url)
    key = uuid.uuid4().hex
    a, b = make_limiter(url), make_limiter(url)  # two API processes
    assert a.check("ip", key, 3).remaining == 2
    assert b.check("ip", key, 3).remaining == 1
    assert a.check("ip", key, 3).allowed and not b.check("ip", key, 3).allowed


def test_cors_allowlist_never_star_with_credentials(engine: Any) -> None:
    from fastapi.testclient import TestClient

    from reos.app import create_app

    settings = Settings(cors_origins=["https://app.example.com", "*"])
    with TestClient(create_app(settings)) as c:
        ok = c.options(
            "/api/v1/me",
            headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"},
        )
        evil = c.options(
            "/api/v1/me",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
    assert ok.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "access-control-allow-origin" not in evil.headers
