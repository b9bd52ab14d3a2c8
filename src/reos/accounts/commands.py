"""``reos orgs|users|apikeys`` commands."""

from __future__ import annotations

import os

import typer

from reos.accounts import service as accounts
from reos.accounts.roles import parse_role
from reos.cli_support import (
    JsonOption,
    OrgOption,
    org_session,
    parse_uuid,
    print_json,
    print_table,
    resolve_org_id,
)
from reos.db import schema
from reos.db.session import system_session
from reos.errors import Conflict, NotFound

orgs_app = typer.Typer(help="Organisations.", no_args_is_help=True)
users_app = typer.Typer(help="Users and their roles.", no_args_is_help=True)
apikeys_app = typer.Typer(help="API keys for machine clients.", no_args_is_help=True)


@orgs_app.command("create")
def create_org(name: str, slug: str = typer.Option(None, help="short name used in --org")) -> None:
    """Create an organisation."""
    schema.require_current()
    with system_session() as session:
        org = accounts.create_organization(session, name, slug)
        typer.echo(f"created organisation {org.name} (slug {org.slug}, id {org.id})")


@orgs_app.command("list")
def list_orgs(as_json: bool = JsonOption) -> None:
    schema.require_current()
    with system_session() as session:
        rows = [
            {"id": o.id, "slug": o.slug, "name": o.name}
            for o in accounts.list_organizations(session)
        ]
    print_json(rows) if as_json else print_table(rows, ["id", "slug", "name"])


@users_app.command("create")
def create_user(
    email: str = typer.Option(..., "--email"),
    role: str = typer.Option(..., "--role", help="owner, admin, analyst or service"),
    org: str = OrgOption,
    password: str = typer.Option(
        None, "--password", help="for a new user only; prompted for when not given"
    ),
    full_name: str = typer.Option(None, "--name"),
) -> None:
    """Add a user to an organisation with a role (the user is created if new).

    The role, email and organisation are checked before the password is asked for, and it
    is asked for only when the user is new: an existing user keeps their own password
    (``--password`` for one is refused; `reos users reset-password` is the operator's reset).
    """
    email = accounts.normalize_email(email)
    parse_role(role)
    org_id = resolve_org_id(org)
    with system_session() as session:
        exists = accounts.find_user(session, email) is not None
    if exists and password is not None:
        raise Conflict(
            f"{email} already has an account and keeps their own password; leave out "
            "--password (or reset it with `reos users reset-password`)",
            field="password",
        )
    if not exists and password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with org_session(str(org_id)) as session:
        membership, user = accounts.add_member(session, email, role, password, full_name)
        typer.echo(f"{user.email} is now {membership.role} (member id {membership.id})")


@users_app.command("reset-password")
def reset_password(
    email: str = typer.Option(..., "--email"),
    password: str = typer.Option(None, "--password", help="prompted for when not given"),
) -> None:
    """Set a user's password from the server's console (account recovery).

    The only way besides the user's own `POST /api/v1/me/password`; it is not offered over
    HTTP. The user's refresh tokens are revoked, and every organisation of the user gets an
    audit row naming the console user.
    """
    schema.require_current()
    email = accounts.normalize_email(email)
    with system_session() as session:
        if accounts.find_user(session, email) is None:
            raise NotFound(f"no user {email}", field="email")
    if password is None:
        password = typer.prompt("new password", hide_input=True, confirmation_prompt=True)
    with system_session() as session:
        accounts.reset_password(session, email, password, os.environ.get("USER", "cli"))
    typer.echo(f"password of {email} reset; their refresh tokens are revoked")


@users_app.command("list")
def list_users(org: str = OrgOption, as_json: bool = JsonOption) -> None:
    with org_session(org) as session:
        rows = [
            {"id": m.id, "email": u.email, "role": m.role}
            for m, u in accounts.list_members(session)
        ]
    print_json(rows) if as_json else print_table(rows, ["id", "email", "role"])


@apikeys_app.command("create")
def create_key(
    name: str = typer.Option(..., "--name"),
    role: str = typer.Option("service", "--role"),
    org: str = OrgOption,
) -> None:
    """Create an API key; the key is printed alone on the last line, once."""
    with org_session(org) as session:
        key, plaintext = accounts.create_api_key(session, name, role)
        typer.echo(
            f"API key {key.name!r} ({key.role}, id {key.id}); store it now, it is not shown again:"
        )
        typer.echo(plaintext)


@apikeys_app.command("revoke")
def revoke_key(key_id: str, org: str = OrgOption) -> None:
    ident = parse_uuid(key_id, "key_id", "an API key id from `reos apikeys list`")
    with org_session(org) as session:
        key = accounts.revoke_api_key(session, ident)
        typer.echo(f"revoked {key.name!r} ({key.id})")


@apikeys_app.command("list")
def list_keys(org: str = OrgOption, as_json: bool = JsonOption) -> None:
    with org_session(org) as session:
        rows = [
            {
                "id": k.id,
                "name": k.name,
                "prefix": k.prefix,
                "role": k.role,
                "last_used_at": k.last_used_at,
                "revoked_at": k.revoked_at,
            }
            for k in accounts.list_api_keys(session)
        ]
    print_json(rows) if as_json else print_table(
        rows, ["id", "name", "prefix", "role", "last_used_at", "revoked_at"]
    )


def mount(app: typer.Typer) -> None:
    app.add_typer(orgs_app, name="orgs")
    app.add_typer(users_app, name="users")
    app.add_typer(apikeys_app, name="apikeys")
