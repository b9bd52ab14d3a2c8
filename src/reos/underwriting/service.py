"""Underwriting properties in the store: fill a deal from what the organisation knows,
underwrite it with the pure engine, keep the result.

Where each input of a deal comes from, first that applies (every filled input names its
source in ``sources``):

- ``purchase_price``: the price the user entered; else the property's asking price (its
  ``list_price`` attribute, RESO ``ListPrice`` of an active listing); else its last sale
  (``"last sale 2009-06-01"``).
- value and ARV: the organisation's active AVM (:mod:`reos.valuation.service`). The ARV is
  the AVM's value of the property with its condition set to :data:`RENOVATED_CONDITION`
  ("good" on the 1-10 scale) when it is below that, as if renovated; everything else about
  the property stays as stored. A flip's ``arv`` is that ARV; a rental's
  ``after_repair_value`` (the base of its sale price) is the ARV when the deal has rehab,
  else the AVM's as-is value. The AVM's 80% interval is carried through as a low and a
  high case beside the base case (``cases``), each a full underwriting.
- ``property_tax_annual``: the assessor's annual tax (``tax_annual_amount`` attribute, RESO
  ``TaxAnnualAmount``) when present.
- ``gross_rent_monthly``: the user's; else the rent estimate from the organisation's rent
  records (:mod:`reos.underwriting.rent_estimate`).
- everything else: the organisation's saved defaults for the strategy, then the contract's
  defaults (``shared/reference/underwriting.md``).

A strategy's required input that nothing gives is refused (:class:`InsufficientData`, 422)
with every missing field named,
one line each, with what was tried (``gross_rent_monthly: required for a rental; no rent
records for this area``), before anything is computed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import reos
from reos.accounts.service import record_audit
from reos.db import tenancy
from reos.errors import InsufficientData, NotFound, ReosError, ValidationFailed
from reos.kernel.jsonable import jsonable
from reos.kernel.principal import actor_of
from reos.models import RentListing, Underwriting, UnderwritingDefaults, UnderwritingRun
from reos.properties import read_model as properties_read
from reos.underwriting import deal as deals
from reos.underwriting import offers
from reos.underwriting.analysis import DealAnalysis
from reos.underwriting.rent_estimate import NO_RENT_RECORDS, RentEstimate, estimate_rent
from reos.underwriting.schemas import PROPERTY_INPUTS

#: The version of the engine a stored underwriting was computed with.
ENGINE_VERSION = f"reos {reos.__version__}"
#: Strategies a property in the store can be underwritten with (commercial needs a rent roll).
STORE_STRATEGIES: tuple[str, ...] = ("rental", "flip")
#: Condition (1-10 scale, 7 = "good") of a renovated property, for the ARV.
RENOVATED_CONDITION = 7
USER = "user"
ORG_DEFAULT = "org default"
CONTRACT_DEFAULT = "contract default"
BATCH_SIZE = 200
#: The dates the AVM can value at (pandas' nanosecond timestamps span 1677-09-21 to
#: 2262-04-11); outside them the deal is filled without the AVM.
AVM_DATES = (date(1678, 1, 1), date(2262, 1, 1))


# ---------------------------------------------------------------- default assumptions


def check_assumptions(strategy: str, assumptions: Any, what: str = "assumptions") -> dict[str, Any]:
    """``assumptions`` checked with the deal-file model of ``strategy``, as a partial deal:
    every field must be a field of that strategy with a valid value, but none is required.
    Raises :class:`ValidationFailed` with one line per problem."""
    if not isinstance(assumptions, dict):
        deals.fail([f"{what}: must be a mapping of deal field: value"])
    model = deals.deal_model(strategy)
    problems: list[str] = []
    if "strategy" in assumptions and assumptions["strategy"] != strategy:
        problems.append(
            f"{what}.strategy: {deals.show(assumptions['strategy'])} — must be {strategy}"
        )
    payload = {k: v for k, v in assumptions.items() if k != "strategy"}
    try:
        model.model_validate(payload)
    except ValidationError as exc:
        problems.extend(
            f"{what}.{line}"
            for line in deals.problems_of(exc, model, strategy)
            if not line.endswith(f"required for a {strategy} deal")
        )
    if problems:
        deals.fail(problems)
    return {k: v for k, v in payload.items() if v is not None}


def defaults_of(session: Session) -> dict[str, dict[str, Any]]:
    """The organisation's saved default assumptions, by strategy (strategies with none
    saved are absent)."""
    rows = session.scalars(select(UnderwritingDefaults).order_by(UnderwritingDefaults.strategy))
    return {row.strategy: dict(row.assumptions) for row in rows}


def set_defaults(session: Session, strategy: str, assumptions: Any) -> dict[str, Any]:
    """Replace the organisation's default assumptions for ``strategy`` (checked with the
    deal-file rules; property facts such as a purchase price are refused)."""
    if strategy not in deals.STRATEGIES:
        deals.fail(
            [f"strategy: {deals.show(strategy)} — must be one of {', '.join(deals.STRATEGIES)}"]
        )
    if isinstance(assumptions, dict):
        facts = sorted(PROPERTY_INPUTS & set(assumptions))
        if facts:
            deals.fail(
                [f"{strategy}.{name}: describes one property, not a default" for name in facts]
            )
    checked = check_assumptions(strategy, assumptions, strategy)
    row = session.scalars(
        select(UnderwritingDefaults).where(UnderwritingDefaults.strategy == strategy)
    ).first()
    before = dict(row.assumptions) if row is not None else {}
    actor = actor_of(session)
    if row is None:
        row = UnderwritingDefaults(strategy=strategy, assumptions=checked)
        session.add(row)
    else:
        row.assumptions = checked
    row.updated_by = actor.actor_id if actor else None
    session.flush()
    record_audit(
        session, "set_defaults", "underwriting_defaults", row.id,
        {"strategy": strategy, "before": before, "after": checked},
    )  # fmt: skip
    return checked


def replace_defaults(session: Session, by_strategy: dict[str, Any]) -> dict[str, Any]:
    """Replace all the organisation's default assumptions: ``by_strategy`` maps each
    strategy to its assumptions; a strategy left out has none saved afterwards."""
    for strategy in sorted(set(by_strategy) - set(STORE_STRATEGIES)):
        deals.fail([f"{strategy}: unknown strategy — one of {', '.join(STORE_STRATEGIES)}"])
    out: dict[str, Any] = {}
    for strategy in STORE_STRATEGIES:
        if strategy in by_strategy:
            out[strategy] = set_defaults(session, strategy, by_strategy[strategy])
            continue
        row = session.scalars(
            select(UnderwritingDefaults).where(UnderwritingDefaults.strategy == strategy)
        ).first()
        if row is not None:
            record_audit(
                session, "clear_defaults", "underwriting_defaults", row.id,
                {"strategy": strategy, "before": dict(row.assumptions)},
            )  # fmt: skip
            session.delete(row)
    session.flush()
    return out


# ---------------------------------------------------------------- rent estimate


def _rentals(session: Session) -> list[dict[str, Any]]:
    """Every rent listing of the organisation, as plain mappings for the estimate."""
    columns = (
        RentListing.rent_record_id, RentListing.property_id, RentListing.address,
        RentListing.latitude, RentListing.longitude, RentListing.zip,
        RentListing.living_area_sqft, RentListing.beds, RentListing.property_type,
        RentListing.monthly_rent, RentListing.lease_date,
    )  # fmt: skip
    return [dict(row._mapping) for row in session.execute(select(*columns))]


def _subject(prop: Any) -> dict[str, Any]:
    return {
        "latitude": prop.latitude,
        "longitude": prop.longitude,
        "zip": prop.zip,
        "living_area_sqft": prop.living_area_sqft,
        "beds": prop.beds,
        "property_type": prop.property_type,
    }


def rent_estimate(
    session: Session, property_id: uuid.UUID, as_of: date | None = None
) -> RentEstimate:
    """The monthly market rent of a stored property from the organisation's rent records."""
    from reos.properties import service as properties_service

    prop = properties_service.get_property(session, property_id)
    return estimate_rent(_subject(prop), _rentals(session), as_of or _today())


