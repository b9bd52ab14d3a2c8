"""The record kind owners owns: owner files (linked to the properties they own).
Imported by :func:`reos.ingest.kinds.kind_of`; keep it light."""

from __future__ import annotations

from reos.ingest.kinds import RecordKind, register
from reos.kernel.vocabulary import Entity

OWNER = register(
    RecordKind(Entity.OWNER, "reos.owners.bulk:write_owner_records", "owner_records, properties")
)
