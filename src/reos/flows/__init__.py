"""Flows: work that crosses domains, kept apart from the services it calls.

A domain's service never calls another domain's service to carry a deal forward; a flow
does. A flow is a plain function that takes the organisation (or a session factory), calls
each domain's service module by name in turn (``ingest_service.import_file`` then
``valuation_service.train_model``; later value -> underwrite -> score -> offer -> memo ->
outreach) and owns the transactions between the steps, so each step commits on its own and
a re-run resumes after the last finished one. Flows import services, never tables, and no
service imports a flow.

Today's flows:

* :mod:`reos.flows.demo`: load the demo organisation's sample sales and train its first
  valuation model (``make demo``).
"""
