"""Accounts routes: tokens, the caller, organisations, members, API keys, audit log."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.orm import Session

from reos.accounts import audit, auth, tokens
from reos.accounts import service as accounts
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
    PasswordChange,
    RefreshIn,
    TokenOut,
)
from reos.config import Settings, get_settings
from reos.db.session import system_session
from reos.errors import Forbidden, ReosError, Unauthenticated, ValidationFailed
from reos.http.deps import CurrentPrincipal, session_for
from reos.http.errors import error_responses
from reos.http.paging import Offset, limit_query
from reos.kernel.principal import attach
from reos.kernel.schemas import NO_NUL_PATTERN
from reos.models import Membership, User

router = APIRouter(prefix="/api/v1")
AUTH_ERRORS = error_responses(401, 403, 422, 429)
ManageMembers = Annotated[
    Session, Depends(session_for(Permission.MEMBERS_MANAGE), scope="function")
]
ManageKeys = Annotated[Session, Depends(session_for(Permission.KEYS_MANAGE), scope="function")]
ManageOrg = Annotated[Session, Depends(session_for(Permission.ORG_MANAGE), scope="function")]
ReadAudit = Annotated[Session, Depends(session_for(Permission.AUDIT_READ), scope="function")]
AnySession = Annotated[Session, Depends(session_for(Permission.DATA_READ), scope="function")]


def _settings(request: Request) -> Settings:
    return getattr(request.app.state, "settings", None) or get_settings()


def _tokens_for(
    session: Session,
    settings: Settings,
    user_id: uuid.UUID,
    org_id: uuid.UUID | None,
    family_id: uuid.UUID | None = None,
) -> TokenOut:
    """An access token and a recorded refresh token (in ``family_id``, or a new family)."""
    issued = tokens.issue_refresh(settings, user_id, org_id, family_id)
    accounts.record_refresh_token(session, user_id, issued.jti, issued.family_id, issued.expires_at)
    return TokenOut(
        access_token=tokens.issue(settings, user_id, org_id, "access"),
        refresh_token=issued.token,
        expires_in=settings.access_token_minutes * 60,
    )


def _check_password(request: Request, email: str, password: str, wrong: ReosError) -> uuid.UUID:
    """The user id for this email and password, throttled per account (see
    :func:`reos.accounts.auth.check_credentials`)."""
    return auth.check_credentials(request.app.state, _settings(request), email, password, wrong)


@router.post(
    "/auth/token", response_model=TokenOut, tags=["auth"], responses=error_responses(401, 422, 429)
)
def login(
    request: Request,
    username: Annotated[
        str,
        Form(min_length=1, max_length=320, pattern=NO_NUL_PATTERN, description="the user's email"),
    ],
    password: Annotated[str, Form(min_length=1, max_length=1024, pattern=NO_NUL_PATTERN)],
) -> TokenOut:
    """OAuth2 password grant: exchange email and password for an access and a refresh token.

    Failed attempts are counted per account: after ``REOS_LOGIN_MAX_FAILURES`` within
    ``REOS_LOGIN_FAILURE_WINDOW_S`` the account answers 429 with Retry-After for
    ``REOS_LOGIN_LOCKOUT_S`` seconds, doubling with each lockout up to
    ``REOS_LOGIN_LOCKOUT_MAX_S``; a successful sign-in resets the count.
    """
    user_id = _check_password(
        request, username, password, Unauthenticated("wrong email or password")
    )
    with system_session() as session:
        user = session.get(User, user_id)
        assert user is not None
        memberships = accounts.memberships_of(session, user.id)
        org_id = user.default_org_id or (memberships[0][0].id if memberships else None)
        return _tokens_for(session, _settings(request), user.id, org_id)


# as RefreshIn validates it (length, no NUL), so the published body and the check agree
_REFRESH_TOKEN_FIELD = RefreshIn.model_json_schema()["properties"]["refresh_token"]
_JSON_REFRESH_SCHEMA = {
    "type": "object",
    "properties": {"refresh_token": _REFRESH_TOKEN_FIELD},
    "required": ["refresh_token"],
    "additionalProperties": False,
}
_FORM_REFRESH_SCHEMA = {
    "type": "object",
    "properties": {
        "refresh_token": _REFRESH_TOKEN_FIELD,
        "grant_type": {
            "type": "string",
            "enum": ["refresh_token"],
            "description": "optional, as OAuth2 clients send it (RFC 6749, section 6)",
        },
    },
    "required": ["refresh_token"],
}
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def _refresh_body(request: Request) -> RefreshIn:
    """The refresh token from a JSON body or a form (as OAuth2 clients send it, with an
    optional ``grant_type=refresh_token``); FastAPI binds a body to one media type only,
    so this reads it by Content-Type and validates it like any other body."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    data: Any
    if media in _FORM_TYPES:
        form = await request.form()
        grant = form.get("grant_type")
        if grant is not None and grant != "refresh_token":
            raise ValidationFailed(
                f"grant_type must be 'refresh_token', not {grant!r}", field="grant_type"
            )
        data = {k: v for k, v in form.items() if k == "refresh_token"}
    elif not await request.body():
        data = {}  # nothing sent: the missing field is named below
    else:
        try:
            data = await request.json()
        except ValueError:
            raise ValidationFailed(
                'the body is not JSON: send the refresh token as JSON {"refresh_token": ...} '
                "or as a form field refresh_token",
                field="body",
            ) from None
    try:
        return RefreshIn.model_validate(data)
    except PydanticValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        ) from None


