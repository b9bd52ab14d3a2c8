"""Members, roles and the permission matrix; cross-organisation ids are 404 and change nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from reos.accounts.roles import MATRIX, Permission, Role


def test_matrix() -> None:
    assert MATRIX[Role.ANALYST] == {Permission.DATA_READ, Permission.DATA_WRITE}
    assert (
        Permission.MEMBERS_MANAGE in MATRIX[Role.ADMIN]
        and Permission.ORG_MANAGE not in MATRIX[Role.ADMIN]
    )
    assert MATRIX[Role.OWNER] == frozenset(Permission)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/v1/members", None),
        ("post", "/api/v1/members", {"email": "x@example.com", "role": "analyst"}),
        ("get", "/api/v1/api-keys", None),
        ("post", "/api/v1/api-keys", {"name": "k"}),
        ("get", "/api/v1/audit", None),
        ("patch", "/api/v1/orgs/current", {"name": "renamed"}),
    ],
)
def test_analyst_is_forbidden_from_admin_routes(
    client: Any, role_headers: Any, method: str, path: str, body: Any
) -> None:
    headers = role_headers("analyst")
    r = getattr(client, method)(path, headers=headers, **({"json": body} if body else {}))
    assert r.status_code == 403
    assert r.json()["error"] == "forbidden"
    r = getattr(client, method)(path, **({"json": body} if body else {}))
    assert r.status_code == 401


def test_member_crud_and_owner_guard(client: Any, org: Any, role_headers: Any) -> None:
    r = client.post(
        "/api/v1/members",
        json={"email": "NEW.Person@Example.com", "role": "analyst", "password": "long enough pw"},
        headers=org.headers(),
    )
    assert r.status_code == 201 and r.json()["email"] == "new.person@example.com"
    member_id = r.json()["id"]
    dup = client.post(
        "/api/v1/members",
        json={"email": "new.person@example.com", "role": "analyst"},
        headers=org.headers(),
    )
    assert dup.status_code == 409
    assert (
        client.patch(
            f"/api/v1/members/{member_id}", json={"role": "admin"}, headers=org.headers()
        ).json()["role"]
        == "admin"
    )
    # an admin cannot make anyone an owner
    admin = role_headers("admin")
    assert (
        client.patch(
            f"/api/v1/members/{member_id}", json={"role": "owner"}, headers=admin
        ).status_code
        == 403
    )
    # the last owner cannot be demoted or removed
    members = client.get("/api/v1/members", headers=org.headers()).json()
    owner = [m for m in members if m["role"] == "owner"][0]
    assert (
        client.patch(
            f"/api/v1/members/{owner['id']}", json={"role": "analyst"}, headers=org.headers()
        ).status_code
        == 409
    )
    assert client.delete(f"/api/v1/members/{owner['id']}", headers=org.headers()).status_code == 409
    assert client.delete(f"/api/v1/members/{member_id}", headers=org.headers()).status_code == 204
    audit = client.get("/api/v1/audit", headers=org.headers()).json()
    actions = {(a["entity_type"], a["action"]) for a in audit}
    assert {("membership", "create"), ("membership", "update"), ("membership", "delete")} <= actions
    assert all(
        a["actor_type"] == "user"
        for a in audit
        if a["entity_type"] == "membership" and a["action"] == "update"
    )


def test_cross_org_member_and_key_ids_are_404_and_change_nothing(
    client: Any, org: Any, other_org: Any
) -> None:
    theirs = client.get("/api/v1/members", headers=other_org.headers()).json()[0]
    key = client.post(
        "/api/v1/api-keys", json={"name": "theirs"}, headers=other_org.headers()
    ).json()
    assert (
        client.patch(
            f"/api/v1/members/{theirs['id']}", json={"role": "analyst"}, headers=org.headers()
        ).status_code
        == 404
    )
    assert (
        client.delete(f"/api/v1/members/{theirs['id']}", headers=org.headers()).status_code == 404
    )
    assert client.delete(f"/api/v1/api-keys/{key['id']}", headers=org.headers()).status_code == 404
    assert client.get("/api/v1/members", headers=other_org.headers()).json()[0]["role"] == "owner"
    assert client.get("/api/v1/me", headers={"X-API-Key": key["key"]}).status_code == 200
    assert (
        client.patch(
            f"/api/v1/members/{uuid.uuid4()}", json={"role": "analyst"}, headers=org.headers()
        ).status_code
        == 404
    )


def test_org_routes(client: Any, org: Any) -> None:
    assert client.get("/api/v1/orgs/current", headers=org.headers()).json()["id"] == str(org.id)
    assert (
        client.patch(
            "/api/v1/orgs/current", json={"name": "Renamed LLC"}, headers=org.headers()
        ).json()["name"]
        == "Renamed LLC"
    )
    new = client.post(
        "/api/v1/orgs",
        json={"name": "Second Fund", "slug": f"second-{uuid.uuid4().hex[:6]}"},
        headers=org.headers(),
    )
    assert new.status_code == 201
    me = client.get("/api/v1/me", headers=org.headers()).json()
    assert new.json()["id"] in {m["org"]["id"] for m in me["organizations"]}
