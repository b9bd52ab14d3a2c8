"""Organisation settings for owners and admins: API keys (list, create — the key shown
once —, revoke) and members (list, add, change role, remove).

Every action calls the same :mod:`reos.accounts.service` function as the API, under the
same permissions (``KeysPage``/``MembersPage``: an analyst gets the 403 page) and the same
rules (only an owner grants the owner role; the last owner stays). A refused action
re-renders the page with the reason next to the form and the error's status.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from reos.accounts import service as accounts
from reos.accounts.roles import Role
from reos.accounts.schemas import ApiKeyCreate, MemberCreate
from reos.errors import ReosError
from reos.web.context import KeysPage, MembersPage, PageContext
from reos.web.render import render

router = APIRouter(include_in_schema=False)

KEY_ROLES = [r.value for r in (Role.SERVICE, Role.ANALYST, Role.ADMIN, Role.OWNER)]
MEMBER_ROLES = [r.value for r in (Role.ANALYST, Role.ADMIN, Role.OWNER)]
NO_STORE = {"Cache-Control": "no-store"}

Text = Annotated[str, Form(max_length=1024)]
OptionalText = Annotated[str | None, Form(max_length=1024)]


def _first_problem(error: ValidationError) -> tuple[str, str]:
    """(field, message) of a form's first invalid field, in words a person reads."""
    problem = error.errors()[0]
    field = str(problem["loc"][0]) if problem.get("loc") else ""
    return field, f"{field.replace('_', ' ')}: {problem['msg']}"


# --- API keys ---------------------------------------------------------------------------


def _keys_page(
    request: Request,
    page: PageContext,
    *,
    created: Any = None,
    plaintext: str | None = None,
    error: str | None = None,
    error_field: str | None = None,
    form: dict[str, str] | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    keys = list(accounts.list_api_keys(page.session))
    keys.sort(key=lambda k: (k.revoked_at is not None, k.created_at), reverse=False)
    return render(
        request,
        "admin/keys.html",
        {
            "keys": keys,
            "roles": KEY_ROLES,
            "created": created,
            "plaintext": plaintext,
            "error": error,
            "error_field": error_field,
            "form": form or {"name": "", "role": Role.SERVICE.value},
            "message": message,
            "tab": "keys",
        },
        status_code=status_code,
        headers=NO_STORE,
    )


@router.get("/settings")
def settings_home() -> Response:
    return RedirectResponse("/settings/keys", status_code=303)


@router.get("/settings/keys")
def keys(request: Request, page: KeysPage, revoked: str | None = None) -> Response:
    message = "The key was revoked: it no longer signs anything in." if revoked else None
    return _keys_page(request, page, message=message)


@router.post("/settings/keys")
def create_key(
    request: Request, page: KeysPage, name: Text = "", role: Text = Role.SERVICE.value
) -> Response:
    """Create a key and show it once, in this answer only (never in a URL, not cached)."""
    form = {"name": name, "role": role}
    try:
        body = ApiKeyCreate.model_validate({"name": name, "role": role})
    except ValidationError as invalid:
        field, text = _first_problem(invalid)
        return _keys_page(request, page, error=text, error_field=field, form=form,
                          status_code=422)  # fmt: skip
    try:
        key, plaintext = accounts.create_api_key(page.session, body.name, body.role.value)
    except ReosError as refused:
        page.session.rollback()
        return _keys_page(request, page, error=refused.message, error_field=refused.field,
                          form=form, status_code=refused.status_code)  # fmt: skip
    return _keys_page(request, page, created=key, plaintext=plaintext, status_code=201)


@router.post("/settings/keys/{key_id}/revoke")
def revoke_key(key_id: uuid.UUID, page: KeysPage) -> Response:
    accounts.revoke_api_key(page.session, key_id)  # another organisation's key: 404
    return RedirectResponse("/settings/keys?revoked=1", status_code=303)


# --- members ----------------------------------------------------------------------------


def _members_page(
    request: Request,
    page: PageContext,
    *,
    error: str | None = None,
    error_field: str | None = None,
    error_member: uuid.UUID | None = None,
    form: dict[str, str] | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    members = accounts.list_members(page.session)
    return render(
        request,
        "admin/members.html",
        {
            "members": members,
            "roles": MEMBER_ROLES,
            "me": page.web.principal.user_id,
            "is_owner": page.role == Role.OWNER.value,
            "error": error,
            "error_field": error_field,
            "error_member": error_member,
            "form": form or {"email": "", "full_name": "", "role": Role.ANALYST.value},
            "message": message,
            "tab": "members",
        },
        status_code=status_code,
    )


MEMBER_MESSAGES = {
    "added": "The member was added.",
    "role": "The member's role was changed.",
    "removed": "The member was removed from the organisation.",
}


@router.get("/settings/members")
def members(request: Request, page: MembersPage, done: str | None = None) -> Response:
    return _members_page(request, page, message=MEMBER_MESSAGES.get(done or ""))


@router.post("/settings/members")
def add_member(
    request: Request,
    page: MembersPage,
    email: Text = "",
    role: Text = Role.ANALYST.value,
    full_name: OptionalText = None,
    password: OptionalText = None,
) -> Response:
    """Add a member; a new person gets an account with ``password``, an existing one is
    added as they are (they keep their own password, as in the API)."""
    form = {"email": email, "full_name": full_name or "", "role": role}
    values = {"email": email.strip(), "role": role, "full_name": (full_name or "").strip() or None,
              "password": password or None}  # fmt: skip
    try:
        body = MemberCreate.model_validate(values)
    except ValidationError as invalid:
        field, text = _first_problem(invalid)
        return _members_page(request, page, error=text, error_field=field, form=form,
                             status_code=422)  # fmt: skip
    try:
        accounts.add_member(page.session, body.email, body.role.value, body.password,
                            body.full_name)  # fmt: skip
    except ReosError as refused:
        page.session.rollback()
        return _members_page(request, page, error=refused.message, error_field=refused.field,
                             form=form, status_code=refused.status_code)  # fmt: skip
    return RedirectResponse("/settings/members?done=added", status_code=303)


@router.post("/settings/members/{member_id}/role")
def change_role(
    request: Request, member_id: uuid.UUID, page: MembersPage, role: Text = ""
) -> Response:
    accounts.get_member(page.session, member_id)  # another organisation's member: 404
    try:
        accounts.change_role(page.session, member_id, role)
    except ReosError as refused:
        page.session.rollback()
        return _members_page(request, page, error=refused.message, error_member=member_id,
                             status_code=refused.status_code)  # fmt: skip
    return RedirectResponse("/settings/members?done=role", status_code=303)


@router.post("/settings/members/{member_id}/remove")
def remove_member(request: Request, member_id: uuid.UUID, page: MembersPage) -> Response:
    accounts.get_member(page.session, member_id)  # another organisation's member: 404
    try:
        accounts.remove_member(page.session, member_id)
    except ReosError as refused:
        page.session.rollback()
        return _members_page(request, page, error=refused.message, error_member=member_id,
                             status_code=refused.status_code)  # fmt: skip
    return RedirectResponse("/settings/members?done=removed", status_code=303)
