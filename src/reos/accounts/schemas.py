"""Request and response bodies of the accounts API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from reos.accounts.roles import Role
from reos.kernel.schemas import InputModel

# Character classes written so that JSON Schema's (ECMA-262), pydantic's (Rust) and Python's
# regex engines agree on them: whitespace, C0/C1 controls and the BOM are spelled out.
_INVISIBLE = r"\s\u0000-\u001f\u007f-\u009f\ufeff"
EMAIL_PATTERN = rf"^[^@{_INVISIBLE}]+@[^@{_INVISIBLE}]+\.[^@{_INVISIBLE}]+$"
"""An e-mail address as the API takes it: local@domain.tld, nothing invisible in it."""
NAME_PATTERN = rf"[^{_INVISIBLE}]"
"""A name (of an organisation, an API key): at least one visible character somewhere."""


class Strict(InputModel):
    """Request bodies of the accounts API: the kernel's input rules (unknown fields and NUL
    characters refused, as published; no lax JSON coercion), readable from ORM rows."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)


class TokenOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="seconds until the access token expires")


class RefreshIn(Strict):
    refresh_token: str = Field(min_length=10, max_length=4096)


class PasswordChange(Strict):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=8, max_length=1024)


class OrgOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    slug: str


class OrgCreate(Strict):
    name: str = Field(min_length=1, max_length=200, pattern=NAME_PATTERN)
    slug: str | None = Field(default=None, max_length=100, pattern=r"^[a-z0-9-]+$")


class OrgUpdate(Strict):
    name: str = Field(min_length=1, max_length=200, pattern=NAME_PATTERN)


class MembershipOut(BaseModel):
    org: OrgOut
    role: Role


class MeOut(BaseModel):
    kind: str
    user_id: uuid.UUID | None
    email: str | None
    current_org: uuid.UUID
    current_role: Role
    organizations: list[MembershipOut]


class MemberOut(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    email: str
    full_name: str | None
    role: Role
    created_at: datetime


class MemberCreate(Strict):
    email: str = Field(
        min_length=3,
        max_length=320,
        pattern=EMAIL_PATTERN,
        description="an e-mail address: something@domain.tld, no spaces or control characters",
    )
    role: Role
    password: str | None = Field(default=None, min_length=8, max_length=1024)
    full_name: str | None = Field(default=None, max_length=200)


class MemberUpdate(Strict):
    role: Role


class ApiKeyCreate(Strict):
    name: str = Field(
        min_length=1,
        max_length=200,
        pattern=NAME_PATTERN,
        description="at least one visible character",
    )
    role: Role = Role.SERVICE


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    prefix: str
    role: Role
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="the key itself; shown once, store it now")


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    actor_type: str
    actor_id: str | None
    action: str
    entity_type: str
    entity_id: uuid.UUID | None
    changes: dict[str, Any]
    request_id: str | None
    created_at: datetime
