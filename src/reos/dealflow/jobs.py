"""Deal flow's scheduled job: ``dealflow.derived_lists`` (daily, see the front door).

Derived lists (absentee, out-of-state, long ownership, equity, corporate portfolios) are
saved queries over the store; this job rebuilds them every day so they stay true even when
no pipeline run happens (a pipeline run also rebuilds them, in its ``lists`` stage). The
rebuild is idempotent: members added or dropped, a member keeps the day it joined."""

from __future__ import annotations

import uuid
from typing import Any

from reos.jobs.registry import Checkpoint, register

JOB_KIND = "dealflow.derived_lists"
EVERY_SECONDS = 24 * 60 * 60


@register(JOB_KIND)
def derived_lists(org_id: uuid.UUID, payload: dict[str, Any], checkpoint: Checkpoint) -> None:
    from reos.db.session import tenant_session
    from reos.dealflow import service
    from reos.kernel.principal import Principal, attach

    with tenant_session(org_id) as session:
        attach(session, Principal(kind="job", org_id=org_id, role="service", subject=JOB_KIND))
        service.refresh_derived_lists(session)
