"""The record kind underwriting owns: rent and lease listings (the comparables of a rent
estimate), linked to the properties they describe. Imported by
:func:`reos.ingest.kinds.kind_of`; keep it light."""

from __future__ import annotations

from reos.ingest.kinds import RecordKind, register
from reos.kernel.vocabulary import Entity

RENT = register(
    RecordKind(Entity.RENT, "reos.underwriting.bulk:write_rent_listings", "rent_listings")
)
