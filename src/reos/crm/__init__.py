"""The deal and its CRM: a property the organisation pursues, through its stages to close.

Deals (stage, assignee, next action, score and reasons from the shortlist, tags, notes,
tasks, an activity timeline) and offers (typed or priced by the underwriting maximum
offer; sent, countered, accepted, rejected, expired, withdrawn). Fronts for other
domains: :func:`reos.crm.service.shortlist` (the pipeline's shortlist stage) and
:func:`reos.crm.read_model.outcomes` (what the deal score learns from). The stage rules
are in :mod:`reos.crm.stages`, the offer transitions in :mod:`reos.crm.offers`, the
deadline job in :mod:`reos.crm.deadlines`.
"""

from reos.frontdoor import Commands, Domain, Schedule

DOMAIN = Domain(
    name="crm",
    router="reos.crm.api:router",
    commands=Commands("reos.crm.commands", ("deals", "offers", "tasks")),
    jobs="reos.crm.jobs",
    schedules=(Schedule("crm.deadlines", 15 * 60),),
)
