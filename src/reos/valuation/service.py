"""Valuation service: trains, stores and applies the AVM for the current organisation.

Loads the organisation's sales into the engine's sales frame (``sales_frame.py`` contract;
``Property.attributes`` become ``attr_*`` columns), keeps model files under
``REOS_HOME/models/<org>/<version>`` with their metadata in ``avm_models``, and stores every
valuation with the model version that made it.

Warm path: trained models and the organisation's prepared comps pool are cached in this
process, keyed by model version and by a cheap fingerprint of the sales table (count and
latest update), so a single API valuation does not reload or re-predict thousands of sales.
"""

from __future__ import annotations

import shutil
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import event, func, insert, select, update
from sqlalchemy.orm import Session, SessionTransaction

from reos.accounts.service import record_audit
from reos.config import get_settings
from reos.db import tenancy
from reos.db.tenancy import current_org
from reos.errors import Conflict, InsufficientData, NotFound, ValidationFailed
from reos.jobs import queue
from reos.kernel.jsonable import jsonable
from reos.models import AvmModelVersion, Job, Property, Valuation, ValuationRun
from reos.properties import read_model as properties_read
from reos.valuation import engine
from reos.valuation.limits import CompLimits
from reos.valuation.ratio_study import RatioStudy, ratio_study
from reos.valuation.sales_frame import CATEGORICAL_ATTRIBUTES, NUMERIC_ATTRIBUTES, prepare_frame
from reos.valuation.valuation_result import ValuationResult

PROPERTY_COLUMNS = (*NUMERIC_ATTRIBUTES, *CATEGORICAL_ATTRIBUTES, "pool")
SALE_COLUMNS = (
    "close_date",
    "close_date_precision",
    "sale_price",
    "arm_length",
    "sale_condition",
    "sale_type",
)
BATCH_SIZE = 500
RATIO_STUDY_WINDOW_DAYS = 183

_lock = threading.Lock()
_models: dict[tuple[uuid.UUID, str], engine.AvmModel] = {}
_pools: dict[uuid.UUID, tuple[tuple[Any, ...], pd.DataFrame]] = {}


# ---------------------------------------------------------------- frames


def _with_attributes(
    rows: list[dict[str, Any]], attrs: list[dict[str, Any] | None]
) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    extra = pd.DataFrame(
        [{f"attr_{k}": v for k, v in (a or {}).items()} for a in attrs], index=frame.index
    )
    if len(extra.columns):
        frame = pd.concat([frame, extra], axis=1)
    return frame


def sales_frame(session: Session, *, before: date | None = None) -> pd.DataFrame:
    """Every sale of the organisation joined with its property, one row per sale."""
    result = properties_read.sales_with_properties(
        session, PROPERTY_COLUMNS, SALE_COLUMNS, before=before
    )
    if not result:
        return pd.DataFrame(
            columns=["sale_id", "property_id", *SALE_COLUMNS, *PROPERTY_COLUMNS, "address"]
        )
    rows = [{k: v for k, v in r.items() if k != "attributes"} for r in result]
    frame = _with_attributes(rows, [r["attributes"] for r in result])
    frame["sale_id"] = frame["sale_id"].astype(str)
    frame["property_id"] = frame["property_id"].astype(str)
    frame["close_date"] = pd.to_datetime(frame["close_date"])
    frame["sale_price"] = frame["sale_price"].astype("float64")
    return frame


def property_frame(properties: Sequence[Property]) -> pd.DataFrame:
    rows = [
        {
            "property_id": str(p.id),
            "address": p.address_normalized or p.address,
            **{c: getattr(p, c) for c in PROPERTY_COLUMNS},
        }
        for p in properties
    ]
    return _with_attributes(rows, [p.attributes for p in properties])


def _pool(session: Session) -> pd.DataFrame:
    """The organisation's comps pool, cached until its sales change."""
    org = current_org(session)
    key = properties_read.sales_version(session)
    with _lock:
        cached = _pools.get(org)
        if cached and cached[0] == key:
            return cached[1]
    frame = sales_frame(session)
    with _lock:
        _pools[org] = (key, frame)
    return frame


