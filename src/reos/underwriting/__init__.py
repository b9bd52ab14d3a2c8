"""Underwriting and offers: what a property earns, what it costs and what to offer.

The engine is pure (plain data in, plain data out; see ``shared/reference/underwriting.md``
for the contract every figure follows). The front door is declared here; nothing is
imported here, so declaring the domain stays cheap. The entry points:

- :func:`reos.underwriting.deal.analyse_deal` (a deal file's mapping → ``DealAnalysis``),
  with ``parse_deal`` (check it whole: ``ValidationFailed`` with one line per problem in
  ``detail["problems"]``), ``analyse`` (a checked deal), ``load_deal_file`` and
  ``template``;
- :func:`reos.underwriting.offers.max_offer` / ``max_offer_for`` (the highest whole-dollar
  price meeting every constraint) and ``parse_constraints``;
- :func:`reos.underwriting.sensitivity.sensitivity` (sweeps, ``parse_sweep``) and
  ``scenarios`` (named overrides side by side);
- the strategies: ``rental`` (``RentalDeal``, ``analyse_rental``), ``flip`` (``FlipDeal``,
  ``analyse_flip``) and ``commercial`` (``CommercialDeal``, ``analyse_commercial``).
"""

from reos.frontdoor import Commands, Domain

DOMAIN = Domain(
    name="underwriting",
    router="reos.underwriting.api:router",
    commands=Commands("reos.underwriting.commands", ("underwrite", "offer")),
    kinds="reos.underwriting.kinds",
)
