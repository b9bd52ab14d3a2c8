"""Paging parameters every list route shares, bounded so the schema states the limits.

An unbounded ``offset`` reached the database as is: past 2**63 - 1 it overflowed the SQL
integer and the request ended in a 500. One bound here, declared as ``maximum`` in the
OpenAPI schema, turns that into a 422 that names the parameter.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

MAX_OFFSET = 1_000_000_000
"""Deepest row a page may start at; far beyond any organisation's data, far below 2**63."""

Offset = Annotated[
    int,
    Query(ge=0, le=MAX_OFFSET, description=f"rows to skip (0 to {MAX_OFFSET:,})"),
]


def limit_query(maximum: int) -> Any:
    """``Query`` for a page size of 1 to ``maximum`` rows."""
    return Query(ge=1, le=maximum, description=f"rows per page (1 to {maximum})")
