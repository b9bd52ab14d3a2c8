"""Organisations, users, roles, API keys, authentication and the audit log."""

from reos.frontdoor import Commands, Domain

DOMAIN = Domain(
    name="accounts",
    router="reos.accounts.api:router",
    commands=Commands("reos.accounts.commands", ("orgs", "users", "apikeys")),
)
