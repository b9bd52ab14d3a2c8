"""Who is acting: the identity an entry point hands to services via the session."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

ACTOR_KEY = "actor"
REQUEST_ID_KEY = "request_id"


@dataclass(frozen=True)
class Principal:
    kind: str  # user | api_key | oidc | cli
    org_id: uuid.UUID
    role: str
    user_id: uuid.UUID | None = None
    api_key_id: uuid.UUID | None = None
    subject: str | None = None  # email, key name or OIDC subject, for logs and audit

    @property
    def actor_id(self) -> str | None:
        if self.api_key_id:
            return str(self.api_key_id)
        if self.user_id:
            return str(self.user_id)
        return self.subject


def attach(session: Session, principal: Principal, request_id: str | None = None) -> None:
    session.info[ACTOR_KEY] = principal
    session.info[REQUEST_ID_KEY] = request_id


def actor_of(session: Session) -> Principal | None:
    value = session.info.get(ACTOR_KEY)
    return value if isinstance(value, Principal) else None
