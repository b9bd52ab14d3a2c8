"""Tenancy in one place.

A session is bound to one organisation (``session.info["org_id"]``). Every ORM read,
update and delete of a :class:`~reos.db.base.TenantScoped` model gets ``org_id = :org``
added here, and every new tenant object gets its ``org_id`` set (or is refused if it names
another organisation). Services never write ``WHERE org_id = ...`` themselves.

On PostgreSQL each transaction of a tenant session also switches to the restricted
application role (``set_config('role', ..., true)``, i.e. ``SET LOCAL ROLE``) and sets ``reos.org_id`` with
``set_config(..., true)`` (transaction-local, a bound parameter), so row-level security
policies see the same organisation; a pooled connection carries nothing to the next user.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, event, select, text
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, with_loader_criteria

from reos.db.base import TenantScoped

ORG_KEY = "org_id"
TENANT_KEY = "tenant"
APP_ROLE_KEY = "app_role"


class TenancyViolation(RuntimeError):
    """A bug: a tenant table was touched without an organisation, or across organisations."""


def bind(session: Session, org_id: uuid.UUID | None, *, app_role: str | None) -> None:
    session.info[TENANT_KEY] = True
    session.info[ORG_KEY] = org_id
    session.info[APP_ROLE_KEY] = app_role


def current_org(session: Session) -> uuid.UUID:
    org = session.info.get(ORG_KEY)
    if org is None:
        raise TenancyViolation("this session is not bound to an organisation")
    return org  # type: ignore[no-any-return]


def of_org(session: Session, table: Any) -> Any:
    """``table.org_id = <the session's organisation>`` for a Core statement on a tenant
    table: Core statements do not get the ORM's scoping, so bulk paths that use them for
    speed name the organisation with this (row-level security still applies on
    PostgreSQL)."""
    return table.c.org_id == current_org(session)


def stamp(session: Session, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Set ``org_id`` on rows for a bulk Core insert (the ORM path does it in before_flush)."""
    org = current_org(session)
    out = []
    for row in rows:
        if row.get("org_id") not in (None, org):
            raise TenancyViolation("row names another organisation")
        out.append({**row, "org_id": org})
    return out


@event.listens_for(Session, "do_orm_execute")
def _scope_queries(state: ORMExecuteState) -> None:
    session = state.session
    if not session.info.get(TENANT_KEY):
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.execution_options.get("skip_tenancy"):
        return
    org = session.info.get(ORG_KEY)
    if org is None:
        # fail closed: no organisation, no tenant rows
        state.statement = state.statement.options(
            with_loader_criteria(
                TenantScoped, lambda cls: cls.org_id.is_(None), include_aliases=True
            )
        )
        return
    state.statement = state.statement.options(
        with_loader_criteria(TenantScoped, lambda cls: cls.org_id == org, include_aliases=True)
    )


@event.listens_for(Session, "before_flush")
def _stamp_new_rows(session: Session, _ctx: Any, _instances: Any) -> None:
    if not session.info.get(TENANT_KEY):
        return
    org = session.info.get(ORG_KEY)
    for obj in session.new:
        if isinstance(obj, TenantScoped):
            if org is None:
                raise TenancyViolation(
                    f"cannot create {type(obj).__name__} without an organisation"
                )
            if obj.org_id is None:
                obj.org_id = org
            elif obj.org_id != org:
                raise TenancyViolation(f"{type(obj).__name__} names another organisation")
    for obj in session.dirty:
        if isinstance(obj, TenantScoped) and org is not None and obj.org_id != org:
            raise TenancyViolation(f"{type(obj).__name__} moved to another organisation")


_SCOPE = text("SELECT set_config('reos.org_id', :org, true)")
_SCOPE_WITH_ROLE = text(
    "SELECT set_config('role', :role, true), set_config('reos.org_id', :org, true)"
)


@event.listens_for(Session, "after_begin")
def _pg_transaction_scope(session: Session, _tx: SessionTransaction, connection: Any) -> None:
    if not session.info.get(TENANT_KEY) or connection.dialect.name != "postgresql":
        return
    role = session.info.get(APP_ROLE_KEY)
    org = session.info.get(ORG_KEY)
    params = {"org": str(org) if org else ""}
    if role:
        # one round trip for both: set_config('role', ..., true) is SET LOCAL ROLE
        connection.execute(_SCOPE_WITH_ROLE, {**params, "role": role})
    else:
        connection.execute(_SCOPE, params)


def get(session: Session, model: type[Any], ident: Any) -> Any:
    """Load one tenant row by primary key through the scoped query path.

    ``Session.get`` answers from the identity map without a query, which would skip the
    organisation criteria; this always goes through a scoped SELECT.
    """
    return session.scalars(by_id_statement(model), {"ident": ident}).one_or_none()


_BY_ID: dict[type[Any], Any] = {}


def by_id_statement(model: type[Any]) -> Any:
    """``SELECT model WHERE id = :ident``, built once per model rather than per request
    (the organisation criteria are still added to every execution)."""
    statement = _BY_ID.get(model)
    if statement is None:
        statement = _BY_ID[model] = select(model).where(model.id == bindparam("ident"))
    return statement
