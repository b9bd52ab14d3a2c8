"""A write is committed before its response starts: a client that got 200/201/204 can
rely on the change being visible to its next request (on any connection)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.orm import Session
from starlette.types import Message, Receive, Scope, Send


class _Recorder:
    """Wraps the app: records, in order, each session commit and each response start."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.events: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.events.append(f"response {message['status']}")
            await send(message)

        await self.app(scope, receive, recording_send)

    def on_commit(self, session: Session) -> None:
        self.events.append("commit")


@pytest.fixture
def recorder(app: Any) -> Iterator[_Recorder]:
    rec = _Recorder(app)
    event.listen(Session, "after_commit", rec.on_commit)
    try:
        yield rec
    finally:
        event.remove(Session, "after_commit", rec.on_commit)


def _last_commit_before_response(events: list[str]) -> bool:
    start = next(i for i, e in enumerate(events) if e.startswith("response"))
    return "commit" in events[:start] and "commit" not in events[start:]


def test_patch_commits_before_the_response_starts(recorder: _Recorder, org: Any) -> None:
    with TestClient(recorder) as c:
        created = c.post("/api/v1/properties", json={"city": "Ames"}, headers=org.headers())
        assert created.status_code == 201, created.text
        recorder.events.clear()
        r = c.patch(
            f"/api/v1/properties/{created.json()['id']}",
            json={"city": "Boone"},
            headers=org.headers(),
        )
    assert r.status_code == 200, r.text
    assert _last_commit_before_response(recorder.events), recorder.events


def test_api_key_revocation_commits_before_the_response_starts(
    recorder: _Recorder, org: Any
) -> None:
    """The accounts routes take their session from ``session_for``: same guarantee."""
    with TestClient(recorder) as c:
        key = c.post(
            "/api/v1/api-keys",
            json={"name": f"k-{uuid.uuid4().hex[:6]}", "role": "analyst"},
            headers=org.headers(),
        )
        assert key.status_code == 201, key.text
        recorder.events.clear()
        r = c.delete(f"/api/v1/api-keys/{key.json()['id']}", headers=org.headers())
        assert r.status_code == 200, r.text
        assert _last_commit_before_response(recorder.events), recorder.events
        # and the revoked key is refused at once
        assert c.get("/api/v1/me", headers={"X-API-Key": key.json()["key"]}).status_code == 401


def test_failed_write_rolls_back_and_commits_nothing(recorder: _Recorder, org: Any) -> None:
    with TestClient(recorder) as c:
        recorder.events.clear()
        r = c.patch(
            f"/api/v1/properties/{uuid.uuid4()}", json={"city": "Boone"}, headers=org.headers()
        )
    assert r.status_code == 404
    # only the credential lookup (its own unit of work) committed, before the answer
    assert recorder.events == ["commit", "response 404"], recorder.events
