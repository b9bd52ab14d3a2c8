"""Deal stages and the rules of moving between them (pure: plain data, no database).

An organisation's pipeline is an ordered list of stages; without its own list it uses
:data:`DEFAULT_STAGES`. A stage is ``terminal`` when a deal there is closed (it no longer
holds the property's one open deal) and has an ``outcome`` (``won`` or ``lost``) when a
closed deal there teaches the deal score whether the property was a good deal.

The rules a move must pass (:func:`check_move`), whatever the organisation's list:

- the stage must be one of the organisation's stages (else 422 naming it and the valid
  ones);
- ``offer_sent``: the deal has an offer in ``sent`` status, or a ``draft`` offer to send
  (the move sends the newest draft);
- ``under_contract``: the deal has an ``accepted`` offer;
- a terminal stage with outcome ``lost`` (``closed_lost``, ``dead`` by default) needs a
  reason (why the deal was lost is what a team reviews later);
- a deal in a terminal stage moves only to a non-terminal stage (reopening it), and only
  when no other deal is open on the property.

Any stage may otherwise follow any other: teams skip and go back (a seller who stops
answering returns a deal from ``negotiating`` to ``contacted``); the timeline keeps every
move.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from reos.errors import ValidationFailed

OUTCOMES = ("won", "lost")
STAGE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

#: The stage a new deal starts in (the shortlist creates deals here); every list has it.
NEW = "new"
OFFER_SENT = "offer_sent"
UNDER_CONTRACT = "under_contract"


@dataclass(frozen=True)
class Stage:
    name: str
    terminal: bool = False
    outcome: str | None = None


DEFAULT_STAGES: tuple[Stage, ...] = (
    Stage(NEW),
    Stage("contacted"),
    Stage("negotiating"),
    Stage(OFFER_SENT),
    Stage(UNDER_CONTRACT),
    Stage("closed_won", terminal=True, outcome="won"),
    Stage("closed_lost", terminal=True, outcome="lost"),
    Stage("dead", terminal=True, outcome="lost"),
)


@dataclass(frozen=True)
class DealFacts:
    """What the rules need to know about a deal: its stage and its offers' statuses."""

    stage: str
    offer_statuses: tuple[str, ...]


def find(stages: Sequence[Stage], name: str) -> Stage:
    """The stage called ``name``; a 422 naming the valid stages when there is none."""
    for stage in stages:
        if stage.name == name:
            return stage
    valid = ", ".join(s.name for s in stages)
    raise ValidationFailed(
        f"stage {name!r} does not exist; the stages are: {valid}",
        field="stage",
        stage=name,
        valid=[s.name for s in stages],
    )


def check_move(
    stages: Sequence[Stage], facts: DealFacts, target: str, reason: str | None
) -> tuple[Stage, bool]:
    """Check a move of a deal to ``target``; the target stage and whether the move must
    send the deal's newest draft offer (``offer_sent`` with a draft and no sent offer).
    Raises ``ValidationFailed`` naming what is missing."""
    stage = find(stages, target)
    current = next((s for s in stages if s.name == facts.stage), None)
    if current is not None and current.terminal and stage.terminal and stage.name != current.name:
        raise ValidationFailed(
            f"the deal is closed ({current.name}); reopen it in an open stage first",
            field="stage",
        )
    send_draft = False
    if stage.name == OFFER_SENT and "sent" not in facts.offer_statuses:
        if "draft" not in facts.offer_statuses:
            raise ValidationFailed(
                "offer_sent needs an offer: create one (POST /api/v1/offers or "
                "`reos offers create`) and send it, or move with a draft to send",
                field="stage",
                stage=stage.name,
            )
        send_draft = True
    if stage.name == UNDER_CONTRACT and "accepted" not in facts.offer_statuses:
        raise ValidationFailed(
            "under_contract needs an accepted offer: record the seller's acceptance first "
            "(`reos offers accept ID`, or POST /api/v1/offers/{id}/transition with status "
            "accepted)",
            field="stage",
            stage=stage.name,
        )
    if stage.terminal and stage.outcome == "lost" and not (reason and reason.strip()):
        raise ValidationFailed(
            f"{stage.name} needs a reason (why the deal was lost)", field="reason"
        )
    return stage, send_draft


def check_stage_list(stages: Sequence[Stage]) -> None:
    """An organisation's list: names are lower-case words, unique, include ``new`` and at
    least one open stage; an outcome only on terminal stages."""
    problems: list[str] = []
    seen: set[str] = set()
    for index, stage in enumerate(stages):
        where = f"stages[{index}]"
        if not STAGE_NAME.match(stage.name):
            problems.append(
                f"{where}.name: {stage.name!r} — use lower-case letters, digits and _ "
                "(at most 40, starting with a letter)"
            )
        if stage.name in seen:
            problems.append(f"{where}.name: {stage.name!r} is listed twice")
        seen.add(stage.name)
        if stage.outcome is not None and stage.outcome not in OUTCOMES:
            problems.append(f"{where}.outcome: {stage.outcome!r} — use won, lost or null")
        if stage.outcome is not None and not stage.terminal:
            problems.append(f"{where}.outcome: only a terminal stage has an outcome")
    if any(s.name == NEW and s.terminal for s in stages):
        problems.append(f"stages: {NEW!r} cannot be terminal (new deals start open there)")
    if NEW not in seen:
        problems.append(f"stages: the list must include {NEW!r} (new deals start there)")
    if problems:
        raise ValidationFailed("; ".join(problems), field="stages", problems=problems)
