"""Authentication: tokens, refresh, API keys, OIDC, and the 401/403 contract."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from reos.config import get_settings, reset_settings


def test_password_login_refresh_and_me(client: Any, org: Any) -> None:
    r = client.post(
        "/api/v1/auth/token", data={"username": org.owner_email, "password": org.password}
    )
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 1800
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 1800
    me = client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    ).json()
    assert (
        me["email"] == org.owner_email
        and me["current_org"] == str(org.id)
        and me["current_role"] == "owner"
    )
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": body["refresh_token"]})
    assert refreshed.status_code == 200
    assert (
        client.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {refreshed.json()['access_token']}"}
        ).status_code
        == 200
    )
    # an access token is not a refresh token and vice versa
    assert (
        client.post(
            "/api/v1/auth/refresh", json={"refresh_token": body["access_token"]}
        ).status_code
        == 401
    )
    assert (
        client.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {body['refresh_token']}"}
        ).status_code
        == 401
    )


def test_wrong_password_is_401(client: Any, org: Any) -> None:
    r = client.post(
        "/api/v1/auth/token", data={"username": org.owner_email, "password": "nope nope nope"}
    )
    assert r.status_code == 401 and "WWW-Authenticate" in r.headers


@pytest.mark.parametrize(
    "header",
    [
        {},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"X-API-Key": "reos_definitely_not_a_key"},
    ],
)
def test_bad_credentials_are_401_with_www_authenticate(client: Any, header: dict[str, str]) -> None:
    r = client.get("/api/v1/me", headers=header)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert r.json()["error"] == "unauthenticated"


def test_expired_and_wrongly_signed_tokens_are_401(client: Any, org: Any) -> None:
    secret = get_settings().signing_secret()
    now = int(time.time())
    base = {"iss": "reos", "sub": str(uuid.uuid4()), "typ": "access", "org": str(org.id)}
    expired = jwt.encode({**base, "iat": now - 7200, "exp": now - 3600}, secret, algorithm="HS256")
    forged = jwt.encode(
        {**base, "iat": now, "exp": now + 600}, "some other secret", algorithm="HS256"
    )
    for token in (expired, forged):
        r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, token
    assert (
        "expired"
        in client.get("/api/v1/me", headers={"Authorization": f"Bearer {expired}"}).json()[
            "message"
        ]
    )


def test_api_key_lifecycle(client: Any, org: Any) -> None:
    r = client.post(
        "/api/v1/api-keys", json={"name": "crm sync", "role": "service"}, headers=org.headers()
    )
    assert r.status_code == 201
    key, key_id = r.json()["key"], r.json()["id"]
    assert key.startswith("reos_")
    listed = client.get("/api/v1/api-keys", headers=org.headers()).json()
    assert all("key" not in k for k in listed) and any(k["id"] == key_id for k in listed)
    me = client.get("/api/v1/me", headers={"X-API-Key": key}).json()
    assert me["kind"] == "api_key" and me["current_role"] == "service"
    used = [
        k for k in client.get("/api/v1/api-keys", headers=org.headers()).json() if k["id"] == key_id
    ][0]
    assert used["last_used_at"] is not None
    # a service key may not manage members or keys
    assert client.get("/api/v1/members", headers={"X-API-Key": key}).status_code == 403
    assert client.delete(f"/api/v1/api-keys/{key_id}", headers=org.headers()).status_code == 200
    assert client.get("/api/v1/me", headers={"X-API-Key": key}).status_code == 401


def test_user_in_two_orgs_picks_with_header(client: Any, org: Any, other_org: Any) -> None:
    # add org's owner to other_org as analyst
    r = client.post(
        "/api/v1/members",
        json={"email": org.owner_email, "role": "analyst"},
        headers=other_org.headers(),
    )
    assert r.status_code == 201
    me = client.get("/api/v1/me", headers=org.headers()).json()
    assert {m["org"]["id"] for m in me["organizations"]} == {str(org.id), str(other_org.id)}
    me2 = client.get("/api/v1/me", headers=org.headers(**{"X-Reos-Org": other_org.slug})).json()
    assert me2["current_org"] == str(other_org.id) and me2["current_role"] == "analyst"
    third = str(uuid.uuid4())
    assert client.get("/api/v1/me", headers=org.headers(**{"X-Reos-Org": third})).status_code == 403


def test_signing_secret_is_generated_private_and_unique(tmp_path: Any, monkeypatch: Any) -> None:
    from reos.config import Settings

    a = Settings(home=tmp_path / "a", jwt_secret=None)
    b = Settings(home=tmp_path / "b", jwt_secret=None)
    sa, sb = a.signing_secret(), b.signing_secret()
    assert sa != sb and len(sa) >= 40
    assert a.signing_secret() == sa  # stable once written
    assert (tmp_path / "a" / "jwt_secret").stat().st_mode & 0o777 == 0o600


# ---------------------------------------------------------------- OIDC with a local JWKS


class _JwksHandler(BaseHTTPRequestHandler):
    jwks: dict[str, Any] = {}

    def do_GET(self) -> None:  # noqa: N802
        body = json.dumps(self.jwks).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def oidc(monkeypatch: Any) -> Iterator[Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": "test-key", "use": "sig", "alg": "RS256"})
    _JwksHandler.jwks = {"keys": [jwk]}
    server = HTTPServer(("127.0.0.1", 0), _JwksHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("REOS_OIDC_JWKS_URL", f"http://127.0.0.1:{server.server_port}/jwks")
    monkeypatch.setenv("REOS_OIDC_ISSUER", "https://idp.example.test/realms/reos")
    monkeypatch.setenv("REOS_OIDC_AUDIENCE", "reos-api")
    reset_settings()
    try:
        yield key
    finally:
        server.shutdown()
        monkeypatch.undo()
        reset_settings()


def _oidc_token(key: Any, **overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": "https://idp.example.test/realms/reos",
        "aud": "reos-api",
        "sub": "kc-user-1",
        "iat": now,
        "exp": now + 300,
        **overrides,
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "test-key"})


def test_oidc_tokens(org: Any, oidc: Any) -> None:
    from fastapi.testclient import TestClient

    from reos.app import create_app

    client = TestClient(create_app())
    good = _oidc_token(oidc, reos_org=org.slug, reos_roles=["analyst"])
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {good}"})
    assert me.status_code == 200, me.text
    assert me.json()["current_role"] == "analyst" and me.json()["kind"] == "oidc"
    assert (
        client.get("/api/v1/members", headers={"Authorization": f"Bearer {good}"}).status_code
        == 403
    )
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for bad in (
        _oidc_token(oidc, reos_org=org.slug, reos_roles=["analyst"], aud="someone-else"),
        _oidc_token(oidc, reos_org=org.slug, reos_roles=["analyst"], iss="https://evil.test"),
        _oidc_token(oidc, reos_org=org.slug, reos_roles=["analyst"], exp=int(time.time()) - 10),
        _oidc_token(other_key, reos_org=org.slug, reos_roles=["analyst"]),
    ):
        assert (
            client.get("/api/v1/me", headers={"Authorization": f"Bearer {bad}"}).status_code == 401
        )
    no_role = _oidc_token(oidc, reos_org=org.slug, reos_roles=["viewer"])
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {no_role}"}).status_code == 403
    )
