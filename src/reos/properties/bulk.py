"""The bulk write path of properties and sales: one validated chunk of an import in, its
records inserted or updated, their field changes recorded.

The import engine (:mod:`reos.ingest.chunks`) hands a chunk's valid rows to
:func:`write_properties` or :func:`write_sales` (registered in :mod:`reos.properties.kinds`)
inside the chunk's transaction. Per chunk it runs one scoped query per identifying key to
load the records the chunk may touch, decides in memory what each row does (insert /
update / unchanged), then writes with bulk Core statements: inserts for new rows, one
executemany UPDATE for the changed rows only, and a bulk insert of the field changes.
Memory is bounded by the chunk.

Matching (all within the organisation):

* property: the mapping's key when it is a property key (``parcel_number`` /
  ``source_record_id``), then parcel number, source record id, and finally the normalised
  address key. A fallback match is refused when both sides carry different parcel numbers.
* sale: the same ``sale_record_id``, else the same property + close date + price (the same
  sale seen in two sources is one sale).

Precedence: the newest observation wins (:mod:`reos.kernel.merge`).
"""

from __future__ import annotations

import itertools
import operator
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy.orm import Session

from reos.geo import CELL_COLUMNS, cell_columns
from reos.ingest.kinds import field_names
from reos.kernel.bulk import JsonText, fetch, in_batches, new_id
from reos.kernel.merge import ChunkResult, ChunkWriter, Pending, Record, count, issues
from reos.kernel.rows import Validated
from reos.kernel.vocabulary import Entity
from reos.models import FieldChange, Property, Sale
from reos.models.provenance import for_new_record, source_of

#: Canonical property columns an import fills (address parts included).
PROPERTY_FIELDS: tuple[str, ...] = field_names(Entity.PROPERTY)
#: Derived columns: normalised address and H3 cells; they carry no provenance of their own.
PROPERTY_DERIVED: tuple[str, ...] = (
    "address_normalized",
    "address_key",
    "h3_cell",
    "h3_cell_r7",
    "h3_cell_r5",
)
SALE_FIELDS: tuple[str, ...] = field_names(Entity.SALE)
#: ``attr.sale.<name>`` in a mapping lands in ``Sale.attributes[<name>]``; every other
#: ``attr.*`` of a sales file describes the property and lands in ``Property.attributes``.
SALE_ATTRIBUTE_PREFIX = "sale."


_PROPERTY_LOAD = ("id", *PROPERTY_FIELDS, *PROPERTY_DERIVED, "attributes", "warnings", "provenance")


class PropertyIndex:
    """Existing and new properties of a chunk, findable by each identifying key."""

    def __init__(self) -> None:
        self.by_id: dict[uuid.UUID, Record] = {}
        self.pending: dict[uuid.UUID, Pending] = {}
        self.by_parcel: dict[str, Record | Pending] = {}
        self.by_source: dict[str, Record | Pending] = {}
        self.by_address: dict[str, Record | Pending] = {}

    def _keyed(self) -> tuple[tuple[dict[str, Record | Pending], str], ...]:
        return (
            (self.by_parcel, "parcel_number"),
            (self.by_source, "source_record_id"),
            (self.by_address, "address_key"),
        )

    def add(self, record: Record) -> None:
        self.by_id[record.id] = record
        self.reindex(record)

    def add_pending(self, pending: Pending) -> None:
        self.pending[pending.id] = pending
        self.reindex(pending)

    def reindex(self, record: Record | Pending) -> None:
        values = record.values
        for index, name in self._keyed():
            key = values.get(name)
            if key and key not in index:
                index[key] = record

    def materialize(self, writer: ChunkWriter, pending: Pending) -> Record:
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

    def record(self, writer: ChunkWriter, property_id: uuid.UUID) -> Record | None:
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
            for batch in in_batches(key for key in wanted if key not in index):
                self._take(fetch(session, Property, _PROPERTY_LOAD, name, batch))
        for batch in in_batches(i for i in extra_ids if i not in self.by_id):
            self._take(fetch(session, Property, _PROPERTY_LOAD, "id", batch, ordered=False))

    def _take(self, result: Any) -> None:
        names = (*PROPERTY_FIELDS, *PROPERTY_DERIVED)
        for row in result:  # columns in _PROPERTY_LOAD order
            if row[0] in self.by_id:
                continue
            attributes, warnings, provenance = row[-3:]
            self.add(
                Record(
                    id=row[0],
                    values=dict(zip(names, row[1:-3], strict=True)),
                    raw=(provenance, attributes, warnings),
                )
            )

    def find(self, values: dict[str, Any], key: str) -> Record | Pending | None:
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
    attributes: dict[str, Any], record: Entity
) -> tuple[dict[str, Any], dict[str, Any]]:
    if record != Entity.SALE:
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
    writer: ChunkWriter,
    item: Validated,
    attributes: dict[str, Any],
    prov: dict[str, Any],
    id: uuid.UUID,
) -> Record:
    record = Record(
        id=id,
        values=dict.fromkeys((*PROPERTY_FIELDS, *PROPERTY_DERIVED)),
        provenance={},
        attributes={},
        warnings=issues(item.warnings),
        new=True,
    )
    writer.merge(
        record, Entity.PROPERTY, _property_values(item.values), attributes, item.row_number, prov
    )
    _derive(record, item.values)
    return record


