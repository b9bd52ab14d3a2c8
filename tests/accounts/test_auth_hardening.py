"""Account security: nobody but the user changes their password, per-account throttling of
password guessing, single-use refresh tokens, both refresh body types, and the ``reos users``
commands checking their input before asking for a password."""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from reos.config import Settings

HOUSE = {"parcel_number": "A-SECRET-1", "address": "1 Private Way", "city": "Ames", "zip": "50010"}


def _login(client: Any, email: str, password: str) -> Any:
    return client.post("/api/v1/auth/token", data={"username": email, "password": password})


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---------------------------------------------------------------- 1. no cross-tenant takeover


def test_adding_an_existing_user_with_a_password_changes_nothing(
    client: Any, org: Any, other_org: Any
) -> None:
    """Org B's owner adds org A's owner to B with a password of B's choosing: refused (409),
    A's owner keeps the old password, and the password B chose opens nothing of A."""
    assert client.post("/api/v1/properties", json=HOUSE, headers=org.headers()).status_code == 201
    hijack = "b-chose-this-password"
    r = client.post(
        "/api/v1/members",
        json={"email": org.owner_email, "role": "analyst", "password": hijack},
        headers=other_org.headers(),
    )
    assert r.status_code == 409, r.text
    assert r.json()["field"] == "password" and "keeps their own password" in r.json()["message"]
    assert _login(client, org.owner_email, org.password).status_code == 200
    stolen = _login(client, org.owner_email, hijack)
    assert stolen.status_code == 401 and "access_token" not in stolen.json()
    # the refused request added no membership either
    members = client.get("/api/v1/members", headers=other_org.headers()).json()
    assert org.owner_email not in {m["email"] for m in members}
    # A's data stays readable by A only
    listed = client.get("/api/v1/properties", headers=org.headers()).json()
    assert [p["parcel_number"] for p in listed["items"]] == ["A-SECRET-1"]
    assert (
        client.get(
            "/api/v1/properties", headers=other_org.headers(**{"X-Reos-Org": org.slug})
        ).status_code
        == 403
    )


def test_adding_an_existing_user_without_a_password_keeps_their_password(
    client: Any, org: Any, other_org: Any
) -> None:
    r = client.post(
        "/api/v1/members",
        json={"email": org.owner_email, "role": "analyst", "full_name": "Renamed By B"},
        headers=other_org.headers(),
    )
    assert r.status_code == 201, r.text
    assert r.json()["full_name"] is None  # B cannot rename A's owner either
    assert _login(client, org.owner_email, org.password).status_code == 200


def test_change_own_password(client: Any, org: Any) -> None:
    tokens = _login(client, org.owner_email, org.password).json()
    wrong = client.post(
        "/api/v1/me/password",
        json={"current_password": "not the password", "new_password": "a brand new secret"},
        headers=org.headers(),
    )
    assert wrong.status_code == 403 and wrong.json()["field"] == "current_password"
    short = client.post(
        "/api/v1/me/password",
        json={"current_password": org.password, "new_password": "short"},
        headers=org.headers(),
    )
    assert short.status_code == 422 and short.json()["field"] == "new_password"
    ok = client.post(
        "/api/v1/me/password",
        json={"current_password": org.password, "new_password": "a brand new secret"},
        headers=org.headers(),
    )
    assert ok.status_code == 204, ok.text
    assert _login(client, org.owner_email, org.password).status_code == 401
    assert _login(client, org.owner_email, "a brand new secret").status_code == 200
    # refresh tokens issued before the change are dead (a thief's copy with them)
    refreshed = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 401
    audit = client.get("/api/v1/audit?entity_type=user", headers=org.headers()).json()
    assert [e["action"] for e in audit] == ["password_change"]
    assert audit[0]["actor_id"] == audit[0]["entity_id"]


def test_an_api_key_cannot_change_a_password(client: Any, org: Any) -> None:
    key = client.post(
        "/api/v1/api-keys", json={"name": "k", "role": "admin"}, headers=org.headers()
    ).json()["key"]
    r = client.post(
        "/api/v1/me/password",
        json={"current_password": org.password, "new_password": "a brand new secret"},
        headers={"X-API-Key": key},
    )
    assert r.status_code == 403
    assert _login(client, org.owner_email, org.password).status_code == 200


