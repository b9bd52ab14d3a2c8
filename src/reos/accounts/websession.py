"""Browser sessions of the web dashboard: a signed cookie backed by a recorded row.

The cookie holds an HS256 token (``typ = "web"``: never accepted as an access or refresh
token) naming the user, the organisation chosen and a ``jti``. The ``jti`` is recorded
in ``refresh_tokens`` (a family of one), so signing out, or an administrator revoking
the user's tokens, ends the session on the server and a copied cookie stops working.
The user and the membership are read on every request (``service.principal_for_user``),
so a disabled user or a removed membership is refused at once.

The CSRF token of a session is ``HMAC-SHA256(secret, "csrf:" + jti)``: nothing to store,
different for every sign-in, and impossible to forge without the installation's secret.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from reos.accounts import service, tokens
from reos.config import Settings
from reos.errors import Unauthenticated
from reos.kernel.principal import Principal
from reos.models import Organization, RefreshToken, User

COOKIE = "reos_session"
TOKEN_TYPE = "web"


@dataclass(frozen=True)
class WebSession:
    """Who is signed in to the dashboard, in which organisation, with which CSRF token."""

    principal: Principal
    jti: str
    csrf: str
    email: str
    org_name: str
    org_slug: str
    organizations: tuple[tuple[str, str, str], ...]  # (slug, name, role) of every membership


def csrf_for(settings: Settings, jti: str) -> str:
    key = settings.signing_secret().encode()
    return hmac.new(key, f"csrf:{jti}".encode(), hashlib.sha256).hexdigest()[:40]


def start(
    session: Session, settings: Settings, user_id: uuid.UUID, org_ref: str | None
) -> tuple[str, int]:
    """A new session for a user who proved who they are: (cookie value, max age in s).
    ``org_ref`` (id or slug) picks the organisation; without it the user's default."""
    principal = service.principal_for_user(session, user_id, org_ref)
    jti = uuid.uuid4().hex
    now = datetime.now(UTC)
    lifetime = timedelta(days=settings.refresh_token_days)
    service.record_refresh_token(session, user_id, jti, uuid.uuid4(), now + lifetime)
    token = tokens.issue(settings, user_id, principal.org_id, TOKEN_TYPE, jti=jti, now=now)
    return token, int(lifetime.total_seconds())


def resume(session: Session, settings: Settings, cookie: str) -> WebSession:
    """The session a cookie names, or :class:`Unauthenticated` (expired, signed out,
    revoked, tampered with, user disabled or no longer a member)."""
    claims = tokens.verify_local(settings, cookie, TOKEN_TYPE)
    row = session.get(RefreshToken, claims.jti)
    user_id = uuid.UUID(claims.subject)
    if (
        row is None
        or row.user_id != user_id
        or row.revoked_at is not None
        or row.expires_at <= datetime.now(UTC)
    ):
        raise Unauthenticated("the session has ended; sign in again")
    principal = service.principal_for_user(session, user_id, claims.org_id)
    user = session.get(User, user_id)
    org = session.get(Organization, principal.org_id)
    assert user is not None and org is not None
    orgs = tuple((o.slug, o.name, role) for o, role in service.memberships_of(session, user_id))
    return WebSession(
        principal=principal,
        jti=claims.jti,
        csrf=csrf_for(settings, claims.jti),
        email=user.email,
        org_name=org.name,
        org_slug=org.slug,
        organizations=orgs,
    )


def end(session: Session, jti: str) -> None:
    """Sign out: the session's row is revoked, so its cookie no longer works anywhere."""
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.jti == jti, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
        .execution_options(synchronize_session=False)
    )


def live_sessions(session: Session, user_id: uuid.UUID) -> int:
    """How many unrevoked, unexpired session or refresh rows the user has (for tests and
    the members page)."""
    now = datetime.now(UTC)
    rows = session.scalars(
        select(RefreshToken.jti).where(
            RefreshToken.user_id == user_id,
            RefreshToken.revoked_at.is_(None),
            RefreshToken.used_at.is_(None),
            RefreshToken.expires_at > now,
        )
    ).all()
    return len(rows)
