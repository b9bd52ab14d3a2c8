"""The shared kernel: what every domain uses and no domain owns.

Addresses and their USPS normalisation (``addresses``, ``usps``), the property vocabulary
(``vocabulary``: record kinds, property types, units), the base of request bodies
(``schemas``), the bulk-SQL toolkit the bulk write paths share (``bulk``) and the
provenance merge rule (``merge``). Nothing here imports a domain package: the arrows point
from the domains to the kernel, never back. Modules stay light to import (no pandas, no
pydantic outside ``schemas``): the mapping worker is spawned and re-imports what it uses.
"""
