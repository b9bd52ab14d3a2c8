"""One place maps errors to HTTP: business errors carry their status; request validation
errors name the field; anything else is a bug: 500 with the request id, logged in full."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

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
        413: "Body larger than the configured limit",
        422: "Invalid input; the body names the field",
        429: "Rate limit exceeded; see Retry-After",
    }
    return {
        c: {
            "description": meanings.get(c, "Error"),
            "content": {"application/json": {"schema": ERROR_SCHEMA}},
        }
        for c in codes
    }


def _field_of(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or ".".join(str(p) for p in loc)


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
        errors = []
        for err in exc.errors():
            errors.append(
                {
                    "field": _field_of(tuple(err.get("loc", ()))),
                    "message": err.get("msg"),
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
        code = {
            404: "not_found",
            405: "method_not_allowed",
            401: "unauthenticated",
            403: "forbidden",
        }.get(exc.status_code, "http_error")
        headers = dict(exc.headers or {})
        if exc.status_code == 401:
            headers.setdefault("WWW-Authenticate", 'Bearer realm="reos"')
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