# ---------------------------------------------------------------- models


def _models_dir(org: uuid.UUID) -> Path:
    return get_settings().models_dir / str(org)


TRAIN_JOB = "avm_train"


def request_training(session: Session, cutoff: date | None = None) -> tuple[uuid.UUID, Job]:
    """Queue the training of a new model (a background job, kind ``avm_train``) and return
    the id the model will have and the job. Training takes tens of seconds, too long for a
    request; one training at a time per organisation (a second request is a Conflict)."""
    running = queue.find_active(session, TRAIN_JOB)
    if running is not None:
        raise Conflict(
            f"a model is already being trained (job {running.id}, {running.status}); "
            f"follow it at /api/v1/avm/training/{running.id} and try again when it has finished",
            job_id=str(running.id),
        )
    model_id = uuid.uuid4()
    job = queue.enqueue(
        session,
        TRAIN_JOB,
        {"model_id": str(model_id), "cutoff": cutoff.isoformat() if cutoff else None},
    )
    record_audit(
        session, "request_training", "avm_model", model_id, {"cutoff": cutoff, "job_id": job.id}
    )
    return model_id, job


def training_status(session: Session, job_id: uuid.UUID) -> tuple[Job, AvmModelVersion | None]:
    """A training job of the organisation and, once it is done, the model it made."""
    job = queue.get_job(session, job_id, kind=TRAIN_JOB)
    model = None
    if job.status == "done":
        model = find_model(session, uuid.UUID(str(job.payload["model_id"])))
    return job, model


def find_model(session: Session, model_id: uuid.UUID) -> AvmModelVersion | None:
    return session.scalars(select(AvmModelVersion).where(AvmModelVersion.id == model_id)).first()


def train_model(
    session: Session,
    cutoff: date | None = None,
    *,
    model_id: uuid.UUID | None = None,
    before_commit: Callable[[], None] | None = None,
) -> AvmModelVersion:
    """Fit ranker, hedonic model and market index on the organisation's sales before
    ``cutoff`` (default: tomorrow, i.e. every sale), save it and make it the active model.

    The model's files are written before the caller commits; if the transaction rolls
    back instead, they are deleted, so no files are left without their row.
    ``before_commit`` runs last (a job's time-limit check), while a rollback still undoes
    everything."""
    cutoff = cutoff or date.fromordinal(datetime.now(UTC).date().toordinal() + 1)
    sales_read_at = datetime.now(UTC)
    frame = sales_frame(session, before=cutoff)
    model = engine.train(frame, cutoff)
    model.metadata["sales_read_at"] = sales_read_at.isoformat()
    org = current_org(session)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    version = f"{model.metadata['model_version']}-{stamp}-{uuid.uuid4().hex[:6]}"
    model.metadata["version"] = version
    path = _models_dir(org) / version
    _discard_unless_committed(session, path)
    model.save(path)
    window = model.metadata.get("training_window") or [None, None]
    session.execute(update(AvmModelVersion).values(is_active=False))
    row = AvmModelVersion(
        version=version,
        path=str(path.resolve()),
        cutoff=cutoff,
        window_start=date.fromisoformat(window[0]) if window[0] else None,
        window_end=date.fromisoformat(window[1]) if window[1] else None,
        row_count=int(model.metadata["rows"]["trusted"]),
        features=list(model.metadata.get("features", [])),
        holdout_metrics=jsonable(model.metadata),
        is_active=True,
    )
    if model_id is not None:
        row.id = model_id
    session.add(row)
    session.flush()
    record_audit(
        session,
        "train",
        "avm_model",
        row.id,
        {"version": version, "rows": row.row_count, "cutoff": cutoff},
    )
    if before_commit is not None:
        before_commit()
    with _lock:
        _models[(org, version)] = model
    return row


