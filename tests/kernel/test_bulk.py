"""Bulk-SQL helpers of the shared kernel: time-ordered ids and planner statistics."""

from __future__ import annotations

import pytest

from reos.kernel.bulk import new_id


def test_new_ids_grow_in_creation_order_and_are_version_7() -> None:
    """Records an import creates get increasing ids (the primary-key index grows at its
    end), also many within one millisecond."""
    ids = [new_id() for _ in range(20_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert {i.version for i in ids} == {7}


def test_one_connection_engine_analyses_in_line(database_url: str, is_pg: bool) -> None:
    """On an engine whose pool is one shared connection, an ``ANALYZE`` in its own thread
    would run inside the import's next transaction (it once broke that transaction's
    checkpoint). There the statistics are refreshed before the import goes on."""
    if not is_pg:
        pytest.skip("only PostgreSQL imports analyse their tables")
    from sqlalchemy.orm import Session
    from sqlalchemy.pool import StaticPool

    from reos.db.engine import make_engine
    from reos.kernel.bulk import TableStatistics

    one_connection = make_engine(database_url, poolclass=StaticPool)
    try:
        statistics = TableStatistics("properties, sales")
        with Session(one_connection) as session:
            statistics.grew(session, 10)
        assert statistics._analysing is None  # no thread was started
        assert statistics.next_at == 20
        with one_connection.connect() as conn:
            analysed = conn.exec_driver_sql(
                "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'sales'"
            ).scalar()
        assert analysed is not None
    finally:
        one_connection.dispose()
