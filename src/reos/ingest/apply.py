"""Write one validated chunk to the database: upserts, history, provenance, quarantine.

The import service calls :func:`apply_chunk` once per chunk inside the chunk's transaction.
Per chunk it runs one scoped query per identifying key to load the records the chunk may
touch, decides in memory what each row does (insert / update / unchanged / quarantine),
then writes with bulk Core statements: inserts for new rows (``tenancy.stamp`` sets
``org_id``), one executemany UPDATE for the changed rows only, and bulk inserts of the
field changes and quarantined rows. Memory is bounded by the chunk.

Matching (all within the organisation):

* property: the mapping's key when it is a property key (``parcel_number`` /
  ``source_record_id``), then parcel number, source record id, and finally the normalised
  address key. A fallback match is refused when both sides carry different parcel numbers.
* sale: the same ``sale_record_id``, else the same property + close date + price (the same
  sale seen in two sources is one sale).
* owner record: ``owner_record_id``.

Precedence: the newest observation wins. Every value carries its provenance
(``{import_id, source, file, row, observed_at}``, stored once per source: see
:mod:`reos.models.provenance`) and a value observed at or after the stored one replaces
it; the replaced value and its provenance go to ``field_changes``. An empty cell never
erases a stored value (a source that lacks a field says nothing about it).
"""

from __future__ import annotations

import itertools
import json
import operator
import os
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Table, Text, any_, bindparam, cast, func, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from reos.db import tenancy
from reos.geo import CELL_COLUMNS, cell_columns
from reos.ingest.addresses import normalize_address
from reos.ingest.fields import Entity, fields_for
from reos.ingest.validation import Validated
from reos.models import FieldChange, OwnerRecord, Property, Sale
from reos.models.imports import QuarantinedRow
from reos.models.provenance import FIELDS, ROW, for_new_record, set_source, source_of

#: Canonical property columns an import fills (address parts included).
PROPERTY_FIELDS: tuple[str, ...] = tuple(f.name for f in fields_for(Entity.PROPERTY))
#: Derived columns: normalised address and H3 cells; they carry no provenance of their own.
PROPERTY_DERIVED: tuple[str, ...] = (
    "address_normalized",
    "address_key",
    "h3_cell",
    "h3_cell_r7",
    "h3_cell_r5",
)
SALE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields_for(Entity.SALE))
OWNER_FIELDS: tuple[str, ...] = tuple(f.name for f in fields_for(Entity.OWNER))
#: ``attr.sale.<name>`` in a mapping lands in ``Sale.attributes[<name>]``; every other
#: ``attr.*`` of a sales file describes the property and lands in ``Property.attributes``.
SALE_ATTRIBUTE_PREFIX = "sale."
#: Bind parameters per IN list: under SQLite's limit of 32,766 with room for the rest.
IN_BATCH = 4_096
#: The lengths IN lists are padded to.
IN_SIZES = (16, 64, 256, 1_024, IN_BATCH)
MAX_WARNING_KINDS = 50
#: New records written per INSERT / COPY statement.
INSERT_BATCH = 2_000
#: SQLite page cache for import connections, KiB.
SQLITE_CACHE_KIB = 48 * 1024


@dataclass(frozen=True)
class ImportContext:
    """What every stored value's provenance records about this import."""

    import_id: uuid.UUID
    source_name: str
    filename: str
    observed_at: str  # ISO 8601; the time the file was received
    record: str  # sale | property | owner
    key: str

    def provenance(self, row_number: int) -> dict[str, Any]:
        return {
            "import_id": str(self.import_id),
            "source": self.source_name,
            "file": self.filename,
            "row": row_number,
            "observed_at": self.observed_at,
        }


@dataclass
class ChunkResult:
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    warnings: Counter[str] = field(default_factory=Counter)
    warning_rows: dict[str, int] = field(default_factory=dict)
    unlinked_owners: int = 0
    ambiguous_owners: int = 0
    resolved: list[int] = field(default_factory=list)  # row numbers that passed (for retry)

    def warn(self, message: str, row_number: int) -> None:
        if message not in self.warnings and len(self.warnings) >= MAX_WARNING_KINDS:
            message = "other warnings"
        self.warnings[message] += 1
        self.warning_rows.setdefault(message, row_number)


class _Record:
    """One property, sale or owner record as the chunk sees it (loaded or new).

    A loaded record keeps its JSON columns (provenance, attributes, warnings) as the
    stored text until something needs them: most records a chunk loads are matched and
    found unchanged, and decoding their per-field provenance was most of the load's cost.
    Provenance that an unchanged row would add for fields stored without any is queued
    and applied, in order, when the record is decoded.
    """

    __slots__ = (
        "id", "values", "new", "dirty", "extra",
        "_provenance", "_attributes", "_warnings", "_raw", "_pending",
    )  # fmt: skip

    def __init__(
        self,
        id: uuid.UUID,
        values: dict[str, Any],
        provenance: dict[str, Any] | None = None,
        attributes: dict[str, Any] | None = None,
        warnings: list[Any] | None = None,
        *,
        new: bool = False,
        extra: dict[str, Any] | None = None,
        raw: tuple[Any, Any, Any] | None = None,
    ) -> None:
        self.id = id
        self.values = values
        self.new = new
        self.dirty = False
        self.extra: dict[str, Any] = extra if extra is not None else {}
        self._raw = raw
        self._provenance = provenance if raw is None else None
        self._attributes = attributes if raw is None else None
        self._warnings = warnings if raw is None else None
        self._pending: list[tuple[list[str], dict[str, Any]]] = []

    @property
    def provenance(self) -> dict[str, Any]:
        """The stored (compact) provenance, decoded on first use."""
        if self._provenance is None:
            self._provenance = dict(_json(self._raw[0] if self._raw else None) or {})
            for names, prov in self._pending:
                self._confirm(names, prov)
            self._pending = []
        return self._provenance

    @provenance.setter
    def provenance(self, value: dict[str, Any]) -> None:
        self._provenance = value
        self._pending = []

    @property
    def attributes(self) -> dict[str, Any]:
        if self._attributes is None:
            self._attributes = dict(_json(self._raw[1] if self._raw else None) or {})
        return self._attributes

    @attributes.setter
    def attributes(self, value: dict[str, Any]) -> None:
        self._attributes = value

    @property
    def warnings(self) -> list[Any]:
        if self._warnings is None:
            self._warnings = list(_json(self._raw[2] if self._raw else None) or [])
        return self._warnings

    @warnings.setter
    def warnings(self, value: list[Any]) -> None:
        self._warnings = value

    def note_provenance(self, names: list[str], prov: dict[str, Any]) -> None:
        """Provenance for fields whose value a row confirmed, kept only where the stored
        record has none (the record is not marked changed)."""
        if self._provenance is None:
            self._pending.append((names, prov))
            return
        self._confirm(names, prov)

    def _confirm(self, names: list[str], prov: dict[str, Any]) -> None:
        stored = self._provenance
        assert stored is not None
        if stored.get(ROW) is not None and not stored.get(FIELDS):
            return  # every value has its source already
        for name in names:
            if source_of(stored, name) is None:
                set_source(stored, name, prov)


