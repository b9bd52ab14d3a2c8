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
    #: the source tables with changes since the last run (``SOURCES``)
    changed_sources: tuple[str, ...] = ()


#: The source tables whose changes a run takes.
SOURCES = ("properties", "sales", "owner_records", "list_memberships")


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

    if "owner_records" not in ctx.changed_sources:
        return StageOutcome(result={"skipped": "no owner record changed since the last run"})
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
    _on_open_deals(session, ctx, [i for i in ids if i not in not_valued], "valuation")
    return StageOutcome(processed=valued, skipped=not_valued)


def _on_open_deals(
    session: Session, ctx: StageContext, ids: Sequence[uuid.UUID], kind: str
) -> None:
    """Put the new valuation or underwriting on the timeline of each property's open deal
    (the CRM's front), with the figure it produced."""
    from reos.crm import read_model as crm_read
    from reos.crm import service as crm_service

    open_ones = sorted(crm_read.properties_with_open_deals(session, ids), key=str)
    if not open_ones:
        return
    detail: dict[uuid.UUID, dict[str, Any]] = {}
    if kind == "valuation":
        from reos.valuation import read_model as valuation_read

        for pid, (value_usd, day) in valuation_read.latest_values(session, open_ones).items():
            detail[pid] = {"estimated_value": value_usd, "valuation_date": day.isoformat()}
    for pid in open_ones:
        crm_service.record_property_activity(
            session, pid, kind,
            {**detail.get(pid, {}), "strategy": ctx.strategy, "pipeline_run_id": str(ctx.run_id)},
        )  # fmt: skip


def underwrite(session: Session, ctx: StageContext, ids: Sequence[uuid.UUID]) -> StageOutcome:
    """Underwrite with the organisation's strategy and saved default assumptions."""
    from reos.underwriting import service as underwriting_service

    done, refused = underwriting_service.underwrite_properties(
        session, ids, ctx.strategy, as_of=ctx.as_of
    )
    _on_open_deals(session, ctx, [i for i in ids if i not in refused], "underwriting")
    return StageOutcome(processed=done, skipped=refused)


def refresh_lists(session: Session, ctx: StageContext, ids: Sequence[uuid.UUID]) -> StageOutcome:
    """Match again the imported lists' unmatched rows (their properties may have been
    imported since), then rebuild the derived lists (absentee, out of state, long
    ownership, ...): owners were just resolved, so who is absent or owns a portfolio may
    have changed."""
    from reos.dealflow import read_model as dealflow_read
    from reos.dealflow import service as dealflow_service
    from reos.properties import read_model as properties_read

    everyone = properties_read.property_ids_where(session)

    def lists_of() -> dict[uuid.UUID, set[tuple[str, str]]]:
        stacked = dealflow_read.stacks(session, everyone)
        return {pid: {(kind, name) for kind, name, _day in rows} for pid, rows in stacked.items()}

    before = lists_of()
    # rows of imported lists that found no property may find one imported since
    rematched = dealflow_service.rematch_unmatched(session)
    members = dealflow_service.refresh_derived_lists(session)
    after = lists_of()
    moved = [pid for pid in set(before) | set(after) if before.get(pid) != after.get(pid)]
    return StageOutcome(
        processed=len(members),
        result={
            "derived_lists": members,
            "rematched_list_rows": rematched["matched"],
            RELISTED: sorted(str(pid) for pid in moved),
        },
    )


#: The result key under which the lists stage hands over the properties whose lists
#: changed (taken out of the result before it is stored).
RELISTED = "relisted_property_ids"


def retrain(session: Session, ctx: StageContext, ids: Sequence[uuid.UUID]) -> StageOutcome:
    """Train the deal score on the organisation's recorded outcomes when there are enough
    of them and more than the active model learned from; the model is kept only when it
    beats the default weights on a holdout (deal flow decides)."""
    from reos.config import get_settings
    from reos.crm import read_model as crm_read
    from reos.dealflow import service as dealflow_service

    outcomes = crm_read.outcomes(session)
    needed = get_settings().score_min_outcomes
    if len(outcomes) < needed:
        return StageOutcome(
            result={"trained": False, "why": f"{len(outcomes)} outcomes, {needed} needed"}
        )
    trained = dealflow_service.list_models(session)  # newest first
    if trained and trained[0].outcome_count >= len(outcomes):
        return StageOutcome(result={"trained": False, "why": "no new outcome since the model"})
    report = dealflow_service.train_score_model(session, outcomes)
    return StageOutcome(
        processed=len(outcomes),
        result={"trained": True, "report": {k: v for k, v in vars(report).items()
                                            if isinstance(v, str | int | float | bool)}},
    )  # fmt: skip


