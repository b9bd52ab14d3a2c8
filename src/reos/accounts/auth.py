"""Who is calling: the front the HTTP layer authenticates through.

``reos.http.deps`` reads credentials off a request and asks this module who they belong
to; everything about tokens, key hashes, the verified-key cache and the role matrix stays
inside accounts. The answer is a :class:`~reos.kernel.principal.Principal` (organisation,
role, who), or :class:`~reos.errors.Unauthenticated` / :class:`~reos.errors.Forbidden`.
"""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import Any, NoReturn

from sqlalchemy.orm import Session

from reos.accounts import service, tokens
from reos.accounts.credentials import hash_api_key
from reos.accounts.keycache import ApiKeyCache, generation_for
from reos.accounts.roles import Permission, check
from reos.accounts.throttle import LoginThrottle, Verdict, make_login_throttle
from reos.config import Settings
from reos.db.session import system_session
from reos.errors import RateLimited, ReosError, Unauthenticated
from reos.kernel.principal import Principal

__all__ = [
    "ApiKeyCache",
    "Permission",
    "api_key_cache",
    "check",
    "check_credentials",
    "key_hash",
    "principal_for_api_key",
    "principal_for_bearer",
]


def api_key_cache(settings: Settings) -> ApiKeyCache:
    """A process's memory of verified API keys (see :mod:`reos.accounts.keycache`),
    signalled by revocations through the store ``settings`` name (a file, or Redis)."""
    return ApiKeyCache(generation_for(settings), settings.api_key_cache_s)


@lru_cache(maxsize=4096)
def key_hash(api_key: str) -> str:
    """What the cache and the ``api_keys`` table know a key by (SHA-256, hex); the
    hashes of the keys calling lately are remembered (a hash is not a credential)."""
    return hash_api_key(api_key.strip())


def principal_for_api_key(session: Session, cache: ApiKeyCache, api_key: str) -> Principal:
    """The principal of an API key: remembered for a few seconds, else read (and
    ``last_used_at`` touched) in ``session``, the identity layer's unit of work."""
    return cache.principal(
        key_hash(api_key), lambda: service.principal_for_api_key(session, api_key)
    )


def principal_for_bearer(
    session: Session, settings: Settings, token: str, org_ref: str | None
) -> Principal:
    """The principal of a Bearer token: a local access token (HS256) or, when configured,
    an OIDC token (RS256, JWKS). ``org_ref`` (the ``X-Reos-Org`` header: id or slug)
    picks one of a user's organisations; without it the token's own organisation.
    Users are read on every request, so a disabled user or a removed membership is
    refused at once."""
    if tokens.token_algorithm(token) == "RS256":
        claims = tokens.verify_oidc(settings, token)
        org = org_ref or _claim_str(claims.get(settings.oidc_org_claim))
        if not org:
            raise Unauthenticated(f"the token has no {settings.oidc_org_claim!r} claim")
        roles = claims.get(settings.oidc_roles_claim) or []
        roles = [roles] if isinstance(roles, str) else list(roles)
        return service.principal_for_oidc(session, org, roles, str(claims["sub"]))
    local = tokens.verify_local(settings, token, "access")
    return service.principal_for_user(session, uuid.UUID(local.subject), org_ref or local.org_id)


def _claim_str(value: Any) -> str | None:
    if isinstance(value, list) and value:
        value = value[0]
    return str(value) if value else None


def _throttle(app_state: Any, settings: Settings) -> LoginThrottle:
    """The app's sign-in throttle, made on first use (its counters live in Redis or the
    database, so every process's throttle sees the same numbers)."""
    throttle: LoginThrottle | None = getattr(app_state, "login_throttle", None)
    if throttle is None:
        throttle = make_login_throttle(settings)
        app_state.login_throttle = throttle
    return throttle


def _refuse(throttle: LoginThrottle, email: str, verdict: Verdict) -> NoReturn:
    seconds = verdict.retry_after_s or 1
    if verdict.locked_now_s is not None:
        with system_session() as session:
            service.record_lockout(
                session, email, verdict.locked_now_s, throttle.policy.max_failures
            )
    raise RateLimited(
        f"too many failed sign-ins for this account; try again in {seconds} seconds",
        retry_after=seconds,
    )


def check_credentials(
    app_state: Any, settings: Settings, email: str, password: str, wrong: ReosError
) -> uuid.UUID:
    """The user id for this email and password, throttled per account (see
    :mod:`reos.accounts.throttle`); raises ``wrong`` for a wrong pair, RateLimited (429 with
    Retry-After) while the account is locked. Unknown emails go through the same steps.
    Shared by the API's token grant and the dashboard's sign-in form, so both count the
    same failures."""
    throttle = _throttle(app_state, settings)
    verdict = throttle.admit(email)
    if verdict.retry_after_s is not None:
        _refuse(throttle, email, verdict)
    with system_session() as session:
        user = service.check_password(session, email, password)
        user_id = user.id if user is not None else None
    if user_id is None:
        verdict = throttle.failed(email)
        if verdict.retry_after_s is not None:
            _refuse(throttle, email, verdict)
        raise wrong
    throttle.succeeded(email)
    return user_id
