"""The settings pages: API keys (create — shown once —, revoke) and members (add, change
role, remove) with the API's role rules; analysts are refused."""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi.testclient import TestClient
from tests.web.conftest import check_axe, shot, web_sign_in

from reos.accounts import service as accounts
from reos.db.session import tenant_session
from reos.kernel.principal import Principal, attach
from reos.models import ApiKey, Membership

PASSWORD = "another good password"


def _member(org_id: uuid.UUID, role: str, full_name: str | None = None) -> tuple[str, uuid.UUID]:
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    with tenant_session(org_id) as s:
        attach(s, Principal(kind="cli", org_id=org_id, role="owner"))
        membership, _ = accounts.add_member(s, email, role, PASSWORD, full_name)
        return email, membership.id


def _key(org_id: uuid.UUID, name: str) -> uuid.UUID:
    with tenant_session(org_id) as s:
        attach(s, Principal(kind="cli", org_id=org_id, role="owner"))
        key, _ = accounts.create_api_key(s, name, "service")
        return key.id


def _role_of(org_id: uuid.UUID, member_id: uuid.UUID) -> str | None:
    with tenant_session(org_id) as s:
        m = s.get(Membership, member_id)
        return m.role if m else None


def _owner_membership(org_id: uuid.UUID) -> uuid.UUID:
    with tenant_session(org_id) as s:
        for m, _u in accounts.list_members(s):
            if m.role == "owner":
                return m.id
    raise AssertionError("no owner")