def _discard_unless_committed(session: Session, path: Path) -> None:
    """Delete ``path`` when the session's current transaction ends without a commit."""
    state = {"committed": False, "ended": False}

    def on_commit(_session: Session) -> None:
        state["committed"] = True

    def on_end(_session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is not None or state["ended"]:
            return
        state["ended"] = True  # later transactions of the session are not ours
        if not state["committed"]:
            shutil.rmtree(path, ignore_errors=True)

    event.listen(session, "after_commit", on_commit)
    event.listen(session, "after_transaction_end", on_end)


def list_models(session: Session) -> Sequence[AvmModelVersion]:
    return session.scalars(
        select(AvmModelVersion).order_by(AvmModelVersion.created_at.desc())
    ).all()


def _active_row(session: Session) -> AvmModelVersion | None:
    return session.scalars(
        select(AvmModelVersion)
        .where(AvmModelVersion.is_active.is_(True))
        .order_by(AvmModelVersion.created_at.desc())
    ).first()


def active_model(session: Session) -> tuple[AvmModelVersion, engine.AvmModel]:
    row = _active_row(session)
    if row is None:
        raise InsufficientData(
            "this organisation has no trained valuation model: run `reos avm train`"
        )
    return row, _loaded(session, row)


def model_by_version(session: Session, version: str) -> tuple[AvmModelVersion, engine.AvmModel]:
    """A model of the organisation by its version, active or not (a resumed run keeps the
    model it started with)."""
    row = session.scalars(select(AvmModelVersion).where(AvmModelVersion.version == version)).first()
    if row is None:
        raise NotFound(f"no valuation model {version} in this organisation: run `reos avm train`")
    return row, _loaded(session, row)


def _loaded(session: Session, row: AvmModelVersion) -> engine.AvmModel:
    """The model of ``row``, from this process's cache or its files."""
    key = (current_org(session), row.version)
    with _lock:
        model = _models.get(key)
    if model is None:
        if not Path(row.path).exists():
            raise NotFound(
                f"the files of model {row.version} are missing at {row.path}: run `reos avm train`"
            )
        model = engine.AvmModel.load(row.path)
        with _lock:
            _models[key] = model
    return model


# ---------------------------------------------------------------- staleness


@dataclass(frozen=True)
class Staleness:
    """Whether a model is older than the organisation's data, with the figures that say so.

    Definition: the sales a model has not seen are the sales in the store (arm's-length or
    unknown) that closed on or after its cut-off, or that were recorded after training read
    the sales (a late-filed sale of an earlier date). The model is *stale* when there are at
    least ``threshold`` of them (``REOS_AVM_STALE_AFTER_SALES``, default 1: any sale it has
    not seen), or when there is no model at all. A model trained with an explicit earlier
    cut-off (a backtest) is stale by this definition as soon as later sales exist, which is
    true: its index and hedonic model ignore them (comps still use every sale)."""

    model_version: str | None
    data_cutoff: date | None
    newest_trained_sale: date | None
    sales_since: int
    newest_sale: date | None
    threshold: int

    @property
    def stale(self) -> bool:
        return self.model_version is None or self.sales_since >= self.threshold

    def describe(self) -> str:
        """One sentence for a person: what the model knows and what is newer."""
        if self.model_version is None:
            return "this organisation has no trained valuation model"
        knows = (
            f"model {self.model_version} was trained on sales that closed before "
            f"{self.data_cutoff} (the newest it knows closed {self.newest_trained_sale})"
        )
        if self.sales_since == 0:
            return f"{knows}; no sale in the store is newer or was imported since"
        newest = f", the newest closed {self.newest_sale}" if self.newest_sale else ""
        return (
            f"{knows}; {self.sales_since:,} sale{'s' if self.sales_since != 1 else ''} in the "
            f"store {'are' if self.sales_since != 1 else 'is'} newer or were imported since{newest}"
        )

    def warning(self) -> str | None:
        """The warning a valuation carries when the model is stale (None when it is not)."""
        if not self.stale:
            return None
        return (
            f"the model is older than the data: {self.describe()}; run `reos avm train --if-stale`"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "stale": self.stale,
            "model_version": self.model_version,
            "data_cutoff": self.data_cutoff,
            "newest_trained_sale": self.newest_trained_sale,
            "sales_since": self.sales_since,
            "newest_sale": self.newest_sale,
            "stale_after_sales": self.threshold,
        }


def model_staleness(session: Session, row: AvmModelVersion | None = None) -> Staleness:
    """How the model ``row`` (default: the active model) compares with the store's sales."""
    threshold = get_settings().avm_stale_after_sales
    if row is None:
        row = _active_row(session)
    if row is None:
        count, newest = properties_read.sales_since(
            session, date.min, datetime.min.replace(tzinfo=UTC)
        )
        return Staleness(None, None, None, count, newest, threshold)
    read_at = row.holdout_metrics.get("sales_read_at")
    recorded_after = datetime.fromisoformat(read_at) if read_at else row.created_at
    count, newest = properties_read.sales_since(session, row.cutoff, recorded_after)
    return Staleness(row.version, row.cutoff, row.window_end, count, newest, threshold)


@dataclass(frozen=True)
class RetrainOutcome:
    """What ``train_if_stale`` found and did: ``trained`` is the new model, or None when the
    model was up to date."""

    before: Staleness
    trained: AvmModelVersion | None


def train_if_stale(
    session: Session, *, before_commit: Callable[[], None] | None = None
) -> RetrainOutcome:
    """Train a new model on every sale when the active one is stale (``Staleness``) or
    missing; otherwise leave it. Idempotent: a second call right after finds it up to
    date. For the CLI (``reos avm train --if-stale``) and a pipeline stage after imports."""
    before = model_staleness(session)
    if not before.stale:
        return RetrainOutcome(before, None)
    return RetrainOutcome(before, train_model(session, before_commit=before_commit))


# ---------------------------------------------------------------- valuation dates


def check_valuation_date(as_of: date, model: engine.AvmModel, *, field: str = "as_of") -> None:
    """Refuse a valuation date in the future (beyond ``REOS_AVM_FUTURE_TOLERANCE_DAYS``) or
    before the first sale the model knows, saying what to do instead (ValidationFailed,
    naming ``field``)."""
    today = datetime.now(UTC).date()
    if as_of > today + timedelta(days=get_settings().avm_future_tolerance_days):
        raise ValidationFailed(
            f"{field}: {as_of} is in the future; value as of today ({today}) or a past date",
            field=field,
        )
    first = date.fromordinal(date(1970, 1, 1).toordinal() + int(model.core.first_day))
    if as_of < first:
        raise ValidationFailed(
            f"{field}: {as_of} is before the model's first sale ({first}); import and train on "
            "older sales (`reos avm train`) or choose a later date",
            field=field,
        )


def comp_limits() -> CompLimits:
    return CompLimits.from_settings(get_settings())


def _with_staleness(result: ValuationResult, staleness: Staleness) -> ValuationResult:
    result.model_stale = staleness.stale
    warning = staleness.warning()
    if warning:
        result.warnings.insert(0, warning)
    result.method["model_data"] = jsonable(staleness.to_dict())
    return result


def _refuse_if_limited(result: ValuationResult, where: str) -> None:
    if result.refusal is not None:
        field = result.refusal_field or "subject"
        raise InsufficientData(f"{where}: {result.refusal}", field=field)


# ---------------------------------------------------------------- valuing


def _store(
    session: Session,
    property_id: uuid.UUID | None,
    result: ValuationResult,
    subject: dict[str, Any] | None,
) -> Valuation:
    body = jsonable(result.to_dict())
    if subject is not None:
        body["subject"] = jsonable(subject)
    row = Valuation(
        property_id=property_id,
        valuation_date=date.fromisoformat(result.valuation_date),
        estimated_value=float(result.estimated_value),
        interval_low=float(result.interval_80[0]),
        interval_high=float(result.interval_80[1]),
        confidence=result.confidence,
        model_version=result.model_version,
        result=body,
    )
    session.add(row)
    session.flush()
    return row


def _as_of(value: date | None) -> date:
    return value or datetime.now(UTC).date()


def excluded_comps(pool: pd.DataFrame, sale_ids: Iterable[str]) -> list[dict[str, Any]]:
    """The pool's sales among ``sale_ids`` as a valuation records its excluded comps:
    ``sale_id``, ``property_id``, ``address``, ``close_date`` (ISO) and ``sale_price``,
    in close-date order. Ids that are not sales of the pool are left out."""
    wanted = {str(s) for s in sale_ids}
    if not wanted or not len(pool):
        return []
    rows = pool[pool["sale_id"].isin(wanted)].sort_values(["close_date", "sale_id"])
    return [
        {
            "sale_id": str(r.sale_id),
            "property_id": str(r.property_id),
            "address": None if pd.isna(r.address) else str(r.address),
            "close_date": pd.Timestamp(r.close_date).date().isoformat(),
            "sale_price": float(r.sale_price),
        }
        for r in rows[
            ["sale_id", "property_id", "address", "close_date", "sale_price"]
        ].itertuples()
    ]


def value_property(
    session: Session,
    property_id: uuid.UUID,
    as_of: date | None = None,
    *,
    exclude: Iterable[str] = (),
) -> Valuation:
    """Value a stored property with the active model and keep the valuation.

    ``exclude``: sale ids the user excluded as comps (an analyst striking a comp from the
    grid); the comps next in rank take their place and the value is recomputed. The
    excluded sales are recorded in ``method["excluded_comps"]`` (ids that are not sales
    of the organisation are ignored)."""
    prop = tenancy.get(session, Property, property_id)
    if prop is None:
        raise NotFound(f"no property {property_id} in this organisation")
    row, model = active_model(session)
    day = _as_of(as_of)
    check_valuation_date(day, model)
    pool = _pool(session)
    excluded = excluded_comps(pool, exclude)
    result = engine.value_many(
        model,
        property_frame([prop]),
        day,
        pool,
        limits=comp_limits(),
        exclude_sale_ids={e["sale_id"] for e in excluded},
    )[0]
    _refuse_if_limited(result, f"property {prop.id} as of {day}")
    result.model_version = row.version
    _with_staleness(result, model_staleness(session, row))
    if excluded:
        result.method["excluded_comps"] = excluded
    stored = _store(session, prop.id, result, None)
    record_audit(
        session,
        "value",
        "property",
        prop.id,
        {
            "estimated_value": stored.estimated_value,
            "valuation_id": stored.id,
            **({"excluded_sale_ids": [e["sale_id"] for e in excluded]} if excluded else {}),
        },
    )
    return stored


def value_subject(
    session: Session, subject: dict[str, Any], as_of: date | None = None
) -> Valuation:
    """Value a property that is not in the store, from an address and its attributes."""
    from reos.properties import service as properties_service

    values = dict(subject)
    derived = properties_service.location_fields(values).columns
    for key in ("zip", "city", "state"):
        if values.get(key) in (None, "") and derived.get(key):
            values[key] = derived[key]
    frame_row = {
        "property_id": "subject",
        "address": derived.get("address_normalized") or values.get("address"),
    }
    frame_row.update({c: values.get(c) for c in PROPERTY_COLUMNS})
    frame_row.update({f"attr_{k}": v for k, v in (values.get("attributes") or {}).items()})
    row, model = active_model(session)
    day = _as_of(as_of)
    check_valuation_date(day, model)
    result = engine.value_many(
        model, pd.DataFrame([frame_row]), day, _pool(session), limits=comp_limits()
    )[0]
    _refuse_if_limited(result, f"the subject as of {day}")
    result.model_version = row.version
    _with_staleness(result, model_staleness(session, row))
    stored = _store(session, None, result, values)
    record_audit(
        session,
        "value",
        "subject",
        None,
        {"address": values.get("address"), "valuation_id": stored.id},
    )
    return stored


@dataclass(frozen=True)
class IndexPoint:
    """One period of an area's market index: its label, centre date, level (100 at the
    first period) and the sales that period was fitted on."""

    period: str
    day: date
    level: float
    n_sales: int


@dataclass(frozen=True)
class AreaIndex:
    """The market index the active model applies to a property: its market, its area (the
    index's area column value, None when the index has no areas) and the periods."""

    market: str
    area: str | None
    area_column: str | None
    model_version: str
    points: list[IndexPoint]


def market_index_of(session: Session, property_id: uuid.UUID) -> AreaIndex | None:
    """The active model's market/time index for the property's market and area (the
    smoothed log level plus the area's deviation, seasonality left out), as the level
    relative to the first period; None when the organisation has no model."""
    prop = tenancy.get(session, Property, property_id)
    if prop is None:
        raise NotFound(f"no property {property_id} in this organisation")
    if _active_row(session) is None:
        return None
    row, model = active_model(session)
    frame = prepare_frame(property_frame([prop]), require_price=False)
    market = str(model.market_of(frame)[0])
    core = model.markets[market].core
    index = core.index
    labels = core.area_labels(frame)
    area = None if labels is None else str(labels[0])
    log_level = np.asarray(index.log_level, dtype="float64")
    if area is not None and area in index.area_log_dev:
        log_level = log_level + np.asarray(index.area_log_dev[area], dtype="float64")
    if not len(log_level):
        return AreaIndex(market, area, index.area_column, row.version, [])
    levels = 100.0 * np.exp(log_level - log_level[0])
    epoch = date(1970, 1, 1).toordinal()
    points = [
        IndexPoint(str(label), date.fromordinal(epoch + int(day)), float(level), int(n))
        for label, day, level, n in zip(
            index.period_label, index.centre_day, levels, index.n_sales, strict=True
        )
    ]
    return AreaIndex(market, area, index.area_column, row.version, points)


def estimate_properties(
    session: Session,
    properties: Sequence[Property],
    as_of: date | None = None,
    overrides: dict[str, Any] | None = None,
) -> tuple[str, list[ValuationResult]]:
    """Value stored properties with the active model, without storing the valuations, and
    optionally as if some of their attributes were different (``{"condition": 7}``: the
    value after a renovation, for an ARV; a value for all, or a list of one per property).
    Returns the model version and one result per
    property, in order. For callers that keep the figures in their own records
    (underwriting stores them with the model version)."""
    row, model = active_model(session)
    frame = property_frame(properties)
    for name, value in (overrides or {}).items():
        frame[name] = value
    results = engine.value_many(model, frame, _as_of(as_of), _pool(session))
    for result in results:
        result.model_version = row.version
    return row.version, results


SessionFactory = Callable[[], AbstractContextManager[Session]]
#: After each chunk's valuations are written and before its transaction ends, with the number
#: of chunks this call has written: a test raises here to prove a failed chunk leaves no trace.
ChunkHook = Callable[[int], None]


def open_value_run(session: Session, as_of: date | None = None) -> tuple[ValuationRun, bool]:
    """The ``value --all`` run to work on, and whether it is being resumed.

    An unfinished run is resumed when ``as_of`` is not given or is its date: its date and
    model stay those it started with, even if the run is resumed on another day or after a
    new model was trained. Otherwise a new run starts with today's (or ``as_of``'s) date and
    the active model."""
    stmt = select(ValuationRun).where(ValuationRun.status == "running")
    if as_of is not None:
        stmt = stmt.where(ValuationRun.valuation_date == as_of)
    unfinished = session.scalars(stmt.order_by(ValuationRun.created_at.desc())).first()
    if unfinished is not None:
        return unfinished, True
    row, model = active_model(session)
    check_valuation_date(_as_of(as_of), model)
    run = ValuationRun(
        valuation_date=_as_of(as_of),
        model_version=row.version,
        status="running",
        properties_total=int(session.scalar(select(func.count(Property.id))) or 0),
        properties_done=0,
        valued=0,
        not_valued={},
    )
    session.add(run)
    session.flush()
    return run, False


def value_all(
    session_factory: SessionFactory,
    as_of: date | None = None,
    progress: Callable[[int, int], None] | None = None,
    *,
    chunk_properties: int = BATCH_SIZE,
    after_chunk: ChunkHook | None = None,
    on_resume: Callable[[ValuationRun], None] | None = None,
) -> dict[str, Any]:
    """Value every property that can be valued; the others are counted with their reason.

    Each chunk of ``chunk_properties`` properties is one transaction from
    ``session_factory``, committed with the run's checkpoint (:class:`ValuationRun`), so a
    run killed mid-way keeps its finished chunks and calling this again finishes it: each
    property is valued once, as of the run's date, with the run's model."""
    with session_factory() as session:
        run, resumed = open_value_run(session, as_of)
        run_id = run.id
        if resumed and on_resume is not None:
            on_resume(run)
    chunks = 0
    while True:
        with session_factory() as session:
            run = _run(session, run_id)
            finished = _value_next_chunk(session, run, chunk_properties)
            chunks += 1
            if after_chunk is not None:
                after_chunk(chunks)
            done, total = run.properties_done, run.properties_total
            summary = _run_summary(run)
            if finished:
                staleness = model_staleness(
                    session, model_by_version(session, run.model_version)[0]
                )
                summary["model_stale"] = staleness.stale
                summary["warnings"] = [w for w in [staleness.warning()] if w]
        if progress:
            progress(done, max(total, done))
        if finished:
            return summary


def _run(session: Session, run_id: uuid.UUID) -> ValuationRun:
    run = tenancy.get(session, ValuationRun, run_id)
    if run is None:
        raise NotFound(f"no valuation run {run_id} in this organisation")
    assert isinstance(run, ValuationRun)
    return run


def _run_summary(run: ValuationRun) -> dict[str, Any]:
    return {
        "run_id": str(run.id),
        "valued": run.valued,
        "not_valued": dict(run.not_valued),
        "properties": run.properties_done,
        "model_version": run.model_version,
        "valuation_date": run.valuation_date.isoformat(),
    }


def _value_next_chunk(session: Session, run: ValuationRun, size: int) -> bool:
    """Value the next ``size`` properties after the run's checkpoint and move the checkpoint
    past them, in the caller's transaction; True when no property is left (the run is done)."""
    row, model = model_by_version(session, run.model_version)
    stmt = select(Property).order_by(Property.id).limit(size)
    if run.last_property_id is not None:
        stmt = stmt.where(Property.id > run.last_property_id)
    chunk = session.scalars(stmt).all()
    refused = dict(run.not_valued)
    valued, not_valued = _value_and_store(session, row, model, chunk, run.valuation_date)
    for reason in not_valued.values():
        refused[reason] = refused.get(reason, 0) + 1
    run.valued += valued
    run.not_valued = refused
    run.properties_done += len(chunk)
    if chunk:
        run.last_property_id = chunk[-1].id
    finished = len(chunk) < size
    if finished:
        run.status = "done"
        run.finished_at = datetime.now(UTC)
        record_audit(
            session,
            "value_all",
            "property",
            None,
            {"valued": run.valued, "valuation_date": run.valuation_date, "run_id": run.id},
        )
    session.flush()
    return finished


def _value_and_store(
    session: Session,
    row: AvmModelVersion,
    model: engine.AvmModel,
    props: Sequence[Property],
    day: date,
) -> tuple[int, dict[uuid.UUID, str]]:
    """Value ``props`` as of ``day`` with the model and store a valuation for each that
    could be valued; the number stored and, by property, why the others were not."""
    valuable, _reasons = _split_valuable(props)
    kept = {p.id for p in valuable}
    not_valued = {p.id: _split_valuable([p])[1][0] for p in props if p.id not in kept}
    if not valuable:
        return 0, not_valued
    results = engine.value_many(
        model, property_frame(valuable), day, _pool(session), limits=comp_limits()
    )
    staleness = model_staleness(session, row)
    rows = []
    for prop, res in zip(valuable, results, strict=True):
        if res.refusal is not None:
            not_valued[prop.id] = str(res.method["limits"]["refused_for"])  # limits.REFUSED_FOR
            continue
        res.model_version = row.version
        _with_staleness(res, staleness)
        rows.append(
            {
                "id": uuid.uuid4(),
                "property_id": prop.id,
                "valuation_date": day,
                "estimated_value": float(res.estimated_value),
                "interval_low": float(res.interval_80[0]),
                "interval_high": float(res.interval_80[1]),
                "confidence": res.confidence,
                "model_version": row.version,
                "result": jsonable(res.to_dict()),
            }
        )
    if rows:
        session.execute(insert(Valuation), tenancy.stamp(session, rows))
    return len(rows), not_valued


def value_properties(
    session: Session, property_ids: Sequence[uuid.UUID], as_of: date | None = None
) -> tuple[int, dict[uuid.UUID, str]]:
    """Value the given properties with the active model as of ``as_of`` (today) and store
    a valuation for each, as ``value --all`` does for every property: the batch path of a
    pipeline run. Returns how many were valued and, by property, why the others were not
    (no living area, no location, too few comparables). Raises when the organisation has no
    model (``reos avm train``) or the date is outside what the model values."""
    row, model = active_model(session)
    day = _as_of(as_of)
    if day > datetime.now(UTC).date() + timedelta(days=get_settings().avm_future_tolerance_days):
        check_valuation_date(day, model)  # refuses the future date, with what to do
    props: list[Property] = []
    props.extend(properties_read.properties_by_id(session, property_ids))
    props.sort(key=lambda p: p.id)
    valued, not_valued = _value_and_store(session, row, model, props, day)
    session.flush()
    return valued, not_valued


def _split_valuable(props: Iterable[Property]) -> tuple[list[Property], list[str]]:
    ok, reasons = [], []
    for p in props:
        if p.latitude is None and not p.zip:
            reasons.append("no coordinates or zip")
        elif not p.living_area_sqft:
            reasons.append("no living area")
        else:
            ok.append(p)
    return ok, reasons


def get_valuation(session: Session, valuation_id: uuid.UUID) -> Valuation:
    row = tenancy.get(session, Valuation, valuation_id)
    if row is None:
        raise NotFound(f"no valuation {valuation_id} in this organisation")
    assert isinstance(row, Valuation)
    return row


def list_valuations(
    session: Session, *, property_id: uuid.UUID | None = None, limit: int = 50, offset: int = 0
) -> tuple[Sequence[Valuation], int]:
    stmt = select(Valuation)
    if property_id is not None:
        stmt = stmt.where(Valuation.property_id == property_id)
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = session.scalars(
        stmt.order_by(Valuation.created_at.desc(), Valuation.id).limit(limit).offset(offset)
    ).all()
    return rows, total


def ratio_study_of_stored(session: Session, *, draws: int = 1000) -> RatioStudy:
    """IAAO ratio study of stored valuations against the sale of the same property that
    closed on or after the valuation date and within ``RATIO_STUDY_WINDOW_DAYS`` (the
    latest valuation before each such sale counts once)."""
    stmt = select(
        Valuation.property_id,
        Valuation.estimated_value,
        Valuation.interval_low,
        Valuation.interval_high,
        Valuation.valuation_date,
    )
    valued: dict[Any, list[tuple[Any, ...]]] = {}
    for pid, est, low, high, vdate in session.execute(stmt):
        valued.setdefault(pid, []).append((est, low, high, vdate))
    best: dict[Any, tuple[Any, ...]] = {}
    for sale_id, pid, price, cdate in properties_read.arm_length_sales(session):
        for est, low, high, vdate in valued.get(pid, ()):
            if cdate < vdate or (cdate - vdate).days > RATIO_STUDY_WINDOW_DAYS:
                continue
            if sale_id not in best or vdate > best[sale_id][4]:
                best[sale_id] = (est, low, high, float(price), vdate)
    if len(best) < 5:
        raise InsufficientData(
            f"{len(best)} stored valuations have a later sale to compare with; a ratio study needs at least 5"
        )
    arr = np.array([b[:4] for b in best.values()], dtype="float64")
    return ratio_study(arr[:, 0], arr[:, 3], arr[:, 1], arr[:, 2], draws=draws)


def delete_model_files(row: AvmModelVersion) -> None:
    shutil.rmtree(row.path, ignore_errors=True)


def parse_date(value: str | None, field: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(
            f"{field} must be a date like 2010-06-30, not {value!r}", field=field
        ) from None
