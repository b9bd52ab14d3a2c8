"""File import: readers, column mapping, the validation gate, address normalisation.

The modules here are pure: plain data in, plain data out, no database. The import
service (``reos.ingest.service``) calls them per chunk of rows and owns persistence,
quarantine and provenance.
"""

from reos.frontdoor import Commands, Domain

DOMAIN = Domain(
    name="ingest",
    router="reos.ingest.api:router",
    commands=Commands("reos.ingest.commands", ("import", "quarantine", "fields")),
    jobs="reos.ingest.jobs",
)
