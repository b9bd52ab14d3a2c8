"""The dashboard under test: the real app served by uvicorn on a real port, over the test
run's real store (SQLite or PostgreSQL), driven by Debian's chromium through Playwright.

- ``live_server``: one uvicorn per test module, with the in-process job worker on (so an
  import or a pipeline run started from a page really runs), stopped after the module so
  no other test file's jobs are taken by it.
- ``browser``: chromium started from ``/usr/bin/chromium`` (``REOS_CHROMIUM`` overrides);
  never a downloaded browser. Missing chromium fails the run: ``make install`` installs it.
- ``signed_in``: a new browser page signed in to an organisation through the sign-in form.
- ``check_axe``: axe-core (vendored from npm) run in the page; serious or critical
  violations fail the test.
- ``shot``: a full-page screenshot under ``test-output/screenshots/`` (``REOS_TEST_OUTPUT``).
- ``web_client``: a TestClient signed in with a session cookie, for the security checks
  that need no browser (redirects, 404s across organisations, CSRF, escaping).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = Path(os.environ.get("REOS_TEST_OUTPUT", ROOT / "test-output")) / "screenshots"
AXE = ROOT / "src" / "reos" / "web" / "static" / "vendor" / "axe-core" / "axe.min.js"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the dashboard's server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@pytest.fixture(scope="module")
def live_server(engine: Any) -> Iterator[LiveServer]:
    from reos.app import create_app
    from reos.config import get_settings

    settings = get_settings().model_copy(update={"inprocess_worker": True})
    server = LiveServer(create_app(settings))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def chromium_path() -> str:
    path = os.environ.get("REOS_CHROMIUM") or shutil.which("chromium")
    if not path:
        pytest.fail("Debian's chromium is not installed: run `make install` (apt: chromium)")
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=chromium_path(), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            yield b
        finally:
            b.close()


def sign_in(page: Any, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/deals.*"))


@pytest.fixture
def signed_in(browser: Any, live_server: LiveServer) -> Iterator[Callable[..., Any]]:
    """``signed_in(org)`` → a Playwright page signed in as ``org``'s owner (or
    ``signed_in(org, email=..., password=...)`` for another member)."""
    contexts: list[Any] = []

    def factory(org: Any, *, email: str | None = None, password: str | None = None) -> Any:
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 1400, "height": 900}
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        sign_in(page, live_server.url, email or org.owner_email, password or org.password)
        return page

    yield factory
    for context in contexts:
        context.close()


def check_axe(page: Any, *, context: str = "") -> list[dict[str, Any]]:
    """Run axe-core in the page; fail on serious or critical violations. Returns all."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document)")
    bad = [v for v in result["violations"] if v.get("impact") in ("serious", "critical")]
    if bad:
        lines = [
            f"{v['id']} ({v['impact']}): {v['help']} — "
            + "; ".join(n["target"][0] if n.get("target") else "?" for n in v["nodes"][:5])
            for v in bad
        ]
        pytest.fail(f"axe-core found serious/critical violations {context}:\n" + "\n".join(lines))
    return list(result["violations"])


def shot(page: Any, name: str) -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path = OUTPUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def web_client(app: Any, org: Any) -> Iterator[Any]:
    """A TestClient signed in to ``org`` through the sign-in form; ``.csrf`` is its token."""
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="http://testserver") as c:
        signed = web_sign_in(c, org.owner_email, org.password)
        c.csrf = signed  # type: ignore[attr-defined]
        yield c


def web_sign_in(client: Any, email: str, password: str) -> str:
    """Sign a TestClient in through the form; returns the session's CSRF token."""
    form = client.get("/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', form.text)
    assert token, form.text
    r = client.post(
        "/login",
        data={"email": email, "password": password, "login_csrf": token.group(1), "next": "/deals"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = client.get("/deals")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf, page.text[:500]
    return csrf.group(1)
