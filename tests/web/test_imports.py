"""The imports pages: upload, mapping correction, run with progress, the balanced report,
the quarantine and fix-and-retry; bad files, sessions, other organisations, CSRF, escaping
and axe-core."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from tests.web.conftest import check_axe, shot

XSS = "<script>alert(1)</script>"
# "Amount" and "Sold On" are not recognised: the mapping must be corrected by hand
SALES = (
    "parcel,Street Address,City,State,Zip,Amount,Sold On\n"
    "P-1,1 Main St,Ames,IA,50010,200000,2020-01-15\n"
    "P-2,2 Main St,Ames,IA,50010,215000,2020-02-15\n"
    f"P-3,3 Main St,Ames,IA,50010,{XSS},2020-03-15\n"
)


def upload(
    client: Any, content: bytes | str, name: str = "sales.csv", entity: str = "sales"
) -> Any:
    data = content.encode() if isinstance(content, str) else content
    return client.post(
        "/imports/new",
        data={"csrf_token": client.csrf, "entity": entity},
        files={"file": (name, data, "text/csv")},
        follow_redirects=False,
    )


def fixed_mapping(client: Any, location: str, action: str) -> Any:
    page = client.get(location)
    form = {"csrf_token": client.csrf, "action": action}
    for name, value in re.findall(
        r'<select id="f-\d+" name="(f\.[^"]+)">(.*?)</select>', page.text, re.S
    ):
        chosen = re.search(r'<option value="([^"]*)" selected>', value)
        if chosen:
            form[name] = chosen.group(1)
    form["f.sale_price"] = "Amount"
    form["f.close_date"] = "Sold On"
    return client.post(location, data=form, follow_redirects=False)


def wait_done(client: Any, import_id: str) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        r = client.get(f"/imports/{import_id}/progress")
        if "Importing" not in r.text:
            return str(r.text)
        time.sleep(0.3)
    raise AssertionError("the import did not finish")


def run_import(client: Any) -> str:
    from reos.db.session import tenant_session
    from reos.ingest import service
    from reos.jobs import queue  # noqa: F401

    r = upload(client, SALES)
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    r = fixed_mapping(client, location, "run")
    assert r.status_code == 303, r.text
    import_id = r.headers["location"].rsplit("/", 1)[1]
    # the TestClient app runs no worker: run the queued import as the worker would
    org_id = client.org_id
    service.run_import(lambda: tenant_session(org_id), uuid.UUID(import_id))
    return import_id


def test_upload_mapping_fix_run_report_quarantine_and_fix_and_retry(
    web_client: Any, org: Any
) -> None:
    web_client.org_id = org.id
    r = upload(web_client, SALES)
    assert r.status_code == 303
    location = r.headers["location"]
    page = web_client.get(location)
    assert page.status_code == 200
    assert "No column for required field" in page.text and 'name="f.sale_price"' in page.text
    r = fixed_mapping(web_client, location, "preview")
    assert r.status_code == 200 and "The first rows, mapped" in r.text
    assert "200000" in r.text and "quarantine:" in r.text
    assert XSS not in r.text and "&lt;script&gt;" in r.text
    r = fixed_mapping(web_client, location, "run")
    assert r.status_code == 303 and r.headers["location"].startswith("/imports/")
    import_id = r.headers["location"].rsplit("/", 1)[1]
    assert web_client.get(location).status_code == 404  # the upload became the import
    from reos.db.session import tenant_session
    from reos.ingest import service

    service.run_import(lambda: tenant_session(org.id), uuid.UUID(import_id))
    page = web_client.get(f"/imports/{import_id}").text
    assert re.search(r"Rows read <strong>3</strong> = inserted <strong>2</strong> \+ updated "
                     r"<strong>0</strong> \+ unchanged <strong>0</strong> \+ quarantined "
                     r"<strong>1</strong>", page)  # fmt: skip
    assert "balanced" in page and "Quarantine (1 open)" in page
    assert XSS not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "sale_price" in page
    fix = web_client.get(f"/imports/{import_id}/quarantine/3")
    assert fix.status_code == 200 and "Save and retry" in fix.text and XSS not in fix.text
    cells = dict(re.findall(r'name="(c\.[^"]+)" value="([^"]*)"', fix.text))
    cells["c.Amount"] = "230000"
    import html

    cells = {k: html.unescape(v) for k, v in cells.items()}
    r = web_client.post(
        f"/imports/{import_id}/quarantine/3",
        data={"csrf_token": web_client.csrf, **cells},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = web_client.get(r.headers["location"]).text
    assert "Quarantine (0 open)" in page and "1 imported, 0 still quarantined" in page
    listing = web_client.get("/imports").text
    assert "sales.csv" in listing and "retry" in listing


def test_bad_files_get_a_message_not_a_500(web_client: Any) -> None:
    r = upload(web_client, b"", "empty.csv")
    assert r.status_code == 422 and "is empty" in r.text
    r = upload(web_client, b"MZ\x90\x00binary", "tool.exe")
    assert r.status_code == 422 and "cannot be imported" in r.text
    r = upload(web_client, b"\x00\x01\x02\x03" * 100, "garbage.csv")
    assert r.status_code == 422 and 'role="alert"' in r.text
    r = upload(web_client, b"PK\x03\x04not a zip", "broken.xlsx")
    assert r.status_code == 422 and 'role="alert"' in r.text
    r = upload(web_client, b"a,b\n1,2\n", "x.csv", entity="bogus")
    assert r.status_code == 422
    big = b"a,b\n" + b"1,2\n" * (3 * 1024 * 1024)  # over the 10 MB body limit
    r = upload(web_client, big, "big.csv")
    assert r.status_code == 413


def test_csrf_missing_is_403_on_every_post(web_client: Any, org: Any) -> None:
    web_client.org_id = org.id
    r = web_client.post(
        "/imports/new", data={"entity": "sales"}, files={"file": ("s.csv", b"a\n1\n", "text/csv")}
    )
    assert r.status_code == 403
    r = upload(web_client, SALES)
    location = r.headers["location"]
    r = web_client.post(location, data={"action": "run", "f.sale_price": "Amount"})
    assert r.status_code == 403
    import_id = run_import(web_client)
    r = web_client.post(f"/imports/{import_id}/quarantine/3", data={"c.Amount": "1"})
    assert r.status_code == 403
    assert "Quarantine (1 open)" in web_client.get(f"/imports/{import_id}").text


def test_other_organisations_import_is_404(app: Any, web_client: Any, other_org: Any) -> None:
    from tests.web.conftest import web_sign_in

    with TestClient(app) as theirs:
        theirs.csrf = web_sign_in(theirs, other_org.owner_email, other_org.password)
        theirs.org_id = other_org.id
        import_id = run_import(theirs)
        upload_location = upload(theirs, SALES).headers["location"]
    for path in (
        f"/imports/{import_id}",
        f"/imports/{import_id}/progress",
        f"/imports/{import_id}/quarantine/3",
        upload_location,
    ):
        assert web_client.get(path).status_code == 404, path
    r = web_client.post(
        f"/imports/{import_id}/quarantine/3",
        data={"csrf_token": web_client.csrf, "c.Amount": "1"},
    )
    assert r.status_code == 404
    r = web_client.post(upload_location, data={"csrf_token": web_client.csrf, "action": "run"})
    assert r.status_code == 404
    assert import_id not in web_client.get("/imports").text


def test_no_session_is_sent_to_sign_in(client: Any) -> None:
    some = uuid.uuid4()
    with TestClient(client.app) as c:
        for path in ("/imports", "/imports/new", f"/imports/{some}", f"/imports/new/{some}"):
            r = c.get(path, follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path
        r = c.post(f"/imports/{some}/quarantine/1", data={}, follow_redirects=False)
        assert r.status_code == 303


def test_import_with_a_mapping_fix_in_the_browser(signed_in: Any, org: Any, tmp_path: Path) -> None:
    page = signed_in(org)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    source = tmp_path / "ames_sales.csv"
    source.write_text(SALES, encoding="utf-8")
    page.goto("/imports/new")
    check_axe(page, context="on the upload form")
    page.select_option("#entity", "sales")
    page.set_input_files("#file", str(source))
    page.get_by_role("button", name="Upload and preview").click()
    page.wait_for_selector("#mapping-error")
    check_axe(page, context="on the mapping form with its error")
    page.get_by_label("sale_price", exact=True).select_option("Amount")
    page.get_by_label("close_date", exact=True).select_option("Sold On")
    page.get_by_role("button", name="Update the preview").click()
    page.wait_for_selector("text=The first rows, mapped")
    check_axe(page, context="on the mapping preview")
    page.get_by_role("button", name="Run the import").click()
    page.wait_for_selector("text=Quarantine (1 open)", timeout=30_000)
    page.wait_for_selector("text=balanced")
    check_axe(page, context="on the import report")
    shot(page, "import")
    page.get_by_role("link", name="Fix row 3…").click()
    check_axe(page, context="on the fix form")
    page.get_by_label("Amount", exact=True).fill("230000")
    page.get_by_role("button", name="Save and retry").click()
    page.wait_for_selector("text=Quarantine (0 open)")
    page.goto("/imports")
    check_axe(page, context="on the imports list")
    assert dialogs == []


def test_a_fix_that_still_fails_stays_in_quarantine_with_its_new_reason(
    web_client: Any, org: Any
) -> None:
    from reos.db.session import tenant_session
    from reos.errors import Conflict
    from reos.ingest import service

    web_client.org_id = org.id
    import_id = run_import(web_client)
    r = web_client.post(
        f"/imports/{import_id}/quarantine/3",
        data={"csrf_token": web_client.csrf, "c.Amount": "-5"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = web_client.get(r.headers["location"]).text
    assert "Quarantine (1 open)" in page and "0 imported, 1 still quarantined" in page
    assert "“-5”" in page or "-5" in page
    r = web_client.post(
        f"/imports/{import_id}/quarantine/3",
        data={"csrf_token": web_client.csrf, "c.Amount": "199000"},
        follow_redirects=False,
    )
    again = web_client.get(r.headers["location"]).text
    assert "Quarantine (0 open)" in again, again[again.find("<main") :]
    assert web_client.get(f"/imports/{import_id}/quarantine/3").status_code == 404
    with tenant_session(org.id) as s:
        row = service.quarantined_row(s, uuid.UUID(import_id), 3)
        assert row.status == "resolved" and row.raw["Amount"] == "199000"
        try:
            service.correct_quarantined_row(s, uuid.UUID(import_id), 3, {"Amount": "1"})
        except Conflict:
            pass
        else:
            raise AssertionError("a resolved row cannot be corrected")


def test_a_list_files_unmatched_rows_show_in_its_import_without_a_fix(
    web_client: Any, org: Any, tmp_path: Path
) -> None:
    """A list file is an import too: its page shows the unmatched row with its cells and
    reason, says it is matched again by a rematch, and offers no fix-and-retry (a post to
    it is refused with that message, not a 500)."""
    from reos.db.session import tenant_session
    from reos.dealflow import service as dealflow
    from reos.ingest import service as ingest

    org_id = org.id
    props = tmp_path / "props.csv"
    props.write_text("parcel_number,address,city,state,zip\n12-34,1 Elm St,Ames,IA,50010\n")
    ingest.import_file(props, "properties", org_id=org_id)
    listed = tmp_path / "probate.csv"
    listed.write_text("APN,Case Number\n1234,PR-1\n77-77,PR-2\n")
    with tenant_session(org_id) as session:
        report = dealflow.import_list(session, listed, "probate")
    page = web_client.get(f"/imports/{report.import_id}")
    assert page.status_code == 200
    assert "no property with parcel" in page.text and "PR-2" in page.text
    assert 'id="list-rematch"' in page.text and f"reos lists rematch {report.list_id}" in page.text
    assert "Fix row" not in page.text
    r = web_client.post(
        f"/imports/{report.import_id}/quarantine/2",
        data={"csrf_token": web_client.csrf, "c.APN": "1234"},
    )
    assert r.status_code in (400, 409, 422) and "reos lists rematch" in r.text
