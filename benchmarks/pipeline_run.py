"""One pipeline run over a synthetic county of 25,000 properties with owners, sales and
three distress lists (``reos.flows.county``): the first run, a second run with nothing
new, and a run after 100 properties changed (a resale each).

SQLite: one process (``reos pipeline run``). PostgreSQL (``--pg URL``, a throwaway
database made on that server and dropped after): ``reos pipeline run --workers N``, this
process and N-1 worker processes sharing the chunks.

Each run is a child process; for each the script prints wall seconds, the CPU seconds of
the run's processes (user + system, ``getrusage(RUSAGE_CHILDREN)`` before and after), the
peak resident memory of the largest of them (``ru_maxrss`` of the children so far), and
the 1-minute load average before and after (the machine is shared: read wall time
against the load). The load (imports, AVM training) is timed too but is not the target.

Targets (issue 15): first run <= 300 s, nothing new <= 10 s, 100 changed <= 30 s.

    python benchmarks/pipeline_run.py [--properties 25000] [--pg postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

TARGETS = {"first run": 300.0, "nothing new": 10.0, "100 changed": 30.0}


def _children() -> tuple[float, int]:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def timed(label: str, command: list[str], env: dict[str, str]) -> dict[str, Any]:
    cpu_before, _ = _children()
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    cpu_after, peak_kb = _children()
    if done.returncode != 0:
        raise SystemExit(f"{label} failed:\n{done.stdout}\n{done.stderr}")
    return {
        "step": label,
        "wall_s": wall,
        "cpu_s": cpu_after - cpu_before,
        "peak_rss_mb": peak_kb / 1024,
        "load_1m": f"{load_before:.2f} -> {os.getloadavg()[0]:.2f}",
        "stdout": done.stdout,
    }


def setup(url: str, properties: int, workdir: Path) -> tuple[uuid.UUID, Any]:
    """Migrate the store, make an organisation and load the county into it."""
    os.environ["REOS_DATABASE_URL"] = url
    from reos.accounts import service as accounts
    from reos.config import reset_settings
    from reos.db import engine as engine_mod
    from reos.db import schema
    from reos.db.session import system_session
    from reos.flows import county

    reset_settings()
    engine_mod.reset_engines()
    schema.upgrade()
    with system_session() as session:
        org_id = accounts.create_organization(session, "Bench", f"bench-{uuid.uuid4().hex[:8]}").id
    world = county.write_world(workdir, properties)
    county.load_world(org_id, world)
    return org_id, world


def bench(url: str, properties: int, workers: int, store: str) -> list[dict[str, Any]]:
    from reos.flows import county

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        env = {**os.environ, "REOS_DATABASE_URL": url, "REOS_HOME": str(home / "home")}
        os.environ["REOS_HOME"] = env["REOS_HOME"]
        started = time.perf_counter()
        org_id, world = setup(url, properties, home / "county")
        load_s = time.perf_counter() - started
        print(f"{store}: loaded {len(world.parcels):,} properties, their owners, sales and "
              f"three lists, and trained the AVM in {load_s:.1f} s", flush=True)  # fmt: skip
        run = [sys.executable, "-m", "reos", "pipeline", "run", "--org", str(org_id),
               "--workers", str(workers)]  # fmt: skip
        rows = [timed("first run", run, env)]
        print("\n".join(rows[0]["stdout"].splitlines()[:14]), flush=True)
        rows.append(timed("nothing new", run, env))
        resales = county.write_resales(home / "resales.csv", world.parcels, 100)
        from reos.ingest import service as ingest_service

        ingest_service.import_file(resales, "sales", org_id=org_id)
        rows.append(timed("100 changed", run, env))
    for row in rows:
        row["store"] = store
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--properties", type=int, default=25_000)
    parser.add_argument("--pg", help="PostgreSQL server URL (a scratch database is made on it)")
    parser.add_argument("--workers", type=int, default=2, help="PostgreSQL worker processes")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            rows += bench(f"sqlite:///{tmp}/bench.db", args.properties, 1, "sqlite, 1 process")
    if args.pg:
        from scratch_database import create_database, drop_database

        url, name = create_database(args.pg)
        try:
            rows += bench(url, args.properties, args.workers,
                          f"postgresql, {args.workers} workers")  # fmt: skip
        finally:
            from reos.db import engine as engine_mod

            engine_mod.reset_engines()
            drop_database(args.pg, name)
    print()
    print(f"{'store':<22} {'step':<12} {'wall s':>8} {'cpu s':>8} {'peak MB':>8} "
          f"{'target s':>8}  load 1m (before -> after)")  # fmt: skip
    for row in rows:
        target = TARGETS[row["step"]]
        verdict = "ok" if row["wall_s"] <= target else "OVER"
        print(f"{row['store']:<22} {row['step']:<12} {row['wall_s']:>8.1f} {row['cpu_s']:>8.1f} "
              f"{row['peak_rss_mb']:>8.0f} {target:>7.0f} {verdict:<4} {row['load_1m']}")  # fmt: skip
    print(
        f"\ncores: {os.cpu_count()}; peak MB is the largest child process so far "
        "(ru_maxrss of RUSAGE_CHILDREN), CPU the run's processes' user + system time"
    )


if __name__ == "__main__":
    main()
