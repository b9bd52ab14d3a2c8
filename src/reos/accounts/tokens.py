"""Access and refresh tokens (HS256 JWT signed with the installation's secret) and OIDC.

Access tokens live ``access_token_minutes`` (30 by default); refresh tokens
``refresh_token_days``, and each works once: the server records its ``jti`` and the sign-in
family it belongs to (see ``accounts.service.spend_refresh_token``). OIDC tokens (RS256) are checked against the configured JWKS URL,
issuer and audience; claims name the organisation and roles.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import jwt

from reos.config import Settings
from reos.errors import Unauthenticated

ISSUER = "reos"


@dataclass(frozen=True)
class TokenClaims:
    subject: str
    token_type: str
    org_id: str | None
    raw: dict[str, Any]

    @property
    def jti(self) -> str:
        return str(self.raw.get("jti") or "")


@dataclass(frozen=True)
class IssuedRefresh:
    """A refresh token and what the server records about it (see ``RefreshToken``)."""

    token: str
    jti: str
    family_id: uuid.UUID
    expires_at: datetime


def issue(
    settings: Settings,
    user_id: uuid.UUID,
    org_id: uuid.UUID | None,
    token_type: str,
    *,
    jti: str | None = None,
    now: datetime | None = None,
) -> str:
    now = now or datetime.now(UTC)
    ttl = (
        timedelta(minutes=settings.access_token_minutes)
        if token_type == "access"
        else timedelta(days=settings.refresh_token_days)
    )
    claims = {
        "iss": ISSUER,
        "sub": str(user_id),
        "typ": token_type,
        "org": str(org_id) if org_id else None,
        "iat": now,
        "exp": now + ttl,
        "jti": jti or uuid.uuid4().hex,
    }
    return jwt.encode(claims, settings.signing_secret(), algorithm="HS256")


def issue_refresh(
    settings: Settings,
    user_id: uuid.UUID,
    org_id: uuid.UUID | None,
    family_id: uuid.UUID | None = None,
) -> IssuedRefresh:
    """A refresh token in ``family_id`` (a new family for a fresh sign-in). The server must
    record it (``accounts.service.record_refresh_token``): only recorded tokens are spent."""
    now = datetime.now(UTC)
    jti = uuid.uuid4().hex
    token = issue(settings, user_id, org_id, "refresh", jti=jti, now=now)
    return IssuedRefresh(
        token, jti, family_id or uuid.uuid4(), now + timedelta(days=settings.refresh_token_days)
    )


def verify_local(settings: Settings, token: str, token_type: str) -> TokenClaims:
    try:
        claims = jwt.decode(
            token,
            settings.signing_secret(),
            algorithms=["HS256"],
            issuer=ISSUER,
            options={"require": ["exp", "sub", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the token has expired; refresh it or log in again") from None
    except jwt.PyJWTError as exc:
        raise Unauthenticated(f"the token is not valid ({exc})") from None
    if claims.get("typ") != token_type:
        raise Unauthenticated(f"expected a {token_type} token")
    return TokenClaims(str(claims["sub"]), token_type, claims.get("org"), claims)


@lru_cache(maxsize=4)
def _jwks_client(url: str) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=300)


def token_algorithm(token: str) -> str:
    try:
        return str(jwt.get_unverified_header(token).get("alg", ""))
    except jwt.PyJWTError:
        raise Unauthenticated("the token is malformed") from None


def verify_oidc(settings: Settings, token: str) -> dict[str, Any]:
    if not settings.oidc_jwks_url:
        raise Unauthenticated("OIDC tokens are not accepted here (no REOS_OIDC_JWKS_URL)")
    try:
        key = _jwks_client(settings.oidc_jwks_url).get_signing_key_from_jwt(token)
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            issuer=settings.oidc_issuer,
            audience=settings.oidc_audience,
            options={"require": ["exp", "sub"], "verify_aud": settings.oidc_audience is not None},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the token has expired") from None
    except (jwt.PyJWTError, jwt.PyJWKClientError) as exc:
        raise Unauthenticated(f"the token is not valid ({exc})") from None
    return claims
