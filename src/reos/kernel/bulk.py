"""Bulk SQL that runs well on both stores: time-ordered ids, key lookups as one parameter,
JSON text without re-encoding, bulk inserts (``executemany`` on SQLite, ``COPY`` on
PostgreSQL), one executemany UPDATE, the planner set-up a chunk of writes needs and the
statistics a growing table needs.

The domains' bulk write paths (:mod:`reos.properties.bulk`, :mod:`reos.owners.bulk`) are
built from these; nothing here knows which table it writes.
"""

from __future__ import annotations

import itertools
import json
import logging
import operator
import os
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    Text,
    any_,
    bindparam,
    cast,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import NullType

from reos.db import tenancy
from reos.models.provenance import ROW

log = logging.getLogger(__name__)

#: Bind parameters per IN list: under SQLite's limit of 32,766 with room for the rest.
IN_BATCH = 4_096
#: The lengths IN lists are padded to.
IN_SIZES = (16, 64, 256, 1_024, IN_BATCH)
#: New records written per INSERT / COPY statement.
INSERT_BATCH = 2_000
#: SQLite page cache for import connections, KiB.
SQLITE_CACHE_KIB = 48 * 1024
#: Columns holding JSON, read as text and written as text by the bulk paths.
JSON_COLUMNS = frozenset({"provenance", "attributes", "warnings"})


def json_of(value: Any) -> Any:
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


def fetch(
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
        *(cast(table.c[n], Text).label(n) if n in JSON_COLUMNS else table.c[n] for n in names)
    ).where(tenancy.of_org(session, table), among(session, table.c[column], values))
    if ordered:
        stmt = stmt.order_by(table.c.created_at, table.c.id)
    return session.connection().execute(stmt)


def among(session: Session, column: Any, values: list[Any]) -> Any:
    """``column`` is one of ``values``, as one bind parameter where the database allows.

    Rendering a list of thousands of values as that many parameters was most of what a
    lookup cost on PostgreSQL (SQLAlchemy expanding the list, psycopg converting the
    statement, neither cacheable): there the list is one array, ``column = ANY(:values)``,
    which the column's index serves. On SQLite it is one JSON array read by ``json_each``,
    except for primary keys: without statistics SQLite's planner prefers any index on
    ``org_id`` to the primary key for ``id IN (SELECT ...)``, so ids stay a list of
    parameters (padded, see :func:`padded`)."""
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
        return column.in_(padded(values))
    processor = column.type.dialect_impl(dialect).bind_processor(dialect)
    items = json.dumps(list(map(processor, values)) if processor else values)
    members = func.json_each(bindparam(None, items, type_=Text)).table_valued("value")
    return column.in_(select(members.c.value))


def in_batches(values: Iterable[Any]) -> list[list[Any]]:
    """The distinct values (none empty) in lists of at most ``IN_BATCH``, for :func:`among`."""
    items = sorted({v for v in values if v not in (None, "")}, key=str)
    return [items[i : i + IN_BATCH] for i in range(0, len(items), IN_BATCH)]


def padded(values: list[Any]) -> list[Any]:
    """``values`` padded (by repeating its last one) to one of a few lengths, for a list
    SQLite gets as that many parameters: every length is a separate prepared statement,
    and SQLite's statement cache holding one per length of a 5,000-value list cost an
    import over 100 MB."""
    size = next((s for s in IN_SIZES if s >= len(values)), len(values))
    return values + [values[-1]] * (size - len(values)) if values else values


class JsonText:
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


class BulkWriter:
    """Writes one chunk's records as bulk statements, in the organisation of the session."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.now = datetime.now(UTC)
        self.org = tenancy.current_org(session)
        self.json = JsonText()
        self._scratch: dict[str, str] = {}  # table -> this transaction's COPY table

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
            if n in JSON_COLUMNS
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


class TableStatistics:
    """Keeps PostgreSQL's planner statistics of the tables an import grows up to date.

    The importer looks records up by key in batches of thousands; PostgreSQL plans those
    lookups from the tables' statistics. A table this import fills has none until it is
    analysed, and where autovacuum is off or behind, a lookup planned as for an empty table
    scanned the whole table for each batch: a 1,000,000-row import stalled at 200,000 rows
    with each lookup taking 13-23 s. So the import analyses the tables it writes after its
    first chunk and whenever its inserts have doubled since (about seven times for a
    million rows; each ``ANALYZE`` samples a fixed number of rows). It runs on its own
    connection as the connecting role, which owns the tables (tenant transactions switch
    to the application role, which may not analyse them); it reads no tenant data.
    """

    def __init__(self, tables: str) -> None:
        """``tables``: the tables to analyse, comma-separated (a record kind's ``tables``)."""
        self.tables = tables
        self.inserted = 0
        self.next_at = 1
        self._analysing: threading.Thread | None = None

    def grew(self, session: Session, inserted: int) -> None:
        """Count a chunk's inserts; analyse when they have doubled. The ``ANALYZE`` runs
        in a thread while the import goes on (it was about a tenth of a PostgreSQL
        import's time spent waiting); one at a time, a due one waits for the chunk after
        the running one ends."""
        self.inserted += inserted
        bind = session.get_bind()
        if self.inserted < self.next_at or bind.dialect.name != "postgresql":
            return  # SQLite plans these lookups by its indexes without statistics
        if self._analysing is not None and self._analysing.is_alive():
            return
        self.next_at = self.inserted * 2
        if isinstance(bind.engine.pool, StaticPool):
            # One connection shared by every thread: an ANALYZE beside the import would
            # run its statements inside the import's next transaction.
            self._analyse(bind.engine)
            return
        self._analysing = threading.Thread(
            target=self._analyse, args=(bind.engine,), name="reos-analyse", daemon=True
        )
        self._analysing.start()

    def _analyse(self, engine: Engine) -> None:
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql(f"ANALYZE {self.tables}")
                connection.commit()
        except Exception:  # statistics help the plans; an import never fails for them
            log.warning("ANALYZE %s failed", self.tables, exc_info=True)

    def close(self) -> None:
        """Wait for a running ``ANALYZE`` (none outlives its import)."""
        if self._analysing is not None:
            self._analysing.join()


@contextmanager
def planned_for_their_keys(connection: Connection) -> Iterator[None]:
    """The chunk's statements as the store runs them best.

    SQLite: a page cache that holds the indexes a bulk import updates at random places
    (address keys, H3 cells); its default is 2 MB.

    PostgreSQL: each lookup planned for its own keys (see :func:`among`). The lookups'
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
