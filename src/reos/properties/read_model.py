"""What other domains read of properties and sales: functions that answer their questions,
so no other domain joins the ``properties`` or ``sales`` tables itself (valuation's sales
frame, owners' property addresses and last sales, the import's owner linking).

Every query is scoped to the session's organisation (``tenancy``). Keys go to the database
as one parameter per batch (:func:`reos.kernel.bulk.among`).
"""

from __future__ import annotations

import functools
import operator
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Float, RowMapping, Select, String, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from reos.kernel.bulk import among, in_batches
from reos.kernel.parcels import PARCEL_SEPARATORS
from reos.models import Property, Sale

#: Sale columns a sales frame may ask for.
SALE_FRAME_COLUMNS = (
    "close_date",
    "close_date_precision",
    "sale_price",
    "arm_length",
    "sale_condition",
    "sale_type",
)


def sales_with_properties(
    session: Session,
    property_columns: Sequence[str],
    sale_columns: Sequence[str] = SALE_FRAME_COLUMNS,
    *,
    before: date | None = None,
) -> Sequence[RowMapping]:
    """Every sale (closed before ``before`` when given) with its property's columns, one
    mapping per sale: ``sale_id``, ``property_id``, ``sale_columns``, ``property_columns``,
    ``address`` (normalised, else as given) and ``attributes`` (the property's)."""
    stmt = select(
        Sale.id.label("sale_id"),
        Sale.property_id,
        *[getattr(Sale, c) for c in sale_columns],
        *[getattr(Property, c) for c in property_columns],
        func.coalesce(Property.address_normalized, Property.address).label("address"),
        Property.attributes,
    ).join(Property, Property.id == Sale.property_id)
    if before is not None:
        stmt = stmt.where(Sale.close_date < before)
    return session.execute(stmt).mappings().all()


def sales_version(session: Session) -> tuple[Any, ...]:
    """A value that changes whenever the organisation's sales do (count, last update): a
    cache of a sales frame is valid while it is the same."""
    return tuple(session.execute(select(func.count(Sale.id), func.max(Sale.updated_at))).one())


def sales_since(
    session: Session, closed_on_or_after: date, recorded_after: datetime
) -> tuple[int, date | None]:
    """How many sales not known to be other than arm's-length closed on or after
    ``closed_on_or_after`` or were recorded after ``recorded_after`` (a late-filed sale of
    an earlier date), and the newest close date of all such sales (None when there are none).
    Valuation asks this to tell whether a model is older than the data."""
    since = or_(Sale.close_date >= closed_on_or_after, Sale.created_at > recorded_after)
    count, newest = session.execute(
        select(func.count(Sale.id), func.max(Sale.close_date)).where(
            since, Sale.arm_length.is_not(False)
        )
    ).one()
    return int(count or 0), newest


def arm_length_sales(session: Session) -> list[tuple[uuid.UUID, uuid.UUID, float, date]]:
    """``(sale id, property id, sale price, close date)`` of every sale not known to be
    other than arm's-length (``arm_length`` true or unknown)."""
    stmt = select(Sale.id, Sale.property_id, Sale.sale_price, Sale.close_date).where(
        Sale.arm_length.is_not(False)
    )
    return [(sid, pid, price, day) for sid, pid, price, day in session.execute(stmt)]


def last_sale_dates(
    session: Session, property_ids: Iterable[uuid.UUID] | None
) -> dict[uuid.UUID, date]:
    """The latest close date per property (of all the organisation's properties when
    ``property_ids`` is None)."""
    stmt = select(Sale.property_id, func.max(Sale.close_date)).group_by(Sale.property_id)
    if property_ids is None:
        return {pid: day for pid, day in session.execute(stmt)}
    out: dict[uuid.UUID, date] = {}
    for batch in in_batches(property_ids):
        where = stmt.where(among(session, Sale.property_id, batch))
        out.update({pid: day for pid, day in session.execute(where)})
    return out


def site_addresses(
    session: Session, property_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, tuple[str | None, str | None, str | None, str | None]]:
    """``(address, city, state, zip)`` of each property, by id."""
    out: dict[uuid.UUID, tuple[str | None, str | None, str | None, str | None]] = {}
    for batch in in_batches(property_ids):
        stmt = select(
            Property.id, Property.address, Property.city, Property.state, Property.zip
        ).where(among(session, Property.id, batch))
        for pid, address, city, state, zip_code in session.execute(stmt):
            out[pid] = (address, city, state, zip_code)
    return out


def property_ids_by(session: Session, name: str, values: Iterable[Any]) -> dict[Any, list[Any]]:
    """Property ids by their value of ``name`` (``parcel_number``, ``address_key``), for
    the values given; a value several properties share lists them all."""
    column = getattr(Property, name)
    found: dict[Any, list[Any]] = {}
    for batch in in_batches(values):
        stmt = select(Property.id, column).where(among(session, column, batch))
        for pid, value in session.execute(stmt):
            found.setdefault(value, []).append(pid)
    return found


