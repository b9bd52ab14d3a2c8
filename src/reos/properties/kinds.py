"""The record kinds properties owns: property files and sales files (a sales row also
describes its property). Imported by :func:`reos.ingest.kinds.kind_of`; keep it light."""

from __future__ import annotations

from reos.ingest.kinds import RecordKind, register
from reos.kernel.vocabulary import Entity

PROPERTY = register(
    RecordKind(Entity.PROPERTY, "reos.properties.bulk:write_properties", "properties")
)
SALE = register(RecordKind(Entity.SALE, "reos.properties.bulk:write_sales", "properties, sales"))