def _today() -> date:
    return datetime.now(UTC).date()


# ---------------------------------------------------------------- filling a deal


@dataclass
class StoreFacts:
    """What the store knows about one property, gathered once (in bulk for ``--all``)."""

    prop: Any
    last_sale: tuple[date, float | None, float | None] | None
    value: Any = None  # ValuationResult of the property as it is
    arv: Any = None  # ValuationResult with the condition set to renovated
    model_version: str | None = None
    avm_problem: str | None = None
    rent: RentEstimate | None = None
    rent_problem: str | None = None


@dataclass
class FilledDeal:
    """A deal filled from the store: the deal file's mapping, where each input came from,
    the low/high cases' replacements and the evidence behind store-derived inputs."""

    strategy: str
    deal: dict[str, Any]
    sources: dict[str, str]
    cases: dict[str, dict[str, float]] = field(default_factory=dict)
    evidence: dict[str, Any] = field(default_factory=dict)
    model_version: str | None = None


def _avm_source(facts: StoreFacts, what: str) -> str:
    result = facts.arv if what == "arv" else facts.value
    text = f"avm model {facts.model_version} {result.valuation_date}"
    if what == "arv":
        text += f" (condition set to {RENOVATED_CONDITION}: renovated)"
    return text


def _valuation_evidence(result: Any) -> dict[str, Any]:
    return {
        "estimated_value": float(result.estimated_value),
        "interval_80": [float(result.interval_80[0]), float(result.interval_80[1])],
        "confidence": result.confidence,
        "valuation_date": result.valuation_date,
        "model_version": result.model_version,
        "n_comps": int(result.n_comps),
    }


