"""The error contract every route shares: what the OpenAPI schema promises is what comes
back (status codes, the JSON error body, the ``Allow`` header, bounded paging)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest


@pytest.mark.parametrize(
    "body",
    [b"\xff\xfe{not utf-8", b'{"name": ', b"[1, 2"],
    ids=["not-utf8", "truncated", "unclosed-array"],
)
def test_malformed_json_is_422_with_the_error_body(client: Any, org: Any, body: bytes) -> None:
    r = client.patch(
        "/api/v1/orgs/current",
        content=body,
        headers=org.headers(**{"Content-Type": "application/json"}),
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "validation_failed"
    assert r.json()["field"] == "body"
    assert r.json()["message"]


def test_unparsable_body_before_authentication_is_422_too(client: Any) -> None:
    r = client.post(
        "/api/v1/auth/refresh",
        content=b"8\xc3\x28\x10",
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "body"


def _allow(headers: Any) -> set[str]:
    return {m.strip() for m in headers["allow"].split(",")}


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/api/v1/properties", {"GET", "POST"}),
        ("PUT", "/api/v1/properties/{id}", {"GET", "PATCH", "DELETE"}),
        ("OPTIONS", "/api/v1/members/{id}", {"PATCH", "DELETE"}),
        ("POST", "/api/v1/orgs/current", {"GET", "PATCH"}),
        ("GET", "/api/v1/owners/resolve", {"POST"}),
        ("GET", "/api/v1/properties/search", {"POST"}),
    ],
)
def test_405_lists_every_method_the_path_supports(
    client: Any, org: Any, method: str, path: str, allowed: set[str]
) -> None:
    r = client.request(method, path.replace("{id}", str(uuid.uuid4())), headers=org.headers())
    assert r.status_code == 405, r.text
    assert _allow(r.headers) - {"HEAD"} == allowed
    assert r.json()["error"] == "method_not_allowed"
    assert r.json()["message"].startswith(f"{method} is not allowed on /api/v1/")


def test_a_malformed_id_still_names_the_field(client: Any, org: Any) -> None:
    """Only a concrete path's own name is a wrong method; elsewhere a bad id is a 422."""
    r = client.get("/api/v1/owners/not-a-uuid", headers=org.headers())
    assert r.status_code == 422
    assert r.json()["field"] == "entity_id"


LISTS = [
    "/api/v1/properties",
    "/api/v1/owners",
    "/api/v1/valuations",
    "/api/v1/imports",
    "/api/v1/audit",
]


@pytest.mark.parametrize("path", LISTS)
def test_huge_offset_is_422_and_bounded_in_the_schema(client: Any, org: Any, path: str) -> None:
    from reos.http.paging import MAX_OFFSET

    r = client.get(path, params={"offset": 2**63}, headers=org.headers())
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "offset"
    ok = client.get(path, params={"offset": MAX_OFFSET}, headers=org.headers())
    assert ok.status_code == 200, ok.text
    spec = client.get("/openapi.json").json()
    params = {p["name"]: p for p in spec["paths"][path]["get"]["parameters"]}
    assert params["offset"]["schema"]["maximum"] == MAX_OFFSET
    assert params["limit"]["schema"]["maximum"] >= 1


def test_a_validators_message_reaches_the_user_without_pydantics_prefix(
    client: Any, org: Any
) -> None:
    r = client.post(
        "/api/v1/properties",
        json={"address": "1 Main St", "zip": "50010-1234", "zip4": "9999"},
        headers=org.headers(),
    )
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "zip4"
    assert r.json()["message"] == "zip4: 9999 differs from the add-on of zip 50010-1234"
    assert "Value error" not in r.text
