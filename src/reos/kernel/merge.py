"""The merge rule every bulk write path shares: the newest observation wins.

Every value carries its provenance (``{import_id, source, file, row, observed_at}``, stored
once per source: see :mod:`reos.models.provenance`) and a value observed at or after the
stored one replaces it; the replaced value and its provenance become a field change. An
empty cell never erases a stored value (a source that lacks a field says nothing about it).

Also here: what an import tells a domain's bulk write path about itself
(:class:`ImportContext`) and what the path reports back (:class:`ChunkResult`).
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from reos.kernel.bulk import BulkWriter, json_of
from reos.kernel.rows import Validated
from reos.kernel.vocabulary import Entity
from reos.models.provenance import FIELDS, ROW, for_new_record, set_source, source_of

MAX_WARNING_KINDS = 50


@dataclass(frozen=True)
class ImportContext:
    """What every stored value's provenance records about this import."""

    import_id: uuid.UUID
    source_name: str
    filename: str
    observed_at: str  # ISO 8601; the time the file was received
    record: Entity
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
    owners_without_property: int = 0
    """Owner rows with no parcel number, property address or property id (contact lists):
    kept as unlinked owner records; counted apart from ``unlinked_owners`` (a key that
    matched no property)."""
    ambiguous_owners: int = 0
    resolved: list[int] = field(default_factory=list)  # row numbers that passed (for retry)

    def warn(self, message: str, row_number: int) -> None:
        if message not in self.warnings and len(self.warnings) >= MAX_WARNING_KINDS:
            message = "other warnings"
        self.warnings[message] += 1
        self.warning_rows.setdefault(message, row_number)


class Record:
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
            self._provenance = dict(json_of(self._raw[0] if self._raw else None) or {})
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
            self._attributes = dict(json_of(self._raw[1] if self._raw else None) or {})
        return self._attributes

    @attributes.setter
    def attributes(self, value: dict[str, Any]) -> None:
        self._attributes = value

    @property
    def warnings(self) -> list[Any]:
        if self._warnings is None:
            self._warnings = list(json_of(self._raw[2] if self._raw else None) or [])
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


class Pending:
    """A row whose record does not exist yet.

    Most rows of a bulk import create a record that no other row of the chunk touches;
    such a record is written straight from the row's values at the end of the chunk
    (as :mod:`reos.properties.bulk` writes new properties and sales), without the
    per-field merge. A later row of the same chunk that matches it turns it into a :class:`Record`
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


def plain(value: Any) -> Any:
    """A value as JSON stores it and as comparisons see it (Decimal -> float, date -> text)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def same(old: Any, new: Any) -> bool:
    if old is None or new is None:
        return old is new
    if isinstance(old, Decimal) or isinstance(new, Decimal):
        return float(old) == float(new)
    if isinstance(old, bool) or isinstance(new, bool):
        return bool(old) == bool(new) and type(old) is type(new)
    if isinstance(old, int | float) and isinstance(new, int | float):
        return float(old) == float(new)
    return bool(old == new)


def field_change(
    entity_type: Entity,
    entity_id: uuid.UUID,
    name: str,
    old: Any,
    old_source: dict[str, Any],
    new: Any,
    new_source: dict[str, Any],
) -> dict[str, Any]:
    """The history a replaced value leaves (a ``field_changes`` row's values): the old and
    the new value, each with the source that observed it, so "where did this come from and
    what did it replace" is answerable for imports and hand edits alike."""
    return {
        "entity_type": entity_type.value,
        "entity_id": entity_id,
        "field": name,
        "old_value": {"value": plain(old), **old_source},
        "new_value": {"value": plain(new), **new_source},
    }


def issues(items: Sequence[Any]) -> list[dict[str, Any]]:
    return [i.to_dict() for i in items]


def count(result: ChunkResult, outcome: str, item: Validated) -> None:
    result.resolved.append(item.row_number)
    if outcome == "inserted":
        result.inserted += 1
    elif outcome == "updated":
        result.updated += 1
    else:
        result.unchanged += 1
    for issue in item.warnings:
        result.warn(f"{issue.field}: {issue.reason}", item.row_number)


class ChunkWriter(BulkWriter):
    """One chunk of an import: the bulk writer plus the merge rule and the field changes it
    finds (the owning domain writes those, see :func:`reos.properties.bulk.write_field_changes`)."""

    def __init__(self, session: Session, ctx: ImportContext) -> None:
        super().__init__(session)
        self.ctx = ctx
        self.field_changes: list[dict[str, Any]] = []
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
        record: Record,
        entity_type: Entity,
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
            value is not None and not same(values.get(name), value)
            for name, value in incoming.items()
        ) and not any(
            value is not None
            and not (same(old := record.attributes.get(name), value) and type(old) is type(value))
            for name, value in attributes.items()
        ):
            record.note_provenance([n for n, v in incoming.items() if v is not None], prov)
            return False
        changed = False
        for name, value in incoming.items():
            if value is None:
                continue
            old = record.values.get(name)
            if same(old, value):
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
            if same(old, value) and type(old) is type(value):
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
        record: Record,
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
        record: Record,
        entity_type: Entity,
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
                **field_change(entity_type, record.id, name, old, old_prov, new, prov),
                "import_id": self.ctx.import_id,
                "row_number": row_number,
                "changed_at": self.now,
            }
        )