def _upsert_property(
    writer: ChunkWriter,
    index: PropertyIndex,
    item: Validated,
    attributes: dict[str, Any],
    prov: dict[str, Any],
    *,
    found: Record | None = None,
) -> tuple[uuid.UUID, str]:
    """The property of a row, created or updated; returns its id and
    inserted/updated/unchanged. A row that matches no property becomes a pending one."""
    record = found
    if record is None:
        match = index.find(item.values, writer.ctx.key)
        if match is None:
            pending = Pending(new_id(), item, attributes, prov)
            index.add_pending(pending)
            return pending.id, "inserted"
        record = index.materialize(writer, match) if isinstance(match, Pending) else match
    incoming = _property_values(item.values)
    before = (
        record.values.get("latitude"),
        record.values.get("longitude"),
        record.values.get("address"),
    )
    if writer.merge(record, Entity.PROPERTY, incoming, attributes, item.row_number, prov):
        record.warnings = issues(item.warnings)
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


def _derive(record: Record, values: dict[str, Any]) -> None:
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


def _property_inserts(writer: ChunkWriter, index: PropertyIndex) -> Iterator[tuple[Any, ...]]:
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


def _pending_property_rows(writer: ChunkWriter, index: PropertyIndex) -> Iterator[tuple[Any, ...]]:
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


def _pending_json(texts: JsonText, pending: Pending, observed: bool) -> tuple[str, str, str]:
    """Attributes, warnings and provenance text of a pending record (``observed``: the
    row gave it a value; a record with none has no source to name)."""
    attributes = {k: v for k, v in pending.attributes.items() if v is not None}
    return (
        texts.plain(attributes),
        texts.plain(issues(pending.item.warnings)),
        texts.provenance(for_new_record(pending.prov)) if observed or attributes else "{}",
    )


