"""Accounts: organisations, users, memberships and API keys.

Identity functions (``authenticate``, ``principal_for_*``, ``create_organization``) run in a
system session: they find who is calling before any organisation is known. Everything
else runs in a tenant session and sees only the current organisation's members and keys.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.orm import Session

from reos.accounts import audit, keycache
from reos.accounts.credentials import hash_api_key, hash_password, new_api_key, verify_password
from reos.accounts.roles import Role, parse_role
from reos.accounts.schemas import EMAIL_PATTERN, NAME_PATTERN
from reos.db import tenancy
from reos.db.tenancy import current_org
from reos.errors import Conflict, Forbidden, NotFound, Unauthenticated, ValidationFailed
from reos.kernel.principal import REQUEST_ID_KEY, Principal, actor_of
from reos.models import ApiKey, AuditEntry, Membership, Organization, RefreshToken, User

#: The audit log is accounts' table; every domain records its writes through these.
record_audit = audit.record
audit_diff = audit.diff

EMAIL_RE = re.compile(EMAIL_PATTERN)
VISIBLE_RE = re.compile(NAME_PATTERN)
MIN_PASSWORD_LENGTH = 8
LAST_USED_RESOLUTION = timedelta(minutes=1)


@cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so both cases cost one argon2 hash."""
    return hash_password(secrets.token_urlsafe(16))


def _slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:100] or "org"


def normalize_email(email: str) -> str:
    """The email as stored (trimmed, lower case), or ValidationFailed on ``email``."""
    email = email.strip().lower()
    if not EMAIL_RE.match(email):
        raise ValidationFailed(f"{email!r} is not an email address", field="email")
    return email


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"the password must have at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )


# ---------------------------------------------------------------- identity (system session)


def create_organization(session: Session, name: str, slug: str | None = None) -> Organization:
    name = name.strip()
    if not VISIBLE_RE.search(name):
        raise ValidationFailed("the organisation needs a name", field="name")
    slug = _slugify(slug or name)
    if session.scalar(select(Organization).where(Organization.slug == slug)):
        raise Conflict(f"an organisation with the slug {slug!r} exists already", field="slug")
    org = Organization(name=name, slug=slug)
    session.add(org)
    session.flush()
    actor = actor_of(session)
    session.add(
        AuditEntry(
            org_id=org.id,
            actor_type=actor.kind if actor else "cli",
            actor_id=actor.actor_id if actor else None,
            action="create",
            entity_type="organization",
            entity_id=org.id,
            changes={"name": name, "slug": slug},
        )
    )
    return org


def resolve_org(session: Session, ref: str) -> Organization:
    """An organisation by id or slug (as users type it on the command line or in a header)."""
    ref = ref.strip()
    org = None
    try:
        org = session.get(Organization, uuid.UUID(ref))
    except ValueError:
        org = session.scalar(select(Organization).where(Organization.slug == ref.lower()))
    if org is None:
        raise NotFound(f"no organisation {ref!r}", field="org")
    return org


def list_organizations(session: Session) -> Sequence[Organization]:
    return session.scalars(select(Organization).order_by(Organization.created_at)).all()


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def get_or_create_user(
    session: Session, email: str, password: str | None, full_name: str | None = None
) -> User:
    """The user with this email, created (with ``password`` and ``full_name``) when new.

    An existing user is returned untouched: their password and name are theirs alone (see
    :func:`add_member`), so ``password`` and ``full_name`` only ever apply to a new account.
    """
    email = normalize_email(email)
    user = find_user(session, email)
    if user is None:
        if password is not None:
            _check_password(password)
        user = User(
            email=email,
            password_hash=hash_password(password) if password else None,
            full_name=full_name,
        )
        session.add(user)
        session.flush()
    return user


def check_password(session: Session, email: str, password: str) -> User | None:
    """The active user with this email and password, else None.

    An unknown email costs the same password hash as a known one, so the answer's timing
    does not tell whether the account exists. Callers count the attempt with
    :mod:`reos.accounts.throttle` first.
    """
    user = find_user(session, email)
    if user is None or user.password_hash is None:
        verify_password(_dummy_hash(), password)
        return None
    if not verify_password(user.password_hash, password) or not user.is_active:
        return None
    return user