class _Pending:
    """A row whose record does not exist yet.

    Most rows of a bulk import create a record that no other row of the chunk touches;
    such a record is written straight from the row's values at the end of the chunk
    (:func:`_pending_property_rows`, :func:`_pending_sale_rows`), without the per-field
    merge. A later row of the same chunk that matches it turns it into a :class:`_Record`
    first (``materialize``), built by the same code a row-by-row upsert uses, so the
    outcome is the same either way.
    """

    __slots__ = ("id", "item", "values", "attributes", "prov", "property_id")

    def __init__(
        self,
        id: uuid.UUID,
        item: Validated,
        attributes: dict[str, Any],
        prov: dict[str, Any],
        property_id: uuid.UUID | None = None,
    ) -> None:
        self.id = id
        self.item = item
        self.values = item.values
        self.attributes = attributes
        self.prov = prov
        self.property_id = property_id


def _json(value: Any) -> Any:
    """A JSON column read as text (``cast(... AS TEXT)``), decoded; already-decoded
    values pass through."""
    if value is None or not isinstance(value, str | bytes):
        return value
    return json.loads(value)


_id_clock = [0, 0]  # last millisecond used, sequence within it
#: Random bits for ids, read from the OS generator 32 KiB at a time (one system call per
#: 4,096 ids instead of one per id).
_RANDOM_BATCH = 4_096
_random_bits: list[int] = []


def new_id() -> uuid.UUID:
    """A time-ordered random id (the UUID version 7 layout: 48-bit Unix milliseconds, a
    12-bit sequence, 62 random bits). Records created by one import get increasing ids,
    so their primary-key index grows at its end instead of at random pages - the index
    maintenance cost of a bulk insert drops on both SQLite and PostgreSQL. The random
    bits come from the OS generator, as ``uuid4``'s do."""
    now_ms = time.time_ns() // 1_000_000
    last, sequence = _id_clock
    if now_ms <= last:
        now_ms, sequence = last, sequence + 1
        if sequence > 0xFFF:
            now_ms, sequence = last + 1, 0
    else:
        sequence = 0
    _id_clock[0], _id_clock[1] = now_ms, sequence
    value = (now_ms << 80) | (0x7 << 76) | (sequence << 64) | (0b10 << 62)
    if not _random_bits:
        block = os.urandom(8 * _RANDOM_BATCH)
        _random_bits.extend(int.from_bytes(block[i : i + 8]) >> 2 for i in range(0, len(block), 8))
    return uuid.UUID(int=value | _random_bits.pop())


def _plain(value: Any) -> Any:
    """A value as JSON stores it and as comparisons see it (Decimal -> float, date -> text)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _same(old: Any, new: Any) -> bool:
    if old is None or new is None:
        return old is new
    if isinstance(old, Decimal) or isinstance(new, Decimal):
        return float(old) == float(new)
    if isinstance(old, bool) or isinstance(new, bool):
        return bool(old) == bool(new) and type(old) is type(new)
    if isinstance(old, int | float) and isinstance(new, int | float):
        return float(old) == float(new)
    return bool(old == new)


_JSON_COLUMNS = frozenset({"provenance", "attributes", "warnings"})


def _fetch(
    session: Session,
    model: Any,
    names: Sequence[str],
    column: str,
    values: list[Any],
    *,
    ordered: bool = True,
) -> Any:
    """Rows (columns ``names``, JSON columns as text to be decoded only when used) of the
    organisation's records whose ``column`` is among ``values``, oldest first.

    A Core statement on the table, not an ORM query: the ORM's row loading was a third of
    what looking up a bulk import's records cost (scoped by ``tenancy.of_org``)."""
    table = model.__table__
    stmt = select(
        *(cast(table.c[n], Text).label(n) if n in _JSON_COLUMNS else table.c[n] for n in names)
    ).where(tenancy.of_org(session, table), _among(session, table.c[column], values))
    if ordered:
        stmt = stmt.order_by(table.c.created_at, table.c.id)
    return session.connection().execute(stmt)


def _among(session: Session, column: Any, values: list[Any]) -> Any:
    """``column`` is one of ``values``, as one bind parameter where the database allows.

    Rendering a list of thousands of values as that many parameters was most of what a
    lookup cost on PostgreSQL (SQLAlchemy expanding the list, psycopg converting the
    statement, neither cacheable): there the list is one array, ``column = ANY(:values)``,
    which the column's index serves. On SQLite it is one JSON array read by ``json_each``,
    except for primary keys: without statistics SQLite's planner prefers any index on
    ``org_id`` to the primary key for ``id IN (SELECT ...)``, so ids stay a list of
    parameters (padded, see :func:`_padded`)."""
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        # the array as one literal for the server to parse: psycopg's list adaptation
        # was 1 s of a 100,000-row import's lookups
        listed = ",".join(
            '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values
        )
        # no type on the parameter: the server takes it for the array it is cast to, so
        # the planner sees an array value, as with a list (a CAST of a typed text
        # parameter is opaque to it, and with thousands of keys it planned a scan that
        # compared every row with every key)
        array = cast(bindparam(None, "{" + listed + "}", type_=NullType()), ARRAY(column.type))
        return column == any_(array)
    if column.primary_key:
        return column.in_(_padded(values))
    processor = column.type.dialect_impl(dialect).bind_processor(dialect)
    items = json.dumps(list(map(processor, values)) if processor else values)
    members = func.json_each(bindparam(None, items, type_=Text)).table_valued("value")
    return column.in_(select(members.c.value))


