"""Valuation's background job: training a model (``POST /api/v1/avm/models`` queues it)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from reos.jobs.registry import Checkpoint, register


@register("avm_train")
def train(org_id: uuid.UUID, payload: dict[str, Any], checkpoint: Checkpoint) -> None:
    """Train the model whose id the request handed out. Re-running after the model was
    committed (the worker died before marking the job done) changes nothing; past the
    time limit the training is rolled back instead of committed."""
    from reos.db.session import tenant_session
    from reos.valuation import service

    model_id = uuid.UUID(str(payload["model_id"]))
    cutoff = date.fromisoformat(payload["cutoff"]) if payload.get("cutoff") else None
    with tenant_session(org_id) as session:
        if service.find_model(session, model_id) is not None:
            return
        service.train_model(session, cutoff, model_id=model_id, before_commit=checkpoint)