def memberships_of(session: Session, user_id: uuid.UUID) -> list[tuple[Organization, str]]:
    rows = session.execute(
        select(Organization, Membership.role)
        .join(Membership, Membership.org_id == Organization.id)
        .where(Membership.user_id == user_id)
        .order_by(Organization.created_at)
    ).all()
    return [(org, role) for org, role in rows]


def principal_for_user(session: Session, user_id: uuid.UUID, org_ref: str | None) -> Principal:
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise Unauthenticated("the user no longer exists or is disabled")
    memberships = memberships_of(session, user.id)
    if not memberships:
        raise Forbidden("this user belongs to no organisation")
    chosen: tuple[Organization, str] | None = None
    if org_ref:
        for org, role in memberships:
            if str(org.id) == org_ref or org.slug == org_ref.lower():
                chosen = (org, role)
        if chosen is None:
            raise Forbidden(f"this user is not a member of organisation {org_ref!r}")
    else:
        by_id = {org.id: (org, role) for org, role in memberships}
        chosen = by_id.get(user.default_org_id) if user.default_org_id else None
        chosen = chosen or memberships[0]
    org, role = chosen
    return Principal(kind="user", org_id=org.id, role=role, user_id=user.id, subject=user.email)


def principal_for_api_key(session: Session, key: str) -> Principal:
    api_key = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_api_key(key.strip())))
    if api_key is None or api_key.revoked_at is not None:
        raise Unauthenticated("the API key is not valid or has been revoked")
    now = datetime.now(UTC)
    last = api_key.last_used_at
    if last is None or (last.replace(tzinfo=last.tzinfo or UTC) < now - LAST_USED_RESOLUTION):
        api_key.last_used_at = now
    return Principal(
        kind="api_key",
        org_id=api_key.org_id,
        role=api_key.role,
        api_key_id=api_key.id,
        subject=api_key.name,
    )


def principal_for_oidc(
    session: Session, org_ref: str, roles: Sequence[str], subject: str
) -> Principal:
    org = resolve_org(session, org_ref)
    ranked = [r for r in (Role.OWNER, Role.ADMIN, Role.ANALYST, Role.SERVICE) if r.value in roles]
    if not ranked:
        raise Forbidden("the token carries no Real Estate OS role")
    return Principal(kind="oidc", org_id=org.id, role=ranked[0].value, subject=subject)


# ---------------------------------------------------------------- members (tenant session)


def list_members(session: Session) -> list[tuple[Membership, User]]:
    rows = session.execute(
        select(Membership, User).join(User, User.id == Membership.user_id).order_by(User.email)
    ).all()
    return [(m, u) for m, u in rows]


def _guard_owner_grant(session: Session, role: Role) -> None:
    actor = actor_of(session)
    if (
        role == Role.OWNER
        and actor is not None
        and actor.kind != "cli"
        and actor.role != Role.OWNER
    ):
        raise Forbidden("only an owner may grant the owner role")


def add_member(
    session: Session,
    email: str,
    role: str,
    password: str | None = None,
    full_name: str | None = None,
) -> tuple[Membership, User]:
    """Add a user to this organisation with a role; a new user is created with ``password``.

    An organisation's admins manage who is in *their* organisation, never another person's
    credentials: a user may belong to several organisations, so letting an admin of one set
    the password of an existing user would let them sign in as that user everywhere. An
    existing user is therefore added as they are, and a ``password`` given for one is
    refused (Conflict on ``password``) rather than silently dropped, so the caller learns
    the person signs in with their own password. Only the user changes it
    (:func:`change_password`), or an operator at the console (:func:`reset_password`).
    """
    parsed = parse_role(role)
    _guard_owner_grant(session, parsed)
    if password is not None and find_user(session, normalize_email(email)) is not None:
        raise Conflict(
            f"{email.strip().lower()} already has an account and keeps their own password; "
            "add them without a password",
            field="password",
        )
    user = get_or_create_user(session, email, password, full_name)
    existing = session.scalar(select(Membership).where(Membership.user_id == user.id))
    if existing is not None:
        raise Conflict(f"{user.email} is already a member of this organisation", field="email")
    membership = Membership(user_id=user.id, role=parsed.value)
    session.add(membership)
    if user.default_org_id is None:
        user.default_org_id = current_org(session)
    session.flush()
    audit.record(
        session, "create", "membership", membership.id, {"email": user.email, "role": parsed.value}
    )
    return membership, user


