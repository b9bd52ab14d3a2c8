"""FastAPI dependencies: who is calling, and the unit of work bound to their organisation.

Credentials: ``X-API-Key``, or ``Authorization: Bearer`` with a local access token (HS256)
or, when configured, an OIDC token (RS256, JWKS). Any failure is 401 with
``WWW-Authenticate``; a valid caller without the permission is 403.

A route asks for a session (``ReadSession``, ``WriteSession`` or
``Annotated[Session, Depends(session_for(permission), scope="function")]``); that one
dependency authenticates the caller, checks the permission, counts the request against
the organisation's rate limit and opens the tenant session, all on the event loop while
nothing needs the database (an API key verified moments ago is remembered, see
:mod:`reos.accounts.keycache`). The route and its commit then run in one trip to the
thread pool (:mod:`reos.http.unit_of_work`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from reos.accounts import auth
from reos.accounts.auth import Permission
from reos.config import Settings, get_settings
from reos.db.session import open_tenant_session, system_session
from reos.errors import RateLimited, Unauthenticated
from reos.http.unit_of_work import RequestUnit, enlist, in_thread
from reos.kernel.principal import Principal, attach

bearer = HTTPBearer(
    auto_error=False, description="Access token from /api/v1/auth/token, or an OIDC token"
)
api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An organisation API key"
)


def install_api_key_cache(app: Any, settings: Settings) -> None:
    """Give the app the per-process memory of verified API keys (see
    :mod:`reos.accounts.keycache`), signalled by revocations through ``settings``."""
    app.state.api_keys = auth.api_key_cache(settings)


def _settings(request: Request) -> Settings:
    return getattr(request.app.state, "settings", None) or get_settings()


def _org_header(request: Request) -> str | None:
    value = request.headers.get("x-reos-org")
    return value.strip() if value else None


async def authenticate(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    api_key: Annotated[str | None, Depends(api_key_header)],
) -> Principal:
    """Who is calling. An API key this process verified moments ago is answered here, on
    the event loop, without a thread or the database (see :mod:`reos.accounts.keycache`);
    whatever reads the database or a network store runs in the thread pool."""
    state = request.app.state
    keys: auth.ApiKeyCache = state.api_keys
    if api_key and keys.is_local and state.limiter.is_local:
        remembered, _ = keys.lookup(auth.key_hash(api_key))
        if remembered is not None:
            return admit(request, remembered)
    return await in_thread(authenticate_in_thread, request, creds, api_key)


def authenticate_in_thread(
    request: Request,
    creds: HTTPAuthorizationCredentials | None,
    api_key: str | None,
) -> Principal:
    with system_session() as session:
        if api_key:
            principal = auth.principal_for_api_key(session, request.app.state.api_keys, api_key)
        elif creds is not None and creds.scheme.lower() == "bearer":
            principal = auth.principal_for_bearer(
                session, _settings(request), creds.credentials, _org_header(request)
            )
        else:
            raise Unauthenticated(
                "credentials are missing: send a Bearer token or an X-API-Key header"
            )
    return admit(request, principal)


def admit(request: Request, principal: Principal) -> Principal:
    """Count the request against its organisation's rate limit and record the caller."""
    limiter = request.app.state.limiter
    limit = _settings(request).rate_limit_org_per_min
    decision = limiter.check("org", str(principal.org_id), limit)
    if not decision.allowed:
        raise RateLimited(
            "this organisation has made too many requests; slow down",
            retry_after=decision.reset_s,
        )
    request.state.principal = principal
    return principal


def session_for(permission: Permission) -> Callable[..., Awaitable[Session]]:
    """A dependency giving the route a unit of work for a caller with ``permission``.

    The route finishes it: committed when it returns, *before* the response is sent,
    rolled back when it raises (:mod:`reos.http.unit_of_work`; the app mounts every domain
    router through ``one_hop``). Committing before the response matters: with the commit
    after it, a revoked API key still worked, or a read just after a write saw the old
    row. ``scope="function"`` in the aliases below is kept for the reader: the unit of
    work belongs to the route function.
    """

    async def unit_of_work(
        request: Request,
        creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
        api_key: Annotated[str | None, Depends(api_key_header)],
    ) -> Session:
        # authenticate is called, not depended on: one dependency level less to solve
        principal = await authenticate(request, creds, api_key)
        auth.check(principal.role, permission)
        session = open_tenant_session(principal.org_id)  # no I/O until its first statement
        attach(session, principal, request.scope.get("state", {}).get("request_id"))
        enlist(request, RequestUnit(session))  # the route commits it (unit_of_work.one_hop)
        return session

    unit_of_work.__name__ = f"session_for_{permission.name.lower()}"
    return unit_of_work


reader_session = session_for(Permission.DATA_READ)
writer_session = session_for(Permission.DATA_WRITE)

ReadSession = Annotated[Session, Depends(reader_session, scope="function")]
WriteSession = Annotated[Session, Depends(writer_session, scope="function")]
#: A unit of work for a caller who may change organisation-wide settings (owner, admin).
SettingsSession = Annotated[
    Session, Depends(session_for(Permission.SETTINGS_MANAGE), scope="function")
]
CurrentPrincipal = Annotated[Principal, Depends(authenticate)]
