"""Scoring properties in bulk and training the learned score model.

Set-based: the features of a batch of properties come from one read per source (lists,
owners, properties, last sales, valuations, underwritings, each in batches of keys), the
scores go back in one upsert per batch. The pipeline calls :func:`score_properties` on
chunks of a few hundred and on every property at once.
"""

from __future__ import annotations

import logging
import shutil
import threading
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, SessionTransaction

from reos.accounts.service import record_audit
from reos.config import get_settings
from reos.db import tenancy
from reos.dealflow.listfile import AMOUNT_NAMES, ASKING_NAMES, money
from reos.dealflow.lists import stack_rows
from reos.dealflow.scoring import (
    DISTRESS_KINDS,
    FEATURE_NAMES,
    PropertyScore,
    ScoreFeatures,
    default_score,
    grade_number,
    learned_drivers,
    reasons_of,
)
from reos.errors import InsufficientData, NotFound, ValidationFailed
from reos.models import DealScore, ScoreModel
from reos.owners import read_model as owners_read
from reos.properties import read_model as properties_read
from reos.underwriting import read_model as underwriting_read
from reos.valuation import read_model as valuation_read

log = logging.getLogger(__name__)

#: Properties scored per read-and-upsert batch.
SCORE_BATCH = 5_000
_lock = threading.Lock()
_boosters: dict[str, Any] = {}


@dataclass(frozen=True)
class ScoreModelReport:
    """A training run: the model's holdout AUC next to the default weights' AUC on the
    same holdout, whether it was activated, and why not when it was not."""

    version: str
    outcome_count: int
    train_rows: int
    holdout_rows: int
    positives: int
    holdout_auc: float
    default_auc: float
    activated: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def features_for(
    session: Session, property_ids: Sequence[uuid.UUID], today: date | None = None
) -> dict[uuid.UUID, ScoreFeatures]:
    """The score features of each property, read set-based (see :class:`ScoreFeatures`);
    an id that is not one of the organisation's properties is left out."""
    today = today or datetime.now(UTC).date()
    ids = list(property_ids)
    lists: dict[uuid.UUID, dict[str, Any]] = {}
    for pid, lid, kind, _name, day, attrs, derived in stack_rows(session, ids):
        entry = lists.setdefault(
            pid,
            {
                "lists": set(),
                "kinds": set(),
                "distress": set(),
                "newest": None,
                "arrears": 0.0,
                "ask": None,
            },
        )
        entry["lists"].add(lid)
        entry["kinds"].add(kind)
        if kind in DISTRESS_KINDS:
            entry["distress"].add(lid)
        if not derived:  # joining a derived list is not news about the owner
            entry["newest"] = day if entry["newest"] is None else max(entry["newest"], day)
        if kind == "tax_delinquent":
            amount = next((money(attrs[n]) for n in AMOUNT_NAMES if n in attrs), None)
            entry["arrears"] += amount or 0.0
        asking = next((money(attrs[n]) for n in ASKING_NAMES if n in attrs), None)
        if asking:
            entry["ask"] = asking
    owners = owners_read.property_owners(session, ids)
    facts = properties_read.property_facts(session, ids)
    absentee = {
        pid
        for pid, o in owners.items()
        if o.mailing_address_key and pid in facts and facts[pid].address_key
        and o.mailing_address_key != facts[pid].address_key
    }  # fmt: skip
    sales = properties_read.last_sales(session, ids)
    values = valuation_read.latest_graded_values(session, ids)
    underwritings = underwriting_read.latest_underwritings(session, ids)
    out: dict[uuid.UUID, ScoreFeatures] = {}
    for pid in ids:
        fact = facts.get(pid)
        if fact is None:
            continue  # not a property of this organisation: nothing to score
        listed = lists.get(pid)
        sale = sales.get(pid)
        value = values.get(pid)
        uw = underwritings.get(pid)
        price: float | None = listed["ask"] if listed else None
        if price is None and sale is not None:
            price = sale[2] or sale[1]
        if price is None and fact is not None:
            price = money(fact.attributes.get("assessed_value"))
        discount = None
        if value is not None and value[0] > 0 and price:
            discount = (value[0] - price) / value[0] * 100
        margin = mao_gap = None
        if uw is not None:
            metric = (
                uw.metrics.get("roi") if uw.strategy == "flip" else uw.metrics.get("cash_on_cash")
            )
            if isinstance(metric, int | float):
                margin = float(metric) * 100
            gap = uw.metrics.get("mao_margin")
            if isinstance(gap, int | float) and value is not None and value[0] > 0:
                mao_gap = float(gap) / value[0] * 100
        on_absentee_list = listed is not None and "absentee" in listed["kinds"]
        out[pid] = ScoreFeatures(
            distress_lists=float(len(listed["distress"])) if listed else 0.0,
            stack_size=float(len(listed["lists"])) if listed else 0.0,
            days_since_listed=(
                float((today - listed["newest"]).days) if listed and listed["newest"] else None
            ),
            absentee=1.0 if (pid in absentee or on_absentee_list) else 0.0,
            years_owned=round((today - sale[0]).days / 365.25, 2) if sale else None,
            tax_arrears=listed["arrears"] if listed and listed["arrears"] else None,
            discount_pct=round(discount, 2) if discount is not None else None,
            uw_margin_pct=round(margin, 2) if margin is not None else None,
            mao_gap_pct=round(mao_gap, 2) if mao_gap is not None else None,
            avm_grade=grade_number(value[2]) if value else None,
            value_age_days=float((today - value[1]).days) if value else None,
        )
    return out


