"""One place maps errors to HTTP: business errors carry their status; request validation
errors name the field; anything else is a bug: 500 with the request id, logged in full."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Scope

from reos.db.tenancy import TenancyViolation
from reos.errors import RateLimited, ReosError, Unauthenticated
from reos.http.middleware import BodyTooLarge

log = logging.getLogger("reos.http")

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "error": {"type": "string", "description": "machine-readable code"},
        "message": {"type": "string", "description": "what was wrong and what to do"},
        "field": {"type": "string"},
        "detail": {"type": "object"},
    },
    "required": ["error", "message"],
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI documentation of the error bodies a route can answer with."""
    meanings = {
        400: "Malformed request",
        401: "Missing, malformed, expired or wrongly signed credentials",
        403: "The caller's role does not allow this",
        404: "Not found in the caller's organisation",
        409: "Conflicts with the current state",
        412: "If-Match names a version that is no longer current; read it again",
        413: "Body larger than the configured limit",
        422: "Invalid input; the body names the field",
        428: "If-Match is required: send the ETag you read",
        429: "Rate limit exceeded; see Retry-After",
    }
    return {
        c: {
            "description": meanings.get(c, "Error"),
            "content": {"application/json": {"schema": ERROR_SCHEMA}},
        }
        for c in codes
    }


def _field_of(loc: tuple[Any, ...], kind: str | None = None) -> str:
    if kind == "json_invalid":
        return "body"  # the location is ("body", character offset): the body as a whole
    # pydantic names a union member or a validator wrapper in the location
    # ("function-after[_check(), RentalDeal]", "PublishedRentalDeal"): not a field the user wrote
    parts = [
        str(p)
        for p in loc
        if p not in ("body", "query", "path", "header")
        and not (isinstance(p, str) and (p.startswith("function-") or p[:1].isupper()))
    ]
    return ".".join(parts) or ".".join(str(p) for p in loc)


UNPARSABLE_BODY = "There was an error parsing the body"
"""The detail of the 400 FastAPI raises when a body cannot be decoded at all."""


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _route_path(scope: Scope) -> str:
    path, root = str(scope.get("path", "")), str(scope.get("root_path", ""))
    return path[len(root) :] if root and path.startswith(root) else path


def _template_regex(template: str) -> str:
    parts = re.split(r"(\{[^/}]+\})", template)
    return "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)


def documented_methods(app: FastAPI, scope: Scope) -> list[str] | None:
    """The methods the OpenAPI schema documents for the request's path, or None when the
    path is not in the schema. A concrete path (``/owners/resolve``) is matched before a
    templated one (``/owners/{entity_id}``), as the OpenAPI specification says."""
    paths: dict[str, dict[str, Any]] = app.openapi().get("paths", {})
    path = _route_path(scope)
    item = paths.get(path)
    if item is None:
        for template, candidate in paths.items():
            if "{" in template and re.fullmatch(_template_regex(template), path):
                item = candidate
                break
    if item is None:
        return None
    return [m for m in METHODS if m.lower() in item]


def allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """Every method served at the request's path, for the ``Allow`` header of a 405.

    FastAPI makes one route per (path, method), and Starlette's 405 named only the methods
    of the first route whose path matched: ``PUT /properties/{id}`` answered
    ``Allow: GET`` although PATCH and DELETE are served there too. The schema's path item
    answers for documented paths; other paths (``/docs``...) are probed in the router.
    """
    documented = documented_methods(app, scope)
    if documented is not None:
        return documented
    probe = {"type": "http", "path": scope.get("path", ""), "root_path": scope.get("root_path", "")}
    probe |= {"headers": [], "query_string": b""}
    return [
        method
        for method in METHODS
        if any(
            route.matches({**probe, "method": method})[0] == Match.FULL
            for route in app.router.routes
        )
    ]


def _not_allowed(app: FastAPI, scope: Scope) -> JSONResponse:
    allowed = allowed_methods(app, scope)
    return JSONResponse(
        {
            "error": "method_not_allowed",
            "message": f"{scope.get('method')} is not allowed on {_route_path(scope)}; "
            f"use {', '.join(allowed) or 'no method'}",
        },
        status_code=405,
        headers={"Allow": ", ".join(allowed)},
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(ReosError)
    async def _business(request: Request, exc: ReosError) -> JSONResponse:
        headers: dict[str, str] = {}
        if isinstance(exc, Unauthenticated):
            headers["WWW-Authenticate"] = 'Bearer realm="reos", error="invalid_token"'
        if isinstance(exc, RateLimited):
            headers["Retry-After"] = str(exc.detail.get("retry_after", 60))
        return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        concrete = _route_path(request.scope) in request.app.openapi().get("paths", {})
        if concrete and request.method not in (
            documented_methods(request.app, request.scope) or []
        ):
            # ``GET /owners/resolve`` reached ``GET /owners/{entity_id}`` with "resolve"
            # as the id; the path is ``POST /owners/resolve``'s, so the method is wrong.
            return _not_allowed(request.app, request.scope)
        errors = []
        for err in exc.errors():
            errors.append(
                {
                    "field": _field_of(tuple(err.get("loc", ())), err.get("type")),
                    # pydantic prefixes a validator's own sentence with its kind
                    "message": str(err.get("msg", "invalid value")).removeprefix("Value error, "),
                    "type": err.get("type"),
                }
            )
        first = errors[0] if errors else {"field": None, "message": "invalid request"}
        body = {
            "error": "validation_failed",
            "message": f"{first['field']}: {first['message']}"
            if first.get("field")
            else str(first["message"]),
            "field": first.get("field"),
            "detail": {"errors": jsonable_encoder(errors)},
        }
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == UNPARSABLE_BODY:
            # FastAPI's answer to a body it cannot decode (bytes that are not UTF-8, a
            # broken multipart form): the same 422 as any other malformed body.
            return JSONResponse(
                {
                    "error": "validation_failed",
                    "message": "body: the request body could not be read; "
                    "send UTF-8 JSON (or the form the operation documents)",
                    "field": "body",
                },
                status_code=422,
            )
        code = {
            404: "not_found",
            405: "method_not_allowed",
            401: "unauthenticated",
            403: "forbidden",
        }.get(exc.status_code, "http_error")
        headers = dict(exc.headers or {})
        if exc.status_code == 401:
            headers.setdefault("WWW-Authenticate", 'Bearer realm="reos"')
        if exc.status_code == 405:
            return _not_allowed(request.app, request.scope)
        return JSONResponse(
            {"error": code, "message": str(exc.detail)},
            status_code=exc.status_code,
            headers=headers,
        )

    @app.exception_handler(BodyTooLarge)
    async def _too_big(request: Request, exc: BodyTooLarge) -> JSONResponse:
        return JSONResponse(
            {
                "error": "payload_too_large",
                "message": "the request body is larger than the configured limit",
            },
            status_code=413,
        )

    @app.exception_handler(TenancyViolation)
    async def _tenancy(request: Request, exc: TenancyViolation) -> JSONResponse:
        log.error("tenancy violation", exc_info=exc)
        return JSONResponse(
            {"error": "forbidden", "message": "not allowed across organisations"}, status_code=403
        )

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        rid = request.scope.get("state", {}).get("request_id")
        log.error("unhandled error", exc_info=exc)
        return JSONResponse(
            {
                "error": "internal_error",
                "message": f"an internal error occurred (request id {rid})",
            },
            status_code=500,
        )
