"""Deal flow routes: lists (read, import by upload), stacks, saved searches, scores and
score models."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["dealflow"])