# ---------------------------------------------------------------- 2. password-guessing throttle


def _throttled_settings(**extra: Any) -> Settings:
    return Settings(
        login_max_failures=3,
        login_failure_window_s=60,
        login_lockout_s=1,
        login_lockout_max_s=2,
        **extra,
    )


def _attempts(client: Any, email: str, password: str, n: int) -> list[tuple[int, str | None]]:
    out = []
    for _ in range(n):
        r = _login(client, email, password)
        out.append((r.status_code, r.headers.get("Retry-After")))
    return out


def _check_throttle(make_client: Any, org: Any) -> None:
    """Two API processes (two apps) count one account's failures together; known and unknown
    emails answer alike; the lockout grows, is capped and expires; a success resets it."""
    a, b = make_client(), make_client()
    unknown = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
    for email in (unknown, org.owner_email):
        seen = _attempts(a, email, "wrong guess 1", 2) + _attempts(b, email, "wrong guess 2", 1)
        assert seen == [(401, None), (401, None), (429, "1")], email
        # while locked even the right password is refused, without being checked
        locked = _login(b, email, org.password)
        assert locked.status_code == 429 and locked.json()["error"] == "rate_limited"
        assert locked.headers["Retry-After"] == "1"
    time.sleep(1.1)
    # the second lockout doubles (2 s), the third is capped at 2 s
    assert _attempts(a, org.owner_email, "wrong again", 3)[-1] == (429, "2")
    assert _attempts(a, unknown, "wrong again", 3)[-1] == (429, "2")
    time.sleep(2.1)
    assert _attempts(b, org.owner_email, "wrong again", 3)[-1] == (429, "2")
    time.sleep(2.1)
    # the lockout expired: the right password works and wipes the slate
    assert _login(a, org.owner_email, org.password).status_code == 200
    assert _attempts(b, org.owner_email, "wrong after success", 3) == [
        (401, None),
        (401, None),
        (429, "1"),
    ]
    audit = a.get("/api/v1/audit?entity_type=user", headers=org.headers()).json()
    assert [e["action"] for e in audit].count("lockout") == 4
    assert all(e["changes"]["seconds"] in (1, 2) for e in audit if e["action"] == "lockout")


def test_login_throttle_in_the_database(engine: Any, org: Any) -> None:
    from reos.app import create_app

    settings = _throttled_settings(redis_url=None)
    _check_throttle(lambda: TestClient(create_app(settings)), org)


