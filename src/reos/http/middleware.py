"""Pure ASGI middleware: request id, security headers, body limit, per-IP rate limit,
metrics and one JSON access-log line per request."""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reos.http.metrics import LATENCY, REQUESTS
from reos.http.ratelimit import RateLimiter
from reos.http.unit_of_work import finish_leftovers
from reos.logging import request_id_var

log = logging.getLogger("reos.http")
SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
#: Request ids made here: 16 random hex digits per process, then a counter (32 in all, as
#: a UUID's hex): unique without reading the system's random source on every request.
_id_prefix = uuid.uuid4().hex[:16]
_ids = itertools.count()


def _new_id_prefix() -> None:
    global _id_prefix
    _id_prefix = uuid.uuid4().hex[:16]


os.register_at_fork(after_in_child=_new_id_prefix)  # a forked worker gets its own
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; frame-ancestors 'none'"
)
LIMITED_PREFIX = "/api/"


def _json_response(
    status: int, body: dict[str, Any], headers: dict[str, str]
) -> tuple[Message, Message]:
    data = json.dumps(body).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return (
        {"type": "http.response.start", "status": status, "headers": raw},
        {"type": "http.response.body", "body": data},
    )


class ReosMiddleware:
    def __init__(
        self, app: ASGIApp, *, limiter: RateLimiter, ip_limit: int, max_body_bytes: int
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.ip_limit = ip_limit
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        rid = headers.get("x-request-id", "")
        if not SANE_REQUEST_ID.match(rid):
            rid = f"{_id_prefix}{next(_ids):016x}"
        token = request_id_var.set(rid)
        scope.setdefault("state", {})["request_id"] = rid
        https = scope.get("scheme") == "https" or headers.get("x-forwarded-proto") == "https"
        extra_headers: dict[str, str] = {
            "X-Request-ID": rid,
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "strict-origin-when-cross-origin",
            "Content-Security-Policy": CSP,
            "Permissions-Policy": "geolocation=(), camera=(), microphone=()",
        }
        if https:
            extra_headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        start = time.perf_counter()
        status_holder = {"status": 500}
        method = scope["method"]
        path = scope["path"]

        async def send_wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                raw = list(message.get("headers", []))
                present = {k.lower() for k, _ in raw}
                for k, v in extra_headers.items():
                    if k.lower().encode() not in present:
                        raw.append((k.lower().encode(), v.encode()))
                message = {**message, "headers": raw}
            await send(message)

        try:
            early = self._early_reject(scope, headers, path, extra_headers)
            if early is not None:
                for message in early:
                    await send_wrapped(message)
                return
            await self.app(scope, self._limited_receive(receive), send_wrapped)
        finally:
            await finish_leftovers(scope)
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            elapsed = time.perf_counter() - start
            REQUESTS.labels(method, template, str(status_holder["status"])).inc()
            LATENCY.labels(method, template).observe(elapsed)
            log.info(
                "request",
                extra={
                    "fields": {
                        "method": method,
                        "route": template,
                        "status": status_holder["status"],
                        "duration_ms": round(elapsed * 1000, 2),
                    }
                },
            )
            request_id_var.reset(token)

    def _early_reject(
        self, scope: Scope, headers: dict[str, str], path: str, extra_headers: dict[str, str]
    ) -> tuple[Message, Message] | None:
        bad_param = _param_with_nul(scope.get("query_string", b""))
        if bad_param is not None:
            return _json_response(
                422,
                {
                    "error": "validation_failed",
                    "message": f"{bad_param}: contains a NUL character",
                    "field": bad_param,
                },
                {},
            )
        length = headers.get("content-length")
        if length is not None:
            try:
                too_big = int(length) > self.max_body_bytes
            except ValueError:
                return _json_response(
                    400, {"error": "bad_request", "message": "invalid Content-Length"}, {}
                )
            if too_big:
                return _json_response(
                    413,
                    {
                        "error": "payload_too_large",
                        "message": f"the request body is larger than the limit of {self.max_body_bytes} bytes",
                    },
                    {},
                )
        if path.startswith(LIMITED_PREFIX):
            client = scope.get("client")
            ip = client[0] if client else "unknown"
            decision = self.limiter.check("ip", ip, self.ip_limit)
            extra_headers.update(decision.headers())
            if not decision.allowed:
                return _json_response(
                    429,
                    {
                        "error": "rate_limited",
                        "message": "too many requests from this address; slow down",
                    },
                    {"Retry-After": str(decision.reset_s)},
                )
        return None

    def _limited_receive(self, receive: Receive) -> Receive:
        seen = 0
        limit = self.max_body_bytes

        async def wrapped() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge()
            return message

        return wrapped


def _param_with_nul(query: bytes) -> str | None:
    """The name of a query parameter whose value holds a NUL (no database stores one)."""
    if b"%00" not in query and b"\x00" not in query:
        return None  # the common case, without parsing the query
    from urllib.parse import parse_qsl

    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if "\x00" in value or "\x00" in name:
            return name.replace("\x00", "")
    return None


class BodyTooLarge(Exception):
    """A streamed body went over the limit (no Content-Length was sent)."""
