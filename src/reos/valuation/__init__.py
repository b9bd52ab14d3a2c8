"""Valuation: comparable-sales AVM, market index, ratio study and backtest.

The engine (pure computation) is :mod:`reos.valuation.engine`; it is not imported here,
so that declaring the domain stays cheap.
"""

from reos.frontdoor import Commands, Domain

DOMAIN = Domain(
    name="valuation",
    router="reos.valuation.api:router",
    commands=Commands("reos.valuation.commands", ("avm", "value")),
    jobs="reos.valuation.jobs",
)
