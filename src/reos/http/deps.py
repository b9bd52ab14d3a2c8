"""FastAPI dependencies: who is calling, and the unit of work bound to their organisation.

Credentials: ``X-API-Key``, or ``Authorization: Bearer`` with a local access token (HS256)
or, when configured, an OIDC token (RS256, JWKS). Any failure is 401 with
``WWW-Authenticate``; a valid caller without the permission is 403.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from reos.accounts import service as accounts
from reos.accounts import tokens
from reos.accounts.credentials import hash_api_key
from reos.accounts.keycache import ApiKeyCache, generation_for
from reos.accounts.roles import Permission, check
from reos.config import get_settings
from reos.db.session import system_session, tenant_session
from reos.errors import RateLimited, Unauthenticated
from reos.kernel.principal import Principal, attach

bearer = HTTPBearer(
    auto_error=False, description="Access token from /api/v1/auth/token, or an OIDC token"
)
api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An organisation API key"
)


def install_api_key_cache(app: Any, settings: Any) -> None:
    """Give the app the per-process memory of verified API keys (see
    :mod:`reos.accounts.keycache`), signalled by revocations through ``settings``."""
    app.state.api_keys = ApiKeyCache(generation_for(settings), settings.api_key_cache_s)


def _org_header(request: Request) -> str | None:
    value = request.headers.get("x-reos-org")
    return value.strip() if value else None


async def authenticate(
    request: Request,
    response: Response,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    api_key: Annotated[str | None, Depends(api_key_header)],
) -> Principal:
    """Who is calling. An API key this process verified moments ago is answered here, on
    the event loop, without a thread or the database (see :mod:`reos.accounts.keycache`);
    whatever reads the database or a network store runs in the thread pool."""
    state = request.app.state
    keys: ApiKeyCache = state.api_keys
    if api_key and keys.is_local and state.limiter.is_local:
        remembered, _ = keys.lookup(hash_api_key(api_key.strip()))
        if remembered is not None:
            return admit(request, remembered)
    return await run_in_threadpool(authenticate_in_thread, request, creds, api_key)


def authenticate_in_thread(
    request: Request,
    creds: HTTPAuthorizationCredentials | None,
    api_key: str | None,
) -> Principal:
    settings = getattr(request.app.state, "settings", None) or get_settings()
    with system_session() as session:
        if api_key:
            keys: ApiKeyCache = request.app.state.api_keys
            principal = keys.principal(
                hash_api_key(api_key.strip()),
                lambda: accounts.principal_for_api_key(session, api_key),
            )
        elif creds is not None and creds.scheme.lower() == "bearer":
            token = creds.credentials
            alg = tokens.token_algorithm(token)
            if alg == "RS256":
                claims = tokens.verify_oidc(settings, token)
                org_ref = _org_header(request) or _claim_str(claims.get(settings.oidc_org_claim))
                if not org_ref:
                    raise Unauthenticated(f"the token has no {settings.oidc_org_claim!r} claim")
                roles = claims.get(settings.oidc_roles_claim) or []
                roles = [roles] if isinstance(roles, str) else list(roles)
                principal = accounts.principal_for_oidc(session, org_ref, roles, str(claims["sub"]))
            else:
                claims_local = tokens.verify_local(settings, token, "access")
                principal = accounts.principal_for_user(
                    session,
                    uuid.UUID(claims_local.subject),
                    _org_header(request) or claims_local.org_id,
                )
        else:
            raise Unauthenticated(
                "credentials are missing: send a Bearer token or an X-API-Key header"
            )
    return admit(request, principal)


def admit(request: Request, principal: Principal) -> Principal:
    """Count the request against its organisation's rate limit and record the caller."""
    settings = getattr(request.app.state, "settings", None) or get_settings()
    limiter = request.app.state.limiter
    decision = limiter.check("org", str(principal.org_id), settings.rate_limit_org_per_min)
    if not decision.allowed:
        raise RateLimited(
            "this organisation has made too many requests; slow down",
            retry_after=decision.reset_s,
        )
    request.state.principal = principal
    return principal


def _claim_str(value: Any) -> str | None:
    if isinstance(value, list) and value:
        value = value[0]
    return str(value) if value else None


def require(permission: Permission) -> Callable[..., Awaitable[Principal]]:
    async def dependency(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        # async: a check in memory needs no trip to the thread pool
        check(principal.role, permission)
        return principal

    return dependency


def _session_for(principal: Principal, request: Request) -> Iterator[Session]:
    """The request's unit of work: committed when the route returns, rolled back on error."""
    with tenant_session(principal.org_id) as session:
        attach(session, principal, request.scope.get("state", {}).get("request_id"))
        yield session


def session_for(permission: Permission) -> Callable[..., Session]:
    """A dependency giving the route a unit of work for a caller with ``permission``.

    The unit of work is a yield dependency of scope ``"function"``: FastAPI closes it (and
    so commits) when the route function returns, *before* the response is sent. With the
    default scope ``"request"`` the commit ran after the client already had its 200, so a
    revoked API key still worked, or a read just after a write saw the old row. The
    outer dependency is a plain function so that routes may write ``Depends(session_for(p))``
    without naming the scope themselves.
    """

    # a default (not Annotated) because the annotation is evaluated in module scope,
    # where ``permission`` is unknown
    def unit_of_work(
        request: Request, principal: Principal = Depends(require(permission))
    ) -> Iterator[Session]:
        yield from _session_for(principal, request)

    def dependency(session: Session = Depends(unit_of_work, scope="function")) -> Session:
        return session

    return dependency


reader_session = session_for(Permission.DATA_READ)
writer_session = session_for(Permission.DATA_WRITE)

ReadSession = Annotated[Session, Depends(reader_session)]
WriteSession = Annotated[Session, Depends(writer_session)]
#: A unit of work for a caller who may change organisation-wide settings (owner, admin).
SettingsSession = Annotated[Session, Depends(session_for(Permission.SETTINGS_MANAGE))]
CurrentPrincipal = Annotated[Principal, Depends(authenticate)]
