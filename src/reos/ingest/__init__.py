"""File import, a generic engine: readers, column mapping, the validation gate, quarantine.

The reading, mapping and validating modules are pure: plain data in, plain data out, no
database. The import service (``reos.ingest.service``) runs them per chunk of rows, keeps
the run's checkpoint and quarantine, and hands each chunk's valid rows to the domain that
owns the record kind (``reos.ingest.kinds``: properties and sales to ``reos.properties``,
owner records to ``reos.owners``). Addresses, value coercion and the property vocabulary
are the shared kernel's (``reos.kernel``).
"""

from reos.frontdoor import Commands, Domain

DOMAIN = Domain(
    name="ingest",
    router="reos.ingest.api:router",
    commands=Commands("reos.ingest.commands", ("import", "quarantine", "fields")),
    jobs="reos.ingest.jobs",
)