def active_model(session: Session) -> ScoreModel | None:
    return session.scalars(
        select(ScoreModel)
        .where(ScoreModel.is_active.is_(True))
        .order_by(ScoreModel.created_at.desc())
    ).first()


def booster_of(model: ScoreModel) -> Any:
    """The model's booster, loaded once per process."""
    from reos.dealflow import learned

    with _lock:
        booster = _boosters.get(model.path)
        if booster is None:
            path = Path(model.path)
            if not path.exists():
                raise NotFound(
                    f"score model {model.version}: its file {path} is missing; retrain with "
                    "`reos score train`",
                    field="model",
                )
            booster = _boosters[model.path] = learned.load(path)
    return booster


def scores_of(
    features: dict[uuid.UUID, ScoreFeatures], model: ScoreModel | None
) -> list[PropertyScore]:
    """Scores of the properties under ``model`` (the default weights when None)."""
    if model is None:
        return [default_score(pid, f) for pid, f in features.items()]
    from reos.dealflow import learned

    ids = list(features)
    predicted = learned.predict(booster_of(model), [features[i] for i in ids])
    out = []
    for pid, (probability, contributions) in zip(ids, predicted, strict=True):
        f = features[pid]
        score, drivers = learned_drivers(f, contributions, probability)
        out.append(
            PropertyScore(pid, score, drivers, model.version, reasons_of(drivers), f.as_dict())
        )
    return out


