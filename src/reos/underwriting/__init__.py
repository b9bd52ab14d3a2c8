"""Underwriting and offers: what a property earns, what it costs and what to offer.

The engine is pure (plain data in, plain data out; see ``shared/reference/underwriting.md``
for the contract every figure follows). The front door is declared here.
"""

from reos.frontdoor import Commands, Domain

DOMAIN = Domain(
    name="underwriting",
    router="reos.underwriting.api:router",
    commands=Commands("reos.underwriting.commands", ("underwrite", "offer")),
)
