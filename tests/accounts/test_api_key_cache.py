"""API keys are remembered for a few seconds per process; revocation still applies at once
in every process, and nothing else about who may see what changes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, update

from reos.accounts import service as accounts
from reos.config import get_settings
from reos.db.session import system_session
from reos.models import ApiKey

REOS_BIN = Path(sys.executable).parent


def _new_key(client: Any, org: Any, role: str = "analyst") -> tuple[str, str]:
    r = client.post("/api/v1/api-keys", json={"name": "sync", "role": role}, headers=org.headers())
    assert r.status_code == 201, r.text
    return r.json()["key"], r.json()["id"]


def _property(client: Any, org: Any) -> str:
    r = client.post(
        "/api/v1/properties",
        json={"address": "1 Main St", "city": "Ames", "state": "IA", "zip": "50010"},
        headers=org.headers(),
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


@pytest.fixture
def second_client(engine: Engine) -> Iterator[TestClient]:
    """Another instance of the app: its own key cache, as another worker process has."""
    from reos.app import create_app

    with TestClient(create_app()) as c:
        yield c


def test_revocation_is_refused_at_once_by_another_app_instance(
    client: Any, second_client: TestClient, org: Any
) -> None:
    key, key_id = _new_key(client, org)
    for c in (client, second_client):  # both remember the key now
        assert c.get("/api/v1/me", headers={"X-API-Key": key}).status_code == 200
    assert client.delete(f"/api/v1/api-keys/{key_id}", headers=org.headers()).status_code == 200
    for c in (second_client, client):
        r = c.get("/api/v1/me", headers={"X-API-Key": key})
        assert r.status_code == 401 and "revoked" in r.json()["message"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _status(url: str, key: str) -> int:
    request = urllib.request.Request(url, headers={"X-API-Key": key})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_revocation_is_refused_at_once_by_a_server_in_another_process(
    client: Any, org: Any, tmp_path: Path
) -> None:
    key, key_id = _new_key(client, org)
    port = _free_port()
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(  # noqa: S603
        [str(REOS_BIN / "uvicorn"), "--factory", "reos.app:create_app", "--port", str(port),
         "--log-level", "warning"],
        env={**os.environ, "REOS_API_KEY_CACHE_S": "300"}, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/api/v1/me"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                first = _status(url, key)
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert first == 200  # the other process verified the key and remembers it (300 s)
        assert _status(url, key) == 200
        revoked = client.delete(f"/api/v1/api-keys/{key_id}", headers=org.headers())
        assert revoked.status_code == 200
        assert _status(url, key) == 401
    finally:
        server.terminate()
        server.wait(timeout=15)
        log.close()


def test_a_key_is_remembered_no_longer_than_the_cache_bound(engine: Engine, org: Any) -> None:
    """Proves the cache is real, and its bound: a change that skips the revocation signal
    (here a direct UPDATE, which the product never does) is seen once the seconds pass."""
    from reos.app import create_app

    app = create_app(get_settings().model_copy(update={"api_key_cache_s": 1.0}))
    with TestClient(app) as c:
        key, key_id = _new_key(c, org)
        assert c.get("/api/v1/me", headers={"X-API-Key": key}).status_code == 200
        with system_session() as s:
            s.execute(
                update(ApiKey)
                .where(ApiKey.id == uuid.UUID(key_id))
                .values(revoked_at=ApiKey.created_at)
            )
        assert c.get("/api/v1/me", headers={"X-API-Key": key}).status_code == 200
        time.sleep(1.1)
        assert c.get("/api/v1/me", headers={"X-API-Key": key}).status_code == 401


def test_a_cached_key_still_sees_only_its_own_organisation(
    client: Any, org: Any, other_org: Any
) -> None:
    mine = _property(client, org)
    theirs = _property(client, other_org)
    key, _ = _new_key(client, org)
    for _ in range(3):  # first from the database, then from the cache
        assert (
            client.get(f"/api/v1/properties/{mine}", headers={"X-API-Key": key}).status_code == 200
        )
        r = client.get(f"/api/v1/properties/{theirs}", headers={"X-API-Key": key})
        assert r.status_code == 404


def test_a_removed_member_is_refused_on_the_next_request(
    client: Any, org: Any, role_headers: Any
) -> None:
    headers = role_headers("analyst")
    me = client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200
    members = client.get("/api/v1/members", headers=org.headers()).json()
    member = next(m for m in members if m["role"] == "analyst")
    assert (
        client.delete(f"/api/v1/members/{member['id']}", headers=org.headers()).status_code == 204
    )
    assert client.get("/api/v1/me", headers=headers).status_code in (401, 403)


def test_last_used_is_written_at_most_once_a_minute(engine: Engine, client: Any, org: Any) -> None:
    key, _ = _new_key(client, org)
    updates: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE API_KEYS"):
            updates.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        for _ in range(3):  # verified against the database each time: no cache here
            with system_session() as s:
                accounts.principal_for_api_key(s, key)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(updates) == 1