def test_no_session_is_sent_to_sign_in(client: Any) -> None:
    with TestClient(client.app) as c:
        for path in ("/settings/keys", "/settings/members"):
            r = c.get(path, follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
        for path in ("/settings/keys", f"/settings/keys/{uuid.uuid4()}/revoke",
                     "/settings/members", f"/settings/members/{uuid.uuid4()}/role",
                     f"/settings/members/{uuid.uuid4()}/remove"):  # fmt: skip
            r = c.post(path, data={}, follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), path


def test_analyst_is_refused(client: Any, org: Any) -> None:
    email, _ = _member(org.id, "analyst")
    with TestClient(client.app) as c:
        csrf = web_sign_in(c, email, PASSWORD)
        assert 'href="/settings/keys"' not in c.get("/deals").text
        for path in ("/settings/keys", "/settings/members"):
            assert c.get(path).status_code == 403
        r = c.post("/settings/keys", data={"csrf_token": csrf, "name": "mine"})
        assert r.status_code == 403
        r = c.post("/settings/members",
                   data={"csrf_token": csrf, "email": "x@example.com", "role": "owner"})  # fmt: skip
        assert r.status_code == 403


def test_create_a_key_shown_once_then_revoke_it(web_client: Any, org: Any) -> None:
    r = web_client.post("/settings/keys",
                        data={"csrf_token": web_client.csrf, "name": "Zapier", "role": "analyst"})  # fmt: skip
    assert r.status_code == 201 and r.headers["cache-control"] == "no-store"
    shown = re.search(r'id="new-key-value" class="key-value" value="([^"]+)"', r.text)
    assert shown, r.text
    plaintext = shown.group(1)
    # the key works on the API, with its role
    me = web_client.get("/api/v1/me", headers={"X-API-Key": plaintext})
    assert me.status_code == 200 and me.json()["current_role"] == "analyst"
    page = web_client.get("/settings/keys").text
    assert "Zapier" in page and plaintext not in page and plaintext[:12] in page
    with tenant_session(org.id) as s:
        key_id = s.query(ApiKey.id).filter(ApiKey.name == "Zapier").scalar()
    # revoke: redirect, marked revoked, refused by the API
    r = web_client.post(f"/settings/keys/{key_id}/revoke", data={"csrf_token": web_client.csrf},
                        follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/settings/keys?revoked=1"
    page = web_client.get(r.headers["location"]).text
    assert "The key was revoked" in page and "revoked 20" in page
    assert f'action="/settings/keys/{key_id}/revoke"' not in page
    me = web_client.get("/api/v1/me", headers={"X-API-Key": plaintext})
    assert me.status_code == 401


def test_key_form_mistakes_are_shown_next_to_the_field(web_client: Any) -> None:
    r = web_client.post("/settings/keys", data={"csrf_token": web_client.csrf, "name": "  "})
    assert r.status_code == 422 and 'aria-invalid="true"' in r.text
    assert "name:" in r.text
    r = web_client.post("/settings/keys",
                        data={"csrf_token": web_client.csrf, "name": "x", "role": "emperor"})  # fmt: skip
    assert r.status_code == 422 and "role:" in r.text


def test_members_add_change_role_remove_and_the_last_owner_stays(web_client: Any, org: Any) -> None:
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    r = web_client.post(
        "/settings/members",
        data={"csrf_token": web_client.csrf, "email": email, "full_name": "Dana Reyes",
              "role": "analyst", "password": PASSWORD},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/settings/members?done=added"
    page = web_client.get(r.headers["location"]).text
    assert "The member was added." in page and "Dana Reyes" in page and email in page
    with tenant_session(org.id) as s:
        member_id = next(m.id for m, u in accounts.list_members(s) if u.email == email)
    # the new member signs in
    with TestClient(web_client.app) as c:
        web_sign_in(c, email, PASSWORD)
    # the same person twice: refused, with the reason
    r = web_client.post("/settings/members",
                        data={"csrf_token": web_client.csrf, "email": email, "role": "admin"})  # fmt: skip
    assert r.status_code == 409 and "already a member" in r.text
    # change role, then remove
    r = web_client.post(f"/settings/members/{member_id}/role",
                        data={"csrf_token": web_client.csrf, "role": "admin"},
                        follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and _role_of(org.id, member_id) == "admin"
    r = web_client.post(f"/settings/members/{member_id}/remove",
                        data={"csrf_token": web_client.csrf}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and _role_of(org.id, member_id) is None
    # the last owner can be neither demoted nor removed
    owner = _owner_membership(org.id)
    r = web_client.post(f"/settings/members/{owner}/role",
                        data={"csrf_token": web_client.csrf, "role": "analyst"})  # fmt: skip
    assert r.status_code == 409 and "at least one owner" in r.text
    r = web_client.post(f"/settings/members/{owner}/remove", data={"csrf_token": web_client.csrf})
    assert r.status_code == 409 and "at least one owner" in r.text
    assert _role_of(org.id, owner) == "owner"


def test_an_admin_may_not_grant_owner(client: Any, org: Any) -> None:
    email, _ = _member(org.id, "admin")
    _, analyst = _member(org.id, "analyst")
    with TestClient(client.app) as c:
        csrf = web_sign_in(c, email, PASSWORD)
        assert c.get("/settings/members").status_code == 200
        r = c.post(f"/settings/members/{analyst}/role", data={"csrf_token": csrf, "role": "owner"})
        assert r.status_code == 403 and "only an owner may grant the owner role" in r.text
        assert _role_of(org.id, analyst) == "analyst"


def test_csrf_missing_is_403_on_every_post(web_client: Any, org: Any) -> None:
    key_id = _key(org.id, "ci")
    _, member_id = _member(org.id, "analyst")
    for path, data in (
        ("/settings/keys", {"name": "x"}),
        (f"/settings/keys/{key_id}/revoke", {}),
        ("/settings/members", {"email": "y@example.com", "role": "analyst"}),
        (f"/settings/members/{member_id}/role", {"role": "admin"}),
        (f"/settings/members/{member_id}/remove", {}),
    ):
        assert web_client.post(path, data=data).status_code == 403, path
    assert _role_of(org.id, member_id) == "analyst"
    with tenant_session(org.id) as s:
        key = s.get(ApiKey, key_id)
        assert key is not None and key.revoked_at is None


def test_another_orgs_key_and_member_are_404(web_client: Any, other_org: Any) -> None:
    key_id = _key(other_org.id, "theirs")
    _, member_id = _member(other_org.id, "analyst")
    csrf = {"csrf_token": web_client.csrf}
    assert web_client.post(f"/settings/keys/{key_id}/revoke", data=csrf).status_code == 404
    r = web_client.post(f"/settings/members/{member_id}/role", data={**csrf, "role": "admin"})
    assert r.status_code == 404
    assert web_client.post(f"/settings/members/{member_id}/remove", data=csrf).status_code == 404
    assert _role_of(other_org.id, member_id) == "analyst"
    assert "theirs" not in web_client.get("/settings/keys").text


def test_names_render_escaped(web_client: Any, org: Any) -> None:
    evil = "<script>alert(1)</script>"
    _key(org.id, evil)
    _member(org.id, "analyst", full_name=evil)
    for path in ("/settings/keys", "/settings/members"):
        html = web_client.get(path).text
        assert "<script>alert(1)" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_keys_and_members_in_the_browser(signed_in: Any, org: Any) -> None:
    _key(org.id, "<script>alert(1)</script>")
    _member(org.id, "admin", full_name="Sam Okafor")
    page = signed_in(org)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto("/deals")
    page.click("text=Settings")
    page.wait_for_url("**/settings/keys")
    page.fill("#key-name", "Nightly export")
    page.select_option("#key-role", "analyst")
    page.click("text=Create key")
    value = page.input_value("#new-key-value")
    assert value.startswith(page.locator("tr", has_text="Nightly export").locator("code")
                            .inner_text().rstrip("…"))  # fmt: skip
    check_axe(page, context="on the API keys page")
    shot(page, "settings-keys")
    page.click("text=Members")
    page.fill("#member-email", f"lee-{uuid.uuid4().hex[:6]}@example.com")
    page.fill("#member-name", "Lee Park")
    page.fill("#member-password", PASSWORD)
    page.click("text=Add member")
    page.wait_for_selector("text=The member was added.")
    check_axe(page, context="on the members page")
    shot(page, "settings-members")
    assert not dialogs