def fill_deal(
    strategy: str,
    facts: StoreFacts,
    assumptions: dict[str, Any],
    org_defaults: dict[str, Any],
    price: float | None = None,
) -> FilledDeal:
    """The deal of one property for ``strategy`` (see the module docstring for the order
    of sources). ``assumptions`` are the user's deal fields (already checked);
    ``org_defaults`` the organisation's saved ones. Raises :class:`ValidationFailed`
    naming every required input nothing gives (:class:`InsufficientData`: what the store
    lacks, which the user may enter or the organisation may import)."""
    check_store_strategy(strategy)
    deal: dict[str, Any] = {"strategy": strategy}
    sources: dict[str, str] = {}
    filled = FilledDeal(strategy, deal, sources, model_version=facts.model_version)
    for name, value in org_defaults.items():
        deal[name], sources[name] = value, ORG_DEFAULT
    user = dict(assumptions)
    if price is not None:
        user["purchase_price"] = price
    for name, value in user.items():
        if name != "strategy":
            deal[name], sources[name] = value, USER
    missing: list[str] = []
    prop = facts.prop
    attributes = prop.attributes or {}
    if "purchase_price" not in user:
        asking = attributes.get("list_price")
        if isinstance(asking, int | float) and not isinstance(asking, bool) and asking > 0:
            deal["purchase_price"], sources["purchase_price"] = float(asking), "asking price"
        elif facts.last_sale is not None and facts.last_sale[1]:
            day, sale_price, _listed = facts.last_sale
            deal["purchase_price"] = sale_price
            sources["purchase_price"] = f"last sale {day.isoformat()}"
        else:
            missing.append(
                f"purchase_price: required for a {strategy}; the store has no asking price or "
                "sale for this property: enter a price"
            )
    if "property_tax_annual" not in user and strategy == "rental":
        tax = attributes.get("tax_annual_amount")
        if isinstance(tax, int | float) and not isinstance(tax, bool) and tax >= 0:
            deal["property_tax_annual"] = float(tax)
            sources["property_tax_annual"] = "assessor tax_annual_amount"
    if facts.value is not None:
        filled.evidence["value"] = _valuation_evidence(facts.value)
    if facts.arv is not None:
        filled.evidence["arv"] = _valuation_evidence(facts.arv)
    avm_field = "arv" if strategy == "flip" else "after_repair_value"
    if avm_field not in user:
        rehab = deal.get("rehab_cost") or 0
        chosen = facts.arv if strategy == "flip" or rehab else facts.value
        if chosen is not None:
            deal[avm_field] = float(chosen.estimated_value)
            sources[avm_field] = _avm_source(facts, "arv" if chosen is facts.arv else "value")
            low, high = (float(v) for v in chosen.interval_80)
            filled.cases = {"low": {avm_field: low}, "high": {avm_field: high}}
        elif strategy == "flip":
            missing.append(f"arv: required for a flip; {facts.avm_problem or 'no AVM value'}")
    if strategy == "rental" and "gross_rent_monthly" not in user:
        if facts.rent is not None:
            deal["gross_rent_monthly"] = facts.rent.monthly_rent
            sources["gross_rent_monthly"] = (
                f"rent estimate {facts.rent.as_of} ({len(facts.rent.comps)} comps, "
                f"confidence {facts.rent.confidence})"
            )
            filled.evidence["rent"] = facts.rent.to_dict()
        else:
            missing.append(
                f"gross_rent_monthly: required for a rental; {facts.rent_problem or NO_RENT_RECORDS}"
            )
    model = deals.deal_model(strategy)
    for name, info in model.model_fields.items():
        if name in deal:
            continue
        if info.is_required():
            if not any(line.startswith(f"{name}:") for line in missing):
                missing.append(
                    f"{name}: required for a {strategy}; the store does not know it: enter it "
                    "or save it in the organisation's defaults"
                )
        elif name != "strategy":
            sources[name] = CONTRACT_DEFAULT
    if missing:
        raise InsufficientData(
            "\n".join(missing), field=missing[0].partition(":")[0], problems=missing
        )
    return filled


