"""Shared pieces of the command line: choosing the organisation, the unit of work for a
command, JSON output, and mapping errors to one clear line and an exit code."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import typer
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.orm import Session

from reos.accounts import service as accounts
from reos.db import schema
from reos.db.session import system_session, tenant_session
from reos.errors import NotFound, ValidationFailed
from reos.kernel.principal import Principal, attach

ModelT = TypeVar("ModelT", bound=BaseModel)

OrgOption = typer.Option(
    None, "--org", help="organisation id or slug (default: $REOS_ORG, or the only one)"
)
JsonOption = typer.Option(False, "--json", help="print JSON instead of a table")


def parse_uuid(value: str, field: str, what: str) -> uuid.UUID:
    """An id typed on the command line, or one clear line saying what was expected."""
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        raise ValidationFailed(f"{value!r} is not {what} (a UUID)", field=field) from None


def validated(model: type[ModelT], data: dict[str, Any]) -> ModelT:
    """``data`` checked against the API's own schema, a refusal being one line naming the
    field (as the API's 422 does): the CLI accepts exactly what the API accepts."""
    try:
        return model.model_validate({k: v for k, v in data.items() if v is not None})
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or None
        message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
        raise ValidationFailed(message, field=field) from None


def resolve_org_id(org_ref: str | None) -> uuid.UUID:
    schema.require_current()
    org_ref = org_ref or os.environ.get("REOS_ORG")
    with system_session() as session:
        if org_ref:
            return accounts.resolve_org(session, org_ref).id
        orgs = accounts.list_organizations(session)
        if not orgs:
            raise NotFound(
                "there is no organisation yet: run `reos init` or `reos orgs create NAME`"
            )
        if len(orgs) > 1:
            names = ", ".join(o.slug for o in orgs)
            raise ValidationFailed(
                f"several organisations exist ({names}): choose one with --org", field="org"
            )
        return orgs[0].id


@contextmanager
def org_session(org_ref: str | None) -> Iterator[Session]:
    """A tenant unit of work for a CLI command; the operator acts with the owner's rights."""
    org_id = resolve_org_id(org_ref)
    with tenant_session(org_id) as session:
        attach(
            session,
            Principal(
                kind="cli", org_id=org_id, role="owner", subject=os.environ.get("USER", "cli")
            ),
        )
        yield session


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, default=_default, indent=2))


def print_table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(*columns)
    for row in rows:
        table.add_row(*["" if row.get(c) is None else str(row.get(c)) for c in columns])
    Console(width=200).print(table)
