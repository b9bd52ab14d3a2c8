"""The record kinds an import can fill, each written by the domain that owns its tables.

The import engine reads, maps, validates and quarantines; what a valid row *does* is the
owning domain's business. A domain declares its kinds in its own ``kinds`` module (e.g.
:mod:`reos.properties.kinds`) with :func:`register`, naming its bulk write path as
``"module:function"``: the writer's module (and the models and libraries it needs) is
imported only when the first chunk of that kind is written, so declaring kinds costs a
spawned mapping worker nothing. A new kind (rent listings, contacts, leases) is added by
its domain: a ``kinds`` module, named as ``kinds`` in the domain's front door
(``reos/<domain>/__init__.py``); the engine loads the modules of every domain in
:data:`reos.domains.DOMAINS` on first use, so the engine itself is never edited.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from reos.errors import ValidationFailed
from reos.kernel.vocabulary import Entity

if TYPE_CHECKING:
    from reos.ingest.fields import FieldSpec
    from reos.kernel.merge import ChunkResult, ChunkWriter
    from reos.kernel.rows import Validated

    ChunkWrite = Callable[[ChunkWriter, list[Validated], ChunkResult], None]


@dataclass(frozen=True)
class RecordKind:
    """One kind of record: what it is called, who writes it and which tables it grows.

    ``writer``: ``"module:function"`` taking ``(ChunkWriter, valid rows, ChunkResult)``;
    ``tables``: the tables its writes fill, comma-separated, analysed as an import grows
    them (PostgreSQL, :class:`reos.kernel.bulk.TableStatistics`)."""

    entity: Entity
    writer: str
    tables: str
    _loaded: list[ChunkWrite] = field(default_factory=list, compare=False, repr=False)

    def write(self) -> ChunkWrite:
        """The bulk write path, imported on first use."""
        if not self._loaded:
            module, _, name = self.writer.partition(":")
            self._loaded.append(getattr(importlib.import_module(module), name))
        return self._loaded[0]

    def fields(self) -> list[FieldSpec]:
        """The canonical fields a row of this kind can fill."""
        from reos.ingest.fields import fields_for

        return fields_for(self.entity)


_KINDS: dict[Entity, RecordKind] = {}


def field_names(entity: Entity) -> tuple[str, ...]:
    """The canonical field names a row of ``entity`` can fill, in registry order: the
    columns an owning domain's bulk path reads off a validated row."""
    from reos.ingest.fields import fields_for

    return tuple(spec.name for spec in fields_for(entity))


def register(kind: RecordKind) -> RecordKind:
    """Declare a record kind (a domain's ``kinds`` module does this on import)."""
    _KINDS[kind.entity] = kind
    return kind


def kind_of(record: str) -> RecordKind:
    """The kind of a record name (``"sale"``); an unknown one is refused by name."""
    if not _KINDS:
        from reos.domains import kind_modules

        for module in kind_modules():
            importlib.import_module(module)
    try:
        return _KINDS[Entity(record)]
    except (ValueError, KeyError):
        known = ", ".join(sorted(_KINDS))
        raise ValidationFailed(
            f"unknown record kind {record!r}; use one of {known}", field="record"
        ) from None
