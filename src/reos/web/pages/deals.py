"""The deals page (placeholder until the deal desk lands)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from reos.web.context import Page
from reos.web.render import render

router = APIRouter(include_in_schema=False)


@router.get("/deals")
def deals(request: Request, page: Page) -> Response:
    return render(request, "deals/index.html", {})
