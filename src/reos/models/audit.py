"""The audit log: one row for every write, by whom, on what, and what changed."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from reos.db.base import Base, IdMixin, TenantScoped, UTCDateTime, utcnow


class AuditEntry(IdMixin, TenantScoped, Base):
    __tablename__ = "audit_log"
    actor_type: Mapped[str] = mapped_column(String(20))  # user | api_key | cli | system
    actor_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(50))
    entity_type: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    request_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
