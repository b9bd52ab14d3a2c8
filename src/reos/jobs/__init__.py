"""Durable background work on the ``jobs`` table: enqueue in the caller's transaction,
claim with a lease, run in the job's organisation, mark done or failed."""
