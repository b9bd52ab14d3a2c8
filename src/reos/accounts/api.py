"""Accounts routes: tokens, the caller, organisations, members, API keys, audit log."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request, status
from sqlalchemy.orm import Session

from reos.accounts import audit, tokens
from reos.accounts import service as accounts
from reos.accounts.principal import attach
from reos.accounts.roles import Permission
from reos.accounts.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    AuditOut,
    MemberCreate,
    MemberOut,
    MembershipOut,
    MemberUpdate,
    MeOut,
    OrgCreate,
    OrgOut,
    OrgUpdate,
    RefreshIn,
    TokenOut,
)
from reos.config import get_settings
from reos.db.session import system_session
from reos.errors import Forbidden, Unauthenticated
from reos.http.deps import CurrentPrincipal, session_for
from reos.http.errors import error_responses
from reos.models import Membership, User

router = APIRouter(prefix="/api/v1")
AUTH_ERRORS = error_responses(401, 403, 422, 429)
ManageMembers = Annotated[Session, Depends(session_for(Permission.MEMBERS_MANAGE))]
ManageKeys = Annotated[Session, Depends(session_for(Permission.KEYS_MANAGE))]
ManageOrg = Annotated[Session, Depends(session_for(Permission.ORG_MANAGE))]
ReadAudit = Annotated[Session, Depends(session_for(Permission.AUDIT_READ))]
AnySession = Annotated[Session, Depends(session_for(Permission.DATA_READ))]


def _tokens_for(user_id: uuid.UUID, org_id: uuid.UUID | None) -> TokenOut:
    settings = get_settings()
    return TokenOut(
        access_token=tokens.issue(settings, user_id, org_id, "access"),
        refresh_token=tokens.issue(settings, user_id, org_id, "refresh"),
        expires_in=settings.access_token_minutes * 60,
    )


@router.post(
    "/auth/token", response_model=TokenOut, tags=["auth"], responses=error_responses(401, 422, 429)
)
def login(
    username: Annotated[str, Form(description="the user's email")],
    password: Annotated[str, Form()],
) -> TokenOut:
    """OAuth2 password grant: exchange email and password for an access and a refresh token."""
    with system_session() as session:
        user = accounts.authenticate(session, username, password)
        memberships = accounts.memberships_of(session, user.id)
        org_id = user.default_org_id or (memberships[0][0].id if memberships else None)
        return _tokens_for(user.id, org_id)


@router.post(
    "/auth/refresh",
    response_model=TokenOut,
    tags=["auth"],
    responses=error_responses(401, 422, 429),
)
def refresh(body: RefreshIn) -> TokenOut:
    """A new access token (and a new refresh token) for a valid refresh token."""
    claims = tokens.verify_local(get_settings(), body.refresh_token, "refresh")
    with system_session() as session:
        user = session.get(User, uuid.UUID(claims.subject))
        if user is None or not user.is_active:
            raise Unauthenticated("the user no longer exists or is disabled")
        org = uuid.UUID(claims.org_id) if claims.org_id else None
        return _tokens_for(user.id, org)


@router.get("/me", response_model=MeOut, tags=["auth"], responses=AUTH_ERRORS)
def me(principal: CurrentPrincipal) -> MeOut:
    """The caller: user, organisations with roles, and the organisation this request acts in."""
    with system_session() as session:
        if principal.user_id is not None:
            user = session.get(User, principal.user_id)
            memberships = accounts.memberships_of(session, principal.user_id)
            email = user.email if user else None
        else:
            org = accounts.resolve_org(session, str(principal.org_id))
            memberships = [(org, principal.role)]
            email = None
        return MeOut(
            kind=principal.kind,
            user_id=principal.user_id,
            email=email,
            current_org=principal.org_id,
            current_role=principal.role,  # type: ignore[arg-type]
            organizations=[
                MembershipOut(org=OrgOut.model_validate(o), role=r) for o, r in memberships
            ],  # type: ignore[arg-type]
        )


@router.post(
    "/orgs",
    response_model=OrgOut,
    status_code=status.HTTP_201_CREATED,
    tags=["organisations"],
    responses=AUTH_ERRORS | error_responses(409),
)
def create_org(body: OrgCreate, principal: CurrentPrincipal, request: Request) -> OrgOut:
    """Create a new organisation; the calling user becomes its owner."""
    if principal.user_id is None:
        raise Forbidden("only a user (not an API key) can create an organisation")
    with system_session() as session:
        attach(session, principal)
        org = accounts.create_organization(session, body.name, body.slug)
        session.add(Membership(org_id=org.id, user_id=principal.user_id, role="owner"))
        out = OrgOut.model_validate(org)
    return out


@router.get("/orgs/current", response_model=OrgOut, tags=["organisations"], responses=AUTH_ERRORS)
def get_current_org(session: AnySession) -> OrgOut:
    return OrgOut.model_validate(accounts.current_organization(session))


@router.patch("/orgs/current", response_model=OrgOut, tags=["organisations"], responses=AUTH_ERRORS)
def update_current_org(body: OrgUpdate, session: ManageOrg) -> OrgOut:
    return OrgOut.model_validate(accounts.rename_organization(session, body.name))


def _member_out(m: Membership, u: User) -> MemberOut:
    return MemberOut(
        id=m.id,
        user_id=u.id,
        email=u.email,
        full_name=u.full_name,
        role=m.role,
        created_at=m.created_at,
    )  # type: ignore[arg-type]


@router.get("/members", response_model=list[MemberOut], tags=["members"], responses=AUTH_ERRORS)
def list_members(session: ManageMembers) -> list[MemberOut]:
    return [_member_out(m, u) for m, u in accounts.list_members(session)]


@router.post(
    "/members",
    response_model=MemberOut,
    status_code=201,
    tags=["members"],
    responses=AUTH_ERRORS | error_responses(409),
)
def add_member(body: MemberCreate, session: ManageMembers) -> MemberOut:
    """Add a user (created if new) to this organisation with a role."""
    m, u = accounts.add_member(session, body.email, body.role.value, body.password, body.full_name)
    return _member_out(m, u)


@router.patch(
    "/members/{member_id}",
    response_model=MemberOut,
    tags=["members"],
    responses=AUTH_ERRORS | error_responses(404, 409),
)
def update_member(member_id: uuid.UUID, body: MemberUpdate, session: ManageMembers) -> MemberOut:
    m, u = accounts.change_role(session, member_id, body.role.value)
    return _member_out(m, u)


@router.delete(
    "/members/{member_id}",
    status_code=204,
    tags=["members"],
    responses=AUTH_ERRORS | error_responses(404, 409),
)
def delete_member(member_id: uuid.UUID, session: ManageMembers) -> None:
    accounts.remove_member(session, member_id)


@router.get("/api-keys", response_model=list[ApiKeyOut], tags=["api keys"], responses=AUTH_ERRORS)
def list_keys(session: ManageKeys) -> list[ApiKeyOut]:
    return [ApiKeyOut.model_validate(k) for k in accounts.list_api_keys(session)]


@router.post(
    "/api-keys",
    response_model=ApiKeyCreated,
    status_code=201,
    tags=["api keys"],
    responses=AUTH_ERRORS,
)
def create_key(body: ApiKeyCreate, session: ManageKeys) -> ApiKeyCreated:
    """Create an API key bound to this organisation and a role. The key is shown only here."""
    key, plaintext = accounts.create_api_key(session, body.name, body.role.value)
    return ApiKeyCreated(**ApiKeyOut.model_validate(key).model_dump(), key=plaintext)


@router.delete(
    "/api-keys/{key_id}",
    response_model=ApiKeyOut,
    tags=["api keys"],
    responses=AUTH_ERRORS | error_responses(404),
)
def revoke_key(key_id: uuid.UUID, session: ManageKeys) -> ApiKeyOut:
    return ApiKeyOut.model_validate(accounts.revoke_api_key(session, key_id))


@router.get("/audit", response_model=list[AuditOut], tags=["audit"], responses=AUTH_ERRORS)
def list_audit(
    session: ReadAudit,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    entity_type: Annotated[str | None, Query(max_length=50, pattern=r"^[a-z_]+$")] = None,
) -> list[AuditOut]:
    """Every write in this organisation, newest first (owners and admins)."""
    return [
        AuditOut.model_validate(e)
        for e in audit.list_entries(session, limit=limit, offset=offset, entity_type=entity_type)
    ]