@router.post(
    "/auth/refresh",
    response_model=TokenOut,
    tags=["auth"],
    responses=error_responses(401, 422, 429),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": _JSON_REFRESH_SCHEMA},
                "application/x-www-form-urlencoded": {"schema": _FORM_REFRESH_SCHEMA},
            },
        }
    },
)
def refresh(request: Request, body: Annotated[RefreshIn, Depends(_refresh_body)]) -> TokenOut:
    """A new access token and a new refresh token for a refresh token, which is spent.

    Each refresh token works once. Presenting a spent one again revokes every refresh
    token descended from the same sign-in and answers 401: a copy is in other hands.
    Send it as JSON or as an OAuth2 form (``grant_type=refresh_token&refresh_token=...``).
    """
    settings = _settings(request)
    claims = tokens.verify_local(settings, body.refresh_token, "refresh")
    refused: str | None = None
    with system_session() as session:
        user = session.get(User, uuid.UUID(claims.subject))
        if user is None or not user.is_active:
            raise Unauthenticated("the user no longer exists or is disabled")
        spent = accounts.spend_refresh_token(session, claims.jti, user.id)
        if isinstance(spent, str):
            refused = spent  # raised after the commit, so the family's revocation sticks
        else:
            org = uuid.UUID(claims.org_id) if claims.org_id else None
            out = _tokens_for(session, settings, user.id, org, spent.family_id)
    if refused is not None:
        raise Unauthenticated(refused)
    return out


@router.post(
    "/me/password",
    status_code=204,
    tags=["auth"],
    responses=AUTH_ERRORS,
)
def change_password(
    body: PasswordChange, principal: CurrentPrincipal, request: Request
) -> Response:
    """Change the caller's own password (a signed-in user, not an API key or OIDC token).

    The current password is checked like a sign-in (a wrong one counts towards the
    account's lockout and answers 403). Every refresh token of the user is revoked.
    """
    if principal.kind != "user" or principal.user_id is None:
        raise Forbidden("only a signed-in user has a password to change")
    with system_session() as session:
        user = session.get(User, principal.user_id)
        if user is None:
            raise Unauthenticated("the user no longer exists or is disabled")
        email = user.email
    _check_password(
        request,
        email,
        body.current_password,
        Forbidden("the current password is wrong", field="current_password"),
    )
    with system_session() as session:
        attach(session, principal, request.scope.get("state", {}).get("request_id"))
        user = session.get(User, principal.user_id)
        assert user is not None
        accounts.change_password(session, user, body.new_password)
    return Response(status_code=204)


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
    """Add a user to this organisation with a role; a new user is created with ``password``.

    An existing user (of any organisation) keeps their own password and name: giving a
    ``password`` for one answers 409 on ``password`` and changes nothing; add them without.
    """
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
    limit: Annotated[int, limit_query(500)] = 100,
    offset: Offset = 0,
    entity_type: Annotated[str | None, Query(max_length=50, pattern=r"^[a-z_]+$")] = None,
) -> list[AuditOut]:
    """Every write in this organisation, newest first (owners and admins)."""
    return [
        AuditOut.model_validate(e)
        for e in audit.list_entries(session, limit=limit, offset=offset, entity_type=entity_type)
    ]