def test_login_throttle_in_redis(engine: Any, org: Any) -> None:
    import redis

    from reos.app import create_app

    url = os.environ.get("REOS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url).ping()
    except redis.ConnectionError:
        pytest.skip("no Redis at " + url)
    settings = _throttled_settings(redis_url=url)
    _check_throttle(lambda: TestClient(create_app(settings)), org)
    # the counters really live in Redis (not in the database or the process)
    keys = redis.Redis.from_url(url).keys("reos:login:*")
    assert keys


def test_wrong_current_password_counts_as_a_failed_sign_in(engine: Any, org: Any) -> None:
    from reos.app import create_app

    c = TestClient(create_app(_throttled_settings(redis_url=None)))
    codes = [
        c.post(
            "/api/v1/me/password",
            json={"current_password": f"guess {i}", "new_password": "a brand new secret"},
            headers=org.headers(),
        ).status_code
        for i in range(3)
    ]
    assert codes == [403, 403, 429]
    assert _login(c, org.owner_email, org.password).status_code == 429


# ---------------------------------------------------------------- 3. refresh-token rotation


def test_refresh_tokens_are_single_use_and_reuse_revokes_the_family(client: Any, org: Any) -> None:
    first = _login(client, org.owner_email, org.password).json()["refresh_token"]
    other_login = _login(client, org.owner_email, org.password).json()["refresh_token"]
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": first})
    assert r.status_code == 200, r.text
    second = r.json()["refresh_token"]
    assert client.get("/api/v1/me", headers=_bearer(r.json()["access_token"])).status_code == 200
    reuse = client.post("/api/v1/auth/refresh", json={"refresh_token": first})
    assert reuse.status_code == 401 and "already been used" in reuse.json()["message"]
    # the descendant dies with the family ...
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": second}).status_code == 401
    # ... and a separate login's family lives on
    assert (
        client.post("/api/v1/auth/refresh", json={"refresh_token": other_login}).status_code == 200
    )
    audit = client.get("/api/v1/audit?entity_type=user", headers=org.headers()).json()
    assert [e["action"] for e in audit] == ["refresh_token_reuse"]


# ---------------------------------------------------------------- 4. refresh takes form or JSON


def test_refresh_accepts_a_form_and_json(client: Any, org: Any) -> None:
    first = _login(client, org.owner_email, org.password).json()["refresh_token"]
    by_form = client.post("/api/v1/auth/refresh", data={"refresh_token": first})
    assert by_form.status_code == 200, by_form.text
    by_json = client.post(
        "/api/v1/auth/refresh", json={"refresh_token": by_form.json()["refresh_token"]}
    )
    assert by_json.status_code == 200, by_json.text
    for bad, field in (
        ({"data": {}}, "refresh_token"),
        ({"json": {}}, "refresh_token"),
        ({"content": b"not json"}, "body"),  # undecodable, as everywhere in the API
        ({"json": {"refresh_token": "x" * 20, "extra": 1}}, "extra"),
        ({"data": {"refresh_token": first, "grant_type": "password"}}, "grant_type"),
    ):
        r = client.post("/api/v1/auth/refresh", **bad)
        assert r.status_code == 422 and r.json()["field"] == field, (bad, r.text)
    oauth_form = {"grant_type": "refresh_token", "refresh_token": by_json.json()["refresh_token"]}
    assert client.post("/api/v1/auth/refresh", data=oauth_form).status_code == 200
    body = client.get("/openapi.json").json()["paths"]["/api/v1/auth/refresh"]["post"]
    content = body["requestBody"]["content"]
    assert set(content) == {"application/json", "application/x-www-form-urlencoded"}
    for media in content.values():
        schema = media["schema"]
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = client.get("/openapi.json").json()["components"]["schemas"][name]
        assert schema["required"] == ["refresh_token"]


# ---------------------------------------------------------------- 5/6. CLI and API keys


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    from reos.cli import main

    code = 0
    try:
        main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("args", "field", "words"),
    [
        (["--email", "new@example.com", "--role", "god"], "role", "unknown role 'god'"),
        (["--email", "not-an-email", "--role", "analyst"], "email", "is not an email"),
        (["--email", "new@example.com", "--role", "analyst", "--org", "no-such-org"], "org", ""),
    ],
)
def test_users_create_checks_input_before_the_password_prompt(
    org: Any, args: list[str], field: str, words: str
) -> None:
    from typer.testing import CliRunner

    from reos.cli import app
    from reos.errors import ReosError

    full = ["users", "create", *args]
    if "--org" not in args:
        full += ["--org", org.slug]
    result = CliRunner().invoke(app, full)  # no terminal, no input
    assert "password" not in result.output.lower()
    assert isinstance(result.exception, ReosError) and result.exception.field == field
    assert words in result.exception.message


def test_users_create_one_line_error_and_exit_code(
    capsys: pytest.CaptureFixture[str], org: Any
) -> None:
    code, out, err = _run(
        capsys, "users", "create", "--email", "a@example.com", "--role", "god", "--org", org.slug
    )
    assert code == 2 and out == ""
    assert err == "error [role]: unknown role 'god'; use one of: owner, admin, analyst, service\n"