def last_sales(
    session: Session, property_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, tuple[date, float | None, float | None]]:
    """``(close date, sale price, list price)`` of each property's latest sale, by id (a
    property without a sale is absent). Prices in dollars; the list price is the last
    asking price the sale record carries, when any."""
    out: dict[uuid.UUID, tuple[date, float | None, float | None]] = {}
    for batch in in_batches(property_ids):
        stmt = (
            select(Sale.property_id, Sale.close_date, Sale.sale_price, Sale.list_price)
            .where(among(session, Sale.property_id, batch))
            .order_by(Sale.property_id, Sale.close_date)
        )
        for pid, day, price, listed in session.execute(stmt):
            out[pid] = (  # ascending dates: the last row of a property wins
                day,
                None if price is None else float(price),
                None if listed is None else float(listed),
            )
    return out


def properties_after(session: Session, after: uuid.UUID | None, limit: int) -> Sequence[Property]:
    """The next ``limit`` properties in id order after ``after`` (from the first when
    None): the page a chunked, resumable run over every property works through."""
    stmt = select(Property).order_by(Property.id).limit(limit)
    if after is not None:
        stmt = stmt.where(Property.id > after)
    return session.scalars(stmt).all()


def property_count(session: Session) -> int:
    """How many properties the organisation has."""
    return int(session.scalar(select(func.count(Property.id))) or 0)


def newest_changes(session: Session) -> dict[str, datetime | None]:
    """The latest ``updated_at`` of the organisation's properties and of its sales (None
    when it has none): the watermarks a run of the pipeline covers up to."""
    return {
        "properties": session.scalar(select(func.max(Property.updated_at))),
        "sales": session.scalar(select(func.max(Sale.updated_at))),
    }


def property_ids_changed_since(
    session: Session, properties_after: datetime | None, sales_after: datetime | None
) -> set[uuid.UUID]:
    """Ids of the properties created or changed after ``properties_after``, and of those
    with a sale recorded or changed after ``sales_after`` (None: every one)."""
    stmt = select(Property.id)
    if properties_after is not None:
        stmt = stmt.where(Property.updated_at > properties_after)
    ids = set(session.scalars(stmt))
    sales = select(Sale.property_id).distinct()
    if sales_after is not None:
        sales = sales.where(Sale.updated_at > sales_after)
    ids.update(session.scalars(sales))
    return ids


def properties_by_id(session: Session, property_ids: Iterable[uuid.UUID]) -> list[Property]:
    """The organisation's properties among ``property_ids`` (ids of another organisation
    or of deleted properties are absent)."""
    out: list[Property] = []
    for batch in in_batches(property_ids):
        out.extend(session.scalars(select(Property).where(among(session, Property.id, batch))))
    return out


def parcel_key_expression() -> Any:
    """The stored parcel number as :func:`reos.kernel.parcels.parcel_key` writes it, in SQL
    (``upper`` with every separator replaced by nothing), so a lookup compares keys in the
    database instead of loading every parcel number."""
    expression: Any = func.upper(Property.parcel_number)
    for separator in PARCEL_SEPARATORS:
        expression = func.replace(expression, separator, "", type_=String)
    return expression


def property_ids_by_parcel_key(session: Session, keys: Iterable[str]) -> dict[str, list[uuid.UUID]]:
    """Property ids by the key of their parcel number (:func:`reos.kernel.parcels.parcel_key`)
    for the keys given; a key several properties share lists them all. The database compares
    the key expression of the organisation's parcel numbers with the keys (one parameter
    per batch), so no parcel number is loaded that does not match."""
    wanted = {k for k in keys if k}
    found: dict[str, list[uuid.UUID]] = {}
    expression = parcel_key_expression()
    for batch in in_batches(wanted):
        stmt = select(Property.id, expression).where(
            Property.parcel_number.is_not(None), among(session, expression, batch)
        )
        for pid, key in session.execute(stmt):
            found.setdefault(key, []).append(pid)
    return found


@dataclass(frozen=True)
class PropertyFacts:
    """What deal flow reads of a property: where it is, what it is, and its attributes
    (``assessed_value``, ``mortgage_balance`` ... when a source gave them; dollars)."""

    address_key: str | None
    address: str | None
    city: str | None
    state: str | None
    zip: str | None
    property_type: str | None
    attributes: dict[str, Any]
    updated_at: datetime | None


def property_facts(
    session: Session, property_ids: Iterable[uuid.UUID] | None = None
) -> dict[uuid.UUID, PropertyFacts]:
    """:class:`PropertyFacts` of each property (every property of the organisation when
    ``property_ids`` is None), by id, read in batches."""
    columns = (
        Property.id,
        Property.address_key,
        func.coalesce(Property.address_normalized, Property.address),
        Property.city,
        Property.state,
        Property.zip,
        Property.property_type,
        Property.attributes,
        Property.updated_at,
    )
    statements: Iterable[Any]
    if property_ids is None:
        statements = [select(*columns)]
    else:
        statements = (
            select(*columns).where(among(session, Property.id, batch))
            for batch in in_batches(property_ids)
        )
    out: dict[uuid.UUID, PropertyFacts] = {}
    for stmt in statements:
        for pid, key, address, city, state, zip_code, kind, attributes, updated in session.execute(
            stmt
        ):
            out[pid] = PropertyFacts(
                key, address, city, state, zip_code, kind, dict(attributes or {}), updated
            )
    return out


