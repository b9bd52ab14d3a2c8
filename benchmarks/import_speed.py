"""Import speed and memory: a realistic sales file (property + sale columns, resales of
the same house, ~1% dirty rows) imported with ``reos import sales`` into SQLite and, when
``--pg URL`` is given, PostgreSQL. Each run is a fresh store and a child process, so peak
RSS (the child's ru_maxrss) is the import's own.

    .venv/bin/python benchmarks/import_speed.py --rows 1000000 \
        --pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Prints one table: store, rows, seconds, rows/second, peak RSS MB, and the report's counts.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REOS = str(Path(sys.executable).parent / "reos")


def _pg_database(base: str) -> tuple[str, str]:
    parsed = make_url(base)
    name = f"reos_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False), name


def _drop_pg(base: str, name: str) -> None:
    admin = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def run_once(csv_path: Path, url: str | None, home: Path, chunk_rows: int) -> dict[str, object]:
    env = {**os.environ, "REOS_HOME": str(home)}
    if url:
        env["REOS_DATABASE_URL"] = url
    else:
        env.pop("REOS_DATABASE_URL", None)
    subprocess.run(
        [REOS, "init", "--password", "benchmark password 1"],
        env=env,
        check=True,
        capture_output=True,
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run(
        [REOS, "import", "sales", str(csv_path), "--json", "--chunk-rows", str(chunk_rows)],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if done.returncode != 0:
        raise SystemExit(f"import failed: {done.stderr}")
    report = json.loads(done.stdout)
    return {"seconds": seconds, "report": report, "peak_mb": max(peak_kb, before) / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=1, help="runs per store (median reported)")
    parser.add_argument(
        "--pg", default=os.environ.get("REOS_BENCH_PG_URL"), help="PostgreSQL server URL"
    )
    parser.add_argument("--chunk-rows", type=int, default=10_000)
    parser.add_argument("--repeat-rate", type=float, default=0.3)
    args = parser.parse_args()
    from reos.ingest.synthetic import write_sales_file

    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "sales.csv"
        t0 = time.perf_counter()
        expected = write_sales_file(csv_path, args.rows, repeat_rate=args.repeat_rate)
        print(f"generated {args.rows:,} rows ({csv_path.stat().st_size / 1e6:.0f} MB) in "
              f"{time.perf_counter() - t0:.1f}s; expect {expected.properties:,} properties, "
              f"{expected.sales:,} sales, {expected.dirty:,} quarantined", file=sys.stderr)  # fmt: skip
        rows = []
        stores = [("sqlite", None)] + ([("postgresql", args.pg)] if args.pg else [])
        for store, base in stores:
            results = []
            for run in range(args.runs):
                home = Path(tmp) / f"home_{store}_{run}"
                name = None
                url = None
                if base:
                    url, name = _pg_database(base)
                try:
                    results.append(run_once(csv_path, url, home, args.chunk_rows))
                finally:
                    if base and name:
                        _drop_pg(base, name)
            seconds = statistics.median(float(r["seconds"]) for r in results)  # type: ignore[arg-type]
            report = results[0]["report"]
            assert isinstance(report, dict)
            rows.append((store, args.rows, seconds, args.rows / seconds,
                         max(float(r["peak_mb"]) for r in results), report))  # type: ignore[arg-type]  # fmt: skip
    print(f"{'store':<11}{'rows':>10}{'seconds':>10}{'rows/s':>10}{'peak MB':>9}  report")
    for store, n, seconds, rate, peak, report in rows:
        counts = (f"inserted {report['inserted']:,} updated {report['updated']:,} unchanged "
                  f"{report['unchanged']:,} quarantined {report['quarantined']:,} balanced {report['balanced']}")  # fmt: skip
        print(f"{store:<11}{n:>10,}{seconds:>10.1f}{rate:>10,.0f}{peak:>9.0f}  {counts}")


if __name__ == "__main__":
    main()