def test_users_create_never_resets_an_existing_password(
    capsys: pytest.CaptureFixture[str], client: Any, org: Any, other_org: Any
) -> None:
    base = ["users", "create", "--email", org.owner_email, "--role", "analyst"]
    code, _, err = _run(capsys, *base, "--org", other_org.slug, "--password", "operator chose")
    assert code == 4 and "keeps their own password" in err and "reset-password" in err
    assert _login(client, org.owner_email, "operator chose").status_code == 401
    # without --password the existing user is added, and no password is asked for
    code, out, err = _run(capsys, *base, "--org", other_org.slug)
    assert code == 0, err
    assert "is now analyst" in out
    assert _login(client, org.owner_email, org.password).status_code == 200


def test_operator_password_reset_is_its_own_command(
    capsys: pytest.CaptureFixture[str], client: Any, org: Any
) -> None:
    old_refresh = _login(client, org.owner_email, org.password).json()["refresh_token"]
    code, out, err = _run(
        capsys,
        "users",
        "reset-password",
        "--email",
        org.owner_email,
        "--password",
        "set by the operator",
    )
    assert code == 0, err
    assert f"password of {org.owner_email} reset" in out
    assert _login(client, org.owner_email, org.password).status_code == 401
    assert _login(client, org.owner_email, "set by the operator").status_code == 200
    assert (
        client.post("/api/v1/auth/refresh", json={"refresh_token": old_refresh}).status_code == 401
    )
    audit = client.get("/api/v1/audit?entity_type=user", headers=org.headers()).json()
    assert [(e["action"], e["actor_type"]) for e in audit] == [("password_reset", "cli")]
    code, _, err = _run(
        capsys, "users", "reset-password", "--email", "ghost@example.com", "--password", "whatever1"
    )
    assert code == 3 and err.startswith("error [email]: no user ghost@example.com")


def test_api_key_create_and_revoke_take_effect_immediately(client: Any, org: Any) -> None:
    """The key works on the very next request after it is created, and stops working on the
    very next request after it is revoked (both writes are committed before the answer)."""
    for _ in range(5):
        made = client.post(
            "/api/v1/api-keys", json={"name": "instant", "role": "analyst"}, headers=org.headers()
        )
        assert made.status_code == 201
        key = made.json()["key"]
        assert client.get("/api/v1/me", headers={"X-API-Key": key}).status_code == 200
        gone = client.delete(f"/api/v1/api-keys/{made.json()['id']}", headers=org.headers())
        assert gone.status_code == 200
        assert client.get("/api/v1/me", headers={"X-API-Key": key}).status_code == 401


def test_init_never_resets_an_existing_owners_password(client: Any, org: Any) -> None:
    """Re-running ``reos init`` (as ``make demo`` does) keeps an existing account's password.

    Before the fix it re-hashed the owner's password with whatever ``--password`` said, so
    ``reos init --email victim@... --password mine`` took over any account.
    """
    from typer.testing import CliRunner

    from reos.cli import app

    org_name = f"Init {uuid.uuid4().hex[:6]}"
    result = CliRunner().invoke(
        app, ["init", "--org", org_name, "--email", org.owner_email, "--password", "new-pass-1234"]
    )
    assert result.exit_code == 0, result.output
    assert "password is unchanged" in result.output
    assert _login(client, org.owner_email, org.password).status_code == 200
    assert _login(client, org.owner_email, "new-pass-1234").status_code == 401
    again = CliRunner().invoke(
        app, ["init", "--org", org_name, "--email", org.owner_email, "--password", org.password]
    )
    assert again.exit_code == 0, again.output
    assert "unchanged" not in again.output


def test_nul_characters_are_refused_before_the_database(client: Any, org: Any) -> None:
    """PostgreSQL refuses NUL in text: ``full_name`` with one was a 500 (found by the API
    fuzz pass); the accounts bodies now follow the kernel's input rules, as published."""
    r = client.post(
        "/api/v1/members",
        json={
            "email": f"nul-{uuid.uuid4().hex[:6]}@example.com",
            "role": "analyst",
            "full_name": "a\u0000b",
        },
        headers=org.headers(),
    )
    assert r.status_code == 422, r.text
    r = client.post("/api/v1/auth/token", data={"username": "a\u0000@example.com", "password": "x"})
    assert r.status_code == 422, r.text
