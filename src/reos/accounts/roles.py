"""Roles and what each may do. The matrix is the single source of truth, also in the README.

| permission     | owner | admin | analyst | service |
|----------------|-------|-------|---------|---------|
| data:read      |  yes  |  yes  |   yes   |   yes   |
| data:write     |  yes  |  yes  |   yes   |   yes   |
| members:manage |  yes  |  yes  |   no    |   no    |
| keys:manage    |  yes  |  yes  |   no    |   no    |
| audit:read     |  yes  |  yes  |   no    |   no    |
| settings:manage|  yes  |  yes  |   no    |   no    |
| org:manage     |  yes  |  no   |   no    |   no    |

Only an owner may grant or remove the owner role (an admin cannot promote itself).
"""

from __future__ import annotations

from enum import StrEnum

from reos.errors import Forbidden, ValidationFailed


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    ANALYST = "analyst"
    SERVICE = "service"


class Permission(StrEnum):
    DATA_READ = "data:read"
    DATA_WRITE = "data:write"
    MEMBERS_MANAGE = "members:manage"
    KEYS_MANAGE = "keys:manage"
    AUDIT_READ = "audit:read"
    SETTINGS_MANAGE = "settings:manage"  # organisation-wide settings (underwriting defaults)
    ORG_MANAGE = "org:manage"


MATRIX: dict[Role, frozenset[Permission]] = {
    Role.OWNER: frozenset(Permission),
    Role.ADMIN: frozenset(Permission) - {Permission.ORG_MANAGE},
    Role.ANALYST: frozenset({Permission.DATA_READ, Permission.DATA_WRITE}),
    Role.SERVICE: frozenset({Permission.DATA_READ, Permission.DATA_WRITE}),
}


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise ValidationFailed(
            f"unknown role {value!r}; use one of: {allowed}", field="role"
        ) from None


def check(role: str, permission: Permission) -> None:
    if permission not in MATRIX.get(Role(role), frozenset()):
        raise Forbidden(f"the {role} role may not do this (needs {permission.value})")
