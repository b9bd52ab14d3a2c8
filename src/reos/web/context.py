"""Who is looking at a page, and the unit of work bound to their organisation.

A page asks for ``Page`` (read), ``EditPage`` (write: also checks the CSRF token) or
``page_for(permission, csrf=...)``; like the API's ``session_for`` (:mod:`reos.http.deps`)
the dependency authenticates (here from the session cookie), checks the role, opens the
tenant session and enlists it, so the route and its commit run in one thread-pool hop
(:mod:`reos.http.unit_of_work`; the web routers are mounted through ``one_hop``).

No session → :class:`SignInRequired` (a redirect to the sign-in form, or ``HX-Redirect``
for an htmx request); a role without the permission → 403 page; a form without its CSRF
token → 403 page.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from reos.accounts import auth, websession
from reos.accounts.auth import Permission
from reos.accounts.websession import WebSession
from reos.config import Settings, get_settings
from reos.db.session import open_tenant_session, system_session
from reos.errors import Forbidden, Unauthenticated
from reos.http.unit_of_work import RequestUnit, enlist, in_thread
from reos.kernel.principal import attach

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class SignInRequired(Exception):
    """No live session: the visitor is sent to the sign-in form, then back to ``next``."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


@dataclass
class PageContext:
    """What a page route is handed: the signed-in session and its tenant unit of work."""

    web: WebSession
    session: Session

    @property
    def role(self) -> str:
        return self.web.principal.role

    def may(self, permission: Permission) -> bool:
        try:
            auth.check(self.role, permission)
        except Forbidden:
            return False
        return True


def settings_of(request: Request) -> Settings:
    return getattr(request.app.state, "settings", None) or get_settings()


def sign_in_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        target = request.headers.get("hx-current-url") or "/deals"
    return f"/login?next={quote(target, safe='')}"


def _resume(request: Request, cookie: str) -> WebSession:
    with system_session() as session:
        return websession.resume(session, settings_of(request), cookie)


async def current_web(request: Request) -> WebSession:
    """The web session of the request's cookie, or :class:`SignInRequired`."""
    known = getattr(request.state, "web", None)
    if isinstance(known, WebSession):
        return known
    cookie = request.cookies.get(websession.COOKIE)
    if not cookie:
        raise SignInRequired(sign_in_url(request))
    try:
        web = await in_thread(_resume, request, cookie)
    except (Unauthenticated, Forbidden):
        raise SignInRequired(sign_in_url(request)) from None
    request.state.web = web
    request.state.principal = web.principal
    return web


async def check_csrf(request: Request, web: WebSession) -> None:
    """An unsafe request must carry the session's CSRF token, in the ``X-CSRF-Token``
    header (htmx sends it from ``<body hx-headers>``) or the form's ``csrf_token`` field."""
    if request.method not in UNSAFE:
        return
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        media = request.headers.get("content-type", "")
        if media.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent, web.csrf):
        raise Forbidden("the form's security token is missing or out of date; reload the page")


def page_for(permission: Permission, *, csrf: bool = True):  # type: ignore[no-untyped-def]
    """A dependency giving a page its :class:`PageContext` for a user with ``permission``."""

    async def page_context(request: Request) -> PageContext:
        web = await current_web(request)
        auth.check(web.principal.role, permission)
        if csrf:
            await check_csrf(request, web)
        session = open_tenant_session(web.principal.org_id)
        attach(session, web.principal, request.scope.get("state", {}).get("request_id"))
        enlist(request, RequestUnit(session))
        return PageContext(web, session)

    page_context.__name__ = f"page_for_{permission.name.lower()}"
    return page_context


#: A page anyone in the organisation may see (GET) or a read-only form post.
Page = Annotated[PageContext, Depends(page_for(Permission.DATA_READ), scope="function")]
#: A page that changes the organisation's data (analyst and up); CSRF-checked.
EditPage = Annotated[PageContext, Depends(page_for(Permission.DATA_WRITE), scope="function")]
#: Organisation settings (owner, admin).
SettingsPage = Annotated[
    PageContext, Depends(page_for(Permission.SETTINGS_MANAGE), scope="function")
]
KeysPage = Annotated[PageContext, Depends(page_for(Permission.KEYS_MANAGE), scope="function")]
MembersPage = Annotated[PageContext, Depends(page_for(Permission.MEMBERS_MANAGE), scope="function")]