def analyse(deal: dict[str, Any]) -> DealAnalysis:
    """:func:`reos.underwriting.deal.analyse_deal`, with a deal the engine cannot compute
    (its arithmetic refuses an input the deal-file rules let through, such as a loan
    amortised over less than one monthly payment) refused by name as invalid input rather
    than ended in a traceback."""
    try:
        return deals.analyse_deal(deal)
    except (ValueError, ArithmeticError) as exc:
        line = f"the deal cannot be computed: {exc}"
        raise ValidationFailed(line, field="deal", problems=[line]) from None


def _analyse(filled: FilledDeal) -> tuple[DealAnalysis, dict[str, Any]]:
    """The base case and the low/high cases (the AVM interval carried through)."""
    base = analyse(filled.deal)
    cases: dict[str, Any] = {}
    for name, changes in filled.cases.items():
        result = analyse({**filled.deal, **changes})
        cases[name] = {"inputs": changes, "metrics": result.metrics}
    if cases:
        cases["base"] = {
            "inputs": {k: filled.deal[k] for k in next(iter(filled.cases.values()))},
            "metrics": base.metrics,
        }
    return base, cases


def _store(
    session: Session,
    property_id: uuid.UUID | None,
    analysis: DealAnalysis,
    sources: dict[str, str],
    *,
    cases: dict[str, Any] | None = None,
    evidence: dict[str, Any] | None = None,
    model_version: str | None = None,
) -> Underwriting:
    actor = actor_of(session)
    row = Underwriting(
        property_id=property_id,
        strategy=analysis.strategy,
        inputs=jsonable(analysis.inputs),
        sources=sources,
        metrics=jsonable(analysis.metrics),
        cash_flows=jsonable(analysis.cash_flows),
        result=jsonable(
            {
                "detail": analysis.detail,
                "notes": analysis.notes,
                "cases": cases or {},
                "evidence": evidence or {},
            }
        ),
        engine_version=ENGINE_VERSION,
        model_version=model_version,
        created_by=actor.actor_id if actor else None,
    )
    session.add(row)
    session.flush()
    return row


def _facts(
    session: Session,
    props: Sequence[Any],
    strategy: str,
    as_of: date,
    rentals: list[dict[str, Any]] | None,
    *,
    need_rent: bool,
) -> list[StoreFacts]:
    """What the store knows of each property: last sale, AVM value and ARV (in one
    vectorised pass each), rent estimate."""
    from reos.valuation import service as valuation_service

    sales = properties_read.last_sales(session, [p.id for p in props])
    facts = [StoreFacts(prop=p, last_sale=sales.get(p.id)) for p in props]
    valuable = []
    for fact in facts:
        p = fact.prop
        if not AVM_DATES[0] <= as_of <= AVM_DATES[1]:
            fact.avm_problem = (
                f"the AVM values as of {AVM_DATES[0].year} to {AVM_DATES[1].year}, "
                f"not {as_of.isoformat()}"
            )
        elif p.latitude is None and not p.zip:
            fact.avm_problem = "the property has no coordinates or ZIP for the AVM"
        elif not p.living_area_sqft:
            fact.avm_problem = "the property has no living area for the AVM"
        else:
            valuable.append(fact)
    if valuable:
        subjects = [f.prop for f in valuable]
        try:
            version, values = valuation_service.estimate_properties(session, subjects, as_of)
            renovated = [max(p.condition or 0, RENOVATED_CONDITION) for p in subjects]
            _version, arvs = valuation_service.estimate_properties(
                session, subjects, as_of, {"condition": renovated}
            )
        except ReosError as exc:
            for fact in valuable:
                fact.avm_problem = exc.message
        else:
            for fact, value, arv in zip(valuable, values, arvs, strict=True):
                fact.value, fact.arv, fact.model_version = value, arv, version
    if need_rent and strategy == "rental":
        pool = rentals if rentals is not None else _rentals(session)
        for fact in facts:
            try:
                fact.rent = estimate_rent(_subject(fact.prop), pool, as_of)
            except ReosError as exc:
                fact.rent_problem = exc.message
    return facts


