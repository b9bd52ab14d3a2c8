"""Owners: name and address normalisation, entity resolution, the ownership graph."""

from reos.frontdoor import Commands, Domain

DOMAIN = Domain(
    name="owners",
    router="reos.owners.api:router",
    kinds="reos.owners.kinds",
    commands=Commands("reos.owners.commands", ("owners",)),
)
