"""Plug the dashboard into the app: static assets, the page routers, HTML error pages and
a self-hosted ``/docs`` (Swagger UI from the vendored ``swagger-ui-dist``, no CDN)."""

from __future__ import annotations

import importlib
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from reos.errors import ReosError
from reos.http.unit_of_work import one_hop
from reos.web.context import SignInRequired
from reos.web.render import STATIC, is_htmx, render

log = logging.getLogger("reos.web")

#: The page routers, as ``module:attribute``, in the order of the navigation.
PAGE_ROUTERS: tuple[str, ...] = (
    "reos.web.pages.signin:router",
    "reos.web.pages.deals:router",
    "reos.web.pages.property:router",
    "reos.web.pages.owners:router",
    "reos.web.pages.imports:router",
    "reos.web.pages.board:router",
    "reos.web.pages.pipeline:router",
    "reos.web.pages.admin:router",
)
#: Paths that are not pages: their errors stay JSON.
NOT_PAGES = ("/api/", "/health", "/ready", "/metrics", "/openapi.json", "/docs")
VENDOR = STATIC / "vendor"


def is_page(request: Request) -> bool:
    path = request.url.path
    return not any(path == p.rstrip("/") or path.startswith(p) for p in NOT_PAGES)


def _load(path: str) -> Any:
    module, _, attribute = path.partition(":")
    try:
        return getattr(importlib.import_module(module), attribute)
    except ModuleNotFoundError as exc:
        if exc.name == module:  # a page area not built yet
            return None
        raise


def mount(app: FastAPI) -> None:
    if not (VENDOR / "MANIFEST.json").exists():
        log.warning("web assets are missing: run `make install` (tools/vendor_assets.py)")
    app.mount("/static", StaticFiles(directory=str(STATIC), check_dir=False), name="static")
    for path in PAGE_ROUTERS:
        router = _load(path)
        if router is not None:
            app.include_router(one_hop(router))
    _install_docs(app)
    _install_error_pages(app)


def _install_docs(app: FastAPI) -> None:
    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        """Swagger UI served from the app's own vendored copy."""
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} — API",
            swagger_js_url="/static/vendor/swagger-ui-dist/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui-dist/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )


def _error_page(request: Request, status: int, title: str, message: str) -> Response:
    if status == 401:
        return RedirectResponse("/login", status_code=303)
    return render(
        request,
        "error.html",
        {"status": status, "title": title, "message": message},
        status_code=status,
    )


async def _call(handler: Any, request: Request, exc: Exception) -> Response:
    """An API error handler (async, as :mod:`reos.http.errors` installs them)."""
    response: Response = await handler(request, exc)
    return response


def _install_error_pages(app: FastAPI) -> None:
    """Pages answer errors as HTML; the API keeps its JSON handlers (delegated to)."""
    business = app.exception_handlers[ReosError]
    http = app.exception_handlers[StarletteHTTPException]
    invalid = app.exception_handlers[RequestValidationError]

    async def signin_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInRequired)
        if is_htmx(request):
            return Response(status_code=204, headers={"HX-Redirect": exc.next_url})
        if not is_page(request):
            return JSONResponse({"error": "unauthenticated", "message": "sign in"}, 401)
        return RedirectResponse(exc.next_url, status_code=303)

    async def on_business(request: Request, exc: Exception) -> Response:
        if not is_page(request):
            return await _call(business, request, exc)
        assert isinstance(exc, ReosError)
        titles = {403: "Not allowed", 404: "Not found", 409: "Conflict", 429: "Slow down"}
        return _error_page(
            request, exc.status_code, titles.get(exc.status_code, "Error"), exc.message
        )

    async def on_http(request: Request, exc: Exception) -> Response:
        if not is_page(request):
            return await _call(http, request, exc)
        assert isinstance(exc, StarletteHTTPException)
        titles = {404: "Not found", 405: "Not allowed"}
        return _error_page(
            request,
            exc.status_code,
            titles.get(exc.status_code, "Error"),
            "There is no page here." if exc.status_code == 404 else str(exc.detail),
        )

    async def on_invalid(request: Request, exc: Exception) -> Response:
        if not is_page(request):
            return await _call(invalid, request, exc)
        assert isinstance(exc, RequestValidationError)
        problems = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err.get("loc", ())[1:]) or "request"
            problems.append(
                f"{loc}: {str(err.get('msg', 'invalid')).removeprefix('Value error, ')}"
            )
        return _error_page(request, 422, "Check the form", "; ".join(problems))

    app.add_exception_handler(SignInRequired, signin_required)
    app.add_exception_handler(ReosError, on_business)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_invalid)
