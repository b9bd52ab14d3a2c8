"""``reos init`` (store, first organisation, owner) and ``reos serve``."""

from __future__ import annotations

import typer

from reos.accounts import service as accounts
from reos.config import get_settings
from reos.db import schema
from reos.db.session import system_session, tenant_session
from reos.kernel.principal import Principal, attach


def init_command(
    org: str = typer.Option("Demo Investments", "--org", help="name of the first organisation"),
    email: str = typer.Option("owner@example.com", "--email"),
    password: str | None = typer.Option(None, "--password", help="prompted for when not given"),
) -> None:
    """Create or upgrade the store, then the first organisation and its owner (idempotent)."""
    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    schema.upgrade()
    settings.signing_secret()
    with system_session() as session:
        existing = [o for o in accounts.list_organizations(session) if o.name == org]
        org_row = existing[0] if existing else accounts.create_organization(session, org)
        org_id, slug = org_row.id, org_row.slug
        user_exists = accounts.find_user(session, email) is not None
        same_password = (
            user_exists
            and password is not None
            and accounts.check_password(session, email, password) is not None
        )
    if user_exists:
        # An existing account keeps its own password: init never resets one.
        if password is not None and not same_password:
            typer.echo(
                f"{email} has an account already; its password is unchanged "
                "(reset it with: reos users reset-password --email ...)"
            )
        password = None
    elif password is None:
        password = typer.prompt("owner password", hide_input=True, confirmation_prompt=True)
    with tenant_session(org_id) as session:
        attach(session, Principal(kind="cli", org_id=org_id, role="owner", subject="init"))
        members = {u.email for _, u in accounts.list_members(session)}
        if email.lower() not in members:
            accounts.add_member(session, email, "owner", password)
    typer.echo(f"store ready at {settings.effective_database_url.split('@')[-1]}")
    typer.echo(f"organisation {org!r} (slug {slug}); owner {email}")


def serve_command(
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    workers: int = typer.Option(1, "--workers"),
) -> None:
    """Serve the REST API (OpenAPI docs at /docs)."""
    import uvicorn

    schema.require_current()
    uvicorn.run(
        "reos.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
    )


def mount(app: typer.Typer) -> None:
    app.command("init")(init_command)
    app.command("serve")(serve_command)
