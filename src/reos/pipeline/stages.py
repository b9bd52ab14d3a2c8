"""The stages of a pipeline run, in order, each calling the owning domain's front.

A stage is either *per property* (its work is split into chunks of the run's changed
properties: normalise, value, underwrite, score) or *whole organisation* (one chunk:
owner resolution and the derived lists work on every record at once, the shortlist ranks
every score). A stage function works in the caller's transaction (it flushes, never
commits) and returns a :class:`StageOutcome`: how many properties it handled, which it
skipped and why (a reason in the data: later stages still take the property), and a
small JSON summary for the run's report.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class StageContext:
    """What every stage of one run knows: the run, the day it values and underwrites as
    of, the underwriting strategy, and the shortlist rule."""

    run_id: uuid.UUID
    as_of: date
    strategy: str
    shortlist_top_n: int | None
    shortlist_min_score: int | None


@dataclass
class StageOutcome:
    processed: int = 0
    skipped: dict[uuid.UUID, str] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)


StageFunction = Callable[[Session, StageContext, Sequence[uuid.UUID]], StageOutcome]


@dataclass(frozen=True)
class Stage:
    name: str
    per_property: bool
    run: StageFunction
    title: str


def normalise(session: Session, ctx: StageContext, ids: Sequence[uuid.UUID]) -> StageOutcome:
    """Fill missing normalised addresses and H3 cells (``properties`` service)."""
    from reos.properties import service as properties_service

    problems = properties_service.normalise_properties(session, ids)
    return StageOutcome(processed=len(ids) - len(problems), skipped=problems)


def resolve_owners(session: Session, ctx: StageContext, ids: Sequence[uuid.UUID]) -> StageOutcome:
    """Resolve owner records into owners (incremental when the owners domain can be:
    new records are linked to the owners already known)."""
    from reos.owners import service as owners_service

    report = owners_service.resolve(session)
    keep = ("mode", "records", "entities", "new_records", "changed_records", "seconds")
    return StageOutcome(
        processed=int(report.get("records", 0)),
        result={k: report[k] for k in keep if k in report},
    )


def value(session: Session, ctx: StageContext, ids: Sequence[uuid.UUID]) -> StageOutcome:
    """Value with the active AVM and store the valuations (valuation's batch path)."""
    from reos.valuation import service as valuation_service

    valued, not_valued = valuation_service.value_properties(session, ids, ctx.as_of)
    return StageOutcome(processed=valued, skipped=not_valued)


def underwrite(session: Session, ctx: StageContext, ids: Sequence[uuid.UUID]) -> StageOutcome:
    """Underwrite with the organisation's strategy and saved default assumptions."""
    from reos.underwriting import service as underwriting_service

    done, refused = underwriting_service.underwrite_properties(
        session, ids, ctx.strategy, as_of=ctx.as_of
    )
    return StageOutcome(processed=done, skipped=refused)


#: Every stage, in the order a run takes them. Chunks of a stage start once every chunk
#: of the stage before is done (a score reads the valuation and underwriting just stored).
STAGES: tuple[Stage, ...] = (
    Stage("normalise", True, normalise, "normalise"),
    Stage("owners", False, resolve_owners, "resolve owners"),
    Stage("value", True, value, "value"),
    Stage("underwrite", True, underwrite, "underwrite"),
)

STAGE_NAMES: tuple[str, ...] = tuple(s.name for s in STAGES)


def stage_named(name: str) -> Stage:
    for stage in STAGES:
        if stage.name == name:
            return stage
    raise KeyError(name)
