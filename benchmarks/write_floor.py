# ruff: noqa: S608  (statements name this schema's own tables and columns)
"""The database's own share of an import: how fast each store takes the rows an import
of a sales file writes, with no Python work around it. It bounds what any import code can
reach on this schema and machine, and so says which speed targets need the schema (or
the store) to change rather than the code.

    .venv/bin/python benchmarks/write_floor.py --rows 100000 \
        --pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres

For each store: ``reos import sales`` of a generated file (as ``import_speed.py`` does)
fills store A; a second fresh store B (``reos init``: same migrations) then receives A's
properties and sales, chunk by chunk as the import made them (a record goes in the chunk
of the file row that created it), one transaction per chunk. Only the writes into B are
timed: SQLite, one ``executemany`` per table of values read from A beforehand (as the
importer's statement); PostgreSQL, ``COPY`` of A's text into a temporary table and one
``INSERT ... SELECT`` per table (as the importer does, row-level security on). Prints the
import's own time beside the floor, both as file rows per second.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from import_speed import REOS, _generate, run_once
from scratch_database import create_database, drop_database
from sqlalchemy.engine import make_url

from reos.config import get_settings

TABLES = ("properties", "sales")


def _init(home: Path, url: str | None) -> None:
    env = {**os.environ, "REOS_HOME": str(home)}
    env.pop("REOS_DATABASE_URL", None)
    if url:
        env["REOS_DATABASE_URL"] = url
    subprocess.run([REOS, "init", "--password", "benchmark password 1"], env=env,
                   check=True, capture_output=True)  # fmt: skip


def _chunk_of(chunk_rows: int) -> str:
    """SQL for the chunk of the file row that created a record (its provenance row)."""
    return f"((CAST(json_extract(provenance, '$.row.row') AS INTEGER) - 1) / {chunk_rows})"


def sqlite_floor(source: Path, target: Path, chunk_rows: int) -> tuple[float, int]:
    """Seconds to write A's records into B, and how many records."""
    a = sqlite3.connect(source)
    b = sqlite3.connect(target, isolation_level=None)
    b.execute("PRAGMA journal_mode=WAL")
    b.execute("PRAGMA synchronous=NORMAL")
    b.execute("PRAGMA foreign_keys=ON")
    b.execute("PRAGMA cache_size=-49152")  # the importer's page cache
    org = b.execute("SELECT id FROM organizations").fetchone()[0]
    columns = {t: [r[1] for r in a.execute(f"PRAGMA table_info({t})")] for t in TABLES}
    chunks = a.execute(f"SELECT MAX({_chunk_of(chunk_rows)}) FROM sales").fetchone()[0] + 1
    seconds, records = 0.0, 0
    for chunk in range(chunks):
        batches = []
        for table in TABLES:
            names = columns[table]
            select = ", ".join("?" if n == "org_id" else n for n in names)
            rows = a.execute(
                f"SELECT {select} FROM {table} WHERE {_chunk_of(chunk_rows)} = ? ORDER BY rowid",
                (org, chunk),
            ).fetchall()
            marks = ", ".join("?" for _ in names)
            batches.append((f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})", rows))
            records += len(rows)
        start = time.perf_counter()
        b.execute("BEGIN")
        for statement, rows in batches:
            b.executemany(statement, rows)
        b.execute("COMMIT")
        seconds += time.perf_counter() - start
    return seconds, records


def pg_floor(source: str, target: str, chunk_rows: int) -> tuple[float, int]:
    a = psycopg.connect(make_url(source).set(drivername="postgresql").render_as_string(False))
    b = psycopg.connect(make_url(target).set(drivername="postgresql").render_as_string(False))
    org = b.execute("SELECT id FROM organizations").fetchone()[0]  # type: ignore[index]
    b.commit()
    columns = {
        t: [r[0] for r in a.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
            "ORDER BY ordinal_position", (t,))]
        for t in TABLES
    }  # fmt: skip
    chunk_sql = f"(((provenance->'row'->>'row')::int - 1) / {chunk_rows})"
    chunks = a.execute(f"SELECT MAX({chunk_sql}) FROM sales").fetchone()[0] + 1  # type: ignore[index]
    seconds, records = 0.0, 0
    for chunk in range(chunks):
        batches = []
        for table in TABLES:
            names = columns[table]
            select = ", ".join(f"'{org}'::uuid" if n == "org_id" else n for n in names)
            data = bytearray()
            query = f"COPY (SELECT {select} FROM {table} WHERE {chunk_sql} = {chunk} ORDER BY created_at, id) TO STDOUT"
            with a.cursor().copy(query) as copy:
                for block in copy:
                    data += block
            records += data.count(b"\n")
            batches.append((table, names, data))
        start = time.perf_counter()
        with b.cursor() as cursor:
            cursor.execute(f'SET LOCAL ROLE "{get_settings().app_role}"')
            cursor.execute("SELECT set_config('reos.org_id', %s, true)", (str(org),))
            for table, names, data in batches:
                listed = ", ".join(names)
                cursor.execute(
                    f"CREATE TEMPORARY TABLE scratch_{table} (LIKE {table}) ON COMMIT DROP"
                )
                with cursor.copy(f"COPY scratch_{table} ({listed}) FROM STDIN") as copy:
                    copy.write(data)
                cursor.execute(
                    f"INSERT INTO {table} ({listed}) SELECT {listed} FROM scratch_{table}"
                )
        b.commit()
        seconds += time.perf_counter() - start
    return seconds, records


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--pg", default=os.environ.get("REOS_BENCH_PG_URL"))
    parser.add_argument("--chunk-rows", type=int, default=10_000)
    args = parser.parse_args()
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "sales.csv"
        _generate(csv_path, args.rows, 0.3)
        stores: list[tuple[str, str | None]] = [("sqlite", None)]
        if args.pg:
            stores.append(("postgresql", args.pg))
        for store, base in stores:
            made: list[str] = []
            try:
                urls: list[str | None] = [None, None]
                if base:
                    for i in range(2):
                        url, name = create_database(base)
                        made.append(name)
                        urls[i] = url
                homes = [Path(tmp) / f"{store}_a", Path(tmp) / f"{store}_b"]
                imported = run_once(csv_path, urls[0], homes[0], args.chunk_rows, None)
                _init(homes[1], urls[1])
                if base:
                    assert urls[0] and urls[1]
                    seconds, records = pg_floor(urls[0], urls[1], args.chunk_rows)
                else:
                    seconds, records = sqlite_floor(
                        homes[0] / "reos.db", homes[1] / "reos.db", args.chunk_rows
                    )
                lines.append((store, float(str(imported["seconds"])), seconds, records))
            finally:
                for name in made:
                    assert base
                    drop_database(base, name)
    print(f"{'store':<11}{'rows':>9}{'records':>9}{'import s':>10}{'import rows/s':>15}"
          f"{'writes s':>10}{'floor rows/s':>14}{'share':>7}")  # fmt: skip
    for store, imported_s, floor_s, records in lines:
        print(f"{store:<11}{args.rows:>9,}{records:>9,}{imported_s:>10.1f}"
              f"{args.rows / imported_s:>15,.0f}{floor_s:>10.1f}{args.rows / floor_s:>14,.0f}"
              f"{floor_s / imported_s:>7.0%}")  # fmt: skip
    sys.stdout.flush()


if __name__ == "__main__":
    main()
