"""The CRM board: deals as cards in the organisation's stage columns, moved by drag and
drop (``static/board.js``) or by each card's "Move to…" form (keyboard, no JavaScript),
with the tasks due today and overdue beside it.

A move goes through the same service call as ``PATCH /api/v1/deals/{id}``
(:func:`reos.crm.service.update_deal`): the same stage rules and the same version check.
The card carries the version it was drawn with (``data-version`` and a hidden field); the
script sends it as ``If-Match``, the form as ``version``. A stale version is refused with
a clear message and the deal stays where it was.

Each column shows the best-scored :data:`CARDS_PER_COLUMN` deals and a link to the rest
on the deals page, so the board reads a few dozen rows whatever the pipeline's size.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Header, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from reos.accounts.auth import Permission
from reos.crm import read_model as crm_read
from reos.crm import service as crm
from reos.db.base import utcnow
from reos.errors import PreconditionFailed, PreconditionRequired, ReosError
from reos.models import Deal
from reos.web.context import EditPage, Page, PageContext
from reos.web.render import render

router = APIRouter(include_in_schema=False)

#: Cards drawn per column; the rest are a link to the deals page filtered by stage.
CARDS_PER_COLUMN = 12
#: Tasks listed in each part of the side panel (due today, overdue).
TASKS_SHOWN = 15


@dataclass
class Column:
    stage: Any  # reos.crm.stages.Stage: name, terminal, outcome
    label: str
    total: int
    cards: list[Deal]

    @property
    def more(self) -> int:
        return max(self.total - len(self.cards), 0)


def stage_label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def needs_reason(stage: Any) -> bool:
    return bool(stage.terminal and stage.outcome == "lost")


def _columns(page: PageContext) -> list[Column]:
    stages = crm.stages_of(page.session)
    counts = crm_read.stage_counts(page.session)
    return [
        Column(
            stage=s,
            label=stage_label(s.name),
            total=counts.get(s.name, 0),
            cards=list(crm_read.top_of_stage(page.session, s.name, CARDS_PER_COLUMN)),
        )
        for s in stages
    ]


def _tasks(page: PageContext, today: date) -> dict[str, list[dict[str, Any]]]:
    due = {
        "today": crm.open_tasks(page.session, due="today", today=today, limit=TASKS_SHOWN),
        "overdue": crm.open_tasks(page.session, due="overdue", today=today, limit=TASKS_SHOWN),
    }
    deals = crm_read.deals_by_id(page.session, [t.deal_id for rows in due.values() for t in rows])
    return {
        key: [
            {"task": t, "deal": deals.get(t.deal_id), "days_late": (today - t.due_date).days
             if t.due_date else 0}
            for t in rows
        ]
        for key, rows in due.items()
    }  # fmt: skip


def _board(
    request: Request,
    page: PageContext,
    *,
    message: str | None = None,
    failed: bool = False,
    status_code: int = 200,
) -> Response:
    today = utcnow().date()
    columns = _columns(page)
    return render(
        request,
        "board/index.html",
        {
            "columns": columns,
            "stages": [c.stage for c in columns],
            "label": stage_label,
            "needs_reason": {c.stage.name for c in columns if needs_reason(c.stage)},
            "tasks": _tasks(page, today),
            "today": today,
            "message": message,
            "failed": failed,
            "can_edit": page.may(Permission.DATA_WRITE),
        },
        status_code=status_code,
    )


@router.get("/board")
def board(request: Request, page: Page, moved: str | None = None) -> Response:
    message = None
    if moved:
        names = {s.name for s in crm.stages_of(page.session)}
        if moved in names:
            message = f"Deal moved to {stage_label(moved)}."
    return _board(request, page, message=message)


def _version(if_match: str | None, version: str | None) -> int:
    """The version the card was drawn with: ``If-Match`` (the script) or the form's
    ``version`` field; neither is 428, as in the API."""
    sent = (if_match or version or "").strip().removeprefix("W/").strip('"')
    if not sent:
        raise PreconditionRequired(
            "the card's version is missing: reload the board and move the deal again",
            field="version",
        )
    if not sent.isdigit() or len(sent) > 12:
        raise PreconditionFailed(
            "the card's version is not a version of this deal: reload the board",
            field="version",
        )
    return int(sent)


def _explain(error: ReosError, deal_label: str) -> str:
    if isinstance(error, PreconditionFailed):
        return (
            f"{deal_label} was changed by someone else since the board was loaded, so it was "
            "not moved. The board now shows its current stage: check it and move it again."
        )
    return f"{deal_label} was not moved: {error.message}"


@router.post("/board/deals/{deal_id}/move")
def move_deal(
    request: Request,
    deal_id: uuid.UUID,
    page: EditPage,
    stage: Annotated[str, Form(max_length=40)],
    version: Annotated[str | None, Form(max_length=20)] = None,
    reason: Annotated[str | None, Form(max_length=500)] = None,
    if_match: Annotated[str | None, Header(max_length=100)] = None,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    """Move a deal: from the card's form (answers a redirect to the board, or the board
    with the refusal) or from the script's drop (``Accept: application/json``: the deal's
    new stage and version, or the refusal's message)."""
    wants_json = "application/json" in (accept or "")
    deal = crm.get_deal(page.session, deal_id)  # another organisation's deal: 404
    deal_label = deal.address or "The deal"
    try:
        expected = _version(if_match, version)
        changes: dict[str, Any] = {"stage": stage}
        if reason and reason.strip():
            changes["reason"] = reason.strip()
        moved = crm.update_deal(page.session, deal_id, changes, expected_version=expected)
    except ReosError as error:
        page.session.rollback()
        message = _explain(error, deal_label)
        if wants_json:
            current = crm.get_deal(page.session, deal_id)
            return JSONResponse(
                {"ok": False, "message": message, "stage": current.stage,
                 "version": current.version},
                status_code=error.status_code,
            )  # fmt: skip
        return _board(request, page, message=message, failed=True,
                      status_code=error.status_code)  # fmt: skip
    if wants_json:
        return JSONResponse(
            {"ok": True, "deal_id": str(moved.id), "stage": moved.stage, "version": moved.version,
             "message": f"{deal_label} moved to {stage_label(moved.stage)}."}
        )  # fmt: skip
    return RedirectResponse(f"/board?moved={moved.stage}#deal-{moved.id}", status_code=303)
