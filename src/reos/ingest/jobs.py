"""The import's background job: an upload through the API queues one (kind ``import``)."""

from __future__ import annotations

import uuid
from typing import Any

from reos.jobs.registry import Checkpoint, register


@register("import")
def run_import(org_id: uuid.UUID, payload: dict[str, Any], checkpoint: Checkpoint) -> None:
    """Run the import named in the payload; ``checkpoint`` after every chunk stops it once
    the job is past its time limit (the chunks before stay committed)."""
    from reos.ingest.service import run_import_job

    run_import_job(org_id, payload, checkpoint)