def _in_batches(values: Iterable[Any]) -> list[list[Any]]:
    """The distinct values (none empty) in lists of at most ``IN_BATCH``, for :func:`_among`."""
    items = sorted({v for v in values if v not in (None, "")}, key=str)
    return [items[i : i + IN_BATCH] for i in range(0, len(items), IN_BATCH)]


def _padded(values: list[Any]) -> list[Any]:
    """``values`` padded (by repeating its last one) to one of a few lengths, for a list
    SQLite gets as that many parameters: every length is a separate prepared statement,
    and SQLite's statement cache holding one per length of a 5,000-value list cost an
    import over 100 MB."""
    size = next((s for s in IN_SIZES if s >= len(values)), len(values))
    return values + [values[-1]] * (size - len(values)) if values else values


def _issues(items: Sequence[Any]) -> list[dict[str, Any]]:
    return [i.to_dict() for i in items]


class _JsonText:
    """JSON text of one chunk's records, built without re-encoding what repeats.

    A new record's provenance is ``{"row": SOURCE}`` with the row's source dict, whose
    text the writer registered when it made it; that text is spliced in instead of
    encoding the dict again. The result is exactly ``json.dumps`` of the value (same key
    order and separators), which is what the ORM would store.
    """

    def __init__(self) -> None:
        self._texts: dict[int, tuple[Any, str]] = {}

    def register(self, value: Any, text: str) -> None:
        self._texts[id(value)] = (value, text)

    def value(self, value: Any) -> str:
        hit = self._texts.get(id(value))
        if hit is not None and hit[0] is value:
            return hit[1]
        text = json.dumps(value)
        self._texts[id(value)] = (value, text)
        return text

    def provenance(self, provenance: dict[str, Any]) -> str:
        if len(provenance) == 1 and ROW in provenance:
            return f'{{"{ROW}": {self.value(provenance[ROW])}}}'
        return json.dumps(provenance)

    @staticmethod
    def plain(value: dict[str, Any] | list[Any]) -> str:
        return json.dumps(value) if value else ("{}" if isinstance(value, dict) else "[]")


def _processed(processor: Any, column: tuple[Any, ...]) -> tuple[Any, ...]:
    """A column through its bind processor; a column of one value throughout (the
    organisation, the chunk's ``created_at`` / ``updated_at``) is converted once. In a
    py-spy profile of a 100,000-row sales import on SQLite this cut the time spent
    preparing insert values outside SQLite's ``executemany`` from 1.38 s to 0.63 s."""
    first = column[0]
    if all(map(operator.is_, column, itertools.repeat(first))):  # the same object, not ==
        return (processor(first),) * len(column)
    return tuple(map(processor, column))


