"""The audit log service: services call :func:`record` for every write they make."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from reos.kernel.principal import REQUEST_ID_KEY, actor_of
from reos.models import AuditEntry


def _jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID | datetime):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    return str(value)


def record(
    session: Session,
    action: str,
    entity_type: str,
    entity_id: uuid.UUID | None,
    changes: dict[str, Any] | None = None,
) -> AuditEntry:
    actor = actor_of(session)
    entry = AuditEntry(
        actor_type=actor.kind if actor else "system",
        actor_id=actor.actor_id if actor else None,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        changes={
            k: _jsonable(v)
            if not isinstance(v, dict)
            else {kk: _jsonable(vv) for kk, vv in v.items()}
            for k, v in (changes or {}).items()
        },
        request_id=session.info.get(REQUEST_ID_KEY),
    )
    session.add(entry)
    return entry


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The fields that changed, as {field: {"from": old, "to": new}}."""
    return {
        k: {"from": _jsonable(before.get(k)), "to": _jsonable(v)}
        for k, v in after.items()
        if before.get(k) != v
    }


def list_entries(
    session: Session,
    *,
    limit: int = 100,
    offset: int = 0,
    entity_type: str | None = None,
) -> Sequence[AuditEntry]:
    stmt = select(AuditEntry).order_by(AuditEntry.created_at.desc(), AuditEntry.id)
    if entity_type:
        stmt = stmt.where(AuditEntry.entity_type == entity_type)
    return session.scalars(stmt.limit(limit).offset(offset)).all()