def upsert_scores(session: Session, scores: Sequence[PropertyScore]) -> None:
    """One INSERT ... ON CONFLICT (org, property) DO UPDATE per batch, on either store."""
    if not scores:
        return
    now = datetime.now(UTC)
    rows = tenancy.stamp(
        session,
        (
            {
                "id": uuid.uuid4(),
                "property_id": s.property_id,
                "score": s.score,
                "drivers": [{"label": d.label, "points": d.points} for d in s.drivers],
                "reasons": s.reasons,
                "features": s.features,
                "model_version": s.model_version,
                "scored_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for s in scores
        ),
    )
    dialect = session.get_bind().dialect.name
    maker: Any = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = maker(DealScore.__table__)
    stmt = stmt.on_conflict_do_update(
        index_elements=["org_id", "property_id"],
        set_={
            name: stmt.excluded[name]
            for name in (
                "score",
                "drivers",
                "reasons",
                "features",
                "model_version",
                "scored_at",
                "updated_at",
            )
        },
    )
    session.execute(stmt, rows)


def score_properties(
    session: Session,
    property_ids: Sequence[uuid.UUID] | None = None,
    *,
    store: bool = True,
    today: date | None = None,
) -> list[PropertyScore]:
    """Score the given properties (every property of the organisation when None) with
    the active learned model, else the default weights; store each as the property's one
    current score (upsert; not when ``store`` is False) and return them in the order given.
    Ids that are not the organisation's properties are skipped (nothing is written for
    them). ``today`` is the day ages are measured from (years owned, days since listed,
    the value's age): the pipeline passes the day it values as of, so a run over
    historical data does not call a value made for that day thousands of days old."""
    ids = list(dict.fromkeys(property_ids)) if property_ids is not None else (
        properties_read.property_ids_where(session)
    )  # fmt: skip
    model = active_model(session)
    out: list[PropertyScore] = []
    for start in range(0, len(ids), SCORE_BATCH):
        batch = ids[start : start + SCORE_BATCH]
        features = features_for(session, batch, today)
        scores = scores_of(features, model)
        if store:
            upsert_scores(session, scores)
        out.extend(scores)
    session.flush()
    return out


def discard_unless_committed(session: Session, path: Path) -> None:
    """Delete ``path`` when the session's current transaction ends without a commit: a
    model file exists exactly when its ``score_models`` row does."""
    state = {"committed": False, "ended": False}

    def on_commit(_session: Session) -> None:
        state["committed"] = True

    def on_end(_session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is not None or state["ended"]:
            return
        state["ended"] = True
        if not state["committed"]:
            shutil.rmtree(path, ignore_errors=True)

    event.listen(session, "after_commit", on_commit)
    event.listen(session, "after_transaction_end", on_end)


def train_score_model(
    session: Session,
    outcomes: Sequence[tuple[uuid.UUID, bool]],
    *,
    min_outcomes: int | None = None,
    seed: int = 0,
) -> ScoreModelReport:
    """Train LightGBM on the outcomes (property id, good outcome: won or accepted), judge
    it and the default weights on the same stratified holdout, store it as a version
    (``score_models`` and a file under ``REOS_HOME/models/<org>/<version>``) and activate
    it only when its holdout AUC beats the default's and there are at least
    ``REOS_SCORE_MIN_OUTCOMES`` outcomes. Refused when both outcomes are not present."""
    from reos.dealflow import learned

    needed = get_settings().score_min_outcomes if min_outcomes is None else min_outcomes
    latest: dict[uuid.UUID, bool] = {}
    for pid, good in outcomes:
        latest[pid] = bool(good)  # a property's last outcome counts
    known = properties_read.property_facts(session, list(latest))  # this organisation's
    features = features_for(session, [pid for pid in latest if pid in known])
    ids = [pid for pid in latest if pid in features]
    labels = [latest[pid] for pid in ids]
    positives = sum(labels)
    if positives < 2 or len(ids) - positives < 2:
        raise InsufficientData(
            f"{len(ids)} outcomes ({positives} good, {len(ids) - positives} not): a score "
            "model needs at least two of each",
            field="outcomes",
        )
    trained = learned.train([features[i] for i in ids], labels, seed=seed)
    org = tenancy.current_org(session)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    version = f"score-lgbm-{stamp}-{uuid.uuid4().hex[:6]}"
    folder = get_settings().models_dir / str(org) / version
    discard_unless_committed(session, folder)
    learned.save(trained.booster, folder / "model.txt")
    better = trained.holdout_auc > trained.default_auc
    enough = len(ids) >= needed
    activate = better and enough
    reason = (
        "activated: beats the default weights on the holdout"
        if activate
        else "not activated: "
        + "; ".join(
            part
            for part in (
                None if better else "its holdout AUC does not beat the default weights'",
                None
                if enough
                else f"{len(ids)} outcomes, fewer than the {needed} required "
                "(REOS_SCORE_MIN_OUTCOMES)",
            )
            if part
        )
    )
    if activate:
        session.execute(update(ScoreModel).values(is_active=False))
    row = ScoreModel(
        version=version,
        path=str((folder / "model.txt").resolve()),
        outcome_count=len(ids),
        holdout_auc=trained.holdout_auc,
        default_auc=trained.default_auc,
        features=list(FEATURE_NAMES),
        metrics={
            "train_rows": trained.train_rows,
            "holdout_rows": trained.holdout_rows,
            "positives": trained.positives,
            "reason": reason,
            "outcomes_not_found": len(latest) - len(ids),
        },
        is_active=activate,
    )
    session.add(row)
    session.flush()
    record_audit(
        session, "train", "score_model", row.id,
        {"version": version, "outcomes": len(ids), "holdout_auc": trained.holdout_auc,
         "default_auc": trained.default_auc, "active": activate},
    )  # fmt: skip
    return ScoreModelReport(
        version,
        len(ids),
        trained.train_rows,
        trained.holdout_rows,
        trained.positives,
        trained.holdout_auc,
        trained.default_auc,
        activate,
        reason,
    )


def list_models(session: Session) -> Sequence[ScoreModel]:
    return session.scalars(select(ScoreModel).order_by(ScoreModel.created_at.desc())).all()


def top_scores(
    session: Session, *, min_score: int | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[PropertyScore], int]:
    """Stored scores, highest first (ties by property id), with the total."""
    from sqlalchemy import func

    stmt = select(DealScore)
    if min_score is not None:
        if not 0 <= min_score <= 100:
            raise ValidationFailed("min_score must be between 0 and 100", field="min_score")
        stmt = stmt.where(DealScore.score >= min_score)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = session.scalars(
        stmt.order_by(DealScore.score.desc(), DealScore.property_id).limit(limit).offset(offset)
    ).all()
    from reos.dealflow.scoring import Driver

    return [
        PropertyScore(
            r.property_id,
            r.score,
            [Driver(str(d["label"]), int(d["points"])) for d in r.drivers or []],
            r.model_version,
            [str(x) for x in r.reasons or []],
            dict(r.features or {}),
        )
        for r in rows
    ], total
