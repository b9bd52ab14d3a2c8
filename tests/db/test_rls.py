"""Row-level security on PostgreSQL, proven table by table as the restricted role.

For every tenant table: under organisation A, raw SELECT/UPDATE/DELETE see and touch none
of B's rows; an INSERT naming B is refused; with no organisation nothing is visible; and a
pooled connection reused for A then B leaks nothing.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import ProgrammingError

import reos.models  # noqa: F401  (every model registered, so tenant_tables() is whole at collection)
from reos.config import get_settings
from reos.db.base import tenant_tables

pytestmark = pytest.mark.postgres


def test_every_tenant_table_is_checked() -> None:
    """The per-table tests below are parametrized at collection: with the models not yet
    imported the list was empty and every one of them was skipped, silently."""
    tables = tenant_tables()
    assert {"properties", "sales", "owner_records", "valuations", "underwritings"} <= set(tables)


@pytest.fixture(scope="module")
def pg(engine: Engine) -> Engine:
    if engine.dialect.name != "postgresql":
        if os.environ.get("REOS_REQUIRE_POSTGRES"):
            pytest.fail("REOS_REQUIRE_POSTGRES is set but the tests run on " + engine.dialect.name)
        pytest.skip("row-level security is PostgreSQL's")
    return engine


def _seed(conn: Any, org: uuid.UUID) -> None:
    """One row per tenant table for ``org``, inserted as the owner (bypassing RLS)."""
    user = uuid.uuid4()
    prop, imp, ent, run = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    plist, deal = uuid.uuid4(), uuid.uuid4()
    conn.execute(
        text("INSERT INTO organizations (id, name, slug) VALUES (:o, :n, :n)"),
        {"o": org, "n": f"rls-{org.hex[:12]}"},
    )
    conn.execute(
        text("INSERT INTO users (id, email, is_active) VALUES (:u, :e, true)"),
        {"u": user, "e": f"{user.hex}@x.io"},
    )
    rows: dict[str, tuple[str, dict[str, Any]]] = {
        "memberships": (
            "(id, org_id, user_id, role) VALUES (:id, :org, :user, 'owner')",
            {"user": user},
        ),
        "api_keys": (
            "(id, org_id, name, prefix, key_hash, role) VALUES (:id, :org, 'k', 'p', :h, 'service')",
            {"h": uuid.uuid4().hex},
        ),
        "audit_log": (
            "(id, org_id, actor_type, action, entity_type, changes, created_at) VALUES (:id, :org, 'cli', 'x', 'y', '{}', now())",
            {},
        ),
        "properties": (
            "(id, org_id, attributes, warnings, provenance) VALUES (:pid, :org, '{}', '[]', '{}')",
            {"pid": prop},
        ),
        "sales": (
            "(id, org_id, property_id, close_date, close_date_precision, sale_price, attributes, warnings, provenance) VALUES (:id, :org, :pid, '2020-01-01', 'day', 100, '{}', '[]', '{}')",
            {"pid": prop},
        ),
        "field_changes": (
            "(id, org_id, entity_type, entity_id, field, old_value, new_value, changed_at) VALUES (:id, :org, 'property', :pid, 'beds', '{}', '{}', now())",
            {"pid": prop},
        ),
        "imports": (
            "(id, org_id, entity, filename, file_sha256, fingerprint, source_name, mapping, status, rows_read, inserted, updated, unchanged, quarantined, rows_committed, warnings) VALUES (:iid, :org, 'sales', 'f', 'h', 'h', 's', '{}', 'done', 0,0,0,0,0,0, '[]')",
            {"iid": imp},
        ),
        "quarantined_rows": (
            "(id, org_id, import_id, row_number, raw, reasons, status) VALUES (:id, :org, :iid, 1, '{}', '[]', 'open')",
            {"iid": imp},
        ),
        "jobs": (
            "(id, org_id, kind, payload, status, attempts, run_after) VALUES (:id, :org, 'k', '{}', 'queued', 0, now())",
            {},
        ),
        "owner_entities": (
            "(id, org_id, entity_key, display_name, kind, attributes) VALUES (:eid, :org, 'k', 'n', 'person', '{}')",
            {"eid": ent},
        ),
        "owner_records": (
            "(id, org_id, owner_record_id, property_ref, link_status, attributes, warnings, provenance) VALUES (:id, :org, 'r', '{}', 'unlinked', '{}', '[]', '{}')",
            {},
        ),
        "owner_overrides": (
            "(id, org_id, kind, record_a, record_b) VALUES (:id, :org, 'merge', 'a', 'b')",
            {},
        ),
        "owner_resolution_runs": ("(id, org_id, report, model) VALUES (:id, :org, '{}', '{}')", {}),
        "avm_models": (
            "(id, org_id, version, path, cutoff, row_count, features, holdout_metrics, is_active) VALUES (:id, :org, 'v', 'p', '2020-01-01', 1, '[]', '{}', true)",
            {},
        ),
        "valuations": (
            "(id, org_id, property_id, valuation_date, estimated_value, interval_low, interval_high, confidence, model_version, result) VALUES (:id, :org, :pid, '2020-01-01', 1, 1, 1, 'A', 'v', '{}')",
            {"pid": prop},
        ),
        "schedule_runs": (
            "(id, org_id, schedule, period_start, job_id) VALUES (:id, :org, 's', now(), :id)",
            {},
        ),
        "valuation_runs": (
            "(id, org_id, valuation_date, model_version, status, properties_total, properties_done, valued, not_valued) VALUES (:id, :org, '2020-01-01', 'v', 'running', 1, 0, 0, '{}')",
            {},
        ),
        "rent_listings": (
            "(id, org_id, rent_record_id, property_id, link_status, monthly_rent, attributes, warnings, provenance) VALUES (:id, :org, 'r', :pid, 'linked', 1500, '{}', '[]', '{}')",
            {"pid": prop},
        ),
        "underwriting_defaults": (
            "(id, org_id, strategy, assumptions) VALUES (:id, :org, 'rental', '{}')",
            {},
        ),
        "underwritings": (
            "(id, org_id, property_id, strategy, inputs, sources, metrics, cash_flows, result, engine_version) VALUES (:id, :org, :pid, 'rental', '{}', '{}', '{}', '{}', '{}', 'e')",
            {"pid": prop},
        ),
        "underwriting_runs": (
            "(id, org_id, strategy, assumptions, status, properties_total, properties_done, underwritten, skipped) VALUES (:id, :org, 'rental', '{}', 'running', 1, 0, 0, '{}')",
            {},
        ),
        "pipeline_runs": (
            "(id, org_id, status, trigger, watermarks, properties_total, stages, summary) VALUES (:rid, :org, 'running', 'cli', '{}', 1, '[]', '{}')",
            {"rid": run},
        ),
        "pipeline_chunks": (
            "(id, org_id, run_id, stage, stage_order, seq, property_ids, status, completions, processed, failed, skipped, seconds, result) VALUES (:id, :org, :rid, 'value', 0, 0, '[]', 'pending', 0, 0, 0, 0, 0, '{}')",
            {"rid": run},
        ),
        "pipeline_items": (
            "(id, org_id, run_id, stage, property_id, outcome, reason) VALUES (:id, :org, :rid, 'value', :pid, 'failed', 'x')",
            {"rid": run, "pid": prop},
        ),
        "pipeline_settings": (
            "(id, org_id, shortlist_top_n, strategy, chunk_properties) VALUES (:id, :org, 100, 'rental', 500)",
            {},
        ),
        "property_lists": (
            "(id, org_id, name, kind, list_date, derived, query, member_count, report) VALUES (:id, :org, 'l', 'probate', '2020-01-01', false, '{}', 1, '{}')",
            {"id": plist},
        ),
        "list_memberships": (
            "(id, org_id, list_id, property_id, status, listed_on, attributes) VALUES (:id, :org, :lid, :pid, 'matched', '2020-01-01', '{}')",
            {"lid": plist, "pid": prop},
        ),
        "saved_searches": (
            "(id, org_id, name, filters, last_match_count, last_new_count, last_match_ids) VALUES (:id, :org, 's', '{}', 0, 0, '[]')",
            {},
        ),
        "deal_scores": (
            "(id, org_id, property_id, score, drivers, reasons, features, model_version, scored_at) VALUES (:id, :org, :pid, 50, '[]', '[]', '{}', 'default-v1', now())",
            {"pid": prop},
        ),
        "score_models": (
            "(id, org_id, version, path, outcome_count, holdout_auc, default_auc, features, metrics, is_active) VALUES (:id, :org, 'v', 'p', 1, 0.5, 0.5, '[]', '{}', false)",
            {},
        ),
        "deal_stages": (
            "(id, org_id, name, position, terminal) VALUES (:id, :org, 'new', 0, false)",
            {},
        ),
        "deals": (
            "(id, org_id, property_id, open_property_id, stage, reasons, search_text, version) VALUES (:did, :org, :pid, :pid, 'new', '[]', '', 1)",
            {"did": deal, "pid": prop},
        ),
        "deal_tags": ("(id, org_id, deal_id, tag) VALUES (:id, :org, :did, 'hot')", {"did": deal}),
        "deal_notes": (
            "(id, org_id, deal_id, body) VALUES (:id, :org, :did, 'called')",
            {"did": deal},
        ),
        "deal_tasks": (
            "(id, org_id, deal_id, title, done) VALUES (:id, :org, :did, 'call', false)",
            {"did": deal},
        ),
        "deal_events": (
            "(id, org_id, deal_id, kind, occurred_at, detail) VALUES (:id, :org, :did, 'created', now(), '{}')",
            {"did": deal},
        ),
        "offers": (
            "(id, org_id, deal_id, property_id, party, price, terms, source, basis, status) VALUES (:id, :org, :did, :pid, 'buyer', 100000.00, '{}', 'typed', '{}', 'draft')",
            {"did": deal, "pid": prop},
        ),
    }
    missing = set(tenant_tables()) - set(rows)
    assert not missing, f"add seed rows for new tenant tables: {missing}"
    for table, (values, params) in rows.items():
        conn.execute(
            text(f"INSERT INTO {table} {values}"), {"id": uuid.uuid4(), "org": org, **params}
        )


@pytest.fixture(scope="module")
def two_orgs(pg: Engine) -> tuple[uuid.UUID, uuid.UUID]:
    a, b = uuid.uuid4(), uuid.uuid4()
    with pg.begin() as conn:
        _seed(conn, a)
        _seed(conn, b)
    return a, b


def _as_app(conn: Any, org: uuid.UUID | None) -> None:
    conn.exec_driver_sql(f'SET LOCAL ROLE "{get_settings().app_role}"')
    conn.execute(text("SELECT set_config('reos.org_id', :o, true)"), {"o": str(org) if org else ""})


def test_app_role_is_restricted(pg: Engine) -> None:
    role = get_settings().app_role
    with pg.connect() as conn:
        row = conn.execute(
            text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :r"), {"r": role}
        ).one()
        assert tuple(row) == (False, False)
        owned = conn.execute(
            text("SELECT count(*) FROM pg_tables WHERE schemaname='public' AND tableowner = :r"),
            {"r": role},
        ).scalar()
        assert owned == 0
        for table in tenant_tables():
            flags = conn.execute(
                text("SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = :t"),
                {"t": table},
            ).one()
            assert tuple(flags) == (True, True), table
            has_index = conn.execute(
                text(
                    "SELECT count(*) FROM pg_indexes WHERE tablename = :t AND indexdef LIKE '%(org_id%'"
                ),
                {"t": table},
            ).scalar()
            assert has_index and has_index >= 1, f"{table} lacks an index on org_id"


@pytest.mark.parametrize("table", tenant_tables())
def test_other_orgs_rows_are_invisible_and_untouchable(
    pg: Engine, two_orgs: tuple[uuid.UUID, uuid.UUID], table: str
) -> None:
    a, b = two_orgs
    with pg.connect() as conn:
        with conn.begin():
            _as_app(conn, a)
            assert (
                conn.execute(
                    text(f"SELECT count(*) FROM {table} WHERE org_id = :b"), {"b": b}
                ).scalar()
                == 0
            )
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() >= 1
            assert (
                conn.execute(
                    text(f"SELECT count(*) FROM {table} WHERE org_id <> :a"), {"a": a}
                ).scalar()
                == 0
            )
            assert (
                conn.execute(
                    text(f"UPDATE {table} SET org_id = org_id WHERE org_id = :b"), {"b": b}
                ).rowcount
                == 0
            )
            assert (
                conn.execute(text(f"DELETE FROM {table} WHERE org_id = :b"), {"b": b}).rowcount == 0
            )
        # B's rows are all still there (checked as the owner)
        assert (
            conn.execute(text(f"SELECT count(*) FROM {table} WHERE org_id = :b"), {"b": b}).scalar()
            >= 1
        )
        conn.rollback()


@pytest.mark.parametrize("table", tenant_tables())
def test_insert_naming_another_org_is_refused(
    pg: Engine, two_orgs: tuple[uuid.UUID, uuid.UUID], table: str
) -> None:
    a, b = two_orgs
    with pg.connect() as conn:
        trans = conn.begin()
        _as_app(conn, a)
        # copy one of A's own rows but name B: WITH CHECK must refuse it
        cols = [
            r[0]
            for r in conn.execute(
                text(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = :t AND column_name NOT IN ('id','org_id')"
                ),
                {"t": table},
            )
        ]
        col_list = ", ".join(f'"{c}"' for c in cols)
        with pytest.raises(ProgrammingError, match="row-level security"):
            conn.execute(
                text(
                    f"INSERT INTO {table} (id, org_id, {col_list}) SELECT gen_random_uuid(), :b, {col_list} FROM {table} LIMIT 1"
                ),
                {"b": b},
            )
        trans.rollback()


@pytest.mark.parametrize("table", tenant_tables())
def test_no_org_set_shows_nothing(
    pg: Engine, two_orgs: tuple[uuid.UUID, uuid.UUID], table: str
) -> None:
    with pg.connect() as conn:
        with conn.begin():
            conn.exec_driver_sql(f'SET LOCAL ROLE "{get_settings().app_role}"')
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0
        # an expired transaction-local setting reads as '' — still nothing
        with conn.begin():
            _as_app(conn, two_orgs[0])
        with conn.begin():
            conn.exec_driver_sql(f'SET LOCAL ROLE "{get_settings().app_role}"')
            assert conn.execute(text("SELECT current_setting('reos.org_id', true)")).scalar() == ""
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0


def test_pooled_connection_reused_for_a_then_b_leaks_nothing(
    pg: Engine, two_orgs: tuple[uuid.UUID, uuid.UUID]
) -> None:
    from reos.db.engine import make_engine
    from reos.db.session import tenant_session
    from reos.models import Property

    a, b = two_orgs
    one = make_engine(pg.url.render_as_string(hide_password=False), pool_size=1, max_overflow=0)
    try:
        from sqlalchemy import select

        with tenant_session(a, one) as s:
            raw_a = {r for (r,) in s.execute(text("SELECT org_id FROM properties"))}
            pid_a = s.execute(text("SELECT pg_backend_pid()")).scalar()
            assert s.execute(text("SELECT current_user")).scalar() == get_settings().app_role
            assert len(s.scalars(select(Property)).all()) >= 1
        with tenant_session(b, one) as s:
            raw_b = {r for (r,) in s.execute(text("SELECT org_id FROM properties"))}
            assert s.execute(text("SELECT pg_backend_pid()")).scalar() == pid_a
        assert raw_a == {a} and raw_b == {b}
        with (
            one.connect() as conn
        ):  # after both: the bare connection is the owner again, no org set
            assert (
                conn.execute(
                    text("SELECT coalesce(current_setting('reos.org_id', true), '')")
                ).scalar()
                == ""
            )
            assert conn.execute(text("SELECT current_user")).scalar() != get_settings().app_role
    finally:
        one.dispose()
