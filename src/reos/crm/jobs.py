"""The CRM's scheduled job: ``crm.deadlines`` (every 15 minutes, see the front door)."""

from __future__ import annotations

import uuid
from typing import Any

from reos.jobs.registry import Checkpoint, register


@register("crm.deadlines")
def deadlines(org_id: uuid.UUID, payload: dict[str, Any], checkpoint: Checkpoint) -> None:
    """Expire offers past their expiry and raise inspection-period tasks, as of now (a
    late run catches up: every deadline that passed is handled, once)."""
    from reos.crm import deadlines as crm_deadlines
    from reos.db.base import utcnow
    from reos.db.session import tenant_session
    from reos.kernel.principal import Principal, attach

    with tenant_session(org_id) as session:
        attach(
            session,
            Principal(kind="job", org_id=org_id, role="service", subject=crm_deadlines.JOB_KIND),
        )
        crm_deadlines.run_deadlines(session, utcnow())
