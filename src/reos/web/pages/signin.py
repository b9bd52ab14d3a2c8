"""Sign-in, sign-out and the organisation switch.

The sign-in form is protected against login CSRF by a double-submit token: ``GET /login``
sets a random ``reos_login_csrf`` cookie and puts the same value in the form; the post
must carry both. Failed sign-ins are counted with the API's token grant
(:func:`reos.accounts.auth.check_credentials`), so the lockout is the same for both.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from reos.accounts import auth, websession
from reos.db.session import system_session
from reos.errors import Forbidden, RateLimited, Unauthenticated
from reos.web.context import Page, SignInRequired, current_web, settings_of
from reos.web.render import render

router = APIRouter(include_in_schema=False)
LOGIN_CSRF_COOKIE = "reos_login_csrf"


def _secure(request: Request) -> bool:
    proto = request.headers.get("x-forwarded-proto", request.url.scheme)
    return proto.split(",")[0].strip() == "https"


def safe_next(value: str | None) -> str:
    """Only a path on this site: ``//evil.example`` or ``https://…`` go to /deals."""
    if not value:
        return "/deals"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//"):
        return "/deals"
    return value


def set_session_cookie(request: Request, response: Response, value: str, max_age: int) -> None:
    response.set_cookie(
        websession.COOKIE,
        value,
        max_age=max_age,
        httponly=True,
        secure=_secure(request),
        samesite="lax",
        path="/",
    )


def _login_form(
    request: Request, *, next_url: str, email: str = "", error: str = "", status_code: int = 200
) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "signin.html",
        {"next": next_url, "email": email, "error": error, "login_csrf": token},
        status_code=status_code,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        secure=_secure(request),
        samesite="lax",
        path="/login",
    )
    return response


@router.get("/")
async def home(request: Request) -> Response:
    """Signed in: the deals page; signed out: the sign-in form."""
    try:
        await current_web(request)
    except SignInRequired:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse("/deals", status_code=303)


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    return _login_form(request, next_url=safe_next(next))


@router.post("/login")
def login(
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    login_csrf: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/deals",
) -> Response:
    target = safe_next(next)
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not login_csrf or not hmac.compare_digest(cookie, login_csrf):
        return _login_form(
            request,
            next_url=target,
            email=email,
            error="The sign-in form had expired; please sign in again.",
            status_code=403,
        )
    if not email.strip() or not password:
        return _login_form(
            request,
            next_url=target,
            email=email,
            error="Enter your email and password.",
            status_code=422,
        )
    settings = settings_of(request)
    try:
        user_id = auth.check_credentials(
            request.app.state,
            settings,
            email.strip(),
            password,
            Unauthenticated("wrong email or password"),
        )
        with system_session() as session:
            value, max_age = websession.start(session, settings, user_id, None)
    except RateLimited as exc:
        return _login_form(
            request, next_url=target, email=email, error=exc.message, status_code=429
        )
    except (Unauthenticated, Forbidden) as exc:
        message = "Wrong email or password." if isinstance(exc, Unauthenticated) else exc.message
        return _login_form(request, next_url=target, email=email, error=message, status_code=401)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, value, max_age)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, page: Page) -> Response:
    """Sign out: the session is revoked on the server and the cookie cleared."""
    websession.end(page.session, page.web.jti)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(websession.COOKIE, path="/")
    return response


@router.post("/session/org")
def switch_org(
    request: Request, page: Page, org: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    """Act in another of the user's organisations: a new session for it, the old one ended."""
    user_id = page.web.principal.user_id
    assert user_id is not None
    if org not in {slug for slug, _name, _role in page.web.organizations}:
        raise Forbidden(f"you are not a member of organisation {org!r}")
    settings = settings_of(request)
    with system_session() as session:  # the page's tenant session stays idle: one writer
        websession.end(session, page.web.jti)
        value, max_age = websession.start(session, settings, user_id, org)
    response = RedirectResponse("/deals", status_code=303)
    set_session_cookie(request, response, value, max_age)
    return response
