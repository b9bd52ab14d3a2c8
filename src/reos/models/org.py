"""Organisations, users, memberships and API keys: who may act, for which organisation."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from reos.db.base import Base, IdMixin, TenantScoped, TimestampMixin, UTCDateTime


class Organization(IdMixin, TimestampMixin, Base):
    """A tenant. Global table: it is the scope itself, not scoped by one."""

    __tablename__ = "organizations"
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(100), unique=True)


class User(IdMixin, TimestampMixin, Base):
    """A person who logs in. Global: one person may belong to several organisations."""

    __tablename__ = "users"
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    full_name: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    default_org_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("organizations.id", ondelete="SET NULL")
    )


class Membership(IdMixin, TenantScoped, TimestampMixin, Base):
    """A user's role in one organisation (owner, admin, analyst, service)."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("org_id", "user_id"),)
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(20))


class ApiKey(IdMixin, TenantScoped, TimestampMixin, Base):
    """A machine credential bound to one organisation and one role.

    Only a SHA-256 hash of the key is stored (keys are 256-bit random, so a fast hash is
    enough; there is nothing to brute-force); the key itself is shown once at creation.
    """

    __tablename__ = "api_keys"
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL")
    )
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RefreshToken(Base):
    """One refresh token issued to a user, so each can be spent once.

    Every token descends from one sign-in: a refresh spends the presented token and issues
    a successor in the same ``family_id``. A spent token presented again means a copy is in
    someone else's hands, so the whole family is revoked (RFC 9700, section 4.14.2).
    Global like ``users``: a sign-in precedes any organisation.
    """

    __tablename__ = "refresh_tokens"
    jti: Mapped[str] = mapped_column(String(32), primary_key=True)
    family_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginThrottle(Base):
    """Failed sign-ins of one account, shared by every API process using this database.

    Keyed by a SHA-256 of the normalised email, whether or not such a user exists, so the
    throttle behaves the same for unknown emails and stores no address typed by a guesser.
    Used when no Redis is configured (see :mod:`reos.accounts.throttle`).
    """

    __tablename__ = "login_throttle"
    account_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lockouts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
