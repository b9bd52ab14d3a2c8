"""The CRM from the command line, and the CSV export that gives back the user's own
columns: properties imported by the real importer from a file with columns the mapping
does not use, shortlisted, worked through ``reos deals`` / ``reos offers`` / ``reos
tasks``, then exported."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from reos.cli import main as cli_main
from reos.crm import service
from reos.models import Deal, Property
from tests.crm.conftest import acting, make_properties

FILE = """\
APN,Situs Address,Situs City,State,Zip,Beds,Motivation Note,List Source
A-1,12 Oak St,Ames,IA,50010,3,"=HYPERLINK(""x"")",county tax roll
A-2,14 Oak St,Ames,IA,50010,4,tired landlord,county tax roll
A-3,16 Oak St,Boone,IA,50036,2,,probate court
"""
MAPPING = """\
record: property
source_name: county_export
key: parcel_number
fields:
  parcel_number: APN
  address: Situs Address
  city: Situs City
  state: State
  zip: Zip
  beds: Beds
"""


def _cli(args: list[str], capsys: Any) -> tuple[int, str, str]:
    try:
        cli_main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def _import(org: Any, tmp_path: Path, capsys: Any) -> dict[str, Any]:
    data, mapping = tmp_path / "county.csv", tmp_path / "county.yaml"
    data.write_text(FILE, encoding="utf-8")
    mapping.write_text(MAPPING, encoding="utf-8")
    code, out, err = _cli(
        ["import", "properties", str(data), "--mapping", str(mapping), "--org", org.slug], capsys
    )
    assert code == 0, err
    with acting(org.id) as s:
        return {p.parcel_number: p.id for p in s.scalars(select(Property))}


def test_export_keeps_the_original_columns(
    client: Any, org: Any, tmp_path: Path, capsys: Any
) -> None:
    props = _import(org, tmp_path, capsys)
    (by_hand,) = make_properties(org.id, 1, city="Ames")
    with acting(org.id) as s:
        service.shortlist(
            s, [(props["A-1"], 88, ["+18 on 3 lists"]), (props["A-2"], 61, []),
                (props["A-3"], 40, []), (by_hand, 30, [])],
        )  # fmt: skip
    r = client.get("/api/v1/deals/export.csv", params={"city": "Ames"}, headers=org.headers())
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["deal_score"] for row in rows] == ["88", "61", "30"]
    header = next(csv.reader(io.StringIO(r.text)))
    assert header[-8:] == ["APN", "Situs Address", "Situs City", "State", "Zip", "Beds",
                           "Motivation Note", "List Source"]  # fmt: skip
    first = rows[0]
    assert first["APN"] == "A-1" and first["List Source"] == "county tax roll"
    assert first["Motivation Note"] == '\'=HYPERLINK("x")'  # neutralised, not run
    assert first["deal_reasons"] == "'+18 on 3 lists"  # a leading + would run as a formula
    assert first["deal_original_source"].endswith("row 1")
    assert rows[1]["Motivation Note"] == "tired landlord"
    assert rows[2]["deal_original_source"] == "not imported from a file (entered by hand)"
    assert rows[2]["APN"] == ""
    # the file changed after the import: its rows are not given as the original
    (tmp_path / "county.csv").write_text(FILE.replace("tired landlord", "edited"), "utf-8")
    rows = list(csv.DictReader(io.StringIO(
        client.get("/api/v1/deals/export.csv", headers=org.headers()).text)))  # fmt: skip
    assert all(row["Motivation Note"] != "edited" for row in rows)
    assert "changed since it was imported" in rows[0]["deal_original_source"]


def test_cli_works_a_deal_from_list_to_contract(org: Any, tmp_path: Path, capsys: Any) -> None:
    (a, b) = make_properties(org.id, 2)
    with acting(org.id) as s:
        deal_id, other_id = service.shortlist(s, [(a, 77, ["+12 priced 24% under value"]),
                                                  (b, 20, [])]).deal_ids  # fmt: skip
    slug = ["--org", org.slug]
    code, out, err = _cli(["deals", "list", "--min-score", "50", "--json", *slug], capsys)
    assert code == 0, err
    listed = json.loads(out)["items"]
    assert [d["id"] for d in listed] == [str(deal_id)]
    assert listed[0]["reasons"] == "+12 priced 24% under value"
    code, out, err = _cli(["deals", "move", str(deal_id), "escrow", *slug], capsys)
    assert code == 2 and "stage 'escrow' does not exist" in err and "contacted" in err
    code, out, err = _cli(["deals", "move", str(deal_id), "contacted", *slug], capsys)
    assert code == 0 and "new -> contacted" in out
    code, out, err = _cli(["deals", "assign", str(deal_id), org.owner_email, *slug], capsys)
    assert code == 0, err
    code, out, err = _cli(["deals", "assign", str(deal_id), "nobody@example.com", *slug], capsys)
    assert code == 2 and "not a member" in err
    code, out, err = _cli(["deals", "note", str(deal_id), "Seller wants a quick close", *slug],
                          capsys)  # fmt: skip
    assert code == 0, err
    code, out, err = _cli(["deals", "tag", str(deal_id), "--add", "Probate", *slug], capsys)
    assert code == 0 and "probate" in out
    code, out, err = _cli(["deals", "move", str(deal_id), "under_contract", *slug], capsys)
    assert code == 2 and "accepted offer" in err
    code, out, err = _cli(
        ["offers", "create", "--deal", str(deal_id), "--price", "182500.00", "--earnest", "1000",
         "--inspection-days", "7", "--json", *slug], capsys,
    )  # fmt: skip
    assert code == 0, err
    offer = json.loads(out)
    assert offer["price"] == "182500.00" and offer["terms"]["earnest_money"] == "1000.00"
    code, out, err = _cli(["offers", "send", offer["id"], *slug], capsys)
    assert code == 0 and "sent" in out
    code, out, err = _cli(["offers", "counter", offer["id"], "--price", "195000", "--json",
                           *slug], capsys)  # fmt: skip
    assert code == 0, err
    counter = json.loads(out)
    assert counter["parent"] == offer["id"] and counter["party"] == "seller"
    code, out, err = _cli(["offers", "accept", offer["id"], *slug], capsys)
    assert code == 2 and "countered" in err
    code, out, err = _cli(["offers", "accept", counter["id"], *slug], capsys)
    assert code == 0, err
    code, out, err = _cli(["offers", "list", "--deal", str(deal_id), "--json", *slug], capsys)
    assert sorted(o["status"] for o in json.loads(out)) == ["accepted", "countered"]
    code, out, err = _cli(["deals", "show", str(deal_id), "--json", *slug], capsys)
    assert code == 0, err
    shown = json.loads(out)
    assert shown["deal"]["stage"] == "under_contract"
    assert shown["deal"]["assignee"] == org.owner_email and shown["deal"]["tags"] == "probate"
    kinds = [e["what"] for e in shown["events"]]
    assert kinds == ["shortlisted", "stage_changed", "assigned", "note", "tagged",
                     "offer_created", "offer_sent", "stage_changed", "offer_countered",
                     "offer_countered", "offer_accepted", "stage_changed"]  # fmt: skip
    assert all(e["by"] and e["by"].startswith("cli:") for e in shown["events"][1:])
    code, out, err = _cli(["deals", "move", str(other_id), "dead", *slug], capsys)
    assert code == 2 and "needs a reason" in err
    code, out, err = _cli(["deals", "move", str(other_id), "dead", "--reason", "tenant-occupied",
                           *slug], capsys)  # fmt: skip
    assert code == 0, err
    with acting(org.id) as s:
        add = service.add_task(s, deal_id, "order title", due_date=date.today())
        task_id = add.id
    code, out, err = _cli(["tasks", "list", "--due", "today", "--json", *slug], capsys)
    assert [t["title"] for t in json.loads(out)] == ["order title"]
    code, out, err = _cli(["tasks", "done", str(task_id), *slug], capsys)
    assert code == 0 and "order title" in out
    code, out, err = _cli(["tasks", "list", "--due", "today", "--json", *slug], capsys)
    assert json.loads(out) == []
    target = tmp_path / "deals.csv"
    code, out, err = _cli(["deals", "export", "--status", "all", "--out", str(target), *slug],
                          capsys)  # fmt: skip
    assert code == 0 and "wrote 2 deals" in out
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert {r["deal_stage"] for r in rows} == {"under_contract", "dead"}
    with acting(org.id) as s:
        assert s.get(Deal, other_id).close_reason == "tenant-occupied"  # type: ignore[union-attr]