def property_ids_where(
    session: Session,
    *,
    cities: Sequence[str] = (),
    zips: Sequence[str] = (),
    property_types: Sequence[str] = (),
) -> list[uuid.UUID]:
    """Ids of the organisation's properties in one of ``cities`` (case-insensitive), one of
    ``zips`` and of one of ``property_types``; an empty sequence does not filter."""
    stmt = select(Property.id)
    if cities:
        stmt = stmt.where(func.upper(Property.city).in_([c.upper() for c in cities]))
    if zips:
        stmt = stmt.where(Property.zip.in_(list(zips)))
    if property_types:
        stmt = stmt.where(Property.property_type.in_(list(property_types)))
    return list(session.scalars(stmt))


def import_sources(
    session: Session, property_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, tuple[uuid.UUID, int]]:
    """``(import id, row number)`` of the file row that created each property, by id (a
    property entered by hand, or whose import is not recorded, is absent): where its
    original columns can be read back (``reos.ingest.service.original_rows``)."""
    out: dict[uuid.UUID, tuple[uuid.UUID, int]] = {}
    for batch in in_batches(property_ids):
        stmt = select(Property.id, Property.provenance).where(among(session, Property.id, batch))
        for pid, provenance in session.execute(stmt):
            row = (provenance or {}).get("row") or {}
            import_id, number = row.get("import_id"), row.get("row")
            if import_id and isinstance(number, int):
                try:
                    out[pid] = (uuid.UUID(str(import_id)), number)
                except ValueError:
                    continue
    return out


def existing_ids(session: Session, property_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Those of the given ids that are the organisation's properties."""
    out: set[uuid.UUID] = set()
    for batch in in_batches(property_ids):
        out.update(session.scalars(select(Property.id).where(among(session, Property.id, batch))))
    return out


def coordinates(
    session: Session, property_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, tuple[float, float]]:
    """``(latitude, longitude)`` of each located property given, by id (a property without
    coordinates is absent): the markers of a map."""
    out: dict[uuid.UUID, tuple[float, float]] = {}
    for batch in in_batches(property_ids):
        stmt = select(Property.id, Property.latitude, Property.longitude).where(
            among(session, Property.id, batch),
            Property.latitude.is_not(None),
            Property.longitude.is_not(None),
        )
        for pid, lat, lon in session.execute(stmt):
            if lat is not None and lon is not None:
                out[pid] = (float(lat), float(lon))
    return out


def in_area(
    south: float,
    west: float,
    north: float,
    east: float,
    ring: Sequence[tuple[float, float]] = (),
) -> Select[uuid.UUID]:
    """The ids of the organisation's properties inside a map area, as a statement another
    domain's query embeds (``Deal.property_id.in_(in_area(...))``; the session's tenancy
    scopes it like any query): the box, edges included (a box does not cross the
    antimeridian), and when ``ring`` gives the (lat, lon) vertices of a drawn polygon, the
    even-odd ray cast of that polygon too.

    Both tests run in the database, so no list of ids travels: a polygon drawn round a town
    holds tens of thousands of properties, and reading their ids and coordinates out to
    test them in Python was most of the deals page's time (400 ms at 25,000 deals).

    The ray cast is planar (degrees as plane coordinates, as :func:`reos.geo.point_in_polygon`
    does): the edge from (yi, xi) to (yj, xj) crosses the ray east of (lat, lon) when
    ``min(yi, yj) <= lat < max(yi, yj)`` (the half-open rule counts a vertex once) and
    ``lon < (xj - xi)(lat - yi)/(yj - yi) + xi``; an odd count of crossings is inside.
    Horizontal edges never cross."""
    lat, lon = Property.latitude, Property.longitude
    stmt = select(Property.id).where(lat.between(south, north), lon.between(west, east))
    crossings = []
    for (yi, xi), (yj, xj) in zip(ring, [*ring[-1:], *ring[:-1]], strict=True):
        if yi == yj:
            continue
        low, high = min(yi, yj), max(yi, yj)
        edge_lon = literal(xj - xi, Float) * (lat - yi) / literal(yj - yi, Float) + xi
        crossings.append(case((and_(lat >= low, lat < high, lon < edge_lon), 1), else_=0))
    if ring:
        if not crossings:  # every vertex on one parallel: a polygon without area
            return stmt.where(lat.is_(None))
        stmt = stmt.where(functools.reduce(operator.add, crossings) % 2 == 1)
    return stmt
