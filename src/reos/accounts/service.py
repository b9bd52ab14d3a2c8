"""Accounts: organisations, users, memberships and API keys.

Identity functions (``authenticate``, ``principal_for_*``, ``create_organization``) run in a
system session: they find who is calling before any organisation is known. Everything
else runs in a tenant session and sees only the current organisation's members and keys.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reos.accounts import audit
from reos.accounts.credentials import hash_api_key, hash_password, new_api_key, verify_password
from reos.accounts.principal import Principal, actor_of
from reos.accounts.roles import Role, parse_role
from reos.db import tenancy
from reos.db.tenancy import current_org
from reos.errors import Conflict, Forbidden, NotFound, Unauthenticated, ValidationFailed
from reos.models import ApiKey, AuditEntry, Membership, Organization, User

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 8
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:100] or "org"


def _check_email(email: str) -> str:
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
    if not name:
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


def get_or_create_user(
    session: Session, email: str, password: str | None, full_name: str | None = None
) -> User:
    email = _check_email(email)
    user = session.scalar(select(User).where(User.email == email))
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
    elif password is not None:
        _check_password(password)
        user.password_hash = hash_password(password)
    return user


def authenticate(session: Session, email: str, password: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.is_active or not verify_password(user.password_hash, password):
        raise Unauthenticated("wrong email or password")
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
    parsed = parse_role(role)
    _guard_owner_grant(session, parsed)
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
    if not name:
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
    if not name:
        raise ValidationFailed("the organisation needs a name", field="name")
    before = org.name
    org.name = name
    session.flush()
    audit.record(session, "update", "organization", org.id, {"name": {"from": before, "to": name}})
    return org
