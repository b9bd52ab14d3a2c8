"""The pipeline's API bodies."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from reos.kernel.schemas import InputModel


class StageReport(BaseModel):
    stage: str
    chunks: int
    chunks_done: int
    processed: int = Field(description="properties the stage handled")
    skipped: int = Field(description="properties it refused for a reason in the data")
    failed: int = Field(description="properties it broke on (left out of later stages)")
    seconds: float = Field(description="seconds spent, summed over chunks and workers")
    errors: list[str] = Field(description="errors of a whole-organisation stage")
    reasons: dict[str, int] = Field(description="'outcome: reason' and how many properties")
    failed_properties: list[dict[str, str]]
    result: dict[str, Any]


class RunOut(BaseModel):
    id: uuid.UUID
    status: str = Field(description="running, done, or nothing_new")
    trigger: str
    since: datetime | None
    properties_total: int
    watermarks: dict[str, Any]
    scheduled_for: date | None
    started_at: datetime | None
    finished_at: datetime | None
    top_deals: list[dict[str, Any]]


class RunDetail(RunOut):
    stages: list[StageReport]


class RunPage(BaseModel):
    items: list[RunOut]
    total: int
    limit: int
    offset: int


class RunRequest(InputModel):
    since: date | None = Field(
        default=None, description="take what changed since this day instead of the last run"
    )
    workers: int = Field(default=1, ge=1, le=32, description="job workers that share the run")


class QueuedRun(BaseModel):
    job_id: uuid.UUID
    status: str