def score(session: Session, ctx: StageContext, ids: Sequence[uuid.UUID]) -> StageOutcome:
    """Score 0-100 with drivers and reasons (deal flow's default weights or learned model)."""
    from reos.dealflow import service as dealflow_service

    scores = dealflow_service.score_properties(session, list(ids), today=ctx.as_of)
    return StageOutcome(processed=len(scores))


#: How many of the shortlist a run keeps in its report (``top_deals``).
TOP_DEALS_KEPT = 20


def shortlist(session: Session, ctx: StageContext, ids: Sequence[uuid.UUID]) -> StageOutcome:
    """The organisation's shortlist rule over every current score (the top N, or every
    score at or above the threshold) plus the run's properties that already have an open
    deal: the CRM opens a deal at ``new`` for each without one and rescores the others,
    never twice. Keeps the top deals, with their reasons, address and value, for the
    run's report."""
    from reos.crm import read_model as crm_read
    from reos.crm import service as crm_service
    from reos.dealflow import read_model as dealflow_read
    from reos.dealflow import service as dealflow_service
    from reos.properties import read_model as properties_read
    from reos.valuation import read_model as valuation_read

    if ctx.shortlist_min_score is not None:
        top, _total = dealflow_service.top_scores(
            session, min_score=ctx.shortlist_min_score, limit=1_000_000
        )
    else:
        top, _total = dealflow_service.top_scores(session, limit=ctx.shortlist_top_n or 100)
    chosen = {s.property_id: s for s in top}
    open_ones = crm_read.properties_with_open_deals(session, ids)
    rescore = [pid for pid in open_ones if pid not in chosen]
    for pid, current in dealflow_read.latest_scores(session, rescore).items():
        chosen[pid] = current
    ranked = sorted(chosen.values(), key=lambda s: (-s.score, str(s.property_id)))
    result = crm_service.shortlist(
        session, [(s.property_id, s.score, list(s.reasons)) for s in ranked]
    )
    best = ranked[:TOP_DEALS_KEPT]
    sites = properties_read.site_addresses(session, [s.property_id for s in best])
    values = valuation_read.latest_values(session, [s.property_id for s in best])
    deal_of = dict(zip([s.property_id for s in ranked], result.deal_ids, strict=False))
    top_deals = []
    for s in best:
        address, city, state, zip_code = sites.get(s.property_id, (None, None, None, None))
        top_deals.append(
            {
                "property_id": str(s.property_id),
                "deal_id": str(deal_of[s.property_id]) if s.property_id in deal_of else None,
                "score": s.score,
                "reasons": list(s.reasons),
                "address": ", ".join(x for x in (address, city, state, zip_code) if x) or None,
                "estimated_value": values[s.property_id][0] if s.property_id in values else None,
            }
        )
    return StageOutcome(
        processed=len(ranked),
        result={
            "created": result.created,
            "rescored": result.rescored,
            "shortlisted": len(ranked),
            "summary": {"top_deals": top_deals},
        },
    )


#: Every stage, in the order a run takes them. Chunks of a stage start once every chunk
#: of the stage before is done (a score reads the valuation and underwriting just stored).
STAGES: tuple[Stage, ...] = (
    Stage("normalise", True, normalise, "normalise"),
    Stage("owners", False, resolve_owners, "resolve owners"),
    Stage("lists", False, refresh_lists, "refresh derived lists"),
    Stage("value", True, value, "value"),
    Stage("underwrite", True, underwrite, "underwrite"),
    Stage("retrain", False, retrain, "retrain the deal score"),
    Stage("score", True, score, "score"),
    Stage("shortlist", False, shortlist, "shortlist"),
)

STAGE_NAMES: tuple[str, ...] = tuple(s.name for s in STAGES)


def stage_named(name: str) -> Stage:
    for stage in STAGES:
        if stage.name == name:
            return stage
    raise KeyError(name)