def get_member(session: Session, membership_id: uuid.UUID) -> tuple[Membership, User]:
    membership = tenancy.get(session, Membership, membership_id)
    if membership is None:
        raise NotFound("no such member in this organisation")
    user = session.get(User, membership.user_id)
    assert user is not None
    return membership, user


def _owners_left(session: Session, excluding: uuid.UUID) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.role == Role.OWNER.value, Membership.id != excluding)
        )
        or 0
    )


def change_role(session: Session, membership_id: uuid.UUID, role: str) -> tuple[Membership, User]:
    parsed = parse_role(role)
    membership, user = get_member(session, membership_id)
    _guard_owner_grant(session, parsed)
    if membership.role == Role.OWNER and parsed != Role.OWNER:
        _guard_owner_grant(session, Role.OWNER)
        if _owners_left(session, membership.id) == 0:
            raise Conflict("an organisation must keep at least one owner")
    before = membership.role
    membership.role = parsed.value
    session.flush()
    audit.record(
        session,
        "update",
        "membership",
        membership.id,
        {"role": {"from": before, "to": parsed.value}},
    )
    return membership, user


def remove_member(session: Session, membership_id: uuid.UUID) -> None:
    membership, user = get_member(session, membership_id)
    if membership.role == Role.OWNER:
        _guard_owner_grant(session, Role.OWNER)
        if _owners_left(session, membership.id) == 0:
            raise Conflict("an organisation must keep at least one owner")
    session.delete(membership)
    session.flush()
    audit.record(session, "delete", "membership", membership.id, {"email": user.email})


# ---------------------------------------------------------------- API keys (tenant session)


def create_api_key(session: Session, name: str, role: str) -> tuple[ApiKey, str]:
    name = name.strip()
    if not VISIBLE_RE.search(name):
        raise ValidationFailed("the API key needs a name", field="name")
    parsed = parse_role(role)
    _guard_owner_grant(session, parsed)
    plaintext = new_api_key()
    actor = actor_of(session)
    key = ApiKey(
        name=name,
        prefix=plaintext[:12],
        key_hash=hash_api_key(plaintext),
        role=parsed.value,
        created_by=actor.user_id if actor else None,
    )
    session.add(key)
    session.flush()
    audit.record(session, "create", "api_key", key.id, {"name": name, "role": parsed.value})
    return key, plaintext


def list_api_keys(session: Session) -> Sequence[ApiKey]:
    return session.scalars(select(ApiKey).order_by(ApiKey.created_at)).all()


def revoke_api_key(session: Session, key_id: uuid.UUID) -> ApiKey:
    key = session.scalar(select(ApiKey).where(ApiKey.id == key_id))
    if key is None:
        raise NotFound("no such API key in this organisation")
    if key.revoked_at is None:
        key.revoked_at = datetime.now(UTC)
        session.flush()
        keycache.revocation_pending(session)
        audit.record(session, "revoke", "api_key", key.id, {"name": key.name})
    return key


def current_organization(session: Session) -> Organization:
    org = session.get(Organization, current_org(session))
    if org is None:
        raise NotFound("the organisation no longer exists")
    return org


def rename_organization(session: Session, name: str) -> Organization:
    org = current_organization(session)
    name = name.strip()
    if not VISIBLE_RE.search(name):
        raise ValidationFailed("the organisation needs a name", field="name")
    before = org.name
    org.name = name
    session.flush()
    audit.record(session, "update", "organization", org.id, {"name": {"from": before, "to": name}})
    return org


# ---------------------------------------------------------------- credentials (system session)
#
# A user is global (one person, several organisations), so these run in a system session
# and write one audit row into each organisation the user belongs to: every organisation
# the person can act in sees what happened to the account.


def _audit_user_event(
    session: Session,
    user: User,
    action: str,
    changes: dict[str, Any],
    *,
    actor_type: str | None = None,
    actor_id: str | None = None,
) -> None:
    actor = actor_of(session)
    for org, _ in memberships_of(session, user.id):
        session.add(
            AuditEntry(
                org_id=org.id,
                actor_type=actor_type or (actor.kind if actor else "system"),
                actor_id=actor_id if actor_type else (actor.actor_id if actor else None),
                action=action,
                entity_type="user",
                entity_id=user.id,
                changes=changes,
                request_id=session.info.get(REQUEST_ID_KEY),
            )
        )