def underwrite_property(
    session: Session,
    property_id: uuid.UUID,
    strategy: str = "rental",
    *,
    assumptions: dict[str, Any] | None = None,
    price: float | None = None,
    as_of: date | None = None,
) -> Underwriting:
    """Fill the deal of a stored property from the store, underwrite it, keep it."""
    filled = filled_property_deal(
        session, property_id, strategy, assumptions=assumptions, price=price, as_of=as_of
    )
    analysis, cases = _analyse(filled)
    row = _store(
        session, property_id, analysis, filled.sources,
        cases=cases, evidence=filled.evidence, model_version=filled.model_version,
    )  # fmt: skip
    record_audit(
        session, "underwrite", "property", property_id,
        {"underwriting_id": row.id, "strategy": strategy},
    )  # fmt: skip
    return row


def filled_property_deal(
    session: Session,
    property_id: uuid.UUID,
    strategy: str = "rental",
    *,
    assumptions: dict[str, Any] | None = None,
    price: float | None = None,
    as_of: date | None = None,
) -> FilledDeal:
    """The deal of a stored property filled from the store, the organisation's defaults
    and the contract's (see the module docstring), every input with its source."""
    from reos.properties import service as properties_service

    check_store_strategy(strategy)
    prop = properties_service.get_property(session, property_id)
    user = check_assumptions(strategy, assumptions or {})
    needs_rent = "gross_rent_monthly" not in user
    (facts,) = _facts(session, [prop], strategy, as_of or _today(), None, need_rent=needs_rent)
    return fill_deal(strategy, facts, user, defaults_of(session).get(strategy, {}), price)


def max_offer(
    session: Session,
    constraints: dict[str, float],
    *,
    deal: dict[str, Any] | None = None,
    property_id: uuid.UUID | None = None,
    strategy: str = "rental",
    assumptions: dict[str, Any] | None = None,
    as_of: date | None = None,
) -> tuple[offers.OfferResult, dict[str, str]]:
    """The maximum offer (:mod:`reos.underwriting.offers`) for a whole deal, or for a
    stored property's deal filled as an underwriting would fill it; with the filled
    inputs' sources (empty for a whole deal). Nothing is stored."""
    if deal is not None:
        return offers.max_offer_for(deal, constraints), {}
    assert property_id is not None
    filled = filled_property_deal(
        session, property_id, strategy, assumptions=assumptions, as_of=as_of
    )
    return offers.max_offer_for(filled.deal, constraints), filled.sources


def underwrite_deal(session: Session, deal: Any) -> Underwriting:
    """Underwrite a full deal (a deal file's mapping) and keep it. Its inputs are the
    user's; what it leaves out takes the contract's defaults (organisation defaults fill
    deals built from the store, not deals given whole)."""
    analysis = analyse(deal)
    given = {k for k, v in deal.items() if v is not None and k != "strategy"}
    sources = {
        name: USER if name in given else CONTRACT_DEFAULT
        for name in analysis.inputs
        if name != "strategy"
    }
    row = _store(session, None, analysis, sources)
    record_audit(session, "underwrite", "deal", row.id, {"strategy": analysis.strategy})
    return row


def get_underwriting(session: Session, underwriting_id: uuid.UUID) -> Underwriting:
    row = tenancy.get(session, Underwriting, underwriting_id)
    if row is None:
        raise NotFound(f"no underwriting {underwriting_id} in this organisation")
    assert isinstance(row, Underwriting)
    return row


