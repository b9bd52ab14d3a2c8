"""The request's unit of work in one thread hop: a plain route and its commit run in the
same worker thread; an ``async`` route is finished by the dependency; an error rolls back;
the same rules hold for every route of every router ``one_hop`` converts."""

from __future__ import annotations

import inspect
import logging
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from reos.db.session import system_session
from reos.http import errors
from reos.http.deps import WriteSession, install_api_key_cache
from reos.http.middleware import ReosMiddleware
from reos.http.ratelimit import make_limiter
from reos.http.unit_of_work import one_hop
from reos.jobs import queue
from reos.models.jobs import Job

KIND = "test.unit_of_work"


class Boom(RuntimeError):
    pass


def _router(threads: dict[str, int]) -> APIRouter:
    router = APIRouter(prefix="/uow")

    @router.post("/plain")
    def plain(session: WriteSession) -> dict[str, str]:
        threads["route"] = threading.get_ident()
        return {"job": str(queue.enqueue(session, KIND, {"via": "plain"}).id)}

    @router.post("/async")
    async def in_loop(session: WriteSession) -> dict[str, str]:
        job = Job(id=uuid.uuid4(), kind=KIND, payload={"via": "async"}, status="done", attempts=0)
        session.add(job)  # flushed by the commit, which the dependency runs
        return {"job": str(job.id)}

    @router.post("/fails")
    def fails(session: WriteSession) -> dict[str, str]:
        queue.enqueue(session, KIND, {"via": "fails"})
        raise Boom("after the write")

    return router


def _app(app: Any, router: APIRouter, *, convert: bool = True) -> FastAPI:
    """An app with the real middleware, dependencies and error handlers, and ``router``."""
    settings = app.state.settings
    test_app = FastAPI()
    test_app.state.settings = settings
    test_app.state.limiter = make_limiter(None)
    install_api_key_cache(test_app, settings)
    errors.install(test_app)
    test_app.include_router(one_hop(router) if convert else router)
    test_app.add_middleware(
        ReosMiddleware,
        limiter=test_app.state.limiter,
        ip_limit=settings.rate_limit_ip_per_min,
        max_body_bytes=settings.max_body_bytes,
    )
    return test_app


@pytest.fixture
def harness(engine: Any, app: Any) -> Iterator[tuple[TestClient, dict[str, int]]]:
    threads: dict[str, int] = {}
    test_app = _app(app, _router(threads))

    def on_commit(session: Session) -> None:
        if session.info.get("tenant"):
            threads["commit"] = threading.get_ident()

    event.listen(Session, "after_commit", on_commit)
    try:
        with TestClient(test_app, raise_server_exceptions=False) as client:
            yield client, threads
    finally:
        event.remove(Session, "after_commit", on_commit)


def _job(job_id: str) -> Job | None:
    with system_session() as s:
        return s.scalars(select(Job).where(Job.id == uuid.UUID(job_id))).first()


def test_a_plain_route_commits_in_its_own_thread(harness: Any, org: Any) -> None:
    client, threads = harness
    r = client.post("/uow/plain", headers=org.headers())
    assert r.status_code == 200, r.text
    assert _job(r.json()["job"]) is not None
    assert threads["commit"] == threads["route"]


def test_an_async_route_is_committed_by_the_dependency(harness: Any, org: Any) -> None:
    client, _ = harness
    r = client.post("/uow/async", headers=org.headers())
    assert r.status_code == 200, r.text
    job = _job(r.json()["job"])
    assert job is not None and job.org_id == org.id


def test_an_error_rolls_the_write_back(harness: Any, org: Any) -> None:
    client, _ = harness
    with system_session() as s:
        before = len(s.scalars(select(Job).where(Job.org_id == org.id, Job.kind == KIND)).all())
    r = client.post("/uow/fails", headers=org.headers())
    assert r.status_code == 500
    with system_session() as s:
        after = len(s.scalars(select(Job).where(Job.org_id == org.id, Job.kind == KIND)).all())
    assert after == before


def test_one_hop_converts_every_route_once() -> None:
    router = _router({})
    endpoints = {r.path: r.endpoint for r in router.routes}  # type: ignore[attr-defined]
    one_hop(router)
    converted = {r.path: r.endpoint for r in router.routes}  # type: ignore[attr-defined]
    for path, endpoint in converted.items():
        assert inspect.iscoroutinefunction(endpoint)
        assert endpoint.__wrapped__ is endpoints[path]  # type: ignore[attr-defined]
    one_hop(router)
    assert {r.path: r.endpoint for r in router.routes} == converted  # type: ignore[attr-defined]


def test_a_route_mounted_without_one_hop_is_rolled_back_and_said(
    engine: Any, app: Any, org: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug, never a silent commit: the middleware rolls the unit back and logs it."""
    bare = _app(app, _router({}), convert=False)
    with TestClient(bare) as client, caplog.at_level(logging.ERROR, logger="reos.http"):
        r = client.post("/uow/plain", headers=org.headers())
    assert r.status_code == 200, r.text
    assert _job(r.json()["job"]) is None
    assert "not finished by its route" in caplog.text


def test_every_domain_route_runs_in_one_hop(app: Any) -> None:
    """The app converts every route of every domain router it mounts."""
    import importlib

    from fastapi.routing import APIRoute

    from reos.domains import router_paths

    for path in router_paths():
        module, _, name = path.partition(":")
        for route in getattr(importlib.import_module(module), name).routes:
            assert isinstance(route, APIRoute)
            assert inspect.iscoroutinefunction(route.endpoint), (path, route.path)