def _set_password(session: Session, user: User, new_password: str, field: str) -> None:
    if len(new_password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"the password must have at least {MIN_PASSWORD_LENGTH} characters", field=field
        )
    user.password_hash = hash_password(new_password)
    revoke_refresh_tokens_of(session, user.id)
    session.flush()


def change_password(session: Session, user: User, new_password: str) -> None:
    """The signed-in user sets a new password (the caller has checked the current one).

    Every refresh token of the user is revoked, so a stolen one dies with the old
    password; access tokens already issued run out on their own (``access_token_minutes``).
    """
    _set_password(session, user, new_password, "new_password")
    _audit_user_event(session, user, "password_change", {"email": user.email})


def reset_password(session: Session, email: str, new_password: str, operator: str) -> User:
    """An operator at the server's console sets a user's password (``reos users
    reset-password``): the recovery path when a user has lost theirs. Never reachable over
    HTTP; audited as the console user in every organisation of the user."""
    email = normalize_email(email)
    user = find_user(session, email)
    if user is None:
        raise NotFound(f"no user {email}", field="email")
    _set_password(session, user, new_password, "password")
    _audit_user_event(
        session, user, "password_reset", {"email": email}, actor_type="cli", actor_id=operator
    )
    return user


def record_lockout(session: Session, email: str, seconds: int, failures: int) -> None:
    """Audit a sign-in lockout of an existing account (an unknown email has no organisation
    to tell, and storing it would keep whatever a guesser typed)."""
    user = find_user(session, email)
    if user is not None:
        _audit_user_event(
            session,
            user,
            "lockout",
            {"email": user.email, "seconds": seconds, "failures": failures},
            actor_type="system",
        )


# ---------------------------------------------------------------- refresh tokens (system session)


def _execute(session: Session, statement: Any) -> CursorResult[Any]:
    """Run a bulk UPDATE and return its cursor (for the number of rows it changed)."""
    result = session.execute(statement)
    assert isinstance(result, CursorResult)
    return result


def record_refresh_token(
    session: Session,
    user_id: uuid.UUID,
    jti: str,
    family_id: uuid.UUID,
    expires_at: datetime,
) -> None:
    """Remember an issued refresh token so it can be spent once; drops the user's expired."""
    now = datetime.now(UTC)
    session.execute(
        delete(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.expires_at < now)
        .execution_options(synchronize_session=False)
    )
    session.add(
        RefreshToken(
            jti=jti, family_id=family_id, user_id=user_id, issued_at=now, expires_at=expires_at
        )
    )
    session.flush()


def spend_refresh_token(session: Session, jti: str, user_id: uuid.UUID) -> RefreshToken | str:
    """Spend a refresh token: the token row when it was live, else why not (a message).

    Spending is one conditional UPDATE, so two requests racing with the same token cannot
    both win. A token spent or revoked before is a replay: whoever holds a copy is not
    the rightful client, or the rightful client is holding a stale copy; either way the
    whole family (every token of that sign-in) is revoked and the replay audited. The
    caller commits before answering 401, so the revocation sticks.
    """
    now = datetime.now(UTC)
    spent = _execute(
        session,
        update(RefreshToken)
        .where(
            RefreshToken.jti == jti,
            RefreshToken.user_id == user_id,
            RefreshToken.used_at.is_(None),
            RefreshToken.revoked_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False),
    )
    token = session.get(RefreshToken, jti)
    if token is None or token.user_id != user_id:
        return "the refresh token is not known; sign in again"
    if spent.rowcount == 1:
        return token
    revoked = _execute(
        session,
        update(RefreshToken)
        .where(RefreshToken.family_id == token.family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False),
    )
    user = session.get(User, user_id)
    if user is not None and revoked.rowcount:
        _audit_user_event(
            session,
            user,
            "refresh_token_reuse",
            {"family_id": str(token.family_id), "revoked": revoked.rowcount},
            actor_type="system",
        )
    if token.used_at is not None and token.revoked_at is None:
        return "the refresh token has already been used; every token of that sign-in is revoked"
    return "the refresh token has already been used or revoked; sign in again"


def revoke_refresh_tokens_of(session: Session, user_id: uuid.UUID) -> int:
    result = _execute(
        session,
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
        .execution_options(synchronize_session=False),
    )
    return int(result.rowcount)
