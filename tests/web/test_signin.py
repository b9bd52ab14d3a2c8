"""Sign-in, sign-out, the organisation switch and the session cookie's rules."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from tests.web.conftest import check_axe, shot, web_sign_in


def test_signed_out_visitor_is_sent_to_the_sign_in_form(client: Any) -> None:
    with TestClient(client.app) as c:
        r = c.get("/", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login"
        r = c.get("/deals?sort=score", follow_redirects=False)
        assert r.status_code == 303
        assert r.headers["location"] == "/login?next=%2Fdeals%3Fsort%3Dscore"


def test_sign_in_sets_a_strict_cookie_and_home_goes_to_deals(client: Any, org: Any) -> None:
    with TestClient(client.app) as c:
        form = c.get("/login")
        token = re.search(r'name="login_csrf" value="([^"]+)"', form.text)
        assert token is not None
        r = c.post(
            "/login",
            data={"email": org.owner_email, "password": org.password, "login_csrf": token.group(1)},
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"] == "/deals"
        cookie = r.headers["set-cookie"]
        assert "reos_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert "Secure" not in cookie  # plain http here; https sets Secure (next test)
        assert c.get("/", follow_redirects=False).headers["location"] == "/deals"


def test_cookie_is_secure_behind_https(client: Any, org: Any) -> None:
    with TestClient(client.app, base_url="https://testserver") as c:
        form = c.get("/login")
        token = re.search(r'name="login_csrf" value="([^"]+)"', form.text)
        assert token is not None
        r = c.post(
            "/login",
            data={"email": org.owner_email, "password": org.password, "login_csrf": token.group(1)},
            follow_redirects=False,
        )
        assert "Secure" in r.headers["set-cookie"]


def test_wrong_password_and_missing_login_token_are_refused(client: Any, org: Any) -> None:
    with TestClient(client.app) as c:
        form = c.get("/login")
        token = re.search(r'name="login_csrf" value="([^"]+)"', form.text)
        assert token is not None
        r = c.post(
            "/login",
            data={"email": org.owner_email, "password": "wrong", "login_csrf": token.group(1)},
        )
        assert r.status_code == 401 and "Wrong email or password" in r.text
        assert "reos_session" not in r.headers.get("set-cookie", "")
        r = c.post("/login", data={"email": org.owner_email, "password": org.password})
        assert r.status_code == 403 and "expired" in r.text


def test_next_never_leaves_the_site(client: Any, org: Any) -> None:
    with TestClient(client.app) as c:
        form = c.get("/login?next=//evil.example/x")
        assert 'value="/deals"' in form.text
        token = re.search(r'name="login_csrf" value="([^"]+)"', form.text)
        assert token is not None
        r = c.post(
            "/login",
            data={
                "email": org.owner_email,
                "password": org.password,
                "login_csrf": token.group(1),
                "next": "https://evil.example/",
            },
            follow_redirects=False,
        )
        assert r.headers["location"] == "/deals"


def test_logout_ends_the_session_on_the_server(client: Any, org: Any) -> None:
    with TestClient(client.app) as c:
        csrf = web_sign_in(c, org.owner_email, org.password)
        stolen = c.cookies.get("reos_session")
        assert c.post("/logout", data={}, follow_redirects=False).status_code == 403  # no CSRF
        r = c.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login"
    with TestClient(client.app) as thief:
        thief.cookies.set("reos_session", stolen)
        r = thief.get("/deals", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_switching_organisation(client: Any, org: Any, other_org: Any) -> None:
    from reos.accounts import service as accounts
    from reos.db.session import tenant_session
    from reos.kernel.principal import Principal, attach

    with tenant_session(other_org.id) as s:
        attach(s, Principal(kind="cli", org_id=other_org.id, role="owner"))
        accounts.add_member(s, org.owner_email, "analyst", None)
    with TestClient(client.app) as c:
        csrf = web_sign_in(c, org.owner_email, org.password)
        page = c.get("/deals")
        assert other_org.slug in page.text and 'id="org-switch"' in page.text
        r = c.post("/session/org", data={"csrf_token": csrf, "org": "not-mine"})
        assert r.status_code == 403
        r = c.post(
            "/session/org", data={"csrf_token": csrf, "org": other_org.slug}, follow_redirects=False
        )
        assert r.status_code == 303
        page = c.get("/deals")
        assert re.search(rf'<option value="{other_org.slug}" selected>', page.text)


def test_docs_are_served_without_a_cdn(client: Any) -> None:
    r = client.get("/docs")
    assert r.status_code == 200
    assert "cdn" not in r.text.lower() and "/static/vendor/swagger-ui-dist/" in r.text
    assert client.get("/static/vendor/swagger-ui-dist/swagger-ui-bundle.js").status_code == 200


def test_sign_in_and_out_in_a_browser(browser: Any, live_server: Any, org: Any) -> None:
    context = browser.new_context(base_url=live_server.url)
    try:
        page = context.new_page()
        page.goto("/")
        assert page.url.endswith("/login")
        check_axe(page, context="on the sign-in form")
        page.fill("#email", org.owner_email)
        page.fill("#password", org.password)
        page.keyboard.press("Enter")
        page.wait_for_url("**/deals")
        shot(page, "signed-in")
        page.click("text=Sign out")
        page.wait_for_url("**/login")
        page.goto("/deals")
        assert "/login" in page.url
    finally:
        context.close()