def _property_rows(
    writer: ChunkWriter, index: PropertyIndex
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


class SaleIndex:
    def __init__(self, writer: ChunkWriter) -> None:
        self.writer = writer
        self.by_id: dict[uuid.UUID, Record] = {}
        self.pending: dict[uuid.UUID, Pending] = {}
        self.by_record: dict[str, Record | Pending] = {}
        self.by_content: dict[tuple[Any, ...], Record | Pending] = {}

    @staticmethod
    def content_key(property_id: Any, close_date: Any, price: Any) -> tuple[Any, ...]:
        return (property_id, close_date, None if price is None else round(float(price), 2))

    def add(self, record: Record) -> None:
        self.by_id[record.id] = record
        self.reindex(record)

    def add_pending(self, pending: Pending) -> None:
        self.pending[pending.id] = pending
        values = pending.values
        rid = values.get("sale_record_id")
        if rid and rid not in self.by_record:
            self.by_record[rid] = pending
        key = self.content_key(
            pending.property_id, values.get("close_date"), values.get("sale_price")
        )
        self.by_content.setdefault(key, pending)

    def reindex(self, record: Record) -> None:
        rid = record.values.get("sale_record_id")
        if rid and rid not in self.by_record:
            self.by_record[rid] = record
        key = self.content_key(
            record.extra["property_id"],
            record.values.get("close_date"),
            record.values.get("sale_price"),
        )
        self.by_content.setdefault(key, record)

    def materialize(self, found: Record | Pending | None) -> Record | None:
        """A found sale as a record: a pending one becomes one (see :class:`Pending`)."""
        if not isinstance(found, Pending):
            return found
        item, writer = found.item, self.writer
        record = Record(
            id=found.id,
            values=dict.fromkeys(SALE_FIELDS),
            provenance={},
            attributes={},
            warnings=issues(item.warnings),
            new=True,
            extra={"property_id": found.property_id, "source": writer.ctx.source_name},
        )
        writer.merge(
            record, Entity.SALE, _sale_values(item.values), found.attributes, item.row_number,
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
        for batch in in_batches(record_ids):
            self._take(fetch(session, Sale, _SALE_LOAD, "sale_record_id", batch))

    def load_by_properties(self, session: Session, property_ids: Iterable[Any]) -> None:
        for batch in in_batches(property_ids):
            self._take(fetch(session, Sale, _SALE_LOAD, "property_id", batch))

    def _take(self, result: Any) -> None:
        for row in result:  # columns in _SALE_LOAD order
            if row[0] in self.by_id:
                continue
            source, attributes, warnings, provenance = row[-4:]
            self.add(
                Record(
                    id=row[0],
                    values=dict(zip(SALE_FIELDS, row[2:-4], strict=True)),
                    raw=(provenance, attributes, warnings),
                    extra={"property_id": row[1], "source": source},
                )
            )

    def find(self, values: dict[str, Any], property_id: uuid.UUID, source: str) -> Record | None:
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


def write_sales(writer: ChunkWriter, items: list[Validated], result: ChunkResult) -> None:
    """Write a chunk of a sales file: each row's property (matched or new) and its sale.
    ``items`` passed the validation gate; the caller commits."""
    session, ctx = writer.session, writer.ctx
    props = PropertyIndex()
    sales = SaleIndex(writer)
    valid = items
    sales.load_by_records(session, (i.values.get("sale_record_id") for i in valid))
    props.load(
        session,
        [i.values for i in valid],
        extra_ids=(r.extra["property_id"] for r in sales.by_id.values()),
    )
    sales.load_by_properties(session, props.by_id)
    for item in items:
        prov = writer.provenance(item.row_number)
        values = item.values
        prop_attrs, sale_attrs = _split_attributes(values.get("attributes") or {}, Entity.SALE)
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
            sales.add_pending(Pending(new_id(), item, sale_attrs, prov, property_id=prop_id))
            outcome = "inserted"
        else:
            changed = writer.merge(
                sale, Entity.SALE, _sale_values(values), sale_attrs, item.row_number, prov
            )
            if changed:
                sale.warnings = issues(item.warnings)
                sales.reindex(sale)
            outcome = "updated" if changed or prop_outcome != "unchanged" else "unchanged"
        count(result, outcome, item)
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
    write_field_changes(writer)


def _pending_sale_rows(writer: ChunkWriter, sales: SaleIndex) -> Iterator[tuple[Any, ...]]:
    """Insert tuples of the pending sales, straight from their rows' values: what
    :meth:`SaleIndex.materialize` followed by :func:`_sale_inserts` would write."""
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


def _sale_inserts(writer: ChunkWriter, sales: SaleIndex) -> Iterator[tuple[Any, ...]]:
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


def write_properties(writer: ChunkWriter, items: list[Validated], result: ChunkResult) -> None:
    """Write a chunk of a property file. ``items`` passed the validation gate; the caller
    commits."""
    props = PropertyIndex()
    props.load(writer.session, [i.values for i in items])
    for item in items:
        attrs = item.values.get("attributes") or {}
        _id, outcome = _upsert_property(
            writer, props, item, attrs, writer.provenance(item.row_number)
        )
        count(result, outcome, item)
    inserts, updates = _property_rows(writer, props)
    writer.insert_rows(
        Property.__table__,  # type: ignore[arg-type]
        _PROPERTY_INSERT,
        itertools.chain(inserts, _pending_property_rows(writer, props)),
    )
    writer.update(Property.__table__, updates)  # type: ignore[arg-type]
    write_field_changes(writer)


def write_field_changes(writer: ChunkWriter) -> None:
    """Record the field changes a chunk's merges found (``field_changes`` is this domain's
    table; the owner records' bulk path records its changes through here too)."""
    writer.insert(FieldChange.__table__, writer.field_changes)  # type: ignore[arg-type]
    writer.field_changes = []
