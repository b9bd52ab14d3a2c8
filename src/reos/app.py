"""The FastAPI application factory."""

from __future__ import annotations

import gc
import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import generate_latest
from sqlalchemy import text

from reos import __version__
from reos.config import Settings, get_settings
from reos.db import schema
from reos.db.engine import get_engine
from reos.domains import router_paths
from reos.http import errors
from reos.http.deps import install_api_key_cache
from reos.http.metrics import REGISTRY
from reos.http.middleware import ReosMiddleware
from reos.http.ratelimit import make_limiter
from reos.http.unit_of_work import one_hop
from reos.jobs.worker import start_inprocess_worker, stop_inprocess_worker
from reos.logging import configure as configure_logging
from reos.web.mount import mount as web_mount

DESCRIPTION = """Real Estate OS: properties, sales, owners, valuations for many organisations.

Authenticate with `POST /api/v1/auth/token` (email + password) and send
`Authorization: Bearer <access_token>`, or send an organisation API key in `X-API-Key`.
A user in several organisations picks one with the `X-Reos-Org` header (id or slug).
Errors are JSON: `{"error": code, "message": text, "field": name}`.
"""


def _router(path: str) -> APIRouter:
    """The router a domain declares as ``"module:attribute"`` (see :mod:`reos.domains`)."""
    module, _, attribute = path.partition(":")
    router = getattr(importlib.import_module(module), attribute)
    if not isinstance(router, APIRouter):
        raise TypeError(f"{path} is not a FastAPI router")
    return router


def create_app(settings: Settings | None = None, *, check_schema: bool = True) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    if check_schema and not settings.skip_schema_check:
        schema.require_current()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.inprocess_worker:
            start_inprocess_worker(app)
        # What start-up loaded (the modules, mappers, routes, templates: some 350,000
        # objects) lives as long as the process; frozen, the collector stops walking it.
        # A full collection over it took 140 ms in the middle of whichever request
        # triggered it (the p95 of the map markers went from 60 ms to 220 ms).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            stop_inprocess_worker(app)

    app = FastAPI(
        title="Real Estate OS",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by the dashboard from its vendored Swagger UI (reos.web)
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.limiter = make_limiter(settings.redis_url)
    install_api_key_cache(app, settings)
    errors.install(app)
    for path in router_paths():
        # every plain-def route runs, with its commit, in one thread-pool hop
        app.include_router(one_hop(_router(path)))
    web_mount(app)

    @app.get("/health", tags=["ops"])
    def health() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @app.get(
        "/ready",
        tags=["ops"],
        responses={503: {"description": "database unreachable or schema out of date"}},
    )
    def ready() -> Any:
        """The database answers and its schema is current."""
        try:
            with get_engine().connect() as conn:
                conn.execute(text("SELECT 1"))
            current = schema.is_current()
        except Exception as exc:  # the database is down: say so, do not raise
            return JSONResponse(
                {"status": "unavailable", "message": f"database unreachable: {type(exc).__name__}"},
                status_code=503,
            )
        if not current:
            return JSONResponse(
                {"status": "unavailable", "message": "schema out of date: run `reos db upgrade`"},
                status_code=503,
            )
        return {"status": "ready"}

    @app.get("/metrics", tags=["ops"], response_class=PlainTextResponse)
    def metrics() -> PlainTextResponse:
        """Prometheus metrics: requests by method, route template and status; latency."""
        return PlainTextResponse(
            generate_latest(REGISTRY).decode(), media_type="text/plain; version=0.0.4"
        )

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=[o for o in settings.cors_origins if o != "*"],
            allow_credentials=True,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=[
                "Authorization",
                "X-API-Key",
                "X-Reos-Org",
                "Content-Type",
                "X-Request-ID",
            ],
        )
    app.add_middleware(
        ReosMiddleware,
        limiter=app.state.limiter,
        ip_limit=settings.rate_limit_ip_per_min,
        max_body_bytes=settings.max_body_bytes,
    )
    return app
