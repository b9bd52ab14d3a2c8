"""PostgreSQL row-level security for tenant tables, used by the migrations.

Policies fail closed: with no organisation set, ``current_setting`` gives NULL (never set)
or ``''`` (set earlier in the session by a transaction-local ``set_config`` that has
expired); ``nullif`` turns both into NULL, the comparison is never true, so no row is
visible and no row can be written.
"""

from __future__ import annotations

from alembic import op

ORG_EXPR = "nullif(current_setting('reos.org_id', true), '')::uuid"


def ensure_app_role(role: str) -> None:
    """Create the restricted role the application switches to: no login, no superuser,
    no BYPASSRLS, owns nothing; the migrating user becomes a member so it can SET ROLE."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        DO $$
        BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
            CREATE ROLE "{role}" NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT;
          END IF;
        END $$;
        """
    )
    op.execute(
        f"""
        DO $$
        BEGIN
          IF NOT pg_has_role(current_user, '{role}', 'MEMBER') THEN
            EXECUTE format('GRANT %I TO %I', '{role}', current_user);
          END IF;
        END $$;
        """
    )


def grant_app_role(role: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f'GRANT USAGE ON SCHEMA public TO "{role}"')
    op.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"')
    op.execute(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"')
    op.execute(f'REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM "{role}"')


def enable_rls(table: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
    op.execute(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY')
    op.execute(f'DROP POLICY IF EXISTS tenant_isolation ON "{table}"')
    op.execute(
        f'CREATE POLICY tenant_isolation ON "{table}" USING (org_id = {ORG_EXPR}) '
        f"WITH CHECK (org_id = {ORG_EXPR})"
    )
