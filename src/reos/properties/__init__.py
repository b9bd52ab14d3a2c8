"""Property and sale records: the store every later capability reads, and search."""

from reos.frontdoor import Commands, Domain

DOMAIN = Domain(
    name="properties",
    router="reos.properties.api:router",
    kinds="reos.properties.kinds",
    commands=Commands("reos.properties.commands", ("properties",)),
)
