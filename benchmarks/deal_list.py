"""The deal list API at 25,000 deals: p50 / p95 per typical query, through the real app.

    .venv/bin/python benchmarks/deal_list.py [--deals 25000] [--repeat 60]
        [--pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Builds a fresh store (a SQLite file, or with ``--pg`` a scratch database on that server,
dropped afterwards), migrated by the real migrations; one organisation with three
members; ``--deals`` properties (spread over 10 cities and 40 ZIP codes) shortlisted
through ``reos.crm.service.shortlist`` (the pipeline's front, timed); a fifth tagged
``probate``, a third assigned, half with a next action due in the next 60 days. Then each
query below is asked ``--repeat`` times (after 5 warm-up calls) through the real FastAPI
app (``TestClient``: routing, authentication by API key, tenancy, the unit of work,
serialisation; no network) and one table prints, per query, the median and 95th
percentile wall time, the median CPU time of this process per call (the server runs
in-process, so this is the request's own CPU) and the rows returned. The target is p95 ≤
100 ms. The machine is shared: the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

CITIES = ["Ames", "Boone", "Nevada", "Story City", "Huxley", "Gilbert", "Slater", "Roland",
          "Kelley", "Cambridge"]  # fmt: skip
STREETS = ["Oak", "Maple", "Main", "Elm", "Lincoln", "Grand", "Duff", "Walnut", "Hyland", "Ash"]


def _setup(deals: int) -> tuple[Any, dict[str, str], dict[str, Any]]:
    from fastapi.testclient import TestClient
    from sqlalchemy import insert

    from reos.accounts import service as accounts
    from reos.app import create_app
    from reos.crm import service as crm
    from reos.db import schema, tenancy
    from reos.db.session import system_session, tenant_session
    from reos.kernel.principal import Principal, attach
    from reos.models import Deal, Property

    schema.upgrade()
    rng = random.Random(15)
    with system_session() as s:
        org_id = accounts.create_organization(s, "Bench deals", "bench-deals").id
    with tenant_session(org_id) as s:
        attach(s, Principal(kind="cli", org_id=org_id, role="owner", subject="bench"))
        members = [
            accounts.add_member(s, f"agent{n}@example.com", "analyst", "benchmark password 1")
            for n in range(3)
        ]
        _, key = accounts.create_api_key(s, "bench", "analyst")
    member_ids = [membership.user_id for membership, _user in members]
    started = time.perf_counter()
    ids = [uuid.uuid4() for _ in range(deals)]
    rows = []
    for n, pid in enumerate(ids):
        city = CITIES[n % len(CITIES)]
        rows.append({
            "id": pid, "address": f"{100 + n % 9000} {STREETS[n % 10]} St", "city": city,
            "state": "IA", "zip": f"50{(n % 40):03d}", "attributes": {}, "warnings": [],
            "provenance": {}, "parcel_number": f"P{n:07d}",
        })  # fmt: skip
    with tenant_session(org_id) as s:
        for i in range(0, len(rows), 5000):
            s.execute(insert(Property), tenancy.stamp(s, rows[i : i + 5000]))
    properties_s = time.perf_counter() - started
    started = time.perf_counter()
    candidates = [(pid, rng.randint(0, 100), [f"+{rng.randint(1, 20)} on lists"]) for pid in ids]
    with tenant_session(org_id) as s:
        attach(s, Principal(kind="job", org_id=org_id, role="service", subject="bench"))
        result = crm.shortlist(s, candidates)
    shortlist_s = time.perf_counter() - started
    started = time.perf_counter()
    today = date.today()
    with tenant_session(org_id) as s:
        attach(s, Principal(kind="cli", org_id=org_id, role="owner", subject="bench"))
        deal_ids = result.deal_ids
        for n, deal_id in enumerate(deal_ids):
            values: dict[str, Any] = {}
            if n % 3 == 0:
                values["assignee_id"] = member_ids[(n // 3) % len(member_ids)]
            if n % 2 == 0:
                values["next_action"] = "call"
                values["next_action_due"] = today + timedelta(days=n % 60)
            if values:
                s.execute(
                    Deal.__table__.update()
                    .where(tenancy.of_org(s, Deal.__table__), Deal.__table__.c.id == deal_id)
                    .values(**values)
                )
        for n, deal_id in enumerate(deal_ids):
            if n % 5 == 0:
                s.add(crm_tag(deal_id))
    extras_s = time.perf_counter() - started
    client = TestClient(create_app())
    client.__enter__()
    setup = {
        "properties_s": properties_s,
        "shortlist_s": shortlist_s,
        "extras_s": extras_s,
        "created": result.created,
        "member": str(member_ids[0]),
    }
    return client, {"X-API-Key": key}, setup


def crm_tag(deal_id: uuid.UUID) -> Any:
    from reos.models import DealTag

    return DealTag(deal_id=deal_id, tag="probate")


def _queries(member: str) -> list[tuple[str, dict[str, Any]]]:
    soon = (date.today() + timedelta(days=14)).isoformat()
    return [
        ("best 50 (default)", {}),
        ("stage new, score >= 70", {"stage": "new", "min_score": 70}),
        ("tag probate", {"tag": "probate"}),
        ("zip 50007", {"zip": "50007"}),
        (
            "city + score 40-60, by address",
            {"city": "Boone", "min_score": 40, "max_score": 60, "sort": "address"},
        ),  # fmt: skip
        ("text 'maple'", {"q": "maple"}),
        (
            "assignee, due soon, by due",
            {"assignee_id": member, "due_before": soon, "sort": "due"},
        ),  # fmt: skip
        ("recently updated", {"sort": "-updated"}),
        ("page 2 of best (cursor)", {"__page2__": True}),
        ("200 per page", {"limit": 200}),
    ]


def _time(client: Any, headers: dict[str, str], params: dict[str, Any], repeat: int) -> Any:
    if params.pop("__page2__", False):
        first = client.get("/api/v1/deals", headers=headers).json()
        params = {"cursor": first["next_cursor"]}
    walls, cpus = [], []
    rows = 0
    for n in range(repeat + 5):
        w0, c0 = time.perf_counter(), time.process_time()
        r = client.get("/api/v1/deals", params=params, headers=headers)
        w1, c1 = time.perf_counter(), time.process_time()
        if r.status_code != 200:
            raise SystemExit(f"error: {params} answered {r.status_code}: {r.text}")
        rows = len(r.json()["items"])
        if n >= 5:
            walls.append((w1 - w0) * 1000)
            cpus.append((c1 - c0) * 1000)
    walls.sort()
    p95 = walls[min(len(walls) - 1, int(round(0.95 * (len(walls) - 1))))]
    return statistics.median(walls), p95, statistics.median(cpus), rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=25_000)
    parser.add_argument("--repeat", type=int, default=60)
    parser.add_argument("--pg", help="PostgreSQL server URL (a scratch database is made)")
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="reos-deal-list-")
    os.environ["REOS_HOME"] = home
    os.environ.setdefault("REOS_JWT_SECRET", "bench-" + uuid.uuid4().hex)
    os.environ["REOS_INPROCESS_WORKER"] = "false"
    os.environ["REOS_RATE_LIMIT_IP_PER_MIN"] = "10000000"
    os.environ["REOS_RATE_LIMIT_ORG_PER_MIN"] = "10000000"
    os.environ["REOS_LOG_LEVEL"] = "WARNING"
    scratch = None
    if args.pg:
        from scratch_database import create_database

        url, scratch = create_database(args.pg)
        os.environ["REOS_DATABASE_URL"] = url
        store = "PostgreSQL"
    else:
        os.environ["REOS_DATABASE_URL"] = f"sqlite:///{home}/bench.db"
        store = "SQLite"
    try:
        print(f"load average before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
        client, headers, setup = _setup(args.deals)
        print(
            f"{store}: {args.deals:,} properties inserted in {setup['properties_s']:.1f} s; "
            f"shortlist created {setup['created']:,} deals in {setup['shortlist_s']:.1f} s; "
            f"tags/assignees/due dates in {setup['extras_s']:.1f} s"
        )
        print(f"{'query':<34} {'p50 ms':>8} {'p95 ms':>8} {'cpu ms':>8} {'rows':>5}")
        worst = 0.0
        for name, params in _queries(setup["member"]):
            p50, p95, cpu, rows = _time(client, headers, dict(params), args.repeat)
            worst = max(worst, p95)
            print(f"{name:<34} {p50:>8.1f} {p95:>8.1f} {cpu:>8.1f} {rows:>5}")
        print(f"worst p95 {worst:.1f} ms (target <= 100 ms): {'met' if worst <= 100 else 'MISSED'}")
        print(f"load average after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
        client.__exit__(None, None, None)
    finally:
        if scratch is not None:
            from scratch_database import drop_database

            from reos.db import engine as engine_mod

            engine_mod.reset_engines()
            drop_database(args.pg, scratch)


if __name__ == "__main__":
    main()
