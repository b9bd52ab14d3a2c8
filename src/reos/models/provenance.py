"""Where each stored value came from, kept once per source instead of once per field.

A record's ``provenance`` JSON column holds::

    {"row": SOURCE, "fields": {"beds": SOURCE, "attr.pool_area": SOURCE, ...}}

where SOURCE describes one observation: ``{"import_id", "source", "file", "row",
"observed_at"}`` for an imported row, ``{"source": "api", "observed_at", "actor"}`` for an
edit through the API. ``row`` is the source of every value of the record that ``fields``
does not name: the row that created it. ``fields`` lists only the values a later source
set or replaced. Most records are written once from one row, so they carry a single
SOURCE (~150 bytes) instead of one per field (~3.5 KB for a sales row with twenty fields):
the bulk import writes a tenth of the bytes and the per-field view is derived on read
(:func:`per_field`), in the same shape as before: ``{field: SOURCE}`` for every field that
has a value.

Derived columns (a normalised address, H3 cells, the link to a property) are computed from
observed ones and carry no provenance of their own; each model names them in ``DERIVED``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

ROW = "row"
FIELDS = "fields"
ATTRIBUTE_PREFIX = "attr."
#: Columns every record has that are bookkeeping, not observed values.
BOOKKEEPING = frozenset(
    {"id", "org_id", "created_at", "updated_at", "attributes", "warnings", "provenance"}
)


def for_new_record(source: dict[str, Any]) -> dict[str, Any]:
    """The provenance of a record whose every value came from ``source``."""
    return {ROW: source}


def source_of(provenance: Mapping[str, Any] | None, name: str) -> dict[str, Any] | None:
    """Where the stored value of ``name`` (``attr.<key>`` for an attribute) came from."""
    if not provenance:
        return None
    fields = provenance.get(FIELDS)
    if fields and name in fields:
        found: dict[str, Any] = fields[name]
        return found
    row: dict[str, Any] | None = provenance.get(ROW)
    return row


def set_source(provenance: dict[str, Any], name: str, source: dict[str, Any]) -> None:
    """Record that the value of ``name`` now comes from ``source`` (in place)."""
    if provenance.get(ROW) is None and not provenance.get(FIELDS):
        provenance[ROW] = source
        return
    if source_of(provenance, name) is source:
        return
    provenance.setdefault(FIELDS, {})[name] = source


def per_field(
    provenance: Mapping[str, Any] | None,
    values: Iterable[tuple[str, Any]],
    attributes: Mapping[str, Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """``{field: SOURCE}`` for every field (and ``attr.<key>``) that holds a value."""
    out: dict[str, dict[str, Any]] = {}
    named = [(name, value) for name, value in values]
    named += [(f"{ATTRIBUTE_PREFIX}{k}", v) for k, v in (attributes or {}).items()]
    for name, value in named:
        if value is None:
            continue
        source = source_of(provenance, name)
        if source is not None:
            out[name] = source
    return out


def compact(per_field_view: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """The stored form of a per-field mapping: the most frequent source becomes ``row``.
    (Used to convert records written before the compact form.)"""
    if not per_field_view:
        return {}
    counts: dict[str, tuple[int, dict[str, Any]]] = {}
    for source in per_field_view.values():
        key = repr(sorted(source.items(), key=lambda kv: kv[0]))
        seen = counts.get(key)
        counts[key] = ((seen[0] if seen else 0) + 1, source)
    row = max(counts.values(), key=lambda item: item[0])[1]
    fields = {name: source for name, source in per_field_view.items() if source != row}
    return {ROW: row, FIELDS: fields} if fields else {ROW: row}


class Provenanced:
    """Mixed into models with a ``provenance`` column: the per-field view of it."""

    #: Columns computed from observed ones; they have no provenance of their own.
    DERIVED: ClassVar[frozenset[str]] = frozenset()

    def field_provenance(self) -> dict[str, dict[str, Any]]:
        columns = self.__table__.columns  # type: ignore[attr-defined]
        skip = BOOKKEEPING | self.DERIVED
        values = ((c.key, getattr(self, c.key)) for c in columns if c.key not in skip)
        return per_field(
            getattr(self, "provenance", None), values, getattr(self, "attributes", None)
        )