class _Writer:
    """Accumulates one chunk's writes, then flushes them as bulk statements."""

    def __init__(self, session: Session, ctx: ImportContext) -> None:
        self.session = session
        self.ctx = ctx
        self.now = datetime.now(UTC)
        self.org = tenancy.current_org(session)
        self.json = _JsonText()
        self._scratch: dict[str, str] = {}  # table -> this transaction's COPY table
        self.field_changes: list[dict[str, Any]] = []
        self.quarantine: list[dict[str, Any]] = []
        head = json.dumps(
            {"import_id": str(ctx.import_id), "source": ctx.source_name, "file": ctx.filename}
        )
        self._prov_head = head[:-1] + ', "row": '
        self._prov_tail = f', "observed_at": {json.dumps(ctx.observed_at)}}}'

    def provenance(self, row_number: int) -> dict[str, Any]:
        """``ctx.provenance(row_number)``, with its JSON text noted for the bulk insert."""
        prov = self.ctx.provenance(row_number)
        self.json.register(prov, f"{self._prov_head}{row_number}{self._prov_tail}")
        return prov

    def merge(
        self,
        record: _Record,
        entity_type: str,
        incoming: dict[str, Any],
        attributes: dict[str, Any],
        row_number: int,
        prov: dict[str, Any],
    ) -> bool:
        """Apply newer values to ``record``; True when anything changed."""
        if record.new and not record.dirty and record._provenance is not None:
            if not record._provenance and not record._attributes:
                return self._fill(record, incoming, attributes, prov)
        values = record.values
        if not any(
            value is not None and not _same(values.get(name), value)
            for name, value in incoming.items()
        ) and not any(
            value is not None
            and not (_same(old := record.attributes.get(name), value) and type(old) is type(value))
            for name, value in attributes.items()
        ):
            record.note_provenance([n for n, v in incoming.items() if v is not None], prov)
            return False
        changed = False
        for name, value in incoming.items():
            if value is None:
                continue
            old = record.values.get(name)
            if _same(old, value):
                if source_of(record.provenance, name) is None:
                    set_source(record.provenance, name, prov)
                continue
            old_prov = source_of(record.provenance, name) or {}
            if old is not None and str(old_prov.get("observed_at", "")) > self.ctx.observed_at:
                continue  # a newer observation is stored: it wins
            if old is not None:
                self._change(record, entity_type, name, old, old_prov, value, prov, row_number)
            record.values[name] = value
            set_source(record.provenance, name, prov)
            changed = True
        for name, value in attributes.items():
            if value is None:
                continue
            key = f"attr.{name}"
            old = record.attributes.get(name)
            if _same(old, value) and type(old) is type(value):
                continue
            old_prov = source_of(record.provenance, key) or {}
            if old is not None and str(old_prov.get("observed_at", "")) > self.ctx.observed_at:
                continue
            if old is not None:
                self._change(record, entity_type, key, old, old_prov, value, prov, row_number)
            record.attributes = {**record.attributes, name: value}
            set_source(record.provenance, key, prov)
            changed = True
        if changed:
            record.dirty = True
        return changed

    @staticmethod
    def _fill(
        record: _Record,
        incoming: dict[str, Any],
        attributes: dict[str, Any],
        prov: dict[str, Any],
    ) -> bool:
        """``merge`` into a record created for this row: every value is new."""
        filled = {name: value for name, value in incoming.items() if value is not None}
        record.values.update(filled)
        extras = {name: value for name, value in attributes.items() if value is not None}
        if extras:
            record.attributes = {**record.attributes, **extras}
        if not (filled or extras):
            return False
        record.provenance = for_new_record(prov)
        record.dirty = True
        return True

    def _change(
        self,
        record: _Record,
        entity_type: str,
        name: str,
        old: Any,
        old_prov: dict[str, Any],
        new: Any,
        prov: dict[str, Any],
        row_number: int,
    ) -> None:
        self.field_changes.append(
            {
                "id": uuid.uuid4(),
                "entity_type": entity_type,
                "entity_id": record.id,
                "field": name,
                "old_value": {"value": _plain(old), **old_prov},
                "new_value": {"value": _plain(new), **prov},
                "import_id": self.ctx.import_id,
                "row_number": row_number,
                "changed_at": self.now,
            }
        )

    def quarantine_row(self, item: Validated) -> None:
        self.quarantine.append(
            {
                "id": uuid.uuid4(),
                "import_id": self.ctx.import_id,
                "row_number": item.row_number,
                "raw": item.raw,
                "reasons": _issues(item.errors),
                "status": "open",
                "resolved_by_import_id": None,
                "created_at": self.now,
                "updated_at": self.now,
            }
        )

    # --- bulk writes ------------------------------------------------------------------

    def insert(self, table: Table, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.session.connection().execute(insert(table), tenancy.stamp(self.session, rows))

    def insert_rows(
        self, table: Table, names: tuple[str, ...], rows: Iterable[tuple[Any, ...]]
    ) -> None:
        """Insert ``rows`` (see :meth:`insert_batch`) ``INSERT_BATCH`` at a time, so the
        JSON text of a chunk's records is never all held at once."""
        batches = iter(rows)
        while batch := list(itertools.islice(batches, INSERT_BATCH)):
            self.insert_batch(table, names, batch)

    def insert_batch(
        self, table: Table, names: tuple[str, ...], rows: list[tuple[Any, ...]]
    ) -> None:
        """Insert new records given as tuples in ``names`` order (JSON columns already as
        text), with ``org_id`` added: SQLite through one ``executemany`` of plain values
        converted by the column types' own bind processors, PostgreSQL through ``COPY``
        into a temporary table and one ``INSERT ... SELECT`` (``COPY`` cannot write to a
        table under row-level security; the ``INSERT`` is checked by its policies)."""
        if not rows:
            return
        names = (*names, "org_id")
        org = (self.org,)
        rows = [row + org for row in rows]
        connection = self.session.connection()
        dialect = connection.dialect
        quote = dialect.identifier_preparer.quote
        columns = ", ".join(quote(n) for n in names)
        target = quote(table.name)
        if dialect.name == "postgresql":
            driver = connection.connection.driver_connection
            assert driver is not None
            with driver.cursor() as cursor:
                scratch = self._scratch.get(table.name)
                if scratch is None:
                    scratch = self._scratch[table.name] = f"reos_copy_{uuid.uuid4().hex[:16]}"
                    cursor.execute(
                        f"CREATE TEMPORARY TABLE {scratch} (LIKE {target}) ON COMMIT DROP"
                    )
                with cursor.copy(f"COPY {scratch} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                # identifiers come from the table's metadata, quoted by the dialect
                copied = f"INSERT INTO {target} ({columns}) SELECT {columns} FROM {scratch}"  # noqa: S608
                cursor.execute(copied)
                cursor.execute(f"TRUNCATE {scratch}")
            return
        processors = [
            None
            if n in _JSON_COLUMNS
            else table.c[n].type.dialect_impl(dialect).bind_processor(dialect)
            for n in names
        ]
        if any(processors):
            cells = list(zip(*rows, strict=True))
            for i, processor in enumerate(processors):
                if processor is not None:
                    cells[i] = _processed(processor, cells[i])
            rows = list(zip(*cells, strict=True))
        marks = ", ".join("?" for _ in names)
        statement = f"INSERT INTO {target} ({columns}) VALUES ({marks})"  # noqa: S608
        connection.exec_driver_sql(statement, rows)  # type: ignore[arg-type]

    def update(self, table: Table, rows: list[dict[str, Any]]) -> None:
        """One executemany UPDATE by primary key; every row dict has the same keys."""
        if not rows:
            return
        columns = [c for c in rows[0] if c != "id"]
        stmt = (
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .where(tenancy.of_org(self.session, table))
            .values({c: bindparam(f"b_{c}") for c in columns})
        )
        params = [{f"b_{k}": v for k, v in row.items()} for row in rows]
        self.session.connection().execute(stmt, params)

    def flush_side_tables(self) -> None:
        self.insert(FieldChange.__table__, self.field_changes)  # type: ignore[arg-type]
        self.insert(QuarantinedRow.__table__, self.quarantine)  # type: ignore[arg-type]


# --- properties ------------------------------------------------------------------------

_PROPERTY_LOAD = ("id", *PROPERTY_FIELDS, *PROPERTY_DERIVED, "attributes", "warnings", "provenance")


class _PropertyIndex:
    """Existing and new properties of a chunk, findable by each identifying key."""

    def __init__(self) -> None:
        self.by_id: dict[uuid.UUID, _Record] = {}
        self.pending: dict[uuid.UUID, _Pending] = {}
        self.by_parcel: dict[str, _Record | _Pending] = {}
        self.by_source: dict[str, _Record | _Pending] = {}
        self.by_address: dict[str, _Record | _Pending] = {}

    def _keyed(self) -> tuple[tuple[dict[str, _Record | _Pending], str], ...]:
        return (
            (self.by_parcel, "parcel_number"),
            (self.by_source, "source_record_id"),
            (self.by_address, "address_key"),
        )

    def add(self, record: _Record) -> None:
        self.by_id[record.id] = record
        self.reindex(record)

    def add_pending(self, pending: _Pending) -> None:
        self.pending[pending.id] = pending
        self.reindex(pending)

    def reindex(self, record: _Record | _Pending) -> None:
        values = record.values
        for index, name in self._keyed():
            key = values.get(name)
            if key and key not in index:
                index[key] = record

    def materialize(self, writer: _Writer, pending: _Pending) -> _Record:
        """The record of a pending row, now that another row of the chunk matches it."""
        record = _new_property(writer, pending.item, pending.attributes, pending.prov, pending.id)
        del self.pending[pending.id]
        self.by_id[record.id] = record
        for index, name in self._keyed():
            key = pending.values.get(name)
            if key and index.get(key) is pending:
                index[key] = record
        self.reindex(record)
        return record

    def record(self, writer: _Writer, property_id: uuid.UUID) -> _Record | None:
        pending = self.pending.get(property_id)
        if pending is not None:
            return self.materialize(writer, pending)
        return self.by_id.get(property_id)

    def load(
        self, session: Session, rows: list[dict[str, Any]], extra_ids: Iterable[Any] = ()
    ) -> None:
        # A key some loaded record already carries is not looked up again: its index
        # entry would not change (the first record loaded keeps a key), and a house
        # found by parcel number was otherwise fetched a second time by its address.
        for index, name in self._keyed():
            wanted = (r.get(name) for r in rows)
            for batch in _in_batches(key for key in wanted if key not in index):
                self._take(_fetch(session, Property, _PROPERTY_LOAD, name, batch))
        for batch in _in_batches(i for i in extra_ids if i not in self.by_id):
            self._take(_fetch(session, Property, _PROPERTY_LOAD, "id", batch, ordered=False))

    def _take(self, result: Any) -> None:
        names = (*PROPERTY_FIELDS, *PROPERTY_DERIVED)
        for row in result:  # columns in _PROPERTY_LOAD order
            if row[0] in self.by_id:
                continue
            attributes, warnings, provenance = row[-3:]
            self.add(
                _Record(
                    id=row[0],
                    values=dict(zip(names, row[1:-3], strict=True)),
                    raw=(provenance, attributes, warnings),
                )
            )

    def find(self, values: dict[str, Any], key: str) -> _Record | _Pending | None:
        order = ["parcel_number", "source_record_id", "address_key"]
        if key in order:
            order.remove(key)
            order.insert(0, key)
        for name in order:
            wanted = values.get(name)
            if not wanted:
                continue
            index = {
                "parcel_number": self.by_parcel,
                "source_record_id": self.by_source,
                "address_key": self.by_address,
            }[name]
            found = index.get(wanted)
            if found is None:
                continue
            theirs, ours = found.values.get("parcel_number"), values.get("parcel_number")
            if name != "parcel_number" and theirs and ours and theirs != ours:
                continue  # same address or id, different parcel: a different property
            return found
        return None


def _property_values(values: dict[str, Any]) -> dict[str, Any]:
    return {k: values.get(k) for k in PROPERTY_FIELDS if values.get(k) is not None}


def _split_attributes(
    attributes: dict[str, Any], record: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    if record != "sale":
        return attributes, {}
    prop: dict[str, Any] = {}
    sale: dict[str, Any] = {}
    for name, value in attributes.items():
        if name.startswith(SALE_ATTRIBUTE_PREFIX):
            sale[name[len(SALE_ATTRIBUTE_PREFIX) :]] = value
        else:
            prop[name] = value
    return prop, sale


def _new_property(
    writer: _Writer,
    item: Validated,
    attributes: dict[str, Any],
    prov: dict[str, Any],
    id: uuid.UUID,
) -> _Record:
    record = _Record(
        id=id,
        values=dict.fromkeys((*PROPERTY_FIELDS, *PROPERTY_DERIVED)),
        provenance={},
        attributes={},
        warnings=_issues(item.warnings),
        new=True,
    )
    writer.merge(
        record, "property", _property_values(item.values), attributes, item.row_number, prov
    )
    _derive(record, item.values)
    return record


def _upsert_property(
    writer: _Writer,
    index: _PropertyIndex,
    item: Validated,
    attributes: dict[str, Any],
    prov: dict[str, Any],
    *,
    found: _Record | None = None,
) -> tuple[uuid.UUID, str]:
    """The property of a row, created or updated; returns its id and
    inserted/updated/unchanged. A row that matches no property becomes a pending one."""
    record = found
    if record is None:
        match = index.find(item.values, writer.ctx.key)
        if match is None:
            pending = _Pending(new_id(), item, attributes, prov)
            index.add_pending(pending)
            return pending.id, "inserted"
        record = index.materialize(writer, match) if isinstance(match, _Pending) else match
    incoming = _property_values(item.values)
    before = (
        record.values.get("latitude"),
        record.values.get("longitude"),
        record.values.get("address"),
    )
    if writer.merge(record, "property", incoming, attributes, item.row_number, prov):
        record.warnings = _issues(item.warnings)
        after = (
            record.values.get("latitude"),
            record.values.get("longitude"),
            record.values.get("address"),
        )
        if after != before or not record.values.get("address_key"):
            _derive(record, item.values)
        index.reindex(record)
        return record.id, "updated"
    return record.id, "unchanged"


def _derive(record: _Record, values: dict[str, Any]) -> None:
    """H3 cells from the stored coordinates; the address key of the row's address when it
    is the stored one (or none is stored yet)."""
    lat, lon = record.values.get("latitude"), record.values.get("longitude")
    if lat == values.get("latitude") and lon == values.get("longitude"):
        record.values.update(zip(CELL_COLUMNS.values(), _cells(values), strict=True))
    else:  # a newer stored observation kept its coordinates
        record.values.update(cell_columns(lat, lon))
    key = values.get("address_key")
    if key and (
        values.get("address") == record.values.get("address")
        or not record.values.get("address_key")
    ):
        record.values["address_key"] = key
        record.values["address_normalized"] = values.get("address_normalized")


_PROPERTY_VALUES = operator.itemgetter(*PROPERTY_FIELDS, *PROPERTY_DERIVED)
_PROPERTY_INSERT = (
    "id", *PROPERTY_FIELDS, *PROPERTY_DERIVED, "attributes", "warnings", "provenance",
    "updated_at", "created_at",
)  # fmt: skip


def _property_inserts(writer: _Writer, index: _PropertyIndex) -> Iterator[tuple[Any, ...]]:
    texts, now = writer.json, writer.now
    for record in index.by_id.values():
        if record.new:
            yield (
                record.id,
                *_PROPERTY_VALUES(record.values),
                texts.plain(record.attributes),
                texts.plain(record.warnings),
                texts.provenance(record.provenance),
                now,
                now,
            )


def _pending_property_rows(writer: _Writer, index: _PropertyIndex) -> Iterator[tuple[Any, ...]]:
    """Insert tuples of the pending properties, straight from their rows' values: what
    :func:`_new_property` followed by :func:`_property_inserts` would write."""
    texts, now = writer.json, writer.now
    for pending in index.pending.values():
        values = pending.values
        key = values.get("address_key") or None
        observed = tuple(map(values.get, PROPERTY_FIELDS))
        yield (
            pending.id,
            *observed,
            values.get("address_normalized") if key else None,
            key,
            *_cells(values),
            *_pending_json(texts, pending, any(v is not None for v in observed)),
            now,
            now,
        )


def _cells(values: dict[str, Any]) -> tuple[Any, ...]:
    """A row's H3 cells, from the gate (:func:`reos.ingest.validation.locate`), or worked
    out here for a row that did not pass through it."""
    if "h3_cell" not in values:
        values = cell_columns(values.get("latitude"), values.get("longitude"))
    return tuple(map(values.get, CELL_COLUMNS.values()))


def _pending_json(texts: _JsonText, pending: _Pending, observed: bool) -> tuple[str, str, str]:
    """Attributes, warnings and provenance text of a pending record (``observed``: the
    row gave it a value; a record with none has no source to name)."""
    attributes = {k: v for k, v in pending.attributes.items() if v is not None}
    return (
        texts.plain(attributes),
        texts.plain(_issues(pending.item.warnings)),
        texts.provenance(for_new_record(pending.prov)) if observed or attributes else "{}",
    )


def _property_rows(
    writer: _Writer, index: _PropertyIndex
) -> tuple[Iterator[tuple[Any, ...]], list[dict[str, Any]]]:
    """New records as insert tuples (built lazily), changed ones as update dicts."""
    updates: list[dict[str, Any]] = []
    for record in index.by_id.values():
        if record.new or not record.dirty:
            continue
        row: dict[str, Any] = {"id": record.id}
        for name in (*PROPERTY_FIELDS, *PROPERTY_DERIVED):
            row[name] = record.values.get(name)
        row["attributes"] = record.attributes
        row["warnings"] = record.warnings
        row["provenance"] = record.provenance
        row["updated_at"] = writer.now
        updates.append(row)
    return _property_inserts(writer, index), updates


# --- sales -----------------------------------------------------------------------------

_SALE_LOAD = ("id", "property_id", *SALE_FIELDS, "source", "attributes", "warnings", "provenance")
_SALE_NO_PRECISION = tuple(f for f in SALE_FIELDS if f != "close_date_precision")
_SALE_VALUES = operator.itemgetter(*_SALE_NO_PRECISION)
_SALE_INSERT = (
    "id", "property_id", *_SALE_NO_PRECISION, "close_date_precision", "source", "attributes",
    "warnings", "provenance", "updated_at", "created_at",
)  # fmt: skip


class _SaleIndex:
    def __init__(self, writer: _Writer) -> None:
        self.writer = writer
        self.by_id: dict[uuid.UUID, _Record] = {}
        self.pending: dict[uuid.UUID, _Pending] = {}
        self.by_record: dict[str, _Record | _Pending] = {}
        self.by_content: dict[tuple[Any, ...], _Record | _Pending] = {}

    @staticmethod
    def content_key(property_id: Any, close_date: Any, price: Any) -> tuple[Any, ...]:
        return (property_id, close_date, None if price is None else round(float(price), 2))

    def add(self, record: _Record) -> None:
        self.by_id[record.id] = record
        self.reindex(record)

    def add_pending(self, pending: _Pending) -> None:
        self.pending[pending.id] = pending
        values = pending.values
        rid = values.get("sale_record_id")
        if rid and rid not in self.by_record:
            self.by_record[rid] = pending
        key = self.content_key(
            pending.property_id, values.get("close_date"), values.get("sale_price")
        )
        self.by_content.setdefault(key, pending)

    def reindex(self, record: _Record) -> None:
        rid = record.values.get("sale_record_id")
        if rid and rid not in self.by_record:
            self.by_record[rid] = record
        key = self.content_key(
            record.extra["property_id"],
            record.values.get("close_date"),
            record.values.get("sale_price"),
        )
        self.by_content.setdefault(key, record)

    def materialize(self, found: _Record | _Pending | None) -> _Record | None:
        """A found sale as a record: a pending one becomes one (see :class:`_Pending`)."""
        if not isinstance(found, _Pending):
            return found
        item, writer = found.item, self.writer
        record = _Record(
            id=found.id,
            values=dict.fromkeys(SALE_FIELDS),
            provenance={},
            attributes={},
            warnings=_issues(item.warnings),
            new=True,
            extra={"property_id": found.property_id, "source": writer.ctx.source_name},
        )
        writer.merge(
            record, "sale", _sale_values(item.values), found.attributes, item.row_number,
            found.prov,
        )  # fmt: skip
        del self.pending[found.id]
        self.by_id[record.id] = record
        rid = found.values.get("sale_record_id")
        if rid and self.by_record.get(rid) is found:
            self.by_record[rid] = record
        content = self.content_key(
            found.property_id, found.values.get("close_date"), found.values.get("sale_price")
        )
        if self.by_content.get(content) is found:
            self.by_content[content] = record
        return record

    def load_by_records(self, session: Session, record_ids: Iterable[Any]) -> None:
        for batch in _in_batches(record_ids):
            self._take(_fetch(session, Sale, _SALE_LOAD, "sale_record_id", batch))

    def load_by_properties(self, session: Session, property_ids: Iterable[Any]) -> None:
        for batch in _in_batches(property_ids):
            self._take(_fetch(session, Sale, _SALE_LOAD, "property_id", batch))

    def _take(self, result: Any) -> None:
        for row in result:  # columns in _SALE_LOAD order
            if row[0] in self.by_id:
                continue
            source, attributes, warnings, provenance = row[-4:]
            self.add(
                _Record(
                    id=row[0],
                    values=dict(zip(SALE_FIELDS, row[2:-4], strict=True)),
                    raw=(provenance, attributes, warnings),
                    extra={"property_id": row[1], "source": source},
                )
            )

    def find(self, values: dict[str, Any], property_id: uuid.UUID, source: str) -> _Record | None:
        rid = values.get("sale_record_id")
        if rid and rid in self.by_record:
            return self.materialize(self.by_record[rid])
        found = self.materialize(
            self.by_content.get(
                self.content_key(property_id, values.get("close_date"), values.get("sale_price"))
            )
        )
        if found is not None and rid and found.values.get("sale_record_id") not in (None, rid):
            # same property, day and price but two record ids of one source: two sales
            first = source_of(found.provenance, "sale_record_id") or {}
            if first.get("source") == source:
                return None
        return found


def _sale_values(values: dict[str, Any]) -> dict[str, Any]:
    return {k: values.get(k) for k in SALE_FIELDS if values.get(k) is not None}


def _apply_sales(writer: _Writer, items: list[Validated], result: ChunkResult) -> None:
    session, ctx = writer.session, writer.ctx
    props = _PropertyIndex()
    sales = _SaleIndex(writer)
    valid = [i for i in items if not i.errors]
    sales.load_by_records(session, (i.values.get("sale_record_id") for i in valid))
    props.load(
        session,
        [i.values for i in valid],
        extra_ids=(r.extra["property_id"] for r in sales.by_id.values()),
    )
    sales.load_by_properties(session, props.by_id)
    for item in items:
        if item.errors:
            writer.quarantine_row(item)
            result.quarantined += 1
            continue
        prov = writer.provenance(item.row_number)
        values = item.values
        prop_attrs, sale_attrs = _split_attributes(values.get("attributes") or {}, "sale")
        rid = values.get("sale_record_id")
        existing_sale = sales.materialize(sales.by_record.get(rid)) if rid else None
        found_prop = (
            props.record(writer, existing_sale.extra["property_id"]) if existing_sale else None
        )
        prop_id, prop_outcome = _upsert_property(
            writer, props, item, prop_attrs, prov, found=found_prop
        )
        sale = existing_sale or sales.find(values, prop_id, ctx.source_name)
        if sale is None:
            sales.add_pending(_Pending(new_id(), item, sale_attrs, prov, property_id=prop_id))
            outcome = "inserted"
        else:
            changed = writer.merge(
                sale, "sale", _sale_values(values), sale_attrs, item.row_number, prov
            )
            if changed:
                sale.warnings = _issues(item.warnings)
                sales.reindex(sale)
            outcome = "updated" if changed or prop_outcome != "unchanged" else "unchanged"
        _count(result, outcome, item)
    prop_inserts, prop_updates = _property_rows(writer, props)
    writer.insert_rows(
        Property.__table__,  # type: ignore[arg-type]
        _PROPERTY_INSERT,
        itertools.chain(prop_inserts, _pending_property_rows(writer, props)),
    )
    writer.update(Property.__table__, prop_updates)  # type: ignore[arg-type]
    sale_updates: list[dict[str, Any]] = []
    for record in sales.by_id.values():
        if record.new or not record.dirty:
            continue
        row: dict[str, Any] = {"id": record.id, "property_id": record.extra["property_id"]}
        for name in SALE_FIELDS:
            row[name] = record.values.get(name)
        row["close_date_precision"] = row["close_date_precision"] or "day"
        row["source"] = record.extra.get("source")
        row["attributes"] = record.attributes
        row["warnings"] = record.warnings
        row["provenance"] = record.provenance
        row["updated_at"] = writer.now
        sale_updates.append(row)
    writer.insert_rows(
        Sale.__table__,  # type: ignore[arg-type]
        _SALE_INSERT,
        itertools.chain(_sale_inserts(writer, sales), _pending_sale_rows(writer, sales)),
    )
    writer.update(Sale.__table__, sale_updates)  # type: ignore[arg-type]


def _pending_sale_rows(writer: _Writer, sales: _SaleIndex) -> Iterator[tuple[Any, ...]]:
    """Insert tuples of the pending sales, straight from their rows' values: what
    :meth:`_SaleIndex.materialize` followed by :func:`_sale_inserts` would write."""
    texts, now, source = writer.json, writer.now, writer.ctx.source_name
    for pending in sales.pending.values():
        values = pending.values
        observed = tuple(map(values.get, _SALE_NO_PRECISION))
        precision = values.get("close_date_precision")
        yield (
            pending.id,
            pending.property_id,
            *observed,
            precision or "day",
            source,
            *_pending_json(
                texts, pending, precision is not None or any(v is not None for v in observed)
            ),
            now,
            now,
        )


def _sale_inserts(writer: _Writer, sales: _SaleIndex) -> Iterator[tuple[Any, ...]]:
    texts, now = writer.json, writer.now
    for record in sales.by_id.values():
        if record.new:
            values = record.values
            yield (
                record.id,
                record.extra["property_id"],
                *_SALE_VALUES(values),
                values["close_date_precision"] or "day",
                record.extra.get("source"),
                texts.plain(record.attributes),
                texts.plain(record.warnings),
                texts.provenance(record.provenance),
                now,
                now,
            )


def _count(result: ChunkResult, outcome: str, item: Validated) -> None:
    result.resolved.append(item.row_number)
    if outcome == "inserted":
        result.inserted += 1
    elif outcome == "updated":
        result.updated += 1
    else:
        result.unchanged += 1
    for issue in item.warnings:
        result.warn(f"{issue.field}: {issue.reason}", item.row_number)


def _apply_properties(writer: _Writer, items: list[Validated], result: ChunkResult) -> None:
    props = _PropertyIndex()
    props.load(writer.session, [i.values for i in items if not i.errors])
    for item in items:
        if item.errors:
            writer.quarantine_row(item)
            result.quarantined += 1
            continue
        attrs = item.values.get("attributes") or {}
        _id, outcome = _upsert_property(
            writer, props, item, attrs, writer.provenance(item.row_number)
        )
        _count(result, outcome, item)
    inserts, updates = _property_rows(writer, props)
    writer.insert_rows(
        Property.__table__,  # type: ignore[arg-type]
        _PROPERTY_INSERT,
        itertools.chain(inserts, _pending_property_rows(writer, props)),
    )
    writer.update(Property.__table__, updates)  # type: ignore[arg-type]


# --- owners ----------------------------------------------------------------------------

_OWNER_LOAD = (
    "id", *OWNER_FIELDS, "mailing_address_key", "property_id", "property_ref", "link_status",
    "attributes", "warnings", "provenance",
)  # fmt: skip
_OWNER_COLUMNS = (
    *OWNER_FIELDS,
    "mailing_address_key",
    "property_id",
    "property_ref",
    "link_status",
)


def _link_candidates(
    session: Session, items: list[Validated]
) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    """Property ids by parcel number and by address key, for the chunk's owner rows."""
    by_parcel: dict[str, list[Any]] = {}
    by_address: dict[str, list[Any]] = {}
    for name, target in (("parcel_number", by_parcel), ("address_key", by_address)):
        column = getattr(Property, name)
        for batch in _in_batches(i.values.get(name) for i in items):
            stmt = select(Property.id, column).where(_among(session, column, batch))
            for pid, value in session.execute(stmt):
                target.setdefault(value, []).append(pid)
    return by_parcel, by_address


def _link(
    values: dict[str, Any], by_parcel: dict[str, list[Any]], by_address: dict[str, list[Any]]
) -> tuple[Any, str]:
    for name, index in (("parcel_number", by_parcel), ("address_key", by_address)):
        wanted = values.get(name)
        if not wanted:
            continue
        found = index.get(wanted, [])
        if len(found) == 1:
            return found[0], "linked"
        if len(found) > 1:
            return None, "ambiguous"
    return None, "unlinked"


def _apply_owners(writer: _Writer, items: list[Validated], result: ChunkResult) -> None:
    session = writer.session
    valid = [i for i in items if not i.errors]
    owners: dict[str, _Record] = {}
    columns = [getattr(OwnerRecord, c) for c in _OWNER_LOAD]
    for batch in _in_batches(i.values.get("owner_record_id") for i in valid):
        stmt = (
            select(*columns)
            .where(_among(session, OwnerRecord.owner_record_id, batch))
            .order_by(OwnerRecord.created_at)
        )
        for row in session.execute(stmt):
            data = row._asdict()
            owners.setdefault(
                data["owner_record_id"],
                _Record(
                    id=data["id"],
                    values={k: data[k] for k in _OWNER_COLUMNS},
                    provenance=dict(data["provenance"] or {}),
                    attributes=dict(data["attributes"] or {}),
                    warnings=list(data["warnings"] or []),
                ),
            )
    by_parcel, by_address = _link_candidates(session, valid)
    for item in items:
        if item.errors:
            writer.quarantine_row(item)
            result.quarantined += 1
            continue
        values = item.values
        prov = writer.ctx.provenance(item.row_number)
        incoming: dict[str, Any] = {
            k: values.get(k) for k in OWNER_FIELDS if values.get(k) is not None
        }
        mailing = normalize_address(
            values.get("mailing_address"),
            values.get("mailing_address_2"),
            values.get("mailing_city"),
            values.get("mailing_state"),
            values.get("mailing_zip"),
            values.get("mailing_country"),
        )
        if values.get("mailing_address"):
            incoming["mailing_address_key"] = mailing.key
        property_id, status = _link(values, by_parcel, by_address)
        incoming["link_status"] = status
        incoming["property_id"] = property_id
        incoming["property_ref"] = {
            k: _plain(values.get(k))
            for k in ("parcel_number", "source_record_id", "address", "address_key")
            if values.get(k) is not None
        }
        if status == "unlinked":
            result.unlinked_owners += 1
        elif status == "ambiguous":
            result.ambiguous_owners += 1
        rid = str(values["owner_record_id"])
        record = owners.get(rid)
        warnings = _issues(item.warnings)
        if record is None:
            record = _Record(
                id=uuid.uuid4(),
                values=dict.fromkeys(_OWNER_COLUMNS),
                provenance={},
                attributes={},
                warnings=warnings,
                new=True,
                extra={"row_number": item.row_number},
            )
            writer.merge(
                record, "owner", incoming, values.get("attributes") or {}, item.row_number, prov
            )
            owners[rid] = record
            outcome = "inserted"
        else:
            if record.values.get("property_id") is not None and property_id is None:
                # a link made earlier is not undone by a row that cannot be linked now
                incoming.pop("property_id")
                incoming.pop("link_status")
            changed = writer.merge(
                record, "owner", incoming, values.get("attributes") or {}, item.row_number, prov
            )
            if changed:
                record.warnings = warnings
            outcome = "updated" if changed else "unchanged"
        _count(result, outcome, item)
    inserts, updates = [], []
    for record in owners.values():
        if not (record.new or record.dirty):
            continue
        out: dict[str, Any] = {"id": record.id}
        for name in _OWNER_COLUMNS:
            out[name] = record.values.get(name)
        out["property_ref"] = out["property_ref"] or {}
        out["link_status"] = out["link_status"] or "unlinked"
        out["attributes"] = record.attributes
        out["warnings"] = record.warnings
        out["provenance"] = record.provenance
        out["updated_at"] = writer.now
        if record.new:
            out["import_id"] = writer.ctx.import_id
            out["row_number"] = record.extra.get("row_number")
            out["created_at"] = writer.now
            out["entity_id"] = None
            out["match_probability"] = None
            inserts.append(out)
        else:
            updates.append(out)
    writer.insert(OwnerRecord.__table__, inserts)  # type: ignore[arg-type]
    writer.update(OwnerRecord.__table__, updates)  # type: ignore[arg-type]


def apply_chunk(session: Session, ctx: ImportContext, items: list[Validated]) -> ChunkResult:
    """Write one chunk of validated rows; the caller commits (with the checkpoint)."""
    writer = _Writer(session, ctx)
    result = ChunkResult(rows=len(items))
    connection = session.connection()
    with _planned_for_their_keys(connection):
        if ctx.record == "sale":
            _apply_sales(writer, items, result)
        elif ctx.record == "owner":
            _apply_owners(writer, items, result)
        else:
            _apply_properties(writer, items, result)
        writer.flush_side_tables()
    return result


@contextmanager
def _planned_for_their_keys(connection: Connection) -> Iterator[None]:
    """The chunk's statements as the store runs them best.

    SQLite: a page cache that holds the indexes a bulk import updates at random places
    (address keys, H3 cells); its default is 2 MB.

    PostgreSQL: each lookup planned for its own keys (see :func:`_among`). The lookups'
    text no longer changes with the number of keys, so psycopg would prepare them after
    five runs, and a generic plan made while the tables were small compared every row with
    every key: a 60,000-row import took 300 s instead of 30. So psycopg prepares nothing
    while a chunk is written (``prepare_threshold`` off), and every lookup is planned with
    its keys. Forcing custom plans on the server instead (``plan_cache_mode``) had the
    same effect on the lookups but also re-planned the foreign-key check of every row
    inserted: with it, inserting a 100,000-row file's sales took 10.3 s of server time.
    """
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        yield
        return
    driver = connection.connection.driver_connection
    threshold = driver.prepare_threshold  # type: ignore[union-attr]
    driver.prepare_threshold = None  # type: ignore[union-attr]
    try:
        yield
    finally:
        driver.prepare_threshold = threshold  # type: ignore[union-attr]