def list_underwritings(
    session: Session,
    *,
    property_id: uuid.UUID | None = None,
    strategy: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[Sequence[Underwriting], int]:
    """Stored underwritings, newest first, optionally of one property or strategy."""
    stmt = select(Underwriting)
    if property_id is not None:
        stmt = stmt.where(Underwriting.property_id == property_id)
    if strategy is not None:
        stmt = stmt.where(Underwriting.strategy == strategy)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = session.scalars(
        stmt.order_by(Underwriting.created_at.desc(), Underwriting.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return rows, total


def to_json(row: Underwriting) -> dict[str, Any]:
    """A stored underwriting as the CLI's ``--json`` and the API print it."""
    return {
        "id": str(row.id),
        "property_id": None if row.property_id is None else str(row.property_id),
        "strategy": row.strategy,
        "inputs": row.inputs,
        "sources": row.sources,
        "metrics": row.metrics,
        "cash_flows": row.cash_flows,
        "cases": row.result.get("cases", {}),
        "evidence": row.result.get("evidence", {}),
        "notes": row.result.get("notes", {}),
        "detail": row.result.get("detail", {}),
        "engine_version": row.engine_version,
        "model_version": row.model_version,
        "created_by": row.created_by,
        "created_at": row.created_at.isoformat() if row.created_at else None,
    }


# ---------------------------------------------------------------- every property


SessionFactory = Callable[[], AbstractContextManager[Session]]


def open_run(
    session: Session, strategy: str, assumptions: dict[str, Any]
) -> tuple[UnderwritingRun, bool]:
    """The ``underwrite --all`` run to work on, and whether it is being resumed (an
    unfinished run of the same strategy is resumed with the assumptions it started with)."""
    unfinished = session.scalars(
        select(UnderwritingRun)
        .where(UnderwritingRun.status == "running", UnderwritingRun.strategy == strategy)
        .order_by(UnderwritingRun.created_at.desc())
    ).first()
    if unfinished is not None:
        return unfinished, True
    run = UnderwritingRun(
        strategy=strategy,
        assumptions=assumptions,
        status="running",
        properties_total=properties_read.property_count(session),
        properties_done=0,
        underwritten=0,
        skipped={},
    )
    session.add(run)
    session.flush()
    return run, False


def _reason(exc: ReosError) -> str:
    """A refusal's reason, short enough to count by (its first line up to the first ';')."""
    return exc.message.splitlines()[0].split(";")[0].split(" — ")[0]


def _underwrite_chunk(session: Session, run: UnderwritingRun, size: int, as_of: date) -> bool:
    """Underwrite the next ``size`` properties after the run's checkpoint and move the
    checkpoint past them in the caller's transaction; True when none is left."""
    chunk = properties_read.properties_after(session, run.last_property_id, size)
    strategy, user = run.strategy, dict(run.assumptions)
    org = defaults_of(session).get(strategy, {})
    rentals = _rentals(session) if strategy == "rental" else None
    facts = _facts(
        session, chunk, strategy, as_of, rentals, need_rent="gross_rent_monthly" not in user
    )
    skipped = dict(run.skipped)
    done = 0
    for fact in facts:
        try:
            filled = fill_deal(strategy, fact, user, org)
            analysis, cases = _analyse(filled)
        except ReosError as exc:
            reason = _reason(exc)
            skipped[reason] = skipped.get(reason, 0) + 1
            continue
        _store(
            session, fact.prop.id, analysis, filled.sources,
            cases=cases, evidence=filled.evidence, model_version=filled.model_version,
        )  # fmt: skip
        done += 1
    run.underwritten += done
    run.skipped = skipped
    run.properties_done += len(chunk)
    if chunk:
        run.last_property_id = chunk[-1].id
    finished = len(chunk) < size
    if finished:
        run.status = "done"
        run.finished_at = datetime.now(UTC)
        record_audit(
            session, "underwrite_all", "property", None,
            {"strategy": strategy, "underwritten": run.underwritten, "run_id": run.id},
        )  # fmt: skip
    session.flush()
    return finished


def underwrite_properties(
    session: Session,
    property_ids: Sequence[uuid.UUID],
    strategy: str = "rental",
    *,
    as_of: date | None = None,
) -> tuple[int, dict[uuid.UUID, str]]:
    """Underwrite the given stored properties with ``strategy`` and the organisation's
    saved default assumptions, and keep each underwriting, as ``underwrite --all`` does for
    every property: the batch path of a pipeline run (one vectorised AVM pass for all of
    them). Returns how many were underwritten and, by property, why the others could not
    be (no value, no rent estimate, ...)."""
    check_store_strategy(strategy)
    props = sorted(properties_read.properties_by_id(session, property_ids), key=lambda p: p.id)
    org = defaults_of(session).get(strategy, {})
    rentals = _rentals(session) if strategy == "rental" else None
    facts = _facts(session, props, strategy, as_of or _today(), rentals, need_rent=True)
    refused: dict[uuid.UUID, str] = {}
    done = 0
    for fact in facts:
        try:
            filled = fill_deal(strategy, fact, {}, org)
            analysis, cases = _analyse(filled)
        except ReosError as exc:
            refused[fact.prop.id] = _reason(exc)
            continue
        _store(
            session, fact.prop.id, analysis, filled.sources,
            cases=cases, evidence=filled.evidence, model_version=filled.model_version,
        )  # fmt: skip
        done += 1
    session.flush()
    return done, refused


def underwrite_all(
    session_factory: SessionFactory,
    strategy: str = "rental",
    assumptions: dict[str, Any] | None = None,
    *,
    as_of: date | None = None,
    progress: Callable[[int, int], None] | None = None,
    chunk_properties: int = BATCH_SIZE,
    on_resume: Callable[[UnderwritingRun], None] | None = None,
) -> dict[str, Any]:
    """Underwrite every property with ``strategy``; those that cannot be are counted by
    reason. Each chunk is one committed transaction with the run's checkpoint, so a killed
    run keeps its finished chunks and calling this again finishes it (each property once)."""
    check_store_strategy(strategy)
    user = check_assumptions(strategy, assumptions or {})
    day = as_of or _today()
    with session_factory() as session:
        run, resumed = open_run(session, strategy, user)
        run_id = run.id
        if resumed and on_resume is not None:
            on_resume(run)
    while True:
        with session_factory() as session:
            run = _run(session, run_id)
            finished = _underwrite_chunk(session, run, chunk_properties, day)
            done, total = run.properties_done, run.properties_total
            summary = {
                "run_id": str(run.id),
                "strategy": run.strategy,
                "properties": run.properties_done,
                "underwritten": run.underwritten,
                "skipped": dict(run.skipped),
            }
        if progress:
            progress(done, max(total, done))
        if finished:
            return summary


def _run(session: Session, run_id: uuid.UUID) -> UnderwritingRun:
    run = tenancy.get(session, UnderwritingRun, run_id)
    if run is None:
        raise NotFound(f"no underwriting run {run_id} in this organisation")
    assert isinstance(run, UnderwritingRun)
    return run


def check_store_strategy(strategy: str) -> None:
    """Refuse, by name, a strategy a stored property cannot be underwritten with."""
    if strategy not in STORE_STRATEGIES:
        line = (
            f"strategy: {deals.show(strategy)} — a stored property is underwritten as one of "
            f"{', '.join(STORE_STRATEGIES)}; underwrite a commercial deal from its deal file"
        )
        raise ValidationFailed(line, field="strategy", problems=[line])


# ---------------------------------------------------------------- what-ifs on a deal


def sensitivity_of(
    deal: dict[str, Any],
    path: str,
    values: Sequence[float | str],
    metrics: Sequence[str] = (),
) -> Any:
    """A one-input sweep of ``deal`` (a deal file's mapping): ``path`` (dotted, e.g.
    ``purchase_price``, ``loan.rate``) at each of ``values``, the chosen ``metrics`` (the
    strategy's default when none) at each point —
    :func:`reos.underwriting.sensitivity.sensitivity`, for a page that shows the table."""
    from decimal import Decimal

    from reos.underwriting import sensitivity

    sweep = sensitivity.Sweep(path, tuple(Decimal(str(v)) for v in values))
    return sensitivity.sensitivity(deal, [sweep], metrics)


def optimised_offer(
    deal: dict[str, Any],
    *,
    frontier: int = 15,
    constraints: dict[str, float] | None = None,
) -> Any:
    """The offer with the highest expected profit for ``deal`` (a deal file's mapping of a
    rental or flip) and ``frontier`` points of the price/acceptance frontier —
    :func:`reos.underwriting.optimiser.optimise_offer` with its default acceptance model;
    nothing is stored."""
    from reos.underwriting import optimiser

    return optimiser.optimise_offer(
        deals.parse_deal(deal), constraints=constraints or {}, frontier=frontier
    )
